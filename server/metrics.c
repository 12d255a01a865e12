/* metrics.c - Prometheus text exposition of the daemon's counters and gauges. Every `_sum` is
 * part of a summary with its `_count`; jobs are counted by solver and state (every registered
 * solver is listed, zeros included, so that rates exist before the first job). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/codec.h"
#include "core/solver.h"
#include "server/app.h"
#include "server/intake.h"

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} out_t;

static void outf(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(out_t *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)(n > 0 ? n : 0);
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->oom = 1;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
}

void sv_metrics_http(sv_metrics *m, unsigned status, double seconds)
{
    unsigned cls = status / 100;
    m->http_requests[(cls >= 1 && cls <= 5) ? cls - 1 : 5]++;
    m->http_seconds_sum += seconds;
}

/* The index of the codec in sv_codecs(), or -1: a pointer comparison, since every job holds
 * its codec from the registry. */
static int solver_index(const sv_codec *codec)
{
    const sv_codec *const *c = sv_codecs();
    for (int i = 0; codec && c[i] && i < SV_METRICS_MAX_SOLVERS; i++)
        if (c[i] == codec)
            return i;
    return -1;
}

void sv_metrics_job_finished(sv_metrics *m, const sv_codec *codec, int state)
{
    if (state < 0 || state >= SV_METRICS_STATES)
        return;
    m->jobs_finished[state]++;
    int i = solver_index(codec);
    if (i >= 0)
        m->jobs_finished_by_solver[i][state]++;
}

