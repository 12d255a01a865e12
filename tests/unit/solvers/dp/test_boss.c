/* test_boss.c - BOSS (core/solvers/dp/boss.c), its mixture generator (boss_gen.c) and the dp.boss
 * codec (api/codecs/dp/boss.c). Reference answers: the DP's schedule against brute force over all
 * K-subsets of a small grid (the same cost matrix, summed in the same order, so equal to the
 * bit), the reference trajectory against the closed-form solutions exp(tA) x0, the variation of
 * constants and the single-Gaussian flow t mu + sqrt((1-t)^2 + t^2 sigma^2) x0, and the mixture
 * velocity's limits at t = 0 and t = 1. Nothing here goes through BLAS. */
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
#include "core/solvers/dp/boss.h"
#include "core/solvers/dp/boss_gen.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_boss;

/* ---- helpers ---- */

static boss_settings settings(int steps, int grid, int samples)
{
    boss_settings s;
    boss_settings_default(&s);
    s.steps = steps;
    s.grid = grid;
    s.samples = samples;
    s.seed = 3;
    return s;
}

static void mixture(boss_mixture *mx, int dim, int m, uint64_t seed)
{
    boss_gen_spec g;
    sv_params_defaults(boss_gen_params, &g);
    g.dim = dim;
    g.components = m;
    g.seed = seed;
    sv_err e;
    assert_int_equal(boss_generate(&g, mx, &e), SV_OK);
}

typedef struct {
    int idx[64], uidx[64];
    double times[64], curve[64], ref_mean[16];
    double *cost, *traj;
    boss_info info;
} run_out;

static void run(const boss_field *f, const boss_settings *s, run_out *r)
{
    size_t n1 = (size_t)s->grid + 1;
    r->cost = malloc(n1 * n1 * sizeof *r->cost);
    r->traj = malloc(n1 * (size_t)s->samples * (size_t)f->d * sizeof *r->traj);
    assert_non_null(r->cost);
    assert_non_null(r->traj);
    boss_output o = {r->idx, r->times, r->uidx, r->curve, r->ref_mean, r->cost, r->traj};
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = boss_solve(f, NULL, s, NULL, &o, &r->info, &e);
    if (rc != SV_OK)
        fail_msg("boss_solve: %s: %s", e.field, e.msg);
    assert_int_equal(r->info.base.status, SV_SOLVED);
}

static void run_free(run_out *r)
{
    free(r->cost);
    free(r->traj);
}

/* The cheapest K-step schedule by enumerating every choice of K - 1 interior points of 1..N-1
 * (in lexicographic order, keeping the first minimum), costs summed left to right. */
static double brute_force(const double *cost, int N, int K, int *best)
{
    int cur[64];
    double bestc = INFINITY;
    for (int k = 0; k < K - 1; k++)
        cur[k] = k + 1;
    for (;;) {
        double c = 0;
        int prev = 0;
        for (int k = 0; k < K - 1; k++) {
            c += cost[(size_t)prev * (N + 1) + cur[k]];
            prev = cur[k];
        }
        c += cost[(size_t)prev * (N + 1) + N];
        if (c < bestc) {
            bestc = c;
            best[0] = 0;
            for (int k = 0; k < K - 1; k++)
                best[k + 1] = cur[k];
            best[K] = N;
        }
        int k = K - 2;  /* next subset */
        while (k >= 0 && cur[k] == N - 1 - (K - 2 - k))
            k--;
        if (k < 0)
            break;
        cur[k]++;
        for (int q = k + 1; q < K - 1; q++)
            cur[q] = cur[q - 1] + 1;
    }
    return bestc;
}

/* ---- the DP ---- */

static void check_against_brute_force(const boss_field *f, int N, int K)
{
    boss_settings s = settings(K, N, 64);
    run_out r;
    run(f, &s, &r);
    int bf[64];
    double c = brute_force(r.cost, N, K, bf);
    assert_true(c == r.info.dp_cost);  /* the same sums in the same order */
    assert_memory_equal(bf, r.idx, sizeof(int) * (size_t)(K + 1));
    for (int k = 0; k <= K; k++)
        assert_true(r.times[k] == (double)bf[k] / N);
    for (int k = 1; k <= K; k++)  /* the budget curve: the optimum at every smaller budget */
        assert_true(brute_force(r.cost, N, k, bf) == r.curve[k - 1]);
    assert_true(r.info.base.obj == r.info.dp_cost);
    run_free(&r);
}

