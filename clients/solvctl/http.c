/* http.c - libcurl requests and event streams for solvctl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "solvctl.h"

volatile sig_atomic_t sc_interrupted;

/* Called by libcurl about once a second even on a silent connection: how Ctrl-C reaches a
 * transfer that waits in poll(). */
static int xferinfo(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)p, (void)dt, (void)dn, (void)ut, (void)un;
    return sc_interrupted ? 1 : 0;
}

static void interruptible(CURL *curl)
{
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, xferinfo);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
}

typedef struct {
    char *buf;
    size_t len, cap;
} sc_buf;

static size_t collect(char *ptr, size_t size, size_t n, void *userdata)
{
    sc_buf *b = userdata;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb)
            return 0;
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, ptr, add);
    b->len += add;
    b->buf[b->len] = 0;
    return add;
}

static struct curl_slist *headers(const sc_ctx *c, const char *extra, int json_body)
{
    struct curl_slist *h = NULL;
    if (json_body)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (c->token) {
        char auth[600];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
        h = curl_slist_append(h, auth);
    }
    if (extra)
        h = curl_slist_append(h, extra);
    return h;
}

int sc_request(const sc_ctx *c, const char *method, const char *path, const char *body,
               const char *extra_header, sc_resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(out->error, sizeof out->error, "cannot initialise libcurl");
        return -1;
    }
    char url[2048];
    snprintf(url, sizeof url, "%s%s", c->url, path);
    sc_buf b = {NULL, 0, 0};
    struct curl_slist *h = headers(c, extra_header, body != NULL);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (c->cacert)
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->cacert);
    interruptible(curl);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    } else {
        snprintf(out->error, sizeof out->error, "%.180s: %s", url, curl_easy_strerror(rc));
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    out->body = b.buf ? b.buf : strdup("");
    out->len = b.len;
    return rc == CURLE_OK ? 0 : -1;
}

void sc_resp_free(sc_resp *r)
{
    free(r->body);
    r->body = NULL;
}

int sc_report_error(const sc_resp *r)
{
    if (r->status == 0) {
        fprintf(stderr, "solvctl: %s\n", r->error);
        return SC_ERROR;
    }
    json_t *doc = json_loads(r->body, 0, NULL);
    json_t *e = json_object_get(doc, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *path = json_string_value(json_object_get(e, "path"));
    if (msg)
        fprintf(stderr, "solvctl: %ld %s: %s%s%s\n", r->status, code ? code : "error", msg,
                path ? " at " : "", path ? path : "");
    else
        fprintf(stderr, "solvctl: HTTP %ld: %.200s\n", r->status, r->body);
    json_decref(doc);
    return SC_ERROR;
}

/* ---- event streams ---- */

typedef struct {
    sc_buf line;           /* the event being assembled */
    sc_event_fn fn;
    void *data;
    int stopped;
    long status;
    CURL *curl;
    char type[32];
    long id;
    sc_buf payload;
} sc_stream_state;

/* Handles one complete line of the stream (without its newline). */
static void stream_line(sc_stream_state *s, const char *line, size_t n)
{
    if (n == 0) {
        /* Blank line: dispatch the event, if any data was given. */
        if (s->payload.len || s->type[0]) {
            sc_event ev;
            snprintf(ev.type, sizeof ev.type, "%s", s->type[0] ? s->type : "message");
            ev.id = s->id;
            ev.data = s->payload.buf ? s->payload.buf : "";
            if (!s->stopped && s->fn(&ev, s->data))
                s->stopped = 1;
        }
        s->type[0] = 0;
        s->payload.len = 0;
        if (s->payload.buf)
            s->payload.buf[0] = 0;
        return;
    }
    if (line[0] == ':')
        return;   /* comment: heartbeat */
    const char *colon = memchr(line, ':', n);
    size_t fl = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    if (v < line + n && *v == ' ')
        v++;
    size_t vl = (size_t)(line + n - v);
    if (fl == 5 && strncmp(line, "event", 5) == 0) {
        snprintf(s->type, sizeof s->type, "%.*s", (int)vl, v);
    } else if (fl == 2 && strncmp(line, "id", 2) == 0) {
        s->id = strtol(v, NULL, 10);
    } else if (fl == 4 && strncmp(line, "data", 4) == 0) {
        if (s->payload.len)
            collect("\n", 1, 1, &s->payload);
        collect((char *)v, 1, vl, &s->payload);
    }
}

static size_t stream_write(char *ptr, size_t size, size_t n, void *userdata)
{
    sc_stream_state *s = userdata;
    size_t total = size * n;
    if (!s->status)
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200) {
        /* An error body, not a stream. */
        collect(ptr, 1, total, &s->line);
        return total;
    }
    for (size_t i = 0; i < total; i++) {
        if (ptr[i] == '\n') {
            stream_line(s, s->line.buf ? s->line.buf : "", s->line.len);
            s->line.len = 0;
            if (s->line.buf)
                s->line.buf[0] = 0;
            if (s->stopped)
                return 0;   /* abort the transfer */
        } else if (ptr[i] != '\r') {
            collect(ptr + i, 1, 1, &s->line);
        }
    }
    return total;
}

long sc_stream(const sc_ctx *c, const char *path, sc_event_fn fn, void *data, char *errbuf,
               size_t errlen)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return 0;
    char url[2048];
    snprintf(url, sizeof url, "%s%s", c->url, path);
    sc_stream_state s;
    memset(&s, 0, sizeof s);
    s.fn = fn;
    s.data = data;
    s.curl = curl;
    struct curl_slist *h = headers(c, "Accept: text/event-stream", 0);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (c->cacert)
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->cacert);
    interruptible(curl);
    CURLcode rc = curl_easy_perform(curl);
    long status = s.status;
    if (!status)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK && !s.stopped && errbuf)
        snprintf(errbuf, errlen, "%.180s: %s", url, curl_easy_strerror(rc));
    else if (status != 200 && errbuf)
        snprintf(errbuf, errlen, "%.*s", (int)(s.line.len < 400 ? s.line.len : 400),
                 s.line.buf ? s.line.buf : "");
    if (rc != CURLE_OK && !s.stopped)
        status = 0;
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    free(s.line.buf);
    free(s.payload.buf);
    return status;
}
