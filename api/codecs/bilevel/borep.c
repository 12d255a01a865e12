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
#include "api/schedule_json.h"
#include "core/solvers/bilevel/borep.h"

static const sv_param_spec borep_params[] = {
    {"eta", SV_PARAM_NUMBER, offsetof(borep_settings, eta), 0, 1e12, 1, NULL,
     "upper step: the distance x moves per iteration (normalized momentum), times the schedule",
     0, 0, NULL},
    {"beta", SV_PARAM_NUMBER, offsetof(borep_settings, beta), 0, 0.999999, 0, NULL,
     "momentum parameter in [0, 1)", 0, 0, NULL},
    {"gamma", SV_PARAM_NUMBER, offsetof(borep_settings, gamma), 0, INFINITY, 1, NULL,
     "lower-level SGD step; null: 1 / L_g", 0, 0, NULL},
    {"nu", SV_PARAM_NUMBER, offsetof(borep_settings, nu), 0, INFINITY, 1, NULL,
     "step of the linear-system variable z; null: 1 / L_g", 0, 0, NULL},
    {"z_radius", SV_PARAM_NUMBER, offsetof(borep_settings, z_radius), 0, INFINITY, 0, NULL,
     "z is projected onto the ball of this radius; 0: no projection", 0, 0, NULL},
    {"period", SV_PARAM_INT, offsetof(borep_settings, period), 1, 1e9, 0, NULL,
     "I: the lower variable is updated every I iterations (periodic updates)", 0, 0, NULL},
    {"lower_steps", SV_PARAM_INT, offsetof(borep_settings, lower_steps), 0, 1e7, 0, NULL,
     "N: SGD steps of each periodic update", 0, 0, NULL},
    {"init_epochs", SV_PARAM_INT, offsetof(borep_settings, init_epochs), 0, 40, 0, NULL,
     "epochs of the Epoch-SGD initialization refinement (0: none)", 0, 0, NULL},
    {"init_steps", SV_PARAM_INT, offsetof(borep_settings, init_steps), 1, 1e9, 0, NULL,
     "SGD steps of the first refinement epoch (doubled each epoch)", 0, 0, NULL},
    {"batch_upper", SV_PARAM_INT, offsetof(borep_settings, batch_upper), 0, 1e9, 0, NULL,
     "validation rows per batch (0: all)", 0, 0, NULL},
    {"batch_lower", SV_PARAM_INT, offsetof(borep_settings, batch_lower), 0, 1e9, 0, NULL,
     "training rows per batch of gradients and Hessian-vector products (0: all)", 0, 0, NULL},
    {"tol", SV_PARAM_NUMBER, offsetof(borep_settings, tol), 0, INFINITY, 0, NULL,
     "stop when the exact hypergradient norm at a report is at most tol (0: never)", 0, 0, NULL},
    {"max_iter", SV_PARAM_INT, offsetof(borep_settings, max_iter), 0, 1e9, 0, NULL,
     "upper iterations", 0, 0, NULL},
    {"time_limit_s", SV_PARAM_NUMBER, offsetof(borep_settings, time_limit_s), 0, INFINITY, 0,
     NULL, "wall-clock limit of the solve in seconds; 0: none", 0, 0, NULL},
    {"report_every", SV_PARAM_INT, offsetof(borep_settings, report_every), 1, 1e9, 0, NULL,
     "progress report every this many iterations", 0, 0, NULL},
    {"exact_metrics", SV_PARAM_BOOL, offsetof(borep_settings, exact_metrics), 0, 0, 0, NULL,
     "progress reports carry the exact F(x) and |grad F(x)| (extra work, monitoring only)",
     0, 0, NULL},
    {"seed", SV_PARAM_SEED, offsetof(borep_settings, seed), 0, 0, 0, NULL,
     "seed of the mini-batch sampling", 0, 0, NULL},
    SV_PARAMS_END,
};

static int read_settings(const json_t *params, borep_settings *s, sv_err *e)
{
    borep_settings_default(s);
    int rc = sv_codec_params_decode_with_schedule(borep_params, params, &s->schedule, s, e);
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

static json_t *borep_params_schema(void)
{
    borep_settings s;
    borep_settings_default(&s);
    return sv_schedule_schema_add(sv_params_schema(borep_params, &s));
}

static json_t *borep_example(void)
{
    return json_pack("{s:o, s:{s:f, s:s, s:i, s:i, s:i}}", "problem",
                     sv_blp_example(SV_BL_HYPERCLEAN), "params", "eta", 1.0, "schedule",
                     "cosine", "max_iter", 300, "batch_lower", 64, "batch_upper", 64);
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
    json_t *pe = sv_params_encode(borep_params, &s);
    if (pe)
        json_object_set_new(pe, "schedule", sv_schedule_to_json(&s.schedule));
    json_object_set_new(r, "params", pe);
    *result = r;
done:
    sv_blp_free(&d);
    free(x);
    free(y);
    free(z);
    return rc;
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
    .params_schema = borep_params_schema,
    .problem_schema = sv_blp_schema,
    .example = borep_example,
    .validate = borep_validate,
    .run = borep_run,
};
