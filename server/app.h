/* app.h - the daemon's state, in one place: configuration, the loop, the stores, the job table,
 * the worker pool, the HTTP daemon, subscribers and metrics. Everything here belongs to the loop
 * thread unless a field says otherwise; workers reach the loop only through the pool's queue. */
#ifndef SV_APP_H
#define SV_APP_H

#include <stdatomic.h>
#include <uv.h>
#include "api/codec.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/notify.h"
#include "storage/store.h"

typedef struct sv_app sv_app;
typedef struct sv_live sv_live;
typedef struct sv_sub sv_sub;
typedef struct sv_task sv_task;
typedef struct sv_req sv_req;

/* ---- batched durable writes (server/writer.c) ---- */
typedef enum { SV_W_INSERT, SV_W_RUNNING, SV_W_FINISH, SV_W_EVENT } sv_wop_kind;

typedef struct sv_wop {
    sv_wop_kind kind;
    struct sv_wop *next;
    sv_job job;                /* INSERT: the row (owned strings) */
    char id[40];
    double t;                  /* RUNNING: started_at; FINISH: finished_at; EVENT: ts */
    int attempts;              /* RUNNING */
    sv_job_state state;        /* FINISH */
    char *summary, *result, *error;  /* FINISH (owned) */
    long seq;                  /* EVENT */
    char type[16];             /* EVENT */
    char *data;                /* EVENT: as stored (owned) */
    char *live_data;           /* EVENT: as pushed to streams, when it differs (owned) */
    int final;                 /* EVENT: the job's last status event */
    int rc;                    /* set by the batch: SV_STORE_* */
    /* Called on the loop thread once the batch holding this op has committed (or failed). */
    void (*done)(struct sv_wop *op, void *data);
    void *done_data;
} sv_wop;

typedef struct {
    sv_app *app;
    sv_store *store;           /* used only by the batch running in the pool */
    uv_work_t work;
    sv_wop *pending, *pending_tail;  /* waiting for the next batch */
    sv_wop *batch;                   /* being written */
    uv_check_t check;                /* starts a batch at the end of a loop iteration */
    uv_idle_t idle;                  /* while ops wait: keeps the poll phase from blocking */
    int busy;
    size_t n_pending;
    double batch_started;
} sv_writer;

int sv_writer_init(sv_writer *w, sv_app *app, sv_store *store);
void sv_writer_close(sv_writer *w);
/* Queues op (taking ownership); the batch starts at the end of this loop iteration if none is
 * running, so the ops one callback queues share one transaction. */
void sv_writer_submit(sv_writer *w, sv_wop *op);
int sv_writer_idle(const sv_writer *w);
sv_wop *sv_wop_new(sv_wop_kind kind, const char *id);
void sv_wop_free(sv_wop *op);

/* ---- worker pool (server/workers.c) ---- */
#define SV_MAX_METRICS 16

struct sv_task {
    /* Set by the loop before the task is queued; read-only afterwards. */
    char id[40];
    const sv_codec *codec;
    char *request;             /* the job body (JSON text, owned) */
    const sv_codec_env *env;
    double time_limit_s;
    double progress_interval_s;
    sv_live *owner;
    /* Shared between threads. */
    atomic_int cancel;         /* loop -> worker: stop at the next report */
    atomic_int timed_out;      /* worker: the time limit passed */
    atomic_int shutdown;       /* loop -> worker: the daemon is stopping */
    /* Worker-private while running; read by the loop after the done message. */
    double t_start, t_last_sent;
    long n_sent;          /* progress events sent so far */
    long next_log_iter;   /* the next iteration the log-spaced trace keeps whatever the throttle */
    int has_unsent;
    long unsent_iter;
    double unsent_elapsed, unsent_obj;
    int unsent_n;
    char unsent_names[SV_MAX_METRICS][32];
    double unsent_values[SV_MAX_METRICS];
    sv_job_state final_state;
    char *summary, *result, *error;   /* JSON text (owned) */
    struct sv_pool *pool;
    sv_task *next;
};

typedef enum { SV_MSG_PROGRESS, SV_MSG_DONE } sv_msg_kind;

