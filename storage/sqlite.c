/* sqlite.c - the SQLite backend of the job store (store.h, storage/backend.h), the embedded
 * default: one node, so claims are plain updates and leases never expire (lease_s 0).
 *
 * One handle wraps one connection in WAL mode with synchronous=FULL, so that a committed job
 * survives kill -9 and power loss, and a reader handle on the loop thread never waits for the
 * writer handle's batches. The schema is versioned with PRAGMA user_version and an ordered list
 * of migrations. State names are never spelled here: they are bound as parameters from
 * sv_job_state_name() (storage/job.c), and stored as that text so the database reads plainly. */
#include "storage/backend.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------------------------ */
/* Schema                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Column order matters: result is last, so that reading a row without it (get, list) never
 * touches its overflow pages (the request has its own table since migration 5). New columns from later migrations go after them
 * anyway (ALTER TABLE appends), which is fine for small ones. */
static const char *const migrations[] = {
    /* 1: jobs and their events. */
    "CREATE TABLE jobs ("
    "  id           TEXT PRIMARY KEY NOT NULL,"
    "  tenant       TEXT NOT NULL DEFAULT '',"
    "  solver       TEXT NOT NULL,"
    "  state        TEXT NOT NULL,"
    "  priority     INTEGER NOT NULL DEFAULT 0,"
    "  time_limit_s REAL NOT NULL DEFAULT 0,"
    "  attempts     INTEGER NOT NULL DEFAULT 0,"
    "  created_at   REAL NOT NULL,"
    "  started_at   REAL NOT NULL DEFAULT 0,"
    "  finished_at  REAL NOT NULL DEFAULT 0,"
    "  last_seq     INTEGER NOT NULL DEFAULT 0,"
    /* A malformed tags value would make every tag-filtered listing fail, so refuse it here.
     * CASE (unlike AND) is guaranteed to short-circuit: json_type() raises on bad JSON. */
    "  tags         TEXT CHECK (tags IS NULL OR"
    "                 CASE WHEN json_valid(tags) THEN json_type(tags) = 'array' ELSE 0 END),"
    "  progress     TEXT,"
    "  summary      TEXT,"
    "  error        TEXT,"
    "  idem_key     TEXT,"
    "  request_hash TEXT,"
    "  request      TEXT,"
    "  result       TEXT"
    ");"
    /* The dispatcher's order; id last makes the order total and index-only. */
    "CREATE INDEX jobs_queue ON jobs(state, priority DESC, created_at, id);"
    "CREATE UNIQUE INDEX jobs_idem ON jobs(tenant, idem_key) WHERE idem_key IS NOT NULL;"
    /* Listing newest first: the primary key serves all tenants, these a single tenant and a
     * single state (without the latter, a status filter sorts every row in that state). */
    "CREATE INDEX jobs_tenant_id ON jobs(tenant, id);"
    "CREATE INDEX jobs_state_id ON jobs(state, id);"
    "CREATE TABLE events ("
    "  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  seq    INTEGER NOT NULL,"
    "  type   TEXT NOT NULL,"
    "  ts     REAL NOT NULL,"
    "  data   TEXT,"
    "  PRIMARY KEY (job_id, seq)"
    ");",
    /* 2: the params object in its own small column, so that showing a job never reads (or
     * parses) its possibly large request. */
    "ALTER TABLE jobs ADD COLUMN params TEXT;"
    "UPDATE jobs SET params = json_extract(request, '$.params')"
    " WHERE json_valid(request) AND json_type(request, '$.params') = 'object';",
    /* 3: the node that holds a running job, and until when (0: no expiry). Jobs left running
     * by an older solvd have no node; their node's recovery takes them. */
    "ALTER TABLE jobs ADD COLUMN node TEXT;"
    "ALTER TABLE jobs ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;",
    /* 4: a client asked to cancel the running job; its node (perhaps another process on a
     * shared store) stops it when it next looks. */
    "ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;",
    /* 5: the request in a table of its own. SQLite rewrites a whole row, overflow pages and
     * all, when any column changes size, so a 15 MB request in the jobs row was written again
     * at every progress event, claim and finish of its job (135 677 pwrite calls for one
     * 15.6 MB job, strace -c). */
    "CREATE TABLE requests ("
    "  job_id TEXT PRIMARY KEY NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  body   TEXT NOT NULL"
    ");"
    "INSERT INTO requests (job_id, body) SELECT id, request FROM jobs WHERE request IS NOT NULL;"
    "ALTER TABLE jobs DROP COLUMN request;",
};
#define SCHEMA_LATEST ((int)(sizeof migrations / sizeof migrations[0]))

/* Readers and writers on other handles wait this long for a lock before SQLITE_BUSY. */
#define BUSY_TIMEOUT_MS 5000
#define LIST_LIMIT_MAX 1000

/* ------------------------------------------------------------------------------------------ */
/* Statements                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Every column of sv_job but request and result, in the order read_job() expects; request is
 * selected separately as column JOB_NCOLS (NULL where it is not wanted). */
#define JOB_COLS                                                                             \
    "id, tenant, solver, state, priority, time_limit_s, attempts, created_at, started_at, "   \
    "finished_at, last_seq, tags, progress, summary, error, idem_key, request_hash, params, "   \
    "node, lease_until"
#define JOB_NCOLS 20

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_USER_VERSION,
    ST_INSERT,
    ST_INSERT_REQUEST,
    ST_GET,
    ST_GET_FULL,
    ST_EXISTS,
    ST_GET_RESULT,
    ST_GET_REQUEST,
    ST_FIND_IDEM,
    ST_CLAIM,
    ST_FIRST_QUEUED,
    ST_HEARTBEAT,
    ST_FINISH,
    ST_EVENT_INSERT,
    ST_EVENT_BUMP,
    ST_EVENTS,
    ST_QUEUED_IDS,
    ST_RUNNING_ON_NODE,
    ST_RUNNING_EXPIRED,
    ST_RUNNING_ONE,
    ST_BACK_TO_QUEUE,
    ST_INTERRUPT,
    ST_CANCEL_QUEUED,
    ST_CANCEL_MARK,
    ST_CANCEL_REQUESTS,
    ST_COUNT,
    ST_DELETE,
    ST_PRUNE_AGE,
    ST_PRUNE_COUNT,
    ST_N
};

