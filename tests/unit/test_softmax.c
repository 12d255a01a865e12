/* test_softmax.c - the two-pass log-sum-exp and softmax (core/kernels/softmax.c) against a careful
 * three-pass reference computed in long double (maximum shift, long double sums and
 * exponentials), on exact cases, and on huge and non-finite inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/kernels/softmax.h"

/* Tolerances, in units in the last place of the double result. */
#define Y_ULPS 2       /* softmax outputs */
#define LSE_ULPS 1     /* log-sum-exp, relative to the larger of |lse| and |max x| */

/* ============================================================================================
 * Reference and helpers
 * ========================================================================================== */

/* Three passes in long double: the maximum, s = sum e^{x_i - max} (compensated: a plain long
 * double sum of 10^6 terms is off by several double ulps), then y_i = e^{x_i - max} / s. */
static double reference(int n, const double *x, double *y)
{
    long double mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    long double s = 0.0L, c = 0.0L;
    for (int i = 0; i < n; i++) {
        long double v = expl((long double)x[i] - mx), t = s + v;
        c += fabsl(s) >= fabsl(v) ? (s - t) + v : (v - t) + s;
        s = t;
    }
    s += c;
    for (int i = 0; i < n; i++)
        y[i] = (double)(expl((long double)x[i] - mx) / s);
    return (double)(mx + logl(s));
}

/* Distance in ulps between two non-negative finite doubles (0 when equal). */
static double ulp_dist(double a, double b)
{
    int64_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    return fabs((double)(ia - ib));
}

/* Largest ulp distance between y and the reference yr (outputs are non-negative). */
static double max_ulps(int n, const double *y, const double *yr)
{
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        assert_true(y[i] >= 0.0 && isfinite(y[i]));
        worst = fmax(worst, ulp_dist(y[i], yr[i]));
    }
    return worst;
}

/* |lse - ref| in ulps of max(|ref|, max |x|): the scale the inputs give the result. */
static double lse_ulps(double lse, double ref, int n, const double *x)
{
    double scale = fabs(ref);
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs(x[i]));
    double ulp = nextafter(scale, INFINITY) - scale;
    return fabs(lse - ref) / ulp;
}

/* ============================================================================================
 * Agreement with the reference
 * ========================================================================================== */

/* 10^6 normal scores with standard deviation 10 (a softmax over a million classes): every
 * probability within a few ulps of the reference. */
static void test_million_values(void **state)
{
    (void)state;
    const int n = 1000000;
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    double *yr = malloc((size_t)n * sizeof *yr);
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(yr);
    sv_rng r;
    sv_rng_seed(&r, 20200714);
    for (int i = 0; i < n; i++)
        x[i] = 10.0 * sv_rng_normal(&r);

    double lse = sv_softmax(n, x, y);
    double lse_ref = reference(n, x, yr);
    double yu = max_ulps(n, y, yr), lu = lse_ulps(lse, lse_ref, n, x);
    printf("  1e6 values: max %.0f ulps (softmax), %.2f ulps (log-sum-exp)\n", yu, lu);
    assert_true(yu <= Y_ULPS);
    assert_true(lu <= LSE_ULPS);
    assert_true(fabs(sv_logsumexp(n, x) - lse) == 0.0);
    free(x);
    free(y);
    free(yr);
}

/* Several spreads, from nearly equal scores to ones 700 apart (outputs down to 1e-300). */
static void test_spreads(void **state)
{
    (void)state;
    const int n = 5000;
    static const double spread[] = {1e-6, 1.0, 30.0, 300.0, 700.0};
    double x[5000], y[5000], yr[5000];
    sv_rng r;
    sv_rng_seed(&r, 3);
    for (size_t s = 0; s < sizeof spread / sizeof spread[0]; s++) {
        for (int i = 0; i < n; i++)
            x[i] = spread[s] * (2.0 * sv_rng_uniform(&r) - 1.0) + 5.0;
        double lse = sv_softmax(n, x, y), lse_ref = reference(n, x, yr);
        double worst = 0.0;
        for (int i = 0; i < n; i++)
            if (yr[i] >= DBL_MIN)  /* subnormal outputs are compared below */
                worst = fmax(worst, ulp_dist(y[i], yr[i]));
            else
                assert_true(fabs(y[i] - yr[i]) <= 2 * DBL_TRUE_MIN);
        assert_true(worst <= Y_ULPS);
        assert_true(lse_ulps(lse, lse_ref, n, x) <= LSE_ULPS);
    }
}

