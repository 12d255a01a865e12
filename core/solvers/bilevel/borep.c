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

/* What a report carries besides the counters: measured at a report iteration (before the stop
 * test, which reads hg) and at the end. */
typedef struct {
    br_ws *w;
    double fy, lres, zres, F, hg, eta;
} br_state;

static int check_problem(const sv_bl_problem *p, sv_err *e);
static int ws_alloc(br_ws *w, const sv_bl_problem *p, const borep_settings *s);
static void ws_free(br_ws *w);
static const sv_bl_batch *draw(br_ws *w, sv_bl_level level, sv_bl_batch *b);
static void sgd_steps(br_ws *w, const double *x, double *y, double step, long n, double *avg,
                      sv_loop *L);
static void epoch_sgd(br_ws *w, const double *x, double *y, double gamma, long epochs,
                      long steps, sv_loop *L);
static double z_residual(br_ws *w, const double *x, const double *y, const double *z);
static void measure(br_state *st, const double *x, const double *y, const double *z, int exact,
                    sv_loop *L);
static int metrics(void *ctx, sv_metric *m, int cap);

/* ================================ settings ================================ */

const sv_param_spec borep_params[] = {
    SV_P_NUMBER_GT(borep_settings, eta, 0, 1e12, BOREP_DEFAULT_ETA,
                   "upper step: the distance x moves per iteration (normalized momentum), times "
                   "the schedule"),
    SV_P_NUMBER(borep_settings, beta, 0, BOREP_BETA_MAX, BOREP_DEFAULT_BETA,
                "momentum parameter in [0, 1) (the bound is the largest double below 1)"),
    SV_P_NUMBER_GT(borep_settings, gamma, 0, INFINITY, NAN,
                   "lower-level SGD step; null: 1 / L_g at the current x"),
    SV_P_NUMBER_GT(borep_settings, nu, 0, INFINITY, NAN,
                   "step of the linear-system variable z; null: 1 / L_g at the current x"),
    SV_P_NUMBER(borep_settings, z_radius, 0, INFINITY, 0,
                "z is projected onto the ball of this radius; 0: no projection"),
    SV_P_INT(borep_settings, period, 1, 1e9, BOREP_DEFAULT_PERIOD,
             "I: the lower variable is updated every I iterations (periodic updates)"),
    SV_P_INT(borep_settings, lower_steps, 0, 1e7, BOREP_DEFAULT_LOWER_STEPS,
             "N: SGD steps of each periodic update"),
    SV_P_INT(borep_settings, init_epochs, 0, 40, BOREP_DEFAULT_INIT_EPOCHS,
             "epochs of the Epoch-SGD initialization refinement (0: none)"),
    SV_P_INT(borep_settings, init_steps, 1, 1e9, BOREP_DEFAULT_INIT_STEPS,
             "SGD steps of the first refinement epoch (doubled each epoch)"),
    SV_P_INT(borep_settings, batch_upper, 0, 1e9, BOREP_DEFAULT_BATCH,
             "validation rows per batch (0: all)"),
    SV_P_INT(borep_settings, batch_lower, 0, 1e9, BOREP_DEFAULT_BATCH,
             "training rows per batch of gradients and Hessian-vector products (0: all)"),
    SV_CONTROL_PARAMS(borep_settings, ctl, BOREP_DEFAULT_TOL,
                      "stop when the exact hypergradient norm at a report is at most tol (0: "
                      "never; needs exact_metrics)",
                      BOREP_DEFAULT_MAX_ITER, BOREP_DEFAULT_REPORT_EVERY),
    SV_P_BOOL(borep_settings, exact_metrics, 1,
              "progress reports carry the exact F(x) and |grad F(x)| (extra work, monitoring "
              "only)"),
    SV_P_SEED(borep_settings, seed, 0, "seed of the mini-batch sampling"),
    SV_P_SCHEDULE_KIND(borep_settings, schedule, BOREP_DEFAULT_SCHEDULE,
                       "eta_t = eta * factor(t, max_iter) (docs/schedules.md); cosine by "
                       "default"),
    SV_PARAMS_END,
};

void borep_settings_default(borep_settings *s)
{
    sv_params_defaults(borep_params, s);
}

