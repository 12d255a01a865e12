/* mfac.c - the secondorder.mfac codec: a linear model (explicit data or a generated instance with
 * a chosen condition number) and the M-FAC parameters (with the shared "schedule" field) into
 * mfac_solve, and its outcome back into JSON. The doc page is docs/solvers/secondorder/mfac.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/glm_json.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "api/schedule_json.h"
#include "core/solvers/secondorder/mfac.h"

/* ---- parameters ---- */

static const char *const mode_choices[] = {"optimize", "prune", NULL};
static const char *const precond_choices[] = {"mfac", "none", NULL};
static const char *const obs_choices[] = {"independent", "group", NULL};

static const sv_param_spec mfac_params[] = {
    {"mode", SV_PARAM_ENUM, offsetof(mfac_settings, mode), 0, 0, 0, mode_choices,
     "optimize: M-FAC preconditioned SGD (the dynamic algorithm); prune: fit for max_iter steps, "
     "then optimal-brain-surgeon pruning to the target sparsity (the static algorithm)",
     0, 0, NULL},
    {"preconditioner", SV_PARAM_ENUM, offsetof(mfac_settings, precond), 0, 0, 0, precond_choices,
     "optimizer steps: mfac = the inverse empirical Fisher of the last `window` gradients; "
     "none = plain SGD with the same momentum and schedule", 0, 0, NULL},
    {"window", SV_PARAM_INT, offsetof(mfac_settings, window), 1, MFAC_MAX_WINDOW, 0, NULL,
     "m of the optimizer: gradients in the sliding window", 0, 0, NULL},
    {"damp", SV_PARAM_NUMBER, offsetof(mfac_settings, damp), 0, INFINITY, 1, NULL,
     "dampening lambda of F = lambda I + (1/m) sum g g' (relative by default, see "
     "damp_relative); null: 0.1 for the window, 0.001 for the pruning Fisher", 0, 0, NULL},
    {"damp_relative", SV_PARAM_BOOL, offsetof(mfac_settings, damp_relative), 0, 0, 0, NULL,
     "true: lambda = damp * the mean diagonal of (1/m) sum g g', recomputed as the window "
     "changes; false: lambda = damp", 0, 0, NULL},
    {"lr", SV_PARAM_NUMBER, offsetof(mfac_settings, lr), 0, INFINITY, 1, NULL,
     "largest step size (the schedule scales it)", 0, 0, NULL},
    {"momentum", SV_PARAM_NUMBER, offsetof(mfac_settings, momentum), 0, 1, 0, NULL,
     "beta in [0, 1): v = beta v + (1 - beta) direction, x = x - lr v", 0, 0, NULL},
    {"batch_size", SV_PARAM_INT, offsetof(mfac_settings, batch_size), 0, INT_MAX, 0, NULL,
     "rows per stochastic gradient (seeded, without replacement within an epoch); 0 = all",
     0, 0, NULL},
    {"fisher_grads", SV_PARAM_INT, offsetof(mfac_settings, fisher_grads), 1, MFAC_MAX_WINDOW, 0,
     NULL, "prune: m of the static algorithm, gradients in the pruning Fisher (a few times the "
     "dimension gives an accurate Fisher; fewer gives the paper's low-rank-plus-damping regime)",
     0, 0, NULL},
    {"fisher_batch_size", SV_PARAM_INT, offsetof(mfac_settings, fisher_batch_size), 1, INT_MAX,
     0, NULL, "prune: rows averaged into each Fisher gradient (1 = per-sample gradients)",
     0, 0, NULL},
    {"seed", SV_PARAM_SEED, offsetof(mfac_settings, seed), 0, 0, 0, NULL,
     "seed of the mini-batch and Fisher sampling", 0, 0, NULL},
    {"tol", SV_PARAM_NUMBER, offsetof(mfac_settings, tol), 0, INFINITY, 0, NULL,
     "stop an optimizer phase when |grad f| <= tol (checked at reports, or every step with "
     "full gradients); 0: never", 0, 0, NULL},
    {"max_iter", SV_PARAM_INT, offsetof(mfac_settings, max_iter), 0, 1e9, 0, NULL,
     "optimizer steps (prune mode: the fit before pruning, 0 = prune x0 as given); the budget of "
     "the schedule", 0, 0, NULL},
    {"time_limit_s", SV_PARAM_NUMBER, offsetof(mfac_settings, time_limit_s), 0, INFINITY, 0,
     NULL, "wall-clock limit of the solve in seconds; 0: none", 0, 0, NULL},
    {"report_every", SV_PARAM_INT, offsetof(mfac_settings, report_every), 1, 1e9, 0, NULL,
     "progress report every this many steps", 0, 0, NULL},
    {"sparsity", SV_PARAM_NUMBER, offsetof(mfac_settings, sparsity), 0, 1, 0, NULL,
     "prune: fraction of the weights set to zero, in [0, 1)", 0, 0, NULL},
    {"prune_steps", SV_PARAM_INT, offsetof(mfac_settings, prune_steps), 1, 1000, 0, NULL,
     "prune: rounds to reach the sparsity (geometric density schedule), each with a fresh Fisher",
     0, 0, NULL},
    {"finetune_iter", SV_PARAM_INT, offsetof(mfac_settings, finetune_iter), 0, 1e9, 0, NULL,
     "prune: optimizer steps after pruning with the removed weights held at zero", 0, 0, NULL},
    {"finetune_lr", SV_PARAM_NUMBER, offsetof(mfac_settings, finetune_lr), 0, INFINITY, 1, NULL,
     "prune: largest step size of the fine-tune; null: lr", 0, 0, NULL},
    {"obs_update", SV_PARAM_ENUM, offsetof(mfac_settings, obs_update), 0, 0, 0, obs_choices,
     "prune: independent = the removed weights' single-weight OBS corrections summed (the "
     "authors' pruner); group = the exact multi-weight OBS step for the removed set", 0, 0, NULL},
    SV_PARAMS_END,
};

