/* eal_sketch.c - AdaSketch-Newton (Hong, Na, Mahoney, Kolar, ICML 2023): the randomized sketching
 * solver for the Newton system, and the adaptive inexact Newton iteration around it.
 *
 * One iteration at (x, l), with L = f + l'c, G = J_c(x), H = Hessian of L, b = (grad_x L, c):
 *   1. B = H + t I, t > 0 only when the reduced Hessian Z'HZ (Z a basis of null(G)) is not
 *      positive definite; K = [B G'; G 0].
 *   2. Psi = 20 max(|B|_F^2, 1) / (min(xi_G, 1) min(xi_B, 1)), Upsilon = max(|G|_F, |H|_F, 1),
 *      xi_G = eigmin(G G'); delta <- max(delta_min, min(delta, delta_trial)) with
 *      delta_trial = (1/2 - beta) nu / ((1 + mu + nu) Upsilon^2 Psi^2).
 *   3. Sketch K z = -b until |K|_F Psi |K z + b| <= theta delta |b| (the adaptive accuracy
 *      condition). If z is not a descent direction of L_{mu,nu} by the margin
 *      grad L_{mu,nu}'z <= -(nu/2) |b|^2, set mu <- rho^2 mu, nu <- nu/rho,
 *      delta <- max(delta_min, min(delta/rho^4, delta_trial)) and continue sketching from z.
 *   4. Armijo backtracking on L_{mu,nu} along z; (x, l) += alpha z. */
#include "core/solvers/constrained/eal_sketch.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"

/* ============================================================================================
 * The sketching solver
 * ========================================================================================== */

struct sv_sketch_ws {
    int rows, cols, kind, s;
    double *cum;  /* rows: cumulative squared row norms (KACZMARZ) */
    double *r;    /* rows: residual A z - rhs */
    double *M;    /* s x s: S'A A'S */
    double *w;    /* s */
    double *Y;    /* s x cols: A'S, one column of it per row */
    double *S;    /* rows x s: the Gaussian sketch */
    int *idx;     /* s: the rows of a block */
};

int sv_sketch_ws_new(int rows, int cols, int kind, int size, sv_sketch_ws **out)
{
    *out = NULL;
    if (rows < 1 || cols < 1)
        return SV_EINVAL;
    int s = kind == SV_SKETCH_KACZMARZ ? 1 : (size < 1 ? 1 : size);
    if (s > rows)
        s = rows;
    sv_sketch_ws *w = calloc(1, sizeof *w);
    if (!w)
        return SV_ENOMEM;
    w->rows = rows;
    w->cols = cols;
    w->kind = kind;
    w->s = s;
    w->cum = malloc((size_t)rows * sizeof *w->cum);
    w->r = malloc((size_t)rows * sizeof *w->r);
    w->M = malloc((size_t)s * s * sizeof *w->M);
    w->w = malloc((size_t)s * sizeof *w->w);
    w->Y = malloc((size_t)s * cols * sizeof *w->Y);
    w->idx = malloc((size_t)s * sizeof *w->idx);
    if (kind == SV_SKETCH_GAUSSIAN)
        w->S = malloc((size_t)rows * s * sizeof *w->S);
    if (!w->cum || !w->r || !w->M || !w->w || !w->Y || !w->idx ||
        (kind == SV_SKETCH_GAUSSIAN && !w->S)) {
        sv_sketch_ws_free(w);
        return SV_ENOMEM;
    }
    *out = w;
    return SV_OK;
}

void sv_sketch_ws_free(sv_sketch_ws *w)
{
    if (!w)
        return;
    free(w->cum);
    free(w->r);
    free(w->M);
    free(w->w);
    free(w->Y);
    free(w->S);
    free(w->idx);
    free(w);
}

/* r = A z - rhs; returns |r|. */
static double residual(int rows, int cols, const double *A, const double *rhs, const double *z,
                       double *r)
{
    sv_mat Am;
    memset(&Am, 0, sizeof Am);
    Am.kind = SV_MAT_DENSE;
    Am.rows = Am.dense.rows = rows;
    Am.cols = Am.dense.cols = cols;
    Am.dense.data = (double *)A;
    sv_copy(rows, rhs, r);
    sv_mat_gemv(0, 1.0, &Am, z, -1.0, r);
    return sv_nrm2(rows, r);
}

/* Projection of z onto {a_i'z = rhs_i}. */
static void project_row(int cols, const double *A, const double *rhs, int i, double nrm2,
                        double *z)
{
    const double *a = A + (size_t)i * cols;
    double ri = sv_dot(cols, a, z) - rhs[i];
    sv_axpy(cols, -ri / nrm2, a, z);
}

