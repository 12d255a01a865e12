/* mfac.h - the secondorder.mfac solver: the two uses of M-FAC's inverse-Hessian-vector products
 * (core/kernels/mfac.h) from Frantar, Kurtic, Alistarh, "M-FAC: Efficient Matrix-Free Approximations of
 * Second-Order Information", NeurIPS 2021, on a linear model f (core/models/glm.h):
 *
 * - "optimize": SGD with momentum preconditioned by the dynamic (sliding-window) algorithm: at
 *   step t with (mini-batch) gradient g_t, g_t replaces the oldest of the last m gradients, and
 *       p = F_t^{-1} g_t,   v = beta v + (1 - beta) p,   x = x - eta_t v,
 *   F_t = damp I + (1/m) sum over the window of g g'. With preconditioner "none", p = g_t: plain
 *   SGD with the same momentum and step schedule.
 * - "prune": optimal-brain-surgeon pruning to a target sparsity with the static algorithm: after an
 *   optional fit (the optimizer above, max_iter steps), fisher_grads per-sample (or mini-batch) loss
 *   gradients at x give F; each weight q gets the saliency x_q^2 / (2 [F^{-1}]_qq) (O(m) per
 *   entry), the least salient are removed and the others corrected by the OBS update
 *   delta = -F^{-1} sum_q (x_q / [F^{-1}]_qq) e_q (one IHVP), in prune_steps rounds on a
 *   geometric density schedule, each with fresh gradients over the surviving weights; then an
 *   optional masked fine-tune. The magnitude-pruned dense x is evaluated for comparison.
 *
 * The generator of the codec's "generate" problems is core/solvers/secondorder/mfac_gen.h. */
#ifndef SV_SOLVERS_MFAC_H
#define SV_SOLVERS_MFAC_H

#include <stdint.h>

#include "core/control.h"
#include "core/models/glm.h"
#include "core/params.h"
#include "core/schedule.h"

typedef enum { MFAC_MODE_OPTIMIZE = 0, MFAC_MODE_PRUNE = 1 } mfac_mode;
typedef enum { MFAC_PRECOND_MFAC = 0, MFAC_PRECOND_NONE = 1 } mfac_precond;
typedef enum {
    /* The weights removed in a round get their single-weight OBS corrections summed, as in the
     * authors' pruner: delta = -F^{-1} sum_q (x_q / [F^-1]_qq) e_q, one IHVP. */
    MFAC_OBS_INDEPENDENT = 0,
    /* The multi-weight OBS step for the removed set Q (Hassibi and Stork): the minimiser of the
     * quadratic model with x_Q = 0, delta = -F^{-1} E_Q ([F^-1]_QQ)^{-1} x_Q; [F^-1]_QQ from the
     * static algorithm's O(m) entries, O(m |Q|^2 + |Q|^3). */
    MFAC_OBS_GROUP = 1
} mfac_obs_update;

/* Defaults (mfac_settings_default). */
#define MFAC_DEFAULT_MODE MFAC_MODE_OPTIMIZE
#define MFAC_DEFAULT_PRECOND MFAC_PRECOND_MFAC
#define MFAC_DEFAULT_WINDOW 32L
/* damp NaN ("auto") takes these per use: the sliding window of mini-batch gradients wants more
 * dampening than the pruning Fisher of per-sample gradients (docs/solvers/secondorder/mfac.md, Defaults). */
#define MFAC_DEFAULT_DAMP_WINDOW 1e-1
#define MFAC_DEFAULT_DAMP_PRUNE 1e-3
#define MFAC_DEFAULT_DAMP_RELATIVE 1
#define MFAC_DEFAULT_SCHEDULE SV_SCHEDULE_COSINE
#define MFAC_DEFAULT_LR 0.3
#define MFAC_DEFAULT_MOMENTUM 0.0
#define MFAC_DEFAULT_BATCH_SIZE 32L
#define MFAC_DEFAULT_FISHER_GRADS 256L
#define MFAC_DEFAULT_FISHER_BATCH_SIZE 1L
#define MFAC_DEFAULT_SEED 0
#define MFAC_DEFAULT_TOL 0.0
#define MFAC_DEFAULT_MAX_ITER 1000L
#define MFAC_DEFAULT_REPORT_EVERY 100L
/* The largest double below 1: momentum and sparsity lie in [0, 1). */
#define MFAC_BELOW_ONE 0x1.fffffffffffffp-1
#define MFAC_DEFAULT_SPARSITY 0.5
#define MFAC_DEFAULT_PRUNE_STEPS 1L
#define MFAC_DEFAULT_FINETUNE_ITER 0L
#define MFAC_DEFAULT_OBS_UPDATE MFAC_OBS_INDEPENDENT
/* Largest number of weights one "group" round may remove (its |Q| x |Q| system). */
#define MFAC_MAX_GROUP 2048L
/* Largest window (or Fisher size), and largest window * dimension (the m x d gradient store,
 * 8 bytes each). */
