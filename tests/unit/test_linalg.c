/* test_linalg.c - every linalg function against a direct hand computation on small random
 * matrices; dense and CSR must give the same answers; solves are checked by their residuals and
 * eigen-decompositions against a known spectrum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* A dense random m x n array with about a third of the entries zero (so that CSR is sparse). */
static double *rand_array(sv_rng *r, int m, int n, double zero_frac)
{
    double *a = calloc((size_t)m * (size_t)n + 1, sizeof(double));
    assert_non_null(a);
    for (int i = 0; i < m * n; i++)
        a[i] = sv_rng_uniform(r) < zero_frac ? 0.0 : sv_rng_normal(r);
    return a;
}

/* The same array as a dense sv_mat and as a CSR sv_mat. */
static void make_pair(const double *a, int m, int n, sv_mat *D, sv_mat *S)
{
    assert_int_equal(sv_mat_dense(D, m, n), SV_OK);
    if (m > 0 && n > 0)
        memcpy(D->dense.data, a, (size_t)(m * n) * sizeof(double));
    int nnz = 0;
    for (int i = 0; i < m * n; i++)
        nnz += a[i] != 0.0;
    sv_csr c;
    assert_int_equal(sv_csr_alloc(&c, m, n, nnz), SV_OK);
    int p = 0;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            if (a[i * n + j] != 0.0) {
                c.colind[p] = j;
                c.val[p++] = a[i * n + j];
            }
        }
        c.rowptr[i + 1] = p;
    }
    assert_int_equal(sv_mat_from_csr(S, &c), SV_OK);
    sv_csr_free(&c);
}

static void rand_vec_fill(sv_rng *r, int n, double *x)
{
    for (int i = 0; i < n; i++)
        x[i] = sv_rng_normal(r);
}

static void assert_close_vec(int n, const double *x, const double *y, double tol)
{
    for (int i = 0; i < n; i++) {
        double scale = 1.0 + fabs(y[i]);
        if (!(fabs(x[i] - y[i]) <= tol * scale))
            fail_msg("entry %d: %.17g vs %.17g", i, x[i], y[i]);
    }
}

/* ------------------------------------------------------------------------ */
/* Allocation and structure                                                  */
/* ------------------------------------------------------------------------ */

static void test_alloc_copy_get(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 1);
    int m = 7, n = 5;
    double *a = rand_array(&r, m, n, 0.4);
    sv_mat D, S, Dc, Sc;
    make_pair(a, m, n, &D, &S);
    assert_int_equal(D.kind, SV_MAT_DENSE);
    assert_int_equal(S.kind, SV_MAT_CSR);
    assert_int_equal(S.rows, m);
    assert_int_equal(S.cols, n);
    assert_int_equal(sv_mat_copy(&D, &Dc), SV_OK);
    assert_int_equal(sv_mat_copy(&S, &Sc), SV_OK);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            assert_true(sv_mat_get(&D, i, j) == a[i * n + j]);
            assert_true(sv_mat_get(&S, i, j) == a[i * n + j]);
            assert_true(sv_mat_get(&Dc, i, j) == a[i * n + j]);
            assert_true(sv_mat_get(&Sc, i, j) == a[i * n + j]);
        }
    sv_dense T;
    assert_int_equal(sv_mat_to_dense(&S, &T), SV_OK);
    assert_memory_equal(T.data, a, sizeof(double) * (size_t)(m * n));
    sv_dense_free(&T);
    assert_int_equal(sv_mat_to_dense(&D, &T), SV_OK);
    assert_memory_equal(T.data, a, sizeof(double) * (size_t)(m * n));
    sv_dense_free(&T);

    /* Fresh allocations are zeroed; free accepts zeroed structs, NULL, and double frees. */
    sv_mat Z;
    assert_int_equal(sv_mat_dense(&Z, 3, 4), SV_OK);
    for (int i = 0; i < 12; i++)
        assert_true(Z.dense.data[i] == 0.0);
    sv_mat_free(&Z);
    sv_mat_free(&Z);
    sv_mat_free(NULL);
    sv_dense zd;
    memset(&zd, 0, sizeof zd);
    sv_dense_free(&zd);
    sv_csr zc;
    memset(&zc, 0, sizeof zc);
    sv_csr_free(&zc);
    assert_int_equal(sv_dense_alloc(&zd, 0, 5), SV_OK);
    sv_dense_free(&zd);
    assert_int_equal(sv_csr_alloc(&zc, 4, 4, 0), SV_OK);
    for (int i = 0; i <= 4; i++)
        assert_int_equal(zc.rowptr[i], 0);
    sv_csr_free(&zc);

    sv_mat_free(&D);
    sv_mat_free(&S);
    sv_mat_free(&Dc);
    sv_mat_free(&Sc);
    free(a);
}

