/* topo.c - TOPO (Deng, Bello, Aragam, Ravikumar, ICML 2023), see topo.h.
 *
 * The inner solve. For an order pi, W(pi) regresses each node on all the nodes before it by
 * plain least squares (the reference's linear default, sklearn's LinearRegression). With
 * G = X'X/n permuted into the order, G_pi = F F' (Cholesky), the regression of the node at
 * position r on positions 0..r-1 has residual variance F_rr^2 and weights F_r^{-T} F[r, 0..r-1]
 * (F_r the leading r x r block: the Cholesky factor of a leading block is the leading block of
 * the factor), so the score 0.5/n |X - X W(pi)|^2 = 0.5 sum_r F_rr^2 and one factorisation
 * solves all d regressions. A pivot below 1e-12 of the node's variance is a node its
 * predecessors determine: its column of F is zero (it adds nothing to later regressions, the
 * same fit as dropping a collinear regressor).
 *
 * A candidate swap of the nodes at positions a < b changes only the regressions of positions
 * a..b (before a the prefixes are the same; after b the same sets); rows of F for those
 * positions keep their columns < a (they depend on the node and the unchanged prefix), so the
 * candidate's score is the old one minus the old residuals of a..b plus the new ones, from the
 * factor continued over columns a..b: O((b - a)^2 b) operations instead of b - a + 1
 * regressions on n samples.
 *
 * The outer search (the reference's fit loop). At W(pi) the gradient of the reference's h,
 * -log det(I - |W|), is (I - |W|)^{-T}; its entry (i, j) for a forbidden edge (j before i) is
 * the weight of the paths j -> ... -> i, zero when there is none. Forbidden pairs sorted by it (ties by (i, j)),
 * the small search set is every pair whose value is at most the size_small-th smallest (ties
 * included, as the reference's threshold does), the large set the same at size_large minus the
 * small one. Every candidate of the set is scored (one iteration of the loop each); the
 * improving ones (score below score - tol max(1, score)) are applied best first when their
 * position span [a, b] meets no span applied before (the reference's greedy rule; disjoint
 * swaps change disjoint regressions, so their gains add). No improving candidate in the small
 * set: the large set is scored, at most large_searches times with success; none there either:
 * a local optimum, solved. */
#include "core/solvers/dag/topo.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"

#define TOPO_PIVOT_REL 1e-12

