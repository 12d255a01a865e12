/* auth.c - bearer tokens mapped to tenants. With no token configured every request belongs to
 * the tenant "default"; with tokens, /v1/ requests need one, and a tenant sees only its jobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "server/auth.h"

#include "server/app.h"
#include "server/log.h"

struct sv_token {
    char token[128];
    char tenant[64];
    struct sv_token *next;
};

/* 0, -1 for a malformed entry, -2 for a token already listed (for this or another tenant:
 * taking the last one silently would hand one tenant's jobs to another). */
static int add_token(sv_app *app, const char *token, size_t tl, const char *tenant, size_t nl)
{
    if (tl == 0 || tl >= 128 || nl == 0 || nl >= 64)
        return -1;
    for (struct sv_token *o = app->tokens; o; o = o->next)
        if (strlen(o->token) == tl && memcmp(o->token, token, tl) == 0)
            return -2;
    struct sv_token *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    memcpy(t->token, token, tl);
    memcpy(t->tenant, tenant, nl);
    t->next = app->tokens;
    app->tokens = t;
    return 0;
}

int sv_auth_load(sv_app *app)
{
    const sv_config *c = &app->cfg;
    if (c->tokens_file[0]) {
        FILE *f = fopen(c->tokens_file, "r");
        if (!f) {
            sv_log_error("cannot read the tokens file", "path=\"%s\"", c->tokens_file);
            return -1;
        }
        char line[512];
        int lineno = 0;
        while (fgets(line, sizeof line, f)) {
            lineno++;
            char *l = line;
            /* A UTF-8 byte order mark (editors on some systems write one) is not part of the
             * first token. */
            if (lineno == 1 && strncmp(l, "\xEF\xBB\xBF", 3) == 0)
                l += 3;
            char tok[256], ten[256];
            int fields = l[0] == '#' ? 0 : sscanf(l, "%255s %255s", tok, ten);
            if (fields < 1)
                continue;   /* blank or comment */
            int rc = fields == 2 ? add_token(app, tok, strlen(tok), ten, strlen(ten)) : -1;
            if (rc != 0) {
                sv_log_error(rc == -2 ? "a token is listed twice in the tokens file"
                                      : "bad line in the tokens file",
                             "path=\"%s\" line=%d", c->tokens_file, lineno);
                fclose(f);
                return -1;
            }
        }
        fclose(f);
        if (!app->tokens) {
            /* An empty file would silently turn authentication off. */
            sv_log_error("the tokens file holds no token", "path=\"%s\"", c->tokens_file);
            return -1;
        }
        return 0;
    }
    const char *p = c->tokens;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        int rc = colon ? add_token(app, p, (size_t)(colon - p), colon + 1,
                                   len - (size_t)(colon - p) - 1)
                       : -1;
        if (rc != 0) {
            sv_log_error(rc == -2 ? "a token is listed twice in --tokens"
                                  : "bad --tokens entry: expected token:tenant",
                         NULL);
            return -1;
        }
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

void sv_auth_free(sv_app *app)
{
    while (app->tokens) {
        struct sv_token *n = app->tokens->next;
        free(app->tokens);
        app->tokens = n;
    }
}

/* Compares in time independent of where the first difference is. */
static int same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i < lb ? i : 0]);
    return d == 0;
}

int sv_auth_tenant(sv_app *app, const char *authorization, char *tenant, size_t n)
{
    if (!app->tokens) {
        snprintf(tenant, n, "default");
        return 0;
    }
    /* The scheme name is case-insensitive (RFC 9110, section 11.1). */
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return -1;
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    int found = 0;
    for (struct sv_token *t = app->tokens; t; t = t->next) {
        if (same(t->token, tok) && !found) {
            snprintf(tenant, n, "%s", t->tenant);
            found = 1;
        }
    }
    return found ? 0 : -1;
}
