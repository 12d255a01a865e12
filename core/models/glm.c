/* glm.c - least-squares and logistic objectives over an sv_mat, with sample weights and ridge.
 * A full-data gradient is one pass over the data (sv_mat_fused_gemv: each row block's A x and
 * A^T r while it is in cache); mini-batches go row by row.
 * Both losses live here: each is a few lines, and sv_loss_eval is the one place they differ. */
#include "core/models/glm.h"

#include <math.h>
#include <stdlib.h>

/* Relative tolerance and step cap of the power iteration behind sv_glm_smoothness. */
#define SV_GLM_EIG_TOL 1e-10
#define SV_GLM_EIG_MAX_ITER 5000

/* ======================================================================== */
/* Static prototypes                                                         */
/* ======================================================================== */

static double loss_squared(double z, double b, double *d1, double *d2);
static double loss_logistic(double z, double b, double *d1, double *d2);
static double lambda_at(const sv_glm *p, int j);
static double ridge_value(const sv_glm *p, const double *x, double *grad_or_null);
static void ridge_add(const sv_glm *p, const double *v, double *out);

/* ======================================================================== */
/* Scalar losses                                                             */
/* ======================================================================== */

static double loss_squared(double z, double b, double *d1, double *d2)
{
    double r = z - b;
    if (d1)
        *d1 = r;
    if (d2)
        *d2 = 1.0;
    return 0.5 * r * r;
}

/* l = log(1 + exp(-t)) with t = b z. exp is only ever taken of -|t| <= 0, so nothing overflows
 * for any finite z; log1p keeps full precision where the loss is tiny (t >> 0). */
static double loss_logistic(double z, double b, double *d1, double *d2)
{
    double t = b * z;
    double e = exp(-fabs(t));          /* in (0, 1] */
    double l = (t >= 0.0 ? 0.0 : -t) + log1p(e);
    if (d1) {
        /* dl/dz = -b sigma(-t), sigma(-t) = 1/(1+exp(t)), from whichever side is stable. */
        double sig_neg = t >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
        *d1 = -b * sig_neg;
    }
    if (d2) {
        /* sigma(t) sigma(-t) = e / (1 + e)^2, symmetric in t. */
        double onep = 1.0 + e;
        *d2 = b * b * e / (onep * onep);
    }
    return l;
}

double sv_loss_eval(sv_loss loss, double z, double b, double *d1, double *d2)
{
    return loss == SV_LOSS_LOGISTIC ? loss_logistic(z, b, d1, d2) : loss_squared(z, b, d1, d2);
}

/* ======================================================================== */
/* Ridge                                                                     */
/* ======================================================================== */

static double lambda_at(const sv_glm *p, int j)
{
    return p->lambda_vec ? p->lambda_vec[j] : p->lambda;
}

/* (1/2) sum lambda_j x_j^2; when grad is non-NULL, sets grad = lambda .* x (overwrites). */
static double ridge_value(const sv_glm *p, const double *x, double *grad)
{
    int d = p->A->cols;
    double r = 0.0;
    for (int j = 0; j < d; j++) {
        double lj = lambda_at(p, j);
        r += lj * x[j] * x[j];
        if (grad)
            grad[j] = lj * x[j];
    }
    return 0.5 * r;
}

/* out += lambda .* v. */
static void ridge_add(const sv_glm *p, const double *v, double *out)
{
    int d = p->A->cols;
    for (int j = 0; j < d; j++)
        out[j] += lambda_at(p, j) * v[j];
}

/* ======================================================================== */
/* Full-data value, gradient, Hessian-vector product                         */
/* ======================================================================== */

/* The per-row part of a gradient pass: z holds a'x for rows [r0, r1); the loss is summed into
 * data and z becomes w_i l'(z_i) / m, the weights of A^T. */
typedef struct {
    const sv_glm *p;
    double inv_m;
    double data;
} grad_rows_ctx;

static void grad_rows(void *ctx, int r0, int r1, double *z)
{
    grad_rows_ctx *c = ctx;
    const sv_glm *p = c->p;
    double data = 0.0;
    for (int i = r0; i < r1; i++) {
        double d1, wi = p->w ? p->w[i] : 1.0;
        data += wi * sv_loss_eval(p->loss, z[i], p->b[i], &d1, NULL);
        z[i] = wi * d1 * c->inv_m;
    }
    c->data += data;
}

double sv_glm_value(const sv_glm *p, const double *x, double *grad, double *work)
{
    int m = p->A->rows;
    double f = ridge_value(p, x, grad);
    if (m == 0)
        return f;
    double inv_m = 1.0 / m;
    if (grad) {
        /* grad = A' (w .* l' / m) + lambda .* x in one pass over A (core/linalg.h). */
        grad_rows_ctx c = {p, inv_m, 0.0};
        sv_mat_fused_gemv(p->A, x, work, grad_rows, &c, grad);
        return f + c.data * inv_m;
    }
    double data = 0.0;
    sv_mat_gemv(0, 1.0, p->A, x, 0.0, work); /* work = A x */
    for (int i = 0; i < m; i++) {
        double wi = p->w ? p->w[i] : 1.0;
        data += wi * sv_loss_eval(p->loss, work[i], p->b[i], NULL, NULL);
    }
    return f + data * inv_m;
}

