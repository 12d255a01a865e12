/* test_json_parse.c - api/decimal.c against strtod (bit for bit, on hard cases and on hundreds of
 * thousands of seeded random tokens) and api/json_parse.c against jansson's json_loadb with
 * JSON_REJECT_DUPLICATES, the parser it replaces on the submission path: the same documents
 * accepted with equal values, the same ones refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/decimal.h"
#include "api/json_parse.h"
#include "core/rng.h"

/* ---------------------------------------------------------------- decimal */

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* sv_decimal_to_double(s) equals strtod(s) bit for bit, and says overflow exactly when strtod
 * gives an infinity. */
static void check_token(const char *s)
{
    double got, want = strtod(s, NULL);
    int rc = sv_decimal_to_double(s, s + strlen(s), &got);
    if (!same_bits(got, want) || rc != (isinf(want) ? -1 : 0)) {
        print_error("token %s: got %a (rc %d), strtod %a\n", s, got, rc, want);
        fail();
    }
}

static void test_decimal_hard_cases(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "0", "-0", "0.0", "-0.0e5", "1", "-1", "0.1", "0.2", "0.3", "123456789012345678",
        "9007199254740992", "9007199254740993", "9007199254740995", "9007199254740997",
        "18446744073709551615", "18446744073709551616", "1e22", "1e23", "8.98846567431158e307",
        "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "1e309",
        "-1e309", "2.2250738585072011e-308", "2.2250738585072014e-308", "4.9e-324",
        "2.4703282292062327e-324", "2.4703282292062328e-324", "1e-400", "-1e-400",
        "5e-324", "1e-323", "2.225073858507201136057409796709131975934819546351645648e-308",
        "0.000000000000000000000000000000000000000000001",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "7.3177701707893310e+15", "1448997445238699", "5708990770823839524233143877797980545530986496",
        "3.14159265358979323846264338327950288419716939937510582097494459", "1e-5", "1e+5",
        "1E5", "123.456e-7", "100000000000000000000000000000000000000000000000000000000e-40",
        "0.0000000000000000000000000000000000000000000000000000000000000000001e60",
        "1e100000000000", "1e-100000000000", "0e100000000000", "4503599627370496.5",
        "4503599627370497.5", "9.5367431640625e-7",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_token(cases[i]);
    /* a token longer than the stack buffer of the strtod fallback */
    char big[2100];
    big[0] = '1';
    big[1] = '.';
    for (int i = 2; i < 2000; i++)
        big[i] = (char)('0' + i % 10);
    strcpy(big + 2000, "e-10");
    check_token(big);
}

/* Doubles printed every way a client prints them, and digit strings with random lengths and
 * exponents (most of them decided by Eisel-Lemire, some by strtod). */
static void test_decimal_random(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 20211);
    char buf[96];
    static const char *const fmts[] = {"%.17g", "%.16g", "%.15g", "%.6g", "%.12f", "%.3e"};
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = sv_rng_next(&r);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            continue;
        snprintf(buf, sizeof buf, fmts[i % 6], d);
        if (i % 6 == 4 && strlen(buf) > 60)
            continue; /* %f of a huge value: long, but still a valid token; skip the cost */
        check_token(buf);
        /* moderate magnitudes, the common case */
        double m = (sv_rng_uniform(&r) - 0.5) * pow(10.0, (double)(int)sv_rng_below(&r, 40) - 20);
        snprintf(buf, sizeof buf, fmts[(i + 1) % 6], m);
        check_token(buf);
    }
    for (int i = 0; i < 100000; i++) {
        int nd = 1 + (int)sv_rng_below(&r, 25);
        int k = 0;
        if (sv_rng_below(&r, 2))
            buf[k++] = '-';
        buf[k++] = (char)('1' + sv_rng_below(&r, 9));
        for (int j = 1; j < nd; j++)
            buf[k++] = (char)('0' + sv_rng_below(&r, 10));
        k += snprintf(buf + k, sizeof buf - (size_t)k, "e%d", (int)sv_rng_below(&r, 700) - 350);
        check_token(buf);
    }
}

/* ---------------------------------------------------------------- parser vs jansson */

