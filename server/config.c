/* config.c - table-driven options: every option has one flag, one environment variable and one
 * config-file key, so the three sources cannot drift apart. */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SOLVD_VERSION
#define SOLVD_VERSION "dev"
#endif

typedef enum { OPT_STR, OPT_INT, OPT_LONG, OPT_DOUBLE } opt_type;

typedef struct {
    const char *name;   /* flag without "--", file key; env is SOLVD_ + upper(name with - -> _) */
    opt_type type;
    size_t offset;
    size_t size;        /* for strings */
    double min, max;
    const char *help;
} opt;

#define O(field) offsetof(sv_config, field), sizeof(((sv_config *)0)->field)

static const opt options[] = {
    {"listen", OPT_STR, O(listen), 0, 0, "address to listen on, host:port"},
    {"db", OPT_STR, O(db), 0, 0,
     "job store: a SQLite file (PATH or sqlite:PATH) or a shared postgres://... URL"},
    {"node", OPT_STR, O(node), 0, 0,
     "this process's name on a shared store (default: the host name); each node its own"},
    {"lease-s", OPT_DOUBLE, O(lease_s), 1, 86400,
     "shared store: seconds a node holds a running job without renewing it; after that "
     "another node requeues it"},
    {"claim-poll-ms", OPT_INT, O(claim_poll_ms), 10, 60000,
     "shared store: period of looking for new jobs and for cancels from other nodes"},
    {"workers", OPT_INT, O(workers), 0, 1024, "solver worker threads (0: number of cores)"},
    {"max-body-bytes", OPT_LONG, O(max_body_bytes), 1024, 1e10, "largest request body accepted"},
    {"max-parse-bytes", OPT_LONG, O(max_parse_bytes), 1024, 1e11,
     "job bodies parsed at once, in bytes (a parse costs several times its body); more wait"},
    {"max-job-seconds", OPT_DOUBLE, O(max_job_seconds), 0.001, 1e9,
     "largest (and default) time limit of a job, seconds"},
    {"max-attempts", OPT_INT, O(max_attempts), 1, 100,
     "starts allowed before a job interrupted by a crash fails"},
    {"max-dim", OPT_LONG, O(max_dim), 1, 1e9, "largest vector length or matrix dimension"},
    {"max-entries", OPT_LONG, O(max_entries), 1, 1e11, "largest number of matrix entries"},
    {"data-dir", OPT_STR, O(data_dir), 0, 0, "directory of named data sets"},
    {"dashboard-dir", OPT_STR, O(dashboard_dir), 0, 0, "directory of the dashboard's files"},
    {"docs-dir", OPT_STR, O(docs_dir), 0, 0, "directory holding openapi.json"},
    {"tokens", OPT_STR, O(tokens), 0, 0, "bearer tokens, token:tenant[,token:tenant...]"},
    {"tokens-file", OPT_STR, O(tokens_file), 0, 0, "file of 'token tenant' lines"},
    {"tls-cert", OPT_STR, O(tls_cert), 0, 0,
     "PEM certificate file (with its chain): serve HTTPS; needs tls-key"},
    {"tls-key", OPT_STR, O(tls_key), 0, 0, "PEM private key file of tls-cert (unencrypted)"},
    {"log-level", OPT_STR, O(log_level), 0, 0, "debug, info, warn or error"},
    {"progress-interval-ms", OPT_INT, O(progress_interval_ms), 0, 60000,
     "least time between stored progress events of a job"},
    {"heartbeat-s", OPT_INT, O(heartbeat_s), 1, 3600, "seconds of silence before an event stream gets a keep-alive"},
    {"max-subscribers", OPT_INT, O(max_subscribers), 1, 100000, "concurrent event streams"},
    {"max-connections", OPT_INT, O(max_connections), 1, 100000, "concurrent HTTP connections"},
    {"max-connections-per-ip", OPT_INT, O(max_connections_per_ip), 0, 100000,
     "concurrent HTTP connections from one address; 0: no limit"},
    {"header-timeout-s", OPT_DOUBLE, O(header_timeout_s), 0, 86400,
     "seconds a client has to send a request's headers (from connecting or the previous "
     "response); 0: no limit"},
    {"body-timeout-s", OPT_DOUBLE, O(body_timeout_s), 0, 86400,
     "seconds a client has to send a request's body once its headers are in; 0: no limit"},
    {"idle-timeout-s", OPT_INT, O(idle_timeout_s), 1, 86400,
     "seconds of silence after which a connection is closed"},
    {"drain-seconds", OPT_DOUBLE, O(drain_seconds), 0, 1e6,
     "on SIGTERM, how long running jobs may finish before they are interrupted"},
    {"retain-days", OPT_DOUBLE, O(retain_days), 0, 1e5,
     "delete finished jobs this many days after they finished; 0 keeps them"},
    {"retain-jobs", OPT_LONG, O(retain_jobs), 0, 1e9,
     "keep at most this many finished jobs (the newest); 0: no limit"},
    {"maintenance-s", OPT_DOUBLE, O(maintenance_s), 0.1, 86400,
     "seconds between retention rounds and store log checkpoints"},
    {"max-queued-per-tenant", OPT_LONG, O(max_queued_per_tenant), 0, 1e9,
     "queued jobs one tenant may have at once (429 beyond); 0: no limit"},
    {"metrics-public", OPT_INT, O(metrics_public), 0, 1,
     "1: /metrics is open without a token when auth is on; 0: it needs one"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

void sv_config_defaults(sv_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    snprintf(c->db, sizeof c->db, "solvd.db");
    c->workers = 0;
    c->max_body_bytes = 64L << 20;
    c->max_parse_bytes = 128L << 20;
    c->max_job_seconds = 3600;
    c->max_attempts = 3;
    c->max_dim = 1000000;
    c->max_entries = 20000000;
#ifdef SOLVD_DATA_DIR
    snprintf(c->data_dir, sizeof c->data_dir, "%s", SOLVD_DATA_DIR);
#endif
#ifdef SOLVD_DASHBOARD_DIR
    snprintf(c->dashboard_dir, sizeof c->dashboard_dir, "%s", SOLVD_DASHBOARD_DIR);
#endif
#ifdef SOLVD_DOCS_DIR
    snprintf(c->docs_dir, sizeof c->docs_dir, "%s", SOLVD_DOCS_DIR);
#endif
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->progress_interval_ms = 100;
    c->heartbeat_s = 15;
    c->lease_s = 15;
    c->claim_poll_ms = 250;
    c->max_subscribers = 1024;
    c->max_connections = 4096;
    c->max_connections_per_ip = 1024;
    c->header_timeout_s = 20;
    c->body_timeout_s = 120;
    c->idle_timeout_s = 60;
    c->drain_seconds = 10;
    c->maintenance_s = 60;
    c->metrics_public = 1;
}

static const opt *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

static int set_opt(sv_config *c, const opt *o, const char *value, const char *source)
{
    char *field = (char *)c + o->offset;
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case OPT_STR:
        if (strlen(value) >= o->size) {
            fprintf(stderr, "solvd: %s: value of %s is too long\n", source, o->name);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case OPT_INT:
    case OPT_LONG: {
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < o->min || v > o->max) {
            fprintf(stderr, "solvd: %s: %s must be an integer in [%.0f, %.0f], got '%s'\n", source,
                    o->name, o->min, o->max, value);
            return -1;
        }
        if (o->type == OPT_INT)
            *(int *)field = (int)v;
        else
            *(long *)field = v;
        return 0;
    }
    case OPT_DOUBLE: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v) || v < o->min || v > o->max) {
            fprintf(stderr, "solvd: %s: %s must be a number in [%g, %g], got '%s'\n", source,
                    o->name, o->min, o->max, value);
            return -1;
        }
        *(double *)field = v;
        return 0;
    }
    }
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