static void test_select_rows_and_block(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 2);
    int m = 9, n = 4;
    double *a = rand_array(&r, m, n, 0.5);
    sv_mat D, S;
    make_pair(a, m, n, &D, &S);
    const int idx[5] = {8, 0, 3, 3, 5};
    const sv_mat *src[2] = {&D, &S};
    for (int s = 0; s < 2; s++) {
        sv_mat sel, blk;
        assert_int_equal(sv_mat_select_rows(src[s], idx, 5, &sel), SV_OK);
        assert_int_equal(sel.kind, src[s]->kind);
        assert_int_equal(sel.rows, 5);
        assert_int_equal(sel.cols, n);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < n; j++)
                assert_true(sv_mat_get(&sel, i, j) == a[idx[i] * n + j]);
        assert_int_equal(sv_mat_row_block(src[s], 2, 6, &blk), SV_OK);
        assert_int_equal(blk.kind, src[s]->kind);
        assert_int_equal(blk.rows, 4);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < n; j++)
                assert_true(sv_mat_get(&blk, i, j) == a[(2 + i) * n + j]);
        if (blk.kind == SV_MAT_CSR)
            assert_int_equal(blk.csr.rowptr[0], 0);
        sv_mat_free(&sel);
        sv_mat_free(&blk);
        /* Empty selections and bad ranges. */
        assert_int_equal(sv_mat_row_block(src[s], 3, 3, &blk), SV_OK);
        assert_int_equal(blk.rows, 0);
        sv_mat_free(&blk);
        assert_int_equal(sv_mat_row_block(src[s], 5, 10, &blk), SV_EINVAL);
        const int bad = 9;
        assert_int_equal(sv_mat_select_rows(src[s], &bad, 1, &sel), SV_EINVAL);
    }
    sv_mat_free(&D);
    sv_mat_free(&S);
    free(a);
}

/* ------------------------------------------------------------------------ */
/* Products                                                                  */
/* ------------------------------------------------------------------------ */

static void test_gemv(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 3);
    int m = 8, n = 6;
    double *a = rand_array(&r, m, n, 0.35);
    sv_mat D, S;
    make_pair(a, m, n, &D, &S);
    double x[8], y0[8], yd[8], ys[8], ref[8];
    const double alphas[3] = {1.0, -0.7, 0.0}, betas[3] = {0.0, 1.0, 2.5};
    for (int trans = 0; trans < 2; trans++) {
        int in = trans ? m : n, out = trans ? n : m;
        for (int ia = 0; ia < 3; ia++)
            for (int ib = 0; ib < 3; ib++) {
                rand_vec_fill(&r, in, x);
                rand_vec_fill(&r, out, y0);
                for (int i = 0; i < out; i++) {
                    double acc = 0;
                    for (int k = 0; k < in; k++)
                        acc += (trans ? a[k * n + i] : a[i * n + k]) * x[k];
                    ref[i] = alphas[ia] * acc + betas[ib] * y0[i];
                }
                memcpy(yd, y0, sizeof yd);
                memcpy(ys, y0, sizeof ys);
                if (betas[ib] == 0.0) { /* beta == 0 overwrites: old NaN must not leak */
                    yd[0] = NAN;
                    ys[0] = NAN;
                }
                sv_mat_gemv(trans, alphas[ia], &D, x, betas[ib], yd);
                sv_mat_gemv(trans, alphas[ia], &S, x, betas[ib], ys);
                assert_close_vec(out, yd, ref, 1e-13);
                assert_close_vec(out, ys, ref, 1e-13);
            }
    }
    sv_mat_free(&D);
    sv_mat_free(&S);
    free(a);
}

