/* bl_multiblock.c - the multi-block bilevel model: per-block oracles over mini-batches, exact
 * lower-level solves and hypergradients (Newton and conjugate gradients over Hessian-vector
 * products), the container and the seeded generator. */
#include "core/models/bl_multiblock.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"

/* Conjugate gradients: relative residual target and a step cap (in exact arithmetic d steps
 * suffice; the slack absorbs rounding on ill-conditioned blocks). */
#define MB_CG_TOL 1e-12
#define MB_CG_EXTRA_ITER 100
/* Armijo backtracking of the Newton solve. */
#define MB_ARMIJO_C 1e-4
#define MB_MAX_HALVINGS 60
/* Relative size of rounding in a lower-level value (a few ulps of a sum of losses). */
#define MB_ROUNDING 1e-13

static int check_glm(const sv_glm *c, int j, int d, int val, sv_err *e);
static int max_rows(const sv_mb_problem *p);
static double ridge_at(const sv_glm *c, int i);
static double *vec(const sv_mb_problem *p, double *work, int slot);
static double *glm_work(const sv_mb_problem *p, double *work);
static int cg_solve(const sv_mb_problem *p, int j, const double *y, const double *rhs,
                    double *sol, double *work);

/* ================================ validation ================================ */

static int check_glm(const sv_glm *c, int j, int d, int val, sv_err *e)
{
    char path[96];
    const char *an = val ? "A_val" : "A", *bn = val ? "b_val" : "b";
    snprintf(path, sizeof path, "/problem/blocks/%d/%s", j, an);
    const sv_mat *A = c->A;
    if (!A || A->rows < 1 || A->cols < 1)
        return sv_fail(e, path, "block %d needs a matrix with at least one row and column", j);
    if (A->cols != d)
        return sv_fail(e, path, "block %d has %d columns, expected %d", j, A->cols, d);
    if (A->kind == SV_MAT_DENSE) {
        if (!A->dense.data || A->dense.rows != A->rows || A->dense.cols != A->cols)
            return sv_fail(e, path, "dense storage does not match the shape");
        for (int r = 0; r < A->rows; r++)
            if (!sv_all_finite(A->cols, A->dense.data + (size_t)r * A->cols))
                return sv_fail(e, path, "row %d holds a non-finite entry", r);
    } else if (A->kind == SV_MAT_CSR) {
        if (!A->csr.rowptr || A->csr.rows != A->rows || A->csr.cols != A->cols || A->csr.nnz < 0 ||
            (A->csr.nnz > 0 && (!A->csr.colind || !A->csr.val)))
            return sv_fail(e, path, "sparse storage does not match the shape");
        if (!sv_all_finite(A->csr.nnz, A->csr.val))
            return sv_fail(e, path, "holds a non-finite entry");
    } else {
        return sv_fail(e, path, "unknown matrix kind");
    }
    if (c->loss != SV_LOSS_SQUARED && c->loss != SV_LOSS_LOGISTIC)
        return sv_fail(e, "/problem/loss", "must be \"squared\" or \"logistic\"");
    snprintf(path, sizeof path, "/problem/blocks/%d/%s", j, bn);
    if (!c->b)
        return sv_fail(e, path, "targets missing");
    for (int r = 0; r < A->rows; r++) {
        double b = c->b[r];
        if (!isfinite(b) || (c->loss == SV_LOSS_LOGISTIC && b != 1.0 && b != -1.0)) {
            snprintf(path, sizeof path, "/problem/blocks/%d/%s/%d", j, bn, r);
            return sv_fail(e, path, c->loss == SV_LOSS_LOGISTIC ? "logistic labels must be -1 or 1"
                                                                : "must be finite");
        }
    }
    if (c->w)
        for (int r = 0; r < A->rows; r++)
            if (!(isfinite(c->w[r]) && c->w[r] >= 0))
                return sv_fail(e, path, "sample weights must be finite and >= 0");
    if (!(isfinite(c->lambda) && c->lambda >= 0))
        return sv_fail(e, "/problem/ridge", "must be a finite number >= 0");
    if (c->lambda_vec)
        for (int i = 0; i < d; i++)
            if (!(isfinite(c->lambda_vec[i]) && c->lambda_vec[i] >= 0))
                return sv_fail(e, "/problem/ridge", "must be finite and >= 0");
    return SV_OK;
}

