/* bl_linear.c - the linear-model kernels of hyperclean and hyperparam (bl_internal.h): squared,
 * binary logistic and multinomial softmax losses of one labelled set, per-sample weighted, over a
 * batch or all rows. The softmax goes through core/kernels/softmax.h, so no score overflows; the logistic
 * loss through sv_loss_eval, likewise overflow-free. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/models/bl_internal.h"
#include "core/models/glm.h"
#include "core/kernels/softmax.h"

/* s (K) = scores of row i: a_i'y, or W'a_i for the multinomial loss. */
static void row_scores(const sv__bl_lin *m, int i, const double *y, double *s)
{
    const sv_mat *A = &m->S->A;
    const int K = m->K;
    if (K == 1) {
        s[0] = sv_mat_row_dot(A, i, y);
        return;
    }
    sv_zero(K, s);
    if (A->kind == SV_MAT_DENSE) {
        const double *a = A->dense.data + (size_t)i * A->cols;
        for (int j = 0; j < A->cols; j++) {
            double aj = a[j];
            if (aj == 0.0)
                continue;
            const double *wj = y + (size_t)j * K;
            for (int c = 0; c < K; c++)
                s[c] += aj * wj[c];
        }
    } else {
        for (int q = A->csr.rowptr[i]; q < A->csr.rowptr[i + 1]; q++) {
            const double *wj = y + (size_t)A->csr.colind[q] * K;
            double aj = A->csr.val[q];
            for (int c = 0; c < K; c++)
                s[c] += aj * wj[c];
        }
    }
}

/* out += alpha * a_i g' (the gradient of a score-space vector g back in y). */
static void row_outer_add(const sv__bl_lin *m, int i, double alpha, const double *g, double *out)
{
    const sv_mat *A = &m->S->A;
    const int K = m->K;
    if (K == 1) {
        sv_mat_row_axpy(A, i, alpha * g[0], out);
        return;
    }
    if (A->kind == SV_MAT_DENSE) {
        const double *a = A->dense.data + (size_t)i * A->cols;
        for (int j = 0; j < A->cols; j++) {
            double aj = alpha * a[j];
            if (aj == 0.0)
                continue;
            double *oj = out + (size_t)j * K;
            for (int c = 0; c < K; c++)
                oj[c] += aj * g[c];
        }
    } else {
        for (int q = A->csr.rowptr[i]; q < A->csr.rowptr[i + 1]; q++) {
            double *oj = out + (size_t)A->csr.colind[q] * K;
            double aj = alpha * A->csr.val[q];
            for (int c = 0; c < K; c++)
                oj[c] += aj * g[c];
        }
    }
}

/* The loss of row i at scores s; dl (K) its derivative in the scores; curv (K) what the score
 * Hessian needs: the logistic second derivative in curv[0], the softmax probabilities for the
 * multinomial loss (unused for squared). */
static double row_loss(const sv__bl_lin *m, int i, const double *s, double *dl, double *curv)
{
    switch (m->loss) {
    case SV_BL_LOSS_SQUARED: {
        double r = s[0] - m->S->b[i];
        dl[0] = r;
        curv[0] = 1.0;
        return 0.5 * r * r;
    }
    case SV_BL_LOSS_LOGISTIC:
        return sv_loss_eval(SV_LOSS_LOGISTIC, s[0], m->S->b[i], dl, curv);
    case SV_BL_LOSS_MULTINOMIAL:
    default: {
        const int K = m->K, yi = m->S->cls[i];
        double lse = sv_softmax(K, s, curv);
        for (int c = 0; c < K; c++)
            dl[c] = curv[c];
        dl[yi] -= 1.0;
        return lse - s[yi];
    }
    }
}

