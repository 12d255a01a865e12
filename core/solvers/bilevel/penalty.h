/* penalty.h - the first-order penalty method for bilevel problems (core/models/bilevel.h) of
 * Kwon, Kwon, Wright, Nowak, "On Penalty Methods for Nonconvex Bilevel Optimization and
 * First-Order Stochastic Approximation", ICLR 2024. It minimises over x in X the penalty function
 *
 *   psi_sigma(x) = min_{y in Y} { f(x, y) + (g(x, y) - g*(x)) / sigma },  g*(x) = min_{z in Y} g(x, z)
 *
 * whose gradient needs only first derivatives,
 *   grad psi_sigma(x) = grad_x f(x, y_s) + (grad_x g(x, y_s) - grad_x g(x, z*)) / sigma,
 *   y_s = argmin_{y in Y} sigma f(x, y) + g(x, y),   z* = argmin_{z in Y} g(x, z),
 * and which approximates F(x) = f(x, y*(x)) to O(sigma) (so sigma = O(eps) for an
 * eps-stationary point). Variants: a double loop (projected gradient inner solves for y_s and
 * z*, projected gradient steps on psi_sigma with backtracking); the paper's fully single loop (one
 * projected step on z, y and x per iteration along momentum-assisted STORM estimators of the
 * three directions, mini-batches, a fixed sigma); and a baseline that is not the paper's, plain
 * projected SGD steps with sigma decreasing to its target ("sgd"). Y is the box of y where the
 * class has one; problems with coupled lower-level constraints are refused (bilevel.lvhba handles
 * those). Doc page: docs/solvers/bilevel/penalty.md. */
#ifndef SV_BL_PENALTY_H
#define SV_BL_PENALTY_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/bilevel.h"
#include "core/params.h"

typedef enum {
    BLP_VARIANT_DOUBLE_LOOP = 0,  /* deterministic: inner solves, backtracking on psi_sigma */
    BLP_VARIANT_SINGLE_LOOP = 1,  /* the paper's fully single loop: momentum-assisted (STORM)
                                   * estimators of the three directions at a fixed sigma */
    BLP_VARIANT_SGD = 2           /* baseline, not the paper's: plain projected SGD steps with
                                   * sigma_k decreasing to sigma */
} penalty_variant;

/* Defaults (the table penalty_params). */
#define BLP_DEFAULT_VARIANT BLP_VARIANT_DOUBLE_LOOP
#define BLP_DEFAULT_SIGMA 1e-2
#define BLP_DEFAULT_SIGMA0 1.0
#define BLP_DEFAULT_SIGMA_DECAY 0.5
#define BLP_DEFAULT_INNER_ITERS 500L
#define BLP_DEFAULT_INNER_TOL 1e-10
#define BLP_DEFAULT_TOL 1e-6
#define BLP_DEFAULT_MAX_ITER 2000L
#define BLP_DEFAULT_BATCH 128L
#define BLP_DEFAULT_REPORT_EVERY 10L
#define BLP_DEFAULT_SEED 0
/* Backtracking: the x step is halved until psi_sigma decreases enough, and tried this much
 * larger at the next iteration. */
#define BLP_STEP_GROW 2.0
#define BLP_MIN_STEP 1e-14
/* Relative rounding allowed in the sufficient-decrease test of psi_sigma (see penalty.c). */
#define BLP_PSI_ROUNDING 1e-14
/* step_ratio null: the single loop's (chosen by the sweep of the doc page) and sgd's (its value
 * before the single loop was the paper's algorithm). */
#define BLP_SL_STEP_RATIO 5.0
#define BLP_SGD_STEP_RATIO 1.0
/* Single loop: eta_k = min(1, momentum s_k^2), the weight of the fresh sample in the momentum
 * estimators, with s_k = (1 + k / decay_k0)^(-1/3) the step factor (1 when decay_k0 = 0). */
#define BLP_DEFAULT_MOMENTUM 0.3
#define BLP_DEFAULT_DECAY_K0 0.0
/* The run counts as diverged once |x| exceeds this. */
#define BLP_DIVERGED_X 1e12

