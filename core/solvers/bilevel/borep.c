/* borep.c - BO-REP (Hao, Gong, Liu, ICLR 2024) on the oracles of core/models/bilevel.h; the
 * iteration is in borep.h, the choices where the paper leaves a detail open in
 * docs/solvers/bilevel/borep.md. */
#include "core/solvers/bilevel/borep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const sv_bl_problem *p;
    int dx, dy;
    double *m, *est, *tx;            /* dx each */
    double *gy, *hz, *ys, *ybar;     /* dy each */
    double *work;                    /* sv_bl_work_size(p) */
    int *iu, *il;
    int ku, kl;                      /* batch sizes actually used (0: full) */
    sv_rng rng;
    long upper_grads, lower_grads, hvps;
} br_ws;

static int check_problem(const sv_bl_problem *p, sv_err *e);
static int ws_alloc(br_ws *w, const sv_bl_problem *p, const borep_settings *s);
static void ws_free(br_ws *w);
static const sv_bl_batch *draw(br_ws *w, sv_bl_level level, sv_bl_batch *b);
static void sgd_steps(br_ws *w, const double *x, double *y, double step, long n, double *avg);
static void epoch_sgd(br_ws *w, const double *x, double *y, double gamma, long epochs,
                      long steps);
static double z_residual(br_ws *w, const double *x, const double *y, const double *z);
static int report(const sv_monitor *mon, long iter, double elapsed, br_ws *w, const double *x,
                  const double *y, const double *z, double eta, int exact, double *F_out,
                  double *hg_out);

/* ================================ settings ================================ */

void borep_settings_default(borep_settings *s)
{
    s->eta = BOREP_DEFAULT_ETA;
    sv_schedule_default(&s->schedule);
    s->beta = BOREP_DEFAULT_BETA;
    s->gamma = NAN;
    s->nu = NAN;
    s->z_radius = 0.0;
    s->period = BOREP_DEFAULT_PERIOD;
    s->lower_steps = BOREP_DEFAULT_LOWER_STEPS;
    s->init_epochs = BOREP_DEFAULT_INIT_EPOCHS;
    s->init_steps = BOREP_DEFAULT_INIT_STEPS;
    s->batch_upper = BOREP_DEFAULT_BATCH;
    s->batch_lower = BOREP_DEFAULT_BATCH;
    s->tol = 0.0;
    s->max_iter = BOREP_DEFAULT_MAX_ITER;
    s->time_limit_s = 0.0;
    s->report_every = BOREP_DEFAULT_REPORT_EVERY;
    s->exact_metrics = 1;
    s->seed = 0;
}

int borep_check_settings(const borep_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    if (!(isfinite(s->eta) && s->eta > 0))
        return sv_fail(e, "/params/eta", "must be a positive finite number");
    if (!(isfinite(s->beta) && s->beta >= 0 && s->beta < 1))
        return sv_fail(e, "/params/beta", "must be in [0, 1)");
    if (!isnan(s->gamma) && !(isfinite(s->gamma) && s->gamma > 0))
        return sv_fail(e, "/params/gamma", "must be a positive finite number or null");
    if (!isnan(s->nu) && !(isfinite(s->nu) && s->nu > 0))
        return sv_fail(e, "/params/nu", "must be a positive finite number or null");
    if (!(isfinite(s->z_radius) && s->z_radius >= 0))
        return sv_fail(e, "/params/z_radius", "must be a finite number >= 0 (0: no projection)");
    if (s->period < 1)
        return sv_fail(e, "/params/period", "must be at least 1");
    if (s->lower_steps < 0)
        return sv_fail(e, "/params/lower_steps", "must be >= 0");
    if (s->init_epochs < 0 || s->init_epochs > 40)
        return sv_fail(e, "/params/init_epochs", "must be in [0, 40]");
    if (s->init_steps < 1)
        return sv_fail(e, "/params/init_steps", "must be at least 1");
    if (s->init_epochs > 0 && (double)s->init_steps * ldexp(1.0, (int)s->init_epochs) > 1e9)
        return sv_fail(e, "/params/init_epochs", "init_steps * 2^init_epochs exceeds 1e9 steps");
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
    return sv_schedule_check(&s->schedule, "/params/schedule", e);
}

