/* alflb_gen.h - seeded router score matrices for ALF-LB (core/solvers/allocation/alflb.h) for
 * the "generate" form, with its parameter table (the codec decodes /problem/generate by it), and
 * the container that owns an instance's scores, generated or decoded. */
#ifndef SV_ALFLB_GEN_H
#define SV_ALFLB_GEN_H

#include <stdint.h>
#include "core/params.h"
#include "core/rng.h"
#include "core/solvers/allocation/alflb.h"

/* Expert popularity w_e ~ U[0, 1) first, then token by token s_te = g_te + skew w_e with
 * g_te ~ U[0, 1), all from one xoshiro256** stream seeded with seed: skew 0 is i.i.d. uniform
 * scores, a large skew makes a few experts everyone's favourite (the collapse ALF-LB undoes).
 * capacity_factor > 0 sets capacity = ceil(capacity_factor k T / E); 0: no capacity. */
typedef struct {
    int tokens;
    int experts;
    int k;
    double skew;             /* >= 0 */
    double capacity_factor;  /* 0, or >= 1 */
    uint64_t seed;
    int online;              /* 1: a fresh batch of T tokens every iteration, from the same
                                popularities w_e and the same stream */
} alflb_gen_spec;

#define ALFLB_GEN_DEFAULT_K 2
#define ALFLB_GEN_DEFAULT_SKEW 1.0

extern const sv_param_spec alflb_gen_params[];

/* The table's checks plus k <= experts and capacity_factor 0 or >= 1. Errors name
 * "/problem/generate/<field>". Allocates nothing. */
int alflb_gen_check(const alflb_gen_spec *spec, sv_err *e);

typedef struct {
    alflb_problem prob;
    double *scores;
    /* online generated instances: the stream and what it draws from */
    alflb_stream stream;
    double *w;               /* the experts' popularities */
    double skew;
    sv_rng rng;              /* continues where the first batch ended */
} alflb_data;

/* Allocates T x E scores (prob filled but for k and capacity). SV_OK or SV_ENOMEM. */
int alflb_data_alloc(alflb_data *out, int tokens, int experts);

/* Checks spec and generates. SV_OK, SV_EINVAL or SV_ENOMEM (out then empty). */
int alflb_generate(const alflb_gen_spec *spec, alflb_data *out, sv_err *e);

void alflb_data_free(alflb_data *d);

#endif
