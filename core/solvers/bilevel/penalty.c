/* penalty.c - the penalty method of Kwon, Kwon, Wright, Nowak (ICLR 2024) on the oracles of
 * core/models/bilevel.h; see penalty.h for the reformulation and docs/solvers/bilevel/penalty.md for
 * the choices made where the paper leaves a detail open.
 *
 * Double loop, iteration k at x_k (warm starts z, y_s from the previous iteration):
 *   z   <- projected gradient on g(x_k, .) over Y until its gradient mapping <= inner_tol
 *   y_s <- projected gradient on sigma f(x_k, .) + g(x_k, .) over Y, likewise
 *   x_{k+1} = P_X(x_k - alpha grad psi_sigma(x_k)), alpha halved until psi_sigma decreases by the
 *   usual sufficient-decrease test of projected gradient, then doubled for the next try.
 * Single loop (the paper's), iteration k at a fixed sigma with one fresh sample xi_k (a lower
 * batch B and an upper batch U) for all three directions,
 *   v_z(p; xi) = grad_y g(x, z; B),  v_y(p; xi) = grad_y g(x, y; B) + sigma grad_y f(x, y; U),
 *   v_x(p; xi) = grad_x f(x, y; U) + (grad_x g(x, y; B) - grad_x g(x, z; B)) / sigma
 * at the point p = (x, y, z), and the momentum-assisted (STORM) estimators
 *   h^k = v(p_k; xi_k) + (1 - eta_k) (h^{k-1} - v(p_{k-1}; xi_k)),   h^0 = v(p_0; xi_0),
 * the same sample at the new and the old point; then
 *   z <- P_Y(z - gamma_k h_z),  y <- P_Y(y - gamma_k h_y),  x <- P_X(x - alpha_k h_x)
 * with gamma_k = gamma s_k, alpha_k = alpha s_k, s_k = (1 + k/decay_k0)^(-1/3) and
 * eta_k = min(1, momentum s_k^2) (the STORM coupling of the momentum to the squared step); alpha
 * null: min(1/L_psi, step_ratio gamma sigma / L_y^2) from secants at x0 (two time scales).
 * Sgd (a baseline, not the paper's), iteration k with fresh mini-batches and
 * sigma_k = max(sigma, sigma0/(k+1)^decay):
 *   z <- P_Y(z - gamma grad_y g(x, z))
 *   y <- P_Y(y - gamma (grad_y g(x, y) + sigma_k grad_y f(x, y)))
 *   x <- P_X(x - alpha_k (grad_x f(x, y) + (grad_x g(x, y) - grad_x g(x, z)) / sigma_k))
 * with alpha_k = min(alpha, step_ratio gamma sigma_k).
 * In both stochastic variants the z and y terms share their lower samples (and the two grad_x g
 * terms theirs), so that the noise common to a pair cancels in y - z, the quantity that
 * grad psi_sigma divides by sigma. */
#include "core/solvers/bilevel/penalty.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const sv_bl_problem *p;
    int dx, dy;
    double *xt, *gx, *tx, *zt, *yst, *gy, *ty, *vt, *fx0;
    /* single loop: the previous point, the estimators h, the directions v at the new point
     * and u at the old one, and a scratch pair */
    double *xp, *yp, *zp, *hx, *hy, *hz, *vx, *vy, *vz, *ux, *uy, *uz, *sx, *sy;
    double *work;             /* sv_bl_work_size(p) */
    int *iu, *il;             /* batch indices */
    long upper_grads, lower_grads, inner_steps;
    double gscale;            /* |g(x, y_s)| + |g(x, z)| at the last psi evaluation */
    double gam_max;           /* the inner steps never exceed this (1 / L_g) */
} pen_ws;

/* What a report carries besides the counters: the method's own values (psi_gn, gap, sigma, as
 * the iteration left them) and the full-oracle ones measured at a report iteration and at the
 * end. */
typedef struct {
    pen_ws *w;
    double fz, lres, F, hg, psi_gn, gap, sigma;
    double derr;         /* single loop with exact_metrics: |h_x - v_x| of the last step, its x
                          * direction against the full-oracle direction at the point where it
                          * was taken; else NaN */
    int have_dir;        /* single loop: a step has been taken (w->hx at w->xp, yp, zp) */
} pen_state;

static int check_problem(const sv_bl_problem *p, sv_err *e);
static int ws_alloc(pen_ws *w, const sv_bl_problem *p, const penalty_settings *s);
static void ws_free(pen_ws *w);
static double inner_solve(pen_ws *w, const double *x, double *v, double wf, double *gam,
                          long max_iter, double tol, sv_loop *L);
static double psi_eval(pen_ws *w, const double *x, const double *ys, const double *z,
                       double sigma, double *gx, double *gap);
