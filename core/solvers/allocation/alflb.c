/* alflb.c - ALF-LB, the one-step-per-iteration primal-dual method (see alflb.h).
 *
 * The Lagrangian of the assignment LP with multipliers p_e of the expert rows, written with the
 * router's biases b = -p, is
 *   L(x, b) = sum_te (s_te + b_e) x_te - sum_e b_e c_e,
 * and its maximum over {sum_e x_te = k, 0 <= x <= 1} is top-k routing by s_te + b_e: the primal
 * step is the router itself. That maximum, g(b), is the dual function (>= the LP optimum for any
 * b, b <= 0 when capacitated); its subgradient in b is c - L, so the bias step b += u (c - L)
 * is one dual subgradient step, and Wang et al.'s b += u sign(c - L) its sign-normalised form.
 * One routing and one bias step per iteration, nothing solved to convergence inside. */
#include "core/solvers/allocation/alflb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_choices[] = {"sign", "proportional", NULL};
static const char *const step_choices[] = {"constant", "sqrt", "harmonic", NULL};

const sv_param_spec alflb_params[] = {
    SV_P_ENUM(alflb_settings, rule, rule_choices, ALFLB_RULE_SIGN,
              "bias update: sign (Wang et al.: b_e += u_t sign(c_e - L_e)) or proportional (the "
              "dual subgradient step b_e += u_t (c_e - L_e))"),
    SV_P_ENUM(alflb_settings, step, step_choices, ALFLB_STEP_CONSTANT,
              "step schedule u_t: constant u, u / sqrt(t + 1), or u / (t + 1)"),
    SV_P_NUMBER_GT(alflb_settings, u, 0, 1e9, ALFLB_DEFAULT_U, "base bias step size u > 0"),
    SV_CONTROL_PARAMS(alflb_settings, ctl, ALFLB_DEFAULT_TOL,
                      "stop when the balance residual (tokens; see the doc page) is <= tol",
                      ALFLB_DEFAULT_MAX_ITER, ALFLB_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void alflb_settings_default(alflb_settings *s)
{
    sv_params_defaults(alflb_params, s);
}

int alflb_check_settings(const alflb_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(alflb_params, s, "/params", e);
}

int alflb_check_problem(const alflb_problem *p, sv_err *e)
{
    if (!p || p->tokens < 1 || p->experts < 1 || !p->scores)
        return sv_fail(e, "/problem/scores", "at least one token and one expert are required");
    if (p->k < 1 || p->k > p->experts)
        return sv_fail(e, "/problem/k", "must be in [1, %d] (the number of experts), got %d",
                       p->experts, p->k);
    if (!isfinite(p->capacity) || p->capacity < 0)
        return sv_fail(e, "/problem/capacity", "must be a finite number >= 0");
    if (p->capacity > 0 && (double)p->k * p->tokens > (double)p->experts * p->capacity)
        return sv_fail(e, "/problem/capacity", "k * tokens = %.0f exceeds experts * capacity = "
                       "%.17g: no assignment fits", (double)p->k * p->tokens,
                       (double)p->experts * p->capacity);
    size_t n = (size_t)p->tokens * (size_t)p->experts;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p->scores[i])) {
            char path[96];
            snprintf(path, sizeof path, "/problem/scores/%zu/%zu", i / (size_t)p->experts,
                     i % (size_t)p->experts);
            return sv_fail(e, path, "must be a finite number");
        }
    return SV_OK;
}

/* ================================ workspace ================================ */

typedef struct {
    const alflb_problem *p;
    sv_loop *L;
    double c;          /* c_e, the same for every expert */
    int capped;
    double *b;         /* biases */
    double *bprev;     /* the biases of the previous routing */
    long *cnt;         /* loads of the routing */
    int *sel;          /* one token's chosen experts, best first */
    double *selv;      /* and their s + b */
    int *assign;       /* the caller's, or NULL */
    const double *scores;  /* what route() reads: the problem's, or batch */
    double *batch[2];  /* online: this batch and the one before (T x E each), alternating, so
                          that a routing cut short can be replaced by the last complete one */
    long routings;
    double sum_mom, sum_res;  /* running sums of max/mean and of the residual */
    double last_mom, last_res;  /* the last complete routing's terms of them */
    /* the last completed routing */
    double lagr, score, res, step;
    long max_load, min_load;
    int idle;
    double overflow;
} alflb_ws;

