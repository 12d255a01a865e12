/* queue.h - where the job service gets the next job to run: an interface, so that dispatch does
 * not care whether the queue lives in this process or in a store that several nodes share.
 *
 * The in-memory queue (sv_queue_memory_new) is the one for a store of one node (SQLite): the
 * queued jobs of the service's table, one priority heap per tenant (sv_jobent.group), the
 * tenants taking turns. Taking a job from it only decides the
 * order; the service then records the start durably itself (claims_durably is 0).
 *
 * A queue over a shared store (PostgreSQL, later) would claim jobs through the store
 * (sv_store_claim_next, on a pool thread, never on the loop), keep up to as many claimed jobs
 * as the service has free workers, hand them out from take(), and call the wake function given
 * at its creation when new ones arrive, so the service dispatches again. Its claims are the
 * durable start (claims_durably is 1). */
#ifndef SV_QUEUE_H
#define SV_QUEUE_H

#include <stddef.h>
#include "server/jobtable.h"

typedef struct sv_queue sv_queue;

typedef struct {
    const char *name;
    /* 1: take() has already recorded the start in the store (a claim); 0: the caller does. */
    int claims_durably;
    /* A job is queued here (just submitted, loaded at start-up). 0, or -1 out of memory. */
    int (*add)(sv_queue *q, sv_jobent *e);
    /* A job that add() was given leaves before it runs (cancelled). */
    void (*remove)(sv_queue *q, sv_jobent *e);
    /* The next job to run, which leaves the queue, or NULL when none is ready. */
    sv_jobent *(*take)(sv_queue *q);
    /* Jobs waiting. */
    size_t (*length)(const sv_queue *q);
    /* Jobs of group (a tenant) waiting: what a per-tenant quota counts. */
    size_t (*group_length)(const sv_queue *q, const char *group);
    void (*destroy)(sv_queue *q);
} sv_queue_ops;

struct sv_queue {
    const sv_queue_ops *ops;
};

/* One node's own jobs: fair between groups (each take() moves to the next group that has a
 * queued job), priority order within a group. NULL when out of memory. */
sv_queue *sv_queue_memory_new(void);

static inline int sv_queue_add(sv_queue *q, sv_jobent *e) { return q->ops->add(q, e); }
static inline void sv_queue_remove(sv_queue *q, sv_jobent *e) { q->ops->remove(q, e); }
static inline sv_jobent *sv_queue_take(sv_queue *q) { return q->ops->take(q); }
static inline size_t sv_queue_length(const sv_queue *q) { return q->ops->length(q); }
static inline size_t sv_queue_group_length(const sv_queue *q, const char *group)
{
    return q->ops->group_length(q, group);
}
static inline void sv_queue_destroy(sv_queue *q)
{
    if (q)
        q->ops->destroy(q);
}

#endif
