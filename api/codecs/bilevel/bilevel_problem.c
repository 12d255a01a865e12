/* bilevel_problem.c - the shared JSON decoder and result encoder of the bilevel codecs
 * (bilevel_problem.h). Reading checks everything without allocating; building turns the JSON,
 * the generator spec or the data set into one of the class structs of core/models/bilevel.h. */
#include "api/codecs/bilevel/bilevel_problem.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec_util.h"
#include "api/datasets.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/dataset.h"

/* ---- defaults of the explicit and data-set forms (docs/solvers/bilevel/problems.md; the
 * generate forms' are in their tables beside the generators, core/models/bl_<class>.c) ---- */
#define BLP_DEFAULT_FLIP 0.3
#define BLP_DEFAULT_MU 1e-2
/* The lower level is solved to this gradient norm for the result fields. */
#define BLP_RESULT_TOL 1e-10
/* sigmoid(40) is 1 to double precision: "all weights 1" for the unweighted baseline. */
#define BLP_UNWEIGHTED_X 40.0
/* Explicit quadratic lower levels up to this dimension are factorised at validation. */
#define BLP_VALIDATE_MAX_DY 500

static const char *const class_names[] = {"quadratic", "hyperclean", "hyperparam", "constrained",
                                          NULL};

/* ---- the problem forms: one table a class (api/forms.h), in the order of sv_bl_class ----
 * The form is told apart by its key: "class" at /problem (explicit data), "generate" (decoded
 * by the class's table in core/models/bl_<class>.c) or "dataset" (hyperclean, hyperparam).
 * Every class's generate and dataset forms accept the same members at /problem. */
enum { BLP_FORM_EXPLICIT = 0, BLP_FORM_GENERATE = 1, BLP_FORM_DATASET = 2 };

#define J_VEC "{\"type\": \"array\", \"items\": {\"type\": \"number\"}}"
#define J_MATRIX "{\"description\": \"matrix: nested arrays, {rows, cols, data}, CSR or COO\"}"
#define J_BOX(what)                                                                          \
    "{\"type\": \"object\", \"additionalProperties\": false, \"description\": \"the box of " \
    what "\", \"properties\": {\"lo\": {\"description\": \"number or array\"},"              \
    " \"hi\": {\"description\": \"number or array\"}}}"
#define J_START                                                                               \
    "\"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"description\":"       \
    " \"upper-level start (default zeros)\"},"                                                 \
    " \"y0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"description\":"      \
    " \"lower-level start (default zeros)\"}"
#define J_CLASS(name) "\"class\": {\"type\": \"string\", \"enum\": [\"" name "\"]}"
#define J_SET(flipped)                                                                        \
    "{\"type\": \"object\", \"required\": [\"A\", \"labels\"], \"additionalProperties\": false," \
    " \"properties\": {\"A\": " J_MATRIX ", \"labels\": " J_VEC flipped "}}"
#define J_FLIPPED                                                                             \
    ", \"flipped\": {\"type\": \"array\", \"items\": {\"type\": \"integer\", \"minimum\": 0,"  \
    " \"maximum\": 1}, \"description\": \"1 where the label is known to be corrupted\"}"
#define J_QUADRATIC                                                                           \
    "\"H\": " J_MATRIX ", \"B\": " J_MATRIX ", \"h\": " J_VEC ", \"c\": " J_VEC ","            \
    " \"lambda\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0},"                     \
    " \"noise\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0},"                      \
    " \"x_box\": " J_BOX("x") ", " J_START
#define J_DATASET(name, members)                                                              \
    "{\"dataset\": {\"type\": \"object\", \"required\": [\"name\", \"class\"],"               \
    " \"additionalProperties\": false, \"properties\": {"                                      \
    "\"name\": {\"type\": \"string\", \"enum\": [\"breast_cancer\", \"digits\"]}, "             \
    J_CLASS(name) ","                                                                          \
    " \"n_train\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"default rows/2\"}," \
    " \"n_val\": {\"type\": \"integer\", \"minimum\": 1, \"description\": \"default rows/4\"},"  \
    " \"n_test\": {\"type\": \"integer\", \"minimum\": 0, \"description\": \"default the rest\"}," \
    " \"intercept\": {\"type\": \"boolean\", \"default\": true},"                              \
    " \"seed\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0}, " members "}}, "       \
    J_START "}"

static const char *const members_quadratic[] = {"class", "H", "B", "h", "c", "lambda", "noise",
                                                "x_box", "x0", "y0", NULL};
static const char *const members_constrained[] = {"class", "H", "B", "h", "c", "lambda", "noise",
                                                  "x_box", "y_box", "constraints", "x0", "y0",
                                                  NULL};
static const char *const members_hyperclean[] = {"class", "train", "val", "test", "loss",
                                                 "classes", "mu", "upper_reg", "x_box", "x0",
                                                 "y0", NULL};
static const char *const members_hyperparam[] = {"class", "loss", "classes", "per_feature",
                                                 "train", "val", "test", "x_box", "x0", "y0",
                                                 NULL};
static const char *const members_generate[] = {"generate", "x0", "y0", NULL};
static const char *const members_dataset[] = {"dataset", "x0", "y0", NULL};

#define GEN_FORM(cls_name, table, type)                                                       \
    {.key = "generate", .members = members_generate,                                          \
     .summary = "a seeded " cls_name " instance (core/models/bl_" cls_name ".c)",             \
     .fields = table, .fields_size = sizeof(type), .properties = "{" J_START "}"}

static const sv_problem_form forms_quadratic[] = {
    {.key = "class", .members = members_quadratic,
     .summary = "explicit quadratic data: g = 1/2 y'Hy - y'(Bx + h), f = 1/2 |y - c|^2 + "
                "lambda/2 |x|^2",
     .properties = "{" J_CLASS("quadratic") ", " J_QUADRATIC "}"},
    GEN_FORM("quadratic", sv_bl_quadratic_gen_params, sv_bl_quadratic_gen),
    SV_FORMS_END,
};

static const sv_problem_form forms_hyperclean[] = {
    {.key = "class", .members = members_hyperclean,
     .summary = "explicit data hyper-cleaning: weighted training rows, validation rows above",
     .properties =
         "{" J_CLASS("hyperclean") ", \"train\": " J_SET(J_FLIPPED) ", \"val\": " J_SET("")
         ", \"test\": " J_SET("") ","
         " \"loss\": {\"type\": \"string\", \"enum\": [\"logistic\", \"multinomial\"],"
         " \"default\": \"logistic\"},"
         " \"classes\": {\"type\": \"integer\", \"minimum\": 2, \"description\": \"multinomial:"
         " default the largest label + 1\"},"
         " \"mu\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"default\": 0.01},"
         " \"upper_reg\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0},"
         " \"x_box\": " J_BOX("x") ", " J_START "}"},
    GEN_FORM("hyperclean", sv_bl_hyperclean_gen_params, sv_bl_hyperclean_gen),
    {.key = "dataset", .members = members_dataset,
     .summary = "a named data set for hyper-cleaning, its training labels flipped",
     .properties = J_DATASET(
         "hyperclean",
         "\"flip\": {\"type\": \"number\", \"minimum\": 0, \"exclusiveMaximum\": 1,"
         " \"default\": 0.3}, \"mu\": {\"type\": \"number\", \"exclusiveMinimum\": 0,"
         " \"default\": 0.01}, \"upper_reg\": {\"type\": \"number\", \"minimum\": 0,"
         " \"default\": 0}")},
    SV_FORMS_END,
};

