/* harness.h - what the integration tests share: the real solvd daemon started on a free port in
 * a temporary directory (stopped with SIGTERM and its exit status checked, or killed with -9 and
 * restarted on the same database), HTTP requests over libcurl, a Server-Sent Events reader, and
 * job helpers. Every wait is bounded, so a hung daemon fails a test instead of hanging CI.
 *
 * Include after <stdarg.h>, <stddef.h>, <setjmp.h>, <stdint.h> and <cmocka.h>: the helpers whose
 * name says "assert" (and it_call, it_submit, it_wait_for_status, ...) fail the current cmocka
 * test on a wrong outcome. The HTTP and SSE functions themselves never assert, so they can run
 * on threads.
 *
 * Every response the harness receives (it_http, it_sse) is checked against docs/openapi.json
 * (oas.h): its status must be documented for the operation, its media type too, and a JSON body
 * must match the schema. A mismatch is printed at once, fails it_call on the spot, and fails the
 * test in it_teardown (or the whole run at exit, for a test without that teardown). */
#ifndef SV_IT_HARNESS_H
#define SV_IT_HARNESS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* Seconds a single request may take before it counts as a hung daemon. */
#define IT_HTTP_TIMEOUT_S 10.0
/* Seconds the daemon may take to print its port. */
#define IT_START_TIMEOUT_S 10.0
/* Seconds a SIGTERM'd daemon may take to exit (ASan's leak check included). */
#define IT_STOP_TIMEOUT_S 20.0

#define IT_MAX_ARGS 48

/* ---------------------------------------------------------------------------------------------
 * The daemon
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    pid_t pid;                  /* 0 when not running */
    int port;
    int starts;                 /* each start logs to <dir>/solvd.<starts>.log */
    char dir[256];              /* temporary directory, removed by it_daemon_destroy */
    char db[320];
    char log[320];              /* the log of the current (or last) start */
    char *args[IT_MAX_ARGS];    /* extra arguments (pointing into argbuf), reused by a restart */
    int nargs;
    char argbuf[2048];
    char auth[200];             /* when set ("Authorization: Bearer t"), added to requests */
} it_daemon;

/* Starts SOLVD_BIN --listen 127.0.0.1:0 --db <new tmpdir>/solvd.db (and the built-in data-dir)
 * followed by args (NULL-terminated, may be NULL; "--workers" defaults to 2 when absent), waits
 * for its `msg="listening" ... port=N` log line. Returns 0, or -1 (the log is printed). */
int it_daemon_start(it_daemon *d, const char *const *args);
/* Starts again on the same database with the same arguments (after a stop or kill -9). */
int it_daemon_restart(it_daemon *d);
/* SIGTERM, then waits up to timeout_s (<= 0: IT_STOP_TIMEOUT_S). Returns the exit code, 128+n
 * when killed by signal n, or -1 on a timeout (the daemon is then killed with -9). */
int it_daemon_stop(it_daemon *d, double timeout_s);
/* Sends SIGTERM and returns at once. */
void it_daemon_term(it_daemon *d);
/* Waits for the daemon to exit by itself; returns as it_daemon_stop. */
int it_daemon_wait(it_daemon *d, double timeout_s);
/* kill -9 and reap. */
void it_daemon_kill9(it_daemon *d);
/* Kills the daemon if it runs and removes the directory (unless IT_KEEP is set). */
void it_daemon_destroy(it_daemon *d);
/* Is needle in the current start's log? */
int it_daemon_log_contains(const it_daemon *d, const char *needle);
/* Offset of the first line of the current log containing both a and b (b may be NULL), or -1. */
long it_daemon_log_find(const it_daemon *d, const char *a, const char *b);
/* The last lines of the current log on stderr. */
void it_daemon_dump_log(const it_daemon *d);

