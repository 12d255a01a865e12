/* dfedsam.c - DFedSAM and DFedSAM-MGS (Shi et al., ICML 2023), simulated on one thread.
 *
 * Agent i keeps a model x_i (row i of X, n x d). Round t (the paper's Algorithm 1):
 *   local:  y_0 = x_i;  for k < K:  g = grad f_i(y_k; batch),  e = rho_t g / |g|,
 *                                    y_{k+1} = y_k - eta_t grad f_i(y_k + e; same batch)
 *           z_i = y_K
 *   gossip: x^{(0)} = z;  x^{(q+1)}_i = sum_j W_ij x^{(q)}_j  for q < Q;   x_i <- x^{(Q)}_i
 * W is the Metropolis matrix (W_ij = 1 / (1 + max(d_i, d_j)) on edges, the rest on the
 * diagonal), kept beside the graph's adjacency so that a gossip step costs O(|E| d). It is doubly
 * stochastic, so gossip keeps the average x_bar; the local steps move it by the average of the
 * agents' SAM steps, and x_bar is the model the run reports and stops on. */
#include "core/solvers/decentralized/dfedsam.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/matcheck.h"
#include "core/models/agents.h"
#include "core/rng.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DFEDSAM_HAVE_AVX2 1
#endif

static const char *const decay_choices[] = {"power", "exponential", NULL};

