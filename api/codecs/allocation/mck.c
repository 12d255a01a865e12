/* mck.c - the allocation.mck codec: a multiple-choice knapsack given as explicit groups of
 * options, as a 0/1 knapsack (weights, values), as per-layer distortion curves under a global
 * sparsity ratio (layer-adaptive pruning), or generated from a seed; costs on a stated grid
 * (cost_unit) become the integer costs mck_solve works in, and its choice comes back as JSON.
 * No numerics beyond that unit conversion. The doc page is docs/solvers/allocation/mck.md. */
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
#include "core/solvers/allocation/mck.h"
#include "core/solvers/allocation/mck_gen.h"

typedef enum { FORM_GROUPS, FORM_WEIGHTS, FORM_CURVES, FORM_GENERATE } mck_form;

/* Costs in grid units above this are refused (they stay exact in a double and in a long). */
#define MAX_UNITS 1e15

static const char *const groups_members[] = {"groups", "budget", "cost_unit", NULL};
static const char *const weights_members[] = {"weights", "values", "budget", "cost_unit", NULL};
static const char *const curves_members[] = {"curves", "sparsity", "cost_unit", NULL};
static const char *const generate_members[] = {"generate", NULL};

#define UNIT_PROPERTY(dflt_text)                                                                \
    "\"cost_unit\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"default\": 1,"            \
    " \"description\": \"" dflt_text "\"}"

static const sv_problem_form mck_forms[] = {
    {.key = "groups", .members = groups_members,
     .summary = "explicit groups: choose one option of each, total cost <= budget",
     .properties =
         "{\"groups\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"oneOf\": ["
         "{\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"object\", \"required\":"
         " [\"cost\", \"value\"], \"additionalProperties\": false, \"properties\": {\"cost\":"
         " {\"type\": \"number\", \"minimum\": 0}, \"value\": {\"type\": \"number\"}}}},"
         " {\"type\": \"object\", \"required\": [\"cost\", \"value\"], \"additionalProperties\":"
         " false, \"properties\": {\"cost\": {\"type\": \"array\", \"items\": {\"type\":"
         " \"number\", \"minimum\": 0}}, \"value\": {\"type\": \"array\", \"items\": {\"type\":"
         " \"number\"}}}}]}, \"description\": \"each group a list of {cost, value} options or"
         " {cost: [...], value: [...]} parallel arrays\"},"
         " \"budget\": {\"type\": \"number\", \"minimum\": 0},"
         " " UNIT_PROPERTY("costs must be integer multiples of it; the budget is floored onto it")
         "}"},
    {.key = "weights", .members = weights_members,
     .summary = "a 0/1 knapsack: take or leave each item (two options per group)",
     .properties =
         "{\"weights\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"number\","
         " \"minimum\": 0}}, \"values\": {\"type\": \"array\", \"items\": {\"type\":"
         " \"number\"}, \"description\": \"as many as weights\"},"
         " \"budget\": {\"type\": \"number\", \"minimum\": 0, \"description\": \"capacity\"},"
         " " UNIT_PROPERTY("weights must be integer multiples of it") "}"},
    {.key = "curves", .members = curves_members,
     .summary = "layer-adaptive pruning: per-layer distortion at sparsity levels, a global "
                "sparsity ratio; minimises the total distortion",
     .properties =
         "{\"curves\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"object\","
         " \"required\": [\"size\", \"sparsity\", \"distortion\"], \"additionalProperties\":"
         " false, \"properties\": {\"size\": {\"type\": \"integer\", \"minimum\": 1,"
         " \"description\": \"weights in the layer\"}, \"sparsity\": {\"type\": \"array\","
         " \"items\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1}}, \"distortion\":"
         " {\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"description\": \"output"
         " distortion at each sparsity level\"}}}},"
         " \"sparsity\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1, \"description\":"
         " \"global ratio: at most (1 - sparsity) * total weights are kept\"},"
         " " UNIT_PROPERTY("an integer number of weights: kept counts are rounded up onto it")
         "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded instance with diminishing returns (core/solvers/allocation/mck_gen.h)",
     .fields = mck_gen_params, .fields_size = sizeof(mck_gen_spec)},
    SV_FORMS_END,
};

