/* distributional.c - the mdp.distributional codec: an episodic tabular MDP (api/mdp_json.h:
 * explicit or generated, horizon >= 1), params into distributional_solve, and the outcome (the
 * objective, the start distribution of c_0 + G, the stock-augmented policy, the expected-return
 * optimum) back into JSON. The doc page is docs/solvers/mdp/distributional.md. */
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/mdp_json.h"
#include "api/params.h"
#include "core/solvers/mdp/distributional.h"

/* Largest policy table (H x S x stock levels) the result carries; a larger one is left out and
 * "policy_omitted" says so. */
#define POLICY_MAX_CELLS 200000L

static int read_settings(const json_t *params, distributional_settings *s, sv_err *e)
{
    distributional_settings_default(s);
    int rc = sv_params_decode(distributional_params, params, s, e);
    return rc != SV_OK ? rc : distributional_check_settings(s, e);
}

/* The model and settings of a job, checked against each other (the stock grid's size). */
static int read_job(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    distributional_settings *s, sv_mdp *m, long *N, sv_err *e)
{
    sv_mdp_desc d;
    int which, rc;
    memset(m, 0, sizeof *m);
    if (!json_is_object(problem))
        return sv_fail(e, "/problem", "expected an object");
    if ((rc = sv_forms_pick(sv_mdp_json_forms, problem, &which, e)) != SV_OK ||
        (rc = sv_mdp_json_read(problem, (sv_mdp_json_form)which, SV_MDP_EPISODIC, env, &d, e)) !=
            SV_OK ||
        (rc = read_settings(params, s, e)) != SV_OK ||
        (rc = sv_mdp_json_build(&d, m, e)) != SV_OK)
        return rc;
    rc = distributional_sizes(m, s, N, NULL, e);
    if (rc != SV_OK)
        sv_mdp_free(m);
    return rc;
}

static void distributional_defaults(void *s)
{
    distributional_settings_default(s);
}

static json_t *distributional_problem_schema(void)
{
    return sv_forms_schema(sv_mdp_json_forms);
}

static json_t *distributional_example(void)
{
    return json_pack("{s:{s:{s:s, s:i}, s:i}, s:{s:s, s:f, s:f, s:i}}", "problem", "generate",
                     "kind", "inventory", "capacity", 10, "horizon", 60, "params", "objective",
                     "cvar", "alpha", 0.2, "stock_step", 0.2, "report_every", 1);
}

static int distributional_validate(const json_t *problem, const json_t *params,
                                   const sv_codec_env *env, sv_err *e)
{
    distributional_settings s;
    sv_mdp m;
    long N;
    int rc = read_job(problem, params, env, &s, &m, &N, e);
    if (rc == SV_OK)
        sv_mdp_free(&m);
    return rc;
}

static json_t *policy_json(const int *pi, const sv_mdp *m, long N)
{
    json_t *hs = json_array();
    for (int h = 0; hs && h < m->H; h++) {
        json_t *ss = json_array();
        for (int s = 0; ss && s < m->S; s++) {
            json_t *ks = json_array();
            for (long k = 0; ks && k < N; k++)
                json_array_append_new(ks, json_integer(pi[((long)h * m->S + s) * N + k]));
            json_array_append_new(ss, ks);
        }
        json_array_append_new(hs, ss);
    }
    return hs;
}

static int distributional_run(const json_t *problem, const json_t *params,
                              const sv_codec_env *env, const sv_monitor *mon, json_t **result,
                              sv_err *e)
{
    distributional_settings s;
    sv_mdp m;
    long N;
    *result = NULL;
    int rc = read_job(problem, params, env, &s, &m, &N, e);
    if (rc != SV_OK)
        return rc;
    long cells = (long)m.H * m.S * N;
    distributional_out out = {0};
    out.atoms = malloc((size_t)N * sizeof *out.atoms);
    out.probs = malloc((size_t)N * sizeof *out.probs);
    out.policy = cells <= POLICY_MAX_CELLS ? malloc((size_t)cells * sizeof *out.policy) : NULL;
    distributional_info info;
    if (!out.atoms || !out.probs || (cells <= POLICY_MAX_CELLS && !out.policy))
        rc = SV_ENOMEM;
    else
        rc = distributional_solve(&m, &s, mon, &out, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        if (!r) {
            rc = SV_ENOMEM;
        } else {
            json_t *dist = json_pack("{s:o, s:o}", "atoms",
                                     sv_json_from_vector(out.atoms, (int)info.n_atoms), "probs",
                                     sv_json_from_vector(out.probs, (int)info.n_atoms));
            json_object_set_new(r, "distribution", dist ? dist : json_null());
            json_object_set_new(r, "stock0", sv_codec_real(info.stock0));
            if (s.objective == DISTRIBUTIONAL_CVAR)
                json_object_set_new(r, "var", sv_codec_real(info.var));
            json_object_set_new(r, "mean_return", sv_codec_real(info.mean_return));
            json_object_set_new(r, "expected_optimal", sv_codec_real(info.expected_optimal));
            json_object_set_new(r, "stock_step", sv_codec_real(info.delta));
            json_object_set_new(r, "exact", json_boolean(info.exact));
            json_object_set_new(r, "stock_error", sv_codec_real(info.stock_error));
            json_object_set_new(r, "model", sv_mdp_json_summary(&m));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_t *grid = json_array();
            for (long k = 0; grid && k < N; k++)
                json_array_append_new(grid, json_real(info.stock_base +
                                                      info.delta * (double)(k + info.klo)));
            if (out.policy && info.n_atoms > 0) {
                json_object_set_new(r, "stock_grid", grid ? grid : json_null());
                json_object_set_new(r, "policy", policy_json(out.policy, &m, N));
            } else {
                json_decref(grid);
                json_object_set_new(r, "policy_omitted", json_true());
            }
            *result = r;
        }
    }
    free(out.atoms);
    free(out.probs);
    free(out.policy);
    sv_mdp_free(&m);
    return rc;
}

const sv_codec sv_codec_distributional = {
    .name = "mdp.distributional",
    .family = "mdp",
    .summary = "stock-augmented distributional dynamic programming: episodic MDP policies of "
               "(step, state, stock) maximising CVaR, an expected utility or a homeostatic "
               "objective of the return distribution, by value or policy iteration",
    .paper = "Pires, Rowland, Borsa, Guo, Khetarpal, Barreto, Abel, Munos, Dabney: Optimizing "
             "Return Distributions with Distributional Dynamic Programming, 2025",
    .doc = "docs/solvers/mdp/distributional.md",
    .params = distributional_params,
    .settings_size = sizeof(distributional_settings),
    .settings_default = distributional_defaults,
    .problem_schema = distributional_problem_schema,
    .example = distributional_example,
    .validate = distributional_validate,
    .run = distributional_run,
};
