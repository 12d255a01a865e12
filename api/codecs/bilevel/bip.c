/* bip.c - the bilevel.bip codec: a pruning problem (explicit training and validation rows, a
 * generated sparse-ground-truth instance, or a named data set split into training and
 * validation rows) and params into bip_solve, and the pruned model back into JSON. The doc page
 * is docs/solvers/bilevel/bip.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/datasets.h"
#include "api/glm_json.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/bilevel/bip.h"

/* Problem defaults of the generated and data-set forms. */
#define BIP_GEN_DEFAULT_CORRELATION 0.5
#define BIP_GEN_DEFAULT_SCALE_SPREAD 2.0
#define BIP_GEN_DEFAULT_NOISE 0.5
#define BIP_DS_DEFAULT_VAL_FRACTION 0.3

/* ---- parameters ---- */

static const char *const mask_choices[] = {"topk", "relaxed", NULL};
static const char *const ig_choices[] = {"hessian_free", "exact", "none", NULL};
static const char *const upper_choices[] = {"train", "validation", NULL};
static const char *const init_choices[] = {"magnitude", "random", NULL};
static const char *const select_choices[] = {"best", "last", NULL};

static const sv_param_spec bip_params[] = {
    {"mask", SV_PARAM_ENUM, offsetof(bip_settings, mask), 0, 0, 0, mask_choices,
     "topk: scores with the top-k mask in every step (the authors' code); relaxed: projected "
     "gradient on {m in [0,1]^d, sum m <= k}, rounded to the top k at the end", 0, 0, NULL},
    {"implicit", SV_PARAM_ENUM, offsetof(bip_settings, implicit), 0, 0, 0, ig_choices,
     "implicit gradient: hessian_free (the paper), exact (conjugate gradients with the "
     "Hessian), none (first-order only)", 0, 0, NULL},
    {"upper", SV_PARAM_ENUM, offsetof(bip_settings, upper), 0, 0, 0, upper_choices,
     "rows of the upper loss: train (the paper) or validation", 0, 0, NULL},
    {"init", SV_PARAM_ENUM, offsetof(bip_settings, init), 0, 0, 0, init_choices,
     "initial scores: magnitude of the dense model's weights, or seeded uniform", 0, 0, NULL},
    {"select", SV_PARAM_ENUM, offsetof(bip_settings, select), 0, 0, 0, select_choices,
     "returned mask: best visited by the upper objective (each new mask retrained exactly), "
     "or the last one", 0, 0, NULL},
    {"gamma", SV_PARAM_NUMBER, offsetof(bip_settings, gamma), 0, INFINITY, 1, NULL,
     "ridge (gamma/2)|theta|^2 of the lower level; 1/gamma weighs the implicit term", 0, 0, NULL},
    {"lr", SV_PARAM_NUMBER, offsetof(bip_settings, lr), 0, INFINITY, 1, NULL,
     "lower SGD step; null: 1 / (L + gamma), L the smoothness of the training loss", 0, 0, NULL},
    {"mask_lr", SV_PARAM_NUMBER, offsetof(bip_settings, mask_lr), 0, INFINITY, 1, NULL,
     "upper step on the scores (topk) or the relaxed mask", 0, 0, NULL},
    {"lower_steps", SV_PARAM_INT, offsetof(bip_settings, lower_steps), 1, 1e6, 0, NULL,
     "SGD steps on the weights per iteration (the paper: 1)", 0, 0, NULL},
    {"batch", SV_PARAM_INT, offsetof(bip_settings, batch), 0, INT_MAX, 0, NULL,
     "rows per stochastic gradient; 0: all rows", 0, 0, NULL},
    {"retrain", SV_PARAM_BOOL, offsetof(bip_settings, retrain), 0, 0, 0, NULL,
     "select = last: return the exactly retrained weights theta*(m) (true) or the last SGD "
     "iterate (false)", 0, 0, NULL},
    {"retrain_tol", SV_PARAM_NUMBER, offsetof(bip_settings, retrain_tol), 0, INFINITY, 1, NULL,
     "gradient tolerance of the exact (re)trainings", 0, 0, NULL},
    {"patience", SV_PARAM_INT, offsetof(bip_settings, patience), 0, 1e9, 0, NULL,
     "stop (solved) once the mask is unchanged for this many iterations; 0: never", 0, 0, NULL},
    {"max_iter", SV_PARAM_INT, offsetof(bip_settings, max_iter), 0, 1e9, 0, NULL,
     "iterations (each: lower_steps SGD steps on the weights and one step on the mask)",
     0, 0, NULL},
    {"time_limit_s", SV_PARAM_NUMBER, offsetof(bip_settings, time_limit_s), 0, INFINITY, 0, NULL,
     "wall-clock limit of the solve in seconds; 0: none", 0, 0, NULL},
    {"report_every", SV_PARAM_INT, offsetof(bip_settings, report_every), 1, 1e9, 0, NULL,
     "progress report every this many iterations", 0, 0, NULL},
    {"seed", SV_PARAM_SEED, offsetof(bip_settings, seed), 0, 0, 0, NULL,
     "seed of the mini-batches (and of the random initial scores)", 0, 0, NULL},
    SV_PARAMS_END,
};

