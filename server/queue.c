/* queue.c - the in-memory queue of queue.h: a dispatch heap (server/jobtable.h). */
#include "server/queue.h"

#include <stdlib.h>

typedef struct {
    sv_queue base;   /* first */
    sv_jobheap heap;
} memory_queue;

#define MQ(q) ((memory_queue *)(q))

static int mq_add(sv_queue *q, sv_jobent *e) { return sv_jobheap_push(&MQ(q)->heap, e); }

static void mq_remove(sv_queue *q, sv_jobent *e)
{
    if (e->heap_index >= 0)
        sv_jobheap_remove(&MQ(q)->heap, e);
}

static sv_jobent *mq_take(sv_queue *q) { return sv_jobheap_pop(&MQ(q)->heap); }
static size_t mq_length(const sv_queue *q) { return sv_jobheap_len(&MQ(q)->heap); }

static void mq_destroy(sv_queue *q)
{
    sv_jobheap_free(&MQ(q)->heap);
    free(q);
}

static const sv_queue_ops memory_ops = {
    .name = "memory",
    .claims_durably = 0,
    .add = mq_add,
    .remove = mq_remove,
    .take = mq_take,
    .length = mq_length,
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
