/* bilevel.h - the bilevel problems every bilevel.* solver runs on, behind one interface:
 *
 *   min_{x in X}  F(x) = f(x, y*(x)),    y*(x) = argmin_{y in Y(x)} g(x, y)
 *
 * x is the upper variable (length dx), y the lower one (length dy). A problem is an sv_bl_problem:
 * a table of oracles (sv_bl_ops) plus a pointer to its class's data, so that a new class plugs in
 * by writing one table. Four classes come with it (the formulas are in docs/solvers/
 * bilevel-problems.md):
 *   quadratic    g = 1/2 y'Hy - y'(Bx + h),  f = 1/2 |y - c|^2 + lambda/2 |x|^2,  closed-form x*
 *   hyperclean   data hyper-cleaning: per-sample weights sigmoid(x_i) on a ridge-regularised
 *                binary or multinomial logistic training loss, validation loss above
 *   hyperparam   ridge weights exp(theta_j) (one per feature or one global) of a least-squares,
 *                logistic or multinomial model, validation loss above
 *   constrained  the quadratic objectives with coupled lower-level constraints A x + B y <= b
 *
 * Samples: the lower level of hyperclean/hyperparam is a mean over n_lower training rows and the
 * upper level a mean over n_upper validation rows; a sv_bl_batch selects rows of one of them
 * (stochastic oracles, unbiased for the full means). The quadratic and constrained classes have
 * no rows (n_upper = n_lower = 0); there a batch adds N(0, noise^2 / k) to each gradient entry
 * when the class's noise > 0 and the batch carries an rng, and is ignored otherwise.
 *
 * Memory: nothing here keeps or frees what it is given. Oracles write only their outputs and the
 * caller's work array (p->work doubles for an oracle, sv_bl_work_size(p) for the helpers);
 * no globals, so one problem may serve several threads with separate work arrays. The class
 * structs hold plain arrays; the generators and loaders malloc them and the *_free functions
 * release them (whoever filled a class struct by hand frees it their own way). */
#ifndef SV_BILEVEL_H
#define SV_BILEVEL_H

#include <stddef.h>
#include <stdint.h>
#include "core/control.h"
#include "core/dataset.h"
#include "core/linalg.h"
#include "core/rng.h"

/* ============================================================================================
 * The generic interface
 * ========================================================================================== */

typedef enum {
    SV_BL_QUADRATIC = 0,
    SV_BL_HYPERCLEAN = 1,
    SV_BL_HYPERPARAM = 2,
    SV_BL_CONSTRAINED = 3
} sv_bl_class;

/* Which level's samples a batch indexes. */
typedef enum { SV_BL_UPPER = 0, SV_BL_LOWER = 1 } sv_bl_level;

/* Which labelled set an accuracy refers to. */
typedef enum { SV_BL_SET_TRAIN = 0, SV_BL_SET_VAL = 1, SV_BL_SET_TEST = 2 } sv_bl_set_id;

/* A mini-batch. NULL where a batch is taken means the exact, full oracle. idx[0..k) are row
 * indices of the level's samples, 1 <= k <= the level's row count (duplicates allowed: each
 * counts once per occurrence); the estimate is the mean over them. For the row-free classes
 * idx is ignored, k scales the noise and rng (may be NULL: no noise) drives it. */
typedef struct {
    const int *idx;
    int k;
    sv_rng *rng;
} sv_bl_batch;

typedef struct sv_bl_problem sv_bl_problem;

/* The oracles of one class. Every pointer is set unless its comment says it may be NULL. Any
 * gradient output pointer an oracle takes may be NULL (not wanted). work: p->work doubles. */
