/* srrw.h - SA-SRRW: stochastic approximation driven by a self-repellent random walk. A token
 * walks a graph of n agents; at each visited agent it takes one step along that agent's local
 * gradient, and the walk avoids agents it has visited more than their target share. It minimises
 * f(theta) = (1/n) sum_i f_i(theta), each f_i a least-squares or logistic model with ridge
 * (core/models/glm.h). Paper: Hu, Doshi, Eun, "Accelerating Distributed Stochastic Optimization
 * via Self-Repellent Random Walks", ICLR 2024. */
#ifndef SV_SRRW_H
#define SV_SRRW_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/glm.h"
#include "core/models/graph.h"
#include "core/params.h"

typedef enum {
    /* Metropolis-Hastings walk towards the uniform target mu_i = 1/n: P_ij = min(1/d_i, 1/d_j)
     * on edges, the rest on the self-loop. The agents' gradients need no reweighting. */
    SRRW_BASE_MHRW = 0,
    /* The simple random walk P_ij = 1/d_i, target mu_i = d_i / (2 |E|); agent i's gradient is
     * reweighted by 1 / (n mu_i) so that the mean field is still grad f. */
    SRRW_BASE_SRW = 1
} srrw_base;

#define SRRW_DEFAULT_ALPHA 5.0
#define SRRW_DEFAULT_BASE SRRW_BASE_MHRW
#define SRRW_DEFAULT_A 0.6         /* gamma_n = (n+1)^-a: the visit measure's steps */
#define SRRW_DEFAULT_B 0.7         /* beta_n = step0 (n+1)^-b: the iterate's steps; b > a */
#define SRRW_DEFAULT_TOL 3e-3
#define SRRW_DEFAULT_MAX_ITER 2000000L
#define SRRW_DEFAULT_REPORT_EVERY 1000L
/* The run counts as diverged once |grad f| exceeds this multiple of its initial value. */
#define SRRW_DIVERGENCE_FACTOR 1e12

typedef struct {
    double alpha;        /* self-repellence >= 0; 0: the base walk itself */
    int base;            /* srrw_base */
    double a;            /* exponent of gamma_n, in (1/2, 1] */
    double b;            /* exponent of beta_n, in (1/2, 1] */
    double step0;        /* beta_n = step0 (n+1)^-b; NaN: 1 / max_i L_i */
    uint64_t seed;       /* the token's start and its moves */
    sv_control ctl;      /* tol: stop when |grad f| <= tol max(1, |grad f(theta_0)|), checked at
                            every report; max_iter: token steps (one local gradient each) */
} srrw_settings;

extern const sv_param_spec srrw_params[];

typedef struct {
    const sv_graph *graph;  /* connected, graph->n agents */
    const sv_glm *agents;   /* graph->n objectives over the same columns */
} srrw_problem;

typedef struct {
    sv_info base;          /* base.obj = f(theta), base.res = |grad f(theta)|, base.iter = steps */
    double grad_norm;      /* |grad f(theta)| at the returned theta */
    double visits_tv;      /* total variation distance between the visit measure x_n and mu */
    double step0;          /* the step scale used */
    long gradient_evals;   /* local gradients evaluated by the walk (full gradients at checks
                              excluded) */
} srrw_info;

void srrw_settings_default(srrw_settings *s);
/* The table's checks; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int srrw_check_settings(const srrw_settings *s, sv_err *e);

/* Runs SA-SRRW from theta (in: theta_0, out: the last iterate; length d) until the tolerance,
 * max_iter steps, the time limit, a stop from mon, or divergence. visits (n, may be NULL)
 * receives the final visit measure x_n. Validates everything before allocating. Returns SV_OK
 * (info->base.status says how the run ended), SV_EINVAL (e names the field) or SV_ENOMEM. */
int srrw_solve(const srrw_problem *p, const srrw_settings *s, const sv_monitor *mon,
               double *theta, double *visits, srrw_info *info, sv_err *e);

#endif
