/* test_docs_examples.c - the curl examples of the documentation run as written, against a real
 * daemon, and answer with the status the page shows.
 *
 * Two forms are read from README.md, docs/ *.md and docs/solvers/ *.md:
 *  - transcripts: a fenced block whose lines "$ curl ..." are each followed by their output.
 *    Each command runs on its own. The status it must get is the one shown: an "HTTP/1.1 NNN"
 *    line (curl -i), a " [NNN]" line (curl -w), the status of a shown error body's code, and
 *    2xx otherwise. When an error body shows a "path", the real one must be the same.
 *  - scripts: a ```sh block (curl commands, variable assignments, sleep/wait), followed by an
 *    optional plain block with its output. A file's scripts run in order in one shell, so a
 *    variable set in one block is seen by the next; every curl in them must get 2xx, except a
 *    block with one curl whose shown output is an error body.
 *
 * The pages were written against a daemon in some state (a job running, a key used before, a
 * server draining, tokens on). The state is rebuilt from what the example shows, not from its
 * prose: a job id in a command is replaced by the id of a real job in the state its answer
 * needs (finished, a fresh one for a DELETE; running for a cancel answered 202; queued for a
 * cancel answered 200; left unknown for a 404); a 409 submission with an Idempotency-Key runs after that key was used
 * with another body; a 503 from /healthz runs on a draining daemon; examples with a bearer
 * token, or in a section about authentication, run on a daemon with those tokens. Commands with
 * "..." (a placeholder) are skipped and listed. Every curl gets a time limit.
 *
 * The names the pages use are checked too (test_docs_name_real_members): each solver's catalog
 * example is run, and its page must name every parameter the solver takes, and its Progress
 * section only members the solver really sends (or its parameters, result members and status
 * words); the progress events shown in any page may hold only members some solver sends; and
 * every error object shown (`{"error": {...}}`, or its inner `{"code", "message", "path"}`) must
 * be the API's Error shape of docs/openapi.json (so `field` for `path` fails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "it_proc.h"
#include "oas.h"

#ifndef SOLVD_SOURCE_DIR
#error "SOLVD_SOURCE_DIR must name the source tree"
#endif

#define MAX_EXAMPLES 512
#define CURL_MAX_S "20"

typedef enum { EX_TRANSCRIPT, EX_SCRIPT } ex_mode;

typedef struct {
    char file[128];        /* relative to the source tree */
    int line;
    ex_mode mode;
    char section[200];     /* the heading above the example */
    char *cmd;             /* transcript: one command; script: the block */
    char *shown;           /* the output shown after it ("" if none) */
} example;

static example g_ex[MAX_EXAMPLES];
static int g_nex;

/* ---------------------------------------------------------------------------------------------
 * Small string helpers
 * ------------------------------------------------------------------------------------------- */
static char *xstrdup(const char *s) { return strdup(s ? s : ""); }

static char *append(char *a, const char *b)
{
    size_t la = a ? strlen(a) : 0, lb = strlen(b);
    char *r = realloc(a, la + lb + 1);
    assert_non_null(r);
    memcpy(r + la, b, lb + 1);
    return r;
}

/* All occurrences of from replaced by to; a new string. */
static char *replace_all(const char *s, const char *from, const char *to)
{
    char *out = xstrdup("");
    size_t lf = strlen(from);
    const char *p = s, *q;
    while ((q = strstr(p, from))) {
        char *chunk = strndup(p, (size_t)(q - p));
        out = append(out, chunk);
        free(chunk);
        out = append(out, to);
        p = q + lf;
    }
    return append(out, p);
}

static int is_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* Job ids (22 lower-case hex digits) in s replaced by id; a new string. *found counts them. */
static char *replace_ids(const char *s, const char *id, int *found)
{
    char *out = xstrdup("");
    *found = 0;
    size_t n = strlen(s), i = 0, start = 0;
    while (i < n) {
        if (is_hex((unsigned char)s[i]) && (i == 0 || !isalnum((unsigned char)s[i - 1]))) {
            size_t j = i;
            while (j < n && is_hex((unsigned char)s[j]))
                j++;
            if (j - i == 22 && (j == n || !isalnum((unsigned char)s[j]))) {
                char *chunk = strndup(s + start, i - start);
                out = append(out, chunk);
                free(chunk);
                char orig[23];
                memcpy(orig, s + i, 22);
                orig[22] = 0;
                out = append(out, id ? id : orig);
                (*found)++;
                start = i = j;
                continue;
            }
            i = j;
            continue;
        }
        i++;
    }
    return append(out, s + start);
}

static int count_quotes(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\'';
    return n;
}

/* The status of an API error code (the table of api/errors.c, which the test does not link). */
static int status_of_code(const char *code)
{
    static const struct {
        const char *code;
        int status;
    } t[] = {{"bad_json", 400},         {"bad_request", 400},
             {"unauthorized", 401},     {"not_found", 404},
             {"method_not_allowed", 405}, {"conflict", 409},
             {"payload_too_large", 413}, {"unsupported_media_type", 415},
             {"invalid", 422},          {"unknown_solver", 422},
             {"internal", 500},         {"unavailable", 503}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].code, code) == 0)
            return t[i].status;
    return 0;
}