typedef struct {
    const char *name;  /* "quadratic", "hyperclean", ... */

    /* f(x, y) over the batch of upper samples; gx = grad_x f (dx), gy = grad_y f (dy). */
    double (*upper)(const sv_bl_problem *p, const double *x, const double *y,
                    const sv_bl_batch *b, double *gx, double *gy, double *work);
    /* g(x, y) over the batch of lower samples; gx = grad_x g (dx), gy = grad_y g (dy). The
     * constraints of the constrained class are not part of g. */
    double (*lower)(const sv_bl_problem *p, const double *x, const double *y,
                    const sv_bl_batch *b, double *gx, double *gy, double *work);
    /* out (dy) = grad^2_yy g(x, y) v. */
    void (*hvp_yy)(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                   const sv_bl_batch *b, double *out, double *work);
    /* out (dx) = grad^2_xy g(x, y) v = grad_x (grad_y g(x, y) . v), the cross term of the
     * hypergradient grad F = grad_x f - grad^2_xy g [grad^2_yy g]^{-1} grad_y f. */
    void (*hvp_xy)(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                   const sv_bl_batch *b, double *out, double *work);
    /* Constrained class only (NULL elsewhere): c (n_con) = A x + B y - b, the constraint values
     * (feasible where <= 0), and the dense Jacobians Jx (n_con x dx, = A) and Jy (n_con x dy,
     * = B), row-major. Each output may be NULL. */
    void (*constraints)(const sv_bl_problem *p, const double *x, const double *y, double *c,
                        double *Jx, double *Jy);
    /* A strong-convexity constant of g(x, .) and a smoothness constant of g(x, .) (for the
     * lower-level step size), valid at x (hyperparam's depend on x). NaN when unknown. lower_mu
     * may allocate scratch (an eigenvalue computation) and give NaN when that fails: call it at
     * set-up, not per iteration; lower_L reads what the bind computed and is cheap. */
    double (*lower_mu)(const sv_bl_problem *p, const double *x);
    double (*lower_L)(const sv_bl_problem *p, const double *x);
    /* Classification accuracy in [0, 1] of the lower-level model y on a labelled set; NULL for
     * classes without one (the wrapper then gives NaN). */
    double (*accuracy)(const sv_bl_problem *p, const double *y, sv_bl_set_id set);
    /* Exact lower-level solve at x: y (in: start, out: solution) until the class's residual
     * <= tol or max_iter steps; returns the residual. NULL: the generic Newton-CG of
     * sv_bl_solve_lower (unconstrained, y box ignored). work: sv_bl_work_size(p) doubles. */
    double (*solve_lower)(const sv_bl_problem *p, const double *x, double *y, double tol,
                          int max_iter, double *work);
    /* Hypergradient at (x, y) with y = y*(x): out (dx). NULL: the generic implicit-function
     * formula with conjugate gradients. Returns SV_OK or SV_ENUMERIC. work: sv_bl_work_size. */
    int (*hypergrad)(const sv_bl_problem *p, const double *x, const double *y, double *out,
                     double *work);
} sv_bl_ops;

struct sv_bl_problem {
    const sv_bl_ops *ops;
    const void *data;         /* the class struct (sv_bl_quadratic, ...), read-only */
    sv_bl_class cls;
    int dx, dy;               /* upper and lower dimensions, >= 1 */
    int n_upper, n_lower;     /* rows a batch of each level indexes; 0: no rows (see above) */
    int n_con;                /* lower-level constraints (constrained class), else 0 */
    const double *x_lo, *x_hi;  /* box of x (dx each); NULL: unbounded on that side */
    const double *y_lo, *y_hi;  /* box of y (constrained class only), else NULL */
    size_t work;              /* doubles of work one oracle call needs */
    /* eigmax(A'A) / rows of the lower level's training rows (hyperclean, hyperparam; else 0),
     * computed once when the problem is bound, so that lower_L needs no power iteration when a
     * solver asks for it in its iterations. */
    double gram_eig;
};

/* ---- thin wrappers over the table (the same arguments; see sv_bl_ops) ---- */
double sv_bl_upper(const sv_bl_problem *p, const double *x, const double *y,
                   const sv_bl_batch *b, double *gx, double *gy, double *work);
double sv_bl_lower(const sv_bl_problem *p, const double *x, const double *y,
                   const sv_bl_batch *b, double *gx, double *gy, double *work);
void sv_bl_hvp_yy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                  const sv_bl_batch *b, double *out, double *work);
void sv_bl_hvp_xy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                  const sv_bl_batch *b, double *out, double *work);
/* Nothing to do (and c untouched) when p->n_con == 0. */
void sv_bl_constraints(const sv_bl_problem *p, const double *x, const double *y, double *c,
                       double *Jx, double *Jy);
double sv_bl_lower_mu(const sv_bl_problem *p, const double *x);
double sv_bl_lower_L(const sv_bl_problem *p, const double *x);
/* NaN when the class has no labelled sets or the set is empty. */
double sv_bl_accuracy(const sv_bl_problem *p, const double *y, sv_bl_set_id set);

