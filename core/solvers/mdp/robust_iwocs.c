/* robust_iwocs.c - IWOCS and robust value iteration over a finite set of transition models.
 *
 * Every unit of work is one step of the shared loop (core/control.h): solving the plain MDP of
 * a model just added to W, evaluating the current policy under one model of the set, or one
 * robust VI sweep (one backward step when episodic). The stop checks, progress reports and
 * polls therefore fall between models, not only between IWOCS iterations, which are few (at
 * most n + 1: every iteration but the last adds a new model to W).
 *
 * The policy of an iteration is the paper's: greedy on Q_W(s, a) = min_{j in W} Q*_j(s, a), Q*_j
 * the optimal Q-function of model j alone (episodic: per step h, from model j's own optimal
 * values at h + 1). Its value under model i is computed exactly (episodic) or to vi_tol
 * (discounted) by sv_mdp_evaluate's iteration on the policy's rows (evaluate_policy); the
 * worst-case search is this exhaustive evaluation.
 *
 * Greedy on a min of Q-functions is not the max-min policy over W, and a later iteration's
 * policy can be worse over the whole set than an earlier one (measured on gridworlds: the
 * nominal policy's worst case 0.21, the next iteration's -0.88). The solver therefore returns
 * the incumbent, the iteration policy of best worst case over the set (all of them are
 * evaluated on every model anyway); the iteration itself is the paper's. */
#include "core/solvers/mdp/robust_iwocs.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_choices[] = {"iwocs", "robust_vi", NULL};