static const sv_problem_form forms_hyperparam[] = {
    {.key = "class", .members = members_hyperparam,
     .summary = "explicit data for ridge-weight tuning: training rows below, validation above",
     .properties =
         "{" J_CLASS("hyperparam") ", \"train\": " J_SET("") ", \"val\": " J_SET("")
         ", \"test\": " J_SET("") ","
         " \"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\","
         " \"multinomial\"], \"default\": \"squared\"},"
         " \"classes\": {\"type\": \"integer\", \"minimum\": 2, \"description\": \"multinomial:"
         " default the largest label + 1\"},"
         " \"per_feature\": {\"type\": \"boolean\", \"default\": false},"
         " \"x_box\": " J_BOX("x") ", " J_START "}"},
    GEN_FORM("hyperparam", sv_bl_hyperparam_gen_params, sv_bl_hyperparam_gen),
    {.key = "dataset", .members = members_dataset,
     .summary = "a named data set for ridge-weight tuning",
     .properties = J_DATASET(
         "hyperparam",
         "\"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\","
         " \"multinomial\"], \"description\": \"default multinomial with more than two classes,"
         " else logistic\"}, \"per_feature\": {\"type\": \"boolean\", \"default\": false},"
         " \"box\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 700, \"default\": 0}")},
    SV_FORMS_END,
};

static const sv_problem_form forms_constrained[] = {
    {.key = "class", .members = members_constrained,
     .summary = "explicit quadratic data with coupled lower-level constraints A x + B y <= b",
     .properties =
         "{" J_CLASS("constrained") ", " J_QUADRATIC ", \"y_box\": " J_BOX("y") ","
         " \"constraints\": {\"type\": \"object\", \"required\": [\"A\", \"B\", \"b\"],"
         " \"additionalProperties\": false, \"properties\": {\"A\": " J_MATRIX ", \"B\": "
         J_MATRIX ", \"b\": " J_VEC "}}}"},
    GEN_FORM("constrained", sv_bl_constrained_gen_params, sv_bl_constrained_gen),
    SV_FORMS_END,
};

static const sv_problem_form *const blp_forms[] = {forms_quadratic, forms_hyperclean,
                                                   forms_hyperparam, forms_constrained};

/* ---- static prototypes ---- */
static int read_explicit(const json_t *pr, const sv_codec_env *env, sv_blp *d, sv_err *e);
static int read_generate(const json_t *problem, const sv_codec_env *env, sv_blp *d, sv_err *e);
static int read_dataset(const json_t *g, const sv_codec_env *env, sv_blp *d, sv_err *e);
static int read_class(const json_t *obj, const char *path, sv_bl_class *out, sv_err *e);
static int read_loss(const json_t *obj, const char *path, sv_bl_loss dflt, int allow_squared,
                     sv_bl_loss *out, sv_err *e);
static int opt_int(const json_t *obj, const char *path, const char *key, long min, long max,
                   long dflt, long *out, sv_err *e);
static int opt_num(const json_t *obj, const char *path, const char *key, double min, double max,
                   int min_excl, double dflt, double *out, sv_err *e);
static int opt_bool(const json_t *obj, const char *path, const char *key, int dflt, int *out,
                    sv_err *e);
static void matrix_shape(const json_t *v, long *rows, long *cols, long *stored);
static int read_matrix(const json_t *obj, const char *path, const char *key, long rows,
                       long cols, const sv_codec_env *env, long *r_out, long *c_out,
                       sv_err *e);
static int read_box(const json_t *obj, const char *path, const char *key, int n,
                    const sv_codec_env *env, sv_err *e);
static int read_set(const json_t *obj, const char *path, const char *key, int required,
                    int allow_flipped, sv_bl_loss loss, long cols, long *rows, long *d_out,
                    long *max_label, const sv_codec_env *env, sv_err *e);
static int check_labels(const json_t *labels, const char *path, sv_bl_loss loss, long K,
                        sv_err *e);

/* ============================================================================================
 * Small readers
 * ========================================================================================== */

static int opt_int(const json_t *obj, const char *path, const char *key, long min, long max,
                   long dflt, long *out, sv_err *e)
{
    json_t *v;
    char f[96];
    sv_json_optional(obj, path, key, &v, e);
    *out = dflt;
    if (!v)
        return SV_OK;
    return sv_json_int(v, sv_json_path_key(f, sizeof f, path, key), min, max, out, e);
}

static int opt_num(const json_t *obj, const char *path, const char *key, double min, double max,
                   int min_excl, double dflt, double *out, sv_err *e)
{
    json_t *v;
    char f[96];
    sv_json_optional(obj, path, key, &v, e);
    *out = dflt;
    if (!v)
        return SV_OK;
    sv_json_path_key(f, sizeof f, path, key);
    if (sv_json_number(v, f, out, e) != SV_OK)
        return SV_EINVAL;
    if (*out < min || *out > max || (min_excl && *out == min))
        return sv_fail(e, f, "must be in %s%g, %g], got %g", min_excl ? "(" : "[", min, max, *out);
    return SV_OK;
}

static int opt_bool(const json_t *obj, const char *path, const char *key, int dflt, int *out,
                    sv_err *e)
{
    json_t *v;
    char f[96];
    sv_json_optional(obj, path, key, &v, e);
    *out = dflt;
    if (!v)
        return SV_OK;
    return sv_json_bool(v, sv_json_path_key(f, sizeof f, path, key), out, e);
}

static int read_class(const json_t *obj, const char *path, sv_bl_class *out, sv_err *e)
{
    json_t *v;
    char f[96];
    if (sv_json_require(obj, path, "class", &v, e) != SV_OK)
        return SV_EINVAL;
    sv_json_path_key(f, sizeof f, path, "class");
    const char *s = json_string_value(v);
    for (int i = 0; s && class_names[i]; i++)
        if (strcmp(s, class_names[i]) == 0) {
            *out = (sv_bl_class)i;
            return SV_OK;
        }
    return sv_fail(e, f, "must be \"quadratic\", \"hyperclean\", \"hyperparam\" or "
                   "\"constrained\"");
}

static int read_loss(const json_t *obj, const char *path, sv_bl_loss dflt, int allow_squared,
                     sv_bl_loss *out, sv_err *e)
{
    json_t *v;
    char f[96];
    sv_json_optional(obj, path, "loss", &v, e);
    *out = dflt;
    if (!v)
        return SV_OK;
    sv_json_path_key(f, sizeof f, path, "loss");
    const char *s = json_string_value(v);
    if (s && strcmp(s, "logistic") == 0)
        *out = SV_BL_LOSS_LOGISTIC;
    else if (s && strcmp(s, "multinomial") == 0)
        *out = SV_BL_LOSS_MULTINOMIAL;
    else if (s && allow_squared && strcmp(s, "squared") == 0)
        *out = SV_BL_LOSS_SQUARED;
    else
        return sv_fail(e, f, allow_squared ? "must be \"squared\", \"logistic\" or \"multinomial\""
                                           : "must be \"logistic\" or \"multinomial\"");
    return SV_OK;
}

/* Shape of a matrix sv_json_matrix has accepted; stored = the entries it holds. */
static void matrix_shape(const json_t *v, long *rows, long *cols, long *stored)
{
    if (json_is_array(v)) {
        *rows = (long)json_array_size(v);
        *cols = (long)json_array_size(json_array_get(v, 0));
        *stored = *rows * *cols;
        return;
    }
    *rows = (long)json_number_value(json_object_get(v, "rows"));
    *cols = (long)json_number_value(json_object_get(v, "cols"));
    if (json_object_get(v, "indptr") || json_object_get(v, "row"))
        *stored = (long)json_array_size(json_object_get(v, "data"));
    else
        *stored = *rows * *cols;
}

/* A required matrix obj[key] of the expected shape (-1: any); its shape into r_out, c_out. */
static int read_matrix(const json_t *obj, const char *path, const char *key, long rows,
                       long cols, const sv_codec_env *env, long *r_out, long *c_out, sv_err *e)
{
    json_t *v;
    char f[96];
    if (sv_json_require(obj, path, key, &v, e) != SV_OK)
        return SV_EINVAL;
    sv_json_path_key(f, sizeof f, path, key);
    if (sv_json_matrix(v, f, rows, cols, env, NULL, e) != SV_OK)
        return SV_EINVAL;
    long st;
    matrix_shape(v, r_out, c_out, &st);
    return SV_OK;
}