/* Row i with probability cum-weight: the first i with cum[i] > u. */
static int draw_row(const double *cum, int rows, sv_rng *rng)
{
    double u = sv_rng_uniform(rng) * cum[rows - 1];
    int lo = 0, hi = rows - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void block_step(int cols, const double *A, const double *rhs, sv_rng *rng,
                       sv_sketch_ws *w, double *z)
{
    const int s = w->s;
    sv_rng_sample(rng, w->rows, s, w->idx);
    for (int a = 0; a < s; a++) {
        const double *ra = A + (size_t)w->idx[a] * cols;
        w->w[a] = sv_dot(cols, ra, z) - rhs[w->idx[a]];
        for (int c = 0; c <= a; c++) {
            double v = sv_dot(cols, ra, A + (size_t)w->idx[c] * cols);
            w->M[a * s + c] = w->M[c * s + a] = v;
        }
    }
    if (sv_solve_spd(s, w->M, w->w, 1) == SV_OK) {
        for (int a = 0; a < s; a++)
            sv_axpy(cols, -w->w[a], A + (size_t)w->idx[a] * cols, z);
        return;
    }
    /* Dependent rows in the block: project on them one after the other instead. */
    for (int a = 0; a < s; a++) {
        const double *ra = A + (size_t)w->idx[a] * cols;
        double nrm2 = sv_dot(cols, ra, ra);
        if (nrm2 > 0)
            project_row(cols, A, rhs, w->idx[a], nrm2, z);
    }
}

/* One Gaussian step from the fresh residual w->r. */
static void gaussian_step(int rows, int cols, const double *A, sv_rng *rng, sv_sketch_ws *w,
                          double *z)
{
    const int s = w->s;
    for (size_t k = 0; k < (size_t)rows * s; k++)
        w->S[k] = sv_rng_normal(rng);
    sv_zero(s * cols, w->Y);
    sv_zero(s, w->w);
    for (int i = 0; i < rows; i++) {
        const double *a = A + (size_t)i * cols;
        for (int j = 0; j < s; j++) {
            double sij = w->S[(size_t)i * s + j];
            sv_axpy(cols, sij, a, w->Y + (size_t)j * cols);
            w->w[j] += sij * w->r[i];
        }
    }
    for (int a = 0; a < s; a++)
        for (int c = 0; c <= a; c++)
            w->M[a * s + c] = w->M[c * s + a] =
                sv_dot(cols, w->Y + (size_t)a * cols, w->Y + (size_t)c * cols);
    if (sv_solve_spd(s, w->M, w->w, 1) != SV_OK)
        return;  /* a degenerate draw (A'S rank deficient): skip it */
    for (int j = 0; j < s; j++)
        sv_axpy(cols, -w->w[j], w->Y + (size_t)j * cols, z);
}

void sv_sketch_solve(int rows, int cols, const double *A, const double *rhs,
                      const sv_sketch_opts *opts, sv_rng *rng, sv_sketch_ws *w, double *z,
                      sv_sketch_stats *st)
{
    const int kind = w->kind, s = w->s;
    st->iters = 0;
    st->res = residual(rows, cols, A, rhs, z, w->r);
    st->converged = st->res <= opts->tol;
    if (st->converged || opts->max_iter <= 0)
        return;
    if (kind == SV_SKETCH_KACZMARZ) {
        double acc = 0.0;
        for (int i = 0; i < rows; i++) {
            const double *a = A + (size_t)i * cols;
            acc += sv_dot(cols, a, a);
            w->cum[i] = acc;
        }
        if (!(acc > 0))
            return;  /* A = 0 and rhs != 0: nothing to project on */
    }
    const long check_every = kind == SV_SKETCH_GAUSSIAN ? 1 : (rows + s - 1) / s;
    int fresh = 1;
    while (st->iters < opts->max_iter) {
        if (kind == SV_SKETCH_KACZMARZ) {
            int i = draw_row(w->cum, rows, rng);
            double nrm2 = w->cum[i] - (i > 0 ? w->cum[i - 1] : 0.0);
            project_row(cols, A, rhs, i, nrm2, z);
        } else if (kind == SV_SKETCH_BLOCK) {
            block_step(cols, A, rhs, rng, w, z);
        } else {
            gaussian_step(rows, cols, A, rng, w, z);
        }
        st->iters++;
        fresh = 0;
        if (st->iters % check_every == 0 || st->iters == opts->max_iter) {
            st->res = residual(rows, cols, A, rhs, z, w->r);
            fresh = 1;
            if (st->res <= opts->tol) {
                st->converged = 1;
                return;
            }
        }
        if (opts->deadline_s > 0 && st->iters % 256 == 0 && sv_now_s() > opts->deadline_s)
            break;
    }
    if (!fresh)
        st->res = residual(rows, cols, A, rhs, z, w->r);
    st->converged = st->res <= opts->tol;
}

/* ============================================================================================
 * Problem oracles
 * ========================================================================================== */

static double expr_fgrad(void *d, const double *x, double *g)
{
    return sv_expr_problem_grad(d, x, g);
}

static void expr_cons(void *d, const double *x, double *c, double *J)
{
    if (J)
        sv_expr_problem_eq_jac(d, x, c, J);
    else
        sv_expr_problem_eq(d, x, c);
}

static void expr_jtv(void *d, const double *x, const double *y, double *out)
{
    sv_expr_problem_eq_jtv(d, x, y, out);
}

/* Column j of the Hessian is H e_j; H is symmetric, so it is written as row j. */
static void expr_lag_hess(void *d, const double *x, const double *y, double *H, double *scratch)
{
    const int n = sv_expr_problem_dim(d);
    sv_zero(n, scratch);
    for (int j = 0; j < n; j++) {
        scratch[j] = 1.0;
        sv_expr_problem_lag_hvp(d, x, 1.0, y, NULL, scratch, H + (size_t)j * n);
        scratch[j] = 0.0;
    }
}

void eal_sketch_problem_from_expr(sv_expr_problem *p, eal_sketch_problem *out)
{
    out->n = sv_expr_problem_dim(p);
    out->m = sv_expr_problem_n_eq(p);
    out->data = p;
    out->fgrad = expr_fgrad;
    out->cons = expr_cons;
    out->jtv = expr_jtv;
    out->lag_hess = expr_lag_hess;
}

static double leq_fgrad(void *d, const double *x, double *g)
{
    return sv_logistic_eq_fgrad(d, x, g);
}

static void leq_cons(void *d, const double *x, double *c, double *J)
{
    sv_logistic_eq_cons(d, x, c, J);
}

static void leq_jtv(void *d, const double *x, const double *y, double *out)
{
    sv_logistic_eq_jtv(d, x, y, out);
}

static void leq_lag_hess(void *d, const double *x, const double *y, double *H, double *scratch)
{
    (void)scratch;
    sv_logistic_eq_lag_hess(d, x, y, H);
}

void eal_sketch_problem_from_logistic_eq(sv_logistic_eq *p, eal_sketch_problem *out)
{
    out->n = p->d;
    out->m = sv_logistic_eq_n_cons(p);
    out->data = p;
    out->fgrad = leq_fgrad;
    out->cons = leq_cons;
    out->jtv = leq_jtv;
    out->lag_hess = leq_lag_hess;
}

/* ============================================================================================
 * Settings and validation
 * ========================================================================================== */

void eal_sketch_settings_default(eal_sketch_settings *s)
{
    s->tol = EAL_SKETCH_DEFAULT_TOL;
    s->max_iter = EAL_SKETCH_DEFAULT_MAX_ITER;
    s->time_limit_s = EAL_SKETCH_DEFAULT_TIME_LIMIT_S;
    s->report_every = EAL_SKETCH_DEFAULT_REPORT_EVERY;
    s->seed = EAL_SKETCH_DEFAULT_SEED;
    s->sketch = EAL_SKETCH_DEFAULT_SKETCH;
    s->sketch_size = EAL_SKETCH_DEFAULT_SKETCH_SIZE;
    s->max_sketch_iter = EAL_SKETCH_DEFAULT_MAX_SKETCH_ITER;
    s->mu = EAL_SKETCH_DEFAULT_MU;
    s->nu = EAL_SKETCH_DEFAULT_NU;
    s->delta = EAL_SKETCH_DEFAULT_DELTA;
    s->delta_min = EAL_SKETCH_DEFAULT_DELTA_MIN;
    s->xi_b = EAL_SKETCH_DEFAULT_XI_B;
    s->beta = EAL_SKETCH_DEFAULT_BETA;
    s->rho = EAL_SKETCH_DEFAULT_RHO;
    s->backtrack = EAL_SKETCH_DEFAULT_BACKTRACK;
    s->superlinear = EAL_SKETCH_DEFAULT_SUPERLINEAR;
    s->modify_hessian = EAL_SKETCH_DEFAULT_MODIFY_HESSIAN;
    s->multipliers = EAL_SKETCH_DEFAULT_MULTIPLIERS;
    s->exact_fallback = EAL_SKETCH_DEFAULT_EXACT_FALLBACK;
}

static int positive(double v) { return isfinite(v) && v > 0; }
static int in_open_unit(double v) { return isfinite(v) && v > 0 && v < 1; }

int eal_sketch_check_settings(const eal_sketch_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    if (!(isfinite(s->tol) && s->tol >= 0))
        return sv_fail(e, "/params/tol", "must be a finite number >= 0");
    if (s->max_iter < 0)
        return sv_fail(e, "/params/max_iter", "must be >= 0, got %ld", s->max_iter);
    if (!(isfinite(s->time_limit_s) && s->time_limit_s >= 0))
        return sv_fail(e, "/params/time_limit_s", "must be a finite number >= 0 (0: no limit)");
    if (s->report_every < 1)
        return sv_fail(e, "/params/report_every", "must be at least 1, got %ld", s->report_every);
    if (s->sketch != SV_SKETCH_KACZMARZ && s->sketch != SV_SKETCH_BLOCK &&
        s->sketch != SV_SKETCH_GAUSSIAN)
        return sv_fail(e, "/params/sketch", "must be \"kaczmarz\", \"block\" or \"gaussian\"");
    if (s->sketch_size < 1 || s->sketch_size > EAL_SKETCH_MAX_KKT_DIM)
        return sv_fail(e, "/params/sketch_size", "must be between 1 and %d, got %ld",
                       EAL_SKETCH_MAX_KKT_DIM, s->sketch_size);
    if (s->max_sketch_iter < 1)
        return sv_fail(e, "/params/max_sketch_iter", "must be at least 1, got %ld",
                       s->max_sketch_iter);
    if (!positive(s->mu))
        return sv_fail(e, "/params/mu", "must be a positive finite number");
    if (!positive(s->nu))
        return sv_fail(e, "/params/nu", "must be a positive finite number");
    if (!in_open_unit(s->delta))
        return sv_fail(e, "/params/delta", "must be in (0, 1)");
    if (!in_open_unit(s->delta_min))
        return sv_fail(e, "/params/delta_min", "must be in (0, 1)");
    if (!positive(s->xi_b))
        return sv_fail(e, "/params/xi_b", "must be a positive finite number");
    if (!(isfinite(s->beta) && s->beta > 0 && s->beta < 0.5))
        return sv_fail(e, "/params/beta", "must be in (0, 1/2)");
    if (!(isfinite(s->rho) && s->rho > 1))
        return sv_fail(e, "/params/rho", "must be a finite number > 1");
    if (!in_open_unit(s->backtrack))
        return sv_fail(e, "/params/backtrack", "must be in (0, 1)");
    if (s->superlinear != 0 && s->superlinear != 1)
        return sv_fail(e, "/params/superlinear", "must be true or false");
    if (s->modify_hessian != 0 && s->modify_hessian != 1)
        return sv_fail(e, "/params/modify_hessian", "must be true or false");
    if (s->multipliers != EAL_SKETCH_MULT_ZERO && s->multipliers != EAL_SKETCH_MULT_LEAST_SQUARES)
        return sv_fail(e, "/params/multipliers", "must be \"zero\" or \"least_squares\"");
    if (s->exact_fallback != 0 && s->exact_fallback != 1)
        return sv_fail(e, "/params/exact_fallback", "must be true or false");
    return SV_OK;
}

int eal_sketch_check_problem(const eal_sketch_problem *p, sv_err *e)
{
    if (!p || !p->fgrad || !p->lag_hess)
        return sv_fail(e, "/problem", "problem missing");
    if (p->n < 1)
        return sv_fail(e, "/problem", "at least one variable is required");
    if (p->m < 0)
        return sv_fail(e, "/problem/equalities", "bad number of constraints %d", p->m);
    if (p->m > p->n)
        return sv_fail(e, "/problem/equalities", "%d equality constraints on %d variables: the "
                       "Jacobian cannot have full row rank (need m <= n)", p->m, p->n);
    if (p->m > 0 && (!p->cons || !p->jtv))
        return sv_fail(e, "/problem/equalities", "constraint callbacks missing");
    if ((long)p->n + p->m > EAL_SKETCH_MAX_KKT_DIM)
        return sv_fail(e, "/problem", "n + m = %ld exceeds %d: the dense Newton (KKT) matrix would "
                       "be too large", (long)p->n + p->m, EAL_SKETCH_MAX_KKT_DIM);
    return SV_OK;
}

const char *eal_sketch_reason_name(int reason)
{
    switch (reason) {
    case EAL_SKETCH_REASON_CONVERGED: return "converged";
    case EAL_SKETCH_REASON_MAX_ITER: return "max_iter";
    case EAL_SKETCH_REASON_TIME_LIMIT: return "time_limit";
    case EAL_SKETCH_REASON_CANCELLED: return "cancelled";
    case EAL_SKETCH_REASON_SINGULAR_JACOBIAN: return "singular_jacobian";
    case EAL_SKETCH_REASON_NO_DESCENT: return "no_descent";
    case EAL_SKETCH_REASON_LINE_SEARCH: return "line_search";
    case EAL_SKETCH_REASON_SINGULAR_KKT: return "singular_kkt";
    case EAL_SKETCH_REASON_NONFINITE: return "nonfinite";
    default: return "none";
    }
}

/* ============================================================================================
 * Workspace
 * ========================================================================================== */

typedef struct {
    double *block;
    double *xt, *lam, *lamt;          /* n, m, m */
    double *g, *gl, *c, *J;           /* n, n, m, m x n */
    double *gt, *glt, *ct;            /* the same at a trial point */
    double *H, *K;                    /* n x n, N x N */
    double *rhs, *z;                  /* N */
    double *Hgl, *Jtc, *Jgl;          /* n, n, m */
    double *GG, *eigm;                /* m x m, m */
    double *GtG, *eign;               /* n x n, n */
    double *Zb, *HZ, *R;              /* n x (n-m), n x (n-m), (n-m)^2 */
    double *scratch;                  /* n */
    double *Kf;                       /* N x N: LU copy of K (exact_fallback only) */
    sv_sketch_ws *sk;
} eal_sketch_ws;

static int ws_alloc(eal_sketch_ws *w, int n, int m, const eal_sketch_settings *s)
{
    const size_t N = (size_t)n + m, nn = (size_t)n * n, r = (size_t)(n - m);
    const size_t nGtG = s->modify_hessian ? nn : 0, nZ = s->modify_hessian ? n * r : 0;
    size_t sizes[] = {n, m, m, n, n, m, (size_t)m * n, n, n, m, nn, N * N, N, N, n, n, m,
                      (size_t)m * m, m, nGtG, n, nZ, nZ, s->modify_hessian ? (m ? r * r : nn) : 0,
                      n, s->exact_fallback ? N * N : 0};
    double **ptrs[] = {&w->xt, &w->lam, &w->lamt, &w->g, &w->gl, &w->c, &w->J, &w->gt,
                       &w->glt, &w->ct, &w->H, &w->K, &w->rhs, &w->z, &w->Hgl, &w->Jtc, &w->Jgl,
                       &w->GG, &w->eigm, &w->GtG, &w->eign, &w->Zb, &w->HZ, &w->R, &w->scratch,
                       &w->Kf};
    size_t total = 0, count = sizeof sizes / sizeof sizes[0];
    memset(w, 0, sizeof *w);
    for (size_t i = 0; i < count; i++)
        total += sizes[i] + 1;  /* + 1: no zero-length piece shares an address with the next */
    w->block = calloc(total, sizeof *w->block);
    if (!w->block)
        return SV_ENOMEM;
    double *p = w->block;
    for (size_t i = 0; i < count; i++) {
        *ptrs[i] = p;
        p += sizes[i] + 1;
    }
    if (sv_sketch_ws_new((int)N, (int)N, s->sketch, (int)s->sketch_size, &w->sk) != SV_OK) {
        free(w->block);
        w->block = NULL;
        return SV_ENOMEM;
    }
    return SV_OK;
}

static void ws_free(eal_sketch_ws *w)
{
    free(w->block);
    sv_sketch_ws_free(w->sk);
    memset(w, 0, sizeof *w);
}

/* ============================================================================================
 * Pieces of an iteration
 * ========================================================================================== */

/* f, grad f, c, J and grad_x L = grad f + J'l at (x, l); 1 if all finite. */
static int evaluate(const eal_sketch_problem *p, const double *x, const double *lam, double *f, eal_sketch_ws *w)
{
    const int n = p->n, m = p->m;
    *f = p->fgrad(p->data, x, w->g);
    sv_copy(n, w->g, w->gl);
    if (m > 0) {
        p->cons(p->data, x, w->c, w->J);
        for (int i = 0; i < m; i++)
            sv_axpy(n, lam[i], w->J + (size_t)i * n, w->gl);
    }
    return isfinite(*f) && sv_all_finite(n, w->g) && sv_all_finite(m, w->c) &&
           sv_all_finite(m * n, w->J) && sv_all_finite(n, w->gl);
}

static double merit_of(double f, int n, int m, const double *c, const double *gl,
                       const double *lam, double mu, double nu)
{
    double cc = sv_dot(m, c, c), gg = sv_dot(n, gl, gl);
    return f + sv_dot(m, c, lam) + 0.5 * mu * cc + 0.5 * nu * gg;
}

/* L_{mu,nu} at (xt, lamt); +inf when anything is not finite. */
static double merit_at(const eal_sketch_problem *p, eal_sketch_ws *w, double mu, double nu)
{
    const int n = p->n, m = p->m;
    double f = p->fgrad(p->data, w->xt, w->gt);
    if (m > 0) {
        p->cons(p->data, w->xt, w->ct, NULL);
        p->jtv(p->data, w->xt, w->lamt, w->glt);
        sv_axpy(n, 1.0, w->gt, w->glt);
    } else {
        sv_copy(n, w->gt, w->glt);
    }
    double v = merit_of(f, n, m, w->ct, w->glt, w->lamt, mu, nu);
    return isfinite(v) ? v : INFINITY;
}

static double frob(size_t len, const double *a) { return sv_nrm2((int)len, a); }

/* eigmin(Z'HZ) for Z an orthonormal basis of null(J); +inf when the null space is {0}.
 * Returns SV_OK or SV_ENUMERIC. */
static int reduced_eigmin(int n, int m, eal_sketch_ws *w, double *lmin)
{
    const int r = n - m;
    *lmin = INFINITY;
    if (r == 0)
        return SV_OK;
    if (m == 0) {
        sv_copy(n * n, w->H, w->R);
    } else {
        sv_dense Jd = {m, n, w->J}, GtG = {n, n, w->GtG};
        sv_dense_gemm(1, 0, 1.0, &Jd, &Jd, 0.0, &GtG);
        if (sv_sym_eig(n, w->GtG, w->eign, 1) != SV_OK)
            return SV_ENUMERIC;
        /* eigenvalues ascending: the first r eigenvectors (columns) span null(J) */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < r; j++)
                w->Zb[(size_t)i * r + j] = w->GtG[(size_t)i * n + j];
        sv_dense H = {n, n, w->H}, Z = {n, r, w->Zb}, HZ = {n, r, w->HZ}, R = {r, r, w->R};
        sv_dense_gemm(0, 0, 1.0, &H, &Z, 0.0, &HZ);
        sv_dense_gemm(1, 0, 1.0, &Z, &HZ, 0.0, &R);
    }
    if (sv_sym_eig(r, w->R, w->eign, 0) != SV_OK)
        return SV_ENUMERIC;
    *lmin = w->eign[0];
    return SV_OK;
}

