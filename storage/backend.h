/* backend.h - what a store backend implements: the ops table behind store.h, and the handle
 * base every backend's handle starts with. Only storage/ includes this. A new backend (say
 * storage/postgres.c) fills in one sv_store_ops, provides an open function, and gets a line in
 * the scheme table of storage/store.c; tests/unit/store_contract.c is the behaviour it must
 * show. Each op has the contract of the sv_store_* function of the same name in store.h; none
 * may be NULL. */
#ifndef SV_STORE_BACKEND_H
#define SV_STORE_BACKEND_H

#include "storage/store.h"

typedef struct sv_store_ops {
    const char *name;   /* "sqlite" */
    unsigned caps;      /* SV_STORE_CAP_* */
    void (*close)(sv_store *s);
    const char *(*errmsg)(sv_store *s);
    int (*schema_version)(sv_store *s);

    int (*begin)(sv_store *s);
    int (*commit)(sv_store *s);
    int (*rollback)(sv_store *s);

    int (*insert_job)(sv_store *s, const sv_job *j);
    int (*claim_job)(sv_store *s, const char *id, const char *node, double now, double lease_s,
                     int attempts);
    int (*claim_next)(sv_store *s, const char *node, double now, double lease_s, sv_job *out);
    int (*heartbeat)(sv_store *s, const char *node, double now, double lease_s, int *renewed);
    int (*release)(sv_store *s, const char *id, const char *node, double now);
    int (*requeue_expired)(sv_store *s, double now, int max_attempts, int *requeued,
                           int *failed);
    int (*finish_job)(sv_store *s, const char *id, const char *node, sv_job_state state,
                      double finished_at, const char *summary, const char *result,
                      const char *error);
    int (*cancel)(sv_store *s, const char *id, const char *tenant, double now,
                  sv_job_state *state);
    int (*cancel_requests)(sv_store *s, const char *node, int (*cb)(void *data, const char *id),
                           void *data);
    int (*add_event)(sv_store *s, const char *id, long seq, const char *type, double ts,
                     const char *data);
    int (*recover)(sv_store *s, const char *node, int max_attempts, double now, int *requeued,
                   int *failed);

    int (*get_job)(sv_store *s, const char *id, const char *tenant, sv_job *out);
    int (*get_result)(sv_store *s, const char *id, const char *tenant, char **out);
    int (*get_request)(sv_store *s, const char *id, char **out);
    int (*find_idem)(sv_store *s, const char *tenant, const char *key, sv_job *out);
    int (*list_jobs)(sv_store *s, const sv_job_filter *f, sv_job *out, int *n);
    int (*events)(sv_store *s, const char *id, long after_seq, int limit, sv_event_cb cb,
                  void *data);
    int (*each_queued)(sv_store *s, sv_job_cb cb, void *data);
    int (*count_states)(sv_store *s, const char *tenant, long *counts);

    int (*delete_job)(sv_store *s, const char *id, const char *tenant);
    int (*prune)(sv_store *s, double finished_before, long keep, long limit, long *deleted);
    int (*checkpoint)(sv_store *s);
} sv_store_ops;

/* The first member of every backend's handle. */
struct sv_store {
    const sv_store_ops *ops;
};

/* A backend's open: target is the URL with the "sqlite:" prefix removed (a path), or the whole
 * URL for backends that parse their own ("postgres://..."). Contract as sv_store_open. */
typedef int (*sv_store_open_fn)(const char *target, sv_store **out, char *err, size_t errlen);

int sv_sqlite_open(const char *path, sv_store **out, char *err, size_t errlen);
int sv_sqlite_preflight(const char *path, char *err, size_t errlen);
/* url: the whole "postgres://..." or "postgresql://..." URL, as libpq reads it. */
int sv_postgres_open(const char *url, sv_store **out, char *err, size_t errlen);
/* The PostgreSQL listener (storage/pg_listen.c); url as for sv_postgres_open. */
int sv_postgres_listen(const char *url, sv_store_listener **out, char *err, size_t errlen);
/* The PostgreSQL backend's cancel and cancel_requests ops, also called directly by
 * tests/unit/test_store_postgres.c. */
int sv_postgres_cancel(sv_store *s, const char *id, const char *tenant, double now,
                       sv_job_state *state);
int sv_postgres_cancel_requests(sv_store *s, const char *node,
                                int (*cb)(void *data, const char *id), void *data);

#endif
