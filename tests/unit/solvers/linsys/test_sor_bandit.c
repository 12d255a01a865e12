/* test_sor_bandit.c - SOR and the omega bandits of linsys.sor_bandit
 * (core/solvers/linsys/sor_bandit.c), its generator (sor_bandit_gen.c) and its codec
 * (api/codecs/linsys/sor_bandit.c). Reference answers: a dense Gaussian elimination written
 * here, a textbook Gauss-Seidel written here, the closed-form optimal relaxation of the 1-D
 * Poisson matrix, and the paper's regret claims measured on fixed seeds (the counts depend on
 * the seed and the kernel's own arithmetic, no BLAS call). */
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
#include "core/rng.h"
#include "core/solvers/linsys/sor_bandit.h"
#include "core/solvers/linsys/sor_bandit_gen.h"
#include "support/codec.h"
#include "support/monitor.h"
#include "support/numeric.h"

extern const sv_codec sv_codec_sor_bandit;

/* ---- references ---- */

/* x = (A + shift I)^-1 b by Gaussian elimination with partial pivoting on a dense copy. */
static void dense_solve(const sv_csr *A, double shift, const double *b, double *x)
{
    int n = A->rows;
    double *M = calloc((size_t)n * (n + 1), sizeof *M);
    assert_non_null(M);
    for (int i = 0; i < n; i++) {
        for (int q = A->rowptr[i]; q < A->rowptr[i + 1]; q++)
            M[(size_t)i * (n + 1) + A->colind[q]] += A->val[q];
        M[(size_t)i * (n + 1) + i] += shift;
        M[(size_t)i * (n + 1) + n] = b[i];
    }
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(M[(size_t)r * (n + 1) + c]) > fabs(M[(size_t)piv * (n + 1) + c]))
                piv = r;
        for (int j = 0; j <= n; j++) {
            double t = M[(size_t)c * (n + 1) + j];
            M[(size_t)c * (n + 1) + j] = M[(size_t)piv * (n + 1) + j];
            M[(size_t)piv * (n + 1) + j] = t;
        }
        for (int r = c + 1; r < n; r++) {
            double f = M[(size_t)r * (n + 1) + c] / M[(size_t)c * (n + 1) + c];
            for (int j = c; j <= n; j++)
                M[(size_t)r * (n + 1) + j] -= f * M[(size_t)c * (n + 1) + j];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double s = M[(size_t)r * (n + 1) + n];
        for (int j = r + 1; j < n; j++)
            s -= M[(size_t)r * (n + 1) + j] * x[j];
        x[r] = s / M[(size_t)r * (n + 1) + r];
    }
    free(M);
}

/* |b - (A + shift I) x| / |b|. */
static double rel_residual(const sv_csr *A, double shift, const double *b, const double *x)
{
    double rr = 0, bb = 0;
    for (int i = 0; i < A->rows; i++) {
        double r = b[i] - shift * x[i];
        for (int q = A->rowptr[i]; q < A->rowptr[i + 1]; q++)
            r -= A->val[q] * x[A->colind[q]];
        rr += r * r;
        bb += b[i] * b[i];
    }
    return sqrt(rr / bb);
}

/* A random diagonally dominant, non-symmetric sparse matrix (about 4 off-diagonal entries a row). */
static void random_matrix(int n, uint64_t seed, sv_csr *A)
{
    sv_rng r;
    sv_rng_seed(&r, seed);
    assert_int_equal(sv_csr_alloc(A, n, n, 5 * n), SV_OK);
    int q = 0;
    for (int i = 0; i < n; i++) {
        A->rowptr[i] = q;
        double off = 0;
        int start = q;
        for (int j = 0; j < n; j++) {
            if (j != i && sv_rng_uniform(&r) > 4.0 / n)
                continue;
            if (q - start == 5)
                break;
            A->colind[q] = j;
            A->val[q] = j == i ? 0 : sv_rng_uniform(&r) - 0.5;
            off += fabs(A->val[q]);
            q++;
        }
        int has_diag = 0;
        for (int s = start; s < q; s++)
            if (A->colind[s] == i) {
                A->val[s] = off + 1.0;
                has_diag = 1;
            }
        if (!has_diag) {  /* the row filled up before the diagonal: make the last entry it */
            A->colind[q - 1] = i;
            A->val[q - 1] = 0;
            q--;
            off = 0;
            for (int s = start; s < q; s++)
                off += fabs(A->val[s]);
            /* keep the columns sorted: the diagonal comes after the earlier (smaller) ones */
            A->colind[q] = i;
            A->val[q] = off + 1.0;
            q++;
        }
    }
    A->rowptr[n] = q;
    A->nnz = q;
}