/* The value of "key":"..." in s into out; 0 if absent. */
static int json_string_in(const char *s, const char *key, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(s, pat);
    if (!p)
        return 0;
    p += strlen(pat);
    size_t i = 0;
    while (p[i] && p[i] != '"' && i + 1 < n) {
        out[i] = p[i];
        i++;
    }
    out[i] = 0;
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Reading the pages
 * ------------------------------------------------------------------------------------------- */
static void add_example(const char *file, int line, ex_mode mode, const char *section,
                        char *cmd, char *shown)
{
    assert_true(g_nex < MAX_EXAMPLES);
    example *e = &g_ex[g_nex++];
    snprintf(e->file, sizeof e->file, "%s", file);
    e->line = line;
    e->mode = mode;
    snprintf(e->section, sizeof e->section, "%s", section);
    e->cmd = cmd;
    e->shown = shown ? shown : xstrdup("");
}

static int is_script_info(const char *info)
{
    return strcmp(info, "sh") == 0 || strcmp(info, "bash") == 0 || strcmp(info, "shell") == 0;
}

/* Lines of a transcript block: "$ cmd" (continued while a quote is open or a line ends with a
 * backslash), then its output up to the next "$ ". */
static void parse_transcript(const char *file, int first_line, const char *section,
                             char **lines, int n)
{
    for (int i = 0; i < n;) {
        if (strncmp(lines[i], "$ ", 2) != 0) {
            i++;
            continue;
        }
        int line = first_line + i;
        char *cmd = xstrdup(lines[i] + 2);
        i++;
        for (;;) {
            size_t len = strlen(cmd);
            int open = count_quotes(cmd) % 2 == 1;
            int cont = len > 0 && cmd[len - 1] == '\\';
            if ((!open && !cont) || i >= n)
                break;
            cmd = append(cmd, "\n");
            cmd = append(cmd, lines[i++]);
        }
        char *shown = xstrdup("");
        while (i < n && strncmp(lines[i], "$ ", 2) != 0) {
            shown = append(shown, lines[i++]);
            shown = append(shown, "\n");
        }
        if (strncmp(cmd, "curl ", 5) == 0 || strstr(cmd, "$(curl "))
            add_example(file, line, EX_TRANSCRIPT, section, cmd, shown);
        else {
            free(cmd);
            free(shown);
        }
    }
}

/* Should a ```sh block run? Curl commands, assignments, sleep/wait/echo; nothing that installs,
 * starts or stops anything. */
static int script_runnable(char **lines, int n)
{
    static const char *const deny[] = {"make",  "sudo", "systemctl", "docker", "apt",
                                       "solvd", "./",   "kill",      "rm",     "cmake",
                                       "journalctl", "sqlite3", "install", "cp", "mv",
                                       "solvctl", "cd", NULL};
    int has_curl = 0, only_assign = 1, quotes = 0;
    for (int i = 0; i < n; i++) {
        const char *l = lines[i];
        int continuation = quotes % 2 == 1;
        quotes += count_quotes(l);
        while (*l == ' ')
            l++;
        if (!*l || *l == '#' || continuation)
            continue;
        if (strstr(l, "curl "))
            has_curl = 1;
        const char *eq = strchr(l, '=');
        int assign = eq && eq > l;
        for (const char *c = l; assign && c < eq; c++)
            if (!(isalnum((unsigned char)*c) || *c == '_'))
                assign = 0;
        if (!assign)
            only_assign = 0;
        for (const char *const *d = deny; *d; d++) {
            size_t dl = strlen(*d);
            if (strncmp(l, *d, dl) == 0 && (l[dl] == ' ' || l[dl] == 0 || (*d)[dl - 1] == '/'))
                return 0;
        }
    }
    return has_curl || only_assign;
}

static void parse_file(const char *rel)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", SOLVD_SOURCE_DIR, rel);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char **lines = NULL;
    int n = 0, cap = 0;
    char buf[8192];
    while (fgets(buf, sizeof buf, f)) {
        size_t len = strlen(buf);
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = 0;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            lines = realloc(lines, (size_t)cap * sizeof *lines);
            assert_non_null(lines);
        }
        lines[n++] = xstrdup(buf);
    }
    fclose(f);
    char section[200] = "";
    for (int i = 0; i < n; i++) {
        if (lines[i][0] == '#') {
            snprintf(section, sizeof section, "%s", lines[i]);
            continue;
        }
        if (strncmp(lines[i], "```", 3) != 0)
            continue;
        char info[32];
        snprintf(info, sizeof info, "%s", lines[i] + 3);
        int start = i + 1, end = start;
        while (end < n && strncmp(lines[end], "```", 3) != 0)
            end++;
        int transcript = 0;
        for (int k = start; k < end; k++)
            transcript |= strncmp(lines[k], "$ ", 2) == 0;
        if (transcript && strcmp(info, "json") != 0) {
            parse_transcript(rel, start + 1, section, lines + start, end - start);
        } else if (is_script_info(info) && script_runnable(lines + start, end - start)) {
            char *text = xstrdup("");
            for (int k = start; k < end; k++) {
                text = append(text, lines[k]);
                text = append(text, "\n");
            }
            /* Its output: a plain block right after it (blank lines between allowed). */
            char *shown = xstrdup("");
            int k = end + 1;
            while (k < n && lines[k][0] == 0)
                k++;
            if (k < n && strcmp(lines[k], "```") == 0) {
                for (int m = k + 1; m < n && strncmp(lines[m], "```", 3) != 0; m++) {
                    shown = append(shown, lines[m]);
                    shown = append(shown, "\n");
                }
            }
            add_example(rel, start + 1, EX_SCRIPT, section, text, shown);
        }
        i = end;
    }
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The .md files of one folder (relative to the source tree) in name order, then, when recurse is
 * set, each sub-folder's in name order (docs/solvers/<family>/). */
static void parse_dir(const char *rel_dir, int recurse)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", SOLVD_SOURCE_DIR, rel_dir);
    DIR *dir = opendir(path);
    if (!dir)
        return;
    char *names[256], *subs[64];
    int nn = 0, ns = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        size_t l = strlen(de->d_name);
        if (l > 3 && strcmp(de->d_name + l - 3, ".md") == 0 && nn < 256) {
            names[nn++] = xstrdup(de->d_name);
        } else if (recurse && de->d_name[0] != '.' && ns < 64) {
            char sub[1024];
            struct stat st;
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                subs[ns++] = xstrdup(de->d_name);
        }
    }
    closedir(dir);
    qsort(names, (size_t)nn, sizeof names[0], cmp_str);
    qsort(subs, (size_t)ns, sizeof subs[0], cmp_str);
    for (int i = 0; i < nn; i++) {
        char rel[400];
        snprintf(rel, sizeof rel, "%s/%s", rel_dir, names[i]);
        parse_file(rel);
        free(names[i]);
    }
    for (int i = 0; i < ns; i++) {
        char rel[400];
        snprintf(rel, sizeof rel, "%s/%s", rel_dir, subs[i]);
        parse_dir(rel, 0);
        free(subs[i]);
    }
}

/* README.md, docs/ *.md, docs/solvers/ *.md, docs/solvers/<family>/ *.md, in a fixed order. */
static void parse_all(void)
{
    g_nex = 0;
    parse_file("README.md");
    parse_dir("docs", 0);
    parse_dir("docs/solvers", 1);
}

static void free_all(void)
{
    for (int i = 0; i < g_nex; i++) {
        free(g_ex[i].cmd);
        free(g_ex[i].shown);
    }
    g_nex = 0;
}

/* ---------------------------------------------------------------------------------------------
 * What an example expects
 * ------------------------------------------------------------------------------------------- */
