/* jobs.c - the job service (jobs.h): live jobs in a table by id, dispatch through the queue,
 * submission with group-committed durability and idempotency keys, cancellation, the workers'
 * messages, and the events each transition emits to the store and, once durable, to live
 * subscribers. Everything leaves through the hooks. */
#include "server/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "server/log.h"

/* Submissions waiting for their commit, so that a second request with the same Idempotency-Key
 * meanwhile is told to retry instead of racing the first. */
struct pending_submit {
    char tenant[64];
    char key[256];
    struct pending_submit *next;
};

#define IDEM_KEY_MAX 255

double sv_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Ids sort by creation time, which is what listing and cursors rely on. */
void sv_new_job_id(sv_jobs *J, char *out, size_t n)
{
    unsigned long long ms = (unsigned long long)(sv_wall_now() * 1000.0);
    J->id_random = J->id_random * 6364136223846793005ULL + 1442695040888963407ULL;
    snprintf(out, n, "%012llx%04x%06x", ms & 0xffffffffffffULL, (J->id_counter++) & 0xffff,
             (unsigned)(J->id_random >> 40) & 0xffffff);
}

static void reply_fail(sv_jobs_reply_fn cb, void *data, const char *code, const char *message)
{
    sv_jobs_reply r = {.outcome = SV_JOBS_FAILED, .code = code, .message = message};
    cb(data, &r);
}

static void reply_job(sv_jobs_reply_fn cb, void *data, sv_jobs_outcome outcome, const sv_job *j)
{
    sv_jobs_reply r = {.outcome = outcome, .job = j, .id = j->id};
    cb(data, &r);
}

/* ---- live entries ---- */

static sv_live *live_new(sv_jobs *J, const sv_job *j, const sv_codec *codec)
{
    sv_live *L = calloc(1, sizeof *L);
    if (!L)
        return NULL;
    sv_jobent_init(&L->ent, j->id, j->priority, j->created_at);
    L->ent.group = L->tenant;
    L->svc = J;
    snprintf(L->tenant, sizeof L->tenant, "%s", j->tenant);
    L->codec = codec;
    L->state = j->state;
    L->time_limit_s = j->time_limit_s;
    L->attempts = j->attempts;
    L->seq = j->last_seq;
    /* A large request waits in the store, not in memory: its worker reads it back. */
    if (j->request && (J->cfg.request_keep_bytes == 0 ||
                       strlen(j->request) <= J->cfg.request_keep_bytes))
        L->request = strdup(j->request);
    sv_jobtable_add(&J->table, &L->ent);
    return L;
}

static void live_free(sv_live *L)
{
    free(L->request);
    free(L);
}

sv_live *sv_jobs_find(sv_jobs *J, const char *id)
{
    return (sv_live *)sv_jobtable_find(&J->table, id);
}

/* A finished job leaves the table once its last events are durable and no stream holds it. */
static void maybe_release(sv_jobs *J, sv_live *L)
{
    if (sv_job_state_final(L->state) && L->pending_writes == 0 && !L->subs && !L->task) {
        sv_jobtable_remove(&J->table, &L->ent);
        live_free(L);
    }
}

/* ---- events ---- */

/* Subscribers see an event only once it is durable, so that whatever a client reads next
 * (GET /v1/jobs/{id}, /result) already agrees with the event it just received. */
static void event_committed(sv_wop *op, void *data)
{
    sv_live *L = data;
    sv_jobs *J = L->svc;
    J->hooks.event(J->hooks.data, L, op->type, op->seq, op->live_data ? op->live_data : op->data);
    if (op->final) {
        L->closed = 1;
        J->hooks.closed(J->hooks.data, L);
    }
    L->pending_writes--;
    maybe_release(J, L);
}

/* Emits one event of job L: stored (stored_data, or data when NULL) and, once committed,
 * pushed to live streams (data). final marks the job's last status event. */
