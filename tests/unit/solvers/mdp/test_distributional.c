/* test_distributional.c - mdp.distributional (core/solvers/mdp/distributional.c) against
 * independent answers: with the expectation objective the value equals ordinary backward
 * induction (sv_mdp_optimal); for CVaR and the expected utilities the optimum equals brute force
 * over every deterministic history-dependent policy of 2-3 step MDPs, each policy's return
 * distribution computed by walking its history tree and F applied to it directly (CVaR as the
 * mean of the worst alpha mass, not through Rockafellar-Uryasev); value and policy iteration
 * agree; the start distribution the solver returns has the objective's value; off-grid rewards
 * stay within the reported discretisation bound; stops, bad input and the codec. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/codec.h"
#include "core/models/mdp.h"
#include "core/rng.h"
#include "core/solvers/mdp/distributional.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_distributional;

/* A random S x A model with branching-2 transitions and integer rewards in [-rmax, rmax]. */
static void random_model(sv_mdp *m, int S, int A, int H, int rmax, uint64_t seed)
{
    assert_int_equal(sv_mdp_alloc(m, S, A, H, 1.0), SV_OK);
    sv_rng r;
    sv_rng_seed(&r, seed);
    for (int s = 0; s < S; s++)
        for (int a = 0; a < A; a++) {
            double *p = m->P + sv_mdp_row(m, s, a);
            int t1 = (int)sv_rng_below(&r, (uint64_t)S), t2 = (int)sv_rng_below(&r, (uint64_t)S);
            double w = 0.2 + 0.6 * sv_rng_uniform(&r);
            p[t1] += w;
            p[t2] += 1 - w;
            m->R[s * A + a] = (double)((int)sv_rng_below(&r, (uint64_t)(2 * rmax + 1)) - rmax);
        }
    m->mu[0] = 1.0;
}

/* ---- brute force over deterministic history-dependent policies ---- */

typedef struct {
    double x, p;
    int s;
} node;

typedef struct {
    const distributional_settings *st;
    double c0;
} fctx;

static int cmp_node(const void *a, const void *b)
{
    double d = ((const node *)a)->x - ((const node *)b)->x;
    return (d > 0) - (d < 0);
}

/* F of the distribution of x over the leaves. */
static double functional(const fctx *f, node *leaf, int n)
{
    const distributional_settings *s = f->st;
    if (s->objective == DISTRIBUTIONAL_CVAR) {
        qsort(leaf, (size_t)n, sizeof *leaf, cmp_node);
        double left = s->alpha, sum = 0;
        for (int i = 0; i < n && left > 0; i++) {
            double take = fmin(left, leaf[i].p);
            sum += take * leaf[i].x;
            left -= take;
        }
        return sum / s->alpha;
    }
    double v = 0;
    for (int i = 0; i < n; i++) {
        double x = f->c0 + leaf[i].x, u;
        switch (s->objective) {
        case DISTRIBUTIONAL_EXPONENTIAL: u = (1 - exp(-s->beta * x)) / s->beta; break;
        case DISTRIBUTIONAL_THRESHOLD: u = x >= s->threshold ? 1 : 0; break;
        case DISTRIBUTIONAL_HOMEOSTATIC:
            u = -(fmax(0, s->band_low - x) + fmax(0, x - s->band_high));
            break;
        default: u = x;
        }
        v += leaf[i].p * u;
    }
    return v;
}

/* Every choice of one action per frontier history, level by level. */
static void enumerate(const sv_mdp *m, const fctx *f, int h, node *fr, int n, double *best)
{
    if (h == m->H) {
        node leaf[4096];
        memcpy(leaf, fr, (size_t)n * sizeof *fr);
        double v = functional(f, leaf, n);
        if (v > *best)
            *best = v;
        return;
    }
    long combos = 1;
    for (int i = 0; i < n; i++)
        combos *= m->A;
    node next[4096];
    for (long c = 0; c < combos; c++) {
        long code = c;
        int k = 0;
        for (int i = 0; i < n; i++) {
            int a = (int)(code % m->A);
            code /= m->A;
            const double *p = m->P + sv_mdp_row(m, fr[i].s, a);
            for (int t = 0; t < m->S; t++)
                if (p[t] > 0) {
                    assert_true(k < 4096);
                    next[k++] = (node){fr[i].x + m->R[fr[i].s * m->A + a], fr[i].p * p[t], t};
                }
        }
        enumerate(m, f, h + 1, next, k, best);
    }
}

