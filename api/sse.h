/* sse.h - Server-Sent Events framing: "event: <type>\nid: <seq>\ndata: <json>\n\n". The data is
 * one compact JSON object, which has no raw newlines, so one data line suffices. */
#ifndef SV_SSE_H
#define SV_SSE_H

#include <stddef.h>

/* Appends one event to *buf (realloc'd; *len and *cap track it). seq <= 0 omits the id line.
 * Returns 0, or -1 when out of memory (buf unchanged). */
int sv_sse_append(char **buf, size_t *len, size_t *cap, const char *type, long seq,
                  const char *data);
/* Appends a comment line (": text\n\n"), used as a heartbeat. */
int sv_sse_comment(char **buf, size_t *len, size_t *cap, const char *text);

/* The last event id a client resumes after (a Last-Event-ID header or ?after=): decimal digits
 * of a non-negative long. NULL or empty is 0. 0, or -1 when v is anything else. */
int sv_sse_parse_last_id(const char *v, long *out);

#endif
