/* bl_quadratic.c - the quadratic bilevel class (bilevel.h): oracles, closed-form solution and the
 * seeded generator. The constrained class (bl_constrained.c) reuses the objectives here, since
 * its data struct starts with an sv_bl_quadratic.
 *
 *   g(x, y) = 1/2 y'Hy - y'(Bx + h)     grad_y g = Hy - Bx - h,  grad_x g = -B'y
 *   f(x, y) = 1/2 |y - c|^2 + lambda/2 |x|^2
 *   grad^2_yy g = H,  grad^2_xy g v = -B'v */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/models/bl_internal.h"

/* The projected-gradient solve of the boxed case stops at this scaled step length. */
#define BLQ_BOX_TOL 1e-13
#define BLQ_BOX_MAX_ITER 2000000L

/* out = H v (n x n row-major). */
static void symv(int n, const double *H, const double *v, double *out)
{
    cblas_dgemv(CblasRowMajor, CblasNoTrans, n, n, 1.0, H, n, v, 1, 0.0, out, 1);
}

/* out = alpha op(B) v + beta out, B rows x cols row-major. */
static void gemv(int trans, int rows, int cols, double alpha, const double *B, const double *v,
                 double beta, double *out)
{
    cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, rows, cols, alpha, B, cols, v,
                1, beta, out, 1);
}

/* ============================================================================================
 * Oracles (shared with the constrained class: p->data starts with an sv_bl_quadratic)
 * ========================================================================================== */

double sv__blq_upper(const sv_bl_problem *p, const double *x, const double *y,
                     const sv_bl_batch *b, double *gx, double *gy, double *work);
double sv__blq_lower(const sv_bl_problem *p, const double *x, const double *y,
                     const sv_bl_batch *b, double *gx, double *gy, double *work);
void sv__blq_hvp_yy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                    const sv_bl_batch *b, double *out, double *work);
void sv__blq_hvp_xy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                    const sv_bl_batch *b, double *out, double *work);
double sv__blq_mu(const sv_bl_problem *p, const double *x);
double sv__blq_L(const sv_bl_problem *p, const double *x);
int sv__blq_check_objectives(const sv_bl_quadratic *q, sv_err *e);

double sv__blq_upper(const sv_bl_problem *p, const double *x, const double *y,
                     const sv_bl_batch *b, double *gx, double *gy, double *work)
{
    (void)work;
    const sv_bl_quadratic *q = p->data;
    double fy = 0.0, fx = 0.0;
    for (int i = 0; i < q->dy; i++) {
        double r = y[i] - q->c[i];
        fy += r * r;
        if (gy)
            gy[i] = r;
    }
    for (int j = 0; j < q->dx; j++) {
        fx += x[j] * x[j];
        if (gx)
            gx[j] = q->lambda * x[j];
    }
    if (gx)
        sv__bl_add_noise(b, q->noise, q->dx, gx);
    if (gy)
        sv__bl_add_noise(b, q->noise, q->dy, gy);
    return 0.5 * fy + 0.5 * q->lambda * fx;
}

double sv__blq_lower(const sv_bl_problem *p, const double *x, const double *y,
                     const sv_bl_batch *b, double *gx, double *gy, double *work)
{
    const sv_bl_quadratic *q = p->data;
    const int dy = q->dy;
    double *Hy = work, *r = work + dy;
    symv(dy, q->H, y, Hy);
    /* r = Bx + h */
    gemv(0, dy, q->dx, 1.0, q->B, x, 0.0, r);
    if (q->h)
        sv_axpy(dy, 1.0, q->h, r);
    double val = 0.5 * sv_dot(dy, y, Hy) - sv_dot(dy, y, r);
    if (gy) {
        for (int i = 0; i < dy; i++)
            gy[i] = Hy[i] - r[i];
        sv__bl_add_noise(b, q->noise, dy, gy);
    }
    if (gx) {
        gemv(1, dy, q->dx, -1.0, q->B, y, 0.0, gx);
        sv__bl_add_noise(b, q->noise, q->dx, gx);
    }
    return val;
}

void sv__blq_hvp_yy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                    const sv_bl_batch *b, double *out, double *work)
{
    (void)x;
    (void)y;
    (void)work;
    const sv_bl_quadratic *q = p->data;
    symv(q->dy, q->H, v, out);
    sv__bl_add_noise(b, q->noise, q->dy, out);
}

