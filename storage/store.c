/* store.c - the store interface: picks the backend from the URL given to sv_store_open, and
 * forwards every sv_store_* call to the handle's ops table (storage/backend.h). */
#include "storage/backend.h"

#include <stdio.h>
#include <string.h>

/* Schemes this build knows; a backend that is not built in has a NULL open and is refused with
 * a message that names it, rather than mistaken for a file name. */
static const struct {
    const char *prefix;   /* matched at the start of the URL */
    int strip;            /* 1: the backend gets what follows the prefix */
    sv_store_open_fn open;
    const char *missing;  /* why it cannot be used, when open is NULL */
} schemes[] = {
    {"sqlite:", 1, sv_sqlite_open, NULL},
    {"postgres://", 0, sv_postgres_open, NULL},
    {"postgresql://", 0, sv_postgres_open, NULL},
};

void sv_store_url_redact(const char *url, char *out, size_t cap);

static void set_err(char *err, size_t errlen, const char *url, const char *msg)
{
    char shown[512];
    sv_store_url_redact(url ? url : "(null)", shown, sizeof shown);
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", shown, msg);
}

/* "scheme://" at the start: a URL for a backend, not a path. */
static int looks_like_url(const char *url)
{
    const char *p = url;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return 0;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    return strncmp(p, "://", 3) == 0;
}

int sv_store_open(const char *url, sv_store **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!url || !out) {
        set_err(err, errlen, url, "sv_store_open: no URL or no output");
        return SV_STORE_EIO;
    }
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].prefix);
        if (strncmp(url, schemes[i].prefix, n) != 0)
            continue;
        if (!schemes[i].open) {
            set_err(err, errlen, url, schemes[i].missing);
            return SV_STORE_EIO;
        }
        return schemes[i].open(schemes[i].strip ? url + n : url, out, err, errlen);
    }
    if (looks_like_url(url)) {
        set_err(err, errlen, url, "unknown store scheme (expected sqlite:PATH or a path)");
        return SV_STORE_EIO;
    }
    return sv_sqlite_open(url, out, err, errlen);
}

int sv_store_listen(const char *url, sv_store_listener **out, char *err, size_t errlen)
{
    *out = NULL;
    if (url && (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0))
        return sv_postgres_listen(url, out, err, errlen);
    set_err(err, errlen, url, "this store sends no notifications");
    return SV_STORE_ESTATE;
}

/* The URL as it may be shown: a password (in the user part or as a parameter) becomes ***. */
void sv_store_url_redact(const char *url, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = url, *scheme_end = strstr(url, "://");
    const char *auth = scheme_end ? scheme_end + 3 : NULL;
    const char *at = NULL, *colon = NULL;
    if (auth) {
        const char *end = auth + strcspn(auth, "/?#");
        for (const char *q = auth; q < end; q++)
            if (*q == '@')
                at = q;
        if (at)
            colon = memchr(auth, ':', (size_t)(at - auth));
    }
    while (*p && o + 1 < cap) {
        if (colon && p == colon + 1) {
            o += (size_t)snprintf(out + o, cap - o, "***");
            p = at;
            colon = NULL;
            continue;
        }
        if ((p == url || p[-1] == '?' || p[-1] == '&') && strncmp(p, "password=", 9) == 0) {
            o += (size_t)snprintf(out + o, cap - o, "password=***");
            p += 9 + strcspn(p + 9, "&#");
            continue;
        }
        out[o++] = *p++;
    }
    if (o >= cap)
        o = cap - 1;
    out[o] = '\0';
}

int sv_store_preflight(const char *url, char *err, size_t errlen)
{
    if (!url)
        return SV_STORE_OK;
    if (strncmp(url, "sqlite:", 7) == 0)
        return sv_sqlite_preflight(url + 7, err, errlen);
    return looks_like_url(url) ? SV_STORE_OK : sv_sqlite_preflight(url, err, errlen);
}

void sv_store_close(sv_store *s)
{
    if (s)
        s->ops->close(s);
}

const char *sv_store_backend(const sv_store *s) { return s ? s->ops->name : "none"; }
unsigned sv_store_caps(const sv_store *s) { return s ? s->ops->caps : 0u; }

