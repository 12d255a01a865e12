/* test_expr_problem.c - the JSON decoder of `expr` problems (api/expr_problem.c): the
 * shapes docs/expr.md proposes (variables in document order, bounds as number / array / null,
 * start, x0, the array shorthand of the Hock-Schittkowski data), what a solver may refuse
 * (inequalities, bounds), and every class of malformed input with the JSON path it is reported at
 * and, for strings that do not compile, the character position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/expr_problem.h"
#include "support/json.h"

static const sv_codec_env env = {1000, 1000000, NULL};

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

static sv_expr_problem *decode_ok(const char *text, const sv_expr_problem_opts *o)
{
    json_t *v = sv_test_json(text);
    sv_expr_problem *p = NULL;
    sv_err e = {{0}, {0}};
    int rc = sv_expr_problem_decode(v, &env, o, &p, &e, NULL);
    if (rc != SV_OK)
        fail_msg("should decode but %s: %s\n  %s", e.field, e.msg, text);
    json_decref(v);
    assert_non_null(p);
    return p;
}

/* Decoding fails at `field`; for an error inside a string, pos >= 0 is its position, code its
 * class and the message reads "at <pos>: ..."; msg_part (may be NULL) must appear in the message. */
static void expect_error_o(const char *text, const sv_expr_problem_opts *o, const char *field,
                           int pos, sv_expr_errcode code, const char *msg_part)
{
    json_t *v = sv_test_json(text);
    sv_expr_problem *p = (sv_expr_problem *)&p;  /* must be reset to NULL */
    sv_err e = {{0}, {0}};
    sv_expr_error where;
    int rc = sv_expr_problem_decode(v, &env, o, &p, &e, &where);
    if (rc != SV_EINVAL)
        fail_msg("expected a failure at %s, got rc %d for %s", field, rc, text);
    assert_null(p);
    if (strcmp(e.field, field) != 0)
        fail_msg("expected field %s, got %s (%s) for %s", field, e.field, e.msg, text);
    if (msg_part && !strstr(e.msg, msg_part))
        fail_msg("message '%s' lacks '%s' (%s)", e.msg, msg_part, text);
    if (pos >= 0) {
        char head[32];
        snprintf(head, sizeof head, "at %d: ", pos);
        if (strncmp(e.msg, head, strlen(head)) != 0)
            fail_msg("message '%s' should start with '%s' (%s)", e.msg, head, text);
        if (where.pos != pos || where.code != code)
            fail_msg("position %d code %d, expected %d and %d (%s: %s)", where.pos,
                     (int)where.code, pos, (int)code, text, e.msg);
    } else {
        assert_int_equal(where.code, SV_EXPR_OK);
    }
    /* the checker agrees with the decoder */
    sv_err e2 = {{0}, {0}};
    assert_int_equal(sv_expr_problem_check(v, &env, o, &e2, NULL), SV_EINVAL);
    assert_string_equal(e2.field, e.field);
    assert_string_equal(e2.msg, e.msg);
    json_decref(v);
}

static void expect_error(const char *text, const char *field, const char *msg_part)
{
    expect_error_o(text, NULL, field, -1, SV_EXPR_OK, msg_part);
}

/* An expression error: the string `src` as objective / equality / inequality of a problem over
 * x, y (scalars), v (size 3), w (size 2). */
static void expect_expr_error(const char *where_key, int index, const char *src, int pos,
                              sv_expr_errcode code, const char *msg_part)
{
    char text[4096], field[96];
    json_t *s = json_string(src);
    char *quoted = json_dumps(s, JSON_ENCODE_ANY);
    const char *vars = "\"variables\": {\"x\": {}, \"y\": {}, \"v\": {\"size\": 3}, "
                       "\"w\": {\"size\": 2}}";
    if (strcmp(where_key, "objective") == 0) {
        snprintf(text, sizeof text, "{%s, \"objective\": %s}", vars, quoted);
        snprintf(field, sizeof field, "/problem/objective");
    } else {
        /* index - 1 good strings before the bad one */
        char list[2048] = "";
        for (int i = 0; i < index; i++)
            strcat(list, "\"x + y\", ");
        snprintf(text, sizeof text, "{%s, \"objective\": \"x\", \"%s\": [%s%s]}", vars, where_key,
                 list, quoted);
        snprintf(field, sizeof field, "/problem/%s/%d", where_key, index);
    }
    expect_error_o(text, NULL, field, pos, code, msg_part);
    free(quoted);
    json_decref(s);
}

