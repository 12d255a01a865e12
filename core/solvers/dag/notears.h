/* notears.h - NOTEARS: DAG structure learning as a smooth equality-constrained program (Zheng,
 * Aragam, Ravikumar, Xing, "DAGs with NO TEARS: Continuous Optimization for Structure Learning",
 * NeurIPS 2018). Given data X (n x d), it solves
 *     min_W 0.5/n |X - X W|_F^2 + lambda1 |W|_1   s.t.   h(W) = tr(exp(W o W)) - d = 0
 * by the augmented Lagrangian of the authors' linear code: each subproblem
 *     min_W L(W) + (rho/2) h(W)^2 + alpha h(W) + lambda1 |W|_1
 * is a smooth bound-constrained problem in the doubled variables W = W+ - W- (W+, W- >= 0, zero
 * diagonal), solved by the projected L-BFGS of core/kernels/lbfgsb.h; rho grows tenfold until h
 * falls below a quarter of its previous value, then alpha += rho h (dual ascent). The estimate
 * is thresholded at w_threshold. The model (score, h, generator, metrics) is core/models/dag.h. */
#ifndef SV_NOTEARS_H
#define SV_NOTEARS_H

#include "core/control.h"
#include "core/models/dag.h"
#include "core/params.h"

#define NOTEARS_DEFAULT_LAMBDA1 0.1
#define NOTEARS_DEFAULT_W_THRESHOLD 0.3
#define NOTEARS_DEFAULT_RHO 1.0
#define NOTEARS_DEFAULT_RHO_MAX 1e16
#define NOTEARS_DEFAULT_RHO_FACTOR 10.0
#define NOTEARS_DEFAULT_H_FACTOR 0.25
#define NOTEARS_DEFAULT_MAX_DUAL_ITER 100
#define NOTEARS_DEFAULT_H_TOL 1e-8
#define NOTEARS_DEFAULT_MAX_ITER 1000000L    /* L-BFGS iterations over all subproblems */
#define NOTEARS_DEFAULT_REPORT_EVERY 10L
#define NOTEARS_DEFAULT_INNER_MAX_ITER 15000 /* scipy's L-BFGS-B default maxiter */

typedef struct {
    double lambda1;       /* l1 weight */
    double w_threshold;   /* |W_ij| below it is no edge in the returned W */
    double rho;           /* the first penalty weight */
    double rho_max;       /* the run stops (stalled) once rho reaches it */
    double rho_factor;    /* rho *= rho_factor while h does not shrink enough */
    double h_factor;      /* "enough": h_new <= h_factor h */
    int max_dual_iter;    /* dual ascent steps (the reference's max_iter) */
    int inner_max_iter;   /* L-BFGS iterations of one subproblem */
    int memory;           /* L-BFGS pairs */
    double inner_gtol;    /* subproblem ends when |P(w - g) - w|_inf <= inner_gtol */
    double inner_ftol;    /* ... or the relative decrease of its objective <= inner_ftol */
    int center;           /* centre the columns of X first (the reference does) */
    sv_control ctl;       /* tol: h_tol, solved when h(W) <= tol after a dual step; max_iter:
                             L-BFGS iterations over all subproblems */
} notears_settings;

extern const sv_param_spec notears_params[];

typedef struct {
    int n, d;
    const double *X;       /* n x d row-major */
    const double *W_true;  /* d x d true graph (non-zero = edge) or NULL: no accuracy */
} notears_problem;

typedef struct {
    sv_info base;          /* obj = L(W) + lambda1 |W|_1 at the last iterate W (before the
                              threshold), res = h(W) there, iter = L-BFGS iterations */
    double score;          /* L of the returned (thresholded) W */
    double score_raw;      /* L(W) before the threshold */
    double h;              /* h(W) before the threshold */
    double h_returned;     /* h of the returned W (0 for a DAG) */
    double rho, alpha;     /* the last penalty weight and multiplier */
    int dual_iter;         /* dual ascent steps done */
    int subproblems;       /* L-BFGS runs (rho increases included) */
    long fevals;           /* evaluations of the augmented Lagrangian */
    int edges;             /* edges of the returned W */
    int acyclic;           /* 1: the returned W is a DAG */
    int has_accuracy;      /* 1: accuracy holds the comparison with W_true */
    sv_dag_accuracy accuracy;
} notears_info;

void notears_settings_default(notears_settings *s);
/* The table's checks and rho < rho_max; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int notears_check_settings(const notears_settings *s, sv_err *e);

/* Runs NOTEARS on p. W (d x d, caller-owned) receives the thresholded estimate, W_raw (may be
 * NULL) the last iterate before the threshold. Validates everything before allocating. Returns
 * SV_OK (info->base.status: solved, stalled when rho reached rho_max first, max_iter when
 * max_dual_iter or max_iter ran out, time_limit, cancelled, diverged), SV_EINVAL (e names the
 * field), SV_ENOMEM or SV_ENUMERIC. */
int notears_solve(const notears_problem *p, const notears_settings *s, const sv_monitor *mon,
                  double *W, double *W_raw, notears_info *info, sv_err *e);

#endif