static void test_row_ops(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 4);
    int m = 5, n = 7;
    double *a = rand_array(&r, m, n, 0.4);
    sv_mat D, S;
    make_pair(a, m, n, &D, &S);
    double x[7], yd[7], ys[7], ref[7];
    for (int i = 0; i < m; i++) {
        rand_vec_fill(&r, n, x);
        double dot = 0, nrm = 0;
        for (int j = 0; j < n; j++) {
            dot += a[i * n + j] * x[j];
            nrm += a[i * n + j] * a[i * n + j];
        }
        assert_true(fabs(sv_mat_row_dot(&D, i, x) - dot) < 1e-13);
        assert_true(fabs(sv_mat_row_dot(&S, i, x) - dot) < 1e-13);
        assert_true(fabs(sv_mat_row_nrm2sq(&D, i) - nrm) < 1e-13);
        assert_true(fabs(sv_mat_row_nrm2sq(&S, i) - nrm) < 1e-13);
        for (int j = 0; j < n; j++)
            ref[j] = x[j] - 1.5 * a[i * n + j];
        memcpy(yd, x, sizeof yd);
        memcpy(ys, x, sizeof ys);
        sv_mat_row_axpy(&D, i, -1.5, yd);
        sv_mat_row_axpy(&S, i, -1.5, ys);
        assert_close_vec(n, yd, ref, 1e-14);
        assert_close_vec(n, ys, ref, 1e-14);
    }
    sv_mat_free(&D);
    sv_mat_free(&S);
    free(a);
}

static void test_gram(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 5);
    int m = 11, n = 6;
    double *a = rand_array(&r, m, n, 0.3);
    sv_mat D, S;
    make_pair(a, m, n, &D, &S);
    double w[11], ref[36];
    for (int i = 0; i < m; i++)
        w[i] = sv_rng_uniform(&r) * 2.0;
    for (int use_w = 0; use_w < 2; use_w++) {
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++) {
                double acc = 0;
                for (int i = 0; i < m; i++)
                    acc += (use_w ? w[i] : 1.0) * a[i * n + j] * a[i * n + k];
                ref[j * n + k] = acc;
            }
        sv_dense Gd, Gs;
        assert_int_equal(sv_mat_gram(&D, use_w ? w : NULL, &Gd), SV_OK);
        assert_int_equal(sv_mat_gram(&S, use_w ? w : NULL, &Gs), SV_OK);
        assert_int_equal(Gd.rows, n);
        assert_int_equal(Gd.cols, n);
        assert_close_vec(n * n, Gd.data, ref, 1e-13);
        assert_close_vec(n * n, Gs.data, ref, 1e-13);
        for (int j = 0; j < n; j++) /* exactly symmetric */
            for (int k = 0; k < n; k++) {
                assert_true(Gd.data[j * n + k] == Gd.data[k * n + j]);
                assert_true(Gs.data[j * n + k] == Gs.data[k * n + j]);
            }
        sv_dense_free(&Gd);
        sv_dense_free(&Gs);
    }
    sv_mat_free(&D);
    sv_mat_free(&S);
    free(a);
}

static void test_dense_gemm(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 6);
    int M = 4, N = 5, K = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int beta_case = 0; beta_case < 2; beta_case++) {
                double beta = beta_case ? -0.5 : 0.0, alpha = 1.3;
                sv_dense A, B, C;
                assert_int_equal(sv_dense_alloc(&A, ta ? K : M, ta ? M : K), SV_OK);
                assert_int_equal(sv_dense_alloc(&B, tb ? N : K, tb ? K : N), SV_OK);
                assert_int_equal(sv_dense_alloc(&C, M, N), SV_OK);
                rand_vec_fill(&r, M * K, A.data);
                rand_vec_fill(&r, K * N, B.data);
                rand_vec_fill(&r, M * N, C.data);
                double ref[20];
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double acc = 0;
                        for (int k = 0; k < K; k++) {
                            double aik = ta ? A.data[k * M + i] : A.data[i * K + k];
                            double bkj = tb ? B.data[j * K + k] : B.data[k * N + j];
                            acc += aik * bkj;
                        }
                        ref[i * N + j] = alpha * acc + beta * C.data[i * N + j];
                    }
                if (beta == 0.0)
                    C.data[3] = NAN;
                sv_dense_gemm(ta, tb, alpha, &A, &B, beta, &C);
                assert_close_vec(M * N, C.data, ref, 1e-13);
                sv_dense_free(&A);
                sv_dense_free(&B);
                sv_dense_free(&C);
            }
}

