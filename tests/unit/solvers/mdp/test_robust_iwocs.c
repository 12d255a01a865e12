/* test_robust_iwocs.c - IWOCS and robust VI (core/solvers/mdp/robust_iwocs.c), the seeded
 * perturbations (robust_iwocs_gen.c) and the mdp.robust_iwocs codec. Reference answers: brute
 * force over every deterministic policy (stationary when discounted, step-dependent when
 * episodic) and every model of the set, plain value iteration for a one-model set, and a
 * hand-solved two-model instance through the codec. */
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
#include "core/solvers/mdp/robust_iwocs.h"
#include "core/solvers/mdp/robust_iwocs_gen.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_robust_iwocs;

static void random_mdp(sv_mdp *m, int S, int A, int branching, int H, uint64_t seed)
{
    sv_mdp_gen_spec g;
    sv_params_defaults(sv_mdp_gen_params, &g);
    g.kind = SV_MDP_GEN_RANDOM;
    g.states = S;
    g.actions = A;
    g.branching = branching;
    g.seed = seed;
    sv_err e;
    assert_int_equal(sv_mdp_generate(&g, H, 0.9, m, "/problem/generate", &e), SV_OK);
}

static double *perturbed(const sv_mdp *m, int count, double radius, uint64_t seed)
{
    robust_iwocs_models_spec spec = {count, radius, seed};
    double *P = malloc((size_t)count * m->S * m->A * m->S * sizeof *P);
    assert_non_null(P);
    robust_iwocs_perturb(m, &spec, P);
    return P;
}

/* The value at mu of deterministic policy pol under model i (0 nominal), by sv_mdp_evaluate
 * to tol. */
static double policy_value_tol(const sv_mdp *m, const double *extra, int i, const int *pol,
                               double tol)
{
    sv_mdp mi = *m;
    if (i > 0)
        mi.P = (double *)(extra + (long)(i - 1) * m->S * m->A * m->S);
    int steps = m->H > 0 ? m->H : 1;
    double *pi = calloc((size_t)steps * m->S * m->A, sizeof *pi);
    double *V = malloc((size_t)(m->H + 1) * m->S * sizeof *V), *Q = malloc((size_t)m->S * m->A *
                                                                            sizeof *Q);
    for (int x = 0; x < steps * m->S; x++)
        pi[x * m->A + pol[x]] = 1;
    sv_mdp_evaluate(&mi, pi, tol, ROBUST_IWOCS_DEFAULT_MAX_SWEEPS, V, Q);
    double v = sv_mdp_start_value(&mi, V);
    free(pi);
    free(V);
    free(Q);
    return v;
}

static double policy_value(const sv_mdp *m, const double *extra, int i, const int *pol)
{
    return policy_value_tol(m, extra, i, pol, 1e-12);
}

static double worst_of(const sv_mdp *m, const double *extra, int n_extra, const int *pol)
{
    double w = INFINITY;
    for (int i = 0; i <= n_extra; i++)
        w = fmin(w, policy_value(m, extra, i, pol));
    return w;
}

/* max over deterministic policies of min over the models. */
static double brute_force(const sv_mdp *m, const double *extra, int n_extra)
{
    int steps = m->H > 0 ? m->H : 1, len = steps * m->S;
    int pol[64] = {0};
    assert_true(len <= 64);
    double best = -INFINITY;
    for (;;) {
        best = fmax(best, worst_of(m, extra, n_extra, pol));
        int x = 0;
        while (x < len && ++pol[x] == m->A)
            pol[x++] = 0;
        if (x == len)
            return best;
    }
}

static void solve(const sv_mdp *m, const double *extra, int n_extra, int method, int *policy,
                  double *values, robust_iwocs_iter *iters, robust_iwocs_info *info)
{
    robust_iwocs_settings s;
    robust_iwocs_settings_default(&s);
    s.method = method;
    s.vi_tol = 1e-11;
    s.ctl.tol = 1e-9;
    robust_iwocs_problem p = {m, n_extra, extra};
    int found[64];
    robust_iwocs_out out = {policy, values, found, iters, 64};
    sv_err e;
    assert_int_equal(robust_iwocs_solve(&p, &s, NULL, &out, info, &e), SV_OK);
    assert_int_equal(info->base.status, SV_SOLVED);
    assert_int_equal(found[0], 0);  /* W starts with the nominal model */
}

