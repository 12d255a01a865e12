/* test_mck.c - the multiple-choice knapsack DP (core/solvers/allocation/mck.c), its generator
 * (mck_gen.c) and the allocation.mck codec (api/codecs/allocation/mck.c). Reference answers:
 * the classic 0/1 knapsack (w = 10, 20, 30; v = 60, 100, 120; C = 50: 220), brute force over
 * every choice of random small instances, hand-solved pruning curves. No BLAS is involved. */
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
#include "core/rng.h"
#include "core/solvers/allocation/mck.h"
#include "core/solvers/allocation/mck_gen.h"
#include "support/codec.h"

extern const sv_codec sv_codec_mck;

static void settings(mck_settings *s)
{
    mck_settings_default(s);
}

/* ---- known answers ---- */

static void test_classic_knapsack(void **state)
{
    (void)state;
    int ptr[] = {0, 2, 4, 6};
    long cost[] = {0, 10, 0, 20, 0, 30};
    double value[] = {0, 60, 0, 100, 0, 120};
    mck_problem p = {3, ptr, cost, value, 50};
    mck_settings s;
    settings(&s);
    int choice[3] = {-1, -1, -1};
    mck_info info;
    assert_int_equal(mck_solve(&p, &s, NULL, choice, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(info.value == 220.0 && info.base.obj == 220.0);
    assert_int_equal(info.cost, 50);
    assert_int_equal(choice[0], 0);  /* leave the 10, take 20 and 30 */
    assert_int_equal(choice[1], 1);
    assert_int_equal(choice[2], 1);
    assert_int_equal(info.base.iter, 3);
    assert_int_equal(info.budget_used, 50);
    /* capacity 60 fits everything: 280, and the budget axis is capped at the sum, 60 */
    p.budget = 1000;
    assert_int_equal(mck_solve(&p, &s, NULL, choice, &info, NULL), SV_OK);
    assert_true(info.value == 280.0);
    assert_int_equal(info.budget_used, 60);
    assert_int_equal(info.cost, 60);
}

/* Every choice of a small instance, the best value within the budget, or -inf. */
static double brute(const mck_problem *p, int *best_count)
{
    int idx[8] = {0};
    double best = -INFINITY;
    *best_count = 0;
    for (;;) {
        long c = 0;
        double v = 0;
        for (int i = 0; i < p->n; i++) {
            c += p->cost[p->ptr[i] + idx[i]];
            v += p->value[p->ptr[i] + idx[i]];
        }
        if (c <= p->budget && v > best)
            best = v;
        int i = 0;
        while (i < p->n && ++idx[i] == p->ptr[i + 1] - p->ptr[i])
            idx[i++] = 0;
        if (i == p->n)
            break;
    }
    return best;
}

static void test_brute_force(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 12345);
    mck_settings s;
    settings(&s);
    int infeasible = 0, solved = 0;
    for (int trial = 0; trial < 400; trial++) {
        int ptr[7] = {0}, choice[6];
        long cost[24];
        double value[24];
        int n = 1 + (int)sv_rng_below(&r, 6);
        long cmax_sum = 0;
        for (int i = 0; i < n; i++) {
            int m = 1 + (int)sv_rng_below(&r, 4);
            ptr[i + 1] = ptr[i] + m;
            long cmax = 0;
            for (int t = ptr[i]; t < ptr[i + 1]; t++) {
                cost[t] = (long)sv_rng_below(&r, 12);
                value[t] = sv_rng_normal(&r) * 10;  /* negative values too */
                cmax = cost[t] > cmax ? cost[t] : cmax;
            }
            cmax_sum += cmax;
        }
        mck_problem p = {n, ptr, cost, value, (long)sv_rng_below(&r, (uint64_t)cmax_sum + 3)};
        int cnt;
        double want = brute(&p, &cnt);
        mck_info info;
        s.simd = trial & 1;  /* both tile paths */
        assert_int_equal(mck_solve(&p, &s, NULL, choice, &info, NULL), SV_OK);
        if (want == -INFINITY) {
            assert_int_equal(info.base.status, SV_INFEASIBLE);
            assert_true(info.min_cost > p.budget);
            infeasible++;
            continue;
        }
        solved++;
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(fabs(info.value - want) <= 1e-12 * (1 + fabs(want)));
        long c = 0;
        double v = 0;
        for (int i = 0; i < n; i++) {
            assert_true(choice[i] >= 0 && choice[i] < ptr[i + 1] - ptr[i]);
            c += cost[ptr[i] + choice[i]];
            v += value[ptr[i] + choice[i]];
        }
        assert_true(c <= p.budget);
        assert_int_equal(c, info.cost);
        assert_true(v == info.value);  /* the DP adds in the same order */
    }
    assert_true(infeasible > 50 && solved > 200);  /* both were exercised (239, 161) */
}

/* The AVX2 tiles (where the CPU has them) and the scalar ones give the same bits and choice,
 * with options that start to fit inside tiles, options that never fit and ties (equal values). */
static void test_simd_matches_scalar(void **state)
{
    (void)state;
    mck_gen_spec g = {60, 12, 300, 0.6, 5};
    mck_data d;
    assert_int_equal(mck_generate(&g, &d, NULL), SV_OK);
    for (int i = 0; i < 60; i += 7) {  /* duplicates: ties broken by the lowest index */
        d.cost[i * 12 + 5] = d.cost[i * 12 + 3];
        d.value[i * 12 + 5] = d.value[i * 12 + 3];
        d.cost[i * 12 + 6] = 100000;  /* beyond the budget */
    }
    mck_settings s;
    settings(&s);
    int c1[60], c0[60];
    mck_info i1, i0;
    s.simd = 1;
    assert_int_equal(mck_solve(&d.prob, &s, NULL, c1, &i1, NULL), SV_OK);
    s.simd = 0;
    assert_int_equal(mck_solve(&d.prob, &s, NULL, c0, &i0, NULL), SV_OK);
    assert_int_equal(i1.base.status, SV_SOLVED);
    assert_memory_equal(&i1.value, &i0.value, sizeof i0.value);
    assert_memory_equal(c1, c0, sizeof c0);
    assert_int_equal(i1.cost, i0.cost);
    assert_true(i1.cost <= d.prob.budget && i1.budget_used == d.prob.budget);
    for (int i = 0; i < 60; i += 7)
        assert_true(c1[i] != 5 && c1[i] != 6);
    mck_data_free(&d);
}

static void test_infeasible(void **state)
{
    (void)state;
    int ptr[] = {0, 2, 3};
    long cost[] = {5, 7, 4};
    double value[] = {1, 2, 3};
    mck_problem p = {2, ptr, cost, value, 8};
    mck_settings s;
    settings(&s);
    int choice[2] = {-7, -7};
    mck_info info;
    assert_int_equal(mck_solve(&p, &s, NULL, choice, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_INFEASIBLE);
    assert_int_equal(info.min_cost, 9);
    assert_int_equal(info.base.iter, 0);
    assert_true(isnan(info.value));
    assert_int_equal(choice[0], -7);
    p.budget = 9;
    assert_int_equal(mck_solve(&p, &s, NULL, choice, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(info.value == 4.0);
    assert_int_equal(choice[0], 0);
}

/* ---- progress, stopping ---- */

typedef struct {
    int reports;
    long last_iter;
    double last_obj;
    int polls, stop_after;
} watch;

static int on_report(const sv_progress *pr, void *data)
{
    watch *w = data;
    w->reports++;
    w->last_iter = pr->iter;
    w->last_obj = pr->obj;
    return 0;
}

static int on_poll(void *data)
{
    watch *w = data;
    return w->stop_after > 0 && ++w->polls > w->stop_after;
}

static void test_progress_and_max_iter(void **state)
{
    (void)state;
    mck_gen_spec g = {30, 5, 50, 0.5, 3};
    mck_data d;
    assert_int_equal(mck_generate(&g, &d, NULL), SV_OK);
    mck_settings s;
    settings(&s);
    watch w = {0};
    sv_monitor mon = {on_report, &w, on_poll};
    int choice[30];
    mck_info info;
    assert_int_equal(mck_solve(&d.prob, &s, &mon, choice, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(w.reports, 31);  /* iterations 0..30, report_every 1 */
    assert_int_equal(w.last_iter, 30);
    assert_true(w.last_obj == info.value);
    s.ctl.max_iter = 10;
    memset(&w, 0, sizeof w);
    assert_int_equal(mck_solve(&d.prob, &s, &mon, choice, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_int_equal(info.base.iter, 10);
    assert_true(isnan(info.value));
    /* the partial objective is the best of the first 10 groups within the whole budget */
    mck_problem first = d.prob;
    first.n = 10;
    s.ctl.max_iter = 1000;
    mck_info part;
    assert_int_equal(mck_solve(&first, &s, NULL, choice, &part, NULL), SV_OK);
    assert_true(info.base.obj <= part.value);  /* first's B' may be smaller: never more */
    mck_data_free(&d);
}

static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    mck_gen_spec g = {200, 20, 1000, 0.5, 1};
    mck_data d;
    assert_int_equal(mck_generate(&g, &d, NULL), SV_OK);
    mck_settings s;
    settings(&s);
    s.ctl.report_every = 1000000000L;
    watch w = {0};
    w.stop_after = 100;
    sv_monitor mon = {on_report, &w, on_poll};
    mck_info info;
    assert_int_equal(mck_solve(&d.prob, &s, &mon, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 200);
    s.ctl.time_limit_s = 0.01;
    assert_int_equal(mck_solve(&d.prob, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.base.iter < 200);
    mck_data_free(&d);
}

static void test_bad_input(void **state)
{
    (void)state;
    int ptr[] = {0, 2, 2};
    long cost[] = {0, -1};
    double value[] = {0, 1};
    mck_problem p = {1, ptr, cost, value, 5};
    mck_settings s;
    settings(&s);
    sv_err e;
    assert_int_equal(mck_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/groups/0/1/cost");
    cost[1] = 3;
    value[1] = NAN;
    assert_int_equal(mck_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/groups/0/1/value");
    value[1] = 1;
    p.n = 2;  /* group 1 is empty */
    assert_int_equal(mck_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/groups/1");
    p.n = 1;
    s.max_budget = 2;  /* B' = 3 */
    assert_int_equal(mck_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/budget");
    settings(&s);
    s.max_cells = 3;  /* 1 * (3 + 1) */
    assert_int_equal(mck_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/budget");
    settings(&s);
    s.max_budget = 0;
    assert_int_equal(mck_solve(&p, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/max_budget");
}

static void test_generator_seeded(void **state)
{
    (void)state;
    mck_gen_spec g = {7, 4, 20, 0.5, 9};
    mck_data a, b;
    assert_int_equal(mck_generate(&g, &a, NULL), SV_OK);
    assert_int_equal(mck_generate(&g, &b, NULL), SV_OK);
    long top = 0;
    for (int i = 0; i < 7; i++) {
        assert_int_equal(a.ptr[i + 1], 4 * (i + 1));
        assert_true(a.cost[4 * i] == 0 && a.value[4 * i] == 0);
        long cmax = 0;
        for (int j = 1; j < 4; j++) {
            long c = a.cost[4 * i + j];
            assert_true(c >= 1 && c <= 20);
            assert_true(a.value[4 * i + j] > 0);
            cmax = c > cmax ? c : cmax;
        }
        top += cmax;
    }
    assert_int_equal(a.prob.budget, top / 2);
    assert_memory_equal(a.cost, b.cost, 28 * sizeof *a.cost);
    assert_memory_equal(a.value, b.value, 28 * sizeof *a.value);
    mck_data_free(&b);
    g.options = 0;
    sv_err e;
    assert_int_equal(mck_generate(&g, &b, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/options");
    mck_data_free(&a);
    mck_data_free(&b);  /* empty after the failure: still safe */
}

/* ---- the codec ---- */

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_mck;
    sv_test_codec_ok(C, "{\"weights\": [10, 20, 30], \"values\": [60, 100, 120], \"budget\": 50}",
                     NULL);
    sv_test_codec_error(C, "{\"weights\": [10, 20], \"values\": [60], \"budget\": 50}", NULL,
                        "/problem/values");
    sv_test_codec_error(C, "{\"weights\": [10, -2], \"values\": [1, 2], \"budget\": 5}", NULL,
                        "/problem/weights/1");
    sv_test_codec_error(C, "{\"weights\": [1], \"values\": [1]}", NULL, "/problem/budget");
    sv_test_codec_error(C, "{\"groups\": [[{\"cost\": 1, \"value\": 2}], []], \"budget\": 3}",
                        NULL, "/problem/groups/1");
    sv_test_codec_error(C, "{\"groups\": [[{\"cost\": 1, \"valu\": 2}]], \"budget\": 3}", NULL,
                        "/problem/groups/0/0/valu");
    sv_test_codec_error(C, "{\"groups\": [[{\"cost\": 1.5, \"value\": 2}]], \"budget\": 3}",
                        NULL, "/problem/groups/0/0/cost");
    sv_test_codec_ok(C, "{\"groups\": [[{\"cost\": 1.5, \"value\": 2}]], \"budget\": 3,"
                        " \"cost_unit\": 0.5}", NULL);
    sv_test_codec_error(C, "{\"groups\": [{\"cost\": [1, 2], \"value\": [1]}], \"budget\": 3}",
                        NULL, "/problem/groups/0/value");
    sv_test_codec_error(C, "{\"groups\": [{\"cost\": [1, \"a\"], \"value\": [1, 2]}],"
                        " \"budget\": 3}", NULL, "/problem/groups/0/cost/1");
    sv_test_codec_error(C, "{\"groups\": [[{\"cost\": 1, \"value\": 2}]], \"budget\": 3,"
                        " \"cost_unit\": 0}", NULL, "/problem/cost_unit");
    sv_test_codec_error(C, "{\"groups\": [[{\"cost\": 1e6, \"value\": 2}]], \"budget\": 1e7}",
                        "{\"max_budget\": 1000}", "/problem/budget");
    sv_test_codec_error(C, "{\"curves\": [{\"size\": 10, \"sparsity\": [0, 1.5],"
                        " \"distortion\": [0, 1]}], \"sparsity\": 0.5}", NULL,
                        "/problem/curves/0/sparsity/1");
    sv_test_codec_error(C, "{\"curves\": [{\"size\": 10, \"sparsity\": [0, 0.5],"
                        " \"distortion\": [0]}], \"sparsity\": 0.5}", NULL,
                        "/problem/curves/0/distortion");
    sv_test_codec_error(C, "{\"curves\": [{\"size\": 10, \"sparsity\": [0],"
                        " \"distortion\": [0]}]}", NULL, "/problem/sparsity");
    sv_test_codec_error(C, "{\"curves\": [{\"size\": 10, \"sparsity\": [0],"
                        " \"distortion\": [0]}], \"sparsity\": 0.5, \"cost_unit\": 2.5}", NULL,
                        "/problem/cost_unit");
    sv_test_codec_error(C, "{\"generate\": {\"groups\": 3}}", NULL, "/problem/generate/options");
    sv_test_codec_error(C, "{\"generate\": {\"groups\": 3, \"options\": 2, \"max_cost\": 1e9}}",
                        NULL, "/problem/generate");
    sv_test_codec_error(C, "{\"generate\": {\"groups\": 3, \"options\": 2}, \"budget\": 1}", NULL,
                        "/problem/budget");
    sv_test_codec_error(C, "{\"generate\": {\"groups\": 3, \"options\": 2}}",
                        "{\"max_cels\": 10}", "/params/max_cels");
    sv_test_codec_error(C, "{\"weights\": [1], \"values\": [1], \"budget\": 1, \"groups\": []}",
                        NULL, "/problem");
}

static long int_at(const json_t *a, size_t i)
{
    return (long)json_integer_value(json_array_get(a, i));
}

static void test_codec_forms(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_mck;
    json_t *r = sv_test_codec_run(
        C, "{\"weights\": [10, 20, 30], \"values\": [60, 100, 120], \"budget\": 50}", NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(json_number_value(json_object_get(r, "objective")) == 220.0);
    assert_true(json_number_value(json_object_get(r, "total_cost")) == 50.0);
    json_t *ch = json_object_get(r, "choice");
    assert_true(int_at(ch, 0) == 0 && int_at(ch, 1) == 1 && int_at(ch, 2) == 1);
    json_decref(r);

    /* Both group spellings and a cost grid of 0.5: costs 1, 1.5 / 0.5, 2.5 within 3. Best:
     * 1.5 (value 5) + 0.5 (value 1) = 6 against 1 + 0.5 = 4 and 1 + 2.5 > 3. */
    r = sv_test_codec_run(C, "{\"groups\": [[{\"cost\": 1, \"value\": 3}, {\"cost\": 1.5,"
                             " \"value\": 5}], {\"cost\": [0.5, 2.5], \"value\": [1, 9]}],"
                             " \"budget\": 3.2, \"cost_unit\": 0.5}", NULL, NULL);
    assert_true(json_number_value(json_object_get(r, "objective")) == 6.0);
    assert_true(json_number_value(json_object_get(r, "total_cost")) == 2.0);
    assert_true(json_number_value(json_object_get(r, "budget")) == 3.0);
    ch = json_object_get(r, "choice");
    assert_true(int_at(ch, 0) == 1 && int_at(ch, 1) == 0);
    json_decref(r);

    /* Infeasible: a status, with the cheapest cost. */
    r = sv_test_codec_run(C, "{\"groups\": [{\"cost\": [4, 5], \"value\": [1, 2]},"
                             " {\"cost\": [3], \"value\": [0]}], \"budget\": 6}", NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "infeasible");
    assert_true(json_is_null(json_object_get(r, "choice")));
    assert_true(json_is_null(json_object_get(r, "objective")));
    assert_true(json_number_value(json_object_get(r, "min_cost")) == 7.0);
    assert_true(json_is_null(json_object_get(r, "budget_cells")));
    json_decref(r);

    /* Pruning curves, 100 + 300 weights at global sparsity 0.5: at most 200 kept. Layer 0
     * kept 100/50/10 (distortion 0, 1, 4), layer 1 kept 300/150/30 (0, 2, 6). Feasible pairs:
     * (50, 150) = 3, (10, 150) = 6, (100, 30) = 6, (50, 30) = 7, (10, 30) = 10: the best is
     * layer 0 at 0.5 and layer 1 at 0.5, distortion 3, kept 200. */
    r = sv_test_codec_run(C, "{\"curves\": [{\"size\": 100, \"sparsity\": [0, 0.5, 0.9],"
                             " \"distortion\": [0, 1, 4]}, {\"size\": 300, \"sparsity\":"
                             " [0, 0.5, 0.9], \"distortion\": [0, 2, 6]}], \"sparsity\": 0.5}",
                          NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(json_number_value(json_object_get(r, "distortion")) == 3.0);
    assert_true(json_number_value(json_object_get(r, "objective")) == -3.0);
    json_t *sp = json_object_get(r, "sparsity");
    assert_true(json_number_value(json_array_get(sp, 0)) == 0.5);
    assert_true(json_number_value(json_array_get(sp, 1)) == 0.5);
    assert_true(json_number_value(json_object_get(r, "kept_weights")) == 200.0);
    assert_true(json_number_value(json_object_get(r, "global_sparsity")) == 0.5);
    json_decref(r);

    /* The same on a grid of 40 weights: kept costs ceil(k / 40) = 3/2/1 and 8/4/1 within
     * floor(200 / 40) = 5: (2, 1) = 1 + 6 = 7, (1, 4) = 4 + 2 = 6, (1, 1) = 10: distortion 6
     * with layer 0 at 0.9 and layer 1 at 0.5 (kept 160 <= 200: the ratio still holds). */
    r = sv_test_codec_run(C, "{\"curves\": [{\"size\": 100, \"sparsity\": [0, 0.5, 0.9],"
                             " \"distortion\": [0, 1, 4]}, {\"size\": 300, \"sparsity\":"
                             " [0, 0.5, 0.9], \"distortion\": [0, 2, 6]}], \"sparsity\": 0.5,"
                             " \"cost_unit\": 40}", NULL, NULL);
    assert_true(json_number_value(json_object_get(r, "distortion")) == 6.0);
    assert_true(json_number_value(json_object_get(r, "kept_weights")) == 160.0);
    json_decref(r);
}

static void test_codec_example(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_mck;
    json_t *ex = C->example();
    watch w = {0};
    sv_monitor mon = {on_report, &w, NULL};
    json_t *r = sv_test_codec_run_json(C, json_object_get(ex, "problem"),
                                       json_object_get(ex, "params"), &mon);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(w.reports >= 20);
    assert_int_equal(json_integer_value(json_object_get(r, "iterations")), 100);
    assert_true(json_number_value(json_object_get(r, "total_cost")) <=
                json_number_value(json_object_get(r, "budget")));
    json_decref(r);
    json_decref(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classic_knapsack),
        cmocka_unit_test(test_brute_force),
        cmocka_unit_test(test_simd_matches_scalar),
        cmocka_unit_test(test_infeasible),
        cmocka_unit_test(test_progress_and_max_iter),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_generator_seeded),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_forms),
        cmocka_unit_test(test_codec_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