static double delta_trial(const eal_sketch_settings *s, double mu, double nu, double ups, double psi)
{
    return (0.5 - s->beta) * nu / ((1.0 + mu + nu) * ups * ups * psi * psi);
}

static double clamp_delta(const eal_sketch_settings *s, double d)
{
    return d < s->delta_min ? s->delta_min : d;
}

/* ============================================================================================
 * One iteration, in pieces
 * ========================================================================================== */

/* The solve's context: what every piece of an iteration reads or updates. */
typedef struct {
    const eal_sketch_problem *p;
    const eal_sketch_settings *s;
    eal_sketch_ws *w;
    eal_sketch_info *info;
    sv_rng *rng;
    double deadline;            /* absolute, sv_now_s(); 0: none */
    double mu, nu, delta;       /* penalties and accuracy parameter */
} eal_sketch_ctx;

/* What the last step did, for the monitor. */
typedef struct {
    double sketch_iters, sketch_res, sketch_target;
    double descent, descent_target;
    double alpha, merit, armijo_bound, shift, capped;
} step_stats;

/* The constants of one Newton system. */
typedef struct {
    double shift;               /* B = H + shift I */
    double psi, ups, nK;        /* Psi, Upsilon, |K|_F */
} newton_consts;

static int report(const sv_monitor *mon, long k, double elapsed, double f, double kkt,
                  double cons_norm, double merit, const eal_sketch_ctx *c, const step_stats *st)
{
    sv_metric mt[15] = {
        {"kkt_residual", kkt},
        {"merit", merit},
        {"mu", c->mu},
        {"nu", c->nu},
        {"delta", c->delta},
        {"sketch_iters", st->sketch_iters},
        {"sketch_residual", st->sketch_res},
        {"sketch_target", st->sketch_target},
        {"descent", st->descent},
        {"descent_target", st->descent_target},
        {"alpha", st->alpha},
        {"armijo_bound", st->armijo_bound},
        {"constraint_norm", cons_norm},
        {"hessian_shift", st->shift},
        {"sketch_capped", st->capped},
    };
    sv_progress pr = {k, elapsed, f, mt, 15};
    return sv_monitor_report(mon, &pr);
}

