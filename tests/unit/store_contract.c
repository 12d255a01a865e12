/* store_contract.c - the store contract (store_contract.h): what every backend must do, written
 * against store.h alone, so that a PostgreSQL runner reuses it unchanged. Every test gets a
 * fresh store from the runner's harness. Node names are free-form strings here ("n1", "n2"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_contract.h"

static const sv_store_harness *H;   /* the backend under test, for the fixtures */

typedef struct {
    void *ctx;
    sv_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (H->open_fresh(&f->ctx, &f->s) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_store_close(f->s);
    H->destroy(f->ctx);
    free(f);
    return 0;
}

static void reopen(fixture *f)
{
    assert_int_equal(H->reopen(f->ctx, &f->s), 0);
    assert_non_null(f->s);
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

/* A queued job with the given identity; strings owned by j (sv_job_clear). */
static void make_job(sv_job *j, const char *id, const char *tenant, const char *solver,
                     int priority, double created_at, const char *tags, const char *idem)
{
    memset(j, 0, sizeof *j);
    snprintf(j->id, sizeof j->id, "%s", id);
    snprintf(j->tenant, sizeof j->tenant, "%s", tenant);
    snprintf(j->solver, sizeof j->solver, "%s", solver);
    j->state = SV_JOB_QUEUED;
    j->priority = priority;
    j->created_at = created_at;
    char req[128];
    snprintf(req, sizeof req, "{\"problem\":{\"n\":%d},\"params\":{}}", priority);
    j->request = dup_or_null(req);
    j->tags = dup_or_null(tags ? tags : "[]");
    j->idem_key = dup_or_null(idem);
}

static void insert(sv_store *s, const char *id, const char *tenant, const char *solver,
                   int priority, double created_at, const char *tags, const char *idem)
{
    sv_job j;
    make_job(&j, id, tenant, solver, priority, created_at, tags, idem);
    int rc = sv_store_insert_job(s, &j);
    if (rc != SV_STORE_OK)
        fprintf(stderr, "insert %s: %s\n", id, sv_store_errmsg(s));
    assert_int_equal(rc, SV_STORE_OK);
    sv_job_clear(&j);
}

static sv_job_state state_of(sv_store *s, const char *id)
{
    sv_job j;
    assert_int_equal(sv_store_get_job(s, id, NULL, &j), SV_STORE_OK);
    sv_job_state st = j.state;
    sv_job_clear(&j);
    return st;
}

/* ------------------------------------------------------------------------------------------ */

static void test_roundtrip(void **state)
{
    fixture *f = *state;
    sv_job in;
    memset(&in, 0, sizeof in);
    snprintf(in.id, sizeof in.id, "01HZX3K8W3Q6R0000000000001");
    snprintf(in.tenant, sizeof in.tenant, "acme");
    snprintf(in.solver, sizeof in.solver, "bilevel.borep");
    in.state = SV_JOB_TIMED_OUT;
    in.priority = -7;
    in.time_limit_s = 12.625;
    in.attempts = 2;
    in.created_at = 1700000000.125;
    in.started_at = 1700000001.5;
    in.finished_at = 1700000013.75;
    in.last_seq = 42;
    in.request = dup_or_null("{\"problem\":{\"A\":[[1,2],[3,4]]},\"params\":{\"tol\":1e-8}}");
    in.tags = dup_or_null("[\"exp-1\",\"größe\"]");
    in.progress = dup_or_null("{\"iter\":40,\"obj\":0.5}");
    in.summary = dup_or_null("{\"status\":\"time_limit\"}");
    in.error = dup_or_null("{\"code\":\"time_limit\",\"message\":\"too slow\"}");
    in.idem_key = dup_or_null("key-\"quoted\"");
    in.request_hash = dup_or_null("sha256:abcdef");
    in.params = dup_or_null("{\"tol\":1e-8}");
    assert_int_equal(sv_store_insert_job(f->s, &in), SV_STORE_OK);

    sv_job out;
    memset(&out, 0xA5, sizeof out);   /* get must not rely on a zeroed output */
    assert_int_equal(sv_store_get_job(f->s, in.id, "acme", &out), SV_STORE_OK);
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.tenant, in.tenant);
    assert_string_equal(out.solver, in.solver);
    assert_int_equal(out.state, in.state);
    assert_int_equal(out.priority, in.priority);
    assert_true(out.time_limit_s == in.time_limit_s);
    assert_int_equal(out.attempts, in.attempts);
    assert_true(out.created_at == in.created_at);
    assert_true(out.started_at == in.started_at);
    assert_true(out.finished_at == in.finished_at);
    assert_int_equal(out.last_seq, in.last_seq);
    assert_null(out.request);   /* get leaves the (possibly large) request out */
    char *req = NULL;
    assert_int_equal(sv_store_get_request(f->s, in.id, &req), SV_STORE_OK);
    assert_string_equal(req, in.request);
    free(req);
    assert_int_equal(sv_store_get_request(f->s, "no-such-job", &req), SV_STORE_ENOTFOUND);
    assert_null(req);
    assert_string_equal(out.params, in.params);
    assert_string_equal(out.tags, in.tags);
    assert_string_equal(out.progress, in.progress);
    assert_string_equal(out.summary, in.summary);
    assert_string_equal(out.error, in.error);
    assert_string_equal(out.idem_key, in.idem_key);
    assert_string_equal(out.request_hash, in.request_hash);
    sv_job_clear(&out);

    /* NULL columns stay NULL. */
    sv_job bare;
    make_job(&bare, "bare", "", "s", 0, 5.0, NULL, NULL);
    free(bare.tags);
    bare.tags = NULL;
    free(bare.request);
    bare.request = NULL;
    assert_int_equal(sv_store_insert_job(f->s, &bare), SV_STORE_OK);
    assert_int_equal(sv_store_get_job(f->s, "bare", NULL, &out), SV_STORE_OK);
    assert_string_equal(out.tenant, "");
    assert_int_equal(out.state, SV_JOB_QUEUED);
    assert_null(out.request);
    assert_null(out.tags);
    assert_null(out.progress);
    assert_null(out.summary);
    assert_null(out.error);
    assert_null(out.idem_key);
    assert_null(out.request_hash);
    assert_null(out.params);
    assert_true(out.started_at == 0 && out.finished_at == 0);
    sv_job_clear(&out);
    sv_job_clear(&bare);

    /* find_idem returns the same row. */
    assert_int_equal(sv_store_find_idem(f->s, "acme", "key-\"quoted\"", &out), SV_STORE_OK);
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.params, in.params);
    sv_job_clear(&out);
    assert_int_equal(sv_store_find_idem(f->s, "acme", "other", &out), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_get_job(f->s, "nope", NULL, &out), SV_STORE_ENOTFOUND);
    sv_job_clear(&out);   /* safe after a miss */
    sv_job_clear(&in);
}

static void test_bad_tags_refused(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {"[\"a\"", "{\"a\":1}", "\"a\"", "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sv_job j;
        make_job(&j, "bad", "t", "s", 0, 1, bad[i], NULL);
        int rc = sv_store_insert_job(f->s, &j);
        assert_int_not_equal(rc, SV_STORE_OK);
        assert_int_not_equal(rc, SV_STORE_ECONFLICT);
        assert_true(strlen(sv_store_errmsg(f->s)) > 0);
        sv_job_clear(&j);
    }
    sv_job out;
    assert_int_equal(sv_store_get_job(f->s, "bad", NULL, &out), SV_STORE_ENOTFOUND);
}

