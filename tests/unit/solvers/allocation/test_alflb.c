/* test_alflb.c - ALF-LB (core/solvers/allocation/alflb.c), its generator (alflb_gen.c) and the
 * allocation.alflb codec. Reference answers: a two-token instance traced by hand, i.i.d.
 * uniform scores balancing to within one token of k T / E, and small capacitated instances
 * against the assignment LP's optimum computed by GLPK (weak duality at every iteration, the
 * best dual bound close to the optimum, and an exact certificate when the residual reaches 0).
 * No BLAS is involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glpk.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "core/solvers/allocation/alflb.h"
#include "core/solvers/allocation/alflb_gen.h"
#include "support/codec.h"

extern const sv_codec sv_codec_alflb;

typedef struct {
    int reports;
    long last_iter;
    double min_obj;
    int polls, stop_after;
    int saw_metrics;
} watch;

static int on_report(const sv_progress *pr, void *data)
{
    watch *w = data;
    if (w->reports == 0 || pr->obj < w->min_obj)
        w->min_obj = pr->obj;
    w->reports++;
    w->last_iter = pr->iter;
    int names = 0;
    for (int i = 0; i < pr->n_metrics; i++)
        names += !strcmp(pr->metrics[i].name, "max_load") ||
                 !strcmp(pr->metrics[i].name, "idle_experts") ||
                 !strcmp(pr->metrics[i].name, "lagrangian");
    w->saw_metrics = names == 3;
    return 0;
}

static int on_poll(void *data)
{
    watch *w = data;
    return w->stop_after > 0 && ++w->polls > w->stop_after;
}

/* ---- known answers ---- */

/* Two tokens, two experts, k = 1, balanced (c = 1): both prefer expert 0 (1 and 0.8 against 0).
 * Sign steps of 0.15 move b = (-0.15 t, 0.15 t); token 1 crosses when 0.8 - 0.15 t < 0.15 t
 * (t = 3), token 0 only at t = 4: at t = 3 the loads are (1, 1) and the Lagrangian
 * (1 - 0.45) + (0 + 0.45) - 0 = 1, the LP optimum 1 + 0. */
