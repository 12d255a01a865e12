/* test_store_postgres.c - the PostgreSQL backend (storage/postgres.c): the store contract
 * (store_contract.c) with each fresh store a new schema of the throwaway cluster that
 * tests/support/pgcluster.sh starts for ctest (the store's URL names the schema through
 * ?options=-csearch_path%3D<schema>), then what only a shared store has: concurrent claimers
 * get disjoint jobs, lease expiry never touches a finished job, nodes creating the schema at
 * once, notifications, batches that survive a failing operation, a lost connection.
 *
 * The cluster's URL comes from SOLVD_TEST_PG_URL, or from the file url in the directory
 * SOLVD_TEST_PG_STATE (the ctest fixture's); the test skips (exit 77) when the fixture found no
 * initdb, or when neither variable is set (run by hand without a cluster). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/backend.h"
#include "store_contract.h"

/* The schema version storage/postgres.c migrates to; bump it with each new migration. */
#define SCHEMA_LATEST 1
#define SKIP 77

static char base_url[512];      /* the cluster's database */
static PGconn *admin;           /* creates and drops the test schemas */
static atomic_int schema_seq;

static void admin_exec(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "admin: %s: %s", sql, PQerrorMessage(admin));
    assert_true(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
}

/* One integer from a query of the admin connection. */
static long admin_long(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "admin: %s: %s", sql, PQerrorMessage(admin));
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* ------------------------------------------------------------------------------------------ */
/* The contract's harness: one new schema per test                                             */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    char schema[64];
    char url[640];
    sv_store *s;
} fixture;

static int open_url(const char *url, sv_store **out)
{
    char err[512] = "";
    if (sv_store_open(url, out, err, sizeof err) != SV_STORE_OK) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    return 0;
}

/* A new, empty schema and the store URL that puts it first on search_path. */
static fixture *new_schema(void)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    snprintf(f->schema, sizeof f->schema, "test_%ld_%d", (long)getpid(),
             atomic_fetch_add(&schema_seq, 1));
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", f->schema);
    PGresult *r = PQexec(admin, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(admin));
    PQclear(r);
    if (!ok) {
        free(f);
        return NULL;
    }
    snprintf(f->url, sizeof f->url, "%s%soptions=-csearch_path%%3D%s", base_url,
             strchr(base_url, '?') ? "&" : "?", f->schema);
    return f;
}

static void drop_schema(fixture *f)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", f->schema);
    PQclear(PQexec(admin, sql));
    free(f);
}

static int h_open_fresh(void **ctx, sv_store **out)
{
    fixture *f = new_schema();
    if (!f)
        return -1;
    if (open_url(f->url, out) != 0) {
        drop_schema(f);
        return -1;
    }
    *ctx = f;
    return 0;
}

static int h_reopen(void *ctx, sv_store **s)
{
    fixture *f = ctx;
    sv_store_close(*s);
    *s = NULL;
    return open_url(f->url, s);
}

static int h_open_second(void *ctx, sv_store **out)
{
    fixture *f = ctx;
    return open_url(f->url, out);
}

static void h_destroy(void *ctx) { drop_schema(ctx); }

static const sv_store_harness postgres_harness = {
    .name = "store contract (postgres)",
    .schema_latest = SCHEMA_LATEST,
    .open_fresh = h_open_fresh,
    .reopen = h_reopen,
    .open_second = h_open_second,
    .destroy = h_destroy,
};

/* ------------------------------------------------------------------------------------------ */
/* PostgreSQL only                                                                             */
/* ------------------------------------------------------------------------------------------ */

static int setup(void **state)
{
    void *ctx = NULL;
    sv_store *s = NULL;
    if (h_open_fresh(&ctx, &s) != 0)
        return -1;
    fixture *f = ctx;
    f->s = s;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_store_close(f->s);
    h_destroy(f);
    return 0;
}

static void insert_job(sv_store *s, const char *id, int priority, double created_at,
                       const char *request)
{
    sv_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.id, sizeof j.id, "%s", id);
    snprintf(j.tenant, sizeof j.tenant, "t");
    snprintf(j.solver, sizeof j.solver, "s");
    j.state = SV_JOB_QUEUED;
    j.priority = priority;
    j.created_at = created_at;
    j.request = (char *)(request ? request : "{\"problem\":{},\"params\":{}}");
    int rc = sv_store_insert_job(s, &j);
    if (rc != SV_STORE_OK)
        fprintf(stderr, "insert %s: %s\n", id, sv_store_errmsg(s));
    assert_int_equal(rc, SV_STORE_OK);
}

