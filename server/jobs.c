/* jobs.c - the job table of the loop thread: live jobs by id, the dispatch heap (priority, then
 * age), submission with group-committed durability and idempotency keys, cancellation, the
 * messages of the worker pool, and the events each transition emits to the store and to live
 * subscribers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api/errors.h"
#include "api/jobjson.h"
#include "core/solver.h"
#include "server/log.h"
#include "server/server.h"

/* Submissions waiting for their commit, so that a second request with the same Idempotency-Key
 * meanwhile is told to retry instead of racing the first. */
typedef struct pending_submit {
    char tenant[64];
    char key[256];
    sv_req *req;
    struct pending_submit *next;
} pending_submit;


double sv_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 12 hex digits of milliseconds since the epoch, then a counter and random bits: ids sort by
 * creation time, which is what listing and cursors rely on. */
void sv_new_job_id(sv_app *app, char *out, size_t n)
{
    unsigned long long ms = (unsigned long long)(sv_wall_now() * 1000.0);
    app->id_random = app->id_random * 6364136223846793005ULL + 1442695040888963407ULL;
    snprintf(out, n, "%012llx%04x%06x", ms & 0xffffffffffffULL, (app->id_counter++) & 0xffff,
             (unsigned)(app->id_random >> 40) & 0xffffff);
}

/* ---- hash table ---- */

static size_t hash_id(const char *id)
{
    size_t h = 1469598103934665603ULL;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ULL;
    return h;
}

sv_live *sv_jobs_find(sv_app *app, const char *id)
{
    sv_jobs *J = &app->jobs;
    for (sv_live *L = J->buckets[hash_id(id) % J->nbuckets]; L; L = L->hnext)
        if (strcmp(L->id, id) == 0)
            return L;
    return NULL;
}

static int table_grow(sv_jobs *J)
{
    size_t nb = J->nbuckets * 2;
    sv_live **b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < J->nbuckets; i++) {
        sv_live *L = J->buckets[i];
        while (L) {
            sv_live *next = L->hnext;
            size_t k = hash_id(L->id) % nb;
            L->hnext = b[k];
            b[k] = L;
            L = next;
        }
    }
    free(J->buckets);
    J->buckets = b;
    J->nbuckets = nb;
    return 0;
}

static void table_add(sv_jobs *J, sv_live *L)
{
    if (J->count + 1 > J->nbuckets * 2)
        table_grow(J);
    size_t k = hash_id(L->id) % J->nbuckets;
    L->hnext = J->buckets[k];
    J->buckets[k] = L;
    J->count++;
}

static void table_remove(sv_jobs *J, sv_live *L)
{
    sv_live **pp = &J->buckets[hash_id(L->id) % J->nbuckets];
    while (*pp && *pp != L)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = L->hnext;
        J->count--;
    }
}

/* ---- dispatch heap ---- */

static int before(const sv_live *a, const sv_live *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    if (a->created_at != b->created_at)
        return a->created_at < b->created_at;
    return strcmp(a->id, b->id) < 0;
}

static void heap_set(sv_jobs *J, size_t i, sv_live *L)
{
    J->heap[i] = L;
    L->heap_index = (int)i;
}

static void sift_up(sv_jobs *J, size_t i)
{
    sv_live *L = J->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(L, J->heap[parent]))
            break;
        heap_set(J, i, J->heap[parent]);
        i = parent;
    }
    heap_set(J, i, L);
}

static void sift_down(sv_jobs *J, size_t i)
{
    sv_live *L = J->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= J->heap_len)
            break;
        if (c + 1 < J->heap_len && before(J->heap[c + 1], J->heap[c]))
            c++;
        if (!before(J->heap[c], L))
            break;
        heap_set(J, i, J->heap[c]);
        i = c;
    }
    heap_set(J, i, L);
}

static int heap_push(sv_jobs *J, sv_live *L)
{
    if (J->heap_len == J->heap_cap) {
        size_t cap = J->heap_cap ? J->heap_cap * 2 : 64;
        sv_live **h = realloc(J->heap, cap * sizeof *h);
        if (!h)
            return -1;
        J->heap = h;
        J->heap_cap = cap;
    }
    J->heap[J->heap_len++] = L;
    sift_up(J, J->heap_len - 1);
    return 0;
}

static void heap_remove(sv_jobs *J, sv_live *L)
{
    size_t i = (size_t)L->heap_index;
    L->heap_index = -1;
    J->heap_len--;
    if (i == J->heap_len)
        return;
    heap_set(J, i, J->heap[J->heap_len]);
    sift_down(J, i);
    sift_up(J, (size_t)J->heap[i]->heap_index);
}

