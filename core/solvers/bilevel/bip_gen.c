/* bip_gen.c - BiP's pruning instances: the seeded sparse-ground-truth generator with its
 * parameter table, and the training/validation split of a data set (see bip_gen.h). */
#include "core/solvers/bilevel/bip_gen.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"

/* ================================ parameters ================================ */

static const char *const loss_choices[] = {"squared", "logistic", NULL};

const sv_param_spec bip_gen_params[] = {
    SV_P_INT32_REQ(bip_gen_spec, rows, 1, INT_MAX, "training rows"),
    SV_P_INT32(bip_gen_spec, val_rows, 0, INT_MAX, 0, "validation rows; 0: as many as rows"),
    SV_P_INT32_REQ(bip_gen_spec, dim, 1, INT_MAX, "number of weights d"),
    SV_P_INT32_REQ(bip_gen_spec, support, 1, INT_MAX,
                   "planted nonzero weights, at most dim (k defaults to it)"),
    SV_P_ENUM(bip_gen_spec, loss, loss_choices, SV_LOSS_SQUARED,
              "squared (least squares) or logistic (labels -1/+1)"),
    SV_P_NUMBER(bip_gen_spec, correlation, 0, 1, BIP_GEN_DEFAULT_CORRELATION,
                "rho, below 1: every pair of features is correlated rho (a shared factor)"),
    SV_P_NUMBER(bip_gen_spec, scale_spread, 0, BIP_GEN_MAX_SCALE_SPREAD,
                BIP_GEN_DEFAULT_SCALE_SPREAD,
                "decades over which the column scales spread (the planted weights follow 1/scale)"),
    SV_P_NUMBER(bip_gen_spec, noise, 0, INFINITY, BIP_GEN_DEFAULT_NOISE,
                "standard deviation of the target noise (squared loss)"),
    SV_P_SEED(bip_gen_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_PARAMS_END,
};

int bip_gen_val_rows(const bip_gen_spec *s)
{
    return s->val_rows > 0 ? s->val_rows : s->rows;
}

int bip_gen_check(const bip_gen_spec *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/problem/generate", "spec missing");
    int rc = sv_params_validate(bip_gen_params, s, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;
    if (s->support > s->dim)
        return sv_fail(e, "/problem/generate/support", "must be at most dim = %d, got %d",
                       s->dim, s->support);
    if (!(s->correlation < 1))
        return sv_fail(e, "/problem/generate/correlation", "must be below 1 (rho = 1 makes "
                       "every feature the same)");
    return SV_OK;
}

/* ================================ generator ================================ */

void bip_data_free(bip_data *d)
{
    if (!d)
        return;
    sv_mat_free(&d->A);
    sv_mat_free(&d->A_val);
    free(d->b);
    free(d->b_val);
    free(d->w_true);
    memset(d, 0, sizeof *d);
}

static void gen_rows(sv_rng *rng, const bip_gen_spec *s, const double *scale, const double *w,
                     sv_mat *A, double *b)
{
    const int d = s->dim;
    const double a = sqrt(1.0 - s->correlation), c = sqrt(s->correlation);
    for (int r = 0; r < A->rows; r++) {
        double *row = A->dense.data + (size_t)r * d;
        double f = sv_rng_normal(rng);
        for (int j = 0; j < d; j++)
            row[j] = scale[j] * (a * sv_rng_normal(rng) + c * f);
        double z = sv_dot(d, row, w);
        if (s->loss == SV_LOSS_SQUARED)
            b[r] = z + s->noise * sv_rng_normal(rng);
        else
            b[r] = sv_rng_uniform(rng) < 1.0 / (1.0 + exp(-z)) ? 1.0 : -1.0;
    }
}

int bip_generate(const bip_gen_spec *s, bip_data *out, sv_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!s || !out)
        return sv_fail(e, "/problem/generate", "spec or output missing");
    int rc = bip_gen_check(s, e);
    if (rc != SV_OK)
        return rc;

    const int d = s->dim;
    double *scale = malloc((size_t)d * sizeof *scale);
    int *perm = malloc((size_t)d * sizeof *perm);
    out->w_true = calloc((size_t)d, sizeof *out->w_true);
    out->b = malloc((size_t)s->rows * sizeof *out->b);
    const int nv = bip_gen_val_rows(s);
    out->b_val = malloc((size_t)nv * sizeof *out->b_val);
    if (!scale || !perm || !out->w_true || !out->b || !out->b_val ||
        sv_mat_dense(&out->A, s->rows, d) != SV_OK ||
        sv_mat_dense(&out->A_val, nv, d) != SV_OK) {
        free(scale);
        free(perm);
        bip_data_free(out);
        return SV_ENOMEM;
    }
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    for (int j = 0; j < d; j++)
        scale[j] = pow(10.0, s->scale_spread * (sv_rng_uniform(&rng) - 0.5));
    for (int j = 0; j < d; j++)
        perm[j] = j;
    for (int i = 0; i < s->support; i++) {  /* partial Fisher-Yates */
        int r = i + (int)sv_rng_below(&rng, (uint64_t)(d - i));
        int t = perm[i];
        perm[i] = perm[r];
        perm[r] = t;
    }
    for (int i = 0; i < s->support; i++) {
        int j = perm[i];
        double sign = sv_rng_uniform(&rng) < 0.5 ? -1.0 : 1.0;
        out->w_true[j] = sign * (1.0 + sv_rng_uniform(&rng)) / scale[j];
    }
    gen_rows(&rng, s, scale, out->w_true, &out->A, out->b);
    gen_rows(&rng, s, scale, out->w_true, &out->A_val, out->b_val);
    free(scale);
    free(perm);
    out->prob = (bip_problem){s->loss, &out->A, out->b, &out->A_val, out->b_val, s->support};
    return SV_OK;
}

int bip_from_dataset(const sv_dataset *ds, double val_fraction, uint64_t seed,
                     int positive_class, sv_loss loss, int k, bip_data *out, sv_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!ds || !out || !ds->X || !ds->y || ds->rows < 2 || ds->cols < 1)
        return sv_fail(e, "/problem/dataset", "the data set needs at least two rows");
    if (!(val_fraction > 0 && val_fraction < 1))
        return sv_fail(e, "/problem/dataset/val_fraction", "must be in (0, 1)");
    const int rows = ds->rows, d = ds->cols;
    int nv = (int)lround(val_fraction * rows);
    if (nv < 1 || nv > rows - 1)
        return sv_fail(e, "/problem/dataset/val_fraction", "leaves %d validation and %d "
                       "training rows; both need at least one", nv, rows - nv);
    if (positive_class >= ds->n_classes)
        return sv_fail(e, "/problem/dataset/binary_class", "must be below the %d classes",
                       ds->n_classes);
    if (loss == SV_LOSS_LOGISTIC && positive_class < 0)
        return sv_fail(e, "/problem/dataset/binary_class", "the logistic loss needs the class "
                       "to tell apart from the rest");
    if (loss != SV_LOSS_SQUARED && loss != SV_LOSS_LOGISTIC)
        return sv_fail(e, "/problem/dataset/loss", "must be \"squared\" or \"logistic\"");
    if (k < 1 || k > d)
        return sv_fail(e, "/problem/k", "must be between 1 and the %d features, got %d", d, k);
    const int n = rows - nv;
    int *order = malloc((size_t)rows * sizeof *order);
    out->b = malloc((size_t)n * sizeof *out->b);
    out->b_val = malloc((size_t)nv * sizeof *out->b_val);
    if (!order || !out->b || !out->b_val || sv_mat_dense(&out->A, n, d) != SV_OK ||
        sv_mat_dense(&out->A_val, nv, d) != SV_OK) {
        free(order);
        bip_data_free(out);
        return SV_ENOMEM;
    }
    for (int r = 0; r < rows; r++)
        order[r] = r;
    sv_rng rng;
    sv_rng_seed(&rng, seed);
    sv_rng_shuffle(&rng, order, rows);
    for (int r = 0; r < rows; r++) {
        int src = order[r];
        double y = ds->y[src];
        double t = positive_class < 0 ? y : (y == positive_class ? 1.0 : -1.0);
        if (r < nv) {
            sv_copy(d, ds->X + (size_t)src * d, out->A_val.dense.data + (size_t)r * d);
            out->b_val[r] = t;
        } else {
            sv_copy(d, ds->X + (size_t)src * d, out->A.dense.data + (size_t)(r - nv) * d);
            out->b[r - nv] = t;
        }
    }
    free(order);
    out->prob = (bip_problem){loss, &out->A, out->b, &out->A_val, out->b_val, k};
    return SV_OK;
}

