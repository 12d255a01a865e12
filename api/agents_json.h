/* agents_json.h - the problem of n agents on a graph, shared by the distributed and
 * decentralized families: each agent a least-squares or logistic model with ridge (explicit
 * "clients" or a seeded heterogeneous "generate" instance), the graph they talk over (a
 * generated "graph" topology or an explicit "edges" list) and an optional "x0". Reading checks
 * every member against the codec env's limits without allocating problem data; building makes
 * the clients and the graph, refusing a disconnected one with a 4xx. */
#ifndef SV_AGENTS_JSON_H
#define SV_AGENTS_JSON_H

#include <jansson.h>
#include "api/codec.h"
#include "api/codecs/distributed/clients_json.h"
#include "api/forms.h"
#include "core/models/gen_glm.h"
#include "core/models/graph.h"

typedef enum { SV_AGENTS_CLIENTS = 0, SV_AGENTS_GENERATE = 1 } sv_agents_form;

/* The forms, in sv_agents_form order: what sv_forms_pick chooses between. */
extern const sv_problem_form sv_agents_forms[];

typedef struct {
    sv_agents_form form;
    int n, dim;               /* agents, model dimension */
    sv_clients_desc clients;  /* SV_AGENTS_CLIENTS */
    sv_gen_glm_spec gen;      /* SV_AGENTS_GENERATE */
    sv_graph_spec graph;      /* when edges is NULL (default a ring) */
    const json_t *edges;      /* the validated edge list (borrowed), or NULL */
    const json_t *x0;         /* the validated starting point (borrowed), or NULL: zeros */
} sv_agents_desc;

/* Reads problem into d (no allocation of problem data). Errors name the member's JSON path
 * ("/problem/generate/clients", "/problem/edges/3/1", ...). SV_OK or SV_EINVAL. */
int sv_agents_json_read(const json_t *problem, const sv_codec_env *env, sv_agents_desc *d,
                        sv_err *e);

/* The connectivity check a validation can afford where the request is read: only the graphs
 * whose connectivity is in question (explicit edges, Erdos-Renyi draws) are built and freed;
 * ring, grid, star and complete graphs are connected by construction. why ends the message
 * ("the token could never reach some of them"). SV_OK, SV_EINVAL or SV_ENOMEM. */
int sv_agents_json_check_graph(const sv_agents_desc *d, const char *why, sv_err *e);

/* Builds d's connected graph into g (freed by sv_graph_free; empty on failure). */
int sv_agents_json_graph(const sv_agents_desc *d, const char *why, sv_graph *g, sv_err *e);

/* Builds d's agents into c (freed by sv_glm_clients_free; empty on failure). */
int sv_agents_json_clients(const sv_agents_desc *d, const sv_codec_env *env, sv_glm_clients *c,
                           sv_err *e);

/* d's starting point into *x (malloc'd, d->dim entries): x0 when given, else zeros.
 * SV_OK, SV_EINVAL (x0 at /problem/x0) or SV_ENOMEM. */
int sv_agents_json_start(const sv_agents_desc *d, const sv_codec_env *env, double **x,
                         sv_err *e);

/* The problem schema of the forms with description set. New reference, NULL when out of
 * memory. */
json_t *sv_agents_json_schema(const char *description);

#endif
