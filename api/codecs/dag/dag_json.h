/* dag_json.h - what the dag family's codecs share: the data a DAG is learnt from (a "data"
 * matrix with an optional "true_graph", or a "generate" SEM) read and built, a matrix read as a
 * dense row-major copy within the family's size limit, and the accuracy of an estimate against
 * a true graph as result members. */
#ifndef SV_DAG_JSON_H
#define SV_DAG_JSON_H

#include <jansson.h>
#include "api/codec.h"
#include "api/forms.h"
#include "core/models/dag.h"

/* The two forms every dag codec has, at these indices of its form table. */
enum { SV_DAG_FORM_DATA = 0, SV_DAG_FORM_GENERATE = 1 };

/* What a problem says the data are, read but not built. */
typedef struct {
    int form;                        /* SV_DAG_FORM_* */
    const json_t *data, *truth;      /* data form: X and the optional true graph (borrowed) */
    sv_dag_gen_spec gen;             /* generate form */
} sv_dag_source;

/* The data built: X (n x d) and the true graph T (d x d, NULL when not given). */
typedef struct {
    int n, d;
    double *X, *T;
} sv_dag_data;

/* Picks the form of problem among forms (the codec's table, data and generate at the indices
 * above) and reads it into src: the generate spec decoded and checked against env's entry
 * limit, or the data members found. SV_OK or SV_EINVAL. */
int sv_dag_json_read(const sv_problem_form *forms, const json_t *problem,
                     const sv_codec_env *env, sv_dag_source *src, sv_err *e);

/* Builds src into x (generated, or read from JSON within the limits); x is empty on failure. */
int sv_dag_json_build(const sv_dag_source *src, const sv_codec_env *env, sv_dag_data *x,
                      sv_err *e);
void sv_dag_data_free(sv_dag_data *x);

/* The matrix at v (any matrix form of api/jsonval.h) as a malloc'd dense row-major copy *out
 * of *r x *c; rows / cols (-1: any) fix the shape; more than SV_DAG_MAX_NODES columns is
 * SV_EINVAL at path. */
int sv_dag_json_dense(const json_t *v, const char *path, long rows, long cols,
                      const sv_codec_env *env, double **out, int *r, int *c, sv_err *e);

/* shd, tpr, fdr, fpr and the edge counts of a into the result object r. */
void sv_dag_json_put_accuracy(json_t *r, const sv_dag_accuracy *a);

#endif