/* ---- the SOR kernel ---- */

static void test_sor_matches_direct_solve(void **state)
{
    (void)state;
    struct { int kind; double shift, omega; } cases[] = {
        {0, 0.0, 1.3}, {0, 0.0, 0.7}, {1, 0.0, 1.0}, {1, 0.0, 1.5}, {2, 0.3, 1.7}, {2, -0.1, 1.9},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sv_csr A;
        if (cases[c].kind == 0)
            random_matrix(40, 3 + c, &A);
        else
            assert_int_equal(sor_bandit_poisson(cases[c].kind, cases[c].kind == 1 ? 30 : 7, &A),
                             SV_OK);
        int n = A.rows, *diag = malloc((size_t)n * sizeof *diag);
        double *b = malloc((size_t)n * sizeof *b), *x = malloc((size_t)n * sizeof *x);
        double *ref = malloc((size_t)n * sizeof *ref), *w = malloc(2 * (size_t)n * sizeof *w);
        sv_rng r;
        sv_rng_seed(&r, 11 + c);
        for (int i = 0; i < n; i++)
            b[i] = sv_rng_normal(&r);
        assert_int_equal(sor_bandit_diag_index(&A, cases[c].shift, diag, NULL), SV_OK);
        double rel;
        int stopped;
        long k = sor_bandit_sor(&A, diag, cases[c].shift, b, cases[c].omega, 1e-12, 100000, x, w,
                                NULL, &stopped, &rel);
        dense_solve(&A, cases[c].shift, b, ref);
        assert_false(stopped);
        assert_true(k > 1 && k < 100000);
        assert_true(rel <= 1e-12);
        /* the kernel's residual from the correction is the true one */
        double truth = rel_residual(&A, cases[c].shift, b, x);
        assert_true(truth <= 1.01e-12);
        assert_true(fabs(truth - rel) <= 1e-3 * rel + 1e-15);
        double scale = 0;
        for (int i = 0; i < n; i++)
            scale = fmax(scale, fabs(ref[i]));
        assert_true(sv_test_max_abs_diff(n, x, ref) <= 1e-9 * scale);
        /* one iteration fewer does not meet the tolerance */
        sor_bandit_sor(&A, diag, cases[c].shift, b, cases[c].omega, 1e-12, k - 1, x, w, NULL,
                       NULL, &rel);
        assert_true(rel > 1e-12);
        free(diag);
        free(b);
        free(x);
        free(ref);
        free(w);
        sv_csr_free(&A);
    }
}

/* omega = 1 is Gauss-Seidel: the iterates of the textbook sweep x_i = (b_i - sum_{j != i}
 * a_ij x_j) / a_ii after every iteration count, and the same count to a tolerance. */
static void test_omega_one_is_gauss_seidel(void **state)
{
    (void)state;
    sv_csr A;
    random_matrix(50, 7, &A);
    int n = A.rows, *diag = malloc((size_t)n * sizeof *diag);
    double *b = malloc((size_t)n * sizeof *b), *x = malloc((size_t)n * sizeof *x);
    double *gs = calloc((size_t)n, sizeof *gs), *w = malloc(2 * (size_t)n * sizeof *w);
    for (int i = 0; i < n; i++)
        b[i] = 1.0 + i % 3;
    assert_int_equal(sor_bandit_diag_index(&A, 0, diag, NULL), SV_OK);
    long gs_count = -1;
    for (int k = 1; k <= 60; k++) {
        for (int i = 0; i < n; i++) {
            double s = b[i], aii = 0;
            for (int q = A.rowptr[i]; q < A.rowptr[i + 1]; q++) {
                if (A.colind[q] == i)
                    aii = A.val[q];
                else
                    s -= A.val[q] * gs[A.colind[q]];
            }
            gs[i] = s / aii;
        }
        if (gs_count < 0 && rel_residual(&A, 0, b, gs) <= 1e-10)
            gs_count = k;
        double rel;
        long it = sor_bandit_sor(&A, diag, 0, b, 1.0, 0, k, x, w, NULL, NULL, &rel);
        assert_int_equal(it, k);
        double scale = 0;
        for (int i = 0; i < n; i++)
            scale = fmax(scale, fabs(gs[i]));
        assert_true(sv_test_max_abs_diff(n, x, gs) <= 1e-13 * scale);
    }
    assert_true(gs_count > 3);
    double rel;
    assert_int_equal(sor_bandit_sor(&A, diag, 0, b, 1.0, 1e-10, 1000, x, w, NULL, NULL, &rel),
                     gs_count);
    free(diag);
    free(b);
    free(x);
    free(gs);
    free(w);
    sv_csr_free(&A);
}

