/* Unit tests of server/jobs.c, the job service, with fakes for its hooks: a writer that records
 * every op and commits them (to an in-memory store) only when a test says so, a run hook that
 * records the tasks handed to workers, an event hook that records what subscribers would see,
 * and a lookup that reads the in-memory store (at once, or later when a test holds it back).
 * What is asserted is what the service did: the ops it wrote, in order, the events (types, seq,
 * data) and when they were pushed, and the outcome and code of each reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "server/jobs.h"
#include "server/log.h"

#define SOLVER "distributed.ef21"
#define BODY_A "{\"solver\":\"" SOLVER "\",\"problem\":{\"generate\":{\"seed\":1}},\"params\":{\"k\":2}}"
/* BODY_A with its keys in another order: the same request for idempotency. */
#define BODY_A_REORDERED \
    "{\"params\":{\"k\":2},\"problem\":{\"generate\":{\"seed\":1}},\"solver\":\"" SOLVER "\"}"
#define BODY_B "{\"solver\":\"" SOLVER "\",\"problem\":{\"generate\":{\"seed\":2}}}"

/* ---- the fake store ---- */

#define MAX_ROWS 64
#define MAX_EVENTS 256
#define MAX_OPS 512

typedef struct {
    char id[40];
    long seq;
    char type[16];
    char *data;
} stored_event;

/* One record per op the service wrote, kept after the op is gone. */
typedef struct {
    sv_wop_kind kind;
    char id[40];
    long seq;
    char type[16];
    sv_job_state state;
    int attempts;
    char node[64];
    int final;
    int has_done;
    char *data;       /* EVENT: stored data; FINISH: error */
    char *live;       /* EVENT: live data when it differs; FINISH: result */
    char *summary;    /* FINISH */
} op_rec;

typedef struct {
    char id[40];
    char type[16];
    long seq;
    char *json;
    sv_job_state state;   /* L's state when the event was pushed */
} event_rec;

typedef struct held_lookup {
    char id[40], tenant[64], key[256];
    int has_id, has_tenant, has_key;
    sv_jobs_found k;
    void *kdata;
} held_lookup;

typedef struct {
    sv_jobs J;
    sv_metrics metrics;
    /* store */
    sv_job rows[MAX_ROWS];
    int nrows;
    stored_event events[MAX_EVENTS];
    int nevents;
    /* writer */
    sv_wop *pending[MAX_OPS];
    int npending;
    op_rec ops[MAX_OPS];
    int nops;
    int force_rc;          /* non-zero: the rc of every op committed next */
    /* workers */
    sv_task *tasks[MAX_OPS];
    int ntasks;
    /* subscribers */
    event_rec ev[MAX_EVENTS];
    int nev;
    char closed[MAX_OPS][40];
    int nclosed;
    /* lookups */
    int hold_lookups;      /* 1: lookups wait for answer_lookups() */
    int lookup_rc;         /* non-zero: every lookup answers this */
    held_lookup held[16];
    int nheld;
    int nlookups;
} fixture;

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void job_copy(sv_job *dst, const sv_job *src)
{
    *dst = *src;
    dst->request = dup_or_null(src->request);
    dst->params = dup_or_null(src->params);
    dst->tags = dup_or_null(src->tags);
    dst->progress = dup_or_null(src->progress);
    dst->summary = dup_or_null(src->summary);
    dst->error = dup_or_null(src->error);
    dst->idem_key = dup_or_null(src->idem_key);
    dst->request_hash = dup_or_null(src->request_hash);
}

static sv_job *row_find(fixture *f, const char *id)
{
    for (int i = 0; i < f->nrows; i++)
        if (strcmp(f->rows[i].id, id) == 0)
            return &f->rows[i];
    return NULL;
}

static sv_job *row_find_key(fixture *f, const char *tenant, const char *key)
{
    for (int i = 0; i < f->nrows; i++)
        if (f->rows[i].idem_key && strcmp(f->rows[i].tenant, tenant) == 0 &&
            strcmp(f->rows[i].idem_key, key) == 0)
            return &f->rows[i];
    return NULL;
}

/* What sv_store_* would do with op, much simplified: the states and uniqueness checks that the
 * service's callbacks react to. */
static int store_apply(fixture *f, const sv_wop *op)
{
    sv_job *r = op->kind == SV_W_INSERT ? NULL : row_find(f, op->id);
    switch (op->kind) {
    case SV_W_INSERT:
        if (row_find(f, op->job.id) ||
            (op->job.idem_key && row_find_key(f, op->job.tenant, op->job.idem_key)))
            return SV_STORE_ECONFLICT;
        assert_true(f->nrows < MAX_ROWS);
        job_copy(&f->rows[f->nrows++], &op->job);
        return SV_STORE_OK;
    case SV_W_CLAIM:
        if (!r)
            return SV_STORE_ENOTFOUND;
        if (r->state != SV_JOB_QUEUED)
            return SV_STORE_ESTATE;
        r->state = SV_JOB_RUNNING;
        r->attempts = op->attempts;
        r->started_at = op->t;
        snprintf(r->node, sizeof r->node, "%s", op->node);
        return SV_STORE_OK;
    case SV_W_FINISH:
        if (!r)
            return SV_STORE_ENOTFOUND;
        if (sv_job_state_final(r->state))
            return SV_STORE_ESTATE;
        r->state = op->state;
        r->finished_at = op->t;
        free(r->summary);
        r->summary = dup_or_null(op->summary);
        free(r->error);
        r->error = dup_or_null(op->error);
        return SV_STORE_OK;
    case SV_W_EVENT:
        if (!r)
            return SV_STORE_ENOTFOUND;
        for (int i = 0; i < f->nevents; i++)
            if (strcmp(f->events[i].id, op->id) == 0 && f->events[i].seq == op->seq)
                return SV_STORE_ECONFLICT;
        assert_true(f->nevents < MAX_EVENTS);
        stored_event *e = &f->events[f->nevents++];
        snprintf(e->id, sizeof e->id, "%s", op->id);
        snprintf(e->type, sizeof e->type, "%s", op->type);
        e->seq = op->seq;
        e->data = strdup(op->data);
        if (op->seq > r->last_seq)
            r->last_seq = op->seq;
        return SV_STORE_OK;
    case SV_W_DELETE:
        if (!r || strcmp(r->tenant, op->tenant) != 0)
            return SV_STORE_ENOTFOUND;
        if (!sv_job_state_final(r->state))
            return SV_STORE_ESTATE;
        sv_job_clear(r);
        *r = f->rows[--f->nrows];
        return SV_STORE_OK;
    case SV_W_MAINTAIN:
        return SV_STORE_OK;
    }
    return SV_STORE_EIO;
}

/* ---- hooks ---- */