static const char *const stmt_sql[ST_N] = {
    /* IMMEDIATE takes the write lock up front (waiting through busy_timeout), so a batch never
     * fails half-way with a lock upgrade that the busy handler cannot resolve. */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* Multi-statement operations run inside a savepoint: atomic whether or not the caller has
     * a transaction open, and one fsync instead of one per statement when it has not. */
    [ST_SAVEPOINT] = "SAVEPOINT sv_op",
    [ST_RELEASE] = "RELEASE sv_op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO sv_op",
    [ST_USER_VERSION] = "PRAGMA user_version",
    [ST_INSERT] = "INSERT INTO jobs (id, tenant, solver, state, priority, time_limit_s, attempts,"
                  " created_at, started_at, finished_at, last_seq, tags, progress, summary, error,"
                  " idem_key, request_hash, params, node, lease_until)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
                  " ?17, ?19, NULLIF(?20, ''), ?21)",
    [ST_INSERT_REQUEST] = "INSERT INTO requests (job_id, body) VALUES (?1, ?2)",
    [ST_GET] = "SELECT " JOB_COLS ", NULL FROM jobs WHERE id = ?1"
               " AND (?2 IS NULL OR tenant = ?2)",
    [ST_GET_FULL] = "SELECT " JOB_COLS ", body FROM jobs LEFT JOIN requests ON job_id = id"
                    " WHERE id = ?1",
    [ST_EXISTS] = "SELECT 1 FROM jobs WHERE id = ?1",
    [ST_GET_RESULT] = "SELECT result FROM jobs WHERE id = ?1 AND (?2 IS NULL OR tenant = ?2)",
    [ST_GET_REQUEST] = "SELECT body FROM requests JOIN jobs ON id = job_id WHERE job_id = ?1"
                       " AND (?2 IS NULL OR tenant = ?2)",
    [ST_FIND_IDEM] = "SELECT " JOB_COLS ", NULL FROM jobs WHERE tenant = ?1 AND idem_key = ?2",
    [ST_CLAIM] = "UPDATE jobs SET state = ?2, started_at = ?3, attempts = ?4, node = ?6,"
                 " lease_until = ?7 WHERE id = ?1 AND state = ?5",
    /* The dispatcher's order, from the jobs_queue index. */
    [ST_FIRST_QUEUED] = "SELECT id, attempts FROM jobs WHERE state = ?1"
                        " ORDER BY priority DESC, created_at, id LIMIT 1",
    [ST_HEARTBEAT] = "UPDATE jobs SET lease_until = ?3 WHERE state = ?1 AND node = ?2",
    [ST_FINISH] = "UPDATE jobs SET state = ?2, finished_at = ?3, summary = ?4, result = ?5,"
                  " error = ?6 WHERE id = ?1 AND (state = ?7 OR (state = ?8"
                  " AND (?9 IS NULL OR node = ?9)))",
    [ST_EVENT_INSERT] = "INSERT INTO events (job_id, seq, type, ts, data)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
    /* SET expressions see the row as it was, so progress compares against the old last_seq:
     * a late, out-of-order progress event does not overwrite a newer one. */
    [ST_EVENT_BUMP] = "UPDATE jobs SET last_seq = MAX(last_seq, ?2),"
                      " progress = CASE WHEN ?3 = 'progress' AND ?2 > last_seq THEN ?4"
                      " ELSE progress END WHERE id = ?1",
    [ST_EVENTS] = "SELECT seq, type, ts, data FROM events WHERE job_id = ?1 AND seq > ?2"
                  " ORDER BY seq LIMIT ?3",
    [ST_QUEUED_IDS] = "SELECT id FROM jobs WHERE state = ?1"
                      " ORDER BY priority DESC, created_at, id",
    /* The running jobs that recovery, lease expiry or a release hand back: ?1 running. */
    [ST_RUNNING_ON_NODE] = "SELECT id, attempts, last_seq, cancel_requested FROM jobs"
                           " WHERE state = ?1 AND (node = ?2 OR node IS NULL)",
    [ST_RUNNING_EXPIRED] = "SELECT id, attempts, last_seq, cancel_requested FROM jobs"
                           " WHERE state = ?1 AND lease_until > 0 AND lease_until < ?2",
    [ST_RUNNING_ONE] = "SELECT id, attempts, last_seq, cancel_requested FROM jobs"
                       " WHERE state = ?1 AND id = ?2 AND node = ?3",
    /* Guarded by state: a job that finished meanwhile is never overwritten. started_at goes
     * back to "not yet": the next start sets it again. */
    [ST_BACK_TO_QUEUE] = "UPDATE jobs SET state = ?2, started_at = 0, node = NULL,"
                         " lease_until = 0 WHERE id = ?1 AND state = ?3",
    [ST_INTERRUPT] = "UPDATE jobs SET state = ?2, finished_at = ?3, error = ?4, node = NULL,"
                     " lease_until = 0 WHERE id = ?1 AND state = ?5",
    [ST_CANCEL_QUEUED] = "UPDATE jobs SET state = ?2, finished_at = ?3, error = ?4"
                         " WHERE id = ?1 AND state = ?5",
    [ST_CANCEL_MARK] = "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1 AND state = ?2",
    [ST_CANCEL_REQUESTS] = "SELECT id FROM jobs WHERE state = ?1 AND node = ?2"
                           " AND cancel_requested <> 0",
    [ST_COUNT] = "SELECT state, COUNT(*) FROM jobs WHERE ?1 IS NULL OR tenant = ?1 GROUP BY state",
    /* Events go with their job (ON DELETE CASCADE). Final states only: a queued or running job
     * is the service's to finish first. */
    [ST_DELETE] = "DELETE FROM jobs WHERE id = ?1 AND (?2 IS NULL OR tenant = ?2)"
                  " AND state IN ('succeeded', 'failed', 'cancelled', 'timed_out')",
    /* Retention, at most ?2 jobs a call so that one transaction stays short. */
    [ST_PRUNE_AGE] = "DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs"
                     " WHERE state IN ('succeeded', 'failed', 'cancelled', 'timed_out')"
                     " AND finished_at < ?1 LIMIT ?2)",
    [ST_PRUNE_COUNT] = "DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM (SELECT rowid FROM jobs"
                       " WHERE state IN ('succeeded', 'failed', 'cancelled', 'timed_out')"
                       " ORDER BY finished_at DESC, id DESC LIMIT -1 OFFSET ?1) LIMIT ?2)",
};

/* Listing filters; each combination gets its own statement so that every one of them can use
 * an index (a single "?1 IS NULL OR ..." statement would scan). */
enum { LF_TENANT = 1, LF_STATE = 2, LF_SOLVER = 4, LF_TAG = 8, LF_BEFORE = 16, LF_N = 32 };

typedef struct sq_store {
    sv_store base;   /* first: the ops table */
    sqlite3 *db;
    sqlite3_stmt *st[ST_N];
    sqlite3_stmt *list[LF_N];
    int in_tx;   /* between a successful sv_store_begin and its commit or rollback */
    int sp_depth;   /* savepoints open (savepoint, savepoint_end) */
    int sp_began;   /* the outermost of them began the transaction itself */
    char msg[512];
} sq_store;

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static int map_rc(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return SV_STORE_ECONFLICT;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return SV_STORE_ENOTFOUND;   /* an event for a job that does not exist */
    default:
        break;
    }
    if ((rc & 0xff) == SQLITE_NOMEM)
        return SV_STORE_ENOMEM;
    return SV_STORE_EIO;
}

/* Records the connection's current error text and maps rc. Must run before the statement is
 * reset, which may replace the message. */
static int fail(sq_store *s, int rc)
{
    snprintf(s->msg, sizeof s->msg, "%s", sqlite3_errmsg(s->db));
    return map_rc(rc);
}

static int fail_msg(sq_store *s, int code, const char *msg)
{
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    return code;
}

/* The cached statement for id, prepared on first use. */
static int get_stmt(sq_store *s, int id, sqlite3_stmt **out)
{
    if (!s->st[id]) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->st[id], NULL);
        if (rc != SQLITE_OK) {
            s->st[id] = NULL;
            return fail(s, rc);
        }
    }
    *out = s->st[id];
    return SV_STORE_OK;
}

static void done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Binds NULL for a NULL string. The value only has to live until the statement is reset, which
 * every caller does before returning. */
static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* A fixed-size field of sv_job may lack its terminator if the caller filled all of it. */
static int bind_field(sqlite3_stmt *st, int i, const char *v, size_t cap)
{
    return sqlite3_bind_text(st, i, v, (int)strnlen(v, cap), SQLITE_STATIC);
}

static int bind_state(sqlite3_stmt *st, int i, sv_job_state state)
{
    return sqlite3_bind_text(st, i, sv_job_state_name(state), -1, SQLITE_STATIC);
}

static int tx_lost(sq_store *s);

/* The prepared statement id for a write: SV_STORE_OK, or the error of a transaction the
 * connection lost (tx_lost) or of the preparation. */
static int write_stmt(sq_store *s, int id, sqlite3_stmt **st)
{
    int rc = tx_lost(s);
    return rc ? rc : get_stmt(s, id, st);
}

/* A bind failed: the statement is reset and the error recorded. Returns the SV_STORE_ code. */
static int bind_failed(sq_store *s, sqlite3_stmt *st, int rc)
{
    int ret = fail(s, rc);
    done(st);
    return ret;
}

