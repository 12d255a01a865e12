/* agents_json.c - agents on a graph: the shared problem reader of the distributed and
 * decentralized codecs. */
#include "api/agents_json.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec_util.h"
#include "api/glm_json.h"
#include "api/jsonval.h"
#include "api/params.h"

#define GRAPH_PROPERTIES                                                                       \
    "\"graph\": {\"type\": \"object\", \"additionalProperties\": false, \"description\":"      \
    " \"a generated topology on the agents (default a ring); not with edges\", \"properties\":" \
    " {\"topology\": {\"type\": \"string\", \"enum\": [\"ring\", \"grid\", \"star\","           \
    " \"complete\", \"erdos_renyi\"], \"default\": \"ring\"}, \"p\": {\"type\": \"number\","    \
    " \"exclusiveMinimum\": 0, \"maximum\": 1, \"default\": 0.3}, \"seed\": {\"type\":"         \
    " \"integer\", \"minimum\": 0, \"default\": 0}}},"                                         \
    " \"edges\": {\"type\": \"array\", \"description\": \"explicit undirected edges [i, j] of"  \
    " agents 0..n-1 (connected, no self-loops or repeats); not with graph\", \"items\":"       \
    " {\"type\": \"array\", \"minItems\": 2, \"maxItems\": 2, \"items\": {\"type\":"            \
    " \"integer\", \"minimum\": 0}}},"                                                         \
    " \"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"                        \
    " \"description\": \"starting point (default zeros)\"}"

static const char *const clients_members[] = {"clients", "loss", "lambda", "graph", "edges",
                                              "x0", NULL};
static const char *const generate_members[] = {"generate", "graph", "edges", "x0", NULL};

const sv_problem_form sv_agents_forms[] = {
    {.key = "clients", .members = clients_members,
     .summary = "explicit agents, each a least-squares or logistic model with ridge",
     .properties =
         "{\"clients\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"object\","
         " \"required\": [\"A\", \"b\"], \"properties\": {\"A\": {\"description\": \"matrix (nested"
         " arrays, {rows,cols,data}, CSR or COO); every agent the same number of columns\"},"
         " \"b\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}}},"
         " \"additionalProperties\": false}},"
         " \"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\"], \"default\":"
         " \"squared\", \"description\": \"logistic labels are -1 or 1\"},"
         " \"lambda\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0,"
         " \"description\": \"ridge weight\"}, " GRAPH_PROPERTIES "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded heterogeneous instance (core/models/gen_glm.h), one agent per client",
     .fields = sv_gen_glm_params, .fields_size = sizeof(sv_gen_glm_spec),
     .properties = "{" GRAPH_PROPERTIES "}"},
    SV_FORMS_END,
};

