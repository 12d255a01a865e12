/* test_small_gain_nash.c - the SGN certificate and iterations (core/solvers/games/
 * small_gain_nash.c), the chain-game generator and the games.small_gain_nash codec.
 * Reference answers: the paper's scalar game (mu = 1, a = 10, b = 0.05), whose margin, optimal
 * weight ratio, small-gain radius and timescale band have closed forms; equilibria by a direct
 * solve of M x = -q (tolerances far above any BLAS rounding difference); box-constrained
 * equilibria by brute force over the 3^n active sets; and the certified rate checked step by
 * step against the distance to that equilibrium in the weighted metric. */
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
#include "core/linalg.h"
#include "core/solvers/games/small_gain_nash.h"
#include "core/solvers/games/small_gain_nash_gen.h"
#include "support/codec.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_small_gain_nash;

#define MAXN 64

typedef struct {
    int N, n, dims[8];
    double M[MAXN * MAXN], q[MAXN], lo[MAXN], hi[MAXN];
    int boxed;
} game;

static small_gain_nash_problem as_problem(const game *g)
{
    small_gain_nash_problem p = {g->N, g->dims, g->n, g->M, g->q, g->boxed ? g->lo : NULL,
                                 g->boxed ? g->hi : NULL};
    return p;
}

/* The paper's scalar game: f_1 = 0.5 mu1 x1^2 + a x1 x2 + b1 x1, f_2 = 0.5 mu2 x2^2 + b x1 x2 +
 * b2 x2, so F = [[mu1, a], [b, mu2]] x + q. */
static void scalar_game(game *g, double mu1, double mu2, double a, double b)
{
    memset(g, 0, sizeof *g);
    g->N = 2;
    g->n = 2;
    g->dims[0] = g->dims[1] = 1;
    g->M[0] = mu1;
    g->M[1] = a;
    g->M[2] = b;
    g->M[3] = mu2;
    g->q[0] = 1.0;
    g->q[1] = 2.0;
}

/* x* of M x = -q by LU. */
static void direct_solve(const game *g, double *xs)
{
    double A[MAXN * MAXN];
    memcpy(A, g->M, sizeof(double) * (size_t)g->n * g->n);
    for (int j = 0; j < g->n; j++)
        xs[j] = -g->q[j];
    assert_int_equal(sv_solve_general(g->n, A, xs, 1), SV_OK);
}

static double wdist(const game *g, const double *w, const double *x, const double *y)
{
    double s = 0;
    for (int i = 0, a = 0; i < g->N; i++)
        for (int t = 0; t < g->dims[i]; t++, a++)
            s += w[i] * (x[a] - y[a]) * (x[a] - y[a]);
    return sqrt(s);
}

static double maxdiff(int n, const double *x, const double *y)
{
    double m = 0;
    for (int j = 0; j < n; j++)
        m = fmax(m, fabs(x[j] - y[j]));
    return m;
}

/* Runs k steps from x0 into x; returns the info. */
static small_gain_nash_info run_steps(const game *g, int method, double step, long k,
                                      const double *x0, double *x, double *w)
{
    small_gain_nash_settings s;
    small_gain_nash_settings_default(&s);
    s.method = method;
    s.step = step;
    s.ctl.tol = 0;
    s.ctl.max_iter = k;
    small_gain_nash_problem p = as_problem(g);
    small_gain_nash_info info;
    memset(&info, 0, sizeof info);
    info.cert.w = w;
    memcpy(x, x0, sizeof(double) * (size_t)g->n);
    sv_err e;
    assert_int_equal(small_gain_nash_solve(&p, &s, NULL, x, &info, &e), SV_OK);
    return info;
}