const sv_param_spec robust_iwocs_params[] = {
    SV_P_ENUM(robust_iwocs_settings, method, method_choices, ROBUST_IWOCS_IWOCS,
              "iwocs: incremental worst-case search on the static set (robust VI runs after it "
              "for comparison); robust_vi: robust value iteration on the (s,a)-rectangular "
              "dynamic set, its greedy policy evaluated on every model"),
    SV_P_NUMBER_GT(robust_iwocs_settings, vi_tol, 0, 1, ROBUST_IWOCS_DEFAULT_VI_TOL,
                   "discounted value iteration, policy evaluation and robust VI stop within "
                   "this of their fixed points (episodic problems are solved exactly)"),
    SV_P_INT32(robust_iwocs_settings, max_sweeps, 1, 100000000, ROBUST_IWOCS_DEFAULT_MAX_SWEEPS,
               "most sweeps of one discounted value iteration, evaluation or robust VI"),
    SV_CONTROL_PARAMS(robust_iwocs_settings, ctl, ROBUST_IWOCS_DEFAULT_TOL,
                      "IWOCS stops when no model of the set lowers the policy's value below its "
                      "worst case over the found models W by more than tol",
                      ROBUST_IWOCS_DEFAULT_MAX_ITER, ROBUST_IWOCS_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void robust_iwocs_settings_default(robust_iwocs_settings *s)
{
    sv_params_defaults(robust_iwocs_params, s);
}

int robust_iwocs_check_settings(const robust_iwocs_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(robust_iwocs_params, s, "/params", e);
}

static int check_problem(const robust_iwocs_problem *p, sv_err *e)
{
    if (!p || !p->mdp || !p->mdp->P || !p->mdp->R || !p->mdp->mu)
        return sv_fail(e, "/problem", "a nominal MDP is required");
    const sv_mdp *m = p->mdp;
    if (m->S < 1 || m->A < 1 || m->H < 0 || (m->H == 0 && !(m->gamma >= 0 && m->gamma < 1)))
        return sv_fail(e, "/problem", "the nominal MDP has bad sizes, horizon or gamma");
    if (p->n_extra < 0 || (p->n_extra > 0 && !p->extra))
        return sv_fail(e, "/problem/models", "the further models are missing");
    long rows = (long)m->S * m->A;
    for (int i = 0; i < p->n_extra; i++)
        for (long k = 0; k < rows; k++) {
            const double *row = p->extra + ((long)i * rows + k) * m->S;
            double sum = 0;
            for (int t = 0; t < m->S; t++) {
                if (!(row[t] >= 0))
                    return sv_fail(e, "/problem/models", "model %d: P(. | %ld, %ld) has a "
                                   "negative or NaN entry", i + 1, k / m->A, k % m->A);
                sum += row[t];
            }
            if (fabs(sum - 1) > 1e-9)
                return sv_fail(e, "/problem/models", "model %d: P(. | %ld, %ld) sums to %.17g",
                               i + 1, k / m->A, k % m->A, sum);
        }
    return SV_OK;
}

/* ================================ workspace ================================ */

typedef struct {
    const robust_iwocs_settings *s;
    sv_loop L;
    long k;             /* steps done */
    int S, A, H, n;     /* n: models in the set, nominal included */
    long vlen;          /* values per model: (H + 1) S or S */
    sv_mdp *models;     /* n views sharing the nominal's R, mu, H, gamma */
    double *vstar;      /* n * vlen: optimal values of the models in W */
    double *V;          /* vlen scratch */
    double *Q, *Qmin;   /* S * A */
    int *greedy;        /* (H or 1) * S */
    double *vals;       /* n: the current policy's value under each model */
    char *in_w;         /* n */
    int *w;             /* n: W in the order found */
    int nw;
    double *rv, *rold;  /* vlen, S: robust VI */
    int *rgreedy;       /* (H or 1) * S */
    long *rows;         /* S * A: row indices for row_backup */
    double *Ppi, *rpi;  /* S * S, S: the policy's rows of one model (discounted evaluation) */
    int *best;          /* (H or 1) * S: the incumbent, the iteration policy of best worst case */
    double *best_vals;  /* n: its value under each model */
    double best_worst;
    int best_iter;
    /* what reports show */
    int iteration;
    double worst_all, worst_found, bound, rvi_change, obj;
    int phase;          /* 0 IWOCS, 1 robust VI, 2 evaluation of the robust VI policy */
} ws;

static void ws_free(ws *w)
{
    free(w->models);
    free(w->vstar);
    free(w->V);
    free(w->Q);
    free(w->Qmin);
    free(w->greedy);
    free(w->vals);
    free(w->in_w);
    free(w->w);
    free(w->rv);
    free(w->rold);
    free(w->rgreedy);
    free(w->rows);
    free(w->Ppi);
    free(w->rpi);
    free(w->best);
    free(w->best_vals);
}

static int ws_alloc(ws *w, const robust_iwocs_problem *p)
{
    const sv_mdp *m = p->mdp;
    w->S = m->S;
    w->A = m->A;
    w->H = m->H;
    w->n = p->n_extra + 1;
    int steps = m->H > 0 ? m->H : 1;
    w->vlen = m->H > 0 ? (long)(m->H + 1) * m->S : m->S;
    size_t sa = (size_t)m->S * m->A, n = (size_t)w->n;
    w->models = calloc(n, sizeof *w->models);
    w->vstar = malloc(n * (size_t)w->vlen * sizeof *w->vstar);
    w->V = malloc((size_t)w->vlen * sizeof *w->V);
    w->Q = malloc(sa * sizeof *w->Q);
    w->Qmin = malloc(sa * sizeof *w->Qmin);
    w->greedy = calloc((size_t)steps * m->S, sizeof *w->greedy);
    w->vals = malloc(n * sizeof *w->vals);
    w->in_w = calloc(n, 1);
    w->w = malloc(n * sizeof *w->w);
    w->rv = malloc((size_t)w->vlen * sizeof *w->rv);
    w->rold = malloc((size_t)m->S * sizeof *w->rold);
    w->rgreedy = calloc((size_t)steps * m->S, sizeof *w->rgreedy);
    w->rows = malloc(sa * sizeof *w->rows);
    w->Ppi = malloc((size_t)m->S * m->S * sizeof *w->Ppi);
    w->rpi = malloc((size_t)m->S * sizeof *w->rpi);
    w->best = calloc((size_t)steps * m->S, sizeof *w->best);
    w->best_vals = calloc(n, sizeof *w->best_vals);
    if (!w->models || !w->vstar || !w->V || !w->Q || !w->Qmin || !w->greedy ||
        !w->vals || !w->in_w || !w->w || !w->rv || !w->rold || !w->rgreedy || !w->rows || !w->Ppi || !w->rpi || !w->best ||
        !w->best_vals) {
        ws_free(w);
        return SV_ENOMEM;
    }
    long tensor = (long)sa * m->S;
    for (int i = 0; i < w->n; i++) {
        w->models[i] = *m;
        if (i > 0)
            w->models[i].P = (double *)(p->extra + (long)(i - 1) * tensor);
    }
    return SV_OK;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    ws *w = ctx;
    int k = 0;
    if (cap < 7)
        return 0;
    m[k++] = (sv_metric){"iwocs_iteration", w->iteration};
    m[k++] = (sv_metric){"found", w->nw};
    if (!isnan(w->worst_all)) {
        m[k++] = (sv_metric){"worst_case", w->worst_all};
        m[k++] = (sv_metric){"worst_found", w->worst_found};
    }
    if (!isnan(w->best_worst))
        m[k++] = (sv_metric){"best_worst_case", w->best_worst};
    if (!isnan(w->bound))
        m[k++] = (sv_metric){"bound", w->bound};
    if (!isnan(w->rvi_change))
        m[k++] = (sv_metric){"rvi_change", w->rvi_change};
    return k;
}

/* One step done: the loop's checks. 1 when the solve must end. */
static int step(ws *w)
{
    if (sv_loop_check(&w->L, w->k, w->obj, 0, 0))
        return 1;
    w->k++;
    return 0;
}

/* ================================ kernels ================================ */

/* out[j] = R[rows[j]] + disc sum_t P(t | rows[j]) V(t) for nrows rows of transition tensor P
 * (row k = s A + a). Four rows at a time share each V(t), which gives the additions four
 * independent chains; every row is still summed in t order, as sv_mdp_q does, so the values are
 * sv_mdp_q's bit for bit. */
static void row_backup(const double *P, const double *R, const long *rows, int nrows, int S,
                       const double *V, double disc, double *out)
{
    int j = 0;
    for (; j + 4 <= nrows; j += 4) {
        const double *p0 = P + rows[j] * S, *p1 = P + rows[j + 1] * S;
        const double *p2 = P + rows[j + 2] * S, *p3 = P + rows[j + 3] * S;
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int t = 0; t < S; t++) {
            double v = V[t];
            a0 += p0[t] * v;
            a1 += p1[t] * v;
            a2 += p2[t] * v;
            a3 += p3[t] * v;
        }
        out[j] = R[rows[j]] + disc * a0;
        out[j + 1] = R[rows[j + 1]] + disc * a1;
        out[j + 2] = R[rows[j + 2]] + disc * a2;
        out[j + 3] = R[rows[j + 3]] + disc * a3;
    }
    for (; j < nrows; j++) {
        const double *p = P + rows[j] * S;
        double acc = 0;
        for (int t = 0; t < S; t++)
            acc += p[t] * V[t];
        out[j] = R[rows[j]] + disc * acc;
    }
}

/* The values of the deterministic policy w->greedy under model m into w->V: sv_mdp_evaluate's
 * iteration (backward induction when episodic; from 0 until the sup-norm change is below
 * vi_tol (1 - gamma) / (2 gamma) when discounted) restricted to the S rows the policy uses, so a
 * sweep costs S^2 instead of S^2 A. Episodic values equal sv_mdp_evaluate's of the one-hot
 * policy bit for bit (its sum over actions adds exact zeros); discounted sweeps are a dgemv, so
 * they agree to rounding (tests compare them with tolerances). */
static void evaluate_policy(ws *w, const sv_mdp *m)
{
    int S = w->S;
    if (w->H > 0) {
        memset(w->V + (long)w->H * S, 0, (size_t)S * sizeof *w->V);
        for (int h = w->H - 1; h >= 0; h--) {
            for (int s = 0; s < S; s++)
                w->rows[s] = (long)s * w->A + w->greedy[h * S + s];
            row_backup(m->P, m->R, w->rows, S, S, w->V + (long)(h + 1) * S, 1.0,
                       w->V + (long)h * S);
        }
        return;
    }
    /* discounted: the policy's rows gathered once into an S x S matrix, one dgemv a sweep */
    for (int s = 0; s < S; s++) {
        long k = (long)s * w->A + w->greedy[s];
        memcpy(w->Ppi + (long)s * S, m->P + k * S, (size_t)S * sizeof *w->Ppi);
        w->rpi[s] = m->R[k];
    }
    double stop = m->gamma > 0 ? w->s->vi_tol * (1 - m->gamma) / (2 * m->gamma) : INFINITY;
    memset(w->V, 0, (size_t)S * sizeof *w->V);
    for (int sweeps = 0; sweeps < w->s->max_sweeps; sweeps++) {
        memcpy(w->Q, w->rpi, (size_t)S * sizeof *w->Q);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, S, S, m->gamma, w->Ppi, S, w->V, 1, 1.0, w->Q, 1);
        double change = 0;
        for (int s = 0; s < S; s++) {
            change = fmax(change, fabs(w->Q[s] - w->V[s]));
            w->V[s] = w->Q[s];
        }
        if (change <= stop)
            break;
    }
}

