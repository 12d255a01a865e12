/* test_notears.c - NOTEARS (core/solvers/dag/notears.c) and the dag.notears codec
 * (api/codecs/dag/notears.c). Reference answers: the true graphs of generated linear Gaussian
 * SEMs (core/models/dag.c; the data depend on the seed alone, not on BLAS), recovered within a
 * stated SHD bound with an acyclic result; the augmented Lagrangian's bookkeeping (rho grows,
 * the run ends solved with h <= tol, stalled at rho_max, max_iter after max_dual_iter); the
 * trivial one-variable problem; cancel and time limit with a huge report_every; errors at their
 * JSON paths; the codec on explicit data and on the generated form. */
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
#include "core/models/dag.h"
#include "core/solvers/dag/notears.h"
#include "support/codec.h"
#include "support/numeric.h"

extern const sv_codec sv_codec_notears;

typedef struct {
    int d, n;
    double *X, *T;
} sem;

static void make_sem(sem *s, int d, int n, int graph, int k, uint64_t seed)
{
    sv_dag_gen_spec g = {d, n, graph, k, seed};
    s->d = d;
    s->n = n;
    s->X = malloc(sizeof(double) * (size_t)n * d);
    s->T = malloc(sizeof(double) * (size_t)d * d);
    assert_non_null(s->X);
    assert_non_null(s->T);
    sv_err e;
    assert_int_equal(sv_dag_generate(&g, s->T, s->X, &e), SV_OK);
}

static void free_sem(sem *s)
{
    free(s->X);
    free(s->T);
}

static void solve(const sem *s, const notears_settings *st, const sv_monitor *mon, double *W,
                  notears_info *info)
{
    notears_problem p = {s->n, s->d, s->X, s->T};
    sv_err e;
    int rc = notears_solve(&p, st, mon, W, NULL, info, &e);
    if (rc != SV_OK)
        fail_msg("notears_solve: %d at %s: %s", rc, e.field, e.msg);
}

/* Recovery: ER and scale-free graphs with one edge per node, d = 5, 7, 10, n = 1000, three seeds
 * each (18 SEMs), default settings. Bound: every result acyclic and solved with h <= 1e-8, SHD
 * <= 2 on each graph and <= 6 over the 18 (measured here: SHD 0 on 15, 1 on 3). */
static void test_recovers_generated_sems(void **state)
{
    (void)state;
    int ds[] = {5, 7, 10}, total = 0;
    for (int a = 0; a < 3; a++) {
        for (int graph = 0; graph < 2; graph++) {
            for (uint64_t seed = 1; seed <= 3; seed++) {
                sem s;
                make_sem(&s, ds[a], 1000, graph, 1, seed);
                notears_settings st;
                notears_settings_default(&st);
                double W[100];
                notears_info info;
                solve(&s, &st, NULL, W, &info);
                int shd = info.accuracy.shd;
                if (info.base.status != SV_SOLVED || !info.acyclic || shd > 2)
                    fail_msg("d %d graph %d seed %d: status %d, acyclic %d, SHD %d", ds[a], graph,
                             (int)seed, (int)info.base.status, info.acyclic, shd);
                assert_true(info.has_accuracy);
                assert_true(info.h <= 1e-8);
                assert_true(fabs(info.h_returned) < 1e-12);
                assert_int_equal(info.accuracy.true_edges, graph == SV_DAG_ER ? ds[a] : ds[a] - 1);
                assert_true(info.edges == info.accuracy.predicted);
                assert_true(sv_dag_is_acyclic(ds[a], W));
                for (int t = 0; t < ds[a] * ds[a]; t++)
                    assert_true(W[t] == 0 || fabs(W[t]) >= st.w_threshold);
                total += shd;
                free_sem(&s);
            }
        }
    }
    fprintf(stderr, "total SHD over 18 SEMs: %d\n", total);
    assert_true(total <= 6);
}

typedef struct {
    int reports;
    long last_iter;
    double last_rho, last_h;
    int rho_fell;
} trace;

static int record(const sv_progress *p, void *data)
{
    trace *t = data;
    double rho = sv_test_metric(p, "rho");
    if (t->reports > 0 && rho < t->last_rho)
        t->rho_fell = 1;
    t->last_rho = rho;
    t->last_h = sv_test_metric(p, "h");
    (void)sv_test_metric(p, "score");
    (void)sv_test_metric(p, "alpha");
    (void)sv_test_metric(p, "lagrangian");
    (void)sv_test_metric(p, "pg_norm");
    (void)sv_test_metric(p, "dual_iter");
    t->last_iter = p->iter;
    t->reports++;
    return 0;
}

/* Every L-BFGS iteration reported with report_every 1: rho never falls, the last report is the
 * final state, the objective is L + lambda1 |W|_1 and res is h. */
