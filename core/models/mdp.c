/* mdp.c - tabular MDPs: storage, validation, the three generators and the Bellman backups. */
#include "core/models/mdp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const kind_choices[] = {"random", "gridworld", "inventory", NULL};

const sv_param_spec sv_mdp_gen_params[] = {
    SV_P_ENUM(sv_mdp_gen_spec, kind, kind_choices, SV_MDP_GEN_RANDOM,
              "random (Garnet: each state-action pair moves to `branching` random states), "
              "gridworld (width x height, 4 moves with slip) or inventory (stock 0..capacity)"),
    SV_P_INT32(sv_mdp_gen_spec, states, 1, 4000, 10, "random: number of states"),
    SV_P_INT32(sv_mdp_gen_spec, actions, 1, 1000, 3, "random: number of actions"),
    SV_P_INT32(sv_mdp_gen_spec, branching, 1, 4000, 3,
               "random: successor states of each state-action pair (at most states)"),
    SV_P_INT32(sv_mdp_gen_spec, width, 1, 1000, 5, "gridworld: columns"),
    SV_P_INT32(sv_mdp_gen_spec, height, 1, 1000, 5, "gridworld: rows"),
    SV_P_NUMBER(sv_mdp_gen_spec, slip, 0, 1, 0.1,
                "gridworld: probability that a move goes in one of the other three directions"),
    SV_P_NUMBER(sv_mdp_gen_spec, step_cost, 0, 1e6, 0,
                "gridworld: cost of a step taken outside the goal (reward -step_cost)"),
    SV_P_INT32(sv_mdp_gen_spec, capacity, 1, 1000, 10, "inventory: largest stock"),
    SV_P_NUMBER(sv_mdp_gen_spec, demand_mean, 0, 1000, 3, "inventory: mean of the Poisson demand"),
    SV_P_NUMBER(sv_mdp_gen_spec, price, 0, 1e6, 4, "inventory: revenue per unit sold"),
    SV_P_NUMBER(sv_mdp_gen_spec, order_cost, 0, 1e6, 2, "inventory: cost per unit ordered"),
    SV_P_NUMBER(sv_mdp_gen_spec, holding_cost, 0, 1e6, 0.1,
                "inventory: cost per unit in stock after delivery"),
    SV_P_SEED(sv_mdp_gen_spec, seed, 0, "random: seed of the transitions and rewards"),
    SV_PARAMS_END,
};

int sv_mdp_alloc(sv_mdp *m, int S, int A, int H, double gamma)
{
    memset(m, 0, sizeof *m);
    size_t sa = (size_t)S * (size_t)A;
    m->P = calloc(sa * (size_t)S, sizeof *m->P);
    m->R = calloc(sa, sizeof *m->R);
    m->mu = calloc((size_t)S, sizeof *m->mu);
    if (!m->P || !m->R || !m->mu) {
        sv_mdp_free(m);
        return SV_ENOMEM;
    }
    m->S = S;
    m->A = A;
    m->H = H;
    m->gamma = H > 0 ? 1.0 : gamma;
    return SV_OK;
}

void sv_mdp_free(sv_mdp *m)
{
    free(m->P);
    free(m->R);
    free(m->mu);
    memset(m, 0, sizeof *m);
}

int sv_mdp_check_size(long S, long A, const char *path, sv_err *e)
{
    if (S < 1 || A < 1)
        return sv_fail(e, path, "an MDP needs at least one state and one action (got %ld states, "
                       "%ld actions)", S, A);
    double entries = (double)S * (double)A * (double)S;
    if (entries > SV_MDP_MAX_ENTRIES)
        return sv_fail(e, path, "%ld states x %ld actions make %.0f transition entries, more than "
                       "the limit of %.0f", S, A, entries, SV_MDP_MAX_ENTRIES);
    return SV_OK;
}

/* Checks that p[0..n) is a distribution within 1e-9 and makes it sum to 1 exactly. */
static int distribution(double *p, int n, const char *path, sv_err *e)
{
    double sum = 0;
    for (int t = 0; t < n; t++) {
        if (!(p[t] >= 0) || !isfinite(p[t]))
            return sv_fail(e, path, "probabilities must be finite and nonnegative (entry %d is "
                           "%g)", t, p[t]);
        sum += p[t];
    }
    if (fabs(sum - 1.0) > 1e-9)
        return sv_fail(e, path, "probabilities must sum to 1 (they sum to %.17g)", sum);
    for (int t = 0; t < n; t++)
        p[t] /= sum;
    return SV_OK;
}

