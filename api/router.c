/* router.c - a small table of patterns; matching is segment by segment. */
#include "api/router.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const sv_route_def routes[] = {
    {"GET", "/v1/solvers", SV_R_SOLVERS},
    {"GET", "/v1/solvers/{name}", SV_R_SOLVER},
    {"GET", "/v1/jobs", SV_R_JOBS_LIST},
    {"POST", "/v1/jobs", SV_R_JOBS_SUBMIT},
    {"GET", "/v1/jobs/{id}", SV_R_JOB},
    {"DELETE", "/v1/jobs/{id}", SV_R_JOB_DELETE},
    {"GET", "/v1/jobs/{id}/result", SV_R_JOB_RESULT},
    {"POST", "/v1/jobs/{id}/cancel", SV_R_JOB_CANCEL},
    {"GET", "/v1/jobs/{id}/events", SV_R_JOB_EVENTS},
    {"GET", "/healthz", SV_R_HEALTHZ},
    {"GET", "/metrics", SV_R_METRICS},
    {"GET", "/v1/openapi.json", SV_R_OPENAPI},
    {"GET", "/", SV_R_STATIC},
    {"GET", "/ui/*", SV_R_STATIC},
    {NULL, NULL, SV_R_NONE},
};

const sv_route_def *sv_routes(void) { return routes; }

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decodes src[0..n) into dst; returns -1 on a bad escape, NUL or overflow. */
static int decode_segment(const char *src, size_t n, char *dst, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(src[i + 1]), l = hexval(src[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || j + 1 >= cap)
            return -1;
        dst[j++] = (char)c;
    }
    dst[j] = 0;
    return 0;
}

/* Does path match pattern? Fills arg with the wildcard segment. */
static int match(const char *pattern, const char *path, char *arg, size_t cap)
{
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '*') {
            return decode_segment(s, strlen(s), arg, cap) == 0;
        }
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            size_t n = se ? (size_t)(se - s) : strlen(s);
            if (n == 0 || decode_segment(s, n, arg, cap) != 0)
                return 0;
            p = pe + 1;
            s += n;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*p == '*' && !*s) {
        arg[0] = 0;
        return 1;
    }
    return *p == 0 && *s == 0;
}

int sv_route_match(const char *method, const char *path, sv_route *out)
{
    memset(out, 0, sizeof *out);
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    int path_known = 0;
    char arg[sizeof out->arg];
    for (const sv_route_def *r = routes; r->pattern; r++) {
        arg[0] = 0;
        if (!match(r->pattern, path, arg, sizeof arg))
            continue;
        if (strcmp(r->method, m) == 0) {
            out->id = r->id;
            memcpy(out->arg, arg, sizeof arg);
            return 200;
        }
        if (!strstr(out->allow, r->method)) {
            size_t len = strlen(out->allow);
            snprintf(out->allow + len, sizeof out->allow - len, "%s%s", len ? ", " : "",
                     r->method);
        }
        path_known = 1;
    }
    return path_known ? 405 : 404;
}
