/* test_sketch.c - the randomized sketching solver (core/kernels/sketch.c). Reference answers: the
 * planted solution of consistent systems (and the minimum-norm solution of underdetermined
 * ones, which Kaczmarz from zero reaches), the expected step of each sketch in closed form
 * (Gower and Richtarik 2015: E[z+] - z* = (I - E[Z])(z - z*) with Z the sketched projection;
 * Kaczmarz: E[Z] = A'A / |A|_F^2; Gaussian and block sketches of an orthogonal A: E[Z] = (s/n) I),
 * estimated by averaging one step over many draws from a fixed seed, and the stop callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels/sketch.h"
#include "core/linalg.h"
#include "core/rng.h"
#include "support/numeric.h"

static void run_sketch(int rows, int cols, int kind, int size, uint64_t seed)
{
    sv_rng r;
    sv_rng_seed(&r, seed);
    double *A = malloc((size_t)rows * cols * sizeof *A), *zs = malloc((size_t)cols * sizeof *zs);
    double *rhs = malloc((size_t)rows * sizeof *rhs), *z = calloc((size_t)cols, sizeof *z);
    /* Gaussian, scaled by 1/sqrt(cols); a square one gets 2 I added so that its condition (and
     * the number of steps, which grows with |A|_F^2 / sigma_min^2) stays moderate */
    for (int i = 0; i < rows * cols; i++)
        A[i] = sv_rng_normal(&r) / sqrt(cols);
    if (rows == cols)
        for (int i = 0; i < rows; i++)
            A[(size_t)i * cols + i] += 2.0;
    for (int j = 0; j < cols; j++)
        zs[j] = sv_rng_normal(&r);
    for (int i = 0; i < rows; i++)
        rhs[i] = sv_dot(cols, A + (size_t)i * cols, zs);  /* consistent by construction */
    double bn = sv_nrm2(rows, rhs);
    sv_sketch_ws *w;
    assert_int_equal(sv_sketch_ws_new(rows, cols, kind, size, &w), SV_OK);
    sv_sketch_opts o = {kind, size, 1e-10 * bn, 5000000, NULL, NULL};
    sv_sketch_stats st;
    sv_sketch_solve(rows, cols, A, rhs, &o, &r, w, z, &st);
    if (!st.converged)
        fail_msg("sketch %d (s = %d) on %d x %d: %ld steps, residual %.3g of %.3g", kind, size,
                 rows, cols, st.iters, st.res, bn);
    assert_true(st.iters > 0);
    /* the reported residual is the true one */
    double res = 0;
    for (int i = 0; i < rows; i++) {
        double ri = sv_dot(cols, A + (size_t)i * cols, z) - rhs[i];
        res += ri * ri;
    }
    res = sqrt(res);
    assert_true(fabs(res - st.res) <= 1e-12 * bn);
    assert_true(res <= 1e-10 * bn);
    /* overdetermined or square: the solution is unique */
    if (rows >= cols)
        assert_true(sv_test_max_abs_diff(cols, z, zs) <= 1e-6 * (1 + sv_nrminf(cols, zs)));

    /* A capped run stops at max_iter and says it did not converge; resuming from its z with the
     * same stream continues to the answer. (A block of all the rows is one exact step.) */
    if (kind == SV_SKETCH_BLOCK && size >= rows)
        goto out;
    sv_zero(cols, z);
    sv_sketch_opts capped = {kind, size, 1e-10 * bn, 3, NULL, NULL};
    sv_sketch_solve(rows, cols, A, rhs, &capped, &r, w, z, &st);
    assert_int_equal(st.iters, 3);
    assert_false(st.converged);
    sv_sketch_solve(rows, cols, A, rhs, &o, &r, w, z, &st);
    assert_true(st.converged);

    /* already solved: no step */
    sv_sketch_solve(rows, cols, A, rhs, &o, &r, w, z, &st);
    assert_int_equal(st.iters, 0);
out:
    sv_sketch_ws_free(w);
    free(A);
    free(zs);
    free(rhs);
    free(z);
}