/* Optimal values of model m into V (sv_mdp_optimal's iteration and stopping rule; discounted
 * sweeps are one dgemv over the S A x S tensor). */
static void optimal_values(ws *w, const sv_mdp *m, double *V)
{
    int S = w->S, A = w->A;
    if (w->H > 0) {
        sv_mdp_optimal(m, w->s->vi_tol, w->s->max_sweeps, V, NULL, w->Q);
        return;
    }
    double stop = m->gamma > 0 ? w->s->vi_tol * (1 - m->gamma) / (2 * m->gamma) : INFINITY;
    memset(V, 0, (size_t)S * sizeof *V);
    for (int sweeps = 0; sweeps < w->s->max_sweeps; sweeps++) {
        memcpy(w->Q, m->R, (size_t)S * A * sizeof *w->Q);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, S * A, S, m->gamma, m->P, S, V, 1, 1.0, w->Q, 1);
        double change = 0;
        for (int s = 0; s < S; s++) {
            double best = w->Q[(long)s * A];
            for (int a = 1; a < A; a++)
                best = fmax(best, w->Q[(long)s * A + a]);
            change = fmax(change, fabs(best - V[s]));
            V[s] = best;
        }
        if (change <= stop)
            break;
    }
}

/* ================================ IWOCS ================================ */

