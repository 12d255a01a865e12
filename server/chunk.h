/* chunk.h - framed Server-Sent Event bytes shared between streams: one immutable, refcounted
 * block per event, which every stream that sends it queues by reference. A 22 MB result replayed
 * to 200 idle readers used to be copied into each one's buffer (4.5 GB); now they hold one block.
 * Result blocks are also findable by (job, seq) while anyone holds them, so a replay that read
 * the same result again from the store swaps its copy for the one already in memory. Reference
 * counts are plain ints: a block is built on any thread but shared on the loop thread only. */
#ifndef SV_CHUNK_H
#define SV_CHUNK_H

#include <stddef.h>

typedef struct sv_chunk {
    int refs;
    size_t len;
    char *data;                     /* len bytes of the event stream, framed */
    char job[40];                   /* set for a result block: what the registry finds it by */
    long seq;
    struct sv_chunk **registry;     /* the registry holding it, or NULL */
    struct sv_chunk *reg_prev, *reg_next;
} sv_chunk;

/* The frame of one event (api/sse.h), or of a comment when type is NULL (data the text). One
 * reference; NULL when out of memory. */
sv_chunk *sv_chunk_new(const char *type, long seq, const char *data);
static inline sv_chunk *sv_chunk_ref(sv_chunk *c) { c->refs++; return c; }
/* Drops one reference; the last frees the block (and takes it out of its registry). */
void sv_chunk_unref(sv_chunk *c);

/* The result block of job in registry, with a reference added, or NULL. Loop thread. */
sv_chunk *sv_chunk_find(sv_chunk *registry, const char *job);

/* Result blocks in memory: *registry is the head of a list (NULL when empty). Returns the block
 * of (job, seq) already registered, with a reference added, and drops c; or registers c under
 * (job, seq) and returns it. Either way the caller holds one reference to what it gets. */
sv_chunk *sv_chunk_share(sv_chunk **registry, sv_chunk *c, const char *job, long seq);

#endif
