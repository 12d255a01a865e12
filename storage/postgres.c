/* postgres.c - the PostgreSQL backend of the job store (store.h, storage/backend.h): a store that
 * several solvd nodes share (SV_STORE_CAP_SHARED). Each queued job goes to exactly one node
 * (claim_next locks the row it takes with FOR UPDATE SKIP LOCKED, so concurrent claimers pass
 * over each other's rows instead of waiting or colliding); a node keeps its jobs by renewing
 * their leases (heartbeat), and any node puts back the jobs whose lease ran out
 * (requeue_expired). Every state change is guarded by the state it starts from in its WHERE
 * clause, so a job that finished meanwhile is never overwritten.
 *
 * One handle is one libpq connection, opened from the URL as libpq reads it
 * ("postgres://user@host:port/db?options=-csearch_path%3Dsolvd"). The tables live in the
 * connection's current schema (the first of search_path that exists). The schema is versioned
 * in the table solvd_schema_version with an ordered list of migrations, applied on open in one
 * transaction under an advisory lock, so several nodes opening a new database at once create it
 * only once. Statements are prepared once per connection with text parameters (values are never
 * pasted into SQL); doubles travel as %.17g text and come back exact (extra_float_digits 3).
 * JSON columns are plain text, so a request is stored exactly as it was sent.
 *
 * Transactions: begin/commit/rollback are BEGIN/COMMIT/ROLLBACK, and a write outside them
 * commits on its own. PostgreSQL aborts a whole transaction at its first failing statement, so
 * the failures a batch must survive (a duplicate job or event, an event for a missing job, a
 * change the job's state does not allow) never raise one: inserts use ON CONFLICT DO NOTHING and
 * count what they inserted, tags are checked here before they are sent, guarded updates count
 * the rows they changed. Only operations of several statements run in a savepoint inside a
 * batch (not each write: a savepoint costs two round trips, and a batch of events updating one
 * job under many savepoints slows down quadratically, 2.3 ms an event at 2000). An unexpected
 * error (the server's) does abort the batch: every later call and the commit then fail, and
 * the caller rolls back. A lost connection fails the call in progress with SV_STORE_EIO and
 * libpq's message; the next call outside a transaction reconnects.
 *
 * Notifications (for nodes that LISTEN; delivered when the writing transaction commits):
 *   solvd_jobs    payload ''      a job was inserted, or a running job went back to the queue
 *                                 (release, lease expiry, recovery): there may be work to claim.
 *                                 Empty payloads coalesce to one per transaction.
 *   solvd_cancel  payload job id  a job was cancelled (finish_job to cancelled, or a queued
 *                                 job cancelled by sv_postgres_cancel) or marked for cancel
 *                                 while running: the node running it should stop it. */
#include "storage/backend.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Schema                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Ids sort bytewise (they are time-sortable, and listing pages by "id < cursor"), whatever the
 * database's default collation: hence COLLATE "C" on the key columns. tags is checked to be a
 * JSON array (a bad value would break every tag-filtered listing); the cast raises on text that
 * is not JSON at all. */
static const char *const migrations[] = {
    /* 1: jobs and their events, as SQLite's schema version 3. */
    "CREATE TABLE jobs ("
    "  id           text COLLATE \"C\" PRIMARY KEY,"
    "  tenant       text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  solver       text NOT NULL,"
    "  state        text COLLATE \"C\" NOT NULL CHECK (state IN ('queued', 'running',"
    "                 'succeeded', 'failed', 'cancelled', 'timed_out')),"
    "  priority     integer NOT NULL DEFAULT 0,"
    "  time_limit_s double precision NOT NULL DEFAULT 0,"
    "  attempts     integer NOT NULL DEFAULT 0,"
    "  created_at   double precision NOT NULL,"
    "  started_at   double precision NOT NULL DEFAULT 0,"
    "  finished_at  double precision NOT NULL DEFAULT 0,"
    "  last_seq     bigint NOT NULL DEFAULT 0,"
    "  node         text,"
    "  lease_until  double precision NOT NULL DEFAULT 0,"
    /* A client asked to cancel the running job; its node stops it when it next looks. */
    "  cancel_requested boolean NOT NULL DEFAULT false,"
    "  tags         text CHECK (tags IS NULL OR json_typeof(tags::json) = 'array'),"
    "  progress     text,"
    "  summary      text,"
    "  error        text,"
    "  idem_key     text COLLATE \"C\","
    "  request_hash text,"
    "  params       text,"
    "  request      text,"
    "  result       text"
    ");"
    /* The dispatcher's order; id last makes it total. */
    "CREATE INDEX jobs_queue ON jobs (state, priority DESC, created_at, id);"
    "CREATE UNIQUE INDEX jobs_idem ON jobs (tenant, idem_key) WHERE idem_key IS NOT NULL;"
    /* Listing newest first: the primary key serves all tenants, these one tenant, one state. */
    "CREATE INDEX jobs_tenant_id ON jobs (tenant, id);"
    "CREATE INDEX jobs_state_id ON jobs (state, id);"
    /* Retention walks finished jobs by finish time. */
    "CREATE INDEX jobs_finished ON jobs (finished_at);"
    "CREATE TABLE events ("
    "  job_id text COLLATE \"C\" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
    "  seq    bigint NOT NULL,"
    "  type   text NOT NULL,"
    "  ts     double precision NOT NULL,"
    "  data   text,"
    "  PRIMARY KEY (job_id, seq)"
    ");",
};
#define SCHEMA_LATEST ((int)(sizeof migrations / sizeof migrations[0]))

/* The first key of the advisory lock that guards schema changes ("solv"); the second is the
 * schema's name hashed, so databases of different schemas migrate independently. */
#define SCHEMA_LOCK_KEY 1936682102
#define LIST_LIMIT_MAX 1000
#define CONNECT_TIMEOUT_S "10"

/* ------------------------------------------------------------------------------------------ */
/* Statements                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Every column of sv_job but request and result, in the order read_job() expects; request is
 * selected as column JOB_NCOLS (NULL where it is not wanted). */
#define JOB_COLS                                                                             \
    "id, tenant, solver, state, priority, time_limit_s, attempts, created_at, started_at, "   \
    "finished_at, last_seq, tags, progress, summary, error, idem_key, request_hash, params, "   \
    "node, lease_until"
#define JOB_NCOLS 20
#define FINAL_STATES "('succeeded', 'failed', 'cancelled', 'timed_out')"

