/* handlers.c - one function per route of api/router.c. Handlers validate with api/, read the
 * store through the reads module (each read a run/done pair, inline or on a pool thread), and
 * hand submissions and cancels to the job service, whose reply callback answers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "api/catalog.h"
#include "api/errors.h"
#include "api/jobjson.h"
#include "api/router.h"
#include "api/sse.h"
#include "api/submit.h"
#include "server/handlers.h"
#include "server/intake.h"

#include "server/app.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/stream.h"

#ifndef SOLVD_VERSION
#define SOLVD_VERSION "dev"
#endif

static enum MHD_Result get_solvers(sv_req *r) { return sv_http_json(r, 200, sv_catalog_list()); }

static enum MHD_Result get_solver(sv_req *r, const char *name)
{
    const sv_codec *c = sv_codec_find(name);
    if (!c)
        return sv_http_error(r, "not_found", "no such solver (see GET /v1/solvers)", NULL);
    return sv_http_json(r, 200, sv_catalog_solver(c));
}

/* The job service's answer to a submit or cancel, whenever it comes. */
static void jobs_replied(void *data, const sv_jobs_reply *o)
{
    sv_req *r = data;
    switch (o->outcome) {
    case SV_JOBS_CREATED: sv_http_json(r, 201, sv_job_to_json(o->job, 1)); return;
    case SV_JOBS_REPLAYED:
    case SV_JOBS_CANCELLED: sv_http_json(r, 200, sv_job_to_json(o->job, 1)); return;
    case SV_JOBS_CANCELLING:
        sv_http_json(r, 202, json_pack("{s:s, s:s, s:b}", "id", o->id, "status", "running",
                                       "cancel_requested", 1));
        return;
    case SV_JOBS_DELETED: sv_http_buffer(r, 204, "application/json", NULL, 0); return;
    case SV_JOBS_FAILED:
        if (strcmp(o->code, "quota_exceeded") == 0)
            sv_http_error_header(r, o->code, o->message, "Retry-After", "1");
        else
            sv_http_error(r, o->code, o->message, NULL);
        return;
    }
}

/* The tenant whose jobs the request may see: its own, or every one's (NULL) for an admin. */
static const char *scope(const sv_req *r) { return r->admin ? NULL : r->tenant; }

static enum MHD_Result delete_job(sv_req *r, const char *id)
{
    sv_jobs_delete(&r->app->jobs, id, scope(r), jobs_replied, r);
    return sv_http_pending(r);
}

static enum MHD_Result cancel_job(sv_req *r, const char *id)
{
    sv_jobs_cancel(&r->app->jobs, id, scope(r), jobs_replied, r);
    return sv_http_pending(r);
}

