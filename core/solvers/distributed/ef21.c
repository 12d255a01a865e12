/* ef21.c - EF21 / EF21-W with TopK, simulated on one thread: the n clients take their turn in
 * each round, and the server's aggregate is formed from their states exactly as the messages
 * would build it.
 *
 * One round at the current x (both variants; plain EF21 has s_i = 1 and w_i = 1/n):
 *   client i:  c_i = TopK(s_i grad f_i(x) - g_i),  g_i += c_i,  sends c_i
 *   server:    g = sum_i w_i g_i,  then x -= gamma g
 * EF21-W takes w_i = L_i / sum_j L_j and s_i = 1 / (n w_i). */
#include "core/solvers/distributed/ef21.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/matcheck.h"

typedef struct {
    double *G;      /* n x d: the clients' states g_i */
    double *g;      /* d: the server's aggregate */
    double *grad;   /* d: one client's gradient, then its message */
    double *fgrad;  /* d: grad f at the current x */
    double *v;      /* d: power-iteration vector */
    double *zero;   /* d: the origin, where the logistic Hessian bound is attained */
    double *work;   /* 2 * max rows: glm workspace */
    double *Li;     /* n: the clients' smoothness constants */
    double *scale;  /* n: s_i */
    double *weight; /* n: w_i */
    double *idx;    /* d: TopK scratch */
} ef21_ws;

static int check_problem(const ef21_problem *p, sv_err *e);
static int check_client(const sv_glm *c, int i, int d, sv_err *e);
static int has_curvature(const sv_glm *c);
static int ws_alloc(ef21_ws *w, int n, int d, int max_rows);
static void ws_free(ef21_ws *w);
static double smoothness_of_f(const ef21_problem *p, int d, ef21_ws *w);
static double client_round(const ef21_problem *p, int d, long k, const double *x, ef21_ws *w);
static int metrics(void *ctx, sv_metric *m, int cap);

/* ================================ settings ================================ */

static const char *const variant_choices[] = {"ef21", "ef21w", NULL};
static const char *const stepsize_choices[] = {"theory", "theory_qm", NULL};
static const char *const init_choices[] = {"full", "compressed", NULL};

const sv_param_spec ef21_params[] = {
    SV_P_ENUM(ef21_settings, variant, variant_choices, EF21_DEFAULT_VARIANT,
              "ef21: plain EF21 (server averages); ef21w: EF21-W, clients weighted by L_i / sum L_j"),
    SV_P_INT(ef21_settings, k, 1, INT_MAX, EF21_DEFAULT_K,
             "TopK: coordinates each client sends per round, at most the dimension"),
    SV_P_ENUM(ef21_settings, stepsize, stepsize_choices, EF21_DEFAULT_STEPSIZE,
              "step rule when gamma is null: theory = 1/(L + L_AM sqrt(beta/theta)) (the paper's "
              "Theorems 2 and 3); theory_qm = the original EF21 step with L_QM"),
    SV_P_NUMBER_GT(ef21_settings, gamma, 0, INFINITY, NAN,
                   "fixed step size, overriding the stepsize rule"),
    SV_P_NUMBER_GT(ef21_settings, gamma_factor, 0, 1e6, EF21_DEFAULT_GAMMA_FACTOR,
                   "multiplier applied to the rule's step (ignored when gamma is given)"),
    SV_P_ENUM(ef21_settings, init, init_choices, EF21_DEFAULT_INIT,
              "g_i at the start: full = the exact local gradient (one dense upload); compressed = "
              "its TopK"),
    SV_CONTROL_PARAMS(ef21_settings, ctl, EF21_DEFAULT_TOL,
                      "stop when the norm of the full gradient is at most tol",
                      EF21_DEFAULT_MAX_ITER, EF21_DEFAULT_REPORT_EVERY),
    SV_P_SCHEDULE(ef21_settings, schedule,
                  "step-size schedule over max_iter rounds (docs/schedules.md)"),
    SV_PARAMS_END,
};

void ef21_settings_default(ef21_settings *s)
{
    sv_params_defaults(ef21_params, s);
}