static void header(out_t *o, const char *name, const char *type, const char *help)
{
    outf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Queued and running jobs of each solver, from the live table. */
static void count_live(const sv_live *L, void *data)
{
    size_t(*counts)[2] = data;
    if (L->state != SV_JOB_QUEUED && L->state != SV_JOB_RUNNING)
        return;
    int i = solver_index(L->codec);
    if (i >= 0)
        counts[i][L->state == SV_JOB_RUNNING]++;
}

static void live_by_solver(const sv_app *app, size_t counts[SV_METRICS_MAX_SOLVERS][2])
{
    memset(counts, 0, sizeof(size_t) * SV_METRICS_MAX_SOLVERS * 2);
    sv_jobs_each(&app->jobs, count_live, counts);
}

char *sv_metrics_render(const sv_app *app, size_t *len)
{
    const sv_metrics *m = &app->metrics;
    out_t o = {malloc(4096), 0, 4096, 0};
    if (!o.buf)
        return NULL;
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    header(&o, "solvd_http_requests_total", "counter", "HTTP requests answered, by status class.");
    for (int i = 0; i < SV_METRICS_STATUS_CLASSES; i++)
        outf(&o, "solvd_http_requests_total{code=\"%s\"} %lu\n", classes[i], m->http_requests[i]);
    unsigned long answered = 0;
    for (int i = 0; i < SV_METRICS_STATUS_CLASSES; i++)
        answered += m->http_requests[i];
    header(&o, "solvd_http_request_seconds", "summary", "Time spent answering requests.");
    outf(&o, "solvd_http_request_seconds_sum %.6f\n", m->http_seconds_sum);
    outf(&o, "solvd_http_request_seconds_count %lu\n", answered);
    header(&o, "solvd_jobs_submitted_total", "counter", "Jobs accepted (durably stored).");
    outf(&o, "solvd_jobs_submitted_total %lu\n", m->jobs_submitted);
    const sv_codec *const *codecs = sv_codecs();
    header(&o, "solvd_jobs_finished_total", "counter",
           "Jobs that reached a final state, by solver and state.");
    for (int i = 0; codecs[i] && i < SV_METRICS_MAX_SOLVERS; i++)
        for (int s = SV_JOB_SUCCEEDED; s < SV_JOB_NSTATES; s++)
            outf(&o, "solvd_jobs_finished_total{solver=\"%s\",status=\"%s\"} %lu\n",
                 codecs[i]->name, sv_job_state_name((sv_job_state)s),
                 m->jobs_finished_by_solver[i][s]);
    size_t live[SV_METRICS_MAX_SOLVERS][2];
    live_by_solver(app, live);
    header(&o, "solvd_jobs", "gauge", "Jobs queued or running now, by solver and state.");
    for (int i = 0; codecs[i] && i < SV_METRICS_MAX_SOLVERS; i++)
        for (int s = 0; s < 2; s++)
            outf(&o, "solvd_jobs{solver=\"%s\",state=\"%s\"} %zu\n", codecs[i]->name,
                 s ? "running" : "queued", live[i][s]);
    header(&o, "solvd_jobs_queued", "gauge", "Jobs waiting for a worker.");
    outf(&o, "solvd_jobs_queued %zu\n", sv_jobs_queued(&app->jobs));
    header(&o, "solvd_jobs_running", "gauge", "Jobs on a worker now.");
    outf(&o, "solvd_jobs_running %d\n", sv_jobs_running(&app->jobs));
    header(&o, "solvd_workers", "gauge", "Solver worker threads.");
    outf(&o, "solvd_workers %d\n", app->pool.n);
    header(&o, "solvd_events_total", "counter", "Job events emitted (progress, status, result).");
    outf(&o, "solvd_events_total %lu\n", m->events);
    header(&o, "solvd_event_streams", "gauge", "Open Server-Sent Event streams.");
    outf(&o, "solvd_event_streams %d\n", app->n_subs);
    header(&o, "solvd_event_streams_dropped_total", "counter", "Streams dropped as too slow.");
    outf(&o, "solvd_event_streams_dropped_total %lu\n", m->sse_dropped);
    header(&o, "solvd_http_connections", "gauge", "Open HTTP connections.");
    outf(&o, "solvd_http_connections %lu\n", app->deadlines.open);
    header(&o, "solvd_http_deadline_closed_total", "counter",
           "Connections closed for sending their request too slowly, by the deadline missed.");
    outf(&o, "solvd_http_deadline_closed_total{phase=\"headers\"} %lu\n",
         app->deadlines.closed_headers);
    outf(&o, "solvd_http_deadline_closed_total{phase=\"body\"} %lu\n", app->deadlines.closed_body);
    header(&o, "solvd_store_batches_total", "counter", "Write transactions committed.");
    outf(&o, "solvd_store_batches_total %lu\n", m->store_batches);
    header(&o, "solvd_store_ops_total", "counter", "Writes carried by those transactions.");
    outf(&o, "solvd_store_ops_total %lu\n", m->store_ops);
    header(&o, "solvd_store_errors_total", "counter", "Writes that failed.");
    outf(&o, "solvd_store_errors_total %lu\n", m->store_errors);
    header(&o, "solvd_submissions_parsing_bytes", "gauge",
           "Bytes of job bodies being parsed and validated now (at most max-parse-bytes, or one body).");
    outf(&o, "solvd_submissions_parsing_bytes %zu\n", app->intake_bytes);
    header(&o, "solvd_submissions_waiting", "gauge",
           "Submissions waiting for their turn to be parsed (max-parse-bytes).");
    outf(&o, "solvd_submissions_waiting %ld\n", sv_intake_waiting(app));
    header(&o, "solvd_store_writes_pending", "gauge",
           "Writes waiting for a transaction, those held for a retry after a failed one included.");
    outf(&o, "solvd_store_writes_pending %zu\n", sv_writer_pending(&app->writer));
    header(&o, "solvd_store_commit_seconds", "summary", "Time spent in write transactions.");
    outf(&o, "solvd_store_commit_seconds_sum %.6f\n", m->store_commit_seconds_sum);
    outf(&o, "solvd_store_commit_seconds_count %lu\n", m->store_batches);
    if (app->views.slots) {
        header(&o, "solvd_view_cache_lookups_total", "counter",
               "GET /v1/jobs/{id} answered from the finished jobs' view cache (hit) or not.");
        outf(&o, "solvd_view_cache_lookups_total{outcome=\"hit\"} %lu\n", app->views.hits);
        outf(&o, "solvd_view_cache_lookups_total{outcome=\"miss\"} %lu\n", app->views.misses);
    }
    if (app->shared) {
        const sv_cluster *C = &app->cluster;
        header(&o, "solvd_cluster_claims_total", "counter",
               "Jobs this node claimed from the shared store.");
        outf(&o, "solvd_cluster_claims_total %lu\n", C->claims);
        header(&o, "solvd_cluster_lease_renewals_total", "counter", "Lease renewals done.");
        outf(&o, "solvd_cluster_lease_renewals_total %lu\n", C->renewals);
        header(&o, "solvd_cluster_jobs_given_back_total", "counter",
               "Jobs of nodes whose lease ran out, given back by this node.");
        outf(&o, "solvd_cluster_jobs_given_back_total{outcome=\"requeued\"} %lu\n", C->requeued);
        outf(&o, "solvd_cluster_jobs_given_back_total{outcome=\"failed\"} %lu\n", C->failed);
        header(&o, "solvd_cluster_cancels_delivered_total", "counter",
               "Cancels recorded on other nodes, delivered by polling to jobs running here.");
        outf(&o, "solvd_cluster_cancels_delivered_total %lu\n", C->cancels_delivered);
        header(&o, "solvd_cluster_notifications_total", "counter",
               "Notifications received from the store (PostgreSQL LISTEN), by channel.");
        static const char *const kinds[] = {"jobs", "cancel", "events"};
        for (int k = 0; k < 3; k++)
            outf(&o, "solvd_cluster_notifications_total{channel=\"%s\"} %lu\n", kinds[k],
                 C->wakeups[k]);
        header(&o, "solvd_cluster_listening", "gauge",
               "1 while this node holds a listener on the store's notifications.");
        outf(&o, "solvd_cluster_listening %d\n", C->poll_open);
        header(&o, "solvd_cluster_listener_failures_total", "counter",
               "Listener connections that failed to open or were lost (polling covers the gap).");
        outf(&o, "solvd_cluster_listener_failures_total %lu\n", C->listener_failures);
    }
    header(&o, "solvd_uptime_seconds", "gauge", "Seconds since start.");
    outf(&o, "solvd_uptime_seconds %.3f\n", sv_now_s() - m->started_at);
    if (o.oom) {
        free(o.buf);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}
