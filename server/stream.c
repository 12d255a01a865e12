/* stream.c - Server-Sent Event streams. Each subscriber owns a buffer; libmicrohttpd pulls from
 * it through a content-reader callback, which suspends the connection when the buffer is empty
 * (so an idle stream costs nothing) and is resumed when an event arrives. A suspended connection
 * neither times out nor notices a disconnect, so a stream that has been sent nothing for
 * --heartbeat-s seconds gets a comment; a write that fails then ends the stream and frees the
 * subscriber. The heartbeat is per stream, counted from its own last write: one timer ticks a
 * few times per period and picks the streams that are due. */
#include <stdlib.h>
#include <string.h>
#include "api/sse.h"
#include "core/solver.h"
#include "server/log.h"
#include "server/server.h"

/* A subscriber further behind than this is dropped rather than buffered without bound. */
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
    if (s->len - s->off > SV_STREAM_MAX_BUFFER && !s->failed) {
        s->failed = 1;
        s->app->metrics.sse_dropped++;
        sv_log_warn("event stream dropped: subscriber too slow", "job=%s", s->job_id);
    }
}

void sv_stream_push(sv_sub *s, const char *type, long seq, const char *data)
{
    if (seq <= s->last_seq || s->failed)
        return;
    if (sv_sse_append(&s->buf, &s->len, &s->cap, type, seq, data) != 0) {
        s->failed = 1;
    } else {
        s->last_seq = seq;
        s->quiet_since = sv_now_s();
        check_backlog(s);
    }
    wake(s);
}

void sv_stream_end(sv_sub *s)
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
    if (s->off < s->len) {
        size_t n = s->len - s->off;
        if (n > max)
            n = max;
        memcpy(buf, s->buf + s->off, n);
        s->off += n;
        if (s->off == s->len)
            s->off = s->len = 0;
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
    if (s->live) {
        for (sv_sub **pp = &s->live->subs; *pp; pp = &(*pp)->next) {
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        }
    }
    if (s->all_prev)
        s->all_prev->all_next = s->all_next;
    else
        app->subs_all = s->all_next;
    if (s->all_next)
        s->all_next->all_prev = s->all_prev;
    app->n_subs--;
    free(s->buf);
    free(s);
}

typedef struct {
    sv_app *app;
    sv_sub *sub;
    const char *tenant;
} replay_ctx;

static int replay_one(void *data, long seq, const char *type, double ts, const char *json)
{
    replay_ctx *c = data;
    (void)ts;
    if (strcmp(type, "result") == 0) {
        char *full = NULL;
        if (sv_store_get_result(c->app->rstore, c->sub->job_id, NULL, &full) == SV_STORE_OK &&
            full) {
            sv_stream_push(c->sub, type, seq, full);
            free(full);
            return 0;
        }
    }
    sv_stream_push(c->sub, type, seq, json);
    return 0;
}

enum MHD_Result sv_stream_open(sv_app *app, sv_req *r, const char *id, sv_live *live,
                               long last_id)
{
    if (app->n_subs >= app->cfg.max_subscribers)
        return sv_http_error(r, "unavailable", "too many event streams; try again later", NULL);
    sv_sub *s = calloc(1, sizeof *s);
    if (!s)
        return sv_http_error(r, "internal", "out of memory", NULL);
    s->app = app;
    s->conn = r->conn;
    s->last_seq = last_id;
    snprintf(s->job_id, sizeof s->job_id, "%s", id);
    /* Tell the client at once that the stream is open, even before the first event. */
    sv_sse_comment(&s->buf, &s->len, &s->cap, "solvd event stream");
    s->quiet_since = sv_now_s();
    /* Replay what is durable, then go live. */
    replay_ctx c = {app, s, r->tenant};
    if (sv_store_events(app->rstore, id, last_id, 0, replay_one, &c) != SV_STORE_OK) {
        free(s->buf);
        free(s);
        return sv_http_error(r, "unavailable", "the job store failed", NULL);
    }
    /* Events still on their way to the store reach this stream when they commit (duplicates of
     * what the replay already read are skipped by sequence number). */
    if (live && !live->closed) {
        s->live = live;
        s->next = live->subs;
        live->subs = s;
    } else {
        s->closing = 1;
    }
    s->all_next = app->subs_all;
    if (app->subs_all)
        app->subs_all->all_prev = s;
    app->subs_all = s;
    app->n_subs++;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, reader, s, release);
    if (!resp) {
        release(s);
        return sv_http_error(r, "internal", "out of memory", NULL);
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return sv_http_response(r, 200, resp);
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
        if (now - s->quiet_since < (double)app->cfg.heartbeat_s)
            continue;
        if (sv_sse_comment(&s->buf, &s->len, &s->cap, "keep-alive") != 0)
            s->failed = 1;
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
    return uv_timer_start(&app->heartbeat, on_heartbeat, tick, tick);
}

void sv_stream_close_all(sv_app *app)
{
    for (sv_sub *s = app->subs_all; s; s = s->all_next) {
        s->closing = 1;
        wake(s);
    }
}
