/* writer.c - group commit. Ops queue up on the loop thread; one batch at a time runs on the
 * libuv pool inside a single transaction (one fsync for many submissions and events), and each
 * op's done callback runs on the loop thread after the commit. This is what makes "acknowledged"
 * mean "durable" without blocking the loop on fsync. */
#include <stdlib.h>
#include <string.h>
#include "core/solver.h"
#include "server/log.h"
#include "server/writer.h"

static void start_batch(sv_writer *w);

sv_wop *sv_wop_new(sv_wop_kind kind, const char *id)
{
    sv_wop *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->kind = kind;
    if (id)
        snprintf(op->id, sizeof op->id, "%s", id);
    return op;
}

void sv_wop_free(sv_wop *op)
{
    if (!op)
        return;
    sv_job_clear(&op->job);
    free(op->summary);
    free(op->result);
    free(op->error);
    free(op->data);
    free(op->live_data);
    free(op);
}

/* Ops queued from a timer callback would otherwise wait for the next unrelated wake-up: an
 * active idle handle makes the loop's poll return at once, so the check below runs. */
static void on_idle(uv_idle_t *h) { (void)h; }

static void on_check(uv_check_t *h)
{
    sv_writer *w = h->data;
    if (!w->busy && w->pending && !w->retry_wait)
        start_batch(w);
    if (!w->pending || w->busy)
        uv_idle_stop(&w->idle);
}

int sv_writer_init(sv_writer *w, uv_loop_t *loop, sv_store *store, sv_metrics *metrics)
{
    memset(w, 0, sizeof *w);
    w->loop = loop;
    w->metrics = metrics;
    w->store = store;
    w->work.data = w;
    w->check.data = w;
    w->idle.data = w;
    w->retry_timer.data = w;
    if (uv_check_init(loop, &w->check) != 0 || uv_idle_init(loop, &w->idle) != 0 ||
        uv_timer_init(loop, &w->retry_timer) != 0)
        return -1;
    return uv_check_start(&w->check, on_check);
}

void sv_writer_close(sv_writer *w)
{
    uv_check_stop(&w->check);
    uv_idle_stop(&w->idle);
    uv_close((uv_handle_t *)&w->check, NULL);
    uv_close((uv_handle_t *)&w->idle, NULL);
    uv_timer_stop(&w->retry_timer);
    uv_close((uv_handle_t *)&w->retry_timer, NULL);
}

int sv_writer_idle(const sv_writer *w) { return !w->busy && !w->pending; }

size_t sv_writer_pending(const sv_writer *w) { return w->n_pending; }

int sv_writer_holding(const sv_writer *w) { return !w->busy && w->n_held > 0; }

static void on_retry(uv_timer_t *t)
{
    sv_writer *w = t->data;
    w->retry_wait = 0;
    if (w->pending)
        uv_idle_start(&w->idle, on_idle);
}

/* A failed batch's retryable ops go back to the front of the queue, in their order (a job's
 * claim before its finish, its events by sequence), and the next batch waits for the backoff. */
static void hold(sv_writer *w, sv_wop *head, sv_wop *tail, size_t n)
{
    if (!head)
        return;
    tail->next = w->pending;
    if (!w->pending)
        w->pending_tail = tail;
    w->pending = head;
    w->n_pending += n;
    w->n_held = n;
    double d = w->retry_delay_s * 2;
    w->retry_delay_s = d < SV_WRITER_RETRY_MIN_S   ? SV_WRITER_RETRY_MIN_S
                       : d > SV_WRITER_RETRY_MAX_S ? SV_WRITER_RETRY_MAX_S
                                                   : d;
    w->retry_wait = 1;
    uv_timer_start(&w->retry_timer, on_retry, (uint64_t)(w->retry_delay_s * 1000), 0);
    sv_log_warn("store writes held for retry", "ops=%zu retry_in_s=%.2f", n, w->retry_delay_s);
}

int sv_writer_failing(const sv_writer *w) { return w->failing; }

