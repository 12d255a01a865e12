/* test_cluster.c - three solvd nodes on one shared store (server/cluster.h, docs/scale-out.md).
 * Jobs submitted to one node spread over all three; a node killed with -9 mid-run loses no
 * job: the others requeue its job when its lease runs out and run it to the end, once; a
 * cancel sent to one node stops a job another node runs; a stream opened on one node follows a
 * job another node runs to its last event.
 *
 * The store is PostgreSQL when SOLVD_TEST_PG_URL names a database, or SOLVD_TEST_PG_STATE the
 * state directory of the ctest fixture that started a throwaway cluster
 * (tests/support/pgcluster.sh; the test skips when that fixture found no PostgreSQL), and
 * otherwise one SQLite file that
 * the three processes share, driven as a shared store (SOLVD_SHARED_DISPATCH=1): the same
 * server code, with the store's own locking between processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "harness.h"

#define N_NODES 3
#define LEASE_S "2"

static char store_url[512];

/* The three nodes, one worker each, on the shared store. */
static void start_nodes(it_daemon d[N_NODES], const char *workers)
{
    static char names[N_NODES][16];
    for (int i = 0; i < N_NODES; i++) {
        snprintf(names[i], sizeof names[i], "n%d", i + 1);
        const char *args[] = {"--db",          store_url, "--node", names[i],
                              "--workers",     workers,   "--lease-s", LEASE_S,
                              "--claim-poll-ms", "50",    NULL};
        it_assert_start(&d[i], args);
    }
}

/* Which node's log says it started job id (at attempt), or -1; *count gets how many did. */
static int started_on(const it_daemon d[N_NODES], const char *id, int attempt, int *count)
{
    char needle[128];
    snprintf(needle, sizeof needle, "job=%s solver=distributed.ef21 attempt=%d", id, attempt);
    int who = -1, n = 0;
    for (int i = 0; i < N_NODES; i++)
        if (d[i].pid && it_daemon_log_find(&d[i], "msg=\"job started\"", needle) >= 0) {
            who = i;
            n++;
        }
    if (count)
        *count = n;
    return who;
}

static void wait_running(const it_daemon *d, const char *id)
{
    json_decref(it_wait_for_status(d, id, "running", 20));
}

/* Events of job id as stored (read through node d), counted by kind. */
typedef struct {
    int results, finals, queued_again;
} event_counts;

static event_counts count_events(const it_daemon *d, const char *id)
{
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    it_stream s;
    assert_int_equal(it_sse(d, path, NULL, 20, NULL, NULL, &s), 0);
    assert_true(s.ended);
    event_counts c = {0, 0, 0};
    for (size_t i = 0; i < s.n; i++) {
        if (strcmp(s.ev[i].type, "result") == 0)
            c.results++;
        if (strcmp(s.ev[i].type, "status") != 0 || !s.ev[i].json)
            continue;
        const char *st = it_str(s.ev[i].json, "status");
        if (strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0 ||
            strcmp(st, "cancelled") == 0 || strcmp(st, "timed_out") == 0)
            c.finals++;
        if (strcmp(st, "queued") == 0 && i > 0)
            c.queued_again++;
        /* Ids rise by one: no event lost or doubled across nodes. */
        assert_int_equal(s.ev[i].id, (long)i + 1);
    }
    it_stream_free(&s);
    return c;
}

/* Six jobs sent to one node run on all three, each started once. */
static void test_jobs_spread_over_nodes(void **state)
{
    (void)state;
    it_daemon d[N_NODES];
    start_nodes(d, "1");
    char ids[6][64];
    char *body = it_body_long("{\"time_limit_s\":1.5}");
    for (int i = 0; i < 6; i++)
        json_decref(it_submit(&d[0], body, ids[i]));
    free(body);
    int ran[N_NODES] = {0};
    for (int i = 0; i < 6; i++) {
        json_t *j = it_wait_for_status(&d[i % N_NODES], ids[i], "timed_out", 30);
        assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1);
        json_decref(j);
        int n = 0;
        int who = started_on(d, ids[i], 1, &n);
        assert_int_equal(n, 1);
        ran[who]++;
    }
    for (int i = 0; i < N_NODES; i++) {
        if (ran[i] == 0)
            fprintf(stderr, "node n%d ran none of the jobs\n", i + 1);
        assert_true(ran[i] > 0);
    }
    for (int i = 0; i < N_NODES; i++)
        it_assert_clean_exit(&d[i]);
}

