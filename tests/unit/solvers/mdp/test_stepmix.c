/* test_stepmix.c - StepMix and EpsMix (core/solvers/mdp/stepmix.c) and the mdp.stepmix codec
 * (api/codecs/mdp/stepmix.c). Reference answers: the true values of the policies played
 * (backward induction on the true model, independent of the learner), the paper's guarantees
 * measured over fixed seeds (no violation of the episode-wise constraint, sublinear regret), and
 * the constraint-free case reducing to the optimistic algorithm episode for episode. Every
 * number comes from scalar loops seeded by the settings, never from BLAS. */
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
#include "core/models/mdp.h"
#include "core/solvers/mdp/stepmix.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_stepmix;

static void random_mdp(sv_mdp *m, int S, int A, int H, uint64_t seed)
{
    sv_mdp_gen_spec g;
    sv_err e;
    sv_params_defaults(sv_mdp_gen_params, &g);
    g.kind = SV_MDP_GEN_RANDOM;
    g.states = S;
    g.actions = A;
    g.branching = 3 < S ? 3 : S;
    g.seed = seed;
    assert_int_equal(sv_mdp_generate(&g, H, 1.0, m, "/problem/generate", &e), SV_OK);
}

static void run(const sv_mdp *m, const double *baseline, int method, long K, double alpha,
                uint64_t seed, double *weights, stepmix_info *info)
{
    stepmix_settings s;
    stepmix_settings_default(&s);
    s.method = method;
    s.episodes = K;
    s.alpha = alpha;
    s.seed = seed;
    s.ctl.report_every = 1000000;
    stepmix_problem p = {m, baseline};
    sv_err e;
    assert_int_equal(stepmix_solve(&p, &s, NULL, weights, info, &e), SV_OK);
    assert_int_equal(info->base.status, SV_SOLVED);
    assert_int_equal(info->base.iter, K);
}

/* The optimal policy as a deterministic baseline: the tightest threshold, 0.9 V*. */
static double *optimal_baseline(const sv_mdp *m)
{
    size_t S = (size_t)m->S, A = (size_t)m->A, H = (size_t)m->H;
    double *V = malloc((H + 1) * S * sizeof *V), *Q = malloc(S * A * sizeof *Q);
    int *g = malloc(H * S * sizeof *g);
    double *pi = calloc(H * S * A, sizeof *pi);
    assert_non_null(V);
    assert_non_null(Q);
    assert_non_null(g);
    assert_non_null(pi);
    sv_mdp_optimal(m, 0, 0, V, g, Q);
    for (size_t i = 0; i < H * S; i++)
        pi[i * A + (size_t)g[i]] = 1;
    free(V);
    free(Q);
    free(g);
    return pi;
}

/* The paper's guarantee: with probability 1 - delta no episode's true value falls below
 * (1 - alpha) V^b. Over 4 seeds x 2 instances x 2 baselines (uniform; the optimal policy, whose
 * threshold 0.9 V* leaves the least room) StepMix and EpsMix break it in no episode, and every
 * mixing weight lies in [0, 1]. The optimistic algorithm on the same runs does break it: the
 * count is not vacuous. */
static void test_constraint_holds(void **state)
{
    (void)state;
    const long K = 4000;
    double *w = malloc((size_t)K * sizeof *w);
    assert_non_null(w);
    long optimistic_violations = 0;
    for (uint64_t inst = 1; inst <= 2; inst++) {
        sv_mdp m;
        random_mdp(&m, 6, 3, 5, inst);
        double *opt = optimal_baseline(&m);
        for (int b = 0; b < 2; b++)
            for (uint64_t seed = 1; seed <= 4; seed++) {
                stepmix_info info;
                for (int method = STEPMIX_METHOD_STEPMIX; method <= STEPMIX_METHOD_EPSMIX;
                     method++) {
                    run(&m, b ? opt : NULL, method, K, 0.1, seed, w, &info);
                    assert_int_equal(info.violations, 0);
                    assert_true(info.min_margin >= 0);
                    assert_true(fabs(info.threshold - 0.9 * info.baseline_value) < 1e-12);
                    for (long k = 0; k < K; k++)
                        assert_true(w[k] >= 0 && w[k] <= 1);
                    assert_true(info.mean_weight >= 0 && info.mean_weight <= 1);
                }
                run(&m, b ? opt : NULL, STEPMIX_METHOD_OPTIMISTIC, K, 0.1, seed, NULL, &info);
                optimistic_violations += info.violations;
            }
        free(opt);
        sv_mdp_free(&m);
    }
    assert_true(optimistic_violations > 100);
    free(w);
}

/* Sublinear regret: the slope of log regret on log k over the last 90% of the episodes stays
 * well below 1 (measured 0.19 StepMix, 0.33 EpsMix, 0.58 optimistic on instance 1, seed 1), and
 * the regret is far below the linear regret of playing the baseline throughout. */
