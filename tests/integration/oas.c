/* oas.c - the OpenAPI 3.0 response validator of the integration tests (see oas.h). */
#include "oas.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef SOLVD_SOURCE_DIR
#error "SOLVD_SOURCE_DIR must name the source tree"
#endif

#define OAS_MAX_DEPTH 64

/* ---- the document ---- */

static json_t *g_doc;
static pthread_once_t g_doc_once = PTHREAD_ONCE_INIT;

static void load_doc(void)
{
    json_error_t e;
    g_doc = json_load_file(SOLVD_SOURCE_DIR "/docs/openapi.json", JSON_REJECT_DUPLICATES, &e);
    if (!g_doc)
        fprintf(stderr, "[openapi] cannot read docs/openapi.json: %s (line %d)\n", e.text,
                e.line);
}

const json_t *it_oas_doc(void)
{
    pthread_once(&g_doc_once, load_doc);
    return g_doc;
}

/* "#/a/b~1c" in doc, or NULL. */
static const json_t *resolve(const json_t *doc, const char *ref)
{
    if (!ref || strncmp(ref, "#/", 2) != 0)
        return NULL;
    const json_t *cur = doc;
    const char *p = ref + 2;
    while (cur && *p) {
        char tok[256];
        size_t k = 0;
        while (*p && *p != '/' && k + 1 < sizeof tok) {
            if (p[0] == '~' && p[1] == '1') {
                tok[k++] = '/';
                p += 2;
            } else if (p[0] == '~' && p[1] == '0') {
                tok[k++] = '~';
                p += 2;
            } else {
                tok[k++] = *p++;
            }
        }
        tok[k] = 0;
        if (*p == '/')
            p++;
        cur = json_is_object(cur) ? json_object_get(cur, tok) : NULL;
    }
    return cur;
}

/* ---- schemas ---- */

typedef struct {
    const json_t *doc;
    char *err;
    size_t n;
    int depth;
} vctx;

static int fail(vctx *c, const char *ip, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(vctx *c, const char *ip, const char *fmt, ...)
{
    if (c->err && c->n) {
        int k = snprintf(c->err, c->n, "%s: ", ip[0] ? ip : "(body)");
        if (k >= 0 && (size_t)k < c->n) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + k, c->n - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static const char *kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static int type_matches(const char *type, const json_t *v)
{
    if (strcmp(type, "object") == 0)
        return json_is_object(v);
    if (strcmp(type, "array") == 0)
        return json_is_array(v);
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v) ||
               (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
    return -1;
}

/* Equality as JSON Schema means it: 1 and 1.0 are the same number. */
static int same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* RFC 3339 date-time, as solvd writes it: 2026-11-23T10:45:41.694Z (offset or Z). */
static int is_date_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    }
    const char *p = s + sizeof shape - 1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'Z' && p[1] == 0)
        return 1;
    return (*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
           isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
           isdigit((unsigned char)p[5]) && p[6] == 0;
}

static const char *const known_keywords[] = {
    "$ref", "type", "nullable", "enum", "properties", "required", "additionalProperties",
    "items", "allOf", "anyOf", "oneOf", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "format",
    /* annotations: no effect on validity */
    "description", "example", "default", "title", "readOnly", "writeOnly", "deprecated", NULL};

static int validate(vctx *c, const json_t *schema, const json_t *inst, const char *ip);

static int child_path(char *out, size_t n, const char *ip, const char *key)
{
    return snprintf(out, n, "%s/%s", ip, key);
}

static int validate_object(vctx *c, const json_t *schema, const json_t *inst, const char *ip)
{
    const json_t *req = json_object_get(schema, "required");
    size_t i;
    json_t *r;
    json_array_foreach(req, i, r) {
        if (json_is_string(r) && !json_object_get(inst, json_string_value(r)))
            return fail(c, ip, "required member \"%s\" is missing", json_string_value(r));
    }
    const json_t *props = json_object_get(schema, "properties");
    const json_t *addl = json_object_get(schema, "additionalProperties");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)inst, key, v) {
        char cp[512];
        child_path(cp, sizeof cp, ip, key);
        const json_t *ps = props ? json_object_get(props, key) : NULL;
        if (ps) {
            if (validate(c, ps, v, cp) != 0)
                return -1;
        } else if (json_is_false(addl)) {
            return fail(c, cp, "member \"%s\" is not in the schema (additionalProperties: false)",
                        key);
        } else if (json_is_object(addl)) {
            if (validate(c, addl, v, cp) != 0)
                return -1;
        }
    }
    return 0;
}

