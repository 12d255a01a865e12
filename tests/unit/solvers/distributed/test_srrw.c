/* test_srrw.c - SA-SRRW (core/solvers/distributed/srrw.c), the agent graphs
 * (core/models/graph.c) and the distributed.srrw codec (api/codecs/distributed/srrw.c).
 * Reference answers: the normal equations solved by Cholesky (support/glm_reference.h), edge
 * counts of each topology by formula, and the paper's claims measured over fixed seeds (the
 * walk's path depends on the seed alone, not on BLAS rounding). */
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
#include "core/models/gen_glm.h"
#include "core/models/graph.h"
#include "core/solvers/distributed/srrw.h"
#include "support/codec.h"
#include "support/glm_reference.h"
#include "support/numeric.h"
#include "support/monitor.h"
#include "support/agents.h"

extern const sv_codec sv_codec_srrw;

/* ---- graphs ---- */

static void test_graph_topologies(void **state)
{
    (void)state;
    struct { int top, n; long edges; } cases[] = {
        {SV_GRAPH_RING, 10, 10},     {SV_GRAPH_RING, 2, 1},     {SV_GRAPH_RING, 1, 0},
        {SV_GRAPH_GRID, 16, 24},     {SV_GRAPH_GRID, 10, 13},   /* w = 4: rows 4,4,2 */
        {SV_GRAPH_STAR, 7, 6},       {SV_GRAPH_COMPLETE, 6, 15},
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        sv_graph g;
        sv_test_topology(&g, cases[t].top, cases[t].n);
        assert_int_equal(g.n_edges, cases[t].edges);
        assert_true(sv_graph_connected(&g));
        long deg = 0;
        for (int i = 0; i < g.n; i++) {
            deg += sv_graph_degree(&g, i);
            for (int s = g.ptr[i]; s < g.ptr[i + 1]; s++) {
                assert_int_not_equal(g.adj[s], i);
                if (s > g.ptr[i])
                    assert_true(g.adj[s] > g.adj[s - 1]);
            }
        }
        assert_int_equal(deg, 2 * cases[t].edges);
        sv_graph_free(&g);
    }
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_STAR, 5);
    assert_int_equal(sv_graph_degree(&g, 0), 4);
    assert_int_equal(sv_graph_degree(&g, 3), 1);
    sv_graph_free(&g);
}

