/* sor_bandit.c - the linsys.sor_bandit codec: a sequence of linear systems (explicit instances,
 * one matrix with a list of diagonal shifts, or a seeded shifted-Poisson sequence), params into
 * sor_bandit_solve, and the omegas, iteration counts and the comparison with the best fixed
 * omega back into JSON. No numerics. The doc page is docs/solvers/linsys/sor_bandit.md. */
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
#include "core/solvers/linsys/sor_bandit.h"
#include "core/solvers/linsys/sor_bandit_gen.h"

typedef enum { FORM_INSTANCES, FORM_SHIFTS, FORM_GENERATE } sor_form;

static const char *const instances_members[] = {"instances", NULL};
static const char *const instance_members[] = {"A", "b", "shift", "context", NULL};
static const char *const shifts_members[] = {"shifts", "A", "b", "contexts", NULL};
static const char *const generate_members[] = {"generate", NULL};

#define MATRIX_SCHEMA                                                                          \
    "{\"description\": \"a square matrix: CSR {rows, cols, indptr, indices, data}, COO {rows,"  \
    " cols, row, col, data} or dense (nested arrays); every diagonal entry stored and non-zero" \
    " after the shift\"}"

static const sv_problem_form sor_forms[] = {
    {.key = "instances", .members = instances_members,
     .summary = "an explicit sequence: instance t is (A + shift I) x = b with its own matrix",
     .properties =
         "{\"instances\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"object\","
         " \"required\": [\"A\", \"b\"], \"additionalProperties\": false, \"properties\": {"
         "\"A\": " MATRIX_SCHEMA ","
         " \"b\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"description\":"
         " \"right-hand side, as long as A has rows\"},"
         " \"shift\": {\"type\": \"number\", \"default\": 0, \"description\": \"added to A's"
         " diagonal\"},"
         " \"context\": {\"type\": \"number\", \"description\": \"c_t for the contextual bandit"
         " (required by it; default: the shift when one is given)\"}}}}}"},
    {.key = "shifts", .members = shifts_members,
     .summary = "one matrix A with a diagonal shift per instance: (A + c_t I) x = b_t, the "
                "paper's setting",
     .properties =
         "{\"shifts\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"number\"},"
         " \"description\": \"c_t, one per instance (also the contexts unless contexts is"
         " given)\"},"
         " \"A\": " MATRIX_SCHEMA ","
         " \"b\": {\"type\": \"array\", \"description\": \"one right-hand side for every"
         " instance, or an array of them, one per shift\"},"
         " \"contexts\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"description\":"
         " \"contexts for the contextual bandit, one per shift (default: the shifts)\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded shifted-Poisson sequence as in the paper's experiments, or a diffusion one "
                "(core/solvers/linsys/sor_bandit_gen.h)",
     .fields = sor_bandit_gen_params, .fields_size = sizeof(sor_bandit_gen_spec)},
    SV_FORMS_END,
};

static long max_entries(const sv_codec_env *env)
{
    return env && env->max_entries > 0 ? env->max_entries : LONG_MAX;
}

/* A square matrix at path into out (CSR). */
static int read_matrix(const json_t *v, const char *path, const sv_codec_env *env, sv_csr *out,
                       sv_err *e)
{
    sv_mat m;
    memset(&m, 0, sizeof m);
    int rc = sv_json_matrix(v, path, -1, -1, env, &m, e);
    if (rc != SV_OK)
        return rc;
    if (m.rows != m.cols) {
        rc = sv_fail(e, path, "expected a square matrix, got %d x %d", m.rows, m.cols);
    } else {
        rc = sor_bandit_csr_from_mat(&m, out);
    }
    sv_mat_free(&m);
    return rc;
}

