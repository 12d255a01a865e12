/* cluster.h - this node's part in a job store that several nodes share (SV_STORE_CAP_SHARED:
 * PostgreSQL). The job service claims jobs and decides foreign cancels through the store
 * (sv_cluster_claim, sv_cluster_cancel: its claim and cancel hooks), each on the libuv pool so
 * the loop never waits on the network. A periodic tick, every --claim-poll-ms, does the rest on
 * the pool: it hands this node the cancels that clients of other nodes recorded for jobs running
 * here, renews this node's leases (every lease-s / 3), gives back the jobs of nodes whose lease
 * ran out (requeued, or failed past max-attempts), and wakes dispatch, so that jobs submitted to
 * other nodes are claimed within one tick. The store is the only channel between nodes: no node
 * needs to reach another. */
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
    /* Counters for /metrics. */
    unsigned long claims, renewals, requeued, failed, cancels_delivered;
} sv_cluster;

/* Starts the tick (every poll_ms). 0, or -1 when the timer cannot start. */
int sv_cluster_start(sv_cluster *C, uv_loop_t *loop, sv_jobs *J, sv_reads *R, const char *node,
                     double lease_s, int max_attempts, int poll_ms);
/* Stops the tick (part of the loop's shutdown); a tick in flight finishes harmlessly. */
void sv_cluster_stop(sv_cluster *C);

/* The job service's hooks (jobs.h), with data the sv_cluster. */
void sv_cluster_claim(sv_cluster *C, sv_jobs_found k, void *kdata);
void sv_cluster_cancel(sv_cluster *C, const char *id, const char *tenant, sv_jobs_cancelled k,
                       void *kdata);

#endif