enum {
    ST_SCHEMA_VERSION,
    ST_INSERT,
    ST_GET,
    ST_GET_FULL,
    ST_EXISTS,
    ST_GET_RESULT,
    ST_GET_REQUEST,
    ST_FIND_IDEM,
    ST_CLAIM,
    ST_CLAIM_NEXT,
    ST_HEARTBEAT,
    ST_FINISH,
    ST_NOTIFY,
    ST_ADD_EVENT,
    ST_EVENTS,
    ST_QUEUED_IDS,
    ST_RUNNING_ON_NODE,
    ST_RUNNING_EXPIRED,
    ST_RUNNING_ONE,
    ST_BACK_TO_QUEUE,
    ST_INTERRUPT,
    ST_CANCEL_LOCK,
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
    [ST_SCHEMA_VERSION] = "SELECT version FROM solvd_schema_version",
    /* A duplicate id or idempotency key inserts nothing (no row comes back) rather than
     * raising. The notification rides in the same statement: one round trip, and it is sent
     * only if the row was inserted (at commit). */
    [ST_INSERT] = "WITH ins AS (INSERT INTO jobs (id, tenant, solver, state, priority,"
                  " time_limit_s, attempts, created_at, started_at, finished_at, last_seq, tags,"
                  " progress, summary, error, idem_key, request_hash, request, params, node,"
                  " lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
                  " $14, $15, $16, $17, $18, $19, NULLIF($20::text, ''), $21)"
                  " ON CONFLICT DO NOTHING RETURNING id)"
                  " SELECT pg_notify('solvd_jobs', '') FROM ins",
    [ST_GET] = "SELECT " JOB_COLS ", NULL FROM jobs WHERE id = $1"
               " AND ($2::text IS NULL OR tenant = $2)",
    [ST_GET_FULL] = "SELECT " JOB_COLS ", request FROM jobs WHERE id = $1",
    [ST_EXISTS] = "SELECT 1 FROM jobs WHERE id = $1",
    [ST_GET_RESULT] = "SELECT result FROM jobs WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)",
    [ST_GET_REQUEST] = "SELECT request FROM jobs WHERE id = $1"
                       " AND ($2::text IS NULL OR tenant = $2)",
    [ST_FIND_IDEM] = "SELECT " JOB_COLS ", NULL FROM jobs WHERE tenant = $1 AND idem_key = $2",
    [ST_CLAIM] = "UPDATE jobs SET state = $2, started_at = $3, attempts = $4,"
                 " node = NULLIF($6::text, ''), lease_until = $7 WHERE id = $1 AND state = $5",
    /* The first queued job in dispatch order that no other claimer holds locked; the outer
     * state test re-checks the row as it is once locked. One statement: atomic on its own. */
    [ST_CLAIM_NEXT] = "UPDATE jobs SET state = $1, started_at = $2, attempts = attempts + 1,"
                      " node = NULLIF($3::text, ''), lease_until = $4"
                      " WHERE id = (SELECT id FROM jobs WHERE state = $5"
                      " ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                      " AND state = $5 RETURNING " JOB_COLS ", request",
    [ST_HEARTBEAT] = "UPDATE jobs SET lease_until = $3 WHERE state = $1 AND node = $2",
    [ST_FINISH] = "UPDATE jobs SET state = $2, finished_at = $3, summary = $4, result = $5,"
                  " error = $6 WHERE id = $1 AND (state = $7 OR (state = $8"
                  " AND ($9::text IS NULL OR node = $9::text)))",
    [ST_NOTIFY] = "SELECT pg_notify($1, $2)",
    /* The event and the job's last_seq (and progress) in one statement. SET expressions see
     * the row as it was, so a late, out-of-order progress event does not replace a newer one.
     * A missing job or a repeated seq inserts nothing, so updates no job row, rather than
     * raising. */
    [ST_ADD_EVENT] = "WITH ins AS (INSERT INTO events (job_id, seq, type, ts, data)"
                     " SELECT $1::text, $2::bigint, $3::text, $4::float8, $5::text"
                     " WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1::text)"
                     " ON CONFLICT DO NOTHING RETURNING job_id)"
                     " , upd AS (UPDATE jobs SET last_seq = GREATEST(last_seq, $2::bigint),"
                     " progress = CASE WHEN $3::text = 'progress' AND $2::bigint > last_seq"
                     " THEN $5::text ELSE progress END FROM ins WHERE jobs.id = ins.job_id"
                     " RETURNING jobs.id)"
                     /* Followers on other nodes read the new events now rather than at their
                      * next poll; a transaction's repeats of one job collapse into one. */
                     " SELECT pg_notify('solvd_events', id) FROM upd",
    [ST_EVENTS] = "SELECT seq, type, ts, data FROM events WHERE job_id = $1 AND seq > $2"
                  " ORDER BY seq LIMIT $3",
    [ST_QUEUED_IDS] = "SELECT id FROM jobs WHERE state = $1 ORDER BY priority DESC, created_at, id",
    /* The running jobs that recovery, lease expiry or a release hand back ($1 running), locked
     * until the hand-back commits. Expiry skips rows another node is handing back (or its
     * owner renewing) right now. */
    [ST_RUNNING_ON_NODE] = "SELECT id, attempts, last_seq, cancel_requested FROM jobs"
                           " WHERE state = $1 AND (node = $2 OR node IS NULL) ORDER BY id"
                           " FOR UPDATE",
    [ST_RUNNING_EXPIRED] = "SELECT id, attempts, last_seq, cancel_requested FROM jobs"
                           " WHERE state = $1 AND lease_until > 0 AND lease_until < $2"
                           " ORDER BY id FOR UPDATE SKIP LOCKED",
    [ST_RUNNING_ONE] = "SELECT id, attempts, last_seq, cancel_requested FROM jobs"
                       " WHERE state = $1 AND id = $2 AND node = $3 FOR UPDATE",
    [ST_BACK_TO_QUEUE] = "UPDATE jobs SET state = $2, started_at = 0, node = NULL,"
                         " lease_until = 0 WHERE id = $1 AND state = $3",
    [ST_INTERRUPT] = "UPDATE jobs SET state = $2, finished_at = $3, error = $4, node = NULL,"
                     " lease_until = 0 WHERE id = $1 AND state = $5",
    /* A cancel locks the row it decides on, so that no node claims the job in between. */
    [ST_CANCEL_LOCK] = "SELECT state, attempts, last_seq FROM jobs WHERE id = $1"
                       " AND ($2::text IS NULL OR tenant = $2) FOR UPDATE",
    [ST_CANCEL_QUEUED] = "UPDATE jobs SET state = $2, finished_at = $3, error = $4"
                         " WHERE id = $1 AND state = $5",
    [ST_CANCEL_MARK] = "UPDATE jobs SET cancel_requested = true WHERE id = $1 AND state = $2",
    [ST_CANCEL_REQUESTS] = "SELECT id FROM jobs WHERE state = $1 AND node = $2"
                           " AND cancel_requested ORDER BY id",
    [ST_COUNT] = "SELECT state, count(*) FROM jobs WHERE $1::text IS NULL OR tenant = $1"
                " GROUP BY state",
    /* Events go with their job (ON DELETE CASCADE); final states only. */
    [ST_DELETE] = "DELETE FROM jobs WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"
                  " AND state IN " FINAL_STATES,
    /* Retention, at most $2 jobs a call so that one transaction stays short. */
    [ST_PRUNE_AGE] = "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN "
                     FINAL_STATES " AND finished_at < $1 LIMIT $2)",
    [ST_PRUNE_COUNT] = "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN "
                       FINAL_STATES " ORDER BY finished_at DESC, id DESC LIMIT $2 OFFSET $1)",
};

/* Listing filters: one statement per combination, each numbering only the parameters it uses
 * (PostgreSQL cannot type a parameter that no expression mentions). */
enum { LF_TENANT = 1, LF_STATE = 2, LF_SOLVER = 4, LF_TAG = 8, LF_BEFORE = 16, LF_N = 32 };

typedef struct pg_store {
    sv_store base;   /* first: the ops table */
    PGconn *conn;
    unsigned char prepared[ST_N];
    unsigned char list_prepared[LF_N];
    int in_tx;   /* between a successful sv_store_begin and its commit or rollback */
    char msg[512];
} pg_store;

/* Text parameters of one statement; numbers and fixed-size fields are formatted into each
 * parameter's own buffer. */
#define MAX_ARGS 24
typedef struct {
    const char *v[MAX_ARGS];
    char buf[MAX_ARGS][72];
    int n;
} pq_args;

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void arg_text(pq_args *a, const char *v) { a->v[a->n++] = v; }

/* A fixed-size field of sv_job may lack its terminator if the caller filled all of it. */
static void arg_field(pq_args *a, const char *v, size_t cap)
{
    size_t n = strnlen(v, cap);
    if (n >= sizeof a->buf[0])
        n = sizeof a->buf[0] - 1;
    memcpy(a->buf[a->n], v, n);
    a->buf[a->n][n] = '\0';
    a->v[a->n] = a->buf[a->n];
    a->n++;
}

static void arg_double(pq_args *a, double d)
{
    snprintf(a->buf[a->n], sizeof a->buf[0], "%.17g", d);
    a->v[a->n] = a->buf[a->n];
    a->n++;
}

static void arg_long(pq_args *a, long v)
{
    snprintf(a->buf[a->n], sizeof a->buf[0], "%ld", v);
    a->v[a->n] = a->buf[a->n];
    a->n++;
}

static void arg_state(pq_args *a, sv_job_state st) { arg_text(a, sv_job_state_name(st)); }