static void test_dp_equals_brute_force(void **state)
{
    (void)state;
    boss_mixture mx;
    mixture(&mx, 3, 4, 11);
    int cases[][2] = {{12, 1}, {12, 2}, {12, 3}, {12, 5}, {14, 6}, {10, 9}, {10, 10}};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++)
        check_against_brute_force(&mx.field, cases[t][0], cases[t][1]);
    boss_mixture_free(&mx);
    /* a linear field whose A(t) changes sign halfway: an uneven best schedule */
    double A[3][4] = {{-4, 1, 0, -0.5}, {2, 0.5, -1, 3}, {0.3, -2, 1, -6}};
    double knots[3] = {0, 0.5, 1}, b[2] = {1, -0.5};
    boss_field lin = {.kind = BOSS_FIELD_LINEAR, .d = 2, .n_knots = 3, .knots = knots,
                      .A = &A[0][0], .b = b};
    check_against_brute_force(&lin, 12, 4);
    check_against_brute_force(&lin, 13, 3);
}

/* The uniform schedule is one of those the DP ranges over: never cheaper; its cost is the sum of
 * the cost matrix at round(k N / K). With K = N both are the whole grid. */
static void test_dp_not_worse_than_uniform(void **state)
{
    (void)state;
    boss_mixture mx;
    mixture(&mx, 4, 6, 5);
    int Ks[] = {1, 2, 3, 4, 7, 12, 30};
    for (size_t t = 0; t < sizeof Ks / sizeof *Ks; t++) {
        boss_settings s = settings(Ks[t], 30, 128);
        run_out r;
        run(&mx.field, &s, &r);
        int K = Ks[t];
        double u = 0;
        for (int k = 1; k <= K; k++) {
            int i = (int)floor((double)(k - 1) * 30 / K + 0.5);
            int j = (int)floor((double)k * 30 / K + 0.5);
            assert_int_equal(r.uidx[k - 1], i);
            assert_int_equal(r.uidx[k], j);
            u += r.cost[(size_t)i * 31 + j];
        }
        fprintf(stderr, "K %2d: dp cost %.3e uniform %.3e; endpoint dp %.3e uniform %.3e\n", K,
                r.info.dp_cost, r.info.uniform_cost, r.info.dp_endpoint, r.info.uniform_endpoint);
        assert_true(fabs(u - r.info.uniform_cost) <= 1e-12 * u);
        assert_true(r.info.dp_cost <= r.info.uniform_cost);
        assert_true(isfinite(r.info.dp_endpoint) && isfinite(r.info.uniform_endpoint));
        if (K == 30) {
            assert_true(r.info.dp_cost == r.info.uniform_cost);
            for (int k = 0; k <= K; k++)
                assert_int_equal(r.idx[k], k);
        }
        if (K == 4)  /* the mixture's paths bend late: uniform steps lose by a clear margin */
            assert_true(r.info.dp_cost < 0.8 * r.info.uniform_cost);
        run_free(&r);
    }
    boss_mixture_free(&mx);
}

/* ---- the reference trajectory ---- */

