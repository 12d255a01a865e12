/* inexact.h - MAID, the method of adaptive inexact descent for bilevel problems with a
 * strongly convex unconstrained lower level: hypergradient descent in which the lower-level
 * solve and the linear solve inside the hypergradient are only as accurate as the current step
 * needs, the accuracies set on the fly, with a backtracking line search that certifies a
 * decrease of the true upper objective from inexact values alone. Paper: Mohammad Sadegh Salehi,
 * Subhadip Mukherjee, Lindon Roberts, Matthias J. Ehrhardt, "An adaptively inexact first-order
 * method for bilevel optimization with application to hyperparameter learning" (arXiv
 * 2308.10098, SIAM J. Math. Data Sci. 2025), Algorithms 3.1 and 3.2.
 *
 * Notation of core/models/bilevel.h: x upper, y lower, F(x) = f(x, y*(x)), g the lower
 * objective with strong convexity mu in y. An epsilon-accurate lower solution y~ is certified by
 * |grad_y g(x, y~)| <= mu epsilon, a delta-accurate solution q~ of grad^2_yy g q = grad_y f by
 * its residual <= mu delta; z = grad_x f(x, y~) - grad^2_xy g(x, y~) q~. */
#ifndef SV_BL_INEXACT_H
#define SV_BL_INEXACT_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/bilevel.h"
#include "core/params.h"

typedef enum {
    INEXACT_LOWER_AGD = 0,    /* accelerated gradient descent with the class's mu and L */
    INEXACT_LOWER_NEWTON = 1  /* sv_bl_solve_lower (the class's solver, or Newton-CG) */
} inexact_lower;

/* Defaults (the table inexact_params): the paper's parameter names, its experiments' values
 * where it gives them. */
#define INEXACT_DEFAULT_EPS0 1e-1       /* epsilon_0: lower-level accuracy */
#define INEXACT_DEFAULT_DELTA0 1e-1     /* delta_0: linear-solve accuracy */
#define INEXACT_DEFAULT_RHO 0.5         /* backtracking factor rho in (0, 1) */
#define INEXACT_DEFAULT_RHO_BAR 1.1     /* step increase after a success, > 1 */
#define INEXACT_DEFAULT_NU 0.5          /* accuracy tightening nu in (0, 1) */
#define INEXACT_DEFAULT_NU_BAR 1.05     /* accuracy loosening after a success, >= 1 */
#define INEXACT_DEFAULT_ETA 0.5         /* descent-direction margin of Algorithm 3.2 */
#define INEXACT_DEFAULT_ARMIJO 1e-4     /* sufficient-decrease fraction, < eta */
#define INEXACT_DEFAULT_MAX_BT 10L      /* line-search budget, +1 after each failure */
#define INEXACT_DEFAULT_MAX_REFINE 60L  /* accuracy tightenings within one iteration */
#define INEXACT_DEFAULT_EPS_MIN 1e-14   /* floor of epsilon and delta: low enough that the default
                                           tol is certified on the documented classes */
#define INEXACT_DEFAULT_LOWER INEXACT_LOWER_AGD
#define INEXACT_DEFAULT_LOWER_MAX_ITER 100000L
#define INEXACT_DEFAULT_CG_MAX_ITER 10000L
#define INEXACT_DEFAULT_TOL 1e-6
#define INEXACT_DEFAULT_MAX_ITER 500L
#define INEXACT_DEFAULT_REPORT_EVERY 1L
#define INEXACT_DEFAULT_SEED 0
#define INEXACT_DEFAULT_FINAL_TOL 1e-10    /* the closing exact lower solve, |grad_y g| */
/* Estimated constants are multiplied by this (they come from finite differences along a few
 * directions and may fall short of the true suprema). */
#define INEXACT_EST_SAFETY 2.0
#define INEXACT_POWER_ITER 30
#define INEXACT_FD_STEP 1e-6     /* relative step of the finite-difference Hessians */
#define INEXACT_PROBE_STEP 1e-3  /* relative step of the Hessian-Lipschitz probes */

