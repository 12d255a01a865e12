/* test_dag.c - the linear-SEM model of the dag family (core/models/dag.c): h(W) against closed
 * forms (0 on DAGs; a loop, a 2-cycle and a 3-cycle by their eigenvalues), the gradients of h and
 * of the least-squares score by central differences, the score's two forms against each other
 * and W = 0, the topological sort, the generator (edge counts, acyclicity, weight ranges, seeds,
 * and the noise X - X W of a large sample having unit variance), and the accuracy counts of the
 * NOTEARS code on a hand-made estimate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/models/dag.h"
#include "core/rng.h"

static double h_of(int d, const double *W)
{
    sv_dag_h_ws w;
    assert_int_equal(sv_dag_h_ws_alloc(&w, d), SV_OK);
    double h;
    assert_int_equal(sv_dag_h(&w, W, &h, NULL), SV_OK);
    sv_dag_h_ws_free(&w);
    return h;
}

/* h = 0 on DAGs (a chain, a dense upper triangle under a permutation) and > 0 on cycles, with
 * the closed forms: a loop w: e^(w^2) - 1; a 2-cycle (a, b): 2 cosh(ab) - 2; a 3-cycle (a, b, c):
 * W o W has eigenvalues q, q w, q w^2 (q = (abc)^(2/3), w a cube root of 1), so
 * tr exp = e^q + 2 e^(-q/2) cos(sqrt(3) q / 2). */
static void test_h_zero_iff_dag(void **state)
{
    (void)state;
    double chain[9] = {0, 1.5, 0, 0, 0, -2, 0, 0, 0};
    assert_true(fabs(h_of(3, chain)) < 1e-14);
    assert_true(sv_dag_is_acyclic(3, chain));
    enum { d = 6 };
    double W[d * d] = {0};
    int perm[d] = {3, 0, 5, 1, 4, 2};
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j < d; j++)
            W[perm[i] * d + perm[j]] = 0.5 + 0.1 * (i + j);
    assert_true(fabs(h_of(d, W)) < 1e-13);
    assert_true(sv_dag_is_acyclic(d, W));
    double loop[1] = {0.7};
    assert_true(fabs(h_of(1, loop) - (exp(0.49) - 1)) < 1e-14);
    assert_false(sv_dag_is_acyclic(1, loop));
    double a = 1.2, b = -0.8, c = 0.9;
    double two[4] = {0, a, b, 0};
    assert_true(fabs(h_of(2, two) - (2 * cosh(a * b) - 2)) < 1e-13);
    assert_false(sv_dag_is_acyclic(2, two));
    double three[9] = {0, a, 0, 0, 0, b, c, 0, 0};
    double q = pow(a * a * b * b * c * c, 1.0 / 3.0);
    double want = exp(q) + 2 * exp(-q / 2) * cos(sqrt(3.0) * q / 2) - 3;
    assert_true(fabs(h_of(3, three) - want) < 1e-13);
    assert_false(sv_dag_is_acyclic(3, three));
    /* The cycle inside a larger graph: adding its edges to the DAG above makes h > 0. */
    W[perm[4] * d + perm[1]] = 0.3;
    assert_true(h_of(d, W) > 1e-6);
    assert_false(sv_dag_is_acyclic(d, W));
}

/* Central differences of h and of the score in both forms at a random cyclic W. */
static void test_gradients_by_finite_differences(void **state)
{
    (void)state;
    enum { d = 5, n = 7 };
    sv_rng r;
    sv_rng_seed(&r, 3);
    double W[d * d], X[n * d], G[d * d];
    for (int i = 0; i < d * d; i++)
        W[i] = (i % (d + 1)) == 0 ? 0 : sv_rng_uniform(&r) - 0.5;
    for (int i = 0; i < n * d; i++)
        X[i] = sv_rng_normal(&r);
    sv_dag_h_ws hw;
    assert_int_equal(sv_dag_h_ws_alloc(&hw, d), SV_OK);
    double h0;
    assert_int_equal(sv_dag_h(&hw, W, &h0, G), SV_OK);
    const double eps = 1e-6;
    for (int t = 0; t < d * d; t++) {
        double keep = W[t], hp, hm;
        W[t] = keep + eps;
        sv_dag_h(&hw, W, &hp, NULL);
        W[t] = keep - eps;
        sv_dag_h(&hw, W, &hm, NULL);
        W[t] = keep;
        double fd = (hp - hm) / (2 * eps);
        if (!(fabs(fd - G[t]) < 1e-7 * fmax(1, fabs(G[t]))))
            fail_msg("dh/dW[%d]: %g by differences, %g by the formula", t, fd, G[t]);
    }
    sv_dag_h_ws_free(&hw);
    for (int gram = 0; gram < 2; gram++) {
        sv_dag_ls ls;
        assert_int_equal(sv_dag_ls_init(&ls, n, d, X, 1, gram), SV_OK);
        assert_int_equal(ls.gram, gram);
        sv_dag_ls_value(&ls, W, G);
        for (int t = 0; t < d * d; t++) {
            double keep = W[t];
            W[t] = keep + eps;
            double fp = sv_dag_ls_value(&ls, W, NULL);
            W[t] = keep - eps;
            double fm = sv_dag_ls_value(&ls, W, NULL);
            W[t] = keep;
            double fd = (fp - fm) / (2 * eps);
            if (!(fabs(fd - G[t]) < 1e-7 * fmax(1, fabs(G[t]))))
                fail_msg("dL/dW[%d] (gram %d): %g by differences, %g by the formula", t, gram,
                         fd, G[t]);
        }
        sv_dag_ls_free(&ls);
    }
}