/* ============================================================================================
 * Accepted shapes
 * ========================================================================================== */

static void test_docs_example(void **state)
{
    (void)state;
    sv_expr_problem *p = decode_ok(
        "{\"variables\": {\"x\": {\"size\": 2, \"lower\": -5, \"upper\": 5, \"start\": [-1, 1]},"
        "                 \"t\": {\"lower\": 0}},"
        " \"objective\": \"sum((x - 1)^2) + t\","
        " \"equalities\": [\"x[0]^2 + x[1]^2 = 2\"],"
        " \"inequalities\": [\"x[0] - x[1] <= t\"]}",
        NULL);
    assert_int_equal(sv_expr_problem_dim(p), 3);
    assert_int_equal(sv_expr_problem_n_vars(p), 2);
    assert_string_equal(sv_expr_problem_var_name(p, 0), "x");
    assert_string_equal(sv_expr_problem_var_name(p, 1), "t");
    assert_int_equal(sv_expr_problem_var_offset(p, 1), 2);
    assert_int_equal(sv_expr_problem_n_eq(p), 1);
    assert_int_equal(sv_expr_problem_n_ineq(p), 1);
    const double *lo = sv_expr_problem_lower(p), *up = sv_expr_problem_upper(p);
    const double *x0 = sv_expr_problem_start(p);
    assert_true(lo[0] == -5 && lo[1] == -5 && lo[2] == 0);
    assert_true(up[0] == 5 && up[1] == 5 && isinf(up[2]) && up[2] > 0);
    assert_true(x0[0] == -1 && x0[1] == 1 && x0[2] == 0);
    /* f(-1, 1, 0) = 4 + 0 + 0; c = 1 + 1 - 2 = 0; h = -1 - 1 - 0 = -2 */
    double x[3] = {-1, 1, 0}, c, h;
    assert_true(fabs(sv_expr_problem_f(p, x) - 4.0) < 1e-15);
    sv_expr_problem_eq(p, x, &c);
    sv_expr_problem_ineq(p, x, &h);
    assert_true(fabs(c) < 1e-15 && fabs(h + 2.0) < 1e-15);
    sv_expr_problem_free(p);
}