/* Far from the origin the argument reduction x - n ln 2 needs ln 2 to more than double
 * precision: scores around 10^15 (ulp 1/8) and 4 * 10^18 (ulp 512, so e^{-512} ~ 1e-223 shows).
 * The reference subtracts the maximum exactly in long double. */
static void test_large_offsets(void **state)
{
    (void)state;
    double x[200], y[200], yr[200];
    sv_rng r;
    sv_rng_seed(&r, 5);
    for (int i = 0; i < 200; i++)
        x[i] = 1e15 + floor(sv_rng_uniform(&r) * 240.0) * 0.125;
    double lse = sv_softmax(200, x, y), lse_ref = reference(200, x, yr);
    assert_true(max_ulps(200, y, yr) <= Y_ULPS);
    assert_true(lse_ulps(lse, lse_ref, 200, x) <= LSE_ULPS);

    const double big = 4e18;  /* a multiple of 512, below 2^62 */
    double xb[3] = {big, big - 512.0, big - 1024.0};
    lse = sv_softmax(3, xb, y);
    reference(3, xb, yr);
    assert_true(max_ulps(3, y, yr) <= Y_ULPS);
    assert_true(y[1] > 1e-224 && y[1] < 1e-222);
    assert_true(lse == big);
}

/* Accumulating in chunks is the same computation: bit-identical results. */
static void test_chunked_accumulation(void **state)
{
    (void)state;
    double x[1000], y1[1000], y2[1000];
    sv_rng r;
    sv_rng_seed(&r, 9);
    for (int i = 0; i < 1000; i++)
        x[i] = 50.0 * sv_rng_normal(&r);
    sv_lse_acc acc;
    sv_lse_init(&acc);
    for (int i = 0; i < 1000; i += 137)
        sv_lse_accumulate(i + 137 <= 1000 ? 137 : 1000 - i, x + i, &acc);
    double lse = sv_softmax(1000, x, y1);
    sv_softmax_finish(1000, x, &acc, y2);
    assert_true(sv_lse_value(&acc) == lse);
    assert_memory_equal(y1, y2, sizeof y1);

    /* y may be x */
    double z[1000];
    memcpy(z, x, sizeof z);
    sv_softmax(1000, z, z);
    assert_memory_equal(z, y1, sizeof z);
}

/* ============================================================================================
 * Exact answers
 * ========================================================================================== */

static void test_exact_cases(void **state)
{
    (void)state;
    double y[4];

    double a[2] = {1000.0, 1000.0};
    double lse = sv_softmax(2, a, y);
    assert_true(y[0] == 0.5 && y[1] == 0.5);
    assert_true(lse == (double)(1000.0L + logl(2.0L)));

    double b[2] = {-1e4, 0.0};
    lse = sv_softmax(2, b, y);
    assert_true(y[0] == 0.0 && y[1] == 1.0);
    assert_true(lse == 0.0);
    assert_true(sv_logsumexp(2, b) == 0.0);

    double c[1] = {-745.5};
    lse = sv_softmax(1, c, y);
    assert_true(y[0] == 1.0 && lse == -745.5);

    double d[4] = {3.0, 3.0, 3.0, 3.0};
    lse = sv_softmax(4, d, y);
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == 0.25);
    assert_true(lse == (double)(3.0L + logl(4.0L)));

    /* a single dominant score: log1p keeps the tiny rest, 0 + log(1 + e^-40) */
    double e[2] = {0.0, -40.0};
    lse = sv_softmax(2, e, y);
    double tiny = (double)log1pl(expl(-40.0L));
    assert_true(fabs(lse - tiny) <= LSE_ULPS * DBL_EPSILON * tiny);
    assert_true(y[0] == 1.0);
}