static void hook_write(void *data, sv_wop *op)
{
    fixture *f = data;
    assert_true(f->npending < MAX_OPS && f->nops < MAX_OPS);
    f->pending[f->npending++] = op;
    op_rec *o = &f->ops[f->nops++];
    memset(o, 0, sizeof *o);
    o->kind = op->kind;
    snprintf(o->id, sizeof o->id, "%s", op->kind == SV_W_INSERT ? op->job.id : op->id);
    o->seq = op->seq;
    snprintf(o->type, sizeof o->type, "%s", op->type);
    o->state = op->state;
    o->attempts = op->attempts;
    snprintf(o->node, sizeof o->node, "%s", op->node);
    o->final = op->final;
    o->has_done = op->done != NULL;
    if (op->kind == SV_W_EVENT) {
        o->data = dup_or_null(op->data);
        o->live = dup_or_null(op->live_data);
    } else if (op->kind == SV_W_FINISH) {
        o->data = dup_or_null(op->error);
        o->live = dup_or_null(op->result);
        o->summary = dup_or_null(op->summary);
    }
}

static void hook_run(void *data, sv_task *t)
{
    fixture *f = data;
    assert_true(f->ntasks < MAX_OPS);
    f->tasks[f->ntasks++] = t;
}

static void hook_event(void *data, sv_live *L, const char *type, long seq, const char *json)
{
    fixture *f = data;
    assert_true(f->nev < MAX_EVENTS);
    event_rec *e = &f->ev[f->nev++];
    snprintf(e->id, sizeof e->id, "%s", L->ent.id);
    snprintf(e->type, sizeof e->type, "%s", type);
    e->seq = seq;
    e->json = strdup(json);
    e->state = L->state;
}

static void hook_closed(void *data, sv_live *L)
{
    fixture *f = data;
    snprintf(f->closed[f->nclosed++], sizeof f->closed[0], "%s", L->ent.id);
    L->subs = NULL;   /* what stream.c promises */
}

static void answer(fixture *f, const held_lookup *q)
{
    f->nlookups++;
    if (f->lookup_rc) {
        q->k(q->kdata, f->lookup_rc, NULL);
        return;
    }
    sv_job *r = q->has_key ? row_find_key(f, q->tenant, q->key) : row_find(f, q->id);
    if (r && !q->has_key && q->has_tenant && strcmp(r->tenant, q->tenant) != 0)
        r = NULL;
    /* A copy, valid during the call only, as the real lookup's row is. */
    sv_job row;
    if (r)
        job_copy(&row, r);
    q->k(q->kdata, r ? SV_STORE_OK : SV_STORE_ENOTFOUND, r ? &row : NULL);
    if (r)
        sv_job_clear(&row);
}

static void hook_lookup(void *data, const sv_jobs_lookup *q, sv_jobs_found k, void *kdata)
{
    fixture *f = data;
    held_lookup h;
    memset(&h, 0, sizeof h);
    h.has_id = q->id != NULL;
    h.has_tenant = q->tenant != NULL;
    h.has_key = q->idem_key != NULL;
    snprintf(h.id, sizeof h.id, "%s", q->id ? q->id : "");
    snprintf(h.tenant, sizeof h.tenant, "%s", q->tenant ? q->tenant : "");
    snprintf(h.key, sizeof h.key, "%s", q->idem_key ? q->idem_key : "");
    h.k = k;
    h.kdata = kdata;
    if (f->hold_lookups) {
        assert_true(f->nheld < 16);
        f->held[f->nheld++] = h;
        return;
    }
    answer(f, &h);
}

static void answer_lookups(fixture *f)
{
    int n = f->nheld;
    held_lookup copy[16];
    memcpy(copy, f->held, sizeof copy);
    f->nheld = 0;
    for (int i = 0; i < n; i++)
        answer(f, &copy[i]);
}

/* Commits the first n ops written (all when n < 0), in order, as one batch would: each op's
 * done callback runs after it is applied, then the op is freed. Ops written by a callback join
 * the end of the list (the next batch). */
static void commit(fixture *f, int n)
{
    if (n < 0 || n > f->npending)
        n = f->npending;
    sv_wop *batch[MAX_OPS];
    memcpy(batch, f->pending, (size_t)n * sizeof batch[0]);
    memmove(f->pending, f->pending + n, (size_t)(f->npending - n) * sizeof f->pending[0]);
    f->npending -= n;
    for (int i = 0; i < n; i++)
        batch[i]->rc = f->force_rc ? f->force_rc : store_apply(f, batch[i]);
    for (int i = 0; i < n; i++) {
        if (batch[i]->done)
            batch[i]->done(batch[i], batch[i]->done_data);
        sv_wop_free(batch[i]);
    }
}

/* Commits until nothing is left (callbacks may write more). */
static void commit_all(fixture *f)
{
    while (f->npending)
        commit(f, -1);
}

/* ---- replies ---- */

typedef struct {
    int calls;
    sv_jobs_outcome outcome;
    char id[40];
    char code[32];
    char message[256];
    int has_job;
    sv_job_state state;
    int attempts;
    char tenant[64];
} reply_rec;

static void on_reply(void *data, const sv_jobs_reply *r)
{
    reply_rec *rr = data;
    rr->calls++;
    rr->outcome = r->outcome;
    snprintf(rr->id, sizeof rr->id, "%s", r->id ? r->id : "");
    snprintf(rr->code, sizeof rr->code, "%s", r->code ? r->code : "");
    snprintf(rr->message, sizeof rr->message, "%s", r->message ? r->message : "");
    rr->has_job = r->job != NULL;
    if (r->job) {
        rr->state = r->job->state;
        rr->attempts = r->job->attempts;
        snprintf(rr->tenant, sizeof rr->tenant, "%s", r->job->tenant);
        assert_string_equal(r->job->id, rr->id);
    }
}

/* ---- set-up ---- */

/* request_keep_bytes of the next fixture (0: every request kept, the service's default). */
static size_t g_keep_bytes;

static int setup_n(void **state, int workers)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    sv_jobs_config cfg = {
        .workers = workers,
        .max_job_seconds = 60,
        .progress_interval_s = 0.25,
        .env = NULL,
        .node = "test-node",
        .lease_s = 0,
        .metrics = &f->metrics,
        .id_seed = 42,
        .request_keep_bytes = g_keep_bytes,
    };
    sv_jobs_hooks hooks = {
        .data = f,
        .write = hook_write,
        .run = hook_run,
        .event = hook_event,
        .closed = hook_closed,
        .lookup = hook_lookup,
    };
    if (sv_jobs_init(&f->J, &cfg, &hooks, sv_queue_memory_new()) != 0)
        return -1;
    *state = f;
    return 0;
}

static int setup1(void **state) { return setup_n(state, 1); }
static int setup1_keep70(void **state)
{
    g_keep_bytes = 70;
    int rc = setup_n(state, 1);
    g_keep_bytes = 0;
    return rc;
}
static int setup2(void **state) { return setup_n(state, 2); }

