/* handlers.c - one function per route of api/router.c. Handlers validate with api/, read from
 * the loop's store handle, and hand writes to jobs.c, which replies once they are durable. */
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
#include "api/submit.h"
#include "server/log.h"
#include "server/server.h"

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
    sv_submit sub;
    sv_err e;
    memset(&e, 0, sizeof e);
    const char *code = NULL;
    int status = sv_submit_parse(r->body, r->len, &app->env, app->cfg.max_job_seconds, &sub,
                                 &code, &e);
    if (status != 0)
        return sv_http_json(r, (unsigned)status, sv_api_error(code, e.msg, e.field));
    enum MHD_Result ret = sv_jobs_submit(app, r, sub.body, sub.codec, sub.priority,
                                         sub.time_limit_s, sv_http_header(r, "Idempotency-Key"));
    sv_submit_clear(&sub);
    return ret;
}

static enum MHD_Result list_jobs(sv_req *r)
{
    sv_app *app = r->app;
    sv_job_filter f = {r->tenant, -1, NULL, NULL, NULL, 50};
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
    sv_job *rows = calloc((size_t)f.limit + 1, sizeof *rows);
    if (!rows)
        return sv_http_error(r, "internal", "out of memory", NULL);
    int n = 0;
    /* One extra row tells whether there is a next page. */
    f.limit++;
    int rc = sv_store_list_jobs(app->rstore, &f, rows, &n);
    f.limit--;
    if (rc != SV_STORE_OK) {
        free(rows);
        return sv_http_error(r, "unavailable", "the job store failed", NULL);
    }
    json_t *arr = json_array();
    int shown = n > f.limit ? f.limit : n;
    for (int i = 0; i < shown; i++)
        json_array_append_new(arr, sv_job_to_json(&rows[i], 0));
    json_t *out = json_pack("{s:o}", "jobs", arr);
    json_object_set_new(out, "next_cursor",
                        n > f.limit ? json_string(rows[shown - 1].id) : json_null());
    for (int i = 0; i < n; i++)
        sv_job_clear(&rows[i]);
    free(rows);
    return sv_http_json(r, 200, out);
}

static enum MHD_Result get_job(sv_req *r, const char *id)
{
    sv_job j;
    memset(&j, 0, sizeof j);
    int rc = sv_store_get_job(r->app->rstore, id, r->tenant, &j);
    if (rc == SV_STORE_ENOTFOUND)
        return sv_http_error(r, "not_found", "no such job", NULL);
    if (rc != SV_STORE_OK)
        return sv_http_error(r, "unavailable", "the job store failed", NULL);
    json_t *o = sv_job_to_json(&j, 1);
    sv_live *L = sv_jobs_find(r->app, id);
    if (L && L->task && atomic_load(&L->task->cancel))
        json_object_set_new(o, "cancel_requested", json_true());
    sv_job_clear(&j);
    return sv_http_json(r, 200, o);
}

static enum MHD_Result get_result(sv_req *r, const char *id)
{
    sv_job j;
    memset(&j, 0, sizeof j);
    int rc = sv_store_get_job(r->app->rstore, id, r->tenant, &j);
    if (rc == SV_STORE_ENOTFOUND)
        return sv_http_error(r, "not_found", "no such job", NULL);
    if (rc != SV_STORE_OK)
        return sv_http_error(r, "unavailable", "the job store failed", NULL);
    sv_job_state st = j.state;
    sv_job_clear(&j);
    char *result = NULL;
    rc = sv_store_get_result(r->app->rstore, id, r->tenant, &result);
    if (rc == SV_STORE_ENOTFOUND || (rc == SV_STORE_OK && !result)) {
        char msg[128];
        snprintf(msg, sizeof msg, "no result: the job is %s", sv_job_state_name(st));
        return sv_http_error(r, sv_job_state_final(st) ? "not_found" : "conflict", msg, NULL);
    }
    if (rc != SV_STORE_OK)
        return sv_http_error(r, "unavailable", "the job store failed", NULL);
    /* The stored text as it is, plus the newline every JSON answer ends with (two answers in a
     * row print on two lines). */
    size_t n = strlen(result);
    char *t = realloc(result, n + 2);
    if (t) {
        t[n++] = '\n';
        t[n] = 0;
        result = t;
    }
    return sv_http_buffer(r, 200, "application/json", result, n);
}