int ef21_check_settings(const ef21_settings *s, int dim, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(ef21_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (dim > 0 && s->k > dim)
        return sv_fail(e, "/params/k", "must be at most the dimension %d, got %ld", dim, s->k);
    return SV_OK;
}

double ef21_topk_xi(long k, int d)
{
    if (d <= 0 || k >= d)
        return 0.0;
    double alpha = (double)k / d;
    double r = sqrt(1.0 - alpha);
    double theta = 1.0 - r;
    double beta = (1.0 - alpha) / (1.0 - r);
    return sqrt(beta / theta);
}

uint64_t ef21_topk_bits(long k, int d)
{
    uint64_t index_bits = 0;
    while (index_bits < 63 && ((uint64_t)1 << index_bits) < (uint64_t)d)
        index_bits++;
    return (uint64_t)k * (64 + index_bits);
}

/* ================================ validation ================================ */

static int check_problem(const ef21_problem *p, sv_err *e)
{
    if (!p || !p->clients || p->n_clients < 1)
        return sv_fail(e, "/problem/clients", "at least one client is required");
    int d = p->clients[0].A ? p->clients[0].A->cols : 0;
    for (int i = 0; i < p->n_clients; i++) {
        int rc = check_client(&p->clients[i], i, d, e);
        if (rc != SV_OK)
            return rc;
    }
    return SV_OK;
}

static int check_client(const sv_glm *c, int i, int d, sv_err *e)
{
    char path[64];
    snprintf(path, sizeof path, "/problem/clients/%d", i);
    if (c->loss != SV_LOSS_SQUARED && c->loss != SV_LOSS_LOGISTIC)
        return sv_fail(e, "/problem/loss", "must be \"squared\" or \"logistic\"");

    const sv_mat *A = c->A;
    snprintf(path, sizeof path, "/problem/clients/%d/A", i);
    if (!A || A->rows < 1 || A->cols < 1)
        return sv_fail(e, path, "client %d needs a matrix with at least one row and column", i);
    if (A->cols != d)
        return sv_fail(e, path, "client %d has %d columns, client 0 has %d", i, A->cols, d);
    int rc = sv_mat_check_storage(A, path, e);
    if (rc != SV_OK)
        return rc;

    snprintf(path, sizeof path, "/problem/clients/%d/b", i);
    if (!c->b)
        return sv_fail(e, path, "targets missing");
    for (int r = 0; r < A->rows; r++) {
        double b = c->b[r];
        if (!isfinite(b) || (c->loss == SV_LOSS_LOGISTIC && b != 1.0 && b != -1.0)) {
            snprintf(path, sizeof path, "/problem/clients/%d/b/%d", i, r);
            return sv_fail(e, path, c->loss == SV_LOSS_LOGISTIC ? "logistic labels must be -1 or 1"
                                                                : "must be finite");
        }
    }
    if (c->w) {
        for (int r = 0; r < A->rows; r++) {
            if (!(isfinite(c->w[r]) && c->w[r] >= 0)) {
                snprintf(path, sizeof path, "/problem/clients/%d/w/%d", i, r);
                return sv_fail(e, path, "sample weights must be finite and >= 0");
            }
        }
    }
    if (!(isfinite(c->lambda) && c->lambda >= 0))
        return sv_fail(e, "/problem/lambda", "must be a finite number >= 0");
    if (c->lambda_vec) {
        for (int j = 0; j < d; j++) {
            if (!(isfinite(c->lambda_vec[j]) && c->lambda_vec[j] >= 0)) {
                snprintf(path, sizeof path, "/problem/lambda/%d", j);
                return sv_fail(e, path, "must be a finite number >= 0");
            }
        }
    }
    return SV_OK;
}

/* Whether f_i has any curvature, i.e. L_i > 0: a ridge term or a row of positive weight that is
 * not all zero. Cheap and exact, so it can run before anything is allocated. */
static int has_curvature(const sv_glm *c)
{
    if (c->lambda > 0)
        return 1;
    if (c->lambda_vec)
        for (int j = 0; j < c->A->cols; j++)
            if (c->lambda_vec[j] > 0)
                return 1;
    for (int r = 0; r < c->A->rows; r++)
        if ((!c->w || c->w[r] > 0) && sv_mat_row_nrm2sq(c->A, r) > 0)
            return 1;
    return 0;
}

/* ================================ workspace ================================ */

static int ws_alloc(ef21_ws *w, int n, int d, int max_rows)
{
    size_t nd = (size_t)n * d;
    size_t total = nd + 5 * (size_t)d + 2 * (size_t)max_rows + 3 * (size_t)n;
    memset(w, 0, sizeof *w);
    double *block = calloc(total, sizeof *block);
    w->idx = malloc((size_t)d * sizeof *w->idx);
    if (!block || !w->idx) {
        free(block);
        free(w->idx);
        w->idx = NULL;
        return SV_ENOMEM;
    }
    w->G = block;
    w->g = w->G + nd;
    w->grad = w->g + d;
    w->fgrad = w->grad + d;
    w->v = w->fgrad + d;
    w->zero = w->v + d;
    w->work = w->zero + d;
    w->Li = w->work + 2 * (size_t)max_rows;
    w->scale = w->Li + n;
    w->weight = w->scale + n;
    return SV_OK;
}

static void ws_free(ef21_ws *w)
{
    free(w->G);  /* the head of the one double block */
    free(w->idx);
    memset(w, 0, sizeof *w);
}

/* ================================ numerics ================================ */

/* L, the smoothness constant of f = (1/n) sum f_i: the largest eigenvalue of its Hessian at the
 * origin. For squared loss the Hessian is constant; for logistic loss the origin is where every
 * sample's curvature is 1/4, its maximum, so this is the same bound sv_glm_smoothness uses. */
static double smoothness_of_f(const ef21_problem *p, int d, ef21_ws *w)
{
    const int n = p->n_clients;
    double lam = 0.0;
    sv_zero(d, w->zero);
    /* A fixed start with distinct entries, unlikely to be orthogonal to the top eigenvector. */
    for (int j = 0; j < d; j++)
        w->v[j] = 1.0 + 1.0 / (j + 2.0);
    sv_scal(d, 1.0 / sv_nrm2(d, w->v), w->v);
    for (int it = 0; it < EF21_POWER_MAX_ITER; it++) {
        sv_zero(d, w->fgrad);
        for (int i = 0; i < n; i++) {
            sv_glm_hvp(&p->clients[i], w->zero, w->v, w->grad, w->work);
            sv_axpy(d, 1.0 / n, w->grad, w->fgrad);
        }
        double rq = sv_dot(d, w->v, w->fgrad);
        double nrm = sv_nrm2(d, w->fgrad);
        if (!(nrm > 0))
            return 0.0;
        sv_copy(d, w->fgrad, w->v);
        sv_scal(d, 1.0 / nrm, w->v);
        int done = it > 0 && fabs(rq - lam) <= EF21_POWER_TOL * fabs(rq);
        lam = rq > lam ? rq : lam;
        if (done)
            break;
    }
    return lam;
}

/* One round of client work at x: every client computes its gradient, forms and applies its
 * message c_i = TopK_k(s_i grad f_i(x) - g_i) (no compression when k >= d), and the server's
 * aggregate g = sum w_i g_i is rebuilt. fgrad gets grad f(x); returns f(x). */
static double client_round(const ef21_problem *p, int d, long k, const double *x, ef21_ws *w)
{
    const int n = p->n_clients;
    double f = 0.0;
    sv_zero(d, w->fgrad);
    sv_zero(d, w->g);
    for (int i = 0; i < n; i++) {
        double *gi = w->G + (size_t)i * d;
        f += sv_glm_value(&p->clients[i], x, w->grad, w->work) / n;
        sv_axpy(d, 1.0 / n, w->grad, w->fgrad);
        if (k >= d) {
            /* g_i + (s_i grad_i - g_i) is s_i grad_i; assign it so that no rounding creeps in. */
            sv_copy(d, w->grad, gi);
            if (w->scale[i] != 1.0)
                sv_scal(d, w->scale[i], gi);
        } else {
            for (int j = 0; j < d; j++)
                w->grad[j] = w->scale[i] * w->grad[j] - gi[j];
            sv_topk(d, (int)k, w->grad, w->idx);  /* scratch given: cannot fail */
            sv_axpy(d, 1.0, w->grad, gi);
        }
        sv_axpy(d, w->weight[i], gi, w->g);
    }
    return f;
}

/* The metrics of a report (core/control.h). */
static int metrics(void *ctx, sv_metric *m, int cap)
{
    const ef21_info *info = ctx;
    if (cap < 4)
        return 0;
    m[0] = (sv_metric){"grad_norm", info->grad_norm};
    m[1] = (sv_metric){"bits_sent", (double)info->bits_sent};
    m[2] = (sv_metric){"floats_sent", (double)info->floats_sent};
    m[3] = (sv_metric){"gamma", info->gamma};
    return 4;
}

/* ================================ solve ================================ */

int ef21_solve(const ef21_problem *p, const ef21_settings *s, const sv_monitor *mon, double *x,
               ef21_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->gamma = info->L = info->L_am = info->L_qm = NAN;
    info->grad_norm = info->base.res = info->base.obj = NAN;

    int rc = check_problem(p, e);
    if (rc != SV_OK)
        return rc;
    const int n = p->n_clients;
    const int d = p->clients[0].A->cols;
    rc = ef21_check_settings(s, d, e);
    if (rc != SV_OK)
        return rc;
    if (!x)
        return sv_fail(e, "/problem/x0", "starting point missing");
    if (!sv_all_finite(d, x))
        return sv_fail(e, "/problem/x0", "must be finite");
    int curved = 0, max_rows = 0;
    for (int i = 0; i < n; i++) {
        int ci = has_curvature(&p->clients[i]);
        if (!ci && s->variant == EF21_VARIANT_EF21W) {
            char path[64];
            snprintf(path, sizeof path, "/problem/clients/%d/A", i);
            return sv_fail(e, path, "ef21w weighs clients by their smoothness constant, and client %d "
                           "has none (all rows zero and lambda 0)", i);
        }
        curved |= ci;
        if (p->clients[i].A->rows > max_rows)
            max_rows = p->clients[i].A->rows;
    }
    if (!curved && isnan(s->gamma))
        return sv_fail(e, "/params/gamma", "every client objective is flat (all rows zero and lambda "
                       "0): the theory step is undefined; give gamma");

    /* ---- set-up: smoothness constants, weights, step ---- */
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, info);
    ef21_ws w;
    if (ws_alloc(&w, n, d, max_rows) != SV_OK)
        return SV_ENOMEM;

    double sum_L = 0.0, sum_L2 = 0.0;
    for (int i = 0; i < n; i++) {
        w.Li[i] = sv_glm_smoothness(&p->clients[i]);
        sum_L += w.Li[i];
        sum_L2 += w.Li[i] * w.Li[i];
    }
    info->L_am = sum_L / n;
    info->L_qm = sqrt(sum_L2 / n);
    info->L = smoothness_of_f(p, d, &w);
    for (int i = 0; i < n; i++) {
        if (s->variant == EF21_VARIANT_EF21W) {
            w.weight[i] = w.Li[i] / sum_L;
            w.scale[i] = sum_L / (n * w.Li[i]);  /* 1 / (n w_i) */
        } else {
            w.weight[i] = 1.0 / n;
            w.scale[i] = 1.0;
        }
    }
    if (isnan(s->gamma)) {
        double Lc = s->stepsize == EF21_STEP_THEORY_QM ? info->L_qm : info->L_am;
        info->gamma = s->gamma_factor / (info->L + Lc * ef21_topk_xi(s->k, d));
    } else {
        info->gamma = s->gamma;
    }
    if (!(isfinite(info->gamma) && info->gamma > 0)) {
        ws_free(&w);
        sv_fail(e, "/params/gamma", "the theory step came out as %g", info->gamma);
        return sv_loop_fail(&L, &info->base, 0, SV_ENUMERIC);
    }

    /* ---- initialisation: g_i^0, a dense upload or one compressed message from g_i = 0 ---- */
    const uint64_t round_bits = (uint64_t)n * ef21_topk_bits(s->k, d);
    const uint64_t round_floats = (uint64_t)n * (uint64_t)s->k;
    double obj;
    if (s->init == EF21_INIT_FULL) {
        obj = client_round(p, d, d, x, &w);
        info->bits_sent = (uint64_t)n * (uint64_t)d * 64;
        info->floats_sent = (uint64_t)n * (uint64_t)d;
    } else {
        obj = client_round(p, d, s->k, x, &w);
        info->bits_sent = round_bits;
        info->floats_sent = round_floats;
    }
    double gn = sv_nrm2(d, w.fgrad);
    const double gn0 = gn;
    info->grad_norm = gn;

    /* ---- rounds ---- */
    long t = 0;
    const long T = s->ctl.max_iter;
    while (!sv_loop_check(&L, t, obj, !isfinite(gn) || !isfinite(obj) ||
                                          gn > EF21_DIVERGENCE_FACTOR * gn0,
                          gn <= s->ctl.tol)) {
        sv_axpy(d, -sv_schedule_lr(&s->schedule, info->gamma, t, T), w.g, x);
        obj = client_round(p, d, s->k, x, &w);
        gn = sv_nrm2(d, w.fgrad);
        info->bits_sent += round_bits;
        info->floats_sent += round_floats;
        info->grad_norm = gn;
        t++;
    }
    info->grad_norm = gn;
    sv_loop_end(&L, &info->base, t, obj, gn);
    ws_free(&w);
    return SV_OK;
}