/* Keeps the first failing bind; every later bind is skipped. */
#define BIND(call)                                                                           \
    do {                                                                                     \
        if (rc == SQLITE_OK)                                                                 \
            rc = (call);                                                                     \
    } while (0)

/* Steps a statement that returns no rows, then resets it. */
static int run(sq_store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? SV_STORE_OK : fail(s, rc);
    done(st);
    return ret;
}

static int run_id(sq_store *s, int id)
{
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, id, &st);
    return rc ? rc : run(s, st);
}

static int savepoint(sq_store *s)
{
    /* Outside a caller's transaction the outermost savepoint would start a deferred one, whose
     * first write must upgrade a read lock: with another process writing (a store shared by
     * several nodes) that upgrade fails at once with SQLITE_BUSY, whatever the busy timeout.
     * So such an operation takes the write lock up front (BEGIN IMMEDIATE) and commits at its
     * outermost end. */
    if (s->sp_depth == 0 && !s->in_tx && sqlite3_get_autocommit(s->db)) {
        int rc = run_id(s, ST_BEGIN);
        if (rc)
            return rc;
        s->sp_began = 1;
    }
    int rc = run_id(s, ST_SAVEPOINT);
    if (rc == SV_STORE_OK)
        s->sp_depth++;
    else if (s->sp_depth == 0 && s->sp_began) {
        run_id(s, ST_ROLLBACK);
        s->sp_began = 0;
    }
    return rc;
}

/* Ends the savepoint: kept if rc is OK, undone otherwise. Returns the first error. */
static int savepoint_end(sq_store *s, int rc)
{
    s->sp_depth--;
    int outer = s->sp_depth == 0 && s->sp_began;
    if (rc == SV_STORE_OK) {
        rc = run_id(s, ST_RELEASE);
        if (outer) {
            if (rc == SV_STORE_OK)
                rc = run_id(s, ST_COMMIT);
            if (rc != SV_STORE_OK && !sqlite3_get_autocommit(s->db))
                run_id(s, ST_ROLLBACK);
            s->sp_began = 0;
        }
        return rc;
    }
    /* Keep the message of the original failure, not of the clean-up. */
    char keep[sizeof s->msg];
    memcpy(keep, s->msg, sizeof keep);
    if (run_id(s, ST_ROLLBACK_TO) == SV_STORE_OK)
        run_id(s, ST_RELEASE);
    if (outer) {
        if (!sqlite3_get_autocommit(s->db))
            run_id(s, ST_ROLLBACK);
        s->sp_began = 0;
    }
    memcpy(s->msg, keep, sizeof keep);
    return rc;
}

static int col_dup(sqlite3_stmt *st, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return SV_STORE_OK;
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return SV_STORE_ENOMEM;   /* the only way a non-NULL value yields no text */
    int n = sqlite3_column_bytes(st, i);
    char *p = malloc((size_t)n + 1);
    if (!p)
        return SV_STORE_ENOMEM;
    memcpy(p, t, (size_t)n);
    p[n] = '\0';
    *out = p;
    return SV_STORE_OK;
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

/* Fills j (zeroed first) from the current row of a JOB_COLS + request select. On failure j is
 * left cleared. */
static int read_job(sq_store *s, sqlite3_stmt *st, sv_job *j)
{
    memset(j, 0, sizeof *j);
    col_copy(st, 0, j->id, sizeof j->id);
    col_copy(st, 1, j->tenant, sizeof j->tenant);
    col_copy(st, 2, j->solver, sizeof j->solver);
    const char *state = (const char *)sqlite3_column_text(st, 3);
    if (sv_job_state_parse(state, &j->state) != 0) {
        snprintf(s->msg, sizeof s->msg, "job %s has an unknown state '%s'", j->id,
                 state ? state : "(null)");
        memset(j, 0, sizeof *j);
        return SV_STORE_EIO;
    }
    j->priority = sqlite3_column_int(st, 4);
    j->time_limit_s = sqlite3_column_double(st, 5);
    j->attempts = sqlite3_column_int(st, 6);
    j->created_at = sqlite3_column_double(st, 7);
    j->started_at = sqlite3_column_double(st, 8);
    j->finished_at = sqlite3_column_double(st, 9);
    j->last_seq = (long)sqlite3_column_int64(st, 10);
    col_copy(st, 18, j->node, sizeof j->node);
    j->lease_until = sqlite3_column_double(st, 19);
    int rc = SV_STORE_OK;
    if (!rc) rc = col_dup(st, 11, &j->tags);
    if (!rc) rc = col_dup(st, 12, &j->progress);
    if (!rc) rc = col_dup(st, 13, &j->summary);
    if (!rc) rc = col_dup(st, 14, &j->error);
    if (!rc) rc = col_dup(st, 15, &j->idem_key);
    if (!rc) rc = col_dup(st, 16, &j->request_hash);
    if (!rc) rc = col_dup(st, 17, &j->params);
    if (!rc) rc = col_dup(st, JOB_NCOLS, &j->request);
    if (rc) {
        sv_job_clear(j);
        return fail_msg(s, rc, "out of memory reading a job row");
    }
    return SV_STORE_OK;
}

/* Steps a statement expected to return at most one job row into out. */
static int fetch_one_job(sq_store *s, sqlite3_stmt *st, sv_job *out)
{
    int rc = sqlite3_step(st);
    int ret;
    if (rc == SQLITE_ROW)
        ret = read_job(s, st, out);
    else if (rc == SQLITE_DONE)
        ret = SV_STORE_ENOTFOUND;
    else
        ret = fail(s, rc);
    done(st);
    return ret;
}

/* After an UPDATE guarded by a state condition changed nothing: was the job missing, or in the
 * wrong state? */
static int missing_or_state(sq_store *s, const char *id)
{
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, ST_EXISTS, &st);
    if (rc)
        return rc;
    rc = bind_text(st, 1, id);
    if (rc != SQLITE_OK) {
        done(st);
        return fail(s, rc);
    }
    rc = sqlite3_step(st);
    int ret = rc == SQLITE_ROW    ? SV_STORE_ESTATE
              : rc == SQLITE_DONE ? SV_STORE_ENOTFOUND
                                  : fail(s, rc);
    done(st);
    if (ret == SV_STORE_ESTATE)
        fail_msg(s, ret, "the job is not in a state that allows this change");
    else if (ret == SV_STORE_ENOTFOUND)
        fail_msg(s, ret, "no such job");
    return ret;
}

/* ------------------------------------------------------------------------------------------ */
/* Open, close, schema                                                                         */
/* ------------------------------------------------------------------------------------------ */

static int read_user_version(sq_store *s, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, ST_USER_VERSION, &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    int ret = SV_STORE_OK;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        ret = fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    done(st);
    return ret;
}

static int exec(sq_store *s, const char *sql)
{
    char *emsg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &emsg);
    if (rc != SQLITE_OK) {
        snprintf(s->msg, sizeof s->msg, "%s", emsg ? emsg : sqlite3_errstr(rc));
        sqlite3_free(emsg);
        return map_rc(rc);
    }
    return SV_STORE_OK;
}

static int too_new(sq_store *s, int v)
{
    snprintf(s->msg, sizeof s->msg,
             "the database has schema version %d, newer than the latest this solvd knows (%d); "
             "run a newer solvd or point it at another database",
             v, SCHEMA_LATEST);
    return SV_STORE_EIO;
}

/* Brings the schema to SCHEMA_LATEST, one migration a transaction. Re-reads the version under
 * the write lock, so two processes opening a new file at once migrate it only once. */