static sv_job_state state_of(sv_store *s, const char *id)
{
    sv_job j;
    assert_int_equal(sv_store_get_job(s, id, NULL, &j), SV_STORE_OK);
    sv_job_state st = j.state;
    sv_job_clear(&j);
    return st;
}

static void test_backend_and_schema(void **state)
{
    fixture *f = *state;
    assert_string_equal(sv_store_backend(f->s), "postgres");
    assert_int_equal(sv_store_caps(f->s), SV_STORE_CAP_SHARED);
    assert_int_equal(sv_store_schema_version(f->s), SCHEMA_LATEST);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_tables WHERE schemaname = '%s'"
             " AND tablename IN ('jobs', 'events', 'solvd_schema_version')", f->schema);
    assert_int_equal(admin_long(sql), 3);
    snprintf(sql, sizeof sql, "SELECT version FROM %s.solvd_schema_version", f->schema);
    assert_int_equal(admin_long(sql), SCHEMA_LATEST);
    /* A database from a newer solvd is refused, not downgraded. */
    snprintf(sql, sizeof sql, "UPDATE %s.solvd_schema_version SET version = %d", f->schema,
             SCHEMA_LATEST + 1);
    admin_exec(sql);
    sv_store *s = (sv_store *)sql;
    char err[512] = "";
    assert_int_equal(sv_store_open(f->url, &s, err, sizeof err), SV_STORE_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "newer"));
}

/* The request text comes back byte for byte (text, not jsonb), and doubles exactly. */
static void test_exact_text_and_doubles(void **state)
{
    fixture *f = *state;
    static const char req[] = "{\"problem\": {\"b\":1,  \"a\":[1.0, 2e3, 0.10]},\n\"params\":{}}";
    insert_job(f->s, "exact", 0, 0.1, req);
    char *got = NULL;
    assert_int_equal(sv_store_get_request(f->s, "exact", &got), SV_STORE_OK);
    assert_string_equal(got, req);
    free(got);

    static const double vals[] = {1.0 / 3.0, 1e-300, DBL_MAX, 4.9e-324, 1700000000.123456789};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char id[16];
        snprintf(id, sizeof id, "d%zu", i);
        insert_job(f->s, id, 0, vals[i], NULL);
        sv_job j;
        assert_int_equal(sv_store_get_job(f->s, id, NULL, &j), SV_STORE_OK);
        assert_true(j.created_at == vals[i]);
        sv_job_clear(&j);
    }
}

/* ---- concurrent claimers ---- */

#define CLAIM_JOBS 200

typedef struct {
    fixture *f;
    const char *node;
    pthread_barrier_t *start;
    char ids[CLAIM_JOBS][40];
    int n;
    int rc;
} claimer;

static void *claim_all(void *p)
{
    claimer *c = p;
    sv_store *s = NULL;
    c->rc = open_url(c->f->url, &s) == 0 ? SV_STORE_OK : SV_STORE_EIO;
    pthread_barrier_wait(c->start);
    if (c->rc)
        return NULL;
    for (;;) {
        sv_job j;
        int rc = sv_store_claim_next(s, c->node, 1000.0, 30.0, &j);
        if (rc == SV_STORE_ENOTFOUND)
            break;
        if (rc != SV_STORE_OK) {
            fprintf(stderr, "claim_next (%s): %s\n", c->node, sv_store_errmsg(s));
            c->rc = rc;
            break;
        }
        if (strcmp(j.node, c->node) != 0 || j.state != SV_JOB_RUNNING || !j.request ||
            c->n >= CLAIM_JOBS)
            c->rc = SV_STORE_EIO;
        else
            snprintf(c->ids[c->n++], sizeof c->ids[0], "%s", j.id);
        sv_job_clear(&j);
        if (c->rc)
            break;
    }
    sv_store_close(s);
    return NULL;
}