/* Both parsers agree on text: both refuse it, or both accept it with equal values (reals
 * compared bit for bit through a 17-digit print). Returns 1 when accepted. */
static int agree(const char *text, size_t len)
{
    json_error_t je;
    json_t *ref = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    sv_json_perr pe;
    json_t *got = sv_json_parse(text, len, &pe);
    if (!ref != !got) {
        print_error("disagree on %.*s: jansson %s (%s), sv_json_parse %s (%s)\n", (int)(len > 200 ? 200 : len),
                    text, ref ? "accepts" : "refuses", ref ? "" : je.text,
                    got ? "accepts" : "refuses", got ? "" : pe.text);
        fail();
    }
    int ok = ref != NULL;
    if (ok) {
        assert_true(json_equal(ref, got));
        char *a = json_dumps(ref, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        char *b = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, b);
        free(a);
        free(b);
    } else {
        assert_true(pe.text[0] != '\0');
        assert_true(pe.line >= 1 && pe.column >= 1);
    }
    json_decref(ref);
    json_decref(got);
    return ok;
}

static int agree_s(const char *text) { return agree(text, strlen(text)); }

static void test_parse_documents(void **state)
{
    (void)state;
    static const char *const accepted[] = {
        "{}", "[]", " \n\t\r[ ]\n", "[1,-1,0,-0,1.5,-0.0,1e5,1E+5,1e-5,2.5e-324]",
        "[9223372036854775807,-9223372036854775808]", "{\"a\":{\"b\":[true,false,null]}}",
        "[\"\",\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u00e9\\u20ac\\ud83d\\ude00\"]",
        "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]", "{\"x\":1,\"y\":2,\"\\u0078x\":3}",
        "[1.7976931348623157e308,4.9e-324,1e-400]", "{\"k\\u00e9\":\"v\"}",
    };
    static const char *const refused[] = {
        "", " ", "3", "\"s\"", "true", "null", "[", "]", "[1,]", "[,1]", "{\"a\":1,}",
        "{\"a\" 1}", "{a:1}", "[1 2]", "[01]", "[-]", "[+1]", "[.5]", "[1.]", "[1e]", "[1e+]",
        "[NaN]", "[Infinity]", "[-Infinity]", "[tru]", "[nul]", "[1]x", "[1] [2]",
        "{\"a\":1,\"a\":2}", "{\"a\":{},\"b\":1,\"a\":null}", "[9223372036854775808]",
        "[-9223372036854775809]", "[1e999]", "[-1e999]", "[\"\\u0000\"]", "[\"a\x01\"]",
        "[\"\\x\"]", "[\"\\u12\"]", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]",
        "[\"\xff\"]", "[\"\xc0\xaf\"]", "[\"\xe0\x80\xaf\"]", "[\"\xed\xa0\x80\"]",
        "[\"\xf4\x90\x80\x80\"]", "[\"\xc3\"]", "[\"abc", "{\"a\":", "{\"a\"", "[\"\t\"]",
    };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        assert_int_equal(agree_s(accepted[i]), 1);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(agree_s(refused[i]), 0);
    /* A NUL byte inside the length is refused wherever it is. (jansson 2.14 takes one after a
     * number for the end of the text: "[123\0]" parses as [123]; RFC 8259 has no such rule.) */
    assert_int_equal(agree("[1]\0", 4), 0);
    assert_int_equal(agree("[\"a\0b\"]", 7), 0);
    sv_json_perr e;
    assert_null(sv_json_parse("[123\0]", 6, &e));
    assert_null(sv_json_parse("{\"a\":1\0}", 8, &e));
}

/* Nesting: JSON_PARSER_MAX_DEPTH levels are accepted, one more is refused. */
static void test_parse_depth(void **state)
{
    (void)state;
    enum { D = JSON_PARSER_MAX_DEPTH + 1 };
    char *t = malloc(2 * D + 1);
    assert_non_null(t);
    for (int depth = D - 1; depth <= D; depth++) {
        memset(t, '[', (size_t)depth);
        memset(t + depth, ']', (size_t)depth);
        assert_int_equal(agree(t, 2 * (size_t)depth), depth <= JSON_PARSER_MAX_DEPTH);
    }
    free(t);
}