/* Damped rotation A = [[-1, -2], [2, -1]]: exp(tA) = e^-t [[cos 2t, -sin 2t], [sin 2t, cos 2t]]. */
static void test_linear_reference_is_exp_tA(void **state)
{
    (void)state;
    double A[4] = {-1, -2, 2, -1};
    boss_field f = {.kind = BOSS_FIELD_LINEAR, .d = 2, .n_knots = 1, .A = A};
    boss_settings s = settings(4, 50, 16);
    run_out r;
    run(&f, &s, &r);
    double worst = 0;
    for (int i = 0; i <= 50; i++) {
        double t = i / 50.0, c = exp(-t) * cos(2 * t), sn = exp(-t) * sin(2 * t);
        for (int q = 0; q < 16; q++) {
            const double *x0 = r.traj + (size_t)q * 2, *x = r.traj + ((size_t)i * 16 + q) * 2;
            worst = fmax(worst, fabs(x[0] - (c * x0[0] - sn * x0[1])));
            worst = fmax(worst, fabs(x[1] - (sn * x0[0] + c * x0[1])));
        }
    }
    fprintf(stderr, "rk4 reference vs exp(tA) x0: %.2e\n", worst);
    assert_true(worst < 1e-9);
    /* the starts are N(0, I) draws from the seed: not all zero, and reproducible */
    assert_true(fabs(r.traj[0]) + fabs(r.traj[1]) > 0);
    run_out r2;
    run(&f, &s, &r2);
    assert_memory_equal(r.traj, r2.traj, sizeof(double) * 51 * 32);
    run_free(&r2);

    /* reference "euler": exactly the recursion x_{i+1} = x_i + h (A x_i) */
    s.reference = BOSS_REF_EULER;
    run(&f, &s, &r2);
    double e = 0, gap = 0;
    for (int q = 0; q < 16; q++) {
        double x[2] = {r2.traj[q * 2], r2.traj[q * 2 + 1]};
        for (int i = 0; i < 50; i++) {
            double v0 = A[0] * x[0] + A[1] * x[1], v1 = A[2] * x[0] + A[3] * x[1];
            x[0] += v0 / 50.0;
            x[1] += v1 / 50.0;
        }
        const double *y = r2.traj + ((size_t)50 * 16 + q) * 2;
        const double *z = r.traj + ((size_t)50 * 16 + q) * 2;
        e = fmax(e, fmax(fabs(y[0] - x[0]), fabs(y[1] - x[1])));
        gap = fmax(gap, fabs(y[0] - z[0]));
    }
    assert_true(e < 1e-13);
    assert_true(gap > 1e-4);  /* the Euler reference is a different (first-order) trajectory */
    run_free(&r2);
    run_free(&r);
}

/* A(t) = diag(a0 + (a1 - a0) t) through two knots, and b: x_j(t) = e^{P(t)} (x0 + b int_0^t
 * e^{-P}); checked with b = 0 in closed form, and constant A with b by variation of constants. */
static void test_linear_reference_knots_and_b(void **state)
{
    (void)state;
    double A[8] = {1.5, 0, 0, -2, -0.5, 0, 0, 1};  /* A_0 = diag(1.5, -2), A_1 = diag(-0.5, 1) */
    double knots[2] = {0, 1};
    boss_field f = {.kind = BOSS_FIELD_LINEAR, .d = 2, .n_knots = 2, .knots = knots, .A = A};
    boss_settings s = settings(3, 40, 8);
    run_out r;
    run(&f, &s, &r);
    double a0[2] = {1.5, -2}, a1[2] = {-0.5, 1}, worst = 0;
    for (int i = 0; i <= 40; i++) {
        double t = i / 40.0;
        for (int q = 0; q < 8; q++)
            for (int j = 0; j < 2; j++) {
                double P = a0[j] * t + (a1[j] - a0[j]) * t * t / 2;
                double want = r.traj[q * 2 + j] * exp(P);
                worst = fmax(worst, fabs(r.traj[((size_t)i * 8 + q) * 2 + j] - want));
            }
    }
    assert_true(worst < 1e-9);
    run_free(&r);

    double Ac[4] = {-3, 0, 0, 0.7}, b[2] = {2, -1};
    boss_field g = {.kind = BOSS_FIELD_LINEAR, .d = 2, .n_knots = 1, .A = Ac, .b = b};
    run(&g, &s, &r);
    worst = 0;
    double diag[2] = {-3, 0.7};
    for (int q = 0; q < 8; q++)
        for (int j = 0; j < 2; j++) {
            double x0 = r.traj[q * 2 + j], a = diag[j];
            double want = exp(a) * x0 + (exp(a) - 1) / a * b[j];
            worst = fmax(worst, fabs(r.traj[((size_t)40 * 8 + q) * 2 + j] - want));
        }
    assert_true(worst < 1e-9);
    run_free(&r);
}

/* One Gaussian N(mu, sigma^2 I): the flow is x_t = t mu + sqrt((1-t)^2 + t^2 sigma^2) x0. */
static void test_single_gaussian_flow(void **state)
{
    (void)state;
    double w = 1, mu[3] = {2, -1, 0.5}, sg = 0.3;
    boss_field f = {.kind = BOSS_FIELD_MIXTURE, .d = 3, .m = 1, .weights = &w, .means = mu,
                    .sigmas = &sg};
    boss_settings s = settings(5, 40, 8);
    run_out r;
    run(&f, &s, &r);
    double worst = 0;
    for (int i = 0; i <= 40; i++) {
        double t = i / 40.0, sc = sqrt((1 - t) * (1 - t) + t * t * sg * sg);
        for (int q = 0; q < 8; q++)
            for (int j = 0; j < 3; j++) {
                double want = t * mu[j] + sc * r.traj[q * 3 + j];
                worst = fmax(worst, fabs(r.traj[((size_t)i * 8 + q) * 3 + j] - want));
            }
    }
    fprintf(stderr, "rk4 reference vs the Gaussian flow: %.2e\n", worst);
    assert_true(worst < 1e-8);
    for (int j = 0; j < 3; j++)  /* the endpoint mean is near mu (8 samples, sd 0.3/sqrt 8) */
        assert_true(fabs(r.ref_mean[j] - mu[j]) < 0.5);
    run_free(&r);
}