static void test_regret_sublinear(void **state)
{
    (void)state;
    const long K = 20000;
    sv_mdp m;
    random_mdp(&m, 6, 3, 5, 1);
    for (uint64_t seed = 1; seed <= 3; seed++)
        for (int method = 0; method < 3; method++) {
            stepmix_info info;
            run(&m, NULL, method, K, 0.1, seed, NULL, &info);
            assert_int_equal(info.curve_n, STEPMIX_CURVE_POINTS);
            assert_int_equal(info.curve_episode[STEPMIX_CURVE_POINTS - 1], K);
            assert_true(fabs(info.curve_regret[STEPMIX_CURVE_POINTS - 1] - info.regret) < 1e-9);
            for (int i = 1; i < info.curve_n; i++)
                assert_true(info.curve_regret[i] >= info.curve_regret[i - 1] - 1e-9);
            assert_true(isfinite(info.exponent) && info.exponent < 0.8);
            double linear = (double)K * (info.optimal_value - info.baseline_value);
            assert_true(info.regret < 0.25 * linear);
        }
    sv_mdp_free(&m);
}

/* With alpha huge the threshold is negative, every pessimistic value meets it, and StepMix and
 * EpsMix are the optimistic algorithm: the same weights (1), the same draws, the same regret to
 * the last bit. */
static void test_void_constraint_is_optimistic(void **state)
{
    (void)state;
    const long K = 3000;
    sv_mdp m;
    random_mdp(&m, 5, 2, 4, 3);
    double *w = malloc((size_t)K * sizeof *w);
    assert_non_null(w);
    stepmix_info ref, info;
    run(&m, NULL, STEPMIX_METHOD_OPTIMISTIC, K, 0.1, 7, NULL, &ref);
    for (int method = STEPMIX_METHOD_STEPMIX; method <= STEPMIX_METHOD_EPSMIX; method++) {
        run(&m, NULL, method, K, 1e6, 7, w, &info);
        for (long k = 0; k < K; k++)
            assert_true(w[k] == 1.0);
        assert_int_equal(info.baseline_episodes, 0);
        assert_true(info.mean_weight == 1.0);
        if (method == STEPMIX_METHOD_STEPMIX) { /* epsmix draws one more coin per episode */
            assert_true(info.regret == ref.regret);
            assert_memory_equal(info.curve_regret, ref.curve_regret, sizeof ref.curve_regret);
        }
    }
    /* StepMix with a constraint that binds plays the baseline at first (weight 0) */
    run(&m, NULL, STEPMIX_METHOD_STEPMIX, K, 0.0, 7, w, &info);
    assert_true(w[0] == 0.0);
    assert_true(info.baseline_episodes > 0);
    assert_int_equal(info.violations, 0);
    free(w);
    sv_mdp_free(&m);
}

/* One state, two actions paying 1 and 0.5, horizon 2: V* = 2, the baseline "always the second
 * action" has V^b = 1. Nothing is unknown but the (trivial) transitions, and the last step
 * has no bonus, so the run is checkable by hand: threshold 0.9, no violation. */
static void test_one_state(void **state)
{
    (void)state;
    sv_mdp m;
    assert_int_equal(sv_mdp_alloc(&m, 1, 2, 2, 1.0), SV_OK);
    m.P[0] = m.P[1] = 1;
    m.R[0] = 1;
    m.R[1] = 0.5;
    m.mu[0] = 1;
    double pib[4] = {0, 1, 0, 1};
    stepmix_info info;
    run(&m, pib, STEPMIX_METHOD_STEPMIX, 200, 0.1, 1, NULL, &info);
    assert_true(fabs(info.optimal_value - 2) < 1e-12);
    assert_true(fabs(info.baseline_value - 1) < 1e-12);
    assert_true(fabs(info.threshold - 0.9) < 1e-12);
    assert_int_equal(info.violations, 0);
    /* the first step's lower bound of pi_opt is 1 + max(0, 1 - b) >= 1 >= 0.9 already */
    assert_true(info.mean_weight == 1.0);
    assert_true(info.regret == 0.0);
    sv_mdp_free(&m);
}

static void test_seeded(void **state)
{
    (void)state;
    sv_mdp m;
    random_mdp(&m, 5, 2, 4, 2);
    stepmix_info a, b;
    run(&m, NULL, STEPMIX_METHOD_EPSMIX, 1000, 0.1, 5, NULL, &a);
    run(&m, NULL, STEPMIX_METHOD_EPSMIX, 1000, 0.1, 5, NULL, &b);
    assert_true(a.regret == b.regret);
    assert_memory_equal(a.curve_regret, b.curve_regret, sizeof a.curve_regret);
    run(&m, NULL, STEPMIX_METHOD_EPSMIX, 1000, 0.1, 6, NULL, &b);
    assert_true(a.regret != b.regret);
    sv_mdp_free(&m);
}

