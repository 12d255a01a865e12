/* srrw.c - SA-SRRW (Hu, Doshi, Eun, ICLR 2024), simulated on one thread.
 *
 * The token sits at agent X_n; x_n is the walk's visit measure (a point of the simplex, x_0 =
 * mu) and theta_n the iterate. One step (the paper's SA-SRRW recursion):
 *   X_{n+1} ~ K[x_n](X_n, .),  K[x](i, j) = P(i, j) (x_j / mu_j)^-alpha / sum_k P(i, k) (x_k / mu_k)^-alpha
 *   x_{n+1} = x_n + gamma_{n+1} (delta_{X_{n+1}} - x_n),           gamma_n = (n+1)^-a
 *   theta_{n+1} = theta_n - beta_{n+1} w_{X_{n+1}} grad f_{X_{n+1}}(theta_n),  beta_n = step0 (n+1)^-b
 * with P the base walk, mu its stationary law and w_i = 1 / (n mu_i) (1 for the Metropolis walk).
 *
 * x_n changes in every coordinate at every step (all shrink by 1 - gamma), but K only needs the
 * ratios x_j / mu_j among one agent's neighbours. So x_j = c mu_j exp(l_j) is kept as the common
 * scale log c and one log-weight l_j per agent: a step changes log c and the visited agent's l
 * only, and K's weights are exp(-alpha (l_j - min l)) over the neighbourhood, which neither
 * overflows nor underflows for any alpha or run length. */
#include "core/solvers/distributed/srrw.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/matcheck.h"
#include "core/models/agents.h"
#include "core/rng.h"

static const char *const base_choices[] = {"mhrw", "srw", NULL};

