/* test_vr_halpern.c - the variance-reduced Halpern iteration (core/solvers/monotone/
 * vr_halpern.c), its generator and the monotone.vr_halpern codec. Reference answers: z* from a
 * direct LU solve of the averaged linear system (core/linalg.h), the bilinear game's z* = 0 next
 * to gradient descent-ascent run here (whose distance to z* grows), and plain Halpern's
 * last-iterate bound |u_k - T u_k| <= 2 |u_0 - z*| / (k + 1) checked at every iteration. All
 * tolerances leave orders of magnitude to rounding, so no BLAS kernel path decides a result. */
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
#include "core/rng.h"
#include "core/solvers/monotone/vr_halpern.h"
#include "core/solvers/monotone/vr_halpern_gen.h"
#include "support/codec.h"
#include "support/numeric.h"
#include "support/monitor.h"

extern const sv_codec sv_codec_vr_halpern;

typedef struct {
    int n, d;
    double *M, *q, *zs;
    vr_halpern_problem p;
} inst;

static void make(inst *I, int kind, int n, int d, double skew, double h, uint64_t seed)
{
    vr_halpern_gen_spec g = {kind, n, d, skew, h, seed};
    I->n = n;
    I->d = d;
    I->M = malloc((size_t)n * d * d * sizeof *I->M);
    I->q = malloc((size_t)n * d * sizeof *I->q);
    I->zs = malloc((size_t)d * sizeof *I->zs);
    assert_non_null(I->M);
    assert_non_null(I->q);
    assert_non_null(I->zs);
    sv_err e;
    assert_int_equal(vr_halpern_generate(&g, I->M, I->q, I->zs, &e), SV_OK);
    I->p = (vr_halpern_problem){n, d, I->M, I->q, NULL, NULL};
}

static void drop(inst *I)
{
    free(I->M);
    free(I->q);
    free(I->zs);
}

/* z* of (1/n) sum (M_i z + q_i) = 0 by LU on the averaged system. */
static void direct_solve(const inst *I, double *z)
{
    int n = I->n, d = I->d;
    double *A = calloc((size_t)d * d, sizeof *A);
    assert_non_null(A);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < d * d; t++)
            A[t] += I->M[(size_t)i * d * d + t] / n;
    for (int j = 0; j < d; j++) {
        z[j] = 0;
        for (int i = 0; i < n; i++)
            z[j] -= I->q[(size_t)i * d + j] / n;
    }
    assert_int_equal(sv_solve_general(d, A, z, 1), SV_OK);
    free(A);
}

static vr_halpern_settings settings(int setting, int variant)
{
    vr_halpern_settings s;
    vr_halpern_settings_default(&s);
    s.setting = setting;
    s.variant = variant;
    s.ctl.tol = 1e-8;
    s.ctl.max_iter = 2000000L;
    s.ctl.report_every = 1000000L;
    return s;
}

/* ---- known answers ---- */

/* 1 / sigma_min of the averaged matrix, so that |z - z*| <= |F(z)| / sigma_min bounds the
 * distance by the residual (F(z) = M (z - z*)). */
static double inv_sigma_min(const inst *I)
{
    int n = I->n, d = I->d;
    double *A = calloc((size_t)d * d, sizeof *A), *G = calloc((size_t)d * d, sizeof *G),
           *w = malloc((size_t)d * sizeof *w);
    assert_true(A && G && w);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < d * d; t++)
            A[t] += I->M[(size_t)i * d * d + t] / n;
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
            for (int c = 0; c < d; c++)
                G[a * d + b] += A[c * d + a] * A[c * d + b];
    assert_int_equal(sv_sym_eig(d, G, w, 0), SV_OK);
    double r = 1.0 / sqrt(w[0]);
    free(A), free(G), free(w);
    return r;
}

/* Both settings and both variants reach the LU solution of a linear monotone (and a
 * cocoercive) finite sum, to the distance their residual allows. */