static void emit(sv_jobs *J, sv_live *L, const char *type, const char *data,
                 const char *stored_data, int final)
{
    sv_wop *op = sv_wop_new(SV_W_EVENT, L->ent.id);
    char *stored_copy = strdup(stored_data ? stored_data : data);
    char *live_copy = stored_data ? strdup(data) : NULL;
    if (!op || !stored_copy || (stored_data && !live_copy)) {
        sv_log_error("out of memory emitting an event", "job=%s type=%s", L->ent.id, type);
        free(op);
        free(live_copy);
        free(stored_copy);
        return;
    }
    op->seq = ++L->seq;
    snprintf(op->type, sizeof op->type, "%s", type);
    op->t = sv_wall_now();
    op->data = stored_copy;
    op->live_data = live_copy;
    op->final = final;
    op->retry = 1;
    op->done = event_committed;
    op->done_data = L;
    L->pending_writes++;
    J->cfg.metrics->events++;
    J->hooks.write(J->hooks.data, op);
}

static void emit_status(sv_jobs *J, sv_live *L, const char *error_json)
{
    char *s = sv_status_event_json(L->state, L->attempts, error_json);
    if (s)
        emit(J, L, "status", s, NULL, sv_job_state_final(L->state));
    else
        sv_log_error("out of memory emitting a status event", "job=%s", L->ent.id);
    free(s);
}

/* ---- dispatch ---- */

/* Hands L, taken from the queue or claimed, to a worker. durable: the store already recorded
 * the start (a claim); otherwise the claim is written here. 0, or -1 out of memory. */
static int start(sv_jobs *J, sv_live *L, int durable)
{
    sv_task *t = calloc(1, sizeof *t);
    sv_wop *op = durable ? NULL : sv_wop_new(SV_W_CLAIM, L->ent.id);
    if (!t || (!durable && !op)) {
        free(t);
        free(op);
        sv_log_error("out of memory dispatching", "job=%s", L->ent.id);
        return -1;
    }
    L->state = SV_JOB_RUNNING;
    if (!durable)
        L->attempts++;
    snprintf(t->id, sizeof t->id, "%s", L->ent.id);
    t->codec = L->codec;
    t->request = L->request;
    L->request = NULL;
    t->env = J->cfg.env;
    t->time_limit_s = L->time_limit_s > 0 ? L->time_limit_s : J->cfg.max_job_seconds;
    t->progress_interval_s = J->cfg.progress_interval_s;
    t->owner = L;
    L->task = t;
    if (op) {
        op->t = sv_wall_now();
        op->attempts = L->attempts;
        snprintf(op->node, sizeof op->node, "%s", J->node);
        op->lease_s = J->cfg.lease_s;
        op->retry = 1;
        J->hooks.write(J->hooks.data, op);
    }
    emit_status(J, L, NULL);
    sv_log_info("job started", "job=%s solver=%s attempt=%d", L->ent.id, L->codec->name,
                L->attempts);
    J->running++;
    J->hooks.run(J->hooks.data, t);
    return 0;
}

static void claimed(void *kdata, int rc, const sv_job *row);

void sv_jobs_dispatch(sv_jobs *J)
{
    if (J->hooks.claim) {
        /* A shared store: as many claims as free workers, until one finds nothing. */
        while (!J->draining && !J->store_empty &&
               J->running + J->claiming < J->cfg.workers) {
            J->claiming++;
            J->hooks.claim(J->hooks.data, claimed, J);
        }
        return;
    }
    while (!J->draining && J->running < J->cfg.workers) {
        sv_jobent *e = sv_queue_take(J->queue);
        if (!e)
            break;
        if (start(J, (sv_live *)e, J->queue->ops->claims_durably) != 0) {
            sv_queue_add(J->queue, e);
            return;
        }
    }
}

void sv_jobs_wake(sv_jobs *J)
{
    J->store_empty = 0;
    sv_jobs_dispatch(J);
}

/* A shared store's claim came back: the job is this node's now (the store says running here,
 * attempts counted). A job of a solver this build lacks cannot run here, and no other node
 * could be told, so it fails with a reason rather than going round. */
