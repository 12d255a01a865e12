/* test_softmax.c - the two-pass log-sum-exp and softmax (core/kernels/softmax*.c) against a
 * careful three-pass reference computed in long double (maximum shift, compensated long double
 * sums and exponentials), on exact cases, edge cases, and huge and non-finite inputs. Every test
 * runs once per code path (scalar, AVX2, AVX-512) through the internal entry points of
 * softmax_simd.h; a path this CPU cannot run is skipped with what it lacks. */
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
#include "core/kernels/softmax_simd.h"

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
        if (isfinite(x[i]))
            scale = fmax(scale, fabs(x[i]));
    double ulp = nextafter(scale, INFINITY) - scale;
    return fabs(lse - ref) / ulp;
}

/* ============================================================================================
 * One code path per test run
 * ========================================================================================== */

/* The path of this run (the test's state), or a skip when the CPU lacks it. */
static sv__softmax_path run_path(void **state)
{
    sv__softmax_path p = *(const sv__softmax_path *)*state;
    if (!sv__softmax_path_supported(p)) {
        printf("  skipped: the %s path needs %s, which this CPU or build lacks\n",
               sv__softmax_path_name(p), sv__softmax_path_missing(p));
        skip();
    }
    return p;
}

static double softmax_p(sv__softmax_path p, int n, const double *x, double *y)
{
    return sv__softmax_via(p, n, x, y);
}

static double logsumexp_p(sv__softmax_path p, int n, const double *x)
{
    sv_lse_acc acc;
    sv_lse_init(&acc);
    sv__lse_accumulate_via(p, n, x, &acc);
    return sv_lse_value(&acc);
}

/* 1 when the first pass of path p went through the scalar code for x. */
static int took_scalar(sv__softmax_path p, int n, const double *x)
{
    sv_lse_acc acc;
    sv_lse_init(&acc);
    sv__lse_accumulate_via(p, n, x, &acc);
    return acc.scalar;
}

/* ============================================================================================
 * Agreement with the reference
 * ========================================================================================== */

/* 10^6 normal scores with standard deviation 10 (a softmax over a million classes): every
 * probability within a few ulps of the reference. */
static void test_million_values(void **state)
{
    sv__softmax_path p = run_path(state);
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

    double lse = softmax_p(p, n, x, y);
    double lse_ref = reference(n, x, yr);
    double yu = max_ulps(n, y, yr), lu = lse_ulps(lse, lse_ref, n, x);
    printf("  %s, 1e6 values: max %.0f ulps (softmax), %.2f ulps (log-sum-exp)\n",
           sv__softmax_path_name(p), yu, lu);
    assert_true(yu <= Y_ULPS);
    assert_true(lu <= LSE_ULPS);
    assert_true(logsumexp_p(p, n, x) == lse);
    /* the vector paths did the work themselves */
    assert_int_equal(took_scalar(p, n, x), p == SV__SOFTMAX_SCALAR);
    free(x);
    free(y);
    free(yr);
}