static enum MHD_Result post_job(sv_req *r)
{
    sv_app *app = r->app;
    if (app->draining)
        return sv_http_error(r, "unavailable", "the server is shutting down", NULL);
    const char *ct = sv_http_header(r, "Content-Type");
    if (ct && strncmp(ct, "application/json", 16) != 0 && strncmp(ct, "text/plain", 10) != 0 &&
        strncmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        return sv_http_error(r, "unsupported_media_type", "send the job as application/json",
                             NULL);
    if (!r->body || r->len == 0)
        return sv_http_error(r, "bad_json", "the body is empty; expected a JSON object", NULL);
    return sv_intake_start(r, jobs_replied);
}

/* ---- listing ---- */

typedef struct {
    sv_read rd;
    sv_req *r;
    sv_job_filter filter;
    sv_job *rows;
    int n, rc;
} list_read;

static void list_run(sv_read *rd, sv_store *s)
{
    list_read *c = (list_read *)rd;
    /* One extra row tells whether there is a next page. */
    sv_job_filter f = c->filter;
    f.limit++;
    c->rc = sv_store_list_jobs(s, &f, c->rows, &c->n);
}

static void list_done(sv_read *rd)
{
    list_read *c = (list_read *)rd;
    sv_req *r = c->r;
    int limit = c->filter.limit, n = c->n;
    if (c->rc != SV_STORE_OK) {
        sv_http_error(r, "unavailable", "the job store failed", NULL);
    } else {
        json_t *arr = json_array();
        int shown = n > limit ? limit : n;
        for (int i = 0; i < shown; i++)
            json_array_append_new(arr, sv_job_to_json(&c->rows[i], 0));
        json_t *out = json_pack("{s:o}", "jobs", arr);
        json_object_set_new(out, "next_cursor",
                            n > limit ? json_string(c->rows[shown - 1].id) : json_null());
        sv_http_json(r, 200, out);
    }
    for (int i = 0; i < n; i++)
        sv_job_clear(&c->rows[i]);
    free(c->rows);
    free(c);
}

static enum MHD_Result list_jobs(sv_req *r)
{
    sv_app *app = r->app;
    sv_job_filter f = {scope(r), -1, NULL, NULL, NULL, 50};
    const char *v = sv_http_query(r, "status");
    if (v) {
        sv_job_state st;
        if (sv_job_state_parse(v, &st) != 0)
            return sv_http_error(r, "invalid",
                                 "status must be one of queued, running, succeeded, failed, "
                                 "cancelled, timed_out",
                                 "?status");
        f.state = (int)st;
    }
    f.solver = sv_http_query(r, "solver");
    f.tag = sv_http_query(r, "tag");
    f.before_id = sv_http_query(r, "cursor");
    v = sv_http_query(r, "limit");
    if (v) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 500)
            return sv_http_error(r, "invalid", "limit must be an integer in [1, 500]", "?limit");
        f.limit = (int)n;
    }
    list_read *c = calloc(1, sizeof *c);
    sv_job *rows = calloc((size_t)f.limit + 1, sizeof *rows);
    if (!c || !rows) {
        free(c);
        free(rows);
        return sv_http_error(r, "internal", "out of memory", NULL);
    }
    c->r = r;
    c->filter = f;   /* its strings are the connection's, alive until the reply */
    c->rows = rows;
    sv_reads_submit(&app->reads, &c->rd, list_run, list_done);
    return sv_http_pending(r);
}

/* ---- reads of one job ---- */

typedef struct {
    sv_read rd;
    sv_req *r;
    char *id;                  /* as the client wrote it: no truncation may make it match */
    const char *tenant;        /* the request's scope (NULL: any tenant); lives as long as r */
    int rc, result_rc;
    sv_job job;
    char *result;
    int want_result;
} job_read;

static void job_run(sv_read *rd, sv_store *s)
{
    job_read *c = (job_read *)rd;
    c->rc = sv_store_get_job(s, c->id, c->tenant, &c->job);
    if (c->rc == SV_STORE_OK && c->want_result)
        c->result_rc = sv_store_get_result(s, c->id, c->tenant, &c->result);
}

static job_read *job_read_new(sv_req *r, const char *id, int want_result)
{
    job_read *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->r = r;
    c->id = strdup(id);
    if (!c->id) {
        free(c);
        return NULL;
    }
    c->tenant = scope(r);
    c->want_result = want_result;
    return c;
}

static void job_read_free(job_read *c)
{
    sv_job_clear(&c->job);
    free(c->result);
    free(c->id);
    free(c);
}

static void get_job_done(sv_read *rd)
{
    job_read *c = (job_read *)rd;
    sv_req *r = c->r;
    if (c->rc == SV_STORE_ENOTFOUND) {
        sv_http_error(r, "not_found", "no such job", NULL);
    } else if (c->rc != SV_STORE_OK) {
        sv_http_error(r, "unavailable", "the job store failed", NULL);
    } else {
        json_t *o = sv_job_to_json(&c->job, 1);
        if (!sv_job_state_final(c->job.state)) {
            if (sv_jobs_cancel_requested(&r->app->jobs, c->id))
                json_object_set_new(o, "cancel_requested", json_true());
            sv_http_json(r, 200, o);
        } else {
            /* A finished job's view does not change: rendered once, served from memory. */
            size_t n;
            char *s = sv_http_render_json(o, &n);
            if (s) {
                sv_viewcache_put(&r->app->views, c->job.id, c->job.tenant, s, n);
                sv_http_buffer(r, 200, "application/json", s, n);
            } else {
                sv_http_error(r, "internal", "out of memory", NULL);
            }
        }
    }
    job_read_free(c);
}

