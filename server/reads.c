/* reads.c - inline or pooled store reads (reads.h). The bookkeeping of handles happens on the
 * loop thread only (submit and the after-work callback), so it needs no lock: a pool thread
 * only ever uses the one handle its read was given. */
#include "server/reads.h"

#include <string.h>

static void start(sv_reads *R, sv_read *rd);

static void work(uv_work_t *w)
{
    sv_read *rd = w->data;
    rd->run(rd, rd->store);
}

static void after(uv_work_t *w, int status)
{
    (void)status;
    sv_read *rd = w->data;
    sv_reads *R = rd->reads;
    R->idle[R->n_idle++] = rd->store;
    R->in_flight--;
    rd->store = NULL;
    /* The next waiting read gets the handle before done runs (done may submit again). */
    if (R->waiting) {
        sv_read *next = R->waiting;
        R->waiting = next->next;
        if (!R->waiting)
            R->waiting_tail = NULL;
        start(R, next);
    }
    rd->done(rd);
}

static void start(sv_reads *R, sv_read *rd)
{
    rd->store = R->idle[--R->n_idle];
    rd->work.data = rd;
    R->in_flight++;
    if (uv_queue_work(R->loop, &rd->work, work, after) != 0) {
        /* Cannot happen with a valid loop; read here rather than lose the reply. */
        work(&rd->work);
        after(&rd->work, 0);
    }
}

int sv_reads_init(sv_reads *R, uv_loop_t *loop, sv_store *loop_store, const char *url,
                  int off_loop, char *err, size_t errlen)
{
    memset(R, 0, sizeof *R);
    R->loop = loop;
    if (!off_loop && (sv_store_caps(loop_store) & SV_STORE_CAP_LOCAL_READS)) {
        R->inline_store = loop_store;
        return SV_STORE_OK;
    }
    for (int i = 0; i < SV_READS_HANDLES; i++) {
        int rc = sv_store_open(url, &R->idle[i], err, errlen);
        if (rc != SV_STORE_OK) {
            sv_reads_close(R);
            return rc;
        }
        R->n_idle++;
        R->n_open++;
    }
    return SV_STORE_OK;
}

void sv_reads_submit(sv_reads *R, sv_read *rd, sv_read_run run, sv_read_done done)
{
    rd->reads = R;
    rd->run = run;
    rd->done = done;
    rd->next = NULL;
    if (R->inline_store) {
        rd->store = R->inline_store;
        run(rd, rd->store);
        done(rd);
        return;
    }
    if (R->n_idle > 0) {
        start(R, rd);
        return;
    }
    if (R->waiting_tail)
        R->waiting_tail->next = rd;
    else
        R->waiting = rd;
    R->waiting_tail = rd;
}

int sv_reads_off_loop(const sv_reads *R) { return R->inline_store == NULL; }

void sv_reads_close(sv_reads *R)
{
    for (int i = 0; i < R->n_idle; i++)
        sv_store_close(R->idle[i]);
    R->n_idle = R->n_open = 0;
}
