/* cluster.h - this node's part in a job store that several nodes share (SV_STORE_CAP_SHARED:
 * PostgreSQL). The job service claims jobs and decides foreign cancels through the store
 * (sv_cluster_claim, sv_cluster_cancel: its claim and cancel hooks), each on the libuv pool so
 * the loop never waits on the network. A periodic tick, every --claim-poll-ms, does the rest on
 * the pool: it hands this node the cancels that clients of other nodes recorded for jobs running
 * here, renews this node's leases (every lease-s / 3), gives back the jobs of nodes whose lease
 * ran out (requeued, or failed past max-attempts), and wakes dispatch, so that jobs submitted to
 * other nodes are claimed within one tick. The store is the only channel between nodes: no node
 * needs to reach another.
 *
 * Where the store pushes changes (PostgreSQL LISTEN/NOTIFY, store.h's sv_store_listener), the
 * node also holds a listener connection, opened on the pool and polled on the loop: a job queued
 * anywhere wakes dispatch at once, a cancel recorded for a job running here reaches it at once,
 * and new events of a job another node runs wake the streams that follow it (on_events). The
 * tick stays as the fallback: a listener that fails is closed and reopened by a later tick
 * (every LISTEN_RETRY_S), and what it missed meanwhile the tick's polling finds. */
#ifndef SV_CLUSTER_H
#define SV_CLUSTER_H

#include <uv.h>
#include "server/jobs.h"
#include "server/reads.h"

typedef struct {
    uv_loop_t *loop;
    sv_jobs *jobs;
    sv_reads *reads;           /* pool handles on the store (claims and ticks use them too) */
    char node[64];
    double lease_s;
    int max_attempts;
    uv_timer_t tick;
    int tick_open;
    int ticking;               /* a tick's store work is in flight */
    double next_renewal;       /* when the leases are renewed next (sv_wall_now) */
    /* The listener (NULL while closed or unsupported), its poll handle on the loop. */
    char url[1024];
    struct sv_store_listener *listener;
    uv_poll_t poll;
    int poll_open, listen_opening, listen_unsupported, stopping;
    double listen_retry_at;    /* sv_wall_now after which a closed listener is reopened */
    /* New events of job id were stored (by any node): the streams that follow it read now. */
    void (*on_events)(void *data, const char *id);
    void *events_data;
    /* Counters for /metrics. */
    unsigned long claims, renewals, requeued, failed, cancels_delivered;
    unsigned long wakeups[3];  /* notifications received, by sv_wake_kind */
    unsigned long listener_failures;
} sv_cluster;

/* Starts the tick (every poll_ms) and opens the listener on store url (when the store has
 * notifications). on_events (may be NULL) gets new-event notifications. 0, or -1 when the timer
 * cannot start. */
int sv_cluster_start(sv_cluster *C, uv_loop_t *loop, sv_jobs *J, sv_reads *R, const char *url,
                     const char *node, double lease_s, int max_attempts, int poll_ms,
                     void (*on_events)(void *data, const char *id), void *events_data);
/* Stops the tick and closes the listener (part of the loop's shutdown); a tick or a listener
 * opening in flight finishes harmlessly. */
void sv_cluster_stop(sv_cluster *C);

/* The job service's hooks (jobs.h), with data the sv_cluster. */
void sv_cluster_claim(sv_cluster *C, sv_jobs_found k, void *kdata);
void sv_cluster_cancel(sv_cluster *C, const char *id, const char *tenant, sv_jobs_cancelled k,
                       void *kdata);
void sv_cluster_count_queued(sv_cluster *C, const char *tenant, sv_jobs_counted k, void *kdata);

#endif