typedef struct {
    int variant;          /* penalty_variant */
    double sigma;         /* > 0: the penalty parameter (fixed; the target for sgd) */
    double sigma0;        /* sgd: sigma_k = max(sigma, sigma0 / (k+1)^sigma_decay) */
    double sigma_decay;   /* sgd, >= 0 */
    double alpha;         /* x step > 0; NaN: double loop starts at 1 and backtracks; single
                           * loop caps its steps at 1 / L with L a secant estimate of
                           * psi_sigma's smoothness at x0 */
    double gamma;         /* y and z step > 0; NaN: 1 / L_g (the class's lower_L at x0), and the
                           * double loop backtracks from there */
    long inner_iters;     /* double loop: projected gradient steps per inner solve, at most */
    double inner_tol;     /* double loop: inner solves stop at this gradient-mapping norm */
    long batch_upper;     /* single loop and sgd: rows per upper batch; 0: full */
    long batch_lower;     /* single loop and sgd: rows per lower batch; 0: full */
    sv_control ctl;       /* tol: double loop: stop when |gradient mapping of psi_sigma| <= tol;
                           * max_iter: outer iterations */
    int exact_metrics;    /* reports also carry F(x) and |grad F(x)| (second-order, for
                           * monitoring only) */
    double step_ratio;    /* single loop and sgd: x steps are at most step_ratio gamma sigma(_k);
                           * NaN: BLP_SL_STEP_RATIO (single loop), BLP_SGD_STEP_RATIO (sgd) */
    double momentum;      /* single loop: eta_k = min(1, momentum s_k^2) in (0, 1]; 1: no
                           * momentum (plain stochastic directions at the fixed sigma) */
    double decay_k0;      /* single loop: steps gamma s_k, alpha s_k with s_k = (1 + k /
                           * decay_k0)^(-1/3); 0: constant steps */
    uint64_t seed;
} penalty_settings;

typedef struct {
    sv_info base;            /* base.obj = F (the objective: exact F(x) when exact_metrics,
                              * else NaN); base.res = the last gradient-mapping norm of
                              * psi_sigma (estimate) */
    double sigma;            /* the penalty parameter at the end */
    double alpha;            /* the x step at the end */
    double gamma;            /* the y, z step */
    double psi_grad_norm;    /* |grad psi_sigma| estimate at the end */
    double penalty_gap;      /* (g(x, y_s) - g(x, z)) / sigma at the end */
    double lower_residual;   /* |grad_y g(x, z)| (full) at the end */
    double hypergrad_norm;   /* |grad F(x)| exact at the end when exact_metrics, else NaN */
    double F;                /* F(x) exact at the end when exact_metrics, else NaN */
    double y_sensitivity;    /* single loop with alpha null: L_y, the secant of y*(x) at x0
                              * that caps its x step; else NaN */
    long upper_grads;        /* oracle calls with a gradient (batch or full) */
    long lower_grads;
    long inner_steps;        /* double loop: inner projected gradient steps in all */
} penalty_info;

/* The parameter table of penalty_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec penalty_params[];

/* Fills s with the defaults of penalty_params. */
void penalty_settings_default(penalty_settings *s);
/* Checks the settings against penalty_params. SV_OK or SV_EINVAL with e->field
 * "/params/<name>". */
int penalty_check_settings(const penalty_settings *s, sv_err *e);

/* Runs the method on p from x (in: x0, out: final x; length p->dx) and y (in: y0, out: the
 * lower-level estimate z of y*(x); length p->dy). ys (length dy, may be NULL) gets y_sigma.
 * Validates everything before allocating. Returns SV_OK (info->base.status says how the solve
 * ended), SV_EINVAL (e names the field; info UNSOLVED), SV_ENOMEM. mon and e may be NULL. */
int penalty_solve(const sv_bl_problem *p, const penalty_settings *s, const sv_monitor *mon,
                     double *x, double *y, double *ys, penalty_info *info, sv_err *e);

#endif
