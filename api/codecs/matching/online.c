/* online.c - the matching.online codec: an explicit bipartite graph (offline count, each online
 * vertex's [offline, p] edges, fixed or random arrival order) or a generated one, into
 * online_solve, and the per-algorithm ratios back into JSON. No numerics here; the doc page is
 * docs/solvers/matching/online.md. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/matching/online.h"
#include "core/solvers/matching/online_gen.h"

typedef enum { FORM_GRAPH, FORM_GENERATE } online_form;

static const char *const graph_members[] = {"online", "offline", "random_order", NULL};
static const char *const generate_members[] = {"generate", NULL};
static const sv_problem_form online_forms[] = {
    {.key = "online", .members = graph_members,
     .summary = "an explicit bipartite graph: each online vertex's edges as [offline, p] pairs",
     .properties =
         "{\"online\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"array\","
         " \"items\": {\"type\": \"array\", \"minItems\": 2, \"maxItems\": 2}}, \"description\":"
         " \"online vertex v's edges, in arrival order: [u, p_uv] with u an offline index and"
         " p_uv in (0, 1]\"}, \"offline\": {\"type\": \"integer\", \"minimum\": 1,"
         " \"description\": \"number of offline vertices (required)\"}, \"random_order\":"
         " {\"type\": \"boolean\", \"default\": true, \"description\": \"true: a fresh random"
         " arrival order in every trial; false: the order given\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded random bipartite graph (online_gen.h)",
     .fields = online_gen_params, .fields_size = sizeof(online_gen_spec)},
    SV_FORMS_END,
};

typedef struct {
    int n_offline, n_online, random_order;
    int *ptr, *adj;
    double *p;
} graph;

static void graph_free(graph *g)
{
    free(g->ptr);
    free(g->adj);
    free(g->p);
    memset(g, 0, sizeof *g);
}

static long lim_dim(const sv_codec_env *env)
{
    return env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
}

static long lim_entries(const sv_codec_env *env)
{
    return env && env->max_entries > 0 && env->max_entries < INT_MAX ? env->max_entries
                                                                     : INT_MAX;
}

static int alloc_graph(graph *g, long nnz)
{
    g->ptr = malloc((size_t)(g->n_online + 1) * sizeof *g->ptr);
    g->adj = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *g->adj);
    g->p = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *g->p);
    if (!g->ptr || !g->adj || !g->p) {
        graph_free(g);
        return SV_ENOMEM;
    }
    return SV_OK;
}

/* The explicit form: shapes and limits first (nothing allocated), then the arrays. */
static int read_explicit(const json_t *problem, const sv_codec_env *env, int fill, graph *g,
                         sv_err *e)
{
    json_t *off, *on = json_object_get(problem, "online"), *ro;
    long m;
    int rc;
    if ((rc = sv_json_require(problem, "/problem", "offline", &off, e)) != SV_OK ||
        (rc = sv_json_int(off, "/problem/offline", 1, lim_dim(env), &m, e)) != SV_OK ||
        (rc = sv_json_optional(problem, "/problem", "random_order", &ro, e)) != SV_OK)
        return rc;
    g->n_offline = (int)m;
    g->random_order = 1;
    if (ro && (rc = sv_json_bool(ro, "/problem/random_order", &g->random_order, e)) != SV_OK)
        return rc;
    if (!json_is_array(on) || json_array_size(on) < 1)
        return sv_fail(e, "/problem/online", "expected a non-empty array of online vertices, "
                       "got %s", sv_json_kind(on));
    if ((long)json_array_size(on) > lim_dim(env))
        return sv_fail(e, "/problem/online", "%zu online vertices exceed the limit of %ld",
                       json_array_size(on), lim_dim(env));
    g->n_online = (int)json_array_size(on);
    long nnz = 0;
    char path[96];
    for (size_t v = 0; v < json_array_size(on); v++) {
        json_t *row = json_array_get(on, v);
        sv_json_path_index(path, sizeof path, "/problem/online", (long)v);
        if (!json_is_array(row))
            return sv_fail(e, path, "expected an array of [offline, p] edges, got %s",
                           sv_json_kind(row));
        nnz += (long)json_array_size(row);
        if (nnz > lim_entries(env))
            return sv_fail(e, "/problem/online", "more than %ld edges exceed the limit",
                           lim_entries(env));
    }
    if (nnz < 1)
        return sv_fail(e, "/problem/online", "the graph has no edge: the LP value is 0 and no "
                       "ratio is defined");
    if (fill && (rc = alloc_graph(g, nnz)) != SV_OK)
        return rc;
    long k = 0;
    if (fill)
        g->ptr[0] = 0;
    for (size_t v = 0; v < json_array_size(on); v++) {
        json_t *row = json_array_get(on, v);
        for (size_t i = 0; i < json_array_size(row); i++, k++) {
            char ep[128], xp[140];
            json_t *edge = json_array_get(row, i);
            snprintf(ep, sizeof ep, "/problem/online/%zu/%zu", v, i);
            if (!json_is_array(edge) || json_array_size(edge) != 2) {
                rc = sv_fail(e, ep, "expected an edge [offline, p], got %s", sv_json_kind(edge));
                goto fail;
            }
            long u;
            double pr;
            snprintf(xp, sizeof xp, "%s/0", ep);
            if ((rc = sv_json_int(json_array_get(edge, 0), xp, 0, m - 1, &u, e)) != SV_OK)
                goto fail;
            snprintf(xp, sizeof xp, "%s/1", ep);
            if ((rc = sv_json_number(json_array_get(edge, 1), xp, &pr, e)) != SV_OK)
                goto fail;
            if (!(pr > 0 && pr <= 1)) {
                rc = sv_fail(e, xp, "success probability must be in (0, 1], got %g", pr);
                goto fail;
            }
            if (fill) {
                g->adj[k] = (int)u;
                g->p[k] = pr;
            }
        }
        if (fill)
            g->ptr[v + 1] = (int)k;
    }
    return SV_OK;
fail:
    if (fill)
        graph_free(g);
    return rc;
}

