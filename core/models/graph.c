/* graph.c - agent graphs: generated topologies, explicit edge lists, connectivity. */
#include "core/models/graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"

static const char *const topology_choices[] = {"ring", "grid", "star", "complete",
                                               "erdos_renyi", NULL};

const sv_param_spec sv_graph_params[] = {
    SV_P_ENUM(sv_graph_spec, topology, topology_choices, SV_GRAPH_RING,
              "ring, grid (rows of ceil(sqrt(n)) nodes), star (node 0 the hub), complete, or "
              "erdos_renyi (each pair an edge with probability p)"),
    SV_P_NUMBER_GT(sv_graph_spec, p, 0, 1, 0.3, "erdos_renyi: edge probability"),
    SV_P_SEED(sv_graph_spec, seed, 0, "erdos_renyi: seed of the edge draws"),
    SV_PARAMS_END,
};

static double pairs(int n) { return (double)n * (n - 1) / 2.0; }

int sv_graph_check_spec(const sv_graph_spec *spec, int n, const char *path, sv_err *e)
{
    char sub[160];
    if (n < 1)
        return sv_fail(e, path, "a graph needs at least one node, got %d", n);
    int rc = sv_params_validate(sv_graph_params, spec, path, e);
    if (rc != SV_OK)
        return rc;
    if ((spec->topology == SV_GRAPH_COMPLETE || spec->topology == SV_GRAPH_ERDOS_RENYI) &&
        pairs(n) > SV_GRAPH_MAX_PAIRS) {
        snprintf(sub, sizeof sub, "%s/topology", path);
        return sv_fail(e, sub, "%s on %d nodes has %.0f node pairs, more than the limit of %.0f",
                       topology_choices[spec->topology], n, pairs(n), SV_GRAPH_MAX_PAIRS);
    }
    return SV_OK;
}

/* Builds the CSR lists from m edges (both directions), sorting each list. */
static int build(int n, long m, const int *edges, sv_graph *g)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->n_edges = m;
    g->ptr = calloc((size_t)n + 1, sizeof *g->ptr);
    g->adj = malloc((size_t)(2 * m > 0 ? 2 * m : 1) * sizeof *g->adj);
    int *fill = calloc((size_t)n + 1, sizeof *fill);
    if (!g->ptr || !g->adj || !fill) {
        free(fill);
        sv_graph_free(g);
        return SV_ENOMEM;
    }
    for (long k = 0; k < m; k++) {
        g->ptr[edges[2 * k] + 1]++;
        g->ptr[edges[2 * k + 1] + 1]++;
    }
    for (int i = 0; i < n; i++)
        g->ptr[i + 1] += g->ptr[i];
    memcpy(fill, g->ptr, (size_t)n * sizeof *fill);
    for (long k = 0; k < m; k++) {
        int i = edges[2 * k], j = edges[2 * k + 1];
        g->adj[fill[i]++] = j;
        g->adj[fill[j]++] = i;
    }
    free(fill);
    for (int i = 0; i < n; i++) {  /* insertion sort: lists are short or nearly sorted */
        int *a = g->adj + g->ptr[i], len = g->ptr[i + 1] - g->ptr[i];
        for (int s = 1; s < len; s++) {
            int v = a[s], t = s;
            for (; t > 0 && a[t - 1] > v; t--)
                a[t] = a[t - 1];
            a[t] = v;
        }
    }
    return SV_OK;
}

/* Appends edge (i, j) to the list being generated. */
static void add(int *edges, long *m, int i, int j)
{
    edges[2 * *m] = i;
    edges[2 * *m + 1] = j;
    (*m)++;
}

int sv_graph_generate(const sv_graph_spec *spec, int n, sv_graph *g, sv_err *e)
{
    memset(g, 0, sizeof *g);
    int rc = sv_graph_check_spec(spec, n, "/problem/graph", e);
    if (rc != SV_OK)
        return rc;
    double cap;
    int w = (int)ceil(sqrt((double)n));
    switch (spec->topology) {
    case SV_GRAPH_RING: cap = n; break;
    case SV_GRAPH_GRID: cap = 2.0 * n; break;
    case SV_GRAPH_STAR: cap = n; break;
    default: cap = pairs(n); break;
    }
    int *edges = malloc((size_t)(cap > 0 ? 2 * cap : 2) * sizeof *edges);
    if (!edges)
        return SV_ENOMEM;
    long m = 0;
    switch (spec->topology) {
    case SV_GRAPH_RING:
        for (int i = 0; i + 1 < n; i++)
            add(edges, &m, i, i + 1);
        if (n > 2)
            add(edges, &m, n - 1, 0);
        break;
    case SV_GRAPH_GRID:
        for (int i = 0; i < n; i++) {
            if ((i + 1) % w != 0 && i + 1 < n)
                add(edges, &m, i, i + 1);
            if (i + w < n)
                add(edges, &m, i, i + w);
        }
        break;
    case SV_GRAPH_STAR:
        for (int i = 1; i < n; i++)
            add(edges, &m, 0, i);
        break;
    case SV_GRAPH_COMPLETE:
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                add(edges, &m, i, j);
        break;
    default: {
        sv_rng r;
        sv_rng_seed(&r, spec->seed);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (sv_rng_uniform(&r) < spec->p)
                    add(edges, &m, i, j);
        break;
    }
    }
    rc = build(n, m, edges, g);
    free(edges);
    return rc;
}

