/* lion.c - the constrained.lion codec: a built-in linear model (explicit data or a generated
 * instance) or an `expr` problem, and the Lion-K parameters (with the shared "schedule" field),
 * into lion_solve, and its outcome back into JSON. The doc page is docs/solvers/constrained/lion.md. */
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
#include "api/jsonval.h"
#include "api/params.h"
#include "api/schedule_json.h"
#include "core/models/gen_glm.h"
#include "core/solvers/constrained/lion.h"

/* ---- parameters ---- */

static const char *const k_choices[] = {"sign", "l2", "lp", "linf", "huber", "relativistic",
                                        "quadratic", NULL};

static const sv_param_spec lion_params[] = {
    {"k", SV_PARAM_ENUM, offsetof(lion_settings, k), 0, 0, 0, k_choices,
     "the convex K whose gradient replaces sign: sign = Lion (box |x|_inf <= 1/weight_decay), "
     "l2 (ball |x|_2 <= 1/wd), lp (ball |x|_q <= 1/wd, 1/p + 1/q = 1), linf (ball |x|_1 <= 1/wd), "
     "huber and relativistic (box plus a penalty), quadratic (momentum with L2 penalty)",
     0, 0, NULL},
    {"p", SV_PARAM_NUMBER, offsetof(lion_settings, p), 1, 1e6, 1, NULL,
     "exponent of K = |x|_p when k is lp", 0, 0, NULL},
    {"delta", SV_PARAM_NUMBER, offsetof(lion_settings, delta), 0, INFINITY, 1, NULL,
     "width of the huber and relativistic K", 0, 0, NULL},
    {"lr", SV_PARAM_NUMBER, offsetof(lion_settings, lr), 0, INFINITY, 1, NULL,
     "largest step size (the schedule scales it); lr * weight_decay must be at most 1", 0, 0, NULL},
    {"beta1", SV_PARAM_NUMBER, offsetof(lion_settings, beta1), 0, 1, 0, NULL,
     "interpolation of momentum and gradient inside K, in [0, 1)", 0, 0, NULL},
    {"beta2", SV_PARAM_NUMBER, offsetof(lion_settings, beta2), 0, 1, 0, NULL,
     "momentum decay, in [0, 1)", 0, 0, NULL},
    {"weight_decay", SV_PARAM_NUMBER, offsetof(lion_settings, weight_decay), 0, INFINITY, 0,
     NULL, "decoupled weight decay lambda: the constraint radius is 1/lambda; 0 = unconstrained",
     0, 0, NULL},
    {"batch_size", SV_PARAM_INT, offsetof(lion_settings, batch_size), 0, INT_MAX, 0, NULL,
     "built-in models: rows per stochastic gradient (seeded); 0 = full gradients", 0, 0, NULL},
    {"seed", SV_PARAM_SEED, offsetof(lion_settings, seed), 0, 0, 0, NULL,
     "seed of the mini-batch sampling", 0, 0, NULL},
    {"tol", SV_PARAM_NUMBER, offsetof(lion_settings, tol), 0, INFINITY, 0, NULL,
     "stop when the duality gap (weight_decay > 0) or |grad f| (weight_decay = 0) is at most tol",
     0, 0, NULL},
    {"max_iter", SV_PARAM_INT, offsetof(lion_settings, max_iter), 0, 1e9, 0, NULL,
     "largest number of iterations, also the schedule's budget", 0, 0, NULL},
    {"time_limit_s", SV_PARAM_NUMBER, offsetof(lion_settings, time_limit_s), 0, INFINITY, 0,
     NULL, "wall-clock limit of the solve in seconds; 0: none", 0, 0, NULL},
    {"report_every", SV_PARAM_INT, offsetof(lion_settings, report_every), 1, 1e9, 0, NULL,
     "progress report every this many iterations", 0, 0, NULL},
    SV_PARAMS_END,
};

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

static void expr_opts(sv_expr_problem_opts *o);
static int read_problem(const json_t *problem, const sv_codec_env *env, lion_desc *d, sv_err *e);
static int read_data(const json_t *problem, const sv_codec_env *env, lion_desc *d, sv_err *e);
static int read_generate(const json_t *gen, const sv_codec_env *env, lion_desc *d, sv_err *e);
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
    if (sv_json_object(problem, "/problem", e) != SV_OK)
        return SV_EINVAL;
    int forms = !!json_object_get(problem, "A") + !!json_object_get(problem, "generate") +
                !!json_object_get(problem, "variables");
    if (forms != 1)
        return sv_fail(e, "/problem", forms ? "give only one of A (with b), generate and variables"
                                            : "needs A and b (a linear model), generate, or "
                                              "variables and objective (an expr problem)");
    if (json_object_get(problem, "variables"))
        return read_expr(problem, env, d, e);
    int rc;
    if (json_object_get(problem, "generate")) {
        static const char *const allowed[] = {"generate", "x0", NULL};
        if ((rc = sv_json_no_unknown(problem, "/problem", allowed, e)) != SV_OK ||
            (rc = read_generate(json_object_get(problem, "generate"), env, d, e)) != SV_OK)
            return rc;
    } else if ((rc = read_data(problem, env, d, e)) != SV_OK) {
        return rc;
    }
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

