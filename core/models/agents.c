/* agents.c - validation of agents on a graph. */
#include "core/models/agents.h"

#include <math.h>
#include <stdio.h>
#include "core/linalg.h"
#include "core/matcheck.h"

int sv_agents_check(const sv_graph *graph, const sv_glm *agents, const char *why, sv_err *e)
{
    if (!graph || !agents || graph->n < 1)
        return sv_fail(e, "/problem", "a graph of at least one agent is required");
    if (!sv_graph_connected(graph))
        return sv_fail(e, "/problem/graph", "the graph of %d agents is not connected: %s",
                       graph->n, why);
    int d = agents[0].A ? agents[0].A->cols : 0;
    char path[64];
    for (int i = 0; i < graph->n; i++) {
        const sv_glm *c = &agents[i];
        snprintf(path, sizeof path, "/problem/clients/%d/A", i);
        if (c->loss != SV_LOSS_SQUARED && c->loss != SV_LOSS_LOGISTIC)
            return sv_fail(e, "/problem/loss", "must be \"squared\" or \"logistic\"");
        if (!c->A || c->A->rows < 1 || c->A->cols < 1)
            return sv_fail(e, path, "agent %d needs a matrix with at least one row and column", i);
        if (c->A->cols != d)
            return sv_fail(e, path, "agent %d has %d columns, agent 0 has %d", i, c->A->cols, d);
        int rc = sv_mat_check_storage(c->A, path, e);
        if (rc != SV_OK)
            return rc;
        snprintf(path, sizeof path, "/problem/clients/%d/b", i);
        if (!c->b || !sv_all_finite(c->A->rows, c->b))
            return sv_fail(e, path, "agent %d needs %d finite targets", i, c->A->rows);
        if (!(isfinite(c->lambda) && c->lambda >= 0))
            return sv_fail(e, "/problem/lambda", "must be a finite number >= 0");
    }
    return SV_OK;
}
