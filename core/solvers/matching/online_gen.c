/* online_gen.c - seeded random bipartite graphs for matching.online (see online_gen.h). */
#include "core/solvers/matching/online_gen.h"

#include <stddef.h>

#include "core/rng.h"

static const char *const probs_choices[] = {"equal", "uniform", NULL};
static const char *const graph_choices[] = {"random", "triangular", NULL};

const sv_param_spec online_gen_params[] = {
    SV_P_ENUM(online_gen_spec, graph, graph_choices, ONLINE_GEN_RANDOM,
              "random: degree uniform neighbours; triangular: online vertex v in group "
              "floor(v offline / online) = j sees offline j..offline-1"),
    SV_P_INT32(online_gen_spec, offline, 1, 1000000, 100, "offline vertices"),
    SV_P_INT32(online_gen_spec, online, 1, 10000000, 1000, "online vertices"),
    SV_P_INT32(online_gen_spec, degree, 1, 1000000, 5,
               "random: distinct offline neighbours per online vertex, drawn uniformly "
               "(<= offline)"),
    SV_P_BOOL(online_gen_spec, complete, 0,
              "random: every online vertex sees every offline vertex (degree is ignored)"),
    SV_P_ENUM(online_gen_spec, probs, probs_choices, ONLINE_GEN_EQUAL,
              "equal: every p_uv = p; uniform: p_uv uniform on (0, p]"),
    SV_P_NUMBER_GT(online_gen_spec, p, 0, 1, 0.1, "the success probability (uniform: its top)"),
    SV_PN_BOOL(online_gen_spec, random_order, "random_order", 1,
               "true: a fresh uniformly random arrival order in every trial; false: 0, 1, ..."),
    SV_P_SEED(online_gen_spec, seed, 0, "seed of the graph and its probabilities"),
    SV_PARAMS_END,
};

/* Online vertex v's triangular group: floor(v m / n). */
static int group(const online_gen_spec *g, int v)
{
    return (int)((long long)v * g->offline / g->online);
}

long online_gen_edges(const online_gen_spec *g)
{
    if (g->graph == ONLINE_GEN_TRIANGULAR) {
        long total = 0;
        for (int v = 0; v < g->online; v++)
            total += g->offline - group(g, v);
        return total;
    }
    return (long)g->online * (g->complete ? g->offline : g->degree);
}

void online_gen_fill(const online_gen_spec *g, int *ptr, int *adj, double *p)
{
    sv_rng r;
    sv_rng_seed(&r, g->seed);
    ptr[0] = 0;
    for (int v = 0; v < g->online; v++) {
        int *nb = adj + ptr[v], d;
        if (g->graph == ONLINE_GEN_TRIANGULAR) {
            int j = group(g, v);
            d = g->offline - j;
            for (int i = 0; i < d; i++)  /* decreasing: the first of equal scores is the */
                nb[i] = g->offline - 1 - i;  /* neighbour every later group needs */
        } else if (g->complete) {
            d = g->offline;
            for (int u = 0; u < d; u++)
                nb[u] = u;
        } else {
            d = g->degree;
            sv_rng_sample(&r, g->offline, d, nb);
            for (int i = 1; i < d; i++) {  /* insertion sort: increasing neighbours */
                int x = nb[i], j = i - 1;
                for (; j >= 0 && nb[j] > x; j--)
                    nb[j + 1] = nb[j];
                nb[j + 1] = x;
            }
        }
        for (int i = 0; i < d; i++) {
            double u = 1.0 - sv_rng_uniform(&r);  /* in (0, 1] */
            p[ptr[v] + i] = g->probs == ONLINE_GEN_UNIFORM ? g->p * u : g->p;
        }
        ptr[v + 1] = ptr[v] + d;
    }
}