static void claimed(void *kdata, int rc, const sv_job *row)
{
    sv_jobs *J = kdata;
    J->claiming--;
    if (rc != SV_STORE_OK) {
        if (rc != SV_STORE_ENOTFOUND)
            sv_log_warn("claiming from the shared store failed; retrying at the next poll",
                        "rc=%d", rc);
        J->store_empty = 1;
        return;
    }
    const sv_codec *codec = sv_codec_find(row->solver);
    /* Submitted here and claimed before the insert's answer reached the loop: the same job. */
    sv_live *L = sv_jobs_find(J, row->id);
    if (!codec) {
        sv_log_error("claimed a job of a solver this build does not have", "job=%s solver=%s",
                     row->id, row->solver);
        L = L ? L : live_new(J, row, NULL);
        if (L) {
            L->state = SV_JOB_FAILED;
            L->attempts = row->attempts;
            L->seq = row->last_seq;
            sv_wop *op = sv_wop_new(SV_W_FINISH, row->id);
            char *err = strdup("{\"code\":\"unsupported\",\"message\":\"the node that took the "
                               "job has no solver of this name\"}");
            if (op && err) {
                op->state = SV_JOB_FAILED;
                op->t = sv_wall_now();
                snprintf(op->node, sizeof op->node, "%s", J->node);
                op->error = err;
                op->retry = 1;
                J->hooks.write(J->hooks.data, op);
                emit_status(J, L, err);
            } else {
                free(op);
                free(err);
            }
            maybe_release(J, L);
        }
        sv_jobs_dispatch(J);
        return;
    }
    if (!L)
        L = live_new(J, row, codec);
    if (!L) {
        /* Claimed but not tracked: its lease runs out and another node takes it. */
        sv_log_error("out of memory tracking a claimed job", "job=%s", row->id);
        return;
    }
    L->codec = codec;
    L->attempts = row->attempts;
    L->seq = row->last_seq > L->seq ? row->last_seq : L->seq;
    if (!L->request && row->request && (J->cfg.request_keep_bytes == 0 ||
                                        strlen(row->request) <= J->cfg.request_keep_bytes))
        L->request = strdup(row->request);
    if (start(J, L, 1) != 0)
        return;
    sv_jobs_dispatch(J);
}

void sv_jobs_cancel_local(sv_jobs *J, const char *id)
{
    sv_live *L = sv_jobs_find(J, id);
    if (L && L->task && !atomic_exchange(&L->task->cancel, 1))
        sv_log_info("job cancel requested (from another node)", "job=%s", id);
}

/* ---- worker messages ---- */

static void on_done(sv_jobs *J, sv_task *t)
{
    sv_live *L = t->owner;
    L->task = NULL;
    J->running--;
    if (atomic_load(&t->shutdown)) {
        /* Interrupted by shutdown: left `running` in the store on purpose; the next start
         * requeues it. */
        sv_log_info("job interrupted by shutdown", "job=%s", L->ent.id);
        sv_task_free(t);
        return;
    }
    L->state = t->final_state;
    sv_wop *op = sv_wop_new(SV_W_FINISH, L->ent.id);
    if (!op) {
        sv_log_error("out of memory finishing a job", "job=%s", L->ent.id);
        sv_task_free(t);
        return;
    }
    op->state = t->final_state;
    op->t = sv_wall_now();
    /* On a shared store only while this node still holds the job: if its lease ran out and
     * another node runs it again, that run's result is the one kept. */
    if (J->hooks.claim)
        snprintf(op->node, sizeof op->node, "%s", J->node);
    op->summary = t->summary ? strdup(t->summary) : NULL;
    op->error = t->error ? strdup(t->error) : NULL;
    /* The full result is pushed live and stored once, in the job row; the stored event keeps
     * the summary and is expanded from the row on replay. All of this lands in one batch. */
    if (t->result)
        emit(J, L, "result", t->result, t->summary ? t->summary : "{}", 0);
    op->result = t->result;
    t->result = NULL;
    /* Kept and retried until durable: the result is not lost to a store that fails for a
     * while (a full disk), and the events after it reach streams only once it is stored. */
    op->retry = 1;
    J->hooks.write(J->hooks.data, op);
    emit_status(J, L, t->error);
    sv_metrics_job_finished(J->cfg.metrics, L->codec, L->state);
    sv_log_info("job finished", "job=%s solver=%s state=%s", L->ent.id, L->codec->name,
                sv_job_state_name(L->state));
    sv_task_free(t);
    maybe_release(J, L);
    sv_jobs_dispatch(J);
}

void sv_jobs_deliver(void *data, sv_msg_kind kind, sv_task *t, const char *json)
{
    sv_jobs *J = data;
    if (kind == SV_MSG_PROGRESS)
        emit(J, t->owner, "progress", json, NULL, 0);
    else
        on_done(J, t);
}