/* The status shown for a transcript: 0 means "any 2xx". */
static int shown_status(const example *e)
{
    const char *s = e->shown;
    int last_bracket = 0, last_http = 0;
    for (const char *l = s; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        int code;
        char tail;
        if (strncmp(l, "HTTP/", 5) == 0) {
            const char *sp = memchr(l, ' ', len);
            if (sp && sscanf(sp + 1, "%3d", &code) == 1)
                last_http = code;
        } else if (sscanf(l, " [%3d%c", &code, &tail) == 2 && tail == ']') {
            last_bracket = code;
        } else if (strstr(e->cmd, "http_code") && len == 3 && sscanf(l, "%3d", &code) == 1) {
            last_bracket = code;
        }
        l = nl ? nl + 1 : NULL;
    }
    if (last_http)
        return last_http;
    if (last_bracket)
        return last_bracket;
    char code[64];
    const char *body = strstr(s, "{\"error\":{");
    if (body && json_string_in(body, "code", code, sizeof code))
        return status_of_code(code);
    return 0;
}

static int status_ok(int want, int got) { return want ? got == want : got >= 200 && got < 300; }

/* ---------------------------------------------------------------------------------------------
 * The daemons the examples run on
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    it_daemon d;
    int up;
    char finished[64];     /* a succeeded job */
    char running[64];      /* a long job running (ctl daemon) */
} env_daemon;

static const char *const g_quick_args[] = {"--drain-seconds", "0.5", NULL};

static void start_env(env_daemon *e, const char *const *args)
{
    memset(e, 0, sizeof *e);
    it_assert_start(&e->d, args ? args : g_quick_args);
    e->up = 1;
}

static void stop_env(env_daemon *e)
{
    if (!e->up)
        return;
    /* Whatever the examples left running is cancelled so that the drain is short. */
    it_resp lr;
    it_http(&e->d, "GET", "/v1/jobs?status=running&limit=500", NULL, NULL, &lr);
    json_t *l = lr.status == 200 ? json_incref(lr.json) : NULL;   /* 401 with tokens on */
    it_resp_free(&lr);
    size_t i;
    json_t *j;
    json_array_foreach(json_object_get(l, "jobs"), i, j) {
        char path[200];
        it_resp r;
        snprintf(path, sizeof path, "/v1/jobs/%s/cancel", it_str(j, "id"));
        it_http(&e->d, "POST", path, NULL, NULL, &r);
        it_resp_free(&r);
    }
    json_decref(l);
    it_assert_clean_exit(&e->d);
    it_daemon_destroy(&e->d);
    e->up = 0;
}

static const char *finished_job(env_daemon *e)
{
    if (!e->finished[0]) {
        char *body = it_body_example(&e->d, IT_EF21, NULL);
        json_decref(it_submit(&e->d, body, e->finished));
        free(body);
        json_decref(it_wait_for_status(&e->d, e->finished, "succeeded", 60));
    }
    return e->finished;
}

/* The ctl daemon has one worker: its long "blocker" job runs, and jobs submitted after it stay
 * queued. */
static const char *running_job(env_daemon *e)
{
    if (e->running[0]) {
        json_t *j = it_get_job(&e->d, e->running);
        int still = strcmp(it_str(j, "status"), "running") == 0 &&
                    !json_is_true(json_object_get(j, "cancel_requested"));
        json_decref(j);
        if (!still) {
            /* A cancelled blocker stops at its next report; then the worker is free. */
            double t0 = it_now();
            for (;;) {
                j = it_get_job(&e->d, e->running);
                int running = strcmp(it_str(j, "status"), "running") == 0;
                json_decref(j);
                if (!running || it_now() - t0 > 20)
                    break;
                it_sleep(0.02);
            }
            e->running[0] = 0;
        }
    }
    if (!e->running[0]) {
        char *body = it_body_long(NULL);
        json_decref(it_submit(&e->d, body, e->running));
        free(body);
        json_decref(it_wait_for_status(&e->d, e->running, "running", 30));
    }
    return e->running;
}

static const char *queued_job(env_daemon *e, char id[64])
{
    running_job(e);
    char *body = it_body_long(NULL);
    json_decref(it_submit(&e->d, body, id));
    free(body);
    return id;
}

/* ---------------------------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    int run, skipped, failed;
} tally;

static char g_tmp[256];

/* The command with the daemon's address and curl's limits; a new string. */
static char *prepare(const char *cmd, const it_daemon *d, const char *id, const char *hdr)
{
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", d->port);
    char *a = replace_all(cmd, "127.0.0.1:8080", addr);
    char *b = replace_all(a, "localhost:8080", addr);
    free(a);
    int found;
    char *c = replace_ids(b, id, &found);
    free(b);
    if (!hdr)
        return c;
    char opts[400];
    snprintf(opts, sizeof opts, "curl -m " CURL_MAX_S " -D '%s' ", hdr);
    /* Only the first curl of the command gets the header file. */
    char *p = strstr(c, "curl ");
    char *out = strndup(c, (size_t)(p - c));
    out = append(out, opts);
    out = append(out, p + 5);
    free(c);
    return out;
}

/* The last status line of a header dump, 0 if none. */
static int status_from_headers(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    int status = 0, code;
    while (fgets(line, sizeof line, f)) {
        const char *sp = strchr(line, ' ');
        if (strncmp(line, "HTTP/", 5) == 0 && sp && sscanf(sp + 1, "%3d", &code) == 1)
            status = code;
    }
    fclose(f);
    return status;
}

static int run_shell(const char *script, char **out, double timeout_s)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    it_proc p;
    int rc = it_proc_run(argv, NULL, NULL, timeout_s, &p);
    *out = p.out;
    p.out = NULL;
    if (rc < 0)
        fprintf(stderr, "[docs] the shell timed out after %.0f s\n", timeout_s);
    it_proc_free(&p);
    return rc;
}

static int mentions_auth(const example *e)
{
    char low[200];
    size_t i = 0;
    for (; e->section[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)e->section[i]);
    low[i] = 0;
    return strstr(e->cmd, "Authorization: Bearer") || strstr(low, "authentication");
}

/* --tokens for the auth daemon: every bearer token the examples of this file use, each its own
 * tenant. */
