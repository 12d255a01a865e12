/* lion.h - Lion and the Lion-K family: sign (or grad K) momentum with decoupled weight decay, which
 * minimises f(x) subject to a norm-ball constraint, or more generally the composite objective
 * f(x) + K*(lambda x) / lambda. Papers: Chen, Liu, Liang, Liu, "Lion Secretly Solves Constrained
 * Optimization: As Lyapunov Predicts", ICLR 2024 (Lion-K); Chen et al., "Symbolic Discovery of
 * Optimization Algorithms", NeurIPS 2023 (Lion). docs/solvers/constrained/lion.md has the math.
 *
 * One iteration, g = grad f(x) (or a mini-batch estimate), eta = lr * schedule factor:
 *   c = beta1 m + (1 - beta1) g
 *   x = x - eta (grad K(c) + lambda x)
 *   m = beta2 m + (1 - beta2) g
 * With K(x) = |x|_1, grad K = sign: Lion, which solves min f s.t. |x|_inf <= 1/lambda; once an
 * iterate is inside that box it stays there (eta lambda <= 1), and outside it the distance to the
 * box shrinks at least by the factor 1 - eta lambda per step. */
#ifndef SV_LION_H
#define SV_LION_H

#include <stdint.h>

#include "core/control.h"
#include "core/expr/expr.h"
#include "core/models/glm.h"
#include "core/params.h"
#include "core/schedule.h"

/* The convex function K (every one even, K(0) = 0). R(x) = K*(lambda x) / lambda is what the
 * weight decay adds to f; "set" is where R is finite. q = p / (p - 1). */
typedef enum {
    LION_K_SIGN = 0,      /* |x|_1: sign(c). R = indicator of |x|_inf <= 1/lambda (Lion) */
    LION_K_L2 = 1,        /* |x|_2: c / |c|_2. R = indicator of |x|_2 <= 1/lambda */
    LION_K_LP = 2,        /* |x|_p, p > 1: sign(c)|c|^(p-1) / |c|_p^(p-1). |x|_q <= 1/lambda */
    LION_K_LINF = 3,      /* |x|_inf: sign(c_j) e_j, j = argmax |c_j|. |x|_1 <= 1/lambda */
    LION_K_HUBER = 4,     /* sum huber_delta(x_i): clip(c/delta, -1, 1).
                           * R = (delta lambda / 2)|x|^2 on the box |x|_inf <= 1/lambda */
    LION_K_RELATIVISTIC = 5, /* sum sqrt(x_i^2 + delta^2) - delta: c / sqrt(c^2 + delta^2).
                              * R = (delta/lambda) sum (1 - sqrt(1 - lambda^2 x_i^2)) on the box */
    LION_K_QUADRATIC = 6  /* |x|^2 / 2: c (heavy-ball momentum). R = (lambda/2)|x|^2, no set */
} lion_k;

/* Defaults (lion_settings_default). */
#define LION_DEFAULT_K LION_K_SIGN
#define LION_DEFAULT_P 3.0
#define LION_DEFAULT_DELTA 1.0
#define LION_DEFAULT_LR 0.01
#define LION_DEFAULT_BETA1 0.9            /* the Lion paper's (0.9, 0.99) */
#define LION_DEFAULT_BETA2 0.99
#define LION_DEFAULT_WEIGHT_DECAY 0.0
#define LION_DEFAULT_BATCH_SIZE 0L        /* 0: full gradients */
#define LION_DEFAULT_SEED 0
#define LION_DEFAULT_TOL 1e-8
#define LION_DEFAULT_MAX_ITER 10000L
#define LION_DEFAULT_REPORT_EVERY 100L
/* The largest double below 1: beta1, beta2 lie in [0, 1). */
#define LION_BETA_MAX 0x1.fffffffffffffp-1
/* The default schedule is cosine down to eta = 0 at max_iter: sign updates of a fixed size
 * oscillate around an interior optimum with amplitude ~ lr, so a decaying rate is what lets the
 * iterates settle (docs/solvers/constrained/lion.md). */
#define LION_DEFAULT_SCHEDULE SV_SCHEDULE_COSINE
/* Relative slack when deciding that x lies in the constraint set (rounding of the update). */
#define LION_SET_TOL 1e-12
/* Diverged once |f(x)| or |x|_inf exceeds this multiple of its scale at the start (plus 1). */
#define LION_DIVERGENCE_FACTOR 1e20

