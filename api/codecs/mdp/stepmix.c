/* stepmix.c - the mdp.stepmix codec: an episodic tabular MDP (api/mdp_json.h, explicit or
 * generated) with an optional baseline policy, params into stepmix_solve, and the regret curve
 * and constraint violations back into JSON. The doc page is docs/solvers/mdp/stepmix.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/jsonval.h"
#include "api/mdp_json.h"
#include "api/params.h"
#include "core/solvers/mdp/stepmix.h"

#define BASELINE_PROPERTY                                                                      \
    "\"baseline\": {\"type\": \"array\", \"description\": \"the safe baseline policy pi_b:"   \
    " baseline[s][a] probabilities (the same at every step) or baseline[h][s][a] per step;"    \
    " default: the uniform policy\"}"

static const char *const explicit_members[] = {SV_MDP_JSON_EXPLICIT_MEMBERS, "baseline", NULL};
static const char *const generate_members[] = {SV_MDP_JSON_GENERATE_MEMBERS, "baseline", NULL};

static const sv_problem_form stepmix_forms[] = {
    {.key = "transitions", .members = explicit_members,
     .summary = "an explicit episodic MDP (rewards in [0, 1]) and an optional baseline policy",
     .properties = "{" SV_MDP_JSON_EXPLICIT_PROPERTIES ", " BASELINE_PROPERTY "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a generated episodic MDP (random, or a gridworld with step_cost 0; rewards "
                "must lie in [0, 1]) and an optional baseline policy",
     .fields = sv_mdp_gen_params, .fields_size = sizeof(sv_mdp_gen_spec),
     .properties = "{" SV_MDP_JSON_COMMON_PROPERTIES ", " BASELINE_PROPERTY "}"},
    SV_FORMS_END,
};

/* One row of A probabilities at path into out (NULL: check only). */
static int read_policy_row(const json_t *v, const char *path, int A, double *out, sv_err *e)
{
    char sub[224];
    if (!json_is_array(v) || (long)json_array_size(v) != A)
        return sv_fail(e, path, "expected %d action probabilities", A);
    double sum = 0;
    for (int a = 0; a < A; a++) {
        double p;
        sv_json_path_index(sub, sizeof sub, path, a);
        int rc = sv_json_number(json_array_get(v, (size_t)a), sub, &p, e);
        if (rc != SV_OK)
            return rc;
        if (p < 0)
            return sv_fail(e, sub, "a probability cannot be negative (got %g)", p);
        sum += p;
        if (out)
            out[a] = p;
    }
    if (fabs(sum - 1.0) > 1e-9)
        return sv_fail(e, path, "probabilities must sum to 1 (they sum to %.17g)", sum);
    return SV_OK;
}

/* baseline: [S][A] or [H][S][A], into pi (H S A) when given. */
static int read_baseline(const json_t *v, int H, int S, int A, double *pi, sv_err *e)
{
    const char *path = "/problem/baseline";
    char ph[160], ps[192];
    if (!json_is_array(v) || json_array_size(v) == 0)
        return sv_fail(e, path, "expected baseline[s][a] (%d x %d) or baseline[h][s][a] "
                       "(%d x %d x %d)", S, A, H, S, A);
    const json_t *first = json_array_get(v, 0);
    int per_step = json_is_array(first) && json_array_size(first) > 0 &&
                   json_is_array(json_array_get(first, 0));
    int steps = per_step ? H : 1;
    if (per_step && (long)json_array_size(v) != H)
        return sv_fail(e, path, "expected %d steps of %d states (the horizon), got %zu", H, S,
                       json_array_size(v));
    for (int h = 0; h < steps; h++) {
        const json_t *step = per_step ? json_array_get(v, (size_t)h) : v;
        if (per_step)
            sv_json_path_index(ph, sizeof ph, path, h);
        else
            snprintf(ph, sizeof ph, "%s", path);
        if (!json_is_array(step) || (long)json_array_size(step) != S)
            return sv_fail(e, ph, "expected %d states, each %d action probabilities", S, A);
        for (int s = 0; s < S; s++) {
            sv_json_path_index(ps, sizeof ps, ph, s);
            int rc = read_policy_row(json_array_get(step, (size_t)s), ps, A,
                                     pi ? pi + ((size_t)h * S + s) * A : NULL, e);
            if (rc != SV_OK)
                return rc;
        }
    }
    if (pi && !per_step)
        for (int h = 1; h < H; h++)
            memcpy(pi + (size_t)h * S * A, pi, (size_t)S * A * sizeof *pi);
    return SV_OK;
}

static int read_settings(const json_t *params, stepmix_settings *s, sv_err *e)
{
    stepmix_settings_default(s);
    int rc = sv_params_decode(stepmix_params, params, s, e);
    return rc != SV_OK ? rc : stepmix_check_settings(s, e);
}

/* Everything a run needs: settings, the model (built, checked for rewards in [0, 1]) and the
 * baseline (NULL when absent). On failure nothing stays allocated. */
