/* test_rng.c - the seeded generator: reference outputs, reproducibility, moments of the uniform
 * and normal draws, range and uniformity of below(), permutations and samples. Statistical checks
 * use fixed seeds and bounds of about five standard deviations, so they are deterministic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

#define NDRAW 100000

/* Reference values from an independent (Python) implementation of splitmix64 seeding and
 * xoshiro256**. */
static void test_reference_stream(void **state)
{
    (void)state;
    static const uint64_t ref0[4] = {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL,
                                     0x1a5f849d4933e6e0ULL, 0x6aa594f1262d2d2cULL};
    static const uint64_t ref42[4] = {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL,
                                      0xae17533239e499a1ULL, 0xecb8ad4703b360a1ULL};
    sv_rng r;
    sv_rng_seed(&r, 0);
    for (int i = 0; i < 4; i++)
        assert_true(sv_rng_next(&r) == ref0[i]);
    sv_rng_seed(&r, 42);
    for (int i = 0; i < 4; i++)
        assert_true(sv_rng_next(&r) == ref42[i]);
}

static void test_reproducible(void **state)
{
    (void)state;
    sv_rng a, b, c;
    sv_rng_seed(&a, 12345);
    sv_rng_seed(&b, 12345);
    sv_rng_seed(&c, 12346);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sv_rng_next(&a), y = sv_rng_next(&b), z = sv_rng_next(&c);
        assert_true(x == y);
        differ += x != z;
    }
    assert_true(differ > 990);

    /* The state alone defines the stream: a copy taken mid-stream (after an odd number of
     * normal draws, where a caching Box-Muller would hold a spare value) continues identically. */
    for (int i = 0; i < 3; i++)
        (void)sv_rng_normal(&a);
    sv_rng copy = a;
    for (int i = 0; i < 100; i++)
        assert_true(sv_rng_normal(&a) == sv_rng_normal(&copy));

    /* Every derived draw is reproducible too. */
    int p1[50], p2[50];
    sv_rng_seed(&a, 7);
    sv_rng_seed(&b, 7);
    sv_rng_sample(&a, 1000, 50, p1);
    sv_rng_sample(&b, 1000, 50, p2);
    assert_memory_equal(p1, p2, sizeof p1);
}

static void test_uniform_moments(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 2024);
    double s1 = 0, s2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < NDRAW; i++) {
        double u = sv_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        s1 += u;
        s2 += u * u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    double mean = s1 / NDRAW, var = s2 / NDRAW - mean * mean;
    /* sd of the mean: sqrt(1/12/n) = 9.1e-4; sd of the variance: sqrt(1/180/n) = 2.4e-4. */
    assert_true(fabs(mean - 0.5) < 0.005);
    assert_true(fabs(var - 1.0 / 12.0) < 0.0015);
    assert_true(lo < 1e-3 && hi > 1 - 1e-3);
}

static void test_normal_moments(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 99);
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    int tail = 0;
    for (int i = 0; i < NDRAW; i++) {
        double z = sv_rng_normal(&r);
        assert_true(isfinite(z));
        s1 += z;
        s2 += z * z;
        s3 += z * z * z;
        s4 += z * z * z * z;
        tail += fabs(z) > 1.959964;
    }
    double n = NDRAW, mean = s1 / n, var = s2 / n - mean * mean;
    /* sds: mean 3.2e-3, variance 4.5e-3, third moment 7.7e-3, fourth moment 3.1e-2. */
    assert_true(fabs(mean) < 0.016);
    assert_true(fabs(var - 1.0) < 0.025);
    assert_true(fabs(s3 / n) < 0.04);
    assert_true(fabs(s4 / n - 3.0) < 0.16);
    /* P(|z| > 1.96) = 0.05; binomial sd = 69 draws. */
    assert_true(abs(tail - 5000) < 350);
}

static void test_below(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 5);
    assert_true(sv_rng_below(&r, 1) == 0);

    enum { K = 7 };
    long count[K] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t v = sv_rng_below(&r, K);
        assert_true(v < K);
        count[v]++;
    }
    /* Chi-square with 6 degrees of freedom: P(chi2 > 30) < 1e-4. */
    double chi2 = 0;
    for (int c = 0; c < K; c++)
        chi2 += (count[c] - 10000.0) * (count[c] - 10000.0) / 10000.0;
    assert_true(chi2 < 30.0);

    /* n = 3 * 2^62: a plain x % n would hit [0, 2^62) with probability 1/2 instead of 1/3
     * (those residues have two preimages), so this catches modulo bias. */
    uint64_t big = UINT64_C(3) << 62;
    int low = 0;
    for (int i = 0; i < 3000; i++) {
        uint64_t v = sv_rng_below(&r, big);
        assert_true(v < big);
        low += v < (UINT64_C(1) << 62);
    }
    assert_true(abs(low - 1000) < 130); /* binomial sd = 26 */
}