size_t sv_jobs_queued(const sv_app *app) { return app->jobs.heap_len; }

/* ---- live entries ---- */

static sv_live *live_new(sv_app *app, const sv_job *j, const sv_codec *codec)
{
    sv_live *L = calloc(1, sizeof *L);
    if (!L)
        return NULL;
    L->app = app;
    snprintf(L->id, sizeof L->id, "%s", j->id);
    snprintf(L->tenant, sizeof L->tenant, "%s", j->tenant);
    L->codec = codec;
    L->state = j->state;
    L->priority = j->priority;
    L->created_at = j->created_at;
    L->time_limit_s = j->time_limit_s;
    L->attempts = j->attempts;
    L->seq = j->last_seq;
    L->heap_index = -1;
    L->request = j->request ? strdup(j->request) : NULL;
    table_add(&app->jobs, L);
    return L;
}

static void live_free(sv_live *L)
{
    free(L->request);
    free(L);
}

/* A finished job leaves the table once its last events are durable and no stream holds it. */
static void maybe_release(sv_app *app, sv_live *L)
{
    if (sv_job_state_final(L->state) && L->pending_writes == 0 && !L->subs && !L->task) {
        table_remove(&app->jobs, L);
        live_free(L);
    }
}

/* ---- events ---- */

/* The job's final status is durable: streams get what is buffered and end. */
static void detach_streams(sv_live *L)
{
    sv_sub *s = L->subs;
    L->subs = NULL;
    while (s) {
        sv_sub *next = s->next;
        s->next = NULL;
        s->live = NULL;
        sv_stream_end(s);
        s = next;
    }
}

/* Subscribers see an event only once it is durable, so that whatever a client reads next
 * (GET /v1/jobs/{id}, /result) already agrees with the event it just received. */
static void event_committed(sv_wop *op, void *data)
{
    sv_live *L = data;
    for (sv_sub *s = L->subs; s; s = s->next)
        sv_stream_push(s, op->type, op->seq, op->live_data ? op->live_data : op->data);
    if (op->final) {
        L->closed = 1;
        detach_streams(L);
    }
    L->pending_writes--;
    maybe_release(L->app, L);
}

/* Emits one event of job L: stored (stored_data, or data when NULL) and, once committed,
 * pushed to live streams (data). final marks the job's last status event. */
