/* workers.h - the solver threads. A task carries one job's body; a thread decodes it through the
 * codec, runs the solver with a monitor that enforces cancel and time limit and throttles
 * progress, encodes the result, and posts messages back to the loop thread, where the pool hands
 * each to the deliver function it was started with. The pool knows nothing of jobs beyond that. */
#ifndef SV_WORKERS_H
#define SV_WORKERS_H

#include <stdatomic.h>
#include <uv.h>
#include "api/codec.h"
#include "storage/store.h"

#define SV_MAX_METRICS 16

typedef struct sv_task sv_task;

struct sv_task {
    /* Set by the loop before the task is queued; read-only afterwards. */
    char id[40];
    const sv_codec *codec;
    char *request;             /* the job body (JSON text, owned); NULL: the worker reads it
                                  from the store (sv_pool_start's store_url) */
    const sv_codec_env *env;
    double time_limit_s;
    double progress_interval_s;
    void *owner;               /* the submitter's record of the job */
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

/* On the loop thread, in the order the workers sent them: PROGRESS with the event JSON (the
 * callee may keep it only by copying), then one DONE per task, after which the task is the
 * callee's (sv_task_free). */
typedef void (*sv_pool_deliver)(void *data, sv_msg_kind kind, sv_task *t, const char *json);

typedef struct sv_msg {
    sv_msg_kind kind;
    sv_task *task;
    char *data;                /* PROGRESS: the event JSON (owned) */
    double ts;
    struct sv_msg *next;
} sv_msg;

typedef struct sv_pool {
    int n;
    uv_thread_t *threads;
    uv_mutex_t mu;
    uv_cond_t cv;
    sv_task *queue, *queue_tail;   /* tasks waiting for a thread (guarded by mu) */
    int stopping;                  /* guarded by mu */
    uv_mutex_t out_mu;
    sv_msg *out;                   /* messages to the loop, newest first (guarded by out_mu) */
    uv_async_t async;
    int async_open;
    sv_pool_deliver deliver;
    void *deliver_data;
    char *store_url;               /* where a task without its request reads it (NULL: none) */
} sv_pool;

/* Starts n threads; messages reach deliver on loop's thread. A thread that gets a task without
 * its request opens a store handle of its own on store_url (once) and reads the job's request
 * there. */
int sv_pool_start(sv_pool *p, uv_loop_t *loop, int n, sv_pool_deliver deliver, void *data,
                  const char *store_url);
void sv_pool_submit(sv_pool *p, sv_task *t);
/* Closes the loop handle (part of the loop's shutdown). */
void sv_pool_close(sv_pool *p);
/* Joins the threads (after every task is done). */
void sv_pool_stop(sv_pool *p);
void sv_task_free(sv_task *t);

#endif
