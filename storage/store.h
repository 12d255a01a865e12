/* store.h - the durable job store: jobs, their progress events and results, behind one interface
 * that every backend implements (storage/backend.h is the ops table a backend fills in).
 * sv_store_open picks the backend from a URL. A handle is used by one thread at a time; the
 * server keeps one handle for reads and one for batched writes on a pool thread. Storage knows
 * nothing of HTTP; JSON columns are opaque text here.
 *
 * Nodes and leases: a running job is held by a node (a solvd process, named by the caller). A
 * store that several nodes share (SV_STORE_CAP_SHARED) hands each queued job to exactly one of
 * them (claim), and a node keeps its jobs by renewing their leases (heartbeat); jobs whose lease
 * ran out are put back in the queue by any node (requeue_expired). A store of one node grants
 * leases without expiry (lease_s 0), and a restarted node takes its own jobs back (recover). */
#ifndef SV_STORE_H
#define SV_STORE_H

#include <stddef.h>

enum {
    SV_STORE_OK = 0,
    SV_STORE_ENOTFOUND = -10,   /* no such job (or not the tenant's) */
    SV_STORE_EIO = -11,         /* the database failed; the message is logged by the caller */
    SV_STORE_ECONFLICT = -12,   /* a uniqueness constraint (duplicate id or idempotency key) */
    SV_STORE_ENOMEM = -13,
    SV_STORE_ESTATE = -14       /* the job is not in a state that allows the change */
};

typedef enum {
    SV_JOB_QUEUED = 0,
    SV_JOB_RUNNING,
    SV_JOB_SUCCEEDED,
    SV_JOB_FAILED,
    SV_JOB_CANCELLED,
    SV_JOB_TIMED_OUT,
    SV_JOB_NSTATES
} sv_job_state;

/* "queued", "running", "succeeded", "failed", "cancelled", "timed_out". */
const char *sv_job_state_name(sv_job_state s);
/* Parses a state name; returns 0 on success, -1 if unknown. */
int sv_job_state_parse(const char *name, sv_job_state *out);
/* 1 for succeeded, failed, cancelled, timed_out. */
int sv_job_state_final(sv_job_state s);

/* The data of a status event, the one spelling of it for every backend and the server:
 * {"status":NAME,"attempt":N}, with "error":ERROR appended when error_json (JSON text) is
 * given. malloc'd; NULL when out of memory. */
char *sv_status_event_json(sv_job_state state, int attempt, const char *error_json);
/* The error of a job cancelled on request ({"code":"cancelled","message":...}), the one spelling
 * for the server and every backend. A constant; never freed. */
extern const char SV_CANCELLED_ERROR_JSON[];
/* The error of a running job that lost its node ({"code":"interrupted","message":...});
 * why says how ("the server stopped", "its node stopped renewing its lease"). malloc'd. */
char *sv_interrupted_error_json(const char *why, int attempts, int max_attempts);

/* A job row. Strings are malloc'd and owned by the struct (sv_job_clear frees them); JSON-valued
 * columns hold JSON text. Times are Unix seconds with fractions; 0 means "not yet". */
typedef struct {
    char id[40];
    char tenant[64];
    char solver[64];
    sv_job_state state;
    int priority;
    double time_limit_s;      /* 0: the server's maximum */
    int attempts;             /* times it was started */
    double created_at, started_at, finished_at;
    long last_seq;            /* highest event sequence number stored */
    char node[64];            /* the node holding it while running; "" when none */
    double lease_until;       /* when that node's hold expires; 0: no expiry */
    char *request;            /* the accepted body {"problem","params",...} (JSON); filled by
                                 each_queued and claim_next only: get/find/list leave it NULL,
                                 since it may be large */
    char *params;             /* the body's "params" object (JSON) or NULL: what job views echo */
    char *tags;               /* JSON array of strings */
    char *progress;           /* last progress event (JSON) or NULL */
    char *summary;            /* result summary (JSON) or NULL */
    char *error;              /* {"code","message"} (JSON) or NULL */
    char *idem_key;           /* Idempotency-Key or NULL */
    char *request_hash;       /* hash of the request body, for idempotency checks, or NULL */
} sv_job;

void sv_job_clear(sv_job *j);

typedef struct sv_store sv_store;

/* What a backend is like, for the server to choose how to drive it. */
enum {
    /* Reads answer from local storage without waiting on a network: the loop thread may read
     * inline. Without it every read goes to a pool thread. */
    SV_STORE_CAP_LOCAL_READS = 1u << 0,
    /* Several nodes may share the store: dispatch must claim jobs through it (claim_next)
     * rather than from a queue in one node's memory. */
    SV_STORE_CAP_SHARED = 1u << 1
};

/* Opens (creating if needed) the store named by url and brings its schema to the current
 * version. url is "sqlite:PATH" or a bare PATH (the embedded SQLite backend); other schemes
 * ("postgres://...") name backends this build may lack, which fails with a message saying so.
 * On failure returns SV_STORE_EIO (or SV_STORE_ENOMEM), sets *out to NULL and writes a message
 * into err. */