typedef struct {
    int k;                /* lion_k */
    double p;             /* LION_K_LP: p in (1, 1e6] */
    double delta;         /* LION_K_HUBER, LION_K_RELATIVISTIC: delta > 0 */
    double lr;            /* eta_max > 0; lr * weight_decay <= 1 */
    double beta1, beta2;  /* in [0, 1) */
    double weight_decay;  /* lambda >= 0; 0: unconstrained min f (for every K) */
    long batch_size;      /* built-in models: samples per stochastic gradient; 0 = all */
    uint64_t seed;        /* mini-batch sampling */
    sv_control ctl;       /* tol: stop when the gap (lambda > 0) or |grad f| (lambda = 0) <= tol;
                           * max_iter: also the budget T of the schedule */
    sv_schedule schedule; /* eta_t = lr * factor(t, max_iter) */
} lion_settings;

/* The parameter table of lion_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec lion_params[];

/* A smooth objective given by the caller: returns f(x) and fills grad (never NULL). */
typedef double (*lion_objective_fn)(const double *x, double *grad, void *data);

/* Exactly one of glm, expr, fn is set. */
typedef struct {
    int dim;                 /* length of x (checked against glm / expr) */
    const sv_glm *glm;       /* a built-in linear model; the only kind with mini-batches */
    sv_expr_problem *expr;   /* an expression objective; no constraints, no finite bounds */
    lion_objective_fn fn;    /* any smooth f */
    void *fn_data;
} lion_problem;

typedef struct {
    sv_info base;         /* base.obj = f(x), base.res = gap (lambda > 0) or |grad f| */
    double grad_norm;     /* |grad f(x)|_2 at the returned x (full gradient) */
    double gap;           /* <g, x> + R(x) + K(g)/lambda >= 0, the duality gap of
                           * min f + R; bounds F(x) - min F for convex f. inf outside the set,
                           * NaN when lambda = 0 */
    double composite;     /* F(x) = f(x) + R(x) (inf outside the set) */
    double x_inf;         /* |x|_inf */
    double violation;     /* distance of the K's set norm to 1/lambda: max(0, |x|_set - 1/lambda)
                           * (0 when lambda = 0 or K has no set) */
    double box_violation; /* max(0, |x|_inf - 1/lambda), 0 when lambda = 0 */
    double radius;        /* 1/lambda (inf when lambda = 0) */
    long entry_iter;      /* first iteration whose iterate was in the set (up to LION_SET_TOL);
                           * -1 if none was */
    double lr;            /* step size of the last iteration */
} lion_info;

/* Fills s with the defaults of lion_params. */
void lion_settings_default(lion_settings *s);

/* Checks the settings alone: lion_params, then lr * weight_decay <= 1. Returns SV_OK or
 * SV_EINVAL with e->field "/params/<name>". */
int lion_check_settings(const lion_settings *s, sv_err *e);

/* grad K(c) into out (n values) for the settings' K; out may be c. */
void lion_grad_k(const lion_settings *s, int n, const double *c, double *out);

/* K(v) and R(x) = K*(lambda x)/lambda for the settings' K (R is +inf outside the set, up to
 * LION_SET_TOL); lambda = s->weight_decay > 0 for R. */
double lion_k_value(const lion_settings *s, int n, const double *v);
double lion_regularizer(const lion_settings *s, int n, const double *x);
/* The norm that defines the K's set (|x|_inf, |x|_2, |x|_q or |x|_1); 0 for LION_K_QUADRATIC. */
double lion_set_norm(const lion_settings *s, int n, const double *x);

/* Runs Lion-K from x (in: x^0, out: the last iterate; length p->dim) until the stopping test,
 * max_iter, the time limit, a stop request from mon (SV_CANCELLED, polled at every iteration)
 * or divergence. With mini-batches the stopping test and the metrics use the full gradient at
 * each report. Progress "objective" is f(x), as in info->base.obj; F(x) = f + R is the metric
 * "composite". Every
 * input is validated before anything is allocated. Returns SV_OK (info->base.status says how the
 * solve ended), SV_EINVAL (e names the field; info left UNSOLVED) or SV_ENOMEM. mon and e may
 * be NULL. Progress metrics: grad_norm, gap, x_inf, violation, box_violation, lr. */
int lion_solve(const lion_problem *p, const lion_settings *s, const sv_monitor *mon, double *x,
               lion_info *info, sv_err *e);

#endif