static void interrupt_one(sv_jobent *e, void *data)
{
    (void)data;
    sv_live *L = (sv_live *)e;
    if (L->task)
        atomic_store(&L->task->shutdown, 1);
}

void sv_jobs_interrupt_all(sv_jobs *J) { sv_jobtable_each(&J->table, interrupt_one, NULL); }

void sv_jobs_drain(sv_jobs *J) { J->draining = 1; }

size_t sv_jobs_queued(const sv_jobs *J) { return sv_queue_length(J->queue); }
int sv_jobs_running(const sv_jobs *J) { return J->running; }

void sv_jobs_each(const sv_jobs *J, void (*fn)(const sv_live *L, void *data), void *data)
{
    for (size_t b = 0; b < J->table.nbuckets; b++)
        for (const sv_jobent *e = J->table.buckets[b]; e; e = e->hnext)
            fn((const sv_live *)e, data);   /* ent is sv_live's first member */
}

int sv_jobs_cancel_requested(sv_jobs *J, const char *id)
{
    sv_live *L = sv_jobs_find(J, id);
    return L && L->task && atomic_load(&L->task->cancel);
}

/* ---- submission ---- */

typedef struct {
    sv_jobs *J;
    sv_wop *op, *ev;             /* the row and its "queued" event, until handed to the writer */
    pending_submit *ps;          /* registered while the key is being checked and stored */
    char hash[24];
    sv_jobs_reply_fn cb;
    void *data;
} submit_ctx;

static pending_submit *find_pending(sv_jobs *J, const char *tenant, const char *key)
{
    for (pending_submit *p = J->pending; p; p = p->next)
        if (strcmp(p->tenant, tenant) == 0 && strcmp(p->key, key) == 0)
            return p;
    return NULL;
}

static void drop_pending(sv_jobs *J, pending_submit *ps)
{
    for (pending_submit **pp = &J->pending; *pp; pp = &(*pp)->next) {
        if (*pp == ps) {
            *pp = ps->next;
            free(ps);
            return;
        }
    }
}

static void submit_ctx_free(submit_ctx *c)
{
    if (c->ps)
        drop_pending(c->J, c->ps);
    sv_wop_free(c->op);
    sv_wop_free(c->ev);
    free(c);
}

static void insert_committed(sv_wop *op, void *data)
{
    submit_ctx *c = data;
    sv_jobs *J = c->J;
    if (op->rc == SV_STORE_ECONFLICT) {
        reply_fail(c->cb, c->data, "conflict", "a job with this Idempotency-Key already exists");
        submit_ctx_free(c);
        return;
    }
    if (op->rc != SV_STORE_OK) {
        reply_fail(c->cb, c->data, "unavailable",
                   "the job store failed; the job was not accepted");
        submit_ctx_free(c);
        return;
    }
    if (J->hooks.claim) {
        /* A shared store: whichever node claims it runs it (this one, perhaps already). */
        J->cfg.metrics->jobs_submitted++;
        sv_log_info("job queued", "job=%s solver=%s tenant=%s priority=%d", op->job.id,
                    op->job.solver, op->job.tenant, op->job.priority);
        reply_job(c->cb, c->data, SV_JOBS_CREATED, &op->job);
        submit_ctx_free(c);
        sv_jobs_wake(J);
        return;
    }
    sv_live *L = live_new(J, &op->job, sv_codec_find(op->job.solver));
    if (!L) {
        /* Stored but not in memory: it runs after the next restart. Say so honestly. */
        sv_log_error("out of memory tracking a stored job", "job=%s", op->job.id);
    } else {
        L->seq = 1;   /* the "queued" status event stored with the row */
        if (sv_queue_add(J->queue, &L->ent) != 0)
            sv_log_error("out of memory queueing a stored job", "job=%s", op->job.id);
    }
    J->cfg.metrics->jobs_submitted++;
    sv_log_info("job queued", "job=%s solver=%s tenant=%s priority=%d", op->job.id,
                op->job.solver, op->job.tenant, op->job.priority);
    reply_job(c->cb, c->data, SV_JOBS_CREATED, &op->job);
    submit_ctx_free(c);
    sv_jobs_dispatch(J);
}

