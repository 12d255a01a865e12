/* bl_multiblock.h - multi-block bilevel problems: m lower-level problems, one per task (block),
 * each a strongly convex least-squares or logistic problem in its own y_j, all coupled to one
 * shared upper variable x by a proximity term (biased regularisation, as in meta-learning with a
 * learned prior). The stochastic oracles (gradients, Hessian-vector products, dense Hessians over
 * a mini-batch of one block) are what bilevel.blockwise consumes; the exact lower-level solution
 * and hypergradient are here too, for monitoring and tests.
 *
 *   min_x  F(x) = (1/m) sum_j f_j(x, y_j*(x)),      f_j(x, y) = V_j(y) + (lambda/2) |x|^2
 *   y_j*(x) = argmin_y g_j(x, y),                   g_j(x, y) = T_j(y) + (mu/2) |y - x|^2
 *
 * T_j and V_j are linear-model objectives (core/models/glm.h) over block j's training and
 * validation rows; any ridge they carry stays part of them. mu > 0 makes every g_j strongly
 * convex in y. Since grad_y g_j = grad T_j(y) + mu (y - x), the cross derivative is
 * grad^2_xy g_j = -mu I and the hypergradient is
 *   grad F(x) = lambda x + (1/m) sum_j mu [grad^2 g_j(y_j*)]^{-1} grad V_j(y_j*).
 * Nothing here allocates except the generator and the container functions. */
#ifndef SV_BL_MULTIBLOCK_H
#define SV_BL_MULTIBLOCK_H

#include <stddef.h>
#include <stdint.h>
#include "core/models/glm.h"
#include "core/params.h"

typedef struct {
    int n_blocks;          /* m >= 1 */
    int dim;               /* d: the length of x and of every y_j */
    double mu;             /* > 0: weight of the proximity term (mu/2)|y_j - x|^2 */
    double lambda;         /* >= 0: ridge on x in the upper level */
    const sv_glm *train;   /* m objectives T_j over d columns (the lower level) */
    const sv_glm *val;     /* m objectives V_j over d columns (the upper level) */
} sv_mb_problem;

/* Checks shapes, finiteness, labels (-1/+1 for logistic), weights, mu > 0 and lambda >= 0.
 * Errors name "/problem/blocks/<j>/A", ".../b", ".../A_val", ".../b_val", "/problem/mu",
 * "/problem/lambda". Returns SV_OK or SV_EINVAL; allocates nothing. */
int sv_mb_check(const sv_mb_problem *p, sv_err *e);

/* Doubles of workspace every function below needs at most (2 * largest row count + 8 d). */
size_t sv_mb_work_size(const sv_mb_problem *p);

/* ---- per-block oracles. idx[0..k) selects rows of block j (training rows for T_j, validation
 * rows for V_j); idx == NULL means all of them (k ignored). work: sv_mb_work_size doubles. ---- */

/* g_j(x, y) over all training rows. */
double sv_mb_lower_value(const sv_mb_problem *p, int j, const double *x, const double *y,
                         double *work);
/* out = grad_y g_j(x, y) over the batch. */
void sv_mb_lower_grad(const sv_mb_problem *p, int j, const int *idx, int k, const double *x,
                      const double *y, double *out, double *work);
/* out = grad^2_yy g_j(y) v over the batch (the Hessian does not depend on x). */
void sv_mb_lower_hvp(const sv_mb_problem *p, int j, const int *idx, int k, const double *y,
                     const double *v, double *out, double *work);
/* H (d x d, row-major, overwritten) = grad^2_yy g_j(y) over the batch. */
void sv_mb_lower_hessian(const sv_mb_problem *p, int j, const int *idx, int k, const double *y,
                         double *H, double *work);
/* V_j(y) over all validation rows. */
double sv_mb_upper_value(const sv_mb_problem *p, int j, const double *y, double *work);
/* out = grad_y f_j(x, y) = grad V_j(y) over the batch of validation rows. */
void sv_mb_upper_grad_y(const sv_mb_problem *p, int j, const int *idx, int k, const double *y,
                        double *out, double *work);
/* out = grad_x f_j(x, y) = lambda x (the same for every block). */
void sv_mb_upper_grad_x(const sv_mb_problem *p, const double *x, double *out);
/* out = grad^2_xy g_j v = -mu v: the cross derivative applied to v (the same for every block). */
void sv_mb_cross_apply(const sv_mb_problem *p, const double *v, double *out);

/* Curvature constants of block j: smoothness of g_j(x, .) (L of T_j plus mu), a strong
 * convexity bound of g_j(x, .) (mu plus the smallest ridge of T_j) and the smoothness of V_j. */
double sv_mb_lower_smoothness(const sv_mb_problem *p, int j);
double sv_mb_lower_strong_convexity(const sv_mb_problem *p, int j);
double sv_mb_upper_smoothness(const sv_mb_problem *p, int j);

/* ---- whole-problem quantities over all rows ---- */

