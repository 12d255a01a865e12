/* lvhba.h - LV-HBA, the single-loop Hessian-free bilevel algorithm built on the proximal
 * Lagrangian value function, for bilevel problems whose lower level has constraints coupling x
 * and y (the constrained class of core/models/bilevel.h; it runs unchanged on the unconstrained
 * classes, where the multipliers are empty). Paper: Wei Yao, Chengming Yu, Shangzhi Zeng, Jin
 * Zhang, "Constrained Bi-Level Optimization: Proximal Lagrangian Value Function Approach and
 * Hessian-free Algorithm", ICLR 2024.
 *
 * With G(x, y) = A x + B y - b the lower constraints, C = {(x, y): x in X, y in Y, G <= 0} and
 * Z = [0, z_max]^m, the method minimises the penalised reformulation
 *   phi_k(x, y, z) = f(x, y) / c_k + g(x, y) - v(x, y, z),
 *   v(x, y, z) = min_{theta in Y} max_{lambda >= 0} g(x, theta) + lambda'G(x, theta)
 *                + |theta - y|^2 / (2 gamma1) - |lambda - z|^2 / (2 gamma2)
 * over C x Z, one projected gradient step on (theta, lambda) and one on (x, y, z) per iteration,
 * c_k = c0 (k + 1)^p. Only gradients of f and g and the constraint Jacobians are used. */
#ifndef SV_LVHBA_H
#define SV_LVHBA_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/bilevel.h"
#include "core/params.h"

/* Defaults (the table lvhba_params). NaN steps are set from smoothness estimates at the start:
 *   eta   = step_factor / (L_gy + 1/gamma1 + 1/gamma2 + |B|)
 *   alpha = step_factor / (L_f / c0 + 2 L_g + 2/gamma1)
 *   beta  = step_factor * gamma2
 * with L_gy the lower smoothness in y, L_g and L_f the smoothness of g and f in (x, y) and |B|
 * the spectral norm of the constraints' y-Jacobian. Without coupled constraints (m = 0) x and y
 * take steps of their own, alpha_x = step_factor / (L_xx + L_xy) and alpha = step_factor /
 * (L_yy + L_xy) from the blocks of the same bound (lvhba_solve; docs/solvers/bilevel/lvhba.md).
 * step_factor 1 and the rest below come from the sweep of bench/bilevel/sweep.py. */
#define LVHBA_DEFAULT_STEP_FACTOR 1.0
#define LVHBA_DEFAULT_GAMMA1 10.0  /* the authors' toy experiments use 10 */
#define LVHBA_DEFAULT_GAMMA2 10.0
#define LVHBA_DEFAULT_C0 1.0
#define LVHBA_DEFAULT_P 0.3          /* the paper needs p in (0, 1/2) */
#define LVHBA_DEFAULT_Z_MAX 1e6
#define LVHBA_DEFAULT_TOL 1e-8
#define LVHBA_DEFAULT_MAX_ITER 20000L
#define LVHBA_DEFAULT_REPORT_EVERY 200L
#define LVHBA_DEFAULT_PROJ_TOL 1e-12    /* projection onto C: largest violation left */
#define LVHBA_DEFAULT_PROJ_MAX_SWEEPS 20000L
#define LVHBA_DEFAULT_SEED 0
#define LVHBA_DEFAULT_FINAL_TOL 1e-10   /* the closing exact lower solve (|grad_y g| residual) */
/* The run counts as diverged once an iterate or the objective is non-finite or an iterate's
 * norm exceeds this. */
#define LVHBA_DIVERGENCE_NORM 1e150
/* Power iterations for the smoothness estimates; finite-difference step (relative). */
#define LVHBA_POWER_ITER 30
#define LVHBA_FD_STEP 1e-6
/* Block steps (no coupled constraints) only when the x block's curvature estimate exceeds this
 * fraction of the y block's: below it the estimate is rounding of the differences. */
#define LVHBA_BLOCK_MIN_CURV 1e-4