/* ---- the problem, read but not yet built ---- */

typedef enum { FORM_DATA, FORM_GENERATE } mfac_form;

typedef struct {
    mfac_form form;
    int dim;
    sv_loss loss;
    double lambda;
    const json_t *A, *b, *w;   /* FORM_DATA */
    mfac_gen_spec gen;         /* FORM_GENERATE */
    const json_t *x0;          /* NULL = zeros */
} mfac_desc;

static int read_problem(const json_t *problem, const sv_codec_env *env, mfac_desc *d, sv_err *e);
static int read_data(const json_t *problem, const sv_codec_env *env, mfac_desc *d, sv_err *e);
static int read_generate(const json_t *gen, const sv_codec_env *env, mfac_desc *d, sv_err *e);
static int read_number_opt(const json_t *obj, const char *path, const char *key, double min,
                           double max, double *out, sv_err *e);
static int read_settings(const json_t *params, mfac_settings *s, sv_err *e);

/* ============================================================================================
 * Reading the problem (no allocation of problem data)
 * ========================================================================================== */

static int read_problem(const json_t *problem, const sv_codec_env *env, mfac_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    if (sv_json_object(problem, "/problem", e) != SV_OK)
        return SV_EINVAL;
    int forms = !!json_object_get(problem, "A") + !!json_object_get(problem, "generate");
    if (forms != 1)
        return sv_fail(e, "/problem", forms ? "give only one of A (with b) and generate"
                                            : "needs A and b (a linear model) or generate");
    int rc;
    if (json_object_get(problem, "generate")) {
        static const char *const allowed[] = {"generate", "x0", NULL};
        if ((rc = sv_json_no_unknown(problem, "/problem", allowed, e)) != SV_OK ||
            (rc = read_generate(json_object_get(problem, "generate"), env, d, e)) != SV_OK)
            return rc;
    } else if ((rc = read_data(problem, env, d, e)) != SV_OK) {
        return rc;
    }
    return sv_glm_json_x0(problem, d->dim, env, &d->x0, e);
}