static int migrate(sq_store *s)
{
    int v, rc = read_user_version(s, &v);
    if (rc)
        return rc;
    if (v > SCHEMA_LATEST)
        return too_new(s, v);
    while (v < SCHEMA_LATEST) {
        if ((rc = exec(s, "BEGIN IMMEDIATE")) != SV_STORE_OK)
            return rc;
        rc = read_user_version(s, &v);
        if (!rc && v > SCHEMA_LATEST)
            rc = too_new(s, v);
        if (!rc && v < SCHEMA_LATEST) {
            char set[64];
            snprintf(set, sizeof set, "PRAGMA user_version = %d", v + 1);
            rc = exec(s, migrations[v]);
            if (!rc)
                rc = exec(s, set);
            if (rc) {
                char why[sizeof s->msg];
                snprintf(why, sizeof why, "%s", s->msg);
                snprintf(s->msg, sizeof s->msg, "migration to schema version %d failed: %.400s",
                         v + 1, why);
            }
        }
        if (rc) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if ((rc = exec(s, "COMMIT")) != SV_STORE_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if ((rc = read_user_version(s, &v)) != SV_STORE_OK)
            return rc;
    }
    return SV_STORE_OK;
}

static int configure(sq_store *s)
{
    int rc = sqlite3_extended_result_codes(s->db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK)
        return fail(s, rc);
    if ((rc = exec(s, "PRAGMA foreign_keys = ON")) != SV_STORE_OK)
        return rc;

    /* journal_mode answers with the mode in force; anything but WAL (an in-memory database
     * aside) means the durability and reader/writer concurrency we promise do not hold. */
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc);
    rc = sqlite3_step(st);
    int ret = SV_STORE_OK;
    if (rc != SQLITE_ROW) {
        ret = fail(s, rc);
    } else {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)) {
            snprintf(s->msg, sizeof s->msg, "cannot switch the database to WAL mode (it is in %s)",
                     mode ? mode : "an unknown mode");
            ret = SV_STORE_EIO;
        }
    }
    sqlite3_finalize(st);
    if (ret)
        return ret;
    if ((ret = exec(s, "PRAGMA synchronous = FULL")) != SV_STORE_OK)
        return ret;
    /* After a burst the WAL is truncated back to this size at checkpoints instead of keeping
     * its high-water mark on disk. */
    return exec(s, "PRAGMA journal_size_limit = 67108864");
}

static const sv_store_ops sqlite_ops;
static void sq_close(sq_store *s);

/* A database file that exists but is empty was truncated (or replaced) behind our back: SQLite
 * would take it for a new store and start empty over jobs that were acknowledged. (Not part of
 * the open itself: two handles creating a new store at once see it empty for a moment.) */
int sv_sqlite_preflight(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (path && strcmp(path, ":memory:") != 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
        sb.st_size == 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s exists but is empty (truncated?); solvd will not start a "
                     "new store over it: remove the file (and any -wal, -shm beside it) to "
                     "start one", path);
        return SV_STORE_EIO;
    }
    return SV_STORE_OK;
}

int sv_sqlite_open(const char *path, sv_store **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!path || !out) {
        if (err && errlen)
            snprintf(err, errlen, "sqlite: no path or no output");
        return SV_STORE_EIO;
    }
    sq_store *s = calloc(1, sizeof *s);
    if (s)
        s->base.ops = &sqlite_ops;
    if (!s) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return SV_STORE_ENOMEM;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        /* A handle may come back even on failure; it carries the message and must be closed. */
        snprintf(s->msg, sizeof s->msg, "%s",
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        rc = map_rc(rc);
    } else {
        rc = configure(s);
        if (!rc)
            rc = migrate(s);
    }
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, s->msg);
        sq_close(s);
        return rc == SV_STORE_ENOMEM ? rc : SV_STORE_EIO;
    }
    *out = &s->base;
    return SV_STORE_OK;
}

static void sq_close(sq_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(s->st[i]);
    for (int i = 0; i < LF_N; i++)
        sqlite3_finalize(s->list[i]);
    /* An open transaction is rolled back by the close. */
    sqlite3_close_v2(s->db);
    free(s);
}

static int sq_schema_version(sq_store *s)
{
    int v = -1;
    if (!s || read_user_version(s, &v) != SV_STORE_OK)
        return -1;
    return v;
}

static const char *sq_errmsg(sq_store *s)
{
    if (!s)
        return "no store";
    return s->msg[0] ? s->msg : "not an error";
}

/* ------------------------------------------------------------------------------------------ */
/* Transactions and writes                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Some errors (I/O, disk full, out of memory) make SQLite roll back the whole transaction on
 * its own. Writes after that would silently autocommit one by one and the batch's commit would
 * then fail for ops that were in fact stored; instead every write and the commit fail. */
static int tx_lost(sq_store *s)
{
    if (s->in_tx && sqlite3_get_autocommit(s->db))
        return fail_msg(s, SV_STORE_EIO,
                        "the transaction was rolled back by SQLite after an earlier error");
    return SV_STORE_OK;
}

static int sq_begin(sq_store *s)
{
    int rc = run_id(s, ST_BEGIN);
    if (rc == SV_STORE_OK)
        s->in_tx = 1;
    return rc;
}

/* On failure the transaction stays open (SQLite keeps it so that it can be retried); the
 * caller decides between another commit and a rollback. */
static int sq_commit(sq_store *s)
{
    int rc = tx_lost(s);
    if (rc) {
        s->in_tx = 0;
        return rc;
    }
    rc = run_id(s, ST_COMMIT);
    if (rc == SV_STORE_OK)
        s->in_tx = 0;
    return rc;
}

static int sq_rollback(sq_store *s)
{
    /* Already undone by SQLite (see tx_lost): nothing is left to roll back. */
    if (s->in_tx && sqlite3_get_autocommit(s->db)) {
        s->in_tx = 0;
        return SV_STORE_OK;
    }
    int rc = run_id(s, ST_ROLLBACK);
    if (rc == SV_STORE_OK || sqlite3_get_autocommit(s->db))
        s->in_tx = 0;
    return rc;
}

static int sq_insert_job(sq_store *s, const sv_job *j)
{
    sqlite3_stmt *st = NULL;
    int rc = write_stmt(s, ST_INSERT, &st);
    if (rc)
        return rc;
    BIND(bind_field(st, 1, j->id, sizeof j->id));
    BIND(bind_field(st, 2, j->tenant, sizeof j->tenant));
    BIND(bind_field(st, 3, j->solver, sizeof j->solver));
    BIND(bind_state(st, 4, j->state));
    BIND(sqlite3_bind_int(st, 5, j->priority));
    BIND(sqlite3_bind_double(st, 6, j->time_limit_s));
    BIND(sqlite3_bind_int(st, 7, j->attempts));
    BIND(sqlite3_bind_double(st, 8, j->created_at));
    BIND(sqlite3_bind_double(st, 9, j->started_at));
    BIND(sqlite3_bind_double(st, 10, j->finished_at));
    BIND(sqlite3_bind_int64(st, 11, j->last_seq));
    BIND(bind_text(st, 12, j->tags));
    BIND(bind_text(st, 13, j->progress));
    BIND(bind_text(st, 14, j->summary));
    BIND(bind_text(st, 15, j->error));
    BIND(bind_text(st, 16, j->idem_key));
    BIND(bind_text(st, 17, j->request_hash));
    BIND(bind_text(st, 19, j->params));
    BIND(bind_field(st, 20, j->node, sizeof j->node));
    BIND(sqlite3_bind_double(st, 21, j->lease_until));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    if ((int)j->state < 0 || j->state >= SV_JOB_NSTATES) {
        done(st);
        return fail_msg(s, SV_STORE_ESTATE, "insert: the job has no valid state");
    }
    if (!j->request)
        return run(s, st);
    /* the row and its request together */
    if ((rc = savepoint(s)) != SV_STORE_OK) {
        done(st);
        return rc;
    }
    rc = run(s, st);
    sqlite3_stmt *rq = NULL;
    if (!rc)
        rc = write_stmt(s, ST_INSERT_REQUEST, &rq);
    if (!rc) {
        int brc = bind_field(rq, 1, j->id, sizeof j->id);
        if (brc == SQLITE_OK)
            brc = bind_text(rq, 2, j->request);
        rc = brc == SQLITE_OK ? run(s, rq) : bind_failed(s, rq, brc);
    }
    return savepoint_end(s, rc);
}