static int teardown(void **state)
{
    fixture *f = *state;
    sv_jobs_free(&f->J);
    /* Never committed: their callbacks do not run. Every test lets its submissions and
     * cancels finish (their contexts are the callbacks' to free, and the replies they write
     * live on the test's stack), so these are only events and claims. */
    assert_int_equal(f->nheld, 0);
    for (int i = 0; i < f->npending; i++)
        sv_wop_free(f->pending[i]);
    for (int i = 0; i < f->nrows; i++)
        sv_job_clear(&f->rows[i]);
    for (int i = 0; i < f->nevents; i++)
        free(f->events[i].data);
    for (int i = 0; i < f->nops; i++) {
        free(f->ops[i].data);
        free(f->ops[i].live);
        free(f->ops[i].summary);
    }
    for (int i = 0; i < f->nev; i++)
        free(f->ev[i].json);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    if (!v)
        fail_msg("bad JSON in a test: %s", err.text);
    return v;
}

static void submit(fixture *f, const char *tenant, const char *body, int priority,
                   double time_limit_s, const char *key, reply_rec *rr)
{
    /* As the intake makes them (server/intake.c): the texts of the parsed body. */
    sv_submit sb = {.body = parse(body)};
    sb.tags = json_object_get(sb.body, "tags");
    sv_submit_texts texts;
    assert_int_equal(sv_submit_texts_make(&sb, strdup(body), key != NULL, &texts), 0);
    sv_jobs_submission s = {
        .tenant = tenant,
        .texts = &texts,
        .codec = sv_codec_find(SOLVER),
        .priority = priority,
        .time_limit_s = time_limit_s,
        .idem_key = key,
    };
    assert_non_null(s.codec);
    memset(rr, 0, sizeof *rr);
    sv_jobs_submit(&f->J, &s, on_reply, rr);
    sv_submit_texts_clear(&texts);   /* what the service kept, it took */
    sv_submit_clear(&sb);
}

/* Submits and commits: the job's id. */
static void submit_created(fixture *f, const char *tenant, const char *body, int priority,
                           char *id_out)
{
    reply_rec rr;
    submit(f, tenant, body, priority, 0, NULL, &rr);
    commit_all(f);
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_CREATED);
    snprintf(id_out, 40, "%s", rr.id);
}

static void cancel(fixture *f, const char *id, const char *tenant, reply_rec *rr)
{
    memset(rr, 0, sizeof *rr);
    sv_jobs_cancel(&f->J, id, tenant, on_reply, rr);
}

static void delete_job(fixture *f, const char *id, const char *tenant, reply_rec *rr)
{
    memset(rr, 0, sizeof *rr);
    sv_jobs_delete(&f->J, id, tenant, on_reply, rr);
}

static sv_task *task_of(fixture *f, const char *id)
{
    for (int i = 0; i < f->ntasks; i++)
        if (strcmp(f->tasks[i]->id, id) == 0)
            return f->tasks[i];
    return NULL;
}

/* A worker's DONE message: the task ends in state with the given result. */
static void finish_task(fixture *f, sv_task *t, sv_job_state st, const char *result,
                        const char *summary, const char *error)
{
    t->final_state = st;
    t->result = dup_or_null(result);
    t->summary = dup_or_null(summary);
    t->error = dup_or_null(error);
    sv_jobs_deliver(&f->J, SV_MSG_DONE, t, NULL);
}

static int count_ops(const fixture *f, int from)
{
    return f->nops - from;
}

/* ---- submit ---- */

static void test_submit_created_after_commit(void **state)
{
    fixture *f = *state;
    reply_rec rr;
    submit(f, "t1", "{\"solver\":\"" SOLVER "\",\"problem\":{\"generate\":{\"seed\":1}},"
                    "\"params\":{\"k\":2},\"tags\":[\"x\",\"y\"]}",
           3, 2.5, NULL, &rr);
    /* Nothing is acknowledged before the store has it. */
    assert_int_equal(rr.calls, 0);
    assert_int_equal(f->nops, 2);
    assert_int_equal(f->ops[0].kind, SV_W_INSERT);
    assert_true(f->ops[0].has_done);
    assert_int_equal(f->ops[1].kind, SV_W_EVENT);   /* the row's "queued" event, same batch */
    assert_string_equal(f->ops[1].id, f->ops[0].id);
    assert_int_equal(f->ops[1].seq, 1);
    assert_string_equal(f->ops[1].type, "status");
    assert_string_equal(f->ops[1].data, "{\"status\":\"queued\",\"attempt\":0}");
    assert_null(sv_jobs_find(&f->J, f->ops[0].id));
    assert_int_equal(f->ntasks, 0);
    /* The row as written. */
    const sv_wop *ins = f->pending[0];
    assert_string_equal(ins->job.tenant, "t1");
    assert_string_equal(ins->job.solver, SOLVER);
    assert_int_equal(ins->job.state, SV_JOB_QUEUED);
    assert_int_equal(ins->job.priority, 3);
    assert_true(ins->job.time_limit_s == 2.5);
    assert_int_equal(ins->job.last_seq, 1);
    assert_string_equal(ins->job.tags, "[\"x\",\"y\"]");
    assert_string_equal(ins->job.params, "{\"k\":2}");
    assert_null(ins->job.idem_key);
    assert_null(ins->job.request_hash);   /* no key: nothing will compare a hash */
    assert_int_equal(strlen(ins->job.id), 22);   /* 12 + 4 + 6 hex digits */
    /* The request is stored with its keys in the order given. */
    assert_string_equal(ins->job.request,
                        "{\"solver\":\"" SOLVER "\",\"problem\":{\"generate\":{\"seed\":1}},"
                        "\"params\":{\"k\":2},\"tags\":[\"x\",\"y\"]}");

    char id[40];
    snprintf(id, sizeof id, "%s", f->ops[0].id);
    commit(f, 2);
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_CREATED);
    assert_string_equal(rr.id, id);
    assert_true(rr.has_job);
    assert_int_equal(rr.state, SV_JOB_QUEUED);
    assert_string_equal(rr.tenant, "t1");
    assert_int_equal(f->metrics.jobs_submitted, 1);
    assert_int_equal(f->nrows, 1);

    /* Committed, it is dispatched at once to the free worker: a claim, then "running". */
    sv_live *L = sv_jobs_find(&f->J, id);
    assert_non_null(L);
    assert_int_equal(L->state, SV_JOB_RUNNING);
    assert_int_equal(L->attempts, 1);
    assert_int_equal(f->ntasks, 1);
    sv_task *t = f->tasks[0];
    assert_string_equal(t->id, id);
    assert_ptr_equal(t->owner, L);
    assert_ptr_equal(t->codec, sv_codec_find(SOLVER));
    assert_true(t->time_limit_s == 2.5);
    assert_true(t->progress_interval_s == 0.25);
    assert_string_equal(t->request, f->rows[0].request);
    assert_null(L->request);   /* handed to the task */
    assert_int_equal(f->nops, 4);
    assert_int_equal(f->ops[2].kind, SV_W_CLAIM);
    assert_string_equal(f->ops[2].id, id);
    assert_int_equal(f->ops[2].attempts, 1);
    assert_string_equal(f->ops[2].node, "test-node");
    assert_int_equal(f->ops[3].kind, SV_W_EVENT);
    assert_int_equal(f->ops[3].seq, 2);
    assert_string_equal(f->ops[3].data, "{\"status\":\"running\",\"attempt\":1}");
    assert_int_equal(f->ops[3].final, 0);
    assert_int_equal(sv_jobs_running(&f->J), 1);
    assert_int_equal(sv_jobs_queued(&f->J), 0);
    /* The running event reaches subscribers only once durable. */
    assert_int_equal(f->nev, 0);
    commit_all(f);
    assert_int_equal(f->nev, 1);
    assert_string_equal(f->ev[0].type, "status");
    assert_int_equal(f->ev[0].seq, 2);
    assert_int_equal(f->rows[0].state, SV_JOB_RUNNING);
    assert_int_equal(f->rows[0].last_seq, 2);
}

