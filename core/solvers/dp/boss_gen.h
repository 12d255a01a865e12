/* boss_gen.h - seeded Gaussian-mixture targets for dp.boss (core/solvers/dp/boss.h), the
 * "generate" form, with its parameter table (the codec decodes /problem/generate by it), and the
 * container that owns a mixture's arrays, generated or decoded. */
#ifndef SV_BOSS_GEN_H
#define SV_BOSS_GEN_H

#include <stdint.h>
#include "core/params.h"
#include "core/solvers/dp/boss.h"

/* m components in d dimensions: means mu_c ~ N(0, spread^2 I), standard deviations sigma_c ~
 * U[sigma_min, sigma_max), weights w_c = 0.5 + u_c, u_c ~ U[0, 1) (normalised by the solver).
 * One xoshiro256** stream seeded with seed draws, component by component, mu_c, sigma_c, w_c. */
typedef struct {
    int dim;
    int components;
    double spread;
    double sigma_min, sigma_max;
    uint64_t seed;
} boss_gen_spec;

#define BOSS_GEN_DEFAULT_SPREAD 3.0
#define BOSS_GEN_DEFAULT_SIGMA_MIN 0.1
#define BOSS_GEN_DEFAULT_SIGMA_MAX 0.5
#define BOSS_GEN_MAX_DIM 100000
#define BOSS_GEN_MAX_COMPONENTS 10000

/* dim and components required, the rest with the defaults above. */
extern const sv_param_spec boss_gen_params[];

/* The table's checks and sigma_min <= sigma_max. Errors name "/problem/generate/<field>". */
int boss_gen_check(const boss_gen_spec *spec, sv_err *e);

/* Owns a mixture; field points into it. */
typedef struct {
    boss_field field;
    double *weights, *means, *sigmas;
} boss_mixture;

/* The arrays of m components in d dimensions (field.kind, d, m set; the rest for the caller).
 * SV_OK or SV_ENOMEM (out then empty). */
int boss_mixture_alloc(boss_mixture *out, int m, int d);

/* Checks spec and generates. SV_OK, SV_EINVAL or SV_ENOMEM. */
int boss_generate(const boss_gen_spec *spec, boss_mixture *out, sv_err *e);

void boss_mixture_free(boss_mixture *mx);

#endif