static int sq_claim_job(sq_store *s, const char *id, const char *node, double now,
                        double lease_s, int attempts)
{
    sqlite3_stmt *st = NULL;
    int rc = write_stmt(s, ST_CLAIM, &st);
    if (rc)
        return rc;
    BIND(bind_text(st, 1, id));
    BIND(bind_state(st, 2, SV_JOB_RUNNING));
    BIND(sqlite3_bind_double(st, 3, now));
    BIND(sqlite3_bind_int(st, 4, attempts));
    BIND(bind_state(st, 5, SV_JOB_QUEUED));
    BIND(bind_text(st, 6, node && *node ? node : NULL));
    BIND(sqlite3_bind_double(st, 7, lease_s > 0 ? now + lease_s : 0.0));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    if ((rc = run(s, st)) != SV_STORE_OK)
        return rc;
    return sqlite3_changes(s->db) == 1 ? SV_STORE_OK : missing_or_state(s, id);
}

static int get_job_full(sq_store *s, const char *id, sv_job *out);

/* One node: nobody else claims between the select and the update, which run in one savepoint
 * on this handle anyway. */
static int sq_claim_next(sq_store *s, const char *node, double now, double lease_s, sv_job *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int rc = write_stmt(s, ST_FIRST_QUEUED, &st);
    if (rc)
        return rc;
    if ((rc = savepoint(s)) != SV_STORE_OK)
        return rc;
    char id[sizeof out->id] = "";
    int attempts = 0, ret;
    if ((rc = bind_state(st, 1, SV_JOB_QUEUED)) != SQLITE_OK) {
        ret = fail(s, rc);
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        col_copy(st, 0, id, sizeof id);
        attempts = sqlite3_column_int(st, 1);
        ret = SV_STORE_OK;
    } else {
        ret = rc == SQLITE_DONE ? SV_STORE_ENOTFOUND : fail(s, rc);
    }
    done(st);
    if (!ret)
        ret = sq_claim_job(s, id, node, now, lease_s, attempts + 1);
    if (!ret)
        ret = get_job_full(s, id, out);
    if (ret == SV_STORE_ENOTFOUND)
        fail_msg(s, ret, "no job is queued");
    return savepoint_end(s, ret);
}

static int sq_heartbeat(sq_store *s, const char *node, double now, double lease_s, int *renewed)
{
    if (renewed)
        *renewed = 0;
    sqlite3_stmt *st = NULL;
    int rc = write_stmt(s, ST_HEARTBEAT, &st);
    if (rc)
        return rc;
    BIND(bind_state(st, 1, SV_JOB_RUNNING));
    BIND(bind_text(st, 2, node));
    BIND(sqlite3_bind_double(st, 3, lease_s > 0 ? now + lease_s : 0.0));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    if ((rc = run(s, st)) != SV_STORE_OK)
        return rc;
    if (renewed)
        *renewed = sqlite3_changes(s->db);
    return SV_STORE_OK;
}

static int sq_finish_job(sq_store *s, const char *id, const char *node, sv_job_state state,
                         double finished_at, const char *summary, const char *result,
                         const char *error)
{
    if (!sv_job_state_final(state))
        return fail_msg(s, SV_STORE_ESTATE, "finish: the target state is not a final one");
    sqlite3_stmt *st = NULL;
    int rc = write_stmt(s, ST_FINISH, &st);
    if (rc)
        return rc;
    BIND(bind_text(st, 1, id));
    BIND(bind_state(st, 2, state));
    BIND(sqlite3_bind_double(st, 3, finished_at));
    BIND(bind_text(st, 4, summary));
    BIND(bind_text(st, 5, result));
    BIND(bind_text(st, 6, error));
    BIND(bind_state(st, 7, SV_JOB_QUEUED));
    BIND(bind_state(st, 8, SV_JOB_RUNNING));
    BIND(bind_text(st, 9, node));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    if ((rc = run(s, st)) != SV_STORE_OK)
        return rc;
    return sqlite3_changes(s->db) == 1 ? SV_STORE_OK : missing_or_state(s, id);
}

static int sq_add_event(sq_store *s, const char *id, long seq, const char *type, double ts,
                       const char *data)
{
    sqlite3_stmt *ins = NULL, *bump = NULL;
    int rc = tx_lost(s);
    if (!rc)
        rc = get_stmt(s, ST_EVENT_INSERT, &ins);
    if (!rc)
        rc = get_stmt(s, ST_EVENT_BUMP, &bump);
    if (rc)
        return rc;
    if ((rc = savepoint(s)) != SV_STORE_OK)
        return rc;

    int brc = SQLITE_OK;
#define BINDE(call)                                                                          \
    do {                                                                                     \
        if (brc == SQLITE_OK)                                                                \
            brc = (call);                                                                    \
    } while (0)
    BINDE(bind_text(ins, 1, id));
    BINDE(sqlite3_bind_int64(ins, 2, seq));
    BINDE(bind_text(ins, 3, type));
    BINDE(sqlite3_bind_double(ins, 4, ts));
    BINDE(bind_text(ins, 5, data));
    if (brc != SQLITE_OK) {
        rc = fail(s, brc);
        done(ins);
    } else {
        /* The foreign key turns a missing job into SV_STORE_ENOTFOUND here. */
        rc = run(s, ins);
    }
    if (!rc) {
        BINDE(bind_text(bump, 1, id));
        BINDE(sqlite3_bind_int64(bump, 2, seq));
        BINDE(bind_text(bump, 3, type));
        BINDE(bind_text(bump, 4, data));
        if (brc != SQLITE_OK) {
            rc = fail(s, brc);
            done(bump);
        } else {
            rc = run(s, bump);
        }
    }
#undef BINDE
    if (rc == SV_STORE_ENOTFOUND)
        fail_msg(s, rc, "no such job");
    return savepoint_end(s, rc);
}

/* ---- giving running jobs back: recovery, expired leases, release ---- */

typedef struct {
    char id[sizeof ((sv_job *)0)->id];
    int attempts;
    long last_seq;
    int cancel_requested;   /* given back as cancelled, not queued */
} running_job;

/* Reads the rows of a running-jobs select (id, attempts, last_seq) into a malloc'd array, so
 * that no statement is active while they change. */
static int collect_running(sq_store *s, sqlite3_stmt *st, running_job **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int rc, ret = SV_STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            running_job *p = realloc(*out, ncap * sizeof *p);
            if (!p) {
                ret = fail_msg(s, SV_STORE_ENOMEM, "out of memory listing running jobs");
                break;
            }
            *out = p;
            cap = ncap;
        }
        running_job *r = &(*out)[(*n)++];
        col_copy(st, 0, r->id, sizeof r->id);
        r->attempts = sqlite3_column_int(st, 1);
        r->last_seq = (long)sqlite3_column_int64(st, 2);
        r->cancel_requested = sqlite3_column_int(st, 3) != 0;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = fail(s, rc);
    done(st);
    if (ret) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return ret;
}

/* One running job back to queued (fail_error NULL) or to failed with fail_error, and its
 * status event at last_seq + 1, spelled by sv_status_event_json like every other. A job a
 * client asked to cancel is not run again: it becomes cancelled. */
