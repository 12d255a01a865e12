/* solvctl.h - the command-line client's shared pieces: HTTP calls to solvd through libcurl,
 * and the Server-Sent Events parser used by `watch` and `logs`. */
#ifndef SOLVCTL_H
#define SOLVCTL_H

#include <signal.h>
#include <stddef.h>
#include <jansson.h>
#include "output.h"

/* Exit statuses, for scripts (as gh and kubectl: one status for every kind of error). */
enum {
    SC_OK = 0,            /* the command worked (and a waited-for job succeeded) */
    SC_ERROR = 1,         /* the server answered with an error, no answer (network), or a
                           * waited-for job ended failed, cancelled or timed_out */
    SC_USAGE = 2,         /* bad command line */
    SC_INTERRUPTED = 130  /* Ctrl-C while waiting (the job goes on on the server) */
};

#define SC_MAX_FIELDS 32

typedef struct {
    const char *url;     /* base, e.g. http://127.0.0.1:8080 */
    const char *token;   /* bearer token or NULL */
    const char *cacert;  /* PEM file of the certificate(s) to trust for https, or NULL: the
                            system's */
    sc_output out;       /* -o (--json is -o json) */
    char *fields[SC_MAX_FIELDS];   /* --field, in the order given */
    int nfields;
} sc_ctx;

/* Set by the SIGINT handler of `wait`: requests and streams in flight give up within about a
 * second (libcurl's progress callback polls it). */
extern volatile sig_atomic_t sc_interrupted;

typedef struct {
    long status;         /* HTTP status, 0 when no answer */
    char *body;          /* NUL-terminated (malloc'd) */
    size_t len;
    char error[256];     /* curl's message when status == 0 */
} sc_resp;

/* method "GET"/"POST"/"DELETE"; body may be NULL; extra_header may be NULL ("Name: value"). */
int sc_request(const sc_ctx *c, const char *method, const char *path, const char *body,
               const char *extra_header, sc_resp *out);
void sc_resp_free(sc_resp *r);
/* Prints the API error of r to stderr and returns the exit code for it. */
int sc_report_error(const sc_resp *r);

/* One event of a stream. */
typedef struct {
    char type[32];
    long id;
    const char *data;
} sc_event;

/* Called per event; return non-zero to stop the stream. */
typedef int (*sc_event_fn)(const sc_event *ev, void *data);

/* Streams GET path as SSE, calling fn per event until the stream ends or fn stops it.
 * Returns the HTTP status (0 when no answer; error text in errbuf). */
long sc_stream(const sc_ctx *c, const char *path, sc_event_fn fn, void *data, char *errbuf,
               size_t errlen);

#endif
