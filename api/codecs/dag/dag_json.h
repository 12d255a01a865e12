/* dag_json.h - what the dag family's codecs share: a data or graph matrix read as a dense
 * row-major copy within the family's size limit, and the accuracy of an estimate against a true
 * graph as result members. */
#ifndef SV_DAG_JSON_H
#define SV_DAG_JSON_H

#include <jansson.h>
#include "api/codec.h"
#include "core/models/dag.h"

/* The matrix at v (any matrix form of api/jsonval.h) as a malloc'd dense row-major copy *out
 * of *r x *c; rows / cols (-1: any) fix the shape; more than SV_DAG_MAX_NODES columns is
 * SV_EINVAL at path. */
int sv_dag_json_dense(const json_t *v, const char *path, long rows, long cols,
                      const sv_codec_env *env, double **out, int *r, int *c, sv_err *e);

/* shd, tpr, fdr, fpr and the edge counts of a into the result object r. */
void sv_dag_json_put_accuracy(json_t *r, const sv_dag_accuracy *a);

#endif