static int read_data(const json_t *problem, const sv_codec_env *env, mfac_desc *d, sv_err *e)
{
    sv_glm_json_model m;
    int rc = sv_glm_json_read_model(problem, env, &m, e);
    if (rc != SV_OK)
        return rc;
    d->form = FORM_DATA;
    d->dim = m.dim;
    d->loss = m.loss;
    d->lambda = m.lambda;
    d->A = m.A;
    d->b = m.b;
    d->w = m.w;
    return SV_OK;
}

static int read_generate(const json_t *gen, const sv_codec_env *env, mfac_desc *d, sv_err *e)
{
    static const char *const allowed[] = {"rows", "dim", "loss", "lambda", "condition",
                                          "correlation", "noise", "seed", NULL};
    const char *path = "/problem/generate";
    int rc;
    if ((rc = sv_json_object(gen, path, e)) != SV_OK ||
        (rc = sv_json_no_unknown(gen, path, allowed, e)) != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    long rows, dim, seed = 0;
    json_t *v;
    mfac_gen_spec *g = &d->gen;
    g->lambda = 0.0;
    g->condition = 1.0;
    g->correlation = 0.0;
    g->noise = 0.1;
    if ((rc = sv_json_require(gen, path, "rows", &v, e)) != SV_OK ||
        (rc = sv_json_int(v, "/problem/generate/rows", 1, lim, &rows, e)) != SV_OK ||
        (rc = sv_json_require(gen, path, "dim", &v, e)) != SV_OK ||
        (rc = sv_json_int(v, "/problem/generate/dim", 1, lim, &dim, e)) != SV_OK ||
        (rc = sv_glm_json_loss(gen, path, SV_LOSS_SQUARED, &d->loss, e)) != SV_OK ||
        (rc = sv_glm_json_lambda(gen, path, &g->lambda, e)) != SV_OK ||
        (rc = read_number_opt(gen, path, "condition", 1, MFAC_GEN_MAX_CONDITION, &g->condition,
                              e)) != SV_OK ||
        (rc = read_number_opt(gen, path, "correlation", 0, nextafter(1.0, 0.0), &g->correlation,
                              e)) != SV_OK ||
        (rc = read_number_opt(gen, path, "noise", 0, INFINITY, &g->noise, e)) != SV_OK ||
        (rc = sv_glm_json_seed(gen, path, &seed, e)) != SV_OK)
        return rc;
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    if ((double)rows * (double)dim > (double)max_entries)
        return sv_fail(e, path, "rows * dim = %.0f exceeds the limit of %ld matrix entries",
                       (double)rows * (double)dim, max_entries);
    d->form = FORM_GENERATE;
    d->dim = (int)dim;
    d->lambda = g->lambda;
    g->rows = (int)rows;
    g->dim = (int)dim;
    g->loss = d->loss;
    g->seed = (uint64_t)seed;
    return SV_OK;
}

/* obj[key] when present: a number in [min, max] into *out (left as it is when absent). */
static int read_number_opt(const json_t *obj, const char *path, const char *key, double min,
                           double max, double *out, sv_err *e)
{
    json_t *v;
    char field[96];
    sv_json_optional(obj, path, key, &v, e);
    if (!v)
        return SV_OK;
    sv_json_path_key(field, sizeof field, path, key);
    double x;
    if (sv_json_number(v, field, &x, e) != SV_OK)
        return SV_EINVAL;
    if (x < min || x > max) {
        if (max == nextafter(1.0, 0.0))
            return sv_fail(e, field, "must be in [%g, 1), got %g", min, x);
        if (isinf(max))
            return sv_fail(e, field, "must be >= %g, got %g", min, x);
        return sv_fail(e, field, "must be in [%g, %g], got %g", min, max, x);
    }
    *out = x;
    return SV_OK;
}

static int read_settings(const json_t *params, mfac_settings *s, sv_err *e)
{
    mfac_settings_default(s);
    return sv_codec_params_decode_with_schedule(mfac_params, params, &s->schedule, s, e);
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static json_t *mfac_params_schema(void)
{
    mfac_settings s;
    mfac_settings_default(&s);
    json_t *schema = sv_schedule_schema_add(sv_params_schema(mfac_params, &s));
    /* this solver's schedule default is cosine, not the shared constant */
    json_t *sch = json_object_get(json_object_get(schema, "properties"), "schedule");
    if (sch)
        json_object_set_new(sch, "default", json_string(sv_schedule_kind_name(s.schedule.kind)));
    return schema;
}

static json_t *mfac_problem_schema(void)
{
    json_t *props = json_pack(
        "{s:{s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:[s,s]}, s:{s:s, s:i}, s:{s:s, s:s},"
        " s:{s:s, s:s}}",
        "A", "description", "matrix (nested arrays, {rows,cols,data}, CSR or COO), rows x d",
        "b", "type", "array", "description", "targets, one per row (logistic: -1 or 1)",
        "w", "type", "array", "description", "sample weights >= 0, one per row (default all 1)",
        "loss", "type", "string", "enum", "squared", "logistic",
        "lambda", "type", "number", "minimum", 0,
        "generate", "type", "object", "description",
        "{rows, dim, loss? (squared), lambda? (0), condition? (1), correlation? (0), noise? (0.1), "
        "seed? (0)}: a_j = s_j (sqrt(1 - rho) z_j + sqrt(rho) z0), z ~ N(0, I), "
        "s_j = condition^(-j / (2 (dim - 1))); planted x* ~ N(0, I); b = a'x* + noise eps "
        "(squared) or a label drawn with probability sigmoid(a'x*) (logistic)",
        "x0", "type", "array", "description", "starting point, or the weights to prune "
        "(default zeros)");
    return json_pack("{s:s, s:s, s:[{s:s, s:[s,s], s:o}, {s:s, s:[s], s:o}]}",
                     "type", "object", "description",
                     "f(x) = (1/rows) sum_i w_i l(a_i'x; b_i) + (lambda/2)|x|^2 with the squared "
                     "or logistic loss",
                     "oneOf", "description", "linear model", "required", "A", "b", "properties",
                     props, "description", "generated linear model", "required", "generate",
                     "properties", json_deep_copy(props));
}

static json_t *mfac_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:f, s:i}}, s:{s:s, s:i, s:f, s:i, s:s, s:i, s:i}}",
                     "problem", "generate", "rows", 1000, "dim", 30, "condition", 1e3, "seed", 1,
                     "params", "mode", "prune", "max_iter", 500, "sparsity", 0.5,
                     "prune_steps", 2, "obs_update", "group", "finetune_iter", 300,
                     "report_every", 25);
}

