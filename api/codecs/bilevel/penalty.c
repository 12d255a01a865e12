/* penalty.c - the bilevel.penalty codec: a bilevel problem (api/codecs/bilevel/bilevel_problem.h) and
 * params into penalty_solve, and its outcome back into JSON. The doc page is
 * docs/solvers/bilevel/penalty.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/codecs/bilevel/bilevel_problem.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/bilevel/penalty.h"

static const char *const variant_choices[] = {"double_loop", "single_loop", NULL};

static const sv_param_spec penalty_params[] = {
    {"variant", SV_PARAM_ENUM, offsetof(penalty_settings, variant), 0, 0, 0, variant_choices,
     "double_loop: inner projected-gradient solves and backtracking steps on psi_sigma; "
     "single_loop: the fully single-loop stochastic variant on mini-batches", 0, 0, NULL},
    {"sigma", SV_PARAM_NUMBER, offsetof(penalty_settings, sigma), 0, 1e6, 1, NULL,
     "penalty parameter (the target for the single loop); psi_sigma is within O(sigma) of F",
     0, 0, NULL},
    {"sigma0", SV_PARAM_NUMBER, offsetof(penalty_settings, sigma0), 0, 1e6, 1, NULL,
     "single loop: sigma_k = max(sigma, sigma0 / (k+1)^sigma_decay)", 0, 0, NULL},
    {"sigma_decay", SV_PARAM_NUMBER, offsetof(penalty_settings, sigma_decay), 0, 10, 0, NULL,
     "single loop: decay exponent of sigma_k", 0, 0, NULL},
    {"alpha", SV_PARAM_NUMBER, offsetof(penalty_settings, alpha), 0, INFINITY, 1, NULL,
     "x step; null: automatic (double loop backtracks from 1, single loop 1/L by a secant "
     "estimate)", 0, 0, NULL},
    {"gamma", SV_PARAM_NUMBER, offsetof(penalty_settings, gamma), 0, INFINITY, 1, NULL,
     "y and z step; null: 1 / L_g", 0, 0, NULL},
    {"step_ratio", SV_PARAM_NUMBER, offsetof(penalty_settings, step_ratio), 0, 1e12, 1, NULL,
     "single loop: x steps are at most step_ratio * gamma * sigma_k (two time scales)", 0, 0, NULL},
    {"inner_iters", SV_PARAM_INT, offsetof(penalty_settings, inner_iters), 1, 1e7, 0, NULL,
     "double loop: most projected-gradient steps per inner solve", 0, 0, NULL},
    {"inner_tol", SV_PARAM_NUMBER, offsetof(penalty_settings, inner_tol), 0, INFINITY, 0, NULL,
     "double loop: inner solves stop at this gradient-mapping norm", 0, 0, NULL},
    {"batch_upper", SV_PARAM_INT, offsetof(penalty_settings, batch_upper), 0, 1e9, 0, NULL,
     "single loop: validation rows per batch (0: all)", 0, 0, NULL},
    {"batch_lower", SV_PARAM_INT, offsetof(penalty_settings, batch_lower), 0, 1e9, 0, NULL,
     "single loop: training rows per batch (0: all)", 0, 0, NULL},
    {"tol", SV_PARAM_NUMBER, offsetof(penalty_settings, tol), 0, INFINITY, 0, NULL,
     "double loop: stop when the gradient mapping of psi_sigma is at most tol", 0, 0, NULL},
    {"max_iter", SV_PARAM_INT, offsetof(penalty_settings, max_iter), 0, 1e9, 0, NULL,
     "outer iterations", 0, 0, NULL},
    {"time_limit_s", SV_PARAM_NUMBER, offsetof(penalty_settings, time_limit_s), 0, INFINITY, 0,
     NULL, "wall-clock limit of the solve in seconds; 0: none", 0, 0, NULL},
    {"report_every", SV_PARAM_INT, offsetof(penalty_settings, report_every), 1, 1e9, 0, NULL,
     "progress report every this many iterations", 0, 0, NULL},
    {"exact_metrics", SV_PARAM_BOOL, offsetof(penalty_settings, exact_metrics), 0, 0, 0, NULL,
     "progress reports carry the exact F(x) and |grad F(x)| (second-order work, monitoring "
     "only)", 0, 0, NULL},
    {"seed", SV_PARAM_SEED, offsetof(penalty_settings, seed), 0, 0, 0, NULL,
     "seed of the mini-batch sampling", 0, 0, NULL},
    SV_PARAMS_END,
};

static int read_settings(const json_t *params, penalty_settings *s, sv_err *e)
{
    penalty_settings_default(s);
    int rc = sv_params_decode(penalty_params, params, s, e);
    if (rc == SV_OK)
        rc = penalty_check_settings(s, e);
    return rc;
}

/* Reads problem and params; the penalty method takes every class but the constrained one. */
static int read_all(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    sv_blp *d, penalty_settings *s, sv_err *e)
{
    int rc = sv_blp_read(problem, env, d, e);
    if (rc == SV_OK)
        rc = sv_blp_refuse_class(d, SV_BL_CONSTRAINED,
                                 "bilevel.penalty handles lower-level constraints only as a box "
                                 "of y; coupled constraints need bilevel.lvhba",
                                 e);
    if (rc == SV_OK)
        rc = read_settings(params, s, e);
    return rc;
}

