/* jobtable.c - hash table by id (FNV-1a, chained, doubling) and dispatch heap of sv_jobent. */
#include "server/jobtable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 1024

void sv_jobent_init(sv_jobent *e, const char *id, int priority, double created_at)
{
    snprintf(e->id, sizeof e->id, "%s", id);
    e->priority = priority;
    e->created_at = created_at;
    e->heap_index = -1;
    e->hnext = NULL;
    e->group = NULL;
}

/* ---- hash table ---- */

size_t sv_jobtable_hash(const char *id)
{
    size_t h = 1469598103934665603ULL;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ULL;
    return h;
}

int sv_jobtable_init(sv_jobtable *t)
{
    memset(t, 0, sizeof *t);
    t->buckets = calloc(INITIAL_BUCKETS, sizeof *t->buckets);
    if (!t->buckets)
        return -1;
    t->nbuckets = INITIAL_BUCKETS;
    return 0;
}

void sv_jobtable_free(sv_jobtable *t)
{
    free(t->buckets);
    memset(t, 0, sizeof *t);
}

static void grow(sv_jobtable *t)
{
    size_t nb = t->nbuckets * 2;
    sv_jobent **b = calloc(nb, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        sv_jobent *e = t->buckets[i];
        while (e) {
            sv_jobent *next = e->hnext;
            size_t k = sv_jobtable_hash(e->id) % nb;
            e->hnext = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

void sv_jobtable_add(sv_jobtable *t, sv_jobent *e)
{
    if (t->count + 1 > t->nbuckets * 2)
        grow(t);
    size_t k = sv_jobtable_hash(e->id) % t->nbuckets;
    e->hnext = t->buckets[k];
    t->buckets[k] = e;
    t->count++;
}

void sv_jobtable_remove(sv_jobtable *t, sv_jobent *e)
{
    sv_jobent **pp = &t->buckets[sv_jobtable_hash(e->id) % t->nbuckets];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = e->hnext;
        e->hnext = NULL;
        t->count--;
    }
}

sv_jobent *sv_jobtable_find(const sv_jobtable *t, const char *id)
{
    if (!t->nbuckets)
        return NULL;
    for (sv_jobent *e = t->buckets[sv_jobtable_hash(id) % t->nbuckets]; e; e = e->hnext)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

size_t sv_jobtable_count(const sv_jobtable *t) { return t->count; }

void sv_jobtable_each(sv_jobtable *t, void (*fn)(sv_jobent *e, void *data), void *data)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        sv_jobent *e = t->buckets[i];
        while (e) {
            sv_jobent *next = e->hnext;   /* fn may free e */
            fn(e, data);
            e = next;
        }
    }
}

/* ---- dispatch heap ---- */

int sv_jobent_before(const sv_jobent *a, const sv_jobent *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    if (a->created_at != b->created_at)
        return a->created_at < b->created_at;
    return strcmp(a->id, b->id) < 0;
}

static void set(sv_jobheap *h, size_t i, sv_jobent *e)
{
    h->items[i] = e;
    e->heap_index = (int)i;
}

static void sift_up(sv_jobheap *h, size_t i)
{
    sv_jobent *e = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!sv_jobent_before(e, h->items[parent]))
            break;
        set(h, i, h->items[parent]);
        i = parent;
    }
    set(h, i, e);
}

static void sift_down(sv_jobheap *h, size_t i)
{
    sv_jobent *e = h->items[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && sv_jobent_before(h->items[c + 1], h->items[c]))
            c++;
        if (!sv_jobent_before(h->items[c], e))
            break;
        set(h, i, h->items[c]);
        i = c;
    }
    set(h, i, e);
}

void sv_jobheap_free(sv_jobheap *h)
{
    for (size_t i = 0; i < h->len; i++)
        h->items[i]->heap_index = -1;
    free(h->items);
    memset(h, 0, sizeof *h);
}

int sv_jobheap_push(sv_jobheap *h, sv_jobent *e)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        sv_jobent **items = realloc(h->items, cap * sizeof *items);
        if (!items) {
            e->heap_index = -1;
            return -1;
        }
        h->items = items;
        h->cap = cap;
    }
    h->items[h->len++] = e;
    sift_up(h, h->len - 1);
    return 0;
}

sv_jobent *sv_jobheap_peek(const sv_jobheap *h) { return h->len ? h->items[0] : NULL; }

void sv_jobheap_remove(sv_jobheap *h, sv_jobent *e)
{
    size_t i = (size_t)e->heap_index;
    e->heap_index = -1;
    h->len--;
    if (i == h->len)
        return;
    /* The last item fills the hole and moves whichever way restores the order. */
    set(h, i, h->items[h->len]);
    sift_down(h, i);
    sift_up(h, (size_t)h->items[i]->heap_index);
}

sv_jobent *sv_jobheap_pop(sv_jobheap *h)
{
    sv_jobent *e = sv_jobheap_peek(h);
    if (e)
        sv_jobheap_remove(h, e);
    return e;
}

size_t sv_jobheap_len(const sv_jobheap *h) { return h->len; }