static void test_progress_and_bookkeeping(void **state)
{
    (void)state;
    sem s;
    make_sem(&s, 6, 500, SV_DAG_SF, 1, 4);
    notears_settings st;
    notears_settings_default(&st);
    st.ctl.report_every = 1;
    trace t = {0};
    sv_monitor mon = {record, &t, NULL};
    double W[36], Wr[36];
    notears_info info;
    notears_problem p = {s.n, s.d, s.X, s.T};
    assert_int_equal(notears_solve(&p, &st, &mon, W, Wr, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(t.reports, info.base.iter + 1);
    assert_int_equal(t.last_iter, info.base.iter);
    assert_false(t.rho_fell);
    assert_true(t.last_rho == info.rho);
    assert_true(t.last_h == info.h && info.base.res == info.h);
    assert_true(info.h <= st.ctl.tol);
    assert_true(info.dual_iter >= 1 && info.subproblems >= info.dual_iter);
    assert_true(info.fevals > info.base.iter);
    double l1 = 0;
    for (int i = 0; i < 36; i++)
        l1 += fabs(Wr[i]);
    assert_true(fabs(info.base.obj - (info.score_raw + st.lambda1 * l1)) < 1e-9 * info.base.obj);
    sv_dag_ls ls;
    assert_int_equal(sv_dag_ls_init(&ls, s.n, s.d, s.X, 1, 0), SV_OK);
    assert_true(fabs(sv_dag_ls_value(&ls, W, NULL) - info.score) < 1e-9 * info.score);
    sv_dag_ls_free(&ls);
    free_sem(&s);
}

/* The reference's exits: rho reaching rho_max before h <= tol is stalled; max_dual_iter dual
 * steps is max_iter; one variable is solved at once with W = 0. */
static void test_other_endings(void **state)
{
    (void)state;
    sem s;
    make_sem(&s, 5, 300, SV_DAG_ER, 1, 2);
    notears_settings st;
    notears_settings_default(&st);
    st.rho_max = 10;
    double W[25];
    notears_info info;
    solve(&s, &st, NULL, W, &info);
    assert_int_equal(info.base.status, SV_STALLED);
    assert_true(info.rho >= 10 && info.h > st.ctl.tol);
    notears_settings_default(&st);
    st.max_dual_iter = 1;
    solve(&s, &st, NULL, W, &info);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_int_equal(info.dual_iter, 1);
    free_sem(&s);
    double X1[3] = {1, 2, 4}, W1[1] = {7};
    notears_problem p = {3, 1, X1, NULL};
    notears_settings_default(&st);
    assert_int_equal(notears_solve(&p, &st, NULL, W1, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(W1[0] == 0 && info.acyclic && !info.has_accuracy);
    /* centred: (-4/3, -1/3, 5/3), L = 0.5 (16 + 1 + 25) / 9 / 3 = 7/9 */
    assert_true(fabs(info.score - 7.0 / 9) < 1e-12);
}

static int stop_after(void *data)
{
    int *polls = data;
    return ++*polls > 100;
}

/* A stop request and a time limit hold inside subproblems whatever report_every is. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    sem s;
    make_sem(&s, 40, 200, SV_DAG_ER, 2, 1);
    notears_settings st;
    notears_settings_default(&st);
    st.ctl.report_every = 1000000000L;
    double W[1600];
    notears_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, stop_after};
    solve(&s, &st, &mon, W, &info);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 100);
    assert_true(isfinite(info.base.obj) && isfinite(info.h));
    st.ctl.time_limit_s = 0.2;
    solve(&s, &st, NULL, W, &info);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.base.solve_time_s < 5);
    assert_true(isfinite(info.base.obj));
    free_sem(&s);
}

static void test_bad_input(void **state)
{
    (void)state;
    double X[4] = {1, 2, NAN, 4}, W[4];
    notears_problem p = {2, 2, X, NULL};
    notears_settings st;
    notears_settings_default(&st);
    notears_info info;
    sv_err e;
    assert_int_equal(notears_solve(&p, &st, NULL, W, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/data");
    X[2] = 3;
    st.rho_max = 0.5;
    assert_int_equal(notears_solve(&p, &st, NULL, W, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/rho_max");
    notears_settings_default(&st);
    st.memory = 0;
    assert_int_equal(notears_solve(&p, &st, NULL, W, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/memory");
    assert_int_equal(info.base.status, SV_UNSOLVED);
}

/* ---- the codec ---- */

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_notears;
    sv_test_codec_ok(C, "{\"data\": [[1, 2], [3, 5], [0, 1]]}", NULL);
    sv_test_codec_ok(C, "{\"generate\": {}}", NULL);
    sv_test_codec_error(C, "{}", NULL, "/problem");
    sv_test_codec_error(C, "{\"data\": [[1, 2]], \"generate\": {}}", NULL, "/problem");
    sv_test_codec_error(C, "{\"data\": [[1, 2]], \"X\": 1}", NULL, "/problem/X");
    sv_test_codec_error(C, "{\"data\": [[1, \"a\"]]}", NULL, "/problem/data/0/1");
    sv_test_codec_error(C, "{\"data\": [[1, 2]], \"true_graph\": [[0, 1]]}", NULL,
                        "/problem/true_graph");
    sv_test_codec_error(C, "{\"generate\": {\"d\": 5, \"edges_per_node\": 3}}", NULL,
                        "/problem/generate");
    sv_test_codec_error(C, "{\"generate\": {\"graph\": \"tree\"}}", NULL,
                        "/problem/generate/graph");
    sv_test_codec_error(C, "{\"generate\": {\"d\": 501}}", NULL, "/problem/generate/d");
    sv_test_codec_error(C, "{\"generate\": {\"nodes\": 5}}", NULL, "/problem/generate/nodes");
    sv_test_codec_error(C, "{\"generate\": {\"d\": 500, \"n\": 100000}}", NULL,
                        "/problem/generate");
    /* 501 columns: refused by the family's node limit, not read into a workspace */
    char *wide = malloc(4096);
    strcpy(wide, "{\"data\": [[0");
    for (int j = 1; j < 501; j++)
        strcat(wide, ",0");
    strcat(wide, "]]}");
    sv_test_codec_error(C, wide, NULL, "/problem/data");
    free(wide);
    const char *ok = "{\"data\": [[1, 2], [3, 5]]}";
    sv_test_codec_error(C, ok, "{\"rho\": 10, \"rho_max\": 5}", "/params/rho_max");
    sv_test_codec_error(C, ok, "{\"lambda1\": -1}", "/params/lambda1");
    sv_test_codec_error(C, ok, "{\"h_factor\": 0}", "/params/h_factor");
    sv_test_codec_error(C, ok, "{\"center\": 1}", "/params/center");
    sv_test_codec_error(C, ok, "{\"lambda\": 0.1}", "/params/lambda");
}

/* Explicit data with its true graph (a generated SEM written out as JSON): the result carries
 * the estimate, its score and accuracy; the generated form adds W_true. */
static void test_codec_runs(void **state)
{
    (void)state;
    sem s;
    make_sem(&s, 4, 400, SV_DAG_SF, 1, 2);
    json_t *X = json_array(), *T = json_array();
    for (int i = 0; i < s.n; i++) {
        json_t *row = json_array();
        for (int j = 0; j < s.d; j++)
            json_array_append_new(row, json_real(s.X[i * s.d + j]));
        json_array_append_new(X, row);
    }
    for (int i = 0; i < s.d; i++) {
        json_t *row = json_array();
        for (int j = 0; j < s.d; j++)
            json_array_append_new(row, json_real(s.T[i * s.d + j]));
        json_array_append_new(T, row);
    }
    json_t *problem = json_pack("{s:o, s:o}", "data", X, "true_graph", T);
    json_t *r = sv_test_codec_run_json(&sv_codec_notears, problem, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(json_is_true(json_object_get(r, "acyclic")));
    assert_int_equal(json_integer_value(json_object_get(r, "true_edges")), 3);
    assert_true(json_integer_value(json_object_get(r, "shd")) <= 1);
    assert_int_equal(json_array_size(json_object_get(r, "W")), 4);
    assert_int_equal(json_array_size(json_array_get(json_object_get(r, "W"), 0)), 4);
    assert_null(json_object_get(r, "W_true"));
    assert_true(json_number_value(json_object_get(r, "h")) <= 1e-8);
    json_decref(r);
    json_decref(problem);
    free_sem(&s);
    r = sv_test_codec_run(&sv_codec_notears,
                          "{\"generate\": {\"d\": 5, \"n\": 500, \"graph\": \"sf\", "
                          "\"edges_per_node\": 1, \"seed\": 3}}",
                          "{\"lambda1\": 0.05}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_int_equal(json_array_size(json_object_get(r, "W_true")), 5);
    assert_int_equal(json_integer_value(json_object_get(r, "true_edges")), 4);
    assert_int_equal(json_integer_value(json_object_get(r, "d")), 5);
    assert_int_equal(json_integer_value(json_object_get(r, "n")), 500);
    json_decref(r);
    /* Without a true graph there is no accuracy. */
    r = sv_test_codec_run(&sv_codec_notears, "{\"data\": [[1, 2], [2, 4.5], [3, 5.5], [4, 8]]}",
                          NULL, NULL);
    assert_null(json_object_get(r, "shd"));
    assert_int_equal(json_array_size(json_object_get(r, "W")), 2);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovers_generated_sems),
        cmocka_unit_test(test_progress_and_bookkeeping),
        cmocka_unit_test(test_other_endings),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
