/* alflb.c - the allocation.alflb codec: a router's tokens x experts score matrix with k and an
 * optional expert capacity (and optional starting biases), or a seeded matrix with expert
 * popularity skew; ALF-LB's biases, loads and routing come back as JSON. No numerics. The doc
 * page is docs/solvers/allocation/alflb.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/allocation/alflb.h"
#include "core/solvers/allocation/alflb_gen.h"

typedef enum { FORM_SCORES, FORM_GENERATE } alflb_form;

/* The routing comes back per token only up to this many (token, expert) pairs. */
#define MAX_ASSIGN_OUT 100000L

static const char *const scores_members[] = {"scores", "k", "capacity", "bias", NULL};
static const char *const generate_members[] = {"generate", NULL};

static const sv_problem_form alflb_forms[] = {
    {.key = "scores", .members = scores_members,
     .summary = "an explicit router score matrix: route each token to k experts",
     .properties =
         "{\"scores\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"array\","
         " \"minItems\": 1, \"items\": {\"type\": \"number\"}}, \"description\": \"tokens x"
         " experts router scores s_te, every row as long\"},"
         " \"k\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"experts per token"
         " (top-k routing), <= experts\"},"
         " \"capacity\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0, \"description\":"
         " \"tokens an expert may take; 0: none (balance to k tokens / experts)\"},"
         " \"bias\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"description\":"
         " \"starting biases, one per expert (default 0)\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded score matrix with expert-popularity skew "
                "(core/solvers/allocation/alflb_gen.h)",
     .fields = alflb_gen_params, .fields_size = sizeof(alflb_gen_spec)},
    SV_FORMS_END,
};

typedef struct {
    alflb_form form;
    int tokens, experts, k;
    double capacity;
    alflb_gen_spec gen;
    const json_t *scores;
    const json_t *bias;
} alflb_desc;

static long max_entries(const sv_codec_env *env)
{
    return env && env->max_entries > 0 ? env->max_entries : LONG_MAX;
}

/* The scores form: shapes, values, k, capacity, bias; out (may be NULL) receives the scores. */
static int read_scores(const json_t *problem, const sv_codec_env *env, alflb_desc *d,
                       double *out, double *bias, sv_err *e)
{
    const json_t *S = d->scores;
    char path[96];
    int rc;
    if (!json_is_array(S) || json_array_size(S) < 1)
        return sv_fail(e, "/problem/scores", "expected a non-empty array of rows, got %s",
                       sv_json_kind(S));
    const json_t *row0 = json_array_get(S, 0);
    if (!json_is_array(row0) || json_array_size(row0) < 1)
        return sv_fail(e, "/problem/scores/0", "expected a non-empty array of numbers, got %s",
                       sv_json_kind(row0));
    size_t T = json_array_size(S), E = json_array_size(row0);
    if ((double)T * (double)E > (double)max_entries(env) || T > INT_MAX || E > INT_MAX)
        return sv_fail(e, "/problem/scores", "%zu x %zu scores exceed the limit of %ld entries",
                       T, E, max_entries(env));
    d->tokens = (int)T;
    d->experts = (int)E;
    for (size_t t = 0; t < T; t++) {
        const json_t *row = json_array_get(S, t);
        sv_json_path_index(path, sizeof path, "/problem/scores", (long)t);
        if (!json_is_array(row) || json_array_size(row) != E)
            return sv_fail(e, path, "expected an array of %zu numbers (as many as row 0), got %s",
                           E, json_is_array(row) ? "another length" : sv_json_kind(row));
        for (size_t j = 0; j < E; j++) {
            char q[128];
            double v;
            sv_json_path_index(q, sizeof q, path, (long)j);
            if ((rc = sv_json_number(json_array_get(row, j), q, &v, e)) != SV_OK)
                return rc;
            if (out)
                out[t * E + j] = v;
        }
    }
    json_t *kv, *cv;
    long k;
    if ((rc = sv_json_require(problem, "/problem", "k", &kv, e)) != SV_OK ||
        (rc = sv_json_int(kv, "/problem/k", 1, d->experts, &k, e)) != SV_OK)
        return rc;
    d->k = (int)k;
    d->capacity = 0;
    sv_json_optional(problem, "/problem", "capacity", &cv, e);
    if (cv) {
        if ((rc = sv_json_number(cv, "/problem/capacity", &d->capacity, e)) != SV_OK)
            return rc;
        if (!(d->capacity >= 0))
            return sv_fail(e, "/problem/capacity", "must be >= 0");
    }
    json_t *bv;
    sv_json_optional(problem, "/problem", "bias", &bv, e);
    d->bias = bv;
    if (bv) {
        double *b = NULL;
        if ((rc = sv_json_vector(bv, "/problem/bias", d->experts, env, bias ? &b : NULL, NULL,
                                 e)) != SV_OK)
            return rc;
        if (bias) {
            memcpy(bias, b, (size_t)d->experts * sizeof *bias);
            free(b);
        }
    }
    return SV_OK;
}