static void test_gram_eigmax(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 7);
    int m = 30, n = 8;
    double *a = rand_array(&r, m, n, 0.3);
    sv_mat D, S;
    make_pair(a, m, n, &D, &S);
    double w[30], ev[8];
    for (int i = 0; i < m; i++)
        w[i] = 0.1 + sv_rng_uniform(&r);
    for (int use_w = 0; use_w < 2; use_w++) {
        sv_dense G;
        assert_int_equal(sv_mat_gram(&D, use_w ? w : NULL, &G), SV_OK);
        assert_int_equal(sv_sym_eig(n, G.data, ev, 0), SV_OK);
        double ed = sv_mat_gram_eigmax(&D, use_w ? w : NULL, 1e-12, 10000);
        double es = sv_mat_gram_eigmax(&S, use_w ? w : NULL, 1e-12, 10000);
        assert_true(fabs(ed - ev[n - 1]) <= 1e-8 * ev[n - 1]);
        assert_true(fabs(es - ev[n - 1]) <= 1e-8 * ev[n - 1]);
        /* Deterministic start: repeated calls agree exactly. */
        assert_true(sv_mat_gram_eigmax(&D, use_w ? w : NULL, 1e-12, 10000) == ed);
        sv_dense_free(&G);
    }

    /* Columns of opposite sign: the all-ones vector is in the null space of A'A here, so a
     * start at ones would return 0; the answer is 4 (A'A = [[2,-2],[-2,2]]). */
    sv_mat P;
    assert_int_equal(sv_mat_dense(&P, 2, 2), SV_OK);
    const double pd[4] = {1, -1, 1, -1};
    memcpy(P.dense.data, pd, sizeof pd);
    assert_true(fabs(sv_mat_gram_eigmax(&P, NULL, 1e-12, 1000) - 4.0) < 1e-9);
    sv_mat_free(&P);

    /* Zero and empty matrices. */
    sv_mat Z;
    assert_int_equal(sv_mat_dense(&Z, 4, 3), SV_OK);
    assert_true(sv_mat_gram_eigmax(&Z, NULL, 1e-10, 100) == 0.0);
    sv_mat_free(&Z);
    assert_int_equal(sv_mat_dense(&Z, 0, 3), SV_OK);
    assert_true(sv_mat_gram_eigmax(&Z, NULL, 1e-10, 100) == 0.0);
    sv_mat_free(&Z);

    sv_mat_free(&D);
    sv_mat_free(&S);
    free(a);
}

/* ------------------------------------------------------------------------ */
/* Vectors                                                                   */
/* ------------------------------------------------------------------------ */

