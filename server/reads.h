/* reads.h - store reads for the loop thread. A backend whose reads are local and quick
 * (SV_STORE_CAP_LOCAL_READS: SQLite) is read inline on the loop, as before; any other (a remote
 * database) is read on the libuv pool with handles of its own, so the loop never waits on the
 * network. Callers write every read as a pair: run (may block; reads through the handle given)
 * and done (on the loop thread, after run), and never assume which of the two ways it went. */
#ifndef SV_READS_H
#define SV_READS_H

#include <uv.h>
#include "storage/store.h"

typedef struct sv_read sv_read;
typedef struct sv_reads sv_reads;

/* Runs where the store may block: reads through s and keeps the answer in the caller's
 * struct that embeds rd. Must not touch loop-thread state. */
typedef void (*sv_read_run)(sv_read *rd, sv_store *s);
/* On the loop thread once run returned; may free the struct embedding rd. */
typedef void (*sv_read_done)(sv_read *rd);

struct sv_read {
    uv_work_t work;
    sv_reads *reads;
    sv_store *store;
    sv_read_run run;
    sv_read_done done;
    sv_read *next;             /* waiting for a handle */
};

#define SV_READS_HANDLES 4

struct sv_reads {
    uv_loop_t *loop;
    sv_store *inline_store;    /* set: reads run inline on it */
    sv_store *idle[SV_READS_HANDLES];   /* off-loop handles not in use (loop thread only) */
    int n_idle, n_open;
    sv_read *waiting, *waiting_tail;
    int in_flight;
};

/* Reads inline on loop_store when its backend allows and off_loop is 0; otherwise opens
 * SV_READS_HANDLES handles on url for the pool. 0, or a store error with a message in err. */
int sv_reads_init(sv_reads *R, uv_loop_t *loop, sv_store *loop_store, const char *url,
                  int off_loop, char *err, size_t errlen);
/* Runs rd (filled by the caller with run and done through this call). */
void sv_reads_submit(sv_reads *R, sv_read *rd, sv_read_run run, sv_read_done done);
/* 1 when reads leave the loop thread. */
int sv_reads_off_loop(const sv_reads *R);
/* Closes the off-loop handles; no read may be in flight. */
void sv_reads_close(sv_reads *R);

#endif