static void test_submit_default_time_limit_and_tags(void **state)
{
    fixture *f = *state;
    reply_rec rr;
    submit(f, "t1", BODY_B, 0, 0, NULL, &rr);
    assert_string_equal(f->pending[0]->job.tags, "[]");
    assert_null(f->pending[0]->job.params);
    commit_all(f);
    assert_int_equal(rr.outcome, SV_JOBS_CREATED);
    assert_int_equal(f->ntasks, 1);
    assert_true(f->tasks[0]->time_limit_s == 60);   /* max_job_seconds when it sets none */
}

static void test_submit_store_failure(void **state)
{
    fixture *f = *state;
    reply_rec rr;
    submit(f, "t1", BODY_A, 0, 0, NULL, &rr);
    char id[40];
    snprintf(id, sizeof id, "%s", f->ops[0].id);
    f->force_rc = SV_STORE_EIO;
    commit_all(f);
    f->force_rc = 0;
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "unavailable");
    assert_null(sv_jobs_find(&f->J, id));
    assert_int_equal(f->ntasks, 0);
    assert_int_equal(f->nops, 2);   /* nothing written after the failed batch */
    assert_int_equal(f->metrics.jobs_submitted, 0);
}

static void test_submit_ids_distinct_and_sorted(void **state)
{
    fixture *f = *state;
    char prev[40] = "";
    for (int i = 0; i < 50; i++) {
        reply_rec rr;
        submit(f, "t1", BODY_B, 0, 0, NULL, &rr);
        const char *id = f->pending[f->npending - 2]->job.id;
        assert_true(strcmp(prev, id) < 0);   /* creation order is id order */
        snprintf(prev, sizeof prev, "%s", id);
        commit_all(f);
        assert_int_equal(rr.outcome, SV_JOBS_CREATED);
    }
}

/* ---- idempotency ---- */

static void test_idempotency_replay_and_conflict(void **state)
{
    fixture *f = *state;
    reply_rec r1, r2, r3, r4;
    submit(f, "t1", BODY_A, 0, 0, "key-1", &r1);
    assert_int_equal(f->nlookups, 1);   /* the key is looked up before anything is written */
    assert_string_equal(f->pending[0]->job.idem_key, "key-1");
    commit_all(f);
    assert_int_equal(r1.outcome, SV_JOBS_CREATED);
    int ops_before = f->nops;

    /* Same body, keys in another order: the earlier job, nothing written. */
    submit(f, "t1", BODY_A_REORDERED, 0, 0, "key-1", &r2);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r2.outcome, SV_JOBS_REPLAYED);
    assert_string_equal(r2.id, r1.id);
    assert_true(r2.has_job);
    assert_string_equal(r2.tenant, "t1");
    assert_int_equal(count_ops(f, ops_before), 0);

    /* Another body under the same key: refused. */
    submit(f, "t1", BODY_B, 0, 0, "key-1", &r3);
    assert_int_equal(r3.calls, 1);
    assert_int_equal(r3.outcome, SV_JOBS_FAILED);
    assert_string_equal(r3.code, "conflict");
    assert_string_equal(r3.message, "Idempotency-Key was used with a different request body");
    assert_int_equal(count_ops(f, ops_before), 0);

    /* Keys are per tenant: the same key of another tenant is a new job. */
    submit(f, "t2", BODY_B, 0, 0, "key-1", &r4);
    commit_all(f);
    assert_int_equal(r4.outcome, SV_JOBS_CREATED);
    assert_string_not_equal(r4.id, r1.id);
    assert_int_equal(f->nrows, 2);

    /* A replay after the job finished still answers with it. */
    finish_task(f, task_of(f, r1.id), SV_JOB_SUCCEEDED, "{\"x\":[1]}", "{\"obj\":1}", NULL);
    commit_all(f);
    reply_rec r5;
    submit(f, "t1", BODY_A, 0, 0, "key-1", &r5);
    assert_int_equal(r5.outcome, SV_JOBS_REPLAYED);
    assert_string_equal(r5.id, r1.id);
    assert_int_equal(r5.state, SV_JOB_SUCCEEDED);
}

static void test_idempotency_in_progress(void **state)
{
    fixture *f = *state;
    reply_rec r1, r2, r3;
    submit(f, "t1", BODY_A, 0, 0, "k", &r1);
    assert_int_equal(r1.calls, 0);
    /* The first is not durable yet: the second is told to retry, without a lookup. */
    int lookups = f->nlookups;
    submit(f, "t1", BODY_A, 0, 0, "k", &r2);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r2.outcome, SV_JOBS_FAILED);
    assert_string_equal(r2.code, "conflict");
    assert_string_equal(r2.message, "a request with this Idempotency-Key is in progress; retry");
    assert_int_equal(f->nlookups, lookups);
    assert_int_equal(f->nops, 2);
    commit_all(f);
    assert_int_equal(r1.outcome, SV_JOBS_CREATED);
    /* Durable now: the retry replays it. */
    submit(f, "t1", BODY_A, 0, 0, "k", &r3);
    assert_int_equal(r3.outcome, SV_JOBS_REPLAYED);
    assert_string_equal(r3.id, r1.id);
}

static void test_idempotency_held_lookup(void **state)
{
    fixture *f = *state;
    /* A remote store answers later: the key counts as in progress from the submit on. */
    f->hold_lookups = 1;
    reply_rec r1, r2;
    submit(f, "t1", BODY_A, 0, 0, "k", &r1);
    assert_int_equal(f->nheld, 1);
    assert_int_equal(f->nops, 0);   /* nothing written before the key is known to be free */
    submit(f, "t1", BODY_A, 0, 0, "k", &r2);
    assert_int_equal(r2.outcome, SV_JOBS_FAILED);
    assert_string_equal(r2.code, "conflict");
    assert_int_equal(f->nheld, 1);
    f->hold_lookups = 0;
    answer_lookups(f);
    assert_int_equal(r1.calls, 0);
    assert_int_equal(f->nops, 2);
    commit_all(f);
    assert_int_equal(r1.outcome, SV_JOBS_CREATED);
}