/* An optional box {"lo": number | [n], "hi": number | [n]} (either side may be left out). */
static int read_box(const json_t *obj, const char *path, const char *key, int n,
                    const sv_codec_env *env, sv_err *e)
{
    static const char *const allowed[] = {"lo", "hi", NULL};
    json_t *box, *side[2];
    char f[96], g[96];
    sv_json_optional(obj, path, key, &box, e);
    if (!box)
        return SV_OK;
    sv_json_path_key(f, sizeof f, path, key);
    if (sv_json_object(box, f, e) != SV_OK || sv_json_no_unknown(box, f, allowed, e) != SV_OK)
        return SV_EINVAL;
    const char *names[2] = {"lo", "hi"};
    for (int s = 0; s < 2; s++) {
        sv_json_optional(box, f, names[s], &side[s], e);
        if (!side[s] || json_is_number(side[s]))
            continue;
        sv_json_path_key(g, sizeof g, f, names[s]);
        if (sv_json_vector(side[s], g, n, env, NULL, NULL, e) != SV_OK)
            return SV_EINVAL;
    }
    if (side[0] && json_is_number(side[0]) && !isfinite(json_number_value(side[0])))
        return sv_fail(e, f, "lo must be finite");
    for (int i = 0; i < n; i++) {
        double lo = -INFINITY, hi = INFINITY;
        if (side[0])
            lo = json_is_number(side[0]) ? json_number_value(side[0])
                                         : json_number_value(json_array_get(side[0], i));
        if (side[1])
            hi = json_is_number(side[1]) ? json_number_value(side[1])
                                         : json_number_value(json_array_get(side[1], i));
        if (!(lo <= hi)) {
            sv_json_path_index(g, sizeof g, f, i);
            return sv_fail(e, g, "needs lo <= hi, got lo %g and hi %g", lo, hi);
        }
    }
    return SV_OK;
}

static int check_labels(const json_t *labels, const char *path, sv_bl_loss loss, long K,
                        sv_err *e)
{
    char f[96];
    for (size_t i = 0; i < json_array_size(labels); i++) {
        double v = json_number_value(json_array_get(labels, i));
        sv_json_path_index(f, sizeof f, path, (long)i);
        if (loss == SV_BL_LOSS_LOGISTIC && v != 1.0 && v != -1.0)
            return sv_fail(e, f, "logistic labels must be -1 or 1, got %g", v);
        if (loss == SV_BL_LOSS_MULTINOMIAL && (v != floor(v) || v < 0 || (K > 0 && v >= K)))
            return sv_fail(e, f, "class labels must be integers in [0, %ld), got %g",
                           K > 0 ? K : LONG_MAX, v);
    }
    return SV_OK;
}

/* A labelled set obj[key] = {"A": matrix, "labels": [...], "flipped"?: [0/1...]}: cols the
 * expected feature count (-1: any); rows, d_out its shape; max_label the largest label. */
static int read_set(const json_t *obj, const char *path, const char *key, int required,
                    int allow_flipped, sv_bl_loss loss, long cols, long *rows, long *d_out,
                    long *max_label, const sv_codec_env *env, sv_err *e)
{
    static const char *const allowed_f[] = {"A", "labels", "flipped", NULL};
    static const char *const allowed[] = {"A", "labels", NULL};
    json_t *s, *lab, *fl;
    char f[96], g[96];
    *rows = 0;
    if (required) {
        if (sv_json_require(obj, path, key, &s, e) != SV_OK)
            return SV_EINVAL;
    } else {
        sv_json_optional(obj, path, key, &s, e);
        if (!s)
            return SV_OK;
    }
    sv_json_path_key(f, sizeof f, path, key);
    if (sv_json_object(s, f, e) != SV_OK ||
        sv_json_no_unknown(s, f, allow_flipped ? allowed_f : allowed, e) != SV_OK)
        return SV_EINVAL;
    long c;
    if (read_matrix(s, f, "A", -1, cols, env, rows, &c, e) != SV_OK)
        return SV_EINVAL;
    *d_out = c;
    if (sv_json_require(s, f, "labels", &lab, e) != SV_OK)
        return SV_EINVAL;
    sv_json_path_key(g, sizeof g, f, "labels");
    if (sv_json_vector(lab, g, *rows, env, NULL, NULL, e) != SV_OK ||
        check_labels(lab, g, loss, -1, e) != SV_OK)
        return SV_EINVAL;
    for (size_t i = 0; i < json_array_size(lab); i++) {
        long v = (long)json_number_value(json_array_get(lab, i));
        if (v > *max_label)
            *max_label = v;
    }
    sv_json_optional(s, f, "flipped", &fl, e);
    if (fl) {
        sv_json_path_key(g, sizeof g, f, "flipped");
        if (sv_json_int_vector(fl, g, *rows, 0, 1, env, NULL, NULL, e) != SV_OK)
            return SV_EINVAL;
    }
    return SV_OK;
}

static long lim_dim(const sv_codec_env *env)
{
    return env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
}

static long lim_entries(const sv_codec_env *env)
{
    return env && env->max_entries > 0 ? env->max_entries : LONG_MAX;
}

/* ============================================================================================
 * Reading
 * ========================================================================================== */

int sv_blp_read(const json_t *problem, const sv_codec_env *env, sv_blp *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    if (sv_json_object(problem, "/problem", e) != SV_OK)
        return SV_EINVAL;
    d->json = problem;
    int rc, form;
    if (json_object_get(problem, "class") && !json_object_get(problem, "generate") &&
        !json_object_get(problem, "dataset")) {
        /* explicit data: the class names the table whose members /problem may hold */
        if ((rc = read_class(problem, "/problem", &d->cls, e)) != SV_OK ||
            (rc = sv_forms_pick(blp_forms[d->cls], problem, &form, e)) != SV_OK)
            return rc;
        rc = read_explicit(problem, env, d, e);
    } else {
        /* generate or dataset (or not exactly one form): their members at /problem are the same
         * in every class's table, and the class is read inside the object */
        if ((rc = sv_forms_pick(forms_hyperclean, problem, &form, e)) != SV_OK)
            return rc;
        rc = form == BLP_FORM_GENERATE ? read_generate(problem, env, d, e)
                                       : read_dataset(json_object_get(problem, "dataset"), env, d,
                                                      e);
    }
    if (rc != SV_OK)
        return rc;
    json_t *v;
    sv_json_optional(problem, "/problem", "x0", &v, e);
    if (v && (rc = sv_json_vector(v, "/problem/x0", d->dx, env, NULL, NULL, e)) != SV_OK)
        return rc;
    d->x0 = v;
    sv_json_optional(problem, "/problem", "y0", &v, e);
    if (v && (rc = sv_json_vector(v, "/problem/y0", d->dy, env, NULL, NULL, e)) != SV_OK)
        return rc;
    d->y0 = v;
    return SV_OK;
}

