/* test_recovery.c - what survives the daemon's death. kill -9 with a job running and others
 * queued: after a restart on the same database every acknowledged job is listed, the
 * interrupted one runs again (attempt 2) or, past --max-attempts, fails as "interrupted", and
 * the queued ones run. SIGTERM drains: new jobs are refused, a job that finishes within
 * --drain-seconds finishes, one that does not is left to run again after the restart. A second
 * daemon on a taken address exits at once and touches nothing of the first one's store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "it_proc.h"

static void cancel(const it_daemon *d, const char *id)
{
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", id);
    json_decref(it_call(d, "POST", path, NULL, 202));
    json_decref(it_wait_for_status(d, id, "cancelled", 10));
}

static int listed(const json_t *list, const char *id)
{
    size_t i;
    json_t *j;
    json_array_foreach(json_object_get(list, "jobs"), i, j) {
        if (strcmp(it_str(j, "id"), id) == 0)
            return 1;
    }
    return 0;
}

static long attempts(const json_t *job)
{
    return (long)json_integer_value(json_object_get(job, "attempts"));
}

#define N_SHORT 3
#define N_BURST 20

static void test_kill9_keeps_every_acknowledged_job(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char longid[64], shorts[N_SHORT + N_BURST][64];
    char *body = it_body_long("{\"tags\":[\"crash\"]}");
    json_decref(it_submit(&d, body, longid));
    free(body);
    json_decref(it_wait_for_status(&d, longid, "running", 30));
    body = it_body_example(&d, IT_EF21, "{\"tags\":[\"crash\"]}");
    for (int i = 0; i < N_SHORT; i++)
        json_decref(it_submit(&d, body, shorts[i]));
    for (int i = 0; i < N_SHORT; i++) {
        json_t *j = it_get_job(&d, shorts[i]);
        assert_string_equal(it_str(j, "status"), "queued");
        json_decref(j);
    }
    /* A burst, and the crash right after the last acknowledgement. */
    for (int i = N_SHORT; i < N_SHORT + N_BURST; i++)
        json_decref(it_submit(&d, body, shorts[i]));
    free(body);
    it_daemon_kill9(&d);

    it_assert_restart(&d);
    json_t *list = it_call(&d, "GET", "/v1/jobs?tag=crash&limit=100", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "jobs")), 1 + N_SHORT + N_BURST);
    assert_true(listed(list, longid));
    for (int i = 0; i < N_SHORT + N_BURST; i++)
        assert_true(listed(list, shorts[i]));
    json_decref(list);
    assert_true(it_daemon_log_contains(&d, "requeued=1"));

    /* The interrupted job is first in line again (oldest, same priority): running, second
     * attempt. */
    json_t *j = it_wait_for_status(&d, longid, "running", 30);
    assert_int_equal(attempts(j), 2);
    json_decref(j);
    cancel(&d, longid);
    for (int i = 0; i < N_SHORT + N_BURST; i++) {
        j = it_wait_for_status(&d, shorts[i], "succeeded", 60);
        assert_int_equal(attempts(j), 1);
        json_decref(j);
    }

    /* Its stream tells the story: running twice, then cancelled; ids only go up. */
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s/events", longid);
    it_stream s;
    assert_int_equal(it_sse(&d, path, NULL, 10, NULL, NULL, &s), 0);
    assert_true(s.ended);
    int running1 = 0, running2 = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (i > 0)
            assert_true(s.ev[i].id > s.ev[i - 1].id);
        if (strcmp(s.ev[i].type, "status") == 0 &&
            strcmp(it_str(s.ev[i].json, "status"), "running") == 0) {
            long a = (long)json_integer_value(json_object_get(s.ev[i].json, "attempt"));
            running1 += a == 1;
            running2 += a == 2;
        }
    }
    assert_int_equal(running1, 1);
    assert_int_equal(running2, 1);
    assert_string_equal(it_str(s.ev[s.n - 1].json, "status"), "cancelled");
    it_stream_free(&s);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

static void test_kill9_past_max_attempts_fails(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", "--max-attempts", "1", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char longid[64], queued[64];
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d, body, longid));
    free(body);
    json_decref(it_wait_for_status(&d, longid, "running", 30));
    body = it_body_example(&d, IT_EF21, NULL);
    json_decref(it_submit(&d, body, queued));
    free(body);
    it_daemon_kill9(&d);

    it_assert_restart(&d);
    json_t *j = it_get_job(&d, longid);
    assert_string_equal(it_str(j, "status"), "failed");
    assert_string_equal(it_str(json_object_get(j, "error"), "code"), "interrupted");
    assert_true(it_str(json_object_get(j, "error"), "message")[0]);
    assert_int_equal(attempts(j), 1);
    assert_true(it_str(j, "finished_at")[0]);
    json_decref(j);
    assert_true(it_daemon_log_contains(&d, "failed=1"));
    /* Its event stream ends with the failed status that the restart stored. */
    char evpath[200];
    snprintf(evpath, sizeof evpath, "/v1/jobs/%s/events", longid);
    it_stream s;
    assert_int_equal(it_sse(&d, evpath, NULL, 10, NULL, NULL, &s), 0);
    assert_true(s.ended);
    assert_true(s.n >= 3);
    assert_string_equal(s.ev[s.n - 1].type, "status");
    assert_string_equal(it_str(s.ev[s.n - 1].json, "status"), "failed");
    assert_string_equal(it_str(json_object_get(s.ev[s.n - 1].json, "error"), "code"),
                        "interrupted");
    it_stream_free(&s);
    /* A queued job was not interrupted: it simply runs. */
    j = it_wait_for_status(&d, queued, "succeeded", 60);
    assert_int_equal(attempts(j), 1);
    json_decref(j);
    /* The failed job stays failed. */
    j = it_get_job(&d, longid);
    assert_string_equal(it_str(j, "status"), "failed");
    json_decref(j);
    it_resp r;
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", longid);
    it_http(&d, "POST", path, NULL, NULL, &r);
    it_assert_error(&r, 409, "conflict", NULL);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

