/* test_mec.c - the greedy coupling and the greedy EBIM encoder (core/solvers/coupling/mec.c),
 * their generator (mec_gen.c) and the coupling.mec codec. Reference answers: the minimum
 * entropy over every coupling on a grid (the transportation polytope's vertices are grid
 * points, and the entropy, concave, is least at a vertex), closed cases (p = q gives H(p);
 * uniform marginals), every deterministic encoder of a small p_X (set partitions), and the
 * guarantees: greedy MEC within log2(e)/e bits of the optimum for two marginals (Compton,
 * Katz, Qi, Greenewald, Kocaoglu 2023), EBIM within h(p_2) of the rate. No BLAS is involved. */
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
#include "core/solvers/coupling/mec.h"
#include "core/solvers/coupling/mec_gen.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_mec;

static double eta(double x)
{
    return x > 0 ? -x * log2(x) : 0.0;
}

/* Runs the greedy on k marginals; the coupling is returned (free idx and mass). */
static mec_coupling run_mec(int k, const int *n, const double *const *p, mec_info *info)
{
    mec_problem P = {k, n, p};
    mec_coupling c = {mec_max_cells(&P), NULL, NULL};
    c.idx = malloc((size_t)c.cap * (size_t)k * sizeof *c.idx);
    c.mass = malloc((size_t)c.cap * sizeof *c.mass);
    mec_settings s;
    mec_settings_default(&s);
    sv_err e;
    assert_int_equal(mec_solve(&P, &s, NULL, &c, info, &e), SV_OK);
    assert_int_equal(info->base.status, SV_SOLVED);
    return c;
}

/* Every marginal of the coupling equals its input (normalised) to 1e-12. */
static void assert_marginals_exact(int k, const int *n, const double *const *p,
                                   const mec_coupling *c, const mec_info *info)
{
    double h = 0;
    for (long t = 0; t < info->cells; t++)
        h += eta(c->mass[t]);
    assert_true(fabs(h - info->joint_entropy) < 1e-9);
    for (int i = 0; i < k; i++) {
        double *s = calloc((size_t)n[i], sizeof *s), tot = 0;
        for (int j = 0; j < n[i]; j++)
            tot += p[i][j];
        for (long t = 0; t < info->cells; t++)
            s[c->idx[t * k + i]] += c->mass[t];
        for (int j = 0; j < n[i]; j++)
            assert_true(fabs(s[j] - p[i][j] / tot) <= 1e-12);
        free(s);
    }
}

/* ---- MEC ---- */

static void test_marginals_exact(void **state)
{
    (void)state;
    int sizes[][3] = {{200, 300, 0}, {1000, 7, 0}, {50, 60, 70}, {1, 40, 0}};
    for (int dist = 0; dist < 2; dist++)
        for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
            int k = sizes[t][2] ? 3 : 2;
            double *x[3];
            sv_rng r;
            sv_rng_seed(&r, 7 + t);
            for (int i = 0; i < k; i++) {
                x[i] = malloc((size_t)sizes[t][i] * sizeof *x[i]);
                mec_gen_marginal(dist, 0.7, sizes[t][i], &r, x[i]);
            }
            mec_info info;
            mec_coupling c = run_mec(k, sizes[t], (const double *const *)x, &info);
            assert_marginals_exact(k, sizes[t], (const double *const *)x, &c, &info);
            long bound = 0;
            for (int i = 0; i < k; i++)
                bound += sizes[t][i];
            assert_true(info.cells <= bound - k + 1);
            assert_true(info.joint_entropy >= info.lower_bound - 1e-12);
            assert_true(fabs(info.gap - (info.joint_entropy - info.lower_bound)) < 1e-15);
            assert_true(info.unplaced < 1e-12);
            for (int i = 0; i < k; i++) {
                assert_true(fabs(info.marginal_entropy[i] - mec_entropy(x[i], sizes[t][i])) <
                            1e-9);
                free(x[i]);
            }
            free(c.idx);
            free(c.mass);
        }
}

