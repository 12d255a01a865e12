/* main.c - solvctl, the command-line client of solvd: the catalog, submitting jobs (and waiting
 * for them with a progress line and a summary), status, results, event logs, cancel, delete,
 * list, and shell completion. The commands and their help live in one table (commands[]). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include "solvctl.h"
#include "term.h"

#ifndef SOLVCTL_VERSION
#define SOLVCTL_VERSION "unknown"
#endif

/* ---- the commands and their help ---- */

typedef int (*sc_cmd_fn)(sc_ctx *c, int argc, char **argv);

typedef struct {
    const char *name;
    const char *synopsis;   /* after "solvctl NAME" */
    const char *summary;    /* one line for the overview */
    const char *help;       /* the rest of `solvctl help NAME` */
    sc_cmd_fn fn;
} sc_command;

static int cmd_solvers(sc_ctx *c, int argc, char **argv);
static int cmd_submit(sc_ctx *c, int argc, char **argv);
static int cmd_status(sc_ctx *c, int argc, char **argv);
static int cmd_result(sc_ctx *c, int argc, char **argv);
static int cmd_wait(sc_ctx *c, int argc, char **argv);
static int cmd_logs(sc_ctx *c, int argc, char **argv);
static int cmd_cancel(sc_ctx *c, int argc, char **argv);
static int cmd_delete(sc_ctx *c, int argc, char **argv);
static int cmd_list(sc_ctx *c, int argc, char **argv);
static int cmd_completion(sc_ctx *c, int argc, char **argv);
static int cmd_help(sc_ctx *c, int argc, char **argv);

