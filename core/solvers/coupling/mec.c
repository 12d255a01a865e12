/* mec.c - the greedy minimum-entropy coupling (Kocaoglu et al. 2017) and the greedy
 * deterministic EBIM encoder of MEC-B (Ebrahimi, Chen, Khisti, NeurIPS 2024).
 *
 * MEC: each marginal is a max-heap of its remaining masses. A step reads the k tops, puts
 * m = min of them on the cell of their indices and subtracts m from each top. m equals one of
 * the tops exactly, so that top becomes exactly 0 and leaves its heap: every step retires at
 * least one mass and no cell is written twice. The others shrink, and a shrunk top only needs
 * a sift-down (its key decreased), so a step costs O(k log n). The run ends when a heap is
 * empty: all mass is placed, up to the rounding of the normalisation (reported as unplaced).
 *
 * EBIM: sort p_X decreasingly, p_1 >= p_2 >= ... Start from the identity encoder (T = X,
 * H(T) = H(X)); a step merges the smallest remaining singleton p_k into the column of p_1. The
 * entropy falls by eta(a) + eta(b) - eta(a + b) <= h(a) <= h(p_2) (a = p_k <= p_2 <= 1/2, b the
 * big column; concavity of h), so the first encoder of the chain with H(T) <= R has
 * I(X;T) = H(T) > R - h(p_2) >= I* - h(p_2). With refine_last, the merge that crosses R goes
 * instead to the smallest column (a singleton p_j, j < k, or the big one) that still lands at
 * or below R: the fall eta(a) + eta(b) - eta(a + b) grows with b, so a binary search over the
 * sorted singletons finds it, and the result is never below the plain chain's. */
