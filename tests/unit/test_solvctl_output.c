/* test_solvctl_output.c - solvctl's number texts, JSON writer, member picking, durations and
 * progress line (clients/solvctl/output.c, term.c), against hand-checked texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "term.h"

static void expect_num(double d, int json_real, const char *want)
{
    char buf[40];
    sc_fmt_double(d, json_real, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        fail_msg("%.17g printed as %s, wanted %s", d, buf, want);
}

static void test_fmt_double(void **state)
{
    (void)state;
    /* The two texts of the issue: %.17g gives 9.9999999999999995e-07 and 108.14540647299999. */
    expect_num(1e-6, 0, "1e-6");
    expect_num(108.145406473, 0, "108.145406473");
    expect_num(0.1, 0, "0.1");
    expect_num(1.0 / 3.0, 0, "0.3333333333333333");        /* needs 16 digits */
    expect_num(0.1 + 0.2, 0, "0.30000000000000004");       /* needs 17 */
    expect_num(1e21, 0, "1e+21");
    expect_num(-2.5e-300, 0, "-2.5e-300");
    expect_num(1765600.0, 0, "1765600");
    expect_num(1765600.0, 1, "1765600.0");   /* JSON: still a real */
    expect_num(1e-6, 1, "1e-6");
    expect_num(0.0, 1, "0.0");
}

/* Over many doubles of every magnitude: the text reads back equal, and when it has 16 or 17
 * digits, %.15g (and %.16g for 17) did not. */
static void test_fmt_double_round_trips(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        if (d != d || d - d != 0)
            continue;   /* NaN, inf */
        char buf[40], ref[40];
        sc_fmt_double(d, 0, buf, sizeof buf);
        snprintf(ref, sizeof ref, "%.17g", d);
        if (strtod(buf, NULL) != d)
            fail_msg("%s does not read back as %s", buf, ref);
        for (int prec = 15; prec <= 16; prec++) {
            char shorter[40];
            snprintf(shorter, sizeof shorter, "%.*g", prec, d);
            if (strtod(shorter, NULL) == d) {
                char *e = strchr(shorter, 'e');
                /* the same digits as buf (buf only drops the exponent's zeros) */
                assert_int_equal(strncmp(shorter, buf, e ? (size_t)(e - shorter) : strlen(buf)), 0);
                break;
            }
        }
    }
}

static char *dump(const json_t *v, int indent)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sc_json_write(f, v, indent);
    fclose(f);
    return buf;
}

static void test_json_write(void **state)
{
    (void)state;
    json_t *v = json_loads("{\"a\":1e-6,\"b\":[1,2.0,\"x\\\"y\"],\"c\":{},\"d\":[],\"e\":null,"
                           "\"f\":true,\"g\":108.14540647299999}",
                           0, NULL);
    assert_non_null(v);
    char *s = dump(v, 0);
    assert_string_equal(s, "{\"a\":1e-6,\"b\":[1,2.0,\"x\\\"y\"],\"c\":{},\"d\":[],\"e\":null,"
                           "\"f\":true,\"g\":108.145406473}\n");
    json_t *back = json_loads(s, 0, NULL);
    assert_true(json_equal(back, v));   /* same values, same types */
    json_decref(back);
    free(s);
    s = dump(json_object_get(v, "b"), 2);
    assert_string_equal(s, "[\n  1,\n  2.0,\n  \"x\\\"y\"\n]\n");
    free(s);
    json_decref(v);
}