/* Explicit data of the class d->cls (read by sv_blp_read, with the members of /problem). */
static int read_explicit(const json_t *pr, const sv_codec_env *env, sv_blp *d, sv_err *e)
{
    const char *P = "/problem";
    int rc;
    d->form = SV_BLP_EXPLICIT;
    double num;
    if (d->cls == SV_BL_QUADRATIC || d->cls == SV_BL_CONSTRAINED) {
        long dy, c2, dx, r;
        if ((rc = read_matrix(pr, P, "H", -1, -1, env, &dy, &c2, e)) != SV_OK)
            return rc;
        if (c2 != dy)
            return sv_fail(e, "/problem/H", "must be square, got %ld x %ld", dy, c2);
        if ((rc = read_matrix(pr, P, "B", dy, -1, env, &r, &dx, e)) != SV_OK)
            return rc;
        json_t *v;
        sv_json_optional(pr, P, "h", &v, e);
        if (v && (rc = sv_json_vector(v, "/problem/h", dy, env, NULL, NULL, e)) != SV_OK)
            return rc;
        if ((rc = sv_json_require(pr, P, "c", &v, e)) != SV_OK ||
            (rc = sv_json_vector(v, "/problem/c", dy, env, NULL, NULL, e)) != SV_OK)
            return rc;
        if ((rc = opt_num(pr, P, "lambda", 0, INFINITY, 0, 0.0, &num, e)) != SV_OK ||
            (rc = opt_num(pr, P, "noise", 0, INFINITY, 0, 0.0, &num, e)) != SV_OK ||
            (rc = read_box(pr, P, "x_box", (int)dx, env, e)) != SV_OK)
            return rc;
        if ((double)dy * dy + (double)dy * dx > (double)lim_entries(env))
            return sv_fail(e, "/problem/H", "H and B hold more than the limit of %ld entries",
                           lim_entries(env));
        d->dx = (int)dx;
        d->dy = (int)dy;
        if (d->cls == SV_BL_CONSTRAINED) {
            static const char *const allowed_k[] = {"A", "B", "b", NULL};
            json_t *k;
            long m, cc;
            const char *K = "/problem/constraints";
            if ((rc = sv_json_require(pr, P, "constraints", &k, e)) != SV_OK ||
                (rc = sv_json_object(k, K, e)) != SV_OK ||
                (rc = sv_json_no_unknown(k, K, allowed_k, e)) != SV_OK ||
                (rc = read_matrix(k, K, "A", -1, dx, env, &m, &cc, e)) != SV_OK ||
                (rc = read_matrix(k, K, "B", m, dy, env, &r, &cc, e)) != SV_OK ||
                (rc = sv_json_require(k, K, "b", &v, e)) != SV_OK ||
                (rc = sv_json_vector(v, "/problem/constraints/b", m, env, NULL, NULL, e)) != SV_OK ||
                (rc = read_box(pr, P, "y_box", (int)dy, env, e)) != SV_OK)
                return rc;
        }
        return SV_OK;
    }

    /* hyperclean, hyperparam (the members were checked by sv_forms_pick) */
    const int hc = d->cls == SV_BL_HYPERCLEAN;
    sv_bl_loss loss;
    if ((rc = read_loss(pr, P, hc ? SV_BL_LOSS_LOGISTIC : SV_BL_LOSS_SQUARED, !hc, &loss, e)) !=
        SV_OK)
        return rc;
    long n, nv, nt, dfeat, dv, dt, maxl = -1, K;
    if ((rc = read_set(pr, P, "train", 1, hc, loss, -1, &n, &dfeat, &maxl, env, e)) != SV_OK ||
        (rc = read_set(pr, P, "val", 1, 0, loss, dfeat, &nv, &dv, &maxl, env, e)) != SV_OK ||
        (rc = read_set(pr, P, "test", 0, 0, loss, dfeat, &nt, &dt, &maxl, env, e)) != SV_OK)
        return rc;
    long dflt_K = loss == SV_BL_LOSS_MULTINOMIAL ? (maxl + 1 > 2 ? maxl + 1 : 2)
                                                 : (loss == SV_BL_LOSS_LOGISTIC ? 2 : 1);
    if ((rc = opt_int(pr, P, "classes", loss == SV_BL_LOSS_MULTINOMIAL ? 2 : dflt_K,
                      loss == SV_BL_LOSS_MULTINOMIAL ? 100000 : dflt_K, dflt_K, &K, e)) != SV_OK)
        return rc;
    if (loss == SV_BL_LOSS_MULTINOMIAL) {
        /* labels against the class count */
        const char *sets[3] = {"train", "val", "test"};
        for (int s = 0; s < 3; s++) {
            json_t *S = json_object_get(pr, sets[s]);
            if (!S || json_is_null(S))
                continue;
            char f[96];
            snprintf(f, sizeof f, "/problem/%s/labels", sets[s]);
            if ((rc = check_labels(json_object_get(S, "labels"), f, loss, K, e)) != SV_OK)
                return rc;
        }
    }
    int pf = 0;
    if (hc) {
        if ((rc = opt_num(pr, P, "mu", 0, INFINITY, 1, BLP_DEFAULT_MU, &num, e)) != SV_OK ||
            (rc = opt_num(pr, P, "upper_reg", 0, INFINITY, 0, 0.0, &num, e)) != SV_OK)
            return rc;
        d->dx = (int)n;
    } else {
        if ((rc = opt_bool(pr, P, "per_feature", 0, &pf, e)) != SV_OK)
            return rc;
        d->dx = pf ? (int)dfeat : 1;
    }
    if ((double)dfeat * (loss == SV_BL_LOSS_MULTINOMIAL ? K : 1) > (double)lim_dim(env))
        return sv_fail(e, "/problem/train/A", "the lower-level dimension exceeds the limit of %ld",
                       lim_dim(env));
    d->dy = (int)(dfeat * (loss == SV_BL_LOSS_MULTINOMIAL ? K : 1));
    return read_box(pr, P, "x_box", d->dx, env, e);
}

/* The generate object decoded by the class's table (core/models/bl_<class>.c) into out, which
 * holds the table's defaults. A member given as null keeps its default, as it always has; the
 * table then checks names, types, ranges and required members. */
static int decode_generate(const json_t *g, const sv_param_spec *table, void *out, sv_err *e)
{
    json_t *copy = json_copy((json_t *)g);
    if (!copy)
        return sv_fail(e, "/problem/generate", "out of memory");
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(copy, tmp, key, v) {
        if (json_is_null(v) && sv_params_find(table, key))
            json_object_del(copy, key);
    }
    int rc = sv_params_decode_at(table, copy, "/problem/generate", out, e);
    json_decref(copy);
    return rc;
}

/* The rows and dimension limits of the server (env) on a decoded generate object. */
static int check_rows(const char *name, long v, long lim, sv_err *e)
{
    char f[96];
    if (v <= lim)
        return SV_OK;
    snprintf(f, sizeof f, "/problem/generate/%s", name);
    return sv_fail(e, f, "%ld exceeds the limit of %ld", v, lim);
}

