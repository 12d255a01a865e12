/* test_schedule.c - step-size schedules (core/schedule.c), their JSON form (api/schedule_json.c)
 * and their use in distributed.ef21. Reference values are the closed forms of docs/schedules.md
 * evaluated by hand at chosen points, and the normal-equations solution of least squares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/schedule_json.h"
#include "core/models/gen_glm.h"
#include "core/schedule.h"
#include "core/solvers/distributed/ef21.h"
#include "support/glm_reference.h"

#define TOL 1e-15

static sv_schedule make(int kind, double min_factor, long cycles, double phi)
{
    sv_schedule s;
    sv_schedule_default(&s);
    s.kind = kind;
    s.min_factor = min_factor;
    s.cycles = cycles;
    s.phi = phi;
    return s;
}

static void near(double a, double b)
{
    if (!(fabs(a - b) <= TOL * fmax(1.0, fabs(b))))
        fail_msg("%.17g != %.17g", a, b);
}

/* ============================================================================================
 * Closed forms
 * ========================================================================================== */

static void test_constant_and_step(void **state)
{
    (void)state;
    sv_schedule s;
    sv_schedule_default(&s);
    for (long t = 0; t <= 120; t += 7)
        near(sv_schedule_factor(&s, t, 100), 1.0);
    near(sv_schedule_lr(&s, 0.3, 5, 10), 0.3);

    s.kind = SV_SCHEDULE_STEP;
    s.step_every = 10;
    s.step_factor = 0.5;
    near(sv_schedule_factor(&s, 0, 100), 1.0);
    near(sv_schedule_factor(&s, 9, 100), 1.0);
    near(sv_schedule_factor(&s, 10, 100), 0.5);
    near(sv_schedule_factor(&s, 25, 100), 0.25);
    near(sv_schedule_factor(&s, 99, 100), 0.001953125);  /* 0.5^9 */
    near(sv_schedule_factor(&s, 30, 0), 0.125);          /* no budget needed */
}

/* cosine: rho + (1 - rho)(1 + cos(pi t/T))/2 */
static void test_cosine(void **state)
{
    (void)state;
    sv_schedule s = make(SV_SCHEDULE_COSINE, 0.1, 1, 1.0);
    near(sv_schedule_factor(&s, 0, 100), 1.0);
    near(sv_schedule_factor(&s, 50, 100), 0.55);
    near(sv_schedule_factor(&s, 100, 100), 0.1);
    near(sv_schedule_factor(&s, 250, 100), 0.1);                          /* past the budget */
    near(sv_schedule_factor(&s, 25, 100), 0.1 + 0.9 * (1 + sqrt(0.5)) / 2); /* cos(pi/4) */
    near(sv_schedule_factor(&s, 75, 100), 0.1 + 0.9 * (1 - sqrt(0.5)) / 2);
    near(sv_schedule_lr(&s, 2.0, 50, 100), 1.1);
    near(sv_schedule_factor(&s, 7, 0), 1.0);  /* no budget: constant */

    /* two cycles: each half of the budget is a full cosine from 1 down to rho */
    s.cycles = 2;
    near(sv_schedule_factor(&s, 25, 100), 0.55);
    near(sv_schedule_factor(&s, 50, 100), 1.0);
    near(sv_schedule_factor(&s, 75, 100), 0.55);
    near(sv_schedule_factor(&s, 100, 100), 0.1);
}

/* uba: rho + (1 - rho) 2c / (2 phi + (2 - phi) c), c = 1 + cos(pi t/T), at points computed by
 * hand: at t = T/2, c = 1 and the shape is 2 / (phi + 2). */
