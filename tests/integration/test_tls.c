/* test_tls.c - HTTPS (--tls-cert, --tls-key): with a certificate made for the test (openssl,
 * self-signed for 127.0.0.1), the API answers over TLS and a client that verifies the
 * certificate against it is served; plain HTTP on that port gets no answer; a missing key or an
 * unreadable file stops the daemon at start-up with a message, before it opens its store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "it_proc.h"

static size_t sink(char *p, size_t s, size_t n, void *data)
{
    (void)p;
    *(size_t *)data += s * n;
    return s * n;
}

/* GET url with curl, the server's certificate checked against ca (NULL: plain HTTP). */
static long get(const char *url, const char *ca, CURLcode *rc)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    size_t got = 0;
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    *rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static void make_cert(const char *dir, char *cert, char *key, size_t n)
{
    snprintf(cert, n, "%s/cert.pem", dir);
    snprintf(key, n, "%s/key.pem", dir);
    char *argv[] = {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert, NULL};
    it_proc p;
    int rc = it_proc_run(argv, NULL, NULL, 60, &p);
    if (rc != 0)
        fprintf(stderr, "[tls] openssl: exit %d\n%s\n", rc, p.err);
    assert_int_equal(rc, 0);
    it_proc_free(&p);
}

static void test_https(void **state)
{
    (void)state;
    char dir[] = "/tmp/solvd-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cert[128], key[128], url[160];
    make_cert(dir, cert, key, sizeof cert);
    const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    it_daemon d;
    it_assert_start(&d, args);
    assert_true(it_daemon_log_contains(&d, "tls=on"));
    CURLcode rc;
    snprintf(url, sizeof url, "https://127.0.0.1:%d/healthz", d.port);
    assert_int_equal(get(url, cert, &rc), 200);
    assert_int_equal(rc, CURLE_OK);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/v1/solvers", d.port);
    assert_int_equal(get(url, cert, &rc), 200);
    /* Without the certificate to trust, the client refuses the server. */
    snprintf(url, sizeof url, "https://127.0.0.1:%d/healthz", d.port);
    assert_int_equal(get(url, NULL, &rc), 0);
    assert_int_not_equal(rc, CURLE_OK);
    /* solvctl over HTTPS: --cacert trusts the certificate; without it, the system's store
     * does not, and solvctl says so (exit 1). */
    char base[96];
    snprintf(base, sizeof base, "https://127.0.0.1:%d", d.port);
    char *with_ca[] = {SOLVCTL_BIN, "--url", base, "--cacert", cert, "solvers", "-o", "fields",
                       NULL};
    it_proc p;
    assert_int_equal(it_proc_run(with_ca, NULL, NULL, 30, &p), 0);
    assert_non_null(strstr(p.out, "distributed.ef21"));
    it_proc_free(&p);
    char *without[] = {SOLVCTL_BIN, "--url", base, "solvers", NULL};
    assert_int_equal(it_proc_run(without, NULL, NULL, 30, &p), 1);
    it_proc_free(&p);
    /* Plain HTTP on the TLS port is not served. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", d.port);
    assert_int_not_equal(get(url, NULL, &rc), 200);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

static void expect_refused(const char *const *extra, const char *message)
{
    char dir[] = "/tmp/solvd-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[160];
    snprintf(db, sizeof db, "%s/solvd.db", dir);
    char *argv[16] = {SOLVD_BIN, "--listen", "127.0.0.1:0", "--db", db};
    int n = 5;
    for (int i = 0; extra[i]; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    it_proc p;
    int rc = it_proc_run(argv, NULL, NULL, 20, &p);
    if (rc != 1 || !strstr(p.err, message))
        fprintf(stderr, "[tls] exit %d, stderr:\n%s\n", rc, p.err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(p.err, message));
    assert_null(strstr(p.err, "store ready"));
    it_proc_free(&p);
    unlink(db);
    rmdir(dir);
}

static void test_bad_tls_settings(void **state)
{
    (void)state;
    const char *no_key[] = {"--tls-cert", "/etc/hostname", NULL};
    expect_refused(no_key, "HTTPS needs both tls-cert and tls-key");
    const char *missing[] = {"--tls-cert", "/nonexistent/cert.pem", "--tls-key",
                             "/nonexistent/key.pem", NULL};
    expect_refused(missing, "cannot read the TLS file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_https, it_teardown),
        cmocka_unit_test(test_bad_tls_settings),
    };
    return cmocka_run_group_tests_name("integration/tls", tests, NULL, NULL);
}
