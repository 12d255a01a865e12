/* logistic_eq.h - logistic regression under equality constraints, the test problem of the
 * constrained solvers (the experiment of Hong, Na, Mahoney, Kolar, ICML 2023, with synthetic data):
 *
 *   min_x  f(x) = (1/n) sum_i log(1 + exp(-y_i z_i'x)) + (lambda/2) |x|^2
 *   s.t.   A x = b            (m linear equalities)
 *          |x|^2 = 1          (only with unit_norm, the paper's extra nonlinear constraint)
 *
 * A seeded generator builds the data; the functions below evaluate f, its gradient, the
 * constraints, their Jacobian and the Hessian of the Lagrangian f + y'c, all without allocating.
 * One instance must not be evaluated from two threads at once (it owns its scratch). */
#ifndef SV_LOGISTIC_EQ_H
#define SV_LOGISTIC_EQ_H

#include <stdint.h>

#include "core/models/glm.h"
#include "core/params.h"

/* The generated instance. One xoshiro256** stream seeded with seed draws, in this order: a unit
 * vector u (normalised N(0, I_d)); the n samples, each z_i ~ N(0, I_d) followed by its label
 * y_i = +1 with probability sigmoid(2 z_i'u), else -1; a unit vector v; the m x d matrix A with
 * N(0, 1) entries. Then b = A v, so v is feasible for A x = b and |x|^2 = 1 together. */
typedef struct {
    int n;            /* samples, >= 1 */
    int d;            /* features, >= 1 */
    int m;            /* linear equalities, 0 <= m, and m + unit_norm <= d */
    int unit_norm;    /* 0 or 1: add |x|^2 = 1 as the last constraint */
    double lambda;    /* ridge weight >= 0 */
    uint64_t seed;
    int kind;         /* the "generate" object's "kind": 0 = "logistic_eq", the only one */
} sv_logistic_eq_spec;

/* The table of the "generate" object that fills an sv_logistic_eq_spec: kind ("logistic_eq"),
 * n, d and m required; seed (0), lambda (0), unit_norm (false). sv_logistic_eq_check adds the
 * checks that relate members. */
extern const sv_param_spec sv_logistic_eq_params[];

/* Largest n * d and m * d the generator accepts (the dense data must fit in memory). */
#define SV_LOGISTIC_EQ_MAX_ENTRIES 50000000L

typedef struct {
    int n, d, m, unit_norm;
    double lambda;
    sv_mat Z;         /* n x d features, dense */
    double *y;        /* n labels, -1 or +1 */
    double *A;        /* m x d, row-major */
    double *b;        /* m */
    double *u;        /* d: the direction the labels were drawn from */
    double *v;        /* d: the feasible point used to make b */
    sv_glm loss;      /* the logistic loss over Z, y with ridge lambda */
    double *work;     /* n (d + 1) doubles of scratch */
} sv_logistic_eq;

/* Checks spec against sv_logistic_eq_params, then m + unit_norm <= d and n * d within
 * SV_LOGISTIC_EQ_MAX_ENTRIES (errors name "/problem/generate/<field>"). Allocates nothing. */
int sv_logistic_eq_check(const sv_logistic_eq_spec *spec, sv_err *e);

/* Validates spec, then fills *out (free with sv_logistic_eq_free). SV_OK, SV_EINVAL or SV_ENOMEM;
 * on failure *out is empty and safe to free. */
int sv_logistic_eq_generate(const sv_logistic_eq_spec *spec, sv_logistic_eq *out, sv_err *e);

/* Frees what p owns and zeroes it; accepts a zeroed or half-built instance. */
void sv_logistic_eq_free(sv_logistic_eq *p);

/* Number of constraints: m + unit_norm. */
int sv_logistic_eq_n_cons(const sv_logistic_eq *p);

/* f(x); g (d, may be NULL) gets the gradient. */
double sv_logistic_eq_fgrad(sv_logistic_eq *p, const double *x, double *g);

/* c(x) into c (n_cons, may be NULL) and, when J is non-NULL, the Jacobian (n_cons x d,
 * row-major): rows of A, then 2 x' for the unit-norm constraint. */
void sv_logistic_eq_cons(const sv_logistic_eq *p, const double *x, double *c, double *J);

/* out (d) = J(x)' y (y has n_cons entries). */
void sv_logistic_eq_jtv(const sv_logistic_eq *p, const double *x, const double *y, double *out);

/* H (d x d, row-major, symmetric) = Hessian of f + y'c at x: (1/n) Z' diag(s_i (1 - s_i)) Z +
 * lambda I, plus 2 y_last I with the unit-norm constraint. y may be NULL (zero). */
void sv_logistic_eq_lag_hess(sv_logistic_eq *p, const double *x, const double *y, double *H);

#endif