static const sc_command commands[] = {
    {"solvers", "[NAME]", "the catalog, or one solver's parameters and example",
     "Without NAME: a table of every solver (name, family, summary; --field picks the\n"
     "columns). With NAME: the solver's document from GET /v1/solvers/NAME (parameter\n"
     "schema, problem schema, example job).\n",
     cmd_solvers},
    {"submit", "SOLVER FILE|--example [options]", "submit a job (and --wait for it)",
     "FILE holds the problem, or a whole job body {\"problem\":...,\"params\":...}; '-' reads\n"
     "stdin. --example submits the solver's catalog example (GET /v1/solvers/SOLVER) instead.\n"
     "Prints the job's id (-o json: the job).\n\n"
     "  --example              the catalog example of SOLVER as the job\n"
     "  --param NAME=VALUE     set a parameter (VALUE is JSON if it parses, else a string)\n"
     "  --priority N           higher runs first (-1000 to 1000)\n"
     "  --time-limit SECONDS   the job's wall-clock limit\n"
     "  --tag TAG              a tag for `list --tag` (repeatable)\n"
     "  --idempotency-key KEY  submitting the same body with the same key again is one job\n"
     "  --wait                 then follow the job as `solvctl wait` does\n",
     cmd_submit},
    {"status", "ID", "the job's status, timings, last progress and result summary",
     "--field NAME (repeatable, dotted for nested members: result.objective) prints only\n"
     "those members; one --field alone prints just its value.\n",
     cmd_status},
    {"result", "ID", "the full result (JSON)",
     "Prints the result document; numbers as the server sent them. -o table or -o fields\n"
     "lists its members one a line (nested ones with dotted names); --field NAME (repeatable)\n"
     "picks members, and one --field alone prints just its value:\n"
     "  solvctl result ID --field objective\n",
     cmd_result},
    {"wait", "ID", "follow a job to its end: progress line, then a summary",
     "Draws a progress line on the terminal (none when stdout or stderr is not a terminal;\n"
     "COLUMNS overrides the width), prints each status change, and ends with a summary:\n"
     "the job's status, the result's status, objective, iterations and run time, with a\n"
     "warning when the solver stopped at max_iter or a time limit. Exit status 0 when the job\n"
     "succeeded, 1 when it failed, was cancelled or timed out. Ctrl-C stops waiting (exit 130);\n"
     "the job goes on, and `solvctl wait ID` follows it again.\n",
     cmd_wait},
    {"watch", "ID", "the same as wait", "An alias of `solvctl wait ID`.\n", cmd_wait},
    {"logs", "ID", "every event of the job (of a running job: up to its end)",
     "One line per event: id, type, data (-o json: one JSON object per event).\n", cmd_logs},
    {"cancel", "ID", "cancel a queued or running job",
     "Prints the server's answer (the job, or that the cancel was requested).\n", cmd_cancel},
    {"delete", "ID", "delete a finished job and its result",
     "DELETE /v1/jobs/ID: a finished job of yours is gone afterwards. A queued or running job\n"
     "is refused (409 conflict): cancel it first.\n",
     cmd_delete},
    {"list", "[--status S] [--solver NAME] [--tag T] [--limit N] [--cursor C]",
     "jobs, newest first",
     "Columns: id, solver, status, duration (run time of a finished job), objective (of its\n"
     "result), created. -o fields: the same columns tab-separated without a header; --field\n"
     "picks the columns (members of each job, dotted for nested ones).\n",
     cmd_list},
    {"completion", "bash", "print a bash completion script",
     "Install for one session:   source <(solvctl completion bash)\n"
     "or for good:               solvctl completion bash > ~/.local/share/bash-completion/completions/solvctl\n"
     "(system-wide: /usr/share/bash-completion/completions/solvctl). Completes commands,\n"
     "options, solver names and job ids (the last two asked of the server).\n",
     cmd_completion},
    {"help", "[COMMAND]", "this overview, or one command's help", "", cmd_help},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char global_help[] =
    "global options (before or after the command):\n"
    "  --url URL        the server (default $SOLVD_URL, else http://127.0.0.1:8080)\n"
    "  --token TOKEN    bearer token (default $SOLVD_TOKEN)\n"
    "  --cacert FILE    for an https URL, trust the certificate(s) in this PEM file (default\n"
    "                   $SOLVD_CACERT, else the system's)\n"
    "  -o, --output FMT json (compact, one document a line), table, or fields (tab-separated)\n"
    "  --json           the same as -o json\n"
    "  --field NAME     print only this member (repeatable; dotted for nested members)\n"
    "  --version        print solvctl's version\n"
    "  -h, --help       this help (after a command: that command's help)\n\n"
    "environment: SOLVD_URL, SOLVD_TOKEN, SOLVD_CACERT, COLUMNS (the width of the progress line)\n"
    "exit status: 0 ok, 1 error (the server answered with an error, no answer, or a waited-for\n"
    "job failed, was cancelled or timed out), 2 usage, 130 interrupted while waiting\n";

static void usage(FILE *f)
{
    fprintf(f, "usage: solvctl [options] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n%s\nsolvctl help COMMAND shows a command's options.\n", global_help);
}

static const sc_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void command_help(FILE *f, const sc_command *cmd)
{
    fprintf(f, "usage: solvctl %s %s\n\n%s\n", cmd->name, cmd->synopsis, cmd->summary);
    if (cmd->help[0])
        fprintf(f, "\n%s", cmd->help);
    fprintf(f, "\n%s", global_help);
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "solvctl: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    if (cmd)
        fprintf(stderr, "usage: solvctl %s %s (solvctl help %s)\n", cmd,
                find_command(cmd)->synopsis, cmd);
    else
        fprintf(stderr, "usage: solvctl [options] COMMAND [ARGS] (solvctl help)\n");
    return SC_USAGE;
}

/* ---- requests ---- */

static int get_json(const sc_ctx *c, const char *path, json_t **out)
{
    sc_resp r;
    *out = NULL;
    sc_request(c, "GET", path, NULL, NULL, &r);
    if (r.status != 200) {
        int code = sc_report_error(&r);
        sc_resp_free(&r);
        return code;
    }
    *out = json_loads(r.body, 0, NULL);
    sc_resp_free(&r);
    if (!*out) {
        fprintf(stderr, "solvctl: the server sent a body that is not JSON\n");
        return SC_ERROR;
    }
    return SC_OK;
}

/* Prints a document: compact for -o json, key/value for table/fields, else indented JSON.
 * --field picks members first; one --field in the default mode prints just its value. */
static int print_document(const sc_ctx *c, json_t *doc)
{
    json_t *show = doc;
    json_incref(show);
    if (c->nfields) {
        const char *missing = NULL;
        json_decref(show);
        show = sc_pick(doc, c->fields, c->nfields, &missing);
        if (!show) {
            fprintf(stderr, "solvctl: no member '%s' here\n", missing);
            return SC_ERROR;
        }
        if (c->nfields == 1 && c->out == SC_OUT_DEFAULT) {
            char *t = sc_value_text(json_object_get(show, c->fields[0]));
            puts(t);
            free(t);
            json_decref(show);
            return SC_OK;
        }
    }
    if (c->out == SC_OUT_DEFAULT && !c->nfields)
        sc_json_write(stdout, show, 2);
    else
        sc_print_object(stdout, show, c->out == SC_OUT_DEFAULT ? SC_OUT_TABLE : c->out);
    json_decref(show);
    return SC_OK;
}

static int print_body(const sc_ctx *c, const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    if (!doc) {
        fputs(text, stdout);
        return SC_OK;
    }
    int rc = print_document(c, doc);
    json_decref(doc);
    return rc;
}

/* Commands that take exactly one job id. */
static int one_id(const char *cmd, int argc, char **argv)
{
    if (argc != 1)
        return usage_error(cmd, "%s takes one job id", cmd);
    return 0;
}

/* --field on a list (jobs, solvers): each row reduced to the picked members (absent: null);
 * prints them as columns (a header unless -o fields), or the list document with -o json. */
static void print_picked_rows(const sc_ctx *c, json_t *doc, const char *member)
{
    json_t *picked = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, member), i, row) {
        json_t *o = json_object();
        for (int f = 0; f < c->nfields; f++) {
            json_t *v = sc_json_path(row, c->fields[f]);
            json_object_set(o, c->fields[f], v ? v : json_null());
        }
        json_array_append_new(picked, o);
    }
    json_object_set_new(doc, member, picked);
    if (c->out == SC_OUT_JSON) {
        sc_json_write(stdout, doc, 0);
        return;
    }
    if (c->out != SC_OUT_FIELDS) {
        for (int f = 0; f < c->nfields; f++)
            printf("%s%s", f ? "\t" : "", c->fields[f]);
        putchar('\n');
    }
    json_array_foreach(picked, i, row) {
        for (int f = 0; f < c->nfields; f++) {
            char *t = sc_value_text(json_object_get(row, c->fields[f]));
            printf("%s%s", f ? "\t" : "", t);
            free(t);
        }
        putchar('\n');
    }
}

