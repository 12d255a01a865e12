/* test_codec_util.c - the pieces every codec repeats (api/codec_util.c): the head of a result
 * object, reals that JSON cannot hold, and params decoding with a "schedule" member. The codec
 * cases pin what clients saw before the codecs shared them: the members each result opens with,
 * in order, and the path and text of params errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "support/codec.h"

extern const sv_codec sv_codec_ef21;
extern const sv_codec sv_codec_bip;
extern const sv_codec sv_codec_lion;
extern const sv_codec sv_codec_blockwise;
extern const sv_codec sv_codec_eal_sketch;
extern const sv_codec sv_codec_lvhba;
extern const sv_codec sv_codec_inexact;
extern const sv_codec sv_codec_mfac;


typedef struct {
    const sv_codec *codec;
    const char *head;   /* the members the result opens with, in order, comma-separated */
} result_pin;

static const result_pin result_pins[] = {
    {&sv_codec_mfac, "status,iterations,objective"},
    {&sv_codec_ef21, "status,iterations,objective"},
    {&sv_codec_bip, "status,iterations,objective"},
    {&sv_codec_lion, "status,iterations,objective"},
    {&sv_codec_blockwise, "status,iterations,objective"},
    {&sv_codec_eal_sketch, "status,reason,iterations,objective"},
    {&sv_codec_lvhba, "status,iterations,objective,solve_time_s"},
    {&sv_codec_inexact, "status,iterations,objective,solve_time_s"},
};

/* The helpers themselves. */
static void test_helpers(void **state)
{
    (void)state;
    json_t *v = sv_codec_real(0.25);
    assert_true(json_is_real(v) && json_real_value(v) == 0.25);
    json_decref(v);
    assert_true(json_is_null(sv_codec_real(NAN)));
    assert_true(json_is_null(sv_codec_real(-INFINITY)));

    sv_info info = {SV_MAX_ITER, 7, 1.5, 0.0, 2.0};
    json_t *r = sv_codec_result_new(&info, INFINITY);
    assert_non_null(r);
    assert_int_equal(json_object_size(r), 3);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "max_iter");
    assert_int_equal(json_integer_value(json_object_get(r, "iterations")), 7);
    assert_true(json_is_null(json_object_get(r, "objective")));
    json_decref(r);
    r = sv_codec_result_new(&info, info.obj);
    assert_true(json_real_value(json_object_get(r, "objective")) == 1.5);
    json_decref(r);
}

/* Runs the codec's catalog example cut to a few iterations. */
static json_t *run_example(const sv_codec *c)
{
    json_t *ex = c->example();
    assert_non_null(ex);
    json_t *params = json_object_get(ex, "params");
    json_t *schema = sv_codec_params_schema(c);
    json_t *props = json_object_get(schema, "properties");
    if (json_object_get(props, "max_iter")) {
        if (!params) {
            params = json_object();
            json_object_set_new(ex, "params", params);
        }
        json_object_set_new(params, "max_iter", json_integer(3));
    }
    json_decref(schema);
    sv_err e;
    memset(&e, 0, sizeof e);
    json_t *res = NULL;
    int rc = c->run(json_object_get(ex, "problem"), params, &sv_test_codec_env, NULL, &res, &e);
    if (rc != SV_OK)
        fail_msg("%s: example failed at %s: %s", c->name, e.field, e.msg);
    json_decref(ex);
    return res;
}

static void test_result_members(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof result_pins / sizeof result_pins[0]; i++) {
        const result_pin *p = &result_pins[i];
        json_t *r = run_example(p->codec);
        char keys[1024] = "";
        const char *k;
        json_t *v;
        json_object_foreach(r, k, v) {
            if (keys[0])
                strncat(keys, ",", sizeof keys - strlen(keys) - 1);
            strncat(keys, k, sizeof keys - strlen(keys) - 1);
        }
        /* Only the head is pinned: codecs may add members after it as their solvers grow. */
        size_t n = strlen(p->head);
        if (strncmp(keys, p->head, n) != 0 || (keys[n] != ',' && keys[n] != '\0')) {
            print_error("%s: members\n  %s\nexpected to open with\n  %s\n", p->codec->name, keys,
                        p->head);
            failures++;
        }
        /* The members every codec's result must hold (codec.h), with their types. */
        assert_true(json_is_string(json_object_get(r, "status")));
        assert_true(json_is_integer(json_object_get(r, "iterations")));
        v = json_object_get(r, "objective");
        assert_true(json_is_real(v) || json_is_null(v));
        assert_true(json_is_real(json_object_get(r, "solve_time_s")));
        json_decref(r);
    }
    assert_int_equal(failures, 0);
}

typedef struct {
    const sv_codec *codec;
    const char *params;
    const char *field, *msg;
} params_pin;

static const params_pin params_pins[] = {
    {&sv_codec_ef21, "{\"schedule\": \"bogus\"}", "/params/schedule",
     "unknown schedule \"bogus\": use \"constant\", \"cosine\", \"step\" or \"uba\""},
    {&sv_codec_ef21, "{\"schedule\": {\"kind\": \"cosine\", \"phi\": 2}}", "/params/schedule/phi",
     "does not apply to the cosine schedule"},
    {&sv_codec_ef21, "{\"bogus\": 1}", "/params/bogus",
     "unknown parameter (known: "},
    {&sv_codec_ef21, "[1]", "/params", "expected an object, got an array"},
    {&sv_codec_ef21, "{\"k\": 0, \"schedule\": \"cosine\"}", "/params/k",
     "out of range: 0, must be in [1, 2147483647]"},
    {&sv_codec_mfac, "{\"schedule\": \"bogus\"}", "/params/schedule",
     "unknown schedule \"bogus\": use \"constant\", \"cosine\", \"step\" or \"uba\""},
    {&sv_codec_mfac, "{\"bogus\": 1, \"schedule\": \"step\"}", "/params/bogus",
     "unknown parameter (known: "},
    {&sv_codec_lion, "{\"schedule\": 3}", "/params/schedule",
     "expected a schedule name or object, got an integer"},
    {&sv_codec_lion, "{\"bogus\": 1, \"schedule\": \"cosine\"}", "/params/bogus",
     "unknown parameter (known: "},
    {&sv_codec_bip, "{\"schedule\": \"cosine\"}", "/params/schedule",
     "unknown parameter (known: "},
    {&sv_codec_blockwise, "{\"bogus\": true}", "/params/bogus",
     "unknown parameter (known: "},
};

static void test_params_errors(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof params_pins / sizeof params_pins[0]; i++) {
        const params_pin *p = &params_pins[i];
        json_t *ex = p->codec->example();
        json_error_t je;
        json_t *pa = json_loads(p->params, JSON_DECODE_ANY, &je);
        assert_non_null(pa);
        sv_err e;
        memset(&e, 0, sizeof e);
        int rc = p->codec->validate(json_object_get(ex, "problem"), pa, &sv_test_codec_env, &e);
        /* Lists of known parameters grow with the solvers: only their start is pinned. */
        const char *known = "unknown parameter (known: ";
        int msg_ok = strncmp(p->msg, known, strlen(known)) == 0
                         ? strncmp(e.msg, known, strlen(known)) == 0
                         : strcmp(e.msg, p->msg) == 0;
        if (rc != SV_EINVAL || strcmp(e.field, p->field) != 0 || !msg_ok) {
            print_error("%s %s: expected %s: %s; got rc %d at %s: %s\n", p->codec->name,
                        p->params, p->field, p->msg, rc, e.field, e.msg);
            failures++;
        }
        json_decref(pa);
        json_decref(ex);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_result_members),
        cmocka_unit_test(test_params_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