static int read_generate(const json_t *gen, const sv_codec_env *env, lion_desc *d, sv_err *e)
{
    static const char *const allowed[] = {"rows", "dim", "loss", "lambda", "seed", NULL};
    const char *path = "/problem/generate";
    int rc;
    if ((rc = sv_json_object(gen, path, e)) != SV_OK ||
        (rc = sv_json_no_unknown(gen, path, allowed, e)) != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    long rows, dim, seed = 0;
    json_t *v;
    if ((rc = sv_json_require(gen, path, "rows", &v, e)) != SV_OK ||
        (rc = sv_json_int(v, "/problem/generate/rows", 1, lim, &rows, e)) != SV_OK ||
        (rc = sv_json_require(gen, path, "dim", &v, e)) != SV_OK ||
        (rc = sv_json_int(v, "/problem/generate/dim", 1, lim, &dim, e)) != SV_OK ||
        (rc = sv_glm_json_loss(gen, path, SV_LOSS_SQUARED, &d->loss, e)) != SV_OK ||
        (rc = sv_glm_json_lambda(gen, path, &d->lambda, e)) != SV_OK ||
        (rc = sv_glm_json_seed(gen, path, &seed, e)) != SV_OK)
        return rc;
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    if ((double)rows * (double)dim > (double)max_entries)
        return sv_fail(e, path, "rows * dim = %.0f exceeds the limit of %ld matrix entries",
                       (double)rows * (double)dim, max_entries);
    d->form = FORM_GENERATE;
    d->dim = (int)dim;
    d->gen = (sv_gen_glm_spec){1, (int)rows, (int)dim, d->loss, 0.0, d->lambda, (uint64_t)seed};
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
    int rc = sv_codec_params_decode_with_schedule(lion_params, params, &s->schedule, s, e);
    if (rc == SV_OK)
        rc = lion_check_settings(s, e);
    return rc;
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static json_t *lion_params_schema(void)
{
    lion_settings s;
    lion_settings_default(&s);
    json_t *schema = sv_schedule_schema_add(sv_params_schema(lion_params, &s));
    /* this solver's schedule default is cosine, not the shared constant */
    json_t *sch = json_object_get(json_object_get(schema, "properties"), "schedule");
    if (sch)
        json_object_set_new(sch, "default", json_string("cosine"));
    return schema;
}

static json_t *lion_problem_schema(void)
{
    json_t *expr = sv_expr_problem_schema();
    json_t *props = json_pack(
        "{s:{s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:[s,s]}, s:{s:s, s:i}, s:{s:s, s:s},"
        " s:{s:s, s:s}}",
        "A", "description", "matrix (nested arrays, {rows,cols,data}, CSR or COO), m x d",
        "b", "type", "array", "description", "m targets (logistic: -1 or 1)",
        "w", "type", "array", "description", "m sample weights >= 0 (default all 1)",
        "loss", "type", "string", "enum", "squared", "logistic",
        "lambda", "type", "number", "minimum", 0,
        "generate", "type", "object", "description",
        "{rows, dim, loss? (squared), lambda? (0), seed? (0)}: rows a ~ N(0, I), planted "
        "x* ~ N(0, 4/dim I), b = a'x* + 0.1 noise (squared) or a label drawn with probability "
        "sigmoid(a'x*) (logistic)",
        "x0", "type", "array", "description", "starting point (default zeros)");
    return json_pack("{s:s, s:s, s:[{s:s, s:[s,s], s:o}, {s:s, s:[s], s:o}, o]}",
                     "type", "object", "description",
                     "f(x) = (1/m) sum_i w_i l(a_i'x; b_i) + (lambda/2)|x|^2 (squared or "
                     "logistic loss), or an expr problem (docs/expr.md) without constraints or "
                     "bounds",
                     "oneOf", "description", "linear model", "required", "A", "b", "properties",
                     props, "description", "generated linear model", "required", "generate",
                     "properties", json_deep_copy(props), expr);
}

static json_t *lion_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:s, s:i}}, s:{s:s, s:f, s:f, s:i, s:f, s:{s:s}}}",
                     "problem", "generate", "rows", 200, "dim", 20, "loss", "squared", "seed", 1,
                     "params", "k", "sign", "weight_decay", 4.0, "lr", 0.02, "max_iter", 5000,
                     "tol", 1e-6, "schedule", "kind", "cosine");
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
            json_object_set_new(r, "k", json_string(k_choices[s.k]));
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
    .params_schema = lion_params_schema,
    .problem_schema = lion_problem_schema,
    .example = lion_example,
    .validate = lion_validate,
    .run = lion_run,
};