static void test_tenant_isolation(void **state)
{
    fixture *f = *state;
    insert(f->s, "j1", "alice", "s", 0, 1.0, "[\"x\"]", "k1");
    assert_int_equal(sv_store_finish_job(f->s, "j1", NULL, SV_JOB_SUCCEEDED, 2.0, "{\"ok\":1}",
                                         "{\"x\":[1,2,3]}", NULL),
                     SV_STORE_OK);

    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "j1", "bob", &j), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_get_job(f->s, "j1", "", &j), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_get_job(f->s, "j1", "alice", &j), SV_STORE_OK);
    sv_job_clear(&j);
    assert_int_equal(sv_store_get_job(f->s, "j1", NULL, &j), SV_STORE_OK);
    sv_job_clear(&j);

    char *res = (char *)"sentinel";
    assert_int_equal(sv_store_get_result(f->s, "j1", "bob", &res), SV_STORE_ENOTFOUND);
    assert_null(res);
    assert_int_equal(sv_store_get_result(f->s, "j1", "alice", &res), SV_STORE_OK);
    assert_string_equal(res, "{\"x\":[1,2,3]}");
    free(res);

    assert_int_equal(sv_store_find_idem(f->s, "bob", "k1", &j), SV_STORE_ENOTFOUND);

    sv_job rows[4];
    int n = -1;
    sv_job_filter flt = {.tenant = "bob", .state = -1, .limit = 4};
    assert_int_equal(sv_store_list_jobs(f->s, &flt, rows, &n), SV_STORE_OK);
    assert_int_equal(n, 0);
    flt.tenant = "alice";
    assert_int_equal(sv_store_list_jobs(f->s, &flt, rows, &n), SV_STORE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].id, "j1");
    sv_job_clear(&rows[0]);
}

static void test_conflicts(void **state)
{
    fixture *f = *state;
    insert(f->s, "a", "t1", "s", 0, 1.0, NULL, "key");

    sv_job j;
    make_job(&j, "a", "t2", "s", 0, 2.0, NULL, NULL);
    assert_int_equal(sv_store_insert_job(f->s, &j), SV_STORE_ECONFLICT);
    assert_true(strlen(sv_store_errmsg(f->s)) > 0);
    sv_job_clear(&j);

    make_job(&j, "b", "t1", "s", 0, 2.0, NULL, "key");
    assert_int_equal(sv_store_insert_job(f->s, &j), SV_STORE_ECONFLICT);
    assert_true(strlen(sv_store_errmsg(f->s)) > 0);
    sv_job_clear(&j);

    /* The same key under another tenant, and several jobs without a key, are fine. */
    insert(f->s, "c", "t2", "s", 0, 3.0, NULL, "key");
    insert(f->s, "d", "t1", "s", 0, 4.0, NULL, NULL);
    insert(f->s, "e", "t1", "s", 0, 5.0, NULL, NULL);

    assert_int_equal(sv_store_find_idem(f->s, "t1", "key", &j), SV_STORE_OK);
    assert_string_equal(j.id, "a");
    sv_job_clear(&j);
    assert_int_equal(sv_store_find_idem(f->s, "t2", "key", &j), SV_STORE_OK);
    assert_string_equal(j.id, "c");
    sv_job_clear(&j);

    long counts[SV_JOB_NSTATES];
    assert_int_equal(sv_store_count_states(f->s, counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_QUEUED], 4);
    /* Per tenant (the quota across nodes): t1 has a, d, e queued; t2 has c; t3 none. */
    assert_int_equal(sv_store_claim_job(f->s, "d", "n1", 6.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_count_states_of(f->s, "t1", counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_QUEUED], 2);
    assert_int_equal(counts[SV_JOB_RUNNING], 1);
    assert_int_equal(sv_store_count_states_of(f->s, "t2", counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_QUEUED], 1);
    assert_int_equal(counts[SV_JOB_RUNNING], 0);
    assert_int_equal(sv_store_count_states_of(f->s, "t3", counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_QUEUED], 0);
    assert_int_equal(sv_store_count_states_of(f->s, NULL, counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_QUEUED], 3);
}

static void test_state_machine(void **state)
{
    fixture *f = *state;
    insert(f->s, "j", "t", "s", 0, 1.0, NULL, NULL);

    assert_int_equal(sv_store_claim_job(f->s, "j", "n1", 10.5, 0, 1), SV_STORE_OK);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "j", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_RUNNING);
    assert_true(j.started_at == 10.5);
    assert_int_equal(j.attempts, 1);
    sv_job_clear(&j);

    assert_int_equal(sv_store_claim_job(f->s, "j", "n1", 11.0, 0, 2), SV_STORE_ESTATE);
    assert_int_equal(sv_store_claim_job(f->s, "missing", "n1", 11.0, 0, 1), SV_STORE_ENOTFOUND);
    /* A final state is the only target of finish. */
    assert_int_equal(sv_store_finish_job(f->s, "j", NULL, SV_JOB_QUEUED, 12.0, NULL, NULL, NULL),
                     SV_STORE_ESTATE);
    assert_int_equal(sv_store_finish_job(f->s, "j", NULL, SV_JOB_RUNNING, 12.0, NULL, NULL, NULL),
                     SV_STORE_ESTATE);
    assert_int_equal(state_of(f->s, "j"), SV_JOB_RUNNING);

    assert_int_equal(sv_store_finish_job(f->s, "j", NULL, SV_JOB_SUCCEEDED, 20.25, "{\"obj\":1}",
                                         "{\"x\":[0.5]}", NULL),
                     SV_STORE_OK);
    assert_int_equal(sv_store_get_job(f->s, "j", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_SUCCEEDED);
    assert_true(j.finished_at == 20.25);
    assert_true(j.started_at == 10.5);   /* untouched */
    assert_string_equal(j.summary, "{\"obj\":1}");
    assert_null(j.error);
    sv_job_clear(&j);
    char *res = NULL;
    assert_int_equal(sv_store_get_result(f->s, "j", NULL, &res), SV_STORE_OK);
    assert_string_equal(res, "{\"x\":[0.5]}");
    free(res);

    /* Final is final. */
    assert_int_equal(sv_store_finish_job(f->s, "j", NULL, SV_JOB_FAILED, 30.0, NULL, NULL, "{}"),
                     SV_STORE_ESTATE);
    assert_int_equal(sv_store_claim_job(f->s, "j", "n1", 30.0, 0, 2), SV_STORE_ESTATE);
    assert_int_equal(state_of(f->s, "j"), SV_JOB_SUCCEEDED);
    assert_int_equal(sv_store_finish_job(f->s, "missing", NULL, SV_JOB_FAILED, 1, NULL, NULL, NULL),
                     SV_STORE_ENOTFOUND);

    /* queued -> cancelled directly; no result stored means get_result finds none. */
    insert(f->s, "q", "t", "s", 0, 2.0, NULL, NULL);
    assert_int_equal(sv_store_get_result(f->s, "q", NULL, &res), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_finish_job(f->s, "q", NULL, SV_JOB_CANCELLED, 3.0, NULL, NULL,
                                         "{\"code\":\"cancelled\",\"message\":\"by user\"}"),
                     SV_STORE_OK);
    assert_int_equal(state_of(f->s, "q"), SV_JOB_CANCELLED);
    assert_int_equal(sv_store_get_result(f->s, "q", NULL, &res), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_claim_job(f->s, "q", "n1", 4.0, 0, 1), SV_STORE_ESTATE);
}

typedef struct {
    long seq[16];
    char type[16][16];
    double ts[16];
    char data[16][64];
    int n;
    int stop_after;   /* 0: never */
} event_log;

static int collect_event(void *data, long seq, const char *type, double ts, const char *json)
{
    event_log *log = data;
    assert_true(log->n < 16);
    log->seq[log->n] = seq;
    snprintf(log->type[log->n], sizeof log->type[0], "%s", type);
    log->ts[log->n] = ts;
    snprintf(log->data[log->n], sizeof log->data[0], "%s", json ? json : "(null)");
    log->n++;
    return log->stop_after && log->n >= log->stop_after;
}

static void test_events(void **state)
{
    fixture *f = *state;
    insert(f->s, "j", "t", "s", 0, 1.0, NULL, NULL);
    insert(f->s, "other", "t", "s", 0, 1.0, NULL, NULL);
    assert_int_equal(sv_store_add_event(f->s, "j", 1, "status", 1.5, "{\"status\":\"running\"}"),
                     SV_STORE_OK);
    for (long k = 2; k <= 5; k++) {
        char data[64];
        snprintf(data, sizeof data, "{\"iter\":%ld}", 10 * k);
        assert_int_equal(sv_store_add_event(f->s, "j", k, "progress", 1.0 + k, data),
                         SV_STORE_OK);
    }
    assert_int_equal(sv_store_add_event(f->s, "j", 6, "status", 7.0, "{\"status\":\"x\"}"),
                     SV_STORE_OK);
    assert_int_equal(sv_store_add_event(f->s, "other", 1, "progress", 1.0, "{\"iter\":99}"),
                     SV_STORE_OK);

    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "j", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.last_seq, 6);
    /* The last progress event, not the later status event. */
    assert_string_equal(j.progress, "{\"iter\":50}");
    sv_job_clear(&j);

    event_log log = {0};
    assert_int_equal(sv_store_events(f->s, "j", 0, 0, collect_event, &log), SV_STORE_OK);
    assert_int_equal(log.n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(log.seq[i], i + 1);
    assert_string_equal(log.type[0], "status");
    assert_string_equal(log.type[1], "progress");
    assert_true(log.ts[2] == 4.0);
    assert_string_equal(log.data[3], "{\"iter\":40}");

    memset(&log, 0, sizeof log);
    assert_int_equal(sv_store_events(f->s, "j", 2, 0, collect_event, &log), SV_STORE_OK);
    assert_int_equal(log.n, 4);
    assert_int_equal(log.seq[0], 3);
    assert_int_equal(log.seq[3], 6);

    memset(&log, 0, sizeof log);
    assert_int_equal(sv_store_events(f->s, "j", 2, 2, collect_event, &log), SV_STORE_OK);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.seq[0], 3);
    assert_int_equal(log.seq[1], 4);

    memset(&log, 0, sizeof log);
    log.stop_after = 3;
    assert_int_equal(sv_store_events(f->s, "j", 0, 0, collect_event, &log), SV_STORE_OK);
    assert_int_equal(log.n, 3);

    memset(&log, 0, sizeof log);
    assert_int_equal(sv_store_events(f->s, "j", 6, 0, collect_event, &log), SV_STORE_OK);
    assert_int_equal(log.n, 0);
    assert_int_equal(sv_store_events(f->s, "missing", 0, 0, collect_event, &log), SV_STORE_OK);
    assert_int_equal(log.n, 0);

    /* A repeated sequence number is refused and changes nothing. */
    assert_int_equal(sv_store_add_event(f->s, "j", 4, "progress", 9.0, "{\"iter\":-1}"),
                     SV_STORE_ECONFLICT);
    /* An event for a missing job is refused. */
    assert_int_equal(sv_store_add_event(f->s, "missing", 1, "progress", 9.0, "{}"),
                     SV_STORE_ENOTFOUND);
    /* A late progress event below last_seq is kept but does not replace the newer progress. */
    assert_int_equal(sv_store_add_event(f->s, "other", 7, "progress", 2.0, "{\"iter\":100}"),
                     SV_STORE_OK);
    assert_int_equal(sv_store_add_event(f->s, "other", 3, "progress", 2.0, "{\"iter\":98}"),
                     SV_STORE_OK);
    assert_int_equal(sv_store_get_job(f->s, "other", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.last_seq, 7);
    assert_string_equal(j.progress, "{\"iter\":100}");
    sv_job_clear(&j);
    assert_int_equal(sv_store_get_job(f->s, "j", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.last_seq, 6);
    assert_string_equal(j.progress, "{\"iter\":50}");
    sv_job_clear(&j);

    memset(&log, 0, sizeof log);
    assert_int_equal(sv_store_events(f->s, "other", 0, 0, collect_event, &log), SV_STORE_OK);
    assert_int_equal(log.n, 3);
    assert_int_equal(log.seq[0], 1);
    assert_int_equal(log.seq[1], 3);
    assert_int_equal(log.seq[2], 7);
}

/* ------------------------------------------------------------------------------------------ */

static void list_ids(sv_store *s, const sv_job_filter *flt, char *buf, size_t cap)
{
    sv_job rows[64];
    int n = -1;
    assert_true(flt->limit <= 64);
    int rc = sv_store_list_jobs(s, flt, rows, &n);
    if (rc != SV_STORE_OK)
        fprintf(stderr, "list: %s\n", sv_store_errmsg(s));
    assert_int_equal(rc, SV_STORE_OK);
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        assert_null(rows[i].request);
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", i ? "," : "", rows[i].id);
        sv_job_clear(&rows[i]);
    }
}

static void test_list_filters(void **state)
{
    fixture *f = *state;
    insert(f->s, "j01", "t", "alpha", 0, 1, "[\"red\",\"big\"]", NULL);
    insert(f->s, "j02", "t", "beta", 0, 2, "[\"red\"]", NULL);
    insert(f->s, "j03", "t", "alpha", 0, 3, "[\"blue\"]", NULL);
    insert(f->s, "j04", "u", "alpha", 0, 4, "[\"red\"]", NULL);
    insert(f->s, "j05", "t", "alpha", 0, 5, "[\"redder\"]", NULL);
    insert(f->s, "j06", "t", "beta", 0, 6, "[]", NULL);
    assert_int_equal(sv_store_claim_job(f->s, "j02", "n1", 7, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "j03", "n1", 7, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_finish_job(f->s, "j03", NULL, SV_JOB_FAILED, 8, NULL, NULL, "{}"),
                     SV_STORE_OK);

    char ids[256];
    sv_job_filter flt = {.state = -1, .limit = 50};
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "j06,j05,j04,j03,j02,j01");

    flt.state = SV_JOB_QUEUED;
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "j06,j05,j04,j01");
    flt.state = SV_JOB_RUNNING;
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "j02");
    flt.state = SV_JOB_SUCCEEDED;
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "");

    flt.state = -1;
    flt.solver = "alpha";
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "j05,j04,j03,j01");

    /* Whole tags only: "red" does not match "redder". */
    flt.solver = NULL;
    flt.tag = "red";
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "j04,j02,j01");
    flt.tag = "re";
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "");

    /* Filters combine with AND. */
    flt.tag = "red";
    flt.solver = "alpha";
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "j04,j01");
    flt.tenant = "t";
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "j01");
    flt.state = SV_JOB_QUEUED;
    flt.before_id = "j01";
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "");
    flt.before_id = "j02";
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "j01");
    flt.state = SV_JOB_RUNNING;
    list_ids(f->s, &flt, ids, sizeof ids);
    assert_string_equal(ids, "");
}

