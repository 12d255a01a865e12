/* robust_iwocs.c - the mdp.robust_iwocs codec: a tabular MDP (api/mdp_json.h, explicit or
 * generated) and its uncertainty set, "models": further transition tensors, or an object
 * {count, radius, seed} of seeded perturbations of the nominal transitions
 * (core/solvers/mdp/robust_iwocs_gen.h); params into robust_iwocs_solve and its outcome back
 * into JSON. The doc page is docs/solvers/mdp/robust_iwocs.md. */
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/mdp_json.h"
#include "api/params.h"
#include "core/solvers/mdp/robust_iwocs.h"
#include "core/solvers/mdp/robust_iwocs_gen.h"

#define MODELS_PROPERTY                                                                        \
    "\"models\": {\"description\": \"the uncertainty set besides the nominal transitions: an"  \
    " array of further transition tensors (each shaped like transitions), or {count, radius,"  \
    " seed}: count models mixing every nominal row toward a random distribution by radius\","  \
    " \"oneOf\": [{\"type\": \"array\", \"items\": {\"type\": \"array\"}}, {\"type\":"         \
    " \"object\", \"additionalProperties\": false, \"properties\": {\"count\": {\"type\":"     \
    " \"integer\", \"minimum\": 1, \"maximum\": 10000, \"default\": 8}, \"radius\": {\"type\":" \
    " \"number\", \"minimum\": 0, \"maximum\": 1, \"default\": 0.3}, \"seed\": {\"type\":"     \
    " \"integer\", \"minimum\": 0, \"default\": 0}}}]}"

static const char *const explicit_members[] = {SV_MDP_JSON_EXPLICIT_MEMBERS, "models", NULL};
static const char *const generate_members[] = {SV_MDP_JSON_GENERATE_MEMBERS, "models", NULL};

static const sv_problem_form iwocs_forms[] = {
    {.key = "transitions", .members = explicit_members,
     .summary = "an explicit tabular MDP (the nominal model) and its uncertainty set",
     .properties = "{" SV_MDP_JSON_EXPLICIT_PROPERTIES ", " MODELS_PROPERTY "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded random MDP, gridworld or inventory model (core/models/mdp.h) and its "
                "uncertainty set",
     .fields = sv_mdp_gen_params, .fields_size = sizeof(sv_mdp_gen_spec),
     .properties = "{" SV_MDP_JSON_COMMON_PROPERTIES ", " MODELS_PROPERTY "}"},
    SV_FORMS_END,
};

typedef struct {
    sv_mdp_desc mdp;
    int n_extra;
    const json_t *list;            /* models as an array, or NULL */
    robust_iwocs_models_spec gen;  /* models as an object (n_extra = gen.count) */
} iwocs_desc;

static int read_settings(const json_t *params, robust_iwocs_settings *s, sv_err *e)
{
    robust_iwocs_settings_default(s);
    int rc = sv_params_decode(robust_iwocs_params, params, s, e);
    return rc != SV_OK ? rc : robust_iwocs_check_settings(s, e);
}