static double brute_force(const sv_mdp *m, const distributional_settings *s)
{
    fctx f = {s, s->stock0};
    node fr[16];
    int n = 0;
    for (int st = 0; st < m->S; st++)
        if (m->mu[st] > 0)
            fr[n++] = (node){0, m->mu[st], st};
    double best = -INFINITY;
    enumerate(m, &f, 0, fr, n, &best);
    return best;
}

/* Solves with both methods; asserts they agree, returns VI's objective; checks F of the
 * returned start distribution is the objective. */
static double solve_both(const sv_mdp *m, distributional_settings *s, distributional_info *info)
{
    long N;
    sv_err e;
    assert_int_equal(distributional_sizes(m, s, &N, NULL, &e), SV_OK);
    distributional_out out;
    out.atoms = malloc((size_t)N * sizeof(double));
    out.probs = malloc((size_t)N * sizeof(double));
    out.policy = malloc((size_t)m->H * m->S * N * sizeof(int));
    double v[2];
    for (int method = 0; method < 2; method++) {
        s->method = method;
        assert_int_equal(distributional_solve(m, s, NULL, &out, info, &e), SV_OK);
        assert_int_equal(info->base.status, SV_SOLVED);
        v[method] = info->base.obj;
        /* F of the start distribution (atoms are c_0 + G) */
        node leaf[4096];
        assert_true(info->n_atoms >= 1 && info->n_atoms <= 4096);
        double mass = 0;
        for (long i = 0; i < info->n_atoms; i++) {
            leaf[i] = (node){out.atoms[i], out.probs[i], 0};  /* atoms: G */
            mass += out.probs[i];
            if (i > 0)
                assert_true(out.atoms[i] > out.atoms[i - 1]);
        }
        assert_true(fabs(mass - 1) < 1e-12);
        fctx f = {s, s->objective == DISTRIBUTIONAL_CVAR ? 0 : s->stock0};
        /* cvar: the solver's value is the RU bound at its b, which the distribution's CVaR
         * (the mean of its worst alpha mass) must equal */
        assert_true(fabs(functional(&f, leaf, (int)info->n_atoms) - v[method]) < 1e-9);
    }
    assert_true(fabs(v[0] - v[1]) < 1e-9);
    free(out.atoms);
    free(out.probs);
    free(out.policy);
    return v[0];
}

static void test_expectation_is_backward_induction(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        sv_mdp m;
        random_model(&m, 7, 3, 8, 3, seed);
        double V[9 * 7], Q[7 * 3];
        sv_mdp_optimal(&m, 0, 0, V, NULL, Q);
        double vstar = sv_mdp_start_value(&m, V);
        distributional_settings s;
        distributional_settings_default(&s);
        distributional_info info;
        double v = solve_both(&m, &s, &info);
        assert_true(fabs(v - vstar) < 1e-9);
        assert_true(fabs(info.expected_optimal - vstar) < 1e-12);
        assert_true(fabs(info.mean_return - vstar) < 1e-9);
        assert_true(info.exact);
        sv_mdp_free(&m);
    }
}

static void test_cvar_brute_force(void **state)
{
    (void)state;
    const double alphas[] = {0.05, 0.25, 0.5, 1.0};
    int differs = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        sv_mdp m;
        if (seed % 2)
            random_model(&m, 2, 2, 3, 3, seed);
        else
            random_model(&m, 3, 2, 2, 3, seed);
        for (int i = 0; i < 4; i++) {
            distributional_settings s;
            distributional_settings_default(&s);
            s.objective = DISTRIBUTIONAL_CVAR;
            s.alpha = alphas[i];
            distributional_info info;
            double v = solve_both(&m, &s, &info);
            double bf = brute_force(&m, &s);
            assert_true(fabs(v - bf) < 1e-9);
            assert_true(fabs(info.var + info.stock0) < 1e-12);
            if (i == 0 && fabs(info.mean_return - info.expected_optimal) > 1e-9)
                differs++;
        }
        sv_mdp_free(&m);
    }
    assert_true(differs > 0);  /* risk aversion changed the policy somewhere */
}

static void test_utilities_brute_force(void **state)
{
    (void)state;
    for (uint64_t seed = 11; seed <= 16; seed++) {
        sv_mdp m;
        random_model(&m, 3, 2, 2, 2, seed);
        m.mu[0] = 0.5;
        m.mu[1] = 0.5;
        distributional_settings s;
        distributional_settings_default(&s);
        s.stock0 = 1;
        s.objective = DISTRIBUTIONAL_EXPONENTIAL;
        s.beta = 0.7;
        distributional_info info;
        assert_true(fabs(solve_both(&m, &s, &info) - brute_force(&m, &s)) < 1e-9);
        s.beta = -0.4;
        assert_true(fabs(solve_both(&m, &s, &info) - brute_force(&m, &s)) < 1e-9);
        s.objective = DISTRIBUTIONAL_THRESHOLD;
        s.threshold = 2;
        assert_true(fabs(solve_both(&m, &s, &info) - brute_force(&m, &s)) < 1e-9);
        s.objective = DISTRIBUTIONAL_HOMEOSTATIC;
        s.band_low = 0;
        s.band_high = 1;
        assert_true(fabs(solve_both(&m, &s, &info) - brute_force(&m, &s)) < 1e-9);
        sv_mdp_free(&m);
    }
}