/* |x_k - x*|_W <= rate^k |x_0 - x*|_W for k = 1..K (the iterate starts inside the box). */
static void check_certified_rate(const game *g, int method, const double *x0, const double *xs,
                                 int K)
{
    double x[MAXN], w[8];
    small_gain_nash_info info = run_steps(g, method, NAN, 1, x0, x, w);
    double rate = info.rate;
    assert_true(rate > 0 && rate < 1);
    double d0 = wdist(g, w, x0, xs);
    for (int k = 1; k <= K; k++) {
        info = run_steps(g, method, NAN, k, x0, x, w);
        double dk = wdist(g, w, x, xs);
        if (!(dk <= pow(rate, k) * d0 * (1 + 1e-9) + 1e-13))
            fail_msg("method %d step %d: |x_k - x*|_W = %.6g > rate^k |x_0 - x*|_W = %.6g",
                     method, k, dk, pow(rate, k) * d0);
    }
}

/* ---- the certificate on the paper's scalar game ---- */

static void test_paper_scalar_certificate(void **state)
{
    (void)state;
    game g;
    scalar_game(&g, 1, 1, 10, 0.05);
    double mu[2], L[4], w[2];
    small_gain_nash_cert c;
    memset(&c, 0, sizeof c);
    c.mu = mu;
    c.L = L;
    c.w = w;
    small_gain_nash_problem p = as_problem(&g);
    sv_err e;
    assert_int_equal(small_gain_nash_certify(&p, 200, &c, &e, NULL), SV_OK);
    /* Euclidean: lambda_min [[1, 5.025], [5.025, 1]] = -4.025, Rosen's test fails */
    assert_true(fabs(c.euclidean_margin - (1 - 10.05 / 2)) < 1e-12);
    /* without weights the SGN margin is the same negative number */
    assert_true(fabs(c.margin_unit - (1 - 10.05 / 2)) < 1e-12);
    /* SGN: the optimum r = w2/w1 = L12/L21 = 200, margin 1 - sqrt(L12 L21) = 1 - sqrt(0.5) */
    assert_true(c.certified);
    assert_true(fabs(mu[0] - 1) < 1e-14 && fabs(mu[1] - 1) < 1e-14);
    assert_true(fabs(L[1] - 10) < 1e-12 && fabs(L[2] - 0.05) < 1e-14 && L[0] == 0 && L[3] == 0);
    assert_true(fabs(c.margin - (1 - sqrt(0.5))) < 1e-9);
    assert_true(fabs(w[0] - 1) < 1e-15 && fabs(w[1] / 200 - 1) < 1e-4);
    assert_true(fabs(c.small_gain_radius - sqrt(0.5)) < 1e-12);
    /* the exact modulus in the metric is at least the certified one */
    assert_true(c.weighted_margin >= c.margin - 1e-12);
    /* the timescale band: r in ((1.5 - sqrt 2)/0.0025, (1.5 + sqrt 2)/0.0025) */
    assert_true(fabs(c.band_lo - (1.5 - sqrt(2.0)) / 0.0025) < 1e-8);
    assert_true(fabs(c.band_hi - (1.5 + sqrt(2.0)) / 0.0025) < 1e-6);
    /* beta = |W^1/2 M W^-1/2| = |[[1, 10/sqrt(200)], [0.05 sqrt(200), 1]]| = 1 + sqrt(0.5) */
    assert_true(fabs(c.lipschitz - (1 + sqrt(0.5))) < 1e-6);
    double k = c.margin / c.lipschitz;
    assert_true(fabs(c.euler_step - c.margin / (c.lipschitz * c.lipschitz)) < 1e-15);
    assert_true(fabs(c.euler_rate - sqrt(1 - k * k)) < 1e-12);
    assert_true(fabs(small_gain_nash_euler_rate(c.margin, c.lipschitz, c.euler_step) -
                     c.euler_rate) < 1e-12);
    assert_true(isnan(small_gain_nash_euler_rate(c.margin, c.lipschitz, c.euler_step_max)));
    /* RK4's bound: below 1 inside (0, rk4_step_max), its minimum at rk4_step */
    assert_true(c.rk4_step > 0 && c.rk4_step < c.rk4_step_max && c.rk4_rate < 1);
    assert_true(small_gain_nash_rk4_rate(c.margin, c.lipschitz, 0.5 * c.rk4_step) >= c.rk4_rate);
    assert_true(small_gain_nash_rk4_rate(c.margin, c.lipschitz, 1.5 * c.rk4_step) >= c.rk4_rate);
    assert_true(isnan(small_gain_nash_rk4_rate(c.margin, c.lipschitz, 1.01 * c.rk4_step_max)));
    /* the M-matrix weights alone already certify */
    assert_int_equal(small_gain_nash_certify(&p, 0, &c, &e, NULL), SV_OK);
    assert_true(c.certified && c.margin > 0);
}

