/* blockwise.c - the bilevel.blockwise codec: a multi-block bilevel problem (explicit blocks or a
 * generated family of related tasks) and params into blockwise_solve, and its outcome back into
 * JSON. The doc page is docs/solvers/bilevel/blockwise.md. */
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
#include "core/models/bl_multiblock.h"
#include "core/solvers/bilevel/blockwise.h"

/* The explicit form's default mu (the generator's is SV_MB_GEN_DEFAULT_MU). */
#define BW_DEFAULT_MU SV_MB_GEN_DEFAULT_MU

/* ---- the problem, read but not yet built ---- */

typedef struct {
    int generate;
    int m, dim;
    sv_loss loss;
    double mu, lambda, ridge;
    const json_t *blocks;     /* explicit: the validated array */
    sv_mb_gen_spec gen;       /* generate */
    const json_t *x0, *y0;    /* NULL: zeros */
} bw_desc;

/* The forms of "problem": explicit blocks (0) or a generated family of tasks (1). */
enum { FORM_BLOCKS, FORM_GENERATE };
static const char *const blocks_members[] = {"blocks", "loss", "mu", "lambda", "ridge", "x0",
                                             "y0", NULL};
static const char *const generate_members[] = {"generate", "x0", "y0", NULL};
#define BW_START_PROPS                                                                           \
    " \"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"description\":"        \
    " \"starting x (default zeros)\"},"                                                        \
    " \"y0\": {\"description\": \"starting lower variables, one row of dim numbers per block"  \
    " (default zeros)\"}"
static const sv_problem_form bw_forms[] = {
    {.key = "blocks", .members = blocks_members,
     .summary = "explicit blocks, each a lower-level training set and an upper-level validation "
                "set over the same columns",
     .properties =
         "{\"blocks\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"object\","
         " \"required\": [\"A\", \"b\", \"A_val\", \"b_val\"], \"additionalProperties\": false,"
         " \"properties\": {\"A\": {\"description\": \"training matrix\"}, \"b\": {\"type\":"
         " \"array\"}, \"A_val\": {\"description\": \"validation matrix\"}, \"b_val\":"
         " {\"type\": \"array\"}}}},"
         " \"loss\": {\"type\": \"string\", \"enum\": [\"squared\", \"logistic\"],"
         " \"default\": \"squared\"},"
         " \"mu\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"default\": 1,"
         " \"description\": \"weight of the proximity term (mu/2)|y_j - x|^2 coupling every"
         " block to x\"},"
         " \"lambda\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0,"
         " \"description\": \"ridge on x in the upper level\"},"
         " \"ridge\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0,"
         " \"description\": \"ridge on y_j in every lower level\"}," BW_START_PROPS "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded family of related tasks w_j = w + spread delta_j "
                "(core/models/bl_multiblock.h)",
     .fields = sv_mb_gen_params, .fields_size = sizeof(sv_mb_gen_spec),
     .properties = "{" BW_START_PROPS "}"},
    SV_FORMS_END,
};

static int read_problem(const json_t *problem, const sv_codec_env *env, bw_desc *d, sv_err *e);
static int read_blocks(const json_t *problem, const sv_codec_env *env, bw_desc *d, sv_err *e);
static int read_generate(const json_t *problem, const sv_codec_env *env, bw_desc *d, sv_err *e);
static int read_number_opt(const json_t *obj, const char *path, const char *key, double dflt,
                           double min, int min_exclusive, double *out, sv_err *e);
static int build(const bw_desc *d, const sv_codec_env *env, sv_mb_data *D, sv_err *e);

/* ============================================================================================
 * Reading the problem (no allocation of problem data)
 * ========================================================================================== */

static int read_problem(const json_t *problem, const sv_codec_env *env, bw_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(bw_forms, problem, &form, e)) != SV_OK)
        return rc;
    rc = form == FORM_BLOCKS ? read_blocks(problem, env, d, e) : read_generate(problem, env, d, e);
    if (rc != SV_OK)
        return rc;
    json_t *v = NULL;
    sv_json_optional(problem, "/problem", "x0", &v, e);
    if (v && (rc = sv_json_vector(v, "/problem/x0", d->dim, env, NULL, NULL, e)) != SV_OK)
        return rc;
    d->x0 = v;
    sv_json_optional(problem, "/problem", "y0", &v, e);
    if (v && (rc = sv_json_matrix(v, "/problem/y0", d->m, d->dim, env, NULL, e)) != SV_OK)
        return rc;
    d->y0 = v;
    return SV_OK;
}

