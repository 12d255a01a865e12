/* test_ccg.c - column-and-constraint generation (core/solvers/robust/ccg.c), its generators
 * (ccg_gen.c) and the robust.ccg codec. Reference answers: min over x, max over the vertices of
 * U, min over y, all three enumerated here from the instance data (n <= 8), independently of
 * the solver's model and of GLPK; the generators against the formulas of Neur2RO's. */
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
#include "core/solvers/robust/ccg.h"
#include "core/solvers/robust/ccg_gen.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_ccg;

/* ---- brute force ---- */

/* Calls fn(ctx, xi) for every vertex of {lo, hi}^d with at most gamma coordinates at hi. */
static void each_vertex(int d, int gamma, double lo, double hi, void (*fn)(void *, const double *),
                        void *ctx)
{
    double xi[32];
    for (long mask = 0; mask < (1L << d); mask++) {
        if (__builtin_popcountl((unsigned long)mask) > gamma)
            continue;
        for (int j = 0; j < d; j++)
            xi[j] = (mask >> j) & 1 ? hi : lo;
        fn(ctx, xi);
    }
}

typedef struct {
    const ccg_problem *p;
    unsigned x;
    double worst;
} bf_ctx;

/* knapsack: min over y subset of x, r subset of y, c y + t r <= C. */
static void kp_vertex(void *ctx, const double *xi)
{
    bf_ctx *b = ctx;
    const ccg_problem *p = b->p;
    double best = INFINITY;
    for (unsigned y = b->x;; y = (y - 1) & b->x) {
        for (unsigned r = y;; r = (r - 1) & y) {
            double w = 0, v = 0;
            for (int i = 0; i < p->n; i++) {
                int xi_ = (b->x >> i) & 1, yi = (y >> i) & 1, ri = (r >> i) & 1;
                w += p->c[i] * yi + p->t[i] * ri;
                v += (p->f[i] - p->p_bar[i]) * xi_ + (p->p_hat[i] * xi[i] - p->f[i]) * yi -
                     p->p_hat[i] * xi[i] * ri;
            }
            if (w <= p->C * (1 + 1e-12) && v < best)
                best = v;
            if (r == 0)
                break;
        }
        if (y == 0)
            break;
    }
    if (best > b->worst)
        b->worst = best;
}

/* capital budgeting without loans: min over y in the complement of x within the budget. */
static void cb_vertex(void *ctx, const double *xi)
{
    bf_ctx *b = ctx;
    const ccg_problem *p = b->p;
    int n = p->n, d = p->d;
    double cost[16], rev[16];
    for (int i = 0; i < n; i++) {
        double a = 0, c = 0;
        for (int j = 0; j < d; j++) {
            a += p->psi[i * d + j] * xi[j];
            c += p->phi[i * d + j] * xi[j];
        }
        rev[i] = (1 + a / 2) * p->r_bar[i];
        cost[i] = (1 + c / 2) * p->c_bar[i];
    }
    unsigned free_ = ~b->x & ((1u << n) - 1);
    double best = INFINITY;
    for (unsigned y = free_;; y = (y - 1) & free_) {
        double w = 0, v = 0;
        for (int i = 0; i < n; i++) {
            int xi_ = (b->x >> i) & 1, yi = (y >> i) & 1;
            w += cost[i] * (xi_ + yi);
            v -= rev[i] * (xi_ + p->k * yi);
        }
        if (w <= p->budget * (1 + 1e-12) && v < best)
            best = v;
        if (y == 0)
            break;
    }
    if (best > b->worst)
        b->worst = best;
}

static double brute_force(const ccg_problem *p)
{
    double best = INFINITY;
    for (unsigned x = 0; x < (1u << p->n); x++) {
        bf_ctx b = {p, x, -INFINITY};
        if (p->cls == CCG_KNAPSACK)
            each_vertex(p->n, p->gamma, 0, 1, kp_vertex, &b);
        else
            each_vertex(p->d, p->d, -1, 1, cb_vertex, &b);
        if (b.worst < best)
            best = b.worst;
    }
    return best;
}