/* Young's closed form: for the 1-D Poisson matrix tridiag(-1, 2, -1) with h = 1 / (m + 1), the
 * Jacobi iteration's spectral radius is cos(pi h) and the optimal relaxation is
 * omega* = 2 / (1 + sin(pi h)). On a grid of 21 omegas centred on omega* with spacing 0.02, the
 * sweep's best omega is omega* itself, the counts fall towards it and rise after it. */
static void test_optimal_omega_1d_poisson(void **state)
{
    (void)state;
    int sizes[] = {16, 32, 64};
    for (int c = 0; c < 3; c++) {
        int m = sizes[c];
        double ws = 2.0 / (1.0 + sin(M_PI / (m + 1.0)));
        sor_bandit_data d;
        assert_int_equal(sor_bandit_data_alloc(&d, 1, 1, (size_t)m), SV_OK);
        assert_int_equal(sor_bandit_poisson(1, m, &d.mats[0]), SV_OK);
        sv_rng r;
        sv_rng_seed(&r, 5);
        for (int i = 0; i < m; i++)
            d.rhs[i] = sv_rng_normal(&r);
        d.inst[0] = (sor_bandit_instance){0, 0.0, d.rhs, NAN};
        sor_bandit_settings s;
        sor_bandit_settings_default(&s);
        s.algorithm = SOR_BANDIT_SWEEP;
        s.grid = 21;
        s.omega_min = ws - 0.2;
        s.omega_max = fmin(ws + 0.2, 1.999);
        if (s.omega_max < ws + 0.2) {  /* keep omega* the middle point */
            s.omega_min = ws - (s.omega_max - ws);
        }
        double grid[21];
        long totals[21];
        sor_bandit_out o = {.grid_omega = grid, .grid_total = totals};
        sor_bandit_info info;
        sv_err e;
        assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, &o, &info, &e), SV_OK);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(fabs(grid[10] - ws) < 1e-12);
        fprintf(stderr, "m = %d: omega* = %.5f costs %ld, best grid omega %.5f costs %ld\n", m,
                ws, totals[10], info.best_omega, info.best_total);
        assert_true(fabs(info.best_omega - ws) < 1e-12);
        for (int g = 1; g <= 10; g++)
            assert_true(totals[g] <= totals[g - 1]);
        for (int g = 11; g < 21; g++)
            assert_true(totals[g] >= totals[g - 1]);
        /* and Gauss-Seidel is far worse: about 2 / (pi h) times the iterations */
        s.algorithm = SOR_BANDIT_FIXED;
        s.compare = 0;
        s.omega = 1.0;
        assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_OK);
        assert_true(info.total > (m + 1) / 4 * totals[10]);
        sor_bandit_data_free(&d);
    }
}

/* ---- the generator ---- */