static void test_linear_direct_solve(void **state)
{
    (void)state;
    struct { int kind, setting, variant; } cases[] = {
        {VR_HALPERN_GEN_MONOTONE, VR_HALPERN_MONOTONE, VR_HALPERN_VR},
        {VR_HALPERN_GEN_MONOTONE, VR_HALPERN_MONOTONE, VR_HALPERN_PLAIN},
        {VR_HALPERN_GEN_COCOERCIVE, VR_HALPERN_COCOERCIVE, VR_HALPERN_VR},
        {VR_HALPERN_GEN_COCOERCIVE, VR_HALPERN_COCOERCIVE, VR_HALPERN_PLAIN},
        {VR_HALPERN_GEN_COCOERCIVE, VR_HALPERN_MONOTONE, VR_HALPERN_VR},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        inst I;
        make(&I, cases[c].kind, 30, 8, 0.5, 0.5, 3);
        double zlu[8], z[8] = {0};
        direct_solve(&I, zlu);
        assert_true(sv_test_dist(8, zlu, I.zs) < 1e-8);  /* the planted solution */
        vr_halpern_settings s = settings(cases[c].setting, cases[c].variant);
        s.ctl.tol = 1e-3;
        vr_halpern_info info;
        sv_err e;
        assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z, &info, &e), SV_OK);
        if (info.base.status != SV_SOLVED)
            fail_msg("case %zu: status %d after %ld iterations, residual %g", c,
                     info.base.status, info.base.iter, info.residual);
        double work[30 * 8 + 16];
        double r = vr_halpern_residual(&I.p, info.eta, z, work);
        assert_true(r <= 1e-3 && fabs(r - info.residual) <= 1e-12);
        double dist = sv_test_dist(8, z, zlu), bound = r * inv_sigma_min(&I);
        if (!(dist <= bound * (1 + 1e-6) && dist < 0.05 * sv_nrm2(8, zlu)))
            fail_msg("case %zu: |z - z_LU| = %g, bound %g, |z_LU| %g", c, dist, bound,
                     sv_nrm2(8, zlu));
        assert_true(info.oracle_calls > 30);
        drop(&I);
    }
}

/* The merely_monotone kind: the mean operator is monotone (z'Mz >= 0: the symmetric part's
 * eigenvalues >= 0) but not strongly (its smallest is 0, and it has rank d/2 - 1), M has a null
 * space of dimension 2 (even d) or 3 (odd d), the planted z* is the minimum-norm least-squares
 * solution of M z = -qbar (by the eigendecomposition of M'M, dropping its null space), a single
 * component is not monotone, and both Halpern variants drive the residual below tol with z in
 * the solution set (|M z + qbar| = the residual). */