static int read_blocks(const json_t *problem, const sv_codec_env *env, bw_desc *d, sv_err *e)
{
    int rc;
    if ((rc = sv_glm_json_loss(problem, "/problem", SV_LOSS_SQUARED, &d->loss, e)) != SV_OK ||
        (rc = read_number_opt(problem, "/problem", "mu", BW_DEFAULT_MU, 0, 1, &d->mu, e)) !=
            SV_OK ||
        (rc = sv_glm_json_lambda(problem, "/problem", &d->lambda, e)) != SV_OK ||
        (rc = read_number_opt(problem, "/problem", "ridge", 0, 0, 0, &d->ridge, e)) != SV_OK)
        return rc;
    const json_t *arr = json_object_get(problem, "blocks");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return sv_fail(e, "/problem/blocks", "expected a non-empty array of blocks, got %s",
                       sv_json_kind(arr));
    size_t m = json_array_size(arr);
    long max_blocks = env && env->max_dim > 0 ? env->max_dim : INT_MAX;
    if (m > (size_t)max_blocks)
        return sv_fail(e, "/problem/blocks", "too many blocks: %zu, the limit is %ld", m,
                       max_blocks);
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    long total = 0, dim = -1;
    char path[96], sub[96];
    static const char *const keys[4] = {"A", "b", "A_val", "b_val"};
    for (size_t j = 0; j < m; j++) {
        static const char *const allowed[] = {"A", "b", "A_val", "b_val", NULL};
        const json_t *blk = json_array_get(arr, j);
        json_t *v[4];
        sv_json_path_index(path, sizeof path, "/problem/blocks", (long)j);
        if ((rc = sv_json_no_unknown(blk, path, allowed, e)) != SV_OK)
            return rc;
        for (int q = 0; q < 4; q++)
            if ((rc = sv_json_require(blk, path, keys[q], &v[q], e)) != SV_OK)
                return rc;
        for (int q = 0; q < 4; q += 2) {
            sv_json_path_key(sub, sizeof sub, path, keys[q]);
            if ((rc = sv_json_matrix(v[q], sub, -1, dim, env, NULL, e)) != SV_OK)
                return rc;
            long rows, cols, stored;
            sv_glm_json_matrix_shape(v[q], &rows, &cols, &stored);
            if (dim >= 0 && cols != dim)
                return sv_fail(e, sub, "has %ld columns, expected %ld: every block shares the "
                               "dimension of x", cols, dim);
            dim = cols;
            total += stored;
            if (total > max_entries)
                return sv_fail(e, sub, "the blocks hold more than the limit of %ld matrix "
                               "entries", max_entries);
            sv_json_path_key(sub, sizeof sub, path, keys[q + 1]);
            if ((rc = sv_json_vector(v[q + 1], sub, rows, env, NULL, NULL, e)) != SV_OK)
                return rc;
            if (d->loss == SV_LOSS_LOGISTIC &&
                (rc = sv_glm_json_labels(v[q + 1], sub, e)) != SV_OK)
                return rc;
        }
    }
    d->generate = 0;
    d->blocks = arr;
    d->m = (int)m;
    d->dim = (int)dim;
    return SV_OK;
}

