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

static const sv_param_spec lvhba_params[] = {
    {"alpha", SV_PARAM_NUMBER, offsetof(lvhba_settings, alpha), 0, INFINITY, 1, NULL,
     "step of (x, y); null: step_factor / (L_f / c0 + 2 L_g + 2 / gamma1) from smoothness "
     "estimates at the start", 0, 0, NULL},
    {"beta", SV_PARAM_NUMBER, offsetof(lvhba_settings, beta), 0, INFINITY, 1, NULL,
     "step of the multiplier variable z; null: step_factor * gamma2", 0, 0, NULL},
    {"eta", SV_PARAM_NUMBER, offsetof(lvhba_settings, eta), 0, INFINITY, 1, NULL,
     "step of the inner pair (theta, lambda); null: step_factor / (L_gy + 1/gamma1 + 1/gamma2 "
     "+ |B|)", 0, 0, NULL},
    {"step_factor", SV_PARAM_NUMBER, offsetof(lvhba_settings, step_factor), 0, 1, 1, NULL,
     "scales the automatic steps, in (0, 1]", 0, 0, NULL},
    {"gamma1", SV_PARAM_NUMBER, offsetof(lvhba_settings, gamma1), 0, INFINITY, 1, NULL,
     "proximal parameter of theta in the proximal Lagrangian value function", 0, 0, NULL},
    {"gamma2", SV_PARAM_NUMBER, offsetof(lvhba_settings, gamma2), 0, INFINITY, 1, NULL,
     "proximal parameter of the multiplier lambda", 0, 0, NULL},
    {"c0", SV_PARAM_NUMBER, offsetof(lvhba_settings, c0), 0, INFINITY, 1, NULL,
     "penalty c_k = c0 (k + 1)^p; the upper objective is weighted 1 / c_k", 0, 0, NULL},
    {"p", SV_PARAM_NUMBER, offsetof(lvhba_settings, p), 0, 0.5, 0, NULL,
     "growth exponent of c_k, in [0, 1/2) (the paper's condition)", 0, 0, NULL},
    {"z_max", SV_PARAM_NUMBER, offsetof(lvhba_settings, z_max), 0, INFINITY, 1, NULL,
     "bound of the multiplier set Z = [0, z_max]^m", 0, 0, NULL},
    {"tol", SV_PARAM_NUMBER, offsetof(lvhba_settings, tol), 0, INFINITY, 0, NULL,
     "stop when the step residual (all variables, scaled by their steps) is <= tol", 0, 0, NULL},
    {"max_iter", SV_PARAM_INT, offsetof(lvhba_settings, max_iter), 0, 1e9, 0, NULL,
     "largest number of iterations", 0, 0, NULL},
    {"time_limit_s", SV_PARAM_NUMBER, offsetof(lvhba_settings, time_limit_s), 0, INFINITY, 0,
     NULL, "wall-clock limit of the solve in seconds; 0: none", 0, 0, NULL},
    {"report_every", SV_PARAM_INT, offsetof(lvhba_settings, report_every), 1, 1e9, 0, NULL,
     "progress report every this many iterations", 0, 0, NULL},
    {"proj_tol", SV_PARAM_NUMBER, offsetof(lvhba_settings, proj_tol), 0, INFINITY, 1, NULL,
     "projection onto {x in X, y in Y, A x + B y <= b}: largest violation left", 0, 0, NULL},
    {"proj_max_sweeps", SV_PARAM_INT, offsetof(lvhba_settings, proj_max_sweeps), 1, 1e9, 0, NULL,
     "sweeps of the projection's dual coordinate ascent (Hildreth)", 0, 0, NULL},
    {"final_tol", SV_PARAM_NUMBER, offsetof(lvhba_settings, final_tol), 0, INFINITY, 1, NULL,
     "lower residual of the exact solve behind the reported true objective", 0, 0, NULL},
    {"seed", SV_PARAM_SEED, offsetof(lvhba_settings, seed), 0, 0, 0, NULL,
     "seed of the power iterations' start vectors", 0, 0, NULL},
    SV_PARAMS_END,
};

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

static json_t *lvhba_params_schema(void)
{
    lvhba_settings s;
    lvhba_settings_default(&s);
    return sv_params_schema(lvhba_params, &s);
}

static json_t *lvhba_example(void)
{
    return json_pack("{s:o, s:{s:f, s:i, s:i}}", "problem", sv_blp_example(SV_BL_CONSTRAINED),
                     "params", "c0", 10.0, "max_iter", 20000, "report_every", 1000);
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
        double obj = isfinite(info.F_exact) ? info.F_exact : info.base.obj;
        json_t *r = sv_codec_result_new(&info.base, obj);
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
                json_pack("{s:o, s:o, s:o}", "alpha", sv_codec_real(info.alpha), "beta",
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
    .params_schema = lvhba_params_schema,
    .problem_schema = sv_blp_schema,
    .example = lvhba_example,
    .validate = lvhba_validate,
    .run = lvhba_run,
};