/* Several spreads, from nearly equal scores to ones 700 apart (outputs down to 1e-300). */
static void test_spreads(void **state)
{
    sv__softmax_path p = run_path(state);
    const int n = 5000;
    static const double spread[] = {1e-6, 1.0, 30.0, 300.0, 700.0};
    double x[5000], y[5000], yr[5000];
    sv_rng r;
    sv_rng_seed(&r, 3);
    for (size_t s = 0; s < sizeof spread / sizeof spread[0]; s++) {
        for (int i = 0; i < n; i++)
            x[i] = spread[s] * (2.0 * sv_rng_uniform(&r) - 1.0) + 5.0;
        double lse = softmax_p(p, n, x, y), lse_ref = reference(n, x, yr);
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
    sv__softmax_path p = run_path(state);
    double x[200], y[200], yr[200];
    sv_rng r;
    sv_rng_seed(&r, 5);
    for (int i = 0; i < 200; i++)
        x[i] = 1e15 + floor(sv_rng_uniform(&r) * 240.0) * 0.125;
    double lse = softmax_p(p, 200, x, y), lse_ref = reference(200, x, yr);
    assert_true(max_ulps(200, y, yr) <= Y_ULPS);
    assert_true(lse_ulps(lse, lse_ref, 200, x) <= LSE_ULPS);

    const double big = 4e18;  /* a multiple of 512, below 2^62 */
    double xb[3] = {big, big - 512.0, big - 1024.0};
    lse = softmax_p(p, 3, xb, y);
    reference(3, xb, yr);
    assert_true(max_ulps(3, y, yr) <= Y_ULPS);
    assert_true(y[1] > 1e-224 && y[1] < 1e-222);
    assert_true(lse == big);
}

/* Accumulating in chunks sums in another order (the vector paths sum in lanes), so the result
 * is the same to rounding, not to the bit: both within the tolerance of the reference, and
 * accumulate + finish over the whole array is exactly sv_softmax. */
static void test_chunked_accumulation(void **state)
{
    sv__softmax_path p = run_path(state);
    double x[1000], y1[1000], y2[1000], yr[1000];
    sv_rng r;
    sv_rng_seed(&r, 9);
    for (int i = 0; i < 1000; i++)
        x[i] = 50.0 * sv_rng_normal(&r);
    double lse_ref = reference(1000, x, yr);
    sv_lse_acc acc;
    sv_lse_init(&acc);
    for (int i = 0; i < 1000; i += 137)
        sv__lse_accumulate_via(p, i + 137 <= 1000 ? 137 : 1000 - i, x + i, &acc);
    double lse = softmax_p(p, 1000, x, y1);
    sv__softmax_finish_via(p, 1000, x, &acc, y2);
    assert_true(lse_ulps(sv_lse_value(&acc), lse_ref, 1000, x) <= LSE_ULPS);
    assert_true(lse_ulps(lse, lse_ref, 1000, x) <= LSE_ULPS);
    assert_true(max_ulps(1000, y1, yr) <= Y_ULPS);
    assert_true(max_ulps(1000, y2, yr) <= Y_ULPS);

    sv_lse_init(&acc);
    sv__lse_accumulate_via(p, 1000, x, &acc);
    sv__softmax_finish_via(p, 1000, x, &acc, y2);
    assert_true(sv_lse_value(&acc) == lse);
    assert_memory_equal(y1, y2, sizeof y1);

    /* y may be x */
    double z[1000];
    memcpy(z, x, sizeof z);
    softmax_p(p, 1000, z, z);
    assert_memory_equal(z, y1, sizeof z);

    /* a chunk that needs the scalar code (weights all below e^{-2^26 + 1000}) after a vector
     * chunk: the second pass follows it, and the weights are still right */
    double w[40];
    for (int i = 0; i < 40; i++)
        w[i] = i < 32 ? (double)(i % 7) : -1e8 - i;
    sv_lse_init(&acc);
    sv__lse_accumulate_via(p, 32, w, &acc);
    sv__lse_accumulate_via(p, 8, w + 32, &acc);
    assert_int_equal(acc.scalar, 1);
    sv__softmax_finish_via(p, 40, w, &acc, y2);
    reference(40, w, yr);
    assert_true(max_ulps(40, y2, yr) <= Y_ULPS);
}

/* ============================================================================================
 * Exact answers
 * ========================================================================================== */

static void test_exact_cases(void **state)
{
    sv__softmax_path p = run_path(state);
    double y[4];

    double a[2] = {1000.0, 1000.0};
    double lse = softmax_p(p, 2, a, y);
    assert_true(y[0] == 0.5 && y[1] == 0.5);
    assert_true(lse == (double)(1000.0L + logl(2.0L)));

    double b[2] = {-1e4, 0.0};
    lse = softmax_p(p, 2, b, y);
    assert_true(y[0] == 0.0 && y[1] == 1.0);
    assert_true(lse == 0.0);
    assert_true(logsumexp_p(p, 2, b) == 0.0);

    double c[1] = {-745.5};
    lse = softmax_p(p, 1, c, y);
    assert_true(y[0] == 1.0 && lse == -745.5);

    double d[4] = {3.0, 3.0, 3.0, 3.0};
    lse = softmax_p(p, 4, d, y);
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == 0.25);
    assert_true(lse == (double)(3.0L + logl(4.0L)));

    /* a single dominant score: log1p keeps the tiny rest, 0 + log(1 + e^-40) */
    double e[2] = {0.0, -40.0};
    lse = softmax_p(p, 2, e, y);
    double tiny = (double)log1pl(expl(-40.0L));
    assert_true(fabs(lse - tiny) <= LSE_ULPS * DBL_EPSILON * tiny);
    assert_true(y[0] == 1.0);
}