static enum MHD_Result get_events(sv_req *r, const char *id)
{
    sv_app *app = r->app;
    sv_live *L = sv_jobs_find(app, id);
    if (L && strcmp(L->tenant, r->tenant) != 0)
        return sv_http_error(r, "not_found", "no such job", NULL);
    if (!L) {
        sv_job j;
        memset(&j, 0, sizeof j);
        int rc = sv_store_get_job(app->rstore, id, r->tenant, &j);
        sv_job_clear(&j);
        if (rc == SV_STORE_ENOTFOUND)
            return sv_http_error(r, "not_found", "no such job", NULL);
        if (rc != SV_STORE_OK)
            return sv_http_error(r, "unavailable", "the job store failed", NULL);
    }
    /* Browsers resume with the Last-Event-ID header; pages that reload use ?after=. */
    const char *v = sv_http_header(r, "Last-Event-ID");
    const char *where = "Last-Event-ID";
    if (!v) {
        v = sv_http_query(r, "after");
        where = "?after";
    }
    long last = 0;
    if (v && *v) {
        char *end;
        errno = 0;
        last = strtol(v, &end, 10);
        if (errno || *end || last < 0)
            return sv_http_error(r, "invalid", "the last event id must be a non-negative integer",
                                 where);
    }
    return sv_stream_open(app, r, id, L, last);
}

static enum MHD_Result healthz(sv_req *r)
{
    sv_app *app = r->app;
    long counts[SV_JOB_NSTATES];
    int ok = sv_store_count_states(app->rstore, counts) == SV_STORE_OK;
    json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:I}", "status",
                          !ok ? "degraded" : app->draining ? "draining" : "ok", "version",
                          SOLVD_VERSION, "workers", app->pool.n, "busy_workers", app->pool.busy,
                          "queued", (json_int_t)sv_jobs_queued(app));
    json_object_set_new(o, "store", json_string(ok ? "ok" : "failing"));
    return sv_http_json(r, ok && !app->draining ? 200 : 503, o);
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
    /* The API description is public: clients fetch it before they have a token. */
    if (strncmp(path, "/v1/", 4) == 0 && route.id != SV_R_OPENAPI) {
        if (sv_auth_tenant(app, sv_http_header(r, "Authorization"), r->tenant,
                           sizeof r->tenant) != 0)
            return sv_http_error_header(r, "unauthorized", "a valid bearer token is required",
                                        "WWW-Authenticate", "Bearer");
    }
    switch (route.id) {
    case SV_R_SOLVERS: return get_solvers(r);
    case SV_R_SOLVER: return get_solver(r, route.arg);
    case SV_R_JOBS_LIST: return list_jobs(r);
    case SV_R_JOBS_SUBMIT: return post_job(r);
    case SV_R_JOB: return get_job(r, route.arg);
    case SV_R_JOB_RESULT: return get_result(r, route.arg);
    case SV_R_JOB_CANCEL: return sv_jobs_cancel(app, r, route.arg);
    case SV_R_JOB_EVENTS: return get_events(r, route.arg);
    case SV_R_HEALTHZ: return healthz(r);
    case SV_R_METRICS: return metrics(r);
    case SV_R_STATIC: return serve_file(r, app->cfg.dashboard_dir, route.arg);
    case SV_R_OPENAPI: return serve_file(r, app->cfg.docs_dir, "openapi.json");
    case SV_R_NONE: break;
    }
    return sv_http_error(r, "not_found", "no such endpoint", NULL);
}
