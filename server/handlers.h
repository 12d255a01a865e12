/* handlers.h - one function per route of api/router.c: validation through api/, reads through
 * the reads module, submit and cancel through the job service, and the reply. */
#ifndef SV_HANDLERS_H
#define SV_HANDLERS_H

#include "server/http.h"

/* The sv_http_handler of the daemon. */
enum MHD_Result sv_handle(sv_req *r);

#endif