void sv__blq_hvp_xy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                    const sv_bl_batch *b, double *out, double *work)
{
    (void)x;
    (void)y;
    (void)work;
    const sv_bl_quadratic *q = p->data;
    gemv(1, q->dy, q->dx, -1.0, q->B, v, 0.0, out);
    sv__bl_add_noise(b, q->noise, q->dx, out);
}

/* Smallest (which = 0) or largest (which = 1) eigenvalue of H; NaN when out of memory. */
static double h_eig(const sv_bl_quadratic *q, int which)
{
    const int n = q->dy;
    double *A = malloc(((size_t)n * n + n) * sizeof *A);
    if (!A)
        return NAN;
    memcpy(A, q->H, (size_t)n * n * sizeof *A);
    double *w = A + (size_t)n * n;
    double r = sv_sym_eig(n, A, w, 0) == SV_OK ? (which ? w[n - 1] : w[0]) : NAN;
    free(A);
    return r;
}

double sv__blq_mu(const sv_bl_problem *p, const double *x)
{
    (void)x;
    return h_eig(p->data, 0);
}

double sv__blq_L(const sv_bl_problem *p, const double *x)
{
    (void)x;
    return h_eig(p->data, 1);
}

static const sv_bl_ops quadratic_ops = {
    .name = "quadratic",
    .upper = sv__blq_upper,
    .lower = sv__blq_lower,
    .hvp_yy = sv__blq_hvp_yy,
    .hvp_xy = sv__blq_hvp_xy,
    .constraints = NULL,
    .lower_mu = sv__blq_mu,
    .lower_L = sv__blq_L,
    .accuracy = NULL,
    .solve_lower = NULL,
    .hypergrad = NULL,
};

/* ============================================================================================
 * Check and bind
 * ========================================================================================== */

int sv__blq_check_objectives(const sv_bl_quadratic *q, sv_err *e)
{
    if (!q)
        return sv_fail(e, "/problem", "problem missing");
    if (q->dx < 1 || q->dy < 1)
        return sv_fail(e, "/problem", "dimensions must be at least 1 (got dx %d, dy %d)", q->dx,
                       q->dy);
    const int dx = q->dx, dy = q->dy;
    if (!q->H || !sv_all_finite(dy * dy, q->H))
        return sv_fail(e, "/problem/H", "expected a finite %d x %d matrix", dy, dy);
    double scale = 0.0;
    for (int i = 0; i < dy * dy; i++)
        scale = fmax(scale, fabs(q->H[i]));
    for (int i = 0; i < dy; i++)
        for (int j = 0; j < i; j++)
            if (fabs(q->H[i * dy + j] - q->H[j * dy + i]) > 1e-12 * scale) {
                char f[64];
                snprintf(f, sizeof f, "/problem/H/%d/%d", i, j);
                return sv_fail(e, f, "H must be symmetric");
            }
    if (!q->B || !sv_all_finite(dy * dx, q->B))
        return sv_fail(e, "/problem/B", "expected a finite %d x %d matrix", dy, dx);
    if (q->h && !sv_all_finite(dy, q->h))
        return sv_fail(e, "/problem/h", "must be finite");
    if (!q->c || !sv_all_finite(dy, q->c))
        return sv_fail(e, "/problem/c", "expected %d finite numbers", dy);
    if (!(isfinite(q->lambda) && q->lambda >= 0))
        return sv_fail(e, "/problem/lambda", "must be a finite number >= 0");
    if (!(isfinite(q->noise) && q->noise >= 0))
        return sv_fail(e, "/problem/noise", "must be a finite number >= 0");
    int rc = sv__bl_box_check(dx, q->x_lo, q->x_hi, "/problem/x_box", e);
    if (rc != SV_OK)
        return rc;
    /* Positive definiteness: a Cholesky factorisation of a copy. */
    double *A = malloc((size_t)dy * dy * sizeof *A);
    double *one = malloc((size_t)dy * sizeof *one);
    if (!A || !one) {
        free(A);
        free(one);
        return SV_ENOMEM;
    }
    memcpy(A, q->H, (size_t)dy * dy * sizeof *A);
    sv_fill(dy, 1.0, one);
    rc = sv_solve_spd(dy, A, one, 1);
    free(A);
    free(one);
    if (rc == SV_ENOMEM)
        return rc;
    if (rc != SV_OK)
        return sv_fail(e, "/problem/H", "must be positive definite (the lower level must be "
                       "strongly convex)");
    return SV_OK;
}

int sv_bl_quadratic_check(const sv_bl_quadratic *q, sv_err *e)
{
    return sv__blq_check_objectives(q, e);
}

