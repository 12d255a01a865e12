/* jobjson.c - stored job rows to API JSON. */
#include "api/jobjson.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void sv_format_time(double t, char *buf, size_t n)
{
    if (t <= 0) {
        buf[0] = 0;
        return;
    }
    time_t s = (time_t)t;
    int ms = (int)((t - (double)s) * 1000.0);
    if (ms > 999)
        ms = 999;
    if (ms < 0)
        ms = 0;
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (k == 0) {
        if (n)
            buf[0] = 0;
        return;
    }
    snprintf(buf + k, n - k, ".%03dZ", ms);
}

static json_t *time_or_null(double t)
{
    char buf[40];
    sv_format_time(t, buf, sizeof buf);
    return buf[0] ? json_string(buf) : json_null();
}

/* Parses a stored JSON column, or null when absent or (should never happen) unreadable. */
static json_t *column(const char *text)
{
    if (!text)
        return json_null();
    json_t *v = json_loads(text, 0, NULL);
    return v ? v : json_null();
}

json_t *sv_job_to_json(const sv_job *j, int detail)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "solver", json_string(j->solver));
    json_object_set_new(o, "status", json_string(sv_job_state_name(j->state)));
    json_object_set_new(o, "priority", json_integer(j->priority));
    json_object_set_new(o, "tags", j->tags ? column(j->tags) : json_array());
    json_object_set_new(o, "attempts", json_integer(j->attempts));
    /* Which node runs it, on a store several nodes share (scale-out.md); "local" on SQLite. */
    if (j->state == SV_JOB_RUNNING && j->node[0])
        json_object_set_new(o, "node", json_string(j->node));
    json_object_set_new(o, "time_limit_s", j->time_limit_s > 0 ? json_real(j->time_limit_s)
                                                                : json_null());
    json_object_set_new(o, "created_at", time_or_null(j->created_at));
    json_object_set_new(o, "started_at", time_or_null(j->started_at));
    json_object_set_new(o, "finished_at", time_or_null(j->finished_at));
    json_t *timings = json_object();
    if (j->started_at > 0)
        json_object_set_new(timings, "queued_s", json_real(j->started_at - j->created_at));
    if (j->finished_at > 0 && j->started_at > 0)
        json_object_set_new(timings, "run_s", json_real(j->finished_at - j->started_at));
    json_object_set_new(o, "timings", timings);
    json_object_set_new(o, "progress", column(j->progress));
    json_object_set_new(o, "result", column(j->summary));
    json_object_set_new(o, "error", column(j->error));
    if (detail) {
        json_t *params = column(j->params);
        json_object_set_new(o, "params", json_is_object(params) ? params : json_object());
        if (!json_is_object(params))
            json_decref(params);
        char buf[200];
        json_t *links = json_object();
        snprintf(buf, sizeof buf, "/v1/jobs/%s/result", j->id);
        json_object_set_new(links, "result", json_string(buf));
        snprintf(buf, sizeof buf, "/v1/jobs/%s/events", j->id);
        json_object_set_new(links, "events", json_string(buf));
        snprintf(buf, sizeof buf, "/v1/jobs/%s/cancel", j->id);
        json_object_set_new(links, "cancel", json_string(buf));
        json_object_set_new(o, "links", links);
    }
    return o;
}
