/* dynamic.c - the submodular.dynamic codec: a coverage instance (sets over a universe) or a
 * facility-location instance (a similarity matrix), each with an explicit update stream or a
 * seeded random one, or a generated instance with its stream; params into dynamic_solve, and
 * the final solution, its value and the query counts back into JSON. No numerics here; the doc
 * page is docs/solvers/submodular/dynamic.md. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/submodular/dynamic.h"
#include "core/solvers/submodular/dynamic_gen.h"

typedef enum { FORM_SETS, FORM_SIMILARITY, FORM_GENERATE } dyn_form;

#define STREAM_SCHEMA                                                                         \
    "\"k\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"cardinality constraint"  \
    " (required)\"}, \"stream\": {\"type\": \"array\", \"items\": {\"type\": \"object\","      \
    " \"properties\": {\"op\": {\"enum\": [\"insert\", \"delete\"]}, \"element\": {\"type\":" \
    " \"integer\", \"minimum\": 0}}, \"required\": [\"op\", \"element\"]}, \"description\":"   \
    " \"the updates in order; every element starts absent\"}, \"random_stream\": {\"type\":"   \
    " \"object\", \"properties\": {\"updates\": {\"type\": \"integer\", \"minimum\": 1,"       \
    " \"default\": 200}, \"delete_prob\": {\"type\": \"number\", \"minimum\": 0, \"maximum\":" \
    " 1, \"default\": 0.3}, \"seed\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0}},"\
    " \"description\": \"a seeded random stream instead of stream: each update deletes a"     \
    " uniform alive element with probability delete_prob, else inserts a uniform absent one\"}"

static const char *const sets_members[] = {"sets", "universe", "weights", "k", "stream",
                                           "random_stream", NULL};
static const char *const sim_members[] = {"similarity", "k", "stream", "random_stream", NULL};
static const char *const generate_members[] = {"generate", NULL};
static const sv_problem_form dyn_forms[] = {
    {.key = "sets", .members = sets_members,
     .summary = "coverage: f(S) = total weight of the items covered by the sets of S",
     .properties =
         "{\"sets\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"array\","
         " \"items\": {\"type\": \"integer\", \"minimum\": 0}}, \"description\": \"element i's"
         " set of distinct items\"}, \"universe\": {\"type\": \"integer\", \"minimum\": 1,"
         " \"description\": \"number of items (default: the largest item + 1)\"}, \"weights\":"
         " {\"type\": \"array\", \"items\": {\"type\": \"number\", \"minimum\": 0},"
         " \"description\": \"item weights (default all 1)\"}, " STREAM_SCHEMA "}"},
    {.key = "similarity", .members = sim_members,
     .summary = "facility location / exemplar clustering: f(S) = sum_c max_{e in S} s(e, c)",
     .properties =
         "{\"similarity\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\":"
         " \"array\", \"items\": {\"type\": \"number\", \"minimum\": 0}}, \"description\":"
         " \"row e: s(e, c) >= 0 for every customer c (n rows of equal length)\"}, "
         STREAM_SCHEMA "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded random coverage or facility instance with a random stream "
                "(dynamic_gen.h)",
     .fields = dynamic_gen_params, .fields_size = sizeof(dynamic_gen_spec)},
    SV_FORMS_END,
};

typedef struct {
    sv_submod_fn fn;
    int k;
    long n_updates;
    int *ptr, *items;
    double *weights, *sim;
    dynamic_update *updates;
} instance;

static void instance_free(instance *x)
{
    free(x->ptr);
    free(x->items);
    free(x->weights);
    free(x->sim);
    free(x->updates);
    memset(x, 0, sizeof *x);
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

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* sets: shapes first, then (fill) the CSR arrays, each set sorted; a repeated item is refused. */
static int read_sets(const json_t *problem, const sv_codec_env *env, int fill, instance *x,
                     sv_err *e)
{
    json_t *sets = json_object_get(problem, "sets"), *uv, *wv;
    char path[96];
    int rc;
    if (!json_is_array(sets) || json_array_size(sets) < 1)
        return sv_fail(e, "/problem/sets", "expected a non-empty array of sets, got %s",
                       sv_json_kind(sets));
    if ((long)json_array_size(sets) > lim_dim(env))
        return sv_fail(e, "/problem/sets", "%zu sets exceed the limit of %ld",
                       json_array_size(sets), lim_dim(env));
    int n = (int)json_array_size(sets);
    long nnz = 0, umax = -1;
    for (int s = 0; s < n; s++) {
        json_t *row = json_array_get(sets, (size_t)s);
        sv_json_path_index(path, sizeof path, "/problem/sets", s);
        if (!json_is_array(row))
            return sv_fail(e, path, "expected an array of items, got %s", sv_json_kind(row));
        nnz += (long)json_array_size(row);
        if (nnz > lim_entries(env))
            return sv_fail(e, "/problem/sets", "more than %ld items exceed the limit",
                           lim_entries(env));
        for (size_t t = 0; t < json_array_size(row); t++) {
            char ip[128];
            long u;
            snprintf(ip, sizeof ip, "%s/%zu", path, t);
            if ((rc = sv_json_int(json_array_get(row, t), ip, 0, lim_dim(env) - 1, &u, e)) !=
                SV_OK)
                return rc;
            if (u > umax)
                umax = u;
        }
    }
    long U = umax + 1;
    if ((rc = sv_json_optional(problem, "/problem", "universe", &uv, e)) != SV_OK ||
        (rc = sv_json_optional(problem, "/problem", "weights", &wv, e)) != SV_OK)
        return rc;
    if (uv) {
        if ((rc = sv_json_int(uv, "/problem/universe", 1, lim_dim(env), &U, e)) != SV_OK)
            return rc;
        if (umax >= U)
            return sv_fail(e, "/problem/universe", "item %ld lies outside a universe of %ld",
                           umax, U);
    }
    if (U < 1)
        return sv_fail(e, "/problem/sets", "no set holds an item: every value is 0");
    if (wv) {
        int nw;
        if ((rc = sv_json_vector(wv, "/problem/weights", U, env, &x->weights, &nw, e)) != SV_OK)
            return rc;
        for (long u = 0; u < U; u++)
            if (x->weights[u] < 0) {
                sv_json_path_index(path, sizeof path, "/problem/weights", u);
                return sv_fail(e, path, "weights must be >= 0, got %g", x->weights[u]);
            }
    }
    x->fn.kind = SV_SUBMOD_COVERAGE;
    x->fn.n = n;
    x->fn.universe = (int)U;
    if (fill) {
        x->ptr = malloc((size_t)(n + 1) * sizeof *x->ptr);
        x->items = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *x->items);
        if (!x->ptr || !x->items)
            return SV_ENOMEM;
        x->ptr[0] = 0;
    }
    long k = 0;
    int *tmp = fill ? x->items : NULL;
    for (int s = 0; s < n; s++) {
        json_t *row = json_array_get(sets, (size_t)s);
        size_t m = json_array_size(row);
        if (!fill)
            continue;
        for (size_t t = 0; t < m; t++)
            tmp[k + (long)t] = (int)json_number_value(json_array_get(row, t));
        qsort(tmp + k, m, sizeof *tmp, cmp_int);
        for (size_t t = 1; t < m; t++)
            if (tmp[k + (long)t] == tmp[k + (long)t - 1]) {
                sv_json_path_index(path, sizeof path, "/problem/sets", s);
                return sv_fail(e, path, "item %d appears twice", tmp[k + (long)t]);
            }
        k += (long)m;
        x->ptr[s + 1] = (int)k;
    }
    if (fill) {
        x->fn.ptr = x->ptr;
        x->fn.items = x->items;
        x->fn.weights = x->weights;
    }
    return SV_OK;
}

