/* eal_sketch.h - AdaSketch-Newton for equality-constrained smooth problems
 *
 *   min_x f(x)  s.t.  c(x) = 0      (c: R^n -> R^m, m <= n),
 *
 * an adaptive inexact Newton method: every iteration solves the Lagrangian Newton (KKT) system
 * inexactly with a randomized iterative sketching solver (randomized Kaczmarz, block Kaczmarz or
 * Gaussian sketch-and-project), to an accuracy that adapts to the KKT residual and the penalty
 * parameters, steps with an Armijo line search on the exact augmented Lagrangian
 *
 *   L_{mu,nu}(x, l) = f(x) + l'c(x) + (mu/2) |c(x)|^2 + (nu/2) |grad_x L(x, l)|^2,
 *
 * and raises mu / lowers nu until the inexact direction is a descent direction of it. The
 * sketching solver is core/kernels/sketch.h.
 * Paper: Ilgee Hong, Sen Na, Michael W. Mahoney, Mladen Kolar, "Constrained Optimization via Exact
 * Augmented Lagrangian and Randomized Iterative Sketching", ICML 2023. The math, the choices the
 * paper leaves open and the parameters are in docs/solvers/constrained/eal_sketch.md. */
#ifndef SV_EAL_SKETCH_H
#define SV_EAL_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/control.h"
#include "core/expr/expr.h"
#include "core/kernels/sketch.h"
#include "core/models/logistic_eq.h"
#include "core/params.h"
#include "core/rng.h"
#include "core/solver.h"

/* ---- the problem: an oracle for f and c ---- */
typedef struct {
    int n;   /* variables, >= 1 */
    int m;   /* equality constraints, 0 <= m <= n */
    void *data;
    /* f(x); g (n) gets grad f(x). */
    double (*fgrad)(void *data, const double *x, double *g);
    /* c(x) into c (m); when J is non-NULL, the Jacobian into J (m x n, row-major). May be NULL
     * when m == 0, like jtv. */
    void (*cons)(void *data, const double *x, double *c, double *J);
    /* out (n) = J(x)' y. */
    void (*jtv)(void *data, const double *x, const double *y, double *out);
    /* H (n x n, row-major) = Hessian of f + y'c at x; scratch has n doubles. */
    void (*lag_hess)(void *data, const double *x, const double *y, double *H, double *scratch);
} eal_sketch_problem;

/* The oracle of an expression problem (f, its equalities; bounds and inequalities are not
 * looked at: the codec rejects them). p must outlive out. */
void eal_sketch_problem_from_expr(sv_expr_problem *p, eal_sketch_problem *out);
/* The oracle of a constrained logistic regression instance. p must outlive out. */
void eal_sketch_problem_from_logistic_eq(sv_logistic_eq *p, eal_sketch_problem *out);

/* ---- settings ---- */
typedef enum {
    EAL_SKETCH_MULT_ZERO = 0,           /* lambda_0 = 0 */
    EAL_SKETCH_MULT_LEAST_SQUARES = 1   /* lambda_0 = argmin |grad f(x_0) + J' l| */
} eal_sketch_multipliers;