static void test_generator(void **state)
{
    (void)state;
    sv_csr A;
    assert_int_equal(sor_bandit_poisson(2, 5, &A), SV_OK);
    assert_int_equal(A.nnz, 5 * 25 - 4 * 5);
    for (int i = 0; i < 25; i++) {
        double rowsum = 0;
        for (int q = A.rowptr[i]; q < A.rowptr[i + 1]; q++) {
            if (q > A.rowptr[i])
                assert_true(A.colind[q] > A.colind[q - 1]);
            rowsum += A.val[q];
            /* symmetric */
            int j = A.colind[q], found = 0;
            for (int p = A.rowptr[j]; p < A.rowptr[j + 1]; p++)
                found |= A.colind[p] == i && A.val[p] == A.val[q];
            assert_true(found);
        }
        int r = i / 5, c = i % 5;
        int boundary = (r == 0) + (r == 4) + (c == 0) + (c == 4);
        assert_true(fabs(rowsum - boundary) < 1e-15);  /* 4 - (4 - boundary neighbours) */
    }
    sv_csr_free(&A);
    /* Beta(2, 6): mean 1/4, variance ab / ((a+b)^2 (a+b+1)) = 12 / 576 */
    sv_rng r;
    sv_rng_seed(&r, 9);
    double m1 = 0, m2 = 0;
    const int N = 200000;
    for (int i = 0; i < N; i++) {
        double x = sor_bandit_beta(&r, 2, 6);
        assert_true(x >= 0 && x <= 1);
        m1 += x / N;
        m2 += x * x / N;
    }
    assert_true(fabs(m1 - 0.25) < 5 * sqrt(12.0 / 576 / N));
    assert_true(fabs(m2 - m1 * m1 - 12.0 / 576) < 1e-3);
    sor_bandit_gen_spec g;
    sv_params_defaults(sor_bandit_gen_params, &g);
    g.instances = 500;
    sor_bandit_data d;
    sv_err e;
    assert_int_equal(sor_bandit_generate(&g, &d, &e), SV_OK);
    double mean = 0;
    for (int t = 0; t < 500; t++) {
        const sor_bandit_instance *in = &d.inst[t];
        assert_true(in->shift >= -0.15 && in->shift <= 0.45);
        assert_true(in->context == in->shift);
        double bb = 0;
        for (int i = 0; i < 100; i++)
            bb += in->b[i] * in->b[i];
        assert_true(bb <= 100.0);
        mean += in->shift / 500;
    }
    /* E c = -0.15 + 0.6 * 0.5 / 2 = 0 */
    assert_true(fabs(mean) < 0.03);
    sor_bandit_data_free(&d);
    g.c_lo = -0.17;  /* below minus the least eigenvalue 4 (1 - cos(pi / 11)) = 0.162 */
    assert_int_equal(sor_bandit_generate(&g, &d, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/c_lo");
}

/* The diffusion kind: c = 0 is the Poisson matrix; otherwise symmetric, diagonally dominant
 * (row sums = the boundary faces' coefficients, positive), entries exp(c (x + y)) at the faces;
 * and a contextual run on it ends solved with every instance converged. */
static void test_diffusion_generator(void **state)
{
    (void)state;
    sv_csr P, D;
    assert_int_equal(sor_bandit_poisson(2, 6, &P), SV_OK);
    assert_int_equal(sor_bandit_diffusion(2, 6, 0.0, &D), SV_OK);
    assert_int_equal(P.nnz, D.nnz);
    assert_memory_equal(P.colind, D.colind, sizeof(int) * (size_t)P.nnz);
    assert_true(sv_test_max_abs_diff(P.nnz, P.val, D.val) == 0);
    sv_csr_free(&D);
    assert_int_equal(sor_bandit_diffusion(2, 6, 2.0, &D), SV_OK);
    const double h = 1.0 / 7;
    for (int i = 0; i < 36; i++) {
        double rowsum = 0;
        for (int q = D.rowptr[i]; q < D.rowptr[i + 1]; q++) {
            int j = D.colind[q], found = 0;
            rowsum += D.val[q];
            for (int p = D.rowptr[j]; p < D.rowptr[j + 1]; p++)
                found |= D.colind[p] == i && fabs(D.val[p] - D.val[q]) <= 1e-15 * fabs(D.val[q]);
            assert_true(found);
        }
        assert_true(rowsum >= -1e-12);
    }
    /* the face between unknowns 0 and 1, at (1.5 h, h) */
    assert_true(fabs(D.val[D.rowptr[0] + 1] + exp(2.0 * 2.5 * h)) < 1e-14);
    sv_csr_free(&D);
    sv_csr_free(&P);
    sor_bandit_gen_spec g;
    sv_params_defaults(sor_bandit_gen_params, &g);
    g.kind = SOR_BANDIT_GEN_DIFFUSION;
    g.instances = 40;
    g.grid = 6;
    g.c_lo = -1;
    g.c_width = 3;
    sor_bandit_data d;
    sv_err e;
    assert_int_equal(sor_bandit_generate(&g, &d, &e), SV_OK);
    assert_int_equal(d.prob.n_mats, 40);
    sor_bandit_settings s;
    sor_bandit_settings_default(&s);
    s.algorithm = SOR_BANDIT_CONTEXTUAL;
    sor_bandit_info info;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(info.unconverged, 0);
    assert_true(info.instance_optimal <= info.best_total && info.best_total <= info.total);
    sor_bandit_data_free(&d);
    g.c_width = 60;
    assert_int_equal(sor_bandit_generate(&g, &d, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/c_width");
}

/* ---- the bandits ---- */

static void gen_sequence(sor_bandit_data *d, int T, int grid, double a, double b, uint64_t seed)
{
    sor_bandit_gen_spec g;
    sv_params_defaults(sor_bandit_gen_params, &g);
    g.instances = T;
    g.grid = grid;
    g.beta_a = a;
    g.beta_b = b;
    g.seed = seed;
    sv_err e;
    assert_int_equal(sor_bandit_generate(&g, d, &e), SV_OK);
}

/* The paper's claim for Tsallis-INF (its theorem on the bandit over the omega grid): regret
 * against the best fixed grid omega grows like sqrt(d T) - the Zimmert-Seldin bound
 * 4 sqrt(d T) + 1 for costs normalised to [0, 1], here costs 1 .. K with K the largest the
 * bandit paid - so the average regret falls with T. That bound is loose; what binds is the
 * measured behaviour on the seed (6 x 6 grid, high-variance shifts): regret 4388 after 200
 * instances, 9169 after 1000 (21.9 and 9.2 an instance); after 1000 the bandit's 37359
 * iterations against 28190 for the best fixed omega 1.45 and 86462 for omega = 1. */
/* The regret metric of the report at instance 200 (report_every 200). */
static int regret_at_200(const sv_progress *p, void *data)
{
    if (p->iter == 200)
        *(double *)data = sv_test_metric(p, "regret");
    return 0;
}

static void test_tsallis_inf_regret(void **state)
{
    (void)state;
    sor_bandit_data d;
    gen_sequence(&d, 1000, 6, 0.5, 1.5, 1);
    sor_bandit_settings s;
    sor_bandit_settings_default(&s);
    s.ctl.report_every = 200;
    long *its = malloc(1000 * sizeof *its), *best = malloc(1000 * sizeof *best), totals[20];
    double *om = malloc(1000 * sizeof *om), grid[20], regret200 = NAN;
    sor_bandit_out o = {om, its, best, grid, totals};
    sor_bandit_info info;
    sv_err e;
    sv_monitor mon = {regret_at_200, &regret200, NULL};
    assert_int_equal(sor_bandit_solve(&d.prob, &s, &mon, &o, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(info.base.iter, 1000);
    long K = 0, K200 = 0, sum = 0, sum_best = 0;
    for (int t = 0; t < 1000; t++) {
        sum += its[t];
        sum_best += best[t];
        K = its[t] > K ? its[t] : K;  /* the largest cost the bandit paid */
        if (t == 199)
            K200 = K;
    }
    assert_int_equal(sum, info.total);
    assert_int_equal(sum_best, info.best_total);
    assert_int_equal(info.regret, info.total - info.best_total);
    double mean_grid = 0;
    for (int g = 0; g < 20; g++)
        mean_grid += totals[g] / 20.0;
    fprintf(stderr, "T = 1000: bandit %ld, best fixed %ld (omega %.2f), regret %ld (%.0f at 200),"
            " omega=1 %ld, mean grid omega %.0f\n", info.total, info.best_total, info.best_omega,
            info.regret, regret200, totals[0], mean_grid);
    /* the theorem's bound at T = 200 and T = 1000 */
    assert_true(regret200 <= (4.0 * sqrt(20.0 * 200) + 1.0) * (double)(K200 - 1));
    assert_true((double)info.regret <= (4.0 * sqrt(20.0 * 1000) + 1.0) * (double)(K - 1));
    /* sublinear: the average regret at T = 1000 is at most 0.6 of that at T = 200 */
    assert_true(isfinite(regret200) && regret200 > 0);
    assert_true(info.regret / 1000.0 <= 0.6 * regret200 / 200.0);
    /* after 1000 instances the bandit is within 40% of the best fixed omega, better than the
     * average grid omega (uniform play: measured 37359 against 76848) and than omega = 1 by 2x */
    assert_true(info.total <= 1.4 * info.best_total);
    assert_true(info.total < 0.6 * mean_grid);
    assert_true(2 * info.total < totals[0]);
    free(its);
    free(best);
    free(om);
    sor_bandit_data_free(&d);
}

/* The contextual claim: with the shift as context, ChebCB approaches the instance-optimal
 * policy and beats the best fixed omega, on the paper's 10 x 10 grid with its high-variance
 * shifts (measured: 82576 iterations against 103753 for the best fixed omega, 58138 for the
 * instance-optimal grid policy, after 1000 instances). */
static void test_contextual_beats_best_fixed(void **state)
{
    (void)state;
    sor_bandit_data d;
    gen_sequence(&d, 1000, 10, 0.5, 1.5, 1);
    sor_bandit_settings s;
    sor_bandit_settings_default(&s);
    s.algorithm = SOR_BANDIT_CONTEXTUAL;
    sor_bandit_info info;
    sv_err e;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_OK);
    fprintf(stderr, "ChebCB %ld, best fixed %ld, instance-optimal %ld\n", info.total,
            info.best_total, info.instance_optimal);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(info.instance_optimal <= info.best_total);
    assert_true(info.total < info.best_total);
    assert_true(info.context_lo >= -0.15 && info.context_hi <= 0.45);
    sor_bandit_data_free(&d);
}

/* fixed and sweep against each other; one seed, one sequence of omegas. */
static void test_fixed_sweep_and_seed(void **state)
{
    (void)state;
    sor_bandit_data d;
    gen_sequence(&d, 60, 5, 2, 6, 3);
    sor_bandit_settings s;
    sor_bandit_settings_default(&s);
    s.grid = 5;
    s.omega_min = 1.0;
    s.omega_max = 1.8;
    long totals[5], its[60];
    double grid[5], om[60];
    sor_bandit_out o = {om, its, NULL, grid, totals};
    sor_bandit_info sweep, fixed, a, b;
    sv_err e;
    s.algorithm = SOR_BANDIT_SWEEP;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, &o, &sweep, &e), SV_OK);
    long lo = totals[0];
    for (int g = 1; g < 5; g++)
        lo = totals[g] < lo ? totals[g] : lo;
    assert_int_equal(sweep.total, lo);
    assert_int_equal(sweep.regret, 0);
    assert_true(fabs(grid[2] - 1.4) < 1e-15);
    for (int t = 0; t < 60; t++)
        assert_true(om[t] == sweep.best_omega);
    s.algorithm = SOR_BANDIT_FIXED;
    s.omega = 1.4;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, &o, &fixed, &e), SV_OK);
    assert_int_equal(fixed.total, totals[2]);
    assert_int_equal(fixed.regret, totals[2] - lo);
    s.algorithm = SOR_BANDIT_TSALLIS_INF;
    s.seed = 4;
    double om2[60];
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, &o, &a, &e), SV_OK);
    memcpy(om2, om, sizeof om);
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, &o, &b, &e), SV_OK);
    assert_memory_equal(om, om2, sizeof om);
    assert_int_equal(a.total, b.total);
    s.seed = 5;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, &o, &b, &e), SV_OK);
    assert_true(memcmp(om, om2, sizeof om) != 0);
    /* without the comparison no grid figures */
    s.compare = 0;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, &o, &b, &e), SV_OK);
    assert_false(b.compared);
    assert_int_equal(b.sor_iterations_run, b.total);
    sor_bandit_data_free(&d);
}