static void collect_tokens(const char *file, char *out, size_t n)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < g_nex; i++) {
        if (strcmp(g_ex[i].file, file) != 0)
            continue;
        for (const char *p = strstr(g_ex[i].cmd, "Bearer "); p; p = strstr(p + 1, "Bearer ")) {
            char tok[128];
            size_t k = 0;
            for (const char *c = p + 7; *c && !isspace((unsigned char)*c) && *c != '\'' &&
                                        *c != '"' && k + 1 < sizeof tok;
                 c++)
                tok[k++] = *c;
            tok[k] = 0;
            char entry[300];
            snprintf(entry, sizeof entry, "%s:", tok);
            if (!k || strstr(out, entry))
                continue;
            len += (size_t)snprintf(out + len, n - len, "%s%s:tenant%d", len ? "," : "", tok, i);
        }
    }
    if (!out[0])
        snprintf(out, n, "docs-token:docs");
}

/* The Idempotency-Key header value of a command, or 0. */
static int idempotency_key(const char *cmd, char *key, size_t n)
{
    const char *p = strstr(cmd, "Idempotency-Key:");
    if (!p)
        return 0;
    p += 16;
    while (*p == ' ')
        p++;
    size_t k = 0;
    while (p[k] && p[k] != '\'' && p[k] != '"' && k + 1 < n) {
        key[k] = p[k];
        k++;
    }
    key[k] = 0;
    return k > 0;
}

/* One transcript example. */
static void run_transcript(example *e, env_daemon *main_d, env_daemon *ctl, env_daemon *auth,
                           const char *tokens, tally *t)
{
    if (strstr(e->cmd, "...")) {
        fprintf(stderr, "[docs] %s:%d skipped (a placeholder in the command)\n", e->file,
                e->line);
        t->skipped++;
        return;
    }
    int want = shown_status(e);
    env_daemon *where = main_d;
    const char *id = NULL;
    char qid[64];
    env_daemon drain;
    memset(&drain, 0, sizeof drain);
    int is_cancel = strstr(e->cmd, "/cancel") != NULL;
    int is_delete = strstr(e->cmd, "-X DELETE") != NULL;
    char deleted[64] = "";

    if (want == 503 && strstr(e->cmd, "/healthz")) {
        /* A draining daemon: a job runs, SIGTERM came, the drain has not ended. */
        static const char *const args[] = {"--drain-seconds", "60", NULL};
        start_env(&drain, args);
        char rid[64];
        char *body = it_body_long(NULL);
        json_decref(it_submit(&drain.d, body, rid));
        free(body);
        json_decref(it_wait_for_status(&drain.d, rid, "running", 30));
        it_daemon_term(&drain.d);
        double t0 = it_now();
        for (;;) {
            it_resp r;
            it_http(&drain.d, "GET", "/healthz", NULL, NULL, &r);
            long st = r.status;
            it_resp_free(&r);
            if (st == 503 || it_now() - t0 > 10)
                break;
            it_sleep(0.02);
        }
        where = &drain;
    } else if (mentions_auth(e)) {
        if (!auth->up) {
            const char *args[] = {"--tokens", tokens, "--drain-seconds", "0.5", NULL};
            start_env(auth, args);
        }
        where = auth;
        int ids;
        free(replace_ids(e->cmd, NULL, &ids));
        if (want != 404 && ids) {
            /* A job of the example's own tenant. */
            const char *b = strstr(e->cmd, "Bearer ");
            if (b) {
                snprintf(auth->d.auth, sizeof auth->d.auth, "Authorization: %.*s",
                         (int)strcspn(b, "'\"\n"), b);
                auth->finished[0] = 0;
                id = finished_job(auth);
                auth->d.auth[0] = 0;
            }
        }
    } else if (is_cancel && want == 202) {
        if (!ctl->up) {
            static const char *const args[] = {"--workers", "1", "--drain-seconds", "0.5",
                                               NULL};
            start_env(ctl, args);
        }
        where = ctl;
        id = running_job(ctl);
    } else if (is_cancel && want == 200) {
        if (!ctl->up) {
            static const char *const args[] = {"--workers", "1", "--drain-seconds", "0.5",
                                               NULL};
            start_env(ctl, args);
        }
        where = ctl;
        id = queued_job(ctl, qid);
    } else if (want != 404) {
        id = finished_job(main_d);
        if (is_delete) {
            /* This job goes away: later examples get another finished one. */
            snprintf(deleted, sizeof deleted, "%s", id);
            main_d->finished[0] = 0;
            id = deleted;
        }
    }
    char key[300];
    if (want == 409 && strstr(e->cmd, "/v1/jobs") && !is_cancel &&
        idempotency_key(e->cmd, key, sizeof key)) {
        /* The key was used before with another body. */
        char hdr[340];
        snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
        const char *const headers[] = {hdr, NULL};
        char *body = it_body_example(&where->d, IT_EF21, "{\"tags\":[\"docs-key-reuse\"]}");
        char prior[64];
        json_decref(it_submit_h(&where->d, body, headers, prior));
        free(body);
    }

    char hdr[400];
    snprintf(hdr, sizeof hdr, "%s/headers", g_tmp);
    unlink(hdr);
    char *cmd = prepare(e->cmd, &where->d, id, hdr);
    char *out = NULL;
    run_shell(cmd, &out, 60);
    int got = status_from_headers(hdr);
    int ok = status_ok(want, got);
    /* An error example's path must be the real one. */
    char spath[200], rpath[200];
    if (ok && want >= 400 && strstr(e->shown, "{\"error\":{") &&
        json_string_in(strstr(e->shown, "{\"error\":{"), "path", spath, sizeof spath)) {
        if (!json_string_in(out, "path", rpath, sizeof rpath) || strcmp(spath, rpath) != 0) {
            fprintf(stderr, "[docs] %s:%d: the page shows path %s, the server said: %s\n",
                    e->file, e->line, spath, out);
            ok = 0;
        }
    }
    t->run++;
    if (!ok) {
        t->failed++;
        fprintf(stderr, "[docs] %s:%d FAILED: status %d, the page shows %d%s\n  $ %s\n  %.600s\n",
                e->file, e->line, got, want, want ? "" : " (any 2xx)", cmd, out ? out : "");
    } else {
        fprintf(stderr, "[docs] %s:%d ok %d\n", e->file, e->line, got);
    }
    free(cmd);
    free(out);
    if (drain.up) {
        it_daemon_kill9(&drain.d);
        it_daemon_destroy(&drain.d);
    }
}