static int mfac_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                         sv_err *e)
{
    mfac_desc d;
    mfac_settings s;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    return mfac_check_settings(&s, d.dim, e);
}

/* The model: generated or read from the JSON. *w gets the sample weights (or stays NULL). */
static int build_model(const mfac_desc *d, const sv_codec_env *env, mfac_instance *inst,
                       double **w, sv_err *e)
{
    int rc;
    if (d->form == FORM_GENERATE)
        return mfac_generate(&d->gen, inst, e);
    memset(inst, 0, sizeof *inst);
    if ((rc = sv_json_matrix(d->A, "/problem/A", -1, d->dim, env, &inst->A, e)) != SV_OK ||
        (rc = sv_json_vector(d->b, "/problem/b", inst->A.rows, env, &inst->b, NULL, e)) != SV_OK ||
        (d->w && (rc = sv_json_vector(d->w, "/problem/w", inst->A.rows, env, w, NULL, e)) != SV_OK)) {
        mfac_instance_free(inst);
        return rc;
    }
    inst->glm.loss = d->loss;
    inst->glm.A = &inst->A;
    inst->glm.b = inst->b;
    inst->glm.w = *w;
    inst->glm.lambda = d->lambda;
    inst->glm.lambda_vec = NULL;
    return SV_OK;
}