static void emit(sv_app *app, sv_live *L, const char *type, const char *data,
                 const char *stored_data, int final)
{
    sv_wop *op = sv_wop_new(SV_W_EVENT, L->id);
    char *stored_copy = strdup(stored_data ? stored_data : data);
    char *live_copy = stored_data ? strdup(data) : NULL;
    if (!op || !stored_copy || (stored_data && !live_copy)) {
        sv_log_error("out of memory emitting an event", "job=%s type=%s", L->id, type);
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
    op->done = event_committed;
    op->done_data = L;
    L->pending_writes++;
    sv_writer_submit(&app->writer, op);
    app->metrics.events++;
}

static void emit_status(sv_app *app, sv_live *L, const char *error_json)
{
    json_t *o = json_pack("{s:s, s:i}", "status", sv_job_state_name(L->state), "attempt",
                          L->attempts);
    if (error_json) {
        json_t *e = json_loads(error_json, 0, NULL);
        if (e)
            json_object_set_new(o, "error", e);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s)
        emit(app, L, "status", s, NULL, sv_job_state_final(L->state));
    free(s);
}

/* ---- dispatch ---- */

void sv_jobs_dispatch(sv_app *app)
{
    sv_jobs *J = &app->jobs;
    while (!app->draining && app->pool.busy < app->pool.n && J->heap_len > 0) {
        sv_live *L = J->heap[0];
        heap_remove(J, L);
        sv_task *t = calloc(1, sizeof *t);
        sv_wop *op = sv_wop_new(SV_W_RUNNING, L->id);
        if (!t || !op) {
            free(t);
            free(op);
            heap_push(J, L);
            sv_log_error("out of memory dispatching", "job=%s", L->id);
            return;
        }
        L->state = SV_JOB_RUNNING;
        L->attempts++;
        snprintf(t->id, sizeof t->id, "%s", L->id);
        t->codec = L->codec;
        t->request = L->request;
        L->request = NULL;
        t->env = &app->env;
        t->time_limit_s = L->time_limit_s > 0 ? L->time_limit_s : app->cfg.max_job_seconds;
        t->progress_interval_s = app->cfg.progress_interval_ms / 1000.0;
        t->owner = L;
        L->task = t;
        op->t = sv_wall_now();
        op->attempts = L->attempts;
        sv_writer_submit(&app->writer, op);
        emit_status(app, L, NULL);
        sv_log_info("job started", "job=%s solver=%s attempt=%d", L->id, L->codec->name,
                    L->attempts);
        sv_pool_submit(&app->pool, t);
    }
}

/* ---- pool messages ---- */

static void on_done(sv_app *app, sv_task *t)
{
    sv_live *L = t->owner;
    L->task = NULL;
    app->pool.busy--;
    if (atomic_load(&t->shutdown)) {
        /* Interrupted by shutdown: left `running` in the store on purpose; the next start
         * requeues it. */
        sv_log_info("job interrupted by shutdown", "job=%s", L->id);
        sv_task_free(t);
        return;
    }
    L->state = t->final_state;
    sv_wop *op = sv_wop_new(SV_W_FINISH, L->id);
    if (!op) {
        sv_log_error("out of memory finishing a job", "job=%s", L->id);
        sv_task_free(t);
        return;
    }
    op->state = t->final_state;
    op->t = sv_wall_now();
    op->summary = t->summary ? strdup(t->summary) : NULL;
    op->error = t->error ? strdup(t->error) : NULL;
    /* The full result is pushed live and stored once, in the job row; the stored event keeps
     * the summary and is expanded from the row on replay. All of this lands in one batch. */
    if (t->result)
        emit(app, L, "result", t->result, t->summary ? t->summary : "{}", 0);
    op->result = t->result;
    t->result = NULL;
    sv_writer_submit(&app->writer, op);
    emit_status(app, L, t->error);
    sv_metrics_job_finished(&app->metrics, L->codec, L->state);
    sv_log_info("job finished", "job=%s solver=%s state=%s", L->id, L->codec->name,
                sv_job_state_name(L->state));
    sv_task_free(t);
    maybe_release(app, L);
    sv_jobs_dispatch(app);
}

void sv_jobs_on_async(uv_async_t *h)
{
    sv_app *app = h->data;
    sv_pool *p = &app->pool;
    uv_mutex_lock(&p->out_mu);
    sv_msg *m = p->out;
    p->out = NULL;
    uv_mutex_unlock(&p->out_mu);
    /* The list is newest first: reverse it to handle messages in the order they were sent. */
    sv_msg *ordered = NULL;
    while (m) {
        sv_msg *next = m->next;
        m->next = ordered;
        ordered = m;
        m = next;
    }
    while (ordered) {
        sv_msg *next = ordered->next;
        if (ordered->kind == SV_MSG_PROGRESS)
            emit(app, ordered->task->owner, "progress", ordered->data, NULL, 0);
        else
            on_done(app, ordered->task);
        free(ordered->data);
        free(ordered);
        ordered = next;
    }
}

void sv_jobs_interrupt_all(sv_app *app)
{
    sv_jobs *J = &app->jobs;
    for (size_t i = 0; i < J->nbuckets; i++)
        for (sv_live *L = J->buckets[i]; L; L = L->hnext)
            if (L->task)
                atomic_store(&L->task->shutdown, 1);
}

/* ---- submission ---- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static pending_submit *find_pending(sv_app *app, const char *tenant, const char *key)
{
    for (pending_submit *p = app->pending_submits; p; p = p->next)
        if (strcmp(p->tenant, tenant) == 0 && strcmp(p->key, key) == 0)
            return p;
    return NULL;
}

static void drop_pending(sv_app *app, sv_req *r)
{
    for (pending_submit **pp = &app->pending_submits; *pp; pp = &(*pp)->next) {
        if ((*pp)->req == r) {
            pending_submit *p = *pp;
            *pp = p->next;
            free(p);
            return;
        }
    }
}

static void insert_committed(sv_wop *op, void *data)
{
    sv_req *r = data;
    sv_app *app = r->app;
    drop_pending(app, r);
    if (op->rc == SV_STORE_ECONFLICT) {
        sv_http_error(r, "conflict", "a job with this Idempotency-Key already exists", NULL);
        return;
    }
    if (op->rc != SV_STORE_OK) {
        sv_http_error(r, "unavailable", "the job store failed; the job was not accepted", NULL);
        return;
    }
    sv_live *L = live_new(app, &op->job, sv_codec_find(op->job.solver));
    if (!L) {
        /* Stored but not in memory: it runs after the next restart. Say so honestly. */
        sv_log_error("out of memory tracking a stored job", "job=%s", op->job.id);
    } else {
        L->seq = 1;   /* the "queued" status event stored with the row */
        heap_push(&app->jobs, L);
    }
    app->metrics.jobs_submitted++;
    sv_log_info("job queued", "job=%s solver=%s tenant=%s priority=%d", op->job.id,
                op->job.solver, op->job.tenant, op->job.priority);
    sv_http_json(r, 201, sv_job_to_json(&op->job, 1));
    sv_jobs_dispatch(app);
}

