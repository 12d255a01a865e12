/* lbfgsb.c - projected two-metric L-BFGS for box constraints (see lbfgsb.h). */
#include "core/kernels/lbfgsb.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"

#define ARMIJO_C1 1e-4

void sv_lbfgsb_opts_default(sv_lbfgsb_opts *o)
{
    o->ftol = SV_LBFGSB_DEFAULT_FTOL;
    o->gtol = SV_LBFGSB_DEFAULT_GTOL;
    o->max_ls = SV_LBFGSB_DEFAULT_MAX_LS;
}

int sv_lbfgsb_alloc(sv_lbfgsb *w, int n, int m)
{
    memset(w, 0, sizeof *w);
    if (n < 1 || m < 1)
        return SV_EINVAL;
    size_t N = (size_t)n, M = (size_t)m;
    w->x = malloc(N * sizeof *w->x);
    w->g = malloc(N * sizeof *w->g);
    w->d = malloc(N * sizeof *w->d);
    w->xt = malloc(N * sizeof *w->xt);
    w->gt = malloc(N * sizeof *w->gt);
    w->S = malloc(M * N * sizeof *w->S);
    w->Y = malloc(M * N * sizeof *w->Y);
    w->rho = malloc(M * sizeof *w->rho);
    w->alf = malloc(M * sizeof *w->alf);
    w->act = malloc(N);
    if (!w->x || !w->g || !w->d || !w->xt || !w->gt || !w->S || !w->Y || !w->rho || !w->alf ||
        !w->act) {
        sv_lbfgsb_free(w);
        return SV_ENOMEM;
    }
    w->n = n;
    w->m = m;
    sv_lbfgsb_opts_default(&w->o);
    return SV_OK;
}

void sv_lbfgsb_free(sv_lbfgsb *w)
{
    if (!w)
        return;
    free(w->x);
    free(w->g);
    free(w->d);
    free(w->xt);
    free(w->gt);
    free(w->S);
    free(w->Y);
    free(w->rho);
    free(w->alf);
    free(w->act);
    memset(w, 0, sizeof *w);
}

/* The box's bounds as arrays of n, or NULL for an open side: the loops below are written once
 * for each case through these two. */
static double lo_at(const sv_lbfgsb *w, int i)
{
    return w->lo ? w->lo[i] : -INFINITY;
}

static double hi_at(const sv_lbfgsb *w, int i)
{
    return w->hi ? w->hi[i] : INFINITY;
}

static inline double clamp(double v, double l, double h)
{
    return v < l ? l : (v > h ? h : v);
}

/* |P(x - g) - x|_inf. */
static double pg_norm(const sv_lbfgsb *w, const double *x, const double *g)
{
    double r = 0;
    for (int i = 0; i < w->n; i++) {
        double a = fabs(clamp(x[i] - g[i], lo_at(w, i), hi_at(w, i)) - x[i]);
        if (a > r || isnan(a))
            r = a;
    }
    return r;
}

/* The active set of the file's header into w->act: fixed, or at a bound with the gradient
 * pointing out. */
static void active_set(sv_lbfgsb *w)
{
    for (int i = 0; i < w->n; i++) {
        double l = lo_at(w, i), h = hi_at(w, i), x = w->x[i], g = w->g[i];
        w->act[i] = l == h || (x <= l && g > 0) || (x >= h && g < 0);
    }
}

/* d = -H g_F (two-loop recursion), 0 on the active set and where a free coordinate at a bound
 * would leave the box. Returns g'd. */
static double direction(sv_lbfgsb *w, int steepest)
{
    int n = w->n;
    double *q = w->d;
    active_set(w);
    for (int i = 0; i < n; i++)
        q[i] = w->act[i] ? 0.0 : w->g[i];
    if (!steepest && w->pairs > 0) {
        int newest = (w->head - 1 + w->m) % w->m;
        for (int c = 0, j = newest; c < w->pairs; c++, j = (j - 1 + w->m) % w->m) {
            w->alf[j] = w->rho[j] * sv_dot(n, w->S + (size_t)j * n, q);
            sv_axpy(n, -w->alf[j], w->Y + (size_t)j * n, q);
        }
        const double *sn = w->S + (size_t)newest * n, *yn = w->Y + (size_t)newest * n;
        sv_scal(n, sv_dot(n, sn, yn) / sv_dot(n, yn, yn), q);
        int oldest = (w->head - w->pairs + w->m) % w->m;
        for (int c = 0, j = oldest; c < w->pairs; c++, j = (j + 1) % w->m) {
            double beta = w->rho[j] * sv_dot(n, w->Y + (size_t)j * n, q);
            sv_axpy(n, w->alf[j] - beta, w->S + (size_t)j * n, q);
        }
    }
    double gd = 0;
    for (int i = 0; i < n; i++) {
        double di = -q[i], x = w->x[i];
        if (w->act[i] || (di < 0 && x <= lo_at(w, i)) || (di > 0 && x >= hi_at(w, i)))
            di = 0;
        w->d[i] = di;
        gd += w->g[i] * di;
    }
    return gd;
}

