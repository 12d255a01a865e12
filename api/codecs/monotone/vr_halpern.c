/* vr_halpern.c - the monotone.vr_halpern codec: explicit component operators, a bilinear game or
 * a generated instance (plus an optional box and start), params into vr_halpern_solve, and its
 * outcome back into JSON. The doc page is docs/solvers/monotone/vr_halpern.md. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/linalg.h"
#include "core/solvers/monotone/vr_halpern.h"
#include "core/solvers/monotone/vr_halpern_gen.h"

typedef enum { FORM_COMPONENTS, FORM_BILINEAR, FORM_GENERATE } vh_form;

typedef struct {
    vh_form form;
    int n, d;
    int dx, dy;                /* bilinear: x and y sizes */
    const json_t *comps;       /* FORM_COMPONENTS: the array */
    const json_t *A;           /* FORM_BILINEAR: one matrix or an array of matrices */
    int A_list;                /* A is an array of matrices */
    const json_t *b, *c;       /* bilinear linear terms or NULL */
    vr_halpern_gen_spec gen;   /* FORM_GENERATE */
    const json_t *lo, *hi, *z0;
} vh_desc;

#define COMMON_PROPERTIES                                                                      \
    "\"lo\": {\"type\": \"array\", \"items\": {\"type\": [\"number\", \"null\"]},"             \
    " \"description\": \"lower bounds of the box C (null: unbounded entry)\"},"                \
    " \"hi\": {\"type\": \"array\", \"items\": {\"type\": [\"number\", \"null\"]},"            \
    " \"description\": \"upper bounds of the box C (null: unbounded entry)\"},"                \
    " \"z0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"},"                        \
    " \"description\": \"starting point and anchor u_0 (default zeros)\"}"

static const char *const components_members[] = {"components", "lo", "hi", "z0", NULL};
static const char *const bilinear_members[] = {"bilinear", "lo", "hi", "z0", NULL};
static const char *const generate_members[] = {"generate", "lo", "hi", "z0", NULL};
static const sv_problem_form vh_forms[] = {
    {.key = "components", .members = components_members,
     .summary = "explicit component operators F_i(z) = M_i z + q_i",
     .properties =
         "{\"components\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\":"
         " \"object\", \"required\": [\"M\"], \"additionalProperties\": false, \"properties\":"
         " {\"M\": {\"description\": \"d x d matrix (nested arrays, {rows,cols,data}, CSR or"
         " COO); the same d for every component\"}, \"q\": {\"type\": \"array\", \"items\":"
         " {\"type\": \"number\"}, \"description\": \"offset (default zeros)\"}}}}, "
         COMMON_PROPERTIES "}"},
    {.key = "bilinear", .members = bilinear_members,
     .summary = "the game min_x max_y x'Ay + b'x - c'y with A = (1/n) sum A_i; z = (x, y)",
     .properties =
         "{\"bilinear\": {\"type\": \"object\", \"required\": [\"A\"], \"additionalProperties\":"
         " false, \"properties\": {\"A\": {\"description\": \"one matrix (n = 1) or an array of"
         " n component matrices A_i, all dx x dy\"}, \"b\": {\"type\": \"array\", \"items\":"
         " {\"type\": \"number\"}, \"description\": \"dx, default zeros\"}, \"c\": {\"type\":"
         " \"array\", \"items\": {\"type\": \"number\"}, \"description\": \"dy, default"
         " zeros\"}}}, " COMMON_PROPERTIES "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded instance with a planted solution (core/solvers/monotone/"
                "vr_halpern_gen.h)",
     .fields = vr_halpern_gen_params, .fields_size = sizeof(vr_halpern_gen_spec),
     .properties = "{" COMMON_PROPERTIES "}"},
    SV_FORMS_END,
};

/* ---- reading (validates; allocates no problem data) ---- */

static long env_max_entries(const sv_codec_env *env)
{
    return env && env->max_entries > 0 ? env->max_entries : INT_MAX;
}

static long env_max_dim(const sv_codec_env *env)
{
    return env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
}