static int read_generate(const json_t *problem, const sv_codec_env *env, sv_blp *d, sv_err *e)
{
    const char *P = "/problem/generate";
    const json_t *g = json_object_get(problem, "generate");
    int rc;
    d->form = SV_BLP_GENERATE;
    if ((rc = sv_json_object(g, P, e)) != SV_OK || (rc = read_class(g, P, &d->cls, e)) != SV_OK)
        return rc;
    const sv_problem_form *f = &blp_forms[d->cls][BLP_FORM_GENERATE];
    const long LD = lim_dim(env);
    const double LE = (double)lim_entries(env);
    if (d->cls == SV_BL_QUADRATIC || d->cls == SV_BL_CONSTRAINED) {
        sv_bl_quadratic_gen gq;
        sv_bl_constrained_gen gc;
        sv_bl_quadratic_spec *q;
        if (d->cls == SV_BL_QUADRATIC) {
            sv_params_defaults(f->fields, &gq);
            rc = decode_generate(g, f->fields, &gq, e);
            q = &gq.spec;
        } else {
            sv_params_defaults(f->fields, &gc);
            rc = decode_generate(g, f->fields, &gc, e);
            q = &gc.spec.q;
        }
        if (rc != SV_OK || (rc = check_rows("dx", q->dx, LD, e)) != SV_OK ||
            (rc = check_rows("dy", q->dy, LD, e)) != SV_OK)
            return rc;
        const double dx = q->dx, dy = q->dy;
        if (dy * dy + dy * dx > LE)
            return sv_fail(e, "/problem/generate/dy", "dy^2 + dy dx = %.0f exceeds the limit of "
                           "%.0f matrix entries", dy * dy + dy * dx, LE);
        if (d->cls == SV_BL_CONSTRAINED) {
            if ((rc = sv_bl_constrained_gen_finish(&gc, e)) != SV_OK)
                return rc;
            d->gen_c = gc.spec;
            d->gen_q = gc.spec.q;
        } else {
            d->gen_q = gq.spec;
            d->gen_c.q = gq.spec;  /* as before: both specs filled, whichever the class */
            d->gen_c.seed = gq.spec.seed + 1;
        }
        d->dx = q->dx;
        d->dy = q->dy;
        return SV_OK;
    }
    if (d->cls == SV_BL_HYPERCLEAN) {
        sv_bl_hyperclean_gen gh;
        sv_params_defaults(f->fields, &gh);
        sv_bl_hyperclean_spec *s = &gh.spec;
        if ((rc = decode_generate(g, f->fields, &gh, e)) != SV_OK ||
            (rc = check_rows("n_train", s->n_train, LD, e)) != SV_OK ||
            (rc = check_rows("n_val", s->n_val, LD, e)) != SV_OK ||
            (rc = check_rows("n_test", s->n_test, LD, e)) != SV_OK ||
            (rc = check_rows("d", s->d, LD - 1, e)) != SV_OK)
            return rc;
        long dfe = (long)s->d + s->intercept, K = s->classes;
        if ((double)((long)s->n_train + s->n_val + s->n_test) * dfe > LE)
            return sv_fail(e, P, "(n_train + n_val + n_test) * d exceeds the limit of %.0f matrix "
                           "entries", LE);
        if ((double)dfe * (K > 2 ? K : 1) > (double)LD)
            return sv_fail(e, "/problem/generate/d", "the lower-level dimension d * classes "
                           "exceeds the limit of %ld", LD);
        d->gen_hc = *s;
        d->dx = s->n_train;
        d->dy = (int)(dfe * (K > 2 ? K : 1));
        return SV_OK;
    }
    /* hyperparam */
    sv_bl_hyperparam_gen gp;
    sv_params_defaults(f->fields, &gp);
    sv_bl_hyperparam_spec *s = &gp.spec;
    if ((rc = decode_generate(g, f->fields, &gp, e)) != SV_OK ||
        (rc = check_rows("n_train", s->n_train, LD, e)) != SV_OK ||
        (rc = check_rows("n_val", s->n_val, LD, e)) != SV_OK ||
        (rc = check_rows("n_test", s->n_test, LD, e)) != SV_OK ||
        (rc = check_rows("d", s->d, LD - 1, e)) != SV_OK)
        return rc;
    long dfe = (long)s->d + s->intercept, kk = s->loss == SV_BL_LOSS_MULTINOMIAL ? s->classes : 1;
    if ((double)((long)s->n_train + s->n_val + s->n_test) * dfe > LE)
        return sv_fail(e, P, "(n_train + n_val + n_test) * d exceeds the limit of %.0f matrix "
                       "entries", LE);
    if ((double)dfe * kk > (double)LD)
        return sv_fail(e, "/problem/generate/d", "the lower-level dimension exceeds the limit of "
                       "%ld", LD);
    d->gen_hp = *s;
    d->dx = s->per_feature ? (int)dfe : 1;
    d->dy = (int)(dfe * kk);
    return SV_OK;
}

static int read_dataset(const json_t *g, const sv_codec_env *env, sv_blp *d, sv_err *e)
{
    const char *P = "/problem/dataset";
    int rc;
    d->form = SV_BLP_DATASET;
    json_t *v;
    if ((rc = sv_json_object(g, P, e)) != SV_OK ||
        (rc = sv_json_require(g, P, "name", &v, e)) != SV_OK)
        return rc;
    if (!json_is_string(v))
        return sv_fail(e, "/problem/dataset/name", "expected a string, got %s", sv_json_kind(v));
    const sv_named_dataset *ds = sv_named_dataset_find(json_string_value(v));
    if (!ds)
        return sv_fail(e, "/problem/dataset/name", "unknown data set \"%.64s\" (known: "
                       "breast_cancer, digits)", json_string_value(v));
    if ((rc = read_class(g, P, &d->cls, e)) != SV_OK)
        return rc;
    if (d->cls != SV_BL_HYPERCLEAN && d->cls != SV_BL_HYPERPARAM)
        return sv_fail(e, "/problem/dataset/class", "data sets serve \"hyperclean\" and "
                       "\"hyperparam\" only");
    const int hc = d->cls == SV_BL_HYPERCLEAN;
    static const char *const allowed_hc[] = {"name", "class", "n_train", "n_val", "n_test",
                                             "flip", "mu", "upper_reg", "intercept", "seed", NULL};
    static const char *const allowed_hp[] = {"name", "class", "n_train", "n_val", "n_test",
                                             "loss", "per_feature", "box", "intercept", "seed",
                                             NULL};
    if ((rc = sv_json_no_unknown(g, P, hc ? allowed_hc : allowed_hp, e)) != SV_OK)
        return rc;
    long n, nv, nt, seed;
    int icpt;
    if ((rc = opt_int(g, P, "n_train", 1, ds->rows, ds->rows / 2, &n, e)) != SV_OK ||
        (rc = opt_int(g, P, "n_val", 1, ds->rows, ds->rows / 4, &nv, e)) != SV_OK ||
        (rc = opt_int(g, P, "n_test", 0, ds->rows, -1, &nt, e)) != SV_OK ||
        (rc = opt_bool(g, P, "intercept", 1, &icpt, e)) != SV_OK ||
        (rc = opt_int(g, P, "seed", 0, LONG_MAX, 0, &seed, e)) != SV_OK)
        return rc;
    if (json_object_get(g, "n_test") == NULL || json_is_null(json_object_get(g, "n_test")))
        nt = ds->rows - n - nv > 0 ? ds->rows - n - nv : 0;
    if (n + nv + nt > ds->rows)
        return sv_fail(e, "/problem/dataset/n_train", "n_train + n_val + n_test = %ld exceeds the "
                       "%d rows of %s", n + nv + nt, ds->rows, ds->name);
    const long dfe = ds->cols + icpt;
    if (hc) {
        sv_bl_hyperclean_spec *s = &d->gen_hc;
        if ((rc = opt_num(g, P, "flip", 0, 1, 0, BLP_DEFAULT_FLIP, &s->flip, e)) != SV_OK ||
            (rc = opt_num(g, P, "mu", 0, 1e12, 1, BLP_DEFAULT_MU, &s->mu, e)) != SV_OK ||
            (rc = opt_num(g, P, "upper_reg", 0, 1e12, 0, 0.0, &s->upper_reg, e)) != SV_OK)
            return rc;
        if (s->flip >= 1)
            return sv_fail(e, "/problem/dataset/flip", "must be in [0, 1), got %g", s->flip);
        s->n_train = (int)n, s->n_val = (int)nv, s->n_test = (int)nt;
        s->intercept = icpt, s->seed = (uint64_t)seed;
        d->dx = (int)n;
        d->dy = (int)(dfe * (ds->classes > 2 ? ds->classes : 1));
    } else {
        sv_bl_hyperparam_spec *s = &d->gen_hp;
        int pf;
        sv_bl_loss dflt = ds->classes > 2 ? SV_BL_LOSS_MULTINOMIAL : SV_BL_LOSS_LOGISTIC;
        if ((rc = read_loss(g, P, dflt, 1, &s->loss, e)) != SV_OK ||
            (rc = opt_bool(g, P, "per_feature", 0, &pf, e)) != SV_OK ||
            (rc = opt_num(g, P, "box", 0, 700, 0, 0.0, &s->box, e)) != SV_OK)
            return rc;
        if (s->loss == SV_BL_LOSS_LOGISTIC && ds->classes != 2)
            return sv_fail(e, "/problem/dataset/loss", "the logistic loss needs 2 classes, %s has "
                           "%d", ds->name, ds->classes);
        s->n_train = (int)n, s->n_val = (int)nv, s->n_test = (int)nt;
        s->per_feature = pf, s->intercept = icpt, s->seed = (uint64_t)seed;
        d->dx = pf ? (int)dfe : 1;
        d->dy = (int)(dfe * (s->loss == SV_BL_LOSS_MULTINOMIAL ? ds->classes : 1));
    }
    if (d->dy > lim_dim(env))
        return sv_fail(e, "/problem/dataset/name", "the lower-level dimension %d exceeds the "
                       "limit of %ld", d->dy, lim_dim(env));
    if ((rc = sv_named_dataset_check_installed(ds, "/problem/dataset/name", env, e)) != SV_OK)
        return rc;
    d->ds_file = ds->file;
    return SV_OK;
}