/* Defaults (eal_sketch_settings_default): those of the paper's experiments and code. */
#define EAL_SKETCH_DEFAULT_TOL 1e-8             /* KKT residual |(grad_x L, c)| */
#define EAL_SKETCH_DEFAULT_MAX_ITER 1000L
#define EAL_SKETCH_DEFAULT_REPORT_EVERY 1L
#define EAL_SKETCH_DEFAULT_SEED 0
#define EAL_SKETCH_DEFAULT_SKETCH SV_SKETCH_BLOCK
#define EAL_SKETCH_DEFAULT_SKETCH_SIZE 32       /* BLOCK and GAUSSIAN */
#define EAL_SKETCH_DEFAULT_MAX_SKETCH_ITER 100000L
#define EAL_SKETCH_DEFAULT_MU 1.0               /* mu_0 (the paper's code: eta1) */
#define EAL_SKETCH_DEFAULT_NU 0.1               /* nu_0 (eta2) */
#define EAL_SKETCH_DEFAULT_DELTA 0.1            /* delta_0, the accuracy parameter */
#define EAL_SKETCH_DEFAULT_DELTA_MIN 1e-6       /* floor of delta (the code's numerical safeguard) */
#define EAL_SKETCH_DEFAULT_XI_B 0.1             /* least eigenvalue of the modified reduced Hessian */
#define EAL_SKETCH_DEFAULT_BETA 0.1             /* Armijo constant, in (0, 1/2) */
#define EAL_SKETCH_DEFAULT_RHO 1.5              /* penalty update factor > 1 */
#define EAL_SKETCH_DEFAULT_BACKTRACK 0.5        /* step shrink factor of the line search */
#define EAL_SKETCH_DEFAULT_SUPERLINEAR 0        /* theta_k = 1 (linear) or min(1, KKT residual) */
#define EAL_SKETCH_DEFAULT_MODIFY_HESSIAN 1
#define EAL_SKETCH_DEFAULT_MULTIPLIERS EAL_SKETCH_MULT_LEAST_SQUARES
#define EAL_SKETCH_DEFAULT_EXACT_FALLBACK 1
#define EAL_SKETCH_DEFAULT_MAX_RESTARTS 5L

/* Fixed constants of the method (the paper's code uses the same). */
#define EAL_SKETCH_PSI_FACTOR 20.0      /* Psi = 20 max(|B|_F^2, 1) / (min(xi_G, 1) min(xi_B, 1)) */
#define EAL_SKETCH_MU_MAX 1e8           /* penalties stop moving at mu >= 1e8 or nu <= 1e-8 */
#define EAL_SKETCH_NU_MIN 1e-8
#define EAL_SKETCH_RH_TRIGGER 1e-6      /* the Hessian is modified when eigmin(Z'HZ) < this */
#define EAL_SKETCH_RANK_TOL 1e-13       /* J is rank deficient when sigma_min^2 <= this sigma_max^2 */
#define EAL_SKETCH_REG_MIN 1e-8         /* least r of the regularized system (rank-deficient J) */
#define EAL_SKETCH_MAX_BACKTRACKS 60
#define EAL_SKETCH_ARMIJO_RELAX 10.0    /* Armijo accepts up to 10 eps |merit| above its bound */
#define EAL_SKETCH_MAX_KKT_DIM 3000     /* n + m: K and its LU copy have (n + m)^2 entries each */
/* The largest doubles below 1 and 1/2: the open upper ends of delta, delta_min, backtrack (< 1)
 * and beta (< 1/2) in the parameter table. */
#define EAL_SKETCH_BELOW_ONE 0x1.fffffffffffffp-1
#define EAL_SKETCH_BELOW_HALF 0x1.fffffffffffffp-2

typedef struct {
    sv_control ctl;        /* tol: stop when the KKT residual |(grad_x L, c)| <= tol;
                            * max_iter: Newton iterations */
    uint64_t seed;         /* the sketches' random stream */
    int sketch;            /* sv_sketch_kind */
    long sketch_size;      /* s for BLOCK and GAUSSIAN, >= 1 */
    long max_sketch_iter;  /* sketch steps per solve of the Newton system */
    double mu;             /* mu_0 > 0 */
    double nu;             /* nu_0 > 0 */
    double delta;          /* delta_0 in (0, 1) */
    double delta_min;      /* in [0, 1); 0 = no floor */
    double xi_b;           /* > 0 */
    double beta;           /* in (0, 1/2) */
    double rho;            /* > 1 */
    double backtrack;      /* in (0, 1) */
    int superlinear;       /* 0 or 1 */
    int modify_hessian;    /* 0 or 1: 0 trusts that Z'HZ is positive definite (skips the LDL' test) */
    int multipliers;       /* eal_sketch_multipliers */
    int exact_fallback;    /* 0 or 1: when the sketch runs out of steps short of the accuracy and
                            * the direction is no descent direction, solve K z = -b by LU */
    long max_restarts;     /* restarts after a failed iteration (least-squares multipliers,
                            * initial penalties); 0 = the first failure ends the solve */
} eal_sketch_settings;