/* kill -9 of a node while it runs a job: another node takes the job over once its lease has
 * run out, and every job ends exactly once. */
static void test_node_killed_mid_run(void **state)
{
    (void)state;
    it_daemon d[N_NODES];
    start_nodes(d, "1");
    char ids[5][64];
    char *body = it_body_long("{\"time_limit_s\":3}");
    for (int i = 0; i < 5; i++)
        json_decref(it_submit(&d[i % N_NODES], body, ids[i]));
    free(body);
    /* The first three run at once, one on each node. */
    int victim_job = -1;
    double t0 = it_now();
    while (victim_job < 0 && it_now() - t0 < 20) {
        for (int i = 0; i < 5 && victim_job < 0; i++)
            if (started_on(d, ids[i], 1, NULL) == 1)
                victim_job = i;
        it_sleep(0.05);
    }
    assert_true(victim_job >= 0);
    wait_running(&d[0], ids[victim_job]);
    json_t *j = it_get_job(&d[0], ids[victim_job]);
    assert_string_equal(it_str(j, "node"), "n2");
    json_decref(j);
    it_daemon_kill9(&d[1]);

    /* Every job ends, read through a survivor. */
    for (int i = 0; i < 5; i++) {
        j = it_wait_for_status(&d[i % 2 == 0 ? 0 : 2], ids[i], "timed_out", 60);
        long attempts = (long)json_integer_value(json_object_get(j, "attempts"));
        assert_int_equal(attempts, i == victim_job ? 2 : 1);
        json_decref(j);
        event_counts c = count_events(&d[2], ids[i]);
        assert_int_equal(c.finals, 1);
        assert_true(c.results <= 1);
        assert_int_equal(c.queued_again, i == victim_job ? 1 : 0);
    }
    /* The second start was on a survivor. */
    int n = 0;
    int who = started_on(d, ids[victim_job], 2, &n);
    assert_int_equal(n, 1);
    assert_true(who == 0 || who == 2);
    it_assert_clean_exit(&d[0]);
    it_assert_clean_exit(&d[2]);
}

/* A cancel and a stream sent to one node, for a job another node runs. */
static void test_cancel_and_stream_across_nodes(void **state)
{
    (void)state;
    it_daemon d[N_NODES];
    start_nodes(d, "1");
    char busy[3][64], id[64];
    char *body = it_body_long(NULL);
    /* n1, n2 and n3 busy with one job each; the next one waits in the queue. */
    for (int i = 0; i < N_NODES; i++) {
        json_decref(it_submit(&d[i], body, busy[i]));
        wait_running(&d[i], busy[i]);
    }
    json_decref(it_submit(&d[0], body, id));
    free(body);
    /* Queued: any node cancels it at once, for every node. */
    char path[300];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", id);
    json_t *r = it_call(&d[2], "POST", path, NULL, 200);
    assert_string_equal(it_str(r, "status"), "cancelled");
    json_decref(r);
    json_decref(it_wait_for_status(&d[0], id, "cancelled", 5));

    /* Running on another node than n1 (whichever claimed it): n1 streams it and cancels it. */
    int target = -1, runner = -1;
    for (int i = 0; i < N_NODES && target < 0; i++) {
        int who = started_on(d, busy[i], 1, NULL);
        if (who > 0) {
            target = i;
            runner = who;
        }
    }
    assert_true(target >= 0);
    snprintf(path, sizeof path, "/v1/jobs/%s/events", busy[target]);
    it_sse_bg *bg = it_sse_bg_start(&d[0], path, NULL, 30, NULL, NULL);
    assert_int_equal(it_sse_bg_wait_connected(bg, 10), 0);
    it_sleep(0.5);
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", busy[target]);
    json_decref(it_call(&d[0], "POST", path, NULL, 202));
    json_t *j = it_wait_for_status(&d[0], busy[target], "cancelled", 10);
    json_decref(j);
    it_stream *s = it_sse_bg_join(bg);
    assert_true(s->ended);
    assert_true(s->n >= 3);
    const it_event *last = &s->ev[s->n - 1];
    assert_string_equal(last->type, "status");
    assert_non_null(last->json);
    assert_string_equal(it_str(last->json, "status"), "cancelled");
    /* It followed the run: progress events came from the other node through the store. */
    assert_non_null(it_stream_find(s, "progress", 0));
    for (size_t i = 1; i < s->n; i++)
        assert_true(s->ev[i].id == s->ev[i - 1].id + 1);
    it_sse_bg_free(bg);
    assert_true(it_daemon_log_contains(&d[runner], "job cancel requested (from another node)"));

    for (int i = 0; i < N_NODES; i++) {
        if (i != target) {
            snprintf(path, sizeof path, "/v1/jobs/%s/cancel", busy[i]);
            json_decref(it_call(&d[i], "POST", path, NULL, 202));
            json_decref(it_wait_for_status(&d[i], busy[i], "cancelled", 10));
        }
    }
    for (int i = 0; i < N_NODES; i++)
        it_assert_clean_exit(&d[i]);
}

