/* auth.h - bearer tokens mapped to tenants and roles. A token is listed by its secret or by
 * "sha256:HEX", the SHA-256 of the secret (so the file need not hold secrets); either way only
 * the digest is kept, and a presented token is hashed and compared with every entry in constant
 * time. A user sees only its tenant's jobs; an admin sees every tenant's, and may read /metrics
 * when it is private. The tokens file is read again on SIGHUP. */
#ifndef SV_AUTH_H
#define SV_AUTH_H

#include <stddef.h>

typedef struct sv_app sv_app;

/* Loads --tokens-file (or --tokens) into app->tokens. 0, or -1 after logging why. */
int sv_auth_load(sv_app *app);
/* Loads the tokens again (SIGHUP): the new list replaces the old one only when it loads
 * entirely; otherwise the old one stays and -1 is returned (logged). */
int sv_auth_reload(sv_app *app);
void sv_auth_free(sv_app *app);
/* Fills tenant (and *admin) for the request; returns 0, or -1 when a token is required and is
 * missing or unknown. Without tokens every request is the tenant "default", not admin. */
int sv_auth_tenant(sv_app *app, const char *authorization, char *tenant, size_t n, int *admin);

#endif
