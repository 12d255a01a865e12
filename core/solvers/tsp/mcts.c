/* mcts.c - SoftDist heatmap + MCTS for the Euclidean TSP (Xia et al., ICML 2024, on the MCTS of
 * Fu et al., AAAI 2021), the 2-opt + Or-opt baseline, and the Held-Karp 1-tree bound.
 *
 * A tour is the array tour[] with pos[] its inverse. One MCTS simulation (an "action") is a
 * sequential edge exchange from a random city t1 and t2 one of its tour neighbours: at each depth the next city
 * t3 is drawn among t2's candidates with probability proportional to the potential
 *   Z(t2, j) = W(t2, j) / mean_c W(t2, c) + alpha sqrt(ln(M + 1) / (Q(t2, j) + 1)),
 * t4 = pred(t3), edges (t1, t2), (t4, t3) are replaced by (t2, t3), (t1, t4) (a reversal, so every
 * intermediate is a tour) and t4 becomes the next t2. As soon as closing is improving the action
 * is applied; after max_depth exchanges without, all reversals are undone. An improving action
 * raises W on the edges it added by beta (exp(gain / L) - 1) (the back-propagation); every
 * simulation counts Q on the edges it tried and M. After H n simulations without improvement the
 * search ends (a restart from a new initial tour while restarts remain). */
#include "core/solvers/tsp/mcts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const method_choices[] = {"mcts", "2opt", NULL};
static const char *const init_choices[] = {"heatmap", "nearest", NULL};

