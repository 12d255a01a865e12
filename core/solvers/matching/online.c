/* online.c - online matching with stochastic rewards by Monte Carlo (see online.h).
 *
 * One trial draws an arrival order (when the problem asks for a random one), a rank for every
 * offline vertex (Ranking's random permutation) and one uniform coin c_e per edge; the edge
 * (u, v) succeeds iff c_e < p_uv. Every online vertex arrives once and each algorithm assigns it
 * at most once, so the three algorithms see the same coins: the comparison is coupled, and each
 * algorithm alone still sees independent Bernoulli(p_uv) outcomes. On the arrival of v, among
 * the neighbours u that are still unmatched:
 *   Stochastic Balance picks the largest p_uv (1 - f(l_u)), l_u = sum of p_uw over the earlier
 *     arrivals w assigned to u (u's load; every assignment adds to it until one succeeds);
 *   Ranking picks the smallest rank;
 *   greedy picks the largest p_uv.
 * Ties go to the first edge of v's list. An online vertex with no unmatched neighbour is left
 * unassigned. The matched count over the LP value is one sample of each algorithm's ratio; the
 * running mean and variance are Welford's. The workspace is allocated once, before the loop. */
#include "core/solvers/matching/online.h"

#include <glpk.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels/glpk_run.h"
#include "core/rng.h"

static const char *const penalty_choices[] = {"msvv", "exp", "load", NULL};

