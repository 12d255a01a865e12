/* Unit tests of api/submit.c: the job envelope and the codec's validation, each error class
 * with its status, code and path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "api/submit.h"

static const sv_codec_env env = {1000, 100000, NULL};

#define PROBLEM "{\"generate\":{\"clients\":2,\"rows_per_client\":5,\"dim\":3,\"seed\":1}}"

static void expect(const char *body, int status, const char *code, const char *path)
{
    sv_submit s;
    sv_err e;
    memset(&e, 0, sizeof e);
    const char *c = NULL;
    int rc = sv_submit_parse(body, strlen(body), &env, 100, &s, &c, &e);
    if (rc != status || (code && (!c || strcmp(c, code) != 0)) ||
        (path && strcmp(e.field, path) != 0))
        print_error("body %s: got %d %s path '%s' (%s), want %d %s path '%s'\n", body, rc,
                    c ? c : "-", e.field, e.msg, status, code ? code : "-", path ? path : "-");
    assert_int_equal(rc, status);
    if (code)
        assert_string_equal(c, code);
    if (path)
        assert_string_equal(e.field, path);
    assert_true(strlen(e.msg) > 0);
    assert_null(s.body);
}

static void test_valid(void **state)
{
    (void)state;
    const char *body = "{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM
                       ",\"params\":{\"k\":2},\"priority\":5,\"time_limit_s\":2.5,"
                       "\"tags\":[\"a\",\"b\"]}";
    sv_submit s;
    sv_err e;
    const char *c = NULL;
    assert_int_equal(sv_submit_parse(body, strlen(body), &env, 100, &s, &c, &e), 0);
    assert_string_equal(s.codec->name, "distributed.ef21");
    assert_int_equal(s.priority, 5);
    assert_true(s.time_limit_s == 2.5);
    assert_int_equal(json_array_size(s.tags), 2);
    sv_submit_clear(&s);
    /* params null and absent both mean defaults. */
    const char *b2 = "{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"params\":null}";
    assert_int_equal(sv_submit_parse(b2, strlen(b2), &env, 100, &s, &c, &e), 0);
    assert_int_equal(s.priority, 0);
    assert_true(s.time_limit_s == 0);
    sv_submit_clear(&s);
}

static void test_envelope_errors(void **state)
{
    (void)state;
    expect("{\"solver\":", 400, "bad_json", "");
    expect("", 400, "bad_json", "");
    expect("[1,2]", 422, "invalid", "");
    expect("{\"solver\":\"distributed.ef21\",\"solver\":\"x\",\"problem\":{}}", 400, "bad_json",
           NULL);
    expect("{\"problem\":" PROBLEM "}", 422, "invalid", "/solver");
    expect("{\"solver\":3,\"problem\":" PROBLEM "}", 422, "invalid", "/solver");
    expect("{\"solver\":\"no.such\",\"problem\":" PROBLEM "}", 422, "unknown_solver", "/solver");
    expect("{\"solver\":\"distributed.ef21\"}", 422, "invalid", "/problem");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":[]}", 422, "invalid", "/problem");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"extra\":1}", 422, "invalid",
           "/extra");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"params\":[]}", 422,
           "invalid", "/params");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"priority\":5000}", 422,
           "invalid", "/priority");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"priority\":1.5}", 422,
           "invalid", "/priority");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"time_limit_s\":0}", 422,
           "invalid", "/time_limit_s");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"time_limit_s\":1000}", 422,
           "invalid", "/time_limit_s");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"tags\":\"a\"}", 422,
           "invalid", "/tags");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"tags\":[\"a\",7]}", 422,
           "invalid", "/tags/1");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"tags\":[\"\"]}", 422,
           "invalid", "/tags/0");
}

static void test_codec_errors(void **state)
{
    (void)state;
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"params\":{\"nope\":1}}", 422,
           "invalid", "/params/nope");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":" PROBLEM ",\"params\":{\"tol\":-1}}", 422,
           "invalid", "/params/tol");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":{\"clients\":[{\"A\":[[1,2],[3]],"
           "\"b\":[1,2]}]}}",
           422, "invalid", NULL);
}

static void test_nonfinite_named(void **state)
{
    (void)state;
    expect("{\"solver\":\"distributed.ef21\",\"problem\":{\"clients\":[{\"A\":[[1,NaN]],"
           "\"b\":[1]}]}}",
           422, "invalid", "/problem/clients/0/A/0/1");
    expect("{\"solver\":\"distributed.ef21\",\"problem\":{\"clients\":[{\"A\":[[1,2]],"
           "\"b\":[-Infinity]}]}}",
           422, "invalid", "/problem/clients/0/b/0");
    /* "NaN" inside a string is not a number token: a plain type error follows. */
    expect("{\"solver\":\"NaN\",\"problem\":" PROBLEM "}", 422, "unknown_solver", "/solver");
}

static void texts_of(const char *body, sv_submit_texts *t)
{
    sv_submit s;
    sv_err e;
    const char *c = NULL;
    assert_int_equal(sv_submit_parse(body, strlen(body), &env, 100, &s, &c, &e), 0);
    assert_int_equal(sv_submit_texts_make(&s, strdup(body), 1, t), 0);
    sv_submit_clear(&s);
}

/* The store keeps the request byte for byte as sent (0.1 stays 0.1, spacing stays), while the
 * idempotency hash ignores key order and spacing and tells other values apart. */
static void test_texts(void **state)
{
    (void)state;
    const char *a = "{\"solver\": \"distributed.ef21\", \"problem\":" PROBLEM
                    ", \"params\": {\"k\": 2, \"tol\": 0.1}}";
    const char *b = "{\"params\":{\"tol\":0.1,\"k\":2},\"problem\":" PROBLEM
                    ",\"solver\":\"distributed.ef21\"}";
    const char *c = "{\"params\":{\"tol\":0.2,\"k\":2},\"problem\":" PROBLEM
                    ",\"solver\":\"distributed.ef21\",\"tags\":[\"x\"]}";
    sv_submit_texts ta, tb, tc;
    texts_of(a, &ta);
    texts_of(b, &tb);
    texts_of(c, &tc);
    assert_string_equal(ta.request, a);
    assert_string_equal(tb.request, b);
    assert_string_equal(ta.hash, tb.hash);
    assert_string_not_equal(ta.hash, tc.hash);
    assert_int_equal(strlen(ta.hash), 16);
    assert_string_equal(ta.tags, "[]");
    assert_string_equal(tc.tags, "[\"x\"]");
    assert_non_null(strstr(ta.params, "\"k\":2"));
    /* Without a key no hash is made. */
    sv_submit_texts tn;
    sv_submit sn;
    sv_err e;
    const char *code = NULL;
    assert_int_equal(sv_submit_parse(a, strlen(a), &env, 100, &sn, &code, &e), 0);
    assert_int_equal(sv_submit_texts_make(&sn, strdup(a), 0, &tn), 0);
    assert_string_equal(tn.hash, "");
    assert_string_equal(tn.request, a);
    sv_submit_texts_clear(&tn);
    sv_submit_clear(&sn);
    sv_submit_texts_clear(&ta);
    sv_submit_texts_clear(&tb);
    sv_submit_texts_clear(&tc);
    assert_null(ta.request);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_envelope_errors),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_nonfinite_named),
        cmocka_unit_test(test_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
