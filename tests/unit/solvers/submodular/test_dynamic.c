/* test_dynamic.c - submodular.dynamic (core/solvers/submodular/dynamic.c), its oracles
 * (core/models/submod.c), generator (dynamic_gen.c) and codec (api/codecs/submodular/dynamic.c).
 * Reference answers: OPT by brute force over every k-subset of the alive elements after every
 * update (n <= 15), plain greedy (argmax gain, ties to the smaller index) against the lazy
 * greedy baseline, closed-form values of hand-built instances. Everything is integer or
 * elementwise arithmetic: no BLAS path. */
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
#include "core/models/submod.h"
#include "core/solvers/submodular/dynamic.h"
#include "core/solvers/submodular/dynamic_gen.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_dynamic;

/* ---- fixtures ---- */

typedef struct {
    sv_submod_fn fn;
    int ptr[64], items[4096];
    double sim[64 * 64];
    dynamic_update up[4096];
    long n_up;
    int k;
} inst;

static void make(inst *x, int function, int n, int k, long updates, double del, uint64_t seed)
{
    dynamic_gen_spec g;
    sv_params_defaults(dynamic_gen_params, &g);
    g.function = function;
    g.n = n;
    g.universe = 30;
    g.set_size = 5;
    g.dim = 2;
    g.bandwidth = 0.2;
    g.k = k;
    g.seed = seed;
    assert_true(dynamic_gen_entries(&g) <= 4096);
    dynamic_gen_fill(&g, &x->fn, x->ptr, x->items, x->sim);
    dynamic_stream_spec st = {updates, del, seed + 100};
    int scratch[128];
    assert_true(updates <= 4096);
    dynamic_gen_stream(n, &st, x->up, scratch);
    x->n_up = updates;
    x->k = k;
}

static double value_of(const sv_submod_fn *f, const int *S, int m)
{
    double st[4096], v = 0;
    assert_true(f->universe <= 4096);
    sv_submod_clear(f, st);
    for (int i = 0; i < m; i++) {
        v += sv_submod_gain(f, st, S[i]);
        sv_submod_add(f, st, S[i]);
    }
    return v;
}

/* max f over subsets of at most k alive elements (monotone: exactly min(k, alive)) */
static double brute(const sv_submod_fn *f, const unsigned char *alive, int k)
{
    int idx[64], na = 0;
    for (int e = 0; e < f->n; e++)
        if (alive[e])
            idx[na++] = e;
    int m = k < na ? k : na;
    if (m == 0)
        return 0;
    int c[16], S[16];
    for (int i = 0; i < m; i++)
        c[i] = i;
    double best = 0;
    for (;;) {
        for (int i = 0; i < m; i++)
            S[i] = idx[c[i]];
        double v = value_of(f, S, m);
        if (v > best)
            best = v;
        int i = m - 1;
        while (i >= 0 && c[i] == na - m + i)
            i--;
        if (i < 0)
            break;
        c[i]++;
        for (int j = i + 1; j < m; j++)
            c[j] = c[j - 1] + 1;
    }
    return best;
}

/* plain greedy over the alive elements: argmax gain, ties to the smaller index, stop at 0 */
static int greedy(const sv_submod_fn *f, const unsigned char *alive, int k, int *S, double *val)
{
    double st[4096];
    unsigned char used[64] = {0};
    sv_submod_clear(f, st);
    int m = 0;
    *val = 0;
    while (m < k) {
        int b = -1;
        double bg = 0;
        for (int e = 0; e < f->n; e++)
            if (alive[e] && !used[e]) {
                double gn = sv_submod_gain(f, st, e);
                if (b < 0 || gn > bg) {
                    b = e;
                    bg = gn;
                }
            }
        if (b < 0 || !(bg > 0))
            break;
        used[b] = 1;
        S[m++] = b;
        *val += bg;
        sv_submod_add(f, st, b);
    }
    return m;
}

static void run(const inst *x, dynamic_settings *s, int *sol, double *trace, dynamic_info *info)
{
    dynamic_problem p = {&x->fn, x->k, x->n_up, x->up};
    sv_err e;
    int rc = dynamic_solve(&p, s, NULL, sol, trace, NULL, info, &e);
    if (rc != SV_OK)
        fprintf(stderr, "%s: %s\n", e.field, e.msg);
    assert_int_equal(rc, SV_OK);
}