static void test_list_paging(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 25; i++) {
        char id[16];
        snprintf(id, sizeof id, "job%03d", i);
        insert(f->s, id, "t", "s", i % 3, 100.0 + i, "[\"all\"]", NULL);
    }
    int seen[25] = {0};
    int sizes[4] = {0};
    char cursor[sizeof ((sv_job *)0)->id] = "";
    int pages = 0;
    char prev[sizeof ((sv_job *)0)->id] = "~";   /* sorts after every id */
    for (;;) {
        sv_job rows[10];
        int n = -1;
        sv_job_filter flt = {.state = -1, .tag = "all", .limit = 10,
                             .before_id = cursor[0] ? cursor : NULL};
        assert_int_equal(sv_store_list_jobs(f->s, &flt, rows, &n), SV_STORE_OK);
        assert_true(pages < 4);
        sizes[pages++] = n;
        for (int i = 0; i < n; i++) {
            assert_true(strcmp(rows[i].id, prev) < 0);   /* newest first, strictly */
            memcpy(prev, rows[i].id, sizeof prev);
            int k = atoi(rows[i].id + 3);
            assert_int_equal(seen[k], 0);
            seen[k] = 1;
            assert_null(rows[i].request);
            assert_non_null(rows[i].tags);
        }
        if (n > 0)
            memcpy(cursor, rows[n - 1].id, sizeof cursor);
        for (int i = 0; i < n; i++)
            sv_job_clear(&rows[i]);
        if (n < 10)
            break;
    }
    assert_int_equal(pages, 3);
    assert_int_equal(sizes[0], 10);
    assert_int_equal(sizes[1], 10);
    assert_int_equal(sizes[2], 5);
    for (int k = 0; k < 25; k++)
        assert_int_equal(seen[k], 1);

    /* The limit is clamped to 1..1000. */
    sv_job *rows = calloc(1000, sizeof *rows);
    assert_non_null(rows);
    int n = -1;
    sv_job_filter flt = {.state = -1, .limit = 0};
    assert_int_equal(sv_store_list_jobs(f->s, &flt, rows, &n), SV_STORE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].id, "job024");
    sv_job_clear(&rows[0]);
    flt.limit = -5;
    assert_int_equal(sv_store_list_jobs(f->s, &flt, rows, &n), SV_STORE_OK);
    assert_int_equal(n, 1);
    sv_job_clear(&rows[0]);
    flt.limit = 1000000;
    assert_int_equal(sv_store_list_jobs(f->s, &flt, rows, &n), SV_STORE_OK);
    assert_int_equal(n, 25);
    for (int i = 0; i < n; i++)
        sv_job_clear(&rows[i]);
    free(rows);
}

