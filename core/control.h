/* control.h - the stop logic every solver shares: a control block of the four settings that end
 * a solve (tol, max_iter, time_limit_s, report_every), their parameter-table entries, and the
 * loop helpers that apply them in one order, so that no solver spells the order again:
 *
 *     sv_loop L;
 *     sv_loop_begin(&L, &s->ctl, mon, metrics_fn, &ctx);
 *     for (k = 0;; k++) {
 *         ... compute obj, res at the current iterate ...
 *         if (sv_loop_check(&L, k, obj, !isfinite(obj), res <= s->ctl.tol))
 *             break;
 *         ... one iteration; long inner loops call sv_loop_poll(&L) and leave when it is 1 ...
 *     }
 *     sv_loop_end(&L, &info->base, k, obj, res);
 *
 * sv_loop_check decides, in this order: diverged -> solved -> report (every report_every
 * iterations; a non-zero monitor answer ends the solve cancelled) -> max_iter -> the solver's
 * own time limit -> the monitor's poll (cancel, the job's time limit). The poll and the clock
 * are read at every check, so a stop request and a time limit hold by the wall clock whatever
 * report_every is. sv_loop_end sends the final report (unless that iteration was reported) and
 * fills the info struct; sv_loop_fail is the one failure exit after set-up. */
#ifndef SV_CONTROL_H
#define SV_CONTROL_H

#include "core/params.h"
#include "core/solver.h"

typedef struct {
    double tol;           /* the solver's stopping tolerance (its meaning is the solver's) */
    long max_iter;        /* iteration limit */
    double time_limit_s;  /* the solver's own wall-clock limit, seconds; 0: none */
    long report_every;    /* progress report every this many iterations (and first and last) */
} sv_control;

/* The four parameter-table entries of a control block that is member `m` of settings type T,
 * with the solver's defaults and the meaning of its tolerance. Ranges: tol >= 0, max_iter in
 * [0, 1e9], time_limit_s >= 0, report_every in [1, 1e9]. */
#define SV_CONTROL_PARAMS(T, m, tol_def, tol_help, max_iter_def, report_every_def)             \
    {.name = "tol", .type = SV_PARAM_NUMBER, .offset = offsetof(T, m.tol), .min = 0,           \
     .max = INFINITY, .def = (tol_def), .help = (tol_help)},                                   \
    {.name = "max_iter", .type = SV_PARAM_INT, .offset = offsetof(T, m.max_iter), .min = 0,    \
     .max = 1e9, .def = (max_iter_def), .help = "iteration limit"},                            \
    {.name = "time_limit_s", .type = SV_PARAM_NUMBER, .offset = offsetof(T, m.time_limit_s),   \
     .min = 0, .max = INFINITY, .def = 0,                                                      \
     .help = "wall-clock limit of the solve in seconds; 0: none"},                             \
    {.name = "report_every", .type = SV_PARAM_INT, .offset = offsetof(T, m.report_every),      \
     .min = 1, .max = 1e9, .def = (report_every_def),                                          \
     .help = "progress report every this many iterations"}

/* Most metrics a report may carry. */
#define SV_LOOP_MAX_METRICS 24

/* Fills up to cap named metrics for a report of the current state; returns how many. It may
 * call sv_loop_poll and return early when that says stop (the report is then still sent). */
typedef int (*sv_metrics_fn)(void *ctx, sv_metric *m, int cap);

typedef struct {
    const sv_control *ctl;
    const sv_monitor *mon;
    sv_metrics_fn metrics;  /* may be NULL: reports carry no metrics */
    void *ctx;
    double t0;              /* sv_now_s() at sv_loop_begin */
    long last_report;       /* iteration last reported, -1 before the first */
    sv_status status;       /* SV_UNSOLVED until the loop decides to end */
} sv_loop;

/* Marks info as not run: status SV_UNSOLVED, iter 0, obj and res NaN, solve_time_s 0. A solver
 * calls it first, so that every early return leaves info in a known state. */
void sv_info_init(sv_info *info);

/* Starts the clock. ctl must outlive the loop; mon may be NULL. */
void sv_loop_begin(sv_loop *L, const sv_control *ctl, const sv_monitor *mon,
                   sv_metrics_fn metrics, void *ctx);

/* The stop test at iteration iter (iterations done so far), with the objective to report and
 * whether the iterate diverged or meets the tolerance. Returns 1 when the loop must end
 * (L->status says why), else 0. */
int sv_loop_check(sv_loop *L, long iter, double obj, int diverged, int solved);

/* Sends a report of iteration iter now (outside the report_every rhythm, e.g. after a phase).
 * Returns 1 (status SV_CANCELLED) when the monitor asks to stop. */
int sv_loop_report(sv_loop *L, long iter, double obj);

/* The cheap stop test for inner loops: the solver's own time limit, then the monitor's poll.
 * Returns 1 and sets L->status (SV_TIME_LIMIT or SV_CANCELLED) when the solve must stop; once
 * it has said so it keeps saying so. L may be NULL (no loop: never stop), so that shared helpers
 * take an optional loop. */
int sv_loop_poll(sv_loop *L);

/* 1 once the loop has decided to end (a check or a poll said so); 0 for L NULL. */
int sv_loop_stopped(const sv_loop *L);

/* Seconds since sv_loop_begin. */
double sv_loop_elapsed(const sv_loop *L);

/* Ends the solve at iteration iter: info gets L->status (SV_MAX_ITER if the loop ended without
 * a decision), iter, obj, res and solve_time_s; the final report is sent unless iteration iter
 * was the last one reported. */
void sv_loop_end(sv_loop *L, sv_info *info, long iter, double obj, double res);

/* The one failure exit after set-up: info keeps SV_UNSOLVED, gets iter and solve_time_s, and
 * rc (an SV_E* code) is returned, so that a solver writes `return sv_loop_fail(&L, info, k,
 * SV_ENUMERIC)` after freeing its workspace. */
int sv_loop_fail(sv_loop *L, sv_info *info, long iter, int rc);

#endif