/* ---- solvers ---- */

static int cmd_solvers(sc_ctx *c, int argc, char **argv)
{
    if (argc > 1)
        return usage_error("solvers", "%s: too many arguments", argv[1]);
    char path[512];
    snprintf(path, sizeof path, argc > 0 ? "/v1/solvers/%s" : "/v1/solvers", argc > 0 ? argv[0] : "");
    json_t *doc;
    int rc = get_json(c, path, &doc);
    if (rc)
        return rc;
    if (argc == 0 && c->nfields) {
        print_picked_rows(c, doc, "solvers");
    } else if (argc > 0 || c->out == SC_OUT_JSON) {
        rc = c->out == SC_OUT_JSON && !c->nfields ? (sc_json_write(stdout, doc, 0), SC_OK)
                                                  : print_document(c, doc);
    } else {
        size_t i;
        json_t *s;
        if (c->out != SC_OUT_FIELDS)
            printf("%-24s %-12s %s\n", "NAME", "FAMILY", "SUMMARY");
        json_array_foreach(json_object_get(doc, "solvers"), i, s) {
            printf(c->out == SC_OUT_FIELDS ? "%s\t%s\t%s\n" : "%-24s %-12s %s\n",
                   json_string_value(json_object_get(s, "name")),
                   json_string_value(json_object_get(s, "family")),
                   json_string_value(json_object_get(s, "summary")));
        }
    }
    json_decref(doc);
    return rc;
}

/* ---- wait / logs: the event stream ---- */

typedef struct {
    const sc_ctx *c;
    long max_iter;       /* for the bar; <= 0: unknown */
    int draw;            /* a progress line on the terminal */
    int width;
    int drawn;           /* a progress line is on screen */
    char final[32];      /* the final status, once seen */
    int logs;            /* logs: print every event */
} watch_state;

static void clear_line(watch_state *w)
{
    if (w->drawn)
        fputs("\r\033[K", stderr);
    w->drawn = 0;
}

static int on_event(const sc_event *ev, void *data)
{
    watch_state *w = data;
    json_t *d = json_loads(ev->data, 0, NULL);
    if (w->c->out == SC_OUT_JSON) {
        printf("{\"event\":\"%s\",\"id\":%ld,\"data\":%s}\n", ev->type, ev->id, ev->data);
        fflush(stdout);
    } else if (w->logs) {
        printf("%-4ld %-9s %s\n", ev->id, ev->type, ev->data);
    } else if (strcmp(ev->type, "progress") == 0 && d) {
        if (w->draw) {
            char line[1024];
            sc_progress_line(d, w->max_iter, w->width, line, sizeof line);
            fprintf(stderr, "\r%s\033[K", line);
            fflush(stderr);
            w->drawn = 1;
        }
    } else if (strcmp(ev->type, "status") == 0 && d) {
        const char *st = json_string_value(json_object_get(d, "status"));
        clear_line(w);
        fprintf(stderr, "status: %s\n", st ? st : "?");
    }
    if (strcmp(ev->type, "status") == 0 && d) {
        const char *st = json_string_value(json_object_get(d, "status"));
        if (st && strcmp(st, "queued") != 0 && strcmp(st, "running") != 0)
            snprintf(w->final, sizeof w->final, "%s", st);
    }
    json_decref(d);
    return 0;
}

static long max_iter_of(const sc_ctx *c, json_t *job)
{
    json_t *v = json_object_get(json_object_get(job, "params"), "max_iter");
    long n = json_is_integer(v) ? (long)json_integer_value(v) : 0;
    if (!n) {
        char path[512];
        json_t *solver = NULL;
        snprintf(path, sizeof path, "/v1/solvers/%s",
                 json_string_value(json_object_get(job, "solver")));
        if (get_json(c, path, &solver) == 0) {
            json_t *d = sc_json_path(solver, "params.properties.max_iter.default");
            n = json_is_integer(d) ? (long)json_integer_value(d) : 0;
        }
        json_decref(solver);
    }
    return n;
}

/* The last lines of `wait`: how the job and its solve ended, and a warning when the solver
 * stopped short of its tolerance. */
