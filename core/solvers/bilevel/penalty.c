/* penalty.c - the penalty method of Kwon, Kwon, Wright, Nowak (ICLR 2024) on the oracles of
 * core/models/bilevel.h; see penalty.h for the reformulation and docs/solvers/bilevel/penalty.md for
 * the choices made where the paper leaves a detail open.
 *
 * Double loop, iteration k at x_k (warm starts z, y_s from the previous iteration):
 *   z   <- projected gradient on g(x_k, .) over Y until its gradient mapping <= inner_tol
 *   y_s <- projected gradient on sigma f(x_k, .) + g(x_k, .) over Y, likewise
 *   x_{k+1} = P_X(x_k - alpha grad psi_sigma(x_k)), alpha halved until psi_sigma decreases by the
 *   usual sufficient-decrease test of projected gradient, then doubled for the next try.
 * Single loop, iteration k with fresh mini-batches and sigma_k = max(sigma, sigma0/(k+1)^decay):
 *   z <- P_Y(z - gamma grad_y g(x, z))
 *   y <- P_Y(y - gamma (grad_y g(x, y) + sigma_k grad_y f(x, y)))
 *   x <- P_X(x - alpha_k (grad_x f(x, y) + (grad_x g(x, y) - grad_x g(x, z)) / sigma_k))
 * with alpha_k = min(alpha, step_ratio gamma sigma_k). The z and y steps share one lower batch and
 * the two grad_x g terms another, so that the noise common to a pair cancels in y - z, the
 * quantity that grad psi_sigma divides by sigma. */
#include "core/solvers/bilevel/penalty.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const sv_bl_problem *p;
    int dx, dy;
    double *xt, *gx, *tx, *zt, *yst, *gy, *ty, *vt, *fx0;
    double *work;             /* sv_bl_work_size(p) */
    int *iu, *il;             /* batch indices */
    long upper_grads, lower_grads, inner_steps;
    double gscale;            /* |g(x, y_s)| + |g(x, z)| at the last psi evaluation */
    double gam_max;           /* the inner steps never exceed this (1 / L_g) */
} pen_ws;

static int check_problem(const sv_bl_problem *p, sv_err *e);
static int ws_alloc(pen_ws *w, const sv_bl_problem *p, const penalty_settings *s);
static void ws_free(pen_ws *w);
static double inner_solve(pen_ws *w, const double *x, double *v, double wf, double *gam,
                          long max_iter, double tol);
static double psi_eval(pen_ws *w, const double *x, const double *ys, const double *z,
                       double sigma, double *gx, double *gap);
static double secant_smoothness(pen_ws *w, const double *x0, double *z, double *ys,
                                double sigma, double gam, const penalty_settings *s);
static int report(const sv_monitor *mon, long iter, double elapsed, pen_ws *w, const double *x,
                  const double *z, double sigma, double psi_gn, double gap, int exact,
                  double *F_out, double *hg_out);

/* ================================ settings ================================ */

void penalty_settings_default(penalty_settings *s)
{
    s->variant = BLP_DEFAULT_VARIANT;
    s->sigma = BLP_DEFAULT_SIGMA;
    s->sigma0 = BLP_DEFAULT_SIGMA0;
    s->sigma_decay = BLP_DEFAULT_SIGMA_DECAY;
    s->alpha = NAN;
    s->gamma = NAN;
    s->inner_iters = BLP_DEFAULT_INNER_ITERS;
    s->inner_tol = BLP_DEFAULT_INNER_TOL;
    s->batch_upper = BLP_DEFAULT_BATCH;
    s->batch_lower = BLP_DEFAULT_BATCH;
    s->tol = BLP_DEFAULT_TOL;
    s->max_iter = BLP_DEFAULT_MAX_ITER;
    s->time_limit_s = 0.0;
    s->report_every = BLP_DEFAULT_REPORT_EVERY;
    s->exact_metrics = 1;
    s->step_ratio = BLP_DEFAULT_STEP_RATIO;
    s->seed = BLP_DEFAULT_SEED;
}

