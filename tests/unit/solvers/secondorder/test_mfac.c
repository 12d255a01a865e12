/* test_mfac.c - the M-FAC IHVP engines (core/kernels/mfac.c), the secondorder.mfac solver and generator
 * (core/solvers/secondorder/mfac.c) and its codec (api/codecs/secondorder/mfac.c). Reference answers: LAPACK solves and
 * explicit inverses of the dampened empirical Fisher, the paper's definitions of D and B checked
 * matrix by matrix, recomputation from scratch for the sliding window, closed-form first steps,
 * hand-written SGD, the normal equations (least-squares optima, also restricted to a support). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "core/kernels/mfac.h"
#include "core/rng.h"
#include "core/solvers/secondorder/mfac.h"
#include "core/solvers/secondorder/mfac_gen.h"
#include "support/codec.h"
#include "support/numeric.h"

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

static double *random_matrix(int rows, int cols, uint64_t seed, int scaled)
{
    double *M = malloc((size_t)rows * cols * sizeof *M);
    assert_non_null(M);
    sv_rng r;
    sv_rng_seed(&r, seed);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            /* scaled: columns of different sizes, so that F is far from a multiple of I */
            M[(size_t)i * cols + j] = sv_rng_normal(&r) * (scaled ? 1.0 + 3.0 * j / cols : 1.0);
    return M;
}

/* F = lambda I + (1/m) sum_{i < n} g_i g_i' (m the capacity, n <= m rows of G), dense. */
static double *explicit_fisher(const double *G, int n, int m, int d, double lambda)
{
    double *F = calloc((size_t)d * d, sizeof *F);
    assert_non_null(F);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            for (int k = 0; k < d; k++)
                F[j * d + k] += G[(size_t)i * d + j] * G[(size_t)i * d + k] / m;
    for (int j = 0; j < d; j++)
        F[j * d + j] += lambda;
    return F;
}

/* x = F^{-1} v by LAPACK (dposv). */
static void lapack_solve(const double *G, int n, int m, int d, double lambda, const double *v,
                         double *x)
{
    double *F = explicit_fisher(G, n, m, d, lambda);
    memcpy(x, v, (size_t)d * sizeof *x);
    assert_int_equal(sv_solve_spd(d, F, x, 1), SV_OK);
    free(F);
}