/* Two nodes claiming at once from 200 queued jobs: every job goes to exactly one of them. */
static void test_concurrent_claims_disjoint(void **state)
{
    fixture *f = *state;
    assert_int_equal(sv_store_begin(f->s), SV_STORE_OK);
    for (int i = 0; i < CLAIM_JOBS; i++) {
        char id[16];
        snprintf(id, sizeof id, "job%03d", i);
        insert_job(f->s, id, i % 4, 100.0 + i, NULL);
    }
    assert_int_equal(sv_store_commit(f->s), SV_STORE_OK);

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    static claimer c[2];
    memset(c, 0, sizeof c);
    c[0] = (claimer){.f = f, .node = "n1", .start = &start};
    c[1] = (claimer){.f = f, .node = "n2", .start = &start};
    pthread_t th[2];
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&th[k], NULL, claim_all, &c[k]), 0);
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_join(th[k], NULL), 0);
    pthread_barrier_destroy(&start);
    assert_int_equal(c[0].rc, SV_STORE_OK);
    assert_int_equal(c[1].rc, SV_STORE_OK);
    assert_int_equal(c[0].n + c[1].n, CLAIM_JOBS);

    int owner[CLAIM_JOBS];
    for (int i = 0; i < CLAIM_JOBS; i++)
        owner[i] = -1;
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < c[k].n; i++) {
            int idx = atoi(c[k].ids[i] + 3);
            assert_true(idx >= 0 && idx < CLAIM_JOBS);
            assert_int_equal(owner[idx], -1);   /* nobody else got it */
            owner[idx] = k;
        }
    }
    /* The store agrees: each job is running once, on the node that got it, at attempt 1. */
    for (int i = 0; i < CLAIM_JOBS; i++) {
        char id[16];
        snprintf(id, sizeof id, "job%03d", i);
        sv_job j;
        assert_int_equal(sv_store_get_job(f->s, id, NULL, &j), SV_STORE_OK);
        assert_int_equal(j.state, SV_JOB_RUNNING);
        assert_int_equal(j.attempts, 1);
        assert_string_equal(j.node, c[owner[i]].node);
        sv_job_clear(&j);
    }
    long counts[SV_JOB_NSTATES];
    assert_int_equal(sv_store_count_states(f->s, counts), SV_STORE_OK);
    assert_int_equal(counts[SV_JOB_RUNNING], CLAIM_JOBS);
    assert_int_equal(counts[SV_JOB_QUEUED], 0);
}

/* ---- lease expiry against finishing ---- */

#define RACE_JOBS 60

typedef struct {
    fixture *f;
    pthread_barrier_t *start;
    int finish_rc[RACE_JOBS];
    int rc;
} finisher;

static void *finish_all(void *p)
{
    finisher *w = p;
    sv_store *s = NULL;
    w->rc = open_url(w->f->url, &s) == 0 ? SV_STORE_OK : SV_STORE_EIO;
    pthread_barrier_wait(w->start);
    if (w->rc)
        return NULL;
    for (int i = 0; i < RACE_JOBS; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%02d", i);
        w->finish_rc[i] = sv_store_finish_job(s, id, NULL, SV_JOB_SUCCEEDED, 500.0, "{\"by\":\"owner\"}",
                                              "{\"x\":1}", NULL);
    }
    sv_store_close(s);
    return NULL;
}

/* requeue_expired never touches a finished job: neither one finished before it runs, nor one
 * that its owner finishes while another node requeues the expired leases. */
