/* bip.c - BiP for linear and logistic models, with its pruning problem.
 *
 * One iteration (the paper's alternating scheme, one SGD step on each level):
 *   theta-step:  theta <- theta - lr (m .* grad_z l_tr(z) + gamma theta),  z = m .* theta,
 *                on a mini-batch of training rows (lower_steps times);
 *   m-step:      g_up = grad_z l_up(z), g_tr = grad_z l_tr(z) on mini-batches, then
 *                IG = theta .* g_up - (1/gamma) g_tr .* (m .* g_up)     (hessian_free)
 *                and s <- s - mask_lr IG (top-k scores; m = top-k(s)) or
 *                m <- Proj_{[0,1]^d, 1'm <= k}(m - mask_lr IG) (relaxed).
 * Why that IG: for z = m .* theta, grad_theta l = m .* grad_z l and grad_m l = theta .* grad_z l;
 * the implicit function theorem gives
 *   (d theta_star / dm)' = -grad^2_{m theta} g [grad^2_theta g]^{-1}
 * with grad^2_theta g = diag(m) grad^2 l diag(m) + gamma I and grad^2_{m theta} g =
 * diag(grad_z l) + diag(theta) grad^2 l diag(m); with grad^2 l = 0 (the paper's Hessian-free
 * assumption) the inverse is I/gamma and the cross term is diagonal, leaving the product above.
 * The exact variant keeps grad^2 l and applies the inverse by conjugate gradients. */
#include "core/solvers/bilevel/bip.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/matcheck.h"
#include "core/rng.h"

/* Exact retraining: Newton steps, conjugate-gradient tolerance and cap, Armijo constants. */
#define BIP_NEWTON_MAX_ITER 100
#define BIP_CG_TOL 1e-12
#define BIP_CG_EXTRA_ITER 100
#define BIP_ARMIJO_C 1e-4
#define BIP_MAX_HALVINGS 60
/* Relative size of rounding in a training-loss value. */
#define BIP_ROUNDING 1e-13
/* The run counts as diverged once |theta| exceeds this. */
#define BIP_DIVERGENCE_NORM 1e100

static sv_glm glm_of(const bip_problem *p, int val);
static void order_desc(int d, const double *key, int *idx, int *tmp);
static void topk_binary(int d, int k, const double *key, double *mask, int *idx, int *tmp);
static double lower_objective(const sv_glm *tr, const double *mask, double gamma,
                              const double *theta, double *z);
static void lower_grad(const sv_glm *tr, const double *mask, double gamma, const double *theta,
                       double *z, double *gz, double *out, double *work);
static void lower_hvp(const sv_glm *tr, const double *mask, double gamma, const double *z,
                      const double *v, double *out, double *tmp, double *work);
static int cg_lower(const sv_glm *tr, const double *mask, double gamma, const double *z,
                    const double *rhs, double *sol, double *r, double *dir, double *Hd,
                    double *tmp, double *work);

/* ================================ problem ================================ */

static sv_glm glm_of(const bip_problem *p, int val)
{
    sv_glm g = {p->loss, val ? p->A_val : p->A, val ? p->b_val : p->b, NULL, 0.0, NULL};
    return g;
}

static int check_rows(const sv_mat *A, const double *b, sv_loss loss, int d, int val, sv_err *e)
{
    const char *an = val ? "/problem/A_val" : "/problem/A", *bn = val ? "b_val" : "b";
    char path[96];
    if (!A || A->rows < 1 || A->cols < 1)
        return sv_fail(e, an, "needs a matrix with at least one row and column");
    if (d > 0 && A->cols != d)
        return sv_fail(e, an, "has %d columns, the training rows have %d", A->cols, d);
    if (sv_mat_check_storage(A, an, e) != SV_OK)
        return SV_EINVAL;
    if (!b) {
        snprintf(path, sizeof path, "/problem/%s", bn);
        return sv_fail(e, path, "targets missing");
    }
    for (int r = 0; r < A->rows; r++)
        if (!isfinite(b[r]) || (loss == SV_LOSS_LOGISTIC && b[r] != 1.0 && b[r] != -1.0)) {
            snprintf(path, sizeof path, "/problem/%s/%d", bn, r);
            return sv_fail(e, path, loss == SV_LOSS_LOGISTIC ? "logistic labels must be -1 or 1"
                                                             : "must be finite");
        }
    return SV_OK;
}

