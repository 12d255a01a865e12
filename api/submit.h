/* submit.h - validation of a POST /v1/jobs body: the envelope (solver, priority, time limit,
 * tags) here, the problem and params by the solver's codec. Nothing is stored until this says
 * yes. */
#ifndef SV_SUBMIT_H
#define SV_SUBMIT_H

#include <jansson.h>
#include <stddef.h>
#include "api/codec.h"

#define SV_PRIORITY_MIN (-1000)
#define SV_PRIORITY_MAX 1000
#define SV_MAX_TAGS 32
#define SV_MAX_TAG_LEN 64

typedef struct {
    const sv_codec *codec;
    json_t *body;          /* the whole validated body (owned) */
    int priority;
    double time_limit_s;   /* 0: not given (the server's maximum applies) */
    json_t *tags;          /* borrowed from body, or an empty array owned by body */
} sv_submit;

/* What the store keeps of a valid submission, made from its body (sv_submit_texts). */
typedef struct {
    char *request;         /* the body as sent: the bytes the client posted (owned) */
    char *tags;            /* the tags as a JSON array, "[]" when none (owned) */
    char *params;          /* the params object as JSON, NULL when none (owned) */
    char hash[17];         /* idempotency hash: FNV-1a over the key-sorted form, in hex ("" when
                              not asked for) */
} sv_submit_texts;

/* Parses and validates text[0..len). On success returns 0 and fills out (sv_submit_clear it).
 * On failure returns the HTTP status (400 or 422), sets *code to an API error code and e to the
 * path and message. max_time_limit_s bounds time_limit_s. */
int sv_submit_parse(const char *text, size_t len, const sv_codec_env *env,
                    double max_time_limit_s, sv_submit *out, const char **code, sv_err *e);
void sv_submit_clear(sv_submit *s);

/* The texts of s, whose body was parsed from text: text (malloc'd, NUL-terminated) becomes
 * t->request, taken whatever the outcome (no copy of a large body is made), so that the store
 * keeps the request as sent (no re-printing of numbers to 17 digits); with with_hash
 * (a submission with an Idempotency-Key) the hash, taken over the key-sorted form so that it
 * ignores key order and spacing: printing a large body that way is most of this function's
 * cost, so it is done only when a key needs it. 0, or -1 when out of memory (t is then empty).
 * Free with sv_submit_texts_clear. Heavy for a large body: call it off the event loop. */
int sv_submit_texts_make(const sv_submit *s, char *text, int with_hash, sv_submit_texts *t);
void sv_submit_texts_clear(sv_submit_texts *t);

#endif
