/* expm.h - the matrix exponential exp(A) of a dense square matrix by scaling and squaring with
 * Pade approximants, the method of Higham (2005), "The scaling and squaring method for the
 * matrix exponential revisited", SIAM J. Matrix Anal. Appl. 26(4): the degree m in {3, 5, 7, 9,
 * 13} is the lowest whose bound theta_m covers |A|; beyond theta_13 = 5.37 the matrix is scaled
 * by 2^-s (s = ceil(log2(|A| / theta_13))), the [13/13] approximant r = (V - U)^-1 (V + U)
 * (U odd, V even in A) is formed with BLAS products and one LAPACK LU solve, and squared s
 * times. The workspace is allocated once, so a solver's iterations allocate nothing.
 *
 * Layout: the module works on column-major storage (LAPACK's). A row-major caller passes its
 * buffers unchanged: they hold A^T column-major, and exp(A^T) = exp(A)^T is exp(A) row-major.
 * The norm that picks m and s is then the infinity norm of A instead of the 1-norm; Higham's
 * backward-error bound holds in any submultiplicative norm, so the accuracy is the same. */
#ifndef SV_EXPM_H
#define SV_EXPM_H

#include "core/solver.h"

typedef struct {
    int n_max;
    double *buf;  /* 8 n_max^2: the scaled A, its even powers, U, V and a product */
    int *ipiv;    /* n_max: the LU pivots */
} sv_expm_ws;

/* Workspace for matrices of order up to n_max >= 1. SV_OK or SV_ENOMEM (ws zeroed then). */
int sv_expm_ws_alloc(sv_expm_ws *ws, int n_max);
/* Accepts a zeroed or half-made workspace. */
void sv_expm_ws_free(sv_expm_ws *ws);

/* E = exp(A) for A of order n <= ws->n_max (both n x n, column-major or row-major, see above; E
 * must not overlap A). Returns SV_OK, SV_EINVAL (n out of range) or SV_ENUMERIC (A holds a
 * non-finite entry, the Pade denominator is singular, or the result overflowed). When degree is
 * non-NULL it receives the Pade degree used and squarings the number of squarings s. */
int sv_expm(sv_expm_ws *ws, int n, const double *A, double *E, int *degree, int *squarings);

#endif
