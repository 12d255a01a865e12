/* ccg.c - the robust.ccg codec: a two-stage robust knapsack or capital budgeting instance
 * (explicit arrays or generated from a seed) into ccg_solve, and the bounds, the first-stage
 * decision and the worst scenarios back as JSON. The doc page is docs/solvers/robust/ccg.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/robust/ccg.h"
#include "core/solvers/robust/ccg_gen.h"

typedef enum { FORM_KNAPSACK, FORM_CAPITAL, FORM_GENERATE } ccg_form;

static const char *const knapsack_members[] = {"knapsack", NULL};
static const char *const capital_members[] = {"capital_budgeting", NULL};
static const char *const generate_members[] = {"generate", NULL};

#define NUMS "{\"type\": \"array\", \"items\": {\"type\": \"number\"}}"
static const sv_problem_form ccg_forms[] = {
    {.key = "knapsack", .members = knapsack_members,
     .summary = "two-stage robust knapsack (Arslan & Detienne): n items, xi in {0,1}^n with "
                "sum xi <= gamma",
     .properties =
         "{\"knapsack\": {\"type\": \"object\", \"additionalProperties\": false, \"required\":"
         " [\"p_bar\", \"p_hat\", \"c\", \"t\", \"f\", \"C\", \"gamma\"], \"properties\": {"
         "\"p_bar\": " NUMS ", \"p_hat\": " NUMS ", \"c\": " NUMS ", \"t\": " NUMS ", \"f\": "
         NUMS ", \"C\": {\"type\": \"number\", \"minimum\": 0}, \"gamma\": {\"type\":"
         " \"integer\", \"minimum\": 0}}}}"},
    {.key = "capital_budgeting", .members = capital_members,
     .summary = "capital budgeting (Subramanyam et al.): n projects, d risk factors, xi in "
                "{-1,1}^d",
     .properties =
         "{\"capital_budgeting\": {\"type\": \"object\", \"additionalProperties\": false,"
         " \"required\": [\"c_bar\", \"r_bar\", \"phi\", \"psi\", \"budget\"], \"properties\": {"
         "\"c_bar\": " NUMS ", \"r_bar\": " NUMS ", \"phi\": {\"type\": \"array\", \"items\": "
         NUMS ", \"description\": \"n rows of d factor loadings of the costs\"}, \"psi\":"
         " {\"type\": \"array\", \"items\": " NUMS ", \"description\": \"n rows of d loadings"
         " of the profits\"}, \"budget\": {\"type\": \"number\", \"minimum\": 0}, \"k\":"
         " {\"type\": \"number\", \"default\": 0.8}, \"loans\": {\"type\": \"boolean\","
         " \"default\": false}, \"l\": {\"type\": \"number\", \"default\": 0.12}, \"m\":"
         " {\"type\": \"number\", \"default\": 1.2}, \"max_loan\": {\"type\": \"number\","
         " \"description\": \"default: 1.5 sum c_bar - budget\"}}}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded instance of either class, drawn as Neur2RO draws them "
                "(core/solvers/robust/ccg_gen.h)",
     .fields = ccg_gen_params, .fields_size = sizeof(ccg_gen_spec)},
    SV_FORMS_END,
};

static int read_settings(const json_t *params, ccg_settings *s, sv_err *e)
{
    ccg_settings_default(s);
    int rc = sv_params_decode(ccg_params, params, s, e);
    return rc != SV_OK ? rc : ccg_check_settings(s, e);
}

/* A vector member of obj at path/key of length n (n < 0: any; its length into *n). */
static int vec(const json_t *obj, const char *path, const char *key, int *n,
               const sv_codec_env *env, double **out, sv_err *e)
{
    json_t *v;
    char p[96];
    int rc, len;
    if ((rc = sv_json_require(obj, path, key, &v, e)) != SV_OK)
        return rc;
    sv_json_path_key(p, sizeof p, path, key);
    if ((rc = sv_json_vector(v, p, *n, env, out, &len, e)) != SV_OK)
        return rc;
    *n = len;
    return SV_OK;
}

static int num(const json_t *obj, const char *path, const char *key, int required, double def,
               double *out, sv_err *e)
{
    json_t *v;
    char p[96];
    int rc = required ? sv_json_require(obj, path, key, &v, e)
                      : sv_json_optional(obj, path, key, &v, e);
    if (rc != SV_OK)
        return rc;
    *out = def;
    if (!v)
        return SV_OK;
    sv_json_path_key(p, sizeof p, path, key);
    return sv_json_number(v, p, out, e);
}