static void test_hand_trace(void **state)
{
    (void)state;
    double S[] = {1.0, 0.0, 0.8, 0.0};
    alflb_problem p = {2, 2, 1, S, 0, NULL};
    alflb_settings s;
    alflb_settings_default(&s);
    s.u = 0.15;
    s.ctl.tol = 0;
    double b[2] = {0, 0};
    long load[2];
    int assign[2];
    alflb_info info;
    assert_int_equal(alflb_solve(&p, &s, NULL, b, load, assign, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(info.base.iter, 3);
    assert_int_equal(load[0], 1);
    assert_int_equal(load[1], 1);
    assert_int_equal(assign[0], 0);
    assert_int_equal(assign[1], 1);
    assert_true(fabs(b[0] + 0.45) < 1e-12 && fabs(b[1] - 0.45) < 1e-12);
    assert_true(fabs(info.lagrangian - 1.0) < 1e-12);
    assert_true(info.score == 1.0);
    assert_true(info.base.res == 0.0);
    assert_int_equal(info.idle, 0);
    /* iteration 0 routed both to expert 0: residual 1, one idle expert, max/mean 2; the dual
     * bound then was 1 + 0.8 = 1.8 and it only fell */
    assert_true(fabs(info.best_lagrangian - 1.0) < 1e-12);
    /* proportional steps: g = c - L = (-1, 1), the same moves at iteration 0, and the loads
     * (2, 0) repeat until the crossing: the same trace */
    s.rule = ALFLB_RULE_PROPORTIONAL;
    b[0] = b[1] = 0;
    assert_int_equal(alflb_solve(&p, &s, NULL, b, load, assign, &info, NULL), SV_OK);
    assert_int_equal(info.base.iter, 3);
    assert_true(fabs(b[0] + 0.45) < 1e-12);
}

/* i.i.d. U[0,1) scores (skew 0): both rules bring every load to within 1 of k T / E. */
static void test_uniform_balance(void **state)
{
    (void)state;
    for (int rule = 0; rule < 2; rule++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            alflb_gen_spec g = {2000, 10, 2, 0.0, 0, seed, 0};
            alflb_data d;
            assert_int_equal(alflb_generate(&g, &d, NULL), SV_OK);
            alflb_settings s;
            alflb_settings_default(&s);
            s.rule = rule;
            s.u = rule == ALFLB_RULE_SIGN ? 1e-4 : 1e-5;  /* 1e-3: the sign rule's
                                                             * constant step overshoots */
            s.ctl.max_iter = 5000;
            long load[10];
            alflb_info info;
            assert_int_equal(alflb_solve(&d.prob, &s, NULL, NULL, load, NULL, &info, NULL),
                             SV_OK);
            assert_int_equal(info.base.status, SV_SOLVED);
            long sum = 0;
            for (int j = 0; j < 10; j++) {
                assert_true(labs(load[j] - 400) <= 1);
                sum += load[j];
            }
            assert_int_equal(sum, 4000);
            assert_true(info.max_load <= 401 && info.min_load >= 399);
            assert_int_equal(info.idle, 0);
            assert_true(info.base.iter > 0);  /* greedy routing alone was not balanced */
            alflb_data_free(&d);
        }
}

/* max sum s x, sum_e x_te = k, sum_t x_te <= C, 0 <= x <= 1, by GLPK's simplex. */
static double lp_optimum(const alflb_problem *p)
{
    int T = p->tokens, E = p->experts, n = T * E;
    glp_prob *lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MAX);
    glp_add_rows(lp, T + E);
    for (int t = 1; t <= T; t++)
        glp_set_row_bnds(lp, t, GLP_FX, p->k, p->k);
    for (int j = 1; j <= E; j++)
        glp_set_row_bnds(lp, T + j, GLP_UP, 0.0, p->capacity);
    glp_add_cols(lp, n);
    int *ia = malloc((size_t)(2 * n + 1) * sizeof *ia), *ja = malloc((size_t)(2 * n + 1) * sizeof *ja);
    double *ar = malloc((size_t)(2 * n + 1) * sizeof *ar);
    int nz = 0;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < E; j++) {
            int col = t * E + j + 1;
            glp_set_col_bnds(lp, col, GLP_DB, 0.0, 1.0);
            glp_set_obj_coef(lp, col, p->scores[t * E + j]);
            ia[++nz] = t + 1, ja[nz] = col, ar[nz] = 1.0;
            ia[++nz] = T + j + 1, ja[nz] = col, ar[nz] = 1.0;
        }
    glp_load_matrix(lp, nz, ia, ja, ar);
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    int ok = glp_simplex(lp, &parm) == 0 && glp_get_status(lp) == GLP_OPT;
    double v = ok ? glp_get_obj_val(lp) : NAN;
    glp_delete_prob(lp);
    glp_free_env();
    free(ia);
    free(ja);
    free(ar);
    return v;
}

/* Capacitated small instances with popular experts (skew 2): the capacity binds. */
static void test_capacitated_vs_lp(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        alflb_gen_spec g = {12, 4, 2, 2.0, 1.25, seed, 0};  /* capacity ceil(1.25 * 6) = 8 */
        alflb_data d;
        assert_int_equal(alflb_generate(&g, &d, NULL), SV_OK);
        assert_true(d.prob.capacity == 8.0);
        double lp = lp_optimum(&d.prob);
        assert_true(isfinite(lp));
        /* greedy top-k (b = 0) is over capacity: the LP's optimum is below the greedy score */
        alflb_settings s;
        alflb_settings_default(&s);
        s.rule = ALFLB_RULE_PROPORTIONAL;
        s.step = ALFLB_STEP_SQRT;
        s.u = 0.05;
        s.ctl.tol = 0;
        s.ctl.max_iter = 20000;
        watch w = {0};
        sv_monitor mon = {on_report, &w, NULL};
        s.ctl.report_every = 1;
        long load[4];
        alflb_info info;
        assert_int_equal(alflb_solve(&d.prob, &s, &mon, NULL, load, NULL, &info, NULL), SV_OK);
        /* weak duality at every reported iteration, and the best bound near the optimum */
        assert_true(w.min_obj >= lp - 1e-9);
        assert_true(info.best_lagrangian >= lp - 1e-9);
        assert_true(info.best_lagrangian <= lp + 1e-2);
        if (info.base.status == SV_SOLVED) {
            /* residual 0: feasible and complementary, so the routing is LP-optimal */
            assert_true(fabs(info.score - lp) < 1e-9);
            assert_true(fabs(info.lagrangian - lp) < 1e-9);
            for (int j = 0; j < 4; j++)
                assert_true(load[j] <= 8);
        }
        /* the sign rule with a constant step keeps within 2 T u-ish of the optimum */
        s.rule = ALFLB_RULE_SIGN;
        s.step = ALFLB_STEP_HARMONIC;
        s.u = 0.5;
        assert_int_equal(alflb_solve(&d.prob, &s, NULL, NULL, load, NULL, &info, NULL), SV_OK);
        assert_true(info.best_lagrangian >= lp - 1e-9);
        assert_true(info.best_lagrangian <= lp + 5e-2);
        alflb_data_free(&d);
    }
}

