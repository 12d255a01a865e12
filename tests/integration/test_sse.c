/* test_sse.c - event streams under real conditions: a subscriber attached before the job starts
 * gets everything live; concurrent subscribers (and a late one, replayed then live) get the same
 * stream; subscribers that hang up, busy or idle, are released and disturb nothing; an idle
 * stream gets keep-alive comments, each stream on its own clock; shutdown ends open streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

#define ITERS 40000L
#define REPORT 2000L

static void cancel(const it_daemon *d, const char *id)
{
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", id);
    json_decref(it_call(d, "POST", path, NULL, 202));
    json_decref(it_wait_for_status(d, id, "cancelled", 10));
}

static void events_path(char *path, size_t n, const char *id)
{
    snprintf(path, n, "/v1/jobs/%s/events", id);
}

/* The complete stream of a job that succeeded: ids 1..n, queued, running, progress, result,
 * succeeded. */
static void assert_complete(const it_stream *s)
{
    assert_int_equal(s->status, 200);
    assert_true(s->first_is_comment);
    assert_true(s->ended);
    assert_true(s->n >= 5);
    for (size_t i = 0; i < s->n; i++) {
        assert_int_equal(s->ev[i].id, (long)i + 1);
        assert_non_null(s->ev[i].json);
    }
    assert_string_equal(it_str(s->ev[0].json, "status"), "queued");
    assert_string_equal(it_str(s->ev[1].json, "status"), "running");
    size_t nprog = 0;
    for (size_t i = 2; i < s->n - 2; i++) {
        assert_string_equal(s->ev[i].type, "progress");
        nprog++;
    }
    assert_true(nprog >= (size_t)(ITERS / REPORT));
    assert_string_equal(s->ev[s->n - 2].type, "result");
    assert_string_equal(s->ev[s->n - 1].type, "status");
    assert_string_equal(it_str(s->ev[s->n - 1].json, "status"), "succeeded");
}

static void assert_same(const it_stream *a, const it_stream *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->ev[i].id, b->ev[i].id);
        assert_string_equal(a->ev[i].type, b->ev[i].type);
        if (!json_equal(a->ev[i].json, b->ev[i].json)) {
            fprintf(stderr, "a: %.400s\nb: %.400s\n", a->ev[i].data, b->ev[i].data);
            fail_msg("event %ld differs", a->ev[i].id);
        }
    }
}

/* One worker, held by a long job: jobs submitted now stay queued until it is cancelled. */
static void start_blocked(it_daemon *d, const char *const *args, char blocker[64])
{
    it_assert_start(d, args);
    char *body = it_body_long(NULL);
    json_decref(it_submit(d, body, blocker));
    free(body);
    json_decref(it_wait_for_status(d, blocker, "running", 30));
}

static void assert_queued(const it_daemon *d, const char *id)
{
    json_t *j = it_get_job(d, id);
    assert_string_equal(it_str(j, "status"), "queued");
    json_decref(j);
}

