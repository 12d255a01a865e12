/* lion.c - the constrained.lion codec: a built-in linear model (explicit data or a generated
 * instance) or an `expr` problem, and the Lion-K parameters (core's lion_params, with the shared
 * "schedule" member), into lion_solve, and its outcome back into JSON. The doc page is
 * docs/solvers/constrained/lion.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/glm_json.h"
#include "api/expr_problem.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "api/schedule_json.h"
#include "core/models/gen_glm.h"
#include "core/solvers/constrained/lion.h"

/* ---- the problem, read but not yet built ---- */

typedef enum { FORM_DATA, FORM_GENERATE, FORM_EXPR } lion_form;

typedef struct {
    lion_form form;
    int dim;
    sv_loss loss;
    double lambda;
    const json_t *A, *b, *w;   /* FORM_DATA */
    sv_gen_glm_spec gen;       /* FORM_GENERATE */
    const json_t *x0;          /* FORM_DATA / FORM_GENERATE: NULL = zeros */
} lion_desc;

/* The forms of "problem", in the order of lion_form. */
static const char *const data_members[] = {"A", "b", "w", "loss", "lambda", "x0", NULL};
static const char *const generate_members[] = {"generate", "x0", NULL};
static const sv_problem_form lion_forms[] = {
    {.key = "A", .members = data_members,
     .summary = "a linear model: f(x) = (1/m) sum_i w_i l(a_i'x; b_i) + (lambda/2)|x|^2",
     .properties =
         "{\"A\": {\"description\": \"matrix (nested arrays, {rows,cols,data}, CSR or COO), m x d\"},"
         " \"b\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"
         " \"description\": \"m targets (logistic: -1 or 1)\"},"
         " \"w\": {\"type\": \"array\", \"items\": {\"type\": \"number\", \"minimum\": 0},"
         " \"description\": \"m sample weights (default all 1)\"},"
         " \"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\"],"
         " \"default\": \"squared\"},"
         " \"lambda\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0,"
         " \"description\": \"ridge weight\"},"
         " \"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"
         " \"description\": \"starting point (default zeros)\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a generated linear model (core/models/gen_glm.h, one client): rows a ~ N(0, I), "
                "planted x* ~ N(0, (4/dim) I), b = a'x* + 0.1 noise (squared) or a label drawn "
                "with probability sigmoid(a'x*) (logistic)",
     .fields = sv_gen_glm_one_params, .fields_size = sizeof(sv_gen_glm_spec),
     .properties = "{\"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"
                   " \"description\": \"starting point (default zeros)\"}}"},
    {.key = "variables", .members = sv_expr_problem_members,
     .summary = "an expr problem (docs/expr.md) without constraints or bounds: its constraint "
                "is the norm ball of radius 1/weight_decay",
     .properties = sv_expr_problem_properties},
    SV_FORMS_END,
};

static void expr_opts(sv_expr_problem_opts *o);
static int read_problem(const json_t *problem, const sv_codec_env *env, lion_desc *d, sv_err *e);
static int read_data(const json_t *problem, const sv_codec_env *env, lion_desc *d, sv_err *e);
static int read_generate(const json_t *problem, const sv_codec_env *env, lion_desc *d,
                         sv_err *e);
static int read_expr(const json_t *problem, const sv_codec_env *env, lion_desc *d, sv_err *e);
static int read_settings(const json_t *params, lion_settings *s, sv_err *e);

/* ============================================================================================
 * Reading the problem (no allocation of problem data)
 * ========================================================================================== */

static void expr_opts(sv_expr_problem_opts *o)
{
    sv_expr_problem_opts_default(o);
    o->allow_inequalities = 0;
    o->allow_bounds = 0;
    o->objective_optional = 0;
    o->extra_keys = NULL;
    o->solver = "constrained.lion";
}

static int read_problem(const json_t *problem, const sv_codec_env *env, lion_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(lion_forms, problem, &form, e)) != SV_OK)
        return rc;
    if (form == FORM_EXPR)
        return read_expr(problem, env, d, e);
    if (form == FORM_GENERATE)
        rc = read_generate(problem, env, d, e);
    else
        rc = read_data(problem, env, d, e);
    if (rc != SV_OK)
        return rc;
    return sv_glm_json_x0(problem, d->dim, env, &d->x0, e);
}