static int read_generate(const json_t *problem, const sv_codec_env *env, bw_desc *d, sv_err *e)
{
    const char *path = "/problem/generate";
    sv_mb_gen_spec *g = &d->gen;
    sv_params_defaults(sv_mb_gen_params, g);
    int rc = sv_forms_decode_key(&bw_forms[FORM_GENERATE], problem, g, e);
    if (rc != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    const int nv = sv_mb_gen_val_rows(g);
    if (g->blocks > lim)
        return sv_fail(e, "/problem/generate/blocks", "too many blocks: %d, the limit is %ld",
                       g->blocks, lim);
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
    double entries = (double)g->blocks * ((double)g->rows + nv) * (double)g->dim;
    if (entries > (double)max_entries)
        return sv_fail(e, path, "blocks * (rows + val_rows) * dim = %.0f exceeds the limit of %ld "
                       "matrix entries", entries, max_entries);
    d->generate = 1;
    d->m = g->blocks;
    d->dim = g->dim;
    d->loss = g->loss;
    d->mu = g->mu;
    d->lambda = g->lambda;
    d->ridge = g->ridge;
    return SV_OK;
}

/* An optional number >= min (> min when min_exclusive). */
static int read_number_opt(const json_t *obj, const char *path, const char *key, double dflt,
                           double min, int min_exclusive, double *out, sv_err *e)
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
    if (min_exclusive ? !(*out > min) : !(*out >= min))
        return sv_fail(e, field, "must be %s %g, got %g", min_exclusive ? ">" : ">=", min, *out);
    return SV_OK;
}

/* ============================================================================================
 * Building the instance (run only)
 * ========================================================================================== */

static int build(const bw_desc *d, const sv_codec_env *env, sv_mb_data *D, sv_err *e)
{
    if (d->generate)
        return sv_mb_generate(&d->gen, D, e);
    int rc = sv_mb_data_alloc(D, d->m, d->dim);
    if (rc != SV_OK)
        return rc;
    char path[96], sub[96];
    for (int j = 0; j < d->m && rc == SV_OK; j++) {
        const json_t *blk = json_array_get(d->blocks, (size_t)j);
        sv_json_path_index(path, sizeof path, "/problem/blocks", j);
        sv_json_path_key(sub, sizeof sub, path, "A");
        rc = sv_json_matrix(json_object_get(blk, "A"), sub, -1, d->dim, env, &D->A[j], e);
        if (rc == SV_OK) {
            sv_json_path_key(sub, sizeof sub, path, "b");
            rc = sv_json_vector(json_object_get(blk, "b"), sub, D->A[j].rows, env, &D->b[j],
                                NULL, e);
        }
        if (rc == SV_OK) {
            sv_json_path_key(sub, sizeof sub, path, "A_val");
            rc = sv_json_matrix(json_object_get(blk, "A_val"), sub, -1, d->dim, env,
                                &D->A_val[j], e);
        }
        if (rc == SV_OK) {
            sv_json_path_key(sub, sizeof sub, path, "b_val");
            rc = sv_json_vector(json_object_get(blk, "b_val"), sub, D->A_val[j].rows, env,
                                &D->b_val[j], NULL, e);
        }
    }
    if (rc != SV_OK) {
        sv_mb_data_free(D);
        return rc;
    }
    sv_mb_data_bind(D, d->loss, d->ridge, d->mu, d->lambda);
    return SV_OK;
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static int read_settings(const json_t *params, blockwise_settings *s, sv_err *e)
{
    blockwise_settings_default(s);
    return sv_params_decode(blockwise_params, params, s, e);
}

static void bw_defaults(void *s)
{
    blockwise_settings_default(s);
}

static json_t *bw_problem_schema(void)
{
    json_t *schema = sv_forms_schema(bw_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("min_x (1/m) sum_j V_j(y_j*(x)) + (lambda/2)|x|^2, y_j*(x) "
                                        "= argmin_y T_j(y) + (mu/2)|y - x|^2; exactly one of "
                                        "blocks, generate"));
    return schema;
}

static json_t *bw_example(void)
{
    /* 5 of 20 blocks per iteration, each with all its rows: the sampled blocks leave a floor
     * near 5e-3 in the hypergradient, so tol 1e-2 (solved at iteration 825, 34 reports) */
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:f, s:i}}, s:{s:s, s:i, s:i, s:f, s:i, s:i}}",
                     "problem", "generate", "blocks", 20, "rows", 40, "dim", 10, "loss",
                     "squared", "mu", 1.0, "seed", 1,
                     "params", "variant", "v1", "blocks", 5, "batch", 40, "tol", 1e-2,
                     "max_iter", 20000, "report_every", 25);
}

