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
#include "api/glm_json.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/models/bl_multiblock.h"
#include "core/solvers/bilevel/blockwise.h"

/* Problem defaults (the generator's and the explicit form's). */
#define BW_DEFAULT_MU 1.0
#define BW_DEFAULT_SPREAD 0.5
#define BW_DEFAULT_NOISE 0.1

/* ---- parameters ---- */

static const char *const variant_choices[] = {"v1", "v2", "auto", NULL};

static const sv_param_spec bw_params[] = {
    {"variant", SV_PARAM_ENUM, offsetof(blockwise_settings, variant), 0, 0, 0, variant_choices,
     "v1: track each block's Hessian (low dimension); v2: track Hessian-inverse-vector products "
     "(high dimension); auto: v1 up to dimension 64", 0, 0, NULL},
    {"blocks", SV_PARAM_INT, offsetof(blockwise_settings, blocks), 0, INT_MAX, 0, NULL,
     "I: blocks sampled per iteration, at most the number of blocks; 0: all", 0, 0, NULL},
    {"batch", SV_PARAM_INT, offsetof(blockwise_settings, batch), 1, INT_MAX, 0, NULL,
     "B: rows sampled per sampled block and level; at least a block's rows: all of them",
     0, 0, NULL},
    {"eta", SV_PARAM_NUMBER, offsetof(blockwise_settings, eta), 0, INFINITY, 1, NULL,
     "upper step; null: tau mu_g / (lambda + max_j L(V_j))", 0, 0, NULL},
    {"tau", SV_PARAM_NUMBER, offsetof(blockwise_settings, tau), 0, INFINITY, 1, NULL,
     "lower step; null: 1 / ((1 + msvr_gamma) max_j L(g_j))", 0, 0, NULL},
    {"tau_v", SV_PARAM_NUMBER, offsetof(blockwise_settings, tau_v), 0, INFINITY, 1, NULL,
     "v2: step of the Hessian-inverse-vector iterates; null: tau", 0, 0, NULL},
    {"alpha", SV_PARAM_NUMBER, offsetof(blockwise_settings, alpha), 0, 1, 1, NULL,
     "MSVR averaging weight in (0, 1]", 0, 0, NULL},
    {"msvr_gamma", SV_PARAM_NUMBER, offsetof(blockwise_settings, msvr_gamma), 0, INFINITY, 0,
     NULL, "MSVR correction weight; null: (m - I)/(I (1 - alpha)) + 1 - alpha", 0, 0, NULL},
    {"beta", SV_PARAM_NUMBER, offsetof(blockwise_settings, beta), 0, 1, 1, NULL,
     "STORM weight in (0, 1] of the hypergradient estimator", 0, 0, NULL},
    {"h_min", SV_PARAM_NUMBER, offsetof(blockwise_settings, h_min), 0, INFINITY, 1, NULL,
     "v1: eigenvalue floor of the tracked Hessians; null: the lower levels' strong convexity",
     0, 0, NULL},
    {"v_radius", SV_PARAM_NUMBER, offsetof(blockwise_settings, v_radius), 0, INFINITY, 0, NULL,
     "v2: project each v_j onto the ball of this radius; 0: no projection", 0, 0, NULL},
    {"tol", SV_PARAM_NUMBER, offsetof(blockwise_settings, tol), 0, INFINITY, 0, NULL,
     "stop when the full-data hypergradient and lower residual are both at most tol", 0, 0, NULL},
    {"max_iter", SV_PARAM_INT, offsetof(blockwise_settings, max_iter), 0, 1e9, 0, NULL,
     "largest number of iterations", 0, 0, NULL},
    {"time_limit_s", SV_PARAM_NUMBER, offsetof(blockwise_settings, time_limit_s), 0, INFINITY, 0,
     NULL, "wall-clock limit of the solve in seconds; 0: none", 0, 0, NULL},
    {"report_every", SV_PARAM_INT, offsetof(blockwise_settings, report_every), 1, 1e9, 0, NULL,
     "progress report (with full-data metrics and the tol test) every this many iterations",
     0, 0, NULL},
    {"seed", SV_PARAM_SEED, offsetof(blockwise_settings, seed), 0, 0, 0, NULL,
     "seed of the block and row sampling", 0, 0, NULL},
    SV_PARAMS_END,
};

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

static int read_problem(const json_t *problem, const sv_codec_env *env, bw_desc *d, sv_err *e);
static int read_blocks(const json_t *problem, const sv_codec_env *env, bw_desc *d, sv_err *e);
static int read_generate(const json_t *gen, const sv_codec_env *env, bw_desc *d, sv_err *e);
static int read_number_opt(const json_t *obj, const char *path, const char *key, double dflt,
                           double min, int min_exclusive, double *out, sv_err *e);
static int build(const bw_desc *d, const sv_codec_env *env, sv_mb_data *D, sv_err *e);

/* ============================================================================================
 * Reading the problem (no allocation of problem data)
 * ========================================================================================== */

