/* test_openapi.c - docs/openapi.json against the router: every route of sv_routes() is in the
 * description with its method and every operation of the description is a route (both ways,
 * through sv_route_match too), every $ref resolves, every path placeholder is declared, and the
 * error responses use the Error schema. The description is what clients generate code from, so
 * a route added without it (or a stale entry) fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/router.h"
#include "support/paths.h"

static const char *const http_methods[] = {"get", "put", "post", "delete", "options",
                                           "head", "patch", "trace", NULL};

static json_t *load_spec(void)
{
    json_error_t err;
    json_t *doc = json_load_file(SOLVD_SOURCE_DIR "/docs/openapi.json", JSON_REJECT_DUPLICATES,
                                 &err);
    if (!doc)
        fail_msg("docs/openapi.json: %s at line %d column %d", err.text, err.line, err.column);
    return doc;
}

/* Placeholders compared without their names: "/v1/jobs/{id}/result" becomes "/v1/jobs/{}/result",
 * and the router's trailing star (the rest of the path) one placeholder too. */
static void normalize(const char *in, char *out, size_t n)
{
    size_t j = 0;
    for (const char *p = in; *p && j + 3 < n; p++) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            assert_non_null(close);
            out[j++] = '{';
            out[j++] = '}';
            p = close;
        } else if (*p == '*') {
            out[j++] = '{';
            out[j++] = '}';
        } else {
            out[j++] = *p;
        }
    }
    out[j] = 0;
}

/* A concrete path for a pattern: each placeholder becomes "X1", "X2", ... */
static void instantiate(const char *in, char *out, size_t n)
{
    size_t j = 0;
    int k = 0;
    for (const char *p = in; *p && j + 4 < n; p++) {
        if (*p == '{' || *p == '*') {
            j += (size_t)snprintf(out + j, n - j, "X%d", ++k);
            if (*p == '{')
                p = strchr(p, '}');
        } else {
            out[j++] = *p;
        }
    }
    out[j] = 0;
}

static void lower(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = 0;
}

/* The spec's path item whose normalized form equals the pattern's, or NULL. */
static json_t *find_path_item(json_t *paths, const char *pattern, const char **key_out)
{
    char want[256], have[256];
    normalize(pattern, want, sizeof want);
    const char *key;
    json_t *item;
    json_object_foreach(paths, key, item) {
        normalize(key, have, sizeof have);
        if (strcmp(want, have) == 0) {
            if (key_out)
                *key_out = key;
            return item;
        }
    }
    return NULL;
}

static void test_document_header(void **state)
{
    (void)state;
    json_t *doc = load_spec();
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    json_t *info = json_object_get(doc, "info");
    assert_non_null(json_string_value(json_object_get(info, "title")));
    assert_non_null(json_string_value(json_object_get(info, "version")));
    assert_true(json_is_object(json_object_get(doc, "paths")));
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    const char *required[] = {"Job", "JobList", "Error", "Solver", "SolverList", "SolverDetail",
                              "Health", "JobSubmit", NULL};
    for (const char **s = required; *s; s++)
        if (!json_object_get(schemas, *s))
            fail_msg("components.schemas has no %s", *s);
    json_decref(doc);
}

static void test_every_route_is_described(void **state)
{
    (void)state;
    json_t *doc = load_spec();
    json_t *paths = json_object_get(doc, "paths");
    int n = 0;
    for (const sv_route_def *d = sv_routes(); d->pattern; d++, n++) {
        const char *key = NULL;
        json_t *item = find_path_item(paths, d->pattern, &key);
        if (!item)
            fail_msg("route %s %s is not in docs/openapi.json", d->method, d->pattern);
        char m[16];
        lower(d->method, m, sizeof m);
        if (!json_is_object(json_object_get(item, m)))
            fail_msg("route %s %s: docs/openapi.json has %s without %s", d->method, d->pattern,
                     key, m);
    }
    assert_true(n >= 13);
    json_decref(doc);
}