static void ws_free(alflb_ws *w)
{
    free(w->batch[0]);
    free(w->batch[1]);
    free(w->b);
    free(w->bprev);
    free(w->cnt);
    free(w->sel);
    free(w->selv);
}

static int ws_alloc(alflb_ws *w)
{
    size_t E = (size_t)w->p->experts, k = (size_t)w->p->k;
    w->b = malloc(E * sizeof *w->b);
    w->bprev = malloc(E * sizeof *w->bprev);
    w->cnt = malloc(E * sizeof *w->cnt);
    w->sel = malloc(k * sizeof *w->sel);
    w->selv = malloc(k * sizeof *w->selv);
    for (int i = 0; i < 2 && w->p->stream; i++)
        w->batch[i] = malloc((size_t)w->p->tokens * E * sizeof *w->batch[i]);
    if (!w->b || !w->bprev || !w->cnt || !w->sel || !w->selv ||
        (w->p->stream && (!w->batch[0] || !w->batch[1]))) {
        ws_free(w);
        return SV_ENOMEM;
    }
    return SV_OK;
}

/* The primal step: every token to its top-k by s + b (strict >, so ties keep the lower index),
 * the loads, and the routing's statistics. With L not NULL the loop is polled every 1024
 * tokens; returns 1 when it said stop (the routing is then incomplete). */
static int route(alflb_ws *w, sv_loop *L)
{
    const alflb_problem *p = w->p;
    const int E = p->experts, K = p->k;
    const double *b = w->b;
    double *selv = w->selv;
    int *sel = w->sel;
    double lsum = 0, ssum = 0;
    memset(w->cnt, 0, (size_t)E * sizeof *w->cnt);
    for (int t = 0; t < p->tokens; t++) {
        const double *s = w->scores + (size_t)t * (size_t)E;
        int m = 0;
        for (int e = 0; e < E; e++) {
            double v = s[e] + b[e];
            int pos;
            if (m < K)
                pos = m++;
            else if (v > selv[K - 1])
                pos = K - 1;
            else
                continue;
            while (pos > 0 && v > selv[pos - 1]) {
                selv[pos] = selv[pos - 1];
                sel[pos] = sel[pos - 1];
                pos--;
            }
            selv[pos] = v;
            sel[pos] = e;
        }
        for (int j = 0; j < K; j++) {
            w->cnt[sel[j]]++;
            lsum += selv[j];
            ssum += s[sel[j]];
        }
        if (w->assign)
            memcpy(w->assign + (size_t)t * (size_t)K, sel, (size_t)K * sizeof *sel);
        if (L && (t & 1023) == 1023 && sv_loop_poll(L))
            return 1;
    }
    long mx = w->cnt[0], mn = w->cnt[0];
    int idle = 0;
    double res = 0, over = 0, bc = 0;
    for (int e = 0; e < E; e++) {
        double d = (double)w->cnt[e] - w->c, r;
        mx = w->cnt[e] > mx ? w->cnt[e] : mx;
        mn = w->cnt[e] < mn ? w->cnt[e] : mn;
        idle += w->cnt[e] == 0;
        over += d > 0 ? d : 0;
        bc += b[e] * w->c;
        if (!w->capped)
            r = fabs(d);
        else
            r = d > 0 ? d : (b[e] < 0 ? -d : 0);
        res = r > res ? r : res;
    }
    w->lagr = lsum - bc;
    w->score = ssum;
    w->res = res;
    w->max_load = mx;
    w->min_load = mn;
    w->idle = idle;
    w->overflow = over;
    w->routings++;
    w->last_mom = (double)mx / (p->k * (double)p->tokens / E);
    w->last_res = res;
    w->sum_mom += w->last_mom;
    w->sum_res += res;
    return 0;
}

static double step_size(const alflb_settings *s, long t)
{
    switch (s->step) {
    case ALFLB_STEP_SQRT:
        return s->u / sqrt((double)t + 1.0);
    case ALFLB_STEP_HARMONIC:
        return s->u / ((double)t + 1.0);
    default:
        return s->u;
    }
}