/* The greedy policy on Q_W = min over W of the models' optimal Q-functions (lowest action on
 * ties), in w->greedy; returns mu . max_a Q_W at the first step. */
static double policy_from_w(ws *w)
{
    int S = w->S, A = w->A, steps = w->H > 0 ? w->H : 1;
    const sv_mdp *m0 = &w->models[0];
    double bound = 0;
    for (int h = steps - 1; h >= 0; h--) {
        for (int j = 0; j < w->nw; j++) {
            const double *vj = w->vstar + (long)w->w[j] * w->vlen;
            if (w->H > 0)
                sv_mdp_q(&w->models[w->w[j]], vj + (long)(h + 1) * S, 1.0, w->Q);
            else
                sv_mdp_q(&w->models[w->w[j]], vj, m0->gamma, w->Q);
            if (j == 0)
                memcpy(w->Qmin, w->Q, (size_t)S * A * sizeof *w->Q);
            else
                for (long x = 0; x < (long)S * A; x++)
                    w->Qmin[x] = fmin(w->Qmin[x], w->Q[x]);
        }
        for (int s = 0; s < S; s++) {
            int best = 0;
            for (int a = 1; a < A; a++)
                if (w->Qmin[s * A + a] > w->Qmin[s * A + best])
                    best = a;
            w->greedy[h * S + s] = best;
            if (h == 0)
                bound += m0->mu[s] * w->Qmin[s * A + best];
        }
    }
    return bound;
}

/* Adds model i to W and solves its plain MDP (one step). 1 when the solve must end. */
static int add_model(ws *w, int i)
{
    w->in_w[i] = 1;
    w->w[w->nw++] = i;
    double *vi = w->vstar + (long)i * w->vlen;
    optimal_values(w, &w->models[i], vi);
    if (isnan(w->obj))
        w->obj = sv_mdp_start_value(&w->models[i], vi);
    return step(w);
}

