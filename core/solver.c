/* solver.c - the small shared pieces of the solver contract: error and status text, validation
 * failures, the progress monitor and the clock. */
/* clock_gettime is POSIX; the build defines this too, the guard keeps stand-alone builds working. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "core/solver.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *sv_error_message(int code)
{
    switch (code) {
    case SV_OK: return "success";
    case SV_EINVAL: return "invalid problem or settings";
    case SV_ENOMEM: return "out of memory";
    case SV_ENUMERIC: return "unrecoverable numerical failure";
    case SV_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}

const char *sv_status_name(sv_status status)
{
    switch (status) {
    case SV_UNSOLVED: return "unsolved";
    case SV_SOLVED: return "solved";
    case SV_MAX_ITER: return "max_iter";
    case SV_TIME_LIMIT: return "time_limit";
    case SV_CANCELLED: return "cancelled";
    case SV_DIVERGED: return "diverged";
    case SV_INFEASIBLE: return "infeasible";
    case SV_STALLED: return "stalled";
    }
    return "unknown";
}

int sv_fail(sv_err *e, const char *field, const char *fmt, ...)
{
    if (e) {
        /* snprintf truncates safely; a too-long path is still better than none. */
        snprintf(e->field, sizeof e->field, "%s", field ? field : "");
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->msg, sizeof e->msg, fmt, ap);
            va_end(ap);
        } else {
            e->msg[0] = '\0';
        }
    }
    return SV_EINVAL;
}

int sv_monitor_report(const sv_monitor *m, const sv_progress *p)
{
    if (!m || !m->fn || !p)
        return 0;
    return m->fn(p, m->data) != 0;
}

int sv_monitor_poll(const sv_monitor *m)
{
    if (!m || !m->poll)
        return 0;
    return m->poll(m->data) != 0;
}

double sv_now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
