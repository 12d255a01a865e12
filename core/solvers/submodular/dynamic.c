/* dynamic.c - fully dynamic monotone submodular maximisation under a cardinality constraint
 * (Banihashem, Biabani, Goudarzi, Hajiaghayi, Jabbarzade, Monemizadeh, ICML 2023), and the
 * baseline that recomputes lazy greedy after every update.
 *
 * One structure per guess of OPT. With m the largest singleton value among the alive elements,
 * OPT lies in [m, k m]; the guesses are the thresholds tau_j = (1+eps)^j in
 * [m / (2k(1+eps)), m / 2], one of which lies within a factor 1+eps below OPT / (2k). A guess is
 * built when m brings it into that window and dropped when m takes it out.
 *
 * The structure of one guess (threshold tau) is a stack of levels 0..nlev-1. R_0 is the set of
 * alive elements with f(e) >= tau; level i holds a candidate set R_i, every element of which had
 * gain >= tau over S_{<i} (the solution elements picked at the levels below) when the level was
 * built. Building level i: the elements of R_i in a uniformly random order are taken in batches
 * of 1, 2, 4, ... ; an element joins S (level i) when its gain over S is still >= tau; after each
 * batch the rest are filtered by their gain over S; the level ends once the filtered pool has
 * shrunk to (1 - eps) |R_i| or less (or S has k elements, or the pool is empty), and the pool is
 * R_{i+1}. So the levels shrink geometrically (O(log n / eps) of them), a level costs
 * O(|R_i| log k) queries, and S_i is a uniformly random prefix of R_i, which an oblivious stream
 * of deletions hits in proportion to |S_i| / |R_i|.
 *
 * Updates. An insertion walks up the levels, one query a level (its gain over S_{<i}), while the
 * gain is >= tau: it joins R_0..R_j. If it passes every level it has gain >= tau over S and joins
 * S at a new level of its own when |S| < k. A deletion leaves every R_i it was in; if it was in S
 * it leaves S. Each level counts the updates that touched it since it was built; the lowest level
 * whose count reaches eps |R_i| (its size when built) is rebuilt, with every level above it, so a
 * rebuild costing O(|R_i| log k log n / eps) queries is paid for by eps |R_i| updates: the
 * polylogarithmic amortised bound. Between rebuilds, a deleted solution element is just gone
 * (the laziness the amortisation needs; the guarantee holds in expectation because S_i is a
 * random sample of R_i). When S has k elements the survivors of the last filter wait at level
 * nlev; if a deletion then frees room in S they are built as a new level.
 *
 * The reported solution is the best S over the active guesses. A query is one evaluation of a
 * marginal gain f(X + e) - f(X) (a singleton f(e) included); keeping the state of a solution
 * as it changes is not counted. */
#include "core/solvers/submodular/dynamic.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const alg_choices[] = {"dynamic", "lazy_greedy", NULL};

