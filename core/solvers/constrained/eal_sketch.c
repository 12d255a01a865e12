/* eal_sketch.c - AdaSketch-Newton (Hong, Na, Mahoney, Kolar, ICML 2023): the adaptive inexact
 * Newton iteration around the randomized sketching solver of core/kernels/sketch.h.
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
 *   4. Armijo backtracking on L_{mu,nu} along z; (x, l) += alpha z.
 * Beyond the paper: when G is rank deficient, K's (2,2) block is -r I (a regularized,
 * stabilized-SQP system) instead of 0; the reduced-Hessian test is the inertia of a KKT matrix
 * (one LDL'); a failed iteration restarts from x with least-squares multipliers. */
#include "core/solvers/constrained/eal_sketch.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels/inertia.h"
#include "core/linalg.h"

/* Inside an iteration: the loop's poll said stop (its status says why); never an info.reason. */
#define EAL_SKETCH_REASON_STOPPED (-1)

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

static const char *const sketch_choices[] = {"kaczmarz", "block", "gaussian", NULL};
static const char *const mult_choices[] = {"zero", "least_squares", NULL};

const sv_param_spec eal_sketch_params[] = {
    SV_CONTROL_PARAMS(eal_sketch_settings, ctl, EAL_SKETCH_DEFAULT_TOL,
                      "stop when the KKT residual |(grad_x L, c)| is at most tol; max_iter: Newton "
                      "iterations",
                      EAL_SKETCH_DEFAULT_MAX_ITER, EAL_SKETCH_DEFAULT_REPORT_EVERY),
    SV_P_SEED(eal_sketch_settings, seed, EAL_SKETCH_DEFAULT_SEED, "seed of the random sketches"),
    SV_P_ENUM(eal_sketch_settings, sketch, sketch_choices, EAL_SKETCH_DEFAULT_SKETCH,
              "sketching solver of the Newton system: kaczmarz = randomized Kaczmarz (rows drawn "
              "by squared norm), block = block Kaczmarz (sketch_size uniform rows), gaussian = "
              "Gaussian sketch-and-project (sketch_size columns)"),
    SV_P_INT(eal_sketch_settings, sketch_size, 1, EAL_SKETCH_MAX_KKT_DIM,
             EAL_SKETCH_DEFAULT_SKETCH_SIZE,
             "columns of the sketch for block and gaussian (kaczmarz uses 1)"),
    SV_P_INT(eal_sketch_settings, max_sketch_iter, 1, 1e12, EAL_SKETCH_DEFAULT_MAX_SKETCH_ITER,
             "sketch steps at most per solve of the Newton system"),
    SV_P_NUMBER_GT(eal_sketch_settings, mu, 0, 1e12, EAL_SKETCH_DEFAULT_MU,
                   "initial penalty mu on |c|^2 in the exact augmented Lagrangian (raised "
                   "adaptively)"),
    SV_P_NUMBER_GT(eal_sketch_settings, nu, 0, 1e12, EAL_SKETCH_DEFAULT_NU,
                   "initial penalty nu on |grad_x L|^2 in the exact augmented Lagrangian "
                   "(lowered adaptively)"),
    SV_P_NUMBER_GT(eal_sketch_settings, delta, 0, EAL_SKETCH_BELOW_ONE, EAL_SKETCH_DEFAULT_DELTA,
                   "initial accuracy parameter delta of the adaptive accuracy condition, < 1"),
    SV_P_NUMBER(eal_sketch_settings, delta_min, 0, EAL_SKETCH_BELOW_ONE,
                EAL_SKETCH_DEFAULT_DELTA_MIN,
                "floor of delta, < 1; 0 = no floor (delta follows the paper's rule alone)"),
    SV_P_NUMBER_GT(eal_sketch_settings, xi_b, 0, 1e12, EAL_SKETCH_DEFAULT_XI_B,
                   "least eigenvalue the reduced Hessian is shifted to when it is not positive "
                   "definite"),
    SV_P_NUMBER_GT(eal_sketch_settings, beta, 0, EAL_SKETCH_BELOW_HALF, EAL_SKETCH_DEFAULT_BETA,
                   "Armijo constant, < 1/2"),
    SV_P_NUMBER_GT(eal_sketch_settings, rho, 1, 1e6, EAL_SKETCH_DEFAULT_RHO,
                   "penalty update factor: mu <- rho^2 mu, nu <- nu / rho, delta <- delta / "
                   "rho^4"),
    SV_P_NUMBER_GT(eal_sketch_settings, backtrack, 0, EAL_SKETCH_BELOW_ONE,
                   EAL_SKETCH_DEFAULT_BACKTRACK, "step shrink factor of the line search, < 1"),
    SV_P_BOOL(eal_sketch_settings, superlinear, EAL_SKETCH_DEFAULT_SUPERLINEAR,
              "sharpen the accuracy condition with theta_k = min(1, KKT residual) (local "
              "superlinear convergence) instead of theta_k = 1"),
    SV_P_BOOL(eal_sketch_settings, modify_hessian, EAL_SKETCH_DEFAULT_MODIFY_HESSIAN,
              "check the reduced Hessian (the inertia of the KKT matrix, one LDL' "
              "factorization) and shift it when it is not positive definite; false trusts it"),
    SV_P_ENUM(eal_sketch_settings, multipliers, mult_choices, EAL_SKETCH_DEFAULT_MULTIPLIERS,
              "initial multipliers: zero, or the least-squares estimate at x0"),
    SV_P_INT(eal_sketch_settings, max_restarts, 0, 1e6, EAL_SKETCH_DEFAULT_MAX_RESTARTS,
             "restarts at most after a failed iteration (no descent direction at the penalty "
             "limits, no Armijo step, singular KKT matrix): from the current x with least-squares "
             "multipliers and the initial penalties; 0 = end the solve at the first failure"),
    SV_P_BOOL(eal_sketch_settings, exact_fallback, EAL_SKETCH_DEFAULT_EXACT_FALLBACK,
              "when the sketch runs out of max_sketch_iter steps short of the accuracy and its "
              "direction is not a descent direction, solve the Newton system exactly (LU) "
              "instead"),
    SV_PARAMS_END,
};

