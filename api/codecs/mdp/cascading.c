/* cascading.c - the mdp.cascading codec: an explicit cascading MDP (attraction, reward,
 * transition, no_click, initial) or a generated one, params into cascading_solve, and the
 * optimal values, lists and (learn) regret back into JSON. No numerics. The doc page is
 * docs/solvers/mdp/cascading.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/mdp/cascading.h"
#include "core/solvers/mdp/cascading_gen.h"

typedef enum { FORM_EXPLICIT, FORM_GENERATE } cascading_form;

static const char *const explicit_members[] = {"attraction", "reward", "transition", "no_click",
                                               "initial", "horizon", "list_size", "states",
                                               "items", NULL};
static const char *const generate_members[] = {"generate", NULL};

#define MATRIX_SCHEMA(desc)                                                                      \
    "{\"type\": \"array\", \"items\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}},"  \
    " \"description\": \"" desc "\"}"

static const sv_problem_form cascading_forms[] = {
    {.key = "attraction", .members = explicit_members,
     .summary = "an explicit cascading MDP: S states, N items, horizon H, lists of at most m",
     .properties =
         "{\"attraction\": " MATRIX_SCHEMA("q[s][a] in [0, 1]: S rows of N") ","
         " \"reward\": " MATRIX_SCHEMA("r[s][a] in [0, 1] of a click on a in s: S x N") ","
         " \"transition\": {\"type\": \"array\", \"items\": " MATRIX_SCHEMA("N rows of S") ","
         " \"description\": \"P[s][a][s']: S matrices N x S, each row a distribution\"},"
         " \"no_click\": " MATRIX_SCHEMA("P0[s][s']: S x S, each row a distribution") ","
         " \"initial\": {\"type\": \"array\", \"items\": {\"type\": \"number\", \"minimum\": 0},"
         " \"description\": \"the initial-state distribution (S); default uniform\"},"
         " \"horizon\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"H\"},"
         " \"list_size\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"m <= N\"},"
         " \"states\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"S (optional; "
         "must agree with attraction)\"},"
         " \"items\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"N (optional; "
         "must agree with attraction)\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded random cascading MDP (core/solvers/mdp/cascading_gen.h)",
     .fields = cascading_gen_params, .fields_size = sizeof(cascading_gen_spec)},
    SV_FORMS_END,
};

typedef struct {
    cascading_form form;
    cascading_arrays a;
    cascading_gen_spec gen;
} cascading_data;

/* rows x cols of a matrix given as nested arrays or {"rows", "cols", "data"}; -1 when unknown
 * (the matrix reader then says what is wrong). */
static void matrix_shape(const json_t *v, long *rows, long *cols)
{
    *rows = *cols = -1;
    if (json_is_array(v)) {
        *rows = (long)json_array_size(v);
        const json_t *r0 = json_array_get(v, 0);
        if (json_is_array(r0))
            *cols = (long)json_array_size(r0);
    } else if (json_is_object(v)) {
        const json_t *r = json_object_get(v, "rows"), *c = json_object_get(v, "cols");
        if (json_is_integer(r))
            *rows = (long)json_integer_value(r);
        if (json_is_integer(c))
            *cols = (long)json_integer_value(c);
    }
}

/* A rows x cols matrix at path into out (row-major). */
static int read_matrix(const json_t *v, const char *path, long rows, long cols,
                       const sv_codec_env *env, double *out, sv_err *e)
{
    sv_mat m;
    memset(&m, 0, sizeof m);
    int rc = sv_json_matrix(v, path, rows, cols, env, &m, e);
    if (rc != SV_OK)
        return rc;
    for (int i = 0; i < m.rows; i++)
        for (int j = 0; j < m.cols; j++)
            out[(size_t)i * m.cols + j] = sv_mat_get(&m, i, j);
    sv_mat_free(&m);
    return SV_OK;
}

static int read_int(const json_t *problem, const char *key, long lo, long hi, int required,
                    long *out, sv_err *e)
{
    char path[64];
    json_t *v;
    snprintf(path, sizeof path, "/problem/%s", key);
    if (required) {
        int rc = sv_json_require(problem, "/problem", key, &v, e);
        if (rc != SV_OK)
            return rc;
    } else {
        sv_json_optional(problem, "/problem", key, &v, e);
        if (!v)
            return SV_OK;
    }
    return sv_json_int(v, path, lo, hi, out, e);
}

