/* mck_gen.h - seeded instances of the multiple-choice knapsack (core/solvers/allocation/mck.h)
 * for the "generate" form, with its parameter table (the codec decodes /problem/generate by it),
 * and the container that owns an instance's arrays, generated or decoded. */
#ifndef SV_MCK_GEN_H
#define SV_MCK_GEN_H

#include <stdint.h>
#include "core/params.h"
#include "core/solvers/allocation/mck.h"

/* Group i gets a scale w_i ~ U[0.5, 1.5); its option 0 is "nothing" (cost 0, value 0) and
 * options 1..options-1 have integer costs c ~ U{1..max_cost} and values
 * w_i sqrt(c) (1 + 0.2 (u - 1/2)), u ~ U[0, 1): diminishing returns with noise, the shape of an
 * exploration budget or a distortion curve. The budget is floor(budget_fraction sum_i max_j
 * c_ij). One xoshiro256** stream seeded with seed draws, group by group, w_i, then each option's
 * cost and u. */
typedef struct {
    int groups;              /* n >= 1 */
    int options;             /* options per group, in [1, MCK_MAX_OPTIONS] */
    int max_cost;            /* >= 1 */
    double budget_fraction;  /* in [0, 1] */
    uint64_t seed;
} mck_gen_spec;

#define MCK_GEN_DEFAULT_MAX_COST 100
#define MCK_GEN_DEFAULT_BUDGET_FRACTION 0.5

/* groups and options required, the rest with the defaults above. */
extern const sv_param_spec mck_gen_params[];

/* The table's checks. Errors name "/problem/generate/<field>". Allocates nothing. */
int mck_gen_check(const mck_gen_spec *spec, sv_err *e);

/* Owns an instance; prob points into it. */
typedef struct {
    mck_problem prob;
    int *ptr;
    long *cost;
    double *value;
} mck_data;

/* Allocates the arrays of n groups with n_options options in all (prob.n, prob.ptr[0] = 0 set;
 * the rest for the caller to fill). SV_OK or SV_ENOMEM (out then empty). */
int mck_data_alloc(mck_data *out, int n, long n_options);

/* Checks spec and generates. SV_OK, SV_EINVAL or SV_ENOMEM (out then empty; mck_data_free is
 * still safe). */
int mck_generate(const mck_gen_spec *spec, mck_data *out, sv_err *e);

void mck_data_free(mck_data *d);

#endif
