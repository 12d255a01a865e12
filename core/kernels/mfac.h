/* mfac.h - matrix-free inverse-Hessian-vector products (IHVPs) for the dampened empirical Fisher
 *
 *     F = lambda I + (1/m) sum_{i=1..m} g_i g_i'        (d x d, never formed)
 *
 * after Frantar, Kurtic, Alistarh, "M-FAC: Efficient Matrix-Free Approximations of Second-Order
 * Information", NeurIPS 2021. Two engines, pure numerics on CBLAS/LAPACKE, no allocation after
 * their *_init:
 *
 * - sv_mfac_static, the paper's static algorithm (for pruning): a fixed set of m gradients,
 *   O(d m^2) precomputation of the recursive Sherman-Morrison vectors
 *       v_i = F_{i-1}^{-1} g_i,   F_0 = lambda I,  F_i = F_{i-1} + g_i g_i' / m,
 *   then F^{-1} x = x/lambda - sum_i (v_i'x / (m + g_i'v_i)) v_i in O(d m), and any single entry
 *   [F^{-1}]_{jk} = delta_jk/lambda - sum_i v_ij v_ik / (m + g_i'v_i) in O(m).
 * - sv_mfac_window, the paper's dynamic algorithm (for preconditioned SGD): a sliding window of
 *   at most m gradients in a ring buffer; the same v_i are kept implicitly as v_i = sum_j B_ij g_j
 *   through the m x m matrices D (D_ij = g_i' F_{i-1}^{-1} g_j, j >= i) and B, so that an IHVP
 *   costs O(d m + m^2) and adding or removing a gradient O(d m + m^3).
 *
 * In the window, F divides by the capacity m even when fewer gradients are held (an empty slot
 * is a zero gradient), as in the authors' implementation, unless sv_mfac_window_normalize_by_count
 * asks for the count held. docs/solvers/secondorder/mfac.md has the algebra. */
#ifndef SV_MFAC_H
#define SV_MFAC_H

#include "core/solver.h"

/* Rows of gradients processed together by the static precomputation (level-3 BLAS blocks). */
#define SV_MFAC_BLOCK 32

/* ---- static algorithm ---- */

typedef struct {
    int d, m;
    double lambda;   /* dampening > 0 */
    int built;       /* 1 after sv_mfac_static_build */
    double *V;       /* m x d row-major: row i is v_i = F_{i-1}^{-1} g_i */
    double *denom;   /* m: m + g_i' v_i */
    double *work;    /* m * SV_MFAC_BLOCK scratch */
} sv_mfac_static;

/* Allocates for dimension d >= 1, m >= 1 gradients, dampening lambda > 0 (finite). Returns SV_OK,
 * SV_EINVAL (bad sizes or lambda; s is then zeroed) or SV_ENOMEM. */
int sv_mfac_static_init(sv_mfac_static *s, int d, int m, double lambda);
/* The O(d m^2) precomputation from G (m x d row-major, row i = g_i, finite). Can be called again
 * with new gradients. Returns SV_OK or SV_ENUMERIC (a non-finite or non-positive denominator,
 * which finite data and lambda > 0 rule out unless the numbers overflow). */
int sv_mfac_static_build(sv_mfac_static *s, const double *G);
/* What sv_mfac_static_build_until returns when stop asked it to. */
#define SV_MFAC_STOPPED 1
/* The same, asking stop(data) before each block of SV_MFAC_BLOCK gradients (the whole build can
 * take minutes at the largest sizes): a non-zero answer abandons it and returns SV_MFAC_STOPPED
 * (s->built stays 0). stop may be NULL (never). */
int sv_mfac_static_build_until(sv_mfac_static *s, const double *G, int (*stop)(void *data),
                               void *data);
/* y = F^{-1} x, O(d m). x and y (length d) may be the same array. Uses the engine's scratch: one
 * call at a time per engine (the same holds for sv_mfac_window_ihvp). */
void sv_mfac_static_ihvp(const sv_mfac_static *s, const double *x, double *y);
/* [F^{-1}]_{jk}, O(m). */
double sv_mfac_static_inv_entry(const sv_mfac_static *s, int j, int k);
/* diag[j] = [F^{-1}]_{jj} for every j, O(d m). */
void sv_mfac_static_inv_diag(const sv_mfac_static *s, double *diag);
/* Frees and zeroes; accepts a zeroed or NULL s. */
void sv_mfac_static_free(sv_mfac_static *s);