void sv_bl_quadratic_bind(const sv_bl_quadratic *q, sv_bl_problem *p)
{
    memset(p, 0, sizeof *p);
    p->ops = &quadratic_ops;
    p->data = q;
    p->cls = SV_BL_QUADRATIC;
    p->dx = q->dx;
    p->dy = q->dy;
    p->x_lo = q->x_lo;
    p->x_hi = q->x_hi;
    p->work = 2 * (size_t)q->dy + 8;
}

/* ============================================================================================
 * Closed-form solution
 * ========================================================================================== */

/* Minimises 1/2 x'Qx - q'x over the box by accelerated projected gradient with adaptive
 * restart, then polishes: the free coordinates of the result are re-solved exactly with the
 * others at their bounds, which is kept if it stays in the box. */
static int box_qp(int n, const double *Q, const double *qv, const double *lo, const double *hi,
                  double *x)
{
    double *w = malloc(((size_t)n * n + 6 * (size_t)n) * sizeof *w);
    if (!w)
        return SV_ENOMEM;
    double *yk = w, *g = w + n, *xp = w + 2 * n, *xn = w + 3 * n, *rhs = w + 4 * n;
    double *Qf = w + 6 * (size_t)n;
    double *eig = w + 5 * n;
    memcpy(Qf, Q, (size_t)n * n * sizeof *Qf);
    int rc = sv_sym_eig(n, Qf, eig, 0);
    if (rc != SV_OK) {
        free(w);
        return rc;
    }
    double L = eig[n - 1];
    if (!(L > 0)) {
        free(w);
        return SV_ENUMERIC;
    }
    sv_zero(n, x);
    sv_project_box(n, lo, hi, x);
    sv_copy(n, x, yk);
    sv_copy(n, x, xp);
    double t = 1.0;
    double scale = 1.0 + sv_nrminf(n, qv) / L;
    for (long it = 0; it < BLQ_BOX_MAX_ITER; it++) {
        symv(n, Q, yk, g);
        for (int i = 0; i < n; i++)
            xn[i] = yk[i] - (g[i] - qv[i]) / L;
        sv_project_box(n, lo, hi, xn);
        double step = 0.0;
        for (int i = 0; i < n; i++)
            step = fmax(step, fabs(xn[i] - yk[i]));
        /* restart when the momentum points uphill (O'Donoghue and Candes) */
        double up = 0.0;
        for (int i = 0; i < n; i++)
            up += (yk[i] - xn[i]) * (xn[i] - xp[i]);
        double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
        if (up > 0) {
            tn = 1.0;
            t = 1.0;
        }
        for (int i = 0; i < n; i++)
            yk[i] = xn[i] + ((t - 1.0) / tn) * (xn[i] - xp[i]);
        sv_copy(n, xn, xp);
        sv_copy(n, xn, x);
        t = tn;
        if (step <= BLQ_BOX_TOL * scale)
            break;
    }
    /* Polish on the free set. */
    int nf = 0;
    int *free_idx = malloc((size_t)n * sizeof *free_idx);
    if (free_idx) {
        for (int i = 0; i < n; i++) {
            int at_lo = lo && x[i] <= lo[i], at_hi = hi && x[i] >= hi[i];
            if (!at_lo && !at_hi)
                free_idx[nf++] = i;
        }
        if (nf > 0) {
            for (int a = 0; a < nf; a++) {
                int i = free_idx[a];
                double r = qv[i];
                for (int j = 0; j < n; j++) {
                    int fj = 0;
                    for (int b = 0; b < nf; b++)
                        fj |= free_idx[b] == j;
                    if (!fj)
                        r -= Q[i * n + j] * x[j];
                }
                rhs[a] = r;
                for (int b = 0; b < nf; b++)
                    Qf[a * nf + b] = Q[i * n + free_idx[b]];
            }
            if (sv_solve_spd(nf, Qf, rhs, 1) == SV_OK) {
                int inside = 1;
                for (int a = 0; a < nf; a++) {
                    int i = free_idx[a];
                    if ((lo && rhs[a] < lo[i]) || (hi && rhs[a] > hi[i]) || !isfinite(rhs[a]))
                        inside = 0;
                }
                if (inside)
                    for (int a = 0; a < nf; a++)
                        x[free_idx[a]] = rhs[a];
            }
        }
        free(free_idx);
    }
    free(w);
    return SV_OK;
}