/* ±1e308 and the largest doubles: no NaN, no overflow, the exact limits. */
static void test_huge_magnitudes(void **state)
{
    sv__softmax_path p = run_path(state);
    double y[4];

    double a[2] = {1e308, -1e308};
    double lse = softmax_p(p, 2, a, y);
    assert_true(y[0] == 1.0 && y[1] == 0.0);
    assert_true(lse == 1e308);

    double b[2] = {-1e308, -1e308};
    lse = softmax_p(p, 2, b, y);
    assert_true(y[0] == 0.5 && y[1] == 0.5);
    assert_true(lse == -1e308);  /* log 2 is far below ulp(1e308) */

    double c[3] = {DBL_MAX, DBL_MAX, 0.0};
    lse = softmax_p(p, 3, c, y);
    assert_true(y[0] == 0.5 && y[1] == 0.5 && y[2] == 0.0);
    assert_true(lse == DBL_MAX);

    double d[3] = {-DBL_MAX, 5.0, 5.0};
    lse = softmax_p(p, 3, d, y);
    assert_true(y[0] == 0.0 && y[1] == 0.5 && y[2] == 0.5);
    assert_true(lse == (double)(5.0L + logl(2.0L)));

    double e[4] = {1.3e308, 1.5e308, 1e308, -DBL_MAX};
    lse = softmax_p(p, 4, e, y);
    assert_true(y[0] == 0.0 && y[1] == 1.0 && y[2] == 0.0 && y[3] == 0.0);
    assert_true(lse == 1.5e308);

    double f[3] = {-DBL_MAX, -1.5e308, -1.3e308};
    lse = softmax_p(p, 3, f, y);
    assert_true(y[0] == 0.0 && y[1] == 0.0 && y[2] == 1.0);
    assert_true(lse == -1.3e308);

    /* either side of the 2^62 boundary: 2^62 + 1024 is the next double, e^-1024 = 0 */
    double g[2] = {SV_SOFTMAX_EXACT_MAX + 1024.0, SV_SOFTMAX_EXACT_MAX};
    lse = softmax_p(p, 2, g, y);
    assert_true(y[0] == 1.0 && y[1] == 0.0 && lse == g[0]);
    double h[2] = {-SV_SOFTMAX_EXACT_MAX - 1024.0, -SV_SOFTMAX_EXACT_MAX};
    lse = softmax_p(p, 2, h, y);
    assert_true(y[0] == 0.0 && y[1] == 1.0 && lse == h[1]);

    /* the three-pass version in double overflows nothing either on these */
    lse = sv__softmax_threepass_via(p, 2, a, y);
    assert_true(y[0] == 1.0 && y[1] == 0.0 && lse == 1e308);
}

static void test_non_finite_and_empty(void **state)
{
    sv__softmax_path p = run_path(state);
    double y[3];
    double mask[3] = {-INFINITY, 0.0, 0.0};
    double lse = softmax_p(p, 3, mask, y);
    assert_true(y[0] == 0.0 && y[1] == 0.5 && y[2] == 0.5);
    assert_true(lse == (double)logl(2.0L));

    double nan_in[3] = {1.0, NAN, 2.0};
    lse = softmax_p(p, 3, nan_in, y);
    assert_true(isnan(lse) && isnan(y[0]) && isnan(y[1]) && isnan(y[2]));

    double inf_in[2] = {INFINITY, 2.0};
    assert_true(isnan(logsumexp_p(p, 2, inf_in)));

    double all_masked[2] = {-INFINITY, -INFINITY};
    lse = softmax_p(p, 2, all_masked, y);
    assert_true(lse == -INFINITY && isnan(y[0]) && isnan(y[1]));

    assert_true(logsumexp_p(p, 0, NULL) == -INFINITY);
}

