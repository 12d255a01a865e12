/* mcts_gen.c - uniform random TSP instances for tsp.mcts; see mcts_gen.h. */
#include "core/solvers/tsp/mcts_gen.h"

#include "core/rng.h"
#include "core/solvers/tsp/mcts.h"

const sv_param_spec mcts_gen_params[] = {
    SV_P_INT32_REQ(mcts_gen_spec, n, MCTS_MIN_N, MCTS_MAX_N, "cities"),
    SV_P_SEED(mcts_gen_spec, seed, 0, "seed of the coordinates"),
    SV_PARAMS_END,
};

int mcts_gen_check(const mcts_gen_spec *spec, sv_err *e)
{
    return sv_params_validate(mcts_gen_params, spec, "/problem/generate", e);
}

int mcts_generate(const mcts_gen_spec *spec, double *xy, sv_err *e)
{
    int rc = mcts_gen_check(spec, e);
    if (rc != SV_OK)
        return rc;
    sv_rng r;
    sv_rng_seed(&r, spec->seed);
    for (int i = 0; i < 2 * spec->n; i++)
        xy[i] = sv_rng_uniform(&r);
    return SV_OK;
}
