/* linalg.c - dense and CSR matrices behind one sv_mat, vector kernels, and thin BLAS/LAPACKE
 * wrappers. Dense products go through CBLAS; CSR products are hand loops. */
#include "core/linalg.h"

#include "core/rng.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Static prototypes                                                         */
/* ======================================================================== */

static void *alloc_zeroed(size_t count, size_t size);
static int lapack_status(lapack_int info);
static void scale_or_zero(size_t n, double beta, double *y);

/* ======================================================================== */
/* Allocation                                                                */
/* ======================================================================== */

/* calloc that never returns NULL for a zero count, so a successful allocation always has a valid
 * pointer (memcpy and BLAS calls with NULL pointers are undefined even for zero lengths). */
static void *alloc_zeroed(size_t count, size_t size)
{
    return calloc(count ? count : 1, size);
}

int sv_dense_alloc(sv_dense *m, int rows, int cols)
{
    memset(m, 0, sizeof *m);
    if (rows < 0 || cols < 0)
        return SV_EINVAL;
    if (cols > 0 && (size_t)rows > SIZE_MAX / sizeof(double) / (size_t)cols)
        return SV_ENOMEM;
    m->data = alloc_zeroed((size_t)rows * (size_t)cols, sizeof(double));
    if (!m->data)
        return SV_ENOMEM;
    m->rows = rows;
    m->cols = cols;
    return SV_OK;
}

void sv_dense_free(sv_dense *m)
{
    if (!m)
        return;
    free(m->data);
    memset(m, 0, sizeof *m);
}

int sv_csr_alloc(sv_csr *m, int rows, int cols, int nnz)
{
    memset(m, 0, sizeof *m);
    if (rows < 0 || cols < 0 || nnz < 0)
        return SV_EINVAL;
    m->rowptr = alloc_zeroed((size_t)rows + 1, sizeof(int));
    m->colind = alloc_zeroed((size_t)nnz, sizeof(int));
    m->val = alloc_zeroed((size_t)nnz, sizeof(double));
    if (!m->rowptr || !m->colind || !m->val) {
        sv_csr_free(m);
        return SV_ENOMEM;
    }
    m->rows = rows;
    m->cols = cols;
    m->nnz = nnz;
    return SV_OK;
}

void sv_csr_free(sv_csr *m)
{
    if (!m)
        return;
    free(m->rowptr);
    free(m->colind);
    free(m->val);
    memset(m, 0, sizeof *m);
}

int sv_mat_dense(sv_mat *m, int rows, int cols)
{
    memset(m, 0, sizeof *m);
    int rc = sv_dense_alloc(&m->dense, rows, cols);
    if (rc != SV_OK)
        return rc;
    m->kind = SV_MAT_DENSE;
    m->rows = rows;
    m->cols = cols;
    return SV_OK;
}

int sv_mat_from_csr(sv_mat *m, const sv_csr *src)
{
    memset(m, 0, sizeof *m);
    int rc = sv_csr_alloc(&m->csr, src->rows, src->cols, src->nnz);
    if (rc != SV_OK)
        return rc;
    memcpy(m->csr.rowptr, src->rowptr, ((size_t)src->rows + 1) * sizeof(int));
    if (src->nnz > 0) {
        memcpy(m->csr.colind, src->colind, (size_t)src->nnz * sizeof(int));
        memcpy(m->csr.val, src->val, (size_t)src->nnz * sizeof(double));
    }
    m->kind = SV_MAT_CSR;
    m->rows = src->rows;
    m->cols = src->cols;
    return SV_OK;
}

void sv_mat_free(sv_mat *m)
{
    if (!m)
        return;
    sv_dense_free(&m->dense);
    sv_csr_free(&m->csr);
    memset(m, 0, sizeof *m);
}

