/* test_store_sqlite.c - the SQLite backend (storage/sqlite.c) and the URL dispatch of
 * storage/store.c: the store contract (store_contract.c) on fresh database files, then what
 * only SQLite has (its file, schema versions and migrations, WAL, opening errors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_contract.h"

/* The schema version the current code migrates to; bump it with each new migration. */
#define SCHEMA_LATEST 5

static void remove_db_files(const char *path)
{
    char p[256];
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The contract's harness: one database file in its own temporary directory per test          */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    char dir[64];
    char path[128];
    sv_store *s;
} fixture;

static int open_path(const char *path, sv_store **out)
{
    char err[256] = "";
    if (sv_store_open(path, out, err, sizeof err) != SV_STORE_OK) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    return 0;
}

static int h_open_fresh(void **ctx, sv_store **out)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_store.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/jobs.db", f->dir);
    if (open_path(f->path, out) != 0) {
        rmdir(f->dir);
        free(f);
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
    return open_path(f->path, s);
}

static int h_open_second(void *ctx, sv_store **out)
{
    fixture *f = ctx;
    return open_path(f->path, out);
}

static void h_destroy(void *ctx)
{
    fixture *f = ctx;
    remove_db_files(f->path);
    rmdir(f->dir);
    free(f);
}

static const sv_store_harness sqlite_harness = {
    .name = "store contract (sqlite)",
    .schema_latest = SCHEMA_LATEST,
    .open_fresh = h_open_fresh,
    .reopen = h_reopen,
    .open_second = h_open_second,
    .destroy = h_destroy,
};

/* ------------------------------------------------------------------------------------------ */
/* SQLite only                                                                                 */
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

static void reopen(fixture *f)
{
    assert_int_equal(h_reopen(f, &f->s), 0);
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

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
    j->request = dup_or_null("{\"problem\":{},\"params\":{}}");
    j->tags = dup_or_null(tags ? tags : "[]");
    j->idem_key = dup_or_null(idem);
}


static int raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_schema(void **state)
{
    fixture *f = *state;
    assert_int_equal(sv_store_schema_version(f->s), SCHEMA_LATEST);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), SCHEMA_LATEST);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'"
                                      " AND name IN ('jobs', 'events', 'requests')"),
                     3);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index'"
                                      " AND tbl_name = 'jobs' AND sql IS NOT NULL"),
                     4);

    /* Reopening an up-to-date database leaves the version alone. */
    reopen(f);
    assert_int_equal(sv_store_schema_version(f->s), SCHEMA_LATEST);

    /* A database from a newer solvd is refused with a message that says so. */
    sv_store_close(f->s);
    f->s = NULL;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_LATEST + 1);
    raw_exec(f->path, sql);
    char err[512] = "";
    sv_store *s = (sv_store *)&err;   /* must be reset to NULL on failure */
    assert_int_equal(sv_store_open(f->path, &s, err, sizeof err), SV_STORE_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, f->path));
    /* ... and left untouched. */
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), SCHEMA_LATEST + 1);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_LATEST);
    raw_exec(f->path, sql);
    reopen(f);   /* the fixture's teardown closes it */
}

/* Migration 2 moves each job's params into their own column: a version-1 database (params
 * column absent) is upgraded and its rows get the params of their stored request. */
/* Migration 5 undone: the request back in its jobs column, the requests table gone. */
#define UNDO_REQUESTS                                                                        \
    "ALTER TABLE jobs ADD COLUMN request TEXT;"                                              \
    " UPDATE jobs SET request = (SELECT body FROM requests WHERE job_id = jobs.id);"          \
    " DROP TABLE requests; "

/* A version-4 database keeps every request, now in the requests table, and the jobs rows lose
 * the column. */
static void test_migration_requests(void **state)
{
    fixture *f = *state;
    sv_job j;
    make_job(&j, "old", "t", "s", 0, 1.0, NULL, NULL);
    assert_int_equal(sv_store_insert_job(f->s, &j), SV_STORE_OK);
    sv_job_clear(&j);
    make_job(&j, "bare", "t", "s", 0, 2.0, NULL, NULL);
    free(j.request);
    j.request = NULL;
    assert_int_equal(sv_store_insert_job(f->s, &j), SV_STORE_OK);
    sv_job_clear(&j);
    sv_store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, UNDO_REQUESTS "PRAGMA user_version = 4");
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM jobs WHERE request IS NOT NULL"), 1);
    reopen(f);
    assert_int_equal(sv_store_schema_version(f->s), SCHEMA_LATEST);
    char *req = NULL;
    assert_int_equal(sv_store_get_request(f->s, "old", &req), SV_STORE_OK);
    assert_string_equal(req, "{\"problem\":{},\"params\":{}}");
    free(req);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM requests"), 1);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM pragma_table_info('jobs')"
                                      " WHERE name = 'request'"),
                     0);
    /* a deleted job takes its request with it (ON DELETE CASCADE) */
    raw_exec(f->path, "PRAGMA foreign_keys = ON; DELETE FROM jobs WHERE id = 'old'");
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM requests"), 0);
}