static int read_knapsack(const json_t *k, const sv_codec_env *env, ccg_data *d, sv_err *e)
{
    static const char *const keys[] = {"p_bar", "p_hat", "c", "t", "f", "C", "gamma", NULL};
    const char *path = "/problem/knapsack";
    double *v[5] = {0};
    static const char *const names[] = {"p_bar", "p_hat", "c", "t", "f"};
    int rc, n = -1;
    if ((rc = sv_json_object(k, path, e)) != SV_OK ||
        (rc = sv_json_no_unknown(k, path, keys, e)) != SV_OK)
        return rc;
    for (int i = 0; i < 5 && rc == SV_OK; i++)
        rc = vec(k, path, names[i], &n, env, &v[i], e);
    double C = 0;
    json_t *g;
    long gamma = 0;
    if (rc == SV_OK)
        rc = num(k, path, "C", 1, 0, &C, e);
    if (rc == SV_OK && (rc = sv_json_require(k, path, "gamma", &g, e)) == SV_OK)
        rc = sv_json_int(g, "/problem/knapsack/gamma", 0, n, &gamma, e);
    if (rc == SV_OK && (rc = ccg_data_alloc(d, CCG_KNAPSACK, n, 0)) == SV_OK) {
        for (int i = 0; i < 5; i++)
            memcpy(d->buf + (size_t)i * n, v[i], (size_t)n * sizeof(double));
        d->prob.C = C;
        d->prob.gamma = (int)gamma;
    }
    for (int i = 0; i < 5; i++)
        free(v[i]);
    return rc;
}

/* n rows of d numbers at path/key into out (n x d). */
static int rows(const json_t *obj, const char *path, const char *key, int n, int *d,
                const sv_codec_env *env, double *out, sv_err *e)
{
    json_t *v;
    char p[96], q[112];
    int rc;
    if ((rc = sv_json_require(obj, path, key, &v, e)) != SV_OK)
        return rc;
    sv_json_path_key(p, sizeof p, path, key);
    if (!json_is_array(v) || (int)json_array_size(v) != n)
        return sv_fail(e, p, "expected an array of %d rows (one a project), got %s", n,
                       json_is_array(v) ? "another length" : sv_json_kind(v));
    for (int i = 0; i < n; i++) {
        double *row = NULL;
        int len;
        sv_json_path_index(q, sizeof q, p, i);
        if ((rc = sv_json_vector(json_array_get(v, (size_t)i), q, *d, env, &row, &len, e)) !=
            SV_OK)
            return rc;
        if (*d < 0 && len > 30) {
            free(row);
            return sv_fail(e, q, "%d risk factors, the limit is 30", len);
        }
        *d = len;
        if (out)
            memcpy(out + (size_t)i * len, row, (size_t)len * sizeof *row);
        free(row);
    }
    return SV_OK;
}

static int read_capital(const json_t *k, const sv_codec_env *env, ccg_data *d, sv_err *e)
{
    static const char *const keys[] = {"c_bar", "r_bar", "phi", "psi", "budget", "k",
                                       "loans", "l", "m", "max_loan", NULL};
    const char *path = "/problem/capital_budgeting";
    double *cb = NULL, *rb = NULL;
    int rc, n = -1, dim = -1;
    if ((rc = sv_json_object(k, path, e)) != SV_OK ||
        (rc = sv_json_no_unknown(k, path, keys, e)) != SV_OK)
        return rc;
    if ((rc = vec(k, path, "c_bar", &n, env, &cb, e)) == SV_OK &&
        (rc = vec(k, path, "r_bar", &n, env, &rb, e)) == SV_OK &&
        (rc = rows(k, path, "phi", n, &dim, env, NULL, e)) == SV_OK &&
        (rc = rows(k, path, "psi", n, &dim, env, NULL, e)) == SV_OK &&
        (rc = ccg_data_alloc(d, CCG_CAPITAL, n, dim)) == SV_OK) {
        ccg_problem *p = &d->prob;
        double sum = 0;
        memcpy(d->buf, cb, (size_t)n * sizeof *cb);
        memcpy(d->buf + n, rb, (size_t)n * sizeof *rb);
        rows(k, path, "phi", n, &dim, env, d->buf + 2 * n, e);
        rows(k, path, "psi", n, &dim, env, d->buf + 2 * n + (size_t)n * dim, e);
        for (int i = 0; i < n; i++)
            sum += cb[i];
        json_t *lo;
        if ((rc = num(k, path, "budget", 1, 0, &p->budget, e)) == SV_OK &&
            (rc = num(k, path, "k", 0, 0.8, &p->k, e)) == SV_OK &&
            (rc = num(k, path, "l", 0, 0.12, &p->l, e)) == SV_OK &&
            (rc = num(k, path, "m", 0, 1.2, &p->m, e)) == SV_OK &&
            (rc = num(k, path, "max_loan", 0, 1.5 * sum - p->budget, &p->max_loan, e)) ==
                SV_OK &&
            (rc = sv_json_optional(k, path, "loans", &lo, e)) == SV_OK && lo)
            rc = sv_json_bool(lo, "/problem/capital_budgeting/loans", &p->loans, e);
        if (rc == SV_OK && p->max_loan < 0)
            p->max_loan = 0;
    }
    free(cb);
    free(rb);
    return rc;
}

