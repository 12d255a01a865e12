/* bilevel.c - the class-independent part of the bilevel interface: the wrappers over the oracle
 * table, projections, batch drawing, and the generic helpers (Newton-CG lower-level solve,
 * implicit-function hypergradient by conjugate gradients, evaluation for progress reports). */
#include "core/models/bilevel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/models/bl_internal.h"

/* Conjugate gradients stop at this relative residual (hypergradient systems). */
#define BL_CG_RTOL 1e-12
/* Armijo constant and the smallest step of the Newton line search. */
#define BL_ARMIJO 1e-4
#define BL_MIN_STEP 1e-12

/* ============================================================================================
 * Wrappers
 * ========================================================================================== */

double sv_bl_upper(const sv_bl_problem *p, const double *x, const double *y,
                   const sv_bl_batch *b, double *gx, double *gy, double *work)
{
    return p->ops->upper(p, x, y, b, gx, gy, work);
}

double sv_bl_lower(const sv_bl_problem *p, const double *x, const double *y,
                   const sv_bl_batch *b, double *gx, double *gy, double *work)
{
    return p->ops->lower(p, x, y, b, gx, gy, work);
}

void sv_bl_hvp_yy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                  const sv_bl_batch *b, double *out, double *work)
{
    p->ops->hvp_yy(p, x, y, v, b, out, work);
}

void sv_bl_hvp_xy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                  const sv_bl_batch *b, double *out, double *work)
{
    p->ops->hvp_xy(p, x, y, v, b, out, work);
}

void sv_bl_constraints(const sv_bl_problem *p, const double *x, const double *y, double *c,
                       double *Jx, double *Jy)
{
    if (p->n_con > 0 && p->ops->constraints)
        p->ops->constraints(p, x, y, c, Jx, Jy);
}

double sv_bl_lower_mu(const sv_bl_problem *p, const double *x)
{
    return p->ops->lower_mu ? p->ops->lower_mu(p, x) : NAN;
}

double sv_bl_lower_L(const sv_bl_problem *p, const double *x)
{
    return p->ops->lower_L ? p->ops->lower_L(p, x) : NAN;
}

double sv_bl_accuracy(const sv_bl_problem *p, const double *y, sv_bl_set_id set)
{
    return p->ops->accuracy ? p->ops->accuracy(p, y, set) : NAN;
}

void sv_bl_project_x(const sv_bl_problem *p, double *x)
{
    if (p->x_lo || p->x_hi)
        sv_project_box(p->dx, p->x_lo, p->x_hi, x);
}

void sv_bl_project_y(const sv_bl_problem *p, double *y)
{
    if (p->y_lo || p->y_hi)
        sv_project_box(p->dy, p->y_lo, p->y_hi, y);
}

int sv_bl_draw_batch(const sv_bl_problem *p, sv_bl_level level, int k, sv_rng *rng, int *idx)
{
    int n = level == SV_BL_UPPER ? p->n_upper : p->n_lower;
    if (n <= 0 || k <= 0)
        return 0;
    if (k > n)
        k = n;
    sv_rng_sample(rng, n, k, idx);
    return k;
}

/* ============================================================================================
 * Shared small pieces (bl_internal.h)
 * ========================================================================================== */

double sv__bl_sigmoid(double t)
{
    if (t >= 0)
        return 1.0 / (1.0 + exp(-t));
    double e = exp(t);
    return e / (1.0 + e);
}

void sv__bl_draw_row(sv_rng *rng, int d0, int intercept, const double *W, int nw, double *row,
                     double *score)
{
    for (int j = 0; j < d0; j++)
        row[j] = sv_rng_normal(rng);
    if (intercept)
        row[d0] = 1.0;
    sv_zero(nw, score);
    for (int j = 0; j < d0; j++)
        for (int c = 0; c < nw; c++)
            score[c] += row[j] * W[j * nw + c];
}

void sv__bl_add_noise(const sv_bl_batch *b, double noise, int n, double *out)
{
    if (!b || !b->rng || !(noise > 0))
        return;
    double s = noise / sqrt(b->k > 0 ? (double)b->k : 1.0);
    for (int i = 0; i < n; i++)
        out[i] += s * sv_rng_normal(b->rng);
}