/* The Gram form equals the direct one; at W = 0 L is 0.5/n |X_c|^2 (X_c centred by hand), and
 * without centring 0.5/n |X|^2. */
static void test_score_forms(void **state)
{
    (void)state;
    enum { d = 4, n = 9 };
    sv_rng r;
    sv_rng_seed(&r, 8);
    double X[n * d], W[d * d], Z[d * d] = {0}, G1[d * d], G2[d * d];
    for (int i = 0; i < n * d; i++)
        X[i] = 3 + sv_rng_normal(&r);
    for (int i = 0; i < d * d; i++)
        W[i] = sv_rng_normal(&r);
    sv_dag_ls a, b, c;
    assert_int_equal(sv_dag_ls_init(&a, n, d, X, 1, 0), SV_OK);
    assert_int_equal(sv_dag_ls_init(&b, n, d, X, 1, 1), SV_OK);
    assert_int_equal(sv_dag_ls_init(&c, n, d, X, 0, -1), SV_OK);
    assert_int_equal(c.gram, 1);  /* 2 n >= d */
    double la = sv_dag_ls_value(&a, W, G1), lb = sv_dag_ls_value(&b, W, G2);
    assert_true(fabs(la - lb) < 1e-12 * la);
    for (int t = 0; t < d * d; t++)
        assert_true(fabs(G1[t] - G2[t]) < 1e-11 * (1 + fabs(G1[t])));
    double want = 0, raw = 0;
    for (int j = 0; j < d; j++) {
        double m = 0;
        for (int i = 0; i < n; i++)
            m += X[i * d + j] / n;
        for (int i = 0; i < n; i++) {
            want += (X[i * d + j] - m) * (X[i * d + j] - m);
            raw += X[i * d + j] * X[i * d + j];
        }
    }
    assert_true(fabs(sv_dag_ls_value(&a, Z, NULL) - 0.5 * want / n) < 1e-12 * want);
    assert_true(fabs(sv_dag_ls_value(&c, Z, NULL) - 0.5 * raw / n) < 1e-12 * raw);
    sv_dag_ls_free(&a);
    sv_dag_ls_free(&b);
    sv_dag_ls_free(&c);
    sv_dag_ls_free(&c);
}

static void test_topo_sort_and_threshold(void **state)
{
    (void)state;
    /* 0 -> 2, 2 -> 1, 3 -> 1: the order puts every edge forward. */
    double W[16] = {0};
    W[0 * 4 + 2] = 1;
    W[2 * 4 + 1] = -1;
    W[3 * 4 + 1] = 0.5;
    int order[4], work[4], place[4];
    assert_int_equal(sv_dag_topo_sort(4, W, order, work), 4);
    for (int t = 0; t < 4; t++)
        place[order[t]] = t;
    assert_true(place[0] < place[2] && place[2] < place[1] && place[3] < place[1]);
    W[1 * 4 + 0] = 2;  /* 1 -> 0 closes 0 -> 2 -> 1 -> 0; node 3 still sorts */
    assert_int_equal(sv_dag_topo_sort(4, W, order, work), 1);
    W[1 * 4 + 0] = 0.2;
    W[3 * 4 + 3] = 5;  /* the diagonal goes too */
    assert_int_equal(sv_dag_threshold(4, W, 0.3), 3);
    assert_true(W[1 * 4 + 0] == 0 && W[3 * 4 + 3] == 0 && W[3 * 4 + 1] == 0.5);
}

/* ER: exactly k d edges; SF: sum_v min(k, v); both acyclic, weights in +-[0.5, 2], one seed one
 * draw. The noise of a large sample, X - X W, has mean 0 and variance 1 in every column. */
