/* clients_json.h - the distributed family's shared reader of explicit clients: a problem's
 * "clients" array (each {"A": matrix, "b": targets}, every A with the same columns) with its
 * "loss" and "lambda", checked against the codec env's limits before anything is allocated,
 * then built into an sv_glm_clients container. Errors name "/problem/clients/<i>/A" etc. */
#ifndef SV_CLIENTS_JSON_H
#define SV_CLIENTS_JSON_H

#include <jansson.h>
#include "api/codec.h"
#include "core/models/gen_glm.h"

/* The clients form of problem, read but not built. */
typedef struct {
    const json_t *clients;  /* the validated array (borrowed from the problem) */
    int n_clients;
    int dim;
    sv_loss loss;           /* "loss", default squared */
    double lambda;          /* "lambda", default 0 */
} sv_clients_desc;

/* Validates problem's clients, loss and lambda into d (no allocation). SV_OK or SV_EINVAL. */
int sv_clients_json_read(const json_t *problem, const sv_codec_env *env, sv_clients_desc *d,
                         sv_err *e);

/* Builds the clients d describes into c (the caller frees it with sv_glm_clients_free). SV_OK,
 * SV_EINVAL or SV_ENOMEM (c is then empty). */
int sv_clients_json_build(const sv_clients_desc *d, const sv_codec_env *env, sv_glm_clients *c,
                          sv_err *e);

#endif
