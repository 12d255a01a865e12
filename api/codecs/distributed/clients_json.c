/* clients_json.c - explicit clients of the distributed codecs (clients_json.h). */
#include "api/codecs/distributed/clients_json.h"

#include <limits.h>
#include <string.h>
#include "api/glm_json.h"
#include "api/jsonval.h"

int sv_clients_json_read(const json_t *problem, const sv_codec_env *env, sv_clients_desc *d,
                         sv_err *e)
{
    int rc;
    memset(d, 0, sizeof *d);
    if ((rc = sv_glm_json_loss(problem, "/problem", SV_LOSS_SQUARED, &d->loss, e)) != SV_OK ||
        (rc = sv_glm_json_lambda(problem, "/problem", &d->lambda, e)) != SV_OK)
        return rc;
    const json_t *arr = json_object_get(problem, "clients");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return sv_fail(e, "/problem/clients", "expected a non-empty array of clients, got %s",
                       sv_json_kind(arr));
    size_t n = json_array_size(arr);
    long max_clients = env && env->max_dim > 0 ? env->max_dim : INT_MAX;
    if (n > (size_t)max_clients)
        return sv_fail(e, "/problem/clients", "too many clients: %zu, the limit is %ld", n,
                       max_clients);
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    long total = 0, dim = -1;
    char path[96], sub[96];
    for (size_t i = 0; i < n; i++) {
        static const char *const allowed[] = {"A", "b", NULL};
        const json_t *c = json_array_get(arr, i);
        json_t *A, *b;
        sv_json_path_index(path, sizeof path, "/problem/clients", (long)i);
        if ((rc = sv_json_no_unknown(c, path, allowed, e)) != SV_OK ||
            (rc = sv_json_require(c, path, "A", &A, e)) != SV_OK ||
            (rc = sv_json_require(c, path, "b", &b, e)) != SV_OK)
            return rc;
        sv_json_path_key(sub, sizeof sub, path, "A");
        if ((rc = sv_json_matrix(A, sub, -1, -1, env, NULL, e)) != SV_OK)
            return rc;
        long rows, cols, stored;
        sv_glm_json_matrix_shape(A, &rows, &cols, &stored);
        if (dim >= 0 && cols != dim)
            return sv_fail(e, sub, "has %ld columns, client 0 has %ld: every client needs the "
                           "same dimension", cols, dim);
        dim = cols;
        total += stored;
        if (total > max_entries)
            return sv_fail(e, sub, "the clients hold more than the limit of %ld matrix entries",
                           max_entries);
        sv_json_path_key(sub, sizeof sub, path, "b");
        if ((rc = sv_json_vector(b, sub, rows, env, NULL, NULL, e)) != SV_OK)
            return rc;
        if (d->loss == SV_LOSS_LOGISTIC && (rc = sv_glm_json_labels(b, sub, e)) != SV_OK)
            return rc;
    }
    d->clients = arr;
    d->n_clients = (int)n;
    d->dim = (int)dim;
    return SV_OK;
}

int sv_clients_json_build(const sv_clients_desc *d, const sv_codec_env *env, sv_glm_clients *c,
                          sv_err *e)
{
    int rc;
    size_t n = json_array_size(d->clients);
    if ((rc = sv_glm_clients_alloc(c, (int)n, d->dim)) != SV_OK)
        return rc;
    char path[96], sub[96];
    for (size_t i = 0; i < n; i++) {
        const json_t *ci = json_array_get(d->clients, i);
        sv_json_path_index(path, sizeof path, "/problem/clients", (long)i);
        sv_json_path_key(sub, sizeof sub, path, "A");
        if ((rc = sv_json_matrix(json_object_get(ci, "A"), sub, -1, d->dim, env, &c->A[i], e)) !=
            SV_OK)
            break;
        sv_json_path_key(sub, sizeof sub, path, "b");
        if ((rc = sv_json_vector(json_object_get(ci, "b"), sub, c->A[i].rows, env, &c->b[i], NULL,
                                 e)) != SV_OK)
            break;
    }
    if (rc != SV_OK) {
        sv_glm_clients_free(c);
        return rc;
    }
    sv_glm_clients_bind(c, d->loss, d->lambda);
    return SV_OK;
}