int sv_bl_quadratic_solution(const sv_bl_quadratic *q, double *xstar, double *ystar)
{
    const int dx = q->dx, dy = q->dy, nr = dx + 1;
    /* M = H^{-1} [B | h]: the last column is H^{-1} h. */
    double *Hc = malloc((size_t)dy * dy * sizeof *Hc);
    double *M = malloc((size_t)dy * nr * sizeof *M);
    double *Q = malloc((size_t)dx * dx * sizeof *Q);
    double *qv = malloc((size_t)dx * sizeof *qv);
    double *xs = malloc((size_t)dx * sizeof *xs);
    double *r = malloc((size_t)dy * sizeof *r);
    int rc = SV_ENOMEM;
    if (!Hc || !M || !Q || !qv || !xs || !r)
        goto done;
    memcpy(Hc, q->H, (size_t)dy * dy * sizeof *Hc);
    for (int i = 0; i < dy; i++) {
        memcpy(M + (size_t)i * nr, q->B + (size_t)i * dx, (size_t)dx * sizeof *M);
        M[(size_t)i * nr + dx] = q->h ? q->h[i] : 0.0;
    }
    if ((rc = sv_solve_spd(dy, Hc, M, nr)) != SV_OK)
        goto done;
    /* r = c - H^{-1} h; Q = M'M + lambda I; qv = M'r */
    for (int i = 0; i < dy; i++)
        r[i] = q->c[i] - M[(size_t)i * nr + dx];
    for (int a = 0; a < dx; a++) {
        double s = 0.0;
        for (int i = 0; i < dy; i++)
            s += M[(size_t)i * nr + a] * r[i];
        qv[a] = s;
        for (int b = 0; b <= a; b++) {
            double t = 0.0;
            for (int i = 0; i < dy; i++)
                t += M[(size_t)i * nr + a] * M[(size_t)i * nr + b];
            Q[a * dx + b] = Q[b * dx + a] = t;
        }
        Q[a * dx + a] += q->lambda;
    }
    if (q->x_lo || q->x_hi) {
        rc = box_qp(dx, Q, qv, q->x_lo, q->x_hi, xs);
    } else {
        double *Qc = malloc((size_t)dx * dx * sizeof *Qc);
        if (!Qc) {
            rc = SV_ENOMEM;
            goto done;
        }
        memcpy(Qc, Q, (size_t)dx * dx * sizeof *Qc);
        memcpy(xs, qv, (size_t)dx * sizeof *xs);
        rc = sv_solve_spd(dx, Qc, xs, 1);
        free(Qc);
    }
    if (rc != SV_OK)
        goto done;
    if (xstar)
        memcpy(xstar, xs, (size_t)dx * sizeof *xs);
    if (ystar) {
        /* y* = M x* + H^{-1} h */
        for (int i = 0; i < dy; i++) {
            double s = M[(size_t)i * nr + dx];
            for (int a = 0; a < dx; a++)
                s += M[(size_t)i * nr + a] * xs[a];
            ystar[i] = s;
        }
    }
done:
    free(Hc);
    free(M);
    free(Q);
    free(qv);
    free(xs);
    free(r);
    return rc;
}

/* ============================================================================================
 * Generator
 * ========================================================================================== */

void sv_bl_quadratic_free(sv_bl_quadratic *q)
{
    if (!q)
        return;
    free(q->H);
    free(q->B);
    free(q->h);
    free(q->c);
    free(q->x_lo);
    free(q->x_hi);
    memset(q, 0, sizeof *q);
}

/* Largest dimension the generator accepts (it forms dense dy x dy matrices). */
static const char *const quadratic_class[] = {"quadratic", NULL};

const sv_param_spec sv_bl_quadratic_gen_params[] = {
    {.name = "class", .type = SV_PARAM_ENUM, .offset = offsetof(sv_bl_quadratic_gen, cls),
     .choices = quadratic_class, .flags = SV_PARAM_REQUIRED, .help = "the problem class"},
    SV_PN_INT32_REQ(sv_bl_quadratic_gen, spec.dx, "dx", 1, SV_BL_GEN_MAX_DIM,
                    "upper dimension"),
    SV_PN_INT32_REQ(sv_bl_quadratic_gen, spec.dy, "dy", 1, SV_BL_GEN_MAX_DIM,
                    "lower dimension"),
    SV_PN_NUMBER(sv_bl_quadratic_gen, spec.cond, "cond", 1, 1e12, 10,
                 "condition number of H (eigenvalues log-spaced in [1, cond])"),
    SV_PN_NUMBER(sv_bl_quadratic_gen, spec.lambda, "lambda", 0, 1e12, 0.1,
                 "upper-level ridge weight lambda/2 |x|^2"),
    SV_PN_NUMBER(sv_bl_quadratic_gen, spec.box, "box", 0, 1e12, 0,
                 "> 0: x in [-box, box]^dx; 0: no box"),
    SV_PN_NUMBER(sv_bl_quadratic_gen, spec.noise, "noise", 0, 1e12, 0,
                 "std of the stochastic oracles' per-sample gradient noise"),
    SV_PN_SEED(sv_bl_quadratic_gen, spec.seed, "seed", 0, "seed of the generator"),
    SV_PARAMS_END,
};