static int read_similarity(const json_t *problem, const sv_codec_env *env, int fill,
                           instance *x, sv_err *e)
{
    json_t *sim = json_object_get(problem, "similarity");
    char path[96];
    if (!json_is_array(sim) || json_array_size(sim) < 1)
        return sv_fail(e, "/problem/similarity", "expected a non-empty array of rows, got %s",
                       sv_json_kind(sim));
    long n = (long)json_array_size(sim);
    json_t *r0 = json_array_get(sim, 0);
    long c = json_is_array(r0) ? (long)json_array_size(r0) : 0;
    if (n > lim_dim(env) || c > lim_dim(env) || n * c > lim_entries(env))
        return sv_fail(e, "/problem/similarity", "%ld x %ld exceeds the limits", n, c);
    if (fill && !(x->sim = malloc((size_t)(n * (c > 0 ? c : 1)) * sizeof *x->sim)))
        return SV_ENOMEM;
    for (long i = 0; i < n; i++) {
        json_t *row = json_array_get(sim, (size_t)i);
        sv_json_path_index(path, sizeof path, "/problem/similarity", i);
        if (!json_is_array(row) || (long)json_array_size(row) != c || c < 1)
            return sv_fail(e, path, "expected a row of %ld numbers, got %s of %zu", c,
                           sv_json_kind(row), json_is_array(row) ? json_array_size(row) : 0);
        for (long j = 0; j < c; j++) {
            char vp[128];
            double v;
            snprintf(vp, sizeof vp, "%s/%ld", path, j);
            int rc = sv_json_number(json_array_get(row, (size_t)j), vp, &v, e);
            if (rc != SV_OK)
                return rc;
            if (v < 0)
                return sv_fail(e, vp, "similarities must be >= 0, got %g", v);
            if (fill)
                x->sim[i * c + j] = v;
        }
    }
    x->fn.kind = SV_SUBMOD_FACILITY;
    x->fn.n = (int)n;
    x->fn.universe = (int)c;
    x->fn.sim = x->sim;
    return SV_OK;
}