/* The row and its first event go to the writer together: one transaction. */
static void submit_store(submit_ctx *c)
{
    sv_wop *op = c->op, *ev = c->ev;
    c->op = c->ev = NULL;   /* the writer's now */
    op->done = insert_committed;
    op->done_data = c;
    c->J->hooks.write(c->J->hooks.data, op);
    c->J->hooks.write(c->J->hooks.data, ev);
}

static void idem_found(void *kdata, int rc, const sv_job *prior)
{
    submit_ctx *c = kdata;
    if (rc == SV_STORE_OK) {
        int same = prior->request_hash && strcmp(prior->request_hash, c->hash) == 0;
        if (same)
            reply_job(c->cb, c->data, SV_JOBS_REPLAYED, prior);
        else
            reply_fail(c->cb, c->data, "conflict",
                       "Idempotency-Key was used with a different request body");
        submit_ctx_free(c);
        return;
    }
    if (rc != SV_STORE_ENOTFOUND) {
        reply_fail(c->cb, c->data, "unavailable", "the job store failed");
        submit_ctx_free(c);
        return;
    }
    submit_store(c);
}

static void reply_quota(const sv_jobs *J, sv_jobs_reply_fn cb, void *data)
{
    char msg[160];
    snprintf(msg, sizeof msg, "this tenant has %ld queued jobs, the limit; retry when some "
             "have started", J->cfg.max_queued_per_tenant);
    reply_fail(cb, data, "quota_exceeded", msg);
}

/* The key's lookup, then the insert (or the insert at once without a key). */
static void submit_proceed(submit_ctx *c)
{
    if (!c->ps) {
        submit_store(c);
        return;
    }
    sv_jobs_lookup q = {.tenant = c->ps->tenant, .idem_key = c->ps->key};
    c->J->hooks.lookup(c->J->hooks.data, &q, idem_found, c);
}

static void quota_counted(void *kdata, int rc, long n)
{
    submit_ctx *c = kdata;
    if (rc != SV_STORE_OK)
        reply_fail(c->cb, c->data, "unavailable", "the job store failed");
    else if (n >= c->J->cfg.max_queued_per_tenant)
        reply_quota(c->J, c->cb, c->data);
    else {
        submit_proceed(c);
        return;
    }
    submit_ctx_free(c);
}

/* A per-tenant quota counts the tenant's jobs in the queue: this node's queue, or on a shared
 * store the store's (every node's; count_queued). Submissions whose insert has not committed
 * yet are not queued yet, so a burst can pass the quota by the number of them in flight (as
 * many as arrive within one write batch, on every node at once on a shared store). */
