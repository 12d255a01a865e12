/* test_graph.c - the dense matrices of an agent graph (core/models/graph.c): the Laplacian and
 * the Metropolis-Hastings gossip matrix, against their closed-form spectra on rings, complete
 * graphs and stars. Topology generation and connectivity are tested in test_srrw.c. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/linalg.h"
#include "core/models/graph.h"

static void make(sv_graph *g, int topology, int n)
{
    sv_graph_spec s = {topology, 0.3, 0};
    sv_err e;
    assert_int_equal(sv_graph_generate(&s, n, g, &e), SV_OK);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Eigenvalues of the n x n matrix M (copied), ascending. */
static void spectrum(int n, const double *M, double *w)
{
    double *A = malloc((size_t)n * n * sizeof *A);
    assert_non_null(A);
    for (int k = 0; k < n * n; k++)
        A[k] = M[k];
    assert_int_equal(sv_sym_eig(n, A, w, 0), SV_OK);
    free(A);
}

/* The ring's Laplacian has eigenvalues 2 - 2 cos(2 pi k / n); its rows sum to zero. */
static void test_laplacian_ring(void **state)
{
    (void)state;
    enum { N = 9 };
    sv_graph g;
    make(&g, SV_GRAPH_RING, N);
    double L[N * N], w[N], want[N];
    sv_graph_laplacian(&g, L);
    for (int i = 0; i < N; i++) {
        double row = 0;
        for (int j = 0; j < N; j++) {
            row += L[i * N + j];
            assert_true(L[i * N + j] == L[j * N + i]);
        }
        assert_true(fabs(row) < 1e-15);
        want[i] = 2.0 - 2.0 * cos(2.0 * M_PI * i / N);
    }
    qsort(want, N, sizeof *want, cmp);
    spectrum(N, L, w);
    for (int i = 0; i < N; i++)
        assert_true(fabs(w[i] - want[i]) < 1e-10);
    sv_graph_free(&g);
}

/* The star on n nodes: Laplacian spectrum {0, 1 (n-2 times), n}. */
static void test_laplacian_star(void **state)
{
    (void)state;
    enum { N = 7 };
    sv_graph g;
    make(&g, SV_GRAPH_STAR, N);
    double L[N * N], w[N];
    sv_graph_laplacian(&g, L);
    spectrum(N, L, w);
    assert_true(fabs(w[0]) < 1e-10);
    for (int i = 1; i < N - 1; i++)
        assert_true(fabs(w[i] - 1.0) < 1e-10);
    assert_true(fabs(w[N - 1] - N) < 1e-10);
    sv_graph_free(&g);
}

/* Metropolis weights: symmetric, doubly stochastic; on the complete graph W = J / n (spectrum
 * {0, ..., 0, 1}); on a ring every weight is 1/3, so the spectrum is 1/3 + 2/3 cos(2 pi k / n). */
static void test_metropolis(void **state)
{
    (void)state;
    enum { N = 8 };
    sv_graph g;
    double W[N * N], w[N], want[N];
    make(&g, SV_GRAPH_COMPLETE, N);
    sv_graph_metropolis(&g, W);
    for (int k = 0; k < N * N; k++)
        assert_true(fabs(W[k] - 1.0 / N) < 1e-15);
    sv_graph_free(&g);

    make(&g, SV_GRAPH_RING, N);
    sv_graph_metropolis(&g, W);
    for (int i = 0; i < N; i++) {
        double row = 0;
        for (int j = 0; j < N; j++) {
            row += W[i * N + j];
            assert_true(W[i * N + j] == W[j * N + i] && W[i * N + j] >= 0);
        }
        assert_true(fabs(row - 1.0) < 1e-15);
        want[i] = 1.0 / 3.0 + 2.0 / 3.0 * cos(2.0 * M_PI * i / N);
    }
    qsort(want, N, sizeof *want, cmp);
    spectrum(N, W, w);
    for (int i = 0; i < N; i++)
        assert_true(fabs(w[i] - want[i]) < 1e-10);
    sv_graph_free(&g);

    /* Unequal degrees (a star): the hub's weights are 1/n, the leaves keep 1 - 1/n. */
    make(&g, SV_GRAPH_STAR, N);
    sv_graph_metropolis(&g, W);
    assert_true(fabs(W[0 * N + 3] - 1.0 / N) < 1e-15);
    assert_true(fabs(W[3 * N + 3] - (1.0 - 1.0 / N)) < 1e-15);
    assert_true(fabs(W[0] - 1.0 / N) < 1e-15);
    sv_graph_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_laplacian_ring),
        cmocka_unit_test(test_laplacian_star),
        cmocka_unit_test(test_metropolis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
