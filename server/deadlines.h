/* deadlines.h - how long a connection may take to send its request: a client must finish its
 * request headers within header-timeout-s of connecting (or of the previous response on a
 * kept-alive connection), and its body within body-timeout-s of the headers. libmicrohttpd's own
 * idle timeout restarts on every byte, so a client sending one byte a second held a connection
 * forever; a few thousand such clients shut everyone else out (slowloris). Connections are
 * tracked from MHD's connection notifications; a sweep on the loop thread shuts down the socket
 * of one past its deadline, and MHD then closes it as a client that went away. A connection
 * whose request is complete (a handler runs, a response or an event stream is being sent) has
 * no deadline here. Loop thread only. */
#ifndef SV_DEADLINES_H
#define SV_DEADLINES_H

#include <microhttpd.h>
#include <uv.h>

typedef enum {
    SV_CONN_HEADERS = 0,  /* waiting for a complete request header */
    SV_CONN_BODY = 1,     /* headers in, the body arriving */
    SV_CONN_REPLY = 2,    /* the request is complete */
    SV_CONN_CLOSING = 3   /* shut down by a sweep, MHD has yet to close it */
} sv_conn_phase;

typedef struct sv_conn {
    struct sv_conn *prev, *next;
    struct MHD_Connection *conn;
    sv_conn_phase phase;
    double since;          /* when the phase began (sv_now_s) */
} sv_conn;

typedef struct {
    sv_conn head;          /* sentinel of the list of open connections */
    uv_timer_t sweep;
    double header_s, body_s;   /* 0: that deadline is off */
    void (*kick)(void *);      /* runs MHD after a sweep shut sockets down */
    void *kick_arg;
    unsigned long open;
    unsigned long closed_headers, closed_body;   /* connections shut for each deadline */
} sv_deadlines;

/* Sets d up; the sweep timer runs every quarter of the shorter deadline (at most each second)
 * when a deadline is on. 0, or -1 when the timer cannot be started. */
int sv_deadlines_start(sv_deadlines *d, uv_loop_t *loop, double header_s, double body_s,
                       void (*kick)(void *), void *kick_arg);
void sv_deadlines_stop(sv_deadlines *d);

/* MHD_OPTION_NOTIFY_CONNECTION's callback; cls is the sv_deadlines. */
void sv_deadlines_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode code);

/* Moves conn to phase from now (a connection MHD did not announce is ignored). */
void sv_deadlines_phase(struct MHD_Connection *conn, sv_conn_phase phase);

/* One sweep: shuts down every connection past its deadline. The timer calls it; tests may. */
void sv_deadlines_sweep(sv_deadlines *d, double now);

#endif