typedef struct {
    mck_form form;
    int n;
    long n_options;
    double unit;          /* cost grid */
    double budget;        /* in the input's units (groups, weights) */
    double ratio;         /* curves: the global sparsity */
    double total_weights; /* curves */
    mck_gen_spec gen;
    const json_t *key;    /* the key member */
    const json_t *values; /* weights form */
} mck_desc;

/* ---- reading ---- */

static int read_unit(const json_t *problem, int integral, mck_desc *d, sv_err *e)
{
    json_t *u;
    d->unit = 1.0;
    sv_json_optional(problem, "/problem", "cost_unit", &u, e);
    if (!u)
        return SV_OK;
    int rc = sv_json_number(u, "/problem/cost_unit", &d->unit, e);
    if (rc != SV_OK)
        return rc;
    if (!(d->unit > 0))
        return sv_fail(e, "/problem/cost_unit", "must be > 0");
    if (integral && d->unit != floor(d->unit))
        return sv_fail(e, "/problem/cost_unit", "must be an integer number of weights here");
    return SV_OK;
}

/* x / unit as an integer number of grid units (a relative 1e-9 of slack for decimal input). */
static int on_grid(double x, double unit, const char *path, long *out, sv_err *e)
{
    double k = x / unit, r = nearbyint(k);
    char a[32], b[32];
    if (!(x >= 0))
        return sv_fail(e, path, "must be >= 0");
    if (fabs(k - r) > 1e-9 * fmax(1.0, fabs(k)))
        return sv_fail(e, path, "%s is not an integer multiple of cost_unit = %s",
                       sv_json_fmt_number(a, sizeof a, x), sv_json_fmt_number(b, sizeof b, unit));
    if (r > MAX_UNITS)
        return sv_fail(e, path, "%s cost units exceed the limit of 1e15",
                       sv_json_fmt_number(a, sizeof a, r));
    *out = (long)r;
    return SV_OK;
}

static long floor_units(double x, double unit)
{
    double k = x / unit;
    k = floor(k + 1e-9 * fmax(1.0, k));
    return (long)fmin(k, MAX_UNITS);
}

static int read_budget(const json_t *problem, mck_desc *d, sv_err *e)
{
    json_t *b;
    int rc;
    if ((rc = sv_json_require(problem, "/problem", "budget", &b, e)) != SV_OK ||
        (rc = sv_json_number(b, "/problem/budget", &d->budget, e)) != SV_OK)
        return rc;
    if (d->budget < 0)
        return sv_fail(e, "/problem/budget", "must be >= 0");
    return SV_OK;
}

static long max_options(const sv_codec_env *env)
{
    return env && env->max_entries > 0 && env->max_entries < INT_MAX ? env->max_entries
                                                                      : INT_MAX;
}

/* One group: checks it (costs on the grid, values finite, parallel arrays of one length) and,
 * when out is not NULL, writes its options at out->ptr[i]. Returns the option count or < 0. */