void sv_jobs_submit(sv_jobs *J, const sv_jobs_submission *sub, sv_jobs_reply_fn cb, void *data)
{
    const char *key = sub->idem_key;
    int store_quota = J->cfg.max_queued_per_tenant > 0 && J->hooks.count_queued;
    if (J->cfg.max_queued_per_tenant > 0 && !store_quota &&
        (long)sv_queue_group_length(J->queue, sub->tenant) >= J->cfg.max_queued_per_tenant) {
        reply_quota(J, cb, data);
        return;
    }
    if (key && strlen(key) > IDEM_KEY_MAX) {
        reply_fail(cb, data, "bad_request", "Idempotency-Key is longer than 255 bytes");
        return;
    }
    for (const unsigned char *k = (const unsigned char *)key; k && *k; k++)
        if (*k < 0x20 || *k > 0x7e) {
            reply_fail(cb, data, "bad_request",
                       "Idempotency-Key may hold only printable ASCII characters");
            return;
        }
    if (key && find_pending(J, sub->tenant, key)) {
        reply_fail(cb, data, "conflict",
                   "a request with this Idempotency-Key is in progress; retry");
        return;
    }
    /* The texts were made off the loop (api/submit.h): the request as sent (key order matters:
     * expression problems order their variables by it) and the idempotency hash over the
     * key-sorted form, so that it ignores key order. */
    submit_ctx *c = calloc(1, sizeof *c);
    sv_wop *op = sv_wop_new(SV_W_INSERT, NULL);
    sv_wop *ev = sv_wop_new(SV_W_EVENT, NULL);
    pending_submit *ps = key ? calloc(1, sizeof *ps) : NULL;
    char *queued = sv_status_event_json(SV_JOB_QUEUED, 0, NULL);
    if (!c || !op || !ev || (key && !ps) || !queued) {
        free(c);
        free(op);
        free(ev);
        free(ps);
        free(queued);
        reply_fail(cb, data, "internal", "out of memory");
        return;
    }
    c->J = J;
    c->cb = cb;
    c->data = data;
    snprintf(c->hash, sizeof c->hash, "%s", sub->texts->hash);

    sv_job *j = &op->job;
    sv_new_job_id(J, j->id, sizeof j->id);
    snprintf(op->id, sizeof op->id, "%s", j->id);
    snprintf(j->tenant, sizeof j->tenant, "%s", sub->tenant);
    snprintf(j->solver, sizeof j->solver, "%s", sub->codec->name);
    j->state = SV_JOB_QUEUED;
    j->priority = sub->priority;
    j->time_limit_s = sub->time_limit_s;
    j->created_at = sv_wall_now();
    j->last_seq = 1;
    j->request = sub->texts->request;
    j->tags = sub->texts->tags;
    j->params = sub->texts->params;
    sub->texts->request = sub->texts->tags = sub->texts->params = NULL;
    j->idem_key = key ? strdup(key) : NULL;
    j->request_hash = key ? strdup(c->hash) : NULL;   /* only a key's replay compares it */
    snprintf(ev->id, sizeof ev->id, "%s", j->id);
    ev->seq = 1;
    snprintf(ev->type, sizeof ev->type, "status");
    ev->t = j->created_at;
    ev->data = queued;
    c->op = op;
    c->ev = ev;
    if (key) {
        /* Registered before the key is looked up, so that a second request with it meanwhile
         * is told to retry even when the lookup answers later. */
        snprintf(ps->tenant, sizeof ps->tenant, "%s", sub->tenant);
        snprintf(ps->key, sizeof ps->key, "%s", key);
        ps->next = J->pending;
        J->pending = ps;
        c->ps = ps;
    }
    if (store_quota)
        J->hooks.count_queued(J->hooks.data, sub->tenant, quota_counted, c);
    else
        submit_proceed(c);
}

/* ---- cancel ---- */

typedef struct {
    sv_jobs *J;
    sv_jobs_reply_fn cb;
    void *data;
} cancel_ctx;

static void reply_finished(sv_jobs_reply_fn cb, void *data, sv_job_state state)
{
    char msg[128];
    snprintf(msg, sizeof msg, "the job already finished (%s)", sv_job_state_name(state));
    reply_fail(cb, data, "conflict", msg);
}

static void finished_found(void *kdata, int rc, const sv_job *j)
{
    cancel_ctx *c = kdata;
    if (rc == SV_STORE_ENOTFOUND)
        reply_fail(c->cb, c->data, "not_found", "no such job");
    else if (rc != SV_STORE_OK)
        reply_fail(c->cb, c->data, "unavailable", "the job store failed");
    else
        reply_finished(c->cb, c->data, j->state);
    free(c);
}

static void cancelled_found(void *kdata, int rc, const sv_job *j)
{
    cancel_ctx *c = kdata;
    if (rc != SV_STORE_OK)
        reply_fail(c->cb, c->data, "unavailable", "the job store failed");
    else
        reply_job(c->cb, c->data, SV_JOBS_CANCELLED, j);
    free(c);
}

static void cancel_committed(sv_wop *op, void *data)
{
    cancel_ctx *c = data;
    sv_jobs *J = c->J;
    if (op->rc != SV_STORE_OK) {
        reply_fail(c->cb, c->data, "unavailable", "the job store failed");
        free(c);
        return;
    }
    sv_jobs_lookup q = {.id = op->id};
    J->hooks.lookup(J->hooks.data, &q, cancelled_found, c);
}

/* A shared store decided a cancel of a job that does not run here. */
static void remote_cancelled(void *kdata, int rc, sv_job_state was, const sv_job *row)
{
    cancel_ctx *c = kdata;
    if (rc == SV_STORE_ENOTFOUND) {
        reply_fail(c->cb, c->data, "not_found", "no such job");
    } else if (rc == SV_STORE_ESTATE) {
        reply_finished(c->cb, c->data, was);
    } else if (rc != SV_STORE_OK) {
        reply_fail(c->cb, c->data, "unavailable", "the job store failed");
    } else if (was == SV_JOB_RUNNING) {
        /* Its node sees the mark at its next poll and stops it. */
        sv_log_info("job cancel requested (runs on another node)", "job=%s node=%s", row->id,
                    row->node);
        sv_jobs_reply r = {.outcome = SV_JOBS_CANCELLING, .id = row->id};
        c->cb(c->data, &r);
    } else {
        sv_metrics_job_finished(c->J->cfg.metrics, sv_codec_find(row->solver),
                                SV_JOB_CANCELLED);
        sv_log_info("job cancelled", "job=%s", row->id);
        reply_job(c->cb, c->data, SV_JOBS_CANCELLED, row);
    }
    free(c);
}

