/* test_oas.c - the validator that checks every response of the integration suite against
 * docs/openapi.json (oas.h): each keyword of the subset on schemas written here, the strict
 * OAS 3.0.3 reading of `nullable` (the `allOf` + `nullable` form that once described a job's
 * `error` refuses null), and the operation lookup (documented statuses, media types, paths the
 * document does not describe). Without this, a validator that accepts everything would let the
 * whole suite pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "oas.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("bad JSON in the test: %s: %s", e.text, text);
    return j;
}

/* Does inst (JSON text) match schema (JSON text, its $refs into doc)? */
static int matches(const json_t *doc, const char *schema, const char *inst, char *err, size_t n)
{
    json_t *s = parse(schema), *i = parse(inst);
    int rc = it_oas_validate(doc, s, i, err, n);
    json_decref(s);
    json_decref(i);
    return rc == 0;
}

#define ACCEPTS(doc, schema, inst)                                                        \
    do {                                                                                  \
        char err_[700];                                                                   \
        if (!matches(doc, schema, inst, err_, sizeof err_))                               \
            fail_msg("%s should accept %s, says: %s", schema, inst, err_);                \
    } while (0)
#define REFUSES(doc, schema, inst, why)                                                   \
    do {                                                                                  \
        char err_[700];                                                                   \
        if (matches(doc, schema, inst, err_, sizeof err_))                                \
            fail_msg("%s should refuse %s", schema, inst);                                \
        if (!strstr(err_, why))                                                           \
            fail_msg("%s refusing %s says \"%s\", not \"%s\"", schema, inst, err_, why);  \
    } while (0)