static int read_group(const json_t *g, const char *path, const mck_desc *d, mck_data *out,
                      int i, sv_err *e)
{
    char p[128], q[160];
    int m, rc;
    long base = out ? out->ptr[i] : 0;
    if (json_is_array(g)) {
        m = (int)json_array_size(g);
        if (m < 1)
            return sv_fail(e, path, "a group needs at least one option");
        for (int j = 0; j < m; j++) {
            const json_t *o = json_array_get(g, (size_t)j);
            static const char *const keys[] = {"cost", "value", NULL};
            json_t *c, *v;
            double cv, vv;
            long k;
            sv_json_path_index(p, sizeof p, path, j);
            if ((rc = sv_json_object(o, p, e)) != SV_OK ||
                (rc = sv_json_no_unknown(o, p, keys, e)) != SV_OK ||
                (rc = sv_json_require(o, p, "cost", &c, e)) != SV_OK ||
                (rc = sv_json_require(o, p, "value", &v, e)) != SV_OK)
                return rc;
            snprintf(q, sizeof q, "%s/cost", p);
            if ((rc = sv_json_number(c, q, &cv, e)) != SV_OK ||
                (rc = on_grid(cv, d->unit, q, &k, e)) != SV_OK)
                return rc;
            snprintf(q, sizeof q, "%s/value", p);
            if ((rc = sv_json_number(v, q, &vv, e)) != SV_OK)
                return rc;
            if (out) {
                out->cost[base + j] = k;
                out->value[base + j] = vv;
            }
        }
        return m;
    }
    static const char *const keys[] = {"cost", "value", NULL};
    json_t *c, *v;
    if ((rc = sv_json_object(g, path, e)) != SV_OK ||
        (rc = sv_json_no_unknown(g, path, keys, e)) != SV_OK ||
        (rc = sv_json_require(g, path, "cost", &c, e)) != SV_OK ||
        (rc = sv_json_require(g, path, "value", &v, e)) != SV_OK)
        return rc;
    snprintf(p, sizeof p, "%s/cost", path);
    if (!json_is_array(c) || json_array_size(c) < 1)
        return sv_fail(e, p, "expected a non-empty array of numbers, got %s", sv_json_kind(c));
    m = (int)json_array_size(c);
    snprintf(q, sizeof q, "%s/value", path);
    if (!json_is_array(v) || (int)json_array_size(v) != m)
        return sv_fail(e, q, "expected an array of %d numbers (as many as cost), got %s", m,
                       json_is_array(v) ? "another length" : sv_json_kind(v));
    for (int j = 0; j < m; j++) {
        char r[192];
        double cv, vv;
        long k;
        sv_json_path_index(r, sizeof r, p, j);
        if ((rc = sv_json_number(json_array_get(c, (size_t)j), r, &cv, e)) != SV_OK ||
            (rc = on_grid(cv, d->unit, r, &k, e)) != SV_OK)
            return rc;
        sv_json_path_index(r, sizeof r, q, j);
        if ((rc = sv_json_number(json_array_get(v, (size_t)j), r, &vv, e)) != SV_OK)
            return rc;
        if (out) {
            out->cost[base + j] = k;
            out->value[base + j] = vv;
        }
    }
    return m;
}

static int read_groups(const json_t *problem, const sv_codec_env *env, mck_desc *d,
                       mck_data *out, sv_err *e)
{
    const json_t *gs = d->key;
    char path[64];
    if (!json_is_array(gs) || json_array_size(gs) < 1)
        return sv_fail(e, "/problem/groups", "expected a non-empty array of groups, got %s",
                       sv_json_kind(gs));
    if ((long)json_array_size(gs) > max_options(env))
        return sv_fail(e, "/problem/groups", "%zu groups exceed the limit of %ld",
                       json_array_size(gs), max_options(env));
    d->n = (int)json_array_size(gs);
    d->n_options = 0;
    for (int i = 0; i < d->n; i++) {
        sv_json_path_index(path, sizeof path, "/problem/groups", i);
        int m = read_group(json_array_get(gs, (size_t)i), path, d, out, i, e);
        if (m < 0)
            return m;
        if (m > MCK_MAX_OPTIONS)
            return sv_fail(e, path, "%d options, the limit is %d", m, MCK_MAX_OPTIONS);
        d->n_options += m;
        if (d->n_options > max_options(env))
            return sv_fail(e, "/problem/groups", "more than %ld options in all",
                           max_options(env));
        if (out)
            out->ptr[i + 1] = out->ptr[i] + m;
    }
    return SV_OK;
}

static int read_weights(const json_t *problem, const sv_codec_env *env, mck_desc *d,
                        mck_data *out, sv_err *e)
{
    json_t *vals;
    int n, rc;
    char p[64];
    if ((rc = sv_json_vector(d->key, "/problem/weights", -1, env, NULL, &n, e)) != SV_OK ||
        (rc = sv_json_require(problem, "/problem", "values", &vals, e)) != SV_OK ||
        (rc = sv_json_vector(vals, "/problem/values", n, env, NULL, NULL, e)) != SV_OK)
        return rc;
    if (2L * n > max_options(env))
        return sv_fail(e, "/problem/weights", "%d items exceed the limit", n);
    d->n = n;
    d->n_options = 2L * n;
    for (int i = 0; i < n; i++) {
        long k;
        sv_json_path_index(p, sizeof p, "/problem/weights", i);
        if ((rc = on_grid(json_number_value(json_array_get(d->key, (size_t)i)), d->unit, p, &k,
                          e)) != SV_OK)
            return rc;
        if (out) {  /* option 0: leave (cost 0, value 0); option 1: take */
            out->ptr[i + 1] = 2 * (i + 1);
            out->cost[2 * i] = 0;
            out->value[2 * i] = 0;
            out->cost[2 * i + 1] = k;
            out->value[2 * i + 1] = json_number_value(json_array_get(vals, (size_t)i));
        }
    }
    return SV_OK;
}