void sv_jobs_cancel(sv_jobs *J, const char *id, const char *tenant, sv_jobs_reply_fn cb,
                    void *data)
{
    sv_live *L = sv_jobs_find(J, id);
    if (L && tenant && strcmp(L->tenant, tenant) != 0)
        L = NULL;
    /* Finished here but its last writes not yet committed: the store would still say queued
     * or running, so the live state answers. */
    if (L && sv_job_state_final(L->state)) {
        reply_finished(cb, data, L->state);
        return;
    }
    /* A queued job's cancel is a write the client waits for: while the store fails it would
     * wait for the store to recover, so it is refused now and the job stays queued. */
    if (L && L->state == SV_JOB_QUEUED && J->hooks.store_failing &&
        J->hooks.store_failing(J->hooks.data)) {
        reply_fail(cb, data, "unavailable", "the job store is failing; the job is still queued");
        return;
    }
    cancel_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        reply_fail(cb, data, "internal", "out of memory");
        return;
    }
    c->J = J;
    c->cb = cb;
    c->data = data;
    if (!L && J->hooks.cancel) {
        J->hooks.cancel(J->hooks.data, id, tenant, remote_cancelled, c);
        return;
    }
    if (!L) {
        sv_jobs_lookup q = {.id = id, .tenant = tenant};
        J->hooks.lookup(J->hooks.data, &q, finished_found, c);
        return;
    }
    if (L->state == SV_JOB_RUNNING && !L->task) {
        /* Interrupted by shutdown: its worker is done, the store still says running, and the
         * next start requeues it. Nothing here can stop it now. */
        free(c);
        reply_fail(cb, data, "unavailable",
                   "the server is stopping; the job was interrupted and is requeued when it "
                   "restarts");
        return;
    }
    if (L->state == SV_JOB_RUNNING) {
        free(c);
        atomic_store(&L->task->cancel, 1);
        sv_log_info("job cancel requested", "job=%s", L->ent.id);
        sv_jobs_reply r = {.outcome = SV_JOBS_CANCELLING, .id = L->ent.id};
        cb(data, &r);
        return;
    }
    /* Queued: it never starts. */
    sv_wop *op = sv_wop_new(SV_W_FINISH, L->ent.id);
    char *err = strdup(SV_CANCELLED_ERROR_JSON);
    if (!op || !err) {
        free(op);
        free(err);
        free(c);
        reply_fail(cb, data, "internal", "out of memory");
        return;
    }
    sv_queue_remove(J->queue, &L->ent);
    L->state = SV_JOB_CANCELLED;
    op->state = SV_JOB_CANCELLED;
    op->t = sv_wall_now();
    op->error = err;
    op->retry = 1;
    op->done = cancel_committed;
    op->done_data = c;
    J->hooks.write(J->hooks.data, op);
    emit_status(J, L, SV_CANCELLED_ERROR_JSON);
    sv_metrics_job_finished(J->cfg.metrics, L->codec, SV_JOB_CANCELLED);
    sv_log_info("job cancelled", "job=%s", L->ent.id);
    maybe_release(J, L);
}

/* ---- deletion and retention ---- */

typedef struct {
    sv_jobs *J;
    sv_jobs_reply_fn cb;
    void *data;
} delete_ctx;

static void delete_committed(sv_wop *op, void *data)
{
    delete_ctx *c = data;
    if (op->rc == SV_STORE_OK) {
        if (c->J->hooks.removed)
            c->J->hooks.removed(c->J->hooks.data, op->id);
        sv_log_info("job deleted", "job=%s", op->id);
        sv_jobs_reply r = {.outcome = SV_JOBS_DELETED, .id = op->id};
        c->cb(c->data, &r);
    } else if (op->rc == SV_STORE_ENOTFOUND) {
        reply_fail(c->cb, c->data, "not_found", "no such job");
    } else if (op->rc == SV_STORE_ESTATE) {
        reply_fail(c->cb, c->data, "conflict", "the job is not finished: cancel it first");
    } else {
        reply_fail(c->cb, c->data, "unavailable", "the job store failed");
    }
    free(c);
}

