/* boss_gen.c - seeded Gaussian-mixture targets for dp.boss; see boss_gen.h. */
#include "core/solvers/dp/boss_gen.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

const sv_param_spec boss_gen_params[] = {
    SV_P_INT32_REQ(boss_gen_spec, dim, 1, BOSS_GEN_MAX_DIM, "dimension d"),
    SV_P_INT32_REQ(boss_gen_spec, components, 1, BOSS_GEN_MAX_COMPONENTS,
                   "mixture components m"),
    SV_P_NUMBER(boss_gen_spec, spread, 0, 1e6, BOSS_GEN_DEFAULT_SPREAD,
                "means mu_c ~ N(0, spread^2 I)"),
    SV_P_NUMBER_GT(boss_gen_spec, sigma_min, 0, 1e6, BOSS_GEN_DEFAULT_SIGMA_MIN,
                   "smallest component standard deviation"),
    SV_P_NUMBER_GT(boss_gen_spec, sigma_max, 0, 1e6, BOSS_GEN_DEFAULT_SIGMA_MAX,
                   "largest component standard deviation; sigma_c ~ U[sigma_min, sigma_max)"),
    SV_P_SEED(boss_gen_spec, seed, 0, "seed of the means, deviations and weights"),
    SV_PARAMS_END,
};

int boss_gen_check(const boss_gen_spec *spec, sv_err *e)
{
    int rc = sv_params_validate(boss_gen_params, spec, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;
    if (spec->sigma_min > spec->sigma_max)
        return sv_fail(e, "/problem/generate/sigma_max", "must be >= sigma_min");
    if ((double)spec->dim * spec->components > 1e7)
        return sv_fail(e, "/problem/generate/components",
                       "components dim must be <= 1e7 (the means)");
    return SV_OK;
}

int boss_mixture_alloc(boss_mixture *out, int m, int d)
{
    memset(out, 0, sizeof *out);
    out->weights = malloc((size_t)m * sizeof *out->weights);
    out->sigmas = malloc((size_t)m * sizeof *out->sigmas);
    out->means = malloc((size_t)m * (size_t)d * sizeof *out->means);
    if (!out->weights || !out->sigmas || !out->means) {
        boss_mixture_free(out);
        return SV_ENOMEM;
    }
    out->field.kind = BOSS_FIELD_MIXTURE;
    out->field.d = d;
    out->field.m = m;
    out->field.weights = out->weights;
    out->field.means = out->means;
    out->field.sigmas = out->sigmas;
    return SV_OK;
}

int boss_generate(const boss_gen_spec *spec, boss_mixture *out, sv_err *e)
{
    memset(out, 0, sizeof *out);
    int rc = boss_gen_check(spec, e);
    if (rc != SV_OK || (rc = boss_mixture_alloc(out, spec->components, spec->dim)) != SV_OK)
        return rc;
    sv_rng r;
    sv_rng_seed(&r, spec->seed);
    int d = spec->dim;
    for (int c = 0; c < spec->components; c++) {
        for (int j = 0; j < d; j++)
            out->means[(size_t)c * d + j] = spec->spread * sv_rng_normal(&r);
        out->sigmas[c] = spec->sigma_min + (spec->sigma_max - spec->sigma_min) * sv_rng_uniform(&r);
        out->weights[c] = 0.5 + sv_rng_uniform(&r);
    }
    return SV_OK;
}

void boss_mixture_free(boss_mixture *mx)
{
    free(mx->weights);
    free(mx->means);
    free(mx->sigmas);
    memset(mx, 0, sizeof *mx);
}
