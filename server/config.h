/* config.h - the daemon's configuration: defaults, then a config file (--config), then
 * environment variables (SOLVD_*), then command-line flags, each overriding the one before. */
#ifndef SV_CONFIG_H
#define SV_CONFIG_H

#include <stddef.h>

typedef struct {
    char listen[128];          /* host:port */
    char db[512];              /* the store: a SQLite file (sqlite:PATH) or postgres:// URL */
    char node[64];             /* name on a shared store; "": the host name */
    double lease_s;            /* shared store: a running job's hold without renewal */
    int claim_poll_ms;         /* shared store: how often other nodes' jobs and cancels are
                                  looked for */
    int workers;               /* solver threads; 0 = number of cores */
    long max_body_bytes;       /* request bodies larger than this get 413 */
    long max_parse_bytes;      /* bodies being parsed at once, in bytes; more wait their turn */
    double max_job_seconds;    /* cap (and default) of a job's time limit */
    int max_attempts;          /* starts allowed before an interrupted job fails */
    long max_dim;              /* largest vector length / matrix dimension in a problem */
    long max_entries;          /* largest number of stored matrix entries in a problem */
    char data_dir[512];        /* named data sets for "dataset" problems */
    char dashboard_dir[512];   /* static files served at / */
    char docs_dir[512];        /* openapi.json served at /v1/openapi.json */
    char tokens[1024];         /* "token:tenant,token2:tenant2"; empty = no auth */
    char tokens_file[512];     /* file with one "token tenant" per line; overrides tokens */
    char tls_cert[512];        /* PEM certificate (chain) file: HTTPS when set, with tls_key */
    char tls_key[512];         /* PEM private key file of tls_cert */
    char log_level[16];
    int progress_interval_ms;  /* minimum time between stored progress events of one job */
    int heartbeat_s;           /* SSE comment heartbeat period */
    int max_subscribers;       /* concurrent SSE streams */
    int max_connections;
    int max_connections_per_ip; /* concurrent connections from one address; 0: no limit */
    double header_timeout_s;   /* a request's headers must arrive within this; 0: no limit */
    double body_timeout_s;     /* its body within this of the headers; 0: no limit */
    int idle_timeout_s;        /* a connection silent this long is closed */
    double drain_seconds;      /* on SIGTERM, how long running jobs may go on before they are
                                  interrupted (and requeued at the next start) */
    double retain_days;        /* finished jobs older than this are deleted; 0: kept */
    long retain_jobs;          /* at most this many finished jobs are kept; 0: no limit */
    double maintenance_s;      /* period of retention and the store's log checkpoint */
    long max_queued_per_tenant; /* queued jobs one tenant may have; 0: no limit */
    int metrics_public;        /* 1: /metrics needs no token even when authentication is on */
} sv_config;

void sv_config_defaults(sv_config *c);
/* Applies argv (and, first, the file named by --config and the SOLVD_* environment). Returns 0,
 * 1 when --help or --version was printed (exit 0), or -1 after printing an error to stderr. */
int sv_config_load(sv_config *c, int argc, char **argv);
/* The name of option i ("listen", "db", ...), or NULL past the last: for the test that keeps
 * the docs and the sample config listing every option. */
const char *sv_config_option_name(size_t i);
/* Usage text for --help. */
void sv_config_usage(const char *argv0);

#endif
