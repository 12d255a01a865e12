/* bip.h - BiP, bi-level optimisation-oriented pruning of a linear or logistic model: the pruning
 * mask m (upper level) and the weights theta (lower level, ridge-regularised retraining) are
 * found together, the implicit gradient taking the simple form that the bi-linear model
 * z = m .* theta allows. Also the pruning problem itself (a seeded sparse-ground-truth generator,
 * exact masked retraining) and magnitude pruning as the baseline. Paper: Zhang, Yao, Ram, Zhao,
 * Chen, Hong, Wang, Liu, "Advancing Model Pruning via Bi-level Optimization", NeurIPS 2022.
 *
 *   min_{m in S}  f(m) = l_up(m .* theta*(m))
 *   theta*(m) = argmin_theta  l_tr(m .* theta) + (gamma/2) |theta|^2
 *   S = {m in {0,1}^d : 1'm = k}  (relaxed: [0,1]^d with 1'm <= k)
 *
 * l_tr is the mean loss over the training rows, l_up the mean loss over the training rows (the
 * paper) or over the validation rows; both are the squared or logistic loss of glm.h. */
#ifndef SV_BIP_H
#define SV_BIP_H

#include <stdint.h>
#include "core/dataset.h"
#include "core/models/glm.h"

/* ---- the pruning problem ---- */

typedef struct {
    sv_loss loss;
    const sv_mat *A;       /* n x d training rows */
    const double *b;       /* n targets (logistic: -1/+1) */
    const sv_mat *A_val;   /* n_val x d validation rows */
    const double *b_val;
    int k;                 /* weights to keep, 1 <= k <= d */
} bip_problem;

/* Checks shapes, finiteness, labels and k. Errors name "/problem/A", "/problem/b/3",
 * "/problem/A_val", "/problem/b_val", "/problem/k". SV_OK or SV_EINVAL; allocates nothing. */
int bip_check_problem(const bip_problem *p, sv_err *e);

/* Mean loss of the model z over the training (val == 0) or validation (val != 0) rows, without
 * any ridge: l(z) = (1/n) sum_i l(a_i'z; b_i). */
double bip_loss(const bip_problem *p, int val, const double *z);

/* theta (in: start, out: result) = argmin_theta l_tr(mask .* theta) + (gamma/2)|theta|^2 for a
 * fixed mask (d entries in [0, 1]), by Newton's method with conjugate-gradient steps and an
 * Armijo backtrack, until the gradient norm is <= tol (at most 100 Newton steps). Coordinates
 * with mask 0 end at exactly 0. Returns the final gradient norm, or NaN when out of memory. */
double bip_retrain(const bip_problem *p, const double *mask, double gamma, double tol,
                   double *theta);

/* Magnitude pruning of theta: mask (d, out) = 1 on the k entries of largest |theta_j| (ties: lower
 * index first), 0 elsewhere. SV_OK or SV_ENOMEM. */
int bip_magnitude_mask(int d, int k, const double *theta, double *mask);

/* ---- the generated instance ---- */

/* Sparse ground truth with features that mislead magnitude pruning. Column j has scale
 * c_j = 10^(scale_spread (u_j - 1/2)), u_j ~ U[0, 1); a row is a_j = c_j (sqrt(1 - rho) e_j +
 * sqrt(rho) f) with e_j, f ~ N(0, 1) (f shared by the row: equicorrelated features). The true
 * weights are w_j = s_j (1 + U[0, 1)) / c_j on `support` random coordinates (random signs s_j),
 * 0 elsewhere, so every true feature moves a'w by a comparable amount while |w_j| follows 1/c_j.
 * Squared loss: b = a'w + noise eps; logistic: b = +1 with probability sigmoid(a'w). One
 * xoshiro256** stream seeded with seed draws, in order: the scales, the support (a partial
 * Fisher-Yates), the weights, the training rows with their targets, the validation rows. */