typedef struct {
    double eps0, delta0;  /* > 0: starting accuracies (distance to y*(x), to the exact q) */
    double alpha0;        /* > 0: first trial step; NaN: 1 / |z_0| (a first step of length 1) */
    double rho, rho_bar;  /* step decrease in (0, 1) / increase >= 1 */
    double nu, nu_bar;    /* accuracy tightening in (0, 1) / loosening >= 1 */
    double eta;           /* in (0, 1): Algorithm 3.2 demands omega <= (1 - eta) |z| */
    double armijo;        /* in (0, eta): the certified decrease is armijo alpha |z|^2 */
    long max_bt;          /* >= 1: line-search trials at first; one more after each failure */
    long max_refine;      /* >= 1: accuracy tightenings allowed in one iteration */
    double eps_min;       /* > 0: floor of epsilon and delta */
    int descent_check;    /* 1: Algorithm 3.2's test omega <= (1 - eta)|z| (estimates constants);
                           * 0: skip it, the line search failing is the only trigger */
    int upper_convex;     /* 1: f(x, .) convex, the tighter lower bound of the paper's remark */
    int lower_solver;     /* inexact_lower */
    long lower_max_iter;  /* >= 1: iterations of one lower-level solve */
    long cg_max_iter;     /* >= 1: iterations of one conjugate-gradient solve */
    double upper_L;       /* smoothness of f(x, .) in y; NaN: estimated */
    double lip_hyy;       /* Lipschitz constant in y of grad^2_yy g; NaN: estimated */
    double lip_hxy;       /* Lipschitz constant in y of grad^2_xy g; NaN: estimated */
    double final_tol;     /* > 0: residual of the exact lower solve at the end (reporting) */
    uint64_t seed;        /* random directions of the estimates */
    sv_control ctl;       /* tol: stop when |z| (|x - P_X(x - z)| with a box) <= tol;
                           * max_iter: accepted upper steps; report_every: accepted steps */
} inexact_settings;

/* The parameter table of inexact_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec inexact_params[];

typedef struct {
    sv_info base;          /* base.obj = f(x, y~) at the returned x with the solver's own y~ (the
                            * progress events' objective), base.res = |z| */
    double z_norm;         /* |z| (projected step with a box) at the returned x */
    double omega;          /* the a-posteriori bound on |z - grad F| there (NaN: not computed) */
    double eps, delta;     /* the accuracies reached (last iteration's) */
    double eps_min_seen;   /* the smallest epsilon used */
    double alpha;          /* the last accepted step */
    double upper_L, lip_hyy, lip_hxy, lip_fx, b_norm;  /* constants used (estimates included) */
    long lower_grads;      /* lower-level gradient evaluations (AGD) or solver calls (newton) */
    long hvps;             /* Hessian-vector products grad^2_yy g v in the linear solves */
    long upper_evals;      /* upper-level evaluations (line-search trials included) */
    long backtracks;       /* rejected line-search trials, all iterations */
    long refinements;      /* accuracy tightenings after a failed line search (Alg. 3.1) */
    long check_refinements;/* accuracy tightenings by the descent test (Alg. 3.2) */
    int floor_reached;     /* 1: stopped because no step could be certified at eps_min */
    double F_exact;        /* f(x, y*(x)) with y*(x) solved to final_tol (NaN on failure) */
    double hypergrad_norm; /* |grad F(x)| there (projected step with a box) */
    double lower_error;    /* |y - y*(x)| of the returned y */
} inexact_info;

/* Fills s with the defaults of inexact_params. */
void inexact_settings_default(inexact_settings *s);

/* Checks the settings against inexact_params, then armijo < eta and eps_min <= eps0, delta0.
 * Returns SV_OK or SV_EINVAL with e->field "/params/<name>". */
int inexact_check_settings(const inexact_settings *s, sv_err *e);

/* Runs MAID from x (in: start, projected onto the box of x; out: the last iterate, length
 * p->dx) with y (in: warm start of the lower level; out: the last lower solution, length p->dy).
 * The problem must be unconstrained in y (p->n_con == 0) with a known lower_mu. mon and e may be
 * NULL. Cancel and time limits are polled inside every inner loop (lower solves, conjugate
 * gradients, the descent test's tightenings, the line search); a stop there abandons the
 * iteration under way, x and y stay the last accepted pair. The closing exact evaluation
 * (F_exact, hypergrad_norm, lower_error) runs whatever the status (not after divergence) without
 * polling, bounded by sv_bl_evaluate's own limits (100 Newton steps), so a stopped run still
 * returns them. Returns SV_OK (info->base.status says how the solve ended; SV_STALLED when
 * the accuracy floor stopped it before tol, with info->floor_reached = 1), SV_EINVAL (e names the field;
 * info left UNSOLVED) or SV_ENOMEM. */
int inexact_solve(const sv_bl_problem *p, const inexact_settings *s, const sv_monitor *mon,
                     double *x, double *y, inexact_info *info, sv_err *e);

#endif