static int apply(sv_store *s, sv_wop *op)
{
    switch (op->kind) {
    case SV_W_INSERT: return sv_store_insert_job(s, &op->job);
    case SV_W_CLAIM:
        return sv_store_claim_job(s, op->id, op->node, op->t, op->lease_s, op->attempts);
    case SV_W_FINISH:
        return sv_store_finish_job(s, op->id, op->node[0] ? op->node : NULL, op->state, op->t,
                                   op->summary, op->result, op->error);
    case SV_W_EVENT: return sv_store_add_event(s, op->id, op->seq, op->type, op->t, op->data);
    case SV_W_DELETE: return sv_store_delete_job(s, op->id, op->tenant[0] ? op->tenant : NULL);
    case SV_W_MAINTAIN:
        if (op->before <= 0 && op->keep <= 0)
            return SV_STORE_OK;
        return sv_store_prune(s, op->before, op->keep, SV_WRITER_PRUNE_BATCH, &op->deleted);
    }
    return SV_STORE_EIO;
}

/* Pool thread: the whole batch in one transaction. A failing op (a duplicate idempotency key)
 * fails alone; a failing commit fails them all. */
static void batch_work(uv_work_t *req)
{
    sv_writer *w = req->data;
    int rc = sv_store_begin(w->store);
    w->batch_failed = rc != SV_STORE_OK;
    for (sv_wop *op = w->batch; op; op = op->next)
        op->rc = rc == SV_STORE_OK ? apply(w->store, op) : rc;
    if (rc == SV_STORE_OK && sv_store_commit(w->store) != SV_STORE_OK) {
        sv_store_rollback(w->store);
        for (sv_wop *op = w->batch; op; op = op->next)
            op->rc = SV_STORE_EIO;
        w->batch_failed = 1;
        return;
    }
    /* Maintenance asked for: the log is checkpointed outside the transaction. */
    for (sv_wop *op = w->batch; op; op = op->next)
        if (op->kind == SV_W_MAINTAIN && op->rc == SV_STORE_OK) {
            op->rc = sv_store_checkpoint(w->store);
            break;
        }
}

static void batch_done(uv_work_t *req, int status)
{
    sv_writer *w = req->data;
    sv_metrics *m = w->metrics;
    m->store_batches++;
    m->store_commit_seconds_sum += sv_now_s() - w->batch_started;
    sv_wop *op = w->batch;
    w->batch = NULL;
    w->busy = 0;
    if (w->batch_failed && !w->failing) {
        w->failing = 1;
        w->failing_since = sv_now_s();
        sv_log_error("store writes failing", "err=\"%s\"", sv_store_errmsg(w->store));
    } else if (!w->batch_failed && w->failing) {
        w->failing = 0;
        sv_log_info("store writes recovered", "after_s=%.3f", sv_now_s() - w->failing_since);
    }
    if (!w->batch_failed) {
        w->retry_delay_s = 0;
        w->n_held = 0;
    }
    sv_wop *held = NULL, *held_tail = NULL;
    size_t n_held = 0;
    while (op) {
        sv_wop *next = op->next;
        m->store_ops++;
        if (w->batch_failed && op->retry) {
            m->store_errors++;
            op->next = NULL;
            if (held_tail)
                held_tail->next = op;
            else
                held = op;
            held_tail = op;
            n_held++;
            op = next;
            continue;
        }
        /* A refused delete (absent, or not finished) is an answer, not a store failure. */
        int answer = op->rc == SV_STORE_ECONFLICT ||
                     (op->kind == SV_W_DELETE &&
                      (op->rc == SV_STORE_ENOTFOUND || op->rc == SV_STORE_ESTATE));
        if (op->rc != SV_STORE_OK && !answer) {
            m->store_errors++;
            sv_log_error("store write failed", "job=%s op=%d rc=%d err=\"%s\"", op->id, op->kind,
                         op->rc, sv_store_errmsg(w->store));
        }
        if (op->done)
            op->done(op, op->done_data);
        sv_wop_free(op);
        op = next;
    }
    hold(w, held, held_tail, n_held);
    (void)status;
}

static void start_batch(sv_writer *w)
{
    w->batch = w->pending;
    w->pending = w->pending_tail = NULL;
    w->n_pending = 0;
    w->busy = 1;
    w->batch_started = sv_now_s();
    if (uv_queue_work(w->loop, &w->work, batch_work, batch_done) != 0) {
        /* Cannot happen with a valid loop; run inline rather than lose writes. */
        batch_work(&w->work);
        batch_done(&w->work, 0);
    }
}

void sv_writer_submit(sv_writer *w, sv_wop *op)
{
    op->next = NULL;
    if (w->pending_tail)
        w->pending_tail->next = op;
    else
        w->pending = op;
    w->pending_tail = op;
    w->n_pending++;
    if (!w->busy)
        uv_idle_start(&w->idle, on_idle);
}
