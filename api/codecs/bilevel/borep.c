/* borep.c - the bilevel.borep codec: a bilevel problem (api/codecs/bilevel/bilevel_problem.h) and params
 * into borep_solve, and its outcome back into JSON. The doc page is docs/solvers/bilevel/borep.md. */
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
#include "core/solvers/bilevel/borep.h"

static int read_settings(const json_t *params, borep_settings *s, sv_err *e)
{
    borep_settings_default(s);
    int rc = sv_params_decode(borep_params, params, s, e);
    if (rc == SV_OK)
        rc = borep_check_settings(s, e);
    return rc;
}

static int read_all(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    sv_blp *d, borep_settings *s, sv_err *e)
{
    int rc = sv_blp_read(problem, env, d, e);
    if (rc == SV_OK)
        rc = sv_blp_refuse_class(d, SV_BL_CONSTRAINED,
                                 "BO-REP needs an unconstrained strongly convex lower level; "
                                 "coupled constraints need bilevel.lvhba",
                                 e);
    if (rc == SV_OK)
        rc = read_settings(params, s, e);
    return rc;
}

static json_t *borep_example(void)
{
    /* the cosine schedule shrinks the normalized steps, so the exact |grad F| falls below tol
     * (about iteration 220 of 300) */
    return json_pack("{s:o, s:{s:f, s:s, s:i, s:i, s:i, s:f, s:i}}", "problem",
                     sv_blp_example(SV_BL_HYPERCLEAN), "params", "eta", 1.0, "schedule",
                     "cosine", "max_iter", 300, "batch_lower", 64, "batch_upper", 64, "tol",
                     5e-5, "report_every", 10);
}

static int borep_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                          sv_err *e)
{
    sv_blp d;
    borep_settings s;
    int rc = read_all(problem, params, env, &d, &s, e);
    if (rc != SV_OK)
        return rc;
    return sv_blp_validate(&d, env, e);
}

static int borep_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                     const sv_monitor *mon, json_t **result, sv_err *e)
{
    sv_blp d;
    borep_settings s;
    double *x = NULL, *y = NULL, *z = NULL;
    *result = NULL;
    int rc = read_all(problem, params, env, &d, &s, e);
    if (rc != SV_OK)
        return rc;
    if ((rc = sv_blp_prepare(&d, env, &x, &y, e)) != SV_OK)
        goto done;
    if (!(z = malloc((size_t)d.dy * sizeof *z))) {
        rc = SV_ENOMEM;
        goto done;
    }
    borep_info info;
    json_t *r;
    if ((rc = borep_solve(&d.prob, &s, mon, x, y, z, &info, e)) != SV_OK ||
        (rc = sv_blp_result_new(&d, &info.base, x, y, &r)) != SV_OK)
        goto done;
    json_object_set_new(r, "z", sv_json_from_vector(z, d.dy));
    json_object_set_new(r, "momentum_norm", sv_codec_real(info.momentum_norm));
    json_object_set_new(r, "z_residual", sv_codec_real(info.z_residual));
    json_object_set_new(r, "gamma", sv_codec_real(info.gamma));
    json_object_set_new(r, "nu", sv_codec_real(info.nu));
    json_object_set_new(r, "lower_updates", json_integer(info.lower_updates));
    json_object_set_new(r, "oracle_calls",
                        json_pack("{s:I, s:I, s:I}", "upper_grads", (json_int_t)info.upper_grads,
                                  "lower_grads", (json_int_t)info.lower_grads, "hvps",
                                  (json_int_t)info.hvps));
    json_object_set_new(r, "params", sv_params_encode(borep_params, &s));
    *result = r;
done:
    sv_blp_free(&d);
    free(x);
    free(y);
    free(z);
    return rc;
}

static void borep_defaults(void *s)
{
    borep_settings_default(s);
}

const sv_codec sv_codec_borep = {
    .name = "bilevel.borep",
    .family = "bilevel",
    .summary = "BO-REP: normalized momentum on the upper variable, initialization refinement "
               "and periodic updates of the lower variable, stochastic gradients and "
               "Hessian-vector products on mini-batches",
    .paper = "Hao, Gong, Liu: Bilevel Optimization under Unbounded Smoothness: A New Algorithm "
             "and Convergence Analysis, ICLR 2024",
    .doc = "docs/solvers/bilevel/borep.md",
    .params = borep_params,
    .settings_size = sizeof(borep_settings),
    .settings_default = borep_defaults,
    .problem_schema = sv_blp_schema,
    .example = borep_example,
    .validate = borep_validate,
    .run = borep_run,
};
