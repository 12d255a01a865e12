/* cluster.c - a node on a shared store (cluster.h): claims, foreign cancels and the tick, each
 * as a store call on the pool (through the reads module's handles) and an answer on the loop. */
#include "server/cluster.h"

#include <stdlib.h>
#include <string.h>
#include "server/log.h"
#include "storage/store.h"

/* A listener that failed (or could not open) is tried again after this long. */
#define LISTEN_RETRY_S 2.0

/* ---- claim ---- */

typedef struct {
    sv_read rd;
    sv_cluster *C;
    double now;
    int rc;
    sv_job row;
    sv_jobs_found k;
    void *kdata;
} claim_read;

static void claim_run(sv_read *rd, sv_store *s)
{
    claim_read *c = (claim_read *)rd;
    c->rc = sv_store_claim_next(s, c->C->node, c->now, c->C->lease_s, &c->row);
}

static void claim_done(sv_read *rd)
{
    claim_read *c = (claim_read *)rd;
    if (c->rc == SV_STORE_OK)
        c->C->claims++;
    c->k(c->kdata, c->rc, c->rc == SV_STORE_OK ? &c->row : NULL);
    sv_job_clear(&c->row);
    free(c);
}

void sv_cluster_claim(sv_cluster *C, sv_jobs_found k, void *kdata)
{
    claim_read *c = calloc(1, sizeof *c);
    if (!c) {
        k(kdata, SV_STORE_ENOMEM, NULL);
        return;
    }
    c->C = C;
    /* The lease counts from when the claim was asked for: a claim answered late is renewed
     * by the next tick, never later than lease-s after this. */
    c->now = sv_wall_now();
    c->k = k;
    c->kdata = kdata;
    sv_reads_submit(C->reads, &c->rd, claim_run, claim_done);
}

/* ---- a cancel the store decides ---- */

typedef struct {
    sv_read rd;
    char id[512], tenant[64];
    int has_tenant, rc;
    sv_job_state was;
    sv_job row;
    sv_jobs_cancelled k;
    void *kdata;
} cancel_read;

static void cancel_run(sv_read *rd, sv_store *s)
{
    cancel_read *c = (cancel_read *)rd;
    const char *tenant = c->has_tenant ? c->tenant : NULL;
    c->rc = sv_store_cancel(s, c->id, tenant, sv_wall_now(), &c->was);
    if (c->rc == SV_STORE_OK)
        c->rc = sv_store_get_job(s, c->id, tenant, &c->row);
}

static void cancel_done(sv_read *rd)
{
    cancel_read *c = (cancel_read *)rd;
    c->k(c->kdata, c->rc, c->was, c->rc == SV_STORE_OK ? &c->row : NULL);
    sv_job_clear(&c->row);
    free(c);
}

void sv_cluster_cancel(sv_cluster *C, const char *id, const char *tenant, sv_jobs_cancelled k,
                       void *kdata)
{
    cancel_read *c = calloc(1, sizeof *c);
    if (!c) {
        k(kdata, SV_STORE_ENOMEM, SV_JOB_QUEUED, NULL);
        return;
    }
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->tenant, sizeof c->tenant, "%s", tenant ? tenant : "");
    c->has_tenant = tenant != NULL;
    c->k = k;
    c->kdata = kdata;
    sv_reads_submit(C->reads, &c->rd, cancel_run, cancel_done);
}

/* ---- a tenant's queued jobs, for the quota ---- */

typedef struct {
    sv_read rd;
    char tenant[64];
    int rc;
    long counts[SV_JOB_NSTATES];
    sv_jobs_counted k;
    void *kdata;
} count_read;

static void count_run(sv_read *rd, sv_store *s)
{
    count_read *c = (count_read *)rd;
    c->rc = sv_store_count_states_of(s, c->tenant, c->counts);
}

static void count_done(sv_read *rd)
{
    count_read *c = (count_read *)rd;
    c->k(c->kdata, c->rc, c->counts[SV_JOB_QUEUED]);
    free(c);
}

void sv_cluster_count_queued(sv_cluster *C, const char *tenant, sv_jobs_counted k, void *kdata)
{
    count_read *c = calloc(1, sizeof *c);
    if (!c) {
        k(kdata, SV_STORE_ENOMEM, 0);
        return;
    }
    snprintf(c->tenant, sizeof c->tenant, "%s", tenant);
    c->k = k;
    c->kdata = kdata;
    sv_reads_submit(C->reads, &c->rd, count_run, count_done);
}