static int read_instances(const json_t *problem, const sv_codec_env *env, sor_bandit_data *d,
                          sv_err *e)
{
    const json_t *arr = json_object_get(problem, "instances");
    char path[96], q[128];
    int rc;
    if (!json_is_array(arr) || json_array_size(arr) < 1)
        return sv_fail(e, "/problem/instances", "expected a non-empty array of instances, got %s",
                       sv_json_kind(arr));
    size_t T = json_array_size(arr);
    if (T > 10000000)
        return sv_fail(e, "/problem/instances", "%zu instances exceed the limit of 10000000", T);
    /* Each b is read into its own vector (its length is known only from its A), then all are
     * copied into the container's one store below. */
    if ((rc = sor_bandit_data_alloc(d, (int)T, (int)T, 1)) != SV_OK)
        return rc;
    long entries = 0;
    double **bs = calloc(T, sizeof *bs);
    if (!bs) {
        sor_bandit_data_free(d);
        return SV_ENOMEM;
    }
    for (size_t t = 0; t < T && rc == SV_OK; t++) {
        const json_t *it = json_array_get(arr, t);
        json_t *av, *bv, *sv, *cv;
        sv_json_path_index(path, sizeof path, "/problem/instances", (long)t);
        if ((rc = sv_json_object(it, path, e)) != SV_OK ||
            (rc = sv_json_no_unknown(it, path, instance_members, e)) != SV_OK ||
            (rc = sv_json_require(it, path, "A", &av, e)) != SV_OK ||
            (rc = sv_json_require(it, path, "b", &bv, e)) != SV_OK)
            break;
        sv_json_path_key(q, sizeof q, path, "A");
        if ((rc = read_matrix(av, q, env, &d->mats[t], e)) != SV_OK)
            break;
        entries += d->mats[t].nnz + d->mats[t].rows;
        if (entries > max_entries(env)) {
            rc = sv_fail(e, q, "the sequence's matrix and vector entries exceed the limit of %ld",
                         max_entries(env));
            break;
        }
        sv_json_path_key(q, sizeof q, path, "b");
        if ((rc = sv_json_vector(bv, q, d->mats[t].rows, env, &bs[t], NULL, e)) != SV_OK)
            break;
        sor_bandit_instance *in = &d->inst[t];
        in->mat = (int)t;
        in->b = bs[t];
        in->context = NAN;
        sv_json_optional(it, path, "shift", &sv, e);
        if (sv) {
            sv_json_path_key(q, sizeof q, path, "shift");
            if ((rc = sv_json_number(sv, q, &in->shift, e)) != SV_OK)
                break;
            in->context = in->shift;
        }
        sv_json_optional(it, path, "context", &cv, e);
        if (cv) {
            sv_json_path_key(q, sizeof q, path, "context");
            if ((rc = sv_json_number(cv, q, &in->context, e)) != SV_OK)
                break;
        }
    }
    /* One store for the right-hand sides, so that the container owns them all. */
    if (rc == SV_OK) {
        size_t len = 0;
        for (size_t t = 0; t < T; t++)
            len += (size_t)d->mats[t].rows;
        double *rhs = realloc(d->rhs, len * sizeof *rhs);
        if (!rhs) {
            rc = SV_ENOMEM;
        } else {
            d->rhs = rhs;
            size_t off = 0;
            for (size_t t = 0; t < T; t++) {
                memcpy(rhs + off, bs[t], (size_t)d->mats[t].rows * sizeof *rhs);
                d->inst[t].b = rhs + off;
                off += (size_t)d->mats[t].rows;
            }
        }
    }
    for (size_t t = 0; t < T; t++)
        free(bs[t]);
    free(bs);
    if (rc != SV_OK)
        sor_bandit_data_free(d);
    return rc;
}

static int read_shifts(const json_t *problem, const sv_codec_env *env, sor_bandit_data *d,
                       sv_err *e)
{
    json_t *av, *bv, *cv;
    const json_t *sv = json_object_get(problem, "shifts");
    double *shifts = NULL, *ctx = NULL;
    int T, rc;
    char path[96];
    sv_csr A;
    memset(&A, 0, sizeof A);
    memset(d, 0, sizeof *d);
    if ((rc = sv_json_vector(sv, "/problem/shifts", -1, NULL, &shifts, &T, e)) != SV_OK)
        return rc;
    if ((rc = sv_json_require(problem, "/problem", "A", &av, e)) != SV_OK ||
        (rc = sv_json_require(problem, "/problem", "b", &bv, e)) != SV_OK ||
        (rc = read_matrix(av, "/problem/A", env, &A, e)) != SV_OK)
        goto fail;
    const int n = A.rows;
    int many = json_is_array(bv) && json_array_size(bv) > 0 &&
               json_is_array(json_array_get(bv, 0));
    if ((double)A.nnz + (double)n * (many ? T : 1) > (double)max_entries(env)) {
        rc = sv_fail(e, "/problem/b", "the matrix and right-hand side entries exceed the limit "
                     "of %ld", max_entries(env));
        goto fail;
    }
    sv_json_optional(problem, "/problem", "contexts", &cv, e);
    if (cv && (rc = sv_json_vector(cv, "/problem/contexts", T, NULL, &ctx, NULL, e)) != SV_OK)
        goto fail;
    if (many && json_array_size(bv) != (size_t)T) {
        rc = sv_fail(e, "/problem/b", "expected one right-hand side per shift (%d), got %zu", T,
                     json_array_size(bv));
        goto fail;
    }
    if ((rc = sor_bandit_data_alloc(d, 1, T, (size_t)n * (many ? (size_t)T : 1))) != SV_OK)
        goto fail;
    d->mats[0] = A;
    memset(&A, 0, sizeof A);
    for (int t = 0; t < (many ? T : 1); t++) {
        double *b = NULL;
        const json_t *bt = many ? json_array_get(bv, (size_t)t) : bv;
        if (many)
            sv_json_path_index(path, sizeof path, "/problem/b", t);
        else
            snprintf(path, sizeof path, "/problem/b");
        if ((rc = sv_json_vector(bt, path, n, env, &b, NULL, e)) != SV_OK)
            goto fail;
        memcpy(d->rhs + (size_t)t * n, b, (size_t)n * sizeof *b);
        free(b);
    }
    for (int t = 0; t < T; t++)
        d->inst[t] = (sor_bandit_instance){0, shifts[t], d->rhs + (many ? (size_t)t * n : 0),
                                           ctx ? ctx[t] : shifts[t]};
    free(shifts);
    free(ctx);
    return SV_OK;
fail:
    sv_csr_free(&A);
    sor_bandit_data_free(d);
    free(shifts);
    free(ctx);
    return rc;
}