/* On small sets, IWOCS returns a policy whose reported worst case is its true worst case over
 * the whole set (what the termination test certifies), never above the brute-force max-min over
 * deterministic policies, reached on most instances; robust VI's dynamic value is below the
 * static max-min, and its own policy's static worst case lies between the two. */
static void check_instances(int H)
{
    int matched = 0, cases = 0, gaps = 0, multi = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        sv_mdp m;
        random_mdp(&m, 3, 2, 3, H, seed);
        int n_extra = 5;
        double *extra = perturbed(&m, n_extra, 0.6, seed + 100);
        double brute = brute_force(&m, extra, n_extra);
        int pol[64];
        double values[6];
        robust_iwocs_iter iters[64];
        robust_iwocs_info info;
        solve(&m, extra, n_extra, ROBUST_IWOCS_IWOCS, pol, values, iters, &info);
        double truth = worst_of(&m, extra, n_extra, pol);
        assert_true(fabs(info.worst_case - truth) < 1e-8);
        assert_true(info.worst_case <= brute + 1e-8);
        /* the solver's evaluation is sv_mdp_evaluate's iteration on the policy's rows: the same
         * values bit for bit when episodic, to rounding (a dgemv a sweep) when discounted */
        for (int i = 0; i <= n_extra; i++) {
            double ref = policy_value_tol(&m, extra, i, pol, 1e-11);
            if (H > 0)
                assert_true(values[i] == ref);
            else
                assert_true(fabs(values[i] - ref) < 1e-12 * fmax(1, fabs(ref)));
        }
        /* termination: at most one iteration per model; the last finds no new worst case */
        assert_true(info.iterations >= 1 && info.iterations <= n_extra + 1);
        assert_int_equal(info.found, info.iterations);
        const robust_iwocs_iter *last = &iters[info.iterations - 1];
        assert_true(last->worst_all >= last->worst_found - 1e-9);
        assert_true(iters[0].found == 1 && fabs(info.nominal_worst - iters[0].worst_all) < 1e-15);
        /* the returned policy is the incumbent: the best iteration's */
        double best = -INFINITY;
        for (int k = 0; k < info.iterations; k++)
            best = fmax(best, iters[k].worst_all);
        assert_true(info.worst_case == best && info.worst_case >= info.nominal_worst);
        assert_true(info.worst_case == iters[info.best_iteration].worst_all);
        /* robust VI: the dynamic adversary is stronger */
        assert_true(info.robust_vi_value <= brute + 1e-8);
        matched += fabs(info.worst_case - brute) < 1e-8;
        multi += info.iterations > 1;
        cases++;

        robust_iwocs_info rv;
        solve(&m, extra, n_extra, ROBUST_IWOCS_ROBUST_VI, pol, values, iters, &rv);
        assert_true(fabs(rv.robust_vi_value - info.robust_vi_value) < 1e-9);
        assert_true(rv.worst_case >= rv.robust_vi_value - 1e-8);
        assert_true(rv.worst_case <= brute + 1e-8);
        assert_true(fabs(rv.worst_case - worst_of(&m, extra, n_extra, pol)) < 1e-8);
        gaps += rv.gap > 1e-6;
        free(extra);
        sv_mdp_free(&m);
    }
    print_message("horizon %d: IWOCS reached the brute-force max-min on %d of %d sets (%d took "
                  "more than one iteration); robust VI's value was strictly below its policy's "
                  "static worst case on %d\n", H, matched, cases, multi, gaps);
    assert_true(matched >= cases / 2);
    assert_true(multi >= cases / 2);  /* the sets make the nominal policy a poor worst case */
}

static void test_discounted_against_brute_force(void **state)
{
    (void)state;
    check_instances(0);
}

static void test_episodic_against_brute_force(void **state)
{
    (void)state;
    check_instances(2);
}

