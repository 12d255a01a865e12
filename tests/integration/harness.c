/* harness.c - the integration tests' daemon control, HTTP client, SSE reader and job helpers
 * (see harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "harness.h"
#include "oas.h"

#ifndef SOLVD_BIN
#error "SOLVD_BIN must name the daemon binary"
#endif

/* ---- static prototypes ---- */
static void global_init(void);
static int spawn(it_daemon *d);
static int reap(it_daemon *d, double timeout_s);
static char *read_file(const char *path, size_t *len);
static void registry_add_pid(pid_t pid);
static void registry_del_pid(pid_t pid);
static void registry_add_dir(const char *dir);
static void registry_del_dir(const char *dir);
static void remove_dir(const char *dir);

/* Fails the current test at the caller's file and line. */
static void failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
static void failf(const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%s\n", msg);
    _fail(file, line);
    abort();   /* _fail does not return */
}

/* ============================================================================================
 * Time
 * ========================================================================================== */

double it_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void it_sleep(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ============================================================================================
 * Registry: what a failed test leaves behind is cleaned by it_teardown and at exit
 * ========================================================================================== */

#define IT_REG_MAX 64
static pid_t g_pids[IT_REG_MAX];
static char g_dirs[IT_REG_MAX][256];

static void registry_add_pid(pid_t pid)
{
    for (int i = 0; i < IT_REG_MAX; i++)
        if (g_pids[i] == 0) {
            g_pids[i] = pid;
            return;
        }
}

static void registry_del_pid(pid_t pid)
{
    for (int i = 0; i < IT_REG_MAX; i++)
        if (g_pids[i] == pid)
            g_pids[i] = 0;
}

static void registry_add_dir(const char *dir)
{
    for (int i = 0; i < IT_REG_MAX; i++)
        if (!g_dirs[i][0]) {
            snprintf(g_dirs[i], sizeof g_dirs[i], "%s", dir);
            return;
        }
}

static void registry_del_dir(const char *dir)
{
    for (int i = 0; i < IT_REG_MAX; i++)
        if (strcmp(g_dirs[i], dir) == 0)
            g_dirs[i][0] = 0;
}

static void kill_all(void)
{
    for (int i = 0; i < IT_REG_MAX; i++) {
        if (g_pids[i] > 0) {
            kill(g_pids[i], SIGKILL);
            waitpid(g_pids[i], NULL, 0);
            g_pids[i] = 0;
        }
    }
}

static void cleanup_all(void)
{
    kill_all();
    for (int i = 0; i < IT_REG_MAX; i++) {
        if (g_dirs[i][0]) {
            remove_dir(g_dirs[i]);
            g_dirs[i][0] = 0;
        }
    }
}

/* Responses that did not match docs/openapi.json, as counted when the last test ended. */
static int g_oas_seen;

int it_teardown(void **state)
{
    (void)state;
    cleanup_all();
    int now = it_oas_failures();
    if (now > g_oas_seen) {
        print_error("%d response(s) of this test do not match docs/openapi.json (see "
                    "[openapi] above)\n", now - g_oas_seen);
        g_oas_seen = now;
        return -1;
    }
    return 0;
}

static void at_exit(void)
{
    cleanup_all();
    curl_global_cleanup();
    /* A mismatch that no teardown reported (a test without it_teardown) still fails the run. */
    if (it_oas_failures() > g_oas_seen) {
        fprintf(stderr, "[openapi] %d response(s) do not match docs/openapi.json\n",
                it_oas_failures() - g_oas_seen);
        fflush(NULL);
        _exit(1);
    }
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void do_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* A daemon that dies must not kill the test with SIGPIPE on a half-written request. */
    signal(SIGPIPE, SIG_IGN);
    atexit(at_exit);
}

static void global_init(void) { pthread_once(&g_once, do_global_init); }

/* ============================================================================================
 * Files
 * ========================================================================================== */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 4096 + 1 > cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static void remove_dir(const char *dir)
{
    if (getenv("IT_KEEP")) {
        fprintf(stderr, "[harness] kept %s\n", dir);
        return;
    }
    DIR *dp = opendir(dir);
    if (dp) {
        struct dirent *e;
        while ((e = readdir(dp)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(dp);
    }
    rmdir(dir);
}

/* ============================================================================================
 * The daemon
 * ========================================================================================== */

static int has_arg(const it_daemon *d, const char *name)
{
    for (int i = 0; i < d->nargs; i++)
        if (strcmp(d->args[i], name) == 0)
            return 1;
    return 0;
}

int it_daemon_start(it_daemon *d, const char *const *args)
{
    global_init();
    memset(d, 0, sizeof *d);
    const char *tmp = getenv("TMPDIR");
    snprintf(d->dir, sizeof d->dir, "%s/solvd-it-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(d->dir)) {
        fprintf(stderr, "[harness] mkdtemp %s: %s\n", d->dir, strerror(errno));
        return -1;
    }
    registry_add_dir(d->dir);
    snprintf(d->db, sizeof d->db, "%s/solvd.db", d->dir);
    size_t used = 0;
    for (const char *const *a = args; a && *a; a++) {
        size_t n = strlen(*a) + 1;
        if (d->nargs >= IT_MAX_ARGS - 2 || used + n + 16 > sizeof d->argbuf) {
            fprintf(stderr, "[harness] too many daemon arguments\n");
            return -1;
        }
        memcpy(d->argbuf + used, *a, n);
        d->args[d->nargs++] = d->argbuf + used;
        used += n;
    }
    if (!has_arg(d, "--workers")) {
        static const char *const dflt[] = {"--workers", "2"};
        for (int i = 0; i < 2; i++) {
            size_t n = strlen(dflt[i]) + 1;
            memcpy(d->argbuf + used, dflt[i], n);
            d->args[d->nargs++] = d->argbuf + used;
            used += n;
        }
    }
    return spawn(d);
}

int it_daemon_restart(it_daemon *d)
{
    if (d->pid) {
        fprintf(stderr, "[harness] restart of a daemon that still runs\n");
        return -1;
    }
    return spawn(d);
}

/* The port from the `msg="listening"` line, 0 while there is none or the daemon is not ready
 * yet (it listens before it opens the store: `msg="solvd ready"` ends the start-up, and the log
 * lines of recovery come before it). */
static int parse_port(const char *log)
{
    if (!log || !strstr(log, "msg=\"solvd ready\""))
        return 0;
    for (const char *line = log; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            break;   /* an incomplete line: wait for the rest */
        const char *m = strstr(line, "msg=\"listening\"");
        if (m && m < end) {
            const char *p = strstr(line, " port=");
            if (p && p < end)
                return atoi(p + 6);
        }
        line = end + 1;
    }
    return 0;
}

static int spawn(it_daemon *d)
{
    d->starts++;
    snprintf(d->log, sizeof d->log, "%s/solvd.%d.log", d->dir, d->starts);
    const char *argv[IT_MAX_ARGS + 16];
    int n = 0;
    argv[n++] = SOLVD_BIN;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--db";
    argv[n++] = d->db;
    /* No --data-dir: the daemon's built-in default, data/ of the source tree, is what a clone
     * runs with (test_errors pins it). */
    for (int i = 0; i < d->nargs; i++)
        argv[n++] = d->args[i];
    argv[n] = NULL;

    int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "[harness] cannot create %s: %s\n", d->log, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
#ifdef __linux__
        /* The daemon must not outlive a test process that dies. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        dup2(fd, 2);
        /* No client socket of this process may live on in the daemon (it would hide a
         * hang-up from the server). */
        for (int k = 3; k < 4096; k++)
            close(k);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fd);
    d->pid = pid;
    d->port = 0;
    registry_add_pid(pid);

    double t0 = it_now();
    while (it_now() - t0 < IT_START_TIMEOUT_S) {
        char *log = read_file(d->log, NULL);
        int port = log ? parse_port(log) : 0;
        free(log);
        if (port > 0) {
            d->port = port;
            /* The @reads-pool runs of ctest set SOLVD_READS_OFF_LOOP=1 for the daemon: make
             * sure it took the pool path, or those runs would test the inline one twice. */
            const char *off = getenv("SOLVD_READS_OFF_LOOP");
            if (off && strcmp(off, "1") == 0 && !it_daemon_log_contains(d, "reads=pool")) {
                fprintf(stderr, "[harness] SOLVD_READS_OFF_LOOP=1 but the daemon does not "
                                "say reads=pool\n");
                it_daemon_dump_log(d);
                it_daemon_kill9(d);
                return -1;
            }
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            registry_del_pid(pid);
            d->pid = 0;
            fprintf(stderr, "[harness] the daemon exited during start-up (status %d)\n",
                    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            it_daemon_dump_log(d);
            return -1;
        }
        it_sleep(0.01);
    }
    fprintf(stderr, "[harness] no 'listening' line within %g s\n", IT_START_TIMEOUT_S);
    it_daemon_dump_log(d);
    it_daemon_kill9(d);
    return -1;
}

static int reap(it_daemon *d, double timeout_s)
{
    double t0 = it_now();
    int st = 0;
    for (;;) {
        pid_t r = waitpid(d->pid, &st, WNOHANG);
        if (r == d->pid)
            break;
        if (r < 0 && errno != EINTR) {
            registry_del_pid(d->pid);
            d->pid = 0;
            return -1;
        }
        if (it_now() - t0 > timeout_s) {
            fprintf(stderr, "[harness] the daemon did not exit within %g s: kill -9\n",
                    timeout_s);
            it_daemon_dump_log(d);
            it_daemon_kill9(d);
            return -1;
        }
        it_sleep(0.01);
    }
    registry_del_pid(d->pid);
    d->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int it_daemon_stop(it_daemon *d, double timeout_s)
{
    if (!d->pid)
        return -1;
    kill(d->pid, SIGTERM);
    return reap(d, timeout_s > 0 ? timeout_s : IT_STOP_TIMEOUT_S);
}

void it_daemon_term(it_daemon *d)
{
    if (d->pid)
        kill(d->pid, SIGTERM);
}

int it_daemon_wait(it_daemon *d, double timeout_s)
{
    if (!d->pid)
        return -1;
    return reap(d, timeout_s > 0 ? timeout_s : IT_STOP_TIMEOUT_S);
}

void it_daemon_kill9(it_daemon *d)
{
    if (!d->pid)
        return;
    kill(d->pid, SIGKILL);
    while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    registry_del_pid(d->pid);
    d->pid = 0;
}

void it_daemon_destroy(it_daemon *d)
{
    it_daemon_kill9(d);
    if (d->dir[0]) {
        remove_dir(d->dir);
        registry_del_dir(d->dir);
        d->dir[0] = 0;
    }
}

int it_daemon_log_contains(const it_daemon *d, const char *needle)
{
    return it_daemon_log_find(d, needle, NULL) >= 0;
}

long it_daemon_log_find(const it_daemon *d, const char *a, const char *b)
{
    char *log = read_file(d->log, NULL);
    long at = -1;
    for (char *line = log; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = 0;
        if (strstr(line, a) && (!b || strstr(line, b))) {
            at = (long)(line - log);
            break;
        }
        if (!end)
            break;
        line = end + 1;
    }
    free(log);
    return at;
}

void it_daemon_dump_log(const it_daemon *d)
{
    size_t len = 0;
    char *log = read_file(d->log, &len);
    if (!log) {
        fprintf(stderr, "[harness] no log at %s\n", d->log);
        return;
    }
    const char *from = len > 6000 ? log + len - 6000 : log;
    fprintf(stderr, "[harness] ---- %s (last %zu bytes) ----\n%s[harness] ---- end ----\n",
            d->log, strlen(from), from);
    free(log);
}

void it__assert_start(const char *file, int line, it_daemon *d, const char *const *args)
{
    if (it_daemon_start(d, args) != 0)
        failf(file, line, "the daemon did not start");
}

void it__assert_restart(const char *file, int line, it_daemon *d)
{
    if (it_daemon_restart(d) != 0)
        failf(file, line, "the daemon did not restart");
}

/* Sanitizer reports in any log of this daemon (each start has its own). */
static int sanitizer_report(const it_daemon *d)
{
    static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "runtime error:", "UndefinedBehaviorSanitizer", NULL};
    int found = 0;
    for (int i = 1; i <= d->starts && !found; i++) {
        char path[340];
        snprintf(path, sizeof path, "%s/solvd.%d.log", d->dir, i);
        char *log = read_file(path, NULL);
        for (int k = 0; log && marks[k]; k++)
            if (strstr(log, marks[k])) {
                fprintf(stderr, "[harness] sanitizer report in %s\n", path);
                found = 1;
            }
        free(log);
    }
    return found;
}

static void assert_exit_ok(const char *file, int line, it_daemon *d, int rc)
{
    int report = sanitizer_report(d);
    if (rc != 0 || report) {
        it_daemon_dump_log(d);
        failf(file, line, "the daemon did not exit cleanly after SIGTERM: exit status %d%s", rc,
              report ? " (a sanitizer report is in its log)" : "");
    }
}

void it__assert_clean_exit(const char *file, int line, it_daemon *d)
{
    assert_exit_ok(file, line, d, it_daemon_stop(d, 0));
}

void it__assert_exits_cleanly(const char *file, int line, it_daemon *d)
{
    assert_exit_ok(file, line, d, it_daemon_wait(d, 0));
}

/* ============================================================================================
 * HTTP
 * ========================================================================================== */

typedef struct {
    char *buf;
    size_t len, cap;
} buf_t;

static int buf_add(buf_t *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb)
            return -1;
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    b->buf[b->len] = 0;
    return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    return buf_add(ud, p, size * nmemb) == 0 ? size * nmemb : 0;
}

typedef struct {
    const char *p;
    size_t left;
} upload_t;

static size_t on_read(char *dst, size_t size, size_t nmemb, void *ud)
{
    upload_t *u = ud;
    size_t n = size * nmemb;
    /* Small pieces, so that a chunked body really arrives in many chunks. */
    if (n > 4096)
        n = 4096;
    if (n > u->left)
        n = u->left;
    memcpy(dst, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static int header_given(const char *const *headers, const char *name)
{
    size_t nl = strlen(name);
    for (const char *const *h = headers; h && *h; h++)
        if (strncasecmp(*h, name, nl) == 0 && (*h)[nl] == ':')
            return 1;
    return 0;
}

static void url_of(const it_daemon *d, const char *path, char *url, size_t n)
{
    snprintf(url, n, "http://127.0.0.1:%d%s", d->port, path);
}

static struct curl_slist *build_headers(const it_daemon *d, const char *const *headers,
                                        int json_body)
{
    struct curl_slist *h = NULL;
    for (const char *const *p = headers; p && *p; p++)
        h = curl_slist_append(h, *p);
    if (d->auth[0] && !header_given(headers, "Authorization"))
        h = curl_slist_append(h, d->auth);
    if (json_body && !header_given(headers, "Content-Type"))
        h = curl_slist_append(h, "Content-Type: application/json");
    return h;
}

int it_dial(const it_daemon *d, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

int it_http(const it_daemon *d, const char *method, const char *path, const char *body,
            const it_req_opts *opts, it_resp *r)
{
    global_init();
    memset(r, 0, sizeof *r);
    it_req_opts none;
    memset(&none, 0, sizeof none);
    if (!opts)
        opts = &none;
    CURL *c = curl_easy_init();
    if (!c) {
        r->curl_rc = CURLE_FAILED_INIT;
        return -1;
    }
    /* Sized to the path: a test may send a request line past the server's limits. */
    size_t url_n = strlen(path) + 64;
    char *url = malloc(url_n);
    if (!url) {
        curl_easy_cleanup(c);
        r->curl_rc = CURLE_OUT_OF_MEMORY;
        return -1;
    }
    url_of(d, path, url, url_n);
    buf_t bb = {0}, hb = {0};
    upload_t up = {body, body ? (opts->body_len ? opts->body_len : strlen(body)) : 0};
    const char *chunk_hdr[2] = {"Transfer-Encoding: chunked", NULL};
    struct curl_slist *h = build_headers(d, opts->headers, body != NULL);
    if (opts->chunked)
        h = curl_slist_append(h, chunk_hdr[0]);
    double timeout = opts->timeout_s > 0 ? opts->timeout_s : IT_HTTP_TIMEOUT_S;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (strcmp(method, "GET") == 0 && !body) {
        /* the default */
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (body && opts->chunked) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else {
        if (body || strcmp(method, "POST") == 0) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)up.left);
        }
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    r->curl_rc = (int)rc;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *ctype = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
    r->body = bb.buf ? bb.buf : calloc(1, 1);
    r->len = bb.len;
    r->headers = hb.buf ? hb.buf : calloc(1, 1);
    if (r->len)
        r->json = json_loadb(r->body, r->len, 0, NULL);
    /* Every answer is checked against the API's description (oas.h). */
    if (rc == CURLE_OK && r->status > 0) {
        char why[1500];
        if (it_oas_check_response(method, path, r->status, ctype, r->body, r->len, why,
                                  sizeof why) != 0) {
            r->oas_mismatch = 1;
            it_oas_record_failure(method, path, r->status, why, r->body);
        }
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    free(url);
    return rc == CURLE_OK ? 0 : -1;
}

void it_resp_free(it_resp *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

const char *it_resp_header(const it_resp *r, const char *name, char *buf, size_t n)
{
    size_t nl = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        if (ll > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = ll - (size_t)(v - line);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            if (vl >= n)
                vl = n - 1;
            memcpy(buf, v, vl);
            buf[vl] = 0;
            return buf;
        }
        if (!end)
            break;
        line = end + 1;
    }
    return NULL;
}

json_t *it__call(const char *file, int line, const it_daemon *d, const char *method,
                 const char *path, const char *body, const char *const *headers, long expect)
{
    it_resp r;
    it_req_opts o;
    memset(&o, 0, sizeof o);
    o.headers = headers;
    it_http(d, method, path, body, &o, &r);
    if (r.oas_mismatch) {
        it_resp_free(&r);
        failf(file, line, "%s %s: the answer does not match docs/openapi.json", method, path);
    }
    if (r.curl_rc != CURLE_OK || r.status != expect || !r.json) {
        fprintf(stderr, "[harness] %s %s -> curl %d (%s), status %ld (expected %ld), body: %.2000s\n",
                method, path, r.curl_rc, curl_easy_strerror((CURLcode)r.curl_rc), r.status,
                expect, r.body ? r.body : "");
        long got = r.status;
        int json = r.json != NULL;
        it_resp_free(&r);
        if (got == expect && !json)
            failf(file, line, "%s %s: the body is not JSON", method, path);
        failf(file, line, "%s %s: status %ld, expected %ld", method, path, got, expect);
    }
    json_t *j = r.json;
    r.json = NULL;
    it_resp_free(&r);
    return j;
}

void it__assert_error(const char *file, int line, it_resp *r, long status, const char *code,
                      const char *path)
{
    char ct[128];
    const char *what = NULL;
    json_t *e = r->json ? json_object_get(r->json, "error") : NULL;
    json_t *p = e ? json_object_get(e, "path") : NULL;
    if (r->status != status)
        what = "status";
    else if (!it_resp_header(r, "Content-Type", ct, sizeof ct) ||
             strncmp(ct, "application/json", 16) != 0)
        what = "content type";
    else if (!json_is_object(e))
        what = "no error object";
    else if (strcmp(it_str(e, "code"), code) != 0)
        what = "error code";
    else if (!it_str(e, "message")[0])
        what = "empty message";
    else if (path && (!json_is_string(p) || strcmp(json_string_value(p), path) != 0))
        what = "error path";
    else if (!path && p && !(json_is_string(p) && json_string_value(p)[0] == 0))
        what = "unexpected error path";
    if (what) {
        fprintf(stderr, "[harness] expected %ld %s path=%s, got %ld: %.1500s\n", status, code,
                path ? path : "(none)", r->status, r->body ? r->body : "");
        it_resp_free(r);
        failf(file, line, "wrong error response: %s", what);
    }
    it_resp_free(r);
}

/* ============================================================================================
 * Server-Sent Events
 * ========================================================================================== */

int it_stop_on_type(const it_stream *s, void *data)
{
    return s->n > 0 && strcmp(s->ev[s->n - 1].type, (const char *)data) == 0;
}

int it_stop_at_count(const it_stream *s, void *data) { return (long)s->n >= *(long *)data; }

int it_stop_at_keepalives(const it_stream *s, void *data) { return s->keepalives >= *(int *)data; }

static void event_clear(it_event *e)
{
    free(e->data);
    json_decref(e->json);
    memset(e, 0, sizeof *e);
    e->id = -1;
}

static int check_stop(it_stream *s)
{
    if (s->stop && s->stop(s, s->stop_data)) {
        s->stopped = 1;
        return 1;
    }
    return 0;
}

/* Returns 1 when the stop condition holds. */
static int dispatch(it_stream *s)
{
    if (!s->cur_has)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        it_event *ev = realloc(s->ev, cap * sizeof *ev);
        if (!ev)
            return 1;
        s->ev = ev;
        s->cap = cap;
    }
    it_event *e = &s->ev[s->n++];
    *e = s->cur;
    if (!e->type[0])
        snprintf(e->type, sizeof e->type, "message");
    if (!e->data)
        e->data = calloc(1, 1);
    e->json = json_loads(e->data, 0, NULL);
    memset(&s->cur, 0, sizeof s->cur);
    s->cur.id = -1;
    s->cur_has = 0;
    s->cur_data_len = 0;
    return check_stop(s);
}

/* Returns 1 when the stop condition holds. */
static int process_line(it_stream *s, char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        line[--len] = 0;
    if (!s->seen_any) {
        s->seen_any = 1;
        s->first_is_comment = len > 0 && line[0] == ':';
    }
    if (len == 0)
        return dispatch(s);
    if (line[0] == ':') {
        s->comments++;
        const char *t = line + 1;
        if (*t == ' ')
            t++;
        if (strcmp(t, "keep-alive") == 0)
            s->keepalives++;
        return check_stop(s);
    }
    char *colon = strchr(line, ':');
    const char *value = "";
    if (colon) {
        *colon = 0;
        value = colon + 1;
        if (*value == ' ')
            value++;
    }
    if (strcmp(line, "event") == 0) {
        snprintf(s->cur.type, sizeof s->cur.type, "%s", value);
        s->cur_has = 1;
    } else if (strcmp(line, "id") == 0) {
        char *end;
        long id = strtol(value, &end, 10);
        s->cur.id = *end ? -2 : id;
        s->cur_has = 1;
    } else if (strcmp(line, "data") == 0) {
        size_t vl = strlen(value);
        size_t need = s->cur_data_len + vl + 2;
        char *nd = realloc(s->cur.data, need);
        if (!nd)
            return 1;
        s->cur.data = nd;
        if (s->cur_data_len)
            nd[s->cur_data_len++] = '\n';
        memcpy(nd + s->cur_data_len, value, vl);
        s->cur_data_len += vl;
        nd[s->cur_data_len] = 0;
        s->cur_has = 1;
    }
    return 0;
}

static size_t on_sse_header(char *p, size_t size, size_t nmemb, void *ud)
{
    it_stream *s = ud;
    size_t n = size * nmemb;
    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', n);
        s->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        s->content_type[0] = 0;
    } else if (n > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
        size_t i = 13;
        while (i < n && p[i] == ' ')
            i++;
        size_t vl = n - i;
        while (vl && (p[i + vl - 1] == '\r' || p[i + vl - 1] == '\n'))
            vl--;
        if (vl >= sizeof s->content_type)
            vl = sizeof s->content_type - 1;
        memcpy(s->content_type, p + i, vl);
        s->content_type[vl] = 0;
    }
    return n;
}

static size_t on_sse_body(char *p, size_t size, size_t nmemb, void *ud)
{
    it_stream *s = ud;
    size_t n = size * nmemb;
    s->connected = 1;
    if (s->status != 200 || strncmp(s->content_type, "text/event-stream", 17) != 0) {
        char *raw = realloc(s->raw, s->raw_len + n + 1);
        if (!raw)
            return 0;
        memcpy(raw + s->raw_len, p, n);
        s->raw = raw;
        s->raw_len += n;
        raw[s->raw_len] = 0;
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            if (!s->line) {
                s->line = malloc(64);
                if (!s->line)
                    return 0;
                s->line_cap = 64;
            }
            s->line[s->line_len] = 0;
            int stop = process_line(s, s->line, s->line_len);
            s->line_len = 0;
            if (stop)
                return 0;   /* hang up */
            continue;
        }
        if (s->line_len + 2 > s->line_cap) {
            size_t cap = s->line_cap ? s->line_cap * 2 : 256;
            char *nl = realloc(s->line, cap);
            if (!nl)
                return 0;
            s->line = nl;
            s->line_cap = cap;
        }
        s->line[s->line_len++] = p[i];
    }
    return n;
}

static int on_sse_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    it_stream *s = ud;
    return s->abort_now ? 1 : 0;
}

static void stream_init(it_stream *s, it_stop_fn stop, void *stop_data)
{
    memset(s, 0, sizeof *s);
    s->cur.id = -1;
    s->stop = stop;
    s->stop_data = stop_data;
}

static int sse_run(const it_daemon *d, const char *path, const char *const *headers,
                   double timeout_s, it_stream *s)
{
    CURL *c = curl_easy_init();
    if (!c) {
        s->curl_rc = CURLE_FAILED_INIT;
        return -1;
    }
    char url[1200];
    url_of(d, path, url, sizeof url);
    struct curl_slist *h = build_headers(d, headers, 0);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_sse_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_sse_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_sse_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    s->curl_rc = (int)rc;
    /* The stream's status and media type (and an error's body) against docs/openapi.json. */
    if (s->status > 0 && (rc == CURLE_OK || s->connected)) {
        char why[1500];
        if (it_oas_check_response("GET", path, s->status, s->content_type, s->raw, s->raw_len,
                                  why, sizeof why) != 0)
            it_oas_record_failure("GET", path, s->status, why, s->raw);
    }
    /* An event still being assembled when the stream stopped is not an event. */
    event_clear(&s->cur);
    s->cur_has = 0;
    if (rc == CURLE_OK) {
        s->ended = 1;
        return 0;
    }
    if (s->stopped)
        return 0;
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        s->stopped = 1;
        return 0;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        s->timed_out = 1;
        return 0;
    }
    return -1;
}

