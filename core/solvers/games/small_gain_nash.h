/* small_gain_nash.h - Small-Gain Nash (SGN): a certificate of contraction to the Nash equilibrium
 * of a quadratic game with block structure, and the projected Euler / RK4 iterations it makes
 * safe. N players; player i owns the block x_i in R^{d_i} and has the cost
 *   f_i(x) = 0.5 x_i' A_ii x_i + sum_{j != i} x_i' B_ij x_j + b_i' x_i   (A_ii symmetric)
 * over an optional box lo_i <= x_i <= hi_i, so that the pseudo-gradient is affine,
 * F(x) = M x + q with block (i, i) of M = A_ii, block (i, j) = B_ij, q = b.
 *
 * The certificate (the paper's offline pipeline): curvatures mu_i = lambda_min(A_ii), couplings
 * L_ij = ||B_ij||_2, block weights w > 0 that maximise the SGN margin
 *   alpha(w) = lambda_min(S(w)),  S_ii = mu_i,  S_ij = -(L_ij sqrt(w_i/w_j) + L_ji sqrt(w_j/w_i))/2,
 * the strong-monotonicity modulus of F in the metric |x|_W^2 = sum_i w_i |x_i|^2 that the bounds
 * alone guarantee; the Lipschitz constant beta = |W^1/2 M W^-1/2|_2 in that metric; and from
 * alpha and beta the contraction rates and safe steps of projected Euler and RK4.
 * Paper: V. Sharma, "Small-Gain Nash: Certified Contraction to Nash Equilibria in
 * Differentiable Games", arXiv:2512.06791, 2025. */
#ifndef SV_SMALL_GAIN_NASH_H
#define SV_SMALL_GAIN_NASH_H

#include "core/control.h"
#include "core/params.h"

typedef enum {
    SMALL_GAIN_NASH_EULER = 0,  /* x <- P(x - h F(x)) */
    SMALL_GAIN_NASH_RK4 = 1     /* classical RK4 on x' = -F(x), every stage point projected */
} small_gain_nash_method;

#define SMALL_GAIN_NASH_DEFAULT_TOL 1e-8
#define SMALL_GAIN_NASH_DEFAULT_MAX_ITER 1000000L
#define SMALL_GAIN_NASH_DEFAULT_REPORT_EVERY 100L
#define SMALL_GAIN_NASH_DEFAULT_SWEEPS 200
/* The run counts as diverged once the natural residual exceeds this multiple of its start. */
#define SMALL_GAIN_NASH_DIVERGENCE_FACTOR 1e12
/* Largest number of players (the certificate works on N x N matrices). */
#define SMALL_GAIN_NASH_MAX_PLAYERS 4096

typedef struct {
    int method;          /* small_gain_nash_method */
    double step;         /* h > 0; NaN: the certified step of the method (best certified rate) */
    int weight_sweeps;   /* pattern-search sweeps refining the weights; 0: the M-matrix weights */
    sv_control ctl;      /* tol: stop when |x - P(x - F(x))| <= tol; max_iter: steps */
} small_gain_nash_settings;

extern const sv_param_spec small_gain_nash_params[];

typedef struct {
    int n_players;          /* N >= 1 */
    const int *dims;        /* N block sizes d_i >= 1 */
    int n;                  /* sum d_i */
    const double *M;        /* n x n row-major: the blocks A_ii (symmetric) and B_ij */
    const double *q;        /* n: the b_i stacked */
    const double *lo, *hi;  /* n each (entries may be -/+inf), or NULL: unbounded */
} small_gain_nash_problem;