/* The generate spec (decoded and checked) and its size against the limits. */
static int read_generate(const json_t *problem, const sv_codec_env *env, sor_bandit_gen_spec *g,
                         sv_err *e)
{
    int rc;
    sv_params_defaults(sor_bandit_gen_params, g);
    if ((rc = sv_forms_decode_key(&sor_forms[FORM_GENERATE], problem, g, e)) != SV_OK ||
        (rc = sor_bandit_gen_check(g, e)) != SV_OK)
        return rc;
    double n = pow((double)g->grid, g->dim);
    if (env && env->max_dim > 0 && n > (double)env->max_dim)
        return sv_fail(e, "/problem/generate/grid", "grid^dim = %.0f unknowns exceed the limit of "
                       "%ld", n, env->max_dim);
    /* right-hand sides, and one matrix (5 entries a row at most) or one an instance */
    double entries = n * g->instances + 5.0 * n * (g->kind == SOR_BANDIT_GEN_DIFFUSION
                                                       ? g->instances : 1);
    if (entries > (double)max_entries(env))
        return sv_fail(e, "/problem/generate/instances", "the sequence's %.0f matrix and "
                       "right-hand side entries exceed the limit of %ld", entries,
                       max_entries(env));
    return SV_OK;
}

/* Builds the sequence of any form; with gen_only a generate spec is only checked (d stays
 * empty, d->prob.inst NULL). */
static int build(const json_t *problem, const sv_codec_env *env, int gen_only,
                 sor_bandit_data *d, sv_err *e)
{
    int form, rc;
    memset(d, 0, sizeof *d);
    if ((rc = sv_forms_pick(sor_forms, problem, &form, e)) != SV_OK)
        return rc;
    if (form == FORM_INSTANCES)
        return read_instances(problem, env, d, e);
    if (form == FORM_SHIFTS)
        return read_shifts(problem, env, d, e);
    sor_bandit_gen_spec g;
    if ((rc = read_generate(problem, env, &g, e)) != SV_OK || gen_only)
        return rc;
    return sor_bandit_generate(&g, d, e);
}

static int read_settings(const json_t *params, sor_bandit_settings *s, sv_err *e)
{
    sor_bandit_settings_default(s);
    int rc = sv_params_decode(sor_bandit_params, params, s, e);
    return rc != SV_OK ? rc : sor_bandit_check_settings(s, e);
}

/* ---- the codec ---- */

static void sor_defaults(void *s)
{
    sor_bandit_settings_default(s);
}

static json_t *sor_problem_schema(void)
{
    json_t *schema = sv_forms_schema(sor_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("a sequence of linear systems (A_t + c_t I) x = b_t, "
                                        "solved one after the other by SOR; exactly one of "
                                        "instances, shifts, generate"));
    return schema;
}

static json_t *sor_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:i}}, s:{s:s, s:f, s:i}}", "problem", "generate",
                     "instances", 150, "dim", 2, "grid", 10, "seed", 1, "params", "algorithm",
                     "tsallis_inf", "tol", 1e-8, "report_every", 5);
}

static int sor_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        sv_err *e)
{
    sor_bandit_data d;
    sor_bandit_settings s;
    int rc;
    if ((rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = build(problem, env, 1, &d, e)) != SV_OK)
        return rc;
    if (!d.prob.inst)  /* generate: the spec was checked; its sequence always passes */
        return SV_OK;
    rc = sor_bandit_check_problem(&d.prob, &s, e);
    sor_bandit_data_free(&d);
    return rc;
}