/* hu (K) = score Hessian of row i times u, from row_loss's curv. */
static void row_curv_apply(const sv__bl_lin *m, const double *curv, const double *u, double *hu)
{
    const int K = m->K;
    if (m->loss != SV_BL_LOSS_MULTINOMIAL) {
        hu[0] = curv[0] * u[0];
        return;
    }
    double pu = sv_dot(K, curv, u);
    for (int c = 0; c < K; c++)
        hu[c] = curv[c] * (u[c] - pu);
}

static double weight_of(sv__bl_wt wt, int i)
{
    if (!wt.w)
        return 1.0;
    return wt.sig ? sv__bl_sigmoid(wt.w[i]) : wt.w[i];
}

double sv__bl_lin_value(const sv__bl_lin *m, const int *idx, int k, sv__bl_wt wt,
                        const double *y, double *grad, double *lrow, double *work)
{
    const int K = m->K, count = SV__BL_ROWS(idx, k, m->S);
    double *s = work, *dl = work + K, *curv = work + 2 * K;
    if (count <= 0)
        return 0.0;
    const double inv = 1.0 / count;
    double sum = 0.0;
    for (int r = 0; r < count; r++) {
        int i = SV__BL_ROW(idx, r);
        row_scores(m, i, y, s);
        double l = row_loss(m, i, s, dl, curv);
        double w = weight_of(wt, i);
        if (lrow)
            lrow[r] = l;
        sum += w * l;
        if (grad && w != 0.0)
            row_outer_add(m, i, w * inv, dl, grad);
    }
    return sum * inv;
}

void sv__bl_lin_hvp(const sv__bl_lin *m, const int *idx, int k, sv__bl_wt wt, const double *y,
                    const double *v, double *out, double *work)
{
    const int K = m->K, count = SV__BL_ROWS(idx, k, m->S);
    double *s = work, *dl = work + K, *curv = work + 2 * K, *u = work + 3 * K, *hu = work + 4 * K;
    if (count <= 0)
        return;
    const double inv = 1.0 / count;
    for (int r = 0; r < count; r++) {
        int i = SV__BL_ROW(idx, r);
        double w = weight_of(wt, i);
        if (w == 0.0)
            continue;
        row_scores(m, i, y, s);
        row_loss(m, i, s, dl, curv);
        row_scores(m, i, v, u);
        row_curv_apply(m, curv, u, hu);
        row_outer_add(m, i, w * inv, hu, out);
    }
}

void sv__bl_lin_graddot(const sv__bl_lin *m, const int *idx, int k, const double *y,
                        const double *v, double *dots, double *work)
{
    const int K = m->K, count = SV__BL_ROWS(idx, k, m->S);
    double *s = work, *dl = work + K, *curv = work + 2 * K, *u = work + 3 * K;
    for (int r = 0; r < count; r++) {
        int i = SV__BL_ROW(idx, r);
        row_scores(m, i, y, s);
        row_loss(m, i, s, dl, curv);
        row_scores(m, i, v, u);
        dots[r] = sv_dot(K, dl, u);
    }
}

double sv__bl_lin_accuracy(const sv__bl_lin *m, const double *y, double *work)
{
    const int K = m->K, n = m->S->rows;
    if (m->loss == SV_BL_LOSS_SQUARED || n <= 0)
        return NAN;
    int right = 0;
    for (int i = 0; i < n; i++) {
        row_scores(m, i, y, work);
        if (m->loss == SV_BL_LOSS_LOGISTIC) {
            double pred = work[0] >= 0 ? 1.0 : -1.0;
            right += pred == m->S->b[i];
        } else {
            int best = 0;
            for (int c = 1; c < K; c++)
                if (work[c] > work[best])
                    best = c;
            right += best == m->S->cls[i];
        }
    }
    return (double)right / n;
}

double sv__bl_lin_gram_eig(const sv_bl_set *S)
{
    if (S->rows <= 0)
        return 0.0;
    return sv_mat_gram_eigmax(&S->A, NULL, 1e-10, 2000) / S->rows;
}

