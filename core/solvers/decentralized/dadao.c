/* dadao.c - DADAO (Nabli, Oyallon, ICML 2023), simulated on one thread in continuous time.
 *
 * Agent i keeps s_i = (x_i, x~_i, y_i, y~_i, z_i, z~_i), six vectors of R^d. Between events every
 * agent's state follows the same linear ODE ds/dt = M s, coordinate by coordinate:
 *   dx  = eta (x~ - x),   dx~ = eta~ (x - x~),   dy = alpha (y~ - y),
 *   dy~ = -theta (nu x~ + y + z),   dz = alpha (z~ - z),   dz~ = alpha~ (z - z~)
 * and two families of independent Poisson clocks jump it:
 *   gradient clock of agent i (rate 1):  g = grad f_i(x_i) - nu x_i - y~_i,
 *     x_i -= gamma g,  x~_i -= gamma~ g,  y~_i += (delta + delta~) g
 *   communication clock of edge ij (rate lambda_ij):  m = (y_i + z_i) - (y_j + z_j),
 *     z_i -= beta m,  z~_i -= beta~ m,  z_j += beta m,  z~_j += beta~ m
 * with the paper's constants: nu = mu/2, s = sqrt(nu/L), eta = eta~ = s/8, alpha = s/4,
 * alpha~ = s/8, theta = 1/(2s), gamma = 1/(4L), gamma~ = 1/(4 sqrt(L nu)), delta = s/4,
 * delta~ = 1, beta = 1/2, beta~ = 2 chi_1 / s, chi_1 = 1/lambda_2 of the rate-weighted
 * Laplacian Lambda = sum_ij lambda_ij (e_i - e_j)(e_i - e_j)'.
 *
 * Exact simulation: an agent's state is only brought forward when one of its clocks rings (or a
 * check reads it), by exp(tau M) with tau the time since its last event, in closed form: the
 * (x, x~) and (z, z~) pairs are 2 x 2 relaxations, and (y, y~) is a damped oscillator driven by
 * nu x~ + z, whose forcing is a sum of three exponentials in time, so the variation-of-constants
 * integral has a closed form too. The superposition of the independent clocks is one Poisson
 * process of rate n + sum lambda_ij whose events pick a gradient at a uniform agent with
 * probability n / rate, else an edge with probability lambda_ij / rate (uniform rates here):
 * the same law as the clocks themselves, one exponential draw per event. */
#include "core/solvers/decentralized/dadao.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/matcheck.h"
#include "core/models/agents.h"
#include "core/rng.h"