/* ---- the problem, read but not yet built ---- */

typedef enum { FORM_EXPLICIT, FORM_GENERATE, FORM_DATASET } bip_form;

typedef struct {
    bip_form form;
    int dim, k;
    sv_loss loss;
    const json_t *problem;           /* explicit */
    bip_gen_spec gen;                /* generate */
    const sv_named_dataset *ds;      /* dataset ... */
    double val_fraction;
    int positive_class, standardize;
    uint64_t seed;
} bip_desc;

static int read_problem(const json_t *problem, const sv_codec_env *env, bip_desc *d, sv_err *e);
static int read_explicit(const json_t *problem, const sv_codec_env *env, bip_desc *d, sv_err *e);
static int read_generate(const json_t *gen, const sv_codec_env *env, bip_desc *d, sv_err *e);
static int read_dataset(const json_t *ds, const sv_codec_env *env, bip_desc *d, sv_err *e);
static int read_k(const json_t *obj, const char *path, int required, int dflt, int dim, int *out,
                  sv_err *e);
static int read_number(const json_t *obj, const char *path, const char *key, double dflt,
                       double min, double max, double *out, sv_err *e);
static int build(const bip_desc *d, const sv_codec_env *env, bip_data *D, sv_err *e);

/* ============================================================================================
 * Reading the problem (no allocation of problem data)
 * ========================================================================================== */

static int read_problem(const json_t *problem, const sv_codec_env *env, bip_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    if (sv_json_object(problem, "/problem", e) != SV_OK)
        return SV_EINVAL;
    json_t *A = json_object_get(problem, "A");
    json_t *gen = json_object_get(problem, "generate");
    json_t *ds = json_object_get(problem, "dataset");
    int forms = !!A + !!gen + !!ds;
    if (forms != 1)
        return sv_fail(e, "/problem", forms ? "give only one of A (with b, A_val, b_val), "
                                              "generate and dataset"
                                            : "needs A (with b, A_val, b_val), generate or "
                                              "dataset");
    int rc;
    if (A) {
        static const char *const allowed[] = {"A", "b", "A_val", "b_val", "loss", "k", NULL};
        if ((rc = sv_json_no_unknown(problem, "/problem", allowed, e)) != SV_OK)
            return rc;
        return read_explicit(problem, env, d, e);
    }
    static const char *const allowed[] = {"generate", "dataset", "k", NULL};
    if ((rc = sv_json_no_unknown(problem, "/problem", allowed, e)) != SV_OK)
        return rc;
    return gen ? read_generate(gen, env, d, e) : read_dataset(ds, env, d, e);
}