/* The certificate. Arrays are the caller's (NULL: not wanted). */
typedef struct {
    double *mu;              /* N: lambda_min(A_ii) */
    double *L;               /* N x N: |B_ij|_2 (diagonal 0) */
    double *w;               /* N: the block weights, w_0 = 1 */
    int certified;           /* 1 when alpha > 0 at w */
    double margin;           /* alpha(w): the SGN margin at the weights found */
    double margin_unit;      /* alpha(1, ..., 1): the SGN margin without weights */
    double small_gain_radius;/* rho(diag(mu)^-1 L) when every mu_i > 0 (certifiable iff < 1),
                                else +inf */
    double euclidean_margin; /* lambda_min(sym M): Euclidean strong monotonicity (Rosen) */
    double weighted_margin;  /* lambda_min(sym(W^1/2 M W^-1/2)) >= margin: the exact modulus */
    double lipschitz;        /* beta = |W^1/2 M W^-1/2|_2 */
    double euler_step_max;   /* 2 alpha / beta^2 (NaN when not certified) */
    double euler_step;       /* alpha / beta^2, the step of the best certified Euler rate */
    double euler_rate;       /* sqrt(1 - alpha^2 / beta^2) at euler_step */
    double rk4_step_max;     /* the largest h whose certified RK4 factor is < 1 */
    double rk4_step;         /* the step of the best certified RK4 rate */
    double rk4_rate;         /* that rate */
    double band_lo, band_hi; /* N = 2: w_1/w_0 in (band_lo, band_hi) certifies (NaN otherwise) */
} small_gain_nash_cert;

typedef struct {
    sv_info base;            /* base.obj = base.res = natural residual |x - P(x - F(x))| */
    small_gain_nash_cert cert;
    double step;             /* the step used (NaN when no iteration ran) */
    double rate;             /* the certified per-step factor in |.|_W at that step and method;
                                NaN when the step is outside the certified range, the game is
                                not certified, or rk4 runs on a box (the bound is unconstrained) */
    double observed_rate;    /* (d_K / d_1)^(1/(K-1)), d_k = |x_k - x_{k-1}|_W over the steps
                                above the rounding floor; NaN with fewer than 2 such steps */
    double observed_rate_max;/* the largest one-step ratio d_{k+1} / d_k over those steps */
    long gradient_evals;     /* evaluations of F */
} small_gain_nash_info;

void small_gain_nash_settings_default(small_gain_nash_settings *s);
/* The table's checks; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int small_gain_nash_check_settings(const small_gain_nash_settings *s, sv_err *e);

/* Checks the problem: sizes, finite entries, symmetric A_ii, lo <= hi. SV_OK or SV_EINVAL
 * (e->field under "/problem"). */
int small_gain_nash_check_problem(const small_gain_nash_problem *p, sv_err *e);

/* The certificate alone (no iteration): estimates mu, L, optimises w by weight_sweeps
 * pattern-search sweeps from the M-matrix weights, computes beta, rates and steps (the rk4
 * numbers are filled whether or not there is a box; its bound is for the unconstrained
 * iteration). Set-up work, O(n^3): L (may be NULL) is polled between its blocks and between
 * its n x n products and eigenvalue calls, each of which runs uninterrupted. SV_OK, SV_EINVAL,
 * SV_ENOMEM, SV_ENUMERIC (an eigen-solver failure) or SV_CANCELLED (L said stop). */
int small_gain_nash_certify(const small_gain_nash_problem *p, int weight_sweeps,
                            small_gain_nash_cert *c, sv_err *e, sv_loop *L);

/* The certified per-step factors at step h (NaN when h is outside the certified range). */
double small_gain_nash_euler_rate(double alpha, double beta, double h);
double small_gain_nash_rk4_rate(double alpha, double beta, double h);

/* Certifies, then iterates from x (in: x_0, projected onto the box first; out: the last
 * iterate; length p->n) with the method and the certified step (or s->step) until the natural
 * residual meets tol, max_iter, the time limit, a stop from mon, or divergence. When the game is
 * not certified and s->step is NaN there is no safe step: no iteration runs and info->base
 * .status is SV_UNSOLVED (the certificate says why). info->cert's arrays are the caller's (may
 * be NULL). Returns SV_OK, SV_EINVAL (e names the field), SV_ENOMEM or SV_ENUMERIC. */
int small_gain_nash_solve(const small_gain_nash_problem *p, const small_gain_nash_settings *s,
                          const sv_monitor *mon, double *x, small_gain_nash_info *info,
                          sv_err *e);

#endif
