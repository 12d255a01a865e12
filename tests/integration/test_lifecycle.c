/* test_lifecycle.c - a job's whole life through a real daemon: submit, running, succeeded, the
 * event stream (live, then replayed and resumed), the result; listing with filters and cursor
 * pagination; dispatch by priority; Idempotency-Key replays and conflicts, across a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

/* About 0.6 s in a release build and 2 s under ASan: long enough to be seen running. */
#define MEDIUM_ITERS 150000L
#define MEDIUM_REPORT 7500L

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("member %s is not a number", key);
    return json_number_value(v);
}

/* ---- submit, watch, fetch ---- */

static void assert_timestamps_ordered(const json_t *job)
{
    const char *c = it_str(job, "created_at"), *s = it_str(job, "started_at"),
               *f = it_str(job, "finished_at");
    assert_true(c[0] && s[0] && f[0]);
    /* Same fixed-width ISO 8601 format, so text order is time order. */
    assert_int_equal(strlen(c), strlen(s));
    assert_int_equal(strlen(s), strlen(f));
    assert_true(strcmp(c, s) <= 0);
    assert_true(strcmp(s, f) <= 0);
}

static void assert_same_events(const it_stream *a, size_t from, const it_stream *b)
{
    assert_int_equal(b->n, a->n - from);
    for (size_t i = 0; i < b->n; i++) {
        const it_event *x = &a->ev[from + i], *y = &b->ev[i];
        assert_int_equal(x->id, y->id);
        assert_string_equal(x->type, y->type);
        assert_non_null(x->json);
        assert_non_null(y->json);
        if (!json_equal(x->json, y->json)) {
            fprintf(stderr, "live:   %.500s\nreplay: %.500s\n", x->data, y->data);
            fail_msg("event %ld differs between the live stream and the replay", x->id);
        }
    }
}

