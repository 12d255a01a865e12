/* test_cancel_families.c - a cancel stops a job of every solver family, whatever its
 * report_every: each job of tests/data/cancel/families.json (one per family, reporting almost
 * never, with a job time limit of 120 s) is cancelled once it runs, and must end `cancelled`
 * well before that limit, so a family that checked for a cancel only at reports (or not inside
 * a long inner loop) fails here. The latencies are printed; bench/cancel.sh measures them
 * against the 1 s target, since timing is not what this test decides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

/* Far below the job's own limit (120 s), far above any latency measured (below 0.1 s). */
#define CANCEL_BOUND_S 15.0

/* The job's body: the solver's example with the table's params merged in, or the table's own
 * problem. */
static char *body_of(const it_daemon *d, const json_t *spec)
{
    const char *solver = json_string_value(json_object_get(spec, "solver"));
    json_t *b;
    if (json_is_true(json_object_get(spec, "example"))) {
        char *ex = it_body_example(d, solver, NULL);
        b = json_loads(ex, 0, NULL);
        free(ex);
        json_t *params = json_object_get(b, "params");
        if (!json_is_object(params)) {
            params = json_object();
            json_object_set_new(b, "params", params);
        }
        json_object_update(params, json_object_get(spec, "params"));
    } else {
        b = json_deep_copy(spec);
    }
    json_object_del(b, "example");
    json_object_set_new(b, "time_limit_s", json_real(120));
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return s;
}

static int is_final(const char *st)
{
    return strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0 ||
           strcmp(st, "cancelled") == 0 || strcmp(st, "timed_out") == 0;
}

static void test_cancel_every_family(void **state)
{
    (void)state;
    json_error_t err;
    json_t *table = json_load_file(SOLVD_SOURCE_DIR "/tests/data/cancel/families.json", 0, &err);
    if (!table)
        fail_msg("families.json: %s", err.text);
    it_daemon d;
    static const char *const args[] = {"--workers", "1", NULL};
    it_assert_start(&d, args);
    size_t i;
    json_t *job;
    int n_cancelled = 0;
    json_array_foreach(json_object_get(table, "jobs"), i, job) {
        const char *family = json_string_value(json_object_get(job, "family"));
        int may_finish = json_is_true(json_object_get(job, "may_finish"));
        char *body = body_of(&d, json_object_get(job, "body"));
        char id[64];
        json_decref(it_submit(&d, body, id));
        free(body);
        /* Running (and past its set-up) before the cancel. */
        double t0 = it_now();
        const char *st = "queued";
        json_t *j = NULL;
        for (;;) {
            json_decref(j);
            j = it_get_job(&d, id);
            st = it_str(j, "status");
            if (is_final(st) || (strcmp(st, "running") == 0 && it_now() - t0 > 0.3))
                break;
            if (it_now() - t0 > 30)
                fail_msg("%s: the job did not start within 30 s", family);
            it_sleep(0.01);
        }
        if (is_final(st)) {
            if (!may_finish)
                fail_msg("%s: the long job ended (%s) before it was cancelled", family, st);
            fprintf(stderr, "[cancel] %-14s finished (%s) before the cancel\n", family, st);
            json_decref(j);
            continue;
        }
        json_decref(j);
        char path[200];
        snprintf(path, sizeof path, "/v1/jobs/%s/cancel", id);
        it_resp r;
        double t_cancel = it_now();
        assert_int_equal(it_http(&d, "POST", path, NULL, NULL, &r), 0);
        if (!(r.status == 202 || (may_finish && r.status == 409)))
            fail_msg("%s: cancel answered %ld: %s", family, r.status, r.body);
        it_resp_free(&r);
        for (;;) {
            j = it_get_job(&d, id);
            st = it_str(j, "status");
            if (is_final(st))
                break;
            json_decref(j);
            if (it_now() - t_cancel > CANCEL_BOUND_S)
                fail_msg("%s: still running %.0f s after its cancel", family, CANCEL_BOUND_S);
            it_sleep(0.005);
        }
        double latency = it_now() - t_cancel;
        fprintf(stderr, "[cancel] %-14s %-24s %s after %.3f s\n", family,
                it_str(j, "solver"), st, latency);
        if (!may_finish || strcmp(st, "cancelled") == 0) {
            assert_string_equal(st, "cancelled");
            assert_string_equal(it_str(json_object_get(j, "error"), "code"), "cancelled");
            n_cancelled++;
        }
        json_decref(j);
    }
    assert_true(n_cancelled >= (int)json_array_size(json_object_get(table, "jobs")) - 1);
    json_decref(table);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_cancel_every_family, it_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