/* --max-queued-per-tenant counts the tenant's queued jobs in the shared store, whichever node
 * took them: two jobs run (one per node), two more wait, one sent to each node, and a fifth is
 * refused with 429 by either node; cancelling a queued one makes room again. */
static void test_quota_across_nodes(void **state)
{
    (void)state;
    it_daemon d[2];
    static const char *const names[2] = {"q1", "q2"};
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"--db",      store_url, "--node",    names[i],
                              "--workers", "1",       "--lease-s", LEASE_S,
                              "--claim-poll-ms", "50", "--max-queued-per-tenant", "2", NULL};
        it_assert_start(&d[i], args);
    }
    char *body = it_body_long(NULL);
    char ids[4][64];
    for (int i = 0; i < 2; i++) {
        json_decref(it_submit(&d[i], body, ids[i]));
        json_decref(it_wait_for_status(&d[i], ids[i], "running", 20));
    }
    for (int i = 2; i < 4; i++)
        json_decref(it_submit(&d[i % 2], body, ids[i]));
    for (int i = 0; i < 2; i++) {
        json_t *r = it_call(&d[i], "POST", "/v1/jobs", body, 429);
        assert_string_equal(it_str(json_object_get(r, "error"), "code"), "quota_exceeded");
        json_decref(r);
    }
    char path[300];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", ids[2]);
    json_decref(it_call(&d[1], "POST", path, NULL, 200));
    char again[64];
    json_decref(it_submit(&d[1], body, again));
    free(body);
    const char *all[5] = {ids[0], ids[1], ids[3], again, NULL};
    for (int k = 0; all[k]; k++) {
        snprintf(path, sizeof path, "/v1/jobs/%s/cancel", all[k]);
        it_resp r;
        it_http(&d[0], "POST", path, NULL, NULL, &r);
        assert_true(r.status == 200 || r.status == 202);
        it_resp_free(&r);
        json_decref(it_wait_for_status(&d[0], all[k], "cancelled", 20));
    }
    if (!getenv("SOLVD_SHARED_DISPATCH")) {
        /* PostgreSQL: a listener connection the server drops is noticed and reopened. */
        assert_int_equal(it_wait_metric(&d[0], "solvd_cluster_listening", 1, 20), 0);
        PGconn *pg = PQconnectdb(store_url);
        assert_int_equal(PQstatus(pg), CONNECTION_OK);
        PGresult *res = PQexec(pg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                   " WHERE application_name = 'solvd-listen'");
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_true(PQntuples(res) >= 2);   /* both nodes' listeners */
        PQclear(res);
        PQfinish(pg);
        for (int i = 0; i < 2; i++) {
            double t0 = it_now();
            while (it_metric(&d[i], "solvd_cluster_listener_failures_total") < 1 &&
                   it_now() - t0 < 20)
                it_sleep(0.1);
            assert_true(it_metric(&d[i], "solvd_cluster_listener_failures_total") >= 1);
            assert_int_equal(it_wait_metric(&d[i], "solvd_cluster_listening", 1, 20), 0);
        }
    }
    for (int i = 0; i < 2; i++)
        it_assert_clean_exit(&d[i]);
}

