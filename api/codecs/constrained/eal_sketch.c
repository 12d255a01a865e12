/* eal_sketch.c - the constrained.eal_sketch codec: an `expr` problem (equality constraints only,
 * no bounds) or a generated constrained logistic regression (core/models/logistic_eq.h), and the
 * params (core's eal_sketch_params), into eal_sketch_solve; its outcome back into JSON. The doc
 * page is docs/solvers/constrained/eal_sketch.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/expr_problem.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/models/logistic_eq.h"
#include "core/solvers/constrained/eal_sketch.h"

#define EAL_SKETCH_CODEC_NAME "constrained.eal_sketch"

/* ---- the problem, read ---- */

typedef struct {
    int generated;
    sv_logistic_eq_spec gen;
    const json_t *x0;        /* generated: optional start */
} eal_sketch_desc;

/* The forms of "problem": an expr problem, or a generated instance. */
enum { FORM_EXPR, FORM_GENERATE };
static const char *const generate_members[] = {"generate", "x0", NULL};
static const sv_problem_form eal_sketch_forms[] = {
    {.key = "variables", .members = sv_expr_problem_members,
     .summary = "an `expr` problem (docs/expr.md) with equality constraints only and no bounds",
     .properties = sv_expr_problem_properties},
    {.key = "generate", .members = generate_members,
     .summary = "a generated constrained logistic regression (core/models/logistic_eq.h): min "
                "(1/n) sum log(1 + exp(-y_i z_i'x)) + (lambda/2)|x|^2 s.t. A x = b (and |x|^2 = "
                "1 with unit_norm)",
     .fields = sv_logistic_eq_params, .fields_size = sizeof(sv_logistic_eq_spec),
     .properties = "{\"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"
                   " \"description\": \"starting point (default: all entries 1/sqrt(d))\"}}"},
    SV_FORMS_END,
};

static void expr_opts(sv_expr_problem_opts *o)
{
    sv_expr_problem_opts_default(o);
    o->allow_inequalities = 0;
    o->allow_bounds = 0;
    o->solver = EAL_SKETCH_CODEC_NAME;
}