static void test_progress_and_max_iter(void **state)
{
    (void)state;
    alflb_gen_spec g = {500, 8, 2, 1.0, 0, 7, 0};
    alflb_data d;
    assert_int_equal(alflb_generate(&g, &d, NULL), SV_OK);
    alflb_settings s;
    alflb_settings_default(&s);
    s.ctl.tol = 0.0;  /* k T / E = 125 exactly: reachable, but not in 30 iterations */
    s.ctl.max_iter = 30;
    s.ctl.report_every = 1;
    watch w = {0};
    sv_monitor mon = {on_report, &w, on_poll};
    alflb_info info;
    assert_int_equal(alflb_solve(&d.prob, &s, &mon, NULL, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_int_equal(info.base.iter, 30);
    assert_int_equal(w.reports, 31);
    assert_int_equal(w.last_iter, 30);
    assert_true(w.saw_metrics);
    assert_true(info.mean_load == 125.0);
    assert_true(info.max_load > 125);
    alflb_data_free(&d);
}

static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    alflb_gen_spec g = {100001, 16, 2, 1.0, 0, 1, 0};  /* c = 12500.125: residual never 0 */
    alflb_data d;
    assert_int_equal(alflb_generate(&g, &d, NULL), SV_OK);
    alflb_settings s;
    alflb_settings_default(&s);
    s.ctl.tol = 0;
    s.ctl.max_iter = 1000000000L;
    s.ctl.report_every = 1000000000L;
    watch w = {0};
    w.stop_after = 20;  /* inside the first routing (one poll per 1024 tokens) */
    sv_monitor mon = {on_report, &w, on_poll};
    long load[16];
    alflb_info info;
    assert_int_equal(alflb_solve(&d.prob, &s, &mon, NULL, load, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 0);
    long sum = 0;
    for (int j = 0; j < 16; j++)
        sum += load[j];
    assert_int_equal(sum, 200002);  /* the loads are of a complete routing */
    s.ctl.time_limit_s = 0.05;
    assert_int_equal(alflb_solve(&d.prob, &s, NULL, NULL, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    alflb_data_free(&d);
}

/* The online setting: a fresh batch every iteration, the bias carried over. A skewed router
 * (every token prefers the same experts) collapses without the bias and is balanced by it; the
 * run is seeded; it is never "solved" by one batch's residual; a cancel inside a later batch
 * reports the last complete one. */
static void test_online_stream(void **state)
{
    (void)state;
    alflb_gen_spec g = {2048, 16, 2, 1.0, 0, 1, 1};
    alflb_data d;
    assert_int_equal(alflb_generate(&g, &d, NULL), SV_OK);
    assert_non_null(d.prob.stream);
    alflb_settings s;
    alflb_settings_default(&s);
    s.ctl.max_iter = 400;
    s.ctl.report_every = 1000000000L;
    double bias[16], bias2[16];
    long load[16];
    alflb_info info;
    for (int j = 0; j < 16; j++)
        bias[j] = 0;
    assert_int_equal(alflb_solve(&d.prob, &s, NULL, bias, load, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_int_equal(info.batches, 401);
    double balanced = (double)info.max_load / info.mean_load;
    fprintf(stderr, "online: max/mean %.3f at the end, %.3f on average\n", balanced,
            info.avg_max_over_mean);
    assert_true(balanced < 1.35);
    assert_true(info.avg_max_over_mean < 2.2);   /* early batches are still collapsed */
    /* Seeded: the same stream again gives the same biases. */
    alflb_data_free(&d);
    assert_int_equal(alflb_generate(&g, &d, NULL), SV_OK);
    for (int j = 0; j < 16; j++)
        bias2[j] = 0;
    assert_int_equal(alflb_solve(&d.prob, &s, NULL, bias2, NULL, NULL, &info, NULL), SV_OK);
    for (int j = 0; j < 16; j++)
        assert_true(bias2[j] == bias[j]);
    /* Without the bias (a step too small to move it) the favourites take the tokens. */
    alflb_data_free(&d);
    assert_int_equal(alflb_generate(&g, &d, NULL), SV_OK);
    s.u = 1e-12;
    assert_int_equal(alflb_solve(&d.prob, &s, NULL, NULL, NULL, NULL, &info, NULL), SV_OK);
    double collapsed = (double)info.max_load / info.mean_load;
    fprintf(stderr, "online without balancing: max/mean %.3f\n", collapsed);
    assert_true(collapsed > 2.5);
    /* online false: no stream, the one batch every iteration (the tests above). */
    alflb_data_free(&d);
    g.online = 0;
    assert_int_equal(alflb_generate(&g, &d, NULL), SV_OK);
    assert_null(d.prob.stream);
    alflb_data_free(&d);
    s.u = 1e-3;

    /* A stop inside the routing of batch 4 (two polls a batch of 2048 tokens, one at each
     * check): the loads are those of batch 3, complete. */
    g.online = 1;
    assert_int_equal(alflb_generate(&g, &d, NULL), SV_OK);
    s.ctl.max_iter = 1000000000L;
    watch w = {0};
    w.stop_after = 3 * 3 + 1;
    sv_monitor mon = {on_report, &w, on_poll};
    assert_int_equal(alflb_solve(&d.prob, &s, &mon, NULL, load, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    long sum = 0;
    for (int j = 0; j < 16; j++)
        sum += load[j];
    assert_int_equal(sum, 2 * 2048);
    assert_int_equal(info.batches, info.base.iter + 1);
    alflb_data_free(&d);
}

static void test_bad_input(void **state)
{
    (void)state;
    double S[] = {1, 2, 3, 4};
    alflb_problem p = {2, 2, 3, S, 0, NULL};
    alflb_settings s;
    alflb_settings_default(&s);
    sv_err e;
    assert_int_equal(alflb_solve(&p, &s, NULL, NULL, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/k");
    p.k = 1;
    p.capacity = 0.5;  /* 2 tokens, 2 experts of 0.5 */
    assert_int_equal(alflb_solve(&p, &s, NULL, NULL, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/capacity");
    p.capacity = 1;
    S[3] = NAN;
    assert_int_equal(alflb_solve(&p, &s, NULL, NULL, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/scores/1/1");
    S[3] = 4;
    s.u = 0;
    assert_int_equal(alflb_solve(&p, &s, NULL, NULL, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/u");
    alflb_settings_default(&s);
    double b[2] = {0, INFINITY};
    assert_int_equal(alflb_solve(&p, &s, NULL, b, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/bias/1");
    /* a capacitated start is clipped to b <= 0 (p >= 0) */
    b[1] = 5;
    alflb_info info;
    assert_int_equal(alflb_solve(&p, &s, NULL, b, NULL, NULL, &info, NULL), SV_OK);
    assert_true(b[1] <= 0);
}

static void test_generator_seeded(void **state)
{
    (void)state;
    alflb_gen_spec g = {50, 6, 2, 3.0, 1.5, 9, 0};
    alflb_data a, b;
    assert_int_equal(alflb_generate(&g, &a, NULL), SV_OK);
    assert_int_equal(alflb_generate(&g, &b, NULL), SV_OK);
    assert_memory_equal(a.scores, b.scores, 300 * sizeof(double));
    assert_true(a.prob.capacity == 25.0);  /* ceil(1.5 * 2 * 50 / 6) = ceil(25) */
    for (int i = 0; i < 300; i++)
        assert_true(a.scores[i] >= 0 && a.scores[i] < 4.0);
    alflb_data_free(&b);
    g.seed = 10;
    assert_int_equal(alflb_generate(&g, &b, NULL), SV_OK);
    assert_true(memcmp(a.scores, b.scores, 300 * sizeof(double)) != 0);
    alflb_data_free(&a);
    alflb_data_free(&b);
    sv_err e;
    g.k = 7;
    assert_int_equal(alflb_generate(&g, &a, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/k");
    g.k = 2;
    g.capacity_factor = 0.5;
    assert_int_equal(alflb_generate(&g, &a, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/capacity_factor");
}

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_alflb;
    sv_test_codec_ok(C, "{\"scores\": [[1, 0], [0.8, 0]], \"k\": 1}", NULL);
    sv_test_codec_error(C, "{\"scores\": [[1, 0], [0.8]], \"k\": 1}", NULL, "/problem/scores/1");
    sv_test_codec_error(C, "{\"scores\": [[1, 0], [0.8, \"a\"]], \"k\": 1}", NULL,
                        "/problem/scores/1/1");
    sv_test_codec_error(C, "{\"scores\": [], \"k\": 1}", NULL, "/problem/scores");
    sv_test_codec_error(C, "{\"scores\": [[1, 0]]}", NULL, "/problem/k");
    sv_test_codec_error(C, "{\"scores\": [[1, 0]], \"k\": 3}", NULL, "/problem/k");
    sv_test_codec_error(C, "{\"scores\": [[1, 0], [1, 0], [1, 0]], \"k\": 1, \"capacity\": 1}",
                        NULL, "/problem/capacity");
    sv_test_codec_error(C, "{\"scores\": [[1, 0]], \"k\": 1, \"capacity\": -1}", NULL,
                        "/problem/capacity");
    sv_test_codec_error(C, "{\"scores\": [[1, 0]], \"k\": 1, \"bias\": [0]}", NULL,
                        "/problem/bias");
    sv_test_codec_error(C, "{\"scores\": [[1, 0]], \"k\": 1, \"cap\": 1}", NULL, "/problem/cap");
    sv_test_codec_error(C, "{\"generate\": {\"experts\": 4}}", NULL, "/problem/generate/tokens");
    sv_test_codec_error(C, "{\"generate\": {\"tokens\": 4, \"experts\": 4, \"k\": 5}}", NULL,
                        "/problem/generate/k");
    sv_test_codec_error(C, "{\"generate\": {\"tokens\": 4, \"experts\": 4}, \"k\": 1}", NULL,
                        "/problem/k");
    sv_test_codec_error(C, "{\"generate\": {\"tokens\": 4, \"experts\": 4}}",
                        "{\"rule\": \"signum\"}", "/params/rule");
    sv_test_codec_error(C, "{\"generate\": {\"tokens\": 4, \"experts\": 4}}", "{\"u\": 0}",
                        "/params/u");
    sv_test_codec_error(C, "{\"scores\": [[1]], \"k\": 1, \"generate\": {}}", NULL, "/problem");
}

static void test_codec_run(void **state)
{
    (void)state;
    json_t *r = sv_test_codec_run(&sv_codec_alflb,
                                  "{\"scores\": [[1, 0], [0.8, 0]], \"k\": 1}",
                                  "{\"u\": 0.15, \"tol\": 0}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_int_equal(json_integer_value(json_object_get(r, "iterations")), 3);
    const json_t *a = json_object_get(r, "assignment");
    assert_int_equal(json_integer_value(json_array_get(json_array_get(a, 0), 0)), 0);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(a, 1), 0)), 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(r, "load"), 1)), 1);
    assert_true(fabs(json_number_value(json_object_get(r, "lagrangian")) - 1.0) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(r, "idle_experts")), 0);
    assert_true(json_is_null(json_object_get(r, "capacity")));
    json_decref(r);
    /* a warm start at the answer's biases is solved at once */
    r = sv_test_codec_run(&sv_codec_alflb,
                          "{\"scores\": [[1, 0], [0.8, 0]], \"k\": 1, \"bias\": [-0.45, 0.45]}",
                          "{\"u\": 0.15, \"tol\": 0}", NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "iterations")), 0);
    json_decref(r);
}

static void test_codec_example(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_alflb;
    json_t *ex = C->example();
    watch w = {0};
    sv_monitor mon = {on_report, &w, NULL};
    json_t *r = sv_test_codec_run_json(C, json_object_get(ex, "problem"),
                                       json_object_get(ex, "params"), &mon);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(w.reports >= 20);
    assert_true(json_number_value(json_object_get(r, "residual")) <= 1.0);
    assert_int_equal(json_integer_value(json_object_get(r, "idle_experts")), 0);
    json_decref(r);
    json_decref(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_trace),
        cmocka_unit_test(test_uniform_balance),
        cmocka_unit_test(test_capacitated_vs_lp),
        cmocka_unit_test(test_progress_and_max_iter),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_online_stream),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_generator_seeded),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
        cmocka_unit_test(test_codec_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
