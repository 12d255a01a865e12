/* cascading.c - BestPerm, backward induction and CascadingVI on cascading MDPs (Du, Srikant, Chen,
 * ICLR 2024); see cascading.h and docs/solvers/mdp/cascading.md.
 *
 * The value of list A at (s, h) with item values w(a) = r(s, a) + P(.|s, a) V_{h+1} and the
 * no-click value w0 = P0(.|s) V_{h+1} is the cascade sum f(A) of cascading.h. Swapping two
 * adjacent items x, y changes f by q(x) q(y) (w(x) - w(y)) whatever follows them, so a best list
 * is sorted by w descending (the paper's lemma), and choosing which sorted items to show is a
 * DP over (item, slots left): BestPerm. An item with w <= w0 never helps (q w + (1 - q) F <= F
 * when F >= w0 >= w), so the DP runs over the items with w > w0 only.
 *
 * Every sum runs in a fixed order in plain C (no BLAS): values and the chosen lists do not depend
 * on the machine's OpenBLAS kernels. */
#include "core/solvers/mdp/cascading.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const mode_choices[] = {"plan", "learn", NULL};

const sv_param_spec cascading_params[] = {
    SV_P_ENUM(cascading_settings, mode, mode_choices, CASCADING_PLAN,
              "plan = backward induction with BestPerm on the true model (exact CascadingVI); "
              "learn = CascadingVI online against the simulated model, with its regret"),
    SV_P_INT(cascading_settings, episodes, 1, 1e9, CASCADING_DEFAULT_EPISODES,
             "learn: episodes K"),
    SV_P_NUMBER_GT(cascading_settings, delta, 0, 1, CASCADING_DEFAULT_DELTA,
                   "learn: the bonuses hold with probability 1 - delta (L = log(4 S N H K / "
                   "delta))"),
    SV_P_NUMBER(cascading_settings, bonus_scale, 0, 1e6, 1.0,
                "learn: factor on every exploration bonus (1 = the paper's; 0 = greedy on the "
                "estimates)"),
    SV_P_SEED(cascading_settings, seed, 0, "learn: seed of the simulated users"),
    SV_CONTROL_PARAMS(cascading_settings, ctl, 0,
                      "unused: plan ends solved after H levels, learn after the episodes",
                      1000000000L, CASCADING_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void cascading_settings_default(cascading_settings *s)
{
    sv_params_defaults(cascading_params, s);
}

int cascading_check_settings(const cascading_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(cascading_params, s, "/params", e);
}

long cascading_iterations(const cascading_problem *p, const cascading_settings *s)
{
    return s->mode == CASCADING_PLAN ? (long)p->H : s->episodes;
}

/* ================================ validation ================================ */

#define DIST_TOL 1e-9

/* A distribution of n entries at path; index < 0: path alone. */
static int check_dist(const double *x, int n, const char *path, long i, long j, sv_err *e)
{
    char at[96];
    if (i < 0)
        snprintf(at, sizeof at, "%s", path);
    else if (j < 0)
        snprintf(at, sizeof at, "%s/%ld", path, i);
    else
        snprintf(at, sizeof at, "%s/%ld/%ld", path, i, j);
    double sum = 0;
    for (int k = 0; k < n; k++) {
        if (!isfinite(x[k]) || x[k] < 0)
            return sv_fail(e, at, "entry %d must be a finite number >= 0", k);
        sum += x[k];
    }
    if (fabs(sum - 1.0) > DIST_TOL)
        return sv_fail(e, at, "must sum to 1 (a distribution), sums to %.17g", sum);
    return SV_OK;
}

int cascading_check_problem(const cascading_problem *p, sv_err *e)
{
    if (!p)
        return sv_fail(e, "/problem", "a model is required");
    if (p->S < 1 || p->S > CASCADING_MAX_STATES)
        return sv_fail(e, "/problem/states", "must be in [1, %d]", CASCADING_MAX_STATES);
    if (p->N < 1 || p->N > CASCADING_MAX_ITEMS)
        return sv_fail(e, "/problem/items", "must be in [1, %d]", CASCADING_MAX_ITEMS);
    if (p->H < 1 || p->H > CASCADING_MAX_HORIZON)
        return sv_fail(e, "/problem/horizon", "must be in [1, %d]", CASCADING_MAX_HORIZON);
    if (p->m < 1 || p->m > p->N)
        return sv_fail(e, "/problem/list_size", "must be in [1, items = %d]", p->N);
    if ((double)p->S * p->N * p->S > CASCADING_MAX_TRANSITIONS)
        return sv_fail(e, "/problem/transition", "states^2 items = %.0f exceeds the limit of %.0f",
                       (double)p->S * p->N * p->S, CASCADING_MAX_TRANSITIONS);
    if ((double)p->H * p->S * p->m > CASCADING_MAX_POLICY)
        return sv_fail(e, "/problem/horizon", "horizon states list_size = %.0f exceeds the limit "
                       "of %.0f", (double)p->H * p->S * p->m, CASCADING_MAX_POLICY);
    if (!p->q || !p->r || !p->P || !p->P0 || !p->mu)
        return sv_fail(e, "/problem", "attraction, reward, transition, no_click and initial "
                       "are required");
    char at[96];
    for (int s = 0; s < p->S; s++)
        for (int a = 0; a < p->N; a++) {
            double q = p->q[(size_t)s * p->N + a], r = p->r[(size_t)s * p->N + a];
            if (!(q >= 0 && q <= 1)) {
                snprintf(at, sizeof at, "/problem/attraction/%d/%d", s, a);
                return sv_fail(e, at, "must be a probability in [0, 1]");
            }
            if (!(r >= 0 && r <= 1)) {
                snprintf(at, sizeof at, "/problem/reward/%d/%d", s, a);
                return sv_fail(e, at, "must be in [0, 1]");
            }
        }
    int rc;
    for (int s = 0; s < p->S; s++)
        for (int a = 0; a < p->N; a++)
            if ((rc = check_dist(p->P + ((size_t)s * p->N + a) * p->S, p->S,
                                 "/problem/transition", s, a, e)) != SV_OK)
                return rc;
    for (int s = 0; s < p->S; s++)
        if ((rc = check_dist(p->P0 + (size_t)s * p->S, p->S, "/problem/no_click", s, -1, e)) !=
            SV_OK)
            return rc;
    return check_dist(p->mu, p->S, "/problem/initial", -1, -1, e);
}

/* ================================ BestPerm ================================ */

int cascading_bp_alloc(cascading_bp *bp, int N, int m)
{
    memset(bp, 0, sizeof *bp);
    if (m > N)
        m = N;
    bp->N = N;
    bp->m = m;
    size_t cells = ((size_t)N + 1) * ((size_t)m + 1);
    bp->order = malloc((size_t)N * sizeof *bp->order);
    bp->tmp = malloc((size_t)N * sizeof *bp->tmp);
    bp->F = malloc(cells * sizeof *bp->F);
    bp->take = malloc(cells);
    if (!bp->order || !bp->tmp || !bp->F || !bp->take) {
        cascading_bp_free(bp);
        return SV_ENOMEM;
    }
    return SV_OK;
}

void cascading_bp_free(cascading_bp *bp)
{
    free(bp->order);
    free(bp->tmp);
    free(bp->F);
    free(bp->take);
    memset(bp, 0, sizeof *bp);
}

/* a before b: larger w first, then smaller index (a total order: the sort is deterministic). */
static int before(const double *w, int a, int b)
{
    return w[a] > w[b] || (w[a] == w[b] && a < b);
}

/* The N indices by w descending: bottom-up merge sort, O(N log N), no allocation. */
static void sort_desc(cascading_bp *bp, const double *w)
{
    int N = bp->N, *src = bp->order, *dst = bp->tmp;
    for (int i = 0; i < N; i++)
        src[i] = i;
    for (int width = 1; width < N; width *= 2) {
        for (int lo = 0; lo < N; lo += 2 * width) {
            int mid = lo + width < N ? lo + width : N;
            int hi = lo + 2 * width < N ? lo + 2 * width : N;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = before(w, src[j], src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        int *t = src;
        src = dst;
        dst = t;
    }
    if (src != bp->order)
        memcpy(bp->order, src, (size_t)N * sizeof *src);
}

double cascading_bestperm(cascading_bp *bp, const double *q, const double *w, double w0,
                          int *list, int *len)
{
    sort_desc(bp, w);
    int m = bp->m, J = 0;
    size_t m1 = (size_t)m + 1;
    while (J < bp->N && w[bp->order[J]] > w0)
        J++;  /* the items that can help, a prefix of the sorted order */
    double *F = bp->F;
    unsigned char *take = bp->take;
    for (int k = 0; k <= m; k++) {
        F[(size_t)J * m1 + k] = w0;
        take[(size_t)J * m1 + k] = 0;
    }
    for (int i = J - 1; i >= 0; i--) {
        int a = bp->order[i];
        double qa = q[a], wa = w[a];
        double *Fi = F + (size_t)i * m1;
        const double *Fn = Fi + m1;
        unsigned char *ti = take + (size_t)i * m1;
        Fi[0] = w0;
        ti[0] = 0;
        for (int k = 1; k <= m; k++) {
            double with = qa * wa + (1.0 - qa) * Fn[k - 1];
            if (with > Fn[k]) {
                Fi[k] = with;
                ti[k] = 1;
            } else {
                Fi[k] = Fn[k];
                ti[k] = 0;
            }
        }
    }
    int n = 0, k = m;
    for (int i = 0; i < J && k > 0; i++)
        if (take[(size_t)i * m1 + k]) {
            list[n++] = bp->order[i];
            k--;
            if (q[bp->order[i]] >= 1.0)
                break;  /* never examined past a sure click: the rest adds nothing */
        }
    *len = n;
    return F[m];  /* F[0][m] */
}

double cascading_list_value(const double *q, const double *w, double w0, const int *list,
                            int len)
{
    double acc = 0, surv = 1;
    for (int i = 0; i < len; i++) {
        int a = list[i];
        acc += surv * q[a] * w[a];
        surv *= 1.0 - q[a];
    }
    return acc + surv * w0;
}

/* ================================ workspace ================================ */

typedef struct {
    const cascading_problem *p;
    const cascading_settings *s;
    sv_loop *L;
    int S, N, H, m;
    cascading_bp bp;
    double *vstar;    /* (H + 1) S: V*_h(s) at [(h - 1) S + s], row H zero (V_{H+1}) */
    double *vup;      /* (H + 1) S: the learner's optimistic V-bar */
    double *vlow;     /* (H + 1) S: its pessimistic V-underbar */
    double *vpi;      /* (H + 1) S: the value of the learner's policy under the true model */
    int *list;        /* H S m: a policy's lists */
    int *len;         /* H S */
    int *star_list;   /* H S m: the optimal lists */
    int *star_len;    /* H S */
    double *w, *wl, *qu, *ql;  /* N: item values, pessimistic values, optimistic/pessimistic q */
    /* the learner's counts */
    double *n_exam, *n_click;  /* S N: examinations and clicks of (s, a) */
    double *n_tr;              /* S N: transitions observed after a click on (s, a) */
    double *c_tr;              /* S N S */
    double *n0;                /* S: no-click transitions of s */
    double *c0;                /* S S */
    double logL;               /* L */
    /* progress */
    long episodes;             /* learn: episodes done */
    double last_regret, cum_regret, policy_value, ret;
    long bp_calls;
} cascading_ws;

static void ws_free(cascading_ws *w)
{
    cascading_bp_free(&w->bp);
    free(w->vstar);
    free(w->vup);
    free(w->vlow);
    free(w->vpi);
    free(w->list);
    free(w->len);
    free(w->star_list);
    free(w->star_len);
    free(w->w);
    free(w->wl);
    free(w->qu);
    free(w->ql);
    free(w->n_exam);
    free(w->n_click);
    free(w->n_tr);
    free(w->c_tr);
    free(w->n0);
    free(w->c0);
}

static int ws_alloc(cascading_ws *w, int learn)
{
    size_t S = (size_t)w->S, N = (size_t)w->N, H = (size_t)w->H, m = (size_t)w->m;
    size_t hs1 = (H + 1) * S;
    if (cascading_bp_alloc(&w->bp, w->N, w->m) != SV_OK)
        return SV_ENOMEM;
    w->vstar = calloc(hs1, sizeof *w->vstar);
    w->star_list = malloc(H * S * m * sizeof *w->star_list);
    w->star_len = calloc(H * S, sizeof *w->star_len);
    w->w = malloc(N * sizeof *w->w);
    int ok = w->vstar && w->star_list && w->star_len && w->w;
    if (learn) {
        w->vup = calloc(hs1, sizeof *w->vup);
        w->vlow = calloc(hs1, sizeof *w->vlow);
        w->vpi = calloc(hs1, sizeof *w->vpi);
        w->list = malloc(H * S * m * sizeof *w->list);
        w->len = calloc(H * S, sizeof *w->len);
        w->wl = malloc(N * sizeof *w->wl);
        w->qu = malloc(N * sizeof *w->qu);
        w->ql = malloc(N * sizeof *w->ql);
        w->n_exam = calloc(S * N, sizeof *w->n_exam);
        w->n_click = calloc(S * N, sizeof *w->n_click);
        w->n_tr = calloc(S * N, sizeof *w->n_tr);
        w->c_tr = calloc(S * N * S, sizeof *w->c_tr);
        w->n0 = calloc(S, sizeof *w->n0);
        w->c0 = calloc(S * S, sizeof *w->c0);
        ok = ok && w->vup && w->vlow && w->vpi && w->list && w->len && w->wl && w->qu && w->ql &&
             w->n_exam && w->n_click && w->n_tr && w->c_tr && w->n0 && w->c0;
    }
    if (!ok) {
        ws_free(w);
        return SV_ENOMEM;
    }
    return SV_OK;
}

static double dot(const double *x, const double *y, int n)
{
    double a = 0;
    for (int i = 0; i < n; i++)
        a += x[i] * y[i];
    return a;
}

/* Level h (1-based) of backward induction on the true model: V*_h and the optimal lists from
 * V*_{h+1}. */
static void plan_level(cascading_ws *w, int h)
{
    const cascading_problem *p = w->p;
    int S = w->S, N = w->N, m = w->m;
    const double *vn = w->vstar + (size_t)h * S;
    double *vh = w->vstar + (size_t)(h - 1) * S;
    for (int s = 0; s < S; s++) {
        const double *q = p->q + (size_t)s * N, *r = p->r + (size_t)s * N;
        for (int a = 0; a < N; a++)
            w->w[a] = r[a] + dot(p->P + ((size_t)s * N + a) * S, vn, S);
        double w0 = dot(p->P0 + (size_t)s * S, vn, S);
        size_t hs = (size_t)(h - 1) * S + s;
        vh[s] = cascading_bestperm(&w->bp, q, w->w, w0, w->star_list + hs * m, &w->star_len[hs]);
        w->bp_calls++;
    }
}

static double initial_value(const cascading_ws *w, const double *v1)
{
    return dot(w->p->mu, v1, w->S);
}

/* ================================ CascadingVI ================================ */

/* Empirical mean, variance and the spread of (up - low) under the counts c (S) of n draws. */
static void empirical(const double *c, double n, const double *up, const double *low, int S,
                      double *mean_up, double *mean_low, double *var_up, double *gap2)
{
    double mu = 0, ml = 0;
    for (int t = 0; t < S; t++) {
        mu += c[t] * up[t];
        ml += c[t] * low[t];
    }
    mu /= n;
    ml /= n;
    double v = 0, g = 0;
    for (int t = 0; t < S; t++) {
        double d = up[t] - mu, dg = up[t] - low[t];
        v += c[t] * d * d;
        g += c[t] * dg * dg;
    }
    *mean_up = mu;
    *mean_low = ml;
    *var_up = v / n;
    *gap2 = g / n;
}

/* The Bernstein bonus on P V of n transitions (the paper's b^{pV}), capped at cap. */
static double bonus_pv(double var_up, double gap2, double n, double H, double L, double scale,
                       double cap)
{
    double b = 2.0 * sqrt(var_up * L / n) + 2.0 * sqrt(gap2 * L / n) + 5.0 * H * L / n;
    b *= scale;
    return b < cap ? b : cap;
}

/* Optimistic (and pessimistic) planning on the learner's estimates: V-bar, V-underbar and the
 * policy's lists for every level. 1 when a poll said stop. */
static int plan_optimistic(cascading_ws *w)
{
    const cascading_problem *p = w->p;
    int S = w->S, N = w->N, m = w->m, H = w->H;
    double L = w->logL, sc = w->s->bonus_scale;
    for (int h = H; h >= 1; h--) {
        const double *un = w->vup + (size_t)h * S, *ln = w->vlow + (size_t)h * S;
        double *uh = w->vup + (size_t)(h - 1) * S, *lh = w->vlow + (size_t)(h - 1) * S;
        double rem = (double)(H - h + 1);  /* V_h <= H - h + 1 with rewards in [0, 1] */
        for (int s = 0; s < S; s++) {
            const double *r = p->r + (size_t)s * N;
            for (int a = 0; a < N; a++) {
                size_t sa = (size_t)s * N + a;
                double ne = w->n_exam[sa], nt = w->n_tr[sa];
                if (ne > 0) {
                    double qh = w->n_click[sa] / ne;
                    double bq = sc * (2.0 * sqrt(qh * (1.0 - qh) * L / ne) + 5.0 * L / ne);
                    if (bq > 1)
                        bq = 1;
                    w->qu[a] = fmin(qh + bq, 1.0);
                    w->ql[a] = fmax(qh - bq, 0.0);
                } else {
                    w->qu[a] = sc > 0 ? 1.0 : 0.0;
                    w->ql[a] = 0.0;
                }
                if (nt > 0) {
                    double mu_, ml_, var, gap2;
                    empirical(w->c_tr + sa * S, nt, un, ln, S, &mu_, &ml_, &var, &gap2);
                    double b = bonus_pv(var, gap2, nt, H, L, sc, rem);
                    w->w[a] = fmin(r[a] + mu_ + b, rem);
                    w->wl[a] = fmax(r[a] + ml_ - b, 0.0);
                } else {
                    w->w[a] = sc > 0 ? rem : r[a];
                    w->wl[a] = 0.0;
                }
            }
            double w0u, w0l;
            if (w->n0[s] > 0) {
                double mu_, ml_, var, gap2;
                empirical(w->c0 + (size_t)s * S, w->n0[s], un, ln, S, &mu_, &ml_, &var, &gap2);
                double b = bonus_pv(var, gap2, w->n0[s], H, L, sc, rem - 1);
                w0u = fmin(mu_ + b, rem - 1);
                w0l = fmax(ml_ - b, 0.0);
            } else {
                w0u = sc > 0 ? rem - 1 : 0.0;
                w0l = 0.0;
            }
            size_t hs = (size_t)(h - 1) * S + s;
            int *A = w->list + hs * m;
            double vu = cascading_bestperm(&w->bp, w->qu, w->w, w0u, A, &w->len[hs]);
            w->bp_calls++;
            uh[s] = fmin(vu, rem);
            lh[s] = fmax(cascading_list_value(w->ql, w->wl, w0l, A, w->len[hs]), 0.0);
        }
        if (h > 1 && sv_loop_poll(w->L))
            return 1;
    }
    return 0;
}

/* V^pi of the learner's lists under the true model; returns V^pi(mu). */
static double evaluate_policy(cascading_ws *w)
{
    const cascading_problem *p = w->p;
    int S = w->S, N = w->N, m = w->m, H = w->H;
    for (int h = H; h >= 1; h--) {
        const double *vn = w->vpi + (size_t)h * S;
        double *vh = w->vpi + (size_t)(h - 1) * S;
        for (int s = 0; s < S; s++) {
            size_t hs = (size_t)(h - 1) * S + s;
            const int *A = w->list + hs * m;
            const double *q = p->q + (size_t)s * N, *r = p->r + (size_t)s * N;
            double acc = 0, surv = 1;
            for (int i = 0; i < w->len[hs]; i++) {
                int a = A[i];
                double wa = r[a] + dot(p->P + ((size_t)s * N + a) * S, vn, S);
                acc += surv * q[a] * wa;
                surv *= 1.0 - q[a];
            }
            vh[s] = acc + surv * dot(p->P0 + (size_t)s * S, vn, S);
        }
    }
    return initial_value(w, w->vpi);
}

/* A draw from the distribution d (n entries). */
static int draw(sv_rng *g, const double *d, int n)
{
    double u = sv_rng_uniform(g), c = 0;
    for (int i = 0; i < n - 1; i++) {
        c += d[i];
        if (u < c)
            return i;
    }
    return n - 1;
}

/* One simulated episode with the learner's lists; the observations go into the counts. Returns
 * the rewards collected. */
static double run_episode(cascading_ws *w, sv_rng *g)
{
    const cascading_problem *p = w->p;
    int S = w->S, N = w->N, m = w->m;
    int s = draw(g, p->mu, S);
    double ret = 0;
    for (int h = 1; h <= w->H; h++) {
        size_t hs = (size_t)(h - 1) * S + s;
        const int *A = w->list + hs * m;
        int next = -1;
        for (int i = 0; i < w->len[hs]; i++) {
            size_t sa = (size_t)s * N + A[i];
            w->n_exam[sa] += 1;
            if (sv_rng_uniform(g) < p->q[sa]) {  /* clicked: the examination ends */
                w->n_click[sa] += 1;
                ret += p->r[sa];
                next = draw(g, p->P + sa * S, S);
                w->n_tr[sa] += 1;
                w->c_tr[sa * S + next] += 1;
                break;
            }
        }
        if (next < 0) {  /* no click: the no-click transition */
            next = draw(g, p->P0 + (size_t)s * S, S);
            w->n0[s] += 1;
            w->c0[(size_t)s * S + next] += 1;
        }
        s = next;
    }
    return ret;
}

static int metrics(void *ctx, sv_metric *mt, int cap)
{
    cascading_ws *w = ctx;
    if (cap < 5)
        return 0;
    if (w->s->mode == CASCADING_PLAN) {
        mt[0] = (sv_metric){"bestperm_calls", (double)w->bp_calls};  /* levels: the iteration */
        return 1;
    }
    mt[0] = (sv_metric){"episode_regret", w->last_regret};
    mt[1] = (sv_metric){"average_regret", w->episodes > 0 ? w->cum_regret / w->episodes : 0.0};
    mt[2] = (sv_metric){"policy_value", w->policy_value};
    mt[3] = (sv_metric){"optimal_value", initial_value(w, w->vstar)};
    mt[4] = (sv_metric){"average_return", w->episodes > 0 ? w->ret / w->episodes : 0.0};
    return 5;
}

/* Slope of log R on log k over the curve's points with k >= K / 10 and R > 0. */
static double fit_exponent(const cascading_info *info, long K)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = 0;
    for (int i = 0; i < info->curve_n; i++) {
        if (info->curve_episode[i] * 10 < K || !(info->curve_regret[i] > 0))
            continue;
        double x = log((double)info->curve_episode[i]), y = log(info->curve_regret[i]);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        n++;
    }
    double den = n * sxx - sx * sx;
    return n >= 3 && den > 0 ? (n * sxy - sx * sy) / den : NAN;
}

/* ================================ the solver ================================ */

int cascading_solve(const cascading_problem *p, const cascading_settings *s,
                    const sv_monitor *mon, const cascading_output *out, cascading_info *info,
                    sv_err *e)
{
    cascading_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->optimal_value = info->cumulative_regret = info->last_policy_value = NAN;
    info->realized_return = info->regret_exponent = NAN;
    int rc;
    if ((rc = cascading_check_settings(s, e)) != SV_OK || (rc = cascading_check_problem(p, e)) !=
                                                              SV_OK)
        return rc;
    int learn = s->mode == CASCADING_LEARN;
    cascading_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.s = s;
    w.S = p->S;
    w.N = p->N;
    w.H = p->H;
    w.m = p->m;
    if ((rc = ws_alloc(&w, learn)) != SV_OK)
        return rc;
    size_t HSm = (size_t)w.H * w.S * w.m;
    for (size_t i = 0; i < HSm; i++)
        w.star_list[i] = -1;

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    w.L = &L;
    long it = 0;
    double obj = 0.0;
    int solved = 0;
    if (!learn) {
        /* Iteration it computes level h = H - it from level h + 1; the objective is the
         * (it + 1)-step optimal value from mu. */
        for (it = 0;; it++) {
            if (sv_loop_check(&L, it, obj, !isfinite(obj), it == w.H))
                break;
            plan_level(&w, w.H - (int)it);
            obj = initial_value(&w, w.vstar + (size_t)(w.H - 1 - it) * w.S);
        }
        solved = L.status == SV_SOLVED;
        if (solved)
            info->optimal_value = obj;
    } else {
        /* V* first (set-up, polled per level), then iteration k plays episode k + 1. */
        int stopped = 0;
        for (int h = w.H; h >= 1 && !stopped; h--) {
            plan_level(&w, h);
            stopped = sv_loop_poll(&L);
        }
        double vstar = initial_value(&w, w.vstar);
        info->optimal_value = vstar;
        w.logL = log(4.0 * w.S * (double)w.N * w.H * (double)s->episodes / s->delta);
        sv_rng g;
        sv_rng_seed(&g, s->seed);
        long K = s->episodes;
        /* the regret curve's episodes: round(K^((j + 1) / P)), j = 0 .. P - 1, increasing */
        int npts = 0, pt = 0;
        for (int j = 0; j < CASCADING_CURVE_POINTS; j++) {
            long k = (long)floor(exp(log((double)K) * (j + 1) / CASCADING_CURVE_POINTS) + 0.5);
            if (j == CASCADING_CURVE_POINTS - 1)
                k = K;
            if (k >= 1 && k <= K && (npts == 0 || k > info->curve_episode[npts - 1]))
                info->curve_episode[npts++] = k;
        }
        for (it = 0;; it++) {
            if (stopped || sv_loop_check(&L, it, obj, !isfinite(obj), it == K))
                break;
            if (plan_optimistic(&w))
                break;  /* the episode was not played */
            w.policy_value = evaluate_policy(&w);
            w.last_regret = vstar - w.policy_value;
            w.cum_regret += w.last_regret;
            w.ret += run_episode(&w, &g);
            w.episodes = it + 1;
            if (out && out->regret)
                out->regret[it] = w.last_regret;
            if (pt < npts && w.episodes == info->curve_episode[pt])
                info->curve_regret[pt++] = w.cum_regret;
            obj = w.cum_regret;
        }
        info->curve_n = pt;
        solved = L.status == SV_SOLVED;
        info->cumulative_regret = w.cum_regret;
        info->last_policy_value = w.episodes > 0 ? w.policy_value : NAN;
        info->realized_return = w.ret;
        info->regret_exponent = fit_exponent(info, w.episodes);
    }
    if (solved && out) {
        size_t HS = (size_t)w.H * w.S;
        if (out->value)
            memcpy(out->value, w.vstar, HS * sizeof *w.vstar);
        const int *lst = learn ? w.list : w.star_list, *ln = learn ? w.len : w.star_len;
        for (size_t hs = 0; hs < HS; hs++) {
            if (out->list_len)
                out->list_len[hs] = ln[hs];
            if (out->list)
                for (int i = 0; i < w.m; i++)
                    out->list[hs * w.m + i] = i < ln[hs] ? lst[hs * w.m + i] : -1;
        }
    }
    info->bestperm_calls = w.bp_calls;
    sv_loop_end(&L, &info->base, it, obj, solved ? 0.0 : NAN);
    ws_free(&w);
    return SV_OK;
}
