/* srrw.c - the distributed.srrw codec: agents (explicit clients or a generated heterogeneous
 * instance) on a graph (a generated topology or an explicit edge list), params into srrw_solve,
 * and its outcome back into JSON. The doc page is docs/solvers/distributed/srrw.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/codecs/distributed/clients_json.h"
#include "api/forms.h"
#include "api/glm_json.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/models/gen_glm.h"
#include "core/models/graph.h"
#include "core/solvers/distributed/srrw.h"

typedef enum { FORM_CLIENTS, FORM_GENERATE } srrw_form;

typedef struct {
    srrw_form form;
    int n, dim;
    sv_clients_desc clients;  /* FORM_CLIENTS */
    sv_gen_glm_spec gen;      /* FORM_GENERATE */
    sv_graph_spec graph;      /* when edges is NULL */
    const json_t *edges;      /* the validated edge list, or NULL */
    const json_t *x0;         /* NULL: zeros */
} srrw_desc;

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
static const sv_problem_form srrw_forms[] = {
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

/* ---- reading (no allocation of problem data) ---- */

static int read_generate(const json_t *problem, const sv_codec_env *env, srrw_desc *d,
                         sv_err *e)
{
    sv_gen_glm_spec *g = &d->gen;
    sv_params_defaults(sv_gen_glm_params, g);
    int rc = sv_forms_decode_key(&srrw_forms[FORM_GENERATE], problem, g, e);
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
static int read_graph(const json_t *problem, const sv_codec_env *env, srrw_desc *d, sv_err *e)
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

static int read_problem(const json_t *problem, const sv_codec_env *env, srrw_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(srrw_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (srrw_form)form;
    if (d->form == FORM_CLIENTS) {
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

static int read_settings(const json_t *params, srrw_settings *s, sv_err *e)
{
    srrw_settings_default(s);
    int rc = sv_params_decode(srrw_params, params, s, e);
    return rc != SV_OK ? rc : srrw_check_settings(s, e);
}

/* ---- building ---- */

static int build_graph(const srrw_desc *d, sv_graph *g, sv_err *e)
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

/* The graph, and the connectivity every walk needs, as a 4xx at validation. */
static int build_connected_graph(const srrw_desc *d, sv_graph *g, sv_err *e)
{
    int rc = build_graph(d, g, e);
    if (rc != SV_OK)
        return rc;
    if (!sv_graph_connected(g)) {
        sv_graph_free(g);
        return sv_fail(e, d->edges ? "/problem/edges" : "/problem/graph",
                       "the graph of %d agents is not connected: the token could never reach "
                       "some of them%s", d->n,
                       d->edges ? "" : " (raise p or change the seed)");
    }
    return SV_OK;
}

/* ---- the codec ---- */

static void srrw_defaults(void *s)
{
    srrw_settings_default(s);
}

static json_t *srrw_problem_schema(void)
{
    json_t *schema = sv_forms_schema(srrw_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("f(theta) = (1/n) sum_i f_i(theta) over n agents on a "
                                        "connected graph, each f_i a least-squares or logistic "
                                        "model with ridge; exactly one of clients, generate"));
    return schema;
}

static json_t *srrw_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:f, s:i, s:f}, s:{s:s}},"
                     " s:{s:f, s:f, s:i, s:i}}",
                     "problem", "generate", "clients", 64, "rows_per_client", 50, "dim", 20,
                     "loss", "squared", "heterogeneity", 0.5, "seed", 1, "lambda", 0.1, "graph",
                     "topology", "grid", "params", "alpha", 5.0, "tol", 1e-4, "seed", 1,
                     "report_every", 1000);
}

static int srrw_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                         sv_err *e)
{
    srrw_desc d;
    srrw_settings s;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    /* Validation runs where the request is read: build only the graphs whose connectivity is
     * in question (explicit edges, Erdos-Renyi draws). Ring, grid, star and complete graphs are
     * connected by construction and their size is already checked. */
    if (!d.edges && d.graph.topology != SV_GRAPH_ERDOS_RENYI)
        return SV_OK;
    sv_graph g;
    if ((rc = build_connected_graph(&d, &g, e)) != SV_OK)
        return rc;
    sv_graph_free(&g);
    return SV_OK;
}

static int srrw_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    const sv_monitor *mon, json_t **result, sv_err *e)
{
    srrw_desc d;
    srrw_settings s;
    sv_glm_clients c;
    sv_graph g;
    double *theta = NULL, *visits = NULL;
    int rc;
    memset(&c, 0, sizeof c);
    memset(&g, 0, sizeof g);
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = build_connected_graph(&d, &g, e)) != SV_OK)
        return rc;
    if (d.x0)
        rc = sv_json_vector(d.x0, "/problem/x0", d.dim, env, &theta, NULL, e);
    else if (!(theta = calloc((size_t)d.dim, sizeof *theta)))
        rc = SV_ENOMEM;
    if (rc == SV_OK && !(visits = calloc((size_t)d.n, sizeof *visits)))
        rc = SV_ENOMEM;
    if (rc == SV_OK)
        rc = d.form == FORM_GENERATE ? sv_gen_glm_clients(&d.gen, &c, e)
                                     : sv_clients_json_build(&d.clients, env, &c, e);
    srrw_info info;
    if (rc == SV_OK) {
        srrw_problem p = {&g, c.glm};
        rc = srrw_solve(&p, &s, mon, theta, visits, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *xs = sv_json_from_vector(theta, d.dim);
        json_t *vs = sv_json_from_vector(visits, d.n);
        if (!r || !xs || !vs) {
            json_decref(r);
            json_decref(xs);
            json_decref(vs);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "grad_norm", sv_codec_real(info.grad_norm));
            json_object_set_new(r, "visits_tv", sv_codec_real(info.visits_tv));
            json_object_set_new(r, "step0", sv_codec_real(info.step0));
            json_object_set_new(r, "gradient_evals", json_integer(info.gradient_evals));
            json_object_set_new(r, "agents", json_integer(d.n));
            json_object_set_new(r, "edges", json_integer(g.n_edges));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", xs);
            json_object_set_new(r, "visits", vs);
            *result = r;
        }
    }
    sv_glm_clients_free(&c);
    sv_graph_free(&g);
    free(theta);
    free(visits);
    return rc;
}

const sv_codec sv_codec_srrw = {
    .name = "distributed.srrw",
    .family = "distributed",
    .summary = "SA-SRRW: a token on a graph of agents steps along their local gradients, walking "
               "by a self-repellent random walk that avoids over-visited agents",
    .paper = "Hu, Doshi, Eun: Accelerating Distributed Stochastic Optimization via "
             "Self-Repellent Random Walks, ICLR 2024",
    .doc = "docs/solvers/distributed/srrw.md",
    .params = srrw_params,
    .settings_size = sizeof(srrw_settings),
    .settings_default = srrw_defaults,
    .problem_schema = srrw_problem_schema,
    .example = srrw_example,
    .validate = srrw_validate,
    .run = srrw_run,
};
