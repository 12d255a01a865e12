/* distributional.c - stock-augmented distributional DP (Pires et al., 2025) on a stock grid.
 *
 * Grid: every reward is rounded to q(s, a) = round(r(s, a) / delta) steps, so that the stock
 * after h steps is c_0 + delta k with k in [k0_lo + h q_min, k0_hi + h q_max]; [k0_lo, k0_hi]
 * holds the initial stocks (one, 0, for the expected utilities; the candidates -b of the CVaR
 * reduction for cvar). One table U_h(s, k) over that grid is the stock-augmented value: by the
 * paper's result for expected utilities, U_H(s, k) = f(c_0 + delta k) and
 *   U_h(s, k) = max_a sum_t P(t | s, a) U_{h+1}(t, k + q(s, a))
 * is the optimal E f(c_0 + G) from (h, s, stock), attained by the greedy stock-augmented Markov
 * policy. CVaR_alpha(G) = max_b { b - E (b - G)^+ / alpha } (Rockafellar-Uryasev); with the
 * initial stock c_0 = -b it is max_{c_0} { -c_0 + E f(c_0 + G) }, f(x) = min(x, 0) / alpha, so
 * one table over all initial stocks gives it, the maximiser c_0 read off U_0 (b is an atom of G,
 * so the candidates on the grid suffice).
 *
 * Policy iteration: one backward pass evaluates the current policy (U of the old actions) and
 * replaces each action by the greedy one w.r.t. U_{h+1} of the current policy when it gains more
 * than tol; it stops after a round that changed nothing. The start distribution of c_0 + G under
 * the returned policy comes from a forward pass over (s, k). */
#include "core/solvers/mdp/distributional.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_choices[] = {"value_iteration", "policy_iteration", NULL};
static const char *const objective_choices[] = {"expectation", "exponential", "threshold",
                                                "cvar", "homeostatic", NULL};