static void test_uba_hand_points(void **state)
{
    (void)state;
    sv_schedule s = make(SV_SCHEDULE_UBA, 0.0, 1, 1.0);
    near(sv_schedule_factor(&s, 0, 100), 1.0);    /* c = 2: 4 / (2 phi + 4 - 2 phi) = 1 */
    near(sv_schedule_factor(&s, 50, 100), 2.0 / 3.0);
    near(sv_schedule_factor(&s, 100, 100), 0.0);   /* c = 0 */
    /* t = T/4: c = 1 + 1/sqrt2 = 1.7071067811865475, 2c / (2 + c) = 3.414213562373095 /
     * 3.7071067811865475 = 0.9209914264407282 (hand division); t = 3T/4: c = 0.2928932188134524,
     * 0.5857864376269049 / 2.2928932188134524 = 0.2554791617945658. */
    near(sv_schedule_factor(&s, 25, 100), 2 * (1 + sqrt(0.5)) / (2 + (1 + sqrt(0.5))));
    assert_true(fabs(sv_schedule_factor(&s, 25, 100) - 0.9209914264407282) < 1e-15);
    assert_true(fabs(sv_schedule_factor(&s, 75, 100) - 0.2554791617945658) < 1e-15);

    s.phi = 0.5;
    near(sv_schedule_factor(&s, 50, 100), 0.8);        /* 2 / 2.5 */
    s.phi = 4.0;
    near(sv_schedule_factor(&s, 50, 100), 1.0 / 3.0);  /* 2 / 6 */
    s.phi = 1.0;
    s.min_factor = 0.2;
    near(sv_schedule_factor(&s, 50, 100), 0.2 + 0.8 * 2.0 / 3.0);
    near(sv_schedule_factor(&s, 100, 100), 0.2);
    near(sv_schedule_lr(&s, 3.0, 0, 100), 3.0);

    /* phi = 2 is the cosine curve at every t */
    sv_schedule u = make(SV_SCHEDULE_UBA, 0.05, 1, 2.0), c = make(SV_SCHEDULE_COSINE, 0.05, 1, 1);
    for (long t = 0; t <= 1000; t += 37)
        near(sv_schedule_factor(&u, t, 1000), sv_schedule_factor(&c, t, 1000));

    /* within a period the factor falls monotonically from 1 to rho, for small and large phi;
     * smaller phi stays higher */
    static const double phis[] = {0.1, 0.5, 1.0, 2.0, 5.0, 50.0};
    for (size_t k = 0; k < sizeof phis / sizeof phis[0]; k++) {
        sv_schedule a = make(SV_SCHEDULE_UBA, 0.01, 1, phis[k]);
        double prev = 2.0;
        for (long t = 0; t <= 500; t++) {
            double f = sv_schedule_factor(&a, t, 500);
            assert_true(f <= prev && f >= 0.01 - 1e-15 && f <= 1.0);
            if (k > 0 && t > 0 && t < 500) {
                sv_schedule b = make(SV_SCHEDULE_UBA, 0.01, 1, phis[k - 1]);
                assert_true(sv_schedule_factor(&b, t, 500) > f);
            }
            prev = f;
        }
    }

    /* three cycles restart at T/3 and 2T/3 */
    s = make(SV_SCHEDULE_UBA, 0.0, 3, 1.0);
    near(sv_schedule_factor(&s, 300, 900), 1.0);
    near(sv_schedule_factor(&s, 450, 900), 2.0 / 3.0);
    assert_true(sv_schedule_factor(&s, 899, 900) < 1e-3);  /* the end of the third period */
}

