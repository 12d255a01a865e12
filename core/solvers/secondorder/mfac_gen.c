/* mfac_gen.c - the generator of secondorder.mfac's "generate" problems (see mfac_gen.h). */
#include "core/solvers/secondorder/mfac_gen.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"

static const char *const loss_choices[] = {"squared", "logistic", NULL};

const sv_param_spec mfac_gen_params[] = {
    SV_P_INT32_REQ(mfac_gen_spec, rows, 1, INT_MAX, "number of rows (samples)"),
    SV_P_INT32_REQ(mfac_gen_spec, dim, 1, INT_MAX, "number of columns (the dimension)"),
    SV_P_ENUM(mfac_gen_spec, loss, loss_choices, SV_LOSS_SQUARED,
              "squared (least squares) or logistic (labels -1/+1)"),
    SV_P_NUMBER(mfac_gen_spec, lambda, 0, INFINITY, 0, "ridge weight"),
    SV_P_NUMBER(mfac_gen_spec, condition, 1, MFAC_GEN_MAX_CONDITION, 1,
                "condition number of the feature covariance: column j is scaled by "
                "condition^(-j / (2 (dim - 1)))"),
    SV_P_NUMBER(mfac_gen_spec, correlation, 0, MFAC_GEN_MAX_CORRELATION, 0,
                "equicorrelation rho of the features, in [0, 1)"),
    SV_P_NUMBER(mfac_gen_spec, noise, 0, INFINITY, 0.1,
                "squared loss: standard deviation of the target noise"),
    SV_P_SEED(mfac_gen_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_PARAMS_END,
};

int mfac_generate(const mfac_gen_spec *spec, mfac_instance *out, sv_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!spec || !out)
        return sv_fail(e, "/problem/generate", "spec or output missing");
    int rc = sv_params_validate(mfac_gen_params, spec, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;

    const int n = spec->rows, d = spec->dim;
    if (sv_mat_dense(&out->A, n, d) != SV_OK)
        return SV_ENOMEM;
    out->b = calloc((size_t)n, sizeof *out->b);
    out->xstar = calloc((size_t)d, sizeof *out->xstar);
    double *scale = malloc((size_t)d * sizeof *scale);
    if (!out->b || !out->xstar || !scale) {
        free(scale);
        mfac_instance_free(out);
        return SV_ENOMEM;
    }
    for (int j = 0; j < d; j++)
        scale[j] = d > 1 ? pow(spec->condition, -0.5 * j / (d - 1)) : 1.0;
    const double a = sqrt(1.0 - spec->correlation), c = sqrt(spec->correlation);

    sv_rng rng;
    sv_rng_seed(&rng, spec->seed);
    for (int j = 0; j < d; j++)
        out->xstar[j] = sv_rng_normal(&rng);
    for (int i = 0; i < n; i++) {
        double *row = out->A.dense.data + (size_t)i * d;
        const double z0 = sv_rng_normal(&rng);
        for (int j = 0; j < d; j++)
            row[j] = scale[j] * (a * sv_rng_normal(&rng) + c * z0);
        const double z = sv_dot(d, row, out->xstar);
        if (spec->loss == SV_LOSS_SQUARED) {
            out->b[i] = z + spec->noise * sv_rng_normal(&rng);
        } else {
            const double pr = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
            out->b[i] = sv_rng_uniform(&rng) < pr ? 1.0 : -1.0;
        }
    }
    free(scale);
    out->glm.loss = spec->loss;
    out->glm.A = &out->A;
    out->glm.b = out->b;
    out->glm.w = NULL;
    out->glm.lambda = spec->lambda;
    out->glm.lambda_vec = NULL;
    return SV_OK;
}

void mfac_instance_free(mfac_instance *inst)
{
    if (!inst)
        return;
    sv_mat_free(&inst->A);
    free(inst->b);
    free(inst->xstar);
    memset(inst, 0, sizeof *inst);
}
