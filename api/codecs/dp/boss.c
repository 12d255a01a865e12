/* boss.c - the dp.boss codec: a velocity field (linear with constant or piecewise-linear A(t),
 * an explicit Gaussian-mixture flow, or a generated mixture), params into boss_solve, and the
 * schedule, its costs and the uniform schedule's back into JSON. No numerics. The doc page is
 * docs/solvers/dp/boss.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/dp/boss.h"
#include "core/solvers/dp/boss_gen.h"

typedef enum { FORM_A, FORM_A_T, FORM_MEANS, FORM_GENERATE } boss_form;

static const char *const a_members[] = {"A", "b", "x0", NULL};
static const char *const at_members[] = {"A_t", "knots", "b", "x0", NULL};
static const char *const means_members[] = {"means", "weights", "sigmas", "x0", NULL};
static const char *const generate_members[] = {"generate", "x0", NULL};

#define MATRIX_SCHEMA                                                                            \
    "{\"oneOf\": [{\"type\": \"array\", \"items\": {\"type\": \"array\", \"items\": {\"type\":" \
    " \"number\"}}}, {\"type\": \"object\"}]}"
#define X0_PROPERTY                                                                              \
    "\"x0\": {\"type\": \"array\", \"items\": {\"type\": \"array\", \"items\": {\"type\":"  \
    " \"number\"}}, \"description\": \"the starts, one row of d numbers each (their count is"  \
    " the samples); default: params.samples draws from N(0, I) by params.seed\"}"
#define B_PROPERTY                                                                               \
    "\"b\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"description\": \"the"    \
    " constant term (d numbers); default zero\"}"

static const sv_problem_form boss_forms[] = {
    {.key = "A", .members = a_members,
     .summary = "a linear field v(x, t) = A x + b with constant A (d x d)",
     .properties = "{\"A\": " MATRIX_SCHEMA ", " B_PROPERTY ", " X0_PROPERTY "}"},
    {.key = "A_t", .members = at_members,
     .summary = "a linear field v(x, t) = A(t) x + b, A(t) linear between the matrices A_t[k] "
                "at the times knots[k]",
     .properties =
         "{\"A_t\": {\"type\": \"array\", \"minItems\": 1, \"items\": " MATRIX_SCHEMA ","
         " \"description\": \"d x d matrices, one per knot\"},"
         " \"knots\": {\"type\": \"array\", \"items\": {\"type\": \"number\", \"minimum\": 0,"
         " \"maximum\": 1}, \"description\": \"increasing from 0 to 1, one per matrix; default"
         " equally spaced\"}, " B_PROPERTY ", " X0_PROPERTY "}"},
    {.key = "means", .members = means_members,
     .summary = "the rectified-flow velocity from N(0, I) to the Gaussian mixture sum_c w_c "
                "N(mu_c, sigma_c^2 I), in closed form",
     .properties =
         "{\"means\": " MATRIX_SCHEMA ","
         " \"weights\": {\"type\": \"array\", \"items\": {\"type\": \"number\","
         " \"exclusiveMinimum\": 0}, \"description\": \"one per component; default equal\"},"
         " \"sigmas\": {\"oneOf\": [{\"type\": \"number\", \"exclusiveMinimum\": 0}, {\"type\":"
         " \"array\", \"items\": {\"type\": \"number\", \"exclusiveMinimum\": 0}}],"
         " \"description\": \"component standard deviations: one for all, or one each\"}, "
         X0_PROPERTY "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded random Gaussian mixture (core/solvers/dp/boss_gen.h)",
     .fields = boss_gen_params, .fields_size = sizeof(boss_gen_spec),
     .properties = "{" X0_PROPERTY "}"},
    SV_FORMS_END,
};

/* A field and the arrays it points into. */
typedef struct {
    boss_form form;
    boss_field f;
    double *A, *knots, *b;
    double *x0;        /* samples x d starts, or NULL */
    int n_x0;          /* their count */
    boss_mixture mx;
    boss_gen_spec gen;
} boss_data;

static void data_free(boss_data *d)
{
    free(d->A);
    free(d->knots);
    free(d->b);
    free(d->x0);
    boss_mixture_free(&d->mx);
}