/* libpq's messages end in a newline and may span lines; one line reads better in a log. */
static void set_msg(pg_store *s, const char *prefix, const char *text)
{
    snprintf(s->msg, sizeof s->msg, "%s%s", prefix ? prefix : "", text ? text : "");
    size_t n = strlen(s->msg);
    while (n > 0 && (s->msg[n - 1] == '\n' || s->msg[n - 1] == ' '))
        s->msg[--n] = '\0';
    for (char *p = s->msg; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
}

static int fail_msg(pg_store *s, int code, const char *msg)
{
    set_msg(s, NULL, msg);
    return code;
}

/* Records why res (or the connection) failed and maps it: a unique violation is a conflict, a
 * foreign-key violation an event for a missing job, anything else (a lost connection above
 * all) SV_STORE_EIO. */
static int fail_res(pg_store *s, const PGresult *res)
{
    if (PQstatus(s->conn) != CONNECTION_OK) {
        set_msg(s, "PostgreSQL connection: ", PQerrorMessage(s->conn));
        return SV_STORE_EIO;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    if (primary) {
        char text[sizeof s->msg];
        snprintf(text, sizeof text, "%s%s%s", primary, detail ? ": " : "", detail ? detail : "");
        set_msg(s, NULL, text);
    } else {
        set_msg(s, NULL, res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn));
        if (!s->msg[0])
            set_msg(s, NULL, PQerrorMessage(s->conn));
    }
    if (!res && !s->msg[0])
        set_msg(s, NULL, "out of memory in libpq");
    if (state && strcmp(state, "23505") == 0)
        return SV_STORE_ECONFLICT;
    if (state && strcmp(state, "23503") == 0)
        return SV_STORE_ENOTFOUND;
    return SV_STORE_EIO;
}

static int res_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

/* A statement without parameters (transaction control, migrations). */
static int exec_simple(pg_store *s, const char *sql)
{
    PGresult *res = PQexec(s->conn, sql);
    int rc = res_ok(res) ? SV_STORE_OK : fail_res(s, res);
    PQclear(res);
    return rc;
}

/* Prepares sql under name once per connection. */
static int prepare(pg_store *s, const char *name, const char *sql, unsigned char *flag)
{
    if (*flag)
        return SV_STORE_OK;
    PGresult *res = PQprepare(s->conn, name, sql, 0, NULL);
    int rc = res_ok(res) ? SV_STORE_OK : fail_res(s, res);
    PQclear(res);
    if (rc == SV_STORE_OK)
        *flag = 1;
    return rc;
}

static int exec_named(pg_store *s, const char *name, const pq_args *a, PGresult **out)
{
    PGresult *res = PQexecPrepared(s->conn, name, a ? a->n : 0, a ? a->v : NULL, NULL, NULL, 0);
    if (!res_ok(res)) {
        int rc = fail_res(s, res);
        PQclear(res);
        return rc;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return SV_STORE_OK;
}

/* Runs statement id with a; *out (when given) gets the result, which the caller PQclears. */
static int exec_stmt(pg_store *s, int id, const pq_args *a, PGresult **out)
{
    char name[16];
    snprintf(name, sizeof name, "sv_%d", id);
    int rc = prepare(s, name, stmt_sql[id], &s->prepared[id]);
    return rc ? rc : exec_named(s, name, a, out);
}

/* Runs a statement that changes rows; *changed gets how many. */
static int exec_count(pg_store *s, int id, const pq_args *a, long *changed)
{
    PGresult *res = NULL;
    int rc = exec_stmt(s, id, a, &res);
    if (rc)
        return rc;
    *changed = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return SV_STORE_OK;
}

static int val_dup(const PGresult *r, int row, int col, char **out)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return SV_STORE_OK;
    int n = PQgetlength(r, row, col);
    char *p = malloc((size_t)n + 1);
    if (!p)
        return SV_STORE_ENOMEM;
    memcpy(p, PQgetvalue(r, row, col), (size_t)n);
    p[n] = '\0';
    *out = p;
    return SV_STORE_OK;
}

static void val_copy(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    size_t n = PQgetisnull(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, PQgetvalue(r, row, col), n);
    dst[n] = '\0';
}

static double val_double(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0.0 : strtod(PQgetvalue(r, row, col), NULL);
}

static long val_long(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtol(PQgetvalue(r, row, col), NULL, 10);
}

/* Fills j (zeroed first) from row of a JOB_COLS + request select. On failure j is left
 * cleared. */
static int read_job(pg_store *s, const PGresult *r, int row, sv_job *j)
{
    memset(j, 0, sizeof *j);
    val_copy(r, row, 0, j->id, sizeof j->id);
    val_copy(r, row, 1, j->tenant, sizeof j->tenant);
    val_copy(r, row, 2, j->solver, sizeof j->solver);
    const char *state = PQgetvalue(r, row, 3);
    if (sv_job_state_parse(state, &j->state) != 0) {
        snprintf(s->msg, sizeof s->msg, "job %s has an unknown state '%.64s'", j->id, state);
        memset(j, 0, sizeof *j);
        return SV_STORE_EIO;
    }
    j->priority = (int)val_long(r, row, 4);
    j->time_limit_s = val_double(r, row, 5);
    j->attempts = (int)val_long(r, row, 6);
    j->created_at = val_double(r, row, 7);
    j->started_at = val_double(r, row, 8);
    j->finished_at = val_double(r, row, 9);
    j->last_seq = val_long(r, row, 10);
    val_copy(r, row, 18, j->node, sizeof j->node);
    j->lease_until = val_double(r, row, 19);
    int rc = SV_STORE_OK;
    if (!rc) rc = val_dup(r, row, 11, &j->tags);
    if (!rc) rc = val_dup(r, row, 12, &j->progress);
    if (!rc) rc = val_dup(r, row, 13, &j->summary);
    if (!rc) rc = val_dup(r, row, 14, &j->error);
    if (!rc) rc = val_dup(r, row, 15, &j->idem_key);
    if (!rc) rc = val_dup(r, row, 16, &j->request_hash);
    if (!rc) rc = val_dup(r, row, 17, &j->params);
    if (!rc) rc = val_dup(r, row, JOB_NCOLS, &j->request);
    if (rc) {
        sv_job_clear(j);
        return fail_msg(s, rc, "out of memory reading a job row");
    }
    return SV_STORE_OK;
}

/* Runs a select of at most one job row into out (zeroed first). */
static int fetch_one_job(pg_store *s, int id, const pq_args *a, sv_job *out)
{
    memset(out, 0, sizeof *out);
    PGresult *res = NULL;
    int rc = exec_stmt(s, id, a, &res);
    if (rc)
        return rc;
    rc = PQntuples(res) > 0 ? read_job(s, res, 0, out) : SV_STORE_ENOTFOUND;
    PQclear(res);
    return rc;
}

/* After an UPDATE guarded by a state condition changed nothing: was the job missing, or in the
 * wrong state? */
static int missing_or_state(pg_store *s, const char *id)
{
    pq_args a = {0};
    arg_text(&a, id);
    PGresult *res = NULL;
    int rc = exec_stmt(s, ST_EXISTS, &a, &res);
    if (rc)
        return rc;
    rc = PQntuples(res) > 0 ? SV_STORE_ESTATE : SV_STORE_ENOTFOUND;
    PQclear(res);
    return fail_msg(s, rc, rc == SV_STORE_ESTATE
                               ? "the job is not in a state that allows this change"
                               : "no such job");
}

/* ------------------------------------------------------------------------------------------ */
/* Connection, transactions, operation brackets                                                */
/* ------------------------------------------------------------------------------------------ */

static void quiet_notices(void *arg, const char *message) { (void)arg, (void)message; }

/* What every new (or reset) connection is set to. */
static int session_setup(pg_store *s)
{
    PQsetNoticeProcessor(s->conn, quiet_notices, NULL);
    if (PQsetClientEncoding(s->conn, "UTF8") != 0)
        return fail_res(s, NULL);
    /* Doubles print exactly (PostgreSQL 12 and later print the shortest exact form anyway). */
    return exec_simple(s, "SET extra_float_digits = 3");
}

/* The connection is usable for the next call. A connection lost outside a transaction is
 * re-established (its prepared statements are gone with it); inside one, the transaction is
 * lost and every call fails until the rollback. A transaction the server aborted fails the
 * same way. */
static int conn_ready(pg_store *s)
{
    if (PQstatus(s->conn) != CONNECTION_OK) {
        if (s->in_tx)
            return fail_msg(s, SV_STORE_EIO,
                            "the connection to PostgreSQL was lost during the transaction");
        PQreset(s->conn);
        memset(s->prepared, 0, sizeof s->prepared);
        memset(s->list_prepared, 0, sizeof s->list_prepared);
        if (PQstatus(s->conn) != CONNECTION_OK) {
            set_msg(s, "PostgreSQL connection: ", PQerrorMessage(s->conn));
            return SV_STORE_EIO;
        }
        int rc = session_setup(s);
        if (rc)
            return rc;
    }
    if (s->in_tx && PQtransactionStatus(s->conn) != PQTRANS_INTRANS)
        return fail_msg(s, SV_STORE_EIO,
                        "the transaction was aborted by PostgreSQL after an earlier error");
    return SV_STORE_OK;
}

/* How an operation was bracketed by op_start, for op_end. */
enum { BR_NONE, BR_SAVEPOINT, BR_TX };

/* Brackets one operation of several statements (multi): a savepoint inside the caller's
 * transaction (so that its failure half-way leaves the batch as it was), else a transaction of
 * its own. A single statement needs neither: it is atomic, and commits on its own outside a
 * transaction. */
static int op_start(pg_store *s, int multi, int *br)
{
    *br = BR_NONE;
    int rc = conn_ready(s);
    if (rc)
        return rc;
    if (s->in_tx && multi) {
        rc = exec_simple(s, "SAVEPOINT sv_op");
        if (!rc)
            *br = BR_SAVEPOINT;
    } else if (multi) {
        rc = exec_simple(s, "BEGIN");
        if (!rc)
            *br = BR_TX;
    }
    return rc;
}

/* Ends the bracket: kept if rc is OK, undone otherwise. Returns the first error, with its
 * message. */
static int op_end(pg_store *s, int br, int rc)
{
    if (br == BR_NONE)
        return rc;
    if (rc == SV_STORE_OK) {
        if (br == BR_SAVEPOINT)
            return exec_simple(s, "RELEASE SAVEPOINT sv_op");
        PGresult *res = PQexec(s->conn, "COMMIT");
        int ret = res_ok(res) ? SV_STORE_OK : fail_res(s, res);
        /* COMMIT of a transaction that had failed answers ROLLBACK, not an error. */
        if (!ret && strcmp(PQcmdStatus(res), "COMMIT") != 0)
            ret = fail_msg(s, SV_STORE_EIO, "the transaction was rolled back by PostgreSQL");
        PQclear(res);
        return ret;
    }
    char keep[sizeof s->msg];
    memcpy(keep, s->msg, sizeof keep);
    if (br == BR_SAVEPOINT) {
        if (exec_simple(s, "ROLLBACK TO SAVEPOINT sv_op") == SV_STORE_OK)
            exec_simple(s, "RELEASE SAVEPOINT sv_op");
    } else if (PQstatus(s->conn) == CONNECTION_OK) {
        exec_simple(s, "ROLLBACK");
    }
    memcpy(s->msg, keep, sizeof keep);
    return rc;
}

static int pg_begin(pg_store *s)
{
    if (s->in_tx)
        return fail_msg(s, SV_STORE_ESTATE, "begin: a transaction is already open");
    int rc = conn_ready(s);
    if (!rc)
        rc = exec_simple(s, "BEGIN");
    if (rc == SV_STORE_OK)
        s->in_tx = 1;
    return rc;
}

/* A failed COMMIT leaves nothing to retry in PostgreSQL (the transaction is over), so every
 * later commit fails too until the caller rolls back, as the contract has it. */
static int pg_commit(pg_store *s)
{
    if (!s->in_tx)
        return fail_msg(s, SV_STORE_ESTATE, "commit: no transaction is open");
    int rc = conn_ready(s);
    if (rc)
        return rc;
    PGresult *res = PQexec(s->conn, "COMMIT");
    rc = res_ok(res) ? SV_STORE_OK : fail_res(s, res);
    if (!rc && strcmp(PQcmdStatus(res), "COMMIT") != 0)
        rc = fail_msg(s, SV_STORE_EIO, "the transaction was rolled back by PostgreSQL");
    PQclear(res);
    if (rc == SV_STORE_OK)
        s->in_tx = 0;
    return rc;
}

static int pg_rollback(pg_store *s)
{
    if (!s->in_tx)
        return fail_msg(s, SV_STORE_ESTATE, "rollback: no transaction is open");
    s->in_tx = 0;
    /* A lost connection or an already-ended transaction: nothing is left to roll back. */
    if (PQstatus(s->conn) != CONNECTION_OK || PQtransactionStatus(s->conn) == PQTRANS_IDLE)
        return SV_STORE_OK;
    return exec_simple(s, "ROLLBACK");
}

/* ------------------------------------------------------------------------------------------ */
/* Open, close, schema                                                                         */
/* ------------------------------------------------------------------------------------------ */

static const sv_store_ops postgres_ops;
static void pg_close(pg_store *s);


static int too_new(pg_store *s, int v)
{
    snprintf(s->msg, sizeof s->msg,
             "the database has schema version %d, newer than the latest this solvd knows (%d); "
             "run a newer solvd or point it at another database",
             v, SCHEMA_LATEST);
    return SV_STORE_EIO;
}

static int read_version(pg_store *s, int *v)
{
    PGresult *res = PQexec(s->conn, "SELECT version FROM solvd_schema_version");
    int rc = res_ok(res) ? SV_STORE_OK : fail_res(s, res);
    if (!rc) {
        int n = PQntuples(res);
        if (n == 0)
            *v = 0;
        else if (n == 1)
            *v = atoi(PQgetvalue(res, 0, 0));
        else
            rc = fail_msg(s, SV_STORE_EIO, "solvd_schema_version has more than one row");
    }
    PQclear(res);
    return rc;
}

/* Brings the schema to SCHEMA_LATEST in one transaction (DDL is transactional here), under an
 * advisory lock: a second node opening at the same time waits, then finds it done. */
static int migrate_locked(pg_store *s)
{
    PGresult *res = PQexec(s->conn, "SELECT current_schema()");
    int rc = res_ok(res) ? SV_STORE_OK : fail_res(s, res);
    if (!rc && (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)))
        rc = fail_msg(s, SV_STORE_EIO,
                      "no schema to create the tables in: none of the search_path exists "
                      "(create it, or set search_path in the URL's options)");
    PQclear(res);
    if (rc)
        return rc;
    char lock[96];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d, hashtext(current_schema()))",
             SCHEMA_LOCK_KEY);
    if ((rc = exec_simple(s, lock)) != SV_STORE_OK)
        return rc;
    rc = exec_simple(s, "CREATE TABLE IF NOT EXISTS solvd_schema_version"
                        " (version integer NOT NULL)");
    int v = 0;
    if (!rc)
        rc = read_version(s, &v);
    if (rc)
        return rc;
    if (v > SCHEMA_LATEST)
        return too_new(s, v);
    if (v == SCHEMA_LATEST)
        return SV_STORE_OK;
    if (v == 0 && (rc = exec_simple(s, "INSERT INTO solvd_schema_version VALUES (0)")) != 0)
        return rc;
    for (; v < SCHEMA_LATEST; v++) {
        if ((rc = exec_simple(s, migrations[v])) != SV_STORE_OK) {
            char why[sizeof s->msg];
            snprintf(why, sizeof why, "%s", s->msg);
            snprintf(s->msg, sizeof s->msg, "migration to schema version %d failed: %.400s",
                     v + 1, why);
            return rc;
        }
        char set[64];
        snprintf(set, sizeof set, "UPDATE solvd_schema_version SET version = %d", v + 1);
        if ((rc = exec_simple(s, set)) != SV_STORE_OK)
            return rc;
    }
    return SV_STORE_OK;
}

