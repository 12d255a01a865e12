/* viewcache.h - the rendered GET /v1/jobs/{id} views of finished jobs, kept on the loop thread.
 * A finished job's row no longer changes (until it is deleted), so its view is rendered once
 * and served from memory after that, with no store read and no JSON build. Direct-mapped by a
 * hash of the id: a slot holds the last finished job whose id fell there, so memory is bounded
 * by the slot count times the largest view. Only for a store no other node writes to: there a
 * deletion always passes through this process (sv_viewcache_drop, sv_viewcache_clear). */
#ifndef SV_VIEWCACHE_H
#define SV_VIEWCACHE_H

#include <stddef.h>

#define SV_VIEWCACHE_SLOTS 4096
#define SV_VIEWCACHE_MAX_VIEW 16384 /* larger views (long tag lists) are not kept */

typedef struct sv_viewcache_slot {
    char *id, *tenant;   /* NULL id: empty */
    char *body;          /* the whole answer body, newline included */
    size_t len;
} sv_viewcache_slot;

typedef struct {
    sv_viewcache_slot *slots;   /* NULL: the cache is off (sv_viewcache_get finds nothing) */
    unsigned long hits, misses;
} sv_viewcache;

/* enabled 0 leaves it off (every call a no-op). Returns 0, or -1 out of memory (then off). */
int sv_viewcache_init(sv_viewcache *c, int enabled);
void sv_viewcache_free(sv_viewcache *c);

/* The view of job id if kept and visible to tenant (NULL: any tenant), else NULL. */
const sv_viewcache_slot *sv_viewcache_get(sv_viewcache *c, const char *id, const char *tenant);

/* Keeps a copy of body (len bytes) as the view of finished job id of tenant. */
void sv_viewcache_put(sv_viewcache *c, const char *id, const char *tenant, const char *body,
                      size_t len);

/* Job id left the store; clear: some finished jobs did (retention). */
void sv_viewcache_drop(sv_viewcache *c, const char *id);
void sv_viewcache_clear(sv_viewcache *c);

#endif