/* A stop request is read between instances and inside one long SOR solve; a time limit holds
 * with a huge report_every. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    /* one long solve: 1-D Poisson with 200000 unknowns, tol 0 */
    const int n = 200000;
    sor_bandit_data d;
    assert_int_equal(sor_bandit_data_alloc(&d, 1, 100000, (size_t)n), SV_OK);
    assert_int_equal(sor_bandit_poisson(1, n, &d.mats[0]), SV_OK);
    for (int i = 0; i < n; i++)
        d.rhs[i] = 1.0;
    for (int t = 0; t < 100000; t++)
        d.inst[t] = (sor_bandit_instance){0, 0.01 * (t % 7), d.rhs, 0.01 * (t % 7)};
    sor_bandit_settings s;
    sor_bandit_settings_default(&s);
    s.ctl.tol = 0;
    s.sor_max_iter = 1000000000L;
    s.ctl.report_every = 1000000000L;
    s.compare = 0;
    sor_bandit_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    d.prob.n_instances = 1;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, &mon, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 0);  /* the instance was not finished */
    assert_true(polls >= 100);
    s.ctl.time_limit_s = 0.2;
    double t0 = sv_now_s();
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(sv_now_s() - t0 < 5.0);
    /* many short instances: the polls between instances */
    sv_csr_free(&d.mats[0]);
    assert_int_equal(sor_bandit_poisson(2, 8, &d.mats[0]), SV_OK);
    s.ctl.tol = 1e-8;
    s.ctl.time_limit_s = 0;
    s.compare = 1;
    d.prob.n_instances = 100000;
    polls = 0;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, &mon, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 200);
    s.ctl.time_limit_s = 0.2;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.base.iter > 0 && info.base.iter < 100000);
    sor_bandit_data_free(&d);
}

