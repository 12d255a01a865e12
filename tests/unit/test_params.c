/* test_params.c - the table-driven parameter schema, decoder and encoder (api/params.h), on a
 * small settings struct that has one field of every kind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "support/json.h"

/* ---- the sample solver's settings ---- */
typedef struct {
    double tol;      /* > 0 */
    double step;     /* (0, 10], NaN = automatic */
    double lambda;   /* [0, 1] */
    long max_iter;   /* [1, 1e6] */
    long shift;      /* unbounded (min == max == 0 in the table) */
    int verbose;
    int method;      /* gd | newton | lbfgs */
    uint64_t seed;
} demo_settings;

static const char *const demo_methods[] = {"gd", "newton", "lbfgs", NULL};

static const sv_param_spec demo_specs[] = {
    SV_P_NUMBER_GT(demo_settings, tol, 0, INFINITY, 1e-6, "stopping tolerance"),
    SV_P_NUMBER_GT(demo_settings, step, 0, 10, NAN, "step size"),
    SV_P_NUMBER(demo_settings, lambda, 0, 1, 0.5, "mixing weight"),
    SV_P_INT(demo_settings, max_iter, 1, 1e6, 1000, "iteration limit"),
    {.name = "shift", .type = SV_PARAM_INT, .offset = offsetof(demo_settings, shift), .def = -3,
     .help = "index shift"},
    SV_P_BOOL(demo_settings, verbose, 0, "more metrics"),
    SV_P_ENUM(demo_settings, method, demo_methods, 2, "search direction"),
    SV_P_SEED(demo_settings, seed, 42, "random seed"),
    SV_PARAMS_END,
};

static void demo_defaults(demo_settings *s)
{
    memset(s, 0, sizeof *s);
    sv_params_defaults(demo_specs, s); /* the table's defaults, then the same by hand: */
    s->tol = 1e-6;
    s->step = NAN;
    s->lambda = 0.5;
    s->max_iter = 1000;
    s->shift = -3;
    s->verbose = 0;
    s->method = 2;
    s->seed = 42;
}

/* Two settings structs hold the same values (NaN equal to NaN). */
static void assert_same_settings(const demo_settings *a, const demo_settings *b)
{
    if (isnan(a->step))
        assert_true(isnan(b->step));
    else
        assert_true(a->step == b->step);
    assert_true(a->tol == b->tol);
    assert_true(a->lambda == b->lambda);
    assert_int_equal(a->max_iter, b->max_iter);
    assert_int_equal(a->shift, b->shift);
    assert_int_equal(a->verbose, b->verbose);
    assert_int_equal(a->method, b->method);
    assert_true(a->seed == b->seed);
}

/* ============================================================================================
 * Schema
 * ========================================================================================== */

static json_t *prop(json_t *schema, const char *name)
{
    json_t *p = json_object_get(json_object_get(schema, "properties"), name);
    assert_non_null(p);
    return p;
}

