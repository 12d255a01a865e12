/* test_lbfgsb.c - the projected L-BFGS for box constraints (core/kernels/lbfgsb.c) on problems
 * with known minimisers: a convex quadratic over a box whose minimiser is built with coordinates
 * at the lower bound, at the upper bound, fixed (lo = hi) and interior (its KKT conditions hold by
 * construction), the unconstrained quadratic (the linear system's solution), Rosenbrock's function
 * with and without a bound that moves its minimiser to (0.5, 0.25); the iterates stay in the box;
 * an abort from the function and a start where f is not finite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels/lbfgsb.h"
#include "core/linalg.h"
#include "core/rng.h"

enum { N = 30 };

typedef struct {
    double Q[N * N], b[N];
    const double *lo, *hi;
    int outside;  /* evaluations outside the box */
    int evals, abort_after;
} quad;

/* f = 0.5 x'Qx - b'x, by hand loops (no BLAS). */
static int quad_fn(void *ctx, const double *x, double *f, double *g)
{
    quad *q = ctx;
    if (q->abort_after > 0 && q->evals >= q->abort_after)
        return 1;
    q->evals++;
    double v = 0;
    for (int i = 0; i < N; i++) {
        if ((q->lo && x[i] < q->lo[i]) || (q->hi && x[i] > q->hi[i]))
            q->outside++;
        double s = 0;
        for (int j = 0; j < N; j++)
            s += q->Q[i * N + j] * x[j];
        g[i] = s - q->b[i];
        v += x[i] * (0.5 * s - q->b[i]);
    }
    *f = v;
    return 0;
}

/* Q = M'M / N + 0.1 I (condition number in the hundreds). */
static void make_quad(quad *q, uint64_t seed)
{
    memset(q, 0, sizeof *q);
    sv_rng r;
    sv_rng_seed(&r, seed);
    double M[N * N];
    for (int i = 0; i < N * N; i++)
        M[i] = sv_rng_normal(&r);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++)
                s += M[k * N + i] * M[k * N + j];
            q->Q[i * N + j] = s / N + (i == j ? 0.1 : 0);
        }
}

static int run(sv_lbfgsb *w, long max_iter)
{
    int st = w->state;
    while (st == SV_LBFGSB_RUNNING && w->iter < max_iter)
        st = sv_lbfgsb_step(w);
    return st;
}

/* x* chosen first: coordinate i mod 4 = 0 at its lower bound with g_i > 0, 1 at its upper bound
 * with g_i < 0, 2 fixed (lo = hi) with any g_i, 3 interior with g_i = 0; then b = Q x* - g*. */
static void test_box_quadratic_known_minimiser(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        quad q;
        make_quad(&q, seed);
        sv_rng r;
        sv_rng_seed(&r, 100 + seed);
        double lo[N], hi[N], xs[N], gs[N], x0[N];
        for (int i = 0; i < N; i++) {
            lo[i] = -1 - sv_rng_uniform(&r);
            hi[i] = 1 + sv_rng_uniform(&r);
            double u = 0.5 + sv_rng_uniform(&r);
            switch (i % 4) {
            case 0: xs[i] = lo[i]; gs[i] = u; break;
            case 1: xs[i] = hi[i]; gs[i] = -u; break;
            case 2: lo[i] = hi[i] = xs[i] = 0.3; gs[i] = u - 1.0; break;
            default: xs[i] = lo[i] + (hi[i] - lo[i]) * sv_rng_uniform(&r); gs[i] = 0; break;
            }
            x0[i] = 0;
        }
        for (int i = 0; i < N; i++) {
            double s = 0;
            for (int j = 0; j < N; j++)
                s += q.Q[i * N + j] * xs[j];
            q.b[i] = s - gs[i];
        }
        q.lo = lo;
        q.hi = hi;
        sv_lbfgsb w;
        assert_int_equal(sv_lbfgsb_alloc(&w, N, 5), SV_OK);
        sv_lbfgsb_opts o;
        sv_lbfgsb_opts_default(&o);
        o.gtol = 1e-9;
        o.ftol = 0;  /* only a step that does not decrease f at all ends on f */
        assert_int_equal(sv_lbfgsb_start(&w, &o, lo, hi, x0, quad_fn, &q), SV_LBFGSB_RUNNING);
        int st = run(&w, 2000);
        double err = 0;
        for (int i = 0; i < N; i++)
            err = fmax(err, fabs(w.x[i] - xs[i]));
        /* |x - x*| <= |g_F| / lambda_min(Q) and lambda_min >= 0.1: 1e-6 leaves room for f's
         * rounding floor, where a step may stop decreasing f before gtol is met. */
        if ((st != SV_LBFGSB_CONV_PG && st != SV_LBFGSB_CONV_F) || !(err < 1e-6))
            fail_msg("seed %d: state %d after %ld iterations, |x - x*| = %g", (int)seed, st,
                     w.iter, err);
        assert_int_equal(q.outside, 0);  /* every evaluation inside the box */
        for (int i = 0; i < N; i += 4)
            assert_true(w.x[i] == lo[i]);  /* exactly at the bound, not near it */
        assert_true(w.nfev >= w.iter);
        sv_lbfgsb_free(&w);
    }
}