/* Steps 1 and 2: the Hessian of L at (x, l), the rank test on G, the modification of the reduced
 * Hessian, Psi, Upsilon and |K|_F. Returns EAL_SKETCH_REASON_NONE or why the solve must end. */
static int newton_setup(eal_sketch_ctx *c, const double *x, newton_consts *nc)
{
    const eal_sketch_problem *p = c->p;
    eal_sketch_ws *w = c->w;
    const int n = p->n, m = p->m;
    p->lag_hess(p->data, x, m > 0 ? w->lam : NULL, w->H, w->scratch);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            double h = 0.5 * (w->H[(size_t)i * n + j] + w->H[(size_t)j * n + i]);
            w->H[(size_t)i * n + j] = w->H[(size_t)j * n + i] = h;
        }
    if (!sv_all_finite(n * n, w->H))
        return EAL_SKETCH_REASON_NONFINITE;

    double xi_g = 1.0;
    if (m > 0) {
        sv_dense Jd = {m, n, w->J}, GG = {m, m, w->GG};
        sv_dense_gemm(0, 1, 1.0, &Jd, &Jd, 0.0, &GG);
        if (sv_sym_eig(m, w->GG, w->eigm, 0) != SV_OK || !(w->eigm[m - 1] > 0) ||
            w->eigm[0] <= EAL_SKETCH_RANK_TOL * w->eigm[m - 1])
            return EAL_SKETCH_REASON_SINGULAR_JACOBIAN;
        xi_g = w->eigm[0];
    }
    const double nH = frob((size_t)n * n, w->H), nG = frob((size_t)m * n, w->J);
    nc->shift = 0.0;
    if (c->s->modify_hessian) {
        double lmin;
        if (reduced_eigmin(n, m, w, &lmin) != SV_OK)
            return EAL_SKETCH_REASON_NONFINITE;
        if (lmin < EAL_SKETCH_RH_TRIGGER) {
            /* The authors' rule: t = xi_B + |H|_F >= xi_B - eigmin(H) >= xi_B - lmin, so
             * eigmin(Z'BZ) >= xi_B. The smallest such shift, xi_B - lmin, would leave K nearly
             * singular (eigmin(Z'BZ) = xi_B against |B| ~ |H|): long steps that the line search
             * cuts, and slow sketching. */
            nc->shift = c->s->xi_b + nH;
            c->info->hessian_shifts++;
        }
    }
    double trace = 0.0;
    for (int i = 0; i < n; i++)
        trace += w->H[(size_t)i * n + i];
    const double t = nc->shift;
    const double nB2 = fmax(nH * nH + 2.0 * t * trace + (double)n * t * t, 0.0);  /* |H + tI|_F^2 */
    nc->psi = EAL_SKETCH_PSI_FACTOR * fmax(nB2, 1.0) / (fmin(xi_g, 1.0) * fmin(c->s->xi_b, 1.0));
    nc->ups = fmax(fmax(nG, nH), 1.0);
    nc->nK = sqrt(nB2 + 2.0 * nG * nG);
    return EAL_SKETCH_REASON_NONE;
}