int sv_mb_check(const sv_mb_problem *p, sv_err *e)
{
    if (!p || p->n_blocks < 1 || !p->train || !p->val)
        return sv_fail(e, "/problem/blocks", "at least one block is required");
    if (p->dim < 1)
        return sv_fail(e, "/problem/blocks", "the dimension must be at least 1");
    if (!(isfinite(p->mu) && p->mu > 0))
        return sv_fail(e, "/problem/mu", "must be a finite number > 0 (it makes every lower "
                       "level strongly convex)");
    if (!(isfinite(p->lambda) && p->lambda >= 0))
        return sv_fail(e, "/problem/lambda", "must be a finite number >= 0");
    int train_loss = p->train[0].loss;
    for (int j = 0; j < p->n_blocks; j++) {
        int rc = check_glm(&p->train[j], j, p->dim, 0, e);
        if (rc == SV_OK)
            rc = check_glm(&p->val[j], j, p->dim, 1, e);
        if (rc != SV_OK)
            return rc;
        if ((int)p->train[j].loss != train_loss || (int)p->val[j].loss != train_loss)
            return sv_fail(e, "/problem/loss", "every block must use the same loss");
    }
    return SV_OK;
}

static int max_rows(const sv_mb_problem *p)
{
    int r = 0;
    for (int j = 0; j < p->n_blocks; j++) {
        if (p->train[j].A->rows > r)
            r = p->train[j].A->rows;
        if (p->val[j].A->rows > r)
            r = p->val[j].A->rows;
    }
    return r;
}

size_t sv_mb_work_size(const sv_mb_problem *p)
{
    return 2 * (size_t)max_rows(p) + 8 * (size_t)p->dim;
}

/* Workspace layout: eight vectors of d, then 2R doubles for the glm kernels (R the largest row
 * count). Slots 0-2 belong to conjugate gradients, 3-5 to the callers of cg_solve, 6 to the
 * Hessian assembly and the Newton solve's trial gradient. */
static double *vec(const sv_mb_problem *p, double *work, int slot)
{
    return work + (size_t)slot * p->dim;
}

static double *glm_work(const sv_mb_problem *p, double *work)
{
    return work + 8 * (size_t)p->dim;
}

static double ridge_at(const sv_glm *c, int i)
{
    return c->lambda_vec ? c->lambda_vec[i] : c->lambda;
}

/* ================================ oracles ================================ */

double sv_mb_lower_value(const sv_mb_problem *p, int j, const double *x, const double *y,
                         double *work)
{
    double t = sv_glm_value(&p->train[j], y, NULL, glm_work(p, work)), prox = 0.0;
    for (int i = 0; i < p->dim; i++)
        prox += (y[i] - x[i]) * (y[i] - x[i]);
    return t + 0.5 * p->mu * prox;
}

void sv_mb_lower_grad(const sv_mb_problem *p, int j, const int *idx, int k, const double *x,
                      const double *y, double *out, double *work)
{
    if (idx)
        (void)sv_glm_batch_value(&p->train[j], idx, k, y, out);
    else
        (void)sv_glm_value(&p->train[j], y, out, glm_work(p, work));
    for (int i = 0; i < p->dim; i++)
        out[i] += p->mu * (y[i] - x[i]);
}

void sv_mb_lower_hvp(const sv_mb_problem *p, int j, const int *idx, int k, const double *y,
                     const double *v, double *out, double *work)
{
    if (idx)
        sv_glm_batch_hvp(&p->train[j], idx, k, y, v, out);
    else
        sv_glm_hvp(&p->train[j], y, v, out, glm_work(p, work));
    sv_axpy(p->dim, p->mu, v, out);
}

void sv_mb_lower_hessian(const sv_mb_problem *p, int j, const int *idx, int k, const double *y,
                         double *H, double *work)
{
    const sv_glm *c = &p->train[j];
    const int d = p->dim;
    const int count = idx ? k : c->A->rows;
    double *row = vec(p, work, 6);
    sv_zero(d * d, H);
    for (int t = 0; t < count; t++) {
        int r = idx ? idx[t] : t;
        double d2, wr = c->w ? c->w[r] : 1.0;
        (void)sv_loss_eval(c->loss, sv_mat_row_dot(c->A, r, y), c->b[r], NULL, &d2);
        double coef = wr * d2 / count;
        if (coef == 0.0)
            continue;
        sv_zero(d, row);
        sv_mat_row_axpy(c->A, r, 1.0, row);
        for (int a = 0; a < d; a++) {
            if (row[a] == 0.0)
                continue;
            double ca = coef * row[a];
            double *Ha = H + (size_t)a * d;
            for (int b = 0; b < d; b++)
                Ha[b] += ca * row[b];
        }
    }
    for (int a = 0; a < d; a++)
        H[(size_t)a * d + a] += ridge_at(c, a) + p->mu;
}