static int check_problem(const sv_bl_problem *p, sv_err *e)
{
    if (!p || !p->ops || !p->ops->upper || !p->ops->lower || !p->ops->hvp_yy ||
        !p->ops->hvp_xy || p->dx < 1 || p->dy < 1)
        return sv_fail(e, "/problem", "problem missing or incomplete");
    if (p->n_con > 0)
        return sv_fail(e, "/problem/class", "BO-REP needs an unconstrained strongly convex lower "
                       "level; coupled constraints A x + B y <= b need bilevel.lvhba");
    return SV_OK;
}

/* ================================ workspace ================================ */

static int ws_alloc(br_ws *w, const sv_bl_problem *p, const borep_settings *s)
{
    memset(w, 0, sizeof *w);
    w->p = p;
    w->dx = p->dx;
    w->dy = p->dy;
    const size_t dx = (size_t)p->dx, dy = (size_t)p->dy;
    size_t nw = sv_bl_work_size(p);
    double *b = calloc(3 * dx + 4 * dy + nw, sizeof *b);
    /* batch sizes: clamped to the rows; rowless classes keep k for the noise scale */
    w->ku = (int)(p->n_upper > 0 && s->batch_upper > p->n_upper ? p->n_upper : s->batch_upper);
    w->kl = (int)(p->n_lower > 0 && s->batch_lower > p->n_lower ? p->n_lower : s->batch_lower);
    w->iu = malloc((size_t)(w->ku > 0 ? w->ku : 1) * sizeof *w->iu);
    w->il = malloc((size_t)(w->kl > 0 ? w->kl : 1) * sizeof *w->il);
    if (!b || !w->iu || !w->il) {
        free(b);
        free(w->iu);
        free(w->il);
        memset(w, 0, sizeof *w);
        return SV_ENOMEM;
    }
    w->m = b;
    w->est = w->m + dx;
    w->tx = w->est + dx;
    w->gy = w->tx + dx;
    w->hz = w->gy + dy;
    w->ys = w->hz + dy;
    w->ybar = w->ys + dy;
    w->work = w->ybar + dy;
    sv_rng_seed(&w->rng, s->seed);
    return SV_OK;
}

static void ws_free(br_ws *w)
{
    free(w->m);
    free(w->iu);
    free(w->il);
    memset(w, 0, sizeof *w);
}

/* ================================ numerics ================================ */

/* A fresh batch of the level (NULL: the full oracle when the batch size is 0). */
static const sv_bl_batch *draw(br_ws *w, sv_bl_level level, sv_bl_batch *b)
{
    const sv_bl_problem *p = w->p;
    int k = level == SV_BL_UPPER ? w->ku : w->kl;
    int n = level == SV_BL_UPPER ? p->n_upper : p->n_lower;
    int *idx = level == SV_BL_UPPER ? w->iu : w->il;
    if (k <= 0)
        return NULL;
    b->idx = idx;
    b->rng = &w->rng;
    b->k = n > 0 ? sv_bl_draw_batch(p, level, k, &w->rng, idx) : k;
    return b;
}

/* n SGD steps on g(x, .) from y with a constant step; avg (may be NULL) gets the mean iterate. */
static void sgd_steps(br_ws *w, const double *x, double *y, double step, long n, double *avg)
{
    const sv_bl_problem *p = w->p;
    if (avg)
        sv_zero(w->dy, avg);
    for (long t = 0; t < n; t++) {
        sv_bl_batch b;
        const sv_bl_batch *pb = draw(w, SV_BL_LOWER, &b);
        sv_bl_lower(p, x, y, pb, NULL, w->gy, w->work);
        w->lower_grads++;
        sv_axpy(w->dy, -step, w->gy, y);
        sv_bl_project_y(p, y);
        if (avg)
            sv_axpy(w->dy, 1.0 / n, y, avg);
    }
}

