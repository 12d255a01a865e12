/* inertia.h - the inertia (counts of positive, negative and zero eigenvalues) of a dense
 * symmetric matrix from its Bunch-Kaufman factorization P A P' = L D L' (LAPACK dsytrf), by
 * Sylvester's law of inertia: A and D have the same inertia, and D is block diagonal with 1x1
 * and 2x2 blocks whose signs are read off directly. One factorization, O(n^3 / 3) flops, and no
 * eigenvectors: what an optimizer needs to know whether a reduced Hessian is positive definite
 * (a KKT matrix [H G'; G 0] with G of full row rank m has inertia (n, m, 0) iff Z'HZ is).
 * The workspace is allocated once, so a factorization inside an iteration allocates nothing. */
#ifndef SV_INERTIA_H
#define SV_INERTIA_H

typedef struct {
    int n_max;
    int *ipiv;        /* n_max pivots (lapack_int is int in the builds solvd supports) */
    double *work;     /* dsytrf's workspace */
    int lwork;
} sv_inertia_ws;

typedef struct {
    int pos, neg, zero;
} sv_inertia;

/* SV_OK or SV_ENOMEM; n_max >= 0. */
int sv_inertia_ws_alloc(sv_inertia_ws *ws, int n_max);
void sv_inertia_ws_free(sv_inertia_ws *ws);

/* The inertia of the symmetric n x n matrix A (full storage, row- or column-major: only the
 * lower triangle in row-major order, the upper in column-major, is read), n <= ws->n_max.
 * A is overwritten by the factors. A pivot d of D counts as zero when |d| <= tol (tol >= 0; 0
 * counts only exact zeros). Returns SV_OK, SV_EINVAL (n out of range) or SV_ENUMERIC (a
 * non-finite entry, or a LAPACK failure). */
int sv_sym_inertia(sv_inertia_ws *ws, int n, double *A, double tol, sv_inertia *out);

#endif