/* K = [H + shift I, G'; G, 0], rhs = -b, z = 0, and the pieces of
 * grad L_{mu,nu} = (gl + mu G'c + nu H gl, c + nu G gl) that do not depend on the penalties. */
static void newton_system(eal_sketch_ctx *c, double shift)
{
    eal_sketch_ws *w = c->w;
    const int n = c->p->n, m = c->p->m, N = n + m;
    for (int i = 0; i < n; i++) {
        double *row = w->K + (size_t)i * N;
        sv_copy(n, w->H + (size_t)i * n, row);
        row[i] += shift;
        for (int j = 0; j < m; j++)
            row[n + j] = w->J[(size_t)j * n + i];
    }
    for (int j = 0; j < m; j++) {
        double *row = w->K + (size_t)(n + j) * N;
        sv_copy(n, w->J + (size_t)j * n, row);
        sv_zero(m, row + n);
    }
    for (int i = 0; i < n; i++)
        w->rhs[i] = -w->gl[i];
    for (int j = 0; j < m; j++)
        w->rhs[n + j] = -w->c[j];
    sv_zero(N, w->z);

    sv_mat Hm;
    memset(&Hm, 0, sizeof Hm);
    Hm.kind = SV_MAT_DENSE;
    Hm.rows = Hm.cols = Hm.dense.rows = Hm.dense.cols = n;
    Hm.dense.data = w->H;
    sv_mat_gemv(0, 1.0, &Hm, w->gl, 0.0, w->Hgl);
    sv_zero(n, w->Jtc);
    for (int j = 0; j < m; j++) {
        sv_axpy(n, w->c[j], w->J + (size_t)j * n, w->Jtc);
        w->Jgl[j] = sv_dot(n, w->J + (size_t)j * n, w->gl);
    }
}