/* Initialization refinement by Epoch-SGD (Hazan and Kale): epoch k runs steps * 2^(k-1) SGD
 * steps with step gamma / 2^(k-1) from the previous epoch's average, and hands on its own
 * average. */
static void epoch_sgd(br_ws *w, const double *x, double *y, double gamma, long epochs,
                      long steps)
{
    double step = gamma;
    long n = steps;
    for (long k = 0; k < epochs; k++) {
        sgd_steps(w, x, y, step, n, w->ybar);
        sv_copy(w->dy, w->ybar, y);
        n *= 2;
        step *= 0.5;
    }
}

/* |grad^2_yy g(x, y) z - grad_y f(x, y)| over all rows. */
static double z_residual(br_ws *w, const double *x, const double *y, const double *z)
{
    const sv_bl_problem *p = w->p;
    sv_bl_hvp_yy(p, x, y, z, NULL, w->hz, w->work);
    sv_bl_upper(p, x, y, NULL, NULL, w->gy, w->work);
    sv_axpy(w->dy, -1.0, w->gy, w->hz);
    return sv_nrm2(w->dy, w->hz);
}

static int report(const sv_monitor *mon, long iter, double elapsed, br_ws *w, const double *x,
                  const double *y, const double *z, double eta, int exact, double *F_out,
                  double *hg_out)
{
    const sv_bl_problem *p = w->p;
    double fy = sv_bl_upper(p, x, y, NULL, NULL, NULL, w->work);
    double lres = sv_bl_lower_residual(p, x, y, w->work);
    double zres = z_residual(w, x, y, z);
    double F = NAN, hg = NAN;
    if (exact)
        sv_bl_exact_metrics(p, x, y, w->ys, w->tx, w->work, &F, &hg, NULL);
    if (F_out)
        *F_out = F;
    if (hg_out)
        *hg_out = hg;
    sv_metric m[9] = {
        {"upper_objective", exact ? F : fy},
        {"hypergrad_norm", hg},
        {"momentum_norm", sv_nrm2(w->dx, w->m)},
        {"lower_residual", lres},
        {"z_residual", zres},
        {"eta", eta},
        {"upper_at_y", fy},
        {"lower_grads", (double)w->lower_grads},
        {"hvps", (double)w->hvps},
    };
    sv_progress pr = {iter, elapsed, fy, m, 9};
    return sv_monitor_report(mon, &pr);
}

/* ================================ solve ================================ */