static void test_merely_monotone(void **state)
{
    (void)state;
    const int dims[] = {10, 9};
    for (size_t t = 0; t < 2; t++) {
        int n = 40, d = dims[t];
        inst I;
        make(&I, VR_HALPERN_GEN_MERELY, n, d, 0.5, 0.5, 7);
        size_t dd = (size_t)d * d;
        double *A = calloc(dd, sizeof *A), *S = calloc(dd, sizeof *S), *G = calloc(dd, sizeof *G),
               *w = malloc((size_t)d * sizeof *w), *rhs = calloc((size_t)d, sizeof *rhs),
               *zls = calloc((size_t)d, sizeof *zls), *tmp = calloc((size_t)d, sizeof *tmp);
        assert_true(A && S && G && w && rhs && zls && tmp);
        for (int i = 0; i < n; i++) {
            for (size_t u = 0; u < dd; u++)
                A[u] += I.M[(size_t)i * dd + u] / n;
            for (int j = 0; j < d; j++)
                rhs[j] -= I.q[(size_t)i * d + j] / n;
        }
        /* symmetric part: eigenvalues >= 0, the smallest 0, rank ceil((d/2 - 1) / 2) */
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                S[a * d + b] = 0.5 * (A[a * d + b] + A[b * d + a]);
        assert_int_equal(sv_sym_eig(d, S, w, 0), SV_OK);
        int pos = 0;
        for (int j = 0; j < d; j++) {
            assert_true(w[j] >= -1e-12);
            pos += w[j] > 1e-8;
        }
        assert_true(fabs(w[0]) <= 1e-12);
        assert_int_equal(pos, (d / 2 - 1 + 1) / 2);
        /* a single component is not monotone (its symmetric part has a negative eigenvalue) */
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                S[a * d + b] = 0.5 * (I.M[a * d + b] + I.M[b * d + a]);
        assert_int_equal(sv_sym_eig(d, S, w, 0), SV_OK);
        assert_true(w[0] < -1e-3);
        /* M'M: null space of dimension d - 2 (d/2 - 1); min-norm solution through the rest */
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                for (int c = 0; c < d; c++)
                    G[a * d + b] += A[c * d + a] * A[c * d + b];
        assert_int_equal(sv_sym_eig(d, G, w, 1), SV_OK);
        int nul = 0;
        for (int j = 0; j < d; j++)
            nul += w[j] <= 1e-10;
        assert_int_equal(nul, d - 2 * (d / 2 - 1));
        for (int b = 0; b < d; b++)     /* tmp = M' rhs */
            for (int c = 0; c < d; c++)
                tmp[b] += A[c * d + b] * rhs[c];
        for (int j = 0; j < d; j++) {   /* column j of G (row-major) is eigenvector j */
            if (w[j] <= 1e-10)
                continue;
            double cj = 0;
            for (int b = 0; b < d; b++)
                cj += G[b * d + j] * tmp[b];
            for (int b = 0; b < d; b++)
                zls[b] += cj / w[j] * G[b * d + j];
        }
        assert_true(sv_test_dist(d, zls, I.zs) <= 1e-9 * sv_nrm2(d, I.zs));
        /* z'Mz >= 0 on random directions, and = 0 on the null space (F(z* + v) = F(z*)) */
        sv_rng r;
        sv_rng_seed(&r, 11);
        for (int k = 0; k < 50; k++) {
            double q = 0;
            for (int j = 0; j < d; j++)
                tmp[j] = sv_rng_normal(&r);
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    q += tmp[a] * A[a * d + b] * tmp[b];
            assert_true(q >= -1e-12);
        }
        /* both Halpern variants and extragradient reach tol; z solves M z = -qbar to it */
        const int variants[] = {VR_HALPERN_VR, VR_HALPERN_PLAIN, VR_HALPERN_EXTRAGRADIENT};
        for (int v = 0; v < 3; v++) {
            vr_halpern_settings s = settings(VR_HALPERN_MONOTONE, variants[v]);
            s.ctl.tol = 1e-3;
            double *z = calloc((size_t)d, sizeof *z), work[40 * 10 + 32];
            vr_halpern_info info;
            sv_err e;
            assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z, &info, &e), SV_OK);
            if (info.base.status != SV_SOLVED)
                fail_msg("d %d variant %d: status %d, residual %g", d, v, info.base.status,
                         info.residual);
            double res = vr_halpern_residual(&I.p, info.eta, z, work), fz = 0;
            for (int a = 0; a < d; a++) {
                double fa = -rhs[a];
                for (int b = 0; b < d; b++)
                    fa += A[a * d + b] * z[b];
                fz += fa * fa;
            }
            assert_true(res <= 1e-3 && fabs(sqrt(fz) - res) <= 1e-9);
            free(z);
        }
        free(A), free(S), free(G), free(w), free(rhs), free(zls), free(tmp);
        drop(&I);
    }
    /* dim < 4 refused */
    inst J;
    make(&J, VR_HALPERN_GEN_MONOTONE, 2, 3, 0.5, 0.5, 1);
    vr_halpern_gen_spec g = {VR_HALPERN_GEN_MERELY, 2, 3, 0.5, 0.5, 0};
    sv_err e;
    assert_int_equal(vr_halpern_generate(&g, J.M, J.q, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/dim");
    drop(&J);
}

/* The bilinear game min_x max_y x'Ay: gradient descent-ascent moves away from z* = 0 at every
 * step (|z - gamma K z|^2 = |z|^2 + gamma^2 |K z|^2 for the skew K), while vr_halpern reaches
 * it from the same start. */
static void test_bilinear_gda_diverges(void **state)
{
    (void)state;
    inst I;
    int n = 20, d = 10;
    make(&I, VR_HALPERN_GEN_BILINEAR, n, d, 0, 0.5, 5);
    double z[10], gda[10], F[10];
    for (int j = 0; j < d; j++)
        z[j] = gda[j] = 1.0;
    double d0 = sv_nrm2(d, gda), prev = d0;
    for (int k = 0; k < 500; k++) {
        for (int a = 0; a < d; a++) {
            F[a] = 0;
            for (int i = 0; i < n; i++) {
                const double *Mi = I.M + (size_t)i * d * d;
                for (int b = 0; b < d; b++)
                    F[a] += Mi[a * d + b] * gda[b] / n;
            }
        }
        for (int a = 0; a < d; a++)
            gda[a] -= 0.1 * F[a];
        double dist = sv_nrm2(d, gda);
        assert_true(dist > prev);  /* strictly farther at every step */
        prev = dist;
    }
    assert_true(prev > 2.0 * d0);
    vr_halpern_settings s = settings(VR_HALPERN_MONOTONE, VR_HALPERN_VR);
    s.ctl.tol = 1e-3;
    vr_halpern_info info;
    assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    double zero[10] = {0};
    direct_solve(&I, zero);  /* z* = 0: the game's only solution (A nonsingular) */
    assert_true(sv_nrm2(d, zero) < 1e-12);
    assert_true(sv_nrm2(d, z) <= info.residual * inv_sigma_min(&I) * (1 + 1e-6));
    assert_true(sv_nrm2(d, z) < 0.05 * d0);
    drop(&I);
}

typedef struct {
    long count;
    double worst;   /* max over reports of (k + 1) * residual_k */
} trace;

static int watch(const sv_progress *pr, void *data)
{
    trace *t = data;
    double r = sv_test_metric(pr, "residual");
    t->count++;
    if ((double)(pr->iter + 1) * r > t->worst)
        t->worst = (double)(pr->iter + 1) * r;
    return 0;
}

/* Plain Halpern: (k+1) residual_k <= 2 L |u_0 - z*| at every k (T = I - F/L nonexpansive for
 * the 1/L-cocoercive F), and the vr variant's stays within a constant of it on a fixed seed. */
static void test_residual_rate(void **state)
{
    (void)state;
    inst I;
    make(&I, VR_HALPERN_GEN_COCOERCIVE, 40, 8, 0, 0.5, 7);
    double z[8] = {0};
    double D = sv_nrm2(8, I.zs);
    vr_halpern_settings s = settings(VR_HALPERN_COCOERCIVE, VR_HALPERN_PLAIN);
    s.ctl.tol = 0;
    s.ctl.max_iter = 3000;
    s.ctl.report_every = 1;
    trace t = {0, 0};
    sv_monitor mon = {watch, &t, NULL};
    vr_halpern_info info;
    assert_int_equal(vr_halpern_solve(&I.p, &s, &mon, z, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_true(t.count >= 3000);
    if (!(t.worst <= 2.0 * info.L * D * (1 + 1e-9)))
        fail_msg("plain: max (k+1) r_k = %g > 2 L D = %g", t.worst, 2.0 * info.L * D);
    assert_true(info.residual * 3001 <= 2.0 * info.L * D * (1 + 1e-9));
    /* and it is not far from tight: the residual does not fall much faster than 1/k */
    assert_true(info.residual > 1e-9);

    /* the variance-reduced estimator on the same seed: checks every ceil(sqrt(n)) steps */
    memset(z, 0, sizeof z);
    s = settings(VR_HALPERN_COCOERCIVE, VR_HALPERN_VR);
    s.ctl.tol = 0;
    s.ctl.max_iter = 3000;
    s.ctl.report_every = 1;
    s.check_every = 1;
    t = (trace){0, 0};
    assert_int_equal(vr_halpern_solve(&I.p, &s, &mon, z, &info, NULL), SV_OK);
    if (!(t.worst <= 10.0 * info.L * D))
        fail_msg("vr: max (k+1) r_k = %g > 10 L D = %g", t.worst, 10.0 * info.L * D);
    drop(&I);
}

/* The box constraint through the projection: the solution of the VI on [lo, hi] satisfies the
 * fixed-point equation z = P(z - F(z)) to the tolerance, and it differs from the unconstrained
 * one (a bound is active). */
static void test_box(void **state)
{
    (void)state;
    inst I;
    make(&I, VR_HALPERN_GEN_MONOTONE, 20, 6, 0.5, 0.5, 9);
    double lo[6], hi[6], z[6] = {0};
    for (int j = 0; j < 6; j++) {
        lo[j] = -0.05;
        hi[j] = 0.05;
    }
    I.p.lo = lo;
    I.p.hi = hi;
    assert_true(sv_nrminf(6, I.zs) > 0.05);
    vr_halpern_settings s = settings(VR_HALPERN_MONOTONE, VR_HALPERN_VR);
    s.ctl.tol = 1e-4;
    vr_halpern_info info;
    assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    int active = 0;
    for (int j = 0; j < 6; j++) {
        assert_true(z[j] >= lo[j] && z[j] <= hi[j]);
        active += fabs(fabs(z[j]) - 0.05) < 1e-4;
    }
    assert_true(active >= 1);
    /* the same answer from plain Halpern */
    double z2[6] = {0};
    s.variant = VR_HALPERN_PLAIN;
    assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z2, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(sv_test_dist(6, z, z2) < 1e-3);
    /* and from the extragradient baseline, 2n evaluations a step */
    double z3[6] = {0};
    s.variant = VR_HALPERN_EXTRAGRADIENT;
    assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z3, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(info.oracle_calls, (long)I.p.n * (1 + 2 * info.base.iter));
    assert_true(sv_test_dist(6, z, z3) < 1e-3);
    drop(&I);
}

/* The claim of the paper on a fixed seed: to the same residual, vr uses fewer component
 * evaluations than plain Halpern once n is large (measured: see bench/RESULTS.md). */
static void test_fewer_oracle_calls(void **state)
{
    (void)state;
    inst I;
    make(&I, VR_HALPERN_GEN_COCOERCIVE, 400, 8, 0, 0.3, 11);
    long calls[2];
    for (int v = 0; v < 2; v++) {
        double z[8] = {0};
        vr_halpern_settings s = settings(VR_HALPERN_COCOERCIVE, v);
        s.ctl.tol = 1e-4;
        vr_halpern_info info;
        assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_SOLVED);
        calls[v] = info.oracle_calls;
    }
    if (!(calls[VR_HALPERN_VR] < calls[VR_HALPERN_PLAIN]))
        fail_msg("vr %ld calls, plain %ld", calls[0], calls[1]);
    drop(&I);
}

static void test_seeded(void **state)
{
    (void)state;
    inst I;
    make(&I, VR_HALPERN_GEN_MONOTONE, 15, 5, 0.5, 0.5, 2);
    double a[5] = {0}, b[5] = {0};
    vr_halpern_settings s = settings(VR_HALPERN_MONOTONE, VR_HALPERN_VR);
    s.ctl.max_iter = 50;
    s.seed = 4;
    vr_halpern_info ia, ib;
    assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, a, &ia, NULL), SV_OK);
    assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, b, &ib, NULL), SV_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(ia.oracle_calls, ib.oracle_calls);
    drop(&I);
}