static void test_idempotency_store_conflict_and_errors(void **state)
{
    fixture *f = *state;
    reply_rec r1, r2, r3, r4;
    /* Another node stored the key between our lookup and our insert. */
    submit(f, "t1", BODY_A, 0, 0, "raced", &r1);
    sv_job other;
    memset(&other, 0, sizeof other);
    snprintf(other.id, sizeof other.id, "other-node-job");
    snprintf(other.tenant, sizeof other.tenant, "t1");
    other.idem_key = strdup("raced");
    other.request_hash = strdup("0000000000000000");
    job_copy(&f->rows[f->nrows++], &other);
    sv_job_clear(&other);
    commit_all(f);
    assert_int_equal(r1.calls, 1);
    assert_int_equal(r1.outcome, SV_JOBS_FAILED);
    assert_string_equal(r1.code, "conflict");
    assert_string_equal(r1.message, "a job with this Idempotency-Key already exists");
    assert_int_equal(f->ntasks, 0);
    /* The key is free again for this node (the pending mark is gone): a retry looks it up
     * and finds the other node's job, with another body. */
    submit(f, "t1", BODY_A, 0, 0, "raced", &r2);
    assert_int_equal(r2.outcome, SV_JOBS_FAILED);
    assert_string_equal(r2.code, "conflict");
    assert_string_equal(r2.message, "Idempotency-Key was used with a different request body");

    /* The lookup fails: unavailable, nothing written. */
    int ops = f->nops;
    f->lookup_rc = SV_STORE_EIO;
    submit(f, "t1", BODY_A, 0, 0, "k2", &r3);
    f->lookup_rc = 0;
    assert_int_equal(r3.outcome, SV_JOBS_FAILED);
    assert_string_equal(r3.code, "unavailable");
    assert_int_equal(f->nops, ops);
    /* ... and the key was released. */
    submit(f, "t1", BODY_A, 0, 0, "k2", &r4);
    commit_all(f);
    assert_int_equal(r4.outcome, SV_JOBS_CREATED);
}

static void test_idempotency_key_too_long(void **state)
{
    fixture *f = *state;
    char key[300];
    memset(key, 'k', 256);
    key[256] = '\0';
    reply_rec rr;
    submit(f, "t1", BODY_A, 0, 0, key, &rr);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "bad_request");
    assert_int_equal(f->nops, 0);
    assert_int_equal(f->nlookups, 0);
    key[255] = '\0';   /* 255 bytes is allowed */
    submit(f, "t1", BODY_A, 0, 0, key, &rr);
    commit_all(f);
    assert_int_equal(rr.outcome, SV_JOBS_CREATED);
    assert_int_equal(strlen(f->rows[0].idem_key), 255);
}

/* ---- dispatch ---- */

static void test_dispatch_workers_and_priority(void **state)
{
    fixture *f = *state;   /* two workers */
    char a[40], b[40], c[40], d[40], e[40], g[40];
    submit_created(f, "t1", BODY_B, 0, a);
    submit_created(f, "t1", BODY_B, 0, b);
    assert_int_equal(f->ntasks, 2);
    assert_int_equal(sv_jobs_running(&f->J), 2);
    /* Both workers busy: these wait. */
    submit_created(f, "t1", BODY_B, 1, c);
    submit_created(f, "t1", BODY_B, 5, d);
    submit_created(f, "t1", BODY_B, 5, e);
    submit_created(f, "t1", BODY_B, -2, g);
    assert_int_equal(f->ntasks, 2);
    assert_int_equal(sv_jobs_queued(&f->J), 4);
    assert_int_equal(sv_jobs_find(&f->J, d)->state, SV_JOB_QUEUED);
    sv_jobs_dispatch(&f->J);   /* nothing free: nothing starts */
    assert_int_equal(f->ntasks, 2);

    /* Each finish frees one worker, which takes the next in order: priority, then age. */
    const char *want[] = {d, e, c, g};
    sv_task *running[2] = {f->tasks[0], f->tasks[1]};
    for (int i = 0; i < 4; i++) {
        finish_task(f, running[i % 2], SV_JOB_SUCCEEDED, NULL, NULL, NULL);
        assert_int_equal(f->ntasks, 3 + i);
        assert_string_equal(f->tasks[2 + i]->id, want[i]);
        running[i % 2] = f->tasks[2 + i];
        assert_int_equal(sv_jobs_running(&f->J), 2);
        assert_int_equal(sv_jobs_queued(&f->J), (size_t)(3 - i));
        commit_all(f);
    }
    finish_task(f, running[0], SV_JOB_SUCCEEDED, NULL, NULL, NULL);
    finish_task(f, running[1], SV_JOB_SUCCEEDED, NULL, NULL, NULL);
    assert_int_equal(sv_jobs_running(&f->J), 0);
    assert_int_equal(f->ntasks, 6);
    commit_all(f);
    /* Every job ran once and the table let go of them all. */
    for (int i = 0; i < f->nrows; i++) {
        assert_int_equal(f->rows[i].state, SV_JOB_SUCCEEDED);
        assert_int_equal(f->rows[i].attempts, 1);
    }
    assert_int_equal(sv_jobtable_count(&f->J.table), 0);
    assert_int_equal(f->metrics.jobs_finished[SV_JOB_SUCCEEDED], 6);
}

/* With request_keep_bytes 70, a queued job keeps a request of up to 70 bytes in memory and hands
 * it to its task; a longer one is left in the store (the task carries none, its worker reads it
 * back). BODY_B is 63 bytes, BODY_A longer. */
static void test_large_request_left_in_store(void **state)
{
    fixture *f = *state;   /* one worker, request_keep_bytes 70 */
    assert_int_equal(strlen(BODY_B), 63);
    assert_true(strlen(BODY_A) > 70);
    char busy[40], small[40], large[40];
    submit_created(f, "t1", BODY_B, 0, busy);
    submit_created(f, "t1", BODY_B, 0, small);
    submit_created(f, "t1", BODY_A, 0, large);
    assert_non_null(sv_jobs_find(&f->J, small)->request);
    assert_null(sv_jobs_find(&f->J, large)->request);
    assert_int_equal(f->ntasks, 1);
    finish_task(f, f->tasks[0], SV_JOB_SUCCEEDED, NULL, NULL, NULL);
    commit_all(f);
    assert_string_equal(f->tasks[1]->id, small);
    assert_string_equal(f->tasks[1]->request, BODY_B);
    finish_task(f, f->tasks[1], SV_JOB_SUCCEEDED, NULL, NULL, NULL);
    commit_all(f);
    assert_string_equal(f->tasks[2]->id, large);
    assert_null(f->tasks[2]->request);
    finish_task(f, f->tasks[2], SV_JOB_SUCCEEDED, NULL, NULL, NULL);
    commit_all(f);
}

