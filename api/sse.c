/* sse.c - event framing into a growable buffer. */
#include "api/sse.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    char *b = realloc(*buf, n);
    if (!b)
        return -1;
    *buf = b;
    *cap = n;
    return 0;
}

int sv_sse_append(char **buf, size_t *len, size_t *cap, const char *type, long seq,
                  const char *data)
{
    char head[128];
    int hl = seq > 0 ? snprintf(head, sizeof head, "event: %s\nid: %ld\ndata: ", type, seq)
                     : snprintf(head, sizeof head, "event: %s\ndata: ", type);
    size_t dl = strlen(data);
    if (reserve(buf, cap, *len + (size_t)hl + dl + 3) != 0)
        return -1;
    memcpy(*buf + *len, head, (size_t)hl);
    memcpy(*buf + *len + hl, data, dl);
    memcpy(*buf + *len + hl + dl, "\n\n", 2);
    *len += (size_t)hl + dl + 2;
    return 0;
}

int sv_sse_parse_last_id(const char *v, long *out)
{
    *out = 0;
    if (!v || !*v)
        return 0;
    long n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > (LONG_MAX - (*p - '0')) / 10)
            return -1;
        n = n * 10 + (*p - '0');
    }
    *out = n;
    return 0;
}

int sv_sse_comment(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t tl = strlen(text);
    if (reserve(buf, cap, *len + tl + 5) != 0)
        return -1;
    memcpy(*buf + *len, ": ", 2);
    memcpy(*buf + *len + 2, text, tl);
    memcpy(*buf + *len + 2 + tl, "\n\n", 2);
    *len += tl + 4;
    return 0;
}
