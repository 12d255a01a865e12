/* bl_constrained.c - the constrained bilevel class (bilevel.h): the quadratic objectives of
 * bl_quadratic.c with lower-level constraints A x + B y <= b that couple x and y, and an optional
 * box on y. The lower-level solve is a primal-dual interior-point method (Mehrotra's predictor-
 * corrector) on the strongly convex QP
 *   min_y 1/2 y'Hy - y'(B_q x + h)  s.t.  C y <= d(x)
 * whose rows C are the coupled constraints (d = b - A x) and the finite box bounds. The
 * hypergradient differentiates its KKT system on the active set (strict complementarity
 * assumed): with K = [H C_A'; C_A 0] and [p; q] = K^{-1} [grad_y f; 0],
 *   grad F(x) = grad_x f + B_q' p - A_A' q. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/models/bl_internal.h"

/* Shared with bl_quadratic.c. */
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
size_t sv__bl_constrained_work(const sv_bl_problem *p);

#define IPM_STEP_BACK 0.99
/* The hypergradient asks the interior-point method for this accuracy. */
#define IPM_HYPER_TOL 1e-11

/* Rows of the QP: the m coupled constraints, then the finite upper and lower bounds of y. */
static int qp_rows(const sv_bl_constrained *c)
{
    int n = c->m;
    for (int j = 0; j < c->q.dy; j++) {
        n += c->y_hi && isfinite(c->y_hi[j]);
        n += c->y_lo && isfinite(c->y_lo[j]);
    }
    return n;
}

size_t sv__bl_constrained_work(const sv_bl_problem *p)
{
    const sv_bl_constrained *c = p->data;
    size_t dy = (size_t)p->dy, mp = (size_t)qp_rows(c);
    return (dy + mp) * (dy + mp) + dy * dy + 12 * dy + 14 * mp + 2 * (size_t)p->dx + 16;
}

/* Workspace of the interior-point method, carved from the caller's work. */
typedef struct {
    int dy, m, mp;
    double *M;                       /* dy x dy */
    double *rd, *rhs, *dyv, *tmp;    /* dy each */
    double *s, *lam, *ds, *dl, *rp, *d, *t, *rc;  /* mp each */
    double *bj;                      /* mp - m: box row k -> +(j+1) upper, -(j+1) lower */
    double *owork;                   /* p->work doubles for the oracles */
} ipm_ws;

static double *ipm_carve(const sv_bl_problem *p, ipm_ws *w, double *work)
{
    const sv_bl_constrained *c = p->data;
    w->dy = p->dy;
    w->m = c->m;
    w->mp = qp_rows(c);
    const size_t dy = (size_t)w->dy, mp = (size_t)w->mp;
    w->owork = work;
    double *q = work + p->work;
    w->M = q;
    q += dy * dy;
    w->rd = q, q += dy;
    w->rhs = q, q += dy;
    w->dyv = q, q += dy;
    w->tmp = q, q += dy;
    w->s = q, q += mp;
    w->lam = q, q += mp;
    w->ds = q, q += mp;
    w->dl = q, q += mp;
    w->rp = q, q += mp;
    w->d = q, q += mp;
    w->t = q, q += mp;
    w->rc = q, q += mp;
    w->bj = q, q += mp;
    int k = 0;
    for (int j = 0; j < c->q.dy; j++) {
        if (c->y_hi && isfinite(c->y_hi[j]))
            w->bj[k++] = j + 1;
        if (c->y_lo && isfinite(c->y_lo[j]))
            w->bj[k++] = -(j + 1);
    }
    return q;  /* the rest is free */
}

/* C_k . v */
static double row_dot(const sv_bl_constrained *c, const ipm_ws *w, int k, const double *v)
{
    if (k < c->m)
        return sv_dot(c->q.dy, c->B + (size_t)k * c->q.dy, v);
    int j = (int)w->bj[k - c->m];
    return j > 0 ? v[j - 1] : -v[-j - 1];
}