/* Starts the daemon or fails the test. */
void it__assert_start(const char *file, int line, it_daemon *d, const char *const *args);
#define it_assert_start(...) it__assert_start(__FILE__, __LINE__, __VA_ARGS__)
void it__assert_restart(const char *file, int line, it_daemon *d);
#define it_assert_restart(...) it__assert_restart(__FILE__, __LINE__, __VA_ARGS__)
/* SIGTERM; asserts exit status 0 and no sanitizer report in any log of this daemon. */
void it__assert_clean_exit(const char *file, int line, it_daemon *d);
#define it_assert_clean_exit(...) it__assert_clean_exit(__FILE__, __LINE__, __VA_ARGS__)
/* The same for a daemon already sent SIGTERM (it_daemon_term): waits, sends nothing. */
void it__assert_exits_cleanly(const char *file, int line, it_daemon *d);
#define it_assert_exits_cleanly(...) it__assert_exits_cleanly(__FILE__, __LINE__, __VA_ARGS__)

/* For cmocka_unit_test_teardown: kills every daemon still running and removes every directory
 * this process created (a failed assertion skips the test's own clean-up). */
int it_teardown(void **state);

/* ---------------------------------------------------------------------------------------------
 * HTTP
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    int curl_rc;                /* CURLE_OK, or why the exchange failed */
    long status;                /* HTTP status, 0 if none */
    char *body;                 /* NUL-terminated */
    size_t len;
    json_t *json;               /* the body parsed, NULL if it is not JSON */
    char *headers;              /* the raw response header block */
    int oas_mismatch;           /* the answer does not match docs/openapi.json (oas.h; already
                                   reported, and the test fails at its teardown) */
} it_resp;

typedef struct {
    const char *const *headers; /* extra request header lines, NULL-terminated */
    int chunked;                /* send the body with Transfer-Encoding: chunked */
    size_t body_len;            /* 0: strlen(body) */
    double timeout_s;           /* <= 0: IT_HTTP_TIMEOUT_S */
} it_req_opts;

/* A raw TCP connection to the daemon (asserted), for tests that speak HTTP byte by byte;
 * rcvbuf > 0 sets the socket's receive buffer (a small one keeps a slow reader's backlog in
 * the daemon, not the kernel). */
int it_dial(const it_daemon *d, int rcvbuf);
/* One request (opts may be NULL; body NULL: none). Returns 0 when a response came back. Adds
 * d->auth unless the extra headers carry an Authorization line. Thread-safe. */
int it_http(const it_daemon *d, const char *method, const char *path, const char *body,
            const it_req_opts *opts, it_resp *r);
void it_resp_free(it_resp *r);
/* The value of response header name (case-insensitive) in buf, or NULL if absent. */
const char *it_resp_header(const it_resp *r, const char *name, char *buf, size_t n);

/* Does the request and asserts the status (printing the body when it differs) and that the body
 * is JSON; returns it (the caller owns it). headers may be NULL. */
json_t *it__call(const char *file, int line, const it_daemon *d, const char *method,
                 const char *path, const char *body, const char *const *headers, long expect);
#define it_call(d, method, path, body, expect) \
    it__call(__FILE__, __LINE__, d, method, path, body, NULL, expect)
#define it_call_h(...) it__call(__FILE__, __LINE__, __VA_ARGS__)
/* Asserts an error response: status, {"error":{"code": code, "message": non-empty, "path":
 * path}} (path NULL: the error has no path, or an empty one). Frees the response. */
void it__assert_error(const char *file, int line, it_resp *r, long status, const char *code,
                      const char *path);
#define it_assert_error(...) it__assert_error(__FILE__, __LINE__, __VA_ARGS__)

/* ---------------------------------------------------------------------------------------------
 * Server-Sent Events
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    char type[32];              /* "message" when the event had no event: line */
    long id;                    /* -1 when the event had no id: line */
    char *data;
    json_t *json;               /* data parsed, or NULL */
} it_event;

typedef struct it_stream {
    long status;
    char content_type[128];
    it_event *ev;
    size_t n, cap;
    int comments;               /* comment lines */
    int keepalives;             /* ": keep-alive" comments */
    int first_is_comment;       /* the very first line of the body was a comment */
    int ended;                  /* the server ended the stream */
    int stopped;                /* the stop condition held */
    int timed_out;
    int curl_rc;
    char *raw;                  /* the body as received when it was not a stream (an error) */
    size_t raw_len;
    /* parser state */
    char *line;
    size_t line_len, line_cap;
    it_event cur;
    int cur_has;
    size_t cur_data_len;
    int seen_any;
    int (*stop)(const struct it_stream *s, void *data);
    void *stop_data;
    volatile int connected;     /* some body bytes arrived */
    volatile int abort_now;     /* set by another thread to hang up */
} it_stream;

