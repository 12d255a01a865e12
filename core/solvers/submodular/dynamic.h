/* dynamic.h - fully dynamic monotone submodular maximisation under a cardinality constraint k:
 * a stream of insertions and deletions of ground-set elements, and after every update a set of
 * at most k alive elements of value >= (1/2 - eps) OPT (in expectation over the solver's
 * coins), kept by a leveled threshold-sampling structure per guess of OPT that rebuilds a level
 * only after eps |R_level| updates have touched it, so that updates cost polylogarithmically
 * many oracle queries amortised. Paper: Banihashem, Biabani, Goudarzi, Hajiaghayi, Jabbarzade,
 * Monemizadeh, "Dynamic Constrained Submodular Optimization with Polylogarithmic Update Time",
 * ICML 2023. The baseline "lazy_greedy" recomputes lazy greedy from scratch after each update. */
#ifndef SV_DYNAMIC_H
#define SV_DYNAMIC_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/submod.h"
#include "core/params.h"

typedef enum { DYNAMIC_ALG_DYNAMIC = 0, DYNAMIC_ALG_LAZY_GREEDY = 1 } dynamic_alg;
typedef enum { DYNAMIC_INSERT = 0, DYNAMIC_DELETE = 1 } dynamic_op;

#define DYNAMIC_DEFAULT_EPS 0.1
#define DYNAMIC_DEFAULT_MAX_ITER 1000000000L
#define DYNAMIC_DEFAULT_REPORT_EVERY 1L

typedef struct {
    int algorithm;     /* dynamic_alg */
    double eps;        /* accuracy: OPT grid (1+eps)^j, level shrink 1-eps, rebuild after eps|R| */
    uint64_t seed;     /* the sampling coins */
    sv_control ctl;    /* max_iter: updates processed; tol: unused */
} dynamic_settings;

extern const sv_param_spec dynamic_params[];

typedef struct {
    int op;       /* dynamic_op */
    int element;  /* in [0, n) */
} dynamic_update;

typedef struct {
    const sv_submod_fn *fn;
    int k;                          /* cardinality, >= 1 */
    long n_updates;
    const dynamic_update *updates;  /* an insert of an alive element or a delete of a dead one
                                     * is refused at /problem/stream/<i> */
} dynamic_problem;

typedef struct {
    sv_info base;            /* obj = value of the solution after the last update; iter = updates */
    double value;            /* the same */
    int size;                /* solution size */
    int alive;               /* alive elements at the end */
    long queries;            /* oracle queries (marginal gains and singletons) over the run */
    long max_update_queries; /* most queries one update cost */
    long rebuilds;           /* level rebuilds (dynamic) */
    int guesses;             /* active OPT guesses at the end (dynamic) */
    double tau;              /* threshold of the guess that gave the solution (dynamic), or NaN */
} dynamic_info;

void dynamic_settings_default(dynamic_settings *s);
int dynamic_check_settings(const dynamic_settings *s, sv_err *e);
/* The function, k and the stream's consistency; errors at /problem/... */
int dynamic_check_problem(const dynamic_problem *p, sv_err *e);

/* Processes the stream. solution (capacity k) receives the final solution, *size its size via
 * info; trace_value / trace_queries (n_updates each, may be NULL) receive the value after and
 * the queries of each update processed. Returns SV_OK (info->base.status: solved when the whole
 * stream was processed), SV_EINVAL or SV_ENOMEM. */
int dynamic_solve(const dynamic_problem *p, const dynamic_settings *s, const sv_monitor *mon,
                  int *solution, double *trace_value, long *trace_queries, dynamic_info *info,
                  sv_err *e);

#endif