static void test_submit_run_stream_result(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "2", "--progress-interval-ms", "0", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char id[64], path[200];
    char *body = it_body_iters(MEDIUM_ITERS, MEDIUM_REPORT, "{\"tags\":[\"life\"]}");
    json_t *j = it_submit(&d, body, id);
    free(body);
    assert_string_equal(it_str(j, "solver"), IT_EF21);
    assert_true(json_is_null(json_object_get(j, "started_at")));
    json_decref(j);

    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    it_sse_bg *bg = it_sse_bg_start(&d, path, NULL, 60, NULL, NULL);
    assert_non_null(bg);

    j = it_wait_for_status(&d, id, "running", 30);
    assert_true(it_str(j, "started_at")[0]);
    assert_true(json_is_null(json_object_get(j, "finished_at")));
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1);
    json_decref(j);

    j = it_wait_for_status(&d, id, "succeeded", 60);
    assert_timestamps_ordered(j);
    assert_true(json_is_null(json_object_get(j, "error")));
    json_t *summary = json_object_get(j, "result");
    assert_true(json_is_object(summary));
    assert_int_equal((long)num(summary, "iterations"), MEDIUM_ITERS);
    json_t *last = json_object_get(j, "progress");
    assert_true(json_is_object(last));
    assert_int_equal((long)num(last, "iteration"), MEDIUM_ITERS);
    json_decref(j);

    it_stream *s = it_sse_bg_join(bg);
    assert_int_equal(s->status, 200);
    assert_int_equal(strncmp(s->content_type, "text/event-stream", 17), 0);
    assert_true(s->first_is_comment);
    assert_true(s->ended);   /* the server closed it after the final status */
    assert_true(s->n >= 6);
    /* Ids 1..n, in order, none missing. */
    for (size_t i = 0; i < s->n; i++) {
        assert_int_equal(s->ev[i].id, (long)i + 1);
        assert_non_null(s->ev[i].json);
    }
    assert_string_equal(s->ev[0].type, "status");
    assert_string_equal(it_str(s->ev[0].json, "status"), "queued");
    assert_string_equal(s->ev[1].type, "status");
    assert_string_equal(it_str(s->ev[1].json, "status"), "running");
    assert_string_equal(s->ev[s->n - 1].type, "status");
    assert_string_equal(it_str(s->ev[s->n - 1].json, "status"), "succeeded");
    assert_string_equal(s->ev[s->n - 2].type, "result");
    size_t nprog = 0;
    double prev_iter = -1, prev_bits = -1;
    for (size_t i = 2; i < s->n - 2; i++) {
        const it_event *e = &s->ev[i];
        assert_string_equal(e->type, "progress");
        double it = num(e->json, "iteration"), bits = num(e->json, "bits_sent");
        num(e->json, "objective");
        assert_true(num(e->json, "grad_norm") >= 0);
        assert_true(it > prev_iter);
        assert_true(bits >= prev_bits);
        prev_iter = it;
        prev_bits = bits;
        nprog++;
    }
    /* One report every MEDIUM_REPORT rounds, none throttled away. */
    assert_true(nprog >= (size_t)(MEDIUM_ITERS / MEDIUM_REPORT));
    assert_int_equal((long)prev_iter, MEDIUM_ITERS);

    /* /result is the result event. */
    const it_event *res = &s->ev[s->n - 2];
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    json_t *full = it_call(&d, "GET", path, NULL, 200);
    assert_true(json_equal(full, res->json));
    assert_true(json_is_array(json_object_get(full, "x")));
    assert_int_equal(json_array_size(json_object_get(full, "x")), 50);
    json_decref(full);
    /* Byte for byte the event's data, plus the newline every JSON answer ends with. */
    it_resp rr;
    it_http(&d, "GET", path, NULL, NULL, &rr);
    assert_int_equal(rr.len, strlen(res->data) + 1);
    assert_memory_equal(rr.body, res->data, strlen(res->data));
    assert_int_equal(rr.body[rr.len - 1], '\n');
    it_resp_free(&rr);

    /* Replays of the finished job: the whole stream, then only what follows N. */
    it_stream r;
    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    assert_int_equal(it_sse(&d, path, NULL, 10, NULL, NULL, &r), 0);
    assert_true(r.ended);
    assert_same_events(s, 0, &r);
    it_stream_free(&r);

    const char *h3[] = {"Last-Event-ID: 3", NULL};
    assert_int_equal(it_sse(&d, path, h3, 10, NULL, NULL, &r), 0);
    assert_true(r.ended);
    assert_same_events(s, 3, &r);
    it_stream_free(&r);

    snprintf(path, sizeof path, "/v1/jobs/%s/events?after=%zu", id, s->n - 2);
    assert_int_equal(it_sse(&d, path, NULL, 10, NULL, NULL, &r), 0);
    assert_true(r.ended);
    assert_same_events(s, s->n - 2, &r);
    it_stream_free(&r);

    char hn[64];
    snprintf(hn, sizeof hn, "Last-Event-ID: %zu", s->n);
    const char *hlast[] = {hn, NULL};
    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    assert_int_equal(it_sse(&d, path, hlast, 10, NULL, NULL, &r), 0);
    assert_true(r.ended);
    assert_int_equal(r.n, 0);
    it_stream_free(&r);

    const char *hbad[] = {"Last-Event-ID: minus-one", NULL};
    it_resp e;
    it_req_opts o = {hbad, 0, 0, 0};
    it_http(&d, "GET", path, NULL, &o, &e);
    it_assert_error(&e, 422, "invalid", "Last-Event-ID");

    it_sse_bg_free(bg);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* ---- listing ---- */

static json_t *list(const it_daemon *d, const char *query)
{
    char path[400];
    snprintf(path, sizeof path, "/v1/jobs%s", query);
    json_t *l = it_call(d, "GET", path, NULL, 200);
    assert_true(json_is_array(json_object_get(l, "jobs")));
    return l;
}

static size_t list_count(const it_daemon *d, const char *query)
{
    json_t *l = list(d, query);
    size_t n = json_array_size(json_object_get(l, "jobs"));
    json_decref(l);
    return n;
}