const sv_param_spec dfedsam_params[] = {
    SV_P_INT32(dfedsam_settings, local_steps, 1, 1e6, DFEDSAM_DEFAULT_LOCAL_STEPS,
               "K: local SAM steps of every agent per round"),
    SV_P_INT32(dfedsam_settings, gossip_steps, 1, 1e4, DFEDSAM_DEFAULT_GOSSIP_STEPS,
               "Q: gossip steps per round; 1 is DFedSAM, more is DFedSAM-MGS"),
    SV_P_NUMBER_GT(dfedsam_settings, lr, 0, INFINITY, NAN,
                   "eta_0, the first round's local step; null: 1 / max_i L_i"),
    SV_P_ENUM(dfedsam_settings, lr_decay, decay_choices, DFEDSAM_DEFAULT_LR_DECAY,
              "power: eta_t = lr (t+1)^-lr_power; exponential: eta_t = lr lr_gamma^t (the "
              "paper's experiments)"),
    SV_P_NUMBER(dfedsam_settings, lr_power, 0, 1, DFEDSAM_DEFAULT_LR_POWER,
                "exponent of the power decay; 0 keeps the step constant"),
    SV_P_NUMBER_GT(dfedsam_settings, lr_gamma, 0, 1, DFEDSAM_DEFAULT_LR_GAMMA,
                    "factor per round of the exponential decay"),
    SV_P_NUMBER(dfedsam_settings, rho, 0, INFINITY, DFEDSAM_DEFAULT_RHO,
                "SAM perturbation radius; 0 gives plain local gradient steps (DFedAvg)"),
    SV_P_BOOL(dfedsam_settings, rho_follows_lr, 1,
              "scale rho by eta_t / eta_0, so that the perturbation's bias vanishes with the "
              "steps"),
    SV_P_INT32(dfedsam_settings, batch_size, 0, 1e9, 0,
               "rows drawn (without replacement) per local step; 0: the full local batch"),
    SV_P_SEED(dfedsam_settings, seed, 0, "seed of the mini-batch draws"),
    SV_CONTROL_PARAMS(dfedsam_settings, ctl, DFEDSAM_DEFAULT_TOL,
                      "stop when |grad f(x_bar)| + L sqrt(consensus_error) <= tol max(1, |grad "
                      "f(x_bar_0)|), L the agents' mean smoothness, checked every round",
                      DFEDSAM_DEFAULT_MAX_ITER, DFEDSAM_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void dfedsam_settings_default(dfedsam_settings *s)
{
    sv_params_defaults(dfedsam_params, s);
}

int dfedsam_check_settings(const dfedsam_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(dfedsam_params, s, "/params", e);
}

double dfedsam_mixing_lambda(const sv_graph *g, double *W)
{
    int n = g->n;
    if (n <= 1)
        return 0.0;
    double *ev = malloc((size_t)n * sizeof *ev);
    if (!ev)
        return NAN;
    sv_graph_metropolis(g, W);
    double lam = NAN;
    if (sv_sym_eig(n, W, ev, 0) == SV_OK)  /* ascending: ev[n-1] = 1 */
        lam = fmax(fabs(ev[n - 2]), fabs(ev[0]));
    free(ev);
    return lam;
}

/* ================================ validation ================================ */

static int check_problem(const dfedsam_problem *p, sv_err *e)
{
    if (!p)
        return sv_fail(e, "/problem", "a graph of at least one agent is required");
    return sv_agents_check(p->graph, p->agents, "gossip could never bring their models together", e);
}

/* ================================ workspace ================================ */

typedef struct {
    const dfedsam_problem *p;
    const dfedsam_settings *s;
    sv_loop *L;
    int n, d;
    double *X, *Xn;   /* n x d: the models, and the gossip's other buffer */
    double *wv;       /* 2|E|: W_ij beside graph->adj */
    double *wself;    /* n: W_ii */
    double *xbar;     /* d: the average model */
    double *full;     /* d: grad f(x_bar) */
    double *g, *yt;   /* d: a local gradient, the perturbed point */
    double *work;     /* max rows: glm workspace */
    int *idx;         /* batch rows */
    sv_rng rng;
    double lr0, eta, rho_t;
    double lmean;     /* (1/n) sum_i L_i >= the smoothness of f */
    double gnorm, cons, res;
    long evals, polls;
} dfedsam_ws;

static void ws_free(dfedsam_ws *w)
{
    free(w->X);
    free(w->Xn);
    free(w->wv);
    free(w->wself);
    free(w->xbar);
    free(w->full);
    free(w->g);
    free(w->yt);
    free(w->work);
    free(w->idx);
}

static int ws_alloc(dfedsam_ws *w, const dfedsam_problem *p, int batch)
{
    const sv_graph *G = p->graph;
    int n = G->n, d = p->agents[0].A->cols, rows = 1;
    for (int i = 0; i < n; i++)
        if (p->agents[i].A->rows > rows)
            rows = p->agents[i].A->rows;
    size_t nd = (size_t)n * (size_t)d;
    w->n = n;
    w->d = d;
    w->X = malloc(nd * sizeof *w->X);
    w->Xn = malloc(nd * sizeof *w->Xn);
    w->wv = malloc((size_t)(G->ptr[n] > 0 ? G->ptr[n] : 1) * sizeof *w->wv);
    w->wself = malloc((size_t)n * sizeof *w->wself);
    w->xbar = malloc((size_t)d * sizeof *w->xbar);
    w->full = malloc((size_t)d * sizeof *w->full);
    w->g = malloc((size_t)d * sizeof *w->g);
    w->yt = malloc((size_t)d * sizeof *w->yt);
    w->work = malloc((size_t)rows * sizeof *w->work);
    w->idx = malloc((size_t)(batch > 0 && batch < rows ? batch : 1) * sizeof *w->idx);
    if (!w->X || !w->Xn || !w->wv || !w->wself || !w->xbar || !w->full || !w->g || !w->yt ||
        !w->work || !w->idx) {
        ws_free(w);
        return SV_ENOMEM;
    }
    for (int i = 0; i < n; i++) {  /* the Metropolis weights of sv_graph_metropolis */
        int di = sv_graph_degree(G, i);
        double out = 0;
        for (int s = G->ptr[i]; s < G->ptr[i + 1]; s++) {
            int dj = sv_graph_degree(G, G->adj[s]);
            w->wv[s] = 1.0 / (1.0 + (di > dj ? di : dj));
            out += w->wv[s];
        }
        w->wself[i] = 1.0 - out;
    }
    return SV_OK;
}

/* y += a x and |x| on model-sized vectors, written out: the rounds call them a few times per
 * local step and once per edge per gossip step, on vectors of d entries, where a BLAS call's
 * entry cost is larger than the work. */
static void vaxpy(int n, double a, const double *restrict x, double *restrict y)
{
    for (int j = 0; j < n; j++)
        y[j] += a * x[j];
}

static double vnrm2(int n, const double *x)
{
    double s = 0;
    for (int j = 0; j < n; j++)
        s += x[j] * x[j];
    return sqrt(s);
}

/* 1 every 256 calls when the loop says stop: the cheap poll of the inner loops. */
static int poll(dfedsam_ws *w)
{
    return (++w->polls & 255) == 0 && sv_loop_poll(w->L);
}

/* ================================ one round ================================ */

/* ============================ small-block gradient ============================ */

#ifdef DFEDSAM_HAVE_AVX2
/* grad = (1/m) sum_i w_i l'(a_i'x; b_i) a_i + lambda .* x over a dense A (the full-batch local
 * gradient sv_glm_value computes), four rows at a time: their four dot products in four vector
 * accumulators, one horizontal add, the four loss derivatives, then one pass over the four rows
 * adding sum_r c_r a_r into grad. Each row is read twice from L1 and once from memory; on blocks
 * like 50 x 20 this does in one call what sv_glm_value does with two OpenBLAS gemv calls
 * (bench/RESULTS.md, dfedsam section). Rows past a multiple of 4 and columns past a multiple of
 * 4 go scalar. The sums are in another order than OpenBLAS's: equal to rounding. */
__attribute__((target("avx2,fma"))) static void block_grad_avx2(const sv_glm *c,
                                                               const double *restrict x,
                                                               double *restrict grad)
{
    int m = c->A->rows, n = c->A->cols, n4 = n & ~3;
    const double *A = c->A->dense.data;
    double inv_m = 1.0 / m;
    for (int j = 0; j < n; j++)
        grad[j] = (c->lambda_vec ? c->lambda_vec[j] : c->lambda) * x[j];
    int i = 0;
    for (; i + 4 <= m; i += 4) {
        const double *a0 = A + (size_t)i * (size_t)n, *a1 = a0 + n, *a2 = a1 + n, *a3 = a2 + n;
        __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
        for (int j = 0; j < n4; j += 4) {
            __m256d xj = _mm256_loadu_pd(x + j);
            s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a0 + j), xj, s0);
            s1 = _mm256_fmadd_pd(_mm256_loadu_pd(a1 + j), xj, s1);
            s2 = _mm256_fmadd_pd(_mm256_loadu_pd(a2 + j), xj, s2);
            s3 = _mm256_fmadd_pd(_mm256_loadu_pd(a3 + j), xj, s3);
        }
        __m256d h01 = _mm256_hadd_pd(s0, s1), h23 = _mm256_hadd_pd(s2, s3);
        __m256d zv = _mm256_add_pd(_mm256_permute2f128_pd(h01, h23, 0x20),
                                   _mm256_permute2f128_pd(h01, h23, 0x31));
        double z[4], cr[4];
        _mm256_storeu_pd(z, zv);
        for (int j = n4; j < n; j++) {
            z[0] += a0[j] * x[j];
            z[1] += a1[j] * x[j];
            z[2] += a2[j] * x[j];
            z[3] += a3[j] * x[j];
        }
        for (int r = 0; r < 4; r++) {
            double d1, wi = c->w ? c->w[i + r] : 1.0;
            if (c->loss == SV_LOSS_SQUARED)
                d1 = z[r] - c->b[i + r];    /* sv_loss_eval's, without the call */
            else
                (void)sv_loss_eval(c->loss, z[r], c->b[i + r], &d1, NULL);
            cr[r] = wi * d1 * inv_m;
        }
        __m256d c0 = _mm256_set1_pd(cr[0]), c1 = _mm256_set1_pd(cr[1]),
                c2 = _mm256_set1_pd(cr[2]), c3 = _mm256_set1_pd(cr[3]);
        for (int j = 0; j < n4; j += 4) {
            __m256d t = _mm256_mul_pd(c1, _mm256_loadu_pd(a1 + j));
            t = _mm256_fmadd_pd(c0, _mm256_loadu_pd(a0 + j), t);
            t = _mm256_fmadd_pd(c2, _mm256_loadu_pd(a2 + j), t);
            t = _mm256_fmadd_pd(c3, _mm256_loadu_pd(a3 + j), t);
            _mm256_storeu_pd(grad + j, _mm256_add_pd(_mm256_loadu_pd(grad + j), t));
        }
        for (int j = n4; j < n; j++)
            grad[j] += cr[0] * a0[j] + cr[1] * a1[j] + cr[2] * a2[j] + cr[3] * a3[j];
    }
    for (; i < m; i++) {
        const double *a = A + (size_t)i * (size_t)n;
        double z = 0.0, d1, wi = c->w ? c->w[i] : 1.0;
        for (int j = 0; j < n; j++)
            z += a[j] * x[j];
        (void)sv_loss_eval(c->loss, z, c->b[i], &d1, NULL);
        double ci = wi * d1 * inv_m;
        for (int j = 0; j < n; j++)
            grad[j] += ci * a[j];
    }
}
#endif

