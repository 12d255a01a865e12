/* bip_gen.h - the instances of BiP's pruning problem (core/solvers/bilevel/bip.h): the seeded
 * sparse-ground-truth generator of the "generate" form with its parameter table (the codec
 * decodes /problem/generate by it), and the split of a loaded data set into training and
 * validation rows, both owned by one container. */
#ifndef SV_BIP_GEN_H
#define SV_BIP_GEN_H

#include <stdint.h>
#include "core/dataset.h"
#include "core/params.h"
#include "core/solvers/bilevel/bip.h"

/* Sparse ground truth with features that mislead magnitude pruning. Column j has scale
 * c_j = 10^(scale_spread (u_j - 1/2)), u_j ~ U[0, 1); a row is a_j = c_j (sqrt(1 - rho) e_j +
 * sqrt(rho) f) with e_j, f ~ N(0, 1) (f shared by the row: equicorrelated features). The true
 * weights are w_j = s_j (1 + U[0, 1)) / c_j on `support` random coordinates (random signs s_j),
 * 0 elsewhere, so every true feature moves a'w by a comparable amount while |w_j| follows 1/c_j.
 * Squared loss: b = a'w + noise eps; logistic: b = +1 with probability sigmoid(a'w). One
 * xoshiro256** stream seeded with seed draws, in order: the scales, the support (a partial
 * Fisher-Yates), the weights, the training rows with their targets, the validation rows. */
typedef struct {
    int rows;             /* training rows >= 1 */
    int val_rows;         /* validation rows >= 1; 0: as many as rows */
    int dim;              /* d >= 1 */
    int support;          /* 1 <= support <= d */
    sv_loss loss;
    double correlation;   /* rho in [0, 1) */
    double scale_spread;  /* in [0, BIP_GEN_MAX_SCALE_SPREAD] (decades) */
    double noise;         /* >= 0, squared loss only */
    uint64_t seed;
} bip_gen_spec;

#define BIP_GEN_MAX_SCALE_SPREAD 6.0
#define BIP_GEN_DEFAULT_CORRELATION 0.5
#define BIP_GEN_DEFAULT_SCALE_SPREAD 2.0
#define BIP_GEN_DEFAULT_NOISE 0.5

/* The parameter table of bip_gen_spec ("/problem/generate"): rows, dim and support required,
 * the rest with the defaults above (core/params.h). correlation's table range is [0, 1]; the
 * exclusive end (< 1) is bip_gen_check's. */
extern const sv_param_spec bip_gen_params[];

/* The rows val_rows stands for (val_rows, or rows when it is 0). */
int bip_gen_val_rows(const bip_gen_spec *spec);

/* The table's checks plus the ones relating two members (support <= dim, correlation < 1).
 * Errors name "/problem/generate/<field>". SV_OK or SV_EINVAL; allocates nothing. */
int bip_gen_check(const bip_gen_spec *spec, sv_err *e);

/* Owns a generated (or decoded) instance; prob points into it. */
typedef struct {
    bip_problem prob;
    sv_mat A, A_val;
    double *b, *b_val;
    double *w_true;       /* d: the planted weights (generator only; NULL otherwise) */
} bip_data;

/* Checks spec (bip_gen_check), fills out with prob.k = support. SV_OK, SV_EINVAL or SV_ENOMEM
 * (out then empty; bip_data_free is still safe). */
int bip_generate(const bip_gen_spec *spec, bip_data *out, sv_err *e);

/* A pruning problem from a loaded data set (core/dataset.h): the rows are shuffled with seed
 * (Fisher-Yates), the first round(val_fraction * rows) become the validation rows and the rest
 * the training rows, in that order. Targets: +1 for label positive_class and -1 for the others
 * (logistic), or the labels as numbers (squared loss with positive_class < 0). The features are
 * copied as they are (standardise ds first if wanted). Errors name
 * "/problem/dataset/<field>". SV_OK, SV_EINVAL or SV_ENOMEM (out then empty). */
int bip_from_dataset(const sv_dataset *ds, double val_fraction, uint64_t seed,
                     int positive_class, sv_loss loss, int k, bip_data *out, sv_err *e);
void bip_data_free(bip_data *d);

#endif