/* Euclidean projection onto the box of x (of y), in place. */
void sv_bl_project_x(const sv_bl_problem *p, double *x);
void sv_bl_project_y(const sv_bl_problem *p, double *y);

/* Draws k row indices of the level's samples, uniformly without replacement, into idx[0..k);
 * k is clamped to the row count (a batch never holds more rows than its level: the oracles'
 * work is sized for that). Returns the number drawn; rowless level: 0, idx untouched. */
int sv_bl_draw_batch(const sv_bl_problem *p, sv_bl_level level, int k, sv_rng *rng, int *idx);

/* ---- generic helpers (work: sv_bl_work_size(p) doubles) ---- */

/* Doubles of work the helpers below need (p->work plus a few vectors of length dx and dy). */
size_t sv_bl_work_size(const sv_bl_problem *p);

/* The helpers below take an optional solver loop L (NULL: run to their own limits). They poll it
 * in their inner loops (Newton steps, conjugate-gradient iterations), so that cancel and time
 * limits hold while a report or a lower solve runs; once it says stop they return early and the
 * int-returning ones return SV_BL_STOPPED. */
#define SV_BL_STOPPED 1

/* Solves the lower level at x (ops->solve_lower, or Newton's method with conjugate-gradient
 * steps and an Armijo backtrack on g): y in: start, out: solution. Returns the final residual
 * (|grad_y g| for unconstrained classes). */
double sv_bl_solve_lower(const sv_bl_problem *p, const double *x, double *y, double tol,
                         int max_iter, double *work, sv_loop *L);
/* out = the hypergradient at (x, y), exact when y = y*(x): ops->hypergrad, or
 * grad_x f - grad^2_xy g z with z solving grad^2_yy g z = grad_y f by conjugate gradients to
 * relative residual 1e-12. Returns SV_OK, SV_ENUMERIC (the system could not be solved) or
 * SV_BL_STOPPED. */
int sv_bl_hypergrad(const sv_bl_problem *p, const double *x, const double *y, double *out,
                    double *work, sv_loop *L);
/* |grad_y g(x, y)| over all rows: how far y is from y*(x) (unconstrained classes). For the
 * constrained class: the norm of the projected-gradient step of g on {y in box: A x + B y <= b}
 * is not cheap, so it returns max(|grad_y g|, max_i c_i^+) only as a rough indicator. */
double sv_bl_lower_residual(const sv_bl_problem *p, const double *x, const double *y,
                            double *work);
/* The problem's upper objective and hypergradient at x in one go, for progress reports and
 * results: y (in: warm start, out: y*(x) to tol) is solved for, *F = f(x, y), gout (dx, may be
 * NULL) the hypergradient. Returns SV_OK, SV_ENUMERIC or SV_BL_STOPPED. */
int sv_bl_evaluate(const sv_bl_problem *p, const double *x, double *y, double tol, double *F,
                   double *gout, double *work, sv_loop *L);
/* The exact F(x) and |grad F(x)| that solvers with exact_metrics report: sv_bl_evaluate at x to
 * 1e-10 warm-started from y, which is copied into ys (dy) first; g (dx) receives the
 * hypergradient. *F and *hg are NaN where the lower solve fails or L stopped it. */
void sv_bl_exact_metrics(const sv_bl_problem *p, const double *x, const double *y, double *ys,
                         double *g, double *work, double *F, double *hg, sv_loop *L);
/* The starting point check of solvers that take any x and y: both present and finite, else
 * SV_EINVAL at "/problem/x0" or "/problem/y0". */
int sv_bl_check_start(const sv_bl_problem *p, const double *x, const double *y, sv_err *e);

/* ============================================================================================
 * Classes. Each has a data struct, a bind function that points an sv_bl_problem at it (the
 * struct must outlive the problem), a check (errors name "/problem/<field>"), a seeded
 * generator and a free for what the generator or loader allocated.
 * ========================================================================================== */

/* Loss of the linear model inside hyperclean and hyperparam. */
typedef enum {
    SV_BL_LOSS_SQUARED = 0,     /* (a'y - b)^2 / 2, hyperparam only */
    SV_BL_LOSS_LOGISTIC = 1,    /* log(1 + exp(-b a'y)), b in {-1, +1} */
    SV_BL_LOSS_MULTINOMIAL = 2  /* softmax cross-entropy over K classes, labels 0..K-1;
                                 * y is the d x K weight matrix, row-major */
} sv_bl_loss;

