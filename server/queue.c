/* queue.c - the in-memory queue of queue.h: one dispatch heap (server/jobtable.h) per group
 * (tenant), taken from in turn, so that one tenant's many or high-priority jobs cannot keep
 * another's waiting. Within a group the heap's order holds: priority, then age, then id. */
#include "server/queue.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;        /* the group ("" for entries without one) */
    sv_jobheap heap;
} group_heap;

typedef struct {
    sv_queue base;     /* first */
    group_heap *groups;
    size_t ngroups, cap;
    size_t last;       /* the group served last; its turn passed */
    int served;        /* 0 until the first take */
    size_t length;
} memory_queue;

#define MQ(q) ((memory_queue *)(q))

static const char *group_of(const sv_jobent *e) { return e->group ? e->group : ""; }

/* The group's heap, created when absent (NULL when out of memory). Groups are few (tenants)
 * and stay once seen, so a linear search is enough and turns stay stable. */
static group_heap *lookup(const memory_queue *q, const char *name)
{
    for (size_t i = 0; i < q->ngroups; i++)
        if (strcmp(q->groups[i].name, name) == 0)
            return &q->groups[i];
    return NULL;
}

static group_heap *find_group(memory_queue *q, const char *name, int create)
{
    group_heap *found = lookup(q, name);
    if (found || !create)
        return found;
    if (q->ngroups == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 8;
        group_heap *g = realloc(q->groups, cap * sizeof *g);
        if (!g)
            return NULL;
        q->groups = g;
        q->cap = cap;
    }
    group_heap *g = &q->groups[q->ngroups];
    memset(g, 0, sizeof *g);
    if (!(g->name = strdup(name)))
        return NULL;
    q->ngroups++;
    return g;
}

static int mq_add(sv_queue *q, sv_jobent *e)
{
    group_heap *g = find_group(MQ(q), group_of(e), 1);
    if (!g || sv_jobheap_push(&g->heap, e) != 0)
        return -1;
    MQ(q)->length++;
    return 0;
}

static void mq_remove(sv_queue *q, sv_jobent *e)
{
    group_heap *g = find_group(MQ(q), group_of(e), 0);
    if (g && e->heap_index >= 0) {
        sv_jobheap_remove(&g->heap, e);
        MQ(q)->length--;
    }
}

/* The top of the first group after the one served last (in the order groups were first seen,
 * so a group that appears later still comes next in turn) that has a queued job. */
static sv_jobent *mq_take(sv_queue *q)
{
    memory_queue *m = MQ(q);
    size_t start = m->served ? m->last + 1 : 0;
    for (size_t k = 0; k < m->ngroups; k++) {
        size_t i = (start + k) % m->ngroups;
        sv_jobent *e = sv_jobheap_pop(&m->groups[i].heap);
        if (e) {
            m->last = i;
            m->served = 1;
            m->length--;
            return e;
        }
    }
    return NULL;
}

static size_t mq_length(const sv_queue *q) { return MQ(q)->length; }

static size_t mq_group_length(const sv_queue *q, const char *group)
{
    const group_heap *g = lookup((const memory_queue *)q, group ? group : "");
    return g ? sv_jobheap_len(&g->heap) : 0;
}

static void mq_destroy(sv_queue *q)
{
    memory_queue *m = MQ(q);
    for (size_t i = 0; i < m->ngroups; i++) {
        sv_jobheap_free(&m->groups[i].heap);
        free(m->groups[i].name);
    }
    free(m->groups);
    free(q);
}

static const sv_queue_ops memory_ops = {
    .name = "memory",
    .claims_durably = 0,
    .add = mq_add,
    .remove = mq_remove,
    .take = mq_take,
    .length = mq_length,
    .group_length = mq_group_length,
    .destroy = mq_destroy,
};

sv_queue *sv_queue_memory_new(void)
{
    memory_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->base.ops = &memory_ops;
    return &q->base;
}