/* ±1e308 and the largest doubles: no NaN, no overflow, the exact limits. */
static void test_huge_magnitudes(void **state)
{
    (void)state;
    double y[4];

    double a[2] = {1e308, -1e308};
    double lse = sv_softmax(2, a, y);
    assert_true(y[0] == 1.0 && y[1] == 0.0);
    assert_true(lse == 1e308);

    double b[2] = {-1e308, -1e308};
    lse = sv_softmax(2, b, y);
    assert_true(y[0] == 0.5 && y[1] == 0.5);
    assert_true(lse == -1e308);  /* log 2 is far below ulp(1e308) */

    double c[3] = {DBL_MAX, DBL_MAX, 0.0};
    lse = sv_softmax(3, c, y);
    assert_true(y[0] == 0.5 && y[1] == 0.5 && y[2] == 0.0);
    assert_true(lse == DBL_MAX);

    double d[3] = {-DBL_MAX, 5.0, 5.0};
    lse = sv_softmax(3, d, y);
    assert_true(y[0] == 0.0 && y[1] == 0.5 && y[2] == 0.5);
    assert_true(lse == (double)(5.0L + logl(2.0L)));

    double e[4] = {1.3e308, 1.5e308, 1e308, -DBL_MAX};
    lse = sv_softmax(4, e, y);
    assert_true(y[0] == 0.0 && y[1] == 1.0 && y[2] == 0.0 && y[3] == 0.0);
    assert_true(lse == 1.5e308);

    double f[3] = {-DBL_MAX, -1.5e308, -1.3e308};
    lse = sv_softmax(3, f, y);
    assert_true(y[0] == 0.0 && y[1] == 0.0 && y[2] == 1.0);
    assert_true(lse == -1.3e308);

    /* either side of the 2^62 boundary: 2^62 + 1024 is the next double, e^-1024 = 0 */
    double g[2] = {SV_SOFTMAX_EXACT_MAX + 1024.0, SV_SOFTMAX_EXACT_MAX};
    lse = sv_softmax(2, g, y);
    assert_true(y[0] == 1.0 && y[1] == 0.0 && lse == g[0]);
    double h[2] = {-SV_SOFTMAX_EXACT_MAX - 1024.0, -SV_SOFTMAX_EXACT_MAX};
    lse = sv_softmax(2, h, y);
    assert_true(y[0] == 0.0 && y[1] == 1.0 && lse == h[1]);

    /* the three-pass version in double overflows nothing either on these */
    lse = sv_softmax_threepass(2, a, y);
    assert_true(y[0] == 1.0 && y[1] == 0.0 && lse == 1e308);
}

static void test_non_finite_and_empty(void **state)
{
    (void)state;
    double y[3];
    double mask[3] = {-INFINITY, 0.0, 0.0};
    double lse = sv_softmax(3, mask, y);
    assert_true(y[0] == 0.0 && y[1] == 0.5 && y[2] == 0.5);
    assert_true(lse == (double)logl(2.0L));

    double nan_in[3] = {1.0, NAN, 2.0};
    lse = sv_softmax(3, nan_in, y);
    assert_true(isnan(lse) && isnan(y[0]) && isnan(y[1]) && isnan(y[2]));

    double inf_in[2] = {INFINITY, 2.0};
    assert_true(isnan(sv_logsumexp(2, inf_in)));

    double all_masked[2] = {-INFINITY, -INFINITY};
    lse = sv_softmax(2, all_masked, y);
    assert_true(lse == -INFINITY && isnan(y[0]) && isnan(y[1]));

    assert_true(sv_logsumexp(0, NULL) == -INFINITY);
}

/* The three-pass function in double is the textbook algorithm: close to the reference. */
static void test_threepass(void **state)
{
    (void)state;
    double x[300], y[300], yr[300];
    sv_rng r;
    sv_rng_seed(&r, 17);
    for (int i = 0; i < 300; i++)
        x[i] = 3.0 * sv_rng_normal(&r);
    double lse = sv_softmax_threepass(300, x, y), lse_ref = reference(300, x, yr);
    for (int i = 0; i < 300; i++)
        assert_true(fabs(y[i] - yr[i]) <= 1e-13 * yr[i]);
    assert_true(fabs(lse - lse_ref) <= 1e-14 * fabs(lse_ref));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_values),
        cmocka_unit_test(test_spreads),
        cmocka_unit_test(test_large_offsets),
        cmocka_unit_test(test_chunked_accumulation),
        cmocka_unit_test(test_exact_cases),
        cmocka_unit_test(test_huge_magnitudes),
        cmocka_unit_test(test_non_finite_and_empty),
        cmocka_unit_test(test_threepass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