/* The instance of problem into d (ccg_data_free it after, also on failure). */
static int read_problem(const json_t *problem, const sv_codec_env *env, ccg_data *d, sv_err *e)
{
    int which, rc;
    memset(d, 0, sizeof *d);
    if ((rc = sv_forms_pick(ccg_forms, problem, &which, e)) != SV_OK)
        return rc;
    if (which == FORM_KNAPSACK)
        rc = read_knapsack(json_object_get(problem, "knapsack"), env, d, e);
    else if (which == FORM_CAPITAL)
        rc = read_capital(json_object_get(problem, "capital_budgeting"), env, d, e);
    else {
        ccg_gen_spec g;
        sv_params_defaults(ccg_gen_params, &g);
        if ((rc = sv_forms_decode_key(&ccg_forms[FORM_GENERATE], problem, &g, e)) == SV_OK)
            rc = ccg_generate(&g, d, e);
    }
    if (rc == SV_OK)
        rc = ccg_check_problem(&d->prob, e);
    return rc;
}

/* ---- the codec ---- */

static void ccg_defaults(void *s)
{
    ccg_settings_default(s);
}

static json_t *ccg_problem_schema(void)
{
    return sv_forms_schema(ccg_forms);
}

static json_t *ccg_example(void)
{
    return json_pack("{s:{s:{s:s, s:i, s:i, s:s, s:f}}, s:{s:s, s:b, s:i}}", "problem",
                     "generate", "class", "knapsack", "items", 18, "seed", 2, "correlation",
                     "UN", "budget_factor", 0.15, "params", "adversary", "cuts", "report_steps",
                     1, "report_every", 1);
}

static int ccg_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        sv_err *e)
{
    ccg_data d;
    ccg_settings s;
    int rc = read_problem(problem, env, &d, e);
    if (rc == SV_OK)
        rc = read_settings(params, &s, e);
    ccg_data_free(&d);
    return rc;
}

static const char *const adversary_names[] = {"auto", "enumerate", "cuts"};

static int ccg_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                   const sv_monitor *mon, json_t **result, sv_err *e)
{
    ccg_data d;
    ccg_settings s;
    ccg_info info;
    memset(&info, 0, sizeof info);
    *result = NULL;
    int rc = read_problem(problem, env, &d, e);
    if (rc == SV_OK)
        rc = read_settings(params, &s, e);
    if (rc == SV_OK)
        rc = ccg_solve(&d.prob, &s, mon, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.upper_bound);
        json_t *x = sv_json_from_vector(info.x, info.n_first);
        json_t *w = sv_json_from_vector(info.worst, info.d);
        json_t *sc = sv_json_from_dense(info.scenarios, info.n_scenarios, info.d);
        if (!r || !x || !w || !sc) {
            json_decref(r);
            json_decref(x);
            json_decref(w);
            json_decref(sc);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "lower_bound", sv_codec_real(info.lower_bound));
            json_object_set_new(r, "upper_bound", sv_codec_real(info.upper_bound));
            json_object_set_new(r, "gap", sv_codec_real(info.gap));
            json_object_set_new(r, "adversary", json_string(adversary_names[info.adversary]));
            json_object_set_new(r, "vertices", json_real(info.vertices));
            json_object_set_new(r, "subproblems", json_integer(info.subproblems));
            json_object_set_new(r, "adversary_rounds", json_integer(info.adversary_rounds));
            json_object_set_new(r, "class", json_string(d.prob.cls == CCG_KNAPSACK
                                                            ? "knapsack"
                                                            : "capital_budgeting"));
            if (d.prob.cls == CCG_KNAPSACK)
                json_object_set_new(r, "gamma", json_integer(d.prob.gamma));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", x);
            json_object_set_new(r, "worst_scenario", w);
            json_object_set_new(r, "scenarios", sc);
            *result = r;
        }
    }
    ccg_info_free(&info);
    ccg_data_free(&d);
    return rc;
}

const sv_codec sv_codec_ccg = {
    .name = "robust.ccg",
    .family = "robust",
    .summary = "two-stage robust optimization by column-and-constraint generation: a master "
               "MILP over x and recourse copies for the worst scenarios found so far, an "
               "adversary that finds the next one (GLPK)",
    .paper = "Zeng, Zhao: Solving two-stage robust optimization problems using a "
             "column-and-constraint generation method, Oper. Res. Lett. 2013; the benchmarks "
             "and CCG baseline of Dumouchelle, Julien, Kurtz, Khalil: Neur2RO: Neural "
             "Two-Stage Robust Optimization, ICLR 2024",
    .doc = "docs/solvers/robust/ccg.md",
    .params = ccg_params,
    .settings_size = sizeof(ccg_settings),
    .settings_default = ccg_defaults,
    .problem_schema = ccg_problem_schema,
    .example = ccg_example,
    .validate = ccg_validate,
    .run = ccg_run,
};
