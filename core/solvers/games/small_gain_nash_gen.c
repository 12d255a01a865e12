/* small_gain_nash_gen.c - the generator of small_gain_nash_gen.h. */
#include "core/solvers/games/small_gain_nash_gen.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"

const sv_param_spec small_gain_nash_gen_params[] = {
    SV_P_INT32(small_gain_nash_gen_spec, players, 1, 4096, 2, "number of players N (a chain)"),
    SV_P_INT32(small_gain_nash_gen_spec, dim, 1, 100000, 4, "block size d of every player"),
    SV_P_NUMBER_GT(small_gain_nash_gen_spec, mu, 0, 1e6, 1.0,
                   "curvature floor: A_ii = mu I + spread G G'/d"),
    SV_P_NUMBER(small_gain_nash_gen_spec, a, 0, 1e6, 10.0,
                "forward coupling |B_{i,i+1}|_2 (the paper's a = 10)"),
    SV_P_NUMBER(small_gain_nash_gen_spec, b, 0, 1e6, 0.05,
                "backward coupling |B_{i+1,i}|_2 (the paper's b = 0.05)"),
    SV_P_NUMBER(small_gain_nash_gen_spec, spread, 0, 1e6, 0.0,
                "weight of the random PSD part of A_ii"),
    SV_P_NUMBER(small_gain_nash_gen_spec, box, 0, 1e12, 0.0,
                "every coordinate in [-box, box]; 0: no box"),
    SV_P_SEED(small_gain_nash_gen_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_PARAMS_END,
};

int small_gain_nash_generate(const small_gain_nash_gen_spec *g, double *M, double *q,
                             double *xstar, double *lo, double *hi, sv_err *e)
{
    int rc = sv_params_validate(small_gain_nash_gen_params, g, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;
    int N = g->players, d = g->dim;
    size_t n = (size_t)N * d, dd = (size_t)d * d;
    double *xs = malloc(n * sizeof *xs), *G = malloc(dd * sizeof *G),
           *R = malloc(dd * sizeof *R), *RR = malloc(dd * sizeof *RR),
           *ev = malloc((size_t)d * sizeof *ev);
    if (!xs || !G || !R || !RR || !ev) {
        free(xs), free(G), free(R), free(RR), free(ev);
        return SV_ENOMEM;
    }
    sv_rng r;
    sv_rng_seed(&r, g->seed);
    for (size_t t = 0; t < n; t++)
        xs[t] = sv_rng_normal(&r);
    memset(M, 0, n * n * sizeof *M);
    for (int i = 0; i < N; i++) {
        for (size_t t = 0; t < dd; t++)
            G[t] = sv_rng_normal(&r);
        size_t o = (size_t)i * d;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) {
                double s = 0;
                for (int k = 0; k < d; k++)
                    s += G[(size_t)a * d + k] * G[(size_t)b * d + k];
                M[(o + a) * n + o + b] = (a == b ? g->mu : 0.0) + g->spread * s / d;
            }
    }
    for (int i = 0; i + 1 < N && rc == SV_OK; i++) {
        for (size_t t = 0; t < dd; t++)
            R[t] = sv_rng_normal(&r);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, d, 1.0, R, d, R, d, 0.0, RR,
                    d);
        if ((rc = sv_sym_eig(d, RR, ev, 0)) != SV_OK)
            break;
        double s = ev[d - 1] > 0 ? 1.0 / sqrt(ev[d - 1]) : 0.0;
        size_t oi = (size_t)i * d, oj = oi + d;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) {
                double x = s * R[(size_t)a * d + b];
                M[(oi + a) * n + oj + b] = g->a * x;  /* B_{i,i+1} = a R */
                M[(oj + b) * n + oi + a] = g->b * x;  /* B_{i+1,i} = b R' */
            }
    }
    if (rc == SV_OK) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)n, -1.0, M, (int)n, xs, 1, 0.0, q,
                    1);
        if (xstar)
            memcpy(xstar, xs, n * sizeof *xs);
        if (g->box > 0 && lo && hi)
            for (size_t t = 0; t < n; t++) {
                lo[t] = -g->box;
                hi[t] = g->box;
            }
    }
    free(xs), free(G), free(R), free(RR), free(ev);
    return rc;
}