/* The dual step: one move of every bias against its load's excess. */
static void update(alflb_ws *w, const alflb_settings *s, long t)
{
    double u = step_size(s, t);
    w->step = u;
    for (int e = 0; e < w->p->experts; e++) {
        double g = w->c - (double)w->cnt[e];
        double d = s->rule == ALFLB_RULE_SIGN ? (g > 0 ? 1.0 : (g < 0 ? -1.0 : 0.0)) : g;
        double nb = w->b[e] + u * d;
        w->b[e] = w->capped && nb > 0 ? 0.0 : nb;
    }
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    alflb_ws *w = ctx;
    double mean = w->p->k * (double)w->p->tokens / w->p->experts;
    if (cap < 10)
        return 0;
    m[0] = (sv_metric){"max_load", (double)w->max_load};
    m[1] = (sv_metric){"mean_load", mean};
    m[2] = (sv_metric){"max_over_mean", (double)w->max_load / mean};
    m[3] = (sv_metric){"min_load", (double)w->min_load};
    m[4] = (sv_metric){"idle_experts", (double)w->idle};
    m[5] = (sv_metric){"lagrangian", w->lagr};
    m[6] = (sv_metric){"residual", w->res};
    m[7] = (sv_metric){"step", w->step};
    double n = w->routings > 0 ? (double)w->routings : NAN;
    m[8] = (sv_metric){"avg_max_over_mean", w->sum_mom / n};
    m[9] = (sv_metric){"avg_residual", w->sum_res / n};
    return 10;
}

/* ================================ the solver ================================ */

int alflb_solve(const alflb_problem *p, const alflb_settings *s, const sv_monitor *mon,
                double *bias, long *load, int *assign, alflb_info *info, sv_err *e)
{
    alflb_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->lagrangian = info->best_lagrangian = info->score = NAN;
    int rc;
    if ((rc = alflb_check_settings(s, e)) != SV_OK || (rc = alflb_check_problem(p, e)) != SV_OK)
        return rc;
    if (bias)
        for (int j = 0; j < p->experts; j++)
            if (!isfinite(bias[j])) {
                char path[64];
                snprintf(path, sizeof path, "/problem/bias/%d", j);
                return sv_fail(e, path, "must be a finite number");
            }

    alflb_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.capped = p->capacity > 0;
    w.c = w.capped ? p->capacity : p->k * (double)p->tokens / p->experts;
    w.assign = assign;
    w.scores = p->scores;
    if ((rc = ws_alloc(&w)) != SV_OK)
        return rc;
    for (int j = 0; j < p->experts; j++) {
        double b0 = bias ? bias[j] : 0.0;
        w.b[j] = w.capped && b0 > 0 ? 0.0 : b0;
    }

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    w.L = &L;
    double best = INFINITY;
    long it;
    const double *prev_scores = p->scores;
    for (it = 0;; it++) {
        if (it > 0 && p->stream) {
            prev_scores = w.scores;
            double *next = w.batch[it & 1];
            p->stream->next(p->stream->ctx, next);
            w.scores = next;
        }
        if (route(&w, &L)) {
            /* stopped inside the routing: report the last complete one */
            if (it > 0) {
                memcpy(w.b, w.bprev, (size_t)p->experts * sizeof *w.b);
                it--;
                w.scores = prev_scores;
                w.routings--;   /* the routing below repeats one already counted */
                w.sum_mom -= w.last_mom;
                w.sum_res -= w.last_res;
            }
            route(&w, NULL);
            break;
        }
        best = w.lagr < best ? w.lagr : best;
        /* Online, a batch's residual is noise: the run goes to max_iter. */
        if (sv_loop_check(&L, it, w.lagr, !isfinite(w.lagr), !p->stream && w.res <= s->ctl.tol))
            break;
        memcpy(w.bprev, w.b, (size_t)p->experts * sizeof *w.b);
        update(&w, s, it);
    }
    best = w.lagr < best ? w.lagr : best;
    info->lagrangian = w.lagr;
    info->best_lagrangian = best;
    info->score = w.score;
    info->target = w.c;
    info->max_load = w.max_load;
    info->min_load = w.min_load;
    info->mean_load = p->k * (double)p->tokens / p->experts;
    info->idle = w.idle;
    info->overflow = w.overflow;
    info->batches = w.routings;
    info->avg_max_over_mean = w.routings > 0 ? w.sum_mom / (double)w.routings : NAN;
    info->avg_residual = w.routings > 0 ? w.sum_res / (double)w.routings : NAN;
    if (bias)
        memcpy(bias, w.b, (size_t)p->experts * sizeof *bias);
    if (load)
        memcpy(load, w.cnt, (size_t)p->experts * sizeof *load);
    sv_loop_end(&L, &info->base, it, w.lagr, w.res);
    ws_free(&w);
    return SV_OK;
}