#define MFAC_MAX_WINDOW 4096L
#define MFAC_MAX_WINDOW_ENTRIES 50000000.0
/* Diverged once |f(x)| exceeds this multiple of (1 + |f(x0)|), or x stops being finite. */
#define MFAC_DIVERGENCE_FACTOR 1e20

typedef struct {
    int mode;             /* mfac_mode */
    int precond;          /* mfac_precond (optimizer steps) */
    long window;          /* m of the optimizer: gradients in the sliding window */
    double damp;          /* dampening of F = lambda I + ..., > 0, NaN = the per-use default:
                           * lambda itself (damp_relative 0), or ... */
    int damp_relative;    /* ... (1) lambda = damp * mean diagonal of (1/m) sum g g' */
    double lr;            /* eta_max > 0; the schedule scales it */
    double momentum;      /* beta in [0, 1) */
    long batch_size;      /* rows per optimizer gradient; 0 = all rows (full gradients) */
    long fisher_grads;    /* prune: m of the static algorithm, gradients in the pruning Fisher */
    long fisher_batch_size; /* prune: rows averaged into each Fisher gradient, >= 1 */
    uint64_t seed;        /* mini-batch and Fisher sampling */
    sv_control ctl;       /* tol: stop an optimizer phase when |grad f(x)| <= tol (0: never);
                           * max_iter: optimizer steps (prune mode: the fit before pruning;
                           * 0 = none); report_every: every this many steps (and at phase ends) */
    sv_schedule schedule; /* eta_t = lr * factor(t, steps of the phase) */
    double sparsity;      /* prune: fraction of weights set to zero, in [0, 1) */
    long prune_steps;     /* prune: rounds to reach it, each with a fresh Fisher, >= 1 */
    long finetune_iter;   /* prune: masked optimizer steps after pruning, >= 0 */
    double finetune_lr;   /* prune: eta_max of the fine-tune, > 0; NaN = lr */
    int obs_update;       /* prune: mfac_obs_update */
} mfac_settings;

/* The parameter table of mfac_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec mfac_params[];

typedef struct {
    sv_info base;           /* obj = f(x) at the end; res = |grad f(x)| over unpruned weights;
                             * iter = optimizer steps (fit + fine-tune) */
    double grad_norm;       /* = base.res */
    double obj_initial;     /* f(x0) */
    double lr_final;        /* the last step size used (NaN if no step) */
    long ihvp_count;        /* IHVPs computed (optimizer and pruning) */
    long window_updates;    /* gradients pushed into the sliding window */
    /* prune mode (NaN / 0 otherwise) */
    sv_status fit_status;   /* how the fit ended (SV_UNSOLVED when max_iter = 0) */
    double obj_dense;       /* f before pruning */
    double obj_pruned;      /* f right after the last pruning round (before fine-tuning) */
    double obj_magnitude;   /* f of the dense x with the same number of smallest |x_j| zeroed */
    double saliency;        /* sum of the removed weights' OBS saliencies (Fisher units) */
    long pruned;            /* weights removed */
    long prune_rounds;      /* rounds done */
    double sparsity;        /* fraction of zero entries of the returned x */
} mfac_info;

typedef struct {
    const sv_glm *glm;      /* the objective; d = glm->A->cols */
} mfac_problem;

/* Fills s with the defaults of mfac_params (schedule: cosine over each optimizer phase). */
void mfac_settings_default(mfac_settings *s);

/* Checks the settings against mfac_params; dim > 0 also checks window * dim (and fisher_grads * dim in prune
 * mode) against MFAC_MAX_WINDOW_ENTRIES
 * and, for group OBS in prune mode, the largest round against MFAC_MAX_GROUP.
 * SV_OK or SV_EINVAL with e->field "/params/<name>". Allocates nothing. */
int mfac_check_settings(const mfac_settings *s, int dim, sv_err *e);

/* Weights kept after round k (1..prune_steps) of pruning d weights to `sparsity`: the density
 * follows (1 - sparsity)^(k / prune_steps), rounded, never below the final count
 * d - round(sparsity d), which the last round reaches exactly. */
long mfac_round_keep(int d, double sparsity, long prune_steps, long k);

/* Runs the mode of s from x (in: x0, out: the result; length d). Every input is validated before
 * anything is allocated. Returns SV_OK (info->base.status says how the solve ended: solved =
 * tol met (optimize) or target sparsity reached (prune); max_iter; time_limit; cancelled;
 * diverged), SV_EINVAL (e names the field; info left UNSOLVED), SV_ENOMEM or SV_ENUMERIC.
 * mon and e may be NULL. */
int mfac_solve(const mfac_problem *p, const mfac_settings *s, const sv_monitor *mon, double *x,
               mfac_info *info, sv_err *e);

#endif