/* ---- Euclidean-monotone game: the direct solve ---- */

static void test_euclidean_monotone(void **state)
{
    (void)state;
    game g;
    memset(&g, 0, sizeof g);
    g.N = 2;
    g.n = 4;
    g.dims[0] = g.dims[1] = 2;
    double M[16] = {3, 0.5, 0.3, 0,     /* A_11 = [[3, .5], [.5, 2]], B_12 = diag(.3, -.2) */
                    0.5, 2, 0, -0.2,
                    0.1, 0, 2, 0,       /* B_21 = diag(.1, .4), A_22 = diag(2, 4) */
                    0, 0.4, 0, 4};
    memcpy(g.M, M, sizeof M);
    double q[4] = {1, -2, 0.5, 3};
    memcpy(g.q, q, sizeof q);
    double mu[2], L[4], w[2];
    small_gain_nash_cert c;
    memset(&c, 0, sizeof c);
    c.mu = mu;
    c.L = L;
    c.w = w;
    small_gain_nash_problem p = as_problem(&g);
    assert_int_equal(small_gain_nash_certify(&p, 200, &c, NULL, NULL), SV_OK);
    assert_true(c.euclidean_margin > 0 && c.certified);
    assert_true(fabs(mu[0] - (2.5 - sqrt(0.25 + 0.25))) < 1e-12 && fabs(mu[1] - 2) < 1e-12);
    assert_true(fabs(L[1] - 0.3) < 1e-12 && fabs(L[2] - 0.4) < 1e-12);
    double xs[4], x0[4] = {0}, x[4];
    direct_solve(&g, xs);
    for (int method = 0; method < 2; method++) {
        small_gain_nash_settings s;
        small_gain_nash_settings_default(&s);
        s.method = method;
        small_gain_nash_info info;
        memset(&info, 0, sizeof info);
        memcpy(x, x0, sizeof x);
        assert_int_equal(small_gain_nash_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(maxdiff(4, x, xs) < 1e-7);
        assert_true(info.base.res <= 1e-8);
        assert_true(info.observed_rate <= info.rate + 1e-9);
        assert_true(info.observed_rate_max <= info.rate + 1e-6);
    }
    check_certified_rate(&g, SMALL_GAIN_NASH_EULER, x0, xs, 30);
    check_certified_rate(&g, SMALL_GAIN_NASH_RK4, x0, xs, 30);
}

/* ---- not Euclidean-monotone, SGN-certified: converges at the certified rate ---- */

static void test_non_euclidean_converges(void **state)
{
    (void)state;
    game g;
    scalar_game(&g, 1, 1, 10, 0.05);
    double xs[2], x0[2] = {1, -1}, x[2], w[2];
    direct_solve(&g, xs);
    check_certified_rate(&g, SMALL_GAIN_NASH_EULER, x0, xs, 60);
    check_certified_rate(&g, SMALL_GAIN_NASH_RK4, x0, xs, 60);
    small_gain_nash_info info = run_steps(&g, SMALL_GAIN_NASH_EULER, NAN, 100000, x0, x, w);
    assert_true(maxdiff(2, x, xs) < 1e-9);
    assert_true(info.observed_rate <= info.rate + 1e-9);

    /* a generated chain game of 3 players, d = 4 each: sym(M) indefinite, SGN certifies */
    small_gain_nash_gen_spec spec = {3, 4, 1.0, 3.0, 0.05, 0.5, 0.0, 7};
    game h;
    memset(&h, 0, sizeof h);
    h.N = 3;
    h.n = 12;
    h.dims[0] = h.dims[1] = h.dims[2] = 4;
    double planted[12];
    assert_int_equal(small_gain_nash_generate(&spec, h.M, h.q, planted, NULL, NULL, NULL),
                     SV_OK);
    small_gain_nash_cert c;
    memset(&c, 0, sizeof c);
    small_gain_nash_problem p = as_problem(&h);
    assert_int_equal(small_gain_nash_certify(&p, 200, &c, NULL, NULL), SV_OK);
    assert_true(c.euclidean_margin < 0);
    assert_true(c.margin_unit < 0);
    assert_true(c.certified && c.small_gain_radius < 1);
    double hs[12], z0[12] = {0};
    direct_solve(&h, hs);
    assert_true(maxdiff(12, hs, planted) < 1e-8);
    check_certified_rate(&h, SMALL_GAIN_NASH_EULER, z0, hs, 25);
    check_certified_rate(&h, SMALL_GAIN_NASH_RK4, z0, hs, 25);
    for (int method = 0; method < 2; method++) {
        small_gain_nash_settings s;
        small_gain_nash_settings_default(&s);
        s.method = method;
        double z[12] = {0}, ww[3];
        small_gain_nash_info in;
        memset(&in, 0, sizeof in);
        in.cert.w = ww;
        assert_int_equal(small_gain_nash_solve(&p, &s, NULL, z, &in, NULL), SV_OK);
        assert_int_equal(in.base.status, SV_SOLVED);
        assert_true(maxdiff(12, z, hs) < 1e-6);
        assert_true(in.observed_rate <= in.rate + 1e-9);
    }

    /* 4 players in a chain: 6 of the 16 blocks are zero, so F runs block by block */
    small_gain_nash_gen_spec spec4 = {4, 3, 1.0, 3.0, 0.05, 0.5, 0.0, 8};
    game c4;
    memset(&c4, 0, sizeof c4);
    c4.N = 4;
    c4.n = 12;
    c4.dims[0] = c4.dims[1] = c4.dims[2] = c4.dims[3] = 3;
    assert_int_equal(small_gain_nash_generate(&spec4, c4.M, c4.q, planted, NULL, NULL, NULL),
                     SV_OK);
    p = as_problem(&c4);
    assert_int_equal(small_gain_nash_certify(&p, 200, &c, NULL, NULL), SV_OK);
    assert_true(c.euclidean_margin < 0 && c.certified);
    direct_solve(&c4, hs);
    assert_true(maxdiff(12, hs, planted) < 1e-8);
    check_certified_rate(&c4, SMALL_GAIN_NASH_EULER, z0, hs, 25);
    check_certified_rate(&c4, SMALL_GAIN_NASH_RK4, z0, hs, 25);
    double z[12], ww[4];
    small_gain_nash_info in = run_steps(&c4, SMALL_GAIN_NASH_RK4, NAN, 200000, z0, z, ww);
    assert_true(maxdiff(12, z, hs) < 1e-9);
    assert_true(in.gradient_evals == 4 * in.base.iter + 1);  /* four F per RK4 step */
}

/* ---- no weights certify ---- */

static void test_not_certified(void **state)
{
    (void)state;
    game g;
    scalar_game(&g, 1, 1, 10, 0.2);  /* L12 L21 = 2 > mu1 mu2: radius sqrt(2) */
    small_gain_nash_problem p = as_problem(&g);
    small_gain_nash_settings s;
    small_gain_nash_settings_default(&s);
    double x[2] = {0, 0};
    small_gain_nash_info info;
    memset(&info, 0, sizeof info);
    assert_int_equal(small_gain_nash_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_false(info.cert.certified);
    assert_true(info.cert.margin <= 0);
    assert_true(fabs(info.cert.small_gain_radius - sqrt(2.0)) < 1e-12);
    /* the best margin: 1 - sqrt(L12 L21) at r = L12/L21 */
    assert_true(fabs(info.cert.margin - (1 - sqrt(2.0))) < 1e-8);
    assert_int_equal(info.base.status, SV_UNSOLVED);
    assert_int_equal(info.base.iter, 0);
    assert_true(isnan(info.step) && isnan(info.cert.euler_step) && isnan(info.cert.band_lo));
    /* with a step of the user's it runs, uncertified; M has the eigenvalue 1 - sqrt 2 < 0, so
     * the iteration leaves */
    s.step = 0.1;
    assert_int_equal(small_gain_nash_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_true(isnan(info.rate));
    assert_int_equal(info.base.status, SV_DIVERGED);
    /* a player with negative curvature: no weights help */
    scalar_game(&g, -0.5, 1, 0, 0);
    p = as_problem(&g);
    small_gain_nash_cert c;
    memset(&c, 0, sizeof c);
    assert_int_equal(small_gain_nash_certify(&p, 50, &c, NULL, NULL), SV_OK);
    assert_false(c.certified);
    assert_true(isinf(c.small_gain_radius));
    assert_true(fabs(c.margin + 0.5) < 1e-12);
}

/* ---- a box: brute force over the active sets ---- */

/* The solution of the affine VI on the box by trying each of the 3^n active sets: free
 * coordinates solve their rows of M x + q = 0, bound ones sit at lo (F >= 0) or hi (F <= 0). */
static int brute_force_box(const game *g, double *xs)
{
    int n = g->n, found = 0;
    long total = 1;
    for (int j = 0; j < n; j++)
        total *= 3;
    for (long code = 0; code < total; code++) {
        int st[MAXN], nf = 0, fidx[MAXN];
        long c = code;
        double x[MAXN];
        for (int j = 0; j < n; j++) {
            st[j] = (int)(c % 3);
            c /= 3;
            if (st[j] == 0)
                fidx[nf++] = j;
            else
                x[j] = st[j] == 1 ? g->lo[j] : g->hi[j];
        }
        double A[MAXN * MAXN], r[MAXN];
        for (int a = 0; a < nf; a++) {
            r[a] = -g->q[fidx[a]];
            for (int j = 0; j < n; j++)
                if (st[j] != 0)
                    r[a] -= g->M[fidx[a] * n + j] * x[j];
            for (int b = 0; b < nf; b++)
                A[a * nf + b] = g->M[fidx[a] * n + fidx[b]];
        }
        if (nf > 0 && sv_solve_general(nf, A, r, 1) != SV_OK)
            continue;
        for (int a = 0; a < nf; a++)
            x[fidx[a]] = r[a];
        int ok = 1;
        for (int j = 0; j < n && ok; j++) {
            double F = g->q[j];
            for (int k = 0; k < n; k++)
                F += g->M[j * n + k] * x[k];
            if (st[j] == 0)
                ok = x[j] >= g->lo[j] - 1e-12 && x[j] <= g->hi[j] + 1e-12;
            else
                ok = st[j] == 1 ? F >= -1e-12 : F <= 1e-12;
        }
        if (ok) {
            memcpy(xs, x, sizeof(double) * (size_t)n);
            found++;
        }
    }
    return found;
}

static void test_box_brute_force(void **state)
{
    (void)state;
    /* the paper's scalar game, both players boxed so that the box binds */
    game g;
    scalar_game(&g, 1, 1, 10, 0.05);
    g.boxed = 1;
    g.lo[0] = -0.5, g.hi[0] = 0.5, g.lo[1] = -0.1, g.hi[1] = 0.3;
    double xs[MAXN];
    assert_int_equal(brute_force_box(&g, xs), 1);  /* SGN: strongly monotone, one solution */
    double free_[2];
    direct_solve(&g, free_);
    assert_true(maxdiff(2, xs, free_) > 0.05);     /* the box is active */
    double x0[2] = {0.5, 0.3}, x[2], w[2];
    check_certified_rate(&g, SMALL_GAIN_NASH_EULER, x0, xs, 60);
    for (int method = 0; method < 2; method++) {
        small_gain_nash_info info = run_steps(&g, method, NAN, 200000, x0, x, w);
        assert_true(maxdiff(2, x, xs) < 1e-9);
        if (method == SMALL_GAIN_NASH_RK4)
            assert_true(isnan(info.rate));  /* the rk4 bound is not claimed on a box */
    }
    /* a generated 2 x 2 game with a box */
    small_gain_nash_gen_spec spec = {2, 2, 1.0, 10.0, 0.05, 0.3, 0.4, 3};
    game h;
    memset(&h, 0, sizeof h);
    h.N = 2;
    h.n = 4;
    h.dims[0] = h.dims[1] = 2;
    h.boxed = 1;
    assert_int_equal(small_gain_nash_generate(&spec, h.M, h.q, NULL, h.lo, h.hi, NULL), SV_OK);
    double hs[4], z0[4] = {0}, z[4], ww[2];
    assert_int_equal(brute_force_box(&h, hs), 1);
    check_certified_rate(&h, SMALL_GAIN_NASH_EULER, z0, hs, 40);
    for (int method = 0; method < 2; method++) {
        small_gain_nash_settings s;
        small_gain_nash_settings_default(&s);
        s.method = method;
        small_gain_nash_problem p = as_problem(&h);
        small_gain_nash_info info;
        memset(&info, 0, sizeof info);
        info.cert.w = ww;
        memcpy(z, z0, sizeof z);
        assert_int_equal(small_gain_nash_solve(&p, &s, NULL, z, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(maxdiff(4, z, hs) < 1e-7);
    }
}

/* ---- the generator ---- */

static void test_generator(void **state)
{
    (void)state;
    small_gain_nash_gen_spec spec = {3, 3, 1.0, 10.0, 0.05, 0.5, 0.0, 11};
    double M1[81], M2[81], q1[9], q2[9], xs[9];
    assert_int_equal(small_gain_nash_generate(&spec, M1, q1, xs, NULL, NULL, NULL), SV_OK);
    assert_int_equal(small_gain_nash_generate(&spec, M2, q2, NULL, NULL, NULL, NULL), SV_OK);
    assert_memory_equal(M1, M2, sizeof M1);
    /* F(x*) = 0, the forward block has norm a, the backward one b, no coupling 0 <-> 2 */
    for (int j = 0; j < 9; j++) {
        double F = q1[j];
        for (int k = 0; k < 9; k++)
            F += M1[j * 9 + k] * xs[k];
        assert_true(fabs(F) < 1e-10);
    }
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            assert_true(M1[a * 9 + 6 + b] == 0 && M1[(6 + a) * 9 + b] == 0);
            assert_true(fabs(M1[a * 9 + 3 + b] * 0.05 - M1[(3 + b) * 9 + a] * 10) < 1e-12);
        }
    double mu[3], L[9];
    small_gain_nash_cert c;
    memset(&c, 0, sizeof c);
    c.mu = mu;
    c.L = L;
    int dims[3] = {3, 3, 3};
    small_gain_nash_problem p = {3, dims, 9, M1, q1, NULL, NULL};
    assert_int_equal(small_gain_nash_certify(&p, 0, &c, NULL, NULL), SV_OK);
    assert_true(fabs(L[1] - 10) < 1e-9 && fabs(L[3] - 0.05) < 1e-12 && L[2] == 0);
    for (int i = 0; i < 3; i++)
        assert_true(mu[i] >= 1 - 1e-12);
    spec.seed = 12;
    assert_int_equal(small_gain_nash_generate(&spec, M2, q2, NULL, NULL, NULL, NULL), SV_OK);
    assert_true(memcmp(M1, M2, sizeof M1) != 0);
}

/* ---- stops ---- */

/* A stop request is read between reports, and a time limit holds with a huge report_every. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    small_gain_nash_gen_spec spec = {2, 8, 1.0, 10.0, 0.05, 0.5, 0.0, 1};
    game g;
    memset(&g, 0, sizeof g);
    g.N = 2;
    g.n = 16;
    g.dims[0] = g.dims[1] = 8;
    assert_int_equal(small_gain_nash_generate(&spec, g.M, g.q, NULL, NULL, NULL, NULL), SV_OK);
    small_gain_nash_problem p = as_problem(&g);
    small_gain_nash_settings s;
    small_gain_nash_settings_default(&s);
    s.ctl.tol = 0;
    s.ctl.max_iter = 1000000000L;
    s.ctl.report_every = 1000000000L;
    s.step = 1e-9;  /* far below the certified step: the residual stays well above 0 */
    double x[16] = {0};
    small_gain_nash_info info;
    memset(&info, 0, sizeof info);
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    assert_int_equal(small_gain_nash_solve(&p, &s, &mon, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 1000);
    /* A stop at the certificate's first poll: cancelled there, no iteration, not certified. */
    polls = 99;
    assert_int_equal(small_gain_nash_solve(&p, &s, &mon, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 0);
    assert_false(info.cert.certified);
    /* Long enough for the certificate (milliseconds at n = 16, more on a loaded machine under
     * the Prescott kernels: 0.2 s ran out there before the first iteration), so the limit
     * falls in the iteration loop. */
    s.ctl.time_limit_s = 2.0;
    assert_int_equal(small_gain_nash_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(isfinite(info.base.obj) && info.base.iter > 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    game g;
    scalar_game(&g, 1, 1, 10, 0.05);
    small_gain_nash_problem p = as_problem(&g);
    small_gain_nash_settings s;
    small_gain_nash_settings_default(&s);
    double x[2] = {0, 0};
    small_gain_nash_info info;
    memset(&info, 0, sizeof info);
    sv_err e;
    s.step = -1;
    assert_int_equal(small_gain_nash_solve(&p, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/step");
    small_gain_nash_settings_default(&s);
    x[0] = NAN;
    assert_int_equal(small_gain_nash_solve(&p, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    x[0] = 0;
    /* a non-symmetric own block */
    game h;
    memset(&h, 0, sizeof h);
    h.N = 1;
    h.n = 2;
    h.dims[0] = 2;
    h.M[0] = 1, h.M[1] = 2, h.M[2] = 0, h.M[3] = 1;
    p = as_problem(&h);
    assert_int_equal(small_gain_nash_solve(&p, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/players/0/A");
}

/* ---- the codec ---- */

#define PAPER                                                                                  \
    "\"players\": [{\"A\": [[1]], \"B\": {\"1\": [[10]]}, \"b\": [1]},"                        \
    " {\"A\": [[1]], \"B\": {\"0\": [[0.05]]}, \"b\": [2]}]"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_small_gain_nash;
    sv_test_codec_ok(C, "{" PAPER "}", NULL);
    sv_test_codec_ok(C, "{\"generate\": {\"players\": 3, \"dim\": 2, \"box\": 1}}", NULL);
    sv_test_codec_error(C, "{\"players\": []}", NULL, "/problem/players");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1, 2]]}]}", NULL, "/problem/players/0/A");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1, 2], [0, 1]]}]}", NULL,
                        "/problem/players/0/A");
    sv_test_codec_error(C, "{\"players\": [{\"B\": {}}]}", NULL, "/problem/players/0/A");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1]], \"c\": 1}]}", NULL,
                        "/problem/players/0/c");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1]], \"B\": {\"5\": [[1]]}}, {\"A\": [[1]]}]}",
                        NULL, "/problem/players/0/B/5");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1]], \"B\": {\"0\": [[1]]}}, {\"A\": [[1]]}]}",
                        NULL, "/problem/players/0/B/0");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1]], \"B\": {\" 1\": [[1]]}}, {\"A\": [[1]]}]}",
                        NULL, "/problem/players/0/B/ 1");
    sv_test_codec_error(C,
                        "{\"players\": [{\"A\": [[1]], \"B\": {\"1\": [[1]]}},"
                        " {\"A\": [[1, 0], [0, 1]]}]}",
                        NULL, "/problem/players/0/B/1/0");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1]], \"B\": [[1]]}]}", NULL,
                        "/problem/players/0/B");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1]], \"b\": [1, 2]}]}", NULL,
                        "/problem/players/0/b");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1]], \"lo\": [1], \"hi\": [0]}]}", NULL,
                        "/problem/players/0/lo");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1]], \"hi\": [0, 1]}]}", NULL,
                        "/problem/players/0/hi");
    sv_test_codec_error(C, "{\"players\": [{\"A\": [[1]], \"lo\": [\"x\"]}]}", NULL,
                        "/problem/players/0/lo/0");
    sv_test_codec_error(C, "{" PAPER ", \"x0\": [1]}", NULL, "/problem/x0");
    sv_test_codec_error(C, "{" PAPER ", \"generate\": {}}", NULL, "/problem");
    sv_test_codec_error(C, "{\"generate\": {\"players\": 0}}", NULL,
                        "/problem/generate/players");
    sv_test_codec_error(C, "{\"generate\": {\"mu\": 0}}", NULL, "/problem/generate/mu");
    sv_test_codec_error(C, "{" PAPER "}", "{\"method\": \"rk5\"}", "/params/method");
    sv_test_codec_error(C, "{" PAPER "}", "{\"step\": 0}", "/params/step");
    sv_test_codec_error(C, "{" PAPER "}", "{\"weight_sweeps\": -1}", "/params/weight_sweeps");
}