int bip_check_problem(const bip_problem *p, sv_err *e)
{
    if (!p)
        return sv_fail(e, "/problem", "problem missing");
    if (p->loss != SV_LOSS_SQUARED && p->loss != SV_LOSS_LOGISTIC)
        return sv_fail(e, "/problem/loss", "must be \"squared\" or \"logistic\"");
    int rc = check_rows(p->A, p->b, p->loss, 0, 0, e);
    if (rc == SV_OK)
        rc = check_rows(p->A_val, p->b_val, p->loss, p->A->cols, 1, e);
    if (rc != SV_OK)
        return rc;
    if (p->k < 1 || p->k > p->A->cols)
        return sv_fail(e, "/problem/k", "must be between 1 and the %d weights, got %d",
                       p->A->cols, p->k);
    return SV_OK;
}

double bip_loss(const bip_problem *p, int val, const double *z)
{
    const sv_mat *A = val ? p->A_val : p->A;
    const double *b = val ? p->b_val : p->b;
    double s = 0.0;
    for (int r = 0; r < A->rows; r++)
        s += sv_loss_eval(p->loss, sv_mat_row_dot(A, r, z), b[r], NULL, NULL);
    return s / A->rows;
}

/* ================================ masks ================================ */

/* idx = 0..d-1 ordered by key descending, ties by index ascending (a stable merge sort, so
 * the order and hence the mask are reproducible). tmp: d ints. */
static void order_desc(int d, const double *key, int *idx, int *tmp)
{
    for (int i = 0; i < d; i++)
        idx[i] = i;
    for (int width = 1; width < d; width *= 2) {
        for (int lo = 0; lo < d; lo += 2 * width) {
            int mid = lo + width < d ? lo + width : d;
            int hi = lo + 2 * width < d ? lo + 2 * width : d;
            int a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                tmp[o++] = key[idx[b]] > key[idx[a]] ? idx[b++] : idx[a++];
            while (a < mid)
                tmp[o++] = idx[a++];
            while (b < hi)
                tmp[o++] = idx[b++];
        }
        memcpy(idx, tmp, (size_t)d * sizeof *idx);
    }
}

static void topk_binary(int d, int k, const double *key, double *mask, int *idx, int *tmp)
{
    order_desc(d, key, idx, tmp);
    sv_zero(d, mask);
    for (int i = 0; i < k; i++)
        mask[idx[i]] = 1.0;
}

int bip_magnitude_mask(int d, int k, const double *theta, double *mask)
{
    double *mag = malloc((size_t)d * sizeof *mag);
    int *idx = malloc(2 * (size_t)d * sizeof *idx);
    if (!mag || !idx) {
        free(mag);
        free(idx);
        return SV_ENOMEM;
    }
    for (int j = 0; j < d; j++)
        mag[j] = fabs(theta[j]);
    topk_binary(d, k, mag, mask, idx, idx + d);
    free(mag);
    free(idx);
    return SV_OK;
}

/* m <- the Euclidean projection onto {m in [0,1]^d : 1'm <= k}: clip(m - nu, 0, 1) with the
 * smallest nu >= 0 that meets the budget, found by bisection (1'clip(m - nu) falls with nu). */
void bip_project_relaxed(int d, double k, double *m)
{
    double sum = 0.0, hi = 0.0;
    for (int j = 0; j < d; j++) {
        sum += fmin(fmax(m[j], 0.0), 1.0);
        hi = fmax(hi, m[j]);
    }
    double nu = 0.0;
    if (sum > k) {
        double lo = 0.0;
        for (int it = 0; it < BIP_PROJ_MAX_ITER; it++) {
            nu = 0.5 * (lo + hi);
            double s = 0.0;
            for (int j = 0; j < d; j++)
                s += fmin(fmax(m[j] - nu, 0.0), 1.0);
            if (fabs(s - k) <= BIP_PROJ_TOL * k)
                break;
            if (s > k)
                lo = nu;
            else
                hi = nu;
        }
        nu = hi > nu ? nu : hi;
    }
    for (int j = 0; j < d; j++)
        m[j] = fmin(fmax(m[j] - nu, 0.0), 1.0);
}

/* ================================ lower level ================================ */

/* l_tr(mask .* theta) + (gamma/2)|theta|^2; z gets mask .* theta. */
static double lower_objective(const sv_glm *tr, const double *mask, double gamma,
                              const double *theta, double *z)
{
    const int d = tr->A->cols;
    for (int j = 0; j < d; j++)
        z[j] = mask[j] * theta[j];
    double s = 0.0;
    for (int r = 0; r < tr->A->rows; r++)
        s += sv_loss_eval(tr->loss, sv_mat_row_dot(tr->A, r, z), tr->b[r], NULL, NULL);
    return s / tr->A->rows + 0.5 * gamma * sv_dot(d, theta, theta);
}