/* grad L_{mu,nu}' z with the current penalties. */
static double merit_slope(const eal_sketch_ctx *c)
{
    const eal_sketch_ws *w = c->w;
    const int n = c->p->n, m = c->p->m;
    const double *zx = w->z, *zl = w->z + n;
    return sv_dot(n, w->gl, zx) + c->mu * sv_dot(n, w->Jtc, zx) + c->nu * sv_dot(n, w->Hgl, zx) +
           sv_dot(m, w->c, zl) + c->nu * sv_dot(m, w->Jgl, zl);
}

/* Steps 3 and 4: sketch K z = -b to the adaptive accuracy, then the descent test, raising the
 * penalties (and tightening the accuracy) until z passes it. Fills st's sketch and descent
 * fields. Returns EAL_SKETCH_REASON_NONE, or TIME_LIMIT, SINGULAR_KKT or NO_DESCENT. */
static int direction(eal_sketch_ctx *c, const newton_consts *nc, double kkt, step_stats *st)
{
    const eal_sketch_settings *s = c->s;
    eal_sketch_ws *w = c->w;
    const int n = c->p->n, N = n + c->p->m;
    const double theta = s->superlinear ? fmin(1.0, kkt) : 1.0;
    c->delta = clamp_delta(s, fmin(c->delta, delta_trial(s, c->mu, c->nu, nc->ups, nc->psi)));

    double D = 0.0, Dt = 0.0, target = 0.0;
    long iters = 0;
    sv_sketch_stats sks = {0, NAN, 0};
    int exact = 0, capped = 0, reason = EAL_SKETCH_REASON_NONE;
    for (;;) {
        if (!exact) {
            /* |K|_F Psi |K z + b| <= theta delta |b| */
            target = theta * c->delta * kkt / (nc->nK * nc->psi);
            sv_sketch_opts so = {s->sketch, (int)s->sketch_size, target, s->max_sketch_iter,
                                  c->deadline};
            sv_sketch_solve(N, N, w->K, w->rhs, &so, c->rng, w->sk, w->z, &sks);
            iters += sks.iters;
            capped = !sks.converged;
            if (capped) {
                c->info->sketch_capped++;
                if (c->deadline > 0 && sv_now_s() >= c->deadline) {
                    reason = EAL_SKETCH_REASON_TIME_LIMIT;
                    break;
                }
            }
        }
        D = merit_slope(c);
        Dt = -0.5 * c->nu * kkt * kkt;
        if (D <= Dt || c->mu >= EAL_SKETCH_MU_MAX || c->nu <= EAL_SKETCH_NU_MIN)
            break;
        if (capped && !exact && s->exact_fallback) {
            /* The sketch ran out of steps short of the accuracy that the penalty update relies
             * on; raising the penalties would not help it. Solve exactly instead. */
            sv_copy(N * N, w->K, w->Kf);
            sv_copy(N, w->rhs, w->z);
            if (sv_solve_general(N, w->Kf, w->z, 1) != SV_OK || !sv_all_finite(N, w->z)) {
                reason = EAL_SKETCH_REASON_SINGULAR_KKT;
                break;
            }
            sks.res = residual(N, N, w->K, w->rhs, w->z, w->sk->r);
            exact = 1;
            c->info->exact_solves++;
            continue;
        }
        c->mu *= s->rho * s->rho;
        c->nu /= s->rho;
        c->delta = clamp_delta(s, fmin(c->delta / pow(s->rho, 4),
                                       delta_trial(s, c->mu, c->nu, nc->ups, nc->psi)));
        c->info->penalty_increases++;
    }
    c->info->sketch_iters += iters;
    if (reason != EAL_SKETCH_REASON_NONE)
        return reason;
    if (!(D < 0))
        return EAL_SKETCH_REASON_NO_DESCENT;
    st->sketch_iters = (double)iters;
    st->sketch_res = sks.res;
    st->sketch_target = target;
    st->descent = D;
    st->descent_target = Dt;
    st->shift = nc->shift;
    st->capped = capped;
    return EAL_SKETCH_REASON_NONE;
}

