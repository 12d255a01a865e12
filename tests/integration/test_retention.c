/* test_retention.c - DELETE /v1/jobs/{id} (finished jobs only, the tenant's own, events and
 * result gone with the row) and retention (--retain-jobs, run every --maintenance-s). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

static long http_status(const it_daemon *d, const char *method, const char *path,
                        const char *const *headers)
{
    it_resp r;
    it_req_opts o = {.headers = headers};
    assert_int_equal(it_http(d, method, path, NULL, &o, &r), 0);
    long s = r.status;
    if (s == 204)
        assert_int_equal(r.len, 0);
    it_resp_free(&r);
    return s;
}

static void expect_error(const it_daemon *d, const char *method, const char *path, long status,
                         const char *code, const char *const *headers)
{
    it_resp r;
    it_req_opts o = {.headers = headers};
    assert_int_equal(it_http(d, method, path, NULL, &o, &r), 0);
    it_assert_error(&r, status, code, NULL);
}

static void test_delete(void **state)
{
    (void)state;
    static const char *const args[] = {"--tokens", "a:alice,b:bob", NULL};
    static const char *const alice[] = {"Authorization: Bearer a", NULL};
    static const char *const bob[] = {"Authorization: Bearer b", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    snprintf(d.auth, sizeof d.auth, "%s", alice[0]);  /* the harness's own calls: alice's */
    char id[64], path[200], sub[240];
    char *body = it_body_example(&d, IT_EF21, NULL);
    json_decref(it_submit_h(&d, body, alice, id));
    free(body);
    json_decref(it_wait_for_status(&d, id, "succeeded", 60));
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    /* The finished job's view now comes from the view cache: the same body each time, and
     * still only to its tenant. */
    it_resp r1, r2;
    it_req_opts ao = {.headers = alice};
    assert_int_equal(it_http(&d, "GET", path, NULL, &ao, &r1), 0);
    assert_int_equal(it_http(&d, "GET", path, NULL, &ao, &r2), 0);
    assert_int_equal(r1.status, 200);
    assert_int_equal(r2.status, 200);
    assert_int_equal(r1.len, r2.len);
    assert_memory_equal(r1.body, r2.body, r1.len);
    it_resp_free(&r1);
    it_resp_free(&r2);
    expect_error(&d, "GET", path, 404, "not_found", bob);
    expect_error(&d, "DELETE", path, 404, "not_found", bob);   /* not bob's */
    assert_int_equal(http_status(&d, "DELETE", path, alice), 204);
    expect_error(&d, "GET", path, 404, "not_found", alice);
    snprintf(sub, sizeof sub, "%s/result", path);
    expect_error(&d, "GET", sub, 404, "not_found", alice);
    snprintf(sub, sizeof sub, "%s/events", path);
    expect_error(&d, "GET", sub, 404, "not_found", alice);
    expect_error(&d, "DELETE", path, 404, "not_found", alice);
    json_t *l = it_call_h(&d, "GET", "/v1/jobs", NULL, alice, 200);
    assert_int_equal(json_array_size(json_object_get(l, "jobs")), 0);
    json_decref(l);

    /* A running job: 409 until it is cancelled and finished. */
    body = it_body_long(NULL);
    json_decref(it_submit_h(&d, body, alice, id));
    free(body);
    json_decref(it_wait_for_status(&d, id, "running", 30));
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    expect_error(&d, "DELETE", path, 409, "conflict", alice);
    snprintf(sub, sizeof sub, "%s/cancel", path);
    json_decref(it_call_h(&d, "POST", sub, NULL, alice, 202));
    json_decref(it_wait_for_status(&d, id, "cancelled", 30));
    long s = 0;
    for (int tries = 0; tries < 50 && (s = http_status(&d, "DELETE", path, alice)) == 409; tries++)
        usleep(20000);  /* its last events may still be on their way to the store */
    assert_int_equal(s, 204);
    expect_error(&d, "GET", path, 404, "not_found", alice);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

static size_t listed(const it_daemon *d, char ids[][64], size_t cap)
{
    json_t *l = it_call(d, "GET", "/v1/jobs", NULL, 200);
    json_t *jobs = json_object_get(l, "jobs");
    size_t n = json_array_size(jobs);
    for (size_t i = 0; i < n && i < cap; i++)
        snprintf(ids[i], 64, "%s", it_str(json_array_get(jobs, i), "id"));
    json_decref(l);
    return n;
}

/* --retain-jobs 2: of four finished jobs the two newest stay, within a few maintenance rounds;
 * a running job is never counted or touched. */
static void test_retain_jobs(void **state)
{
    (void)state;
    static const char *const args[] = {"--retain-jobs", "2", "--maintenance-s", "0.2", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char id[4][64], live[64];
    for (int k = 0; k < 4; k++) {
        char *body = it_body_example(&d, IT_EF21, NULL);
        json_decref(it_submit(&d, body, id[k]));
        free(body);
        json_decref(it_wait_for_status(&d, id[k], "succeeded", 60));
    }
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d, body, live));
    free(body);
    json_decref(it_wait_for_status(&d, live, "running", 30));
    char got[8][64];
    size_t n = 0;
    for (int tries = 0; tries < 100 && (n = listed(&d, got, 8)) != 3; tries++)
        usleep(50000);
    assert_int_equal(n, 3);
    /* newest first: the running one, then the last two finished */
    assert_string_equal(got[0], live);
    assert_string_equal(got[1], id[3]);
    assert_string_equal(got[2], id[2]);
    /* logged once each round's answer is back on the loop (the jobs finish one by one, so the
     * two deletions may come in two rounds) */
    for (int tries = 0; tries < 100 && !it_daemon_log_contains(&d, "msg=\"retention\""); tries++)
        usleep(20000);
    assert_true(it_daemon_log_contains(&d, "msg=\"retention\" deleted="));
    char path[320];
    /* The pruned jobs were read (their views cached) while they waited to finish: gone now. */
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "/v1/jobs/%s", id[k]);
        expect_error(&d, "GET", path, 404, "not_found", NULL);
    }
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", live);
    json_decref(it_call(&d, "POST", path, NULL, 202));
    json_decref(it_wait_for_status(&d, live, "cancelled", 30));
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_delete, it_teardown),
        cmocka_unit_test_teardown(test_retain_jobs, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/retention", tests, NULL, NULL);
}
