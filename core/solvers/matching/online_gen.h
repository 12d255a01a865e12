/* online_gen.h - the seeded bipartite graphs of matching.online's "generate" form. "random": each
 * online vertex gets `degree` distinct offline neighbours drawn uniformly (or every offline
 * vertex, "complete": true); "triangular": the upper-triangular instance of online matching's
 * lower bounds, online vertex v in group j = floor(v m / n) sees offline m-1, ..., j in that
 * order (m offline, n online, arriving group by group when the order is fixed: the first of
 * equal scores, where greedy and balance break ties, is the vertex every later group needs). Success probabilities all equal
 * to p ("equal") or uniform on (0, p] ("uniform"). The paper's infinitesimal regime is small p
 * with about offline / p online vertices, so that the LP's budgets sum_v p_uv x_uv <= 1 bind. */
#ifndef SV_ONLINE_GEN_H
#define SV_ONLINE_GEN_H

#include <stdint.h>
#include "core/params.h"

typedef enum { ONLINE_GEN_EQUAL = 0, ONLINE_GEN_UNIFORM = 1 } online_gen_probs;
typedef enum { ONLINE_GEN_RANDOM = 0, ONLINE_GEN_TRIANGULAR = 1 } online_gen_graph;

typedef struct {
    int graph;       /* online_gen_graph */
    int offline;     /* offline vertices */
    int online;      /* online vertices */
    int degree;      /* neighbours per online vertex, <= offline */
    int complete;    /* 1: every online vertex sees every offline vertex (degree ignored) */
    int probs;       /* online_gen_probs */
    double p;        /* equal: the probability; uniform: the upper end */
    int random_order;/* 1: a fresh random arrival order each trial */
    uint64_t seed;
} online_gen_spec;

extern const sv_param_spec online_gen_params[];

/* Edges the spec makes. */
long online_gen_edges(const online_gen_spec *g);

/* Fills the graph: ptr (online + 1), adj and p (online_gen_edges(g) each), all
 * caller-allocated; each online vertex's neighbours in increasing order ("random") or
 * decreasing order ("triangular"). */
void online_gen_fill(const online_gen_spec *g, int *ptr, int *adj, double *p);

#endif