static void test_schema_shape_and_defaults(void **state)
{
    (void)state;
    demo_settings d;
    demo_defaults(&d);
    json_t *s = sv_params_schema(demo_specs, &d);
    assert_non_null(s);
    assert_string_equal(json_string_value(json_object_get(s, "type")), "object");
    assert_true(json_is_false(json_object_get(s, "additionalProperties")));
    assert_int_equal(json_object_size(json_object_get(s, "properties")), 8);

    json_t *p = prop(s, "tol");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "number");
    assert_true(json_number_value(json_object_get(p, "default")) == 1e-6);
    assert_true(json_number_value(json_object_get(p, "exclusiveMinimum")) == 0);
    assert_null(json_object_get(p, "minimum"));
    assert_null(json_object_get(p, "maximum")); /* infinite: no bound */
    assert_string_equal(json_string_value(json_object_get(p, "description")),
                        "stopping tolerance");

    /* NaN default: nullable, default null, description says automatic. */
    p = prop(s, "step");
    json_t *type = json_object_get(p, "type");
    assert_true(json_is_array(type));
    assert_int_equal(json_array_size(type), 2);
    assert_string_equal(json_string_value(json_array_get(type, 0)), "number");
    assert_string_equal(json_string_value(json_array_get(type, 1)), "null");
    assert_true(json_is_null(json_object_get(p, "default")));
    assert_non_null(strstr(json_string_value(json_object_get(p, "description")), "step size"));
    assert_non_null(strstr(json_string_value(json_object_get(p, "description")), "automatic"));
    assert_true(json_number_value(json_object_get(p, "exclusiveMinimum")) == 0);
    assert_true(json_number_value(json_object_get(p, "maximum")) == 10);

    p = prop(s, "lambda");
    assert_true(json_number_value(json_object_get(p, "default")) == 0.5);
    assert_true(json_number_value(json_object_get(p, "minimum")) == 0);
    assert_true(json_number_value(json_object_get(p, "maximum")) == 1);
    assert_null(json_object_get(p, "exclusiveMinimum"));

    p = prop(s, "max_iter");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "integer");
    assert_true(json_is_integer(json_object_get(p, "default")));
    assert_int_equal(json_integer_value(json_object_get(p, "default")), 1000);
    assert_int_equal(json_integer_value(json_object_get(p, "minimum")), 1);
    assert_int_equal(json_integer_value(json_object_get(p, "maximum")), 1000000);

    p = prop(s, "shift");
    assert_int_equal(json_integer_value(json_object_get(p, "default")), -3);
    assert_null(json_object_get(p, "minimum"));
    assert_null(json_object_get(p, "maximum"));

    p = prop(s, "verbose");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "boolean");
    assert_true(json_is_false(json_object_get(p, "default")));

    p = prop(s, "method");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "string");
    assert_string_equal(json_string_value(json_object_get(p, "default")), "lbfgs");
    json_t *choices = json_object_get(p, "enum");
    assert_int_equal(json_array_size(choices), 3);
    assert_string_equal(json_string_value(json_array_get(choices, 0)), "gd");
    assert_string_equal(json_string_value(json_array_get(choices, 1)), "newton");
    assert_string_equal(json_string_value(json_array_get(choices, 2)), "lbfgs");

    p = prop(s, "seed");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "integer");
    assert_int_equal(json_integer_value(json_object_get(p, "default")), 42);
    assert_int_equal(json_integer_value(json_object_get(p, "minimum")), 0);
    json_decref(s);
}

/* The schema's defaults, fed back to the decoder, reproduce the defaults exactly. */
static void test_schema_defaults_decode_back(void **state)
{
    (void)state;
    demo_settings d, got;
    demo_defaults(&d);
    json_t *s = sv_params_schema(demo_specs, &d);
    json_t *params = json_object();
    const char *name;
    json_t *p;
    json_object_foreach(json_object_get(s, "properties"), name, p)
        json_object_set(params, name, json_object_get(p, "default"));
    demo_defaults(&got);
    got.lambda = 0.25; /* something else, so the decoder must write it */
    got.max_iter = 7;
    got.method = 0;
    sv_err e = {{0}, {0}};
    assert_int_equal(sv_params_decode(demo_specs, params, &got, &e), SV_OK);
    assert_same_settings(&d, &got);
    json_decref(params);
    json_decref(s);
}

/* ============================================================================================
 * Decoder: valid input
 * ========================================================================================== */

static void test_decode_absent_keeps_defaults(void **state)
{
    (void)state;
    const char *texts[] = {"{}", "null"};
    demo_settings d, got;
    demo_defaults(&d);
    sv_err e = {{0}, {0}};
    demo_defaults(&got);
    assert_int_equal(sv_params_decode(demo_specs, NULL, &got, &e), SV_OK);
    assert_same_settings(&d, &got);
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        json_t *p = sv_test_json(texts[k]);
        demo_defaults(&got);
        assert_int_equal(sv_params_decode(demo_specs, p, &got, &e), SV_OK);
        assert_same_settings(&d, &got);
        json_decref(p);
    }
}