/* v(x, 0) = E[x1] - x and v(x, 1) = x for any mixture (E[x1 - x0 | x0 = x] and
 * E[x1 - x0 | x1 = x]). */
static void test_mixture_velocity_limits(void **state)
{
    (void)state;
    double w[3] = {1, 2, 3}, mu[6] = {1, 2, -3, 0, 0.5, -1}, sg[3] = {0.2, 1, 0.5};
    boss_field f = {.kind = BOSS_FIELD_MIXTURE, .d = 2, .m = 3, .weights = w, .means = mu,
                    .sigmas = sg};
    double x[2] = {0.3, -0.7}, v[2], work[4 + 15];
    boss_velocity(&f, 0.0, x, v, work);
    double m0 = (1 * 1 + 2 * -3 + 3 * 0.5) / 6.0, m1 = (1 * 2 + 2 * 0 + 3 * -1) / 6.0;
    assert_true(fabs(v[0] - (m0 - x[0])) < 1e-14 && fabs(v[1] - (m1 - x[1])) < 1e-14);
    boss_velocity(&f, 1.0, x, v, work);
    assert_true(fabs(v[0] - x[0]) < 1e-14 && fabs(v[1] - x[1]) < 1e-14);
    /* halfway: against a direct evaluation of sum_c r_c (mu_c + g_c (x - t mu_c)) */
    double t = 0.5, num[2] = {0, 0}, z = 0;
    for (int c = 0; c < 3; c++) {
        double s = (1 - t) * (1 - t) + t * t * sg[c] * sg[c], q = 0;
        for (int j = 0; j < 2; j++)
            q += (x[j] - t * mu[c * 2 + j]) * (x[j] - t * mu[c * 2 + j]);
        double rc = w[c] / s * exp(-q / (2 * s)), g = (t * sg[c] * sg[c] - (1 - t)) / s;
        z += rc;
        for (int j = 0; j < 2; j++)
            num[j] += rc * (mu[c * 2 + j] + g * (x[j] - t * mu[c * 2 + j]));
    }
    boss_velocity(&f, t, x, v, work);
    assert_true(fabs(v[0] - num[0] / z) < 1e-12 && fabs(v[1] - num[1] / z) < 1e-12);
}

/* The cost matrix is the paper's: c(i, j) = mean_s |x_i + (t_j - t_i) v(x_i, t_i) - x_j|^2 over
 * the reference states, recomputed here from the returned trajectory and boss_velocity; and the
 * endpoint errors are those of K Euler steps on each schedule, rerun here. */
static void test_cost_and_endpoint_definitions(void **state)
{
    (void)state;
    boss_mixture mx;
    mixture(&mx, 3, 3, 4);
    const int N = 12, K = 3, S = 10, d = 3;
    boss_settings s = settings(K, N, S);
    run_out r;
    run(&mx.field, &s, &r);
    double work[9 + 15], v[3], worst = 0;
    for (int i = 0; i <= N; i++)
        for (int j = 0; j <= N; j++) {
            double c = r.cost[i * (N + 1) + j];
            if (j <= i) {
                assert_true(isnan(c));
                continue;
            }
            double want = 0;
            for (int q = 0; q < S; q++) {
                const double *x = r.traj + ((size_t)i * S + q) * d;
                const double *y = r.traj + ((size_t)j * S + q) * d;
                boss_velocity(&mx.field, (double)i / N, x, v, work);
                for (int p = 0; p < d; p++) {
                    double e = x[p] + (double)(j - i) / N * v[p] - y[p];
                    want += e * e;
                }
            }
            want /= S;
            worst = fmax(worst, fabs(c - want) / fmax(want, 1e-300));
        }
    assert_true(worst < 1e-12);
    const int *sched[2] = {r.idx, r.uidx};
    double got[2] = {r.info.dp_endpoint, r.info.uniform_endpoint};
    for (int a = 0; a < 2; a++) {
        double err = 0;
        for (int q = 0; q < S; q++) {
            double x[3];
            memcpy(x, r.traj + (size_t)q * d, sizeof x);
            for (int k = 1; k <= K; k++) {
                boss_velocity(&mx.field, (double)sched[a][k - 1] / N, x, v, work);
                for (int p = 0; p < d; p++)
                    x[p] += (double)(sched[a][k] - sched[a][k - 1]) / N * v[p];
            }
            const double *ref = r.traj + ((size_t)N * S + q) * d;
            for (int p = 0; p < d; p++)
                err += (x[p] - ref[p]) * (x[p] - ref[p]);
        }
        assert_true(fabs(err / S - got[a]) <= 1e-12 * got[a]);
    }
    run_free(&r);
    boss_mixture_free(&mx);
}