int sv_mat_copy(const sv_mat *src, sv_mat *dst)
{
    if (src->kind == SV_MAT_CSR)
        return sv_mat_from_csr(dst, &src->csr);
    int rc = sv_mat_dense(dst, src->rows, src->cols);
    if (rc != SV_OK)
        return rc;
    if ((size_t)src->rows * (size_t)src->cols > 0)
        memcpy(dst->dense.data, src->dense.data,
               (size_t)src->rows * (size_t)src->cols * sizeof(double));
    return SV_OK;
}

int sv_mat_select_rows(const sv_mat *src, const int *idx, int n, sv_mat *dst)
{
    memset(dst, 0, sizeof *dst);
    if (n < 0)
        return SV_EINVAL;
    for (int r = 0; r < n; r++)
        if (idx[r] < 0 || idx[r] >= src->rows)
            return SV_EINVAL;
    if (src->kind == SV_MAT_DENSE) {
        int rc = sv_mat_dense(dst, n, src->cols);
        if (rc != SV_OK)
            return rc;
        size_t row_bytes = (size_t)src->cols * sizeof(double);
        for (int r = 0; r < n; r++)
            if (row_bytes)
                memcpy(dst->dense.data + (size_t)r * (size_t)src->cols,
                       src->dense.data + (size_t)idx[r] * (size_t)src->cols, row_bytes);
        return SV_OK;
    }
    const sv_csr *s = &src->csr;
    long nnz = 0;
    for (int r = 0; r < n; r++)
        nnz += s->rowptr[idx[r] + 1] - s->rowptr[idx[r]];
    if (nnz > INT32_MAX)
        return SV_ENOMEM;
    sv_csr *d = &dst->csr;
    int rc = sv_csr_alloc(d, n, s->cols, (int)nnz);
    if (rc != SV_OK)
        return rc;
    int pos = 0;
    for (int r = 0; r < n; r++) {
        int a = s->rowptr[idx[r]], b = s->rowptr[idx[r] + 1];
        if (b > a) {
            memcpy(d->colind + pos, s->colind + a, (size_t)(b - a) * sizeof(int));
            memcpy(d->val + pos, s->val + a, (size_t)(b - a) * sizeof(double));
        }
        pos += b - a;
        d->rowptr[r + 1] = pos;
    }
    dst->kind = SV_MAT_CSR;
    dst->rows = n;
    dst->cols = s->cols;
    return SV_OK;
}

int sv_mat_row_block(const sv_mat *src, int r0, int r1, sv_mat *dst)
{
    memset(dst, 0, sizeof *dst);
    if (r0 < 0 || r1 < r0 || r1 > src->rows)
        return SV_EINVAL;
    int n = r1 - r0;
    if (src->kind == SV_MAT_DENSE) {
        int rc = sv_mat_dense(dst, n, src->cols);
        if (rc != SV_OK)
            return rc;
        size_t count = (size_t)n * (size_t)src->cols;
        if (count)
            memcpy(dst->dense.data, src->dense.data + (size_t)r0 * (size_t)src->cols,
                   count * sizeof(double));
        return SV_OK;
    }
    const sv_csr *s = &src->csr;
    int base = s->rowptr[r0], nnz = s->rowptr[r1] - base;
    sv_csr *d = &dst->csr;
    int rc = sv_csr_alloc(d, n, s->cols, nnz);
    if (rc != SV_OK)
        return rc;
    for (int r = 0; r <= n; r++)
        d->rowptr[r] = s->rowptr[r0 + r] - base;
    if (nnz > 0) {
        memcpy(d->colind, s->colind + base, (size_t)nnz * sizeof(int));
        memcpy(d->val, s->val + base, (size_t)nnz * sizeof(double));
    }
    dst->kind = SV_MAT_CSR;
    dst->rows = n;
    dst->cols = s->cols;
    return SV_OK;
}

