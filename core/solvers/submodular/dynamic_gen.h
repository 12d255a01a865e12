/* dynamic_gen.h - seeded instances of submodular.dynamic's "generate" form and the seeded random
 * update streams of every form. coverage: n sets of set_size distinct items drawn uniformly
 * from a universe of `universe` items, unit weights; facility: n points uniform in [0, 1]^dim,
 * every point both a candidate exemplar and a customer, s(i, j) = exp(-|x_i - x_j|^2 / (2 h^2))
 * with h = bandwidth. Streams: each update deletes a uniformly chosen alive element with
 * probability delete_prob (when one is alive and not every element is dead) and otherwise
 * inserts a uniformly chosen dead one. */
#ifndef SV_DYNAMIC_GEN_H
#define SV_DYNAMIC_GEN_H

#include <stdint.h>
#include "core/params.h"
#include "core/solvers/submodular/dynamic.h"

typedef struct {
    long updates;        /* stream length */
    double delete_prob;  /* probability of a deletion */
    uint64_t seed;
} dynamic_stream_spec;

typedef struct {
    int function;        /* sv_submod_kind */
    int n;               /* ground set */
    int universe;        /* coverage: items */
    int set_size;        /* coverage: items per set, <= universe */
    int dim;             /* facility: point dimension */
    double bandwidth;    /* facility: kernel width h */
    int k;
    long updates;
    double delete_prob;
    uint64_t seed;
} dynamic_gen_spec;

extern const sv_param_spec dynamic_stream_params[];
extern const sv_param_spec dynamic_gen_params[];

/* Universe (coverage items or facility customers) and stored entries of the spec. */
int dynamic_gen_universe(const dynamic_gen_spec *g);
long dynamic_gen_entries(const dynamic_gen_spec *g);

/* Fills the function: coverage ptr (n+1) and items (entries); facility sim (entries). Arrays
 * caller-allocated; f's pointers are set to them. */
void dynamic_gen_fill(const dynamic_gen_spec *g, sv_submod_fn *f, int *ptr, int *items,
                      double *sim);

/* A random stream over n elements, all dead at the start, into out (s->updates); scratch holds
 * 2 n ints. */
void dynamic_gen_stream(int n, const dynamic_stream_spec *s, dynamic_update *out, int *scratch);

#endif