static void test_decode_valid_values(void **state)
{
    (void)state;
    json_t *p = sv_test_json("{\"tol\": 1e-8, \"step\": 0.25, \"lambda\": 1, \"max_iter\": 5.0,"
                      " \"shift\": -9000000000, \"verbose\": true, \"method\": \"gd\","
                      " \"seed\": 123456789012345}");
    demo_settings s;
    demo_defaults(&s);
    sv_err e = {{0}, {0}};
    assert_int_equal(sv_params_decode(demo_specs, p, &s, &e), SV_OK);
    assert_true(s.tol == 1e-8);
    assert_true(s.step == 0.25);
    assert_true(s.lambda == 1.0); /* an integer is a number */
    assert_int_equal(s.max_iter, 5); /* an integral real is an integer */
    assert_true(s.shift == -9000000000L);
    assert_int_equal(s.verbose, 1);
    assert_int_equal(s.method, 0);
    assert_true(s.seed == 123456789012345ULL);
    json_decref(p);

    /* Boundary values are inside inclusive ranges. */
    p = sv_test_json("{\"lambda\": 0, \"max_iter\": 1000000, \"step\": 10, \"seed\": 0,"
              " \"method\": \"newton\", \"verbose\": false}");
    demo_defaults(&s);
    s.verbose = 1;
    assert_int_equal(sv_params_decode(demo_specs, p, &s, &e), SV_OK);
    assert_true(s.lambda == 0.0);
    assert_int_equal(s.max_iter, 1000000);
    assert_true(s.step == 10.0);
    assert_true(s.seed == 0);
    assert_int_equal(s.method, 1);
    assert_int_equal(s.verbose, 0);
    json_decref(p);

    /* The largest seed. */
    p = sv_test_json("{\"seed\": 9223372036854775807}");
    assert_int_equal(sv_params_decode(demo_specs, p, &s, &e), SV_OK);
    assert_true(s.seed == 9223372036854775807ULL);
    json_decref(p);
}

/* null for a NUMBER whose default is NaN keeps it automatic. */
static void test_decode_null_keeps_automatic(void **state)
{
    (void)state;
    json_t *p = sv_test_json("{\"step\": null, \"tol\": 0.5}");
    demo_settings s;
    demo_defaults(&s);
    sv_err e = {{0}, {0}};
    assert_int_equal(sv_params_decode(demo_specs, p, &s, &e), SV_OK);
    assert_true(isnan(s.step));
    assert_true(s.tol == 0.5);
    json_decref(p);
}

/* ============================================================================================
 * Decoder: every error class, with the exact path and message
 * ========================================================================================== */

typedef struct {
    const char *params;
    const char *field;
    const char *msg; /* exact */
} bad_case;

