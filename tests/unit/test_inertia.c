/* test_inertia.c - the inertia of symmetric matrices from dsytrf (core/kernels/inertia.c):
 * diagonal matrices, Q diag(l) Q' with a Householder Q (eigenvalues known and far from 0, so no
 * rounding path can move a sign), a matrix that forces a 2x2 pivot, KKT matrices whose reduced
 * Hessian is or is not positive definite, exact zero pivots, random symmetric matrices against
 * the signs of their eigenvalues (dsyevd), and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels/inertia.h"
#include "core/linalg.h"
#include "core/rng.h"
#include "core/solver.h"

static sv_inertia inertia_of(int n, const double *A, double tol)
{
    sv_inertia_ws ws;
    assert_int_equal(sv_inertia_ws_alloc(&ws, n), SV_OK);
    double *a = malloc((size_t)n * n * sizeof *a + 1);
    memcpy(a, A, (size_t)n * n * sizeof *a);
    sv_inertia in;
    assert_int_equal(sv_sym_inertia(&ws, n, a, tol, &in), SV_OK);
    assert_int_equal(in.pos + in.neg + in.zero, n);
    free(a);
    sv_inertia_ws_free(&ws);
    return in;
}

#define assert_inertia(in, p, q, z)                                                         \
    do {                                                                                    \
        assert_int_equal((in).pos, p);                                                      \
        assert_int_equal((in).neg, q);                                                      \
        assert_int_equal((in).zero, z);                                                     \
    } while (0)

static void test_diagonal(void **state)
{
    (void)state;
    double D[16] = {3, 0, 0, 0, 0, -2, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, -7};
    assert_inertia(inertia_of(4, D, 0), 2, 2, 0);
    double Z[9] = {1, 0, 0, 0, 0, 0, 0, 0, -1};  /* an exact zero pivot */
    assert_inertia(inertia_of(3, Z, 0), 1, 1, 1);
    double T[9] = {1, 0, 0, 0, 1e-20, 0, 0, 0, -1};  /* tol decides what counts as zero */
    assert_inertia(inertia_of(3, T, 0), 2, 1, 0);
    assert_inertia(inertia_of(3, T, 1e-12), 1, 1, 1);
}

static void test_two_by_two_pivot(void **state)
{
    (void)state;
    /* a zero diagonal: Bunch-Kaufman must take the 2x2 block [0 1; 1 0] (eigenvalues +-1) */
    double A[4] = {0, 1, 1, 0};
    assert_inertia(inertia_of(2, A, 0), 1, 1, 0);
    /* [0 2 0; 2 0 0; 0 0 3]: eigenvalues 2, -2, 3 */
    double B[9] = {0, 2, 0, 2, 0, 0, 0, 0, 3};
    assert_inertia(inertia_of(3, B, 0), 2, 1, 0);
    /* [1 3; 3 1]: eigenvalues 4, -2 (BK takes a 2x2 pivot when the off-diagonal dominates) */
    double C[4] = {1, 3, 3, 1};
    assert_inertia(inertia_of(2, C, 0), 1, 1, 0);
    /* [-4 1; 1 -1]: both negative (det 3 > 0, trace < 0) */
    double E[4] = {-4, 1, 1, -1};
    assert_inertia(inertia_of(2, E, 0), 0, 2, 0);
}

/* Q diag(l) Q', Q = I - 2 v v' / v'v: symmetric with eigenvalues l exactly (in exact
 * arithmetic), all at least 0.25 away from 0. */
static void test_householder(void **state)
{
    (void)state;
    enum { N = 7 };
    const double l[N] = {5, -1, 2, -3, 0.25, -0.5, 9};
    const double v[N] = {1, -2, 0.5, 3, -1, 2, 0.25};
    double vv = 0, Q[N * N], A[N * N];
    for (int i = 0; i < N; i++)
        vv += v[i] * v[i];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            Q[i * N + j] = (i == j) - 2 * v[i] * v[j] / vv;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++)
                s += Q[i * N + k] * l[k] * Q[j * N + k];
            A[i * N + j] = s;
        }
    for (int i = 0; i < N; i++)  /* exactly symmetric */
        for (int j = 0; j < i; j++)
            A[i * N + j] = A[j * N + i];
    assert_inertia(inertia_of(N, A, 0), 4, 3, 0);
}

