/* writer.h - group commit: durable writes queued on the loop thread and run in batches, one
 * transaction each, on a libuv pool thread; each op's done callback runs on the loop thread
 * after its batch committed (or failed). */
#ifndef SV_WRITER_H
#define SV_WRITER_H

#include <stddef.h>
#include <uv.h>
#include "server/metrics.h"
#include "storage/store.h"

typedef enum {
    SV_W_INSERT,
    SV_W_CLAIM,
    SV_W_FINISH,
    SV_W_EVENT,
    SV_W_DELETE,    /* a finished job of tenant, with its events */
    SV_W_MAINTAIN   /* retention (prune), then a checkpoint after the batch commits */
} sv_wop_kind;

typedef struct sv_wop {
    sv_wop_kind kind;
    struct sv_wop *next;
    sv_job job;                /* INSERT: the row (owned strings) */
    char id[40];
    double t;                  /* CLAIM: started_at; FINISH: finished_at; EVENT: ts */
    int attempts;              /* CLAIM */
    char node[64];             /* CLAIM: the node taking the job; FINISH: "" or the node that
                                  must still hold a running job (shared stores) */
    double lease_s;            /* CLAIM: 0, no expiry */
    sv_job_state state;        /* FINISH */
    char *summary, *result, *error;  /* FINISH (owned) */
    long seq;                  /* EVENT */
    char type[16];             /* EVENT */
    char *data;                /* EVENT: as stored (owned) */
    char *live_data;           /* EVENT: as pushed to streams, when it differs (owned) */
    int final;                 /* EVENT: the job's last status event */
    char tenant[64];           /* DELETE: the job's tenant, "" for any (an admin's) */
    double before;             /* MAINTAIN: prune jobs finished before this (0: no age rule) */
    long keep;                 /* MAINTAIN: keep this many finished jobs (0: no count rule) */
    long deleted;              /* MAINTAIN: set by the batch */
    int rc;                    /* set by the batch: SV_STORE_* */
    int retry;                 /* a write the job service already acted on (a claim, a finish,
                                  an event): when its batch fails as a whole it is kept, in
                                  order, and tried again with backoff until it commits; done
                                  then runs once, with SV_STORE_OK */
    /* Called on the loop thread once the batch holding this op has committed (or failed). */
    void (*done)(struct sv_wop *op, void *data);
    void *done_data;
} sv_wop;

/* Most jobs one maintenance batch deletes: the rest wait for the next round. */
#define SV_WRITER_PRUNE_BATCH 1000

sv_wop *sv_wop_new(sv_wop_kind kind, const char *id);
void sv_wop_free(sv_wop *op);

typedef struct {
    uv_loop_t *loop;
    sv_metrics *metrics;
    sv_store *store;           /* used only by the batch running in the pool */
    uv_work_t work;
    sv_wop *pending, *pending_tail;  /* waiting for the next batch */
    sv_wop *batch;                   /* being written */
    uv_check_t check;                /* starts a batch at the end of a loop iteration */
    uv_idle_t idle;                  /* while ops wait: keeps the poll phase from blocking */
    int busy;
    size_t n_pending;
    double batch_started;
    int batch_failed;                /* pool thread: the batch's begin or commit failed */
    int failing;                     /* loop thread: the last batch failed as a whole */
    double failing_since;            /* sv_now_s() of the first failed batch in a row */
    uv_timer_t retry_timer;          /* the next attempt after a failed batch */
    int retry_wait;                  /* no batch starts until it fires */
    double retry_delay_s;            /* the last backoff: 0.05 s doubling to 5 s; 0 after a commit */
    size_t n_held;                   /* ops kept from failed batches for the next attempt */
} sv_writer;

/* Backoff between attempts while the store fails: the first retry after this, then doubling. */
#define SV_WRITER_RETRY_MIN_S 0.05
#define SV_WRITER_RETRY_MAX_S 5.0

int sv_writer_init(sv_writer *w, uv_loop_t *loop, sv_store *store, sv_metrics *metrics);
void sv_writer_close(sv_writer *w);
/* Queues op (taking ownership); the batch starts at the end of this loop iteration if none is
 * running, so the ops one callback queues share one transaction. */
void sv_writer_submit(sv_writer *w, sv_wop *op);
int sv_writer_idle(const sv_writer *w);
/* Ops waiting for a batch (held ones included). */
size_t sv_writer_pending(const sv_writer *w);
/* 1 when a failed batch's ops are held and no batch is running: shutting down now loses only
 * what the store never acknowledged (the jobs concerned run again at the next start). */
int sv_writer_holding(const sv_writer *w);
/* 1 while durable writes fail as a whole (the last batch could not begin or commit: a full
 * disk, a read-only or corrupt database); 0 again after a batch commits. */
int sv_writer_failing(const sv_writer *w);

#endif