void eal_sketch_settings_default(eal_sketch_settings *s)
{
    sv_params_defaults(eal_sketch_params, s);
}


int eal_sketch_check_settings(const eal_sketch_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(eal_sketch_params, s, "/params", e);
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
    double *Kt;                       /* N x N: the inertia test's matrix (modify_hessian only) */
    double *scratch;                  /* n */
    double *Kf;                       /* N x N: LU copy of K (exact_fallback only) */
    sv_sketch_ws *sk;
    sv_eig_ws eig;                    /* eigenvalues of G G', order m */
    sv_inertia_ws ldl;                /* order N (modify_hessian only) */
} eal_sketch_ws;

static int ws_alloc(eal_sketch_ws *w, int n, int m, const eal_sketch_settings *s)
{
    const size_t N = (size_t)n + m, nn = (size_t)n * n;
    size_t sizes[] = {n, m, m, n, n, m, (size_t)m * n, n, n, m, nn, N * N, N, N, n, n, m,
                      (size_t)m * m, m, s->modify_hessian ? N * N : 0, n,
                      s->exact_fallback ? N * N : 0};
    double **ptrs[] = {&w->xt, &w->lam, &w->lamt, &w->g, &w->gl, &w->c, &w->J, &w->gt,
                       &w->glt, &w->ct, &w->H, &w->K, &w->rhs, &w->z, &w->Hgl, &w->Jtc, &w->Jgl,
                       &w->GG, &w->eigm, &w->Kt, &w->scratch, &w->Kf};
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
    if (sv_sketch_ws_new((int)N, (int)N, s->sketch, (int)s->sketch_size, &w->sk) != SV_OK ||
        sv_eig_ws_alloc(&w->eig, m, 0) != SV_OK ||
        sv_inertia_ws_alloc(&w->ldl, s->modify_hessian ? (int)N : 0) != SV_OK) {
        sv_sketch_ws_free(w->sk);
        sv_eig_ws_free(&w->eig);
        sv_inertia_ws_free(&w->ldl);
        free(w->block);
        w->block = NULL;
        w->sk = NULL;
        return SV_ENOMEM;
    }
    return SV_OK;
}