static int read_generate(const json_t *problem, const sv_codec_env *env, sv_agents_desc *d,
                         sv_err *e)
{
    sv_gen_glm_spec *g = &d->gen;
    sv_params_defaults(sv_gen_glm_params, g);
    int rc = sv_forms_decode_key(&sv_agents_forms[SV_AGENTS_GENERATE], problem, g, e);
    if (rc != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    if (g->n_clients > lim)
        return sv_fail(e, "/problem/generate/clients", "too many agents: %d, the limit is %ld",
                       g->n_clients, lim);
    if (g->rows_per_client > lim)
        return sv_fail(e, "/problem/generate/rows_per_client", "%d rows exceed the limit of %ld",
                       g->rows_per_client, lim);
    if (g->dim > lim)
        return sv_fail(e, "/problem/generate/dim", "dimension %d exceeds the limit of %ld",
                       g->dim, lim);
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    double entries = (double)g->n_clients * (double)g->rows_per_client * (double)g->dim;
    if (entries > (double)max_entries)
        return sv_fail(e, "/problem/generate", "clients * rows_per_client * dim = %.0f exceeds "
                       "the limit of %ld matrix entries", entries, max_entries);
    d->n = g->n_clients;
    d->dim = g->dim;
    return SV_OK;
}

/* graph or edges (not both); the edges' shape and range, bounded by max_entries. */
static int read_graph(const json_t *problem, const sv_codec_env *env, sv_agents_desc *d,
                      sv_err *e)
{
    json_t *graph, *edges;
    sv_params_defaults(sv_graph_params, &d->graph);
    sv_json_optional(problem, "/problem", "graph", &graph, e);
    sv_json_optional(problem, "/problem", "edges", &edges, e);
    if (graph && edges)
        return sv_fail(e, "/problem/edges", "give either graph (a generated topology) or edges "
                       "(an explicit list), not both");
    int rc;
    if (graph) {
        if ((rc = sv_params_decode_at(sv_graph_params, graph, "/problem/graph", &d->graph, e)) !=
                SV_OK ||
            (rc = sv_graph_check_spec(&d->graph, d->n, "/problem/graph", e)) != SV_OK)
            return rc;
    }
    if (!edges)
        return SV_OK;
    if (!json_is_array(edges))
        return sv_fail(e, "/problem/edges", "expected an array of [i, j] pairs, got %s",
                       sv_json_kind(edges));
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    if ((long)json_array_size(edges) > max_entries)
        return sv_fail(e, "/problem/edges", "%zu edges exceed the limit of %ld entries",
                       json_array_size(edges), max_entries);
    char path[64], sub[80];
    for (size_t k = 0; k < json_array_size(edges); k++) {
        const json_t *pair = json_array_get(edges, k);
        sv_json_path_index(path, sizeof path, "/problem/edges", (long)k);
        if (!json_is_array(pair) || json_array_size(pair) != 2)
            return sv_fail(e, path, "expected a pair [i, j] of agent indices, got %s",
                           sv_json_kind(pair));
        for (size_t t = 0; t < 2; t++) {
            long v;
            sv_json_path_index(sub, sizeof sub, path, (long)t);
            if ((rc = sv_json_int(json_array_get(pair, t), sub, 0, d->n - 1, &v, e)) != SV_OK)
                return rc;
        }
    }
    d->edges = edges;
    return SV_OK;
}

int sv_agents_json_read(const json_t *problem, const sv_codec_env *env, sv_agents_desc *d,
                        sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(sv_agents_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (sv_agents_form)form;
    if (d->form == SV_AGENTS_CLIENTS) {
        if ((rc = sv_clients_json_read(problem, env, &d->clients, e)) != SV_OK)
            return rc;
        d->n = d->clients.n_clients;
        d->dim = d->clients.dim;
    } else if ((rc = read_generate(problem, env, d, e)) != SV_OK) {
        return rc;
    }
    if ((rc = read_graph(problem, env, d, e)) != SV_OK)
        return rc;
    return sv_glm_json_x0(problem, d->dim, env, &d->x0, e);
}

static int build_graph(const sv_agents_desc *d, sv_graph *g, sv_err *e)
{
    if (!d->edges)
        return sv_graph_generate(&d->graph, d->n, g, e);
    long m = (long)json_array_size(d->edges);
    int *list = malloc((size_t)(m > 0 ? 2 * m : 2) * sizeof *list);
    if (!list)
        return SV_ENOMEM;
    for (long k = 0; k < m; k++)
        for (int t = 0; t < 2; t++)
            list[2 * k + t] =
                (int)json_integer_value(json_array_get(json_array_get(d->edges, (size_t)k), t));
    int rc = sv_graph_from_edges(d->n, m, list, "/problem/edges", g, e);
    free(list);
    return rc;
}

int sv_agents_json_graph(const sv_agents_desc *d, const char *why, sv_graph *g, sv_err *e)
{
    int rc = build_graph(d, g, e);
    if (rc != SV_OK)
        return rc;
    if (!sv_graph_connected(g)) {
        sv_graph_free(g);
        return sv_fail(e, d->edges ? "/problem/edges" : "/problem/graph",
                       "the graph of %d agents is not connected: %s%s", d->n, why,
                       d->edges ? "" : " (raise p or change the seed)");
    }
    return SV_OK;
}

int sv_agents_json_check_graph(const sv_agents_desc *d, const char *why, sv_err *e)
{
    if (!d->edges && d->graph.topology != SV_GRAPH_ERDOS_RENYI)
        return SV_OK;
    sv_graph g;
    int rc = sv_agents_json_graph(d, why, &g, e);
    if (rc == SV_OK)
        sv_graph_free(&g);
    return rc;
}

int sv_agents_json_clients(const sv_agents_desc *d, const sv_codec_env *env, sv_glm_clients *c,
                           sv_err *e)
{
    return d->form == SV_AGENTS_GENERATE ? sv_gen_glm_clients(&d->gen, c, e)
                                         : sv_clients_json_build(&d->clients, env, c, e);
}

int sv_agents_json_start(const sv_agents_desc *d, const sv_codec_env *env, double **x,
                         sv_err *e)
{
    *x = NULL;
    if (d->x0)
        return sv_json_vector(d->x0, "/problem/x0", d->dim, env, x, NULL, e);
    return (*x = calloc((size_t)d->dim, sizeof **x)) ? SV_OK : SV_ENOMEM;
}

json_t *sv_agents_json_schema(const char *description)
{
    json_t *schema = sv_forms_schema(sv_agents_forms);
    if (schema && description)
        json_object_set_new(schema, "description", json_string(description));
    return schema;
}