static int mfac_run_job(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        const sv_monitor *mon, json_t **result, sv_err *e)
{
    mfac_desc d;
    mfac_settings s;
    mfac_instance inst;
    double *x = NULL, *w = NULL;
    int rc;
    memset(&inst, 0, sizeof inst);
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = mfac_check_settings(&s, d.dim, e)) != SV_OK)
        return rc;
    if (d.x0)
        rc = sv_json_vector(d.x0, "/problem/x0", d.dim, env, &x, NULL, e);
    else if (!(x = calloc((size_t)d.dim, sizeof *x)))
        rc = SV_ENOMEM;
    if (rc != SV_OK)
        return rc;
    if ((rc = build_model(&d, env, &inst, &w, e)) != SV_OK) {
        free(x);
        return rc;
    }

    mfac_problem p = {&inst.glm};
    mfac_info info;
    rc = mfac_solve(&p, &s, mon, x, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *xs = sv_json_from_vector(x, d.dim);
        if (!r || !xs) {
            json_decref(r);
            json_decref(xs);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "grad_norm", sv_codec_real(info.grad_norm));
            json_object_set_new(r, "objective_initial", sv_codec_real(info.obj_initial));
            json_object_set_new(r, "lr_final", sv_codec_real(info.lr_final));
            json_object_set_new(r, "ihvp_count", json_integer(info.ihvp_count));
            json_object_set_new(r, "window_updates", json_integer(info.window_updates));
            json_object_set_new(r, "mode", json_string(mode_choices[s.mode]));
            json_object_set_new(r, "preconditioner", json_string(precond_choices[s.precond]));
            json_object_set_new(r, "schedule", sv_schedule_to_json(&s.schedule));
            if (s.mode == MFAC_MODE_PRUNE) {
                long nnz = 0;
                for (int j = 0; j < d.dim; j++)
                    nnz += x[j] != 0.0;
                json_object_set_new(
                    r, "pruning",
                    json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:s}",
                              "fit_status", sv_status_name(info.fit_status),
                              "objective_dense", sv_codec_real(info.obj_dense),
                              "objective_pruned", sv_codec_real(info.obj_pruned),
                              "objective_magnitude", sv_codec_real(info.obj_magnitude),
                              "objective_final", sv_codec_real(info.base.obj),
                              "saliency", sv_codec_real(info.saliency),
                              "pruned", (json_int_t)info.pruned,
                              "rounds", (json_int_t)info.prune_rounds,
                              "nonzeros", (json_int_t)nnz,
                              "sparsity", sv_codec_real(info.sparsity),
                              "obs_update", obs_choices[s.obs_update]));
            }
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", xs);
            *result = r;
        }
    }
    mfac_instance_free(&inst);
    free(w);
    free(x);
    return rc;
}

const sv_codec sv_codec_mfac = {
    .name = "secondorder.mfac",
    .family = "secondorder",
    .summary = "M-FAC: SGD preconditioned by the inverse empirical Fisher of a sliding window of "
               "gradients, and optimal-brain-surgeon pruning with matrix-free inverse-Fisher "
               "entries, on least-squares and logistic models",
    .paper = "Frantar, Kurtic, Alistarh: M-FAC: Efficient Matrix-Free Approximations of "
             "Second-Order Information, NeurIPS 2021",
    .doc = "docs/solvers/secondorder/mfac.md",
    .params_schema = mfac_params_schema,
    .problem_schema = mfac_problem_schema,
    .example = mfac_example,
    .validate = mfac_validate,
    .run = mfac_run_job,
};