/* One seed, one mixture; another seed, another. */
static void test_generator_seeded(void **state)
{
    (void)state;
    boss_mixture a, b;
    mixture(&a, 4, 5, 9);
    mixture(&b, 4, 5, 9);
    assert_memory_equal(a.means, b.means, sizeof(double) * 20);
    assert_memory_equal(a.sigmas, b.sigmas, sizeof(double) * 5);
    assert_memory_equal(a.weights, b.weights, sizeof(double) * 5);
    for (int c = 0; c < 5; c++) {
        assert_true(a.sigmas[c] >= BOSS_GEN_DEFAULT_SIGMA_MIN);
        assert_true(a.sigmas[c] < BOSS_GEN_DEFAULT_SIGMA_MAX);
        assert_true(a.weights[c] >= 0.5 && a.weights[c] < 1.5);
    }
    boss_mixture_free(&b);
    mixture(&b, 4, 5, 10);
    assert_true(memcmp(a.means, b.means, sizeof(double) * 20) != 0);
    boss_mixture_free(&a);
    boss_mixture_free(&b);
}

/* ---- stopping ---- */

/* The stop request is read inside the cost columns: 40 grid points with report_every 1e9 make 41
 * checks, fewer than the 101 polls the monitor waits for, so only the polls inside the columns
 * can end the run cancelled, and it ends before the last grid point. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    boss_mixture mx;
    mixture(&mx, 8, 4, 2);
    boss_settings s = settings(10, 40, 512);
    s.reference = BOSS_REF_EULER;
    s.ctl.report_every = 1000000000L;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    boss_info info;
    assert_int_equal(boss_solve(&mx.field, NULL, &s, &mon, NULL, &info, NULL), SV_OK);
    fprintf(stderr, "cancelled at iteration %ld after %d polls\n", info.base.iter, polls);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 40);
    assert_true(isnan(info.dp_cost));
    polls = -1000000;  /* the same run to its end: solved */
    assert_int_equal(boss_solve(&mx.field, NULL, &s, &mon, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(info.base.iter, boss_iterations(&s));
    boss_mixture_free(&mx);

    /* a cost matrix of 1000 columns over 2000 states a grid point: far more than 0.2 s */
    mixture(&mx, 4, 8, 3);
    s = settings(20, 1000, 500);
    s.ctl.report_every = 1000000000L;
    s.ctl.time_limit_s = 0.2;
    assert_int_equal(boss_solve(&mx.field, NULL, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.base.iter < boss_iterations(&s));
    boss_mixture_free(&mx);
}

static void test_bad_input(void **state)
{
    (void)state;
    double A[4] = {0, 1, -1, 0};
    boss_field f = {.kind = BOSS_FIELD_LINEAR, .d = 2, .n_knots = 1, .A = A};
    boss_settings s = settings(11, 10, 8);
    boss_info info;
    sv_err e;
    assert_int_equal(boss_solve(&f, NULL, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/steps");
    s = settings(2, 2000, 4000);
    assert_int_equal(boss_solve(&f, NULL, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/samples");
    s = settings(2, 10, 8);
    s.substeps = 0;
    assert_int_equal(boss_solve(&f, NULL, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/substeps");
    double knots[2] = {0, 0.9}, A2[8] = {0};
    boss_field g = {.kind = BOSS_FIELD_LINEAR, .d = 2, .n_knots = 2, .knots = knots, .A = A2};
    s = settings(2, 10, 8);
    assert_int_equal(boss_solve(&g, NULL, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/knots");
    double w = 1, mu[2] = {0, 0}, sg = 0;
    boss_field h = {.kind = BOSS_FIELD_MIXTURE, .d = 2, .m = 1, .weights = &w, .means = mu,
                    .sigmas = &sg};
    assert_int_equal(boss_solve(&h, NULL, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/sigmas");
    /* a field that blows up: diverged, not a crash */
    double big[1] = {800};
    boss_field bf = {.kind = BOSS_FIELD_LINEAR, .d = 1, .n_knots = 1, .A = big};
    s = settings(2, 4, 8);
    s.reference = BOSS_REF_EULER;
    assert_int_equal(boss_solve(&bf, NULL, &s, NULL, NULL, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);  /* 201^4 is still finite */
    big[0] = 1e100;
    assert_int_equal(boss_solve(&bf, NULL, &s, NULL, NULL, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_DIVERGED);
}

/* ---- the codec ---- */

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_boss;
    sv_test_codec_ok(C, "{\"A\": [[0, 1], [-1, 0]]}", NULL);
    sv_test_codec_ok(C, "{\"A_t\": [[[0, 1], [-1, 0]], [[1, 0], [0, 1]]], \"b\": [1, 2]}", NULL);
    sv_test_codec_ok(C, "{\"means\": [[0, 1], [2, 3]], \"sigmas\": 0.5}", NULL);
    sv_test_codec_ok(C, "{\"generate\": {\"dim\": 3, \"components\": 2}}", NULL);
    sv_test_codec_error(C, "{\"A\": [[0, 1]]}", NULL, "/problem/A");
    sv_test_codec_error(C, "{\"A\": [[0, 1], [1, \"x\"]]}", NULL, "/problem/A/1/1");
    sv_test_codec_error(C, "{\"A\": [[0, 1], [1, 0]], \"b\": [1]}", NULL, "/problem/b");
    sv_test_codec_error(C, "{\"A\": [[0]], \"means\": [[0]], \"sigmas\": 1}", NULL, "/problem");
    sv_test_codec_error(C, "{\"b\": [1]}", NULL, "/problem");
    sv_test_codec_error(C, "{\"A\": [[0]], \"knots\": [0, 1]}", NULL, "/problem/knots");
    sv_test_codec_error(C, "{\"A_t\": [[[0, 1], [-1, 0]], [[1, 0, 0], [0, 1, 0], [0, 0, 1]]]}",
                        NULL, "/problem/A_t/1");
    sv_test_codec_error(C, "{\"A_t\": [[[0]], [[1]]], \"knots\": [0, 0.5, 1]}", NULL,
                        "/problem/knots");
    sv_test_codec_error(C, "{\"A_t\": [[[0]], [[1]]], \"knots\": [0.1, 1]}", NULL,
                        "/problem/knots");
    sv_test_codec_error(C, "{\"A_t\": []}", NULL, "/problem/A_t");
    sv_test_codec_error(C, "{\"means\": [[0, 1]]}", NULL, "/problem/sigmas");
    sv_test_codec_error(C, "{\"means\": [[0, 1]], \"sigmas\": 0}", NULL, "/problem/sigmas");
    sv_test_codec_error(C, "{\"means\": [[0, 1], [1, 1]], \"sigmas\": [1, -1]}", NULL,
                        "/problem/sigmas/1");
    sv_test_codec_error(C, "{\"means\": [[0, 1], [1, 1]], \"sigmas\": [1]}", NULL,
                        "/problem/sigmas");
    sv_test_codec_error(C, "{\"means\": [[0, 1], [1, 1]], \"sigmas\": 1, \"weights\": [1, 0]}",
                        NULL, "/problem/weights/1");
    sv_test_codec_error(C, "{\"generate\": {\"dim\": 3}}", NULL, "/problem/generate/components");
    sv_test_codec_error(C, "{\"generate\": {\"dim\": 3, \"components\": 2, \"sigma_min\": 2}}",
                        NULL, "/problem/generate/sigma_max");
    sv_test_codec_error(C, "{\"generate\": {\"dim\": 3, \"components\": 2, \"spred\": 2}}", NULL,
                        "/problem/generate/spred");
    sv_test_codec_error(C, "{\"A\": [[0]]}", "{\"steps\": 20, \"grid\": 10}", "/params/steps");
    sv_test_codec_error(C, "{\"A\": [[0]]}", "{\"reference\": \"rk5\"}", "/params/reference");
    sv_test_codec_error(C, "{\"A\": [[0]]}", "{\"grid\": 0}", "/params/grid");
    sv_test_codec_ok(C, "{\"A\": [[0]], \"x0\": [[1], [2]]}", "{\"samples\": 2}");
    sv_test_codec_error(C, "{\"A\": [[0]], \"x0\": [[1], [2]]}", "{\"samples\": 3}",
                        "/params/samples");
    sv_test_codec_error(C, "{\"A\": [[0, 0], [0, 0]], \"x0\": [[1, 2], [3]]}", NULL,
                        "/problem/x0/1");
    sv_test_codec_error(C, "{\"generate\": {\"dim\": 2, \"components\": 2}, \"x0\": [[1, 2, 3]]}",
                        NULL, "/problem/x0/0");
    sv_test_codec_error(C, "{\"generate\": {\"dim\": 1000, \"components\": 2}}",
                        "{\"grid\": 1000, \"samples\": 100}", "/params/samples");
}

/* A rotation field through the codec: the schedule, its cost against the uniform one, the
 * reference block. */
static void test_codec_run(void **state)
{
    (void)state;
    json_t *r = sv_test_codec_run(&sv_codec_boss, "{\"A\": [[-3, 0], [0, 1]], \"b\": [1, 0]}",
                                  "{\"steps\": 4, \"grid\": 40, \"samples\": 32}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    json_t *sch = json_object_get(r, "schedule"), *idx = json_object_get(r, "indices");
    assert_int_equal(json_array_size(sch), 5);
    assert_int_equal(json_array_size(idx), 5);
    assert_true(json_number_value(json_array_get(sch, 0)) == 0.0);
    assert_true(json_number_value(json_array_get(sch, 4)) == 1.0);
    for (size_t k = 0; k < 5; k++)
        assert_true(fabs(json_number_value(json_array_get(sch, k)) -
                         json_integer_value(json_array_get(idx, k)) / 40.0) < 1e-15);
    double dp = json_number_value(json_object_get(r, "dp_cost"));
    double un = json_number_value(json_object_get(r, "uniform_cost"));
    assert_true(dp > 0 && dp <= un);
    assert_true(json_number_value(json_object_get(r, "objective")) == dp);
    json_t *u = json_object_get(r, "uniform_indices");
    for (size_t k = 0; k < 5; k++)
        assert_int_equal(json_integer_value(json_array_get(u, k)), (json_int_t)(10 * k));
    json_t *curve = json_object_get(r, "cost_by_steps");
    assert_int_equal(json_array_size(curve), 4);
    assert_true(json_number_value(json_array_get(curve, 3)) == dp);
    json_t *ref = json_object_get(r, "reference");
    assert_string_equal(json_string_value(json_object_get(ref, "method")), "rk4");
    assert_int_equal(json_array_size(json_object_get(ref, "endpoint_mean")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "dim")), 2);
    json_decref(r);

    /* explicit starts: their count is the samples, and the reference's mean endpoint is the
     * closed form x1(1) = e^-3 x1 + (1 - e^-3) / 3, x2(1) = e x2 at the mean start (1, 1) */
    r = sv_test_codec_run(&sv_codec_boss,
                          "{\"A\": [[-3, 0], [0, 1]], \"b\": [1, 0],"
                          " \"x0\": [[1, 0], [0, 1], [2, 2]]}",
                          "{\"steps\": 3, \"grid\": 30}", NULL);
    ref = json_object_get(r, "reference");
    assert_int_equal(json_integer_value(json_object_get(ref, "samples")), 3);
    json_t *em = json_object_get(ref, "endpoint_mean");
    assert_true(fabs(json_number_value(json_array_get(em, 0)) - (exp(-3) + (1 - exp(-3)) / 3)) <
                1e-8);
    assert_true(fabs(json_number_value(json_array_get(em, 1)) - exp(1)) < 1e-8);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dp_equals_brute_force),
        cmocka_unit_test(test_dp_not_worse_than_uniform),
        cmocka_unit_test(test_linear_reference_is_exp_tA),
        cmocka_unit_test(test_linear_reference_knots_and_b),
        cmocka_unit_test(test_single_gaussian_flow),
        cmocka_unit_test(test_mixture_velocity_limits),
        cmocka_unit_test(test_cost_and_endpoint_definitions),
        cmocka_unit_test(test_generator_seeded),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
