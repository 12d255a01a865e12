/* mec.c - the coupling.mec codec: explicit marginals (the MEC task), an explicit p_X and rate
 * (the EBIM task) or a generated instance of either, into mec_solve / ebim_solve, and the
 * coupling or the encoder back into JSON. The doc page is docs/solvers/coupling/mec.md. */
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
#include "core/solvers/coupling/mec.h"
#include "core/solvers/coupling/mec_gen.h"

typedef enum { FORM_MARGINALS, FORM_EBIM, FORM_GENERATE } mec_form;

typedef struct {
    mec_form form;
    int task;                   /* mec_gen_task */
    int k;                      /* marginals (MEC) */
    int n[MEC_MAX_MARGINALS];
    double rate;                /* EBIM; NaN: H(X) / 2 (generate only) */
    const json_t *arrays[MEC_MAX_MARGINALS];  /* explicit forms: the validated arrays */
    mec_gen_spec gen;
} mec_desc;

static const char *const marginals_members[] = {"marginals", NULL};
static const char *const ebim_members[] = {"p_x", "rate", NULL};
static const char *const generate_members[] = {"generate", NULL};
static const sv_problem_form mec_forms[] = {
    {.key = "marginals", .members = marginals_members,
     .summary = "MEC: couple 2 to 8 explicit marginals",
     .properties =
         "{\"marginals\": {\"type\": \"array\", \"minItems\": 2, \"maxItems\": 8, \"items\":"
         " {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"number\", \"minimum\":"
         " 0}}, \"description\": \"each a distribution: masses >= 0 summing to 1 within 1e-9"
         " (then divided by their sum)\"}}"},
    {.key = "p_x", .members = ebim_members,
     .summary = "EBIM: an encoder for an explicit p_X under a rate bound",
     .properties =
         "{\"p_x\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"number\","
         " \"minimum\": 0}, \"description\": \"the input distribution, summing to 1 within"
         " 1e-9\"}, \"rate\": {\"type\": \"number\", \"minimum\": 0, \"description\": \"the bound"
         " R on H(T), bits (required)\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded instance of either task: Dirichlet or Zipf marginals (mec_gen.h)",
     .fields = mec_gen_params, .fields_size = sizeof(mec_gen_spec)},
    SV_FORMS_END,
};

static long lim_dim(const sv_codec_env *env)
{
    return env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
}

/* A marginal array at path: numbers (sv_json_vector), then sign and normalisation. */
static int check_array(const json_t *v, const char *path, const sv_codec_env *env, int *n,
                       sv_err *e)
{
    double *x = NULL;
    int rc = sv_json_vector(v, path, -1, env, &x, n, e);
    if (rc == SV_OK)
        rc = mec_check_marginal(x, *n, path, e);
    free(x);
    return rc;
}

