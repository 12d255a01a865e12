/* gen_glm.c - distributed linear-model instances: the seeded heterogeneous generator and the row
 * split of a data set. */
#include "core/models/gen_glm.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"

static int client_alloc(sv_glm_clients *c, int i, int rows);
static int check_loss_lambda(sv_loss loss, double lambda, const char *loss_path,
                             const char *lambda_path, sv_err *e);

/* ---- container ---- */

int sv_glm_clients_alloc(sv_glm_clients *c, int n, int dim)
{
    memset(c, 0, sizeof *c);
    c->A = calloc((size_t)n, sizeof *c->A);
    c->b = calloc((size_t)n, sizeof *c->b);
    c->glm = calloc((size_t)n, sizeof *c->glm);
    c->n_clients = n;
    c->dim = dim;
    if (!c->A || !c->b || !c->glm) {
        sv_glm_clients_free(c);
        return SV_ENOMEM;
    }
    return SV_OK;
}

static int client_alloc(sv_glm_clients *c, int i, int rows)
{
    if (sv_mat_dense(&c->A[i], rows, c->dim) != SV_OK)
        return SV_ENOMEM;
    c->b[i] = calloc((size_t)rows, sizeof *c->b[i]);
    return c->b[i] ? SV_OK : SV_ENOMEM;
}

void sv_glm_clients_bind(sv_glm_clients *c, sv_loss loss, double lambda)
{
    for (int i = 0; i < c->n_clients; i++) {
        c->glm[i].loss = loss;
        c->glm[i].A = &c->A[i];
        c->glm[i].b = c->b[i];
        c->glm[i].w = NULL;
        c->glm[i].lambda = lambda;
        c->glm[i].lambda_vec = NULL;
    }
}

void sv_glm_clients_free(sv_glm_clients *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_clients; i++) {
        if (c->A)
            sv_mat_free(&c->A[i]);
        if (c->b)
            free(c->b[i]);
    }
    free(c->A);
    free(c->b);
    free(c->glm);
    memset(c, 0, sizeof *c);
}

static int check_loss_lambda(sv_loss loss, double lambda, const char *loss_path,
                             const char *lambda_path, sv_err *e)
{
    if (loss != SV_LOSS_SQUARED && loss != SV_LOSS_LOGISTIC)
        return sv_fail(e, loss_path, "must be \"squared\" or \"logistic\"");
    if (!(isfinite(lambda) && lambda >= 0))
        return sv_fail(e, lambda_path, "must be a finite number >= 0");
    return SV_OK;
}

/* ---- generator ---- */

static const char *const loss_choices[] = {"squared", "logistic", NULL};

