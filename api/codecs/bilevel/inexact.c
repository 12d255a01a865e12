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

static const char *const lower_choices[] = {"agd", "newton", NULL};

static const sv_param_spec inexact_params[] = {
    {"eps0", SV_PARAM_NUMBER, offsetof(inexact_settings, eps0), 0, INFINITY, 1, NULL,
     "starting lower-level accuracy epsilon_0: |y - y*(x)| certified by |grad_y g| / mu",
     0, 0, NULL},
    {"delta0", SV_PARAM_NUMBER, offsetof(inexact_settings, delta0), 0, INFINITY, 1, NULL,
     "starting accuracy delta_0 of the linear solve inside the hypergradient", 0, 0, NULL},
    {"alpha0", SV_PARAM_NUMBER, offsetof(inexact_settings, alpha0), 0, INFINITY, 1, NULL,
     "first trial step; null: 1 / |z_0| (a first step of length 1)", 0, 0, NULL},
    {"rho", SV_PARAM_NUMBER, offsetof(inexact_settings, rho), 0, 1, 1, NULL,
     "backtracking factor in (0, 1)", 0, 0, NULL},
    {"rho_bar", SV_PARAM_NUMBER, offsetof(inexact_settings, rho_bar), 1, 100, 0, NULL,
     "step increase after an accepted step (>= 1)", 0, 0, NULL},
    {"nu", SV_PARAM_NUMBER, offsetof(inexact_settings, nu), 0, 1, 1, NULL,
     "accuracy tightening factor in (0, 1) when the descent test or the line search fails",
     0, 0, NULL},
    {"nu_bar", SV_PARAM_NUMBER, offsetof(inexact_settings, nu_bar), 1, 100, 0, NULL,
     "accuracy loosening factor after an accepted step (>= 1)", 0, 0, NULL},
    {"eta", SV_PARAM_NUMBER, offsetof(inexact_settings, eta), 0, 1, 1, NULL,
     "descent test of Algorithm 3.2: the error bound omega must be <= (1 - eta)|z|", 0, 0, NULL},
    {"armijo", SV_PARAM_NUMBER, offsetof(inexact_settings, armijo), 0, 1, 1, NULL,
     "certified sufficient decrease armijo * alpha * |z|^2, below eta", 0, 0, NULL},
    {"max_bt", SV_PARAM_INT, offsetof(inexact_settings, max_bt), 1, 1000, 0, NULL,
     "line-search trials at first; one more after each failure in the same iteration", 0, 0, NULL},
    {"max_refine", SV_PARAM_INT, offsetof(inexact_settings, max_refine), 1, 10000, 0, NULL,
     "accuracy tightenings allowed in one iteration", 0, 0, NULL},
    {"eps_min", SV_PARAM_NUMBER, offsetof(inexact_settings, eps_min), 0, INFINITY, 1, NULL,
     "floor of epsilon and delta; the solve stops when no step can be certified there", 0, 0, NULL},
    {"descent_check", SV_PARAM_BOOL, offsetof(inexact_settings, descent_check), 0, 0, 0,
     NULL, "run Algorithm 3.2's test with the a-posteriori error bound (constants estimated "
     "by finite differences unless given)", 0, 0, NULL},
    {"upper_convex", SV_PARAM_BOOL, offsetof(inexact_settings, upper_convex), 0, 0, 0, NULL,
     "f(x, .) is convex in y: the tighter lower bound of the paper's remark", 0, 0, NULL},
    {"lower_solver", SV_PARAM_ENUM, offsetof(inexact_settings, lower_solver), 0, 0, 0,
     lower_choices, "agd: accelerated gradient descent with the class's mu and L; newton: the "
     "class's own solver or Newton-CG", 0, 0, NULL},
    {"lower_max_iter", SV_PARAM_INT, offsetof(inexact_settings, lower_max_iter), 1, 1e9, 0,
     NULL, "iterations of one lower-level solve", 0, 0, NULL},
    {"cg_max_iter", SV_PARAM_INT, offsetof(inexact_settings, cg_max_iter), 1, 1e9, 0, NULL,
     "iterations of one conjugate-gradient solve", 0, 0, NULL},
    {"upper_L", SV_PARAM_NUMBER, offsetof(inexact_settings, upper_L), 0, INFINITY, 0, NULL,
     "smoothness of f(x, .) in y; null: estimated at the start", 0, 0, NULL},
    {"lip_hyy", SV_PARAM_NUMBER, offsetof(inexact_settings, lip_hyy), 0, INFINITY, 0, NULL,
     "Lipschitz constant in y of the lower Hessian grad^2_yy g; null: estimated", 0, 0, NULL},
    {"lip_hxy", SV_PARAM_NUMBER, offsetof(inexact_settings, lip_hxy), 0, INFINITY, 0, NULL,
     "Lipschitz constant in y of the cross Hessian grad^2_xy g; null: estimated", 0, 0, NULL},
    {"tol", SV_PARAM_NUMBER, offsetof(inexact_settings, tol), 0, INFINITY, 0, NULL,
     "stop when the inexact hypergradient's norm (projected step with a box) is <= tol",
     0, 0, NULL},
    {"max_iter", SV_PARAM_INT, offsetof(inexact_settings, max_iter), 0, 1e9, 0, NULL,
     "largest number of accepted upper-level steps", 0, 0, NULL},
    {"time_limit_s", SV_PARAM_NUMBER, offsetof(inexact_settings, time_limit_s), 0, INFINITY,
     0, NULL, "wall-clock limit of the solve in seconds; 0: none", 0, 0, NULL},
    {"report_every", SV_PARAM_INT, offsetof(inexact_settings, report_every), 1, 1e9, 0, NULL,
     "progress report every this many accepted steps", 0, 0, NULL},
    {"final_tol", SV_PARAM_NUMBER, offsetof(inexact_settings, final_tol), 0, INFINITY, 1,
     NULL, "lower residual of the exact solve behind the reported true objective", 0, 0, NULL},
    {"seed", SV_PARAM_SEED, offsetof(inexact_settings, seed), 0, 0, 0, NULL,
     "seed of the random directions of the constant estimates", 0, 0, NULL},
    SV_PARAMS_END,
};

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

static json_t *inexact_params_schema(void)
{
    inexact_settings s;
    inexact_settings_default(&s);
    return sv_params_schema(inexact_params, &s);
}

static json_t *inexact_example(void)
{
    return json_pack("{s:o, s:{s:i, s:f}}", "problem", sv_blp_example(SV_BL_HYPERCLEAN),
                     "params", "max_iter", 40, "tol", 1e-6);
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
        double obj = isfinite(info.F_exact) ? info.F_exact : info.base.obj;
        json_t *r = sv_codec_result_new(&info.base, obj);
        if (!r) {
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "inexact_objective", sv_codec_real(info.base.obj));
            json_object_set_new(r, "z_norm", sv_codec_real(info.z_norm));
            json_object_set_new(r, "omega", sv_codec_real(info.omega));
            json_object_set_new(r, "eps", sv_codec_real(info.eps));
            json_object_set_new(r, "delta", sv_codec_real(info.delta));
            json_object_set_new(r, "eps_min_seen", sv_codec_real(info.eps_min_seen));
            json_object_set_new(r, "alpha", sv_codec_real(info.alpha));
            json_object_set_new(r, "floor_reached", json_boolean(info.floor_reached));
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
    .params_schema = inexact_params_schema,
    .problem_schema = sv_blp_schema,
    .example = inexact_example,
    .validate = inexact_validate,
    .run = inexact_run,
};