double sv_mb_upper_value(const sv_mb_problem *p, int j, const double *y, double *work)
{
    return sv_glm_value(&p->val[j], y, NULL, glm_work(p, work));
}

void sv_mb_upper_grad_y(const sv_mb_problem *p, int j, const int *idx, int k, const double *y,
                        double *out, double *work)
{
    if (idx)
        (void)sv_glm_batch_value(&p->val[j], idx, k, y, out);
    else
        (void)sv_glm_value(&p->val[j], y, out, glm_work(p, work));
}

void sv_mb_upper_grad_x(const sv_mb_problem *p, const double *x, double *out)
{
    for (int i = 0; i < p->dim; i++)
        out[i] = p->lambda * x[i];
}

void sv_mb_cross_apply(const sv_mb_problem *p, const double *v, double *out)
{
    for (int i = 0; i < p->dim; i++)
        out[i] = -p->mu * v[i];
}

double sv_mb_lower_smoothness(const sv_mb_problem *p, int j)
{
    return sv_glm_smoothness(&p->train[j]) + p->mu;
}

double sv_mb_lower_strong_convexity(const sv_mb_problem *p, int j)
{
    return sv_glm_strong_convexity(&p->train[j], 0) + p->mu;
}

double sv_mb_upper_smoothness(const sv_mb_problem *p, int j)
{
    return sv_glm_smoothness(&p->val[j]);
}

/* ================================ exact quantities ================================ */

/* sol = [grad^2_yy g_j(y)]^{-1} rhs over all rows, by conjugate gradients from zero. Uses slots
 * 0-2 of work. Returns the iterations taken. */
static int cg_solve(const sv_mb_problem *p, int j, const double *y, const double *rhs,
                    double *sol, double *work)
{
    const int d = p->dim;
    double *r = vec(p, work, 0), *dir = vec(p, work, 1), *Hd = vec(p, work, 2);
    sv_zero(d, sol);
    sv_copy(d, rhs, r);
    sv_copy(d, r, dir);
    double rs = sv_dot(d, r, r);
    const double target = MB_CG_TOL * MB_CG_TOL * rs;
    int it = 0;
    while (rs > target && rs > 0 && it < 10 * d + MB_CG_EXTRA_ITER) {
        sv_mb_lower_hvp(p, j, NULL, 0, y, dir, Hd, work);
        double curv = sv_dot(d, dir, Hd);
        if (!(curv > 0))
            break;
        double a = rs / curv;
        sv_axpy(d, a, dir, sol);
        sv_axpy(d, -a, Hd, r);
        double rs_new = sv_dot(d, r, r);
        double b = rs_new / rs;
        for (int i = 0; i < d; i++)
            dir[i] = r[i] + b * dir[i];
        rs = rs_new;
        it++;
    }
    return it;
}

double sv_mb_solve_lower(const sv_mb_problem *p, int j, const double *x, double *y, double tol,
                         int max_iter, double *work)
{
    const int d = p->dim;
    double *g = vec(p, work, 3), *step = vec(p, work, 4), *trial = vec(p, work, 5);
    sv_mb_lower_grad(p, j, NULL, 0, x, y, g, work);
    double gn = sv_nrm2(d, g);
    for (int it = 0; it < max_iter && gn > tol && isfinite(gn); it++) {
        cg_solve(p, j, y, g, step, work);
        double f0 = sv_mb_lower_value(p, j, x, y, work);
        double slope = sv_dot(d, g, step);  /* > 0: the Newton direction is -step */
        double t = 1.0;
        for (int h = 0; h < MB_MAX_HALVINGS; h++) {
            for (int i = 0; i < d; i++)
                trial[i] = y[i] - t * step[i];
            double ft = sv_mb_lower_value(p, j, x, trial, work);
            if (ft <= f0 - MB_ARMIJO_C * t * slope)
                break;
            /* Near the minimiser the decrease drowns in rounding: take the full Newton step
             * when the value holds to rounding and the gradient shrinks. */
            if (h == 0 && ft <= f0 + MB_ROUNDING * fabs(f0)) {
                double *gt = vec(p, work, 6);
                sv_mb_lower_grad(p, j, NULL, 0, x, trial, gt, work);
                if (sv_nrm2(d, gt) < gn)
                    break;
            }
            t *= 0.5;
        }
        sv_copy(d, trial, y);
        sv_mb_lower_grad(p, j, NULL, 0, x, y, g, work);
        gn = sv_nrm2(d, g);
    }
    return gn;
}