/* Without bounds the minimiser is Q^-1 b. */
static void test_unbounded_quadratic(void **state)
{
    (void)state;
    quad q;
    make_quad(&q, 9);
    double xs[N], x0[N] = {0};
    for (int i = 0; i < N; i++)
        xs[i] = sin(i + 1.0);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < N; j++)
            s += q.Q[i * N + j] * xs[j];
        q.b[i] = s;
    }
    sv_lbfgsb w;
    assert_int_equal(sv_lbfgsb_alloc(&w, N, 10), SV_OK);
    sv_lbfgsb_opts o;
    sv_lbfgsb_opts_default(&o);
    o.gtol = 1e-9;
    o.ftol = 0;
    assert_int_equal(sv_lbfgsb_start(&w, &o, NULL, NULL, x0, quad_fn, &q), SV_LBFGSB_RUNNING);
    int st = run(&w, 2000);
    assert_true(st == SV_LBFGSB_CONV_PG || st == SV_LBFGSB_CONV_F);
    for (int i = 0; i < N; i++)
        assert_true(fabs(w.x[i] - xs[i]) < 1e-6);
    sv_lbfgsb_free(&w);
}

static int rosen(void *ctx, const double *x, double *f, double *g)
{
    (void)ctx;
    double a = 1 - x[0], b = x[1] - x[0] * x[0];
    *f = a * a + 100 * b * b;
    g[0] = -2 * a - 400 * x[0] * b;
    g[1] = 200 * b;
    return 0;
}

/* Rosenbrock from (-1.2, 1): (1, 1) free; with x <= 0.5 the minimiser is (0.5, 0.25) (y = x^2
 * zeroes the second term, and (1 - x)^2 is least at the largest x), and f's stop test ends it. */
static void test_rosenbrock(void **state)
{
    (void)state;
    sv_lbfgsb w;
    assert_int_equal(sv_lbfgsb_alloc(&w, 2, 5), SV_OK);
    double x0[2] = {-1.2, 1}, lo[2] = {-2, -2}, hi[2] = {2, 2};
    sv_lbfgsb_opts o;
    sv_lbfgsb_opts_default(&o);
    o.gtol = 1e-9;
    assert_int_equal(sv_lbfgsb_start(&w, &o, lo, hi, x0, rosen, NULL), SV_LBFGSB_RUNNING);
    int st = run(&w, 1000);
    assert_true(st == SV_LBFGSB_CONV_PG || st == SV_LBFGSB_CONV_F);
    assert_true(fabs(w.x[0] - 1) < 1e-5 && fabs(w.x[1] - 1) < 1e-5);
    hi[0] = 0.5;
    assert_int_equal(sv_lbfgsb_start(&w, &o, lo, hi, x0, rosen, NULL), SV_LBFGSB_RUNNING);
    st = run(&w, 1000);
    assert_true(st == SV_LBFGSB_CONV_PG || st == SV_LBFGSB_CONV_F);
    assert_true(w.x[0] == 0.5);
    assert_true(fabs(w.x[1] - 0.25) < 1e-5);
    sv_lbfgsb_free(&w);
}

static int nan_fn(void *ctx, const double *x, double *f, double *g)
{
    (void)ctx, (void)x;
    *f = NAN;
    g[0] = 0;
    return 0;
}

/* fn's non-zero answer aborts with the last accepted iterate kept; a start where f is not finite
 * is refused. */
static void test_abort_and_bad_start(void **state)
{
    (void)state;
    quad q;
    make_quad(&q, 3);
    for (int i = 0; i < N; i++)
        q.b[i] = 1;
    q.abort_after = 6;
    double x0[N] = {0};
    sv_lbfgsb w;
    assert_int_equal(sv_lbfgsb_alloc(&w, N, 4), SV_OK);
    assert_int_equal(sv_lbfgsb_start(&w, NULL, NULL, NULL, x0, quad_fn, &q), SV_LBFGSB_RUNNING);
    int st = run(&w, 100);
    assert_int_equal(st, SV_LBFGSB_ABORTED);
    assert_int_equal(q.evals, 6);
    double f, g[N];
    q.abort_after = 0;
    quad_fn(&q, w.x, &f, g);
    assert_true(f == w.f);  /* x and f belong together */
    sv_lbfgsb_free(&w);
    assert_int_equal(sv_lbfgsb_alloc(&w, 1, 4), SV_OK);
    assert_int_equal(sv_lbfgsb_start(&w, NULL, NULL, NULL, x0, nan_fn, NULL), SV_LBFGSB_BAD_START);
    sv_lbfgsb_free(&w);
    sv_lbfgsb_free(&w);
    assert_int_equal(sv_lbfgsb_alloc(&w, 0, 4), SV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_box_quadratic_known_minimiser),
        cmocka_unit_test(test_unbounded_quadratic),
        cmocka_unit_test(test_rosenbrock),
        cmocka_unit_test(test_abort_and_bad_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
