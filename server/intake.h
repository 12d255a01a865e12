/* intake.h - POST /v1/jobs off the event loop: the body is parsed, validated by its solver's
 * codec, and turned into the texts the store keeps (api/submit.h) on a libuv pool thread; only
 * the hand-over to the jobs service runs on the loop. A 60 MB job body used to stall every
 * other request for as long as its parse took (26 s, /healthz included). */
#ifndef SV_INTAKE_H
#define SV_INTAKE_H

#include "server/http.h"
#include "server/jobs.h"

/* Starts the intake of r's body, at once or, while max-parse-bytes of bodies are being parsed,
 * when its turn comes; the answer comes through reply (the jobs service's outcome) or as a
 * 4xx/5xx error. Returns sv_http_pending(r), or an error reply when the work cannot be queued. */
enum MHD_Result sv_intake_start(sv_req *r, sv_jobs_reply_fn reply);

/* Shutdown: the submissions still waiting for their turn get 503 now (the ones being parsed
 * get it when their parse ends). */
void sv_intake_drain(sv_app *app);
/* 1 while a body is being parsed on the pool: its connection must outlive it, so the daemon
 * stops only once this is 0. */
int sv_intake_busy(const sv_app *app);
/* Submissions waiting for their turn (a walk of the short list: for /metrics). */
long sv_intake_waiting(const sv_app *app);

#endif
