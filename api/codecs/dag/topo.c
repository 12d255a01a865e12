/* topo.c - the dag.topo codec: data (a matrix X, optionally the true graph) or a generated linear
 * Gaussian SEM (core/models/dag.h), each with an optional first solution ("init": an order, or a
 * weighted W to post-process, e.g. a dag.notears result), params into topo_solve, and W(pi), the
 * order, the score and, against a true graph, the accuracy back into JSON. The doc page is
 * docs/solvers/dag/topo.md. */
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/codecs/dag/dag_json.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/models/dag.h"
#include "core/solvers/dag/topo.h"


static const char *const data_members[] = {"data", "true_graph", "init", NULL};
static const char *const generate_members[] = {"generate", "init", NULL};
static const char *const init_members[] = {"order", "W", NULL};

#define TP_INIT_SCHEMA                                                                        \
    "\"init\": {\"type\": \"object\", \"description\": \"the first solution (optional; "         \
    "default a random order from params.seed): {order: a permutation of 0..d-1, sources "     \
    "first} or {W: a d x d weighted adjacency to post-process, e.g. a dag.notears W; a cyclic "\
    "one loses its weakest edges until it is a DAG}\", \"properties\": {\"order\": {\"type\": " \
    "\"array\", \"items\": {\"type\": \"integer\"}}, \"W\": {}}, \"additionalProperties\": false}"

static const sv_problem_form tp_forms[] = {
    {.key = "data", .members = data_members,
     .summary = "observed data: X of n samples (rows) x d variables (columns), and optionally "
                "the true graph to measure the estimate against",
     .properties =
         "{\"data\": {\"description\": \"X, n x d (nested arrays, {rows,cols,data} row-major, "
         "CSR or COO); d <= 500\"}, \"true_graph\": {\"description\": \"d x d adjacency of the "
         "true DAG, entry (i, j) non-zero for an edge i -> j (weights allowed); gives shd, tpr, "
         "fdr, fpr in the result\"}, " TP_INIT_SCHEMA "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded linear Gaussian SEM on an Erdos-Renyi or scale-free DAG, weights "
                "uniform in [-2, -0.5] u [0.5, 2] (core/models/dag.h)",
     .fields = sv_dag_gen_params, .fields_size = sizeof(sv_dag_gen_spec),
     .properties = "{" TP_INIT_SCHEMA "}"},
    SV_FORMS_END,
};

typedef struct {
    sv_dag_source src;                  /* data or generate */
    const json_t *init_order, *init_W;  /* members of "init", or NULL */
} tp_desc;

/* "init": an object with exactly one of order, W (their contents are read once d is known). */
static int read_init(const json_t *problem, tp_desc *d, sv_err *e)
{
    json_t *init;
    int rc;
    if ((rc = sv_json_optional(problem, "/problem", "init", &init, e)) != SV_OK || !init)
        return rc;
    if ((rc = sv_json_object(init, "/problem/init", e)) != SV_OK ||
        (rc = sv_json_no_unknown(init, "/problem/init", init_members, e)) != SV_OK)
        return rc;
    json_t *o, *w;
    sv_json_optional(init, "/problem/init", "order", &o, e);
    sv_json_optional(init, "/problem/init", "W", &w, e);
    if (!o == !w)
        return sv_fail(e, "/problem/init", o ? "give only one of order and W"
                                              : "needs one of order or W");
    d->init_order = o;
    d->init_W = w;
    return SV_OK;
}

static int read_problem(const json_t *problem, const sv_codec_env *env, tp_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int rc = sv_dag_json_read(tp_forms, problem, env, &d->src, e);
    return rc != SV_OK ? rc : read_init(problem, d, e);
}

static int read_settings(const json_t *params, topo_settings *s, sv_err *e)
{
    topo_settings_default(s);
    int rc = sv_params_decode(topo_params, params, s, e);
    return rc != SV_OK ? rc : topo_check_settings(s, e);
}

typedef struct {
    int n, d;
    double *X, *T;  /* n x d, d x d (or NULL) */
    int *order;     /* d (or NULL) */
    double *W0;     /* d x d (or NULL) */
} tp_data;

static void data_free(tp_data *x)
{
    free(x->X);
    free(x->T);
    free(x->order);
    free(x->W0);
    memset(x, 0, sizeof *x);
}

/* The first order at v: a permutation of 0..d-1. */
static int order_at(const json_t *v, int d, const sv_codec_env *env, int **out, sv_err *e)
{
    int n, rc = sv_json_int_vector(v, "/problem/init/order", d, 0, d - 1, env, out, &n, e);
    if (rc != SV_OK)
        return rc;
    for (int a = 0; a < n; a++)
        for (int b = 0; b < a; b++)
            if ((*out)[a] == (*out)[b]) {
                rc = sv_fail(e, "/problem/init/order", "node %d appears twice (at %d and %d): "
                             "not a permutation", (*out)[a], b, a);
                free(*out);
                *out = NULL;
                return rc;
            }
    return SV_OK;
}

