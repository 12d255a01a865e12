/* eal_sketch.c - the constrained.eal_sketch codec: an `expr` problem (equality constraints only,
 * no bounds) or a generated constrained logistic regression, and the params, into eal_sketch_solve;
 * its outcome back into JSON. The doc page is docs/solvers/constrained/eal_sketch.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/expr_problem.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/models/logistic_eq.h"
#include "core/solvers/constrained/eal_sketch.h"

#define EAL_SKETCH_CODEC_NAME "constrained.eal_sketch"

/* ---- parameters ---- */

static const char *const sketch_choices[] = {"kaczmarz", "block", "gaussian", NULL};
static const char *const mult_choices[] = {"zero", "least_squares", NULL};

static const sv_param_spec eal_sketch_params[] = {
    {"tol", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, tol), 0, INFINITY, 0, NULL,
     "stop when the KKT residual |(grad_x L, c)| is at most tol", 0, 0, NULL},
    {"max_iter", SV_PARAM_INT, offsetof(eal_sketch_settings, max_iter), 0, 1e9, 0, NULL,
     "largest number of Newton iterations", 0, 0, NULL},
    {"time_limit_s", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, time_limit_s), 0, INFINITY, 0, NULL,
     "wall-clock limit of the solve in seconds; 0: none", 0, 0, NULL},
    {"report_every", SV_PARAM_INT, offsetof(eal_sketch_settings, report_every), 1, 1e9, 0, NULL,
     "progress report every this many Newton iterations", 0, 0, NULL},
    {"seed", SV_PARAM_SEED, offsetof(eal_sketch_settings, seed), 0, 0, 0, NULL,
     "seed of the random sketches", 0, 0, NULL},
    {"sketch", SV_PARAM_ENUM, offsetof(eal_sketch_settings, sketch), 0, 0, 0, sketch_choices,
     "sketching solver of the Newton system: kaczmarz = randomized Kaczmarz (rows drawn by "
     "squared norm), block = block Kaczmarz (sketch_size uniform rows), gaussian = Gaussian "
     "sketch-and-project (sketch_size columns)", 0, 0, NULL},
    {"sketch_size", SV_PARAM_INT, offsetof(eal_sketch_settings, sketch_size), 1, EAL_SKETCH_MAX_KKT_DIM, 0,
     NULL, "columns of the sketch for block and gaussian (kaczmarz uses 1)", 0, 0, NULL},
    {"max_sketch_iter", SV_PARAM_INT, offsetof(eal_sketch_settings, max_sketch_iter), 1, 1e12, 0, NULL,
     "sketch steps at most per solve of the Newton system", 0, 0, NULL},
    {"mu", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, mu), 0, 1e12, 1, NULL,
     "initial penalty mu on |c|^2 in the exact augmented Lagrangian (raised adaptively)",
     0, 0, NULL},
    {"nu", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, nu), 0, 1e12, 1, NULL,
     "initial penalty nu on |grad_x L|^2 in the exact augmented Lagrangian (lowered adaptively)",
     0, 0, NULL},
    {"delta", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, delta), 0, 1, 1, NULL,
     "initial accuracy parameter delta of the adaptive accuracy condition, < 1", 0, 0, NULL},
    {"delta_min", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, delta_min), 0, 1, 1, NULL,
     "floor of delta, < 1", 0, 0, NULL},
    {"xi_b", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, xi_b), 0, 1e12, 1, NULL,
     "least eigenvalue the reduced Hessian is shifted to when it is not positive definite",
     0, 0, NULL},
    {"beta", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, beta), 0, 0.5, 1, NULL,
     "Armijo constant, < 1/2", 0, 0, NULL},
    {"rho", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, rho), 1, 1e6, 1, NULL,
     "penalty update factor: mu <- rho^2 mu, nu <- nu / rho, delta <- delta / rho^4", 0, 0, NULL},
    {"backtrack", SV_PARAM_NUMBER, offsetof(eal_sketch_settings, backtrack), 0, 1, 1, NULL,
     "step shrink factor of the line search, < 1", 0, 0, NULL},
    {"superlinear", SV_PARAM_BOOL, offsetof(eal_sketch_settings, superlinear), 0, 0, 0, NULL,
     "sharpen the accuracy condition with theta_k = min(1, KKT residual) (local superlinear "
     "convergence) instead of theta_k = 1", 0, 0, NULL},
    {"modify_hessian", SV_PARAM_BOOL, offsetof(eal_sketch_settings, modify_hessian), 0, 0, 0, NULL,
     "check the reduced Hessian (dense eigendecomposition) and shift it when it is not positive "
     "definite; false trusts it", 0, 0, NULL},
    {"multipliers", SV_PARAM_ENUM, offsetof(eal_sketch_settings, multipliers), 0, 0, 0, mult_choices,
     "initial multipliers: zero, or the least-squares estimate at x0", 0, 0, NULL},
    {"exact_fallback", SV_PARAM_BOOL, offsetof(eal_sketch_settings, exact_fallback), 0, 0, 0, NULL,
     "when the sketch runs out of max_sketch_iter steps short of the accuracy and its direction "
     "is not a descent direction, solve the Newton system exactly (LU) instead", 0, 0, NULL},
    SV_PARAMS_END,
};

