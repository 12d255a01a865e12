/* boss.c - BOSS (Nguyen et al., ICLR 2024): the Bellman-optimal Euler schedule on a fine grid.
 *
 * Fine grid t_i = i / N. The reference trajectory x_i^s of each start s (x_0^s ~ N(0, I)) is
 * integrated through the grid, and v_i^s = v(x_i^s, t_i) kept beside it. The cost of one Euler
 * step from t_i to t_j (i < j) is the paper's squared l2 error against the reference, averaged
 * over the S starts:
 *     c(i, j) = (1/S) sum_s | x_i^s + (t_j - t_i) v_i^s - x_j^s |^2.
 * The Bellman recursion over (steps used, grid index),
 *     D_1(j) = c(0, j),   D_k(j) = min_{k-1 <= i < j} D_{k-1}(i) + c(i, j),
 * gives the cheapest K-step schedule 0 = i_0 < ... < i_K = N as D_K(N), read back through the
 * argmins (the smallest i on ties). Column j of the cost matrix needs the reference only up to
 * t_j, and column j of the DP only cost column j and the DP columns before it, so one pass over
 * the grid does all three: iteration j - 1 integrates the reference to t_j, builds the cost
 * column c(., j) and the DP column D_.(j). Progress is reported through the construction, and
 * the objective D_min(j,K)(j) is a real Bellman value at every report.
 *
 * Every sum runs in a fixed order in plain C (no BLAS), so that costs and the chosen schedule do
 * not depend on the machine's OpenBLAS kernels. */
#include "core/solvers/dp/boss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"

static const char *const reference_choices[] = {"rk4", "euler", NULL};

