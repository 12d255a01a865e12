/* router.h - the v1 route table: (method, path) -> route id and path argument. Knows nothing of
 * the HTTP library; the server calls it for every request. */
#ifndef SV_ROUTER_H
#define SV_ROUTER_H

typedef enum {
    SV_R_NONE = 0,
    SV_R_SOLVERS,      /* GET  /v1/solvers */
    SV_R_SOLVER,       /* GET  /v1/solvers/{name} */
    SV_R_JOBS_LIST,    /* GET  /v1/jobs */
    SV_R_JOBS_SUBMIT,  /* POST /v1/jobs */
    SV_R_JOB,          /* GET  /v1/jobs/{id} */
    SV_R_JOB_RESULT,   /* GET  /v1/jobs/{id}/result */
    SV_R_JOB_CANCEL,   /* POST /v1/jobs/{id}/cancel */
    SV_R_JOB_EVENTS,   /* GET  /v1/jobs/{id}/events */
    SV_R_JOB_DELETE,   /* DELETE /v1/jobs/{id} */
    SV_R_HEALTHZ,      /* GET  /healthz */
    SV_R_METRICS,      /* GET  /metrics */
    SV_R_STATIC,       /* GET  / and /ui/... : the dashboard */
    SV_R_OPENAPI       /* GET  /v1/openapi.json: the API description (no auth) */
} sv_route_id;

typedef struct {
    const char *method;
    const char *pattern;   /* "/v1/jobs/{id}/result"; "{...}" matches one segment; "*" the rest */
    sv_route_id id;
} sv_route_def;

typedef struct {
    sv_route_id id;
    char arg[160];         /* the {..} segment (percent-decoded), or the rest for "*" */
    char allow[64];        /* on 405: the methods allowed for this path, "GET, POST" */
} sv_route;

/* Returns 200 when matched, 404 when no route has this path, 405 when the path exists under
 * other methods (out->allow lists them). HEAD matches GET routes. */
int sv_route_match(const char *method, const char *path, sv_route *out);

/* The table (for the OpenAPI consistency test), terminated by a NULL pattern. */
const sv_route_def *sv_routes(void);

#endif
