/* test_mcts.c - tsp.mcts (core/solvers/tsp/mcts.c), its generator (mcts_gen.c) and codec
 * (api/codecs/tsp/mcts.c). Reference answers: optimal tours of n <= 10 by the Held-Karp dynamic
 * program computed here (both methods must reach them, the 1-tree bound must not exceed them),
 * SoftDist's closed form, a hand-checked TSPLIB instance with nint distances, and the limits of
 * the HTTP-facing codec (errors at their JSON paths). Nothing here goes through BLAS. */
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
#include "core/solvers/tsp/mcts.h"
#include "core/solvers/tsp/mcts_gen.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_mcts;

/* ---- helpers ---- */

static double *uniform(int n, uint64_t seed)
{
    mcts_gen_spec g = {n, seed};
    double *xy = malloc(2 * (size_t)n * sizeof *xy);
    assert_non_null(xy);
    assert_int_equal(mcts_generate(&g, xy, NULL), SV_OK);
    return xy;
}

/* Held-Karp DP: the optimal tour length, O(2^n n^2). */
static double held_karp(const mcts_problem *p)
{
    int n = p->n, full = 1 << (n - 1);
    double *f = malloc((size_t)full * (size_t)n * sizeof *f);
    assert_non_null(f);
    for (int i = 0; i < full * n; i++)
        f[i] = INFINITY;
    for (int j = 1; j < n; j++)
        f[(size_t)(1 << (j - 1)) * n + j] = mcts_dist(p, 0, j);
    for (int S = 1; S < full; S++)
        for (int j = 1; j < n; j++) {
            double v = f[(size_t)S * n + j];
            if (!(S & (1 << (j - 1))) || !isfinite(v))
                continue;
            for (int k = 1; k < n; k++)
                if (!(S & (1 << (k - 1)))) {
                    int T = S | (1 << (k - 1));
                    double c = v + mcts_dist(p, j, k);
                    if (c < f[(size_t)T * n + k])
                        f[(size_t)T * n + k] = c;
                }
        }
    double best = INFINITY;
    for (int j = 1; j < n; j++)
        best = fmin(best, f[(size_t)(full - 1) * n + j] + mcts_dist(p, j, 0));
    free(f);
    return best;
}

static double tour_length(const mcts_problem *p, const int *t)
{
    double l = 0;
    for (int i = 0; i < p->n; i++)
        l += mcts_dist(p, t[i], t[(i + 1) % p->n]);
    return l;
}

static void assert_permutation(const int *t, int n)
{
    char *seen = calloc((size_t)n, 1);
    assert_non_null(seen);
    for (int i = 0; i < n; i++) {
        assert_true(t[i] >= 0 && t[i] < n);
        assert_false(seen[t[i]]);
        seen[t[i]] = 1;
    }
    free(seen);
}

/* ---- known answers ---- */

/* n = 5..10 on 8 seeds: both methods reach the DP optimum; bound <= optimum. */
static void test_small_optimal(void **state)
{
    (void)state;
    int tour[10];
    for (int n = 5; n <= 10; n++)
        for (uint64_t seed = 1; seed <= 8; seed++) {
            double *xy = uniform(n, seed);
            mcts_problem p = {n, xy, 0};
            double opt = held_karp(&p);
            for (int method = 0; method < 2; method++) {
                mcts_settings s;
                mcts_settings_default(&s);
                s.method = method;
                s.restarts = 30;
                s.seed = seed;
                mcts_info info;
                assert_int_equal(mcts_solve(&p, &s, NULL, tour, &info, NULL), SV_OK);
                assert_int_equal(info.base.status, SV_SOLVED);
                assert_permutation(tour, n);
                assert_true(fabs(tour_length(&p, tour) - info.length) < 1e-12 * opt);
                if (fabs(info.length - opt) > 1e-9 * opt)
                    fail_msg("n=%d seed=%d method=%d: %.12g vs optimum %.12g", n, (int)seed,
                             method, info.length, opt);
                assert_true(info.bound <= opt * (1 + 1e-12));
                assert_true(info.bound > 0.5 * opt);
                assert_true(fabs(info.gap - (info.length / info.bound - 1)) < 1e-12);
            }
            free(xy);
        }
}

