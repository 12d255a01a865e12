/* blockwise.h - BSVRB, blockwise stochastic variance-reduced bilevel methods for multi-block
 * bilevel problems (core/models/bl_multiblock.h): each iteration samples I of the m lower-level
 * blocks and B rows per sampled block, tracks every block's lower-level gradient and either its
 * Hessian (v1, low dimension) or its Hessian-inverse-vector product (v2, high dimension) with
 * MSVR estimators, and moves x along a STORM-type variance-reduced hypergradient estimate.
 * Paper: Hu, Qiu, Guo, Zhang, Yang, "Blockwise Stochastic Variance-Reduced Methods with Parallel
 * Speedup for Multi-Block Bilevel Optimization", ICML 2023. */
#ifndef SV_BLOCKWISE_H
#define SV_BLOCKWISE_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/bl_multiblock.h"
#include "core/params.h"

typedef enum {
    BLOCKWISE_V1 = 0,   /* BSVRB^v1: tracks each block's Hessian, inverts the d x d estimate */
    BLOCKWISE_V2 = 1,   /* BSVRB^v2: tracks v_j ~ H_j^{-1} grad_y f_j by SGD on a quadratic */
    BLOCKWISE_AUTO = 2  /* v1 when d <= BLOCKWISE_AUTO_V1_MAX_DIM, else v2 */
} blockwise_variant;

/* Defaults (blockwise_settings_default). NaN means "automatic" (see the settings). */
#define BLOCKWISE_DEFAULT_VARIANT BLOCKWISE_AUTO
#define BLOCKWISE_AUTO_V1_MAX_DIM 64
#define BLOCKWISE_DEFAULT_BLOCKS 0L        /* I; 0: all m blocks */
#define BLOCKWISE_DEFAULT_BATCH 32L        /* B rows per sampled block (training and validation) */
#define BLOCKWISE_DEFAULT_ALPHA 0.5        /* MSVR averaging weight */
#define BLOCKWISE_DEFAULT_BETA 0.1         /* STORM weight of the hypergradient estimator */
#define BLOCKWISE_DEFAULT_V_RADIUS 0.0     /* v2 projection radius; 0: no projection */
#define BLOCKWISE_DEFAULT_TOL 1e-5
#define BLOCKWISE_DEFAULT_MAX_ITER 20000L
#define BLOCKWISE_DEFAULT_REPORT_EVERY 100L
#define BLOCKWISE_DEFAULT_SEED 0
/* v1 keeps two d x d matrices per block; past this many doubles it refuses (use v2). */
#define BLOCKWISE_V1_MAX_DOUBLES 50000000.0
/* The run counts as diverged once |x| exceeds this (after finite checks). */
#define BLOCKWISE_DIVERGENCE_NORM 1e100

typedef struct {
    int variant;          /* blockwise_variant */
    long blocks;          /* I: blocks sampled per iteration, 0 <= I <= m (0: all) */
    long batch;           /* B: rows sampled per block and level; >= a block's rows: all rows */
    double eta;           /* upper step; NaN: tau min_j mu(g_j) / (lambda + max_j L(V_j)) */
    double tau;           /* lower step; NaN: 1 / ((1 + msvr_gamma) max_j L(g_j)) */
    double tau_v;         /* v2 step of v_j; NaN: tau */
    double alpha;         /* MSVR weight in (0, 1] */
    double msvr_gamma;    /* MSVR correction >= 0; NaN: (m - I)/(I (1 - alpha)) + 1 - alpha */
    double beta;          /* STORM weight in (0, 1] of the hypergradient estimator */
    double h_min;         /* v1: eigenvalue floor of the tracked Hessians; NaN: min_j mu(g_j) */
    double v_radius;      /* v2: project v_j onto |v| <= v_radius; 0: no projection */
    uint64_t seed;
    sv_control ctl;       /* tol: stop when the full-data hypergradient and lower residual are
                           * both <= tol, tested at the report iterations (every report_every,
                           * where the full-data metrics are computed) */
} blockwise_settings;

/* The parameter table of blockwise_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec blockwise_params[];

typedef sv_mb_problem blockwise_problem;

typedef struct {
    sv_info base;             /* obj = (1/m) sum_j V_j(y_j) + (lambda/2)|x|^2 at the returned
                               * iterates; res = hypergrad_norm; iter = iterations */
    int variant;              /* the variant run (BLOCKWISE_V1 or BLOCKWISE_V2) */
    double hypergrad_norm;    /* |hypergradient formula at (x, Y)| over all rows (exact solves) */
    double lower_residual;    /* sqrt((1/m) sum_j |grad_y g_j(x, y_j)|^2) */
    double estimator_norm;    /* |z|, the hypergradient estimate that moved x last */
    long blocks;              /* I used */
    long block_visits;        /* sampled blocks over all iterations (initialisation included) */
    uint64_t sample_evals;    /* rows touched by stochastic oracles (each level, each point) */
    double eta, tau, tau_v, alpha, msvr_gamma, beta, h_min;  /* parameters used */
} blockwise_info;

/* Fills s with the defaults of blockwise_params. */
void blockwise_settings_default(blockwise_settings *s);

/* Checks the settings against blockwise_params and the cross-field rules; n_blocks > 0 also
 * checks blocks <= n_blocks. Returns SV_OK or SV_EINVAL with e->field "/params/<name>".
 * Allocates nothing. */
int blockwise_check_settings(const blockwise_settings *s, int n_blocks, sv_err *e);

/* Runs BSVRB from x (in: x^0, out: the last iterate; length d) and Y (in: y_j^0, out: the last
 * lower iterates; m x d row-major) until the full-data hypergradient and lower residual,
 * evaluated every report_every iterations, are both <= tol, or max_iter, the time limit, a stop
 * request from mon (SV_CANCELLED) or divergence. Validates every input before allocating.
 * Returns SV_OK (info->base.status says how it ended), SV_EINVAL (e names the field; info left
 * UNSOLVED), SV_ENOMEM or SV_ENUMERIC. mon and e may be NULL. */
int blockwise_solve(const blockwise_problem *p, const blockwise_settings *s, const sv_monitor *mon,
                    double *x, double *Y, blockwise_info *info, sv_err *e);

#endif