/* ---- the oracles ---- */

static void test_oracles(void **state)
{
    (void)state;
    int ptr[] = {0, 2, 4, 5}, items[] = {0, 1, 1, 2, 3};
    double w[] = {1, 2, 3, 4};
    sv_submod_fn f = {SV_SUBMOD_COVERAGE, 3, 4, ptr, items, w, NULL};
    sv_err e;
    assert_int_equal(sv_submod_check(&f, "/problem", &e), SV_OK);
    int S[] = {0, 1};
    assert_true(value_of(&f, S, 2) == 6);  /* items 0,1,2 */
    int T[] = {1, 2};
    assert_true(value_of(&f, T, 2) == 9);
    double sim[] = {1, 0.5, 0, 0, 1, 0.25};
    sv_submod_fn g = {SV_SUBMOD_FACILITY, 2, 3, NULL, NULL, NULL, sim};
    int U[] = {0, 1};
    assert_true(fabs(value_of(&g, U, 2) - (1 + 1 + 0.25)) < 1e-15);
    int bad[] = {0, 2, 4, 5}, bitems[] = {1, 0, 1, 2, 3};
    sv_submod_fn h = {SV_SUBMOD_COVERAGE, 3, 4, bad, bitems, NULL, NULL};
    assert_int_equal(sv_submod_check(&h, "/problem", &e), SV_EINVAL);
}

/* ---- the guarantee against brute force ---- */

static void check_against_brute(int function, double eps, int k)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        inst x;
        make(&x, function, 14, k, 120, 0.4, seed);
        dynamic_settings s;
        dynamic_settings_default(&s);
        s.eps = eps;
        s.seed = seed;
        int sol[16];
        double trace[4096];
        dynamic_info info;
        run(&x, &s, sol, trace, &info);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_int_equal(info.base.iter, x.n_up);
        unsigned char alive[64] = {0};
        double worst = INFINITY;
        for (long t = 0; t < x.n_up; t++) {
            alive[x.up[t].element] = x.up[t].op == DYNAMIC_INSERT;
            double opt = brute(&x.fn, alive, k);
            if (opt > 0 && trace[t] / opt < worst)
                worst = trace[t] / opt;
            if (!(trace[t] >= (0.5 - eps) * opt - 1e-9))
                fprintf(stderr, "function %d eps %g seed %d update %ld: %g < (1/2 - eps) %g\n",
                        function, eps, (int)seed, t, trace[t], opt);
            assert_true(trace[t] >= (0.5 - eps) * opt - 1e-9);
            assert_true(trace[t] <= opt + 1e-9);
        }
        /* the solution after every update (the run stopped there by max_iter): alive,
         * distinct, at most k, of the value the trace reported */
        memset(alive, 0, sizeof alive);
        for (long t = 0; t < x.n_up; t++) {
            alive[x.up[t].element] = x.up[t].op == DYNAMIC_INSERT;
            dynamic_settings cut = s;
            cut.ctl.max_iter = t + 1;
            int ps[16];
            dynamic_info pi;
            run(&x, &cut, ps, NULL, &pi);
            assert_int_equal(pi.base.iter, t + 1);
            assert_true(pi.size <= k);
            for (int i = 0; i < pi.size; i++) {
                assert_true(alive[ps[i]]);
                for (int j = 0; j < i; j++)
                    assert_int_not_equal(ps[i], ps[j]);
            }
            assert_true(fabs(value_of(&x.fn, ps, pi.size) - trace[t]) < 1e-9);
        }
        /* the final solution: alive, distinct, at most k, of the reported value */
        assert_true(info.size <= k);
        for (int i = 0; i < info.size; i++) {
            assert_true(alive[sol[i]]);
            for (int j = 0; j < i; j++)
                assert_int_not_equal(sol[i], sol[j]);
        }
        assert_true(fabs(value_of(&x.fn, sol, info.size) - info.value) < 1e-9);
        assert_true(info.queries > 0);
        if (seed == 1)
            fprintf(stderr, "function %d eps %g k %d: worst ratio %.3f, %ld queries, %ld "
                    "rebuilds\n", function, eps, k, worst, info.queries, info.rebuilds);
    }
}

static void test_coverage_brute_force(void **state)
{
    (void)state;
    check_against_brute(SV_SUBMOD_COVERAGE, 0.1, 3);
    check_against_brute(SV_SUBMOD_COVERAGE, 0.25, 4);
}