static void test_load_queued_from_store(void **state)
{
    fixture *f = *state;   /* one worker */
    sv_store *s = NULL;
    char err[256];
    char dir[] = "/tmp/test_jobs_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/jobs.db", dir);
    assert_int_equal(sv_store_open(path, &s, err, sizeof err), SV_STORE_OK);
    const char *ids[] = {"00000000000100000001", "00000000000200000002", "00000000000300000003"};
    int prio[] = {0, 7, 0};
    for (int i = 0; i < 3; i++) {
        sv_job j;
        memset(&j, 0, sizeof j);
        snprintf(j.id, sizeof j.id, "%s", ids[i]);
        snprintf(j.tenant, sizeof j.tenant, "t1");
        snprintf(j.solver, sizeof j.solver, SOLVER);
        j.state = SV_JOB_QUEUED;
        j.priority = prio[i];
        j.created_at = 100.0 + i;
        j.request = (char *)BODY_B;
        j.tags = (char *)"[]";
        assert_int_equal(sv_store_insert_job(s, &j), SV_STORE_OK);
    }
    assert_int_equal(sv_jobs_load(&f->J, s), 0);
    sv_store_close(s);
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char p[80];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        remove(p);
    }
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(sv_jobs_queued(&f->J), 3);
    assert_int_equal(f->ntasks, 0);   /* loading does not dispatch */
    sv_jobs_dispatch(&f->J);
    assert_int_equal(f->ntasks, 1);
    assert_string_equal(f->tasks[0]->id, ids[1]);   /* priority 7 first */
    assert_string_equal(f->tasks[0]->request, BODY_B);
}

/* ---- cancel ---- */

static void test_cancel_queued(void **state)
{
    fixture *f = *state;   /* one worker */
    char a[40], b[40];
    submit_created(f, "t1", BODY_B, 0, a);
    submit_created(f, "t1", BODY_B, 0, b);
    commit_all(f);
    assert_int_equal(sv_jobs_queued(&f->J), 1);
    int ops = f->nops, nev = f->nev;

    reply_rec rr;
    cancel(f, b, "t1", &rr);
    /* Not acknowledged before it is durable. */
    assert_int_equal(rr.calls, 0);
    assert_int_equal(sv_jobs_queued(&f->J), 0);
    assert_int_equal(count_ops(f, ops), 2);
    assert_int_equal(f->ops[ops].kind, SV_W_FINISH);
    assert_string_equal(f->ops[ops].id, b);
    assert_int_equal(f->ops[ops].state, SV_JOB_CANCELLED);
    assert_string_equal(f->ops[ops].data,
                        "{\"code\":\"cancelled\",\"message\":\"cancelled on request\"}");
    assert_int_equal(f->ops[ops + 1].kind, SV_W_EVENT);
    assert_int_equal(f->ops[ops + 1].seq, 2);   /* after its "queued" event */
    assert_int_equal(f->ops[ops + 1].final, 1);
    assert_string_equal(f->ops[ops + 1].data,
                        "{\"status\":\"cancelled\",\"attempt\":0,\"error\":{\"code\":"
                        "\"cancelled\",\"message\":\"cancelled on request\"}}");
    assert_int_equal(f->nev, nev);

    commit_all(f);
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_CANCELLED);
    assert_string_equal(rr.id, b);
    assert_true(rr.has_job);
    assert_int_equal(rr.state, SV_JOB_CANCELLED);
    assert_int_equal(f->nev, nev + 1);
    assert_string_equal(f->ev[nev].id, b);
    assert_int_equal(f->ev[nev].seq, 2);
    assert_int_equal(f->nclosed, 1);
    assert_string_equal(f->closed[0], b);
    assert_null(sv_jobs_find(&f->J, b));   /* released */
    assert_int_equal(f->metrics.jobs_finished[SV_JOB_CANCELLED], 1);

    /* It never starts: the worker that frees up finds nothing. */
    finish_task(f, task_of(f, a), SV_JOB_SUCCEEDED, NULL, NULL, NULL);
    assert_int_equal(f->ntasks, 1);
    assert_int_equal(sv_jobs_running(&f->J), 0);
}

static void test_cancel_queued_store_failure(void **state)
{
    fixture *f = *state;
    char a[40], b[40];
    submit_created(f, "t1", BODY_B, 0, a);
    submit_created(f, "t1", BODY_B, 0, b);
    commit_all(f);
    reply_rec rr;
    cancel(f, b, "t1", &rr);
    f->force_rc = SV_STORE_EIO;
    commit_all(f);
    f->force_rc = 0;
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "unavailable");
}

static void test_cancel_running(void **state)
{
    fixture *f = *state;
    char a[40];
    submit_created(f, "t1", BODY_B, 0, a);
    commit_all(f);
    sv_task *t = task_of(f, a);
    assert_non_null(t);
    assert_int_equal(atomic_load(&t->cancel), 0);
    assert_int_equal(sv_jobs_cancel_requested(&f->J, a), 0);
    int ops = f->nops;

    reply_rec rr;
    cancel(f, a, "t1", &rr);
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_CANCELLING);
    assert_string_equal(rr.id, a);
    assert_false(rr.has_job);
    assert_int_equal(atomic_load(&t->cancel), 1);
    assert_int_equal(sv_jobs_cancel_requested(&f->J, a), 1);
    assert_int_equal(count_ops(f, ops), 0);   /* the worker decides when it stops */

    /* The solver stops at its next report: the job ends cancelled. */
    finish_task(f, t, SV_JOB_CANCELLED, NULL, NULL,
                "{\"code\":\"cancelled\",\"message\":\"cancelled on request\"}");
    assert_int_equal(count_ops(f, ops), 2);
    assert_int_equal(f->ops[ops].kind, SV_W_FINISH);
    assert_int_equal(f->ops[ops].state, SV_JOB_CANCELLED);
    assert_int_equal(f->ops[ops + 1].kind, SV_W_EVENT);
    assert_int_equal(f->ops[ops + 1].final, 1);
    assert_int_equal(f->ops[ops + 1].seq, 3);
    commit_all(f);
    assert_int_equal(f->rows[0].state, SV_JOB_CANCELLED);
    assert_null(sv_jobs_find(&f->J, a));
    assert_int_equal(sv_jobs_cancel_requested(&f->J, a), 0);
}

static void test_cancel_unknown_and_finished(void **state)
{
    fixture *f = *state;   /* one worker */
    reply_rec rr;
    cancel(f, "no-such-job", "t1", &rr);
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "not_found");

    char a[40], b[40];
    submit_created(f, "t1", BODY_B, 0, a);
    submit_created(f, "t1", BODY_B, 0, b);
    commit_all(f);
    /* Another tenant's job, running or queued, is not found, and is left alone. */
    cancel(f, a, "t2", &rr);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "not_found");
    assert_int_equal(atomic_load(&task_of(f, a)->cancel), 0);
    cancel(f, b, "t2", &rr);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "not_found");
    assert_int_equal(sv_jobs_queued(&f->J), 1);

    /* Finished and released: the store says how it ended. */
    finish_task(f, task_of(f, a), SV_JOB_SUCCEEDED, "{\"x\":[1]}", "{\"obj\":0}", NULL);
    commit_all(f);
    assert_null(sv_jobs_find(&f->J, a));
    cancel(f, a, "t1", &rr);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "conflict");
    assert_string_equal(rr.message, "the job already finished (succeeded)");
    /* The store failing: unavailable. */
    f->lookup_rc = SV_STORE_EIO;
    cancel(f, a, "t1", &rr);
    f->lookup_rc = 0;
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "unavailable");
}