static int read_problem(const json_t *problem, const sv_codec_env *env, alflb_desc *d,
                        sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(alflb_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (alflb_form)form;
    if (d->form == FORM_SCORES) {
        d->scores = json_object_get(problem, "scores");
        return read_scores(problem, env, d, NULL, NULL, e);
    }
    sv_params_defaults(alflb_gen_params, &d->gen);
    if ((rc = sv_forms_decode_key(&alflb_forms[FORM_GENERATE], problem, &d->gen, e)) != SV_OK ||
        (rc = alflb_gen_check(&d->gen, e)) != SV_OK)
        return rc;
    if ((double)d->gen.tokens * d->gen.experts > (double)max_entries(env))
        return sv_fail(e, "/problem/generate", "tokens * experts = %.0f exceeds the limit of %ld "
                       "entries", (double)d->gen.tokens * d->gen.experts, max_entries(env));
    d->tokens = d->gen.tokens;
    d->experts = d->gen.experts;
    d->k = d->gen.k;
    return SV_OK;
}

/* The instance (reads the scores a second time, into the arrays); bias gets the start. */
static int build(const json_t *problem, const sv_codec_env *env, alflb_desc *d,
                 alflb_data *out, double *bias, sv_err *e)
{
    for (int j = 0; bias && j < d->experts; j++)
        bias[j] = 0.0;
    if (d->form == FORM_GENERATE)
        return alflb_generate(&d->gen, out, e);
    int rc = alflb_data_alloc(out, d->tokens, d->experts);
    if (rc != SV_OK)
        return rc;
    if ((rc = read_scores(problem, env, d, out->scores, bias, e)) != SV_OK) {
        alflb_data_free(out);
        return rc;
    }
    out->prob.k = d->k;
    out->prob.capacity = d->capacity;
    return SV_OK;
}

static int read_settings(const json_t *params, alflb_settings *s, sv_err *e)
{
    alflb_settings_default(s);
    int rc = sv_params_decode(alflb_params, params, s, e);
    return rc != SV_OK ? rc : alflb_check_settings(s, e);
}

/* ---- the codec ---- */

static void alflb_defaults(void *s)
{
    alflb_settings_default(s);
}

static json_t *alflb_problem_schema(void)
{
    json_t *schema = sv_forms_schema(alflb_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("route each token to its top-k experts by score + bias "
                                        "and balance the loads by moving the biases; exactly "
                                        "one of scores, generate"));
    return schema;
}

static json_t *alflb_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:f, s:i}}, s:{s:s, s:s, s:f, s:f, s:i, s:i}}",
                     "problem", "generate", "tokens", 4096, "experts", 16, "k", 2, "skew", 1.0,
                     "seed", 1, "params", "rule", "sign", "step", "harmonic", "u", 0.1, "tol",
                     1.0, "max_iter", 5000, "report_every", 10);
}

static int alflb_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                          sv_err *e)
{
    alflb_desc d;
    alflb_settings s;
    alflb_data data;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    if (d.form == FORM_GENERATE)
        return SV_OK;
    if ((rc = build(problem, env, &d, &data, NULL, e)) != SV_OK)
        return rc;
    rc = alflb_check_problem(&data.prob, e);
    alflb_data_free(&data);
    return rc;
}

