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
    SV_P_BOOL(alflb_gen_spec, online, 0,
              "true: every iteration routes a fresh batch of tokens drawn the same way (the "
              "online setting); false: the same batch every iteration"),
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
    free(d->w);
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

/* One batch: s_te = g_te + skew w_e, token by token from the stream. */
static void draw(sv_rng *r, const double *w, double skew, int tokens, int experts, double *out)
{
    for (size_t t = 0; t < (size_t)tokens; t++)
        for (int j = 0; j < experts; j++)
            out[t * (size_t)experts + (size_t)j] = sv_rng_uniform(r) + skew * w[j];
}

static void next_batch(void *ctx, double *scores)
{
    alflb_data *d = ctx;
    draw(&d->rng, d->w, d->skew, d->prob.tokens, d->prob.experts, scores);
}

int alflb_generate(const alflb_gen_spec *s, alflb_data *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int rc = alflb_gen_check(s, e);
    if (rc != SV_OK)
        return rc;
    if ((rc = alflb_data_alloc(d, s->tokens, s->experts)) != SV_OK)
        return rc;
    d->w = malloc((size_t)s->experts * sizeof *d->w);
    if (!d->w) {
        alflb_data_free(d);
        return SV_ENOMEM;
    }
    sv_rng_seed(&d->rng, s->seed);
    for (int j = 0; j < s->experts; j++)
        d->w[j] = sv_rng_uniform(&d->rng);
    d->skew = s->skew;
    draw(&d->rng, d->w, s->skew, s->tokens, s->experts, d->scores);
    d->prob.k = s->k;
    d->prob.capacity = s->capacity_factor > 0
                           ? ceil(s->capacity_factor * s->k * (double)s->tokens / s->experts - 1e-9)
                           : 0.0;
    if (s->online) {
        d->stream.next = next_batch;
        d->stream.ctx = d;
        d->prob.stream = &d->stream;
    }
    return SV_OK;
}
