/* bip.h - BiP, bi-level optimisation-oriented pruning of a linear or logistic model: the pruning
 * mask m (upper level) and the weights theta (lower level, ridge-regularised retraining) are
 * found together, the implicit gradient taking the simple form that the bi-linear model
 * z = m .* theta allows. Also the pruning problem itself (checks, exact masked retraining; its
 * generated and data-set instances are bip_gen.h's), magnitude pruning, and iterative magnitude
 * pruning (IMP, method = imp), the baseline the paper compares with. Paper: Zhang, Yao, Ram, Zhao,
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
#include "core/control.h"
#include "core/models/glm.h"
#include "core/params.h"

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
    BIP_SELECT_BEST = 0,  /* an option: return the visited binary mask with the lowest upper
                           * objective l_up(m .* theta*(m)), every new mask being scored after
                           * exact retraining (its cost: bip_info.masks_scored, select_newton_steps,
                           * select_time_s); with the magnitude initialisation the first mask
                           * visited is magnitude pruning's, so the result is never worse than it
                           * in the upper objective */
    BIP_SELECT_LAST = 1   /* the default: return the mask of the last iteration, as the paper's
                           * algorithm outputs it */
} bip_select;

typedef enum {
    BIP_METHOD_BIP = 0,  /* the bi-level iteration */
    BIP_METHOD_IMP = 1   /* iterative magnitude pruning, the paper's baseline: from the dense
                          * model theta*(1), repeat { prune the smallest-magnitude remaining
                          * weights (the geometric schedule bip_imp_next), retrain exactly:
                          * theta*(m) } until k remain. One iteration = one round. */
} bip_method;

/* Defaults (bip_settings_default). */
#define BIP_DEFAULT_METHOD BIP_METHOD_BIP
#define BIP_DEFAULT_IMP_RATE 0.2
#define BIP_DEFAULT_MASK BIP_MASK_TOPK
#define BIP_DEFAULT_IG BIP_IG_HESSIAN_FREE
#define BIP_DEFAULT_UPPER BIP_UPPER_TRAIN
#define BIP_DEFAULT_INIT BIP_INIT_MAGNITUDE
#define BIP_DEFAULT_SELECT BIP_SELECT_LAST
#define BIP_DEFAULT_GAMMA 1e-3
#define BIP_DEFAULT_MASK_LR 0.1
#define BIP_DEFAULT_LOWER_STEPS 1L
#define BIP_DEFAULT_BATCH 64L
#define BIP_DEFAULT_RETRAIN 1
#define BIP_DEFAULT_RETRAIN_TOL 1e-9
#define BIP_DEFAULT_PATIENCE 0L
#define BIP_DEFAULT_MAX_ITER 2000L
#define BIP_DEFAULT_REPORT_EVERY 100L
#define BIP_DEFAULT_SEED 0
/* Bisection of the relaxed projection: relative tolerance on 1'm and a step cap. */
#define BIP_PROJ_TOL 1e-12
#define BIP_PROJ_MAX_ITER 200

typedef struct {
    int method;           /* bip_method */
    double imp_rate;      /* imp: share p in (0, 1] of the remaining weights pruned per round */
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
    uint64_t seed;
    sv_control ctl;       /* max_iter: iterations; time_limit_s, report_every. tol is not a
                           * parameter (0): BiP stops at max_iter or by patience */
} bip_settings;

/* The parameter table of bip_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec bip_params[];

typedef struct {
    sv_info base;              /* obj = the upper loss l_up(mask .* theta) of the returned model
                                * (in progress reports: of the model returned had the solve
                                * stopped there); res = |IG| of the last iteration; iter =
                                * iterations */
    double val_loss;           /* validation loss of mask .* theta (returned) */
    double train_loss;         /* training loss of mask .* theta (no ridge) */
    double lower_loss;         /* the lower objective there: l_tr(mask .* theta) +
                                * (gamma/2)|theta|^2 */
    double dense_val_loss;     /* the dense model theta*(1) */
    double magnitude_val_loss; /* magnitude pruning of the dense model, retrained like BiP's */
    long mask_changes;         /* iterations whose binary mask differed from the previous one */
    long masks_scored;         /* masks scored (select = best, the initial one included; 0 with
                                * select = last) */
    long select_newton_steps;  /* the cost of select = best: Newton steps of the exact
                                * retrainings made only to score masks (not the magnitude
                                * baseline's, which is computed anyway); 0 with select = last */
    double select_time_s;      /* wall-clock seconds of those retrainings */
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

/* IMP's geometric schedule: the weights left after a round that starts with n > k of them,
 * max(k, floor((1 - rate) n)), and at most n - 1 (so that every round prunes one weight at
 * least; rate 1 prunes to k at once, one-shot magnitude pruning). n_r ~ d (1 - rate)^r. */
int bip_imp_next(int n, int k, double rate);
/* The number of rounds of that schedule from d weights down to k. */
long bip_imp_rounds(int d, int k, double rate);

/* m <- its Euclidean projection onto {m in [0,1]^d : 1'm <= k} (bisection on the shift). */
void bip_project_relaxed(int d, double k, double *m);

/* Fills s with the defaults of bip_params. */
void bip_settings_default(bip_settings *s);
/* Checks the settings against bip_params. SV_OK or SV_EINVAL with e->field "/params/<name>". */
int bip_check_settings(const bip_settings *s, sv_err *e);

/* Runs BiP (or, with method = imp, IMP: then iter counts rounds, status is solved once k
 * weights remain, and max_iter, mask, implicit, init, select, lr, mask_lr, lower_steps, batch,
 * retrain, patience and seed do not apply). mask (d, out): the final binary mask, exactly k ones; theta (d, out): the weights
 * (theta*(mask) when settings.retrain, else the last lower iterate; 0 off the mask). Validates
 * everything before allocating. Returns SV_OK (info->base.status says how it ended: max_iter
 * after the budget, solved when the mask was stable for `patience` iterations, time_limit,
 * cancelled, diverged), SV_EINVAL (e names the field) or SV_ENOMEM. mon and e may be NULL. */
int bip_solve(const bip_problem *p, const bip_settings *s, const sv_monitor *mon, double *mask,
              double *theta, bip_info *info, sv_err *e);

#endif