static int read_problem(const json_t *problem, const sv_codec_env *env, iwocs_desc *d, sv_err *e)
{
    int form, rc;
    memset(d, 0, sizeof *d);
    if ((rc = sv_forms_pick(iwocs_forms, problem, &form, e)) != SV_OK ||
        (rc = sv_mdp_json_read(problem, (sv_mdp_json_form)form, SV_MDP_EITHER, env, &d->mdp,
                               e)) != SV_OK)
        return rc;
    json_t *v;
    sv_json_optional(problem, "/problem", "models", &v, e);
    if (!v)
        return SV_OK;
    int S = d->mdp.S, A = d->mdp.A;
    if (json_is_array(v)) {
        d->list = v;
        if (json_array_size(v) > ROBUST_IWOCS_MAX_MODELS)
            return sv_fail(e, "/problem/models", "at most %d models", ROBUST_IWOCS_MAX_MODELS);
        d->n_extra = (int)json_array_size(v);
    } else if (json_is_object(v)) {
        sv_params_defaults(robust_iwocs_models_params, &d->gen);
        if ((rc = sv_params_decode_at(robust_iwocs_models_params, v, "/problem/models", &d->gen,
                                      e)) != SV_OK)
            return rc;
        d->n_extra = d->gen.count;
    } else {
        return sv_fail(e, "/problem/models", "expected an array of transition tensors or "
                       "{count, radius, seed}, got %s", sv_json_kind(v));
    }
    double entries = (double)(d->n_extra + 1) * S * A * S;
    long max_entries = env && env->max_entries > 0 ? env->max_entries : 0;
    if (entries > SV_MDP_MAX_ENTRIES || (max_entries > 0 && entries > (double)max_entries))
        return sv_fail(e, "/problem/models", "%d models of %d states x %d actions make %.0f "
                       "transition entries, more than the limit", d->n_extra + 1, S, A, entries);
    if (d->list) {
        char path[64];
        for (int i = 0; i < d->n_extra; i++) {
            sv_json_path_index(path, sizeof path, "/problem/models", i);
            if ((rc = sv_mdp_json_transitions(json_array_get(v, (size_t)i), path, S, A, NULL,
                                              e)) != SV_OK)
                return rc;
        }
    }
    return SV_OK;
}

/* The models besides the nominal one into *extra (n_extra * S * A * S). */
static int build_extra(const iwocs_desc *d, const sv_mdp *m, double **extra, sv_err *e)
{
    long tensor = (long)m->S * m->A * m->S;
    *extra = NULL;
    if (d->n_extra == 0)
        return SV_OK;
    if (!(*extra = calloc((size_t)d->n_extra * (size_t)tensor, sizeof **extra)))
        return SV_ENOMEM;
    if (!d->list) {
        robust_iwocs_perturb(m, &d->gen, *extra);
        return SV_OK;
    }
    char path[64];
    for (int i = 0; i < d->n_extra; i++) {
        sv_json_path_index(path, sizeof path, "/problem/models", i);
        int rc = sv_mdp_json_transitions(json_array_get(d->list, (size_t)i), path, m->S, m->A,
                                         *extra + (long)i * tensor, e);
        if (rc != SV_OK) {
            free(*extra);
            *extra = NULL;
            return rc;
        }
    }
    return SV_OK;
}

/* ---- the codec ---- */

static void iwocs_defaults(void *s)
{
    robust_iwocs_settings_default(s);
}

static json_t *iwocs_problem_schema(void)
{
    return sv_forms_schema(iwocs_forms);
}

static json_t *iwocs_example(void)
{
    return json_pack("{s:{s:{s:s, s:i, s:i, s:i, s:i}, s:f, s:{s:i, s:f, s:i}},"
                     " s:{s:s, s:f, s:i}}",
                     "problem", "generate", "kind", "random", "states", 60, "actions", 4,
                     "branching", 3, "seed", 1, "gamma", 0.95, "models", "count", 40, "radius",
                     0.3, "seed", 3, "params", "method", "iwocs", "vi_tol", 1e-6,
                     "report_every", 1);
}

static int iwocs_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                          sv_err *e)
{
    iwocs_desc d;
    robust_iwocs_settings s;
    int rc = read_problem(problem, env, &d, e);
    return rc != SV_OK ? rc : read_settings(params, &s, e);
}

static json_t *iter_log(const robust_iwocs_iter *it, int n)
{
    json_t *a = json_array();
    for (int k = 0; a && k < n; k++)
        json_array_append_new(a, json_pack("{s:i, s:o, s:o, s:o, s:i, s:i}", "iteration", k,
                                           "worst_case", sv_codec_real(it[k].worst_all),
                                           "worst_found", sv_codec_real(it[k].worst_found),
                                           "bound", sv_codec_real(it[k].bound), "found",
                                           it[k].found, "worst_model", it[k].worst_model));
    return a;
}