typedef struct {
    double alpha;         /* step of (x, y); NaN: automatic (above) */
    double beta;          /* step of z; NaN: automatic */
    double eta;           /* step of (theta, lambda); NaN: automatic */
    double step_factor;   /* in (0, 1]: scales the automatic steps */
    double gamma1;        /* > 0: proximal parameter of theta */
    double gamma2;        /* > 0: proximal parameter of lambda */
    double c0;            /* > 0: penalty c_k = c0 (k + 1)^p */
    double p;             /* in [0, 1/2) */
    double z_max;         /* > 0: Z = [0, z_max]^m, also the box of lambda */
    double proj_tol;      /* > 0: the projection onto C stops at this largest violation */
    long proj_max_sweeps; /* >= 1: sweeps of the projection's dual coordinate ascent */
    double final_tol;     /* > 0: residual of the exact lower solve at the end (for reporting) */
    uint64_t seed;        /* start vectors of the power iterations */
    sv_control ctl;       /* tol: stop when the step residual (lvhba_info.residual) <= tol */
} lvhba_settings;

/* The parameter table of lvhba_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec lvhba_params[];

typedef struct {
    sv_info base;          /* base.obj = f(x, y) at the returned iterate (the progress events'
                            * objective), base.res = residual */
    double residual;       /* |(x,y)-(x+,y+)|/alpha + |z-z+|/beta + |(theta,lambda) step|/eta */
    double value_gap;      /* g(x, y) - v, v evaluated at the current (theta, lambda): the
                            * reformulation's constraint g - v <= 0, ~0 at a solution */
    double max_violation;  /* max_i G_i(x, y)^+ and the box violations at the last iterate */
    double ck;             /* the last penalty c_k */
    double alpha, beta, eta;  /* steps used (alpha: of y, and of x unless alpha_x differs) */
    double alpha_x;        /* the step of x: alpha, or with automatic steps and no coupled
                            * constraints the x block's own step (see lvhba_solve) */
    double L_f, L_g, L_gy; /* the smoothness estimates behind automatic steps (NaN if unused) */
    double F_exact;        /* f(x, y*(x)) with y*(x) solved to final_tol (NaN on failure) */
    double hypergrad_norm; /* |grad F(x)| there (NaN when the class cannot give it) */
    double lower_error;    /* |y - y*(x)| */
    long proj_sweeps;      /* projection sweeps, all iterations */
    long grad_evals;       /* oracle calls of f and g (gradients), all iterations */
} lvhba_info;

/* Fills s with the defaults of lvhba_params. */
void lvhba_settings_default(lvhba_settings *s);

/* Checks the settings against lvhba_params. Returns SV_OK or SV_EINVAL with e->field "/params/<name>". */
int lvhba_check_settings(const lvhba_settings *s, sv_err *e);

/* Runs LV-HBA from (x, y) (in: start, projected onto C first; out: the last iterate; lengths
 * p->dx and p->dy). z (length p->n_con, may be NULL: start at 0 and not returned) is the
 * paper's multiplier variable: in: start (clipped to Z), out: the last iterate, an estimate of
 * the lower level's KKT multipliers; the inner multiplier lambda starts at z, theta at y. mon
 * and e may be NULL. Cancel and time limits are also polled at every sweep of an iteration's
 * projection onto C; a stop there abandons the step under way ((x, y) stays the last iterate;
 * the projection of the start is not polled, so the point returned is feasible). The closing
 * exact evaluation (F_exact, hypergrad_norm, lower_error) runs whatever the status (not after
 * divergence), unpolled and bounded by sv_bl_evaluate's limits. Returns SV_OK
 * (info->base.status says how the solve ended), SV_EINVAL (e names the field; info left
 * UNSOLVED) or SV_ENOMEM. */
int lvhba_solve(const sv_bl_problem *p, const lvhba_settings *s, const sv_monitor *mon,
                double *x, double *y, double *z, lvhba_info *info, sv_err *e);

#endif
