/* small_gain_nash_gen.h - seeded quadratic games for games.small_gain_nash (the "generate"
 * form): N players in a chain, each with a d-dimensional block, coupled forward strongly and
 * backward weakly, the paper's LQ game (A_12 = a R, A_21 = b R') extended to a chain:
 *   A_ii = mu I + spread G_i G_i' / d,  B_{i,i+1} = a R_i,  B_{i+1,i} = b R_i',  |R_i|_2 = 1,
 * with a planted unconstrained equilibrium x* (q = -M x*). With a b < mu^2 / (4 cos^2(pi/(N+1)))
 * (spread 0) the game is SGN-certifiable; with (a + b) cos(pi/(N+1)) > mu it is not
 * Euclidean-monotone. */
#ifndef SV_SMALL_GAIN_NASH_GEN_H
#define SV_SMALL_GAIN_NASH_GEN_H

#include <stdint.h>
#include "core/params.h"

typedef struct {
    int players;       /* N >= 1 */
    int dim;           /* d >= 1, every player's block */
    double mu;         /* curvature floor > 0 */
    double a;          /* forward coupling |B_{i,i+1}| >= 0 */
    double b;          /* backward coupling |B_{i+1,i}| >= 0 */
    double spread;     /* >= 0: the random PSD part of A_ii */
    double box;        /* > 0: every coordinate in [-box, box]; 0: no box */
    uint64_t seed;
} small_gain_nash_gen_spec;

extern const sv_param_spec small_gain_nash_gen_params[];

/* Fills M (n x n row-major, n = players * dim), q (n), xstar (n, may be NULL: the planted
 * unconstrained equilibrium, x* ~ N(0, I)) and, when box > 0, lo and hi (n each; may be NULL
 * otherwise). One xoshiro stream from seed: x*, then per player G_i, then per link R_i.
 * Returns SV_OK, SV_ENOMEM or SV_EINVAL (e at /problem/generate/<name>). */
int small_gain_nash_generate(const small_gain_nash_gen_spec *spec, double *M, double *q,
                             double *xstar, double *lo, double *hi, sv_err *e);

#endif