static int give_back(sq_store *s, const running_job *r, double now, const char *fail_error)
{
    sv_job_state to = r->cancel_requested ? SV_JOB_CANCELLED
                      : fail_error        ? SV_JOB_FAILED
                                          : SV_JOB_QUEUED;
    const char *error = r->cancel_requested ? SV_CANCELLED_ERROR_JSON : fail_error;
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, error ? ST_INTERRUPT : ST_BACK_TO_QUEUE, &st);
    if (rc)
        return rc;
    if (error) {
        BIND(bind_text(st, 1, r->id));
        BIND(bind_state(st, 2, to));
        BIND(sqlite3_bind_double(st, 3, now));
        BIND(bind_text(st, 4, error));
        BIND(bind_state(st, 5, SV_JOB_RUNNING));
    } else {
        BIND(bind_text(st, 1, r->id));
        BIND(bind_state(st, 2, SV_JOB_QUEUED));
        BIND(bind_state(st, 3, SV_JOB_RUNNING));
    }
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    if ((rc = run(s, st)) != SV_STORE_OK)
        return rc;
    if (sqlite3_changes(s->db) != 1)
        return missing_or_state(s, r->id);
    char *ev = sv_status_event_json(to, r->attempts, error);
    if (!ev)
        return fail_msg(s, SV_STORE_ENOMEM, "out of memory writing a status event");
    rc = sq_add_event(s, r->id, r->last_seq + 1, "status", now, ev);
    free(ev);
    return rc;
}

/* Requeues or fails (past max_attempts) every job that select st (bound by the caller) lists,
 * all or nothing. */
static int give_back_all(sq_store *s, sqlite3_stmt *st, int max_attempts, double now,
                         const char *why, int *requeued, int *failed)
{
    if (requeued)
        *requeued = 0;
    if (failed)
        *failed = 0;
    int rc = savepoint(s);
    if (rc) {
        done(st);
        return rc;
    }
    running_job *rows = NULL;
    size_t n = 0;
    int nq = 0, nf = 0;
    rc = collect_running(s, st, &rows, &n);
    for (size_t i = 0; i < n && !rc; i++) {
        char *err = NULL;
        if (rows[i].attempts >= max_attempts && !rows[i].cancel_requested) {
            err = sv_interrupted_error_json(why, rows[i].attempts, max_attempts);
            if (!err) {
                rc = fail_msg(s, SV_STORE_ENOMEM, "out of memory writing an error");
                break;
            }
        }
        rc = give_back(s, &rows[i], now, err);
        if (!rc && !rows[i].cancel_requested)
            (err ? &nf : &nq)[0]++;
        free(err);
    }
    free(rows);
    rc = savepoint_end(s, rc);
    if (rc == SV_STORE_OK) {
        if (requeued)
            *requeued = nq;
        if (failed)
            *failed = nf;
    }
    return rc;
}

static int sq_recover(sq_store *s, const char *node, int max_attempts, double now, int *requeued,
                      int *failed)
{
    sqlite3_stmt *st = NULL;
    int rc = write_stmt(s, ST_RUNNING_ON_NODE, &st);
    if (rc)
        return rc;
    BIND(bind_state(st, 1, SV_JOB_RUNNING));
    BIND(bind_text(st, 2, node ? node : ""));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    return give_back_all(s, st, max_attempts, now, "the server stopped", requeued, failed);
}

static int sq_requeue_expired(sq_store *s, double now, int max_attempts, int *requeued,
                              int *failed)
{
    sqlite3_stmt *st = NULL;
    int rc = write_stmt(s, ST_RUNNING_EXPIRED, &st);
    if (rc)
        return rc;
    BIND(bind_state(st, 1, SV_JOB_RUNNING));
    BIND(sqlite3_bind_double(st, 2, now));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    return give_back_all(s, st, max_attempts, now, "its node stopped renewing its lease",
                         requeued, failed);
}

static int sq_release(sq_store *s, const char *id, const char *node, double now)
{
    sqlite3_stmt *st = NULL;
    int rc = write_stmt(s, ST_RUNNING_ONE, &st);
    if (rc)
        return rc;
    BIND(bind_state(st, 1, SV_JOB_RUNNING));
    BIND(bind_text(st, 2, id));
    BIND(bind_text(st, 3, node ? node : ""));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    if ((rc = savepoint(s)) != SV_STORE_OK) {
        done(st);
        return rc;
    }
    running_job *rows = NULL;
    size_t n = 0;
    rc = collect_running(s, st, &rows, &n);
    if (!rc && n == 0) {
        rc = missing_or_state(s, id);
        if (rc == SV_STORE_ESTATE)
            fail_msg(s, rc, "release: the job is not running on this node");
    }
    if (!rc)
        rc = give_back(s, &rows[0], now, NULL);
    free(rows);
    return savepoint_end(s, rc);
}

/* ---- cancel ---- */

static int sq_get_job(sq_store *s, const char *id, const char *tenant, sv_job *out);

static int sq_cancel(sq_store *s, const char *id, const char *tenant, double now,
                     sv_job_state *state)
{
    sv_job j;
    int rc = savepoint(s);
    if (rc)
        return rc;
    rc = sq_get_job(s, id, tenant, &j);
    if (rc) {
        if (rc == SV_STORE_ENOTFOUND)
            fail_msg(s, rc, "no such job");
        return savepoint_end(s, rc);
    }
    if (state)
        *state = j.state;
    sqlite3_stmt *st = NULL;
    if (j.state == SV_JOB_QUEUED) {
        rc = get_stmt(s, ST_CANCEL_QUEUED, &st);
        if (!rc) {
            BIND(bind_text(st, 1, id));
            BIND(bind_state(st, 2, SV_JOB_CANCELLED));
            BIND(sqlite3_bind_double(st, 3, now));
            BIND(bind_text(st, 4, SV_CANCELLED_ERROR_JSON));
            BIND(bind_state(st, 5, SV_JOB_QUEUED));
            rc = rc != SQLITE_OK ? bind_failed(s, st, rc) : run(s, st);
        }
        if (!rc && sqlite3_changes(s->db) != 1)
            rc = missing_or_state(s, id);
        if (!rc) {
            char *ev = sv_status_event_json(SV_JOB_CANCELLED, j.attempts,
                                            SV_CANCELLED_ERROR_JSON);
            rc = ev ? sq_add_event(s, id, j.last_seq + 1, "status", now, ev)
                    : fail_msg(s, SV_STORE_ENOMEM, "out of memory writing a status event");
            free(ev);
        }
    } else if (j.state == SV_JOB_RUNNING) {
        rc = get_stmt(s, ST_CANCEL_MARK, &st);
        if (!rc) {
            BIND(bind_text(st, 1, id));
            BIND(bind_state(st, 2, SV_JOB_RUNNING));
            rc = rc != SQLITE_OK ? bind_failed(s, st, rc) : run(s, st);
        }
        if (!rc && sqlite3_changes(s->db) != 1)
            rc = missing_or_state(s, id);
    } else {
        rc = fail_msg(s, SV_STORE_ESTATE, "cancel: the job has already finished");
    }
    sv_job_clear(&j);
    return savepoint_end(s, rc);
}

static int sq_cancel_requests(sq_store *s, const char *node,
                              int (*cb)(void *data, const char *id), void *data)
{
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, ST_CANCEL_REQUESTS, &st);
    if (rc)
        return rc;
    BIND(bind_state(st, 1, SV_JOB_RUNNING));
    BIND(bind_text(st, 2, node ? node : ""));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char id[sizeof ((sv_job *)0)->id];
        col_copy(st, 0, id, sizeof id);
        if (cb(data, id) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int ret = rc == SQLITE_DONE ? SV_STORE_OK : fail(s, rc);
    done(st);
    return ret;
}

/* ------------------------------------------------------------------------------------------ */
/* Reads                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static int sq_get_job(sq_store *s, const char *id, const char *tenant, sv_job *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, ST_GET, &st);
    if (rc)
        return rc;
    BIND(bind_text(st, 1, id));
    BIND(bind_text(st, 2, tenant));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    return fetch_one_job(s, st, out);
}

/* One text column of a job (its result, its request) into *out; a NULL column is
 * SV_STORE_ENOTFOUND like an absent job. */
