/* test_control.c - stopping jobs from outside: cancel while running (a partial result is kept),
 * cancel while queued (it never starts), cancel of finished and unknown jobs, a job's own time
 * limit, and the server's --max-job-seconds as both the cap and the default limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static void cancel_path(char *path, size_t n, const char *id)
{
    snprintf(path, n, "/v1/jobs/%s/cancel", id);
}

/* Waits until the running job has reported progress at least once. */
static void wait_progress(const it_daemon *d, const char *id)
{
    double t0 = it_now();
    for (;;) {
        json_t *j = it_get_job(d, id);
        int has = json_is_object(json_object_get(j, "progress"));
        json_decref(j);
        if (has)
            return;
        if (it_now() - t0 > 20)
            fail_msg("job %s reported no progress within 20 s", id);
        it_sleep(0.02);
    }
}

static void test_cancel_running(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    char id[64], path[200];
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d, body, id));
    free(body);
    json_decref(it_wait_for_status(&d, id, "running", 30));
    wait_progress(&d, id);

    cancel_path(path, sizeof path, id);
    json_t *c = it_call(&d, "POST", path, NULL, 202);
    assert_string_equal(it_str(c, "id"), id);
    assert_true(json_is_true(json_object_get(c, "cancel_requested")));
    json_decref(c);

    /* The solver sees the flag at its next report: well within a second. */
    json_t *j = it_wait_for_status(&d, id, "cancelled", 10);
    json_t *err = json_object_get(j, "error");
    assert_string_equal(it_str(err, "code"), "cancelled");
    assert_true(it_str(j, "finished_at")[0]);
    json_t *summary = json_object_get(j, "result");
    assert_true(json_is_object(summary));
    assert_string_equal(it_str(summary, "status"), "cancelled");
    double iters = json_number_value(json_object_get(summary, "iterations"));
    assert_true(iters > 0 && iters < 1e9);
    json_decref(j);

    /* The partial result: the iterate where the solver stopped. */
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    json_t *res = it_call(&d, "GET", path, NULL, 200);
    assert_string_equal(it_str(res, "status"), "cancelled");
    assert_int_equal(json_array_size(json_object_get(res, "x")), 50);
    assert_true(json_number_value(json_object_get(res, "iterations")) == iters);
    json_decref(res);

    /* The stream of a cancelled job ends with status cancelled. */
    it_stream s;
    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    assert_int_equal(it_sse(&d, path, NULL, 10, NULL, NULL, &s), 0);
    assert_true(s.ended);
    assert_true(s.n >= 4);
    assert_string_equal(s.ev[s.n - 1].type, "status");
    assert_string_equal(it_str(s.ev[s.n - 1].json, "status"), "cancelled");
    assert_non_null(it_stream_find(&s, "result", 0));
    it_stream_free(&s);

    /* Once finished, a cancel is a conflict. */
    it_resp r;
    cancel_path(path, sizeof path, id);
    it_http(&d, "POST", path, NULL, NULL, &r);
    it_assert_error(&r, 409, "conflict", NULL);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

static void test_cancel_queued(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char blocker[64], victim[64], after[64], path[200];
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d, body, blocker));
    free(body);
    json_decref(it_wait_for_status(&d, blocker, "running", 30));
    body = it_body_example(&d, IT_EF21, NULL);
    json_decref(it_submit(&d, body, victim));

    /* A subscriber of the queued job sees its end. */
    snprintf(path, sizeof path, "/v1/jobs/%s/events", victim);
    it_sse_bg *bg = it_sse_bg_start(&d, path, NULL, 20, NULL, NULL);
    assert_int_equal(it_sse_bg_wait_connected(bg, 10), 0);

    cancel_path(path, sizeof path, victim);
    json_t *c = it_call(&d, "POST", path, NULL, 200);
    assert_string_equal(it_str(c, "id"), victim);
    assert_string_equal(it_str(c, "status"), "cancelled");
    assert_true(json_is_null(json_object_get(c, "started_at")));
    assert_true(it_str(c, "finished_at")[0]);
    json_decref(c);

    it_stream *s = it_sse_bg_join(bg);
    assert_true(s->ended);
    assert_int_equal(s->n, 2);
    assert_string_equal(it_str(s->ev[0].json, "status"), "queued");
    assert_string_equal(it_str(s->ev[1].json, "status"), "cancelled");
    assert_int_equal(s->ev[1].id, 2);
    it_sse_bg_free(bg);

    /* Free the worker; a job submitted after it runs, the cancelled one never does. */
    cancel_path(path, sizeof path, blocker);
    json_decref(it_call(&d, "POST", path, NULL, 202));
    json_decref(it_wait_for_status(&d, blocker, "cancelled", 10));
    json_decref(it_submit(&d, body, after));
    free(body);
    json_decref(it_wait_for_status(&d, after, "succeeded", 60));
    json_t *j = it_get_job(&d, victim);
    assert_string_equal(it_str(j, "status"), "cancelled");
    assert_true(json_is_null(json_object_get(j, "started_at")));
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 0);
    assert_string_equal(it_str(json_object_get(j, "error"), "code"), "cancelled");
    json_decref(j);
    assert_true(it_daemon_log_find(&d, "msg=\"job started\"", victim) < 0);
    it_resp r;
    snprintf(path, sizeof path, "/v1/jobs/%s/result", victim);
    it_http(&d, "GET", path, NULL, NULL, &r);
    it_assert_error(&r, 404, "not_found", NULL);

    /* Cancel again, of a finished job, of no job. */
    cancel_path(path, sizeof path, victim);
    it_http(&d, "POST", path, NULL, NULL, &r);
    it_assert_error(&r, 409, "conflict", NULL);
    cancel_path(path, sizeof path, after);
    it_http(&d, "POST", path, NULL, NULL, &r);
    it_assert_error(&r, 409, "conflict", NULL);
    it_http(&d, "POST", "/v1/jobs/0000000000000000000000/cancel", NULL, NULL, &r);
    it_assert_error(&r, 404, "not_found", NULL);
    j = it_get_job(&d, after);
    assert_string_equal(it_str(j, "status"), "succeeded");
    json_decref(j);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

