/* submit.c - the job envelope; problem and params go to the codec. */
#include "api/submit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/json_parse.h"
#include "api/jsonval.h"

/* JSON has no NaN or Infinity, so a parser error is all jansson can say about them. To name the
 * field, rewrite bare NaN/Infinity tokens (outside strings) as a marker string, parse again and
 * find the marker's path. Returns 1 and fills e when a non-finite token was found. */
#define NONFINITE_MARK "\x01nonfinite"

static int path_of_marker(json_t *v, char *path, size_t cap, size_t len)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), NONFINITE_MARK) == 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) {
            int n = snprintf(path + len, cap - len, "/%s", k);
            if (n > 0 && (size_t)n < cap - len && path_of_marker(c, path, cap, len + (size_t)n))
                return 1;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) {
            int n = snprintf(path + len, cap - len, "/%zu", i);
            if (n > 0 && (size_t)n < cap - len && path_of_marker(c, path, cap, len + (size_t)n))
                return 1;
        }
    }
    path[len] = 0;
    return 0;
}

static int locate_nonfinite(const char *text, size_t len, sv_err *e)
{
    static const char *const tokens[] = {"-Infinity", "Infinity", "-NaN", "NaN", "-inf", "inf",
                                         "nan", NULL};
    size_t cap = len + 64, o = 0;
    int in_str = 0, found = 0;
    char *buf = malloc(cap * 3 / 2 + 64);
    if (!buf)
        return 0;
    cap = cap * 3 / 2 + 64;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (in_str) {
            buf[o++] = c;
            if (c == '\\' && i + 1 < len)
                buf[o++] = text[++i];
            else if (c == '"')
                in_str = 0;
            i++;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            buf[o++] = c;
            i++;
            continue;
        }
        size_t tl = 0;
        for (int t = 0; tokens[t]; t++) {
            size_t n = strlen(tokens[t]);
            if (i + n <= len && strncmp(text + i, tokens[t], n) == 0) {
                tl = n;
                break;
            }
        }
        if (tl) {
            const char *m = "\"\\u0001nonfinite\"";
            size_t ml = strlen(m);
            if (o + ml + (len - i) >= cap) {
                char *nb = realloc(buf, cap * 2 + ml);
                if (!nb)
                    break;
                buf = nb;
                cap = cap * 2 + ml;
            }
            memcpy(buf + o, m, ml);
            o += ml;
            i += tl;
            found = 1;
            continue;
        }
        if (o + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        buf[o++] = c;
        i++;
    }
    int ok = 0;
    if (found) {
        json_t *doc = json_loadb(buf, o, 0, NULL);
        char path[sizeof e->field];
        path[0] = 0;
        if (doc && path_of_marker(doc, path, sizeof path, 0)) {
            sv_fail(e, path, "not a finite number (JSON has no NaN or Infinity)");
            ok = 1;
        }
        json_decref(doc);
    }
    free(buf);
    return ok;
}

static const char *const envelope_keys[] = {"solver",       "problem", "params", "priority",
                                            "time_limit_s", "tags",    NULL};

static int fail(const char **code, const char *c, int status)
{
    *code = c;
    return status;
}

static int check_tags(json_t *tags, sv_err *e)
{
    if (!json_is_array(tags))
        return sv_fail(e, "/tags", "expected an array of strings");
    if (json_array_size(tags) > SV_MAX_TAGS)
        return sv_fail(e, "/tags", "at most %d tags", SV_MAX_TAGS);
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        char path[32];
        snprintf(path, sizeof path, "/tags/%zu", i);
        if (!json_is_string(t))
            return sv_fail(e, path, "expected a string");
        size_t n = json_string_length(t);
        if (n == 0 || n > SV_MAX_TAG_LEN)
            return sv_fail(e, path, "tags are 1 to %d characters", SV_MAX_TAG_LEN);
        for (const char *p = json_string_value(t); *p; p++)
            if ((unsigned char)*p < 0x20)
                return sv_fail(e, path, "control characters are not allowed in tags");
    }
    return SV_OK;
}