void sv_bl_set_free(sv_bl_set *s)
{
    if (!s)
        return;
    sv_mat_free(&s->A);
    free(s->b);
    free(s->cls);
    memset(s, 0, sizeof *s);
}

/* ============================================================================================
 * Generic helpers
 * ========================================================================================== */

/* Extra doubles the constrained class's own solve and hypergradient need (bl_quadratic.c). */
size_t sv__bl_constrained_work(const sv_bl_problem *p);

size_t sv_bl_work_size(const sv_bl_problem *p)
{
    size_t n = p->work + 8 * (size_t)p->dy + 3 * (size_t)p->dx + 16;
    if (p->cls == SV_BL_CONSTRAINED)
        n += sv__bl_constrained_work(p);
    return n;
}

/* Solves H z = rhs (H = grad^2_yy g(x, y), symmetric positive definite) by conjugate gradients
 * from z = 0 until |r| <= rtol |rhs| or max_iter steps. v: 4 dy doubles; w: p->work doubles.
 * Returns the final relative residual. */
static double cg_solve(const sv_bl_problem *p, const double *x, const double *y,
                       const double *rhs, double *z, double rtol, int max_iter, double *v,
                       double *w, sv_loop *L)
{
    const int n = p->dy;
    double *r = v, *d = v + n, *Hd = v + 2 * n;
    double bn = sv_nrm2(n, rhs);
    sv_zero(n, z);
    if (!(bn > 0))
        return 0.0;
    sv_copy(n, rhs, r);
    sv_copy(n, rhs, d);
    double rr = sv_dot(n, r, r);
    for (int it = 0; it < max_iter && sqrt(rr) > rtol * bn; it++) {
        if ((it & 15) == 15 && sv_loop_poll(L))
            break;  /* the solve is being stopped: what CG has is all the caller needs */
        p->ops->hvp_yy(p, x, y, d, NULL, Hd, w);
        double dHd = sv_dot(n, d, Hd);
        if (!(dHd > 0))
            break;  /* not positive definite along d: keep what we have */
        double a = rr / dHd;
        sv_axpy(n, a, d, z);
        sv_axpy(n, -a, Hd, r);
        double rr_new = sv_dot(n, r, r);
        double beta = rr_new / rr;
        rr = rr_new;
        for (int i = 0; i < n; i++)
            d[i] = r[i] + beta * d[i];
    }
    return sqrt(rr) / bn;
}

double sv_bl_solve_lower(const sv_bl_problem *p, const double *x, double *y, double tol,
                         int max_iter, double *work, sv_loop *L)
{
    if (p->ops->solve_lower)
        return p->ops->solve_lower(p, x, y, tol, max_iter, work);
    const int n = p->dy;
    double *g = work, *dir = work + n, *yt = work + 2 * n, *v = work + 3 * n;
    double *w = work + 8 * (size_t)n + 3 * (size_t)p->dx + 16;
    double gv = p->ops->lower(p, x, y, NULL, NULL, g, w);
    double gn = sv_nrm2(n, g);
    for (int it = 0; it < max_iter && gn > tol && !sv_loop_poll(L); it++) {
        /* Inexact Newton: the forcing term min(1/2, sqrt|g|) gives superlinear convergence. */
        for (int i = 0; i < n; i++)
            g[i] = -g[i];
        double forcing = fmin(0.5, sqrt(gn));
        cg_solve(p, x, y, g, dir, fmax(forcing, 1e-14), 2 * n + 20, v, w, L);
        double slope = -sv_dot(n, g, dir);  /* g holds -grad */
        if (!(slope < 0)) {
            sv_copy(n, g, dir);  /* fall back to steepest descent */
            slope = -sv_dot(n, g, g);
        }
        double t = 1.0, gt;
        int accepted = 0;
        for (;;) {
            sv_copy(n, y, yt);
            sv_axpy(n, t, dir, yt);
            gt = p->ops->lower(p, x, yt, NULL, NULL, NULL, w);
            if (gt <= gv + BL_ARMIJO * t * slope) {
                accepted = 1;
                break;
            }
            /* Near the solution the decrease in g drowns in its rounding: judge the step by the
             * gradient norm instead. */
            if (fabs(t * slope) <= 1e-11 * (1.0 + fabs(gv))) {
                double *gtr = v;  /* CG scratch is free again */
                p->ops->lower(p, x, yt, NULL, NULL, gtr, w);
                if (sv_nrm2(n, gtr) < gn) {
                    accepted = 1;
                    break;
                }
            }
            t *= 0.5;
            if (t < BL_MIN_STEP)
                break;
        }
        if (!accepted)
            break;  /* no progress possible at this precision */
        sv_copy(n, yt, y);
        gv = p->ops->lower(p, x, y, NULL, NULL, g, w);
        gn = sv_nrm2(n, g);
    }
    return gn;
}

