/* test_auth.c - bearer tokens and tenants: without a valid token the API answers 401 with
 * WWW-Authenticate; a tenant's jobs do not exist for another tenant (get, result, events,
 * cancel, list, idempotency keys), before and after a restart; /healthz and /metrics are open
 * (private /metrics: admin tokens only). Tokens by secret or SHA-256, roles, SIGHUP reload. */
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

static const char *const args[] = {"--tokens", "a:alice,b:bob", NULL};
static const char *const alice[] = {"Authorization: Bearer a", NULL};
static const char *const bob[] = {"Authorization: Bearer b", NULL};
/* "Authorization:" with no value makes libcurl send no such header at all. */
static const char *const nobody[] = {"Authorization:", NULL};

static void as(const it_daemon *d, const char *method, const char *path, const char *body,
               const char *const *who, it_resp *r)
{
    it_req_opts o = {who, 0, 0, 0};
    it_http(d, method, path, body, &o, r);
}

static size_t count_as(const it_daemon *d, const char *query, const char *const *who)
{
    char path[300];
    snprintf(path, sizeof path, "/v1/jobs%s", query);
    json_t *l = it_call_h(d, "GET", path, NULL, who, 200);
    size_t n = json_array_size(json_object_get(l, "jobs"));
    json_decref(l);
    return n;
}

static void assert_unauthorized(it_resp *r)
{
    char v[128];
    if (!it_resp_header(r, "WWW-Authenticate", v, sizeof v)) {
        fprintf(stderr, "status %ld: %s\n", r->status, r->body);
        it_resp_free(r);
        fail_msg("no WWW-Authenticate header");
    }
    assert_int_equal(strncmp(v, "Bearer", 6), 0);
    it_assert_error(r, 401, "unauthorized", NULL);
}

/* Everything bob may try on alice's job id is "no such job". */
static void assert_invisible_to_bob(const it_daemon *d, const char *id)
{
    static const char *const suffixes[] = {"", "/result", "/events"};
    char path[200];
    it_resp r;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/v1/jobs/%s%s", id, suffixes[i]);
        as(d, "GET", path, NULL, bob, &r);
        it_assert_error(&r, 404, "not_found", NULL);
    }
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", id);
    as(d, "POST", path, NULL, bob, &r);
    it_assert_error(&r, 404, "not_found", NULL);
}

static void test_token_required(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    snprintf(d.auth, sizeof d.auth, "%s", alice[0]);
    char *body = it_body_example(&d, IT_EF21, NULL);
    static const char *const wrong[] = {"Authorization: Bearer c", NULL};
    static const char *const basic[] = {"Authorization: Basic YTph", NULL};
    static const char *const longer[] = {"Authorization: Bearer ab", NULL};
    static const char *const shorter[] = {"Authorization: Bearer ", NULL};
    const char *const *bad[] = {nobody, wrong, basic, longer, shorter};
    it_resp r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        as(&d, "GET", "/v1/jobs", NULL, bad[i], &r);
        assert_unauthorized(&r);
        as(&d, "GET", "/v1/solvers", NULL, bad[i], &r);
        assert_unauthorized(&r);
        as(&d, "POST", "/v1/jobs", body, bad[i], &r);
        assert_unauthorized(&r);
        as(&d, "GET", "/v1/jobs/0000/events", NULL, bad[i], &r);
        assert_unauthorized(&r);
    }
    /* Nothing was stored by the refused submissions. */
    assert_int_equal(count_as(&d, "", alice), 0);
    assert_int_equal(count_as(&d, "", bob), 0);
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == 0);
    /* The operational endpoints are open. */
    as(&d, "GET", "/healthz", NULL, nobody, &r);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    as(&d, "GET", "/metrics", NULL, nobody, &r);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    /* And a valid token works. */
    char id[64];
    json_decref(it_submit_h(&d, body, alice, id));
    json_decref(it_wait_for_status(&d, id, "succeeded", 60));
    free(body);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