/* ---- the listener ---- */

static void on_wake(void *data, sv_wake_kind kind, const char *id)
{
    sv_cluster *C = data;
    C->wakeups[kind]++;
    switch (kind) {
    case SV_WAKE_JOBS:
        sv_jobs_wake(C->jobs);
        break;
    case SV_WAKE_CANCEL:
        sv_jobs_cancel_local(C->jobs, id);   /* a no-op unless the job runs here */
        break;
    case SV_WAKE_EVENTS:
        if (C->on_events)
            C->on_events(C->events_data, id);
        break;
    }
}

static void on_poll_closed(uv_handle_t *h)
{
    sv_cluster *C = h->data;
    sv_store_listener_close(C->listener);
    C->listener = NULL;
}

/* Closes the listener (the poll handle first; the connection when the handle is closed). */
static void listen_drop(sv_cluster *C)
{
    if (!C->poll_open)
        return;
    C->poll_open = 0;
    uv_poll_stop(&C->poll);
    uv_close((uv_handle_t *)&C->poll, on_poll_closed);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    sv_cluster *C = p->data;
    char err[512] = "";
    if (status < 0 || sv_store_listener_drain(C->listener, on_wake, C, err, sizeof err) !=
                          SV_STORE_OK) {
        sv_log_warn("the store's notifications stopped; polling until the listener is back",
                    "node=%s reason=\"%s\"", C->node, status < 0 ? uv_strerror(status) : err);
        C->listener_failures++;
        C->listen_retry_at = sv_wall_now() + LISTEN_RETRY_S;
        listen_drop(C);
    }
}

typedef struct {
    uv_work_t w;
    sv_cluster *C;
    sv_store_listener *l;
    int rc;
    char err[512];
} listen_open;

static void listen_open_work(uv_work_t *w)
{
    listen_open *o = w->data;
    o->rc = sv_store_listen(o->C->url, &o->l, o->err, sizeof o->err);
}

static void listen_open_done(uv_work_t *w, int status)
{
    listen_open *o = w->data;
    sv_cluster *C = o->C;
    C->listen_opening = 0;
    if (status == 0 && o->rc == SV_STORE_OK && !C->stopping && C->listener == NULL &&
        uv_poll_init(C->loop, &C->poll, sv_store_listener_fd(o->l)) == 0) {
        C->listener = o->l;
        C->poll.data = C;
        C->poll_open = 1;
        uv_poll_start(&C->poll, UV_READABLE, on_readable);
        sv_log_info("listening for the store's notifications", "node=%s", C->node);
        /* Whatever was queued before the listener was in place. */
        sv_jobs_wake(C->jobs);
    } else {
        sv_store_listener_close(o->l);
        if (o->rc == SV_STORE_ESTATE) {
            C->listen_unsupported = 1;   /* the store has none: polling alone */
        } else if (!C->stopping) {
            if (o->rc != SV_STORE_OK)
                sv_log_warn("cannot listen for the store's notifications; polling meanwhile",
                            "node=%s reason=\"%s\"", C->node, o->err);
            C->listener_failures++;
            C->listen_retry_at = sv_wall_now() + LISTEN_RETRY_S;
        }
    }
    free(o);
}

/* Opens the listener on the pool unless it is open, opening, unsupported or not due. */
static void listen_maybe_open(sv_cluster *C, double now)
{
    if (C->listener || C->listen_opening || C->listen_unsupported || C->stopping ||
        now < C->listen_retry_at)
        return;
    listen_open *o = calloc(1, sizeof *o);
    if (!o)
        return;
    o->C = C;
    o->w.data = o;
    if (uv_queue_work(C->loop, &o->w, listen_open_work, listen_open_done) != 0) {
        free(o);
        return;
    }
    C->listen_opening = 1;
}

/* ---- the tick ---- */

#define TICK_MAX_CANCELS 256   /* per tick; the rest come at the next */

typedef struct {
    sv_read rd;
    sv_cluster *C;
    int want_cancels, renew;
    double now;
    int rc_cancels, rc_renew, rc_requeue;
    int renewed, requeued, failed;
    size_t n_cancels;
    char cancels[TICK_MAX_CANCELS][40];
} tick_read;