int sv__dfedsam_block_grad(const sv_glm *c, const double *x, double *grad)
{
#ifdef DFEDSAM_HAVE_AVX2
    if (c->A->kind == SV_MAT_DENSE && c->A->rows > 0 &&
        (long)c->A->rows * (long)c->A->cols <= DFEDSAM_BLOCK_ENTRIES &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        block_grad_avx2(c, x, grad);
        return 1;
    }
#else
    (void)c, (void)x, (void)grad;
#endif
    return 0;
}

/* grad f_i at x into out over the batch drawn for this step (or every row). */
static void local_grad(dfedsam_ws *w, const sv_glm *c, int k, const double *x, double *out)
{
    if (k > 0)
        sv_glm_batch_value(c, w->idx, k, x, out);
    else if (!sv__dfedsam_block_grad(c, x, out))
        sv_glm_value(c, x, out, w->work);
    w->evals++;
}

/* Agent i's K SAM steps on its row of X. 1 when the loop stopped inside. */
static int local_steps(dfedsam_ws *w, int i)
{
    const sv_glm *c = &w->p->agents[i];
    int d = w->d, m = c->A->rows, B = w->s->batch_size;
    int k = B > 0 && B < m ? B : 0;  /* 0: full batch */
    double *y = w->X + (size_t)i * (size_t)d;
    for (int step = 0; step < w->s->local_steps; step++) {
        if (poll(w))
            return 1;
        if (k > 0)
            sv_rng_sample(&w->rng, m, k, w->idx);
        local_grad(w, c, k, y, w->g);
        double gn = vnrm2(d, w->g);
        if (w->rho_t > 0 && gn > 0) {
            /* the ascent to y + rho g / |g|, then the gradient there on the same batch */
            double a = w->rho_t / gn;
            for (int j = 0; j < d; j++)
                w->yt[j] = y[j] + a * w->g[j];
            local_grad(w, c, k, w->yt, w->g);
        }
        vaxpy(d, -w->eta, w->g, y);
    }
    return 0;
}

