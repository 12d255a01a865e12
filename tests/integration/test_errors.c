/* test_errors.c - every class of bad submission gets its 4xx and a JSON error that names the
 * offending field, and none of them stores or changes anything: the job list, each stored job
 * and its result read the same before and after, and again after a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

#define MAX_BODY 16384
#define MAX_DIM 100

static const char *const args[] = {"--workers",       "2",  "--max-body-bytes", "16384",
                                   "--max-dim",       "100", "--max-job-seconds", "60", NULL};

#define GEN "{\"generate\":{\"clients\":2,\"rows_per_client\":10,\"dim\":5,\"seed\":1}}"
#define OK_HEAD "{\"solver\":\"distributed.ef21\",\"problem\":" GEN
/* A valid body with one more top-level member. */
#define WITH(member) OK_HEAD "," member "}"
/* A valid body with another problem. */
#define PROBLEM(p) "{\"solver\":\"distributed.ef21\",\"problem\":" p "}"
#define CLIENT(A, b) PROBLEM("{\"clients\":[{\"A\":" A ",\"b\":" b "}]}")

typedef struct {
    const char *what;
    const char *body;
    long status;
    const char *code;
    const char *path;   /* NULL: no path */
} bad_case;

static const bad_case cases[] = {
    /* The body is not a JSON object at all. */
    {"truncated JSON", OK_HEAD ",\"params\":{", 400, "bad_json", NULL},
    {"not JSON", "solve this please", 400, "bad_json", NULL},
    {"duplicate key", OK_HEAD ",\"solver\":\"distributed.ef21\"}", 400, "bad_json", NULL},
    {"array body", "[1,2,3]", 422, "invalid", NULL},
    {"invalid UTF-8 in a string", WITH("\"tags\":[\"\xff\xfe\"]"), 400, "bad_json", NULL},
    {"overlong UTF-8", WITH("\"tags\":[\"\xc0\xaf\"]"), 400, "bad_json", NULL},
    {"integer beyond 64 bits", PROBLEM("{\"generate\":{\"clients\":99999999999999999999,"
                                       "\"rows_per_client\":10,\"dim\":5}}"),
     400, "bad_json", NULL},
    {"real beyond double", WITH("\"params\":{\"tol\":1e999}"), 400, "bad_json", NULL},
    {"nesting past the parser's depth", NULL, 400, "bad_json", NULL},  /* built in the test */
    /* The envelope. */
    {"unknown solver", "{\"solver\":\"no.such\",\"problem\":" GEN "}", 422, "unknown_solver",
     "/solver"},
    {"missing solver", "{\"problem\":" GEN "}", 422, "invalid", "/solver"},
    {"solver not a string", "{\"solver\":21,\"problem\":" GEN "}", 422, "invalid", "/solver"},
    {"missing problem", "{\"solver\":\"distributed.ef21\"}", 422, "invalid", "/problem"},
    {"problem not an object", PROBLEM("[1,2]"), 422, "invalid", "/problem"},
    {"unknown top-level field", WITH("\"colour\":\"red\""), 422, "invalid", "/colour"},
    /* Inside the problem. */
    {"no problem form", PROBLEM("{}"), 422, "invalid", "/problem"},
    {"unknown problem field", PROBLEM("{\"generate\":{\"clients\":2,\"rows_per_client\":10,"
                                      "\"dim\":5,\"flavour\":1}}"),
     422, "invalid", "/problem/generate/flavour"},
    {"dim not a number", PROBLEM("{\"generate\":{\"clients\":2,\"rows_per_client\":10,"
                                 "\"dim\":\"five\"}}"),
     422, "invalid", "/problem/generate/dim"},
    {"b shorter than A", CLIENT("[[1,2],[3,4],[5,6]]", "[1,2]"), 422, "invalid",
     "/problem/clients/0/b"},
    {"ragged matrix", CLIENT("[[1,2],[3]]", "[1,2]"), 422, "invalid", "/problem/clients/0/A/1"},
    {"string in a matrix", CLIENT("[[1,2],[3,\"4\"]]", "[1,2]"), 422, "invalid",
     "/problem/clients/0/A/1/1"},
    {"NaN in a matrix", CLIENT("[[1,2],[3,NaN]]", "[1,2]"), 422, "invalid",
     "/problem/clients/0/A/1/1"},
    {"Infinity in a vector", CLIENT("[[1,2],[3,4]]", "[1,Infinity]"), 422, "invalid",
     "/problem/clients/0/b/1"},
    {"-Infinity in a matrix", CLIENT("[[-Infinity,2],[3,4]]", "[1,2]"), 422, "invalid",
     "/problem/clients/0/A/0/0"},
    {"dim over --max-dim", PROBLEM("{\"generate\":{\"clients\":2,\"rows_per_client\":10,"
                                   "\"dim\":101}}"),
     422, "invalid", "/problem/generate/dim"},
    {"clients over --max-dim", PROBLEM("{\"generate\":{\"clients\":101,\"rows_per_client\":10,"
                                       "\"dim\":5}}"),
     422, "invalid", "/problem/generate/clients"},
    /* Params. */
    {"params not an object", WITH("\"params\":[1]"), 422, "invalid", "/params"},
    {"unknown param", WITH("\"params\":{\"speed\":11}"), 422, "invalid", "/params/speed"},
    {"param out of range", WITH("\"params\":{\"k\":0}"), 422, "invalid", "/params/k"},
    {"negative max_iter", WITH("\"params\":{\"max_iter\":-1}"), 422, "invalid",
     "/params/max_iter"},
    {"param of the wrong type", WITH("\"params\":{\"tol\":\"small\"}"), 422, "invalid",
     "/params/tol"},
    {"param not in its enum", WITH("\"params\":{\"variant\":\"ef22\"}"), 422, "invalid",
     "/params/variant"},
    {"NaN param", WITH("\"params\":{\"tol\":NaN}"), 422, "invalid", "/params/tol"},
    /* Priority, time limit, tags. */
    {"priority too high", WITH("\"priority\":5000"), 422, "invalid", "/priority"},
    {"priority a string", WITH("\"priority\":\"high\""), 422, "invalid", "/priority"},
    {"priority fractional", WITH("\"priority\":1.5"), 422, "invalid", "/priority"},
    {"negative time limit", WITH("\"time_limit_s\":-1"), 422, "invalid", "/time_limit_s"},
    {"zero time limit", WITH("\"time_limit_s\":0"), 422, "invalid", "/time_limit_s"},
    {"time limit a string", WITH("\"time_limit_s\":\"soon\""), 422, "invalid", "/time_limit_s"},
    {"time limit over --max-job-seconds", WITH("\"time_limit_s\":61"), 422, "invalid",
     "/time_limit_s"},
    {"tags not an array", WITH("\"tags\":\"x\""), 422, "invalid", "/tags"},
    {"tag not a string", WITH("\"tags\":[\"a\",1]"), 422, "invalid", "/tags/1"},
    {"empty tag", WITH("\"tags\":[\"\"]"), 422, "invalid", "/tags/0"},
    {"too many tags",
     WITH("\"tags\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\","
          "\"13\",\"14\",\"15\",\"16\",\"17\",\"18\",\"19\",\"20\",\"21\",\"22\",\"23\",\"24\","
          "\"25\",\"26\",\"27\",\"28\",\"29\",\"30\",\"31\",\"32\",\"33\"]"),
     422, "invalid", "/tags"},
};