static void test_vector_kernels(void **state)
{
    (void)state;
    const double x[5] = {1, -4, 2.5, 0, 3};
    const double y[5] = {2, 1, -2, 7, 0.5};
    assert_true(sv_dot(5, x, y) == 2 - 4 - 5 + 0 + 1.5);
    assert_true(fabs(sv_nrm2(5, x) - sqrt(1 + 16 + 6.25 + 9)) < 1e-15);
    assert_true(sv_nrminf(5, x) == 4.0);
    assert_true(sv_dot(0, NULL, NULL) == 0.0);
    assert_true(sv_nrm2(0, NULL) == 0.0);
    assert_true(sv_nrminf(0, NULL) == 0.0);

    double z[5];
    sv_copy(5, x, z);
    assert_memory_equal(z, x, sizeof z);
    sv_axpy(5, 2.0, y, z);
    for (int i = 0; i < 5; i++)
        assert_true(z[i] == x[i] + 2.0 * y[i]);
    sv_scal(5, -0.5, z);
    for (int i = 0; i < 5; i++)
        assert_true(z[i] == -0.5 * (x[i] + 2.0 * y[i]));
    sv_fill(5, 3.25, z);
    for (int i = 0; i < 5; i++)
        assert_true(z[i] == 3.25);
    assert_true(sv_all_finite(5, z));
    sv_zero(5, z);
    for (int i = 0; i < 5; i++)
        assert_true(z[i] == 0.0);
    z[2] = INFINITY;
    assert_false(sv_all_finite(5, z));
    z[2] = NAN;
    assert_false(sv_all_finite(5, z));
    assert_true(isnan(sv_nrminf(5, z)));
    assert_true(sv_all_finite(0, NULL));

    double lo[4] = {0, -1, -INFINITY, 2}, hi[4] = {1, 1, 0, 2};
    double p[4] = {-3, 0.5, 5, 7};
    sv_project_box(4, lo, hi, p);
    assert_true(p[0] == 0 && p[1] == 0.5 && p[2] == 0 && p[3] == 2);
    double q[3] = {-3, 0.5, 5};
    sv_project_box(3, NULL, hi, q);
    assert_true(q[0] == -3 && q[1] == 0.5 && q[2] == 0);
    double s[3] = {-3, 0.5, 5};
    sv_project_box(3, lo, NULL, s);
    assert_true(s[0] == 0 && s[1] == 0.5 && s[2] == 5);
}

/* Reference top-k: repeatedly take the best remaining entry (O(n k), obviously correct). */
static void topk_ref(int n, int k, const double *x, double *out)
{
    char *taken = calloc((size_t)n, 1);
    assert_non_null(taken);
    for (int t = 0; t < k && t < n; t++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!taken[i] && (best < 0 || fabs(x[i]) > fabs(x[best])))
                best = i; /* strict >: the lower index wins a tie */
        taken[best] = 1;
    }
    for (int i = 0; i < n; i++)
        out[i] = (taken[i] || k >= n) ? x[i] : 0.0;
    free(taken);
}

static void test_topk(void **state)
{
    (void)state;
    /* Ties: |-3| = |3| = 3 at indices 1, 3, 4; k = 3 keeps 5 (index 0) and indices 1, 3. */
    double x[6] = {5, -3, 1, 3, 3, 0.5};
    assert_int_equal(sv_topk(6, 3, x, NULL), SV_OK);
    const double want[6] = {5, -3, 0, 3, 0, 0};
    assert_memory_equal(x, want, sizeof x);

    /* All equal: the first k survive. */
    double e[5] = {2, -2, 2, -2, 2};
    double scratch[5];
    assert_int_equal(sv_topk(5, 2, e, scratch), SV_OK);
    const double want_e[5] = {2, -2, 0, 0, 0};
    assert_memory_equal(e, want_e, sizeof e);

    /* k = 0 clears, k >= n keeps everything. */
    double c[3] = {1, 2, 3};
    assert_int_equal(sv_topk(3, 3, c, NULL), SV_OK);
    assert_true(c[0] == 1 && c[1] == 2 && c[2] == 3);
    assert_int_equal(sv_topk(3, 7, c, NULL), SV_OK);
    assert_true(c[0] == 1 && c[1] == 2 && c[2] == 3);
    assert_int_equal(sv_topk(3, 0, c, NULL), SV_OK);
    assert_true(c[0] == 0 && c[1] == 0 && c[2] == 0);

    /* Random vectors with many ties (small integers), against the reference. */
    sv_rng r;
    sv_rng_seed(&r, 8);
    enum { N = 200 };
    double v[N], ref[N];
    double scr[N];
    for (int trial = 0; trial < 50; trial++) {
        int k = (int)sv_rng_below(&r, N + 1);
        for (int i = 0; i < N; i++)
            v[i] = (double)((int)sv_rng_below(&r, 21) - 10);
        topk_ref(N, k, v, ref);
        assert_int_equal(sv_topk(N, k, v, (trial & 1) ? scr : NULL), SV_OK);
        assert_memory_equal(v, ref, sizeof v);
    }
}