/* Least entropy over every integer matrix with row sums a and column sums b, divided by G. */
static double brute(const int *a, int n, const int *b, int m, int G, int *cell, int at,
                    int *rowleft, int *colleft)
{
    if (at == n * m) {
        for (int j = 0; j < m; j++)
            if (colleft[j])
                return INFINITY;
        double h = 0;
        for (int t = 0; t < n * m; t++)
            h += eta((double)cell[t] / G);
        return h;
    }
    int i = at / m, j = at % m;
    int lo = j == m - 1 ? rowleft[i] : 0;
    int hi = rowleft[i] < colleft[j] ? rowleft[i] : colleft[j];
    double best = INFINITY;
    for (int v = lo; v <= hi; v++) {
        cell[at] = v;
        rowleft[i] -= v;
        colleft[j] -= v;
        double h = brute(a, n, b, m, G, cell, at + 1, rowleft, colleft);
        if (h < best)
            best = h;
        rowleft[i] += v;
        colleft[j] += v;
    }
    (void)a;
    (void)b;
    return best;
}

/* All compositions of G into n parts (zeros allowed), n <= 3, into out; returns the count. */
static int compositions(int G, int n, int out[][3])
{
    int c = 0;
    for (int x = 0; x <= G; x++)
        for (int y = 0; y <= (n >= 2 ? G - x : 0); y++) {
            int z = G - x - y;
            if (n == 2 && z != 0)
                continue;
            if (n == 2) {
                out[c][0] = x;
                out[c][1] = y;
            } else {
                out[c][0] = x;
                out[c][1] = y;
                out[c][2] = z;
            }
            c++;
        }
    return c;
}

static void test_brute_force_grid(void **state)
{
    (void)state;
    static int comp2[64][3], comp3[128][3];
    const double slack = log2(exp(1.0)) / exp(1.0);  /* 0.5307 bits */
    double worst = 0;
    int cases = 0, optimal = 0;
    for (int G = 6; G <= 8; G += 2) {
        int n2 = compositions(G, 2, comp2), n3 = compositions(G, 3, comp3);
        for (int na = 2; na <= 3; na++)
            for (int nb = 2; nb <= 3; nb++) {
                int ca = na == 2 ? n2 : n3, cb = nb == 2 ? n2 : n3;
                for (int u = 0; u < ca; u++)
                    for (int v = 0; v < cb; v++) {
                        const int *a = na == 2 ? comp2[u] : comp3[u];
                        const int *b = nb == 2 ? comp2[v] : comp3[v];
                        double pa[3], pb[3];
                        for (int i = 0; i < na; i++)
                            pa[i] = (double)a[i] / G;
                        for (int j = 0; j < nb; j++)
                            pb[j] = (double)b[j] / G;
                        int cell[9], rl[3], cl[3];
                        memcpy(rl, a, sizeof rl);
                        memcpy(cl, b, sizeof cl);
                        double opt = brute(a, na, b, nb, G, cell, 0, rl, cl);
                        int n[2] = {na, nb};
                        const double *p[2] = {pa, pb};
                        mec_info info;
                        mec_coupling c = run_mec(2, n, p, &info);
                        assert_marginals_exact(2, n, p, &c, &info);
                        free(c.idx);
                        free(c.mass);
                        assert_true(info.joint_entropy >= opt - 1e-12);
                        assert_true(info.joint_entropy <= opt + slack + 1e-12);
                        assert_true(opt >= info.lower_bound - 1e-12);
                        if (info.joint_entropy - opt > worst)
                            worst = info.joint_entropy - opt;
                        optimal += info.joint_entropy <= opt + 1e-12;
                        cases++;
                    }
            }
    }
    assert_true(cases > 1000);
    /* on grids this coarse the greedy is optimal (measured: in every case) */
    assert_true(optimal > cases * 9 / 10);
    print_message("brute force: %d cases, greedy optimal in %d, worst excess %.4f bits\n", cases,
                  optimal, worst);
}