/* What the API shows of the store: the list, and each job with its result. */
static json_t *snapshot(const it_daemon *d)
{
    json_t *snap = json_object();
    json_t *list = it_call(d, "GET", "/v1/jobs?limit=500", NULL, 200);
    json_t *jobs = json_object_get(list, "jobs");
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j) {
        char path[200];
        const char *id = it_str(j, "id");
        snprintf(path, sizeof path, "/v1/jobs/%s", id);
        json_t *one = it_call(d, "GET", path, NULL, 200);
        snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
        it_resp r;
        it_http(d, "GET", path, NULL, NULL, &r);
        json_object_set_new(one, "full_result", r.json ? json_incref(r.json) : json_null());
        json_object_set_new(one, "result_status", json_integer(r.status));
        it_resp_free(&r);
        json_object_set_new(snap, id, one);
    }
    json_object_set_new(snap, "list", list);
    return snap;
}

static void assert_unchanged(const it_daemon *d, json_t *before)
{
    json_t *after = snapshot(d);
    if (!json_equal(before, after)) {
        char *a = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
        char *b = json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "before: %.3000s\nafter:  %.3000s\n", a, b);
        free(a);
        free(b);
        json_decref(after);
        fail_msg("the stored jobs changed");
    }
    json_decref(after);
}