static void ws_free(eal_sketch_ws *w)
{
    free(w->block);
    sv_sketch_ws_free(w->sk);
    sv_eig_ws_free(&w->eig);
    sv_inertia_ws_free(&w->ldl);
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

/* Whether Z'HZ - tau I is positive definite, Z an orthonormal basis of null(G) (tau =
 * EAL_SKETCH_RH_TRIGGER: the same test as eigmin(Z'HZ) > tau), from the inertia of
 *
 *   Kt = [ H - tau I   G'  ]
 *        [ G          -r I ]
 *
 * For r = 0 and G of full row rank, inertia(Kt) = inertia(Z'(H - tau I)Z) + (m, m, 0)
 * (Haynsworth; Gould's KKT inertia theorem), so the test is inertia (n, m, 0). For r > 0 (the
 * regularized system of a rank-deficient G) inertia(Kt) = inertia(H - tau I + G'G / r) + (0, m,
 * 0): the same test on the matrix the regularized Newton system actually inverts. One
 * Bunch-Kaufman LDL' factorization, O((n+m)^3 / 3) and no eigenvectors. Sets *pd; returns
 * SV_OK or SV_ENUMERIC. */
static int reduced_pd(int n, int m, double r, eal_sketch_ws *w, int *pd)
{
    const int N = n + m;
    for (int i = 0; i < n; i++) {
        double *row = w->Kt + (size_t)i * N;
        sv_copy(n, w->H + (size_t)i * n, row);
        row[i] -= EAL_SKETCH_RH_TRIGGER;
        for (int j = 0; j < m; j++)
            row[n + j] = w->J[(size_t)j * n + i];
    }
    for (int j = 0; j < m; j++) {
        double *row = w->Kt + (size_t)(n + j) * N;
        sv_copy(n, w->J + (size_t)j * n, row);
        sv_zero(m, row + n);
        row[n + j] = -r;
    }
    sv_inertia in;
    if (sv_sym_inertia(&w->ldl, N, w->Kt, 0.0, &in) != SV_OK)
        return SV_ENUMERIC;
    *pd = in.pos == n && in.neg == m && in.zero == 0;
    return SV_OK;
}

static double delta_trial(const eal_sketch_settings *s, double mu, double nu, double ups, double psi)
{
    return (0.5 - s->beta) * nu / ((1.0 + mu + nu) * ups * ups * psi * psi);
}

/* delta_min = 0: no floor. */
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
    sv_loop *L;                 /* the solve's stop logic, polled by the inner loops */
    double mu, nu, delta;       /* penalties and accuracy parameter */
    double delta_paper;         /* delta by the paper's rule alone (no delta_min floor) */
} eal_sketch_ctx;

/* What the last step did, for the monitor. */
typedef struct {
    double sketch_iters, sketch_res, sketch_target;
    double descent, descent_target;
    double alpha, merit, armijo_bound, shift, capped;
    double paper_accuracy;      /* 1 if the direction met the accuracy condition with delta_paper */
} step_stats;

/* The constants of one Newton system. */
typedef struct {
    double shift;               /* B = H + shift I */
    double reg;                 /* K's (2,2) block is -reg I; 0 unless G is rank deficient */
    double psi, ups, nK;        /* Psi, Upsilon, |K|_F */
} newton_consts;

/* What a report shows: the state after the last step (core/control.h calls metrics). */
typedef struct {
    const eal_sketch_ctx *c;
    const step_stats *st;
    const double *kkt, *merit;
} eal_sketch_report;