static int get_text(sq_store *s, int which, const char *id, const char *tenant, char **out,
                    const char *what)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, which, &st);
    if (rc)
        return rc;
    BIND(bind_text(st, 1, id));
    BIND(bind_text(st, 2, tenant));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    rc = sqlite3_step(st);
    int ret;
    if (rc == SQLITE_ROW) {
        ret = col_dup(st, 0, out);
        if (ret == SV_STORE_OK && !*out)
            ret = SV_STORE_ENOTFOUND;   /* the job exists but has none (no result yet) */
        else if (ret)
            fail_msg(s, ret, what);
    } else if (rc == SQLITE_DONE) {
        ret = SV_STORE_ENOTFOUND;
    } else {
        ret = fail(s, rc);
    }
    done(st);
    return ret;
}

static int sq_find_idem(sq_store *s, const char *tenant, const char *key, sv_job *out)
{
    memset(out, 0, sizeof *out);
    if (!key)
        return SV_STORE_ENOTFOUND;
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, ST_FIND_IDEM, &st);
    if (rc)
        return rc;
    BIND(bind_text(st, 1, tenant ? tenant : ""));
    BIND(bind_text(st, 2, key));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    return fetch_one_job(s, st, out);
}

static int list_stmt(sq_store *s, unsigned mask, sqlite3_stmt **out)
{
    if (!s->list[mask]) {
        /* Fixed parameter numbers per filter, so binding does not depend on the mask. */
        static const struct {
            unsigned bit;
            const char *cond;
        } conds[] = {
            {LF_TENANT, "tenant = ?1"},
            {LF_STATE, "state = ?2"},
            {LF_SOLVER, "solver = ?3"},
            {LF_TAG, "EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE json_each.value = ?4)"},
            {LF_BEFORE, "id < ?5"},
        };
        char sql[1024];
        size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT %s, NULL FROM jobs", JOB_COLS);
        int first = 1;
        for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
            if (!(mask & conds[i].bit))
                continue;
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s%s", first ? " WHERE " : " AND ",
                                  conds[i].cond);
            first = 0;
        }
        snprintf(sql + n, sizeof sql - n, " ORDER BY id DESC LIMIT ?6");
        int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->list[mask],
                                    NULL);
        if (rc != SQLITE_OK) {
            s->list[mask] = NULL;
            return fail(s, rc);
        }
    }
    *out = s->list[mask];
    return SV_STORE_OK;
}

static int sq_list_jobs(sq_store *s, const sv_job_filter *f, sv_job *out, int *n)
{
    *n = 0;
    if (!f)
        return fail_msg(s, SV_STORE_EIO, "list: no filter");
    unsigned mask = 0;
    if (f->tenant)
        mask |= LF_TENANT;
    if (f->state >= 0) {
        if (f->state >= SV_JOB_NSTATES)
            return fail_msg(s, SV_STORE_EIO, "list: unknown state in the filter");
        mask |= LF_STATE;
    }
    if (f->solver)
        mask |= LF_SOLVER;
    if (f->tag)
        mask |= LF_TAG;
    if (f->before_id)
        mask |= LF_BEFORE;
    int limit = f->limit < 1 ? 1 : f->limit > LIST_LIMIT_MAX ? LIST_LIMIT_MAX : f->limit;

    sqlite3_stmt *st = NULL;
    int rc = list_stmt(s, mask, &st);
    if (rc)
        return rc;
    if (mask & LF_TENANT)
        BIND(bind_text(st, 1, f->tenant));
    if (mask & LF_STATE)
        BIND(bind_state(st, 2, (sv_job_state)f->state));
    if (mask & LF_SOLVER)
        BIND(bind_text(st, 3, f->solver));
    if (mask & LF_TAG)
        BIND(bind_text(st, 4, f->tag));
    if (mask & LF_BEFORE)
        BIND(bind_text(st, 5, f->before_id));
    BIND(sqlite3_bind_int(st, 6, limit));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    int count = 0, ret = SV_STORE_OK;
    while (count < limit) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            ret = fail(s, rc);
            break;
        }
        if ((ret = read_job(s, st, &out[count])) != SV_STORE_OK)
            break;
        count++;
    }
    done(st);
    if (ret) {
        /* All or nothing: the caller need not clean up after a failure. */
        for (int i = 0; i < count; i++)
            sv_job_clear(&out[i]);
        return ret;
    }
    *n = count;
    return SV_STORE_OK;
}

static int sq_events(sq_store *s, const char *id, long after_seq, int limit, sv_event_cb cb,
                    void *data)
{
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, ST_EVENTS, &st);
    if (rc)
        return rc;
    BIND(bind_text(st, 1, id));
    BIND(sqlite3_bind_int64(st, 2, after_seq));
    BIND(sqlite3_bind_int(st, 3, limit > 0 ? limit : -1));   /* LIMIT -1: no limit */
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    /* The callback runs while this statement is active: it may use the store, but not call
     * sv_store_events on the same handle (the statement is cached). */
    int ret = SV_STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long seq = (long)sqlite3_column_int64(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        double ts = sqlite3_column_double(st, 2);
        const char *json = (const char *)sqlite3_column_text(st, 3);
        if (cb && cb(data, seq, type ? type : "", ts, json) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = fail(s, rc);
    done(st);
    return ret;
}

/* A job row with its request (only the dispatcher's load needs it). */
static int get_job_full(sq_store *s, const char *id, sv_job *out)
{
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, ST_GET_FULL, &st);
    if (rc)
        return rc;
    rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    return fetch_one_job(s, st, out);
}

static int sq_each_queued(sq_store *s, sv_job_cb cb, void *data)
{
    /* The order is read first (ids only, from the covering index), then each job is fetched and
     * handed over with no statement active, so the callback may change the store (mark a job
     * running, say) and memory holds one request at a time, not the whole queue. */
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, ST_QUEUED_IDS, &st);
    if (rc)
        return rc;
    rc = bind_state(st, 1, SV_JOB_QUEUED);
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    typedef struct {
        char id[sizeof ((sv_job *)0)->id];
    } job_id;
    job_id *ids = NULL;
    size_t n = 0, cap = 0;
    int ret = SV_STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            job_id *p = realloc(ids, ncap * sizeof *p);
            if (!p) {
                ret = fail_msg(s, SV_STORE_ENOMEM, "out of memory listing queued jobs");
                break;
            }
            ids = p;
            cap = ncap;
        }
        col_copy(st, 0, ids[n].id, sizeof ids[n].id);
        n++;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = fail(s, rc);
    done(st);

    for (size_t i = 0; i < n && !ret; i++) {
        sv_job j;
        ret = get_job_full(s, ids[i].id, &j);
        if (ret == SV_STORE_ENOTFOUND) {
            ret = SV_STORE_OK;   /* gone meanwhile (no deletes today, but harmless) */
            continue;
        }
        if (ret)
            break;
        /* An earlier callback may have started or finished it. */
        int stop = j.state == SV_JOB_QUEUED && cb && cb(data, &j) != 0;
        sv_job_clear(&j);
        if (stop)
            break;
    }
    free(ids);
    return ret;
}

static int sq_count_states(sq_store *s, const char *tenant, long *counts)
{
    for (int i = 0; i < SV_JOB_NSTATES; i++)
        counts[i] = 0;
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, ST_COUNT, &st);
    if (rc)
        return rc;
    BIND(bind_text(st, 1, tenant));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    int ret = SV_STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sv_job_state state;
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (sv_job_state_parse(name, &state) != 0) {
            snprintf(s->msg, sizeof s->msg, "unknown job state '%s' in the database",
                     name ? name : "(null)");
            ret = SV_STORE_EIO;
            break;
        }
        counts[state] = (long)sqlite3_column_int64(st, 1);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = fail(s, rc);
    done(st);
    return ret;
}


