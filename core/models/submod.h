/* submod.h - the monotone submodular functions of the submodular family, behind one small
 * oracle: a state (one double per universe item or customer) describes a set X, and the module
 * answers the marginal gain f(X + e) - f(X) of an element and adds an element to the state.
 * Two functions:
 *   coverage:  f(X) = sum of w_u over the items u covered by the sets of X (w_u = 1 unless
 *              weights are given); state: how many chosen sets cover each item;
 *   facility:  f(X) = sum over customers c of max_{e in X} s(e, c), s >= 0 (facility location /
 *              exemplar clustering, f(empty) = 0); state: each customer's best similarity.
 * The solvers count oracle queries themselves (one per gain asked); the module only computes. */
#ifndef SV_SUBMOD_H
#define SV_SUBMOD_H

#include "core/solver.h"

typedef enum { SV_SUBMOD_COVERAGE = 0, SV_SUBMOD_FACILITY = 1 } sv_submod_kind;

typedef struct {
    int kind;              /* sv_submod_kind */
    int n;                 /* ground set elements 0..n-1 */
    int universe;          /* coverage: items; facility: customers (the state's length) */
    const int *ptr;        /* coverage: n + 1 offsets into items */
    const int *items;      /* coverage: each set's items, strictly increasing, in [0, universe) */
    const double *weights; /* coverage: universe weights >= 0, or NULL (all 1) */
    const double *sim;     /* facility: n x universe, row e = s(e, .), finite, >= 0 */
} sv_submod_fn;

/* Checks sizes, indices, weights and similarities; errors name path (e.g. "/problem"). */
int sv_submod_check(const sv_submod_fn *f, const char *path, sv_err *e);

/* The state of the empty set. */
void sv_submod_clear(const sv_submod_fn *f, double *st);

/* f(X + e) - f(X) for the set X of state st. */
double sv_submod_gain(const sv_submod_fn *f, const double *st, int e);

/* st <- the state of X + e. */
void sv_submod_add(const sv_submod_fn *f, double *st, int e);

/* 1 when a state can be taken back by sv_submod_remove (coverage), 0 when it must be rebuilt
 * from the set (facility: a maximum forgets the runner-up). */
int sv_submod_removable(const sv_submod_fn *f);

/* Coverage only: st <- the state of X - e for e in X; returns f(X) - f(X - e). */
double sv_submod_remove(const sv_submod_fn *f, double *st, int e);

#endif