static int load(const json_t *problem, const json_t *params, const sv_codec_env *env,
                stepmix_settings *s, sv_mdp *m, double **baseline, sv_err *e)
{
    sv_mdp_desc d;
    int which, rc;
    memset(m, 0, sizeof *m);
    *baseline = NULL;
    if (!json_is_object(problem))
        return sv_fail(e, "/problem", "expected an object");
    if ((rc = sv_forms_pick(stepmix_forms, problem, &which, e)) != SV_OK ||
        (rc = sv_mdp_json_read(problem, (sv_mdp_json_form)which, SV_MDP_EPISODIC, env, &d, e)) !=
            SV_OK ||
        (rc = read_settings(params, s, e)) != SV_OK)
        return rc;
    const json_t *bv = json_object_get(problem, "baseline");
    if (bv && (rc = read_baseline(bv, d.H, d.S, d.A, NULL, e)) != SV_OK)
        return rc;
    if ((rc = sv_mdp_json_build(&d, m, e)) != SV_OK)
        return rc;
    if (bv) {
        *baseline = malloc((size_t)d.H * d.S * d.A * sizeof **baseline);
        if (!*baseline)
            rc = SV_ENOMEM;
        else
            rc = read_baseline(bv, d.H, d.S, d.A, *baseline, e);
    }
    if (rc == SV_OK) {
        stepmix_problem p = {m, *baseline};
        rc = stepmix_check_problem(&p, e);
        if (rc != SV_OK && which == SV_MDP_JSON_GENERATE && e &&
            strcmp(e->field, "/problem/rewards") == 0)
            snprintf(e->field, sizeof e->field, "/problem/generate/kind");
    }
    if (rc != SV_OK) {
        sv_mdp_free(m);
        free(*baseline);
        *baseline = NULL;
    }
    return rc;
}

/* ---- the codec ---- */

static void stepmix_defaults(void *s)
{
    stepmix_settings_default(s);
}

static json_t *stepmix_problem_schema(void)
{
    return sv_forms_schema(stepmix_forms);
}

static json_t *stepmix_example(void)
{
    return json_pack("{s:{s:{s:s, s:i, s:i, s:i, s:i}, s:i}, s:{s:s, s:i, s:f, s:i, s:i}}",
                     "problem", "generate", "kind", "random", "states", 6, "actions", 3,
                     "branching", 3, "seed", 1, "horizon", 5, "params", "method", "stepmix",
                     "episodes", 20000, "alpha", 0.1, "seed", 1, "report_every", 500);
}

static int stepmix_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                            sv_err *e)
{
    stepmix_settings s;
    sv_mdp m;
    double *baseline;
    int rc = load(problem, params, env, &s, &m, &baseline, e);
    if (rc == SV_OK) {
        sv_mdp_free(&m);
        free(baseline);
    }
    return rc;
}

static json_t *curve_json(const stepmix_info *info)
{
    json_t *ep = json_array(), *rg = json_array(), *o = json_object();
    if (!ep || !rg || !o) {
        json_decref(ep);
        json_decref(rg);
        json_decref(o);
        return NULL;
    }
    for (int i = 0; i < info->curve_n; i++) {
        json_array_append_new(ep, json_integer(info->curve_episode[i]));
        json_array_append_new(rg, sv_codec_real(info->curve_regret[i]));
    }
    json_object_set_new(o, "episode", ep);
    json_object_set_new(o, "regret", rg);
    return o;
}

static int stepmix_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                       const sv_monitor *mon, json_t **result, sv_err *e)
{
    stepmix_settings s;
    sv_mdp m;
    double *baseline;
    *result = NULL;
    int rc = load(problem, params, env, &s, &m, &baseline, e);
    if (rc != SV_OK)
        return rc;
    stepmix_info info;
    stepmix_problem p = {&m, baseline};
    rc = stepmix_solve(&p, &s, mon, NULL, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.regret);
        json_t *curve = curve_json(&info);
        json_t *model = sv_mdp_json_summary(&m);
        if (!r || !curve || !model) {
            json_decref(r);
            json_decref(curve);
            json_decref(model);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "regret", sv_codec_real(info.regret));
            json_object_set_new(r, "violations", json_integer(info.violations));
            json_object_set_new(r, "regret_exponent", sv_codec_real(info.exponent));
            json_object_set_new(r, "optimal_value", sv_codec_real(info.optimal_value));
            json_object_set_new(r, "baseline_value", sv_codec_real(info.baseline_value));
            json_object_set_new(r, "threshold", sv_codec_real(info.threshold));
            json_object_set_new(r, "min_margin", sv_codec_real(info.min_margin));
            json_object_set_new(r, "mean_weight", sv_codec_real(info.mean_weight));
            json_object_set_new(r, "baseline_episodes", json_integer(info.baseline_episodes));
            json_object_set_new(r, "curve", curve);
            json_object_set_new(r, "model", model);
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            *result = r;
        }
    }
    sv_mdp_free(&m);
    free(baseline);
    return rc;
}

const sv_codec sv_codec_stepmix = {
    .name = "mdp.stepmix",
    .family = "mdp",
    .summary = "conservative exploration in an episodic tabular MDP: StepMix mixes a safe "
               "baseline and the optimistic (UCB) policy step-wise, EpsMix per episode, so "
               "that every episode keeps (1 - alpha) of the baseline's value",
    .paper = "Li, Huang, Shen, Yang: Near-optimal Conservative Exploration in Reinforcement "
             "Learning under Episode-wise Constraints, ICML 2023",
    .doc = "docs/solvers/mdp/stepmix.md",
    .params = stepmix_params,
    .settings_size = sizeof(stepmix_settings),
    .settings_default = stepmix_defaults,
    .problem_schema = stepmix_problem_schema,
    .example = stepmix_example,
    .validate = stepmix_validate,
    .run = stepmix_run,
};