static int read_explicit(const json_t *problem, const sv_codec_env *env, cascading_data *d,
                         sv_err *e)
{
    const json_t *qj = json_object_get(problem, "attraction");
    long S, N, H = 0, m = 0, Sg = -1, Ng = -1;
    matrix_shape(qj, &S, &N);
    int rc;
    if ((rc = read_int(problem, "states", 1, CASCADING_MAX_STATES, 0, &Sg, e)) != SV_OK ||
        (rc = read_int(problem, "items", 1, CASCADING_MAX_ITEMS, 0, &Ng, e)) != SV_OK)
        return rc;
    if (S < 1 || N < 1)  /* not a matrix: the reader names the fault */
        return sv_json_matrix(qj, "/problem/attraction", -1, -1, env, NULL, e) != SV_OK
                   ? SV_EINVAL
                   : sv_fail(e, "/problem/attraction", "expected S rows of N numbers");
    if (Sg > 0 && Sg != S)
        return sv_fail(e, "/problem/states", "is %ld, but attraction has %ld rows", Sg, S);
    if (Ng > 0 && Ng != N)
        return sv_fail(e, "/problem/items", "is %ld, but attraction has %ld columns", Ng, N);
    if (S > CASCADING_MAX_STATES)
        return sv_fail(e, "/problem/attraction", "%ld states exceed the limit of %d", S,
                       CASCADING_MAX_STATES);
    if (N > CASCADING_MAX_ITEMS)
        return sv_fail(e, "/problem/attraction", "%ld items exceed the limit of %d", N,
                       CASCADING_MAX_ITEMS);
    if ((rc = read_int(problem, "horizon", 1, CASCADING_MAX_HORIZON, 1, &H, e)) != SV_OK ||
        (rc = read_int(problem, "list_size", 1, N, 1, &m, e)) != SV_OK)
        return rc;
    if ((double)S * N * S > CASCADING_MAX_TRANSITIONS)
        return sv_fail(e, "/problem/transition", "states^2 items = %.0f exceeds the limit of %.0f",
                       (double)S * N * S, CASCADING_MAX_TRANSITIONS);
    if ((double)H * S * m > CASCADING_MAX_POLICY)
        return sv_fail(e, "/problem/horizon", "horizon states list_size = %.0f exceeds the "
                       "limit of %.0f", (double)H * S * m, CASCADING_MAX_POLICY);
    if (env && env->max_entries > 0 && (double)S * N * S > (double)env->max_entries)
        return sv_fail(e, "/problem/transition", "%.0f entries exceed the limit of %ld",
                       (double)S * N * S, env->max_entries);
    const json_t *Pj = json_object_get(problem, "transition");
    json_t *P0j, *rj, *muj;
    if ((rc = sv_json_require(problem, "/problem", "reward", &rj, e)) != SV_OK ||
        (rc = sv_json_require(problem, "/problem", "transition", &P0j, e)) != SV_OK ||
        (rc = sv_json_require(problem, "/problem", "no_click", &P0j, e)) != SV_OK)
        return rc;
    if (!json_is_array(Pj) || (long)json_array_size(Pj) != S)
        return sv_fail(e, "/problem/transition", "expected an array of %ld matrices (one a "
                       "state), got %s", S, sv_json_kind(Pj));
    sv_json_optional(problem, "/problem", "initial", &muj, e);
    if ((rc = cascading_arrays_alloc(&d->a, (int)S, (int)N, (int)H, (int)m)) != SV_OK)
        return rc;
    if ((rc = read_matrix(qj, "/problem/attraction", S, N, env, d->a.q, e)) != SV_OK ||
        (rc = read_matrix(rj, "/problem/reward", S, N, env, d->a.r, e)) != SV_OK ||
        (rc = read_matrix(P0j, "/problem/no_click", S, S, env, d->a.P0, e)) != SV_OK)
        return rc;
    char path[64];
    for (long s = 0; s < S; s++)
        if ((rc = read_matrix(json_array_get(Pj, (size_t)s),
                              sv_json_path_index(path, sizeof path, "/problem/transition", s), N,
                              S, env, d->a.P + (size_t)s * N * S, e)) != SV_OK)
            return rc;
    if (muj) {
        double *mu = NULL;
        int n;
        if ((rc = sv_json_vector(muj, "/problem/initial", S, env, &mu, &n, e)) != SV_OK)
            return rc;
        memcpy(d->a.mu, mu, (size_t)S * sizeof *mu);
        free(mu);
    } else {
        for (long s = 0; s < S; s++)
            d->a.mu[s] = 1.0 / (double)S;
    }
    return cascading_check_problem(&d->a.model, e);
}