int borep_solve(const sv_bl_problem *p, const borep_settings *s, const sv_monitor *mon,
                double *x, double *y, double *z_out, borep_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    info->base.status = SV_UNSOLVED;
    info->base.obj = info->base.res = NAN;
    info->momentum_norm = info->lower_residual = info->z_residual = NAN;
    info->hypergrad_norm = info->F = info->gamma = info->nu = NAN;
    int rc;
    if ((rc = check_problem(p, e)) != SV_OK || (rc = borep_check_settings(s, e)) != SV_OK)
        return rc;
    if ((rc = sv_bl_check_start(p, x, y, e)) != SV_OK)
        return rc;

    double t0 = sv_now_s();
    br_ws w;
    if (ws_alloc(&w, p, s) != SV_OK)
        return SV_ENOMEM;
    double *z = z_out ? z_out : NULL, *z_own = NULL;
    if (!z) {
        if (!(z_own = calloc((size_t)p->dy, sizeof *z_own))) {
            ws_free(&w);
            return SV_ENOMEM;
        }
        z = z_own;
    }
    const int dx = p->dx, dy = p->dy;
    sv_zero(dy, z);
    sv_bl_project_x(p, x);
    sv_bl_project_y(p, y);
    double Lg = sv_bl_lower_L(p, x);
    double inv_L = isfinite(Lg) && Lg > 0 ? 1.0 / Lg : 1.0;
    const double gam = !isnan(s->gamma) ? s->gamma : inv_L;
    const double nu = !isnan(s->nu) ? s->nu : inv_L;
    info->gamma = gam;
    info->nu = nu;

    /* initialization refinement */
    epoch_sgd(&w, x, y, gam, s->init_epochs, s->init_steps);

    sv_status status = SV_UNSOLVED;
    long t = 0, last_report = -1;
    double eta = s->eta;
    for (;;) {
        eta = sv_schedule_lr(&s->schedule, s->eta, t, s->max_iter);
        if (!sv_all_finite(dx, x) || !sv_all_finite(dy, y) || !sv_all_finite(dy, z) ||
            sv_nrminf(dx, x) > BOREP_DIVERGED || sv_nrminf(dy, z) > BOREP_DIVERGED) {
            status = SV_DIVERGED;
            break;
        }
        double now = sv_now_s();
        if (t % s->report_every == 0) {
            double hg;
            last_report = t;
            if (report(mon, t, now - t0, &w, x, y, z, eta, s->exact_metrics, NULL, &hg)) {
                status = SV_CANCELLED;
                break;
            }
            if (s->tol > 0 && hg <= s->tol) {
                status = SV_SOLVED;
                break;
            }
        }
        if (t >= s->max_iter) {
            status = SV_MAX_ITER;
            break;
        }
        if (s->time_limit_s > 0 && now - t0 >= s->time_limit_s) {
            status = SV_TIME_LIMIT;
            break;
        }
        /* periodic update of the lower variable */
        if (t > 0 && t % s->period == 0 && s->lower_steps > 0) {
            sgd_steps(&w, x, y, gam, s->lower_steps, NULL);
            info->lower_updates++;
        }
        sv_bl_batch bl, bu;
        const sv_bl_batch *pl, *pu;
        /* z: one SGD step on the quadratic 1/2 z'Hz - z' grad_y f */
        pl = draw(&w, SV_BL_LOWER, &bl);
        pu = draw(&w, SV_BL_UPPER, &bu);
        sv_bl_hvp_yy(p, x, y, z, pl, w.hz, w.work);
        sv_bl_upper(p, x, y, pu, NULL, w.gy, w.work);
        w.hvps++;
        w.upper_grads++;
        for (int i = 0; i < dy; i++)
            z[i] -= nu * (w.hz[i] - w.gy[i]);
        if (s->z_radius > 0) {
            double zn = sv_nrm2(dy, z);
            if (zn > s->z_radius)
                sv_scal(dy, s->z_radius / zn, z);
        }
        /* the hypergradient estimate on fresh batches, into the momentum */
        pl = draw(&w, SV_BL_LOWER, &bl);
        pu = draw(&w, SV_BL_UPPER, &bu);
        sv_bl_upper(p, x, y, pu, w.est, NULL, w.work);
        sv_bl_hvp_xy(p, x, y, z, pl, w.tx, w.work);
        w.upper_grads++;
        w.hvps++;
        for (int j = 0; j < dx; j++)
            w.m[j] = s->beta * w.m[j] + (1.0 - s->beta) * (w.est[j] - w.tx[j]);
        /* the normalized step */
        double mn = sv_nrm2(dx, w.m);
        if (mn > BOREP_TINY_MOMENTUM) {
            sv_axpy(dx, -eta / mn, w.m, x);
            sv_bl_project_x(p, x);
        }
        t++;
    }

    info->base.status = status;
    info->base.iter = t;
    info->momentum_norm = sv_nrm2(dx, w.m);
    info->base.res = info->momentum_norm;
    info->base.obj = sv_bl_upper(p, x, y, NULL, NULL, NULL, w.work);
    info->lower_residual = sv_bl_lower_residual(p, x, y, w.work);
    info->z_residual = z_residual(&w, x, y, z);
    info->upper_grads = w.upper_grads;
    info->lower_grads = w.lower_grads;
    info->hvps = w.hvps;
    info->base.solve_time_s = sv_now_s() - t0;
    if (last_report != t || s->exact_metrics) {
        double F = NAN, hg = NAN;
        report(last_report != t ? mon : NULL, t, info->base.solve_time_s, &w, x, y, z, eta,
               s->exact_metrics, &F, &hg);
        info->F = F;
        info->hypergrad_norm = hg;
    }
    free(z_own);
    ws_free(&w);
    return SV_OK;
}
