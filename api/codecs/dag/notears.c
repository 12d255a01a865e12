/* notears.c - the dag.notears codec: data (a matrix X, optionally the true graph) or a generated
 * linear Gaussian SEM (core/models/dag.h), params into notears_solve, and the estimate with its
 * score and, against a true graph, its accuracy back into JSON. The doc page is
 * docs/solvers/dag/notears.md. */
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/codecs/dag/dag_json.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/models/dag.h"
#include "core/solvers/dag/notears.h"


static const char *const data_members[] = {"data", "true_graph", NULL};
static const char *const generate_members[] = {"generate", NULL};
static const sv_problem_form nt_forms[] = {
    {.key = "data", .members = data_members,
     .summary = "observed data: X of n samples (rows) x d variables (columns), and optionally "
                "the true graph to measure the estimate against",
     .properties =
         "{\"data\": {\"description\": \"X, n x d (nested arrays, {rows,cols,data} row-major, "
         "CSR or COO); d <= 500\"}, \"true_graph\": {\"description\": \"d x d adjacency of the "
         "true DAG, entry (i, j) non-zero for an edge i -> j (weights allowed); gives shd, tpr, "
         "fdr, fpr in the result\"}}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded linear Gaussian SEM on an Erdos-Renyi or scale-free DAG, weights "
                "uniform in [-2, -0.5] u [0.5, 2] (core/models/dag.h)",
     .fields = sv_dag_gen_params, .fields_size = sizeof(sv_dag_gen_spec)},
    SV_FORMS_END,
};

static int read_settings(const json_t *params, notears_settings *s, sv_err *e)
{
    notears_settings_default(s);
    int rc = sv_params_decode(notears_params, params, s, e);
    return rc != SV_OK ? rc : notears_check_settings(s, e);
}

/* ---- the codec ---- */

static void nt_defaults(void *s)
{
    notears_settings_default(s);
}

static json_t *nt_problem_schema(void)
{
    json_t *schema = sv_forms_schema(nt_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("a DAG to learn from data X (n x d): min 0.5/n |X - X W|^2 "
                                        "+ lambda1 |W|_1 s.t. tr(exp(W o W)) = d; exactly one "
                                        "of data, generate"));
    return schema;
}

static json_t *nt_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:s, s:i, s:i}}, s:{s:f, s:i}}", "problem", "generate",
                     "d", 10, "n", 1000, "graph", "er", "edges_per_node", 2, "seed", 2,
                     "params", "lambda1", 0.1, "report_every", 100);
}

static int nt_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                       sv_err *e)
{
    sv_dag_source d;
    notears_settings s;
    int rc;
    if ((rc = sv_dag_json_read(nt_forms, problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    if (d.form == SV_DAG_FORM_GENERATE)
        return SV_OK;
    sv_dag_data x;  /* the shapes are known only once read; the limits bound what is read */
    if ((rc = sv_dag_json_build(&d, env, &x, e)) == SV_OK)
        sv_dag_data_free(&x);
    return rc;
}

static int nt_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                  const sv_monitor *mon, json_t **result, sv_err *e)
{
    sv_dag_source d;
    notears_settings s;
    sv_dag_data x;
    double *W = NULL;
    int rc;
    *result = NULL;
    if ((rc = sv_dag_json_read(nt_forms, problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK || (rc = sv_dag_json_build(&d, env, &x, e)) != SV_OK)
        return rc;
    if (!(W = malloc((size_t)x.d * x.d * sizeof *W)))
        rc = SV_ENOMEM;
    notears_info info;
    if (rc == SV_OK) {
        notears_problem p = {x.n, x.d, x.X, x.T};
        rc = notears_solve(&p, &s, mon, W, NULL, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *Wj = sv_json_from_dense(W, x.d, x.d);
        json_t *Tj = d.form == SV_DAG_FORM_GENERATE ? sv_json_from_dense(x.T, x.d, x.d) : NULL;
        if (!r || !Wj || (d.form == SV_DAG_FORM_GENERATE && !Tj)) {
            json_decref(r);
            json_decref(Wj);
            json_decref(Tj);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "score", sv_codec_real(info.score));
            json_object_set_new(r, "score_raw", sv_codec_real(info.score_raw));
            json_object_set_new(r, "h", sv_codec_real(info.h));
            json_object_set_new(r, "h_returned", sv_codec_real(info.h_returned));
            json_object_set_new(r, "acyclic", json_boolean(info.acyclic));
            json_object_set_new(r, "edges", json_integer(info.edges));
            if (info.has_accuracy)
                sv_dag_json_put_accuracy(r, &info.accuracy);
            json_object_set_new(r, "dual_iterations", json_integer(info.dual_iter));
            json_object_set_new(r, "subproblems", json_integer(info.subproblems));
            json_object_set_new(r, "function_evals", json_integer(info.fevals));
            json_object_set_new(r, "rho", sv_codec_real(info.rho));
            json_object_set_new(r, "alpha", sv_codec_real(info.alpha));
            json_object_set_new(r, "n", json_integer(x.n));
            json_object_set_new(r, "d", json_integer(x.d));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "W", Wj);
            if (Tj)
                json_object_set_new(r, "W_true", Tj);
            *result = r;
        }
    }
    free(W);
    sv_dag_data_free(&x);
    return rc;
}

const sv_codec sv_codec_notears = {
    .name = "dag.notears",
    .family = "dag",
    .summary = "NOTEARS: a DAG's weighted adjacency learnt from data by least squares with an l1 "
               "penalty under the smooth acyclicity constraint tr(exp(W o W)) = d, by an "
               "augmented Lagrangian with L-BFGS subproblems",
    .paper = "Zheng, Aragam, Ravikumar, Xing: DAGs with NO TEARS: Continuous Optimization for "
             "Structure Learning, NeurIPS 2018",
    .doc = "docs/solvers/dag/notears.md",
    .params = notears_params,
    .settings_size = sizeof(notears_settings),
    .settings_default = nt_defaults,
    .problem_schema = nt_problem_schema,
    .example = nt_example,
    .validate = nt_validate,
    .run = nt_run,
};