/* out = mask .* grad_z l_tr(z) + gamma theta over all rows, z = mask .* theta; gz gets
 * grad_z l_tr(z). work: rows doubles. */
static void lower_grad(const sv_glm *tr, const double *mask, double gamma, const double *theta,
                       double *z, double *gz, double *out, double *work)
{
    const int d = tr->A->cols;
    for (int j = 0; j < d; j++)
        z[j] = mask[j] * theta[j];
    (void)sv_glm_value(tr, z, gz, work);
    for (int j = 0; j < d; j++)
        out[j] = mask[j] * gz[j] + gamma * theta[j];
}

/* out = (diag(mask) H_z diag(mask) + gamma I) v, H_z the Hessian of l_tr at z. tmp: d, work: 2
 * rows. */
static void lower_hvp(const sv_glm *tr, const double *mask, double gamma, const double *z,
                      const double *v, double *out, double *tmp, double *work)
{
    const int d = tr->A->cols;
    for (int j = 0; j < d; j++)
        tmp[j] = mask[j] * v[j];
    sv_glm_hvp(tr, z, tmp, out, work);
    for (int j = 0; j < d; j++)
        out[j] = mask[j] * out[j] + gamma * v[j];
}

/* sol = (diag(mask) H_z diag(mask) + gamma I)^{-1} rhs by conjugate gradients from zero. */
static int cg_lower(const sv_glm *tr, const double *mask, double gamma, const double *z,
                    const double *rhs, double *sol, double *r, double *dir, double *Hd,
                    double *tmp, double *work)
{
    const int d = tr->A->cols;
    sv_zero(d, sol);
    sv_copy(d, rhs, r);
    sv_copy(d, r, dir);
    double rs = sv_dot(d, r, r);
    const double target = BIP_CG_TOL * BIP_CG_TOL * rs;
    int it = 0;
    while (rs > target && rs > 0 && it < 10 * d + BIP_CG_EXTRA_ITER) {
        lower_hvp(tr, mask, gamma, z, dir, Hd, tmp, work);
        double curv = sv_dot(d, dir, Hd);
        if (!(curv > 0))
            break;
        double a = rs / curv;
        sv_axpy(d, a, dir, sol);
        sv_axpy(d, -a, Hd, r);
        double rs_new = sv_dot(d, r, r);
        double beta = rs_new / rs;
        for (int j = 0; j < d; j++)
            dir[j] = r[j] + beta * dir[j];
        rs = rs_new;
        it++;
    }
    return it;
}

