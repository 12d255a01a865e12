/* glpk_run.h - GLPK calls that a stop request (cancel, time limit) can interrupt, and that an
 * internal GLPK error cannot take the daemon down with. GLPK has no cancel hook, but its
 * terminal output goes through one (glp_term_hook) at every progress line: each iteration of
 * the interior-point method, every few hundred simplex iterations, each branch-and-bound
 * report. sv_glpk_run runs a caller's function with that hook polling the solver's loop; when
 * the poll says stop, the hook raises a GLPK error, whose hook (glp_error_hook) jumps back into
 * sv_glpk_run, which frees GLPK's environment: GLPK's documented recovery. GLPK's own errors
 * (which would otherwise abort the process) come back the same way.
 *
 * After an interrupted or failed run every GLPK object this thread made is gone (the
 * environment holds them all): fn must keep none across the call, and the caller must not use
 * its problem objects afterwards. fn sets msg_lev to GLP_MSG_ON (or more) on the solvers it
 * calls, or the hook is never called; the text itself is swallowed. */
#ifndef SV_GLPK_RUN_H
#define SV_GLPK_RUN_H

#include "core/control.h"

typedef enum {
    SV_GLPK_DONE = 0,      /* fn returned; its value is in *ret */
    SV_GLPK_STOPPED = 1,   /* the loop said stop while GLPK ran (L->status says why) */
    SV_GLPK_FAILED = 2     /* GLPK raised an internal error */
} sv_glpk_outcome;

typedef int (*sv_glpk_fn)(void *ctx);

/* Runs fn(ctx) under the hooks above, polling L (NULL: never stops). ret (may be NULL) gets
 * fn's return value when the outcome is SV_GLPK_DONE. */
sv_glpk_outcome sv_glpk_run(sv_loop *L, sv_glpk_fn fn, void *ctx, int *ret);

#endif