static void print_summary(const sc_ctx *c, const char *id)
{
    char path[512], num[40], dur[32];
    json_t *job;
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    if (get_json(c, path, &job))
        return;
    const char *st = json_string_value(json_object_get(job, "status"));
    json_t *res = json_object_get(job, "result");
    json_t *err = json_object_get(job, "error");
    json_t *run = sc_json_path(job, "timings.run_s");
    fprintf(stderr, "%s:", st ? st : "?");
    const char *rst = json_string_value(json_object_get(res, "status"));
    if (rst)
        fprintf(stderr, " %s", rst);
    json_t *obj = json_object_get(res, "objective");
    if (json_is_number(obj))
        fprintf(stderr, ", objective %s", sc_fmt_double(json_number_value(obj), 0, num, sizeof num));
    json_t *it = json_object_get(res, "iterations");
    if (json_is_integer(it))
        fprintf(stderr, ", %" JSON_INTEGER_FORMAT " iterations", json_integer_value(it));
    if (json_is_number(run))
        fprintf(stderr, ", %s", sc_fmt_duration(json_number_value(run), dur, sizeof dur));
    fputc('\n', stderr);
    if (json_is_object(err)) {
        const char *code = json_string_value(json_object_get(err, "code"));
        const char *msg = json_string_value(json_object_get(err, "message"));
        fprintf(stderr, "error: %s: %s\n", code ? code : "?", msg ? msg : "");
    }
    if (rst && strcmp(rst, "max_iter") == 0) {
        json_t *mi = sc_json_path(job, "params.max_iter");
        fprintf(stderr, "warning: the solver stopped at max_iter");
        if (json_is_integer(mi))
            fprintf(stderr, " (%" JSON_INTEGER_FORMAT ")", json_integer_value(mi));
        fprintf(stderr, " before reaching its tolerance; the result may not be converged "
                        "(raise --param max_iter)\n");
    } else if ((rst && strcmp(rst, "time_limit") == 0) || (st && strcmp(st, "timed_out") == 0)) {
        fprintf(stderr, "warning: the solver stopped at its time limit before reaching its "
                        "tolerance; the result may not be converged (raise --time-limit)\n");
    }
    json_decref(job);
}

static void on_sigint(int sig)
{
    (void)sig;
    sc_interrupted = 1;
}

/* Follows the job's event stream: logs prints every event, wait draws and summarises. */
static int follow_job(const sc_ctx *c, const char *id, int logs)
{
    watch_state w;
    memset(&w, 0, sizeof w);
    w.c = c;
    w.logs = logs;
    if (!logs) {
        /* Ctrl-C ends the wait, not the job: say so and how to come back. */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        w.draw = c->out != SC_OUT_JSON && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
        if (w.draw) {
            w.width = sc_term_width(STDERR_FILENO);
            char path[512];
            json_t *job = NULL;
            snprintf(path, sizeof path, "/v1/jobs/%s", id);
            if (get_json(c, path, &job) == 0)
                w.max_iter = max_iter_of(c, job);
            json_decref(job);
        }
    }
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    long st = sc_stream(c, path, on_event, &w, err, sizeof err);
    clear_line(&w);
    if (sc_interrupted) {
        fprintf(stderr,
                "solvctl: interrupted; job %s goes on on the server\n"
                "  follow it again: solvctl wait %s\n"
                "  stop it:         solvctl cancel %s\n",
                id, id, id);
        return SC_INTERRUPTED;
    }
    if (st == 0) {
        fprintf(stderr, "solvctl: %s\n", err);
        return SC_ERROR;
    }
    if (st != 200) {
        sc_resp r = {st, err, strlen(err), ""};
        return sc_report_error(&r);
    }
    if (logs)
        return SC_OK;
    if (!w.final[0]) {
        fprintf(stderr, "solvctl: the event stream ended before the job did\n");
        return SC_ERROR;
    }
    if (c->out != SC_OUT_JSON)
        print_summary(c, id);
    return strcmp(w.final, "succeeded") == 0 ? SC_OK : SC_ERROR;
}

static int cmd_wait(sc_ctx *c, int argc, char **argv)
{
    int rc = one_id("wait", argc, argv);
    return rc ? rc : follow_job(c, argv[0], 0);
}

static int cmd_logs(sc_ctx *c, int argc, char **argv)
{
    int rc = one_id("logs", argc, argv);
    return rc ? rc : follow_job(c, argv[0], 1);
}

/* ---- submit ---- */

static int read_file(const char *path, char **out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "solvctl: cannot read %s\n", path);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (f != stdin)
        fclose(f);
    if (!buf)
        return -1;
    buf[len] = 0;
    *out = buf;
    return 0;
}