double bip_retrain(const bip_problem *p, const double *mask, double gamma, double tol,
                   double *theta)
{
    const sv_glm tr = glm_of(p, 0);
    const int d = p->A->cols, n = p->A->rows;
    double *v = calloc(9 * (size_t)d + 2 * (size_t)n, sizeof *v);
    if (!v)
        return NAN;
    double *z = v, *gz = z + d, *g = gz + d, *step = g + d, *trial = step + d;
    double *r = trial + d, *dir = r + d, *Hd = dir + d, *tmp = Hd + d, *work = tmp + d;
    for (int j = 0; j < d; j++)
        if (mask[j] == 0.0)
            theta[j] = 0.0;  /* the minimiser there: only the ridge acts */
    lower_grad(&tr, mask, gamma, theta, z, gz, g, work);
    double gn = sv_nrm2(d, g);
    for (int it = 0; it < BIP_NEWTON_MAX_ITER && gn > tol && isfinite(gn); it++) {
        cg_lower(&tr, mask, gamma, z, g, step, r, dir, Hd, tmp, work);
        double f0 = lower_objective(&tr, mask, gamma, theta, z);
        double slope = sv_dot(d, g, step);
        double t = 1.0;
        for (int h = 0; h < BIP_MAX_HALVINGS; h++) {
            for (int j = 0; j < d; j++)
                trial[j] = theta[j] - t * step[j];
            double ft = lower_objective(&tr, mask, gamma, trial, z);
            if (ft <= f0 - BIP_ARMIJO_C * t * slope)
                break;
            /* Near the minimiser the decrease drowns in rounding: take the full Newton step
             * when the value holds to rounding and the gradient shrinks. */
            if (h == 0 && ft <= f0 + BIP_ROUNDING * fabs(f0)) {
                lower_grad(&tr, mask, gamma, trial, z, gz, r, work);
                if (sv_nrm2(d, r) < gn)
                    break;
            }
            t *= 0.5;
        }
        sv_copy(d, trial, theta);
        lower_grad(&tr, mask, gamma, theta, z, gz, g, work);
        gn = sv_nrm2(d, g);
    }
    free(v);
    return gn;
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
    if (s->rows < 1)
        return sv_fail(e, "/problem/generate/rows", "must be at least 1");
    if (s->val_rows < 1)
        return sv_fail(e, "/problem/generate/val_rows", "must be at least 1");
    if (s->dim < 1)
        return sv_fail(e, "/problem/generate/dim", "must be at least 1");
    if (s->support < 1 || s->support > s->dim)
        return sv_fail(e, "/problem/generate/support", "must be between 1 and dim = %d", s->dim);
    if (s->loss != SV_LOSS_SQUARED && s->loss != SV_LOSS_LOGISTIC)
        return sv_fail(e, "/problem/generate/loss", "must be \"squared\" or \"logistic\"");
    if (!(s->correlation >= 0 && s->correlation < 1))
        return sv_fail(e, "/problem/generate/correlation", "must be in [0, 1)");
    if (!(s->scale_spread >= 0 && s->scale_spread <= BIP_GEN_MAX_SCALE_SPREAD))
        return sv_fail(e, "/problem/generate/scale_spread", "must be in [0, %g]",
                       BIP_GEN_MAX_SCALE_SPREAD);
    if (!(isfinite(s->noise) && s->noise >= 0))
        return sv_fail(e, "/problem/generate/noise", "must be a finite number >= 0");

    const int d = s->dim;
    double *scale = malloc((size_t)d * sizeof *scale);
    int *perm = malloc((size_t)d * sizeof *perm);
    out->w_true = calloc((size_t)d, sizeof *out->w_true);
    out->b = malloc((size_t)s->rows * sizeof *out->b);
    out->b_val = malloc((size_t)s->val_rows * sizeof *out->b_val);
    if (!scale || !perm || !out->w_true || !out->b || !out->b_val ||
        sv_mat_dense(&out->A, s->rows, d) != SV_OK ||
        sv_mat_dense(&out->A_val, s->val_rows, d) != SV_OK) {
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

/* ================================ settings ================================ */

void bip_settings_default(bip_settings *s)
{
    s->mask = BIP_DEFAULT_MASK;
    s->implicit = BIP_DEFAULT_IG;
    s->upper = BIP_DEFAULT_UPPER;
    s->init = BIP_DEFAULT_INIT;
    s->select = BIP_DEFAULT_SELECT;
    s->gamma = BIP_DEFAULT_GAMMA;
    s->lr = NAN;
    s->mask_lr = BIP_DEFAULT_MASK_LR;
    s->lower_steps = BIP_DEFAULT_LOWER_STEPS;
    s->batch = BIP_DEFAULT_BATCH;
    s->retrain = BIP_DEFAULT_RETRAIN;
    s->retrain_tol = BIP_DEFAULT_RETRAIN_TOL;
    s->patience = BIP_DEFAULT_PATIENCE;
    s->max_iter = BIP_DEFAULT_MAX_ITER;
    s->time_limit_s = BIP_DEFAULT_TIME_LIMIT_S;
    s->report_every = BIP_DEFAULT_REPORT_EVERY;
    s->seed = BIP_DEFAULT_SEED;
}

int bip_check_settings(const bip_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    if (s->mask != BIP_MASK_TOPK && s->mask != BIP_MASK_RELAXED)
        return sv_fail(e, "/params/mask", "must be \"topk\" or \"relaxed\"");
    if (s->implicit != BIP_IG_HESSIAN_FREE && s->implicit != BIP_IG_EXACT &&
        s->implicit != BIP_IG_NONE)
        return sv_fail(e, "/params/implicit", "must be \"hessian_free\", \"exact\" or \"none\"");
    if (s->upper != BIP_UPPER_TRAIN && s->upper != BIP_UPPER_VALIDATION)
        return sv_fail(e, "/params/upper", "must be \"train\" or \"validation\"");
    if (s->init != BIP_INIT_MAGNITUDE && s->init != BIP_INIT_RANDOM)
        return sv_fail(e, "/params/init", "must be \"magnitude\" or \"random\"");
    if (s->select != BIP_SELECT_BEST && s->select != BIP_SELECT_LAST)
        return sv_fail(e, "/params/select", "must be \"best\" or \"last\"");
    if (!(isfinite(s->gamma) && s->gamma > 0))
        return sv_fail(e, "/params/gamma", "must be a positive finite number");
    if (!isnan(s->lr) && !(isfinite(s->lr) && s->lr > 0))
        return sv_fail(e, "/params/lr", "must be a positive finite number or null");
    if (!(isfinite(s->mask_lr) && s->mask_lr > 0))
        return sv_fail(e, "/params/mask_lr", "must be a positive finite number");
    if (s->lower_steps < 1)
        return sv_fail(e, "/params/lower_steps", "must be at least 1, got %ld", s->lower_steps);
    if (s->batch < 0)
        return sv_fail(e, "/params/batch", "must be >= 0 (0: all rows), got %ld", s->batch);
    if (s->retrain != 0 && s->retrain != 1)
        return sv_fail(e, "/params/retrain", "must be true or false");
    if (!(isfinite(s->retrain_tol) && s->retrain_tol > 0))
        return sv_fail(e, "/params/retrain_tol", "must be a positive finite number");
    if (s->patience < 0)
        return sv_fail(e, "/params/patience", "must be >= 0 (0: off), got %ld", s->patience);
    if (s->max_iter < 0)
        return sv_fail(e, "/params/max_iter", "must be >= 0, got %ld", s->max_iter);
    if (!(isfinite(s->time_limit_s) && s->time_limit_s >= 0))
        return sv_fail(e, "/params/time_limit_s", "must be a finite number >= 0 (0: no limit)");
    if (s->report_every < 1)
        return sv_fail(e, "/params/report_every", "must be at least 1, got %ld", s->report_every);
    return SV_OK;
}

/* ================================ implicit gradient ================================ */

/* Scratch of the exact implicit gradient: six vectors of d and 2 R doubles for glm. */
typedef struct {
    double *w, *r, *dir, *Hd, *tmp, *hz;
    double *work;
} ig_scratch;

/* out = the implicit gradient from the gradients g_tr = grad_z l_tr(z) and g_up =
 * grad_z l_up(z) at z = m .* theta:
 *   grad_m f = theta .* g_up,  grad_theta f = m .* g_up,
 *   hessian_free:  out = grad_m f - (1/gamma) g_tr .* grad_theta f
 *   exact:         out = grad_m f - [g_tr .* w + theta .* H (m .* w)],
 *                  w = (diag(m) H diag(m) + gamma I)^{-1} grad_theta f, H = grad^2 l_tr(z)
 *   none:          out = grad_m f. */
static void ig_combine(const sv_glm *tr, int implicit, double gamma, const double *m,
                       const double *theta, const double *z, const double *g_tr,
                       const double *g_up, double *out, ig_scratch *sc)
{
    const int d = tr->A->cols;
    for (int j = 0; j < d; j++)
        out[j] = theta[j] * g_up[j];
    if (implicit == BIP_IG_HESSIAN_FREE) {
        for (int j = 0; j < d; j++)
            out[j] -= g_tr[j] * m[j] * g_up[j] / gamma;
    } else if (implicit == BIP_IG_EXACT) {
        for (int j = 0; j < d; j++)
            sc->hz[j] = m[j] * g_up[j];
        cg_lower(tr, m, gamma, z, sc->hz, sc->w, sc->r, sc->dir, sc->Hd, sc->tmp, sc->work);
        for (int j = 0; j < d; j++)
            sc->tmp[j] = m[j] * sc->w[j];
        sv_glm_hvp(tr, z, sc->tmp, sc->hz, sc->work);
        for (int j = 0; j < d; j++)
            out[j] -= g_tr[j] * sc->w[j] + theta[j] * sc->hz[j];
    }
}

int bip_implicit_gradient(const bip_problem *p, int implicit, int upper, double gamma,
                          const double *m, const double *theta, double *out)
{
    const sv_glm tr = glm_of(p, 0), va = glm_of(p, 1);
    const int d = p->A->cols, R = p->A->rows > p->A_val->rows ? p->A->rows : p->A_val->rows;
    double *v = calloc(9 * (size_t)d + 2 * (size_t)R, sizeof *v);
    if (!v)
        return SV_ENOMEM;
    double *z = v, *g_tr = z + d, *g_up = g_tr + d;
    ig_scratch sc = {g_up + d, g_up + 2 * d, g_up + 3 * d, g_up + 4 * d, g_up + 5 * d,
                     g_up + 6 * d, g_up + 7 * d};
    for (int j = 0; j < d; j++)
        z[j] = m[j] * theta[j];
    (void)sv_glm_value(&tr, z, g_tr, sc.work);
    (void)sv_glm_value(upper == BIP_UPPER_VALIDATION ? &va : &tr, z, g_up, sc.work);
    ig_combine(&tr, implicit, gamma, m, theta, z, g_tr, g_up, out, &sc);
    free(v);
    return SV_OK;
}

/* ================================ solve ================================ */

typedef struct {
    double *s;                     /* d: scores (top-k) or the relaxed mask */
    double *m, *bm, *bm_prev;      /* d: mask used in the step, its binary rounding, previous */
    double *z, *g_tr, *g_up, *ig;  /* d */
    double *best_m, *best_theta;   /* d: the incumbent (select = best) */
    double *cand;                  /* d: weights of a mask being scored */
    ig_scratch sc;                 /* 6 d + 2 R */
    int *idx, *idx_tmp;            /* d: orderings */
    int *batch_tr, *batch_up;      /* rows, R */
} bip_ws;

static void bip_ws_free(bip_ws *w)
{
    free(w->s);  /* the head of the one double block */
    free(w->idx);
    free(w->batch_tr);
    free(w->batch_up);
    memset(w, 0, sizeof *w);
}

static int bip_ws_alloc(bip_ws *w, int d, int n, int nv)
{
    memset(w, 0, sizeof *w);
    int R = n > nv ? n : nv;
    double *q = calloc(17 * (size_t)d + 2 * (size_t)R, sizeof *q);
    w->idx = malloc(2 * (size_t)d * sizeof *w->idx);
    w->batch_tr = malloc((size_t)n * sizeof *w->batch_tr);
    w->batch_up = malloc((size_t)R * sizeof *w->batch_up);
    if (!q || !w->idx || !w->batch_tr || !w->batch_up) {
        free(q);
        bip_ws_free(w);
        return SV_ENOMEM;
    }
    double **slots[] = {&w->s, &w->m, &w->bm, &w->bm_prev, &w->z, &w->g_tr, &w->g_up, &w->ig,
                        &w->best_m, &w->best_theta, &w->cand, &w->sc.w, &w->sc.r, &w->sc.dir,
                        &w->sc.Hd, &w->sc.tmp, &w->sc.hz};
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++, q += d)
        *slots[i] = q;
    w->sc.work = q;
    w->idx_tmp = w->idx + d;
    return SV_OK;
}

/* The rows of a stochastic gradient: B distinct rows, or all (NULL) when B is 0 or >= n. */
static const int *draw(sv_rng *rng, int n, long B, int *buf, int *k)
{
    if (B == 0 || B >= n) {
        *k = n;
        return NULL;
    }
    sv_rng_sample(rng, n, (int)B, buf);
    *k = (int)B;
    return buf;
}

static void grad_z(const sv_glm *g, const int *idx, int k, const double *z, double *out,
                   double *work)
{
    if (idx)
        (void)sv_glm_batch_value(g, idx, k, z, out);
    else
        (void)sv_glm_value(g, z, out, work);
}

/* The upper objective of a binary mask after exact retraining from the warm start in theta
 * (overwritten with theta*(mask)). NaN when out of memory. */
static double score_mask(const bip_problem *p, const bip_settings *s, const double *mask,
                         double *theta, double *z)
{
    const int d = p->A->cols;
    for (int j = 0; j < d; j++)
        theta[j] *= mask[j];
    if (isnan(bip_retrain(p, mask, s->gamma, s->retrain_tol, theta)))
        return NAN;
    for (int j = 0; j < d; j++)
        z[j] = mask[j] * theta[j];
    return bip_loss(p, s->upper == BIP_UPPER_VALIDATION, z);
}

static int bip_report(const sv_monitor *mon, long iter, double elapsed, double obj, double val,
                      double train, double ig, double best, const bip_info *info)
{
    sv_metric mt[6] = {
        {"val_loss", val},
        {"train_loss", train},
        {"ig_norm", ig},
        {"best_upper", best},
        {"mask_changes", (double)info->mask_changes},
        {"mask_stable_iters", (double)info->mask_stable_iters},
    };
    sv_progress pr = {iter, elapsed, obj, mt, 6};
    return sv_monitor_report(mon, &pr);
}

int bip_solve(const bip_problem *p, const bip_settings *s, const sv_monitor *mon, double *mask,
              double *theta, bip_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    info->base.status = SV_UNSOLVED;
    info->base.obj = info->base.res = info->val_loss = info->train_loss = NAN;
    info->dense_val_loss = info->magnitude_val_loss = info->lr = info->mask_lr = NAN;
    info->gamma = NAN;
    int rc = bip_check_problem(p, e);
    if (rc == SV_OK)
        rc = bip_check_settings(s, e);
    if (rc != SV_OK)
        return rc;
    if (!mask || !theta)
        return sv_fail(e, "/result", "output arrays missing");

    const int d = p->A->cols, n = p->A->rows, nv = p->A_val->rows, k = p->k;
    const sv_glm tr = glm_of(p, 0), va = glm_of(p, 1);
    const sv_glm *up = s->upper == BIP_UPPER_VALIDATION ? &va : &tr;
    const int n_up = s->upper == BIP_UPPER_VALIDATION ? nv : n;
    const double gamma = s->gamma;
    info->gamma = gamma;
    info->mask_lr = s->mask_lr;
    info->lr = isnan(s->lr) ? 1.0 / (sv_glm_smoothness(&tr) + gamma) : s->lr;
    if (!(isfinite(info->lr) && info->lr > 0))
        return sv_fail(e, "/params/lr", "the automatic step came out as %g", info->lr);

    double t0 = sv_now_s();
    bip_ws w;
    if (bip_ws_alloc(&w, d, n, nv) != SV_OK)
        return SV_ENOMEM;
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    rc = SV_OK;

    /* ---- the dense model theta*(1) and magnitude pruning of it, retrained ---- */
    sv_fill(d, 1.0, w.m);
    sv_zero(d, theta);
    if (isnan(bip_retrain(p, w.m, gamma, s->retrain_tol, theta))) {
        bip_ws_free(&w);
        return SV_ENOMEM;
    }
    info->dense_val_loss = bip_loss(p, 1, theta);
    for (int j = 0; j < d; j++)
        w.z[j] = fabs(theta[j]);
    topk_binary(d, k, w.z, w.bm, w.idx, w.idx_tmp);
    sv_copy(d, theta, w.cand);
    double best = score_mask(p, s, w.bm, w.cand, w.z);
    if (isnan(best)) {
        bip_ws_free(&w);
        return SV_ENOMEM;
    }
    for (int j = 0; j < d; j++)
        w.z[j] = w.bm[j] * w.cand[j];
    info->magnitude_val_loss = bip_loss(p, 1, w.z);

    /* ---- scores: |theta_dense| (the authors' initialisation from the dense model) or seeded
     * uniform; the weights start from the dense model ---- */
    if (s->init == BIP_INIT_MAGNITUDE)
        for (int j = 0; j < d; j++)
            w.s[j] = fabs(theta[j]);
    else
        for (int j = 0; j < d; j++)
            w.s[j] = sv_rng_uniform(&rng);
    if (s->mask == BIP_MASK_RELAXED) {
        double mx = sv_nrminf(d, w.s);
        if (mx > 0)
            sv_scal(d, 1.0 / mx, w.s);
        bip_project_relaxed(d, (double)k, w.s);
    }
    topk_binary(d, k, w.s, w.bm, w.idx, w.idx_tmp);
    sv_copy(d, w.bm, w.bm_prev);
    if (s->select == BIP_SELECT_BEST) {
        if (s->init != BIP_INIT_MAGNITUDE) {  /* the first mask is not magnitude pruning's */
            sv_copy(d, theta, w.cand);
            best = score_mask(p, s, w.bm, w.cand, w.z);
            info->masks_scored++;
        }
        sv_copy(d, w.bm, w.best_m);
        sv_copy(d, w.cand, w.best_theta);
    }
    info->masks_scored++;
    if (isnan(best)) {
        bip_ws_free(&w);
        return SV_ENOMEM;
    }

    /* ---- iterations ---- */
    long t = 0, last_report = -1;
    double ig_norm = 0.0;
    sv_status status = SV_UNSOLVED;
    for (;;) {
        if (!sv_all_finite(d, theta) || !sv_all_finite(d, w.s) ||
            sv_nrm2(d, theta) > BIP_DIVERGENCE_NORM) {
            status = SV_DIVERGED;
            break;
        }
        if (s->patience > 0 && info->mask_stable_iters >= s->patience) {
            status = SV_SOLVED;
            break;
        }
        double now = sv_now_s();
        if (t % s->report_every == 0) {
            for (int j = 0; j < d; j++)
                w.z[j] = w.bm[j] * theta[j];
            double val = bip_loss(p, 1, w.z), trn = bip_loss(p, 0, w.z);
            double obj = s->upper == BIP_UPPER_VALIDATION ? val : trn;
            last_report = t;
            if (bip_report(mon, t, now - t0, obj, val, trn, ig_norm, best, info)) {
                status = SV_CANCELLED;
                break;
            }
        }
        if (t >= s->max_iter) {
            status = SV_MAX_ITER;
            break;
        }
        if (s->time_limit_s > 0 && now - t0 >= s->time_limit_s) {
            status = SV_TIME_LIMIT;
            break;
        }

        /* the mask of this iteration: the binary top-k of the scores, or the relaxed mask */
        sv_copy(d, s->mask == BIP_MASK_TOPK ? w.bm : w.s, w.m);

        /* theta-step: SGD on l_tr(m .* theta) + (gamma/2)|theta|^2 */
        for (long l = 0; l < s->lower_steps; l++) {
            int ktr;
            const int *itr = draw(&rng, n, s->batch, w.batch_tr, &ktr);
            for (int j = 0; j < d; j++)
                w.z[j] = w.m[j] * theta[j];
            grad_z(&tr, itr, ktr, w.z, w.g_tr, w.sc.work);
            for (int j = 0; j < d; j++)
                theta[j] -= info->lr * (w.m[j] * w.g_tr[j] + gamma * theta[j]);
        }

        /* m-step at the new theta. The two gradients of the implicit term come from
         * independent batches, so that their product estimates the product of the full
         * gradients without bias (one shared batch would add the gradient variance / gamma to
         * every kept score's step). The exact variant uses all training rows for g_tr. */
        for (int j = 0; j < d; j++)
            w.z[j] = w.m[j] * theta[j];
        int ktr, kup;
        const int *itr = s->implicit == BIP_IG_EXACT ? NULL
                                                      : draw(&rng, n, s->batch, w.batch_tr, &ktr);
        if (!itr)
            ktr = n;
        grad_z(&tr, itr, ktr, w.z, w.g_tr, w.sc.work);
        const int *iup = draw(&rng, n_up, s->batch, w.batch_up, &kup);
        grad_z(up, iup, kup, w.z, w.g_up, w.sc.work);
        ig_combine(&tr, s->implicit, gamma, w.m, theta, w.z, w.g_tr, w.g_up, w.ig, &w.sc);
        ig_norm = sv_nrm2(d, w.ig);
        sv_axpy(d, -s->mask_lr, w.ig, w.s);
        if (s->mask == BIP_MASK_RELAXED)
            bip_project_relaxed(d, (double)k, w.s);

        topk_binary(d, k, w.s, w.bm, w.idx, w.idx_tmp);
        int changed = 0;
        for (int j = 0; j < d && !changed; j++)
            changed = w.bm[j] != w.bm_prev[j];
        t++;
        if (!changed) {
            info->mask_stable_iters++;
            continue;
        }
        info->mask_changes++;
        info->mask_stable_iters = 0;
        sv_copy(d, w.bm, w.bm_prev);
        if (s->select == BIP_SELECT_BEST) {
            sv_copy(d, theta, w.cand);
            double f = score_mask(p, s, w.bm, w.cand, w.z);
            info->masks_scored++;
            if (isnan(f)) {
                rc = SV_ENOMEM;
                break;
            }
            if (f < best) {
                best = f;
                info->best_iter = t;
                sv_copy(d, w.bm, w.best_m);
                sv_copy(d, w.cand, w.best_theta);
            }
        }
    }
    if (rc != SV_OK) {
        bip_ws_free(&w);
        return rc;
    }

    /* ---- the returned model ---- */
    if (s->select == BIP_SELECT_BEST && status != SV_DIVERGED) {
        sv_copy(d, w.best_m, mask);
        sv_copy(d, w.best_theta, theta);
    } else {
        sv_copy(d, w.bm, mask);
        info->best_iter = t;
        if (status != SV_DIVERGED) {
            for (int j = 0; j < d; j++)
                theta[j] *= mask[j];
            if (s->retrain && isnan(bip_retrain(p, mask, gamma, s->retrain_tol, theta))) {
                bip_ws_free(&w);
                return SV_ENOMEM;
            }
        }
    }
    for (int j = 0; j < d; j++)
        w.z[j] = mask[j] * theta[j];
    info->kept = 0;
    for (int j = 0; j < d; j++)
        info->kept += mask[j] != 0.0;
    info->val_loss = bip_loss(p, 1, w.z);
    info->train_loss = bip_loss(p, 0, w.z);
    info->base.obj = s->upper == BIP_UPPER_VALIDATION ? info->val_loss : info->train_loss;
    info->base.res = ig_norm;
    info->base.status = status;
    info->base.iter = t;
    info->base.solve_time_s = sv_now_s() - t0;
    if (last_report != t || status == SV_SOLVED)
        bip_report(mon, t, info->base.solve_time_s, info->base.obj, info->val_loss,
                   info->train_loss, ig_norm, best, info);
    bip_ws_free(&w);
    return SV_OK;
}