int sv_mat_to_dense(const sv_mat *src, sv_dense *dst)
{
    int rc = sv_dense_alloc(dst, src->rows, src->cols);
    if (rc != SV_OK)
        return rc;
    size_t count = (size_t)src->rows * (size_t)src->cols;
    if (src->kind == SV_MAT_DENSE) {
        if (count)
            memcpy(dst->data, src->dense.data, count * sizeof(double));
        return SV_OK;
    }
    const sv_csr *s = &src->csr;
    for (int i = 0; i < s->rows; i++)
        for (int p = s->rowptr[i]; p < s->rowptr[i + 1]; p++)
            dst->data[(size_t)i * (size_t)s->cols + (size_t)s->colind[p]] += s->val[p];
    return SV_OK;
}

double sv_mat_get(const sv_mat *m, int i, int j)
{
    if (m->kind == SV_MAT_DENSE)
        return m->dense.data[(size_t)i * (size_t)m->cols + (size_t)j];
    const sv_csr *s = &m->csr;
    int lo = s->rowptr[i], hi = s->rowptr[i + 1] - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->colind[mid] == j)
            return s->val[mid];
        if (s->colind[mid] < j)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0.0;
}

/* ======================================================================== */
/* Products                                                                  */
/* ======================================================================== */

/* y = beta * y, except that beta == 0 overwrites (0 * NaN would otherwise stay NaN). */
static void scale_or_zero(size_t n, double beta, double *y)
{
    if (beta == 0.0) {
        for (size_t i = 0; i < n; i++)
            y[i] = 0.0;
    } else if (beta != 1.0) {
        for (size_t i = 0; i < n; i++)
            y[i] *= beta;
    }
}

void sv_mat_gemv(int trans, double alpha, const sv_mat *A, const double *x, double beta, double *y)
{
    int m = A->rows, n = A->cols;
    int ylen = trans ? n : m;
    /* Zeroing y ourselves keeps the "beta == 0 overwrites" promise whatever the BLAS build does
     * with 0 * NaN, and it lets the BLAS call use beta = 1 on a clean vector. */
    scale_or_zero((size_t)ylen, beta, y);
    if (m == 0 || n == 0 || alpha == 0.0)
        return;
    if (A->kind == SV_MAT_DENSE) {
        cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, A->dense.data,
                    n, x, 1, 1.0, y, 1);
        return;
    }
    const sv_csr *s = &A->csr;
    if (!trans) {
        for (int i = 0; i < m; i++) {
            double acc = 0.0;
            for (int p = s->rowptr[i]; p < s->rowptr[i + 1]; p++)
                acc += s->val[p] * x[s->colind[p]];
            y[i] += alpha * acc;
        }
    } else {
        for (int i = 0; i < m; i++) {
            double xi = alpha * x[i];
            if (xi == 0.0)
                continue;
            for (int p = s->rowptr[i]; p < s->rowptr[i + 1]; p++)
                y[s->colind[p]] += xi * s->val[p];
        }
    }
}

int sv_fused_block_rows(int cols)
{
    long bytes_per_row = 8L * (cols > 0 ? cols : 1);
    long rows = SV_FUSED_BLOCK_BYTES / bytes_per_row;
    return rows < 1 ? 1 : rows > (1L << 20) ? (1 << 20) : (int)rows;
}

