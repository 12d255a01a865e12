/* jobtable.h - the loop thread's index of live jobs: a hash table by id, and a binary heap that
 * orders queued jobs for dispatch (priority high first, then older first, then by id). Both hold
 * sv_jobent, which the caller embeds in its own record and owns; neither allocates entries. */
#ifndef SV_JOBTABLE_H
#define SV_JOBTABLE_H

#include <stddef.h>

typedef struct sv_jobent {
    char id[40];
    int priority;
    double created_at;
    int heap_index;            /* position in a heap, -1 when in none */
    struct sv_jobent *hnext;   /* hash chain */
    const char *group;         /* whose job (the tenant; owned by the embedding record), for a
                                  queue that is fair between groups; NULL: the one group "" */
} sv_jobent;

/* Sets id, priority and created_at, and marks the entry as in no heap. */
void sv_jobent_init(sv_jobent *e, const char *id, int priority, double created_at);

typedef struct {
    sv_jobent **buckets;
    size_t nbuckets, count;
} sv_jobtable;

/* 0, or -1 when out of memory. */
/* FNV-1a of a job id: the buckets of the table, and the slots of server/viewcache.c. */
size_t sv_jobtable_hash(const char *id);
int sv_jobtable_init(sv_jobtable *t);
/* Frees the table's own memory, not the entries (walk them first with sv_jobtable_each). */
void sv_jobtable_free(sv_jobtable *t);
/* Adds e (its id must not be in the table yet). The table grows as it fills; when it cannot,
 * chains get longer but nothing fails. */
void sv_jobtable_add(sv_jobtable *t, sv_jobent *e);
/* Removes e if it is there. */
void sv_jobtable_remove(sv_jobtable *t, sv_jobent *e);
sv_jobent *sv_jobtable_find(const sv_jobtable *t, const char *id);
size_t sv_jobtable_count(const sv_jobtable *t);
/* Calls fn on every entry, in no particular order; fn may free the entry it is given (but not
 * add or remove others), which is how an owner tears down. */
void sv_jobtable_each(sv_jobtable *t, void (*fn)(sv_jobent *e, void *data), void *data);

typedef struct {
    sv_jobent **items;
    size_t len, cap;
} sv_jobheap;

/* A zeroed sv_jobheap is an empty heap. */
void sv_jobheap_free(sv_jobheap *h);
/* 0, or -1 when out of memory (e is then in no heap). */
int sv_jobheap_push(sv_jobheap *h, sv_jobent *e);
/* The first entry in dispatch order, or NULL when empty; pop also removes it. */
sv_jobent *sv_jobheap_peek(const sv_jobheap *h);
sv_jobent *sv_jobheap_pop(sv_jobheap *h);
/* Removes e from h (it must be in h). */
void sv_jobheap_remove(sv_jobheap *h, sv_jobent *e);
size_t sv_jobheap_len(const sv_jobheap *h);
/* 1 when a comes before b in dispatch order. */
int sv_jobent_before(const sv_jobent *a, const sv_jobent *b);

#endif
