/* job.c - job states, the sv_job row and the status event: the one place where state names and
 * the status event's JSON are spelled, shared by every store backend and the server (the names
 * are also what the database stores and what the API shows). */
#include "storage/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[SV_JOB_NSTATES] = {
    [SV_JOB_QUEUED] = "queued",
    [SV_JOB_RUNNING] = "running",
    [SV_JOB_SUCCEEDED] = "succeeded",
    [SV_JOB_FAILED] = "failed",
    [SV_JOB_CANCELLED] = "cancelled",
    [SV_JOB_TIMED_OUT] = "timed_out",
};

const char *sv_job_state_name(sv_job_state s)
{
    /* Out-of-range values come from corrupt data or a cast gone wrong; a fixed word keeps the
     * caller's logs and JSON well-formed instead of handing back NULL. */
    if ((int)s < 0 || s >= SV_JOB_NSTATES)
        return "unknown";
    return state_names[s];
}

int sv_job_state_parse(const char *name, sv_job_state *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < SV_JOB_NSTATES; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            if (out)
                *out = (sv_job_state)i;
            return 0;
        }
    }
    return -1;
}

int sv_job_state_final(sv_job_state s)
{
    return s == SV_JOB_SUCCEEDED || s == SV_JOB_FAILED || s == SV_JOB_CANCELLED ||
           s == SV_JOB_TIMED_OUT;
}

void sv_job_clear(sv_job *j)
{
    if (!j)
        return;
    free(j->request);
    free(j->tags);
    free(j->progress);
    free(j->summary);
    free(j->error);
    free(j->idem_key);
    free(j->request_hash);
    free(j->params);
    /* Back to the all-zero state, so a cleared row can be refilled or cleared again. */
    memset(j, 0, sizeof *j);
}

/* ---- status events ---- */

const char SV_CANCELLED_ERROR_JSON[] = "{\"code\":\"cancelled\",\"message\":\"cancelled on request\"}";

char *sv_status_event_json(sv_job_state state, int attempt, const char *error_json)
{
    json_t *o = json_pack("{s:s, s:i}", "status", sv_job_state_name(state), "attempt", attempt);
    if (!o)
        return NULL;
    if (error_json) {
        /* Text that does not parse is left out rather than spoiling the event. */
        json_t *e = json_loads(error_json, 0, NULL);
        if (e)
            json_object_set_new(o, "error", e);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

char *sv_interrupted_error_json(const char *why, int attempts, int max_attempts)
{
    char msg[256];
    snprintf(msg, sizeof msg,
             "interrupted: %s while the job was running, after %d of %d allowed attempts", why,
             attempts, max_attempts);
    json_t *o = json_pack("{s:s, s:s}", "code", "interrupted", "message", msg);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