/* Q gossip steps X <- W X. 1 when the loop stopped inside: X then holds the models after the
 * steps completed (the step under way was writing only into Xn). */
static int gossip(dfedsam_ws *w)
{
    const sv_graph *G = w->p->graph;
    int n = w->n, d = w->d;
    for (int q = 0; q < w->s->gossip_steps; q++) {
        for (int i = 0; i < n; i++) {
            if (poll(w))
                return 1;
            double *out = w->Xn + (size_t)i * (size_t)d;
            const double *xi = w->X + (size_t)i * (size_t)d;
            for (int j = 0; j < d; j++)
                out[j] = w->wself[i] * xi[j];
            for (int s = G->ptr[i]; s < G->ptr[i + 1]; s++)
                vaxpy(d, w->wv[s], w->X + (size_t)G->adj[s] * (size_t)d, out);
        }
        double *t = w->X;
        w->X = w->Xn;
        w->Xn = t;
    }
    return 0;
}

static double step_at(const dfedsam_settings *s, double lr0, long t)
{
    if (s->lr_decay == DFEDSAM_LR_EXPONENTIAL)
        return lr0 * pow(s->lr_gamma, (double)t);
    return lr0 * pow((double)t + 1.0, -s->lr_power);
}

/* One round t; 1 when the loop stopped inside. */
static int round_t(dfedsam_ws *w, long t)
{
    w->eta = step_at(w->s, w->lr0, t);
    w->rho_t = w->s->rho_follows_lr ? w->s->rho * (w->eta / w->lr0) : w->s->rho;
    for (int i = 0; i < w->n; i++)
        if (local_steps(w, i))
            return 1;
    return gossip(w);
}

/* ================================ checks ================================ */

/* x_bar, the consensus error, f(x_bar) with its gradient (into w->full, w->gnorm) and the
 * residual |grad f(x_bar)| + L sqrt(consensus): by the triangle inequality and L-smoothness of f
 * it bounds sqrt((1/n) sum_i |grad f(x_i)|^2), the agents' own stationarity. NaN once
 * the loop stops inside (polled every 256 agents; w->L NULL: never). */