/* Kept weights of a layer of `size` at sparsity s: size - round(s size). */
static double kept_weights(double size, double s)
{
    return size - nearbyint(s * size);
}

static int read_curves(const json_t *problem, const sv_codec_env *env, mck_desc *d,
                       mck_data *out, sv_err *e)
{
    const json_t *cs = d->key;
    char path[64], p[96], q[128];
    json_t *r;
    int rc;
    if (!json_is_array(cs) || json_array_size(cs) < 1)
        return sv_fail(e, "/problem/curves", "expected a non-empty array of layers, got %s",
                       sv_json_kind(cs));
    if ((rc = sv_json_require(problem, "/problem", "sparsity", &r, e)) != SV_OK ||
        (rc = sv_json_number(r, "/problem/sparsity", &d->ratio, e)) != SV_OK)
        return rc;
    if (!(d->ratio >= 0 && d->ratio <= 1))
        return sv_fail(e, "/problem/sparsity", "must be in [0, 1]");
    if ((long)json_array_size(cs) > max_options(env))
        return sv_fail(e, "/problem/curves", "too many layers");
    d->n = (int)json_array_size(cs);
    d->n_options = 0;
    d->total_weights = 0;
    for (int i = 0; i < d->n; i++) {
        static const char *const keys[] = {"size", "sparsity", "distortion", NULL};
        const json_t *L = json_array_get(cs, (size_t)i);
        json_t *sz, *sp, *dist;
        long size;
        int m;
        sv_json_path_index(path, sizeof path, "/problem/curves", i);
        if ((rc = sv_json_object(L, path, e)) != SV_OK ||
            (rc = sv_json_no_unknown(L, path, keys, e)) != SV_OK ||
            (rc = sv_json_require(L, path, "size", &sz, e)) != SV_OK ||
            (rc = sv_json_require(L, path, "sparsity", &sp, e)) != SV_OK ||
            (rc = sv_json_require(L, path, "distortion", &dist, e)) != SV_OK)
            return rc;
        snprintf(p, sizeof p, "%s/size", path);
        if ((rc = sv_json_int(sz, p, 1, (long)MAX_UNITS, &size, e)) != SV_OK)
            return rc;
        snprintf(p, sizeof p, "%s/sparsity", path);
        if ((rc = sv_json_vector(sp, p, -1, env, NULL, &m, e)) != SV_OK)
            return rc;
        if (m > MCK_MAX_OPTIONS)
            return sv_fail(e, p, "%d levels, the limit is %d", m, MCK_MAX_OPTIONS);
        snprintf(q, sizeof q, "%s/distortion", path);
        if ((rc = sv_json_vector(dist, q, m, env, NULL, NULL, e)) != SV_OK)
            return rc;
        for (int j = 0; j < m; j++) {
            double s = json_number_value(json_array_get(sp, (size_t)j));
            char r2[128];
            if (!(s >= 0 && s <= 1))
                return sv_fail(e, sv_json_path_index(r2, sizeof r2, p, j), "must be in [0, 1]");
            if (out) {
                long at = out->ptr[i] + j;
                out->cost[at] = (long)ceil(kept_weights((double)size, s) / d->unit);
                out->value[at] = -json_number_value(json_array_get(dist, (size_t)j));
            }
        }
        d->n_options += m;
        d->total_weights += (double)size;
        if (d->n_options > max_options(env) || d->total_weights > MAX_UNITS)
            return sv_fail(e, "/problem/curves", "too many levels or weights in all");
        if (out)
            out->ptr[i + 1] = out->ptr[i] + m;
    }
    d->budget = floor((1.0 - d->ratio) * d->total_weights + 1e-9 * d->total_weights);
    return SV_OK;
}

