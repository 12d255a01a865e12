/* test_store_faults.c - a store that refuses writes for a while (a full disk, simulated by
 * lowering the daemon's RLIMIT_FSIZE to 0 with prlimit: every write to a file fails with EFBIG,
 * as SQLite sees on a full disk). A job that finishes meanwhile keeps its final state and result
 * in memory and is written once the store takes writes again (server/writer.c retries with
 * backoff); /healthz says so while it lasts; the stream shows the end only when it is durable;
 * and after a restart the job is finished, not run again. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "harness.h"

/* Sets the daemon's soft limit only: raising it again back to the hard limit needs no
 * privilege (raising a lowered hard limit would need CAP_SYS_RESOURCE). */
static void set_fsize(const it_daemon *d, int full)
{
    struct rlimit rl;
    assert_int_equal(prlimit(d->pid, RLIMIT_FSIZE, NULL, &rl), 0);
    rl.rlim_cur = full ? 0 : rl.rlim_max;
    assert_int_equal(prlimit(d->pid, RLIMIT_FSIZE, &rl, NULL), 0);
}

static const char *health_writes(const it_daemon *d, char *buf, size_t n)
{
    it_resp r;
    it_http(d, "GET", "/healthz", NULL, NULL, &r);
    snprintf(buf, n, "%s", r.json ? it_str(r.json, "store_writes") : "?");
    it_resp_free(&r);
    return buf;
}

static void test_finish_survives_a_full_disk(void **state)
{
    (void)state;
    it_daemon d;
    static const char *const args[] = {"--workers", "1", NULL};
    it_assert_start(&d, args);
    char id[64], path[160], buf[32];
    /* A job that runs until its 1.5 s time limit, and ends timed_out with a result. */
    char *body = it_body_long("{\"time_limit_s\":1.5}");
    json_decref(it_submit(&d, body, id));
    free(body);
    json_decref(it_wait_for_status(&d, id, "running", 30));

    set_fsize(&d, 1);
    /* The job ends while nothing can be written: the store still says running. */
    it_sleep(2.5);
    assert_string_equal(health_writes(&d, buf, sizeof buf), "failing");
    json_t *job = it_get_job(&d, id);
    assert_string_equal(it_str(job, "status"), "running");
    json_decref(job);
    assert_true(it_metric(&d, "solvd_store_writes_pending") > 0);

    /* Space again: the held writes land, in order; the job is finished with its result. */
    set_fsize(&d, 0);
    json_decref(it_wait_for_status(&d, id, "timed_out", 30));
    assert_string_equal(health_writes(&d, buf, sizeof buf), "ok");
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    json_t *res = it_call(&d, "GET", path, NULL, 200);
    assert_non_null(json_object_get(res, "x"));
    json_decref(res);
    /* Its stream replays to the final status, once. */
    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    it_stream s;
    assert_int_equal(it_sse(&d, path, NULL, 30, NULL, NULL, &s), 0);
    size_t finals = 0;
    for (size_t i = 0; i < s.n; i++)
        if (strcmp(s.ev[i].type, "status") == 0 && strstr(s.ev[i].data, "timed_out"))
            finals++;
    assert_int_equal(finals, 1);
    it_stream_free(&s);

    /* A restart finds it finished: it does not run again. */
    it_assert_clean_exit(&d);
    it_assert_restart(&d);
    job = it_get_job(&d, id);
    assert_string_equal(it_str(job, "status"), "timed_out");
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
    json_decref(job);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_finish_survives_a_full_disk, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/store_faults", tests, NULL, NULL);
}