static void test_sketch_solver(void **state)
{
    (void)state;
    run_sketch(30, 30, SV_SKETCH_KACZMARZ, 1, 1);
    run_sketch(60, 25, SV_SKETCH_KACZMARZ, 1, 2);   /* overdetermined, consistent */
    run_sketch(20, 40, SV_SKETCH_KACZMARZ, 1, 3);   /* underdetermined */
    run_sketch(30, 30, SV_SKETCH_BLOCK, 5, 4);
    run_sketch(60, 25, SV_SKETCH_BLOCK, 8, 5);
    run_sketch(30, 30, SV_SKETCH_GAUSSIAN, 4, 6);
    run_sketch(40, 20, SV_SKETCH_GAUSSIAN, 1, 7);
    run_sketch(7, 7, SV_SKETCH_BLOCK, 100, 8);      /* size capped at the rows: one exact step */
}

/* Kaczmarz from z = 0 on an underdetermined system ends at the minimum-norm solution: every step
 * moves within the row space. */
static void test_sketch_min_norm(void **state)
{
    (void)state;
    const int rows = 10, cols = 30;
    sv_rng r;
    sv_rng_seed(&r, 11);
    double A[300], rhs[10], z[30] = {0}, AAt[100], y[10];
    for (int i = 0; i < rows * cols; i++)
        A[i] = sv_rng_normal(&r);
    for (int i = 0; i < rows; i++)
        rhs[i] = sv_rng_normal(&r);
    sv_sketch_ws *w;
    assert_int_equal(sv_sketch_ws_new(rows, cols, SV_SKETCH_KACZMARZ, 1, &w), SV_OK);
    sv_sketch_opts o = {SV_SKETCH_KACZMARZ, 1, 1e-12, 1000000, NULL, NULL};
    sv_sketch_stats st;
    sv_sketch_solve(rows, cols, A, rhs, &o, &r, w, z, &st);
    assert_true(st.converged);
    /* min-norm: z = A'(AA')^{-1} rhs */
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < rows; j++)
            AAt[i * rows + j] = sv_dot(cols, A + i * cols, A + j * cols);
    memcpy(y, rhs, sizeof y);
    assert_int_equal(sv_solve_spd(rows, AAt, y, 1), SV_OK);
    double zmn[30] = {0};
    for (int i = 0; i < rows; i++)
        sv_axpy(cols, y[i], A + i * cols, zmn);
    assert_true(sv_test_max_abs_diff(cols, z, zmn) < 1e-9);
    sv_sketch_ws_free(w);
}

/* The mean of one step from z0 over `draws` independent sketches, minus z*, against the closed
 * form M (z0 - z*) (M n x n row-major), within tol * |z0 - z*|. */
static void expect_mean_step(int n, const double *A, const double *zs, const double *z0,
                             int kind, int size, const double *M, int draws, double tol)
{
    double rhs[8], z[8], mean[8] = {0}, dz[8], want[8] = {0};
    for (int i = 0; i < n; i++)
        rhs[i] = sv_dot(n, A + (size_t)i * n, zs);
    sv_sketch_ws *w;
    assert_int_equal(sv_sketch_ws_new(n, n, kind, size, &w), SV_OK);
    sv_sketch_opts o = {kind, size, 0.0, 1, NULL, NULL};
    sv_sketch_stats st;
    sv_rng r;
    sv_rng_seed(&r, 99);
    for (int k = 0; k < draws; k++) {
        memcpy(z, z0, (size_t)n * sizeof *z);
        sv_sketch_solve(n, n, A, rhs, &o, &r, w, z, &st);
        assert_int_equal(st.iters, 1);
        for (int j = 0; j < n; j++)
            mean[j] += (z[j] - zs[j]) / draws;
    }
    for (int j = 0; j < n; j++)
        dz[j] = z0[j] - zs[j];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            want[i] += M[i * n + j] * dz[j];
    double err = sv_test_max_abs_diff(n, mean, want), scale = sv_nrm2(n, dz);
    print_message("  sketch %d (s = %d): mean step off by %.2e of %.2e\n", kind, size, err, scale);
    assert_true(err <= tol * scale);
    /* and the step moves: the closed form is not the identity */
    assert_true(sv_test_max_abs_diff(n, want, dz) > 0.05 * scale);
    sv_sketch_ws_free(w);
}