static int read_explicit(const json_t *problem, const sv_codec_env *env, bip_desc *d, sv_err *e)
{
    int rc;
    json_t *v[4];
    static const char *const keys[4] = {"A", "b", "A_val", "b_val"};
    for (int q = 0; q < 4; q++)
        if ((rc = sv_json_require(problem, "/problem", keys[q], &v[q], e)) != SV_OK)
            return rc;
    if ((rc = sv_glm_json_loss(problem, "/problem", SV_LOSS_SQUARED, &d->loss, e)) != SV_OK)
        return rc;
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    long total = 0, dim = -1;
    char path[96];
    for (int q = 0; q < 4; q += 2) {
        snprintf(path, sizeof path, "/problem/%s", keys[q]);
        if ((rc = sv_json_matrix(v[q], path, -1, dim, env, NULL, e)) != SV_OK)
            return rc;
        long rows, cols, stored;
        sv_glm_json_matrix_shape(v[q], &rows, &cols, &stored);
        dim = cols;
        total += stored;
        if (total > max_entries)
            return sv_fail(e, path, "the matrices hold more than the limit of %ld entries",
                           max_entries);
        snprintf(path, sizeof path, "/problem/%s", keys[q + 1]);
        if ((rc = sv_json_vector(v[q + 1], path, rows, env, NULL, NULL, e)) != SV_OK)
            return rc;
        if (d->loss == SV_LOSS_LOGISTIC &&
            (rc = sv_glm_json_labels(v[q + 1], path, e)) != SV_OK)
            return rc;
    }
    d->form = FORM_EXPLICIT;
    d->dim = (int)dim;
    d->problem = problem;
    return read_k(problem, "/problem", 1, 0, d->dim, &d->k, e);
}