const sv_param_spec distributional_params[] = {
    SV_P_ENUM(distributional_settings, method, method_choices, DISTRIBUTIONAL_VALUE_ITERATION,
              "value_iteration: backward over h, greedy w.r.t. the objective; policy_iteration: "
              "evaluate and improve the stock-augmented policy until no action changes"),
    SV_P_ENUM(distributional_settings, objective, objective_choices, DISTRIBUTIONAL_EXPECTATION,
              "functional of the distribution of c_0 + G: expectation E[c_0+G]; exponential "
              "E[(1-exp(-beta(c_0+G)))/beta]; threshold P(c_0+G >= threshold); cvar "
              "CVaR_alpha(G) (lower tail); homeostatic -E[distance of c_0+G to the band]"),
    SV_P_NUMBER_GT(distributional_settings, alpha, 0, 1, 0.1,
                   "CVaR level: the mean of the worst alpha fraction of returns"),
    SV_P_NUMBER(distributional_settings, beta, -100, 100, 1.0,
                "exponential utility's risk aversion (> 0 averse, < 0 seeking; nonzero)"),
    SV_P_NUMBER(distributional_settings, threshold, -1e12, 1e12, 0.0,
                "threshold objective: maximise P(c_0 + G >= threshold)"),
    SV_P_NUMBER(distributional_settings, band_low, -1e12, 1e12, 0.0,
                "homeostatic band's lower end"),
    SV_P_NUMBER(distributional_settings, band_high, -1e12, 1e12, 0.0,
                "homeostatic band's upper end (>= band_low)"),
    SV_P_NUMBER(distributional_settings, stock0, -1e12, 1e12, 0.0,
                "initial stock c_0 (cvar chooses its own: -b of Rockafellar-Uryasev)"),
    SV_P_NUMBER_GT(distributional_settings, stock_step, 0, 1e12, NAN,
                   "stock grid step delta; rewards are rounded to multiples of it; null: 1 when "
                   "every reward is an integer, else (max r - min r) / 100"),
    SV_CONTROL_PARAMS(distributional_settings, ctl, DISTRIBUTIONAL_DEFAULT_TOL,
                      "policy iteration changes an action only when it gains more than tol",
                      DISTRIBUTIONAL_DEFAULT_MAX_ITER, DISTRIBUTIONAL_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void distributional_settings_default(distributional_settings *s)
{
    sv_params_defaults(distributional_params, s);
}

int distributional_check_settings(const distributional_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(distributional_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (s->objective == DISTRIBUTIONAL_EXPONENTIAL && s->beta == 0)
        return sv_fail(e, "/params/beta", "must be nonzero (beta = 0 is the expectation)");
    if (s->band_low > s->band_high)
        return sv_fail(e, "/params/band_high", "must be >= band_low (%g)", s->band_low);
    return SV_OK;
}

/* ================================ the grid ================================ */

static double grid_step(const sv_mdp *m, const distributional_settings *s)
{
    if (!isnan(s->stock_step))
        return s->stock_step;
    double lo = INFINITY, hi = -INFINITY;
    int integer = 1;
    for (int k = 0; k < m->S * m->A; k++) {
        lo = fmin(lo, m->R[k]);
        hi = fmax(hi, m->R[k]);
        if (fabs(m->R[k] - round(m->R[k])) > 1e-9)
            integer = 0;
    }
    if (integer || !(hi > lo))
        return 1.0;
    return (hi - lo) / DISTRIBUTIONAL_AUTO_LEVELS;
}

typedef struct {
    double delta;
    long qmin, qmax, k0lo, k0hi, klo, N;
} grid;

static int make_grid(const sv_mdp *m, const distributional_settings *s, grid *g, sv_err *e)
{
    g->delta = grid_step(m, s);
    double qlo = INFINITY, qhi = -INFINITY;
    for (int k = 0; k < m->S * m->A; k++) {
        double q = round(m->R[k] / g->delta);
        qlo = fmin(qlo, q);
        qhi = fmax(qhi, q);
    }
    double H = m->H;
    double n0 = s->objective == DISTRIBUTIONAL_CVAR ? H * (qhi - qlo) : 0.0;
    double width = n0 + H * (fmax(qhi, 0) - fmin(qlo, 0)) + 1;
    if (!(width * H * m->S <= DISTRIBUTIONAL_MAX_CELLS))
        return sv_fail(e, "/params/stock_step",
                       "the stock grid needs %.3g cells (H x states x stock levels; at most "
                       "%.0f): use a larger stock_step or a smaller horizon",
                       width * H * m->S, DISTRIBUTIONAL_MAX_CELLS);
    g->qmin = (long)qlo;
    g->qmax = (long)qhi;
    if (s->objective == DISTRIBUTIONAL_CVAR) {
        g->k0lo = -(long)m->H * g->qmax;
        g->k0hi = -(long)m->H * g->qmin;
    } else {
        g->k0lo = g->k0hi = 0;
    }
    long lo_end = g->k0lo + (long)m->H * g->qmin, hi_end = g->k0hi + (long)m->H * g->qmax;
    g->klo = lo_end < g->k0lo ? lo_end : g->k0lo;
    long khi = hi_end > g->k0hi ? hi_end : g->k0hi;
    g->N = khi - g->klo + 1;
    return SV_OK;
}

static int check_problem(const sv_mdp *m, sv_err *e)
{
    if (!m || !m->P || !m->R || !m->mu || m->S < 1 || m->A < 1)
        return sv_fail(e, "/problem", "a tabular MDP is required");
    if (m->H < 1)
        return sv_fail(e, "/problem/horizon",
                       "must be >= 1: distributional DP here is episodic (finite horizon)");
    return SV_OK;
}

int distributional_sizes(const sv_mdp *m, const distributional_settings *s, long *N,
                         double *delta, sv_err *e)
{
    int rc;
    grid g;
    if ((rc = distributional_check_settings(s, e)) != SV_OK ||
        (rc = check_problem(m, e)) != SV_OK || (rc = make_grid(m, s, &g, e)) != SV_OK)
        return rc;
    if (N)
        *N = g.N;
    if (delta)
        *delta = g.delta;
    return SV_OK;
}

/* ================================ workspace ================================ */

typedef struct {
    const sv_mdp *m;
    const distributional_settings *s;
    grid g;
    double base;     /* stock of grid index k = 0 */
    long *q;         /* S * A: rewards in grid steps */
    double *U, *Un;  /* S * N: U_h and U_{h+1} */
    double *acc;     /* N: one action's backup */
    double *best;    /* N */
    int *newa;       /* N: the greedy actions (policy iteration) */
    int *pi;         /* H * S * N */
    double *D, *Dn;  /* S * N: forward distribution */
    double *V, *Qm;  /* (H + 1) * S and S * A: the expected-return DP */
    long *rp;        /* S * A + 1: the nonzero transitions of (s, a) are rt/rv[rp[sa] ..] */
    int *rt;         /* nnz: their next states */
    double *rv;      /* nnz: their probabilities */
    int h;           /* the layer the last step computed */
    long changes;
} ws;

static void ws_free(ws *w)
{
    free(w->q);
    free(w->U);
    free(w->Un);
    free(w->acc);
    free(w->best);
    free(w->newa);
    free(w->pi);
    free(w->D);
    free(w->Dn);
    free(w->V);
    free(w->Qm);
    free(w->rp);
    free(w->rt);
    free(w->rv);
}

static int ws_alloc(ws *w)
{
    size_t S = (size_t)w->m->S, N = (size_t)w->g.N, H = (size_t)w->m->H, A = (size_t)w->m->A;
    w->q = malloc(S * A * sizeof *w->q);
    w->U = calloc(S * N, sizeof *w->U);
    w->Un = calloc(S * N, sizeof *w->Un);
    w->acc = malloc(N * sizeof *w->acc);
    w->best = malloc(N * sizeof *w->best);
    w->newa = malloc(N * sizeof *w->newa);
    w->pi = malloc(H * S * N * sizeof *w->pi);
    w->D = calloc(S * N, sizeof *w->D);
    w->Dn = calloc(S * N, sizeof *w->Dn);
    w->V = malloc((H + 1) * S * sizeof *w->V);
    w->Qm = malloc(S * A * sizeof *w->Qm);
    size_t nnz = 0;
    for (size_t i = 0; i < S * A * S; i++)
        nnz += w->m->P[i] != 0;
    w->rp = malloc((S * A + 1) * sizeof *w->rp);
    w->rt = malloc((nnz ? nnz : 1) * sizeof *w->rt);
    w->rv = malloc((nnz ? nnz : 1) * sizeof *w->rv);
    if (!w->rp || !w->rt || !w->rv) {
        ws_free(w);
        return SV_ENOMEM;
    }
    long n = 0;
    for (size_t sa = 0; sa < S * A; sa++) {  /* the sparse rows: the DP skips zeros for free */
        w->rp[sa] = n;
        for (size_t t = 0; t < S; t++)
            if (w->m->P[sa * S + t] != 0) {
                w->rt[n] = (int)t;
                w->rv[n++] = w->m->P[sa * S + t];
            }
    }
    w->rp[S * A] = n;
    if (!w->q || !w->U || !w->Un || !w->acc || !w->best || !w->newa || !w->pi || !w->D ||
        !w->Dn || !w->V || !w->Qm) {
        ws_free(w);
        return SV_ENOMEM;
    }
    return SV_OK;
}

static double utility(const distributional_settings *s, double x)
{
    switch (s->objective) {
    case DISTRIBUTIONAL_EXPONENTIAL:
        return -expm1(-s->beta * x) / s->beta;
    case DISTRIBUTIONAL_THRESHOLD:
        return x >= s->threshold - 1e-9 * fmax(1.0, fabs(s->threshold)) ? 1.0 : 0.0;
    case DISTRIBUTIONAL_CVAR:
        return fmin(x, 0.0) / s->alpha;
    case DISTRIBUTIONAL_HOMEOSTATIC:
        return -(fmax(0.0, s->band_low - x) + fmax(0.0, x - s->band_high));
    default:
        return x;
    }
}

/* Grid index range [lo, hi] (offsets from klo) of the stocks reachable at step h. */
static void layer(const ws *w, int h, long *lo, long *hi)
{
    *lo = w->g.k0lo + (long)h * w->g.qmin - w->g.klo;
    *hi = w->g.k0hi + (long)h * w->g.qmax - w->g.klo;
}

/* acc[k] = sum_t P(t | s, a) Un(t, k + q(s, a)) for k in [lo, hi]. */
static void backup(const ws *w, int s, int a, long lo, long hi)
{
    long N = w->g.N, sa = (long)s * w->m->A + a, q = w->q[sa];
    for (long k = lo; k <= hi; k++)
        w->acc[k] = 0;
    for (long j = w->rp[sa]; j < w->rp[sa + 1]; j++) {
        const double *u = w->Un + (long)w->rt[j] * N + q;
        double pt = w->rv[j];
        for (long k = lo; k <= hi; k++)
            w->acc[k] += pt * u[k];
    }
}

static void terminal(ws *w)
{
    long N = w->g.N, lo, hi;
    layer(w, w->m->H, &lo, &hi);
    for (int s = 0; s < w->m->S; s++)
        for (long k = lo; k <= hi; k++)
            w->Un[(long)s * N + k] = utility(w->s, w->base + w->g.delta * (double)(k + w->g.klo));
}

static void swap_layers(ws *w)
{
    double *t = w->U;
    w->U = w->Un;
    w->Un = t;
}

/* One step of value iteration (improve = 0) or policy iteration (improve = 1: evaluate the
 * actions in pi, then replace them by better ones) at layer h: U from Un, then U becomes Un.
 * Returns 1 when a poll asked to stop. */
static int step(ws *w, int h, int improve, sv_loop *L)
{
    const sv_mdp *m = w->m;
    long N = w->g.N, lo, hi;
    layer(w, h, &lo, &hi);
    int *pih = w->pi + (long)h * m->S * N;
    double tol = w->s->ctl.tol;
    for (int s = 0; s < m->S; s++) {
        if ((s & 63) == 63 && sv_loop_poll(L))
            return 1;
        double *u = w->U + (long)s * N;
        int *ps = pih + (long)s * N;
        if (!improve) {
            for (int a = 0; a < m->A; a++) {
                backup(w, s, a, lo, hi);
                for (long k = lo; k <= hi; k++)
                    if (a == 0 || w->acc[k] > u[k]) {
                        u[k] = w->acc[k];
                        ps[k] = a;
                    }
            }
            continue;
        }
        /* u: the value of the current actions; best, newa: the greedy backup */
        for (long k = lo; k <= hi; k++)
            w->best[k] = -INFINITY;
        for (int a = 0; a < m->A; a++) {
            backup(w, s, a, lo, hi);
            for (long k = lo; k <= hi; k++) {
                if (ps[k] == a)
                    u[k] = w->acc[k];
                if (w->acc[k] > w->best[k]) {
                    w->best[k] = w->acc[k];
                    w->newa[k] = a;
                }
            }
        }
        for (long k = lo; k <= hi; k++)
            if (w->newa[k] != ps[k] && w->best[k] > u[k] + tol) {
                ps[k] = w->newa[k];
                w->changes++;
            }
    }
    swap_layers(w);
    w->h = h;
    return 0;
}

/* The objective from the start distribution with the values u = w->Un of layer h: the optimal
 * objective of the (H - h)-step problem (the model is time-homogeneous), so layer 0 gives the
 * result. Expected utilities: sum_s mu(s) u(s, c_0) (NaN when c_0 is not reachable at step h);
 * cvar: the maximum over the layer's stocks c of -c + sum_s mu(s) u(s, c) (the layer holds every
 * candidate -b of the shorter problem, and any b gives a lower bound); *k0 the index used. */
static double start_value(const ws *w, int h, long *k0)
{
    const sv_mdp *m = w->m;
    long N = w->g.N, lo, hi;
    layer(w, h, &lo, &hi);
    if (w->s->objective != DISTRIBUTIONAL_CVAR) {
        long k = -w->g.klo;  /* c_0 itself */
        if (k < lo || k > hi)
            return NAN;
        lo = hi = k;
    }
    double best = -INFINITY;
    *k0 = lo;
    for (long k = lo; k <= hi; k++) {
        double v = 0;
        for (int s = 0; s < m->S; s++)
            v += m->mu[s] * w->Un[(long)s * N + k];
        if (w->s->objective == DISTRIBUTIONAL_CVAR)
            v -= w->base + w->g.delta * (double)(k + w->g.klo);
        if (v > best) {
            best = v;
            *k0 = k;
        }
    }
    return best;
}

/* The distribution of the final stock under pi from initial index k0, into w->D marginal
 * (index k of the first row). */
static void forward(ws *w, long k0)
{
    const sv_mdp *m = w->m;
    long N = w->g.N, SN = (long)m->S * N;
    memset(w->D, 0, (size_t)SN * sizeof *w->D);
    for (int s = 0; s < m->S; s++)
        w->D[(long)s * N + k0] = m->mu[s];
    for (int h = 0; h < m->H; h++) {
        long lo, hi;
        layer(w, h, &lo, &hi);
        memset(w->Dn, 0, (size_t)SN * sizeof *w->Dn);
        const int *pih = w->pi + (long)h * m->S * N;
        for (int s = 0; s < m->S; s++)
            for (long k = lo; k <= hi; k++) {
                double d = w->D[(long)s * N + k];
                if (d == 0)
                    continue;
                int a = pih[(long)s * N + k];
                long sa = (long)s * m->A + a, kn = k + w->q[sa];
                for (long j = w->rp[sa]; j < w->rp[sa + 1]; j++)
                    w->Dn[(long)w->rt[j] * N + kn] += d * w->rv[j];
            }
        double *t = w->D;
        w->D = w->Dn;
        w->Dn = t;
    }
    for (int s = 1; s < m->S; s++)
        for (long k = 0; k < N; k++)
            w->D[k] += w->D[(long)s * N + k];
}

static int metrics(void *ctx, sv_metric *mt, int cap)
{
    ws *w = ctx;
    if (cap < 3)
        return 0;
    long lo, hi;
    layer(w, w->h, &lo, &hi);
    mt[0] = (sv_metric){"step", (double)w->h};
    mt[1] = (sv_metric){"stock_levels", (double)(hi - lo + 1)};
    mt[2] = (sv_metric){"changes", (double)w->changes};
    return 3;
}

int distributional_solve(const sv_mdp *m, const distributional_settings *s,
                         const sv_monitor *mon, distributional_out *out,
                         distributional_info *info, sv_err *e)
{
    distributional_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    ws w;
    memset(&w, 0, sizeof w);
    w.m = m;
    w.s = s;
    if ((rc = distributional_check_settings(s, e)) != SV_OK ||
        (rc = check_problem(m, e)) != SV_OK || (rc = make_grid(m, s, &w.g, e)) != SV_OK)
        return rc;
    if ((rc = ws_alloc(&w)) != SV_OK)
        return rc;
    const int S = m->S, A = m->A, H = m->H;
    const long N = w.g.N;
    w.base = s->objective == DISTRIBUTIONAL_CVAR ? 0.0 : s->stock0;
    double err = 0;
    for (int k = 0; k < S * A; k++) {
        w.q[k] = lround(m->R[k] / w.g.delta);
        err = fmax(err, fabs(m->R[k] - w.g.delta * (double)w.q[k]));
    }
    info->delta = w.g.delta;
    info->exact = err <= 1e-12 * fmax(1.0, w.g.delta);
    info->stock_error = info->exact ? 0.0 : H * err;
    info->klo = w.g.klo;
    info->N = N;
    info->stock_base = w.base;
    sv_mdp_optimal(m, 0, 0, w.V, NULL, w.Qm);
    info->expected_optimal = sv_mdp_start_value(m, w.V);
    for (long i = 0; i < (long)H * S * N; i++)
        w.pi[i] = -1;
    for (int h = 0; h < H; h++) {  /* policy iteration starts from action 0 */
        long lo, hi;
        layer(&w, h, &lo, &hi);
        for (int st = 0; st < S; st++)
            for (long k = lo; k <= hi; k++)
                w.pi[((long)h * S + st) * N + k] = 0;
    }
    w.h = H;

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    long it, k0 = 0;
    double obj = NAN;
    int done = 0;
    if (s->method == DISTRIBUTIONAL_VALUE_ITERATION) {
        terminal(&w);
        for (it = 0; !sv_loop_check(&L, it, obj, 0, it == H); it++) {
            if (step(&w, H - 1 - (int)it, 0, &L))
                break;
            obj = start_value(&w, w.h, &k0);  /* the (H - h)-step problem's optimum */
        }
        done = L.status == SV_SOLVED;

    } else {
        for (it = 0; !sv_loop_check(&L, it, obj, 0, it > 0 && w.changes == 0); it++) {
            w.changes = 0;
            terminal(&w);
            int stop = 0;
            for (int h = H - 1; h >= 0 && !stop; h--)
                stop = step(&w, h, 1, &L);
            if (stop)
                break;
            obj = start_value(&w, 0, &k0);  /* the value of the policy just evaluated */
        }
        done = it > 0 && (L.status == SV_SOLVED || L.status == SV_MAX_ITER);
    }
    if (done) {
        forward(&w, k0);
        double c0 = w.base + w.g.delta * (double)(k0 + w.g.klo), mean = 0;
        long n = 0;
        for (long k = 0; k < N; k++) {
            if (w.D[k] <= 0)
                continue;
            double x = w.base + w.g.delta * (double)(k + w.g.klo);
            mean += w.D[k] * (x - c0);
            if (out && out->atoms) {
                out->atoms[n] = x - c0;
                out->probs[n] = w.D[k];
            }
            n++;
        }
        info->n_atoms = n;
        info->mean_return = mean;
        info->stock0 = c0;
        info->var = s->objective == DISTRIBUTIONAL_CVAR ? -c0 : NAN;
        if (out && out->policy)
            memcpy(out->policy, w.pi, (size_t)H * S * N * sizeof *w.pi);
    }
    info->changes = (int)w.changes;
    sv_loop_end(&L, &info->base, it, obj, (double)w.changes);
    ws_free(&w);
    return SV_OK;
}
