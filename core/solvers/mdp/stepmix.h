/* stepmix.h - conservative exploration in a tabular episodic MDP, simulated against the true
 * model: StepMix and EpsMix (Li, Huang, Shen, Yang, "Near-optimal Conservative Exploration in
 * Reinforcement Learning under Episode-wise Constraints", ICML 2023). A learner that does not
 * know the transitions plays K episodes; in every episode k the value of its policy must stay
 * above a fraction of a known safe baseline's, V^{pi_k}_1(s_1) >= (1 - alpha) V^{pi_b}_1(s_1),
 * with high probability. Each episode it computes an optimistic policy (UCB value iteration on
 * the empirical transitions) and a pessimistic (lower-confidence) evaluation, and plays
 *   stepmix:    the step-wise mixture rho pi_opt + (1 - rho) pi_b with the largest rho whose
 *               pessimistic value meets the constraint;
 *   epsmix:     pi_opt for the whole episode with probability eps, else pi_b, eps the largest
 *               the same lower bound allows;
 *   optimistic: pi_opt always (the unconstrained UCB algorithm, for comparison).
 * It reports the cumulative regret against V* and the episodes whose true value broke the
 * constraint. Rewards must lie in [0, 1]. */
#ifndef SV_STEPMIX_H
#define SV_STEPMIX_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/mdp.h"
#include "core/params.h"

typedef enum {
    STEPMIX_METHOD_STEPMIX = 0,
    STEPMIX_METHOD_EPSMIX = 1,
    STEPMIX_METHOD_OPTIMISTIC = 2
} stepmix_method;

#define STEPMIX_DEFAULT_EPISODES 2000L
#define STEPMIX_DEFAULT_ALPHA 0.1
#define STEPMIX_DEFAULT_DELTA 0.05
#define STEPMIX_DEFAULT_BONUS_SCALE 1.0
#define STEPMIX_DEFAULT_MAX_ITER 1000000000L
#define STEPMIX_DEFAULT_REPORT_EVERY 100L
/* Points of the regret curve kept for the result (episodes K i / n, i = 1..n). */
#define STEPMIX_CURVE_POINTS 50
/* Bisection steps for StepMix's mixing weight (precision 2^-30). */
#define STEPMIX_BISECTION_STEPS 30

typedef struct {
    int method;           /* stepmix_method */
    long episodes;        /* K */
    double alpha;         /* the constraint's slack: V^{pi_k} >= (1 - alpha) V^{pi_b} */
    double delta;         /* confidence: the bonuses hold with probability 1 - delta */
    double bonus_scale;   /* multiplies the Hoeffding bonuses (1: the bound as stated) */
    uint64_t seed;        /* the simulated episodes and EpsMix's coins */
    sv_control ctl;       /* tol unused; max_iter caps the episodes too */
} stepmix_settings;

extern const sv_param_spec stepmix_params[];

typedef struct {
    const sv_mdp *mdp;        /* episodic (H >= 1), rewards in [0, 1] */
    const double *baseline;   /* pi_b as H * S * A probabilities (pi[(h S + s) A + a]); NULL:
                                 the uniform policy */
} stepmix_problem;

typedef struct {
    sv_info base;             /* obj = cumulative regret, iter = episodes played */
    double regret;            /* sum_k V*_1 - V^{pi_k}_1 (expected values from mu) */
    double optimal_value;     /* V*_1 */
    double baseline_value;    /* V^{pi_b}_1 */
    double threshold;         /* (1 - alpha) V^{pi_b}_1 */
    long violations;          /* episodes with V^{pi_k}_1 < threshold (true values) */
    double min_margin;        /* min_k V^{pi_k}_1 - threshold */
    double mean_weight;       /* mean of rho (stepmix) or eps (epsmix) over episodes */
    double last_weight;
    long baseline_episodes;   /* episodes with weight 0: the baseline alone */
    double exponent;          /* slope of log regret on log k over the curve from K/10; NaN if
                                 regret is 0 there */
    int curve_n;
    long curve_episode[STEPMIX_CURVE_POINTS];
    double curve_regret[STEPMIX_CURVE_POINTS];
} stepmix_info;

void stepmix_settings_default(stepmix_settings *s);
/* The table's checks; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int stepmix_check_settings(const stepmix_settings *s, sv_err *e);

/* Checks a problem without running it: episodic, rewards in [0, 1] ("/problem/rewards"), the
 * baseline's rows distributions ("/problem/baseline"). */
int stepmix_check_problem(const stepmix_problem *p, sv_err *e);

/* Plays s->episodes episodes. weights (episodes, may be NULL) receives each episode's mixing
 * weight. Returns SV_OK (info->base.status says how the run ended), SV_EINVAL or SV_ENOMEM. */
int stepmix_solve(const stepmix_problem *p, const stepmix_settings *s, const sv_monitor *mon,
                  double *weights, stepmix_info *info, sv_err *e);

#endif