int sv_mdp_check(sv_mdp *m, const char *path, sv_err *e)
{
    char where[160];
    if (m->H < 0)
        return sv_fail(e, path, "the horizon must be >= 0 (0: discounted)");
    if (m->H == 0 && !(m->gamma >= 0 && m->gamma < 1))
        return sv_fail(e, path, "a discounted MDP needs gamma in [0, 1) (got %g)", m->gamma);
    for (int s = 0; s < m->S; s++)
        for (int a = 0; a < m->A; a++) {
            snprintf(where, sizeof where, "%s/transitions/%d/%d", path, s, a);
            int rc = distribution(m->P + sv_mdp_row(m, s, a), m->S, where, e);
            if (rc != SV_OK)
                return rc;
            if (!isfinite(m->R[s * m->A + a])) {
                snprintf(where, sizeof where, "%s/rewards/%d/%d", path, s, a);
                return sv_fail(e, where, "the reward of state %d, action %d is not finite", s, a);
            }
        }
    snprintf(where, sizeof where, "%s/initial", path);
    return distribution(m->mu, m->S, where, e);
}

int sv_mdp_gen_size(const sv_mdp_gen_spec *spec, const char *path, int *S, int *A, sv_err *e)
{
    char where[160];
    long s, a;
    switch (spec->kind) {
    case SV_MDP_GEN_RANDOM:
        s = spec->states;
        a = spec->actions;
        if (spec->branching > spec->states) {
            snprintf(where, sizeof where, "%s/branching", path);
            return sv_fail(e, where, "branching (%d) cannot exceed states (%d)", spec->branching,
                           spec->states);
        }
        break;
    case SV_MDP_GEN_GRIDWORLD:
        s = (long)spec->width * spec->height;
        a = 4;
        break;
    case SV_MDP_GEN_INVENTORY:
        s = (long)spec->capacity + 1;
        a = s;
        break;
    default:
        snprintf(where, sizeof where, "%s/kind", path);
        return sv_fail(e, where, "unknown generator kind %d", spec->kind);
    }
    int rc = sv_mdp_check_size(s, a, path, e);
    if (rc != SV_OK)
        return rc;
    *S = (int)s;
    *A = (int)a;
    return SV_OK;
}

static void gen_random(const sv_mdp_gen_spec *spec, sv_mdp *m, int *succ, double *w)
{
    sv_rng r;
    sv_rng_seed(&r, spec->seed);
    for (int s = 0; s < m->S; s++)
        for (int a = 0; a < m->A; a++) {
            /* `branching` distinct successors with weights uniform on the simplex over them,
             * the Garnet construction. */
            double *p = m->P + sv_mdp_row(m, s, a);
            sv_rng_sample(&r, m->S, spec->branching, succ);
            sv_rng_simplex(&r, w, spec->branching);
            for (int k = 0; k < spec->branching; k++)
                p[succ[k]] = w[k];
            m->R[s * m->A + a] = sv_rng_uniform(&r);
        }
    for (int s = 0; s < m->S; s++)
        m->mu[s] = 1.0 / m->S;
}

static void gen_grid(const sv_mdp_gen_spec *spec, sv_mdp *m)
{
    static const int dr[4] = {-1, 1, 0, 0}, dc[4] = {0, 0, -1, 1};
    int w = spec->width, h = spec->height, goal = m->S - 1;
    for (int s = 0; s < m->S; s++) {
        int row = s / w, col = s % w;
        for (int a = 0; a < 4; a++) {
            double *p = m->P + sv_mdp_row(m, s, a);
            m->R[s * 4 + a] = s == goal ? 1.0 : -spec->step_cost;
            if (s == goal) {
                p[goal] = 1.0;
                continue;
            }
            for (int d = 0; d < 4; d++) {
                double prob = d == a ? 1.0 - spec->slip : spec->slip / 3.0;
                int r2 = row + dr[d], c2 = col + dc[d];
                int t = r2 < 0 || r2 >= h || c2 < 0 || c2 >= w ? s : r2 * w + c2;
                p[t] += prob;
            }
        }
    }
    m->mu[0] = 1.0;
}

static void gen_inventory(const sv_mdp_gen_spec *spec, sv_mdp *m)
{
    int cap = spec->capacity;
    double lam = spec->demand_mean;
    for (int s = 0; s <= cap; s++)
        for (int a = 0; a <= cap; a++) {
            int y = s + a > cap ? cap : s + a;
            double *p = m->P + sv_mdp_row(m, s, a);
            /* Demand d with Poisson probabilities; d >= y sells the whole stock (tail mass). */
            double pd = exp(-lam), below = 0, sales = 0;
            for (int d = 0; d < y; d++) {
                p[y - d] += pd;
                below += pd;
                sales += d * pd;
                pd *= lam / (d + 1);
            }
            double tail = below < 1.0 ? 1.0 - below : 0.0;
            p[0] += tail;
            sales += y * tail;
            m->R[s * m->A + a] = spec->price * sales - spec->order_cost * a -
                                 spec->holding_cost * y;
        }
    m->mu[0] = 1.0;
}