/* PostgreSQL only: LISTEN/NOTIFY carries a new job and a cancel to the node that must act on
 * them. Both nodes poll the store once a minute (the longest --claim-poll-ms), so the job and
 * the cancel below, which must cross from one node to the other, arrive well within their
 * 20 s waits only through the notifications. */
static void test_notifications_wake_nodes(void **state)
{
    (void)state;
    if (getenv("SOLVD_SHARED_DISPATCH")) {
        fprintf(stderr, "SQLite sends no notifications: nothing to test\n");
        return;
    }
    it_daemon d[2];
    static const char *const names[2] = {"w1", "w2"};
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"--db",      store_url, "--node",          names[i],
                              "--workers", "1",       "--lease-s",       "3600",
                              "--claim-poll-ms", "60000", NULL};
        it_assert_start(&d[i], args);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(it_wait_metric(&d[i], "solvd_cluster_listening", 1, 20), 0);

    char busy[64], quick[64];
    char *body = it_body_long(NULL);
    json_decref(it_submit(&d[0], body, busy));
    free(body);
    json_t *j = it_wait_for_status(&d[0], busy, "running", 20);
    int runner = strcmp(it_str(j, "node"), "w1") == 0 ? 0 : 1, other = 1 - runner;
    assert_string_equal(it_str(j, "node"), names[runner]);
    json_decref(j);

    /* The runner has no free worker; the other node claims the job when told it is queued. */
    body = it_body_iters(20, 1, NULL);
    json_decref(it_submit(&d[runner], body, quick));
    free(body);
    json_decref(it_wait_for_status(&d[runner], quick, "succeeded", 20));
    char needle[128];
    snprintf(needle, sizeof needle, "job=%s solver=distributed.ef21 attempt=1", quick);
    assert_true(it_daemon_log_find(&d[other], "msg=\"job started\"", needle) >= 0);
    assert_true(it_metric(&d[other], "solvd_cluster_notifications_total{channel=\"jobs\"}") >= 1);

    /* A cancel sent to the other node reaches the runner through the notification. */
    char path[300];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", busy);
    json_decref(it_call(&d[other], "POST", path, NULL, 202));
    json_decref(it_wait_for_status(&d[other], busy, "cancelled", 20));
    assert_true(it_metric(&d[runner], "solvd_cluster_notifications_total{channel=\"cancel\"}") >=
                1);
    assert_true(it_daemon_log_contains(&d[runner], "job cancel requested (from another node)"));
    /* Events of jobs run elsewhere were announced too (the stream followers' wake-up). */
    assert_true(it_metric(&d[runner], "solvd_cluster_notifications_total{channel=\"events\"}") >=
                1);
    for (int i = 0; i < 2; i++)
        it_assert_clean_exit(&d[i]);
}

int main(void)
{
    const char *pg = getenv("SOLVD_TEST_PG_URL");
    const char *pg_state = getenv("SOLVD_TEST_PG_STATE");
    if (pg && *pg) {
        snprintf(store_url, sizeof store_url, "%s", pg);
    } else if (pg_state && *pg_state) {
        char path[512];
        snprintf(path, sizeof path, "%s/skip", pg_state);
        if (access(path, F_OK) == 0) {
            fprintf(stderr, "the fixture found no PostgreSQL (initdb): skipped\n");
            return 77;
        }
        snprintf(path, sizeof path, "%s/url", pg_state);
        FILE *fp = fopen(path, "r");
        if (!fp || !fgets(store_url, sizeof store_url, fp)) {
            fprintf(stderr, "%s: no cluster URL (did the pgcluster fixture start?)\n", path);
            if (fp)
                fclose(fp);
            return 1;
        }
        fclose(fp);
        store_url[strcspn(store_url, "\r\n")] = '\0';
    } else {
        char dir[] = "/tmp/solvd_cluster.XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        snprintf(store_url, sizeof store_url, "%s/shared.db", dir);
        setenv("SOLVD_SHARED_DISPATCH", "1", 1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_jobs_spread_over_nodes, it_teardown),
        cmocka_unit_test_teardown(test_node_killed_mid_run, it_teardown),
        cmocka_unit_test_teardown(test_cancel_and_stream_across_nodes, it_teardown),
        cmocka_unit_test_teardown(test_quota_across_nodes, it_teardown),
        cmocka_unit_test_teardown(test_notifications_wake_nodes, it_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