/* ------------------------------------------------------------------------ */
/* LAPACKE wrappers                                                          */
/* ------------------------------------------------------------------------ */

static void test_solve_spd(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 9);
    enum { N = 6, R = 2 };
    double M[N * N], A[N * N], A0[N * N], B[N * R], B0[N * R];
    rand_vec_fill(&r, N * N, M);
    for (int i = 0; i < N; i++) /* A = M'M + I */
        for (int j = 0; j < N; j++) {
            double acc = i == j ? 1.0 : 0.0;
            for (int k = 0; k < N; k++)
                acc += M[k * N + i] * M[k * N + j];
            A[i * N + j] = acc;
        }
    memcpy(A0, A, sizeof A);
    rand_vec_fill(&r, N * R, B);
    memcpy(B0, B, sizeof B);
    assert_int_equal(sv_solve_spd(N, A, B, R), SV_OK);
    for (int c = 0; c < R; c++)
        for (int i = 0; i < N; i++) {
            double acc = 0;
            for (int k = 0; k < N; k++)
                acc += A0[i * N + k] * B[k * R + c];
            assert_true(fabs(acc - B0[i * R + c]) < 1e-10);
        }

    /* Indefinite: diag(1, -1). */
    double I2[4] = {1, 0, 0, -1}, b2[2] = {1, 1};
    assert_int_equal(sv_solve_spd(2, I2, b2, 1), SV_ENUMERIC);
}

static void test_solve_general(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 10);
    enum { N = 7, R = 3 };
    double A[N * N], A0[N * N], B[N * R], B0[N * R];
    rand_vec_fill(&r, N * N, A);
    memcpy(A0, A, sizeof A);
    rand_vec_fill(&r, N * R, B);
    memcpy(B0, B, sizeof B);
    assert_int_equal(sv_solve_general(N, A, B, R), SV_OK);
    for (int c = 0; c < R; c++)
        for (int i = 0; i < N; i++) {
            double acc = 0;
            for (int k = 0; k < N; k++)
                acc += A0[i * N + k] * B[k * R + c];
            assert_true(fabs(acc - B0[i * R + c]) < 1e-10);
        }
    double S[4] = {1, 2, 2, 4}, b[2] = {1, 0};
    assert_int_equal(sv_solve_general(2, S, b, 1), SV_ENUMERIC);
}

/* The workspace variant: the eigenvalues of sv_sym_eig, eigenvectors in the same layout (column
 * j of A) with A v = lambda v, orders up to n_max with one workspace, and refusals past it. */
static void test_sym_eig_ws(void **state)
{
    (void)state;
    enum { N = 7 };
    sv_eig_ws ws;
    assert_int_equal(sv_eig_ws_alloc(&ws, N, 1), SV_OK);
    sv_rng r;
    sv_rng_seed(&r, 3);
    for (int n = 1; n <= N; n++) {
        double A[N * N], B[N * N], V[N * N], w1[N], w2[N];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
                A[i * n + j] = A[j * n + i] = sv_rng_normal(&r);
        memcpy(B, A, sizeof(double) * (size_t)(n * n));
        memcpy(V, A, sizeof(double) * (size_t)(n * n));
        assert_int_equal(sv_sym_eig(n, B, w1, 0), SV_OK);
        assert_int_equal(sv_sym_eig_ws(&ws, n, V, w2, 1), SV_OK);
        for (int k = 0; k < n; k++) {
            assert_true(fabs(w1[k] - w2[k]) < 1e-12 * (1 + fabs(w1[k])));
            double res = 0, nv = 0;
            for (int i = 0; i < n; i++) {
                double av = 0;
                for (int j = 0; j < n; j++)
                    av += A[i * n + j] * V[j * n + k];
                res = fmax(res, fabs(av - w2[k] * V[i * n + k]));
                nv += V[i * n + k] * V[i * n + k];
            }
            assert_true(res < 1e-12 * (1 + fabs(w2[k])));
            assert_true(fabs(nv - 1) < 1e-12);
        }
    }
    double A[(N + 1) * (N + 1)] = {0}, w[N + 1];
    assert_int_equal(sv_sym_eig_ws(&ws, N + 1, A, w, 0), SV_EINVAL);
    sv_eig_ws_free(&ws);
    assert_int_equal(sv_eig_ws_alloc(&ws, 3, 0), SV_OK);
    assert_int_equal(sv_sym_eig_ws(&ws, 3, A, w, 1), SV_EINVAL);  /* no room for vectors */
    sv_eig_ws_free(&ws);
}

