/* test_writer.c - the group-commit writer (server/writer.c) against a fake store whose commit
 * can be made to fail: ops get their store's answer on the loop thread, a batch whose commit
 * fails fails every op in it, and sv_writer_failing reports that until a batch commits again
 * (what /healthz shows as store_writes). */
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
} fake_store;

static int f_begin(sv_store *s) { (void)s; return SV_STORE_OK; }
static int f_commit(sv_store *s)
{
    fake_store *f = (fake_store *)s;
    if (f->fail_commit)
        return SV_STORE_EIO;
    f->commits++;
    return SV_STORE_OK;
}
static int f_rollback(sv_store *s) { (void)s; return SV_STORE_OK; }
static const char *f_errmsg(sv_store *s) { (void)s; return "disk full (fake)"; }
static int f_add_event(sv_store *s, const char *id, long seq, const char *type, double ts,
                       const char *data)
{
    (void)id, (void)seq, (void)type, (void)ts, (void)data;
    ((fake_store *)s)->events++;
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
    fake_store st = {{&fake_ops}, 0, 0, 0};
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
