/* app.h - the daemon's state: the modules it is made of, composed in one struct that main.c
 * wires together. Everything here belongs to the loop thread unless a field says otherwise.
 * The modules below app (jobtable, queue, jobs, writer, workers, reads, metrics, config, notify)
 * do not know it; the HTTP side (http, handlers, stream, auth) and main do. */
#ifndef SV_APP_H
#define SV_APP_H

#include <stdint.h>
#include <uv.h>
#include "api/codec.h"
#include "server/cluster.h"
#include "server/config.h"
#include "server/deadlines.h"
#include "server/http.h"
#include "server/jobs.h"
#include "server/metrics.h"
#include "server/notify.h"
#include "server/reads.h"
#include "server/viewcache.h"
#include "server/workers.h"
#include "server/writer.h"
#include "storage/store.h"

typedef struct sv_app sv_app;

struct sv_app {
    uv_loop_t *loop;
    sv_config cfg;
    sv_codec_env env;
    sv_store *rstore;          /* reads on the loop thread, when the backend allows (reads.h) */
    sv_store *wstore;          /* writes, one batch at a time on a pool thread */
    sv_reads reads;
    sv_writer writer;
    sv_jobs jobs;
    sv_viewcache views;        /* finished jobs' GET views, on a store no other node writes */
    int shared;                /* the store is shared with other nodes (server/cluster.h) */
    sv_cluster cluster;        /* this node's part in it, when shared */
    sv_pool pool;
    sv_metrics metrics;
    struct MHD_Daemon *mhd;
    sv_http_handler http_handler;
    unsigned port;             /* the port bound (also when --listen asked for 0) */
    uv_poll_t mhd_poll;
    uv_timer_t mhd_timer;
    sv_deadlines deadlines;    /* request header and body deadlines of connections */
    char *tls_cert_pem, *tls_key_pem;   /* HTTPS: the PEM texts MHD reads while it runs */
    int listen_loopback;       /* the listening address is a loopback one */
    size_t intake_bytes;       /* bodies being parsed now (server/intake.c) */
    struct intake *intake_waiting;   /* submissions waiting for max-parse-bytes, oldest first */
    uv_timer_t heartbeat;
    uv_timer_t drain_timer;
    uv_timer_t maintenance;   /* retention and the store's log checkpoint, every maintenance-s */
    uv_signal_t sigterm, sigint, sighup;
    sv_notify notify;
    struct sv_sub *subs_all;   /* every open event stream (server/stream.c) */
    struct sv_chunk *result_chunks; /* result blocks some stream holds, to share (chunk.h) */
    int n_subs;
    int draining;              /* no new jobs, no dispatch */
    int stopping;              /* shutdown sequence started */
    int interrupted;           /* the drain's grace period ran out: running jobs were told */
    double drain_started;
    struct sv_token *tokens;   /* bearer token -> tenant (server/auth.c) */
};

#endif