static const bad_case bad_cases[] = {
    /* not an object */
    {"[1, 2]", "/params", "expected an object, got an array"},
    {"3", "/params", "expected an object, got an integer"},
    {"\"tol\"", "/params", "expected an object, got a string"},
    /* unknown names, reported before any other error, escaped as JSON pointers */
    {"{\"tolerance\": 1}", "/params/tolerance",
     "unknown parameter (known: tol, step, lambda, max_iter, shift, verbose, method, seed)"},
    {"{\"tol\": -1, \"zz\": 1}", "/params/zz",
     "unknown parameter (known: tol, step, lambda, max_iter, shift, verbose, method, seed)"},
    {"{\"a/b~c\": 1}", "/params/a~1b~0c",
     "unknown parameter (known: tol, step, lambda, max_iter, shift, verbose, method, seed)"},
    /* NUMBER */
    {"{\"tol\": \"1e-6\"}", "/params/tol", "expected a number, got a string"},
    {"{\"tol\": true}", "/params/tol", "expected a number, got a boolean"},
    {"{\"tol\": [1]}", "/params/tol", "expected a number, got an array"},
    {"{\"tol\": null}", "/params/tol", "expected a number, got null"},
    {"{\"tol\": 0}", "/params/tol", "out of range: 0, must be > 0"},
    {"{\"tol\": -1e-3}", "/params/tol", "out of range: -0.001, must be > 0"},
    {"{\"step\": 0}", "/params/step", "out of range: 0, must be in (0, 10]"},
    {"{\"step\": 10.5}", "/params/step", "out of range: 10.5, must be in (0, 10]"},
    {"{\"lambda\": 1.0000001}", "/params/lambda", "out of range: 1.0000001, must be in [0, 1]"},
    {"{\"lambda\": -0.1}", "/params/lambda", "out of range: -0.1, must be in [0, 1]"},
    {"{\"lambda\": 1e308}", "/params/lambda", "out of range: 1e+308, must be in [0, 1]"},
    /* INT */
    {"{\"max_iter\": 2.5}", "/params/max_iter", "expected an integer, got 2.5"},
    {"{\"max_iter\": \"10\"}", "/params/max_iter", "expected an integer, got a string"},
    {"{\"max_iter\": false}", "/params/max_iter", "expected an integer, got a boolean"},
    {"{\"max_iter\": 0}", "/params/max_iter", "out of range: 0, must be in [1, 1000000]"},
    {"{\"max_iter\": 1000001}", "/params/max_iter",
     "out of range: 1000001, must be in [1, 1000000]"},
    {"{\"shift\": 1e300}", "/params/shift", "out of range: 1e+300, must be a 64-bit integer"},
    {"{\"shift\": null}", "/params/shift", "expected an integer, got null"},
    /* BOOL */
    {"{\"verbose\": 1}", "/params/verbose", "expected true or false, got an integer"},
    {"{\"verbose\": \"true\"}", "/params/verbose", "expected true or false, got a string"},
    /* ENUM */
    {"{\"method\": \"sgd\"}", "/params/method",
     "unknown choice \"sgd\", expected one of \"gd\", \"newton\", \"lbfgs\""},
    {"{\"method\": \"GD\"}", "/params/method",
     "unknown choice \"GD\", expected one of \"gd\", \"newton\", \"lbfgs\"; did you mean \"gd\"?"},
    {"{\"method\": 1}", "/params/method",
     "expected a string, one of \"gd\", \"newton\", \"lbfgs\"; got an integer"},
    /* SEED */
    {"{\"seed\": -1}", "/params/seed", "expected a non-negative integer, got -1"},
    {"{\"seed\": 1.5}", "/params/seed", "expected a non-negative integer, got 1.5"},
    {"{\"seed\": \"7\"}", "/params/seed", "expected a non-negative integer, got a string"},
    {"{\"seed\": 1e19}", "/params/seed", "seed too large, the limit is 2^63 - 1"},
    /* table order decides which of two bad values is reported */
    {"{\"seed\": -1, \"tol\": 0}", "/params/tol", "out of range: 0, must be > 0"},
};

static void test_decode_errors(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof bad_cases / sizeof *bad_cases; k++) {
        const bad_case *c = &bad_cases[k];
        json_t *p = sv_test_json(c->params);
        demo_settings before, s;
        demo_defaults(&before);
        demo_defaults(&s);
        sv_err e;
        memset(&e, 0, sizeof e);
        int rc = sv_params_decode(demo_specs, p, &s, &e);
        if (rc != SV_EINVAL || strcmp(e.field, c->field) != 0 || strcmp(e.msg, c->msg) != 0)
            fail_msg("case %zu %s: rc %d field '%s' msg '%s'", k, c->params, rc, e.field, e.msg);
        /* A rejected request leaves the settings as they were. */
        assert_same_settings(&before, &s);
        json_decref(p);
    }
}