static void test_list_filters_and_pages(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    enum { N = 7 };
    char ids[N][64], other[64];
    for (int i = 0; i < N; i++) {
        char extra[100];
        snprintf(extra, sizeof extra, "{\"tags\":[\"page\",\"%s\"]}", i % 2 ? "odd" : "even");
        char *body = it_body_example(&d, IT_EF21, extra);
        json_decref(it_submit(&d, body, ids[i]));
        free(body);
    }
    char *body = it_body_long("{\"tags\":[\"other\"]}");
    json_decref(it_submit(&d, body, other));
    free(body);
    for (int i = 0; i < N; i++)
        json_decref(it_wait_for_status(&d, ids[i], "succeeded", 60));
    json_decref(it_wait_for_status(&d, other, "running", 30));
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", other);
    json_decref(it_call(&d, "POST", path, NULL, 202));
    json_decref(it_wait_for_status(&d, other, "cancelled", 30));

    /* Three pages of 3, 3 and 1, newest first, no overlap, nothing missing. */
    char query[300] = "?tag=page&limit=3";
    int seen = 0;
    size_t sizes[4] = {0};
    int pages = 0;
    for (;;) {
        json_t *l = list(&d, query);
        json_t *jobs = json_object_get(l, "jobs");
        assert_true(pages < 3);
        sizes[pages++] = json_array_size(jobs);
        size_t i;
        json_t *job;
        json_array_foreach(jobs, i, job) {
            /* ids[N-1] is the newest. */
            assert_true(seen < N);
            assert_string_equal(it_str(job, "id"), ids[N - 1 - seen]);
            assert_string_equal(it_str(job, "status"), "succeeded");
            seen++;
        }
        json_t *cur = json_object_get(l, "next_cursor");
        if (json_is_null(cur)) {
            json_decref(l);
            break;
        }
        assert_true(json_is_string(cur));
        snprintf(query, sizeof query, "?tag=page&limit=3&cursor=%s", json_string_value(cur));
        json_decref(l);
    }
    assert_int_equal(pages, 3);
    assert_int_equal(sizes[0], 3);
    assert_int_equal(sizes[1], 3);
    assert_int_equal(sizes[2], 1);
    assert_int_equal(seen, N);

    /* Newest first across the whole list, too. */
    json_t *l = list(&d, "");
    json_t *jobs = json_object_get(l, "jobs");
    assert_int_equal(json_array_size(jobs), N + 1);
    assert_string_equal(it_str(json_array_get(jobs, 0), "id"), other);
    for (size_t i = 1; i < json_array_size(jobs); i++)
        assert_true(strcmp(it_str(json_array_get(jobs, i - 1), "id"),
                           it_str(json_array_get(jobs, i), "id")) > 0);
    assert_true(json_is_null(json_object_get(l, "next_cursor")));
    json_decref(l);

    assert_int_equal(list_count(&d, "?status=succeeded"), N);
    l = list(&d, "?status=cancelled");
    assert_int_equal(json_array_size(json_object_get(l, "jobs")), 1);
    assert_string_equal(it_str(json_array_get(json_object_get(l, "jobs"), 0), "id"), other);
    json_decref(l);
    assert_int_equal(list_count(&d, "?status=queued"), 0);
    assert_int_equal(list_count(&d, "?tag=odd"), 3);
    assert_int_equal(list_count(&d, "?tag=even"), 4);
    assert_int_equal(list_count(&d, "?tag=other"), 1);
    assert_int_equal(list_count(&d, "?tag=nope"), 0);
    assert_int_equal(list_count(&d, "?status=succeeded&tag=even"), 4);
    assert_int_equal(list_count(&d, "?status=cancelled&tag=even"), 0);
    assert_int_equal(list_count(&d, "?solver=" IT_EF21), N + 1);
    assert_int_equal(list_count(&d, "?solver=no.such"), 0);
    assert_int_equal(list_count(&d, "?solver=" IT_EF21 "&tag=odd&status=succeeded"), 3);
    /* A listing row carries the tags it was filtered by. */
    l = list(&d, "?tag=odd&limit=1");
    json_t *tags = json_object_get(json_array_get(json_object_get(l, "jobs"), 0), "tags");
    assert_int_equal(json_array_size(tags), 2);
    assert_string_equal(json_string_value(json_array_get(tags, 1)), "odd");
    json_decref(l);

    it_resp r;
    it_http(&d, "GET", "/v1/jobs?status=finished", NULL, NULL, &r);
    it_assert_error(&r, 422, "invalid", "?status");
    it_http(&d, "GET", "/v1/jobs?limit=0", NULL, NULL, &r);
    it_assert_error(&r, 422, "invalid", "?limit");
    it_http(&d, "GET", "/v1/jobs?limit=many", NULL, NULL, &r);
    it_assert_error(&r, 422, "invalid", "?limit");
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* ---- priority ---- */

static void test_priority_order(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    char blocker[64], low[64], mid[64], high[64], path[200];
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d, body, blocker));
    free(body);
    json_decref(it_wait_for_status(&d, blocker, "running", 30));
    /* Submitted low first, high last: the queue, not the arrival, decides. */
    body = it_body_example(&d, IT_EF21, "{\"priority\":-5}");
    json_decref(it_submit(&d, body, low));
    free(body);
    body = it_body_example(&d, IT_EF21, NULL);
    json_decref(it_submit(&d, body, mid));
    free(body);
    body = it_body_example(&d, IT_EF21, "{\"priority\":5}");
    json_t *j = it_submit(&d, body, high);
    assert_int_equal(json_integer_value(json_object_get(j, "priority")), 5);
    json_decref(j);
    free(body);
    const char *queued[] = {low, mid, high};
    for (int i = 0; i < 3; i++) {
        j = it_get_job(&d, queued[i]);
        assert_string_equal(it_str(j, "status"), "queued");
        json_decref(j);
    }
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", blocker);
    json_decref(it_call(&d, "POST", path, NULL, 202));
    json_decref(it_wait_for_status(&d, blocker, "cancelled", 30));

    json_t *h = it_wait_for_status(&d, high, "succeeded", 60);
    json_t *m = it_wait_for_status(&d, mid, "succeeded", 60);
    json_t *l = it_wait_for_status(&d, low, "succeeded", 60);
    /* One worker: each starts after the one before it finished. */
    assert_true(strcmp(it_str(h, "started_at"), it_str(m, "started_at")) <= 0);
    assert_true(strcmp(it_str(m, "started_at"), it_str(l, "started_at")) <= 0);
    assert_true(strcmp(it_str(h, "finished_at"), it_str(m, "started_at")) <= 0);
    assert_true(strcmp(it_str(m, "finished_at"), it_str(l, "started_at")) <= 0);
    json_decref(h);
    json_decref(m);
    json_decref(l);
    /* The daemon's log says the same with no clock resolution involved. */
    long ph = it_daemon_log_find(&d, "msg=\"job started\"", high);
    long pm = it_daemon_log_find(&d, "msg=\"job started\"", mid);
    long pl = it_daemon_log_find(&d, "msg=\"job started\"", low);
    assert_true(ph >= 0 && pm >= 0 && pl >= 0);
    assert_true(ph < pm);
    assert_true(pm < pl);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* ---- idempotency ---- */

