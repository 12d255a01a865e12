/* mck.h - budgeted allocation as a multiple-choice knapsack (MCK), solved exactly by dynamic
 * programming over the budget. Each of n groups (tasks, layers) offers options j with an integer
 * cost c_ij >= 0 (in units of a cost grid) and a value v_ij; exactly one option is chosen per
 * group so that the total value is largest with total cost <= B. A 0/1 knapsack is the case of
 * two options per group (leave: cost 0, value 0; take). The forms used by Knapsack RL
 * (exploration budget across tasks) and by layer-adaptive pruning (Xu et al., sparsity per layer
 * under a global ratio, value = -distortion) are built by the codec. */
#ifndef SV_MCK_H
#define SV_MCK_H

#include <stdint.h>
#include "core/control.h"
#include "core/params.h"

#define MCK_DEFAULT_MAX_BUDGET 2000000L      /* budget cells after the reduction below */
#define MCK_DEFAULT_MAX_CELLS 100000000L     /* n (B + 1) entries of the choice table */
#define MCK_MAX_OPTIONS 65535                /* options of one group (the table holds uint16) */
#define MCK_DEFAULT_REPORT_EVERY 1L

typedef struct {
    long max_budget;  /* largest effective budget B' = min(B, sum_i max_j c_ij) accepted */
    long max_cells;   /* largest n (B' + 1) accepted (the choice table, 2 bytes a cell) */
    int simd;         /* 1: AVX2 tiles where the CPU has them; 0: scalar (same result) */
    sv_control ctl;   /* tol: unused (exact); max_iter: groups processed; report_every: groups */
} mck_settings;

extern const sv_param_spec mck_params[];

typedef struct {
    int n;                /* groups >= 1 */
    const int *ptr;       /* n + 1 offsets: group i's options are ptr[i] .. ptr[i+1]-1 */
    const long *cost;     /* ptr[n] integer costs >= 0 (grid units) */
    const double *value;  /* ptr[n] finite values */
    long budget;          /* B >= 0, grid units */
} mck_problem;

typedef struct {
    sv_info base;         /* base.obj = f_k(B'): the best value of the first k = base.iter
                           * groups within the budget (the answer when solved); base.res = 0
                           * when solved, else NaN */
    double value;         /* total value of the choice (NaN unless solved) */
    long cost;            /* total cost of the choice */
    long min_cost;        /* sum_i min_j c_ij: the cheapest choice (status infeasible when > B) */
    long budget_used;     /* B' = min(B, sum_i max_j c_ij): the DP's budget axis */
} mck_info;

void mck_settings_default(mck_settings *s);
/* The table's checks; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int mck_check_settings(const mck_settings *s, sv_err *e);

/* Checks the problem (errors at "/problem/groups/<i>/<j>/cost" etc.) and the budget against the
 * settings' limits, allocating nothing. */
int mck_check_problem(const mck_problem *p, const mck_settings *s, sv_err *e);

/* Solves p exactly. choice (n ints, may be NULL) receives the chosen option of each group,
 * indexed within the group. When the cheapest choice exceeds the budget the call returns SV_OK
 * with status SV_INFEASIBLE (iter 0, nothing allocated, choice untouched). A run stopped early
 * (max_iter, time limit, cancel) leaves choice untouched and value NaN. Ties between options of
 * equal value keep the lowest index. Returns SV_OK, SV_EINVAL (e names the field) or
 * SV_ENOMEM. */
int mck_solve(const mck_problem *p, const mck_settings *s, const sv_monitor *mon, int *choice,
              mck_info *info, sv_err *e);

#endif
