/* mfac_gen.h - the seeded generator of secondorder.mfac's "generate" problems: least-squares or
 * logistic data with a chosen condition number and feature correlation (the ill-conditioned
 * linear models on which a second-order preconditioner pays off), and the parameter table that
 * decodes and documents the "generate" object. Kept out of the solver (core/solvers/secondorder/
 * mfac.c), which takes any linear model. */
#ifndef SV_SOLVERS_MFAC_GEN_H
#define SV_SOLVERS_MFAC_GEN_H

#include <stdint.h>

#include "core/models/glm.h"
#include "core/params.h"

/* rows x dim data: z ~ N(0, I_dim), z0 ~ N(0, 1), a_j = s_j (sqrt(1 - rho) z_j + sqrt(rho) z0)
 * with s_j = condition^(-j / (2 (dim - 1))) (s_0 = 1; dim = 1: s = 1), so the feature covariance
 * has condition number about `condition` (rho = 0) and equicorrelation rho. Planted
 * x* ~ N(0, I); squared loss b = a'x* + noise eps, logistic b = +1 with probability
 * sigmoid(a'x*). One xoshiro256** stream seeded with seed draws x*, then row by row z0, z, and
 * eps (or the label's uniform). */
typedef struct {
    int rows, dim;          /* >= 1 */
    sv_loss loss;
    double lambda;          /* ridge >= 0 */
    double condition;       /* in [1, MFAC_GEN_MAX_CONDITION] */
    double correlation;     /* rho in [0, 1) */
    double noise;           /* squared loss: noise standard deviation >= 0 */
    uint64_t seed;
} mfac_gen_spec;

#define MFAC_GEN_MAX_CONDITION 1e12
/* The largest double below 1: correlation lies in [0, 1). */
#define MFAC_GEN_MAX_CORRELATION 0x1.fffffffffffffp-1

/* The table of the "generate" object that fills an mfac_gen_spec: rows and dim required; loss
 * (squared), lambda (0), condition (1), correlation (0), noise (0.1), seed (0). The caller still
 * bounds the sizes by its limits. */
extern const sv_param_spec mfac_gen_params[];

/* A generated instance; glm points into A and b. */
typedef struct {
    sv_mat A;
    double *b;
    double *xstar;          /* dim: the planted weights */
    sv_glm glm;
} mfac_instance;

/* Validates spec against mfac_gen_params (errors name "/problem/generate/<field>"), then fills
 * out. SV_OK, SV_EINVAL or SV_ENOMEM (out is then empty; mfac_instance_free is still safe). */
int mfac_generate(const mfac_gen_spec *spec, mfac_instance *out, sv_err *e);
/* Frees and zeroes; accepts a zeroed instance. */
void mfac_instance_free(mfac_instance *inst);

#endif