static int check_size(const vh_desc *d, const sv_codec_env *env, const char *path, sv_err *e)
{
    if (d->d > env_max_dim(env))
        return sv_fail(e, path, "dimension %d exceeds the limit of %ld", d->d, env_max_dim(env));
    double entries = (double)d->n * (double)d->d * (double)d->d;
    if (entries > (double)env_max_entries(env))
        return sv_fail(e, path, "n d^2 = %.0f exceeds the limit of %ld matrix entries", entries,
                       env_max_entries(env));
    return SV_OK;
}

static int read_components(const json_t *problem, const sv_codec_env *env, vh_desc *d,
                           sv_err *e)
{
    const json_t *cs = json_object_get(problem, "components");
    if (!json_is_array(cs) || json_array_size(cs) < 1)
        return sv_fail(e, "/problem/components", "expected a non-empty array of {M, q}, got %s",
                       sv_json_kind(cs));
    if ((long)json_array_size(cs) > env_max_entries(env))
        return sv_fail(e, "/problem/components", "%zu components exceed the limit of %ld",
                       json_array_size(cs), env_max_entries(env));
    static const char *const allowed[] = {"M", "q", NULL};
    char path[64], sub[80];
    int rc;
    d->n = (int)json_array_size(cs);
    d->d = -1;
    for (size_t i = 0; i < json_array_size(cs); i++) {
        const json_t *c = json_array_get(cs, i);
        sv_json_path_index(path, sizeof path, "/problem/components", (long)i);
        if ((rc = sv_json_object(c, path, e)) != SV_OK ||
            (rc = sv_json_no_unknown(c, path, allowed, e)) != SV_OK)
            return rc;
        json_t *M, *q;
        sv_json_path_key(sub, sizeof sub, path, "M");
        if ((rc = sv_json_require(c, path, "M", &M, e)) != SV_OK ||
            (rc = sv_json_matrix(M, sub, d->d, d->d, env, NULL, e)) != SV_OK)
            return rc;
        if (d->d < 0) {
            sv_mat m;
            if ((rc = sv_json_matrix(M, sub, -1, -1, env, &m, e)) != SV_OK)
                return rc;
            int rows = m.rows, cols = m.cols;
            sv_mat_free(&m);
            if (rows != cols)
                return sv_fail(e, sub, "M must be square, got %d x %d", rows, cols);
            d->d = rows;
            if ((rc = check_size(d, env, "/problem/components", e)) != SV_OK)
                return rc;
        }
        if ((rc = sv_json_optional(c, path, "q", &q, e)) != SV_OK)
            return rc;
        sv_json_path_key(sub, sizeof sub, path, "q");
        if (q && (rc = sv_json_vector(q, sub, d->d, env, NULL, NULL, e)) != SV_OK)
            return rc;
    }
    d->comps = cs;
    return SV_OK;
}

static int is_matrix_list(const json_t *A)
{
    if (!json_is_array(A) || json_array_size(A) == 0)
        return 0;
    const json_t *a0 = json_array_get(A, 0);
    return json_is_object(a0) ||
           (json_is_array(a0) && json_array_size(a0) > 0 &&
            (json_is_array(json_array_get(a0, 0)) || json_is_object(json_array_get(a0, 0))));
}

static int read_bilinear(const json_t *problem, const sv_codec_env *env, vh_desc *d, sv_err *e)
{
    const json_t *bl = json_object_get(problem, "bilinear");
    static const char *const allowed[] = {"A", "b", "c", NULL};
    int rc;
    if ((rc = sv_json_object(bl, "/problem/bilinear", e)) != SV_OK ||
        (rc = sv_json_no_unknown(bl, "/problem/bilinear", allowed, e)) != SV_OK)
        return rc;
    json_t *A, *b, *c;
    if ((rc = sv_json_require(bl, "/problem/bilinear", "A", &A, e)) != SV_OK)
        return rc;
    d->A_list = is_matrix_list(A);
    d->n = d->A_list ? (int)json_array_size(A) : 1;
    if ((long)d->n > env_max_entries(env))
        return sv_fail(e, "/problem/bilinear/A", "%d components exceed the limit", d->n);
    char path[64];
    d->dx = d->dy = -1;
    for (int i = 0; i < d->n; i++) {
        const json_t *Ai = d->A_list ? json_array_get(A, (size_t)i) : A;
        if (d->A_list)
            sv_json_path_index(path, sizeof path, "/problem/bilinear/A", i);
        else
            snprintf(path, sizeof path, "/problem/bilinear/A");
        sv_mat m;
        if ((rc = sv_json_matrix(Ai, path, d->dx, d->dy, env, i == 0 ? &m : NULL, e)) != SV_OK)
            return rc;
        if (i == 0) {
            d->dx = m.rows;
            d->dy = m.cols;
            sv_mat_free(&m);
            d->d = d->dx + d->dy;
            if ((rc = check_size(d, env, "/problem/bilinear/A", e)) != SV_OK)
                return rc;
        }
    }
    if ((rc = sv_json_optional(bl, "/problem/bilinear", "b", &b, e)) != SV_OK ||
        (rc = sv_json_optional(bl, "/problem/bilinear", "c", &c, e)) != SV_OK)
        return rc;
    if (b && (rc = sv_json_vector(b, "/problem/bilinear/b", d->dx, env, NULL, NULL, e)) != SV_OK)
        return rc;
    if (c && (rc = sv_json_vector(c, "/problem/bilinear/c", d->dy, env, NULL, NULL, e)) != SV_OK)
        return rc;
    d->A = A;
    d->b = b;
    d->c = c;
    return SV_OK;
}

