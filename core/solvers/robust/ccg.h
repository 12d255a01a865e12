/* ccg.h - two-stage robust optimization by column-and-constraint generation (Zeng & Zhao 2013),
 * the exact loop that Neur2RO (Dumouchelle, Julien, Kurtz, Khalil, ICLR 2024) embeds a learned
 * value function into. Solves
 *     min_{x in X} max_{xi in U} min_{y in Y(x, xi)} q(xi)^T (x, y)
 * with binary first-stage x (plus a continuous loan), binary second-stage y (plus a continuous
 * late loan) and U the vertices of a budgeted box: xi_j in {lo_j, hi_j}, at most Gamma of them
 * at hi. Two benchmark classes: the two-stage robust knapsack of Arslan & Detienne and the
 * capital budgeting problem of Subramanyam et al. The master MILP (x and one recourse copy y^l
 * per identified scenario), the second-stage MILPs and the adversary's MILP are solved by GLPK. */
#ifndef SV_CCG_H
#define SV_CCG_H

#include "core/control.h"
#include "core/params.h"

typedef enum { CCG_KNAPSACK = 0, CCG_CAPITAL = 1 } ccg_class;

/* How the adversary finds the worst scenario for the master's x. */
typedef enum {
    CCG_ADV_AUTO = 0,       /* enumerate when U has at most max_vertices points, else cuts */
    CCG_ADV_ENUMERATE = 1,  /* a second-stage MILP at every vertex of U */
    CCG_ADV_CUTS = 2        /* max z s.t. z <= q(xi)^T (x, y^j) over generated recourses y^j,
                               xi in U (a MILP over the budget set): exact when only the
                               objective is uncertain (the knapsack) */
} ccg_adversary;

#define CCG_DEFAULT_TOL 1e-6
#define CCG_DEFAULT_MAX_ITER 500L
#define CCG_DEFAULT_REPORT_EVERY 1L
#define CCG_DEFAULT_MAX_VERTICES 512
/* Items / projects an instance may have (a scenario's rows are stored dense). */
#define CCG_MAX_ITEMS 1000
/* Scenarios the master can hold (max_iter is capped by it). */
#define CCG_MAX_SCENARIOS 10000L

typedef struct {
    int adversary;      /* ccg_adversary */
    int max_vertices;   /* auto: enumerate up to this many vertices */
    int report_steps;   /* also report after each master solve and adversary round */
    sv_control ctl;     /* tol: relative gap (UB - LB) / max(1, |UB|); max_iter: CCG
                           iterations (one master, one adversary each) */
} ccg_settings;

extern const sv_param_spec ccg_params[];

/* An instance of one of the two classes. Arrays of n (phi, psi: n x d, row-major). */
typedef struct {
    int cls;            /* ccg_class */
    int n;              /* items / projects */
    /* knapsack: x_i produce item i (profit p_bar_i, rejection penalty f_i if not kept); after
     * xi in {0,1}^n with sum xi <= gamma, keep y_i <= x_i (weight c_i) and repair r_i <= y_i
     * (weight t_i) within capacity C; a kept item not repaired loses p_hat_i xi_i. Minimises
     * the negative profit (f - p_bar) x + (p_hat xi - f) y - p_hat xi r. */
    const double *p_bar, *p_hat, *c, *t, *f;
    double C;
    int gamma;
    /* capital budgeting: xi in {-1,1}^d; cost_i = (1 + phi_i xi / 2) c_bar_i, profit
     * rev_i = (1 + psi_i xi / 2) r_bar_i; invest now (x_i) or later (y_i, profit k rev_i),
     * x_i + y_i <= 1, cost (x + y) <= budget (+ loans x0 + y0 at rates l and l m, each in
     * [0, max_loan], and then also cost x <= budget + x0). Minimises -rev (x + k y) + l x0 +
     * l m y0. */
    int d;
    const double *c_bar, *r_bar, *phi, *psi;
    double budget, k;
    int loans;
    double l, m, max_loan;
} ccg_problem;

typedef struct {
    sv_info base;       /* obj = UB, res = gap, iter = CCG iterations */
    double lower_bound; /* the best master value */
    double upper_bound; /* the incumbent's worst-case value */
    double gap;
    int adversary;      /* the adversary used (auto resolved) */
    double vertices;    /* |U| */
    long subproblems;   /* second-stage MILPs solved */
    long adversary_rounds;  /* cut rounds (cuts adversary) */
    int n_first, d;     /* lengths of x and of a scenario */
    int n_scenarios;    /* scenarios in the master */
    double *x;          /* n_first: the incumbent (binaries, then the loan); owned */
    double *worst;      /* d: the incumbent's worst scenario; owned */
    double *scenarios;  /* n_scenarios x d, in the order added (the first is nominal); owned */
} ccg_info;

void ccg_settings_default(ccg_settings *s);
int ccg_check_settings(const ccg_settings *s, sv_err *e);
/* The instance's checks; errors name "/problem/<member>". */
int ccg_check_problem(const ccg_problem *p, sv_err *e);

/* Runs CCG. info's arrays are allocated here (ccg_info_free releases them, also after a
 * failure). Returns SV_OK (info->base.status says how it ended: solved, max_iter, time_limit,
 * cancelled, infeasible), SV_EINVAL (e names the field), SV_ENOMEM or SV_ENUMERIC (GLPK failed). */
int ccg_solve(const ccg_problem *p, const ccg_settings *s, const sv_monitor *mon, ccg_info *info,
              sv_err *e);

void ccg_info_free(ccg_info *info);

/* The vertex count of U (sum_{k <= gamma} C(d, k)), as a double. */
double ccg_vertex_count(int d, int gamma);

#endif
