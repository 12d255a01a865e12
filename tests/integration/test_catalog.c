/* test_catalog.c - the read-only surface of a real daemon: /healthz, the solver catalog (and
 * every solver's example actually solving), /metrics, and the router's 404 and 405 answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static const char *const args[] = {"--workers", "2", NULL};

static void test_healthz(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    json_t *h = it_call(&d, "GET", "/healthz", NULL, 200);
    assert_string_equal(it_str(h, "status"), "ok");
    assert_string_equal(it_str(h, "store"), "ok");
    assert_int_equal(json_integer_value(json_object_get(h, "workers")), 2);
    assert_int_equal(json_integer_value(json_object_get(h, "queued")), 0);
    json_decref(h);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* Every solver has name/family/summary/paper; its own page adds a params schema whose
 * properties carry defaults, and an example job body without "solver". */
static void test_solvers_listed_with_schema_and_example(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    json_t *list = it_call(&d, "GET", "/v1/solvers", NULL, 200);
    json_t *solvers = json_object_get(list, "solvers");
    assert_true(json_is_array(solvers));
    assert_true(json_array_size(solvers) >= 1);
    int has_ef21 = 0;
    size_t i;
    json_t *s;
    json_array_foreach(solvers, i, s) {
        const char *name = it_str(s, "name");
        assert_true(name[0]);
        assert_true(it_str(s, "family")[0]);
        assert_true(it_str(s, "summary")[0]);
        assert_true(it_str(s, "paper")[0]);
        if (strcmp(name, IT_EF21) == 0)
            has_ef21 = 1;

        char path[300];
        snprintf(path, sizeof path, "/v1/solvers/%s", name);
        json_t *one = it_call(&d, "GET", path, NULL, 200);
        assert_string_equal(it_str(one, "name"), name);
        json_t *params = json_object_get(one, "params");
        assert_true(json_is_object(params));
        json_t *props = json_object_get(params, "properties");
        assert_true(json_is_object(props));
        assert_true(json_object_size(props) > 0);
        const char *k;
        json_t *p;
        int with_default = 0;
        json_object_foreach(props, k, p) {
            if (json_object_get(p, "default"))
                with_default++;
        }
        if (with_default == 0)
            fail_msg("solver %s: no parameter has a default", name);
        json_t *ex = json_object_get(one, "example");
        assert_true(json_is_object(ex));
        assert_true(json_is_object(json_object_get(ex, "problem")));
        assert_null(json_object_get(ex, "solver"));
        json_decref(one);
    }
    assert_true(has_ef21);
    json_decref(list);

    it_resp r;
    it_http(&d, "GET", "/v1/solvers/no.such.solver", NULL, NULL, &r);
    it_assert_error(&r, 404, "not_found", NULL);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* Grows with the catalog: every solver's example, posted with "solver" added, is accepted and
 * ends "succeeded", with a result. */
static void test_every_example_succeeds(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    json_t *list = it_call(&d, "GET", "/v1/solvers", NULL, 200);
    json_t *solvers = json_object_get(list, "solvers");
    size_t n = json_array_size(solvers);
    char(*ids)[64] = calloc(n, sizeof *ids);
    assert_non_null(ids);
    /* Submit them all first: they run two at a time. */
    for (size_t i = 0; i < n; i++) {
        const char *name = it_str(json_array_get(solvers, i), "name");
        char *body = it_body_example(&d, name, NULL);
        json_t *j = it_submit(&d, body, ids[i]);
        assert_string_equal(it_str(j, "solver"), name);
        json_decref(j);
        free(body);
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = it_str(json_array_get(solvers, i), "name");
        fprintf(stderr, "[catalog] waiting for the example of %s (job %s)\n", name, ids[i]);
        json_t *j = it_wait_for_status(&d, ids[i], "succeeded", 60);
        assert_true(json_is_null(json_object_get(j, "error")));
        json_decref(j);
        char path[200];
        snprintf(path, sizeof path, "/v1/jobs/%s/result", ids[i]);
        json_t *res = it_call(&d, "GET", path, NULL, 200);
        assert_true(json_is_object(res));
        assert_true(json_object_size(res) > 0);
        long iterations = (long)json_number_value(json_object_get(res, "iterations"));
        json_decref(res);
        /* The stored trace draws a curve: the replayed stream of the finished job holds at
         * least 20 progress events, or one per iteration for a method that converges in fewer
         * (eal_sketch's Newton steps), since server/workers.c keeps the first 32 reports and a
         * log-spaced subsample whatever the time throttle. */
        it_stream st;
        snprintf(path, sizeof path, "/v1/jobs/%s/events", ids[i]);
        assert_int_equal(it_sse(&d, path, NULL, 30, it_stop_on_type, (void *)"result", &st), 0);
        size_t progress = 0;
        for (size_t k = 0; k < st.n; k++)
            progress += strcmp(st.ev[k].type, "progress") == 0;
        fprintf(stderr, "[catalog] %s: %zu progress events stored\n", name, progress);
        if (progress < 20 && (long)progress < iterations)
            fail_msg("%s: its example stored %zu progress events; a curve needs 20", name,
                     progress);
        it_stream_free(&st);
    }
    free(ids);
    json_decref(list);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* The value of the sample named exactly name (labels included) in a /metrics body, or -1. */
static double sample(const char *body, const char *name)
{
    size_t nl = strlen(name);
    for (const char *l = body; l && *l;) {
        if (strncmp(l, name, nl) == 0 && l[nl] == ' ')
            return strtod(l + nl + 1, NULL);
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    return -1;
}

static char *scrape(const it_daemon *d)
{
    it_resp r;
    it_http(d, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    char *body = strdup(r.body);
    it_resp_free(&r);
    return body;
}

/* Every `_sum` has its `_count` in the same summary, and the counts are what they count. */
static void assert_summaries(const char *body)
{
    int sums = 0;
    for (const char *l = body; l && *l;) {
        const char *end = l + strcspn(l, " {\n");
        if (*l != '#' && end - l > 4 && strncmp(end - 4, "_sum", 4) == 0) {
            char base[128], want[160];
            snprintf(base, sizeof base, "%.*s", (int)(end - l - 4), l);
            snprintf(want, sizeof want, "# TYPE %s summary\n", base);
            if (!strstr(body, want))
                fail_msg("%s_sum is not part of a summary (no \"%s\")", base, want);
            snprintf(want, sizeof want, "%s_count", base);
            if (sample(body, want) < 0)
                fail_msg("%s_sum has no %s", base, want);
            sums++;
        }
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    assert_true(sums >= 2);
    double answered = 0;
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    for (int i = 0; i < 6; i++) {
        char name[64];
        snprintf(name, sizeof name, "solvd_http_requests_total{code=\"%s\"}", classes[i]);
        answered += sample(body, name);
    }
    assert_true(sample(body, "solvd_http_request_seconds_count") == answered);
    assert_true(sample(body, "solvd_store_commit_seconds_count") ==
                sample(body, "solvd_store_batches_total"));
}

#define EF21_JOBS(state) "solvd_jobs{solver=\"distributed.ef21\",state=\"" state "\"}"
#define EF21_FINISHED(status) \
    "solvd_jobs_finished_total{solver=\"distributed.ef21\",status=\"" status "\"}"

static void test_metrics(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    it_resp r;
    it_http(&d, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    char ct[128];
    assert_non_null(it_resp_header(&r, "Content-Type", ct, sizeof ct));
    assert_int_equal(strncmp(ct, "text/plain", 10), 0);
    assert_non_null(strstr(r.body, "# TYPE solvd_jobs_submitted_total counter"));
    it_resp_free(&r);
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == 0);

    char *body = it_body_example(&d, IT_EF21, NULL);
    char id[64];
    json_decref(it_submit(&d, body, id));
    free(body);
    /* Counted when the job is acknowledged, so already visible. */
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == 1);
    json_decref(it_wait_for_status(&d, id, "succeeded", 60));
    assert_int_equal(it_wait_metric(&d, EF21_FINISHED("succeeded"), 1, 5), 0);
    char *m = scrape(&d);
    assert_summaries(m);
    assert_true(sample(m, "solvd_http_request_seconds_count") >= 3);
    /* Every solver is listed, by state, zeros included. */
    assert_true(sample(m, "solvd_jobs_finished_total{solver=\"bilevel.bip\",status=\"failed\"}") ==
                0);
    assert_true(sample(m, "solvd_jobs{solver=\"bilevel.bip\",state=\"queued\"}") == 0);
    assert_true(sample(m, EF21_FINISHED("cancelled")) == 0);
    assert_true(sample(m, EF21_JOBS("running")) == 0);
    free(m);

    /* A long job: running, then one more queued behind two busy workers, then both cancelled. */
    char run1[64], run2[64], queued[64], path[200];
    body = it_body_long(NULL);
    json_decref(it_submit(&d, body, run1));
    json_decref(it_submit(&d, body, run2));
    json_decref(it_wait_for_status(&d, run1, "running", 30));
    json_decref(it_wait_for_status(&d, run2, "running", 30));
    json_decref(it_submit(&d, body, queued));
    free(body);
    m = scrape(&d);
    assert_true(sample(m, EF21_JOBS("running")) == 2);
    assert_true(sample(m, EF21_JOBS("queued")) == 1);
    assert_true(sample(m, "solvd_jobs_running") == 2);
    free(m);
    const char *ids[] = {queued, run1, run2};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/v1/jobs/%s/cancel", ids[i]);
        it_resp r2;
        it_http(&d, "POST", path, NULL, NULL, &r2);
        assert_true(r2.status == 200 || r2.status == 202);
        it_resp_free(&r2);
    }
    for (int i = 0; i < 3; i++)
        json_decref(it_wait_for_status(&d, ids[i], "cancelled", 30));
    assert_int_equal(it_wait_metric(&d, EF21_FINISHED("cancelled"), 3, 5), 0);
    m = scrape(&d);
    assert_true(sample(m, EF21_JOBS("running")) == 0);
    assert_true(sample(m, EF21_JOBS("queued")) == 0);
    assert_true(sample(m, EF21_FINISHED("succeeded")) == 1);
    assert_summaries(m);
    free(m);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

static void test_router_errors(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    char allow[128];
    it_resp r;

    it_http(&d, "DELETE", "/v1/jobs", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(it_resp_header(&r, "Allow", allow, sizeof allow));
    assert_non_null(strstr(allow, "GET"));
    assert_non_null(strstr(allow, "POST"));
    it_assert_error(&r, 405, "method_not_allowed", NULL);

    it_http(&d, "PUT", "/healthz", "{}", NULL, &r);
    assert_non_null(it_resp_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "GET");
    it_assert_error(&r, 405, "method_not_allowed", NULL);

    it_http(&d, "GET", "/v1/jobs/abc/cancel", NULL, NULL, &r);
    assert_non_null(it_resp_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "POST");
    it_assert_error(&r, 405, "method_not_allowed", NULL);

    it_http(&d, "GET", "/v1/nothing/here", NULL, NULL, &r);
    it_assert_error(&r, 404, "not_found", NULL);
    it_http(&d, "GET", "/v2/jobs", NULL, NULL, &r);
    it_assert_error(&r, 404, "not_found", NULL);
    it_http(&d, "GET", "/v1/jobs/00000000000000000000/result", NULL, NULL, &r);
    it_assert_error(&r, 404, "not_found", NULL);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_healthz, it_teardown),
        cmocka_unit_test_teardown(test_solvers_listed_with_schema_and_example, it_teardown),
        cmocka_unit_test_teardown(test_every_example_succeeds, it_teardown),
        cmocka_unit_test_teardown(test_metrics, it_teardown),
        cmocka_unit_test_teardown(test_router_errors, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/catalog", tests, NULL, NULL);
}