static void test_live_and_concurrent_subscribers(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", "--progress-interval-ms", "0", NULL};
    it_daemon d;
    char blocker[64], id[64], path[200];
    start_blocked(&d, args, blocker);
    char *body = it_body_iters(ITERS, REPORT, NULL);
    json_decref(it_submit(&d, body, id));
    free(body);
    events_path(path, sizeof path, id);

    /* Two subscribers attached while the job is queued... */
    it_sse_bg *a = it_sse_bg_start(&d, path, NULL, 60, NULL, NULL);
    it_sse_bg *b = it_sse_bg_start(&d, path, NULL, 60, NULL, NULL);
    assert_int_equal(it_sse_bg_wait_connected(a, 10), 0);
    assert_int_equal(it_sse_bg_wait_connected(b, 10), 0);
    assert_queued(&d, id);
    /* ...and a third that joins once the job has made some progress: replay, then live. */
    long two_progress = 4;
    cancel(&d, blocker);
    it_stream first;
    assert_int_equal(it_sse(&d, path, NULL, 30, it_stop_at_count, &two_progress, &first), 0);
    assert_true(first.stopped);
    it_stream_free(&first);
    it_sse_bg *c = it_sse_bg_start(&d, path, NULL, 60, NULL, NULL);
    /* ...and one that resumes mid-run after event 2: everything from 3 on, nothing before. */
    static const char *const resume[] = {"Last-Event-ID: 2", NULL};
    it_sse_bg *e = it_sse_bg_start(&d, path, resume, 60, NULL, NULL);

    json_decref(it_wait_for_status(&d, id, "succeeded", 60));
    it_stream *sa = it_sse_bg_join(a), *sb = it_sse_bg_join(b), *sc = it_sse_bg_join(c);
    assert_complete(sa);
    assert_complete(sb);
    assert_complete(sc);
    assert_same(sa, sb);
    assert_same(sa, sc);
    it_stream *se = it_sse_bg_join(e);
    assert_true(se->ended);
    assert_int_equal(se->n, sa->n - 2);
    for (size_t i = 0; i < se->n; i++) {
        assert_int_equal(se->ev[i].id, sa->ev[i + 2].id);
        assert_true(json_equal(se->ev[i].json, sa->ev[i + 2].json));
    }
    /* What was sent live is what the store replays. */
    it_stream replay;
    assert_int_equal(it_sse(&d, path, NULL, 10, NULL, NULL, &replay), 0);
    assert_same(sa, &replay);
    it_stream_free(&replay);
    it_sse_bg_free(a);
    it_sse_bg_free(b);
    it_sse_bg_free(c);
    it_sse_bg_free(e);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

static void test_disconnecting_subscribers(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers",   "2", "--heartbeat-s", "1",
                                       "--drain-seconds", "0.2", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char run[64], path[200];
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d, body, run));
    free(body);
    json_decref(it_wait_for_status(&d, run, "running", 30));
    events_path(path, sizeof path, run);

    /* Busy streams, hung up after a few events. */
    for (int i = 0; i < 5; i++) {
        long n = 3 + i;
        it_stream s;
        assert_int_equal(it_sse(&d, path, NULL, 20, it_stop_at_count, &n, &s), 0);
        assert_true(s.stopped);
        assert_int_equal(s.n, (size_t)n);
        it_stream_free(&s);
    }
    /* Idle streams (a finished job's stream ends by itself; a queued job's stays open): fill
     * the other worker so that one job stays queued. */
    char run2[64], queued[64], qpath[200];
    body = it_body_long(NULL);
    json_decref(it_submit(&d, body, run2));
    json_decref(it_wait_for_status(&d, run2, "running", 30));
    json_decref(it_submit(&d, body, queued));
    free(body);
    events_path(qpath, sizeof qpath, queued);
    for (int i = 0; i < 3; i++) {
        it_sse_bg *b = it_sse_bg_start(&d, qpath, NULL, 20, NULL, NULL);
        assert_int_equal(it_sse_bg_wait_connected(b, 10), 0);
        it_sse_bg_abort(b);
        it_stream *s = it_sse_bg_join(b);
        assert_true(s->stopped);
        assert_int_equal(s->n, 1);
        it_sse_bg_free(b);
    }
    /* The daemon noticed every hang-up (at the next write, a heartbeat at the latest)... */
    if (it_wait_metric(&d, "solvd_event_streams", 0, 10) != 0)
        fail_msg("solvd_event_streams is %g, 10 s after every subscriber hung up",
                 it_metric(&d, "solvd_event_streams"));
    /* ...and nothing else was disturbed. */
    json_t *h = it_call(&d, "GET", "/healthz", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(h, "busy_workers")), 2);
    json_decref(h);
    json_t *j = it_get_job(&d, run);
    assert_string_equal(it_str(j, "status"), "running");
    json_decref(j);
    assert_queued(&d, queued);
    /* A freed worker goes to the queued job, whose subscribers are gone. */
    cancel(&d, run2);
    json_decref(it_wait_for_status(&d, queued, "running", 30));

    /* Shutdown ends the streams still open (one busy, one idle) and exits cleanly. */
    char q2[64];
    body = it_body_long(NULL);
    json_decref(it_submit(&d, body, q2));
    free(body);
    events_path(qpath, sizeof qpath, q2);
    it_sse_bg *busy = it_sse_bg_start(&d, path, NULL, 20, NULL, NULL);
    it_sse_bg *idle = it_sse_bg_start(&d, qpath, NULL, 20, NULL, NULL);
    assert_int_equal(it_sse_bg_wait_connected(busy, 10), 0);
    assert_int_equal(it_sse_bg_wait_connected(idle, 10), 0);
    it_assert_clean_exit(&d);
    it_stream *sb = it_sse_bg_join(busy), *si = it_sse_bg_join(idle);
    assert_false(sb->timed_out);
    assert_false(si->timed_out);
    it_sse_bg_free(busy);
    it_sse_bg_free(idle);
    it_daemon_destroy(&d);
}