/* A valid job body padded with whitespace to n bytes: only its size is wrong. */
static char *padded_body(size_t n)
{
    const char *base = OK_HEAD ",\"params\":{\"max_iter\":1000},\"tags\":[\"big\"]}";
    char *s = malloc(n + 1);
    assert_non_null(s);
    size_t bl = strlen(base);
    memcpy(s, base, bl);
    memset(s + bl, ' ', n - bl);
    s[n] = 0;
    return s;
}

static void test_bad_requests_store_nothing(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);

    /* Jobs stored before: two that succeeded, one cancelled while running. */
    char ok1[64], ok2[64], cancelled[64], path[200];
    char *body = it_body_example(&d, IT_EF21, "{\"tags\":[\"before\"]}");
    json_decref(it_submit(&d, body, ok1));
    json_decref(it_submit(&d, body, ok2));
    free(body);
    body = it_body_long("{\"tags\":[\"before\"],\"time_limit_s\":30}");
    json_decref(it_submit(&d, body, cancelled));
    free(body);
    json_decref(it_wait_for_status(&d, ok1, "succeeded", 60));
    json_decref(it_wait_for_status(&d, ok2, "succeeded", 60));
    json_decref(it_wait_for_status(&d, cancelled, "running", 30));
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", cancelled);
    json_decref(it_call(&d, "POST", path, NULL, 202));
    json_decref(it_wait_for_status(&d, cancelled, "cancelled", 30));

    json_t *before = snapshot(&d);
    assert_int_equal(json_array_size(json_object_get(json_object_get(before, "list"), "jobs")),
                     3);
    double submitted = it_metric(&d, "solvd_jobs_submitted_total");
    assert_true(submitted == 3);

    it_resp r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        fprintf(stderr, "[errors] %s\n", c->what);
        char *deep = NULL;
        if (!c->body) {
            /* 3000 nested arrays in a param: past jansson's parsing depth (2048). */
            enum { DEPTH = 3000 };
            const char *head = OK_HEAD ",\"params\":{\"tol\":";
            size_t hl = strlen(head);
            deep = malloc(hl + 2 * DEPTH + 3);
            assert_non_null(deep);
            memcpy(deep, head, hl);
            memset(deep + hl, '[', DEPTH);
            memset(deep + hl + DEPTH, ']', DEPTH);
            memcpy(deep + hl + 2 * DEPTH, "}}", 3);
        }
        it_http(&d, "POST", "/v1/jobs", deep ? deep : c->body, NULL, &r);
        it_assert_error(&r, c->status, c->code, c->path);
        free(deep);
    }

    /* No body, and a body that says it is not JSON. */
    it_http(&d, "POST", "/v1/jobs", NULL, NULL, &r);
    it_assert_error(&r, 400, "bad_json", NULL);
    const char *html[] = {"Content-Type: text/html", NULL};
    it_req_opts o = {html, 0, 0, 0};
    body = it_body_example(&d, IT_EF21, NULL);
    it_http(&d, "POST", "/v1/jobs", body, &o, &r);
    it_assert_error(&r, 415, "unsupported_media_type", NULL);
    free(body);

    /* Over --max-body-bytes: with Content-Length (refused before the body is read, with and
     * without Expect: 100-continue) and with chunked transfer (counted while it arrives). */
    char *big = padded_body(MAX_BODY + 1);
    it_http(&d, "POST", "/v1/jobs", big, NULL, &r);
    it_assert_error(&r, 413, "payload_too_large", NULL);
    const char *expect[] = {"Expect: 100-continue", NULL};
    it_req_opts oe = {expect, 0, 0, 0};
    it_http(&d, "POST", "/v1/jobs", big, &oe, &r);
    it_assert_error(&r, 413, "payload_too_large", NULL);
    it_req_opts oc = {NULL, 1, 0, 0};
    it_http(&d, "POST", "/v1/jobs", big, &oc, &r);
    it_assert_error(&r, 413, "payload_too_large", NULL);
    free(big);
    big = padded_body(4 * MAX_BODY);
    it_http(&d, "POST", "/v1/jobs", big, &oc, &r);
    it_assert_error(&r, 413, "payload_too_large", NULL);
    free(big);
    /* The daemon is still well, and nothing changed: not the list, not a job, not a result,
     * and not after a restart either. */
    json_decref(it_call(&d, "GET", "/healthz", NULL, 200));
    assert_unchanged(&d, before);
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == submitted);
    it_assert_clean_exit(&d);
    it_assert_restart(&d);
    assert_unchanged(&d, before);
    json_decref(before);

    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* The same bad requests against a daemon with no jobs at all: the list stays empty, before and
 * after a restart. */