static double secant_smoothness(pen_ws *w, const double *x0, double *z, double *ys,
                                double sigma, double gam, const penalty_settings *s, sv_loop *L,
                                double *Ly);
static void measure(pen_state *st, const double *x, const double *z, int exact, sv_loop *L);
static int metrics(void *ctx, sv_metric *m, int cap);

/* ================================ settings ================================ */

static const char *const variant_choices[] = {"double_loop", "single_loop", "sgd", NULL};

const sv_param_spec penalty_params[] = {
    SV_P_ENUM(penalty_settings, variant, variant_choices, BLP_DEFAULT_VARIANT,
              "double_loop: inner projected-gradient solves and backtracking steps on psi_sigma; "
              "single_loop: the paper's fully single loop (momentum-assisted STORM estimators, "
              "mini-batches, fixed sigma); sgd: baseline projected SGD with sigma decreasing to "
              "its target (not the paper's algorithm)"),
    SV_P_NUMBER_GT(penalty_settings, sigma, 0, 1e6, BLP_DEFAULT_SIGMA,
                   "penalty parameter (fixed; the target of sgd's decreasing sigma_k); psi_sigma "
                   "is within O(sigma) of F"),
    SV_P_NUMBER_GT(penalty_settings, sigma0, 0, 1e6, BLP_DEFAULT_SIGMA0,
                   "sgd: sigma_k = max(sigma, sigma0 / (k+1)^sigma_decay)"),
    SV_P_NUMBER(penalty_settings, sigma_decay, 0, 10, BLP_DEFAULT_SIGMA_DECAY,
                "sgd: decay exponent of sigma_k"),
    SV_P_NUMBER_GT(penalty_settings, alpha, 0, INFINITY, NAN,
                   "x step; null: automatic (double loop backtracks from 1, single loop and sgd "
                   "1/L by a secant estimate)"),
    SV_P_NUMBER_GT(penalty_settings, gamma, 0, INFINITY, NAN, "y and z step; null: 1 / L_g"),
    SV_P_NUMBER_GT(penalty_settings, step_ratio, 0, 1e12, NAN,
                   "single loop and sgd: x steps are at most step_ratio * gamma * sigma (sgd: "
                   "sigma_k; single loop: divided by L_y^2; two time scales); null: 5 (single "
                   "loop), 1 (sgd)"),
    SV_P_NUMBER_GT(penalty_settings, momentum, 0, 1, BLP_DEFAULT_MOMENTUM,
                   "single loop: eta_k = min(1, momentum s_k^2), the fresh sample's weight in "
                   "the momentum estimators; 1: none"),
    SV_P_NUMBER(penalty_settings, decay_k0, 0, 1e12, BLP_DEFAULT_DECAY_K0,
                "single loop: step factor s_k = (1 + k / decay_k0)^(-1/3); 0: constant steps"),
    SV_P_INT(penalty_settings, inner_iters, 1, 1e7, BLP_DEFAULT_INNER_ITERS,
             "double loop: most projected-gradient steps per inner solve"),
    SV_P_NUMBER(penalty_settings, inner_tol, 0, INFINITY, BLP_DEFAULT_INNER_TOL,
                "double loop: inner solves stop at this gradient-mapping norm"),
    SV_P_INT(penalty_settings, batch_upper, 0, 1e9, BLP_DEFAULT_BATCH,
             "single loop and sgd: validation rows per batch (0: all)"),
    SV_P_INT(penalty_settings, batch_lower, 0, 1e9, BLP_DEFAULT_BATCH,
             "single loop and sgd: training rows per batch (0: all)"),
    SV_CONTROL_PARAMS(penalty_settings, ctl, BLP_DEFAULT_TOL,
                      "double loop: stop when the gradient mapping of psi_sigma is at most tol",
                      BLP_DEFAULT_MAX_ITER, BLP_DEFAULT_REPORT_EVERY),
    SV_P_BOOL(penalty_settings, exact_metrics, 1,
              "progress reports carry the exact F(x) and |grad F(x)| (second-order work, "
              "monitoring only)"),
    SV_P_SEED(penalty_settings, seed, BLP_DEFAULT_SEED, "seed of the mini-batch sampling"),
    SV_PARAMS_END,
};

void penalty_settings_default(penalty_settings *s)
{
    sv_params_defaults(penalty_params, s);
}

int penalty_check_settings(const penalty_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(penalty_params, s, "/params", e);
}

static int check_problem(const sv_bl_problem *p, sv_err *e)
{
    if (!p || !p->ops || !p->ops->upper || !p->ops->lower || p->dx < 1 || p->dy < 1)
        return sv_fail(e, "/problem", "problem missing or incomplete");
    if (p->n_con > 0)
        return sv_fail(e, "/problem/class", "the penalty method handles lower-level constraints "
                       "only as a box of y (projections); coupled constraints A x + B y <= b need "
                       "bilevel.lvhba");
    return SV_OK;
}