static int migrate(pg_store *s)
{
    int rc = exec_simple(s, "BEGIN");
    if (rc)
        return rc;
    rc = migrate_locked(s);
    return op_end(s, BR_TX, rc);
}

int sv_postgres_open(const char *url, sv_store **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!url || !out) {
        if (err && errlen)
            snprintf(err, errlen, "postgres: no URL or no output");
        return SV_STORE_EIO;
    }
    char shown[256];
    sv_store_url_redact(url, shown, sizeof shown);
    pg_store *s = calloc(1, sizeof *s);
    if (!s) {
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", shown);
        return SV_STORE_ENOMEM;
    }
    s->base.ops = &postgres_ops;
    /* Keywords before dbname are defaults the URL may override. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *const vals[] = {CONNECT_TIMEOUT_S, "solvd", url, NULL};
    s->conn = PQconnectdbParams(keys, vals, 1);
    int rc;
    if (!s->conn) {
        rc = fail_msg(s, SV_STORE_ENOMEM, "out of memory");
    } else if (PQstatus(s->conn) != CONNECTION_OK) {
        set_msg(s, NULL, PQerrorMessage(s->conn));
        rc = SV_STORE_EIO;
    } else {
        rc = session_setup(s);
        if (!rc)
            rc = migrate(s);
    }
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "%s: PostgreSQL: %s", shown, s->msg);
        pg_close(s);
        return rc == SV_STORE_ENOMEM ? rc : SV_STORE_EIO;
    }
    *out = &s->base;
    return SV_STORE_OK;
}

/* An open transaction is rolled back by the server when the connection closes. */
static void pg_close(pg_store *s)
{
    if (!s)
        return;
    PQfinish(s->conn);
    free(s);
}