/* ---- a monitor that records the bounds of every report ---- */

typedef struct {
    int n;
    double lb[4096], ub[4096];
} bounds_trace;

static double metric(const sv_progress *p, const char *name)
{
    for (int i = 0; i < p->n_metrics; i++)
        if (strcmp(p->metrics[i].name, name) == 0)
            return p->metrics[i].value;
    return NAN;
}

static int record(const sv_progress *p, void *data)
{
    bounds_trace *t = data;
    if (t->n < 4096) {
        t->lb[t->n] = metric(p, "lower_bound");
        t->ub[t->n] = metric(p, "upper_bound");
        t->n++;
    }
    return 0;
}

static void assert_monotone(const bounds_trace *t)
{
    assert_true(t->n >= 2);
    for (int k = 1; k < t->n; k++) {
        assert_false(isnan(t->lb[k]) || isnan(t->ub[k]));
        assert_true(t->lb[k] >= t->lb[k - 1]);
        assert_true(t->ub[k] <= t->ub[k - 1]);
        if (isfinite(t->lb[k]) && isfinite(t->ub[k]))
            assert_true(t->lb[k] <= t->ub[k] + 1e-7 * fmax(1.0, fabs(t->ub[k])));
    }
}

static void gen(ccg_data *d, int cls, int n, uint64_t seed, int corr, double bf, int xi_dim)
{
    ccg_gen_spec g;
    sv_params_defaults(ccg_gen_params, &g);
    g.cls = cls;
    g.items = n;
    g.seed = seed;
    g.correlation = corr;
    g.budget_factor = bf;
    g.xi_dim = xi_dim;
    assert_int_equal(ccg_generate(&g, d, NULL), SV_OK);
}

static int report_steps;

static void solve(const ccg_problem *p, int adversary, ccg_info *info, bounds_trace *t)
{
    ccg_settings s;
    ccg_settings_default(&s);
    s.adversary = adversary;
    s.report_steps = report_steps;
    sv_monitor mon = {record, t, NULL};
    if (t)
        t->n = 0;
    sv_err e;
    int rc = ccg_solve(p, &s, t ? &mon : NULL, info, &e);
    if (rc != SV_OK)
        fail_msg("ccg_solve: %s: %s", e.field, e.msg);
    assert_int_equal(info->base.status, SV_SOLVED);
}

/* ---- tests ---- */

static void test_knapsack_equals_brute_force(void **state)
{
    (void)state;
    static bounds_trace t;
    int cases = 0;
    for (int n = 3; n <= 8; n++)
        for (int corr = 0; corr < 4; corr++) {
            ccg_data d;
            gen(&d, CCG_KNAPSACK, n, (uint64_t)(11 * n + corr), corr, n <= 5 ? 0.4 : 0.25, 4);
            double ref = brute_force(&d.prob);
            for (int adv = CCG_ADV_ENUMERATE; adv <= CCG_ADV_CUTS; adv++) {
                ccg_info info;
                solve(&d.prob, adv, &info, &t);
                if (fabs(info.upper_bound - ref) > 1e-6 * fmax(1.0, fabs(ref)))
                    fail_msg("n=%d corr=%d adversary=%d: CCG %.9g, brute force %.9g", n, corr,
                             adv, info.upper_bound, ref);
                assert_true(info.lower_bound <= info.upper_bound + 1e-7 * fabs(ref));
                assert_monotone(&t);
                /* the incumbent x reproduces the value by brute force over xi and y */
                unsigned x = 0;
                for (int i = 0; i < n; i++)
                    x |= (info.x[i] > 0.5 ? 1u : 0u) << i;
                bf_ctx b = {&d.prob, x, -INFINITY};
                each_vertex(n, d.prob.gamma, 0, 1, kp_vertex, &b);
                assert_true(fabs(b.worst - ref) <= 1e-6 * fmax(1.0, fabs(ref)));
                ccg_info_free(&info);
                cases++;
            }
            ccg_data_free(&d);
        }
    assert_int_equal(cases, 48);
}