/* Step 5: Armijo backtracking on L_{mu,nu} from (x, l) along z; on success (x, l) moves and st's
 * step fields are filled. merit0 is L_{mu,nu} at (x, l). */
static int line_search(eal_sketch_ctx *c, double *x, double merit0, step_stats *st)
{
    const eal_sketch_settings *s = c->s;
    eal_sketch_ws *w = c->w;
    const int n = c->p->n, m = c->p->m;
    const double D = st->descent;
    /* Near a solution the decrease alpha beta D falls below the rounding of the merit itself;
     * allow that much (IPOPT relaxes its Armijo test the same way) so that full steps are not
     * refused on noise. */
    const double slack = EAL_SKETCH_ARMIJO_RELAX * DBL_EPSILON * fmax(1.0, fabs(merit0));
    double alpha = 1.0;
    for (int bt = 0; bt <= EAL_SKETCH_MAX_BACKTRACKS; bt++) {
        for (int i = 0; i < n; i++)
            w->xt[i] = x[i] + alpha * w->z[i];
        for (int j = 0; j < m; j++)
            w->lamt[j] = w->lam[j] + alpha * w->z[n + j];
        double mt = merit_at(c->p, w, c->mu, c->nu);
        double bound = merit0 + alpha * s->beta * D + slack;
        if (mt <= bound) {
            sv_copy(n, w->xt, x);
            sv_copy(m, w->lamt, w->lam);
            st->alpha = alpha;
            st->merit = mt;
            st->armijo_bound = bound;
            c->info->alpha = alpha;
            return EAL_SKETCH_REASON_NONE;
        }
        alpha *= s->backtrack;
        c->info->backtracks++;
    }
    return EAL_SKETCH_REASON_LINE_SEARCH;
}

static sv_status status_of(int reason)
{
    switch (reason) {
    case EAL_SKETCH_REASON_CONVERGED: return SV_SOLVED;
    case EAL_SKETCH_REASON_MAX_ITER: return SV_MAX_ITER;
    case EAL_SKETCH_REASON_TIME_LIMIT: return SV_TIME_LIMIT;
    case EAL_SKETCH_REASON_CANCELLED: return SV_CANCELLED;
    default: return SV_DIVERGED;
    }
}