static int validate_array(vctx *c, const json_t *schema, const json_t *inst, const char *ip)
{
    const json_t *mn = json_object_get(schema, "minItems"), *mx = json_object_get(schema, "maxItems");
    size_t len = json_array_size(inst);
    if (mn && (json_int_t)len < json_integer_value(mn))
        return fail(c, ip, "%zu items, fewer than minItems %lld", len,
                    (long long)json_integer_value(mn));
    if (mx && (json_int_t)len > json_integer_value(mx))
        return fail(c, ip, "%zu items, more than maxItems %lld", len,
                    (long long)json_integer_value(mx));
    const json_t *items = json_object_get(schema, "items");
    if (!items)
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(inst, i, v) {
        char cp[512];
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", i);
        child_path(cp, sizeof cp, ip, idx);
        if (validate(c, items, v, cp) != 0)
            return -1;
    }
    return 0;
}

static int validate_string(vctx *c, const json_t *schema, const json_t *inst, const char *ip)
{
    const char *s = json_string_value(inst);
    size_t len = utf8_length(s);
    const json_t *mn = json_object_get(schema, "minLength"),
                 *mx = json_object_get(schema, "maxLength");
    if (mn && (json_int_t)len < json_integer_value(mn))
        return fail(c, ip, "%zu characters, fewer than minLength %lld", len,
                    (long long)json_integer_value(mn));
    if (mx && (json_int_t)len > json_integer_value(mx))
        return fail(c, ip, "%zu characters, more than maxLength %lld", len,
                    (long long)json_integer_value(mx));
    const char *format = json_string_value(json_object_get(schema, "format"));
    if (format && strcmp(format, "date-time") == 0 && !is_date_time(s))
        return fail(c, ip, "\"%.80s\" is not an RFC 3339 date-time", s);
    return 0;
}

static int validate_number(vctx *c, const json_t *schema, const json_t *inst, const char *ip)
{
    double x = json_number_value(inst);
    const json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
    /* OAS 3.0: exclusiveMinimum/exclusiveMaximum are booleans that qualify minimum/maximum. */
    int exmn = json_is_true(json_object_get(schema, "exclusiveMinimum"));
    int exmx = json_is_true(json_object_get(schema, "exclusiveMaximum"));
    if (mn && (exmn ? x <= json_number_value(mn) : x < json_number_value(mn)))
        return fail(c, ip, "%.17g is below the minimum %.17g%s", x, json_number_value(mn),
                    exmn ? " (exclusive)" : "");
    if (mx && (exmx ? x >= json_number_value(mx) : x > json_number_value(mx)))
        return fail(c, ip, "%.17g is above the maximum %.17g%s", x, json_number_value(mx),
                    exmx ? " (exclusive)" : "");
    return 0;
}

/* allOf, anyOf, oneOf. */
static int validate_combinators(vctx *c, const json_t *schema, const json_t *inst, const char *ip)
{
    const json_t *all = json_object_get(schema, "allOf");
    size_t i;
    json_t *sub;
    json_array_foreach(all, i, sub) {
        if (validate(c, sub, inst, ip) != 0)
            return -1;
    }
    static const char *const which[] = {"anyOf", "oneOf"};
    for (int w = 0; w < 2; w++) {
        const json_t *list = json_object_get(schema, which[w]);
        if (!list)
            continue;
        int matched = 0;
        char first[600] = "";
        json_array_foreach(list, i, sub) {
            char scratch[600] = "";
            vctx sc = {c->doc, scratch, sizeof scratch, c->depth};
            if (validate(&sc, sub, inst, ip) == 0)
                matched++;
            else if (!first[0])
                snprintf(first, sizeof first, "%s", scratch);
        }
        if (matched == 0)
            return fail(c, ip, "matches none of the %zu %s alternatives (the first says: %s)",
                        json_array_size(list), which[w], first);
        if (w == 1 && matched > 1)
            return fail(c, ip, "matches %d of the oneOf alternatives, not exactly one", matched);
    }
    return 0;
}

