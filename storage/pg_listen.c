/* pg_listen.c - the PostgreSQL store's wake-ups (store.h, sv_store_listener): a connection of its
 * own that LISTENs on the channels the backend's writes NOTIFY (postgres.c), read without
 * blocking from the loop. */
#include "storage/backend.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sv_store_listener {
    PGconn *conn;
};

static const struct {
    const char *channel;
    sv_wake_kind kind;
} channels[] = {
    {"solvd_jobs", SV_WAKE_JOBS},
    {"solvd_cancel", SV_WAKE_CANCEL},
    {"solvd_events", SV_WAKE_EVENTS},
};

static void say(char *err, size_t errlen, const char *url, const char *what, const char *why)
{
    char shown[256];
    sv_store_url_redact(url, shown, sizeof shown);
    if (err && errlen)
        snprintf(err, errlen, "%s: PostgreSQL listener: %s%s", shown, what, why ? why : "");
}

int sv_postgres_listen(const char *url, sv_store_listener **out, char *err, size_t errlen)
{
    *out = NULL;
    sv_store_listener *l = calloc(1, sizeof *l);
    if (!l)
        return SV_STORE_ENOMEM;
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *const vals[] = {"10", "solvd-listen", url, NULL};
    l->conn = PQconnectdbParams(keys, vals, 1);
    if (!l->conn || PQstatus(l->conn) != CONNECTION_OK) {
        say(err, errlen, url, "", l->conn ? PQerrorMessage(l->conn) : "out of memory");
        sv_store_listener_close(l);
        return SV_STORE_EIO;
    }
    for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "LISTEN %s", channels[i].channel);
        PGresult *res = PQexec(l->conn, sql);
        int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok) {
            say(err, errlen, url, "LISTEN failed: ", PQerrorMessage(l->conn));
            sv_store_listener_close(l);
            return SV_STORE_EIO;
        }
    }
    /* From here on only drained from the loop: nothing may block it. */
    if (PQsetnonblocking(l->conn, 1) != 0) {
        say(err, errlen, url, "cannot make the connection non-blocking: ",
            PQerrorMessage(l->conn));
        sv_store_listener_close(l);
        return SV_STORE_EIO;
    }
    *out = l;
    return SV_STORE_OK;
}

int sv_store_listener_fd(const sv_store_listener *l) { return PQsocket(l->conn); }

int sv_store_listener_drain(sv_store_listener *l,
                            void (*cb)(void *data, sv_wake_kind kind, const char *id),
                            void *data, char *err, size_t errlen)
{
    if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
        if (err && errlen)
            snprintf(err, errlen, "PostgreSQL listener: connection lost: %s",
                     PQerrorMessage(l->conn));
        return SV_STORE_EIO;
    }
    PGnotify *n;
    while ((n = PQnotifies(l->conn)) != NULL) {
        for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++)
            if (strcmp(n->relname, channels[i].channel) == 0)
                cb(data, channels[i].kind, n->extra ? n->extra : "");
        PQfreemem(n);
    }
    return SV_STORE_OK;
}

void sv_store_listener_close(sv_store_listener *l)
{
    if (!l)
        return;
    PQfinish(l->conn);
    free(l);
}