/* k and the stream of an explicit form. */
static int read_stream(const json_t *problem, const sv_codec_env *env, int fill, instance *x,
                       sv_err *e)
{
    json_t *kv, *sv, *rv;
    long k;
    int rc;
    if ((rc = sv_json_require(problem, "/problem", "k", &kv, e)) != SV_OK ||
        (rc = sv_json_int(kv, "/problem/k", 1, INT_MAX, &k, e)) != SV_OK ||
        (rc = sv_json_optional(problem, "/problem", "stream", &sv, e)) != SV_OK ||
        (rc = sv_json_optional(problem, "/problem", "random_stream", &rv, e)) != SV_OK)
        return rc;
    x->k = (int)k;
    if (sv && rv)
        return sv_fail(e, "/problem/random_stream", "give only one of stream and random_stream");
    if (!sv && !rv)
        return sv_fail(e, "/problem", "needs one of stream or random_stream");
    if (rv) {
        dynamic_stream_spec st;
        sv_params_defaults(dynamic_stream_params, &st);
        if ((rc = sv_params_decode_at(dynamic_stream_params, rv, "/problem/random_stream", &st,
                                      e)) != SV_OK)
            return rc;
        if (st.updates > lim_entries(env))
            return sv_fail(e, "/problem/random_stream/updates", "%ld updates exceed the limit "
                           "of %ld", st.updates, lim_entries(env));
        x->n_updates = st.updates;
        if (!fill)
            return SV_OK;
        int *scratch = malloc((size_t)x->fn.n * 2 * sizeof *scratch);
        x->updates = malloc((size_t)st.updates * sizeof *x->updates);
        if (!scratch || !x->updates) {
            free(scratch);
            return SV_ENOMEM;
        }
        dynamic_gen_stream(x->fn.n, &st, x->updates, scratch);
        free(scratch);
        return SV_OK;
    }
    if (!json_is_array(sv))
        return sv_fail(e, "/problem/stream", "expected an array of updates, got %s",
                       sv_json_kind(sv));
    if ((long)json_array_size(sv) > lim_entries(env))
        return sv_fail(e, "/problem/stream", "%zu updates exceed the limit of %ld",
                       json_array_size(sv), lim_entries(env));
    x->n_updates = (long)json_array_size(sv);
    if (fill && !(x->updates = malloc((size_t)(x->n_updates > 0 ? x->n_updates : 1) *
                                      sizeof *x->updates)))
        return SV_ENOMEM;
    static const char *const upd_members[] = {"op", "element", NULL};
    for (long t = 0; t < x->n_updates; t++) {
        json_t *u = json_array_get(sv, (size_t)t), *op, *el;
        char path[64], fp[80];
        long elem;
        sv_json_path_index(path, sizeof path, "/problem/stream", t);
        if ((rc = sv_json_object(u, path, e)) != SV_OK ||
            (rc = sv_json_no_unknown(u, path, upd_members, e)) != SV_OK ||
            (rc = sv_json_require(u, path, "op", &op, e)) != SV_OK ||
            (rc = sv_json_require(u, path, "element", &el, e)) != SV_OK)
            return rc;
        snprintf(fp, sizeof fp, "%s/op", path);
        const char *o = json_string_value(op);
        int ins = o && !strcmp(o, "insert"), del = o && !strcmp(o, "delete");
        if (!ins && !del)
            return sv_fail(e, fp, "expected \"insert\" or \"delete\"");
        snprintf(fp, sizeof fp, "%s/element", path);
        if ((rc = sv_json_int(el, fp, 0, x->fn.n - 1, &elem, e)) != SV_OK)
            return rc;
        if (fill) {
            x->updates[t].op = ins ? DYNAMIC_INSERT : DYNAMIC_DELETE;
            x->updates[t].element = (int)elem;
        }
    }
    return SV_OK;
}