static void test_heartbeat_on_idle_stream(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", "--heartbeat-s", "1", NULL};
    it_daemon d;
    char blocker[64], id[64], path[200];
    start_blocked(&d, args, blocker);
    char *body = it_body_example(&d, IT_EF21, NULL);
    json_decref(it_submit(&d, body, id));
    free(body);
    events_path(path, sizeof path, id);
    int want = 2;
    it_stream s;
    double t0 = it_now();
    assert_int_equal(it_sse(&d, path, NULL, 10, it_stop_at_keepalives, &want, &s), 0);
    assert_true(s.stopped);
    assert_false(s.timed_out);
    assert_int_equal(s.keepalives, 2);
    /* Nothing but the replayed "queued" happened meanwhile. */
    assert_int_equal(s.n, 1);
    assert_string_equal(it_str(s.ev[0].json, "status"), "queued");
    /* Two heartbeats one second apart cannot both come within the first second. */
    assert_true(it_now() - t0 > 1.0);
    it_stream_free(&s);
    assert_queued(&d, id);
    cancel(&d, blocker);
    json_decref(it_wait_for_status(&d, id, "succeeded", 60));
    it_resp r;
    it_http(&d, "GET", "/v1/jobs/0000000000000000/events", NULL, NULL, &r);
    it_assert_error(&r, 404, "not_found", NULL);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* The heartbeat is per stream: a stream's first keep-alive comes heartbeat-s after it opened,
 * whenever it opened (with one timer for all, a stream opened late in the period got its first
 * one at once). Streams opened at different phases of the daemon's clock each wait the whole
 * period; only that lower bound is asserted, never an upper one. */
static void test_heartbeat_per_stream(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", "--heartbeat-s", "1", NULL};
    it_daemon d;
    char blocker[64], id[64], path[200];
    start_blocked(&d, args, blocker);
    char *body = it_body_example(&d, IT_EF21, NULL);
    json_decref(it_submit(&d, body, id));
    free(body);
    events_path(path, sizeof path, id);
    for (int k = 0; k < 4; k++) {
        it_sleep(0.27 * k);
        int want = 1;
        it_stream s;
        double t0 = it_now();
        assert_int_equal(it_sse(&d, path, NULL, 10, it_stop_at_keepalives, &want, &s), 0);
        double waited = it_now() - t0;
        assert_true(s.stopped);
        assert_int_equal(s.keepalives, 1);
        if (waited < 1.0)
            fail_msg("stream %d got its first keep-alive %.3f s after it opened, before its "
                     "heartbeat period of 1 s",
                     k, waited);
        it_stream_free(&s);
    }
    assert_queued(&d, id);
    cancel(&d, blocker);
    json_decref(it_wait_for_status(&d, id, "succeeded", 60));
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_live_and_concurrent_subscribers, it_teardown),
        cmocka_unit_test_teardown(test_disconnecting_subscribers, it_teardown),
        cmocka_unit_test_teardown(test_heartbeat_on_idle_stream, it_teardown),
        cmocka_unit_test_teardown(test_heartbeat_per_stream, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/sse", tests, NULL, NULL);
}