int sv_store_schema_version(sv_store *s) { return s ? s->ops->schema_version(s) : -1; }

const char *sv_store_errmsg(sv_store *s) { return s ? s->ops->errmsg(s) : "no store"; }

int sv_store_begin(sv_store *s) { return s->ops->begin(s); }
int sv_store_commit(sv_store *s) { return s->ops->commit(s); }
int sv_store_rollback(sv_store *s) { return s->ops->rollback(s); }

int sv_store_insert_job(sv_store *s, const sv_job *j) { return s->ops->insert_job(s, j); }

int sv_store_claim_job(sv_store *s, const char *id, const char *node, double now, double lease_s,
                       int attempts)
{
    return s->ops->claim_job(s, id, node, now, lease_s, attempts);
}

int sv_store_claim_next(sv_store *s, const char *node, double now, double lease_s, sv_job *out)
{
    return s->ops->claim_next(s, node, now, lease_s, out);
}

int sv_store_heartbeat(sv_store *s, const char *node, double now, double lease_s, int *renewed)
{
    return s->ops->heartbeat(s, node, now, lease_s, renewed);
}

int sv_store_release(sv_store *s, const char *id, const char *node, double now)
{
    return s->ops->release(s, id, node, now);
}

int sv_store_requeue_expired(sv_store *s, double now, int max_attempts, int *requeued,
                             int *failed)
{
    return s->ops->requeue_expired(s, now, max_attempts, requeued, failed);
}

int sv_store_finish_job(sv_store *s, const char *id, const char *node, sv_job_state state,
                        double finished_at, const char *summary, const char *result,
                        const char *error)
{
    return s->ops->finish_job(s, id, node, state, finished_at, summary, result, error);
}

int sv_store_cancel(sv_store *s, const char *id, const char *tenant, double now,
                    sv_job_state *state)
{
    return s->ops->cancel(s, id, tenant, now, state);
}

int sv_store_cancel_requests(sv_store *s, const char *node, int (*cb)(void *data, const char *id),
                             void *data)
{
    return s->ops->cancel_requests(s, node, cb, data);
}

int sv_store_add_event(sv_store *s, const char *id, long seq, const char *type, double ts,
                       const char *data)
{
    return s->ops->add_event(s, id, seq, type, ts, data);
}

int sv_store_recover(sv_store *s, const char *node, int max_attempts, double now, int *requeued,
                     int *failed)
{
    return s->ops->recover(s, node, max_attempts, now, requeued, failed);
}

int sv_store_get_job(sv_store *s, const char *id, const char *tenant, sv_job *out)
{
    return s->ops->get_job(s, id, tenant, out);
}

int sv_store_get_result(sv_store *s, const char *id, const char *tenant, char **out)
{
    return s->ops->get_result(s, id, tenant, out);
}

int sv_store_get_request(sv_store *s, const char *id, char **out)
{
    return s->ops->get_request(s, id, out);
}

int sv_store_find_idem(sv_store *s, const char *tenant, const char *key, sv_job *out)
{
    return s->ops->find_idem(s, tenant, key, out);
}

int sv_store_list_jobs(sv_store *s, const sv_job_filter *f, sv_job *out, int *n)
{
    return s->ops->list_jobs(s, f, out, n);
}

int sv_store_events(sv_store *s, const char *id, long after_seq, int limit, sv_event_cb cb,
                    void *data)
{
    return s->ops->events(s, id, after_seq, limit, cb, data);
}

int sv_store_each_queued(sv_store *s, sv_job_cb cb, void *data)
{
    return s->ops->each_queued(s, cb, data);
}

int sv_store_count_states(sv_store *s, long *counts)
{
    return s->ops->count_states(s, NULL, counts);
}
int sv_store_count_states_of(sv_store *s, const char *tenant, long *counts)
{
    return s->ops->count_states(s, tenant, counts);
}

int sv_store_delete_job(sv_store *s, const char *id, const char *tenant)
{
    return s->ops->delete_job(s, id, tenant);
}

int sv_store_prune(sv_store *s, double finished_before, long keep, long limit, long *deleted)
{
    return s->ops->prune(s, finished_before, keep, limit, deleted);
}

int sv_store_checkpoint(sv_store *s) { return s->ops->checkpoint(s); }