typedef struct sv_msg {
    sv_msg_kind kind;
    sv_task *task;
    char *data;                /* PROGRESS: the event JSON (owned) */
    double ts;
    struct sv_msg *next;
} sv_msg;

typedef struct sv_pool {
    sv_app *app;
    int n;
    uv_thread_t *threads;
    uv_mutex_t mu;
    uv_cond_t cv;
    sv_task *queue, *queue_tail;   /* tasks waiting for a thread (guarded by mu) */
    int stopping;                  /* guarded by mu */
    uv_mutex_t out_mu;
    sv_msg *out;                   /* messages to the loop, newest first (guarded by out_mu) */
    uv_async_t async;
    int busy;                      /* loop thread: tasks handed out and not yet done */
} sv_pool;

int sv_pool_start(sv_pool *p, sv_app *app, int n);
void sv_pool_submit(sv_pool *p, sv_task *t);
/* Joins the threads (after every task is done). */
void sv_pool_stop(sv_pool *p);
void sv_task_free(sv_task *t);

/* ---- live jobs (server/jobs.c): queued and running jobs, and finished ones whose last events
 * have not committed yet ---- */
struct sv_live {
    sv_app *app;
    char id[40];
    char tenant[64];
    const sv_codec *codec;
    sv_job_state state;
    int priority;
    double created_at;
    double time_limit_s;
    int attempts;
    char *request;             /* while queued (handed to the task when it starts) */
    long seq;                  /* last event sequence number given out */
    sv_task *task;             /* while running */
    sv_sub *subs;              /* live event streams */
    int pending_writes;        /* events queued for the store, not yet committed */
    int closed;                /* the final status event is durable: streams have ended */
    int heap_index;            /* -1 when not queued */
    sv_live *hnext;            /* hash chain */
};

typedef struct {
    sv_live **buckets;
    size_t nbuckets, count;
    sv_live **heap;            /* queued jobs: priority desc, then age */
    size_t heap_len, heap_cap;
} sv_jobs;

/* ---- event streams (server/stream.c) ---- */
struct sv_sub {
    sv_app *app;
    struct MHD_Connection *conn;
    sv_live *live;             /* NULL once detached (job finished) */
    char job_id[40];
    char *buf;
    size_t len, cap, off;
    long last_seq;
    double quiet_since;        /* when something was last queued on it (sv_now_s) */
    int suspended;
    int closing;               /* end the stream once buf is drained */
    int failed;                /* too slow: end with an error */
    sv_sub *next;              /* in live->subs */
    sv_sub *all_next, *all_prev; /* in app->subs_all */
};

/* ---- HTTP requests (server/http.c) ---- */
struct sv_req {
    sv_app *app;
    struct MHD_Connection *conn;
    char method[12];
    char *url;
    char *body;
    size_t len, cap;
    int too_big;
    int suspended;
    int started;               /* the handler ran */
    struct MHD_Response *deferred;  /* response ready to queue after a resume */
    unsigned deferred_status;
    char tenant[64];
    double t0;
    unsigned status_sent;      /* for the metrics of the completed request */
};

/* ---- the app ---- */
struct sv_app {
    uv_loop_t *loop;
    sv_config cfg;
    sv_codec_env env;
    sv_store *rstore;          /* reads on the loop thread */
    sv_store *wstore;          /* writes, one batch at a time on a pool thread */
    sv_writer writer;
    sv_jobs jobs;
    sv_pool pool;
    sv_metrics metrics;
    struct MHD_Daemon *mhd;
    unsigned port;             /* the port bound (also when --listen asked for 0) */
    uv_poll_t mhd_poll;
    uv_timer_t mhd_timer;
    uv_timer_t heartbeat;
    uv_timer_t drain_timer;
    uv_signal_t sigterm, sigint;
    sv_notify notify;
    sv_sub *subs_all;
    int n_subs;
    int draining;              /* no new jobs, no dispatch */
    int stopping;              /* shutdown sequence started */
    int interrupted;           /* the drain's grace period ran out: running jobs were told */
    double drain_started;
    struct sv_token *tokens;   /* bearer token -> tenant */
    struct pending_submit *pending_submits;  /* idempotent submissions awaiting commit */
    unsigned id_counter;
    uint64_t id_random;
};

#endif