/* Stop conditions: checked after every event and every comment. */
typedef int (*it_stop_fn)(const it_stream *s, void *data);
/* data: const char * event type: stop once such an event arrived. */
int it_stop_on_type(const it_stream *s, void *data);
/* data: long *: stop once that many events arrived. */
int it_stop_at_count(const it_stream *s, void *data);
/* data: int *: stop once that many keep-alive comments arrived. */
int it_stop_at_keepalives(const it_stream *s, void *data);

/* Reads path as an event stream until the server ends it, stop holds, or timeout_s passes.
 * Returns 0 unless the transfer failed other than by stop or timeout. Thread-safe. */
int it_sse(const it_daemon *d, const char *path, const char *const *headers, double timeout_s,
           it_stop_fn stop, void *stop_data, it_stream *s);
void it_stream_free(it_stream *s);
/* The first event of this type at index >= from, or NULL. */
const it_event *it_stream_find(const it_stream *s, const char *type, size_t from);

/* The same on a thread of its own. */
typedef struct it_sse_bg it_sse_bg;
it_sse_bg *it_sse_bg_start(const it_daemon *d, const char *path, const char *const *headers,
                           double timeout_s, it_stop_fn stop, void *stop_data);
/* Waits (bounded) until the stream's first bytes arrived; 0 on success. */
int it_sse_bg_wait_connected(it_sse_bg *b, double timeout_s);
/* Asks the reader to hang up. */
void it_sse_bg_abort(it_sse_bg *b);
/* Joins the thread; the stream stays valid until it_sse_bg_free. */
it_stream *it_sse_bg_join(it_sse_bg *b);
void it_sse_bg_free(it_sse_bg *b);

/* ---------------------------------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------------------------------- */
#define IT_EF21 "distributed.ef21"

/* Job bodies (malloc'd JSON text); extra is a JSON object merged into the top level, or NULL. */
/* Runs until stopped (tol 0, max_iter 1e9). */
char *it_body_long(const char *extra);
/* The long job's instance, stopping after max_iter rounds (report_every as given). */
char *it_body_iters(long max_iter, long report_every, const char *extra);
/* solver's catalog example with "solver" added. */
char *it__body_example(const char *file, int line, const it_daemon *d, const char *solver,
                       const char *extra);
#define it_body_example(...) it__body_example(__FILE__, __LINE__, __VA_ARGS__)

/* POST /v1/jobs, asserts 201 and status queued, copies the id into id[64]; returns the JSON. */
#define it_submit(d, body, id) it__submit(__FILE__, __LINE__, d, body, NULL, id)
/* Same, with extra request headers (NULL-terminated). */
json_t *it__submit(const char *file, int line, const it_daemon *d, const char *body,
                   const char *const *headers, char id[64]);
#define it_submit_h(...) it__submit(__FILE__, __LINE__, __VA_ARGS__)
/* GET /v1/jobs/{id}, asserted 200. */
#define it_get_job(d, id) it__get_job(__FILE__, __LINE__, d, id)
json_t *it__get_job(const char *file, int line, const it_daemon *d, const char *id);
/* Polls GET /v1/jobs/{id} until its status is status; fails the test on a timeout or when the
 * job reaches another final state. Returns the job. */
json_t *it__wait_for_status(const char *file, int line, const it_daemon *d, const char *id,
                            const char *status, double timeout_s);
#define it_wait_for_status(...) it__wait_for_status(__FILE__, __LINE__, __VA_ARGS__)
/* Polls GET path until the value of metric name in /metrics satisfies want (exact), returns 0,
 * or -1 on timeout. */
double it_metric(const it_daemon *d, const char *name);
int it_wait_metric(const it_daemon *d, const char *name, double want, double timeout_s);

/* String member or "" (never NULL). */
const char *it_str(const json_t *o, const char *key);
/* Monotonic seconds. */
double it_now(void);
void it_sleep(double s);

#endif