const sv_param_spec dynamic_params[] = {
    SV_P_ENUM(dynamic_settings, algorithm, alg_choices, DYNAMIC_ALG_DYNAMIC,
              "dynamic: the paper's leveled threshold-sampling structure; lazy_greedy: lazy "
              "greedy recomputed from scratch after every update (the baseline)"),
    SV_P_NUMBER_GT(dynamic_settings, eps, 0, 0.5, DYNAMIC_DEFAULT_EPS,
                   "accuracy: guesses of OPT on the grid (1+eps)^j, levels shrink by 1 - eps, "
                   "a level is rebuilt after eps |R| updates touched it; (1/2 - eps) OPT"),
    SV_P_SEED(dynamic_settings, seed, 0, "seed of the sampling (dynamic)"),
    SV_CONTROL_PARAMS(dynamic_settings, ctl, 0,
                      "not used: the run ends when the stream has been processed",
                      DYNAMIC_DEFAULT_MAX_ITER, DYNAMIC_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void dynamic_settings_default(dynamic_settings *s)
{
    sv_params_defaults(dynamic_params, s);
}

int dynamic_check_settings(const dynamic_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(dynamic_params, s, "/params", e);
}

int dynamic_check_problem(const dynamic_problem *p, sv_err *e)
{
    if (!p || !p->fn)
        return sv_fail(e, "/problem", "a function and a stream are required");
    int rc = sv_submod_check(p->fn, "/problem", e);
    if (rc != SV_OK)
        return rc;
    if (p->k < 1)
        return sv_fail(e, "/problem/k", "k must be >= 1, got %d", p->k);
    if (p->n_updates < 0 || (p->n_updates > 0 && !p->updates))
        return sv_fail(e, "/problem/stream", "stream missing");
    unsigned char *alive = calloc((size_t)p->fn->n, 1);
    if (!alive)
        return SV_ENOMEM;
    rc = SV_OK;
    for (long t = 0; t < p->n_updates && rc == SV_OK; t++) {
        char path[64];
        snprintf(path, sizeof path, "/problem/stream/%ld", t);
        int x = p->updates[t].element, op = p->updates[t].op;
        if (x < 0 || x >= p->fn->n)
            rc = sv_fail(e, path, "element %d outside [0, %d)", x, p->fn->n);
        else if (op == DYNAMIC_INSERT && alive[x])
            rc = sv_fail(e, path, "element %d is inserted while present", x);
        else if (op == DYNAMIC_DELETE && !alive[x])
            rc = sv_fail(e, path, "element %d is deleted while absent", x);
        else if (op != DYNAMIC_INSERT && op != DYNAMIC_DELETE)
            rc = sv_fail(e, path, "unknown operation");
        else
            alive[x] = op == DYNAMIC_INSERT;
    }
    free(alive);
    return rc;
}

/* ================================ workspace ================================ */

typedef struct {
    int active, expo;
    double tau;
    int *top;       /* n: highest level whose R holds e (nlev: a waiting survivor), -1: none */
    unsigned char *insol;
    int nlev;
    int *lsize;     /* maxlev: |R_i| when built */
    int *lcnt;      /* maxlev: updates that touched level i since */
    int *sol, *sol_lev, ns;  /* S in level order */
    double *st;     /* universe: state of S */
    double value;
} guess;

typedef struct {
    const dynamic_problem *p;
    const dynamic_settings *s;
    const sv_submod_fn *fn;
    sv_loop *L;
    int n, k, G, maxlev;
    double eps;
    guess *g;
    unsigned char *alive;
    int n_alive;
    int *alist, *apos;  /* the alive elements in alist[0..n_alive), e at apos[e]: scans over
                         * the alive set cost what it holds, not n */
    double *sing;   /* n: f(e), asked once at insertion */
    double m;       /* max singleton among the alive */
    int at_max;     /* alive elements whose singleton equals m */
    int *buf;       /* n: a level's pool */
    int *walked;    /* k: S as an insertion's walk read it */
    double *scratch;/* universe: state of S_{<i} during an insertion's walk */
    sv_rng rng;
    long queries, rebuilds;
    int best;       /* guess of the reported solution, -1: none */
    /* lazy greedy */
    int *hidx, *hstamp, hn;
    double *hval;
    int *lsol, lns;
    double *lst, lvalue;
    /* report */
    long upd_queries;
} ws;

static void ws_free(ws *w)
{
    if (w->g)
        for (int j = 0; j < w->G; j++) {
            free(w->g[j].top);
            free(w->g[j].insol);
            free(w->g[j].lsize);
            free(w->g[j].lcnt);
            free(w->g[j].sol);
            free(w->g[j].sol_lev);
            free(w->g[j].st);
        }
    free(w->g);
    free(w->alive);
    free(w->alist);
    free(w->apos);
    free(w->sing);
    free(w->buf);
    free(w->walked);
    free(w->scratch);
    free(w->hidx);
    free(w->hstamp);
    free(w->hval);
    free(w->lsol);
    free(w->lst);
}

static int ws_alloc(ws *w)
{
    int n = w->n, U = w->fn->universe, k = w->k;
    size_t kk = (size_t)(k < n ? k : n) + 1;
    w->alive = calloc((size_t)n, 1);
    w->sing = calloc((size_t)n, sizeof *w->sing);
    w->buf = malloc((size_t)n * sizeof *w->buf);
    w->scratch = calloc((size_t)U, sizeof *w->scratch);
    w->walked = malloc(kk * sizeof *w->walked);
    w->alist = malloc((size_t)n * sizeof *w->alist);
    w->apos = malloc((size_t)n * sizeof *w->apos);
    if (!w->alive || !w->sing || !w->buf || !w->scratch || !w->walked || !w->alist || !w->apos)
        return SV_ENOMEM;
    if (w->s->algorithm == DYNAMIC_ALG_LAZY_GREEDY) {
        w->hidx = malloc((size_t)n * sizeof *w->hidx);
        w->hstamp = malloc((size_t)n * sizeof *w->hstamp);
        w->hval = malloc((size_t)n * sizeof *w->hval);
        w->lsol = malloc(kk * sizeof *w->lsol);
        w->lst = malloc((size_t)U * sizeof *w->lst);
        return w->hidx && w->hstamp && w->hval && w->lsol && w->lst ? SV_OK : SV_ENOMEM;
    }
    w->g = calloc((size_t)w->G, sizeof *w->g);
    if (!w->g)
        return SV_ENOMEM;
    for (int j = 0; j < w->G; j++) {
        guess *g = &w->g[j];
        g->top = malloc((size_t)n * sizeof *g->top);
        g->insol = calloc((size_t)n, 1);
        g->lsize = calloc((size_t)w->maxlev + 1, sizeof *g->lsize);
        g->lcnt = calloc((size_t)w->maxlev + 1, sizeof *g->lcnt);
        g->sol = malloc(kk * sizeof *g->sol);
        g->sol_lev = malloc(kk * sizeof *g->sol_lev);
        g->st = malloc((size_t)U * sizeof *g->st);
        if (!g->top || !g->insol || !g->lsize || !g->lcnt || !g->sol || !g->sol_lev || !g->st)
            return SV_ENOMEM;
    }
    return SV_OK;
}

static double gain(ws *w, const double *st, int e)
{
    w->queries++;
    return sv_submod_gain(w->fn, st, e);
}

/* ================================ one guess ================================ */

static void sol_add(ws *w, guess *g, int e, int level, double gn)
{
    g->sol[g->ns] = e;
    g->sol_lev[g->ns] = level;
    g->ns++;
    g->insol[e] = 1;
    g->value += gn;
    sv_submod_add(w->fn, g->st, e);
}

/* The state and value of S's first `keep` elements (not counted as queries: the solver has
 * the gains of its own solution). */
static void sol_truncate(ws *w, guess *g, int keep)
{
    for (int t = keep; t < g->ns; t++)
        g->insol[g->sol[t]] = 0;
    if (sv_submod_removable(w->fn)) {  /* coverage: take the dropped elements back */
        for (int t = keep; t < g->ns; t++)
            g->value -= sv_submod_remove(w->fn, g->st, g->sol[t]);
        g->ns = keep;
        return;
    }
    g->ns = keep;
    sv_submod_clear(w->fn, g->st);
    g->value = 0;
    for (int t = 0; t < keep; t++) {
        g->value += sv_submod_gain(w->fn, g->st, g->sol[t]);
        sv_submod_add(w->fn, g->st, g->sol[t]);
    }
}

/* Builds levels i, i+1, ... from the pool P[0..np) (the elements with top == i, whose gains over
 * S_{<i} were >= tau), S holding S_{<i}. */
static void build_from(ws *w, guess *g, int i, int *P, int np)
{
    const double tau = g->tau, shrink = 1.0 - w->eps;
    while (np > 0 && g->ns < w->k && i < w->maxlev) {
        g->lsize[i] = np;
        g->lcnt[i] = 0;
        g->nlev = i + 1;
        sv_rng_shuffle(&w->rng, P, np);
        int start = np, pos = 0;
        long batch = 1;
        for (;;) {
            long end = pos + batch < np ? pos + batch : np;
            for (; pos < end && g->ns < w->k; pos++) {
                double gn = gain(w, g->st, P[pos]);
                if (gn >= tau)
                    sol_add(w, g, P[pos], i, gn);
            }
            int r = 0;
            if (g->ns < w->k)
                for (int t = pos; t < np; t++)
                    if (gain(w, g->st, P[t]) >= tau)
                        P[r++] = P[t];
            if (g->ns >= w->k) {  /* full: the rest wait at level i+1 unfiltered */
                r = 0;
                for (int t = pos; t < np; t++)
                    if (!g->insol[P[t]])
                        P[r++] = P[t];
            }
            np = r;
            pos = 0;
            if (g->ns >= w->k || r == 0 || r <= shrink * start)
                break;
            batch *= 2;
            if (sv_loop_poll(w->L))
                return;
        }
        i++;
        for (int t = 0; t < np; t++)
            g->top[P[t]] = i;
    }
    if (i >= w->maxlev)  /* never reached: the levels shrink by 1 - eps each */
        for (int t = 0; t < np; t++)
            g->top[P[t]] = w->maxlev - 1;
}

/* Rebuilds levels i.. : S keeps S_{<i}, the pool is R_i as it is now. */
static void rebuild(ws *w, guess *g, int i)
{
    w->rebuilds++;
    int keep = 0;
    while (keep < g->ns && g->sol_lev[keep] < i)
        keep++;
    sol_truncate(w, g, keep);
    int np = 0;
    for (int a = 0; a < w->n_alive; a++) {  /* only alive elements have a level */
        int e = w->alist[a];
        if (g->top[e] >= i) {
            w->buf[np++] = e;
            g->top[e] = i;
        }
    }
    g->nlev = i;
    build_from(w, g, i, w->buf, np);
}

static void guess_activate(ws *w, guess *g, int expo)
{
    g->active = 1;
    g->expo = expo;
    g->tau = pow(1.0 + w->eps, expo);
    for (int e = 0; e < w->n; e++) {
        g->top[e] = w->alive[e] && w->sing[e] >= g->tau ? 0 : -1;
        g->insol[e] = 0;
    }
    g->ns = 0;
    g->nlev = 0;
    sv_submod_clear(w->fn, g->st);
    g->value = 0;
    rebuild(w, g, 0);
}

/* The lowest level whose touch count reached eps |R_i|, or -1. */
static int stale_level(const ws *w, const guess *g)
{
    for (int i = 0; i < g->nlev; i++)
        if (g->lcnt[i] >= w->eps * g->lsize[i])
            return i;
    return -1;
}

static void guess_insert_walk(ws *w, guess *g, int e, int *added)
{
    if (w->sing[e] < g->tau) {
        g->top[e] = -1;
        return;
    }
    /* e is in R_0 (its singleton was asked at insertion); walk up */
    int t = 0, i;
    if (g->nlev > 0)
        g->lcnt[0]++;
    for (i = 1; i <= g->nlev; i++) {
        while (t < g->ns && g->sol_lev[t] == i - 1)
            sv_submod_add(w->fn, w->scratch, g->sol[t++]);
        *added = t;
        double gn = gain(w, w->scratch, e);
        if (gn < g->tau)
            break;
        if (i < g->nlev)
            g->lcnt[i]++;
        else if (g->ns < w->k && g->nlev < w->maxlev) {
            /* gain >= tau over all of S: e is S's newest level */
            g->lsize[i] = 1;
            g->lcnt[i] = 0;
            g->nlev = i + 1;
            g->top[e] = i;
            sol_add(w, g, e, i, gn);
            int s = stale_level(w, g);
            if (s >= 0)
                rebuild(w, g, s);
            return;
        }
    }
    g->top[e] = i - 1;  /* i - 1 == nlev: a waiting survivor */
    if (g->nlev == 0 && g->ns < w->k) {  /* no level yet: e starts level 0 */
        g->lsize[0] = 1;
        g->lcnt[0] = 0;
        g->nlev = 1;
        g->top[e] = 0;
        sol_add(w, g, e, 0, w->sing[e]);
        return;
    }
    int s = stale_level(w, g);
    if (s >= 0)
        rebuild(w, g, s);
}

/* An insertion into one guess. A coverage scratch is kept empty between walks (the walk takes
 * back what it added: a walk costs what it adds), a facility one is cleared (one gain's worth).
 * The walk reads S's first `added` elements before any rebuild changes S, so they are taken back
 * from a copy of their indices. */
static void guess_insert(ws *w, guess *g, int e)
{
    int removable = sv_submod_removable(w->fn), added = 0;
    if (!removable)
        sv_submod_clear(w->fn, w->scratch);
    memcpy(w->walked, g->sol, sizeof(int) * (size_t)g->ns);
    guess_insert_walk(w, g, e, &added);
    if (removable)
        for (int t = 0; t < added; t++)
            sv_submod_remove(w->fn, w->scratch, w->walked[t]);
}

static void guess_delete(ws *w, guess *g, int e)
{
    if (g->top[e] < 0)
        return;
    int hi = g->top[e] < g->nlev - 1 ? g->top[e] : g->nlev - 1;
    for (int i = 0; i <= hi; i++)
        g->lcnt[i]++;
    g->top[e] = -1;
    int was = g->insol[e];
    if (was) {
        int r = 0;
        for (int t = 0; t < g->ns; t++)
            if (g->sol[t] != e) {
                g->sol[r] = g->sol[t];
                g->sol_lev[r] = g->sol_lev[t];
                r++;
            }
        g->insol[e] = 0;
        g->ns = r;  /* sol[r..) are stale copies now: they must not be unmarked */
        if (sv_submod_removable(w->fn))
            g->value -= sv_submod_remove(w->fn, g->st, e);
        else
            sol_truncate(w, g, r);  /* the state of the r left, rebuilt */
    }
    int s = stale_level(w, g);
    if (s >= 0) {
        rebuild(w, g, s);
        return;
    }
    if (was && g->ns < w->k) {  /* room again: the waiting survivors become a level */
        int np = 0;
        for (int a = 0; a < w->n_alive; a++)
            if (g->top[w->alist[a]] == g->nlev)
                w->buf[np++] = w->alist[a];
        if (np > 0)
            build_from(w, g, g->nlev, w->buf, np);
    }
}

/* ================================ guesses ================================ */

static void window(const ws *w, int *lo, int *hi)
{
    if (!(w->m > 0)) {
        *lo = 1;
        *hi = 0;
        return;
    }
    double lg = log1p(w->eps);
    *lo = (int)ceil(log(w->m / (2.0 * w->k * (1.0 + w->eps))) / lg - 1e-9);
    *hi = (int)floor(log(w->m / 2.0) / lg + 1e-9);
    if (*hi - *lo + 1 > w->G)
        *lo = *hi - w->G + 1;
}

static void drop_outside(ws *w, int lo, int hi)
{
    for (int j = 0; j < w->G; j++)
        if (w->g[j].active && (w->g[j].expo < lo || w->g[j].expo > hi))
            w->g[j].active = 0;
}

static void add_inside(ws *w, int lo, int hi)
{
    for (int x = lo; x <= hi; x++) {
        int have = 0, free_slot = -1;
        for (int j = 0; j < w->G; j++) {
            if (w->g[j].active && w->g[j].expo == x)
                have = 1;
            if (!w->g[j].active && free_slot < 0)
                free_slot = j;
        }
        if (!have && free_slot >= 0)
            guess_activate(w, &w->g[free_slot], x);
    }
}

static void pick_best(ws *w)
{
    w->best = -1;
    for (int j = 0; j < w->G; j++)
        if (w->g[j].active && (w->best < 0 || w->g[j].value > w->g[w->best].value))
            w->best = j;
}

static void set_alive(ws *w, int e, int on)
{
    if (on) {
        w->alive[e] = 1;
        w->apos[e] = w->n_alive;
        w->alist[w->n_alive++] = e;
    } else {
        int last = w->alist[--w->n_alive];
        w->alist[w->apos[e]] = last;
        w->apos[last] = w->apos[e];
        w->alive[e] = 0;
    }
}

static void dyn_update(ws *w, const dynamic_update *u)
{
    int e = u->element, lo, hi;
    if (u->op == DYNAMIC_INSERT) {
        set_alive(w, e, 1);
        if (!sv_submod_removable(w->fn))  /* a coverage scratch is empty between walks */
            sv_submod_clear(w->fn, w->scratch);
        w->sing[e] = gain(w, w->scratch, e);
        if (w->sing[e] > w->m) {
            w->m = w->sing[e];
            w->at_max = 1;
        } else if (w->sing[e] == w->m) {
            w->at_max++;
        }
        window(w, &lo, &hi);
        drop_outside(w, lo, hi);
        for (int j = 0; j < w->G; j++)
            if (w->g[j].active)
                guess_insert(w, &w->g[j], e);
        add_inside(w, lo, hi);
    } else {
        set_alive(w, e, 0);
        if (w->sing[e] == w->m && --w->at_max == 0) {  /* the last at the max: rescan */
            w->m = 0;
            for (int a = 0; a < w->n_alive; a++) {
                double v = w->sing[w->alist[a]];
                if (v > w->m) {
                    w->m = v;
                    w->at_max = 1;
                } else if (v == w->m) {
                    w->at_max++;
                }
            }
        }
        window(w, &lo, &hi);
        drop_outside(w, lo, hi);
        for (int j = 0; j < w->G; j++)
            if (w->g[j].active)
                guess_delete(w, &w->g[j], e);
        add_inside(w, lo, hi);
    }
    pick_best(w);
}

/* ================================ lazy greedy ================================ */

/* Heap order: larger bound first, then smaller index. */
static int above(const ws *w, int a, int b)
{
    return w->hval[a] > w->hval[b] || (w->hval[a] == w->hval[b] && w->hidx[a] < w->hidx[b]);
}

static void hswap(ws *w, int a, int b)
{
    int ti = w->hidx[a], ts = w->hstamp[a];
    double tv = w->hval[a];
    w->hidx[a] = w->hidx[b];
    w->hstamp[a] = w->hstamp[b];
    w->hval[a] = w->hval[b];
    w->hidx[b] = ti;
    w->hstamp[b] = ts;
    w->hval[b] = tv;
}

static void sift_down(ws *w, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, b = i;
        if (l < w->hn && above(w, l, b))
            b = l;
        if (r < w->hn && above(w, r, b))
            b = r;
        if (b == i)
            return;
        hswap(w, i, b);
        i = b;
    }
}

/* Lazy greedy over the alive elements from scratch: every singleton, then the stale bounds of
 * the heap's top re-evaluated until a fresh one is on top. Ties go to the smaller index, as in
 * plain greedy; a best gain of 0 ends the run. */
static void lazy_greedy(ws *w)
{
    sv_submod_clear(w->fn, w->lst);
    w->lns = 0;
    w->lvalue = 0;
    w->hn = 0;
    for (int a = 0; a < w->n_alive; a++) {
        int e = w->alist[a];
        w->hidx[w->hn] = e;
        w->hstamp[w->hn] = 0;
        w->hval[w->hn] = gain(w, w->lst, e);
        w->hn++;
        if ((w->hn & 1023) == 0 && sv_loop_poll(w->L))
            return;
    }
    for (int i = w->hn / 2 - 1; i >= 0; i--)
        sift_down(w, i);
    long evals = 0;
    while (w->lns < w->k && w->hn > 0) {
        if (w->hstamp[0] == w->lns) {
            if (!(w->hval[0] > 0))
                break;
            int e = w->hidx[0];
            w->lsol[w->lns++] = e;
            w->lvalue += w->hval[0];
            sv_submod_add(w->fn, w->lst, e);
            hswap(w, 0, w->hn - 1);
            w->hn--;
            sift_down(w, 0);
            continue;
        }
        w->hval[0] = gain(w, w->lst, w->hidx[0]);
        w->hstamp[0] = w->lns;
        sift_down(w, 0);
        if ((++evals & 255) == 0 && sv_loop_poll(w->L))
            return;
    }
}

/* ================================ the solver ================================ */

static double cur_value(const ws *w)
{
    if (w->s->algorithm == DYNAMIC_ALG_LAZY_GREEDY)
        return w->lvalue;
    return w->best >= 0 ? w->g[w->best].value : 0.0;
}

static int cur_size(const ws *w)
{
    if (w->s->algorithm == DYNAMIC_ALG_LAZY_GREEDY)
        return w->lns;
    return w->best >= 0 ? w->g[w->best].ns : 0;
}

static int active_guesses(const ws *w)
{
    int c = 0;
    for (int j = 0; w->g && j < w->G; j++)
        c += w->g[j].active;
    return c;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    ws *w = ctx;
    if (cap < 7)
        return 0;
    m[0] = (sv_metric){"value", cur_value(w)};
    m[1] = (sv_metric){"queries", (double)w->queries};
    m[2] = (sv_metric){"update_queries", (double)w->upd_queries};
    m[3] = (sv_metric){"solution_size", (double)cur_size(w)};
    m[4] = (sv_metric){"alive", (double)w->n_alive};
    m[5] = (sv_metric){"rebuilds", (double)w->rebuilds};
    m[6] = (sv_metric){"guesses", (double)active_guesses(w)};
    return 7;
}

int dynamic_solve(const dynamic_problem *p, const dynamic_settings *s, const sv_monitor *mon,
                  int *solution, double *trace_value, long *trace_queries, dynamic_info *info,
                  sv_err *e)
{
    dynamic_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->tau = NAN;
    int rc;
    if ((rc = dynamic_check_settings(s, e)) != SV_OK || (rc = dynamic_check_problem(p, e)) != SV_OK)
        return rc;
    if (!solution)
        return sv_fail(e, "/problem", "no room for the solution");

    ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.s = s;
    w.fn = p->fn;
    w.n = p->fn->n;
    w.k = p->k < w.n ? p->k : w.n;
    w.eps = s->eps;
    w.G = (int)ceil(log(w.k * (1.0 + w.eps)) / log1p(w.eps)) + 2;
    w.maxlev = (int)ceil(log(w.n + 1.0) / -log1p(-w.eps)) + w.k + 3;
    w.best = -1;
    sv_rng_seed(&w.rng, s->seed);
    if ((rc = ws_alloc(&w)) != SV_OK) {
        ws_free(&w);
        return rc;
    }

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    w.L = &L;
    long t, most = 0;
    for (t = 0; !sv_loop_check(&L, t, cur_value(&w), 0, t == p->n_updates); t++) {
        long q0 = w.queries;
        if (s->algorithm == DYNAMIC_ALG_LAZY_GREEDY) {
            const dynamic_update *u = &p->updates[t];
            set_alive(&w, u->element, u->op == DYNAMIC_INSERT);
            lazy_greedy(&w);
        } else {
            dyn_update(&w, &p->updates[t]);
        }
        w.upd_queries = w.queries - q0;
        if (w.upd_queries > most)
            most = w.upd_queries;
        if (sv_loop_stopped(&L))
            break;  /* a poll inside the update said stop: it is not counted as done */
        if (trace_value)
            trace_value[t] = cur_value(&w);
        if (trace_queries)
            trace_queries[t] = w.upd_queries;
    }
    info->value = cur_value(&w);
    info->size = cur_size(&w);
    info->alive = w.n_alive;
    info->queries = w.queries;
    info->max_update_queries = most;
    info->rebuilds = w.rebuilds;
    info->guesses = active_guesses(&w);
    if (s->algorithm == DYNAMIC_ALG_LAZY_GREEDY)
        memcpy(solution, w.lsol, sizeof(int) * (size_t)w.lns);
    else if (w.best >= 0) {
        memcpy(solution, w.g[w.best].sol, sizeof(int) * (size_t)w.g[w.best].ns);
        info->tau = w.g[w.best].tau;
    }
    sv_loop_end(&L, &info->base, t, info->value, NAN);
    ws_free(&w);
    return SV_OK;
}
