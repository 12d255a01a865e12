/* Unit tests of api/sse.c: event framing and comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "api/sse.h"

static void test_framing(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    assert_int_equal(sv_sse_append(&buf, &len, &cap, "progress", 7, "{\"a\":1}"), 0);
    assert_int_equal(sv_sse_comment(&buf, &len, &cap, "keep-alive"), 0);
    assert_int_equal(sv_sse_append(&buf, &len, &cap, "status", 0, "{}"), 0);
    const char *want = "event: progress\nid: 7\ndata: {\"a\":1}\n\n"
                       ": keep-alive\n\n"
                       "event: status\ndata: {}\n\n";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    free(buf);
}

static void test_growth(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char *big = malloc(100001);
    memset(big, 'x', 100000);
    big[100000] = 0;
    for (int i = 1; i <= 5; i++)
        assert_int_equal(sv_sse_append(&buf, &len, &cap, "result", i, big), 0);
    assert_true(cap >= len);
    /* Five events, each header + 100000 + 2 newlines. */
    size_t want = 0;
    for (int i = 1; i <= 5; i++)
        want += strlen("event: result\nid: 1\ndata: ") + 100000 + 2;
    assert_int_equal(len, want);
    free(big);
    free(buf);
}

/* Last-Event-ID / ?after=: digits only, within a long. */
static void test_last_id(void **state)
{
    (void)state;
    long v = -1;
    assert_int_equal(sv_sse_parse_last_id(NULL, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sv_sse_parse_last_id("", &v), 0);
    assert_int_equal(sv_sse_parse_last_id("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(sv_sse_parse_last_id("9223372036854775807", &v), 0);
    assert_true(v == 9223372036854775807L);
    const char *bad[] = {"-1", "+1", " 1", "1 ", "1x", "0x10", "9223372036854775808",
                         "99999999999999999999999", "\xc2\xb9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sv_sse_parse_last_id(bad[i], &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_last_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
