/* mcts_gen.h - the seeded "generate" form of tsp.mcts (core/solvers/tsp/mcts.h): n cities
 * uniform in the unit square, with its parameter table (the codec decodes /problem/generate by
 * it). */
#ifndef SV_MCTS_GEN_H
#define SV_MCTS_GEN_H

#include <stdint.h>
#include "core/params.h"
#include "core/solver.h"

typedef struct {
    int n;
    uint64_t seed;
} mcts_gen_spec;

/* n required (3..MCTS_MAX_N), seed 0 by default. */
extern const sv_param_spec mcts_gen_params[];

int mcts_gen_check(const mcts_gen_spec *spec, sv_err *e);

/* xy (2n) <- x_i, y_i ~ U[0, 1) drawn city by city, x then y, from one xoshiro256** stream. */
int mcts_generate(const mcts_gen_spec *spec, double *xy, sv_err *e);

#endif
