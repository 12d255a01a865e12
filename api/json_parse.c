/* json_parse.c - a strict JSON parser into jansson values; see json_parse.h. Recursive descent
 * over the byte range; strings without escapes or non-ASCII bytes are handed to jansson as
 * they stand, the others decoded into one scratch buffer that lives as long as the parse. */
#include "api/json_parse.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/decimal.h"

typedef struct {
    const char *start, *p, *end;
    int depth;
    sv_json_perr *err;
    char *buf;      /* scratch for decoded strings */
    size_t cap;
} parser;

static json_t *parse_value(parser *ps);

static json_t *fail_at(parser *ps, const char *at, const char *why)
{
    if (ps->err && ps->err->text[0] == '\0') {
        int line = 1, col = 1;
        for (const char *c = ps->start; c < at; c++) {
            if (*c == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        ps->err->line = line;
        ps->err->column = col;
        ps->err->position = (size_t)(at - ps->start);
        snprintf(ps->err->text, sizeof ps->err->text, "%s", why);
    }
    return NULL;
}

static void skip_ws(parser *ps)
{
    const char *p = ps->p;
    while (p < ps->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    ps->p = p;
}

static int reserve(parser *ps, size_t need)
{
    if (need <= ps->cap)
        return 0;
    size_t cap = ps->cap ? ps->cap : 256;
    while (cap < need)
        cap *= 2;
    char *b = realloc(ps->buf, cap);
    if (!b)
        return -1;
    ps->buf = b;
    ps->cap = cap;
    return 0;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static int utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    int n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0; /* continuation byte, overlong 2-byte lead, or past U+10FFFF */
    }
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The string at ps->p (its opening quote) into *s, *n: a pointer into the text when it needs
 * no decoding, else into ps->buf. Returns 0, or -1 after fail_at. */
static int parse_string(parser *ps, const char **s, size_t *n)
{
    const char *p = ps->p + 1, *end = ps->end, *b = p;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *s = b;
            *n = (size_t)(p - b);
            ps->p = p + 1;
            return 0;
        }
        if (c == '\\' || c < 0x20 || c >= 0x80)
            break;
        p++;
    }
    /* slow path: decode from b, copying what was scanned */
    if (reserve(ps, (size_t)(p - b) + 64) != 0) {
        fail_at(ps, p, "out of memory");
        return -1;
    }
    size_t o = (size_t)(p - b);
    memcpy(ps->buf, b, o);
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (reserve(ps, o + 8) != 0) {
            fail_at(ps, p, "out of memory");
            return -1;
        }
        if (c == '"') {
            *s = ps->buf;
            *n = o;
            ps->p = p + 1;
            return 0;
        }
        if (c < 0x20) {
            fail_at(ps, p, "control character in a string");
            return -1;
        }
        if (c >= 0x80) {
            int k = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
            if (!k) {
                fail_at(ps, p, "invalid UTF-8 in a string");
                return -1;
            }
            memcpy(ps->buf + o, p, (size_t)k);
            o += (size_t)k;
            p += k;
            continue;
        }
        if (c != '\\') {
            ps->buf[o++] = (char)c;
            p++;
            continue;
        }
        if (end - p < 2) {
            fail_at(ps, p, "unterminated string");
            return -1;
        }
        char e = p[1];
        const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
        const char *m = NULL;
        for (const char *q = map; *q; q += 2)
            if (*q == e) {
                m = q;
                break;
            }
        if (m) {
            ps->buf[o++] = m[1];
            p += 2;
            continue;
        }
        if (e != 'u') {
            fail_at(ps, p, "invalid escape");
            return -1;
        }
        unsigned cp;
        if (end - p < 6 || hex4(p + 2, &cp) != 0) {
            fail_at(ps, p, "invalid \\u escape");
            return -1;
        }
        p += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail_at(ps, p - 6, "invalid Unicode '\\u' escape: a lone low surrogate");
            return -1;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) != 0 ||
                lo < 0xDC00 || lo > 0xDFFF) {
                fail_at(ps, p - 6, "invalid Unicode '\\u' escape: an unpaired high surrogate");
                return -1;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        if (cp == 0) {
            fail_at(ps, p - 6, "\\u0000 is not allowed");
            return -1;
        }
        o += put_utf8(ps->buf + o, cp);
    }
    fail_at(ps, end, "premature end of input in a string");
    return -1;
}