static int pg_schema_version(pg_store *s)
{
    int v = -1;
    if (!s || conn_ready(s) != SV_STORE_OK)
        return -1;
    PGresult *res = NULL;
    if (exec_stmt(s, ST_SCHEMA_VERSION, NULL, &res) != SV_STORE_OK)
        return -1;
    if (PQntuples(res) == 1)
        v = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static const char *pg_errmsg(pg_store *s)
{
    if (!s)
        return "no store";
    return s->msg[0] ? s->msg : "not an error";
}

/* ------------------------------------------------------------------------------------------ */
/* Writes                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static int notify(pg_store *s, const char *channel, const char *payload)
{
    pq_args a = {0};
    arg_text(&a, channel);
    arg_text(&a, payload);
    return exec_stmt(s, ST_NOTIFY, &a, NULL);
}

static int pg_insert_job(pg_store *s, const sv_job *j)
{
    if ((int)j->state < 0 || j->state >= SV_JOB_NSTATES)
        return fail_msg(s, SV_STORE_ESTATE, "insert: the job has no valid state");
    /* Checked here, not by the table's CHECK (which stays as a backstop): a refusal by the
     * server would abort the caller's batch. */
    if (j->tags) {
        json_t *t = json_loads(j->tags, JSON_DECODE_ANY, NULL);
        int ok = json_is_array(t);
        json_decref(t);
        if (!ok)
            return fail_msg(s, SV_STORE_EIO, "insert: tags is not a JSON array");
    }
    pq_args a = {0};
    arg_field(&a, j->id, sizeof j->id);
    arg_field(&a, j->tenant, sizeof j->tenant);
    arg_field(&a, j->solver, sizeof j->solver);
    arg_state(&a, j->state);
    arg_long(&a, j->priority);
    arg_double(&a, j->time_limit_s);
    arg_long(&a, j->attempts);
    arg_double(&a, j->created_at);
    arg_double(&a, j->started_at);
    arg_double(&a, j->finished_at);
    arg_long(&a, j->last_seq);
    arg_text(&a, j->tags);
    arg_text(&a, j->progress);
    arg_text(&a, j->summary);
    arg_text(&a, j->error);
    arg_text(&a, j->idem_key);
    arg_text(&a, j->request_hash);
    arg_text(&a, j->request);
    arg_text(&a, j->params);
    arg_field(&a, j->node, sizeof j->node);
    arg_double(&a, j->lease_until);
    int br, rc = op_start(s, 0, &br);
    PGresult *res = NULL;
    if (!rc)
        rc = exec_stmt(s, ST_INSERT, &a, &res);
    if (!rc) {
        if (PQntuples(res) != 1)
            rc = fail_msg(s, SV_STORE_ECONFLICT,
                          "duplicate job: its id, or its tenant's idempotency key, exists");
        PQclear(res);
    }
    return op_end(s, br, rc);
}

static int claim_job_raw(pg_store *s, const char *id, const char *node, double now,
                         double lease_s, int attempts)
{
    pq_args a = {0};
    arg_text(&a, id);
    arg_state(&a, SV_JOB_RUNNING);
    arg_double(&a, now);
    arg_long(&a, attempts);
    arg_state(&a, SV_JOB_QUEUED);
    arg_text(&a, node ? node : "");
    arg_double(&a, lease_s > 0 ? now + lease_s : 0.0);
    long n = 0;
    int rc = exec_count(s, ST_CLAIM, &a, &n);
    if (rc)
        return rc;
    return n == 1 ? SV_STORE_OK : missing_or_state(s, id);
}

static int pg_claim_job(pg_store *s, const char *id, const char *node, double now,
                        double lease_s, int attempts)
{
    /* A second statement only when the claim fails, to tell why (a read). */
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = claim_job_raw(s, id, node, now, lease_s, attempts);
    return op_end(s, br, rc);
}

static int pg_claim_next(pg_store *s, const char *node, double now, double lease_s, sv_job *out)
{
    memset(out, 0, sizeof *out);
    pq_args a = {0};
    arg_state(&a, SV_JOB_RUNNING);
    arg_double(&a, now);
    arg_text(&a, node ? node : "");
    arg_double(&a, lease_s > 0 ? now + lease_s : 0.0);
    arg_state(&a, SV_JOB_QUEUED);
    int br, rc = op_start(s, 0, &br);
    PGresult *res = NULL;
    if (!rc)
        rc = exec_stmt(s, ST_CLAIM_NEXT, &a, &res);
    if (!rc) {
        rc = PQntuples(res) > 0 ? read_job(s, res, 0, out)
                                : fail_msg(s, SV_STORE_ENOTFOUND, "no job is queued");
        PQclear(res);
    }
    /* Outside a transaction the claim has committed even if its row could not be read (out
     * of memory): the job is then running on node unworked, and lease expiry or the node's
     * recovery takes it back. */
    return op_end(s, br, rc);
}

static int pg_heartbeat(pg_store *s, const char *node, double now, double lease_s, int *renewed)
{
    if (renewed)
        *renewed = 0;
    pq_args a = {0};
    arg_state(&a, SV_JOB_RUNNING);
    arg_text(&a, node ? node : "");
    arg_double(&a, lease_s > 0 ? now + lease_s : 0.0);
    long n = 0;
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = exec_count(s, ST_HEARTBEAT, &a, &n);
    rc = op_end(s, br, rc);
    if (!rc && renewed)
        *renewed = (int)n;
    return rc;
}

static int pg_finish_job(pg_store *s, const char *id, const char *node, sv_job_state state,
                         double finished_at, const char *summary, const char *result,
                         const char *error)
{
    if (!sv_job_state_final(state))
        return fail_msg(s, SV_STORE_ESTATE, "finish: the target state is not a final one");
    pq_args a = {0};
    arg_text(&a, id);
    arg_state(&a, state);
    arg_double(&a, finished_at);
    arg_text(&a, summary);
    arg_text(&a, result);
    arg_text(&a, error);
    arg_state(&a, SV_JOB_QUEUED);
    arg_state(&a, SV_JOB_RUNNING);
    arg_text(&a, node);   /* NULL: any holder */
    /* A cancel also tells the other nodes, in the same transaction. */
    int cancel = state == SV_JOB_CANCELLED;
    long n = 0;
    int br, rc = op_start(s, cancel, &br);
    if (!rc)
        rc = exec_count(s, ST_FINISH, &a, &n);
    if (!rc && n != 1)
        rc = missing_or_state(s, id);
    if (!rc && cancel)
        rc = notify(s, "solvd_cancel", id);
    return op_end(s, br, rc);
}