/* A stop request is read between reports, and a time limit holds with a huge report_every. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    sv_mdp m;
    random_mdp(&m, 5, 2, 4, 1);
    stepmix_settings s;
    stepmix_settings_default(&s);
    s.episodes = 100000000L;
    s.ctl.report_every = 1000000000L;
    stepmix_problem p = {&m, NULL};
    stepmix_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    assert_int_equal(stepmix_solve(&p, &s, &mon, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 1000);
    s.ctl.time_limit_s = 0.2;
    assert_int_equal(stepmix_solve(&p, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(isfinite(info.regret) && info.base.iter > 0);
    sv_mdp_free(&m);
}

static void test_bad_input(void **state)
{
    (void)state;
    sv_mdp m;
    random_mdp(&m, 3, 2, 3, 1);
    stepmix_settings s;
    stepmix_settings_default(&s);
    stepmix_problem p = {&m, NULL};
    sv_err e;
    m.R[1] = 1.5;
    assert_int_equal(stepmix_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/rewards");
    m.R[1] = 0.5;
    double pib[3 * 3 * 2];
    for (int i = 0; i < 18; i++)
        pib[i] = 0.5;
    pib[7] = 0.7;
    p.baseline = pib;
    assert_int_equal(stepmix_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/baseline");
    p.baseline = NULL;
    m.H = 0;
    assert_int_equal(stepmix_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/horizon");
    m.H = 3;
    s.delta = 0;
    assert_int_equal(stepmix_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/delta");
    sv_mdp_free(&m);
}

#define GEN "\"generate\": {\"kind\": \"random\", \"states\": 4, \"actions\": 2, \"seed\": 1}"
#define ONE "\"transitions\": [[[1], [1]]], \"rewards\": [[1, 0.5]], \"horizon\": 2"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_stepmix;
    sv_test_codec_ok(C, "{" GEN ", \"horizon\": 3}", NULL);
    sv_test_codec_ok(C, "{" ONE ", \"baseline\": [[0, 1]]}", NULL);
    sv_test_codec_ok(C, "{" ONE ", \"baseline\": [[[0, 1]], [[0.5, 0.5]]]}", NULL);
    sv_test_codec_error(C, "{" GEN "}", NULL, "/problem/horizon");
    sv_test_codec_error(C, "{\"generate\": {\"kind\": \"inventory\"}, \"horizon\": 3}", NULL,
                        "/problem/generate/kind");
    sv_test_codec_error(C, "{\"transitions\": [[[1], [1]]], \"rewards\": [[2, 0.5]], "
                        "\"horizon\": 2}", NULL, "/problem/rewards");
    sv_test_codec_error(C, "{" ONE ", \"baseline\": [[0.2, 0.2]]}", NULL,
                        "/problem/baseline/0");
    sv_test_codec_error(C, "{" ONE ", \"baseline\": [[0, 1, 0]]}", NULL, "/problem/baseline/0");
    sv_test_codec_error(C, "{" ONE ", \"baseline\": [[[0, 1]]]}", NULL, "/problem/baseline");
    sv_test_codec_error(C, "{" ONE ", \"baseline\": [[[0, 1]], [[-1, 2]]]}", NULL,
                        "/problem/baseline/1/0/0");
    sv_test_codec_error(C, "{" ONE ", \"basline\": [[0, 1]]}", NULL, "/problem/basline");
    sv_test_codec_error(C, "{" ONE "}", "{\"method\": \"ucb\"}", "/params/method");
    sv_test_codec_error(C, "{" ONE "}", "{\"alpha\": -1}", "/params/alpha");
    sv_test_codec_error(C, "{" ONE "}", "{\"episodes\": 0}", "/params/episodes");
}

static void test_codec_run(void **state)
{
    (void)state;
    json_t *r = sv_test_codec_run(&sv_codec_stepmix, "{" ONE ", \"baseline\": [[0, 1]]}",
                                  "{\"episodes\": 100, \"method\": \"epsmix\"}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_int_equal(json_integer_value(json_object_get(r, "iterations")), 100);
    assert_true(fabs(json_number_value(json_object_get(r, "optimal_value")) - 2) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "baseline_value")) - 1) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "threshold")) - 0.9) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(r, "violations")), 0);
    assert_true(json_number_value(json_object_get(r, "regret")) == 0.0);
    json_t *curve = json_object_get(r, "curve");
    assert_int_equal(json_array_size(json_object_get(curve, "episode")), STEPMIX_CURVE_POINTS);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(curve, "episode"), 0)), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "model"),
                                                        "horizon")), 2);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constraint_holds),
        cmocka_unit_test(test_regret_sublinear),
        cmocka_unit_test(test_void_constraint_is_optimistic),
        cmocka_unit_test(test_one_state),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
