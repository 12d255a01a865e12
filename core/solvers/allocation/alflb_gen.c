/* alflb_gen.c - seeded router score matrices and their container (see alflb_gen.h). */
#include "core/solvers/allocation/alflb_gen.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"

const sv_param_spec alflb_gen_params[] = {
    SV_P_INT32_REQ(alflb_gen_spec, tokens, 1, INT_MAX, "tokens T (rows of the score matrix)"),
    SV_P_INT32_REQ(alflb_gen_spec, experts, 1, 1000000, "experts E (columns)"),
    SV_P_INT32(alflb_gen_spec, k, 1, 1000000, ALFLB_GEN_DEFAULT_K,
               "experts per token (<= experts)"),
    SV_P_NUMBER(alflb_gen_spec, skew, 0, 1e6, ALFLB_GEN_DEFAULT_SKEW,
                "expert-popularity skew: s_te = U[0,1) + skew * w_e, w_e ~ U[0,1)"),
    SV_P_NUMBER(alflb_gen_spec, capacity_factor, 0, 1e6, 0,
                "0: no capacity; else capacity = ceil(capacity_factor * k T / E), >= 1"),
    SV_P_SEED(alflb_gen_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_PARAMS_END,
};

int alflb_gen_check(const alflb_gen_spec *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/problem/generate", "spec missing");
    int rc = sv_params_validate(alflb_gen_params, s, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;
    if (s->k > s->experts)
        return sv_fail(e, "/problem/generate/k", "must be <= experts = %d, got %d", s->experts,
                       s->k);
    if (s->capacity_factor != 0 && s->capacity_factor < 1)
        return sv_fail(e, "/problem/generate/capacity_factor",
                       "must be 0 (no capacity) or >= 1 (below 1 nothing fits)");
    return SV_OK;
}

void alflb_data_free(alflb_data *d)
{
    if (!d)
        return;
    free(d->scores);
    memset(d, 0, sizeof *d);
}

int alflb_data_alloc(alflb_data *d, int tokens, int experts)
{
    memset(d, 0, sizeof *d);
    d->scores = malloc((size_t)tokens * (size_t)experts * sizeof *d->scores);
    if (!d->scores)
        return SV_ENOMEM;
    d->prob.tokens = tokens;
    d->prob.experts = experts;
    d->prob.scores = d->scores;
    return SV_OK;
}

int alflb_generate(const alflb_gen_spec *s, alflb_data *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int rc = alflb_gen_check(s, e);
    if (rc != SV_OK)
        return rc;
    if ((rc = alflb_data_alloc(d, s->tokens, s->experts)) != SV_OK)
        return rc;
    double *w = malloc((size_t)s->experts * sizeof *w);
    if (!w) {
        alflb_data_free(d);
        return SV_ENOMEM;
    }
    sv_rng r;
    sv_rng_seed(&r, s->seed);
    for (int j = 0; j < s->experts; j++)
        w[j] = sv_rng_uniform(&r);
    for (size_t t = 0; t < (size_t)s->tokens; t++)
        for (int j = 0; j < s->experts; j++)
            d->scores[t * (size_t)s->experts + (size_t)j] = sv_rng_uniform(&r) + s->skew * w[j];
    free(w);
    d->prob.k = s->k;
    d->prob.capacity = s->capacity_factor > 0
                           ? ceil(s->capacity_factor * s->k * (double)s->tokens / s->experts - 1e-9)
                           : 0.0;
    return SV_OK;
}