static void test_sym_eig(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 11);
    enum { N = 6 };
    /* A = Q diag(lam) Q with the Householder reflector Q = I - 2 u u'/u'u (symmetric,
     * orthogonal): the spectrum is known exactly. */
    const double lam[N] = {3.0, -1.5, 0.25, 7.0, 0.0, 2.0};
    const double sorted[N] = {-1.5, 0.0, 0.25, 2.0, 3.0, 7.0};
    double u[N], Q[N * N], A[N * N], A0[N * N], w[N];
    rand_vec_fill(&r, N, u);
    double uu = sv_dot(N, u, u);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            Q[i * N + j] = (i == j) - 2.0 * u[i] * u[j] / uu;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < N; k++)
                acc += Q[i * N + k] * lam[k] * Q[k * N + j];
            A[i * N + j] = acc;
        }
    memcpy(A0, A, sizeof A);
    assert_int_equal(sv_sym_eig(N, A, w, 0), SV_OK);
    assert_close_vec(N, w, sorted, 1e-12);

    memcpy(A, A0, sizeof A);
    assert_int_equal(sv_sym_eig(N, A, w, 1), SV_OK);
    assert_close_vec(N, w, sorted, 1e-12);
    for (int c = 0; c < N; c++) { /* column c is a unit eigenvector for w[c] */
        double nrm = 0;
        for (int i = 0; i < N; i++) {
            double acc = 0;
            for (int k = 0; k < N; k++)
                acc += A0[i * N + k] * A[k * N + c];
            assert_true(fabs(acc - w[c] * A[i * N + c]) < 1e-11);
            nrm += A[i * N + c] * A[i * N + c];
        }
        assert_true(fabs(nrm - 1.0) < 1e-12);
    }
}

static void test_lstsq(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 12);
    /* Overdetermined: the residual is orthogonal to the columns (normal equations). */
    enum { M = 10, N = 4 };
    double A[M * N], A0[M * N], b[M], b0[M];
    rand_vec_fill(&r, M * N, A);
    rand_vec_fill(&r, M, b);
    memcpy(A0, A, sizeof A);
    memcpy(b0, b, sizeof b);
    assert_int_equal(sv_lstsq(M, N, A, b), SV_OK);
    double res[M];
    for (int i = 0; i < M; i++) {
        res[i] = -b0[i];
        for (int j = 0; j < N; j++)
            res[i] += A0[i * N + j] * b[j];
    }
    for (int j = 0; j < N; j++) {
        double g = 0;
        for (int i = 0; i < M; i++)
            g += A0[i * N + j] * res[i];
        assert_true(fabs(g) < 1e-10);
    }

    /* Underdetermined (3 x 5): an exact solution of minimum norm, i.e. in the row space:
     * x = A' y with A A' y = b. */
    enum { M2 = 3, N2 = 5 };
    double C[M2 * N2], C0[M2 * N2], c[N2], c0[M2];
    rand_vec_fill(&r, M2 * N2, C);
    rand_vec_fill(&r, M2, c);
    memcpy(C0, C, sizeof C);
    memcpy(c0, c, sizeof c0);
    assert_int_equal(sv_lstsq(M2, N2, C, c), SV_OK);
    double CC[M2 * M2], y[M2];
    for (int i = 0; i < M2; i++) {
        double acc = 0;
        for (int j = 0; j < N2; j++)
            acc += C0[i * N2 + j] * c[j];
        assert_true(fabs(acc - c0[i]) < 1e-10);
        for (int k = 0; k < M2; k++) {
            double g = 0;
            for (int j = 0; j < N2; j++)
                g += C0[i * N2 + j] * C0[k * N2 + j];
            CC[i * M2 + k] = g;
        }
    }
    memcpy(y, c0, sizeof y);
    assert_int_equal(sv_solve_spd(M2, CC, y, 1), SV_OK);
    for (int j = 0; j < N2; j++) {
        double xj = 0;
        for (int i = 0; i < M2; i++)
            xj += C0[i * N2 + j] * y[i];
        assert_true(fabs(xj - c[j]) < 1e-10);
    }

    sv_blas_single_thread(); /* callable; later BLAS calls still work */
    double one[1] = {2.0}, rhs[1] = {3.0};
    assert_int_equal(sv_lstsq(1, 1, one, rhs), SV_OK);
    assert_true(fabs(rhs[0] - 1.5) < 1e-15);
}

