/* metrics.h - counters and gauges of the daemon, kept on the loop thread and rendered in the
 * Prometheus text exposition format for GET /metrics. */
#ifndef SV_METRICS_H
#define SV_METRICS_H

#include <stddef.h>

#define SV_METRICS_STATUS_CLASSES 6   /* 1xx..5xx, other */
#define SV_METRICS_STATES 6           /* per sv_job_state */
#define SV_METRICS_MAX_SOLVERS 64     /* per codec of sv_codecs(), in its order */

typedef struct {
    double started_at;
    unsigned long http_requests[SV_METRICS_STATUS_CLASSES];
    double http_seconds_sum;
    unsigned long jobs_submitted;
    unsigned long jobs_finished[SV_METRICS_STATES];
    unsigned long jobs_finished_by_solver[SV_METRICS_MAX_SOLVERS][SV_METRICS_STATES];
    unsigned long events;
    unsigned long store_batches;
    unsigned long store_ops;
    unsigned long store_errors;
    double store_commit_seconds_sum;
    unsigned long sse_dropped;
} sv_metrics;

struct sv_app;
/* Renders every metric (gauges read from the app) into a malloc'd string. */
char *sv_metrics_render(const struct sv_app *app, size_t *len);
void sv_metrics_http(sv_metrics *m, unsigned status, double seconds);
/* A job of this solver (its registered codec) reached the final state (an sv_job_state). */
struct sv_codec;
void sv_metrics_job_finished(sv_metrics *m, const struct sv_codec *codec, int state);

#endif
