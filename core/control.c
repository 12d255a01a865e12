/* control.c - the shared stop logic of the solvers (see control.h). */
#include "core/control.h"

#include <math.h>
#include <string.h>

void sv_info_init(sv_info *info)
{
    if (!info)
        return;
    info->status = SV_UNSOLVED;
    info->iter = 0;
    info->obj = NAN;
    info->res = NAN;
    info->solve_time_s = 0.0;
}

void sv_loop_begin(sv_loop *L, const sv_control *ctl, const sv_monitor *mon,
                   sv_metrics_fn metrics, void *ctx)
{
    memset(L, 0, sizeof *L);
    L->ctl = ctl;
    L->mon = mon;
    L->metrics = metrics;
    L->ctx = ctx;
    L->t0 = sv_now_s();
    L->last_report = -1;
    L->status = SV_UNSOLVED;
}

double sv_loop_elapsed(const sv_loop *L)
{
    return sv_now_s() - L->t0;
}

int sv_loop_stopped(const sv_loop *L)
{
    return L && L->status != SV_UNSOLVED;
}

int sv_loop_report(sv_loop *L, long iter, double obj)
{
    sv_metric m[SV_LOOP_MAX_METRICS];
    int n = L->metrics ? L->metrics(L->ctx, m, SV_LOOP_MAX_METRICS) : 0;
    if (n < 0)
        n = 0;
    if (n > SV_LOOP_MAX_METRICS)
        n = SV_LOOP_MAX_METRICS;
    sv_progress p = {iter, sv_loop_elapsed(L), obj, m, n};
    L->last_report = iter;
    if (sv_monitor_report(L->mon, &p)) {
        if (L->status == SV_UNSOLVED)
            L->status = SV_CANCELLED;
        return 1;
    }
    return 0;
}

int sv_loop_poll(sv_loop *L)
{
    if (!L)
        return 0;
    if (L->status != SV_UNSOLVED)
        return 1;
    if (L->ctl && L->ctl->time_limit_s > 0 && sv_loop_elapsed(L) >= L->ctl->time_limit_s) {
        L->status = SV_TIME_LIMIT;
        return 1;
    }
    if (sv_monitor_poll(L->mon)) {
        L->status = SV_CANCELLED;
        return 1;
    }
    return 0;
}

int sv_loop_check(sv_loop *L, long iter, double obj, int diverged, int solved)
{
    if (L->status != SV_UNSOLVED)
        return 1;
    if (diverged) {
        L->status = SV_DIVERGED;
        return 1;
    }
    if (solved) {
        L->status = SV_SOLVED;
        return 1;
    }
    long every = L->ctl && L->ctl->report_every > 0 ? L->ctl->report_every : 1;
    if (iter % every == 0 && sv_loop_report(L, iter, obj))
        return 1;
    if (L->ctl && iter >= L->ctl->max_iter) {
        L->status = SV_MAX_ITER;
        return 1;
    }
    return sv_loop_poll(L);
}

void sv_loop_end(sv_loop *L, sv_info *info, long iter, double obj, double res)
{
    if (L->status == SV_UNSOLVED)
        L->status = SV_MAX_ITER;
    info->status = L->status;
    info->iter = iter;
    info->obj = obj;
    info->res = res;
    info->solve_time_s = sv_loop_elapsed(L);
    if (L->last_report != iter) {
        /* The solve has ended either way: a stop request now changes nothing. */
        sv_status keep = L->status;
        sv_loop_report(L, iter, obj);
        L->status = keep;
    }
}

int sv_loop_fail(sv_loop *L, sv_info *info, long iter, int rc)
{
    info->status = SV_UNSOLVED;
    info->iter = iter;
    info->solve_time_s = sv_loop_elapsed(L);
    return rc;
}