static enum MHD_Result get_job(sv_req *r, const char *id)
{
    const sv_viewcache_slot *v = sv_viewcache_get(&r->app->views, id, scope(r));
    if (v) {
        char *copy = malloc(v->len);
        if (copy) {
            memcpy(copy, v->body, v->len);
            return sv_http_buffer(r, 200, "application/json", copy, v->len);
        }
    }
    job_read *c = job_read_new(r, id, 0);
    if (!c)
        return sv_http_error(r, "internal", "out of memory", NULL);
    sv_reads_submit(&r->app->reads, &c->rd, job_run, get_job_done);
    return sv_http_pending(r);
}

static void get_result_done(sv_read *rd)
{
    job_read *c = (job_read *)rd;
    sv_req *r = c->r;
    if (c->rc == SV_STORE_ENOTFOUND) {
        sv_http_error(r, "not_found", "no such job", NULL);
    } else if (c->rc != SV_STORE_OK) {
        sv_http_error(r, "unavailable", "the job store failed", NULL);
    } else if (c->result_rc == SV_STORE_ENOTFOUND ||
               (c->result_rc == SV_STORE_OK && !c->result)) {
        char msg[128];
        sv_job_state st = c->job.state;
        snprintf(msg, sizeof msg, "no result: the job is %s", sv_job_state_name(st));
        sv_http_error(r, sv_job_state_final(st) ? "not_found" : "conflict", msg, NULL);
    } else if (c->result_rc != SV_STORE_OK) {
        sv_http_error(r, "unavailable", "the job store failed", NULL);
    } else {
        /* The stored text as it is, plus the newline every JSON answer ends with (two answers
         * in a row print on two lines). */
        char *result = c->result;
        c->result = NULL;
        size_t n = strlen(result);
        char *t = realloc(result, n + 2);
        if (t) {
            t[n++] = '\n';
            t[n] = 0;
            result = t;
        }
        sv_http_buffer(r, 200, "application/json", result, n);
    }
    job_read_free(c);
}

static enum MHD_Result get_result(sv_req *r, const char *id)
{
    job_read *c = job_read_new(r, id, 1);
    if (!c)
        return sv_http_error(r, "internal", "out of memory", NULL);
    sv_reads_submit(&r->app->reads, &c->rd, job_run, get_result_done);
    return sv_http_pending(r);
}

/* After the job is known to exist (and be the tenant's): the stream. */
static void open_stream(sv_req *r, const char *id)
{
    /* Browsers resume with the Last-Event-ID header; pages that reload use ?after=. */
    const char *v = sv_http_header(r, "Last-Event-ID");
    const char *where = "Last-Event-ID";
    if (!v) {
        v = sv_http_query(r, "after");
        where = "?after";
    }
    long last;
    if (sv_sse_parse_last_id(v, &last) != 0) {
        sv_http_error(r, "invalid", "the last event id must be a non-negative integer", where);
        return;
    }
    sv_stream_open(r->app, r, id, last);
}

static void events_job_done(sv_read *rd)
{
    job_read *c = (job_read *)rd;
    sv_req *r = c->r;
    if (c->rc == SV_STORE_ENOTFOUND)
        sv_http_error(r, "not_found", "no such job", NULL);
    else if (c->rc != SV_STORE_OK)
        sv_http_error(r, "unavailable", "the job store failed", NULL);
    else
        open_stream(r, c->id);
    job_read_free(c);
}

static enum MHD_Result get_events(sv_req *r, const char *id)
{
    sv_app *app = r->app;
    sv_live *L = sv_jobs_find(&app->jobs, id);
    if (L && scope(r) && strcmp(L->tenant, r->tenant) != 0)
        return sv_http_error(r, "not_found", "no such job", NULL);
    if (L) {
        open_stream(r, id);
        return sv_http_pending(r);
    }
    job_read *c = job_read_new(r, id, 0);
    if (!c)
        return sv_http_error(r, "internal", "out of memory", NULL);
    sv_reads_submit(&app->reads, &c->rd, job_run, events_job_done);
    return sv_http_pending(r);
}

typedef struct {
    sv_read rd;
    sv_req *r;
    int rc;
    long counts[SV_JOB_NSTATES];
} health_read;

static void health_run(sv_read *rd, sv_store *s)
{
    health_read *c = (health_read *)rd;
    c->rc = sv_store_count_states(s, c->counts);
}