static int read_generate(const json_t *problem, const sv_codec_env *env, int fill, instance *x,
                         sv_err *e)
{
    dynamic_gen_spec g;
    sv_params_defaults(dynamic_gen_params, &g);
    int rc = sv_forms_decode_key(&dyn_forms[FORM_GENERATE], problem, &g, e);
    if (rc != SV_OK)
        return rc;
    if (g.n > lim_dim(env))
        return sv_fail(e, "/problem/generate/n", "%d elements exceed the limit of %ld", g.n,
                       lim_dim(env));
    if (g.function == SV_SUBMOD_COVERAGE && g.set_size > g.universe)
        return sv_fail(e, "/problem/generate/set_size", "%d items asked of a universe of %d",
                       g.set_size, g.universe);
    if ((double)dynamic_gen_entries(&g) > (double)lim_entries(env))
        return sv_fail(e, "/problem/generate", "%ld stored entries exceed the limit of %ld",
                       dynamic_gen_entries(&g), lim_entries(env));
    if (g.updates > lim_entries(env))
        return sv_fail(e, "/problem/generate/updates", "%ld updates exceed the limit of %ld",
                       g.updates, lim_entries(env));
    x->k = g.k;
    x->n_updates = g.updates;
    x->fn.kind = g.function;
    x->fn.n = g.n;
    x->fn.universe = dynamic_gen_universe(&g);
    if (!fill)
        return SV_OK;
    long entries = dynamic_gen_entries(&g);
    int *scratch = malloc((size_t)g.n * 2 * sizeof *scratch);
    x->updates = malloc((size_t)g.updates * sizeof *x->updates);
    if (g.function == SV_SUBMOD_COVERAGE) {
        x->ptr = malloc((size_t)(g.n + 1) * sizeof *x->ptr);
        x->items = malloc((size_t)entries * sizeof *x->items);
    } else {
        x->sim = malloc((size_t)entries * sizeof *x->sim);
    }
    if (!scratch || !x->updates || (g.function == SV_SUBMOD_COVERAGE ? !x->ptr || !x->items
                                                                     : !x->sim)) {
        free(scratch);
        return SV_ENOMEM;
    }
    dynamic_gen_fill(&g, &x->fn, x->ptr, x->items, x->sim);
    dynamic_stream_spec st = {g.updates, g.delete_prob, g.seed ^ 0x5eedULL};
    dynamic_gen_stream(g.n, &st, x->updates, scratch);
    free(scratch);
    return SV_OK;
}

/* The instance: validated only (fill 0) or built (fill 1; instance_free it either way). */
static int read_problem(const json_t *problem, const sv_codec_env *env, int fill, instance *x,
                        sv_err *e)
{
    memset(x, 0, sizeof *x);
    int form, rc;
    if ((rc = sv_forms_pick(dyn_forms, problem, &form, e)) != SV_OK)
        return rc;
    if (form == FORM_GENERATE)
        return read_generate(problem, env, fill, x, e);
    rc = form == FORM_SETS ? read_sets(problem, env, fill, x, e)
                           : read_similarity(problem, env, fill, x, e);
    return rc != SV_OK ? rc : read_stream(problem, env, fill, x, e);
}

static int read_settings(const json_t *params, dynamic_settings *s, sv_err *e)
{
    dynamic_settings_default(s);
    int rc = sv_params_decode(dynamic_params, params, s, e);
    return rc != SV_OK ? rc : dynamic_check_settings(s, e);
}

/* ---- the codec ---- */

static void dyn_defaults(void *s)
{
    dynamic_settings_default(s);
}

static json_t *dyn_problem_schema(void)
{
    json_t *schema = sv_forms_schema(dyn_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("monotone submodular maximisation under |S| <= k over "
                                        "a stream of insertions and deletions; exactly one of "
                                        "sets, similarity, generate"));
    return schema;
}

