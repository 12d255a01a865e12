/* dfedsam.h - DFedSAM and DFedSAM-MGS: decentralized federated learning without a server. n
 * agents on a graph each keep a model; every communication round each agent takes K local
 * sharpness-aware (SAM) steps on its own objective, then the agents average their models with
 * their neighbours Q times through the gossip matrix W (Q = 1: DFedSAM, Q > 1: DFedSAM-MGS,
 * multiple gossip steps). It minimises f(x) = (1/n) sum_i f_i(x), each f_i a least-squares or
 * logistic model with ridge (core/models/glm.h). Paper: Shi, Shen, Wei, Sun, Yuan, Wang, Tao,
 * "Improving the Model Consistency of Decentralized Federated Learning", ICML 2023. */
#ifndef SV_DFEDSAM_H
#define SV_DFEDSAM_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/glm.h"
#include "core/models/graph.h"
#include "core/params.h"

typedef enum {
    /* eta_t = lr (t+1)^-lr_power: the steps shrink but their sum does not converge, so the
     * client drift and the consensus error (both O(eta_t)) vanish while the iterates still
     * travel to the solution. */
    DFEDSAM_LR_POWER = 0,
    /* eta_t = lr lr_gamma^t: the decay of the authors' experiments (a factor per round). Its
     * steps sum to lr / (1 - lr_gamma), so the run stalls where that budget runs out. */
    DFEDSAM_LR_EXPONENTIAL = 1
} dfedsam_lr_decay;

#define DFEDSAM_DEFAULT_LOCAL_STEPS 5
#define DFEDSAM_DEFAULT_GOSSIP_STEPS 1
#define DFEDSAM_DEFAULT_RHO 0.05
#define DFEDSAM_DEFAULT_LR_DECAY DFEDSAM_LR_POWER
#define DFEDSAM_DEFAULT_LR_POWER 0.9
#define DFEDSAM_DEFAULT_LR_GAMMA 0.998
#define DFEDSAM_DEFAULT_TOL 1e-3
#define DFEDSAM_DEFAULT_MAX_ITER 100000L
#define DFEDSAM_DEFAULT_REPORT_EVERY 10L
/* The run counts as diverged once |grad f(x_bar)| exceeds this multiple of its initial value. */
#define DFEDSAM_DIVERGENCE_FACTOR 1e12
/* Most agents whose gossip matrix is diagonalised (dense, O(n^3)) for the spectral gap; larger
 * graphs report it as unknown (NaN, null in JSON). */
#define DFEDSAM_MAX_GAP_AGENTS 1500

typedef struct {
    int local_steps;      /* K >= 1: SAM steps per agent per round */
    int gossip_steps;     /* Q >= 1: gossip steps per round; 1 = DFedSAM, > 1 = DFedSAM-MGS */
    double lr;            /* eta_0 > 0; NaN: 1 / max_i L_i */
    int lr_decay;         /* dfedsam_lr_decay */
    double lr_power;      /* power decay exponent, in [0, 1]; 0: constant steps */
    double lr_gamma;      /* exponential decay factor per round, in (0, 1] */
    double rho;           /* SAM perturbation radius >= 0; 0: plain local SGD (DFedAvg) */
    int rho_follows_lr;   /* 1: rho_t = rho eta_t / eta_0, so the SAM bias O(rho_t) vanishes */
    int batch_size;       /* rows drawn per local step (without replacement); 0: full batch */
    uint64_t seed;        /* the mini-batch draws */
    sv_control ctl;       /* tol: stop when the residual |grad f(x_bar)| + L sqrt(consensus
                             error) <= tol max(1, |grad f(x_0)|), L = (1/n) sum_i L_i (it bounds
                             the root mean square of |grad f(x_i)| over the agents), checked
                             every round; max_iter: communication rounds */
} dfedsam_settings;

extern const sv_param_spec dfedsam_params[];

typedef struct {
    const sv_graph *graph;  /* connected, graph->n agents */
    const sv_glm *agents;   /* graph->n objectives over the same columns */
} dfedsam_problem;

typedef struct {
    sv_info base;            /* base.obj = f(x_bar), base.res = the residual of the stop test,
                                base.iter = completed rounds */
    double grad_norm;        /* |grad f(x_bar)| at the returned models */
    double consensus_error;  /* (1/n) sum_i |x_i - x_bar|^2 */
    double spectral_gap;     /* 1 - lambda; NaN when n > DFEDSAM_MAX_GAP_AGENTS */
    double mixing_lambda;    /* lambda = max(|lambda_2(W)|, |lambda_n(W)|); NaN as above */
    double lr0;              /* eta_0 used */
    double lr_last;          /* eta_t of the last round */
    long gradient_evals;     /* local gradients of the rounds (the checks' excluded) */
    long communications;     /* completed rounds * Q * |E|: model exchanges along an edge */
} dfedsam_info;

void dfedsam_settings_default(dfedsam_settings *s);
/* The table's checks; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int dfedsam_check_settings(const dfedsam_settings *s, sv_err *e);

/* Fills W (row-major n x n) with the Metropolis gossip matrix of g and returns lambda =
 * max(|lambda_2|, |lambda_n|) of it (0 for one agent); NaN when the eigensolver fails or memory
 * runs out. W is overwritten by the eigensolver. */
double dfedsam_mixing_lambda(const sv_graph *g, double *W);

/* Runs DFedSAM(-MGS) from x0 (length d) on every agent until the tolerance, max_iter rounds, the
 * time limit, a stop from mon, or divergence. x (d) receives the average model x_bar; models
 * (n x d row-major, may be NULL) every agent's model. Validates everything before allocating.
 * Returns SV_OK (info->base.status says how the run ended), SV_EINVAL (e names the field) or
 * SV_ENOMEM. */
/* Dense agent blocks of at most this many entries take the solver's own small-block gradient
 * (dfedsam.c: one call instead of sv_glm_value's two OpenBLAS calls, whose fixed cost is most
 * of the work on blocks this small). */
#define DFEDSAM_BLOCK_ENTRIES 8192

/* Internal, for the unit test: the full-batch gradient of agent c at x into grad (d), as
 * sv_glm_value computes it, by the small-block AVX2 path. Returns 1 when it ran, 0 (grad left
 * alone) when the block is not dense, is larger than DFEDSAM_BLOCK_ENTRIES, or the CPU lacks
 * AVX2/FMA. */
int sv__dfedsam_block_grad(const sv_glm *c, const double *x, double *grad);

int dfedsam_solve(const dfedsam_problem *p, const dfedsam_settings *s, const sv_monitor *mon,
                  const double *x0, double *x, double *models, dfedsam_info *info, sv_err *e);

#endif