static int read_generate(const json_t *gen, const sv_codec_env *env, bip_desc *d, sv_err *e)
{
    static const char *const allowed[] = {"rows", "val_rows", "dim", "support", "loss",
                                          "correlation", "scale_spread", "noise", "seed", NULL};
    const char *path = "/problem/generate";
    int rc;
    if ((rc = sv_json_object(gen, path, e)) != SV_OK ||
        (rc = sv_json_no_unknown(gen, path, allowed, e)) != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    long rows, val_rows, dim, support, seed;
    bip_gen_spec *g = &d->gen;
    if ((rc = sv_glm_json_int(gen, path, "rows", 1, 1, lim, 0, &rows, e)) != SV_OK ||
        (rc = sv_glm_json_int(gen, path, "val_rows", 0, 1, lim, rows, &val_rows, e)) !=
            SV_OK ||
        (rc = sv_glm_json_int(gen, path, "dim", 1, 1, lim, 0, &dim, e)) != SV_OK ||
        (rc = sv_glm_json_int(gen, path, "support", 1, 1, dim, 0, &support, e)) != SV_OK ||
        (rc = sv_glm_json_seed(gen, path, &seed, e)) != SV_OK ||
        (rc = sv_glm_json_loss(gen, path, SV_LOSS_SQUARED, &d->loss, e)) != SV_OK ||
        (rc = read_number(gen, path, "correlation", BIP_GEN_DEFAULT_CORRELATION, 0, 1,
                          &g->correlation, e)) != SV_OK ||
        (rc = read_number(gen, path, "scale_spread", BIP_GEN_DEFAULT_SCALE_SPREAD, 0,
                          BIP_GEN_MAX_SCALE_SPREAD, &g->scale_spread, e)) != SV_OK ||
        (rc = read_number(gen, path, "noise", BIP_GEN_DEFAULT_NOISE, 0, INFINITY, &g->noise,
                          e)) != SV_OK)
        return rc;
    if (g->correlation >= 1)
        return sv_fail(e, "/problem/generate/correlation", "must be below 1");
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    if ((double)(rows + val_rows) * (double)dim > (double)max_entries)
        return sv_fail(e, path, "(rows + val_rows) * dim = %.0f exceeds the limit of %ld matrix "
                       "entries", (double)(rows + val_rows) * dim, max_entries);
    d->form = FORM_GENERATE;
    d->dim = (int)dim;
    g->rows = (int)rows;
    g->val_rows = (int)val_rows;
    g->dim = (int)dim;
    g->support = (int)support;
    g->loss = d->loss;
    g->seed = (uint64_t)seed;
    d->k = g->support;  /* "k" beside "generate" overrides it (read_all) */
    return SV_OK;
}

static int read_dataset(const json_t *ds, const sv_codec_env *env, bip_desc *d, sv_err *e)
{
    static const char *const allowed[] = {"name", "val_fraction", "seed", "binary_class",
                                          "standardize", "loss", NULL};
    const char *path = "/problem/dataset";
    int rc;
    json_t *v;
    if ((rc = sv_json_object(ds, path, e)) != SV_OK ||
        (rc = sv_json_no_unknown(ds, path, allowed, e)) != SV_OK ||
        (rc = sv_json_require(ds, path, "name", &v, e)) != SV_OK ||
        (rc = sv_named_dataset_read(v, "/problem/dataset/name", env, &d->ds, e)) != SV_OK)
        return rc;
    long seed, pos;
    if ((rc = read_number(ds, path, "val_fraction", BIP_DS_DEFAULT_VAL_FRACTION, 0, 1,
                          &d->val_fraction, e)) != SV_OK ||
        (rc = sv_glm_json_seed(ds, path, &seed, e)) != SV_OK ||
        (rc = sv_glm_json_loss(ds, path, SV_LOSS_LOGISTIC, &d->loss, e)) != SV_OK ||
        (rc = sv_glm_json_int(ds, path, "binary_class", 0, 0, d->ds->classes - 1, -1, &pos, e)) !=
            SV_OK)
        return rc;
    long nv = lround(d->val_fraction * d->ds->rows);
    if (nv < 1 || nv > d->ds->rows - 1)
        return sv_fail(e, "/problem/dataset/val_fraction", "leaves %ld validation and %ld "
                       "training rows; both need at least one", nv, d->ds->rows - nv);
    if (pos < 0 && d->ds->classes == 2)
        pos = 1;
    if (pos < 0 && d->loss == SV_LOSS_LOGISTIC)
        return sv_fail(e, "/problem/dataset/binary_class", "the logistic loss on a data set "
                       "with %d classes needs the class to tell apart from the rest",
                       d->ds->classes);
    d->standardize = 1;
    sv_json_optional(ds, path, "standardize", &v, e);
    if (v && (rc = sv_json_bool(v, "/problem/dataset/standardize", &d->standardize, e)) != SV_OK)
        return rc;
    d->form = FORM_DATASET;
    d->dim = d->ds->cols;
    d->positive_class = (int)pos;
    d->seed = (uint64_t)seed;
    return SV_OK;
}

/* "k" of obj in [1, dim]: required beside explicit rows and beside "dataset", optional beside
 * "generate" (default: the support). */
static int read_k(const json_t *obj, const char *path, int required, int dflt, int dim, int *out,
                  sv_err *e)
{
    long k = dflt;
    int rc = sv_glm_json_int(obj, path, "k", required, 1, dim, dflt, &k, e);
    *out = (int)k;
    return rc;
}

static int read_number(const json_t *obj, const char *path, const char *key, double dflt,
                       double min, double max, double *out, sv_err *e)
{
    json_t *v;
    char field[96];
    sv_json_optional(obj, path, key, &v, e);
    *out = dflt;
    if (!v)
        return SV_OK;
    sv_json_path_key(field, sizeof field, path, key);
    if (sv_json_number(v, field, out, e) != SV_OK)
        return SV_EINVAL;
    if (!(*out >= min && *out <= max))
        return sv_fail(e, field, "must be in [%g, %g], got %g", min, max, *out);
    return SV_OK;
}

/* ============================================================================================
 * Building the instance (run only)
 * ========================================================================================== */

static int build(const bip_desc *d, const sv_codec_env *env, bip_data *D, sv_err *e)
{
    int rc;
    memset(D, 0, sizeof *D);
    if (d->form == FORM_GENERATE) {
        if ((rc = bip_generate(&d->gen, D, e)) == SV_OK)
            D->prob.k = d->k;
        return rc;
    }
    if (d->form == FORM_DATASET) {
        sv_dataset data;
        if ((rc = sv_named_dataset_load(d->ds, "/problem/dataset/name", env, &data, e)) != SV_OK)
            return rc;
        if (data.cols != d->ds->cols || data.rows != d->ds->rows) {
            sv_dataset_free(&data);
            return sv_fail(e, "/problem/dataset/name", "data set file has %d x %d entries, "
                           "expected %d x %d", data.rows, data.cols, d->ds->rows, d->ds->cols);
        }
        if (d->standardize)
            sv_dataset_standardize(&data);
        rc = bip_from_dataset(&data, d->val_fraction, d->seed, d->positive_class, d->loss, d->k,
                              D, e);
        sv_dataset_free(&data);
        return rc;
    }
    const json_t *p = d->problem;
    if ((rc = sv_json_matrix(json_object_get(p, "A"), "/problem/A", -1, d->dim, env, &D->A, e)) !=
            SV_OK ||
        (rc = sv_json_vector(json_object_get(p, "b"), "/problem/b", D->A.rows, env, &D->b, NULL,
                             e)) != SV_OK ||
        (rc = sv_json_matrix(json_object_get(p, "A_val"), "/problem/A_val", -1, d->dim, env,
                             &D->A_val, e)) != SV_OK ||
        (rc = sv_json_vector(json_object_get(p, "b_val"), "/problem/b_val", D->A_val.rows, env,
                             &D->b_val, NULL, e)) != SV_OK) {
        bip_data_free(D);
        return rc;
    }
    D->prob = (bip_problem){d->loss, &D->A, D->b, &D->A_val, D->b_val, d->k};
    return SV_OK;
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static int read_settings(const json_t *params, bip_settings *s, sv_err *e)
{
    bip_settings_default(s);
    return sv_params_decode(bip_params, params, s, e);
}

/* The whole description: the problem form and, for the data-set form, k beside "dataset". */
static int read_all(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    bip_desc *d, bip_settings *s, sv_err *e)
{
    int rc;
    if ((rc = read_problem(problem, env, d, e)) != SV_OK)
        return rc;
    if (d->form == FORM_DATASET && (rc = read_k(problem, "/problem", 1, 0, d->dim, &d->k, e)) !=
                                       SV_OK)
        return rc;
    if (d->form == FORM_GENERATE &&
        (rc = read_k(problem, "/problem", 0, d->k, d->dim, &d->k, e)) != SV_OK)
        return rc;
    if ((rc = read_settings(params, s, e)) != SV_OK)
        return rc;
    return bip_check_settings(s, e);
}

static json_t *bip_params_schema(void)
{
    bip_settings s;
    bip_settings_default(&s);
    return sv_params_schema(bip_params, &s);
}

static json_t *bip_problem_schema(void)
{
    json_t *props = json_pack(
        "{s:{s:s, s:s}, s:{s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s, s:[s,s]}, s:{s:s, s:i, s:s},"
        " s:{s:s, s:s}, s:{s:s, s:s}}",
        "A", "type", "array", "description",
        "training rows (nested arrays, {rows,cols,data}, CSR or COO); with b, A_val, b_val",
        "b", "type", "array",
        "A_val", "type", "array", "description", "validation rows, the same columns as A",
        "b_val", "type", "array",
        "loss", "type", "string", "enum", "squared", "logistic",
        "k", "type", "integer", "minimum", 1, "description",
        "weights to keep (required beside A and dataset; generate: default the support)",
        "generate", "type", "object", "description",
        "{rows, val_rows? (rows), dim, support, loss? (squared), correlation? (0.5), "
        "scale_spread? (2), noise? (0.5), seed? (0)}: sparse planted weights, features with "
        "spread scales",
        "dataset", "type", "object", "description",
        "{name: breast_cancer | digits, val_fraction? (0.3), seed? (0), binary_class?, "
        "standardize? (true), loss? (logistic)}, with k beside it");
    return json_pack("{s:s, s:s, s:[{s:[s,s,s,s,s]}, {s:[s]}, {s:[s,s]}], s:o}", "type",
                     "object", "description",
                     "prune a linear or logistic model to k weights: min over masks m of "
                     "l_up(m .* theta*(m)), theta*(m) = argmin l_tr(m .* theta) + "
                     "(gamma/2)|theta|^2",
                     "oneOf", "required", "A", "b", "A_val", "b_val", "k", "required",
                     "generate", "required", "dataset", "k", "properties", props);
}

static json_t *bip_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:i}}, s:{s:i}}", "problem", "generate",
                     "rows", 200, "dim", 50, "support", 10, "loss", "squared", "seed", 1,
                     "params", "max_iter", 2000);
}

