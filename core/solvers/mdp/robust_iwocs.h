/* robust_iwocs.h - IWOCS (Incremental Worst-Case Search) for robust tabular MDPs with a finite
 * uncertainty set of transition models {P_0 (nominal), P_1, ..., P_n} sharing rewards, horizon
 * or discount and initial distribution. The static robust problem is
 *   max_pi min_i V^pi_{P_i}(mu),
 * the environment picking one model for the whole episode. IWOCS keeps the worst-case models
 * found so far, W = {P_0} at first; each iteration solves one plain MDP (value iteration, or
 * backward induction, on the model last added to W), acts greedily on Q_W = min_{j in W} Q*_j,
 * then searches the whole set for the model under which that policy does worst (exact policy
 * evaluation of every model) and adds it to W, until none lowers the value below the worst over
 * W by more than tol. Paper: Zouitine, Geist, Rachelson, "Solving robust MDPs as a sequence of
 * static RL problems", 2024 (arXiv 2410.06212).
 *
 * The comparison the paper discusses, robust value iteration on the dynamic, (s,a)-rectangular
 * set (the adversary picks a model per state-action pair and step):
 *   Q(s, a) = r(s, a) + gamma min_i sum_t P_i(t | s, a) V(t),
 * runs after IWOCS (method iwocs) or instead of it (method robust_vi, whose greedy policy is then
 * the one returned and evaluated on every model). */
#ifndef SV_ROBUST_IWOCS_H
#define SV_ROBUST_IWOCS_H

#include "core/control.h"
#include "core/models/mdp.h"
#include "core/params.h"

typedef enum { ROBUST_IWOCS_IWOCS = 0, ROBUST_IWOCS_ROBUST_VI = 1 } robust_iwocs_method;

#define ROBUST_IWOCS_DEFAULT_TOL 1e-6
#define ROBUST_IWOCS_DEFAULT_VI_TOL 1e-9
#define ROBUST_IWOCS_DEFAULT_MAX_SWEEPS 100000
#define ROBUST_IWOCS_DEFAULT_MAX_ITER 1000000L
#define ROBUST_IWOCS_DEFAULT_REPORT_EVERY 1L

typedef struct {
    int method;          /* robust_iwocs_method */
    double vi_tol;       /* discounted value iteration, policy evaluation and robust VI stop
                            within vi_tol of their fixed points */
    int max_sweeps;      /* sweeps of one discounted value iteration or evaluation */
    sv_control ctl;      /* tol: IWOCS stops when the worst case over the whole set is within
                            tol of the worst case over W; max_iter: steps (one model solve, one
                            policy evaluation or one robust VI sweep each) */
} robust_iwocs_settings;

extern const sv_param_spec robust_iwocs_params[];

typedef struct {
    const sv_mdp *mdp;       /* the nominal model P_0, rewards, horizon / gamma, mu; checked */
    int n_extra;             /* further models P_1..P_n, n >= 0 */
    const double *extra;     /* n_extra * S * A * S, each row a distribution */
} robust_iwocs_problem;

/* One IWOCS iteration as reported. */
typedef struct {
    double worst_all;    /* min over the whole set of the iteration's policy's value at mu */
    double worst_found;  /* the same min over W */
    double bound;        /* mu . max_a Q_W: the value W's Q-functions promise */
    int found;           /* |W| when the policy was computed */
    int worst_model;     /* argmin of worst_all (lowest index on ties) */
} robust_iwocs_iter;

typedef struct {
    sv_info base;            /* base.obj = worst_case; base.iter = steps */
    double worst_case;       /* the returned policy's worst value over the set (static): the
                                best over IWOCS's iteration policies (robust_vi: its greedy
                                policy's) */
    int worst_model;
    double robust_vi_value;  /* mu . V of robust VI (dynamic adversary); NaN if not reached */
    double gap;              /* worst_case - robust_vi_value >= 0 */
    double nominal_worst;    /* worst value over the set of the nominal model's optimal policy
                                (IWOCS's first iteration); NaN for robust_vi */
    int iterations;          /* IWOCS iterations done (0 for robust_vi) */
    int best_iteration;      /* the iteration whose policy is returned (the incumbent) */
    int found;               /* |W| at the end */
} robust_iwocs_info;

/* Outputs of a solve, each may be NULL: policy (H * S, or S discounted) the returned policy's
 * actions; values (n_extra + 1) its value at mu under every model; found (n_extra + 1)
 * W's models in the order found (info.found of them); iters (cap_iters) the iteration log. */
typedef struct {
    int *policy;
    double *values;
    int *found;
    robust_iwocs_iter *iters;
    int cap_iters;
} robust_iwocs_out;

void robust_iwocs_settings_default(robust_iwocs_settings *s);
int robust_iwocs_check_settings(const robust_iwocs_settings *s, sv_err *e);

/* Runs the chosen method. Validates everything before allocating. SV_OK (info->base.status says
 * how the run ended), SV_EINVAL (e names the field) or SV_ENOMEM. */
int robust_iwocs_solve(const robust_iwocs_problem *p, const robust_iwocs_settings *s,
                       const sv_monitor *mon, const robust_iwocs_out *out,
                       robust_iwocs_info *info, sv_err *e);

#endif