/* key = value lines; '#' starts a comment; keys are the flag names. */
static int load_file(sv_config *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "solvd: cannot read config file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        char where[600];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!eq) {
            fprintf(stderr, "solvd: %s: expected 'key = value'\n", where);
            rc = -1;
            break;
        }
        *eq = 0;
        char *key = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = 0;
            value++;
        }
        const opt *o = find_opt(key, strlen(key));
        if (!o) {
            fprintf(stderr, "solvd: %s: unknown option '%s'\n", where, key);
            rc = -1;
        } else {
            rc = set_opt(c, o, value, where);
        }
    }
    fclose(f);
    return rc;
}

static void env_name(const char *name, char *out, size_t n)
{
    size_t i = 0;
    i += (size_t)snprintf(out, n, "SOLVD_");
    for (const char *p = name; *p && i + 1 < n; p++)
        out[i++] = (*p == '-') ? '_' : (char)toupper((unsigned char)*p);
    out[i] = 0;
}

const char *sv_config_option_name(size_t i)
{
    return i < N_OPTIONS ? options[i].name : NULL;
}

void sv_config_usage(const char *argv0)
{
    printf("usage: %s [--config FILE] [--option value ...]\n\n"
           "solvd serves numerical optimization jobs over HTTP/JSON.\n\noptions "
           "(each also as SOLVD_<NAME> in the environment and 'name = value' in the config "
           "file; flags override the environment, which overrides the file):\n",
           argv0);
    sv_config d;
    sv_config_defaults(&d);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt *o = &options[i];
        char def[600];
        const char *field = (const char *)&d + o->offset;
        switch (o->type) {
        case OPT_STR: snprintf(def, sizeof def, "%s", field); break;
        case OPT_INT: snprintf(def, sizeof def, "%d", *(const int *)field); break;
        case OPT_LONG: snprintf(def, sizeof def, "%ld", *(const long *)field); break;
        case OPT_DOUBLE: snprintf(def, sizeof def, "%g", *(const double *)field); break;
        }
        printf("  --%-22s %s (default: %s)\n", o->name, o->help, def[0] ? def : "none");
    }
    printf("  --%-22s %s\n  --%-22s %s\n", "config FILE", "read options from FILE", "version",
           "print the version");
}

int sv_config_load(sv_config *c, int argc, char **argv)
{
    /* Pass 1: --help, --version and --config, which decide what else is read. */
    const char *file = getenv("SOLVD_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sv_config_usage(argv[0]);
            return 1;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("solvd %s\n", SOLVD_VERSION);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
    }
    if (file && *file && load_file(c, file) != 0)
        return -1;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        char name[96];
        env_name(options[i].name, name, sizeof name);
        const char *v = getenv(name);
        if (v && set_opt(c, &options[i], v, name) != 0)
            return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "solvd: unexpected argument '%s' (see --help)\n", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len == 6 && strncmp(a, "config", 6) == 0) {
            if (!eq)
                i++;
            continue;
        }
        const opt *o = find_opt(a, len);
        if (!o) {
            fprintf(stderr, "solvd: unknown option '--%.*s' (see --help)\n", (int)len, a);
            return -1;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            fprintf(stderr, "solvd: option --%s needs a value\n", o->name);
            return -1;
        }
        if (set_opt(c, o, value, "command line") != 0)
            return -1;
    }
    return 0;
}