/* One labelled set. rows may be 0 (an absent test set): then A holds no data. */
typedef struct {
    int rows;
    sv_mat A;    /* rows x d */
    double *b;   /* rows targets: squared loss any finite value, logistic -1/+1; else NULL */
    int *cls;    /* rows labels in [0, K) for the multinomial loss; else NULL */
} sv_bl_set;

/* ---- quadratic ----
 *   g(x, y) = 1/2 y'Hy - y'(Bx + h),  H symmetric positive definite (dy x dy), B dy x dx
 *   f(x, y) = 1/2 |y - c|^2 + lambda/2 |x|^2
 *   y*(x) = H^{-1}(Bx + h); with M = H^{-1}B and r = c - H^{-1}h, F(x) = 1/2 |Mx - r|^2 +
 *   lambda/2 |x|^2, minimised (no box) at x* = (M'M + lambda I)^{-1} M'r. */
typedef struct {
    int dx, dy;
    double *H;          /* dy x dy, row-major */
    double *B;          /* dy x dx, row-major */
    double *h;          /* dy, or NULL (zero) */
    double *c;          /* dy */
    double lambda;      /* >= 0; lambda > 0 or B of full column rank makes x* unique */
    double *x_lo, *x_hi;  /* optional box of x (dx each, NULL: unbounded) */
    double noise;       /* >= 0: std of the stochastic oracles' per-sample gradient noise */
} sv_bl_quadratic;

int sv_bl_quadratic_check(const sv_bl_quadratic *q, sv_err *e);
void sv_bl_quadratic_bind(const sv_bl_quadratic *q, sv_bl_problem *p);
/* x* and y* = y*(x*) (either may be NULL). Without a box: the closed form above (Cholesky).
 * With a box: F is a convex quadratic, minimised over the box by projected Newton-free
 * accelerated gradient to |projected gradient step| <= 1e-13 (scaled), which the test of a
 * solver may take as exact. Returns SV_OK, SV_ENOMEM or SV_ENUMERIC (H or the normal matrix not
 * positive definite). */
int sv_bl_quadratic_solution(const sv_bl_quadratic *q, double *xstar, double *ystar);

typedef struct {
    int dx, dy;          /* >= 1 */
    double cond;         /* >= 1: condition number of H (eigenvalues spread from 1 to cond) */
    double lambda;       /* >= 0 */
    double box;          /* > 0: x in [-box, box]^dx; 0: no box */
    double noise;        /* >= 0 */
    uint64_t seed;
} sv_bl_quadratic_spec;

/* H = Q diag(eig) Q' with Q a random orthogonal matrix and eig log-spaced in [1, cond]; B, h, c
 * with N(0, 1) entries scaled by 1/sqrt(dx) (B) and 1 (h, c). Errors name
 * "/problem/generate/<field>". The struct's arrays are malloc'd: sv_bl_quadratic_free. */
int sv_bl_quadratic_generate(const sv_bl_quadratic_spec *s, sv_bl_quadratic *q, sv_err *e);
void sv_bl_quadratic_free(sv_bl_quadratic *q);

/* The generate form of a class, {"class": <name>, ...the spec}, and its parameter table
 * (core/params.h), beside each generator: the bilevel codecs decode, check and document the
 * "generate" object from it (api/codecs/bilevel/bilevel_problem.c). cls is the index of the
 * class name among the table's one choice (always 0); the generators read only spec. */
typedef struct {
    int cls;
    sv_bl_quadratic_spec spec;
} sv_bl_quadratic_gen;
extern const sv_param_spec sv_bl_quadratic_gen_params[];
/* The largest dx and dy the quadratic and constrained generators accept. */
#define SV_BL_GEN_MAX_DIM 4000

/* ---- hyperclean ----
 *   g(x, y) = (1/n) sum_i sigmoid(x_i) l(a_i, y; label_i) + mu/2 |y|^2      (training rows)
 *   f(x, y) = (1/n_val) sum_j l(a_j, y; label_j) + upper_reg/2 |x|^2         (validation rows)
 * dx = train.rows, dy = d (logistic) or d*K (multinomial). */
