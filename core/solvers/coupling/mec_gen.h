/* mec_gen.h - the seeded marginals of coupling.mec's "generate" form: Dirichlet(alpha, ..., alpha)
 * or Zipf (p_i proportional to i^-alpha, then shuffled) distributions of given sizes, for the
 * MEC task (k marginals: the first of size n, the others of size m) or the EBIM task (p_X of
 * size n and a rate). */
#ifndef SV_MEC_GEN_H
#define SV_MEC_GEN_H

#include <stdint.h>
#include "core/params.h"
#include "core/rng.h"

typedef enum { MEC_GEN_TASK_MEC = 0, MEC_GEN_TASK_EBIM = 1 } mec_gen_task;
typedef enum { MEC_GEN_DIRICHLET = 0, MEC_GEN_ZIPF = 1 } mec_gen_dist;

typedef struct {
    int task;          /* mec_gen_task */
    int n;             /* size of the first marginal (EBIM: of p_X) */
    int m;             /* size of the others (MEC) */
    int marginals;     /* MEC: how many, 2..8 */
    int dist;          /* mec_gen_dist */
    double alpha;      /* Dirichlet concentration / Zipf exponent, > 0 */
    double rate;       /* EBIM: R in bits; NaN: H(X) / 2 */
    uint64_t seed;
} mec_gen_spec;

extern const sv_param_spec mec_gen_params[];

/* One marginal of n masses (summing to 1) into out, drawn from r. */
void mec_gen_marginal(int dist, double alpha, int n, sv_rng *r, double *out);

/* The spec's marginals into out[0..marginals-1] (MEC: out[0] has n masses, the others m;
 * EBIM: out[0] only, n masses), each caller-allocated, from one generator seeded by seed. */
void mec_gen_fill(const mec_gen_spec *g, double *const *out);

#endif
