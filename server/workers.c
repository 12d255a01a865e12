/* workers.c - the solver threads (workers.h): messages go back to the loop through one
 * uv_async_t, whose callback hands them to the pool's deliver function in order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/json_parse.h"
#include "core/linalg.h"
#include "server/log.h"
#include "server/workers.h"

static void post(sv_pool *p, sv_msg_kind kind, sv_task *t, char *data)
{
    sv_msg *m = calloc(1, sizeof *m);
    if (!m) {
        free(data);
        if (kind == SV_MSG_PROGRESS)
            return;
        /* A done message must arrive; spin until memory frees up rather than lose the job. */
        while (!(m = calloc(1, sizeof *m)))
            uv_sleep(10);
    }
    m->kind = kind;
    m->task = t;
    m->data = data;
    m->ts = (double)uv_hrtime() / 1e9;
    uv_mutex_lock(&p->out_mu);
    m->next = p->out;
    p->out = m;
    uv_mutex_unlock(&p->out_mu);
    uv_async_send(&p->async);
}

static char *progress_json(long iter, double elapsed, double obj, int n, char names[][32],
                           const double *values)
{
    json_t *o = json_object();
    json_object_set_new(o, "iteration", json_integer(iter));
    json_object_set_new(o, "elapsed_s", json_real(elapsed));
    json_object_set_new(o, "objective", isfinite(obj) ? json_real(obj) : json_null());
    for (int i = 0; i < n; i++)
        json_object_set_new(o, names[i], isfinite(values[i]) ? json_real(values[i]) : json_null());
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(o);
    return s;
}

/* The stored trace: the first SV_TRACE_HEAD reports, then every report at an iteration at least
 * SV_TRACE_RATIO times the last one kept that way (a log-spaced subsample: about 25 more events
 * a decade of iterations), whatever the time throttle; between those, at most one event every
 * progress_interval_s. A short job keeps every report it makes, a long one a curve that reads
 * on a log axis, and no job floods the store. */
#define SV_TRACE_HEAD 32
#define SV_TRACE_RATIO 1.1

static int trace_keeps(const sv_task *t, long iter)
{
    return t->n_sent < SV_TRACE_HEAD || iter >= t->next_log_iter;
}

static void flush_unsent(sv_task *t)
{
    if (!t->has_unsent)
        return;
    t->has_unsent = 0;
    t->t_last_sent = sv_now_s();
    t->n_sent++;
    if (t->unsent_iter >= t->next_log_iter) {
        long next = (long)ceil((double)t->unsent_iter * SV_TRACE_RATIO);
        t->next_log_iter = next > t->unsent_iter ? next : t->unsent_iter + 1;
    }
    char *s = progress_json(t->unsent_iter, t->unsent_elapsed, t->unsent_obj, t->unsent_n,
                            t->unsent_names, t->unsent_values);
    if (s)
        post(t->pool, SV_MSG_PROGRESS, t, s);
}

/* The poll: runs on the worker between reports, as often as every iteration (core/solver.h), so
 * a cancel or the job's time limit holds by the wall clock whatever the solver's report_every.
 * Two atomic loads and a clock read. */
static int poll_stop(void *data)
{
    sv_task *t = data;
    if (t->time_limit_s > 0 && sv_now_s() - t->t_start > t->time_limit_s) {
        atomic_store(&t->timed_out, 1);
        return 1;
    }
    return atomic_load(&t->cancel) || atomic_load(&t->shutdown);
}

/* The monitor: runs on the worker at every report of the solver. */
static int monitor(const sv_progress *p, void *data)
{
    sv_task *t = data;
    double now = sv_now_s();
    /* Remember the newest report; it is sent now or, if throttled, at the next chance. */
    t->has_unsent = 1;
    t->unsent_iter = p->iter;
    t->unsent_elapsed = now - t->t_start;
    t->unsent_obj = p->obj;
    t->unsent_n = p->n_metrics < SV_MAX_METRICS ? p->n_metrics : SV_MAX_METRICS;
    for (int i = 0; i < t->unsent_n; i++) {
        snprintf(t->unsent_names[i], sizeof t->unsent_names[i], "%s", p->metrics[i].name);
        t->unsent_values[i] = p->metrics[i].value;
    }
    if (t->t_last_sent <= 0 || trace_keeps(t, p->iter) ||
        now - t->t_last_sent >= t->progress_interval_s)
        flush_unsent(t);
    return poll_stop(t);
}

