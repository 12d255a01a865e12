/* http.c - libmicrohttpd without threads of its own, driven by the libuv loop: MHD's epoll fd is
 * watched with a uv_poll_t and its timeout with a uv_timer_t; every readiness runs MHD_run once
 * and re-arms the timer. Requests gather their body (bounded by --max-body-bytes), then go to the
 * handlers; a handler that waits for the store suspends its connection and replies later. */
#include "server/http.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "api/errors.h"
#include "core/solver.h"
#include "server/app.h"
#include "server/deadlines.h"
#include "server/log.h"

static void arm_timer(sv_app *app);

static void run_mhd(sv_app *app)
{
    if (!app->mhd)
        return;
    MHD_run(app->mhd);
    arm_timer(app);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    run_mhd(h->data);
}

static void on_timer(uv_timer_t *t) { run_mhd(t->data); }

static void arm_timer(sv_app *app)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(app->mhd, &ms) == MHD_YES)
        uv_timer_start(&app->mhd_timer, on_timer, (uint64_t)ms, 0);
    else
        uv_timer_stop(&app->mhd_timer);
}

/* After a resume from outside MHD, run MHD soon: the resumed connection is processed there. */
void sv_http_kick(sv_app *app)
{
    if (app->mhd)
        uv_timer_start(&app->mhd_timer, on_timer, 0, 0);
}

static void kick_cb(void *app) { sv_http_kick(app); }

/* ---- replies ---- */

enum MHD_Result sv_http_response(sv_req *r, unsigned status, struct MHD_Response *resp)
{
    r->status_sent = status;
    r->replied = 1;
    if (r->suspended) {
        /* Replying from outside MHD: keep it until MHD calls the handler again. */
        r->deferred = resp;
        r->deferred_status = status;
        r->suspended = 0;
        MHD_resume_connection(r->conn);
        sv_http_kick(r->app);
        r->reply_rc = MHD_YES;
        return MHD_YES;
    }
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->reply_rc = ret;
    return ret;
}

/* A response of buf (taken over) with its content type and one optional extra header. */
static enum MHD_Result buffer_reply(sv_req *r, unsigned status, const char *content_type,
                                    char *buf, size_t len, const char *hname, const char *hvalue)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", content_type);
    if (hname)
        MHD_add_response_header(resp, hname, hvalue);
    return sv_http_response(r, status, resp);
}

enum MHD_Result sv_http_buffer(sv_req *r, unsigned status, const char *content_type, char *buf,
                               size_t len)
{
    return buffer_reply(r, status, content_type, buf, len, NULL, NULL);
}

char *sv_http_render_json(json_t *body, size_t *len)
{
    /* 15 significant digits: exact enough for views; /result serves the stored text as is. */
    char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(body);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    /* A trailing newline makes curl output readable in a terminal. */
    char *t = realloc(s, n + 2);
    if (t) {
        t[n++] = '\n';
        t[n] = 0;
        s = t;
    }
    *len = n;
    return s;
}

static enum MHD_Result json_reply(sv_req *r, unsigned status, json_t *body, const char *hname,
                                  const char *hvalue)
{
    size_t n;
    char *s = sv_http_render_json(body, &n);
    if (!s)
        return MHD_NO;
    return buffer_reply(r, status, "application/json", s, n, hname, hvalue);
}

enum MHD_Result sv_http_json(sv_req *r, unsigned status, json_t *body)
{
    return json_reply(r, status, body, NULL, NULL);
}

enum MHD_Result sv_http_error(sv_req *r, const char *code, const char *message, const char *path)
{
    return json_reply(r, (unsigned)sv_api_status_for(code), sv_api_error(code, message, path),
                      NULL, NULL);
}

enum MHD_Result sv_http_error_header(sv_req *r, const char *code, const char *message,
                                     const char *hname, const char *hvalue)
{
    return json_reply(r, (unsigned)sv_api_status_for(code), sv_api_error(code, message, NULL),
                      hname, hvalue);
}

enum MHD_Result sv_http_pending(sv_req *r)
{
    if (r->replied)
        return r->reply_rc;
    if (r->suspended)
        return MHD_YES;   /* already waiting (a read that leads to another) */
    r->suspended = 1;
    MHD_suspend_connection(r->conn);
    return MHD_YES;
}

