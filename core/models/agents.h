/* agents.h - the problem the distributed and decentralized solvers share: n agents on a graph,
 * agent i holding a least-squares or logistic model with ridge (sv_glm) over the same d
 * variables. The checks every such solver makes before it allocates anything. */
#ifndef SV_AGENTS_H
#define SV_AGENTS_H

#include "core/models/glm.h"
#include "core/models/graph.h"
#include "core/solver.h"

/* graph has at least one agent and is connected (else "the graph of n agents is not connected:
 * <why>" at /problem/graph); every agent's loss, matrix (rows, the same columns, storage),
 * targets and ridge are valid (errors at /problem/clients/<i>/A, .../b, /problem/loss,
 * /problem/lambda). SV_OK or SV_EINVAL. */
int sv_agents_check(const sv_graph *graph, const sv_glm *agents, const char *why, sv_err *e);

#endif