const sv_param_spec mcts_params[] = {
    SV_P_ENUM(mcts_settings, method, method_choices, MCTS_METHOD_MCTS,
              "mcts = heatmap-guided Monte Carlo tree search after 2-opt; 2opt = plain 2-opt + "
              "Or-opt local search (the baseline)"),
    SV_P_NUMBER_GT(mcts_settings, tau, 0, INFINITY, NAN,
                   "SoftDist temperature; null: 0.0066 sqrt(500 / n) times the bounding box's "
                   "longer side (the paper's 0.0066 at n = 500 on the unit square)"),
    SV_P_INT32(mcts_settings, k, 1, 50, MCTS_DEFAULT_K,
               "candidate cities per city: the k nearest, SoftDist's support"),
    SV_P_NUMBER(mcts_settings, alpha, 0, 1e6, MCTS_DEFAULT_ALPHA,
                "exploration weight of the potential"),
    SV_P_NUMBER(mcts_settings, beta, 0, 1e6, MCTS_DEFAULT_BETA,
                "back-propagation: W_ij += beta (exp(gain / length) - 1) on improving actions"),
    SV_P_NUMBER_GT(mcts_settings, param_h, 0, 1e6, MCTS_DEFAULT_H,
                   "a search ends after param_h n simulations without improvement"),
    SV_P_INT32(mcts_settings, max_depth, 2, 50, MCTS_DEFAULT_DEPTH,
               "edge exchanges of one action at most"),
    SV_P_ENUM(mcts_settings, init, init_choices, MCTS_INIT_HEATMAP,
              "initial tours: heatmap = sampled along the heatmap, nearest = nearest neighbour"),
    SV_P_INT32(mcts_settings, restarts, 1, 1000000, MCTS_DEFAULT_RESTARTS,
               "searches (initial tour, local search, MCTS) before the run ends solved"),
    SV_P_INT32(mcts_settings, bound_steps, 0, 100000, MCTS_DEFAULT_BOUND_STEPS,
               "subgradient steps of the Held-Karp 1-tree bound"),
    SV_P_SEED(mcts_settings, seed, 0, "seed of the initial tours and the simulations"),
    SV_CONTROL_PARAMS(mcts_settings, ctl, 0.0,
                      "solved once length <= (1 + tol) bound (or when the searches are done)",
                      MCTS_DEFAULT_MAX_ITER, MCTS_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void mcts_settings_default(mcts_settings *s)
{
    sv_params_defaults(mcts_params, s);
}

int mcts_check_settings(const mcts_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(mcts_params, s, "/params", e);
}

int mcts_check_problem(const mcts_problem *p, sv_err *e)
{
    if (!p || !p->xy)
        return sv_fail(e, "/problem", "cities missing");
    if (p->n < MCTS_MIN_N || p->n > MCTS_MAX_N)
        return sv_fail(e, "/problem", "%d cities: between %d and %d are accepted", p->n,
                       MCTS_MIN_N, MCTS_MAX_N);
    for (int i = 0; i < 2 * p->n; i++)
        if (!isfinite(p->xy[i]) || fabs(p->xy[i]) > 1e12)
            return sv_fail(e, "/problem", "city %d: coordinates must be finite, |.| <= 1e12",
                           i / 2);
    return SV_OK;
}

double mcts_dist(const mcts_problem *p, int i, int j)
{
    double dx = p->xy[2 * i] - p->xy[2 * j], dy = p->xy[2 * i + 1] - p->xy[2 * j + 1];
    double d = sqrt(dx * dx + dy * dy);
    return p->round ? floor(d + 0.5) : d;
}

#define D(i, j) mcts_dist(p, (i), (j))

/* ================================ the 1-tree bound ================================ */

/* The 1-tree of weights d_ij + pi_i + pi_j: an MST of cities 1..n-1 (Prim, O(n^2)) plus city 0's
 * two cheapest edges. Returns its weight minus 2 sum pi, deg filled; NaN when L says stop. */
static double one_tree(const mcts_problem *p, const double *pi, double *key, int *par, int *deg,
                       sv_loop *L)
{
    int n = p->n;
    double w = 0;
    for (int i = 0; i < n; i++) {
        key[i] = INFINITY;
        par[i] = -1;
        deg[i] = 0;
    }
    /* par[i] = -2 marks "in the tree" */
    key[1] = 0;
    for (int it = 1; it < n; it++) {
        if ((it & 63) == 0 && sv_loop_poll(L))
            return NAN;
        int u = -1;
        for (int i = 1; i < n; i++)
            if (par[i] != -2 && (u < 0 || key[i] < key[u]))
                u = i;
        w += key[u];
        if (par[u] >= 0) {
            deg[u]++;
            deg[par[u]]++;
        }
        par[u] = -2;
        for (int v = 1; v < n; v++)
            if (par[v] != -2) {
                double c = D(u, v) + pi[u] + pi[v];
                if (c < key[v]) {
                    key[v] = c;
                    par[v] = u;
                }
            }
    }
    int a = -1, b = -1;
    double ca = INFINITY, cb = INFINITY;
    for (int v = 1; v < n; v++) {
        double c = D(0, v) + pi[0] + pi[v];
        if (c < ca) {
            cb = ca;
            b = a;
            ca = c;
            a = v;
        } else if (c < cb) {
            cb = c;
            b = v;
        }
    }
    w += ca + cb;
    deg[0] = 2;
    deg[a]++;
    deg[b]++;
    for (int i = 0; i < n; i++)
        w -= 2 * pi[i];
    return w;
}

double mcts_one_tree_bound(const mcts_problem *p, int steps, double ub, sv_loop *L)
{
    int n = p->n;
    double *pi = calloc((size_t)n, sizeof *pi), *key = malloc((size_t)n * sizeof *key);
    int *par = malloc((size_t)n * sizeof *par), *deg = malloc((size_t)n * sizeof *deg);
    int *dprev = malloc((size_t)n * sizeof *dprev);
    double best = NAN;
    if (pi && key && par && deg && dprev) {
        /* Volgenant-Jonker: t_k falls along a quadratic from t_1 (0.3 w_0 / n; Volgenant-Jonker take 0.01) to 0 at step
         * M, the direction 0.7 g_k + 0.3 g_(k-1); ub only caps the first step (Held-Karp's
         * t <= (ub - w) / |g|^2). */
        double M = steps > 2 ? steps : 3, t1 = 0;
        best = -INFINITY;
        for (int k = 1; k <= steps + 1; k++) {
            double w = one_tree(p, pi, key, par, deg, L);
            if (isnan(w))
                break;
            if (w > best)
                best = w;
            double g2 = 0;
            for (int i = 0; i < n; i++)
                g2 += (double)(deg[i] - 2) * (deg[i] - 2);
            if (g2 == 0 || k > steps)
                break;  /* a 1-tree that is a tour: the bound is exact */
            if (k == 1) {
                t1 = 0.3 * fabs(w) / n;
                if (ub > w)
                    t1 = fmin(t1, (ub - w) / g2);
                for (int i = 0; i < n; i++)
                    dprev[i] = deg[i];
            }
            double t = t1 * ((k - 1) * (2 * M - 5) / (2 * (M - 1)) - (k - 2) +
                             (k - 1) * (k - 2) / (2 * (M - 1) * (M - 2)));
            for (int i = 0; i < n; i++) {
                pi[i] += t * (0.7 * (deg[i] - 2) + 0.3 * (dprev[i] - 2));
                dprev[i] = deg[i];
            }
        }
        if (!isfinite(best))
            best = NAN;
    }
    free(pi);
    free(key);
    free(par);
    free(deg);
    free(dprev);
    return best;
}

/* ================================ SoftDist ================================ */

int mcts_softdist(const mcts_problem *p, int k, double tau, int *nbr, double *heat)
{
    int n = p->n;
    if (k > n - 1)
        k = n - 1;
    for (int i = 0; i < n; i++) {
        int *nb = nbr + (size_t)i * k;
        double *dd = heat + (size_t)i * k;
        int m = 0;
        /* insertion into the k nearest so far, O(n k) a city */
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            double d = D(i, j);
            if (m == k && d >= dd[m - 1])
                continue;
            int r = m < k ? m++ : k - 1;
            while (r > 0 && dd[r - 1] > d) {
                dd[r] = dd[r - 1];
                nb[r] = nb[r - 1];
                r--;
            }
            dd[r] = d;
            nb[r] = j;
        }
        double z = 0, d0 = dd[0];
        for (int r = 0; r < k; r++)  /* shifted by the nearest: no underflow of all terms */
            z += (dd[r] = exp(-(dd[r] - d0) / tau));
        for (int r = 0; r < k; r++)
            dd[r] /= z;
    }
    return k;
}

/* ================================ workspace ================================ */

typedef struct {
    const mcts_problem *p;
    const mcts_settings *s;
    sv_loop *L;
    int n, k;
    int *tour, *pos, *best, *tmp, *nbr;
    unsigned char *seen;
    double *heat, *W, *Q, *wsum;   /* n k each (wsum n): W's row sums */
    double *edge;                  /* n: edge lengths of the tour in a 2-opt pass */
    double len, best_len, bound, gap, M;
    int act_i[64], act_j[64], add_a[64], add_b[64];
    sv_rng r;
} ws_t;

static void ws_free(ws_t *w)
{
    free(w->tour);
    free(w->pos);
    free(w->best);
    free(w->tmp);
    free(w->nbr);
    free(w->seen);
    free(w->heat);
    free(w->W);
    free(w->Q);
    free(w->wsum);
    free(w->edge);
}

static double tour_len(const ws_t *w, const int *t)
{
    const mcts_problem *p = w->p;
    double l = 0;
    for (int i = 0; i < w->n; i++)
        l += D(t[i], t[(i + 1) % w->n]);
    return l;
}

#define SUCC(c) (w->tour[(w->pos[c] + 1) % w->n])
#define PRED(c) (w->tour[(w->pos[c] + w->n - 1) % w->n])

/* Reverses the tour between positions i and j (cyclic, i forward to j), or the complement when
 * that is shorter (the same cyclic tour). Applying it twice restores the tour. */
static void reverse(ws_t *w, int i, int j)
{
    int n = w->n, len = (j - i + n) % n + 1;
    if (2 * len > n) {
        int ni = (j + 1) % n, nj = (i + n - 1) % n;
        i = ni;
        j = nj;
        len = n - len;
    }
    for (int s = 0; s < len / 2; s++) {
        int a = w->tour[i], b = w->tour[j];
        w->tour[i] = b;
        w->pos[b] = i;
        w->tour[j] = a;
        w->pos[a] = j;
        i = (i + 1) % n;
        j = (j + n - 1) % n;
    }
}

static void set_tour(ws_t *w)
{
    for (int i = 0; i < w->n; i++)
        w->pos[w->tour[i]] = i;
    w->len = tour_len(w, w->tour);
}

/* A new initial tour from a random city: along the heatmap (the next city drawn among the
 * unvisited candidates with probability proportional to its heat) or to the nearest unvisited;
 * with no unvisited candidate, the nearest unvisited city. */
static void initial_tour(ws_t *w, int heatmap)
{
    const mcts_problem *p = w->p;
    int n = w->n, k = w->k;
    memset(w->seen, 0, (size_t)n);
    int cur = (int)sv_rng_below(&w->r, (uint64_t)n);
    w->tour[0] = cur;
    w->seen[cur] = 1;
    for (int t = 1; t < n; t++) {
        int next = -1;
        if (heatmap) {
            double z = 0;
            for (int c = 0; c < k; c++)
                if (!w->seen[w->nbr[(size_t)cur * k + c]])
                    z += w->heat[(size_t)cur * k + c];
            if (z > 0) {
                double u = sv_rng_uniform(&w->r) * z;
                for (int c = 0; c < k; c++) {
                    int j = w->nbr[(size_t)cur * k + c];
                    if (w->seen[j])
                        continue;
                    next = j;
                    if ((u -= w->heat[(size_t)cur * k + c]) < 0)
                        break;
                }
            }
        }
        if (next < 0) {
            double bd = INFINITY;
            for (int j = 0; j < n; j++)
                if (!w->seen[j] && D(cur, j) < bd) {
                    bd = D(cur, j);
                    next = j;
                }
        }
        w->tour[t] = next;
        w->seen[next] = 1;
        cur = next;
    }
    set_tour(w);
}

/* One best-improvement 2-opt pass over all pairs of edges; 1 when a move was applied, -1 when
 * the loop said stop. */
static int two_opt_pass(ws_t *w)
{
    const mcts_problem *p = w->p;
    int n = w->n, bi = -1, bj = -1;
    double bdelta = -1e-10 * w->len, *el = w->edge;
    for (int i = 0; i < n; i++)  /* the tour's edge lengths, once a pass */
        el[i] = D(w->tour[i], w->tour[(i + 1) % n]);
    for (int i = 0; i < n - 2; i++) {
        if ((i & 127) == 127 && sv_loop_poll(w->L))
            return -1;
        int a = w->tour[i], b = w->tour[i + 1];
        double dab = el[i];
        for (int j = i + 2; j < n - (i == 0); j++) {
            int c = w->tour[j], d = w->tour[(j + 1) % n];
            double delta = D(a, c) + D(b, d) - dab - el[j];
            if (delta < bdelta) {
                bdelta = delta;
                bi = i;
                bj = j;
            }
        }
    }
    if (bi < 0)
        return 0;
    reverse(w, bi + 1, bj);
    w->len += bdelta;
    return 1;
}

/* One best-improvement Or-opt pass: a segment of 1..3 cities moved between two other adjacent
 * cities, either way round. */
static int or_opt_pass(ws_t *w)
{
    const mcts_problem *p = w->p;
    int n = w->n, bi = -1, bs = 0, bc = -1, brev = 0;
    double bdelta = -1e-10 * w->len;
    for (int s = 1; s <= 3 && s <= n - 3; s++)
        for (int i = 0; i < n; i++) {
            if ((i & 127) == 127 && sv_loop_poll(w->L))
                return -1;
            int f = w->tour[i], l = w->tour[(i + s - 1) % n];
            int pp = w->tour[(i + n - 1) % n], q = w->tour[(i + s) % n];
            double rem = D(pp, f) + D(l, q) - D(pp, q);
            for (int t = 0; t < n - s - 1; t++) {  /* edges (c, e) outside the segment */
                int c = w->tour[(i + s + t) % n], e = w->tour[(i + s + t + 1) % n];
                double dce = D(c, e);
                double fw = D(c, f) + D(l, e) - dce - rem, bw = D(c, l) + D(f, e) - dce - rem;
                if (fw < bdelta) {
                    bdelta = fw;
                    bi = i; bs = s; bc = c; brev = 0;
                }
                if (bw < bdelta) {
                    bdelta = bw;
                    bi = i; bs = s; bc = c; brev = 1;
                }
            }
        }
    if (bi < 0)
        return 0;
    int m = 0;
    for (int t = 0; t < n - bs; t++) {
        int c = w->tour[(bi + bs + t) % n];
        w->tmp[m++] = c;
        if (c == bc)
            for (int u = 0; u < bs; u++)
                w->tmp[m++] = w->tour[(bi + (brev ? bs - 1 - u : u)) % n];
    }
    memcpy(w->tour, w->tmp, (size_t)n * sizeof *w->tour);
    set_tour(w);
    return 1;
}

static int slot(const ws_t *w, int i, int j)
{
    for (int c = 0; c < w->k; c++)
        if (w->nbr[(size_t)i * w->k + c] == j)
            return (int)((size_t)i * w->k + c);
    return -1;
}

/* One MCTS simulation; 1 when it improved the tour, -1 when the loop said stop. */
static int simulate(ws_t *w)
{
    const mcts_problem *p = w->p;
    const mcts_settings *s = w->s;
    int n = w->n, k = w->k, depth = 0, improved = 0;
    int t1 = (int)sv_rng_below(&w->r, (uint64_t)n), fwd = sv_rng_below(&w->r, 2) == 0;
    int t2 = fwd ? SUCC(t1) : PRED(t1);
    double g = D(t1, t2), lnm = log(w->M + 1.0), close = 0;
    double z[64];
    w->M += 1.0;
    while (depth < s->max_depth) {
        double mean = w->wsum[t2] / k, tot = 0;
        for (int c = 0; c < k; c++) {
            int j = w->nbr[(size_t)t2 * k + c], ok = j != t1 && j != SUCC(t2) && j != PRED(t2);
            for (int d = 0; ok && d < depth; d++)
                ok = w->add_b[d] != j;
            size_t sl = (size_t)t2 * k + c;
            z[c] = ok ? (mean > 0 ? w->W[sl] / mean : 0) +
                            s->alpha * sqrt(lnm / (w->Q[sl] + 1.0)) + 1e-12
                      : 0;
            tot += z[c];
        }
        if (!(tot > 0))
            break;
        double u = sv_rng_uniform(&w->r) * tot;
        int c = 0;
        while (c < k - 1 && (z[c] == 0 || (u -= z[c]) >= 0))
            c++;
        while (z[c] == 0)
            c--;
        int t3 = w->nbr[(size_t)t2 * k + c], t4 = fwd ? PRED(t3) : SUCC(t3);
        w->Q[(size_t)t2 * k + c] += 1.0;
        int back = slot(w, t3, t2);
        if (back >= 0)
            w->Q[back] += 1.0;
        g += D(t4, t3) - D(t2, t3);
        /* t1 t2 .. t4 t3 .. in the walking direction: reversing t2..t4 gives t1 t4 .. t2 t3 */
        w->act_i[depth] = fwd ? w->pos[t2] : w->pos[t4];
        w->act_j[depth] = fwd ? w->pos[t4] : w->pos[t2];
        w->add_a[depth] = t2;
        w->add_b[depth] = t3;
        reverse(w, w->act_i[depth], w->act_j[depth]);
        depth++;
        close = g - D(t1, t4);
        if (close > 1e-10 * w->len) {
            improved = 1;
            break;
        }
        t2 = t4;
        fwd = SUCC(t1) == t4;  /* reverse() may have turned the other part round */
    }
    if (!improved) {
        for (int d = depth - 1; d >= 0; d--)
            reverse(w, w->act_i[d], w->act_j[d]);
        return 0;
    }
    double inc = s->beta * (exp(close / w->len) - 1.0);
    for (int d = 0; d < depth; d++) {
        int a = w->add_a[d], b = w->add_b[d], sl = slot(w, a, b);
        if (sl >= 0) {
            w->W[sl] += inc;
            w->wsum[a] += inc;
        }
        if ((sl = slot(w, b, a)) >= 0) {
            w->W[sl] += inc;
            w->wsum[b] += inc;
        }
    }
    w->len -= close;
    return 1;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    ws_t *w = ctx;
    if (cap < 3)
        return 0;
    m[0] = (sv_metric){"best_length", w->best_len};
    m[1] = (sv_metric){"gap", w->gap};
    m[2] = (sv_metric){"length", w->len};
    return 3;
}

/* ================================ the solver ================================ */

int mcts_solve(const mcts_problem *p, const mcts_settings *s, const sv_monitor *mon, int *tour,
               mcts_info *info, sv_err *e)
{
    mcts_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->length = info->bound = info->gap = info->tau = NAN;
    int rc;
    if ((rc = mcts_check_settings(s, e)) != SV_OK || (rc = mcts_check_problem(p, e)) != SV_OK)
        return rc;
    if (!tour)
        return sv_fail(e, "/problem", "no room for the tour");
    ws_t w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.s = s;
    w.n = p->n;
    w.k = s->k < p->n - 1 ? s->k : p->n - 1;
    size_t n = (size_t)p->n, nk = n * (size_t)w.k;
    w.tour = malloc(n * sizeof *w.tour);
    w.pos = malloc(n * sizeof *w.pos);
    w.best = malloc(n * sizeof *w.best);
    w.tmp = malloc(n * sizeof *w.tmp);
    w.nbr = malloc(nk * sizeof *w.nbr);
    w.seen = malloc(n);
    w.heat = malloc(nk * sizeof *w.heat);
    w.W = malloc(nk * sizeof *w.W);
    w.Q = calloc(nk, sizeof *w.Q);
    w.wsum = calloc(n, sizeof *w.wsum);
    w.edge = malloc(n * sizeof *w.edge);
    if (!w.tour || !w.pos || !w.best || !w.tmp || !w.nbr || !w.seen || !w.heat || !w.W || !w.Q ||
        !w.wsum || !w.edge) {
        ws_free(&w);
        return SV_ENOMEM;
    }
    sv_rng_seed(&w.r, s->seed);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        xlo = fmin(xlo, p->xy[2 * i]);
        xhi = fmax(xhi, p->xy[2 * i]);
        ylo = fmin(ylo, p->xy[2 * i + 1]);
        yhi = fmax(yhi, p->xy[2 * i + 1]);
    }
    double side = fmax(fmax(xhi - xlo, yhi - ylo), 1e-300);
    info->tau = isnan(s->tau) ? 0.0066 * sqrt(500.0 / (double)n) * side : s->tau;
    mcts_softdist(p, w.k, info->tau, w.nbr, w.heat);
    /* W from the symmetrised heatmap (H_ij + H_ji) / 2, as Fu et al. read theirs */
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < w.k; c++) {
            int j = w.nbr[i * w.k + c], b = slot(&w, j, (int)i);
            double v = 0.5 * (w.heat[i * w.k + c] + (b >= 0 ? w.heat[b] : 0.0));
            w.W[i * w.k + c] = v;
            w.wsum[i] += v;
        }

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    w.L = &L;
    /* the bound, from the nearest-neighbour tour's length as the subgradient's target */
    initial_tour(&w, 0);
    w.best_len = w.len;
    memcpy(w.best, w.tour, n * sizeof *w.best);
    w.bound = mcts_one_tree_bound(p, s->bound_steps, w.len, &L);
    if (sv_loop_stopped(&L) || isnan(w.bound)) {
        int stopped = sv_loop_stopped(&L);
        memcpy(tour, w.best, n * sizeof *tour);
        info->length = w.best_len;
        info->bound = w.bound;  /* the best 1-tree before the stop, or NaN */
        info->gap = w.best_len / w.bound - 1;
        ws_free(&w);
        if (!stopped)
            return sv_loop_fail(&L, &info->base, 0, SV_ENOMEM);
        sv_loop_end(&L, &info->base, 0, info->length, info->gap);
        return SV_OK;
    }
    w.gap = w.best_len / w.bound - 1;
    initial_tour(&w, s->init == MCTS_INIT_HEATMAP);
    int phase = 0, searches = 0, done = 0;  /* phase 0: local search, 1: MCTS */
    long fails = 0, limit = (long)ceil(s->param_h * (double)n), k;
    for (k = 0;; k++) {
        if (w.len < w.best_len - 1e-12 * w.best_len) {
            w.best_len = w.len;
            memcpy(w.best, w.tour, n * sizeof *w.best);
            w.gap = w.best_len / w.bound - 1;
        }
        if (sv_loop_check(&L, k, w.best_len, 0, done || w.gap <= s->ctl.tol))
            break;
        int end_search = 0;
        if (phase == 0) {
            int r = two_opt_pass(&w);
            if (r == 0)
                r = or_opt_pass(&w);
            if (r < 0)
                break;
            if (r > 0)
                info->improvements++;
            else if (s->method == MCTS_METHOD_2OPT)
                end_search = 1;
            else {
                phase = 1;
                fails = 0;
            }
        } else {
            int r = simulate(&w);
            info->simulations++;
            if (r > 0) {
                info->improvements++;
                fails = 0;
            } else if (++fails >= limit) {
                end_search = 1;
            }
        }
        if (end_search) {
            if (w.len < w.best_len - 1e-12 * w.best_len) {
                w.best_len = w.len;
                memcpy(w.best, w.tour, n * sizeof *w.best);
                w.gap = w.best_len / w.bound - 1;
            }
            if (++searches >= s->restarts)
                done = 1;
            else {
                initial_tour(&w, s->init == MCTS_INIT_HEATMAP);
                phase = 0;
            }
        }
    }
    info->searches = searches;
    /* the tour's length summed afresh (the running length carries rounding) */
    w.best_len = tour_len(&w, w.best);
    w.gap = w.best_len / w.bound - 1;
    memcpy(tour, w.best, n * sizeof *tour);
    info->length = w.best_len;
    info->bound = w.bound;
    info->gap = w.gap;
    sv_loop_end(&L, &info->base, k, w.best_len, w.gap);
    ws_free(&w);
    return SV_OK;
}