/* Backtracking along x(t) = P(x + t d). Returns 1 with the trial in xt, gt, *ft; 0 when no trial
 * was accepted; -1 when fn aborted. */
static int line_search(sv_lbfgsb *w, double t, double *ft)
{
    int n = w->n;
    for (int ls = 0; ls < w->o.max_ls; ls++) {
        double slope = 0;
        for (int i = 0; i < n; i++) {
            double v = clamp(w->x[i] + t * w->d[i], lo_at(w, i), hi_at(w, i));
            w->xt[i] = v;
            slope += w->g[i] * (v - w->x[i]);
        }
        if (!(slope < 0))
            return 0;  /* the step vanished in rounding: no descent left along d */
        double f;
        if (w->fn(w->ctx, w->xt, &f, w->gt) != 0)
            return -1;
        w->nfev++;
        if (isfinite(f) && f <= w->f + ARMIJO_C1 * slope) {
            *ft = f;
            return 1;
        }
        /* The minimiser of the quadratic through f(x), the slope and f(x(t)), kept in
         * [0.1 t, 0.5 t]; 0.1 t after a non-finite value. */
        double u = 0.1;
        if (isfinite(f)) {
            double den = 2.0 * (f - w->f - slope);
            u = den > 0 ? -slope / den : 0.5;
            u = fmin(fmax(u, 0.1), 0.5);
        }
        t *= u;
    }
    return 0;
}

int sv_lbfgsb_start(sv_lbfgsb *w, const sv_lbfgsb_opts *o, const double *lo, const double *hi,
                    const double *x0, sv_lbfgsb_fn fn, void *ctx)
{
    if (o)
        w->o = *o;
    else
        sv_lbfgsb_opts_default(&w->o);
    if (w->o.max_ls < 1)
        w->o.max_ls = 1;
    w->lo = lo;
    w->hi = hi;
    w->fn = fn;
    w->ctx = ctx;
    w->pairs = w->head = 0;
    w->iter = w->nfev = 0;
    for (int i = 0; i < w->n; i++)
        w->x[i] = clamp(x0[i], lo_at(w, i), hi_at(w, i));
    if (fn(ctx, w->x, &w->f, w->g) != 0)
        return w->state = SV_LBFGSB_ABORTED;
    w->nfev = 1;
    w->f_prev = w->f;
    if (!isfinite(w->f) || !sv_all_finite(w->n, w->g))
        return w->state = SV_LBFGSB_BAD_START;
    w->pg = pg_norm(w, w->x, w->g);
    return w->state = w->pg <= w->o.gtol ? SV_LBFGSB_CONV_PG : SV_LBFGSB_RUNNING;
}

int sv_lbfgsb_step(sv_lbfgsb *w)
{
    int n = w->n;
    double ft = NAN;
    int r = 0;
    for (int attempt = 0; attempt < 2 && r == 0; attempt++) {
        int steepest = attempt == 1;
        if (steepest)
            w->pairs = w->head = 0;
        double gd = direction(w, steepest);
        if (!(gd < 0) && !steepest)
            gd = direction(w, steepest = 1);
        if (!(gd < 0))
            break;
        double t = 1.0;
        if (w->pairs == 0) {
            double dn = sv_nrm2(n, w->d);
            t = dn > 1.0 ? 1.0 / dn : 1.0;
        }
        r = line_search(w, t, &ft);
        if (steepest)
            break;
    }
    if (r < 0)
        return w->state = SV_LBFGSB_ABORTED;
    if (r == 0)
        return w->state = SV_LBFGSB_LS_FAILED;
    /* The pair s = xt - x, y = gt - g, into the ring. */
    double *s = w->S + (size_t)w->head * n, *y = w->Y + (size_t)w->head * n;
    for (int i = 0; i < n; i++) {
        s[i] = w->xt[i] - w->x[i];
        y[i] = w->gt[i] - w->g[i];
    }
    double sy = sv_dot(n, s, y), yy = sv_dot(n, y, y);
    if (sy > DBL_EPSILON * yy && yy > 0) {
        w->rho[w->head] = 1.0 / sy;
        w->head = (w->head + 1) % w->m;
        if (w->pairs < w->m)
            w->pairs++;
    } else if (w->pairs == w->m) {
        w->pairs--;  /* the slot held the oldest pair, now overwritten */
    }
    sv_copy(n, w->xt, w->x);
    sv_copy(n, w->gt, w->g);
    w->f_prev = w->f;
    w->f = ft;
    w->iter++;
    w->pg = pg_norm(w, w->x, w->g);
    if (w->pg <= w->o.gtol)
        return w->state = SV_LBFGSB_CONV_PG;
    double scale = fmax(fmax(fabs(w->f_prev), fabs(w->f)), 1.0);
    if (w->f_prev - w->f <= w->o.ftol * scale)
        return w->state = SV_LBFGSB_CONV_F;
    return w->state = SV_LBFGSB_RUNNING;
}