int sv_bl_hypergrad(const sv_bl_problem *p, const double *x, const double *y, double *out,
                    double *work, sv_loop *L)
{
    if (p->ops->hypergrad)
        return p->ops->hypergrad(p, x, y, out, work);
    const int n = p->dy;
    double *gy = work, *z = work + n, *v = work + 2 * n, *t = work + 7 * (size_t)n;
    double *w = work + 8 * (size_t)n + 3 * (size_t)p->dx + 16;
    p->ops->upper(p, x, y, NULL, out, gy, w);
    double res = cg_solve(p, x, y, gy, z, BL_CG_RTOL, 10 * n + 100, v, w, L);
    if (sv_loop_stopped(L))
        return SV_BL_STOPPED;
    if (!(res <= 1e-8))
        return SV_ENUMERIC;
    p->ops->hvp_xy(p, x, y, z, NULL, t, w);
    sv_axpy(p->dx, -1.0, t, out);
    return sv_all_finite(p->dx, out) ? SV_OK : SV_ENUMERIC;
}

double sv_bl_lower_residual(const sv_bl_problem *p, const double *x, const double *y,
                            double *work)
{
    double *g = work;
    double *w = work + 8 * (size_t)p->dy + 3 * (size_t)p->dx + 16;
    p->ops->lower(p, x, y, NULL, NULL, g, w);
    double r = sv_nrm2(p->dy, g);
    if (p->n_con > 0) {
        double *c = w + p->work;  /* the class's extra work holds at least n_con doubles */
        p->ops->constraints(p, x, y, c, NULL, NULL);
        for (int i = 0; i < p->n_con; i++)
            r = fmax(r, c[i]);
    }
    return r;
}

int sv_bl_evaluate(const sv_bl_problem *p, const double *x, double *y, double tol, double *F,
                   double *gout, double *work, sv_loop *L)
{
    double *w = work + 8 * (size_t)p->dy + 3 * (size_t)p->dx + 16;
    sv_bl_solve_lower(p, x, y, tol, 100, work, L);
    if (sv_loop_stopped(L))
        return SV_BL_STOPPED;
    if (!sv_all_finite(p->dy, y))
        return SV_ENUMERIC;
    *F = p->ops->upper(p, x, y, NULL, NULL, NULL, w);
    if (gout)
        return sv_bl_hypergrad(p, x, y, gout, work, L);
    return isfinite(*F) ? SV_OK : SV_ENUMERIC;
}

void sv_bl_exact_metrics(const sv_bl_problem *p, const double *x, const double *y, double *ys,
                         double *g, double *work, double *F, double *hg, sv_loop *L)
{
    *F = NAN;
    *hg = NAN;
    sv_copy(p->dy, y, ys);
    if (sv_bl_evaluate(p, x, ys, 1e-10, F, g, work, L) == SV_OK)
        *hg = sv_nrm2(p->dx, g);
}

int sv_bl_check_start(const sv_bl_problem *p, const double *x, const double *y, sv_err *e)
{
    if (!x || !sv_all_finite(p->dx, x))
        return sv_fail(e, "/problem/x0", "starting point missing or not finite");
    if (!y || !sv_all_finite(p->dy, y))
        return sv_fail(e, "/problem/y0", "starting point missing or not finite");
    return SV_OK;
}