static int read_generate(const json_t *problem, const sv_codec_env *env, vh_desc *d, sv_err *e)
{
    sv_params_defaults(vr_halpern_gen_params, &d->gen);
    int rc = sv_forms_decode_key(&vh_forms[FORM_GENERATE], problem, &d->gen, e);
    if (rc != SV_OK)
        return rc;
    if (d->gen.kind == VR_HALPERN_GEN_BILINEAR && d->gen.dim % 2 != 0)
        return sv_fail(e, "/problem/generate/dim", "a bilinear game needs an even dim (x and y "
                       "of dim/2 each), got %d", d->gen.dim);
    if (d->gen.kind == VR_HALPERN_GEN_MERELY && d->gen.dim < 4)
        return sv_fail(e, "/problem/generate/dim", "a merely_monotone instance needs dim >= 4 "
                       "(an active pair and a null pair), got %d", d->gen.dim);
    d->n = d->gen.n;
    d->d = d->gen.dim;
    return check_size(d, env, "/problem/generate", e);
}

/* lo/hi: d entries, each a number or null (unbounded). */
static int read_bound(const json_t *problem, const char *key, int dim, const json_t **out,
                      sv_err *e)
{
    json_t *v;
    char path[32], sub[48];
    snprintf(path, sizeof path, "/problem/%s", key);
    int rc = sv_json_optional(problem, "/problem", key, &v, e);
    if (rc != SV_OK || !v)
        return rc;
    if (!json_is_array(v) || (int)json_array_size(v) != dim)
        return sv_fail(e, path, "expected an array of %d numbers or nulls, got %s", dim,
                       sv_json_kind(v));
    for (int j = 0; j < dim; j++) {
        const json_t *x = json_array_get(v, (size_t)j);
        double t;
        sv_json_path_index(sub, sizeof sub, path, j);
        if (!json_is_null(x) && (rc = sv_json_number(x, sub, &t, e)) != SV_OK)
            return rc;
    }
    *out = v;
    return SV_OK;
}

static double bound_at(const json_t *v, int j, double none)
{
    const json_t *x = json_array_get(v, (size_t)j);
    return json_is_null(x) ? none : json_number_value(x);
}

