/* jobs.h - the job service: submission (with idempotency keys), cancellation, dispatch to
 * workers through a queue (server/queue.h), and each job's lifecycle with the events its
 * transitions emit. It runs on the loop thread and reaches the rest of the server only through
 * the hooks it is given: durable writes, workers, live subscribers and store reads. So it knows
 * nothing of HTTP and is unit-tested with fakes (tests/unit/test_jobs.c). Outcomes of submit
 * and cancel go to a reply callback, at once or after the store answered. */
#ifndef SV_JOBS_H
#define SV_JOBS_H

#include <jansson.h>
#include <stdint.h>
#include "api/codec.h"
#include "api/submit.h"
#include "server/jobtable.h"
#include "server/metrics.h"
#include "server/queue.h"
#include "server/workers.h"
#include "server/writer.h"
#include "storage/store.h"

typedef struct sv_jobs sv_jobs;
typedef struct sv_sub sv_sub;   /* a live event stream (server/stream.h); opaque here */

/* A live job: queued or running here, or finished with its last events not yet durable (or a
 * stream still attached). */
typedef struct sv_live {
    sv_jobent ent;             /* first: id, priority, age, queue position, hash chain */
    sv_jobs *svc;
    char tenant[64];
    const sv_codec *codec;
    sv_job_state state;
    double time_limit_s;
    int attempts;
    char *request;             /* while queued (handed to the task when it starts) */
    long seq;                  /* last event sequence number given out */
    sv_task *task;             /* while running */
    sv_sub *subs;              /* live event streams: kept by their module, which the closed
                                  hook tells to let go; the service only checks for any */
    int pending_writes;        /* events queued for the store, not yet committed */
    int closed;                /* the final status event is durable: streams have ended */
} sv_live;

/* A store read the service needs: a job by id (tenant NULL: any tenant's), or by tenant and
 * idempotency key when idem_key is set. */
typedef struct {
    const char *id;
    const char *tenant;
    const char *idem_key;
} sv_jobs_lookup;
/* The answer: rc is SV_STORE_*, row the job when rc is SV_STORE_OK (valid during the call). */
typedef void (*sv_jobs_found)(void *kdata, int rc, const sv_job *row);
/* The answer to a cancel the store decided (sv_store_cancel): rc is SV_STORE_*, was the state
 * the job was found in, row the job afterwards when rc is SV_STORE_OK. */
typedef void (*sv_jobs_cancelled)(void *kdata, int rc, sv_job_state was, const sv_job *row);
/* The answer to a count: rc is SV_STORE_*, n the count when rc is SV_STORE_OK. */
typedef void (*sv_jobs_counted)(void *kdata, int rc, long n);

typedef struct {
    void *data;   /* passed to every hook */
    /* Durable write: takes op, calls op->done on the loop thread once it committed or failed
     * (an op with retry set: once it committed, however many attempts that takes). */
    void (*write)(void *data, sv_wop *op);
    /* Runs a task on a worker; its messages come back through sv_jobs_deliver. */
    void (*run)(void *data, sv_task *t);
    /* An event of L is durable: for L's live subscribers. */
    void (*event)(void *data, sv_live *L, const char *type, long seq, const char *json);
    /* L's last event is durable: its subscribers end, and L->subs must be NULL afterwards. */
    void (*closed)(void *data, sv_live *L);
    /* Reads one job row and answers through k, at once or later (a remote store). */
    void (*lookup)(void *data, const sv_jobs_lookup *q, sv_jobs_found k, void *kdata);
    /* 1 while durable writes fail as a whole (optional: NULL, never). */
    int (*store_failing)(void *data);
    /* A store that several nodes share (both NULL otherwise; server/cluster.h). claim takes
     * the next queued job of the store for this node (sv_store_claim_next) and answers through
     * k: SV_STORE_OK with the row, request included, or SV_STORE_ENOTFOUND when none is
     * queued. With claim set, dispatch claims through the store rather than from the queue, a
     * job submitted here leaves memory once stored (any node may run it), and a cancel of a
     * job that does not run here goes to cancel (sv_store_cancel) for the store to decide. */
    void (*claim)(void *data, sv_jobs_found k, void *kdata);
    void (*cancel)(void *data, const char *id, const char *tenant, sv_jobs_cancelled k,
                   void *kdata);
    /* A shared store (NULL otherwise): counts tenant's queued jobs in the store, for the
     * per-tenant quota across nodes, and answers through k (rc SV_STORE_*). */
    void (*count_queued)(void *data, const char *tenant, sv_jobs_counted k, void *kdata);
    /* Finished job id leaves the store, or (id NULL) some finished jobs may (retention);
     * called when the deletion starts and again when it committed (optional: NULL). */
    void (*removed)(void *data, const char *id);
} sv_jobs_hooks;

typedef struct {
    int workers;                 /* jobs run at once */
    double max_job_seconds;      /* the time limit of jobs that set none */
    long max_queued_per_tenant;  /* queued jobs a tenant may have; 0: no limit */
    double progress_interval_s;
    const sv_codec_env *env;
    const char *node;            /* the name this node claims jobs under (copied) */
    double lease_s;              /* lease of a claim; 0: no expiry (one node) */
    sv_metrics *metrics;
    uint64_t id_seed;            /* random bits for job ids */
    size_t request_keep_bytes;   /* a queued job keeps its request in memory up to this size;
                                    a longer one is read back from the store by the worker that
                                    runs it (sv_pool_start's store_url). 0: always kept */
} sv_jobs_config;