/* Reads the problem into d (data_free it whatever the outcome). */
static int read_problem(const json_t *problem, const sv_codec_env *env, cascading_data *d,
                        sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(cascading_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (cascading_form)form;
    if (d->form == FORM_EXPLICIT)
        return read_explicit(problem, env, d, e);
    sv_params_defaults(cascading_gen_params, &d->gen);
    if ((rc = sv_forms_decode_key(&cascading_forms[FORM_GENERATE], problem, &d->gen, e)) !=
            SV_OK ||
        (rc = cascading_gen_check(&d->gen, e)) != SV_OK)
        return rc;
    if (env && env->max_entries > 0 &&
        (double)d->gen.states * d->gen.items * d->gen.states > (double)env->max_entries)
        return sv_fail(e, "/problem/generate/items", "states^2 items = %.0f exceed the limit "
                       "of %ld entries", (double)d->gen.states * d->gen.items * d->gen.states,
                       env->max_entries);
    return cascading_generate(&d->gen, &d->a, e);
}

static int read_settings(const json_t *params, cascading_settings *s, sv_err *e)
{
    cascading_settings_default(s);
    int rc = sv_params_decode(cascading_params, params, s, e);
    return rc == SV_OK ? cascading_check_settings(s, e) : rc;
}

/* ---- the codec ---- */

static void cascading_defaults(void *s)
{
    cascading_settings_default(s);
}

static json_t *cascading_problem_schema(void)
{
    json_t *schema = sv_forms_schema(cascading_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("a finite-horizon cascading MDP: the agent shows an "
                                        "ordered list of at most m of N items, the user clicks "
                                        "the first attractive one; exactly one of attraction, "
                                        "generate"));
    return schema;
}

static json_t *cascading_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:i, s:i}}, s:{s:s, s:i, s:i, s:i}}", "problem",
                     "generate", "states", 4, "items", 8, "horizon", 4, "list_size", 2, "seed",
                     1, "params", "mode", "learn", "episodes", 150000, "seed", 1, "report_every",
                     5000);
}

static int cascading_validate(const json_t *problem, const json_t *params,
                              const sv_codec_env *env, sv_err *e)
{
    cascading_data d;
    cascading_settings s;
    int rc = read_problem(problem, env, &d, e);
    if (rc == SV_OK)
        rc = read_settings(params, &s, e);
    cascading_arrays_free(&d.a);
    return rc;
}

/* Most list entries the result carries in full (H S m); beyond, the first level only. */
#define POLICY_OUT_MAX 200000.0

static json_t *lists_of(const int *list, const int *len, int S, int m)
{
    json_t *a = json_array();
    for (int s = 0; a && s < S; s++)
        json_array_append_new(a, sv_json_from_int_vector(list + (size_t)s * m, len[s]));
    return a;
}