static void test_facility_brute_force(void **state)
{
    (void)state;
    check_against_brute(SV_SUBMOD_FACILITY, 0.1, 3);
    check_against_brute(SV_SUBMOD_FACILITY, 0.25, 2);
}

/* ---- deleting the solution ---- */

/* All 14 elements inserted, then the current solution's elements deleted one after another
 * (the adversary the laziness must survive, here told the solution): after each deletion the
 * solution holds no deleted element and keeps (1/2 - eps) OPT. */
static void test_delete_solution_elements(void **state)
{
    (void)state;
    for (int function = 0; function < 2; function++) {
        inst x;
        make(&x, function, 14, 3, 1, 0, 3);
        x.n_up = 0;
        for (int e = 0; e < 14; e++)
            x.up[x.n_up++] = (dynamic_update){DYNAMIC_INSERT, e};
        unsigned char alive[64];
        memset(alive, 1, 14);
        dynamic_settings s;
        dynamic_settings_default(&s);
        s.eps = 0.2;
        int deleted = 0;
        while (deleted < 11) {
            int sol[16];
            dynamic_info info;
            run(&x, &s, sol, NULL, &info);
            double opt = brute(&x.fn, alive, 3);
            assert_true(info.value >= (0.5 - s.eps) * opt - 1e-9);
            for (int i = 0; i < info.size; i++)
                assert_true(alive[sol[i]]);
            assert_true(info.size >= 1);
            x.up[x.n_up++] = (dynamic_update){DYNAMIC_DELETE, sol[0]};
            alive[sol[0]] = 0;
            deleted++;
        }
    }
}

/* ---- the baseline ---- */

/* lazy greedy after every update is plain greedy on the alive set: the same elements in the
 * same order, the same value. */
static void test_lazy_equals_greedy(void **state)
{
    (void)state;
    for (int function = 0; function < 2; function++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            inst x;
            make(&x, function, 15, 4, 60, 0.35, seed);
            dynamic_settings s;
            dynamic_settings_default(&s);
            s.algorithm = DYNAMIC_ALG_LAZY_GREEDY;
            long total = x.n_up;
            unsigned char alive[64] = {0};
            for (long t = 1; t <= total; t++) {
                alive[x.up[t - 1].element] = x.up[t - 1].op == DYNAMIC_INSERT;
                s.ctl.max_iter = t;
                int sol[16], gs[16];
                dynamic_info info;
                run(&x, &s, sol, NULL, &info);
                assert_int_equal(info.base.iter, t);
                double gv;
                int gm = greedy(&x.fn, alive, 4, gs, &gv);
                assert_int_equal(info.size, gm);
                assert_memory_equal(sol, gs, sizeof(int) * (size_t)gm);
                assert_true(info.value == gv);
            }
        }
}

/* The paper's point, in oracle queries (deterministic for fixed seeds): from n = 1000 to 4000
 * on streams of 2n updates (30% deletions, so about 0.4 n elements alive on average), the
 * dynamic structure's queries per update stay about flat while lazy greedy recomputed per
 * update pays for every alive element; at n = 4000 the dynamic structure asks fewer. Its
 * values stay within (1/2 - eps)(1 - 1/e) of greedy's (greedy >= (1 - 1/e) OPT). */
