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

#include <limits.h>
#include <math.h>
#include <stddef.h>
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
/* Who may stop a long inner loop (exact retraining, conjugate gradients): the solve's loop
 * (core/control.h) through sv_loop_poll while it runs; after it has decided how it ends (the
 * final retraining) only a stop request from outside (the monitor's poll: cancel, the job's
 * time limit), which then ends the solve cancelled: the solver's own time limit lets the
 * returned model be finished, as before the platform. NULL: nothing stops it (the public
 * helpers). */
typedef struct {
    sv_loop *L;
    int after_loop;
} bip_poll;

static int poll_stop(bip_poll *P);
static int cg_lower(const sv_glm *tr, const double *mask, double gamma, const double *z,
                    const double *rhs, double *sol, double *r, double *dir, double *Hd,
                    double *tmp, double *work, bip_poll *P);

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
                    double *tmp, double *work, bip_poll *P)
{
    const int d = tr->A->cols;
    sv_zero(d, sol);
    sv_copy(d, rhs, r);
    sv_copy(d, r, dir);
    double rs = sv_dot(d, r, r);
    const double target = BIP_CG_TOL * BIP_CG_TOL * rs;
    int it = 0;
    while (rs > target && rs > 0 && it < 10 * d + BIP_CG_EXTRA_ITER && !poll_stop(P)) {
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

/* The stop test of an inner loop (see bip_poll). */
static int poll_stop(bip_poll *P)
{
    if (!P || !P->L)
        return 0;
    sv_loop *L = P->L;
    if (!P->after_loop)
        return sv_loop_poll(L);
    if (L->status == SV_CANCELLED)
        return 1;
    if (sv_monitor_poll(L->mon)) {
        L->status = SV_CANCELLED;
        return 1;
    }
    return 0;
}

/* Doubles of the scratch of retrain: 9 vectors of d and 2 n for glm. */
static size_t retrain_scratch_size(int d, int n)
{
    return 9 * (size_t)d + 2 * (size_t)n;
}

/* bip_retrain with its scratch given (retrain_scratch_size doubles) and an inner stop test:
 * when P says stop, theta is left at the last Newton iterate and the gradient norm there is
 * returned (the caller asks sv_loop_stopped). newton (may be NULL) gains the Newton steps
 * taken. */
static double retrain(const bip_problem *p, const double *mask, double gamma, double tol,
                      double *theta, double *v, bip_poll *P, long *newton)
{
    const sv_glm tr = glm_of(p, 0);
    const int d = p->A->cols;
    double *z = v, *gz = z + d, *g = gz + d, *step = g + d, *trial = step + d;
    double *r = trial + d, *dir = r + d, *Hd = dir + d, *tmp = Hd + d, *work = tmp + d;
    for (int j = 0; j < d; j++)
        if (mask[j] == 0.0)
            theta[j] = 0.0;  /* the minimiser there: only the ridge acts */
    lower_grad(&tr, mask, gamma, theta, z, gz, g, work);
    double gn = sv_nrm2(d, g);
    for (int it = 0; it < BIP_NEWTON_MAX_ITER && gn > tol && isfinite(gn); it++) {
        cg_lower(&tr, mask, gamma, z, g, step, r, dir, Hd, tmp, work, P);
        if (poll_stop(P))
            break;  /* step is a partial solve: leave theta where it is */
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
        if (newton)
            (*newton)++;
    }
    return gn;
}

double bip_retrain(const bip_problem *p, const double *mask, double gamma, double tol,
                   double *theta)
{
    double *v = calloc(retrain_scratch_size(p->A->cols, p->A->rows), sizeof *v);
    if (!v)
        return NAN;
    double gn = retrain(p, mask, gamma, tol, theta, v, NULL, NULL);
    free(v);
    return gn;
}

/* ================================ settings ================================ */

static const char *const method_choices[] = {"bip", "imp", NULL};
static const char *const mask_choices[] = {"topk", "relaxed", NULL};
static const char *const ig_choices[] = {"hessian_free", "exact", "none", NULL};
static const char *const upper_choices[] = {"train", "validation", NULL};
static const char *const init_choices[] = {"magnitude", "random", NULL};
static const char *const select_choices[] = {"best", "last", NULL};

/* BiP has no tolerance (it stops at max_iter or by patience), so the control block's three
 * other entries are spelled here as SV_CONTROL_PARAMS spells them. */
const sv_param_spec bip_params[] = {
    SV_P_ENUM(bip_settings, method, method_choices, BIP_DEFAULT_METHOD,
              "bip: the bi-level iteration; imp: iterative magnitude pruning, the paper's baseline "
              "(prune imp_rate of the remaining weights, retrain exactly, until k remain)"),
    SV_P_NUMBER_GT(bip_settings, imp_rate, 0, 1, BIP_DEFAULT_IMP_RATE,
                   "imp: share of the remaining weights pruned per round (1: one-shot magnitude "
                   "pruning)"),
    SV_P_ENUM(bip_settings, mask, mask_choices, BIP_DEFAULT_MASK,
              "topk: scores with the top-k mask in every step (the authors' code); relaxed: "
              "projected gradient on {m in [0,1]^d, sum m <= k}, rounded to the top k at the end"),
    SV_P_ENUM(bip_settings, implicit, ig_choices, BIP_DEFAULT_IG,
              "implicit gradient: hessian_free (the paper), exact (conjugate gradients with the "
              "Hessian), none (first-order only)"),
    SV_P_ENUM(bip_settings, upper, upper_choices, BIP_DEFAULT_UPPER,
              "rows of the upper loss: train (the paper) or validation"),
    SV_P_ENUM(bip_settings, init, init_choices, BIP_DEFAULT_INIT,
              "initial scores: magnitude of the dense model's weights, or seeded uniform"),
    SV_P_ENUM(bip_settings, select, select_choices, BIP_DEFAULT_SELECT,
              "returned mask: last, the mask of the last iteration (the paper), or best, the "
              "visited mask with the lowest upper objective (each new mask retrained exactly)"),
    SV_P_NUMBER_GT(bip_settings, gamma, 0, INFINITY, BIP_DEFAULT_GAMMA,
                   "ridge (gamma/2)|theta|^2 of the lower level; 1/gamma weighs the implicit term"),
    SV_P_NUMBER_GT(bip_settings, lr, 0, INFINITY, NAN,
                   "lower SGD step; null: 1 / (L + gamma), L the smoothness of the training loss"),
    SV_P_NUMBER_GT(bip_settings, mask_lr, 0, INFINITY, BIP_DEFAULT_MASK_LR,
                   "upper step on the scores (topk) or the relaxed mask"),
    SV_P_INT(bip_settings, lower_steps, 1, 1e6, BIP_DEFAULT_LOWER_STEPS,
             "SGD steps on the weights per iteration (the paper: 1)"),
    SV_P_INT(bip_settings, batch, 0, INT_MAX, BIP_DEFAULT_BATCH,
             "rows per stochastic gradient; 0: all rows"),
    SV_P_BOOL(bip_settings, retrain, BIP_DEFAULT_RETRAIN,
              "select = last: return the exactly retrained weights theta*(m) (true) or the last "
              "SGD iterate (false)"),
    SV_P_NUMBER_GT(bip_settings, retrain_tol, 0, INFINITY, BIP_DEFAULT_RETRAIN_TOL,
                   "gradient tolerance of the exact (re)trainings"),
    SV_P_INT(bip_settings, patience, 0, 1e9, BIP_DEFAULT_PATIENCE,
             "stop (solved) once the mask is unchanged for this many iterations; 0: never"),
    {.name = "max_iter", .type = SV_PARAM_INT, .offset = offsetof(bip_settings, ctl.max_iter),
     .min = 0, .max = 1e9, .def = BIP_DEFAULT_MAX_ITER,
     .help = "iterations (each: lower_steps SGD steps on the weights and one step on the mask)"},
    {.name = "time_limit_s", .type = SV_PARAM_NUMBER,
     .offset = offsetof(bip_settings, ctl.time_limit_s), .min = 0, .max = INFINITY, .def = 0,
     .help = "wall-clock limit of the solve in seconds; 0: none"},
    {.name = "report_every", .type = SV_PARAM_INT,
     .offset = offsetof(bip_settings, ctl.report_every), .min = 1, .max = 1e9,
     .def = BIP_DEFAULT_REPORT_EVERY, .help = "progress report every this many iterations"},
    SV_P_SEED(bip_settings, seed, BIP_DEFAULT_SEED,
              "seed of the mini-batches (and of the random initial scores)"),
    SV_PARAMS_END,
};

void bip_settings_default(bip_settings *s)
{
    sv_params_defaults(bip_params, s);
    s->ctl.tol = 0.0;  /* not a parameter */
}

int bip_check_settings(const bip_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(bip_params, s, "/params", e);
}

/* ================================ IMP schedule ================================ */

int bip_imp_next(int n, int k, double rate)
{
    double kept = floor((1.0 - rate) * n);
    int m = kept < n ? (int)kept : n - 1;
    return m < k ? k : m;
}

long bip_imp_rounds(int d, int k, double rate)
{
    long r = 0;
    for (int n = d; n > k; n = bip_imp_next(n, k, rate))
        r++;
    return r;
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
                       const double *g_up, double *out, ig_scratch *sc, bip_poll *P)
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
        cg_lower(tr, m, gamma, z, sc->hz, sc->w, sc->r, sc->dir, sc->Hd, sc->tmp, sc->work, P);
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
    ig_combine(&tr, implicit, gamma, m, theta, z, g_tr, g_up, out, &sc, NULL);
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
    double *zr;                    /* d: the model of a report */
    ig_scratch sc;                 /* 6 d + 2 R */
    double *rt;                    /* retrain_scratch_size(d, n) */
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
    double *q = calloc(18 * (size_t)d + 2 * (size_t)R + retrain_scratch_size(d, n), sizeof *q);
    w->idx = malloc(2 * (size_t)d * sizeof *w->idx);
    w->batch_tr = malloc((size_t)n * sizeof *w->batch_tr);
    w->batch_up = malloc((size_t)R * sizeof *w->batch_up);
    if (!q || !w->idx || !w->batch_tr || !w->batch_up) {
        free(q);
        bip_ws_free(w);
        return SV_ENOMEM;
    }
    double **slots[] = {&w->s, &w->m, &w->bm, &w->bm_prev, &w->z, &w->g_tr, &w->g_up, &w->ig,
                        &w->best_m, &w->best_theta, &w->cand, &w->zr, &w->sc.w, &w->sc.r,
                        &w->sc.dir, &w->sc.Hd, &w->sc.tmp, &w->sc.hz};
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++, q += d)
        *slots[i] = q;
    w->sc.work = q;
    w->rt = q + 2 * (size_t)R;
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
 * (overwritten with theta*(mask)); meaningless when P stopped the retraining (the caller asks
 * sv_loop_stopped). rt: retrain scratch. cost (may be NULL: the magnitude baseline, computed
 * whatever select is) gains the Newton steps and the seconds of the retraining: what
 * select = best costs. */
static double score_mask(const bip_problem *p, const bip_settings *s, const double *mask,
                         double *theta, double *z, double *rt, bip_poll *P, bip_info *cost)
{
    const int d = p->A->cols;
    const double t0 = cost ? sv_now_s() : 0.0;
    for (int j = 0; j < d; j++)
        theta[j] *= mask[j];
    retrain(p, mask, s->gamma, s->retrain_tol, theta, rt, P,
            cost ? &cost->select_newton_steps : NULL);
    if (cost)
        cost->select_time_s += sv_now_s() - t0;
    for (int j = 0; j < d; j++)
        z[j] = mask[j] * theta[j];
    return bip_loss(p, s->upper == BIP_UPPER_VALIDATION, z);
}

/* What a progress report shows besides the objective: the current binary mask with the current
 * (SGD) weights, and counters. */
typedef struct {
    const bip_problem *p;
    const double *bm, *theta;  /* the current binary mask and weights */
    double *z;                 /* d scratch */
    const double *ig_norm, *best;
    const bip_info *info;
    int frozen;                /* the losses below are the last iterate's: theta now holds the
                                * returned model */
    double it_val, it_train;
} bip_report_ctx;

static void iterate_losses(bip_report_ctx *c)
{
    if (c->frozen)
        return;
    const int d = c->p->A->cols;
    for (int j = 0; j < d; j++)
        c->z[j] = c->bm[j] * c->theta[j];
    c->it_val = bip_loss(c->p, 1, c->z);
    c->it_train = bip_loss(c->p, 0, c->z);
}

/* The metrics of a report (core/control.h): two passes over the rows, no inner loop. */
static int metrics(void *ctx, sv_metric *m, int cap)
{
    bip_report_ctx *c = ctx;
    if (cap < 6)
        return 0;
    iterate_losses(c);
    m[0] = (sv_metric){"iterate_val_loss", c->it_val};
    m[1] = (sv_metric){"iterate_train_loss", c->it_train};
    m[2] = (sv_metric){"ig_norm", *c->ig_norm};
    m[3] = (sv_metric){"best_upper", *c->best};
    m[4] = (sv_metric){"mask_changes", (double)c->info->mask_changes};
    m[5] = (sv_metric){"mask_stable_iters", (double)c->info->mask_stable_iters};
    return 6;
}

/* The objective of a report at the current state: the upper loss of the model the solve would
 * return if it stopped here, computed as the end of bip_solve computes it, so that the last
 * report and the result agree. select = best: the best scored mask's, retrained (best);
 * select = last: the current binary mask with the current weights, retrained exactly into
 * cand (retrain) or as they are. */
static double incumbent_objective(const bip_problem *p, const bip_settings *s, bip_ws *w,
                                  const double *theta, double best, int have_best, bip_poll *P)
{
    const int d = p->A->cols;
    if (s->select == BIP_SELECT_BEST && have_best)
        return best;
    for (int j = 0; j < d; j++)
        w->cand[j] = theta[j] * w->bm[j];
    if (s->select == BIP_SELECT_LAST && s->retrain)
        retrain(p, w->bm, s->gamma, s->retrain_tol, w->cand, w->rt, P, NULL);
    for (int j = 0; j < d; j++)
        w->zr[j] = w->bm[j] * w->cand[j];
    return bip_loss(p, s->upper == BIP_UPPER_VALIDATION, w->zr);
}

/* The model IMP returns from its current state (mask w->m, weights theta = theta*(w->m)): the k
 * largest |theta_j| among the remaining weights (ties: lower index), retrained exactly, into
 * w->bm and w->cand; its upper loss. Once k weights remain that is the current model itself
 * (the retraining starts converged and takes no step). A report's objective and the result are
 * both this, so the last report carries the result's objective. */
static double imp_finish(const bip_problem *p, const bip_settings *s, bip_ws *w,
                         const double *theta, bip_poll *P)
{
    const int d = p->A->cols;
    for (int j = 0; j < d; j++)
        w->zr[j] = w->m[j] != 0.0 ? fabs(theta[j]) : -1.0;
    topk_binary(d, p->k, w->zr, w->bm, w->idx, w->idx_tmp);
    for (int j = 0; j < d; j++)
        w->cand[j] = theta[j] * w->bm[j];
    retrain(p, w->bm, s->gamma, s->retrain_tol, w->cand, w->rt, P, NULL);
    for (int j = 0; j < d; j++)
        w->zr[j] = w->bm[j] * w->cand[j];
    return bip_loss(p, s->upper == BIP_UPPER_VALIDATION, w->zr);
}

/* IMP's rounds from the dense model theta = theta*(1) (w->m all ones): each prunes to
 * bip_imp_next of the remaining weights by magnitude and retrains exactly from the surviving
 * weights. A stop inside a round's retraining leaves that round uncounted (its mask is kept).
 * Returns the rounds done; finished gets the round whose report computed imp_finish in w->bm,
 * w->cand (the loop may end there: that model is then the result), else -1. */
static long imp_rounds(const bip_problem *p, const bip_settings *s, bip_ws *w, double *theta,
                       sv_loop *L, bip_poll *P, int *remaining, bip_info *info, long *finished)
{
    const int d = p->A->cols, k = p->k;
    long t = 0;
    *remaining = d;
    *finished = -1;
    for (;;) {
        int diverged = !sv_all_finite(d, theta);
        int solved = *remaining <= k;
        double obj = NAN;
        if (!diverged && !solved && !sv_loop_stopped(L) && t % s->ctl.report_every == 0) {
            obj = imp_finish(p, s, w, theta, P);
            *finished = sv_loop_stopped(L) ? -1 : t;
        }
        if (sv_loop_check(L, t, obj, diverged, solved))
            break;
        int next = bip_imp_next(*remaining, k, s->imp_rate);
        for (int j = 0; j < d; j++)
            w->z[j] = w->m[j] != 0.0 ? fabs(theta[j]) : -1.0;
        topk_binary(d, next, w->z, w->m, w->idx, w->idx_tmp);
        for (int j = 0; j < d; j++)
            theta[j] *= w->m[j];
        retrain(p, w->m, s->gamma, s->retrain_tol, theta, w->rt, P, NULL);
        if (sv_loop_stopped(L))
            break;
        *remaining = next;
        info->mask_changes++;
        t++;
    }
    return t;
}

int bip_solve(const bip_problem *p, const bip_settings *s, const sv_monitor *mon, double *mask,
              double *theta, bip_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->val_loss = info->train_loss = info->lower_loss = NAN;
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

    bip_ws w;
    if (bip_ws_alloc(&w, d, n, nv) != SV_OK)
        return SV_ENOMEM;
    long t = 0;
    double ig_norm = 0.0, best = NAN;
    int have_best = 0, setup_done = 0, remaining = d;
    long imp_finished = -1;
    const int imp = s->method == BIP_METHOD_IMP;
    bip_report_ctx rep = {p, w.bm, theta, w.zr, &ig_norm, &best, info, 0, NAN, NAN};
    /* IMP's rounds are its schedule's, not max_iter's */
    sv_control ctl = s->ctl;
    if (imp) {
        ctl.max_iter = bip_imp_rounds(d, k, s->imp_rate);
        ig_norm = NAN;
        rep.bm = w.m;  /* the iterate is the current IMP mask */
    }
    sv_loop L;
    sv_loop_begin(&L, &ctl, mon, metrics, &rep);
    bip_poll P = {&L, 0};
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);

    /* ---- set-up: the dense model theta*(1) and magnitude pruning of it, retrained; a stop
     * request or the time limit may cut it short (then the loop below ends at once) ---- */
    sv_fill(d, 1.0, w.m);
    sv_zero(d, theta);
    retrain(p, w.m, gamma, s->retrain_tol, theta, w.rt, &P, NULL);
    if (!sv_loop_stopped(&L)) {
        info->dense_val_loss = bip_loss(p, 1, theta);
        for (int j = 0; j < d; j++)
            w.z[j] = fabs(theta[j]);
        topk_binary(d, k, w.z, w.bm, w.idx, w.idx_tmp);
        sv_copy(d, theta, w.cand);
        best = score_mask(p, s, w.bm, w.cand, w.z, w.rt, &P, NULL);
        if (!sv_loop_stopped(&L)) {
            for (int j = 0; j < d; j++)
                w.z[j] = w.bm[j] * w.cand[j];
            info->magnitude_val_loss = bip_loss(p, 1, w.z);
        } else {
            best = NAN;
        }
    }

    if (imp) {
        best = NAN;  /* no mask is scored: best_upper is not IMP's */
        setup_done = !sv_loop_stopped(&L);
        t = imp_rounds(p, s, &w, theta, &L, &P, &remaining, info, &imp_finished);
    }

    /* ---- scores: |theta_dense| (the authors' initialisation from the dense model) or seeded
     * uniform; the weights start from the dense model ---- */
    if (!imp && !sv_loop_stopped(&L)) {
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
            double f = best;
            if (s->init != BIP_INIT_MAGNITUDE) {  /* the first mask is not magnitude pruning's */
                sv_copy(d, theta, w.cand);
                f = score_mask(p, s, w.bm, w.cand, w.z, w.rt, &P, info);
            }
            if (!sv_loop_stopped(&L)) {
                best = f;
                sv_copy(d, w.bm, w.best_m);
                sv_copy(d, w.cand, w.best_theta);
                have_best = 1;
                info->masks_scored++;  /* the initial mask (with magnitude scores: shared with
                                        * the baseline, at no extra cost) */
            }
        }
        setup_done = !sv_loop_stopped(&L);
    }

    /* ---- iterations (bip; imp has done its rounds above) ---- */
    while (!imp) {
        int diverged = !sv_all_finite(d, theta) || !sv_all_finite(d, w.s) ||
                       sv_nrm2(d, theta) > BIP_DIVERGENCE_NORM;
        int solved = s->patience > 0 && info->mask_stable_iters >= s->patience;
        /* The objective only goes into a report (every report_every iterations): computed
         * then, as select = last may retrain for it. */
        double obj = NAN;
        if (!diverged && !solved && !sv_loop_stopped(&L) && t % s->ctl.report_every == 0)
            obj = incumbent_objective(p, s, &w, theta, best, have_best, &P);
        if (sv_loop_check(&L, t, obj, diverged, solved))
            break;

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
        ig_combine(&tr, s->implicit, gamma, w.m, theta, w.z, w.g_tr, w.g_up, w.ig, &w.sc, &P);
        if (sv_loop_stopped(&L))
            break;  /* the exact IG's conjugate gradients were cut short: no m-step */
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
            double f = score_mask(p, s, w.bm, w.cand, w.z, w.rt, &P, info);
            if (sv_loop_stopped(&L))
                break;  /* cut short: not a score */
            info->masks_scored++;
            if (f < best) {
                best = f;
                info->best_iter = t;
                sv_copy(d, w.bm, w.best_m);
                sv_copy(d, w.cand, w.best_theta);
            }
        }
    }

    /* ---- the returned model ---- */
    iterate_losses(&rep);  /* for the final report: theta becomes the returned model */
    rep.frozen = 1;
    const int diverged = L.status == SV_DIVERGED;
    if (imp && setup_done && !diverged) {
        /* the model of round t's report when there was one (the loop ended at it, or inside
         * round t, which is not counted), so that the last report's objective is the result's;
         * else finished now, where only a stop request from outside cuts the retraining short */
        P.after_loop = 1;
        if (imp_finished != t)
            (void)imp_finish(p, s, &w, theta, &P);
        sv_copy(d, w.bm, mask);
        sv_copy(d, w.cand, theta);
        info->best_iter = t;
    } else if (s->select == BIP_SELECT_BEST && have_best && !diverged) {
        sv_copy(d, w.best_m, mask);
        sv_copy(d, w.best_theta, theta);
    } else {
        if (!setup_done) {  /* cut short in the set-up: magnitude pruning of where it got */
            for (int j = 0; j < d; j++)
                w.z[j] = fabs(theta[j]);
            topk_binary(d, k, w.z, w.bm, w.idx, w.idx_tmp);
        }
        sv_copy(d, w.bm, mask);
        info->best_iter = t;
        if (!diverged) {
            for (int j = 0; j < d; j++)
                theta[j] *= mask[j];
            if (s->select == BIP_SELECT_LAST && s->retrain) {
                P.after_loop = 1;  /* only a stop request from outside cuts it short */
                retrain(p, mask, gamma, s->retrain_tol, theta, w.rt, &P, NULL);
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
    info->lower_loss = lower_objective(&tr, mask, gamma, theta, w.z);
    sv_loop_end(&L, &info->base, t,
                s->upper == BIP_UPPER_VALIDATION ? info->val_loss : info->train_loss, ig_norm);
    bip_ws_free(&w);
    return SV_OK;
}