/* A square matrix at path: its size into *d (when *d < 0) or checked against *d; written
 * row-major into out (d x d) when out is not NULL. */
static int read_square(const json_t *v, const char *path, int *d, const sv_codec_env *env,
                       double *out, sv_err *e)
{
    sv_mat m;
    memset(&m, 0, sizeof m);
    int rc = sv_json_matrix(v, path, *d, *d, env, &m, e);
    if (rc != SV_OK)
        return rc;
    if (m.rows != m.cols) {
        sv_mat_free(&m);
        return sv_fail(e, path, "must be square, got %d x %d", m.rows, m.cols);
    }
    *d = m.rows;
    if (out)
        for (int i = 0; i < m.rows; i++)
            for (int j = 0; j < m.cols; j++)
                out[(size_t)i * m.cols + j] = sv_mat_get(&m, i, j);
    sv_mat_free(&m);
    return SV_OK;
}

/* The optional b (d numbers); out may stay NULL (zero). */
static int read_b(const json_t *problem, const sv_codec_env *env, int d, double **out,
                  sv_err *e)
{
    json_t *b;
    int n;
    sv_json_optional(problem, "/problem", "b", &b, e);
    if (!b)
        return SV_OK;
    return sv_json_vector(b, "/problem/b", d, env, out, &n, e);
}

static int read_linear_const(const json_t *problem, const sv_codec_env *env, boss_data *d,
                             sv_err *e)
{
    int n = -1, rc;
    const json_t *A = json_object_get(problem, "A");
    if ((rc = read_square(A, "/problem/A", &n, env, NULL, e)) != SV_OK)
        return rc;
    if (!(d->A = malloc((size_t)n * (size_t)n * sizeof *d->A)))
        return SV_ENOMEM;
    if ((rc = read_square(A, "/problem/A", &n, env, d->A, e)) != SV_OK ||
        (rc = read_b(problem, env, n, &d->b, e)) != SV_OK)
        return rc;
    d->f.kind = BOSS_FIELD_LINEAR;
    d->f.d = n;
    d->f.n_knots = 1;
    d->f.A = d->A;
    d->f.b = d->b;
    return SV_OK;
}

static int read_linear_knots(const json_t *problem, const sv_codec_env *env, boss_data *d,
                             sv_err *e)
{
    const json_t *At = json_object_get(problem, "A_t");
    char path[64];
    int n = -1, rc;
    if (!json_is_array(At) || json_array_size(At) < 1)
        return sv_fail(e, "/problem/A_t", "expected a non-empty array of square matrices, got %s",
                       sv_json_kind(At));
    size_t nk = json_array_size(At);
    for (size_t k = 0; k < nk; k++)
        if ((rc = read_square(json_array_get(At, k), sv_json_path_index(path, sizeof path,
                                                                         "/problem/A_t", (long)k),
                              &n, env, NULL, e)) != SV_OK)
            return rc;
    if (env && env->max_entries > 0 && (double)nk * n * n > (double)env->max_entries)
        return sv_fail(e, "/problem/A_t", "%zu matrices of %d x %d exceed the limit of %ld "
                       "entries", nk, n, n, env->max_entries);
    json_t *kn;
    sv_json_optional(problem, "/problem", "knots", &kn, e);
    int nkn = 0;
    if (kn && (rc = sv_json_vector(kn, "/problem/knots", (long)nk, env, &d->knots, &nkn, e)) !=
                  SV_OK)
        return rc;
    if (!kn && !(d->knots = malloc(nk * sizeof *d->knots)))
        return SV_ENOMEM;
    if (!kn)
        for (size_t k = 0; k < nk; k++)
            d->knots[k] = nk == 1 ? 0.0 : (double)k / (double)(nk - 1);
    if (!(d->A = malloc(nk * (size_t)n * (size_t)n * sizeof *d->A)))
        return SV_ENOMEM;
    for (size_t k = 0; k < nk; k++)
        if ((rc = read_square(json_array_get(At, k), sv_json_path_index(path, sizeof path,
                                                                         "/problem/A_t", (long)k),
                              &n, env, d->A + k * (size_t)n * (size_t)n, e)) != SV_OK)
            return rc;
    if ((rc = read_b(problem, env, n, &d->b, e)) != SV_OK)
        return rc;
    d->f.kind = BOSS_FIELD_LINEAR;
    d->f.d = n;
    d->f.n_knots = (int)nk;
    d->f.knots = nk > 1 ? d->knots : NULL;
    d->f.A = d->A;
    d->f.b = d->b;
    return SV_OK;
}