/* A file's script blocks, in one shell. */
static void run_scripts(const char *file, env_daemon *main_d, tally *t)
{
    int idx[MAX_EXAMPLES], n = 0;
    for (int i = 0; i < g_nex; i++)
        if (strcmp(g_ex[i].file, file) == 0 && g_ex[i].mode == EX_SCRIPT)
            idx[n++] = i;
    if (!n)
        return;
    const char *id = finished_job(main_d);
    char dir[320];
    snprintf(dir, sizeof dir, "%s/h", g_tmp);
    mkdir(dir, 0700);
    /* curl as a function: every call dumps its headers to a file named by block and time. */
    char *script = xstrdup("T='");
    script = append(script, dir);
    script = append(script, "'\nrm -f \"$T\"/*\n"
                            "curl() { command curl -m " CURL_MAX_S
                            " -D \"$T/h.$B.$(date +%s%N)\" \"$@\"; }\n");
    for (int k = 0; k < n; k++) {
        char line[32];
        snprintf(line, sizeof line, "B=%d\n", k);
        script = append(script, line);
        char *body = prepare(g_ex[idx[k]].cmd, &main_d->d, id, NULL);
        script = append(script, body);
        free(body);
    }
    char *out = NULL;
    run_shell(script, &out, 180);
    free(script);
    free(out);
    for (int k = 0; k < n; k++) {
        example *e = &g_ex[idx[k]];
        int calls = 0;
        for (const char *p = strstr(e->cmd, "curl "); p; p = strstr(p + 1, "curl "))
            calls++;
        if (!calls)
            continue;   /* assignments only */
        int want = 0;
        const char *err = strstr(e->shown, "{\"error\":{");
        char code[64];
        if (calls == 1 && err == e->shown && json_string_in(err, "code", code, sizeof code))
            want = status_of_code(code);
        /* The header files of block k. */
        char prefix[32];
        snprintf(prefix, sizeof prefix, "h.%d.", k);
        DIR *dd = opendir(dir);
        int seen = 0, bad = 0;
        struct dirent *de;
        while (dd && (de = readdir(dd))) {
            if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
                continue;
            char path[700];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            int got = status_from_headers(path);
            seen++;
            if (!status_ok(want, got)) {
                bad++;
                fprintf(stderr, "[docs] %s:%d FAILED: a curl got status %d, expected %d%s\n",
                        e->file, e->line, got, want, want ? "" : " (any 2xx)");
            }
        }
        if (dd)
            closedir(dd);
        if (seen < calls) {
            bad++;
            fprintf(stderr, "[docs] %s:%d FAILED: %d of %d curl commands got an answer\n",
                    e->file, e->line, seen, calls);
        }
        t->run++;
        if (bad)
            t->failed++;
        else
            fprintf(stderr, "[docs] %s:%d ok (%d requests)\n", e->file, e->line, seen);
    }
}

/* Jobs the examples of a script submitted end as they should: none failed. */
static void assert_no_failed_jobs(const char *file, env_daemon *e, tally *t)
{
    double t0 = it_now();
    for (;;) {
        json_t *q = it_call(&e->d, "GET", "/v1/jobs?status=queued", NULL, 200);
        json_t *r = it_call(&e->d, "GET", "/v1/jobs?status=running", NULL, 200);
        size_t busy = json_array_size(json_object_get(q, "jobs")) +
                      json_array_size(json_object_get(r, "jobs"));
        json_decref(q);
        json_decref(r);
        if (!busy || it_now() - t0 > 60)
            break;
        it_sleep(0.1);
    }
    json_t *f = it_call(&e->d, "GET", "/v1/jobs?status=failed", NULL, 200);
    size_t i;
    json_t *j;
    json_array_foreach(json_object_get(f, "jobs"), i, j) {
        char *s = json_dumps(json_object_get(j, "error"), JSON_COMPACT);
        fprintf(stderr, "[docs] %s: a job submitted by its examples failed: %s\n", file, s);
        free(s);
        t->failed++;
    }
    json_decref(f);
}

static void test_examples_run(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/it_docs_XXXXXX");
    assert_non_null(mkdtemp(g_tmp));
    parse_all();
    tally t = {0, 0, 0};
    int api_examples = 0;
    /* One set of daemons per page. */
    for (int i = 0; i < g_nex; i++) {
        if (i > 0 && strcmp(g_ex[i].file, g_ex[i - 1].file) == 0)
            continue;
        const char *file = g_ex[i].file;
        env_daemon main_d, ctl, auth;
        memset(&ctl, 0, sizeof ctl);
        memset(&auth, 0, sizeof auth);
        start_env(&main_d, NULL);
        char tokens[1024];
        collect_tokens(file, tokens, sizeof tokens);
        int had_scripts = 0;
        for (int k = i; k < g_nex && strcmp(g_ex[k].file, file) == 0; k++) {
            if (g_ex[k].mode == EX_TRANSCRIPT) {
                run_transcript(&g_ex[k], &main_d, &ctl, &auth, tokens, &t);
                api_examples += strcmp(file, "docs/api.md") == 0;
            } else {
                had_scripts = 1;
            }
        }
        if (had_scripts) {
            run_scripts(file, &main_d, &t);
            assert_no_failed_jobs(file, &main_d, &t);
        }
        stop_env(&ctl);
        stop_env(&auth);
        stop_env(&main_d);
    }
    fprintf(stderr, "[docs] %d examples run, %d skipped, %d failed\n", t.run, t.skipped,
            t.failed);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    char *out;
    run_shell(cmd, &out, 10);
    free(out);
    free_all();
    assert_int_equal(t.failed, 0);
    /* The API page is the one that must have examples; fewer means the reader broke. */
    if (access(SOLVD_SOURCE_DIR "/docs/api.md", F_OK) == 0)
        assert_true(api_examples >= 10);
}

/* The reader itself, on a page written here: transcript and script forms, statuses shown in
 * each way, continuation lines, placeholders. */