static void test_check(void **state)
{
    (void)state;
    sv_schedule s = make(SV_SCHEDULE_UBA, 0.0, 1, 0.0);
    sv_err e;
    assert_int_equal(sv_schedule_check(&s, "/params/schedule", &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/phi");
    s = make(SV_SCHEDULE_COSINE, 1.0, 1, 1.0);
    assert_int_equal(sv_schedule_check(&s, "/params/schedule", &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/min_factor");
    s = make(SV_SCHEDULE_COSINE, 0.0, 0, 1.0);
    assert_int_equal(sv_schedule_check(&s, "/p", &e), SV_EINVAL);
    assert_string_equal(e.field, "/p/cycles");
    s = make(7, 0.0, 1, 1.0);
    assert_int_equal(sv_schedule_check(&s, "/p", &e), SV_EINVAL);
    assert_string_equal(e.field, "/p/kind");
    assert_null(sv_schedule_kind_name(7));
    assert_int_equal(sv_schedule_kind_from_name("uba"), SV_SCHEDULE_UBA);
    assert_int_equal(sv_schedule_kind_from_name("linear"), -1);
}

/* ============================================================================================
 * JSON
 * ========================================================================================== */

static int decode(const char *text, sv_schedule *s, sv_err *e)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    assert_non_null(v);
    sv_schedule_default(s);
    int rc = sv_schedule_from_json(v, "/params/schedule", s, e);
    json_decref(v);
    return rc;
}

static void test_json(void **state)
{
    (void)state;
    sv_schedule s;
    sv_err e;
    assert_int_equal(decode("\"cosine\"", &s, &e), SV_OK);
    assert_int_equal(s.kind, SV_SCHEDULE_COSINE);
    assert_int_equal(decode("{\"kind\": \"uba\", \"phi\": 1.5, \"min_factor\": 0.01, \"cycles\": 2}",
                            &s, &e), SV_OK);
    assert_int_equal(s.kind, SV_SCHEDULE_UBA);
    assert_true(s.phi == 1.5 && s.min_factor == 0.01 && s.cycles == 2);
    assert_int_equal(decode("{\"kind\": \"step\", \"step_every\": 5, \"step_factor\": 0.1}", &s,
                            &e), SV_OK);
    assert_true(s.kind == SV_SCHEDULE_STEP && s.step_every == 5 && s.step_factor == 0.1);

    /* round trip through to_json */
    json_t *j = sv_schedule_to_json(&s);
    sv_schedule back;
    sv_schedule_default(&back);
    assert_int_equal(sv_schedule_from_json(j, "/x", &back, &e), SV_OK);
    /* Field by field: the struct has padding after kind, which no one initialises. */
    assert_int_equal(back.kind, s.kind);
    assert_true(back.min_factor == s.min_factor && back.cycles == s.cycles &&
                back.phi == s.phi && back.step_every == s.step_every &&
                back.step_factor == s.step_factor);
    json_decref(j);

    assert_int_equal(decode("{\"kind\": \"cosine\", \"phi\": 1}", &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/phi");
    assert_non_null(strstr(e.msg, "does not apply"));
    assert_int_equal(decode("{\"kind\": \"uba\", \"gamma\": 1}", &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/gamma");
    assert_int_equal(decode("{\"kind\": \"uba\", \"phi\": -1}", &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/phi");
    assert_int_equal(decode("{\"kind\": \"uba\", \"cycles\": 1.5}", &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/cycles");
    assert_int_equal(decode("\"linear\"", &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule");
    assert_int_equal(decode("{\"phi\": 1}", &s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/kind");
    assert_int_equal(decode("3", &s, &e), SV_EINVAL);

    /* take: the schedule comes out, the rest stays */
    json_t *params = json_pack("{s:f, s:{s:s, s:f}}", "gamma", 0.1, "schedule", "kind", "uba",
                               "phi", 3.0);
    json_t *rest;
    sv_schedule_default(&s);
    assert_int_equal(sv_schedule_take(params, &s, &rest, &e), SV_OK);
    assert_true(s.kind == SV_SCHEDULE_UBA && s.phi == 3.0);
    assert_null(json_object_get(rest, "schedule"));
    assert_non_null(json_object_get(rest, "gamma"));
    assert_non_null(json_object_get(params, "schedule"));  /* the input is untouched */
    json_decref(rest);
    json_decref(params);
    sv_schedule_default(&s);
    s.kind = SV_SCHEDULE_COSINE;  /* a solver whose default is cosine keeps it */
    assert_int_equal(sv_schedule_take(NULL, &s, &rest, &e), SV_OK);
    assert_null(rest);
    assert_int_equal(s.kind, SV_SCHEDULE_COSINE);

    json_t *schema = sv_schedule_schema();
    assert_non_null(schema);
    json_decref(schema);
}

/* ============================================================================================
 * In a solver: EF21 with a decaying schedule still reaches the least-squares solution
 * ========================================================================================== */

static void test_ef21_with_schedules(void **state)
{
    (void)state;
    const int d = 8;
    const double lambda = 0.01;
    sv_gen_glm_spec spec = {4, 30, d, SV_LOSS_SQUARED, 1.0, lambda, 7};
    sv_glm_clients c;
    sv_err e;
    assert_int_equal(sv_gen_glm_clients(&spec, &c, &e), SV_OK);
    double xstar[8];
    sv_test_clients_normal_equations(&c, lambda, xstar);
    ef21_problem p = {c.n_clients, c.glm};

    sv_schedule scheds[3];
    scheds[0] = make(SV_SCHEDULE_COSINE, 0.05, 1, 1.0);
    scheds[1] = make(SV_SCHEDULE_UBA, 0.05, 1, 1.5);
    scheds[2] = make(SV_SCHEDULE_UBA, 0.05, 2, 0.5);
    for (int k = 0; k < 3; k++) {
        ef21_settings s;
        ef21_settings_default(&s);
        s.k = 2;
        s.ctl.tol = 1e-9;
        s.ctl.max_iter = 300000;
        s.schedule = scheds[k];
        double x[8] = {0};
        ef21_info info;
        assert_int_equal(ef21_solve(&p, &s, NULL, x, &info, &e), SV_OK);
        assert_int_equal(info.base.status, SV_SOLVED);
        double err = 0.0;
        for (int j = 0; j < d; j++)
            err = fmax(err, fabs(x[j] - xstar[j]));
        assert_true(err <= 1e-7);  /* |x - x*| <= |grad| / lambda = 1e-7 */
    }

    /* an invalid schedule is rejected by the solver before anything runs */
    ef21_settings s;
    ef21_settings_default(&s);
    s.schedule = make(SV_SCHEDULE_UBA, 0.0, 1, -2.0);
    double x[8] = {0};
    ef21_info info;
    assert_int_equal(ef21_solve(&p, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/phi");
    sv_glm_clients_free(&c);
}

/* The codec takes the "schedule" param, validates it with its path, and runs with it. */
static void test_ef21_codec_schedule(void **state)
{
    (void)state;
    const sv_codec *codec = sv_codec_find("distributed.ef21");
    assert_non_null(codec);
    json_t *problem = json_pack("{s:{s:i, s:i, s:i, s:f, s:i}}", "generate", "clients", 3,
                                "rows_per_client", 20, "dim", 5, "lambda", 0.05, "seed", 3);
    json_t *good = json_pack("{s:{s:s, s:f}, s:f, s:i}", "schedule", "kind", "uba", "phi", 1.5,
                             "tol", 1e-8, "max_iter", 100000);
    json_t *bad = json_pack("{s:{s:s, s:i}}", "schedule", "kind", "cosine", "phi", 2);
    sv_err e;
    assert_int_equal(codec->validate(problem, good, NULL, &e), SV_OK);
    assert_int_equal(codec->validate(problem, bad, NULL, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/phi");
    json_t *result = NULL;
    assert_int_equal(codec->run(problem, good, NULL, NULL, &result, &e), SV_OK);
    assert_string_equal(json_string_value(json_object_get(result, "status")), "solved");
    json_t *schema = sv_codec_params_schema(codec);
    assert_non_null(json_object_get(json_object_get(schema, "properties"), "schedule"));
    json_decref(schema);
    json_decref(result);
    json_decref(problem);
    json_decref(good);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_and_step),
        cmocka_unit_test(test_cosine),
        cmocka_unit_test(test_uba_hand_points),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_ef21_with_schedules),
        cmocka_unit_test(test_ef21_codec_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
