/* test_kill_loop.c - crash safety under load: a client submits jobs without pause while the
 * daemon is killed with SIGKILL at random moments (a fixed seed) 24 times and restarted on the
 * same database each time. Afterwards every acknowledged job (201) exists, and every job the
 * store holds — acknowledged or not, since a submission cut by a kill may have committed
 * before its answer was lost — finishes exactly once as far as results go: it succeeds, its
 * result is there, and its event stream has one result event and one final status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

#define KILLS 24
#define MAX_ACKED 450   /* with the few stored but unacknowledged, one page of the list (500) */

typedef struct {
    const it_daemon *d;       /* for everything but the port, which changes at each restart */
    atomic_int port;
    atomic_int stop;
    char *body;
    char (*acked)[64];
    int n_acked;              /* written by the submitter only; read after the join */
    int n_tries;
} submitter;

static void *submit_loop(void *arg)
{
    submitter *s = arg;
    while (!atomic_load(&s->stop) && s->n_acked < MAX_ACKED) {
        it_daemon snap = *s->d;
        snap.port = atomic_load(&s->port);
        it_resp r;
        it_req_opts o = {NULL, 0, 0, 2.0};
        it_http(&snap, "POST", "/v1/jobs", s->body, &o, &r);
        s->n_tries++;
        if (r.status == 201 && r.json)
            snprintf(s->acked[s->n_acked++], 64, "%s", it_str(r.json, "id"));
        it_resp_free(&r);
        it_sleep(0.01);
    }
    return NULL;
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

static void test_kill_loop(void **state)
{
    (void)state;
    /* Enough attempts that no job fails as interrupted, however often it is caught running. */
    static const char *const args[] = {"--workers", "2", "--max-attempts", "100", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    submitter s = {.d = &d, .body = it_body_iters(400, 100, "{\"tags\":[\"loop\"]}")};
    s.acked = calloc(MAX_ACKED, sizeof *s.acked);
    assert_non_null(s.acked);
    atomic_store(&s.port, d.port);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, submit_loop, &s), 0);
    uint64_t rng = 20261207;
    for (int k = 0; k < KILLS; k++) {
        it_sleep(0.1 + (double)(lcg(&rng) % 500) / 1000.0);
        it_daemon_kill9(&d);
        it_assert_restart(&d);
        atomic_store(&s.port, d.port);
    }
    it_sleep(0.3);
    atomic_store(&s.stop, 1);
    pthread_join(th, NULL);
    fprintf(stderr, "[kill-loop] %d kills, %d submissions tried, %d acknowledged\n", KILLS,
            s.n_tries, s.n_acked);
    assert_true(s.n_acked >= KILLS);

    /* Every acknowledged job is stored, and finishes. */
    for (int i = 0; i < s.n_acked; i++)
        json_decref(it_wait_for_status(&d, s.acked[i], "succeeded", 120));
    /* Every stored job, acknowledged or not, finished exactly once. */
    json_t *list = it_call(&d, "GET", "/v1/jobs?tag=loop&limit=500", NULL, 200);
    size_t listed = json_array_size(json_object_get(list, "jobs"));
    json_t *all = json_object_get(list, "jobs");
    assert_true(listed >= (size_t)s.n_acked && listed < 500);
    size_t i;
    json_t *j;
    json_array_foreach(all, i, j) {
        const char *id = it_str(j, "id");
        json_t *job = it_wait_for_status(&d, id, "succeeded", 120);
        json_decref(job);
        char path[200];
        snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
        json_decref(it_call(&d, "GET", path, NULL, 200));
        snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
        it_stream st;
        assert_int_equal(it_sse(&d, path, NULL, 30, NULL, NULL, &st), 0);
        assert_true(st.ended);
        int results = 0, finals = 0;
        for (size_t e = 0; e < st.n; e++) {
            if (e > 0)
                assert_true(st.ev[e].id > st.ev[e - 1].id);
            results += strcmp(st.ev[e].type, "result") == 0;
            finals += strcmp(st.ev[e].type, "status") == 0 && st.ev[e].json &&
                      strcmp(it_str(st.ev[e].json, "status"), "succeeded") == 0;
        }
        if (results != 1 || finals != 1)
            fail_msg("job %s: %d result events, %d final statuses", id, results, finals);
        it_stream_free(&st);
    }
    json_decref(list);
    free(s.acked);
    free(s.body);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kill_loop, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/kill_loop", tests, NULL, NULL);
}