/* out += alpha C_k */
static void row_add(const sv_bl_constrained *c, const ipm_ws *w, int k, double alpha, double *out)
{
    if (k < c->m) {
        sv_axpy(c->q.dy, alpha, c->B + (size_t)k * c->q.dy, out);
        return;
    }
    int j = (int)w->bj[k - c->m];
    if (j > 0)
        out[j - 1] += alpha;
    else
        out[-j - 1] -= alpha;
}

/* In-place Cholesky A = L L' (lower triangle of row-major A); 0 or -1 if not positive definite. */
static int chol(int n, double *A)
{
    for (int j = 0; j < n; j++) {
        double s = A[(size_t)j * n + j];
        for (int k = 0; k < j; k++)
            s -= A[(size_t)j * n + k] * A[(size_t)j * n + k];
        if (!(s > 0))
            return -1;
        double ljj = sqrt(s);
        A[(size_t)j * n + j] = ljj;
        for (int i = j + 1; i < n; i++) {
            double t = A[(size_t)i * n + j];
            for (int k = 0; k < j; k++)
                t -= A[(size_t)i * n + k] * A[(size_t)j * n + k];
            A[(size_t)i * n + j] = t / ljj;
        }
    }
    return 0;
}

static void chol_solve(int n, const double *L, double *b)
{
    for (int i = 0; i < n; i++) {
        double t = b[i];
        for (int k = 0; k < i; k++)
            t -= L[(size_t)i * n + k] * b[k];
        b[i] = t / L[(size_t)i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double t = b[i];
        for (int k = i + 1; k < n; k++)
            t -= L[(size_t)k * n + i] * b[k];
        b[i] = t / L[(size_t)i * n + i];
    }
}

/* Largest alpha with v + alpha dv >= 0 (infinity when dv >= 0). */
static double max_step(int n, const double *v, const double *dv)
{
    double a = INFINITY;
    for (int i = 0; i < n; i++)
        if (dv[i] < 0)
            a = fmin(a, -v[i] / dv[i]);
    return a;
}

/* One Newton direction for the complementarity residual w->rc: dyv, ds, dl. */
static void ipm_direction(const sv_bl_constrained *c, ipm_ws *w)
{
    const int dy = w->dy, mp = w->mp;
    for (int i = 0; i < dy; i++)
        w->rhs[i] = -w->rd[i];
    for (int k = 0; k < mp; k++)
        row_add(c, w, k, (w->rc[k] - w->lam[k] * w->rp[k]) / w->s[k], w->rhs);
    sv_copy(dy, w->rhs, w->dyv);
    chol_solve(dy, w->M, w->dyv);
    for (int k = 0; k < mp; k++) {
        w->ds[k] = -w->rp[k] - row_dot(c, w, k, w->dyv);
        w->dl[k] = (-w->rc[k] - w->lam[k] * w->ds[k]) / w->s[k];
    }
}

/* Solves the lower-level QP at x from y (in: start, out: solution); w->lam, w->s hold the
 * multipliers and slacks. Returns the scaled KKT residual, or NaN on a numerical failure. */
static double ipm_solve(const sv_bl_problem *p, const double *x, double *y, double tol,
                        int max_iter, ipm_ws *w)
{
    const sv_bl_constrained *c = p->data;
    const sv_bl_quadratic *q = &c->q;
    const int dy = w->dy, dx = q->dx, m = c->m, mp = w->mp;
    /* r = B_q x + h goes in tmp; d(x) in w->d */
    sv_zero(dy, w->tmp);
    for (int i = 0; i < dy; i++) {
        double t = q->h ? q->h[i] : 0.0;
        for (int a = 0; a < dx; a++)
            t += q->B[(size_t)i * dx + a] * x[a];
        w->tmp[i] = t;
    }
    for (int k = 0; k < m; k++)
        w->d[k] = c->b[k] - sv_dot(dx, c->A + (size_t)k * dx, x);
    for (int k = m; k < mp; k++) {
        int j = (int)w->bj[k - m];
        w->d[k] = j > 0 ? c->y_hi[j - 1] : -c->y_lo[-j - 1];
    }
    double rscale = 1.0 + sv_nrminf(dy, w->tmp), dscale = 1.0 + sv_nrminf(mp, w->d);
    for (int k = 0; k < mp; k++) {
        w->s[k] = fmax(w->d[k] - row_dot(c, w, k, y), 1.0);
        w->lam[k] = 1.0;
    }
    double res = INFINITY;
    for (int it = 0; it <= max_iter; it++) {
        /* residuals */
        sv__blq_lower(p, x, y, NULL, NULL, w->rd, w->owork);  /* H y - r */
        for (int k = 0; k < mp; k++) {
            row_add(c, w, k, w->lam[k], w->rd);
            w->rp[k] = row_dot(c, w, k, y) + w->s[k] - w->d[k];
        }
        double mu = mp > 0 ? sv_dot(mp, w->s, w->lam) / mp : 0.0;
        res = fmax(fmax(sv_nrminf(dy, w->rd) / rscale, sv_nrminf(mp, w->rp) / dscale), mu);
        if (!isfinite(res))
            return NAN;
        if (res <= tol || it == max_iter)
            break;
        /* M = H + C' diag(lam/s) C */
        memcpy(w->M, q->H, (size_t)dy * dy * sizeof *w->M);
        for (int k = 0; k < m; k++) {
            const double *bk = c->B + (size_t)k * dy;
            double dk = w->lam[k] / w->s[k];
            for (int i = 0; i < dy; i++) {
                double t = dk * bk[i];
                if (t == 0.0)
                    continue;
                for (int j = 0; j <= i; j++)
                    w->M[(size_t)i * dy + j] += t * bk[j];
            }
        }
        for (int k = m; k < mp; k++) {
            int j = (int)w->bj[k - m];
            int jj = (j > 0 ? j : -j) - 1;
            w->M[(size_t)jj * dy + jj] += w->lam[k] / w->s[k];
        }
        if (chol(dy, w->M) != 0)
            return NAN;
        /* predictor */
        for (int k = 0; k < mp; k++)
            w->rc[k] = w->s[k] * w->lam[k];
        ipm_direction(c, w);
        double a_aff = fmin(1.0, fmin(max_step(mp, w->s, w->ds), max_step(mp, w->lam, w->dl)));
        double mu_aff = 0.0;
        for (int k = 0; k < mp; k++)
            mu_aff += (w->s[k] + a_aff * w->ds[k]) * (w->lam[k] + a_aff * w->dl[k]);
        mu_aff /= mp;
        double sigma = pow(mu_aff / mu, 3.0);
        if (!(sigma <= 1.0))
            sigma = 1.0;
        /* corrector */
        for (int k = 0; k < mp; k++)
            w->rc[k] = w->s[k] * w->lam[k] + w->ds[k] * w->dl[k] - sigma * mu;
        ipm_direction(c, w);
        double a = fmin(1.0, IPM_STEP_BACK * fmin(max_step(mp, w->s, w->ds),
                                                  max_step(mp, w->lam, w->dl)));
        sv_axpy(dy, a, w->dyv, y);
        for (int k = 0; k < mp; k++) {
            w->s[k] = fmax(w->s[k] + a * w->ds[k], 1e-300);
            w->lam[k] = fmax(w->lam[k] + a * w->dl[k], 1e-300);
        }
    }
    return res;
}

static double con_solve_lower(const sv_bl_problem *p, const double *x, double *y, double tol,
                              int max_iter, double *work)
{
    ipm_ws w;
    ipm_carve(p, &w, work);
    double res = ipm_solve(p, x, y, fmax(tol, 1e-14), max_iter > 0 ? max_iter : 100, &w);
    return isnan(res) ? INFINITY : res;
}

static int con_hypergrad(const sv_bl_problem *p, const double *x, const double *y, double *out,
                         double *work)
{
    const sv_bl_constrained *c = p->data;
    const sv_bl_quadratic *q = &c->q;
    ipm_ws w;
    double *rest = ipm_carve(p, &w, work);
    const int dy = w.dy, dx = q->dx, m = c->m, mp = w.mp;
    double *ys = rest, *gy = rest + dy, *K = rest + 2 * dy;
    sv_copy(dy, y, ys);
    double res = ipm_solve(p, x, ys, IPM_HYPER_TOL, 200, &w);
    if (!(res <= 1e-6))
        return SV_ENUMERIC;
    sv__blq_upper(p, x, ys, NULL, out, gy, w.owork);
    /* the active rows: multiplier above its slack */
    int na = 0;
    for (int k = 0; k < mp; k++)
        if (w.lam[k] > w.s[k])
            w.t[na++] = k;
    const int n = dy + na;
    double *rhs = K + (size_t)n * n;
    memset(K, 0, (size_t)n * n * sizeof *K);
    for (int i = 0; i < dy; i++)
        memcpy(K + (size_t)i * n, q->H + (size_t)i * dy, (size_t)dy * sizeof *K);
    for (int a = 0; a < na; a++) {
        int k = (int)w.t[a];
        sv_zero(dy, w.tmp);
        row_add(c, &w, k, 1.0, w.tmp);
        for (int i = 0; i < dy; i++)
            K[(size_t)i * n + dy + a] = K[(size_t)(dy + a) * n + i] = w.tmp[i];
    }
    sv_copy(dy, gy, rhs);
    sv_zero(na, rhs + dy);
    int rc = sv_solve_general(n, K, rhs, 1);
    if (rc != SV_OK)
        return rc;
    /* out += B_q' p - A_A' q */
    for (int a = 0; a < dx; a++) {
        double t = 0.0;
        for (int i = 0; i < dy; i++)
            t += q->B[(size_t)i * dx + a] * rhs[i];
        out[a] += t;
    }
    for (int b = 0; b < na; b++) {
        int k = (int)w.t[b];
        if (k < m)
            sv_axpy(dx, -rhs[dy + b], c->A + (size_t)k * dx, out);
    }
    return sv_all_finite(dx, out) ? SV_OK : SV_ENUMERIC;
}

static void con_constraints(const sv_bl_problem *p, const double *x, const double *y, double *cv,
                            double *Jx, double *Jy)
{
    const sv_bl_constrained *c = p->data;
    const int dx = c->q.dx, dy = c->q.dy, m = c->m;
    if (cv)
        for (int k = 0; k < m; k++)
            cv[k] = sv_dot(dx, c->A + (size_t)k * dx, x) + sv_dot(dy, c->B + (size_t)k * dy, y) -
                    c->b[k];
    if (Jx)
        memcpy(Jx, c->A, (size_t)m * dx * sizeof *Jx);
    if (Jy)
        memcpy(Jy, c->B, (size_t)m * dy * sizeof *Jy);
}

static const sv_bl_ops constrained_ops = {
    .name = "constrained",
    .upper = sv__blq_upper,
    .lower = sv__blq_lower,
    .hvp_yy = sv__blq_hvp_yy,
    .hvp_xy = sv__blq_hvp_xy,
    .constraints = con_constraints,
    .lower_mu = sv__blq_mu,
    .lower_L = sv__blq_L,
    .accuracy = NULL,
    .solve_lower = con_solve_lower,
    .hypergrad = con_hypergrad,
};

int sv_bl_constrained_check(const sv_bl_constrained *c, sv_err *e)
{
    if (!c)
        return sv_fail(e, "/problem", "problem missing");
    int rc = sv__blq_check_objectives(&c->q, e);
    if (rc != SV_OK)
        return rc;
    const int dx = c->q.dx, dy = c->q.dy;
    if (c->m < 1)
        return sv_fail(e, "/problem/constraints", "at least one constraint is required");
    if (!c->A || !sv_all_finite(c->m * dx, c->A))
        return sv_fail(e, "/problem/constraints/A", "expected a finite %d x %d matrix", c->m, dx);
    if (!c->B || !sv_all_finite(c->m * dy, c->B))
        return sv_fail(e, "/problem/constraints/B", "expected a finite %d x %d matrix", c->m, dy);
    if (!c->b || !sv_all_finite(c->m, c->b))
        return sv_fail(e, "/problem/constraints/b", "expected %d finite numbers", c->m);
    for (int k = 0; k < c->m; k++)
        if (sv_nrm2(dy, c->B + (size_t)k * dy) == 0.0) {
            char f[64];
            snprintf(f, sizeof f, "/problem/constraints/B/%d", k);
            return sv_fail(e, f, "a constraint must involve y (row %d of B is zero)", k);
        }
    return sv__bl_box_check(dy, c->y_lo, c->y_hi, "/problem/y_box", e);
}

void sv_bl_constrained_bind(const sv_bl_constrained *c, sv_bl_problem *p)
{
    memset(p, 0, sizeof *p);
    p->ops = &constrained_ops;
    p->data = c;
    p->cls = SV_BL_CONSTRAINED;
    p->dx = c->q.dx;
    p->dy = c->q.dy;
    p->n_con = c->m;
    p->x_lo = c->q.x_lo;
    p->x_hi = c->q.x_hi;
    p->y_lo = c->y_lo;
    p->y_hi = c->y_hi;
    p->work = 2 * (size_t)c->q.dy + 8;
}

void sv_bl_constrained_free(sv_bl_constrained *c)
{
    if (!c)
        return;
    sv_bl_quadratic_free(&c->q);
    free(c->A);
    free(c->B);
    free(c->b);
    free(c->y_lo);
    free(c->y_hi);
    memset(c, 0, sizeof *c);
}

int sv_bl_constrained_toy(sv_bl_constrained *c)
{
    memset(c, 0, sizeof *c);
    sv_bl_quadratic *q = &c->q;
    q->dx = q->dy = 1;
    c->m = 1;
    q->H = malloc(sizeof *q->H);
    q->B = malloc(sizeof *q->B);
    q->h = malloc(sizeof *q->h);
    q->c = malloc(sizeof *q->c);
    c->A = malloc(sizeof *c->A);
    c->B = malloc(sizeof *c->B);
    c->b = malloc(sizeof *c->b);
    if (!q->H || !q->B || !q->h || !q->c || !c->A || !c->B || !c->b) {
        sv_bl_constrained_free(c);
        return SV_ENOMEM;
    }
    q->H[0] = 1.0;
    q->B[0] = 0.0;
    q->h[0] = 2.0;
    q->c[0] = 1.0;
    q->lambda = 1.0;
    c->A[0] = -1.0;
    c->B[0] = 1.0;
    c->b[0] = 0.0;
    return SV_OK;
}

static const char *const constrained_class[] = {"constrained", NULL};

const sv_param_spec sv_bl_constrained_gen_params[] = {
    {.name = "class", .type = SV_PARAM_ENUM, .offset = offsetof(sv_bl_constrained_gen, cls),
     .choices = constrained_class, .flags = SV_PARAM_REQUIRED, .help = "the problem class"},
    SV_PN_INT32_REQ(sv_bl_constrained_gen, spec.q.dx, "dx", 1, SV_BL_GEN_MAX_DIM,
                    "upper dimension"),
    SV_PN_INT32_REQ(sv_bl_constrained_gen, spec.q.dy, "dy", 1, SV_BL_GEN_MAX_DIM,
                    "lower dimension"),
    SV_PN_INT32(sv_bl_constrained_gen, spec.m, "m", 0, SV_BL_GEN_MAX_DIM, 0,
                "number of constraints, at most dy; 0: dy / 2 (at least 1)"),
    SV_PN_NUMBER(sv_bl_constrained_gen, spec.q.cond, "cond", 1, 1e12, 10,
                 "condition number of H (eigenvalues log-spaced in [1, cond])"),
    SV_PN_NUMBER(sv_bl_constrained_gen, spec.q.lambda, "lambda", 0, 1e12, 0.1,
                 "upper-level ridge weight lambda/2 |x|^2"),
    SV_PN_NUMBER(sv_bl_constrained_gen, spec.q.box, "box", 0, 1e12, 0,
                 "> 0: x in [-box, box]^dx; 0: no box"),
    SV_PN_NUMBER(sv_bl_constrained_gen, spec.q.noise, "noise", 0, 1e12, 0,
                 "std of the stochastic oracles' per-sample gradient noise"),
    SV_PN_SEED(sv_bl_constrained_gen, spec.q.seed, "seed", 0,
               "seed of the objectives; the constraints use seed + 1"),
    SV_PARAMS_END,
};

int sv_bl_constrained_gen_finish(sv_bl_constrained_gen *g, sv_err *e)
{
    sv_bl_constrained_spec *s = &g->spec;
    if (s->m == 0)
        s->m = s->q.dy / 2 > 0 ? s->q.dy / 2 : 1;
    if (s->m > s->q.dy)
        return sv_fail(e, "/problem/generate/m", "out of range: %d, must be at most dy = %d",
                       s->m, s->q.dy);
    s->seed = s->q.seed + 1;
    return SV_OK;
}

int sv_bl_constrained_generate(const sv_bl_constrained_spec *s, sv_bl_constrained *c, sv_err *e)
{
    memset(c, 0, sizeof *c);
    if (s->m < 1 || s->m > s->q.dy)
        return sv_fail(e, "/problem/generate/m", "must be in [1, dy] (at most dy constraints keep "
                       "the lower level feasible for every x)");
    int rc = sv_bl_quadratic_generate(&s->q, &c->q, e);
    if (rc != SV_OK)
        return rc;
    const int dx = s->q.dx, dy = s->q.dy, m = s->m;
    c->m = m;
    c->A = malloc((size_t)m * dx * sizeof *c->A);
    c->B = malloc((size_t)m * dy * sizeof *c->B);
    c->b = malloc((size_t)m * sizeof *c->b);
    double *Hc = malloc((size_t)dy * dy * sizeof *Hc);
    double *y0 = malloc((size_t)dy * sizeof *y0);
    if (!c->A || !c->B || !c->b || !Hc || !y0) {
        free(Hc);
        free(y0);
        sv_bl_constrained_free(c);
        return SV_ENOMEM;
    }
    /* y0 = H^{-1} h: the unconstrained lower solution at x = 0 */
    memcpy(Hc, c->q.H, (size_t)dy * dy * sizeof *Hc);
    memcpy(y0, c->q.h, (size_t)dy * sizeof *y0);
    rc = sv_solve_spd(dy, Hc, y0, 1);
    free(Hc);
    if (rc != SV_OK) {
        free(y0);
        sv_bl_constrained_free(c);
        return rc;
    }
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    for (int k = 0; k < m; k++) {
        double *ak = c->A + (size_t)k * dx, *bk = c->B + (size_t)k * dy;
        for (int a = 0; a < dx; a++)
            ak[a] = sv_rng_normal(&rng);
        for (int i = 0; i < dy; i++)
            bk[i] = sv_rng_normal(&rng);
        double t = sv_dot(dy, bk, y0);
        if (t < 0) {
            sv_scal(dx, -1.0, ak);
            sv_scal(dy, -1.0, bk);
            t = -t;
        }
        int active = sv_rng_uniform(&rng) < 0.5;
        double u = sv_rng_uniform(&rng);
        if (active && t > 1e-3)
            c->b[k] = (0.2 + 0.6 * u) * t;   /* cuts off y0, keeps y = 0 feasible */
        else
            c->b[k] = t + 0.1 + 0.9 * u;     /* y0 feasible with slack */
    }
    free(y0);
    return SV_OK;
}
