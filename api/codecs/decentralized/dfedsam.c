/* dfedsam.c - the decentralized.dfedsam codec: agents (explicit clients or a generated
 * heterogeneous instance) on a graph (a generated topology or an explicit edge list), read by
 * api/agents_json.c; params into dfedsam_solve, and its outcome back into JSON. The doc page is
 * docs/solvers/decentralized/dfedsam.md. */
#include <stdlib.h>
#include <string.h>

#include "api/agents_json.h"
#include "api/codec.h"
#include "api/codec_util.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/decentralized/dfedsam.h"

static int read_settings(const json_t *params, dfedsam_settings *s, sv_err *e)
{
    dfedsam_settings_default(s);
    int rc = sv_params_decode(dfedsam_params, params, s, e);
    return rc != SV_OK ? rc : dfedsam_check_settings(s, e);
}

/* Why gossip needs a connected graph: the end of the 4xx naming a disconnected one. */
static const char why_connected[] = "gossip could never bring their models together";

static void dfedsam_defaults(void *s)
{
    dfedsam_settings_default(s);
}

static json_t *dfedsam_problem_schema(void)
{
    return sv_agents_json_schema("f(x) = (1/n) sum_i f_i(x) over n agents on a connected "
                                 "graph, each f_i a least-squares or logistic model with ridge "
                                 "on the agent's own data; exactly one of clients, generate");
}

static json_t *dfedsam_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:f, s:i, s:f}, s:{s:s}},"
                     " s:{s:i, s:i, s:f, s:f, s:i}}",
                     "problem", "generate", "clients", 36, "rows_per_client", 50, "dim", 20,
                     "loss", "squared", "heterogeneity", 0.5, "seed", 1, "lambda", 0.1, "graph",
                     "topology", "grid", "params", "local_steps", 5, "gossip_steps", 2, "rho",
                     0.05, "tol", 1e-3, "report_every", 10);
}

static int dfedsam_validate(const json_t *problem, const json_t *params,
                            const sv_codec_env *env, sv_err *e)
{
    sv_agents_desc d;
    dfedsam_settings s;
    int rc;
    if ((rc = sv_agents_json_read(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    return sv_agents_json_check_graph(&d, why_connected, e);
}

/* The agents' models, n arrays of d numbers. */
static json_t *models_json(const double *X, int n, int d)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        json_t *row = sv_json_from_vector(X + (size_t)i * (size_t)d, d);
        if (!row || json_array_append_new(a, row) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int dfedsam_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                       const sv_monitor *mon, json_t **result, sv_err *e)
{
    sv_agents_desc d;
    dfedsam_settings s;
    sv_glm_clients c;
    sv_graph g;
    double *x0 = NULL, *x = NULL, *models = NULL;
    int rc;
    memset(&c, 0, sizeof c);
    memset(&g, 0, sizeof g);
    *result = NULL;
    if ((rc = sv_agents_json_read(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = sv_agents_json_graph(&d, why_connected, &g, e)) != SV_OK)
        return rc;
    rc = sv_agents_json_start(&d, env, &x0, e);
    if (rc == SV_OK && (!(x = calloc((size_t)d.dim, sizeof *x)) ||
                        !(models = calloc((size_t)d.n * (size_t)d.dim, sizeof *models))))
        rc = SV_ENOMEM;
    if (rc == SV_OK)
        rc = sv_agents_json_clients(&d, env, &c, e);
    dfedsam_info info;
    if (rc == SV_OK) {
        dfedsam_problem p = {&g, c.glm};
        rc = dfedsam_solve(&p, &s, mon, x0, x, models, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *xs = sv_json_from_vector(x, d.dim);
        json_t *ms = models_json(models, d.n, d.dim);
        if (!r || !xs || !ms) {
            json_decref(r);
            json_decref(xs);
            json_decref(ms);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "grad_norm", sv_codec_real(info.grad_norm));
            json_object_set_new(r, "consensus_error", sv_codec_real(info.consensus_error));
            json_object_set_new(r, "spectral_gap", sv_codec_real(info.spectral_gap));
            json_object_set_new(r, "mixing_lambda", sv_codec_real(info.mixing_lambda));
            json_object_set_new(r, "lr0", sv_codec_real(info.lr0));
            json_object_set_new(r, "lr_last", sv_codec_real(info.lr_last));
            json_object_set_new(r, "gradient_evals", json_integer(info.gradient_evals));
            json_object_set_new(r, "communications", json_integer(info.communications));
            json_object_set_new(r, "agents", json_integer(d.n));
            json_object_set_new(r, "edges", json_integer(g.n_edges));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", xs);
            json_object_set_new(r, "models", ms);
            *result = r;
        }
    }
    sv_glm_clients_free(&c);
    sv_graph_free(&g);
    free(x0);
    free(x);
    free(models);
    return rc;
}

const sv_codec sv_codec_dfedsam = {
    .name = "decentralized.dfedsam",
    .family = "decentralized",
    .summary = "DFedSAM / DFedSAM-MGS: agents on a graph take local sharpness-aware steps on "
               "their own data, then average with their neighbours over Q gossip steps",
    .paper = "Shi, Shen, Wei, Sun, Yuan, Wang, Tao: Improving the Model Consistency of "
             "Decentralized Federated Learning, ICML 2023",
    .doc = "docs/solvers/decentralized/dfedsam.md",
    .params = dfedsam_params,
    .settings_size = sizeof(dfedsam_settings),
    .settings_default = dfedsam_defaults,
    .problem_schema = dfedsam_problem_schema,
    .example = dfedsam_example,
    .validate = dfedsam_validate,
    .run = dfedsam_run,
};