static int add_event_raw(pg_store *s, const char *id, long seq, const char *type, double ts,
                         const char *data)
{
    pq_args a = {0};
    arg_text(&a, id);
    arg_long(&a, seq);
    arg_text(&a, type);
    arg_double(&a, ts);
    arg_text(&a, data);
    long n = 0;
    int rc = exec_count(s, ST_ADD_EVENT, &a, &n);
    if (rc == SV_STORE_ENOTFOUND)   /* the job went between the check and the insert */
        return fail_msg(s, rc, "no such job");
    if (rc || n == 1)
        return rc;
    rc = missing_or_state(s, id);
    if (rc == SV_STORE_ESTATE)
        rc = fail_msg(s, SV_STORE_ECONFLICT, "duplicate event: the job has this sequence number");
    return rc;
}

static int pg_add_event(pg_store *s, const char *id, long seq, const char *type, double ts,
                        const char *data)
{
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = add_event_raw(s, id, seq, type, ts, data);
    return op_end(s, br, rc);
}

/* ---- giving running jobs back: recovery, expired leases, release ---- */

typedef struct {
    char id[sizeof ((sv_job *)0)->id];
    int attempts;
    long last_seq;
    int cancel_requested;   /* given back as cancelled, not queued */
} running_job;

/* The rows of a running-jobs select (id, attempts, last_seq), locked by it, into a malloc'd
 * array. */
static int collect_running(pg_store *s, int which, const pq_args *a, running_job **out,
                           size_t *n)
{
    *out = NULL;
    *n = 0;
    PGresult *res = NULL;
    int rc = exec_stmt(s, which, a, &res);
    if (rc)
        return rc;
    int rows = PQntuples(res);
    if (rows > 0) {
        *out = calloc((size_t)rows, sizeof **out);
        if (!*out) {
            PQclear(res);
            return fail_msg(s, SV_STORE_ENOMEM, "out of memory listing running jobs");
        }
    }
    for (int i = 0; i < rows; i++) {
        running_job *r = &(*out)[i];
        val_copy(res, i, 0, r->id, sizeof r->id);
        r->attempts = (int)val_long(res, i, 1);
        r->last_seq = val_long(res, i, 2);
        r->cancel_requested = strcmp(PQgetvalue(res, i, 3), "t") == 0;
    }
    *n = (size_t)rows;
    PQclear(res);
    return SV_STORE_OK;
}

/* One running job (locked by the caller's select) back to queued (fail_error NULL) or to failed
 * with fail_error, and its status event at last_seq + 1, spelled by sv_status_event_json. A
 * job a client asked to cancel is not run again: it becomes cancelled. */
static int give_back(pg_store *s, const running_job *r, double now, const char *fail_error)
{
    sv_job_state to = r->cancel_requested ? SV_JOB_CANCELLED
                      : fail_error        ? SV_JOB_FAILED
                                          : SV_JOB_QUEUED;
    const char *error = r->cancel_requested ? SV_CANCELLED_ERROR_JSON : fail_error;
    pq_args a = {0};
    arg_text(&a, r->id);
    if (error) {
        arg_state(&a, to);
        arg_double(&a, now);
        arg_text(&a, error);
        arg_state(&a, SV_JOB_RUNNING);
    } else {
        arg_state(&a, SV_JOB_QUEUED);
        arg_state(&a, SV_JOB_RUNNING);
    }
    long n = 0;
    int rc = exec_count(s, error ? ST_INTERRUPT : ST_BACK_TO_QUEUE, &a, &n);
    if (rc)
        return rc;
    if (n != 1)
        return missing_or_state(s, r->id);
    char *ev = sv_status_event_json(to, r->attempts, error);
    if (!ev)
        return fail_msg(s, SV_STORE_ENOMEM, "out of memory writing a status event");
    rc = add_event_raw(s, r->id, r->last_seq + 1, "status", now, ev);
    free(ev);
    return rc;
}

/* Requeues or fails (past max_attempts) every job the select `which` lists, all or nothing. */
static int give_back_all(pg_store *s, int which, const pq_args *a, int max_attempts, double now,
                         const char *why, int *requeued, int *failed)
{
    if (requeued)
        *requeued = 0;
    if (failed)
        *failed = 0;
    int br, rc = op_start(s, 1, &br);
    if (rc)
        return rc;
    running_job *rows = NULL;
    size_t n = 0;
    int nq = 0, nf = 0;
    rc = collect_running(s, which, a, &rows, &n);
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
    if (!rc && nq > 0)
        rc = notify(s, "solvd_jobs", "");
    rc = op_end(s, br, rc);
    if (rc == SV_STORE_OK) {
        if (requeued)
            *requeued = nq;
        if (failed)
            *failed = nf;
    }
    return rc;
}

static int pg_recover(pg_store *s, const char *node, int max_attempts, double now, int *requeued,
                      int *failed)
{
    pq_args a = {0};
    arg_state(&a, SV_JOB_RUNNING);
    arg_text(&a, node ? node : "");
    return give_back_all(s, ST_RUNNING_ON_NODE, &a, max_attempts, now, "the server stopped",
                         requeued, failed);
}

static int pg_requeue_expired(pg_store *s, double now, int max_attempts, int *requeued,
                              int *failed)
{
    pq_args a = {0};
    arg_state(&a, SV_JOB_RUNNING);
    arg_double(&a, now);
    return give_back_all(s, ST_RUNNING_EXPIRED, &a, max_attempts, now,
                         "its node stopped renewing its lease", requeued, failed);
}

static int pg_release(pg_store *s, const char *id, const char *node, double now)
{
    pq_args a = {0};
    arg_state(&a, SV_JOB_RUNNING);
    arg_text(&a, id);
    arg_text(&a, node ? node : "");
    int br, rc = op_start(s, 1, &br);
    if (rc)
        return rc;
    running_job *rows = NULL;
    size_t n = 0;
    rc = collect_running(s, ST_RUNNING_ONE, &a, &rows, &n);
    if (!rc && n == 0) {
        rc = missing_or_state(s, id);
        if (rc == SV_STORE_ESTATE)
            fail_msg(s, rc, "release: the job is not running on this node");
    }
    if (!rc)
        rc = give_back(s, &rows[0], now, NULL);
    if (!rc && !rows[0].cancel_requested)
        rc = notify(s, "solvd_jobs", "");
    free(rows);
    return op_end(s, br, rc);
}

/* ---- cancel ---- */

int sv_postgres_cancel(sv_store *store, const char *id, const char *tenant, double now,
                       sv_job_state *state)
{
    pg_store *s = (pg_store *)store;
    pq_args a = {0};
    arg_text(&a, id);
    arg_text(&a, tenant);
    int br, rc = op_start(s, 1, &br);
    if (rc)
        return rc;
    PGresult *res = NULL;
    rc = exec_stmt(s, ST_CANCEL_LOCK, &a, &res);
    sv_job_state was = SV_JOB_QUEUED;
    int attempts = 0;
    long last_seq = 0;
    if (!rc && PQntuples(res) == 0)
        rc = fail_msg(s, SV_STORE_ENOTFOUND, "no such job");
    if (!rc && sv_job_state_parse(PQgetvalue(res, 0, 0), &was) != 0)
        rc = fail_msg(s, SV_STORE_EIO, "cancel: the job has an unknown state");
    if (!rc) {
        attempts = (int)val_long(res, 0, 1);
        last_seq = val_long(res, 0, 2);
        if (state)
            *state = was;
    }
    PQclear(res);
    long n = 0;
    if (rc) {
        /* nothing more */
    } else if (was == SV_JOB_QUEUED) {
        pq_args u = {0};
        arg_text(&u, id);
        arg_state(&u, SV_JOB_CANCELLED);
        arg_double(&u, now);
        arg_text(&u, SV_CANCELLED_ERROR_JSON);
        arg_state(&u, SV_JOB_QUEUED);
        rc = exec_count(s, ST_CANCEL_QUEUED, &u, &n);
        if (!rc && n != 1)
            rc = missing_or_state(s, id);
        if (!rc) {
            char *ev = sv_status_event_json(SV_JOB_CANCELLED, attempts, SV_CANCELLED_ERROR_JSON);
            rc = ev ? add_event_raw(s, id, last_seq + 1, "status", now, ev)
                    : fail_msg(s, SV_STORE_ENOMEM, "out of memory writing a status event");
            free(ev);
        }
    } else if (was == SV_JOB_RUNNING) {
        pq_args u = {0};
        arg_text(&u, id);
        arg_state(&u, SV_JOB_RUNNING);
        rc = exec_count(s, ST_CANCEL_MARK, &u, &n);
        if (!rc && n != 1)
            rc = missing_or_state(s, id);
    } else {
        rc = fail_msg(s, SV_STORE_ESTATE, "cancel: the job has already finished");
    }
    /* The node running it (or whichever watches) need not wait for its next poll. */
    if (!rc)
        rc = notify(s, "solvd_cancel", id);
    return op_end(s, br, rc);
}

