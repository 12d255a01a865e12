/* ef21.c - the distributed.ef21 codec: problem JSON (explicit clients, a generated heterogeneous
 * instance, or a named data set split across clients) and params into ef21_solve, and its
 * outcome back into JSON. The doc page is docs/solvers/distributed/ef21.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/codecs/distributed/clients_json.h"
#include "api/datasets.h"
#include "api/forms.h"
#include "api/glm_json.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/models/gen_glm.h"
#include "core/solvers/distributed/ef21.h"

/* ---- the problem, read but not yet built ---- */

typedef enum { FORM_CLIENTS, FORM_GENERATE, FORM_DATASET } ef21_form;

typedef struct {
    ef21_form form;
    int dim;
    sv_loss loss;
    double lambda;
    sv_clients_desc explicit_clients; /* FORM_CLIENTS */
    sv_gen_glm_spec gen;              /* FORM_GENERATE */
    const sv_named_dataset *ds;       /* FORM_DATASET ... */
    int ds_clients, shuffle, positive_class;
    uint64_t seed;
    const json_t *x0;                 /* NULL: zeros */
} ef21_desc;

/* The forms of "problem", in the order of ef21_form. */
static const char *const clients_members[] = {"clients", "loss", "lambda", "x0", NULL};
static const char *const generate_members[] = {"generate", "x0", NULL};
static const char *const dataset_members[] = {"dataset", "x0", NULL};
static const sv_problem_form ef21_forms[] = {
    {.key = "clients", .members = clients_members,
     .summary = "explicit clients, each a least-squares or logistic model with ridge",
     .properties =
         "{\"clients\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"object\","
         " \"required\": [\"A\", \"b\"], \"properties\": {\"A\": {\"description\": \"matrix (nested"
         " arrays, {rows,cols,data}, CSR or COO); every client the same number of columns\"},"
         " \"b\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}}},"
         " \"additionalProperties\": false}},"
         " \"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\"], \"default\":"
         " \"squared\", \"description\": \"logistic labels are -1 or 1\"},"
         " \"lambda\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0,"
         " \"description\": \"ridge weight\"},"
         " \"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"
         " \"description\": \"starting point (default zeros)\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded heterogeneous instance (core/models/gen_glm.h)",
     .fields = sv_gen_glm_params, .fields_size = sizeof(sv_gen_glm_spec),
     .properties = "{\"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}}}"},
    {.key = "dataset", .members = dataset_members,
     .summary = "a named data set, standardised, its rows split across the clients",
     .properties =
         "{\"dataset\": {\"type\": \"object\", \"required\": [\"name\", \"clients\"],"
         " \"additionalProperties\": false, \"properties\": {"
         "\"name\": {\"type\": \"string\", \"enum\": [\"breast_cancer\", \"digits\"]},"
         " \"clients\": {\"type\": \"integer\", \"minimum\": 1},"
         " \"seed\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0},"
         " \"shuffle\": {\"type\": \"boolean\", \"default\": true},"
         " \"binary_class\": {\"type\": \"integer\", \"minimum\": 0, \"description\":"
         " \"the class told apart from the rest (default 1 on two-class data)\"},"
         " \"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\"],"
         " \"default\": \"logistic\"},"
         " \"lambda\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0}}},"
         " \"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}}}"},
    SV_FORMS_END,
};

static int read_problem(const json_t *problem, const sv_codec_env *env, ef21_desc *d, sv_err *e);
static int read_generate(const json_t *problem, const sv_codec_env *env, ef21_desc *d,
                         sv_err *e);
static int read_dataset(const json_t *ds, const sv_codec_env *env, ef21_desc *d, sv_err *e);
static int build_clients(const ef21_desc *d, const sv_codec_env *env, sv_glm_clients *c,
                         sv_err *e);
static int read_settings(const json_t *params, ef21_settings *s, sv_err *e);

/* ============================================================================================
 * Reading the problem (no allocation of problem data)
 * ========================================================================================== */