double sv__bl_loss_curv(sv_bl_loss loss)
{
    switch (loss) {
    case SV_BL_LOSS_SQUARED:
        return 1.0;
    case SV_BL_LOSS_LOGISTIC:
        return 0.25;
    default:
        return 0.5;
    }
}

/* ============================================================================================
 * Checks
 * ========================================================================================== */

int sv__bl_set_check(const sv_bl_set *S, sv_bl_loss loss, int d, int K, int allow_empty,
                     const char *path, sv_err *e)
{
    char f[96];
    if (S->rows == 0 && allow_empty)
        return SV_OK;
    snprintf(f, sizeof f, "%s/A", path);
    const sv_mat *A = &S->A;
    if (S->rows < 1 || A->rows != S->rows || A->cols != d)
        return sv_fail(e, f, "expected a matrix of %d columns with at least one row (got %d x %d)",
                       d, A->rows, A->cols);
    if (A->kind == SV_MAT_DENSE) {
        if (!A->dense.data || A->dense.rows != A->rows || A->dense.cols != A->cols)
            return sv_fail(e, f, "dense storage does not match the shape");
        for (int r = 0; r < A->rows; r++)
            if (!sv_all_finite(A->cols, A->dense.data + (size_t)r * A->cols))
                return sv_fail(e, f, "row %d holds a non-finite entry", r);
    } else if (A->kind == SV_MAT_CSR) {
        if (!A->csr.rowptr || A->csr.rows != A->rows || A->csr.cols != A->cols ||
            A->csr.nnz < 0 || (A->csr.nnz > 0 && (!A->csr.colind || !A->csr.val)))
            return sv_fail(e, f, "sparse storage does not match the shape");
        if (!sv_all_finite(A->csr.nnz, A->csr.val))
            return sv_fail(e, f, "holds a non-finite entry");
    } else {
        return sv_fail(e, f, "unknown matrix kind");
    }
    if (loss == SV_BL_LOSS_MULTINOMIAL) {
        snprintf(f, sizeof f, "%s/labels", path);
        if (!S->cls)
            return sv_fail(e, f, "class labels missing");
        for (int i = 0; i < S->rows; i++)
            if (S->cls[i] < 0 || S->cls[i] >= K) {
                snprintf(f, sizeof f, "%s/labels/%d", path, i);
                return sv_fail(e, f, "class labels must lie in [0, %d), got %d", K, S->cls[i]);
            }
    } else {
        snprintf(f, sizeof f, "%s/labels", path);
        if (!S->b)
            return sv_fail(e, f, "targets missing");
        for (int i = 0; i < S->rows; i++) {
            double b = S->b[i];
            if (!isfinite(b) || (loss == SV_BL_LOSS_LOGISTIC && b != 1.0 && b != -1.0)) {
                snprintf(f, sizeof f, "%s/labels/%d", path, i);
                return sv_fail(e, f, loss == SV_BL_LOSS_LOGISTIC ? "logistic labels must be -1 or 1"
                                                                 : "targets must be finite");
            }
        }
    }
    return SV_OK;
}

int sv__bl_box_check(int n, const double *lo, const double *hi, const char *path, sv_err *e)
{
    char f[96];
    for (int i = 0; i < n; i++) {
        double l = lo ? lo[i] : -INFINITY, h = hi ? hi[i] : INFINITY;
        if (isnan(l) || isnan(h) || l > h || l == INFINITY || h == -INFINITY) {
            snprintf(f, sizeof f, "%s/%d", path, i);
            return sv_fail(e, f, "box bounds need lo <= hi, lo < inf and hi > -inf");
        }
    }
    return SV_OK;
}

/* ============================================================================================
 * Sets from data
 * ========================================================================================== */