#define BLQ_GEN_MAX_DIM SV_BL_GEN_MAX_DIM

int sv_bl_quadratic_generate(const sv_bl_quadratic_spec *s, sv_bl_quadratic *q, sv_err *e)
{
    memset(q, 0, sizeof *q);
    if (s->dx < 1 || s->dx > BLQ_GEN_MAX_DIM)
        return sv_fail(e, "/problem/generate/dx", "must be in [1, %d]", BLQ_GEN_MAX_DIM);
    if (s->dy < 1 || s->dy > BLQ_GEN_MAX_DIM)
        return sv_fail(e, "/problem/generate/dy", "must be in [1, %d]", BLQ_GEN_MAX_DIM);
    if (!(isfinite(s->cond) && s->cond >= 1 && s->cond <= 1e12))
        return sv_fail(e, "/problem/generate/cond", "must be in [1, 1e12]");
    if (!(isfinite(s->lambda) && s->lambda >= 0))
        return sv_fail(e, "/problem/generate/lambda", "must be a finite number >= 0");
    if (!(isfinite(s->box) && s->box >= 0))
        return sv_fail(e, "/problem/generate/box", "must be a finite number >= 0 (0: no box)");
    if (!(isfinite(s->noise) && s->noise >= 0))
        return sv_fail(e, "/problem/generate/noise", "must be a finite number >= 0");
    const int dx = s->dx, dy = s->dy;
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    q->dx = dx;
    q->dy = dy;
    q->lambda = s->lambda;
    q->noise = s->noise;
    q->H = malloc((size_t)dy * dy * sizeof *q->H);
    q->B = malloc((size_t)dy * dx * sizeof *q->B);
    q->h = malloc((size_t)dy * sizeof *q->h);
    q->c = malloc((size_t)dy * sizeof *q->c);
    double *V = malloc(((size_t)dy * dy + dy) * sizeof *V);
    if (s->box > 0) {
        q->x_lo = malloc((size_t)dx * sizeof *q->x_lo);
        q->x_hi = malloc((size_t)dx * sizeof *q->x_hi);
    }
    if (!q->H || !q->B || !q->h || !q->c || !V || (s->box > 0 && (!q->x_lo || !q->x_hi))) {
        free(V);
        sv_bl_quadratic_free(q);
        return SV_ENOMEM;
    }
    /* A random orthogonal basis: the eigenvectors of a symmetric Gaussian matrix. */
    for (int i = 0; i < dy; i++)
        for (int j = 0; j <= i; j++)
            V[i * dy + j] = V[j * dy + i] = sv_rng_normal(&rng);
    double *ev = V + (size_t)dy * dy;
    int rc = sv_sym_eig(dy, V, ev, 1);
    if (rc != SV_OK) {
        free(V);
        sv_bl_quadratic_free(q);
        return rc;
    }
    /* H = V diag(lam) V', lam log-spaced in [1, cond]; column k of V is eigenvector k. */
    for (int k = 0; k < dy; k++)
        ev[k] = dy > 1 ? pow(s->cond, (double)k / (dy - 1)) : 1.0;
    for (int i = 0; i < dy; i++)
        for (int j = 0; j <= i; j++) {
            double t = 0.0;
            for (int k = 0; k < dy; k++)
                t += V[i * dy + k] * ev[k] * V[j * dy + k];
            q->H[i * dy + j] = q->H[j * dy + i] = t;
        }
    free(V);
    double bs = 1.0 / sqrt((double)dx);
    for (int i = 0; i < dy * dx; i++)
        q->B[i] = bs * sv_rng_normal(&rng);
    for (int i = 0; i < dy; i++)
        q->h[i] = sv_rng_normal(&rng);
    for (int i = 0; i < dy; i++)
        q->c[i] = sv_rng_normal(&rng);
    if (s->box > 0) {
        sv_fill(dx, -s->box, q->x_lo);
        sv_fill(dx, s->box, q->x_hi);
    }
    return SV_OK;
}
