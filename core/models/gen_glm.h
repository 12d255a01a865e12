/* gen_glm.h - linear-model problems spread over n clients, for the distributed solvers: a seeded
 * generator of heterogeneous least-squares or logistic instances, and a row split of a real data
 * set (core/dataset.h) across clients. Both fill one container that owns every array. */
#ifndef SV_GEN_GLM_H
#define SV_GEN_GLM_H

#include <stdint.h>
#include "core/dataset.h"
#include "core/models/glm.h"
#include "core/params.h"

/* n_clients linear-model objectives over the same dim columns; glm[i] points into A[i], b[i]. */
typedef struct {
    int n_clients;
    int dim;
    sv_mat *A;     /* n_clients matrices (dense from the generator and the split) */
    double **b;    /* n_clients target vectors (logistic: -1/+1) */
    sv_glm *glm;   /* n_clients objectives, no sample weights, ridge lambda */
} sv_glm_clients;

/* The generated instance. Client i (0-based) draws rows_per_client rows a ~ N(0, I_dim) and
 * multiplies them by s_i = 10^(heterogeneity * i / (n_clients - 1)) (s_0 = 1), so that its
 * smoothness constant L_i grows like s_i^2: heterogeneity h spreads the L_i over about 2h orders
 * of magnitude. A planted x* ~ N(0, (4/dim) I) gives the targets: squared loss b = a'x* + 0.1 s_i
 * eps, eps ~ N(0, 1); logistic loss b = +1 with probability sigmoid(a'x* / s_i), else -1, so every
 * client has the same label noise whatever its scale. Everything comes from one xoshiro stream
 * seeded with seed: x*, then client 0's rows and targets, then client 1's, ... */
typedef struct {
    int n_clients;          /* >= 1 */
    int rows_per_client;    /* >= 1 */
    int dim;                /* >= 1 */
    sv_loss loss;
    double heterogeneity;   /* in [0, SV_GEN_GLM_MAX_HETEROGENEITY] */
    double lambda;          /* ridge weight >= 0, the same on every client */
    uint64_t seed;
} sv_gen_glm_spec;

#define SV_GEN_GLM_MAX_HETEROGENEITY 6.0

/* The table of the "generate" object that fills an sv_gen_glm_spec: clients, rows_per_client
 * and dim required; loss (squared), heterogeneity (0), lambda (0), seed (0). The caller still
 * bounds the sizes by its limits. */
extern const sv_param_spec sv_gen_glm_params[];

/* The table of a "generate" object for one model (constrained.lion): rows (rows_per_client) and
 * dim required; loss (squared), lambda (0), seed (0). It leaves n_clients and heterogeneity
 * alone: the caller sets them to 1 and 0 (sv_gen_glm_one_default), so the instance is client 0
 * of sv_gen_glm_clients, scale 1. */
extern const sv_param_spec sv_gen_glm_one_params[];
/* The defaults of sv_gen_glm_one_params with n_clients = 1 and heterogeneity 0. */
void sv_gen_glm_one_default(sv_gen_glm_spec *spec);

/* Validates spec (errors name "/problem/generate/<field>"), then fills out. Returns SV_OK,
 * SV_EINVAL or SV_ENOMEM (out is then empty; sv_glm_clients_free is still safe). */
int sv_gen_glm_clients(const sv_gen_glm_spec *spec, sv_glm_clients *out, sv_err *e);

/* Splits the rows of ds across n_clients clients as evenly as possible (client i gets rows
 * [i*m/n, (i+1)*m/n) of the order), the order being the file's (shuffle == 0) or a Fisher-Yates
 * permutation seeded with seed (shuffle != 0). Targets: positive_class >= 0 gives +1 for that
 * label and -1 for the others; positive_class < 0 keeps the labels as read (squared loss only).
 * The features are copied as they are (standardise ds first if wanted). Errors name
 * "/problem/dataset/<field>". Returns SV_OK, SV_EINVAL or SV_ENOMEM. */
int sv_glm_clients_split(const sv_dataset *ds, int n_clients, int shuffle, uint64_t seed,
                         int positive_class, sv_loss loss, double lambda, sv_glm_clients *out,
                         sv_err *e);

/* An empty container for n_clients clients over dim columns: zeroed arrays A, b, glm, to be
 * filled by the caller (A[i] and b[i] then belong to the container). SV_OK or SV_ENOMEM. */
int sv_glm_clients_alloc(sv_glm_clients *c, int n_clients, int dim);
/* Points glm[i] at A[i] and b[i], with the given loss and ridge and no sample weights. */
void sv_glm_clients_bind(sv_glm_clients *c, sv_loss loss, double lambda);

/* Frees everything out owns and zeroes it; accepts a zeroed or half-built container. */
void sv_glm_clients_free(sv_glm_clients *c);

#endif
