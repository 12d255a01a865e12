/* mdp.h - tabular Markov decision processes, shared by the mdp family (robust_iwocs,
 * distributional, stepmix): the model (a dense transition tensor, expected rewards, a horizon
 * or a discount, an initial distribution), its validation, the seeded generators a problem's
 * "generate" object names (random MDPs, gridworlds, inventory control) and the Bellman
 * backups every tabular solver is built from: optimal value iteration and the evaluation of a
 * given policy, in the episodic (finite horizon) and the discounted form.
 *
 * Transitions are time-homogeneous: P(s' | s, a) and r(s, a) are the same at every step of an
 * episode. A policy is a table pi[(h * S + s) * A + a] of action probabilities per step h of
 * the horizon (episodic) or pi[s * A + a] (discounted: stationary). */
#ifndef SV_MDP_H
#define SV_MDP_H

#include <stdint.h>
#include "core/params.h"
#include "core/solver.h"

typedef struct {
    int S, A;       /* states 0..S-1, actions 0..A-1 (every action allowed in every state) */
    int H;          /* horizon >= 1 for the episodic form; 0: discounted, infinite horizon */
    double gamma;   /* discount in [0, 1) when H == 0; 1 when episodic */
    double *P;      /* S * A * S: P[(s * A + a) * S + t] = P(t | s, a) */
    double *R;      /* S * A: expected reward r(s, a), finite */
    double *mu;     /* S: initial state distribution */
} sv_mdp;

/* Index of P(. | s, a) in m->P. */
static inline long sv_mdp_row(const sv_mdp *m, int s, int a)
{
    return ((long)s * m->A + a) * m->S;
}

/* Largest S * A * S a model may hold (about 128 MB of transitions); larger ones are refused
 * before anything is allocated, whatever the codec's limits. */
#define SV_MDP_MAX_ENTRIES 16000000.0

/* Allocates the arrays of an S x A model (zeroed) and sets H, gamma. SV_OK or SV_ENOMEM (m is
 * then empty). The caller checks sizes first (sv_mdp_check_size). */
int sv_mdp_alloc(sv_mdp *m, int S, int A, int H, double gamma);

/* Frees m's arrays and zeroes it; a zeroed model is fine. */
void sv_mdp_free(sv_mdp *m);

/* S >= 1, A >= 1, S * A * S <= SV_MDP_MAX_ENTRIES; errors at path. */
int sv_mdp_check_size(long S, long A, const char *path, sv_err *e);

/* Checks a filled model: every P(. | s, a) and mu nonnegative and summing to 1 within 1e-9
 * (errors name "<path>/transitions/s/a" and "<path>/initial"), finite rewards, H >= 0, gamma
 * in [0, 1) when H == 0. Then renormalises each row exactly. */
int sv_mdp_check(sv_mdp *m, const char *path, sv_err *e);

/* ---- generators: the "generate" object of a problem ---- */

typedef enum {
    SV_MDP_GEN_RANDOM = 0,     /* Garnet-style: each (s, a) moves to `branching` random states */
    SV_MDP_GEN_GRIDWORLD = 1,  /* width x height grid, 4 moves, slip, goal in the far corner */
    SV_MDP_GEN_INVENTORY = 2   /* stock 0..capacity, order 0..capacity, Poisson demand */
} sv_mdp_gen_kind;

/* Every member of the "generate" object; the kind says which ones it reads.
 * random: states, actions, branching, seed. Rewards r(s, a) uniform in [0, 1).
 * gridworld: width, height, slip. State s = row * width + col, start (0, 0), goal
 *   (height-1, width-1) absorbing; moves up/down/left/right succeed with probability 1 - slip and
 *   otherwise go in one of the other three directions uniformly; a move into a wall stays. Reward
 *   1 for every step taken from the goal, -step_cost elsewhere.
 * inventory: capacity, demand_mean, price, order_cost, holding_cost. State = stock on hand,
 *   action = units ordered (stock after delivery capped at capacity), demand D ~ Poisson(mean)
 *   truncated at the stock (lost sales); r(s, a) = price E[min(D, y)] - order_cost a -
 *   holding_cost y, y = min(s + a, capacity); start with an empty stock. */
typedef struct {
    int kind;              /* sv_mdp_gen_kind */
    int states, actions, branching;
    int width, height;
    double slip, step_cost;
    int capacity;
    double demand_mean, price, order_cost, holding_cost;
    uint64_t seed;
} sv_mdp_gen_spec;

/* kind ("random"), states (10), actions (3), branching (3), width (5), height (5), slip (0.1),
 * step_cost (0), capacity (10), demand_mean (3), price (4), order_cost (2), holding_cost (0.1),
 * seed (0). */
extern const sv_param_spec sv_mdp_gen_params[];

/* The number of states and actions spec generates, and a size check of the model (errors at
 * path, e.g. "/problem/generate/states"), without allocating. */
int sv_mdp_gen_size(const sv_mdp_gen_spec *spec, const char *path, int *S, int *A, sv_err *e);

/* The model of spec with horizon H (0: discounted by gamma) into m. SV_OK, SV_EINVAL or
 * SV_ENOMEM (m is then empty). The initial distribution: uniform (random), the start cell
 * (gridworld), an empty stock (inventory). */
int sv_mdp_generate(const sv_mdp_gen_spec *spec, int H, double gamma, sv_mdp *m, const char *path,
                    sv_err *e);

/* ---- Bellman backups ---- */

/* Q(s, a) = r(s, a) + disc * sum_t P(t | s, a) V(t), for every s, a (Q is S * A). */
void sv_mdp_q(const sv_mdp *m, const double *V, double disc, double *Q);

/* Optimal values by backward induction (episodic: V has (H + 1) * S entries, V[H] = 0, V[0]
 * the values at the first step; greedy[h * S + s] the maximizing action, lowest index on ties)
 * or value iteration (discounted: V has S entries, iterated from 0 until the sup-norm change is
 * below tol (1 - gamma) / (2 gamma), so that V is within tol of V*; greedy has S entries). Q is
 * S * A scratch. Returns the number of sweeps. greedy may be NULL. */
int sv_mdp_optimal(const sv_mdp *m, double tol, int max_sweeps, double *V, int *greedy,
                   double *Q);

/* The values of policy pi (layout in the header's comment) in V: episodic exactly by backward
 * induction ((H + 1) * S entries), discounted by iterating the policy's backup to tol as
 * sv_mdp_optimal does (S entries). Q is S * A scratch. Returns the number of sweeps. */
int sv_mdp_evaluate(const sv_mdp *m, const double *pi, double tol, int max_sweeps, double *V,
                    double *Q);

/* sum_s mu(s) V(s): the expected return of values V at the first step. */
double sv_mdp_start_value(const sv_mdp *m, const double *V);

#endif