static void test_requeue_never_touches_finished(void **state)
{
    fixture *f = *state;
    insert_job(f->s, "done", 0, 1.0, NULL);
    insert_job(f->s, "cancelled", 0, 2.0, NULL);
    assert_int_equal(sv_store_claim_job(f->s, "done", "n1", 10.0, 5.0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "cancelled", "n1", 10.0, 5.0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_finish_job(f->s, "done", NULL, SV_JOB_SUCCEEDED, 12.0, "{}", "{}", NULL),
                     SV_STORE_OK);
    assert_int_equal(sv_store_finish_job(f->s, "cancelled", NULL, SV_JOB_CANCELLED, 12.0, NULL, NULL,
                                         "{\"code\":\"cancelled\"}"),
                     SV_STORE_OK);
    int requeued = -1, failed = -1;
    assert_int_equal(sv_store_requeue_expired(f->s, 100.0, 1, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued + failed, 0);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "done", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_SUCCEEDED);
    assert_true(j.finished_at == 12.0);
    assert_int_equal(j.last_seq, 0);
    assert_null(j.error);
    sv_job_clear(&j);
    assert_int_equal(state_of(f->s, "cancelled"), SV_JOB_CANCELLED);

    /* The race: every lease has expired (and one attempt is all a job gets); the owner
     * finishes its jobs while another node fails the expired ones over and over. Each job ends
     * either finished by its owner and untouched afterwards, or failed as interrupted before
     * the owner's finish, which then finds it final. */
    assert_int_equal(sv_store_begin(f->s), SV_STORE_OK);
    for (int i = 0; i < RACE_JOBS; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%02d", i);
        insert_job(f->s, id, 0, 20.0 + i, NULL);
        assert_int_equal(sv_store_claim_job(f->s, id, "owner", 30.0, 10.0, 1), SV_STORE_OK);
    }
    assert_int_equal(sv_store_commit(f->s), SV_STORE_OK);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    static finisher w;
    memset(&w, 0, sizeof w);
    w.f = f;
    w.start = &start;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, finish_all, &w), 0);
    pthread_barrier_wait(&start);
    int total_failed = 0;
    for (int round = 0; round < 200; round++) {
        int q = -1, nf = 0;
        assert_int_equal(sv_store_requeue_expired(f->s, 100.0, 1, &q, &nf), SV_STORE_OK);
        assert_int_equal(q, 0);
        total_failed += nf;
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_barrier_destroy(&start);
    assert_int_equal(w.rc, SV_STORE_OK);
    /* Nothing is left running: a last pass finds nothing. */
    assert_int_equal(sv_store_requeue_expired(f->s, 100.0, 1, &requeued, &failed), SV_STORE_OK);
    assert_int_equal(requeued + failed, 0);

    int finished = 0;
    for (int i = 0; i < RACE_JOBS; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%02d", i);
        assert_int_equal(sv_store_get_job(f->s, id, NULL, &j), SV_STORE_OK);
        if (w.finish_rc[i] == SV_STORE_OK) {
            finished++;
            assert_int_equal(j.state, SV_JOB_SUCCEEDED);
            assert_string_equal(j.summary, "{\"by\":\"owner\"}");
            assert_null(j.error);
            assert_true(j.finished_at == 500.0);
            assert_int_equal(j.last_seq, 0);   /* no status event from the other node */
        } else {
            assert_int_equal(w.finish_rc[i], SV_STORE_ESTATE);
            assert_int_equal(j.state, SV_JOB_FAILED);
            assert_null(j.summary);
            assert_non_null(strstr(j.error, "interrupted"));
            assert_int_equal(j.last_seq, 1);
        }
        sv_job_clear(&j);
    }
    assert_int_equal(finished + total_failed, RACE_JOBS);
}

/* ---- several nodes creating the schema at once ---- */

typedef struct {
    const char *url;
    pthread_barrier_t *start;
    int rc;
    int version;
} opener;

static void *open_at_once(void *p)
{
    opener *o = p;
    pthread_barrier_wait(o->start);
    sv_store *s = NULL;
    char err[512] = "";
    o->rc = sv_store_open(o->url, &s, err, sizeof err);
    if (o->rc)
        fprintf(stderr, "concurrent open: %s\n", err);
    o->version = sv_store_schema_version(s);
    if (!o->rc) {
        /* Each can use it straight away. */
        sv_job j;
        int rc = sv_store_get_job(s, "nothing", NULL, &j);
        if (rc != SV_STORE_ENOTFOUND)
            o->rc = rc ? rc : SV_STORE_EIO;
    }
    sv_store_close(s);
    return NULL;
}

static void test_concurrent_schema_creation(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        fixture *f = new_schema();
        assert_non_null(f);
        enum { N = 4 };
        pthread_barrier_t start;
        assert_int_equal(pthread_barrier_init(&start, NULL, N), 0);
        opener o[N];
        pthread_t th[N];
        for (int k = 0; k < N; k++) {
            o[k] = (opener){.url = f->url, .start = &start};
            assert_int_equal(pthread_create(&th[k], NULL, open_at_once, &o[k]), 0);
        }
        for (int k = 0; k < N; k++)
            assert_int_equal(pthread_join(th[k], NULL), 0);
        pthread_barrier_destroy(&start);
        for (int k = 0; k < N; k++) {
            assert_int_equal(o[k].rc, SV_STORE_OK);
            assert_int_equal(o[k].version, SCHEMA_LATEST);
        }
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.solvd_schema_version", f->schema);
        assert_int_equal(admin_long(sql), 1);
        drop_schema(f);
    }
}

