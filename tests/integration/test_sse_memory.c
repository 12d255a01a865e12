/* test_sse_memory.c - many idle readers of one large result share it (server/chunk.c): 48
 * streams that replay a job with a result of several MB, and read nothing, make the daemon grow
 * by a few copies of the result, not by one per stream (it grew by 4.5 GB for 200 readers of a
 * 22 MB result when each stream had its own buffer). Resident memory is read from /proc; under
 * the sanitizers it is dominated by ASan's quarantine, so the test is skipped there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define READERS 48

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static int open_idle_stream(const it_daemon *d, const char *id)
{
    /* A small receive buffer: the kernel takes little of the stream off the daemon's hands. */
    int fd = it_dial(d, 4096);
    char req[256];
    int n = snprintf(req, sizeof req, "GET /v1/jobs/%s/events HTTP/1.1\r\nHost: x\r\n\r\n", id);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

static void test_idle_readers_share_a_result(void **state)
{
    (void)state;
#ifdef IT_SANITIZED
    skip();
#endif
    it_daemon d;
    it_assert_start(&d, NULL);
    /* A result of several MB: x of 600,000 coordinates. */
    const char *body = "{\"solver\":\"distributed.ef21\",\"problem\":{\"generate\":{\"clients\":2,"
                       "\"rows_per_client\":4,\"dim\":600000,\"seed\":1}},\"params\":{\"max_iter\":"
                       "2,\"k\":10}}";
    char id[64], path[160];
    json_decref(it_submit(&d, body, id));
    json_decref(it_wait_for_status(&d, id, "succeeded", 60));
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    it_resp r;
    it_http(&d, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    long result_kb = (long)(r.len / 1024);
    it_resp_free(&r);
    assert_true(result_kb > 4000);
    long before = rss_kb(d.pid);

    int fds[READERS];
    for (int i = 0; i < READERS; i++)
        fds[i] = open_idle_stream(&d, id);
    /* Each stream's replay is done once its first bytes arrive. */
    for (int i = 0; i < READERS; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        assert_int_equal(poll(&p, 1, 60000), 1);
    }
    assert_true(it_metric(&d, "solvd_event_streams") == READERS);
    long after = rss_kb(d.pid);
    long grown = after - before;
    fprintf(stderr, "[sse-memory] result %ld kB, %d idle readers: RSS %ld -> %ld kB (+%ld kB, "
            "%.1f results)\n", result_kb, READERS, before, after, grown,
            (double)grown / (double)result_kb);
    /* One block per result, a few transient copies while replays ran (the pool reads four at a
     * time): far below one copy per reader. */
    assert_true(grown < 12 * result_kb);
    for (int i = 0; i < READERS; i++)
        close(fds[i]);
    assert_true(it_wait_metric(&d, "solvd_event_streams", 0, 30) == 0);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_idle_readers_share_a_result, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/sse_memory", tests, NULL, NULL);
}