/* The error position: line and column of the offending byte. */
static void test_parse_error_position(void **state)
{
    (void)state;
    sv_json_perr e;
    assert_null(sv_json_parse("{\n  \"a\": 1,\n  \"b\": x\n}", 22, &e));
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, 8);
    assert_string_equal(e.text, "invalid token");
    assert_null(sv_json_parse("{\"a\":1,\"a\":2}", 13, &e));
    assert_string_equal(e.text, "duplicate object key");
    assert_int_equal(e.column, 8);
}

/* Random documents: nested arrays and objects of numbers printed several ways, strings with
 * escapes and multi-byte characters, some of them corrupted by one byte. */
static void gen(sv_rng *r, char *o, size_t *k, size_t cap, int depth)
{
    if (*k + 64 > cap)
        return;
    int t = (int)sv_rng_below(r, depth > 4 ? 4 : 7);
    switch (t) {
    case 0: {
        double d = (sv_rng_uniform(r) - 0.5) * pow(10.0, (double)(int)sv_rng_below(r, 60) - 30);
        *k += (size_t)snprintf(o + *k, cap - *k, sv_rng_below(r, 2) ? "%.17g" : "%.6e", d);
        break;
    }
    case 1:
        *k += (size_t)snprintf(o + *k, cap - *k, "%lld",
                               (long long)(sv_rng_next(r) >> sv_rng_below(r, 64)));
        break;
    case 2: {
        static const char *const parts[] = {"ab", "\\n", "\\u00e9", "\xc3\xa9", "\\ud83d\\ude00",
                                            "\xf0\x9f\x98\x80", " ", "\\\"", "z"};
        o[(*k)++] = '"';
        int n = (int)sv_rng_below(r, 5);
        for (int i = 0; i < n; i++)
            *k += (size_t)snprintf(o + *k, cap - *k, "%s", parts[sv_rng_below(r, 9)]);
        o[(*k)++] = '"';
        break;
    }
    case 3:
        *k += (size_t)snprintf(o + *k, cap - *k, "%s",
                               (const char *[]){"true", "false", "null"}[sv_rng_below(r, 3)]);
        break;
    case 4:
    case 5: {
        o[(*k)++] = '[';
        int n = (int)sv_rng_below(r, 5);
        for (int i = 0; i < n; i++) {
            if (i)
                o[(*k)++] = ',';
            gen(r, o, k, cap, depth + 1);
        }
        o[(*k)++] = ']';
        break;
    }
    default: {
        o[(*k)++] = '{';
        int n = (int)sv_rng_below(r, 4);
        for (int i = 0; i < n; i++) {
            if (i)
                o[(*k)++] = ',';
            *k += (size_t)snprintf(o + *k, cap - *k, "\"k%d\":", (int)sv_rng_below(r, 6));
            gen(r, o, k, cap, depth + 1);
        }
        o[(*k)++] = '}';
        break;
    }
    }
}

static void test_parse_random(void **state)
{
    (void)state;
    sv_rng r;
    sv_rng_seed(&r, 77);
    enum { CAP = 8192 };
    char *o = malloc(CAP);
    assert_non_null(o);
    int accepted = 0, refused = 0;
    for (int it = 0; it < 20000; it++) {
        size_t k = 0;
        o[k++] = '[';
        gen(&r, o, &k, CAP - 8, 0);
        o[k++] = ']';
        if (sv_rng_below(&r, 3) == 0 && k > 2) { /* corrupt one byte */
            size_t at = sv_rng_below(&r, k);
            o[at] = "\"{}[],:x\\\x80\x01 0"[sv_rng_below(&r, 13)];
        }
        if (agree(o, k))
            accepted++;
        else
            refused++;
    }
    /* both kinds were exercised */
    assert_true(accepted > 10000 && refused > 1000);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_hard_cases),  cmocka_unit_test(test_decimal_random),
        cmocka_unit_test(test_parse_documents),     cmocka_unit_test(test_parse_depth),
        cmocka_unit_test(test_parse_error_position), cmocka_unit_test(test_parse_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
