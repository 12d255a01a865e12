/* online.h - online matching with stochastic rewards, simulated: offline vertices are known, online
 * vertices arrive one by one with their edges and success probabilities p_uv; an algorithm
 * assigns each arrival to at most one offline neighbour that is still unmatched, and the
 * assignment succeeds (u is matched for good) with probability p_uv, else u stays available.
 * Monte Carlo over arrival orders and outcomes runs three algorithms on the same draws:
 * Stochastic Balance (by a penalty of each offline vertex's load, the success-probability mass
 * assigned to it so far), Ranking (random ranks of the offline vertices) and greedy (highest
 * p), and reports each one's mean matched count over the value of the budget/expectation LP,
 * with a 95% confidence interval. Paper: Huang, Jiang, Shen, Song, Wu, Zhang, "Online Matching
 * with Stochastic Rewards: Advanced Analyses Using Configuration Linear Programs", arXiv:2309.10289
 * (2023). */
#ifndef SV_ONLINE_H
#define SV_ONLINE_H

#include <stdint.h>
#include "core/control.h"
#include "core/params.h"

typedef enum {
    ONLINE_ALG_BALANCE = 0,
    ONLINE_ALG_RANKING = 1,
    ONLINE_ALG_GREEDY = 2,
    ONLINE_N_ALGS = 3
} online_alg;

/* Stochastic Balance scores an available neighbour u by p_uv (1 - f(l_u)), l_u its load. */
typedef enum {
    ONLINE_PENALTY_MSVV = 0,   /* f(l) = e^(l - 1), the balance trade-off of budgeted allocation */
    ONLINE_PENALTY_EXP = 1,    /* f(l) = 1 - e^(-l): score p e^(-l), u's chance of being free */
    ONLINE_PENALTY_LOAD = 2    /* least load first (Mehta-Panigrahi's rule for equal p) */
} online_penalty;

#define ONLINE_DEFAULT_TOL 2e-3
#define ONLINE_DEFAULT_MAX_ITER 100000L
#define ONLINE_DEFAULT_REPORT_EVERY 100L
/* LPs of up to this many edges go to GLPK's simplex (an exact vertex), larger ones to its
 * interior-point method (within about 1e-8 relative, much faster on these LPs). */
#define ONLINE_LP_SIMPLEX_MAX_EDGES 20000
/* A trial polls the monitor every this many arrivals (long trials on large graphs). */
#define ONLINE_POLL_ARRIVALS 4096

typedef struct {
    int penalty;       /* online_penalty */
    uint64_t seed;     /* arrival orders, ranks and outcomes */
    sv_control ctl;    /* max_iter: trials; tol: stop once every algorithm's 95% half-width of
                          the ratio is <= tol (checked at every report, after >= 30 trials) */
} online_settings;

extern const sv_param_spec online_params[];

/* The graph by online vertex: the edges of online vertex v are ptr[v] .. ptr[v+1]-1, to
 * offline vertex adj[e] with success probability p[e] in (0, 1]. */
typedef struct {
    int n_offline;
    int n_online;
    const int *ptr;       /* n_online + 1 */
    const int *adj;       /* ptr[n_online] */
    const double *p;      /* ptr[n_online] */
    int random_order;     /* 1: a fresh uniformly random arrival order each trial; 0: 0, 1, ... */
} online_problem;

typedef struct {
    double ratio;         /* mean of matched / lp_value over the trials */
    double ci95;          /* 1.96 s / sqrt(trials), s the sample deviation of the ratio */
    double matched;       /* mean matched count */
    double matched_ci95;  /* ci95 * lp_value */
} online_alg_stats;

typedef struct {
    sv_info base;         /* base.obj = Stochastic Balance's mean ratio, base.res = the largest
                             half-width, base.iter = trials done */
    double lp_value;      /* optimum of the budget/expectation LP */
    double lp_time_s;     /* seconds GLPK took (before the trials; not in base.solve_time_s) */
    long trials;
    online_alg_stats alg[ONLINE_N_ALGS];
} online_info;

void online_settings_default(online_settings *s);
int online_check_settings(const online_settings *s, sv_err *e);
/* Checks the graph (sizes, indices, probabilities); errors at /problem/online/<v>/<k>. */
int online_check_problem(const online_problem *p, sv_err *e);

/* The budget/expectation LP: max sum p_uv x_uv s.t. sum_v p_uv x_uv <= 1 (each offline u),
 * sum_u x_uv <= 1 (each online v), x >= 0, by GLPK (simplex, or interior point past
 * ONLINE_LP_SIMPLEX_MAX_EDGES edges), polling L (may be NULL) for a stop. SV_OK and *value,
 * SV_CANCELLED when L said stop (L->status says why), or SV_ENUMERIC / SV_ENOMEM. */
int online_lp_value(const online_problem *p, double *value, sv_loop *L);

/* Runs the trials until the tolerance, max_iter trials, the time limit or a stop from mon.
 * Validates everything before allocating; SV_OK (info->base.status says how it ended),
 * SV_EINVAL (e names the field), SV_ENOMEM or SV_ENUMERIC (the LP failed). */
int online_solve(const online_problem *p, const online_settings *s, const sv_monitor *mon,
                 online_info *info, sv_err *e);

/* The API name of an algorithm ("balance", "ranking", "greedy"). */
const char *online_alg_name(int alg);

#endif