static void test_graph_erdos_renyi_and_edges(void **state)
{
    (void)state;
    sv_graph_spec s = {SV_GRAPH_ERDOS_RENYI, 0.5, 42};
    sv_graph a, b;
    sv_err e;
    assert_int_equal(sv_graph_generate(&s, 60, &a, &e), SV_OK);
    assert_int_equal(sv_graph_generate(&s, 60, &b, &e), SV_OK);
    assert_int_equal(a.n_edges, b.n_edges);  /* one seed, one graph */
    assert_memory_equal(a.adj, b.adj, sizeof(int) * 2 * (size_t)a.n_edges);
    /* 1770 pairs at p = 1/2: the count lies within 5 standard deviations (21) of 885 */
    assert_true(labs(a.n_edges - 885) < 105);
    sv_graph_free(&a);
    sv_graph_free(&b);

    int ok[] = {0, 1, 1, 2, 3, 2};
    assert_int_equal(sv_graph_from_edges(4, 3, ok, "/problem/edges", &a, &e), SV_OK);
    assert_true(sv_graph_connected(&a));
    sv_graph_free(&a);
    int split[] = {0, 1, 2, 3};
    assert_int_equal(sv_graph_from_edges(4, 2, split, "/problem/edges", &a, &e), SV_OK);
    assert_false(sv_graph_connected(&a));
    sv_graph_free(&a);
    int loop[] = {0, 1, 2, 2};
    assert_int_equal(sv_graph_from_edges(4, 2, loop, "/problem/edges", &a, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/edges/1");
    int twice[] = {0, 1, 1, 2, 1, 0};
    assert_int_equal(sv_graph_from_edges(4, 3, twice, "/problem/edges", &a, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/edges/2");
    int out[] = {0, 4};
    assert_int_equal(sv_graph_from_edges(4, 1, out, "/problem/edges", &a, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/edges/0");
    sv_graph_spec big = {SV_GRAPH_COMPLETE, 0.3, 0};
    assert_int_equal(sv_graph_check_spec(&big, 5000, "/problem/graph", &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/graph/topology");
}

/* ---- the solver ---- */

static double run(const sv_glm_clients *c, const sv_graph *g, srrw_settings *s, double *theta,
                  double *visits, srrw_info *info)
{
    srrw_problem p = {g, c->glm};
    sv_err e;
    memset(theta, 0, sizeof(double) * (size_t)c->dim);
    assert_int_equal(srrw_solve(&p, s, NULL, theta, visits, info, &e), SV_OK);
    return info->grad_norm;
}

/* On ring and grid graphs, with both base walks, the iterate reaches the centralized ridge
 * solution of the normal equations and ends solved. */
static void test_reaches_centralized_solution(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 16, 20, 5, 0.5, 0.1, 3);
    double xstar[5], theta[5], visits[16];
    sv_test_clients_normal_equations(&c, 0.1, xstar);
    int tops[] = {SV_GRAPH_RING, SV_GRAPH_GRID};
    for (int t = 0; t < 2; t++) {
        for (int base = 0; base < 2; base++) {
            sv_graph g;
            sv_test_topology(&g, tops[t], 16);
            srrw_settings s;
            srrw_settings_default(&s);
            s.base = base;  /* the default tolerance */
            srrw_info info;
            run(&c, &g, &s, theta, visits, &info);
            double err = sv_test_dist(5, theta, xstar) / sv_nrm2(5, xstar);
            if (!(err < 2e-2) || info.base.status != SV_SOLVED)
                fprintf(stderr, "topology %d base %d: relative error %g after %ld steps, status %d\n",
                        tops[t], base, err, info.base.iter, (int)info.base.status);
            assert_int_equal(info.base.status, SV_SOLVED);
            assert_true(err < 2e-2);
            assert_int_equal(info.gradient_evals, info.base.iter);
            double sum = 0;
            for (int j = 0; j < 16; j++)
                sum += visits[j];
            assert_true(fabs(sum - 1) < 1e-9);  /* x_n stays on the simplex */
            sv_graph_free(&g);
        }
    }
    sv_glm_clients_free(&c);
}

/* The paper's claims over 64 seeds at a fixed step count: the visit measure is closer to its
 * target and the iterate's mean squared error smaller as alpha grows (alpha = 0 is the base
 * walk). */
static void test_repellence_shrinks_variance(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 20, 10, 4, 1.0, 0.1, 7);
    double xstar[4], theta[4];
    sv_test_clients_normal_equations(&c, 0.1, xstar);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_RING, 20);
    double alphas[] = {0, 5};
    double mse[2] = {0}, tv[2] = {0};
    const int seeds = 64;
    for (int a = 0; a < 2; a++) {
        for (int r = 0; r < seeds; r++) {
            srrw_settings s;
            srrw_settings_default(&s);
            s.alpha = alphas[a];
            s.seed = (uint64_t)r + 1;
            s.ctl.tol = 0;
            s.ctl.max_iter = 20000;
            s.ctl.report_every = 20000;
            srrw_info info;
            run(&c, &g, &s, theta, NULL, &info);
            assert_int_equal(info.base.status, SV_MAX_ITER);
            double d = sv_test_dist(4, theta, xstar);
            mse[a] += d * d / seeds;
            tv[a] += info.visits_tv / seeds;
        }
    }
    fprintf(stderr, "alpha 0: mse %.3g tv %.3g; alpha 5: mse %.3g tv %.3g\n", mse[0], tv[0],
            mse[1], tv[1]);
    assert_true(tv[1] < 0.5 * tv[0]);
    assert_true(mse[1] < 0.8 * mse[0]);
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* One seed, one run: iterates and visits are reproducible. */
static void test_seeded(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 9, 8, 3, 0.0, 0.1, 1);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_GRID, 9);
    srrw_settings s;
    srrw_settings_default(&s);
    s.ctl.max_iter = 5000;
    s.ctl.tol = 0;
    double t1[3], t2[3], v1[9], v2[9];
    srrw_info info;
    run(&c, &g, &s, t1, v1, &info);
    run(&c, &g, &s, t2, v2, &info);
    assert_memory_equal(t1, t2, sizeof t1);
    assert_memory_equal(v1, v2, sizeof v1);
    s.seed = 2;
    run(&c, &g, &s, t2, v2, &info);
    assert_true(sv_test_max_abs_diff(9, v1, v2) > 0);
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* A stop request is read between reports, and a time limit holds with a huge report_every. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 8, 10, 3, 0.0, 0.1, 1);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_RING, 8);
    srrw_settings s;
    srrw_settings_default(&s);
    s.ctl.tol = 0;
    s.ctl.max_iter = 1000000000L;
    s.ctl.report_every = 1000000000L;
    double theta[3] = {0};
    srrw_problem p = {&g, c.glm};
    srrw_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    assert_int_equal(srrw_solve(&p, &s, &mon, theta, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 1000);
    s.ctl.time_limit_s = 0.2;
    assert_int_equal(srrw_solve(&p, &s, NULL, theta, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(isfinite(info.base.obj) && isfinite(info.grad_norm));
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

static void test_bad_input(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 4, 5, 2, 0.0, 0.1, 1);
    int split[] = {0, 1, 2, 3};
    sv_graph g;
    sv_err e;
    assert_int_equal(sv_graph_from_edges(4, 2, split, "/problem/edges", &g, &e), SV_OK);
    srrw_settings s;
    srrw_settings_default(&s);
    srrw_problem p = {&g, c.glm};
    double theta[2] = {0};
    srrw_info info;
    assert_int_equal(srrw_solve(&p, &s, NULL, theta, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/graph");
    sv_graph_free(&g);
    sv_test_topology(&g, SV_GRAPH_RING, 4);
    s.a = 0.5;  /* exclusive lower bound */
    assert_int_equal(srrw_solve(&p, &s, NULL, theta, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/a");
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* ---- the codec ---- */

#define GEN "\"generate\": {\"clients\": 4, \"rows_per_client\": 5, \"dim\": 2, \"lambda\": 0.1}"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_srrw;
    sv_test_codec_ok(C, "{" GEN "}", NULL);
    sv_test_codec_ok(C, "{" GEN ", \"edges\": [[0,1],[1,2],[2,3]]}", NULL);
    sv_test_codec_error(C, "{" GEN ", \"edges\": [[0,1],[2,3]]}", NULL, "/problem/edges");
    sv_test_codec_error(C, "{" GEN ", \"edges\": [[0,1],[1,4]]}", NULL, "/problem/edges/1/1");
    sv_test_codec_error(C, "{" GEN ", \"edges\": [[0,1,2]]}", NULL, "/problem/edges/0");
    sv_test_codec_error(C, "{" GEN ", \"edges\": [[0,1]], \"graph\": {}}", NULL,
                        "/problem/edges");
    sv_test_codec_error(C, "{" GEN ", \"graph\": {\"topology\": \"torus\"}}", NULL,
                        "/problem/graph/topology");
    sv_test_codec_error(C, "{" GEN ", \"graph\": {\"q\": 1}}", NULL, "/problem/graph/q");
    sv_test_codec_error(C, "{" GEN ", \"graph\": {\"topology\": \"erdos_renyi\", \"p\": 0.01}}",
                        NULL, "/problem/graph");
    sv_test_codec_error(C, "{" GEN "}", "{\"alpha\": -1}", "/params/alpha");
    sv_test_codec_error(C, "{" GEN "}", "{\"b\": 1.5}", "/params/b");
    sv_test_codec_error(C, "{\"clients\": [{\"A\": [[1, 2]], \"b\": [1, 2]}]}", NULL,
                        "/problem/clients/0/b");
}

/* Explicit agents on an explicit path graph: the result against the normal equations. */
static void test_codec_run(void **state)
{
    (void)state;
    const char *problem =
        "{\"clients\": [{\"A\": [[1, 0], [0, 1]], \"b\": [1, 2]},"
        " {\"A\": [[1, 1], [1, -1]], \"b\": [3, 1]}, {\"A\": [[2, 0], [0, 2]], \"b\": [2, 2]}],"
        " \"lambda\": 0.1, \"edges\": [[0, 1], [1, 2]]}";
    json_t *r = sv_test_codec_run(&sv_codec_srrw, problem, "{\"tol\": 1e-4}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    /* normal equations: (1/3) sum_i (A_i'A_i / 2 + 0.1 I) x = (1/3) sum_i A_i'b_i / 2 */
    double H[2][2] = {{(1 + 2 + 4) / 2.0 + 0.3, 0}, {0, (1 + 2 + 4) / 2.0 + 0.3}};
    double rhs[2] = {(1 + 4 + 4) / 2.0, (2 + 2 + 4) / 2.0};
    double xs[2] = {rhs[0] / H[0][0], rhs[1] / H[1][1]};
    json_t *x = json_object_get(r, "x");
    for (int j = 0; j < 2; j++)
        assert_true(fabs(json_number_value(json_array_get(x, (size_t)j)) - xs[j]) < 1e-2);
    assert_int_equal(json_integer_value(json_object_get(r, "agents")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "edges")), 2);
    assert_int_equal(json_array_size(json_object_get(r, "visits")), 3);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_topologies),
        cmocka_unit_test(test_graph_erdos_renyi_and_edges),
        cmocka_unit_test(test_reaches_centralized_solution),
        cmocka_unit_test(test_repellence_shrinks_variance),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