static json_t *encode(const cascading_settings *s, const cascading_problem *p,
                      const cascading_info *info, const cascading_output *o)
{
    int solved = info->base.status == SV_SOLVED, learn = s->mode == CASCADING_LEARN;
    json_t *r = sv_codec_result_new(&info->base, info->base.obj);
    if (!r)
        return NULL;
    json_object_set_new(r, "mode", json_string(learn ? "learn" : "plan"));
    json_object_set_new(r, "optimal_value", sv_codec_real(info->optimal_value));
    json_object_set_new(r, "value", solved ? sv_json_from_vector(o->value, p->S) : json_null());
    json_object_set_new(r, "lists", solved ? lists_of(o->list, o->list_len, p->S, p->m)
                                           : json_null());
    json_t *pol = json_null();
    if (solved && (double)p->H * p->S * p->m <= POLICY_OUT_MAX) {
        pol = json_array();
        for (int h = 0; pol && h < p->H; h++)
            json_array_append_new(pol, lists_of(o->list + (size_t)h * p->S * p->m,
                                                o->list_len + (size_t)h * p->S, p->S, p->m));
    }
    json_object_set_new(r, "policy", pol ? pol : json_null());
    if (learn) {
        long K = info->base.iter;
        json_object_set_new(r, "episodes", json_integer(K));
        json_object_set_new(r, "cumulative_regret", sv_codec_real(info->cumulative_regret));
        json_object_set_new(r, "average_regret",
                            K > 0 ? sv_codec_real(info->cumulative_regret / K) : json_null());
        json_object_set_new(r, "regret_exponent", sv_codec_real(info->regret_exponent));
        json_object_set_new(r, "last_policy_value", sv_codec_real(info->last_policy_value));
        json_object_set_new(r, "average_return",
                            K > 0 ? sv_codec_real(info->realized_return / K) : json_null());
        json_t *ep = json_array(), *cr = json_array();
        for (int i = 0; ep && cr && i < info->curve_n; i++) {
            json_array_append_new(ep, json_integer(info->curve_episode[i]));
            json_array_append_new(cr, sv_codec_real(info->curve_regret[i]));
        }
        json_t *curve = json_pack("{s:o, s:o}", "episode", ep ? ep : json_null(),
                                  "cumulative_regret", cr ? cr : json_null());
        json_object_set_new(r, "regret_curve", curve ? curve : json_null());
    }
    json_object_set_new(r, "states", json_integer(p->S));
    json_object_set_new(r, "items", json_integer(p->N));
    json_object_set_new(r, "horizon", json_integer(p->H));
    json_object_set_new(r, "list_size", json_integer(p->m));
    json_object_set_new(r, "bestperm_calls", json_integer(info->bestperm_calls));
    json_object_set_new(r, "solve_time_s", json_real(info->base.solve_time_s));
    return r;
}

static int cascading_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                         const sv_monitor *mon, json_t **result, sv_err *e)
{
    cascading_data d;
    cascading_settings s;
    *result = NULL;
    int rc = read_problem(problem, env, &d, e);
    if (rc == SV_OK)
        rc = read_settings(params, &s, e);
    if (rc != SV_OK) {
        cascading_arrays_free(&d.a);
        return rc;
    }
    const cascading_problem *p = &d.a.model;
    size_t HS = (size_t)p->H * p->S;
    cascading_output o;
    memset(&o, 0, sizeof o);
    o.value = malloc(HS * sizeof *o.value);
    o.list = malloc(HS * (size_t)p->m * sizeof *o.list);
    o.list_len = malloc(HS * sizeof *o.list_len);
    cascading_info info;
    if (!o.value || !o.list || !o.list_len)
        rc = SV_ENOMEM;
    if (rc == SV_OK)
        rc = cascading_solve(p, &s, mon, &o, &info, e);
    if (rc == SV_OK && !(*result = encode(&s, p, &info, &o)))
        rc = SV_ENOMEM;
    free(o.value);
    free(o.list);
    free(o.list_len);
    cascading_arrays_free(&d.a);
    return rc;
}

const sv_codec sv_codec_cascading = {
    .name = "mdp.cascading",
    .family = "mdp",
    .summary = "cascading MDPs: the best ordered item list per state by BestPerm (sort by value, "
               "DP over slots), backward induction with the known model, or CascadingVI online "
               "with optimistic bonuses and its regret",
    .paper = "Yihan Du, R. Srikant, Wei Chen: Cascading Reinforcement Learning, ICLR 2024",
    .doc = "docs/solvers/mdp/cascading.md",
    .params = cascading_params,
    .settings_size = sizeof(cascading_settings),
    .settings_default = cascading_defaults,
    .problem_schema = cascading_problem_schema,
    .example = cascading_example,
    .validate = cascading_validate,
    .run = cascading_run,
};