static void queries_per_update(int n, double *dyn, double *lazy)
{
    dynamic_gen_spec g;
    sv_params_defaults(dynamic_gen_params, &g);
    g.n = n;
    g.universe = 300;
    g.set_size = 12;
    g.k = 10;
    g.seed = 4;
    long U = 2L * n;
    int *ptr = malloc(sizeof(int) * (size_t)(n + 1)), *items = malloc(sizeof(int) * 12 * (size_t)n);
    int *scratch = malloc(sizeof(int) * 2 * (size_t)n);
    dynamic_update *up = malloc(sizeof *up * (size_t)U);
    double *tv_dyn = malloc(sizeof(double) * (size_t)U), *tv_lazy = malloc(sizeof(double) * (size_t)U);
    assert_non_null(ptr && items && scratch && up && tv_dyn && tv_lazy);
    sv_submod_fn f;
    dynamic_gen_fill(&g, &f, ptr, items, NULL);
    dynamic_stream_spec st = {U, 0.3, 9};
    dynamic_gen_stream(n, &st, up, scratch);
    dynamic_problem p = {&f, 10, U, up};
    int sol[10];
    dynamic_settings s;
    dynamic_settings_default(&s);
    dynamic_info a, b;
    assert_int_equal(dynamic_solve(&p, &s, NULL, sol, tv_dyn, NULL, &a, NULL), SV_OK);
    s.algorithm = DYNAMIC_ALG_LAZY_GREEDY;
    assert_int_equal(dynamic_solve(&p, &s, NULL, sol, tv_lazy, NULL, &b, NULL), SV_OK);
    for (long t = 0; t < U; t++)
        assert_true(tv_dyn[t] >= (0.5 - s.eps) * (1 - exp(-1)) * tv_lazy[t] - 1e-9);
    *dyn = (double)a.queries / U;
    *lazy = (double)b.queries / U;
    fprintf(stderr, "n %d: queries per update: dynamic %.0f (%ld rebuilds), lazy greedy %.0f\n",
            n, *dyn, a.rebuilds, *lazy);
    free(ptr);
    free(items);
    free(scratch);
    free(up);
    free(tv_dyn);
    free(tv_lazy);
}

static void test_queries_flat_in_n(void **state)
{
    (void)state;
    double d1, l1, d4, l4;
    queries_per_update(1000, &d1, &l1);
    queries_per_update(4000, &d4, &l4);
    assert_true(d4 < 1.5 * d1);
    assert_true(l4 > 2.5 * l1);
    assert_true(d4 < l4);
}

/* ---- seeds, stops ---- */

static void test_seeded(void **state)
{
    (void)state;
    inst x;
    make(&x, SV_SUBMOD_FACILITY, 15, 3, 100, 0.3, 5);
    dynamic_settings s;
    dynamic_settings_default(&s);
    int s1[16], s2[16];
    double t1[4096], t2[4096];
    dynamic_info a, b;
    run(&x, &s, s1, t1, &a);
    run(&x, &s, s2, t2, &b);
    assert_int_equal(a.queries, b.queries);
    assert_memory_equal(t1, t2, sizeof(double) * (size_t)x.n_up);
    assert_memory_equal(s1, s2, sizeof(int) * (size_t)a.size);
}