/* A job that finished in memory but whose finish is not durable yet is still live: a cancel
 * then must say how it ended, not what the store still says (running or queued). */
static void test_cancel_finished_not_yet_durable(void **state)
{
    fixture *f = *state;   /* one worker */
    char a[40], b[40];
    submit_created(f, "t1", BODY_B, 0, a);
    submit_created(f, "t1", BODY_B, 0, b);
    commit_all(f);
    finish_task(f, task_of(f, a), SV_JOB_FAILED, NULL, NULL,
                "{\"code\":\"solver_error\",\"message\":\"x\"}");
    assert_non_null(sv_jobs_find(&f->J, a));   /* its last events are not durable */
    reply_rec rr;
    cancel(f, a, "t1", &rr);
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "conflict");
    assert_string_equal(rr.message, "the job already finished (failed)");
    commit_all(f);

    /* A queued job cancelled twice before the first is durable. */
    char c[40];
    submit_created(f, "t1", BODY_B, 0, c);   /* queued behind b */
    commit_all(f);
    reply_rec r1, r2;
    cancel(f, c, "t1", &r1);
    cancel(f, c, "t1", &r2);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r2.outcome, SV_JOBS_FAILED);
    assert_string_equal(r2.code, "conflict");
    assert_string_equal(r2.message, "the job already finished (cancelled)");
    commit_all(f);
    assert_int_equal(r1.outcome, SV_JOBS_CANCELLED);
}

/* ---- events ---- */

static void test_events_progress_and_done(void **state)
{
    fixture *f = *state;
    char a[40];
    submit_created(f, "t1", BODY_B, 0, a);
    commit_all(f);
    sv_task *t = task_of(f, a);
    int nev0 = f->nev;   /* the running event */
    assert_int_equal(nev0, 1);
    assert_int_equal(f->ev[0].seq, 2);

    sv_jobs_deliver(&f->J, SV_MSG_PROGRESS, t, "{\"iter\":1,\"obj\":3}");
    sv_jobs_deliver(&f->J, SV_MSG_PROGRESS, t, "{\"iter\":2,\"obj\":2}");
    assert_int_equal(f->nev, nev0);   /* not durable yet */
    commit(f, 1);                     /* the first progress alone */
    assert_int_equal(f->nev, nev0 + 1);
    assert_string_equal(f->ev[nev0].type, "progress");
    assert_int_equal(f->ev[nev0].seq, 3);
    assert_string_equal(f->ev[nev0].json, "{\"iter\":1,\"obj\":3}");
    commit_all(f);
    assert_int_equal(f->ev[nev0 + 1].seq, 4);
    assert_string_equal(f->ev[nev0 + 1].json, "{\"iter\":2,\"obj\":2}");

    int ops = f->nops;
    finish_task(f, t, SV_JOB_SUCCEEDED, "{\"x\":[1,2,3],\"obj\":1.5}", "{\"obj\":1.5}", NULL);
    /* One batch: the result event (stored with the summary), the finish, the final status. */
    assert_int_equal(count_ops(f, ops), 3);
    assert_int_equal(f->ops[ops].kind, SV_W_EVENT);
    assert_string_equal(f->ops[ops].type, "result");
    assert_int_equal(f->ops[ops].seq, 5);
    assert_string_equal(f->ops[ops].data, "{\"obj\":1.5}");
    assert_string_equal(f->ops[ops].live, "{\"x\":[1,2,3],\"obj\":1.5}");
    assert_int_equal(f->ops[ops].final, 0);
    assert_int_equal(f->ops[ops + 1].kind, SV_W_FINISH);
    assert_int_equal(f->ops[ops + 1].state, SV_JOB_SUCCEEDED);
    assert_string_equal(f->ops[ops + 1].live, "{\"x\":[1,2,3],\"obj\":1.5}");
    assert_string_equal(f->ops[ops + 1].summary, "{\"obj\":1.5}");
    assert_null(f->ops[ops + 1].data);
    assert_int_equal(f->ops[ops + 2].kind, SV_W_EVENT);
    assert_string_equal(f->ops[ops + 2].type, "status");
    assert_int_equal(f->ops[ops + 2].seq, 6);
    assert_int_equal(f->ops[ops + 2].final, 1);
    assert_string_equal(f->ops[ops + 2].data, "{\"status\":\"succeeded\",\"attempt\":1}");
    assert_int_equal(sv_jobs_running(&f->J), 0);
    assert_int_equal(f->nclosed, 0);
    sv_live *L = sv_jobs_find(&f->J, a);
    assert_non_null(L);   /* held until its last events are durable */
    assert_int_equal(L->pending_writes, 2);

    commit_all(f);
    assert_int_equal(f->nev, nev0 + 4);
    assert_string_equal(f->ev[nev0 + 2].type, "result");
    assert_int_equal(f->ev[nev0 + 2].seq, 5);
    assert_string_equal(f->ev[nev0 + 2].json, "{\"x\":[1,2,3],\"obj\":1.5}");   /* live: full */
    assert_string_equal(f->ev[nev0 + 3].type, "status");
    assert_int_equal(f->ev[nev0 + 3].seq, 6);
    assert_int_equal(f->ev[nev0 + 3].state, SV_JOB_SUCCEEDED);
    /* Sequence numbers strictly increase over everything pushed. */
    for (int i = 1; i < f->nev; i++)
        assert_true(f->ev[i].seq > f->ev[i - 1].seq);
    /* Closed once, after the final status event. */
    assert_int_equal(f->nclosed, 1);
    assert_string_equal(f->closed[0], a);
    assert_null(sv_jobs_find(&f->J, a));
    /* The store holds every event once, seq 1..6, and the row the summary. */
    int n = 0;
    for (int i = 0; i < f->nevents; i++)
        if (strcmp(f->events[i].id, a) == 0)
            assert_int_equal(f->events[i].seq, ++n);
    assert_int_equal(n, 6);
    assert_int_equal(f->rows[0].last_seq, 6);
    assert_string_equal(f->rows[0].summary, "{\"obj\":1.5}");
    assert_int_equal(f->metrics.events, 5);   /* the queued event is the row's, not emitted */
}