static void test_order_bounds_start(void **state)
{
    (void)state;
    /* Document order, not alphabetical: b first. Bounds with null elements; the default start is
     * 0 moved into the bounds. */
    sv_expr_problem *p = decode_ok(
        "{\"variables\": {\"b\": {\"lower\": [1]}, \"a\": {\"size\": 3, \"lower\": [null, 2, -1],"
        "                 \"upper\": [-3, null, 4]}, \"c\": {}, \"d\": null},"
        " \"objective\": \"b + sum(a) + c + d\"}",
        NULL);
    assert_int_equal(sv_expr_problem_dim(p), 6);
    assert_string_equal(sv_expr_problem_var_name(p, 0), "b");
    assert_string_equal(sv_expr_problem_var_name(p, 1), "a");
    assert_int_equal(sv_expr_problem_var_find(p, "c"), 2);
    assert_int_equal(sv_expr_problem_var_offset(p, 2), 4);
    const double *lo = sv_expr_problem_lower(p), *up = sv_expr_problem_upper(p);
    const double *s = sv_expr_problem_start(p);
    double want_lo[6] = {1, -INFINITY, 2, -1, -INFINITY, -INFINITY};
    double want_up[6] = {INFINITY, -3, INFINITY, 4, INFINITY, INFINITY};
    double want_s[6] = {1, -3, 2, 0, 0, 0};
    for (int i = 0; i < 6; i++) {
        assert_true(lo[i] == want_lo[i]);
        assert_true(up[i] == want_up[i]);
        assert_true(s[i] == want_s[i]);
    }
    json_t *vals = sv_expr_problem_values_json(p, s);
    char *txt = json_dumps(vals, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(txt, "{\"b\":1.0,\"a\":[-3.0,2.0,0.0],\"c\":0.0,\"d\":0.0}");
    free(txt);
    json_decref(vals);
    sv_expr_problem_free(p);
}

static void test_x0_and_shorthand(void **state)
{
    (void)state;
    /* The Hock-Schittkowski shape: an array of names and a flat x0. */
    sv_expr_problem *p = decode_ok(
        "{\"variables\": [\"x1\", \"x2\"], \"objective\": \"log(1+x1^2)-x2\","
        " \"equalities\": [\"(1+x1^2)^2+x2^2-4\"], \"x0\": [2, 2]}",
        NULL);
    const double *s = sv_expr_problem_start(p);
    assert_true(s[0] == 2 && s[1] == 2);
    assert_true(isinf(sv_expr_problem_lower(p)[1]));
    double c;
    sv_expr_problem_eq(p, s, &c);
    assert_true(fabs(c - (25.0 + 4.0 - 4.0)) < 1e-14);
    sv_expr_problem_free(p);

    /* x0 overrides the per-variable start; a scalar start fills a vector. */
    p = decode_ok("{\"variables\": {\"v\": {\"size\": 2, \"start\": 3}, \"t\": {\"start\": 1}},"
                  " \"objective\": \"dot(v, v) + t\", \"x0\": [4, 5, 6]}",
                  NULL);
    s = sv_expr_problem_start(p);
    assert_true(s[0] == 4 && s[1] == 5 && s[2] == 6);
    sv_expr_problem_free(p);
    p = decode_ok("{\"variables\": {\"v\": {\"size\": 2, \"start\": 3}}, \"objective\": \"sum(v)\"}",
                  NULL);
    s = sv_expr_problem_start(p);
    assert_true(s[0] == 3 && s[1] == 3);
    assert_false(sv_expr_problem_n_eq(p));
    sv_expr_problem_free(p);

    /* empty and null constraint lists */
    p = decode_ok("{\"variables\": [\"x\"], \"objective\": \"x^2\", \"equalities\": [],"
                  " \"inequalities\": null}",
                  NULL);
    assert_int_equal(sv_expr_problem_n_eq(p), 0);
    assert_int_equal(sv_expr_problem_n_ineq(p), 0);
    sv_expr_problem_free(p);
}

static void test_options(void **state)
{
    (void)state;
    sv_expr_problem_opts o;
    sv_expr_problem_opts_default(&o);
    o.allow_inequalities = 0;
    o.allow_bounds = 0;
    o.solver = "constrained.eal_sketch";
    static const char *const extra[] = {"multipliers", NULL};
    o.extra_keys = extra;

    /* what the solver can take passes: null and all-null bounds are unbounded */
    sv_expr_problem *p = decode_ok(
        "{\"variables\": {\"x\": {\"size\": 2, \"lower\": null, \"upper\": [null, null]}},"
        " \"objective\": \"sum(x^2)\", \"equalities\": [\"x[0] = 1\"], \"inequalities\": [],"
        " \"multipliers\": [0]}",
        &o);
    sv_expr_problem_free(p);

    expect_error_o("{\"variables\": [\"x\"], \"objective\": \"x\", \"inequalities\": [\"x <= 1\"]}",
                   &o, "/problem/inequalities", -1, SV_EXPR_OK, "constrained.eal_sketch");
    expect_error_o("{\"variables\": {\"x\": {\"lower\": 0}}, \"objective\": \"x\"}", &o,
                   "/problem/variables/x/lower", -1, SV_EXPR_OK, "no bounds");
    expect_error_o("{\"variables\": {\"x\": {\"size\": 2, \"upper\": [null, 3]}}, "
                   "\"objective\": \"sum(x)\"}",
                   &o, "/problem/variables/x/upper/1", -1, SV_EXPR_OK, "no bounds");
    /* the extra key is only allowed when declared */
    expect_error("{\"variables\": [\"x\"], \"objective\": \"x\", \"multipliers\": [0]}",
                 "/problem/multipliers", "unknown field");

    /* objective optional: absent and null both mean f = 0 */
    o.objective_optional = 1;
    p = decode_ok("{\"variables\": [\"x\"], \"equalities\": [\"x - 1\"]}", &o);
    assert_false(sv_expr_problem_has_objective(p));
    sv_expr_problem_free(p);
    p = decode_ok("{\"variables\": [\"x\"], \"objective\": null, \"equalities\": [\"x - 1\"]}", &o);
    assert_false(sv_expr_problem_has_objective(p));
    sv_expr_problem_free(p);
    expect_error("{\"variables\": [\"x\"], \"equalities\": [\"x - 1\"]}", "/problem/objective",
                 "required");
}

/* ============================================================================================
 * Malformed input: the shape
 * ========================================================================================== */

static void test_shape_errors(void **state)
{
    (void)state;
    expect_error("[1, 2]", "/problem", "expected an object");
    expect_error("{\"variables\": [\"x\"], \"objective\": \"x\", \"foo\": 1}", "/problem/foo",
                 "unknown field");
    expect_error("{\"objective\": \"x\"}", "/problem/variables", "required");
    expect_error("{\"variables\": 3, \"objective\": \"x\"}", "/problem/variables",
                 "expected an object");
    expect_error("{\"variables\": {}, \"objective\": \"1\"}", "/problem/variables",
                 "at least one");
    expect_error("{\"variables\": [], \"objective\": \"1\"}", "/problem/variables",
                 "at least one");
    /* names */
    expect_error("{\"variables\": {\"2x\": {}}, \"objective\": \"1\"}", "/problem/variables/2x",
                 "not an identifier");
    expect_error("{\"variables\": {\"a/b\": {}}, \"objective\": \"1\"}",
                 "/problem/variables/a~1b", "not an identifier");
    expect_error("{\"variables\": {\"\": {}}, \"objective\": \"1\"}", "/problem/variables/",
                 "empty");
    expect_error("{\"variables\": {\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "\": {}}, \"objective\": \"1\"}",
                 "/problem/variables/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 "longer than 64");
    expect_error("{\"variables\": {\"exp\": {}}, \"objective\": \"1\"}", "/problem/variables/exp",
                 "function or constant");
    expect_error("{\"variables\": {\"x\": {}, \"pi\": {}}, \"objective\": \"x\"}",
                 "/problem/variables/pi", "function or constant");
    expect_error("{\"variables\": [\"x\", \"e\"], \"objective\": \"x\"}", "/problem/variables/1",
                 "function or constant");
    expect_error("{\"variables\": [\"x\", \"y\", \"x\"], \"objective\": \"x\"}",
                 "/problem/variables/2", "declared twice");
    expect_error("{\"variables\": [\"x\", 3], \"objective\": \"x\"}", "/problem/variables/1",
                 "expected a variable name");
    /* declarations */
    expect_error("{\"variables\": {\"x\": 3}, \"objective\": \"x\"}", "/problem/variables/x",
                 "expected an object");
    expect_error("{\"variables\": {\"x\": {\"sise\": 2}}, \"objective\": \"x\"}",
                 "/problem/variables/x/sise", "unknown field");
    expect_error("{\"variables\": {\"x\": {\"size\": 0}}, \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/size", "out of range");
    expect_error("{\"variables\": {\"x\": {\"size\": 1.5}}, \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/size", "integer");
    expect_error("{\"variables\": {\"x\": {\"size\": \"2\"}}, \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/size", "integer");
    expect_error("{\"variables\": {\"x\": {\"size\": 2000}}, \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/size", "out of range");
    expect_error("{\"variables\": {\"x\": {\"size\": 600}, \"y\": {\"size\": 600}},"
                 " \"objective\": \"sum(x)\"}",
                 "/problem/variables/y/size", "limit is 1000");
    /* bounds */
    expect_error("{\"variables\": {\"x\": {\"lower\": \"a\"}}, \"objective\": \"x\"}",
                 "/problem/variables/x/lower", "expected a number");
    expect_error("{\"variables\": {\"x\": {\"size\": 2, \"lower\": [1]}}, \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/lower", "expected 2 entries");
    expect_error("{\"variables\": {\"x\": {\"size\": 2, \"upper\": [1, true]}},"
                 " \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/upper/1", "expected a number or null");
    expect_error("{\"variables\": {\"x\": {\"lower\": 3, \"upper\": 2}}, \"objective\": \"x\"}",
                 "/problem/variables/x/lower", "lower bound 3 exceeds upper bound 2");
    expect_error("{\"variables\": {\"x\": {\"size\": 2, \"lower\": [0, 3], \"upper\": 2}},"
                 " \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/lower/1", "lower bound 3 exceeds upper bound 2");
    /* start */
    expect_error("{\"variables\": {\"x\": {\"size\": 2, \"lower\": 0, \"upper\": 1, "
                 "\"start\": [7, 0]}}, \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/start/0", "start 7 is outside the bounds [0, 1]");
    expect_error("{\"variables\": {\"x\": {\"lower\": 0, \"start\": -0.5}}, \"objective\": \"x\"}",
                 "/problem/variables/x/start", "outside the bounds");
    expect_error("{\"variables\": {\"x\": {\"size\": 2, \"start\": [1]}}, \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/start", "expected 2 entries");
    expect_error("{\"variables\": {\"x\": {\"size\": 2, \"start\": [1, null]}},"
                 " \"objective\": \"sum(x)\"}",
                 "/problem/variables/x/start/1", "expected a number");
    expect_error("{\"variables\": {\"x\": {\"start\": \"0\"}}, \"objective\": \"x\"}",
                 "/problem/variables/x/start", "expected a number");
    /* x0 */
    expect_error("{\"variables\": [\"x\", \"y\"], \"objective\": \"x\", \"x0\": [1]}",
                 "/problem/x0", "expected 2 entries");
    expect_error("{\"variables\": [\"x\", \"y\"], \"objective\": \"x\", \"x0\": [1, \"2\"]}",
                 "/problem/x0/1", "expected a number");
    expect_error("{\"variables\": [\"x\", \"y\"], \"objective\": \"x\", \"x0\": {}}", "/problem/x0",
                 "expected an array");
    expect_error("{\"variables\": {\"x\": {}, \"v\": {\"size\": 2, \"upper\": [5, 0]}},"
                 " \"objective\": \"x\", \"x0\": [9, 1, 1]}",
                 "/problem/x0/2", "outside the bounds [-inf, 0] of v[1]");
    /* strings */
    expect_error("{\"variables\": [\"x\"]}", "/problem/objective", "required");
    expect_error("{\"variables\": [\"x\"], \"objective\": 3}", "/problem/objective",
                 "expected an expression string");
    expect_error("{\"variables\": [\"x\"], \"objective\": \"x\", \"equalities\": \"x = 1\"}",
                 "/problem/equalities", "expected an array");
    expect_error("{\"variables\": [\"x\"], \"objective\": \"x\", \"equalities\": [\"x\", 1]}",
                 "/problem/equalities/1", "expected an expression string");
    expect_error("{\"variables\": [\"x\"], \"objective\": \"x\", \"inequalities\": [null]}",
                 "/problem/inequalities/0", "expected an expression string");
}

/* ============================================================================================
 * Malformed input: inside the strings (docs/expr.md, "Error messages")
 * ========================================================================================== */

static void test_expression_errors(void **state)
{
    (void)state;
    expect_expr_error("objective", 0, "x + $", 4, SV_EXPR_ECHAR, "unexpected character '$'");
    expect_expr_error("inequalities", 0, "x < 1", 2, SV_EXPR_ECHAR, "strict inequalities");
    expect_expr_error("objective", 0, "x + \xc3\xa9", 4, SV_EXPR_ECHAR, "non-ASCII");
    expect_expr_error("objective", 0, "(x + 1", 0, SV_EXPR_EPAREN, "never closed");
    expect_expr_error("equalities", 2, "x + 1)", 5, SV_EXPR_EPAREN, "without a matching");
    expect_expr_error("objective", 0, "exp(x", 3, SV_EXPR_EPAREN, "exp(");
    expect_expr_error("objective", 0, "v[1", 1, SV_EXPR_EPAREN, "bracket");
    expect_expr_error("objective", 0, "x + zz*2", 4, SV_EXPR_ENAME, "unknown name 'zz'");
    expect_expr_error("equalities", 0, "foo(x)", 0, SV_EXPR_EFUNC, "unknown function 'foo'");
    expect_expr_error("objective", 0, "x(2)", 0, SV_EXPR_EFUNC, "is a variable");
    expect_expr_error("equalities", 1, "exp(x, y)", 0, SV_EXPR_EARITY,
                      "exp() takes 1 argument, got 2");
    expect_expr_error("objective", 0, "dot(v)", 0, SV_EXPR_EARITY, "takes 2 arguments");
    expect_expr_error("objective", 0, "sum(v + w)", 6, SV_EXPR_ESIZE, "size 3");
    expect_expr_error("inequalities", 1, "dot(v, w)", 0, SV_EXPR_ESIZE, "same size");
    expect_expr_error("objective", 0, "v + y", 0, SV_EXPR_ESIZE, "must be a scalar");
    expect_expr_error("objective", 0, "v[3]", 2, SV_EXPR_EINDEX, "out of range");
    expect_expr_error("objective", 0, "v[-1]", 2, SV_EXPR_EINDEX, "non-negative");
    expect_expr_error("objective", 0, "x y", 2, SV_EXPR_ETRAILING, "trailing input");
    expect_expr_error("equalities", 0, "2x", 1, SV_EXPR_ETRAILING, "missing an operator");
    expect_expr_error("objective", 0, "   ", 0, SV_EXPR_EEMPTY, "empty expression");
    expect_expr_error("objective", 0, "", 0, SV_EXPR_EEMPTY, "empty expression");
    expect_expr_error("objective", 0, "x +", 3, SV_EXPR_ESYNTAX, "end of the expression");
    expect_expr_error("objective", 0, "x**2", 2, SV_EXPR_ESYNTAX, "x^2");
    expect_expr_error("objective", 0, "(x y)", 3, SV_EXPR_ESYNTAX, "expected an operator");
    expect_expr_error("objective", 0, "exp + 1", 0, SV_EXPR_ESYNTAX, "parentheses");
    expect_expr_error("objective", 0, "x = 1", 2, SV_EXPR_ESYNTAX, "only allowed in a constraint");
    expect_expr_error("objective", 0, "1e", 0, SV_EXPR_ENUMBER, "no digits");
    expect_expr_error("objective", 0, "1e400", 0, SV_EXPR_ENUMBER, "too large");
    expect_expr_error("inequalities", 0, "x = 1", 2, SV_EXPR_ESYNTAX, NULL);
    expect_expr_error("equalities", 0, "x <= 1", 2, SV_EXPR_ESYNTAX, NULL);
    expect_expr_error("equalities", 0, "x = 1 = 2", 6, SV_EXPR_ETRAILING, NULL);

    char deep[512];
    int k = 0;
    for (int i = 0; i < 201; i++)
        deep[k++] = '(';
    deep[k++] = 'x';
    for (int i = 0; i < 201; i++)
        deep[k++] = ')';
    deep[k] = '\0';
    expect_expr_error("objective", 0, deep, 200, SV_EXPR_ELIMIT, "200 levels");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_example),
        cmocka_unit_test(test_order_bounds_start),
        cmocka_unit_test(test_x0_and_shorthand),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_expression_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
