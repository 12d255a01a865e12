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
#include "api/forms.h"
#include "api/glm_json.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/bilevel/bip.h"
#include "core/solvers/bilevel/bip_gen.h"

/* The data-set form's default validation share. */
#define BIP_DS_DEFAULT_VAL_FRACTION 0.3

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

/* The forms of "problem", in the order of bip_form. */
static const char *const explicit_members[] = {"A", "b", "A_val", "b_val", "loss", "k", NULL};
static const char *const generate_members[] = {"generate", "k", NULL};
static const char *const dataset_members[] = {"dataset", "k", NULL};
static const sv_problem_form bip_forms[] = {
    {.key = "A", .members = explicit_members,
     .summary = "explicit training rows A, b and validation rows A_val, b_val",
     .properties =
         "{\"A\": {\"description\": \"training rows (nested arrays, {rows,cols,data}, CSR or"
         " COO)\"},"
         " \"b\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}},"
         " \"A_val\": {\"description\": \"validation rows, the same columns as A\"},"
         " \"b_val\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}},"
         " \"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\"],"
         " \"default\": \"squared\", \"description\": \"logistic labels are -1 or 1\"},"
         " \"k\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"weights to"
         " keep (required), at most the columns\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded sparse ground truth whose features mislead magnitude pruning "
                "(core/solvers/bilevel/bip_gen.h)",
     .fields = bip_gen_params, .fields_size = sizeof(bip_gen_spec),
     .properties = "{\"k\": {\"type\": \"integer\", \"minimum\": 1, \"description\":"
                   " \"weights to keep, at most dim (default: support)\"}}"},
    {.key = "dataset", .members = dataset_members,
     .summary = "a named data set, shuffled and split into training and validation rows",
     .properties =
         "{\"dataset\": {\"type\": \"object\", \"required\": [\"name\"],"
         " \"additionalProperties\": false, \"properties\": {"
         "\"name\": {\"type\": \"string\", \"enum\": [\"breast_cancer\", \"digits\"]},"
         " \"val_fraction\": {\"type\": \"number\", \"exclusiveMinimum\": 0,"
         " \"exclusiveMaximum\": 1, \"default\": 0.3},"
         " \"seed\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0},"
         " \"binary_class\": {\"type\": \"integer\", \"minimum\": 0, \"description\":"
         " \"the class told apart from the rest (default 1 on two-class data)\"},"
         " \"standardize\": {\"type\": \"boolean\", \"default\": true},"
         " \"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\"],"
         " \"default\": \"logistic\"}}},"
         " \"k\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"weights to"
         " keep (required), at most the features\"}}"},
    SV_FORMS_END,
};

static int read_problem(const json_t *problem, const sv_codec_env *env, bip_desc *d, sv_err *e);
static int read_explicit(const json_t *problem, const sv_codec_env *env, bip_desc *d, sv_err *e);
static int read_generate(const json_t *problem, const sv_codec_env *env, bip_desc *d, sv_err *e);
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
    int form, rc;
    if ((rc = sv_forms_pick(bip_forms, problem, &form, e)) != SV_OK)
        return rc;
    switch (form) {
    case FORM_EXPLICIT: return read_explicit(problem, env, d, e);
    case FORM_GENERATE: return read_generate(problem, env, d, e);
    default: return read_dataset(json_object_get(problem, "dataset"), env, d, e);
    }
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

static int read_generate(const json_t *problem, const sv_codec_env *env, bip_desc *d, sv_err *e)
{
    const char *path = "/problem/generate";
    bip_gen_spec *g = &d->gen;
    sv_params_defaults(bip_gen_params, g);
    int rc = sv_forms_decode_key(&bip_forms[FORM_GENERATE], problem, g, e);
    if (rc == SV_OK)
        rc = bip_gen_check(g, e);
    if (rc != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    const int nv = bip_gen_val_rows(g);
    if (g->rows > lim)
        return sv_fail(e, "/problem/generate/rows", "%d rows exceed the limit of %ld", g->rows,
                       lim);
    if (nv > lim)
        return sv_fail(e, "/problem/generate/val_rows", "%d rows exceed the limit of %ld", nv,
                       lim);
    if (g->dim > lim)
        return sv_fail(e, "/problem/generate/dim", "dimension %d exceeds the limit of %ld", g->dim,
                       lim);
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    double entries = ((double)g->rows + nv) * (double)g->dim;
    if (entries > (double)max_entries)
        return sv_fail(e, path, "(rows + val_rows) * dim = %.0f exceeds the limit of %ld matrix "
                       "entries", entries, max_entries);
    d->form = FORM_GENERATE;
    d->dim = g->dim;
    d->loss = g->loss;
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

static void bip_defaults(void *s)
{
    bip_settings_default(s);
}

static json_t *bip_problem_schema(void)
{
    json_t *schema = sv_forms_schema(bip_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("prune a linear or logistic model to k weights: min over "
                                        "masks m of l_up(m .* theta*(m)), theta*(m) = argmin "
                                        "l_tr(m .* theta) + (gamma/2)|theta|^2; exactly one of "
                                        "A (with b, A_val, b_val), generate, dataset"));
    return schema;
}

static json_t *bip_example(void)
{
    /* solved once the mask has held 800 iterations (at 1837), 38 reports */
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:i}}, s:{s:i, s:i, s:i}}", "problem",
                     "generate", "rows", 200, "dim", 50, "support", 10, "loss", "squared", "seed",
                     1, "params", "max_iter", 20000, "patience", 800, "report_every", 50);
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
        const int imp = s.method == BIP_METHOD_IMP;
        json_t *pars = imp ? json_pack("{s:o, s:o}", "gamma", sv_codec_real(info.gamma),
                                       "imp_rate", sv_codec_real(s.imp_rate))
                           : json_pack("{s:o, s:o, s:o}", "lr", sv_codec_real(info.lr),
                                       "mask_lr", sv_codec_real(info.mask_lr), "gamma",
                                       sv_codec_real(info.gamma));
        if (!r || !ms || !th || !pars) {
            json_decref(r);
            json_decref(ms);
            json_decref(sup);
            json_decref(th);
            json_decref(pars);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "method", json_string(imp ? "imp" : "bip"));
            json_object_set_new(r, "val_loss", sv_codec_real(info.val_loss));
            json_object_set_new(r, "train_loss", sv_codec_real(info.train_loss));
            json_object_set_new(r, "lower_loss", sv_codec_real(info.lower_loss));
            json_object_set_new(r, "dense_val_loss", sv_codec_real(info.dense_val_loss));
            json_object_set_new(r, "magnitude_val_loss", sv_codec_real(info.magnitude_val_loss));
            json_object_set_new(r, "k", json_integer(D.prob.k));
            json_object_set_new(r, "kept", json_integer(info.kept));
            json_object_set_new(r, "mask_changes", json_integer(info.mask_changes));
            json_object_set_new(r, "masks_scored", json_integer(info.masks_scored));
            json_object_set_new(r, "select_newton_steps", json_integer(info.select_newton_steps));
            json_object_set_new(r, "select_time_s", json_real(info.select_time_s));
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
    .params = bip_params,
    .settings_size = sizeof(bip_settings),
    .settings_default = bip_defaults,
    .problem_schema = bip_problem_schema,
    .example = bip_example,
    .validate = bip_validate,
    .run = bip_run,
};
