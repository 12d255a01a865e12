/* test_mdp_distributional.c - mdp.distributional end to end over HTTP: a hand-solved gamble
 * (a safe action worth 1 for sure, a risky one 5 or -2 with probability 1/2) submitted as a job
 * for the expectation and for CVaR at 0.5 by policy iteration; the stored results carry the
 * optimal objective, the start distribution, the chosen quantile and the expected-return
 * optimum; a discounted problem is refused with 422
 * at /problem/horizon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static const char *const args[] = {"--workers", "1", NULL};

#define GAMBLE                                                                                  \
    "{\"transitions\": [[[0,0,0,1],[0,0.5,0.5,0]], [[0,1,0,0],[0,1,0,0]],"                      \
    " [[0,0,1,0],[0,0,1,0]], [[0,0,0,1],[0,0,0,1]]],"                                           \
    " \"rewards\": [[0,0],[5,5],[-2,-2],[1,1]], \"horizon\": 2}"

static json_t *run(it_daemon *d, const char *params)
{
    char body[1024], id[64], path[128];
    snprintf(body, sizeof body, "{\"solver\": \"mdp.distributional\", \"problem\": " GAMBLE
             ", \"params\": %s}", params);
    json_decref(it_submit(d, body, id));
    json_decref(it_wait_for_status(d, id, "succeeded", 30));
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    return it_call(d, "GET", path, NULL, 200);
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static void test_gamble_over_http(void **state)
{
    (void)state;
    it_daemon d;
    it_assert_start(&d, args);
    json_t *r = run(&d, "{\"objective\": \"expectation\"}");
    assert_string_equal(it_str(r, "status"), "solved");
    assert_true(fabs(num(r, "objective") - 1.5) < 1e-12);
    json_t *atoms = json_object_get(json_object_get(r, "distribution"), "atoms");
    json_t *probs = json_object_get(json_object_get(r, "distribution"), "probs");
    assert_int_equal(json_array_size(atoms), 2);
    assert_true(json_number_value(json_array_get(atoms, 0)) == -2);
    assert_true(json_number_value(json_array_get(atoms, 1)) == 5);
    assert_true(json_number_value(json_array_get(probs, 0)) == 0.5);
    json_decref(r);

    r = run(&d, "{\"objective\": \"cvar\", \"alpha\": 0.5, \"method\": \"policy_iteration\"}");
    assert_string_equal(it_str(r, "status"), "solved");
    assert_true(fabs(num(r, "objective") - 1.0) < 1e-12);  /* the safe action */
    assert_true(fabs(num(r, "var") - 1.0) < 1e-12);
    assert_true(fabs(num(r, "expected_optimal") - 1.5) < 1e-12);
    assert_true(json_is_true(json_object_get(r, "exact")));
    atoms = json_object_get(json_object_get(r, "distribution"), "atoms");
    assert_int_equal(json_array_size(atoms), 1);
    assert_true(json_number_value(json_array_get(atoms, 0)) == 1);
    json_t *policy = json_object_get(r, "policy");
    assert_int_equal(json_array_size(policy), 2);  /* H */
    assert_int_equal(json_array_size(json_array_get(policy, 0)), 4);  /* S */
    json_decref(r);

    it_resp e;
    assert_int_equal(it_http(&d, "POST", "/v1/jobs",
                             "{\"solver\": \"mdp.distributional\", \"problem\": {\"generate\":"
                             " {\"kind\": \"random\"}, \"gamma\": 0.9}}",
                             NULL, &e),
                     0);
    it_assert_error(&e, 422, "invalid", "/problem/horizon");
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_gamble_over_http, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/mdp_distributional", tests, NULL, NULL);
}