typedef struct {
    sv_store *s;
    char order[16][40];
    int n;
    int start_each;   /* mark each job running from inside the callback */
    int stop_after;
} queue_walk;

static int walk_queued(void *data, const sv_job *j)
{
    queue_walk *w = data;
    assert_true(w->n < 16);
    assert_int_equal(j->state, SV_JOB_QUEUED);
    assert_non_null(j->request);   /* each_queued includes the request */
    snprintf(w->order[w->n++], sizeof w->order[0], "%s", j->id);
    if (w->start_each)
        assert_int_equal(sv_store_claim_job(w->s, j->id, "n1", 50.0, 0, j->attempts + 1), SV_STORE_OK);
    return w->stop_after && w->n >= w->stop_after;
}

static void test_each_queued(void **state)
{
    fixture *f = *state;
    /* Expected: priority high first, then older first. */
    insert(f->s, "a", "t", "s", 0, 10.0, NULL, NULL);
    insert(f->s, "b", "t", "s", 5, 30.0, NULL, NULL);
    insert(f->s, "c", "t", "s", 5, 20.0, NULL, NULL);
    insert(f->s, "d", "u", "s", -1, 1.0, NULL, NULL);
    insert(f->s, "e", "t", "s", 0, 5.0, NULL, NULL);
    insert(f->s, "f", "t", "s", 9, 1.0, NULL, NULL);   /* will be running */
    insert(f->s, "g", "t", "s", 9, 2.0, NULL, NULL);   /* will be finished */
    assert_int_equal(sv_store_claim_job(f->s, "f", "n1", 3.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_finish_job(f->s, "g", NULL, SV_JOB_CANCELLED, 3.0, NULL, NULL, NULL),
                     SV_STORE_OK);

    static const char *const want[] = {"c", "b", "e", "a", "d"};
    queue_walk w = {.s = f->s};
    assert_int_equal(sv_store_each_queued(f->s, walk_queued, &w), SV_STORE_OK);
    assert_int_equal(w.n, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(w.order[i], want[i]);

    memset(&w, 0, sizeof w);
    w.s = f->s;
    w.stop_after = 2;
    assert_int_equal(sv_store_each_queued(f->s, walk_queued, &w), SV_STORE_OK);
    assert_int_equal(w.n, 2);

    /* The callback may change the store: start every job as it is handed over. */
    memset(&w, 0, sizeof w);
    w.s = f->s;
    w.start_each = 1;
    assert_int_equal(sv_store_each_queued(f->s, walk_queued, &w), SV_STORE_OK);
    assert_int_equal(w.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(w.order[i], want[i]);
        assert_int_equal(state_of(f->s, want[i]), SV_JOB_RUNNING);
    }
    memset(&w, 0, sizeof w);
    assert_int_equal(sv_store_each_queued(f->s, walk_queued, &w), SV_STORE_OK);
    assert_int_equal(w.n, 0);
}

typedef struct {
    long seq;
    char type[16];
    char *data;
    double ts;
} last_event;

static int keep_last_event(void *data, long seq, const char *type, double ts, const char *json)
{
    last_event *le = data;
    le->seq = seq;
    snprintf(le->type, sizeof le->type, "%s", type);
    free(le->data);
    le->data = json ? strdup(json) : NULL;
    le->ts = ts;
    return 0;
}

static void test_recover(void **state)
{
    fixture *f = *state;
    insert(f->s, "r1", "t", "s", 0, 1.0, NULL, NULL);   /* running, 1 attempt: requeued */
    insert(f->s, "r2", "t", "s", 0, 2.0, NULL, NULL);   /* running, 2 attempts: requeued */
    insert(f->s, "r3", "t", "s", 0, 3.0, NULL, NULL);   /* running, 3 attempts: failed */
    insert(f->s, "q", "t", "s", 0, 4.0, NULL, NULL);    /* queued: untouched */
    insert(f->s, "done", "t", "s", 0, 5.0, NULL, NULL); /* succeeded: untouched */
    assert_int_equal(sv_store_claim_job(f->s, "r1", "n1", 10.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "r2", "n1", 10.0, 0, 2), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "r3", "n1", 10.0, 0, 3), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "done", "n1", 10.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_finish_job(f->s, "done", NULL, SV_JOB_SUCCEEDED, 11.0, "{}", "{}", NULL),
                     SV_STORE_OK);

    int requeued = -1, failed = -1;
    assert_int_equal(sv_store_recover(f->s, "n1", 3, 99.5, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued, 2);
    assert_int_equal(failed, 1);

    sv_job j;
    static const char *const back[] = {"r1", "r2"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sv_store_get_job(f->s, back[i], NULL, &j), SV_STORE_OK);
        assert_int_equal(j.state, SV_JOB_QUEUED);
        assert_int_equal(j.attempts, i + 1);   /* the interrupted attempt stays counted */
        assert_true(j.finished_at == 0);
        assert_null(j.error);
        sv_job_clear(&j);
    }
    assert_int_equal(sv_store_get_job(f->s, "r3", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_FAILED);
    assert_true(j.finished_at == 99.5);
    assert_non_null(j.error);
    assert_string_equal(j.error, "{\"code\":\"interrupted\",\"message\":\"interrupted: the"
                                 " server stopped while the job was running, after 3 of 3"
                                 " allowed attempts\"}");
    json_error_t jerr;
    json_t *err = json_loads(j.error, 0, &jerr);
    assert_non_null(err);
    assert_string_equal(json_string_value(json_object_get(err, "code")), "interrupted");
    const char *msg = json_string_value(json_object_get(err, "message"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    json_decref(err);
    sv_job_clear(&j);
    assert_int_equal(state_of(f->s, "q"), SV_JOB_QUEUED);
    assert_int_equal(state_of(f->s, "done"), SV_JOB_SUCCEEDED);

    /* Each recovered job got the status event of its new state, as its next event. */
    static const struct {
        const char *id, *status;
    } ev[] = {{"r1", "queued"}, {"r2", "queued"}, {"r3", "failed"}};
    for (int i = 0; i < 3; i++) {
        last_event le = {0, "", NULL, 0};
        assert_int_equal(sv_store_events(f->s, ev[i].id, 0, 0, keep_last_event, &le),
                         SV_STORE_OK);
        assert_string_equal(le.type, "status");
        assert_true(le.ts == 99.5);
        json_t *d = json_loads(le.data, 0, NULL);
        assert_non_null(d);
        assert_string_equal(json_string_value(json_object_get(d, "status")), ev[i].status);
        assert_int_equal(json_is_object(json_object_get(d, "error")), i == 2);
        json_decref(d);
        /* The exact text, as streams show it (the server spells the same shape). */
        static const char *const exact[] = {
            "{\"status\":\"queued\",\"attempt\":1}",
            "{\"status\":\"queued\",\"attempt\":2}",
            "{\"status\":\"failed\",\"attempt\":3,\"error\":{\"code\":\"interrupted\","
            "\"message\":\"interrupted: the server stopped while the job was running, after 3 of"
            " 3 allowed attempts\"}}"};
        assert_string_equal(le.data, exact[i]);
        assert_int_equal(sv_store_get_job(f->s, ev[i].id, NULL, &j), SV_STORE_OK);
        assert_int_equal(j.last_seq, le.seq);
        sv_job_clear(&j);
        free(le.data);
    }
    long before_q = 0;
    assert_int_equal(sv_store_get_job(f->s, "q", NULL, &j), SV_STORE_OK);
    before_q = j.last_seq;
    sv_job_clear(&j);
    assert_int_equal(before_q, 0);   /* untouched jobs get no event */

    /* Nothing is left running, so a second recovery does nothing. */
    assert_int_equal(sv_store_recover(f->s, "n1", 3, 100.0, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued, 0);
    assert_int_equal(failed, 0);

    /* The requeued jobs can run again and come back through recovery once more. */
    assert_int_equal(sv_store_claim_job(f->s, "r2", "n1", 101.0, 0, 3), SV_STORE_OK);
    assert_int_equal(sv_store_recover(f->s, "n1", 3, 102.0, NULL, NULL), SV_STORE_OK);
    assert_int_equal(state_of(f->s, "r2"), SV_JOB_FAILED);

    long counts[SV_JOB_NSTATES];
    assert_int_equal(sv_store_count_states(f->s, counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_QUEUED], 2);
    assert_int_equal(counts[SV_JOB_RUNNING], 0);
    assert_int_equal(counts[SV_JOB_SUCCEEDED], 1);
    assert_int_equal(counts[SV_JOB_FAILED], 2);
}

static void test_durability(void **state)
{
    fixture *f = *state;
    insert(f->s, "kept", "t", "s", 3, 1.0, "[\"a\"]", "idem");
    assert_int_equal(sv_store_claim_job(f->s, "kept", "n1", 2.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_add_event(f->s, "kept", 1, "progress", 2.5, "{\"iter\":1}"),
                     SV_STORE_OK);
    assert_int_equal(sv_store_finish_job(f->s, "kept", NULL, SV_JOB_SUCCEEDED, 3.0, "{\"s\":1}",
                                         "{\"r\":1}", NULL),
                     SV_STORE_OK);

    /* A committed batch survives, a rolled-back one leaves nothing. */
    assert_int_equal(sv_store_begin(f->s), SV_STORE_OK);
    insert(f->s, "batch1", "t", "s", 0, 4.0, NULL, NULL);
    insert(f->s, "batch2", "t", "s", 0, 4.0, NULL, NULL);
    assert_int_equal(sv_store_add_event(f->s, "batch1", 1, "status", 4.0, "{}"), SV_STORE_OK);
    assert_int_equal(sv_store_commit(f->s), SV_STORE_OK);

    assert_int_equal(sv_store_begin(f->s), SV_STORE_OK);
    insert(f->s, "gone1", "t", "s", 0, 5.0, NULL, NULL);
    assert_int_equal(sv_store_add_event(f->s, "kept", 2, "progress", 5.0, "{\"iter\":2}"),
                     SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "batch2", "n1", 5.0, 0, 1), SV_STORE_OK);
    /* A failing operation inside a batch does not spoil the rest of it. */
    assert_int_equal(sv_store_add_event(f->s, "kept", 2, "progress", 5.0, "{}"),
                     SV_STORE_ECONFLICT);
    assert_int_equal(sv_store_rollback(f->s), SV_STORE_OK);

    reopen(f);
    assert_int_equal(sv_store_schema_version(f->s), H->schema_latest);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "kept", "t", &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_SUCCEEDED);
    assert_int_equal(j.priority, 3);
    assert_int_equal(j.last_seq, 1);
    assert_string_equal(j.progress, "{\"iter\":1}");
    assert_string_equal(j.summary, "{\"s\":1}");
    assert_string_equal(j.tags, "[\"a\"]");
    assert_string_equal(j.idem_key, "idem");
    sv_job_clear(&j);
    char *res = NULL;
    assert_int_equal(sv_store_get_result(f->s, "kept", "t", &res), SV_STORE_OK);
    assert_string_equal(res, "{\"r\":1}");
    free(res);
    event_log log = {0};
    assert_int_equal(sv_store_events(f->s, "kept", 0, 0, collect_event, &log), SV_STORE_OK);
    assert_int_equal(log.n, 1);

    assert_int_equal(state_of(f->s, "batch1"), SV_JOB_QUEUED);
    assert_int_equal(state_of(f->s, "batch2"), SV_JOB_QUEUED);
    assert_int_equal(sv_store_get_job(f->s, "gone1", NULL, &j), SV_STORE_ENOTFOUND);
    memset(&log, 0, sizeof log);
    assert_int_equal(sv_store_events(f->s, "batch1", 0, 0, collect_event, &log), SV_STORE_OK);
    assert_int_equal(log.n, 1);

    /* A batch left open at close is rolled back, not half-kept. */
    assert_int_equal(sv_store_begin(f->s), SV_STORE_OK);
    insert(f->s, "unfinished", "t", "s", 0, 6.0, NULL, NULL);
    reopen(f);
    assert_int_equal(sv_store_get_job(f->s, "unfinished", NULL, &j), SV_STORE_ENOTFOUND);

    long counts[SV_JOB_NSTATES];
    assert_int_equal(sv_store_count_states(f->s, counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_QUEUED], 2);
    assert_int_equal(counts[SV_JOB_SUCCEEDED], 1);
}

/* ------------------------------------------------------------------------------------------ */
static void test_two_handles(void **state)
{
    fixture *f = *state;
    sv_store *r = NULL;
    assert_int_equal(H->open_second(f->ctx, &r), 0);

    assert_int_equal(sv_store_begin(f->s), SV_STORE_OK);
    insert(f->s, "w1", "t", "s", 0, 1.0, NULL, NULL);
    assert_int_equal(sv_store_add_event(f->s, "w1", 1, "progress", 1.0, "{\"i\":1}"),
                     SV_STORE_OK);
    /* Not visible to the other handle until committed, and reading does not block. */
    sv_job j;
    assert_int_equal(sv_store_get_job(r, "w1", NULL, &j), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_commit(f->s), SV_STORE_OK);
    assert_int_equal(sv_store_get_job(r, "w1", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.last_seq, 1);
    assert_string_equal(j.progress, "{\"i\":1}");
    sv_job_clear(&j);

    /* Either handle may write; the other sees it. */
    insert(r, "r1", "t", "s", 0, 2.0, NULL, NULL);
    assert_int_equal(state_of(f->s, "r1"), SV_JOB_QUEUED);
    assert_int_equal(sv_store_claim_job(f->s, "r1", "n1", 3.0, 0, 1), SV_STORE_OK);
    assert_int_equal(state_of(r, "r1"), SV_JOB_RUNNING);
    sv_store_close(r);
}

typedef struct {
    void *ctx;
    int batches, per_batch;
    int rc;
    atomic_int finished;
} writer_args;

static void *writer_thread(void *p)
{
    writer_args *a = p;
    sv_store *w = NULL;
    a->rc = H->open_second(a->ctx, &w) == 0 ? SV_STORE_OK : SV_STORE_EIO;
    if (a->rc)
        return NULL;
    long seq = 0;
    for (int b = 0; b < a->batches && !a->rc; b++) {
        a->rc = sv_store_begin(w);
        for (int k = 0; k < a->per_batch && !a->rc; k++) {
            char data[32];
            snprintf(data, sizeof data, "{\"iter\":%ld}", ++seq);
            a->rc = sv_store_add_event(w, "live", seq, "progress", (double)seq, data);
        }
        if (!a->rc)
            a->rc = sv_store_commit(w);
    }
    sv_store_close(w);
    atomic_store(&a->finished, 1);
    return NULL;
}

typedef struct {
    long last;
    int n;
    int ordered;
} seq_check;

static int check_seq(void *data, long seq, const char *type, double ts, const char *json)
{
    seq_check *c = data;
    if (seq != c->last + 1)
        c->ordered = 0;
    c->last = seq;
    c->n++;
    return 0;
}

static void test_concurrent_reader_writer(void **state)
{
    fixture *f = *state;
    insert(f->s, "live", "t", "s", 0, 1.0, NULL, NULL);
    writer_args a = {.ctx = f->ctx, .batches = 40, .per_batch = 10};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_thread, &a), 0);
    /* The reader sees whole batches only: a consistent prefix 1..k with k a multiple of 10 and
     * last_seq never behind what the events show. */
    int reads = 0;
    for (;;) {
        int writer_done = atomic_load(&a.finished);
        sv_job j;
        assert_int_equal(sv_store_get_job(f->s, "live", NULL, &j), SV_STORE_OK);
        long last = j.last_seq;
        sv_job_clear(&j);
        assert_int_equal(last % 10, 0);
        seq_check c = {.ordered = 1};
        assert_int_equal(sv_store_events(f->s, "live", 0, 0, check_seq, &c), SV_STORE_OK);
        assert_true(c.ordered);
        assert_true(c.n >= last);
        assert_int_equal(c.n % 10, 0);
        reads++;
        if (last == 400 || writer_done)
            break;
        long counts[SV_JOB_NSTATES];
        assert_int_equal(sv_store_count_states(f->s, counts), SV_STORE_OK);
        usleep(1000);
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(a.rc, SV_STORE_OK);
    assert_true(reads >= 1);
    assert_int_equal(state_of(f->s, "live"), SV_JOB_QUEUED);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "live", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.last_seq, 400);
    assert_string_equal(j.progress, "{\"iter\":400}");
    sv_job_clear(&j);
}

/* ------------------------------------------------------------------------------------------ */
/* Claims, leases, heartbeats                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void claim_next_expect(sv_store *s, const char *node, double now, double lease_s,
                              const char *want_id, int want_attempts)
{
    sv_job j;
    int rc = sv_store_claim_next(s, node, now, lease_s, &j);
    if (rc != SV_STORE_OK)
        fprintf(stderr, "claim_next: %s\n", sv_store_errmsg(s));
    assert_int_equal(rc, SV_STORE_OK);
    assert_string_equal(j.id, want_id);
    assert_int_equal(j.state, SV_JOB_RUNNING);
    assert_int_equal(j.attempts, want_attempts);
    assert_string_equal(j.node, node);
    assert_true(j.started_at == now);
    assert_true(j.lease_until == (lease_s > 0 ? now + lease_s : 0.0));
    assert_non_null(j.request);   /* what a worker needs to run it */
    sv_job_clear(&j);
}

/* The last event of job id: its type and data (malloc'd into *data). */
static long last_event_of(sv_store *s, const char *id, char *type, size_t tn, char **data)
{
    last_event le = {0, "", NULL, 0};
    assert_int_equal(sv_store_events(s, id, 0, 0, keep_last_event, &le), SV_STORE_OK);
    snprintf(type, tn, "%s", le.type);
    *data = le.data;
    return le.seq;
}

static void test_claim_next_order(void **state)
{
    fixture *f = *state;
    insert(f->s, "a", "t", "s", 0, 10.0, NULL, NULL);
    insert(f->s, "b", "t", "s", 5, 30.0, NULL, NULL);
    insert(f->s, "c", "t", "s", 5, 20.0, NULL, NULL);
    insert(f->s, "d", "u", "s", -1, 1.0, NULL, NULL);
    insert(f->s, "e", "t", "s", 5, 20.0, NULL, NULL);   /* ties with c: the id decides */
    claim_next_expect(f->s, "n1", 100.0, 0, "c", 1);
    claim_next_expect(f->s, "n1", 101.0, 0, "e", 1);
    claim_next_expect(f->s, "n2", 102.0, 30.0, "b", 1);
    claim_next_expect(f->s, "n1", 103.0, 0, "a", 1);
    claim_next_expect(f->s, "n1", 104.0, 0, "d", 1);
    sv_job j;
    assert_int_equal(sv_store_claim_next(f->s, "n1", 105.0, 0, &j), SV_STORE_ENOTFOUND);
    assert_null(j.request);
    /* Claimed jobs are running: neither claimable again nor listed as queued. */
    assert_int_equal(sv_store_claim_job(f->s, "a", "n2", 106.0, 0, 2), SV_STORE_ESTATE);
    assert_int_equal(sv_store_claim_job(f->s, "missing", "n2", 106.0, 0, 1), SV_STORE_ENOTFOUND);
    long counts[SV_JOB_NSTATES];
    assert_int_equal(sv_store_count_states(f->s, counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_RUNNING], 5);
    assert_int_equal(counts[SV_JOB_QUEUED], 0);
    /* claim_job records what it is given. */
    insert(f->s, "g", "t", "s", 0, 40.0, NULL, NULL);
    assert_int_equal(sv_store_claim_job(f->s, "g", "n3", 200.0, 15.0, 4), SV_STORE_OK);
    assert_int_equal(sv_store_get_job(f->s, "g", NULL, &j), SV_STORE_OK);
    assert_string_equal(j.node, "n3");
    assert_int_equal(j.attempts, 4);
    assert_true(j.started_at == 200.0 && j.lease_until == 215.0);
    sv_job_clear(&j);
}

static void test_leases(void **state)
{
    fixture *f = *state;
    insert(f->s, "mine", "t", "s", 0, 1.0, NULL, NULL);
    insert(f->s, "theirs", "t", "s", 0, 2.0, NULL, NULL);
    insert(f->s, "forever", "t", "s", 0, 3.0, NULL, NULL);
    insert(f->s, "done", "t", "s", 0, 4.0, NULL, NULL);
    insert(f->s, "tired", "t", "s", 0, 5.0, NULL, NULL);
    assert_int_equal(sv_store_claim_job(f->s, "mine", "n1", 100.0, 30.0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "theirs", "n2", 100.0, 30.0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "forever", "n2", 100.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "done", "n2", 100.0, 10.0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "tired", "n2", 100.0, 10.0, 3), SV_STORE_OK);
    assert_int_equal(sv_store_finish_job(f->s, "done", NULL, SV_JOB_SUCCEEDED, 105.0, "{}", "{}", NULL),
                     SV_STORE_OK);

    /* n1 renews its lease; n2 does not. */
    int renewed = -1;
    assert_int_equal(sv_store_heartbeat(f->s, "n1", 120.0, 30.0, &renewed), SV_STORE_OK);
    assert_int_equal(renewed, 1);
    assert_int_equal(sv_store_heartbeat(f->s, "nobody", 120.0, 30.0, &renewed), SV_STORE_OK);
    assert_int_equal(renewed, 0);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "mine", NULL, &j), SV_STORE_OK);
    assert_true(j.lease_until == 150.0);
    sv_job_clear(&j);

    /* Before any lease ran out: nothing moves. */
    int requeued = -1, failed = -1;
    assert_int_equal(sv_store_requeue_expired(f->s, 109.0, 3, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued + failed, 0);

    /* At 140: tired (3 of 3 attempts) fails, theirs goes back to the queue; mine (renewed),
     * forever (no expiry) and done (finished) stay as they are. */
    assert_int_equal(sv_store_requeue_expired(f->s, 140.0, 3, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued, 1);
    assert_int_equal(failed, 1);
    assert_int_equal(state_of(f->s, "mine"), SV_JOB_RUNNING);
    assert_int_equal(state_of(f->s, "forever"), SV_JOB_RUNNING);
    assert_int_equal(state_of(f->s, "done"), SV_JOB_SUCCEEDED);
    assert_int_equal(sv_store_get_job(f->s, "done", NULL, &j), SV_STORE_OK);
    assert_true(j.finished_at == 105.0);
    assert_null(j.error);
    assert_int_equal(j.last_seq, 0);   /* no event either */
    sv_job_clear(&j);

    assert_int_equal(sv_store_get_job(f->s, "theirs", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_QUEUED);
    assert_int_equal(j.attempts, 1);
    assert_string_equal(j.node, "");
    assert_true(j.started_at == 0 && j.lease_until == 0);
    sv_job_clear(&j);
    char type[16], *data = NULL;
    assert_int_equal(last_event_of(f->s, "theirs", type, sizeof type, &data), 1);
    assert_string_equal(type, "status");
    assert_string_equal(data, "{\"status\":\"queued\",\"attempt\":1}");
    free(data);

    assert_int_equal(sv_store_get_job(f->s, "tired", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_FAILED);
    assert_true(j.finished_at == 140.0);
    assert_string_equal(j.error, "{\"code\":\"interrupted\",\"message\":\"interrupted: its node"
                                 " stopped renewing its lease while the job was running, after"
                                 " 3 of 3 allowed attempts\"}");
    sv_job_clear(&j);
    assert_int_equal(last_event_of(f->s, "tired", type, sizeof type, &data), 1);
    json_t *ev = json_loads(data, 0, NULL);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "status")), "failed");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "error"), "code")), "interrupted");
    json_decref(ev);
    free(data);

    /* The requeued job can be claimed again, by anyone, as its next attempt. */
    claim_next_expect(f->s, "n1", 150.0, 30.0, "theirs", 2);
    /* The renewed lease holds until it too runs out unrenewed. */
    assert_int_equal(sv_store_requeue_expired(f->s, 151.0, 3, &requeued, NULL), SV_STORE_OK);
    assert_int_equal(requeued, 1);   /* mine (150) */
    assert_int_equal(state_of(f->s, "mine"), SV_JOB_QUEUED);
}