/* A one-model set: IWOCS is plain value iteration (backward induction). */
static void test_one_model_is_value_iteration(void **state)
{
    (void)state;
    for (int H = 0; H <= 4; H += 4) {
        sv_mdp m;
        random_mdp(&m, 8, 3, 3, H, 5);
        int pol[64];
        double values[1];
        robust_iwocs_iter iters[64];
        robust_iwocs_info info;
        solve(&m, NULL, 0, ROBUST_IWOCS_IWOCS, pol, values, iters, &info);
        double *V = malloc((size_t)(m.H + 1) * m.S * sizeof *V), Q[24];
        int g[64];
        sv_mdp_optimal(&m, 1e-12, 1000000, V, g, Q);
        double vstar = sv_mdp_start_value(&m, V);
        assert_true(fabs(info.worst_case - vstar) < 1e-8);
        assert_true(fabs(info.robust_vi_value - vstar) < 1e-8);
        assert_int_equal(info.iterations, 1);
        if (H > 0)
            assert_memory_equal(pol, g, sizeof(int) * (size_t)(H * m.S));
        free(V);
        sv_mdp_free(&m);
    }
}

/* The perturbations stay distributions within total variation radius of the nominal rows, and
 * the seed decides them. */
static void test_perturbations(void **state)
{
    (void)state;
    sv_mdp m;
    random_mdp(&m, 6, 2, 2, 0, 3);
    double *a = perturbed(&m, 3, 0.25, 9), *b = perturbed(&m, 3, 0.25, 9);
    double *c = perturbed(&m, 3, 0.25, 10);
    long rows = 3L * 6 * 2;
    assert_memory_equal(a, b, sizeof(double) * (size_t)rows * 6);
    int differ = 0;
    for (long k = 0; k < rows; k++) {
        double sum = 0, tv = 0;
        for (int t = 0; t < 6; t++) {
            assert_true(a[k * 6 + t] >= 0);
            sum += a[k * 6 + t];
            tv += 0.5 * fabs(a[k * 6 + t] - m.P[(k % 12) * 6 + t]);
            differ += a[k * 6 + t] != c[k * 6 + t];
        }
        assert_true(fabs(sum - 1) < 1e-12);
        assert_true(tv <= 0.25 + 1e-12 && tv > 0);
    }
    assert_true(differ > 0);
    free(a);
    free(b);
    free(c);
    sv_mdp_free(&m);
}

/* A stop request is read between models, and a time limit holds with a huge report_every. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    sv_mdp m;
    random_mdp(&m, 40, 4, 5, 0, 2);
    int n_extra = 400;
    double *extra = perturbed(&m, n_extra, 0.5, 4);
    robust_iwocs_settings s;
    robust_iwocs_settings_default(&s);
    s.ctl.report_every = 1000000000L;
    s.vi_tol = 1e-12;
    robust_iwocs_problem p = {&m, n_extra, extra};
    robust_iwocs_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    assert_int_equal(robust_iwocs_solve(&p, &s, &mon, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 1000);
    s.ctl.time_limit_s = 0.05;
    s.method = ROBUST_IWOCS_ROBUST_VI;
    s.vi_tol = 1e-15;
    s.max_sweeps = 100000000;
    assert_int_equal(robust_iwocs_solve(&p, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    free(extra);
    sv_mdp_free(&m);
}

static void test_bad_input(void **state)
{
    (void)state;
    sv_mdp m;
    random_mdp(&m, 3, 2, 2, 0, 1);
    double *extra = perturbed(&m, 1, 0.5, 1);
    extra[4] += 0.5;  /* P_1(. | 0, 1) no longer sums to 1 */
    robust_iwocs_settings s;
    robust_iwocs_settings_default(&s);
    robust_iwocs_problem p = {&m, 1, extra};
    robust_iwocs_info info;
    sv_err e;
    assert_int_equal(robust_iwocs_solve(&p, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/models");
    assert_int_equal(info.base.status, SV_UNSOLVED);
    p.n_extra = 0;
    s.vi_tol = 0;
    assert_int_equal(robust_iwocs_solve(&p, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/vi_tol");
    free(extra);
    sv_mdp_free(&m);
}

/* ---- the codec ---- */

/* State 0 starts; state 1 pays 1 at the second step, state 2 nothing. Action 0 reaches state 1
 * with probability 0.9 under the nominal model and 0.2 under the other, action 1 with 0.6 under
 * both. */
#define STAY "[[0, 1, 0], [0, 1, 0]], [[0, 0, 1], [0, 0, 1]]"
#define HAND                                                                                   \
    "{\"transitions\": [[[0, 0.9, 0.1], [0, 0.6, 0.4]], " STAY "],"                            \
    " \"rewards\": [[0, 0], [1, 1], [0, 0]], \"horizon\": 2,"                                  \
    " \"models\": [[[[0, 0.2, 0.8], [0, 0.6, 0.4]], " STAY "]]}"

static void test_codec_run(void **state)
{
    (void)state;
    json_t *r = sv_test_codec_run(&sv_codec_robust_iwocs, HAND, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    /* iteration 0: the nominal optimum takes action 0 (0.9), the other model holds it to 0.2;
     * iteration 1: Q_W(0, .) = (min(0.9, 0.2), 0.6) picks action 1, worth 0.6 under both */
    assert_true(fabs(json_number_value(json_object_get(r, "worst_case_value")) - 0.6) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "objective")) - 0.6) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "nominal_policy_worst")) - 0.2) <
                1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "robust_vi_value")) - 0.6) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(r, "iwocs_iterations")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "best_iteration")), 1);
    json_t *found = json_object_get(r, "found");
    assert_int_equal(json_array_size(found), 2);
    assert_int_equal(json_integer_value(json_array_get(found, 1)), 1);
    json_t *pol = json_object_get(r, "policy");
    assert_int_equal(json_array_size(pol), 2);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(pol, 0), 0)), 1);
    json_t *h = json_object_get(r, "history");
    assert_int_equal(json_array_size(h), 2);
    assert_true(fabs(json_number_value(json_object_get(json_array_get(h, 0), "worst_case")) -
                     0.2) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(json_array_get(h, 0), "worst_found")) -
                     0.9) < 1e-12);
    json_decref(r);

    r = sv_test_codec_run(&sv_codec_robust_iwocs, HAND, "{\"method\": \"robust_vi\"}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "method")), "robust_vi");
    assert_true(fabs(json_number_value(json_object_get(r, "worst_case_value")) - 0.6) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "static_dynamic_gap"))) < 1e-12);
    json_decref(r);

    r = sv_test_codec_run(&sv_codec_robust_iwocs,
                          "{\"generate\": {\"kind\": \"gridworld\", \"width\": 3, \"height\": 3},"
                          " \"models\": {\"count\": 4, \"radius\": 0.3, \"seed\": 2}}",
                          NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_int_equal(json_integer_value(json_object_get(r, "models")), 5);
    assert_int_equal(json_array_size(json_object_get(r, "values")), 5);
    assert_int_equal(json_array_size(json_object_get(r, "policy")), 9);
    json_decref(r);
}

