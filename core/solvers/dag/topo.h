/* topo.h - TOPO: the NOTEARS least-squares score optimised over topological orders by swapping
 * node pairs (Deng, Bello, Aragam, Ravikumar, "Optimizing NOTEARS Objectives via Topological
 * Swaps", ICML 2023). A topological order pi defines W(pi), the best weighted DAG consistent
 * with it: each node regressed (plain least squares) on the nodes before it. The outer search
 * moves between orders: at W(pi) the gradient of the acyclicity function of the reference's
 * linear code, h(W) = -log det(I - |W|), that is (I - |W|)^{-T}, ranks the forbidden edges (i, j)
 * (j before i) by the weight of the paths j -> ... -> i; the lowest-ranked ones are
 * the "search set" of candidate swaps of i and j, every candidate is scored, the improving ones
 * are applied greedily (best first, disjoint position spans), and the search ends at a local
 * optimum: no candidate of the small set, nor of the large set (tried a limited number of
 * times), lowers the score. It starts from a random order (seeded), a given order, or the
 * topological order of a given weighted W (post-processing another solver's result, e.g.
 * dag.notears). The model (score, h, generator, metrics) is core/models/dag.h. */
#ifndef SV_TOPO_H
#define SV_TOPO_H

#include <stdint.h>

#include "core/control.h"
#include "core/models/dag.h"
#include "core/params.h"

#define TOPO_DEFAULT_W_THRESHOLD 0.3
#define TOPO_DEFAULT_TOL 1e-10            /* relative decrease a swap must bring */
#define TOPO_DEFAULT_MAX_ITER 100000000L  /* candidate swaps scored */
#define TOPO_DEFAULT_REPORT_EVERY 20L

typedef struct {
    int size_small;      /* candidates of the small search set (-1: the reference's
                            min(1.5 d, sqrt(d)(d - 1) log10 d, d(d - 1)/2)) */
    int size_large;      /* ... of the large one (-1: max(1.5 d, min(sqrt(d)(d - 1) log10 d,
                            d(d - 1)/2)), clamped to d(d - 1)/2) */
    int large_searches;  /* successful uses of the large set (-1: min(floor(d/10), 1)) */
    double w_threshold;  /* |W_ij| below it is no edge in the returned W */
    int center;          /* centre the columns of X first (as dag.notears) */
    uint64_t seed;       /* the random first order when none is given */
    sv_control ctl;      /* tol: a swap is accepted when it lowers the score by more than
                            tol max(1, score); max_iter: candidate swaps scored */
} topo_settings;

extern const sv_param_spec topo_params[];

typedef struct {
    int n, d;
    const double *X;         /* n x d row-major */
    const double *W_true;    /* d x d true graph (non-zero = edge) or NULL: no accuracy */
    const int *init_order;   /* d nodes, a permutation: the first order, or NULL */
    const double *W_init;    /* d x d weighted graph to post-process, or NULL (not with
                                init_order); a cyclic one loses its weakest edges until it is
                                a DAG, its topological order is the first order */
} topo_problem;

typedef struct {
    sv_info base;        /* obj = score of W(pi) at the returned order, res = the relative
                            decrease of the best candidate of the last round (<= tol at a
                            local optimum), iter = candidate swaps scored */
    double score;        /* 0.5/n |X - X W(pi)|^2 (= obj) */
    double score_init;   /* the same at the first order */
    double score_thresholded;  /* of the returned (thresholded) W */
    int rounds;          /* search sets scored to the end */
    long swaps_tried;    /* = base.iter */
    long swaps_accepted;
    int large_used;      /* rounds in which the large set found an improvement */
    int init_threshold_edges;  /* W_init only: edges dropped to make it a DAG */
    int edges;           /* edges of the returned W */
    int has_accuracy;    /* 1: accuracy holds the comparison with W_true */
    sv_dag_accuracy accuracy;
} topo_info;

void topo_settings_default(topo_settings *s);
/* The table's checks; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int topo_check_settings(const topo_settings *s, sv_err *e);

/* Runs TOPO on p. W (d x d, caller-owned) receives W(pi) thresholded at w_threshold, W_raw (may
 * be NULL) W(pi) itself, order (d ints, may be NULL) the final order. Validates everything
 * before allocating. Returns SV_OK (info->base.status: solved at a local optimum, max_iter,
 * time_limit, cancelled, diverged), SV_EINVAL (e names the field), SV_ENOMEM or SV_ENUMERIC. */
int topo_solve(const topo_problem *p, const topo_settings *s, const sv_monitor *mon, double *W,
               double *W_raw, int *order, topo_info *info, sv_err *e);

/* Score of a given order (the inner solve alone): 0.5/n |X - X W(pi)|^2 with the settings'
 * centring, W(pi) into W (may be NULL). For tests and tools; allocates. */
int topo_score_order(const topo_problem *p, const topo_settings *s, const int *order, double *W,
                     double *score, sv_err *e);

#endif
