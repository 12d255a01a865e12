/* main.c - solvd: start-up (configuration, store, recovery, workers, HTTP), the wiring of the
 * modules (the job service's hooks), the libuv loop, and the graceful shutdown on
 * SIGTERM/SIGINT: stop taking jobs, let running ones finish for --drain-seconds, interrupt the
 * rest (they stay `running` in the store and are requeued at the next start), flush the store,
 * close. A second signal exits at once. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "server/app.h"
#include "server/auth.h"
#include "server/cluster.h"
#include "server/handlers.h"
#include "server/intake.h"
#include "server/log.h"
#include "server/stream.h"

/* The node name under which this process holds running jobs. A store of one node (SQLite) has
 * one name for every start, so that recovery finds the jobs of the previous run; on a shared
 * store each node has its own (--node, by default the host name). */
#define SV_NODE_NAME "local"

/* ---- the job service's hooks ---- */

static void hook_write(void *data, sv_wop *op)
{
    sv_app *app = data;
    sv_writer_submit(&app->writer, op);
}

static void hook_run(void *data, sv_task *t)
{
    sv_app *app = data;
    sv_pool_submit(&app->pool, t);
}

typedef struct {
    sv_read rd;
    char id[512], tenant[64], key[256];   /* ids as the client wrote them (< 512) */
    int has_tenant, by_key, rc;
    sv_job row;
    sv_jobs_found k;
    void *kdata;
} lookup_read;

static void lookup_run(sv_read *rd, sv_store *s)
{
    lookup_read *c = (lookup_read *)rd;
    if (c->by_key)
        c->rc = sv_store_find_idem(s, c->tenant, c->key, &c->row);
    else
        c->rc = sv_store_get_job(s, c->id, c->has_tenant ? c->tenant : NULL, &c->row);
}

static void lookup_done(sv_read *rd)
{
    lookup_read *c = (lookup_read *)rd;
    c->k(c->kdata, c->rc, &c->row);
    sv_job_clear(&c->row);
    free(c);
}

static int hook_store_failing(void *data)
{
    sv_app *app = data;
    return sv_writer_failing(&app->writer);
}

static void hook_removed(void *data, const char *id)
{
    sv_app *app = data;
    if (id)
        sv_viewcache_drop(&app->views, id);
    else
        sv_viewcache_clear(&app->views);
}

static void hook_lookup(void *data, const sv_jobs_lookup *q, sv_jobs_found k, void *kdata)
{
    sv_app *app = data;
    lookup_read *c = calloc(1, sizeof *c);
    if (!c) {
        k(kdata, SV_STORE_ENOMEM, NULL);
        return;
    }
    snprintf(c->id, sizeof c->id, "%s", q->id ? q->id : "");
    snprintf(c->tenant, sizeof c->tenant, "%s", q->tenant ? q->tenant : "");
    snprintf(c->key, sizeof c->key, "%s", q->idem_key ? q->idem_key : "");
    c->has_tenant = q->tenant != NULL;
    c->by_key = q->idem_key != NULL;
    c->k = k;
    c->kdata = kdata;
    sv_reads_submit(&app->reads, &c->rd, lookup_run, lookup_done);
}

static void hook_claim(void *data, sv_jobs_found k, void *kdata)
{
    sv_app *app = data;
    sv_cluster_claim(&app->cluster, k, kdata);
}

static void hook_cancel(void *data, const char *id, const char *tenant, sv_jobs_cancelled k,
                        void *kdata)
{
    sv_app *app = data;
    sv_cluster_cancel(&app->cluster, id, tenant, k, kdata);
}

static void hook_count_queued(void *data, const char *tenant, sv_jobs_counted k, void *kdata)
{
    sv_app *app = data;
    sv_cluster_count_queued(&app->cluster, tenant, k, kdata);
}

/* Retention (retain-days, retain-jobs) and the store's log checkpoint, through the writer. */
static void on_maintenance(uv_timer_t *t)
{
    sv_app *app = t->data;
    double before = app->cfg.retain_days > 0 ? sv_wall_now() - app->cfg.retain_days * 86400.0 : 0;
    sv_jobs_maintain(&app->jobs, before, app->cfg.retain_jobs);
}