enum MHD_Result sv_jobs_submit(sv_app *app, sv_req *r, json_t *body, const sv_codec *codec,
                               int priority, double time_limit_s, const char *idem_key)
{
    /* Stored as given (key order matters: expression problems order their variables by it);
     * the idempotency hash is taken over the key-sorted form, so that it ignores key order. */
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17));
    char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    if (!text || !canon) {
        free(text);
        free(canon);
        return sv_http_error(r, "internal", "out of memory", NULL);
    }
    char hash[24];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv1a(canon));
    free(canon);
    if (idem_key) {
        if (strlen(idem_key) > 255) {
            free(text);
            return sv_http_error(r, "bad_request", "Idempotency-Key is longer than 255 bytes",
                                 NULL);
        }
        if (find_pending(app, r->tenant, idem_key)) {
            free(text);
            return sv_http_error(r, "conflict",
                                 "a request with this Idempotency-Key is in progress; retry",
                                 NULL);
        }
        sv_job prior;
        memset(&prior, 0, sizeof prior);
        int rc = sv_store_find_idem(app->rstore, r->tenant, idem_key, &prior);
        if (rc == SV_STORE_OK) {
            int same = prior.request_hash && strcmp(prior.request_hash, hash) == 0;
            free(text);
            if (!same) {
                sv_job_clear(&prior);
                return sv_http_error(r, "conflict",
                                     "Idempotency-Key was used with a different request body",
                                     NULL);
            }
            json_t *j = sv_job_to_json(&prior, 1);
            sv_job_clear(&prior);
            return sv_http_json(r, 200, j);
        }
        if (rc != SV_STORE_ENOTFOUND) {
            free(text);
            return sv_http_error(r, "unavailable", "the job store failed", NULL);
        }
    }
    sv_wop *op = sv_wop_new(SV_W_INSERT, NULL);
    sv_wop *ev = sv_wop_new(SV_W_EVENT, NULL);
    pending_submit *ps = idem_key ? calloc(1, sizeof *ps) : NULL;
    json_t *tags = json_object_get(body, "tags");
    char *tags_text = tags ? json_dumps(tags, JSON_COMPACT) : strdup("[]");
    if (!op || !ev || (idem_key && !ps) || !tags_text) {
        free(text);
        free(op);
        free(ev);
        free(ps);
        free(tags_text);
        return sv_http_error(r, "internal", "out of memory", NULL);
    }
    sv_job *j = &op->job;
    sv_new_job_id(app, j->id, sizeof j->id);
    snprintf(op->id, sizeof op->id, "%s", j->id);
    snprintf(j->tenant, sizeof j->tenant, "%s", r->tenant);
    snprintf(j->solver, sizeof j->solver, "%s", codec->name);
    j->state = SV_JOB_QUEUED;
    j->priority = priority;
    j->time_limit_s = time_limit_s;
    j->created_at = sv_wall_now();
    j->last_seq = 1;
    j->request = text;
    j->tags = tags_text;
    json_t *params = json_object_get(body, "params");
    j->params = json_is_object(params) ? json_dumps(params, JSON_COMPACT | JSON_REAL_PRECISION(17))
                                       : NULL;
    j->idem_key = idem_key ? strdup(idem_key) : NULL;
    j->request_hash = strdup(hash);
    op->done = insert_committed;
    op->done_data = r;
    snprintf(ev->id, sizeof ev->id, "%s", j->id);
    ev->seq = 1;
    snprintf(ev->type, sizeof ev->type, "status");
    ev->t = j->created_at;
    ev->data = strdup("{\"status\":\"queued\",\"attempt\":0}");
    if (ps) {
        snprintf(ps->tenant, sizeof ps->tenant, "%s", r->tenant);
        snprintf(ps->key, sizeof ps->key, "%s", idem_key);
        ps->req = r;
        ps->next = app->pending_submits;
        app->pending_submits = ps;
    }
    sv_writer_submit(&app->writer, op);
    sv_writer_submit(&app->writer, ev);
    return sv_http_defer(r);
}

