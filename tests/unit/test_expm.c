/* test_expm.c - the matrix exponential (core/kernels/expm.c) against closed forms: diagonal
 * matrices (each Pade degree and the squarings, picked by the norm), nilpotent matrices (the
 * finite series), a rotation generator (cos and sin) and, for a general matrix, its Taylor series
 * summed in long double without BLAS; plus the transpose rule row-major callers rely on and the
 * errors. Tolerances are relative, far above any BLAS kernel's rounding (1e-12 against 1e-16). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels/expm.h"
#include "core/rng.h"

static double rel_err(int n, const double *X, const double *Y)
{
    double num = 0, den = 0;
    for (int i = 0; i < n * n; i++) {
        num = fmax(num, fabs(X[i] - Y[i]));
        den = fmax(den, fabs(Y[i]));
    }
    return num / fmax(den, 1e-300);
}

/* diag(a) has norm max |a|: each range of Higham's table gives its degree, beyond 5.37 the
 * squarings. exp is diag(e^a). */
static void test_diagonal_each_degree(void **state)
{
    (void)state;
    struct { double scale; int degree, squarings; } cases[] = {
        {0.01, 3, 0}, {0.2, 5, 0}, {0.9, 7, 0}, {2.0, 9, 0}, {5.0, 13, 0}, {40.0, 13, 3},
        {300.0, 13, 6},
    };
    sv_expm_ws ws;
    assert_int_equal(sv_expm_ws_alloc(&ws, 4), SV_OK);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double a[4] = {cases[c].scale, -0.5 * cases[c].scale, 0.25 * cases[c].scale, 0};
        double A[16] = {0}, E[16], X[16] = {0};
        for (int i = 0; i < 4; i++) {
            A[i * 4 + i] = a[i];
            X[i * 4 + i] = exp(a[i]);
        }
        int m = 0, s = -1;
        assert_int_equal(sv_expm(&ws, 4, A, E, &m, &s), SV_OK);
        assert_int_equal(m, cases[c].degree);
        assert_int_equal(s, cases[c].squarings);
        double err = rel_err(4, E, X);
        if (!(err < 1e-12))
            fail_msg("scale %g: relative error %g", cases[c].scale, err);
    }
    sv_expm_ws_free(&ws);
}

/* N = c times the superdiagonal of order 6 is nilpotent: exp(N) has c^k / k! on the k-th
 * superdiagonal, exactly. Also a strictly triangular matrix with arbitrary entries against its
 * finite series I + N + N^2/2 + ... + N^5/5! (computed by hand loops). */
static void test_nilpotent(void **state)
{
    (void)state;
    enum { n = 6 };
    sv_expm_ws ws;
    assert_int_equal(sv_expm_ws_alloc(&ws, n), SV_OK);
    double cs[] = {0.1, 1.5, 4.0};
    for (int t = 0; t < 3; t++) {
        double c = cs[t], N[n * n] = {0}, E[n * n], X[n * n] = {0};
        for (int i = 0; i + 1 < n; i++)
            N[(i + 1) * n + i] = c;  /* column-major: row i, column i + 1 */
        double f = 1;
        for (int k = 0; k < n; k++) {
            if (k > 0)
                f *= c / k;
            for (int i = 0; i + k < n; i++)
                X[(i + k) * n + i] = f;
        }
        assert_int_equal(sv_expm(&ws, n, N, E, NULL, NULL), SV_OK);
        double err = rel_err(n, E, X);
        if (!(err < 1e-12))
            fail_msg("c = %g: relative error %g", c, err);
    }
    sv_rng r;
    sv_rng_seed(&r, 5);
    double N[n * n] = {0}, P[n * n], Q[n * n], S[n * n], E[n * n];
    for (int j = 0; j < n; j++)
        for (int i = 0; i < j; i++)
            N[j * n + i] = 4 * sv_rng_uniform(&r) - 2;
    memset(S, 0, sizeof S);
    memset(P, 0, sizeof P);
    for (int i = 0; i < n; i++)
        P[i * n + i] = 1;
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < n * n; i++)
            S[i] += P[i];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double v = 0;
                for (int q = 0; q < n; q++)
                    v += P[q * n + i] * N[j * n + q];
                Q[j * n + i] = v / (k + 1);
            }
        memcpy(P, Q, sizeof P);
    }
    assert_int_equal(sv_expm(&ws, n, N, E, NULL, NULL), SV_OK);
    assert_true(rel_err(n, E, S) < 1e-12);
    sv_expm_ws_free(&ws);
}

