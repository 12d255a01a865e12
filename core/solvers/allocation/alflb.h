/* alflb.h - Auxiliary-Loss-Free Load Balancing (ALF-LB) of a sparse mixture-of-experts router,
 * as the one-step-per-iteration primal-dual method of Han & Zhong for the assignment problem
 *
 *   max  sum_te s_te x_te   s.t.  sum_e x_te = k (each token),  sum_t x_te <= c_e (each
 *   expert),  0 <= x_te <= 1,
 *
 * with c_e = capacity when one is given, else c_e = kT/E with equality (perfect balance). Each
 * iteration routes every token to the k experts of largest s_te + b_e (the bias only selects),
 * counts the loads L_e and moves each bias once: b_e += u_t sign(c_e - L_e) (Wang et al.'s
 * rule) or b_e += u_t (c_e - L_e) (the dual subgradient step), projected onto b_e <= 0 when
 * capacitated. b = -p, p the duals of the expert rows.
 *
 * Online (a stream set in the problem): each iteration routes a fresh batch of T tokens that
 * the stream draws, and the bias carries over from batch to batch, which is how a router meets
 * its tokens in training; balance is then judged on average over the batches (the running means
 * the info struct reports), not by a residual that batch noise never lets reach 0. */
#ifndef SV_ALFLB_H
#define SV_ALFLB_H

#include "core/control.h"
#include "core/params.h"

typedef enum { ALFLB_RULE_SIGN = 0, ALFLB_RULE_PROPORTIONAL = 1 } alflb_rule;
/* u_t = u, u / sqrt(t + 1), u / (t + 1) at the t-th update (t = 0, 1, ...). */
typedef enum { ALFLB_STEP_CONSTANT = 0, ALFLB_STEP_SQRT = 1, ALFLB_STEP_HARMONIC = 2 } alflb_step;

#define ALFLB_DEFAULT_U 1e-3
#define ALFLB_DEFAULT_TOL 1.0
#define ALFLB_DEFAULT_MAX_ITER 1000L
#define ALFLB_DEFAULT_REPORT_EVERY 10L

typedef struct {
    int rule;         /* alflb_rule */
    int step;         /* alflb_step */
    double u;         /* base step size > 0 */
    sv_control ctl;   /* tol: on the balance residual (tokens); max_iter: bias updates */
} alflb_settings;

extern const sv_param_spec alflb_params[];

/* A source of fresh batches: next fills the T x E scores of the next batch (row-major). */
typedef struct {
    void (*next)(void *ctx, double *scores);
    void *ctx;
} alflb_stream;

typedef struct {
    int tokens;             /* T >= 1 */
    int experts;            /* E >= 1 */
    int k;                  /* experts per token, 1 <= k <= E */
    const double *scores;   /* T x E, row-major, finite */
    double capacity;        /* 0: none (balance to kT/E with equality); else kT <= E capacity */
    const alflb_stream *stream;  /* NULL: every iteration routes scores (deterministic); else
                                    iteration 0 routes scores and each later one a fresh batch */
} alflb_problem;

typedef struct {
    sv_info base;          /* base.obj = the Lagrangian at the last routing; base.res = the
                            * balance residual (see alflb_solve) */
    double lagrangian;     /* sum_te (s_te + b_e) x_te - sum_e b_e c_e at the final routing:
                            * the dual function, >= the LP optimum (weak duality) */
    double best_lagrangian;/* the least Lagrangian over every iteration (the best dual bound) */
    double score;          /* sum_te s_te x_te of the final routing */
    double target;         /* c_e: capacity, or kT/E */
    long max_load, min_load;
    double mean_load;      /* kT/E */
    int idle;              /* experts with no token */
    double overflow;       /* sum_e (L_e - c_e)^+ */
    long batches;          /* routings done (each a batch when online) */
    double avg_max_over_mean;  /* mean over the routings of max_e L_e / (kT/E) */
    double avg_residual;   /* mean over the routings of the balance residual */
} alflb_info;

void alflb_settings_default(alflb_settings *s);
int alflb_check_settings(const alflb_settings *s, sv_err *e);
/* Errors at "/problem/scores/<t>/<e>", "/problem/k", "/problem/capacity". Allocates nothing. */
int alflb_check_problem(const alflb_problem *p, sv_err *e);

/* Runs ALF-LB from bias (E values, may be NULL: start at 0; capacitated starts are clipped to
 * <= 0) and writes the final biases back there. load (E longs) and assign (T k ints: token t's
 * experts at t k.., in decreasing s + b) may be NULL. The residual is max_e |L_e - c_e| without
 * capacity; with it, max_e of (L_e - c)^+ and, where b_e < 0, (c - L_e): 0 certifies that the
 * routing is an optimal vertex of the LP (feasible and complementary). Solved when residual
 * <= tol. The outputs describe the last completed routing and the biases that produced it.
 * Ties go to the lower expert index. Online, never solved: it routes max_iter + 1 batches (or
 * stops at the time limit or a cancel). Returns SV_OK, SV_EINVAL or SV_ENOMEM. */
int alflb_solve(const alflb_problem *p, const alflb_settings *s, const sv_monitor *mon,
                double *bias, long *load, int *assign, alflb_info *info, sv_err *e);

#endif