static int read_problem(const json_t *problem, const sv_codec_env *env, ef21_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(ef21_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (ef21_form)form;
    switch (d->form) {
    case FORM_CLIENTS:
        if ((rc = sv_clients_json_read(problem, env, &d->explicit_clients, e)) == SV_OK) {
            d->dim = d->explicit_clients.dim;
            d->loss = d->explicit_clients.loss;
            d->lambda = d->explicit_clients.lambda;
        }
        break;
    case FORM_GENERATE: rc = read_generate(problem, env, d, e); break;
    default: rc = read_dataset(json_object_get(problem, "dataset"), env, d, e); break;
    }
    if (rc != SV_OK)
        return rc;
    return sv_glm_json_x0(problem, d->dim, env, &d->x0, e);
}

static int read_generate(const json_t *problem, const sv_codec_env *env, ef21_desc *d,
                         sv_err *e)
{
    const char *path = "/problem/generate";
    sv_gen_glm_spec g;
    sv_params_defaults(sv_gen_glm_params, &g);
    int rc = sv_forms_decode_key(&ef21_forms[FORM_GENERATE], problem, &g, e);
    if (rc != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    if (g.n_clients > lim)
        return sv_fail(e, "/problem/generate/clients", "too many clients: %d, the limit is %ld",
                       g.n_clients, lim);
    if (g.rows_per_client > lim)
        return sv_fail(e, "/problem/generate/rows_per_client", "%d rows exceed the limit of %ld",
                       g.rows_per_client, lim);
    if (g.dim > lim)
        return sv_fail(e, "/problem/generate/dim", "dimension %d exceeds the limit of %ld", g.dim,
                       lim);
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    double entries = (double)g.n_clients * (double)g.rows_per_client * (double)g.dim;
    if (entries > (double)max_entries)
        return sv_fail(e, path, "clients * rows_per_client * dim = %.0f exceeds the limit of %ld "
                       "matrix entries", entries, max_entries);
    d->dim = g.dim;
    d->loss = g.loss;
    d->lambda = g.lambda;
    d->gen = g;
    return SV_OK;
}

static int read_dataset(const json_t *ds, const sv_codec_env *env, ef21_desc *d, sv_err *e)
{
    static const char *const allowed[] = {"name", "clients", "seed", "binary_class", "shuffle",
                                          "loss", "lambda", NULL};
    const char *path = "/problem/dataset";
    int rc;
    json_t *v;
    if ((rc = sv_json_no_unknown(ds, path, allowed, e)) != SV_OK ||
        (rc = sv_json_require(ds, path, "name", &v, e)) != SV_OK ||
        (rc = sv_named_dataset_read(v, "/problem/dataset/name", env, &d->ds, e)) != SV_OK)
        return rc;

    long n, seed, pos;
    if ((rc = sv_json_require(ds, path, "clients", &v, e)) != SV_OK ||
        (rc = sv_json_int(v, "/problem/dataset/clients", 1, d->ds->rows, &n, e)) != SV_OK ||
        (rc = sv_glm_json_seed(ds, path, &seed, e)) != SV_OK ||
        (rc = sv_glm_json_loss(ds, path, SV_LOSS_LOGISTIC, &d->loss, e)) != SV_OK ||
        (rc = sv_glm_json_lambda(ds, path, &d->lambda, e)) != SV_OK ||
        (rc = sv_glm_json_int(ds, path, "binary_class", 0, 0, d->ds->classes - 1, -1, &pos, e)) !=
            SV_OK)
        return rc;
    if (pos < 0 && d->ds->classes == 2)
        pos = 1;
    if (pos < 0 && d->loss == SV_LOSS_LOGISTIC)
        return sv_fail(e, "/problem/dataset/binary_class", "logistic loss on a data set with %d "
                       "classes needs the class to tell apart from the rest", d->ds->classes);
    int shuffle = 1;
    sv_json_optional(ds, path, "shuffle", &v, e);
    if (v && (rc = sv_json_bool(v, "/problem/dataset/shuffle", &shuffle, e)) != SV_OK)
        return rc;
    d->dim = d->ds->cols;
    d->ds_clients = (int)n;
    d->seed = (uint64_t)seed;
    d->positive_class = (int)pos;
    d->shuffle = shuffle;
    return SV_OK;
}

static int read_settings(const json_t *params, ef21_settings *s, sv_err *e)
{
    ef21_settings_default(s);
    return sv_params_decode(ef21_params, params, s, e);
}

/* ============================================================================================
 * Building the clients (run only)
 * ========================================================================================== */

static int build_clients(const ef21_desc *d, const sv_codec_env *env, sv_glm_clients *c,
                         sv_err *e)
{
    int rc;
    if (d->form == FORM_GENERATE)
        return sv_gen_glm_clients(&d->gen, c, e);
    if (d->form == FORM_DATASET) {
        sv_dataset data;
        if ((rc = sv_named_dataset_load(d->ds, "/problem/dataset/name", env, &data, e)) != SV_OK)
            return rc;
        if (data.cols != d->ds->cols) {
            sv_dataset_free(&data);
            return sv_fail(e, "/problem/dataset/name", "data set file has %d features, expected %d",
                           data.cols, d->ds->cols);
        }
        sv_dataset_standardize(&data);
        rc = sv_glm_clients_split(&data, d->ds_clients, d->shuffle, d->seed, d->positive_class,
                                  d->loss, d->lambda, c, e);
        sv_dataset_free(&data);
        return rc;
    }
    return sv_clients_json_build(&d->explicit_clients, env, c, e);
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static void ef21_defaults(void *s)
{
    ef21_settings_default(s);
}

static json_t *ef21_problem_schema(void)
{
    json_t *schema = sv_forms_schema(ef21_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("f(x) = (1/n) sum_i f_i(x), each f_i a least-squares or "
                                        "logistic model with ridge; exactly one of clients, "
                                        "generate, dataset"));
    return schema;
}

static json_t *ef21_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:f, s:i, s:f}}, s:{s:s, s:i, s:f, s:i, s:i}}",
                     "problem", "generate", "clients", 8, "rows_per_client", 40, "dim", 20,
                     "loss", "squared", "heterogeneity", 1.0, "seed", 1, "lambda", 0.01,
                     "params", "variant", "ef21w", "k", 2, "tol", 1e-6, "max_iter", 20000,
                     "report_every", 50);
}