static void test_bad_requests_on_empty_store(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    json_t *before = snapshot(&d);
    it_resp r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        it_http(&d, "POST", "/v1/jobs", cases[i].body, NULL, &r);
        it_assert_error(&r, cases[i].status, cases[i].code, cases[i].path);
    }
    char *big = padded_body(2 * MAX_BODY);
    it_req_opts oc = {NULL, 1, 0, 0};
    it_http(&d, "POST", "/v1/jobs", big, &oc, &r);
    it_assert_error(&r, 413, "payload_too_large", NULL);
    it_http(&d, "POST", "/v1/jobs", big, NULL, &r);
    it_assert_error(&r, 413, "payload_too_large", NULL);
    free(big);
    assert_unchanged(&d, before);
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == 0);
    it_assert_clean_exit(&d);
    it_assert_restart(&d);
    assert_unchanged(&d, before);
    json_decref(before);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* The control of the 413 cases: a valid body just under --max-body-bytes is accepted, sent
 * with Content-Length or chunked, every time, promptly. It guards the writer's wake-up: a body that takes MHD more than one pass reaches the handler
 * from MHD_run in the uv_timer callback, and its writes must still commit without waiting for an
 * unrelated event to wake the loop. */
static void test_body_under_limit_accepted_promptly(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    char *big = padded_body(MAX_BODY - 16);
    it_req_opts plain = {NULL, 0, 0, 5.0};
    it_req_opts chunked = {NULL, 1, 0, 5.0};
    char ids[6][64];
    for (int i = 0; i < 6; i++) {
        it_resp r;
        it_http(&d, "POST", "/v1/jobs", big, i % 2 ? &chunked : &plain, &r);
        if (r.status != 201) {
            fprintf(stderr, "[errors] request %d (%s): curl %d, status %ld\n", i,
                    i % 2 ? "chunked" : "Content-Length", r.curl_rc, r.status);
            it_resp_free(&r);
            free(big);
            it_daemon_dump_log(&d);
            fail_msg("a valid %d-byte body was not acknowledged within 5 s", MAX_BODY - 16);
        }
        snprintf(ids[i], sizeof ids[i], "%s", it_str(r.json, "id"));
        it_resp_free(&r);
    }
    free(big);
    for (int i = 0; i < 6; i++)
        json_decref(it_wait_for_status(&d, ids[i], "succeeded", 60));
    json_t *list = it_call(&d, "GET", "/v1/jobs?tag=big", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "jobs")), 6);
    json_decref(list);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* A clone runs the named data sets with no --data-dir: the default is data/ of the source tree
 * (the folder the repository ships; the harness passes no --data-dir). A data-dir without the file, or an empty
 * one, refuses the same job at validation with the path of the name. */
#define DATASET_JOB                                                                              \
    "{\"solver\":\"distributed.ef21\",\"problem\":{\"dataset\":{\"name\":\"breast_cancer\","    \
    "\"clients\":4,\"seed\":1,\"loss\":\"logistic\",\"lambda\":0.01}},\"params\":{\"max_iter\":50}}"