void sv_glm_hvp(const sv_glm *p, const double *x, const double *v, double *out, double *work)
{
    int m = p->A->rows, d = p->A->cols;
    sv_zero(d, out);
    ridge_add(p, v, out);
    if (m == 0)
        return;
    double *z = work, *av = work + m;
    sv_mat_gemv(0, 1.0, p->A, x, 0.0, z);
    sv_mat_gemv(0, 1.0, p->A, v, 0.0, av);
    double inv_m = 1.0 / m;
    for (int i = 0; i < m; i++) {
        double d2, wi = p->w ? p->w[i] : 1.0;
        (void)sv_loss_eval(p->loss, z[i], p->b[i], NULL, &d2);
        av[i] *= wi * d2 * inv_m;
    }
    /* out = A' diag(w l'' / m) A v + lambda .* v */
    sv_mat_gemv(1, 1.0, p->A, av, 1.0, out);
}

/* ======================================================================== */
/* Mini-batches                                                              */
/* ======================================================================== */

double sv_glm_batch_value(const sv_glm *p, const int *idx, int k, const double *x, double *grad)
{
    double f = ridge_value(p, x, grad);
    if (k <= 0)
        return f;
    double inv_k = 1.0 / k, data = 0.0;
    for (int t = 0; t < k; t++) {
        int i = idx[t];
        double d1, wi = p->w ? p->w[i] : 1.0;
        double z = sv_mat_row_dot(p->A, i, x);
        data += wi * sv_loss_eval(p->loss, z, p->b[i], grad ? &d1 : NULL, NULL);
        if (grad)
            sv_mat_row_axpy(p->A, i, wi * d1 * inv_k, grad);
    }
    return f + data * inv_k;
}

void sv_glm_batch_hvp(const sv_glm *p, const int *idx, int k, const double *x, const double *v,
                      double *out)
{
    sv_zero(p->A->cols, out);
    ridge_add(p, v, out);
    if (k <= 0)
        return;
    double inv_k = 1.0 / k;
    for (int t = 0; t < k; t++) {
        int i = idx[t];
        double d2, wi = p->w ? p->w[i] : 1.0;
        (void)sv_loss_eval(p->loss, sv_mat_row_dot(p->A, i, x), p->b[i], NULL, &d2);
        double coef = wi * d2 * inv_k;
        if (coef != 0.0)
            sv_mat_row_axpy(p->A, i, coef * sv_mat_row_dot(p->A, i, v), out);
    }
}

/* ======================================================================== */
/* Per-sample derivatives and curvature constants                            */
/* ======================================================================== */

void sv_glm_sample_derivs(const sv_glm *p, const double *x, double *z, double *l, double *d1,
                          double *d2)
{
    int m = p->A->rows;
    if (z)
        sv_mat_gemv(0, 1.0, p->A, x, 0.0, z);
    if (!l && !d1 && !d2)
        return;
    for (int i = 0; i < m; i++) {
        double zi = z ? z[i] : sv_mat_row_dot(p->A, i, x);
        double li = sv_loss_eval(p->loss, zi, p->b[i], d1 ? &d1[i] : NULL, d2 ? &d2[i] : NULL);
        if (l)
            l[i] = li;
    }
}

double sv_glm_smoothness(const sv_glm *p)
{
    int m = p->A->rows, d = p->A->cols;
    double lam_max = 0.0;
    for (int j = 0; j < d; j++) {
        double lj = lambda_at(p, j);
        if (j == 0 || lj > lam_max)
            lam_max = lj;
    }
    if (m == 0)
        return lam_max;
    double c = p->loss == SV_LOSS_LOGISTIC ? 0.25 : 1.0;
    double eig = sv_mat_gram_eigmax(p->A, p->w, SV_GLM_EIG_TOL, SV_GLM_EIG_MAX_ITER);
    return c * eig / m + lam_max;
}

double sv_glm_strong_convexity(const sv_glm *p, int exact)
{
    int m = p->A->rows, d = p->A->cols;
    double lam_min = 0.0;
    for (int j = 0; j < d; j++) {
        double lj = lambda_at(p, j);
        if (j == 0 || lj < lam_min)
            lam_min = lj;
    }
    if (!exact || p->loss != SV_LOSS_SQUARED || m == 0 || d == 0)
        return lam_min;
    sv_dense G;
    if (sv_mat_gram(p->A, p->w, &G) != SV_OK)
        return lam_min; /* still a valid lower bound */
    double *ev = malloc((size_t)d * sizeof(double));
    double eigmin = 0.0;
    if (ev && sv_sym_eig(d, G.data, ev, 0) == SV_OK && ev[0] > 0.0)
        eigmin = ev[0]; /* round-off can make a singular Gram slightly negative: clamp at 0 */
    free(ev);
    sv_dense_free(&G);
    return lam_min + eigmin / m;
}