/* The job body: the file's problem (or job body), or the catalog example of solver. */
static int submit_body(const sc_ctx *c, const char *solver, const char *file, json_t **body)
{
    if (!file) {
        char path[512];
        json_t *doc;
        snprintf(path, sizeof path, "/v1/solvers/%s", solver);
        int rc = get_json(c, path, &doc);
        if (rc)
            return rc;
        json_t *ex = json_object_get(doc, "example");
        if (!json_is_object(ex)) {
            fprintf(stderr, "solvctl: solver %s has no example in the catalog\n", solver);
            json_decref(doc);
            return SC_ERROR;
        }
        *body = json_deep_copy(ex);
        json_decref(doc);
        return SC_OK;
    }
    char *text = NULL;
    if (read_file(file, &text) != 0)
        return SC_USAGE;
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    free(text);
    if (!json_is_object(doc)) {
        fprintf(stderr, "solvctl: %s: not a JSON object (%s at line %d)\n", file,
                doc ? "wrong type" : jerr.text, jerr.line);
        json_decref(doc);
        return SC_USAGE;
    }
    /* A job body ({"problem": ...}) or a bare problem. */
    if (json_object_get(doc, "problem")) {
        *body = doc;
    } else {
        *body = json_object();
        json_object_set_new(*body, "problem", doc);
    }
    return SC_OK;
}

static int parse_number(const char *opt, const char *v, double *out)
{
    char *end;
    *out = strtod(v, &end);
    if (end == v || *end || !isfinite(*out))
        return usage_error("submit", "%s expects a number", opt);
    return 0;
}

static int cmd_submit(sc_ctx *c, int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    int npos = 0, wait = 0, example = 0;
    const char *idem = NULL;
    json_t *opts = json_object();   /* priority, time_limit_s, tags, params from options */
    int rc = SC_OK;
    for (int i = 0; i < argc && rc == SC_OK; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (npos == 2)
                rc = usage_error("submit", "%s: too many arguments", a);
            else
                pos[npos++] = a;
            continue;
        }
        if (strcmp(a, "--wait") == 0) {
            wait = 1;
            continue;
        }
        if (strcmp(a, "--example") == 0) {
            example = 1;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int known = strcmp(a, "--param") == 0 || strcmp(a, "--priority") == 0 ||
                    strcmp(a, "--time-limit") == 0 || strcmp(a, "--tag") == 0 ||
                    strcmp(a, "--idempotency-key") == 0;
        if (!known) {
            rc = usage_error("submit", "unknown submit option '%s'", a);
            break;
        }
        if (!v) {
            rc = usage_error("submit", "%s needs a value", a);
            break;
        }
        i++;
        double num;
        if (strcmp(a, "--param") == 0) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) {
                rc = usage_error("submit", "--param expects name=value, got '%s'", v);
                break;
            }
            json_t *params = json_object_get(opts, "params");
            if (!params) {
                params = json_object();
                json_object_set_new(opts, "params", params);
            }
            json_t *val = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
            if (!val)
                val = json_string(eq + 1);
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
            json_object_set_new(params, name, val);
        } else if (strcmp(a, "--priority") == 0) {
            if (!(rc = parse_number(a, v, &num)))
                json_object_set_new(opts, "priority", json_integer((json_int_t)num));
        } else if (strcmp(a, "--time-limit") == 0) {
            if (!(rc = parse_number(a, v, &num)))
                json_object_set_new(opts, "time_limit_s", json_real(num));
        } else if (strcmp(a, "--tag") == 0) {
            json_t *tags = json_object_get(opts, "tags");
            if (!tags) {
                tags = json_array();
                json_object_set_new(opts, "tags", tags);
            }
            json_array_append_new(tags, json_string(v));
        } else {
            idem = v;
        }
    }
    if (rc == SC_OK && (npos == 0 || (npos == 1 && !example) || (npos == 2 && example)))
        rc = usage_error("submit", "%s", npos == 2 ? "give FILE or --example, not both"
                                                   : "submit needs SOLVER and FILE (or --example)");
    json_t *body = NULL;
    if (rc == SC_OK)
        rc = submit_body(c, pos[0], example ? NULL : pos[1], &body);
    if (rc != SC_OK) {
        json_decref(opts);
        return rc;
    }
    /* The options override what the file or the example says. */
    json_object_set_new(body, "solver", json_string(pos[0]));
    const char *k;
    json_t *v;
    json_object_foreach(opts, k, v) {
        if (strcmp(k, "params") == 0) {
            json_t *params = json_object_get(body, "params");
            if (!json_is_object(params)) {
                params = json_object();
                json_object_set_new(body, "params", params);
            }
            json_object_update(params, v);
        } else {
            json_object_set(body, k, v);
        }
    }
    json_decref(opts);
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char hdr[600];
    if (idem)
        snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", idem);
    sc_resp r;
    sc_request(c, "POST", "/v1/jobs", s, idem ? hdr : NULL, &r);
    free(s);
    if (r.status != 201 && r.status != 200) {
        rc = sc_report_error(&r);
        sc_resp_free(&r);
        return rc;
    }
    json_t *job = json_loads(r.body, 0, NULL);
    const char *id = json_string_value(json_object_get(job, "id"));
    char idbuf[64];
    snprintf(idbuf, sizeof idbuf, "%s", id ? id : "");
    if (c->out == SC_OUT_JSON)
        sc_json_write(stdout, job, 0);
    else
        printf("%s\n", idbuf);
    fflush(stdout);
    json_decref(job);
    sc_resp_free(&r);
    return wait ? follow_job(c, idbuf, 0) : SC_OK;
}