static int bip_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        sv_err *e)
{
    bip_desc d;
    bip_settings s;
    return read_all(problem, params, env, &d, &s, e);
}

static json_t *mask_json(const double *mask, int d, json_t **support)
{
    json_t *m = json_array(), *sup = json_array();
    if (!m || !sup) {
        json_decref(m);
        json_decref(sup);
        return NULL;
    }
    for (int j = 0; j < d; j++) {
        json_array_append_new(m, json_integer(mask[j] != 0.0));
        if (mask[j] != 0.0)
            json_array_append_new(sup, json_integer(j));
    }
    *support = sup;
    return m;
}

static int bip_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                   const sv_monitor *mon, json_t **result, sv_err *e)
{
    bip_desc d;
    bip_settings s;
    bip_data D;
    int rc;
    *result = NULL;
    if ((rc = read_all(problem, params, env, &d, &s, e)) != SV_OK)
        return rc;
    if ((rc = build(&d, env, &D, e)) != SV_OK)
        return rc;
    double *mask = calloc((size_t)d.dim, sizeof *mask), *theta = calloc((size_t)d.dim,
                                                                        sizeof *theta);
    if (!mask || !theta) {
        free(mask);
        free(theta);
        bip_data_free(&D);
        return SV_ENOMEM;
    }
    bip_info info;
    rc = bip_solve(&D.prob, &s, mon, mask, theta, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj), *sup = NULL;
        json_t *ms = mask_json(mask, d.dim, &sup);
        json_t *th = sv_json_from_vector(theta, d.dim);
        json_t *pars = json_pack("{s:o, s:o, s:o}", "lr", sv_codec_real(info.lr), "mask_lr",
                                 sv_codec_real(info.mask_lr), "gamma", sv_codec_real(info.gamma));
        if (!r || !ms || !th || !pars) {
            json_decref(r);
            json_decref(ms);
            json_decref(sup);
            json_decref(th);
            json_decref(pars);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "val_loss", sv_codec_real(info.val_loss));
            json_object_set_new(r, "train_loss", sv_codec_real(info.train_loss));
            json_object_set_new(r, "dense_val_loss", sv_codec_real(info.dense_val_loss));
            json_object_set_new(r, "magnitude_val_loss", sv_codec_real(info.magnitude_val_loss));
            json_object_set_new(r, "k", json_integer(D.prob.k));
            json_object_set_new(r, "kept", json_integer(info.kept));
            json_object_set_new(r, "mask_changes", json_integer(info.mask_changes));
            json_object_set_new(r, "masks_scored", json_integer(info.masks_scored));
            json_object_set_new(r, "best_iter", json_integer(info.best_iter));
            json_object_set_new(r, "ig_norm", sv_codec_real(info.base.res));
            json_object_set_new(r, "parameters", pars);
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "support", sup);
            json_object_set_new(r, "mask", ms);
            json_object_set_new(r, "theta", th);
            *result = r;
        }
    }
    free(mask);
    free(theta);
    bip_data_free(&D);
    return rc;
}

const sv_codec sv_codec_bip = {
    .name = "bilevel.bip",
    .family = "bilevel",
    .summary = "BiP: prune a linear or logistic model to k weights by bi-level optimisation of "
               "the mask (upper) and the retrained weights (lower), with the bi-linear implicit "
               "gradient",
    .paper = "Zhang, Yao, Ram, Zhao, Chen, Hong, Wang, Liu: Advancing Model Pruning via Bi-level "
             "Optimization, NeurIPS 2022",
    .doc = "docs/solvers/bilevel/bip.md",
    .params_schema = bip_params_schema,
    .problem_schema = bip_problem_schema,
    .example = bip_example,
    .validate = bip_validate,
    .run = bip_run,
};