/* The finish durable alone does not end the streams: only the final status event does. */
static void test_events_closed_with_final_event(void **state)
{
    fixture *f = *state;
    char a[40];
    submit_created(f, "t1", BODY_B, 0, a);
    commit_all(f);
    sv_live *L = sv_jobs_find(&f->J, a);
    finish_task(f, task_of(f, a), SV_JOB_TIMED_OUT, NULL, NULL,
                "{\"code\":\"timed_out\",\"message\":\"t\"}");
    assert_int_equal(f->npending, 2);   /* no result: the finish and the final status */
    commit(f, 1);
    assert_ptr_equal(sv_jobs_find(&f->J, a), L);
    assert_int_equal(L->closed, 0);
    assert_int_equal(f->nclosed, 0);
    commit_all(f);
    assert_int_equal(f->nclosed, 1);
    assert_null(sv_jobs_find(&f->J, a));
    assert_string_equal(f->ev[f->nev - 1].type, "status");
    assert_int_equal(f->ev[f->nev - 1].seq, 3);
    assert_string_equal(f->ev[f->nev - 1].json,
                        "{\"status\":\"timed_out\",\"attempt\":1,\"error\":{\"code\":"
                        "\"timed_out\",\"message\":\"t\"}}");
    assert_int_equal(f->rows[0].state, SV_JOB_TIMED_OUT);
    assert_int_equal(f->metrics.jobs_finished[SV_JOB_TIMED_OUT], 1);
}

/* ---- drain and shutdown ---- */

/* Delete: a live job is refused at once (conflict) without a write; a finished one is DELETED
 * only once the delete committed; another tenant's and an unknown id are not_found. */
static void test_delete(void **state)
{
    fixture *f = *state;   /* one worker */
    reply_rec rr;
    char a[40], b[40];
    submit_created(f, "t1", BODY_B, 0, a);
    submit_created(f, "t1", BODY_B, 0, b);
    commit_all(f);
    delete_job(f, a, "t1", &rr);   /* running */
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "conflict");
    assert_string_equal(rr.message, "the job is running: cancel it first");
    delete_job(f, b, "t1", &rr);   /* queued */
    assert_string_equal(rr.message, "the job is queued: cancel it first");
    assert_int_equal(f->npending, 0);
    finish_task(f, task_of(f, a), SV_JOB_SUCCEEDED, "{\"x\":[1]}", "{\"obj\":0}", NULL);
    commit_all(f);
    assert_null(sv_jobs_find(&f->J, a));
    delete_job(f, a, "t2", &rr);
    assert_int_equal(f->npending, 1);
    commit_all(f);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "not_found");
    delete_job(f, a, "t1", &rr);
    assert_int_equal(rr.calls, 0);   /* not before the store answered */
    commit_all(f);
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_DELETED);
    assert_string_equal(rr.id, a);
    assert_null(row_find(f, a));
    delete_job(f, a, "t1", &rr);
    commit_all(f);
    assert_string_equal(rr.code, "not_found");
}

static void test_drain_stops_dispatch(void **state)
{
    fixture *f = *state;   /* one worker */
    char a[40], b[40], c[40];
    submit_created(f, "t1", BODY_B, 0, a);
    submit_created(f, "t1", BODY_B, 0, b);
    commit_all(f);
    sv_jobs_drain(&f->J);
    finish_task(f, task_of(f, a), SV_JOB_SUCCEEDED, NULL, NULL, NULL);
    commit_all(f);
    assert_int_equal(sv_jobs_running(&f->J), 0);
    assert_int_equal(f->ntasks, 1);   /* b was not started */
    assert_int_equal(sv_jobs_queued(&f->J), 1);
    sv_jobs_dispatch(&f->J);
    assert_int_equal(f->ntasks, 1);
    /* A submission that was in flight still lands, queued, and does not start either. */
    submit_created(f, "t1", BODY_B, 9, c);
    assert_int_equal(f->ntasks, 1);
    assert_int_equal(sv_jobs_queued(&f->J), 2);
    assert_int_equal(sv_jobs_find(&f->J, b)->state, SV_JOB_QUEUED);
}

static void test_interrupt_all_leaves_running(void **state)
{
    fixture *f = *state;   /* two workers */
    char a[40], b[40];
    submit_created(f, "t1", BODY_B, 0, a);
    submit_created(f, "t1", BODY_B, 0, b);
    commit_all(f);
    sv_jobs_drain(&f->J);
    sv_jobs_interrupt_all(&f->J);
    sv_task *ta = task_of(f, a), *tb = task_of(f, b);
    assert_int_equal(atomic_load(&ta->shutdown), 1);
    assert_int_equal(atomic_load(&tb->shutdown), 1);
    int ops = f->nops;
    finish_task(f, ta, SV_JOB_CANCELLED, NULL, NULL, NULL);
    /* Left running in the store, for the next start's recovery: nothing written. */
    assert_int_equal(count_ops(f, ops), 0);
    assert_int_equal(sv_jobs_running(&f->J), 1);
    assert_int_equal(f->rows[0].state, SV_JOB_RUNNING);
    sv_live *L = sv_jobs_find(&f->J, a);
    assert_non_null(L);
    assert_null(L->task);
    assert_int_equal(sv_jobs_cancel_requested(&f->J, a), 0);

    /* A cancel of the interrupted job (the server is still answering while it drains): it
     * no longer runs here and will be requeued at the next start, so the request cannot be
     * honoured now. */
    reply_rec rr;
    cancel(f, a, "t1", &rr);
    assert_int_equal(rr.calls, 1);
    assert_int_equal(rr.outcome, SV_JOBS_FAILED);
    assert_string_equal(rr.code, "unavailable");
    assert_string_equal(rr.message, "the server is stopping; the job was interrupted and is "
                                    "requeued when it restarts");
    assert_int_equal(count_ops(f, ops), 0);
    assert_non_null(sv_jobs_find(&f->J, a));   /* still running as far as the store knows */
    /* The other one, still on its worker, is cancelled as ever. */
    cancel(f, b, "t1", &rr);
    assert_int_equal(rr.outcome, SV_JOBS_CANCELLING);
    assert_int_equal(atomic_load(&tb->cancel), 1);
    finish_task(f, tb, SV_JOB_CANCELLED, NULL, NULL, NULL);
    assert_int_equal(sv_jobs_running(&f->J), 0);
    assert_int_equal(count_ops(f, ops), 0);   /* shutdown wins: b is left running too */
}

int main(void)
{
    sv_log_set_level(SV_LOG_WARN);   /* the service logs every transition at info */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_created_after_commit, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_submit_default_time_limit_and_tags, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_submit_store_failure, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_submit_ids_distinct_and_sorted, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_replay_and_conflict, setup2, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_in_progress, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_held_lookup, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_store_conflict_and_errors, setup1,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_key_too_long, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_workers_and_priority, setup2, teardown),
        cmocka_unit_test_setup_teardown(test_large_request_left_in_store, setup1_keep70, teardown),
        cmocka_unit_test_setup_teardown(test_load_queued_from_store, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_queued, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_queued_store_failure, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_running, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_unknown_and_finished, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_finished_not_yet_durable, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_events_progress_and_done, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_events_closed_with_final_event, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_drain_stops_dispatch, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_all_leaves_running, setup2, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