static void test_closed_cases(void **state)
{
    (void)state;
    /* p = q: the diagonal, H(p) exactly, for two and three copies */
    double z[50];
    sv_rng r;
    sv_rng_seed(&r, 3);
    mec_gen_marginal(MEC_GEN_ZIPF, 1.1, 50, &r, z);
    int n[3] = {50, 50, 50};
    const double *p[3] = {z, z, z};
    for (int k = 2; k <= 3; k++) {
        mec_info info;
        mec_coupling c = run_mec(k, n, p, &info);
        assert_int_equal(info.cells, 50);
        assert_true(fabs(info.joint_entropy - mec_entropy(z, 50)) < 1e-12);
        assert_true(fabs(info.gap) < 1e-12);
        for (long t = 0; t < info.cells; t++)
            for (int i = 1; i < k; i++)
                assert_int_equal(c.idx[t * k + i], c.idx[t * k]);
        free(c.idx);
        free(c.mass);
    }
    /* uniform 8 with uniform 4: each quarter splits into two eighths, H = 3 = max */
    double u8[8], u4[4], u3[3] = {1 / 3.0, 1 / 3.0, 1 / 3.0}, u2[2] = {0.5, 0.5};
    for (int i = 0; i < 8; i++)
        u8[i] = 0.125;
    for (int i = 0; i < 4; i++)
        u4[i] = 0.25;
    int n84[2] = {8, 4}, n32[2] = {3, 2};
    const double *p84[2] = {u8, u4}, *p32[2] = {u3, u2};
    mec_info info;
    mec_coupling c = run_mec(2, n84, p84, &info);
    assert_true(fabs(info.joint_entropy - 3.0) < 1e-12);
    assert_int_equal(info.cells, 8);
    free(c.idx);
    free(c.mass);
    /* uniform 3 with uniform 2: cells 1/3, 1/3, 1/6, 1/6 (four cells are needed at least, and
     * this is the least entropy with four) */
    c = run_mec(2, n32, p32, &info);
    assert_int_equal(info.cells, 4);
    assert_true(fabs(info.joint_entropy - (2 * eta(1 / 3.0) + 2 * eta(1 / 6.0))) < 1e-12);
    assert_true(fabs(info.lower_bound - log2(3.0)) < 1e-12);
    free(c.idx);
    free(c.mass);
    /* identity of a point mass: one cell */
    double one[1] = {1.0}, two[2] = {0.0, 1.0};
    int n12[2] = {1, 2};
    const double *p12[2] = {one, two};
    c = run_mec(2, n12, p12, &info);
    assert_int_equal(info.cells, 1);
    assert_int_equal(c.idx[1], 1);
    assert_true(info.joint_entropy == 0.0);
    free(c.idx);
    free(c.mass);
}

/* ---- EBIM ---- */

/* The best deterministic encoder's H(T) <= R over every set partition of n <= 8 values. */
static double best_partition(const double *p, int n, double R, int at, double *col, int used)
{
    if (at == n) {
        double h = mec_entropy(col, used);
        return h <= R + 1e-12 ? h : -1.0;
    }
    double best = -1.0;
    for (int c = 0; c <= used && c < n; c++) {
        col[c] += p[at];
        double h = best_partition(p, n, R, at + 1, col, c == used ? used + 1 : used);
        if (h > best)
            best = h;
        col[c] -= p[at];
    }
    return best;
}

static void ebim(const double *p, int n, double R, int refine, int *code, ebim_info *info)
{
    mec_settings s;
    mec_settings_default(&s);
    s.refine_last = refine;
    ebim_problem P = {p, n, R};
    sv_err e;
    assert_int_equal(ebim_solve(&P, &s, NULL, code, info, &e), SV_OK);
    assert_int_equal(info->base.status, SV_SOLVED);
}

static void test_ebim_guarantee_and_brute_force(void **state)
{
    (void)state;
    int trials = 0, matched = 0;
    for (int n = 2; n <= 7; n++)
        for (uint64_t seed = 1; seed <= 6; seed++) {
            double p[8], col[8];
            sv_rng r;
            sv_rng_seed(&r, seed * 31 + (uint64_t)n);
            mec_gen_marginal(seed % 2 ? MEC_GEN_DIRICHLET : MEC_GEN_ZIPF, 0.8, n, &r, p);
            double hx = mec_entropy(p, n);
            for (int q = 0; q <= 10; q++) {
                double R = hx * q / 8.0;  /* up to 1.25 H(X) */
                int code[8], code0[8];
                ebim_info info, plain;
                ebim(p, n, R, 1, code, &info);
                ebim(p, n, R, 0, code0, &plain);
                /* the reported H(T) is the encoder's */
                memset(col, 0, sizeof col);
                for (int i = 0; i < n; i++) {
                    assert_true(code[i] >= 0 && code[i] < info.codes);
                    col[code[i]] += p[i];
                }
                assert_true(fabs(mec_entropy(col, info.codes) - info.h_t) < 1e-12);
                assert_true(info.mi == info.h_t);
                assert_true(info.h_t <= R + 1e-12);
                assert_true(fabs(info.h_x - hx) < 1e-12);
                /* the paper's guarantee, against the rate (I* <= min(R, H(X))) */
                assert_true(info.h_t >= fmin(R, hx) - info.bound - 1e-12);
                assert_true(plain.h_t >= fmin(R, hx) - plain.bound - 1e-12);
                assert_true(info.h_t >= plain.h_t - 1e-12);
                double best = best_partition(p, n, R, 0, (memset(col, 0, sizeof col), col), 0);
                assert_true(info.h_t <= best + 1e-12);
                matched += info.h_t >= best - 1e-12;
                if (R > hx + 1e-9) {
                    assert_int_equal(info.codes, n);
                    assert_int_equal(info.base.iter, 0);
                }
                trials++;
            }
        }
    print_message("ebim: %d cases, the best deterministic encoder found in %d\n", trials,
                  matched);
    assert_true(trials == 6 * 6 * 11);
}