static json_t *policy_json(const int *pol, int H, int S)
{
    if (H == 0)
        return sv_json_from_int_vector(pol, S);
    json_t *a = json_array();
    for (int h = 0; a && h < H; h++)
        json_array_append_new(a, sv_json_from_int_vector(pol + (long)h * S, S));
    return a;
}

static int iwocs_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                     const sv_monitor *mon, json_t **result, sv_err *e)
{
    iwocs_desc d;
    robust_iwocs_settings s;
    sv_mdp m;
    double *extra = NULL, *values = NULL;
    int *policy = NULL, *found = NULL;
    robust_iwocs_iter *iters = NULL;
    int rc;
    memset(&m, 0, sizeof m);
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = sv_mdp_json_build(&d.mdp, &m, e)) != SV_OK)
        return rc;
    int n = d.n_extra + 1, steps = m.H > 0 ? m.H : 1;
    rc = build_extra(&d, &m, &extra, e);
    if (rc == SV_OK) {
        policy = malloc((size_t)steps * m.S * sizeof *policy);
        values = malloc((size_t)n * sizeof *values);
        found = malloc((size_t)n * sizeof *found);
        iters = malloc((size_t)n * sizeof *iters);
        if (!policy || !values || !found || !iters)
            rc = SV_ENOMEM;
    }
    robust_iwocs_info info;
    if (rc == SV_OK) {
        robust_iwocs_problem p = {&m, d.n_extra, extra};
        robust_iwocs_out out = {policy, values, found, iters, n};
        rc = robust_iwocs_solve(&p, &s, mon, &out, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *pol = policy_json(policy, m.H, m.S);
        json_t *vals = sv_json_from_vector(values, n);
        json_t *fw = sv_json_from_int_vector(found, info.found);
        json_t *log = iter_log(iters, info.iterations < n ? info.iterations : n);
        json_t *sum = sv_mdp_json_summary(&m);
        if (!r || !pol || !vals || !fw || !log || !sum) {
            json_decref(r);
            json_decref(pol);
            json_decref(vals);
            json_decref(fw);
            json_decref(log);
            json_decref(sum);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "method", json_string(s.method == ROBUST_IWOCS_IWOCS
                                                             ? "iwocs" : "robust_vi"));
            json_object_set_new(r, "worst_case_value", sv_codec_real(info.worst_case));
            json_object_set_new(r, "worst_model", json_integer(info.worst_model));
            json_object_set_new(r, "robust_vi_value", sv_codec_real(info.robust_vi_value));
            json_object_set_new(r, "static_dynamic_gap", sv_codec_real(info.gap));
            json_object_set_new(r, "nominal_policy_worst", sv_codec_real(info.nominal_worst));
            json_object_set_new(r, "iwocs_iterations", json_integer(info.iterations));
            json_object_set_new(r, "best_iteration", json_integer(info.best_iteration));
            json_object_set_new(r, "models", json_integer(n));
            json_object_set_new(r, "found", fw);
            json_object_set_new(r, "history", log);
            json_object_set_new(r, "values", vals);
            json_object_set_new(r, "policy", pol);
            json_object_set_new(r, "mdp", sum);
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            *result = r;
        }
    }
    sv_mdp_free(&m);
    free(extra);
    free(values);
    free(policy);
    free(found);
    free(iters);
    return rc;
}

const sv_codec sv_codec_robust_iwocs = {
    .name = "mdp.robust_iwocs",
    .family = "mdp",
    .summary = "IWOCS: robust tabular MDPs over a finite set of transition models, solved as a "
               "sequence of plain MDPs on the incrementally found worst-case models (or robust "
               "value iteration on the rectangular set, for comparison)",
    .paper = "Zouitine, Geist, Rachelson: Solving robust MDPs as a sequence of static RL "
             "problems, 2024 (arXiv 2410.06212)",
    .doc = "docs/solvers/mdp/robust_iwocs.md",
    .params = robust_iwocs_params,
    .settings_size = sizeof(robust_iwocs_settings),
    .settings_default = iwocs_defaults,
    .problem_schema = iwocs_problem_schema,
    .example = iwocs_example,
    .validate = iwocs_validate,
    .run = iwocs_run,
};