typedef struct {
    int rows;             /* training rows >= 1 */
    int val_rows;         /* validation rows >= 1 */
    int dim;              /* d >= 1 */
    int support;          /* 1 <= support <= d */
    sv_loss loss;
    double correlation;   /* rho in [0, 1) */
    double scale_spread;  /* in [0, BIP_GEN_MAX_SCALE_SPREAD] (decades) */
    double noise;         /* >= 0, squared loss only */
    uint64_t seed;
} bip_gen_spec;

#define BIP_GEN_MAX_SCALE_SPREAD 6.0

/* Owns a generated (or decoded) instance; prob points into it. */
typedef struct {
    bip_problem prob;
    sv_mat A, A_val;
    double *b, *b_val;
    double *w_true;       /* d: the planted weights (generator only; NULL otherwise) */
} bip_data;

/* Validates spec (errors "/problem/generate/<field>"), fills out with prob.k = support.
 * SV_OK, SV_EINVAL or SV_ENOMEM (out then empty; bip_data_free is still safe). */
int bip_generate(const bip_gen_spec *spec, bip_data *out, sv_err *e);

/* A pruning problem from a loaded data set (core/dataset.h): the rows are shuffled with seed
 * (Fisher-Yates), the first round(val_fraction * rows) become the validation rows and the rest
 * the training rows, in that order. Targets: +1 for label positive_class and -1 for the others
 * (logistic), or the labels as numbers (squared loss with positive_class < 0). The features are
 * copied as they are (standardise ds first if wanted). Errors name
 * "/problem/dataset/<field>". SV_OK, SV_EINVAL or SV_ENOMEM (out then empty). */
int bip_from_dataset(const sv_dataset *ds, double val_fraction, uint64_t seed,
                     int positive_class, sv_loss loss, int k, bip_data *out, sv_err *e);
void bip_data_free(bip_data *d);

/* ---- the solver ---- */

typedef enum {
    BIP_MASK_TOPK = 0,    /* continuous scores s; the mask is the top-k of s (exactly k ones at
                           * every iteration) and the mask gradient passes straight through to
                           * s: the authors' implementation */
    BIP_MASK_RELAXED = 1  /* projected gradient on the convex hull {m in [0,1]^d, 1'm <= k}
                           * (projection by bisection), rounded to the top-k at the end */
} bip_mask_mode;

typedef enum {
    BIP_IG_HESSIAN_FREE = 0,  /* the paper's implicit gradient under grad^2 l = 0:
                               * grad_m f - (1/gamma) grad_z l_tr .* grad_theta f */
    BIP_IG_EXACT = 1,         /* the implicit-function-theorem gradient with the exact Hessian
                               * of l_tr (conjugate gradients over all training rows) */
    BIP_IG_NONE = 2           /* first-order only: grad_m f (drops the implicit term) */
} bip_ig;

typedef enum { BIP_UPPER_TRAIN = 0, BIP_UPPER_VALIDATION = 1 } bip_upper;
typedef enum { BIP_INIT_MAGNITUDE = 0, BIP_INIT_RANDOM = 1 } bip_init;

typedef enum {
    BIP_SELECT_BEST = 0,  /* return the visited binary mask with the lowest upper objective
                           * l_up(m .* theta*(m)), every new mask being scored after exact
                           * retraining; with the magnitude initialisation the first mask visited
                           * is magnitude pruning's, so the result is never worse than it in the
                           * upper objective */
    BIP_SELECT_LAST = 1   /* return the mask of the last iteration (the algorithm as stated) */
} bip_select;

/* Defaults (bip_settings_default). */
#define BIP_DEFAULT_MASK BIP_MASK_TOPK
#define BIP_DEFAULT_IG BIP_IG_HESSIAN_FREE
#define BIP_DEFAULT_UPPER BIP_UPPER_TRAIN
#define BIP_DEFAULT_INIT BIP_INIT_MAGNITUDE
#define BIP_DEFAULT_SELECT BIP_SELECT_BEST
#define BIP_DEFAULT_GAMMA 1e-3
#define BIP_DEFAULT_MASK_LR 0.1
#define BIP_DEFAULT_LOWER_STEPS 1L
#define BIP_DEFAULT_BATCH 64L
#define BIP_DEFAULT_RETRAIN 1
#define BIP_DEFAULT_RETRAIN_TOL 1e-9
#define BIP_DEFAULT_PATIENCE 0L
#define BIP_DEFAULT_MAX_ITER 2000L
#define BIP_DEFAULT_TIME_LIMIT_S 0.0
#define BIP_DEFAULT_REPORT_EVERY 100L
#define BIP_DEFAULT_SEED 0
/* Bisection of the relaxed projection: relative tolerance on 1'm and a step cap. */
#define BIP_PROJ_TOL 1e-12
#define BIP_PROJ_MAX_ITER 200

