/* rng.h - seeded pseudo-random numbers with caller-owned state (xoshiro256**, seeded through
 * splitmix64), so that every job is reproducible and solvers share no global generator. */
#ifndef SV_RNG_H
#define SV_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} sv_rng;

void sv_rng_seed(sv_rng *r, uint64_t seed);
uint64_t sv_rng_next(sv_rng *r);
/* Uniform in [0, 1). */
double sv_rng_uniform(sv_rng *r);
/* Standard normal (Box-Muller; no cached second value, so the state alone defines the stream). */
double sv_rng_normal(sv_rng *r);
/* Uniform integer in [0, n); n > 0. */
uint64_t sv_rng_below(sv_rng *r, uint64_t n);
/* Fisher-Yates shuffle of idx[0..n). */
void sv_rng_shuffle(sv_rng *r, int *idx, int n);
/* k distinct indices from [0, n) into out[0..k) (k <= n), in random order. */
void sv_rng_sample(sv_rng *r, int n, int k, int *out);
/* A point uniform on the probability simplex (Dirichlet(1, ..., 1)) into x[0..n), n > 0:
 * n exponentials -log(1 - u), each divided by their sum. */
void sv_rng_simplex(sv_rng *r, double *x, int n);

#endif
