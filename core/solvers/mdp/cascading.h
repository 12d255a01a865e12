/* cascading.h - cascading MDPs (Du, Srikant, Chen, "Cascading Reinforcement Learning", ICLR 2024):
 * a finite-horizon episodic MDP whose action is an ordered list of at most m items out of N. A
 * user in state s examines the list in order and clicks item a with attraction probability
 * q(s, a), independently; the first click ends the examination, gives reward r(s, a) and moves
 * the user to s' ~ P(.|s, a); no click gives 0 and moves by the no-click row P0(.|s).
 *
 * BestPerm (the paper's oracle) finds the best list at one state in O(N log N + N m) given the
 * item values w(a) = r(s, a) + P(.|s, a) V_{h+1} and the no-click value w0 = P0(.|s) V_{h+1}.
 * On top of it: mode "plan" is backward induction with the true model (exact CascadingVI) and
 * mode "learn" is CascadingVI, the paper's optimistic online algorithm, simulated against the
 * true model episode by episode with its regret measured exactly by policy evaluation. */
#ifndef SV_CASCADING_H
#define SV_CASCADING_H

#include <stdint.h>
#include "core/control.h"
#include "core/params.h"

typedef enum { CASCADING_PLAN = 0, CASCADING_LEARN = 1 } cascading_mode;

#define CASCADING_MAX_STATES 2000
#define CASCADING_MAX_ITEMS 100000
#define CASCADING_MAX_HORIZON 10000
/* S N S: the transition entries held in memory (and the learner's counts beside them). */
#define CASCADING_MAX_TRANSITIONS 10000000.0
/* H S m: the policy's list entries. */
#define CASCADING_MAX_POLICY 10000000.0
#define CASCADING_DEFAULT_EPISODES 2000L
#define CASCADING_DEFAULT_DELTA 0.05
#define CASCADING_DEFAULT_REPORT_EVERY 100L
/* Points of the regret curve the solver keeps (geometrically spaced episodes). */
#define CASCADING_CURVE_POINTS 40

typedef struct {
    int mode;             /* cascading_mode */
    long episodes;        /* learn: episodes K */
    double delta;         /* learn: confidence 1 - delta of the bonuses (L = log(4 S N H K / delta)) */
    double bonus_scale;   /* learn: factor on every bonus (1: the paper's) */
    uint64_t seed;        /* learn: the simulated users (initial states, clicks, transitions) */
    sv_control ctl;       /* tol unused; max_iter bounds the iterations (levels or episodes) */
} cascading_settings;

extern const sv_param_spec cascading_params[];

/* The model, row-major: q, r are S x N; P is S x N x S (P[(s N + a) S + s']); P0 is S x S; mu
 * is the initial-state distribution (S). Rewards lie in [0, 1]; P, P0 rows and mu are
 * distributions (entries >= 0 summing to 1 within 1e-9). Time-homogeneous, as in the paper. */
typedef struct {
    int S, N, H, m;
    const double *q, *r, *P, *P0, *mu;
} cascading_problem;

/* Arrays the caller may ask for (each NULL or of the stated length). */
typedef struct {
    double *value;     /* H S: the optimal V*_h(s), h = 1..H row by row (plan and learn) */
    int *list;         /* H S m: plan: the optimal lists; learn: the last episode's policy */
    int *list_len;     /* H S: their lengths (<= m); entries past a list's length are -1 */
    double *regret;    /* learn, episodes: the regret V*(mu) - V^{pi_k}(mu) of each episode */
} cascading_output;

typedef struct {
    sv_info base;            /* plan: obj = sum_s mu(s) V*_1(s); learn: obj = cumulative regret */
    double optimal_value;    /* sum_s mu(s) V*_1(s) */
    double cumulative_regret;     /* learn */
    double last_policy_value;     /* learn: V^{pi_K}(mu) of the last episode's policy */
    double realized_return;       /* learn: the rewards collected, summed over the episodes */
    double regret_exponent;       /* learn: slope of log R(k) on log k over the curve's points
                                   * with k >= K / 10 (NaN when too few) */
    int curve_n;                  /* learn: points of the regret curve */
    long curve_episode[CASCADING_CURVE_POINTS];
    double curve_regret[CASCADING_CURVE_POINTS];  /* R(k) at those episodes */
    long bestperm_calls;          /* oracle calls */
} cascading_info;

void cascading_settings_default(cascading_settings *s);
/* The table's checks; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int cascading_check_settings(const cascading_settings *s, sv_err *e);
/* Sizes, ranges and distributions; errors name /problem/<member>[/index...]. */
int cascading_check_problem(const cascading_problem *p, sv_err *e);

/* Iterations of a full run: H levels (plan) or the episodes (learn). */
long cascading_iterations(const cascading_problem *p, const cascading_settings *s);

/* ---- BestPerm ---- */

/* Workspace of BestPerm for N items and lists of at most m. */
typedef struct {
    int N, m;
    int *order, *tmp;        /* N: the items by w descending */
    double *F;               /* (N + 1)(m + 1): F[i][k] */
    unsigned char *take;     /* (N + 1)(m + 1) */
} cascading_bp;

int cascading_bp_alloc(cascading_bp *bp, int N, int m);
void cascading_bp_free(cascading_bp *bp);

/* The best ordered list of at most m distinct items for attraction q (N) and values w (N), the
 * no-click value w0: it maximises
 *     f(A) = sum_i prod_{j<i} (1 - q(a_j)) q(a_i) w(a_i) + prod_j (1 - q(a_j)) w0.
 * Writes the list into list (its length into *len) and returns f. Items are sorted by w
 * descending (ties by index) and F[i][k], the best value from sorted items i.. with k slots, is
 *     F[N][k] = F[i][0] = w0,  F[i][k] = max(F[i+1][k], q w + (1 - q) F[i+1][k-1]),
 * an item taken only when it strictly helps. */
double cascading_bestperm(cascading_bp *bp, const double *q, const double *w, double w0,
                          int *list, int *len);

/* f(A) for the list A (len items), the sum in list order. */
double cascading_list_value(const double *q, const double *w, double w0, const int *list,
                            int len);

/* ---- the solver ---- */

/* Validates everything, then runs the mode. Returns SV_OK (info->base.status says how the run
 * ended: solved when every level / episode is done), SV_EINVAL (e names the field) or
 * SV_ENOMEM. Outputs are written when solved (regret: the episodes done, whatever the status). */
int cascading_solve(const cascading_problem *p, const cascading_settings *s,
                    const sv_monitor *mon, const cascading_output *out, cascading_info *info,
                    sv_err *e);

#endif