static int read_problem(const json_t *problem, const sv_codec_env *env, mck_desc *d,
                        mck_data *out, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(mck_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (mck_form)form;
    d->key = json_object_get(problem, mck_forms[form].key);
    switch (d->form) {
    case FORM_GROUPS:
        if ((rc = read_unit(problem, 0, d, e)) != SV_OK ||
            (rc = read_budget(problem, d, e)) != SV_OK)
            return rc;
        return read_groups(problem, env, d, out, e);
    case FORM_WEIGHTS:
        if ((rc = read_unit(problem, 0, d, e)) != SV_OK ||
            (rc = read_budget(problem, d, e)) != SV_OK)
            return rc;
        return read_weights(problem, env, d, out, e);
    case FORM_CURVES:
        if ((rc = read_unit(problem, 1, d, e)) != SV_OK)
            return rc;
        return read_curves(problem, env, d, out, e);
    case FORM_GENERATE:
        sv_params_defaults(mck_gen_params, &d->gen);
        if ((rc = sv_forms_decode_key(&mck_forms[FORM_GENERATE], problem, &d->gen, e)) != SV_OK ||
            (rc = mck_gen_check(&d->gen, e)) != SV_OK)
            return rc;
        if ((double)d->gen.groups * d->gen.options > (double)max_options(env))
            return sv_fail(e, "/problem/generate", "groups * options = %.0f exceeds the limit "
                           "of %ld options", (double)d->gen.groups * d->gen.options,
                           max_options(env));
        d->n = d->gen.groups;
        d->unit = 1.0;
        return SV_OK;
    }
    return SV_EINTERNAL;
}

/* The instance in grid units (reads the problem a second time, into the arrays). */
static int build(const json_t *problem, const sv_codec_env *env, mck_desc *d, mck_data *out,
                 sv_err *e)
{
    if (d->form == FORM_GENERATE)
        return mck_generate(&d->gen, out, e);
    int rc = mck_data_alloc(out, d->n, d->n_options);
    if (rc != SV_OK)
        return rc;
    mck_desc again;
    if ((rc = read_problem(problem, env, &again, out, e)) != SV_OK) {
        mck_data_free(out);
        return rc;
    }
    out->prob.budget = floor_units(d->budget, d->unit);
    return SV_OK;
}

static int read_settings(const json_t *params, mck_settings *s, sv_err *e)
{
    mck_settings_default(s);
    int rc = sv_params_decode(mck_params, params, s, e);
    return rc != SV_OK ? rc : mck_check_settings(s, e);
}

/* The core's budget errors, at the member that sets the budget in this form. */
static void budget_path(const mck_desc *d, sv_err *e)
{
    if (!e || strcmp(e->field, "/problem/budget") != 0)
        return;
    if (d->form == FORM_CURVES)
        snprintf(e->field, sizeof e->field, "/problem/cost_unit");
    else if (d->form == FORM_GENERATE)
        snprintf(e->field, sizeof e->field, "/problem/generate");
}

/* ---- the codec ---- */

static void mck_defaults(void *s)
{
    mck_settings_default(s);
}

static json_t *mck_problem_schema(void)
{
    json_t *schema = sv_forms_schema(mck_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("choose one option (cost, value) of each group so that "
                                        "the total value is largest with total cost <= budget; "
                                        "exactly one of groups, weights, curves, generate"));
    return schema;
}

static json_t *mck_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:f, s:i}}, s:{s:i}}", "problem", "generate",
                     "groups", 100, "options", 16, "max_cost", 1000, "budget_fraction", 0.4,
                     "seed", 1, "params", "report_every", 2);
}