static void test_dataset_default_dir(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    char id[64];
    json_decref(it_submit(&d, DATASET_JOB, id));
    json_t *j = it_wait_for_status(&d, id, "succeeded", 60);
    json_decref(j);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    json_t *res = it_call(&d, "GET", path, NULL, 200);
    /* breast_cancer has 30 features: the logistic model's weights. */
    assert_int_equal(json_array_size(json_object_get(res, "x")), 30);
    json_decref(res);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);

    static const char *const missing[] = {"--data-dir", "/nonexistent", NULL};
    it_assert_start(&d, missing);
    it_resp r;
    it_http(&d, "POST", "/v1/jobs", DATASET_JOB, NULL, &r);
    assert_non_null(strstr(r.body, "is not installed on this server"));
    it_assert_error(&r, 422, "invalid", "/problem/dataset/name");
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);

    static const char *const none[] = {"--data-dir", "", NULL};
    it_assert_start(&d, none);
    it_http(&d, "POST", "/v1/jobs", DATASET_JOB, NULL, &r);
    assert_non_null(strstr(r.body, "no data directory configured"));
    it_assert_error(&r, 422, "invalid", "/problem/dataset/name");
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* A request head too large or malformed for the HTTP layer: libmicrohttpd answers it itself,
 * before any handler runs (414 for a request line past its memory limit, 431 for headers past
 * it, 400 for a header line without a colon), with its own short HTML body (docs/api.md says
 * so: it has no hook for those answers). The daemon goes on answering, nothing is stored. */
static void test_oversized_request_head(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    char *pad = malloc(100001);
    assert_non_null(pad);
    memset(pad, 'a', 100000);
    pad[100000] = 0;
    char *url = malloc(100100);
    assert_non_null(url);
    snprintf(url, 100100, "/v1/jobs?x=%.40000s", pad);
    it_resp r;
    it_http(&d, "GET", url, NULL, NULL, &r);
    assert_int_equal(r.status, 414);
    it_resp_free(&r);
    char *hdr = malloc(100100);
    assert_non_null(hdr);
    snprintf(hdr, 100100, "X-Big: %s", pad);
    const char *const big[] = {hdr, NULL};
    it_req_opts o = {big, 0, 0, 0};
    char *body = it_body_example(&d, IT_EF21, NULL);
    it_http(&d, "POST", "/v1/jobs", body, &o, &r);
    assert_int_equal(r.status, 431);
    it_resp_free(&r);
    free(body);
    free(hdr);
    free(url);
    free(pad);
    json_decref(it_call(&d, "GET", "/healthz", NULL, 200));
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == 0);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* Hostile header and path bytes: an Idempotency-Key with a control character or a non-ASCII
 * byte is refused (400, nothing stored); "%00" in a path is not decoded into a NUL that would
 * cut it ("/ui/index.html%00.js" served index.html), so it names nothing (404). */