/* A partly valid request that fails writes nothing, not even its valid fields. */
static void test_decode_failure_is_atomic(void **state)
{
    (void)state;
    json_t *p = sv_test_json("{\"tol\": 0.125, \"max_iter\": 7, \"seed\": -5}");
    demo_settings before, s;
    demo_defaults(&before);
    demo_defaults(&s);
    sv_err e;
    assert_int_equal(sv_params_decode(demo_specs, p, &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/seed");
    assert_same_settings(&before, &s);
    /* A NULL error struct is allowed. */
    assert_int_equal(sv_params_decode(demo_specs, p, &s, NULL), SV_EINVAL);
    json_decref(p);
}

/* A real that overflows to infinity cannot come from the parser (jansson rejects it), but a
 * program may build one; it is still refused. */
static void test_decode_rejects_huge_literal(void **state)
{
    (void)state;
    json_error_t err;
    json_t *p = json_loads("{\"tol\": 1e999}", 0, &err);
    if (p) {
        demo_settings s;
        demo_defaults(&s);
        sv_err e;
        assert_int_equal(sv_params_decode(demo_specs, p, &s, &e), SV_EINVAL);
        assert_string_equal(e.field, "/params/tol");
        json_decref(p);
    }
}

/* ============================================================================================
 * Encoder and table check
 * ========================================================================================== */

static void test_encode_values(void **state)
{
    (void)state;
    demo_settings s;
    demo_defaults(&s);
    json_t *o = sv_params_encode(demo_specs, &s);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 8);
    assert_true(json_is_null(json_object_get(o, "step"))); /* NaN -> null */
    assert_true(json_number_value(json_object_get(o, "tol")) == 1e-6);
    assert_true(json_number_value(json_object_get(o, "lambda")) == 0.5);
    assert_int_equal(json_integer_value(json_object_get(o, "max_iter")), 1000);
    assert_int_equal(json_integer_value(json_object_get(o, "shift")), -3);
    assert_true(json_is_false(json_object_get(o, "verbose")));
    assert_string_equal(json_string_value(json_object_get(o, "method")), "lbfgs");
    assert_int_equal(json_integer_value(json_object_get(o, "seed")), 42);
    json_decref(o);
}

/* encode then decode is the identity, including NaN and extreme values. */
static void test_encode_decode_round_trip(void **state)
{
    (void)state;
    demo_settings s, got;
    demo_defaults(&s);
    s.tol = 0.1; /* not exact in binary: must survive the text round trip */
    s.step = 7.25;
    s.lambda = 1.0 / 3.0;
    s.max_iter = 999999;
    s.shift = -(1L << 40);
    s.verbose = 1;
    s.method = 1;
    s.seed = 9223372036854775807ULL;
    for (int round = 0; round < 2; round++) {
        json_t *o = sv_params_encode(demo_specs, &s);
        char *text = json_dumps(o, 0);
        json_t *back = sv_test_json(text);
        demo_defaults(&got);
        sv_err e;
        assert_int_equal(sv_params_decode(demo_specs, back, &got, &e), SV_OK);
        assert_same_settings(&s, &got);
        free(text);
        json_decref(back);
        json_decref(o);
        demo_defaults(&s); /* second round: the defaults, NaN included */
    }
}

static void test_check_defaults(void **state)
{
    (void)state;
    demo_settings s;
    sv_err e;
    demo_defaults(&s);
    assert_int_equal(sv_params_check(demo_specs, &s, &e), SV_OK);

    s.tol = 0; /* exclusive minimum */
    assert_int_equal(sv_params_check(demo_specs, &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/tol");

    demo_defaults(&s);
    s.method = 3;
    assert_int_equal(sv_params_check(demo_specs, &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/method");

    demo_defaults(&s);
    s.max_iter = 0;
    assert_int_equal(sv_params_check(demo_specs, &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/max_iter");

    demo_defaults(&s);
    s.verbose = 2;
    assert_int_equal(sv_params_check(demo_specs, &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/verbose");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_shape_and_defaults),
        cmocka_unit_test(test_schema_defaults_decode_back),
        cmocka_unit_test(test_decode_absent_keeps_defaults),
        cmocka_unit_test(test_decode_valid_values),
        cmocka_unit_test(test_decode_null_keeps_automatic),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_decode_failure_is_atomic),
        cmocka_unit_test(test_decode_rejects_huge_literal),
        cmocka_unit_test(test_encode_values),
        cmocka_unit_test(test_encode_decode_round_trip),
        cmocka_unit_test(test_check_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
