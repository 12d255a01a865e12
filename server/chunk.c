/* chunk.c - shared event-stream blocks and the registry of result blocks. */
#include "server/chunk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/sse.h"

sv_chunk *sv_chunk_new(const char *type, long seq, const char *data)
{
    sv_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    size_t cap = 0;
    int rc = type ? sv_sse_append(&c->data, &c->len, &cap, type, seq, data)
                  : sv_sse_comment(&c->data, &c->len, &cap, data);
    if (rc != 0) {
        free(c->data);
        free(c);
        return NULL;
    }
    c->refs = 1;
    return c;
}

void sv_chunk_unref(sv_chunk *c)
{
    if (!c || --c->refs > 0)
        return;
    if (c->registry) {
        if (c->reg_prev)
            c->reg_prev->reg_next = c->reg_next;
        else
            *c->registry = c->reg_next;
        if (c->reg_next)
            c->reg_next->reg_prev = c->reg_prev;
    }
    free(c->data);
    free(c);
}

sv_chunk *sv_chunk_find(sv_chunk *registry, const char *job)
{
    for (sv_chunk *k = registry; k; k = k->reg_next)
        if (strcmp(k->job, job) == 0)
            return sv_chunk_ref(k);
    return NULL;
}

sv_chunk *sv_chunk_share(sv_chunk **registry, sv_chunk *c, const char *job, long seq)
{
    for (sv_chunk *k = *registry; k; k = k->reg_next)
        if (k->seq == seq && strcmp(k->job, job) == 0) {
            if (k != c) {
                sv_chunk_ref(k);
                sv_chunk_unref(c);
            }
            return k;
        }
    if (c->registry)
        return c;   /* registered under another key already: keep it there */
    snprintf(c->job, sizeof c->job, "%s", job);
    c->seq = seq;
    c->registry = registry;
    c->reg_prev = NULL;
    c->reg_next = *registry;
    if (*registry)
        (*registry)->reg_prev = c;
    *registry = c;
    return c;
}