static int metrics(void *ctx, sv_metric *mt, int cap)
{
    const eal_sketch_report *r = ctx;
    const eal_sketch_ctx *c = r->c;
    const step_stats *st = r->st;
    /* 16: the most a progress event carries over HTTP (server/workers.h, SV_MAX_METRICS); the
     * regularization r of a step is not among them (the result counts regularized_steps) */
    if (cap < 16)
        return 0;
    mt[0] = (sv_metric){"kkt_residual", *r->kkt};
    mt[1] = (sv_metric){"merit", *r->merit};
    mt[2] = (sv_metric){"mu", c->mu};
    mt[3] = (sv_metric){"nu", c->nu};
    mt[4] = (sv_metric){"delta", c->delta};
    mt[5] = (sv_metric){"sketch_iters", st->sketch_iters};
    mt[6] = (sv_metric){"sketch_residual", st->sketch_res};
    mt[7] = (sv_metric){"sketch_target", st->sketch_target};
    mt[8] = (sv_metric){"descent", st->descent};
    mt[9] = (sv_metric){"descent_target", st->descent_target};
    mt[10] = (sv_metric){"alpha", st->alpha};
    mt[11] = (sv_metric){"armijo_bound", st->armijo_bound};
    mt[12] = (sv_metric){"constraint_norm", sv_nrm2(c->p->m, c->w->c)};
    mt[13] = (sv_metric){"hessian_shift", st->shift};
    mt[14] = (sv_metric){"sketch_capped", st->capped};
    mt[15] = (sv_metric){"paper_accuracy", st->paper_accuracy};
    return 16;
}

/* The sketch's stop callback: the solve's poll. */
static int poll_stop(void *data)
{
    return sv_loop_poll(data);
}

/* Steps 1 and 2: the Hessian of L at (x, l), the rank test on G, the modification of the reduced
 * Hessian, Psi, Upsilon and |K|_F. Returns EAL_SKETCH_REASON_NONE or why the solve must end. */