/* ---- status, result, cancel, delete, list ---- */

static int cmd_status(sc_ctx *c, int argc, char **argv)
{
    int rc = one_id("status", argc, argv);
    if (rc)
        return rc;
    char path[512];
    snprintf(path, sizeof path, "/v1/jobs/%s", argv[0]);
    json_t *job;
    if ((rc = get_json(c, path, &job)))
        return rc;
    if (c->nfields || c->out == SC_OUT_FIELDS) {
        rc = print_document(c, job);
    } else if (c->out == SC_OUT_JSON) {
        sc_json_write(stdout, job, 0);
    } else {
        char dur[32];
        printf("id          %s\nsolver      %s\nstatus      %s\n",
               json_string_value(json_object_get(job, "id")),
               json_string_value(json_object_get(job, "solver")),
               json_string_value(json_object_get(job, "status")));
        const char *times[] = {"created_at", "started_at", "finished_at"};
        for (int i = 0; i < 3; i++) {
            const char *t = json_string_value(json_object_get(job, times[i]));
            printf("%-11s %s\n", times[i], t ? t : "-");
        }
        json_t *run = sc_json_path(job, "timings.run_s");
        if (json_is_number(run))
            printf("%-11s %s\n", "duration", sc_fmt_duration(json_number_value(run), dur, sizeof dur));
        const char *objs[] = {"progress", "result", "error"};
        for (int i = 0; i < 3; i++) {
            json_t *o = json_object_get(job, objs[i]);
            if (json_is_object(o)) {
                printf("%-11s ", objs[i]);
                sc_json_write(stdout, o, 0);
            }
        }
    }
    json_decref(job);
    return rc;
}

static int cmd_result(sc_ctx *c, int argc, char **argv)
{
    int rc = one_id("result", argc, argv);
    if (rc)
        return rc;
    char path[512];
    snprintf(path, sizeof path, "/v1/jobs/%s/result", argv[0]);
    json_t *doc;
    if ((rc = get_json(c, path, &doc)))
        return rc;
    rc = print_document(c, doc);
    json_decref(doc);
    return rc;
}

static int cmd_cancel(sc_ctx *c, int argc, char **argv)
{
    int rc = one_id("cancel", argc, argv);
    if (rc)
        return rc;
    char path[512];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", argv[0]);
    sc_resp r;
    sc_request(c, "POST", path, NULL, NULL, &r);
    rc = (r.status >= 200 && r.status < 300) ? print_body(c, r.body) : sc_report_error(&r);
    sc_resp_free(&r);
    return rc;
}

static int cmd_delete(sc_ctx *c, int argc, char **argv)
{
    int rc = one_id("delete", argc, argv);
    if (rc)
        return rc;
    const char *id = argv[0];
    char path[512];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    sc_resp r;
    sc_request(c, "DELETE", path, NULL, NULL, &r);
    if (r.status == 204 || r.status == 200) {
        if (c->out == SC_OUT_JSON) {
            json_t *j = json_pack("{s:s, s:b}", "id", id, "deleted", 1);
            sc_json_write(stdout, j, 0);
            json_decref(j);
        } else {
            printf("deleted %s\n", id);
        }
        rc = SC_OK;
    } else {
        rc = sc_report_error(&r);
        if (r.status == 409)
            fprintf(stderr, "solvctl: the job has not finished: cancel it first "
                            "(solvctl cancel %s)\n", id);
        else if (r.status == 405)
            fprintf(stderr, "solvctl: this server does not delete jobs (DELETE /v1/jobs/{id} "
                            "is newer than it)\n");
    }
    sc_resp_free(&r);
    return rc;
}