const sv_param_spec topo_params[] = {
    SV_P_INT32(topo_settings, size_small, -1, 1000000000, -1,
               "candidates of the small search set; -1: min(1.5 d, sqrt(d)(d-1) log10 d, "
               "d(d-1)/2) as the reference"),
    SV_P_INT32(topo_settings, size_large, -1, 1000000000, -1,
               "candidates of the large search set; -1: max(1.5 d, min(sqrt(d)(d-1) log10 d, "
               "d(d-1)/2)) as the reference (both clamped to [1, d(d-1)/2])"),
    SV_P_INT32(topo_settings, large_searches, -1, 1000000000, -1,
               "how many times the large set may find an improvement; -1: min(floor(d/10), 1)"),
    SV_P_NUMBER(topo_settings, w_threshold, 0, 1e6, TOPO_DEFAULT_W_THRESHOLD,
                "entries with |W_ij| below it are no edge in the returned W"),
    SV_P_BOOL(topo_settings, center, 1, "centre the columns of X first (as dag.notears)"),
    SV_P_SEED(topo_settings, seed, 0, "seed of the random first order (when none is given)"),
    SV_CONTROL_PARAMS(topo_settings, ctl, TOPO_DEFAULT_TOL,
                      "a swap is accepted when it lowers the score by more than tol max(1, "
                      "score); solved at a local optimum (no such swap in the search sets)",
                      TOPO_DEFAULT_MAX_ITER, TOPO_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void topo_settings_default(topo_settings *s)
{
    sv_params_defaults(topo_params, s);
}

int topo_check_settings(const topo_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(topo_params, s, "/params", e);
}

/* ================================ validation ================================ */

static int check_problem(const topo_problem *p, sv_err *e)
{
    if (!p)
        return sv_fail(e, "/problem/data", "a data matrix of at least one sample and one "
                       "variable is required");
    int rc = sv_dag_check_data(p->n, p->d, p->X, p->W_true, e);
    if (rc != SV_OK)
        return rc;
    if (p->init_order && p->W_init)
        return sv_fail(e, "/problem/init", "give an order or a W, not both");
    if (p->init_order) {
        /* O(d^2) without scratch: validation allocates nothing. */
        for (int a = 0; a < p->d; a++) {
            int v = p->init_order[a];
            if (v < 0 || v >= p->d)
                return sv_fail(e, "/problem/init/order", "node %d at %d is not in [0, %d)", v,
                               a, p->d);
            for (int b = 0; b < a; b++)
                if (p->init_order[b] == v)
                    return sv_fail(e, "/problem/init/order",
                                   "node %d appears twice (at %d and %d): not a permutation",
                                   v, b, a);
        }
    }
    if (p->W_init && !sv_all_finite(p->d * p->d, p->W_init))
        return sv_fail(e, "/problem/init/W", "holds a non-finite entry");
    return SV_OK;
}

/* ================================ workspace ================================ */

typedef struct {
    double g;  /* sort key */
    int i, j;  /* tie-break keys (nodes, or positions) */
} tp_pair;

typedef struct {
    const topo_settings *s;
    sv_loop *L;
    int d;
    size_t dd;
    sv_dag_ls ls;
    const double *G;      /* d x d: X'X/n (ls.G) */
    int *order, *pos;     /* position -> node, node -> position */
    int *work;            /* d ints: topological sort scratch */
    char *mark;           /* d: positions taken by the swaps of a round */
    double *F;            /* d x d: the factor, row r = position r */
    double *res;          /* d: residual variance of position r */
    double *C;            /* d x d: candidate rows; W scratch */
    double *W;            /* d x d: W(pi) */
    tp_pair *pairs;       /* npairs: the forbidden pairs, sorted (i, j nodes) */
    tp_pair *imp;         /* npairs: improving candidates (i, j positions) */
    double *cand;         /* npairs: candidate scores */
    long npairs;
    long size_small, size_large;
    int large_max;
    long c0, c1, cur;     /* the set being scored: pairs[c0..c1), next cur */
    long ns, nl;          /* small set pairs[0..ns), large pairs[ns..nl) */
    int phase;            /* 0 small, 1 large */
    double score, best, last_rel;
    int rounds, large_used;
    long tried, accepted;
} tp_ws;

static void ws_free(tp_ws *t)
{
    sv_dag_ls_free(&t->ls);
    free(t->order);
    free(t->pos);
    free(t->work);
    free(t->mark);
    free(t->F);
    free(t->res);
    free(t->C);
    free(t->W);
    free(t->pairs);
    free(t->imp);
    free(t->cand);
}

static long clampl(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The reference's set_sizes_linear, clamped to [1, d(d-1)/2] (it asserts instead). */
static void set_sizes(tp_ws *t, const topo_settings *s)
{
    int d = t->d;
    long all = t->npairs;
    double mid = d > 1 ? sqrt((double)d) * (d - 1) * log10((double)d) : 0;
    long m = (long)mid < all ? (long)mid : all;
    long small = (long)(1.5 * d) < m ? (long)(1.5 * d) : m;
    long large = (long)(1.5 * d) > m ? (long)(1.5 * d) : m;
    if (s->size_small >= 0)
        small = s->size_small;
    if (s->size_large >= 0)
        large = s->size_large;
    t->size_small = clampl(small, 1, all > 0 ? all : 1);
    t->size_large = clampl(large, 1, all > 0 ? all : 1);
    t->large_max = s->large_searches >= 0 ? s->large_searches : (d / 10 < 1 ? d / 10 : 1);
}

static int ws_alloc(tp_ws *t, const topo_problem *p, const topo_settings *s)
{
    int d = p->d, rc;
    t->s = s;
    t->d = d;
    t->dd = (size_t)d * d;
    t->npairs = (long)d * (d - 1) / 2;
    size_t np = t->npairs > 0 ? (size_t)t->npairs : 1;
    if ((rc = sv_dag_ls_init(&t->ls, p->n, d, p->X, s->center, 1)) != SV_OK) {
        ws_free(t);
        return rc == SV_EINVAL ? SV_EINTERNAL : rc;
    }
    t->G = t->ls.G;
    t->order = malloc((size_t)d * sizeof *t->order);
    t->pos = malloc((size_t)d * sizeof *t->pos);
    t->work = malloc((size_t)d * sizeof *t->work);
    t->mark = malloc((size_t)d);
    t->F = calloc(t->dd, sizeof *t->F);
    t->res = calloc((size_t)d, sizeof *t->res);
    t->C = calloc(t->dd, sizeof *t->C);
    t->W = calloc(t->dd, sizeof *t->W);
    t->pairs = malloc(np * sizeof *t->pairs);
    t->imp = malloc(np * sizeof *t->imp);
    t->cand = malloc(np * sizeof *t->cand);
    if (!t->order || !t->pos || !t->work || !t->mark || !t->F || !t->res || !t->C || !t->W ||
        !t->pairs || !t->imp || !t->cand) {
        ws_free(t);
        return SV_ENOMEM;
    }
    set_sizes(t, s);
    return SV_OK;
}

/* ================================ sorting (no allocation) ================================ */

static int pair_less(const tp_pair *x, const tp_pair *y)
{
    if (x->g != y->g)
        return x->g < y->g;
    if (x->i != y->i)
        return x->i < y->i;
    return x->j < y->j;
}

static void sift(tp_pair *a, long root, long n)
{
    for (;;) {
        long c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && pair_less(&a[c], &a[c + 1]))
            c++;
        if (!pair_less(&a[root], &a[c]))
            return;
        tp_pair tmp = a[root];
        a[root] = a[c];
        a[c] = tmp;
        root = c;
    }
}

/* Heapsort, ascending (qsort may allocate). */
static void sort_pairs(tp_pair *a, long n)
{
    for (long r = n / 2 - 1; r >= 0; r--)
        sift(a, r, n);
    for (long end = n - 1; end > 0; end--) {
        tp_pair tmp = a[0];
        a[0] = a[end];
        a[end] = tmp;
        sift(a, 0, end);
    }
}

/* ================================ the inner solve ================================ */

static int poll(tp_ws *t)
{
    return sv_loop_poll(t->L);
}

static double dot(const double *x, const double *y, int n)
{
    double s = 0;
    for (int q = 0; q < n; q++)
        s += x[q] * y[q];
    return s;
}

/* The residual of a pivot piv of a node of variance var, and the factor's diagonal entry. */
static double pivot(double piv, double var, double *diag)
{
    if (!(piv > TOPO_PIVOT_REL * var)) {
        *diag = 0;
        return piv > 0 ? piv : 0;
    }
    *diag = sqrt(piv);
    return piv;
}

/* Rows r0..d-1 of the factor for the current order (rows before r0 kept). Returns 1 when a poll
 * says stop (the factor is then incomplete). */
static int factor_rows(tp_ws *t, int r0)
{
    int d = t->d;
    for (int r = r0; r < d; r++) {
        if (poll(t))
            return 1;
        double *Fr = t->F + (size_t)r * d;
        int nr = t->order[r];
        const double *Gr = t->G + (size_t)nr * d;
        for (int c = 0; c < r; c++) {
            const double *Fc = t->F + (size_t)c * d;
            Fr[c] = Fc[c] == 0 ? 0 : (Gr[t->order[c]] - dot(Fr, Fc, c)) / Fc[c];
        }
        t->res[r] = pivot(Gr[nr] - dot(Fr, Fr, r), Gr[nr], &Fr[r]);
    }
    return 0;
}

static double score_of_factor(const tp_ws *t)
{
    double s = 0;
    for (int r = 0; r < t->d; r++)
        s += t->res[r];
    return 0.5 * s;
}

/* W(pi) from the factor: column order[r] holds F_r^{-T} F[r, 0..r-1] at rows order[0..r-1]. */
static int weights(tp_ws *t)
{
    int d = t->d;
    double *w = t->C;  /* d scratch */
    sv_zero((int)t->dd, t->W);
    for (int r = 1; r < d; r++) {
        if (poll(t))
            return 1;
        const double *Fr = t->F + (size_t)r * d;
        for (int c = r - 1; c >= 0; c--) {
            double Fcc = t->F[(size_t)c * d + c];
            if (Fcc == 0) {
                w[c] = 0;
                continue;
            }
            double s = Fr[c];
            for (int q = c + 1; q < r; q++)
                s -= t->F[(size_t)q * d + c] * w[q];
            w[c] = s / Fcc;
        }
        int nr = t->order[r];
        for (int c = 0; c < r; c++)
            t->W[(size_t)t->order[c] * d + nr] = w[c];
    }
    return 0;
}

/* The score change of swapping the nodes at positions a < b; NAN when a poll says stop. */
static double swap_delta(tp_ws *t, int a, int b)
{
    int d = t->d, m = b - a + 1;
    double old = 0, neu = 0;
    for (int u = 0; u < m; u++) {
        if (poll(t))
            return NAN;
        int pu = u == 0 ? b : u == m - 1 ? a : a + u;  /* old position of the new row's node */
        int nu = t->order[pu];
        const double *Pu = t->F + (size_t)pu * d;    /* columns < a */
        double *Cu = t->C + (size_t)u * d;            /* columns a.. (index from a) */
        const double *Gu = t->G + (size_t)nu * d;
        for (int v = 0; v < u; v++) {
            int pv = v == 0 ? b : a + v;
            const double *Cv = t->C + (size_t)v * d;
            if (Cv[v] == 0) {
                Cu[v] = 0;
                continue;
            }
            const double *Pv = t->F + (size_t)pv * d;
            Cu[v] = (Gu[t->order[pv]] - dot(Pu, Pv, a) - dot(Cu, Cv, v)) / Cv[v];
        }
        neu += pivot(Gu[nu] - dot(Pu, Pu, a) - dot(Cu, Cu, u), Gu[nu], &Cu[u]);
        old += t->res[a + u];
    }
    return 0.5 * (neu - old);
}

/* ================================ the outer search ================================ */

enum { GO_ON = 0, DONE_SOLVED, DONE_STOPPED, DONE_NUMERIC };

/* W(pi), the gradient of h at it and the sorted search sets for the current order (factor
 * complete). h is the reference's linear default, h(W) = -log det(I - |W|), whose gradient
 * with respect to |W| is (I - |W|)^{-T}: in the order, I - |W| is unit upper triangular, so its
 * inverse M (M_ab = the weight of the paths from the node at a to the node at b, products of
 * |w|) comes from M = I + |W| M by back substitution, exact zeros where there is no path; the
 * value of the forbidden edge from the node at b to the node at a < b is M_ab. */
static int begin_round(tp_ws *t)
{
    int d = t->d;
    if (weights(t))
        return DONE_STOPPED;
    double *M = t->C;  /* d x d, position coordinates, upper triangle */
    for (int a = d - 1; a >= 0; a--) {
        if (poll(t))
            return DONE_STOPPED;
        double *Ma = M + (size_t)a * d;
        const double *Wa = t->W + (size_t)t->order[a] * d;
        for (int b = a + 1; b < d; b++)
            Ma[b] = 0;
        Ma[a] = 1;
        for (int c = a + 1; c < d; c++) {
            double w = fabs(Wa[t->order[c]]);
            if (w == 0)
                continue;
            const double *Mc = M + (size_t)c * d;
            for (int b = c; b < d; b++)
                Ma[b] += w * Mc[b];
        }
    }
    long q = 0;
    for (int b = 1; b < d; b++)
        for (int a = 0; a < b; a++) {
            int i = t->order[b], j = t->order[a];  /* the forbidden edge i -> j */
            double g = M[(size_t)a * d + b];
            t->pairs[q++] = (tp_pair){isfinite(g) ? g : INFINITY, i, j};
        }
    sort_pairs(t->pairs, q);
    long ns = 0, nl = 0;
    if (q > 0) {
        double ts = t->pairs[t->size_small - 1].g, tl = t->pairs[t->size_large - 1].g;
        while (ns < q && t->pairs[ns].g <= ts)
            ns++;
        while (nl < q && t->pairs[nl].g <= tl)
            nl++;
        if (nl < ns)
            nl = ns;
    }
    t->ns = ns;
    t->nl = nl;
    t->c0 = 0;
    t->c1 = ns;
    t->cur = 0;
    t->phase = 0;
    t->best = INFINITY;
    return GO_ON;
}

static int improves(const tp_ws *t, double sc)
{
    return sc < t->score - t->s->ctl.tol * fmax(1.0, fabs(t->score));
}

/* The set pairs[c0..c1) is scored: apply the improving swaps or move to the large set or end. */
static int end_round(tp_ws *t)
{
    for (;;) {
        long nimp = 0;
        if (t->c1 > t->c0)
            t->last_rel = (t->score - t->best) / fmax(1.0, fabs(t->score));
        for (long c = t->c0; c < t->c1; c++)
            if (improves(t, t->cand[c])) {
                const tp_pair *q = &t->pairs[c];
                t->imp[nimp++] = (tp_pair){t->cand[c], t->pos[q->j], t->pos[q->i]};
            }
        if (nimp > 0) {
            sort_pairs(t->imp, nimp);
            memset(t->mark, 0, (size_t)t->d);
            int first = t->d;
            for (long c = 0; c < nimp; c++) {
                int a = t->imp[c].i, b = t->imp[c].j, free_span = 1;
                for (int r = a; r <= b && free_span; r++)
                    free_span = !t->mark[r];
                if (!free_span)
                    continue;
                memset(t->mark + a, 1, (size_t)(b - a + 1));
                int na = t->order[a], nb = t->order[b];
                t->order[a] = nb;
                t->order[b] = na;
                t->pos[nb] = a;
                t->pos[na] = b;
                t->accepted++;
                if (a < first)
                    first = a;
            }
            if (t->phase == 1)
                t->large_used++;
            t->rounds++;
            if (factor_rows(t, first))
                return DONE_STOPPED;
            t->score = score_of_factor(t);
            if (!isfinite(t->score))
                return DONE_NUMERIC;
            int rc = begin_round(t);
            if (rc != GO_ON)
                return rc;
        } else if (t->phase == 0 && t->large_used < t->large_max && t->nl > t->ns) {
            t->rounds++;
            t->phase = 1;
            t->c0 = t->ns;
            t->c1 = t->nl;
            t->cur = t->c0;
            t->best = INFINITY;
        } else {
            if (t->c1 > t->c0 || t->phase == 1)
                t->rounds++;
            return DONE_SOLVED;
        }
        if (t->c1 > t->c0)
            return GO_ON;
    }
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    tp_ws *t = ctx;
    if (cap < 7)
        return 0;
    m[0] = (sv_metric){"score", t->score};
    m[1] = (sv_metric){"best_candidate", isfinite(t->best) ? t->best : t->score};
    m[2] = (sv_metric){"swaps_tried", (double)t->tried};
    m[3] = (sv_metric){"swaps_accepted", (double)t->accepted};
    m[4] = (sv_metric){"rounds", t->rounds};
    m[5] = (sv_metric){"search_size", (double)(t->c1 - t->c0)};
    m[6] = (sv_metric){"large_set", t->phase};
    return 7;
}

/* ================================ the first order ================================ */

static void sort_doubles(double *a, long n)
{
    /* Heapsort of a as pairs would need room; values alone: a simple in-place heapsort. */
    for (long r = n / 2 - 1; r >= 0; r--) {
        long root = r;
        for (;;) {
            long c = 2 * root + 1;
            if (c >= n)
                break;
            if (c + 1 < n && a[c] < a[c + 1])
                c++;
            if (!(a[root] < a[c]))
                break;
            double tmp = a[root];
            a[root] = a[c];
            a[c] = tmp;
            root = c;
        }
    }
    for (long end = n - 1; end > 0; end--) {
        double tmp = a[0];
        a[0] = a[end];
        a[end] = tmp;
        long root = 0;
        for (;;) {
            long c = 2 * root + 1;
            if (c >= end)
                break;
            if (c + 1 < end && a[c] < a[c + 1])
                c++;
            if (!(a[root] < a[c]))
                break;
            tmp = a[root];
            a[root] = a[c];
            a[c] = tmp;
            root = c;
        }
    }
}

/* |W0| with entries below thr and the diagonal zeroed, into t->W; acyclic? (order filled) */
static int dag_at(tp_ws *t, const double *W0, double thr)
{
    int d = t->d;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double v = fabs(W0[(size_t)i * d + j]);
            t->W[(size_t)i * d + j] = i == j || v < thr ? 0.0 : v;
        }
    return sv_dag_topo_sort(d, t->W, t->order, t->work) == d;
}

/* The first order: given, from W_init (the weakest edges dropped until it is a DAG: the
 * smallest threshold among its weights that leaves it acyclic, by bisection), or random. */
static void first_order(tp_ws *t, const topo_problem *p, const topo_settings *s,
                        topo_info *info)
{
    int d = t->d;
    if (p->init_order) {
        memcpy(t->order, p->init_order, (size_t)d * sizeof *t->order);
    } else if (p->W_init) {
        if (!dag_at(t, p->W_init, 0)) {
            long cnt = 0;
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++)
                    if (i != j && p->W_init[(size_t)i * d + j] != 0)
                        t->C[cnt++] = fabs(p->W_init[(size_t)i * d + j]);
            sort_doubles(t->C, cnt);
            long lo = 0, hi = cnt;  /* dag_at(C[hi]) holds (hi = cnt: no edge left) */
            while (hi - lo > 1) {
                long mid = lo + (hi - lo) / 2;
                if (dag_at(t, p->W_init, t->C[mid]))
                    hi = mid;
                else
                    lo = mid;
            }
            double thr = hi < cnt ? t->C[hi] : INFINITY;
            dag_at(t, p->W_init, thr);
            long dropped = 0;
            for (long c = 0; c < cnt; c++)
                dropped += t->C[c] < thr;
            info->init_threshold_edges = (int)dropped;
        }
    } else {
        sv_rng r;
        sv_rng_seed(&r, s->seed);
        for (int a = 0; a < d; a++)
            t->order[a] = a;
        sv_rng_shuffle(&r, t->order, d);
    }
    for (int a = 0; a < d; a++)
        t->pos[t->order[a]] = a;
}

