/* dag_json.c - the dag family's shared JSON pieces. */
#include "api/codecs/dag/dag_json.h"

#include <string.h>
#include "api/jsonval.h"

int sv_dag_json_dense(const json_t *v, const char *path, long rows, long cols,
                      const sv_codec_env *env, double **out, int *r, int *c, sv_err *e)
{
    sv_mat m;
    memset(&m, 0, sizeof m);
    int rc = sv_json_matrix(v, path, rows, cols, env, &m, e);
    if (rc != SV_OK)
        return rc;
    if (m.cols > SV_DAG_MAX_NODES) {
        rc = sv_fail(e, path, "%d variables exceed the limit of %d", m.cols, SV_DAG_MAX_NODES);
    } else {
        sv_dense D;
        memset(&D, 0, sizeof D);
        rc = sv_mat_to_dense(&m, &D);
        if (rc == SV_OK) {
            *out = D.data;
            *r = D.rows;
            *c = D.cols;
        }
    }
    sv_mat_free(&m);
    return rc;
}

void sv_dag_json_put_accuracy(json_t *r, const sv_dag_accuracy *a)
{
    json_object_set_new(r, "shd", json_integer(a->shd));
    json_object_set_new(r, "tpr", json_real(a->tpr));
    json_object_set_new(r, "fdr", json_real(a->fdr));
    json_object_set_new(r, "fpr", json_real(a->fpr));
    json_object_set_new(r, "true_edges", json_integer(a->true_edges));
    json_object_set_new(r, "true_positives", json_integer(a->true_pos));
    json_object_set_new(r, "reversed", json_integer(a->reversed));
    json_object_set_new(r, "false_positives", json_integer(a->false_pos));
    json_object_set_new(r, "extra", json_integer(a->extra));
    json_object_set_new(r, "missing", json_integer(a->missing));
}