static void test_capital_budgeting_equals_brute_force(void **state)
{
    (void)state;
    static bounds_trace t;
    for (int n = 3; n <= 8; n++)
        for (int dim = 1; dim <= 4; dim++) {
            ccg_data d;
            gen(&d, CCG_CAPITAL, n, (uint64_t)(100 + 7 * n + dim), 0, 0.1, dim);
            double ref = brute_force(&d.prob);
            ccg_info info;
            solve(&d.prob, CCG_ADV_AUTO, &info, &t);
            assert_int_equal(info.adversary, CCG_ADV_ENUMERATE);
            if (fabs(info.upper_bound - ref) > 1e-6 * fmax(1.0, fabs(ref)))
                fail_msg("n=%d d=%d: CCG %.9g, brute force %.9g", n, dim, info.upper_bound, ref);
            assert_monotone(&t);
            assert_true(info.vertices == (double)(1 << dim));
            ccg_info_free(&info);
            ccg_data_free(&d);
        }
}

/* A larger knapsack: many iterations, the two adversaries agree, the bounds stay ordered. */
static void test_bounds_monotone_and_adversaries_agree(void **state)
{
    (void)state;
    static bounds_trace t;
    ccg_data d;
    gen(&d, CCG_KNAPSACK, 18, 2, CCG_CORR_UN, 0.15, 4);
    assert_int_equal(d.prob.gamma, 3);
    ccg_info a, b;
    solve(&d.prob, CCG_ADV_ENUMERATE, &a, &t);
    assert_monotone(&t);
    assert_true(t.n >= 4);
    int checks = t.n;
    report_steps = 1;  /* the sub-steps keep both bounds monotone too */
    solve(&d.prob, CCG_ADV_CUTS, &b, &t);
    report_steps = 0;
    assert_monotone(&t);
    assert_true(t.n > checks + (int)b.adversary_rounds / 2);
    assert_true(fabs(a.upper_bound - b.upper_bound) <= 1e-6 * fabs(a.upper_bound));
    assert_true(b.adversary_rounds > 0);
    ccg_info_free(&a);
    ccg_info_free(&b);
    ccg_data_free(&d);
    /* capital budgeting with loans: the loan is a first-stage number in [0, max_loan] */
    gen(&d, CCG_CAPITAL, 10, 5, 0, 0.1, 4);
    d.prob.loans = 1;
    d.prob.l = 0.12;
    d.prob.m = 1.2;
    solve(&d.prob, CCG_ADV_AUTO, &a, &t);
    assert_monotone(&t);
    assert_int_equal(a.n_first, 11);
    assert_true(a.x[10] >= -1e-9 && a.x[10] <= d.prob.max_loan + 1e-9);
    double no_loans_value;
    d.prob.loans = 0;
    solve(&d.prob, CCG_ADV_AUTO, &b, NULL);
    no_loans_value = b.upper_bound;
    /* loans only add options (x0 = y0 = 0 is the loan-free problem) */
    assert_true(a.upper_bound <= no_loans_value + 1e-7 * fabs(no_loans_value));
    ccg_info_free(&a);
    ccg_info_free(&b);
    ccg_data_free(&d);
}