double sv_mb_objective(const sv_mb_problem *p, const double *x, const double *Y, double *work)
{
    const int d = p->dim;
    double f = 0.0;
    for (int j = 0; j < p->n_blocks; j++)
        f += sv_mb_upper_value(p, j, Y + (size_t)j * d, work);
    return f / p->n_blocks + 0.5 * p->lambda * sv_dot(d, x, x);
}

double sv_mb_hypergrad(const sv_mb_problem *p, const double *x, const double *Y, double *out,
                       double *work)
{
    const int d = p->dim, m = p->n_blocks;
    sv_mb_upper_grad_x(p, x, out);
    for (int j = 0; j < m; j++)
        sv_mb_hypergrad_add(p, j, Y + (size_t)j * d, out, work);
    return sv_nrm2(d, out);
}

void sv_mb_hypergrad_add(const sv_mb_problem *p, int j, const double *y, double *out,
                         double *work)
{
    double *gv = vec(p, work, 3), *sol = vec(p, work, 4);
    sv_mb_upper_grad_y(p, j, NULL, 0, y, gv, work);
    cg_solve(p, j, y, gv, sol, work);
    sv_axpy(p->dim, p->mu / p->n_blocks, sol, out);  /* - grad^2_xy g_j sol = mu sol */
}

double sv_mb_lower_residual(const sv_mb_problem *p, const double *x, const double *Y,
                            double *work)
{
    const int d = p->dim;
    double *g = vec(p, work, 3), s = 0.0;
    for (int j = 0; j < p->n_blocks; j++) {
        sv_mb_lower_grad(p, j, NULL, 0, x, Y + (size_t)j * d, g, work);
        s += sv_dot(d, g, g);
    }
    return sqrt(s / p->n_blocks);
}

/* ================================ container ================================ */

int sv_mb_data_alloc(sv_mb_data *d, int n_blocks, int dim)
{
    memset(d, 0, sizeof *d);
    d->A = calloc((size_t)n_blocks, sizeof *d->A);
    d->A_val = calloc((size_t)n_blocks, sizeof *d->A_val);
    d->b = calloc((size_t)n_blocks, sizeof *d->b);
    d->b_val = calloc((size_t)n_blocks, sizeof *d->b_val);
    d->train = calloc((size_t)n_blocks, sizeof *d->train);
    d->val = calloc((size_t)n_blocks, sizeof *d->val);
    d->prob.n_blocks = n_blocks;
    d->prob.dim = dim;
    if (!d->A || !d->A_val || !d->b || !d->b_val || !d->train || !d->val) {
        sv_mb_data_free(d);
        return SV_ENOMEM;
    }
    return SV_OK;
}

void sv_mb_data_bind(sv_mb_data *d, sv_loss loss, double ridge, double mu, double lambda)
{
    for (int j = 0; j < d->prob.n_blocks; j++) {
        d->train[j] = (sv_glm){loss, &d->A[j], d->b[j], NULL, ridge, NULL};
        d->val[j] = (sv_glm){loss, &d->A_val[j], d->b_val[j], NULL, 0.0, NULL};
    }
    d->prob.mu = mu;
    d->prob.lambda = lambda;
    d->prob.train = d->train;
    d->prob.val = d->val;
}

void sv_mb_data_free(sv_mb_data *d)
{
    if (!d)
        return;
    for (int j = 0; j < d->prob.n_blocks; j++) {
        if (d->A)
            sv_mat_free(&d->A[j]);
        if (d->A_val)
            sv_mat_free(&d->A_val[j]);
        if (d->b)
            free(d->b[j]);
        if (d->b_val)
            free(d->b_val[j]);
    }
    free(d->A);
    free(d->A_val);
    free(d->b);
    free(d->b_val);
    free(d->train);
    free(d->val);
    memset(d, 0, sizeof *d);
}

/* ================================ generator ================================ */

