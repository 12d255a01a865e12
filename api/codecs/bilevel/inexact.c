/* inexact.c - the bilevel.inexact codec: a bilevel problem in the shared JSON form
 * (api/codecs/bilevel/bilevel_problem.h: quadratic, hyperclean or hyperparam; the constrained class is
 * bilevel.lvhba's) and params into inexact_solve (MAID), and the outcome back into JSON. The
 * doc page is docs/solvers/bilevel/inexact.md. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/codecs/bilevel/bilevel_problem.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/bilevel/inexact.h"

static int read_all(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    sv_blp *d, inexact_settings *s, sv_err *e)
{
    int rc = sv_blp_read(problem, env, d, e);
    if (rc != SV_OK)
        return rc;
    rc = sv_blp_refuse_class(d, SV_BL_CONSTRAINED,
                             "bilevel.inexact needs an unconstrained lower level; "
                             "use bilevel.lvhba for the constrained class",
                             e);
    if (rc != SV_OK)
        return rc;
    inexact_settings_default(s);
    if ((rc = sv_params_decode(inexact_params, params, s, e)) != SV_OK)
        return rc;
    return inexact_check_settings(s, e);
}

static void inexact_defaults(void *s)
{
    inexact_settings_default(s);
}

static json_t *inexact_example(void)
{
    /* solved (|z| <= tol) after 179 steps, about 0.2 s, a report every 5 steps */
    return json_pack("{s:o, s:{s:i, s:f, s:i}}", "problem", sv_blp_example(SV_BL_HYPERCLEAN),
                     "params", "max_iter", 500, "tol", 1e-6, "report_every", 5);
}

static int inexact_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                            sv_err *e)
{
    sv_blp d;
    inexact_settings s;
    int rc = read_all(problem, params, env, &d, &s, e);
    if (rc != SV_OK)
        return rc;
    return sv_blp_validate(&d, env, e);
}

static int inexact_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                       const sv_monitor *mon, json_t **result, sv_err *e)
{
    sv_blp d;
    inexact_settings s;
    double *x = NULL, *y = NULL;
    *result = NULL;
    memset(&d, 0, sizeof d);
    int rc = read_all(problem, params, env, &d, &s, e);
    if (rc != SV_OK)
        return rc;
    rc = sv_blp_prepare(&d, env, &x, &y, e);
    inexact_info info;
    if (rc == SV_OK)
        rc = inexact_solve(&d.prob, &s, mon, x, y, &info, e);
    if (rc == SV_OK) {
        /* "objective" is f(x, y~) as in the progress events; the exact F(x) is the shared
         * "upper_objective" (sv_blp_encode) */
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        if (!r) {
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "z_norm", sv_codec_real(info.z_norm));
            json_object_set_new(r, "omega", sv_codec_real(info.omega));
            json_object_set_new(r, "eps", sv_codec_real(info.eps));
            json_object_set_new(r, "delta", sv_codec_real(info.delta));
            json_object_set_new(r, "eps_min_seen", sv_codec_real(info.eps_min_seen));
            json_object_set_new(r, "alpha", sv_codec_real(info.alpha));
            json_object_set_new(r, "floor_reached", json_boolean(info.floor_reached));
            json_object_set_new(r, "lower_error", sv_codec_real(info.lower_error));
            json_object_set_new(
                r, "constants",
                json_pack("{s:o, s:o, s:o, s:o, s:o}", "upper_L", sv_codec_real(info.upper_L),
                          "lip_hyy", sv_codec_real(info.lip_hyy), "lip_hxy",
                          sv_codec_real(info.lip_hxy), "lip_fx", sv_codec_real(info.lip_fx),
                          "b_norm", sv_codec_real(info.b_norm)));
            json_object_set_new(
                r, "work",
                json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "lower_grads",
                          (json_int_t)info.lower_grads, "hvps", (json_int_t)info.hvps,
                          "upper_evals", (json_int_t)info.upper_evals, "backtracks",
                          (json_int_t)info.backtracks, "refinements",
                          (json_int_t)info.refinements, "check_refinements",
                          (json_int_t)info.check_refinements));
            json_object_set_new(r, "settings", sv_params_encode(inexact_params, &s));
            rc = sv_blp_encode(&d, x, y, r);
            if (rc == SV_OK)
                *result = r;
            else
                json_decref(r);
        }
    }
    free(x);
    free(y);
    sv_blp_free(&d);
    return rc;
}

const sv_codec sv_codec_inexact = {
    .name = "bilevel.inexact",
    .family = "bilevel",
    .summary = "MAID: hypergradient descent with adaptively inexact lower-level and linear "
               "solves and a backtracking line search certified from inexact values",
    .paper = "Salehi, Mukherjee, Roberts, Ehrhardt: An adaptively inexact first-order method for "
             "bilevel optimization with application to hyperparameter learning, SIAM J. Math. "
             "Data Sci. 2025 (arXiv 2308.10098)",
    .doc = "docs/solvers/bilevel/inexact.md",
    .params = inexact_params,
    .settings_size = sizeof(inexact_settings),
    .settings_default = inexact_defaults,
    .problem_schema = sv_blp_schema,
    .example = inexact_example,
    .validate = inexact_validate,
    .run = inexact_run,
};