static void test_tenants_isolated(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    snprintf(d.auth, sizeof d.auth, "%s", alice[0]);
    char a_done[64], a_run[64], b_done[64], path[200];
    char *shortb = it_body_example(&d, IT_EF21, "{\"tags\":[\"mine\"]}");
    char *longb = it_body_long("{\"tags\":[\"mine\"]}");
    json_decref(it_submit_h(&d, shortb, alice, a_done));
    json_decref(it_submit_h(&d, longb, alice, a_run));
    json_decref(it_submit_h(&d, shortb, bob, b_done));
    json_decref(it_wait_for_status(&d, a_done, "succeeded", 60));
    json_decref(it_wait_for_status(&d, a_run, "running", 30));
    snprintf(d.auth, sizeof d.auth, "%s", bob[0]);
    json_decref(it_wait_for_status(&d, b_done, "succeeded", 60));
    d.auth[0] = 0;

    /* Bob sees none of alice's jobs, finished or running, by any route. */
    assert_invisible_to_bob(&d, a_done);
    assert_invisible_to_bob(&d, a_run);
    assert_int_equal(count_as(&d, "", bob), 1);
    assert_int_equal(count_as(&d, "?tag=mine", bob), 1);
    assert_int_equal(count_as(&d, "?status=running", bob), 0);
    assert_int_equal(count_as(&d, "", alice), 2);
    assert_int_equal(count_as(&d, "?status=running", alice), 1);
    json_t *l = it_call_h(&d, "GET", "/v1/jobs", NULL, bob, 200);
    assert_string_equal(it_str(json_array_get(json_object_get(l, "jobs"), 0), "id"), b_done);
    json_decref(l);
    /* ... and alice none of bob's. */
    snprintf(path, sizeof path, "/v1/jobs/%s", b_done);
    it_resp r;
    as(&d, "GET", path, NULL, alice, &r);
    it_assert_error(&r, 404, "not_found", NULL);

    /* Bob's cancel did not touch alice's running job. */
    snprintf(path, sizeof path, "/v1/jobs/%s", a_run);
    json_t *j = it_call_h(&d, "GET", path, NULL, alice, 200);
    assert_string_equal(it_str(j, "status"), "running");
    assert_null(json_object_get(j, "cancel_requested"));
    json_decref(j);

    /* Idempotency keys belong to a tenant: the same key is two jobs for two tenants. */
    static const char *const key_a[] = {"Authorization: Bearer a", "Idempotency-Key: same", NULL};
    static const char *const key_b[] = {"Authorization: Bearer b", "Idempotency-Key: same", NULL};
    char ia[64], ib[64];
    json_decref(it_submit_h(&d, shortb, key_a, ia));
    json_decref(it_submit_h(&d, shortb, key_b, ib));
    assert_string_not_equal(ia, ib);
    j = it_call_h(&d, "POST", "/v1/jobs", shortb, key_b, 200);
    assert_string_equal(it_str(j, "id"), ib);
    json_decref(j);
    assert_invisible_to_bob(&d, ia);

    /* Alice streams and cancels her own job. */
    snprintf(path, sizeof path, "/v1/jobs/%s/events", a_done);
    it_stream s;
    assert_int_equal(it_sse(&d, path, alice, 10, NULL, NULL, &s), 0);
    assert_int_equal(s.status, 200);
    assert_true(s.ended);
    assert_non_null(it_stream_find(&s, "result", 0));
    it_stream_free(&s);
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", a_run);
    json_decref(it_call_h(&d, "POST", path, NULL, alice, 202));
    snprintf(d.auth, sizeof d.auth, "%s", alice[0]);
    json_decref(it_wait_for_status(&d, a_run, "cancelled", 10));
    json_decref(it_wait_for_status(&d, ia, "succeeded", 60));
    snprintf(d.auth, sizeof d.auth, "%s", bob[0]);
    json_decref(it_wait_for_status(&d, ib, "succeeded", 60));
    d.auth[0] = 0;

    /* The tenant is stored with the job. */
    it_assert_clean_exit(&d);
    it_assert_restart(&d);
    assert_invisible_to_bob(&d, a_done);
    assert_invisible_to_bob(&d, a_run);
    assert_invisible_to_bob(&d, ia);
    assert_int_equal(count_as(&d, "", bob), 2);
    assert_int_equal(count_as(&d, "", alice), 3);
    free(shortb);
    free(longb);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* The scheme name is case-insensitive; spaces before the token are skipped. */
static void test_scheme_any_case(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    static const char *const lower[] = {"Authorization: bearer a", NULL};
    static const char *const upper[] = {"Authorization: BEARER  a", NULL};
    it_resp r;
    as(&d, "GET", "/v1/jobs", NULL, lower, &r);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    as(&d, "GET", "/v1/jobs", NULL, upper, &r);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* --metrics-public 0: /metrics needs an admin token (401 without a token, 403 with a user's);
 * /healthz stays open. */
static void test_metrics_private(void **state)
{
    (void)state;
    static const char *const private_args[] = {"--tokens", "a:alice,root:ops:admin",
                                               "--metrics-public", "0", NULL};
    static const char *const root[] = {"Authorization: Bearer root", NULL};
    it_daemon d;
    it_assert_start(&d, private_args);
    it_resp r;
    as(&d, "GET", "/metrics", NULL, nobody, &r);
    assert_unauthorized(&r);
    as(&d, "GET", "/metrics", NULL, alice, &r);
    it_assert_error(&r, 403, "forbidden", NULL);
    as(&d, "GET", "/metrics", NULL, root, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "solvd_jobs_submitted_total"));
    it_resp_free(&r);
    as(&d, "GET", "/healthz", NULL, nobody, &r);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* --max-queued-per-tenant 2 with one worker: alice's third queued job gets 429 with
 * Retry-After, bob (another tenant) is not affected; running jobs do not count. */
static void test_queued_quota(void **state)
{
    (void)state;
    static const char *const quota_args[] = {"--tokens", "a:alice,b:bob", "--workers", "1",
                                             "--max-queued-per-tenant", "2", NULL};
    it_daemon d;
    it_assert_start(&d, quota_args);
    snprintf(d.auth, sizeof d.auth, "%s", alice[0]);
    char *body = it_body_long(NULL);
    char run[64], q1[64], q2[64], b1[64];
    json_decref(it_submit(&d, body, run));
    json_decref(it_wait_for_status(&d, run, "running", 30));
    json_decref(it_submit(&d, body, q1));
    json_decref(it_submit(&d, body, q2));
    it_resp r;
    as(&d, "POST", "/v1/jobs", body, alice, &r);
    char ra[16];
    assert_non_null(it_resp_header(&r, "Retry-After", ra, sizeof ra));
    assert_string_equal(ra, "1");
    it_assert_error(&r, 429, "quota_exceeded", NULL);
    json_decref(it_submit_h(&d, body, bob, b1));
    free(body);
    const char *ids[] = {q1, q2, run};
    for (int i = 0; i < 3; i++) {
        char path[200];
        snprintf(path, sizeof path, "/v1/jobs/%s/cancel", ids[i]);
        it_http(&d, "POST", path, NULL, NULL, &r);
        it_resp_free(&r);
    }
    d.auth[0] = 0;
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", b1);
    as(&d, "POST", path, NULL, bob, &r);
    it_resp_free(&r);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* Tenants take turns for a worker: with one worker, alice's running job and three more of hers
 * at priority 1000 queued before bob's one at priority 0, bob's job is the next to start. */
static void test_fair_dispatch(void **state)
{
    (void)state;
    static const char *const fair_args[] = {"--tokens", "a:alice,b:bob", "--workers", "1", NULL};
    it_daemon d;
    it_assert_start(&d, fair_args);
    snprintf(d.auth, sizeof d.auth, "%s", alice[0]);
    char *body = it_body_long(NULL);
    char *high = it_body_long("{\"priority\":1000}");
    char run[64], a[3][64], b[64];
    json_decref(it_submit(&d, body, run));
    json_decref(it_wait_for_status(&d, run, "running", 30));
    for (int i = 0; i < 3; i++)
        json_decref(it_submit(&d, high, a[i]));
    json_decref(it_submit_h(&d, body, bob, b));
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%.63s/cancel", run);
    json_decref(it_call(&d, "POST", path, NULL, 202));
    snprintf(d.auth, sizeof d.auth, "%s", bob[0]);
    json_decref(it_wait_for_status(&d, b, "running", 30));
    snprintf(d.auth, sizeof d.auth, "%s", alice[0]);
    for (int i = 0; i < 3; i++) {
        json_t *j = it_get_job(&d, a[i]);
        assert_string_equal(it_str(j, "status"), "queued");
        json_decref(j);
    }
    it_resp r;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/v1/jobs/%.63s/cancel", a[i]);
        it_http(&d, "POST", path, NULL, NULL, &r);
        it_resp_free(&r);
    }
    snprintf(path, sizeof path, "/v1/jobs/%.63s/cancel", b);
    as(&d, "POST", path, NULL, bob, &r);
    it_resp_free(&r);
    free(body);
    free(high);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* Start-up with a bad token configuration: exit status 1 with the reason, no store opened. */
static void expect_refused(char *const *argv, const char *msg)
{
    it_proc p;
    int rc = it_proc_run(argv, NULL, NULL, 20, &p);
    if (rc != 1 || !strstr(p.err, msg))
        fprintf(stderr, "[auth] exit %d, stderr:\n%s\n", rc, p.err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(p.err, msg));
    assert_null(strstr(p.err, "solvd ready"));
    it_proc_free(&p);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A token listed twice (one tenant's token remapped to another's), a tokens file of comments
 * only (auth would silently be off) refuse to start; a byte order mark is ignored. */
/* A tokens file of TOKEN TENANT [ROLE] lines: alice listed by the SHA-256 of her secret, bob by
 * his secret, ops as admin. An admin lists, reads and cancels every tenant's jobs; a user sees
 * only its own. SIGHUP reads the file again: a token added works, one removed is refused, and a
 * file that does not load leaves the tokens in force. */
static void test_roles_hashes_and_reload(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, NULL);
    it_daemon_stop(&d, 20);
    char file[400];
    snprintf(file, sizeof file, "%s/tokens", d.dir);
    /* alice by sha256("alice-secret"), as `printf alice-secret | sha256sum` prints it. */
    write_file(file, "sha256:0c848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a120269572376"
                     " alice\nbob-secret bob user\nops-secret ops admin\n");
    static const char *const al[] = {"Authorization: Bearer alice-secret", NULL};
    static const char *const hash_as_secret[] = {
        "Authorization: Bearer "
        "sha256:0c848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a120269572376", NULL};
    static const char *const bo[] = {"Authorization: Bearer bob-secret", NULL};
    static const char *const ops[] = {"Authorization: Bearer ops-secret", NULL};
    static const char *const carol[] = {"Authorization: Bearer carol-secret", NULL};
    const char *const with_file[] = {"--tokens-file", file, NULL};
    it_daemon e;
    it_assert_start(&e, with_file);
    char *body = it_body_long(NULL);
    char aid[64], bid[64], path[200];
    json_decref(it_submit_h(&e, body, al, aid));
    json_decref(it_submit_h(&e, body, bo, bid));
    free(body);
    it_resp r;
    as(&e, "GET", "/v1/jobs", NULL, hash_as_secret, &r);   /* the digest is not the secret */
    assert_unauthorized(&r);
    assert_int_equal(count_as(&e, "", al), 1);
    assert_int_equal(count_as(&e, "", bo), 1);
    assert_int_equal(count_as(&e, "", ops), 2);   /* admin: every tenant's */
    snprintf(path, sizeof path, "/v1/jobs/%s", aid);
    json_decref(it_call_h(&e, "GET", path, NULL, ops, 200));
    as(&e, "GET", path, NULL, bo, &r);
    it_assert_error(&r, 404, "not_found", NULL);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/v1/jobs/%s/cancel", i ? bid : aid);
        as(&e, "POST", path, NULL, ops, &r);
        assert_true(r.status == 200 || r.status == 202);
        it_resp_free(&r);
    }
    /* SIGHUP: carol in, bob out. */
    write_file(file, "sha256:0c848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a120269572376"
                     " alice\ncarol-secret carol\n");
    kill(e.pid, SIGHUP);
    double t0 = it_now();
    while (!it_daemon_log_contains(&e, "tokens reloaded") && it_now() - t0 < 10)
        it_sleep(0.05);
    assert_true(it_daemon_log_contains(&e, "tokens reloaded"));
    assert_int_equal(count_as(&e, "", carol), 0);
    as(&e, "GET", "/v1/jobs", NULL, bo, &r);
    assert_unauthorized(&r);
    /* A file that does not load (a bad role) changes nothing. */
    write_file(file, "dave-secret dave superuser\n");
    kill(e.pid, SIGHUP);
    t0 = it_now();
    while (!it_daemon_log_contains(&e, "tokens not reloaded") && it_now() - t0 < 10)
        it_sleep(0.05);
    assert_true(it_daemon_log_contains(&e, "tokens not reloaded"));
    assert_int_equal(count_as(&e, "", carol), 0);
    assert_int_equal(count_as(&e, "", al), 1);
    it_assert_clean_exit(&e);
    it_daemon_destroy(&e);
    it_daemon_destroy(&d);
}

static void test_token_configuration(void **state)
{
    (void)state;
    char dir[] = "/tmp/solvd-auth-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[96], file[96];
    snprintf(db, sizeof db, "%s/solvd.db", dir);
    snprintf(file, sizeof file, "%s/tokens", dir);
    char *twice[] = {SOLVD_BIN, "--listen", "127.0.0.1:0", "--db", db, "--tokens",
                     "a:alice,a:bob", NULL};
    expect_refused(twice, "a token is listed twice in --tokens");
    write_file(file, "# alice\nt1 alice\nt1 bob\n");
    char *from_file[] = {SOLVD_BIN, "--listen", "127.0.0.1:0", "--db", db, "--tokens-file", file,
                         NULL};
    expect_refused(from_file, "a token is listed twice in the tokens file");
    write_file(file, "# nobody yet\n\n");
    expect_refused(from_file, "the tokens file holds no token");
    unlink(file);
    unlink(db);
    rmdir(dir);

    /* A BOM before the first token: the token is "t1", not "\xEF\xBB\xBFt1". */
    it_daemon d;
    it_assert_start(&d, NULL);
    it_daemon_stop(&d, 20);
    char bom[400];
    snprintf(bom, sizeof bom, "%s/tokens", d.dir);
    write_file(bom, "\xEF\xBB\xBFt1 alice\n");
    static const char *const t1[] = {"Authorization: Bearer t1", NULL};
    const char *const with_file[] = {"--tokens-file", bom, NULL};
    it_daemon e;
    it_assert_start(&e, with_file);
    it_resp r;
    as(&e, "GET", "/v1/jobs", NULL, t1, &r);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    it_assert_clean_exit(&e);
    it_daemon_destroy(&e);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_token_required, it_teardown),
        cmocka_unit_test_teardown(test_tenants_isolated, it_teardown),
        cmocka_unit_test_teardown(test_scheme_any_case, it_teardown),
        cmocka_unit_test_teardown(test_metrics_private, it_teardown),
        cmocka_unit_test_teardown(test_roles_hashes_and_reload, it_teardown),
        cmocka_unit_test_teardown(test_queued_quota, it_teardown),
        cmocka_unit_test_teardown(test_fair_dispatch, it_teardown),
        cmocka_unit_test_teardown(test_token_configuration, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/auth", tests, NULL, NULL);
}
