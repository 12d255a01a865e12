/* vr_halpern_gen.h - seeded finite-sum linear monotone problems for monotone.vr_halpern (the
 * "generate" form): F_i(z) = M_i z + q_i with a planted solution z* of F(z*) = 0. */
#ifndef SV_VR_HALPERN_GEN_H
#define SV_VR_HALPERN_GEN_H

#include <stdint.h>
#include "core/params.h"

typedef enum {
    /* M_i = (1 - skew) G_i G_i' / d + skew (H_i - H_i') / sqrt(2d), G_i = G + h E_i d x d/2 (a
     * rank-deficient PSD part, so merely monotone), H_i = H + h E'_i; each M_i is monotone */
    VR_HALPERN_GEN_MONOTONE = 0,
    /* M_i = G_i G_i' / d symmetric PSD, G_i = G + h E_i: each component cocoercive */
    VR_HALPERN_GEN_COCOERCIVE = 1,
    /* the bilinear game min_x max_y x'A y, A_i = A + h E_i dim/2 x dim/2 (A ~ N(0, 1/(dim/2))),
     * z* = 0: M_i = [[0, A_i], [-A_i', 0]], q_i = 0 */
    VR_HALPERN_GEN_BILINEAR = 2,
    /* merely monotone and singular: M = V' B V, V a random orthonormal basis, B block diagonal
     * with a = k - 1 active pairs, s_j log-spaced from 1 down to 10^-3 (k = floor(d/2)): the
     * first ceil(a/2) s_j [[1 - skew, skew], [-skew, 0]], the others pure rotations s_j [[0, 1],
     * [-1, 0]], and zero on the last pair (and the odd coordinate); M_i = M + h (E_i - mean E) /
     * sqrt(d). The mean's symmetric part is PSD of rank ceil(a/2) (no strong
     * monotonicity), M has a null space of dimension >= 2, solutions are z* + null(M) with z*
     * the minimum-norm one; the components themselves need not be monotone. dim >= 4. */
    VR_HALPERN_GEN_MERELY = 3
} vr_halpern_gen_kind;

typedef struct {
    int kind;               /* vr_halpern_gen_kind */
    int n;                  /* components >= 1 */
    int dim;                /* d >= 1 (even for bilinear) */
    double skew;            /* monotone kind: weight of the skew part, in [0, 1] */
    double heterogeneity;   /* h >= 0: spread of the components around their mean */
    uint64_t seed;
} vr_halpern_gen_spec;

extern const sv_param_spec vr_halpern_gen_params[];

/* Fills M (n*d*d), q (n*d) and zstar (d, may be NULL) from spec. z* ~ N(0, I/d) (0 for
 * bilinear; for merely_monotone a N(0, 1/d) combination of the range's basis vectors, drawn
 * from its own stream: V, z*, the E_i, the offsets' noise); q_i = -M_i z* + (h/4) (e_i - mean e), so that the q_i differ but F(z*) = 0.
 * One xoshiro stream from seed: z*, G, H, then component 0's perturbations, 1's, ...
 * Returns SV_OK or SV_EINVAL (e at /problem/generate/<name>). */
int vr_halpern_generate(const vr_halpern_gen_spec *spec, double *M, double *q, double *zstar,
                        sv_err *e);

#endif
