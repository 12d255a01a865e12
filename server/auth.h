/* auth.h - bearer tokens mapped to tenants. */
#ifndef SV_AUTH_H
#define SV_AUTH_H

#include <stddef.h>

typedef struct sv_app sv_app;

int sv_auth_load(sv_app *app);
void sv_auth_free(sv_app *app);
/* Fills tenant for the request; returns 0, or -1 when a token is required and missing/wrong. */
int sv_auth_tenant(sv_app *app, const char *authorization, char *tenant, size_t n);

#endif