static json_t *penalty_params_schema(void)
{
    penalty_settings s;
    penalty_settings_default(&s);
    return sv_params_schema(penalty_params, &s);
}

static json_t *penalty_example(void)
{
    return json_pack("{s:o, s:{s:f, s:f, s:i, s:i}}", "problem", sv_blp_example(SV_BL_QUADRATIC),
                     "params", "sigma", 1e-3, "tol", 1e-7, "max_iter", 500, "report_every", 1);
}

static int penalty_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                            sv_err *e)
{
    sv_blp d;
    penalty_settings s;
    int rc = read_all(problem, params, env, &d, &s, e);
    if (rc != SV_OK)
        return rc;
    return sv_blp_validate(&d, env, e);
}

static int penalty_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                       const sv_monitor *mon, json_t **result, sv_err *e)
{
    sv_blp d;
    penalty_settings s;
    double *x = NULL, *y = NULL, *ys = NULL;
    *result = NULL;
    int rc = read_all(problem, params, env, &d, &s, e);
    if (rc != SV_OK)
        return rc;
    if ((rc = sv_blp_prepare(&d, env, &x, &y, e)) != SV_OK)
        goto done;
    if (!(ys = malloc((size_t)d.dy * sizeof *ys))) {
        rc = SV_ENOMEM;
        goto done;
    }
    penalty_info info;
    json_t *r;
    if ((rc = penalty_solve(&d.prob, &s, mon, x, y, ys, &info, e)) != SV_OK ||
        (rc = sv_blp_result_new(&d, &info.base, x, y, &r)) != SV_OK)
        goto done;
    json_object_set_new(r, "y_sigma", sv_json_from_vector(ys, d.dy));
    json_object_set_new(r, "sigma", sv_codec_real(info.sigma));
    json_object_set_new(r, "alpha", sv_codec_real(info.alpha));
    json_object_set_new(r, "gamma", sv_codec_real(info.gamma));
    json_object_set_new(r, "psi_grad_norm", sv_codec_real(info.psi_grad_norm));
    json_object_set_new(r, "penalty_gap", sv_codec_real(info.penalty_gap));
    json_object_set_new(r, "oracle_calls",
                        json_pack("{s:I, s:I, s:I}", "upper_grads", (json_int_t)info.upper_grads,
                                  "lower_grads", (json_int_t)info.lower_grads, "inner_steps",
                                  (json_int_t)info.inner_steps));
    json_object_set_new(r, "params", sv_params_encode(penalty_params, &s));
    *result = r;
done:
    sv_blp_free(&d);
    free(x);
    free(y);
    free(ys);
    return rc;
}

const sv_codec sv_codec_penalty = {
    .name = "bilevel.penalty",
    .family = "bilevel",
    .summary = "First-order penalty method for bilevel problems: gradient steps on the penalty "
               "function psi_sigma (double loop) or the fully single-loop stochastic variant",
    .paper = "Kwon, Kwon, Wright, Nowak: On Penalty Methods for Nonconvex Bilevel Optimization "
             "and First-Order Stochastic Approximation, ICLR 2024",
    .doc = "docs/solvers/bilevel/penalty.md",
    .params_schema = penalty_params_schema,
    .problem_schema = sv_blp_schema,
    .example = penalty_example,
    .validate = penalty_validate,
    .run = penalty_run,
};