/* [H G'; G 0] has inertia (n, m, 0) iff Z'HZ is positive definite (G of full row rank). */
static void test_kkt(void **state)
{
    (void)state;
    /* H = diag(1, -1, 2). G = (0 1 0): Z'HZ = diag(1, 2), inertia (3, 1, 0). */
    double K1[16] = {1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 2, 0, 0, 1, 0, 0};
    assert_inertia(inertia_of(4, K1, 0), 3, 1, 0);
    /* G = (1 0 0): Z'HZ = diag(-1, 2), inertia (1, 1, 0) + (1, 1, 0) */
    double K2[16] = {1, 0, 0, 1, 0, -1, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0};
    assert_inertia(inertia_of(4, K2, 0), 2, 2, 0);
    /* H indefinite everywhere but on null(G): H = [1 3; 3 1] (eigenvalues 4, -2), G = (1 -1):
     * Z = (1, 1)/sqrt 2, Z'HZ = 4 > 0 */
    double K3[9] = {1, 3, 1, 3, 1, -1, 1, -1, 0};
    assert_inertia(inertia_of(3, K3, 0), 2, 1, 0);
    /* G = (1 1): Z = (1, -1)/sqrt 2, Z'HZ = -2 < 0 */
    double K4[9] = {1, 3, 1, 3, 1, 1, 1, 1, 0};
    assert_inertia(inertia_of(3, K4, 0), 1, 2, 0);
}

/* Random symmetric matrices: the inertia equals the signs of the eigenvalues, whenever none is
 * within 1e-6 of 0 (checked, so a rounding path cannot flip a count). */
static void test_random_against_eig(void **state)
{
    (void)state;
    sv_rng rng;
    sv_rng_seed(&rng, 3);
    int compared = 0;
    for (int t = 0; t < 20; t++) {
        const int n = 5 + t * 3;
        double *A = malloc((size_t)n * n * sizeof *A), *B = malloc((size_t)n * n * sizeof *B);
        double *w = malloc((size_t)n * sizeof *w);
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
                A[i * n + j] = A[j * n + i] = sv_rng_normal(&rng) + (i == j ? (t % 3) - 1.0 : 0);
        memcpy(B, A, (size_t)n * n * sizeof *B);
        assert_int_equal(sv_sym_eig(n, B, w, 0), SV_OK);
        int p = 0, q = 0, near = 0;
        for (int i = 0; i < n; i++) {
            p += w[i] > 0;
            q += w[i] < 0;
            near |= fabs(w[i]) < 1e-6;
        }
        if (!near) {
            sv_inertia in = inertia_of(n, A, 0);
            assert_inertia(in, p, q, 0);
            compared++;
        }
        free(A);
        free(B);
        free(w);
    }
    assert_true(compared >= 15);
}

static void test_errors(void **state)
{
    (void)state;
    sv_inertia_ws ws;
    assert_int_equal(sv_inertia_ws_alloc(&ws, 2), SV_OK);
    double A[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    sv_inertia in;
    assert_int_equal(sv_sym_inertia(&ws, 3, A, 0, &in), SV_EINVAL);  /* beyond n_max */
    assert_int_equal(sv_sym_inertia(&ws, -1, A, 0, &in), SV_EINVAL);
    assert_int_equal(sv_sym_inertia(&ws, 2, A, -1, &in), SV_EINVAL);
    assert_int_equal(sv_sym_inertia(&ws, 0, A, 0, &in), SV_OK);
    assert_int_equal(in.pos + in.neg + in.zero, 0);
    double N[4] = {1, NAN, NAN, 1};
    assert_int_equal(sv_sym_inertia(&ws, 2, N, 0, &in), SV_ENUMERIC);
    sv_inertia_ws_free(&ws);
    assert_int_equal(sv_inertia_ws_alloc(&ws, -1), SV_EINVAL);
    assert_int_equal(sv_inertia_ws_alloc(&ws, 0), SV_OK);
    sv_inertia_ws_free(&ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diagonal),
        cmocka_unit_test(test_two_by_two_pivot),
        cmocka_unit_test(test_householder),
        cmocka_unit_test(test_kkt),
        cmocka_unit_test(test_random_against_eig),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
