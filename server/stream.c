/* stream.c - Server-Sent Event streams. Each subscriber owns a queue of shared event blocks
 * (server/chunk.h: an event is framed once, whatever the number of streams sending it);
 * libmicrohttpd pulls from it through a content-reader callback, which suspends the connection
 * when the queue is empty (so an idle stream costs nothing) and is resumed when an event arrives. A suspended connection
 * neither times out nor notices a disconnect, so a stream that has been sent nothing for
 * --heartbeat-s seconds gets a comment; a write that fails then ends the stream and frees the
 * subscriber. The heartbeat is per stream, counted from its own last write: one timer ticks a
 * few times per period and picks the streams that are due.
 *
 * Opening a stream attaches it to the live job first and then reads the stored events (through
 * the reads module, perhaps on a pool thread); live events that arrive meanwhile are held and
 * sent after the replay, duplicates skipped by sequence number, so none falls in between.
 *
 * On a store that several nodes share, a job may run on another node: its stream follows the
 * store instead, reading the events after the last one it sent at every tick (claim-poll-ms),
 * until a final status event arrives. */
#include "server/stream.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "core/solver.h"
#include "server/app.h"
#include "server/chunk.h"
#include "server/log.h"

/* An event kept in memory: read from the store for a replay, or held while one runs. */
typedef struct kept_event {
    long seq;
    char type[16];
    sv_chunk *c;               /* its frame (one reference) */
    struct kept_event *next;
} kept_event;

/* One block queued on a stream. */
typedef struct qent {
    sv_chunk *c;
    struct qent *next;
} qent;

struct sv_sub {
    sv_app *app;
    struct MHD_Connection *conn;
    sv_live *live;             /* NULL once detached (job finished) */
    char job_id[40];
    qent *q_head, *q_tail;     /* blocks to send, shared with other streams */
    size_t off;                /* bytes of q_head already sent */
    size_t queued;             /* bytes not yet sent, over the whole queue */
    long last_seq;
    double quiet_since;        /* when something was last queued on it (sv_now_s) */
    int suspended;
    int closing;               /* end the stream once the queue is drained */
    int failed;                /* too slow: end with an error */
    int replaying;             /* the stored events are being read: live ones wait in held */
    int remote;                /* the job runs elsewhere: follows the store (shared stores) */
    int polling;               /* a read of the store for it is in flight */
    int poll_again;            /* new events were announced while it was: read once more */
    int dead;                  /* the connection is gone while polling: freed when it ends */
    int final_seen;            /* a final status event was queued */
    kept_event *held, *held_tail;
    sv_sub *next;              /* in live->subs */
    sv_sub *all_next, *all_prev; /* in app->subs_all, once the stream is open */
    int listed;
};

/* A subscriber further behind than this is dropped rather than queued without bound. The bytes
 * are counted per stream although blocks are shared: it bounds how far behind one may fall. */
#define SV_STREAM_MAX_BUFFER (64u << 20)

static void wake(sv_sub *s)
{
    if (s->suspended) {
        s->suspended = 0;
        MHD_resume_connection(s->conn);
        sv_http_kick(s->app);
    }
}

static void check_backlog(sv_sub *s)
{
    if (s->queued > SV_STREAM_MAX_BUFFER && !s->failed) {
        s->failed = 1;
        s->app->metrics.sse_dropped++;
        sv_log_warn("event stream dropped: subscriber too slow", "job=%s", s->job_id);
    }
}

static kept_event *kept_new(long seq, const char *type, sv_chunk *c)
{
    kept_event *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->seq = seq;
    snprintf(k->type, sizeof k->type, "%s", type);
    k->c = c;
    return k;
}

static void kept_free_all(kept_event *k)
{
    while (k) {
        kept_event *next = k->next;
        sv_chunk_unref(k->c);
        free(k);
        k = next;
    }
}

/* Queues a reference to c; 0, or -1 when out of memory (the stream then fails). */
static int enqueue(sv_sub *s, sv_chunk *c)
{
    qent *q = malloc(sizeof *q);
    if (!q) {
        s->failed = 1;
        return -1;
    }
    q->c = sv_chunk_ref(c);
    q->next = NULL;
    if (s->q_tail)
        s->q_tail->next = q;
    else
        s->q_head = q;
    s->q_tail = q;
    s->queued += c->len;
    return 0;
}