static void test_release(void **state)
{
    fixture *f = *state;
    insert(f->s, "j", "t", "s", 0, 1.0, NULL, NULL);
    assert_int_equal(sv_store_add_event(f->s, "j", 1, "status", 1.0, "{}"), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "j", "n1", 10.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_add_event(f->s, "j", 2, "status", 10.0, "{}"), SV_STORE_OK);
    /* Only the holder can give it back. */
    assert_int_equal(sv_store_release(f->s, "j", "n2", 11.0), SV_STORE_ESTATE);
    assert_int_equal(sv_store_release(f->s, "missing", "n1", 11.0), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_release(f->s, "j", "n1", 12.0), SV_STORE_OK);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "j", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_QUEUED);
    assert_int_equal(j.attempts, 1);   /* the attempt stays counted */
    assert_string_equal(j.node, "");
    assert_int_equal(j.last_seq, 3);
    sv_job_clear(&j);
    char type[16], *data = NULL;
    assert_int_equal(last_event_of(f->s, "j", type, sizeof type, &data), 3);
    assert_string_equal(data, "{\"status\":\"queued\",\"attempt\":1}");
    free(data);
    /* Queued now: nothing to release; and a finished job is never released. */
    assert_int_equal(sv_store_release(f->s, "j", "n1", 13.0), SV_STORE_ESTATE);
    claim_next_expect(f->s, "n2", 14.0, 0, "j", 2);
    assert_int_equal(sv_store_finish_job(f->s, "j", NULL, SV_JOB_SUCCEEDED, 15.0, NULL, NULL, NULL),
                     SV_STORE_OK);
    assert_int_equal(sv_store_release(f->s, "j", "n2", 16.0), SV_STORE_ESTATE);
    assert_int_equal(state_of(f->s, "j"), SV_JOB_SUCCEEDED);
}