/* ---- the rest ---- */

/* A failing operation inside a batch leaves the batch usable: what follows still commits. */
static void test_batch_survives_failure(void **state)
{
    fixture *f = *state;
    insert_job(f->s, "a", 0, 1.0, NULL);
    assert_int_equal(sv_store_begin(f->s), SV_STORE_OK);
    insert_job(f->s, "b", 0, 2.0, NULL);
    sv_job dup;
    memset(&dup, 0, sizeof dup);
    snprintf(dup.id, sizeof dup.id, "a");
    snprintf(dup.solver, sizeof dup.solver, "s");
    assert_int_equal(sv_store_insert_job(f->s, &dup), SV_STORE_ECONFLICT);
    assert_non_null(strstr(sv_store_errmsg(f->s), "duplicate"));
    assert_int_equal(sv_store_add_event(f->s, "missing", 1, "status", 2.0, "{}"),
                     SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_finish_job(f->s, "nope", NULL, SV_JOB_FAILED, 2.0, NULL, NULL, NULL),
                     SV_STORE_ENOTFOUND);
    assert_int_equal(sv_store_claim_job(f->s, "a", "n1", 2.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "a", "n1", 2.0, 0, 2), SV_STORE_ESTATE);
    assert_int_equal(sv_store_add_event(f->s, "b", 1, "status", 2.0, "{}"), SV_STORE_OK);
    assert_int_equal(sv_store_add_event(f->s, "b", 1, "status", 2.0, "{\"again\":1}"),
                     SV_STORE_ECONFLICT);
    sv_job bad;
    memset(&bad, 0, sizeof bad);
    snprintf(bad.id, sizeof bad.id, "bad");
    snprintf(bad.solver, sizeof bad.solver, "s");
    bad.tags = (char *)"[\"unclosed\"";
    int rc = sv_store_insert_job(f->s, &bad);
    assert_int_not_equal(rc, SV_STORE_OK);
    assert_int_not_equal(rc, SV_STORE_ECONFLICT);
    insert_job(f->s, "c", 0, 3.0, NULL);
    assert_int_equal(sv_store_commit(f->s), SV_STORE_OK);
    sv_job j;
    assert_int_equal(sv_store_get_job(f->s, "b", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.last_seq, 1);
    sv_job_clear(&j);
    assert_int_equal(state_of(f->s, "a"), SV_JOB_RUNNING);
    assert_int_equal(state_of(f->s, "c"), SV_JOB_QUEUED);
    assert_int_equal(sv_store_get_job(f->s, "bad", NULL, &j), SV_STORE_ENOTFOUND);
    char *data = NULL;
    assert_int_equal(sv_store_get_request(f->s, "b", &data), SV_STORE_OK);
    free(data);
    /* The table refuses such tags too, should anything bypass the check. */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_constraint WHERE conrelid = '%s.jobs'::regclass"
             " AND contype = 'c'", f->schema);
    assert_int_equal(admin_long(sql), 2);   /* state and tags */
}

/* Waits (up to 10 s) for a notification on conn; returns it (PQfreemem) or NULL. */
static PGnotify *wait_notify(PGconn *conn)
{
    for (int i = 0; i < 100; i++) {
        assert_int_equal(PQconsumeInput(conn), 1);
        PGnotify *n = PQnotifies(conn);
        if (n)
            return n;
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        poll(&pfd, 1, 100);
    }
    return NULL;
}