static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    ccg_data d;
    gen(&d, CCG_KNAPSACK, 60, 9, CCG_CORR_SC, 0.2, 4);
    ccg_settings s;
    ccg_settings_default(&s);
    s.ctl.report_every = 1000000000L;
    s.ctl.tol = 0;
    ccg_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    assert_int_equal(ccg_solve(&d.prob, &s, &mon, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(polls >= 101);
    ccg_info_free(&info);
    s.ctl.time_limit_s = 0.3;
    assert_int_equal(ccg_solve(&d.prob, &s, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.lower_bound <= info.upper_bound || !isfinite(info.upper_bound));
    ccg_info_free(&info);
    ccg_data_free(&d);
}

static void test_generators(void **state)
{
    (void)state;
    ccg_data a, b;
    gen(&a, CCG_KNAPSACK, 30, 4, CCG_CORR_ASC, 0.1, 4);
    gen(&b, CCG_KNAPSACK, 30, 4, CCG_CORR_ASC, 0.1, 4);
    assert_memory_equal(a.buf, b.buf, 5 * 30 * sizeof(double));
    const ccg_problem *p = &a.prob;
    double sum = 0;
    for (int i = 0; i < 30; i++) {
        sum += p->c[i];
        assert_true(p->c[i] >= 1 && p->c[i] <= 1000);
        assert_true(fabs(p->p_bar[i] - (p->c[i] + 100)) <= 1.0 + 1e-12);
        assert_true(p->p_hat[i] >= 0.25 * p->p_bar[i] && p->p_hat[i] <= 0.75 * p->p_bar[i]);
        assert_true(p->f[i] >= 1.1 * p->p_bar[i] && p->f[i] <= 1.5 * p->p_bar[i]);
        assert_true(fabs(p->t[i] - (p->p_hat[i] / 2 + p->c[i] / 10)) <= 1.0 + 1e-12);
    }
    assert_true(fabs(p->C - 40.0 / 101.0 * sum) <= 1e-9 * sum);
    assert_int_equal(p->gamma, 3);
    ccg_data_free(&a);
    ccg_data_free(&b);
    gen(&a, CCG_CAPITAL, 12, 8, 0, 0.1, 4);
    p = &a.prob;
    sum = 0;
    for (int i = 0; i < 12; i++) {
        double s1 = 0, s2 = 0;
        sum += p->c_bar[i];
        assert_true(fabs(p->r_bar[i] - p->c_bar[i] / 5) < 1e-12);
        for (int j = 0; j < 4; j++) {
            assert_true(p->phi[i * 4 + j] >= 0 && p->psi[i * 4 + j] >= 0);
            s1 += p->phi[i * 4 + j];
            s2 += p->psi[i * 4 + j];
        }
        assert_true(fabs(s1 - 1) < 1e-12 && fabs(s2 - 1) < 1e-12);
    }
    assert_true(fabs(p->budget - sum / 2) < 1e-12 && fabs(p->max_loan - sum) < 1e-9);
    ccg_data_free(&a);
}

static void test_bad_input(void **state)
{
    (void)state;
    ccg_data d;
    gen(&d, CCG_CAPITAL, 4, 1, 0, 0.1, 2);
    ccg_settings s;
    ccg_settings_default(&s);
    ccg_info info;
    sv_err e;
    s.adversary = CCG_ADV_CUTS;
    assert_int_equal(ccg_solve(&d.prob, &s, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/adversary");
    ccg_settings_default(&s);
    s.ctl.max_iter = 20000;
    assert_int_equal(ccg_solve(&d.prob, &s, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/max_iter");
    ccg_settings_default(&s);
    d.prob.budget = -1;
    assert_int_equal(ccg_solve(&d.prob, &s, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/capital_budgeting/budget");
    d.prob.budget = 1;
    d.prob.n = CCG_MAX_ITEMS + 1;  /* refused before its O(n^2) rows are allocated */
    assert_int_equal(ccg_solve(&d.prob, &s, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem");
    ccg_data_free(&d);
}

#define KP "\"knapsack\": {\"p_bar\": [10, 8], \"p_hat\": [4, 3], \"c\": [3, 2], \"t\": [1, 1]," \
           " \"f\": [12, 10], \"C\": 4"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_ccg;
    sv_test_codec_ok(C, "{" KP ", \"gamma\": 1}}", NULL);
    sv_test_codec_error(C, "{" KP "}}", NULL, "/problem/knapsack/gamma");
    sv_test_codec_error(C, "{" KP ", \"gamma\": 3}}", NULL, "/problem/knapsack/gamma");
    sv_test_codec_error(C, "{" KP ", \"gamma\": 1, \"x\": 1}}", NULL, "/problem/knapsack/x");
    sv_test_codec_error(C,
                        "{\"knapsack\": {\"p_bar\": [10, 8], \"p_hat\": [4], \"c\": [3, 2], "
                        "\"t\": [1, 1], \"f\": [12, 10], \"C\": 4, \"gamma\": 1}}",
                        NULL, "/problem/knapsack/p_hat");
    sv_test_codec_error(C,
                        "{\"knapsack\": {\"p_bar\": [10, 8], \"p_hat\": [4, 3], \"c\": [3, -2], "
                        "\"t\": [1, 1], \"f\": [12, 10], \"C\": 4, \"gamma\": 1}}",
                        NULL, "/problem/knapsack/c");
    sv_test_codec_error(C, "{\"generate\": {\"items\": 0}}", NULL, "/problem/generate/items");
    sv_test_codec_error(C, "{\"generate\": {}}", NULL, "/problem/generate/items");
    sv_test_codec_error(C, "{\"generate\": {\"items\": 5, \"class\": \"tsp\"}}", NULL,
                        "/problem/generate/class");
    sv_test_codec_error(C, "{\"generate\": {\"items\": 5, \"correlation\": \"XX\"}}", NULL,
                        "/problem/generate/correlation");
    sv_test_codec_error(C, "{\"generate\": {\"items\": 5}, \"knapsack\": {}}", NULL, "/problem");
    sv_test_codec_error(C,
                        "{\"capital_budgeting\": {\"c_bar\": [1, 2], \"r_bar\": [0.2, 0.4], "
                        "\"phi\": [[0.5, 0.5], [1]], \"psi\": [[1, 0], [0, 1]], \"budget\": 1}}",
                        NULL, "/problem/capital_budgeting/phi/1");
    sv_test_codec_error(C,
                        "{\"capital_budgeting\": {\"c_bar\": [1, 2], \"r_bar\": [0.2, 0.4], "
                        "\"phi\": [[0.5, 0.5], [1, 0]], \"psi\": [[1, 0], [0, 1]]}}",
                        NULL, "/problem/capital_budgeting/budget");
    sv_test_codec_error(C,
                        "{\"capital_budgeting\": {\"c_bar\": [1, 2], \"r_bar\": [0.2, 0.4], "
                        "\"phi\": [[0.5, 0.5], [1, 0]], \"psi\": [[1, 0], [0, 1]], "
                        "\"budget\": 1, \"loans\": 1}}",
                        NULL, "/problem/capital_budgeting/loans");
    sv_test_codec_error(C, "{" KP ", \"gamma\": 1}}", "{\"adversary\": \"all\"}",
                        "/params/adversary");
    sv_test_codec_error(C, "{" KP ", \"gamma\": 1}}", "{\"tol\": -1}", "/params/tol");
}

/* Two items, one deviation: solved by hand. x = (1, 1): nominal profit 18; the adversary hits
 * item 1 (loss 4) or item 2 (loss 3); capacity 4 keeps one item and repairs it (3+1 or 2+1),
 * rejecting the other. Best of x in {00, 10, 01, 11}: x = 10 earns 10 - worst 0 (repair item 1:
 * weight 4), objective -10; x = 11 keeps item 1 repaired (4) and rejects item 2 (-10 + ... ):
 * 10 + 8 - 10 = 8; x = 01: 8. So the optimum is x = (1, 0) with objective -10. */
static void test_codec_run(void **state)
{
    (void)state;
    json_t *r = sv_test_codec_run(&sv_codec_ccg, "{" KP ", \"gamma\": 1}}", NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(fabs(json_number_value(json_object_get(r, "objective")) + 10) < 1e-9);
    json_t *x = json_object_get(r, "x");
    assert_int_equal(json_array_size(x), 2);
    assert_true(json_number_value(json_array_get(x, 0)) == 1);
    assert_true(json_number_value(json_array_get(x, 1)) == 0);
    assert_true(json_number_value(json_object_get(r, "lower_bound")) <= -10 + 1e-9);
    assert_string_equal(json_string_value(json_object_get(r, "adversary")), "enumerate");
    assert_true(json_array_size(json_object_get(r, "scenarios")) >= 1);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_knapsack_equals_brute_force),
        cmocka_unit_test(test_capital_budgeting_equals_brute_force),
        cmocka_unit_test(test_bounds_monotone_and_adversaries_agree),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_generators),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