static void health_done(sv_read *rd)
{
    health_read *c = (health_read *)rd;
    sv_req *r = c->r;
    sv_app *app = r->app;
    int writes = !sv_writer_failing(&app->writer);
    int ok = c->rc == SV_STORE_OK && writes;
    free(c);
    json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:I}", "status",
                          !ok ? "degraded" : app->draining ? "draining" : "ok", "version",
                          SOLVD_VERSION, "workers", app->pool.n, "busy_workers",
                          sv_jobs_running(&app->jobs), "queued",
                          (json_int_t)sv_jobs_queued(&app->jobs));
    json_object_set_new(o, "store", json_string(ok ? "ok" : "failing"));
    json_object_set_new(o, "store_writes", json_string(writes ? "ok" : "failing"));
    sv_http_json(r, ok && !app->draining ? 200 : 503, o);
}

static enum MHD_Result healthz(sv_req *r)
{
    health_read *c = calloc(1, sizeof *c);
    if (!c)
        return sv_http_error(r, "internal", "out of memory", NULL);
    c->r = r;
    sv_reads_submit(&r->app->reads, &c->rd, health_run, health_done);
    return sv_http_pending(r);
}

static enum MHD_Result metrics(sv_req *r)
{
    size_t len = 0;
    char *text = sv_metrics_render(r->app, &len);
    if (!text)
        return sv_http_error(r, "internal", "out of memory", NULL);
    return sv_http_buffer(r, 200, "text/plain; version=0.0.4", text, len);
}

static const char *content_type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
        {".svg", "image/svg+xml"},             {".png", "image/png"},
        {".ico", "image/x-icon"},              {".md", "text/markdown; charset=utf-8"},
        {".yaml", "application/yaml"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static enum MHD_Result serve_file(sv_req *r, const char *dir, const char *rel)
{
    if (!dir[0] || strstr(rel, "..") || rel[0] == '/')
        return sv_http_error(r, "not_found", "no such file", NULL);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel[0] ? rel : "index.html");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return sv_http_error(r, "not_found", "no such file", NULL);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", content_type_of(path));
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    return sv_http_response(r, 200, resp);
}

enum MHD_Result sv_handle(sv_req *r)
{
    sv_app *app = r->app;
    char path[512];
    snprintf(path, sizeof path, "%s", r->url);
    sv_route route;
    int m = sv_route_match(r->method, path, &route);
    if (m == 404)
        return sv_http_error(r, "not_found", "no such endpoint", NULL);
    if (m == 405)
        return sv_http_error_header(r, "method_not_allowed", "method not allowed here", "Allow",
                                    route.allow);
    /* The API description is public: clients fetch it before they have a token. /metrics is
     * too unless --metrics-public 0 (a scraper then sends a token like any client). */
    if ((strncmp(path, "/v1/", 4) == 0 && route.id != SV_R_OPENAPI) ||
        (route.id == SV_R_METRICS && !app->cfg.metrics_public)) {
        if (sv_auth_tenant(app, sv_http_header(r, "Authorization"), r->tenant,
                           sizeof r->tenant, &r->admin) != 0)
            return sv_http_error_header(r, "unauthorized", "a valid bearer token is required",
                                        "WWW-Authenticate", "Bearer");
        /* Private metrics count every tenant's jobs: an operator's (admin's) to read. */
        if (route.id == SV_R_METRICS && app->tokens && !r->admin)
            return sv_http_error(r, "forbidden", "/metrics is for admin tokens", NULL);
    }
    switch (route.id) {
    case SV_R_SOLVERS: return get_solvers(r);
    case SV_R_SOLVER: return get_solver(r, route.arg);
    case SV_R_JOBS_LIST: return list_jobs(r);
    case SV_R_JOBS_SUBMIT: return post_job(r);
    case SV_R_JOB: return get_job(r, route.arg);
    case SV_R_JOB_RESULT: return get_result(r, route.arg);
    case SV_R_JOB_CANCEL: return cancel_job(r, route.arg);
    case SV_R_JOB_DELETE: return delete_job(r, route.arg);
    case SV_R_JOB_EVENTS: return get_events(r, route.arg);
    case SV_R_HEALTHZ: return healthz(r);
    case SV_R_METRICS: return metrics(r);
    case SV_R_STATIC: return serve_file(r, app->cfg.dashboard_dir, route.arg);
    case SV_R_OPENAPI: return serve_file(r, app->cfg.docs_dir, "openapi.json");
    case SV_R_NONE: break;
    }
    return sv_http_error(r, "not_found", "no such endpoint", NULL);
}
