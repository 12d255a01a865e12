/* stepmix.c - StepMix and EpsMix (Li, Huang, Shen, Yang, ICML 2023), simulated against the true
 * tabular episodic MDP.
 *
 * The learner knows the expected rewards r(s, a) and the baseline policy pi_b with its value
 * V^b = V^{pi_b}_1 (the paper's setting: a safe policy already in use, whose performance is
 * known); it learns the transitions from the episodes it plays. Before episode k, with n(s, a)
 * visits and the empirical transitions P^(. | s, a), it computes (steps h = 0..H-1, values at
 * step H zero):
 *   bonus     b_h(s, a) = c (H - h - 1) sqrt(L / n(s, a)),  L = log(4 S A H K / delta), c the
 *             bonus_scale (H - h - 1 bounds the next-step value, the only unknown part of Q;
 *             n = 0 gives the whole range H - h - 1);
 *   optimism  Qbar_h = min(H - h, r + P^ Vbar_{h+1} + b_h), Vbar_h = max_a Qbar_h, pi_opt the
 *             greedy actions (UCB value iteration);
 *   pessimism of a policy pi: Qlow_h = max(0, r + P^ Vlow_{h+1} - b_h), Vlow_h = pi Qlow_h, a
 *             lower bound on V^pi_h on the event that every bonus covers its estimation error.
 * The constraint's threshold is T = (1 - alpha) V^b.
 *   StepMix plays pi_rho(. | s, h) = rho 1[a = pi_opt(s, h)] + (1 - rho) pi_b(. | s, h) with
 *   rho = 1 when Vlow^{pi_opt} >= T, else the largest rho found by bisection with
 *   Vlow^{pi_rho} >= T (the invariant keeps the lower end certified or 0, so the weight played
 *   always has a certificate or is the baseline itself).
 *   EpsMix plays pi_opt for the whole episode with probability eps, else pi_b: the expected
 *   value eps V^opt + (1 - eps) V^b is bounded below by eps Vlow^{pi_opt} + (1 - eps) V^b, so
 *   eps = 1 when Vlow^{pi_opt} >= T, else eps = alpha V^b / (V^b - Vlow^{pi_opt}).
 * The episode's regret and its constraint check use the true values of the policy of the
 * episode (for EpsMix the randomized one, eps V^opt + (1 - eps) V^b), computed exactly by
 * backward induction on the true model. */
#include "core/solvers/mdp/stepmix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const method_choices[] = {"stepmix", "epsmix", "optimistic", NULL};