static void test_every_operation_is_routed(void **state)
{
    (void)state;
    json_t *doc = load_spec();
    json_t *paths = json_object_get(doc, "paths");
    const char *key;
    json_t *item;
    int ops = 0;
    json_object_foreach(paths, key, item) {
        char want[256], have[256], concrete[256];
        normalize(key, want, sizeof want);
        instantiate(key, concrete, sizeof concrete);
        const char *mkey;
        json_t *op;
        json_object_foreach(item, mkey, op) {
            int is_method = 0;
            for (const char *const *m = http_methods; *m; m++)
                is_method |= strcmp(*m, mkey) == 0;
            if (!is_method)
                continue;   /* parameters, summary, ... */
            ops++;
            /* The table has it under the same normalized pattern and method ... */
            const sv_route_def *found = NULL;
            for (const sv_route_def *d = sv_routes(); d->pattern; d++) {
                char m[16];
                lower(d->method, m, sizeof m);
                normalize(d->pattern, have, sizeof have);
                if (strcmp(have, want) == 0 && strcmp(m, mkey) == 0)
                    found = d;
            }
            if (!found)
                fail_msg("docs/openapi.json describes %s %s, which the router does not have",
                         mkey, key);
            /* ... and the router sends a request of this shape to that route. */
            char method[16];
            snprintf(method, sizeof method, "%s", mkey);
            for (char *c = method; *c; c++)
                *c = (char)toupper((unsigned char)*c);
            sv_route r;
            assert_int_equal(sv_route_match(method, concrete, &r), 200);
            assert_int_equal(r.id, found->id);
            /* Every operation says what success looks like. */
            json_t *responses = json_object_get(op, "responses");
            assert_true(json_is_object(responses));
            int has_2xx = 0;
            const char *code;
            json_t *resp;
            json_object_foreach(responses, code, resp)
                has_2xx |= code[0] == '2';
            if (!has_2xx)
                fail_msg("%s %s has no 2xx response", mkey, key);
        }
    }
    assert_true(ops >= 13);
    json_decref(doc);
}

/* Resolves a local reference "#/a/b~1c" in doc; NULL when it does not resolve. */
static json_t *resolve(json_t *doc, const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    json_t *cur = doc;
    const char *p = ref + 2;
    while (cur && *p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char tok[256];
        size_t j = 0;
        for (size_t i = 0; i < len && j + 1 < sizeof tok; i++) {
            if (p[i] == '~' && i + 1 < len && (p[i + 1] == '0' || p[i + 1] == '1')) {
                tok[j++] = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                tok[j++] = p[i];
            }
        }
        tok[j] = 0;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *e;
            long idx = strtol(tok, &e, 10);
            cur = (*e || idx < 0) ? NULL : json_array_get(cur, (size_t)idx);
        } else {
            cur = NULL;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    return cur;
}

/* Counts the $refs under v and fails on the first one that does not resolve. */
static int check_refs(json_t *doc, json_t *v, const char *where)
{
    int n = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) {
            if (strcmp(k, "$ref") == 0) {
                if (!json_is_string(c))
                    fail_msg("%s: $ref is not a string", where);
                if (!resolve(doc, json_string_value(c)))
                    fail_msg("%s: $ref %s does not resolve", where, json_string_value(c));
                n++;
            } else {
                char sub[512];
                snprintf(sub, sizeof sub, "%s/%s", where, k);
                n += check_refs(doc, c, sub);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%zu", where, i);
            n += check_refs(doc, c, sub);
        }
    }
    return n;
}

static void test_every_ref_resolves(void **state)
{
    (void)state;
    json_t *doc = load_spec();
    int n = check_refs(doc, doc, "#");
    assert_true(n > 40);
    /* The resolver itself: a good reference resolves, a bad one does not. */
    assert_non_null(resolve(doc, "#/components/schemas/Job"));
    assert_null(resolve(doc, "#/components/schemas/NoSuchSchema"));
    assert_non_null(resolve(doc, "#/paths/~1v1~1jobs/post"));
    json_decref(doc);
}

static json_t *deref(json_t *doc, json_t *v)
{
    for (int i = 0; i < 8 && json_is_object(v) && json_object_get(v, "$ref"); i++)
        v = resolve(doc, json_string_value(json_object_get(v, "$ref")));
    return v;
}

/* Every {placeholder} of a path is a declared path parameter of each of its operations. */
static void test_path_parameters_declared(void **state)
{
    (void)state;
    json_t *doc = load_spec();
    const char *key;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), key, item) {
        const char *mkey;
        json_t *op;
        json_object_foreach(item, mkey, op) {
            if (!json_is_object(op) || !json_object_get(op, "responses"))
                continue;
            for (const char *p = strchr(key, '{'); p; p = strchr(p + 1, '{')) {
                const char *close = strchr(p, '}');
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
                int declared = 0;
                json_t *lists[] = {json_object_get(item, "parameters"),
                                   json_object_get(op, "parameters")};
                for (int l = 0; l < 2; l++) {
                    size_t i;
                    json_t *prm;
                    json_array_foreach(lists[l], i, prm) {
                        prm = deref(doc, prm);
                        const char *in = json_string_value(json_object_get(prm, "in"));
                        const char *nm = json_string_value(json_object_get(prm, "name"));
                        if (in && nm && strcmp(in, "path") == 0 && strcmp(nm, name) == 0) {
                            declared = 1;
                            assert_true(json_is_true(json_object_get(prm, "required")));
                        }
                    }
                }
                if (!declared)
                    fail_msg("%s %s: path parameter {%s} is not declared", mkey, key, name);
            }
        }
    }
    json_decref(doc);
}

/* The list filters, the headers that change behaviour, the content types of the non-JSON
 * endpoints, and the Error schema on the error responses the API gives. */