static void test_reader(void **state)
{
    (void)state;
    example e;
    memset(&e, 0, sizeof e);
    e.cmd = "curl -s -i 127.0.0.1:8080/v1/x";
    e.shown = "HTTP/1.1 404 Not Found\nContent-Type: application/json\n\n{}\n";
    assert_int_equal(shown_status(&e), 404);
    e.shown = "{\"error\":{\"code\":\"invalid\",\"message\":\"m\",\"path\":\"/a\"}}\n [422]\n";
    assert_int_equal(shown_status(&e), 422);
    e.shown = "{\"error\":{\"code\":\"conflict\",\"message\":\"m\"}}\n";
    assert_int_equal(shown_status(&e), 409);
    e.cmd = "curl -s -w '%{http_code}\\n' 127.0.0.1:8080/healthz";
    e.shown = "{\"status\":\"ok\"}\n200\n";
    assert_int_equal(shown_status(&e), 200);
    e.shown = "{\"jobs\":[]}\n";
    assert_int_equal(shown_status(&e), 0);

    int found;
    char *s = replace_ids("a 01a207f1f71a00000510ba/b 0123 01a207f1f71a00000510baX", "ID",
                          &found);
    assert_string_equal(s, "a ID/b 0123 01a207f1f71a00000510baX");
    assert_int_equal(found, 1);
    free(s);

    char page[] = "/tmp/it_docs_page_XXXXXX";
    int fd = mkstemp(page);
    assert_true(fd >= 0);
    const char *text =
        "# T\n\n```\n$ curl -s -X POST 127.0.0.1:8080/v1/jobs -d '{\n  \"a\": 1}'\n"
        "{\"error\":{\"code\":\"invalid\"}}\n$ curl -s 127.0.0.1:8080/healthz\n{}\n```\n\n"
        "```sh\nID=01a207f1f71a00000510ba\n```\n\n```sh\ncurl -s localhost:8080/v1/jobs/$ID\n"
        "```\n```\n{\"id\":\"x\"}\n```\n\n```sh\nmake run\ncurl -s x\n```\n"
        "```json\n{\"a\": 1}\n```\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    g_nex = 0;
    /* parse_file takes a path relative to the source tree: climb out of it. */
    char rel[400];
    snprintf(rel, sizeof rel, "../../../../../../../../../..%s", page);
    parse_file(rel);
    unlink(page);
    assert_int_equal(g_nex, 4);
    assert_int_equal(g_ex[0].mode, EX_TRANSCRIPT);
    assert_string_equal(g_ex[0].cmd, "curl -s -X POST 127.0.0.1:8080/v1/jobs -d '{\n  \"a\": 1}'");
    assert_int_equal(shown_status(&g_ex[0]), 422);
    assert_int_equal(g_ex[1].mode, EX_TRANSCRIPT);
    assert_int_equal(shown_status(&g_ex[1]), 0);
    assert_int_equal(g_ex[2].mode, EX_SCRIPT);
    assert_string_equal(g_ex[2].cmd, "ID=01a207f1f71a00000510ba\n");
    assert_int_equal(g_ex[3].mode, EX_SCRIPT);
    assert_string_equal(g_ex[3].shown, "{\"id\":\"x\"}\n");
    free_all();
}

/* GET /v1/openapi.json serves docs/openapi.json, without a token even when tokens are on. */
static void test_openapi_served(void **state)
{
    (void)state;
    static const char *const args[] = {"--tokens", "t:alice", NULL};
    it_daemon d;
    it_assert_start(&d, args);
    it_resp r;
    assert_int_equal(it_http(&d, "GET", "/v1/openapi.json", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    char ct[128];
    assert_non_null(it_resp_header(&r, "Content-Type", ct, sizeof ct));
    assert_int_equal(strncmp(ct, "application/json", 16), 0);
    json_t *file = json_load_file(SOLVD_SOURCE_DIR "/docs/openapi.json", 0, NULL);
    assert_non_null(file);
    assert_non_null(r.json);
    assert_true(json_equal(file, r.json));
    json_decref(file);
    it_resp_free(&r);
    /* The rest of /v1/ still asks for the token. */
    it_http(&d, "GET", "/v1/solvers", NULL, NULL, &r);
    it_assert_error(&r, 401, "unauthorized", NULL);
    it_http(&d, "POST", "/v1/openapi.json", NULL, NULL, &r);
    it_assert_error(&r, 405, "method_not_allowed", NULL);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);

    /* A docs directory without the file: 404, not a crash. */
    static const char *const nodocs[] = {"--docs-dir", "/nonexistent", NULL};
    it_assert_start(&d, nodocs);
    it_http(&d, "GET", "/v1/openapi.json", NULL, NULL, &r);
    it_assert_error(&r, 404, "not_found", NULL);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
}

/* docs/deployment.md's backup: sqlite3 .backup while the daemon runs and writes gives a
 * consistent database, and a daemon started on it recovers it as after a crash at that moment. */
static void test_backup_while_running(void **state)
{
    (void)state;
    if (access("/usr/bin/sqlite3", X_OK) != 0) {
        fprintf(stderr, "[docs] sqlite3 is not installed (deploy/deps.sh installs it)\n");
        skip();
    }
    it_daemon d;
    it_assert_start(&d, NULL);
    char done[3][64], running[64], path[200];
    char *body = it_body_example(&d, IT_EF21, NULL);
    for (int i = 0; i < 3; i++)
        json_decref(it_submit(&d, body, done[i]));
    for (int i = 0; i < 3; i++)
        json_decref(it_wait_for_status(&d, done[i], "succeeded", 60));
    char *lbody = it_body_iters(1000000000L, 10, NULL);   /* many progress events: writes */
    json_decref(it_submit(&d, lbody, running));
    free(lbody);
    json_decref(it_wait_for_status(&d, running, "running", 30));

    char backup[400], cmd[1000];
    snprintf(backup, sizeof backup, "%s/backup.db", d.dir);
    snprintf(cmd, sizeof cmd, ".backup '%s'", backup);
    char *argv[] = {"/usr/bin/sqlite3", d.db, cmd, NULL};
    it_proc p;
    assert_int_equal(it_proc_run(argv, NULL, NULL, 60, &p), 0);
    it_proc_free(&p);
    char *check[] = {"/usr/bin/sqlite3", backup, "PRAGMA integrity_check", NULL};
    assert_int_equal(it_proc_run(check, NULL, NULL, 60, &p), 0);
    assert_string_equal(p.out, "ok\n");
    it_proc_free(&p);

    /* The running daemon did not notice: it still takes jobs. */
    char after[64];
    json_decref(it_submit(&d, body, after));
    json_decref(it_wait_for_status(&d, after, "succeeded", 60));
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", running);
    json_decref(it_call(&d, "POST", path, NULL, 202));
    it_assert_clean_exit(&d);

    /* Restored: the finished jobs with their results; the running one queued again. */
    const char *args[] = {"--db", backup, "--workers", "1", NULL};
    it_daemon r;
    it_assert_start(&r, args);
    assert_true(it_daemon_log_contains(&r, "requeued=1"));
    for (int i = 0; i < 3; i++) {
        json_t *j = it_get_job(&r, done[i]);
        assert_string_equal(it_str(j, "status"), "succeeded");
        json_decref(j);
        snprintf(path, sizeof path, "/v1/jobs/%.63s/result", done[i]);
        json_decref(it_call(&r, "GET", path, NULL, 200));
    }
    json_t *j = it_get_job(&r, running);
    const char *st = it_str(j, "status");
    /* Queued again after its one start, or already started a second time. */
    long attempts = (long)json_integer_value(json_object_get(j, "attempts"));
    assert_true((strcmp(st, "queued") == 0 && attempts == 1) ||
                (strcmp(st, "running") == 0 && attempts == 2));
    json_decref(j);
    snprintf(path, sizeof path, "/v1/jobs/%s", after);
    it_resp res;
    it_http(&r, "GET", path, NULL, NULL, &res);
    it_assert_error(&res, 404, "not_found", NULL);   /* submitted after the backup */
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", running);
    it_http(&r, "POST", path, NULL, NULL, &res);
    assert_true(res.status == 200 || res.status == 202);
    it_resp_free(&res);
    free(body);
    it_assert_clean_exit(&r);
    it_daemon_destroy(&r);
    it_daemon_destroy(&d);
}

/* ---------------------------------------------------------------------------------------------
 * The names the pages use
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    char **v;
    size_t n, cap;
} strset;

static int set_has(const strset *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0)
            return 1;
    return 0;
}

static void set_add(strset *s, const char *x)
{
    if (set_has(s, x))
        return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        assert_non_null(s->v);
    }
    s->v[s->n++] = xstrdup(x);
}

static void set_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static void add_keys(strset *s, const json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) set_add(s, k);
}

/* Property names of a JSON Schema, nested ones and those of alternatives included. */
static void add_schema_names(strset *s, const json_t *schema, int depth)
{
    if (!json_is_object(schema) || depth > 8)
        return;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(schema, "properties"), k, v) {
        set_add(s, k);
        add_schema_names(s, v, depth + 1);
    }
    static const char *const alts[] = {"oneOf", "anyOf", "allOf", NULL};
    for (const char *const *a = alts; *a; a++) {
        size_t i;
        json_t *sub;
        json_array_foreach(json_object_get(schema, *a), i, sub) add_schema_names(s, sub, depth + 1);
    }
    add_schema_names(s, json_object_get(schema, "items"), depth + 1);
}

