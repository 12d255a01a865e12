/* mec.h - minimum-entropy coupling and its bottleneck (MEC-B), after Ebrahimi, Chen, Khisti,
 * "Minimum Entropy Coupling with Bottleneck", NeurIPS 2024. Two tasks on discrete
 * distributions, both greedy, both measured in bits:
 *  - MEC (the decoder side): the greedy coupling of k >= 2 marginals (Kocaoglu et al. 2017):
 *    repeatedly put the smallest of the marginals' largest remaining masses on the cell of
 *    their indices and subtract it from each. At most sum_i n_i - k + 1 steps.
 *  - EBIM (the encoder side): given p_X and a rate R, a deterministic encoder T = g(X) with
 *    H(T) <= R and I(X;T) = H(T) found by a chain of column merges whose steps are each at
 *    most h(p_2) bits, so that I(X;T) >= min(R, H(X)) - h(p_2) >= I* - h(p_2).
 * The doc page (docs/solvers/coupling/mec.md) says which parts are the paper's. */
#ifndef SV_MEC_H
#define SV_MEC_H

#include <stdint.h>
#include "core/control.h"
#include "core/params.h"

#define MEC_DEFAULT_TOL 0.0
#define MEC_DEFAULT_MAX_ITER 1000000000L
#define MEC_DEFAULT_REPORT_EVERY 1000L
#define MEC_DEFAULT_REFINE_LAST 1
#define MEC_MAX_MARGINALS 8
/* Each marginal must sum to 1 within this; it is then divided by its sum. */
#define MEC_NORM_TOL 1e-9

typedef struct {
    int refine_last;   /* EBIM: the last merge goes to the column that lands closest below R */
    sv_control ctl;    /* tol: MEC stops once the unplaced mass is <= tol (0: place it all);
                          EBIM: unused. max_iter: greedy steps (MEC cells, EBIM merges) */
} mec_settings;

extern const sv_param_spec mec_params[];

typedef struct {
    int k;                    /* number of marginals, 2..MEC_MAX_MARGINALS */
    const int *n;             /* k sizes, each >= 1 */
    const double *const *p;   /* k arrays of nonnegative masses, each summing to 1 (+-1e-9) */
} mec_problem;

typedef struct {
    sv_info base;          /* base.obj = H of the coupling (bits); base.iter = cells placed */
    double joint_entropy;  /* H(X_1, ..., X_k) of the coupling */
    double marginal_entropy[MEC_MAX_MARGINALS];
    double lower_bound;    /* max_i H(p_i): no coupling has less entropy */
    double gap;            /* joint_entropy - lower_bound */
    double unplaced;       /* mass of the marginals left off the coupling (<= tol, or rounding) */
    long cells;            /* cells written */
} mec_info;

/* The coupling, caller-owned: cap cells of k indices (idx[c * k + i]) and their masses. The
 * greedy writes at most sum_i n_i - k + 1 cells (mec_max_cells). */
typedef struct {
    long cap;
    int *idx;
    double *mass;
} mec_coupling;

typedef struct {
    const double *p;   /* n masses of X, summing to 1 (+-1e-9) */
    int n;
    double rate;       /* R >= 0, bits */
} ebim_problem;

typedef struct {
    sv_info base;          /* base.obj = I(X;T) (bits); base.iter = merges done */
    double h_x;            /* H(X) */
    double h_t;            /* H(T) <= rate */
    double mi;             /* I(X;T) = H(T): the encoder is deterministic */
    double bound;          /* h(p_2), the paper's guarantee: I* - I(X;T) <= bound */
    int codes;             /* number of distinct values of T */
} ebim_info;

void mec_settings_default(mec_settings *s);
/* The table's checks; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int mec_check_settings(const mec_settings *s, sv_err *e);

/* Cells the greedy may write for p: sum n_i - k + 1. */
long mec_max_cells(const mec_problem *p);

/* Checks a marginal of n masses: finite, >= 0, sum within MEC_NORM_TOL of 1. Errors at
 * path/<index> or path. */
int mec_check_marginal(const double *p, int n, const char *path, sv_err *e);

/* The greedy coupling of p into out (out->cap >= mec_max_cells(p)). Marginals are checked
 * (errors at /problem/marginals/<i>[/<j>]) before anything is allocated. Returns SV_OK
 * (info->base.status: solved, max_iter, time_limit, cancelled), SV_EINVAL or SV_ENOMEM. */
int mec_solve(const mec_problem *p, const mec_settings *s, const sv_monitor *mon,
              mec_coupling *out, mec_info *info, sv_err *e);

/* The deterministic encoder: code[x] in 0..codes-1 for each of the n values of X (caller
 * owned, n ints), p(T|X) = 1 on (x, code[x]). Errors at /problem/p_x[/<j>] and
 * /problem/rate. Returns SV_OK, SV_EINVAL or SV_ENOMEM. */
int ebim_solve(const ebim_problem *p, const mec_settings *s, const sv_monitor *mon,
               int *code, ebim_info *info, sv_err *e);

/* Shannon entropy in bits of n masses (0 log 0 = 0). */
double mec_entropy(const double *p, int n);

#endif