int sv_postgres_cancel_requests(sv_store *store, const char *node,
                                int (*cb)(void *data, const char *id), void *data)
{
    pg_store *s = (pg_store *)store;
    pq_args a = {0};
    arg_state(&a, SV_JOB_RUNNING);
    arg_text(&a, node ? node : "");
    PGresult *res = NULL;
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = exec_stmt(s, ST_CANCEL_REQUESTS, &a, &res);
    rc = op_end(s, br, rc);
    if (rc) {
        PQclear(res);
        return rc;
    }
    for (int i = 0; i < PQntuples(res); i++)
        if (cb(data, PQgetvalue(res, i, 0)) != 0)
            break;
    PQclear(res);
    return SV_STORE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Reads                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static int pg_get_job(pg_store *s, const char *id, const char *tenant, sv_job *out)
{
    memset(out, 0, sizeof *out);
    pq_args a = {0};
    arg_text(&a, id);
    arg_text(&a, tenant);
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = fetch_one_job(s, ST_GET, &a, out);
    return op_end(s, br, rc);
}

/* One text column of a job (its result, its request) into *out; a NULL column is
 * SV_STORE_ENOTFOUND like an absent job. */
static int get_text(pg_store *s, int which, const char *id, const char *tenant, char **out,
                    const char *what)
{
    *out = NULL;
    pq_args a = {0};
    arg_text(&a, id);
    arg_text(&a, tenant);
    PGresult *res = NULL;
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = exec_stmt(s, which, &a, &res);
    if (!rc) {
        if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
            rc = SV_STORE_ENOTFOUND;
        else if (val_dup(res, 0, 0, out) != SV_STORE_OK)
            rc = fail_msg(s, SV_STORE_ENOMEM, what);
        PQclear(res);
    }
    return op_end(s, br, rc);
}

static int pg_find_idem(pg_store *s, const char *tenant, const char *key, sv_job *out)
{
    memset(out, 0, sizeof *out);
    if (!key)
        return SV_STORE_ENOTFOUND;
    pq_args a = {0};
    arg_text(&a, tenant ? tenant : "");
    arg_text(&a, key);
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = fetch_one_job(s, ST_FIND_IDEM, &a, out);
    return op_end(s, br, rc);
}

/* The listing statement of a filter combination, prepared on first use. */
static int list_stmt(pg_store *s, unsigned mask, char *name, size_t namelen)
{
    snprintf(name, namelen, "svl_%u", mask);
    if (s->list_prepared[mask])
        return SV_STORE_OK;
    static const struct {
        unsigned bit;
        const char *cond;   /* %d: the parameter's number */
    } conds[] = {
        {LF_TENANT, "tenant = $%d"},
        {LF_STATE, "state = $%d"},
        {LF_SOLVER, "solver = $%d"},
        {LF_TAG, "EXISTS (SELECT 1 FROM json_array_elements_text(jobs.tags::json) AS t(v)"
                 " WHERE t.v = $%d)"},
        {LF_BEFORE, "id < $%d"},
    };
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT %s, NULL FROM jobs", JOB_COLS);
    int k = 0;
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        if (!(mask & conds[i].bit))
            continue;
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s", k ? " AND " : " WHERE ");
        n += (size_t)snprintf(sql + n, sizeof sql - n, conds[i].cond, ++k);
    }
    snprintf(sql + n, sizeof sql - n, " ORDER BY id DESC LIMIT $%d", k + 1);
    return prepare(s, name, sql, &s->list_prepared[mask]);
}

static int pg_list_jobs(pg_store *s, const sv_job_filter *f, sv_job *out, int *n)
{
    *n = 0;
    if (!f)
        return fail_msg(s, SV_STORE_EIO, "list: no filter");
    if (f->state >= SV_JOB_NSTATES)
        return fail_msg(s, SV_STORE_EIO, "list: unknown state in the filter");
    unsigned mask = 0;
    pq_args a = {0};
    /* In the order of list_stmt's conditions. */
    if (f->tenant) {
        mask |= LF_TENANT;
        arg_text(&a, f->tenant);
    }
    if (f->state >= 0) {
        mask |= LF_STATE;
        arg_state(&a, (sv_job_state)f->state);
    }
    if (f->solver) {
        mask |= LF_SOLVER;
        arg_text(&a, f->solver);
    }
    if (f->tag) {
        mask |= LF_TAG;
        arg_text(&a, f->tag);
    }
    if (f->before_id) {
        mask |= LF_BEFORE;
        arg_text(&a, f->before_id);
    }
    int limit = f->limit < 1 ? 1 : f->limit > LIST_LIMIT_MAX ? LIST_LIMIT_MAX : f->limit;
    arg_long(&a, limit);

    char name[16];
    PGresult *res = NULL;
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = list_stmt(s, mask, name, sizeof name);
    if (!rc)
        rc = exec_named(s, name, &a, &res);
    rc = op_end(s, br, rc);
    if (rc) {
        PQclear(res);
        return rc;
    }
    int rows = PQntuples(res), count = 0;
    if (rows > limit)
        rows = limit;
    for (; count < rows; count++)
        if ((rc = read_job(s, res, count, &out[count])) != SV_STORE_OK)
            break;
    PQclear(res);
    if (rc) {
        /* All or nothing: the caller need not clean up after a failure. */
        for (int i = 0; i < count; i++)
            sv_job_clear(&out[i]);
        return rc;
    }
    *n = count;
    return SV_STORE_OK;
}

static int pg_events(pg_store *s, const char *id, long after_seq, int limit, sv_event_cb cb,
                     void *data)
{
    pq_args a = {0};
    arg_text(&a, id);
    arg_long(&a, after_seq);
    if (limit > 0)
        arg_long(&a, limit);
    else
        arg_text(&a, NULL);   /* LIMIT NULL: no limit */
    PGresult *res = NULL;
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = exec_stmt(s, ST_EVENTS, &a, &res);
    rc = op_end(s, br, rc);
    if (rc) {
        PQclear(res);
        return rc;
    }
    /* The rows are all in memory: the callback may use the handle freely. */
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        const char *json = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
        if (cb && cb(data, val_long(res, i, 0), PQgetvalue(res, i, 1), val_double(res, i, 2),
                     json) != 0)
            break;
    }
    PQclear(res);
    return SV_STORE_OK;
}

static int get_job_full(pg_store *s, const char *id, sv_job *out)
{
    pq_args a = {0};
    arg_text(&a, id);
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = fetch_one_job(s, ST_GET_FULL, &a, out);
    return op_end(s, br, rc);
}

