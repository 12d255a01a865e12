/* viewcache.c - rendered views of finished jobs (viewcache.h). */
#include "server/viewcache.h"

#include <stdlib.h>
#include <string.h>

#include "server/jobtable.h"

static size_t slot_of(const char *id) { return sv_jobtable_hash(id) % SV_VIEWCACHE_SLOTS; }

static void empty(sv_viewcache_slot *s)
{
    free(s->id);
    free(s->tenant);
    free(s->body);
    memset(s, 0, sizeof *s);
}

int sv_viewcache_init(sv_viewcache *c, int enabled)
{
    memset(c, 0, sizeof *c);
    if (!enabled)
        return 0;
    c->slots = calloc(SV_VIEWCACHE_SLOTS, sizeof *c->slots);
    return c->slots ? 0 : -1;
}

void sv_viewcache_clear(sv_viewcache *c)
{
    if (!c->slots)
        return;
    for (size_t i = 0; i < SV_VIEWCACHE_SLOTS; i++)
        empty(&c->slots[i]);
}

void sv_viewcache_free(sv_viewcache *c)
{
    sv_viewcache_clear(c);
    free(c->slots);
    c->slots = NULL;
}

const sv_viewcache_slot *sv_viewcache_get(sv_viewcache *c, const char *id, const char *tenant)
{
    if (!c->slots)
        return NULL;
    const sv_viewcache_slot *s = &c->slots[slot_of(id)];
    if (s->id && strcmp(s->id, id) == 0 && (!tenant || strcmp(s->tenant, tenant) == 0)) {
        c->hits++;
        return s;
    }
    c->misses++;
    return NULL;
}

void sv_viewcache_put(sv_viewcache *c, const char *id, const char *tenant, const char *body,
                      size_t len)
{
    if (!c->slots || len > SV_VIEWCACHE_MAX_VIEW)
        return;
    sv_viewcache_slot *s = &c->slots[slot_of(id)];
    empty(s);
    s->id = strdup(id);
    s->tenant = strdup(tenant ? tenant : "");
    s->body = malloc(len);
    if (!s->id || !s->tenant || !s->body) {
        empty(s);
        return;
    }
    memcpy(s->body, body, len);
    s->len = len;
}

void sv_viewcache_drop(sv_viewcache *c, const char *id)
{
    if (!c->slots)
        return;
    sv_viewcache_slot *s = &c->slots[slot_of(id)];
    if (s->id && strcmp(s->id, id) == 0)
        empty(s);
}
