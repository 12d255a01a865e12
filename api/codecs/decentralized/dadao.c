/* dadao.c - the decentralized.dadao codec: agents (explicit clients or a generated heterogeneous
 * instance) on a graph (a generated topology or an explicit edge list), params into dadao_solve,
 * and its outcome back into JSON. The doc page is docs/solvers/decentralized/dadao.md. */
#include <stdlib.h>
#include <string.h>

#include "api/agents_json.h"
#include "api/codec.h"
#include "api/codec_util.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/decentralized/dadao.h"

static int read_settings(const json_t *params, dadao_settings *s, sv_err *e)
{
    dadao_settings_default(s);
    int rc = sv_params_decode(dadao_params, params, s, e);
    return rc != SV_OK ? rc : dadao_check_settings(s, e);
}

/* Why gossip needs a connected graph: the end of the 4xx naming a disconnected one. */
static const char why_connected[] = "gossip could never reach some of them";

/* The agent count against the dense spectrum's limit, at the member that sets it. */
static int check_agents(const sv_agents_desc *d, sv_err *e)
{
    if (d->n <= DADAO_MAX_AGENTS)
        return SV_OK;
    return sv_fail(e, d->form == SV_AGENTS_GENERATE ? "/problem/generate/clients"
                                                    : "/problem/clients",
                   "%d agents: at most %d (the Laplacian's spectrum is a dense "
                   "eigendecomposition)", d->n, DADAO_MAX_AGENTS);
}

/* ---- the codec ---- */

static void dadao_defaults(void *s)
{
    dadao_settings_default(s);
}

static json_t *dadao_problem_schema(void)
{
    return sv_agents_json_schema("f(x) = (1/n) sum_i f_i(x) over n agents on a connected graph, "
                                 "each f_i a least-squares or logistic model with ridge "
                                 "(strongly convex: lambda > 0 or full-rank data); exactly one "
                                 "of clients, generate");
}

static json_t *dadao_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:f, s:i, s:f}, s:{s:s}},"
                     " s:{s:f, s:i, s:i}}",
                     "problem", "generate", "clients", 16, "rows_per_client", 20, "dim", 10,
                     "loss", "squared", "heterogeneity", 0.5, "seed", 1, "lambda", 0.1, "graph",
                     "topology", "grid", "params", "tol", 1e-6, "seed", 1, "report_every", 2000);
}

static int dadao_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                          sv_err *e)
{
    sv_agents_desc d;
    dadao_settings s;
    int rc;
    if ((rc = sv_agents_json_read(problem, env, &d, e)) != SV_OK ||
        (rc = check_agents(&d, e)) != SV_OK || (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    return sv_agents_json_check_graph(&d, why_connected, e);
}

static int dadao_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                     const sv_monitor *mon, json_t **result, sv_err *e)
{
    sv_agents_desc d;
    dadao_settings s;
    sv_glm_clients c;
    sv_graph g;
    double *x = NULL;
    int rc;
    memset(&c, 0, sizeof c);
    memset(&g, 0, sizeof g);
    *result = NULL;
    if ((rc = sv_agents_json_read(problem, env, &d, e)) != SV_OK ||
        (rc = check_agents(&d, e)) != SV_OK || (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = sv_agents_json_graph(&d, why_connected, &g, e)) != SV_OK)
        return rc;
    rc = sv_agents_json_start(&d, env, &x, e);
    if (rc == SV_OK)
        rc = sv_agents_json_clients(&d, env, &c, e);
    dadao_info info;
    if (rc == SV_OK) {
        dadao_problem p = {&g, c.glm};
        rc = dadao_solve(&p, &s, mon, x, NULL, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *xs = sv_json_from_vector(x, d.dim);
        if (!r || !xs) {
            json_decref(r);
            json_decref(xs);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "grad_norm", sv_codec_real(info.grad_norm));
            json_object_set_new(r, "consensus", sv_codec_real(info.consensus));
            json_object_set_new(r, "time", sv_codec_real(info.time));
            json_object_set_new(r, "gradient_evals", json_integer(info.gradient_evals));
            json_object_set_new(r, "communications", json_integer(info.communications));
            json_object_set_new(r, "chi_1", sv_codec_real(info.chi_1));
            json_object_set_new(r, "chi_2", sv_codec_real(info.chi_2));
            json_object_set_new(r, "lambda_2", sv_codec_real(info.lambda_2));
            json_object_set_new(r, "comm_rate", sv_codec_real(info.comm_rate));
            json_object_set_new(r, "mu", sv_codec_real(info.mu));
            json_object_set_new(r, "smoothness", sv_codec_real(info.smooth));
            json_object_set_new(r, "agents", json_integer(d.n));
            json_object_set_new(r, "edges", json_integer(g.n_edges));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", xs);
            *result = r;
        }
    }
    sv_glm_clients_free(&c);
    sv_graph_free(&g);
    free(x);
    return rc;
}

const sv_codec sv_codec_dadao = {
    .name = "decentralized.dadao",
    .family = "decentralized",
    .summary = "DADAO: agents on a graph take local gradient steps and gossip with neighbours at "
               "the events of independent Poisson clocks, an accelerated primal method simulated "
               "exactly in continuous time",
    .paper = "Nabli, Oyallon: DADAO: Decoupled Accelerated Decentralized Asynchronous "
             "Optimization, ICML 2023",
    .doc = "docs/solvers/decentralized/dadao.md",
    .params = dadao_params,
    .settings_size = sizeof(dadao_settings),
    .settings_default = dadao_defaults,
    .problem_schema = dadao_problem_schema,
    .example = dadao_example,
    .validate = dadao_validate,
    .run = dadao_run,
};