/* The value under every model of the policy in w->greedy (one step each); the worst over the set
 * into *worst (argmin into *arg) and over W into *worst_w. 1 when the solve must end. */
static int evaluate_all(ws *w, double *worst, int *arg, double *worst_w)
{
    *worst = INFINITY;
    *worst_w = INFINITY;
    *arg = 0;
    for (int i = 0; i < w->n; i++) {
        evaluate_policy(w, &w->models[i]);
        w->vals[i] = sv_mdp_start_value(&w->models[i], w->V);
        if (w->vals[i] < *worst) {
            *worst = w->vals[i];
            *arg = i;
        }
        if (w->in_w[i] && w->vals[i] < *worst_w)
            *worst_w = w->vals[i];
        if (i + 1 < w->n && step(w))
            return 1;
    }
    return step(w);
}

/* 1 when the solve must end before IWOCS converged; 0 once it has (info filled). */
static int run_iwocs(ws *w, const robust_iwocs_out *out, robust_iwocs_info *info)
{
    if (add_model(w, 0))
        return 1;
    for (;;) {
        w->bound = policy_from_w(w);
        if (isnan(w->obj))
            w->obj = w->bound;
        double worst, worst_w;
        int arg;
        int nw = w->nw;
        int stop = evaluate_all(w, &worst, &arg, &worst_w);
        if (stop)
            return 1;
        w->worst_all = worst;
        w->worst_found = worst_w;
        if (isnan(w->best_worst) || worst > w->best_worst) {
            w->best_worst = worst;
            w->best_iter = w->iteration;
            memcpy(w->best, w->greedy, (size_t)(w->H > 0 ? w->H : 1) * w->S * sizeof *w->best);
            memcpy(w->best_vals, w->vals, (size_t)w->n * sizeof *w->vals);
            info->worst_case = worst;
            info->worst_model = arg;
            info->best_iteration = w->iteration;
        }
        w->obj = w->best_worst;
        if (w->iteration == 0)
            info->nominal_worst = worst;
        if (out && out->iters && w->iteration < out->cap_iters)
            out->iters[w->iteration] = (robust_iwocs_iter){worst, worst_w, w->bound, nw, arg};
        w->iteration++;
        info->iterations = w->iteration;
        if (!(worst < worst_w - w->s->ctl.tol) || w->in_w[arg])
            return 0;
        if (add_model(w, arg))
            return 1;
    }
}

/* ================================ robust VI ================================ */

/* Q(s, a) = r(s, a) + disc min_i sum_t P_i(t | s, a) V(t) into w->Qmin (w->Q scratch). Each
 * model's S A x S tensor times V is one dgemv: a sweep costs n S^2 A, the bulk of robust VI.
 * Only robust VI goes through BLAS (its values are compared with tolerances); the evaluations
 * keep sv_mdp_evaluate's summation order. */
static void robust_q(ws *w, const double *V, double disc)
{
    int SA = w->S * w->A;
    const double *R = w->models[0].R;
    for (int i = 0; i < w->n; i++) {
        double *y = i == 0 ? w->Qmin : w->Q;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, SA, w->S, 1.0, w->models[i].P, w->S, V, 1, 0.0,
                    y, 1);
        if (i > 0)
            for (int x = 0; x < SA; x++)
                w->Qmin[x] = fmin(w->Qmin[x], w->Q[x]);
    }
    for (int x = 0; x < SA; x++)
        w->Qmin[x] = R[x] + disc * w->Qmin[x];
}

/* V(s) = max_a Qmin(s, a), argmax into g; returns the sup-norm change from old (or 0). */
static double robust_greedy(ws *w, double *V, int *g, const double *old)
{
    double change = 0;
    for (int s = 0; s < w->S; s++) {
        int best = 0;
        for (int a = 1; a < w->A; a++)
            if (w->Qmin[s * w->A + a] > w->Qmin[s * w->A + best])
                best = a;
        V[s] = w->Qmin[s * w->A + best];
        g[s] = best;
        if (old)
            change = fmax(change, fabs(V[s] - old[s]));
    }
    return change;
}