/* The three-pass function in double is the textbook algorithm: close to the reference. */
static void test_threepass(void **state)
{
    sv__softmax_path p = run_path(state);
    double x[300], y[300], yr[300];
    sv_rng r;
    sv_rng_seed(&r, 17);
    for (int i = 0; i < 300; i++)
        x[i] = 3.0 * sv_rng_normal(&r);
    double lse = sv__softmax_threepass_via(p, 300, x, y), lse_ref = reference(300, x, yr);
    for (int i = 0; i < 300; i++)
        assert_true(fabs(y[i] - yr[i]) <= 1e-13 * yr[i]);
    assert_true(fabs(lse - lse_ref) <= 1e-14 * fabs(lse_ref));
}

/* Outputs past SV__SOFTMAX_STREAM_MIN go out through non-temporal stores after a head that
 * aligns y: y at offsets 0, 1 and 5 doubles from a 64-byte boundary, and in place, with -inf
 * masks in the head, the body and the tail; both methods against the reference. */
static void test_streamed_outputs(void **state)
{
    sv__softmax_path p = run_path(state);
    const int n = (int)SV__SOFTMAX_STREAM_MIN + 13;
    /* aligned_alloc wants a size that is a multiple of the alignment */
    size_t bytes = (((size_t)n + 8) * sizeof(double) + 63) / 64 * 64;
    double *buf = aligned_alloc(64, bytes);
    double *x = malloc((size_t)n * sizeof *x);
    double *yr = malloc((size_t)n * sizeof *yr);
    assert_non_null(buf);
    assert_non_null(x);
    assert_non_null(yr);
    sv_rng r;
    sv_rng_seed(&r, 4);
    for (int i = 0; i < n; i++)
        x[i] = 10.0 * sv_rng_normal(&r);
    x[0] = x[2] = x[n / 2] = x[n - 1] = -INFINITY;
    double lse_ref = reference(n, x, yr);
    static const int offsets[] = {0, 1, 5, -1}; /* -1: in place, y = x */
    for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
        double *y = buf + (offsets[o] < 0 ? 3 : offsets[o]);
        if (offsets[o] < 0)
            memcpy(y, x, (size_t)n * sizeof *x);
        double lse = softmax_p(p, n, offsets[o] < 0 ? y : x, y);
        assert_true(lse_ulps(lse, lse_ref, n, x) <= LSE_ULPS);
        assert_true(max_ulps(n, y, yr) <= Y_ULPS);
        assert_true(y[0] == 0.0 && y[2] == 0.0 && y[n / 2] == 0.0 && y[n - 1] == 0.0);
    }
    /* The three-pass sum is the textbook one, uncompensated: over 4 million terms it is good to
     * about 1e-12, which is what is asked of it here (a misplaced store would be off by far
     * more). */
    double *y = buf + 1;
    double l3 = sv__softmax_threepass_via(p, n, x, y);
    assert_true(fabs(l3 - lse_ref) <= 1e-11 * fabs(lse_ref));
    for (int i = 0; i < n; i++)
        assert_true(fabs(y[i] - yr[i]) <= 1e-10 * yr[i]);
    free(buf);
    free(x);
    free(yr);
}

/* ============================================================================================
 * Edge cases of the vector paths: widths, tails, alignment, masks, ranges
 * ========================================================================================== */

/* n = 1..67 (every remainder modulo 4, 8 and the 32 of four accumulators), each at offsets 0..3
 * doubles into the buffer (pointers not aligned to the vector width), with -inf masks in some
 * runs; y within Y_ULPS, masked entries exactly 0. */
