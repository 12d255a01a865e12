/* params.c - defaults and validation from a declarative parameter table (see params.h), and the
 * small text helpers that the JSON decoder shares (ranges, numbers, "did you mean"). */
#include "core/params.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/schedule.h"

#define FIELD(T, base, s) ((T *)((char *)(base) + (s)->offset))
#define CFIELD(T, base, s) ((const T *)((const char *)(base) + (s)->offset))

/* ============================================================================================
 * Ranges and numbers as text
 * ========================================================================================== */

int sv_param_has_range(const sv_param_spec *s)
{
    return !(s->min == 0 && s->max == 0 && !s->min_exclusive);
}

int sv_param_in_range(const sv_param_spec *s, double x)
{
    if (!sv_param_has_range(s))
        return 1;
    if (s->min_exclusive ? !(x > s->min) : !(x >= s->min))
        return 0;
    return x <= s->max;
}

const char *sv_fmt_number(char *buf, size_t size, double x)
{
    if (!buf || size == 0)
        return buf;
    if (!isfinite(x)) {
        snprintf(buf, size, "%s", isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
        return buf;
    }
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(buf, size, "%.0f", x);
        return buf;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return buf;
}

const char *sv_param_range_text(char *buf, size_t size, const sv_param_spec *s)
{
    char lo[40], hi[40];
    int lo_open = isinf(s->min) && s->min < 0, hi_open = isinf(s->max) && s->max > 0;
    sv_fmt_number(lo, sizeof lo, s->min);
    sv_fmt_number(hi, sizeof hi, s->max);
    if (lo_open && hi_open)
        snprintf(buf, size, "finite");
    else if (hi_open)
        snprintf(buf, size, "%s %s", s->min_exclusive ? ">" : ">=", lo);
    else if (lo_open)
        snprintf(buf, size, "<= %s", hi);
    else
        snprintf(buf, size, "in %c%s, %s]", s->min_exclusive ? '(' : '[', lo, hi);
    return buf;
}

/* ============================================================================================
 * Defaults and validation
 * ========================================================================================== */

void sv_params_defaults(const sv_param_spec *specs, void *settings)
{
    for (const sv_param_spec *s = specs; s && s->name; s++) {
        switch (s->type) {
        case SV_PARAM_NUMBER: *FIELD(double, settings, s) = s->def; break;
        case SV_PARAM_INT: *FIELD(long, settings, s) = (long)s->def; break;
        case SV_PARAM_INT32: *FIELD(int, settings, s) = (int)s->def; break;
        case SV_PARAM_BOOL: *FIELD(int, settings, s) = s->def != 0; break;
        case SV_PARAM_ENUM: *FIELD(int, settings, s) = (int)s->def; break;
        case SV_PARAM_SEED: *FIELD(uint64_t, settings, s) = (uint64_t)s->def; break;
        case SV_PARAM_OBJECT: sv_params_defaults(s->fields, FIELD(char, settings, s)); break;
        case SV_PARAM_SCHEDULE:
            sv_schedule_default(FIELD(sv_schedule, settings, s));
            FIELD(sv_schedule, settings, s)->kind = (int)s->def;
            break;
        }
    }
}

static void join_path(char *buf, size_t size, const char *prefix, const char *name)
{
    snprintf(buf, size, "%s/%s", prefix ? prefix : "", name);
}

int sv_params_validate(const sv_param_spec *specs, const void *settings, const char *prefix,
                       sv_err *e)
{
    char path[sizeof e->field], range[96], num[40];
    for (const sv_param_spec *s = specs; s && s->name; s++) {
        join_path(path, sizeof path, prefix, s->name);
        switch (s->type) {
        case SV_PARAM_NUMBER: {
            double x = *CFIELD(double, settings, s);
            if (isnan(x)) {
                if (isnan(s->def) && !(s->flags & SV_PARAM_REQUIRED))
                    break; /* automatic */
                return sv_fail(e, path, "must be a number, got NaN");
            }
            if (!isfinite(x))
                return sv_fail(e, path, "must be finite, got %s", sv_fmt_number(num, sizeof num, x));
            if (!sv_param_in_range(s, x))
                return sv_fail(e, path, "out of range: %s, must be %s",
                               sv_fmt_number(num, sizeof num, x),
                               sv_param_range_text(range, sizeof range, s));
            break;
        }
        case SV_PARAM_INT:
        case SV_PARAM_INT32: {
            double x = s->type == SV_PARAM_INT ? (double)*CFIELD(long, settings, s)
                                               : (double)*CFIELD(int, settings, s);
            if (!sv_param_in_range(s, x))
                return sv_fail(e, path, "out of range: %s, must be %s",
                               sv_fmt_number(num, sizeof num, x),
                               sv_param_range_text(range, sizeof range, s));
            break;
        }
        case SV_PARAM_BOOL: {
            int b = *CFIELD(int, settings, s);
            if (b != 0 && b != 1)
                return sv_fail(e, path, "must be true or false, got %d", b);
            break;
        }
        case SV_PARAM_ENUM: {
            int idx = *CFIELD(int, settings, s), n = 0;
            while (s->choices && s->choices[n])
                n++;
            if (n == 0)
                return sv_fail(e, path, "bad parameter table: enum without choices");
            if (idx < 0 || idx >= n)
                return sv_fail(e, path, "choice index %d out of range [0, %d)", idx, n);
            break;
        }
        case SV_PARAM_SEED:
            if (*CFIELD(uint64_t, settings, s) > INT64_MAX)
                return sv_fail(e, path, "seed too large, the limit is 2^63 - 1");
            break;
        case SV_PARAM_OBJECT:
            if (sv_params_validate(s->fields, CFIELD(char, settings, s), path, e) != SV_OK)
                return SV_EINVAL;
            break;
        case SV_PARAM_SCHEDULE:
            if (sv_schedule_check(CFIELD(sv_schedule, settings, s), path, e) != SV_OK)
                return SV_EINVAL;
            break;
        default:
            return sv_fail(e, path, "bad parameter table: type %d", (int)s->type);
        }
    }
    return SV_OK;
}

const sv_param_spec *sv_params_find(const sv_param_spec *specs, const char *name)
{
    for (const sv_param_spec *s = specs; s && s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

int sv_params_count(const sv_param_spec *specs)
{
    int n = 0;
    while (specs && specs[n].name)
        n++;
    return n;
}

/* ============================================================================================
 * Unknown names
 * ========================================================================================== */

/* Levenshtein distance of a and b (case-insensitive), capped at cap + 1. */
static int edit_distance(const char *a, const char *b, int cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return cap + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t)cap)
        return cap + 1;
    int prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) !=
                                     tolower((unsigned char)b[j - 1]));
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