static void test_notifications(void **state)
{
    fixture *f = *state;
    PGconn *l = PQconnectdb(base_url);
    assert_int_equal(PQstatus(l), CONNECTION_OK);
    PQclear(PQexec(l, "LISTEN solvd_jobs"));
    PQclear(PQexec(l, "LISTEN solvd_cancel"));

    insert_job(f->s, "n1", 0, 1.0, NULL);
    PGnotify *n = wait_notify(l);
    assert_non_null(n);
    assert_string_equal(n->relname, "solvd_jobs");
    PQfreemem(n);

    /* In a batch, it comes at the commit, once for the whole batch. */
    assert_int_equal(sv_store_begin(f->s), SV_STORE_OK);
    insert_job(f->s, "n2", 0, 2.0, NULL);
    insert_job(f->s, "n3", 0, 3.0, NULL);
    assert_int_equal(PQconsumeInput(l), 1);
    assert_null(PQnotifies(l));
    assert_int_equal(sv_store_commit(f->s), SV_STORE_OK);
    n = wait_notify(l);
    assert_non_null(n);
    assert_string_equal(n->relname, "solvd_jobs");
    PQfreemem(n);

    assert_int_equal(sv_store_finish_job(f->s, "n2", NULL, SV_JOB_CANCELLED, 4.0, NULL, NULL, NULL),
                     SV_STORE_OK);
    n = wait_notify(l);
    assert_non_null(n);
    assert_string_equal(n->relname, "solvd_cancel");
    assert_string_equal(n->extra, "n2");
    PQfreemem(n);
    /* Another final state says nothing; a job put back in the queue says there is work. */
    assert_int_equal(sv_store_finish_job(f->s, "n3", NULL, SV_JOB_SUCCEEDED, 4.0, NULL, NULL, NULL),
                     SV_STORE_OK);
    assert_int_equal(sv_store_claim_job(f->s, "n1", "x", 5.0, 0, 1), SV_STORE_OK);
    assert_int_equal(sv_store_release(f->s, "n1", "x", 6.0), SV_STORE_OK);
    n = wait_notify(l);
    assert_non_null(n);
    assert_string_equal(n->relname, "solvd_jobs");
    PQfreemem(n);
    PQfinish(l);
}

/* A connection that the server drops fails the call with EIO and libpq's message; the next
 * call reconnects. */
static void test_lost_connection(void **state)
{
    fixture *f = *state;
    insert_job(f->s, "kept", 0, 1.0, NULL);
    assert_int_equal(state_of(f->s, "kept"), SV_JOB_QUEUED);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE application_name = 'solvd' AND datname = current_database()"
             " AND pid <> pg_backend_pid()");
    assert_true(admin_long(sql) >= 1);
    sv_job j;
    int rc = SV_STORE_OK;
    /* The server may take a moment to close the socket. */
    for (int i = 0; i < 50 && rc == SV_STORE_OK; i++) {
        rc = sv_store_get_job(f->s, "kept", NULL, &j);
        if (rc == SV_STORE_OK) {
            sv_job_clear(&j);
            usleep(20000);
        }
    }
    assert_int_equal(rc, SV_STORE_EIO);
    assert_true(strlen(sv_store_errmsg(f->s)) > 0);
    assert_int_equal(state_of(f->s, "kept"), SV_JOB_QUEUED);
    insert_job(f->s, "after", 0, 2.0, NULL);   /* statements are prepared again */
    assert_int_equal(state_of(f->s, "after"), SV_JOB_QUEUED);
}

static void test_open_errors(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "postgresql://solvd:s3cret@127.0.0.1:1/solvd?connect_timeout=5",
        "postgres://127.0.0.1:1/solvd?password=s3cret&connect_timeout=5",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char err[512] = "";
        sv_store *s = (sv_store *)err;
        assert_int_equal(sv_store_open(urls[i], &s, err, sizeof err), SV_STORE_EIO);
        assert_null(s);
        assert_non_null(strstr(err, "PostgreSQL"));
        assert_non_null(strstr(err, "127.0.0.1:1/solvd"));
        assert_null(strstr(err, "s3cret"));   /* never shown */
        assert_non_null(strstr(err, "***"));
    }
    /* A search_path naming no schema that exists: no place for the tables. */
    char url[640], err[512] = "";
    snprintf(url, sizeof url, "%s%soptions=-csearch_path%%3Dno_such_schema", base_url,
             strchr(base_url, '?') ? "&" : "?");
    sv_store *s = NULL;
    assert_int_equal(sv_store_open(url, &s, err, sizeof err), SV_STORE_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "search_path"));
}

/* ---- cancel (the contract's test_cancel covers the single-handle cases) ---- */

static int count_ids(void *data, const char *id)
{
    (void)id;
    (*(int *)data)++;
    return 0;
}

#define CANCEL_JOBS 100

typedef struct {
    fixture *f;
    pthread_barrier_t *start;
    int rc[CANCEL_JOBS];
    sv_job_state was[CANCEL_JOBS];
    int open_rc;
} canceller;