/* Rewards off the grid: rounded, and the expectation within the reported bound of the exact
 * optimum. */
static void test_off_grid_rewards(void **state)
{
    (void)state;
    sv_mdp m;
    random_model(&m, 6, 3, 5, 2, 3);
    for (int k = 0; k < m.S * m.A; k++)
        m.R[k] += 0.137 * (k % 5);
    double V[6 * 6], Q[6 * 3];
    sv_mdp_optimal(&m, 0, 0, V, NULL, Q);
    distributional_settings s;
    distributional_settings_default(&s);
    s.stock_step = 0.25;
    distributional_info info;
    double v = solve_both(&m, &s, &info);
    assert_false(info.exact);
    assert_true(info.stock_error > 0 && info.stock_error <= 5 * 0.125 + 1e-12);
    assert_true(fabs(v - sv_mdp_start_value(&m, V)) <= info.stock_error + 1e-9);
    s.stock_step = NAN;  /* automatic: (max r - min r) / 100 */
    solve_both(&m, &s, &info);
    assert_false(info.exact);
    sv_mdp_free(&m);
}

static int record(const sv_progress *p, void *data)
{
    double *objs = data;
    if (p->iter >= 0 && p->iter < 16)
        objs[p->iter] = p->obj;
    return 0;
}

/* Value iteration's progress objective after k backward steps is the optimum of the k-step
 * problem (the model is time-homogeneous): ordinary backward induction with horizon k. */
