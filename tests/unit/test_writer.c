/* test_writer.c - the group-commit writer (server/writer.c) against a fake store whose commit
 * can be made to fail: ops get their store's answer on the loop thread, a batch whose commit
 * fails fails every op in it, and sv_writer_failing reports that until a batch commits again
 * (what /healthz shows as store_writes); ops marked retry are held through failures and
 * committed, in order, once the store recovers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <uv.h>

#include "server/metrics.h"
#include "server/writer.h"
#include "storage/backend.h"

typedef struct {
    sv_store base;
    int fail_commit;
    int events;      /* add_event calls that would have been durable */
    int commits;
    long staged[16], durable[16];   /* event seqs of the open transaction, and committed ones */
    int n_staged, n_durable;
} fake_store;

static int f_begin(sv_store *s) { ((fake_store *)s)->n_staged = 0; return SV_STORE_OK; }
static int f_commit(sv_store *s)
{
    fake_store *f = (fake_store *)s;
    if (f->fail_commit)
        return SV_STORE_EIO;
    f->commits++;
    for (int i = 0; i < f->n_staged && f->n_durable < 16; i++)
        f->durable[f->n_durable++] = f->staged[i];
    f->n_staged = 0;
    return SV_STORE_OK;
}
static int f_rollback(sv_store *s) { ((fake_store *)s)->n_staged = 0; return SV_STORE_OK; }
static const char *f_errmsg(sv_store *s) { (void)s; return "disk full (fake)"; }
static int f_add_event(sv_store *s, const char *id, long seq, const char *type, double ts,
                       const char *data)
{
    (void)id, (void)type, (void)ts, (void)data;
    fake_store *f = (fake_store *)s;
    f->events++;
    if (f->n_staged < 16)
        f->staged[f->n_staged++] = seq;
    return SV_STORE_OK;
}

static const sv_store_ops fake_ops = {
    .name = "fake",
    .begin = f_begin,
    .commit = f_commit,
    .rollback = f_rollback,
    .errmsg = f_errmsg,
    .add_event = f_add_event,
};

typedef struct {
    int calls, rc;
} answer;

static void on_done(sv_wop *op, void *data)
{
    answer *a = data;
    a->calls++;
    a->rc = op->rc;
}

static sv_wop *event_op(long seq, int retry, answer *a)
{
    sv_wop *op = sv_wop_new(SV_W_EVENT, "job");
    assert_non_null(op);
    op->seq = seq;
    snprintf(op->type, sizeof op->type, "progress");
    op->data = strdup("{}");
    op->retry = retry;
    op->done = on_done;
    op->done_data = a;
    memset(a, 0, sizeof *a);
    return op;
}

/* Runs the loop for about s seconds. */
static void run_for(uv_loop_t *loop, double s)
{
    uint64_t until = uv_now(loop) + (uint64_t)(s * 1000);
    while (uv_now(loop) < until) {
        uv_run(loop, UV_RUN_NOWAIT);
        uv_sleep(5);
        uv_update_time(loop);
    }
}

/* While the store fails, an op marked retry is held, not answered, and tried again with
 * backoff; an op not marked fails at once. Once the store takes writes again the held ops
 * commit in their order, before an op queued while they waited, and each is answered once. */
static void test_retried_ops_wait_for_the_store(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    fake_store st = {{&fake_ops}, 0, 0, 0, {0}, {0}, 0, 0};
    sv_metrics m;
    memset(&m, 0, sizeof m);
    sv_writer w;
    assert_int_equal(sv_writer_init(&w, &loop, &st.base, &m), 0);
    answer a1, a2, b, a3;
    st.fail_commit = 1;
    sv_writer_submit(&w, event_op(1, 1, &a1));
    sv_writer_submit(&w, event_op(2, 0, &b));
    sv_writer_submit(&w, event_op(3, 1, &a2));
    while (b.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(b.rc, SV_STORE_EIO);
    assert_int_equal(a1.calls + a2.calls, 0);
    assert_int_equal(sv_writer_failing(&w), 1);
    assert_int_equal(sv_writer_pending(&w), 2);
    /* Several attempts (0.05, 0.1, 0.2 s apart) fail; nothing is answered or lost. */
    run_for(&loop, 0.5);
    assert_int_equal(a1.calls + a2.calls, 0);
    assert_true(st.events >= 3 * 2 + 1);
    assert_int_equal(st.n_durable, 0);
    assert_true(sv_writer_holding(&w) || w.busy);
    sv_writer_submit(&w, event_op(4, 1, &a3));
    st.fail_commit = 0;
    while (a3.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(a1.calls, 1);
    assert_int_equal(a2.calls, 1);
    assert_int_equal(a3.calls, 1);
    assert_int_equal(a1.rc, SV_STORE_OK);
    assert_int_equal(a2.rc, SV_STORE_OK);
    assert_int_equal(st.n_durable, 3);
    assert_int_equal(st.durable[0], 1);
    assert_int_equal(st.durable[1], 3);
    assert_int_equal(st.durable[2], 4);
    assert_int_equal(sv_writer_failing(&w), 0);
    assert_int_equal(sv_writer_pending(&w), 0);
    assert_false(sv_writer_holding(&w));
    sv_writer_close(&w);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void write_one(uv_loop_t *loop, sv_writer *w, answer *a)
{
    sv_wop *op = sv_wop_new(SV_W_EVENT, "job");
    assert_non_null(op);
    op->seq = 1;
    snprintf(op->type, sizeof op->type, "progress");
    op->data = strdup("{}");
    op->done = on_done;
    op->done_data = a;
    memset(a, 0, sizeof *a);
    sv_writer_submit(w, op);
    while (a->calls == 0)
        uv_run(loop, UV_RUN_ONCE);
}

static void test_failing_commits_are_reported(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    fake_store st = {{&fake_ops}, 0, 0, 0, {0}, {0}, 0, 0};
    sv_metrics m;
    memset(&m, 0, sizeof m);
    sv_writer w;
    assert_int_equal(sv_writer_init(&w, &loop, &st.base, &m), 0);
    answer a;
    write_one(&loop, &w, &a);
    assert_int_equal(a.rc, SV_STORE_OK);
    assert_int_equal(sv_writer_failing(&w), 0);
    st.fail_commit = 1;
    write_one(&loop, &w, &a);
    assert_int_equal(a.rc, SV_STORE_EIO);
    assert_int_equal(sv_writer_failing(&w), 1);
    assert_int_equal(m.store_errors, 1);
    write_one(&loop, &w, &a);
    assert_int_equal(sv_writer_failing(&w), 1);  /* still failing */
    st.fail_commit = 0;
    write_one(&loop, &w, &a);
    assert_int_equal(a.rc, SV_STORE_OK);
    assert_int_equal(sv_writer_failing(&w), 0);  /* recovered */
    assert_int_equal(st.commits, 2);
    sv_writer_close(&w);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_commits_are_reported),
        cmocka_unit_test(test_retried_ops_wait_for_the_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
