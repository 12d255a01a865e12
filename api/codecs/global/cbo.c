/* cbo.c - the global.cbo codec: a built-in benchmark (Rastrigin, Ackley, Rosenbrock, Griewank in
 * any dimension, core/solvers/global/cbo_gen.h) or an unconstrained `expr` problem, and the CBO
 * parameters (core's cbo_params) into cbo_solve, and its outcome back into JSON. The doc page is
 * docs/solvers/global/cbo.md. */
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
#include "core/solvers/global/cbo.h"
#include "core/solvers/global/cbo_gen.h"

typedef enum { FORM_BENCHMARK, FORM_EXPR } cbo_form;

typedef struct {
    cbo_form form;
    int dim;
    cbo_benchmark bench;   /* FORM_BENCHMARK */
} cbo_desc;

static const char *const benchmark_members[] = {"benchmark", NULL};
static const sv_problem_form cbo_forms[] = {
    {.key = "benchmark", .members = benchmark_members,
     .summary = "a built-in benchmark f(x) = g(x - shift) with global minimum 0: rastrigin "
                "(box [-5.12, 5.12]^d), ackley ([-32.768, 32.768]^d), rosenbrock ([-5, 10]^d, "
                "minimizer 1 + shift) or griewank ([-600, 600]^d); the particles start in the box",
     .fields = cbo_benchmark_params, .fields_size = sizeof(cbo_benchmark)},
    {.key = "variables", .members = sv_expr_problem_members,
     .summary = "an expr problem (docs/expr.md) without constraints or bounds: only its "
                "objective is evaluated (no derivatives); the particles start around its start",
     .properties = sv_expr_problem_properties},
    SV_FORMS_END,
};

static void expr_opts(sv_expr_problem_opts *o)
{
    sv_expr_problem_opts_default(o);
    o->allow_inequalities = 0;
    o->allow_bounds = 0;
    o->objective_optional = 0;
    o->extra_keys = NULL;
    o->solver = "global.cbo";
}

/* ---- reading (no allocation of problem data) ---- */