static int read_generate(const json_t *problem, const sv_codec_env *env, online_gen_spec *s,
                         sv_err *e)
{
    sv_params_defaults(online_gen_params, s);
    int rc = sv_forms_decode_key(&online_forms[FORM_GENERATE], problem, s, e);
    if (rc != SV_OK)
        return rc;
    if (s->offline > lim_dim(env))
        return sv_fail(e, "/problem/generate/offline", "size %d exceeds the limit of %ld",
                       s->offline, lim_dim(env));
    if (s->online > lim_dim(env))
        return sv_fail(e, "/problem/generate/online", "size %d exceeds the limit of %ld",
                       s->online, lim_dim(env));
    if (s->graph == ONLINE_GEN_RANDOM && !s->complete && s->degree > s->offline)
        return sv_fail(e, "/problem/generate/degree", "%d neighbours asked of %d offline "
                       "vertices", s->degree, s->offline);
    /* the triangular count is at most online * offline: bound it before summing it */
    double nnz = (double)s->online * (s->graph == ONLINE_GEN_RANDOM && !s->complete
                                          ? s->degree : s->offline);
    if (nnz > (double)lim_entries(env) && (nnz = (double)online_gen_edges(s)) >
                                               (double)lim_entries(env))
        return sv_fail(e, "/problem/generate", "%.0f edges exceed the limit of %ld", nnz,
                       lim_entries(env));
    return SV_OK;
}

/* The graph of the problem: validated only (fill 0) or built (fill 1; graph_free it). */
static int read_problem(const json_t *problem, const sv_codec_env *env, int fill, graph *g,
                        sv_err *e)
{
    memset(g, 0, sizeof *g);
    int form, rc;
    if ((rc = sv_forms_pick(online_forms, problem, &form, e)) != SV_OK)
        return rc;
    if (form == FORM_GRAPH)
        return read_explicit(problem, env, fill, g, e);
    online_gen_spec s;
    if ((rc = read_generate(problem, env, &s, e)) != SV_OK)
        return rc;
    g->n_offline = s.offline;
    g->n_online = s.online;
    g->random_order = s.random_order;
    if (!fill)
        return SV_OK;
    if ((rc = alloc_graph(g, online_gen_edges(&s))) != SV_OK)
        return rc;
    online_gen_fill(&s, g->ptr, g->adj, g->p);
    return SV_OK;
}

