/* test_online.c - online matching with stochastic rewards (core/solvers/matching/online.c), its
 * generator (online_gen.c) and the matching.online codec (api/codecs/matching/online.c).
 * Reference answers: closed forms (one offline vertex with n neighbours of probability p is
 * matched with probability 1 - (1-p)^n; an all-ones complete graph with |online| <= |offline|
 * matches every online vertex; the LP of hand-solved instances), and every algorithm's exact
 * expectation on small fixed-order graphs by enumerating all edge outcomes (and, for Ranking,
 * all rank permutations), computed here independently of the solver. No BLAS is involved. */
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
#include "core/solvers/matching/online.h"
#include "core/solvers/matching/online_gen.h"
#include "support/codec.h"

extern const sv_codec sv_codec_online;

static online_settings settings(long trials, double tol, uint64_t seed)
{
    online_settings s;
    online_settings_default(&s);
    s.ctl.max_iter = trials;
    s.ctl.tol = tol;
    s.ctl.report_every = 1000;
    s.seed = seed;
    return s;
}

/* ---- the LP ---- */

static void test_lp_hand_solved(void **state)
{
    (void)state;
    /* v0: (u0, 1), (u1, 0.5); v1: (u0, 1). Optimum x(u0,v1) = 1, x(u1,v0) = 1: 1.5. */
    int ptr[] = {0, 2, 3}, adj[] = {0, 1, 0};
    double p[] = {1.0, 0.5, 1.0};
    online_problem P = {2, 2, ptr, adj, p, 0};
    double v;
    assert_int_equal(online_lp_value(&P, &v, NULL), SV_OK);
    assert_true(fabs(v - 1.5) < 1e-9);
    /* One offline vertex, three online of p = 0.5: the budget binds, sum x <= 2: value 1. */
    int ptr2[] = {0, 1, 2, 3}, adj2[] = {0, 0, 0};
    double p2[] = {0.5, 0.5, 0.5};
    online_problem Q = {1, 3, ptr2, adj2, p2, 1};
    assert_int_equal(online_lp_value(&Q, &v, NULL), SV_OK);
    assert_true(fabs(v - 1.0) < 1e-9);
    /* Budget and online rows both: u0 with p 0.4 to v0, v1, v2 (budget 1 -> 2.5 units, but
     * each v <= 1) and u1 with p 0.3 to v2: x(u0,v0) = x(u0,v1) = 1 (0.8 of u0's budget),
     * then v2's unit is best spent 0.4 on u0 (budget 0.2 left: x = 0.5, value 0.2) and 0.5
     * on u1 (0.15): 0.8 + 0.2 + 0.15 = 1.15. */
    int ptr3[] = {0, 1, 2, 4}, adj3[] = {0, 0, 0, 1};
    double p3[] = {0.4, 0.4, 0.4, 0.3};
    online_problem R = {2, 3, ptr3, adj3, p3, 0};
    assert_int_equal(online_lp_value(&R, &v, NULL), SV_OK);
    assert_true(fabs(v - 1.15) < 1e-9);
}

/* ---- closed forms ---- */

/* One offline vertex, n online neighbours of probability p: every algorithm offers u to each
 * arrival until one succeeds, so E[matched] = 1 - (1 - p)^n, and the LP value is min(1, np). */
