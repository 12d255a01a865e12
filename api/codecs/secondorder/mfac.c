/* mfac.c - the secondorder.mfac codec: a linear model (explicit data or a generated instance with
 * a chosen condition number, core/solvers/secondorder/mfac_gen.h) and the M-FAC parameters
 * (core's mfac_params, with the shared "schedule" member) into mfac_solve, and its outcome back
 * into JSON. The doc page is docs/solvers/secondorder/mfac.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/glm_json.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "api/schedule_json.h"
#include "core/solvers/secondorder/mfac.h"
#include "core/solvers/secondorder/mfac_gen.h"

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

/* The forms of "problem", in the order of mfac_form. */
static const char *const data_members[] = {"A", "b", "w", "loss", "lambda", "x0", NULL};
static const char *const generate_members[] = {"generate", "x0", NULL};
static const sv_problem_form mfac_forms[] = {
    {.key = "A", .members = data_members,
     .summary = "a linear model: f(x) = (1/rows) sum_i w_i l(a_i'x; b_i) + (lambda/2)|x|^2",
     .properties =
         "{\"A\": {\"description\": \"matrix (nested arrays, {rows,cols,data}, CSR or COO), rows x d\"},"
         " \"b\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"
         " \"description\": \"targets, one per row (logistic: -1 or 1)\"},"
         " \"w\": {\"type\": \"array\", \"items\": {\"type\": \"number\", \"minimum\": 0},"
         " \"description\": \"sample weights, one per row (default all 1)\"},"
         " \"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\"],"
         " \"default\": \"squared\"},"
         " \"lambda\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0,"
         " \"description\": \"ridge weight\"},"
         " \"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"
         " \"description\": \"starting point, or the weights to prune (default zeros)\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a generated linear model (core/solvers/secondorder/mfac_gen.h): "
                "a_j = s_j (sqrt(1 - rho) z_j + sqrt(rho) z0), z ~ N(0, I), "
                "s_j = condition^(-j / (2 (dim - 1))); planted x* ~ N(0, I); b = a'x* + noise eps "
                "(squared) or a label drawn with probability sigmoid(a'x*) (logistic)",
     .fields = mfac_gen_params, .fields_size = sizeof(mfac_gen_spec),
     .properties = "{\"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"
                   " \"description\": \"starting point, or the weights to prune (default "
                   "zeros)\"}}"},
    SV_FORMS_END,
};

static int read_problem(const json_t *problem, const sv_codec_env *env, mfac_desc *d, sv_err *e);
static int read_data(const json_t *problem, const sv_codec_env *env, mfac_desc *d, sv_err *e);
static int read_generate(const json_t *problem, const sv_codec_env *env, mfac_desc *d,
                         sv_err *e);
static int read_settings(const json_t *params, mfac_settings *s, sv_err *e);

/* ============================================================================================
 * Reading the problem (no allocation of problem data)
 * ========================================================================================== */

static int read_problem(const json_t *problem, const sv_codec_env *env, mfac_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(mfac_forms, problem, &form, e)) != SV_OK)
        return rc;
    rc = form == FORM_GENERATE ? read_generate(problem, env, d, e) : read_data(problem, env, d, e);
    if (rc != SV_OK)
        return rc;
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

static int read_generate(const json_t *problem, const sv_codec_env *env, mfac_desc *d,
                         sv_err *e)
{
    mfac_gen_spec *g = &d->gen;
    memset(g, 0, sizeof *g);
    sv_params_defaults(mfac_gen_params, g);
    int rc = sv_forms_decode_key(&mfac_forms[FORM_GENERATE], problem, g, e);
    if (rc != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    if (g->rows > lim)
        return sv_fail(e, "/problem/generate/rows", "%d rows exceed the limit of %ld", g->rows,
                       lim);
    if (g->dim > lim)
        return sv_fail(e, "/problem/generate/dim", "dimension %d exceeds the limit of %ld",
                       g->dim, lim);
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    double entries = (double)g->rows * (double)g->dim;
    if (entries > (double)max_entries)
        return sv_fail(e, "/problem/generate", "rows * dim = %.0f exceeds the limit of %ld matrix "
                       "entries", entries, max_entries);
    d->form = FORM_GENERATE;
    d->dim = g->dim;
    d->loss = g->loss;
    d->lambda = g->lambda;
    return SV_OK;
}

static int read_settings(const json_t *params, mfac_settings *s, sv_err *e)
{
    mfac_settings_default(s);
    return sv_params_decode(mfac_params, params, s, e);
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static void mfac_defaults(void *s)
{
    mfac_settings_default(s);
}

static json_t *mfac_problem_schema(void)
{
    json_t *schema = sv_forms_schema(mfac_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("f(x) = (1/rows) sum_i w_i l(a_i'x; b_i) + "
                                        "(lambda/2)|x|^2 with the squared or logistic loss; "
                                        "exactly one of A (with b) and generate"));
    return schema;
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

/* The name of choice i of the enum parameter `name` (the table's own words). */
static const char *choice(const char *name, int i)
{
    return sv_params_find(mfac_params, name)->choices[i];
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
            json_object_set_new(r, "mode", json_string(choice("mode", s.mode)));
            json_object_set_new(r, "preconditioner", json_string(choice("preconditioner", s.precond)));
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
                              "obs_update", choice("obs_update", s.obs_update)));
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
    .params = mfac_params,
    .settings_size = sizeof(mfac_settings),
    .settings_default = mfac_defaults,
    .problem_schema = mfac_problem_schema,
    .example = mfac_example,
    .validate = mfac_validate,
    .run = mfac_run_job,
};