static int has_param(json_t *doc, json_t *op, const char *in, const char *name)
{
    size_t i;
    json_t *prm;
    json_array_foreach(json_object_get(op, "parameters"), i, prm) {
        prm = deref(doc, prm);
        if (strcmp(json_string_value(json_object_get(prm, "in")), in) == 0 &&
            strcmp(json_string_value(json_object_get(prm, "name")), name) == 0)
            return 1;
    }
    return 0;
}

static json_t *op_of(json_t *doc, const char *path, const char *method)
{
    json_t *op = json_object_get(json_object_get(json_object_get(doc, "paths"), path), method);
    if (!op)
        fail_msg("no %s %s", method, path);
    return op;
}

static void test_parameters_and_media(void **state)
{
    (void)state;
    json_t *doc = load_spec();
    json_t *list = op_of(doc, "/v1/jobs", "get");
    const char *filters[] = {"status", "solver", "tag", "cursor", "limit", NULL};
    for (const char **f = filters; *f; f++)
        if (!has_param(doc, list, "query", *f))
            fail_msg("GET /v1/jobs lacks the query parameter %s", *f);
    assert_true(has_param(doc, op_of(doc, "/v1/jobs", "post"), "header", "Idempotency-Key"));
    json_t *events = op_of(doc, "/v1/jobs/{id}/events", "get");
    assert_true(has_param(doc, events, "header", "Last-Event-ID"));
    json_t *content = json_object_get(
        json_object_get(json_object_get(events, "responses"), "200"), "content");
    assert_non_null(json_object_get(content, "text/event-stream"));
    content = json_object_get(
        json_object_get(json_object_get(op_of(doc, "/metrics", "get"), "responses"), "200"),
        "content");
    assert_non_null(json_object_get(content, "text/plain"));

    /* The status filter's values are the lifecycle words the server accepts. */
    json_t *status = NULL;
    size_t i;
    json_t *prm;
    json_array_foreach(json_object_get(list, "parameters"), i, prm) {
        prm = deref(doc, prm);
        if (strcmp(json_string_value(json_object_get(prm, "name")), "status") == 0)
            status = deref(doc, json_object_get(prm, "schema"));
    }
    json_t *values = json_object_get(status, "enum");
    assert_int_equal(json_array_size(values), 6);

    /* Every 4xx/5xx is the Error shape but libmicrohttpd's own 414 and 431 (HTML); each error
     * status exists. */
    json_t *error = json_object_get(json_object_get(json_object_get(doc, "components"),
                                                    "schemas"),
                                    "Error");
    const char *key;
    json_t *item;
    int seen[600] = {0};
    json_object_foreach(json_object_get(doc, "paths"), key, item) {
        const char *mkey;
        json_t *op;
        json_object_foreach(item, mkey, op) {
            const char *code;
            json_t *resp;
            json_object_foreach(json_object_get(op, "responses"), code, resp) {
                int c = atoi(code);
                if (c < 400 || c >= 600)
                    continue;
                if (strcmp(key, "/healthz") == 0)
                    continue;   /* its 503 is the Health body */
                seen[c] = 1;
                /* The HTTP layer's own answers (HTML): only for a request head it refused. */
                json_t *head = json_object_get(json_object_get(json_object_get(doc, "components"),
                                                               "responses"),
                                               "RequestHeadRefused");
                if (deref(doc, resp) == head) {
                    if (c != 414 && c != 431)
                        fail_msg("%s %s: response %s is the HTTP layer's", mkey, key, code);
                    continue;
                }
                json_t *schema = json_object_get(
                    json_object_get(json_object_get(deref(doc, resp), "content"),
                                    "application/json"),
                    "schema");
                if (deref(doc, schema) != error)
                    fail_msg("%s %s: response %s is not the Error schema", mkey, key, code);
            }
        }
    }
    const int statuses[] = {400, 401, 404, 409, 413, 415, 422, 503};
    for (size_t k = 0; k < sizeof statuses / sizeof statuses[0]; k++)
        if (!seen[statuses[k]])
            fail_msg("no operation documents status %d", statuses[k]);
    /* 405 happens on any path for the methods it lacks: a shared response. */
    json_t *r405 = json_object_get(
        json_object_get(json_object_get(doc, "components"), "responses"), "MethodNotAllowed");
    assert_non_null(r405);
    assert_non_null(json_object_get(json_object_get(r405, "headers"), "Allow"));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_header),
        cmocka_unit_test(test_every_route_is_described),
        cmocka_unit_test(test_every_operation_is_routed),
        cmocka_unit_test(test_every_ref_resolves),
        cmocka_unit_test(test_path_parameters_declared),
        cmocka_unit_test(test_parameters_and_media),
    };
    return cmocka_run_group_tests_name("openapi", tests, NULL, NULL);
}