static int read_problem(const json_t *problem, const sv_codec_env *env, vh_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(vh_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (vh_form)form;
    rc = d->form == FORM_COMPONENTS ? read_components(problem, env, d, e)
         : d->form == FORM_BILINEAR ? read_bilinear(problem, env, d, e)
                                    : read_generate(problem, env, d, e);
    if (rc != SV_OK || (rc = read_bound(problem, "lo", d->d, &d->lo, e)) != SV_OK ||
        (rc = read_bound(problem, "hi", d->d, &d->hi, e)) != SV_OK)
        return rc;
    if (d->lo && d->hi)
        for (int j = 0; j < d->d; j++)
            if (bound_at(d->lo, j, -INFINITY) > bound_at(d->hi, j, INFINITY))
                return sv_fail(e, "/problem/lo", "lo[%d] > hi[%d]: the box is empty", j, j);
    json_t *z0;
    if ((rc = sv_json_optional(problem, "/problem", "z0", &z0, e)) != SV_OK)
        return rc;
    if (z0 && (rc = sv_json_vector(z0, "/problem/z0", d->d, env, NULL, NULL, e)) != SV_OK)
        return rc;
    d->z0 = z0;
    return SV_OK;
}

static int read_settings(const json_t *params, vr_halpern_settings *s, sv_err *e)
{
    vr_halpern_settings_default(s);
    int rc = sv_params_decode(vr_halpern_params, params, s, e);
    return rc != SV_OK ? rc : vr_halpern_check_settings(s, e);
}

static int check_relations(const vh_desc *d, const vr_halpern_settings *s, sv_err *e)
{
    if (s->batch > d->n)
        return sv_fail(e, "/params/batch", "batch %d exceeds the %d components", s->batch, d->n);
    return SV_OK;
}

/* ---- building ---- */

typedef struct {
    double *M, *q, *lo, *hi, *z;
} vh_data;

static void data_free(vh_data *x)
{
    free(x->M);
    free(x->q);
    free(x->lo);
    free(x->hi);
    free(x->z);
}

static int copy_matrix(const json_t *v, const char *path, int rows, int cols,
                       const sv_codec_env *env, double *dst, int ld, sv_err *e, double sign,
                       int transpose)
{
    sv_mat m;
    int rc = sv_json_matrix(v, path, rows, cols, env, &m, e);
    if (rc != SV_OK)
        return rc;
    for (int a = 0; a < rows; a++)
        for (int b = 0; b < cols; b++) {
            double x = sign * sv_mat_get(&m, a, b);
            if (transpose)
                dst[(size_t)b * ld + a] = x;
            else
                dst[(size_t)a * ld + b] = x;
        }
    sv_mat_free(&m);
    return SV_OK;
}

static int build(const vh_desc *d, const sv_codec_env *env, vh_data *x, sv_err *e)
{
    int n = d->n, dim = d->d, rc = SV_OK;
    size_t dd = (size_t)dim * dim;
    memset(x, 0, sizeof *x);
    x->M = calloc((size_t)n * dd, sizeof *x->M);
    x->q = calloc((size_t)n * dim, sizeof *x->q);
    x->z = calloc((size_t)dim, sizeof *x->z);
    if (!x->M || !x->q || !x->z)
        return SV_ENOMEM;
    char path[64];
    if (d->form == FORM_GENERATE) {
        rc = vr_halpern_generate(&d->gen, x->M, x->q, NULL, e);
    } else if (d->form == FORM_COMPONENTS) {
        for (int i = 0; i < n && rc == SV_OK; i++) {
            const json_t *c = json_array_get(d->comps, (size_t)i);
            sv_json_path_index(path, sizeof path, "/problem/components", i);
            rc = copy_matrix(json_object_get(c, "M"), path, dim, dim, env, x->M + i * dd, dim,
                             e, 1.0, 0);
            const json_t *q = json_object_get(c, "q");
            for (int j = 0; q && j < dim; j++)
                x->q[(size_t)i * dim + j] = json_number_value(json_array_get(q, (size_t)j));
        }
    } else {
        /* M_i = [[0, A_i], [-A_i', 0]], q_i = (b, c) */
        for (int i = 0; i < n && rc == SV_OK; i++) {
            const json_t *Ai = d->A_list ? json_array_get(d->A, (size_t)i) : d->A;
            double *Mi = x->M + i * dd;
            rc = copy_matrix(Ai, "/problem/bilinear/A", d->dx, d->dy, env, Mi + d->dx, dim, e,
                             1.0, 0);
            if (rc == SV_OK)
                rc = copy_matrix(Ai, "/problem/bilinear/A", d->dx, d->dy, env,
                                 Mi + (size_t)d->dx * dim, dim, e, -1.0, 1);
            for (int j = 0; j < d->dx && d->b; j++)
                x->q[(size_t)i * dim + j] = json_number_value(json_array_get(d->b, (size_t)j));
            for (int j = 0; j < d->dy && d->c; j++)
                x->q[(size_t)i * dim + d->dx + j] =
                    json_number_value(json_array_get(d->c, (size_t)j));
        }
    }
    if (rc != SV_OK)
        return rc;
    if (d->lo || d->hi) {
        x->lo = malloc((size_t)dim * sizeof *x->lo);
        x->hi = malloc((size_t)dim * sizeof *x->hi);
        if (!x->lo || !x->hi)
            return SV_ENOMEM;
        for (int j = 0; j < dim; j++) {
            x->lo[j] = d->lo ? bound_at(d->lo, j, -INFINITY) : -INFINITY;
            x->hi[j] = d->hi ? bound_at(d->hi, j, INFINITY) : INFINITY;
        }
    }
    for (int j = 0; d->z0 && j < dim; j++)
        x->z[j] = json_number_value(json_array_get(d->z0, (size_t)j));
    return SV_OK;
}

/* ---- the codec ---- */

static void vh_defaults(void *s)
{
    vr_halpern_settings_default(s);
}

static json_t *vh_problem_schema(void)
{
    json_t *schema = sv_forms_schema(vh_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("find z with 0 in F(z) + N_C(z), F(z) = (1/n) sum_i "
                                        "(M_i z + q_i) monotone, C = R^d or the box [lo, hi]; "
                                        "exactly one of components, bilinear, generate"));
    return schema;
}

static json_t *vh_example(void)
{
    return json_pack("{s:{s:{s:s, s:i, s:i, s:f, s:i}, s:[f, f, f, f, f, f, f, f, f, f]},"
                     " s:{s:s, s:f, s:i, s:i}}", "problem", "generate", "kind", "bilinear",
                     "components", 100, "dim", 10, "heterogeneity", 0.5, "seed", 1, "z0", 1.0,
                     1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, "params", "operator",
                     "monotone", "tol", 1e-3, "seed", 1, "report_every", 100);
}

static int vh_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                       sv_err *e)
{
    vh_desc d;
    vr_halpern_settings s;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    return check_relations(&d, &s, e);
}