static void test_bad_input(void **state)
{
    (void)state;
    sor_bandit_data d;
    assert_int_equal(sor_bandit_data_alloc(&d, 1, 2, 3), SV_OK);
    sv_csr *A = &d.mats[0];
    assert_int_equal(sv_csr_alloc(A, 3, 3, 5), SV_OK);
    int rp[] = {0, 2, 3, 5}, ci[] = {0, 1, 0, 1, 2};  /* row 1 has no diagonal */
    double v[] = {2, -1, -1, -1, 2};
    memcpy(A->rowptr, rp, sizeof rp);
    memcpy(A->colind, ci, sizeof ci);
    memcpy(A->val, v, sizeof v);
    for (int i = 0; i < 3; i++)
        d.rhs[i] = 1;
    d.inst[0] = (sor_bandit_instance){0, 0.0, d.rhs, 0.0};
    d.inst[1] = (sor_bandit_instance){0, 0.0, d.rhs, NAN};
    sor_bandit_settings s;
    sor_bandit_settings_default(&s);
    sor_bandit_info info;
    sv_err e;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/instances/0/A");
    A->colind[2] = 1;  /* now (1, 1) = -1: present */
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_OK);
    d.inst[1].shift = 1.0;  /* (1, 1) + 1 = 0 */
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/instances/1/A");
    /* a stored zero diagonal is fine once every instance's shift makes it non-zero:
     * A + 3 I = [[5, -1, 0], [0, 3, 0], [0, -1, 5]] (entry (1, 1) is 0 + 3) */
    A->val[2] = 0;
    d.inst[0].shift = d.inst[1].shift = 3.0;
    s.ctl.tol = 1e-12;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(info.unconverged, 0);
    d.inst[0].shift = 0.0;  /* (1, 1) + 0 = 0 */
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/instances/0/A");
    A->val[2] = -1;
    d.inst[1].shift = 0.0;
    s.algorithm = SOR_BANDIT_CONTEXTUAL;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/instances/1/context");
    s.algorithm = SOR_BANDIT_TSALLIS_INF;
    s.omega_max = 0.9;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/omega_max");
    s.omega_max = 1.95;
    s.omega = 2.0;
    assert_int_equal(sor_bandit_solve(&d.prob, &s, NULL, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/omega");
    sor_bandit_data_free(&d);
}

/* ---- the codec ---- */

#define TWO "{\"instances\": [{\"A\": [[4, -1], [-1, 4]], \"b\": [1, 2]}," \
            " {\"A\": {\"rows\": 2, \"cols\": 2, \"indptr\": [0, 2, 4], \"indices\": [0, 1, 0, 1]," \
            " \"data\": [3, 1, 1, 3]}, \"b\": [1, 0], \"shift\": 0.5}]}"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_sor_bandit;
    sv_test_codec_ok(C, TWO, NULL);
    sv_test_codec_ok(C, "{\"generate\": {\"instances\": 10}}", "{\"algorithm\": \"contextual\"}");
    sv_test_codec_ok(C, "{\"generate\": {\"instances\": 10, \"kind\": \"diffusion\"}}", NULL);
    sv_test_codec_error(C, "{\"generate\": {\"instances\": 10, \"kind\": \"heat\"}}", NULL,
                        "/problem/generate/kind");
    sv_test_codec_error(C, "{\"generate\": {\"instances\": 3000, \"grid\": 30, \"kind\":"
                        " \"diffusion\"}}", NULL, "/problem/generate/instances");
    sv_test_codec_ok(C, "{\"shifts\": [0, 0.1], \"A\": [[2, -1], [-1, 2]], \"b\": [1, 1]}", NULL);
    sv_test_codec_error(C, "{\"instances\": []}", NULL, "/problem/instances");
    sv_test_codec_error(C, "{\"instances\": [{\"A\": [[1, 2]], \"b\": [1]}]}", NULL,
                        "/problem/instances/0/A");
    sv_test_codec_error(C, "{\"instances\": [{\"A\": [[1, 0], [0, 1]], \"b\": [1]}]}", NULL,
                        "/problem/instances/0/b");
    sv_test_codec_error(C, "{\"instances\": [{\"A\": [[1, 0], [0, 1]], \"b\": [1, 1],"
                        " \"rhs\": 1}]}", NULL, "/problem/instances/0/rhs");
    sv_test_codec_error(C, "{\"instances\": [{\"A\": [[1, 0], [0, 1]], \"b\": [1, 1],"
                        " \"shift\": \"x\"}]}", NULL, "/problem/instances/0/shift");
    sv_test_codec_error(C, "{\"instances\": [{\"A\": [[1, 0], [0, 0]], \"b\": [1, 1]}]}", NULL,
                        "/problem/instances/0/A");
    sv_test_codec_error(C, TWO, "{\"algorithm\": \"contextual\"}", "/problem/instances/0/context");
    sv_test_codec_error(C, "{\"instances\": [{\"A\": {\"rows\": 2, \"cols\": 2, \"row\": [0, 1],"
                        " \"col\": [0, 5], \"data\": [1, 1]}, \"b\": [1, 1]}]}", NULL,
                        "/problem/instances/0/A/col/1");
    sv_test_codec_error(C, "{\"shifts\": [0, 0.1], \"A\": [[2, -1], [-1, 2]],"
                        " \"b\": [[1, 1]]}", NULL, "/problem/b");
    sv_test_codec_error(C, "{\"shifts\": [0, 0.1], \"A\": [[2, -1], [-1, 2]],"
                        " \"b\": [[1, 1], [1]]}", NULL, "/problem/b/1");
    sv_test_codec_error(C, "{\"shifts\": [0, -2], \"A\": [[2, -1], [-1, 2]], \"b\": [1, 1]}",
                        NULL, "/problem/instances/1/A");
    sv_test_codec_error(C, "{\"shifts\": [0], \"A\": [[2]], \"b\": [1], \"contexts\": [1, 2]}",
                        NULL, "/problem/contexts");
    sv_test_codec_error(C, "{\"shifts\": [0], \"b\": [1]}", NULL, "/problem/A");
    sv_test_codec_error(C, "{\"generate\": {}}", NULL, "/problem/generate/instances");
    sv_test_codec_error(C, "{\"generate\": {\"instances\": 5, \"dim\": 3}}", NULL,
                        "/problem/generate/dim");
    sv_test_codec_error(C, "{\"generate\": {\"instances\": 5, \"c_lo\": -1}}", NULL,
                        "/problem/generate/c_lo");
    sv_test_codec_error(C, "{\"generate\": {\"instances\": 20000, \"grid\": 1000, \"dim\": 1,"
                        " \"c_lo\": 0}}", NULL, "/problem/generate/instances");
    sv_test_codec_error(C, "{\"generate\": {\"instances\": 2, \"grid\": 1000, \"c_lo\": 0}}",
                        NULL, "/problem/generate/grid");
    sv_test_codec_error(C, "{\"generate\": {\"instances\": 5, \"gird\": 3}}", NULL,
                        "/problem/generate/gird");
    sv_test_codec_error(C, "{\"generate\": {\"instances\": 5}, \"A\": [[1]]}", NULL, "/problem/A");
    sv_test_codec_error(C, "{\"generate\": {\"instances\": 5}, \"shifts\": [1]}", NULL, "/problem");
    sv_test_codec_error(C, TWO, "{\"algorithm\": \"ucb\"}", "/params/algorithm");
    sv_test_codec_error(C, TWO, "{\"omega_min\": 1.5, \"omega_max\": 1.2}", "/params/omega_max");
    sv_test_codec_error(C, TWO, "{\"grid\": 0}", "/params/grid");
    sv_test_codec_error(C, TWO, "{\"context_lo\": 1, \"context_hi\": 0}", "/params/context_hi");
    sv_test_codec_error(C, TWO, "{\"omegaa\": 1}", "/params/omegaa");
}