static void test_ebim_closed_cases(void **state)
{
    (void)state;
    double u4[4] = {0.25, 0.25, 0.25, 0.25};
    int code[4];
    ebim_info info;
    /* the plain chain: {1/2,1/4,1/4} (1.5 bits), then {3/4,1/4} (0.811) */
    ebim(u4, 4, 1.0, 0, code, &info);
    assert_true(fabs(info.h_t - (eta(0.75) + eta(0.25))) < 1e-12);
    assert_int_equal(info.base.iter, 2);
    assert_true(fabs(info.bound - 1.0 * (eta(0.25) + eta(0.75))) < 1e-12);
    /* refined: the second merge pairs the last two quarters: {1/2, 1/2}, exactly 1 bit */
    ebim(u4, 4, 1.0, 1, code, &info);
    assert_true(fabs(info.h_t - 1.0) < 1e-12);
    assert_int_equal(info.codes, 2);
    assert_int_equal(code[0], code[3]);
    assert_int_equal(code[1], code[2]);
    assert_true(code[0] != code[1]);
    /* R = 0: everything in one code */
    ebim(u4, 4, 0.0, 1, code, &info);
    assert_true(info.h_t == 0.0 && info.codes == 1);
    /* a zero mass rides along */
    double pz[3] = {0.5, 0.0, 0.5};
    ebim(pz, 3, 5.0, 1, code, &info);
    assert_true(fabs(info.h_t - 1.0) < 1e-12);
    assert_int_equal(info.codes, 2);
}

/* ---- progress ---- */

typedef struct {
    int reports;
    double last, first;
    int monotone;  /* +1: never fell; -1: never rose */
    double entropy_metric;
} trace;

static int record(const sv_progress *p, void *data)
{
    trace *t = data;
    if (t->reports == 0)
        t->first = p->obj;
    else if ((t->monotone > 0 && p->obj < t->last - 1e-12) ||
             (t->monotone < 0 && p->obj > t->last + 1e-12))
        t->monotone = 0;
    t->last = p->obj;
    for (int i = 0; i < p->n_metrics; i++)
        if (strcmp(p->metrics[i].name, "entropy") == 0)
            t->entropy_metric = p->metrics[i].value;
    t->reports++;
    return 0;
}

/* MEC reports the partial coupling's entropy, growing to H; EBIM reports H(T) = I(X;T),
 * falling from H(X) to at most R. */
static void test_progress(void **state)
{
    (void)state;
    const int n = 3000;
    double a[3000], b[3000];
    sv_rng r;
    sv_rng_seed(&r, 5);
    mec_gen_marginal(MEC_GEN_DIRICHLET, 1.0, n, &r, a);
    mec_gen_marginal(MEC_GEN_DIRICHLET, 1.0, n, &r, b);
    int ns[2] = {n, n};
    const double *p[2] = {a, b};
    mec_problem P = {2, ns, p};
    static int idx[2 * 6000];
    static double mass[6000];
    mec_coupling c = {6000, idx, mass};
    mec_settings s;
    mec_settings_default(&s);
    s.ctl.report_every = 100;
    trace t = {0, 0, 0, 1, NAN};
    sv_monitor mon = {record, &t, NULL};
    mec_info info;
    assert_int_equal(mec_solve(&P, &s, &mon, &c, &info, NULL), SV_OK);
    assert_true(t.reports >= 50);
    assert_true(t.first == 0.0 && t.monotone == 1);
    assert_true(t.last == info.joint_entropy && t.entropy_metric == info.joint_entropy);

    static int code[3000];
    ebim_problem E = {a, n, 4.0};
    ebim_info ei;
    trace u = {0, 0, 0, -1, NAN};
    mon.data = &u;
    s.ctl.report_every = 10;
    assert_int_equal(ebim_solve(&E, &s, &mon, code, &ei, NULL), SV_OK);
    assert_true(u.reports >= 20);
    assert_true(fabs(u.first - ei.h_x) < 1e-9 && u.monotone == -1);
    assert_true(fabs(u.last - ei.mi) < 1e-9 && u.last <= 4.0 + 1e-12);
}