/* Rows a ~ N(0, I) and their targets from the task vector w. */
static void fill_rows(sv_rng *rng, const sv_mb_gen_spec *s, const double *w, sv_mat *A, double *b)
{
    const int d = s->dim;
    for (int r = 0; r < A->rows; r++) {
        double *row = A->dense.data + (size_t)r * d;
        for (int i = 0; i < d; i++)
            row[i] = sv_rng_normal(rng);
        double z = sv_dot(d, row, w);
        if (s->loss == SV_LOSS_SQUARED) {
            b[r] = z + s->noise * sv_rng_normal(rng);
        } else {
            double pr = 1.0 / (1.0 + exp(-z));
            b[r] = sv_rng_uniform(rng) < pr ? 1.0 : -1.0;
        }
    }
}

static const char *const loss_choices[] = {"squared", "logistic", NULL};

const sv_param_spec sv_mb_gen_params[] = {
    SV_P_INT32_REQ(sv_mb_gen_spec, blocks, 1, INT_MAX, "m: number of blocks (related tasks)"),
    SV_P_INT32_REQ(sv_mb_gen_spec, rows, 1, INT_MAX, "training rows per block"),
    SV_P_INT32(sv_mb_gen_spec, val_rows, 0, INT_MAX, 0,
               "validation rows per block; 0: as many as rows"),
    SV_P_INT32_REQ(sv_mb_gen_spec, dim, 1, INT_MAX, "dimension of x and of every y_j"),
    SV_P_ENUM(sv_mb_gen_spec, loss, loss_choices, SV_LOSS_SQUARED,
              "squared (least squares) or logistic (labels -1/+1)"),
    SV_P_NUMBER(sv_mb_gen_spec, spread, 0, INFINITY, SV_MB_GEN_DEFAULT_SPREAD,
                "how far the task vectors w_j = w + spread delta_j lie from their mean"),
    SV_P_NUMBER(sv_mb_gen_spec, noise, 0, INFINITY, SV_MB_GEN_DEFAULT_NOISE,
                "standard deviation of the target noise (squared loss)"),
    SV_P_NUMBER_GT(sv_mb_gen_spec, mu, 0, INFINITY, SV_MB_GEN_DEFAULT_MU,
                   "weight of the proximity term (mu/2)|y_j - x|^2 coupling every block to x"),
    SV_P_NUMBER(sv_mb_gen_spec, lambda, 0, INFINITY, 0, "ridge on x in the upper level"),
    SV_P_NUMBER(sv_mb_gen_spec, ridge, 0, INFINITY, 0, "ridge on y_j in every lower level"),
    SV_P_SEED(sv_mb_gen_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_PARAMS_END,
};

int sv_mb_gen_val_rows(const sv_mb_gen_spec *s)
{
    return s->val_rows > 0 ? s->val_rows : s->rows;
}

int sv_mb_generate(const sv_mb_gen_spec *s, sv_mb_data *out, sv_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!s || !out)
        return sv_fail(e, "/problem/generate", "spec or output missing");
    int rc = sv_params_validate(sv_mb_gen_params, s, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;

    const int m = s->blocks, d = s->dim;
    double *wbar = malloc(2 * (size_t)d * sizeof *wbar);
    if (!wbar || sv_mb_data_alloc(out, m, d) != SV_OK) {
        free(wbar);
        return SV_ENOMEM;
    }
    double *w = wbar + d;
    const double sd = 2.0 / sqrt((double)d);
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    for (int i = 0; i < d; i++)
        wbar[i] = sd * sv_rng_normal(&rng);
    for (int j = 0; j < m; j++) {
        if (sv_mat_dense(&out->A[j], s->rows, d) != SV_OK ||
            sv_mat_dense(&out->A_val[j], sv_mb_gen_val_rows(s), d) != SV_OK ||
            !(out->b[j] = calloc((size_t)s->rows, sizeof(double))) ||
            !(out->b_val[j] = calloc((size_t)sv_mb_gen_val_rows(s), sizeof(double)))) {
            free(wbar);
            sv_mb_data_free(out);
            return SV_ENOMEM;
        }
        for (int i = 0; i < d; i++)
            w[i] = wbar[i] + s->spread * sd * sv_rng_normal(&rng);
        fill_rows(&rng, s, w, &out->A[j], out->b[j]);
        fill_rows(&rng, s, w, &out->A_val[j], out->b_val[j]);
    }
    free(wbar);
    sv_mb_data_bind(out, s->loss, s->ridge, s->mu, s->lambda);
    return SV_OK;
}
