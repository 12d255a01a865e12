/* solver.h - the contract every solver in core/solvers/ follows.
 *
 * Two kinds of outcome, never mixed (as in OSQP and SCS): a solver entry point returns SV_OK or a
 * negative SV_E* code saying the *call* failed (bad input, no memory); how the *solve* ended is
 * info->status. Progress goes through a monitor callback whose non-zero return asks the solver to
 * stop; solvers neither print nor install signal handlers nor keep globals. */
#ifndef SV_SOLVER_H
#define SV_SOLVER_H

#include <stddef.h>
#include <stdint.h>

/* ---- return codes: did the call fail? ---- */
enum {
    SV_OK = 0,
    SV_EINVAL = -1,    /* invalid problem or settings; sv_err names the field */
    SV_ENOMEM = -2,    /* allocation failed */
    SV_ENUMERIC = -3,  /* numerical failure the solver cannot recover from (e.g. factorization) */
    SV_EINTERNAL = -4  /* a bug: should not happen */
};

/* Text for an SV_E* code; never NULL. */
const char *sv_error_message(int code);

/* ---- how a solve ended ---- */
typedef enum {
    SV_UNSOLVED = 0,   /* not run, or failed before the first iteration */
    SV_SOLVED,         /* stopping criterion met */
    SV_MAX_ITER,       /* iteration limit reached */
    SV_TIME_LIMIT,     /* the solver's own time limit (settings.time_limit_s) */
    SV_CANCELLED,      /* the monitor asked to stop */
    SV_DIVERGED,       /* iterates or objective became non-finite or blew up */
    SV_INFEASIBLE,     /* the problem has no feasible point (where a solver can tell) */
    SV_STALLED         /* no further step can be made or certified at the accuracy floor the
                          solver documents; the iterate is its best, but tol was not met */
} sv_status;

/* Lower-case name of a status ("solved", "max_iter", ...); never NULL. */
const char *sv_status_name(sv_status status);

/* Common part of every solver's info struct; solvers embed it as their first member `base`. */
typedef struct {
    sv_status status;
    long iter;            /* iterations done */
    double obj;           /* final objective (the solver's own notion; documented per solver) */
    double res;           /* final main residual (gradient norm, KKT residual, ...) */
    double solve_time_s;  /* wall time of the solve, seconds */
} sv_info;

/* ---- validation errors ---- */
/* Filled by a solver or a codec when it returns SV_EINVAL: `field` is a JSON-pointer-like path
 * relative to the job ("/params/gamma", "/problem/A/3"), `msg` says what is wrong. */
typedef struct {
    char field[128];
    char msg[512];
} sv_err;

/* Sets e (if non-NULL) and returns SV_EINVAL, so validation reads `return sv_fail(e, ...)`. */
int sv_fail(sv_err *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- progress monitor ---- */
typedef struct {
    const char *name;   /* short snake_case name, e.g. "grad_norm", "bits_sent" */
    double value;
} sv_metric;

typedef struct {
    long iter;
    double elapsed_s;          /* since the start of the solve */
    double obj;
    const sv_metric *metrics;  /* n_metrics named values, valid only during the call */
    int n_metrics;
} sv_progress;

/* Called on the solver's thread. Return 0 to continue, non-zero to ask the solver to stop (it then
 * ends with status SV_CANCELLED at this iteration). */
typedef int (*sv_monitor_fn)(const sv_progress *p, void *data);

/* Called on the solver's thread between reports, as often as every iteration and inside long
 * inner loops: it must be cheap (an atomic load and a clock read). Non-zero asks the solver to
 * stop (SV_CANCELLED), so that a cancel or a job time limit holds by the wall clock whatever
 * report_every is. */
typedef int (*sv_poll_fn)(void *data);

typedef struct {
    sv_monitor_fn fn;
    void *data;     /* passed to fn and poll */
    sv_poll_fn poll;  /* may be NULL */
} sv_monitor;

/* Reports p to m (m or m->fn may be NULL: then it only returns 0). Returns non-zero if the
 * solver must stop. */
int sv_monitor_report(const sv_monitor *m, const sv_progress *p);

/* m->poll(m->data), or 0 when there is none. */
int sv_monitor_poll(const sv_monitor *m);

/* Monotonic clock in seconds. */
double sv_now_s(void);

#endif