const sv_param_spec online_params[] = {
    SV_P_ENUM(online_settings, penalty, penalty_choices, ONLINE_PENALTY_MSVV,
              "Stochastic Balance's penalty f of the load l: msvv = e^(l-1), score p (1 - f(l)); "
              "exp = 1 - e^(-l), score p e^(-l); load = least load first"),
    SV_P_SEED(online_settings, seed, 0, "seed of the arrival orders, ranks and outcomes"),
    SV_CONTROL_PARAMS(online_settings, ctl, ONLINE_DEFAULT_TOL,
                      "stop once every algorithm's 95% confidence half-width of the ratio is <= "
                      "tol (checked at every report, from 30 trials on); 0: run max_iter trials",
                      ONLINE_DEFAULT_MAX_ITER, ONLINE_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

static const char *const alg_names[ONLINE_N_ALGS] = {"balance", "ranking", "greedy"};

const char *online_alg_name(int alg)
{
    return alg >= 0 && alg < ONLINE_N_ALGS ? alg_names[alg] : "?";
}

void online_settings_default(online_settings *s)
{
    sv_params_defaults(online_params, s);
}

int online_check_settings(const online_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(online_params, s, "/params", e);
}

int online_check_problem(const online_problem *p, sv_err *e)
{
    if (!p || p->n_offline < 1 || p->n_online < 1 || !p->ptr)
        return sv_fail(e, "/problem", "needs at least one offline and one online vertex");
    if (p->ptr[0] != 0)
        return sv_fail(e, "/problem/online", "edge list does not start at 0");
    for (int v = 0; v < p->n_online; v++)
        if (p->ptr[v + 1] < p->ptr[v])
            return sv_fail(e, "/problem/online", "edge offsets decrease at online vertex %d", v);
    int nnz = p->ptr[p->n_online];
    if (nnz < 1)
        return sv_fail(e, "/problem/online", "the graph has no edge: the LP value is 0 and no "
                       "ratio is defined");
    if (!p->adj || !p->p)
        return sv_fail(e, "/problem/online", "edges missing");
    char path[96];
    for (int v = 0; v < p->n_online; v++) {
        /* strictly monotone neighbours (every generated graph) need no pair check */
        int up = 1, down = 1;
        for (int k = p->ptr[v] + 1; k < p->ptr[v + 1] && (up || down); k++) {
            up = up && p->adj[k - 1] < p->adj[k];
            down = down && p->adj[k - 1] > p->adj[k];
        }
        int sorted = up || down;
        for (int k = p->ptr[v]; k < p->ptr[v + 1]; k++) {
            snprintf(path, sizeof path, "/problem/online/%d/%d", v, k - p->ptr[v]);
            if (p->adj[k] < 0 || p->adj[k] >= p->n_offline)
                return sv_fail(e, path, "offline vertex %d is not in [0, %d)", p->adj[k],
                               p->n_offline);
            if (!(p->p[k] > 0 && p->p[k] <= 1))
                return sv_fail(e, path, "success probability must be in (0, 1], got %g", p->p[k]);
            for (int q = p->ptr[v]; !sorted && q < k; q++)
                if (p->adj[q] == p->adj[k])
                    return sv_fail(e, path, "offline vertex %d appears twice among online vertex "
                                   "%d's edges", p->adj[k], v);
        }
    }
    return SV_OK;
}

/* ================================ the LP ================================ */

typedef struct {
    const online_problem *p;
    int *ia, *ja;
    double *ar;
    double value;
} lp_job;

/* Under sv_glpk_run: GLPK may jump out of any call here, so nothing of GLPK survives it and the
 * arrays belong to the caller. */
static int lp_solve(void *ctx)
{
    lp_job *J = ctx;
    const online_problem *p = J->p;
    int m = p->n_offline, n = p->n_online, nnz = p->ptr[n];
    int *ia = J->ia, *ja = J->ja;
    double *ar = J->ar;
    glp_prob *lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MAX);
    glp_add_rows(lp, m + n);  /* rows 1..m: offline budgets; m+1..m+n: online vertices */
    for (int i = 1; i <= m + n; i++)
        glp_set_row_bnds(lp, i, GLP_UP, 0.0, 1.0);
    glp_add_cols(lp, nnz);
    int t = 0;
    for (int v = 0; v < n; v++)
        for (int k = p->ptr[v]; k < p->ptr[v + 1]; k++) {
            int col = k + 1;
            glp_set_col_bnds(lp, col, GLP_LO, 0.0, 0.0);
            glp_set_obj_coef(lp, col, p->p[k]);
            t++;
            ia[t] = p->adj[k] + 1, ja[t] = col, ar[t] = p->p[k];
            t++;
            ia[t] = m + v + 1, ja[t] = col, ar[t] = 1.0;
        }
    glp_load_matrix(lp, t, ia, ja, ar);
    /* GLPK's primal simplex pivots through many degenerate vertices on these LPs (5 s at
     * 40000 edges on this machine); its interior-point method takes a fraction of that and
     * ends within about 1e-8 of the optimum, which is plenty for the denominator of a ratio
     * known to a few 1e-3. Small LPs keep the exact vertex of the simplex. Messages on: their
     * lines are where sv_glpk_run polls for a stop (the text is swallowed). */
    int ok = 0;
    if (nnz > ONLINE_LP_SIMPLEX_MAX_EDGES) {
        glp_iptcp parm;
        glp_init_iptcp(&parm);
        parm.msg_lev = GLP_MSG_ON;
        ok = glp_interior(lp, &parm) == 0 && glp_ipt_status(lp) == GLP_OPT;
        J->value = ok ? glp_ipt_obj_val(lp) : NAN;
    }
    if (!ok) {  /* small, or the interior-point method failed (it can on degenerate LPs) */
        glp_smcp parm;
        glp_init_smcp(&parm);
        parm.msg_lev = GLP_MSG_ON;
        parm.presolve = GLP_ON;
        ok = glp_simplex(lp, &parm) == 0 && glp_get_status(lp) == GLP_OPT;
        J->value = ok ? glp_get_obj_val(lp) : NAN;
    }
    glp_delete_prob(lp);
    return ok;
}

int online_lp_value(const online_problem *p, double *value, sv_loop *L)
{
    int n = p->n_online, nnz = p->ptr[n];
    lp_job J = {.p = p, .value = NAN};
    J.ia = malloc((size_t)(2 * nnz + 1) * sizeof *J.ia);
    J.ja = malloc((size_t)(2 * nnz + 1) * sizeof *J.ja);
    J.ar = malloc((size_t)(2 * nnz + 1) * sizeof *J.ar);
    int ok = 0;
    sv_glpk_outcome out = SV_GLPK_FAILED;
    if (J.ia && J.ja && J.ar)
        out = sv_glpk_run(L, lp_solve, &J, &ok);
    int oom = !J.ia || !J.ja || !J.ar;
    free(J.ia);
    free(J.ja);
    free(J.ar);
    if (oom)
        return SV_ENOMEM;
    if (out == SV_GLPK_DONE)
        glp_free_env();  /* GLPK keeps a per-thread environment: a worker must not leak it */
    if (out == SV_GLPK_STOPPED)
        return SV_CANCELLED;
    *value = J.value;
    return out == SV_GLPK_DONE && ok && J.value > 0 ? SV_OK : SV_ENUMERIC;
}

/* ================================ workspace ================================ */

typedef struct {
    const online_problem *p;
    int *order;            /* n_online: this trial's arrival order */
    int *rank;             /* n_offline: this trial's ranks (a permutation) */
    double *coin;          /* nnz: this trial's uniforms, one per edge */
    double *load;          /* n_offline */
    double *fac;           /* n_offline: balance's factor 1 - f(load) (load: -load), kept in
                              step with the load so that a score costs no exp */
    unsigned char *avail;  /* n_offline: 1 while unmatched */
    double lp;
    long trials;
    double mean[ONLINE_N_ALGS], m2[ONLINE_N_ALGS];
} online_ws;

static void ws_free(online_ws *w)
{
    free(w->order);
    free(w->rank);
    free(w->coin);
    free(w->load);
    free(w->fac);
    free(w->avail);
}

static int ws_alloc(online_ws *w, const online_problem *p)
{
    w->order = malloc((size_t)p->n_online * sizeof *w->order);
    w->rank = malloc((size_t)p->n_offline * sizeof *w->rank);
    w->coin = malloc((size_t)p->ptr[p->n_online] * sizeof *w->coin);
    w->load = malloc((size_t)p->n_offline * sizeof *w->load);
    w->fac = malloc((size_t)p->n_offline * sizeof *w->fac);
    w->avail = malloc((size_t)p->n_offline);
    if (!w->order || !w->rank || !w->coin || !w->load || !w->fac || !w->avail) {
        ws_free(w);
        return SV_ENOMEM;
    }
    for (int v = 0; v < p->n_online; v++)
        w->order[v] = v;
    for (int u = 0; u < p->n_offline; u++)
        w->rank[u] = u;
    return SV_OK;
}

static double half_width(const online_ws *w, int a)
{
    if (w->trials < 2)
        return INFINITY;
    return 1.96 * sqrt(w->m2[a] / (double)(w->trials - 1) / (double)w->trials);
}

static double max_half_width(const online_ws *w)
{
    double h = 0;
    for (int a = 0; a < ONLINE_N_ALGS; a++)
        h = fmax(h, half_width(w, a));
    return h;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    static const char *const rn[ONLINE_N_ALGS] = {"ratio_balance", "ratio_ranking",
                                                  "ratio_greedy"};
    static const char *const cn[ONLINE_N_ALGS] = {"ci95_balance", "ci95_ranking",
                                                  "ci95_greedy"};
    online_ws *w = ctx;
    if (cap < 2 * ONLINE_N_ALGS + 1)
        return 0;
    int k = 0;
    for (int a = 0; a < ONLINE_N_ALGS; a++) {
        m[k++] = (sv_metric){rn[a], w->trials > 0 ? w->mean[a] : NAN};
        m[k++] = (sv_metric){cn[a], half_width(w, a)};
    }
    m[k++] = (sv_metric){"lp_value", w->lp};
    return k;
}

/* ================================ one trial ================================ */

/* Balance's factor of load l (see online_ws.fac). */
static double penalty_factor(int penalty, double l)
{
    return penalty == ONLINE_PENALTY_MSVV ? 1.0 - exp(l - 1.0)
           : penalty == ONLINE_PENALTY_EXP ? exp(-l)
                                           : -l;
}

/* The neighbour algorithm alg picks for online vertex v, as an edge index, or -1. */
static int choose(const online_ws *w, int alg, int penalty, int v)
{
    const online_problem *p = w->p;
    int best = -1;
    double bs = -INFINITY;
    for (int k = p->ptr[v]; k < p->ptr[v + 1]; k++) {
        int u = p->adj[k];
        if (!w->avail[u])
            continue;
        double s;
        if (alg == ONLINE_ALG_RANKING)
            s = -(double)w->rank[u];
        else if (alg == ONLINE_ALG_GREEDY)
            s = p->p[k];
        else if (penalty == ONLINE_PENALTY_LOAD)
            s = w->fac[u];
        else
            s = p->p[k] * w->fac[u];
        if (s > bs) {
            bs = s;
            best = k;
        }
    }
    return best;
}

/* One trial of every algorithm: matched[a]. Returns 1 when a poll said stop (the trial is then
 * incomplete and is not counted). */
static int trial(online_ws *w, const online_settings *s, sv_rng *r, sv_loop *L, long *matched)
{
    const online_problem *p = w->p;
    int n = p->n_online, m = p->n_offline, nnz = p->ptr[n];
    if (p->random_order)
        sv_rng_shuffle(r, w->order, n);
    sv_rng_shuffle(r, w->rank, m);
    for (int e = 0; e < nnz; e++)
        w->coin[e] = sv_rng_uniform(r);
    long since_poll = 0;
    for (int a = 0; a < ONLINE_N_ALGS; a++) {
        memset(w->avail, 1, (size_t)m);
        double fac0 = penalty_factor(s->penalty, 0.0);
        for (int u = 0; u < m; u++) {
            w->load[u] = 0.0;
            w->fac[u] = fac0;
        }
        long got = 0;
        for (int t = 0; t < n; t++) {
            if (++since_poll == ONLINE_POLL_ARRIVALS) {
                since_poll = 0;
                if (sv_loop_poll(L))
                    return 1;
            }
            int v = w->order[t];
            int k = choose(w, a, s->penalty, v);
            if (k < 0)
                continue;
            int u = p->adj[k];
            w->load[u] += p->p[k];
            if (a == ONLINE_ALG_BALANCE)
                w->fac[u] = penalty_factor(s->penalty, w->load[u]);
            if (w->coin[k] < p->p[k]) {
                w->avail[u] = 0;
                got++;
            }
        }
        matched[a] = got;
    }
    return 0;
}

/* ================================ the solver ================================ */

int online_solve(const online_problem *p, const online_settings *s, const sv_monitor *mon,
                 online_info *info, sv_err *e)
{
    online_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = online_check_settings(s, e)) != SV_OK || (rc = online_check_problem(p, e)) != SV_OK)
        return rc;

    online_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.lp = NAN;
    if ((rc = ws_alloc(&w, p)) != SV_OK)
        return rc;
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    /* The LP runs under the loop's clock: a cancel or time limit stops it (sv_glpk_run). */
    double t_lp = sv_now_s();
    rc = online_lp_value(p, &w.lp, &L);
    info->lp_time_s = sv_now_s() - t_lp;
    if (rc == SV_CANCELLED) {
        /* Stopped before the first trial: no ratio yet. */
        w.lp = NAN;
        info->lp_value = NAN;
        for (int a = 0; a < ONLINE_N_ALGS; a++)
            info->alg[a].ratio = info->alg[a].ci95 = info->alg[a].matched =
                info->alg[a].matched_ci95 = NAN;
        sv_loop_end(&L, &info->base, 0, 0.0, INFINITY);
        ws_free(&w);
        return SV_OK;
    }
    if (rc != SV_OK) {
        if (rc == SV_ENUMERIC)
            sv_fail(e, "/problem", "the LP benchmark could not be solved");
        ws_free(&w);
        return rc;
    }
    info->lp_value = w.lp;

    sv_rng r;
    sv_rng_seed(&r, s->seed);
    long every = s->ctl.report_every, k;
    long matched[ONLINE_N_ALGS];
    /* 0 until the first trial ends: progress events carry a number (docs/openapi.json) */
    double obj = 0.0, res = INFINITY;
    for (k = 0;; k++) {
        int checked = k % every == 0;
        res = max_half_width(&w);
        int solved = checked && k >= 30 && res <= s->ctl.tol;
        if (sv_loop_check(&L, k, obj, 0, solved))
            break;
        if (trial(&w, s, &r, &L, matched))
            break;
        w.trials = k + 1;
        for (int a = 0; a < ONLINE_N_ALGS; a++) {  /* Welford */
            double x = (double)matched[a] / w.lp, d = x - w.mean[a];
            w.mean[a] += d / (double)w.trials;
            w.m2[a] += d * (x - w.mean[a]);
        }
        obj = w.mean[ONLINE_ALG_BALANCE];
    }
    res = max_half_width(&w);
    info->trials = w.trials;
    for (int a = 0; a < ONLINE_N_ALGS; a++) {
        online_alg_stats *st = &info->alg[a];
        st->ratio = w.trials > 0 ? w.mean[a] : NAN;
        st->ci95 = half_width(&w, a);
        st->matched = st->ratio * w.lp;
        st->matched_ci95 = st->ci95 * w.lp;
    }
    sv_loop_end(&L, &info->base, w.trials, obj, res);
    ws_free(&w);
    return SV_OK;
}