#include "core/solvers/coupling/mec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sv_param_spec mec_params[] = {
    SV_P_BOOL(mec_settings, refine_last, MEC_DEFAULT_REFINE_LAST,
              "EBIM: the merge that brings H(T) to R or below goes to the smallest column that "
              "still lands at or below R (never worse than the plain chain)"),
    SV_CONTROL_PARAMS(mec_settings, ctl, MEC_DEFAULT_TOL,
                      "MEC: stop once the mass not yet placed is <= tol (0: place it all); "
                      "EBIM: unused (the chain stops at H(T) <= rate)",
                      MEC_DEFAULT_MAX_ITER, MEC_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void mec_settings_default(mec_settings *s)
{
    sv_params_defaults(mec_params, s);
}

int mec_check_settings(const mec_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(mec_params, s, "/params", e);
}

/* -x log2 x, 0 at 0. */
static double eta(double x)
{
    return x > 0 ? -x * log2(x) : 0.0;
}

double mec_entropy(const double *p, int n)
{
    double h = 0;
    for (int i = 0; i < n; i++)
        h += eta(p[i]);
    return h;
}

int mec_check_marginal(const double *p, int n, const char *path, sv_err *e)
{
    if (!p || n < 1)
        return sv_fail(e, path, "needs at least one mass");
    double sum = 0;
    char at[160];
    for (int i = 0; i < n; i++) {
        if (!isfinite(p[i]) || p[i] < 0) {
            snprintf(at, sizeof at, "%s/%d", path, i);
            return sv_fail(e, at, "a mass must be a finite number >= 0, got %g", p[i]);
        }
        sum += p[i];
    }
    if (!(fabs(sum - 1.0) <= MEC_NORM_TOL))
        return sv_fail(e, path, "the masses sum to %.17g, not 1 (tolerance %g)", sum,
                       MEC_NORM_TOL);
    return SV_OK;
}

long mec_max_cells(const mec_problem *p)
{
    long c = 0;
    for (int i = 0; p && i < p->k; i++)
        c += p->n[i];
    return c;
}

/* ================================ MEC ================================ */

typedef struct {
    int n;         /* entries in the heap */
    int *h;        /* indices into val, max-heap on val */
    double *val;   /* residual masses, normalised */
} mheap;

static void sift_down(mheap *H, int at)
{
    int *h = H->h;
    const double *v = H->val;
    int x = h[at];
    for (;;) {
        int c = 2 * at + 1;
        if (c >= H->n)
            break;
        if (c + 1 < H->n && (v[h[c + 1]] > v[h[c]] || (v[h[c + 1]] == v[h[c]] && h[c + 1] < h[c])))
            c++;
        if (v[h[c]] > v[x] || (v[h[c]] == v[x] && h[c] < x)) {
            h[at] = h[c];
            at = c;
        } else {
            break;
        }
    }
    h[at] = x;
}

static void heap_build(mheap *H)
{
    for (int i = H->n / 2 - 1; i >= 0; i--)
        sift_down(H, i);
}

static void heap_pop(mheap *H)
{
    H->h[0] = H->h[--H->n];
    if (H->n > 0)
        sift_down(H, 0);
}

typedef struct {
    int k;
    mheap heap[MEC_MAX_MARGINALS];
    double entropy;  /* of the cells placed so far */
    double placed;
    long cells;
} mec_ws;

static int mec_metrics(void *ctx, sv_metric *m, int cap)
{
    const mec_ws *w = ctx;
    if (cap < 3)
        return 0;
    m[0] = (sv_metric){"entropy", w->entropy};
    m[1] = (sv_metric){"support", (double)w->cells};
    m[2] = (sv_metric){"placed_mass", w->placed};
    return 3;
}

static void mec_ws_free(mec_ws *w)
{
    for (int i = 0; i < MEC_MAX_MARGINALS; i++) {
        free(w->heap[i].h);
        free(w->heap[i].val);
    }
}

int mec_solve(const mec_problem *p, const mec_settings *s, const sv_monitor *mon,
              mec_coupling *out, mec_info *info, sv_err *e)
{
    mec_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = mec_check_settings(s, e)) != SV_OK)
        return rc;
    if (!p || p->k < 2 || p->k > MEC_MAX_MARGINALS || !p->n || !p->p)
        return sv_fail(e, "/problem/marginals", "needs 2 to %d marginals", MEC_MAX_MARGINALS);
    char path[64];
    for (int i = 0; i < p->k; i++) {
        snprintf(path, sizeof path, "/problem/marginals/%d", i);
        if ((rc = mec_check_marginal(p->p[i], p->n[i], path, e)) != SV_OK)
            return rc;
    }
    if (!out || !out->idx || !out->mass || out->cap < mec_max_cells(p))
        return sv_fail(e, "/problem", "the coupling needs room for %ld cells",
                       mec_max_cells(p));

    mec_ws w;
    memset(&w, 0, sizeof w);
    w.k = p->k;
    for (int i = 0; i < p->k; i++) {
        mheap *H = &w.heap[i];
        H->h = malloc((size_t)p->n[i] * sizeof *H->h);
        H->val = malloc((size_t)p->n[i] * sizeof *H->val);
        if (!H->h || !H->val) {
            mec_ws_free(&w);
            return SV_ENOMEM;
        }
        double sum = 0;
        for (int j = 0; j < p->n[i]; j++)
            sum += p->p[i][j];
        for (int j = 0; j < p->n[i]; j++) {
            H->val[j] = p->p[i][j] / sum;
            if (H->val[j] > 0)
                H->h[H->n++] = j;
        }
        heap_build(H);
        info->marginal_entropy[i] = mec_entropy(H->val, p->n[i]);
        if (info->marginal_entropy[i] > info->lower_bound)
            info->lower_bound = info->marginal_entropy[i];
    }

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, mec_metrics, &w);
    const int k = p->k;
    long it;
    for (it = 0;; it++) {
        int empty = 0;
        for (int i = 0; i < k; i++)
            empty |= w.heap[i].n == 0;
        double left = fmax(0.0, 1.0 - w.placed);
        if (sv_loop_check(&L, it, w.entropy, 0, empty || (s->ctl.tol > 0 && left <= s->ctl.tol)))
            break;
        double m = INFINITY;
        for (int i = 0; i < k; i++) {
            double top = w.heap[i].val[w.heap[i].h[0]];
            if (top < m)
                m = top;
        }
        int *cell = out->idx + w.cells * k;
        for (int i = 0; i < k; i++) {
            mheap *H = &w.heap[i];
            int j = H->h[0];
            cell[i] = j;
            double r = H->val[j] - m;  /* exactly 0 for the tops equal to m */
            H->val[j] = r;
            if (r > 0)
                sift_down(H, 0);
            else
                heap_pop(H);
        }
        out->mass[w.cells++] = m;
        w.entropy += eta(m);
        w.placed += m;
    }
    info->cells = w.cells;
    info->joint_entropy = w.entropy;
    info->gap = w.entropy - info->lower_bound;
    info->unplaced = fmax(0.0, 1.0 - w.placed);
    sv_loop_end(&L, &info->base, it, w.entropy, info->unplaced);
    mec_ws_free(&w);
    return SV_OK;
}