void sv_mat_fused_gemv(const sv_mat *A, const double *x, double *z, sv_rows_fn fn, void *ctx,
                       double *g)
{
    int m = A->rows, n = A->cols;
    if (m == 0)
        return;
    int B = sv_fused_block_rows(n);
    for (int r0 = 0; r0 < m; r0 += B) {
        int r1 = r0 + B < m ? r0 + B : m, k = r1 - r0;
        if (A->kind == SV_MAT_DENSE) {
            const double *Ab = A->dense.data + (size_t)r0 * (size_t)n;
            cblas_dgemv(CblasRowMajor, CblasNoTrans, k, n, 1.0, Ab, n, x, 1, 0.0, z + r0, 1);
            fn(ctx, r0, r1, z);
            cblas_dgemv(CblasRowMajor, CblasTrans, k, n, 1.0, Ab, n, z + r0, 1, 1.0, g, 1);
        } else {
            const sv_csr *s = &A->csr;
            for (int i = r0; i < r1; i++) {
                double acc = 0.0;
                for (int p = s->rowptr[i]; p < s->rowptr[i + 1]; p++)
                    acc += s->val[p] * x[s->colind[p]];
                z[i] = acc;
            }
            fn(ctx, r0, r1, z);
            for (int i = r0; i < r1; i++) {
                double ui = z[i];
                if (ui == 0.0)
                    continue;
                for (int p = s->rowptr[i]; p < s->rowptr[i + 1]; p++)
                    g[s->colind[p]] += ui * s->val[p];
            }
        }
    }
}

double sv_mat_row_dot(const sv_mat *A, int i, const double *x)
{
    if (A->kind == SV_MAT_DENSE)
        return cblas_ddot(A->cols, A->dense.data + (size_t)i * (size_t)A->cols, 1, x, 1);
    const sv_csr *s = &A->csr;
    double acc = 0.0;
    for (int p = s->rowptr[i]; p < s->rowptr[i + 1]; p++)
        acc += s->val[p] * x[s->colind[p]];
    return acc;
}

void sv_mat_row_axpy(const sv_mat *A, int i, double alpha, double *y)
{
    if (A->kind == SV_MAT_DENSE) {
        cblas_daxpy(A->cols, alpha, A->dense.data + (size_t)i * (size_t)A->cols, 1, y, 1);
        return;
    }
    const sv_csr *s = &A->csr;
    for (int p = s->rowptr[i]; p < s->rowptr[i + 1]; p++)
        y[s->colind[p]] += alpha * s->val[p];
}

double sv_mat_row_nrm2sq(const sv_mat *A, int i)
{
    const double *v;
    int len;
    if (A->kind == SV_MAT_DENSE) {
        v = A->dense.data + (size_t)i * (size_t)A->cols;
        len = A->cols;
    } else {
        v = A->csr.val + A->csr.rowptr[i];
        len = A->csr.rowptr[i + 1] - A->csr.rowptr[i];
    }
    double acc = 0.0;
    for (int p = 0; p < len; p++)
        acc += v[p] * v[p];
    return acc;
}

int sv_mat_gram(const sv_mat *A, const double *w, sv_dense *G)
{
    int m = A->rows, d = A->cols;
    int rc = sv_dense_alloc(G, d, d);
    if (rc != SV_OK)
        return rc;
    if (m == 0 || d == 0)
        return SV_OK;
    if (A->kind == SV_MAT_DENSE) {
        if (!w) {
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, m, 1.0, A->dense.data, d, 0.0,
                        G->data, d);
        } else {
            /* Weights may be negative, so A' W A is not (sqrt(W) A)'(sqrt(W) A); form W A. */
            double *WA = malloc((size_t)m * (size_t)d * sizeof(double));
            if (!WA) {
                sv_dense_free(G);
                return SV_ENOMEM;
            }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < d; j++)
                    WA[(size_t)i * d + j] = w[i] * A->dense.data[(size_t)i * d + j];
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, m, 1.0, A->dense.data, d,
                        WA, d, 0.0, G->data, d);
            free(WA);
        }
    } else {
        const sv_csr *s = &A->csr;
        for (int i = 0; i < m; i++) {
            double wi = w ? w[i] : 1.0;
            for (int p = s->rowptr[i]; p < s->rowptr[i + 1]; p++) {
                double vp = wi * s->val[p];
                double *row = G->data + (size_t)s->colind[p] * d;
                /* Upper triangle only (colind sorted), mirrored below. */
                for (int q = p; q < s->rowptr[i + 1]; q++)
                    row[s->colind[q]] += vp * s->val[q];
            }
        }
    }
    /* Mirror the upper triangle so that G is exactly symmetric. */
    for (int j = 0; j < d; j++)
        for (int k = j + 1; k < d; k++)
            G->data[(size_t)k * d + j] = G->data[(size_t)j * d + k];
    return SV_OK;
}