void sv_jobs_delete(sv_jobs *J, const char *id, const char *tenant, sv_jobs_reply_fn cb,
                    void *data)
{
    sv_live *L = sv_jobs_find(J, id);
    if (L && (!tenant || strcmp(L->tenant, tenant) == 0)) {
        char msg[128];
        if (!sv_job_state_final(L->state))
            snprintf(msg, sizeof msg, "the job is %s: cancel it first",
                     sv_job_state_name(L->state));
        else
            snprintf(msg, sizeof msg, "the job is finishing; try again in a moment");
        reply_fail(cb, data, "conflict", msg);
        return;
    }
    delete_ctx *c = calloc(1, sizeof *c);
    sv_wop *op = sv_wop_new(SV_W_DELETE, id);
    if (!c || !op) {
        free(c);
        sv_wop_free(op);
        reply_fail(cb, data, "internal", "out of memory");
        return;
    }
    c->J = J;
    c->cb = cb;
    c->data = data;
    snprintf(op->tenant, sizeof op->tenant, "%s", tenant ? tenant : "");   /* "": any */
    if (J->hooks.removed)
        J->hooks.removed(J->hooks.data, id);
    op->done = delete_committed;
    op->done_data = c;
    J->hooks.write(J->hooks.data, op);
}

static void maintained(sv_wop *op, void *data)
{
    sv_jobs *J = data;
    if (op->rc == SV_STORE_OK && op->deleted > 0) {
        if (J->hooks.removed)
            J->hooks.removed(J->hooks.data, NULL);
        sv_log_info("retention", "deleted=%ld", op->deleted);
    }
}

void sv_jobs_maintain(sv_jobs *J, double finished_before, long keep)
{
    sv_wop *op = sv_wop_new(SV_W_MAINTAIN, "");
    if (!op)
        return;
    op->before = finished_before;
    op->keep = keep;
    op->done = maintained;
    op->done_data = J;
    J->hooks.write(J->hooks.data, op);
}

/* ---- start-up and teardown ---- */

static int load_one(void *data, const sv_job *j)
{
    sv_jobs *J = data;
    const sv_codec *codec = sv_codec_find(j->solver);
    if (!codec) {
        sv_log_warn("queued job of an unknown solver left queued", "job=%s solver=%s", j->id,
                    j->solver);
        return 0;
    }
    sv_live *L = live_new(J, j, codec);
    if (!L || sv_queue_add(J->queue, &L->ent) != 0)
        return -1;
    return 0;
}

int sv_jobs_load(sv_jobs *J, sv_store *s)
{
    return sv_store_each_queued(s, load_one, J) == SV_STORE_OK ? 0 : -1;
}

int sv_jobs_init(sv_jobs *J, const sv_jobs_config *cfg, const sv_jobs_hooks *hooks,
                 sv_queue *queue)
{
    memset(J, 0, sizeof *J);
    J->cfg = *cfg;
    snprintf(J->node, sizeof J->node, "%s", cfg->node ? cfg->node : "");
    J->cfg.node = J->node;
    J->hooks = *hooks;
    J->queue = queue;
    J->id_random = cfg->id_seed;
    if (!queue || sv_jobtable_init(&J->table) != 0) {
        sv_queue_destroy(queue);
        J->queue = NULL;
        return -1;
    }
    return 0;
}

static void free_one(sv_jobent *e, void *data)
{
    (void)data;
    sv_live *L = (sv_live *)e;
    if (L->task)
        sv_task_free(L->task);
    live_free(L);
}

void sv_jobs_free(sv_jobs *J)
{
    /* The queue first: it may point at entries freed below. */
    sv_queue_destroy(J->queue);
    J->queue = NULL;
    sv_jobtable_each(&J->table, free_one, NULL);
    sv_jobtable_free(&J->table);
    while (J->pending) {
        pending_submit *n = J->pending->next;
        free(J->pending);
        J->pending = n;
    }
}