int sv_graph_from_edges(int n, long m, const int *edges, const char *path, sv_graph *g,
                        sv_err *e)
{
    memset(g, 0, sizeof *g);
    char sub[160];
    if (n < 1)
        return sv_fail(e, path, "a graph needs at least one node, got %d", n);
    for (long k = 0; k < m; k++) {
        int i = edges[2 * k], j = edges[2 * k + 1];
        snprintf(sub, sizeof sub, "%s/%ld", path, k);
        if (i < 0 || i >= n || j < 0 || j >= n)
            return sv_fail(e, sub, "edge [%d, %d] names a node outside 0..%d", i, j, n - 1);
        if (i == j)
            return sv_fail(e, sub, "edge [%d, %d] is a self-loop", i, j);
    }
    int rc = build(n, m, edges, g);
    if (rc != SV_OK)
        return rc;
    for (int i = 0; i < n; i++)
        for (int s = g->ptr[i] + 1; s < g->ptr[i + 1]; s++)
            if (g->adj[s] == g->adj[s - 1]) {
                int j = g->adj[s];
                long k = 0;  /* the second listing of the pair, for the path */
                int seen = 0;
                for (; k < m; k++) {
                    int a = edges[2 * k], b = edges[2 * k + 1];
                    if ((a == i && b == j) || (a == j && b == i)) {
                        if (seen++)
                            break;
                    }
                }
                sv_graph_free(g);
                snprintf(sub, sizeof sub, "%s/%ld", path, k);
                return sv_fail(e, sub, "edge [%d, %d] is given twice", i < j ? i : j,
                               i < j ? j : i);
            }
    return SV_OK;
}

int sv_graph_connected(const sv_graph *g)
{
    if (g->n <= 1)
        return 1;
    char *seen = calloc((size_t)g->n, 1);
    int *stack = malloc((size_t)g->n * sizeof *stack);
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return 0;
    }
    int top = 0, reached = 1;
    stack[top++] = 0;
    seen[0] = 1;
    while (top > 0) {
        int i = stack[--top];
        for (int s = g->ptr[i]; s < g->ptr[i + 1]; s++) {
            int j = g->adj[s];
            if (!seen[j]) {
                seen[j] = 1;
                reached++;
                stack[top++] = j;
            }
        }
    }
    free(seen);
    free(stack);
    return reached == g->n;
}

void sv_graph_laplacian(const sv_graph *g, double *L)
{
    size_t n = (size_t)g->n;
    memset(L, 0, n * n * sizeof *L);
    for (int i = 0; i < g->n; i++) {
        L[(size_t)i * n + (size_t)i] = sv_graph_degree(g, i);
        for (int k = g->ptr[i]; k < g->ptr[i + 1]; k++)
            L[(size_t)i * n + (size_t)g->adj[k]] = -1.0;
    }
}

void sv_graph_metropolis(const sv_graph *g, double *W)
{
    size_t n = (size_t)g->n;
    memset(W, 0, n * n * sizeof *W);
    for (int i = 0; i < g->n; i++) {
        double off = 0.0;
        for (int k = g->ptr[i]; k < g->ptr[i + 1]; k++) {
            int j = g->adj[k];
            int dmax = sv_graph_degree(g, i) > sv_graph_degree(g, j) ? sv_graph_degree(g, i)
                                                                     : sv_graph_degree(g, j);
            double w = 1.0 / (1.0 + dmax);
            W[(size_t)i * n + (size_t)j] = w;
            off += w;
        }
        W[(size_t)i * n + (size_t)i] = 1.0 - off;
    }
}

void sv_graph_free(sv_graph *g)
{
    if (!g)
        return;
    free(g->ptr);
    free(g->adj);
    memset(g, 0, sizeof *g);
}