void sv_dense_gemm(int transA, int transB, double alpha, const sv_dense *A, const sv_dense *B,
                   double beta, sv_dense *C)
{
    int M = C->rows, N = C->cols;
    int K = transA ? A->rows : A->cols;
    scale_or_zero((size_t)M * (size_t)N, beta, C->data);
    if (M == 0 || N == 0 || K == 0 || alpha == 0.0)
        return;
    int lda = A->cols > 1 ? A->cols : 1;
    int ldb = B->cols > 1 ? B->cols : 1;
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A->data, lda, B->data, ldb,
                1.0, C->data, N);
}

double sv_mat_gram_eigmax(const sv_mat *A, const double *w, double tol, int max_iter)
{
    int m = A->rows, d = A->cols;
    if (m == 0 || d == 0)
        return 0.0;
    double *v = malloc((size_t)d * sizeof(double));
    double *u = malloc((size_t)d * sizeof(double));
    double *t = malloc((size_t)m * sizeof(double));
    double est = 0.0, prev = 0.0;
    if (!v || !u || !t) {
        est = NAN;
        goto done;
    }
    /* A fixed pseudo-random start: deterministic, and (unlike all-ones) not orthogonal to the top
     * eigenvector for structured data such as columns of opposite sign. */
    sv_rng r;
    sv_rng_seed(&r, UINT64_C(0x5eed5eed));
    for (int j = 0; j < d; j++)
        v[j] = sv_rng_normal(&r);
    sv_scal(d, 1.0 / sv_nrm2(d, v), v);
    if (max_iter < 1)
        max_iter = 1;
    for (int it = 0; it < max_iter; it++) {
        sv_mat_gemv(0, 1.0, A, v, 0.0, t);
        if (w)
            for (int i = 0; i < m; i++)
                t[i] *= w[i];
        sv_mat_gemv(1, 1.0, A, t, 0.0, u);
        /* |G v| for unit v converges to eigmax from below at the rate of the Rayleigh quotient
         * of G^2, faster than v'Gv. */
        est = sv_nrm2(d, u);
        if (!(est > 0.0) || !isfinite(est))
            break; /* zero matrix (0) or non-finite data (NaN/Inf passed on) */
        sv_scal(d, 1.0 / est, u);
        double *swap = v;
        v = u;
        u = swap;
        if (it > 0 && fabs(est - prev) <= tol * est)
            break;
        prev = est;
    }
done:
    free(v);
    free(u);
    free(t);
    return est;
}

/* ======================================================================== */
/* Vectors                                                                   */
/* ======================================================================== */

double sv_dot(int n, const double *x, const double *y)
{
    return n > 0 ? cblas_ddot(n, x, 1, y, 1) : 0.0;
}

double sv_nrm2(int n, const double *x)
{
    return n > 0 ? cblas_dnrm2(n, x, 1) : 0.0;
}

double sv_nrminf(int n, const double *x)
{
    double r = 0.0;
    for (int i = 0; i < n; i++) {
        double a = fabs(x[i]);
        if (a > r || isnan(a))
            r = a;
        if (isnan(r))
            break;
    }
    return r;
}

void sv_axpy(int n, double alpha, const double *x, double *y)
{
    if (n > 0)
        cblas_daxpy(n, alpha, x, 1, y, 1);
}

void sv_scal(int n, double alpha, double *x)
{
    /* A hand loop: BLAS builds disagree on whether dscal by 0 clears NaN; here it never does. */
    for (int i = 0; i < n; i++)
        x[i] *= alpha;
}

