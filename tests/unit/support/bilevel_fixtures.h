/* bilevel_fixtures.h - what the bilevel solver tests (tests/unit/solvers/bilevel/) share: the
 * 5 x 8 quadratic instance the penalty and BO-REP tests solve, the exact upper objective
 * F(x) = f(x, y*(x)), a direct ridge reference for the global-ridge hyperparam instance, and the
 * two pins every bilevel solver built on core/models/bilevel and api/codecs/bilevel/
 * bilevel_problem carries (the codec's class refusal and result members; the solver's start
 * check and exact end metrics). */
#ifndef SOLVD_TEST_SUPPORT_BILEVEL_FIXTURES_H
#define SOLVD_TEST_SUPPORT_BILEVEL_FIXTURES_H

#include "core/models/bilevel.h"

/* The quadratic class with dx = 5, dy = 8, cond 10, lambda 0.1, seed 3, the given box on x
 * (0: none) and oracle noise. Free with sv_bl_quadratic_free. */
void sv_test_bl_quadratic_5x8(sv_bl_quadratic *q, double box, double noise);

/* F(x) = f(x, y*(x)), y*(x) solved to 1e-12 by sv_bl_evaluate (y: warm start in, y*(x) out). */
double sv_test_bl_true_F(const sv_bl_problem *p, const double *x, double *y);

/* The validation loss of a squared-loss hyperparam instance at the global ridge exp(theta), the
 * lower level solved directly: (A'A/n + e^theta I) y = A'b/n by Cholesky. G0 = A'A/n and
 * r0 = A'b/n are formed once by init; free releases them. */
typedef struct {
    int d;
    double *G0, *r0, *G, *r;
} sv_test_ridge_ref;

void sv_test_ridge_ref_init(sv_test_ridge_ref *R, const sv_bl_hyperparam *h);
void sv_test_ridge_ref_free(sv_test_ridge_ref *R);
double sv_test_ridge_val_loss(sv_test_ridge_ref *R, const sv_bl_hyperparam *h, double theta);

/* The global-ridge instance both the penalty and BO-REP tests tune: squared loss, 30 training and
 * 200 validation rows, d = 20, seed 5. Free with sv_bl_hyperparam_free. */
void sv_test_bl_hyperparam_global(sv_bl_hyperparam *h);

/* The reference optimum: the smallest validation loss over a fine grid of theta (step 1e-3 on
 * [-5, 3]), returned, and its theta in *theta_ref. */
double sv_test_ridge_grid(sv_test_ridge_ref *R, const sv_bl_hyperparam *h, double *theta_ref);

/* The codec glue pins of a bilevel codec that refuses the constrained class (written before the
 * glue moved into api/codecs/bilevel/bilevel_problem.c): the explicit constrained form is refused
 * at /problem/class by validate and by run (no result), the generated one at
 * /problem/generate/class by run, each with exactly msg; a generated quadratic run with params
 * (a JSON text holding "max_iter": 5) returns exactly the members keys ("a,b,...,") in order, its
 * objective equal to upper_objective and params.max_iter 5. */
void sv_test_bl_codec_glue_pins(const char *codec_name, const char *msg, const char *params,
                                const char *keys);

/* One run of the solver under test on p from x and y (either may be NULL) with max_iter 20 and
 * exact metrics on; returns its rc and, on SV_OK, its final exact F and |grad F|. */
typedef int (*sv_test_bl_solve_fn)(const sv_bl_problem *p, double *x, double *y, double *F,
                                   double *hypergrad_norm, sv_err *e);

/* The solver pins (written before the start check and the exact F and hypergradient moved into
 * core/models/bilevel.c), on sv_test_bl_quadratic_5x8 without box or noise: the final F and
 * |grad F| equal an independent sv_bl_evaluate at the returned x (1e-7, 1e-6 relative), and a
 * missing or non-finite x or y is refused at /problem/x0 or /problem/y0 with the one message. */
void sv_test_bl_start_and_exact_pins(sv_test_bl_solve_fn solve);

#endif
