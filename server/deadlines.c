/* deadlines.c - request header and body deadlines of HTTP connections. */
#include "server/deadlines.h"

#include <stdlib.h>
#include <sys/socket.h>
#include "core/solver.h"
#include "server/log.h"

static void on_sweep(uv_timer_t *t)
{
    sv_deadlines *d = t->data;
    sv_deadlines_sweep(d, sv_now_s());
}

int sv_deadlines_start(sv_deadlines *d, uv_loop_t *loop, double header_s, double body_s,
                       void (*kick)(void *), void *kick_arg)
{
    d->head.prev = d->head.next = &d->head;
    d->header_s = header_s;
    d->body_s = body_s;
    d->kick = kick;
    d->kick_arg = kick_arg;
    d->open = d->closed_headers = d->closed_body = 0;
    d->sweep.data = d;
    if (uv_timer_init(loop, &d->sweep) != 0)
        return -1;
    double shortest = header_s > 0 && (body_s <= 0 || header_s < body_s) ? header_s : body_s;
    if (shortest <= 0)
        return 0;
    double period = shortest / 4 < 1.0 ? shortest / 4 : 1.0;
    uint64_t ms = period * 1000 < 10 ? 10 : (uint64_t)(period * 1000);
    if (uv_timer_start(&d->sweep, on_sweep, ms, ms) != 0)
        return -1;
    uv_unref((uv_handle_t *)&d->sweep);   /* the sweep alone keeps nothing running */
    return 0;
}

void sv_deadlines_stop(sv_deadlines *d)
{
    uv_timer_stop(&d->sweep);
    uv_close((uv_handle_t *)&d->sweep, NULL);
}

void sv_deadlines_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode code)
{
    sv_deadlines *d = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        sv_conn *c = calloc(1, sizeof *c);
        *socket_context = c;
        if (!c)
            return;   /* untracked: it only escapes the deadlines */
        c->conn = conn;
        c->phase = SV_CONN_HEADERS;
        c->since = sv_now_s();
        c->next = d->head.next;
        c->prev = &d->head;
        d->head.next->prev = c;
        d->head.next = c;
        d->open++;
        return;
    }
    sv_conn *c = *socket_context;
    if (!c)
        return;
    c->prev->next = c->next;
    c->next->prev = c->prev;
    d->open--;
    free(c);
    *socket_context = NULL;
}

void sv_deadlines_phase(struct MHD_Connection *conn, sv_conn_phase phase)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    sv_conn *c = ci ? ci->socket_context : NULL;
    if (!c || c->phase == SV_CONN_CLOSING)
        return;
    c->phase = phase;
    c->since = sv_now_s();
}

void sv_deadlines_sweep(sv_deadlines *d, double now)
{
    int shut = 0;
    for (sv_conn *c = d->head.next; c != &d->head; c = c->next) {
        double limit = c->phase == SV_CONN_HEADERS ? d->header_s
                       : c->phase == SV_CONN_BODY  ? d->body_s
                                                   : 0;
        if (limit <= 0 || now - c->since <= limit)
            continue;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
            continue;
        if (c->phase == SV_CONN_HEADERS)
            d->closed_headers++;
        else
            d->closed_body++;
        sv_log_debug("connection past its deadline", "phase=%s seconds=%.1f",
                     c->phase == SV_CONN_HEADERS ? "headers" : "body", now - c->since);
        c->phase = SV_CONN_CLOSING;
        shutdown(ci->connect_fd, SHUT_RDWR);
        shut = 1;
    }
    if (shut && d->kick)
        d->kick(d->kick_arg);
}