/* (1/m) sum_j V_j(y_j) + (lambda/2)|x|^2 with Y the m x d lower variables (row j = y_j): F(x)
 * when every y_j = y_j*(x). */
double sv_mb_objective(const sv_mb_problem *p, const double *x, const double *Y, double *work);
/* Solves block j's lower level at x by Newton's method with conjugate-gradient steps and an
 * Armijo backtrack: y (in: start, out: the solution) until |grad_y g_j| <= tol or max_iter
 * Newton steps. Returns the final gradient norm. */
double sv_mb_solve_lower(const sv_mb_problem *p, int j, const double *x, double *y, double tol,
                         int max_iter, double *work);
/* out = lambda x + (1/m) sum_j mu [grad^2_yy g_j(y_j)]^{-1} grad V_j(y_j): the hypergradient
 * formula evaluated at the given y_j (exact when y_j = y_j*(x)), the inverse applied by
 * conjugate gradients to relative residual 1e-12. Returns |out|. */
double sv_mb_hypergrad(const sv_mb_problem *p, const double *x, const double *Y, double *out,
                       double *work);
/* Block j's term of that formula: out += (mu/m) [grad^2_yy g_j(y)]^{-1} grad V_j(y).
 * sv_mb_hypergrad is sv_mb_upper_grad_x followed by this for j = 0, ..., m - 1, so a caller
 * that must poll between blocks gets the same result. */
void sv_mb_hypergrad_add(const sv_mb_problem *p, int j, const double *y, double *out,
                         double *work);
/* sqrt((1/m) sum_j |grad_y g_j(x, y_j)|^2): how far Y is from the lower-level solutions. */
double sv_mb_lower_residual(const sv_mb_problem *p, const double *x, const double *Y,
                            double *work);

/* ---- a container that owns an instance, and the seeded generator ---- */

typedef struct {
    sv_mb_problem prob;    /* points into the arrays below */
    sv_mat *A, *A_val;     /* m training / validation matrices */
    double **b, **b_val;   /* m target vectors (logistic: -1/+1) */
    sv_glm *train, *val;   /* m objectives each */
} sv_mb_data;

/* Zeroed arrays for n_blocks blocks over dim columns, to be filled by the caller (matrices and
 * targets then belong to the container). SV_OK or SV_ENOMEM. */
int sv_mb_data_alloc(sv_mb_data *d, int n_blocks, int dim);
/* Points the objectives at the arrays: loss, ridge on T_j (V_j has none), mu, lambda. */
void sv_mb_data_bind(sv_mb_data *d, sv_loss loss, double ridge, double mu, double lambda);
/* Frees everything the container owns and zeroes it; accepts a zeroed or half-built one. */
void sv_mb_data_free(sv_mb_data *d);

/* The generated instance: m related regression or classification tasks. A shared mean w ~
 * N(0, (4/d) I) and, per block, a task vector w_j = w + spread * delta_j with delta_j ~
 * N(0, (4/d) I); rows a ~ N(0, I); squared loss b = a'w_j + noise * eps, logistic loss b = +1
 * with probability sigmoid(a'w_j), else -1. One xoshiro256** stream seeded with seed draws w,
 * then block 0 (delta_0, its training rows and targets, its validation rows and targets), then
 * block 1, ... With the squared loss F is a strongly convex quadratic whose minimiser has a
 * closed form (see docs/solvers/bilevel/blockwise.md). */
typedef struct {
    int blocks;        /* m >= 1 */
    int rows;          /* training rows per block >= 1 */
    int val_rows;      /* validation rows per block >= 1; 0: as many as rows */
    int dim;           /* d >= 1 */
    sv_loss loss;
    double spread;     /* >= 0 */
    double noise;      /* >= 0 (squared loss only) */
    double mu;         /* > 0 */
    double lambda;     /* >= 0 */
    double ridge;      /* >= 0: ridge of every T_j */
    uint64_t seed;
} sv_mb_gen_spec;

#define SV_MB_GEN_DEFAULT_SPREAD 0.5
#define SV_MB_GEN_DEFAULT_NOISE 0.1
#define SV_MB_GEN_DEFAULT_MU 1.0

/* The parameter table of sv_mb_gen_spec, the "generate" form of bilevel.blockwise
 * ("/problem/generate"): blocks, rows and dim required, the rest with defaults (core/params.h). */
extern const sv_param_spec sv_mb_gen_params[];

/* The validation rows per block val_rows stands for (val_rows, or rows when it is 0). */
int sv_mb_gen_val_rows(const sv_mb_gen_spec *spec);

/* Validates spec against sv_mb_gen_params (errors name "/problem/generate/<field>"), then fills
 * out. Returns SV_OK, SV_EINVAL or SV_ENOMEM (out is then empty; sv_mb_data_free is still
 * safe). */
int sv_mb_generate(const sv_mb_gen_spec *spec, sv_mb_data *out, sv_err *e);

#endif