/* ---- cancel ---- */

static void cancel_committed(sv_wop *op, void *data)
{
    sv_req *r = data;
    sv_job j;
    memset(&j, 0, sizeof j);
    if (op->rc != SV_STORE_OK || sv_store_get_job(r->app->rstore, op->id, NULL, &j) != 0) {
        sv_http_error(r, "unavailable", "the job store failed", NULL);
        return;
    }
    sv_http_json(r, 200, sv_job_to_json(&j, 1));
    sv_job_clear(&j);
}

enum MHD_Result sv_jobs_cancel(sv_app *app, sv_req *r, const char *id)
{
    sv_live *L = sv_jobs_find(app, id);
    if (L && strcmp(L->tenant, r->tenant) != 0)
        L = NULL;
    if (!L || sv_job_state_final(L->state)) {
        sv_job j;
        memset(&j, 0, sizeof j);
        int rc = sv_store_get_job(app->rstore, id, r->tenant, &j);
        if (rc == SV_STORE_ENOTFOUND)
            return sv_http_error(r, "not_found", "no such job", NULL);
        if (rc != SV_STORE_OK)
            return sv_http_error(r, "unavailable", "the job store failed", NULL);
        char msg[128];
        snprintf(msg, sizeof msg, "the job already finished (%s)", sv_job_state_name(j.state));
        sv_job_clear(&j);
        return sv_http_error(r, "conflict", msg, NULL);
    }
    if (L->state == SV_JOB_RUNNING) {
        atomic_store(&L->task->cancel, 1);
        sv_log_info("job cancel requested", "job=%s", L->id);
        json_t *o = json_pack("{s:s, s:s, s:b}", "id", L->id, "status", "running",
                              "cancel_requested", 1);
        return sv_http_json(r, 202, o);
    }
    /* Queued: it never starts. */
    sv_wop *op = sv_wop_new(SV_W_FINISH, L->id);
    if (!op)
        return sv_http_error(r, "internal", "out of memory", NULL);
    heap_remove(&app->jobs, L);
    L->state = SV_JOB_CANCELLED;
    op->state = SV_JOB_CANCELLED;
    op->t = sv_wall_now();
    op->error = strdup("{\"code\":\"cancelled\",\"message\":\"cancelled on request\"}");
    op->done = cancel_committed;
    op->done_data = r;
    sv_writer_submit(&app->writer, op);
    emit_status(app, L, op->error);
    sv_metrics_job_finished(&app->metrics, L->codec, SV_JOB_CANCELLED);
    sv_log_info("job cancelled", "job=%s", L->id);
    maybe_release(app, L);
    return sv_http_defer(r);
}

/* ---- start-up and teardown ---- */

static int load_one(void *data, const sv_job *j)
{
    sv_app *app = data;
    const sv_codec *codec = sv_codec_find(j->solver);
    if (!codec) {
        sv_log_warn("queued job of an unknown solver left queued", "job=%s solver=%s", j->id,
                    j->solver);
        return 0;
    }
    sv_live *L = live_new(app, j, codec);
    if (!L || heap_push(&app->jobs, L) != 0)
        return -1;
    return 0;
}

int sv_jobs_init(sv_app *app)
{
    sv_jobs *J = &app->jobs;
    memset(J, 0, sizeof *J);
    J->nbuckets = 1024;
    J->buckets = calloc(J->nbuckets, sizeof *J->buckets);
    return J->buckets ? 0 : -1;
}

int sv_jobs_load(sv_app *app)
{
    return sv_store_each_queued(app->rstore, load_one, app) == SV_STORE_OK ? 0 : -1;
}

void sv_jobs_free(sv_app *app)
{
    sv_jobs *J = &app->jobs;
    for (size_t i = 0; i < J->nbuckets; i++) {
        sv_live *L = J->buckets[i];
        while (L) {
            sv_live *next = L->hnext;
            if (L->task)
                sv_task_free(L->task);
            live_free(L);
            L = next;
        }
    }
    free(J->buckets);
    free(J->heap);
    memset(J, 0, sizeof *J);
    while (app->pending_submits) {
        pending_submit *n = app->pending_submits->next;
        free(app->pending_submits);
        app->pending_submits = n;
    }
}
