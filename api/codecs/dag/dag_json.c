/* dag_json.c - the dag family's shared JSON pieces. */
#include "api/codecs/dag/dag_json.h"

#include <stdlib.h>
#include <string.h>
#include "api/jsonval.h"
#include "api/params.h"

int sv_dag_json_read(const sv_problem_form *forms, const json_t *problem,
                     const sv_codec_env *env, sv_dag_source *src, sv_err *e)
{
    memset(src, 0, sizeof *src);
    int rc;
    if ((rc = sv_forms_pick(forms, problem, &src->form, e)) != SV_OK)
        return rc;
    if (src->form == SV_DAG_FORM_GENERATE) {
        sv_params_defaults(sv_dag_gen_params, &src->gen);
        if ((rc = sv_forms_decode_key(&forms[SV_DAG_FORM_GENERATE], problem, &src->gen, e)) !=
            SV_OK)
            return rc;
        return sv_dag_gen_check(&src->gen, env ? env->max_entries : 0, "/problem/generate", e);
    }
    src->data = json_object_get(problem, "data");
    json_t *t;
    if ((rc = sv_json_optional(problem, "/problem", "true_graph", &t, e)) != SV_OK)
        return rc;
    src->truth = t;
    return SV_OK;
}

void sv_dag_data_free(sv_dag_data *x)
{
    free(x->X);
    free(x->T);
    memset(x, 0, sizeof *x);
}

int sv_dag_json_build(const sv_dag_source *src, const sv_codec_env *env, sv_dag_data *x,
                      sv_err *e)
{
    memset(x, 0, sizeof *x);
    int rc;
    if (src->form == SV_DAG_FORM_GENERATE) {
        x->n = src->gen.n;
        x->d = src->gen.d;
        x->X = malloc((size_t)x->n * x->d * sizeof *x->X);
        x->T = malloc((size_t)x->d * x->d * sizeof *x->T);
        if (!x->X || !x->T) {
            sv_dag_data_free(x);
            return SV_ENOMEM;
        }
        rc = sv_dag_generate(&src->gen, x->T, x->X, e);
    } else {
        int r, c;
        rc = sv_dag_json_dense(src->data, "/problem/data", -1, -1, env, &x->X, &x->n, &x->d, e);
        if (rc == SV_OK && src->truth)
            rc = sv_dag_json_dense(src->truth, "/problem/true_graph", x->d, x->d, env, &x->T, &r,
                                   &c, e);
    }
    if (rc != SV_OK)
        sv_dag_data_free(x);
    return rc;
}

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