static void test_idempotency_key(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    char *body = it_body_example(&d, IT_EF21, "{\"tags\":[\"idem\"]}");
    char *other = it_body_example(&d, IT_EF21, "{\"tags\":[\"idem\"],\"priority\":3}");
    const char *k1[] = {"Idempotency-Key: order-42", NULL};
    const char *k2[] = {"Idempotency-Key: order-43", NULL};
    char id[64];
    json_decref(it_submit_h(&d, body, k1, id));

    json_t *again = it_call_h(&d, "POST", "/v1/jobs", body, k1, 200);
    assert_string_equal(it_str(again, "id"), id);
    json_decref(again);

    it_resp r;
    it_req_opts o = {k1, 0, 0, 0};
    it_http(&d, "POST", "/v1/jobs", other, &o, &r);
    it_assert_error(&r, 409, "conflict", NULL);

    /* Another key is another job. */
    char id2[64];
    json_decref(it_submit_h(&d, body, k2, id2));
    assert_string_not_equal(id, id2);
    assert_int_equal(list_count(&d, "?tag=idem"), 2);
    json_decref(it_wait_for_status(&d, id, "succeeded", 60));
    json_decref(it_wait_for_status(&d, id2, "succeeded", 60));

    /* The key is stored with the job: a replay after a restart finds it. */
    it_assert_clean_exit(&d);
    it_assert_restart(&d);
    again = it_call_h(&d, "POST", "/v1/jobs", body, k1, 200);
    assert_string_equal(it_str(again, "id"), id);
    assert_string_equal(it_str(again, "status"), "succeeded");
    json_decref(again);
    it_http(&d, "POST", "/v1/jobs", other, &o, &r);
    it_assert_error(&r, 409, "conflict", NULL);
    assert_int_equal(list_count(&d, "?tag=idem"), 2);
    assert_int_equal(list_count(&d, ""), 2);
    free(body);
    free(other);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* "params" may be left out: the defaults apply and the job view shows an empty object.
 In the ASan build this is also a leak check
 * of the job view (the daemon must exit 0 after SIGTERM). */
static void test_job_without_params(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    char *full = it_body_example(&d, IT_EF21, NULL);
    json_t *b = json_loads(full, 0, NULL);
    free(full);
    json_object_del(b, "params");
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    char id[64];
    json_t *j = it_submit(&d, body, id);
    free(body);
    assert_true(json_is_object(json_object_get(j, "params")));
    assert_int_equal(json_object_size(json_object_get(j, "params")), 0);
    json_decref(j);
    j = it_wait_for_status(&d, id, "succeeded", 60);
    assert_int_equal(json_object_size(json_object_get(j, "params")), 0);
    json_decref(j);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* A queued job whose request is larger than what the service keeps in memory (64 KiB) waits
 * with its request in the store only; the worker that takes it reads it back, and it runs to
 * the same answer as the same job submitted when a worker was free. */
static void test_large_request_waits_in_store(void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "1", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    /* One client, A 400 x 12 with entries (i * 7 + j * 13) % 17 - 8 and b_i = i % 5: 80 kB. */
    json_t *A = json_array(), *b = json_array();
    for (int i = 0; i < 400; i++) {
        json_t *row = json_array();
        for (int j = 0; j < 12; j++)
            json_array_append_new(row, json_real(((i * 7 + j * 13) % 17 - 8) * 0.123456789));
        json_array_append_new(A, row);
        json_array_append_new(b, json_integer(i % 5));
    }
    json_t *job = json_pack("{s:s, s:{s:[{s:o, s:o}], s:f}, s:{s:i, s:f}}", "solver", IT_EF21,
                            "problem", "clients", "A", A, "b", b, "lambda", 0.1, "params",
                            "max_iter", 300, "tol", 0.0);
    char *big = json_dumps(job, JSON_COMPACT);
    json_decref(job);
    assert_true(strlen(big) > 64 * 1024);
    char first[64], blocker[64], queued[64], path[160];
    json_decref(it_submit(&d, big, first));
    json_decref(it_wait_for_status(&d, first, "succeeded", 60));
    char *lng = it_body_long(NULL);
    json_decref(it_submit(&d, lng, blocker));
    free(lng);
    json_decref(it_wait_for_status(&d, blocker, "running", 30));
    json_decref(it_submit(&d, big, queued));
    it_sleep(0.2);
    json_t *q = it_get_job(&d, queued);
    assert_string_equal(it_str(q, "status"), "queued");
    json_decref(q);
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", blocker);
    json_decref(it_call(&d, "POST", path, NULL, 202));
    json_decref(it_wait_for_status(&d, queued, "succeeded", 60));
    snprintf(path, sizeof path, "/v1/jobs/%s/result", first);
    json_t *a = it_call(&d, "GET", path, NULL, 200);
    snprintf(path, sizeof path, "/v1/jobs/%s/result", queued);
    json_t *c = it_call(&d, "GET", path, NULL, 200);
    assert_true(json_equal(json_object_get(a, "x"), json_object_get(c, "x")));
    assert_non_null(json_object_get(a, "x"));
    json_decref(a);
    json_decref(c);
    free(big);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_submit_run_stream_result, it_teardown),
        cmocka_unit_test_teardown(test_list_filters_and_pages, it_teardown),
        cmocka_unit_test_teardown(test_priority_order, it_teardown),
        cmocka_unit_test_teardown(test_idempotency_key, it_teardown),
        cmocka_unit_test_teardown(test_job_without_params, it_teardown),
        cmocka_unit_test_teardown(test_large_request_waits_in_store, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/lifecycle", tests, NULL, NULL);
}