/* exp([[0, -t], [t, 0]]) = [[cos t, -sin t], [sin t, cos t]]; t = 30 takes squarings. */
static void test_rotation(void **state)
{
    (void)state;
    sv_expm_ws ws;
    assert_int_equal(sv_expm_ws_alloc(&ws, 2), SV_OK);
    double ts[] = {0.3, 3.0, 30.0};
    for (int k = 0; k < 3; k++) {
        double t = ts[k];
        double A[4] = {0, t, -t, 0}, E[4];  /* column-major */
        double X[4] = {cos(t), sin(t), -sin(t), cos(t)};
        assert_int_equal(sv_expm(&ws, 2, A, E, NULL, NULL), SV_OK);
        for (int i = 0; i < 4; i++)
            assert_true(fabs(E[i] - X[i]) < 1e-12 * (1 + t));
    }
    sv_expm_ws_free(&ws);
}

/* A general 7 x 7 matrix of norm about 3 (degree 13, no squaring) and one of norm about 12 (two
 * squarings) against sum_k A^k / k! summed in long double until the terms vanish. Also
 * exp(A') = exp(A)', the rule row-major callers stand on. */
static void test_series_and_transpose(void **state)
{
    (void)state;
    enum { n = 7 };
    sv_expm_ws ws;
    assert_int_equal(sv_expm_ws_alloc(&ws, 10), SV_OK);
    sv_rng r;
    sv_rng_seed(&r, 11);
    double scales[] = {0.9, 3.5};
    for (int t = 0; t < 2; t++) {
        double A[n * n], At[n * n], E[n * n], Et[n * n], X[n * n];
        for (int i = 0; i < n * n; i++)
            A[i] = scales[t] * (2 * sv_rng_uniform(&r) - 1);
        long double P[n * n], Q[n * n], S[n * n];
        for (int i = 0; i < n * n; i++)
            P[i] = (i % (n + 1)) == 0, S[i] = 0;
        for (int k = 0; k < 200; k++) {
            for (int i = 0; i < n * n; i++)
                S[i] += P[i];
            for (int j = 0; j < n; j++)
                for (int i = 0; i < n; i++) {
                    long double v = 0;
                    for (int q = 0; q < n; q++)
                        v += P[q * n + i] * (long double)A[j * n + q];
                    Q[j * n + i] = v / (k + 1);
                }
            memcpy(P, Q, sizeof P);
        }
        for (int i = 0; i < n * n; i++)
            X[i] = (double)S[i];
        int m, s;
        assert_int_equal(sv_expm(&ws, n, A, E, &m, &s), SV_OK);
        double err = rel_err(n, E, X);
        if (!(err < 1e-12))
            fail_msg("scale %g (degree %d, %d squarings): relative error %g", scales[t], m, s,
                     err);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                At[i * n + j] = A[j * n + i];
        assert_int_equal(sv_expm(&ws, n, At, Et, NULL, NULL), SV_OK);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                assert_true(fabs(Et[i * n + j] - X[j * n + i]) < 1e-12 * fmax(1, fabs(X[j * n + i])) * 10);
    }
    assert_true(1);
    sv_expm_ws_free(&ws);
}

static void test_errors(void **state)
{
    (void)state;
    sv_expm_ws ws;
    assert_int_equal(sv_expm_ws_alloc(&ws, 2), SV_OK);
    double A[9] = {0, 1, 2, NAN, 0, 0, 0, 0, 0}, E[9];
    assert_int_equal(sv_expm(&ws, 2, A, E, NULL, NULL), SV_ENUMERIC);
    A[3] = 0;
    assert_int_equal(sv_expm(&ws, 3, A, E, NULL, NULL), SV_EINVAL);   /* beyond n_max */
    assert_int_equal(sv_expm(&ws, 0, A, E, NULL, NULL), SV_EINVAL);
    double big[4] = {800, 0, 0, 800};  /* e^800 overflows */
    assert_int_equal(sv_expm(&ws, 2, big, E, NULL, NULL), SV_ENUMERIC);
    sv_expm_ws_free(&ws);
    sv_expm_ws_free(&ws);  /* twice: a freed workspace is zeroed */
    assert_int_equal(sv_expm_ws_alloc(&ws, 0), SV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diagonal_each_degree),
        cmocka_unit_test(test_nilpotent),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_series_and_transpose),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