/* ============================================================================================
 * Building
 * ========================================================================================== */

/* A dense copy of the matrix obj[key] (already checked) into *out (malloc'd row-major). */
static int take_dense(const json_t *obj, const char *path, const char *key,
                      const sv_codec_env *env, double **out, sv_err *e)
{
    char f[96];
    sv_mat m;
    sv_dense dn;
    memset(&dn, 0, sizeof dn);
    sv_json_path_key(f, sizeof f, path, key);
    int rc = sv_json_matrix(json_object_get(obj, key), f, -1, -1, env, &m, e);
    if (rc != SV_OK)
        return rc;
    rc = sv_mat_to_dense(&m, &dn);
    sv_mat_free(&m);
    if (rc != SV_OK)
        return rc;
    *out = dn.data;
    return SV_OK;
}

static int take_vector(const json_t *obj, const char *path, const char *key,
                       const sv_codec_env *env, double **out, sv_err *e)
{
    char f[96];
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return SV_OK;
    return sv_json_vector(v, sv_json_path_key(f, sizeof f, path, key), -1, env, out, NULL, e);
}

/* Box arrays lo, hi of length n from obj[key] (either side NULL when absent). */
static int take_box(const json_t *obj, const char *key, int n, double **lo, double **hi)
{
    const json_t *box = json_object_get(obj, key);
    *lo = *hi = NULL;
    if (!box || json_is_null(box))
        return SV_OK;
    const char *names[2] = {"lo", "hi"};
    double **outs[2] = {lo, hi};
    for (int s = 0; s < 2; s++) {
        const json_t *v = json_object_get(box, names[s]);
        if (!v || json_is_null(v))
            continue;
        double *a = malloc((size_t)n * sizeof *a);
        if (!a)
            return SV_ENOMEM;
        for (int i = 0; i < n; i++)
            a[i] = json_is_number(v) ? json_number_value(v)
                                     : json_number_value(json_array_get(v, i));
        *outs[s] = a;
    }
    return SV_OK;
}

static int take_set(const json_t *obj, const char *key, sv_bl_loss loss,
                    const sv_codec_env *env, sv_bl_set *S, int **flipped, sv_err *e)
{
    memset(S, 0, sizeof *S);
    const json_t *s = json_object_get(obj, key);
    if (!s || json_is_null(s))
        return SV_OK;
    char f[96], g[96];
    snprintf(f, sizeof f, "/problem/%s", key);
    sv_json_path_key(g, sizeof g, f, "A");
    int rc = sv_json_matrix(json_object_get(s, "A"), g, -1, -1, env, &S->A, e);
    if (rc != SV_OK)
        return rc;
    S->rows = S->A.rows;
    const json_t *lab = json_object_get(s, "labels");
    if (loss == SV_BL_LOSS_MULTINOMIAL) {
        S->cls = malloc((size_t)S->rows * sizeof *S->cls);
        if (!S->cls)
            return SV_ENOMEM;
        for (int i = 0; i < S->rows; i++)
            S->cls[i] = (int)json_number_value(json_array_get(lab, i));
    } else {
        S->b = malloc((size_t)S->rows * sizeof *S->b);
        if (!S->b)
            return SV_ENOMEM;
        for (int i = 0; i < S->rows; i++)
            S->b[i] = json_number_value(json_array_get(lab, i));
    }
    const json_t *fl = json_object_get(s, "flipped");
    if (flipped && fl && !json_is_null(fl)) {
        *flipped = malloc((size_t)S->rows * sizeof **flipped);
        if (!*flipped)
            return SV_ENOMEM;
        for (int i = 0; i < S->rows; i++)
            (*flipped)[i] = json_number_value(json_array_get(fl, i)) != 0.0;
    }
    return SV_OK;
}

static int build_quadratic(const json_t *pr, const sv_codec_env *env, sv_bl_quadratic *q,
                           int dx, int dy, sv_err *e)
{
    int rc;
    q->dx = dx;
    q->dy = dy;
    if ((rc = take_dense(pr, "/problem", "H", env, &q->H, e)) != SV_OK ||
        (rc = take_dense(pr, "/problem", "B", env, &q->B, e)) != SV_OK ||
        (rc = take_vector(pr, "/problem", "h", env, &q->h, e)) != SV_OK ||
        (rc = take_vector(pr, "/problem", "c", env, &q->c, e)) != SV_OK ||
        (rc = take_box(pr, "x_box", dx, &q->x_lo, &q->x_hi)) != SV_OK)
        return rc;
    const json_t *v = json_object_get(pr, "lambda");
    q->lambda = v && !json_is_null(v) ? json_number_value(v) : 0.0;
    v = json_object_get(pr, "noise");
    q->noise = v && !json_is_null(v) ? json_number_value(v) : 0.0;
    return SV_OK;
}