static int read_mixture(const json_t *problem, const sv_codec_env *env, boss_data *d, sv_err *e)
{
    sv_mat mu;
    memset(&mu, 0, sizeof mu);
    int rc = sv_json_matrix(json_object_get(problem, "means"), "/problem/means", -1, -1, env, &mu,
                            e);
    if (rc != SV_OK)
        return rc;
    int m = mu.rows, dim = mu.cols, nread;
    if ((rc = boss_mixture_alloc(&d->mx, m, dim)) != SV_OK) {
        sv_mat_free(&mu);
        return rc;
    }
    for (int c = 0; c < m; c++)
        for (int j = 0; j < dim; j++)
            d->mx.means[(size_t)c * dim + j] = sv_mat_get(&mu, c, j);
    sv_mat_free(&mu);
    json_t *w, *sg;
    char path[64];
    sv_json_optional(problem, "/problem", "weights", &w, e);
    if (w) {
        double *tmp = NULL;
        if ((rc = sv_json_vector(w, "/problem/weights", m, env, &tmp, &nread, e)) != SV_OK)
            return rc;
        memcpy(d->mx.weights, tmp, (size_t)m * sizeof *tmp);
        free(tmp);
        for (int c = 0; c < m; c++)
            if (!(d->mx.weights[c] > 0))
                return sv_fail(e, sv_json_path_index(path, sizeof path, "/problem/weights", c),
                               "must be > 0");
    } else {
        for (int c = 0; c < m; c++)
            d->mx.weights[c] = 1.0;
    }
    if ((rc = sv_json_require(problem, "/problem", "sigmas", &sg, e)) != SV_OK)
        return rc;
    if (json_is_number(sg)) {
        double s = json_number_value(sg);
        if (!(s > 0) || !isfinite(s))
            return sv_fail(e, "/problem/sigmas", "must be a finite number > 0");
        for (int c = 0; c < m; c++)
            d->mx.sigmas[c] = s;
    } else {
        double *tmp = NULL;
        if ((rc = sv_json_vector(sg, "/problem/sigmas", m, env, &tmp, &nread, e)) != SV_OK)
            return rc;
        memcpy(d->mx.sigmas, tmp, (size_t)m * sizeof *tmp);
        free(tmp);
        for (int c = 0; c < m; c++)
            if (!(d->mx.sigmas[c] > 0))
                return sv_fail(e, sv_json_path_index(path, sizeof path, "/problem/sigmas", c),
                               "must be > 0");
    }
    d->f = d->mx.field;
    return SV_OK;
}

/* The optional starts: rows of d numbers. */
static int read_x0(const json_t *problem, const sv_codec_env *env, int build, boss_data *d,
                   sv_err *e)
{
    json_t *x;
    sv_json_optional(problem, "/problem", "x0", &x, e);
    if (!x)
        return SV_OK;
    sv_mat m;
    memset(&m, 0, sizeof m);
    int rc = sv_json_matrix(x, "/problem/x0", -1, d->f.d, env, build ? &m : NULL, e);
    if (rc != SV_OK)
        return rc;
    d->n_x0 = (int)json_array_size(x);
    if (!json_is_array(x))  /* {"rows", "cols", "data"} */
        d->n_x0 = (int)json_integer_value(json_object_get(x, "rows"));
    if (!build)
        return SV_OK;
    d->n_x0 = m.rows;
    if (!(d->x0 = malloc((size_t)m.rows * (size_t)m.cols * sizeof *d->x0))) {
        sv_mat_free(&m);
        return SV_ENOMEM;
    }
    for (int i = 0; i < m.rows; i++)
        for (int j = 0; j < m.cols; j++)
            d->x0[(size_t)i * m.cols + j] = sv_mat_get(&m, i, j);
    sv_mat_free(&m);
    return SV_OK;
}

static int read_field(const json_t *problem, const sv_codec_env *env, int build, boss_data *d,
                      sv_err *e);

/* Reads the problem into d (data_free it whatever the outcome). With build 0 a generated
 * mixture is only checked and the starts are not copied. */