static int pg_each_queued(pg_store *s, sv_job_cb cb, void *data)
{
    /* The order is read first (ids only), then each job is fetched and handed over, so that the
     * callback may change the store and memory holds one request at a time. */
    pq_args a = {0};
    arg_state(&a, SV_JOB_QUEUED);
    PGresult *res = NULL;
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = exec_stmt(s, ST_QUEUED_IDS, &a, &res);
    rc = op_end(s, br, rc);
    if (rc) {
        PQclear(res);
        return rc;
    }
    int rows = PQntuples(res);
    for (int i = 0; i < rows && !rc; i++) {
        char id[sizeof ((sv_job *)0)->id];
        val_copy(res, i, 0, id, sizeof id);
        sv_job j;
        rc = get_job_full(s, id, &j);
        if (rc == SV_STORE_ENOTFOUND) {
            rc = SV_STORE_OK;   /* deleted meanwhile */
            continue;
        }
        if (rc)
            break;
        /* An earlier callback (or another node) may have started or finished it. */
        int stop = j.state == SV_JOB_QUEUED && cb && cb(data, &j) != 0;
        sv_job_clear(&j);
        if (stop)
            break;
    }
    PQclear(res);
    return rc;
}

static int pg_count_states(pg_store *s, const char *tenant, long *counts)
{
    for (int i = 0; i < SV_JOB_NSTATES; i++)
        counts[i] = 0;
    PGresult *res = NULL;
    pq_args a = {0};
    arg_text(&a, tenant);
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = exec_stmt(s, ST_COUNT, &a, &res);
    rc = op_end(s, br, rc);
    if (rc) {
        PQclear(res);
        return rc;
    }
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        sv_job_state state;
        const char *name = PQgetvalue(res, i, 0);
        if (sv_job_state_parse(name, &state) != 0) {
            snprintf(s->msg, sizeof s->msg, "unknown job state '%.64s' in the database", name);
            rc = SV_STORE_EIO;
            break;
        }
        counts[state] = val_long(res, i, 1);
    }
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Deletion and retention                                                                      */
/* ------------------------------------------------------------------------------------------ */

static int pg_delete_job(pg_store *s, const char *id, const char *tenant)
{
    pq_args a = {0};
    arg_text(&a, id);
    arg_text(&a, tenant);
    long n = 0;
    int br, rc = op_start(s, 0, &br);
    if (!rc)
        rc = exec_count(s, ST_DELETE, &a, &n);
    if (!rc && n != 1) {
        sv_job j;
        pq_args g = {0};
        arg_text(&g, id);
        arg_text(&g, tenant);
        rc = fetch_one_job(s, ST_GET, &g, &j);   /* absent, or another tenant's */
        sv_job_clear(&j);
        if (!rc)
            rc = fail_msg(s, SV_STORE_ESTATE, "the job is not finished: cancel it first");
    }
    return op_end(s, br, rc);
}

static int prune_step(pg_store *s, int which, double arg, long limit, long *deleted)
{
    pq_args a = {0};
    if (which == ST_PRUNE_AGE)
        arg_double(&a, arg);
    else
        arg_long(&a, (long)arg);
    arg_long(&a, limit);
    long n = 0;
    int rc = exec_count(s, which, &a, &n);
    if (!rc)
        *deleted += n;
    return rc;
}

static int pg_prune(pg_store *s, double finished_before, long keep, long limit, long *deleted)
{
    long n = 0;
    if (deleted)
        *deleted = 0;
    int br, rc = op_start(s, 1, &br);
    if (rc)
        return rc;
    if (finished_before > 0)
        rc = prune_step(s, ST_PRUNE_AGE, finished_before, limit, &n);
    if (!rc && keep > 0 && n < limit)
        rc = prune_step(s, ST_PRUNE_COUNT, (double)keep, limit - n, &n);
    rc = op_end(s, br, rc);
    if (!rc && deleted)
        *deleted = n;
    return rc;
}

/* Space of deleted rows is autovacuum's to reclaim; there is no log to truncate here. */
static int pg_checkpoint(pg_store *s)
{
    if (s->in_tx)
        return fail_msg(s, SV_STORE_ESTATE, "checkpoint inside a transaction");
    return conn_ready(s);
}

/* ------------------------------------------------------------------------------------------ */
/* The ops table                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Every handle this file hands out is a pg_store (its base first). */
#define PG(s) ((pg_store *)(s))

static void op_close(sv_store *s) { pg_close(PG(s)); }
static const char *op_errmsg(sv_store *s) { return pg_errmsg(PG(s)); }
static int op_schema_version(sv_store *s) { return pg_schema_version(PG(s)); }
static int op_begin(sv_store *s) { return pg_begin(PG(s)); }
static int op_commit(sv_store *s) { return pg_commit(PG(s)); }
static int op_rollback(sv_store *s) { return pg_rollback(PG(s)); }
static int op_insert_job(sv_store *s, const sv_job *j) { return pg_insert_job(PG(s), j); }

static int op_claim_job(sv_store *s, const char *id, const char *node, double now,
                        double lease_s, int attempts)
{
    return pg_claim_job(PG(s), id, node, now, lease_s, attempts);
}

static int op_claim_next(sv_store *s, const char *node, double now, double lease_s, sv_job *out)
{
    return pg_claim_next(PG(s), node, now, lease_s, out);
}

static int op_heartbeat(sv_store *s, const char *node, double now, double lease_s, int *renewed)
{
    return pg_heartbeat(PG(s), node, now, lease_s, renewed);
}

static int op_release(sv_store *s, const char *id, const char *node, double now)
{
    return pg_release(PG(s), id, node, now);
}

static int op_requeue_expired(sv_store *s, double now, int max_attempts, int *requeued,
                              int *failed)
{
    return pg_requeue_expired(PG(s), now, max_attempts, requeued, failed);
}

static int op_finish_job(sv_store *s, const char *id, const char *node, sv_job_state state,
                         double finished_at, const char *summary, const char *result,
                         const char *error)
{
    return pg_finish_job(PG(s), id, node, state, finished_at, summary, result, error);
}

static int op_add_event(sv_store *s, const char *id, long seq, const char *type, double ts,
                        const char *data)
{
    return pg_add_event(PG(s), id, seq, type, ts, data);
}

static int op_recover(sv_store *s, const char *node, int max_attempts, double now,
                      int *requeued, int *failed)
{
    return pg_recover(PG(s), node, max_attempts, now, requeued, failed);
}

static int op_get_job(sv_store *s, const char *id, const char *tenant, sv_job *out)
{
    return pg_get_job(PG(s), id, tenant, out);
}

static int op_get_result(sv_store *s, const char *id, const char *tenant, char **out)
{
    return get_text(PG(s), ST_GET_RESULT, id, tenant, out, "out of memory reading a result");
}

static int op_get_request(sv_store *s, const char *id, char **out)
{
    return get_text(PG(s), ST_GET_REQUEST, id, NULL, out, "out of memory reading a request");
}

static int op_find_idem(sv_store *s, const char *tenant, const char *key, sv_job *out)
{
    return pg_find_idem(PG(s), tenant, key, out);
}

static int op_list_jobs(sv_store *s, const sv_job_filter *f, sv_job *out, int *n)
{
    return pg_list_jobs(PG(s), f, out, n);
}

static int op_events(sv_store *s, const char *id, long after_seq, int limit, sv_event_cb cb,
                     void *data)
{
    return pg_events(PG(s), id, after_seq, limit, cb, data);
}

static int op_each_queued(sv_store *s, sv_job_cb cb, void *data)
{
    return pg_each_queued(PG(s), cb, data);
}

static int op_count_states(sv_store *s, const char *tenant, long *counts)
{
    return pg_count_states(PG(s), tenant, counts);
}

static int op_delete_job(sv_store *s, const char *id, const char *tenant)
{
    return pg_delete_job(PG(s), id, tenant);
}

static int op_prune(sv_store *s, double finished_before, long keep, long limit, long *deleted)
{
    return pg_prune(PG(s), finished_before, keep, limit, deleted);
}

static int op_checkpoint(sv_store *s) { return pg_checkpoint(PG(s)); }

/* A server over the network that several nodes share: reads wait on it, claims go through it. */
static const sv_store_ops postgres_ops = {
    .name = "postgres",
    .caps = SV_STORE_CAP_SHARED,
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
    .cancel = sv_postgres_cancel,
    .cancel_requests = sv_postgres_cancel_requests,
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