/* The scalar members of a result: what GET /v1/jobs/{id} shows without the arrays. */
static char *summarize(json_t *result)
{
    json_t *s = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(result, k, v) {
        if (!json_is_array(v) && !json_is_object(v))
            json_object_set(s, k, v);
    }
    char *text = json_dumps(s, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(s);
    return text;
}

static char *error_json(const char *code, const char *message, const char *path)
{
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (path && *path)
        json_object_set_new(e, "path", json_string(path));
    char *s = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return s;
}

/* A large request was left in the store while its job waited: read it on this thread's own
 * handle, opened on first use. */
static int load_request(sv_pool *p, sv_store **st, sv_task *t, sv_err *e)
{
    char err[256] = "";
    if (!p->store_url) {
        snprintf(e->msg, sizeof e->msg, "the job's request is not in memory and no store is set");
        return SV_EINTERNAL;
    }
    if (!*st && sv_store_open(p->store_url, st, err, sizeof err) != SV_STORE_OK) {
        *st = NULL;
        snprintf(e->msg, sizeof e->msg, "the job's request could not be read: %s", err);
        return SV_EINTERNAL;
    }
    int rc = sv_store_get_request(*st, t->id, &t->request);
    if (rc != SV_STORE_OK) {
        snprintf(e->msg, sizeof e->msg, "the job's request could not be read: %s",
                 rc == SV_STORE_ENOTFOUND ? "none stored" : sv_store_errmsg(*st));
        return SV_EINTERNAL;
    }
    return SV_OK;
}

static void run_task(sv_pool *p, sv_store **st, sv_task *t)
{
    t->pool = p;
    t->t_start = sv_now_s();
    sv_json_perr jerr;
    json_t *req = NULL;
    json_t *result = NULL;
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = t->request ? SV_OK : load_request(p, st, t, &e);
    if (rc == SV_OK && !(req = sv_json_parse(t->request, strlen(t->request), &jerr))) {
        rc = SV_EINTERNAL;
        snprintf(e.msg, sizeof e.msg, "stored request unreadable: %s", jerr.text);
    }
    if (rc == SV_OK) {
        json_t *params = json_object_get(req, "params");
        sv_monitor mon = {monitor, t, poll_stop};
        rc = t->codec->run(json_object_get(req, "problem"), json_is_null(params) ? NULL : params,
                           t->env, &mon, &result, &e);
    }
    flush_unsent(t);
    int timed_out = atomic_load(&t->timed_out), cancelled = atomic_load(&t->cancel);
    if (rc == SV_OK && result) {
        t->final_state = timed_out ? SV_JOB_TIMED_OUT
                         : cancelled ? SV_JOB_CANCELLED
                                     : SV_JOB_SUCCEEDED;
        /* The solver saw only a stop request; say which limit it was. */
        if (timed_out && json_is_object(result))
            json_object_set_new(result, "status", json_string(sv_status_name(SV_TIME_LIMIT)));
        t->summary = summarize(result);
        t->result = json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (timed_out)
            t->error = error_json("time_limit", "the job's time limit was reached", NULL);
        else if (cancelled)
            t->error = error_json("cancelled", "cancelled on request", NULL);
    } else {
        t->final_state = timed_out ? SV_JOB_TIMED_OUT
                         : cancelled ? SV_JOB_CANCELLED
                                     : SV_JOB_FAILED;
        const char *code = rc == SV_EINVAL ? "invalid_problem"
                           : rc == SV_ENOMEM ? "out_of_memory"
                           : rc == SV_ENUMERIC ? "numerical_failure"
                                               : "solver_error";
        t->error = error_json(code, e.msg[0] ? e.msg : sv_error_message(rc), e.field);
    }
    json_decref(result);
    json_decref(req);
    post(p, SV_MSG_DONE, t, NULL);
}

static void thread_main(void *arg)
{
    sv_pool *p = arg;
    sv_store *st = NULL;   /* this thread's handle, for requests left in the store */
    sv_blas_single_thread();
    for (;;) {
        uv_mutex_lock(&p->mu);
        while (!p->queue && !p->stopping)
            uv_cond_wait(&p->cv, &p->mu);
        sv_task *t = p->queue;
        if (t) {
            p->queue = t->next;
            if (!p->queue)
                p->queue_tail = NULL;
        }
        uv_mutex_unlock(&p->mu);
        if (!t)
            break;
        run_task(p, &st, t);
    }
    sv_store_close(st);
}

/* Loop thread: the messages posted since the last wake-up, oldest first. */
static void on_async(uv_async_t *h)
{
    sv_pool *p = h->data;
    uv_mutex_lock(&p->out_mu);
    sv_msg *m = p->out;
    p->out = NULL;
    uv_mutex_unlock(&p->out_mu);
    /* The list is newest first: reverse it to deliver messages in the order they were sent. */
    sv_msg *ordered = NULL;
    while (m) {
        sv_msg *next = m->next;
        m->next = ordered;
        ordered = m;
        m = next;
    }
    while (ordered) {
        sv_msg *next = ordered->next;
        p->deliver(p->deliver_data, ordered->kind, ordered->task, ordered->data);
        free(ordered->data);
        free(ordered);
        ordered = next;
    }
}

int sv_pool_start(sv_pool *p, uv_loop_t *loop, int n, sv_pool_deliver deliver, void *data,
                  const char *store_url)
{
    p->n = n;
    if (store_url && !(p->store_url = strdup(store_url)))
        return -1;
    p->deliver = deliver;
    p->deliver_data = data;
    p->async.data = p;
    if (uv_async_init(loop, &p->async, on_async) != 0)
        return -1;
    p->async_open = 1;
    p->threads = calloc((size_t)n, sizeof *p->threads);
    if (!p->threads || uv_mutex_init(&p->mu) || uv_cond_init(&p->cv) || uv_mutex_init(&p->out_mu))
        return -1;
    for (int i = 0; i < n; i++) {
        /* Solvers recurse little but allocate on the stack in places: give them room. */
        uv_thread_options_t opt = {UV_THREAD_HAS_STACK_SIZE, 8u << 20};
        if (uv_thread_create_ex(&p->threads[i], &opt, thread_main, p) != 0)
            return -1;
    }
    return 0;
}

void sv_pool_submit(sv_pool *p, sv_task *t)
{
    t->next = NULL;
    uv_mutex_lock(&p->mu);
    if (p->queue_tail)
        p->queue_tail->next = t;
    else
        p->queue = t;
    p->queue_tail = t;
    uv_cond_signal(&p->cv);
    uv_mutex_unlock(&p->mu);
}

void sv_pool_close(sv_pool *p)
{
    if (p->async_open) {
        uv_close((uv_handle_t *)&p->async, NULL);
        p->async_open = 0;
    }
}

void sv_pool_stop(sv_pool *p)
{
    if (!p->threads)
        return;
    uv_mutex_lock(&p->mu);
    p->stopping = 1;
    uv_cond_broadcast(&p->cv);
    uv_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        uv_thread_join(&p->threads[i]);
    free(p->threads);
    p->threads = NULL;
    free(p->store_url);
    p->store_url = NULL;
    uv_mutex_destroy(&p->mu);
    uv_cond_destroy(&p->cv);
    uv_mutex_destroy(&p->out_mu);
}

void sv_task_free(sv_task *t)
{
    if (!t)
        return;
    free(t->request);
    free(t->summary);
    free(t->result);
    free(t->error);
    free(t);
}
