/* test_mdp.c - the tabular MDP model (core/models/mdp.c) and its JSON reader (api/mdp_json.c):
 * generators give distributions with the documented structure, backward induction equals brute
 * force over deterministic policies, discounted value iteration meets the closed form of a
 * two-state chain, policy evaluation of the greedy policy gives the optimal values, and bad
 * models are refused at the path of the offending value. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/mdp_json.h"
#include "core/models/mdp.h"
#include "support/json.h"

static void gen(sv_mdp *m, const char *kind, int H)
{
    sv_mdp_gen_spec g;
    sv_params_defaults(sv_mdp_gen_params, &g);
    g.kind = !strcmp(kind, "random") ? SV_MDP_GEN_RANDOM
             : !strcmp(kind, "gridworld") ? SV_MDP_GEN_GRIDWORLD : SV_MDP_GEN_INVENTORY;
    g.seed = 7;
    sv_err e;
    assert_int_equal(sv_mdp_generate(&g, H, 0.9, m, "/problem/generate", &e), SV_OK);
}

static void assert_stochastic(const sv_mdp *m)
{
    for (int s = 0; s < m->S; s++)
        for (int a = 0; a < m->A; a++) {
            double sum = 0;
            const double *p = m->P + sv_mdp_row(m, s, a);
            for (int t = 0; t < m->S; t++) {
                assert_true(p[t] >= 0);
                sum += p[t];
            }
            assert_true(fabs(sum - 1) < 1e-12);
        }
}

static void test_generators(void **state)
{
    (void)state;
    sv_mdp m;
    gen(&m, "random", 0);
    assert_int_equal(m.S, 10);
    assert_int_equal(m.A, 3);
    assert_stochastic(&m);
    for (int k = 0; k < m.S * m.A; k++) {
        int support = 0;
        for (int t = 0; t < m.S; t++)
            support += m.P[(long)k * m.S + t] > 0;
        assert_int_equal(support, 3); /* branching */
    }
    sv_mdp_free(&m);

    gen(&m, "gridworld", 20);
    assert_int_equal(m.S, 25);
    assert_int_equal(m.A, 4);
    assert_stochastic(&m);
    /* From (1, 1) (state 6) moving down (action 1): 0.9 to (2, 1), 0.1/3 to each neighbour. */
    const double *p = m.P + sv_mdp_row(&m, 6, 1);
    assert_true(fabs(p[11] - 0.9) < 1e-15);
    assert_true(fabs(p[1] - 0.1 / 3) < 1e-15 && fabs(p[5] - 0.1 / 3) < 1e-15);
    /* A corner bumps into walls: (0, 0) moving up stays with 0.9 + 0.1/3 (left is a wall too). */
    assert_true(fabs(m.P[sv_mdp_row(&m, 0, 0)] - (0.9 + 0.1 / 3)) < 1e-15);
    assert_true(m.P[sv_mdp_row(&m, 24, 2) + 24] == 1.0 && m.R[24 * 4] == 1.0);
    sv_mdp_free(&m);

    gen(&m, "inventory", 0);
    assert_int_equal(m.S, 11);
    assert_stochastic(&m);
    /* Stock 0, order 1: demand 0 keeps it (e^-3), else it is sold; reward price * P(D >= 1)
     * - order_cost - holding_cost. */
    double q = exp(-3.0);
    assert_true(fabs(m.P[sv_mdp_row(&m, 0, 1) + 1] - q) < 1e-15);
    assert_true(fabs(m.R[1] - (4 * (1 - q) - 2 - 0.1)) < 1e-12);
    sv_mdp_free(&m);
}

/* Every deterministic, step-dependent policy of a tiny episodic MDP, evaluated exactly: the
 * best start value equals backward induction's. */