static void test_sigterm_interrupts_and_requeues(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", "--drain-seconds", "0.2", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char id[64];
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d, body, id));
    free(body);
    json_decref(it_wait_for_status(&d, id, "running", 30));
    double t0 = it_now();
    it_assert_clean_exit(&d);
    /* 0.2 s of drain, then the interrupt at the solver's next report. */
    assert_true(it_now() - t0 < 10);
    assert_true(it_daemon_log_contains(&d, "msg=\"job interrupted by shutdown\""));

    it_assert_restart(&d);
    json_t *j = it_wait_for_status(&d, id, "running", 30);
    assert_int_equal(attempts(j), 2);
    json_decref(j);
    cancel(&d, id);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* While draining: /healthz says so with 503 and new jobs get 503; reads still work. */
static void test_draining_refuses_new_jobs(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", "--drain-seconds", "1.5", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char id[64];
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d, body, id));
    json_decref(it_wait_for_status(&d, id, "running", 30));
    it_daemon_term(&d);
    it_resp r;
    double t0 = it_now();
    for (;;) {
        it_http(&d, "GET", "/healthz", NULL, NULL, &r);
        if (r.status == 503)
            break;
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
        if (it_now() - t0 > 1.0)
            fail_msg("/healthz did not report draining within 1 s of SIGTERM");
        it_sleep(0.01);
    }
    assert_string_equal(it_str(r.json, "status"), "draining");
    it_resp_free(&r);
    it_http(&d, "POST", "/v1/jobs", body, NULL, &r);
    it_assert_error(&r, 503, "unavailable", NULL);
    free(body);
    json_t *j = it_get_job(&d, id);
    assert_string_equal(it_str(j, "status"), "running");
    json_decref(j);
    it_assert_exits_cleanly(&d);
    assert_false(it_daemon_log_contains(&d, "second signal"));

    it_assert_restart(&d);
    json_t *list = it_call(&d, "GET", "/v1/jobs", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "jobs")), 1);
    json_decref(list);
    cancel(&d, id);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* A job that ends within the drain window ends normally and is not run again. */
static void test_drain_lets_running_job_finish(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", "--drain-seconds", "60", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char id[64];
    char *body = it_body_iters(100000, 1000, NULL);
    json_decref(it_submit(&d, body, id));
    free(body);
    json_decref(it_wait_for_status(&d, id, "running", 30));
    /* The drain lasts as long as the job (100000 rounds): seconds in a release build, but
     * under ASan on a loaded machine past the harness's 20 s stop bound, which would kill it.
     * So the exit gets the job's own generous bound; the sanitizer check of this log comes
     * with the final it_assert_clean_exit, which reads every start's log. */
    it_daemon_term(&d);
    assert_int_equal(it_daemon_wait(&d, 180), 0);
    /* It was still running when the signal came, and ended on its own. */
    assert_true(it_daemon_log_contains(&d, "running=1 drain_seconds=60"));
    assert_true(it_daemon_log_contains(&d, "state=succeeded"));
    assert_false(it_daemon_log_contains(&d, "job interrupted by shutdown"));
    it_assert_restart(&d);
    json_t *j = it_get_job(&d, id);
    assert_string_equal(it_str(j, "status"), "succeeded");
    assert_int_equal(attempts(j), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "result"),
                                                        "iterations")),
                     100000);
    json_decref(j);
    assert_true(it_daemon_log_contains(&d, "requeued=0"));
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* Two daemons must never share a port (with SO_REUSEPORT the kernel would spread requests over
 * both, and jobs would seem to vanish). The second one, on the first one's address and
 * database, fails with "address in use" and exit status 1 before it recovers the store: the
 * first one's running job is not requeued, and every request still reaches the first. */
static void test_second_daemon_on_taken_port(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    char id[64];
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d, body, id));
    free(body);
    json_decref(it_wait_for_status(&d, id, "running", 30));

    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", d.port);
    char *argv[] = {SOLVD_BIN, "--listen", listen, "--db", d.db, NULL};
    it_proc p;
    int rc = it_proc_run(argv, NULL, NULL, 20, &p);
    if (rc != 1 || !strstr(p.err, "address in use"))
        fprintf(stderr, "[recovery] second daemon: exit %d, stderr:\n%s\n", rc, p.err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(p.err, "msg=\"address in use"));
    assert_null(strstr(p.err, "store ready"));
    it_proc_free(&p);

    /* Nothing moved: every request finds the job, running on its first attempt. */
    for (int i = 0; i < 20; i++) {
        json_t *j = it_get_job(&d, id);
        assert_string_equal(it_str(j, "status"), "running");
        assert_int_equal(attempts(j), 1);
        json_decref(j);
    }
    cancel(&d, id);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kill9_keeps_every_acknowledged_job, it_teardown),
        cmocka_unit_test_teardown(test_kill9_past_max_attempts_fails, it_teardown),
        cmocka_unit_test_teardown(test_sigterm_interrupts_and_requeues, it_teardown),
        cmocka_unit_test_teardown(test_draining_refuses_new_jobs, it_teardown),
        cmocka_unit_test_teardown(test_drain_lets_running_job_finish, it_teardown),
        cmocka_unit_test_teardown(test_second_daemon_on_taken_port, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/recovery", tests, NULL, NULL);
}