static void test_pick_and_print(void **state)
{
    (void)state;
    json_t *v = json_loads("{\"status\":\"solved\",\"objective\":0.5,\"s\":{\"L\":2.5,\"M\":3},"
                           "\"x\":[1.5,2]}",
                           0, NULL);
    assert_true(json_real_value(sc_json_path(v, "s.L")) == 2.5);
    assert_true(json_real_value(sc_json_path(v, "x.0")) == 1.5);
    assert_null(sc_json_path(v, "s.N"));
    assert_null(sc_json_path(v, "status.x"));
    assert_null(sc_json_path(v, "s..L"));
    char *paths[] = {"objective", "s.L", "nope"};
    const char *missing = NULL;
    assert_null(sc_pick(v, paths, 3, &missing));
    assert_string_equal(missing, "nope");
    json_t *p = sc_pick(v, paths, 2, &missing);
    char *s = dump(p, 0);
    assert_string_equal(s, "{\"objective\":0.5,\"s.L\":2.5}\n");
    free(s);
    json_decref(p);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sc_print_object(f, v, SC_OUT_FIELDS);
    fclose(f);
    assert_string_equal(buf, "status\tsolved\nobjective\t0.5\ns.L\t2.5\ns.M\t3\nx\t[1.5,2]\n");
    free(buf);
    f = open_memstream(&buf, &len);
    sc_print_object(f, v, SC_OUT_TABLE);
    fclose(f);
    assert_string_equal(buf, "status     solved\nobjective  0.5\ns.L        2.5\ns.M        3\n"
                             "x          [1.5,2]\n");
    free(buf);
    char *t = sc_value_text(json_object_get(v, "status"));
    assert_string_equal(t, "solved");
    free(t);
    t = sc_value_text(NULL);
    assert_string_equal(t, "-");
    free(t);
    json_decref(v);

    sc_output o;
    assert_int_equal(sc_output_parse("fields", &o), 0);
    assert_int_equal(o, SC_OUT_FIELDS);
    assert_int_equal(sc_output_parse("yaml", &o), -1);
}

static void test_duration(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(sc_fmt_duration(0.0123, b, sizeof b), "12ms");
    assert_string_equal(sc_fmt_duration(4.5, b, sizeof b), "4.50s");
    assert_string_equal(sc_fmt_duration(42.25, b, sizeof b), "42.2s");
    assert_string_equal(sc_fmt_duration(83, b, sizeof b), "1m23s");
    assert_string_equal(sc_fmt_duration(7300, b, sizeof b), "2h01m");
    assert_string_equal(sc_fmt_duration(-1, b, sizeof b), "-");
}

static void test_progress_line(void **state)
{
    (void)state;
    json_t *p = json_loads("{\"iteration\":850,\"elapsed_s\":1.5,\"objective\":0.121014460512,"
                           "\"grad_norm\":9.9198e-7,\"bits_sent\":1765600.0}",
                           0, NULL);
    char line[1024];
    for (int w = 10; w <= 300; w++) {
        size_t n = sc_progress_line(p, 20000, w, line, sizeof line);
        assert_int_equal(n, strlen(line));
        if ((int)n > w - 1)
            fail_msg("%zu characters at width %d: %s", n, w, line);
        assert_null(strchr(line, '\n'));
    }
    sc_progress_line(p, 20000, 120, line, sizeof line);
    assert_string_equal(line, "[#.............................]  iter 850/20000  1.50s  "
                              "objective 0.121014460512  grad_norm 9.92e-7");
    sc_progress_line(p, 20000, 200, line, sizeof line);
    assert_string_equal(line, "[#.............................]  iter 850/20000  1.50s  "
                              "objective 0.121014460512  grad_norm 9.92e-7  bits_sent 1.766e+6");
    sc_progress_line(p, 20000, 70, line, sizeof line);   /* a shorter bar */
    assert_string_equal(line, "[#.................]  iter 850/20000  1.50s  objective 0.121014460512");
    assert_int_equal(strlen(line), 69);
    sc_progress_line(p, 20000, 40, line, sizeof line);
    assert_string_equal(line, "850/20000  1.50s  obj 0.121014");
    sc_progress_line(p, 0, 40, line, sizeof line);   /* max_iter unknown */
    assert_string_equal(line, "it 850  1.50s  obj 0.121014");
    sc_progress_line(p, 20000, 12, line, sizeof line);
    assert_string_equal(line, "850/20000");
    json_decref(p);
}

static void test_term_width(void **state)
{
    (void)state;
    setenv("COLUMNS", "57", 1);
    assert_int_equal(sc_term_width(-1), 57);
    setenv("COLUMNS", "abc", 1);
    assert_int_equal(sc_term_width(-1), 80);   /* no terminal on fd -1 */
    setenv("COLUMNS", "5", 1);
    assert_int_equal(sc_term_width(-1), 80);
    unsetenv("COLUMNS");
    assert_int_equal(sc_term_width(-1), 80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_double),     cmocka_unit_test(test_fmt_double_round_trips),
        cmocka_unit_test(test_json_write),     cmocka_unit_test(test_pick_and_print),
        cmocka_unit_test(test_duration),       cmocka_unit_test(test_progress_line),
        cmocka_unit_test(test_term_width),
    };
    return cmocka_run_group_tests_name("solvctl_output", tests, NULL, NULL);
}
