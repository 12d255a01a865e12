/* http.h - libmicrohttpd driven by the libuv loop, and the replies handlers send: JSON bodies,
 * errors, buffers, and replies deferred until the store has answered. */
#ifndef SV_HTTP_H
#define SV_HTTP_H

#include <jansson.h>
#include <microhttpd.h>

typedef struct sv_app sv_app;

/* One HTTP request, from its first byte to its completion. */
typedef struct sv_req {
    sv_app *app;
    struct MHD_Connection *conn;
    char method[12];
    char *url;
    char *body;
    size_t len, cap;
    int too_big;
    int suspended;
    int started;               /* the handler ran */
    int replied;               /* a reply was queued or stored for after the resume */
    enum MHD_Result reply_rc;  /* what queueing the reply returned, for the handler to pass on */
    struct MHD_Response *deferred;  /* response ready to queue after a resume */
    unsigned deferred_status;
    char tenant[64];
    int admin;                 /* the token's role is admin: every tenant's jobs are in scope */
    double t0;
    unsigned status_sent;      /* for the metrics of the completed request */
} sv_req;

/* The route handler every complete request is given to. */
typedef enum MHD_Result (*sv_http_handler)(sv_req *r);

int sv_http_start(sv_app *app, sv_http_handler handler);
void sv_http_stop(sv_app *app);
/* Runs MHD at the next loop turn (after resuming a connection from outside MHD). */
void sv_http_kick(sv_app *app);
/* Replies now (inside the handler) or, for a suspended request, stores the reply and resumes
 * the connection. body is stolen. */
enum MHD_Result sv_http_json(sv_req *r, unsigned status, json_t *body);
/* The body sv_http_json sends for body (stolen): compact JSON and a newline, malloc'd, its
 * length in *len; NULL out of memory. */
char *sv_http_render_json(json_t *body, size_t *len);
enum MHD_Result sv_http_error(sv_req *r, const char *code, const char *message, const char *path);
/* An error that also carries one response header (Allow on 405, WWW-Authenticate on 401). */
enum MHD_Result sv_http_error_header(sv_req *r, const char *code, const char *message,
                                     const char *hname, const char *hvalue);
/* The buffer is taken over (freed by MHD). */
enum MHD_Result sv_http_buffer(sv_req *r, unsigned status, const char *content_type, char *buf,
                               size_t len);
enum MHD_Result sv_http_response(sv_req *r, unsigned status, struct MHD_Response *resp);
/* For a handler that started work which replies through sv_http_* when it is done: returns
 * what the reply returned if it came already, else suspends the request until it does. */
enum MHD_Result sv_http_pending(sv_req *r);
const char *sv_http_header(sv_req *r, const char *name);
const char *sv_http_query(sv_req *r, const char *name);

#endif
