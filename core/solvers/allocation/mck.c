/* mck.c - the multiple-choice knapsack by dynamic programming over the budget (see mck.h).
 *
 * f_0(b) = 0 for every b in 0..B', and for group i (one iteration)
 *   f_{i+1}(b) = max_{j : c_ij <= b} f_i(b - c_ij) + v_ij     (-inf when no option fits),
 * so f_i(b) is the best value of the first i groups at total cost <= b, and f_n(B') the answer.
 * The option reaching each maximum is kept in an n x (B'+1) table of uint16 (2 bytes a cell),
 * from which the choice is read backwards. B' = min(B, sum_i max_{c_ij <= B} c_ij): a budget
 * beyond what every group's dearest option costs buys nothing more.
 *
 * A group is computed budget-tile by budget-tile: 16 consecutive cells b, every option j, the
 * running maxima and their option held in registers, so each cell is read from f_i once per
 * option and written once (the per-option sweeps over whole rows that numpy does read and write
 * three rows per option). Tiles where an option starts to fit (b < c_ij < b + 16; flagged in a
 * byte row) and the row's end go cell by cell. On x86-64 with AVX2 (checked at run time) the
 * tiles use 4-wide vectors; elsewhere the same tiles run scalar. Both paths add the same numbers
 * in the same order and break ties the same way (strict >, options in their order: the lowest
 * index wins), so their results are bit-identical. */
#include "core/solvers/allocation/mck.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MCK_HAVE_AVX2 1
#endif