typedef struct {
    int mask;             /* bip_mask_mode */
    int implicit;         /* bip_ig */
    int upper;            /* bip_upper: the data of the upper loss */
    int init;             /* bip_init: scores from the dense model's |theta| or seeded random */
    double gamma;         /* > 0: the lower level's ridge (and 1/gamma in the implicit term) */
    double lr;            /* lower SGD step; NaN: 1 / (L(l_tr) + gamma) */
    double mask_lr;       /* upper step on the scores / mask */
    long lower_steps;     /* SGD steps on theta per iteration (the paper: 1) */
    long batch;           /* rows per stochastic gradient; 0 or >= rows: all rows */
    int select;           /* bip_select: which visited mask is returned */
    int retrain;          /* select = last: 1 returns theta*(m) for the final binary mask (exact
                           * retraining), 0 the last lower iterate; select = best always
                           * returns theta*(m) */
    double retrain_tol;   /* gradient tolerance of the exact (re)trainings */
    long patience;        /* > 0: stop (solved) once the binary mask is unchanged this long */
    long max_iter;
    double time_limit_s;  /* 0: none */
    long report_every;
    uint64_t seed;
} bip_settings;

typedef struct {
    sv_info base;              /* obj = upper loss at the returned mask and weights; res = |IG| of
                                * the last iteration; iter = iterations */
    double val_loss;           /* validation loss of mask .* theta (returned) */
    double train_loss;         /* training loss of mask .* theta (no ridge) */
    double dense_val_loss;     /* the dense model theta*(1) */
    double magnitude_val_loss; /* magnitude pruning of the dense model, retrained like BiP's */
    long mask_changes;         /* iterations whose binary mask differed from the previous one */
    long masks_scored;         /* masks retrained and scored (select = best) */
    long best_iter;            /* iteration at which the returned mask was first visited */
    long mask_stable_iters;    /* iterations since the binary mask last changed */
    int kept;                  /* ones in the returned mask (k) */
    double lr, mask_lr, gamma; /* used */
} bip_info;

/* The implicit gradient d l_up(m .* theta*(m)) / dm evaluated at (m, theta) over all rows, with
 * the formula `implicit` selects (exact when theta = theta*(m) and implicit = BIP_IG_EXACT).
 * upper: bip_upper. out: d. SV_OK or SV_ENOMEM. */
int bip_implicit_gradient(const bip_problem *p, int implicit, int upper, double gamma,
                          const double *m, const double *theta, double *out);

/* m <- its Euclidean projection onto {m in [0,1]^d : 1'm <= k} (bisection on the shift). */
void bip_project_relaxed(int d, double k, double *m);

void bip_settings_default(bip_settings *s);
/* Checks the settings alone. SV_OK or SV_EINVAL with e->field "/params/<name>". */
int bip_check_settings(const bip_settings *s, sv_err *e);

/* Runs BiP. mask (d, out): the final binary mask, exactly k ones; theta (d, out): the weights
 * (theta*(mask) when settings.retrain, else the last lower iterate; 0 off the mask). Validates
 * everything before allocating. Returns SV_OK (info->base.status says how it ended: max_iter
 * after the budget, solved when the mask was stable for `patience` iterations, time_limit,
 * cancelled, diverged), SV_EINVAL (e names the field) or SV_ENOMEM. mon and e may be NULL. */
int bip_solve(const bip_problem *p, const bip_settings *s, const sv_monitor *mon, double *mask,
              double *theta, bip_info *info, sv_err *e);

#endif
