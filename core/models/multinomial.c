/* multinomial.c - multinomial logistic regression on the two-pass softmax (core/kernels/softmax.h). */
#include "core/models/multinomial.h"

#include <math.h>
#include <stdio.h>

#include "core/kernels/softmax.h"

static void scores(const sv_mat *A, int i, int K, const double *W, double *z);
static void add_outer(const sv_mat *A, int i, int K, double alpha, const double *r, double *G);
static double ridge(const sv_mnl *p, const double *W, double *grad);
static double sample_into(const sv_mnl *p, const double *W, int i, double coef, double *grad,
                          double *work);

/* z = W' a_i (K values), going over the stored entries of row i only. */
static void scores(const sv_mat *A, int i, int K, const double *W, double *z)
{
    sv_zero(K, z);
    if (A->kind == SV_MAT_DENSE) {
        const double *a = A->dense.data + (size_t)i * A->cols;
        for (int j = 0; j < A->cols; j++)
            if (a[j] != 0.0)
                sv_axpy(K, a[j], W + (size_t)j * K, z);
    } else {
        for (int q = A->csr.rowptr[i]; q < A->csr.rowptr[i + 1]; q++)
            sv_axpy(K, A->csr.val[q], W + (size_t)A->csr.colind[q] * K, z);
    }
}

/* G += alpha a_i r' (G is d x K). */
static void add_outer(const sv_mat *A, int i, int K, double alpha, const double *r, double *G)
{
    if (A->kind == SV_MAT_DENSE) {
        const double *a = A->dense.data + (size_t)i * A->cols;
        for (int j = 0; j < A->cols; j++)
            if (a[j] != 0.0)
                sv_axpy(K, alpha * a[j], r, G + (size_t)j * K);
    } else {
        for (int q = A->csr.rowptr[i]; q < A->csr.rowptr[i + 1]; q++)
            sv_axpy(K, alpha * A->csr.val[q], r, G + (size_t)A->csr.colind[q] * K);
    }
}

/* (lambda/2)|W|^2; grad (if any) is set to lambda W. */
static double ridge(const sv_mnl *p, const double *W, double *grad)
{
    int n = p->A->cols * p->K;
    if (grad) {
        sv_copy(n, W, grad);
        sv_scal(n, p->lambda, grad);
    }
    return p->lambda > 0 ? 0.5 * p->lambda * sv_dot(n, W, W) : 0.0;
}

/* Loss of sample i; grad += coef a_i (p_i - e_{y_i})' when grad is given. */
static double sample_into(const sv_mnl *p, const double *W, int i, double coef, double *grad,
                          double *work)
{
    double *prob = work + p->K;
    double l = sv_mnl_sample(p, W, i, prob, work);
    if (grad && coef != 0.0) {
        prob[p->y[i]] -= 1.0;
        add_outer(p->A, i, p->K, coef, prob, grad);
    }
    return l;
}

int sv_mnl_check(const sv_mnl *p, sv_err *e)
{
    if (!p || !p->A || p->A->rows < 1 || p->A->cols < 1)
        return sv_fail(e, "/problem/A", "needs at least one row and column");
    if (p->K < 2)
        return sv_fail(e, "/problem/classes", "needs at least 2 classes, got %d", p->K);
    if (!p->y)
        return sv_fail(e, "/problem/y", "labels missing");
    char path[64];
    for (int i = 0; i < p->A->rows; i++) {
        if (p->y[i] < 0 || p->y[i] >= p->K) {
            snprintf(path, sizeof path, "/problem/y/%d", i);
            return sv_fail(e, path, "labels must be in [0, %d), got %d", p->K, p->y[i]);
        }
        if (p->w && !(isfinite(p->w[i]) && p->w[i] >= 0)) {
            snprintf(path, sizeof path, "/problem/w/%d", i);
            return sv_fail(e, path, "sample weights must be finite and >= 0");
        }
    }
    if (!(isfinite(p->lambda) && p->lambda >= 0))
        return sv_fail(e, "/problem/lambda", "must be a finite number >= 0");
    return SV_OK;
}

double sv_mnl_sample(const sv_mnl *p, const double *W, int i, double *prob, double *work)
{
    double *z = work;
    scores(p->A, i, p->K, W, z);
    double lse = sv_softmax(p->K, z, prob);
    return lse - z[p->y[i]];  /* >= 0: lse >= max_c z_c */
}

double sv_mnl_value(const sv_mnl *p, const double *W, double *grad, double *work)
{
    double f = ridge(p, W, grad);
    const int m = p->A->rows;
    double data = 0.0;
    for (int i = 0; i < m; i++) {
        double wi = p->w ? p->w[i] : 1.0;
        data += wi * sample_into(p, W, i, wi / m, grad, work);
    }
    return f + data / m;
}

double sv_mnl_batch_value(const sv_mnl *p, const int *idx, int k, const double *W, double *grad,
                          double *work)
{
    double f = ridge(p, W, grad);
    if (k <= 0)
        return f;
    double data = 0.0;
    for (int t = 0; t < k; t++) {
        int i = idx[t];
        double wi = p->w ? p->w[i] : 1.0;
        data += wi * sample_into(p, W, i, wi / k, grad, work);
    }
    return f + data / k;
}

void sv_mnl_hvp(const sv_mnl *p, const double *W, const double *V, double *out, double *work)
{
    const int m = p->A->rows, K = p->K;
    double *prob = work + K, *u = work + 2 * (size_t)K;
    sv_copy(p->A->cols * K, V, out);
    sv_scal(p->A->cols * K, p->lambda, out);
    for (int i = 0; i < m; i++) {
        double wi = p->w ? p->w[i] : 1.0;
        if (wi == 0.0)
            continue;
        (void)sv_mnl_sample(p, W, i, prob, work);
        scores(p->A, i, K, V, u);
        double pu = sv_dot(K, prob, u);
        for (int c = 0; c < K; c++)
            u[c] = prob[c] * (u[c] - pu);  /* (diag(p) - p p') u */
        add_outer(p->A, i, K, wi / m, u, out);
    }
}