typedef enum {
    SV_JOBS_CREATED,     /* submit: stored; job is the new row */
    SV_JOBS_REPLAYED,    /* submit: the idempotency key's earlier job; job is its row */
    SV_JOBS_CANCELLING,  /* cancel: the job runs and was asked to stop; id is set */
    SV_JOBS_CANCELLED,   /* cancel: the queued job is cancelled; job is its row */
    SV_JOBS_DELETED,     /* delete: the job and its events are gone; id is set */
    SV_JOBS_FAILED       /* code and message say why */
} sv_jobs_outcome;

typedef struct {
    sv_jobs_outcome outcome;
    const sv_job *job;
    const char *id;
    const char *code;      /* an API error code (api/errors.h): "conflict", "not_found", ... */
    const char *message;
} sv_jobs_reply;
typedef void (*sv_jobs_reply_fn)(void *data, const sv_jobs_reply *r);

typedef struct {
    const char *tenant;
    sv_submit_texts *texts;      /* what is stored of the validated body (api/submit.h): its
                                    strings are taken (left NULL) */
    const sv_codec *codec;
    int priority;
    double time_limit_s;
    const char *idem_key;        /* NULL: none */
} sv_jobs_submission;

typedef struct pending_submit pending_submit;

struct sv_jobs {
    sv_jobs_config cfg;
    char node[64];
    sv_jobs_hooks hooks;
    sv_jobtable table;
    sv_queue *queue;
    int running;                 /* tasks handed to workers and not yet done */
    int claiming;                /* claims asked of a shared store, not yet answered */
    int store_empty;             /* a shared store's last claim found nothing queued: no more
                                    claims until sv_jobs_wake */
    int draining;                /* no dispatch */
    pending_submit *pending;     /* idempotent submissions awaiting their commit */
    unsigned id_counter;
    uint64_t id_random;
};

/* queue is taken over (destroyed by sv_jobs_free, also when init fails). 0 or -1. */
int sv_jobs_init(sv_jobs *J, const sv_jobs_config *cfg, const sv_jobs_hooks *hooks,
                 sv_queue *queue);
void sv_jobs_free(sv_jobs *J);
/* Start-up: every queued job of the store (after recovery) into the table and the queue. */
int sv_jobs_load(sv_jobs *J, sv_store *s);

/* Stores a submission; replies CREATED once durable, REPLAYED, or FAILED. */
void sv_jobs_submit(sv_jobs *J, const sv_jobs_submission *sub, sv_jobs_reply_fn cb, void *data);
/* tenant NULL (an admin's request): any tenant's job. */
/* Cancels tenant's job id: CANCELLING (running), CANCELLED (queued, once durable), or FAILED
 * (not_found, conflict when it already finished, unavailable when it was interrupted by the
 * shutdown in progress or the store failed). */
void sv_jobs_cancel(sv_jobs *J, const char *id, const char *tenant, sv_jobs_reply_fn cb,
                    void *data);
/* Deletes tenant's finished job id with its events: DELETED once durable, or FAILED
 * (not_found; conflict while it is queued or running, or still finishing). */
void sv_jobs_delete(sv_jobs *J, const char *id, const char *tenant, sv_jobs_reply_fn cb,
                    void *data);
/* Store maintenance: deletes finished jobs that finished before finished_before (> 0) and those
 * beyond the keep (> 0) most recent, then checkpoints the store's log. */
void sv_jobs_maintain(sv_jobs *J, double finished_before, long keep);
/* Starts queued jobs while workers are free (and not draining). */
void sv_jobs_dispatch(sv_jobs *J);
/* A shared store may have queued jobs again (a submission, a requeue, the periodic poll):
 * dispatch claims once more. */
void sv_jobs_wake(sv_jobs *J);
/* A client on another node asked to cancel job id, which runs here: it is asked to stop. */
void sv_jobs_cancel_local(sv_jobs *J, const char *id);
/* The workers' messages (an sv_pool_deliver; data is the sv_jobs). */
void sv_jobs_deliver(void *data, sv_msg_kind kind, sv_task *t, const char *json);
/* Stops dispatching (shutdown). */
void sv_jobs_drain(sv_jobs *J);
/* Asks running jobs to stop for shutdown (they are left running in the store, so the next
 * start's recovery requeues them). */
void sv_jobs_interrupt_all(sv_jobs *J);

sv_live *sv_jobs_find(sv_jobs *J, const char *id);
size_t sv_jobs_queued(const sv_jobs *J);
int sv_jobs_running(const sv_jobs *J);
/* Calls fn on every live job, in no particular order (fn must not change the table). */
void sv_jobs_each(const sv_jobs *J, void (*fn)(const sv_live *L, void *data), void *data);
/* 1 when job id runs here and was asked to stop. */
int sv_jobs_cancel_requested(sv_jobs *J, const char *id);

/* 12 hex digits of milliseconds since the epoch, then a counter and random bits. */
void sv_new_job_id(sv_jobs *J, char *out, size_t n);
double sv_wall_now(void);

#endif