static int read_problem(const json_t *problem, const sv_codec_env *env, int build, boss_data *d,
                        sv_err *e)
{
    int rc = read_field(problem, env, build, d, e);
    return rc != SV_OK ? rc : read_x0(problem, env, build, d, e);
}

static int read_field(const json_t *problem, const sv_codec_env *env, int build, boss_data *d,
                      sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(boss_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (boss_form)form;
    switch (d->form) {
    case FORM_A:
        return read_linear_const(problem, env, d, e);
    case FORM_A_T:
        if ((rc = read_linear_knots(problem, env, d, e)) != SV_OK)
            return rc;
        return boss_check_field(&d->f, e);  /* the knots' order */
    case FORM_MEANS:
        return read_mixture(problem, env, d, e);
    case FORM_GENERATE:
        sv_params_defaults(boss_gen_params, &d->gen);
        if ((rc = sv_forms_decode_key(&boss_forms[FORM_GENERATE], problem, &d->gen, e)) !=
                SV_OK ||
            (rc = boss_gen_check(&d->gen, e)) != SV_OK)
            return rc;
        if (env && env->max_dim > 0 && d->gen.dim > env->max_dim)
            return sv_fail(e, "/problem/generate/dim", "%d exceeds the limit of %ld",
                           d->gen.dim, env->max_dim);
        d->f.kind = BOSS_FIELD_MIXTURE;
        d->f.d = d->gen.dim;
        d->f.m = d->gen.components;
        if (!build)
            return SV_OK;
        if ((rc = boss_generate(&d->gen, &d->mx, e)) != SV_OK)
            return rc;
        d->f = d->mx.field;
        return SV_OK;
    }
    return SV_EINTERNAL;
}

/* The params; with explicit starts their count is the samples (params.samples, when given, must
 * agree). */
static int read_settings(const json_t *params, const boss_data *d, boss_settings *s, sv_err *e)
{
    int dim = d->f.d;
    boss_settings_default(s);
    int rc = sv_params_decode(boss_params, params, s, e);
    if (rc == SV_OK && d->n_x0 > 0) {
        if (json_is_object(params) && json_object_get(params, "samples") &&
            s->samples != d->n_x0)
            return sv_fail(e, "/params/samples", "is %d, but problem.x0 holds %d starts",
                           s->samples, d->n_x0);
        s->samples = d->n_x0;
    }
    if (rc == SV_OK)
        rc = boss_check_settings(s, e);
    if (rc == SV_OK && (double)(s->grid + 1) * s->samples * dim > BOSS_MAX_STATE)
        rc = sv_fail(e, "/params/samples",
                     "(grid + 1) samples dim = %.0f reference states exceed the limit of %.0f",
                     (double)(s->grid + 1) * s->samples * dim, BOSS_MAX_STATE);
    return rc;
}

/* ---- the codec ---- */

static void boss_defaults(void *s)
{
    boss_settings_default(s);
}

static json_t *boss_problem_schema(void)
{
    json_t *schema = sv_forms_schema(boss_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("the velocity field v(x, t) of the ODE dx/dt = v on "
                                        "[0, 1] sampled by Euler from x0 ~ N(0, I); exactly one "
                                        "of A, A_t, means, generate"));
    return schema;
}

static json_t *boss_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:f, s:i}}, s:{s:i, s:i, s:i, s:i, s:i}}", "problem",
                     "generate", "dim", 16, "components", 8, "spread", 3.0, "seed", 1, "params",
                     "steps", 8, "grid", 100, "samples", 500, "seed", 1, "report_every", 4);
}

static int boss_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                         sv_err *e)
{
    boss_data d;
    boss_settings s;
    int rc = read_problem(problem, env, 0, &d, e);
    if (rc == SV_OK)
        rc = read_settings(params, &d, &s, e);
    data_free(&d);
    return rc;
}

static json_t *times_of(const int *idx, int n, int grid)
{
    json_t *a = json_array();
    for (int k = 0; a && k < n; k++)
        json_array_append_new(a, json_real((double)idx[k] / grid));
    return a;
}