static int build_explicit(sv_blp *d, const sv_codec_env *env, sv_err *e)
{
    const json_t *pr = d->json;
    int rc;
    switch (d->cls) {
    case SV_BL_QUADRATIC:
        if ((rc = build_quadratic(pr, env, &d->quad, d->dx, d->dy, e)) != SV_OK)
            return rc;
        if ((rc = sv_bl_quadratic_check(&d->quad, e)) != SV_OK)
            return rc;
        sv_bl_quadratic_bind(&d->quad, &d->prob);
        return SV_OK;
    case SV_BL_CONSTRAINED: {
        sv_bl_constrained *c = &d->con;
        const json_t *k = json_object_get(pr, "constraints");
        if ((rc = build_quadratic(pr, env, &c->q, d->dx, d->dy, e)) != SV_OK ||
            (rc = take_dense(k, "/problem/constraints", "A", env, &c->A, e)) != SV_OK ||
            (rc = take_dense(k, "/problem/constraints", "B", env, &c->B, e)) != SV_OK ||
            (rc = take_vector(k, "/problem/constraints", "b", env, &c->b, e)) != SV_OK ||
            (rc = take_box(pr, "y_box", d->dy, &c->y_lo, &c->y_hi)) != SV_OK)
            return rc;
        c->m = (int)json_array_size(json_object_get(k, "b"));
        if ((rc = sv_bl_constrained_check(c, e)) != SV_OK)
            return rc;
        sv_bl_constrained_bind(c, &d->prob);
        return SV_OK;
    }
    case SV_BL_HYPERCLEAN: {
        sv_bl_hyperclean *h = &d->hc;
        read_loss(pr, "/problem", SV_BL_LOSS_LOGISTIC, 0, &h->loss, e);
        if ((rc = take_set(pr, "train", h->loss, env, &h->train, &h->flipped, e)) != SV_OK ||
            (rc = take_set(pr, "val", h->loss, env, &h->val, NULL, e)) != SV_OK ||
            (rc = take_set(pr, "test", h->loss, env, &h->test, NULL, e)) != SV_OK ||
            (rc = take_box(pr, "x_box", d->dx, &h->x_lo, &h->x_hi)) != SV_OK)
            return rc;
        h->d = h->train.A.cols;
        h->K = h->loss == SV_BL_LOSS_MULTINOMIAL ? d->dy / h->d : 2;
        const json_t *v = json_object_get(pr, "mu");
        h->mu = v && !json_is_null(v) ? json_number_value(v) : BLP_DEFAULT_MU;
        v = json_object_get(pr, "upper_reg");
        h->upper_reg = v && !json_is_null(v) ? json_number_value(v) : 0.0;
        if ((rc = sv_bl_hyperclean_check(h, e)) != SV_OK)
            return rc;
        sv_bl_hyperclean_bind(h, &d->prob);
        return SV_OK;
    }
    case SV_BL_HYPERPARAM:
    default: {
        sv_bl_hyperparam *h = &d->hp;
        read_loss(pr, "/problem", SV_BL_LOSS_SQUARED, 1, &h->loss, e);
        if ((rc = take_set(pr, "train", h->loss, env, &h->train, NULL, e)) != SV_OK ||
            (rc = take_set(pr, "val", h->loss, env, &h->val, NULL, e)) != SV_OK ||
            (rc = take_set(pr, "test", h->loss, env, &h->test, NULL, e)) != SV_OK ||
            (rc = take_box(pr, "x_box", d->dx, &h->x_lo, &h->x_hi)) != SV_OK)
            return rc;
        h->d = h->train.A.cols;
        h->K = h->loss == SV_BL_LOSS_MULTINOMIAL ? d->dy / h->d
                                                 : (h->loss == SV_BL_LOSS_LOGISTIC ? 2 : 1);
        const json_t *v = json_object_get(pr, "per_feature");
        h->per_feature = v && json_is_true(v);
        if ((rc = sv_bl_hyperparam_check(h, e)) != SV_OK)
            return rc;
        sv_bl_hyperparam_bind(h, &d->prob);
        return SV_OK;
    }
    }
}

static int build_generated(sv_blp *d, sv_err *e)
{
    int rc;
    switch (d->cls) {
    case SV_BL_QUADRATIC:
        if ((rc = sv_bl_quadratic_generate(&d->gen_q, &d->quad, e)) != SV_OK)
            return rc;
        sv_bl_quadratic_bind(&d->quad, &d->prob);
        return SV_OK;
    case SV_BL_CONSTRAINED:
        if ((rc = sv_bl_constrained_generate(&d->gen_c, &d->con, e)) != SV_OK)
            return rc;
        sv_bl_constrained_bind(&d->con, &d->prob);
        return SV_OK;
    case SV_BL_HYPERCLEAN:
        if ((rc = sv_bl_hyperclean_generate(&d->gen_hc, &d->hc, e)) != SV_OK)
            return rc;
        sv_bl_hyperclean_bind(&d->hc, &d->prob);
        return SV_OK;
    case SV_BL_HYPERPARAM:
    default:
        if ((rc = sv_bl_hyperparam_generate(&d->gen_hp, &d->hp, e)) != SV_OK)
            return rc;
        sv_bl_hyperparam_bind(&d->hp, &d->prob);
        return SV_OK;
    }
}

static int build_dataset(sv_blp *d, const sv_codec_env *env, sv_err *e)
{
    char file[4096];
    sv_dataset ds;
    if (!env || !env->data_dir)
        return sv_fail(e, "/problem/dataset/name", "no data directory configured");
    snprintf(file, sizeof file, "%s/%s", env->data_dir, d->ds_file);
    int rc = sv_dataset_load(file, &ds, e);
    if (rc != SV_OK)
        return rc;
    if (d->cls == SV_BL_HYPERCLEAN) {
        rc = sv_bl_hyperclean_from_dataset(&ds, &d->gen_hc, &d->hc, e);
        if (rc == SV_OK)
            sv_bl_hyperclean_bind(&d->hc, &d->prob);
    } else {
        rc = sv_bl_hyperparam_from_dataset(&ds, &d->gen_hp, &d->hp, e);
        if (rc == SV_OK)
            sv_bl_hyperparam_bind(&d->hp, &d->prob);
    }
    sv_dataset_free(&ds);
    if (rc == SV_OK && (d->prob.dx != d->dx || d->prob.dy != d->dy))
        return sv_fail(e, "/problem/dataset/name", "the data set file does not have the expected "
                       "shape");
    return rc;
}

int sv_blp_build(sv_blp *d, const sv_codec_env *env, sv_err *e)
{
    int rc;
    if (d->form == SV_BLP_EXPLICIT)
        rc = build_explicit(d, env, e);
    else if (d->form == SV_BLP_GENERATE)
        rc = build_generated(d, e);
    else
        rc = build_dataset(d, env, e);
    if (rc != SV_OK) {
        d->built = 1;  /* so that free releases what was taken */
        sv_blp_free(d);
        return rc;
    }
    d->built = 1;
    return SV_OK;
}

int sv_blp_validate(sv_blp *d, const sv_codec_env *env, sv_err *e)
{
    /* sv_blp_read has checked everything but what needs numerics: H symmetric positive definite
     * and the constraint rows (quadratic, constrained). That takes a Cholesky factorisation, so
     * it runs here, on the validating thread, only while it is cheap (dy <= BLP_VALIDATE_MAX_DY);
     * larger problems get the same check when the job runs. */
    if (d->form != SV_BLP_EXPLICIT ||
        (d->cls != SV_BL_QUADRATIC && d->cls != SV_BL_CONSTRAINED) || d->dy > BLP_VALIDATE_MAX_DY)
        return SV_OK;
    int rc = sv_blp_build(d, env, e);
    if (rc == SV_OK)
        sv_blp_free(d);
    return rc;
}

void sv_blp_free(sv_blp *d)
{
    if (!d || !d->built)
        return;
    sv_bl_quadratic_free(&d->quad);
    sv_bl_constrained_free(&d->con);
    sv_bl_hyperclean_free(&d->hc);
    sv_bl_hyperparam_free(&d->hp);
    memset(&d->prob, 0, sizeof d->prob);
    d->built = 0;
}

int sv_blp_start(const sv_blp *d, const sv_codec_env *env, double *x0, double *y0, sv_err *e)
{
    double *v = NULL;
    int rc;
    sv_zero(d->dx, x0);
    sv_zero(d->dy, y0);
    if (d->x0) {
        if ((rc = sv_json_vector(d->x0, "/problem/x0", d->dx, env, &v, NULL, e)) != SV_OK)
            return rc;
        memcpy(x0, v, (size_t)d->dx * sizeof *x0);
        free(v);
    }
    if (d->y0) {
        if ((rc = sv_json_vector(d->y0, "/problem/y0", d->dy, env, &v, NULL, e)) != SV_OK)
            return rc;
        memcpy(y0, v, (size_t)d->dy * sizeof *y0);
        free(v);
    }
    if (d->built)
        sv_bl_project_x(&d->prob, x0);
    return SV_OK;
}

/* ============================================================================================
 * Results
 * ========================================================================================== */

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void set_acc(json_t *r, const char *key, const sv_bl_problem *p, const double *y,
                    sv_bl_set_id set)
{
    double a = sv_bl_accuracy(p, y, set);
    if (isfinite(a))
        json_object_set_new(r, key, json_real(a));
}

int sv_blp_refuse_class(const sv_blp *d, sv_bl_class cls, const char *why, sv_err *e)
{
    if (d->cls != cls)
        return SV_OK;
    return sv_fail(e, d->form == SV_BLP_GENERATE ? "/problem/generate/class" : "/problem/class",
                   "%s", why);
}

