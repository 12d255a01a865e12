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
    json_object_set_new(r, "y_sensitivity", sv_codec_real(info.y_sensitivity));
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

static void penalty_defaults(void *s)
{
    penalty_settings_default(s);
}

const sv_codec sv_codec_penalty = {
    .name = "bilevel.penalty",
    .family = "bilevel",
    .summary = "First-order penalty method for bilevel problems: gradient steps on the penalty "
               "function psi_sigma (double loop) or the fully single-loop stochastic variant",
    .paper = "Kwon, Kwon, Wright, Nowak: On Penalty Methods for Nonconvex Bilevel Optimization "
             "and First-Order Stochastic Approximation, ICLR 2024",
    .doc = "docs/solvers/bilevel/penalty.md",
    .params = penalty_params,
    .settings_size = sizeof(penalty_settings),
    .settings_default = penalty_defaults,
    .problem_schema = sv_blp_schema,
    .example = penalty_example,
    .validate = penalty_validate,
    .run = penalty_run,
};