static int read_benchmark(const json_t *problem, const sv_codec_env *env, cbo_desc *d, sv_err *e)
{
    cbo_benchmark *b = &d->bench;
    memset(b, 0, sizeof *b);
    sv_params_defaults(cbo_benchmark_params, b);
    int rc = sv_forms_decode_key(&cbo_forms[FORM_BENCHMARK], problem, b, e);
    if (rc != SV_OK || (rc = cbo_benchmark_check(b, e)) != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    if (b->dim > lim)
        return sv_fail(e, "/problem/benchmark/dim", "dimension %d exceeds the limit of %ld",
                       b->dim, lim);
    d->dim = b->dim;
    return SV_OK;
}

static int read_expr(const json_t *problem, const sv_codec_env *env, cbo_desc *d, sv_err *e)
{
    const json_t *eq = json_object_get(problem, "equalities");
    if (eq && json_is_array(eq) && json_array_size(eq) > 0)
        return sv_fail(e, "/problem/equalities", "global.cbo takes no constraints: it minimises "
                       "the objective over all of R^n");
    sv_expr_problem_opts o;
    expr_opts(&o);
    int rc = sv_expr_problem_check(problem, env, &o, e, NULL);
    if (rc != SV_OK)
        return rc;
    d->dim = 0;  /* known once compiled */
    return SV_OK;
}

static int read_problem(const json_t *problem, const sv_codec_env *env, cbo_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(cbo_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (cbo_form)form;
    return d->form == FORM_BENCHMARK ? read_benchmark(problem, env, d, e)
                                     : read_expr(problem, env, d, e);
}

static int read_settings(const json_t *params, cbo_settings *s, sv_err *e)
{
    cbo_settings_default(s);
    int rc = sv_params_decode(cbo_params, params, s, e);
    return rc != SV_OK ? rc : cbo_check_settings(s, e);
}

/* N * d against the server's limit of stored entries and core's (dim 0: not known yet). */
static int check_size(const cbo_settings *s, int dim, const sv_codec_env *env, sv_err *e)
{
    double lim = env && env->max_entries > 0 ? (double)env->max_entries : CBO_MAX_ENTRIES;
    lim = fmin(lim, CBO_MAX_ENTRIES);
    double entries = (double)s->particles * (double)dim;
    if (entries > lim)
        return sv_fail(e, "/params/particles", "particles * dim = %.0f exceeds the limit of %.0f "
                       "entries", entries, lim);
    return SV_OK;
}

/* ---- the codec ---- */

static void cbo_defaults(void *s)
{
    cbo_settings_default(s);
}

static json_t *cbo_problem_schema(void)
{
    json_t *schema = sv_forms_schema(cbo_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("minimise a black-box f over R^d from its values alone: "
                                        "exactly one of benchmark (a built-in function) and "
                                        "variables (an expr problem without constraints)"));
    return schema;
}

static json_t *cbo_example(void)
{
    return json_pack("{s:{s:{s:s, s:i, s:f}}, s:{s:i, s:i, s:i}}",
                     "problem", "benchmark", "function", "rastrigin", "dim", 10, "shift", 1.0,
                     "params", "particles", 200, "seed", 1, "report_every", 10);
}

static int cbo_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        sv_err *e)
{
    cbo_desc d;
    cbo_settings s;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    return check_size(&s, d.dim, env, e);
}

static int cbo_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                   const sv_monitor *mon, json_t **result, sv_err *e)
{
    cbo_desc d;
    cbo_settings s;
    sv_expr_problem *ep = NULL;
    double *x = NULL, *best = NULL, *center = NULL;
    int rc;
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    cbo_problem p;
    memset(&p, 0, sizeof p);
    if (d.form == FORM_EXPR) {
        sv_expr_problem_opts o;
        expr_opts(&o);
        if ((rc = sv_expr_problem_decode(problem, env, &o, &ep, e, NULL)) != SV_OK)
            return rc;
        cbo_problem_expr(&p, ep);
        d.dim = p.dim;
    }
    if ((rc = check_size(&s, d.dim, env, e)) != SV_OK) {
        sv_expr_problem_free(ep);
        return rc;
    }
    x = malloc((size_t)d.dim * sizeof *x);
    best = malloc((size_t)d.dim * sizeof *best);
    if (d.form == FORM_BENCHMARK && (center = malloc((size_t)d.dim * sizeof *center)))
        cbo_problem_benchmark(&p, &d.bench, center);
    cbo_info info;
    if (!x || !best || (d.form == FORM_BENCHMARK && !center))
        rc = SV_ENOMEM;
    else
        rc = cbo_solve(&p, &s, mon, x, best, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *xs = sv_json_from_vector(x, d.dim);
        json_t *bs = sv_json_from_vector(best, d.dim);
        json_t *values = ep ? sv_expr_problem_values_json(ep, x) : NULL;
        if (!r || !xs || !bs || (ep && !values)) {
            json_decref(r);
            json_decref(xs);
            json_decref(bs);
            json_decref(values);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "spread", sv_codec_real(info.spread));
            json_object_set_new(r, "consensus_move", sv_codec_real(info.consensus_move));
            json_object_set_new(r, "best_objective", sv_codec_real(info.best_obj));
            json_object_set_new(r, "evaluations", json_integer(info.evaluations));
            json_object_set_new(r, "particles", json_integer(s.particles));
            json_object_set_new(r, "dim", json_integer(d.dim));
            json_object_set_new(r, "init_radius", sv_codec_real(info.init_radius));
            json_object_set_new(r, "noise", json_string(
                sv_params_find(cbo_params, "noise")->choices[s.noise]));
            if (d.form == FORM_BENCHMARK)
                json_object_set_new(r, "distance_to_minimizer",
                                    sv_codec_real(cbo_benchmark_distance(&d.bench, x)));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", xs);
            json_object_set_new(r, "best_x", bs);
            if (values)
                json_object_set_new(r, "values", values);
            *result = r;
        }
    }
    sv_expr_problem_free(ep);
    free(x);
    free(best);
    free(center);
    return rc;
}

const sv_codec sv_codec_cbo = {
    .name = "global.cbo",
    .family = "global",
    .summary = "consensus-based optimization: N particles drift towards their exp(-alpha f)-"
               "weighted consensus point under isotropic or anisotropic noise, a derivative-free "
               "global minimizer of black-box functions",
    .paper = "Riedl, Klock, Geldhauser, Fornasier: Gradient is All You Need? How Consensus-Based "
             "Optimization can be Interpreted as a Stochastic Relaxation of Gradient Descent, 2023",
    .doc = "docs/solvers/global/cbo.md",
    .params = cbo_params,
    .settings_size = sizeof(cbo_settings),
    .settings_default = cbo_defaults,
    .problem_schema = cbo_problem_schema,
    .example = cbo_example,
    .validate = cbo_validate,
    .run = cbo_run,
};