int it_sse(const it_daemon *d, const char *path, const char *const *headers, double timeout_s,
           it_stop_fn stop, void *stop_data, it_stream *s)
{
    global_init();
    stream_init(s, stop, stop_data);
    return sse_run(d, path, headers, timeout_s, s);
}

void it_stream_free(it_stream *s)
{
    for (size_t i = 0; i < s->n; i++)
        event_clear(&s->ev[i]);
    free(s->ev);
    free(s->line);
    free(s->raw);
    event_clear(&s->cur);
    memset(s, 0, sizeof *s);
}

const it_event *it_stream_find(const it_stream *s, const char *type, size_t from)
{
    for (size_t i = from; i < s->n; i++)
        if (strcmp(s->ev[i].type, type) == 0)
            return &s->ev[i];
    return NULL;
}

struct it_sse_bg {
    it_daemon d;
    char path[512];
    const char *const *headers;
    double timeout_s;
    it_stream s;
    pthread_t thread;
    int joined;
};

static void *bg_main(void *arg)
{
    it_sse_bg *b = arg;
    sse_run(&b->d, b->path, b->headers, b->timeout_s, &b->s);
    return NULL;
}

it_sse_bg *it_sse_bg_start(const it_daemon *d, const char *path, const char *const *headers,
                           double timeout_s, it_stop_fn stop, void *stop_data)
{
    global_init();
    it_sse_bg *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->d = *d;
    snprintf(b->path, sizeof b->path, "%s", path);
    b->headers = headers;
    b->timeout_s = timeout_s;
    stream_init(&b->s, stop, stop_data);
    if (pthread_create(&b->thread, NULL, bg_main, b) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

int it_sse_bg_wait_connected(it_sse_bg *b, double timeout_s)
{
    double t0 = it_now();
    while (!b->s.connected) {
        if (it_now() - t0 > timeout_s)
            return -1;
        it_sleep(0.005);
    }
    return 0;
}

void it_sse_bg_abort(it_sse_bg *b) { b->s.abort_now = 1; }

it_stream *it_sse_bg_join(it_sse_bg *b)
{
    if (!b->joined) {
        pthread_join(b->thread, NULL);
        b->joined = 1;
    }
    return &b->s;
}

void it_sse_bg_free(it_sse_bg *b)
{
    if (!b)
        return;
    if (!b->joined) {
        b->s.abort_now = 1;
        it_sse_bg_join(b);
    }
    it_stream_free(&b->s);
    free(b);
}

/* ============================================================================================
 * Jobs
 * ========================================================================================== */

const char *it_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static char *with_extra(json_t *body, const char *extra)
{
    if (extra) {
        json_error_t err;
        json_t *x = json_loads(extra, 0, &err);
        if (!json_is_object(x)) {
            json_decref(x);
            json_decref(body);
            fail_msg("bad extra JSON in a test: %s", extra);
        }
        json_object_update(body, x);
        json_decref(x);
    }
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return s;
}

char *it_body_iters(long max_iter, long report_every, const char *extra)
{
    json_t *b = json_pack("{s:s, s:{s:{s:i, s:i, s:i, s:s, s:i}}, s:{s:i, s:I, s:I}}", "solver",
                          IT_EF21, "problem", "generate", "clients", 4, "rows_per_client", 50,
                          "dim", 50, "loss", "squared", "seed", 3, "params", "tol", 0, "max_iter",
                          (json_int_t)max_iter, "report_every", (json_int_t)report_every);
    return with_extra(b, extra);
}

char *it_body_long(const char *extra) { return it_body_iters(1000000000L, 100, extra); }

char *it__body_example(const char *file, int line, const it_daemon *d, const char *solver,
                       const char *extra)
{
    char path[300];
    snprintf(path, sizeof path, "/v1/solvers/%s", solver);
    json_t *s = it__call(file, line, d, "GET", path, NULL, NULL, 200);
    json_t *ex = json_object_get(s, "example");
    if (!json_is_object(ex)) {
        json_decref(s);
        failf(file, line, "solver %s has no example object", solver);
    }
    json_t *body = json_deep_copy(ex);
    json_decref(s);
    json_object_set_new(body, "solver", json_string(solver));
    return with_extra(body, extra);
}

json_t *it__submit(const char *file, int line, const it_daemon *d, const char *body,
                   const char *const *headers, char id[64])
{
    json_t *j = it__call(file, line, d, "POST", "/v1/jobs", body, headers, 201);
    if (strcmp(it_str(j, "status"), "queued") != 0 || !it_str(j, "id")[0]) {
        char *s = json_dumps(j, JSON_COMPACT);
        fprintf(stderr, "[harness] submit answered %s\n", s);
        free(s);
        json_decref(j);
        failf(file, line, "201 without an id and status queued");
    }
    if (id)
        snprintf(id, 64, "%s", it_str(j, "id"));
    return j;
}

json_t *it__get_job(const char *file, int line, const it_daemon *d, const char *id)
{
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    return it__call(file, line, d, "GET", path, NULL, NULL, 200);
}

static int final_status(const char *s)
{
    return strcmp(s, "succeeded") == 0 || strcmp(s, "failed") == 0 ||
           strcmp(s, "cancelled") == 0 || strcmp(s, "timed_out") == 0;
}

json_t *it__wait_for_status(const char *file, int line, const it_daemon *d, const char *id,
                            const char *status, double timeout_s)
{
    char path[200];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    double t0 = it_now();
    for (;;) {
        it_resp r;
        it_http(d, "GET", path, NULL, NULL, &r);
        if (r.status == 200 && r.json) {
            const char *st = it_str(r.json, "status");
            if (strcmp(st, status) == 0) {
                json_t *j = r.json;
                r.json = NULL;
                it_resp_free(&r);
                return j;
            }
            if (final_status(st)) {
                fprintf(stderr, "[harness] job %s ended %s, waiting for %s: %.2000s\n", id, st,
                        status, r.body);
                it_resp_free(&r);
                failf(file, line, "job %s reached another final state than %s", id, status);
            }
        } else {
            fprintf(stderr, "[harness] GET %s -> curl %d status %ld: %.500s\n", path, r.curl_rc,
                    r.status, r.body ? r.body : "");
            it_resp_free(&r);
            failf(file, line, "GET %s failed while waiting for %s", path, status);
        }
        if (it_now() - t0 > timeout_s) {
            fprintf(stderr, "[harness] job %s still %s after %g s, waiting for %s\n", id,
                    it_str(r.json, "status"), timeout_s, status);
            it_resp_free(&r);
            failf(file, line, "timed out waiting for job %s to be %s", id, status);
        }
        it_resp_free(&r);
        it_sleep(0.01);
    }
}

double it_metric(const it_daemon *d, const char *name)
{
    it_resp r;
    it_http(d, "GET", "/metrics", NULL, NULL, &r);
    double v = -1;
    size_t nl = strlen(name);
    for (const char *line = r.body; r.status == 200 && line && *line;) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, name, nl) == 0 && line[nl] == ' ') {
            v = strtod(line + nl + 1, NULL);
            break;
        }
        if (!end)
            break;
        line = end + 1;
    }
    it_resp_free(&r);
    return v;
}

int it_wait_metric(const it_daemon *d, const char *name, double want, double timeout_s)
{
    double t0 = it_now();
    while (it_now() - t0 <= timeout_s) {
        if (it_metric(d, name) == want)
            return 0;
        it_sleep(0.02);
    }
    return -1;
}
