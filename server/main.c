/* main.c - solvd: start-up (configuration, store, recovery, workers, HTTP), the libuv loop, and
 * the graceful shutdown on SIGTERM/SIGINT: stop taking jobs, let running ones finish for
 * --drain-seconds, interrupt the rest (they stay `running` in the store and are requeued at the
 * next start), flush the store, close. A second signal exits at once. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "server/log.h"
#include "server/server.h"

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
    uv_close((uv_handle_t *)&app->drain_timer, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->pool.async, NULL);
    sv_writer_close(&app->writer);
    sv_notify_close(&app->notify);
}

static void on_drain_tick(uv_timer_t *t)
{
    sv_app *app = t->data;
    /* Past the grace period, the jobs still running are asked to stop, once. */
    if (!app->interrupted && sv_now_s() - app->drain_started > app->cfg.drain_seconds) {
        sv_jobs_interrupt_all(app);
        app->interrupted = 1;
    }
    if (app->pool.busy == 0 && sv_writer_idle(&app->writer))
        finish_shutdown(app);
}

static void on_signal(uv_signal_t *h, int signum)
{
    sv_app *app = h->data;
    if (app->draining) {
        sv_log_warn("second signal: exiting now", "signal=%d", signum);
        _exit(1);
    }
    app->draining = 1;
    app->drain_started = sv_now_s();
    sv_notify_stopping(&app->notify);
    sv_log_info("shutting down: draining", "signal=%d running=%d drain_seconds=%g", signum,
                app->pool.busy, app->cfg.drain_seconds);
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
    app.id_random = random_seed();
    app.metrics.started_at = sv_now_s();
    app.loop = uv_default_loop();

    /* Listen first: a second solvd on a taken address stops here, before it opens (and
     * recovers) a store that the first one may be using. Requests wait in the backlog until
     * the loop runs. */
    if (sv_http_start(&app) != 0) {
        sv_log_error("start-up failed", NULL);
        return 1;
    }
    char err[256];
    if (sv_store_open(app.cfg.db, &app.wstore, err, sizeof err) != SV_STORE_OK ||
        sv_store_open(app.cfg.db, &app.rstore, err, sizeof err) != SV_STORE_OK) {
        sv_log_error("cannot open the job store", "db=\"%s\" err=\"%s\"", app.cfg.db, err);
        return 1;
    }
    int requeued = 0, failed = 0;
    if (sv_store_recover(app.wstore, "local", app.cfg.max_attempts, sv_wall_now(), &requeued, &failed) !=
        SV_STORE_OK) {
        sv_log_error("recovery failed", "err=\"%s\"", sv_store_errmsg(app.wstore));
        return 1;
    }
    if (sv_auth_load(&app) != 0 || sv_jobs_init(&app) != 0 || sv_jobs_load(&app) != 0) {
        sv_log_error("start-up failed", NULL);
        return 1;
    }
    sv_log_info("store ready", "db=\"%s\" schema=%d requeued=%d failed=%d queued=%zu",
                app.cfg.db, sv_store_schema_version(app.rstore), requeued, failed,
                sv_jobs_queued(&app));
    app.pool.async.data = &app;
    app.drain_timer.data = &app;
    app.sigterm.data = &app;
    app.sigint.data = &app;
    if (sv_writer_init(&app.writer, &app, app.wstore) != 0 ||
        uv_async_init(app.loop, &app.pool.async, sv_jobs_on_async) != 0 ||
        sv_pool_start(&app.pool, &app, app.cfg.workers) != 0 ||
        sv_stream_heartbeat_start(&app) != 0 || uv_timer_init(app.loop, &app.drain_timer) != 0 ||
        uv_signal_init(app.loop, &app.sigterm) != 0 ||
        uv_signal_init(app.loop, &app.sigint) != 0 ||
        uv_signal_start(&app.sigterm, on_signal, SIGTERM) != 0 ||
        uv_signal_start(&app.sigint, on_signal, SIGINT) != 0) {
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
    sv_jobs_dispatch(&app);
    uv_run(app.loop, UV_RUN_DEFAULT);

    sv_pool_stop(&app.pool);
    sv_jobs_free(&app);
    sv_auth_free(&app);
    sv_store_close(app.rstore);
    sv_store_close(app.wstore);
    uv_loop_close(app.loop);
    sv_log_info("stopped", NULL);
    return 0;
}
