/* borep.h - BO-REP, bilevel optimisation with initialization REfinement and Periodic updates, for
 * bilevel problems (core/models/bilevel.h) whose upper level may have unbounded smoothness and
 * whose lower level is strongly convex. Paper: Hao, Gong, Liu, "Bilevel Optimization under
 * Unbounded Smoothness: A New Algorithm and Convergence Analysis", ICLR 2024.
 *
 *   y_0  = Epoch-SGD on g(x_0, .)                         (initialization refinement)
 *   for t = 0, 1, ...:
 *     if t > 0 and t % I == 0: y <- N SGD steps on g(x_t, .) from y   (periodic updates)
 *     z_t = P_Z(z_{t-1} - nu (grad^2_yy g(x_t, y_t) z_{t-1} - grad_y f(x_t, y_t)))
 *     m_t = beta m_{t-1} + (1 - beta) (grad_x f(x_t, y_t) - grad^2_xy g(x_t, y_t) z_t)
 *     x_{t+1} = P_X(x_t - eta_t m_t / |m_t|)                   (normalized momentum)
 * with every gradient and Hessian-vector product taken on fresh mini-batches. Doc page:
 * docs/solvers/bilevel/borep.md (which also says where the paper leaves a detail open). */
#ifndef SV_BOREP_H
#define SV_BOREP_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/bilevel.h"
#include "core/params.h"
#include "core/schedule.h"

/* Defaults (the table borep_params), chosen by the sweep of bench/bilevel/sweep.py (the grid
 * and its outcome are in docs/solvers/bilevel/borep.md): eta 0.5 with a cosine schedule and
 * full batches reach the bench's common target on every hyper-cleaning instance and the
 * optimum of the quadratic class; eta 0.01 (the former default) moves hundreds of weights too
 * little in 1000 iterations, a constant eta leaves x circling at distance eta, and 32-row
 * batches leave y too far from y*(x) on 5000 training rows. */
#define BOREP_DEFAULT_ETA 0.5
#define BOREP_DEFAULT_SCHEDULE SV_SCHEDULE_COSINE
#define BOREP_DEFAULT_BETA 0.9
#define BOREP_DEFAULT_PERIOD 10L
#define BOREP_DEFAULT_LOWER_STEPS 10L
#define BOREP_DEFAULT_INIT_EPOCHS 5L
#define BOREP_DEFAULT_INIT_STEPS 20L
#define BOREP_DEFAULT_BATCH 0L
#define BOREP_DEFAULT_TOL 0.0
#define BOREP_DEFAULT_MAX_ITER 1000L
#define BOREP_DEFAULT_REPORT_EVERY 10L
/* |m| below this counts as zero: no step (normalising it would amplify rounding). */
#define BOREP_TINY_MOMENTUM 1e-300
#define BOREP_DIVERGED 1e12
/* beta must be < 1 (the paper's momentum parameter lies in [0, 1)): the largest double below 1,
 * so that the table's inclusive upper bound says exactly beta < 1. */
#define BOREP_BETA_MAX (1.0 - 0x1p-53)

typedef struct {
    double eta;           /* upper step (distance moved per iteration) > 0 */
    sv_schedule schedule; /* eta_t = eta * factor(t, max_iter) (core/schedule.h) */
    double beta;          /* momentum in [0, 1) */
    double gamma;         /* lower-level SGD step; NaN: 1 / L_g at the current x */
    double nu;            /* step of the linear-system variable z; NaN: 1 / L_g at the current x */
    double z_radius;      /* > 0: z is projected onto the ball of this radius; 0: no projection */
    long period;          /* I: the lower variable is updated every I iterations, >= 1 */
    long lower_steps;     /* N: SGD steps per periodic update, >= 0 */
    long init_epochs;     /* Epoch-SGD epochs of the initialization refinement, >= 0 */
    long init_steps;      /* steps of its first epoch (each epoch doubles them, halves gamma) */
    long batch_upper;     /* rows per upper batch (grad f); 0: full */
    long batch_lower;     /* rows per lower batch (grad g, Hessian-vector products); 0: full */
    sv_control ctl;       /* tol: stop when the exact |grad F(x)| at a report is <= tol (needs
                           * exact_metrics); 0: never. max_iter: upper iterations */
    int exact_metrics;    /* reports carry the exact F(x) and |grad F(x)| (second-order work,
                           * for monitoring only) */
    uint64_t seed;
} borep_settings;

typedef struct {
    sv_info base;             /* base.obj = F (the objective: exact F(x) when exact_metrics,
                               * else NaN); base.res = |m| at the end */
    double momentum_norm;     /* |m_t| at the end */
    double lower_residual;    /* |grad_y g(x, y)| (full) at the end */
    double z_residual;        /* |grad^2_yy g z - grad_y f| (full) at the end */
    double hypergrad_norm;    /* exact |grad F(x)| at the end when exact_metrics, else NaN */
    double F;                 /* exact F(x) at the end when exact_metrics, else NaN */
    double gamma, nu;         /* the steps used (the last ones, when they follow L_g(x)) */
    long upper_grads;         /* oracle calls (batch or full) */
    long lower_grads;
    long hvps;                /* Hessian-vector and cross products */
    long lower_updates;       /* periodic updates done (the refinement not counted) */
} borep_info;

/* The parameter table of borep_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec borep_params[];

/* Fills s with the defaults of borep_params. */
void borep_settings_default(borep_settings *s);
/* Checks the settings against borep_params, and that init_steps * 2^init_epochs stays within
 * 1e9 steps. SV_OK or SV_EINVAL with e->field "/params/<name>". */
int borep_check_settings(const borep_settings *s, sv_err *e);

/* Runs BO-REP on p from x (in: x0, out: final x; length p->dx) and y (in: y0, out: the final
 * lower variable; length p->dy); z (length dy, may be NULL) gets the final linear-system
 * variable. Problems with coupled lower-level constraints are refused. Validates everything
 * before allocating. Returns SV_OK (info->base.status says how the solve ended), SV_EINVAL (e
 * names the field), SV_ENOMEM. mon, e may be NULL. */
int borep_solve(const sv_bl_problem *p, const borep_settings *s, const sv_monitor *mon,
                double *x, double *y, double *z, borep_info *info, sv_err *e);

#endif