typedef struct {
    sv_bl_loss loss;     /* SV_BL_LOSS_LOGISTIC or SV_BL_LOSS_MULTINOMIAL */
    int d, K;            /* features; classes (2 for logistic) */
    sv_bl_set train, val, test;  /* test may be empty */
    double mu;           /* > 0: lower-level ridge (strong convexity) */
    double upper_reg;    /* >= 0 */
    int *flipped;        /* train.rows: 1 where the label was corrupted, or NULL (unknown) */
    double *x_lo, *x_hi; /* optional box of x (dx each) */
} sv_bl_hyperclean;

int sv_bl_hyperclean_check(const sv_bl_hyperclean *h, sv_err *e);
void sv_bl_hyperclean_bind(const sv_bl_hyperclean *h, sv_bl_problem *p);
/* Detection of the corrupted rows from x: a row counts as flagged when sigmoid(x_i) < threshold
 * (its weight is below threshold). precision = flagged and flipped / flagged, recall = flagged
 * and flipped / flipped (NaN when a denominator is 0 or h->flipped is NULL). */
void sv_bl_hyperclean_detection(const sv_bl_hyperclean *h, const double *x, double threshold,
                                double *precision, double *recall);

typedef struct {
    int n_train, n_val, n_test;  /* n_train, n_val >= 1; n_test >= 0 */
    int d;                       /* features >= 1 (a constant column is added when intercept) */
    int classes;                 /* 2: logistic; > 2: multinomial */
    double flip;                 /* fraction of training labels corrupted, in [0, 1) */
    double mu;                   /* > 0 */
    double upper_reg;            /* >= 0 */
    int intercept;               /* 1: append a constant-1 feature */
    uint64_t seed;
} sv_bl_hyperclean_spec;

/* Planted linear classifier: W* ~ N(0, I) entries (d x K, or d for binary), rows a ~ N(0, I),
 * label = argmax of a'W* (binary: sign), so the clean problem is separable-ish with margin
 * noise from the features; then exactly round(flip * n_train) training rows, chosen uniformly,
 * get a wrong label (binary: the other one; multinomial: a uniformly chosen other class).
 * Validation and test labels stay clean. */
int sv_bl_hyperclean_generate(const sv_bl_hyperclean_spec *s, sv_bl_hyperclean *h, sv_err *e);
/* The generate form (see sv_bl_quadratic_gen). */
typedef struct {
    int cls;
    sv_bl_hyperclean_spec spec;
} sv_bl_hyperclean_gen;
extern const sv_param_spec sv_bl_hyperclean_gen_params[];

/* From a loaded data set: rows shuffled with seed, split into n_train, n_val, n_test (their
 * sum at most ds->rows; the rest is unused), features standardised with the training rows'
 * mean and deviation, labels as in the file (2 classes: logistic with label 1 -> +1, 0 -> -1;
 * more: multinomial), flip applied to the training rows as in the generator. s->d and
 * s->classes are ignored (taken from ds). Errors name "/problem/dataset/<field>". */
int sv_bl_hyperclean_from_dataset(const sv_dataset *ds, const sv_bl_hyperclean_spec *s,
                                  sv_bl_hyperclean *h, sv_err *e);
void sv_bl_hyperclean_free(sv_bl_hyperclean *h);

/* ---- hyperparam ----
 *   g(x, y) = (1/n) sum_i l(a_i, y; label_i) + 1/2 sum_j exp(x_{t(j)}) |y_j|^2
 *   f(x, y) = (1/n_val) sum_j l(a_j, y; label_j)
 * y_j is feature j's weight (multinomial: row j of the d x K matrix). per_feature: dx = d and
 * t(j) = j; otherwise dx = 1 and t(j) = 0 (one global ridge weight). */
typedef struct {
    sv_bl_loss loss;
    int d, K;            /* features; classes (1 for squared, 2 for logistic) */
    sv_bl_set train, val, test;
    int per_feature;
    double *x_lo, *x_hi; /* optional box of x (dx each) */
} sv_bl_hyperparam;

int sv_bl_hyperparam_check(const sv_bl_hyperparam *h, sv_err *e);
void sv_bl_hyperparam_bind(const sv_bl_hyperparam *h, sv_bl_problem *p);