static int validate(vctx *c, const json_t *schema, const json_t *inst, const char *ip)
{
    if (!json_is_object(schema))
        return fail(c, ip, "the schema is not an object");
    if (++c->depth > OAS_MAX_DEPTH) {
        c->depth--;
        return fail(c, ip, "schemas nested deeper than %d ($ref cycle?)", OAS_MAX_DEPTH);
    }
    int rc = 0;
    const json_t *ref = json_object_get(schema, "$ref");
    if (ref) {
        /* OAS 3.0: the members beside a $ref are ignored. */
        const json_t *target = resolve(c->doc, json_string_value(ref));
        rc = target ? validate(c, target, inst, ip)
                    : fail(c, ip, "unresolved $ref %s", json_string_value(ref));
        c->depth--;
        return rc;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)schema, key, v) {
        const char *const *k = known_keywords;
        while (*k && strcmp(*k, key) != 0)
            k++;
        if (!*k) {
            c->depth--;
            return fail(c, ip, "the schema uses \"%s\", which this validator does not know", key);
        }
    }
    const char *type = json_string_value(json_object_get(schema, "type"));
    int nullable = json_is_true(json_object_get(schema, "nullable"));
    if (type && type_matches(type, inst) < 0) {
        rc = fail(c, ip, "the schema has an unknown type \"%s\"", type);
    } else if (json_is_null(inst)) {
        /* Strict OAS 3.0.3: null passes `type` only with nullable beside it; without a type
         * nothing here refuses it, but enum and the combinators below still apply. */
        if (type && !nullable)
            rc = fail(c, ip, "null, expected %s (not nullable)", type);
    } else if (type && !type_matches(type, inst)) {
        rc = fail(c, ip, "%s, expected %s", kind(inst), type);
    } else if (json_is_object(inst)) {
        rc = validate_object(c, schema, inst, ip);
    } else if (json_is_array(inst)) {
        rc = validate_array(c, schema, inst, ip);
    } else if (json_is_string(inst)) {
        rc = validate_string(c, schema, inst, ip);
    } else if (json_is_number(inst)) {
        rc = validate_number(c, schema, inst, ip);
    }
    const json_t *en = json_object_get(schema, "enum");
    if (rc == 0 && en) {
        size_t i;
        json_t *e;
        int found = 0;
        json_array_foreach(en, i, e) found |= same(e, inst);
        if (!found) {
            char *s = json_dumps(inst, JSON_COMPACT | JSON_ENCODE_ANY);
            rc = fail(c, ip, "%.80s is not one of the enum values", s ? s : "?");
            free(s);
        }
    }
    if (rc == 0)
        rc = validate_combinators(c, schema, inst, ip);
    c->depth--;
    return rc;
}

int it_oas_validate(const json_t *doc, const json_t *schema, const json_t *inst, char *err,
                    size_t n)
{
    if (err && n)
        err[0] = 0;
    vctx c = {doc, err, n, 0};
    return validate(&c, schema, inst, "");
}

/* ---- operations ---- */

/* Does the path match the template ("/v1/jobs/{id}/result")? A placeholder is one segment; with
 * rest set, a last one takes the rest of the path ("/ui/{file}" serves "/ui/js/app.js"). */
static int path_matches(const char *tmpl, const char *path, int rest)
{
    const char *t = tmpl, *p = path;
    while (*t && *p) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            if (!close)
                return 0;
            if (p[0] == '/' || p[0] == 0)
                return 0;   /* an empty segment */
            if (close[1] == 0 && rest)
                return 1;
            while (*p && *p != '/')
                p++;
            t = close + 1;
            continue;
        }
        if (*t != *p)
            return 0;
        t++;
        p++;
    }
    return *t == 0 && *p == 0;
}

/* The path item for path: a literal match wins over a templated one, which wins over one whose
 * last placeholder takes several segments. */
static const json_t *find_path_item(const json_t *paths, const char *path, const char **tmpl)
{
    for (int rest = 0; rest < 2; rest++) {
        const json_t *best = NULL;
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)paths, key, item) {
            if (!path_matches(key, path, rest))
                continue;
            if (!strchr(key, '{')) {
                *tmpl = key;
                return item;
            }
            if (!best) {
                best = item;
                *tmpl = key;
            }
        }
        if (best)
            return best;
    }
    return NULL;
}

static int errf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_json_type(const char *ct)
{
    size_t l = strlen(ct);
    return strcmp(ct, "application/json") == 0 || (l > 5 && strcmp(ct + l - 5, "+json") == 0);
}

static int check_body(const json_t *doc, const json_t *schema, const char *what, const char *body,
                      size_t len, char *err, size_t n)
{
    json_error_t je;
    json_t *j = json_loadb(body ? body : "", len, JSON_DECODE_ANY, &je);
    if (!j)
        return errf(err, n, "%s: the body is not JSON (%s)", what, je.text);
    char msg[700];
    int rc = it_oas_validate(doc, schema, j, msg, sizeof msg);
    json_decref(j);
    if (rc != 0)
        return errf(err, n, "%s: %s", what, msg);
    return 0;
}