static int bw_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                       sv_err *e)
{
    bw_desc d;
    blockwise_settings s;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    return blockwise_check_settings(&s, d.m, e);
}

static int bw_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                  const sv_monitor *mon, json_t **result, sv_err *e)
{
    bw_desc d;
    blockwise_settings s;
    sv_mb_data D;
    double *x = NULL, *Y = NULL;
    int rc;
    memset(&D, 0, sizeof D);
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = blockwise_check_settings(&s, d.m, e)) != SV_OK)
        return rc;
    if (d.x0)
        rc = sv_json_vector(d.x0, "/problem/x0", d.dim, env, &x, NULL, e);
    else if (!(x = calloc((size_t)d.dim, sizeof *x)))
        rc = SV_ENOMEM;
    if (rc == SV_OK) {
        if (d.y0) {
            sv_mat Ym;
            rc = sv_json_matrix(d.y0, "/problem/y0", d.m, d.dim, env, &Ym, e);
            if (rc == SV_OK) {
                sv_dense dense;
                rc = sv_mat_to_dense(&Ym, &dense);
                if (rc == SV_OK)
                    Y = dense.data;  /* dense.data is the whole row-major array */
                sv_mat_free(&Ym);
            }
        } else if (!(Y = calloc((size_t)d.m * d.dim, sizeof *Y))) {
            rc = SV_ENOMEM;
        }
    }
    if (rc == SV_OK)
        rc = build(&d, env, &D, e);
    if (rc != SV_OK) {
        free(x);
        free(Y);
        return rc;
    }

    blockwise_info info;
    rc = blockwise_solve(&D.prob, &s, mon, x, Y, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *xs = sv_json_from_vector(x, d.dim);
        json_t *ys = sv_json_from_dense(Y, d.m, d.dim);
        json_t *pars = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "eta",
                                 sv_codec_real(info.eta), "tau", sv_codec_real(info.tau), "tau_v",
                                 sv_codec_real(info.tau_v), "alpha", sv_codec_real(info.alpha),
                                 "msvr_gamma", sv_codec_real(info.msvr_gamma), "beta",
                                 sv_codec_real(info.beta), "h_min", sv_codec_real(info.h_min));
        if (!r || !xs || !ys || !pars) {
            json_decref(r);
            json_decref(xs);
            json_decref(ys);
            json_decref(pars);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "hypergrad_norm", sv_codec_real(info.hypergrad_norm));
            json_object_set_new(r, "lower_residual", sv_codec_real(info.lower_residual));
            json_object_set_new(r, "estimator_norm", sv_codec_real(info.estimator_norm));
            json_object_set_new(r, "variant",
                                json_string(info.variant == BLOCKWISE_V1 ? "v1" : "v2"));
            json_object_set_new(r, "blocks", json_integer(D.prob.n_blocks));
            json_object_set_new(r, "blocks_per_iter", json_integer(info.blocks));
            json_object_set_new(r, "block_visits", json_integer(info.block_visits));
            json_object_set_new(r, "sample_evals", json_integer((json_int_t)info.sample_evals));
            json_object_set_new(r, "parameters", pars);
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", xs);
            json_object_set_new(r, "y", ys);
            *result = r;
        }
    }
    sv_mb_data_free(&D);
    free(x);
    free(Y);
    return rc;
}

const sv_codec sv_codec_blockwise = {
    .name = "bilevel.blockwise",
    .family = "bilevel",
    .summary = "BSVRB: blockwise variance-reduced stochastic bilevel optimisation over many "
               "lower-level problems, sampling I blocks and B rows per block (v1 tracks Hessians, "
               "v2 Hessian-vector products)",
    .paper = "Hu, Qiu, Guo, Zhang, Yang: Blockwise Stochastic Variance-Reduced Methods with "
             "Parallel Speedup for Multi-Block Bilevel Optimization, ICML 2023",
    .doc = "docs/solvers/bilevel/blockwise.md",
    .params = blockwise_params,
    .settings_size = sizeof(blockwise_settings),
    .settings_default = bw_defaults,
    .problem_schema = bw_problem_schema,
    .example = bw_example,
    .validate = bw_validate,
    .run = bw_run,
};