int sv_submit_parse(const char *text, size_t len, const sv_codec_env *env,
                    double max_time_limit_s, sv_submit *out, const char **code, sv_err *e)
{
    memset(out, 0, sizeof *out);
    sv_json_perr jerr;
    json_t *body = sv_json_parse(text, len, &jerr);
    if (!body) {
        if (locate_nonfinite(text, len, e))
            return fail(code, "invalid", 422);
        sv_fail(e, "", "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                jerr.text);
        return fail(code, "bad_json", 400);
    }
    int status = 422;
    *code = "invalid";
    if (!json_is_object(body)) {
        sv_fail(e, "", "the body must be a JSON object");
        goto bad;
    }
    if (sv_json_no_unknown(body, "", envelope_keys, e) != SV_OK)
        goto bad;
    json_t *solver = json_object_get(body, "solver");
    if (!solver) {
        sv_fail(e, "/solver", "required");
        goto bad;
    }
    if (!json_is_string(solver)) {
        sv_fail(e, "/solver", "expected a string (see GET /v1/solvers)");
        goto bad;
    }
    out->codec = sv_codec_find(json_string_value(solver));
    if (!out->codec) {
        sv_fail(e, "/solver", "unknown solver '%.100s' (see GET /v1/solvers)",
                json_string_value(solver));
        *code = "unknown_solver";
        goto bad;
    }
    json_t *problem = json_object_get(body, "problem");
    if (!problem) {
        sv_fail(e, "/problem", "required");
        goto bad;
    }
    if (!json_is_object(problem)) {
        sv_fail(e, "/problem", "expected an object");
        goto bad;
    }
    json_t *params = json_object_get(body, "params");
    if (params && !json_is_object(params) && !json_is_null(params)) {
        sv_fail(e, "/params", "expected an object");
        goto bad;
    }
    json_t *v = json_object_get(body, "priority");
    if (v) {
        long p;
        if (sv_json_int(v, "/priority", SV_PRIORITY_MIN, SV_PRIORITY_MAX, &p, e) != SV_OK)
            goto bad;
        out->priority = (int)p;
    }
    v = json_object_get(body, "time_limit_s");
    if (v) {
        double t;
        if (sv_json_number(v, "/time_limit_s", &t, e) != SV_OK)
            goto bad;
        if (!(t > 0) || t > max_time_limit_s) {
            sv_fail(e, "/time_limit_s", "must be in (0, %g] seconds", max_time_limit_s);
            goto bad;
        }
        out->time_limit_s = t;
    }
    v = json_object_get(body, "tags");
    if (v && check_tags(v, e) != SV_OK)
        goto bad;
    out->tags = v;
    if (out->codec->validate(problem, json_is_null(params) ? NULL : params, env, e) != SV_OK)
        goto bad;
    out->body = body;
    return 0;
bad:
    json_decref(body);
    out->codec = NULL;
    out->tags = NULL;
    return status;
}

void sv_submit_clear(sv_submit *s)
{
    json_decref(s->body);
    memset(s, 0, sizeof *s);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int sv_submit_texts_make(const sv_submit *s, char *text, int with_hash, sv_submit_texts *t)
{
    memset(t, 0, sizeof *t);
    t->request = text;
    char *canon = with_hash ? json_dumps(s->body, JSON_COMPACT | JSON_SORT_KEYS |
                                                      JSON_REAL_PRECISION(17))
                            : NULL;
    t->tags = s->tags ? json_dumps(s->tags, JSON_COMPACT) : strdup("[]");
    json_t *params = json_object_get(s->body, "params");
    t->params = json_is_object(params)
                    ? json_dumps(params, JSON_COMPACT | JSON_REAL_PRECISION(17))
                    : NULL;
    if ((with_hash && !canon) || !t->request || !t->tags ||
        (json_is_object(params) && !t->params)) {
        free(canon);
        sv_submit_texts_clear(t);
        return -1;
    }
    if (canon)
        snprintf(t->hash, sizeof t->hash, "%016llx", (unsigned long long)fnv1a(canon));
    free(canon);
    return 0;
}

void sv_submit_texts_clear(sv_submit_texts *t)
{
    free(t->request);
    free(t->tags);
    free(t->params);
    memset(t, 0, sizeof *t);
}
