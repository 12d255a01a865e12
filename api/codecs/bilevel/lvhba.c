/* lvhba.c - the bilevel.lvhba codec: a bilevel problem in the shared JSON form
 * (api/codecs/bilevel/bilevel_problem.h; made for the constrained class with coupled lower-level
 * constraints A x + B y <= b, and runs on the other classes too) and params into lvhba_solve,
 * and the outcome back into JSON. The doc page is docs/solvers/bilevel/lvhba.md. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/codecs/bilevel/bilevel_problem.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/bilevel/lvhba.h"

static int read_all(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    sv_blp *d, lvhba_settings *s, sv_err *e)
{
    int rc = sv_blp_read(problem, env, d, e);
    if (rc != SV_OK)
        return rc;
    lvhba_settings_default(s);
    if ((rc = sv_params_decode(lvhba_params, params, s, e)) != SV_OK)
        return rc;
    return lvhba_check_settings(s, e);
}

static void lvhba_defaults(void *s)
{
    lvhba_settings_default(s);
}

static json_t *lvhba_example(void)
{
    /* solved (step residual <= 1e-4) after about 59000 iterations, 0.2 s, 30 reports */
    return json_pack("{s:o, s:{s:f, s:f, s:i, s:i}}", "problem",
                     sv_blp_example(SV_BL_CONSTRAINED), "params", "c0", 10.0, "tol", 1e-4,
                     "max_iter", 200000, "report_every", 2000);
}

static int lvhba_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                          sv_err *e)
{
    sv_blp d;
    lvhba_settings s;
    int rc = read_all(problem, params, env, &d, &s, e);
    if (rc != SV_OK)
        return rc;
    return sv_blp_validate(&d, env, e);
}

static int lvhba_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                     const sv_monitor *mon, json_t **result, sv_err *e)
{
    sv_blp d;
    lvhba_settings s;
    double *x = NULL, *y = NULL, *z = NULL;
    *result = NULL;
    memset(&d, 0, sizeof d);
    int rc = read_all(problem, params, env, &d, &s, e);
    if (rc != SV_OK)
        return rc;
    if ((rc = sv_blp_prepare(&d, env, &x, &y, e)) != SV_OK) {
        sv_blp_free(&d);
        return rc;
    }
    const int m = d.prob.n_con;
    z = calloc((size_t)(m > 0 ? m : 1), sizeof *z);
    if (!z)
        rc = SV_ENOMEM;
    lvhba_info info;
    if (rc == SV_OK)
        rc = lvhba_solve(&d.prob, &s, mon, x, y, z, &info, e);
    if (rc == SV_OK) {
        /* "objective" is f(x, y) at the returned iterate, as in the progress events; the exact
         * F(x) is the shared "upper_objective" (sv_blp_encode) */
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        if (!r) {
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "residual", sv_codec_real(info.residual));
            json_object_set_new(r, "value_gap", sv_codec_real(info.value_gap));
            json_object_set_new(r, "max_violation", sv_codec_real(info.max_violation));
            json_object_set_new(r, "ck", sv_codec_real(info.ck));
            json_object_set_new(r, "lower_error", sv_codec_real(info.lower_error));
            json_object_set_new(r, "z", sv_json_from_vector(z, m));
            json_object_set_new(
                r, "steps",
                json_pack("{s:o, s:o, s:o, s:o}", "alpha", sv_codec_real(info.alpha),
                          "alpha_x", sv_codec_real(info.alpha_x), "beta",
                          sv_codec_real(info.beta), "eta", sv_codec_real(info.eta)));
            json_object_set_new(
                r, "smoothness",
                json_pack("{s:o, s:o, s:o}", "L_f", sv_codec_real(info.L_f), "L_g",
                          sv_codec_real(info.L_g), "L_gy", sv_codec_real(info.L_gy)));
            json_object_set_new(r, "grad_evals", json_integer((json_int_t)info.grad_evals));
            json_object_set_new(r, "proj_sweeps", json_integer((json_int_t)info.proj_sweeps));
            json_object_set_new(r, "settings", sv_params_encode(lvhba_params, &s));
            rc = sv_blp_encode(&d, x, y, r);
            if (rc == SV_OK)
                *result = r;
            else
                json_decref(r);
        }
    }
    free(x);
    free(y);
    free(z);
    sv_blp_free(&d);
    return rc;
}

const sv_codec sv_codec_lvhba = {
    .name = "bilevel.lvhba",
    .family = "bilevel",
    .summary = "LV-HBA: single-loop, Hessian-free bilevel method on the proximal Lagrangian "
               "value function, for lower levels with constraints coupling x and y",
    .paper = "Yao, Yu, Zeng, Zhang: Constrained Bi-Level Optimization: Proximal Lagrangian "
             "Value Function Approach and Hessian-free Algorithm, ICLR 2024",
    .doc = "docs/solvers/bilevel/lvhba.md",
    .params = lvhba_params,
    .settings_size = sizeof(lvhba_settings),
    .settings_default = lvhba_defaults,
    .problem_schema = sv_blp_schema,
    .example = lvhba_example,
    .validate = lvhba_validate,
    .run = lvhba_run,
};