static double rel_err(int n, const double *x, const double *ref)
{
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        num += (x[i] - ref[i]) * (x[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

/* The least-squares minimiser over the columns with keep[j] != 0 (others zero), ridge lambda,
 * f = |A x - b|^2 / (2 rows) + lambda |x|^2 / 2, from the normal equations. */
static void restricted_lsq(const sv_mat *A, const double *b, double lambda, const int *keep,
                           double *x)
{
    const int n = A->rows, d = A->cols;
    int *idx = malloc((size_t)d * sizeof *idx), k = 0;
    for (int j = 0; j < d; j++)
        if (keep[j])
            idx[k++] = j;
    double *H = calloc((size_t)k * k, sizeof *H), *r = calloc((size_t)k, sizeof *r);
    for (int i = 0; i < n; i++) {
        const double *a = A->dense.data + (size_t)i * d;
        for (int p = 0; p < k; p++) {
            r[p] += a[idx[p]] * b[i] / n;
            for (int q = 0; q < k; q++)
                H[p * k + q] += a[idx[p]] * a[idx[q]] / n;
        }
    }
    for (int p = 0; p < k; p++)
        H[p * k + p] += lambda;
    if (k > 0)
        assert_int_equal(sv_solve_spd(k, H, r, 1), SV_OK);
    sv_zero(d, x);
    for (int p = 0; p < k; p++)
        x[idx[p]] = r[p];
    free(idx);
    free(H);
    free(r);
}

static void optimum(const mfac_instance *inst, double *x)
{
    int *all = malloc((size_t)inst->A.cols * sizeof *all);
    for (int j = 0; j < inst->A.cols; j++)
        all[j] = 1;
    restricted_lsq(&inst->A, inst->b, inst->glm.lambda, all, x);
    free(all);
}

static void gen(mfac_instance *inst, int rows, int dim, sv_loss loss, double condition,
                double correlation, uint64_t seed)
{
    mfac_gen_spec spec = {rows, dim, loss, 0.0, condition, correlation, 0.1, seed};
    sv_err e;
    assert_int_equal(mfac_generate(&spec, inst, &e), SV_OK);
}

static double value(const mfac_instance *inst, const double *x)
{
    double *work = malloc((size_t)inst->A.rows * sizeof *work);
    double f = sv_glm_value(&inst->glm, x, NULL, work);
    free(work);
    return f;
}

/* ============================================================================================
 * Static algorithm
 * ========================================================================================== */

/* The IHVP equals a LAPACK solve of (lambda I + G'G/m) x = v to 1e-10 relative, for m above and
 * below d, m not a multiple of the block size, and in place. */
static void test_static_ihvp_matches_lapack(void **state)
{
    (void)state;
    const struct { int d, m; double lambda; } cases[] = {
        {50, 70, 1e-1}, {120, 33, 1e-2}, {40, 1, 1.0}, {64, 64, 1e-3}, {7, 100, 1e-1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int d = cases[c].d, m = cases[c].m;
        double *G = random_matrix(m, d, 10 + c, 1), *v = random_matrix(1, d, 20 + c, 0);
        double *y = malloc((size_t)d * sizeof *y), *ref = malloc((size_t)d * sizeof *ref);
        sv_mfac_static s;
        assert_int_equal(sv_mfac_static_init(&s, d, m, cases[c].lambda), SV_OK);
        assert_int_equal(sv_mfac_static_build(&s, G), SV_OK);
        assert_int_equal(s.built, 1);
        sv_mfac_static_ihvp(&s, v, y);
        lapack_solve(G, m, m, d, cases[c].lambda, v, ref);
        double err = rel_err(d, y, ref);
        if (!(err <= 1e-10))
            fail_msg("d %d m %d: relative error %g", d, m, err);
        sv_mfac_static_ihvp(&s, v, v);  /* in place */
        assert_true(rel_err(d, v, ref) <= 1e-10);
        /* The first Sherman-Morrison vector is v_0 = g_0 / lambda exactly. */
        for (int j = 0; j < d; j++)
            assert_true(fabs(s.V[j] - G[j] / cases[c].lambda) <= 1e-15 * fabs(G[j] / cases[c].lambda));
        sv_mfac_static_free(&s);
        sv_mfac_static_free(&s);  /* twice is safe */
        free(G);
        free(v);
        free(y);
        free(ref);
    }
}

/* Single entries [F^-1]_jk in O(m) and the whole diagonal match the explicit inverse. */
static void test_static_entries_match_inverse(void **state)
{
    (void)state;
    const int d = 30, m = 45;
    const double lambda = 0.05;
    double *G = random_matrix(m, d, 3, 1);
    double *F = explicit_fisher(G, m, m, d, lambda);
    double *Finv = calloc((size_t)d * d, sizeof *Finv);
    for (int j = 0; j < d; j++)
        Finv[j * d + j] = 1.0;
    assert_int_equal(sv_solve_spd(d, F, Finv, d), SV_OK);
    double scale = 0;
    for (int i = 0; i < d * d; i++)
        scale = fmax(scale, fabs(Finv[i]));

    sv_mfac_static s;
    assert_int_equal(sv_mfac_static_init(&s, d, m, lambda), SV_OK);
    assert_int_equal(sv_mfac_static_build(&s, G), SV_OK);
    double worst = 0, diag[30];
    for (int j = 0; j < d; j++)
        for (int k = 0; k < d; k++)
            worst = fmax(worst, fabs(sv_mfac_static_inv_entry(&s, j, k) - Finv[j * d + k]));
    if (!(worst <= 1e-10 * scale))
        fail_msg("entries off by %g (scale %g)", worst, scale);
    sv_mfac_static_inv_diag(&s, diag);
    for (int j = 0; j < d; j++) {
        assert_true(fabs(diag[j] - Finv[j * d + j]) <= 1e-10 * scale);
        assert_true(diag[j] == sv_mfac_static_inv_entry(&s, j, j) ||
                    fabs(diag[j] - sv_mfac_static_inv_entry(&s, j, j)) <= 1e-14 * scale);
    }
    /* Rebuilding with other gradients reuses the allocation. */
    double *G2 = random_matrix(m, d, 4, 0), v[30], y[30], ref[30];
    for (int j = 0; j < d; j++)
        v[j] = 1.0 / (j + 1);
    assert_int_equal(sv_mfac_static_build(&s, G2), SV_OK);
    sv_mfac_static_ihvp(&s, v, y);
    lapack_solve(G2, m, m, d, lambda, v, ref);
    assert_true(rel_err(d, y, ref) <= 1e-10);
    sv_mfac_static_free(&s);
    free(G);
    free(G2);
    free(F);
    free(Finv);
}

static void test_init_errors(void **state)
{
    (void)state;
    sv_mfac_static s;
    sv_mfac_window w;
    assert_int_equal(sv_mfac_static_init(&s, 0, 3, 1.0), SV_EINVAL);
    assert_int_equal(sv_mfac_static_init(&s, 3, 0, 1.0), SV_EINVAL);
    assert_int_equal(sv_mfac_static_init(&s, 3, 3, 0.0), SV_EINVAL);
    assert_int_equal(sv_mfac_static_init(&s, 3, 3, NAN), SV_EINVAL);
    assert_null(s.V);
    assert_int_equal(sv_mfac_window_init(&w, 3, 0, 1.0), SV_EINVAL);
    assert_int_equal(sv_mfac_window_init(&w, 3, 3, -1.0), SV_EINVAL);
    assert_null(w.G);
    sv_mfac_window_free(&w);
    sv_mfac_window_free(NULL);
    sv_mfac_static_free(NULL);
    assert_true(sv_mfac_static_bytes(100, 10) == 8.0 * (1000 + 10 * (1 + SV_MFAC_BLOCK)));
    assert_true(sv_mfac_window_bytes(100, 10) == 8.0 * (1000 + 400 + 20));
}

/* ============================================================================================
 * Dynamic (sliding-window) algorithm
 * ========================================================================================== */

/* With m gradients pushed into an empty window, slot i holds g_i, and the matrices the paper's
 * dynamic algorithm keeps follow their definitions: D_ij = g_i' F_{i-1}^{-1} g_j (j >= i, from
 * explicit F_{i-1}), denom_i = m + D_ii, and v_i = sum_j B_ij g_j equals the static algorithm's
 * Sherman-Morrison vector. The IHVP matches LAPACK. */
static void test_window_matches_paper_definitions(void **state)
{
    (void)state;
    const int d = 10, m = 6;
    const double lambda = 0.3;
    double *G = random_matrix(m, d, 7, 1);
    sv_mfac_window w;
    assert_int_equal(sv_mfac_window_init(&w, d, m, lambda), SV_OK);
    for (int i = 0; i < m; i++)
        assert_int_equal(sv_mfac_window_push(&w, G + (size_t)i * d), SV_OK);
    assert_int_equal(w.count, m);
    assert_int_equal(w.next, 0);

    double Fg[10];
    for (int i = 0; i < m; i++) {
        for (int j = i; j < m; j++) {
            lapack_solve(G, i, m, d, lambda, G + (size_t)j * d, Fg);  /* F_{i-1}^{-1} g_j */
            double Dij = sv_dot(d, G + (size_t)i * d, Fg);
            double got = j == i ? w.denom[i] - m : w.U[i * m + j] * w.denom[i];
            if (!(fabs(got - Dij) <= 1e-11 * (1 + fabs(Dij))))
                fail_msg("D[%d][%d] = %g, expected %g", i, j, got, Dij);
        }
    }
    sv_mfac_static s;
    assert_int_equal(sv_mfac_static_init(&s, d, m, lambda), SV_OK);
    assert_int_equal(sv_mfac_static_build(&s, G), SV_OK);
    double vscale = 0;
    for (int i = 0; i < m * d; i++)
        vscale = fmax(vscale, fabs(s.V[i]));
    for (int i = 0; i < m; i++) {
        assert_true(fabs(w.denom[i] - s.denom[i]) <= 1e-12 * s.denom[i]);
        for (int j = 0; j < d; j++) {
            double v = 0;
            for (int k = 0; k <= i; k++)
                v += w.B[i * m + k] * G[(size_t)k * d + j];
            assert_true(fabs(v - s.V[(size_t)i * d + j]) <= 1e-11 * vscale);
        }
        for (int k = i + 1; k < m; k++)
            assert_true(w.B[i * m + k] == 0.0);  /* B is lower triangular */
    }
    double x[10], y[10], ref[10];
    for (int j = 0; j < d; j++)
        x[j] = sin(j + 1.0);
    sv_mfac_window_ihvp(&w, x, y);
    lapack_solve(G, m, m, d, lambda, x, ref);
    assert_true(rel_err(d, y, ref) <= 1e-10);
    sv_mfac_window_ihvp(&w, x, x);
    assert_true(rel_err(d, x, ref) <= 1e-10);
    sv_mfac_static_free(&s);
    sv_mfac_window_free(&w);
    free(G);
}

/* The window after any sequence of adds (with the oldest dropped once full) and removals gives
 * the IHVP of recomputation from scratch over the gradients it holds: a fresh window fed the
 * same gradients, and a LAPACK solve; the empty window is lambda I. Also with relative
 * dampening, against a static engine built with the lambda it implies. */
static void test_window_sliding_equals_recompute(void **state)
{
    (void)state;
    const int d = 40, m = 8, total = 21;
    const double lambda = 0.02;
    double *G = random_matrix(total, d, 11, 1), *v = random_matrix(1, d, 12, 0);
    double y[40], y2[40], ref[40];
    sv_mfac_window w, fresh;
    assert_int_equal(sv_mfac_window_init(&w, d, m, lambda), SV_OK);

    sv_mfac_window_ihvp(&w, v, y);
    for (int j = 0; j < d; j++)
        assert_true(fabs(y[j] - v[j] / lambda) <= 1e-15 * fabs(v[j] / lambda));
    assert_int_equal(sv_mfac_window_pop(&w), SV_OK);  /* empty: nothing happens */
    assert_int_equal(w.count, 0);

    int first = 0, held = 0;  /* the window holds gradients first .. first + held - 1 */
    for (int t = 0; t < total + 5; t++) {
        if (t < total) {
            assert_int_equal(sv_mfac_window_push(&w, G + (size_t)t * d), SV_OK);
            if (held == m)
                first++;
            else
                held++;
        } else {
            assert_int_equal(sv_mfac_window_pop(&w), SV_OK);
            first++;
            held--;
        }
        assert_int_equal(w.count, held);
        sv_mfac_window_ihvp(&w, v, y);
        lapack_solve(G + (size_t)first * d, held, m, d, lambda, v, ref);
        double err = rel_err(d, y, ref);
        if (!(err <= 1e-10))
            fail_msg("after step %d: relative error %g against LAPACK", t, err);
        assert_int_equal(sv_mfac_window_init(&fresh, d, m, lambda), SV_OK);
        for (int i = 0; i < held; i++)
            assert_int_equal(sv_mfac_window_push(&fresh, G + (size_t)(first + i) * d), SV_OK);
        sv_mfac_window_ihvp(&fresh, v, y2);
        assert_true(rel_err(d, y, y2) <= 1e-10);
        sv_mfac_window_free(&fresh);
    }
    assert_int_equal(held, m - 5);

    /* Normalised by the count held: F = lambda I + (1/n) sum of the n held gradients. */
    sv_mfac_window_clear(&w);
    for (int t = 0; t < 3; t++)
        assert_int_equal(sv_mfac_window_push(&w, G + (size_t)t * d), SV_OK);
    assert_int_equal(sv_mfac_window_normalize_by_count(&w, 1), SV_OK);
    sv_mfac_window_ihvp(&w, v, y);
    lapack_solve(G, 3, 3, d, lambda, v, ref);
    assert_true(rel_err(d, y, ref) <= 1e-10);
    for (int t = 3; t < 13; t++)  /* past the capacity: n = m again */
        assert_int_equal(sv_mfac_window_push(&w, G + (size_t)t * d), SV_OK);
    sv_mfac_window_ihvp(&w, v, y);
    lapack_solve(G + 5 * (size_t)d, m, m, d, lambda, v, ref);
    assert_true(rel_err(d, y, ref) <= 1e-10);
    assert_int_equal(sv_mfac_window_normalize_by_count(&w, 0), SV_OK);
    sv_mfac_window_clear(&w);

    /* push_many is n pushes with one factorisation: into a partly filled window, and more rows
     * than the capacity (only the last m stay, in the slots single pushes give them). */
    for (int start = 0; start < 2; start++) {
        const int n = start ? 13 : 5;
        sv_mfac_window single;
        assert_int_equal(sv_mfac_window_init(&single, d, m, lambda), SV_OK);
        assert_int_equal(sv_mfac_window_init(&fresh, d, m, lambda), SV_OK);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(sv_mfac_window_push(&single, G + (size_t)i * d), SV_OK);
            assert_int_equal(sv_mfac_window_push(&fresh, G + (size_t)i * d), SV_OK);
        }
        for (int i = 0; i < n; i++)
            assert_int_equal(sv_mfac_window_push(&single, G + (size_t)(3 + i) * d), SV_OK);
        assert_int_equal(sv_mfac_window_push_many(&fresh, G + 3 * (size_t)d, n), SV_OK);
        assert_int_equal(fresh.count, single.count);
        assert_int_equal(fresh.next, single.next);
        assert_memory_equal(fresh.G, single.G, (size_t)m * d * sizeof(double));
        sv_mfac_window_ihvp(&single, v, y);
        sv_mfac_window_ihvp(&fresh, v, y2);
        assert_true(rel_err(d, y2, y) <= 1e-12);
        sv_mfac_window_free(&single);
        sv_mfac_window_free(&fresh);
    }

    /* clear: back to lambda I */
    sv_mfac_window_clear(&w);
    sv_mfac_window_ihvp(&w, v, y);
    for (int j = 0; j < d; j++)
        assert_true(fabs(y[j] - v[j] / lambda) <= 1e-15 * fabs(v[j] / lambda));
    assert_int_equal(w.count, 0);

    /* Relative dampening: lambda follows the mean diagonal of the held gradients' Fisher term. */
    const double rel = 0.1;
    sv_mfac_window_set_relative(&w, rel);
    assert_true(w.lambda == rel);
    for (int t = 0; t < 11; t++)
        assert_int_equal(sv_mfac_window_push(&w, G + (size_t)t * d), SV_OK);
    const double lam = rel * sv_mfac_mean_diag(G + 3 * (size_t)d, m, d);  /* holds 3 .. 10 */
    assert_true(fabs(w.lambda - lam) <= 1e-13 * lam);
    sv_mfac_window_ihvp(&w, v, y);
    lapack_solve(G + 3 * (size_t)d, m, m, d, lam, v, ref);
    assert_true(rel_err(d, y, ref) <= 1e-10);
    sv_mfac_static s;
    assert_int_equal(sv_mfac_static_init(&s, d, m, lam), SV_OK);
    assert_int_equal(sv_mfac_static_build(&s, G + 3 * (size_t)d), SV_OK);
    sv_mfac_static_ihvp(&s, v, y2);
    assert_true(rel_err(d, y, y2) <= 1e-10);
    /* Scaling every gradient by c scales F by c^2 under relative dampening: IHVP / c^2. */
    sv_mfac_window_clear(&w);
    for (int t = 3; t < 11; t++) {
        double g[40];
        for (int j = 0; j < d; j++)
            g[j] = 1e3 * G[(size_t)t * d + j];
        assert_int_equal(sv_mfac_window_push(&w, g), SV_OK);
    }
    sv_mfac_window_ihvp(&w, v, y2);
    for (int j = 0; j < d; j++)
        y2[j] *= 1e6;
    assert_true(rel_err(d, y2, y) <= 1e-9);
    sv_mfac_static_free(&s);
    sv_mfac_window_free(&w);
    free(G);
    free(v);
}

/* ============================================================================================
 * Solver: optimize
 * ========================================================================================== */

static mfac_settings optimize_settings(int precond, double lr, long steps)
{
    mfac_settings s;
    mfac_settings_default(&s);
    s.precond = precond;
    s.lr = lr;
    s.ctl.max_iter = steps;
    s.ctl.report_every = steps > 0 ? steps : 1;
    return s;
}

/* The first M-FAC step from a full gradient g has the closed form: the window holds g alone, and
 * the solver normalises F by the gradients held, so F = lambda I + g g' with lambda =
 * damp |g|^2 / d and F^{-1} g = g / (lambda + |g|^2); x1 = x0 - lr (1 - beta) F^{-1} g. Plain SGD
 * with momentum follows a hand-written loop. */
static void test_first_step_and_plain_sgd(void **state)
{
    (void)state;
    mfac_instance inst;
    gen(&inst, 40, 6, SV_LOSS_LOGISTIC, 10.0, 0.2, 5);
    const int d = 6, m = 16;
    double x0[6] = {0.1, -0.2, 0.3, 0.0, 0.5, -0.1}, x[6], g[6], work[40];
    sv_glm_value(&inst.glm, x0, g, work);
    const double gg = sv_dot(d, g, g), damp = 0.3, lr = 0.05, beta = 0.25;
    const double lambda = damp * gg / d;

    mfac_settings s = optimize_settings(MFAC_PRECOND_MFAC, lr, 1);
    s.window = m;
    s.damp = damp;
    s.momentum = beta;
    s.batch_size = 0;
    mfac_problem p = {&inst.glm};
    mfac_info info;
    memcpy(x, x0, sizeof x);
    assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_int_equal(info.base.iter, 1);
    assert_int_equal(info.window_updates, 1);
    assert_int_equal(info.ihvp_count, 1);
    for (int j = 0; j < d; j++) {
        double expect = x0[j] - lr * (1 - beta) * g[j] / (lambda + gg);
        assert_true(fabs(x[j] - expect) <= 1e-14 * (1 + fabs(expect)));
    }
    /* The same with absolute dampening. */
    s.damp_relative = 0;
    memcpy(x, x0, sizeof x);
    assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    for (int j = 0; j < d; j++) {
        double expect = x0[j] - lr * (1 - beta) * g[j] / (damp + gg);
        assert_true(fabs(x[j] - expect) <= 1e-14 * (1 + fabs(expect)));
    }

    /* Plain SGD with momentum on full gradients, constant and cosine schedules. */
    for (int kind = 0; kind < 2; kind++) {
        const long T = 25;
        s = optimize_settings(MFAC_PRECOND_NONE, 0.7, T);
        s.momentum = 0.5;
        s.batch_size = 0;
        s.schedule.kind = kind ? SV_SCHEDULE_COSINE : SV_SCHEDULE_CONSTANT;
        double xr[6], v[6] = {0};
        memcpy(xr, x0, sizeof xr);
        for (long t = 0; t < T; t++) {
            sv_glm_value(&inst.glm, xr, g, work);
            for (int j = 0; j < d; j++) {
                v[j] = 0.5 * v[j] + 0.5 * g[j];
                xr[j] -= sv_schedule_lr(&s.schedule, 0.7, t, T) * v[j];
            }
        }
        memcpy(x, x0, sizeof x);
        assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
        assert_int_equal(info.base.iter, T);
        assert_int_equal(info.ihvp_count, 0);
        assert_true(sv_test_max_abs_diff(d, x, xr) <= 1e-13);
        assert_true(fabs(info.base.obj - value(&inst, x)) <= 1e-15);
        assert_true(fabs(info.lr_final - sv_schedule_lr(&s.schedule, 0.7, T - 1, T)) <= 1e-16);
    }
    mfac_instance_free(&inst);
}

/* The claim: on a seeded ill-conditioned least-squares instance (feature covariance
 * condition number 1e4), M-FAC preconditioned SGD reduces the loss faster in iterations than
 * plain SGD with the same cosine schedule, mini-batches and budget, each at its best step size
 * over the same grid. Observed: gaps 1.9e-5 against 1.4e-3 (75x; M-FAC after 100 steps 3.5e-4);
 * asserted: 10x, and M-FAC with a fifth of the budget beats SGD with all of it. */
static void test_mfac_beats_sgd_ill_conditioned(void **state)
{
    (void)state;
    const int rows = 1000, d = 20;
    mfac_instance inst;
    gen(&inst, rows, d, SV_LOSS_SQUARED, 1e4, 0.0, 1);
    double xstar[20];
    optimum(&inst, xstar);
    const double zero[20] = {0};
    const double fstar = value(&inst, xstar), f0 = value(&inst, zero);
    mfac_problem p = {&inst.glm};
    const double grid[] = {1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0};
    double best[2] = {INFINITY, INFINITY}, best_short = INFINITY;
    for (int pc = 0; pc < 2; pc++)
        for (size_t k = 0; k < sizeof grid / sizeof grid[0]; k++)
            for (int shortrun = 0; shortrun < (pc == 0 ? 2 : 1); shortrun++) {
                mfac_settings s = optimize_settings(pc, grid[k], shortrun ? 100 : 500);
                double x[20] = {0};
                mfac_info info;
                assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
                if (info.base.status == SV_DIVERGED)
                    continue;
                assert_int_equal(info.base.status, SV_MAX_ITER);
                double gap = info.base.obj - fstar;
                assert_true(gap >= -1e-12);
                if (shortrun)
                    best_short = fmin(best_short, gap);
                else
                    best[pc] = fmin(best[pc], gap);
            }
    assert_true(f0 - fstar > 1.0);  /* a real distance to cover */
    if (!(best[0] * 10 <= best[1] && best_short <= best[1]))
        fail_msg("M-FAC gap %g (100 steps: %g), SGD gap %g", best[0], best_short, best[1]);
    mfac_instance_free(&inst);
}

/* Logistic regression: M-FAC drives the gradient norm down by a large factor. */
static void test_logistic_optimize(void **state)
{
    (void)state;
    mfac_instance inst;
    gen(&inst, 600, 10, SV_LOSS_LOGISTIC, 100.0, 0.3, 2);
    inst.glm.lambda = 1e-3;
    mfac_problem p = {&inst.glm};
    mfac_settings s = optimize_settings(MFAC_PRECOND_MFAC, 0.03, 600);
    s.batch_size = 64;
    double x[10] = {0};
    mfac_info info;
    assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_true(fabs(info.obj_initial - log(2.0)) <= 1e-12);
    assert_true(info.base.obj < info.obj_initial);
    double g0 = 0;
    {
        double x0[10] = {0}, g[10], work[600];
        sv_glm_value(&inst.glm, x0, g, work);
        g0 = sv_nrm2(10, g);
    }
    if (!(info.grad_norm <= 0.05 * g0))
        fail_msg("grad norm %g from %g", info.grad_norm, g0);

    /* Pruning the logistic fit: per-sample gradients l'(z; b) a, exact count, finite loss. */
    mfac_settings ps;
    mfac_settings_default(&ps);
    ps.mode = MFAC_MODE_PRUNE;
    ps.ctl.max_iter = 0;
    ps.sparsity = 0.3;
    ps.fisher_grads = 100;
    assert_int_equal(mfac_solve(&p, &ps, NULL, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(info.pruned, 3);
    assert_true(isfinite(info.obj_pruned) && info.obj_pruned < log(2.0));  /* still beats x = 0 */
    mfac_instance_free(&inst);
}

/* ============================================================================================
 * Solver: prune
 * ========================================================================================== */

static mfac_settings prune_settings(long fisher_grads, double sparsity)
{
    mfac_settings s;
    mfac_settings_default(&s);
    s.mode = MFAC_MODE_PRUNE;
    s.ctl.max_iter = 0;
    s.fisher_grads = fisher_grads;
    s.sparsity = sparsity;
    return s;
}

/* One-shot OBS pruning at 50% from the exact dense optimum of a seeded ill-conditioned
 * least-squares instance loses less than magnitude pruning of the same weights (observed loss
 * increase ratios 0.12 to 0.44 over seeds 1 to 3; asserted below 0.7 on each), with the exact
 * sparsity; the reported magnitude baseline is recomputed here. */
static void test_prune_beats_magnitude(void **state)
{
    (void)state;
    const int rows = 500, d = 40;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        mfac_instance inst;
        gen(&inst, rows, d, SV_LOSS_SQUARED, 1e3, 0.0, seed);
        double x[40], xmag[40];
        optimum(&inst, x);
        memcpy(xmag, x, sizeof x);
        const double fdense = value(&inst, x);
        double idx[40];
        assert_int_equal(sv_topk(d, d / 2, xmag, idx), SV_OK);
        const double fmag = value(&inst, xmag);

        mfac_settings s = prune_settings(64, 0.5);
        mfac_problem p = {&inst.glm};
        mfac_info info;
        assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_int_equal(info.fit_status, SV_UNSOLVED);
        assert_int_equal(info.base.iter, 0);
        assert_int_equal(info.pruned, d / 2);
        assert_int_equal(info.prune_rounds, 1);
        assert_int_equal(info.ihvp_count, 1);
        assert_true(info.sparsity == 0.5);
        int zeros = 0;
        for (int j = 0; j < d; j++)
            zeros += x[j] == 0.0;
        assert_int_equal(zeros, d / 2);
        assert_true(fabs(info.obj_dense - fdense) <= 1e-14);
        assert_true(fabs(info.obj_magnitude - fmag) <= 1e-14);
        assert_true(fabs(info.obj_pruned - value(&inst, x)) <= 1e-14);
        assert_true(info.base.obj == info.obj_pruned);
        assert_true(info.saliency > 0);
        double ratio = (info.obj_pruned - fdense) / (fmag - fdense);
        if (!(ratio < 0.7))
            fail_msg("seed %d: OBS loss %g, magnitude %g, dense %g", (int)seed, info.obj_pruned,
                     fmag, fdense);
        mfac_instance_free(&inst);
    }
}

/* Group OBS is exact on a quadratic when F is a multiple of the Hessian: the data are built so
 * that the dense optimum has residuals of constant size c (b = A x* + c s with A's = 0), so the m
 * per-sample gradients r_i a_i over all rows give F = lambda I + c^2 H. Removing a set Q then lands
 * on the least-squares optimum over the kept columns. A single removed weight gives that point
 * with either update. */
static void test_group_obs_exact_on_quadratic(void **state)
{
    (void)state;
    enum { N = 60, D = 8 };
    const double c = 0.5;
    sv_mat A;
    assert_int_equal(sv_mat_dense(&A, N, D), SV_OK);
    double b[N], sgn[N], xstar[D];
    sv_rng r;
    sv_rng_seed(&r, 99);
    for (int i = 0; i < N; i++)
        sgn[i] = sv_rng_uniform(&r) < 0.5 ? -1.0 : 1.0;
    for (int j = 0; j < D; j++) {
        double proj = 0;
        for (int i = 0; i < N; i++)
            proj += (A.dense.data[i * D + j] = sv_rng_normal(&r) * (1 + j)) * sgn[i];
        for (int i = 0; i < N; i++)
            A.dense.data[i * D + j] -= proj / N * sgn[i];
        xstar[j] = sv_rng_normal(&r);
    }
    for (int i = 0; i < N; i++)
        b[i] = sv_dot(D, A.dense.data + i * D, xstar) + c * sgn[i];
    sv_glm glm = {SV_LOSS_SQUARED, &A, b, NULL, 0.0, NULL};
    mfac_problem p = {&glm};

    for (int single = 0; single < 2; single++)
        for (int upd = 0; upd < 2; upd++) {
            if (!single && upd == MFAC_OBS_INDEPENDENT)
                continue;
            mfac_settings s = prune_settings(N, single ? 1.0 / D : 0.5);
            s.fisher_batch_size = 1;
            s.damp = 1e-7;  /* observed error 3e-10; 1e-10 gives 1e-7 (rounding ~ 1/lambda) */
            s.damp_relative = 0;
            s.obs_update = upd;
            double x[D], ref[D];
            memcpy(x, xstar, sizeof x);
            mfac_info info;
            assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
            assert_int_equal(info.pruned, single ? 1 : D / 2);
            int keep[D];
            for (int j = 0; j < D; j++)
                keep[j] = x[j] != 0.0;
            restricted_lsq(&A, b, 0.0, keep, ref);
            double err = sv_test_max_abs_diff(D, x, ref) / (1 + sv_nrminf(D, ref));
            if (!(err <= 1e-8))
                fail_msg("single %d update %d: off the restricted optimum by %g", single, upd,
                         err);
        }
    sv_mat_free(&A);
}

/* Gradual pruning: the density schedule, exact final sparsity, pruned weights held at zero
 * through fine-tuning, which lowers the loss; a fit before pruning from x0 = 0.
 *
 * The M-FAC-preconditioned pipeline is asserted only on what its trajectory cannot change
 * (counts, iterations, exact zeros). Its objectives are not: at lr 0.3 the relative-damped M-FAC
 * step is about lr / |g| along -g, so the optimum repels and a 1e-13 change of x0 grows to O(1)
 * within 150 steps; the last bits of one BLAS kernel (OPENBLAS_CORETYPE=Haswell against the
 * default) gave another fitted x, another kept support and a fine-tune 6% of the pruning gap
 * above the restricted optimum instead of 1% (seeds 0-7 over three kernels: 0.1% to 6%); see
 * docs/solvers/secondorder/mfac.md, "Reproducibility". The objective claims are asserted on
 * the same pipeline with plain SGD steps, a contraction at this step size, whose numbers agree
 * across those kernels to ten digits (fine-tune 0.03% of the gap above the optimum). */
static void test_prune_rounds_fit_and_finetune(void **state)
{
    (void)state;
    assert_int_equal(mfac_round_keep(100, 0.75, 2, 1), 50);
    assert_int_equal(mfac_round_keep(100, 0.75, 2, 2), 25);
    assert_int_equal(mfac_round_keep(10, 0.5, 3, 1), 8);   /* 10 * 0.5^(1/3) = 7.94 */
    assert_int_equal(mfac_round_keep(10, 0.5, 3, 2), 6);   /* 6.30 */
    assert_int_equal(mfac_round_keep(10, 0.5, 3, 3), 5);
    assert_int_equal(mfac_round_keep(7, 0.0, 4, 2), 7);

    const int d = 30;
    mfac_instance inst;
    gen(&inst, 400, d, SV_LOSS_SQUARED, 100.0, 0.3, 4);
    mfac_problem p = {&inst.glm};
    for (int precond = MFAC_PRECOND_MFAC; precond <= MFAC_PRECOND_NONE; precond++) {
        mfac_settings s = prune_settings(48, 0.6);
        s.precond = precond;
        s.ctl.max_iter = 400;
        s.prune_steps = 3;
        s.finetune_iter = 300;
        s.obs_update = MFAC_OBS_GROUP;
        s.ctl.report_every = 50;
        double x[30] = {0};
        mfac_info info;
        assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_int_equal(info.fit_status, SV_MAX_ITER);
        assert_int_equal(info.prune_rounds, 3);
        assert_int_equal(info.pruned, 18);
        assert_int_equal(info.base.iter, 700);
        assert_true(info.sparsity == 0.6);
        int zeros = 0;
        for (int j = 0; j < d; j++)
            zeros += x[j] == 0.0;
        assert_int_equal(zeros, 18);  /* held at exactly zero through the fine-tune */
        assert_true(isfinite(info.base.obj) && isfinite(info.obj_pruned));
        if (precond == MFAC_PRECOND_MFAC)
            continue;
        assert_true(info.obj_dense < info.obj_initial);
        assert_true(info.obj_pruned < info.obj_magnitude);
        assert_true(info.base.obj < info.obj_pruned);
        /* The fine-tuned weights sit near the optimum over the kept support. */
        int keep[30];
        double ref[30];
        for (int j = 0; j < d; j++)
            keep[j] = x[j] != 0.0;
        restricted_lsq(&inst.A, inst.b, 0.0, keep, ref);
        const double fref = value(&inst, ref);
        assert_true(info.base.obj - fref <= 0.05 * (info.obj_pruned - fref));
    }
    mfac_instance_free(&inst);
}

/* ============================================================================================
 * Monitor, cancellation, limits, validation
 * ========================================================================================== */

typedef struct {
    long stop_at;
    int stop_phase;
    int reports;
    long iters[32];
    int saw_metrics;
    double last_phase;
} monitor_log;

static int log_monitor(const sv_progress *pr, void *data)
{
    monitor_log *log = data;
    double phase = -1;
    int found = 0;
    for (int i = 0; i < pr->n_metrics; i++) {
        const char *nm = pr->metrics[i].name;
        if (strcmp(nm, "phase") == 0)
            phase = pr->metrics[i].value;
        found += strcmp(nm, "grad_norm") == 0 || strcmp(nm, "lr") == 0 ||
                 strcmp(nm, "window") == 0 || strcmp(nm, "pruned") == 0 ||
                 strcmp(nm, "phase") == 0;
    }
    log->saw_metrics = found == 5;
    log->last_phase = phase;
    if (log->reports < 32)
        log->iters[log->reports] = pr->iter;
    log->reports++;
    if (log->stop_phase >= 0)
        return phase == log->stop_phase;
    return log->stop_at >= 0 && pr->iter >= log->stop_at;
}

static void test_cancel_and_limits(void **state)
{
    (void)state;
    mfac_instance inst;
    gen(&inst, 200, 8, SV_LOSS_SQUARED, 10.0, 0.0, 6);
    mfac_problem p = {&inst.glm};

    /* A stop request at a report ends the solve there, with x the iterate of that step (a
     * constant schedule, so that the budget does not change the steps). */
    mfac_settings s = optimize_settings(MFAC_PRECOND_MFAC, 0.01, 100000);
    s.ctl.report_every = 10;
    s.schedule.kind = SV_SCHEDULE_CONSTANT;
    monitor_log log = {.stop_at = 30, .stop_phase = -1};
    sv_monitor mon = {log_monitor, &log, NULL};
    double x[8] = {0}, xref[8] = {0};
    mfac_info info, ref;
    assert_int_equal(mfac_solve(&p, &s, &mon, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 30);
    assert_int_equal(log.reports, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(log.iters[i], 10 * i);
    assert_true(log.saw_metrics);
    s.ctl.max_iter = 30;
    assert_int_equal(mfac_solve(&p, &s, NULL, xref, &ref, NULL), SV_OK);
    assert_int_equal(ref.base.status, SV_MAX_ITER);
    assert_memory_equal(x, xref, sizeof x);

    /* Cancelled during pruning (phase 1), after the fit. */
    mfac_settings ps = prune_settings(16, 0.5);
    ps.ctl.max_iter = 20;
    ps.ctl.report_every = 10;
    monitor_log plog = {.stop_at = -1, .stop_phase = 1};
    sv_monitor pmon = {log_monitor, &plog, NULL};
    sv_zero(8, x);
    assert_int_equal(mfac_solve(&p, &ps, &pmon, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.prune_rounds, 1);
    assert_int_equal(info.base.iter, 20);
    assert_true(plog.last_phase == 1.0);

    /* Time limit: at the first check. */
    s.ctl.max_iter = 1000000;
    s.ctl.time_limit_s = 1e-9;
    sv_zero(8, x);
    assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.base.iter < 1000000);

    /* tol on full gradients: solved. */
    s = optimize_settings(MFAC_PRECOND_NONE, 0.5, 100000);
    s.batch_size = 0;
    s.ctl.tol = 1e-8;
    s.schedule.kind = SV_SCHEDULE_CONSTANT;
    sv_zero(8, x);
    assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(info.grad_norm <= 1e-8);

    /* Divergence: a step far too long. */
    s.lr = 1e3;
    s.ctl.tol = 0;
    sv_zero(8, x);
    assert_int_equal(mfac_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_DIVERGED);
    assert_true(info.base.iter < 1000);
    mfac_instance_free(&inst);
}

/* The monitor's poll is read at every optimizer step and inside a pruning round (once per
 * Fisher gradient, then before each block of the static precomputation), whatever
 * report_every is: a stop at poll k ends the solve there. */
typedef struct {
    int polls, stop_at, reports;
} poller;

static int poll_count(void *data)
{
    poller *q = data;
    return ++q->polls >= q->stop_at;
}

static int count_report(const sv_progress *pr, void *data)
{
    (void)pr;
    ((poller *)data)->reports++;
    return 0;
}

static int stop_second(void *data)
{
    return ++*(int *)data >= 2;
}

static void test_poll_everywhere(void **state)
{
    (void)state;
    mfac_instance inst;
    gen(&inst, 200, 8, SV_LOSS_SQUARED, 10.0, 0.0, 6);
    mfac_problem p = {&inst.glm};
    double x[8], x0[8];
    mfac_info info;

    /* Optimizer: one poll per step; the 50th ends the solve at step 49. */
    mfac_settings s = optimize_settings(MFAC_PRECOND_MFAC, 0.01, 100000);
    s.ctl.report_every = 1000000000L;
    poller q = {0, 50, 0};
    sv_monitor mon = {count_report, &q, poll_count};
    sv_zero(8, x);
    assert_int_equal(mfac_solve(&p, &s, &mon, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 49);
    assert_int_equal(q.reports, 2);  /* iteration 0 and the final one */

    /* Pruning x0 with 64 Fisher gradients: polls 1..64 come while the gradients are formed,
     * 65 and 66 before the two blocks of the precomputation. A stop at either leaves the
     * round undone: x is x0, nothing pruned. */
    for (int stop_at = 3; stop_at <= 66; stop_at += 63) {
        mfac_settings ps = prune_settings(64, 0.5);
        for (int j = 0; j < 8; j++)
            x[j] = x0[j] = 1.0 + j;
        poller pq = {0, stop_at, 0};
        sv_monitor pmon = {count_report, &pq, poll_count};
        assert_int_equal(mfac_solve(&p, &ps, &pmon, x, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_CANCELLED);
        assert_int_equal(pq.polls, stop_at);
        assert_int_equal(info.prune_rounds, 0);
        assert_int_equal(info.pruned, 0);
        assert_memory_equal(x, x0, sizeof x);
    }
    /* Without a stop the same round polls 66 times and prunes 4 weights. */
    mfac_settings ps = prune_settings(64, 0.5);
    for (int j = 0; j < 8; j++)
        x[j] = 1.0 + j;
    poller pq = {0, 1000, 0};
    sv_monitor pmon = {count_report, &pq, poll_count};
    assert_int_equal(mfac_solve(&p, &ps, &pmon, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(pq.polls, 66);
    assert_int_equal(info.pruned, 4);

    /* The engine alone: a stop before the second block abandons the build. */
    const int d = 5, m = 2 * SV_MFAC_BLOCK;
    double *G = malloc((size_t)m * d * sizeof *G);
    assert_non_null(G);
    sv_rng rng;
    sv_rng_seed(&rng, 3);
    for (int i = 0; i < m * d; i++)
        G[i] = sv_rng_normal(&rng);
    sv_mfac_static st;
    assert_int_equal(sv_mfac_static_init(&st, d, m, 0.1), SV_OK);
    int calls = 0;
    assert_int_equal(sv_mfac_static_build_until(&st, G, stop_second, &calls), SV_MFAC_STOPPED);
    assert_int_equal(calls, 2);
    assert_int_equal(st.built, 0);
    assert_int_equal(sv_mfac_static_build_until(&st, G, NULL, NULL), SV_OK);
    assert_int_equal(st.built, 1);
    sv_mfac_static_free(&st);
    free(G);
    mfac_instance_free(&inst);
}

static void expect_bad(const mfac_problem *p, mfac_settings s, const char *field)
{
    double x[1] = {0};
    mfac_info info;
    sv_err e;
    memset(&e, 0, sizeof e);
    info.base.status = SV_SOLVED;
    int rc = mfac_solve(p, &s, NULL, x, &info, &e);
    if (rc != SV_EINVAL || strcmp(e.field, field) != 0)
        fail_msg("expected %s, got rc %d at '%s' (%s)", field, rc, e.field, e.msg);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(info.base.status, SV_UNSOLVED);
}

/* Invalid settings and problems are refused with the field named, before any allocation: the
 * problem has 2^30 columns, so the solver's workspace (six vectors of d doubles, the window of
 * m x d) could not be allocated; reaching the allocator first would end in SV_ENOMEM or an ASan
 * abort, not SV_EINVAL. */
static void test_invalid_settings(void **state)
{
    (void)state;
    static int rowptr[2] = {0, 0};
    static double b[1] = {1.0};
    sv_mat A;
    memset(&A, 0, sizeof A);
    A.kind = SV_MAT_CSR;
    A.rows = A.csr.rows = 1;
    A.cols = A.csr.cols = 1 << 30;
    A.csr.rowptr = rowptr;
    sv_glm glm = {SV_LOSS_SQUARED, &A, b, NULL, 1.0, NULL};
    mfac_problem p = {&glm};
    mfac_settings d, s;
    mfac_settings_default(&d);

    s = d; s.mode = 2;                expect_bad(&p, s, "/params/mode");
    s = d; s.precond = -1;            expect_bad(&p, s, "/params/preconditioner");
    s = d; s.window = 0;              expect_bad(&p, s, "/params/window");
    s = d; s.window = MFAC_MAX_WINDOW + 1; expect_bad(&p, s, "/params/window");
    s = d; s.damp = 0;                expect_bad(&p, s, "/params/damp");
    s = d; s.damp = INFINITY;         expect_bad(&p, s, "/params/damp");
    s = d; s.damp_relative = 2;       expect_bad(&p, s, "/params/damp_relative");
    s = d; s.lr = -1;                 expect_bad(&p, s, "/params/lr");
    s = d; s.momentum = 1.0;          expect_bad(&p, s, "/params/momentum");
    s = d; s.batch_size = -1;         expect_bad(&p, s, "/params/batch_size");
    s = d; s.fisher_batch_size = 0;   expect_bad(&p, s, "/params/fisher_batch_size");
    s = d; s.ctl.tol = NAN;               expect_bad(&p, s, "/params/tol");
    s = d; s.ctl.max_iter = -1;           expect_bad(&p, s, "/params/max_iter");
    s = d; s.ctl.time_limit_s = -1;       expect_bad(&p, s, "/params/time_limit_s");
    s = d; s.ctl.report_every = 0;        expect_bad(&p, s, "/params/report_every");
    s = d; s.sparsity = 1.0;          expect_bad(&p, s, "/params/sparsity");
    s = d; s.prune_steps = 0;         expect_bad(&p, s, "/params/prune_steps");
    s = d; s.finetune_iter = -5;      expect_bad(&p, s, "/params/finetune_iter");
    s = d; s.finetune_lr = 0;         expect_bad(&p, s, "/params/finetune_lr");
    s = d; s.fisher_grads = 0;        expect_bad(&p, s, "/params/fisher_grads");
    s = d; s.obs_update = 7;          expect_bad(&p, s, "/params/obs_update");
    s = d; s.schedule.kind = SV_SCHEDULE_UBA; s.schedule.phi = -1;
    expect_bad(&p, s, "/params/schedule/phi");
    /* Valid settings: the gradient store m x d is over its limit. */
    s = d; s.window = 1;              expect_bad(&p, s, "/params/window");
    /* The pruning Fisher's m x d store is over its limit (the window is not used). */
    A.cols = A.csr.cols = 1000000;
    s = d; s.mode = MFAC_MODE_PRUNE; s.window = 1; s.fisher_grads = 51;
    expect_bad(&p, s, "/params/fisher_grads");
    /* Group OBS removing more than MFAC_MAX_GROUP weights in a round. */
    A.cols = A.csr.cols = 10000;
    s = d; s.mode = MFAC_MODE_PRUNE; s.obs_update = MFAC_OBS_GROUP; s.window = 8;
    expect_bad(&p, s, "/params/obs_update");
    s.prune_steps = 4;  /* 10000 -> 8409: 1591 per round at most */
    s.ctl.max_iter = 0;
    s.sparsity = 0.5;
    assert_int_equal(mfac_check_settings(&s, 10000, NULL), SV_OK);

    /* Problem errors. */
    glm.lambda = -1;
    expect_bad(&p, d, "/problem/lambda");
    glm.lambda = 1;
    glm.loss = SV_LOSS_LOGISTIC;
    b[0] = 0.5;
    expect_bad(&p, d, "/problem/b/0");
    b[0] = 1.0;
    glm.loss = 5;
    expect_bad(&p, d, "/problem/loss");
    glm.loss = SV_LOSS_SQUARED;
    glm.A = NULL;
    expect_bad(&p, d, "/problem/A");
    mfac_problem none = {NULL};
    expect_bad(&none, d, "/problem");

    mfac_instance inst;
    gen(&inst, 5, 3, SV_LOSS_SQUARED, 1.0, 0.0, 1);
    mfac_problem q = {&inst.glm};
    double x[3] = {0, NAN, 0};
    mfac_info info;
    sv_err e;
    assert_int_equal(mfac_solve(&q, &d, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    assert_int_equal(mfac_solve(&q, &d, NULL, NULL, &info, &e), SV_EINVAL);
    assert_int_equal(mfac_solve(&q, &d, NULL, x, NULL, &e), SV_EINVAL);
    inst.A.dense.data[4] = INFINITY;
    x[1] = 0;
    assert_int_equal(mfac_solve(&q, &d, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/A");
    mfac_instance_free(&inst);
}

/* ============================================================================================
 * Generator
 * ========================================================================================== */

static void test_generator(void **state)
{
    (void)state;
    mfac_instance a, b2, c;
    gen(&a, 30, 5, SV_LOSS_LOGISTIC, 100.0, 0.5, 42);
    gen(&b2, 30, 5, SV_LOSS_LOGISTIC, 100.0, 0.5, 42);
    gen(&c, 30, 5, SV_LOSS_LOGISTIC, 100.0, 0.5, 43);
    assert_memory_equal(a.A.dense.data, b2.A.dense.data, 150 * sizeof(double));
    assert_memory_equal(a.b, b2.b, 30 * sizeof(double));
    assert_true(memcmp(a.A.dense.data, c.A.dense.data, 150 * sizeof(double)) != 0);
    for (int i = 0; i < 30; i++)
        assert_true(a.b[i] == 1.0 || a.b[i] == -1.0);
    assert_true(a.glm.A == &a.A && a.glm.b == a.b && a.glm.loss == SV_LOSS_LOGISTIC);
    mfac_instance_free(&a);
    mfac_instance_free(&a);
    mfac_instance_free(&b2);
    mfac_instance_free(&c);

    /* Column j has variance s_j^2 = condition^(-j/(d-1)); correlation rho between columns. */
    const int n = 20000, d = 3;
    mfac_instance h;
    mfac_gen_spec spec = {n, d, SV_LOSS_SQUARED, 0.0, 1e4, 0.36, 0.0, 8};
    assert_int_equal(mfac_generate(&spec, &h, NULL), SV_OK);
    double var[3] = {0}, cov01 = 0;
    for (int i = 0; i < n; i++) {
        const double *row = h.A.dense.data + (size_t)i * d;
        for (int j = 0; j < d; j++)
            var[j] += row[j] * row[j] / n;
        cov01 += row[0] * row[1] / n;
        /* noise 0: the targets are exactly a'x* */
        assert_true(fabs(h.b[i] - sv_dot(d, row, h.xstar)) <= 1e-12 * (1 + fabs(h.b[i])));
    }
    assert_true(fabs(var[0] - 1.0) < 0.05);
    assert_true(fabs(var[1] / 1e-2 - 1.0) < 0.05);
    assert_true(fabs(var[2] / 1e-4 - 1.0) < 0.05);
    assert_true(fabs(cov01 / sqrt(var[0] * var[1]) - 0.36) < 0.03);
    mfac_instance_free(&h);

    sv_err e;
    mfac_gen_spec bad = {10, 3, SV_LOSS_SQUARED, 0.0, 0.5, 0.0, 0.1, 1};
    assert_int_equal(mfac_generate(&bad, &h, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/condition");
    bad.condition = 1;
    bad.correlation = 1;
    assert_int_equal(mfac_generate(&bad, &h, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/correlation");
    bad.correlation = 0;
    bad.rows = 0;
    assert_int_equal(mfac_generate(&bad, &h, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/rows");
    bad.rows = 3;
    bad.noise = -1;
    assert_int_equal(mfac_generate(&bad, &h, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/noise");
}

/* ============================================================================================
 * Codec
 * ========================================================================================== */

extern const sv_codec sv_codec_mfac;

/* support/codec.h on this file's codec */
#define expect_codec_error(pb, pa, field) sv_test_codec_error(&sv_codec_mfac, pb, pa, field)
#define expect_codec_ok(pb, pa) sv_test_codec_ok(&sv_codec_mfac, pb, pa)
#define run_codec(pb, pa, mon) sv_test_codec_run(&sv_codec_mfac, pb, pa, mon)

static void test_codec_validate(void **state)
{
    (void)state;
    const char *data = "{\"A\": [[1, 2], [3, 4], [5, 7]], \"b\": [1, 2, 3], \"lambda\": 0.1,"
                       " \"x0\": [0, 1]}";
    const char *gen3 = "{\"generate\": {\"rows\": 50, \"dim\": 3, \"condition\": 100, "
                       "\"correlation\": 0.2, \"noise\": 0.5, \"seed\": 4, \"lambda\": 0.01}}";
    expect_codec_ok(data, NULL);
    expect_codec_ok(data, "{\"mode\": \"prune\", \"sparsity\": 0.5, \"obs_update\": \"group\"}");
    expect_codec_ok(gen3, "{\"schedule\": {\"kind\": \"uba\", \"phi\": 1.5}, \"damp\": null, "
                          "\"damp_relative\": false, \"preconditioner\": \"none\"}");
    expect_codec_ok("{\"A\": {\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 2], \"indices\": [0, 1],"
                    " \"data\": [1, 2]}, \"b\": [1, -1], \"loss\": \"logistic\", \"w\": [1, 2]}",
                    "{\"batch_size\": 0}");

    expect_codec_error("{}", NULL, "/problem");
    expect_codec_error("{\"A\": [[1]], \"b\": [1], \"generate\": {}}", NULL, "/problem");
    expect_codec_error("{\"A\": [[1, 2], [3]], \"b\": [1, 2]}", NULL, "/problem/A/1");
    expect_codec_error("{\"A\": [[1, 2], [3, 4]], \"b\": [1]}", NULL, "/problem/b");
    expect_codec_error("{\"A\": [[1, 2], [3, 4]], \"b\": [1, 0], \"loss\": \"logistic\"}", NULL,
                       "/problem/b/1");
    expect_codec_error("{\"A\": [[1, 2]], \"b\": [1], \"loss\": \"hinge\"}", NULL, "/problem/loss");
    expect_codec_error("{\"A\": [[1, 2]], \"b\": [1], \"w\": [-1]}", NULL, "/problem/w/0");
    expect_codec_error("{\"A\": [[1, 2]], \"b\": [1], \"lambda\": -1}", NULL, "/problem/lambda");
    expect_codec_error("{\"A\": [[1, 2]], \"b\": [1], \"mu\": 1}", NULL, "/problem/mu");
    expect_codec_error("{\"A\": [[1, 2]], \"b\": [1], \"x0\": [1]}", NULL, "/problem/x0");
    expect_codec_error("{\"generate\": {\"dim\": 3}}", NULL, "/problem/generate/rows");
    expect_codec_error("{\"generate\": {\"rows\": 3, \"dim\": 3, \"condition\": 0.5}}", NULL,
                       "/problem/generate/condition");
    expect_codec_error("{\"generate\": {\"rows\": 3, \"dim\": 3, \"correlation\": 1}}", NULL,
                       "/problem/generate/correlation");
    expect_codec_error("{\"generate\": {\"rows\": 3, \"dim\": 3, \"noise\": -1}}", NULL,
                       "/problem/generate/noise");
    expect_codec_error("{\"generate\": {\"rows\": 3, \"dim\": 3, \"size\": 1}}", NULL,
                       "/problem/generate/size");
    expect_codec_error(gen3, "{\"schedule\": {\"kind\": \"cosine\", \"z\": 1}}",
                       "/params/schedule/z");
    expect_codec_error("{\"generate\": {\"rows\": 10000, \"dim\": 10000}}", NULL,
                       "/problem/generate");
    expect_codec_error(gen3, "{\"mode\": \"train\"}", "/params/mode");
    expect_codec_error(gen3, "{\"window\": 0}", "/params/window");
    expect_codec_error(gen3, "{\"damp\": -1}", "/params/damp");
    expect_codec_error(gen3, "{\"sparsity\": 1}", "/params/sparsity");
    expect_codec_error(gen3, "{\"momentum\": 1}", "/params/momentum");
    expect_codec_error(gen3, "{\"lr\": 0}", "/params/lr");
    expect_codec_error(gen3, "{\"speed\": 0}", "/params/speed");
    expect_codec_error(gen3, "{\"schedule\": {\"kind\": \"cosine\", \"phi\": 2}}",
                       "/params/schedule/phi");
    expect_codec_error("{\"generate\": {\"rows\": 2, \"dim\": 20000}}", "{\"window\": 4000}",
                       "/params/window");
    expect_codec_error("{\"generate\": {\"rows\": 2, \"dim\": 10000}}",
                       "{\"mode\": \"prune\", \"obs_update\": \"group\", \"window\": 4}",
                       "/params/obs_update");
}

/* Explicit data: full-batch M-FAC reaches the least-squares solution; prune mode reports its
 * numbers and zeroes the requested count. */
static void test_codec_run(void **state)
{
    (void)state;
    const char *data = "{\"A\": [[1, 2], [3, 4], [5, 7], [1, -1]], \"b\": [1, 2, 3, 0.5],"
                       " \"lambda\": 0.1}";
    json_t *res = run_codec(data, "{\"batch_size\": 0, \"max_iter\": 3000, \"lr\": 0.01, "
                                  "\"tol\": 1e-9, \"schedule\": \"constant\"}", NULL);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    /* (A'A/4 + 0.1 I) x = A'b/4 */
    double H[4] = {36.0 / 4 + 0.1, 48.0 / 4, 48.0 / 4, 70.0 / 4 + 0.1};
    double r[2] = {22.5 / 4, 30.5 / 4};
    assert_int_equal(sv_solve_spd(2, H, r, 1), SV_OK);
    json_t *x = json_object_get(res, "x");
    for (int j = 0; j < 2; j++)
        assert_true(fabs(json_number_value(json_array_get(x, (size_t)j)) - r[j]) < 1e-7);
    const char *keys[] = {"iterations", "objective", "grad_norm", "objective_initial", "lr_final",
                          "ihvp_count", "window_updates", "solve_time_s"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_true(json_is_number(json_object_get(res, keys[i])));
    assert_string_equal(json_string_value(json_object_get(res, "mode")), "optimize");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(res, "schedule"), "kind")), "constant");
    assert_null(json_object_get(res, "pruning"));
    json_decref(res);

    res = run_codec("{\"generate\": {\"rows\": 300, \"dim\": 12, \"condition\": 1000, "
                    "\"seed\": 3}}", "{\"mode\": \"prune\", \"max_iter\": 300, \"sparsity\": 0.5,"
                    " \"fisher_grads\": 48}", NULL);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    json_t *pr = json_object_get(res, "pruning");
    assert_non_null(pr);
    assert_int_equal(json_integer_value(json_object_get(pr, "nonzeros")), 6);
    assert_int_equal(json_integer_value(json_object_get(pr, "pruned")), 6);
    assert_string_equal(json_string_value(json_object_get(pr, "fit_status")), "max_iter");
    assert_true(json_number_value(json_object_get(pr, "objective_pruned")) <
                json_number_value(json_object_get(pr, "objective_magnitude")));
    int zeros = 0;
    x = json_object_get(res, "x");
    for (size_t j = 0; j < json_array_size(x); j++)
        zeros += json_number_value(json_array_get(x, j)) == 0.0;
    assert_int_equal(zeros, 6);
    json_decref(res);
}

/* The catalog example is complete, is found in the registry, and solves in about a second. */
static void test_codec_example(void **state)
{
    (void)state;
    assert_true(sv_codec_find("secondorder.mfac") == &sv_codec_mfac);
    json_t *ex = sv_codec_mfac.example();
    assert_non_null(ex);
    sv_err e;
    const sv_codec_env *env = &sv_test_codec_env;
    assert_int_equal(sv_codec_mfac.validate(json_object_get(ex, "problem"),
                                            json_object_get(ex, "params"), env, &e), SV_OK);
    monitor_log log = {.stop_at = -1, .stop_phase = -1};
    sv_monitor mon = {log_monitor, &log, NULL};
    json_t *res = NULL;
    assert_int_equal(sv_codec_mfac.run(json_object_get(ex, "problem"), json_object_get(ex, "params"),
                                       env, &mon, &res, &e), SV_OK);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    json_t *pr = json_object_get(res, "pruning");
    assert_true(json_number_value(json_object_get(pr, "objective_pruned")) <
                json_number_value(json_object_get(pr, "objective_magnitude")));
    assert_true(log.reports > 2);
    json_decref(res);
    json_decref(ex);

    json_t *schema = sv_codec_params_schema(&sv_codec_mfac);
    assert_non_null(schema);
    json_t *props = json_object_get(schema, "properties");
    assert_string_equal(json_string_value(json_object_get(json_object_get(props, "schedule"),
                                                          "default")), "cosine");
    assert_true(json_is_null(json_object_get(json_object_get(props, "damp"), "default")));
    json_decref(schema);
    schema = sv_codec_mfac.problem_schema();
    assert_non_null(schema);
    json_decref(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_ihvp_matches_lapack),
        cmocka_unit_test(test_static_entries_match_inverse),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_window_matches_paper_definitions),
        cmocka_unit_test(test_window_sliding_equals_recompute),
        cmocka_unit_test(test_first_step_and_plain_sgd),
        cmocka_unit_test(test_mfac_beats_sgd_ill_conditioned),
        cmocka_unit_test(test_logistic_optimize),
        cmocka_unit_test(test_prune_beats_magnitude),
        cmocka_unit_test(test_group_obs_exact_on_quadratic),
        cmocka_unit_test(test_prune_rounds_fit_and_finetune),
        cmocka_unit_test(test_cancel_and_limits),
        cmocka_unit_test(test_poll_everywhere),
        cmocka_unit_test(test_invalid_settings),
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_codec_validate),
        cmocka_unit_test(test_codec_run),
        cmocka_unit_test(test_codec_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
