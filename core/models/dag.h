/* dag.h - linear structural equation models on directed acyclic graphs, the shared model of the
 * `dag` family (dag.notears; dag.topo will stand on it too). A weighted adjacency matrix W is d x d
 * row-major with W[i*d + j] the weight of the edge i -> j; data X are n samples x d variables,
 * row-major, drawn as X = X W + Z (each variable its parents' weighted sum plus noise).
 *
 * The pieces:
 *   - the seeded generator: an Erdos-Renyi or scale-free DAG with k edges per node, weights
 *     uniform in [-2, -0.5] u [0.5, 2], standard Gaussian noise (the NOTEARS experiments' design);
 *   - the least-squares score L(W) = 0.5/n |X - X W|_F^2 and its gradient -1/n X'(X - X W),
 *     computed with BLAS dgemm, directly or through the Gram matrix X'X/n (cheaper when n > d/2);
 *   - the acyclicity function h(W) = tr(exp(W o W)) - d (o the entrywise product), which is 0
 *     exactly when W is a DAG, and its gradient exp(W o W)' o 2W (Zheng et al. 2018, Theorem 1),
 *     the exponential by core/kernels/expm.h (Higham 2005 scaling and squaring with Pade);
 *   - thresholding, the topological sort (the acyclicity check) and the accuracy of an estimate
 *     against a true graph as the NOTEARS code counts it (SHD, TPR, FDR, FPR). */
#ifndef SV_DAG_H
#define SV_DAG_H

#include <stdint.h>
#include "core/kernels/expm.h"
#include "core/params.h"
#include "core/solver.h"

/* Largest number of nodes the family accepts (workspaces grow like d^2, h like d^3). */
#define SV_DAG_MAX_NODES 500
#define SV_DAG_MAX_SAMPLES 1000000
#define SV_DAG_W_LOW 0.5   /* edge weights: |w| uniform in [SV_DAG_W_LOW, SV_DAG_W_HIGH] */
#define SV_DAG_W_HIGH 2.0

typedef enum {
    SV_DAG_ER = 0,  /* Erdos-Renyi: k d edges drawn uniformly among the node pairs, oriented by
                       a random order of the nodes */
    SV_DAG_SF = 1   /* scale-free: Barabasi-Albert growth, each new node linked to k earlier
                       ones chosen with probability in-degree + 1, then relabelled at random */
} sv_dag_graph;

/* The "generate" form of the family. */
typedef struct {
    int d;               /* nodes (variables) */
    int n;               /* samples */
    int graph;           /* sv_dag_graph */
    int edges_per_node;  /* k: ER has k d edges, SF adds k edges per new node */
    uint64_t seed;
} sv_dag_gen_spec;

extern const sv_param_spec sv_dag_gen_params[];

/* The checks the table cannot make: n d <= max_entries (max_entries <= 0: no limit), and for ER
 * k d <= d (d - 1) / 2. Errors at path ("/problem/generate"). SV_OK or SV_EINVAL. */
int sv_dag_gen_check(const sv_dag_gen_spec *g, long max_entries, const char *path, sv_err *e);

/* Draws the true weighted DAG into W (d x d) and the samples into X (n x d, may be NULL) from
 * g->seed alone (no BLAS: the same numbers on every machine). Returns SV_OK, SV_EINVAL (the
 * checks above, e at "/problem/generate") or SV_ENOMEM. Set-up work: it allocates scratch. */
int sv_dag_generate(const sv_dag_gen_spec *g, double *W, double *X, sv_err *e);

/* The checks every dag solver makes of its data before it allocates: X (n x d) present with
 * n, d >= 1, d <= SV_DAG_MAX_NODES, n d <= INT_MAX, every entry finite (errors at
 * /problem/data), and the true graph W_true (d x d, may be NULL) finite (/problem/true_graph).
 * SV_OK or SV_EINVAL. */
int sv_dag_check_data(int n, int d, const double *X, const double *W_true, sv_err *e);

/* Edge count of a graph the generator draws (for sizes before drawing). */
long sv_dag_gen_edges(const sv_dag_gen_spec *g);

/* ---- the least-squares score ---- */

typedef struct {
    int n, d;
    int gram;    /* 1: through G = X'X / n */
    double *X;   /* n x d: the (centred) data, direct form only */
    double *G;   /* d x d: X'X / n, Gram form only */
    double *R;   /* scratch: n x d (direct) or d x d (Gram) */
} sv_dag_ls;

/* Prepares L for the n x d data X (copied; centred column by column when center, as the NOTEARS
 * code does for its least-squares loss). gram: 1 Gram form, 0 direct, -1 automatic (Gram when
 * 2 n >= d). SV_OK, SV_EINVAL or SV_ENOMEM. */
int sv_dag_ls_init(sv_dag_ls *ls, int n, int d, const double *X, int center, int gram);
void sv_dag_ls_free(sv_dag_ls *ls);

/* L(W) = 0.5/n |X - X W|_F^2; its gradient into grad (d x d, may be NULL). In the Gram form,
 * L = 0.5 <I - W, G (I - W)> and the gradient -G (I - W). Allocates nothing. */
double sv_dag_ls_value(sv_dag_ls *ls, const double *W, double *grad);

/* ---- acyclicity ---- */

typedef struct {
    int d;
    sv_expm_ws ex;
    double *A, *E;  /* d x d: W o W and its exponential */
} sv_dag_h_ws;

int sv_dag_h_ws_alloc(sv_dag_h_ws *w, int d);
void sv_dag_h_ws_free(sv_dag_h_ws *w);

/* *h = tr(exp(W o W)) - d and, when grad is non-NULL, grad = exp(W o W)' o 2W. SV_OK, or
 * SV_ENUMERIC when W is not finite or the exponential overflows. Allocates nothing. */
int sv_dag_h(sv_dag_h_ws *w, const double *W, double *h, double *grad);

/* ---- graphs ---- */

/* Zeroes the entries with |W_ij| < threshold and the diagonal. Returns the edges left. */
int sv_dag_threshold(int d, double *W, double threshold);

/* Kahn's topological sort of the graph of W's non-zero entries (a diagonal entry is a loop).
 * order (d) receives the sorted nodes, work is d ints of scratch. Returns how many nodes were
 * sorted: d exactly when the graph is acyclic. */
int sv_dag_topo_sort(int d, const double *W, int *order, int *work);

/* 1 when W's graph is acyclic (allocates d ints; 0 also when that fails). */
int sv_dag_is_acyclic(int d, const double *W);

/* The accuracy of an estimate against a true graph, as the NOTEARS code (utils.count_accuracy)
 * counts it. Edges are the non-zero off-diagonal entries. A predicted edge is true when the true
 * graph has it, reversed when the true graph has the opposite edge only, false otherwise. */
typedef struct {
    int true_edges;   /* edges of the true graph */
    int predicted;    /* edges of the estimate */
    int true_pos;     /* predicted with the right direction */
    int reversed;     /* predicted against the direction of a true edge */
    int false_pos;    /* predicted between nodes the true graph does not link */
    int extra;        /* node pairs linked in the estimate's skeleton only */
    int missing;      /* node pairs linked in the true skeleton only */
    int shd;          /* extra + missing + reversed: a reversed edge counts once */
    double tpr;       /* true_pos / max(true_edges, 1) */
    double fdr;       /* (reversed + false_pos) / max(predicted, 1) */
    double fpr;       /* (reversed + false_pos) / max(d (d - 1) / 2 - true_edges, 1) */
} sv_dag_accuracy;

void sv_dag_accuracy_of(int d, const double *W_true, const double *W_est, sv_dag_accuracy *a);

#endif
