/* cascading_gen.c - seeded random cascading MDPs for mdp.cascading; see cascading_gen.h. */
#include "core/solvers/mdp/cascading_gen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

const sv_param_spec cascading_gen_params[] = {
    SV_P_INT32_REQ(cascading_gen_spec, states, 1, CASCADING_MAX_STATES, "states S"),
    SV_P_INT32_REQ(cascading_gen_spec, items, 1, CASCADING_MAX_ITEMS, "items N"),
    SV_P_INT32_REQ(cascading_gen_spec, horizon, 1, CASCADING_MAX_HORIZON, "horizon H"),
    SV_P_INT32_REQ(cascading_gen_spec, list_size, 1, CASCADING_MAX_ITEMS,
                   "m: most items a list shows; <= items"),
    SV_P_SEED(cascading_gen_spec, seed, 0, "seed of the attractions, rewards and transitions"),
    SV_PARAMS_END,
};

int cascading_gen_check(const cascading_gen_spec *spec, sv_err *e)
{
    int rc = sv_params_validate(cascading_gen_params, spec, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;
    if (spec->list_size > spec->items)
        return sv_fail(e, "/problem/generate/list_size", "must be <= items (%d)", spec->items);
    if ((double)spec->states * spec->items * spec->states > CASCADING_MAX_TRANSITIONS)
        return sv_fail(e, "/problem/generate/items",
                       "states^2 items = %.0f exceeds the limit of %.0f",
                       (double)spec->states * spec->items * spec->states,
                       CASCADING_MAX_TRANSITIONS);
    if ((double)spec->horizon * spec->states * spec->list_size > CASCADING_MAX_POLICY)
        return sv_fail(e, "/problem/generate/horizon",
                       "horizon states list_size = %.0f exceeds the limit of %.0f",
                       (double)spec->horizon * spec->states * spec->list_size,
                       CASCADING_MAX_POLICY);
    return SV_OK;
}

int cascading_arrays_alloc(cascading_arrays *out, int S, int N, int H, int m)
{
    memset(out, 0, sizeof *out);
    size_t s = (size_t)S, n = (size_t)N;
    out->q = malloc(s * n * sizeof *out->q);
    out->r = malloc(s * n * sizeof *out->r);
    out->P = malloc(s * n * s * sizeof *out->P);
    out->P0 = malloc(s * s * sizeof *out->P0);
    out->mu = malloc(s * sizeof *out->mu);
    if (!out->q || !out->r || !out->P || !out->P0 || !out->mu) {
        cascading_arrays_free(out);
        return SV_ENOMEM;
    }
    out->model = (cascading_problem){.S = S, .N = N, .H = H, .m = m, .q = out->q, .r = out->r,
                                     .P = out->P, .P0 = out->P0, .mu = out->mu};
    return SV_OK;
}

int cascading_generate(const cascading_gen_spec *spec, cascading_arrays *out, sv_err *e)
{
    memset(out, 0, sizeof *out);
    int rc = cascading_gen_check(spec, e);
    if (rc != SV_OK || (rc = cascading_arrays_alloc(out, spec->states, spec->items, spec->horizon,
                                                    spec->list_size)) != SV_OK)
        return rc;
    sv_rng g;
    sv_rng_seed(&g, spec->seed);
    int S = spec->states, N = spec->items;
    for (int s = 0; s < S; s++)
        for (int a = 0; a < N; a++) {
            size_t sa = (size_t)s * N + a;
            out->q[sa] = CASCADING_GEN_Q_MIN +
                         (CASCADING_GEN_Q_MAX - CASCADING_GEN_Q_MIN) * sv_rng_uniform(&g);
            out->r[sa] = sv_rng_uniform(&g);
            sv_rng_simplex(&g, out->P + sa * S, S);
        }
    for (int s = 0; s < S; s++)
        sv_rng_simplex(&g, out->P0 + (size_t)s * S, S);
    for (int s = 0; s < S; s++)
        out->mu[s] = 1.0 / S;
    return SV_OK;
}

void cascading_arrays_free(cascading_arrays *a)
{
    free(a->q);
    free(a->r);
    free(a->P);
    free(a->P0);
    free(a->mu);
    memset(a, 0, sizeof *a);
}
