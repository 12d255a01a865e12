/* dadao.h - DADAO: decoupled accelerated decentralized asynchronous optimization. n agents on a
 * connected graph each hold a linear model f_i; every agent keeps six local vectors that follow
 * a linear ODE between events, and two independent families of Poisson clocks jump them: each
 * agent's gradient clock (rate 1: one local gradient) and each edge's communication clock (one
 * exchange between its two ends). The agents' iterates reach the minimiser of
 * f(x) = (1/n) sum_i f_i(x), each f_i a least-squares or logistic model with ridge
 * (core/models/glm.h). The continuous time is simulated exactly: the ODE is integrated in closed
 * form from an agent's last event to its next one. Paper: Nabli, Oyallon, "DADAO: Decoupled
 * Accelerated Decentralized Asynchronous Optimization", ICML 2023. */
#ifndef SV_DADAO_H
#define SV_DADAO_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/glm.h"
#include "core/models/graph.h"
#include "core/params.h"

#define DADAO_DEFAULT_RATE_FACTOR 1.0
#define DADAO_DEFAULT_TOL 1e-6
#define DADAO_DEFAULT_MAX_ITER 20000000L
#define DADAO_DEFAULT_REPORT_EVERY 1000L
/* The spectrum of the graph's Laplacian is a dense eigendecomposition (O(n^3)): at most this
 * many agents. */
#define DADAO_MAX_AGENTS 1000
/* The run counts as diverged once |grad f(xbar)| exceeds this multiple of its initial value. */
#define DADAO_DIVERGENCE_FACTOR 1e12

typedef struct {
    double rate_factor;  /* total communication rate = rate_factor x the paper's sufficient rate
                            sqrt(2 chi_1 chi_2) of the unit-rate uniform Laplacian; >= 1 keeps
                            the paper's condition 2 chi_1 chi_2 <= 1 */
    double mu;           /* strong convexity of every f_i; NaN: min_i of the exact constants */
    double smooth;       /* "smoothness": L of every f_i; NaN: max_i L_i */
    uint64_t seed;       /* the event clocks */
    sv_control ctl;      /* tol: see dadao_info / the doc page; max_iter: events (gradient and
                            communication together) */
} dadao_settings;

extern const sv_param_spec dadao_params[];

typedef struct {
    const sv_graph *graph;  /* connected, graph->n agents (<= DADAO_MAX_AGENTS) */
    const sv_glm *agents;   /* graph->n objectives over the same columns */
} dadao_problem;

typedef struct {
    sv_info base;          /* base.obj = f(xbar), base.res = |grad f(xbar)|, base.iter = events */
    double grad_norm;      /* |grad f(xbar)|, xbar the agents' average at the final time */
    double consensus;      /* sqrt((1/n) sum_i |x_i - xbar|^2) */
    double time;           /* the continuous time reached */
    long gradient_evals;   /* gradient events (one local gradient each; checks excluded) */
    long communications;   /* communication events (one edge exchange each) */
    double chi_1;          /* 1 / lambda_2(Lambda), Lambda the Laplacian weighted by edge rates */
    double chi_2;          /* (1/2) max_{ij in E} (e_i - e_j)' Lambda^+ (e_i - e_j) */
    double lambda_2;       /* algebraic connectivity of the unweighted graph Laplacian */
    double comm_rate;      /* total communication rate sum_{ij} lambda_ij */
    double mu, smooth;     /* the constants used */
} dadao_info;

void dadao_settings_default(dadao_settings *s);
/* The table's checks and mu <= smoothness when both are given; SV_OK or SV_EINVAL at
 * "/params/<name>". */
int dadao_check_settings(const dadao_settings *s, sv_err *e);

/* The Laplacian spectrum quantities of graph g (n <= DADAO_MAX_AGENTS) for total communication
 * rate `rate` spread uniformly over the edges (lambda_ij = rate / |E|): chi_1, chi_2 of
 * Lambda = (rate / |E|) (D - A), lambda_2 of D - A, and the paper's sufficient rate
 * sqrt(2 chi_1 chi_2) at unit rate into *min_rate (any output may be NULL). A graph of one
 * node gives zeros. SV_OK, SV_ENOMEM or SV_ENUMERIC (LAPACK failed). */
int dadao_graph_constants(const sv_graph *g, double rate, double *chi_1, double *chi_2,
                          double *lambda_2, double *min_rate);

/* The 6 x 6 matrix exp(tau M) of the DADAO flow between events (row-major; state order x,
 * x~, y, y~, z, z~) for constants mu, L, in closed form. For tests and the numpy peer. */
void dadao_flow_matrix(double mu, double smooth, double tau, double E[36]);

/* Runs DADAO from x0 (in: the start of every agent; out: the agents' average at the final
 * time; length d) until the tolerance, max_iter events, the time limit, a stop from mon, or
 * divergence. x_nodes (n x d row-major, may be NULL) receives every agent's x_i at the final
 * time. Validates everything before allocating. Returns SV_OK (info->base.status says how the
 * run ended), SV_EINVAL (e names the field), SV_ENOMEM or SV_ENUMERIC. */
int dadao_solve(const dadao_problem *p, const dadao_settings *s, const sv_monitor *mon,
                double *x, double *x_nodes, dadao_info *info, sv_err *e);

#endif