static int ef21_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                         sv_err *e)
{
    ef21_desc d;
    ef21_settings s;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    return ef21_check_settings(&s, d.dim, e);
}

static int ef21_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    const sv_monitor *mon, json_t **result, sv_err *e)
{
    ef21_desc d;
    ef21_settings s;
    sv_glm_clients c;
    double *x = NULL;
    int rc;
    memset(&c, 0, sizeof c);
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = ef21_check_settings(&s, d.dim, e)) != SV_OK)
        return rc;
    if (d.x0)
        rc = sv_json_vector(d.x0, "/problem/x0", d.dim, env, &x, NULL, e);
    else if (!(x = calloc((size_t)d.dim, sizeof *x)))
        rc = SV_ENOMEM;
    if (rc != SV_OK)
        return rc;
    if ((rc = build_clients(&d, env, &c, e)) != SV_OK) {
        free(x);
        return rc;
    }

    ef21_problem p = {c.n_clients, c.glm};
    ef21_info info;
    rc = ef21_solve(&p, &s, mon, x, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *xs = sv_json_from_vector(x, d.dim);
        if (!r || !xs) {
            json_decref(r);
            json_decref(xs);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "grad_norm", sv_codec_real(info.grad_norm));
            json_object_set_new(r, "bits_sent", json_integer((json_int_t)info.bits_sent));
            json_object_set_new(r, "floats_sent", json_integer((json_int_t)info.floats_sent));
            json_object_set_new(r, "gamma", sv_codec_real(info.gamma));
            json_object_set_new(r, "smoothness",
                                json_pack("{s:o, s:o, s:o}", "L", sv_codec_real(info.L), "L_am",
                                          sv_codec_real(info.L_am), "L_qm",
                                          sv_codec_real(info.L_qm)));
            json_object_set_new(r, "clients", json_integer(c.n_clients));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", xs);
            *result = r;
        }
    }
    sv_glm_clients_free(&c);
    free(x);
    return rc;
}

const sv_codec sv_codec_ef21 = {
    .name = "distributed.ef21",
    .family = "distributed",
    .summary = "EF21 error feedback with TopK compression, and the weighted EF21-W, for "
               "least-squares or logistic models split across clients",
    .paper = "Richtarik, Gasanov, Burlachenko: Error Feedback Reloaded: From Quadratic to "
             "Arithmetic Mean of Smoothness Constants, ICLR 2024",
    .doc = "docs/solvers/distributed/ef21.md",
    .params = ef21_params,
    .settings_size = sizeof(ef21_settings),
    .settings_default = ef21_defaults,
    .problem_schema = ef21_problem_schema,
    .example = ef21_example,
    .validate = ef21_validate,
    .run = ef21_run,
};