static json_t *parse_number(parser *ps)
{
    const char *s = ps->p, *p = s, *end = ps->end;
    int real = 0;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return fail_at(ps, s, "invalid token");
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && *p == '.') {
        real = 1;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail_at(ps, s, "invalid token");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail_at(ps, s, "invalid token");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    ps->p = p;
    if (!real) {
        /* digits only: the integer, or an error past long long (as jansson) */
        int neg = *s == '-';
        unsigned long long v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
        for (const char *d = s + neg; d < p; d++) {
            unsigned dig = (unsigned)(*d - '0');
            if (v > (lim - dig) / 10)
                return fail_at(ps, s, neg ? "too big negative integer" : "too big integer");
            v = v * 10 + dig;
        }
        json_int_t i = neg ? (v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
                                                                     : -(json_int_t)v)
                           : (json_int_t)v;
        json_t *j = json_integer(i);
        return j ? j : fail_at(ps, s, "out of memory");
    }
    double d;
    if (sv_decimal_to_double(s, p, &d) != 0)
        return fail_at(ps, s, "real number overflow");
    json_t *j = json_real(d);
    return j ? j : fail_at(ps, s, "out of memory");
}

static json_t *parse_array(parser *ps)
{
    json_t *a = json_array();
    if (!a)
        return fail_at(ps, ps->p, "out of memory");
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return a;
    }
    for (;;) {
        json_t *v = parse_value(ps);
        if (!v || json_array_append_new(a, v) != 0) {
            json_decref(a);
            return v ? fail_at(ps, ps->p, "out of memory") : NULL;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return a;
        }
        json_decref(a);
        return fail_at(ps, ps->p, ps->p < ps->end ? "']' expected" : "premature end of input");
    }
}

static json_t *parse_object(parser *ps)
{
    json_t *o = json_object();
    if (!o)
        return fail_at(ps, ps->p, "out of memory");
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return o;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            json_decref(o);
            return fail_at(ps, ps->p, ps->p < ps->end ? "string or '}' expected"
                                                      : "premature end of input");
        }
        const char *key_at = ps->p, *k;
        size_t kn;
        if (parse_string(ps, &k, &kn) != 0) {
            json_decref(o);
            return NULL;
        }
        /* The key may sit in the scratch buffer, which the value's strings reuse. */
        char small[128], *key = kn < sizeof small ? small : malloc(kn + 1);
        if (!key) {
            json_decref(o);
            return fail_at(ps, key_at, "out of memory");
        }
        memcpy(key, k, kn);
        key[kn] = '\0';
        int bad = 0;
        if (json_object_getn(o, key, kn)) {
            fail_at(ps, key_at, "duplicate object key");
            bad = 1;
        }
        skip_ws(ps);
        if (!bad && (ps->p >= ps->end || *ps->p != ':')) {
            fail_at(ps, ps->p, ps->p < ps->end ? "':' expected" : "premature end of input");
            bad = 1;
        }
        json_t *v = NULL;
        if (!bad) {
            ps->p++;
            v = parse_value(ps);
            bad = !v;
        }
        if (!bad && json_object_setn_new_nocheck(o, key, kn, v) != 0) {
            fail_at(ps, key_at, "out of memory");
            bad = 1;
        }
        if (key != small)
            free(key);
        if (bad) {
            json_decref(o);
            return NULL;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return o;
        }
        json_decref(o);
        return fail_at(ps, ps->p, ps->p < ps->end ? "'}' expected" : "premature end of input");
    }
}

static json_t *parse_literal(parser *ps, const char *word, json_t *(*make)(void))
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail_at(ps, ps->p, "invalid token");
    ps->p += n;
    return make();
}

static json_t *make_true(void) { return json_true(); }
static json_t *make_false(void) { return json_false(); }
static json_t *make_null(void) { return json_null(); }

static json_t *parse_value(parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail_at(ps, ps->p, "premature end of input");
    switch (*ps->p) {
    case '{':
    case '[': {
        if (++ps->depth > JSON_PARSER_MAX_DEPTH)
            return fail_at(ps, ps->p, "maximum parsing depth reached");
        json_t *v = *ps->p == '{' ? parse_object(ps) : parse_array(ps);
        ps->depth--;
        return v;
    }
    case '"': {
        const char *at = ps->p, *s;
        size_t n;
        if (parse_string(ps, &s, &n) != 0)
            return NULL;
        json_t *v = json_stringn_nocheck(s, n);
        return v ? v : fail_at(ps, at, "out of memory");
    }
    case 't':
        return parse_literal(ps, "true", make_true);
    case 'f':
        return parse_literal(ps, "false", make_false);
    case 'n':
        return parse_literal(ps, "null", make_null);
    default:
        return parse_number(ps);
    }
}

json_t *sv_json_parse(const char *text, size_t len, sv_json_perr *err)
{
    parser ps = {text, text, text + len, 0, err, NULL, 0};
    if (err)
        memset(err, 0, sizeof *err);
    skip_ws(&ps);
    json_t *v = NULL;
    if (ps.p < ps.end && (*ps.p == '{' || *ps.p == '[')) {
        v = parse_value(&ps);
        if (v) {
            skip_ws(&ps);
            if (ps.p != ps.end) {
                json_decref(v);
                v = fail_at(&ps, ps.p, "end of file expected");
            }
        }
    } else {
        fail_at(&ps, ps.p, ps.p < ps.end ? "'[' or '{' expected" : "premature end of input");
    }
    free(ps.buf);
    return v;
}