static int mck_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        sv_err *e)
{
    mck_desc d;
    mck_settings s;
    mck_data data;
    int rc;
    if ((rc = read_problem(problem, env, &d, NULL, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    if (d.form == FORM_GENERATE) {
        /* Without generating: the budget is at most budget_fraction groups max_cost. */
        double bp = floor(d.gen.budget_fraction * d.gen.groups * (double)d.gen.max_cost);
        if (bp > (double)s.max_budget || d.gen.groups * (bp + 1) > (double)s.max_cells)
            return sv_fail(e, "/problem/generate", "a budget of up to %.0f units over %d groups "
                           "exceeds max_budget = %ld or max_cells = %ld", bp, d.gen.groups,
                           s.max_budget, s.max_cells);
        return SV_OK;
    }
    if ((rc = build(problem, env, &d, &data, e)) != SV_OK)
        return rc;
    rc = mck_check_problem(&data.prob, &s, e);
    budget_path(&d, e);
    mck_data_free(&data);
    return rc;
}

static json_t *scaled_or_null(long k, double unit, int ok)
{
    return ok ? json_real((double)k * unit) : json_null();
}

static int mck_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                   const sv_monitor *mon, json_t **result, sv_err *e)
{
    mck_desc d;
    mck_settings s;
    mck_data data;
    int *choice = NULL, rc;
    *result = NULL;
    memset(&data, 0, sizeof data);
    if ((rc = read_problem(problem, env, &d, NULL, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = build(problem, env, &d, &data, e)) != SV_OK)
        return rc;
    if (!(choice = calloc((size_t)d.n, sizeof *choice))) {
        mck_data_free(&data);
        return SV_ENOMEM;
    }
    mck_info info;
    rc = mck_solve(&data.prob, &s, mon, choice, &info, e);
    budget_path(&d, e);
    if (rc == SV_OK) {
        int solved = info.base.status == SV_SOLVED;
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *ch = solved ? sv_json_from_int_vector(choice, d.n) : json_null();
        if (!r || !ch) {
            json_decref(r);
            json_decref(ch);
            rc = SV_ENOMEM;
        } else {
            const mck_problem *p = &data.prob;
            json_object_set_new(r, "total_value", sv_codec_real(info.value));
            json_object_set_new(r, "total_cost", scaled_or_null(info.cost, d.unit, solved));
            json_object_set_new(r, "budget", json_real((double)p->budget * d.unit));
            json_object_set_new(r, "min_cost", json_real((double)info.min_cost * d.unit));
            json_object_set_new(r, "cost_unit", json_real(d.unit));
            json_object_set_new(r, "budget_cells",
                                info.base.status == SV_INFEASIBLE
                                    ? json_null()
                                    : json_integer(info.budget_used + 1));
            json_object_set_new(r, "groups", json_integer(d.n));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "choice", ch);
            if (d.form == FORM_CURVES) {
                json_t *sp = json_array();
                double kept = 0;
                for (int i = 0; solved && i < d.n; i++) {
                    const json_t *L = json_array_get(d.key, (size_t)i);
                    double size = (double)json_integer_value(json_object_get(L, "size"));
                    double lvl = json_number_value(
                        json_array_get(json_object_get(L, "sparsity"), (size_t)choice[i]));
                    json_array_append_new(sp, json_real(lvl));
                    kept += kept_weights(size, lvl);
                }
                json_object_set_new(r, "distortion", sv_codec_real(-info.value));
                json_object_set_new(r, "sparsity", solved ? sp : json_null());
                if (!solved)
                    json_decref(sp);
                json_object_set_new(r, "kept_weights", solved ? json_real(kept) : json_null());
                json_object_set_new(r, "global_sparsity",
                                    solved ? json_real(1.0 - kept / d.total_weights)
                                           : json_null());
            }
            *result = r;
        }
    }
    free(choice);
    mck_data_free(&data);
    return rc;
}

const sv_codec sv_codec_mck = {
    .name = "allocation.mck",
    .family = "allocation",
    .summary = "budgeted allocation as a multiple-choice knapsack, solved exactly by dynamic "
               "programming over the budget: one option per group (task, layer), total cost "
               "<= budget, largest total value",
    .paper = "Li et al.: Knapsack RL: Unlocking Exploration of LLMs via Optimizing Budget "
             "Allocation, 2025; Xu et al.: Efficient Joint Optimization of Layer-Adaptive Weight "
             "Pruning in Deep Neural Networks, ICCV 2023",
    .doc = "docs/solvers/allocation/mck.md",
    .params = mck_params,
    .settings_size = sizeof(mck_settings),
    .settings_default = mck_defaults,
    .problem_schema = mck_problem_schema,
    .example = mck_example,
    .validate = mck_validate,
    .run = mck_run,
};