int penalty_check_settings(const penalty_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    if (s->variant != BLP_VARIANT_DOUBLE_LOOP && s->variant != BLP_VARIANT_SINGLE_LOOP)
        return sv_fail(e, "/params/variant", "must be \"double_loop\" or \"single_loop\"");
    if (!(isfinite(s->sigma) && s->sigma > 0))
        return sv_fail(e, "/params/sigma", "must be a positive finite number");
    if (!(isfinite(s->sigma0) && s->sigma0 > 0))
        return sv_fail(e, "/params/sigma0", "must be a positive finite number");
    if (!(isfinite(s->sigma_decay) && s->sigma_decay >= 0))
        return sv_fail(e, "/params/sigma_decay", "must be a finite number >= 0");
    if (!isnan(s->alpha) && !(isfinite(s->alpha) && s->alpha > 0))
        return sv_fail(e, "/params/alpha", "must be a positive finite number or null");
    if (!isnan(s->gamma) && !(isfinite(s->gamma) && s->gamma > 0))
        return sv_fail(e, "/params/gamma", "must be a positive finite number or null");
    if (s->inner_iters < 1)
        return sv_fail(e, "/params/inner_iters", "must be at least 1");
    if (!(isfinite(s->inner_tol) && s->inner_tol >= 0))
        return sv_fail(e, "/params/inner_tol", "must be a finite number >= 0");
    if (s->batch_upper < 0 || s->batch_upper > 1000000000L)
        return sv_fail(e, "/params/batch_upper", "must be in [0, 1e9] (0: full)");
    if (s->batch_lower < 0 || s->batch_lower > 1000000000L)
        return sv_fail(e, "/params/batch_lower", "must be in [0, 1e9] (0: full)");
    if (!(isfinite(s->tol) && s->tol >= 0))
        return sv_fail(e, "/params/tol", "must be a finite number >= 0");
    if (s->max_iter < 0)
        return sv_fail(e, "/params/max_iter", "must be >= 0");
    if (!(isfinite(s->time_limit_s) && s->time_limit_s >= 0))
        return sv_fail(e, "/params/time_limit_s", "must be a finite number >= 0 (0: no limit)");
    if (s->report_every < 1)
        return sv_fail(e, "/params/report_every", "must be at least 1");
    if (!(isfinite(s->step_ratio) && s->step_ratio > 0))
        return sv_fail(e, "/params/step_ratio", "must be a positive finite number");
    return SV_OK;
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
    size_t total = 4 * (size_t)p->dx + 5 * (size_t)p->dy + nw;
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
    w->work = w->vt + dy;
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
 * the last gradient-mapping norm. */
static double inner_solve(pen_ws *w, const double *x, double *v, double wf, double *gam,
                          long max_iter, double tol)
{
    const sv_bl_problem *p = w->p;
    const int n = w->dy;
    double gm = INFINITY;
    double hv = h_eval(w, x, v, wf, w->gy);
    for (long it = 0; it < max_iter; it++) {
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
 * x0 and at a small step along the negative gradient. z, ys are left at the x0 solutions. */
static double secant_smoothness(pen_ws *w, const double *x0, double *z, double *ys,
                                double sigma, double gam, const penalty_settings *s)
{
    const int dx = w->dx, dy = w->dy;
    double gz = gam, gy = gam, gap;
    inner_solve(w, x0, z, 0.0, &gz, 10 * s->inner_iters, 1e-10);
    inner_solve(w, x0, ys, sigma, &gy, 10 * s->inner_iters, 1e-10);
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
    inner_solve(w, w->xt, w->zt, 0.0, &gz, 10 * s->inner_iters, 1e-10);
    inner_solve(w, w->xt, w->yst, sigma, &gy, 10 * s->inner_iters, 1e-10);
    psi_eval(w, w->xt, w->yst, w->zt, sigma, w->gx, &gap);
    double dg = 0.0;
    for (int j = 0; j < dx; j++)
        dg += (w->gx[j] - w->fx0[j]) * (w->gx[j] - w->fx0[j]);
    return sqrt(dg) / delta;
}

static int report(const sv_monitor *mon, long iter, double elapsed, pen_ws *w, const double *x,
                  const double *z, double sigma, double psi_gn, double gap, int exact,
                  double *F_out, double *hg_out)
{
    const sv_bl_problem *p = w->p;
    double fz = sv_bl_upper(p, x, z, NULL, NULL, NULL, w->work);
    double lres = sv_bl_lower_residual(p, x, z, w->work);
    double F = NAN, hg = NAN;
    if (exact)
        sv_bl_exact_metrics(p, x, z, w->vt, w->tx, w->work, &F, &hg, NULL);
    if (F_out)
        *F_out = F;
    if (hg_out)
        *hg_out = hg;
    sv_metric m[9] = {
        {"upper_objective", exact ? F : fz},
        {"hypergrad_norm", hg},
        {"psi_grad_norm", psi_gn},
        {"lower_residual", lres},
        {"penalty_gap", gap},
        {"sigma", sigma},
        {"upper_at_z", fz},
        {"upper_grads", (double)w->upper_grads},
        {"lower_grads", (double)w->lower_grads},
    };
    sv_progress pr = {iter, elapsed, fz, m, 9};
    return sv_monitor_report(mon, &pr);
}

/* ================================ solve ================================ */

int penalty_solve(const sv_bl_problem *p, const penalty_settings *s, const sv_monitor *mon,
                     double *x, double *y, double *ys_out, penalty_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    info->base.status = SV_UNSOLVED;
    info->base.obj = info->base.res = NAN;
    info->sigma = info->alpha = info->gamma = info->psi_grad_norm = NAN;
    info->penalty_gap = info->lower_residual = info->hypergrad_norm = info->F = NAN;
    int rc;
    if ((rc = check_problem(p, e)) != SV_OK || (rc = penalty_check_settings(s, e)) != SV_OK)
        return rc;
    if ((rc = sv_bl_check_start(p, x, y, e)) != SV_OK)
        return rc;

    double t0 = sv_now_s();
    pen_ws w;
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
    sv_status status = SV_UNSOLVED;
    long k = 0, last_report = -1;
    double psi_gn = NAN, gap = NAN, sigma = s->sigma, alpha = s->alpha;
    double gz = gam, gy = gam;

    if (s->variant == BLP_VARIANT_DOUBLE_LOOP) {
        const int auto_alpha = isnan(s->alpha);
        if (auto_alpha)
            alpha = 1.0;
        inner_solve(&w, x, z, 0.0, &gz, s->inner_iters, s->inner_tol);
        inner_solve(&w, x, ys, sigma, &gy, s->inner_iters, s->inner_tol);
        double psi = psi_eval(&w, x, ys, z, sigma, w.gx, &gap);
        for (;;) {
            /* gradient mapping at the current step */
            for (int j = 0; j < dx; j++)
                w.xt[j] = x[j] - alpha * w.gx[j];
            sv_bl_project_x(p, w.xt);
            double dn = 0.0;
            for (int j = 0; j < dx; j++)
                dn += (w.xt[j] - x[j]) * (w.xt[j] - x[j]);
            psi_gn = sqrt(dn) / alpha;
            if (!isfinite(psi) || !isfinite(psi_gn) || sv_nrminf(dx, x) > BLP_DIVERGED_X) {
                status = SV_DIVERGED;
                break;
            }
            if (psi_gn <= s->tol) {
                status = SV_SOLVED;
                break;
            }
            double now = sv_now_s();
            if (k % s->report_every == 0) {
                last_report = k;
                if (report(mon, k, now - t0, &w, x, z, sigma, psi_gn, gap, s->exact_metrics, NULL,
                           NULL)) {
                    status = SV_CANCELLED;
                    break;
                }
            }
            if (k >= s->max_iter) {
                status = SV_MAX_ITER;
                break;
            }
            if (s->time_limit_s > 0 && now - t0 >= s->time_limit_s) {
                status = SV_TIME_LIMIT;
                break;
            }
            /* a projected gradient step on psi_sigma, backtracking when alpha is automatic */
            double psit = psi, gapt = gap;
            int first_try = 1;
            for (;;) {
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
                inner_solve(&w, w.xt, w.zt, 0.0, &gz_t, s->inner_iters, s->inner_tol);
                inner_solve(&w, w.xt, w.yst, sigma, &gy_t, s->inner_iters, s->inner_tol);
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
            sv_copy(dx, w.xt, x);
            sv_copy(dy, w.zt, z);
            sv_copy(dy, w.yst, ys);
            psi = psi_eval(&w, x, ys, z, sigma, w.gx, &gap);
            if (auto_alpha && first_try)
                alpha *= BLP_STEP_GROW;
            k++;
        }
    } else {
        /* ---- single loop ---- */
        if (isnan(alpha)) {
            double L = secant_smoothness(&w, x, z, ys, sigma, gam, s);
            alpha = isfinite(L) && L > 0 ? 1.0 / L : 1e-3;
        }
        for (;;) {
            double sk = fmax(s->sigma, s->sigma0 / pow((double)k + 1.0, s->sigma_decay));
            sigma = sk;
            if (!sv_all_finite(dx, x) || !sv_all_finite(dy, z) || !sv_all_finite(dy, ys) ||
                sv_nrminf(dx, x) > BLP_DIVERGED_X) {
                status = SV_DIVERGED;
                break;
            }
            double now = sv_now_s();
            if (k % s->report_every == 0) {
                last_report = k;
                if (report(mon, k, now - t0, &w, x, z, sigma, psi_gn, gap, s->exact_metrics, NULL,
                           NULL)) {
                    status = SV_CANCELLED;
                    break;
                }
            }
            if (k >= s->max_iter) {
                status = SV_MAX_ITER;
                break;
            }
            if (s->time_limit_s > 0 && now - t0 >= s->time_limit_s) {
                status = SV_TIME_LIMIT;
                break;
            }
            /* batches: NULL (full) when the size is 0 */
            sv_bl_batch bl = {w.il, 0, &rng}, bu = {w.iu, 0, &rng};
            const sv_bl_batch *pl = NULL, *pu = NULL;
            if (s->batch_lower > 0) {
                bl.k = p->n_lower > 0 ? sv_bl_draw_batch(p, SV_BL_LOWER, (int)s->batch_lower,
                                                         &rng, w.il)
                                      : (int)s->batch_lower;
                pl = &bl;
            }
            if (s->batch_upper > 0) {
                bu.k = p->n_upper > 0 ? sv_bl_draw_batch(p, SV_BL_UPPER, (int)s->batch_upper,
                                                         &rng, w.iu)
                                      : (int)s->batch_upper;
                pu = &bu;
            }
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
            double ak = fmin(alpha, s->step_ratio * gam * sk);
            sv_axpy(dx, -ak, w.gx, x);
            sv_bl_project_x(p, x);
            k++;
        }
    }

    info->base.status = status;
    info->base.iter = k;
    info->base.res = psi_gn;
    info->base.obj = sv_bl_upper(p, x, z, NULL, NULL, NULL, w.work);
    info->sigma = sigma;
    info->alpha = alpha;
    info->psi_grad_norm = psi_gn;
    info->penalty_gap = gap;
    info->lower_residual = sv_bl_lower_residual(p, x, z, w.work);
    info->upper_grads = w.upper_grads;
    info->lower_grads = w.lower_grads;
    info->inner_steps = w.inner_steps;
    info->base.solve_time_s = sv_now_s() - t0;
    if (last_report != k || s->exact_metrics) {
        double F = NAN, hg = NAN;
        report(last_report != k ? mon : NULL, k, info->base.solve_time_s, &w, x, z, sigma,
               psi_gn, gap, s->exact_metrics, &F, &hg);
        info->F = F;
        info->hypergrad_norm = hg;
    }
    free(ys_own);
    ws_free(&w);
    return SV_OK;
}