static void test_generator(void **state)
{
    (void)state;
    enum { d = 12, n = 20000 };
    double *X = malloc(sizeof(double) * n * d), *X2 = malloc(sizeof(double) * n * d);
    double W[d * d], W2[d * d];
    sv_err e;
    for (int graph = 0; graph < 2; graph++) {
        for (int k = 1; k <= 3; k++) {
            sv_dag_gen_spec g = {d, n, graph, k, 42};
            assert_int_equal(sv_dag_generate(&g, W, X, &e), SV_OK);
            int edges = 0;
            for (int t = 0; t < d * d; t++) {
                if (W[t] == 0)
                    continue;
                edges++;
                assert_true(fabs(W[t]) >= 0.5 && fabs(W[t]) <= 2.0);
                assert_true(t / d != t % d);
            }
            assert_int_equal(edges, sv_dag_gen_edges(&g));
            assert_int_equal(edges, graph == SV_DAG_ER ? k * d : (k == 1 ? 11 : k == 2 ? 21 : 30));
            assert_true(sv_dag_is_acyclic(d, W));
            assert_int_equal(sv_dag_generate(&g, W2, X2, &e), SV_OK);
            assert_memory_equal(W, W2, sizeof W);
            assert_memory_equal(X, X2, sizeof(double) * n * d);
            g.seed = 43;
            assert_int_equal(sv_dag_generate(&g, W2, NULL, &e), SV_OK);
            assert_true(memcmp(W, W2, sizeof W) != 0);
        }
    }
    /* Noise statistics of the last draw (SF, k = 3): residual of column j by hand loops. */
    for (int j = 0; j < d; j++) {
        double s = 0, ss = 0;
        for (int i = 0; i < n; i++) {
            double z = X[i * d + j];
            for (int p = 0; p < d; p++)
                z -= X[i * d + p] * W[p * d + j];
            s += z;
            ss += z * z;
        }
        double mean = s / n, var = ss / n - mean * mean;
        /* 6 standard errors: 6/sqrt(n) = 0.042 for the mean, 6 sqrt(2/n) = 0.06 for the variance */
        assert_true(fabs(mean) < 0.042);
        assert_true(fabs(var - 1) < 0.06);
    }
    free(X);
    free(X2);
    sv_dag_gen_spec bad = {5, 10, SV_DAG_ER, 3, 1};  /* 15 edges, 10 pairs */
    assert_int_equal(sv_dag_generate(&bad, W, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate");
    sv_dag_gen_spec big = {100, 100000, SV_DAG_SF, 2, 1};
    assert_int_equal(sv_dag_gen_check(&big, 1000000, "/problem/generate", &e), SV_EINVAL);
    assert_int_equal(sv_dag_gen_check(&big, 10000000, "/problem/generate", &e), SV_OK);
}

/* True 0 -> 1, 1 -> 2, 2 -> 3. Estimate: 1 -> 0 (reversed), 1 -> 2 (true), 0 -> 3 (false). The
 * NOTEARS counts: skeletons {01, 12, 23} and {01, 12, 03}: extra 1 (03), missing 1 (23), reversed
 * 1: SHD 3; TPR 1/3; FDR 2/3; FPR 2 / (6 - 3). */
static void test_accuracy_counts(void **state)
{
    (void)state;
    double T[16] = {0}, E[16] = {0};
    T[0 * 4 + 1] = 1.5;
    T[1 * 4 + 2] = -1;
    T[2 * 4 + 3] = 1;
    E[1 * 4 + 0] = 0.7;
    E[1 * 4 + 2] = 2;
    E[0 * 4 + 3] = -0.4;
    sv_dag_accuracy a;
    sv_dag_accuracy_of(4, T, E, &a);
    assert_int_equal(a.true_edges, 3);
    assert_int_equal(a.predicted, 3);
    assert_int_equal(a.true_pos, 1);
    assert_int_equal(a.reversed, 1);
    assert_int_equal(a.false_pos, 1);
    assert_int_equal(a.extra, 1);
    assert_int_equal(a.missing, 1);
    assert_int_equal(a.shd, 3);
    assert_true(fabs(a.tpr - 1.0 / 3) < 1e-15);
    assert_true(fabs(a.fdr - 2.0 / 3) < 1e-15);
    assert_true(fabs(a.fpr - 2.0 / 3) < 1e-15);
    sv_dag_accuracy_of(4, T, T, &a);
    assert_int_equal(a.shd, 0);
    assert_true(a.tpr == 1 && a.fdr == 0);
    double Z[16] = {0};
    sv_dag_accuracy_of(4, T, Z, &a);  /* the empty estimate: every true edge missing */
    assert_int_equal(a.shd, 3);
    assert_true(a.tpr == 0 && a.fdr == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h_zero_iff_dag),
        cmocka_unit_test(test_gradients_by_finite_differences),
        cmocka_unit_test(test_score_forms),
        cmocka_unit_test(test_topo_sort_and_threshold),
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_accuracy_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
