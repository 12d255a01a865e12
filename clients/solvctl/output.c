/* output.c - numbers, JSON and key/value views for solvctl (see output.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"

int sc_output_parse(const char *s, sc_output *out)
{
    if (strcmp(s, "json") == 0)
        *out = SC_OUT_JSON;
    else if (strcmp(s, "table") == 0)
        *out = SC_OUT_TABLE;
    else if (strcmp(s, "fields") == 0)
        *out = SC_OUT_FIELDS;
    else
        return -1;
    return 0;
}

/* "1e-06" -> "1e-6", "1e+20" -> "1e+20" (the sign stays, only zeros go). */
static void drop_exponent_zeros(char *s)
{
    char *e = strpbrk(s, "eE");
    if (!e)
        return;
    char *digits = e + 1;
    if (*digits == '+' || *digits == '-')
        digits++;
    char *nz = digits;
    while (*nz == '0' && nz[1])
        nz++;
    if (nz != digits)
        memmove(digits, nz, strlen(nz) + 1);
}

char *sc_fmt_double(double d, int json_real, char *buf, size_t n)
{
    if (!isfinite(d)) {
        /* JSON has no such numbers; the API never sends them, but say what it is. */
        snprintf(buf, n, "%s", json_real ? "null" : (isnan(d) ? "nan" : d > 0 ? "inf" : "-inf"));
        return buf;
    }
    /* %.17g always round-trips; the first shorter one that also does is what was meant. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    drop_exponent_zeros(buf);
    if (json_real && !strpbrk(buf, ".eE") && strlen(buf) + 3 <= n)
        strcat(buf, ".0");
    return buf;
}

char *sc_fmt_short(double d, int prec, char *buf, size_t n)
{
    snprintf(buf, n, "%.*g", prec, d);
    drop_exponent_zeros(buf);
    return buf;
}

static void newline_indent(FILE *f, int indent, int depth)
{
    if (!indent)
        return;
    fputc('\n', f);
    for (int i = 0; i < indent * depth; i++)
        fputc(' ', f);
}

static void write_string(FILE *f, const char *s)
{
    /* jansson does the escaping (UTF-8, control characters) for one string. */
    json_t *j = json_string(s);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fputs(t ? t : "\"\"", f);
    free(t);
    json_decref(j);
}

static void write_value(FILE *f, const json_t *v, int indent, int depth)
{
    char num[40];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *m;
        int first = 1;
        fputc('{', f);
        json_object_foreach((json_t *)v, k, m) {
            if (!first)
                fputc(',', f);
            first = 0;
            newline_indent(f, indent, depth + 1);
            write_string(f, k);
            fputs(indent ? ": " : ":", f);
            write_value(f, m, indent, depth + 1);
        }
        if (!first)
            newline_indent(f, indent, depth);
        fputc('}', f);
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *m;
        fputc('[', f);
        json_array_foreach(v, i, m) {
            if (i)
                fputc(',', f);
            newline_indent(f, indent, depth + 1);
            write_value(f, m, indent, depth + 1);
        }
        if (json_array_size(v))
            newline_indent(f, indent, depth);
        fputc(']', f);
        break;
    }
    case JSON_STRING:
        write_string(f, json_string_value(v));
        break;
    case JSON_INTEGER:
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        fputs(sc_fmt_double(json_real_value(v), 1, num, sizeof num), f);
        break;
    case JSON_TRUE:
        fputs("true", f);
        break;
    case JSON_FALSE:
        fputs("false", f);
        break;
    case JSON_NULL:
        fputs("null", f);
        break;
    }
}

void sc_json_write(FILE *f, const json_t *v, int indent)
{
    write_value(f, v, indent, 0);
    fputc('\n', f);
}

char *sc_value_text(const json_t *v)
{
    char num[40];
    if (!v || json_is_null(v))
        return strdup("-");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_real(v))
        return strdup(sc_fmt_double(json_real_value(v), 0, num, sizeof num));
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return strdup("?");
    write_value(m, v, 0, 0);
    fclose(m);
    return buf;
}

json_t *sc_json_path(json_t *doc, const char *path)
{
    char part[256];
    const char *p = path;
    json_t *cur = doc;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || len >= sizeof part)
            return NULL;
        memcpy(part, p, len);
        part[len] = 0;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, part);
        } else if (json_is_array(cur)) {
            char *end;
            long i = strtol(part, &end, 10);
            cur = (*end || i < 0) ? NULL : json_array_get(cur, (size_t)i);
        } else {
            cur = NULL;
        }
        p += len + (dot ? 1 : 0);
    }
    return cur;
}

json_t *sc_pick(json_t *doc, char *const *paths, int n, const char **missing)
{
    json_t *out = json_object();
    for (int i = 0; i < n; i++) {
        json_t *v = sc_json_path(doc, paths[i]);
        if (!v) {
            *missing = paths[i];
            json_decref(out);
            return NULL;
        }
        json_object_set(out, paths[i], v);
    }
    return out;
}

/* Collects name/value pairs of obj (nested objects flattened with dots). */
typedef struct {
    char **names, **values;
    size_t n, cap;
} sc_pairs;

static void pairs_add(sc_pairs *p, const char *prefix, const char *k, json_t *v)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k);
    if (json_is_object(v) && json_object_size(v)) {
        const char *kk;
        json_t *vv;
        json_object_foreach(v, kk, vv)
            pairs_add(p, name, kk, vv);
        return;
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->names = realloc(p->names, p->cap * sizeof *p->names);
        p->values = realloc(p->values, p->cap * sizeof *p->values);
    }
    p->names[p->n] = strdup(name);
    p->values[p->n] = sc_value_text(v);
    p->n++;
}

void sc_print_object(FILE *f, json_t *obj, sc_output m)
{
    if (m == SC_OUT_JSON) {
        sc_json_write(f, obj, 0);
        return;
    }
    sc_pairs p = {0};
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
        pairs_add(&p, "", k, v);
    size_t w = 0;
    for (size_t i = 0; i < p.n; i++)
        if (strlen(p.names[i]) > w)
            w = strlen(p.names[i]);
    for (size_t i = 0; i < p.n; i++) {
        if (m == SC_OUT_FIELDS)
            fprintf(f, "%s\t%s\n", p.names[i], p.values[i]);
        else
            fprintf(f, "%-*s  %s\n", (int)w, p.names[i], p.values[i]);
        free(p.names[i]);
        free(p.values[i]);
    }
    free(p.names);
    free(p.values);
}
