/* distributional.h - stock-augmented distributional dynamic programming on an episodic tabular
 * MDP (core/models/mdp.h): the state is augmented with the stock c, the rewards collected so far
 * (c_{h+1} = c_h + r(s_h, a_h)), and a policy pi(h, s, c) maximises a functional F of the
 * distribution of c_0 + G (stock plus return): an expected utility E f(c_0 + G) (expectation,
 * exponential utility, threshold probability, homeostatic band) or CVaR_alpha(G) by the paper's
 * reduction to an expected utility over a chosen initial stock. Return distributions are exact
 * finite-support distributions on a stock grid of step delta (rewards on the grid: exact; off the
 * grid: rounded, with the bound of the error reported). Paper: Pires, Rowland, Borsa, Guo,
 * Khetarpal, Barreto, Abel, Munos, Dabney, "Optimizing Return Distributions with Distributional
 * Dynamic Programming", 2025. */
#ifndef SV_DISTRIBUTIONAL_H
#define SV_DISTRIBUTIONAL_H

#include "core/control.h"
#include "core/models/mdp.h"
#include "core/params.h"

typedef enum {
    DISTRIBUTIONAL_VALUE_ITERATION = 0,   /* backward over h, greedy w.r.t. F */
    DISTRIBUTIONAL_POLICY_ITERATION = 1   /* evaluate, improve, until no action changes */
} distributional_method;

typedef enum {
    DISTRIBUTIONAL_EXPECTATION = 0,  /* f(x) = x */
    DISTRIBUTIONAL_EXPONENTIAL = 1,  /* f(x) = (1 - exp(-beta x)) / beta */
    DISTRIBUTIONAL_THRESHOLD = 2,    /* f(x) = 1[x >= threshold]: P(c_0 + G >= threshold) */
    DISTRIBUTIONAL_CVAR = 3,         /* CVaR_alpha(G), lower tail */
    DISTRIBUTIONAL_HOMEOSTATIC = 4   /* f(x) = -(max(0, band_low - x) + max(0, x - band_high)) */
} distributional_objective;

#define DISTRIBUTIONAL_DEFAULT_TOL 1e-12
#define DISTRIBUTIONAL_DEFAULT_MAX_ITER 1000L
#define DISTRIBUTIONAL_DEFAULT_REPORT_EVERY 1L
/* Automatic stock step for rewards off the integers: (max r - min r) / this. */
#define DISTRIBUTIONAL_AUTO_LEVELS 100.0
/* Largest augmented table H * S * N (policy entries) a solve may hold. */
#define DISTRIBUTIONAL_MAX_CELLS 20000000.0

typedef struct {
    int method;          /* distributional_method */
    int objective;       /* distributional_objective */
    double alpha;        /* CVaR level in (0, 1] */
    double beta;         /* exponential utility's risk aversion, nonzero */
    double threshold;    /* threshold objective */
    double band_low, band_high;  /* homeostatic band, band_low <= band_high */
    double stock0;       /* initial stock c_0 (every objective but cvar, which chooses it) */
    double stock_step;   /* grid step delta > 0; NaN: 1 if every reward is an integer, else
                            (max r - min r) / 100 */
    sv_control ctl;      /* tol: policy iteration changes an action only when it gains more than
                            tol; max_iter: policy-iteration rounds (value iteration does H
                            steps) */
} distributional_settings;

extern const sv_param_spec distributional_params[];

typedef struct {
    sv_info base;        /* base.obj = F at the start; base.iter = backward steps (VI) or rounds
                            (PI) */
    double delta;        /* the stock step used */
    int exact;           /* every reward a multiple of delta: the distributions are exact */
    double stock_error;  /* bound on |c_0 + G - (grid value)| on every path: H max |r - delta q| */
    double stock0;       /* initial stock used (cvar: the maximiser -b of Rockafellar-Uryasev) */
    double var;          /* cvar: the alpha-quantile b = -stock0 chosen */
    double mean_return;  /* E G under the returned policy (grid rewards) */
    double expected_optimal;  /* max_pi E G by sv_mdp_optimal (exact rewards), for comparison */
    int changes;         /* policy iteration: actions changed in the last round */
    long klo, N;         /* stock grid: c = stock_base + delta (klo + i), i < N */
    double stock_base;   /* c_0 of the grid origin */
    long n_atoms;        /* atoms of the start distribution */
} distributional_info;

/* The outcome arrays; the caller allocates them by distributional_sizes. */
typedef struct {
    int *policy;         /* H * S * N: action at (h, s, grid index i), -1 where unreachable */
    double *atoms;       /* up to N: support of c_0 + G at the start, increasing */
    double *probs;       /* up to N: their probabilities */
} distributional_out;

void distributional_settings_default(distributional_settings *s);
int distributional_check_settings(const distributional_settings *s, sv_err *e);

/* Checks m (episodic, H >= 1) and s against each other and gives the stock grid's size N and
 * step without allocating; errors at "/problem/horizon", "/params/...". */
int distributional_sizes(const sv_mdp *m, const distributional_settings *s, long *N,
                         double *delta, sv_err *e);

/* Solves; out's arrays sized by distributional_sizes (out may be NULL: no outputs). SV_OK
 * (info->base.status), SV_EINVAL or SV_ENOMEM. */
int distributional_solve(const sv_mdp *m, const distributional_settings *s,
                         const sv_monitor *mon, distributional_out *out,
                         distributional_info *info, sv_err *e);

#endif