static void test_lengths_and_alignment(void **state)
{
    sv__softmax_path p = run_path(state);
    double buf[80], x[70], y[80], yr[70];
    sv_rng r;
    sv_rng_seed(&r, 11);
    for (int n = 1; n <= 67; n++) {
        for (int off = 0; off < 4; off++) {
            for (int i = 0; i < n; i++) {
                x[i] = 8.0 * sv_rng_normal(&r);
                if (off == 3 && i % 3 == 1)
                    x[i] = -INFINITY;
            }
            memcpy(buf + off, x, (size_t)n * sizeof *x);
            for (int i = 0; i < 80; i++)
                y[i] = -1.0; /* canary: nothing outside y[off .. off + n) is written */
            double lse = softmax_p(p, n, buf + off, y + off);
            double lse_ref = reference(n, x, yr);
            for (int i = 0; i < n; i++) {
                if (x[i] == -INFINITY)
                    assert_true(y[off + i] == 0.0);
                else
                    assert_true(ulp_dist(y[off + i], yr[i]) <= Y_ULPS);
            }
            for (int i = 0; i < 80; i++)
                if (i < off || i >= off + n)
                    assert_true(y[i] == -1.0);
            if (lse_ref > -INFINITY)
                assert_true(lse_ulps(lse, lse_ref, n, x) <= LSE_ULPS);
            double y3[80];
            double l3 = sv__softmax_threepass_via(p, n, buf + off, y3 + off);
            if (lse_ref > -INFINITY) {
                assert_true(fabs(l3 - lse_ref) <= 1e-14 * fmax(1.0, fabs(lse_ref)));
                for (int i = 0; i < n; i++)
                    assert_true(fabs(y3[off + i] - yr[i]) <= 1e-13 * yr[i]);
            }
        }
    }
}

/* Equal inputs, n = 1 and tiny inputs: exact answers. */
static void test_equal_and_tiny(void **state)
{
    sv__softmax_path p = run_path(state);
    static double x[1000], y[1000];
    for (int i = 0; i < 1000; i++)
        x[i] = 7.25;
    double lse = softmax_p(p, 1000, x, y);
    for (int i = 0; i < 1000; i++)
        assert_true(ulp_dist(y[i], 1e-3) <= 1);
    assert_true(lse == (double)(7.25L + logl(1000.0L)));
    for (int i = 0; i < 1024; i++)
        if (i < 1000)
            x[i] = -3.0;
    softmax_p(p, 512, x, y);
    for (int i = 0; i < 512; i++)
        assert_true(y[i] == 1.0 / 512.0); /* a power of two: exact */

    /* subnormal and zero inputs weigh like 0 */
    double t[5] = {DBL_TRUE_MIN, -DBL_TRUE_MIN, 0.0, -0.0, 1e-300}, yt[5];
    lse = softmax_p(p, 5, t, yt);
    for (int i = 0; i < 5; i++)
        assert_true(yt[i] == 0.2);
    assert_true(lse == (double)logl(5.0L));

    double one[1] = {-123.456}, y1[1];
    lse = softmax_p(p, 1, one, y1);
    assert_true(y1[0] == 1.0 && lse == -123.456);
}

/* Outputs deep in the subnormal range (spread 1400): rounded once, not flushed. */
static void test_subnormal_outputs(void **state)
{
    sv__softmax_path p = run_path(state);
    double x[64], y[64], yr[64];
    for (int i = 0; i < 64; i++)
        x[i] = -(double)i * 12.0; /* e^-744 ... */
    x[5] = 0.5;
    softmax_p(p, 64, x, y);
    reference(64, x, yr);
    int subnormal = 0;
    for (int i = 0; i < 64; i++) {
        if (yr[i] >= DBL_MIN)
            assert_true(ulp_dist(y[i], yr[i]) <= Y_ULPS);
        else
            assert_true(fabs(y[i] - yr[i]) <= DBL_TRUE_MIN), subnormal += yr[i] > 0.0;
    }
    assert_true(subnormal >= 2); /* the case is exercised */
}

