/* graph.h - undirected graphs of agents, for the distributed and decentralized solvers: the
 * seeded topologies a problem's "graph" object names (ring, grid, star, complete, Erdos-Renyi),
 * an explicit edge list, and connectivity. A graph is stored as sorted adjacency lists (CSR)
 * without self-loops or repeated edges. */
#ifndef SV_GRAPH_H
#define SV_GRAPH_H

#include <stdint.h>
#include "core/params.h"
#include "core/solver.h"

typedef enum {
    SV_GRAPH_RING = 0,        /* i -- i+1 (mod n) */
    SV_GRAPH_GRID = 1,        /* rows of w = ceil(sqrt(n)) nodes, i -- i+1 in a row, i -- i+w */
    SV_GRAPH_STAR = 2,        /* 0 -- i for every i > 0 */
    SV_GRAPH_COMPLETE = 3,    /* every pair */
    SV_GRAPH_ERDOS_RENYI = 4  /* each pair with probability p, drawn from seed */
} sv_graph_topology;

/* A generated topology: the "graph" object of a problem. */
typedef struct {
    int topology;   /* sv_graph_topology */
    double p;       /* Erdos-Renyi edge probability, in (0, 1] */
    uint64_t seed;  /* Erdos-Renyi draws */
} sv_graph_spec;

/* topology ("ring"), p (0.3), seed (0). */
extern const sv_param_spec sv_graph_params[];

/* Most node pairs an Erdos-Renyi or complete graph may take (n (n-1) / 2): the draws and the
 * lists grow with it, so larger ones are refused before anything is allocated. */
#define SV_GRAPH_MAX_PAIRS 2000000.0

typedef struct {
    int n;          /* nodes 0..n-1 */
    long n_edges;   /* undirected edges */
    int *ptr;       /* n + 1: node i's neighbours are adj[ptr[i] .. ptr[i+1]) */
    int *adj;       /* 2 n_edges, each list ascending */
} sv_graph;

/* Checks spec for n nodes without allocating (errors name path/<member>, e.g.
 * "/problem/graph/p"): n >= 1, the pair limit for dense topologies. */
int sv_graph_check_spec(const sv_graph_spec *spec, int n, const char *path, sv_err *e);

/* The topology of spec on n nodes into g. SV_OK, SV_EINVAL (as sv_graph_check_spec) or
 * SV_ENOMEM; g is empty on failure. */
int sv_graph_generate(const sv_graph_spec *spec, int n, sv_graph *g, sv_err *e);

/* The graph of m undirected edges (edges[2k], edges[2k+1]) on n nodes. A node out of range, a
 * self-loop or an edge given twice is SV_EINVAL at "path/k". */
int sv_graph_from_edges(int n, long m, const int *edges, const char *path, sv_graph *g,
                        sv_err *e);

/* 1 when every node is reachable from node 0 (a one-node graph is connected). */
int sv_graph_connected(const sv_graph *g);

static inline int sv_graph_degree(const sv_graph *g, int i) { return g->ptr[i + 1] - g->ptr[i]; }

/* The Laplacian L = D - A of g (unit edge weights) into the dense row-major n x n matrix L: the
 * matrix whose spectrum gives a graph's algebraic connectivity (lambda_2) and resistances. */
void sv_graph_laplacian(const sv_graph *g, double *L);

/* The Metropolis-Hastings gossip matrix of g into the dense row-major n x n matrix W:
 * W_ij = 1 / (1 + max(deg i, deg j)) on an edge, W_ii = 1 - sum_j W_ij, else 0. Symmetric and
 * doubly stochastic with nonnegative entries; on a connected graph 1 is a simple eigenvalue and
 * the others lie in (-1, 1), so 1 - max(|lambda_2|, |lambda_n|) is its spectral gap. The
 * standard mixing matrix of decentralized methods when none is given. */
void sv_graph_metropolis(const sv_graph *g, double *W);

/* Frees g's lists and zeroes it; a zeroed graph is fine. */
void sv_graph_free(sv_graph *g);

#endif