static int read_problem(const json_t *problem, const sv_codec_env *env, bw_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    if (sv_json_object(problem, "/problem", e) != SV_OK)
        return SV_EINVAL;
    json_t *blocks = json_object_get(problem, "blocks");
    json_t *gen = json_object_get(problem, "generate");
    if (!!blocks + !!gen != 1)
        return sv_fail(e, "/problem", blocks ? "give only one of blocks and generate"
                                             : "needs one of blocks or generate");
    int rc;
    if (blocks) {
        static const char *const allowed[] = {"blocks", "loss", "mu", "lambda", "ridge", "x0",
                                              "y0", NULL};
        if ((rc = sv_json_no_unknown(problem, "/problem", allowed, e)) != SV_OK ||
            (rc = read_blocks(problem, env, d, e)) != SV_OK)
            return rc;
    } else {
        static const char *const allowed[] = {"generate", "x0", "y0", NULL};
        if ((rc = sv_json_no_unknown(problem, "/problem", allowed, e)) != SV_OK ||
            (rc = read_generate(gen, env, d, e)) != SV_OK)
            return rc;
    }
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

static int read_generate(const json_t *gen, const sv_codec_env *env, bw_desc *d, sv_err *e)
{
    static const char *const allowed[] = {"blocks", "rows", "val_rows", "dim", "loss", "spread",
                                          "noise", "mu", "lambda", "ridge", "seed", NULL};
    const char *path = "/problem/generate";
    int rc;
    if ((rc = sv_json_object(gen, path, e)) != SV_OK ||
        (rc = sv_json_no_unknown(gen, path, allowed, e)) != SV_OK)
        return rc;
    long lim = env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
    long m, rows, val_rows, dim, seed;
    sv_mb_gen_spec *g = &d->gen;
    if ((rc = sv_glm_json_int(gen, path, "blocks", 1, 1, lim, 0, &m, e)) != SV_OK ||
        (rc = sv_glm_json_int(gen, path, "rows", 1, 1, lim, 0, &rows, e)) != SV_OK ||
        (rc = sv_glm_json_int(gen, path, "val_rows", 0, 1, lim, rows, &val_rows, e)) !=
            SV_OK ||
        (rc = sv_glm_json_int(gen, path, "dim", 1, 1, lim, 0, &dim, e)) != SV_OK ||
        (rc = sv_glm_json_seed(gen, path, &seed, e)) != SV_OK ||
        (rc = sv_glm_json_loss(gen, path, SV_LOSS_SQUARED, &d->loss, e)) != SV_OK ||
        (rc = read_number_opt(gen, path, "spread", BW_DEFAULT_SPREAD, 0, 0, &g->spread, e)) !=
            SV_OK ||
        (rc = read_number_opt(gen, path, "noise", BW_DEFAULT_NOISE, 0, 0, &g->noise, e)) !=
            SV_OK ||
        (rc = read_number_opt(gen, path, "mu", BW_DEFAULT_MU, 0, 1, &d->mu, e)) != SV_OK ||
        (rc = sv_glm_json_lambda(gen, path, &d->lambda, e)) != SV_OK ||
        (rc = read_number_opt(gen, path, "ridge", 0, 0, 0, &d->ridge, e)) != SV_OK)
        return rc;
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    double entries = (double)m * (double)(rows + val_rows) * (double)dim;
    if (entries > (double)max_entries)
        return sv_fail(e, path, "blocks * (rows + val_rows) * dim = %.0f exceeds the limit of %ld "
                       "matrix entries", entries, max_entries);
    d->generate = 1;
    d->m = (int)m;
    d->dim = (int)dim;
    g->blocks = (int)m;
    g->rows = (int)rows;
    g->val_rows = (int)val_rows;
    g->dim = (int)dim;
    g->loss = d->loss;
    g->mu = d->mu;
    g->lambda = d->lambda;
    g->ridge = d->ridge;
    g->seed = (uint64_t)seed;
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
    return sv_params_decode(bw_params, params, s, e);
}

static json_t *bw_params_schema(void)
{
    blockwise_settings s;
    blockwise_settings_default(&s);
    return sv_params_schema(bw_params, &s);
}

static json_t *bw_problem_schema(void)
{
    json_t *props = json_pack(
        "{s:{s:s, s:s}, s:{s:s, s:[s,s]}, s:{s:s, s:f, s:s}, s:{s:s, s:i, s:s}, s:{s:s, s:i, s:s},"
        " s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}",
        "blocks", "type", "array", "description",
        "[{\"A\": training matrix, \"b\": its targets, \"A_val\": validation matrix, \"b_val\": "
        "its targets}, ...]: one lower-level problem per block, all with the same columns",
        "loss", "type", "string", "enum", "squared", "logistic",
        "mu", "type", "number", "default", BW_DEFAULT_MU, "description",
        "weight of the proximity term (mu/2)|y_j - x|^2 coupling every block to x (> 0)",
        "lambda", "type", "number", "minimum", 0, "description", "ridge on x in the upper level",
        "ridge", "type", "number", "minimum", 0, "description",
        "ridge on y_j in every lower level",
        "generate", "type", "object", "description",
        "{blocks, rows, val_rows? (rows), dim, loss? (squared), spread? (0.5), noise? (0.1), "
        "mu? (1), lambda? (0), ridge? (0), seed? (0)}: related tasks w_j = w + spread delta_j",
        "x0", "type", "array", "description", "starting x (default zeros)",
        "y0", "type", "array", "description",
        "starting lower variables, one row of dim numbers per block (default zeros)");
    return json_pack("{s:s, s:s, s:[{s:[s]}, {s:[s]}], s:o}", "type", "object", "description",
                     "min_x (1/m) sum_j V_j(y_j*(x)) + (lambda/2)|x|^2, y_j*(x) = argmin_y "
                     "T_j(y) + (mu/2)|y - x|^2; exactly one of blocks, generate",
                     "oneOf", "required", "blocks", "required", "generate", "properties", props);
}

static json_t *bw_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:f, s:i}}, s:{s:s, s:i, s:i, s:i}}",
                     "problem", "generate", "blocks", 20, "rows", 40, "dim", 10, "loss",
                     "squared", "mu", 1.0, "seed", 1,
                     "params", "variant", "v1", "blocks", 5, "batch", 16, "max_iter", 3000);
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
    .params_schema = bw_params_schema,
    .problem_schema = bw_problem_schema,
    .example = bw_example,
    .validate = bw_validate,
    .run = bw_run,
};