int sv_blp_prepare(sv_blp *d, const sv_codec_env *env, double **x, double **y, sv_err *e)
{
    *x = NULL;
    *y = NULL;
    int rc = sv_blp_build(d, env, e);
    if (rc != SV_OK)
        return rc;
    double *xv = calloc((size_t)d->prob.dx, sizeof *xv);
    double *yv = calloc((size_t)d->prob.dy, sizeof *yv);
    if (!xv || !yv)
        rc = SV_ENOMEM;
    else
        rc = sv_blp_start(d, env, xv, yv, e);
    if (rc != SV_OK) {
        free(xv);
        free(yv);
        return rc;
    }
    *x = xv;
    *y = yv;
    return SV_OK;
}

int sv_blp_result_new(const sv_blp *d, const sv_info *info, const double *x, const double *y,
                      json_t **out)
{
    *out = NULL;
    json_t *r = json_object();
    if (!r)
        return SV_ENOMEM;
    json_object_set_new(r, "status", json_string(sv_status_name(info->status)));
    json_object_set_new(r, "iterations", json_integer(info->iter));
    json_object_set_new(r, "solve_time_s", json_real(info->solve_time_s));
    int rc = sv_blp_encode(d, x, y, r);
    if (rc != SV_OK) {
        json_decref(r);
        return rc;
    }
    json_t *F = json_object_get(r, "upper_objective");
    json_object_set_new(r, "objective", F ? json_deep_copy(F) : sv_codec_real(info->obj));
    *out = r;
    return SV_OK;
}

int sv_blp_encode(const sv_blp *d, const double *x, const double *y, json_t *r)
{
    const sv_bl_problem *p = &d->prob;
    const int dx = p->dx, dy = p->dy;
    size_t nw = sv_bl_work_size(p);
    double *work = malloc(nw * sizeof *work);
    double *ys = malloc((size_t)dy * sizeof *ys);
    double *g = malloc((size_t)dx * sizeof *g);
    double *xt = malloc((size_t)dx * sizeof *xt);
    if (!work || !ys || !g || !xt) {
        free(work), free(ys), free(g), free(xt);
        return SV_ENOMEM;
    }
    json_object_set_new(r, "x", sv_json_from_vector(x, dx));
    json_object_set_new(r, "y", sv_json_from_vector(y, dy));
    json_object_set_new(r, "upper_at_y", num_or_null(sv_bl_upper(p, x, y, NULL, NULL, NULL, work)));
    json_object_set_new(r, "lower_residual", num_or_null(sv_bl_lower_residual(p, x, y, work)));
    memcpy(ys, y, (size_t)dy * sizeof *ys);
    double F = NAN;
    int rc = sv_bl_evaluate(p, x, ys, BLP_RESULT_TOL, &F, g, work, NULL);
    json_object_set_new(r, "upper_objective", num_or_null(F));
    json_object_set_new(r, "hypergrad_norm", num_or_null(rc == SV_OK ? sv_nrm2(dx, g) : NAN));
    switch (d->cls) {
    case SV_BL_QUADRATIC:
    case SV_BL_CONSTRAINED:
        if (d->cls == SV_BL_QUADRATIC && sv_bl_quadratic_solution(&d->quad, xt, NULL) == SV_OK) {
            double err = 0.0;
            for (int j = 0; j < dx; j++)
                err += (x[j] - xt[j]) * (x[j] - xt[j]);
            json_object_set_new(r, "x_star", sv_json_from_vector(xt, dx));
            json_object_set_new(r, "x_error", num_or_null(sqrt(err)));
        }
        break;
    case SV_BL_HYPERCLEAN: {
        set_acc(r, "train_accuracy", p, y, SV_BL_SET_TRAIN);
        set_acc(r, "validation_accuracy", p, y, SV_BL_SET_VAL);
        set_acc(r, "test_accuracy", p, y, SV_BL_SET_TEST);
        /* the baseline: every weight 1 (sigmoid(40) = 1 in double) */
        sv_fill(dx, BLP_UNWEIGHTED_X, xt);
        sv_zero(dy, ys);
        sv_bl_solve_lower(p, xt, ys, BLP_RESULT_TOL, 100, work, NULL);
        set_acc(r, "unweighted_validation_accuracy", p, ys, SV_BL_SET_VAL);
        if (d->hc.test.rows > 0)
            set_acc(r, "unweighted_test_accuracy", p, ys, SV_BL_SET_TEST);
        for (int i = 0; i < dx; i++)
            g[i] = 1.0 / (1.0 + exp(-x[i]));
        json_object_set_new(r, "weights", sv_json_from_vector(g, dx));
        if (d->hc.flipped) {
            double pr, rec;
            long flagged = 0;
            for (int i = 0; i < dx; i++)
                flagged += g[i] < 0.5;
            sv_bl_hyperclean_detection(&d->hc, x, 0.5, &pr, &rec);
            json_object_set_new(r, "detection",
                                json_pack("{s:o, s:o, s:f, s:I}", "precision", num_or_null(pr),
                                          "recall", num_or_null(rec), "threshold", 0.5,
                                          "flagged", (json_int_t)flagged));
        }
        break;
    }
    case SV_BL_HYPERPARAM:
        for (int j = 0; j < dx; j++)
            g[j] = exp(x[j]);
        json_object_set_new(r, "ridge", sv_json_from_vector(g, dx));
        set_acc(r, "train_accuracy", p, y, SV_BL_SET_TRAIN);
        set_acc(r, "validation_accuracy", p, y, SV_BL_SET_VAL);
        set_acc(r, "test_accuracy", p, y, SV_BL_SET_TEST);
        break;
    }
    free(work), free(ys), free(g), free(xt);
    return SV_OK;
}

/* ============================================================================================
 * Schema and examples
 * ========================================================================================== */

json_t *sv_blp_schema(void)
{
    /* one alternative a (class, form): the oneOf of every class's table, one after the other */
    json_t *one_of = json_array();
    for (int c = 0; one_of && c < (int)(sizeof blp_forms / sizeof blp_forms[0]); c++) {
        json_t *part = sv_forms_schema(blp_forms[c]);
        if (!part || json_array_extend(one_of, json_object_get(part, "oneOf")) != 0) {
            json_decref(part);
            json_decref(one_of);
            return NULL;
        }
        json_decref(part);
    }
    if (!one_of)
        return NULL;
    return json_pack("{s:o, s:s}", "oneOf", one_of, "description",
                     "a bilevel problem min_x f(x, y*(x)), y*(x) = argmin_y g(x, y), of class "
                     "quadratic, hyperclean, hyperparam or constrained: exactly one of class "
                     "(explicit data), generate, dataset (hyperclean and hyperparam); "
                     "docs/solvers/bilevel/problems.md");
}

json_t *sv_blp_example(sv_bl_class cls)
{
    switch (cls) {
    case SV_BL_QUADRATIC:
        return json_pack("{s:{s:s, s:i, s:i, s:f, s:f, s:i}}", "generate", "class", "quadratic",
                         "dx", 5, "dy", 8, "cond", 10.0, "lambda", 0.1, "seed", 1);
    case SV_BL_CONSTRAINED:
        return json_pack("{s:{s:s, s:i, s:i, s:i, s:i}}", "generate", "class", "constrained",
                         "dx", 3, "dy", 5, "m", 2, "seed", 1);
    case SV_BL_HYPERCLEAN:
        return json_pack("{s:{s:s, s:i, s:i, s:i, s:f, s:i}}", "generate", "class", "hyperclean",
                         "n_train", 200, "n_val", 100, "d", 10, "flip", 0.3, "seed", 1);
    case SV_BL_HYPERPARAM:
    default:
        return json_pack("{s:{s:s, s:i, s:i, s:i, s:i}}", "generate", "class", "hyperparam",
                         "n_train", 40, "n_val", 100, "d", 20, "seed", 1);
    }
}