static int read_problem(const json_t *problem, const sv_codec_env *env, mec_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(mec_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (mec_form)form;
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    if (d->form == FORM_MARGINALS) {
        const json_t *a = json_object_get(problem, "marginals");
        if (!json_is_array(a))
            return sv_fail(e, "/problem/marginals", "expected an array of marginals, got %s",
                           sv_json_kind(a));
        size_t k = json_array_size(a);
        if (k < 2 || k > MEC_MAX_MARGINALS)
            return sv_fail(e, "/problem/marginals", "needs 2 to %d marginals, got %zu",
                           MEC_MAX_MARGINALS, k);
        d->task = MEC_GEN_TASK_MEC;
        d->k = (int)k;
        long total = 0;
        char path[64];
        for (size_t i = 0; i < k; i++) {
            sv_json_path_index(path, sizeof path, "/problem/marginals", (long)i);
            d->arrays[i] = json_array_get(a, i);
            if ((rc = check_array(d->arrays[i], path, env, &d->n[i], e)) != SV_OK)
                return rc;
            total += d->n[i];
        }
        if (total > max_entries)
            return sv_fail(e, "/problem/marginals", "%ld masses exceed the limit of %ld", total,
                           max_entries);
        return SV_OK;
    }
    if (d->form == FORM_EBIM) {
        json_t *rate;
        d->task = MEC_GEN_TASK_EBIM;
        d->k = 1;
        d->arrays[0] = json_object_get(problem, "p_x");
        if ((rc = check_array(d->arrays[0], "/problem/p_x", env, &d->n[0], e)) != SV_OK ||
            (rc = sv_json_require(problem, "/problem", "rate", &rate, e)) != SV_OK ||
            (rc = sv_json_number(rate, "/problem/rate", &d->rate, e)) != SV_OK)
            return rc;
        if (d->rate < 0)
            return sv_fail(e, "/problem/rate", "must be >= 0 (bits), got %g", d->rate);
        return SV_OK;
    }
    mec_gen_spec *g = &d->gen;
    sv_params_defaults(mec_gen_params, g);
    if ((rc = sv_forms_decode_key(&mec_forms[FORM_GENERATE], problem, g, e)) != SV_OK)
        return rc;
    long lim = lim_dim(env);
    if (g->n > lim)
        return sv_fail(e, "/problem/generate/n", "size %d exceeds the limit of %ld", g->n, lim);
    if (g->m > lim)
        return sv_fail(e, "/problem/generate/m", "size %d exceeds the limit of %ld", g->m, lim);
    d->task = g->task;
    d->k = g->task == MEC_GEN_TASK_EBIM ? 1 : g->marginals;
    double total = 0;
    for (int i = 0; i < d->k; i++) {
        d->n[i] = i == 0 ? g->n : g->m;
        total += d->n[i];
    }
    if (total > (double)max_entries)
        return sv_fail(e, "/problem/generate", "%.0f masses exceed the limit of %ld", total,
                       max_entries);
    d->rate = g->rate;
    return SV_OK;
}

static int read_settings(const json_t *params, mec_settings *s, sv_err *e)
{
    mec_settings_default(s);
    int rc = sv_params_decode(mec_params, params, s, e);
    return rc != SV_OK ? rc : mec_check_settings(s, e);
}

/* The marginals as arrays (malloc'd into x[0..k-1]; the caller frees them). */
static int build(const mec_desc *d, const sv_codec_env *env, double **x, sv_err *e)
{
    for (int i = 0; i < d->k; i++)
        x[i] = NULL;
    if (d->form == FORM_GENERATE) {
        for (int i = 0; i < d->k; i++)
            if (!(x[i] = malloc((size_t)d->n[i] * sizeof *x[i])))
                return SV_ENOMEM;
        mec_gen_fill(&d->gen, x);
        return SV_OK;
    }
    char path[64];
    for (int i = 0; i < d->k; i++) {
        int n, rc;
        if (d->form == FORM_EBIM)
            snprintf(path, sizeof path, "/problem/p_x");
        else
            sv_json_path_index(path, sizeof path, "/problem/marginals", (long)i);
        if ((rc = sv_json_vector(d->arrays[i], path, d->n[i], env, &x[i], &n, e)) != SV_OK)
            return rc;
    }
    return SV_OK;
}

static json_t *mec_result(const mec_desc *d, const mec_info *info, const mec_coupling *c)
{
    json_t *r = sv_codec_result_new(&info->base, info->joint_entropy);
    json_t *cells = json_array(), *hs = json_array();
    if (!r || !cells || !hs)
        goto fail;
    for (int i = 0; i < d->k; i++)
        json_array_append_new(hs, sv_codec_real(info->marginal_entropy[i]));
    for (long t = 0; t < info->cells; t++) {
        json_t *row = json_array();
        if (!row)
            goto fail;
        for (int i = 0; i < d->k; i++)
            json_array_append_new(row, json_integer(c->idx[t * d->k + i]));
        json_array_append_new(row, json_real(c->mass[t]));
        if (json_array_append_new(cells, row) != 0)
            goto fail;
    }
    json_object_set_new(r, "task", json_string("mec"));
    json_object_set_new(r, "joint_entropy", sv_codec_real(info->joint_entropy));
    json_object_set_new(r, "marginal_entropies", hs);
    json_object_set_new(r, "lower_bound", sv_codec_real(info->lower_bound));
    json_object_set_new(r, "gap", sv_codec_real(info->gap));
    json_object_set_new(r, "cells", json_integer(info->cells));
    json_object_set_new(r, "unplaced_mass", sv_codec_real(info->unplaced));
    json_object_set_new(r, "solve_time_s", json_real(info->base.solve_time_s));
    json_object_set_new(r, "coupling", cells);
    return r;
fail:
    json_decref(r);
    json_decref(cells);
    json_decref(hs);
    return NULL;
}

static json_t *ebim_result(const ebim_info *info, double rate, const int *code, const double *px,
                           int n)
{
    json_t *r = sv_codec_result_new(&info->base, info->mi);
    json_t *enc = sv_json_from_int_vector(code, n);
    double *pt = calloc((size_t)(info->codes > 0 ? info->codes : 1), sizeof *pt);
    if (!r || !enc || !pt) {
        json_decref(r);
        json_decref(enc);
        free(pt);
        return NULL;
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += px[i];
    for (int i = 0; i < n; i++)  /* bookkeeping of the encoder's columns, not a solve */
        pt[code[i]] += px[i] / sum;
    json_t *ptj = sv_json_from_vector(pt, info->codes);
    free(pt);
    json_object_set_new(r, "task", json_string("ebim"));
    json_object_set_new(r, "rate", sv_codec_real(rate));
    json_object_set_new(r, "h_x", sv_codec_real(info->h_x));
    json_object_set_new(r, "h_t", sv_codec_real(info->h_t));
    json_object_set_new(r, "mutual_information", sv_codec_real(info->mi));
    json_object_set_new(r, "bound", sv_codec_real(info->bound));
    json_object_set_new(r, "codes", json_integer(info->codes));
    json_object_set_new(r, "solve_time_s", json_real(info->base.solve_time_s));
    json_object_set_new(r, "encoder", enc);
    json_object_set_new(r, "code_marginal", ptj ? ptj : json_null());
    return r;
}

/* ---- the codec ---- */

static void mec_defaults(void *s)
{
    mec_settings_default(s);
}

static json_t *mec_problem_schema(void)
{
    json_t *schema = sv_forms_schema(mec_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("MEC: a coupling of the marginals with small joint "
                                        "entropy; EBIM: an encoder p(T|X) maximising I(X;T) "
                                        "with H(T) <= rate; exactly one of marginals, p_x, "
                                        "generate"));
    return schema;
}

static json_t *mec_example(void)
{
    return json_pack("{s:{s:{s:s, s:i, s:i, s:s, s:f, s:i}}, s:{s:i}}", "problem", "generate",
                     "task", "mec", "n", 20000, "m", 20000, "dist", "dirichlet", "alpha", 1.0,
                     "seed", 1, "params", "report_every", 1000);
}

static int mec_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        sv_err *e)
{
    mec_desc d;
    mec_settings s;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    return SV_OK;
}

static int mec_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                   const sv_monitor *mon, json_t **result, sv_err *e)
{
    mec_desc d;
    mec_settings s;
    double *x[MEC_MAX_MARGINALS] = {NULL};
    int rc;
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    rc = build(&d, env, x, e);
    if (rc == SV_OK && d.task == MEC_GEN_TASK_MEC) {
        const double *pp[MEC_MAX_MARGINALS];
        for (int i = 0; i < d.k; i++)
            pp[i] = x[i];
        mec_problem p = {d.k, d.n, pp};
        mec_coupling c = {mec_max_cells(&p), NULL, NULL};
        c.idx = malloc((size_t)c.cap * (size_t)d.k * sizeof *c.idx);
        c.mass = malloc((size_t)c.cap * sizeof *c.mass);
        mec_info info;
        if (!c.idx || !c.mass)
            rc = SV_ENOMEM;
        else
            rc = mec_solve(&p, &s, mon, &c, &info, e);
        if (rc == SV_OK && !(*result = mec_result(&d, &info, &c)))
            rc = SV_ENOMEM;
        free(c.idx);
        free(c.mass);
    } else if (rc == SV_OK) {
        double rate = isnan(d.rate) ? mec_entropy(x[0], d.n[0]) / 2 : d.rate;
        int *code = malloc((size_t)d.n[0] * sizeof *code);
        ebim_problem p = {x[0], d.n[0], rate};
        ebim_info info;
        if (!code)
            rc = SV_ENOMEM;
        else
            rc = ebim_solve(&p, &s, mon, code, &info, e);
        if (rc == SV_OK && !(*result = ebim_result(&info, rate, code, x[0], d.n[0])))
            rc = SV_ENOMEM;
        free(code);
    }
    for (int i = 0; i < d.k; i++)
        free(x[i]);
    return rc;
}

const sv_codec sv_codec_mec = {
    .name = "coupling.mec",
    .family = "coupling",
    .summary = "minimum-entropy coupling with bottleneck: the greedy coupling of discrete "
               "marginals (decoder side) and a greedy deterministic encoder under a bound on "
               "H(T) (EBIM, encoder side)",
    .paper = "Ebrahimi, Chen, Khisti: Minimum Entropy Coupling with Bottleneck, NeurIPS 2024",
    .doc = "docs/solvers/coupling/mec.md",
    .params = mec_params,
    .settings_size = sizeof(mec_settings),
    .settings_default = mec_defaults,
    .problem_schema = mec_problem_schema,
    .example = mec_example,
    .validate = mec_validate,
    .run = mec_run,
};