const char *sv_nearest_name(const char *key, const char *const *candidates)
{
    if (!key || !candidates)
        return NULL;
    const char *best = NULL;
    int best_d = 3;
    size_t lk = strlen(key);
    for (const char *const *c = candidates; *c; c++) {
        /* Short names need a close match: names of up to 2 characters only a change of case
         * ("K" for "k"), of 3 one substitution, longer ones two edits. */
        size_t lc = strlen(*c);
        int cap = (lk <= 2 || lc <= 2) ? 0 : (lk <= 3 || lc <= 3) ? 1 : 2;
        if (cap == 1 && lk != lc)
            continue;
        int d = edit_distance(key, *c, cap);
        if (d <= cap && d < best_d && strcmp(key, *c) != 0) {
            best = *c;
            best_d = d;
        }
    }
    return best;
}

const char *sv_unknown_text(char *buf, size_t size, const char *what, const char *label,
                            const char *key, const char *const *candidates)
{
    size_t n = (size_t)snprintf(buf, size, "%s (%s: ", what, label);
    for (const char *const *c = candidates; c && *c && n < size; c++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", c == candidates ? "" : ", ", *c);
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, ")");
    const char *near = sv_nearest_name(key, candidates);
    if (near && n < size)
        snprintf(buf + n, size - n, "; did you mean \"%s\"?", near);
    return buf;
}
