/* errors.c - error objects and their status codes. */
#include "api/errors.h"

#include <string.h>

static const struct {
    const char *code;
    int status;
} table[] = {
    {"bad_json", 400},          {"bad_request", 400},       {"unauthorized", 401},
    {"forbidden", 403},
    {"not_found", 404},         {"method_not_allowed", 405}, {"conflict", 409},
    {"quota_exceeded", 429},
    {"payload_too_large", 413}, {"unsupported_media_type", 415},
    {"invalid", 422},           {"unknown_solver", 422},    {"internal", 500},
    {"unavailable", 503},
};

int sv_api_status_for(const char *code)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].code, code) == 0)
            return table[i].status;
    return 500;
}

json_t *sv_api_error(const char *code, const char *message, const char *path)
{
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message ? message : code);
    if (path && *path)
        json_object_set_new(e, "path", json_string(path));
    return json_pack("{s:o}", "error", e);
}