/* Robust VI to w->rv / w->rgreedy; 1 when the solve must end first. */
static int run_robust_vi(ws *w, double *value)
{
    const sv_mdp *m0 = &w->models[0];
    int S = w->S;
    w->phase = 1;
    if (w->H > 0) {
        memset(w->rv + (long)w->H * S, 0, (size_t)S * sizeof *w->rv);
        for (int h = w->H - 1; h >= 0; h--) {
            robust_q(w, w->rv + (long)(h + 1) * S, 1.0);
            robust_greedy(w, w->rv + (long)h * S, w->rgreedy + (long)h * S, NULL);
            if (step(w))
                return 1;
        }
    } else {
        double stop = m0->gamma > 0 ? w->s->vi_tol * (1 - m0->gamma) / (2 * m0->gamma)
                                    : INFINITY;
        memset(w->rv, 0, (size_t)S * sizeof *w->rv);
        for (int sweeps = 0; sweeps < w->s->max_sweeps; sweeps++) {
            memcpy(w->rold, w->rv, (size_t)S * sizeof *w->rv);
            robust_q(w, w->rold, m0->gamma);
            w->rvi_change = robust_greedy(w, w->rv, w->rgreedy, w->rold);
            if (step(w))
                return 1;
            if (w->rvi_change <= stop)
                break;
        }
    }
    *value = sv_mdp_start_value(m0, w->rv);
    return 0;
}

/* ================================ the solver ================================ */

int robust_iwocs_solve(const robust_iwocs_problem *p, const robust_iwocs_settings *s,
                       const sv_monitor *mon, const robust_iwocs_out *out,
                       robust_iwocs_info *info, sv_err *e)
{
    robust_iwocs_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->worst_case = info->robust_vi_value = info->gap = info->nominal_worst = NAN;
    info->worst_model = -1;
    int rc;
    if ((rc = robust_iwocs_check_settings(s, e)) != SV_OK || (rc = check_problem(p, e)) != SV_OK)
        return rc;
    ws w;
    memset(&w, 0, sizeof w);
    w.s = s;
    if ((rc = ws_alloc(&w, p)) != SV_OK)
        return rc;
    w.worst_all = w.worst_found = w.bound = w.rvi_change = w.obj = w.best_worst = NAN;
    sv_loop_begin(&w.L, &s->ctl, mon, metrics, &w);
    int steps = w.H > 0 ? w.H : 1, stopped;
    double rvi = NAN;
    if (s->method == ROBUST_IWOCS_IWOCS) {
        stopped = run_iwocs(&w, out, info) || run_robust_vi(&w, &rvi);
    } else {
        stopped = run_robust_vi(&w, &rvi);
        if (!stopped) {
            w.phase = 2;
            w.obj = rvi;
            memcpy(w.greedy, w.rgreedy, (size_t)steps * w.S * sizeof *w.greedy);
            memcpy(w.best, w.rgreedy, (size_t)steps * w.S * sizeof *w.best);
            double worst, worst_w;
            int arg;
            stopped = evaluate_all(&w, &worst, &arg, &worst_w);
            if (!stopped) {
                w.worst_all = worst;
                w.worst_found = worst_w;
                memcpy(w.best_vals, w.vals, (size_t)w.n * sizeof *w.vals);
                info->worst_case = worst;
                info->worst_model = arg;
            }
        }
    }
    if (!stopped) {
        info->robust_vi_value = rvi;
        info->gap = info->worst_case - rvi;
        w.obj = info->worst_case;
        sv_loop_check(&w.L, w.k, w.obj, 0, 1);
    }
    info->found = w.nw;
    if (out) {
        if (out->policy)
            memcpy(out->policy, w.best, (size_t)steps * w.S * sizeof *out->policy);
        if (out->values)
            memcpy(out->values, w.best_vals, (size_t)w.n * sizeof *out->values);
        if (out->found)
            memcpy(out->found, w.w, (size_t)w.nw * sizeof *out->found);
    }
    sv_loop_end(&w.L, &info->base, w.k, w.obj, isnan(info->gap) ? NAN : info->gap);
    ws_free(&w);
    return SV_OK;
}