/* The fused pass equals z = A x, u = fn(z), g += A^T u computed with two whole products, for
 * dense and CSR data, a row count that is not a multiple of the block, and a width where a block
 * is one row; the callback sees every row once, in blocks that cover [0, m). */
typedef struct {
    int calls, rows_seen;
} fused_ctx;

static void fused_rows(void *ctx, int r0, int r1, double *z)
{
    fused_ctx *c = ctx;
    c->calls++;
    c->rows_seen += r1 - r0;
    for (int i = r0; i < r1; i++)
        z[i] = 0.5 * z[i] - 1.0 / (1.0 + i); /* a residual: any row-wise map */
}

static void test_fused_gemv(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 11);
    const int shapes[][2] = {{1000, 37}, {5, 3}, {7, 30000}, {0, 4}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int m = shapes[k][0], n = shapes[k][1];
        double *a = rand_array(&r, m, n, 0.3);
        sv_mat D, S;
        make_pair(a, m, n, &D, &S);
        double *x = calloc((size_t)n, sizeof *x), *z = calloc((size_t)m + 1, sizeof *z);
        double *zr = calloc((size_t)m + 1, sizeof *zr), *g0 = calloc((size_t)n, sizeof *g0);
        double *g = calloc((size_t)n, sizeof *g), *gr = calloc((size_t)n, sizeof *gr);
        rand_vec_fill(&r, n, x);
        rand_vec_fill(&r, n, g0);
        /* reference: two whole products */
        memcpy(gr, g0, (size_t)n * sizeof *gr);
        sv_mat_gemv(0, 1.0, &D, x, 0.0, zr);
        fused_ctx ref = {0, 0};
        fused_rows(&ref, 0, m, zr);
        sv_mat_gemv(1, 1.0, &D, zr, 1.0, gr);
        const sv_mat *mats[2] = {&D, &S};
        for (int t = 0; t < 2; t++) {
            memcpy(g, g0, (size_t)n * sizeof *g);
            fused_ctx c = {0, 0};
            sv_mat_fused_gemv(mats[t], x, z, fused_rows, &c, g);
            int B = sv_fused_block_rows(n);
            assert_int_equal(c.rows_seen, m);
            assert_int_equal(c.calls, (m + B - 1) / B);
            assert_close_vec(m, z, zr, 1e-12);
            assert_close_vec(n, g, gr, 1e-11);
        }
        sv_mat_free(&D);
        sv_mat_free(&S);
        free(a), free(x), free(z), free(zr), free(g0), free(g), free(gr);
    }
    assert_int_equal(sv_fused_block_rows(30000), 1);
    assert_int_equal(sv_fused_block_rows(1), SV_FUSED_BLOCK_BYTES / 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_gemv),
        cmocka_unit_test(test_alloc_copy_get), cmocka_unit_test(test_select_rows_and_block),
        cmocka_unit_test(test_gemv),           cmocka_unit_test(test_row_ops),
        cmocka_unit_test(test_gram),           cmocka_unit_test(test_dense_gemm),
        cmocka_unit_test(test_gram_eigmax),    cmocka_unit_test(test_vector_kernels),
        cmocka_unit_test(test_topk),           cmocka_unit_test(test_solve_spd),
        cmocka_unit_test(test_solve_general),  cmocka_unit_test(test_sym_eig), cmocka_unit_test(test_sym_eig_ws),
        cmocka_unit_test(test_lstsq),
    };
    return cmocka_run_group_tests_name("linalg", tests, NULL, NULL);
}