const sv_param_spec mck_params[] = {
    SV_P_INT(mck_settings, max_budget, 1, 1e9, MCK_DEFAULT_MAX_BUDGET,
             "largest budget (in cost units, after capping it at the sum of every group's "
             "dearest option) the DP accepts; its two rows take 16 bytes per budget unit"),
    SV_P_INT(mck_settings, max_cells, 1, 1e10, MCK_DEFAULT_MAX_CELLS,
             "largest groups * (budget + 1) accepted: the choice table, 2 bytes a cell"),
    SV_P_BOOL(mck_settings, simd, 1,
              "run the budget tiles on 4-wide AVX2 vectors when the CPU has them (the result "
              "is bit-identical either way)"),
    SV_CONTROL_PARAMS(mck_settings, ctl, 0,
                      "unused: the DP is exact and ends solved after the last group",
                      1000000000L, MCK_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void mck_settings_default(mck_settings *s)
{
    sv_params_defaults(mck_params, s);
}

int mck_check_settings(const mck_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(mck_params, s, "/params", e);
}

/* ================================ validation ================================ */

/* The cheapest choice (saturated at LONG_MAX) and B' (at budget), without overflow. */
static void budget_bounds(const mck_problem *p, long *min_cost, long *bp)
{
    long lo = 0, hi = 0, B = p->budget;
    for (int i = 0; i < p->n; i++) {
        long cmin = -1, cmax = 0;
        for (int t = p->ptr[i]; t < p->ptr[i + 1]; t++) {
            long c = p->cost[t];
            if (cmin < 0 || c < cmin)
                cmin = c;
            if (c <= B && c > cmax)
                cmax = c;
        }
        lo = cmin > LONG_MAX - lo ? LONG_MAX : lo + cmin;
        hi = cmax > B - hi ? B : hi + cmax;
    }
    *min_cost = lo;
    *bp = hi;
}

int mck_check_problem(const mck_problem *p, const mck_settings *s, sv_err *e)
{
    if (!p || p->n < 1 || !p->ptr || !p->cost || !p->value)
        return sv_fail(e, "/problem", "at least one group of options is required");
    if (p->budget < 0)
        return sv_fail(e, "/problem/budget", "must be >= 0, got %ld", p->budget);
    char path[96];
    if (p->ptr[0] != 0)
        return sv_fail(e, "/problem/groups", "offsets must start at 0");
    for (int i = 0; i < p->n; i++) {
        int m = p->ptr[i + 1] - p->ptr[i];
        snprintf(path, sizeof path, "/problem/groups/%d", i);
        if (m < 1)
            return sv_fail(e, path, "group %d has no option (give at least one; an option of "
                           "cost 0 and value 0 stands for \"nothing\")", i);
        if (m > MCK_MAX_OPTIONS)
            return sv_fail(e, path, "group %d has %d options, the limit is %d", i, m,
                           MCK_MAX_OPTIONS);
        for (int t = p->ptr[i]; t < p->ptr[i + 1]; t++) {
            if (p->cost[t] < 0) {
                snprintf(path, sizeof path, "/problem/groups/%d/%d/cost", i, t - p->ptr[i]);
                return sv_fail(e, path, "must be >= 0, got %ld", p->cost[t]);
            }
            if (!isfinite(p->value[t])) {
                snprintf(path, sizeof path, "/problem/groups/%d/%d/value", i, t - p->ptr[i]);
                return sv_fail(e, path, "must be a finite number");
            }
        }
    }
    long lo, bp;
    budget_bounds(p, &lo, &bp);
    if (lo > p->budget)
        return SV_OK;  /* infeasible: a status, not an input error */
    if (bp > s->max_budget)
        return sv_fail(e, "/problem/budget", "the budget of %ld cost units (capped at the sum "
                       "of the dearest options) exceeds max_budget = %ld: raise "
                       "/params/max_budget or use a coarser cost grid", bp, s->max_budget);
    double cells = (double)p->n * ((double)bp + 1.0);
    if (cells > (double)s->max_cells)
        return sv_fail(e, "/problem/budget", "groups * (budget + 1) = %.0f table cells exceed "
                       "max_cells = %ld: raise /params/max_cells or use a coarser cost grid",
                       cells, s->max_cells);
    return SV_OK;
}

/* ================================ workspace ================================ */

typedef struct {
    const mck_problem *p;
    sv_loop *L;
    long bp;          /* B' */
    size_t row;       /* B' + 1 */
    double *prev;     /* f_i */
    double *cur;      /* f_{i+1} */
    uint16_t *table;  /* n rows of B' + 1 */
    size_t *oc;       /* the fitting options of one group (cost <= B'), in order: costs, */
    double *ov;       /* values */
    double *oi;       /* and indices within the group */
    unsigned char *starts;  /* row + 16 bytes: 1 where a fitting option's cost lies */
    int avx2;         /* the vector tiles may run */
    long options;     /* options swept so far */
    double cells;     /* cell updates so far */
} mck_ws;

#define TILE 16

static void ws_free(mck_ws *w)
{
    free(w->prev);
    free(w->cur);
    free(w->table);
    free(w->oc);
    free(w->ov);
    free(w->oi);
    free(w->starts);
}

static int ws_alloc(mck_ws *w)
{
    const mck_problem *p = w->p;
    int mmax = 1;
    for (int i = 0; i < p->n; i++)
        if (p->ptr[i + 1] - p->ptr[i] > mmax)
            mmax = p->ptr[i + 1] - p->ptr[i];
    w->prev = malloc(w->row * sizeof *w->prev);
    w->cur = malloc(w->row * sizeof *w->cur);
    w->table = malloc((size_t)p->n * w->row * sizeof *w->table);
    w->oc = malloc((size_t)mmax * sizeof *w->oc);
    w->ov = malloc((size_t)mmax * sizeof *w->ov);
    w->oi = malloc((size_t)mmax * sizeof *w->oi);
    w->starts = calloc(w->row + TILE, 1);
    if (!w->prev || !w->cur || !w->table || !w->oc || !w->ov || !w->oi || !w->starts) {
        ws_free(w);
        return SV_ENOMEM;
    }
    return SV_OK;
}

/* Cells b in [lo, hi) one by one: the options that fit, in order. */
static void cells_scalar(const mck_ws *w, int m, double *restrict cur, uint16_t *restrict dst,
                         const double *restrict prev, size_t lo, size_t hi)
{
    for (size_t b = lo; b < hi; b++) {
        double best = -INFINITY, arg = 0;
        for (int j = 0; j < m; j++) {
            if (w->oc[j] > b)
                continue;
            double cand = prev[b - w->oc[j]] + w->ov[j];
            int better = cand > best;
            best = better ? cand : best;
            arg = better ? w->oi[j] : arg;
        }
        cur[b] = best;
        dst[b] = (uint16_t)arg;
    }
}

/* One tile of TILE cells from b, every option with cost <= b (the others fit nowhere in it). */
static void tile_scalar(const mck_ws *w, int m, double *restrict cur, uint16_t *restrict dst,
                        const double *restrict prev, size_t b)
{
    double best[TILE], arg[TILE];
    for (int k = 0; k < TILE; k++) {
        best[k] = -INFINITY;
        arg[k] = 0;
    }
    for (int j = 0; j < m; j++) {
        if (w->oc[j] > b)
            continue;
        const double *src = prev + (b - w->oc[j]);
        double v = w->ov[j], t = w->oi[j];
        for (int k = 0; k < TILE; k++) {
            double cand = src[k] + v;
            int better = cand > best[k];
            best[k] = better ? cand : best[k];
            arg[k] = better ? t : arg[k];
        }
    }
    for (int k = 0; k < TILE; k++) {
        cur[b + k] = best[k];
        dst[b + k] = (uint16_t)arg[k];
    }
}

#ifdef MCK_HAVE_AVX2
/* tile_scalar with four vectors of four cells. max(p, best) is p > best ? p : best, the scalar
 * rule; the option follows the same comparison. */
#define MCK_STEP(q)                                                                          \
    do {                                                                                     \
        __m256d p_ = _mm256_add_pd(_mm256_loadu_pd(src + 4 * (q)), v);                       \
        __m256d gt_ = _mm256_cmp_pd(p_, b##q, _CMP_GT_OQ);                                   \
        b##q = _mm256_max_pd(p_, b##q);                                                      \
        a##q = _mm256_blendv_pd(a##q, t, gt_);                                               \
    } while (0)

__attribute__((target("avx2"))) static void tile_avx2(const mck_ws *w, int m,
                                                      double *restrict cur,
                                                      uint16_t *restrict dst,
                                                      const double *restrict prev, size_t b)
{
    __m256d b0 = _mm256_set1_pd(-INFINITY), b1 = b0, b2 = b0, b3 = b0;
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j < m; j++) {
        if (w->oc[j] > b)
            continue;
        const double *src = prev + (b - w->oc[j]);
        __m256d v = _mm256_set1_pd(w->ov[j]), t = _mm256_set1_pd(w->oi[j]);
        MCK_STEP(0);
        MCK_STEP(1);
        MCK_STEP(2);
        MCK_STEP(3);
    }
    double arg[TILE];
    _mm256_storeu_pd(cur + b, b0);
    _mm256_storeu_pd(cur + b + 4, b1);
    _mm256_storeu_pd(cur + b + 8, b2);
    _mm256_storeu_pd(cur + b + 12, b3);
    _mm256_storeu_pd(arg, a0);
    _mm256_storeu_pd(arg + 4, a1);
    _mm256_storeu_pd(arg + 8, a2);
    _mm256_storeu_pd(arg + 12, a3);
    for (int k = 0; k < TILE; k++)
        dst[b + k] = (uint16_t)arg[k];
}
#endif

/* 1 when a fitting option's cost lies in (b, b + TILE): the tile must go cell by cell. */
static int tile_has_start(const unsigned char *starts, size_t b)
{
    for (int k = 1; k < TILE; k++)
        if (starts[b + (size_t)k])
            return 1;
    return 0;
}

/* One iteration: f_{i+1} into w->cur and group i's row of the table. Returns 1 when a poll
 * said stop (the row is then incomplete and the loop ends). */
static int dp_group(mck_ws *w, int i)
{
    const mck_problem *p = w->p;
    int m = 0;
    for (int t = p->ptr[i]; t < p->ptr[i + 1]; t++) {
        if (p->cost[t] > w->bp)
            continue;
        w->oc[m] = (size_t)p->cost[t];
        w->ov[m] = p->value[t];
        w->oi[m] = (double)(t - p->ptr[i]);
        w->starts[w->oc[m]] = 1;
        m++;
    }
    double *cur = w->cur;
    const double *prev = w->prev;
    uint16_t *dst = w->table + (size_t)i * w->row;
    size_t b = 0;
    int stop = 0;
    for (long tiles = 1; b + TILE <= w->row; b += TILE, tiles++) {
        if (tile_has_start(w->starts, b))
            cells_scalar(w, m, cur, dst, prev, b, b + TILE);
#ifdef MCK_HAVE_AVX2
        else if (w->avx2)
            tile_avx2(w, m, cur, dst, prev, b);
#endif
        else
            tile_scalar(w, m, cur, dst, prev, b);
        if ((tiles & 1023) == 0 && sv_loop_poll(w->L)) {
            stop = 1;
            break;
        }
    }
    if (!stop)
        cells_scalar(w, m, cur, dst, prev, b, w->row);
    for (int j = 0; j < m; j++) {
        w->starts[w->oc[j]] = 0;
        w->cells += (double)(w->row - w->oc[j]);
    }
    w->options += m;
    return stop || sv_loop_poll(w->L);
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    mck_ws *w = ctx;
    if (cap < 2)
        return 0;
    m[0] = (sv_metric){"options_swept", (double)w->options};
    m[1] = (sv_metric){"cell_updates", w->cells};
    return 2;
}

/* ================================ the solver ================================ */

int mck_solve(const mck_problem *p, const mck_settings *s, const sv_monitor *mon, int *choice,
              mck_info *info, sv_err *e)
{
    mck_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->value = NAN;
    int rc;
    if ((rc = mck_check_settings(s, e)) != SV_OK || (rc = mck_check_problem(p, s, e)) != SV_OK)
        return rc;
    long lo, bp;
    budget_bounds(p, &lo, &bp);
    info->min_cost = lo;
    if (lo > p->budget) {
        info->base.status = SV_INFEASIBLE;
        return SV_OK;
    }
    info->budget_used = bp;

    mck_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.bp = bp;
    w.row = (size_t)bp + 1;
    if ((rc = ws_alloc(&w)) != SV_OK)
        return rc;
#ifdef MCK_HAVE_AVX2
    w.avx2 = s->simd && __builtin_cpu_supports("avx2");
#endif
    for (size_t b = 0; b < w.row; b++)
        w.prev[b] = 0.0;

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    w.L = &L;
    double obj = 0.0;
    int k;
    for (k = 0;; k++) {
        obj = w.prev[bp];  /* best value of the first k groups within the whole budget */
        if (sv_loop_check(&L, k, obj, 0, k == p->n))
            break;
        if (dp_group(&w, k))
            break;
        double *tmp = w.prev;
        w.prev = w.cur;
        w.cur = tmp;
    }
    int solved = L.status == SV_SOLVED;
    if (solved) {
        long b = bp, cost = 0;
        for (int i = p->n - 1; i >= 0; i--) {
            int t = w.table[(size_t)i * w.row + (size_t)b];
            if (choice)
                choice[i] = t;
            b -= p->cost[p->ptr[i] + t];
            cost += p->cost[p->ptr[i] + t];
        }
        info->cost = cost;
        info->value = obj;
    }
    sv_loop_end(&L, &info->base, k, obj, solved ? 0.0 : NAN);
    ws_free(&w);
    return SV_OK;
}
