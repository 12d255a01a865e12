/* test_cbo.c - consensus-based optimization (core/solvers/global/cbo.c), its benchmarks
 * (core/solvers/global/cbo_gen.c) and the global.cbo codec (api/codecs/global/cbo.c).
 * Reference answers: the benchmarks' known minima and closed-form values; the consensus point
 * recomputed in long double from the particles the objective was called with; the drift-only
 * dynamics (sigma 0), whose spread shrinks by exactly 1 - lambda dt a step; the Gaussian
 * increments recovered from two consecutive swarms. No BLAS is involved: a seed fixes a run
 * bit for bit on every CPU. */
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
#include "core/solvers/global/cbo.h"
#include "core/solvers/global/cbo_gen.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_cbo;

#define MAXD 16

/* ---- the benchmarks ---- */

static void test_benchmark_values(void **state)
{
    (void)state;
    double x[MAXD], xs[MAXD];
    for (int fn = 0; fn <= CBO_FN_GRIEWANK; fn++) {
        for (int t = 0; t < 3; t++) {
            double shifts[] = {0.0, 1.5, -40.25};
            cbo_benchmark b = {fn, 7, shifts[t]};
            sv_err e;
            assert_int_equal(cbo_benchmark_check(&b, &e), SV_OK);
            cbo_benchmark_minimizer(&b, xs);
            double f = cbo_benchmark_value(&b, xs);
            assert_true(fabs(f) < 1e-13);  /* the global minimum is 0 at the minimizer */
            assert_true(cbo_benchmark_distance(&b, xs) == 0.0);
        }
    }
    /* closed forms, d = 5, shift 2 */
    const int d = 5;
    cbo_benchmark r = {CBO_FN_RASTRIGIN, d, 2.0};
    for (int j = 0; j < d; j++)
        x[j] = 2.5;  /* y = 1/2: y^2 - 10 cos(pi) = 10.25 a coordinate, plus 10 */
    assert_true(fabs(cbo_benchmark_value(&r, x) - 20.25 * d) < 1e-12);
    for (int j = 0; j < d; j++)
        x[j] = 2.0 + 0.1 * j;  /* against libm at a point that is not a period multiple */
    double ref = 10.0 * d;
    for (int j = 0; j < d; j++)
        ref += (0.1 * j) * (0.1 * j) - 10 * cos(2 * M_PI * (x[j] - 2.0));
    assert_true(fabs(cbo_benchmark_value(&r, x) - ref) < 1e-12);
    cbo_benchmark a = {CBO_FN_ACKLEY, d, 0.0};
    for (int j = 0; j < d; j++)
        x[j] = 1.0;  /* |y|^2/d = 1, cos(2 pi) = 1 */
    assert_true(fabs(cbo_benchmark_value(&a, x) - (20.0 - 20.0 * exp(-0.2))) < 1e-12);
    for (int j = 0; j < d; j++)
        x[j] = 0.3 - 0.17 * j;
    double sq = 0, cs = 0;
    for (int j = 0; j < d; j++) {
        sq += x[j] * x[j];
        cs += cos(2 * M_PI * x[j]);
    }
    ref = -20 * exp(-0.2 * sqrt(sq / d)) - exp(cs / d) + 20 + exp(1.0);
    assert_true(fabs(cbo_benchmark_value(&a, x) - ref) < 1e-12);
    cbo_benchmark ro = {CBO_FN_ROSENBROCK, d, 0.0};
    memset(x, 0, sizeof x);
    assert_true(fabs(cbo_benchmark_value(&ro, x) - (d - 1)) < 1e-15);  /* (1 - 0)^2 a term */
    cbo_benchmark g = {CBO_FN_GRIEWANK, 1, 0.0};
    x[0] = M_PI;  /* 1 + pi^2/4000 - cos(pi) */
    assert_true(fabs(cbo_benchmark_value(&g, x) - (2.0 + M_PI * M_PI / 4000)) < 1e-15);
    /* the reduced cos(2 pi y) of Rastrigin against libm over a sweep of y, large |y| too */
    cbo_benchmark r1 = {CBO_FN_RASTRIGIN, 1, 0.0};
    double worst = 0;
    for (int i = -200000; i <= 200000; i++) {
        double y = i * 1.234567e-3;
        double mine = cbo_benchmark_value(&r1, &y) - 10.0 - y * y;
        worst = fmax(worst, fabs(mine + 10 * cos(2 * M_PI * y)));
    }
    assert_true(worst < 1e-11);  /* libm's own cos(2 pi y) is off by ~|y| ulp at |y| = 247 */
    double big = 0x1p60, inf = INFINITY;
    assert_true(fabs(cbo_benchmark_value(&r1, &big) - big * big) <= 1e-3 * big * big);
    assert_true(isnan(cbo_benchmark_value(&r1, &inf)) || isinf(cbo_benchmark_value(&r1, &inf)));
    double box_c, box_h;
    cbo_benchmark_box(&ro, &box_c, &box_h);
    assert_true(box_c == 2.5 && box_h == 7.5);  /* [-5, 10] */
    cbo_benchmark_box(&a, &box_c, &box_h);
    assert_true(box_c == 0 && box_h == 32.768);
    sv_err e;
    cbo_benchmark ro1 = {CBO_FN_ROSENBROCK, 1, 0.0};
    assert_int_equal(cbo_benchmark_check(&ro1, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/benchmark/dim");
}

/* ---- the verification: Rastrigin and Ackley in d = 10 ---- */

static void solve_benchmark(const cbo_benchmark *b, cbo_settings *s, double *x, cbo_info *info)
{
    double center[MAXD], best[MAXD];
    cbo_problem p;
    cbo_problem_benchmark(&p, b, center);
    sv_err e;
    assert_int_equal(cbo_solve(&p, s, NULL, x, best, info, &e), SV_OK);
    assert_true(info->best_obj <= info->base.obj);  /* v itself is evaluated and counted */
}

/* The defaults, five fixed seeds each: the consensus point settles (status solved) within
 * f(v) <= 1e-4 and max_j |v_j - x*_j| <= 1e-3 of the global minimum 0, which the shift puts
 * off the centre of the box the particles start in. (Measured: f(v) <= 4e-6 on Rastrigin,
 * <= 3e-5 on Ackley, 30 seeds of 30 each, 500-600 iterations.) */
static void test_rastrigin_ackley_10d(void **state)
{
    (void)state;
    cbo_benchmark cases[] = {{CBO_FN_RASTRIGIN, 10, 1.0}, {CBO_FN_ACKLEY, 10, 3.0}};
    for (int c = 0; c < 2; c++) {
        for (uint64_t seed = 1; seed <= 5; seed++) {
            cbo_settings s;
            cbo_settings_default(&s);
            s.seed = seed;
            double x[MAXD];
            cbo_info info;
            solve_benchmark(&cases[c], &s, x, &info);
            double dist = cbo_benchmark_distance(&cases[c], x);
            if (info.base.status != SV_SOLVED || !(info.base.obj <= 1e-4) || !(dist <= 1e-3))
                fprintf(stderr, "function %d seed %d: status %d f(v) %g distance %g after %ld\n",
                        cases[c].function, (int)seed, (int)info.base.status, info.base.obj,
                        dist, info.base.iter);
            assert_int_equal(info.base.status, SV_SOLVED);
            assert_true(info.base.obj <= 1e-4);
            assert_true(dist <= 1e-3);
            assert_true(info.consensus_move <= s.ctl.tol);
            assert_int_equal(info.base.iter % s.window, 0);  /* measured every window */
            /* N evaluations an iteration, plus f(v), plus the first swarm and its v */
            assert_int_equal(info.evaluations, (info.base.iter + 1) * (s.particles + 1));
        }
    }
}

/* Rosenbrock in d = 10 from [-5, 10]^10 with the defaults, two fixed seeds: the consensus point
 * settles within f(v) <= 1e-5 of the minimum 0 and max_j |v_j - 1| <= 1e-2 (the valley is flat
 * along its floor: f = 3e-6 is 3e-3 away). With the former alpha = 1e5 it stopped at f(v) about
 * 1e-3: alpha f must stay large at the accuracy asked for (the Laplace principle). (Measured:
 * seeds 1-5, f(v) <= 3.4e-6, 11 000-14 000 iterations.) */
static void test_rosenbrock_10d(void **state)
{
    (void)state;
    cbo_benchmark b = {CBO_FN_ROSENBROCK, 10, 0.0};
    for (uint64_t seed = 1; seed <= 2; seed++) {
        cbo_settings s;
        cbo_settings_default(&s);
        s.seed = seed;
        double x[MAXD];
        cbo_info info;
        solve_benchmark(&b, &s, x, &info);
        double dist = cbo_benchmark_distance(&b, x);
        if (info.base.status != SV_SOLVED || !(info.base.obj <= 1e-5) || !(dist <= 1e-2))
            fprintf(stderr, "rosenbrock seed %d: status %d f(v) %g distance %g after %ld\n",
                    (int)seed, (int)info.base.status, info.base.obj, dist, info.base.iter);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(info.base.obj <= 1e-5);
        assert_true(dist <= 1e-2);
    }
}

/* Isotropic noise D = |X - v| I on Ackley in d = 3 (with sigma scaled down: the isotropic noise
 * of a particle grows with |X - v|_2, i.e. with sqrt(d) per coordinate), five seeds. */
static void test_isotropic(void **state)
{
    (void)state;
    cbo_benchmark b = {CBO_FN_ACKLEY, 3, 3.0};
    for (uint64_t seed = 1; seed <= 5; seed++) {
        cbo_settings s;
        cbo_settings_default(&s);
        s.noise = CBO_NOISE_ISOTROPIC;
        s.sigma = 1.0;
        s.seed = seed;
        double x[MAXD];
        cbo_info info;
        solve_benchmark(&b, &s, x, &info);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(info.base.obj <= 1e-4);
        assert_true(cbo_benchmark_distance(&b, x) <= 1e-3);
    }
}

/* ---- the scheme itself, against independent computations ---- */

/* An objective that records every point it is called with (f = |x - 1|^2 + 3). */
typedef struct {
    int d;
    long calls, cap;
    double *pts;
} recorder;

static double recorded(void *ctx, const double *x)
{
    recorder *r = ctx;
    if (r->calls < r->cap)
        memcpy(r->pts + r->calls * r->d, x, sizeof(double) * (size_t)r->d);
    r->calls++;
    double f = 3;
    for (int j = 0; j < r->d; j++)
        f += (x[j] - 1) * (x[j] - 1);
    return f;
}

static double fval(int d, const double *x)
{
    double f = 3;
    for (int j = 0; j < d; j++)
        f += (x[j] - 1) * (x[j] - 1);
    return f;
}

/* max_iter 0: the answer is the consensus point of the initial swarm, recomputed here in long
 * double from the particles the objective saw: for alpha = 0 the mean, for alpha = 30 the
 * Gibbs-weighted mean, for alpha = 1e300 (which would overflow exp without the log-sum-exp
 * shift) the best particle itself. Box and Gaussian starts stay where they should. */
static void test_consensus_point(void **state)
{
    (void)state;
    const int d = 3, n = 50;
    double alphas[] = {0.0, 30.0, 1e300};
    for (int init = 0; init < 2; init++) {
        for (int a = 0; a < 3; a++) {
            recorder r = {d, 0, n + 1, calloc((size_t)(n + 1) * d, sizeof(double))};
            double center[3] = {5, -2, 0.5};
            cbo_problem p = {d, recorded, &r, center, 2.0};
            cbo_settings s;
            cbo_settings_default(&s);
            s.particles = n;
            s.alpha = alphas[a];
            s.init = init;
            s.ctl.max_iter = 0;
            double x[3], best[3];
            cbo_info info;
            assert_int_equal(cbo_solve(&p, &s, NULL, x, best, &info, NULL), SV_OK);
            assert_int_equal(info.base.status, SV_MAX_ITER);
            assert_int_equal(r.calls, n + 1);  /* the swarm, then v */
            long double fmin = INFINITY, num[3] = {0}, den = 0;
            int argmin = 0;
            for (int i = 0; i < n; i++) {
                long double f = fval(d, r.pts + i * d);
                if (f < fmin) {
                    fmin = f;
                    argmin = i;
                }
            }
            for (int i = 0; i < n; i++) {
                const double *xi = r.pts + i * d;
                long double wi = expl(-(long double)alphas[a] * (fval(d, xi) - fmin));
                den += wi;
                for (int j = 0; j < d; j++) {
                    num[j] += wi * xi[j];
                    if (init == CBO_INIT_BOX)
                        assert_true(fabs(xi[j] - center[j]) <= 2.0);
                }
            }
            for (int j = 0; j < d; j++) {
                double v = (double)(num[j] / den);
                assert_true(fabs(x[j] - v) <= 1e-12 * (1 + fabs(v)));
                assert_memory_equal(r.pts + n * d, x, sizeof x);  /* f(v) was evaluated at v */
            }
            if (a == 2)
                assert_memory_equal(x, r.pts + argmin * d, sizeof x);
            assert_true(fabs(info.base.obj - fval(d, x)) < 1e-15);
            assert_true(info.best_obj <= (double)fmin);
            free(r.pts);
        }
    }
}

/* sigma = 0 and alpha = 0: the drift alone. The mean is invariant, so v stays the initial mean
 * and the spread shrinks by exactly 1 - lambda dt a step; with stop = spread the solve ends at
 * the first k with spread_0 (1 - lambda dt)^k <= tol. */
static void test_drift_closed_form(void **state)
{
    (void)state;
    const int d = 4;
    recorder r = {d, 0, 0, NULL};
    cbo_problem p = {d, recorded, &r, NULL, 1.0};
    cbo_settings s;
    cbo_settings_default(&s);
    s.particles = 30;
    s.alpha = 0;
    s.sigma = 0;
    s.lambda = 2.0;
    s.dt = 0.05;
    s.stop = CBO_STOP_SPREAD;
    s.ctl.tol = 1e-6;
    double x0[4], x[4];
    cbo_info info0, info;
    s.ctl.max_iter = 0;
    assert_int_equal(cbo_solve(&p, &s, NULL, x0, NULL, &info0, NULL), SV_OK);
    s.ctl.max_iter = 100000;
    assert_int_equal(cbo_solve(&p, &s, NULL, x, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    double q = 1 - s.lambda * s.dt;
    long k = (long)ceil(log(s.ctl.tol / info0.spread) / log(q));
    assert_true(labs(info.base.iter - k) <= 1);  /* rounding at the boundary */
    assert_true(fabs(info.spread - info0.spread * pow(q, (double)info.base.iter)) <=
                1e-9 * info.spread);
    for (int j = 0; j < d; j++)
        assert_true(fabs(x[j] - x0[j]) < 1e-12);
    assert_true(info.base.res == info.spread);
}

/* One step with alpha = 0 (v = the mean): the increments xi recovered from two consecutive
 * swarms, xi = (X1 - X0 + lambda dt D) / (sigma sqrt(dt) D) (anisotropic, per coordinate) or
 * / (sigma sqrt(dt) |D|) (isotropic), are standard normal: moments and tail masses over
 * 40000 of them. */
static void test_noise_increments(void **state)
{
    (void)state;
    const int d = 4, n = 10000;
    for (int iso = 0; iso < 2; iso++) {
        recorder r = {d, 0, 2L * n + 2, malloc(sizeof(double) * (size_t)(2 * n + 2) * d)};
        cbo_problem p = {d, recorded, &r, NULL, 1.0};
        cbo_settings s;
        cbo_settings_default(&s);
        s.particles = n;
        s.alpha = 0;
        s.noise = iso ? CBO_NOISE_ISOTROPIC : CBO_NOISE_ANISOTROPIC;
        s.sigma = 0.7;
        s.ctl.max_iter = 1;
        double x[4];
        cbo_info info;
        assert_int_equal(cbo_solve(&p, &s, NULL, x, NULL, &info, NULL), SV_OK);
        const double *X0 = r.pts, *v = r.pts + (size_t)n * d, *X1 = v + d;
        double m1 = 0, m2 = 0, m4 = 0, tail2 = 0;
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < d; j++)
                norm += (X0[i * d + j] - v[j]) * (X0[i * d + j] - v[j]);
            norm = sqrt(norm);
            for (int j = 0; j < d; j++) {
                double D = X0[i * d + j] - v[j];
                double xi = (X1[i * d + j] - X0[i * d + j] + s.lambda * s.dt * D) /
                            (s.sigma * sqrt(s.dt) * (iso ? norm : D));
                m1 += xi;
                m2 += xi * xi;
                m4 += xi * xi * xi * xi;
                tail2 += fabs(xi) > 2;
            }
        }
        double m = (double)n * d;
        m1 /= m;
        m2 /= m;
        m4 /= m;
        tail2 /= m;
        fprintf(stderr, "noise %d: mean %.4f var %.4f kurtosis %.3f P(|xi|>2) %.4f\n", iso, m1,
                m2, m4, tail2);
        assert_true(fabs(m1) < 0.02);           /* 4 standard errors of 40000 draws */
        assert_true(fabs(m2 - 1) < 0.03);
        assert_true(fabs(m4 - 3) < 0.2);
        assert_true(fabs(tail2 - 0.0455) < 0.005);
        free(r.pts);
    }
}

/* One seed, one run; another seed, another run. */
static void test_seeded(void **state)
{
    (void)state;
    cbo_benchmark b = {CBO_FN_RASTRIGIN, 4, 0.5};
    cbo_settings s;
    cbo_settings_default(&s);
    s.ctl.max_iter = 50;
    double x1[MAXD], x2[MAXD];
    cbo_info info;
    solve_benchmark(&b, &s, x1, &info);
    solve_benchmark(&b, &s, x2, &info);
    assert_memory_equal(x1, x2, sizeof(double) * 4);
    s.seed = 9;
    solve_benchmark(&b, &s, x2, &info);
    assert_true(memcmp(x1, x2, sizeof(double) * 4) != 0);
}

/* A stop request is read between reports and inside the evaluation pass, and a time limit holds
 * with a huge report_every. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    cbo_benchmark b = {CBO_FN_GRIEWANK, 10, 0.0};
    cbo_settings s;
    cbo_settings_default(&s);
    s.ctl.tol = 0;
    s.ctl.max_iter = 1000000000L;
    s.ctl.report_every = 1000000000L;
    double center[MAXD], x[MAXD];
    cbo_problem p;
    cbo_problem_benchmark(&p, &b, center);
    cbo_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    assert_int_equal(cbo_solve(&p, &s, &mon, x, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 1000);
    s.ctl.time_limit_s = 0.2;
    assert_int_equal(cbo_solve(&p, &s, NULL, x, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(isfinite(info.base.obj) && isfinite(info.spread));
    assert_true(info.base.solve_time_s < 5);
    /* one pass over 300000 particles polls inside itself */
    s.particles = 300000;
    s.ctl.time_limit_s = 0;
    polls = 0;
    assert_int_equal(cbo_solve(&p, &s, &mon, x, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.evaluations < 2 * 300000L);  /* cut inside the second pass */
}

static void test_bad_input(void **state)
{
    (void)state;
    cbo_benchmark b = {CBO_FN_RASTRIGIN, 3, 0.0};
    double center[3], x[3];
    cbo_problem p;
    cbo_problem_benchmark(&p, &b, center);
    cbo_settings s;
    cbo_settings_default(&s);
    sv_err e;
    cbo_info info;
    s.particles = 1;
    assert_int_equal(cbo_solve(&p, &s, NULL, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/particles");
    cbo_settings_default(&s);
    s.dt = 0;
    assert_int_equal(cbo_solve(&p, &s, NULL, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/dt");
    cbo_settings_default(&s);
    p.radius = NAN;  /* no radius from the problem, none in the settings */
    assert_int_equal(cbo_solve(&p, &s, NULL, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/init_radius");
    s.init_radius = 1.0;
    s.ctl.max_iter = 3;
    assert_int_equal(cbo_solve(&p, &s, NULL, x, NULL, &info, &e), SV_OK);
    center[1] = NAN;
    assert_int_equal(cbo_solve(&p, &s, NULL, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
}

/* An objective that is NaN everywhere: no particle has weight, v is not defined: diverged. */
static double nowhere(void *ctx, const double *x)
{
    (void)ctx;
    (void)x;
    return NAN;
}

static void test_diverged(void **state)
{
    (void)state;
    cbo_problem p = {2, nowhere, NULL, NULL, 1.0};
    cbo_settings s;
    cbo_settings_default(&s);
    double x[2];
    cbo_info info;
    assert_int_equal(cbo_solve(&p, &s, NULL, x, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_DIVERGED);
    assert_int_equal(info.base.iter, 0);
}

/* ---- the codec ---- */

#define BENCH "{\"benchmark\": {\"function\": \"rastrigin\", \"dim\": 3}}"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_cbo;
    sv_test_codec_ok(C, BENCH, NULL);
    sv_test_codec_ok(C, "{\"variables\": {\"x\": {\"size\": 2}}, \"objective\": \"sum(x^2)\"}",
                     NULL);
    sv_test_codec_error(C, "{\"benchmark\": {\"function\": \"sphere\", \"dim\": 3}}", NULL,
                        "/problem/benchmark/function");
    sv_test_codec_error(C, "{\"benchmark\": {\"function\": \"ackley\"}}", NULL,
                        "/problem/benchmark/dim");
    sv_test_codec_error(C, "{\"benchmark\": {\"function\": \"rosenbrock\", \"dim\": 1}}", NULL,
                        "/problem/benchmark/dim");
    sv_test_codec_error(C, "{\"benchmark\": {\"dim\": 3, \"shfit\": 1}}", NULL,
                        "/problem/benchmark/shfit");
    sv_test_codec_error(C, "{\"benchmark\": {\"dim\": 200000}}", NULL, "/problem/benchmark/dim");
    sv_test_codec_error(C, "{\"benchmark\": {\"dim\": 3}, \"objective\": \"x\"}", NULL,
                        "/problem/objective");
    sv_test_codec_error(C, "{}", NULL, "/problem");
    sv_test_codec_error(C, BENCH, "{\"sigma\": -1}", "/params/sigma");
    sv_test_codec_error(C, BENCH, "{\"particles\": 1}", "/params/particles");
    sv_test_codec_error(C, BENCH, "{\"noise\": \"cauchy\"}", "/params/noise");
    sv_test_codec_error(C, BENCH, "{\"init_radius\": 0}", "/params/init_radius");
    sv_test_codec_error(C, "{\"benchmark\": {\"dim\": 100000}}", "{\"particles\": 1000}",
                        "/params/particles");
    sv_test_codec_error(C, "{\"variables\": {\"x\": {\"size\": 2}}, \"objective\": \"sum(x^2)\","
                        " \"equalities\": [\"x[0] - 1\"]}", NULL, "/problem/equalities");
    sv_test_codec_error(C, "{\"variables\": {\"x\": {\"size\": 2, \"lower\": 0}},"
                        " \"objective\": \"sum(x^2)\"}", NULL, "/problem/variables/x/lower");
    sv_test_codec_error(C, "{\"variables\": {\"x\": {\"size\": 2}}, \"objective\": \"sum(y)\"}",
                        NULL, "/problem/objective");
}

/* Rastrigin as an expr problem in d = 10 (the same function as the built-in one, minimizer at
 * 1, the particles in 0 +- 5.12): the consensus point reaches it, and the named values come
 * back. */
static void test_codec_expr(void **state)
{
    (void)state;
    const char *problem =
        "{\"variables\": {\"x\": {\"size\": 10}},"
        " \"objective\": \"100 + sum((x - 1)^2 - 10*cos(2*pi*(x - 1)))\"}";
    json_t *r = sv_test_codec_run(&sv_codec_cbo, problem,
                                  "{\"init_radius\": 5.12, \"seed\": 3}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(json_number_value(json_object_get(r, "objective")) <= 1e-4);
    json_t *x = json_object_get(json_object_get(r, "values"), "x");
    assert_int_equal(json_array_size(x), 10);
    for (size_t j = 0; j < 10; j++)
        assert_true(fabs(json_number_value(json_array_get(x, j)) - 1.0) <= 1e-3);
    assert_int_equal(json_integer_value(json_object_get(r, "dim")), 10);
    assert_null(json_object_get(r, "distance_to_minimizer"));
    json_decref(r);
}

/* The catalog example: Rastrigin d = 10 through the codec, solved at the minimizer 1. */
static void test_codec_benchmark(void **state)
{
    (void)state;
    json_t *ex = sv_codec_cbo.example();
    json_t *r = sv_test_codec_run_json(&sv_codec_cbo, json_object_get(ex, "problem"),
                                       json_object_get(ex, "params"), NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(json_number_value(json_object_get(r, "objective")) <= 1e-4);
    assert_true(json_number_value(json_object_get(r, "distance_to_minimizer")) <= 1e-3);
    assert_true(json_number_value(json_object_get(r, "best_objective")) <=
                json_number_value(json_object_get(r, "objective")));
    assert_int_equal(json_array_size(json_object_get(r, "x")), 10);
    assert_int_equal(json_array_size(json_object_get(r, "best_x")), 10);
    assert_string_equal(json_string_value(json_object_get(r, "noise")), "anisotropic");
    assert_true(json_number_value(json_object_get(r, "init_radius")) == 5.12);
    json_decref(r);
    json_decref(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_benchmark_values),
        cmocka_unit_test(test_rastrigin_ackley_10d),
        cmocka_unit_test(test_rosenbrock_10d),
        cmocka_unit_test(test_isotropic),
        cmocka_unit_test(test_consensus_point),
        cmocka_unit_test(test_drift_closed_form),
        cmocka_unit_test(test_noise_increments),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_diverged),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_expr),
        cmocka_unit_test(test_codec_benchmark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