static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    inst I;
    make(&I, VR_HALPERN_GEN_BILINEAR, 10, 4, 0, 0.5, 1);
    for (int setting = 0; setting < 2; setting++) {
        vr_halpern_settings s = settings(setting, VR_HALPERN_VR);
        s.ctl.tol = 0;
        s.ctl.max_iter = 1000000000L;
        s.ctl.report_every = 1000000000L;
        s.L = 1e6;  /* tiny steps: never solved */
        double z[4] = {1, 1, 1, 1};
        vr_halpern_info info;
        int polls = 0;
        sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
        assert_int_equal(vr_halpern_solve(&I.p, &s, &mon, z, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_CANCELLED);
        s.ctl.time_limit_s = 0.2;
        assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_TIME_LIMIT);
        assert_true(isfinite(info.residual));
    }
    drop(&I);
}

static void test_bad_input(void **state)
{
    (void)state;
    inst I;
    make(&I, VR_HALPERN_GEN_MONOTONE, 4, 3, 0.5, 0.5, 1);
    vr_halpern_settings s = settings(VR_HALPERN_MONOTONE, VR_HALPERN_VR);
    double z[3] = {0}, lo[3] = {0, 1, 0}, hi[3] = {1, 0, 1};
    vr_halpern_info info;
    sv_err e;
    s.batch = 5;
    assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/batch");
    s.batch = 0;
    s.p = 1.5;
    assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/p");
    s.p = NAN;
    I.p.lo = lo;
    I.p.hi = hi;
    assert_int_equal(vr_halpern_solve(&I.p, &s, NULL, z, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/lo");
    vr_halpern_gen_spec g = {VR_HALPERN_GEN_BILINEAR, 2, 3, 0, 0, 0};
    assert_int_equal(vr_halpern_generate(&g, I.M, I.q, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/dim");
    drop(&I);
}

/* ---- the codec ---- */

#define GEN "\"generate\": {\"components\": 4, \"dim\": 4}"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_vr_halpern;
    sv_test_codec_ok(C, "{" GEN "}", NULL);
    sv_test_codec_ok(C, "{" GEN ", \"lo\": [0, null, 0, 0], \"z0\": [1, 1, 1, 1]}", NULL);
    sv_test_codec_error(C, "{" GEN ", \"lo\": [0, 0]}", NULL, "/problem/lo");
    sv_test_codec_error(C, "{" GEN ", \"hi\": [0, \"x\", 0, 0]}", NULL, "/problem/hi/1");
    sv_test_codec_error(C, "{" GEN ", \"lo\": [1, 0, 0, 0], \"hi\": [0, 1, 1, 1]}", NULL,
                        "/problem/lo");
    sv_test_codec_error(C, "{" GEN ", \"z0\": [1]}", NULL, "/problem/z0");
    sv_test_codec_error(C, "{\"generate\": {\"components\": 4, \"dim\": 3, \"kind\":"
                        " \"bilinear\"}}", NULL, "/problem/generate/dim");
    sv_test_codec_error(C, "{\"generate\": {\"components\": 0, \"dim\": 4}}", NULL,
                        "/problem/generate/components");
    sv_test_codec_error(C, "{\"generate\": {\"dim\": 4}}", NULL,
                        "/problem/generate/components");
    sv_test_codec_error(C, "{\"generate\": {\"components\": 4, \"dim\": 4, \"skw\": 1}}",
                        NULL, "/problem/generate/skw");
    sv_test_codec_error(C, "{" GEN "}", "{\"batch\": 5}", "/params/batch");
    sv_test_codec_error(C, "{" GEN "}", "{\"operator\": \"strong\"}", "/params/operator");
    sv_test_codec_error(C, "{" GEN "}", "{\"variant\": \"fast\"}", "/params/variant");
    sv_test_codec_error(C, "{" GEN "}", "{\"p\": 0}", "/params/p");
    sv_test_codec_error(C, "{\"components\": [{\"M\": [[1, 0], [0, 1]], \"q\": [1]}]}", NULL,
                        "/problem/components/0/q");
    sv_test_codec_error(C, "{\"components\": [{\"M\": [[1, 0]]}]}", NULL,
                        "/problem/components/0/M");
    sv_test_codec_error(C, "{\"components\": [{\"M\": [[1]]}, {\"M\": [[1, 0], [0, 1]]}]}",
                        NULL, "/problem/components/1/M");
    sv_test_codec_error(C, "{\"components\": [{\"M\": [[1]], \"r\": 1}]}", NULL,
                        "/problem/components/0/r");
    sv_test_codec_error(C, "{\"bilinear\": {\"A\": [[1, 2]], \"b\": [1, 2]}}", NULL,
                        "/problem/bilinear/b");
    sv_test_codec_error(C, "{\"bilinear\": {\"A\": [[[1, 2]], [[1, 2], [3, 4]]]}}", NULL,
                        "/problem/bilinear/A/1");
    sv_test_codec_error(C, "{\"bilinear\": {\"B\": 1}}", NULL, "/problem/bilinear/B");
    sv_test_codec_error(C, "{" GEN ", \"bilinear\": {\"A\": [[1]]}}", NULL, "/problem");
}

/* A 2x2 bilinear game with linear terms, two components: the saddle point by hand. With
 * A = (1/2)(A_1 + A_2) = [[2, 0], [0, 1]], b = (2, -1), c = (4, 3): A y = -b gives y = (-1, 1),
 * A'x = c gives x = (2, 3). */
static void test_codec_bilinear(void **state)
{
    (void)state;
    const char *problem =
        "{\"bilinear\": {\"A\": [[[3, 1], [0, 1]], [[1, -1], [0, 1]]], \"b\": [2, -1],"
        " \"c\": [4, 3]}}";
    json_t *r = sv_test_codec_run(&sv_codec_vr_halpern, problem, "{\"tol\": 1e-4}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    double xs[2] = {2, 3}, ys[2] = {-1, 1};
    json_t *x = json_object_get(r, "x"), *y = json_object_get(r, "y");
    for (int j = 0; j < 2; j++) {
        assert_true(fabs(json_number_value(json_array_get(x, (size_t)j)) - xs[j]) < 1e-3);
        assert_true(fabs(json_number_value(json_array_get(y, (size_t)j)) - ys[j]) < 1e-3);
    }
    assert_true(json_number_value(json_object_get(r, "residual")) <= 1e-4);
    assert_int_equal(json_integer_value(json_object_get(r, "components")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "dim")), 4);
    json_decref(r);
}

/* Explicit components on a box: F(z) = z - (2, -2) on [-1, 1]^2 (two non-symmetric
 * components averaging to it) has the VI solution (1, -1), where F points out of the box. */
static void test_codec_components_box(void **state)
{
    (void)state;
    const char *problem =
        "{\"components\": [{\"M\": [[2, 1], [-1, 0]], \"q\": [-4, 0]},"
        " {\"M\": [[0, -1], [1, 2]], \"q\": [0, 4]}], \"lo\": [-1, -1], \"hi\": [1, 1]}";
    json_t *r = sv_test_codec_run(&sv_codec_vr_halpern, problem,
                                  "{\"tol\": 1e-4, \"operator\": \"cocoercive\","
                                  " \"variant\": \"plain\"}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    json_t *z = json_object_get(r, "z");
    /* Halpern from the anchor 0 with T = P(u - F(u)) = (1, -1) for every u: u_k = (1 - 1/(k+1))
     * (1, -1), so the residual is sqrt(2)/(k+1) and the run takes 14142 steps */
    assert_true(fabs(json_number_value(json_array_get(z, 0)) - 1.0) < 1e-4);
    assert_true(fabs(json_number_value(json_array_get(z, 1)) + 1.0) < 1e-4);
    assert_int_equal(json_integer_value(json_object_get(r, "iterations")), 14142);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_direct_solve),
        cmocka_unit_test(test_merely_monotone),
        cmocka_unit_test(test_bilinear_gda_diverges),
        cmocka_unit_test(test_residual_rate),
        cmocka_unit_test(test_box),
        cmocka_unit_test(test_fewer_oracle_calls),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_bilinear),
        cmocka_unit_test(test_codec_components_box),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