static void test_progress_is_shorter_horizon(void **state)
{
    (void)state;
    sv_mdp m;
    random_model(&m, 5, 3, 6, 2, 9);
    distributional_settings s;
    distributional_settings_default(&s);
    double objs[16];
    for (int i = 0; i < 16; i++)
        objs[i] = NAN;
    sv_monitor mon = {record, objs, NULL};
    distributional_info info;
    assert_int_equal(distributional_solve(&m, &s, &mon, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    for (int k = 1; k <= 6; k++) {
        double V[7 * 5], Q[5 * 3];
        m.H = k;
        sv_mdp_optimal(&m, 0, 0, V, NULL, Q);
        assert_true(fabs(objs[k] - sv_mdp_start_value(&m, V)) < 1e-9);
    }
    assert_true(fabs(objs[6] - info.base.obj) < 1e-12);
    sv_mdp_free(&m);
}

/* Policy iteration cut at one round: status max_iter (the first round changes actions from the
 * all-zero start), and the improved policy's distribution is still returned; with room it
 * reaches value iteration's optimum. */
static void test_policy_iteration_rounds(void **state)
{
    (void)state;
    sv_mdp m;
    random_model(&m, 6, 3, 5, 3, 4);
    distributional_settings s;
    distributional_settings_default(&s);
    s.objective = DISTRIBUTIONAL_CVAR;
    s.alpha = 0.3;
    s.method = DISTRIBUTIONAL_POLICY_ITERATION;
    s.ctl.max_iter = 1;
    distributional_info info;
    assert_int_equal(distributional_solve(&m, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_true(info.changes > 0);
    assert_true(info.n_atoms > 0);
    s.ctl.max_iter = 1000;
    assert_int_equal(distributional_solve(&m, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(info.base.iter >= 2 && info.changes == 0);
    double pi_obj = info.base.obj;
    s.method = DISTRIBUTIONAL_VALUE_ITERATION;
    assert_int_equal(distributional_solve(&m, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_true(fabs(pi_obj - info.base.obj) < 1e-9);
    sv_mdp_free(&m);
}

static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    sv_mdp m;
    random_model(&m, 200, 3, 100, 1, 5);
    distributional_settings s;
    distributional_settings_default(&s);
    s.ctl.report_every = 1000000000L;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    distributional_info info;
    assert_int_equal(distributional_solve(&m, &s, &mon, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 100);
    s.ctl.time_limit_s = 0.05;
    s.method = DISTRIBUTIONAL_POLICY_ITERATION;
    assert_int_equal(distributional_solve(&m, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    sv_mdp_free(&m);
}

static void test_bad_input(void **state)
{
    (void)state;
    sv_mdp m;
    random_model(&m, 2, 2, 2, 1, 1);
    distributional_settings s;
    distributional_settings_default(&s);
    sv_err e;
    s.objective = DISTRIBUTIONAL_EXPONENTIAL;
    s.beta = 0;
    assert_int_equal(distributional_solve(&m, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/beta");
    distributional_settings_default(&s);
    s.band_low = 2;
    s.band_high = 1;
    assert_int_equal(distributional_solve(&m, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/band_high");
    distributional_settings_default(&s);
    s.stock_step = 1e-9;
    assert_int_equal(distributional_solve(&m, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/stock_step");
    distributional_settings_default(&s);
    m.H = 0;
    assert_int_equal(distributional_solve(&m, &s, NULL, NULL, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/horizon");
    sv_mdp_free(&m);
}

/* ---- the codec ---- */

/* A hand-solved gamble: from state 0 the safe action leads to state 3 (reward 1 next step),
 * the risky one to state 1 (reward 5) or 2 (reward -2) with probability 1/2 each. */
#define GAMBLE                                                                                  \
    "{\"transitions\": [[[0,0,0,1],[0,0.5,0.5,0]], [[0,1,0,0],[0,1,0,0]],"                      \
    " [[0,0,1,0],[0,0,1,0]], [[0,0,0,1],[0,0,0,1]]],"                                           \
    " \"rewards\": [[0,0],[5,5],[-2,-2],[1,1]], \"horizon\": 2}"

static void test_codec_run(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_distributional;
    json_t *r = sv_test_codec_run(C, GAMBLE, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(fabs(json_number_value(json_object_get(r, "objective")) - 1.5) < 1e-12);
    json_t *d = json_object_get(r, "distribution");
    assert_int_equal(json_array_size(json_object_get(d, "atoms")), 2);
    assert_true(json_number_value(json_array_get(json_object_get(d, "atoms"), 0)) == -2);
    assert_true(json_number_value(json_array_get(json_object_get(d, "atoms"), 1)) == 5);
    assert_true(json_number_value(json_array_get(json_object_get(d, "probs"), 1)) == 0.5);
    json_decref(r);
    r = sv_test_codec_run(C, GAMBLE, "{\"objective\": \"cvar\", \"alpha\": 0.5, "
                                     "\"method\": \"policy_iteration\"}", NULL);
    assert_true(fabs(json_number_value(json_object_get(r, "objective")) - 1.0) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "expected_optimal")) - 1.5) < 1e-12);
    d = json_object_get(r, "distribution");
    assert_int_equal(json_array_size(json_object_get(d, "atoms")), 1);  /* the safe return 1 */
    assert_true(json_number_value(json_array_get(json_object_get(d, "atoms"), 0)) == 1);
    assert_true(fabs(json_number_value(json_object_get(r, "var")) - 1.0) < 1e-12);
    assert_true(json_is_array(json_object_get(r, "policy")));
    assert_true(json_is_array(json_object_get(r, "stock_grid")));
    json_decref(r);
}

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_distributional;
    sv_test_codec_ok(C, GAMBLE, NULL);
    sv_test_codec_error(C, "{\"generate\": {\"kind\": \"random\"}}", NULL, "/problem/horizon");
    sv_test_codec_error(C, "{\"generate\": {\"kind\": \"maze\"}, \"horizon\": 3}", NULL,
                        "/problem/generate/kind");
    sv_test_codec_error(C, GAMBLE, "{\"objective\": \"median\"}", "/params/objective");
    sv_test_codec_error(C, GAMBLE, "{\"alpha\": 0}", "/params/alpha");
    sv_test_codec_error(C, GAMBLE, "{\"objective\": \"exponential\", \"beta\": 0}",
                        "/params/beta");
    sv_test_codec_error(C, GAMBLE, "{\"stock_step\": 1e-9}", "/params/stock_step");
    sv_test_codec_error(C, "{\"transitions\": [[[0.5, 0.6]], [[1, 0]]], \"rewards\": [[0],[0]],"
                           " \"horizon\": 2}", NULL, "/problem/transitions/0/0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expectation_is_backward_induction),
        cmocka_unit_test(test_cvar_brute_force),
        cmocka_unit_test(test_utilities_brute_force),
        cmocka_unit_test(test_off_grid_rewards),
        cmocka_unit_test(test_progress_is_shorter_horizon),
        cmocka_unit_test(test_policy_iteration_rounds),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_run),
        cmocka_unit_test(test_codec_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
