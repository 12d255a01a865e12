/* mcts.h - the symmetric Euclidean travelling salesman problem by "SoftDist heatmap + Monte
 * Carlo tree search" (Xia, Yang, Liu, Liu, Song, Bian: Rethinking the "Heatmap + Monte Carlo Tree
 * Search" Paradigm for Solving Large Scale TSP, ICML 2024), the MCTS being that of Fu, Qiu, Zha
 * (AAAI 2021): a k-opt search whose next city is drawn by a UCB-like potential of heatmap weights
 * W (raised by the improvements they lead to) and visit counts Q. A plain 2-opt + Or-opt local
 * search is the baseline method. The result carries a Held-Karp 1-tree lower bound (a few
 * subgradient steps) and the gap to it. */
#ifndef SV_MCTS_H
#define SV_MCTS_H

#include <stdint.h>
#include "core/control.h"
#include "core/params.h"

typedef enum { MCTS_METHOD_MCTS = 0, MCTS_METHOD_2OPT = 1 } mcts_method;
typedef enum { MCTS_INIT_HEATMAP = 0, MCTS_INIT_NEAREST = 1 } mcts_init;

#define MCTS_MIN_N 3
#define MCTS_MAX_N 20000          /* O(n^2) passes and 1-tree steps; distances are not stored */
#define MCTS_DEFAULT_K 5          /* Fu et al.'s Max_Candidate_Num */
#define MCTS_DEFAULT_ALPHA 1.0    /* exploration weight of the potential */
#define MCTS_DEFAULT_BETA 10.0    /* back-propagation step of W */
#define MCTS_DEFAULT_H 10.0       /* a restart after H n simulations without improvement */
#define MCTS_DEFAULT_DEPTH 10     /* Max_Depth: edges exchanged by one action at most */
#define MCTS_DEFAULT_RESTARTS 1
#define MCTS_DEFAULT_BOUND_STEPS 50
#define MCTS_DEFAULT_MAX_ITER 100000000L
#define MCTS_DEFAULT_REPORT_EVERY 1000L

typedef struct {
    int method;          /* mcts_method */
    double tau;          /* SoftDist temperature; NaN: 0.0066 sqrt(500 / n) times the box side */
    int k;               /* candidates per city: the k nearest (SoftDist's support) */
    double alpha;        /* exploration weight */
    double beta;         /* W_ij += beta (exp(gain / L) - 1) on improvement */
    double param_h;      /* stagnation: H n simulations without improvement end a search */
    int max_depth;       /* 2..50 */
    int init;            /* mcts_init */
    int restarts;        /* searches (initial tour + local search [+ MCTS]) before "solved" */
    int bound_steps;     /* subgradient steps of the 1-tree bound; 0: the plain 1-tree */
    uint64_t seed;
    sv_control ctl;      /* tol: solved once length <= (1 + tol) bound; max_iter: iterations (a
                            local-search pass, a simulation); report_every */
} mcts_settings;

extern const sv_param_spec mcts_params[];

typedef struct {
    int n;
    const double *xy;    /* 2n coordinates, x0 y0 x1 y1 ... */
    int round;           /* 1: TSPLIB EUC_2D distances nint(sqrt(.)) */
} mcts_problem;

typedef struct {
    sv_info base;        /* obj = best length, res = gap */
    double length;
    double bound;        /* Held-Karp 1-tree lower bound (<= the optimal length) */
    double gap;          /* length / bound - 1 */
    double tau;          /* the temperature used */
    long simulations;    /* MCTS actions tried */
    long improvements;   /* improving moves applied (local search and MCTS) */
    int searches;        /* searches completed */
} mcts_info;

void mcts_settings_default(mcts_settings *s);
int mcts_check_settings(const mcts_settings *s, sv_err *e);
/* The problem's checks (n in [3, MCTS_MAX_N], finite coordinates) at "/problem". */
int mcts_check_problem(const mcts_problem *p, sv_err *e);

/* The distance of the problem's metric between cities i and j. */
double mcts_dist(const mcts_problem *p, int i, int j);

/* Held-Karp 1-tree bound after steps subgradient steps (Volgenant-Jonker steps, the first capped
 * by the upper bound ub, a tour length). Allocates its O(n) arrays (before a solve's loop); L may
 * be NULL, else it is polled and a stop returns the best bound so far (NaN if none). NaN also
 * when out of memory. */
double mcts_one_tree_bound(const mcts_problem *p, int steps, double ub, sv_loop *L);

/* The SoftDist heatmap on the k nearest: for each city, nbr[i k + r] the r-th nearest and
 * heat[i k + r] = exp(-d / tau) / sum over the k nearest of exp(-d / tau). */
int mcts_softdist(const mcts_problem *p, int k, double tau, int *nbr, double *heat);

/* Solves; tour (n, out) receives the best tour. Validates before allocating. SV_OK (status in
 * info), SV_EINVAL, SV_ENOMEM. */
int mcts_solve(const mcts_problem *p, const mcts_settings *s, const sv_monitor *mon, int *tour,
               mcts_info *info, sv_err *e);

#endif