void sv_copy(int n, const double *x, double *y)
{
    if (n > 0)
        memmove(y, x, (size_t)n * sizeof(double));
}

void sv_zero(int n, double *x)
{
    for (int i = 0; i < n; i++)
        x[i] = 0.0;
}

void sv_fill(int n, double v, double *x)
{
    for (int i = 0; i < n; i++)
        x[i] = v;
}

int sv_all_finite(int n, const double *x)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* The order top-k keeps: larger magnitude first, NaN above everything (so that a diverged
 * iterate stays visible), and the lower index first among equals. */
static double topk_key(double v) { return isnan(v) ? INFINITY : fabs(v); }

/* The k-th largest (0-based) of a[0..n), by quickselect (Hoare partition, median-of-three
 * pivot): O(n) on average. Reorders a. */
static double select_desc(double *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (hi > lo) {
        int mid = lo + (hi - lo) / 2;
        double x = a[lo], y = a[mid], z = a[hi];
        double p = x > y ? (y > z ? y : (x > z ? z : x)) : (x > z ? x : (y > z ? z : y));
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] > p)
                i++;
            while (a[j] < p)
                j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        /* Now a[lo..j] >= p >= a[i..hi], and whatever lies between equals p. */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[lo];
}

int sv_topk(int n, int k, double *x, double *scratch)
{
    if (k >= n)
        return SV_OK;
    if (k <= 0) {
        sv_zero(n, x);
        return SV_OK;
    }
    /* The threshold is the k-th largest key; entries above it stay, and among the entries equal
     * to it the lowest indices fill the remaining places (NaN before infinity at the top). */
    double *key = scratch ? scratch : malloc((size_t)n * sizeof *key);
    if (!key)
        return SV_ENOMEM;
    for (int i = 0; i < n; i++)
        key[i] = topk_key(x[i]);
    double t = select_desc(key, n, k - 1);
    if (!scratch)
        free(key);
    int above = 0, nan_at_t = 0;
    for (int i = 0; i < n; i++) {
        double v = topk_key(x[i]);
        above += v > t;
        nan_at_t += v == t && isnan(x[i]);
    }
    int left = k - above;             /* places for entries equal to the threshold */
    int left_nan = nan_at_t < left ? nan_at_t : left;
    int left_other = left - left_nan;
    for (int i = 0; i < n; i++) {
        double v = topk_key(x[i]);
        if (v > t)
            continue;
        if (v == t && isnan(x[i]) && left_nan > 0) {
            left_nan--;
            continue;
        }
        if (v == t && !isnan(x[i]) && left_other > 0) {
            left_other--;
            continue;
        }
        x[i] = 0.0;
    }
    return SV_OK;
}

void sv_project_box(int n, const double *lo, const double *hi, double *x)
{
    for (int i = 0; i < n; i++) {
        if (hi && x[i] > hi[i])
            x[i] = hi[i];
        if (lo && x[i] < lo[i])
            x[i] = lo[i];
    }
}

/* ======================================================================== */
/* LAPACKE wrappers                                                          */
/* ======================================================================== */

/* info > 0: singular / not positive definite / no convergence. info < 0: with our own argument
 * checks done, LAPACKE's only remaining complaint is its NaN check on the inputs. */
static int lapack_status(lapack_int info)
{
    if (info == 0)
        return SV_OK;
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return SV_ENOMEM;
    return SV_ENUMERIC;
}