/* Two explicit systems by hand: x = A^-1 b checked through the counts and fields. */
static void test_codec_run(void **state)
{
    (void)state;
    json_t *r = sv_test_codec_run(&sv_codec_sor_bandit, TWO,
                                  "{\"algorithm\": \"fixed\", \"omega\": 1.1, \"grid\": 3,"
                                  " \"omega_min\": 1.0, \"omega_max\": 1.2, \"tol\": 1e-10}",
                                  NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_int_equal(json_integer_value(json_object_get(r, "iterations")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "algorithm")), "fixed");
    json_t *om = json_object_get(r, "omega"), *it = json_object_get(r, "sor_iterations");
    assert_int_equal(json_array_size(om), 2);
    assert_true(json_real_value(json_array_get(om, 1)) == 1.1);
    long total = json_integer_value(json_array_get(it, 0)) +
                 json_integer_value(json_array_get(it, 1));
    assert_int_equal(json_integer_value(json_object_get(r, "total_iterations")), total);
    assert_true(json_number_value(json_object_get(r, "objective")) == (double)total);
    /* omega 1.1 is the grid's middle point: its total is the run's */
    json_t *gt = json_object_get(r, "grid_totals");
    assert_int_equal(json_array_size(gt), 3);
    assert_int_equal(json_integer_value(json_array_get(gt, 1)), total);
    long best = json_integer_value(json_object_get(r, "best_fixed_total"));
    assert_int_equal(json_integer_value(json_object_get(r, "regret")), total - best);
    assert_true(json_real_value(json_object_get(r, "last_relative_residual")) <= 1e-10);
    json_decref(r);
    r = sv_test_codec_run(&sv_codec_sor_bandit,
                          "{\"shifts\": [0, 0.5, 1], \"A\": [[2, -1], [-1, 2]], \"b\": [[1, 1],"
                          " [1, 0], [0, 1]]}", "{\"algorithm\": \"contextual\", \"grid\": 4}",
                          NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_int_equal(json_array_size(json_object_get(r, "sor_iterations")), 3);
    assert_true(json_real_value(json_object_get(r, "context_lo")) == 0.0);
    assert_true(json_real_value(json_object_get(r, "context_hi")) == 1.0);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sor_matches_direct_solve),
        cmocka_unit_test(test_omega_one_is_gauss_seidel),
        cmocka_unit_test(test_optimal_omega_1d_poisson),
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_diffusion_generator),
        cmocka_unit_test(test_tsallis_inf_regret),
        cmocka_unit_test(test_contextual_beats_best_fixed),
        cmocka_unit_test(test_fixed_sweep_and_seed),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