int sv__bl_set_alloc(sv_bl_set *S, int rows, int d, sv_bl_loss loss)
{
    memset(S, 0, sizeof *S);
    if (rows == 0)
        return SV_OK;
    int rc = sv_mat_dense(&S->A, rows, d);
    if (rc != SV_OK)
        return rc;
    S->rows = rows;
    if (loss == SV_BL_LOSS_MULTINOMIAL)
        S->cls = calloc((size_t)rows, sizeof *S->cls);
    else
        S->b = calloc((size_t)rows, sizeof *S->b);
    if (!S->cls && !S->b) {
        sv_bl_set_free(S);
        return SV_ENOMEM;
    }
    return SV_OK;
}

int sv__bl_split_dataset(const sv_dataset *ds, int n_train, int n_val, int n_test, uint64_t seed,
                         int intercept, sv_bl_loss loss, sv_bl_set *train, sv_bl_set *val,
                         sv_bl_set *test, int *d_out, sv_err *e)
{
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    memset(test, 0, sizeof *test);
    if (n_train < 1 || n_val < 1 || n_test < 0 ||
        (long)n_train + n_val + n_test > (long)ds->rows)
        return sv_fail(e, "/problem/dataset/n_train", "n_train %d, n_val %d and n_test %d must be "
                       "positive (n_test >= 0) and sum to at most the %d rows of the data set",
                       n_train, n_val, n_test, ds->rows);
    if (loss == SV_BL_LOSS_LOGISTIC && ds->n_classes != 2)
        return sv_fail(e, "/problem/dataset/loss", "the logistic loss needs 2 classes, the data "
                       "set has %d", ds->n_classes);
    const int d0 = ds->cols, d = d0 + (intercept ? 1 : 0);
    int *perm = malloc((size_t)ds->rows * sizeof *perm);
    double *mean = calloc((size_t)d0 * 2, sizeof *mean);
    int rc = SV_ENOMEM;
    if (!perm || !mean)
        goto fail;
    for (int i = 0; i < ds->rows; i++)
        perm[i] = i;
    sv_rng rng;
    sv_rng_seed(&rng, seed);
    sv_rng_shuffle(&rng, perm, ds->rows);
    double *sd = mean + d0;
    for (int r = 0; r < n_train; r++)
        for (int j = 0; j < d0; j++)
            mean[j] += ds->X[(size_t)perm[r] * d0 + j] / n_train;
    for (int r = 0; r < n_train; r++)
        for (int j = 0; j < d0; j++) {
            double t = ds->X[(size_t)perm[r] * d0 + j] - mean[j];
            sd[j] += t * t / n_train;
        }
    for (int j = 0; j < d0; j++)
        sd[j] = sd[j] > 0 ? sqrt(sd[j]) : 0.0;
    sv_bl_set *sets[3] = {train, val, test};
    int counts[3] = {n_train, n_val, n_test};
    int off = 0;
    for (int s = 0; s < 3; s++) {
        if ((rc = sv__bl_set_alloc(sets[s], counts[s], d, loss)) != SV_OK)
            goto fail;
        for (int r = 0; r < counts[s]; r++) {
            int i = perm[off + r];
            double *row = sets[s]->A.dense.data + (size_t)r * d;
            for (int j = 0; j < d0; j++) {
                double t = ds->X[(size_t)i * d0 + j] - mean[j];
                row[j] = sd[j] > 0 ? t / sd[j] : 0.0;
            }
            if (intercept)
                row[d0] = 1.0;
            double lab = ds->y[i];
            if (loss == SV_BL_LOSS_MULTINOMIAL)
                sets[s]->cls[r] = (int)lab;
            else if (loss == SV_BL_LOSS_LOGISTIC)
                sets[s]->b[r] = lab == 1.0 ? 1.0 : -1.0;
            else
                sets[s]->b[r] = lab;
        }
        off += counts[s];
    }
    free(perm);
    free(mean);
    *d_out = d;
    return SV_OK;
fail:
    free(perm);
    free(mean);
    sv_bl_set_free(train);
    sv_bl_set_free(val);
    sv_bl_set_free(test);
    return rc;
}