static void test_keywords(void **state)
{
    (void)state;
    json_t *doc = parse("{\"components\":{\"schemas\":{"
                        "\"E\":{\"type\":\"object\",\"required\":[\"code\"],"
                        "\"properties\":{\"code\":{\"type\":\"string\"}}},"
                        "\"Null\":{\"type\":\"object\",\"nullable\":true,\"enum\":[null]},"
                        "\"a~b/c\":{\"type\":\"integer\"}}}}");
    /* type */
    ACCEPTS(doc, "{\"type\":\"integer\"}", "3");
    ACCEPTS(doc, "{\"type\":\"integer\"}", "3.0");
    REFUSES(doc, "{\"type\":\"integer\"}", "3.5", "a number, expected integer");
    ACCEPTS(doc, "{\"type\":\"number\"}", "3");
    REFUSES(doc, "{\"type\":\"string\"}", "3", "an integer, expected string");
    REFUSES(doc, "{\"type\":\"boolean\"}", "\"true\"", "expected boolean");
    REFUSES(doc, "{\"type\":\"array\"}", "{}", "expected array");
    REFUSES(doc, "{\"type\":\"thing\"}", "{}", "unknown type");
    /* nullable, strictly: only beside a type */
    REFUSES(doc, "{\"type\":\"object\"}", "null", "not nullable");
    ACCEPTS(doc, "{\"type\":\"object\",\"nullable\":true}", "null");
    REFUSES(doc, "{\"type\":\"string\",\"nullable\":true,\"enum\":[\"a\"]}", "null", "enum");
    REFUSES(doc, "{\"allOf\":[{\"$ref\":\"#/components/schemas/E\"}],\"nullable\":true}", "null",
            "null, expected object");
    ACCEPTS(doc, "{\"anyOf\":[{\"$ref\":\"#/components/schemas/E\"},"
                 "{\"$ref\":\"#/components/schemas/Null\"}]}",
            "null");
    ACCEPTS(doc, "{\"anyOf\":[{\"$ref\":\"#/components/schemas/E\"},"
                 "{\"$ref\":\"#/components/schemas/Null\"}]}",
            "{\"code\":\"x\"}");
    REFUSES(doc, "{\"anyOf\":[{\"$ref\":\"#/components/schemas/E\"},"
                 "{\"$ref\":\"#/components/schemas/Null\"}]}",
            "{\"message\":\"x\"}", "matches none");
    /* objects */
    REFUSES(doc, "{\"$ref\":\"#/components/schemas/E\"}", "{}", "required member \"code\"");
    REFUSES(doc, "{\"$ref\":\"#/components/schemas/E\"}", "{\"code\":1}", "/code: an integer");
    ACCEPTS(doc, "{\"$ref\":\"#/components/schemas/E\"}", "{\"code\":\"c\",\"more\":1}");
    REFUSES(doc, "{\"type\":\"object\",\"properties\":{\"a\":{}},\"additionalProperties\":false}",
            "{\"a\":1,\"b\":2}", "/b: member \"b\" is not in the schema");
    REFUSES(doc, "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"number\"}}",
            "{\"a\":1,\"b\":\"x\"}", "/b: a string, expected number");
    /* arrays */
    REFUSES(doc, "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", "[\"a\",2]",
            "/1: an integer");
    REFUSES(doc, "{\"type\":\"array\",\"maxItems\":1}", "[1,2]", "maxItems");
    REFUSES(doc, "{\"type\":\"array\",\"minItems\":1}", "[]", "minItems");
    /* enum, strings, numbers */
    ACCEPTS(doc, "{\"enum\":[1,\"a\"]}", "1.0");
    REFUSES(doc, "{\"enum\":[1,\"a\"]}", "\"b\"", "not one of the enum values");
    REFUSES(doc, "{\"type\":\"string\",\"maxLength\":2}", "\"abc\"", "maxLength");
    ACCEPTS(doc, "{\"type\":\"string\",\"maxLength\":2}", "\"\xc3\xa9\xc3\xa9\"");
    REFUSES(doc, "{\"type\":\"string\",\"minLength\":1}", "\"\"", "minLength");
    ACCEPTS(doc, "{\"type\":\"string\",\"format\":\"date-time\"}", "\"2026-11-23T10:45:41.694Z\"");
    REFUSES(doc, "{\"type\":\"string\",\"format\":\"date-time\"}", "\"2026-11-23 10:45\"",
            "date-time");
    REFUSES(doc, "{\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true}", "0", "minimum");
    ACCEPTS(doc, "{\"type\":\"number\",\"minimum\":0}", "0");
    REFUSES(doc, "{\"type\":\"integer\",\"maximum\":10}", "11", "maximum");
    /* combinators */
    REFUSES(doc, "{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"integer\"}]}", "1",
            "not exactly one");
    ACCEPTS(doc, "{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"integer\"}]}", "1.5");
    REFUSES(doc, "{\"allOf\":[{\"type\":\"number\"},{\"minimum\":2}]}", "1", "minimum");
    /* references, and keywords outside the subset */
    ACCEPTS(doc, "{\"$ref\":\"#/components/schemas/a~0b~1c\"}", "4");
    REFUSES(doc, "{\"$ref\":\"#/components/schemas/Nope\"}", "4", "unresolved $ref");
    REFUSES(doc, "{\"type\":\"string\",\"pattern\":\"^a\"}", "\"b\"", "does not know");
    json_decref(doc);
}

/* The real document: a job as the server writes it, queued and finished, and what it must not
 * look like. */