static double check(dfedsam_ws *w)
{
    int n = w->n, d = w->d;
    sv_zero(d, w->xbar);
    for (int i = 0; i < n; i++)
        sv_axpy(d, 1.0 / n, w->X + (size_t)i * (size_t)d, w->xbar);
    double cons = 0;
    for (int i = 0; i < n; i++) {
        const double *xi = w->X + (size_t)i * (size_t)d;
        for (int j = 0; j < d; j++)
            cons += (xi[j] - w->xbar[j]) * (xi[j] - w->xbar[j]);
    }
    w->cons = cons / n;
    double f = 0;
    sv_zero(d, w->full);
    for (int i = 0; i < n; i++) {
        if ((i & 255) == 255 && sv_loop_poll(w->L))
            return NAN;
        f += sv_glm_value(&w->p->agents[i], w->xbar, w->g, w->work);
        sv_axpy(d, 1.0, w->g, w->full);
    }
    sv_scal(d, 1.0 / n, w->full);
    w->gnorm = sv_nrm2(d, w->full);
    w->res = w->gnorm + w->lmean * sqrt(w->cons);
    return f / n;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    dfedsam_ws *w = ctx;
    if (cap < 5)
        return 0;
    m[0] = (sv_metric){"grad_norm", w->gnorm};
    m[1] = (sv_metric){"consensus_error", w->cons};
    m[2] = (sv_metric){"residual", w->res};
    m[3] = (sv_metric){"lr", w->eta};
    m[4] = (sv_metric){"gradient_evals", (double)w->evals};
    return 5;
}

/* ================================ the solver ================================ */

int dfedsam_solve(const dfedsam_problem *p, const dfedsam_settings *s, const sv_monitor *mon,
                  const double *x0, double *x, double *models, dfedsam_info *info, sv_err *e)
{
    dfedsam_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->spectral_gap = info->mixing_lambda = NAN;
    int rc;
    if ((rc = dfedsam_check_settings(s, e)) != SV_OK || (rc = check_problem(p, e)) != SV_OK)
        return rc;
    int d = p->agents[0].A->cols, n = p->graph->n;
    if (!x0 || !sv_all_finite(d, x0))
        return sv_fail(e, "/problem/x0", "starting point missing or not finite");
    if (!x)
        return sv_fail(e, "/problem", "no room for the result");

    dfedsam_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.s = s;
    if ((rc = ws_alloc(&w, p, s->batch_size)) != SV_OK)
        return rc;
    if (n <= DFEDSAM_MAX_GAP_AGENTS) {  /* the spectral gap, once, before the rounds */
        double *W = malloc((size_t)n * (size_t)n * sizeof *W);
        if (!W) {
            ws_free(&w);
            return SV_ENOMEM;
        }
        info->mixing_lambda = dfedsam_mixing_lambda(p->graph, W);
        info->spectral_gap = 1.0 - info->mixing_lambda;
        free(W);
    }
    double lmax = 0;
    for (int i = 0; i < n; i++) {
        double li = sv_glm_smoothness(&p->agents[i]);
        lmax = fmax(lmax, li);
        w.lmean += li / n;
    }
    w.lr0 = isnan(s->lr) ? (lmax > 0 ? 1.0 / lmax : 1.0) : s->lr;
    w.eta = w.lr0;
    for (int i = 0; i < n; i++)
        sv_copy(d, x0, w.X + (size_t)i * (size_t)d);
    sv_rng_seed(&w.rng, s->seed);

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    w.L = &L;
    double obj = NAN, g0 = 1;
    int cut = 0;  /* the last round was cut short: the last check is stale */
    long k;
    for (k = 0;; k++) {
        obj = check(&w);
        if (sv_loop_stopped(&L))
            break;  /* a poll inside the check said stop */
        if (k == 0)
            g0 = fmax(1.0, w.gnorm);
        int diverged = !isfinite(obj) || !(w.res <= DFEDSAM_DIVERGENCE_FACTOR * g0);
        int solved = w.res <= s->ctl.tol * g0;
        if (sv_loop_check(&L, k, obj, diverged, solved))
            break;
        if ((cut = round_t(&w, k)))
            break;  /* stopped inside the round: it does not count as completed */
    }
    /* The final values at the returned models, when the last check is stale (a round was cut
     * short) or was cut short itself: one more pass, without polls (the run has ended). */
    if (cut || !isfinite(obj)) {
        w.L = NULL;
        obj = check(&w);
    }
    info->grad_norm = w.gnorm;
    info->consensus_error = w.cons;
    info->lr0 = w.lr0;
    info->lr_last = w.eta;
    info->gradient_evals = w.evals;
    /* in double: rounds * Q * |E| may pass 2^63 for the largest settings (then clamped) */
    double comm = (double)k * (double)s->gossip_steps * (double)p->graph->n_edges;
    info->communications = comm < 9e18 ? (long)comm : (long)9e18;
    sv_copy(d, w.xbar, x);
    if (models)
        memcpy(models, w.X, (size_t)n * (size_t)d * sizeof *models);
    sv_loop_end(&L, &info->base, k, obj, w.res);
    ws_free(&w);
    return SV_OK;
}