int borep_check_settings(const borep_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(borep_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (s->init_epochs > 0 && (double)s->init_steps * ldexp(1.0, (int)s->init_epochs) > 1e9)
        return sv_fail(e, "/params/init_epochs", "init_steps * 2^init_epochs exceeds 1e9 steps");
    return SV_OK;
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

/* 1 / L_g(x), the lower smoothness constant of the class at x (1 when it is unknown). */
static double inv_lower_L(const sv_bl_problem *p, const double *x)
{
    double Lg = sv_bl_lower_L(p, x);
    return isfinite(Lg) && Lg > 0 ? 1.0 / Lg : 1.0;
}

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

/* n SGD steps on g(x, .) from y with a constant step; avg (may be NULL) gets the mean iterate.
 * Each step polls L and the steps end early once it says stop (avg then holds a partial sum:
 * the solve ends without using it as an iterate). */
static void sgd_steps(br_ws *w, const double *x, double *y, double step, long n, double *avg,
                      sv_loop *L)
{
    const sv_bl_problem *p = w->p;
    if (avg)
        sv_zero(w->dy, avg);
    for (long t = 0; t < n; t++) {
        if (sv_loop_poll(L))
            return;
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
 * average. Stops (y left at the last completed epoch's average) once L says stop. */
static void epoch_sgd(br_ws *w, const double *x, double *y, double gamma, long epochs,
                      long steps, sv_loop *L)
{
    double step = gamma;
    long n = steps;
    for (long k = 0; k < epochs; k++) {
        sgd_steps(w, x, y, step, n, w->ybar, L);
        if (sv_loop_stopped(L))
            return;
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

/* The full-oracle values of a report at (x, y, z); with exact, also the exact F(x) and
 * |grad F(x)| (a lower solve to 1e-10 that polls L: NaN once it says stop). */
static void measure(br_state *st, const double *x, const double *y, const double *z, int exact,
                    sv_loop *L)
{
    br_ws *w = st->w;
    const sv_bl_problem *p = w->p;
    st->fy = sv_bl_upper(p, x, y, NULL, NULL, NULL, w->work);
    st->lres = sv_bl_lower_residual(p, x, y, w->work);
    st->zres = z_residual(w, x, y, z);
    st->F = st->hg = NAN;
    if (exact)
        sv_bl_exact_metrics(p, x, y, w->ys, w->tx, w->work, &st->F, &st->hg, L);
}

/* The metrics of a report (core/control.h), from the last measure. upper_objective is the
 * exact F(x), the report's objective too (NaN without exact_metrics); upper_at_y is f(x, y) at
 * the method's y. */
static int metrics(void *ctx, sv_metric *m, int cap)
{
    const br_state *st = ctx;
    if (cap < 9)
        return 0;
    m[0] = (sv_metric){"upper_objective", st->F};
    m[1] = (sv_metric){"hypergrad_norm", st->hg};
    m[2] = (sv_metric){"momentum_norm", sv_nrm2(st->w->dx, st->w->m)};
    m[3] = (sv_metric){"lower_residual", st->lres};
    m[4] = (sv_metric){"z_residual", st->zres};
    m[5] = (sv_metric){"eta", st->eta};
    m[6] = (sv_metric){"upper_at_y", st->fy};
    m[7] = (sv_metric){"lower_grads", (double)st->w->lower_grads};
    m[8] = (sv_metric){"hvps", (double)st->w->hvps};
    return 9;
}

/* ================================ solve ================================ */

int borep_solve(const sv_bl_problem *p, const borep_settings *s, const sv_monitor *mon,
                double *x, double *y, double *z_out, borep_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->momentum_norm = info->lower_residual = info->z_residual = NAN;
    info->hypergrad_norm = info->F = info->gamma = info->nu = NAN;
    int rc;
    if ((rc = check_problem(p, e)) != SV_OK || (rc = borep_check_settings(s, e)) != SV_OK)
        return rc;
    if ((rc = sv_bl_check_start(p, x, y, e)) != SV_OK)
        return rc;

    br_ws w;
    br_state st = {.w = &w, .fy = NAN, .lres = NAN, .zres = NAN, .F = NAN, .hg = NAN,
                   .eta = s->eta};
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &st);
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
    /* gamma and nu not given: 1 / L_g at the current x (a class whose lower smoothness moves
     * with x, as hyperparam's exp(x) ridge, would otherwise take steps beyond 2 / L_g) */
    double gam = !isnan(s->gamma) ? s->gamma : inv_lower_L(p, x);
    double nu = !isnan(s->nu) ? s->nu : inv_lower_L(p, x);
    info->gamma = gam;
    info->nu = nu;

    /* initialization refinement */
    epoch_sgd(&w, x, y, gam, s->init_epochs, s->init_steps, &L);

    long t = 0;
    for (;; t++) {
        st.eta = sv_schedule_lr(&s->schedule, s->eta, t, s->ctl.max_iter);
        int diverged = !sv_all_finite(dx, x) || !sv_all_finite(dy, y) || !sv_all_finite(dy, z) ||
                       sv_nrminf(dx, x) > BOREP_DIVERGED || sv_nrminf(dy, z) > BOREP_DIVERGED;
        /* the tol test reads the exact |grad F| of a report, so a report iteration measures
         * before the stop test (the loop's rhythm: every report_every iterations) */
        if (!diverged && !sv_loop_stopped(&L) && t % s->ctl.report_every == 0)
            measure(&st, x, y, z, s->exact_metrics, &L);
        int solved = !diverged && t % s->ctl.report_every == 0 && s->ctl.tol > 0 &&
                     st.hg <= s->ctl.tol;
        if (sv_loop_check(&L, t, st.F, diverged, solved))
            break;
        if (t > 0 && (isnan(s->gamma) || isnan(s->nu))) {
            double il = inv_lower_L(p, x);
            gam = !isnan(s->gamma) ? s->gamma : il;
            nu = !isnan(s->nu) ? s->nu : il;
        }
        /* periodic update of the lower variable */
        if (t > 0 && t % s->period == 0 && s->lower_steps > 0) {
            sgd_steps(&w, x, y, gam, s->lower_steps, NULL, &L);
            info->lower_updates++;
            if (sv_loop_stopped(&L))
                break;
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
            sv_axpy(dx, -st.eta / mn, w.m, x);
            sv_bl_project_x(p, x);
        }
    }

    info->gamma = gam;
    info->nu = nu;
    info->momentum_norm = sv_nrm2(dx, w.m);
    info->upper_grads = w.upper_grads;
    info->lower_grads = w.lower_grads;
    info->hvps = w.hvps;
    /* The final values (the final report's and info's). The solve has ended, so the exact
     * metrics poll a copy of the loop that only the monitor and the time limit can stop: a
     * cancel or an expired time limit leaves F and hg NaN instead of waiting for a lower solve. */
    sv_loop fin = L;
    fin.status = SV_UNSOLVED;
    measure(&st, x, y, z, s->exact_metrics, &fin);
    info->lower_residual = st.lres;
    info->z_residual = st.zres;
    info->F = st.F;
    info->hypergrad_norm = st.hg;
    sv_loop_end(&L, &info->base, t, st.F, info->momentum_norm);
    free(z_own);
    ws_free(&w);
    return SV_OK;
}
