/* ccg_gen.h - seeded instances of the two benchmark classes of robust.ccg (core/solvers/robust/
 * ccg.h), drawn as Neur2RO's generators draw them (khalil-research/Neur2RO, ro/two_ro/kp.py and
 * ro/two_ro/cb.py), with the parameter table of the "generate" form:
 *
 * knapsack (Arslan & Detienne): weights c ~ U[1, R], capacity C = h/(H+1) sum c; nominal profits
 *   p_bar by correlation (UN: U[1, R]; WC: U[c - R/20, c + R/20]; ASC: U[c + R/10 - R/1000,
 *   c + R/10 + R/1000]; SC: c + R/10); degradations p_hat = p_bar U[(1-delta)/2, (1+delta)/2];
 *   rejection penalties f = p_bar U[1.1, 1.5]; repair weights t (UN: U[1, c]; WC: U[p_hat/2 -
 *   R/40, p_hat/2 + R/40]; ASC: U[p_hat/2 + c/10 - R/1000, ... + R/1000]; SC: p_hat/2 + c/10);
 *   budget Gamma = max(1, round(budget_factor n)).
 * capital budgeting (Subramanyam, Gounaris, Wiesemann): costs c_bar ~ U[1, 10], profits r_bar =
 *   c_bar/5, budget B = sum c_bar / 2, max loan 1.5 sum c_bar - B; each project's factor loadings
 *   phi_i, psi_i are the gaps of d-1 sorted U[0,1] draws (a point of the unit simplex).
 * One xoshiro256** stream seeded with seed draws the arrays in the order listed (item by item
 * within an array). */
#ifndef SV_CCG_GEN_H
#define SV_CCG_GEN_H

#include <stdint.h>
#include "core/params.h"
#include "core/solvers/robust/ccg.h"

typedef enum { CCG_GEN_KNAPSACK = 0, CCG_GEN_CAPITAL = 1 } ccg_gen_class;
typedef enum { CCG_CORR_UN = 0, CCG_CORR_WC, CCG_CORR_ASC, CCG_CORR_SC } ccg_gen_corr;

typedef struct {
    int cls;               /* ccg_gen_class */
    int items;             /* n >= 1 */
    uint64_t seed;
    /* knapsack */
    int correlation;       /* ccg_gen_corr */
    double h;              /* capacity C = h / (H + 1) sum c */
    double H;
    double R;              /* weight range */
    double delta;          /* degradation spread */
    double budget_factor;  /* Gamma = max(1, round(budget_factor n)) */
    /* capital budgeting */
    int xi_dim;            /* risk factors d */
    double k;              /* late-investment profit factor */
    int loans;             /* 0/1 */
    double l;              /* loan rate */
    double m;              /* late-loan rate factor */
} ccg_gen_spec;

#define CCG_GEN_MAX_ITEMS 200
#define CCG_GEN_MAX_XI_DIM 10

extern const sv_param_spec ccg_gen_params[];

/* The table's checks ("/problem/generate/<field>"). */
int ccg_gen_check(const ccg_gen_spec *spec, sv_err *e);

/* Owns an instance's arrays; prob points into them. */
typedef struct {
    ccg_problem prob;
    double *buf;
} ccg_data;

/* Allocates the arrays of a knapsack (n items) or capital budgeting (n projects, d factors)
 * instance; prob's pointers set, values for the caller. SV_OK or SV_ENOMEM. */
int ccg_data_alloc(ccg_data *out, int cls, int n, int d);

int ccg_generate(const ccg_gen_spec *spec, ccg_data *out, sv_err *e);

void ccg_data_free(ccg_data *d);

#endif