static char *read_page(const char *rel)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", SOLVD_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = xstrdup("");
    char buf[8192];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf - 1, f)) > 0) {
        buf[got] = 0;
        text = append(text, buf);
    }
    fclose(f);
    return text;
}

/* The text under "## <heading>" up to the next "## " heading (a new string), or NULL. */
static char *page_section(const char *page, const char *heading)
{
    char h[128];
    snprintf(h, sizeof h, "\n## %s\n", heading);
    const char *p = strstr(page, h);
    if (!p)
        return NULL;
    p += strlen(h);
    const char *end = strstr(p, "\n## ");
    return end ? strndup(p, (size_t)(end - p)) : xstrdup(p);
}

/* Each `name` (a plain identifier in backticks) of text, to fn. */
static void each_backticked(const char *text, void (*fn)(const char *name, void *data),
                            void *data)
{
    for (const char *p = strchr(text, '`'); p; p = strchr(p + 1, '`')) {
        const char *q = strchr(p + 1, '`');
        if (!q)
            break;
        size_t len = (size_t)(q - p - 1);
        int ident = len > 0 && len < 64 && (islower((unsigned char)p[1]) || p[1] == '_');
        for (const char *c = p + 1; ident && c < q; c++)
            ident = isalnum((unsigned char)*c) || *c == '_';
        if (ident) {
            char name[64];
            memcpy(name, p + 1, len);
            name[len] = 0;
            fn(name, data);
        }
        p = q;
    }
}

typedef struct {
    const strset *allowed;
    const char *page;
    int *bad;
} name_check;

static void check_progress_name(const char *name, void *data)
{
    name_check *c = data;
    if (set_has(c->allowed, name))
        return;
    fprintf(stderr, "[docs] %s, Progress: `%s` is no member of the solver's progress events "
                    "(nor a parameter, a result member or a status)\n",
            c->page, name);
    (*c->bad)++;
}

static void collect_name(const char *name, void *data) { set_add(data, name); }

/* Every JSON error a page shows has the API's shape: an error answer ({"error": {...}} alone)
 * the Error schema of docs/openapi.json, and any other object with a message and a path (a
 * job's error, an error quoted in prose) the members code, message and path only. */
static int check_error_objects(const char *rel, const char *page)
{
    const json_t *doc = it_oas_doc();
    assert_non_null(doc);
    json_t *answer = json_pack("{s:s}", "$ref", "#/components/schemas/Error");
    int bad = 0;
    for (const char *p = strchr(page, '{'); p; p = strchr(p + 1, '{')) {
        json_t *o = json_loadb(p, strlen(p), JSON_DISABLE_EOF_CHECK, NULL);
        if (!json_is_object(o)) {
            json_decref(o);
            continue;
        }
        char err[700] = "";
        if (json_object_size(o) == 1 && json_is_object(json_object_get(o, "error"))) {
            if (it_oas_validate(doc, answer, o, err, sizeof err) != 0)
                bad++;
            else
                err[0] = 0;
        } else if (json_object_get(o, "message") &&
                   (json_object_get(o, "path") || json_object_get(o, "field"))) {
            const char *k;
            json_t *v;
            json_object_foreach(o, k, v) {
                if (strcmp(k, "code") != 0 && strcmp(k, "message") != 0 && strcmp(k, "path") != 0) {
                    snprintf(err, sizeof err, "member \"%s\": an error has code, message, path",
                             k);
                    bad++;
                    break;
                }
            }
        }
        if (err[0]) {
            char *s = json_dumps(o, JSON_COMPACT);
            fprintf(stderr, "[docs] %s: the error %.300s is not the API's Error shape: %s\n", rel,
                    s, err);
            free(s);
        }
        json_decref(o);
    }
    json_decref(answer);
    return bad;
}

