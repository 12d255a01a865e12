/* lbfgsb.h - bound-constrained limited-memory BFGS: minimise a smooth f over the box
 * lo <= x <= hi. The method is a projected L-BFGS in the two-metric form of Bertsekas (1982),
 * not the Cauchy-point and subspace machinery of L-BFGS-B (Byrd, Lu, Nocedal, Zhu 1995):
 *
 *   - the active set A holds the coordinates fixed by their bounds (lo_i = hi_i) and those at a
 *     bound whose gradient points out of the box; the others are free;
 *   - the direction is d = -H g_F on the free coordinates (H the L-BFGS inverse Hessian of the
 *     last m pairs, two-loop recursion, H0 = (s'y / y'y) I; g_F the gradient with the active
 *     coordinates set to zero) and 0 on A; H_FF is a principal block of a positive definite
 *     matrix, so d is a descent direction. A free coordinate at a bound whose d points out of
 *     the box is set to 0 as well (it only makes g'd more negative), so that small steps stay
 *     inside the box and the line search below always ends;
 *   - the step is x(t) = P(x + t d) (P the projection onto the box), by backtracking from t = 1
 *     (t = min(1, 1/|d|) when the memory is empty) with safeguarded quadratic interpolation
 *     until the Armijo condition f(x(t)) <= f(x) + 1e-4 g'(x(t) - x) holds; a trial with a
 *     non-finite f counts as too long. When max_ls trials fail the step is retried once along
 *     the projected gradient with the memory cleared;
 *   - a pair (s, y) is kept when s'y > eps y'y (eps the machine epsilon), as L-BFGS-B does.
 *
 * Stops as scipy's L-BFGS-B does: the projected gradient |P(x - g) - x|_inf <= gtol, or the
 * relative reduction (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol. The caller drives the
 * iterations one step at a time (sv_lbfgsb_step), so that a solver can check its stop logic,
 * report and poll between them; the workspace is allocated once. */
#ifndef SV_LBFGSB_H
#define SV_LBFGSB_H

#include "core/solver.h"

#define SV_LBFGSB_DEFAULT_MEMORY 10
#define SV_LBFGSB_DEFAULT_FTOL 2.220446049250313e-09  /* scipy's default: factr 1e7 x eps */
#define SV_LBFGSB_DEFAULT_GTOL 1e-5                   /* scipy's default pgtol */
#define SV_LBFGSB_DEFAULT_MAX_LS 20                   /* scipy's default maxls */

/* f(x) into *f and its gradient into g (n entries). A non-zero return aborts the minimisation
 * (a stop request); a non-finite *f is a failed trial, not an abort. */
typedef int (*sv_lbfgsb_fn)(void *ctx, const double *x, double *f, double *g);

typedef enum {
    SV_LBFGSB_RUNNING = 0,  /* the step was taken; go on */
    SV_LBFGSB_CONV_PG,      /* |P(x - g) - x|_inf <= gtol */
    SV_LBFGSB_CONV_F,       /* the relative reduction fell to ftol */
    SV_LBFGSB_LS_FAILED,    /* no step decreased f, even along the projected gradient; x kept */
    SV_LBFGSB_ABORTED,      /* fn asked to stop; x is the last accepted iterate */
    SV_LBFGSB_BAD_START     /* f or g not finite at the start point */
} sv_lbfgsb_state;

typedef struct {
    double ftol, gtol;
    int max_ls;
} sv_lbfgsb_opts;

typedef struct {
    int n, m;                 /* size, memory (pairs) */
    sv_lbfgsb_opts o;
    const double *lo, *hi;    /* borrowed; NULL: unbounded on that side */
    sv_lbfgsb_fn fn;
    void *ctx;
    double *x, *g;            /* the iterate and its gradient (n) */
    double *d, *xt, *gt;      /* direction, trial point, trial gradient (n) */
    double *S, *Y;            /* m x n: the pairs, a ring */
    double *rho, *alf;        /* m */
    unsigned char *act;       /* n: 1 on the active set of the current direction */
    int pairs, head;          /* pairs stored; index of the next slot */
    double f, f_prev;         /* f at x and at the previous iterate */
    double pg;                /* |P(x - g) - x|_inf at x */
    long iter;                /* steps taken since sv_lbfgsb_start */
    long nfev;                /* evaluations of fn since sv_lbfgsb_start */
    int state;                /* the last sv_lbfgsb_state */
} sv_lbfgsb;

void sv_lbfgsb_opts_default(sv_lbfgsb_opts *o);

/* Workspace for n >= 1 unknowns and m >= 1 pairs. SV_OK, SV_EINVAL or SV_ENOMEM. */
int sv_lbfgsb_alloc(sv_lbfgsb *w, int n, int m);
/* Accepts a zeroed or half-made workspace. */
void sv_lbfgsb_free(sv_lbfgsb *w);

/* Starts a minimisation from x0 projected onto the box (lo, hi of n entries or NULL, lo <= hi,
 * borrowed until the next start), with an empty memory: evaluates f and g there. Returns the
 * state: SV_LBFGSB_RUNNING, SV_LBFGSB_CONV_PG when x0 is already stationary, SV_LBFGSB_ABORTED
 * or SV_LBFGSB_BAD_START. o NULL: the defaults. */
int sv_lbfgsb_start(sv_lbfgsb *w, const sv_lbfgsb_opts *o, const double *lo, const double *hi,
                    const double *x0, sv_lbfgsb_fn fn, void *ctx);

/* One iteration: direction, line search, memory update, stop tests. Returns the state (see
 * above); after SV_LBFGSB_RUNNING, _CONV_PG or _CONV_F the step was taken and the last call of
 * fn was at the new x. Allocates nothing. */
int sv_lbfgsb_step(sv_lbfgsb *w);

#endif
