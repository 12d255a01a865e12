/* test_connections.c - slow and greedy clients (server/deadlines.c, the per-address cap of
 * server/http.c): a client trickling its request headers or body one byte at a time is cut off at
 * its deadline, and one address cannot hold more connections than --max-connections-per-ip; the
 * daemon keeps answering everyone else. Raw sockets, since curl would send a request whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static int send_all(int fd, const char *s, size_t n)
{
    return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* 1 when the server closed fd (EOF or reset) within timeout_s, without sending a response. */
static int closed_within(int fd, double timeout_s)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)(timeout_s * 1000)) <= 0)
        return 0;
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* Sends tail one byte every step_s; returns how many bytes went out before the server closed
 * the connection (strlen(tail) when it never did). */
static size_t trickle(int fd, const char *tail, double step_s)
{
    size_t n = strlen(tail);
    for (size_t i = 0; i < n; i++) {
        if (send_all(fd, tail + i, 1) != 0 || closed_within(fd, step_s))
            return i;
    }
    return n;
}

static void assert_healthy(const it_daemon *d)
{
    it_resp r;
    it_http(d, "GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
}

/* Headers one byte at a time: the connection is shut at --header-timeout-s (1 s), long before
 * the 60 bytes (12 s) are out, although every byte arrived within the 60 s idle timeout. Another
 * client meanwhile is answered, and the metric counts the cut. */
static void test_header_deadline(void **state)
{
    (void)state;
    it_daemon d;
    static const char *const args[] = {"--header-timeout-s", "1", NULL};
    it_assert_start(&d, args);
    int fd = it_dial(&d, 0);
    assert_int_equal(send_all(fd, "GET /healthz HTTP/1.1\r\n", 23), 0);
    size_t sent = trickle(fd, "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
                              "\r\n", 0.2);
    assert_true(sent < 40);
    close(fd);
    assert_healthy(&d);
    assert_true(it_metric(&d, "solvd_http_deadline_closed_total{phase=\"headers\"}") == 1);
    assert_true(it_metric(&d, "solvd_http_deadline_closed_total{phase=\"body\"}") == 0);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* A job body one byte at a time is cut at --body-timeout-s; nothing is stored. A whole request
 * sent at once on the same settings is accepted: the deadlines only bound slow clients. */
static void test_body_deadline(void **state)
{
    (void)state;
    it_daemon d;
    static const char *const args[] = {"--header-timeout-s", "1", "--body-timeout-s", "1", NULL};
    it_assert_start(&d, args);
    char *body = it_body_example(&d, IT_EF21, NULL);
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n", strlen(body));
    int fd = it_dial(&d, 0);
    assert_int_equal(send_all(fd, head, (size_t)hn), 0);
    size_t sent = trickle(fd, body, 0.2);
    assert_true(sent < strlen(body) && sent < 40);
    close(fd);
    assert_true(it_metric(&d, "solvd_http_deadline_closed_total{phase=\"body\"}") == 1);
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == 0);
    char id[64];
    json_decref(it_submit(&d, body, id));
    assert_true(it_metric(&d, "solvd_jobs_submitted_total") == 1);
    free(body);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* --max-connections-per-ip 3: three idle connections from 127.0.0.1 are held, a fourth is
 * closed at once; once one of the three goes, a request from the same address is answered. */
static void test_per_address_cap(void **state)
{
    (void)state;
    it_daemon d;
    static const char *const args[] = {"--max-connections-per-ip", "3", NULL};
    it_assert_start(&d, args);
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = it_dial(&d, 0);
    int extra = it_dial(&d, 0);
    assert_true(closed_within(extra, 5.0));
    close(extra);
    for (int i = 0; i < 3; i++)
        assert_false(closed_within(fds[i], 0.05));
    close(fds[0]);
    close(fds[1]);
    /* Give the daemon the moment it needs to see the two close. */
    double t0 = it_now();
    it_resp r;
    do {
        it_sleep(0.05);
        it_http(&d, "GET", "/healthz", NULL, NULL, &r);
        if (r.status == 200)
            break;
        it_resp_free(&r);
    } while (it_now() - t0 < 5.0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    close(fds[2]);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_header_deadline, it_teardown),
        cmocka_unit_test_teardown(test_body_deadline, it_teardown),
        cmocka_unit_test_teardown(test_per_address_cap, it_teardown),
    };
    return cmocka_run_group_tests_name("integration/connections", tests, NULL, NULL);
}
