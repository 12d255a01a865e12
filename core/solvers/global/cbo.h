/* cbo.h - global.cbo: consensus-based optimization, a derivative-free global minimizer of a
 * black-box f: R^d -> R by N interacting particles, as stated in Riedl, Klock, Geldhauser,
 * Fornasier, "Gradient is All You Need? How Consensus-Based Optimization can be Interpreted as a
 * Stochastic Relaxation of Gradient Descent" (2023). One iteration is the Euler-Maruyama step of
 * the CBO dynamics
 *     v_alpha = sum_i X^i w_alpha(X^i) / sum_i w_alpha(X^i),   w_alpha = exp(-alpha f)
 *     X^i <- X^i - lambda dt (X^i - v_alpha) + sigma sqrt(dt) D(X^i - v_alpha) xi^i
 * with xi^i ~ N(0, I_d) and D(y) = |y|_2 I (isotropic) or diag(y) (anisotropic); the weights are
 * computed with the log-sum-exp shift (the paper's Laplace principle), so any alpha is safe. The
 * answer is the consensus point v_alpha. The benchmark objectives are in cbo_gen.h. */
#ifndef SV_SOLVERS_CBO_H
#define SV_SOLVERS_CBO_H

#include <stdint.h>

#include "core/control.h"
#include "core/expr/expr.h"
#include "core/params.h"
#include "core/solvers/global/cbo_gen.h"

typedef enum { CBO_NOISE_ANISOTROPIC = 0, CBO_NOISE_ISOTROPIC = 1 } cbo_noise;
typedef enum { CBO_INIT_BOX = 0, CBO_INIT_GAUSSIAN = 1 } cbo_init;
typedef enum {
    /* |v_k - v_{k-window}|_2 <= tol, tested every window iterations: the consensus has settled */
    CBO_STOP_CONSENSUS = 0,
    /* spread = sqrt((1/N) sum_i |X^i - v|^2) <= tol: the particles have collapsed onto v */
    CBO_STOP_SPREAD = 1
} cbo_stop;

/* Defaults (the table in cbo.c holds them; these name them). They solve Rastrigin, Ackley and
 * Rosenbrock in d = 10 from their standard boxes, not Griewank from [-600, 600]^10
 * (docs/solvers/global/cbo.md: the defaults' sweep). alpha = 1e8: with 1e5 the weights stop
 * separating particles once f is about 1e-3, where Rosenbrock's consensus stalled. */
#define CBO_DEFAULT_PARTICLES 200L
#define CBO_DEFAULT_ALPHA 1e8
#define CBO_DEFAULT_LAMBDA 1.0
#define CBO_DEFAULT_SIGMA 3.5
#define CBO_DEFAULT_DT 0.1
#define CBO_DEFAULT_NOISE CBO_NOISE_ANISOTROPIC
#define CBO_DEFAULT_INIT CBO_INIT_BOX
#define CBO_DEFAULT_STOP CBO_STOP_CONSENSUS
#define CBO_DEFAULT_WINDOW 100L
#define CBO_DEFAULT_TOL 1e-4
#define CBO_DEFAULT_MAX_ITER 20000L
#define CBO_DEFAULT_REPORT_EVERY 10L
/* Largest N * d (the particle array, 8 bytes an entry). */
#define CBO_MAX_ENTRIES 50000000.0
/* Diverged once the spread exceeds this (or anything is not finite). */
#define CBO_DIVERGENCE_SPREAD 1e150

typedef struct {
    long particles;       /* N >= 2 */
    double alpha;         /* weight parameter >= 0 (0: the plain mean) */
    double lambda;        /* drift towards the consensus > 0 */
    double sigma;         /* noise strength >= 0 */
    double dt;            /* Euler-Maruyama time step > 0 */
    int noise;            /* cbo_noise */
    int init;             /* cbo_init */
    double init_radius;   /* box half-width or Gaussian standard deviation; NaN: the problem's */
    int stop;             /* cbo_stop */
    long window;          /* iterations over which the consensus movement is measured */
    uint64_t seed;        /* initial particles and the Brownian increments */
    sv_control ctl;       /* tol: see stop; max_iter: iterations (N evaluations each) */
} cbo_settings;

extern const sv_param_spec cbo_params[];

/* An objective: f(ctx, x) with x of dim entries. Non-finite values are allowed (the particle then
 * gets weight 0). Called from one thread. */
typedef double (*cbo_objective_fn)(void *ctx, const double *x);

typedef struct {
    int dim;                 /* d >= 1 */
    cbo_objective_fn f;
    void *ctx;
    const double *center;    /* d: centre of the initial distribution; NULL: 0 */
    double radius;           /* its default half-width / standard deviation (> 0), used when
                              * init_radius is NaN */
} cbo_problem;

typedef struct {
    sv_info base;            /* obj = f(v) at the returned consensus point; res = the stop
                              * measure (consensus movement or spread); iter = iterations */
    double spread;           /* sqrt((1/N) sum_i |X^i - v|^2) at the end */
    double consensus_move;   /* |v_k - v_{k-window}| at the last measurement (NaN before one) */
    double best_obj;         /* the least f of every particle evaluated in the run */
    long evaluations;        /* calls of f */
    double init_radius;      /* the radius used */
} cbo_info;

/* Fills s with the defaults of cbo_params. */
void cbo_settings_default(cbo_settings *s);
/* The table's checks; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int cbo_check_settings(const cbo_settings *s, sv_err *e);

/* A benchmark as a problem: f = cbo_benchmark_value, the initial distribution centred on the
 * function's standard box with its half-width. center must hold b->dim doubles and outlive p. */
void cbo_problem_benchmark(cbo_problem *p, const cbo_benchmark *b, double *center);
/* An expr problem (no constraints) as a problem: f its objective, centred on its start, radius 1. */
void cbo_problem_expr(cbo_problem *p, sv_expr_problem *ep);

/* Runs CBO. x (d) receives the final consensus point, best_x (d, may be NULL) the best particle
 * ever evaluated. Validates everything before allocating; returns SV_OK (info->base.status says
 * how the run ended), SV_EINVAL (e names the field) or SV_ENOMEM. mon and e may be NULL. */
int cbo_solve(const cbo_problem *p, const cbo_settings *s, const sv_monitor *mon, double *x,
              double *best_x, cbo_info *info, sv_err *e);

#endif
