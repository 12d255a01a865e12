/* cascading_gen.h - seeded random cascading MDPs for mdp.cascading (core/solvers/mdp/cascading.h),
 * the "generate" form with its parameter table (the codec decodes /problem/generate by it), and
 * the container that owns a model's arrays, generated or decoded. */
#ifndef SV_CASCADING_GEN_H
#define SV_CASCADING_GEN_H

#include <stdint.h>
#include "core/params.h"
#include "core/solvers/mdp/cascading.h"

/* One xoshiro256** stream seeded with seed draws, state by state and item by item, the
 * attraction q(s, a) ~ U[0.05, 0.5), the reward r(s, a) ~ U[0, 1) and the row P(.|s, a) ~
 * Dirichlet(1, ..., 1) (normalised -log U); then the no-click rows P0(.|s) ~ Dirichlet(1). The
 * initial distribution is uniform. */
typedef struct {
    int states, items, horizon, list_size;
    uint64_t seed;
} cascading_gen_spec;

#define CASCADING_GEN_Q_MIN 0.05
#define CASCADING_GEN_Q_MAX 0.5

extern const sv_param_spec cascading_gen_params[];

/* The table's checks, list_size <= items and the size limits of cascading.h. Errors name
 * "/problem/generate/<field>". */
int cascading_gen_check(const cascading_gen_spec *spec, sv_err *e);

/* Owns a model; model points into it. */
typedef struct {
    cascading_problem model;
    double *q, *r, *P, *P0, *mu;
} cascading_arrays;

/* The arrays of S states and N items (model.S, N, H, m set; the values for the caller). SV_OK
 * or SV_ENOMEM (out then empty). */
int cascading_arrays_alloc(cascading_arrays *out, int S, int N, int H, int m);

/* Checks spec and generates. SV_OK, SV_EINVAL or SV_ENOMEM. */
int cascading_generate(const cascading_gen_spec *spec, cascading_arrays *out, sv_err *e);

void cascading_arrays_free(cascading_arrays *a);

#endif