/* l_0 = -(G G')^{-1} G grad f(x_0): the multipliers that best make grad_x L vanish. Keeps l = 0
 * when G G' cannot be factored. */
static void least_squares_multipliers(const eal_sketch_problem *p, eal_sketch_ws *w)
{
    const int n = p->n, m = p->m;
    sv_dense Jd = {m, n, w->J}, GG = {m, m, w->GG};
    sv_dense_gemm(0, 1, 1.0, &Jd, &Jd, 0.0, &GG);
    for (int i = 0; i < m; i++)
        w->lamt[i] = -sv_dot(n, w->J + (size_t)i * n, w->g);
    if (sv_solve_spd(m, w->GG, w->lamt, 1) == SV_OK && sv_all_finite(m, w->lamt)) {
        sv_copy(m, w->lamt, w->lam);
        sv_copy(n, w->g, w->gl);
        for (int i = 0; i < m; i++)
            sv_axpy(n, w->lam[i], w->J + (size_t)i * n, w->gl);
    }
}

/* ============================================================================================
 * The solve
 * ========================================================================================== */

int eal_sketch_solve(const eal_sketch_problem *p, const eal_sketch_settings *s, const sv_monitor *mon, double *x,
              double *lambda, eal_sketch_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    info->base.status = SV_UNSOLVED;
    info->base.obj = info->base.res = info->kkt = info->merit = NAN;
    info->grad_lag_norm = info->cons_norm = info->alpha = NAN;
    info->mu = info->nu = info->delta = NAN;

    int rc;
    if ((rc = eal_sketch_check_problem(p, e)) != SV_OK || (rc = eal_sketch_check_settings(s, e)) != SV_OK)
        return rc;
    const int n = p->n, m = p->m;
    if (!x)
        return sv_fail(e, "/problem/x0", "starting point missing");
    if (!sv_all_finite(n, x))
        return sv_fail(e, "/problem/x0", "must be finite");

    const double t0 = sv_now_s();
    eal_sketch_ws w;
    if (ws_alloc(&w, n, m, s) != SV_OK)
        return SV_ENOMEM;
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    eal_sketch_ctx c = {p, s, &w, info, &rng, s->time_limit_s > 0 ? t0 + s->time_limit_s : 0.0,
                 s->mu, s->nu, s->delta};

    /* ---- the start ---- */
    double f;
    if (!evaluate(p, x, w.lam, &f, &w)) {
        rc = sv_fail(e, "/problem/x0", "the objective, its gradient, the constraints or their "
                     "Jacobian is not finite at the start");
        goto done;
    }
    if (s->multipliers == EAL_SKETCH_MULT_LEAST_SQUARES && m > 0)
        least_squares_multipliers(p, &w);

    double kkt = sqrt(sv_dot(n, w.gl, w.gl) + sv_dot(m, w.c, w.c));
    double merit = merit_of(f, n, m, w.c, w.gl, w.lam, c.mu, c.nu);
    step_stats st;
    memset(&st, 0, sizeof st);
    st.merit = merit;
    long k = 0, last_report = -1;
    int reason;

    for (;;) {
        if (kkt <= s->tol) {
            reason = EAL_SKETCH_REASON_CONVERGED;
            break;
        }
        double now = sv_now_s();
        if (k % s->report_every == 0) {
            last_report = k;
            if (report(mon, k, now - t0, f, kkt, sv_nrm2(m, w.c), merit, &c, &st)) {
                reason = EAL_SKETCH_REASON_CANCELLED;
                break;
            }
        }
        if (k >= s->max_iter) {
            reason = EAL_SKETCH_REASON_MAX_ITER;
            break;
        }
        if (c.deadline > 0 && now >= c.deadline) {
            reason = EAL_SKETCH_REASON_TIME_LIMIT;
            break;
        }
        newton_consts nc;
        if ((reason = newton_setup(&c, x, &nc)) != EAL_SKETCH_REASON_NONE)
            break;
        newton_system(&c, nc.shift);
        if ((reason = direction(&c, &nc, kkt, &st)) != EAL_SKETCH_REASON_NONE)
            break;
        const double merit0 = merit_of(f, n, m, w.c, w.gl, w.lam, c.mu, c.nu);
        if ((reason = line_search(&c, x, merit0, &st)) != EAL_SKETCH_REASON_NONE)
            break;
        k++;
        if (!evaluate(p, x, w.lam, &f, &w)) {
            reason = EAL_SKETCH_REASON_NONFINITE;
            break;
        }
        kkt = sqrt(sv_dot(n, w.gl, w.gl) + sv_dot(m, w.c, w.c));
        merit = st.merit;
    }

    info->base.status = status_of(reason);
    info->reason = reason;
    info->base.iter = k;
    info->base.obj = f;
    info->base.res = kkt;
    info->kkt = kkt;
    info->grad_lag_norm = sv_nrm2(n, w.gl);
    info->cons_norm = sv_nrm2(m, w.c);
    info->merit = merit_of(f, n, m, w.c, w.gl, w.lam, c.mu, c.nu);
    info->mu = c.mu;
    info->nu = c.nu;
    info->delta = c.delta;
    info->base.solve_time_s = sv_now_s() - t0;
    if (last_report != k)
        report(mon, k, info->base.solve_time_s, f, kkt, info->cons_norm, merit, &c, &st);
    if (lambda)
        sv_copy(m, w.lam, lambda);
    rc = SV_OK;
done:
    ws_free(&w);
    return rc;
}