/* ================================ workspace ================================ */

static int ws_alloc(pen_ws *w, const sv_bl_problem *p, const penalty_settings *s)
{
    memset(w, 0, sizeof *w);
    w->p = p;
    w->dx = p->dx;
    w->dy = p->dy;
    size_t nw = sv_bl_work_size(p);
    size_t total = 10 * (size_t)p->dx + 14 * (size_t)p->dy + nw;
    double *b = calloc(total, sizeof *b);
    long ku = s->batch_upper > 0 ? s->batch_upper : 1, kl = s->batch_lower > 0 ? s->batch_lower : 1;
    if (ku > p->n_upper && p->n_upper > 0)
        ku = p->n_upper;
    if (kl > p->n_lower && p->n_lower > 0)
        kl = p->n_lower;
    w->iu = malloc((size_t)ku * sizeof *w->iu);
    w->il = malloc((size_t)kl * sizeof *w->il);
    if (!b || !w->iu || !w->il) {
        free(b);
        free(w->iu);
        free(w->il);
        memset(w, 0, sizeof *w);
        return SV_ENOMEM;
    }
    const size_t dx = (size_t)p->dx, dy = (size_t)p->dy;
    w->xt = b;
    w->gx = w->xt + dx;
    w->tx = w->gx + dx;
    w->fx0 = w->tx + dx;
    w->zt = w->fx0 + dx;
    w->yst = w->zt + dy;
    w->gy = w->yst + dy;
    w->ty = w->gy + dy;
    w->vt = w->ty + dy;
    double *q = w->vt + dy;
    double **vx[] = {&w->xp, &w->hx, &w->vx, &w->ux, &w->sx};
    for (size_t i = 0; i < sizeof vx / sizeof *vx; i++, q += dx)
        *vx[i] = q;
    double **vy[] = {&w->yp, &w->zp, &w->hy, &w->hz, &w->vy, &w->vz, &w->uy, &w->uz, &w->sy};
    for (size_t i = 0; i < sizeof vy / sizeof *vy; i++, q += dy)
        *vy[i] = q;
    w->work = q;
    return SV_OK;
}

static void ws_free(pen_ws *w)
{
    free(w->xt);
    free(w->iu);
    free(w->il);
    memset(w, 0, sizeof *w);
}

/* ================================ numerics ================================ */

/* h(v) = wf f(x, v) + g(x, v) and its y-gradient (full). */
static double h_eval(pen_ws *w, const double *x, const double *v, double wf, double *grad)
{
    const sv_bl_problem *p = w->p;
    double h = sv_bl_lower(p, x, v, NULL, NULL, grad, w->work);
    if (grad)
        w->lower_grads++;
    if (wf > 0) {
        h += wf * sv_bl_upper(p, x, v, NULL, NULL, grad ? w->ty : NULL, w->work);
        if (grad) {
            sv_axpy(w->dy, wf, w->ty, grad);
            w->upper_grads++;
        }
    }
    return h;
}

/* Projected gradient with backtracking on h = wf f + g over the box of y from v (in/out); the
 * step *gam adapts (halved on a failed decrease test, grown by 1.25 after a success). Returns
 * the last gradient-mapping norm. Polls L before each step and returns early (v at the last
 * accepted step) once it says stop. */
static double inner_solve(pen_ws *w, const double *x, double *v, double wf, double *gam,
                          long max_iter, double tol, sv_loop *L)
{
    const sv_bl_problem *p = w->p;
    const int n = w->dy;
    double gm = INFINITY;
    double hv = h_eval(w, x, v, wf, w->gy);
    for (long it = 0; it < max_iter; it++) {
        if (sv_loop_poll(L))
            return gm;
        double ht;
        int grow = 1;
        for (;;) {
            for (int i = 0; i < n; i++)
                w->vt[i] = v[i] - *gam * w->gy[i];
            sv_bl_project_y(p, w->vt);
            double dd = 0.0, gd = 0.0;
            for (int i = 0; i < n; i++) {
                double di = w->vt[i] - v[i];
                dd += di * di;
                gd += w->gy[i] * di;
            }
            gm = sqrt(dd) / *gam;
            if (gm <= tol)
                return gm;
            ht = h_eval(w, x, w->vt, wf, NULL);
            if (ht <= hv + gd + dd / (2 * *gam))
                break;
            /* a decrease below the rounding of h cannot be judged: take the step (the step
             * never exceeds 1 / L_g, so in exact arithmetic it would descend) but do not grow */
            if (fabs(gd) <= BLP_PSI_ROUNDING * (1.0 + fabs(hv))) {
                grow = 0;
                break;
            }
            *gam *= 0.5;
            grow = 0;
            if (*gam < 1e-300)
                return gm;
        }
        sv_copy(n, w->vt, v);
        w->inner_steps++;
        if (grow)
            *gam = fmin(*gam * 1.25, w->gam_max);
        hv = h_eval(w, x, v, wf, w->gy);
    }
    /* the mapping at the final point */
    for (int i = 0; i < n; i++)
        w->vt[i] = v[i] - *gam * w->gy[i];
    sv_bl_project_y(p, w->vt);
    double dd = 0.0;
    for (int i = 0; i < n; i++)
        dd += (w->vt[i] - v[i]) * (w->vt[i] - v[i]);
    return sqrt(dd) / *gam;
}