static void test_backward_induction_brute_force(void **state)
{
    (void)state;
    sv_mdp_gen_spec g;
    sv_params_defaults(sv_mdp_gen_params, &g);
    g.states = 3;
    g.actions = 2;
    g.branching = 2;
    sv_err e;
    for (uint64_t seed = 0; seed < 5; seed++) {
        g.seed = seed;
        sv_mdp m;
        assert_int_equal(sv_mdp_generate(&g, 3, 0, &m, "/g", &e), SV_OK);
        int H = 3, S = 3, A = 2, cells = H * S;
        double V[4 * 3], Vp[4 * 3], Q[6], pi[3 * 3 * 2];
        int greedy[9];
        sv_mdp_optimal(&m, 0, 0, V, greedy, Q);
        double best = -INFINITY;
        for (int code = 0; code < 1 << cells; code++) {
            memset(pi, 0, sizeof pi);
            for (int c = 0; c < cells; c++)
                pi[c * A + ((code >> c) & 1)] = 1;
            sv_mdp_evaluate(&m, pi, 0, 0, Vp, Q);
            double v = sv_mdp_start_value(&m, Vp);
            if (v > best)
                best = v;
        }
        assert_true(fabs(best - sv_mdp_start_value(&m, V)) < 1e-12);
        /* The greedy policy of backward induction attains it. */
        memset(pi, 0, sizeof pi);
        for (int c = 0; c < cells; c++)
            pi[c * A + greedy[c]] = 1;
        sv_mdp_evaluate(&m, pi, 0, 0, Vp, Q);
        assert_true(fabs(sv_mdp_start_value(&m, Vp) - best) < 1e-12);
        sv_mdp_free(&m);
    }
}

/* Two states, one action: 0 -> 1 with probability p, 1 absorbing with reward 1, reward 0 at 0.
 * V(1) = 1 / (1 - g), V(0) = g p V(1) / (1 - g (1 - p)). */
static void test_discounted_closed_form(void **state)
{
    (void)state;
    sv_mdp m;
    assert_int_equal(sv_mdp_alloc(&m, 2, 1, 0, 0.9), SV_OK);
    double p = 0.3, g = 0.9;
    m.P[0] = 1 - p;
    m.P[1] = p;
    m.P[3] = 1;
    m.R[1] = 1;
    m.mu[0] = 1;
    sv_err e;
    assert_int_equal(sv_mdp_check(&m, "/problem", &e), SV_OK);
    double V[2], Q[2], pi[2] = {1, 1};
    int sweeps = sv_mdp_optimal(&m, 1e-10, 100000, V, NULL, Q);
    assert_true(sweeps > 10 && sweeps < 100000);
    double v1 = 1 / (1 - g), v0 = g * p * v1 / (1 - g * (1 - p));
    assert_true(fabs(V[1] - v1) < 1e-9 && fabs(V[0] - v0) < 1e-9);
    sv_mdp_evaluate(&m, pi, 1e-10, 100000, V, Q);
    assert_true(fabs(V[0] - v0) < 1e-9);
    sv_mdp_free(&m);
}

static int read(const char *text, sv_mdp_json_need need, sv_mdp_desc *d, sv_err *e)
{
    json_t *p = sv_test_json(text);
    int form;
    int rc = sv_forms_pick(sv_mdp_json_forms, p, &form, e);
    if (rc == SV_OK)
        rc = sv_mdp_json_read(p, (sv_mdp_json_form)form, need, NULL, d, e);
    json_decref(p);
    return rc;
}

static void expect_error(const char *text, sv_mdp_json_need need, const char *field)
{
    sv_mdp_desc d;
    sv_err e = {0};
    assert_int_equal(read(text, need, &d, &e), SV_EINVAL);
    assert_string_equal(e.field, field);
}