static void test_single_offline_vertex(void **state)
{
    (void)state;
    struct { int n; double p; } cases[] = {{10, 0.2}, {3, 0.5}, {40, 0.01}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int n = cases[c].n, ptr[41], adj[40];
        double p[40];
        for (int v = 0; v < n; v++) {
            ptr[v] = v;
            adj[v] = 0;
            p[v] = cases[c].p;
        }
        ptr[n] = n;
        online_problem P = {1, n, ptr, adj, p, 1};
        online_settings s = settings(20000, 0, 2);
        online_info info;
        assert_int_equal(online_solve(&P, &s, NULL, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_MAX_ITER);
        assert_int_equal(info.trials, 20000);
        assert_true(fabs(info.lp_value - fmin(1.0, n * cases[c].p)) < 1e-9);
        double exact = 1.0 - pow(1.0 - cases[c].p, n);
        for (int a = 0; a < ONLINE_N_ALGS; a++) {
            const online_alg_stats *st = &info.alg[a];
            assert_true(st->matched_ci95 > 0 && st->matched_ci95 < 0.02);
            if (fabs(st->matched - exact) > st->matched_ci95)
                fail_msg("n=%d p=%g %s: %g +- %g, exact %g", n, cases[c].p, online_alg_name(a),
                         st->matched, st->matched_ci95, exact);
            assert_true(fabs(st->ratio * info.lp_value - st->matched) < 1e-12);
        }
    }
}

/* An all-ones complete graph with |online| <= |offline|: every arrival finds a free neighbour
 * and succeeds, so every trial matches every online vertex; the LP value is |online|. */
static void test_complete_all_ones(void **state)
{
    (void)state;
    online_gen_spec g;
    sv_params_defaults(online_gen_params, &g);
    g.offline = 8;
    g.online = 5;
    g.complete = 1;
    g.p = 1.0;
    int ptr[6], adj[40];
    double p[40];
    online_gen_fill(&g, ptr, adj, p);
    online_problem P = {8, 5, ptr, adj, p, 1};
    online_settings s = settings(100000, 1e-3, 3);
    online_info info;
    assert_int_equal(online_solve(&P, &s, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);  /* zero variance: solved at the first report
                                                       from 30 trials on */
    assert_int_equal(info.trials, 1000);
    assert_true(fabs(info.lp_value - 5.0) < 1e-9);
    for (int a = 0; a < ONLINE_N_ALGS; a++) {
        assert_true(info.alg[a].matched == 5.0);
        assert_true(info.alg[a].ratio == 1.0);
        assert_true(info.alg[a].ci95 == 0.0);
    }
}

/* ---- brute force: each algorithm's exact expectation on small fixed-order graphs ---- */

typedef struct {
    int m, n, ptr[8], adj[16];
    double p[16];
} small;

/* Matches of algorithm alg (penalty pen) when edge e succeeds iff (ok >> e) & 1, Ranking with
 * ranks rk; an independent statement of the rules of online.h. */
static int simulate(const small *G, int alg, int pen, unsigned ok, const int *rk)
{
    int avail[8], got = 0;
    double load[8];
    for (int u = 0; u < G->m; u++)
        avail[u] = 1, load[u] = 0;
    for (int v = 0; v < G->n; v++) {
        int best = -1;
        double bs = 0;
        for (int e = G->ptr[v]; e < G->ptr[v + 1]; e++) {
            int u = G->adj[e];
            if (!avail[u])
                continue;
            double sc = alg == ONLINE_ALG_GREEDY    ? G->p[e]
                        : alg == ONLINE_ALG_RANKING ? -rk[u]
                        : pen == ONLINE_PENALTY_MSVV ? G->p[e] * (1 - exp(load[u] - 1))
                        : pen == ONLINE_PENALTY_EXP  ? G->p[e] * exp(-load[u])
                                                     : -load[u];
            if (best < 0 || sc > bs)
                best = e, bs = sc;
        }
        if (best < 0)
            continue;
        load[G->adj[best]] += G->p[best];
        if ((ok >> best) & 1u) {
            avail[G->adj[best]] = 0;
            got++;
        }
    }
    return got;
}

static int next_perm(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return 0;
    int j = n - 1;
    while (a[j] <= a[i])
        j--;
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
    for (int l = i + 1, r = n - 1; l < r; l++, r--)
        t = a[l], a[l] = a[r], a[r] = t;
    return 1;
}

static double exact_expectation(const small *G, int alg, int pen)
{
    int nnz = G->ptr[G->n], rk[8], perms = 0;
    double total = 0;
    for (int u = 0; u < G->m; u++)
        rk[u] = u;
    do {
        for (unsigned ok = 0; ok < (1u << nnz); ok++) {
            double w = 1;
            for (int e = 0; e < nnz; e++)
                w *= (ok >> e) & 1u ? G->p[e] : 1 - G->p[e];
            total += w * simulate(G, alg, pen, ok, rk);
        }
        perms++;
    } while (alg == ONLINE_ALG_RANKING && next_perm(rk, G->m));
    return total / perms;
}

static void test_brute_force_small_graphs(void **state)
{
    (void)state;
    /* A: balance moves v1 off the loaded u0, greedy keeps taking u0's larger p; v2 needs u1.
     * B: three offline vertices, unequal probabilities, degrees 1 to 3. */
    small graphs[] = {
        {3, 3, {0, 1, 3, 4}, {0, 0, 1, 1}, {0.5, 0.6, 0.4, 0.7}},
        {3, 4, {0, 2, 5, 6, 8}, {0, 1, 0, 1, 2, 2, 1, 0}, {0.3, 0.9, 0.8, 0.2, 0.5, 0.6, 0.4, 0.7}},
    };
    int pens[] = {ONLINE_PENALTY_MSVV, ONLINE_PENALTY_EXP, ONLINE_PENALTY_LOAD};
    for (size_t gi = 0; gi < sizeof graphs / sizeof *graphs; gi++) {
        const small *G = &graphs[gi];
        online_problem P = {G->m, G->n, G->ptr, G->adj, G->p, 0};
        for (size_t pi = 0; pi < 3; pi++) {
            online_settings s = settings(40000, 0, 11 + pi);
            s.penalty = pens[pi];
            online_info info;
            assert_int_equal(online_solve(&P, &s, NULL, &info, NULL), SV_OK);
            for (int a = 0; a < ONLINE_N_ALGS; a++) {
                double ex = exact_expectation(G, a, pens[pi]);
                const online_alg_stats *st = &info.alg[a];
                /* 1.5 half-widths (about 3 sigma): a fixed seed either passes or not */
                if (fabs(st->matched - ex) > 1.5 * st->matched_ci95)
                    fail_msg("graph %zu penalty %zu %s: %g +- %g, exact %g", gi, pi,
                             online_alg_name(a), st->matched, st->matched_ci95, ex);
            }
        }
    }
    /* The graphs do tell the algorithms apart (else the check above would prove little). */
    assert_true(fabs(exact_expectation(&graphs[0], ONLINE_ALG_BALANCE, ONLINE_PENALTY_MSVV) -
                     exact_expectation(&graphs[0], ONLINE_ALG_GREEDY, 0)) > 0.02);
    assert_true(fabs(exact_expectation(&graphs[1], ONLINE_ALG_RANKING, 0) -
                     exact_expectation(&graphs[1], ONLINE_ALG_GREEDY, 0)) > 0.02);
}

/* ---- seeds, stops, input ---- */

static void test_seeded(void **state)
{
    (void)state;
    online_gen_spec g;
    sv_params_defaults(online_gen_params, &g);
    g.offline = 20;
    g.online = 200;
    g.degree = 3;
    g.probs = ONLINE_GEN_UNIFORM;
    g.p = 0.3;
    g.seed = 5;
    int ptr[201], adj[600];
    double p[600];
    online_gen_fill(&g, ptr, adj, p);
    for (int v = 0; v < 200; v++)
        for (int k = ptr[v]; k < ptr[v + 1]; k++) {
            assert_true(adj[k] >= 0 && adj[k] < 20 && p[k] > 0 && p[k] <= 0.3);
            if (k > ptr[v])
                assert_true(adj[k] > adj[k - 1]);
        }
    online_problem P = {20, 200, ptr, adj, p, 1};
    online_settings s = settings(500, 0, 42);
    online_info a, b, c;
    assert_int_equal(online_solve(&P, &s, NULL, &a, NULL), SV_OK);
    assert_int_equal(online_solve(&P, &s, NULL, &b, NULL), SV_OK);
    s.seed = 43;
    assert_int_equal(online_solve(&P, &s, NULL, &c, NULL), SV_OK);
    int differ = 0;
    for (int k = 0; k < ONLINE_N_ALGS; k++) {
        assert_true(a.alg[k].ratio == b.alg[k].ratio && a.alg[k].ci95 == b.alg[k].ci95);
        differ |= a.alg[k].ratio != c.alg[k].ratio;
    }
    assert_true(differ);
}

/* The triangular instance: online vertex v of group floor(v m / n) = j sees offline m-1..j. */
static void test_triangular(void **state)
{
    (void)state;
    online_gen_spec g;
    sv_params_defaults(online_gen_params, &g);
    g.graph = ONLINE_GEN_TRIANGULAR;
    g.offline = 3;
    g.online = 6;
    g.p = 1.0;
    assert_int_equal(online_gen_edges(&g), 3 + 3 + 2 + 2 + 1 + 1);
    int ptr[7], adj[12];
    double p[12];
    online_gen_fill(&g, ptr, adj, p);
    int want_ptr[] = {0, 3, 6, 8, 10, 11, 12}, want_adj[] = {2, 1, 0, 2, 1, 0, 2, 1, 2, 1, 2, 2};
    for (int i = 0; i < 7; i++)
        assert_int_equal(ptr[i], want_ptr[i]);
    for (int i = 0; i < 12; i++)
        assert_int_equal(adj[i], want_adj[i]);
    /* p = 1, the order fixed: greedy takes the first neighbour, u2 then u1 for group 0, and
     * group 1 finds none free (2 of the LP's 3); balance the same (equal loads: the first). */
    online_problem P = {3, 6, ptr, adj, p, 0};
    online_settings s = settings(100, 0, 1);
    online_info info;
    assert_int_equal(online_solve(&P, &s, NULL, &info, NULL), SV_OK);
    assert_true(fabs(info.lp_value - 3.0) < 1e-9);
    assert_true(info.alg[ONLINE_ALG_GREEDY].matched == 2.0);
    assert_true(info.alg[ONLINE_ALG_BALANCE].matched == 2.0);
}

static int stop_after(void *data)
{
    int *polls = data;
    return --*polls < 0;
}

/* A stop request is read at every trial whatever report_every is, and inside a long trial;
 * the time limit holds as well. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    /* One offline vertex, 3000 online of p = 1e-4: a trial is 9000 arrivals (3000 for each
     * algorithm), polled at the 4096th and the 8192nd. */
    int *ptr = malloc(3001 * sizeof *ptr), *adj = malloc(3000 * sizeof *adj);
    double *p = malloc(3000 * sizeof *p);
    assert_non_null(ptr);
    assert_non_null(adj);
    assert_non_null(p);
    for (int v = 0; v < 3000; v++)
        ptr[v] = v, adj[v] = 0, p[v] = 1e-4;
    ptr[3000] = 3000;
    online_problem P = {1, 3000, ptr, adj, p, 1};
    online_settings s = settings(1000000000L, 0, 1);
    s.ctl.report_every = 1000000000L;
    online_info info;
    /* The LP benchmark polls first, at each line GLPK would print (sv_glpk_run): how many
     * times is GLPK's to decide, so it is counted here. */
    int lp_left = 1000000;
    sv_monitor count = {NULL, &lp_left, stop_after};
    sv_loop LL;
    sv_loop_begin(&LL, &s.ctl, &count, NULL, NULL);
    double lpv = 0;
    assert_int_equal(online_lp_value(&P, &lpv, &LL), SV_OK);
    int lp_polls = 1000000 - lp_left;
    assert_true(lp_polls >= 1);
    /* A stop during the LP: no trial, cancelled. */
    int polls = 0;
    sv_monitor mon = {NULL, &polls, stop_after};
    assert_int_equal(online_solve(&P, &s, &mon, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.trials, 0);
    assert_true(isnan(info.lp_value));
    /* The check before trial 0 polls once; stop at the next poll, inside the trial. */
    polls = lp_polls + 1;
    assert_int_equal(online_solve(&P, &s, &mon, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.trials, 0);
    /* Three polls a trial (the check before it and two inside): the tenth, the check before
     * trial 3, stops it. */
    polls = lp_polls + 9;
    assert_int_equal(online_solve(&P, &s, &mon, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.trials, 3);
    /* The LP runs under the same clock: 1 s leaves it (milliseconds here) room for trials even
     * on a loaded machine. */
    s.ctl.time_limit_s = 1.0;
    assert_int_equal(online_solve(&P, &s, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.trials > 0 && isfinite(info.alg[0].ratio));
    free(ptr);
    free(adj);
    free(p);
}

static void test_bad_input(void **state)
{
    (void)state;
    int ptr[] = {0, 2}, adj[] = {0, 3};
    double p[] = {0.5, 0.5};
    online_problem P = {2, 1, ptr, adj, p, 1};
    online_settings s = settings(10, 0, 1);
    online_info info;
    sv_err e;
    assert_int_equal(online_solve(&P, &s, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/online/0/1");
    adj[1] = 0;
    assert_int_equal(online_solve(&P, &s, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/online/0/1");  /* u0 twice */
    adj[1] = 1;
    p[0] = 0;
    assert_int_equal(online_solve(&P, &s, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/online/0/0");
    p[0] = 0.5;
    s.penalty = 7;
    assert_int_equal(online_solve(&P, &s, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/penalty");
}

/* ---- the codec ---- */

#define GRAPH "\"offline\": 2, \"online\": [[[0, 0.5], [1, 0.25]], [[1, 1]]]"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_online;
    sv_test_codec_ok(C, "{" GRAPH "}", NULL);
    sv_test_codec_ok(C, "{" GRAPH ", \"random_order\": false}", "{\"penalty\": \"exp\"}");
    sv_test_codec_ok(C, "{\"generate\": {\"offline\": 5, \"online\": 50, \"degree\": 2}}", NULL);
    sv_test_codec_error(C, "{\"online\": [[[0, 0.5]]]}", NULL, "/problem/offline");
    sv_test_codec_error(C, "{\"offline\": 0, \"online\": [[[0, 0.5]]]}", NULL,
                        "/problem/offline");
    sv_test_codec_error(C, "{\"offline\": 2, \"online\": []}", NULL, "/problem/online");
    sv_test_codec_error(C, "{\"offline\": 2, \"online\": [[]]}", NULL, "/problem/online");
    sv_test_codec_error(C, "{\"offline\": 2, \"online\": [[[0, 0.5]], 3]}", NULL,
                        "/problem/online/1");
    sv_test_codec_error(C, "{\"offline\": 2, \"online\": [[[0, 0.5, 1]]]}", NULL,
                        "/problem/online/0/0");
    sv_test_codec_error(C, "{\"offline\": 2, \"online\": [[[2, 0.5]]]}", NULL,
                        "/problem/online/0/0/0");
    sv_test_codec_error(C, "{\"offline\": 2, \"online\": [[[1, 1.5]]]}", NULL,
                        "/problem/online/0/0/1");
    sv_test_codec_error(C, "{\"offline\": 2, \"online\": [[[1, 0.5], [1, 0.2]]]}", NULL,
                        "/problem/online/0/1");
    sv_test_codec_error(C, "{" GRAPH ", \"random_order\": 1}", NULL, "/problem/random_order");
    sv_test_codec_error(C, "{" GRAPH ", \"order\": 1}", NULL, "/problem/order");
    sv_test_codec_error(C, "{" GRAPH ", \"generate\": {}}", NULL, "/problem");
    sv_test_codec_error(C, "{\"generate\": {\"offline\": 3, \"degree\": 4}}", NULL,
                        "/problem/generate/degree");
    sv_test_codec_error(C, "{\"generate\": {\"p\": 0}}", NULL, "/problem/generate/p");
    sv_test_codec_error(C, "{\"generate\": {\"probs\": \"zipf\"}}", NULL,
                        "/problem/generate/probs");
    sv_test_codec_error(C, "{" GRAPH "}", "{\"penalty\": \"log\"}", "/params/penalty");
    sv_test_codec_error(C, "{" GRAPH "}", "{\"trials\": 3}", "/params/trials");
}

/* The hand-solved instance of test_lp_hand_solved through the codec, with p = 1 on a fixed
 * order: v0 takes u0 (greedy and balance: the first of equal scores) and v1 then finds none;
 * Ranking takes u1 for v0 half of the time. */
static void test_codec_run(void **state)
{
    (void)state;
    json_t *r = sv_test_codec_run(&sv_codec_online,
                                  "{\"offline\": 2, \"online\": [[[0, 1], [1, 1]], [[0, 1]]],"
                                  " \"random_order\": false}",
                                  "{\"max_iter\": 4000, \"tol\": 0, \"seed\": 3}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "max_iter");
    assert_true(fabs(json_number_value(json_object_get(r, "lp_value")) - 2.0) < 1e-9);
    assert_int_equal(json_integer_value(json_object_get(r, "trials")), 4000);
    assert_int_equal(json_integer_value(json_object_get(r, "edges")), 3);
    json_t *algs = json_object_get(r, "algorithms");
    double g = json_number_value(json_object_get(json_object_get(algs, "greedy"), "matched"));
    double b = json_number_value(json_object_get(json_object_get(algs, "balance"), "matched"));
    json_t *rk = json_object_get(algs, "ranking");
    double k = json_number_value(json_object_get(rk, "matched"));
    double kci = json_number_value(json_object_get(rk, "matched_ci95"));
    assert_true(g == 1.0 && b == 1.0);
    assert_true(fabs(k - 1.5) <= kci && kci < 0.05);
    assert_true(json_number_value(json_object_get(r, "objective")) == 0.5);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lp_hand_solved),
        cmocka_unit_test(test_single_offline_vertex),
        cmocka_unit_test(test_complete_all_ones),
        cmocka_unit_test(test_brute_force_small_graphs),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_triangular),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