const sv_param_spec boss_params[] = {
    SV_P_INT32(boss_settings, steps, 1, BOSS_MAX_GRID, BOSS_DEFAULT_STEPS,
               "K: Euler steps of the schedule (its K + 1 points include 0 and 1); <= grid"),
    SV_P_INT32(boss_settings, grid, 1, BOSS_MAX_GRID, BOSS_DEFAULT_GRID,
               "N: intervals of the fine grid t_i = i / N the steps are chosen from"),
    SV_P_INT32(boss_settings, samples, 1, 1000000, BOSS_DEFAULT_SAMPLES,
               "starts x0 ~ N(0, I) the costs are averaged over; (grid + 1) samples dim <= 8e6"),
    SV_P_SEED(boss_settings, seed, 0, "seed of the starts"),
    SV_P_ENUM(boss_settings, reference, reference_choices, BOSS_REF_RK4,
              "reference trajectory between grid points: rk4 = RK4 with substeps steps per "
              "interval; euler = one Euler step per interval (the reference code)"),
    SV_P_INT32(boss_settings, substeps, 1, 1000, BOSS_DEFAULT_SUBSTEPS,
               "RK4 steps per fine interval (reference rk4)"),
    SV_CONTROL_PARAMS(boss_settings, ctl, 0,
                      "unused: the DP is exact and ends solved at the last grid point",
                      1000000000L, BOSS_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void boss_settings_default(boss_settings *s)
{
    sv_params_defaults(boss_params, s);
}

int boss_check_settings(const boss_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(boss_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (s->steps > s->grid)
        return sv_fail(e, "/params/steps", "%d steps do not fit a grid of %d intervals",
                       s->steps, s->grid);
    return SV_OK;
}

long boss_iterations(const boss_settings *s)
{
    return s->grid;
}

/* ================================ validation ================================ */

static int check_finite(size_t n, const double *x, const char *path, sv_err *e)
{
    if (!x)
        return sv_fail(e, path, "missing");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return sv_fail(e, path, "entry %zu is not finite", i);
    return SV_OK;
}

int boss_check_field(const boss_field *f, sv_err *e)
{
    if (!f)
        return sv_fail(e, "/problem", "a velocity field is required");
    if (f->d < 1)
        return sv_fail(e, "/problem", "the dimension must be >= 1");
    int d = f->d, rc;
    if (f->kind == BOSS_FIELD_LINEAR) {
        if (f->n_knots < 1)
            return sv_fail(e, "/problem/A_t", "at least one matrix is required");
        const char *apath = f->n_knots == 1 ? "/problem/A" : "/problem/A_t";
        size_t entries = (size_t)f->n_knots * (size_t)d * (size_t)d;
        if ((rc = check_finite(entries, f->A, apath, e)) != SV_OK)
            return rc;
        if (f->n_knots > 1) {
            if ((rc = check_finite((size_t)f->n_knots, f->knots, "/problem/knots", e)) != SV_OK)
                return rc;
            if (f->knots[0] != 0.0 || f->knots[f->n_knots - 1] != 1.0)
                return sv_fail(e, "/problem/knots", "must start at 0 and end at 1");
            for (int k = 1; k < f->n_knots; k++)
                if (!(f->knots[k] > f->knots[k - 1]))
                    return sv_fail(e, "/problem/knots", "must increase strictly (entry %d)", k);
        }
        if (f->b && (rc = check_finite((size_t)d, f->b, "/problem/b", e)) != SV_OK)
            return rc;
        return SV_OK;
    }
    if (f->kind != BOSS_FIELD_MIXTURE)
        return sv_fail(e, "/problem", "unknown field kind");
    if (f->m < 1)
        return sv_fail(e, "/problem/means", "at least one component is required");
    if ((rc = check_finite((size_t)f->m * (size_t)d, f->means, "/problem/means", e)) != SV_OK ||
        (rc = check_finite((size_t)f->m, f->weights, "/problem/weights", e)) != SV_OK ||
        (rc = check_finite((size_t)f->m, f->sigmas, "/problem/sigmas", e)) != SV_OK)
        return rc;
    for (int c = 0; c < f->m; c++) {
        if (!(f->weights[c] > 0))
            return sv_fail(e, "/problem/weights", "entry %d must be > 0", c);
        if (!(f->sigmas[c] > 0))
            return sv_fail(e, "/problem/sigmas", "entry %d must be > 0", c);
    }
    return SV_OK;
}

/* ================================ the field ================================ */

/* A(t) into At (d x d): the knot matrices interpolated linearly. */
static void linear_at(const boss_field *f, double t, double *At)
{
    size_t dd = (size_t)f->d * (size_t)f->d;
    if (f->n_knots == 1) {
        memcpy(At, f->A, dd * sizeof *At);
        return;
    }
    int k = 0;
    while (k < f->n_knots - 2 && t > f->knots[k + 1])
        k++;
    double a = (t - f->knots[k]) / (f->knots[k + 1] - f->knots[k]);
    a = fmin(1.0, fmax(0.0, a));
    const double *A0 = f->A + (size_t)k * dd, *A1 = A0 + dd;
    for (size_t p = 0; p < dd; p++)
        At[p] = (1.0 - a) * A0[p] + a * A1[p];
}

static void linear_apply(const boss_field *f, const double *At, const double *x, double *v)
{
    int d = f->d;
    for (int r = 0; r < d; r++) {
        const double *row = At + (size_t)r * d;
        double acc = f->b ? f->b[r] : 0.0;
        for (int c = 0; c < d; c++)
            acc += row[c] * x[c];
        v[r] = acc;
    }
}

/* log(w_c / sum w) into logw (m). */
static void mixture_logw(const boss_field *f, double *logw)
{
    double sum = 0;
    for (int c = 0; c < f->m; c++)
        sum += f->weights[c];
    for (int c = 0; c < f->m; c++)
        logw[c] = log(f->weights[c] / sum);
}

/* v(x, t) = E[x1 - x0 | x_t = x] on x_t = (1 - t) x0 + t x1. Given component c,
 * x_t ~ N(t mu_c, s_c I) with s_c = (1 - t)^2 + t^2 sigma_c^2, and by Gaussian conditioning
 * E[x1 - x0 | x_t = x, c] = mu_c + g_c (x - t mu_c), g_c = (t sigma_c^2 - (1 - t)) / s_c; the
 * components are weighted by their posterior r_c ~ w_c N(x; t mu_c, s_c I).
 * What depends on t alone is tabulated once per time (a batch shares it): tab holds, per
 * component, log w_c - (d/2) log s_c, 1 / (2 s_c), g_c and 1 - g_c t. */
#define MIX_TAB 4

static void mixture_prep(const boss_field *f, const double *logw, double t, double *tab)
{
    for (int c = 0; c < f->m; c++) {
        double sg = f->sigmas[c], s = (1 - t) * (1 - t) + t * t * sg * sg;
        double g = (t * sg * sg - (1 - t)) / s;
        double *q = tab + (size_t)MIX_TAB * c;
        q[0] = logw[c] - 0.5 * f->d * log(s);
        q[1] = 0.5 / s;
        q[2] = g;
        q[3] = 1 - g * t;
    }
}

/* v at x from the table of mixture_prep; lw: m doubles. */
static void mixture_apply(const boss_field *f, const double *tab, double t, const double *x,
                          double *v, double *lw)
{
    int d = f->d, m = f->m;
    double top = -INFINITY;
    for (int c = 0; c < m; c++) {
        const double *mu = f->means + (size_t)c * d;
        double q = 0;
        for (int j = 0; j < d; j++) {
            double r = x[j] - t * mu[j];
            q += r * r;
        }
        lw[c] = tab[MIX_TAB * c] - q * tab[MIX_TAB * c + 1];
        if (lw[c] > top)
            top = lw[c];
    }
    double z = 0, gsum = 0;
    for (int c = 0; c < m; c++) {
        lw[c] = exp(lw[c] - top);
        z += lw[c];
    }
    for (int j = 0; j < d; j++)
        v[j] = 0;
    for (int c = 0; c < m; c++) {
        const double *mu = f->means + (size_t)c * d;
        double r = lw[c] / z, a = r * tab[MIX_TAB * c + 3];
        gsum += r * tab[MIX_TAB * c + 2];
        for (int j = 0; j < d; j++)
            v[j] += a * mu[j];
    }
    for (int j = 0; j < d; j++)
        v[j] += gsum * x[j];
}

void boss_velocity(const boss_field *f, double t, const double *x, double *v, double *work)
{
    if (f->kind == BOSS_FIELD_LINEAR) {
        linear_at(f, t, work);
        linear_apply(f, work, x, v);
    } else {
        double *tab = work + (size_t)f->d * (size_t)f->d, *lw = tab + (size_t)MIX_TAB * f->m;
        mixture_logw(f, lw);
        mixture_prep(f, lw, t, tab);
        mixture_apply(f, tab, t, x, v, lw);
    }
}

/* ================================ workspace ================================ */

typedef struct {
    const boss_field *f;
    const boss_settings *s;
    sv_loop *L;
    int N, K, S, d;
    size_t sd;        /* S d: one grid point's states */
    double *traj;     /* (N + 1) sd: reference states */
    double *vel;      /* N sd: v at the reference states of points 0 .. N-1 */
    double *stage;    /* 5 sd: RK4 stages and the Euler samplers' state */
    double *At;       /* d d */
    double *logw;     /* m */
    double *tab;      /* MIX_TAB m: the mixture's per-time table */
    double *lw;       /* m */
    double *col;      /* N + 1: the cost column c(., j) of the current grid point */
    double *cost;     /* (N + 1)^2 or NULL: the whole matrix, when the caller asks for it */
    double *best;     /* (K + 1)(N + 1): D_k(j) */
    int *parent;      /* (K + 1)(N + 1): the argmin i of D_k(j) */
    int *uidx;        /* K + 1 */
    int *idx;         /* K + 1 */
    long evals;
    int j;            /* the last grid point done */
    int unext;        /* the uniform schedule's next step to complete */
    double uniform_cost;  /* summed over its steps completed so far */
} boss_ws;

static void ws_free(boss_ws *w)
{
    free(w->traj);
    free(w->vel);
    free(w->stage);
    free(w->At);
    free(w->logw);
    free(w->tab);
    free(w->lw);
    free(w->col);
    free(w->best);
    free(w->parent);
    free(w->uidx);
    free(w->idx);
}

static int ws_alloc(boss_ws *w)
{
    size_t n1 = (size_t)w->N + 1, k1 = (size_t)w->K + 1, m = w->f->m > 0 ? (size_t)w->f->m : 1;
    w->traj = malloc(n1 * w->sd * sizeof *w->traj);
    w->vel = malloc((size_t)w->N * w->sd * sizeof *w->vel);
    w->stage = malloc(5 * w->sd * sizeof *w->stage);
    w->At = malloc((size_t)w->d * (size_t)w->d * sizeof *w->At);
    w->logw = malloc(m * sizeof *w->logw);
    w->tab = malloc(MIX_TAB * m * sizeof *w->tab);
    w->lw = malloc(m * sizeof *w->lw);
    w->col = malloc(n1 * sizeof *w->col);
    w->best = malloc(k1 * n1 * sizeof *w->best);
    w->parent = malloc(k1 * n1 * sizeof *w->parent);
    w->uidx = malloc(k1 * sizeof *w->uidx);
    w->idx = malloc(k1 * sizeof *w->idx);
    if (!w->traj || !w->vel || !w->stage || !w->At || !w->logw || !w->tab || !w->lw || !w->col ||
        !w->best || !w->parent || !w->uidx || !w->idx) {
        ws_free(w);
        return SV_ENOMEM;
    }
    return SV_OK;
}

/* V = v(X, t) for the S rows of X. */
static void eval_batch(boss_ws *w, double t, const double *X, double *V)
{
    const boss_field *f = w->f;
    int d = w->d;
    if (f->kind == BOSS_FIELD_LINEAR) {
        linear_at(f, t, w->At);
        for (int s = 0; s < w->S; s++)
            linear_apply(f, w->At, X + (size_t)s * d, V + (size_t)s * d);
    } else {
        mixture_prep(f, w->logw, t, w->tab);
        for (int s = 0; s < w->S; s++)
            mixture_apply(f, w->tab, t, X + (size_t)s * d, V + (size_t)s * d, w->lw);
    }
    w->evals += w->S;
}

/* ================================ one grid point ================================ */

/* Reference step i: v_i at x_i, then x_{i+1}. 1 when x_{i+1} is not finite. */
static int reference_step(boss_ws *w, int i)
{
    size_t sd = w->sd;
    const double *x = w->traj + (size_t)i * sd;
    double *vi = w->vel + (size_t)i * sd, *y = w->traj + ((size_t)i + 1) * sd;
    double ti = (double)i / w->N, h = 1.0 / w->N;
    eval_batch(w, ti, x, vi);
    if (w->s->reference == BOSS_REF_EULER) {
        for (size_t p = 0; p < sd; p++)
            y[p] = x[p] + h * vi[p];
    } else {
        int sub = w->s->substeps;
        double hs = h / sub;
        double *k1 = w->stage, *k2 = k1 + sd, *k3 = k2 + sd, *k4 = k3 + sd, *tmp = k4 + sd;
        memcpy(y, x, sd * sizeof *y);
        for (int q = 0; q < sub; q++) {
            double tq = ((double)i * sub + q) / ((double)w->N * sub);
            if (q == 0)
                memcpy(k1, vi, sd * sizeof *k1);
            else
                eval_batch(w, tq, y, k1);
            for (size_t p = 0; p < sd; p++)
                tmp[p] = y[p] + 0.5 * hs * k1[p];
            eval_batch(w, tq + 0.5 * hs, tmp, k2);
            for (size_t p = 0; p < sd; p++)
                tmp[p] = y[p] + 0.5 * hs * k2[p];
            eval_batch(w, tq + 0.5 * hs, tmp, k3);
            for (size_t p = 0; p < sd; p++)
                tmp[p] = y[p] + hs * k3[p];
            eval_batch(w, tq + hs, tmp, k4);
            for (size_t p = 0; p < sd; p++)
                y[p] += hs / 6.0 * (k1[p] + 2.0 * k2[p] + 2.0 * k3[p] + k4[p]);
            if (q + 1 < sub && sv_loop_poll(w->L))
                return 0;
        }
    }
    return !sv_all_finite((int)sd, y);
}

/* Cost column j: c(i, j) for i < j into w->col (and the matrix, when kept), polling every few
 * rows. 1 when the loop said stop. */
static int cost_column(boss_ws *w, int j)
{
    size_t sd = w->sd, n1 = (size_t)w->N + 1;
    const double *y = w->traj + (size_t)j * sd;
    int every = sd >= 4096 ? 1 : (int)(4096 / sd);
    for (int i = 0; i < j; i++) {
        if ((i + 1) % every == 0 && sv_loop_poll(w->L))
            return 1;
        const double *x = w->traj + (size_t)i * sd, *v = w->vel + (size_t)i * sd;
        double h = (double)(j - i) / w->N;
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0;  /* four partial sums: a fixed order */
        size_t p = 0;
        for (; p + 4 <= sd; p += 4) {
            double r0 = x[p] + h * v[p] - y[p], r1 = x[p + 1] + h * v[p + 1] - y[p + 1];
            double r2 = x[p + 2] + h * v[p + 2] - y[p + 2], r3 = x[p + 3] + h * v[p + 3] - y[p + 3];
            a0 += r0 * r0;
            a1 += r1 * r1;
            a2 += r2 * r2;
            a3 += r3 * r3;
        }
        for (; p < sd; p++) {
            double r = x[p] + h * v[p] - y[p];
            a0 += r * r;
        }
        w->col[i] = ((a0 + a1) + (a2 + a3)) / w->S;
        if (w->cost)
            w->cost[(size_t)i * n1 + (size_t)j] = w->col[i];
    }
    return 0;
}

/* DP column j: D_k(j) = min_{k-1 <= i < j} D_{k-1}(i) + c(i, j) for k = 1 .. min(j, K), the
 * smallest i on ties (D_0 is 0 at index 0 and infinite elsewhere). */
static void dp_column(boss_ws *w, int j)
{
    size_t n1 = (size_t)w->N + 1;
    int top = j < w->K ? j : w->K;
    for (int k = 1; k <= top; k++) {
        const double *Dp = w->best + (size_t)(k - 1) * n1;
        double b = INFINITY;
        int arg = -1;
        for (int i = k - 1; i < j; i++) {
            double c = Dp[i] + w->col[i];
            if (c < b) {
                b = c;
                arg = i;
            }
        }
        w->best[(size_t)k * n1 + (size_t)j] = b;
        w->parent[(size_t)k * n1 + (size_t)j] = arg;
    }
}

/* Mean squared distance between K-step Euler from the starts on schedule idx and the reference
 * endpoint. */
static double endpoint_error(boss_ws *w, const int *idx)
{
    size_t sd = w->sd;
    double *x = w->stage, *v = x + sd;
    memcpy(x, w->traj, sd * sizeof *x);
    for (int k = 1; k <= w->K; k++) {
        double t0 = (double)idx[k - 1] / w->N, h = (double)(idx[k] - idx[k - 1]) / w->N;
        eval_batch(w, t0, x, v);
        for (size_t p = 0; p < sd; p++)
            x[p] += h * v[p];
    }
    const double *ref = w->traj + (size_t)w->N * sd;
    double err = 0;
    for (size_t p = 0; p < sd; p++)
        err += (x[p] - ref[p]) * (x[p] - ref[p]);
    return err / w->S;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    boss_ws *w = ctx;
    if (cap < 3)
        return 0;
    m[0] = (sv_metric){"t", (double)w->j / w->N};
    m[1] = (sv_metric){"dp_steps", (double)(w->j < w->K ? w->j : w->K)};
    m[2] = (sv_metric){"uniform_cost", w->uniform_cost};
    return 3;
}

/* ================================ the solver ================================ */

int boss_solve(const boss_field *f, const double *x0, const boss_settings *s,
               const sv_monitor *mon, const boss_output *out, boss_info *info, sv_err *e)
{
    boss_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->dp_cost = info->uniform_cost = info->dp_endpoint = info->uniform_endpoint = NAN;
    info->ref_spread = NAN;
    int rc;
    if ((rc = boss_check_settings(s, e)) != SV_OK || (rc = boss_check_field(f, e)) != SV_OK)
        return rc;
    if ((double)(s->grid + 1) * s->samples * f->d > BOSS_MAX_STATE)
        return sv_fail(e, "/params/samples",
                       "(grid + 1) samples dim = %.0f reference states exceed the limit of %.0f",
                       (double)(s->grid + 1) * s->samples * f->d, BOSS_MAX_STATE);
    if (x0 && (rc = check_finite((size_t)s->samples * (size_t)f->d, x0, "/problem/x0", e)) !=
                  SV_OK)
        return rc;

    boss_ws w;
    memset(&w, 0, sizeof w);
    w.f = f;
    w.s = s;
    w.N = s->grid;
    w.K = s->steps;
    w.S = s->samples;
    w.d = f->d;
    w.sd = (size_t)w.S * (size_t)w.d;
    w.cost = out ? out->cost : NULL;
    if ((rc = ws_alloc(&w)) != SV_OK)
        return rc;
    size_t n1 = (size_t)w.N + 1;
    if (f->kind == BOSS_FIELD_MIXTURE)
        mixture_logw(f, w.logw);
    if (w.cost)
        for (size_t p = 0; p < n1 * n1; p++)
            w.cost[p] = NAN;
    for (size_t p = 0; p < ((size_t)w.K + 1) * n1; p++) {
        w.best[p] = INFINITY;
        w.parent[p] = -1;
    }
    w.best[0] = 0.0;  /* D_0(0): no step yet */
    if (x0) {
        memcpy(w.traj, x0, w.sd * sizeof *w.traj);
    } else {
        sv_rng r;
        sv_rng_seed(&r, s->seed);
        for (size_t p = 0; p < w.sd; p++)
            w.traj[p] = sv_rng_normal(&r);
    }
    for (int k = 0; k <= w.K; k++)
        w.uidx[k] = (int)((2L * k * w.N + w.K) / (2L * w.K));  /* round(k N / K) */
    w.unext = 1;

    /* Iteration it brings grid point j = it + 1 in: its reference state, its cost column, its DP
     * column; the objective is D_min(j, K)(j), the cheapest way found to reach t_j. */
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    w.L = &L;
    const long N = w.N;
    long it;
    int diverged = 0;
    double obj = 0.0;
    for (it = 0;; it++) {
        if (sv_loop_check(&L, it, obj, diverged, it == N))
            break;
        int j = (int)it + 1;
        diverged = reference_step(&w, j - 1);
        if (sv_loop_stopped(&L) || (!diverged && cost_column(&w, j)))
            break;  /* a poll inside the step said stop: the grid point is not complete */
        if (diverged)
            continue;  /* the next check ends the run diverged */
        dp_column(&w, j);
        while (w.unext <= w.K && w.uidx[w.unext] == j) {
            w.uniform_cost += w.col[w.uidx[w.unext - 1]];
            w.unext++;
        }
        w.j = j;
        obj = w.best[(size_t)(j < w.K ? j : w.K) * n1 + (size_t)j];
    }
    int solved = L.status == SV_SOLVED;
    if (w.j == N) {  /* the reference is complete */
        const double *x1 = w.traj + (size_t)N * w.sd;
        double spread = 0;
        for (size_t p = 0; p < w.sd; p++)
            spread += (x1[p] - w.traj[p]) * (x1[p] - w.traj[p]);
        info->ref_spread = spread / w.S;
        if (out && out->ref_mean)
            for (int q = 0; q < w.d; q++) {
                double a = 0;
                for (int r = 0; r < w.S; r++)
                    a += x1[(size_t)r * w.d + (size_t)q];
                out->ref_mean[q] = a / w.S;
            }
        if (out && out->trajectory)
            memcpy(out->trajectory, w.traj, n1 * w.sd * sizeof *w.traj);
    }
    if (solved) {
        w.idx[w.K] = w.N;
        for (int q = w.K; q >= 1; q--)
            w.idx[q - 1] = w.parent[(size_t)q * n1 + (size_t)w.idx[q]];
        info->dp_cost = obj;
        info->uniform_cost = w.uniform_cost;
        info->dp_endpoint = endpoint_error(&w, w.idx);
        info->uniform_endpoint = endpoint_error(&w, w.uidx);
        if (out)
            for (int q = 0; q <= w.K; q++) {
                if (out->index)
                    out->index[q] = w.idx[q];
                if (out->times)
                    out->times[q] = (double)w.idx[q] / w.N;
                if (out->uniform_index)
                    out->uniform_index[q] = w.uidx[q];
                if (out->curve && q >= 1)
                    out->curve[q - 1] = w.best[(size_t)q * n1 + (size_t)N];
            }
    }
    info->velocity_evals = w.evals;
    sv_loop_end(&L, &info->base, it, obj, solved ? 0.0 : NAN);
    ws_free(&w);
    return SV_OK;
}
