/* linalg.h - dense and CSR matrices, vector kernels and the BLAS/LAPACKE wrappers every solver
 * uses. Matrices are row-major. A sv_mat is either dense or CSR behind one interface, so models
 * and solvers are written once for both. Functions that allocate return SV_OK or SV_ENOMEM. */
#ifndef SV_LINALG_H
#define SV_LINALG_H

#include "core/solver.h"

/* Dense row-major rows x cols; data[i*cols + j]. */
typedef struct {
    int rows, cols;
    double *data;
} sv_dense;

/* Compressed sparse rows: row i holds colind/val[rowptr[i] .. rowptr[i+1]). */
typedef struct {
    int rows, cols, nnz;
    int *rowptr;   /* rows + 1 */
    int *colind;   /* nnz, sorted within a row */
    double *val;   /* nnz */
} sv_csr;

typedef enum { SV_MAT_DENSE = 0, SV_MAT_CSR = 1 } sv_mat_kind;

typedef struct {
    sv_mat_kind kind;
    int rows, cols;
    sv_dense dense;  /* when kind == SV_MAT_DENSE */
    sv_csr csr;      /* when kind == SV_MAT_CSR */
} sv_mat;

/* ---- allocation (zero-initialised; *_free accept zeroed or NULL-data structs) ---- */
int sv_dense_alloc(sv_dense *m, int rows, int cols);
void sv_dense_free(sv_dense *m);
int sv_csr_alloc(sv_csr *m, int rows, int cols, int nnz);
void sv_csr_free(sv_csr *m);
int sv_mat_dense(sv_mat *m, int rows, int cols);           /* a zeroed dense sv_mat */
int sv_mat_from_csr(sv_mat *m, const sv_csr *src);         /* deep copy */
void sv_mat_free(sv_mat *m);
int sv_mat_copy(const sv_mat *src, sv_mat *dst);
/* dst = the rows idx[0..n) of src, in that order (deep copy, same kind). */
int sv_mat_select_rows(const sv_mat *src, const int *idx, int n, sv_mat *dst);
/* dst = rows [r0, r1) of src (deep copy, same kind). */
int sv_mat_row_block(const sv_mat *src, int r0, int r1, sv_mat *dst);
/* Dense copy of any sv_mat. */
int sv_mat_to_dense(const sv_mat *src, sv_dense *dst);
/* Element (i, j) (O(log nnz_row) for CSR). */
double sv_mat_get(const sv_mat *m, int i, int j);

/* ---- products ---- */
/* y = alpha * op(A) x + beta * y, op(A) = A (trans = 0) or A' (trans = 1). With beta == 0, y is
 * overwritten (no NaN propagation from old y). Dense goes through cblas_dgemv. */
void sv_mat_gemv(int trans, double alpha, const sv_mat *A, const double *x, double beta, double *y);
/* a_i' x for row i. */
/* One pass over A for a model gradient: for each block of rows small enough to stay in cache,
 *   z[r0..r1) = A[r0..r1) x,   then fn(ctx, r0, r1, z) turns z[r0..r1) into weights u in place,
 *   then g += A[r0..r1)^T u.
 * The second product finds its rows in cache, so a gradient reads A from memory once instead of
 * twice (sv_mat_gemv then sv_mat_gemv^T). g is accumulated into (the caller initialises it);
 * z has A->rows entries. The blocks hold about SV_FUSED_BLOCK_BYTES of A (at least one row). */
#define SV_FUSED_BLOCK_BYTES (192 * 1024)
typedef void (*sv_rows_fn)(void *ctx, int r0, int r1, double *z);
void sv_mat_fused_gemv(const sv_mat *A, const double *x, double *z, sv_rows_fn fn, void *ctx,
                       double *g);
/* The rows a block of sv_mat_fused_gemv holds for a matrix of cols columns. */
int sv_fused_block_rows(int cols);