static void test_json_explicit(void **state)
{
    (void)state;
    json_t *p = sv_test_json(
        "{\"transitions\": [[[0.5, 0.5], {\"next\": [1, 1], \"prob\": [0.25, 0.75]}],"
        " [[0, 1], [1, 0]]], \"rewards\": [[1, 2], [0, -1]], \"horizon\": 4}");
    sv_mdp_desc d;
    sv_err e;
    int form;
    assert_int_equal(sv_forms_pick(sv_mdp_json_forms, p, &form, &e), SV_OK);
    assert_int_equal(sv_mdp_json_read(p, form, SV_MDP_EPISODIC, NULL, &d, &e), SV_OK);
    assert_int_equal(d.S, 2);
    assert_int_equal(d.A, 2);
    assert_int_equal(d.H, 4);
    sv_mdp m;
    assert_int_equal(sv_mdp_json_build(&d, &m, &e), SV_OK);
    assert_true(m.P[sv_mdp_row(&m, 0, 1) + 1] == 1.0 && m.P[sv_mdp_row(&m, 0, 1)] == 0.0);
    assert_true(m.R[1] == 2 && m.R[3] == -1 && m.mu[0] == 1 && m.gamma == 1);
    sv_mdp_free(&m);
    json_decref(p);

    expect_error("{\"transitions\": [[[0.5, 0.4]]], \"rewards\": [[0]]}", SV_MDP_EITHER,
                 "/problem/transitions/0/0");
    expect_error("{\"transitions\": [[[0.5, 0.5]], [[1]]], \"rewards\": [[0], [0]]}",
                 SV_MDP_EITHER, "/problem/transitions/1/0");
    expect_error("{\"transitions\": [[[1, 0]], [[-0.5, 1.5]]], \"rewards\": [[0], [0]]}",
                 SV_MDP_EITHER, "/problem/transitions/1/0/0");
    expect_error("{\"transitions\": [[[1, 0]], [[0, 1]]], \"rewards\": [[0], [0, 1]]}",
                 SV_MDP_EITHER, "/problem/rewards/1");
    expect_error("{\"transitions\": [[{\"next\": [2], \"prob\": [1]}]], \"rewards\": [[0]]}",
                 SV_MDP_EITHER, "/problem/transitions/0/0/next/0");
    expect_error("{\"transitions\": [[[1]]], \"rewards\": [[0]], \"initial\": [0.5]}",
                 SV_MDP_EITHER, "/problem/initial");
    expect_error("{\"transitions\": [[[1]]], \"rewards\": [[0]]}", SV_MDP_EPISODIC,
                 "/problem/horizon");
    expect_error("{\"transitions\": [[[1]]], \"rewards\": [[0]], \"horizon\": 3}",
                 SV_MDP_DISCOUNTED, "/problem/horizon");
    expect_error("{\"transitions\": [[[1]]], \"rewards\": [[0]], \"gamma\": 1}", SV_MDP_EITHER,
                 "/problem/gamma");
    expect_error("{\"transitions\": [[[1]]], \"reward\": [[0]]}", SV_MDP_EITHER,
                 "/problem/reward");
}

static void test_json_generate(void **state)
{
    (void)state;
    sv_mdp_desc d;
    sv_err e;
    assert_int_equal(read("{\"generate\": {\"kind\": \"gridworld\", \"width\": 4, \"height\": 3},"
                          " \"gamma\": 0.8}", SV_MDP_DISCOUNTED, &d, &e), SV_OK);
    assert_int_equal(d.S, 12);
    assert_int_equal(d.A, 4);
    sv_mdp m;
    assert_int_equal(sv_mdp_json_build(&d, &m, &e), SV_OK);
    assert_true(m.gamma == 0.8 && m.H == 0 && m.mu[0] == 1);
    sv_mdp_free(&m);
    expect_error("{\"generate\": {\"states\": 4, \"branching\": 5}}", SV_MDP_EITHER,
                 "/problem/generate/branching");
    expect_error("{\"generate\": {\"states\": 4000, \"actions\": 1000}}", SV_MDP_EITHER,
                 "/problem/generate");
    expect_error("{\"generate\": {\"kind\": \"maze\"}}", SV_MDP_EITHER, "/problem/generate/kind");
    json_t *schema = sv_forms_schema(sv_mdp_json_forms);
    assert_non_null(schema);
    json_decref(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generators),
        cmocka_unit_test(test_backward_induction_brute_force),
        cmocka_unit_test(test_discounted_closed_form),
        cmocka_unit_test(test_json_explicit),
        cmocka_unit_test(test_json_generate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
