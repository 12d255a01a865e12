/* auth.c - bearer tokens mapped to tenants and roles. With no token configured every request
 * belongs to the tenant "default"; with tokens, /v1/ requests need one, and a tenant sees only
 * its jobs unless its token is an admin's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "server/auth.h"

#include "server/app.h"
#include "server/log.h"
#include "server/sha256.h"

struct sv_token {
    unsigned char digest[SV_SHA256_LEN];   /* SHA-256 of the secret */
    char tenant[64];
    int admin;
    struct sv_token *next;
};

static void free_list(struct sv_token *t)
{
    while (t) {
        struct sv_token *n = t->next;
        free(t);
        t = n;
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* 0, -1 for a malformed entry, -2 for a token already listed (for this or another tenant:
 * taking the last one silently would hand one tenant's jobs to another). */
static int add_token(struct sv_token **list, const char *token, size_t tl, const char *tenant,
                     size_t nl, const char *role, size_t rl)
{
    if (tl == 0 || tl >= 256 || nl == 0 || nl >= 64)
        return -1;
    int admin = 0;
    if (rl == 5 && strncmp(role, "admin", 5) == 0)
        admin = 1;
    else if (rl != 0 && !(rl == 4 && strncmp(role, "user", 4) == 0))
        return -1;
    unsigned char d[SV_SHA256_LEN];
    if (tl > 7 && strncmp(token, "sha256:", 7) == 0) {
        if (tl != 7 + 2 * SV_SHA256_LEN)
            return -1;
        for (int i = 0; i < SV_SHA256_LEN; i++) {
            int hi = hexval(token[7 + 2 * i]), lo = hexval(token[8 + 2 * i]);
            if (hi < 0 || lo < 0)
                return -1;
            d[i] = (unsigned char)(hi * 16 + lo);
        }
    } else {
        sv_sha256(token, tl, d);
    }
    for (struct sv_token *o = *list; o; o = o->next)
        if (memcmp(o->digest, d, sizeof d) == 0)
            return -2;
    struct sv_token *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    memcpy(t->digest, d, sizeof d);
    memcpy(t->tenant, tenant, nl);
    t->admin = admin;
    t->next = *list;
    *list = t;
    return 0;
}

/* The lines of the tokens file: TOKEN TENANT [ROLE]; '#' comments and blank lines skipped. */
static int load_file(const char *path, struct sv_token **list)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        sv_log_error("cannot read the tokens file", "path=\"%s\"", path);
        return -1;
    }
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *l = line;
        /* A UTF-8 byte order mark (editors on some systems write one) is not part of the
         * first token. */
        if (lineno == 1 && strncmp(l, "\xEF\xBB\xBF", 3) == 0)
            l += 3;
        char tok[300], ten[300], role[300], extra[2];
        int fields = l[0] == '#' ? 0 : sscanf(l, "%299s %299s %299s %1s", tok, ten, role, extra);
        if (fields < 1)
            continue;   /* blank or comment */
        int rc = fields == 2 || fields == 3
                     ? add_token(list, tok, strlen(tok), ten, strlen(ten), fields == 3 ? role : "",
                                 fields == 3 ? strlen(role) : 0)
                     : -1;
        if (rc != 0) {
            sv_log_error(rc == -2 ? "a token is listed twice in the tokens file"
                                  : "bad line in the tokens file (TOKEN TENANT [user|admin], "
                                    "TOKEN a secret or sha256:64-hex)",
                         "path=\"%s\" line=%d", path, lineno);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    if (!*list) {
        /* An empty file would silently turn authentication off. */
        sv_log_error("the tokens file holds no token", "path=\"%s\"", path);
        return -1;
    }
    return 0;
}

/* --tokens: token:tenant[:role][,token:tenant[:role]...] */
static int load_inline(const char *p, struct sv_token **list)
{
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        int rc = -1;
        if (colon) {
            const char *ten = colon + 1;
            size_t rest = len - (size_t)(ten - p);
            const char *c2 = memchr(ten, ':', rest);
            size_t nl = c2 ? (size_t)(c2 - ten) : rest;
            rc = add_token(list, p, (size_t)(colon - p), ten, nl, c2 ? c2 + 1 : "",
                           c2 ? rest - nl - 1 : 0);
        }
        if (rc != 0) {
            sv_log_error(rc == -2 ? "a token is listed twice in --tokens"
                                  : "bad --tokens entry: expected token:tenant[:user|admin]",
                         NULL);
            return -1;
        }
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

static int load(const sv_config *c, struct sv_token **list)
{
    *list = NULL;
    int rc = c->tokens_file[0] ? load_file(c->tokens_file, list) : load_inline(c->tokens, list);
    if (rc != 0) {
        free_list(*list);
        *list = NULL;
    }
    return rc;
}

int sv_auth_load(sv_app *app)
{
    return load(&app->cfg, &app->tokens);
}

int sv_auth_reload(sv_app *app)
{
    struct sv_token *fresh;
    if (load(&app->cfg, &fresh) != 0) {
        sv_log_error("tokens not reloaded: the previous ones stay in force", NULL);
        return -1;
    }
    int n = 0;
    for (struct sv_token *t = fresh; t; t = t->next)
        n++;
    free_list(app->tokens);
    app->tokens = fresh;
    sv_log_info("tokens reloaded", "tokens=%d", n);
    return 0;
}

void sv_auth_free(sv_app *app)
{
    free_list(app->tokens);
    app->tokens = NULL;
}

int sv_auth_tenant(sv_app *app, const char *authorization, char *tenant, size_t n, int *admin)
{
    *admin = 0;
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
    unsigned char d[SV_SHA256_LEN];
    sv_sha256(tok, strlen(tok), d);
    /* Every entry is compared in full: the time does not tell which one matched. */
    const struct sv_token *found = NULL;
    for (const struct sv_token *t = app->tokens; t; t = t->next) {
        unsigned char diff = 0;
        for (int i = 0; i < SV_SHA256_LEN; i++)
            diff |= (unsigned char)(t->digest[i] ^ d[i]);
        if (diff == 0 && !found)
            found = t;
    }
    if (!found)
        return -1;
    snprintf(tenant, n, "%s", found->tenant);
    *admin = found->admin;
    return 0;
}