/* ================================ EBIM ================================ */

typedef struct {
    double p;
    int x;
} ranked;

static int by_mass_desc(const void *a, const void *b)
{
    const ranked *u = a, *v = b;
    if (u->p != v->p)
        return u->p > v->p ? -1 : 1;
    return (u->x > v->x) - (u->x < v->x);
}

typedef struct {
    double h_t;
    int codes;
} ebim_ws;

static int ebim_metrics(void *ctx, sv_metric *m, int cap)
{
    const ebim_ws *w = ctx;
    if (cap < 2)
        return 0;
    /* the names of the MEC task's reports, so that one job's events read like the other's */
    m[0] = (sv_metric){"entropy", w->h_t};
    m[1] = (sv_metric){"support", (double)w->codes};
    return 2;
}

/* The entropy fall of merging mass a into a column of mass b. */
static double merge_fall(double a, double b)
{
    return eta(a) + eta(b) - eta(a + b);
}

int ebim_solve(const ebim_problem *p, const mec_settings *s, const sv_monitor *mon,
               int *code, ebim_info *info, sv_err *e)
{
    ebim_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = mec_check_settings(s, e)) != SV_OK)
        return rc;
    if (!p || (rc = mec_check_marginal(p->p, p->n, "/problem/p_x", e)) != SV_OK)
        return p ? rc : sv_fail(e, "/problem", "problem missing");
    if (!(isfinite(p->rate) && p->rate >= 0))
        return sv_fail(e, "/problem/rate", "must be a finite number >= 0 (bits)");
    if (!code)
        return sv_fail(e, "/problem", "no room for the encoder");

    const int n = p->n;
    ranked *r = malloc((size_t)n * sizeof *r);
    double *col = calloc((size_t)n, sizeof *col);
    if (!r || !col) {
        free(r);
        free(col);
        return SV_ENOMEM;
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += p->p[i];
    int np = 0;  /* positive masses, ranked first */
    for (int i = 0; i < n; i++) {
        r[i] = (ranked){p->p[i] / sum, i};
        np += r[i].p > 0;
    }
    qsort(r, (size_t)n, sizeof *r, by_mass_desc);
    for (int j = 0; j < n; j++)
        code[r[j].x] = j < np ? j : 0;  /* identity; zero masses ride with the big column */
    double hx = 0;
    for (int j = 0; j < np; j++)
        hx += eta(r[j].p);
    info->h_x = hx;
    info->bound = np >= 2 ? eta(r[1].p) + eta(1.0 - r[1].p) : 0.0;

    ebim_ws w = {hx, np};
    double big = np > 0 ? r[0].p : 0.0, R = p->rate;
    int last = np;  /* positions >= last have been merged */
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, ebim_metrics, &w);
    long it;
    for (it = 0;; it++) {
        if (sv_loop_check(&L, it, w.h_t, 0, w.h_t <= R || last <= 1))
            break;
        int pos = --last;
        double a = r[pos].p, next = w.h_t - merge_fall(a, big);
        int target = 0;
        if (next <= R && s->refine_last && pos >= 2) {
            /* the singletons 1..pos-1 hold r[1].p >= ... >= r[pos-1].p: the largest j whose
             * fall still reaches R is the smallest column that does */
            double need = w.h_t - R;
            int lo = 1, hi = pos - 1, best = 0;
            while (lo <= hi) {
                int mid = lo + (hi - lo) / 2;
                if (merge_fall(a, r[mid].p) >= need) {
                    best = mid;
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
            target = best;
        }
        code[r[pos].x] = target;
        if (target == 0) {
            big += a;
            w.h_t = next;
        } else {
            w.h_t -= merge_fall(a, r[target].p);
        }
        w.codes--;
    }
    /* H(T) afresh from the encoder's columns, not the running sum */
    for (int i = 0; i < n; i++)
        col[code[i]] += p->p[i] / sum;
    w.h_t = mec_entropy(col, n);
    info->h_t = w.h_t;
    info->mi = w.h_t;
    info->codes = w.codes;
    sv_loop_end(&L, &info->base, it, w.h_t, fmax(0.0, w.h_t - R));
    free(r);
    free(col);
    return SV_OK;
}