int sv_mdp_generate(const sv_mdp_gen_spec *spec, int H, double gamma, sv_mdp *m, const char *path,
                    sv_err *e)
{
    memset(m, 0, sizeof *m);
    int S, A, rc;
    if ((rc = sv_params_validate(sv_mdp_gen_params, spec, path, e)) != SV_OK ||
        (rc = sv_mdp_gen_size(spec, path, &S, &A, e)) != SV_OK)
        return rc;
    /* random: the successors and weights of one row */
    int *succ = NULL;
    double *w = NULL;
    if (spec->kind == SV_MDP_GEN_RANDOM &&
        (!(succ = malloc((size_t)S * sizeof *succ)) || !(w = malloc((size_t)S * sizeof *w)))) {
        free(succ);
        return SV_ENOMEM;
    }
    if ((rc = sv_mdp_alloc(m, S, A, H, gamma)) != SV_OK) {
        free(succ);
        free(w);
        return rc;
    }
    if (spec->kind == SV_MDP_GEN_RANDOM)
        gen_random(spec, m, succ, w);
    else if (spec->kind == SV_MDP_GEN_GRIDWORLD)
        gen_grid(spec, m);
    else
        gen_inventory(spec, m);
    free(succ);
    free(w);
    if ((rc = sv_mdp_check(m, path, e)) != SV_OK)
        sv_mdp_free(m);
    return rc;
}

void sv_mdp_q(const sv_mdp *m, const double *V, double disc, double *Q)
{
    int S = m->S, A = m->A;
    for (int s = 0; s < S; s++)
        for (int a = 0; a < A; a++) {
            const double *p = m->P + sv_mdp_row(m, s, a);
            double acc = 0;
            for (int t = 0; t < S; t++)
                acc += p[t] * V[t];
            Q[s * A + a] = m->R[s * A + a] + disc * acc;
        }
}

/* V(s) = max_a Q(s, a) (argmax into g when non-NULL); returns max_s |V(s) - old(s)| when old is
 * given. */
static double greedy_values(int S, int A, const double *Q, const double *old, double *V, int *g)
{
    double change = 0;
    for (int s = 0; s < S; s++) {
        int best = 0;
        for (int a = 1; a < A; a++)
            if (Q[s * A + a] > Q[s * A + best])
                best = a;
        double v = Q[s * A + best];
        if (old && fabs(v - old[s]) > change)
            change = fabs(v - old[s]);
        V[s] = v;
        if (g)
            g[s] = best;
    }
    return change;
}

static double policy_values(int S, int A, const double *Q, const double *pi, const double *old,
                            double *V)
{
    double change = 0;
    for (int s = 0; s < S; s++) {
        double v = 0;
        for (int a = 0; a < A; a++)
            v += pi[s * A + a] * Q[s * A + a];
        if (old && fabs(v - old[s]) > change)
            change = fabs(v - old[s]);
        V[s] = v;
    }
    return change;
}

/* The sup-norm change below which the discounted iterate is within tol of its fixed point. */
static double stop_change(double tol, double gamma)
{
    return gamma > 0 ? tol * (1 - gamma) / (2 * gamma) : INFINITY;
}

/* One backup of values V into out (Q the state-action values on the way): the greedy maximum
 * (actions into g) when pi is NULL, else pi's average; returns max_s |out(s) - V(s)| when
 * track is set. out may be V. */
static double backup(const sv_mdp *m, const double *pi, double disc, const double *V, double *out,
                     int *g, double *Q, int track)
{
    sv_mdp_q(m, V, disc, Q);
    return pi ? policy_values(m->S, m->A, Q, pi, track ? V : NULL, out)
              : greedy_values(m->S, m->A, Q, track ? V : NULL, out, g);
}

/* Backward induction (episodic) or iteration to the fixed point (discounted) of the greedy
 * backup (pi NULL) or pi's. */
static int solve(const sv_mdp *m, const double *pi, double tol, int max_sweeps, double *V,
                 int *greedy, double *Q)
{
    int S = m->S, A = m->A;
    if (m->H > 0) {
        memset(V + (size_t)m->H * S, 0, (size_t)S * sizeof *V);
        for (int h = m->H - 1; h >= 0; h--)
            backup(m, pi ? pi + (size_t)h * S * A : NULL, 1.0, V + (size_t)(h + 1) * S,
                   V + (size_t)h * S, greedy ? greedy + (size_t)h * S : NULL, Q, 0);
        return m->H;
    }
    memset(V, 0, (size_t)S * sizeof *V);
    double stop = stop_change(tol, m->gamma);
    int sweeps = 0;
    while (sweeps < max_sweeps) {
        sweeps++;
        if (backup(m, pi, m->gamma, V, V, greedy, Q, 1) <= stop)
            break;
    }
    return sweeps;
}

int sv_mdp_optimal(const sv_mdp *m, double tol, int max_sweeps, double *V, int *greedy,
                   double *Q)
{
    return solve(m, NULL, tol, max_sweeps, V, greedy, Q);
}

int sv_mdp_evaluate(const sv_mdp *m, const double *pi, double tol, int max_sweeps, double *V,
                    double *Q)
{
    return solve(m, pi, tol, max_sweeps, V, NULL, Q);
}

double sv_mdp_start_value(const sv_mdp *m, const double *V)
{
    double v = 0;
    for (int s = 0; s < m->S; s++)
        v += m->mu[s] * V[s];
    return v;
}