const sv_param_spec dadao_params[] = {
    SV_P_NUMBER_GT(dadao_settings, rate_factor, 0, 1e6, DADAO_DEFAULT_RATE_FACTOR,
                   "total communication rate as a multiple of the paper's sufficient rate "
                   "sqrt(2 chi_1 chi_2) of the graph (edges at equal rates); >= 1 meets the "
                   "paper's condition"),
    SV_P_NUMBER_GT(dadao_settings, mu, 0, INFINITY, NAN,
                   "strong convexity constant of every local objective; null: the smallest "
                   "exact one"),
    SV_PN_NUMBER_GT(dadao_settings, smooth, "smoothness", 0, INFINITY, NAN,
                    "smoothness constant of every local objective; null: the largest one"),
    SV_P_SEED(dadao_settings, seed, 0, "seed of the gradient and communication clocks"),
    SV_CONTROL_PARAMS(dadao_settings, ctl, DADAO_DEFAULT_TOL,
                      "stop when |grad f(xbar)| <= tol max(1, |grad f(xbar_0)|) and the "
                      "consensus error <= tol max(1, |xbar|), checked at every report",
                      DADAO_DEFAULT_MAX_ITER, DADAO_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void dadao_settings_default(dadao_settings *s)
{
    sv_params_defaults(dadao_params, s);
}

int dadao_check_settings(const dadao_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(dadao_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (!isnan(s->mu) && !isnan(s->smooth) && s->mu > s->smooth)
        return sv_fail(e, "/params/mu", "must be <= smoothness (%g): a function cannot be more "
                       "strongly convex than it is smooth", s->smooth);
    return SV_OK;
}

/* ================================ the flow ================================ */

typedef struct {
    double nu, eta, etat, alpha, alphat, theta;  /* the ODE */
    double gamma, gammat, delta, deltat;         /* the gradient jump */
    double beta, betat;                          /* the communication jump */
} dadao_consts;

static void consts_init(dadao_consts *c, double mu, double smooth, double chi_1)
{
    c->nu = mu / 2;
    double s = sqrt(c->nu / smooth);
    c->eta = c->etat = s / 8;
    c->alpha = s / 4;
    c->alphat = s / 8;
    c->theta = 1 / (2 * s);
    c->gamma = 1 / (4 * smooth);
    c->gammat = 1 / (4 * sqrt(smooth * c->nu));
    c->delta = s / 4;
    c->deltat = 1;
    c->beta = 0.5;
    c->betat = 2 * chi_1 / s;
}

/* exp(tau M) into E (row-major 6 x 6), M the ODE of the file's header. Columns are the flows of
 * the unit states; the scalars they share are computed once. */
static void flow_matrix(const dadao_consts *c, double tau, double *E)
{
    const double a = c->alpha, th = c->theta;
    const double p = c->eta + c->etat, q = c->alpha + c->alphat;
    const double a1 = -expm1(-p * tau) / p, b1 = -expm1(-q * tau) / q;
    const double ep = exp(-p * tau), eq = exp(-q * tau);
    /* exp(tau B), B = [[-a, a], [-th, 0]] = -(a/2) I + B', B'^2 = -w2 I */
    const double w2 = a * th - a * a / 4, damp = exp(-a * tau / 2);
    double cs, sn;  /* exp(tau B) = damp (cs I + sn B') */
    if (w2 > 0) {
        double w = sqrt(w2);
        cs = cos(w * tau);
        sn = sin(w * tau) / w;
    } else if (w2 < 0) {
        double w = sqrt(-w2);
        cs = cosh(w * tau);
        sn = sinh(w * tau) / w;
    } else {
        cs = 1;
        sn = tau;
    }
    const double eB[4] = {damp * (cs - sn * a / 2), damp * sn * a, -damp * sn * th,
                          damp * (cs + sn * a / 2)};
    const double rs[3] = {0, p, q}, er[3] = {1, ep, eq};
    double D[3];
    for (int r = 0; r < 3; r++)
        D[r] = rs[r] * rs[r] - a * rs[r] + a * th;  /* det(B + r I) > 0 */
    for (int k = 0; k < 6; k++) {
        double s0[6] = {0};
        s0[k] = 1;
        double x = s0[0], xt = s0[1], z = s0[4], zt = s0[5];
        double out[6];
        out[0] = x + a1 * c->eta * (xt - x);
        out[1] = xt + a1 * c->etat * (x - xt);
        out[4] = z + b1 * c->alpha * (zt - z);
        out[5] = zt + b1 * c->alphat * (z - zt);
        /* the forcing -theta (nu x~(t) + z(t)) = sum_r cf_r exp(-r t) */
        double xinf = (c->etat * x + c->eta * xt) / p, zinf = (c->alphat * z + c->alpha * zt) / q;
        double cf[3] = {-th * (c->nu * xinf + zinf), -th * c->nu * (xt - xinf), -th * (z - zinf)};
        /* particular solutions w_r(t) = (cf_r / D_r) (a, a - r) exp(-r t) */
        double w0y = s0[2], w0t = s0[3], py = 0, pt = 0;
        for (int r = 0; r < 3; r++) {
            double vy = cf[r] / D[r] * a, vt = cf[r] / D[r] * (a - rs[r]);
            w0y -= vy;
            w0t -= vt;
            py += vy * er[r];
            pt += vt * er[r];
        }
        out[2] = eB[0] * w0y + eB[1] * w0t + py;
        out[3] = eB[2] * w0y + eB[3] * w0t + pt;
        for (int r = 0; r < 6; r++)
            E[r * 6 + k] = out[r];
    }
}

void dadao_flow_matrix(double mu, double smooth, double tau, double E[36])
{
    dadao_consts c;
    consts_init(&c, mu, smooth, 0);
    flow_matrix(&c, tau, E);
}

/* One agent's six vectors (each d long, x first) brought forward by E. */
static void apply_flow(const double *E, int d, double *st)
{
    double *x = st, *xt = st + d, *y = st + 2 * d, *yt = st + 3 * d, *z = st + 4 * d,
           *zt = st + 5 * d;
    for (int j = 0; j < d; j++) {
        double v[6] = {x[j], xt[j], y[j], yt[j], z[j], zt[j]};
        x[j] = E[0] * v[0] + E[1] * v[1];
        xt[j] = E[6] * v[0] + E[7] * v[1];
        y[j] = E[12] * v[0] + E[13] * v[1] + E[14] * v[2] + E[15] * v[3] + E[16] * v[4] +
               E[17] * v[5];
        yt[j] = E[18] * v[0] + E[19] * v[1] + E[20] * v[2] + E[21] * v[3] + E[22] * v[4] +
                E[23] * v[5];
        z[j] = E[28] * v[4] + E[29] * v[5];
        zt[j] = E[34] * v[4] + E[35] * v[5];
    }
}

/* ================================ the graph ================================ */

int dadao_graph_constants(const sv_graph *g, double rate, double *chi_1, double *chi_2,
                          double *lambda_2, double *min_rate)
{
    double c1 = 0, c2 = 0, l2 = 0, mr = 0;
    int n = g->n, rc = SV_OK;
    if (n > 1 && g->n_edges > 0) {
        double *Lp = malloc((size_t)n * (size_t)n * sizeof *Lp);
        double *w = malloc((size_t)n * sizeof *w);
        if (!Lp || !w)
            rc = SV_ENOMEM;
        if (rc == SV_OK) {
            sv_graph_laplacian(g, Lp);
            rc = sv_sym_eig(n, Lp, w, 1);  /* column k of Lp: eigenvector k */
        }
        if (rc == SV_OK && !(w[1] > 0))
            rc = SV_ENUMERIC;  /* a connected graph has lambda_2 > 0 */
        if (rc == SV_OK) {
            /* R_ij = (e_i - e_j)' L^+ (e_i - e_j) = sum_{k >= 1} (v_k[i] - v_k[j])^2 / w_k */
            double rmax = 0;
            for (int i = 0; i < n; i++)
                for (int t = g->ptr[i]; t < g->ptr[i + 1]; t++) {
                    int j = g->adj[t];
                    if (j < i)
                        continue;
                    const double *vi = Lp + (size_t)i * n, *vj = Lp + (size_t)j * n;
                    double r = 0;
                    for (int k = 1; k < n; k++)
                        r += (vi[k] - vj[k]) * (vi[k] - vj[k]) / w[k];
                    rmax = fmax(rmax, r);
                }
            double m = (double)g->n_edges;
            l2 = w[1];
            /* unit total rate: Lambda_1 = L / |E| */
            double c1u = m / l2, c2u = 0.5 * m * rmax;
            mr = sqrt(2 * c1u * c2u);
            c1 = rate > 0 ? c1u / rate : INFINITY;
            c2 = rate > 0 ? c2u / rate : INFINITY;
        }
        free(Lp);
        free(w);
    }
    if (rc == SV_OK) {
        if (chi_1)
            *chi_1 = c1;
        if (chi_2)
            *chi_2 = c2;
        if (lambda_2)
            *lambda_2 = l2;
        if (min_rate)
            *min_rate = mr;
    }
    return rc;
}

/* ================================ validation ================================ */

static int check_problem(const dadao_problem *p, sv_err *e)
{
    if (!p)
        return sv_fail(e, "/problem", "a graph of at least one agent is required");
    if (p->graph && p->graph->n > DADAO_MAX_AGENTS)
        return sv_fail(e, "/problem", "%d agents: at most %d (the Laplacian's spectrum is a dense "
                       "eigendecomposition)", p->graph->n, DADAO_MAX_AGENTS);
    return sv_agents_check(p->graph, p->agents, "gossip could never reach some of them", e);
}

/* ================================ workspace ================================ */

typedef struct {
    const dadao_problem *p;
    sv_loop *L;
    dadao_consts c;
    int n, d;
    long m;          /* edges */
    double *st;      /* n x 6 x d: the agents' states */
    double *last;    /* n: each agent's last event time */
    int *ends;       /* 2m: edge k joins ends[2k] and ends[2k+1] */
    double *xnow;    /* n x d: the agents' x at the time of a check */
    double *xbar;    /* d */
    double *g;       /* d: one gradient */
    double *full;    /* d: grad f(xbar) */
    double *work;    /* max rows: glm workspace */
    double E[36];    /* the last flow matrix */
    double t;        /* the current time */
    double gnorm, consensus, xbar_norm;
    long grads, comms;
} dadao_ws;

static void ws_free(dadao_ws *w)
{
    free(w->st);
    free(w->last);
    free(w->ends);
    free(w->xnow);
    free(w->xbar);
    free(w->g);
    free(w->full);
    free(w->work);
}

static int ws_alloc(dadao_ws *w, const dadao_problem *p)
{
    const sv_graph *G = p->graph;
    int n = G->n, d = p->agents[0].A->cols, rows = 1;
    for (int i = 0; i < n; i++)
        if (p->agents[i].A->rows > rows)
            rows = p->agents[i].A->rows;
    w->n = n;
    w->d = d;
    w->m = G->n_edges;
    size_t nd = (size_t)n * (size_t)d;
    w->st = calloc(6 * nd, sizeof *w->st);
    w->last = calloc((size_t)n, sizeof *w->last);
    w->ends = malloc((size_t)(w->m > 0 ? 2 * w->m : 1) * sizeof *w->ends);
    w->xnow = malloc(nd * sizeof *w->xnow);
    w->xbar = malloc((size_t)d * sizeof *w->xbar);
    w->g = malloc((size_t)d * sizeof *w->g);
    w->full = malloc((size_t)d * sizeof *w->full);
    w->work = malloc((size_t)rows * sizeof *w->work);
    if (!w->st || !w->last || !w->ends || !w->xnow || !w->xbar || !w->g || !w->full ||
        !w->work) {
        ws_free(w);
        return SV_ENOMEM;
    }
    long k = 0;
    for (int i = 0; i < n; i++)
        for (int t = G->ptr[i]; t < G->ptr[i + 1]; t++)
            if (G->adj[t] > i) {
                w->ends[2 * k] = i;
                w->ends[2 * k + 1] = G->adj[t];
                k++;
            }
    return SV_OK;
}

static double *state(dadao_ws *w, int i)
{
    return w->st + (size_t)i * 6 * (size_t)w->d;
}

/* Agent i's state brought forward to the current time. */
static void advance(dadao_ws *w, int i)
{
    double tau = w->t - w->last[i];
    if (tau > 0) {
        flow_matrix(&w->c, tau, w->E);
        apply_flow(w->E, w->d, state(w, i));
    }
    w->last[i] = w->t;
}

static void gradient_event(dadao_ws *w, int i)
{
    advance(w, i);
    int d = w->d;
    double *x = state(w, i), *xt = x + d, *yt = x + 3 * d;
    sv_glm_value(&w->p->agents[i], x, w->g, w->work);
    const double gam = w->c.gamma, gamt = w->c.gammat, del = w->c.delta + w->c.deltat;
    const double nu = w->c.nu;
    for (int j = 0; j < d; j++) {
        double gj = w->g[j] - nu * x[j] - yt[j];
        x[j] -= gam * gj;
        xt[j] -= gamt * gj;
        yt[j] += del * gj;
    }
    w->grads++;
}

static void communication_event(dadao_ws *w, long k)
{
    int i = w->ends[2 * k], j = w->ends[2 * k + 1], d = w->d;
    advance(w, i);
    advance(w, j);
    double *si = state(w, i), *sj = state(w, j);
    double *yi = si + 2 * d, *zi = si + 4 * d, *zti = si + 5 * d;
    double *yj = sj + 2 * d, *zj = sj + 4 * d, *ztj = sj + 5 * d;
    const double b = w->c.beta, bt = w->c.betat;
    for (int q = 0; q < d; q++) {
        double mq = (yi[q] + zi[q]) - (yj[q] + zj[q]);
        zi[q] -= b * mq;
        zti[q] -= bt * mq;
        zj[q] += b * mq;
        ztj[q] += bt * mq;
    }
    w->comms++;
}

/* The agents' x at the current time into xnow (their stored states are left as they are, so
 * that checks do not change the trajectory), xbar, the consensus error, and f(xbar) with its
 * gradient, polling every 256 agents; NaN once the loop stops. */
static double measure(dadao_ws *w, sv_loop *L)
{
    int n = w->n, d = w->d;
    sv_zero(d, w->xbar);
    for (int i = 0; i < n; i++) {
        const double *x = state(w, i), *xt = x + d;
        double *o = w->xnow + (size_t)i * d;
        double tau = w->t - w->last[i];
        if (tau > 0) {
            flow_matrix(&w->c, tau, w->E);
            for (int j = 0; j < d; j++)
                o[j] = w->E[0] * x[j] + w->E[1] * xt[j];
        } else {
            memcpy(o, x, (size_t)d * sizeof *o);
        }
        sv_axpy(d, 1.0, o, w->xbar);
    }
    sv_scal(d, 1.0 / n, w->xbar);
    double cons = 0;
    for (int i = 0; i < n; i++) {
        const double *o = w->xnow + (size_t)i * d;
        for (int j = 0; j < d; j++)
            cons += (o[j] - w->xbar[j]) * (o[j] - w->xbar[j]);
    }
    w->consensus = sqrt(cons / n);
    w->xbar_norm = sv_nrm2(d, w->xbar);
    double f = 0;
    sv_zero(d, w->full);
    for (int i = 0; i < n; i++) {
        if ((i & 255) == 255 && sv_loop_poll(L))
            return NAN;
        f += sv_glm_value(&w->p->agents[i], w->xbar, w->g, w->work);
        sv_axpy(d, 1.0, w->g, w->full);
    }
    sv_scal(d, 1.0 / n, w->full);
    w->gnorm = sv_nrm2(d, w->full);
    return f / n;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    dadao_ws *w = ctx;
    if (cap < 5)
        return 0;
    m[0] = (sv_metric){"grad_norm", w->gnorm};
    m[1] = (sv_metric){"consensus", w->consensus};
    m[2] = (sv_metric){"time", w->t};
    m[3] = (sv_metric){"gradient_evals", (double)w->grads};
    m[4] = (sv_metric){"communications", (double)w->comms};
    return 5;
}

/* ================================ the solver ================================ */

int dadao_solve(const dadao_problem *p, const dadao_settings *s, const sv_monitor *mon,
                double *x, double *x_nodes, dadao_info *info, sv_err *e)
{
    dadao_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = dadao_check_settings(s, e)) != SV_OK || (rc = check_problem(p, e)) != SV_OK)
        return rc;
    const int n = p->graph->n, d = p->agents[0].A->cols;
    if (!x || !sv_all_finite(d, x))
        return sv_fail(e, "/problem/x0", "starting point missing or not finite");

    /* the constants: mu, L of the local objectives, then the graph's */
    double mu = s->mu, smooth = s->smooth;
    if (isnan(mu)) {
        mu = INFINITY;
        for (int i = 0; i < n; i++)
            mu = fmin(mu, sv_glm_strong_convexity(&p->agents[i], 1));
        if (!(mu > 0))
            return sv_fail(e, "/problem/lambda", "the local objectives are not strongly convex "
                           "(mu = 0): DADAO needs mu > 0; give lambda > 0 or params.mu");
    }
    if (isnan(smooth)) {
        smooth = 0;
        for (int i = 0; i < n; i++)
            smooth = fmax(smooth, sv_glm_smoothness(&p->agents[i]));
        smooth = fmax(smooth, mu);  /* L >= mu whatever the rounding */
    }
    if (mu > smooth)
        return sv_fail(e, isnan(s->mu) ? "/params/smoothness" : "/params/mu",
                       "mu (%g) must be <= the smoothness L (%g)", mu, smooth);
    /* chi_1 and chi_2 scale as 1 / rate: one eigendecomposition at unit rate */
    double c1u, c2u, min_rate;
    if ((rc = dadao_graph_constants(p->graph, 1.0, &c1u, &c2u, &info->lambda_2, &min_rate)) !=
        SV_OK)
        return rc;
    double rate = s->rate_factor * min_rate;
    info->chi_1 = rate > 0 ? c1u / rate : 0;
    info->chi_2 = rate > 0 ? c2u / rate : 0;
    info->comm_rate = rate;
    info->mu = mu;
    info->smooth = smooth;

    dadao_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    if ((rc = ws_alloc(&w, p)) != SV_OK)
        return rc;
    consts_init(&w.c, mu, smooth, info->chi_1);
    for (int i = 0; i < n; i++) {  /* x_i = x~_i = x0, the dual variables zero */
        memcpy(state(&w, i), x, (size_t)d * sizeof *x);
        memcpy(state(&w, i) + d, x, (size_t)d * sizeof *x);
    }

    sv_rng r;
    sv_rng_seed(&r, s->seed);
    const double total = n + (w.m > 0 ? rate : 0.0);

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    w.L = &L;
    double obj = measure(&w, &L), g0 = fmax(1.0, w.gnorm);
    const double tol = s->ctl.tol;
    long every = s->ctl.report_every, k;
    for (k = 0;; k++) {
        int checked = k % every == 0;
        if (checked && k > 0)
            obj = measure(&w, &L);
        if (sv_loop_stopped(&L))
            break;  /* a poll inside the check said stop */
        int diverged = checked && (!isfinite(obj) || !(w.gnorm <= DADAO_DIVERGENCE_FACTOR * g0));
        int solved = checked && w.gnorm <= tol * g0 &&
                     w.consensus <= tol * fmax(1.0, w.xbar_norm);
        if (sv_loop_check(&L, k, obj, diverged, solved))
            break;
        w.t += -log1p(-sv_rng_uniform(&r)) / total;
        if (sv_rng_uniform(&r) * total < n)
            gradient_event(&w, (int)sv_rng_below(&r, (uint64_t)n));
        else
            communication_event(&w, (long)sv_rng_below(&r, (uint64_t)w.m));
    }
    /* The final values at the final time: one more pass (without polls: the run has ended
     * either way, and a pass is bounded) when the last check is stale or was cut short. */
    if (k % every != 0 || !isfinite(obj))
        obj = measure(&w, NULL);
    memcpy(x, w.xbar, (size_t)d * sizeof *x);
    if (x_nodes)
        memcpy(x_nodes, w.xnow, (size_t)n * (size_t)d * sizeof *x_nodes);
    info->grad_norm = w.gnorm;
    info->consensus = w.consensus;
    info->time = w.t;
    info->gradient_evals = w.grads;
    info->communications = w.comms;
    sv_loop_end(&L, &info->base, k, obj, w.gnorm);
    ws_free(&w);
    return SV_OK;
}