static void queue_free(sv_sub *s)
{
    for (qent *q = s->q_head; q;) {
        qent *next = q->next;
        sv_chunk_unref(q->c);
        free(q);
        q = next;
    }
    s->q_head = s->q_tail = NULL;
    s->queued = s->off = 0;
}

/* A comment (the opening line, a keep-alive): a small block of its own. */
static void comment(sv_sub *s, const char *text)
{
    sv_chunk *c = sv_chunk_new(NULL, 0, text);
    if (!c || enqueue(s, c) != 0)
        s->failed = 1;
    sv_chunk_unref(c);
}

/* Event seq, framed in c (the caller keeps its reference). */
static void push(sv_sub *s, long seq, const char *type, sv_chunk *c)
{
    if (s->replaying) {
        kept_event *k = kept_new(seq, type, sv_chunk_ref(c));
        if (!k) {
            sv_chunk_unref(c);
            s->failed = 1;
            return;
        }
        if (s->held_tail)
            s->held_tail->next = k;
        else
            s->held = k;
        s->held_tail = k;
        return;
    }
    if (seq <= s->last_seq || s->failed)
        return;
    if (enqueue(s, c) == 0) {
        s->last_seq = seq;
        s->quiet_since = sv_now_s();
        check_backlog(s);
    }
    wake(s);
}

static void stream_end(sv_sub *s)
{
    s->closing = 1;
    wake(s);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    sv_sub *s = cls;
    (void)pos;
    if (s->failed)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = 0;
    while (n < max && s->q_head) {
        sv_chunk *c = s->q_head->c;
        size_t take = c->len - s->off;
        if (take > max - n)
            take = max - n;
        memcpy(buf + n, c->data + s->off, take);
        n += take;
        s->off += take;
        if (s->off == c->len) {
            qent *q = s->q_head;
            s->q_head = q->next;
            if (!s->q_head)
                s->q_tail = NULL;
            sv_chunk_unref(q->c);
            free(q);
            s->off = 0;
        }
    }
    if (n) {
        s->queued -= n;
        return (ssize_t)n;
    }
    if (s->closing || s->app->stopping)
        return MHD_CONTENT_READER_END_OF_STREAM;
    /* Nothing to send: park the connection until wake(). */
    s->suspended = 1;
    MHD_suspend_connection(s->conn);
    return 0;
}

/* The connection is gone (finished, failed or closed by the client). */
static void release(void *cls)
{
    sv_sub *s = cls;
    sv_app *app = s->app;
    if (s->dead)
        return;
    kept_free_all(s->held);
    if (s->live) {
        for (sv_sub **pp = &s->live->subs; *pp; pp = &(*pp)->next) {
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        }
    }
    if (s->listed) {
        if (s->all_prev)
            s->all_prev->all_next = s->all_next;
        else
            app->subs_all = s->all_next;
        if (s->all_next)
            s->all_next->all_prev = s->all_prev;
    }
    app->n_subs--;
    queue_free(s);
    s->listed = 0;
    s->live = NULL;
    s->held = s->held_tail = NULL;
    if (s->polling)
        s->dead = 1;   /* the read in flight frees it */
    else
        free(s);
}

/* ---- the job service's hooks ---- */

void sv_stream_on_event(void *data, sv_live *L, const char *type, long seq, const char *json)
{
    sv_app *app = data;
    if (!L->subs)
        return;
    /* Framed once, queued by reference on every stream; a result also for later replays. */
    sv_chunk *c = sv_chunk_new(type, seq, json);
    if (c && strcmp(type, "result") == 0)
        c = sv_chunk_share(&app->result_chunks, c, L->ent.id, seq);
    for (sv_sub *s = L->subs; s; s = s->next) {
        if (c)
            push(s, seq, type, c);
        else
            s->failed = 1;
    }
    sv_chunk_unref(c);
}

/* The job's final status is durable: streams get what is queued and end. */
void sv_stream_on_closed(void *data, sv_live *L)
{
    (void)data;
    sv_sub *s = L->subs;
    L->subs = NULL;
    while (s) {
        sv_sub *next = s->next;
        s->next = NULL;
        s->live = NULL;
        stream_end(s);
        s = next;
    }
}

/* ---- opening: replay, then live ---- */

typedef struct {
    sv_read rd;
    sv_sub *sub;
    sv_req *req;
    char id[40];
    long after;
    int rc;
    int final_seen;            /* a final status event is among those read */
    kept_event *events, *tail;
    sv_chunk *result;          /* the job's result block already in memory (one reference),
                                  or NULL: the replay then reads the result from the store */
} replay;