static json_t *long_array(const long *x, long n)
{
    json_t *a = json_array();
    for (long i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(x[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static int sor_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                   const sv_monitor *mon, json_t **result, sv_err *e)
{
    sor_bandit_data d;
    sor_bandit_settings s;
    sor_bandit_out o;
    int rc;
    *result = NULL;
    memset(&o, 0, sizeof o);
    if ((rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = build(problem, env, 0, &d, e)) != SV_OK)
        return rc;
    const int T = d.prob.n_instances, G = s.grid;
    o.omega = malloc((size_t)T * sizeof *o.omega);
    o.iterations = malloc((size_t)T * sizeof *o.iterations);
    o.best_iterations = malloc((size_t)T * sizeof *o.best_iterations);
    o.grid_omega = malloc((size_t)G * sizeof *o.grid_omega);
    o.grid_total = malloc((size_t)G * sizeof *o.grid_total);
    sor_bandit_info info;
    if (!o.omega || !o.iterations || !o.best_iterations || !o.grid_omega || !o.grid_total)
        rc = SV_ENOMEM;
    else
        rc = sor_bandit_solve(&d.prob, &s, mon, &o, &info, e);
    if (rc == SV_OK) {
        const long done = info.base.iter;
        json_t *r = sv_codec_result_new(&info.base, (double)info.total);
        json_t *om = sv_json_from_vector(o.omega, (int)done);
        json_t *it = long_array(o.iterations, done);
        json_t *gr = sv_json_from_vector(o.grid_omega, G);
        json_t *gt = info.compared ? long_array(o.grid_total, G) : json_null();
        json_t *bi = info.compared ? long_array(o.best_iterations, done) : json_null();
        if (!r || !om || !it || !gr || !gt || !bi) {
            json_decref(r);
            json_decref(om);
            json_decref(it);
            json_decref(gr);
            json_decref(gt);
            json_decref(bi);
            rc = SV_ENOMEM;
        } else {
            static const char *const names[] = {"tsallis_inf", "contextual", "fixed", "sweep"};
            json_object_set_new(r, "algorithm", json_string(names[s.algorithm]));
            json_object_set_new(r, "instances", json_integer(T));
            json_object_set_new(r, "instances_solved", json_integer(done));
            json_object_set_new(r, "total_iterations", json_integer(info.total));
            json_object_set_new(r, "unconverged", json_integer(info.unconverged));
            json_object_set_new(r, "last_relative_residual", sv_codec_real(info.base.res));
            json_object_set_new(r, "sor_iterations_run", json_integer(info.sor_iterations_run));
            if (info.compared) {
                json_object_set_new(r, "best_fixed_omega", json_real(info.best_omega));
                json_object_set_new(r, "best_fixed_total", json_integer(info.best_total));
                json_object_set_new(r, "regret", json_integer(info.regret));
                json_object_set_new(r, "instance_optimal_total",
                                    json_integer(info.instance_optimal));
            } else {
                json_object_set_new(r, "best_fixed_omega", json_null());
                json_object_set_new(r, "best_fixed_total", json_null());
                json_object_set_new(r, "regret", json_null());
                json_object_set_new(r, "instance_optimal_total", json_null());
            }
            if (s.algorithm == SOR_BANDIT_CONTEXTUAL) {
                json_object_set_new(r, "context_lo", json_real(info.context_lo));
                json_object_set_new(r, "context_hi", json_real(info.context_hi));
            }
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "omega", om);
            json_object_set_new(r, "sor_iterations", it);
            json_object_set_new(r, "best_fixed_iterations", bi);
            json_object_set_new(r, "grid", gr);
            json_object_set_new(r, "grid_totals", gt);
            *result = r;
        }
    }
    free(o.omega);
    free(o.iterations);
    free(o.best_iterations);
    free(o.grid_omega);
    free(o.grid_total);
    sor_bandit_data_free(&d);
    return rc;
}

const sv_codec sv_codec_sor_bandit = {
    .name = "linsys.sor_bandit",
    .family = "linsys",
    .summary = "SOR across a sequence of linear systems with the relaxation omega of each "
               "chosen by a bandit from iteration counts alone (Tsallis-INF) or from the "
               "instance's context as well (ChebCB), against the best fixed omega in hindsight",
    .paper = "Khodak, Chow, Balcan, Talwalkar: Learning to Relax: Setting Solver Parameters "
             "Across a Sequence of Linear System Instances, ICLR 2024",
    .doc = "docs/solvers/linsys/sor_bandit.md",
    .params = sor_bandit_params,
    .settings_size = sizeof(sor_bandit_settings),
    .settings_default = sor_defaults,
    .problem_schema = sor_problem_schema,
    .example = sor_example,
    .validate = sor_validate,
    .run = sor_run,
};