static int read_data(const json_t *problem, const sv_codec_env *env, lion_desc *d, sv_err *e)
{
    sv_glm_json_model m;
    int rc = sv_glm_json_read_model(problem, env, &m, e);
    if (rc != SV_OK)
        return rc;
    d->form = FORM_DATA;
    d->dim = m.dim;
    d->loss = m.loss;
    d->lambda = m.lambda;
    d->A = m.A;
    d->b = m.b;
    d->w = m.w;
    return SV_OK;
}

static int read_generate(const json_t *problem, const sv_codec_env *env, lion_desc *d,
                         sv_err *e)
{
    sv_gen_glm_spec g;
    sv_gen_glm_one_default(&g);
    int rc = sv_forms_decode_key(&lion_forms[FORM_GENERATE], problem, &g, e);
    if (rc != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    if (g.rows_per_client > lim)
        return sv_fail(e, "/problem/generate/rows", "%d rows exceed the limit of %ld",
                       g.rows_per_client, lim);
    if (g.dim > lim)
        return sv_fail(e, "/problem/generate/dim", "dimension %d exceeds the limit of %ld", g.dim,
                       lim);
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    double entries = (double)g.rows_per_client * (double)g.dim;
    if (entries > (double)max_entries)
        return sv_fail(e, "/problem/generate", "rows * dim = %.0f exceeds the limit of %ld matrix "
                       "entries", entries, max_entries);
    d->form = FORM_GENERATE;
    d->dim = g.dim;
    d->loss = g.loss;
    d->lambda = g.lambda;
    d->gen = g;
    return SV_OK;
}

static int read_expr(const json_t *problem, const sv_codec_env *env, lion_desc *d, sv_err *e)
{
    sv_expr_problem_opts o;
    expr_opts(&o);
    const json_t *eq = json_object_get(problem, "equalities");
    if (eq && json_is_array(eq) && json_array_size(eq) > 0)
        return sv_fail(e, "/problem/equalities", "constrained.lion takes no equality constraints: "
                       "its constraint is the norm ball of radius 1/weight_decay");
    int rc = sv_expr_problem_check(problem, env, &o, e, NULL);
    if (rc != SV_OK)
        return rc;
    d->form = FORM_EXPR;
    return SV_OK;
}

static int read_settings(const json_t *params, lion_settings *s, sv_err *e)
{
    lion_settings_default(s);
    int rc = sv_params_decode(lion_params, params, s, e);
    if (rc == SV_OK)
        rc = lion_check_settings(s, e);
    return rc;
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static void lion_defaults(void *s)
{
    lion_settings_default(s);
}

static json_t *lion_problem_schema(void)
{
    json_t *schema = sv_forms_schema(lion_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("f(x) = (1/m) sum_i w_i l(a_i'x; b_i) + (lambda/2)|x|^2 "
                                        "(squared or logistic loss), or an expr problem "
                                        "(docs/expr.md) without constraints or bounds; exactly "
                                        "one of A, generate, variables"));
    return schema;
}

static json_t *lion_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:s, s:i}}, s:{s:s, s:f, s:f, s:i, s:f, s:i, s:{s:s}}}",
                     "problem", "generate", "rows", 200, "dim", 20, "loss", "squared", "seed", 1,
                     "params", "k", "sign", "weight_decay", 4.0, "lr", 0.02, "max_iter", 5000,
                     "tol", 1e-6, "report_every", 50, "schedule", "kind", "cosine");
}

static int lion_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                         sv_err *e)
{
    lion_desc d;
    lion_settings s;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    if (d.form == FORM_EXPR && s.batch_size > 0)
        return sv_fail(e, "/params/batch_size", "mini-batches need a built-in model with data "
                       "rows; an expr problem has a single objective (use 0)");
    return SV_OK;
}

/* The built-in model: generated or read from the JSON. */
static int build_model(const lion_desc *d, const sv_codec_env *env, sv_glm_clients *c,
                       double **w, sv_err *e)
{
    int rc;
    if (d->form == FORM_GENERATE)
        return sv_gen_glm_clients(&d->gen, c, e);
    if ((rc = sv_glm_clients_alloc(c, 1, d->dim)) != SV_OK)
        return rc;
    if ((rc = sv_json_matrix(d->A, "/problem/A", -1, d->dim, env, &c->A[0], e)) != SV_OK ||
        (rc = sv_json_vector(d->b, "/problem/b", c->A[0].rows, env, &c->b[0], NULL, e)) != SV_OK ||
        (d->w && (rc = sv_json_vector(d->w, "/problem/w", c->A[0].rows, env, w, NULL, e)) != SV_OK)) {
        sv_glm_clients_free(c);
        return rc;
    }
    sv_glm_clients_bind(c, d->loss, d->lambda);
    c->glm[0].w = *w;
    return SV_OK;
}