/* ---- the problem, read ---- */

typedef struct {
    int generated;
    sv_logistic_eq_spec gen;
    const json_t *x0;        /* generated: optional start */
} eal_sketch_desc;

static void expr_opts(sv_expr_problem_opts *o)
{
    sv_expr_problem_opts_default(o);
    o->allow_inequalities = 0;
    o->allow_bounds = 0;
    o->solver = EAL_SKETCH_CODEC_NAME;
}

static int read_int_opt(const json_t *obj, const char *path, const char *key, long min, long max,
                        long dflt, long *out, sv_err *e)
{
    json_t *v;
    char field[96];
    sv_json_optional(obj, path, key, &v, e);
    *out = dflt;
    if (!v)
        return SV_OK;
    return sv_json_int(v, sv_json_path_key(field, sizeof field, path, key), min, max, out, e);
}

static int read_generate(const json_t *problem, const sv_codec_env *env, eal_sketch_desc *d, sv_err *e)
{
    static const char *const top[] = {"generate", "x0", NULL};
    static const char *const allowed[] = {"kind", "n", "d", "m", "seed", "lambda", "unit_norm",
                                          NULL};
    const char *path = "/problem/generate";
    json_t *gen = json_object_get(problem, "generate"), *v;
    int rc;
    if ((rc = sv_json_no_unknown(problem, "/problem", top, e)) != SV_OK ||
        (rc = sv_json_no_unknown(gen, path, allowed, e)) != SV_OK ||
        (rc = sv_json_require(gen, path, "kind", &v, e)) != SV_OK)
        return rc;
    if (!json_is_string(v) || strcmp(json_string_value(v), "logistic_eq") != 0)
        return sv_fail(e, "/problem/generate/kind", "must be \"logistic_eq\"");
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    long n, dim, m, seed;
    if ((rc = sv_json_require(gen, path, "n", &v, e)) != SV_OK ||
        (rc = sv_json_int(v, "/problem/generate/n", 1, lim, &n, e)) != SV_OK ||
        (rc = sv_json_require(gen, path, "d", &v, e)) != SV_OK ||
        (rc = sv_json_int(v, "/problem/generate/d", 1, lim, &dim, e)) != SV_OK ||
        (rc = sv_json_require(gen, path, "m", &v, e)) != SV_OK ||
        (rc = sv_json_int(v, "/problem/generate/m", 0, lim, &m, e)) != SV_OK ||
        (rc = read_int_opt(gen, path, "seed", 0, LONG_MAX, 0, &seed, e)) != SV_OK)
        return rc;
    double lambda = 0.0;
    int unit = 0;
    sv_json_optional(gen, path, "lambda", &v, e);
    if (v && (rc = sv_json_number(v, "/problem/generate/lambda", &lambda, e)) != SV_OK)
        return rc;
    sv_json_optional(gen, path, "unit_norm", &v, e);
    if (v && (rc = sv_json_bool(v, "/problem/generate/unit_norm", &unit, e)) != SV_OK)
        return rc;
    d->generated = 1;
    d->gen = (sv_logistic_eq_spec){(int)n, (int)dim, (int)m, unit, lambda, (uint64_t)seed};
    if ((rc = sv_logistic_eq_check(&d->gen, e)) != SV_OK)
        return rc;
    long max_entries = env && env->max_entries > 0 ? env->max_entries : LONG_MAX;
    if ((double)n * (double)dim > (double)max_entries)
        return sv_fail(e, "/problem/generate/n", "n * d = %.0f exceeds the limit of %ld entries",
                       (double)n * dim, max_entries);
    if (dim + m + unit > EAL_SKETCH_MAX_KKT_DIM)
        return sv_fail(e, "/problem/generate/d", "d + constraints = %ld exceeds %d: the dense "
                       "Newton (KKT) matrix would be too large", dim + m + unit, EAL_SKETCH_MAX_KKT_DIM);
    sv_json_optional(problem, "/problem", "x0", &v, e);
    if (v && (rc = sv_json_vector(v, "/problem/x0", dim, env, NULL, NULL, e)) != SV_OK)
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
    if (sv_json_object(problem, "/problem", e) != SV_OK)
        return SV_EINVAL;
    if (json_object_get(problem, "generate"))
        return read_generate(problem, env, d, e);
    sv_expr_problem_opts o;
    expr_opts(&o);
    int rc = sv_expr_problem_decode(problem, env, &o, ep, e, NULL);
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

static json_t *eal_sketch_params_schema(void)
{
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    return sv_params_schema(eal_sketch_params, &s);
}

static json_t *eal_sketch_problem_schema(void)
{
    json_t *expr = sv_expr_problem_schema();
    json_t *gen = json_pack(
        "{s:s, s:s, s:[s], s:{s:{s:s, s:s}, s:{s:s, s:s}}}", "type", "object", "description",
        "a generated constrained logistic regression: {\"generate\": {\"kind\": \"logistic_eq\", "
        "\"n\": samples, \"d\": features, \"m\": linear equalities, \"seed\"?: 0, \"lambda\"?: 0, "
        "\"unit_norm\"?: false}, \"x0\"?: [d numbers]}; min (1/n) sum log(1 + exp(-y_i z_i'x)) + "
        "(lambda/2)|x|^2 s.t. A x = b (and |x|^2 = 1 with unit_norm)",
        "required", "generate", "properties", "generate", "type", "object", "description",
        "{kind: logistic_eq, n, d, m, seed?, lambda?, unit_norm?}", "x0", "type", "array",
        "description", "starting point (default: all entries 1/sqrt(d))");
    if (expr)
        json_object_set_new(expr, "description",
                            json_string("an `expr` problem (docs/expr.md) with equality "
                                        "constraints only and no bounds"));
    return json_pack("{s:s, s:s, s:[o, o]}", "type", "object", "description",
                     "min f(x) s.t. c(x) = 0: an `expr` problem or a generated constrained "
                     "logistic regression",
                     "oneOf", expr, gen);
}

static json_t *eal_sketch_example(void)
{
    /* hs042 with a vector variable: a nonconvex equality, about ten Newton iterations */
    json_error_t jerr;
    return json_loads(
        "{\"problem\": {\"variables\": {\"x\": {\"size\": 4, \"start\": [1, 1, 1, 1]}},"
        "  \"objective\": \"(x[0]-1)^2 + (x[1]-2)^2 + (x[2]-3)^2 + (x[3]-4)^2\","
        "  \"equalities\": [\"x[0] = 2\", \"x[2]^2 + x[3]^2 = 2\"]},"
        " \"params\": {\"tol\": 1e-8, \"seed\": 1}}",
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
    json_object_set_new(r, "sketch", json_string(sketch_choices[s->sketch]));
    json_object_set_new(r, "sketch_iterations", json_integer(info->sketch_iters));
    json_object_set_new(r, "sketch_capped", json_integer(info->sketch_capped));
    json_object_set_new(r, "exact_solves", json_integer(info->exact_solves));
    json_object_set_new(r, "penalty_increases", json_integer(info->penalty_increases));
    json_object_set_new(r, "hessian_shifts", json_integer(info->hessian_shifts));
    json_object_set_new(r, "backtracks", json_integer(info->backtracks));
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
    .params_schema = eal_sketch_params_schema,
    .problem_schema = eal_sketch_problem_schema,
    .example = eal_sketch_example,
    .validate = eal_sketch_validate,
    .run = eal_sketch_run,
};
