/* robust_iwocs_gen.h - the seeded uncertainty sets of mdp.robust_iwocs: `count` perturbations of
 * a nominal transition tensor, the problem's "models" object {count, radius, seed}, with its
 * parameter table (the codec decodes /problem/models by it).
 *
 * Model i (1..count) mixes every row of the nominal model toward a random distribution:
 *   P_i(. | s, a) = (1 - radius) P_0(. | s, a) + radius q_{i,s,a},  q ~ Dirichlet(1, ..., 1),
 * so that every P_i is within total variation `radius` of P_0 row by row. One xoshiro256**
 * stream seeded with seed draws q model by model, row by row (q_t = -log u_t, normalised). */
#ifndef SV_ROBUST_IWOCS_GEN_H
#define SV_ROBUST_IWOCS_GEN_H

#include <stdint.h>
#include "core/models/mdp.h"
#include "core/params.h"

typedef struct {
    int count;       /* perturbed models besides the nominal one */
    double radius;   /* mixing weight toward the random rows, in [0, 1] */
    uint64_t seed;
} robust_iwocs_models_spec;

#define ROBUST_IWOCS_MAX_MODELS 10000

/* count (8, 1..ROBUST_IWOCS_MAX_MODELS), radius (0.3), seed (0). */
extern const sv_param_spec robust_iwocs_models_params[];

/* Fills P (count * S * A * S) with the perturbations of m's transitions by spec. */
void robust_iwocs_perturb(const sv_mdp *m, const robust_iwocs_models_spec *spec, double *P);

#endif