const sv_param_spec srrw_params[] = {
    SV_P_NUMBER(srrw_settings, alpha, 0, 1e3, SRRW_DEFAULT_ALPHA,
                "self-repellence: the walk avoids agents visited more than their share by the "
                "power -alpha of the ratio; 0 is the base walk"),
    SV_P_ENUM(srrw_settings, base, base_choices, SRRW_DEFAULT_BASE,
              "base walk: mhrw = Metropolis-Hastings towards the uniform share; srw = simple "
              "random walk (share proportional to degree, gradients reweighted)"),
    SV_P_NUMBER_GT(srrw_settings, a, 0.5, 1, SRRW_DEFAULT_A,
                   "visit-measure steps gamma_n = (n+1)^-a"),
    SV_P_NUMBER_GT(srrw_settings, b, 0.5, 1, SRRW_DEFAULT_B,
                   "iterate steps beta_n = step0 (n+1)^-b; b > a is the paper's fastest case"),
    SV_P_NUMBER_GT(srrw_settings, step0, 0, INFINITY, NAN,
                   "scale of the iterate steps; null: 1 / max_i L_i"),
    SV_P_SEED(srrw_settings, seed, 0, "seed of the token's start and moves"),
    SV_CONTROL_PARAMS(srrw_settings, ctl, SRRW_DEFAULT_TOL,
                      "stop when |grad f(theta)| <= tol max(1, |grad f(theta_0)|), checked at "
                      "every report",
                      SRRW_DEFAULT_MAX_ITER, SRRW_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void srrw_settings_default(srrw_settings *s)
{
    sv_params_defaults(srrw_params, s);
}

int srrw_check_settings(const srrw_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(srrw_params, s, "/params", e);
}

/* ================================ validation ================================ */

static int check_problem(const srrw_problem *p, sv_err *e)
{
    if (!p)
        return sv_fail(e, "/problem", "a graph of at least one agent is required");
    return sv_agents_check(p->graph, p->agents, "the token could never reach some of them", e);
}

/* ================================ workspace ================================ */

typedef struct {
    const srrw_problem *p;
    const srrw_settings *s;
    sv_loop *L;
    int n, d;
    double *pv;      /* 2|E|: P(i, j) beside graph->adj */
    double *pself;   /* n: P(i, i) */
    double *logmu;   /* n: log mu_i */
    double *wgt;     /* n: w_i = 1 / (n mu_i) */
    double *l;       /* n: log-weights of the visit measure */
    double logc;     /* log of the common scale */
    double *kw;      /* max degree + 1: one neighbourhood's kernel weights */
    double *g;       /* d: one gradient */
    double *full;    /* d: the full gradient */
    double *work;    /* max rows: glm workspace */
    double step0;
    double beta;     /* the last iterate step */
    const double *theta;
    double gnorm;    /* |grad f| at the last check */
} srrw_ws;

static void ws_free(srrw_ws *w)
{
    free(w->pv);
    free(w->pself);
    free(w->logmu);
    free(w->wgt);
    free(w->l);
    free(w->kw);
    free(w->g);
    free(w->full);
    free(w->work);
}

static int ws_alloc(srrw_ws *w, const srrw_problem *p)
{
    const sv_graph *G = p->graph;
    int n = G->n, d = p->agents[0].A->cols, maxdeg = 0, rows = 1;
    for (int i = 0; i < n; i++) {
        if (sv_graph_degree(G, i) > maxdeg)
            maxdeg = sv_graph_degree(G, i);
        if (p->agents[i].A->rows > rows)
            rows = p->agents[i].A->rows;
    }
    w->n = n;
    w->d = d;
    w->pv = malloc((size_t)(G->ptr[n] > 0 ? G->ptr[n] : 1) * sizeof *w->pv);
    w->pself = malloc((size_t)n * sizeof *w->pself);
    w->logmu = malloc((size_t)n * sizeof *w->logmu);
    w->wgt = malloc((size_t)n * sizeof *w->wgt);
    w->l = calloc((size_t)n, sizeof *w->l);
    w->kw = malloc((size_t)(maxdeg + 1) * sizeof *w->kw);
    w->g = malloc((size_t)d * sizeof *w->g);
    w->full = malloc((size_t)d * sizeof *w->full);
    w->work = malloc((size_t)rows * sizeof *w->work);
    if (!w->pv || !w->pself || !w->logmu || !w->wgt || !w->l || !w->kw || !w->g || !w->full ||
        !w->work) {
        ws_free(w);
        return SV_ENOMEM;
    }
    return SV_OK;
}

/* The base walk P and its target mu. */
static void base_walk(srrw_ws *w, int base)
{
    const sv_graph *G = w->p->graph;
    int n = w->n;
    for (int i = 0; i < n; i++) {
        int di = sv_graph_degree(G, i);
        double out = 0;
        for (int s = G->ptr[i]; s < G->ptr[i + 1]; s++) {
            int dj = sv_graph_degree(G, G->adj[s]);
            w->pv[s] = base == SRRW_BASE_SRW ? 1.0 / di : fmin(1.0 / di, 1.0 / dj);
            out += w->pv[s];
        }
        w->pself[i] = di == 0 ? 1.0 : fmax(0.0, 1.0 - out);
        double mu = base == SRRW_BASE_SRW && G->n_edges > 0 ? (double)di / (2.0 * G->n_edges)
                                                            : 1.0 / n;
        w->logmu[i] = log(mu);
        w->wgt[i] = 1.0 / (n * mu);
    }
}

/* ================================ one step ================================ */

/* Draws the token's next agent from K[x](i, .): the self-loop first, then the neighbours. */
static int next_agent(srrw_ws *w, int i, double alpha, sv_rng *r)
{
    const sv_graph *G = w->p->graph;
    int lo = G->ptr[i], hi = G->ptr[i + 1];
    double m = w->pself[i] > 0 ? w->l[i] : INFINITY;
    for (int s = lo; s < hi; s++)
        if (w->pv[s] > 0 && w->l[G->adj[s]] < m)
            m = w->l[G->adj[s]];
    double total = w->pself[i] > 0 ? w->pself[i] * exp(-alpha * (w->l[i] - m)) : 0.0;
    w->kw[0] = total;
    for (int s = lo; s < hi; s++) {
        double k = w->pv[s] > 0 ? w->pv[s] * exp(-alpha * (w->l[G->adj[s]] - m)) : 0.0;
        total += k;
        w->kw[s - lo + 1] = total;
    }
    double u = sv_rng_uniform(r) * total;
    if (u < w->kw[0])
        return i;
    for (int s = lo; s < hi; s++)
        if (u < w->kw[s - lo + 1])
            return G->adj[s];
    for (int s = hi - 1; s >= lo; s--)  /* u rounded onto total: the last possible agent */
        if (w->pv[s] > 0)
            return G->adj[s];
    return i;
}

/* x <- (1 - gamma) x + gamma delta_j, in the log form of the file's header. */
static void visit(srrw_ws *w, int j, double gamma)
{
    w->logc += log1p(-gamma);
    double v = log(gamma) - w->logc - w->logmu[j];
    double u = w->l[j];
    double hi = fmax(u, v), lo = fmin(u, v);
    w->l[j] = hi + log1p(exp(lo - hi));
}

/* f(theta) and its gradient into w->full, polling every 256 agents; NaN once the loop stops. */
static double full_value(srrw_ws *w, const double *theta)
{
    double f = 0;
    sv_zero(w->d, w->full);
    for (int i = 0; i < w->n; i++) {
        if ((i & 255) == 255 && sv_loop_poll(w->L))
            return NAN;
        f += sv_glm_value(&w->p->agents[i], theta, w->g, w->work);
        sv_axpy(w->d, 1.0, w->g, w->full);
    }
    sv_scal(w->d, 1.0 / w->n, w->full);
    w->gnorm = sv_nrm2(w->d, w->full);
    return f / w->n;
}

/* TV(x_n, mu) = (1/2) sum_j |x_j - mu_j| with x_j = c mu_j exp(l_j). */
static double visits_tv(const srrw_ws *w)
{
    double tv = 0;
    for (int j = 0; j < w->n; j++) {
        double mu = exp(w->logmu[j]);
        tv += fabs(mu * exp(w->logc + w->l[j]) - mu);
    }
    return 0.5 * tv;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    srrw_ws *w = ctx;
    if (cap < 3)
        return 0;
    m[0] = (sv_metric){"grad_norm", w->gnorm};
    m[1] = (sv_metric){"visits_tv", visits_tv(w)};
    m[2] = (sv_metric){"step", w->beta};
    return 3;
}

/* ================================ the solver ================================ */

int srrw_solve(const srrw_problem *p, const srrw_settings *s, const sv_monitor *mon,
               double *theta, double *visits, srrw_info *info, sv_err *e)
{
    srrw_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = srrw_check_settings(s, e)) != SV_OK || (rc = check_problem(p, e)) != SV_OK)
        return rc;
    if (!theta || !sv_all_finite(p->agents[0].A->cols, theta))
        return sv_fail(e, "/problem/x0", "starting point missing or not finite");

    srrw_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.s = s;
    if ((rc = ws_alloc(&w, p)) != SV_OK)
        return rc;
    base_walk(&w, s->base);
    double lmax = 0;
    for (int i = 0; i < w.n; i++)
        lmax = fmax(lmax, w.wgt[i] * sv_glm_smoothness(&p->agents[i]));
    w.step0 = isnan(s->step0) ? (lmax > 0 ? 1.0 / lmax : 1.0) : s->step0;
    w.theta = theta;

    sv_rng r;
    sv_rng_seed(&r, s->seed);
    int X;  /* X_0 ~ mu */
    if (s->base == SRRW_BASE_SRW && p->graph->n_edges > 0)
        X = p->graph->adj[sv_rng_below(&r, (uint64_t)p->graph->ptr[w.n])];
    else
        X = (int)sv_rng_below(&r, (uint64_t)w.n);

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    w.L = &L;
    double obj = full_value(&w, theta), g0 = fmax(1.0, w.gnorm);
    const double tol = s->ctl.tol * g0;
    long every = s->ctl.report_every, k;
    for (k = 0;; k++) {
        int checked = k % every == 0;
        if (checked && k > 0)
            obj = full_value(&w, theta);
        if (sv_loop_stopped(&L))
            break;  /* a poll inside the full pass said stop */
        int diverged = checked && (!isfinite(obj) || !(w.gnorm <= SRRW_DIVERGENCE_FACTOR * g0));
        if (sv_loop_check(&L, k, obj, diverged, checked && w.gnorm <= tol))
            break;
        X = next_agent(&w, X, s->alpha, &r);
        double n1 = (double)k + 2.0;  /* the steps of x_{k+1} and theta_{k+1}: index k+1 */
        visit(&w, X, pow(n1, -s->a));
        w.beta = w.step0 * pow(n1, -s->b);
        sv_glm_value(&p->agents[X], theta, w.g, w.work);
        sv_axpy(w.d, -w.beta * w.wgt[X], w.g, theta);
    }
    info->gradient_evals = k;
    /* The final values at the returned theta: one more pass (without polls: the run has ended
     * either way, and a pass is bounded) when the last check is stale or was cut short. */
    if (k % every != 0 || !isfinite(obj)) {
        w.L = NULL;
        obj = full_value(&w, theta);
    }
    info->grad_norm = w.gnorm;
    info->visits_tv = visits_tv(&w);
    info->step0 = w.step0;
    if (visits)
        for (int j = 0; j < w.n; j++)
            visits[j] = exp(w.logmu[j] + w.logc + w.l[j]);
    sv_loop_end(&L, &info->base, k, obj, w.gnorm);
    ws_free(&w);
    return SV_OK;
}