int sv_solve_spd(int n, double *A, double *B, int nrhs)
{
    if (n < 0 || nrhs < 0)
        return SV_EINVAL;
    if (n == 0 || nrhs == 0)
        return SV_OK;
    /* One right-hand side: the column-major call on the same memory ('L' there is the row-major
     * upper triangle; b is a vector either way) needs none of the transposed copies LAPACKE
     * makes for row-major input, so a solve inside an iteration allocates nothing. */
    if (nrhs == 1)
        return lapack_status(LAPACKE_dposv(LAPACK_COL_MAJOR, 'L', n, 1, A, n, B, n));
    return lapack_status(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', n, nrhs, A, n, B, nrhs));
}

int sv_solve_general(int n, double *A, double *B, int nrhs)
{
    if (n < 0 || nrhs < 0)
        return SV_EINVAL;
    if (n == 0 || nrhs == 0)
        return SV_OK;
    lapack_int *ipiv = malloc((size_t)n * sizeof(lapack_int));
    if (!ipiv)
        return SV_ENOMEM;
    int rc = lapack_status(LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, nrhs, A, n, ipiv, B, nrhs));
    free(ipiv);
    return rc;
}

int sv_sym_eig(int n, double *A, double *w, int vectors)
{
    if (n < 0)
        return SV_EINVAL;
    if (n == 0)
        return SV_OK;
    return lapack_status(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vectors ? 'V' : 'N', 'U', n, A, n, w));
}

/* dsyevd's workspace for order n (LAPACK's documented minimum sizes). */
static void eig_sizes(int n, int vectors, int *lwork, int *liwork)
{
    if (n <= 1) {
        *lwork = 1;
        *liwork = 1;
    } else if (vectors) {
        *lwork = 1 + 6 * n + 2 * n * n;
        *liwork = 3 + 5 * n;
    } else {
        *lwork = 2 * n + 1;
        *liwork = 1;
    }
}

int sv_eig_ws_alloc(sv_eig_ws *ws, int n_max, int vectors)
{
    memset(ws, 0, sizeof *ws);
    ws->n_max = n_max > 1 ? n_max : 1;
    ws->vectors = vectors != 0;
    eig_sizes(ws->n_max, ws->vectors, &ws->lwork, &ws->liwork);
    ws->work = malloc((size_t)ws->lwork * sizeof *ws->work);
    ws->iwork = malloc((size_t)ws->liwork * sizeof *ws->iwork);
    if (!ws->work || !ws->iwork) {
        sv_eig_ws_free(ws);
        return SV_ENOMEM;
    }
    return SV_OK;
}

void sv_eig_ws_free(sv_eig_ws *ws)
{
    free(ws->work);
    free(ws->iwork);
    memset(ws, 0, sizeof *ws);
}

int sv_sym_eig_ws(sv_eig_ws *ws, int n, double *A, double *w, int vectors)
{
    if (n < 0 || n > ws->n_max || (vectors && !ws->vectors))
        return SV_EINVAL;
    if (n == 0)
        return SV_OK;
    int lwork, liwork;
    eig_sizes(n, vectors, &lwork, &liwork);
    /* Column-major on the same memory: A is symmetric, so its lower triangle there is the
     * row-major upper one, and no transposed copy is made. The eigenvectors come back as the
     * columns of the column-major matrix, i.e. the rows here: transpose them into columns. */
    int rc = lapack_status(LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, vectors ? 'V' : 'N', 'L', n, A,
                                               n, w, ws->work, lwork, ws->iwork, liwork));
    if (rc == SV_OK && vectors)
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) {
                double t = A[(size_t)i * n + j];
                A[(size_t)i * n + j] = A[(size_t)j * n + i];
                A[(size_t)j * n + i] = t;
            }
    return rc;
}

int sv_lstsq(int m, int n, double *A, double *b)
{
    if (m < 0 || n < 0)
        return SV_EINVAL;
    if (n == 0)
        return SV_OK;
    if (m == 0) {
        sv_zero(n, b);
        return SV_OK;
    }
    return lapack_status(LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', m, n, 1, A, n, b, 1));
}

void sv_blas_single_thread(void)
{
    /* OpenBLAS 0.3.21 (Debian 12) keeps one process-wide thread count, so this affects every
     * thread, not only the caller; that is what a worker pool wants anyway (parallelism comes from
     * the workers), and the call is idempotent. */
    openblas_set_num_threads(1);
}
