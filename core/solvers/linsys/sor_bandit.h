/* sor_bandit.h - SOR relaxation learned across a sequence of linear systems: instances
 * (A_t + s_t I) x = b_t are solved one after the other by successive over-relaxation, and the
 * relaxation omega_t of each is chosen by a bandit that sees only the iteration counts of the
 * earlier ones (Tsallis-INF over a grid of omegas), or by a contextual bandit that also sees a
 * scalar context c_t of the instance (ChebCB: Chebyshev regression of the cost per omega).
 * Paper: Khodak, Chow, Balcan, Talwalkar, "Learning to Relax: Setting Solver Parameters Across
 * a Sequence of Linear System Instances", ICLR 2024. */
#ifndef SV_SOR_BANDIT_H
#define SV_SOR_BANDIT_H

#include <stdint.h>
#include "core/control.h"
#include "core/linalg.h"
#include "core/params.h"

typedef enum {
    SOR_BANDIT_TSALLIS_INF = 0,  /* Tsallis-INF over the omega grid, iteration counts only */
    SOR_BANDIT_CONTEXTUAL = 1,   /* ChebCB: the instance's context c_t as well */
    SOR_BANDIT_FIXED = 2,        /* every instance at the given omega */
    SOR_BANDIT_SWEEP = 3         /* every instance at every grid omega: the best fixed one */
} sor_bandit_algorithm;

#define SOR_BANDIT_DEFAULT_OMEGA_MIN 1.0   /* the paper's grid: linspace(1, 1.95, 20) */
#define SOR_BANDIT_DEFAULT_OMEGA_MAX 1.95
#define SOR_BANDIT_DEFAULT_GRID 20
#define SOR_BANDIT_DEFAULT_FEATURES 6      /* ChebCB: Chebyshev polynomials T_0 .. T_5 */
#define SOR_BANDIT_DEFAULT_SOR_MAX_ITER 10000L
#define SOR_BANDIT_DEFAULT_TOL 1e-8
#define SOR_BANDIT_DEFAULT_MAX_ITER 1000000000L
#define SOR_BANDIT_DEFAULT_REPORT_EVERY 100L
/* compare (or sweep) keeps the iteration count of every grid omega on every instance: at most
 * this many counts. */
#define SOR_BANDIT_MAX_TABLE 20000000L

typedef struct {
    int algorithm;       /* sor_bandit_algorithm */
    double omega;        /* fixed: the relaxation, in (0, 2) */
    double omega_min;    /* the grid: grid points evenly spaced in [omega_min, omega_max] */
    double omega_max;
    int grid;
    int compare;         /* also solve every instance at every grid omega (best fixed omega in
                            hindsight, regret); sweep implies it */
    int features;        /* contextual: Chebyshev features T_0 .. T_{features-1} */
    double context_lo;   /* contextual: the context interval; NaN: the sequence's min / max */
    double context_hi;
    long sor_max_iter;   /* SOR iteration cap per instance (an instance that reaches it costs it) */
    uint64_t seed;       /* the bandits' draws */
    sv_control ctl;      /* tol: relative residual |b - A x| / |b| of every SOR solve;
                            max_iter: instances at most; report_every: instances */
} sor_bandit_settings;

extern const sv_param_spec sor_bandit_params[];

/* One instance: (mats[mat] + shift I) x = b. */
typedef struct {
    int mat;             /* index into the problem's matrices */
    double shift;        /* added to the diagonal */
    const double *b;     /* the matrix's rows entries */
    double context;      /* c_t for the contextual bandit; NaN: none */
} sor_bandit_instance;

typedef struct {
    int n_mats;
    const sv_csr *mats;  /* square, columns sorted within rows (sv_csr), diagonal stored */
    int n_instances;
    const sor_bandit_instance *inst;
} sor_bandit_problem;

/* Arrays the caller provides (each may be NULL): per instance (n_instances) and per grid omega
 * (grid). */
typedef struct {
    double *omega;         /* omega chosen for each instance (sweep: the best fixed omega) */
    long *iterations;      /* its SOR iterations */
    long *best_iterations; /* compare: the best fixed omega's iterations on each instance */
    double *grid_omega;    /* the grid */
    long *grid_total;      /* compare: total iterations of each grid omega */
} sor_bandit_out;

typedef struct {
    sv_info base;            /* base.iter = instances solved, base.obj = total SOR iterations,
                                base.res = the last solve's relative residual */
    long total;              /* total SOR iterations of the chosen omegas */
    long unconverged;        /* instances that reached sor_max_iter (or diverged) */
    int compared;            /* 1 when the grid figures below were computed */
    double best_omega;       /* compare: the best fixed grid omega in hindsight */
    long best_total;         /* its total iterations */
    long instance_optimal;   /* compare: sum over instances of the least iterations on the grid */
    long regret;             /* total - best_total */
    long sor_iterations_run; /* every SOR iteration done, the comparison's included */
    double context_lo, context_hi; /* contextual: the interval used */
} sor_bandit_info;

void sor_bandit_settings_default(sor_bandit_settings *s);
/* The table's checks plus omega_min < omega_max; SV_OK or SV_EINVAL at "/params/<name>". */
int sor_bandit_check_settings(const sor_bandit_settings *s, sv_err *e);
/* The problem: shapes, finite values, a non-zero diagonal of every A_t + s_t I, contexts where
 * the contextual bandit needs them, and the comparison table's size. Errors name
 * "/problem/instances/<t>/..." (explicit) paths; generated problems are checked by their
 * generator. */
int sor_bandit_check_problem(const sor_bandit_problem *p, const sor_bandit_settings *s,
                             sv_err *e);

/* ---- the SOR kernel (public for the tests and the bench) ---- */

/* diag[i] = position of A's entry (i, i) in row i, or fails with SV_EINVAL when it is missing
 * or (A + shift I)_ii is zero; A square with sorted columns. */
int sor_bandit_diag_index(const sv_csr *A, double shift, int *diag, sv_err *e);

/* Solves (A + shift I) x = b by SOR from x = 0: x <- x + (D/omega + L)^-1 (b - A x), until
 * |b - A x| <= tol |b| or cap iterations. x has A->rows entries, work 2 A->rows (scratch); no
 * allocation. L (may be NULL) is polled inside the sweeps; *stopped (may be NULL) is set to 1
 * when it says stop. *relres (may be NULL) gets the final relative residual (NaN/inf when the
 * iteration diverged: then the loop stops early). Returns the iterations done; b = 0 gives
 * x = 0 and 0 iterations. */
long sor_bandit_sor(const sv_csr *A, const int *diag, double shift, const double *b,
                    double omega, double tol, long cap, double *x, double *work, sv_loop *L,
                    int *stopped, double *relres);

/* Runs the sequence: validates settings and problem, allocates the workspace once, then one
 * instance per loop iteration (reports every report_every instances). Returns SV_OK
 * (info->base.status: solved once every instance is done), SV_EINVAL or SV_ENOMEM. */
int sor_bandit_solve(const sor_bandit_problem *p, const sor_bandit_settings *s,
                     const sv_monitor *mon, sor_bandit_out *out, sor_bandit_info *info,
                     sv_err *e);

#endif