const sv_param_spec sv_gen_glm_params[] = {
    SV_PN_INT32_REQ(sv_gen_glm_spec, n_clients, "clients", 1, INT_MAX, "number of clients"),
    SV_P_INT32_REQ(sv_gen_glm_spec, rows_per_client, 1, INT_MAX, "rows each client holds"),
    SV_P_INT32_REQ(sv_gen_glm_spec, dim, 1, INT_MAX, "number of columns (the dimension)"),
    SV_P_ENUM(sv_gen_glm_spec, loss, loss_choices, SV_LOSS_SQUARED,
              "squared (least squares) or logistic (labels -1/+1)"),
    SV_P_NUMBER(sv_gen_glm_spec, heterogeneity, 0, SV_GEN_GLM_MAX_HETEROGENEITY, 0,
                "client i's rows are scaled by 10^(heterogeneity i / (clients - 1))"),
    SV_P_NUMBER(sv_gen_glm_spec, lambda, 0, INFINITY, 0, "ridge weight, the same on every client"),
    SV_P_SEED(sv_gen_glm_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_PARAMS_END,
};

const sv_param_spec sv_gen_glm_one_params[] = {
    SV_PN_INT32_REQ(sv_gen_glm_spec, rows_per_client, "rows", 1, INT_MAX, "number of rows"),
    SV_P_INT32_REQ(sv_gen_glm_spec, dim, 1, INT_MAX, "number of columns (the dimension)"),
    SV_P_ENUM(sv_gen_glm_spec, loss, loss_choices, SV_LOSS_SQUARED,
              "squared (least squares) or logistic (labels -1/+1)"),
    SV_P_NUMBER(sv_gen_glm_spec, lambda, 0, INFINITY, 0, "ridge weight"),
    SV_P_SEED(sv_gen_glm_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_PARAMS_END,
};

void sv_gen_glm_one_default(sv_gen_glm_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    sv_params_defaults(sv_gen_glm_one_params, spec);
    spec->n_clients = 1;
    spec->heterogeneity = 0.0;
}

int sv_gen_glm_clients(const sv_gen_glm_spec *spec, sv_glm_clients *out, sv_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!spec || !out)
        return sv_fail(e, "/problem/generate", "spec or output missing");
    if (spec->n_clients < 1)
        return sv_fail(e, "/problem/generate/clients", "must be at least 1");
    if (spec->rows_per_client < 1)
        return sv_fail(e, "/problem/generate/rows_per_client", "must be at least 1");
    if (spec->dim < 1)
        return sv_fail(e, "/problem/generate/dim", "must be at least 1");
    if (!(spec->heterogeneity >= 0 && spec->heterogeneity <= SV_GEN_GLM_MAX_HETEROGENEITY))
        return sv_fail(e, "/problem/generate/heterogeneity", "must be in [0, %g]",
                       SV_GEN_GLM_MAX_HETEROGENEITY);
    int rc = check_loss_lambda(spec->loss, spec->lambda, "/problem/generate/loss",
                               "/problem/generate/lambda", e);
    if (rc != SV_OK)
        return rc;

    const int n = spec->n_clients, m = spec->rows_per_client, d = spec->dim;
    double *xstar = malloc((size_t)d * sizeof *xstar);
    if (!xstar || sv_glm_clients_alloc(out, n, d) != SV_OK) {
        free(xstar);
        return SV_ENOMEM;
    }
    sv_rng rng;
    sv_rng_seed(&rng, spec->seed);
    for (int j = 0; j < d; j++)
        xstar[j] = 2.0 / sqrt((double)d) * sv_rng_normal(&rng);

    for (int i = 0; i < n; i++) {
        if (client_alloc(out, i, m) != SV_OK) {
            free(xstar);
            sv_glm_clients_free(out);
            return SV_ENOMEM;
        }
        double s = n > 1 ? pow(10.0, spec->heterogeneity * i / (n - 1)) : 1.0;
        double *a = out->A[i].dense.data;
        for (int r = 0; r < m; r++) {
            double *row = a + (size_t)r * d;
            for (int j = 0; j < d; j++)
                row[j] = sv_rng_normal(&rng);
            double z = sv_dot(d, row, xstar);  /* before scaling: the client-independent margin */
            sv_scal(d, s, row);
            if (spec->loss == SV_LOSS_SQUARED) {
                out->b[i][r] = s * z + 0.1 * s * sv_rng_normal(&rng);
            } else {
                double pr = 1.0 / (1.0 + exp(-z));
                out->b[i][r] = sv_rng_uniform(&rng) < pr ? 1.0 : -1.0;
            }
        }
    }
    free(xstar);
    sv_glm_clients_bind(out, spec->loss, spec->lambda);
    return SV_OK;
}

/* ---- split of a data set ---- */

int sv_glm_clients_split(const sv_dataset *ds, int n_clients, int shuffle, uint64_t seed,
                         int positive_class, sv_loss loss, double lambda, sv_glm_clients *out,
                         sv_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!ds || !out || !ds->X || !ds->y || ds->rows < 1 || ds->cols < 1)
        return sv_fail(e, "/problem/dataset", "empty data set");
    if (n_clients < 1 || n_clients > ds->rows)
        return sv_fail(e, "/problem/dataset/clients", "must be between 1 and the %d rows", ds->rows);
    if (positive_class >= ds->n_classes)
        return sv_fail(e, "/problem/dataset/binary_class", "must be below the %d classes",
                       ds->n_classes);
    if (loss == SV_LOSS_LOGISTIC && positive_class < 0)
        return sv_fail(e, "/problem/dataset/binary_class", "logistic loss needs a positive class");
    int rc = check_loss_lambda(loss, lambda, "/problem/dataset/loss", "/problem/dataset/lambda", e);
    if (rc != SV_OK)
        return rc;

    const int m = ds->rows, d = ds->cols, n = n_clients;
    int *order = malloc((size_t)m * sizeof *order);
    if (!order || sv_glm_clients_alloc(out, n, d) != SV_OK) {
        free(order);
        return SV_ENOMEM;
    }
    for (int r = 0; r < m; r++)
        order[r] = r;
    if (shuffle) {
        sv_rng rng;
        sv_rng_seed(&rng, seed);
        sv_rng_shuffle(&rng, order, m);
    }
    for (int i = 0; i < n; i++) {
        int r0 = (int)((long long)i * m / n), r1 = (int)((long long)(i + 1) * m / n);
        if (client_alloc(out, i, r1 - r0) != SV_OK) {
            free(order);
            sv_glm_clients_free(out);
            return SV_ENOMEM;
        }
        for (int r = r0; r < r1; r++) {
            int src = order[r];
            sv_copy(d, ds->X + (size_t)src * d, out->A[i].dense.data + (size_t)(r - r0) * d);
            double y = ds->y[src];
            out->b[i][r - r0] = positive_class < 0 ? y : (y == positive_class ? 1.0 : -1.0);
        }
    }
    free(order);
    sv_glm_clients_bind(out, loss, lambda);
    return SV_OK;
}