/* Ascending inputs one apart: the exponent of every lane rises at every term, the case where
 * the compensated sum loses its error-free step. */
static void test_rising_exponents(void **state)
{
    sv__softmax_path p = run_path(state);
    enum { N = 4000 };
    static double x[N], y[N], yr[N];
    for (int i = 0; i < N; i++)
        x[i] = -600.0 + 0.31 * i + (i % 3 == 0 ? 0.7 : 0.0);
    double lse = softmax_p(p, N, x, y), lse_ref = reference(N, x, yr);
    double worst = 0.0;
    for (int i = 0; i < N; i++)
        if (yr[i] >= DBL_MIN)
            worst = fmax(worst, ulp_dist(y[i], yr[i]));
    assert_true(worst <= Y_ULPS);
    assert_true(lse_ulps(lse, lse_ref, N, x) <= LSE_ULPS);
}

/* Around the range of the vector code (|x| <= 2^26; see softmax_simd.h): inputs beyond it,
 * or a block whose weights all lie below e^{-2^26 + 1000}, go through the scalar code and keep
 * its answers; very negative inputs next to ordinary ones are weight 0 in the vector code. */
static void test_vector_range(void **state)
{
    sv__softmax_path p = run_path(state);
    const double B = SV__SOFTMAX_VEC_MAX;
    double y[12], yr[12];
    int vec = p != SV__SOFTMAX_SCALAR;

    double a[9] = {1.0, -B - 1.0, 2.0, -1e300, 3.0, -INFINITY, -B, 0.0, -DBL_MAX};
    double lse = softmax_p(p, 9, a, y), lse_ref = reference(9, a, yr);
    assert_int_equal(took_scalar(p, 9, a), !vec);
    assert_true(max_ulps(9, y, yr) <= Y_ULPS);
    assert_true(y[1] == 0.0 && y[3] == 0.0 && y[5] == 0.0 && y[6] == 0.0 && y[8] == 0.0);
    assert_true(lse_ulps(lse, lse_ref, 9, a) <= LSE_ULPS);

    double b[10] = {B, B - 1.0, B - 0.5, 0, 0, 0, 0, 0, 0, 0};
    lse = softmax_p(p, 10, b, y);
    lse_ref = reference(10, b, yr);
    assert_int_equal(took_scalar(p, 10, b), !vec);
    assert_true(max_ulps(10, y, yr) <= Y_ULPS);
    assert_true(lse_ulps(lse, lse_ref, 10, b) <= LSE_ULPS);

    double c[10] = {B * 2.0, B * 2.0 - 1.0, 0, 0, 0, 0, 0, 0, 0, 0};
    lse = softmax_p(p, 10, c, y);
    lse_ref = reference(10, c, yr);
    assert_int_equal(took_scalar(p, 10, c), 1);
    assert_true(max_ulps(10, y, yr) <= Y_ULPS);
    assert_true(lse_ulps(lse, lse_ref, 10, c) <= LSE_ULPS);

    /* all weights far below: the scalar code's exact tier */
    double d[11] = {-B - 10.0, -B - 12.0, -B + 500.0, -B - 2000.0, -B, -B, -B, -B, -B, -B, -B};
    lse = softmax_p(p, 11, d, y);
    lse_ref = reference(11, d, yr);
    assert_int_equal(took_scalar(p, 11, d), 1);
    assert_true(max_ulps(11, y, yr) <= Y_ULPS);
    assert_true(lse_ulps(lse, lse_ref, 11, d) <= LSE_ULPS);
}

