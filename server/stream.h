/* stream.h - Server-Sent Event streams of jobs: replay of the stored events, then the live ones
 * as the job service reports them durable, until the job's last event. */
#ifndef SV_STREAM_H
#define SV_STREAM_H

#include "server/http.h"
#include "server/jobs.h"

/* Opens the event stream of job id for r (the caller has checked that the tenant may see it),
 * replaying stored events after last_id, then the live ones until the job's last. */
enum MHD_Result sv_stream_open(sv_app *app, sv_req *r, const char *id, long last_id);
/* The job service's event and closed hooks (data is the app). */
void sv_stream_on_event(void *data, sv_live *L, const char *type, long seq, const char *json);
void sv_stream_on_closed(void *data, sv_live *L);
/* New events of job id are in the store (a notification from another node, data is the app):
 * the streams that follow it from here read them now instead of at the next heartbeat tick. */
void sv_stream_job_changed(void *data, const char *id);
int sv_stream_heartbeat_start(sv_app *app);
void sv_stream_close_all(sv_app *app);

#endif