static void test_migration_params(void **state)
{
    fixture *f = *state;
    sv_job j;
    make_job(&j, "old", "t", "s", 0, 1.0, NULL, NULL);
    free(j.request);
    j.request = dup_or_null("{\"solver\":\"s\",\"problem\":{},\"params\":{\"tol\":0.5}}");
    assert_int_equal(sv_store_insert_job(f->s, &j), SV_STORE_OK);
    sv_job_clear(&j);
    sv_store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, UNDO_REQUESTS "ALTER TABLE jobs DROP COLUMN params; ALTER TABLE jobs DROP COLUMN node;"
                      " ALTER TABLE jobs DROP COLUMN lease_until;"
                      " ALTER TABLE jobs DROP COLUMN cancel_requested; PRAGMA user_version = 1");
    reopen(f);
    assert_int_equal(sv_store_schema_version(f->s), SCHEMA_LATEST);
    sv_job out;
    assert_int_equal(sv_store_get_job(f->s, "old", NULL, &out), SV_STORE_OK);
    assert_string_equal(out.params, "{\"tol\":0.5}");
    sv_job_clear(&out);
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    char path[192], err[512] = "";
    sv_store *s = NULL;
    /* A directory that does not exist. */
    snprintf(path, sizeof path, "%s/no/such/dir/jobs.db", f->dir);
    assert_int_equal(sv_store_open(path, &s, err, sizeof err), SV_STORE_EIO);
    assert_null(s);
    assert_true(strlen(err) > 0);
    /* A file that is not a database. */
    snprintf(path, sizeof path, "%s/junk.db", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not an sqlite database\n", fp);
    fclose(fp);
    err[0] = '\0';
    assert_int_equal(sv_store_open(path, &s, err, sizeof err), SV_STORE_EIO);
    assert_null(s);
    assert_true(strlen(err) > 0);
    remove_db_files(path);
    sv_store_close(NULL);
    assert_non_null(sv_store_errmsg(NULL));

    /* An existing file of zero bytes (a truncated store) is refused by the preflight, under
     * both spellings; a missing file and a real store pass. */
    snprintf(path, sizeof path, "%s/empty.db", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    err[0] = '\0';
    assert_int_equal(sv_store_preflight(path, err, sizeof err), SV_STORE_EIO);
    assert_non_null(strstr(err, "exists but is empty"));
    char url[220];
    snprintf(url, sizeof url, "sqlite:%s", path);
    assert_int_equal(sv_store_preflight(url, err, sizeof err), SV_STORE_EIO);
    remove(path);
    assert_int_equal(sv_store_preflight(path, err, sizeof err), SV_STORE_OK);
    assert_int_equal(sv_store_preflight(f->path, err, sizeof err), SV_STORE_OK);
    assert_int_equal(sv_store_preflight("postgres://h/db", err, sizeof err), SV_STORE_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* Two handles on one file                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *path;
    int rc;
    int version;
} opener_args;

static void *opener_thread(void *p)
{
    opener_args *a = p;
    sv_store *s = NULL;
    char err[256];
    a->rc = sv_store_open(a->path, &s, err, sizeof err);
    if (a->rc == SV_STORE_OK)
        a->version = sv_store_schema_version(s);
    sv_store_close(s);
    return NULL;
}

/* Two handles creating the same new file at once: both succeed, the schema is made once. */
static void test_concurrent_create(void **state)
{
    fixture *f = *state;
    char path[192];
    snprintf(path, sizeof path, "%s/fresh.db", f->dir);
    opener_args a[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (opener_args){.path = path, .rc = -1, .version = -1};
        assert_int_equal(pthread_create(&th[i], NULL, opener_thread, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(a[i].rc, SV_STORE_OK);
        assert_int_equal(a[i].version, SCHEMA_LATEST);
    }
    assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'jobs'"), 1);
    remove_db_files(path);
}


/* Migration 3 adds the node and lease columns: a job left running by a solvd of schema 2 has
 * no node, and the recovery of whichever node starts next takes it back. */
static void test_migration_nodes(void **state)
{
    fixture *f = *state;
    sv_job j;
    make_job(&j, "old", "t", "s", 0, 1.0, NULL, NULL);
    assert_int_equal(sv_store_insert_job(f->s, &j), SV_STORE_OK);
    sv_job_clear(&j);
    sv_store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, UNDO_REQUESTS "ALTER TABLE jobs DROP COLUMN node; ALTER TABLE jobs DROP COLUMN"
                      " lease_until; ALTER TABLE jobs DROP COLUMN cancel_requested;"
                      " UPDATE jobs SET state = 'running', attempts = 1;"
                      " PRAGMA user_version = 2");
    reopen(f);
    assert_int_equal(sv_store_schema_version(f->s), SCHEMA_LATEST);
    assert_int_equal(sv_store_get_job(f->s, "old", NULL, &j), SV_STORE_OK);
    assert_int_equal(j.state, SV_JOB_RUNNING);
    assert_string_equal(j.node, "");
    assert_true(j.lease_until == 0);
    sv_job_clear(&j);
    int requeued = 0;
    assert_int_equal(sv_store_recover(f->s, "local", 3, 5.0, &requeued, NULL), SV_STORE_OK);
    assert_int_equal(requeued, 1);
}

/* Bad tags are refused by a CHECK constraint, and a duplicate by a UNIQUE one: the messages
 * say which (the contract only asks for a refusal with some message). */
static void test_constraint_messages(void **state)
{
    fixture *f = *state;
    sv_job j;
    make_job(&j, "a", "t", "s", 0, 1.0, "{\"a\":1}", NULL);
    assert_int_not_equal(sv_store_insert_job(f->s, &j), SV_STORE_OK);
    assert_non_null(strstr(sv_store_errmsg(f->s), "CHECK"));
    sv_job_clear(&j);
    make_job(&j, "a", "t", "s", 0, 1.0, NULL, "k");
    assert_int_equal(sv_store_insert_job(f->s, &j), SV_STORE_OK);
    sv_job_clear(&j);
    make_job(&j, "b", "t", "s", 0, 1.0, NULL, "k");
    assert_int_equal(sv_store_insert_job(f->s, &j), SV_STORE_ECONFLICT);
    assert_non_null(strstr(sv_store_errmsg(f->s), "UNIQUE"));
    sv_job_clear(&j);
}

/* sv_store_open picks the backend from the URL: "sqlite:PATH" and a bare path are the same
 * SQLite file; postgres:// URLs go to the PostgreSQL backend, and unknown schemes are refused
 * with a message rather than taken for file names. */
static void test_open_urls(void **state)
{
    fixture *f = *state;
    assert_string_equal(sv_store_backend(f->s), "sqlite");
    assert_int_equal(sv_store_caps(f->s), SV_STORE_CAP_LOCAL_READS);
    sv_job j;
    make_job(&j, "u", "t", "s", 0, 1.0, NULL, NULL);
    assert_int_equal(sv_store_insert_job(f->s, &j), SV_STORE_OK);
    sv_job_clear(&j);

    char url[192], err[512] = "";
    sv_store *s = NULL;
    snprintf(url, sizeof url, "sqlite:%s", f->path);
    assert_int_equal(sv_store_open(url, &s, err, sizeof err), SV_STORE_OK);
    assert_string_equal(sv_store_backend(s), "sqlite");
    assert_int_equal(sv_store_get_job(s, "u", NULL, &j), SV_STORE_OK);   /* the same file */
    sv_job_clear(&j);
    sv_store_close(s);

    static const struct {
        const char *url, *says;
    } refused[] = {
        /* Handed to the PostgreSQL backend (test_store_postgres.c), which finds no server
         * on port 1: refused with its message, never taken for a file name. */
        {"postgres://solvd@127.0.0.1:1/solvd", "PostgreSQL"},
        {"postgresql://127.0.0.1:1/solvd", "PostgreSQL"},
        {"mysql://db.example/solvd", "unknown store scheme"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        s = (sv_store *)&err;   /* must be reset to NULL */
        err[0] = '\0';
        assert_int_equal(sv_store_open(refused[i].url, &s, err, sizeof err), SV_STORE_EIO);
        assert_null(s);
        assert_non_null(strstr(err, refused[i].says));
        assert_non_null(strstr(err, refused[i].url));
    }
    /* No file was made for them. */
    assert_int_equal(access("postgres:", F_OK), -1);
    assert_string_equal(sv_store_backend(NULL), "none");
}

int main(void)
{
    int failed = sv_store_contract_run(&sqlite_harness);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constraint_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_create, setup, teardown),
    };
    failed += cmocka_run_group_tests_name("store (sqlite only)", tests, NULL, NULL);
    return failed;
}
