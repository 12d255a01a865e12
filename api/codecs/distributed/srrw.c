/* srrw.c - the distributed.srrw codec: agents (explicit clients or a generated heterogeneous
 * instance) on a graph (a generated topology or an explicit edge list), params into srrw_solve,
 * and its outcome back into JSON. The doc page is docs/solvers/distributed/srrw.md. */
#include <stdlib.h>
#include <string.h>

#include "api/agents_json.h"
#include "api/codec.h"
#include "api/codec_util.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/distributed/srrw.h"

static int read_settings(const json_t *params, srrw_settings *s, sv_err *e)
{
    srrw_settings_default(s);
    int rc = sv_params_decode(srrw_params, params, s, e);
    return rc != SV_OK ? rc : srrw_check_settings(s, e);
}

/* Why a walk needs a connected graph: the end of the 4xx naming a disconnected one. */
static const char why_connected[] = "the token could never reach some of them";

/* ---- the codec ---- */

static void srrw_defaults(void *s)
{
    srrw_settings_default(s);
}

static json_t *srrw_problem_schema(void)
{
    return sv_agents_json_schema("f(theta) = (1/n) sum_i f_i(theta) over n agents on a "
                                 "connected graph, each f_i a least-squares or logistic model "
                                 "with ridge; exactly one of clients, generate");
}

static json_t *srrw_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:i, s:s, s:f, s:i, s:f}, s:{s:s}},"
                     " s:{s:f, s:f, s:i, s:i}}",
                     "problem", "generate", "clients", 64, "rows_per_client", 50, "dim", 20,
                     "loss", "squared", "heterogeneity", 0.5, "seed", 1, "lambda", 0.1, "graph",
                     "topology", "grid", "params", "alpha", 5.0, "tol", 1e-4, "seed", 1,
                     "report_every", 1000);
}

static int srrw_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                         sv_err *e)
{
    sv_agents_desc d;
    srrw_settings s;
    int rc;
    if ((rc = sv_agents_json_read(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK)
        return rc;
    return sv_agents_json_check_graph(&d, why_connected, e);
}

static int srrw_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    const sv_monitor *mon, json_t **result, sv_err *e)
{
    sv_agents_desc d;
    srrw_settings s;
    sv_glm_clients c;
    sv_graph g;
    double *theta = NULL, *visits = NULL;
    int rc;
    memset(&c, 0, sizeof c);
    memset(&g, 0, sizeof g);
    *result = NULL;
    if ((rc = sv_agents_json_read(problem, env, &d, e)) != SV_OK ||
        (rc = read_settings(params, &s, e)) != SV_OK ||
        (rc = sv_agents_json_graph(&d, why_connected, &g, e)) != SV_OK)
        return rc;
    rc = sv_agents_json_start(&d, env, &theta, e);
    if (rc == SV_OK && !(visits = calloc((size_t)d.n, sizeof *visits)))
        rc = SV_ENOMEM;
    if (rc == SV_OK)
        rc = sv_agents_json_clients(&d, env, &c, e);
    srrw_info info;
    if (rc == SV_OK) {
        srrw_problem p = {&g, c.glm};
        rc = srrw_solve(&p, &s, mon, theta, visits, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *xs = sv_json_from_vector(theta, d.dim);
        json_t *vs = sv_json_from_vector(visits, d.n);
        if (!r || !xs || !vs) {
            json_decref(r);
            json_decref(xs);
            json_decref(vs);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "grad_norm", sv_codec_real(info.grad_norm));
            json_object_set_new(r, "visits_tv", sv_codec_real(info.visits_tv));
            json_object_set_new(r, "step0", sv_codec_real(info.step0));
            json_object_set_new(r, "gradient_evals", json_integer(info.gradient_evals));
            json_object_set_new(r, "agents", json_integer(d.n));
            json_object_set_new(r, "edges", json_integer(g.n_edges));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "x", xs);
            json_object_set_new(r, "visits", vs);
            *result = r;
        }
    }
    sv_glm_clients_free(&c);
    sv_graph_free(&g);
    free(theta);
    free(visits);
    return rc;
}

const sv_codec sv_codec_srrw = {
    .name = "distributed.srrw",
    .family = "distributed",
    .summary = "SA-SRRW: a token on a graph of agents steps along their local gradients, walking "
               "by a self-repellent random walk that avoids over-visited agents",
    .paper = "Hu, Doshi, Eun: Accelerating Distributed Stochastic Optimization via "
             "Self-Repellent Random Walks, ICLR 2024",
    .doc = "docs/solvers/distributed/srrw.md",
    .params = srrw_params,
    .settings_size = sizeof(srrw_settings),
    .settings_default = srrw_defaults,
    .problem_schema = srrw_problem_schema,
    .example = srrw_example,
    .validate = srrw_validate,
    .run = srrw_run,
};