static int read_generate(const json_t *problem, const sv_codec_env *env, eal_sketch_desc *d,
                         sv_err *e)
{
    sv_logistic_eq_spec *g = &d->gen;
    memset(g, 0, sizeof *g);
    sv_params_defaults(sv_logistic_eq_params, g);
    int rc = sv_forms_decode_key(&eal_sketch_forms[FORM_GENERATE], problem, g, e);
    if (rc != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    if (g->n > lim)
        return sv_fail(e, "/problem/generate/n", "%d samples exceed the limit of %ld", g->n, lim);
    if (g->d > lim)
        return sv_fail(e, "/problem/generate/d", "dimension %d exceeds the limit of %ld", g->d,
                       lim);
    if (g->m > lim)
        return sv_fail(e, "/problem/generate/m", "%d constraints exceed the limit of %ld", g->m,
                       lim);
    d->generated = 1;
    if ((rc = sv_logistic_eq_check(g, e)) != SV_OK)
        return rc;
    long max_entries = env && env->max_entries > 0 ? env->max_entries : LONG_MAX;
    if ((double)g->n * (double)g->d > (double)max_entries)
        return sv_fail(e, "/problem/generate/n", "n * d = %.0f exceeds the limit of %ld entries",
                       (double)g->n * g->d, max_entries);
    if ((long)g->d + g->m + g->unit_norm > EAL_SKETCH_MAX_KKT_DIM)
        return sv_fail(e, "/problem/generate/d", "d + constraints = %ld exceeds %d: the dense "
                       "Newton (KKT) matrix would be too large",
                       (long)g->d + g->m + g->unit_norm, EAL_SKETCH_MAX_KKT_DIM);
    json_t *v;
    sv_json_optional(problem, "/problem", "x0", &v, e);
    if (v && (rc = sv_json_vector(v, "/problem/x0", g->d, env, NULL, NULL, e)) != SV_OK)
        return rc;
    d->x0 = v;
    return SV_OK;
}

/* Reads the problem; an `expr` problem is compiled into *ep (caller frees). */
static int read_problem(const json_t *problem, const sv_codec_env *env, eal_sketch_desc *d,
                        sv_expr_problem **ep, sv_err *e)
{
    memset(d, 0, sizeof *d);
    *ep = NULL;
    int form;
    int rc = sv_forms_pick(eal_sketch_forms, problem, &form, e);
    if (rc != SV_OK)
        return rc;
    if (form == FORM_GENERATE)
        return read_generate(problem, env, d, e);
    sv_expr_problem_opts o;
    expr_opts(&o);
    rc = sv_expr_problem_decode(problem, env, &o, ep, e, NULL);
    if (rc != SV_OK)
        return rc;
    eal_sketch_problem p;
    eal_sketch_problem_from_expr(*ep, &p);
    if ((rc = eal_sketch_check_problem(&p, e)) != SV_OK) {
        sv_expr_problem_free(*ep);
        *ep = NULL;
    }
    return rc;
}

static int read_settings(const json_t *params, eal_sketch_settings *s, sv_err *e)
{
    eal_sketch_settings_default(s);
    int rc = sv_params_decode(eal_sketch_params, params, s, e);
    return rc != SV_OK ? rc : eal_sketch_check_settings(s, e);
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static void eal_sketch_defaults(void *s)
{
    eal_sketch_settings_default(s);
}

static json_t *eal_sketch_problem_schema(void)
{
    json_t *schema = sv_forms_schema(eal_sketch_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("min f(x) s.t. c(x) = 0: an `expr` problem or a generated "
                                        "constrained logistic regression; exactly one of "
                                        "variables, generate"));
    return schema;
}

static json_t *eal_sketch_example(void)
{
    /* Rosenbrock's function from its classic start (-1.2, 1), with t defined by an equality:
     * about 70 damped Newton iterations to x* = (1, 1), t* = 2 (f* = 0), a report each, in a
     * tenth of a second. Rosenbrock's valley makes the KKT systems ill-conditioned; 1000 sketch
     * steps a run, with the exact fallback when a capped run gives no descent, keep it fast. */
    json_error_t jerr;
    return json_loads(
        "{\"problem\": {\"variables\": {\"x\": {\"size\": 2, \"start\": [-1.2, 1]},"
        " \"t\": {\"start\": 0}},"
        "  \"objective\": \"100*(x[1]-x[0]^2)^2 + (1-x[0])^2\","
        "  \"equalities\": [\"t = x[0] + x[1]\"]},"
        " \"params\": {\"tol\": 1e-8, \"seed\": 1, \"max_sketch_iter\": 1000,"
        " \"report_every\": 1}}",
        0, &jerr);
}

static int eal_sketch_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        sv_err *e)
{
    eal_sketch_desc d;
    eal_sketch_settings s;
    sv_expr_problem *ep = NULL;
    int rc = read_problem(problem, env, &d, &ep, e);
    sv_expr_problem_free(ep);
    if (rc != SV_OK)
        return rc;
    return read_settings(params, &s, e);
}

static json_t *result_json(const eal_sketch_info *info, const eal_sketch_settings *s, const double *x, int n,
                           const double *lam, int m, const sv_expr_problem *ep)
{
    json_t *r = json_object();
    json_t *xs = sv_json_from_vector(x, n);
    json_t *ls = m > 0 ? sv_json_from_vector(lam, m) : json_array();
    json_t *vars = ep ? sv_expr_problem_values_json(ep, x) : json_null();
    json_t *pen = json_pack("{s:o, s:o, s:o}", "mu", sv_codec_real(info->mu), "nu",
                            sv_codec_real(info->nu), "delta", sv_codec_real(info->delta));
    if (!r || !xs || !ls || !vars || !pen) {
        json_decref(r);
        json_decref(xs);
        json_decref(ls);
        json_decref(vars);
        json_decref(pen);
        return NULL;
    }
    json_object_set_new(r, "status", json_string(sv_status_name(info->base.status)));
    json_object_set_new(r, "reason", json_string(eal_sketch_reason_name(info->reason)));
    json_object_set_new(r, "iterations", json_integer(info->base.iter));
    json_object_set_new(r, "objective", sv_codec_real(info->base.obj));
    json_object_set_new(r, "kkt_residual", sv_codec_real(info->kkt));
    json_object_set_new(r, "grad_lagrangian_norm", sv_codec_real(info->grad_lag_norm));
    json_object_set_new(r, "constraint_norm", sv_codec_real(info->cons_norm));
    json_object_set_new(r, "merit", sv_codec_real(info->merit));
    json_object_set_new(r, "penalties", pen);
    json_object_set_new(r, "sketch", json_string(sv_params_find(eal_sketch_params, "sketch")->choices[s->sketch]));
    json_object_set_new(r, "sketch_iterations", json_integer(info->sketch_iters));
    json_object_set_new(r, "sketch_capped", json_integer(info->sketch_capped));
    json_object_set_new(r, "exact_solves", json_integer(info->exact_solves));
    json_object_set_new(r, "penalty_increases", json_integer(info->penalty_increases));
    json_object_set_new(r, "hessian_shifts", json_integer(info->hessian_shifts));
    json_object_set_new(r, "backtracks", json_integer(info->backtracks));
    json_object_set_new(r, "regularized_steps", json_integer(info->regularized));
    json_object_set_new(r, "restarts", json_integer(info->restarts));
    json_object_set_new(r, "last_restart_reason",
                        info->restarts > 0
                            ? json_string(eal_sketch_reason_name(info->last_restart_reason))
                            : json_null());
    json_object_set_new(r, "accuracy_condition_steps", json_integer(info->paper_accuracy_steps));
    json_object_set_new(r, "accuracy_condition_held",
                        json_boolean(info->paper_accuracy_steps == info->base.iter));
    json_object_set_new(r, "solve_time_s", json_real(info->base.solve_time_s));
    json_object_set_new(r, "x", xs);
    if (ep)
        json_object_set_new(r, "variables", vars);
    else
        json_decref(vars);
    json_object_set_new(r, "multipliers", ls);
    return r;
}

static int eal_sketch_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                   const sv_monitor *mon, json_t **result, sv_err *e)
{
    eal_sketch_desc d;
    eal_sketch_settings s;
    sv_expr_problem *ep = NULL;
    sv_logistic_eq leq;
    eal_sketch_problem p;
    double *x = NULL, *lam = NULL;
    int rc;
    memset(&leq, 0, sizeof leq);
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, &ep, e)) != SV_OK)
        return rc;
    if ((rc = read_settings(params, &s, e)) != SV_OK)
        goto out;
    if (d.generated) {
        if ((rc = sv_logistic_eq_generate(&d.gen, &leq, e)) != SV_OK)
            goto out;
        eal_sketch_problem_from_logistic_eq(&leq, &p);
    } else {
        eal_sketch_problem_from_expr(ep, &p);
    }
    x = malloc((size_t)p.n * sizeof *x);
    lam = malloc(((size_t)p.m + 1) * sizeof *lam);
    if (!x || !lam) {
        rc = SV_ENOMEM;
        goto out;
    }
    if (ep) {
        sv_copy(p.n, sv_expr_problem_start(ep), x);
    } else if (d.x0) {
        for (int i = 0; i < p.n; i++)
            x[i] = json_number_value(json_array_get(d.x0, (size_t)i));
    } else {
        sv_fill(p.n, 1.0 / sqrt((double)p.n), x);  /* on the unit sphere, off the rows of A */
    }

    eal_sketch_info info;
    if ((rc = eal_sketch_solve(&p, &s, mon, x, lam, &info, e)) == SV_OK) {
        *result = result_json(&info, &s, x, p.n, lam, p.m, ep);
        if (!*result)
            rc = SV_ENOMEM;
    }
out:
    free(x);
    free(lam);
    sv_logistic_eq_free(&leq);
    sv_expr_problem_free(ep);
    return rc;
}

const sv_codec sv_codec_eal_sketch = {
    .name = EAL_SKETCH_CODEC_NAME,
    .family = "constrained",
    .summary = "AdaSketch-Newton: inexact Newton for equality-constrained smooth problems, the "
               "KKT system solved by randomized sketching (Kaczmarz, block, Gaussian), line "
               "search on the exact augmented Lagrangian with adaptive penalties and accuracy",
    .paper = "Hong, Na, Mahoney, Kolar: Constrained Optimization via Exact Augmented Lagrangian "
             "and Randomized Iterative Sketching, ICML 2023",
    .doc = "docs/solvers/constrained/eal_sketch.md",
    .params = eal_sketch_params,
    .settings_size = sizeof(eal_sketch_settings),
    .settings_default = eal_sketch_defaults,
    .problem_schema = eal_sketch_problem_schema,
    .example = eal_sketch_example,
    .validate = eal_sketch_validate,
    .run = eal_sketch_run,
};