static void finish_shutdown(sv_app *app)
{
    if (app->stopping)
        return;
    app->stopping = 1;
    uv_timer_stop(&app->drain_timer);
    sv_stream_close_all(app);
    /* Let MHD flush the streams' last bytes, then stop it. */
    for (int i = 0; i < 5 && app->mhd; i++)
        MHD_run(app->mhd);
    sv_http_stop(app);
    uv_timer_stop(&app->heartbeat);
    uv_close((uv_handle_t *)&app->heartbeat, NULL);
    uv_timer_stop(&app->maintenance);
    uv_close((uv_handle_t *)&app->maintenance, NULL);
    sv_cluster_stop(&app->cluster);
    uv_close((uv_handle_t *)&app->drain_timer, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sighup, NULL);
    sv_pool_close(&app->pool);
    sv_writer_close(&app->writer);
    sv_notify_close(&app->notify);
}

static void on_drain_tick(uv_timer_t *t)
{
    sv_app *app = t->data;
    /* Past the grace period, the jobs still running are asked to stop, once. */
    if (!app->interrupted && sv_now_s() - app->drain_started > app->cfg.drain_seconds) {
        sv_jobs_interrupt_all(&app->jobs);
        app->interrupted = 1;
    }
    if (sv_jobs_running(&app->jobs) != 0 || app->jobs.claiming != 0 || sv_intake_busy(app))
        return;
    if (sv_writer_idle(&app->writer)) {
        finish_shutdown(app);
    } else if (sv_writer_holding(&app->writer) &&
               sv_now_s() - app->drain_started > app->cfg.drain_seconds) {
        /* The store has refused writes through the whole grace period: stop anyway. What it
         * never acknowledged is lost to this process only: those jobs are still queued or
         * running in the store, and run again at the next start. */
        sv_log_error("stopping with writes the store never took", "ops=%zu",
                     sv_writer_pending(&app->writer));
        finish_shutdown(app);
    }
}

/* SIGHUP: the tokens file again (a bad file keeps the tokens in force). */
static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    sv_app *app = h->data;
    if (app->cfg.tokens_file[0])
        sv_auth_reload(app);
    else
        sv_log_info("SIGHUP: no tokens file to reload", NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    sv_app *app = h->data;
    if (app->draining) {
        sv_log_warn("second signal: exiting now", "signal=%d", signum);
        _exit(1);
    }
    app->draining = 1;
    sv_jobs_drain(&app->jobs);
    sv_intake_drain(app);
    app->drain_started = sv_now_s();
    sv_notify_stopping(&app->notify);
    sv_log_info("shutting down: draining", "signal=%d running=%d drain_seconds=%g", signum,
                sv_jobs_running(&app->jobs), app->cfg.drain_seconds);
    uv_timer_start(&app->drain_timer, on_drain_tick, 0, 50);
}