const sv_param_spec stepmix_params[] = {
    SV_P_ENUM(stepmix_settings, method, method_choices, STEPMIX_METHOD_STEPMIX,
              "stepmix = step-wise mixture of baseline and optimistic policy; epsmix = the "
              "optimistic policy for a whole episode with probability eps; optimistic = the "
              "unconstrained UCB algorithm"),
    SV_P_INT(stepmix_settings, episodes, 1, 1e8, STEPMIX_DEFAULT_EPISODES,
             "number of episodes K"),
    SV_P_NUMBER(stepmix_settings, alpha, 0, 1e6, STEPMIX_DEFAULT_ALPHA,
                "constraint slack: every episode's value must be >= (1 - alpha) V^{pi_b}"),
    SV_P_NUMBER_GT(stepmix_settings, delta, 0, 1, STEPMIX_DEFAULT_DELTA,
                   "confidence level of the bonuses (the constraint holds with probability "
                   ">= 1 - delta)"),
    SV_P_NUMBER(stepmix_settings, bonus_scale, 0, 1e3, STEPMIX_DEFAULT_BONUS_SCALE,
                "factor on the Hoeffding bonuses; 1 is the bound as stated, smaller explores "
                "less and voids the guarantee"),
    SV_P_SEED(stepmix_settings, seed, 0, "seed of the simulated episodes and EpsMix's coins"),
    SV_CONTROL_PARAMS(stepmix_settings, ctl, 0, "unused: the run ends after its episodes",
                      STEPMIX_DEFAULT_MAX_ITER, STEPMIX_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void stepmix_settings_default(stepmix_settings *s)
{
    sv_params_defaults(stepmix_params, s);
}

int stepmix_check_settings(const stepmix_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(stepmix_params, s, "/params", e);
}

int stepmix_check_problem(const stepmix_problem *p, sv_err *e)
{
    if (!p || !p->mdp || !p->mdp->P || !p->mdp->R || !p->mdp->mu)
        return sv_fail(e, "/problem", "a tabular MDP is required");
    const sv_mdp *m = p->mdp;
    if (m->H < 1)
        return sv_fail(e, "/problem/horizon", "StepMix needs an episodic MDP: give horizon >= 1");
    for (int i = 0; i < m->S * m->A; i++)
        if (!(m->R[i] >= 0 && m->R[i] <= 1))
            return sv_fail(e, "/problem/rewards", "rewards must lie in [0, 1] (r(%d, %d) = %g); "
                           "rescale them", i / m->A, i % m->A, m->R[i]);
    if (p->baseline) {
        long rows = (long)m->H * m->S;
        for (long r = 0; r < rows; r++) {
            const double *q = p->baseline + r * m->A;
            double sum = 0;
            for (int a = 0; a < m->A; a++) {
                if (!(q[a] >= 0))
                    return sv_fail(e, "/problem/baseline", "step %ld, state %ld: probabilities "
                                   "must be nonnegative", r / m->S, r % m->S);
                sum += q[a];
            }
            if (fabs(sum - 1) > 1e-9)
                return sv_fail(e, "/problem/baseline", "step %ld, state %ld: probabilities sum "
                               "to %.17g, not 1", r / m->S, r % m->S, sum);
        }
    }
    return SV_OK;
}

/* ================================ workspace ================================ */

typedef struct {
    const sv_mdp *m;
    sv_mdp emp;        /* the empirical model: P^ (owned), the true r and mu (borrowed) */
    double *cnt;       /* S A S transition counts */
    double *n;         /* S A visits */
    double *bonus;     /* H S A: b_h(s, a) */
    double *pib;       /* H S A: the baseline */
    double *piopt;     /* H S A: the optimistic policy (0/1) */
    double *pimix;     /* H S A: the policy evaluated / played */
    double *V;         /* (H + 1) S values */
    double *Q;         /* S A */
    int *path;         /* 2 H: the episode's (s, a) pairs, then counted */
    double regret, last_value, weight;
    long violations;
} stepmix_ws;

static void ws_free(stepmix_ws *w)
{
    free(w->emp.P);
    free(w->cnt);
    free(w->n);
    free(w->bonus);
    free(w->pib);
    free(w->piopt);
    free(w->pimix);
    free(w->V);
    free(w->Q);
    free(w->path);
}

static int ws_alloc(stepmix_ws *w, const sv_mdp *m)
{
    size_t S = (size_t)m->S, A = (size_t)m->A, H = (size_t)m->H;
    w->m = m;
    w->emp = *m;
    w->emp.P = calloc(S * A * S, sizeof(double));
    w->cnt = calloc(S * A * S, sizeof(double));
    w->n = calloc(S * A, sizeof(double));
    w->bonus = malloc(H * S * A * sizeof(double));
    w->pib = malloc(H * S * A * sizeof(double));
    w->piopt = malloc(H * S * A * sizeof(double));
    w->pimix = malloc(H * S * A * sizeof(double));
    w->V = malloc((H + 1) * S * sizeof(double));
    w->Q = malloc(S * A * sizeof(double));
    w->path = malloc(2 * H * sizeof(int));
    if (!w->emp.P || !w->cnt || !w->n || !w->bonus || !w->pib || !w->piopt || !w->pimix ||
        !w->V || !w->Q || !w->path) {
        ws_free(w);
        return SV_ENOMEM;
    }
    /* unvisited pairs: a uniform guess (their bonus covers any next-state law) */
    for (size_t i = 0; i < S * A * S; i++)
        w->emp.P[i] = 1.0 / (double)S;
    return SV_OK;
}

/* ================================ the bounds ================================ */

static void compute_bonus(stepmix_ws *w, double c, double L)
{
    int S = w->m->S, A = w->m->A, H = w->m->H;
    for (int h = 0; h < H; h++)
        for (int i = 0; i < S * A; i++) {
            double range = (double)(H - h - 1);
            w->bonus[(size_t)h * S * A + i] =
                w->n[i] > 0 ? fmin(range, c * range * sqrt(L / w->n[i])) : range;
        }
}

/* UCB value iteration on the empirical model: the greedy actions into piopt (0/1 rows). */
static void optimistic_policy(stepmix_ws *w)
{
    int S = w->m->S, A = w->m->A, H = w->m->H;
    memset(w->V + (size_t)H * S, 0, (size_t)S * sizeof(double));
    for (int h = H - 1; h >= 0; h--) {
        sv_mdp_q(&w->emp, w->V + (size_t)(h + 1) * S, 1.0, w->Q);
        const double *b = w->bonus + (size_t)h * S * A;
        double *pi = w->piopt + (size_t)h * S * A;
        for (int s = 0; s < S; s++) {
            int best = 0;
            double vb = -INFINITY;
            for (int a = 0; a < A; a++) {
                double q = fmin((double)(H - h), w->Q[s * A + a] + b[s * A + a]);
                if (q > vb) {
                    vb = q;
                    best = a;
                }
                pi[s * A + a] = 0;
            }
            pi[s * A + best] = 1;
            w->V[(size_t)h * S + s] = vb;
        }
    }
}

/* The pessimistic value from mu of policy pi (H S A). */
static double pessimistic_value(stepmix_ws *w, const double *pi)
{
    int S = w->m->S, A = w->m->A, H = w->m->H;
    memset(w->V + (size_t)H * S, 0, (size_t)S * sizeof(double));
    for (int h = H - 1; h >= 0; h--) {
        sv_mdp_q(&w->emp, w->V + (size_t)(h + 1) * S, 1.0, w->Q);
        const double *b = w->bonus + (size_t)h * S * A;
        const double *p = pi + (size_t)h * S * A;
        for (int s = 0; s < S; s++) {
            double v = 0;
            for (int a = 0; a < A; a++)
                v += p[s * A + a] * fmax(0.0, w->Q[s * A + a] - b[s * A + a]);
            w->V[(size_t)h * S + s] = v;
        }
    }
    return sv_mdp_start_value(w->m, w->V);
}

/* The true value from mu of policy pi. */
static double true_value(stepmix_ws *w, const double *pi)
{
    sv_mdp_evaluate(w->m, pi, 0, 0, w->V, w->Q);
    return sv_mdp_start_value(w->m, w->V);
}

/* pimix = rho piopt + (1 - rho) pib. */
static void mix(stepmix_ws *w, double rho)
{
    size_t len = (size_t)w->m->H * w->m->S * w->m->A;
    for (size_t i = 0; i < len; i++)
        w->pimix[i] = rho * w->piopt[i] + (1 - rho) * w->pib[i];
}

/* StepMix's weight: 1 if pi_opt is certified, else the largest certified rho by bisection. */
static double stepmix_weight(stepmix_ws *w, double thr)
{
    if (pessimistic_value(w, w->piopt) >= thr)
        return 1.0;
    double lo = 0, hi = 1;
    for (int it = 0; it < STEPMIX_BISECTION_STEPS; it++) {
        double mid = 0.5 * (lo + hi);
        mix(w, mid);
        if (pessimistic_value(w, w->pimix) >= thr)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* ================================ one episode ================================ */

static int draw(sv_rng *r, const double *p, int n)
{
    double u = sv_rng_uniform(r), acc = 0;
    for (int i = 0; i < n; i++) {
        acc += p[i];
        if (u < acc)
            return i;
    }
    for (int i = n - 1; i > 0; i--)  /* u rounded past the total: the last possible outcome */
        if (p[i] > 0)
            return i;
    return 0;
}

/* Plays policy pi from s_1 ~ mu in the true model and adds the transitions to the counts. */
static void play(stepmix_ws *w, const double *pi, sv_rng *r)
{
    const sv_mdp *m = w->m;
    int S = m->S, A = m->A;
    int s = draw(r, m->mu, S);
    for (int h = 0; h < m->H; h++) {
        int a = draw(r, pi + ((size_t)h * S + s) * A, A);
        int t = draw(r, m->P + sv_mdp_row(m, s, a), S);
        w->cnt[sv_mdp_row(m, s, a) + t] += 1;
        w->n[s * A + a] += 1;
        w->path[h] = s * A + a;
        s = t;
    }
    /* the empirical rows of the pairs visited */
    for (int h = 0; h < m->H; h++) {
        int i = w->path[h];
        const double *c = w->cnt + (size_t)i * S;
        double *p = w->emp.P + (size_t)i * S;
        for (int t = 0; t < S; t++)
            p[t] = c[t] / w->n[i];
    }
}

static int metrics(void *ctx, sv_metric *mm, int cap)
{
    stepmix_ws *w = ctx;
    if (cap < 4)
        return 0;
    mm[0] = (sv_metric){"regret", w->regret};
    mm[1] = (sv_metric){"violations", (double)w->violations};
    mm[2] = (sv_metric){"weight", w->weight};
    mm[3] = (sv_metric){"value", w->last_value};
    return 4;
}

/* Least-squares slope of log y on log x over the points with x >= x_min and y > 0. */
static double loglog_slope(int n, const long *x, const double *y, double x_min)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int c = 0;
    for (int i = 0; i < n; i++) {
        if ((double)x[i] < x_min || !(y[i] > 0))
            continue;
        double lx = log((double)x[i]), ly = log(y[i]);
        sx += lx;
        sy += ly;
        sxx += lx * lx;
        sxy += lx * ly;
        c++;
    }
    double den = c * sxx - sx * sx;
    return c >= 2 && den > 0 ? (c * sxy - sx * sy) / den : NAN;
}

/* ================================ the solver ================================ */

int stepmix_solve(const stepmix_problem *p, const stepmix_settings *s, const sv_monitor *mon,
                  double *weights, stepmix_info *info, sv_err *e)
{
    stepmix_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->exponent = NAN;
    int rc;
    if ((rc = stepmix_check_settings(s, e)) != SV_OK || (rc = stepmix_check_problem(p, e)) != SV_OK)
        return rc;
    const sv_mdp *m = p->mdp;
    int S = m->S, A = m->A, H = m->H;
    size_t len = (size_t)H * S * A;

    stepmix_ws w;
    memset(&w, 0, sizeof w);
    if ((rc = ws_alloc(&w, m)) != SV_OK)
        return rc;
    for (size_t i = 0; i < len; i++)
        w.pib[i] = p->baseline ? p->baseline[i] : 1.0 / A;

    /* V* and V^b on the true model */
    sv_mdp_optimal(m, 0, 0, w.V, NULL, w.Q);
    const double vstar = sv_mdp_start_value(m, w.V);
    const double vb = true_value(&w, w.pib);
    const double thr = (1 - s->alpha) * vb;
    const long K = s->episodes;
    const double L = log(4.0 * S * A * H * (double)K / s->delta);
    info->optimal_value = vstar;
    info->baseline_value = vb;
    info->threshold = thr;
    info->min_margin = INFINITY;

    sv_rng r;
    sv_rng_seed(&r, s->seed);
    double wsum = 0;
    int next_point = 0;
    sv_loop L0;
    sv_loop_begin(&L0, &s->ctl, mon, metrics, &w);
    long k;
    for (k = 0;; k++) {
        if (sv_loop_check(&L0, k, w.regret, 0, k >= K))
            break;
        compute_bonus(&w, s->bonus_scale, L);
        optimistic_policy(&w);
        double weight = 1, value;
        const double *played;
        if (s->method == STEPMIX_METHOD_STEPMIX) {
            weight = stepmix_weight(&w, thr);
            mix(&w, weight);
            played = w.pimix;
            value = true_value(&w, w.pimix);
        } else if (s->method == STEPMIX_METHOD_EPSMIX) {
            double low = pessimistic_value(&w, w.piopt);
            weight = low >= thr ? 1.0 : fmin(1.0, fmax(0.0, s->alpha * vb / (vb - low)));
            double vopt = true_value(&w, w.piopt);
            value = weight * vopt + (1 - weight) * vb;
            played = sv_rng_uniform(&r) < weight ? w.piopt : w.pib;
        } else {
            played = w.piopt;
            value = true_value(&w, w.piopt);
        }
        play(&w, played, &r);
        w.weight = weight;
        w.last_value = value;
        w.regret += vstar - value;
        if (value - thr < info->min_margin)
            info->min_margin = value - thr;
        if (value < thr - 1e-12 * (1 + fabs(thr)))
            w.violations++;
        if (weight == 0)
            info->baseline_episodes++;
        wsum += weight;
        if (weights)
            weights[k] = weight;
        while (next_point < STEPMIX_CURVE_POINTS &&
               (k + 1) * STEPMIX_CURVE_POINTS >= (next_point + 1) * K) {
            info->curve_episode[next_point] = k + 1;
            info->curve_regret[next_point] = w.regret;
            next_point++;
        }
    }
    info->curve_n = next_point;
    info->regret = w.regret;
    info->violations = w.violations;
    info->mean_weight = k > 0 ? wsum / (double)k : 0;
    info->last_weight = w.weight;
    if (k == 0)
        info->min_margin = NAN;
    info->exponent = loglog_slope(info->curve_n, info->curve_episode, info->curve_regret,
                                  0.1 * (double)K);
    sv_loop_end(&L0, &info->base, k, w.regret, NAN);
    ws_free(&w);
    return SV_OK;
}
