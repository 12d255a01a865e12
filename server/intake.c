/* intake.c - job submissions parsed and validated on the libuv pool. */
#include "server/intake.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "api/errors.h"
#include "api/submit.h"
#include "server/app.h"

typedef struct intake {
    uv_work_t work;
    sv_req *r;                 /* suspended until the answer: its body stays as it is */
    sv_jobs_reply_fn reply;
    const sv_codec_env *env;
    double max_job_seconds;
    int with_hash;             /* an Idempotency-Key came: its hash is needed */
    /* results of the pool thread */
    int status;                /* 0: valid; else the HTTP status of the error */
    const char *code;
    sv_err e;
    const sv_codec *codec;
    int priority;
    double time_limit_s;
    sv_submit_texts texts;
    struct intake *next;       /* waiting for its turn (app->intake_waiting) */
} intake;

/* Pool thread: nothing here touches the app but the read-only codec env. */
static void intake_work(uv_work_t *w)
{
    intake *in = w->data;
    sv_submit sub;
    in->status = sv_submit_parse(in->r->body, in->r->len, in->env, in->max_job_seconds, &sub,
                                 &in->code, &in->e);
    if (in->status != 0)
        return;
    in->codec = sub.codec;
    in->priority = sub.priority;
    in->time_limit_s = sub.time_limit_s;
    /* The body becomes the stored request as it is: taken from the request (suspended until
     * the answer, so nothing else reads it meanwhile), not copied. */
    char *body = in->r->body;
    in->r->body = NULL;
    in->r->cap = 0;
    if (sv_submit_texts_make(&sub, body, in->with_hash, &in->texts) != 0) {
        in->status = 500;
        in->code = "internal";
        sv_fail(&in->e, "", "out of memory");
    }
    sv_submit_clear(&sub);   /* freeing a large document is work too: here, not on the loop */
}

static void start_waiting(sv_app *app);

static void intake_done(uv_work_t *w, int status)
{
    intake *in = w->data;
    sv_req *r = in->r;
    sv_app *app = r->app;
    app->intake_bytes -= r->len;
    if (status != 0) {
        sv_http_error(r, "internal", "the submission could not be processed", NULL);
    } else if (in->status != 0) {
        sv_http_json(r, (unsigned)in->status, sv_api_error(in->code, in->e.msg, in->e.field));
    } else if (app->draining) {
        sv_http_error(r, "unavailable", "the server is shutting down", NULL);
    } else {
        sv_jobs_submission js = {.tenant = r->tenant,
                                 .texts = &in->texts,
                                 .codec = in->codec,
                                 .priority = in->priority,
                                 .time_limit_s = in->time_limit_s,
                                 .idem_key = sv_http_header(r, "Idempotency-Key")};
        sv_jobs_submit(&app->jobs, &js, in->reply, r);
    }
    sv_submit_texts_clear(&in->texts);
    free(in);
    start_waiting(app);
}

/* Queues in on the pool; 0, or -1 (in is then the caller's). */
static int start(sv_app *app, intake *in)
{
    if (uv_queue_work(app->loop, &in->work, intake_work, intake_done) != 0)
        return -1;
    app->intake_bytes += in->r->len;
    return 0;
}

/* A parse costs several times its body in memory (a 60 MB dense job: the daemon peaked at
 * 212 MB refusing it, 331 MB accepting and running it): the bodies parsed at once are bounded
 * by max-parse-bytes, and the others wait in arrival order. One always runs, however large. */
static int fits(const sv_app *app, size_t len)
{
    return app->intake_bytes == 0 || app->intake_bytes + len <= (size_t)app->cfg.max_parse_bytes;
}

static void start_waiting(sv_app *app)
{
    while (app->intake_waiting && fits(app, app->intake_waiting->r->len)) {
        intake *in = app->intake_waiting;
        app->intake_waiting = in->next;
        if (start(app, in) != 0) {
            sv_http_error(in->r, "internal", "the submission could not be queued", NULL);
            free(in);
        }
    }
}

void sv_intake_drain(sv_app *app)
{
    while (app->intake_waiting) {
        intake *in = app->intake_waiting;
        app->intake_waiting = in->next;
        sv_http_error(in->r, "unavailable", "the server is shutting down", NULL);
        free(in);
    }
}

int sv_intake_busy(const sv_app *app) { return app->intake_bytes > 0; }

long sv_intake_waiting(const sv_app *app)
{
    long n = 0;
    for (const intake *in = app->intake_waiting; in; in = in->next)
        n++;
    return n;
}

enum MHD_Result sv_intake_start(sv_req *r, sv_jobs_reply_fn reply)
{
    sv_app *app = r->app;
    intake *in = calloc(1, sizeof *in);
    if (!in)
        return sv_http_error(r, "internal", "out of memory", NULL);
    in->r = r;
    in->reply = reply;
    in->env = &app->env;
    in->max_job_seconds = app->cfg.max_job_seconds;
    in->with_hash = sv_http_header(r, "Idempotency-Key") != NULL;
    in->work.data = in;
    if (app->intake_waiting || !fits(app, r->len)) {
        intake **tail = &app->intake_waiting;
        while (*tail)
            tail = &(*tail)->next;
        *tail = in;
        return sv_http_pending(r);
    }
    if (start(app, in) != 0) {
        free(in);
        return sv_http_error(r, "internal", "the submission could not be queued", NULL);
    }
    return sv_http_pending(r);
}