/* ---- control ---- */

static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    const int n = 2000000;
    double *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    sv_rng r;
    sv_rng_seed(&r, 1);
    mec_gen_marginal(MEC_GEN_ZIPF, 0.5, n, &r, a);
    mec_gen_marginal(MEC_GEN_ZIPF, 0.6, n, &r, b);
    int ns[2] = {n, n};
    const double *p[2] = {a, b};
    mec_problem P = {2, ns, p};
    mec_coupling c = {mec_max_cells(&P), malloc((size_t)2 * 2 * n * sizeof(int)),
                      malloc((size_t)2 * n * sizeof(double))};
    mec_settings s;
    mec_settings_default(&s);
    s.ctl.report_every = 1000000000L;
    mec_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    assert_int_equal(mec_solve(&P, &s, &mon, &c, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 1000);
    s.ctl.time_limit_s = 0.02;
    assert_int_equal(mec_solve(&P, &s, NULL, &c, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.cells > 0 && info.cells < 2 * n);
    /* max_iter: exactly that many cells */
    s.ctl.time_limit_s = 0;
    s.ctl.max_iter = 10;
    assert_int_equal(mec_solve(&P, &s, NULL, &c, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_int_equal(info.cells, 10);
    /* EBIM cancelled too */
    mec_settings_default(&s);
    s.ctl.report_every = 1000000000L;
    polls = 0;
    int *code = malloc((size_t)n * sizeof *code);
    ebim_problem E = {a, n, 0.0};
    ebim_info ei;
    assert_int_equal(ebim_solve(&E, &s, &mon, code, &ei, NULL), SV_OK);
    assert_int_equal(ei.base.status, SV_CANCELLED);
    assert_true(ei.base.iter < 1000);
    free(code);
    free(c.idx);
    free(c.mass);
    free(a);
    free(b);
}

static void test_bad_input(void **state)
{
    (void)state;
    double good[2] = {0.5, 0.5}, bad[2] = {0.5, 0.6}, neg[3] = {0.5, 0.6, -0.1};
    int n[2] = {2, 2}, c[4];
    double mass[4];
    mec_coupling cp = {4, c, mass};
    mec_settings s;
    mec_settings_default(&s);
    sv_err e;
    mec_info info;
    const double *p1[2] = {good, bad};
    mec_problem P = {2, n, p1};
    assert_int_equal(mec_solve(&P, &s, NULL, &cp, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/marginals/1");
    int n3[2] = {3, 2};
    const double *p2[2] = {neg, good};
    mec_problem P2 = {2, n3, p2};
    mec_coupling big = {8, (int[16]){0}, (double[8]){0}};
    assert_int_equal(mec_solve(&P2, &s, NULL, &big, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/marginals/0/2");
    s.ctl.report_every = 0;
    assert_int_equal(mec_solve(&P, &s, NULL, &cp, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/report_every");
    mec_settings_default(&s);
    ebim_problem E = {good, 2, -1.0};
    int code[2];
    ebim_info ei;
    assert_int_equal(ebim_solve(&E, &s, NULL, code, &ei, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/rate");
    E = (ebim_problem){bad, 2, 1.0};
    assert_int_equal(ebim_solve(&E, &s, NULL, code, &ei, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/p_x");
}

/* ---- the codec ---- */

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_mec;
    sv_test_codec_ok(C, "{\"marginals\": [[0.5, 0.5], [1]]}", NULL);
    sv_test_codec_ok(C, "{\"generate\": {\"task\": \"ebim\", \"n\": 10}}", NULL);
    sv_test_codec_error(C, "{\"marginals\": [[0.5, 0.5], [0.7, 0.2]]}", NULL,
                        "/problem/marginals/1");
    sv_test_codec_error(C, "{\"marginals\": [[0.5, 0.5], [1.1, -0.1]]}", NULL,
                        "/problem/marginals/1/1");
    sv_test_codec_error(C, "{\"marginals\": [[0.5, \"x\"], [1]]}", NULL,
                        "/problem/marginals/0/1");
    sv_test_codec_error(C, "{\"marginals\": [[1]]}", NULL, "/problem/marginals");
    sv_test_codec_error(C, "{\"marginals\": 3}", NULL, "/problem/marginals");
    sv_test_codec_error(C, "{\"p_x\": [0.5, 0.5]}", NULL, "/problem/rate");
    sv_test_codec_error(C, "{\"p_x\": [0.5, 0.5], \"rate\": -1}", NULL, "/problem/rate");
    sv_test_codec_error(C, "{\"p_x\": [0.5, 0.4], \"rate\": 1}", NULL, "/problem/p_x");
    sv_test_codec_error(C, "{\"p_x\": [1], \"rate\": 1, \"q\": 2}", NULL, "/problem/q");
    sv_test_codec_error(C, "{\"generate\": {\"dist\": \"normal\"}}", NULL,
                        "/problem/generate/dist");
    sv_test_codec_error(C, "{\"generate\": {\"marginals\": 9}}", NULL,
                        "/problem/generate/marginals");
    sv_test_codec_error(C, "{\"generate\": {\"n\": 200000}}", NULL, "/problem/generate/n");
    sv_test_codec_error(C, "{\"marginals\": [[1], [1]]}", "{\"tol\": -1}", "/params/tol");
    sv_test_codec_error(C, "{\"marginals\": [[1], [1]]}", "{\"refine\": true}",
                        "/params/refine");
}

static void test_codec_run(void **state)
{
    (void)state;
    json_t *r = sv_test_codec_run(&sv_codec_mec, "{\"marginals\": [[0.5, 0.25, 0.25], [0.75, 0.25]]}",
                                  NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_string_equal(json_string_value(json_object_get(r, "task")), "mec");
    /* (0,0) 1/2, (1,0) 1/4, (2,1) 1/4: H = 1.5 = H(p), the lower bound */
    json_t *cells = json_object_get(r, "coupling");
    assert_int_equal(json_array_size(cells), 3);
    json_t *c0 = json_array_get(cells, 0);
    assert_int_equal(json_integer_value(json_array_get(c0, 0)), 0);
    assert_int_equal(json_integer_value(json_array_get(c0, 1)), 0);
    assert_true(json_real_value(json_array_get(c0, 2)) == 0.5);
    assert_true(fabs(json_number_value(json_object_get(r, "joint_entropy")) - 1.5) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "objective")) - 1.5) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "gap"))) < 1e-12);
    assert_int_equal(json_array_size(json_object_get(r, "marginal_entropies")), 2);
    json_decref(r);

    r = sv_test_codec_run(&sv_codec_mec, "{\"p_x\": [0.25, 0.25, 0.25, 0.25], \"rate\": 1}",
                          NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "task")), "ebim");
    assert_true(fabs(json_number_value(json_object_get(r, "mutual_information")) - 1.0) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "h_t")) - 1.0) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(r, "codes")), 2);
    assert_int_equal(json_array_size(json_object_get(r, "encoder")), 4);
    json_t *pt = json_object_get(r, "code_marginal");
    assert_true(fabs(json_number_value(json_array_get(pt, 0)) - 0.5) < 1e-15);
    json_decref(r);

    /* generate, ebim, rate null: R = H(X) / 2 */
    r = sv_test_codec_run(&sv_codec_mec,
                          "{\"generate\": {\"task\": \"ebim\", \"n\": 500, \"dist\": \"zipf\"}}",
                          NULL, NULL);
    double hx = json_number_value(json_object_get(r, "h_x"));
    double rate = json_number_value(json_object_get(r, "rate"));
    double ht = json_number_value(json_object_get(r, "h_t"));
    assert_true(fabs(rate - hx / 2) < 1e-12);
    assert_true(ht <= rate + 1e-12 && ht >= rate - json_number_value(json_object_get(r, "bound")));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marginals_exact),
        cmocka_unit_test(test_brute_force_grid),
        cmocka_unit_test(test_closed_cases),
        cmocka_unit_test(test_ebim_guarantee_and_brute_force),
        cmocka_unit_test(test_ebim_closed_cases),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