/* psi_sigma(x) = f(x, ys) + (g(x, ys) - g(x, z)) / sigma from the inner solutions, and its
 * gradient into gx (full oracles). *gap gets the penalty term. */
static double psi_eval(pen_ws *w, const double *x, const double *ys, const double *z,
                       double sigma, double *gx, double *gap)
{
    const sv_bl_problem *p = w->p;
    double f = sv_bl_upper(p, x, ys, NULL, gx, NULL, w->work);
    double gys = sv_bl_lower(p, x, ys, NULL, w->tx, NULL, w->work);
    if (gx)
        sv_axpy(w->dx, 1.0 / sigma, w->tx, gx);
    double gz = sv_bl_lower(p, x, z, NULL, w->tx, NULL, w->work);
    if (gx)
        sv_axpy(w->dx, -1.0 / sigma, w->tx, gx);
    w->upper_grads++;
    w->lower_grads += 2;
    *gap = (gys - gz) / sigma;
    w->gscale = fabs(gys) + fabs(gz);
    return f + *gap;
}

/* A secant estimate of psi_sigma's smoothness at x0: gradients (with accurate inner solves) at
 * x0 and at a small step along the negative gradient. z, ys are left at the x0 solutions. NaN
 * once L says stop. *Ly (may be NULL) gets the secant of y*(x) along the same step,
 * |z*(x0 + d) - z*(x0)| / |d| (NaN where the estimate fails). */
static double secant_smoothness(pen_ws *w, const double *x0, double *z, double *ys,
                                double sigma, double gam, const penalty_settings *s, sv_loop *L,
                                double *Ly)
{
    if (Ly)
        *Ly = NAN;
    const int dx = w->dx, dy = w->dy;
    double gz = gam, gy = gam, gap;
    inner_solve(w, x0, z, 0.0, &gz, 10 * s->inner_iters, 1e-10, L);
    inner_solve(w, x0, ys, sigma, &gy, 10 * s->inner_iters, 1e-10, L);
    if (sv_loop_stopped(L))
        return NAN;
    psi_eval(w, x0, ys, z, sigma, w->fx0, &gap);
    double gn = sv_nrm2(dx, w->fx0);
    if (!(gn > 0) || !isfinite(gn))
        return NAN;
    double delta = 1e-3 * (1.0 + sv_nrm2(dx, x0));
    for (int j = 0; j < dx; j++)
        w->xt[j] = x0[j] - delta * w->fx0[j] / gn;
    sv_copy(dy, z, w->zt);
    sv_copy(dy, ys, w->yst);
    gz = gy = gam;
    inner_solve(w, w->xt, w->zt, 0.0, &gz, 10 * s->inner_iters, 1e-10, L);
    inner_solve(w, w->xt, w->yst, sigma, &gy, 10 * s->inner_iters, 1e-10, L);
    if (sv_loop_stopped(L))
        return NAN;
    psi_eval(w, w->xt, w->yst, w->zt, sigma, w->gx, &gap);
    if (Ly) {
        double dz = 0.0;
        for (int i = 0; i < dy; i++)
            dz += (w->zt[i] - z[i]) * (w->zt[i] - z[i]);
        *Ly = sqrt(dz) / delta;
    }
    double dg = 0.0;
    for (int j = 0; j < dx; j++)
        dg += (w->gx[j] - w->fx0[j]) * (w->gx[j] - w->fx0[j]);
    return sqrt(dg) / delta;
}

/* The single loop's three directions at the point (x, y, z) on the sample (pl, pu): vz =
 * grad_y g(x, z), vy = grad_y g(x, y) + sigma grad_y f(x, y), vx = grad_x f(x, y) +
 * (grad_x g(x, y) - grad_x g(x, z)) / sigma. For the row-free classes "the same sample" is the
 * same noise draw: both lower calls start from the generator state r0 (*rng is left after the
 * upper call, so the caller can replay the whole sample at another point). Returns the penalty
 * term (g(x, y) - g(x, z)) / sigma on the sample. */
/* This iteration's lower and upper batches into *bl, *bu; *pl, *pu point at them, or are NULL
 * (the full sets) where the batch size is 0. Lower is drawn first: the rng order of every run. */