static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    static dynamic_update up[2000000];
    static int ptr[2001], items[2000 * 10];
    static int scratch[4000];
    dynamic_gen_spec g;
    sv_params_defaults(dynamic_gen_params, &g);
    g.n = 2000;
    g.universe = 3000;
    g.set_size = 10;
    sv_submod_fn f;
    dynamic_gen_fill(&g, &f, ptr, items, NULL);
    dynamic_stream_spec st = {2000000, 0.3, 1};
    dynamic_gen_stream(2000, &st, up, scratch);
    dynamic_problem p = {&f, 10, 2000000, up};
    int sol[10];
    for (int alg = 0; alg < 2; alg++) {
        dynamic_settings s;
        dynamic_settings_default(&s);
        s.algorithm = alg;
        s.ctl.report_every = 1000000000L;
        dynamic_info info;
        int polls = 0;
        sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
        assert_int_equal(dynamic_solve(&p, &s, &mon, sol, NULL, NULL, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_CANCELLED);
        assert_true(info.base.iter < 1000);
        s.ctl.time_limit_s = 0.2;
        assert_int_equal(dynamic_solve(&p, &s, NULL, sol, NULL, NULL, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_TIME_LIMIT);
        assert_true(info.base.iter < 2000000);
        assert_true(isfinite(info.value) && info.value >= 0);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    inst x;
    make(&x, SV_SUBMOD_COVERAGE, 5, 2, 3, 0, 1);
    dynamic_settings s;
    dynamic_settings_default(&s);
    int sol[4];
    sv_err e;
    dynamic_info info;
    x.up[0] = (dynamic_update){DYNAMIC_INSERT, 1};
    x.up[1] = (dynamic_update){DYNAMIC_INSERT, 1};
    dynamic_problem p = {&x.fn, 2, 2, x.up};
    assert_int_equal(dynamic_solve(&p, &s, NULL, sol, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/stream/1");
    x.up[1] = (dynamic_update){DYNAMIC_DELETE, 2};
    assert_int_equal(dynamic_solve(&p, &s, NULL, sol, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/stream/1");
    p.k = 0;
    assert_int_equal(dynamic_solve(&p, &s, NULL, sol, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/k");
    p.k = 2;
    s.eps = 0.7;
    assert_int_equal(dynamic_solve(&p, &s, NULL, sol, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/eps");
}

/* ---- the codec ---- */

#define SETS "\"sets\": [[0, 1], [1, 2], [3]], \"k\": 2"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_dynamic;
    sv_test_codec_ok(C, "{" SETS ", \"stream\": [{\"op\": \"insert\", \"element\": 0}]}", NULL);
    sv_test_codec_ok(C, "{" SETS ", \"random_stream\": {\"updates\": 10}}", NULL);
    sv_test_codec_ok(C, "{\"generate\": {\"n\": 20, \"k\": 3, \"updates\": 50}}", NULL);
    sv_test_codec_error(C, "{" SETS "}", NULL, "/problem");
    sv_test_codec_error(C, "{" SETS ", \"stream\": [], \"random_stream\": {}}", NULL,
                        "/problem/random_stream");
    sv_test_codec_error(C, "{" SETS ", \"stream\": [{\"op\": \"add\", \"element\": 0}]}", NULL,
                        "/problem/stream/0/op");
    sv_test_codec_error(C, "{" SETS ", \"stream\": [{\"op\": \"insert\", \"element\": 3}]}",
                        NULL, "/problem/stream/0/element");
    sv_test_codec_error(C, "{" SETS ", \"stream\": [{\"op\": \"insert\", \"element\": 0,"
                        " \"x\": 1}]}", NULL, "/problem/stream/0/x");
    sv_test_codec_error(C, "{" SETS ", \"stream\": [{\"op\": \"insert\", \"element\": 0},"
                        " {\"op\": \"insert\", \"element\": 0}]}", NULL, "/problem/stream/1");
    sv_test_codec_error(C, "{" SETS ", \"stream\": [{\"op\": \"delete\", \"element\": 1}]}",
                        NULL, "/problem/stream/0");
    sv_test_codec_error(C, "{\"sets\": [[0, 1], [2, 2]], \"k\": 1, \"stream\": []}", NULL,
                        "/problem/sets/1");
    sv_test_codec_error(C, "{\"sets\": [[0, -1]], \"k\": 1, \"stream\": []}", NULL,
                        "/problem/sets/0/1");
    sv_test_codec_error(C, "{" SETS ", \"universe\": 3, \"stream\": []}", NULL,
                        "/problem/universe");
    sv_test_codec_error(C, "{" SETS ", \"weights\": [1, 1, -1, 1], \"stream\": []}", NULL,
                        "/problem/weights/2");
    sv_test_codec_error(C, "{\"sets\": [[0]], \"k\": 0, \"stream\": []}", NULL, "/problem/k");
    sv_test_codec_error(C, "{\"similarity\": [[1, 0], [0]], \"k\": 1, \"stream\": []}", NULL,
                        "/problem/similarity/1");
    sv_test_codec_error(C, "{\"similarity\": [[1, -0.5]], \"k\": 1, \"stream\": []}", NULL,
                        "/problem/similarity/0/1");
    sv_test_codec_error(C, "{" SETS ", \"random_stream\": {\"updates\": 0}}", NULL,
                        "/problem/random_stream/updates");
    sv_test_codec_error(C, "{" SETS ", \"random_stream\": {\"updatez\": 5}}", NULL,
                        "/problem/random_stream/updatez");
    sv_test_codec_error(C, "{\"generate\": {\"set_size\": 50, \"universe\": 10}}", NULL,
                        "/problem/generate/set_size");
    sv_test_codec_error(C, "{\"generate\": {\"function\": \"cut\"}}", NULL,
                        "/problem/generate/function");
    sv_test_codec_error(C, "{" SETS ", \"stream\": []}", "{\"algorithm\": \"greedy\"}",
                        "/params/algorithm");
    sv_test_codec_error(C, "{" SETS ", \"stream\": []}", "{\"eps\": 0}", "/params/eps");
    sv_test_codec_error(C, "{" SETS ", \"stream\": [], \"sizes\": 1}", NULL, "/problem/sizes");
}

/* A hand-solved coverage stream: sets {0,1}, {1,2}, {3}, weights 1; insert all three, delete
 * set 0. OPT with k = 2 after each update: 2, 3, 4, 3; greedy and the dynamic structure (with
 * eps this small every level is rebuilt at every touch: exact threshold greedy) reach it on
 * the last update: {1, 2} of value 3. */
static void test_codec_run(void **state)
{
    (void)state;
    const char *problem = "{" SETS ", \"stream\": [{\"op\": \"insert\", \"element\": 0},"
                          " {\"op\": \"insert\", \"element\": 1}, {\"op\": \"insert\","
                          " \"element\": 2}, {\"op\": \"delete\", \"element\": 0}]}";
    for (int alg = 0; alg < 2; alg++) {
        json_t *r = sv_test_codec_run(&sv_codec_dynamic, problem,
                                      alg ? "{\"algorithm\": \"lazy_greedy\"}" : "{\"eps\": 0.05}",
                                      NULL);
        assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
        assert_true(json_number_value(json_object_get(r, "value")) == 3);
        assert_true(json_number_value(json_object_get(r, "objective")) == 3);
        assert_int_equal(json_integer_value(json_object_get(r, "updates")), 4);
        assert_int_equal(json_integer_value(json_object_get(r, "alive")), 2);
        json_t *sol = json_object_get(r, "solution");
        assert_int_equal(json_array_size(sol), 2);
        long a = json_integer_value(json_array_get(sol, 0)),
             b = json_integer_value(json_array_get(sol, 1));
        assert_true((a == 1 && b == 2) || (a == 2 && b == 1));
        assert_true(json_integer_value(json_object_get(r, "queries")) > 0);
        json_decref(r);
    }
    /* facility location, two customers: singletons 1.5, 1.5, 1.2; greedy takes 0 (the smaller
     * index of the tie), then 1 (+0.5, against +0.1 for 2): 2.0 */
    json_t *r = sv_test_codec_run(&sv_codec_dynamic,
                                  "{\"similarity\": [[1, 0.5], [0.5, 1], [0.6, 0.6]], \"k\": 2,"
                                  " \"random_stream\": {\"updates\": 3, \"delete_prob\": 0}}",
                                  "{\"algorithm\": \"lazy_greedy\"}", NULL);
    assert_true(fabs(json_number_value(json_object_get(r, "value")) - 2.0) < 1e-12);
    json_decref(r);
    /* weights: item 3 weighs 10, so with k = 1 the set {3} wins once it is in */
    r = sv_test_codec_run(&sv_codec_dynamic,
                          "{\"sets\": [[1, 0], [2, 1], [3]], \"weights\": [1, 1, 1, 10], \"k\": 1,"
                          " \"stream\": [{\"op\": \"insert\", \"element\": 0},"
                          " {\"op\": \"insert\", \"element\": 2}]}", "{\"eps\": 0.05}", NULL);
    assert_true(json_number_value(json_object_get(r, "value")) == 10);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(r, "solution"), 0)), 2);
    json_decref(r);
    /* a generated facility instance runs to the end of its stream, k respected, and the two
     * algorithms answer for the same alive set */
    const char *gen = "{\"generate\": {\"function\": \"facility\", \"n\": 40, \"k\": 4,"
                      " \"updates\": 120, \"seed\": 3}}";
    json_t *d = sv_test_codec_run(&sv_codec_dynamic, gen, NULL, NULL);
    json_t *l = sv_test_codec_run(&sv_codec_dynamic, gen, "{\"algorithm\": \"lazy_greedy\"}", NULL);
    assert_string_equal(json_string_value(json_object_get(d, "status")), "solved");
    assert_int_equal(json_integer_value(json_object_get(d, "updates")), 120);
    assert_true(json_integer_value(json_object_get(d, "size")) <= 4);
    assert_int_equal(json_integer_value(json_object_get(d, "alive")),
                     json_integer_value(json_object_get(l, "alive")));
    double vd = json_number_value(json_object_get(d, "value")),
           vl = json_number_value(json_object_get(l, "value"));
    assert_true(vd > 0 && vd >= (0.5 - 0.1) * (1 - exp(-1)) * vl);
    json_decref(d);
    json_decref(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracles),
        cmocka_unit_test(test_coverage_brute_force),
        cmocka_unit_test(test_facility_brute_force),
        cmocka_unit_test(test_delete_solution_elements),
        cmocka_unit_test(test_lazy_equals_greedy),
        cmocka_unit_test(test_queries_flat_in_n),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