int sv_store_open(const char *url, sv_store **out, char *err, size_t errlen);
void sv_store_close(sv_store *s);   /* NULL is fine */
/* What a server checks once before it opens its handles: the store url names is not one that
 * an open would silently take for a new, empty store although it held jobs (SQLite: an existing
 * file of zero bytes). SV_STORE_OK, or SV_STORE_EIO with the reason in err. */
int sv_store_preflight(const char *url, char *err, size_t errlen);
/* url as it may be logged or shown: a password (in the user part or as a password=
 * parameter) becomes ***. */
void sv_store_url_redact(const char *url, char *out, size_t cap);
/* The backend's name ("sqlite") and its SV_STORE_CAP_* bits. */
const char *sv_store_backend(const sv_store *s);
unsigned sv_store_caps(const sv_store *s);
int sv_store_schema_version(sv_store *s);
/* The text of this handle's last error. */
const char *sv_store_errmsg(sv_store *s);

/* ---- writes; group several in one transaction with begin/commit ---- */
int sv_store_begin(sv_store *s);
/* On failure the transaction stays open; the caller retries the commit or rolls back. */
int sv_store_commit(sv_store *s);
int sv_store_rollback(sv_store *s);

/* Inserts a new job (state, times, request, tags, idem_key, request_hash as given).
 * SV_STORE_ECONFLICT if the id or (tenant, idem_key) exists. */
int sv_store_insert_job(sv_store *s, const sv_job *j);
/* queued -> running on node: sets started_at = now, attempts, node and lease_until (now +
 * lease_s, or 0 when lease_s <= 0). SV_STORE_ESTATE if not queued. */
int sv_store_claim_job(sv_store *s, const char *id, const char *node, double now, double lease_s,
                       int attempts);
/* Claims the first queued job in dispatch order (priority high first, then created_at, then
 * id) as claim_job does, with attempts one more than stored, and fills *out with its row,
 * request included. SV_STORE_ENOTFOUND when none is queued. Nodes claiming at once never get
 * the same job. */
int sv_store_claim_next(sv_store *s, const char *node, double now, double lease_s, sv_job *out);
/* Renews the lease of every job running on node to now + lease_s; *renewed (may be NULL) gets
 * how many. */
int sv_store_heartbeat(sv_store *s, const char *node, double now, double lease_s, int *renewed);
/* running on node -> queued (the node gives the job back, say when it drains): the attempt
 * stays counted and the job gets the status event of its new state. SV_STORE_ESTATE if the job
 * is not running on node. */
int sv_store_release(sv_store *s, const char *id, const char *node, double now);
/* Every running job whose lease expired before now goes back to queued if attempts <
 * max_attempts, else to failed with an "interrupted" error; each gets the status event of its
 * new state. Jobs that are not running (finished ones above all) are never touched. */
int sv_store_requeue_expired(sv_store *s, double now, int max_attempts, int *requeued,
                             int *failed);
/* -> a final state, with summary/result/error JSON (any may be NULL). Allowed from queued or
 * running; with node set, a running job only while node holds it (a node whose lease ran out
 * and whose job runs again elsewhere cannot finish it). SV_STORE_ESTATE otherwise. */
int sv_store_finish_job(sv_store *s, const char *id, const char *node, sv_job_state state,
                        double finished_at, const char *summary, const char *result,
                        const char *error);
/* A client's cancel, decided by the store in one step, so that it holds against nodes claiming
 * at the same time: a queued job becomes cancelled (finished_at now, error
 * SV_CANCELLED_ERROR_JSON, its status event at last_seq + 1); a running job is marked for
 * cancel (its node sees the mark through cancel_requests and stops it); a final job is left as
 * it is (SV_STORE_ESTATE). *state (may be NULL) gets the state the job was found in.
 * SV_STORE_ENOTFOUND when absent or another tenant's (tenant NULL: any). */
int sv_store_cancel(sv_store *s, const char *id, const char *tenant, double now,
                    sv_job_state *state);
/* Calls cb with the id of every job running on node that a cancel marked (cb returning non-zero
 * stops early). A job given back to the queue (recover, requeue_expired, release) while marked
 * becomes cancelled instead, with the error and status event a cancel gives. */
int sv_store_cancel_requests(sv_store *s, const char *node, int (*cb)(void *data, const char *id),
                             void *data);
/* Appends event (job_id, seq) and updates last_seq (and progress when type is "progress").
 * SV_STORE_ECONFLICT for a sequence number the job already has. */
int sv_store_add_event(sv_store *s, const char *id, long seq, const char *type, double ts,
                       const char *data);

/* Start-up recovery of node: every job left running on node (or with no node recorded) goes
 * back to queued if attempts < max_attempts, else to failed with error {"code":"interrupted",
 * ...}; each gets the status event of its new state. Counts into the outputs (may be NULL). */
int sv_store_recover(sv_store *s, const char *node, int max_attempts, double now, int *requeued,
                     int *failed);