/* ================================ the solver ================================ */

int topo_solve(const topo_problem *p, const topo_settings *s, const sv_monitor *mon, double *W,
               double *W_raw, int *order, topo_info *info, sv_err *e)
{
    topo_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = topo_check_settings(s, e)) != SV_OK || (rc = check_problem(p, e)) != SV_OK)
        return rc;
    if (!W)
        return sv_fail(e, "/problem", "no room for the estimate");

    tp_ws t;
    memset(&t, 0, sizeof t);
    if ((rc = ws_alloc(&t, p, s)) != SV_OK)
        return rc;
    first_order(&t, p, s, info);
    factor_rows(&t, 0);  /* t.L is NULL: no polls in set-up */
    t.score = score_of_factor(&t);
    info->score_init = t.score;
    t.last_rel = NAN;

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &t);
    t.L = &L;
    int done = isfinite(t.score) ? begin_round(&t) : DONE_NUMERIC;
    if (done == GO_ON && t.c1 == t.c0)
        done = end_round(&t);
    long k;
    for (k = 0;; k++) {
        if (sv_loop_check(&L, k, t.score, done == DONE_NUMERIC || !isfinite(t.score),
                          done == DONE_SOLVED) ||
            done == DONE_STOPPED)
            break;
        const tp_pair *q = &t.pairs[t.cur];
        double dl = swap_delta(&t, t.pos[q->j], t.pos[q->i]);
        if (isnan(dl))
            break;  /* a poll said stop; this candidate is not counted */
        double sc = t.score + dl;
        t.cand[t.cur] = sc;
        if (sc < t.best)
            t.best = sc;
        t.tried++;
        if (++t.cur == t.c1)
            done = end_round(&t);
    }

    /* The final order's factor and W(pi), once more without polls (the loop has ended either
     * way), so that they belong to the returned order whatever stopped the loop. */
    t.L = NULL;
    factor_rows(&t, 0);
    t.score = score_of_factor(&t);
    weights(&t);
    sv_copy((int)t.dd, t.W, W);
    if (W_raw)
        sv_copy((int)t.dd, t.W, W_raw);
    if (order)
        memcpy(order, t.order, (size_t)t.d * sizeof *order);
    info->score = t.score;
    info->edges = sv_dag_threshold(t.d, W, s->w_threshold);
    info->score_thresholded = sv_dag_ls_value(&t.ls, W, NULL);
    if (p->W_true) {
        info->has_accuracy = 1;
        sv_dag_accuracy_of(t.d, p->W_true, W, &info->accuracy);
    }
    info->rounds = t.rounds;
    info->swaps_tried = t.tried;
    info->swaps_accepted = t.accepted;
    info->large_used = t.large_used;
    double res = isnan(t.last_rel) ? 0.0 : t.last_rel;
    sv_loop_end(&L, &info->base, k, info->score, res);
    ws_free(&t);
    return SV_OK;
}

int topo_score_order(const topo_problem *p, const topo_settings *s, const int *order, double *W,
                     double *score, sv_err *e)
{
    int rc;
    topo_problem q = *p;
    q.init_order = order;
    q.W_init = NULL;
    if ((rc = topo_check_settings(s, e)) != SV_OK || (rc = check_problem(&q, e)) != SV_OK)
        return rc;
    if (!order)
        return sv_fail(e, "/problem/init/order", "an order is required");
    tp_ws t;
    memset(&t, 0, sizeof t);
    if ((rc = ws_alloc(&t, &q, s)) != SV_OK)
        return rc;
    memcpy(t.order, order, (size_t)t.d * sizeof *t.order);
    factor_rows(&t, 0);
    *score = score_of_factor(&t);
    weights(&t);
    if (W)
        sv_copy((int)t.dd, t.W, W);
    ws_free(&t);
    return SV_OK;
}