#define GEN "\"generate\": {\"kind\": \"random\", \"states\": 3, \"actions\": 2}"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_robust_iwocs;
    sv_test_codec_ok(C, "{" GEN "}", NULL);
    sv_test_codec_ok(C, "{" GEN ", \"models\": {\"count\": 2}}", NULL);
    sv_test_codec_ok(C, HAND, NULL);
    sv_test_codec_error(C, "{" GEN ", \"models\": {\"count\": 0}}", NULL,
                        "/problem/models/count");
    sv_test_codec_error(C, "{" GEN ", \"models\": {\"radius\": 1.5}}", NULL,
                        "/problem/models/radius");
    sv_test_codec_error(C, "{" GEN ", \"models\": {\"cout\": 2}}", NULL, "/problem/models/cout");
    sv_test_codec_error(C, "{" GEN ", \"models\": 3}", NULL, "/problem/models");
    sv_test_codec_error(C, "{" GEN ", \"models\": [[[[1, 0, 0], [1, 0, 0]]]]}", NULL,
                        "/problem/models/0");
    sv_test_codec_error(C,
                        "{\"transitions\": [[[0, 0.9, 0.1], [0, 0.6, 0.4]], " STAY "],"
                        " \"rewards\": [[0, 0], [1, 1], [0, 0]],"
                        " \"models\": [[[[0, 0.2, 0.7], [0, 0.6, 0.4]], " STAY "]]}",
                        NULL, "/problem/models/0/0/0");
    sv_test_codec_error(C, "{" GEN ", \"modles\": []}", NULL, "/problem/modles");
    sv_test_codec_error(C, "{" GEN "}", "{\"method\": \"dynamic\"}", "/params/method");
    sv_test_codec_error(C, "{" GEN "}", "{\"max_sweeps\": 0}", "/params/max_sweeps");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discounted_against_brute_force),
        cmocka_unit_test(test_episodic_against_brute_force),
        cmocka_unit_test(test_one_model_is_value_iteration),
        cmocka_unit_test(test_perturbations),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_run),
        cmocka_unit_test(test_codec_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