/* ---- dynamic (sliding-window) algorithm ---- */

typedef struct {
    int d, m;
    double lambda;   /* dampening > 0 (recomputed at every change when rel_damp > 0) */
    double rel_damp; /* 0: lambda fixed; > 0: relative dampening, see sv_mfac_window_set_relative */
    int norm_held;   /* 0: F divides by the capacity m; 1: by the gradients held */
    int count;       /* gradients held, <= m */
    int next;        /* slot the next pushed gradient goes to (the oldest one when full) */
    double *G;       /* m x d ring buffer, row-major; empty slots are zero */
    double *GG;      /* m x m: G G', kept up to date in O(d m) per change */
    double *R;       /* m x m upper: Cholesky factor of m I + G G' / lambda (scratch for B too) */
    double *U;       /* m x m upper, unit diagonal implied: U_ij = D_ij / denom_i for j > i */
    double *B;       /* m x m lower: v_i = sum_{j<=i} B_ij g_j */
    double *denom;   /* m: m + D_ii = m + g_i' F_{i-1}^{-1} g_i */
    double *q;       /* m scratch */
} sv_mfac_window;

/* Allocates an empty window (F = lambda I) for dimension d >= 1, capacity m >= 1, dampening
 * lambda > 0. Returns SV_OK, SV_EINVAL (s zeroed) or SV_ENOMEM. */
int sv_mfac_window_init(sv_mfac_window *s, int d, int m, double lambda);
/* Adds g (length d, finite): into a free slot while count < m, else in place of the oldest
 * gradient. O(d m) for the new row of G G', O(m^3) for D and B. SV_OK or SV_ENUMERIC. */
int sv_mfac_window_push(sv_mfac_window *s, const double *g);
/* The same as n pushes of the rows of G (n x d row-major), with one O(m^3) factorisation at the
 * end: O(n d m + m^3). SV_OK or SV_ENUMERIC. */
int sv_mfac_window_push_many(sv_mfac_window *s, const double *G, int n);
/* Removes the oldest gradient (nothing when empty). O(d m + m^3). SV_OK or SV_ENUMERIC. */
int sv_mfac_window_pop(sv_mfac_window *s);
/* y = F^{-1} x over the gradients held, O(d m + m^2). x and y may be the same array. */
void sv_mfac_window_ihvp(const sv_mfac_window *s, const double *x, double *y);
/* Relative dampening rel > 0 (0 returns to the fixed lambda of the moment): from the next change
 * on, lambda = rel * tr((1/m) G G') / d, the mean diagonal entry of the gradient term (as the
 * "percdamp" of OBC and SparseGPT), or rel itself while the window holds only zeros. Makes F and
 * the IHVP invariant to the scale of the gradients up to that factor. */
void sv_mfac_window_set_relative(sv_mfac_window *s, double rel);
/* on != 0: F = lambda I + (1/n) sum over the n gradients held (n >= 1) instead of dividing by the
 * capacity m (the paper's and authors' normalisation, the default). The two agree once the
 * window is full; while it fills, the capacity normalisation underweights the gradients by n/m.
 * Refactors at once if gradients are held. SV_OK or SV_ENUMERIC. */
int sv_mfac_window_normalize_by_count(sv_mfac_window *s, int on);
/* Empties the window (F = lambda I) without freeing. */
void sv_mfac_window_clear(sv_mfac_window *s);
/* Frees and zeroes; accepts a zeroed or NULL s. */
void sv_mfac_window_free(sv_mfac_window *s);

/* Mean diagonal entry of (1/m) G G' over d coordinates, i.e. sum_i |g_i|^2 / (m d), for G m x d
 * row-major: the scale a relative dampening multiplies. */
double sv_mfac_mean_diag(const double *G, int m, int d);

/* Bytes the two engines allocate for (d, m): for sizing checks before allocating. */
double sv_mfac_static_bytes(int d, int m);
double sv_mfac_window_bytes(int d, int m);

#endif