/* ---- reads ---- */
/* tenant NULL: any tenant. SV_STORE_ENOTFOUND when absent or another tenant's. */
int sv_store_get_job(sv_store *s, const char *id, const char *tenant, sv_job *out);
/* The full result JSON (malloc'd into *out), SV_STORE_ENOTFOUND if none (yet). */
int sv_store_get_result(sv_store *s, const char *id, const char *tenant, char **out);
/* The job's request text as stored (malloc'd into *out): what a worker runs when the request
 * did not stay in memory while the job was queued. SV_STORE_ENOTFOUND when there is no such
 * job. */
int sv_store_get_request(sv_store *s, const char *id, char **out);
/* The job with this tenant's idempotency key. */
int sv_store_find_idem(sv_store *s, const char *tenant, const char *key, sv_job *out);

typedef struct {
    const char *tenant;     /* NULL: any */
    int state;              /* -1: any, else an sv_job_state */
    const char *solver;     /* NULL: any */
    const char *tag;        /* NULL: any; else jobs whose tags contain it */
    const char *before_id;  /* cursor: only ids < before_id (newest first); NULL: from the top */
    int limit;              /* at most this many (1..1000) */
} sv_job_filter;

/* Newest first (ids are time-sortable). out has room for filter->limit jobs; *n gets the count.
 * Rows carry no request text (request is NULL) to keep listing cheap. */
int sv_store_list_jobs(sv_store *s, const sv_job_filter *f, sv_job *out, int *n);

typedef int (*sv_event_cb)(void *data, long seq, const char *type, double ts, const char *json);
/* Events of job id with seq > after_seq in order, at most limit (<= 0: all); cb returning
 * non-zero stops early. The callback may read through the same handle, but not call
 * sv_store_events on it. */
int sv_store_events(sv_store *s, const char *id, long after_seq, int limit, sv_event_cb cb,
                    void *data);

typedef int (*sv_job_cb)(void *data, const sv_job *j);
/* Every queued job (request included), by priority (high first) then created_at; the callback
 * may write through the same handle (claim the job it is given, say). */
int sv_store_each_queued(sv_store *s, sv_job_cb cb, void *data);

/* Number of jobs per state, counts[SV_JOB_NSTATES]. */
int sv_store_count_states(sv_store *s, long *counts);
/* The same for tenant's jobs only (NULL: every tenant's): a per-tenant quota on a shared store. */
int sv_store_count_states_of(sv_store *s, const char *tenant, long *counts);

/* ---- deletion and retention (writes) ---- */
/* Deletes tenant's finished job id with its events (tenant NULL: any tenant's). SV_STORE_OK,
 * SV_STORE_ENOTFOUND (absent or another tenant's), SV_STORE_ESTATE (queued or running). */
int sv_store_delete_job(sv_store *s, const char *id, const char *tenant);
/* Retention: deletes finished jobs (with their events) that finished before finished_before
 * (when > 0), then those beyond the keep most recently finished (when keep > 0); at most limit
 * jobs a call. *deleted (may be NULL) gets the count. Queued and running jobs are never
 * touched. */
int sv_store_prune(sv_store *s, double finished_before, long keep, long limit, long *deleted);
/* Maintenance outside a transaction: gives the space of deleted rows back to the log (SQLite:
 * a WAL checkpoint that truncates the -wal file). */
int sv_store_checkpoint(sv_store *s);

/* ---- wake-ups: a store that pushes changes to the nodes sharing it ---- */
/* A listener is a connection of its own that receives the store's notifications: a job was
 * queued ("solvd_jobs"), a cancel was recorded for a running job ("solvd_cancel", with its id),
 * events were added to a job ("solvd_events", with its id). The server polls its socket on the
 * loop and drains it when readable; polling the store stays the fallback, so a lost
 * notification only delays what the next poll finds. PostgreSQL: LISTEN/NOTIFY. */
typedef struct sv_store_listener sv_store_listener;

typedef enum { SV_WAKE_JOBS = 0, SV_WAKE_CANCEL = 1, SV_WAKE_EVENTS = 2 } sv_wake_kind;

/* Opens a listener on the store url names (blocking: connects and subscribes; call it off the
 * loop). SV_STORE_OK; SV_STORE_ESTATE when the backend has no notifications (SQLite); else
 * SV_STORE_EIO or SV_STORE_ENOMEM with the reason in err. */
int sv_store_listen(const char *url, sv_store_listener **out, char *err, size_t errlen);
/* The socket to poll for readability. */
int sv_store_listener_fd(const sv_store_listener *l);
/* Reads what arrived without blocking and calls cb for each notification (id is "" for
 * SV_WAKE_JOBS). SV_STORE_OK, or SV_STORE_EIO when the connection is lost (close the
 * listener and open a new one; the reason in err). */
int sv_store_listener_drain(sv_store_listener *l,
                            void (*cb)(void *data, sv_wake_kind kind, const char *id),
                            void *data, char *err, size_t errlen);
void sv_store_listener_close(sv_store_listener *l);  /* NULL is fine */

#endif