static int read_settings(const json_t *params, online_settings *s, sv_err *e)
{
    online_settings_default(s);
    int rc = sv_params_decode(online_params, params, s, e);
    return rc != SV_OK ? rc : online_check_settings(s, e);
}

static online_problem as_problem(const graph *g)
{
    online_problem p = {g->n_offline, g->n_online, g->ptr, g->adj, g->p, g->random_order};
    return p;
}

/* ---- the codec ---- */

static void online_defaults(void *s)
{
    online_settings_default(s);
}

static json_t *online_problem_schema(void)
{
    json_t *schema = sv_forms_schema(online_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("online matching with stochastic rewards: offline "
                                        "vertices, online vertices arriving with edges of "
                                        "success probability p_uv; exactly one of online, "
                                        "generate"));
    return schema;
}

static json_t *online_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:f, s:i}}, s:{s:f, s:i, s:i, s:i}}",
                     "problem", "generate", "offline", 50, "online", 2500, "degree", 5,
                     "probs", "equal", "p", 0.02, "seed", 1, "params", "tol", 4e-3,
                     "max_iter", 20000, "report_every", 20, "seed", 1);
}

static int online_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                           sv_err *e)
{
    graph g;
    online_settings s;
    int rc;
    if ((rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    /* An explicit graph is read whole, so that its every edge is checked now; a generated one
     * only by its spec. */
    int explicit_form = json_is_object(problem) && json_object_get(problem, "online");
    if ((rc = read_problem(problem, env, explicit_form, &g, e)) != SV_OK)
        return rc;
    if (explicit_form) {
        online_problem p = as_problem(&g);
        rc = online_check_problem(&p, e);
        graph_free(&g);
    }
    return rc;
}

static json_t *alg_json(const online_alg_stats *st)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "ratio", sv_codec_real(st->ratio), "ci95",
                     sv_codec_real(st->ci95), "matched", sv_codec_real(st->matched),
                     "matched_ci95", sv_codec_real(st->matched_ci95));
}

static int online_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                      const sv_monitor *mon, json_t **result, sv_err *e)
{
    graph g;
    online_settings s;
    int rc;
    *result = NULL;
    if ((rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = read_problem(problem, env, 1, &g, e)) != SV_OK)
        return rc;
    online_problem p = as_problem(&g);
    online_info info;
    rc = online_solve(&p, &s, mon, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *algs = json_object();
        if (!r || !algs) {
            json_decref(r);
            json_decref(algs);
            rc = SV_ENOMEM;
        } else {
            for (int a = 0; a < ONLINE_N_ALGS; a++)
                json_object_set_new(algs, online_alg_name(a), alg_json(&info.alg[a]));
            json_object_set_new(r, "lp_value", sv_codec_real(info.lp_value));
            json_object_set_new(r, "trials", json_integer(info.trials));
            json_object_set_new(r, "ci95", sv_codec_real(info.base.res));
            json_object_set_new(r, "algorithms", algs);
            json_object_set_new(r, "offline", json_integer(g.n_offline));
            json_object_set_new(r, "online", json_integer(g.n_online));
            json_object_set_new(r, "edges", json_integer(g.ptr[g.n_online]));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "lp_time_s", json_real(info.lp_time_s));
            *result = r;
        }
    }
    graph_free(&g);
    return rc;
}

const sv_codec sv_codec_online = {
    .name = "matching.online",
    .family = "matching",
    .summary = "online matching with stochastic rewards by Monte Carlo: Stochastic Balance, "
               "Ranking and greedy against the budget/expectation LP, with 95% confidence "
               "intervals of their ratios",
    .paper = "Huang, Jiang, Shen, Song, Wu, Zhang: Online Matching with Stochastic Rewards: "
             "Advanced Analyses Using Configuration Linear Programs, arXiv:2309.10289, 2023",
    .doc = "docs/solvers/matching/online.md",
    .params = online_params,
    .settings_size = sizeof(online_settings),
    .settings_default = online_defaults,
    .problem_schema = online_problem_schema,
    .example = online_example,
    .validate = online_validate,
    .run = online_run,
};