const char *sv_http_header(sv_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *sv_http_query(sv_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- request lifecycle ---- */

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_size, void **con_cls)
{
    sv_app *app = cls;
    sv_req *r = *con_cls;
    (void)version;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->app = app;
        r->conn = conn;
        r->t0 = sv_now_s();
        snprintf(r->method, sizeof r->method, "%s", method);
        r->url = strdup(url);
        *con_cls = r;
        sv_deadlines_phase(conn, SV_CONN_BODY);
        if (!r->url)
            return MHD_NO;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        long long announced = cl ? strtoll(cl, NULL, 10) : 0;
        if (announced > 0 && announced <= app->cfg.max_body_bytes) {
            /* The whole body in one allocation: growing by doubling copied a 60 MB body about
             * fourteen times over. A client that announces more than it sends costs address
             * space, not memory (a large malloc is mapped lazily; untouched pages stay free),
             * and body-timeout-s ends it. */
            r->body = malloc((size_t)announced + 1);
            if (r->body)
                r->cap = (size_t)announced + 1;
        }
        if (cl && announced > app->cfg.max_body_bytes) {
            /* Refuse before reading a byte of it; MHD closes the connection afterwards. */
            r->started = 1;
            sv_deadlines_phase(conn, SV_CONN_REPLY);
            char msg[96];
            snprintf(msg, sizeof msg, "the body is larger than the limit of %ld bytes",
                     app->cfg.max_body_bytes);
            return sv_http_error(r, "payload_too_large", msg, NULL);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->too_big) {
            if (r->len + *upload_size > (size_t)app->cfg.max_body_bytes) {
                r->too_big = 1;
                free(r->body);
                r->body = NULL;
                r->len = r->cap = 0;
            } else {
                if (r->len + *upload_size + 1 > r->cap) {
                    size_t cap = r->cap ? r->cap : 4096;
                    while (cap < r->len + *upload_size + 1)
                        cap *= 2;
                    char *b = realloc(r->body, cap);
                    if (!b)
                        return MHD_NO;
                    r->body = b;
                    r->cap = cap;
                }
                memcpy(r->body + r->len, upload_data, *upload_size);
                r->len += *upload_size;
                r->body[r->len] = 0;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->deferred) {
        enum MHD_Result ret = MHD_queue_response(conn, r->deferred_status, r->deferred);
        MHD_destroy_response(r->deferred);
        r->deferred = NULL;
        return ret;
    }
    if (r->started)
        return MHD_YES;
    r->started = 1;
    sv_deadlines_phase(conn, SV_CONN_REPLY);
    if (r->too_big) {
        char msg[96];
        snprintf(msg, sizeof msg, "the body is larger than the limit of %ld bytes",
                 app->cfg.max_body_bytes);
        return sv_http_error(r, "payload_too_large", msg, NULL);
    }
    return app->http_handler(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    sv_app *app = cls;
    sv_req *r = *con_cls;
    (void)toe;
    /* A kept-alive connection waits for its next request: the header deadline starts again. */
    sv_deadlines_phase(conn, SV_CONN_HEADERS);
    if (!r)
        return;
    sv_metrics_http(&app->metrics, r->status_sent, sv_now_s() - r->t0);
    if (r->deferred)
        MHD_destroy_response(r->deferred);
    free(r->url);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = 0;
    sv_log(SV_LOG_WARN, "http", "detail=\"%s\"", msg);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return -1;
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof host)
        return -1;
    memcpy(host, listen, hl);
    host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    memset(ss, 0, sizeof *ss);
    /* "[::1]:8080" for IPv6. */
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? AF_INET6 : -1;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? AF_INET : -1;
}

/* The listening socket, bound here rather than by MHD so that a taken address is an error with
 * its reason. SO_REUSEADDR only lets a restart bind while old connections linger in TIME_WAIT;
 * SO_REUSEPORT is never set: with it a second solvd could share the port, and requests would
 * alternate between two job stores. Returns the socket (its port in *port), or -1 (logged). */
static int bind_listen(const char *listen_addr, const struct sockaddr_storage *ss, int family,
                       unsigned *port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        sv_log_error("cannot listen", "listen=\"%s\" err=\"%s\"", listen_addr, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    socklen_t len = family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                       : (socklen_t)sizeof(struct sockaddr_in);
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        int err = errno;
        if (err == EADDRINUSE)
            sv_log_error("address in use: another process (another solvd?) listens there",
                         "listen=\"%s\" err=\"%s\"", listen_addr, strerror(err));
        else
            sv_log_error("cannot listen", "listen=\"%s\" err=\"%s\"", listen_addr,
                         strerror(err));
        close(fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    *port = 0;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
        *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                         : ((struct sockaddr_in *)&got)->sin_port);
    return fd;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decoding of the path and query, in place, as MHD's own, except that %00 stays as it
 * is: a decoded NUL would cut the C string, so "/ui/index.html%00.js" would be served as
 * "/ui/index.html". Left encoded, it names no file and no route. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = 0;
    return (size_t)(w - s);
}

/* The whole of a PEM file, NUL-terminated, or NULL (logged). */
static char *read_pem(const char *path, const char *what)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= (1L << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = 0;
        fclose(f);
        return buf;
    }
    sv_log_error("cannot read the TLS file", "%s=\"%s\" err=\"%s\"", what, path,
                 f && n > (1L << 20) ? "larger than 1 MiB" : strerror(errno));
    free(buf);
    if (f)
        fclose(f);
    return NULL;
}

int sv_http_start(sv_app *app, sv_http_handler handler)
{
    app->http_handler = handler;
    int tls = app->cfg.tls_cert[0] || app->cfg.tls_key[0];
    if (tls) {
        if (!app->cfg.tls_cert[0] || !app->cfg.tls_key[0]) {
            sv_log_error("HTTPS needs both tls-cert and tls-key", NULL);
            return -1;
        }
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            sv_log_error("this libmicrohttpd was built without TLS", NULL);
            return -1;
        }
        if (!(app->tls_cert_pem = read_pem(app->cfg.tls_cert, "tls_cert")) ||
            !(app->tls_key_pem = read_pem(app->cfg.tls_key, "tls_key")))
            return -1;
    }
    struct sockaddr_storage ss;
    int family = parse_listen(app->cfg.listen, &ss);
    if (family < 0) {
        sv_log_error("bad listen address", "listen=\"%s\" expected=host:port", app->cfg.listen);
        return -1;
    }
    unsigned bound_port = 0;
    int fd = bind_listen(app->cfg.listen, &ss, family, &bound_port);
    if (fd < 0)
        return -1;
    if (sv_deadlines_start(&app->deadlines, app->loop, app->cfg.header_timeout_s,
                           app->cfg.body_timeout_s, kick_cb, app) != 0) {
        close(fd);
        sv_log_error("cannot start the connection deadlines", NULL);
        return -1;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    app->listen_loopback =
        family == AF_INET
            ? (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127
            : IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
    /* MHD takes the socket over (MHD_stop_daemon closes it). The HTTPS options come last:
     * without TLS the list ends before them. */
    app->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, app, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, app, MHD_OPTION_UNESCAPE_CALLBACK, unescape,
        NULL, MHD_OPTION_NOTIFY_CONNECTION, sv_deadlines_notify, &app->deadlines,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)app->cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)app->cfg.max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)app->cfg.idle_timeout_s,
        tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, app->tls_cert_pem,
        MHD_OPTION_HTTPS_MEM_KEY, app->tls_key_pem, MHD_OPTION_END);
    if (!app->mhd) {
        close(fd);
        sv_log_error("cannot listen", "listen=\"%s\"", app->cfg.listen);
        return -1;
    }
    const union MHD_DaemonInfo *ep = MHD_get_daemon_info(app->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    app->mhd_poll.data = app;
    app->mhd_timer.data = app;
    if (!ep || uv_poll_init(app->loop, &app->mhd_poll, ep->epoll_fd) != 0 ||
        uv_poll_start(&app->mhd_poll, UV_READABLE, on_poll) != 0 ||
        uv_timer_init(app->loop, &app->mhd_timer) != 0) {
        sv_log_error("cannot watch the HTTP daemon", NULL);
        return -1;
    }
    app->port = bound_port;
    sv_log_info("listening", "listen=\"%s\" port=%u tls=%s", app->cfg.listen, app->port,
                tls ? "on" : "off");
    arm_timer(app);
    return 0;
}

void sv_http_stop(sv_app *app)
{
    if (!app->mhd)
        return;
    uv_poll_stop(&app->mhd_poll);
    uv_timer_stop(&app->mhd_timer);
    uv_close((uv_handle_t *)&app->mhd_poll, NULL);
    uv_close((uv_handle_t *)&app->mhd_timer, NULL);
    MHD_stop_daemon(app->mhd);
    app->mhd = NULL;
    free(app->tls_cert_pem);
    free(app->tls_key_pem);
    app->tls_cert_pem = app->tls_key_pem = NULL;
    sv_deadlines_stop(&app->deadlines);
}