static void draw_batches(const sv_bl_problem *p, const penalty_settings *s, pen_ws *w,
                         sv_rng *rng, sv_bl_batch *bl, sv_bl_batch *bu, const sv_bl_batch **pl,
                         const sv_bl_batch **pu)
{
    *bl = (sv_bl_batch){w->il, 0, rng};
    *bu = (sv_bl_batch){w->iu, 0, rng};
    *pl = *pu = NULL;
    if (s->batch_lower > 0) {
        bl->k = p->n_lower > 0 ? sv_bl_draw_batch(p, SV_BL_LOWER, (int)s->batch_lower, rng, w->il)
                               : (int)s->batch_lower;
        *pl = bl;
    }
    if (s->batch_upper > 0) {
        bu->k = p->n_upper > 0 ? sv_bl_draw_batch(p, SV_BL_UPPER, (int)s->batch_upper, rng, w->iu)
                               : (int)s->batch_upper;
        *pu = bu;
    }
}

static double sl_directions(pen_ws *w, const double *x, const double *y, const double *z,
                            double sigma, const sv_bl_batch *pl, const sv_bl_batch *pu,
                            sv_rng *rng, sv_rng r0, double *vx, double *vy, double *vz)
{
    const sv_bl_problem *p = w->p;
    *rng = r0;
    double gz = sv_bl_lower(p, x, z, pl, w->sx, vz, w->work);
    *rng = r0;
    double gy = sv_bl_lower(p, x, y, pl, vx, vy, w->work);
    sv_axpy(w->dx, -1.0, w->sx, vx);
    sv_scal(w->dx, 1.0 / sigma, vx);
    sv_bl_upper(p, x, y, pu, w->sx, w->sy, w->work);
    sv_axpy(w->dx, 1.0, w->sx, vx);
    sv_axpy(w->dy, sigma, w->sy, vy);
    w->lower_grads += 2;
    w->upper_grads += 1;
    return (gy - gz) / sigma;
}

/* The full-oracle values of a report at (x, z); with exact, also the exact F(x) and |grad F(x)|
 * (a lower solve to 1e-10 that polls L: NaN once it says stop). */
static void measure(pen_state *st, const double *x, const double *z, int exact, sv_loop *L)
{
    pen_ws *w = st->w;
    const sv_bl_problem *p = w->p;
    st->fz = sv_bl_upper(p, x, z, NULL, NULL, NULL, w->work);
    st->lres = sv_bl_lower_residual(p, x, z, w->work);
    st->F = st->hg = st->derr = NAN;
    if (!exact)
        return;
    sv_bl_exact_metrics(p, x, z, w->vt, w->tx, w->work, &st->F, &st->hg, L);
    if (st->have_dir && !sv_loop_stopped(L)) {
        /* the last x direction h_x (taken at xp, yp, zp) against the full-oracle v_x there:
         * grad_x f + (grad_x g(xp, yp) - grad_x g(xp, zp)) / sigma (into gx) */
        sv_bl_upper(p, w->xp, w->yp, NULL, w->gx, NULL, w->work);
        sv_bl_lower(p, w->xp, w->yp, NULL, w->tx, NULL, w->work);
        sv_axpy(w->dx, 1.0 / st->sigma, w->tx, w->gx);
        sv_bl_lower(p, w->xp, w->zp, NULL, w->tx, NULL, w->work);
        sv_axpy(w->dx, -1.0 / st->sigma, w->tx, w->gx);
        double d = 0.0;
        for (int j = 0; j < w->dx; j++)
            d += (w->hx[j] - w->gx[j]) * (w->hx[j] - w->gx[j]);
        st->derr = sqrt(d);
    }
}

/* The metrics of a report (core/control.h). upper_objective is the exact F(x), the report's
 * objective too (NaN without exact_metrics); upper_at_z is f(x, z) at the method's z. */
static int metrics(void *ctx, sv_metric *m, int cap)
{
    const pen_state *st = ctx;
    if (cap < 10)
        return 0;
    m[0] = (sv_metric){"upper_objective", st->F};
    m[1] = (sv_metric){"hypergrad_norm", st->hg};
    m[2] = (sv_metric){"psi_grad_norm", st->psi_gn};
    m[3] = (sv_metric){"lower_residual", st->lres};
    m[4] = (sv_metric){"penalty_gap", st->gap};
    m[5] = (sv_metric){"sigma", st->sigma};
    m[6] = (sv_metric){"upper_at_z", st->fz};
    m[7] = (sv_metric){"upper_grads", (double)st->w->upper_grads};
    m[8] = (sv_metric){"lower_grads", (double)st->w->lower_grads};
    m[9] = (sv_metric){"x_direction_error", st->derr};
    return 10;
}

/* ================================ solve ================================ */