static int newton_setup(eal_sketch_ctx *c, const double *x, double kkt, newton_consts *nc)
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
    nc->reg = 0.0;
    if (m > 0) {
        sv_dense Jd = {m, n, w->J}, GG = {m, m, w->GG};
        sv_dense_gemm(0, 1, 1.0, &Jd, &Jd, 0.0, &GG);
        if (sv_sym_eig_ws(&w->eig, m, w->GG, w->eigm, 0) != SV_OK)
            return EAL_SKETCH_REASON_NONFINITE;
        xi_g = w->eigm[0];
        if (!(w->eigm[m - 1] > 0) || w->eigm[0] <= EAL_SKETCH_RANK_TOL * w->eigm[m - 1]) {
            /* G lost full row rank: K is singular and G dx = -c may have no solution. Solve the
             * regularized (stabilized SQP) system [B G'; G -r I] z = -b instead, r = min(1, |b|)
             * (at least EAL_SKETCH_REG_MIN): G dx - r dl = -c is the least-squares compromise
             * between the linearized constraints and a bounded multiplier step, and dl stays
             * O(|c| / r) = O(1). r plays xi_G's role in Psi. With full row rank nothing of this
             * happens: the iteration is the paper's. */
            nc->reg = fmax(EAL_SKETCH_REG_MIN, fmin(1.0, kkt));
            xi_g = fmax(xi_g, nc->reg);
            c->info->regularized++;
        }
    }
    const double nH = frob((size_t)n * n, w->H), nG = frob((size_t)m * n, w->J);
    nc->shift = 0.0;
    if (c->s->modify_hessian) {
        int pd;
        if (reduced_pd(n, m, nc->reg, w, &pd) != SV_OK)
            return EAL_SKETCH_REASON_NONFINITE;
        if (!pd) {
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
    nc->nK = sqrt(nB2 + 2.0 * nG * nG + (double)m * nc->reg * nc->reg);
    return EAL_SKETCH_REASON_NONE;
}

/* K = [H + shift I, G'; G, 0], rhs = -b, z = 0, and the pieces of
 * grad L_{mu,nu} = (gl + mu G'c + nu H gl, c + nu G gl) that do not depend on the penalties. */
static void newton_system(eal_sketch_ctx *c, double shift, double reg)
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
        row[n + j] = -reg;
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
 * fields. Returns EAL_SKETCH_REASON_NONE, or SINGULAR_KKT, NO_DESCENT, or STOPPED when the
 * loop's poll (inside the sketch or before a penalty update) said stop. */
static int direction(eal_sketch_ctx *c, const newton_consts *nc, double kkt, step_stats *st)
{
    const eal_sketch_settings *s = c->s;
    eal_sketch_ws *w = c->w;
    const int n = c->p->n, N = n + c->p->m;
    const double theta = s->superlinear ? fmin(1.0, kkt) : 1.0;
    c->delta = clamp_delta(s, fmin(c->delta, delta_trial(s, c->mu, c->nu, nc->ups, nc->psi)));
    c->delta_paper = fmin(c->delta_paper, delta_trial(s, c->mu, c->nu, nc->ups, nc->psi));

    double D = 0.0, Dt = 0.0, target = 0.0;
    long iters = 0;
    sv_sketch_stats sks = {0, NAN, 0, 0};
    int exact = 0, capped = 0, reason = EAL_SKETCH_REASON_NONE;
    for (;;) {
        if (!exact) {
            /* |K|_F Psi |K z + b| <= theta delta |b| */
            target = theta * c->delta * kkt / (nc->nK * nc->psi);
            sv_sketch_opts so = {s->sketch, (int)s->sketch_size, target, s->max_sketch_iter,
                                 poll_stop, c->L};
            sv_sketch_solve(N, N, w->K, w->rhs, &so, c->rng, w->sk, w->z, &sks);
            iters += sks.iters;
            capped = !sks.converged;
            if (capped)
                c->info->sketch_capped++;
            if (sks.stopped) {
                reason = EAL_SKETCH_REASON_STOPPED;
                break;
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
            sks.res = sv_sketch_residual(N, N, w->K, w->rhs, w->z, w->sk);
            exact = 1;
            c->info->exact_solves++;
            continue;
        }
        if (sv_loop_poll(c->L)) {
            reason = EAL_SKETCH_REASON_STOPPED;
            break;
        }
        c->mu *= s->rho * s->rho;
        c->nu /= s->rho;
        c->delta = clamp_delta(s, fmin(c->delta / pow(s->rho, 4),
                                       delta_trial(s, c->mu, c->nu, nc->ups, nc->psi)));
        c->delta_paper = fmin(c->delta_paper / pow(s->rho, 4),
                              delta_trial(s, c->mu, c->nu, nc->ups, nc->psi));
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
    /* the paper's condition |K|_F Psi |K z + b| <= theta delta |b| with its own delta, not the
     * floored one the sketch was run to */
    st->paper_accuracy = sks.res <= theta * c->delta_paper * kkt / (nc->nK * nc->psi);
    return EAL_SKETCH_REASON_NONE;
}

/* Step 5: Armijo backtracking on L_{mu,nu} from (x, l) along z; on success (x, l) moves and st's
 * step fields are filled. merit0 is L_{mu,nu} at (x, l). Polls before every backtrack. */
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
        if (bt > 0 && sv_loop_poll(c->L))
            return EAL_SKETCH_REASON_STOPPED;  /* (x, l) unmoved */
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

/* Why the solve ended, from the loop's status (and the failure that made it diverge). */
static int reason_of(sv_status status, int failure)
{
    switch (status) {
    case SV_SOLVED: return EAL_SKETCH_REASON_CONVERGED;
    case SV_MAX_ITER: return EAL_SKETCH_REASON_MAX_ITER;
    case SV_TIME_LIMIT: return EAL_SKETCH_REASON_TIME_LIMIT;
    case SV_CANCELLED: return EAL_SKETCH_REASON_CANCELLED;
    default: return failure;
    }
}

/* l = -(G G')^{-1} G grad f(x): the multipliers that best make grad_x L vanish. When G is rank
 * deficient (the test of newton_setup), G G' + r I with r = sqrt(eps) eigmax(G G') instead: G
 * grad f lies in the range of G G', so this is the minimum-norm least-squares estimate to
 * O(sqrt eps). Keeps l when even that cannot be factored. */
static void least_squares_multipliers(const eal_sketch_problem *p, eal_sketch_ws *w)
{
    const int n = p->n, m = p->m;
    sv_dense Jd = {m, n, w->J}, GG = {m, m, w->GG};
    sv_dense_gemm(0, 1, 1.0, &Jd, &Jd, 0.0, &GG);
    double reg = 0.0;
    if (sv_sym_eig_ws(&w->eig, m, w->GG, w->eigm, 0) == SV_OK &&
        (!(w->eigm[m - 1] > 0) || w->eigm[0] <= EAL_SKETCH_RANK_TOL * w->eigm[m - 1]))
        reg = sqrt(DBL_EPSILON) * fmax(w->eigm[m - 1], 1.0);
    sv_dense_gemm(0, 1, 1.0, &Jd, &Jd, 0.0, &GG);
    for (int i = 0; i < m; i++) {
        w->GG[(size_t)i * m + i] += reg;
        w->lamt[i] = -sv_dot(n, w->J + (size_t)i * n, w->g);
    }
    if (sv_solve_spd(m, w->GG, w->lamt, 1) == SV_OK && sv_all_finite(m, w->lamt)) {
        sv_copy(m, w->lamt, w->lam);
        sv_copy(n, w->g, w->gl);
        for (int i = 0; i < m; i++)
            sv_axpy(n, w->lam[i], w->J + (size_t)i * n, w->gl);
    }
}

/* The safeguard of the globalization: after a failure that a fresh start may cure (no descent
 * direction with the penalties at their limits, no Armijo step, a singular K), restart the
 * iteration at the current x with the least-squares multipliers of x and the initial
 * penalties and accuracy parameter, at most max_restarts times. The paper's analysis assumes
 * none of these failures happens; when one does, the usual cause is a multiplier estimate far
 * from any KKT point's, which drives mu up and the steps down (Hock-Schittkowski 81 from l_0 = 0).
 * Returns 1 when the solve goes on (kkt and merit updated), 0 when it must end. */
static int restart(eal_sketch_ctx *c, int failure, double f, double *kkt, double *merit)
{
    const eal_sketch_problem *p = c->p;
    eal_sketch_ws *w = c->w;
    const int n = p->n, m = p->m;
    if ((failure != EAL_SKETCH_REASON_NO_DESCENT && failure != EAL_SKETCH_REASON_LINE_SEARCH &&
         failure != EAL_SKETCH_REASON_SINGULAR_KKT) ||
        c->info->restarts >= c->s->max_restarts || sv_loop_poll(c->L))
        return 0;
    if (m > 0)
        least_squares_multipliers(p, w);
    c->mu = c->s->mu;
    c->nu = c->s->nu;
    c->delta = c->delta_paper = c->s->delta;
    c->info->restarts++;
    c->info->last_restart_reason = failure;
    *kkt = sqrt(sv_dot(n, w->gl, w->gl) + sv_dot(m, w->c, w->c));
    *merit = merit_of(f, n, m, w->c, w->gl, w->lam, c->mu, c->nu);
    return 1;
}

/* ============================================================================================
 * The solve
 * ========================================================================================== */

int eal_sketch_solve(const eal_sketch_problem *p, const eal_sketch_settings *s,
                     const sv_monitor *mon, double *x, double *lambda, eal_sketch_info *info,
                     sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->kkt = info->merit = NAN;
    info->grad_lag_norm = info->cons_norm = info->alpha = NAN;
    info->mu = info->nu = info->delta = NAN;

    int rc;
    if ((rc = eal_sketch_check_problem(p, e)) != SV_OK ||
        (rc = eal_sketch_check_settings(s, e)) != SV_OK)
        return rc;
    const int n = p->n, m = p->m;
    if (!x)
        return sv_fail(e, "/problem/x0", "starting point missing");
    if (!sv_all_finite(n, x))
        return sv_fail(e, "/problem/x0", "must be finite");

    eal_sketch_ws w;
    sv_rng rng;
    sv_loop L;
    eal_sketch_ctx c = {p, s, &w, info, &rng, &L, s->mu, s->nu, s->delta, s->delta};
    step_stats st;
    double kkt = NAN, merit = NAN;
    eal_sketch_report rep = {&c, &st, &kkt, &merit};
    memset(&st, 0, sizeof st);
    sv_loop_begin(&L, &s->ctl, mon, metrics, &rep);
    if (ws_alloc(&w, n, m, s) != SV_OK)
        return SV_ENOMEM;
    sv_rng_seed(&rng, s->seed);

    /* ---- the start ---- */
    double f;
    if (!evaluate(p, x, w.lam, &f, &w)) {
        ws_free(&w);
        sv_fail(e, "/problem/x0", "the objective, its gradient, the constraints or their "
                "Jacobian is not finite at the start");
        return sv_loop_fail(&L, &info->base, 0, SV_EINVAL);
    }
    if (s->multipliers == EAL_SKETCH_MULT_LEAST_SQUARES && m > 0)
        least_squares_multipliers(p, &w);

    kkt = sqrt(sv_dot(n, w.gl, w.gl) + sv_dot(m, w.c, w.c));
    merit = merit_of(f, n, m, w.c, w.gl, w.lam, c.mu, c.nu);
    st.merit = merit;
    long k = 0;
    int failure = EAL_SKETCH_REASON_NONE;  /* what ended the solve as diverged */

    /* A failure inside an iteration (or a stop the inner loops saw) leaves (x, l) and k as they
     * were and goes back to the check, which ends the solve with it. */
    while (!sv_loop_check(&L, k, f, failure != EAL_SKETCH_REASON_NONE, kkt <= s->ctl.tol)) {
        newton_consts nc;
        if ((failure = newton_setup(&c, x, kkt, &nc)) != EAL_SKETCH_REASON_NONE)
            continue;
        newton_system(&c, nc.shift, nc.reg);
        if ((failure = direction(&c, &nc, kkt, &st)) != EAL_SKETCH_REASON_NONE) {
            if (restart(&c, failure, f, &kkt, &merit))
                failure = EAL_SKETCH_REASON_NONE;
            continue;
        }
        const double merit0 = merit_of(f, n, m, w.c, w.gl, w.lam, c.mu, c.nu);
        if ((failure = line_search(&c, x, merit0, &st)) != EAL_SKETCH_REASON_NONE) {
            if (restart(&c, failure, f, &kkt, &merit))
                failure = EAL_SKETCH_REASON_NONE;
            continue;
        }
        k++;
        info->paper_accuracy_steps += st.paper_accuracy > 0;
        if (!evaluate(p, x, w.lam, &f, &w)) {
            failure = EAL_SKETCH_REASON_NONFINITE;
            continue;
        }
        kkt = sqrt(sv_dot(n, w.gl, w.gl) + sv_dot(m, w.c, w.c));
        merit = st.merit;
    }

    info->kkt = kkt;
    info->grad_lag_norm = sv_nrm2(n, w.gl);
    info->cons_norm = sv_nrm2(m, w.c);
    info->merit = merit_of(f, n, m, w.c, w.gl, w.lam, c.mu, c.nu);
    info->mu = c.mu;
    info->nu = c.nu;
    info->delta = c.delta;
    sv_loop_end(&L, &info->base, k, f, kkt);
    info->reason = reason_of(info->base.status, failure);
    if (lambda)
        sv_copy(m, w.lam, lambda);
    ws_free(&w);
    return SV_OK;
}