static int cmd_list(sc_ctx *c, int argc, char **argv)
{
    char query[1024] = "";
    size_t q = 0;
    for (int i = 0; i < argc; i += 2) {
        const char *key = argv[i][0] == '-' && argv[i][1] == '-' ? argv[i] + 2 : NULL;
        if (!key || (strcmp(key, "status") && strcmp(key, "solver") && strcmp(key, "tag") &&
                     strcmp(key, "limit") && strcmp(key, "cursor")))
            return usage_error("list", "unknown list option '%s'", argv[i]);
        if (i + 1 >= argc)
            return usage_error("list", "%s needs a value", argv[i]);
        char *esc = curl_easy_escape(NULL, argv[i + 1], 0);
        q += (size_t)snprintf(query + q, sizeof query - q, "%c%s=%s", q ? '&' : '?', key, esc);
        curl_free(esc);
    }
    char path[1200];
    snprintf(path, sizeof path, "/v1/jobs%s", query);
    json_t *doc;
    int rc = get_json(c, path, &doc);
    if (rc)
        return rc;
    if (c->nfields) {
        print_picked_rows(c, doc, "jobs");
        json_decref(doc);
        return SC_OK;
    }
    if (c->out == SC_OUT_JSON) {
        sc_json_write(stdout, doc, 0);
        json_decref(doc);
        return SC_OK;
    }
    json_t *jobs = json_object_get(doc, "jobs");
    size_t i;
    json_t *j;
    int fields = c->out == SC_OUT_FIELDS;
    const char *fmt = fields ? "%s\t%s\t%s\t%s\t%s\t%s\n" : "%-24s %-22s %-10s %-9s %-22s %s\n";
    if (!fields)
        printf(fmt, "ID", "SOLVER", "STATUS", "DURATION", "OBJECTIVE", "CREATED");
    json_array_foreach(jobs, i, j) {
        char dur[32], num[40] = "-";
        sc_fmt_duration(json_is_number(sc_json_path(j, "timings.run_s"))
                            ? json_number_value(sc_json_path(j, "timings.run_s"))
                            : -1,
                        dur, sizeof dur);
        json_t *obj = sc_json_path(j, "result.objective");
        if (json_is_number(obj))
            sc_fmt_double(json_number_value(obj), 0, num, sizeof num);
        printf(fmt, json_string_value(json_object_get(j, "id")),
               json_string_value(json_object_get(j, "solver")),
               json_string_value(json_object_get(j, "status")), dur, num,
               json_string_value(json_object_get(j, "created_at")));
    }
    const char *next = json_string_value(json_object_get(doc, "next_cursor"));
    if (next && !fields)
        printf("(more: solvctl list --cursor %s)\n", next);
    json_decref(doc);
    return SC_OK;
}

/* ---- completion ---- */

static const char bash_completion[] =
    "# bash completion for solvctl (solvctl completion bash)\n"
    "_solvctl() {\n"
    "    local cur prev cmd i\n"
    "    cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
    "    prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
    "    cmd=\"\"\n"
    "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
    "        case \"${COMP_WORDS[i]}\" in\n"
    "            --url|--token|--cacert|-o|--output|--field|--param|--priority|--time-limit|"
    "--tag|--idempotency-key|--status|--solver|--limit|--cursor) ((i++)) ;;\n"
    "            -*) ;;\n"
    "            *) cmd=\"${COMP_WORDS[i]}\"; break ;;\n"
    "        esac\n"
    "    done\n"
    "    case \"$prev\" in\n"
    "        -o|--output) COMPREPLY=($(compgen -W \"json table fields\" -- \"$cur\")); return ;;\n"
    "        --status) COMPREPLY=($(compgen -W \"queued running succeeded failed cancelled "
    "timed_out\" -- \"$cur\")); return ;;\n"
    "        --solver) COMPREPLY=($(compgen -W \"$(solvctl solvers -o fields 2>/dev/null | "
    "cut -f1)\" -- \"$cur\")); return ;;\n"
    "        --cacert) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
    "        --url|--token|--field|--param|--priority|--time-limit|--tag|--idempotency-key|"
    "--limit|--cursor) return ;;\n"
    "    esac\n"
    "    if [[ -z \"$cmd\" ]]; then\n"
    "        if [[ \"$cur\" == -* ]]; then\n"
    "            COMPREPLY=($(compgen -W \"--url --token --cacert -o --output --json --field "
    "--version --help\" -- \"$cur\"))\n"
    "        else\n"
    "            COMPREPLY=($(compgen -W \"@COMMANDS@\" -- \"$cur\"))\n"
    "        fi\n"
    "        return\n"
    "    fi\n"
    "    case \"$cmd\" in\n"
    "        submit)\n"
    "            if [[ \"$cur\" == -* ]]; then\n"
    "                COMPREPLY=($(compgen -W \"--example --param --priority --time-limit --tag "
    "--idempotency-key --wait\" -- \"$cur\"))\n"
    "            elif [[ \"$prev\" == submit ]]; then\n"
    "                COMPREPLY=($(compgen -W \"$(solvctl solvers -o fields 2>/dev/null | cut -f1)\" "
    "-- \"$cur\"))\n"
    "            else\n"
    "                COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "            fi ;;\n"
    "        solvers)\n"
    "            COMPREPLY=($(compgen -W \"$(solvctl solvers -o fields 2>/dev/null | cut -f1)\" "
    "-- \"$cur\")) ;;\n"
    "        status|result|wait|watch|logs|cancel|delete)\n"
    "            COMPREPLY=($(compgen -W \"$(solvctl list -o fields 2>/dev/null | cut -f1)\" "
    "-- \"$cur\")) ;;\n"
    "        list)\n"
    "            COMPREPLY=($(compgen -W \"--status --solver --tag --limit --cursor\" -- \"$cur\")) ;;\n"
    "        completion) COMPREPLY=($(compgen -W \"bash\" -- \"$cur\")) ;;\n"
    "        help) COMPREPLY=($(compgen -W \"@COMMANDS@\" -- \"$cur\")) ;;\n"
    "    esac\n"
    "}\n"
    "complete -o default -F _solvctl solvctl\n";