int penalty_solve(const sv_bl_problem *p, const penalty_settings *s, const sv_monitor *mon,
                     double *x, double *y, double *ys_out, penalty_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->sigma = info->alpha = info->gamma = info->psi_grad_norm = NAN;
    info->penalty_gap = info->lower_residual = info->hypergrad_norm = info->F = NAN;
    info->y_sensitivity = NAN;
    int rc;
    if ((rc = check_problem(p, e)) != SV_OK || (rc = penalty_check_settings(s, e)) != SV_OK)
        return rc;
    if ((rc = sv_bl_check_start(p, x, y, e)) != SV_OK)
        return rc;

    pen_ws w;
    pen_state st = {.w = &w, .fz = NAN, .lres = NAN, .F = NAN, .hg = NAN, .psi_gn = NAN,
                    .gap = NAN, .sigma = s->sigma, .derr = NAN, .have_dir = 0};
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &st);
    if (ws_alloc(&w, p, s) != SV_OK)
        return SV_ENOMEM;
    const int dx = p->dx, dy = p->dy;
    double *ys = ys_out ? ys_out : NULL;
    double *ys_own = NULL;
    if (!ys) {
        ys_own = malloc((size_t)dy * sizeof *ys_own);
        if (!ys_own) {
            ws_free(&w);
            return SV_ENOMEM;
        }
        ys = ys_own;
    }
    double *z = y;  /* the lower-level estimate is returned in y */
    sv_bl_project_x(p, x);
    sv_bl_project_y(p, z);
    sv_copy(dy, z, ys);

    double Lg = sv_bl_lower_L(p, x);
    double gam = !isnan(s->gamma) ? s->gamma : (isfinite(Lg) && Lg > 0 ? 1.0 / Lg : 1.0);
    info->gamma = gam;
    w.gam_max = gam;
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    const long every = s->ctl.report_every;
    long k = 0;
    double psi_gn = NAN, gap = NAN, sigma = s->sigma, alpha = s->alpha;
    double gz = gam, gy = gam;

    if (s->variant == BLP_VARIANT_DOUBLE_LOOP) {
        const int auto_alpha = isnan(s->alpha);
        if (auto_alpha)
            alpha = 1.0;
        inner_solve(&w, x, z, 0.0, &gz, s->inner_iters, s->inner_tol, &L);
        inner_solve(&w, x, ys, sigma, &gy, s->inner_iters, s->inner_tol, &L);
        double psi = psi_eval(&w, x, ys, z, sigma, w.gx, &gap);
        for (;; k++) {
            /* gradient mapping at the current step */
            for (int j = 0; j < dx; j++)
                w.xt[j] = x[j] - alpha * w.gx[j];
            sv_bl_project_x(p, w.xt);
            double dn = 0.0;
            for (int j = 0; j < dx; j++)
                dn += (w.xt[j] - x[j]) * (w.xt[j] - x[j]);
            psi_gn = sqrt(dn) / alpha;
            st.psi_gn = psi_gn;
            st.gap = gap;
            int diverged = !isfinite(psi) || !isfinite(psi_gn) || sv_nrminf(dx, x) > BLP_DIVERGED_X;
            int solved = psi_gn <= s->ctl.tol;
            /* a report iteration measures before the loop's check sends it */
            if (!diverged && !solved && !sv_loop_stopped(&L) && k % every == 0)
                measure(&st, x, z, s->exact_metrics, &L);
            if (sv_loop_check(&L, k, st.F, diverged, solved))
                break;
            /* a projected gradient step on psi_sigma, backtracking when alpha is automatic; a
             * stop asked meanwhile leaves x at x_k */
            double psit = psi, gapt = gap;
            int first_try = 1;
            for (;;) {
                if (sv_loop_poll(&L))
                    break;
                for (int j = 0; j < dx; j++)
                    w.xt[j] = x[j] - alpha * w.gx[j];
                sv_bl_project_x(p, w.xt);
                double dd = 0.0, gd = 0.0;
                for (int j = 0; j < dx; j++) {
                    double dj = w.xt[j] - x[j];
                    dd += dj * dj;
                    gd += w.gx[j] * dj;
                }
                sv_copy(dy, z, w.zt);
                sv_copy(dy, ys, w.yst);
                double gz_t = gz, gy_t = gy;
                inner_solve(&w, w.xt, w.zt, 0.0, &gz_t, s->inner_iters, s->inner_tol, &L);
                inner_solve(&w, w.xt, w.yst, sigma, &gy_t, s->inner_iters, s->inner_tol, &L);
                if (sv_loop_stopped(&L))
                    break;
                psit = psi_eval(&w, w.xt, w.yst, w.zt, sigma, NULL, &gapt);
                /* psi carries the rounding of g(x, y_s) - g(x, z) divided by sigma: a decrease
                 * below that floor cannot be told from noise, so it passes */
                double noise = BLP_PSI_ROUNDING * (1.0 + fabs(psi) + w.gscale / sigma);
                int ok = !auto_alpha || psit <= psi + gd + dd / (2 * alpha) ||
                         alpha < BLP_MIN_STEP;
                if (!ok && fabs(gd) <= noise) {
                    /* on the noise floor the values cannot judge the step: the gradient mapping
                     * at the trial point must shrink instead */
                    double gapx;
                    psi_eval(&w, w.xt, w.yst, w.zt, sigma, w.fx0, &gapx);
                    double dm = 0.0;
                    for (int j = 0; j < dx; j++) {
                        double tj = w.xt[j] - alpha * w.fx0[j];
                        double lo = p->x_lo ? p->x_lo[j] : -INFINITY;
                        double hi = p->x_hi ? p->x_hi[j] : INFINITY;
                        tj = tj < lo ? lo : tj > hi ? hi : tj;
                        dm += (tj - w.xt[j]) * (tj - w.xt[j]);
                    }
                    ok = sqrt(dm) / alpha < psi_gn;
                    first_try = 0;
                }
                if (ok) {
                    gz = gz_t;
                    gy = gy_t;
                    break;
                }
                alpha *= 0.5;
                first_try = 0;
            }
            if (sv_loop_stopped(&L))
                break;
            sv_copy(dx, w.xt, x);
            sv_copy(dy, w.zt, z);
            sv_copy(dy, w.yst, ys);
            psi = psi_eval(&w, x, ys, z, sigma, w.gx, &gap);
            if (auto_alpha && first_try)
                alpha *= BLP_STEP_GROW;
        }
    } else if (s->variant == BLP_VARIANT_SINGLE_LOOP) {
        /* ---- the paper's single loop: STORM estimators at a fixed sigma ---- */
        if (isnan(alpha)) {
            /* 1 / L_psi, and two time scales: x may move only as fast as y and z can follow.
             * A step of x moves y*(x) by L_y times as much, and the tracking error re-enters
             * the x direction divided by sigma, hence alpha <= ratio gamma sigma / L_y^2. */
            double Ly;
            double Lpsi = secant_smoothness(&w, x, z, ys, sigma, gam, s, &L, &Ly);
            alpha = isfinite(Lpsi) && Lpsi > 0 ? 1.0 / Lpsi : 1e-3;
            double ratio = isnan(s->step_ratio) ? BLP_SL_STEP_RATIO : s->step_ratio;
            double ly2 = isfinite(Ly) && Ly > 0 ? fmax(Ly * Ly, 1e-12) : 1.0;
            alpha = fmin(alpha, ratio * gam * sigma / ly2);
            info->y_sensitivity = Ly;
        }
        for (;; k++) {
            st.psi_gn = psi_gn;
            st.gap = gap;
            int diverged = !sv_all_finite(dx, x) || !sv_all_finite(dy, z) ||
                           !sv_all_finite(dy, ys) || sv_nrminf(dx, x) > BLP_DIVERGED_X;
            if (!diverged && !sv_loop_stopped(&L) && k % every == 0)
                measure(&st, x, z, s->exact_metrics, &L);
            if (sv_loop_check(&L, k, st.F, diverged, 0))
                break;
            double sk = s->decay_k0 > 0 ? cbrt(1.0 / (1.0 + (double)k / s->decay_k0)) : 1.0;
            double eta = fmin(1.0, s->momentum * sk * sk);
            /* one sample xi_k for the three directions */
            sv_bl_batch bl, bu;
            const sv_bl_batch *pl, *pu;
            draw_batches(p, s, &w, &rng, &bl, &bu, &pl, &pu);
            sv_rng r0 = rng;
            gap = sl_directions(&w, x, ys, z, sigma, pl, pu, &rng, r0, w.vx, w.vy, w.vz);
            if (k == 0 || eta >= 1.0) {
                sv_copy(dx, w.vx, w.hx);
                sv_copy(dy, w.vy, w.hy);
                sv_copy(dy, w.vz, w.hz);
            } else {
                /* h = v(p_k) + (1 - eta) (h - v(p_{k-1})), the same sample at both points */
                sv_rng r1 = rng;
                sl_directions(&w, w.xp, w.yp, w.zp, sigma, pl, pu, &rng, r0, w.ux, w.uy,
                              w.uz);
                rng = r1;
                for (int j = 0; j < dx; j++)
                    w.hx[j] = w.vx[j] + (1.0 - eta) * (w.hx[j] - w.ux[j]);
                for (int i = 0; i < dy; i++) {
                    w.hy[i] = w.vy[i] + (1.0 - eta) * (w.hy[i] - w.uy[i]);
                    w.hz[i] = w.vz[i] + (1.0 - eta) * (w.hz[i] - w.uz[i]);
                }
            }
            psi_gn = sv_nrm2(dx, w.hx);
            sv_copy(dx, x, w.xp);
            sv_copy(dy, ys, w.yp);
            sv_copy(dy, z, w.zp);
            st.have_dir = 1;
            sv_axpy(dy, -gam * sk, w.hz, z);
            sv_bl_project_y(p, z);
            sv_axpy(dy, -gam * sk, w.hy, ys);
            sv_bl_project_y(p, ys);
            sv_axpy(dx, -alpha * sk, w.hx, x);
            sv_bl_project_x(p, x);
        }
    } else {
        /* ---- sgd: the baseline with a decreasing sigma_k (not the paper's algorithm) ---- */
        if (isnan(alpha)) {
            double Lpsi = secant_smoothness(&w, x, z, ys, sigma, gam, s, &L, NULL);
            alpha = isfinite(Lpsi) && Lpsi > 0 ? 1.0 / Lpsi : 1e-3;
        }
        for (;; k++) {
            double sk = fmax(s->sigma, s->sigma0 / pow((double)k + 1.0, s->sigma_decay));
            sigma = sk;
            st.sigma = sk;
            st.psi_gn = psi_gn;
            st.gap = gap;
            int diverged = !sv_all_finite(dx, x) || !sv_all_finite(dy, z) ||
                           !sv_all_finite(dy, ys) || sv_nrminf(dx, x) > BLP_DIVERGED_X;
            if (!diverged && !sv_loop_stopped(&L) && k % every == 0)
                measure(&st, x, z, s->exact_metrics, &L);
            if (sv_loop_check(&L, k, st.F, diverged, 0))
                break;
            sv_bl_batch bl, bu;
            const sv_bl_batch *pl, *pu;
            draw_batches(p, s, &w, &rng, &bl, &bu, &pl, &pu);
            /* z step, then the y step on sigma_k f + g with the same lower samples, so that
             * the noise common to both steps leaves y - z (which grad psi divides by sigma)
             * alone */
            sv_rng replay = rng;
            sv_bl_lower(p, x, z, pl, NULL, w.gy, w.work);
            sv_axpy(dy, -gam, w.gy, z);
            sv_bl_project_y(p, z);
            rng = replay;
            sv_bl_lower(p, x, ys, pl, NULL, w.gy, w.work);
            sv_bl_upper(p, x, ys, pu, NULL, w.ty, w.work);
            sv_axpy(dy, sk, w.ty, w.gy);
            sv_axpy(dy, -gam, w.gy, ys);
            sv_bl_project_y(p, ys);
            w.lower_grads += 2;
            w.upper_grads += 1;
            /* x step */
            if (pl && p->n_lower > 0)
                bl.k = sv_bl_draw_batch(p, SV_BL_LOWER, (int)s->batch_lower, &rng, w.il);
            if (pu && p->n_upper > 0)
                bu.k = sv_bl_draw_batch(p, SV_BL_UPPER, (int)s->batch_upper, &rng, w.iu);
            sv_bl_upper(p, x, ys, pu, w.gx, NULL, w.work);
            /* the same samples for both grad_x g terms: for the row-free classes that means the
             * same noise draw, so the generator state is replayed */
            replay = rng;
            double gys = sv_bl_lower(p, x, ys, pl, w.tx, NULL, w.work);
            sv_axpy(dx, 1.0 / sk, w.tx, w.gx);
            rng = replay;
            double gzv = sv_bl_lower(p, x, z, pl, w.tx, NULL, w.work);
            sv_axpy(dx, -1.0 / sk, w.tx, w.gx);
            w.upper_grads += 1;
            w.lower_grads += 2;
            gap = (gys - gzv) / sk;
            psi_gn = sv_nrm2(dx, w.gx);
            /* two time scales: x may move only as fast as y and z can follow, alpha_k <=
             * step_ratio gamma sigma_k */
            double ak =
                fmin(alpha, (isnan(s->step_ratio) ? BLP_SGD_STEP_RATIO : s->step_ratio) * gam * sk);
            sv_axpy(dx, -ak, w.gx, x);
            sv_bl_project_x(p, x);
        }
    }

    info->sigma = sigma;
    info->alpha = alpha;
    info->psi_grad_norm = psi_gn;
    info->penalty_gap = gap;
    info->upper_grads = w.upper_grads;
    info->lower_grads = w.lower_grads;
    info->inner_steps = w.inner_steps;
    /* The final values (the final report's and info's). The solve has ended, so the exact
     * metrics poll a copy of the loop that only the monitor and the time limit can stop: a
     * cancel or an expired time limit leaves F and hg NaN instead of waiting for a lower solve. */
    st.sigma = sigma;
    st.psi_gn = psi_gn;
    st.gap = gap;
    sv_loop fin = L;
    fin.status = SV_UNSOLVED;
    measure(&st, x, z, s->exact_metrics, &fin);
    info->lower_residual = st.lres;
    info->F = st.F;
    info->hypergrad_norm = st.hg;
    sv_loop_end(&L, &info->base, k, st.F, psi_gn);
    free(ys_own);
    ws_free(&w);
    return SV_OK;
}
