/* test_chunk.c - shared event blocks (server/chunk.c): the frame of an event, reference counts,
 * and the registry that hands a second copy of a result the block already in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "server/chunk.h"

static void test_frames(void **state)
{
    (void)state;
    sv_chunk *e = sv_chunk_new("progress", 7, "{\"a\":1}");
    sv_chunk *c = sv_chunk_new(NULL, 0, "keep-alive");
    assert_non_null(e);
    assert_non_null(c);
    const char *want = "event: progress\nid: 7\ndata: {\"a\":1}\n\n";
    assert_int_equal(e->len, strlen(want));
    assert_memory_equal(e->data, want, e->len);
    assert_int_equal(c->len, strlen(": keep-alive\n\n"));
    assert_memory_equal(c->data, ": keep-alive\n\n", c->len);
    sv_chunk_unref(e);
    sv_chunk_unref(c);
}

/* Two replays of one result: the second copy is dropped for the first block, which stays
 * registered while anyone holds it and leaves the registry with its last reference. */
static void test_registry(void **state)
{
    (void)state;
    sv_chunk *reg = NULL;
    sv_chunk *a = sv_chunk_share(&reg, sv_chunk_new("result", 5, "{\"x\":[1]}"), "job1", 5);
    sv_chunk *b = sv_chunk_share(&reg, sv_chunk_new("result", 5, "{\"x\":[1]}"), "job1", 5);
    sv_chunk *other = sv_chunk_share(&reg, sv_chunk_new("result", 6, "{}"), "job1", 6);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, other);
    assert_int_equal(a->refs, 2);
    assert_ptr_equal(reg, other);
    assert_ptr_equal(reg->reg_next, a);
    sv_chunk_unref(a);
    sv_chunk_unref(b);   /* the last reference: out of the registry */
    assert_ptr_equal(reg, other);
    assert_null(reg->reg_next);
    /* Found by job while held; not once its last reference went. */
    sv_chunk *found = sv_chunk_find(reg, "job1");
    assert_ptr_equal(found, other);
    assert_int_equal(other->refs, 2);
    sv_chunk_unref(found);
    assert_null(sv_chunk_find(reg, "job2"));
    sv_chunk *again = sv_chunk_share(&reg, sv_chunk_new("result", 5, "{\"x\":[1]}"), "job1", 5);
    assert_int_equal(again->refs, 1);
    sv_chunk_unref(again);
    sv_chunk_unref(other);
    assert_null(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