double sv_mat_row_dot(const sv_mat *A, int i, const double *x);
/* y += alpha * a_i. */
void sv_mat_row_axpy(const sv_mat *A, int i, double alpha, double *y);
/* |a_i|^2. */
double sv_mat_row_nrm2sq(const sv_mat *A, int i);
/* G = A' diag(w) A (cols x cols, dense, symmetric); w may be NULL (all ones). G allocated here. */
int sv_mat_gram(const sv_mat *A, const double *w, sv_dense *G);
/* C = alpha * op(A) op(B) + beta * C, dense, through cblas_dgemm. */
void sv_dense_gemm(int transA, int transB, double alpha, const sv_dense *A, const sv_dense *B,
                   double beta, sv_dense *C);
/* Largest eigenvalue of A' diag(w) A (w may be NULL), by power iteration from a fixed start,
 * relative tolerance tol, at most max_iter steps. 0 for an empty or zero matrix. Weights are
 * assumed >= 0. Allocates m + 2 cols doubles of scratch; NaN if that allocation fails. */
double sv_mat_gram_eigmax(const sv_mat *A, const double *w, double tol, int max_iter);

/* ---- vectors (n may be 0) ---- */
double sv_dot(int n, const double *x, const double *y);
double sv_nrm2(int n, const double *x);
double sv_nrminf(int n, const double *x);
void sv_axpy(int n, double alpha, const double *x, double *y);   /* y += alpha x */
void sv_scal(int n, double alpha, double *x);
void sv_copy(int n, const double *x, double *y);
void sv_zero(int n, double *x);
void sv_fill(int n, double v, double *x);
int sv_all_finite(int n, const double *x);                        /* 1 if no NaN/Inf */
/* Keeps the k entries of largest magnitude of x (ties: lower index first; NaN counts as the
 * largest) and zeroes the rest, in place, in O(n) expected time (quickselect). scratch: n
 * doubles of workspace, so that a solver's iterations allocate nothing; NULL: allocated here.
 * Returns SV_OK, or SV_ENOMEM (only when scratch is NULL). */
int sv_topk(int n, int k, double *x, double *scratch);
/* Euclidean projection of x onto the box [lo, hi] (either may be NULL: unbounded). */
void sv_project_box(int n, const double *lo, const double *hi, double *x);

/* ---- LAPACKE wrappers (A row-major n x n, overwritten; B row-major n x nrhs, overwritten by
 * the solution). Return SV_OK, SV_ENUMERIC (singular / not positive definite) or SV_ENOMEM. ---- */
int sv_solve_spd(int n, double *A, double *B, int nrhs);    /* Cholesky, dposv */
int sv_solve_general(int n, double *A, double *B, int nrhs); /* LU, dgesv */
/* Eigenvalues of symmetric A (overwritten), ascending into w[n]; eigenvectors into A's rows
 * when vectors != 0 (row i of A is NOT eigenvector i: column i is, as LAPACK row-major). */
int sv_sym_eig(int n, double *A, double *w, int vectors);
/* The same with a workspace allocated once (sv_eig_ws_alloc, for n up to n_max, eigenvectors
 * or not), so that an eigendecomposition inside a solver's iterations allocates nothing. */
typedef struct {
    int n_max, vectors;
    double *work;
    int *iwork;
    int lwork, liwork;
} sv_eig_ws;
int sv_eig_ws_alloc(sv_eig_ws *ws, int n_max, int vectors);   /* SV_OK or SV_ENOMEM */
void sv_eig_ws_free(sv_eig_ws *ws);
/* As sv_sym_eig (same layout of the eigenvectors); n <= ws->n_max, vectors only if ws has
 * room for them. */
int sv_sym_eig_ws(sv_eig_ws *ws, int n, double *A, double *w, int vectors);
/* Least squares min |A x - b| for dense m x n A (overwritten), b length max(m,n) (overwritten,
 * solution in its first n entries). dgels. */
int sv_lstsq(int m, int n, double *A, double *b);

/* Use one BLAS thread in the calling thread's BLAS calls (workers call this once). */
void sv_blas_single_thread(void);

#endif