/* A status event's data names a final state ({"status":"succeeded",...}). */
static int status_is_final(const char *json)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    sv_job_state st;
    int final = o && sv_job_state_parse(json_string_value(json_object_get(o, "status")), &st) == 0 &&
                sv_job_state_final(st);
    json_decref(o);
    return final;
}

/* Pool thread or inline: the stored events, results expanded from the job row. */
static int collect(void *data, long seq, const char *type, double ts, const char *json)
{
    replay *c = data;
    sv_store *store = c->rd.store;
    (void)ts;
    char *full = NULL;
    sv_chunk *frame;
    if (strcmp(type, "result") == 0 && c->result && c->result->seq == seq) {
        /* Another stream holds this result: its block is used, the store is not read again
         * (the reference taken on the loop thread moves to the event; no count changes). */
        frame = c->result;
        c->result = NULL;
    } else {
        if (strcmp(type, "result") == 0 &&
            sv_store_get_result(store, c->id, NULL, &full) == SV_STORE_OK && full)
            json = full;
        /* Framed here, off the loop; a result is swapped for the block already in memory, if
         * another stream holds it by then, when the replay reaches the loop. */
        frame = sv_chunk_new(type, seq, json);
        free(full);
    }
    kept_event *k = frame ? kept_new(seq, type, frame) : NULL;
    if (!k) {
        sv_chunk_unref(frame);
        c->rc = SV_STORE_ENOMEM;
        return 1;
    }
    if (strcmp(type, "status") == 0 && status_is_final(json))
        c->final_seen = 1;
    if (c->tail)
        c->tail->next = k;
    else
        c->events = k;
    c->tail = k;
    return 0;
}

static void replay_run(sv_read *rd, sv_store *store)
{
    replay *c = (replay *)rd;
    int rc = sv_store_events(store, c->id, c->after, 0, collect, c);
    if (c->rc == SV_STORE_OK)
        c->rc = rc;
}

