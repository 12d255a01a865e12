/* store_contract.h - the behaviour every job store backend owes store.h, as a cmocka suite that
 * any backend's runner calls with a harness that makes fresh stores of its kind
 * (test_store_sqlite.c for SQLite; a PostgreSQL runner would create a scratch schema). */
#ifndef SV_STORE_CONTRACT_H
#define SV_STORE_CONTRACT_H

#include "storage/store.h"

typedef struct {
    const char *name;      /* the cmocka group's name */
    int schema_latest;     /* the schema version a fresh store reports */
    /* A new, empty store for one test: *ctx gets the runner's state for it. 0 or -1. */
    int (*open_fresh)(void **ctx, sv_store **out);
    /* Closes *s and opens the same store again in its place (what survives a restart). */
    int (*reopen)(void *ctx, sv_store **s);
    /* Another handle on the same store; may be called from another thread. */
    int (*open_second)(void *ctx, sv_store **out);
    /* Removes the store once its handles are closed. */
    void (*destroy)(void *ctx);
} sv_store_harness;

/* Runs the whole suite against h; returns the number of failed tests. */
int sv_store_contract_run(const sv_store_harness *h);

#endif