static void test_hostile_bytes(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    char *body = it_body_example(&d, IT_EF21, NULL);
    static const char *const tab[] = {"Idempotency-Key: a\tb", NULL};
    static const char *const utf8[] = {"Idempotency-Key: caf\xc3\xa9", NULL};
    const char *const *keys[] = {tab, utf8};
    for (int i = 0; i < 2; i++) {
        it_resp r;
        it_req_opts o = {keys[i], 0, 0, 0};
        it_http(&d, "POST", "/v1/jobs", body, &o, &r);
        assert_non_null(strstr(r.body, "printable ASCII"));
        it_assert_error(&r, 400, "bad_request", NULL);
    }
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == 0);
    free(body);
    it_resp r;
    it_http(&d, "GET", "/ui/index.html%00.js", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    it_resp_free(&r);
    it_http(&d, "GET", "/v1/solvers/distributed.ef21%00x", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    it_resp_free(&r);
    it_http(&d, "GET", "/ui/index%2Ehtml", NULL, NULL, &r);  /* other escapes still decode */
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

typedef struct {
    const it_daemon *d;
    const char *body;
    long status;
} post_arg;

static void *post_one(void *arg)
{
    post_arg *a = arg;
    it_resp r;
    /* A 20 MB body under ASan on a loaded machine takes well over the default 10 s. */
    it_req_opts o = {.timeout_s = 120};
    it_http(a->d, "POST", "/v1/jobs", a->body, &o, &r);
    a->status = r.status;
    it_resp_free(&r);
    return NULL;
}

/* --max-parse-bytes 1024. Eight bodies of about 900 bytes sent at once are all accepted and
 * nothing is left waiting (whether or not they overlapped). Then the budget at work: while a
 * 20 MB job is being parsed (seen in solvd_submissions_parsing_bytes), a small one sent meanwhile
 * waits (solvd_submissions_waiting = 1) instead of being parsed beside it, and both are
 * accepted once the large one is through. */
static void test_parse_budget(void **state)
{
    (void)state;
    static const char *const budget[] = {"--max-parse-bytes", "1024", NULL};
    it_daemon d;
    it_assert_start(&d, budget);
    /* A valid job made long by 14 tags of 60 characters. */
    char body[1024];
    int n = snprintf(body, sizeof body, "%s", OK_HEAD ",\"tags\":[");
    for (int t = 0; t < 14; t++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s\"%060d\"", t ? "," : "", t);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    assert_true(strlen(body) > 900 && strlen(body) < 1024);
    pthread_t th[8];
    post_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (post_arg){&d, body, 0};
        assert_int_equal(pthread_create(&th[i], NULL, post_one, &a[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].status, 201);
    }
    assert_true(it_metric(&d, "solvd_submissions_waiting") == 0);
    assert_true(it_metric(&d, "solvd_submissions_parsing_bytes") == 0);
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == 8);

    /* One client, A 2000 x 1000: 2e6 numbers, about 20 MB of JSON. */
    size_t cap = 24u << 20;
    char *big = malloc(cap);
    assert_non_null(big);
    size_t len = (size_t)snprintf(big, cap, "{\"solver\":\"distributed.ef21\",\"problem\":{"
                                  "\"clients\":[{\"A\":[");
    for (int i = 0; i < 2000; i++) {
        big[len++] = i ? ',' : '[';
        if (i)
            big[len++] = '[';
        for (int j = 0; j < 1000; j++)
            len += (size_t)snprintf(big + len, cap - len, "%s%.6f", j ? "," : "",
                                    ((i * 7 + j * 13) % 97) / 97.0);
        big[len++] = ']';
    }
    len += (size_t)snprintf(big + len, cap - len, "],\"b\":[");
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(big + len, cap - len, "%s%d", i ? "," : "", i % 3);
    snprintf(big + len, cap - len, "]}]},\"params\":{\"max_iter\":1,\"k\":1}}");
    assert_true(strlen(big) > (16u << 20));
    /* Under load the large parse may end before the small one is even sent: such a round
     * shows nothing either way and is run again; one round must see the small one wait. */
    int seen_waiting = 0;
    for (int round = 0; round < 5 && !seen_waiting; round++) {
        post_arg large = {&d, big, 0}, small = {&d, body, 0};
        pthread_t tl, ts;
        assert_int_equal(pthread_create(&tl, NULL, post_one, &large), 0);
        double t0 = it_now();
        while (it_metric(&d, "solvd_submissions_parsing_bytes") <= 0 && large.status == 0 &&
               it_now() - t0 < 60)
            it_sleep(0.002);
        if (large.status != 0) {
            pthread_join(tl, NULL);
            assert_int_equal(large.status, 201);
            continue;
        }
        assert_true(it_metric(&d, "solvd_submissions_parsing_bytes") > (16u << 20) ||
                    large.status != 0);
        assert_int_equal(pthread_create(&ts, NULL, post_one, &small), 0);
        t0 = it_now();
        double waiting = 0;
        while ((waiting = it_metric(&d, "solvd_submissions_waiting")) < 1 && large.status == 0 &&
               it_now() - t0 < 60)
            it_sleep(0.001);
        if (waiting == 1)
            seen_waiting = 1;
        pthread_join(tl, NULL);
        pthread_join(ts, NULL);
        assert_int_equal(large.status, 201);
        assert_int_equal(small.status, 201);
    }
    assert_true(seen_waiting);
    assert_true(it_metric(&d, "solvd_submissions_waiting") == 0);
    free(big);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bad_requests_store_nothing, it_teardown),
        cmocka_unit_test_teardown(test_bad_requests_on_empty_store, it_teardown),
        cmocka_unit_test_teardown(test_body_under_limit_accepted_promptly, it_teardown),
        cmocka_unit_test_teardown(test_dataset_default_dir, it_teardown),
        cmocka_unit_test_teardown(test_oversized_request_head, it_teardown),
        cmocka_unit_test_teardown(test_hostile_bytes, it_teardown),
        cmocka_unit_test_teardown(test_parse_budget, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/errors", tests, NULL, NULL);
}