static int sq_delete_job(sq_store *s, const char *id, const char *tenant)
{
    sqlite3_stmt *st = NULL;
    int rc = write_stmt(s, ST_DELETE, &st);
    if (rc)
        return rc;
    BIND(bind_text(st, 1, id));
    BIND(bind_text(st, 2, tenant));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    if ((rc = run(s, st)) != SV_STORE_OK)
        return rc;
    if (sqlite3_changes(s->db) == 1)
        return SV_STORE_OK;
    sv_job j;
    memset(&j, 0, sizeof j);
    rc = sq_get_job(s, id, tenant, &j);
    sv_job_clear(&j);
    if (rc != SV_STORE_OK)
        return rc;  /* absent, or another tenant's */
    return fail_msg(s, SV_STORE_ESTATE, "the job is not finished: cancel it first");
}

static int prune_step(sq_store *s, int which, double arg, long limit, long *deleted)
{
    sqlite3_stmt *st = NULL;
    int rc = get_stmt(s, which, &st);
    if (rc)
        return rc;
    if (which == ST_PRUNE_AGE)
        BIND(sqlite3_bind_double(st, 1, arg));
    else
        BIND(sqlite3_bind_int64(st, 1, (sqlite3_int64)arg));
    BIND(sqlite3_bind_int64(st, 2, (sqlite3_int64)limit));
    if (rc != SQLITE_OK)
        return bind_failed(s, st, rc);
    if ((rc = run(s, st)) != SV_STORE_OK)
        return rc;
    *deleted += sqlite3_changes(s->db);
    return SV_STORE_OK;
}

static int sq_prune(sq_store *s, double finished_before, long keep, long limit, long *deleted)
{
    long n = 0;
    int rc = tx_lost(s);
    if (!rc && finished_before > 0)
        rc = prune_step(s, ST_PRUNE_AGE, finished_before, limit, &n);
    if (!rc && keep > 0 && n < limit)
        rc = prune_step(s, ST_PRUNE_COUNT, (double)keep, limit - n, &n);
    if (deleted)
        *deleted = n;
    return rc;
}

/* Outside any transaction: copies the WAL into the database and truncates it (readers that
 * still need old pages make it partial, which is fine: the next one finishes). */
static int sq_checkpoint(sq_store *s)
{
    if (s->in_tx)
        return fail_msg(s, SV_STORE_ESTATE, "checkpoint inside a transaction");
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? SV_STORE_OK : fail(s, rc);
}

/* ------------------------------------------------------------------------------------------ */
/* The ops table                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Every handle this file hands out is an sq_store (its base first). */
#define SQ(s) ((sq_store *)(s))

static void op_close(sv_store *s) { sq_close(SQ(s)); }
static const char *op_errmsg(sv_store *s) { return sq_errmsg(SQ(s)); }
static int op_schema_version(sv_store *s) { return sq_schema_version(SQ(s)); }
static int op_begin(sv_store *s) { return sq_begin(SQ(s)); }
static int op_commit(sv_store *s) { return sq_commit(SQ(s)); }
static int op_rollback(sv_store *s) { return sq_rollback(SQ(s)); }
static int op_insert_job(sv_store *s, const sv_job *j) { return sq_insert_job(SQ(s), j); }

static int op_claim_job(sv_store *s, const char *id, const char *node, double now,
                        double lease_s, int attempts)
{
    return sq_claim_job(SQ(s), id, node, now, lease_s, attempts);
}

static int op_claim_next(sv_store *s, const char *node, double now, double lease_s, sv_job *out)
{
    return sq_claim_next(SQ(s), node, now, lease_s, out);
}

static int op_heartbeat(sv_store *s, const char *node, double now, double lease_s, int *renewed)
{
    return sq_heartbeat(SQ(s), node, now, lease_s, renewed);
}

static int op_release(sv_store *s, const char *id, const char *node, double now)
{
    return sq_release(SQ(s), id, node, now);
}

static int op_requeue_expired(sv_store *s, double now, int max_attempts, int *requeued,
                              int *failed)
{
    return sq_requeue_expired(SQ(s), now, max_attempts, requeued, failed);
}

static int op_finish_job(sv_store *s, const char *id, const char *node, sv_job_state state,
                         double finished_at, const char *summary, const char *result,
                         const char *error)
{
    return sq_finish_job(SQ(s), id, node, state, finished_at, summary, result, error);
}

static int op_add_event(sv_store *s, const char *id, long seq, const char *type, double ts,
                        const char *data)
{
    return sq_add_event(SQ(s), id, seq, type, ts, data);
}

static int op_cancel(sv_store *s, const char *id, const char *tenant, double now,
                     sv_job_state *state)
{
    return sq_cancel(SQ(s), id, tenant, now, state);
}

static int op_cancel_requests(sv_store *s, const char *node,
                              int (*cb)(void *data, const char *id), void *data)
{
    return sq_cancel_requests(SQ(s), node, cb, data);
}

static int op_recover(sv_store *s, const char *node, int max_attempts, double now,
                      int *requeued, int *failed)
{
    return sq_recover(SQ(s), node, max_attempts, now, requeued, failed);
}

static int op_get_job(sv_store *s, const char *id, const char *tenant, sv_job *out)
{
    return sq_get_job(SQ(s), id, tenant, out);
}

static int op_get_result(sv_store *s, const char *id, const char *tenant, char **out)
{
    return get_text(SQ(s), ST_GET_RESULT, id, tenant, out, "out of memory reading a result");
}

static int op_get_request(sv_store *s, const char *id, char **out)
{
    return get_text(SQ(s), ST_GET_REQUEST, id, NULL, out, "out of memory reading a request");
}

static int op_find_idem(sv_store *s, const char *tenant, const char *key, sv_job *out)
{
    return sq_find_idem(SQ(s), tenant, key, out);
}

static int op_list_jobs(sv_store *s, const sv_job_filter *f, sv_job *out, int *n)
{
    return sq_list_jobs(SQ(s), f, out, n);
}

static int op_events(sv_store *s, const char *id, long after_seq, int limit, sv_event_cb cb,
                     void *data)
{
    return sq_events(SQ(s), id, after_seq, limit, cb, data);
}

static int op_each_queued(sv_store *s, sv_job_cb cb, void *data)
{
    return sq_each_queued(SQ(s), cb, data);
}

static int op_count_states(sv_store *s, const char *tenant, long *counts)
{
    return sq_count_states(SQ(s), tenant, counts);
}

static int op_delete_job(sv_store *s, const char *id, const char *tenant)
{
    return sq_delete_job(SQ(s), id, tenant);
}

static int op_prune(sv_store *s, double finished_before, long keep, long limit, long *deleted)
{
    return sq_prune(SQ(s), finished_before, keep, limit, deleted);
}

static int op_checkpoint(sv_store *s) { return sq_checkpoint(SQ(s)); }

/* A local file: reads never wait on a network, and one node owns it. */
static const sv_store_ops sqlite_ops = {
    .name = "sqlite",
    .caps = SV_STORE_CAP_LOCAL_READS,
    .close = op_close,
    .errmsg = op_errmsg,
    .schema_version = op_schema_version,
    .begin = op_begin,
    .commit = op_commit,
    .rollback = op_rollback,
    .insert_job = op_insert_job,
    .claim_job = op_claim_job,
    .claim_next = op_claim_next,
    .heartbeat = op_heartbeat,
    .release = op_release,
    .requeue_expired = op_requeue_expired,
    .finish_job = op_finish_job,
    .add_event = op_add_event,
    .cancel = op_cancel,
    .cancel_requests = op_cancel_requests,
    .recover = op_recover,
    .get_job = op_get_job,
    .get_result = op_get_result,
    .get_request = op_get_request,
    .find_idem = op_find_idem,
    .list_jobs = op_list_jobs,
    .events = op_events,
    .each_queued = op_each_queued,
    .count_states = op_count_states,
    .delete_job = op_delete_job,
    .prune = op_prune,
    .checkpoint = op_checkpoint,
};