static void test_shuffle(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 11);
    int idx[100], seen[100];
    for (int i = 0; i < 100; i++)
        idx[i] = i;
    sv_rng_shuffle(&r, idx, 100);
    memset(seen, 0, sizeof seen);
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        assert_true(idx[i] >= 0 && idx[i] < 100);
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 80);

    /* All 6 permutations of 3 items equally likely: chi-square, 5 dof, P(> 25) < 2e-4. */
    long perm[6] = {0};
    for (int t = 0; t < 60000; t++) {
        int p[3] = {0, 1, 2};
        sv_rng_shuffle(&r, p, 3);
        perm[p[0] * 2 + (p[1] > p[2])]++;
    }
    double chi2 = 0;
    for (int c = 0; c < 6; c++)
        chi2 += (perm[c] - 10000.0) * (perm[c] - 10000.0) / 10000.0;
    assert_true(chi2 < 25.0);

    sv_rng_shuffle(&r, idx, 0); /* no-ops */
    sv_rng_shuffle(&r, idx, 1);
}

/* Checks k distinct values in [0, n). */
static void assert_distinct(const int *out, int n, int k)
{
    char *seen = calloc((size_t)n, 1);
    assert_non_null(seen);
    for (int i = 0; i < k; i++) {
        assert_true(out[i] >= 0 && out[i] < n);
        assert_int_equal(seen[out[i]], 0);
        seen[out[i]] = 1;
    }
    free(seen);
}

static void test_sample(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 3);
    int out[1000];
    /* Both internal methods (few of many, many of few), and k == n. */
    sv_rng_sample(&r, 100000, 10, out);
    assert_distinct(out, 100000, 10);
    sv_rng_sample(&r, 1000, 900, out);
    assert_distinct(out, 1000, 900);
    sv_rng_sample(&r, 1000, 1000, out);
    assert_distinct(out, 1000, 1000);
    sv_rng_sample(&r, 5, 0, out);

    /* Inclusion frequency k/n for every index and a uniform first position, for both methods
     * (3 of 40 takes Floyd's algorithm, 8 of 10 selection sampling). */
    const int cases[2][2] = {{40, 3}, {10, 8}};
    for (int c = 0; c < 2; c++) {
        int n = cases[c][0], k = cases[c][1];
        long inc[40] = {0}, first[40] = {0};
        const int T = 40000;
        for (int t = 0; t < T; t++) {
            sv_rng_sample(&r, n, k, out);
            assert_distinct(out, n, k);
            for (int i = 0; i < k; i++)
                inc[out[i]]++;
            first[out[0]]++;
        }
        double p = (double)k / n, sd = sqrt(T * p * (1 - p));
        double pf = 1.0 / n, sdf = sqrt(T * pf * (1 - pf));
        for (int i = 0; i < n; i++) {
            assert_true(fabs(inc[i] - T * p) < 5 * sd);
            assert_true(fabs(first[i] - T * pf) < 5 * sdf);
        }
    }
}

/* Points of the simplex: nonnegative, summing to 1; Dirichlet(1) has E[x_i] = 1/n and
 * P(x_0 > 1/2) = (1/2)^(n-1) (here 1/8 for n = 4). */
static void test_simplex(void **state)
{
    (void)state;
    enum { N = 4, DRAWS = 40000 };
    sv_rng r;
    sv_rng_seed(&r, 11);
    double mean[N] = {0}, x[N];
    int big = 0;
    for (int d = 0; d < DRAWS; d++) {
        sv_rng_simplex(&r, x, N);
        double sum = 0;
        for (int i = 0; i < N; i++) {
            assert_true(x[i] >= 0 && x[i] <= 1);
            sum += x[i];
            mean[i] += x[i] / DRAWS;
        }
        assert_true(fabs(sum - 1) < 1e-14);
        big += x[0] > 0.5;
    }
    for (int i = 0; i < N; i++)
        assert_true(fabs(mean[i] - 0.25) < 0.01);
    assert_true(fabs((double)big / DRAWS - 0.125) < 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_stream), cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_uniform_moments),  cmocka_unit_test(test_normal_moments),
        cmocka_unit_test(test_below),            cmocka_unit_test(test_shuffle),
        cmocka_unit_test(test_sample),           cmocka_unit_test(test_simplex),
    };
    return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
