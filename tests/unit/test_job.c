/* test_job.c - storage/job.c: state names, the sv_job row, and the one spelling of the status
 * event and of the "interrupted" error that every backend and the server share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "storage/store.h"

static void test_state_names(void **state)
{
    (void)state;
    static const char *const names[] = {"queued",    "running",   "succeeded",
                                        "failed",    "cancelled", "timed_out"};
    assert_int_equal(sizeof names / sizeof names[0], SV_JOB_NSTATES);
    for (int i = 0; i < SV_JOB_NSTATES; i++) {
        assert_string_equal(sv_job_state_name((sv_job_state)i), names[i]);
        sv_job_state back = SV_JOB_NSTATES;
        assert_int_equal(sv_job_state_parse(names[i], &back), 0);
        assert_int_equal(back, i);
        assert_int_equal(sv_job_state_final((sv_job_state)i), i >= SV_JOB_SUCCEEDED);
    }
    sv_job_state untouched = SV_JOB_RUNNING;
    assert_int_equal(sv_job_state_parse("done", &untouched), -1);
    assert_int_equal(sv_job_state_parse("Queued", &untouched), -1);
    assert_int_equal(sv_job_state_parse(NULL, &untouched), -1);
    assert_int_equal(untouched, SV_JOB_RUNNING);
    assert_non_null(sv_job_state_name(SV_JOB_NSTATES));

    sv_job j;
    memset(&j, 0, sizeof j);
    j.request = strdup("{}");
    j.tags = strdup("[\"a\"]");
    j.idem_key = strdup("k");
    sv_job_clear(&j);
    assert_null(j.request);
    assert_null(j.tags);
    assert_null(j.idem_key);
    sv_job_clear(&j);   /* twice is fine */
    sv_job_clear(NULL);
}


static void test_status_event_json(void **state)
{
    (void)state;
    char *s = sv_status_event_json(SV_JOB_QUEUED, 0, NULL);
    assert_string_equal(s, "{\"status\":\"queued\",\"attempt\":0}");
    free(s);
    s = sv_status_event_json(SV_JOB_RUNNING, 2, NULL);
    assert_string_equal(s, "{\"status\":\"running\",\"attempt\":2}");
    free(s);
    s = sv_status_event_json(SV_JOB_CANCELLED, 1,
                             "{\"code\":\"cancelled\",\"message\":\"cancelled on request\"}");
    assert_string_equal(s, "{\"status\":\"cancelled\",\"attempt\":1,\"error\":{\"code\":"
                           "\"cancelled\",\"message\":\"cancelled on request\"}}");
    free(s);
    /* An error that is not JSON is left out, not pasted in. */
    s = sv_status_event_json(SV_JOB_FAILED, 1, "{oops");
    assert_string_equal(s, "{\"status\":\"failed\",\"attempt\":1}");
    free(s);
}

static void test_interrupted_error_json(void **state)
{
    (void)state;
    char *s = sv_interrupted_error_json("the server stopped", 2, 3);
    assert_string_equal(s, "{\"code\":\"interrupted\",\"message\":\"interrupted: the server"
                           " stopped while the job was running, after 2 of 3 allowed attempts\"}");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_status_event_json),
        cmocka_unit_test(test_interrupted_error_json),
    };
    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