static int cmd_completion(sc_ctx *c, int argc, char **argv)
{
    (void)c;
    if (argc != 1 || strcmp(argv[0], "bash") != 0)
        return usage_error("completion", "%s", argc ? "only bash is supported"
                                                   : "completion needs a shell: bash");
    char names[512] = "";
    for (size_t i = 0; i < NCOMMANDS; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " " : "",
                 commands[i].name);
    for (const char *p = bash_completion; *p;) {
        const char *at = strstr(p, "@COMMANDS@");
        if (!at) {
            fputs(p, stdout);
            break;
        }
        fwrite(p, 1, (size_t)(at - p), stdout);
        fputs(names, stdout);
        p = at + strlen("@COMMANDS@");
    }
    return SC_OK;
}

static int cmd_help(sc_ctx *c, int argc, char **argv)
{
    (void)c;
    if (argc == 0) {
        usage(stdout);
        return SC_OK;
    }
    const sc_command *cmd = argc == 1 ? find_command(argv[0]) : NULL;
    if (!cmd)
        return usage_error("help", argc == 1 ? "unknown command '%s'" : "%s: too many arguments",
                           argv[argc == 1 ? 0 : 1]);
    command_help(stdout, cmd);
    return SC_OK;
}

/* ---- main: global options anywhere on the line, then the command ---- */

/* Options of commands that take a value: their values are never read as global options. */
static int takes_value(const char *a)
{
    static const char *const opts[] = {"--param", "--priority", "--time-limit", "--tag",
                                       "--idempotency-key", "--status", "--solver", "--limit",
                                       "--cursor", NULL};
    for (const char *const *o = opts; *o; o++)
        if (strcmp(a, *o) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    sc_ctx c;
    memset(&c, 0, sizeof c);
    c.url = getenv("SOLVD_URL");
    c.token = getenv("SOLVD_TOKEN");
    c.cacert = getenv("SOLVD_CACERT");
    if (c.cacert && !*c.cacert)
        c.cacert = NULL;
    if (!c.url || !*c.url)
        c.url = "http://127.0.0.1:8080";
    if (c.token && !*c.token)
        c.token = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0, help = 0, dashdash = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (dashdash || a[0] != '-') {
            rest[nrest++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            dashdash = 1;
        } else if (takes_value(a)) {
            rest[nrest++] = argv[i];
            if (v)
                rest[nrest++] = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            c.out = SC_OUT_JSON;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
                   strncmp(a, "--output=", 9) == 0 || (strncmp(a, "-o", 2) == 0 && a[2])) {
            const char *fmt = a[1] == 'o' ? (a[2] ? a + 2 : v) : (a[8] == '=' ? a + 9 : v);
            if (fmt == v)
                i++;
            if (!fmt || sc_output_parse(fmt, &c.out) != 0) {
                free(rest);
                return usage_error(NULL, "-o takes json, table or fields, not '%s'",
                                   fmt ? fmt : "nothing");
            }
        } else if (strcmp(a, "--field") == 0 || strncmp(a, "--field=", 8) == 0) {
            const char *f = a[7] == '=' ? a + 8 : v;
            if (f == v)
                i++;
            if (!f || !*f || c.nfields == SC_MAX_FIELDS) {
                free(rest);
                return usage_error(NULL, "%s", f ? "too many --field" : "--field needs a name");
            }
            c.fields[c.nfields++] = (char *)f;
        } else if (strcmp(a, "--url") == 0 || strcmp(a, "--token") == 0 ||
                   strcmp(a, "--cacert") == 0) {
            if (!v) {
                free(rest);
                return usage_error(NULL, "%s needs a value", a);
            }
            if (a[2] == 'u')
                c.url = v;
            else if (a[2] == 't')
                c.token = v;
            else
                c.cacert = v;
            i++;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help = 1;
        } else if (strcmp(a, "--version") == 0) {
            printf("solvctl %s\n", SOLVCTL_VERSION);
            free(rest);
            return SC_OK;
        } else if (nrest > 0 && find_command(rest[0])) {
            rest[nrest++] = argv[i];   /* the command's own flag (--wait, --example, ...) */
        } else {
            free(rest);
            return usage_error(NULL, "unknown option '%s'", a);
        }
    }
    if (help || nrest == 0) {
        const sc_command *cmd = nrest ? find_command(rest[0]) : NULL;
        if (cmd)
            command_help(stdout, cmd);
        else
            usage(help ? stdout : stderr);
        free(rest);
        return help ? SC_OK : SC_USAGE;
    }
    const sc_command *cmd = find_command(rest[0]);
    if (!cmd) {
        int rc = usage_error(NULL, "unknown command '%s'", rest[0]);
        free(rest);
        return rc;
    }
    /* "http://host:8080/" is as good as "http://host:8080": paths are appended to the base. */
    char base[1024];
    snprintf(base, sizeof base, "%s", c.url);
    for (size_t n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
        base[n - 1] = 0;
    c.url = base;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmd->fn(&c, nrest - 1, rest + 1);
    curl_global_cleanup();
    free(rest);
    return rc;
}