static void test_job_schema(void **state)
{
    (void)state;
    const json_t *doc = it_oas_doc();
    assert_non_null(doc);
    const char *job = "{\"$ref\":\"#/components/schemas/Job\"}";
    const char *queued =
        "{\"id\":\"01a24fa8e5530000562af9\",\"solver\":\"distributed.ef21\",\"status\":\"queued\","
        "\"priority\":0,\"tags\":[],\"attempts\":0,\"time_limit_s\":null,"
        "\"created_at\":\"2026-12-07T08:39:58.547Z\",\"started_at\":null,\"finished_at\":null,"
        "\"timings\":{},\"progress\":null,\"result\":null,\"error\":null}";
    ACCEPTS(doc, job, queued);
    const char *done =
        "{\"id\":\"01a24fa8e5530000562af9\",\"solver\":\"distributed.ef21\",\"status\":"
        "\"succeeded\",\"priority\":0,\"tags\":[\"a\"],\"attempts\":1,\"time_limit_s\":2.5,"
        "\"created_at\":\"2026-12-07T08:39:58.547Z\",\"started_at\":\"2026-12-07T08:39:58.6Z\","
        "\"finished_at\":\"2026-12-07T08:39:58.7Z\",\"timings\":{\"queued_s\":0.1,\"run_s\":0.2},"
        "\"progress\":{\"iteration\":3,\"elapsed_s\":0.1,\"objective\":1.5,\"grad_norm\":2},"
        "\"result\":{\"status\":\"solved\",\"iterations\":3,\"objective\":1.5},\"error\":null}";
    ACCEPTS(doc, job, done);
    json_t *j = parse(done);
    char err[700];
    json_t *js = parse(job);
    json_object_set_new(j, "error", json_integer(5));
    assert_int_not_equal(it_oas_validate(doc, js, j, err, sizeof err), 0);
    assert_non_null(strstr(err, "/error: matches none"));
    json_decref(js);
    json_object_set_new(j, "error", json_null());
    json_object_set_new(j, "status", json_string("done"));
    REFUSES(doc, "{\"$ref\":\"#/components/schemas/JobStatus\"}", "\"done\"", "enum");
    json_object_del(j, "status");
    char *text = json_dumps(j, JSON_COMPACT);
    REFUSES(doc, job, text, "required member \"status\"");
    free(text);
    json_decref(j);
    REFUSES(doc, job, "{\"id\":\"x\"}", "required member");
    /* Error bodies: the documented codes only, no stray members. */
    const char *error = "{\"$ref\":\"#/components/schemas/Error\"}";
    ACCEPTS(doc, error, "{\"error\":{\"code\":\"invalid\",\"message\":\"m\",\"path\":\"/a\"}}");
    REFUSES(doc, error, "{\"error\":{\"code\":\"oops\",\"message\":\"m\"}}", "enum");
    REFUSES(doc, error, "{\"error\":{\"code\":\"invalid\",\"message\":\"m\",\"field\":\"/a\"}}",
            "\"field\" is not in the schema");
}

static void test_operations(void **state)
{
    (void)state;
    char err[1500];
    const char *eb = "{\"error\":{\"code\":\"not_found\",\"message\":\"no such job\"}}";
    const char *job404 = "/v1/jobs/01a24fa8e5530000562af9";
    assert_int_equal(
        it_oas_check_response("GET", job404, 404, "application/json", eb, strlen(eb), err, 200),
        0);
    /* A status the operation does not list. */
    assert_int_equal(it_oas_check_response("GET", job404, 418, "application/json", eb,
                                           strlen(eb), err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "not among the operation's responses"));
    /* A media type the response does not list. */
    assert_int_equal(it_oas_check_response("GET", job404, 404, "text/html", eb, strlen(eb), err,
                                           sizeof err),
                     -1);
    assert_non_null(strstr(err, "content type"));
    /* A body that is not the schema's. */
    const char *bad = "{\"jobs\":[]}";
    assert_int_equal(it_oas_check_response("GET", "/v1/jobs?limit=3", 200, "application/json",
                                           bad, strlen(bad), err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "next_cursor"));
    /* The query string is not part of the path; parameters of a media type do not matter. */
    const char *list = "{\"jobs\":[],\"next_cursor\":null}";
    assert_int_equal(it_oas_check_response("GET", "/v1/jobs?limit=3", 200,
                                           "application/json; charset=utf-8", list, strlen(list),
                                           err, sizeof err),
                     0);
    assert_int_equal(it_oas_check_response("GET", "/metrics", 200, "text/plain; version=0.0.4",
                                           "x 1\n", 4, err, sizeof err),
                     0);
    /* A last placeholder may take several segments; an inner one only one. */
    assert_int_equal(it_oas_check_response("GET", "/ui/js/app.js", 200, "text/javascript",
                                           "1", 1, err, sizeof err),
                     0);
    const char *na = "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"m\"}}";
    assert_int_equal(it_oas_check_response("GET", "/v1/jobs/x/cancel", 405, "application/json",
                                           na, strlen(na), err, sizeof err),
                     0);
    /* What the document does not describe may only be refused, with an Error. */
    assert_int_equal(it_oas_check_response("GET", "/v2/nope", 404, "application/json", eb,
                                           strlen(eb), err, sizeof err),
                     0);
    assert_int_equal(it_oas_check_response("GET", "/v2/nope", 200, "application/json", eb,
                                           strlen(eb), err, sizeof err),
                     -1);
    assert_int_equal(it_oas_check_response("DELETE", "/v1/jobs", 405, "application/json", "{}", 2,
                                           err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "required member \"error\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_job_schema),
        cmocka_unit_test(test_operations),
    };
    return cmocka_run_group_tests_name("integration/oas", tests, NULL, NULL);
}