static int vh_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                  const sv_monitor *mon, json_t **result, sv_err *e)
{
    vh_desc d;
    vr_halpern_settings s;
    vh_data x;
    int rc;
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = check_relations(&d, &s, e)) != SV_OK)
        return rc;
    rc = build(&d, env, &x, e);
    vr_halpern_info info;
    if (rc == SV_OK) {
        vr_halpern_problem p = {d.n, d.d, x.M, x.q, x.lo, x.hi};
        rc = vr_halpern_solve(&p, &s, mon, x.z, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.residual);
        json_t *zs = sv_json_from_vector(x.z, d.d);
        if (!r || !zs) {
            json_decref(r);
            json_decref(zs);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "residual", sv_codec_real(info.residual));
            json_object_set_new(r, "oracle_calls", json_integer(info.oracle_calls));
            json_object_set_new(r, "check_calls", json_integer(info.check_calls));
            json_object_set_new(r, "inner_steps", json_integer(info.inner_steps));
            json_object_set_new(r, "lipschitz", sv_codec_real(info.L));
            json_object_set_new(r, "eta", sv_codec_real(info.eta));
            json_object_set_new(r, "p", sv_codec_real(info.p));
            json_object_set_new(r, "batch", json_integer(info.batch));
            json_object_set_new(r, "components", json_integer(d.n));
            json_object_set_new(r, "dim", json_integer(d.d));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "z", zs);
            if (d.form == FORM_BILINEAR) {
                json_object_set_new(r, "x", sv_json_from_vector(x.z, d.dx));
                json_object_set_new(r, "y", sv_json_from_vector(x.z + d.dx, d.dy));
            }
            *result = r;
        }
    }
    data_free(&x);
    return rc;
}

const sv_codec sv_codec_vr_halpern = {
    .name = "monotone.vr_halpern",
    .family = "monotone",
    .summary = "variance-reduced Halpern iteration for finite-sum monotone inclusions: "
               "anchored steps with a last-iterate operator-residual guarantee",
    .paper = "Cai, Alacaoglu, Diakonikolas: Variance Reduced Halpern Iteration for Finite-Sum "
             "Monotone Inclusions, ICLR 2024",
    .doc = "docs/solvers/monotone/vr_halpern.md",
    .params = vr_halpern_params,
    .settings_size = sizeof(vr_halpern_settings),
    .settings_default = vh_defaults,
    .problem_schema = vh_problem_schema,
    .example = vh_example,
    .validate = vh_validate,
    .run = vh_run,
};