static json_t *dyn_example(void)
{
    return json_pack("{s:{s:{s:s, s:i, s:i, s:i, s:i, s:i, s:f, s:i}}, s:{s:s, s:f, s:i, s:i}}",
                     "problem", "generate", "function", "coverage", "n", 3000, "universe",
                     2000, "set_size", 20, "k", 20, "updates", 9000, "delete_prob", 0.3,
                     "seed", 1, "params", "algorithm", "dynamic", "eps", 0.1, "seed", 1,
                     "report_every", 300);
}

static int dyn_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        sv_err *e)
{
    instance x;
    dynamic_settings s;
    int rc;
    if ((rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    /* explicit instances are read whole so that the stream's consistency is checked now */
    int gen = json_is_object(problem) && json_object_get(problem, "generate");
    rc = read_problem(problem, env, !gen, &x, e);
    if (rc == SV_OK && !gen) {
        dynamic_problem p = {&x.fn, x.k, x.n_updates, x.updates};
        rc = dynamic_check_problem(&p, e);
    }
    instance_free(&x);
    return rc;
}

static int dyn_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                   const sv_monitor *mon, json_t **result, sv_err *e)
{
    instance x;
    dynamic_settings s;
    int rc, *sol = NULL;
    *result = NULL;
    if ((rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    if ((rc = read_problem(problem, env, 1, &x, e)) != SV_OK) {
        instance_free(&x);
        return rc;
    }
    dynamic_info info;
    if (!(sol = malloc((size_t)(x.k < x.fn.n ? x.k : x.fn.n) * sizeof *sol)))
        rc = SV_ENOMEM;
    if (rc == SV_OK) {
        dynamic_problem p = {&x.fn, x.k, x.n_updates, x.updates};
        rc = dynamic_solve(&p, &s, mon, sol, NULL, NULL, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.value);
        json_t *js = sv_json_from_int_vector(sol, info.size);
        if (!r || !js) {
            json_decref(r);
            json_decref(js);
            rc = SV_ENOMEM;
        } else {
            long done = info.base.iter;
            json_object_set_new(r, "value", sv_codec_real(info.value));
            json_object_set_new(r, "solution", js);
            json_object_set_new(r, "size", json_integer(info.size));
            json_object_set_new(r, "algorithm",
                                json_string(s.algorithm == DYNAMIC_ALG_DYNAMIC ? "dynamic"
                                                                               : "lazy_greedy"));
            json_object_set_new(r, "updates", json_integer(done));
            json_object_set_new(r, "alive", json_integer(info.alive));
            json_object_set_new(r, "queries", json_integer(info.queries));
            json_object_set_new(r, "queries_per_update",
                                sv_codec_real(done > 0 ? (double)info.queries / done : 0.0));
            json_object_set_new(r, "max_update_queries", json_integer(info.max_update_queries));
            json_object_set_new(r, "rebuilds", json_integer(info.rebuilds));
            json_object_set_new(r, "guesses", json_integer(info.guesses));
            json_object_set_new(r, "tau", sv_codec_real(info.tau));
            json_object_set_new(r, "n", json_integer(x.fn.n));
            json_object_set_new(r, "k", json_integer(x.k));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            *result = r;
        }
    }
    free(sol);
    instance_free(&x);
    return rc;
}

const sv_codec sv_codec_dynamic = {
    .name = "submodular.dynamic",
    .family = "submodular",
    .summary = "fully dynamic monotone submodular maximisation under |S| <= k (coverage, "
               "facility location): a (1/2 - eps)-approximate solution kept through insertions "
               "and deletions with polylogarithmic amortised oracle queries, or lazy greedy "
               "recomputed after each update",
    .paper = "Banihashem, Biabani, Goudarzi, Hajiaghayi, Jabbarzade, Monemizadeh: Dynamic "
             "Constrained Submodular Optimization with Polylogarithmic Update Time, ICML 2023",
    .doc = "docs/solvers/submodular/dynamic.md",
    .params = dynamic_params,
    .settings_size = sizeof(dynamic_settings),
    .settings_default = dyn_defaults,
    .problem_schema = dyn_problem_schema,
    .example = dyn_example,
    .validate = dyn_validate,
    .run = dyn_run,
};