typedef struct {
    int n_train, n_val, n_test;
    int d;
    sv_bl_loss loss;
    int classes;          /* multinomial only (> 2) */
    int per_feature;
    double noise;         /* >= 0: label noise (squared: target std; classification: the
                           * scores' logistic temperature) */
    double box;           /* > 0: x in [-box, box]; 0: none */
    int intercept;        /* 1: append a constant-1 feature after the d drawn ones */
    uint64_t seed;
} sv_bl_hyperparam_spec;

/* Planted weights whose size decays across features (feature j scaled by 2^{-j/ (d/4)} and a
 * quarter of them zero), so that per-feature ridge weights pay off; few training rows relative
 * to d, so that regularisation matters; rows a ~ N(0, I). */
int sv_bl_hyperparam_generate(const sv_bl_hyperparam_spec *s, sv_bl_hyperparam *h, sv_err *e);
/* The generate form (see sv_bl_quadratic_gen). */
typedef struct {
    int cls;
    sv_bl_hyperparam_spec spec;
} sv_bl_hyperparam_gen;
extern const sv_param_spec sv_bl_hyperparam_gen_params[];
/* As sv_bl_hyperclean_from_dataset (without flipping); s->loss must be a classification loss
 * fitting the class count, or squared (labels as numbers). */
int sv_bl_hyperparam_from_dataset(const sv_dataset *ds, const sv_bl_hyperparam_spec *s,
                                  sv_bl_hyperparam *h, sv_err *e);
void sv_bl_hyperparam_free(sv_bl_hyperparam *h);

/* ---- constrained ----
 * The quadratic objectives f, g of sv_bl_quadratic plus lower-level constraints coupling x and y:
 *   y*(x) = argmin { g(x, y) : A x + B y <= b, y_lo <= y <= y_hi }
 * (A m x dx, B m x dy). The lower level stays strongly convex, y*(x) unique when feasible. The
 * class's solve_lower is a dual (projected) gradient / active-set method on this QP; its
 * hypergradient differentiates the KKT system on the active set (strict complementarity
 * assumed). The LV-HBA toy problem of the issue is dx = dy = m = 1, H = 1, B_q = 0, h = 2,
 * c = 1, lambda = 1, A = -1, B = 1, b = 0: x* = y* = 0.5. */
typedef struct {
    sv_bl_quadratic q;   /* objectives (q.noise applies to the gradients of f and g) */
    int m;               /* constraints >= 1 */
    double *A;           /* m x dx, row-major */
    double *B;           /* m x dy, row-major */
    double *b;           /* m */
    double *y_lo, *y_hi; /* optional box of y (dy each) */
} sv_bl_constrained;

int sv_bl_constrained_check(const sv_bl_constrained *c, sv_err *e);
void sv_bl_constrained_bind(const sv_bl_constrained *c, sv_bl_problem *p);

typedef struct {
    sv_bl_quadratic_spec q;  /* objectives as the quadratic generator */
    int m;                   /* constraints >= 1 */
    uint64_t seed;           /* for A, B, b (q.seed for the objectives) */
} sv_bl_constrained_spec;

/* A, B with N(0, 1) entries, b chosen so that y = 0 is strictly feasible at x = 0 with slack
 * ~ U(0, 1), and about half the constraints active at the unconstrained lower solution there. */
int sv_bl_constrained_generate(const sv_bl_constrained_spec *s, sv_bl_constrained *c, sv_err *e);
/* The generate form (see sv_bl_quadratic_gen): the objectives' members as the quadratic form's,
 * m (0: dy / 2, at least 1) and one seed, spec.q.seed; sv_bl_constrained_gen_finish resolves m,
 * checks m <= dy ("/problem/generate/m") and gives the constraints the seed spec.q.seed + 1. */
typedef struct {
    int cls;
    sv_bl_constrained_spec spec;
} sv_bl_constrained_gen;
extern const sv_param_spec sv_bl_constrained_gen_params[];
int sv_bl_constrained_gen_finish(sv_bl_constrained_gen *g, sv_err *e);
/* Fills c with the LV-HBA toy problem above (malloc'd arrays). SV_OK or SV_ENOMEM. */
int sv_bl_constrained_toy(sv_bl_constrained *c);
void sv_bl_constrained_free(sv_bl_constrained *c);

/* ---- labelled sets ---- */

/* Frees A, b, cls and zeroes the set. */
void sv_bl_set_free(sv_bl_set *s);

#endif