static json_t *encode(const boss_settings *s, const boss_data *d, const boss_info *info,
                      const boss_output *o)
{
    int solved = info->base.status == SV_SOLVED, K = s->steps;
    json_t *r = sv_codec_result_new(&info->base, info->base.obj);
    if (!r)
        return NULL;
    json_t *ref = json_pack("{s:s, s:i, s:i, s:i, s:o, s:o}", "method",
                            s->reference == BOSS_REF_RK4 ? "rk4" : "euler", "grid", s->grid,
                            "substeps", s->reference == BOSS_REF_RK4 ? s->substeps : 1,
                            "samples", s->samples, "spread", sv_codec_real(info->ref_spread),
                            "endpoint_mean",
                            isfinite(info->ref_spread) ? sv_json_from_vector(o->ref_mean, d->f.d)
                                                       : json_null());
    json_object_set_new(r, "schedule",
                        solved ? sv_json_from_vector(o->times, K + 1) : json_null());
    json_object_set_new(r, "indices",
                        solved ? sv_json_from_int_vector(o->index, K + 1) : json_null());
    json_object_set_new(r, "dp_cost", sv_codec_real(info->dp_cost));
    json_object_set_new(r, "uniform_schedule", solved ? times_of(o->uniform_index, K + 1, s->grid)
                                                      : json_null());
    json_object_set_new(r, "uniform_indices",
                        solved ? sv_json_from_int_vector(o->uniform_index, K + 1) : json_null());
    json_object_set_new(r, "uniform_cost", sv_codec_real(info->uniform_cost));
    json_object_set_new(r, "dp_endpoint_error", sv_codec_real(info->dp_endpoint));
    json_object_set_new(r, "uniform_endpoint_error", sv_codec_real(info->uniform_endpoint));
    json_object_set_new(r, "cost_by_steps",
                        solved ? sv_json_from_vector(o->curve, K) : json_null());
    json_object_set_new(r, "reference", ref ? ref : json_null());
    json_object_set_new(r, "dim", json_integer(d->f.d));
    json_object_set_new(r, "velocity_evals", json_integer(info->velocity_evals));
    json_object_set_new(r, "solve_time_s", json_real(info->base.solve_time_s));
    return r;
}

static int boss_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    const sv_monitor *mon, json_t **result, sv_err *e)
{
    boss_data d;
    boss_settings s;
    *result = NULL;
    int rc = read_problem(problem, env, 1, &d, e);
    if (rc == SV_OK)
        rc = read_settings(params, &d, &s, e);
    if (rc != SV_OK) {
        data_free(&d);
        return rc;
    }
    size_t k1 = (size_t)s.steps + 1;
    boss_output o;
    memset(&o, 0, sizeof o);
    o.index = malloc(k1 * sizeof *o.index);
    o.times = malloc(k1 * sizeof *o.times);
    o.uniform_index = malloc(k1 * sizeof *o.uniform_index);
    o.curve = malloc(k1 * sizeof *o.curve);
    o.ref_mean = malloc((size_t)d.f.d * sizeof *o.ref_mean);
    boss_info info;
    if (!o.index || !o.times || !o.uniform_index || !o.curve || !o.ref_mean)
        rc = SV_ENOMEM;
    if (rc == SV_OK)
        rc = boss_solve(&d.f, d.x0, &s, mon, &o, &info, e);
    if (rc == SV_OK && !(*result = encode(&s, &d, &info, &o)))
        rc = SV_ENOMEM;
    free(o.index);
    free(o.times);
    free(o.uniform_index);
    free(o.curve);
    free(o.ref_mean);
    data_free(&d);
    return rc;
}

const sv_codec sv_codec_boss = {
    .name = "dp.boss",
    .family = "dp",
    .summary = "BOSS: the Bellman-optimal K-step Euler schedule of a flow ODE, chosen from a "
               "fine time grid by dynamic programming against a reference trajectory",
    .paper = "Bao Nguyen, Binh Nguyen, Viet Anh Nguyen: Bellman Optimal Step-size "
             "Straightening of Flow-Matching Models, ICLR 2024",
    .doc = "docs/solvers/dp/boss.md",
    .params = boss_params,
    .settings_size = sizeof(boss_settings),
    .settings_default = boss_defaults,
    .problem_schema = boss_problem_schema,
    .example = boss_example,
    .validate = boss_validate,
    .run = boss_run,
};
