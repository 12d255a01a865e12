/* json_parse.h - a strict JSON parser (RFC 8259) into jansson values, built for large request
 * bodies: one pass, no token copies, numbers through api/decimal.h's correctly rounded fast
 * path. It accepts and rejects what json_loadb(text, len, JSON_REJECT_DUPLICATES) does, so
 * callers see the same values and the same classes of error:
 *  - the document is one object or array, with only white space around it;
 *  - strings are valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), with
 *    no raw control characters, and \u escapes pair their surrogates; \u0000 is refused;
 *  - an integer (no fraction, no exponent) outside long long and a real beyond the double range
 *    are errors; a real below it becomes 0 or a subnormal;
 *  - a key twice in one object is an error; nesting deeper than JSON_PARSER_MAX_DEPTH (2048)
 *    is an error.
 * Errors give the line, the column (bytes, counted from 1) and a short reason. */
#ifndef SV_JSON_PARSE_H
#define SV_JSON_PARSE_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
    int line, column;
    size_t position;  /* byte offset of the error */
    char text[96];
} sv_json_perr;

/* The document in text[0..len), or NULL with *err filled (err may be NULL). */
json_t *sv_json_parse(const char *text, size_t len, sv_json_perr *err);

#endif