static void test_time_limit(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    char id[64];
    char *body = it_body_long("{\"time_limit_s\":0.5}");
    json_t *j = it_submit(&d, body, id);
    free(body);
    assert_true(json_number_value(json_object_get(j, "time_limit_s")) == 0.5);
    json_decref(j);
    j = it_wait_for_status(&d, id, "timed_out", 10);
    assert_string_equal(it_str(json_object_get(j, "error"), "code"), "time_limit");
    double run_s = json_number_value(json_object_get(json_object_get(j, "timings"), "run_s"));
    assert_true(run_s >= 0.5);
    assert_true(run_s < 5);
    json_t *summary = json_object_get(j, "result");
    assert_true(json_number_value(json_object_get(summary, "iterations")) > 0);
    json_decref(j);
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    json_t *res = it_call(&d, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(res, "x")), 50);
    json_decref(res);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* A time limit holds by the wall clock whatever report_every is: the solver checks the monitor's
 * poll and its own clock every iteration (core/control.h), not only at reports. Before, a job
 * with time_limit_s 1 and report_every 20000 ran 4.9 s. The margin stated in docs/api.md is
 * one iteration plus the final report; 1 s here leaves room for a loaded machine. */
static void test_time_limit_with_rare_reports(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    char id[64];
    /* The job's limit (the envelope's time_limit_s). */
    char *body = it_body_iters(1000000000L, 1000000000L, "{\"time_limit_s\":1}");
    json_decref(it_submit(&d, body, id));
    free(body);
    json_t *j = it_wait_for_status(&d, id, "timed_out", 20);
    double run_s = json_number_value(json_object_get(json_object_get(j, "timings"), "run_s"));
    fprintf(stderr, "[control] job time limit 1 s, report_every 1e9: ran %.3f s\n", run_s);
    assert_true(run_s >= 1.0);
    assert_true(run_s < 2.0);
    json_decref(j);
    /* The solver's own limit (params.time_limit_s): the job succeeds, its result says so. */
    body = it_body_iters(1000000000L, 1000000000L, NULL);
    json_t *b = json_loads(body, 0, NULL);
    free(body);
    json_object_set_new(json_object_get(b, "params"), "time_limit_s", json_real(1.0));
    body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    json_decref(it_submit(&d, body, id));
    free(body);
    j = it_wait_for_status(&d, id, "succeeded", 20);
    json_t *res = json_object_get(j, "result");
    assert_string_equal(it_str(res, "status"), "time_limit");
    double solve_s = json_number_value(json_object_get(res, "solve_time_s"));
    fprintf(stderr, "[control] solver time limit 1 s, report_every 1e9: solved for %.3f s\n",
            solve_s);
    assert_true(solve_s >= 1.0);
    assert_true(solve_s < 2.0);
    json_decref(j);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* --max-job-seconds caps what a job may ask for, and applies to jobs that ask for nothing. */
static void test_max_job_seconds(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-job-seconds", "1", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    it_resp r;
    char *body = it_body_long("{\"time_limit_s\":1.5}");
    it_http(&d, "POST", "/v1/jobs", body, NULL, &r);
    it_assert_error(&r, 422, "invalid", "/time_limit_s");
    free(body);
    json_t *l = it_call(&d, "GET", "/v1/jobs", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(l, "jobs")), 0);
    json_decref(l);

    char id[64];
    body = it_body_long(NULL);
    json_decref(it_submit(&d, body, id));
    free(body);
    json_t *j = it_wait_for_status(&d, id, "timed_out", 10);
    assert_string_equal(it_str(json_object_get(j, "error"), "code"), "time_limit");
    double run_s = json_number_value(json_object_get(json_object_get(j, "timings"), "run_s"));
    assert_true(run_s >= 1);
    json_decref(j);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_cancel_running, it_teardown),
        cmocka_unit_test_teardown(test_cancel_queued, it_teardown),
        cmocka_unit_test_teardown(test_time_limit, it_teardown),
        cmocka_unit_test_teardown(test_time_limit_with_rare_reports, it_teardown),
        cmocka_unit_test_teardown(test_max_job_seconds, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/control", tests, NULL, NULL);
}