static int keep_cancel(void *data, const char *id)
{
    tick_read *t = data;
    if (t->n_cancels == TICK_MAX_CANCELS)
        return 1;
    snprintf(t->cancels[t->n_cancels++], sizeof t->cancels[0], "%s", id);
    return 0;
}

static void tick_run(sv_read *rd, sv_store *s)
{
    tick_read *t = (tick_read *)rd;
    sv_cluster *C = t->C;
    if (t->want_cancels)
        t->rc_cancels = sv_store_cancel_requests(s, C->node, keep_cancel, t);
    if (t->renew) {
        t->rc_renew = sv_store_heartbeat(s, C->node, t->now, C->lease_s, &t->renewed);
        t->rc_requeue =
            sv_store_requeue_expired(s, t->now, C->max_attempts, &t->requeued, &t->failed);
    }
}

static void tick_done(sv_read *rd)
{
    tick_read *t = (tick_read *)rd;
    sv_cluster *C = t->C;
    C->ticking = 0;
    if (t->rc_cancels == SV_STORE_OK)
        for (size_t i = 0; i < t->n_cancels; i++) {
            sv_jobs_cancel_local(C->jobs, t->cancels[i]);
            C->cancels_delivered++;
        }
    if (t->renew) {
        if (t->rc_renew != SV_STORE_OK || t->rc_requeue != SV_STORE_OK)
            sv_log_warn("renewing leases on the shared store failed; retrying at the next tick",
                        "node=%s rc_renew=%d rc_requeue=%d", C->node, t->rc_renew,
                        t->rc_requeue);
        else
            C->next_renewal = t->now + C->lease_s / 3.0;
        if (t->rc_renew == SV_STORE_OK)
            C->renewals++;
        if (t->requeued > 0 || t->failed > 0)
            sv_log_warn("jobs of a node whose lease ran out were given back",
                        "requeued=%d failed=%d", t->requeued, t->failed);
        C->requeued += (unsigned long)t->requeued;
        C->failed += (unsigned long)t->failed;
    }
    free(t);
    /* Jobs submitted to other nodes (or just requeued) are found by claiming. */
    sv_jobs_wake(C->jobs);
}

static void on_tick(uv_timer_t *timer)
{
    sv_cluster *C = timer->data;
    double now = sv_wall_now();
    listen_maybe_open(C, now);
    if (C->ticking)
        return;
    int want_cancels = sv_jobs_running(C->jobs) > 0;
    int renew = now >= C->next_renewal;
    if (!want_cancels && !renew) {
        sv_jobs_wake(C->jobs);
        return;
    }
    tick_read *t = calloc(1, sizeof *t);
    if (!t)
        return;
    t->C = C;
    t->want_cancels = want_cancels;
    t->renew = renew;
    t->now = now;
    C->ticking = 1;
    sv_reads_submit(C->reads, &t->rd, tick_run, tick_done);
}

int sv_cluster_start(sv_cluster *C, uv_loop_t *loop, sv_jobs *J, sv_reads *R, const char *url,
                     const char *node, double lease_s, int max_attempts, int poll_ms,
                     void (*on_events)(void *data, const char *id), void *events_data)
{
    memset(C, 0, sizeof *C);
    C->loop = loop;
    C->jobs = J;
    C->reads = R;
    snprintf(C->url, sizeof C->url, "%s", url);
    C->on_events = on_events;
    C->events_data = events_data;
    snprintf(C->node, sizeof C->node, "%s", node);
    C->lease_s = lease_s;
    C->max_attempts = max_attempts;
    C->tick.data = C;
    if (uv_timer_init(loop, &C->tick) != 0)
        return -1;
    C->tick_open = 1;
    listen_maybe_open(C, sv_wall_now());
    return uv_timer_start(&C->tick, on_tick, (uint64_t)poll_ms, (uint64_t)poll_ms) == 0 ? 0 : -1;
}

void sv_cluster_stop(sv_cluster *C)
{
    C->stopping = 1;
    listen_drop(C);
    if (!C->tick_open)
        return;
    uv_timer_stop(&C->tick);
    uv_close((uv_handle_t *)&C->tick, NULL);
    C->tick_open = 0;
}
