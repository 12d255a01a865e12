/* mdp_json.h - the tabular MDP of a problem, shared by the mdp family's codecs: an explicit
 * model ("transitions", "rewards", optional "initial") or a seeded "generate" object
 * (core/models/mdp.h), each with "horizon" (episodic; 0 or absent: discounted) and "gamma".
 * Reading checks everything (shapes, distributions, limits) without allocating problem data;
 * building fills an sv_mdp.
 *
 * A codec whose problem has members of its own (a list of models, a baseline policy) builds its
 * forms table from the member and property macros below and passes the chosen form to
 * sv_mdp_json_read; the others use sv_mdp_json_forms as it is.
 *
 * JSON shapes:
 *   transitions[s][a]  P(. | s, a): an array of S probabilities, or sparse
 *                      {"next": [t, ...], "prob": [p, ...]} (repeated t are summed);
 *   rewards[s][a]      r(s, a);
 *   initial            S probabilities (default: state 0). */
#ifndef SV_MDP_JSON_H
#define SV_MDP_JSON_H

#include <jansson.h>
#include "api/codec.h"
#include "api/forms.h"
#include "core/models/mdp.h"

typedef enum { SV_MDP_JSON_EXPLICIT = 0, SV_MDP_JSON_GENERATE = 1 } sv_mdp_json_form;

/* Which forms of the return a solver handles. */
typedef enum {
    SV_MDP_EITHER = 0,      /* episodic or discounted */
    SV_MDP_EPISODIC = 1,    /* horizon >= 1 required */
    SV_MDP_DISCOUNTED = 2   /* horizon must be absent or 0 */
} sv_mdp_json_need;

/* The members of each form (put them first in a codec's own member lists). */
#define SV_MDP_JSON_EXPLICIT_MEMBERS "transitions", "rewards", "initial", "horizon", "gamma"
#define SV_MDP_JSON_GENERATE_MEMBERS "generate", "horizon", "gamma"

/* Schema text of the members, "name": {schema} pairs without the enclosing braces. */
#define SV_MDP_JSON_COMMON_PROPERTIES                                                          \
    "\"horizon\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0, \"description\":"    \
    " \"episode length H (time-homogeneous transitions); 0: discounted, infinite horizon\"},"  \
    " \"gamma\": {\"type\": \"number\", \"minimum\": 0, \"exclusiveMaximum\": 1, \"default\":" \
    " 0.95, \"description\": \"discount factor of the infinite-horizon form\"}"
#define SV_MDP_JSON_EXPLICIT_PROPERTIES                                                        \
    "\"transitions\": {\"type\": \"array\", \"description\": \"transitions[s][a]: P(. | s, a)," \
    " an array of S probabilities or {next: [t...], prob: [p...]}\", \"items\": {\"type\":"    \
    " \"array\", \"items\": {\"type\": [\"array\", \"object\"]}}},"                            \
    " \"rewards\": {\"type\": \"array\", \"description\": \"rewards[s][a]: expected reward\","  \
    " \"items\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}}},"                    \
    " \"initial\": {\"type\": \"array\", \"items\": {\"type\": \"number\", \"minimum\": 0},"    \
    " \"description\": \"initial state distribution (default: state 0)\"}, "                  \
    SV_MDP_JSON_COMMON_PROPERTIES

/* The two forms with no members of a codec's own. */
extern const sv_problem_form sv_mdp_json_forms[];

typedef struct {
    sv_mdp_json_form form;
    int S, A, H;
    double gamma;
    sv_mdp_gen_spec gen;      /* SV_MDP_JSON_GENERATE */
    const json_t *problem;    /* borrowed: the validated problem (explicit data) */
} sv_mdp_desc;

/* Reads the model of the given form of problem into d (the caller has picked the form with
 * sv_forms_pick, which also checked the member names). Every value is checked: shapes, sizes
 * against env and SV_MDP_MAX_ENTRIES, distributions (errors name "/problem/transitions/s/a",
 * ...), horizon and gamma against need. No problem data is allocated. SV_OK or SV_EINVAL. */
int sv_mdp_json_read(const json_t *problem, sv_mdp_json_form form, sv_mdp_json_need need,
                     const sv_codec_env *env, sv_mdp_desc *d, sv_err *e);

/* Builds d's model into m (sv_mdp_free it). SV_OK, SV_EINVAL or SV_ENOMEM (m is empty). */
int sv_mdp_json_build(const sv_mdp_desc *d, sv_mdp *m, sv_err *e);

/* Reads a transition tensor v of S x A rows at path into P (S * A * S, zeroed by the caller), or
 * only checks it when P is NULL: the reader of "transitions", for codecs that take several
 * models. Rows must be distributions within 1e-9. SV_OK or SV_EINVAL. */
int sv_mdp_json_transitions(const json_t *v, const char *path, int S, int A, double *P,
                            sv_err *e);

/* The model's description for a result: {"states", "actions", "horizon", "gamma"}. New
 * reference. */
json_t *sv_mdp_json_summary(const sv_mdp *m);

#endif