/* The paper's game through JSON: the equilibrium of M x = -q by hand, the certificate's
 * closed forms, and a not-certified game's clear outcome. */
static void test_codec_run(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_small_gain_nash;
    json_t *r = sv_test_codec_run(C, "{" PAPER "}", "{\"tol\": 1e-10}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(json_is_true(json_object_get(r, "certified")));
    /* [[1, 10], [0.05, 1]] x = -(1, 2): det 0.5, x = -(1 - 20, 2 - 0.05) / 0.5 */
    json_t *x = json_object_get(r, "x");
    assert_true(fabs(json_number_value(json_array_get(x, 0)) - 38.0) < 1e-8);
    assert_true(fabs(json_number_value(json_array_get(x, 1)) + 3.9) < 1e-8);
    json_t *cert = json_object_get(r, "certificate");
    assert_true(json_number_value(json_object_get(cert, "euclidean_margin")) < 0);
    assert_true(fabs(json_number_value(json_object_get(cert, "margin")) - (1 - sqrt(0.5))) <
                1e-9);
    json_t *w = json_object_get(cert, "weights");
    assert_true(fabs(json_number_value(json_array_get(w, 1)) / 200 - 1) < 1e-4);
    assert_true(json_is_array(json_object_get(cert, "band")));
    assert_true(json_number_value(json_object_get(r, "observed_rate")) <=
                json_number_value(json_object_get(r, "rate")) + 1e-9);
    assert_string_equal(json_string_value(json_object_get(r, "method")), "euler");
    json_decref(r);

    r = sv_test_codec_run(C,
                          "{\"players\": [{\"A\": [[1]], \"B\": {\"1\": [[10]]}},"
                          " {\"A\": [[1]], \"B\": {\"0\": [[0.2]]}}]}",
                          NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "unsolved");
    assert_true(json_is_false(json_object_get(r, "certified")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "message")), "not certified"));
    cert = json_object_get(r, "certificate");
    assert_true(fabs(json_number_value(json_object_get(cert, "margin")) - (1 - sqrt(2.0))) <
                1e-8);
    assert_true(json_is_null(json_object_get(cert, "band")));
    assert_true(json_is_null(json_object_get(r, "step")));
    json_decref(r);

    /* a box through JSON, with rk4 */
    r = sv_test_codec_run(C,
                          "{\"players\": [{\"A\": [[1]], \"B\": {\"1\": [[10]]}, \"b\": [1],"
                          " \"lo\": [-0.5], \"hi\": [0.5]},"
                          " {\"A\": [[1]], \"B\": {\"0\": [[0.05]]}, \"b\": [2], \"lo\": [-0.1],"
                          " \"hi\": [null]}]}",
                          "{\"method\": \"rk4\"}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    x = json_object_get(r, "x");
    /* x2 at its lower bound -0.1 (F_2 = 0.05 x1 + x2 + 2 > 0 there), x1 = clip(-(1 + 10 x2),
     * -0.5, 0.5) = 0 inside its box */
    assert_true(fabs(json_number_value(json_array_get(x, 0)) - 0.0) < 1e-7);
    assert_true(fabs(json_number_value(json_array_get(x, 1)) + 0.1) < 1e-9);
    assert_true(json_is_null(json_object_get(r, "rate")));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_scalar_certificate),
        cmocka_unit_test(test_euclidean_monotone),
        cmocka_unit_test(test_non_euclidean_converges),
        cmocka_unit_test(test_not_certified),
        cmocka_unit_test(test_box_brute_force),
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