static void *cancel_all(void *p)
{
    canceller *c = p;
    sv_store *s = NULL;
    c->open_rc = open_url(c->f->url, &s);
    pthread_barrier_wait(c->start);
    if (c->open_rc)
        return NULL;
    for (int i = CANCEL_JOBS - 1; i >= 0; i--) {   /* from the far end of the queue */
        char id[16];
        snprintf(id, sizeof id, "c%03d", i);
        c->rc[i] = sv_store_cancel(s, id, NULL, 50.0, &c->was[i]);
    }
    sv_store_close(s);
    return NULL;
}

/* A cancel decides in one step against a node claiming at the same time: each job ends either
 * cancelled without ever running, or running (claimed first) and marked for its node. */
static void test_cancel_against_claims(void **state)
{
    fixture *f = *state;
    assert_int_equal(sv_store_begin(f->s), SV_STORE_OK);
    for (int i = 0; i < CANCEL_JOBS; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%03d", i);
        insert_job(f->s, id, 0, 100.0 + i, NULL);
    }
    assert_int_equal(sv_store_commit(f->s), SV_STORE_OK);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    static canceller c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.start = &start;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_all, &c), 0);
    pthread_barrier_wait(&start);
    int claimed[CANCEL_JOBS] = {0};
    for (;;) {
        sv_job j;
        int rc = sv_store_claim_next(f->s, "n1", 60.0, 30.0, &j);
        if (rc == SV_STORE_ENOTFOUND)
            break;
        assert_int_equal(rc, SV_STORE_OK);
        claimed[atoi(j.id + 1)] = 1;
        sv_job_clear(&j);
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_barrier_destroy(&start);
    assert_int_equal(c.open_rc, 0);

    int marked = 0;
    for (int i = 0; i < CANCEL_JOBS; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%03d", i);
        assert_int_equal(c.rc[i], SV_STORE_OK);
        sv_job j;
        assert_int_equal(sv_store_get_job(f->s, id, NULL, &j), SV_STORE_OK);
        if (claimed[i]) {
            assert_int_equal(c.was[i], SV_JOB_RUNNING);
            assert_int_equal(j.state, SV_JOB_RUNNING);
            marked++;
        } else {
            assert_int_equal(c.was[i], SV_JOB_QUEUED);
            assert_int_equal(j.state, SV_JOB_CANCELLED);
            assert_int_equal(j.attempts, 0);
            assert_int_equal(j.last_seq, 1);
        }
        sv_job_clear(&j);
    }
    /* Every claimed job is marked for n1, and only those. */
    int listed = 0;
    assert_int_equal(sv_store_cancel_requests(f->s, "n1", count_ids, &listed), SV_STORE_OK);
    assert_int_equal(listed, marked);
}

/* ------------------------------------------------------------------------------------------ */

static int read_base_url(void)
{
    const char *env = getenv("SOLVD_TEST_PG_URL");
    if (env && *env) {
        snprintf(base_url, sizeof base_url, "%s", env);
        return 0;
    }
    const char *dir = getenv("SOLVD_TEST_PG_STATE");
    if (!dir || !*dir) {
        fprintf(stderr, "no cluster (set SOLVD_TEST_PG_URL or run through ctest): skipped\n");
        return SKIP;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/skip", dir);
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "the fixture found no PostgreSQL (initdb): skipped\n");
        return SKIP;
    }
    snprintf(path, sizeof path, "%s/url", dir);
    FILE *fp = fopen(path, "r");
    if (!fp || !fgets(base_url, sizeof base_url, fp)) {
        fprintf(stderr, "%s: no cluster URL (did the pgcluster fixture start?)\n", path);
        if (fp)
            fclose(fp);
        return 1;
    }
    fclose(fp);
    base_url[strcspn(base_url, "\r\n")] = '\0';
    return 0;
}

int main(void)
{
    int rc = read_base_url();
    if (rc)
        return rc;
    admin = PQconnectdb(base_url);
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "%s: %s", base_url, PQerrorMessage(admin));
        PQfinish(admin);
        return 1;
    }
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    int failed = sv_store_contract_run(&postgres_harness);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backend_and_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exact_text_and_doubles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_claims_disjoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requeue_never_touches_finished, setup, teardown),
        cmocka_unit_test(test_concurrent_schema_creation),
        cmocka_unit_test_setup_teardown(test_batch_survives_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_connection, setup, teardown),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test_setup_teardown(test_cancel_against_claims, setup, teardown),
    };
    failed += cmocka_run_group_tests_name("store (postgres only)", tests, NULL, NULL);
    PQfinish(admin);
    return failed;
}
