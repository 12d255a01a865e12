/* agents.h - fixtures of the agents-on-a-graph solvers' tests (srrw, dadao, dfedsam): a seeded
 * heterogeneous instance (core/models/gen_glm.h) and a generated topology, both asserted. */
#ifndef SOLVD_TEST_SUPPORT_AGENTS_H
#define SOLVD_TEST_SUPPORT_AGENTS_H

#include <stdint.h>
#include "core/models/gen_glm.h"
#include "core/models/graph.h"

/* n agents of m rows over d variables, loss, heterogeneity h, ridge lambda, from seed. */
void sv_test_agents(sv_glm_clients *c, sv_loss loss, int n, int m, int d, double h,
                    double lambda, uint64_t seed);

/* The topology (sv_graph_topology) on n nodes; Erdos-Renyi with p 0.3 and seed 0. */
void sv_test_topology(sv_graph *g, int topology, int n);

#endif