static void test_sketch_expected_step(void **state)
{
    (void)state;
    enum { N = 5, DRAWS = 40000 };
    sv_rng r;
    sv_rng_seed(&r, 21);
    double A[N * N], zs[N], z0[N], M[N * N];
    for (int i = 0; i < N * N; i++)
        A[i] = sv_rng_normal(&r);
    for (int j = 0; j < N; j++) {
        zs[j] = sv_rng_normal(&r);
        z0[j] = sv_rng_normal(&r);
    }
    /* Kaczmarz: M = I - A'A / |A|_F^2 */
    double fro = 0;
    for (int i = 0; i < N * N; i++)
        fro += A[i] * A[i];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double g = 0;
            for (int k = 0; k < N; k++)
                g += A[k * N + i] * A[k * N + j];
            M[i * N + j] = (i == j) - g / fro;
        }
    expect_mean_step(N, A, zs, z0, SV_SKETCH_KACZMARZ, 1, M, DRAWS, 0.02);

    /* An orthogonal A (Gram-Schmidt of the rows): the Gaussian and the block sketch of s rows
     * project on a uniformly random s-dimensional subspace in expectation: M = (1 - s/N) I. */
    for (int i = 0; i < N; i++) {
        double *ai = A + i * N;
        for (int k = 0; k < i; k++)
            sv_axpy(N, -sv_dot(N, ai, A + k * N), A + k * N, ai);
        sv_scal(N, 1.0 / sv_nrm2(N, ai), ai);
    }
    for (int s = 1; s <= 2; s++) {
        for (int i = 0; i < N * N; i++)
            M[i] = (i % (N + 1) == 0) ? 1.0 - (double)s / N : 0.0;
        expect_mean_step(N, A, zs, z0, SV_SKETCH_GAUSSIAN, s, M, DRAWS, 0.02);
        expect_mean_step(N, A, zs, z0, SV_SKETCH_BLOCK, s, M, DRAWS, 0.02);
    }
}

/* The stop callback: asked every SV_SKETCH_POLL_EVERY Kaczmarz steps (and every Gaussian step);
 * a stop at its third call ends the solve after 3 * SV_SKETCH_POLL_EVERY steps (1 Gaussian: 3),
 * says so, and reports the true residual. */
static int stop_third(void *data)
{
    return ++*(int *)data >= 3;
}

static void test_sketch_stop(void **state)
{
    (void)state;
    const int n = 200;
    double *A = malloc((size_t)n * n * sizeof *A), *rhs = malloc((size_t)n * sizeof *rhs);
    double *z = calloc((size_t)n, sizeof *z);
    assert_true(A && rhs && z);
    sv_rng r;
    sv_rng_seed(&r, 5);
    for (int i = 0; i < n * n; i++)
        A[i] = sv_rng_normal(&r);
    for (int i = 0; i < n; i++)
        rhs[i] = sv_rng_normal(&r);
    const int kinds[2] = {SV_SKETCH_KACZMARZ, SV_SKETCH_GAUSSIAN};
    const long expect[2] = {3L * SV_SKETCH_POLL_EVERY, 3L};
    for (int q = 0; q < 2; q++) {
        sv_sketch_ws *w;
        assert_int_equal(sv_sketch_ws_new(n, n, kinds[q], 4, &w), SV_OK);
        int calls = 0;
        sv_sketch_opts o = {kinds[q], 4, 1e-14, 100000000L, stop_third, &calls};
        sv_sketch_stats st;
        sv_zero(n, z);
        sv_sketch_solve(n, n, A, rhs, &o, &r, w, z, &st);
        assert_int_equal(calls, 3);
        assert_true(st.stopped);
        assert_false(st.converged);
        assert_int_equal(st.iters, expect[q]);
        assert_true(fabs(st.res - sv_sketch_residual(n, n, A, rhs, z, w)) <= 1e-12 * st.res);
        sv_sketch_ws_free(w);
    }
    free(A);
    free(rhs);
    free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sketch_solver),
        cmocka_unit_test(test_sketch_min_norm),
        cmocka_unit_test(test_sketch_expected_step),
        cmocka_unit_test(test_sketch_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