/* Builds X (and the true graph, the first solution) of the problem. */
static int build(const tp_desc *d, const sv_codec_env *env, tp_data *x, sv_err *e)
{
    memset(x, 0, sizeof *x);
    int r, c;
    sv_dag_data b;
    int rc = sv_dag_json_build(&d->src, env, &b, e);
    x->n = b.n;
    x->d = b.d;
    x->X = b.X;
    x->T = b.T;
    if (rc == SV_OK && d->init_order)
        rc = order_at(d->init_order, x->d, env, &x->order, e);
    if (rc == SV_OK && d->init_W)
        rc = sv_dag_json_dense(d->init_W, "/problem/init/W", x->d, x->d, env, &x->W0, &r, &c, e);
    if (rc != SV_OK)
        data_free(x);
    return rc;
}

/* ---- the codec ---- */

static void tp_defaults(void *s)
{
    topo_settings_default(s);
}

static json_t *tp_problem_schema(void)
{
    json_t *schema = sv_forms_schema(tp_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("a DAG to learn from data X (n x d): min over topological "
                                        "orders pi of 0.5/n |X - X W(pi)|^2, W(pi) the least "
                                        "squares fit of each node on its predecessors; exactly "
                                        "one of data, generate, optionally a first solution "
                                        "(init)"));
    return schema;
}

static json_t *tp_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:s, s:i, s:i}}, s:{s:i, s:i}}", "problem", "generate",
                     "d", 20, "n", 1000, "graph", "er", "edges_per_node", 2, "seed", 2,
                     "params", "seed", 1, "report_every", 10);
}

static int tp_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                       sv_err *e)
{
    tp_desc d;
    topo_settings s;
    int rc;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    if (d.src.form == SV_DAG_FORM_GENERATE && !d.init_order && !d.init_W)
        return SV_OK;
    tp_data x;  /* the shapes are known only once read; the limits bound what is read */
    if ((rc = build(&d, env, &x, e)) == SV_OK)
        data_free(&x);
    return rc;
}

static int tp_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                  const sv_monitor *mon, json_t **result, sv_err *e)
{
    tp_desc d;
    topo_settings s;
    tp_data x;
    double *W = NULL;
    int *order = NULL;
    int rc;
    *result = NULL;
    if ((rc = read_problem(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK || (rc = build(&d, env, &x, e)) != SV_OK)
        return rc;
    W = malloc((size_t)x.d * x.d * sizeof *W);
    order = malloc((size_t)x.d * sizeof *order);
    if (!W || !order)
        rc = SV_ENOMEM;
    topo_info info;
    if (rc == SV_OK) {
        topo_problem p = {x.n, x.d, x.X, x.T, x.order, x.W0};
        rc = topo_solve(&p, &s, mon, W, NULL, order, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *Wj = sv_json_from_dense(W, x.d, x.d);
        json_t *Oj = sv_json_from_int_vector(order, x.d);
        json_t *Tj = d.src.form == SV_DAG_FORM_GENERATE ? sv_json_from_dense(x.T, x.d, x.d) : NULL;
        if (!r || !Wj || !Oj || (d.src.form == SV_DAG_FORM_GENERATE && !Tj)) {
            json_decref(r);
            json_decref(Wj);
            json_decref(Oj);
            json_decref(Tj);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "score", sv_codec_real(info.score));
            json_object_set_new(r, "score_init", sv_codec_real(info.score_init));
            json_object_set_new(r, "score_thresholded", sv_codec_real(info.score_thresholded));
            json_object_set_new(r, "edges", json_integer(info.edges));
            if (info.has_accuracy)
                sv_dag_json_put_accuracy(r, &info.accuracy);
            json_object_set_new(r, "rounds", json_integer(info.rounds));
            json_object_set_new(r, "swaps_tried", json_integer(info.swaps_tried));
            json_object_set_new(r, "swaps_accepted", json_integer(info.swaps_accepted));
            json_object_set_new(r, "large_searches", json_integer(info.large_used));
            if (x.W0)
                json_object_set_new(r, "init_edges_dropped",
                                    json_integer(info.init_threshold_edges));
            json_object_set_new(r, "n", json_integer(x.n));
            json_object_set_new(r, "d", json_integer(x.d));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "order", Oj);
            json_object_set_new(r, "W", Wj);
            if (Tj)
                json_object_set_new(r, "W_true", Tj);
            *result = r;
        }
    }
    free(W);
    free(order);
    data_free(&x);
    return rc;
}

const sv_codec sv_codec_topo = {
    .name = "dag.topo",
    .family = "dag",
    .summary = "TOPO: the NOTEARS least-squares score minimised over topological orders by "
               "swapping node pairs from a search set ranked by the gradient of the acyclicity "
               "function, each order solved by per-node least squares; from a random order, a "
               "given order or another solver's W (post-processing)",
    .paper = "Deng, Bello, Aragam, Ravikumar: Optimizing NOTEARS Objectives via Topological "
             "Swaps, ICML 2023",
    .doc = "docs/solvers/dag/topo.md",
    .params = topo_params,
    .settings_size = sizeof(topo_settings),
    .settings_default = tp_defaults,
    .problem_schema = tp_problem_schema,
    .example = tp_example,
    .validate = tp_validate,
    .run = tp_run,
};