/* Progress events shown ("event: progress" then "data: {...}") hold only real members. */
static int check_progress_examples(const char *rel, const char *page, const strset *members)
{
    int bad = 0;
    for (const char *p = strstr(page, "event: progress\n"); p;
         p = strstr(p + 1, "event: progress\n")) {
        const char *data = strstr(p, "\ndata: ");
        const char *blank = strstr(p, "\n\n");
        if (!data || (blank && blank < data))
            continue;
        data += 7;
        json_t *o = json_loadb(data, strcspn(data, "\n"), 0, NULL);
        if (!json_is_object(o)) {
            json_decref(o);
            continue;   /* shortened with "..." */
        }
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            if (!set_has(members, k)) {
                fprintf(stderr, "[docs] %s: a progress event shows \"%s\", which no solver "
                                "sends\n",
                        rel, k);
                bad++;
            }
        }
        json_decref(o);
    }
    return bad;
}

static void test_docs_name_real_members(void **state)
{
    (void)state;
    it_daemon d;
    static const char *const args[] = {"--workers", "2", NULL};
    it_assert_start(&d, args);
    json_t *list = it_call(&d, "GET", "/v1/solvers", NULL, 200);
    strset all_progress = {0};
    int bad = 0, solvers = 0;
    size_t i;
    json_t *sv;
    json_array_foreach(json_object_get(list, "solvers"), i, sv) {
        const char *name = it_str(sv, "name"), *rel = it_str(sv, "doc");
        char path[300];
        snprintf(path, sizeof path, "/v1/solvers/%s", name);
        json_t *detail = it_call(&d, "GET", path, NULL, 200);
        strset params = {0}, allowed = {0};
        add_schema_names(&params, json_object_get(detail, "params"), 0);
        /* What the solver sends: its example's progress events and result. */
        char *body = it_body_example(&d, name, NULL);
        char id[64];
        json_decref(it_submit(&d, body, id));
        free(body);
        json_decref(it_wait_for_status(&d, id, "succeeded", 120));
        snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
        it_stream s;
        assert_int_equal(it_sse(&d, path, NULL, 30, NULL, NULL, &s), 0);
        int nprog = 0;
        for (size_t k = 0; k < s.n; k++) {
            if (strcmp(s.ev[k].type, "progress") == 0 && s.ev[k].json) {
                add_keys(&allowed, s.ev[k].json);
                add_keys(&all_progress, s.ev[k].json);
                nprog++;
            }
        }
        it_stream_free(&s);
        if (nprog == 0)
            fail_msg("%s: its example sent no progress event", name);
        snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
        json_t *res = it_call(&d, "GET", path, NULL, 200);
        add_keys(&allowed, res);
        json_decref(res);
        for (size_t k = 0; k < params.n; k++)
            set_add(&allowed, params.v[k]);
        static const char *const words[] = {"queued", "running", "succeeded", "failed",
                                            "cancelled", "timed_out", NULL};
        for (const char *const *w = words; *w; w++)
            set_add(&allowed, *w);

        char *page = read_page(rel);
        if (!page)
            fail_msg("%s: its doc %s cannot be read", name, rel);
        /* Every parameter the solver takes is named on its page. */
        strset named = {0};
        each_backticked(page, collect_name, &named);
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(json_object_get(detail, "params"), "properties"), k,
                            v) {
            if (!set_has(&named, k)) {
                fprintf(stderr, "[docs] %s does not name the parameter `%s` of %s\n", rel, k,
                        name);
                bad++;
            }
        }
        /* Its Progress section names only what the solver sends (or takes). */
        char *prog = page_section(page, "Progress");
        if (!prog) {
            fprintf(stderr, "[docs] %s has no \"## Progress\" section\n", rel);
            bad++;
        } else {
            name_check c = {&allowed, rel, &bad};
            each_backticked(prog, check_progress_name, &c);
            free(prog);
        }
        set_free(&named);
        free(page);
        set_free(&params);
        set_free(&allowed);
        json_decref(detail);
        solvers++;
    }
    json_decref(list);
    assert_true(solvers >= 10);

    /* Every page: the progress events and the errors it shows. */
    const char *pages[128];
    int np = 0;
    pages[np++] = "README.md";
    /* docs/ and every family folder of docs/solvers/ (a new family is found, not listed). */
    char *dirs[66];
    int nd = 0;
    dirs[nd++] = xstrdup("docs");
    {
        char path[600];
        snprintf(path, sizeof path, "%s/docs/solvers", SOLVD_SOURCE_DIR);
        DIR *dp = opendir(path);
        struct dirent *de;
        while (dp && (de = readdir(dp)) && nd < 65) {
            if (de->d_name[0] == '.')
                continue;
            char rel[400];
            snprintf(rel, sizeof rel, "docs/solvers/%s", de->d_name);
            dirs[nd++] = xstrdup(rel);
        }
        if (dp)
            closedir(dp);
    }
    dirs[nd] = NULL;
    char *owned[128];
    int no = 0;
    for (char *const *dir = dirs; *dir; dir++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", SOLVD_SOURCE_DIR, *dir);
        DIR *dp = opendir(path);
        struct dirent *de;
        while (dp && (de = readdir(dp)) && np < 127) {
            size_t l = strlen(de->d_name);
            if (l > 3 && strcmp(de->d_name + l - 3, ".md") == 0) {
                char rel[400];
                snprintf(rel, sizeof rel, "%s/%s", *dir, de->d_name);
                owned[no] = xstrdup(rel);
                pages[np++] = owned[no++];
            }
        }
        if (dp)
            closedir(dp);
    }
    for (int p = 0; p < np; p++) {
        char *page = read_page(pages[p]);
        assert_non_null(page);
        bad += check_progress_examples(pages[p], page, &all_progress);
        bad += check_error_objects(pages[p], page);
        free(page);
    }
    assert_true(np >= 15);
    for (int k = 0; k < no; k++)
        free(owned[k]);
    for (int k = 0; k < nd; k++)
        free(dirs[k]);
    set_free(&all_progress);
    it_assert_clean_exit(&d);
    it_daemon_destroy(&d);
    if (bad)
        fail_msg("%d wrong name(s) in the docs (see [docs] above)", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader),
        cmocka_unit_test_teardown(test_openapi_served, it_teardown),
        cmocka_unit_test_teardown(test_docs_name_real_members, it_teardown),
        cmocka_unit_test_teardown(test_examples_run, it_teardown),
        cmocka_unit_test_teardown(test_backup_while_running, it_teardown),
    };
    return cmocka_run_group_tests_name("docs_examples", tests, NULL, NULL);
}