/* Recovery takes back the jobs of its own node (and those of no node), not another's. */
static void test_recover_per_node(void **state)
{
    fixture *f = *state;
    insert(f->s, "x", "t", "s", 0, 1.0, NULL, NULL);
    insert(f->s, "y", "t", "s", 0, 2.0, NULL, NULL);
    insert(f->s, "z", "t", "s", 0, 3.0, NULL, NULL);
    assert_int_equal(sv_store_claim_job(f->s, "x", "n1", 10.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "y", "n2", 10.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "z", "", 10.0, 0, 1), SV_STORE_OK);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "z", NULL, &j), SV_STORE_OK);
    assert_string_equal(j.node, "");
    sv_job_clear(&j);
    int requeued = -1, failed = -1;
    assert_int_equal(sv_store_recover(f->s, "n1", 3, 20.0, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued, 2);
    assert_int_equal(failed, 0);
    assert_int_equal(state_of(f->s, "x"), SV_JOB_QUEUED);
    assert_int_equal(state_of(f->s, "z"), SV_JOB_QUEUED);
    assert_int_equal(state_of(f->s, "y"), SV_JOB_RUNNING);
    assert_int_equal(sv_store_recover(f->s, "n2", 3, 21.0, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued, 1);
    assert_int_equal(state_of(f->s, "y"), SV_JOB_QUEUED);
}

/* ---- cancel ---- */

static int collect_id(void *data, const char *id)
{
    char *buf = data;
    if (strlen(buf) + strlen(id) + 2 < 256) {
        strcat(buf, id);
        strcat(buf, ",");
    }
    return 0;
}

/* A queued job is cancelled at once, with its status event; a running one is marked for its
 * node; a final one is left alone; another tenant's is not found. */
static void test_cancel(void **state)
{
    fixture *f = *state;
    insert(f->s, "q", "t", "s", 0, 1.0, NULL, NULL);
    insert(f->s, "r", "t", "s", 0, 2.0, NULL, NULL);
    insert(f->s, "o", "t", "s", 0, 3.0, NULL, NULL);
    assert_int_equal(sv_store_add_event(f->s, "q", 1, "status", 1.0, "{}"), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "r", "n1", 10.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "o", "n2", 10.0, 0, 1), SV_STORE_OK);

    sv_job_state was = SV_JOB_NSTATES;
    assert_int_equal(sv_store_cancel(f->s, "q", "other", 11.0, &was), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_cancel(f->s, "missing", NULL, 11.0, &was), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_cancel(f->s, "q", "t", 11.0, &was), SV_STORE_OK);
    assert_int_equal(was, SV_JOB_QUEUED);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "q", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_CANCELLED);
    assert_true(j.finished_at == 11.0);
    assert_string_equal(j.error, SV_CANCELLED_ERROR_JSON);
    assert_int_equal(j.last_seq, 2);
    sv_job_clear(&j);
    char type[16], *data = NULL;
    assert_int_equal(last_event_of(f->s, "q", type, sizeof type, &data), 2);
    assert_string_equal(type, "status");
    assert_string_equal(data, "{\"status\":\"cancelled\",\"attempt\":0,\"error\":{\"code\":"
                              "\"cancelled\",\"message\":\"cancelled on request\"}}");
    free(data);
    /* Cancelled already: a second cancel is refused, the row unchanged. */
    assert_int_equal(sv_store_cancel(f->s, "q", "t", 12.0, &was), SV_STORE_ESTATE);
    assert_int_equal(was, SV_JOB_CANCELLED);

    /* Running: marked, still running; only its own node sees the mark. */
    char ids[256] = "";
    assert_int_equal(sv_store_cancel_requests(f->s, "n1", collect_id, ids), SV_STORE_OK);
    assert_string_equal(ids, "");
    assert_int_equal(sv_store_cancel(f->s, "r", NULL, 13.0, &was), SV_STORE_OK);
    assert_int_equal(was, SV_JOB_RUNNING);
    assert_int_equal(state_of(f->s, "r"), SV_JOB_RUNNING);
    assert_int_equal(sv_store_cancel_requests(f->s, "n1", collect_id, ids), SV_STORE_OK);
    assert_string_equal(ids, "r,");
    ids[0] = 0;
    assert_int_equal(sv_store_cancel_requests(f->s, "n2", collect_id, ids), SV_STORE_OK);
    assert_string_equal(ids, "");
    /* Its node finishes it: no longer listed. */
    assert_int_equal(sv_store_finish_job(f->s, "r", NULL, SV_JOB_CANCELLED, 14.0, NULL, NULL,
                                         SV_CANCELLED_ERROR_JSON),
                     SV_STORE_OK);
    assert_int_equal(sv_store_cancel_requests(f->s, "n1", collect_id, ids), SV_STORE_OK);
    assert_string_equal(ids, "");

    /* A marked job whose node is gone is not run again: recovery makes it cancelled. */
    assert_int_equal(sv_store_cancel(f->s, "o", NULL, 15.0, &was), SV_STORE_OK);
    int requeued = -1, failed = -1;
    assert_int_equal(sv_store_recover(f->s, "n2", 3, 16.0, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(sv_store_get_job(f->s, "o", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_CANCELLED);
    assert_string_equal(j.error, SV_CANCELLED_ERROR_JSON);
    sv_job_clear(&j);
    assert_int_equal(last_event_of(f->s, "o", type, sizeof type, &data), 1);
    assert_string_equal(data, "{\"status\":\"cancelled\",\"attempt\":1,\"error\":{\"code\":"
                              "\"cancelled\",\"message\":\"cancelled on request\"}}");
    free(data);
    assert_int_equal(sv_store_claim_next(f->s, "n3", 17.0, 0, &j), SV_STORE_ENOTFOUND);
}

/* A node finishes a running job only while it holds it: once its lease ran out and another
 * node claimed the job, its late finish is refused and the new run's stands. */
static void test_finish_by_holder(void **state)
{
    fixture *f = *state;
    insert(f->s, "a", "t", "s", 0, 1.0, NULL, NULL);
    assert_int_equal(sv_store_claim_job(f->s, "a", "n1", 10.0, 5.0, 1), SV_STORE_OK);
    int requeued = 0, failed = 0;
    assert_int_equal(sv_store_requeue_expired(f->s, 16.0, 3, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued, 1);
    sv_job j;
    assert_int_equal(sv_store_claim_next(f->s, "n2", 17.0, 5.0, &j), SV_STORE_OK);
    sv_job_clear(&j);
    assert_int_equal(sv_store_finish_job(f->s, "a", "n1", SV_JOB_SUCCEEDED, 18.0, "{\"by\":1}",
                                         NULL, NULL),
                     SV_STORE_ESTATE);
    assert_int_equal(state_of(f->s, "a"), SV_JOB_RUNNING);
    assert_int_equal(sv_store_finish_job(f->s, "a", "n2", SV_JOB_SUCCEEDED, 19.0, "{\"by\":2}",
                                         NULL, NULL),
                     SV_STORE_OK);
    assert_int_equal(sv_store_get_job(f->s, "a", NULL, &j), SV_STORE_OK);
    assert_string_equal(j.summary, "{\"by\":2}");
    sv_job_clear(&j);
    /* A queued job is finished (cancelled) by anyone, node or not. */
    insert(f->s, "b", "t", "s", 0, 2.0, NULL, NULL);
    assert_int_equal(sv_store_finish_job(f->s, "b", "n3", SV_JOB_CANCELLED, 20.0, NULL, NULL,
                                         NULL),
                     SV_STORE_OK);
}

/* The same when the lease of a marked job runs out. */
static void test_cancel_expired_lease(void **state)
{
    fixture *f = *state;
    insert(f->s, "a", "t", "s", 0, 1.0, NULL, NULL);
    assert_int_equal(sv_store_claim_job(f->s, "a", "n1", 10.0, 5.0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_cancel(f->s, "a", "t", 11.0, NULL), SV_STORE_OK);
    int requeued = -1, failed = -1;
    assert_int_equal(sv_store_requeue_expired(f->s, 20.0, 3, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(state_of(f->s, "a"), SV_JOB_CANCELLED);
}

/* ------------------------------------------------------------------------------------------ */

static int count_events(void *data, long seq, const char *type, double ts, const char *json)
{
    (void)seq, (void)type, (void)ts, (void)json;
    (*(int *)data)++;
    return 0;
}

/* A finished job can be deleted by its tenant, with its events; a queued or running one not. */
static void test_delete(void **state)
{
    fixture *f = *state;
    insert(f->s, "done", "t", "s", 0, 1.0, NULL, NULL);
    insert(f->s, "live", "t", "s", 0, 2.0, NULL, NULL);
    assert_int_equal(sv_store_add_event(f->s, "done", 1, "status", 1.5, "{}"), SV_STORE_OK);
    assert_int_equal(sv_store_add_event(f->s, "done", 2, "progress", 1.6, "{}"), SV_STORE_OK);
    assert_int_equal(sv_store_finish_job(f->s, "done", NULL, SV_JOB_SUCCEEDED, 3.0, "{}", "{\"x\":1}",
                                         NULL), SV_STORE_OK);
    assert_int_equal(sv_store_delete_job(f->s, "done", "other"), SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_delete_job(f->s, "live", "t"), SV_STORE_ESTATE);
    assert_int_equal(sv_store_claim_job(f->s, "live", "n1", 2.5, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_delete_job(f->s, "live", NULL), SV_STORE_ESTATE);
    assert_int_equal(sv_store_delete_job(f->s, "done", "t"), SV_STORE_OK);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "done", NULL, &j), SV_STORE_ENOTFOUND);
    int n = 0;
    assert_int_equal(sv_store_events(f->s, "done", 0, 0, count_events, &n), SV_STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sv_store_delete_job(f->s, "done", "t"), SV_STORE_ENOTFOUND);
    assert_int_equal(state_of(f->s, "live"), SV_JOB_RUNNING);
}

/* Retention by age, then by count, batch-limited; never a queued or running job. */
static void test_prune(void **state)
{
    fixture *f = *state;
    char id[8];
    for (int k = 0; k < 6; k++) {  /* j0..j5 finished at 10, 20, ..., 60 */
        snprintf(id, sizeof id, "j%d", k);
        insert(f->s, id, "t", "s", 0, 1.0 + k, NULL, NULL);
        assert_int_equal(sv_store_add_event(f->s, id, 1, "status", 2.0, "{}"), SV_STORE_OK);
        assert_int_equal(sv_store_finish_job(f->s, id, NULL, SV_JOB_SUCCEEDED, 10.0 * (k + 1), NULL,
                                             NULL, NULL), SV_STORE_OK);
    }
    insert(f->s, "q", "t", "s", 0, 0.5, NULL, NULL);  /* queued: kept whatever the rules */
    long deleted = -1;
    assert_int_equal(sv_store_prune(f->s, 25.0, 0, 100, &deleted), SV_STORE_OK);
    assert_int_equal(deleted, 2);  /* j0, j1 */
    assert_int_equal(sv_store_get_job(f->s, "j1", NULL, &(sv_job){0}), SV_STORE_ENOTFOUND);
    int n = 0;
    assert_int_equal(sv_store_events(f->s, "j0", 0, 0, count_events, &n), SV_STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sv_store_prune(f->s, 0, 3, 1, &deleted), SV_STORE_OK);
    assert_int_equal(deleted, 1);  /* the limit */
    assert_int_equal(sv_store_prune(f->s, 0, 3, 100, &deleted), SV_STORE_OK);
    assert_int_equal(deleted, 0);  /* j3, j4, j5 are the three newest */
    long counts[SV_JOB_NSTATES];
    assert_int_equal(sv_store_count_states(f->s, counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_SUCCEEDED], 3);
    assert_int_equal(counts[SV_JOB_QUEUED], 1);
    assert_int_equal(state_of(f->s, "j3"), SV_JOB_SUCCEEDED);
    assert_int_equal(sv_store_checkpoint(f->s), SV_STORE_OK);
    assert_int_equal(state_of(f->s, "j5"), SV_JOB_SUCCEEDED);
}

int sv_store_contract_run(const sv_store_harness *h)
{
    H = h;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_tags_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_machine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_reader_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_next_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_per_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_expired_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_by_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
    };
    return cmocka_run_group_tests_name(h->name, tests, NULL, NULL);
}