/* The 1-tree bound of a regular polygon is its perimeter (the 1-tree is the tour itself, after
 * at most a few steps), and a tour of it is optimal: tol 0 then ends the run solved. */
static void test_polygon_bound_exact(void **state)
{
    (void)state;
    enum { N = 12 };
    double xy[2 * N];
    for (int i = 0; i < N; i++) {
        xy[2 * i] = cos(2 * M_PI * i / N);
        xy[2 * i + 1] = sin(2 * M_PI * i / N);
    }
    mcts_problem p = {N, xy, 0};
    double per = 2 * N * sin(M_PI / N);
    double b = mcts_one_tree_bound(&p, 50, per * 1.1, NULL);
    assert_true(b <= per * (1 + 1e-12));
    assert_true(b >= per * (1 - 1e-9));
    int tour[N];
    mcts_settings s;
    mcts_settings_default(&s);
    s.ctl.tol = 1e-9;
    s.restarts = 1000;
    mcts_info info;
    assert_int_equal(mcts_solve(&p, &s, NULL, tour, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(fabs(info.length - per) < 1e-9);
    assert_true(info.searches < 1000);  /* solved by the gap, not by the search count */
}

/* SoftDist: the k nearest, in order, weights exp(-d/tau) normalised over them. */
static void test_softdist(void **state)
{
    (void)state;
    double xy[] = {0, 0, 1, 0, 0, 2, 3, 0, 0, -4, 10, 10};
    mcts_problem p = {6, xy, 0};
    int nbr[18];
    double heat[18];
    assert_int_equal(mcts_softdist(&p, 3, 0.5, nbr, heat), 3);
    assert_int_equal(nbr[0], 1);
    assert_int_equal(nbr[1], 2);
    assert_int_equal(nbr[2], 3);
    double z = exp(-1 / 0.5) + exp(-2 / 0.5) + exp(-3 / 0.5);
    assert_true(fabs(heat[0] - exp(-1 / 0.5) / z) < 1e-14);
    assert_true(fabs(heat[1] - exp(-2 / 0.5) / z) < 1e-14);
    assert_true(fabs(heat[2] - exp(-3 / 0.5) / z) < 1e-14);
    for (int i = 0; i < 6; i++)
        assert_true(fabs(heat[3 * i] + heat[3 * i + 1] + heat[3 * i + 2] - 1) < 1e-14);
}

/* n = 100, 200, 500: the gap to the bound (printed), bound <= length, MCTS no worse than the
 * 2-opt + Or-opt search it starts from (the same first tour with the same seed), reproducible by
 * the seed. */
static void test_gap_medium(void **state)
{
    (void)state;
    int ns[] = {100, 200, 500};
    for (int t = 0; t < 3; t++) {
        int n = ns[t];
        double *xy = uniform(n, 7);
        mcts_problem p = {n, xy, 0};
        int *tour = malloc((size_t)n * sizeof *tour), *again = malloc((size_t)n * sizeof *tour);
        mcts_info im, i2, i3;
        mcts_settings s;
        mcts_settings_default(&s);
        s.seed = 3;
        s.param_h = n <= 200 ? 10 : 2;
        assert_int_equal(mcts_solve(&p, &s, NULL, tour, &im, NULL), SV_OK);
        assert_int_equal(im.base.status, SV_SOLVED);
        assert_permutation(tour, n);
        assert_int_equal(mcts_solve(&p, &s, NULL, again, &i3, NULL), SV_OK);
        assert_memory_equal(tour, again, (size_t)n * sizeof *tour);
        s.method = MCTS_METHOD_2OPT;
        assert_int_equal(mcts_solve(&p, &s, NULL, again, &i2, NULL), SV_OK);
        assert_permutation(again, n);
        fprintf(stderr, "n=%d: mcts %.4f (gap %.2f%%, %ld simulations, %ld improvements), 2opt %.4f (gap %.2f%%), "
                "bound %.4f\n", n, im.length, 100 * im.gap, im.simulations, im.improvements, i2.length,
                100 * i2.gap, im.bound);
        assert_true(im.bound <= im.length && i2.bound <= i2.length);
        assert_true(im.gap < 0.08);   /* uniform instances: 1-tree gaps are ~1%, MCTS ~2-5% */
        assert_true(i2.gap < 0.15);
        assert_true(im.length <= i2.length + 1e-12);  /* MCTS goes on from the same local optimum */
        /* the bound within 0.7 sqrt(n A)..0.7124 sqrt(n A) (Beardwood-Halton-Hammersley) */
        assert_true(im.bound > 0.6 * sqrt((double)n) && im.bound < 0.7124 * sqrt((double)n) * 1.1);
        free(tour);
        free(again);
        free(xy);
    }
}

/* ---- stopping ---- */

static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    int n = 3000;
    double *xy = uniform(n, 2);
    mcts_problem p = {n, xy, 0};
    int *tour = malloc((size_t)n * sizeof *tour);
    mcts_settings s;
    mcts_settings_default(&s);
    s.ctl.report_every = 1000000000L;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    mcts_info info;
    assert_int_equal(mcts_solve(&p, &s, &mon, tour, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_permutation(tour, n);  /* the nearest-neighbour tour at least */
    s.ctl.time_limit_s = 0.3;
    s.bound_steps = 2;
    assert_int_equal(mcts_solve(&p, &s, NULL, tour, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_permutation(tour, n);
    assert_true(isnan(info.bound) || info.bound <= info.length);
    s.ctl.time_limit_s = 0;
    s.ctl.max_iter = 5;
    assert_int_equal(mcts_solve(&p, &s, NULL, tour, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_int_equal(info.base.iter, 5);
    free(tour);
    free(xy);
}

static void test_bad_input(void **state)
{
    (void)state;
    double xy[] = {0, 0, 1, 1};
    mcts_problem p = {2, xy, 0};
    int tour[3];
    mcts_settings s;
    mcts_settings_default(&s);
    sv_err e;
    assert_int_equal(mcts_solve(&p, &s, NULL, tour, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem");
    s.max_depth = 1;
    double xy3[] = {0, 0, 1, 1, 2, 0};
    p = (mcts_problem){3, xy3, 0};
    assert_int_equal(mcts_solve(&p, &s, NULL, tour, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/max_depth");
    mcts_settings_default(&s);
    xy3[3] = NAN;
    assert_int_equal(mcts_solve(&p, &s, NULL, tour, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem");
}

/* ---- the codec ---- */

/* A TSPLIB EUC_2D instance: 4 corners of a 3 x 4 rectangle and its centre; nint distances. */
static const char tsplib5[] =
    "NAME : rect5\\nCOMMENT : a test\\nTYPE : TSP\\nDIMENSION : 5\\n"
    "EDGE_WEIGHT_TYPE : EUC_2D\\nNODE_COORD_SECTION\\n1 0 0\\n2 3 0\\n3 3 4\\n4 0 4\\n"
    "5 1.5 2\\nEOF\\n";

static void test_codec_tsplib(void **state)
{
    (void)state;
    char prob[512];
    snprintf(prob, sizeof prob, "{\"tsplib\": \"%s\"}", tsplib5);
    json_t *r = sv_test_codec_run(&sv_codec_mcts, prob, "{\"restarts\": 10}", NULL);
    /* centre to corners 2.5 -> nint 3 (round half away); best: 3 + 4 + 3 + 3 + 3 = 16 */
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(fabs(json_number_value(json_object_get(r, "length")) - 16) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "objective")) - 16) < 1e-12);
    assert_int_equal(json_array_size(json_object_get(r, "tour")), 5);
    assert_true(json_number_value(json_object_get(r, "bound")) <= 16 + 1e-12);
    json_decref(r);

    const char *ge = "{\"tsplib\": \"TYPE : TSP\\nDIMENSION : 3\\nEDGE_WEIGHT_TYPE : GEO\\n"
                     "NODE_COORD_SECTION\\n1 0 0\\n2 1 1\\n3 2 0\\n\"}";
    sv_err e;
    json_t *gj = json_loads(ge, 0, NULL);
    assert_int_equal(sv_codec_mcts.validate(gj, NULL, &sv_test_codec_env, &e), SV_EINVAL);
    json_decref(gj);
    assert_string_equal(e.field, "/problem/tsplib");
    assert_non_null(strstr(e.msg, "EDGE_WEIGHT_TYPE"));
    sv_test_codec_error(&sv_codec_mcts,
                        "{\"tsplib\": \"TYPE : ATSP\\nDIMENSION : 3\\nEDGE_WEIGHT_TYPE : EUC_2D\\n"
                        "NODE_COORD_SECTION\\n1 0 0\\n2 1 1\\n3 2 0\\n\"}", NULL, "/problem/tsplib");
    sv_test_codec_error(&sv_codec_mcts,
                        "{\"tsplib\": \"TYPE : TSP\\nDIMENSION : 4\\nEDGE_WEIGHT_TYPE : EUC_2D\\n"
                        "NODE_COORD_SECTION\\n1 0 0\\n2 1 1\\n3 2 0\\n\"}", NULL, "/problem/tsplib");
    sv_test_codec_error(&sv_codec_mcts,
                        "{\"tsplib\": \"TYPE : TSP\\nDIMENSION : 100000000\\nEDGE_WEIGHT_TYPE : "
                        "EUC_2D\\nNODE_COORD_SECTION\\n\"}", NULL, "/problem/tsplib");
    sv_test_codec_error(&sv_codec_mcts, "{\"tsplib\": 3}", NULL, "/problem/tsplib");
}

static void test_codec_forms(void **state)
{
    (void)state;
    json_t *r = sv_test_codec_run(&sv_codec_mcts,
                                  "{\"coords\": [[0, 0], [1, 0], [1, 1], [0, 1]]}", NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(fabs(json_number_value(json_object_get(r, "length")) - 4) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "gap"))) < 1e-9);
    json_decref(r);
    r = sv_test_codec_run(&sv_codec_mcts, "{\"generate\": {\"n\": 50, \"seed\": 4}}",
                          "{\"method\": \"2opt\"}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "method")), "2opt");
    assert_int_equal(json_integer_value(json_object_get(r, "cities")), 50);
    json_decref(r);
    sv_test_codec_error(&sv_codec_mcts, "{\"coords\": [[0, 0], [1, 0]]}", NULL,
                        "/problem/coords");
    sv_test_codec_error(&sv_codec_mcts, "{\"coords\": [[0, 0, 1], [1, 0, 1], [2, 2, 2]]}", NULL,
                        "/problem/coords/0");
    sv_test_codec_error(&sv_codec_mcts, "{\"generate\": {\"n\": 2}}", NULL,
                        "/problem/generate/n");
    sv_test_codec_error(&sv_codec_mcts, "{\"generate\": {}}", NULL, "/problem/generate/n");
    sv_test_codec_error(&sv_codec_mcts, "{\"generate\": {\"n\": 5, \"m\": 1}}", NULL,
                        "/problem/generate/m");
    sv_test_codec_error(&sv_codec_mcts, "{\"generate\": {\"n\": 5}}", "{\"method\": \"3opt\"}",
                        "/params/method");
    sv_test_codec_error(&sv_codec_mcts, "{\"generate\": {\"n\": 5}}", "{\"tau\": 0}",
                        "/params/tau");
    sv_test_codec_error(&sv_codec_mcts, "{\"generate\": {\"n\": 5}, \"coords\": []}", NULL,
                        "/problem");
    /* the environment's limit on n, before anything is allocated */
    sv_codec_env small = sv_test_codec_env;
    small.max_dim = 10;
    sv_err e;
    json_t *pr = json_loads("{\"generate\": {\"n\": 11}}", 0, NULL);
    assert_int_equal(sv_codec_mcts.validate(pr, NULL, &small, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/n");
    json_decref(pr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_optimal),
        cmocka_unit_test(test_polygon_bound_exact),
        cmocka_unit_test(test_softdist),
        cmocka_unit_test(test_gap_medium),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_tsplib),
        cmocka_unit_test(test_codec_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