static uint64_t random_seed(void)
{
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
            v = 0;
        close(fd);
    }
    return v ^ (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

int main(int argc, char **argv)
{
    static sv_app app;   /* large and long-lived: keep it off the stack */
    /* A write past the file-size limit (RLIMIT_FSIZE) fails with EFBIG, which the store reports
     * and the writer retries; the signal it also raises would otherwise kill the daemon. */
    signal(SIGXFSZ, SIG_IGN);
    sv_config_defaults(&app.cfg);
    int rc = sv_config_load(&app.cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    sv_log_level level;
    if (sv_log_parse_level(app.cfg.log_level, &level) != 0) {
        fprintf(stderr, "solvd: log-level must be debug, info, warn or error\n");
        return 2;
    }
    sv_log_set_level(level);
    if (app.cfg.workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        app.cfg.workers = n > 0 ? (int)n : 1;
    }
    app.env.max_dim = app.cfg.max_dim;
    app.env.max_entries = app.cfg.max_entries;
    app.env.data_dir = app.cfg.data_dir[0] ? app.cfg.data_dir : NULL;
    app.metrics.started_at = sv_now_s();
    app.loop = uv_default_loop();

    /* Listen first: a second solvd on a taken address stops here, before it opens (and
     * recovers) a store that the first one may be using. Requests wait in the backlog until
     * the loop runs. */
    if (sv_http_start(&app, sv_handle) != 0) {
        sv_log_error("start-up failed", NULL);
        return 1;
    }
    char err[512], db_shown[sizeof app.cfg.db];
    /* The store's URL may carry a password: logs show it without. */
    sv_store_url_redact(app.cfg.db, db_shown, sizeof db_shown);
    if (sv_store_preflight(app.cfg.db, err, sizeof err) != SV_STORE_OK) {
        sv_log_error("refusing the job store", "db=\"%s\" err=\"%s\"", db_shown, err);
        return 1;
    }
    if (sv_store_open(app.cfg.db, &app.wstore, err, sizeof err) != SV_STORE_OK ||
        sv_store_open(app.cfg.db, &app.rstore, err, sizeof err) != SV_STORE_OK) {
        sv_log_error("cannot open the job store", "db=\"%s\" err=\"%s\"", db_shown, err);
        return 1;
    }
    /* A store several nodes share: jobs are claimed through it, under this node's name.
     * SOLVD_SHARED_DISPATCH=1 drives a SQLite store so, for the tests of that path. */
    const char *shared_env = getenv("SOLVD_SHARED_DISPATCH");
    app.shared = (sv_store_caps(app.rstore) & SV_STORE_CAP_SHARED) ||
                 (shared_env && strcmp(shared_env, "1") == 0);
    char node[64] = SV_NODE_NAME;
    if (app.shared && app.cfg.node[0])
        snprintf(node, sizeof node, "%s", app.cfg.node);
    else if (app.shared && gethostname(node, sizeof node) != 0)
        snprintf(node, sizeof node, "%s", SV_NODE_NAME);
    node[sizeof node - 1] = 0;
    int requeued = 0, failed = 0;
    if (sv_store_recover(app.wstore, node, app.cfg.max_attempts, sv_wall_now(), &requeued,
                         &failed) != SV_STORE_OK) {
        sv_log_error("recovery failed", "err=\"%s\"", sv_store_errmsg(app.wstore));
        return 1;
    }
    /* SOLVD_READS_OFF_LOOP=1 reads on the pool even from a local store: how a remote backend
     * is driven, so that the tests can run that path with SQLite. Claims on a shared store go
     * through the same handles, so they too are off the loop. */
    const char *off = getenv("SOLVD_READS_OFF_LOOP");
    if (sv_reads_init(&app.reads, app.loop, app.rstore, app.cfg.db,
                      app.shared || (off && strcmp(off, "1") == 0), err,
                      sizeof err) != SV_STORE_OK) {
        sv_log_error("cannot open the job store", "db=\"%s\" err=\"%s\"", db_shown, err);
        return 1;
    }
    sv_jobs_config jcfg = {
        .workers = app.cfg.workers,
        .max_job_seconds = app.cfg.max_job_seconds,
        .max_queued_per_tenant = app.cfg.max_queued_per_tenant,
        .progress_interval_s = app.cfg.progress_interval_ms / 1000.0,
        .env = &app.env,
        .node = node,
        /* One node: the hold lasts until this process stops. */
        .lease_s = app.shared ? app.cfg.lease_s : 0,
        .metrics = &app.metrics,
        .id_seed = random_seed(),
        /* Larger requests of queued jobs wait in the store: a 4 MB body cost 23.5 MB of RSS
         * for as long as its job was queued. */
        .request_keep_bytes = 64 * 1024,
    };
    sv_jobs_hooks hooks = {
        .data = &app,
        .write = hook_write,
        .run = hook_run,
        .event = sv_stream_on_event,
        .closed = sv_stream_on_closed,
        .lookup = hook_lookup,
        .store_failing = hook_store_failing,
        .claim = app.shared ? hook_claim : NULL,
        .cancel = app.shared ? hook_cancel : NULL,
        .count_queued = app.shared ? hook_count_queued : NULL,
        .removed = hook_removed,
    };
    /* Finished jobs' views are kept only when every deletion passes through this process. */
    if (sv_viewcache_init(&app.views, !app.shared) != 0)
        sv_log_warn("no memory for the view cache: every GET reads the store", NULL);
    if (sv_auth_load(&app) != 0 ||
        sv_jobs_init(&app.jobs, &jcfg, &hooks, sv_queue_memory_new()) != 0 ||
        (!app.shared && sv_jobs_load(&app.jobs, app.rstore) != 0)) {
        sv_log_error("start-up failed", NULL);
        return 1;
    }
    if (!app.listen_loopback && !app.tokens)
        sv_log_warn("listening beyond loopback WITHOUT authentication: anyone who can reach "
                    "this address can submit, read and cancel every job",
                    "listen=\"%s\" fix=\"--tokens-file FILE, or --listen 127.0.0.1:PORT\"",
                    app.cfg.listen);
    sv_log_info("store ready",
                "db=\"%s\" schema=%d requeued=%d failed=%d queued=%zu backend=%s reads=%s "
                "node=%s shared=%d",
                db_shown, sv_store_schema_version(app.rstore), requeued, failed,
                sv_jobs_queued(&app.jobs), sv_store_backend(app.rstore),
                sv_reads_off_loop(&app.reads) ? "pool" : "inline", node, app.shared);
    app.drain_timer.data = &app;
    app.maintenance.data = &app;
    app.sigterm.data = &app;
    app.sigint.data = &app;
    app.sighup.data = &app;
    if (sv_writer_init(&app.writer, app.loop, app.wstore, &app.metrics) != 0 ||
        sv_pool_start(&app.pool, app.loop, app.cfg.workers, sv_jobs_deliver, &app.jobs,
                      app.cfg.db) != 0 ||
        sv_stream_heartbeat_start(&app) != 0 || uv_timer_init(app.loop, &app.drain_timer) != 0 ||
        uv_timer_init(app.loop, &app.maintenance) != 0 ||
        uv_timer_start(&app.maintenance, on_maintenance, 0,
                       (uint64_t)(app.cfg.maintenance_s * 1000.0)) != 0 ||
        uv_signal_init(app.loop, &app.sigterm) != 0 ||
        uv_signal_init(app.loop, &app.sigint) != 0 ||
        uv_signal_start(&app.sigterm, on_signal, SIGTERM) != 0 ||
        uv_signal_start(&app.sigint, on_signal, SIGINT) != 0 ||
        uv_signal_init(app.loop, &app.sighup) != 0 ||
        uv_signal_start(&app.sighup, on_sighup, SIGHUP) != 0 ||
        (app.shared &&
         sv_cluster_start(&app.cluster, app.loop, &app.jobs, &app.reads, app.cfg.db, node,
                          app.cfg.lease_s, app.cfg.max_attempts, app.cfg.claim_poll_ms,
                          sv_stream_job_changed, &app) != 0)) {
        sv_log_error("start-up failed", NULL);
        return 1;
    }
    sv_log_info("solvd ready", "workers=%d max_body_bytes=%ld max_job_seconds=%g auth=%s",
                app.cfg.workers, app.cfg.max_body_bytes, app.cfg.max_job_seconds,
                app.tokens ? "tokens" : "none");
    char status[200];
    snprintf(status, sizeof status, "serving on %s (port %u) with %d workers", app.cfg.listen,
             app.port, app.cfg.workers);
    if (sv_notify_ready(&app.notify, app.loop, status) != 0) {
        sv_log_error("cannot start the watchdog timer", NULL);
        return 1;
    }
    sv_jobs_dispatch(&app.jobs);
    uv_run(app.loop, UV_RUN_DEFAULT);

    sv_pool_stop(&app.pool);
    sv_jobs_free(&app.jobs);
    sv_viewcache_free(&app.views);
    sv_auth_free(&app);
    sv_reads_close(&app.reads);
    sv_store_close(app.rstore);
    sv_store_close(app.wstore);
    uv_loop_close(app.loop);
    sv_log_info("stopped", NULL);
    return 0;
}