static int lion_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    const sv_monitor *mon, json_t **result, sv_err *e)
{
    lion_desc d;
    lion_settings s;
    sv_glm_clients c;
    sv_expr_problem *ep = NULL;
    double *x = NULL, *w = NULL;
    int rc;
    memset(&c, 0, sizeof c);
    *result = NULL;
    if ((rc = lion_validate(problem, params, env, e)) != SV_OK ||
        (rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;

    lion_problem p;
    memset(&p, 0, sizeof p);
    if (d.form == FORM_EXPR) {
        sv_expr_problem_opts o;
        expr_opts(&o);
        if ((rc = sv_expr_problem_decode(problem, env, &o, &ep, e, NULL)) != SV_OK)
            return rc;
        d.dim = sv_expr_problem_dim(ep);
        if (!(x = malloc((size_t)d.dim * sizeof *x))) {
            sv_expr_problem_free(ep);
            return SV_ENOMEM;
        }
        memcpy(x, sv_expr_problem_start(ep), (size_t)d.dim * sizeof *x);
        p.expr = ep;
    } else {
        if (d.x0)
            rc = sv_json_vector(d.x0, "/problem/x0", d.dim, env, &x, NULL, e);
        else if (!(x = calloc((size_t)d.dim, sizeof *x)))
            rc = SV_ENOMEM;
        if (rc != SV_OK)
            return rc;
        if ((rc = build_model(&d, env, &c, &w, e)) != SV_OK) {
            free(x);
            return rc;
        }
        p.glm = &c.glm[0];
    }
    p.dim = d.dim;

    lion_info info;
    rc = lion_solve(&p, &s, mon, x, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *xs = sv_json_from_vector(x, d.dim);
        json_t *values = ep ? sv_expr_problem_values_json(ep, x) : NULL;
        if (!r || !xs || (ep && !values)) {
            json_decref(r);
            json_decref(xs);
            json_decref(values);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "composite", sv_codec_real(info.composite));
            json_object_set_new(r, "gap", sv_codec_real(info.gap));
            json_object_set_new(r, "grad_norm", sv_codec_real(info.grad_norm));
            json_object_set_new(r, "x_inf", sv_codec_real(info.x_inf));
            json_object_set_new(r, "violation", sv_codec_real(info.violation));
            json_object_set_new(r, "box_violation", sv_codec_real(info.box_violation));
            json_object_set_new(r, "radius", sv_codec_real(info.radius));
            json_object_set_new(r, "entry_iter", json_integer(info.entry_iter));
            json_object_set_new(r, "lr_final", sv_codec_real(info.lr));
            json_object_set_new(r, "k", json_string(sv_params_find(lion_params, "k")->choices[s.k]));
            json_object_set_new(r, "schedule", sv_schedule_to_json(&s.schedule));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", xs);
            if (values)
                json_object_set_new(r, "values", values);
            *result = r;
        }
    }
    sv_expr_problem_free(ep);
    sv_glm_clients_free(&c);
    free(w);
    free(x);
    return rc;
}

const sv_codec sv_codec_lion = {
    .name = "constrained.lion",
    .family = "constrained",
    .summary = "Lion and the Lion-K family: sign (or grad K) momentum with decoupled weight decay, "
               "minimising f subject to |x|_inf <= 1/lambda (or the ball or penalty K gives), on "
               "linear models (mini-batches) and expr problems",
    .paper = "Chen, Liu, Liang, Liu: Lion Secretly Solves Constrained Optimization: As Lyapunov "
             "Predicts, ICLR 2024; Chen et al.: Symbolic Discovery of Optimization Algorithms, "
             "NeurIPS 2023",
    .doc = "docs/solvers/constrained/lion.md",
    .params = lion_params,
    .settings_size = sizeof(lion_settings),
    .settings_default = lion_defaults,
    .problem_schema = lion_problem_schema,
    .example = lion_example,
    .validate = lion_validate,
    .run = lion_run,
};