/* A NaN or +inf anywhere, the tail included, makes everything NaN on every path. */
static void test_nan_positions(void **state)
{
    sv__softmax_path p = run_path(state);
    double x[37], y[37];
    for (int pos = 0; pos < 37; pos++) {
        for (int bad = 0; bad < 2; bad++) {
            for (int i = 0; i < 37; i++)
                x[i] = 0.1 * i;
            x[pos] = bad ? INFINITY : NAN;
            double lse = softmax_p(p, 37, x, y);
            assert_true(isnan(lse));
            for (int i = 0; i < 37; i++)
                assert_true(isnan(y[i]));
            assert_true(isnan(sv__softmax_threepass_via(p, 37, x, y)));
            for (int i = 0; i < 37; i++)
                assert_true(isnan(y[i]));
        }
    }
}

/* The public functions use the widest path this CPU runs, and the paths agree. */
static void test_dispatch(void **state)
{
    (void)state;
    sv__softmax_path want = sv__softmax_path_supported(SV__SOFTMAX_AVX512) ? SV__SOFTMAX_AVX512
                            : sv__softmax_path_supported(SV__SOFTMAX_AVX2) ? SV__SOFTMAX_AVX2
                                                                            : SV__SOFTMAX_SCALAR;
    printf("  chosen path: %s\n", sv__softmax_path_name(sv__softmax_path_chosen()));
    assert_int_equal(sv__softmax_path_chosen(), want);
    assert_true(sv__softmax_path_supported(SV__SOFTMAX_SCALAR));

    enum { N = 3001 };
    static double x[N], y[N], yp[N];
    sv_rng r;
    sv_rng_seed(&r, 23);
    for (int i = 0; i < N; i++)
        x[i] = 20.0 * sv_rng_normal(&r);
    double lse = sv_softmax(N, x, y);
    double lp = sv__softmax_via(want, N, x, yp);
    assert_true(lse == lp);
    assert_memory_equal(y, yp, sizeof y);
    for (int q = 0; q < SV__SOFTMAX_NPATHS; q++) {
        if (!sv__softmax_path_supported((sv__softmax_path)q))
            continue;
        sv__softmax_via((sv__softmax_path)q, N, x, yp);
        for (int i = 0; i < N; i++)
            assert_true(ulp_dist(y[i], yp[i]) <= 2 * Y_ULPS);
    }
}

int main(void)
{
    static const sv__softmax_path paths[SV__SOFTMAX_NPATHS] = {
        SV__SOFTMAX_SCALAR, SV__SOFTMAX_AVX2, SV__SOFTMAX_AVX512};
    static const struct {
        const char *name;
        CMUnitTestFunction fn;
    } per_path[] = {
        {"million_values", test_million_values},
        {"spreads", test_spreads},
        {"large_offsets", test_large_offsets},
        {"chunked_accumulation", test_chunked_accumulation},
        {"exact_cases", test_exact_cases},
        {"huge_magnitudes", test_huge_magnitudes},
        {"non_finite_and_empty", test_non_finite_and_empty},
        {"threepass", test_threepass},
        {"streamed_outputs", test_streamed_outputs},
        {"lengths_and_alignment", test_lengths_and_alignment},
        {"equal_and_tiny", test_equal_and_tiny},
        {"subnormal_outputs", test_subnormal_outputs},
        {"rising_exponents", test_rising_exponents},
        {"vector_range", test_vector_range},
        {"nan_positions", test_nan_positions},
    };
    enum { NT = sizeof per_path / sizeof per_path[0] };
    static char names[SV__SOFTMAX_NPATHS * NT][64];
    struct CMUnitTest tests[SV__SOFTMAX_NPATHS * NT + 1];
    int k = 0;
    for (int q = 0; q < SV__SOFTMAX_NPATHS; q++)
        for (int t = 0; t < NT; t++, k++) {
            snprintf(names[k], sizeof names[k], "%s/%s", sv__softmax_path_name(paths[q]),
                     per_path[t].name);
            tests[k] = (struct CMUnitTest){names[k], per_path[t].fn, NULL, NULL,
                                           (void *)&paths[q]};
        }
    tests[k++] = (struct CMUnitTest){"dispatch", test_dispatch, NULL, NULL, NULL};
    return _cmocka_run_group_tests("softmax", tests, (size_t)k, NULL, NULL);
}