static void detach(sv_sub *s)
{
    if (!s->live)
        return;
    for (sv_sub **pp = &s->live->subs; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    s->live = NULL;
}

/* Loop thread: what a replay still holds. */
static void replay_free(replay *c)
{
    kept_free_all(c->events);
    sv_chunk_unref(c->result);
    free(c);
}

static void replay_done(sv_read *rd)
{
    replay *c = (replay *)rd;
    sv_sub *s = c->sub;
    sv_app *app = s->app;
    sv_req *r = c->req;
    if (c->rc != SV_STORE_OK) {
        replay_free(c);
        detach(s);
        release(s);
        sv_http_error(r, "unavailable", "the job store failed", NULL);
        return;
    }
    /* Tell the client at once that the stream is open, even before the first event. */
    comment(s, "solvd event stream");
    s->quiet_since = sv_now_s();
    s->replaying = 0;
    for (kept_event *k = c->events; k; k = k->next) {
        if (strcmp(k->type, "result") == 0)
            k->c = sv_chunk_share(&app->result_chunks, k->c, s->job_id, k->seq);
        push(s, k->seq, k->type, k->c);
    }
    if (c->final_seen)
        s->final_seen = 1;
    replay_free(c);
    /* Then what arrived live meanwhile (what the replay already had is skipped by seq). */
    kept_event *held = s->held;
    s->held = s->held_tail = NULL;
    for (kept_event *k = held; k; k = k->next)
        push(s, k->seq, k->type, k->c);
    kept_free_all(held);
    /* Not attached, or the job ended during the replay: nothing more will come here; on a
     * shared store a job that has not ended runs (or will run) on some node: follow the store. */
    if (!s->live && !s->closing) {
        if (app->shared && !s->final_seen)
            s->remote = 1;
        else
            s->closing = 1;
    }
    s->all_next = app->subs_all;
    if (app->subs_all)
        app->subs_all->all_prev = s;
    app->subs_all = s;
    s->listed = 1;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, reader, s, release);
    if (!resp) {
        detach(s);
        release(s);
        sv_http_error(r, "internal", "out of memory", NULL);
        return;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    sv_http_response(r, 200, resp);
}

enum MHD_Result sv_stream_open(sv_app *app, sv_req *r, const char *id, long last_id)
{
    if (app->n_subs >= app->cfg.max_subscribers)
        return sv_http_error(r, "unavailable", "too many event streams; try again later", NULL);
    sv_sub *s = calloc(1, sizeof *s);
    replay *c = calloc(1, sizeof *c);
    if (!s || !c) {
        free(s);
        free(c);
        return sv_http_error(r, "internal", "out of memory", NULL);
    }
    s->app = app;
    s->conn = r->conn;
    s->last_seq = last_id;
    snprintf(s->job_id, sizeof s->job_id, "%s", id);
    app->n_subs++;
    /* Attached before the replay reads, so that events committed meanwhile are held, not
     * lost; a job whose streams have ended gets the replay alone. */
    sv_live *live = sv_jobs_find(&app->jobs, id);
    if (live && !live->closed) {
        s->live = live;
        s->next = live->subs;
        live->subs = s;
        s->replaying = 1;
    }
    c->sub = s;
    c->req = r;
    snprintf(c->id, sizeof c->id, "%s", id);
    c->after = last_id;
    c->result = sv_chunk_find(app->result_chunks, id);
    sv_reads_submit(&app->reads, &c->rd, replay_run, replay_done);
    return sv_http_pending(r);
}

/* ---- following a job on another node (shared stores) ---- */

static void follow(sv_sub *s);

static void follow_done(sv_read *rd)
{
    replay *c = (replay *)rd;
    sv_sub *s = c->sub;
    sv_app *app = s->app;
    s->polling = 0;
    if (s->dead) {
        replay_free(c);
        free(s);
        return;
    }
    if (c->rc != SV_STORE_OK) {
        /* The store failed this time: the next tick reads again. */
        replay_free(c);
        return;
    }
    for (kept_event *k = c->events; k; k = k->next) {
        if (strcmp(k->type, "result") == 0)
            k->c = sv_chunk_share(&app->result_chunks, k->c, s->job_id, k->seq);
        push(s, k->seq, k->type, k->c);
    }
    if (c->final_seen) {
        s->final_seen = 1;
        s->remote = 0;
        stream_end(s);
    }
    replay_free(c);
    if (s->poll_again && s->remote && !s->closing && !s->failed) {
        s->poll_again = 0;
        follow(s);
    }
}

static void follow(sv_sub *s)
{
    replay *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->sub = s;
    snprintf(c->id, sizeof c->id, "%s", s->job_id);
    c->after = s->last_seq;
    c->result = sv_chunk_find(s->app->result_chunks, s->job_id);
    s->polling = 1;
    sv_reads_submit(&s->app->reads, &c->rd, replay_run, follow_done);
}

void sv_stream_job_changed(void *data, const char *id)
{
    sv_app *app = data;
    for (sv_sub *s = app->subs_all; s; s = s->all_next) {
        if (!s->remote || s->closing || s->failed || strcmp(s->job_id, id) != 0)
            continue;
        if (s->polling)
            s->poll_again = 1;
        else
            follow(s);
    }
}

/* Ticks of the heartbeat timer per period: a stream's keep-alive comes between heartbeat-s and
 * heartbeat-s plus a tick after its last write. At most one tick a second, so an idle daemon
 * with the default 15 s period wakes once a second. */
#define SV_HEARTBEAT_TICKS 4
#define SV_HEARTBEAT_MAX_TICK_MS 1000u

static void on_heartbeat(uv_timer_t *t)
{
    sv_app *app = t->data;
    double now = sv_now_s();
    for (sv_sub *s = app->subs_all; s; s = s->all_next) {
        if (s->remote && !s->polling && !s->closing && !s->failed)
            follow(s);
        if (now - s->quiet_since < (double)app->cfg.heartbeat_s)
            continue;
        comment(s, "keep-alive");
        s->quiet_since = now;
        wake(s);
    }
}

int sv_stream_heartbeat_start(sv_app *app)
{
    app->heartbeat.data = app;
    if (uv_timer_init(app->loop, &app->heartbeat) != 0)
        return -1;
    uint64_t tick = (uint64_t)app->cfg.heartbeat_s * 1000u / SV_HEARTBEAT_TICKS;
    if (tick > SV_HEARTBEAT_MAX_TICK_MS)
        tick = SV_HEARTBEAT_MAX_TICK_MS;
    /* On a shared store the same tick follows the jobs that run on other nodes. */
    if (app->shared && tick > (uint64_t)app->cfg.claim_poll_ms)
        tick = (uint64_t)app->cfg.claim_poll_ms;
    return uv_timer_start(&app->heartbeat, on_heartbeat, tick, tick);
}

void sv_stream_close_all(sv_app *app)
{
    for (sv_sub *s = app->subs_all; s; s = s->all_next) {
        s->closing = 1;
        wake(s);
    }
}