int it_oas_check_response(const char *method, const char *path, long status,
                          const char *content_type, const char *body, size_t len, char *err,
                          size_t n)
{
    const json_t *doc = it_oas_doc();
    if (!doc)
        return errf(err, n, "docs/openapi.json cannot be read");
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    p[strcspn(p, "?#")] = 0;
    char m[16];
    size_t i = 0;
    for (; method[i] && i + 1 < sizeof m; i++)
        m[i] = (char)tolower((unsigned char)method[i]);
    m[i] = 0;
    int head = strcmp(m, "head") == 0;
    /* The media type without its parameters, lower case. */
    char ct[128] = "";
    if (content_type) {
        size_t k = 0;
        for (const char *c = content_type; *c && *c != ';' && k + 1 < sizeof ct; c++)
            if (!isspace((unsigned char)*c))
                ct[k++] = (char)tolower((unsigned char)*c);
        ct[k] = 0;
    }

    const char *tmpl = NULL;
    const json_t *item = find_path_item(json_object_get(doc, "paths"), p, &tmpl);
    const json_t *op = item ? json_object_get(item, head ? "get" : m) : NULL;
    char what[1200];
    if (!op) {
        /* Not an operation of the document: only a 4xx error may answer it. */
        snprintf(what, sizeof what, "%s %s (not in the document) -> %ld", method, p, status);
        if (status < 400 || status > 499)
            return errf(err, n, "%s: only a 4xx error may answer it", what);
        if (head)
            return 0;
        if (strcmp(ct, "application/json") != 0)
            return errf(err, n, "%s: content type \"%s\", expected application/json", what, ct);
        return check_body(doc, resolve(doc, "#/components/schemas/Error"), what, body, len, err,
                          n);
    }
    snprintf(what, sizeof what, "%s %s -> %ld", method, tmpl, status);
    const json_t *responses = json_object_get(op, "responses");
    char code[32], range[32];
    snprintf(code, sizeof code, "%ld", status);
    snprintf(range, sizeof range, "%ldXX", status / 100);
    const json_t *resp = json_object_get(responses, code);
    if (!resp)
        resp = json_object_get(responses, range);
    if (!resp)
        resp = json_object_get(responses, "default");
    if (!resp)
        return errf(err, n, "%s: the status is not among the operation's responses", what);
    if (json_object_get(resp, "$ref")) {
        const char *ref = json_string_value(json_object_get(resp, "$ref"));
        resp = resolve(doc, ref);
        if (!resp)
            return errf(err, n, "%s: unresolved $ref %s", what, ref ? ref : "?");
    }
    if (head)
        return 0;
    const json_t *content = json_object_get(resp, "content");
    if (!content)
        return len ? errf(err, n, "%s: a body, but the response documents no content", what) : 0;
    const json_t *media = json_object_get(content, ct);
    if (!media) {
        char wild[140];
        const char *slash = strchr(ct, '/');
        snprintf(wild, sizeof wild, "%.*s/*", slash ? (int)(slash - ct) : 0, ct);
        media = json_object_get(content, wild);
    }
    if (!media)
        media = json_object_get(content, "*/*");
    if (!media) {
        char *list = json_dumps(content, JSON_COMPACT);
        errf(err, n, "%s: content type \"%s\" is not documented (%.300s)", what, ct,
             list ? list : "");
        free(list);
        return -1;
    }
    const json_t *schema = json_object_get(media, "schema");
    if (!schema || !is_json_type(ct))
        return 0;   /* text and binary bodies: the media type is all the document says */
    return check_body(doc, schema, what, body, len, err, n);
}

/* ---- the harness's record ---- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_failures;

int it_oas_failures(void)
{
    pthread_mutex_lock(&g_mu);
    int n = g_failures;
    pthread_mutex_unlock(&g_mu);
    return n;
}

void it_oas_record_failure(const char *method, const char *path, long status, const char *why,
                           const char *body)
{
    pthread_mutex_lock(&g_mu);
    g_failures++;
    fprintf(stderr, "[openapi] %s %s answered %ld against docs/openapi.json: %s\n  body: %.600s\n",
            method, path, status, why, body ? body : "");
    pthread_mutex_unlock(&g_mu);
}