/* The parameter table of eal_sketch_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec eal_sketch_params[];

/* Why the solve ended, finer than info.base.status. */
typedef enum {
    EAL_SKETCH_REASON_NONE = 0,
    EAL_SKETCH_REASON_CONVERGED,         /* KKT residual <= tol (status solved) */
    EAL_SKETCH_REASON_MAX_ITER,
    EAL_SKETCH_REASON_TIME_LIMIT,
    EAL_SKETCH_REASON_CANCELLED,
    EAL_SKETCH_REASON_SINGULAR_JACOBIAN, /* no longer produced: a rank-deficient J(x) is
                                          * regularized (kept so the numbering is stable) */
    EAL_SKETCH_REASON_NO_DESCENT,        /* penalties at their limits and the direction still not a
                                   * descent direction (status diverged) */
    EAL_SKETCH_REASON_LINE_SEARCH,       /* no Armijo step in EAL_SKETCH_MAX_BACKTRACKS halvings (diverged) */
    EAL_SKETCH_REASON_SINGULAR_KKT,      /* the exact fallback found K singular (diverged) */
    EAL_SKETCH_REASON_NONFINITE          /* a non-finite Hessian (diverged) */
} eal_sketch_reason;

/* "converged", "max_iter", ..., "singular_jacobian"; never NULL. */
const char *eal_sketch_reason_name(int reason);

typedef struct {
    sv_info base;            /* obj = f(x), res = KKT residual, iter = Newton iterations */
    int reason;              /* eal_sketch_reason */
    double kkt;              /* |(grad_x L, c)| at the returned (x, lambda) */
    double grad_lag_norm;    /* |grad_x L| */
    double cons_norm;        /* |c(x)| */
    double merit;            /* L_{mu,nu} at the returned point, final mu and nu */
    double mu, nu, delta;    /* final penalty parameters and accuracy parameter */
    double alpha;            /* last step size */
    long sketch_iters;       /* sketch steps, all iterations */
    long sketch_capped;      /* sketch runs that hit max_sketch_iter before the accuracy */
    long exact_solves;       /* Newton systems solved by the LU fallback */
    long penalty_increases;  /* times (mu, nu) moved */
    long hessian_shifts;     /* iterations with B = H + t I, t > 0 */
    long backtracks;         /* step halvings, all iterations */
    long regularized;        /* iterations with a rank-deficient J (regularized Newton system) */
    long restarts;           /* restarts after a failed iteration */
    int last_restart_reason; /* the failure that caused the last restart (eal_sketch_reason) */
    long paper_accuracy_steps; /* accepted steps whose direction met the paper's accuracy
                              * condition with the paper's delta (no delta_min floor) */
} eal_sketch_info;

/* Fills s with the defaults of eal_sketch_params. */
void eal_sketch_settings_default(eal_sketch_settings *s);

/* Checks the settings against eal_sketch_params: SV_OK or SV_EINVAL with e->field
 * "/params/<name>". */
int eal_sketch_check_settings(const eal_sketch_settings *s, sv_err *e);

/* Checks the problem's shape (n, m, the callbacks, n + m <= EAL_SKETCH_MAX_KKT_DIM): errors name
 * "/problem" or "/problem/equalities". Allocates nothing. */
int eal_sketch_check_problem(const eal_sketch_problem *p, sv_err *e);

/* Runs AdaSketch-Newton from x (in: x_0, out: the last iterate; n values). lambda (m values, may
 * be NULL) receives the last multiplier estimate. Everything is validated before anything is
 * allocated. Returns SV_OK (info->base.status says how the solve ended, info->reason why),
 * SV_EINVAL (e names the field; also when f, grad f, c or J is not finite at x_0: "/problem/x0"),
 * or SV_ENOMEM. Progress: a report at iteration 0, every report_every iterations and at the end,
 * with the metrics of the last step (docs/solvers/constrained/eal_sketch.md, "Progress"); its
 * objective is f(x), as in info->base.obj. The monitor is polled at every iteration, in the
 * sketch (every SV_SKETCH_POLL_EVERY steps), at every penalty update and every backtrack. */
int eal_sketch_solve(const eal_sketch_problem *p, const eal_sketch_settings *s, const sv_monitor *mon, double *x,
              double *lambda, eal_sketch_info *info, sv_err *e);

#endif