static json_t *long_vector(const long *x, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(x[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *assignment_json(const int *assign, int T, int k)
{
    json_t *a = json_array();
    for (int t = 0; a && t < T; t++) {
        json_t *row = sv_json_from_int_vector(assign + (size_t)t * (size_t)k, k);
        if (!row || json_array_append_new(a, row) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int alflb_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                     const sv_monitor *mon, json_t **result, sv_err *e)
{
    alflb_desc d;
    alflb_settings s;
    alflb_data data;
    double *bias = NULL;
    long *load = NULL;
    int *assign = NULL, rc;
    *result = NULL;
    memset(&data, 0, sizeof data);
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    int want_assign = (double)d.tokens * d.k <= (double)MAX_ASSIGN_OUT;
    bias = malloc((size_t)d.experts * sizeof *bias);
    load = malloc((size_t)d.experts * sizeof *load);
    if (want_assign)
        assign = malloc((size_t)d.tokens * (size_t)d.k * sizeof *assign);
    if (!bias || !load || (want_assign && !assign)) {
        rc = SV_ENOMEM;
        goto out;
    }
    if ((rc = build(problem, env, &d, &data, bias, e)) != SV_OK)
        goto out;
    alflb_info info;
    if ((rc = alflb_solve(&data.prob, &s, mon, bias, load, assign, &info, e)) != SV_OK)
        goto out;
    json_t *r = sv_codec_result_new(&info.base, info.lagrangian);
    json_t *bj = sv_json_from_vector(bias, d.experts), *lj = long_vector(load, d.experts);
    json_t *aj = want_assign ? assignment_json(assign, d.tokens, d.k) : json_null();
    if (!r || !bj || !lj || !aj) {
        json_decref(r);
        json_decref(bj);
        json_decref(lj);
        json_decref(aj);
        rc = SV_ENOMEM;
        goto out;
    }
    json_object_set_new(r, "lagrangian", sv_codec_real(info.lagrangian));
    json_object_set_new(r, "best_lagrangian", sv_codec_real(info.best_lagrangian));
    json_object_set_new(r, "score", sv_codec_real(info.score));
    json_object_set_new(r, "residual", sv_codec_real(info.base.res));
    json_object_set_new(r, "max_load", json_integer(info.max_load));
    json_object_set_new(r, "min_load", json_integer(info.min_load));
    json_object_set_new(r, "mean_load", json_real(info.mean_load));
    json_object_set_new(r, "max_over_mean", json_real((double)info.max_load / info.mean_load));
    json_object_set_new(r, "idle_experts", json_integer(info.idle));
    json_object_set_new(r, "target_load", json_real(info.target));
    json_object_set_new(r, "overflow", json_real(info.overflow));
    json_object_set_new(r, "online", json_boolean(data.prob.stream != NULL));
    json_object_set_new(r, "batches", json_integer(info.batches));
    json_object_set_new(r, "avg_max_over_mean", sv_codec_real(info.avg_max_over_mean));
    json_object_set_new(r, "avg_residual", sv_codec_real(info.avg_residual));
    json_object_set_new(r, "tokens", json_integer(d.tokens));
    json_object_set_new(r, "experts", json_integer(d.experts));
    json_object_set_new(r, "k", json_integer(d.k));
    json_object_set_new(r, "capacity", data.prob.capacity > 0 ? json_real(data.prob.capacity)
                                                              : json_null());
    json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
    json_object_set_new(r, "bias", bj);
    json_object_set_new(r, "load", lj);
    json_object_set_new(r, "assignment", aj);
    *result = r;
out:
    free(bias);
    free(load);
    free(assign);
    alflb_data_free(&data);
    return rc;
}

const sv_codec sv_codec_alflb = {
    .name = "allocation.alflb",
    .family = "allocation",
    .summary = "auxiliary-loss-free load balancing of a mixture-of-experts router (ALF-LB): "
               "top-k routing by score + per-expert bias, one primal-dual bias step per "
               "iteration on the token-to-expert assignment problem",
    .paper = "Han & Zhong: A Theoretical Framework for Auxiliary-Loss-Free Load Balancing of "
             "Sparse Mixture-of-Experts in Large-Scale AI Models, 2025; Wang et al.: "
             "Auxiliary-Loss-Free Load Balancing Strategy for Mixture-of-Experts, 2024",
    .doc = "docs/solvers/allocation/alflb.md",
    .params = alflb_params,
    .settings_size = sizeof(alflb_settings),
    .settings_default = alflb_defaults,
    .problem_schema = alflb_problem_schema,
    .example = alflb_example,
    .validate = alflb_validate,
    .run = alflb_run,
};
