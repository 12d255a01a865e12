/* params.c - JSON Schema, strict decoder and encoder of the declarative parameter tables
 * (core/params.h, api/params.h). One table drives all three, and core validates against the same
 * table, so the documented schema, the accepted input and the checked settings cannot drift. */
#include "api/params.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonval.h"
#include "api/schedule_json.h"
#include "core/schedule.h"

/* How an object's unknown members are worded: params say "unknown parameter (known: ...)",
 * problem members "unknown field (allowed: ...)". */
typedef struct {
    const char *what;
    const char *label;
} unknown_words;

static const unknown_words params_words = {"unknown parameter", "known"};
static const unknown_words field_words = {"unknown field", "allowed"};

/* One decoded scalar, held until every member has been checked. */
typedef union {
    double d;
    long l;
    int i;
    uint64_t u;
} param_value;

static json_t *spec_schema(const sv_param_spec *s, const void *defaults);
static json_t *table_schema(const sv_param_spec *specs, const void *defaults);
static int decode_scalar(const sv_param_spec *s, const json_t *v, const char *path,
                         const void *settings, param_value *out, sv_err *e);
static void store_scalar(const sv_param_spec *s, const param_value *val, void *settings);
static int decode_table(const sv_param_spec *specs, const json_t *obj, const char *path,
                        const unknown_words *words, void *settings, int apply, sv_err *e);
static json_t *encode_table(const sv_param_spec *specs, const void *settings);

#define FIELD(T, base, s) ((T *)((char *)(base) + (s)->offset))
#define CFIELD(T, base, s) ((const T *)((const char *)(base) + (s)->offset))

/* 2^63 as a double: the first value that no longer fits in a json_int_t / long. */
#define TWO_POW_63 9223372036854775808.0

/* An integral double as a JSON integer (schemas read better), anything else as a real. */
static json_t *num_json(double x)
{
    if (x == floor(x) && fabs(x) < 9007199254740992.0) /* 2^53: exact in both */
        return json_integer((json_int_t)x);
    return json_real(x);
}

/* ============================================================================================
 * Schema
 * ========================================================================================== */

static json_t *spec_schema(const sv_param_spec *s, const void *defaults)
{
    if (s->type == SV_PARAM_SCHEDULE) {
        /* The shared schedule schema, with this table's default kind. */
        json_t *o = sv_schedule_schema();
        const char *kind = sv_schedule_kind_name(CFIELD(sv_schedule, defaults, s)->kind);
        if (o && kind)
            json_object_set_new(o, "default", json_string(kind));
        return o;
    }
    if (s->type == SV_PARAM_OBJECT) {
        json_t *o = table_schema(s->fields, CFIELD(char, defaults, s));
        if (o && s->help)
            json_object_set_new(o, "description", json_string(s->help));
        return o;
    }
    json_t *p = json_object();
    if (!p)
        return NULL;
    int ok = 1, required = (s->flags & SV_PARAM_REQUIRED) != 0;
    const char *help = s->help ? s->help : "";
    switch (s->type) {
    case SV_PARAM_NUMBER: {
        double d = *CFIELD(double, defaults, s);
        if (isnan(d) && !required) {
            char desc[512];
            snprintf(desc, sizeof desc, "%s%s(null: automatic)", help, *help ? " " : "");
            ok &= json_object_set_new(p, "type", json_pack("[ss]", "number", "null")) == 0;
            ok &= json_object_set_new(p, "default", json_null()) == 0;
            ok &= json_object_set_new(p, "description", json_string(desc)) == 0;
            help = NULL;
        } else {
            ok &= json_object_set_new(p, "type", json_string("number")) == 0;
            /* json_real rejects infinities: an infinite default reads as null there. */
            if (!required)
                ok &= json_object_set_new(p, "default",
                                          isfinite(d) ? json_real(d) : json_null()) == 0;
        }
        break;
    }
    case SV_PARAM_INT:
    case SV_PARAM_INT32: {
        long d = s->type == SV_PARAM_INT ? *CFIELD(long, defaults, s) : *CFIELD(int, defaults, s);
        ok &= json_object_set_new(p, "type", json_string("integer")) == 0;
        if (!required)
            ok &= json_object_set_new(p, "default", json_integer((json_int_t)d)) == 0;
        break;
    }
    case SV_PARAM_BOOL:
        ok &= json_object_set_new(p, "type", json_string("boolean")) == 0;
        if (!required)
            ok &= json_object_set_new(p, "default", json_boolean(*CFIELD(int, defaults, s))) == 0;
        break;
    case SV_PARAM_ENUM: {
        json_t *choices = json_array();
        int n = 0;
        for (const char *const *c = s->choices; c && *c; c++, n++)
            ok &= json_array_append_new(choices, json_string(*c)) == 0;
        int idx = *CFIELD(int, defaults, s);
        ok &= json_object_set_new(p, "type", json_string("string")) == 0;
        ok &= json_object_set_new(p, "enum", choices) == 0;
        if (!required)
            ok &= json_object_set_new(p, "default", idx >= 0 && idx < n
                                                        ? json_string(s->choices[idx])
                                                        : json_null()) == 0;
        break;
    }
    case SV_PARAM_SEED: {
        uint64_t d = *CFIELD(uint64_t, defaults, s);
        ok &= json_object_set_new(p, "type", json_string("integer")) == 0;
        ok &= json_object_set_new(p, "minimum", json_integer(0)) == 0;
        ok &= json_object_set_new(p, "maximum", json_integer(INT64_MAX)) == 0;
        if (!required)
            ok &= json_object_set_new(p, "default", d <= INT64_MAX ? json_integer((json_int_t)d)
                                                                   : json_real((double)d)) == 0;
        break;
    }
    default:
        ok = 0;
    }
    if ((s->type == SV_PARAM_NUMBER || s->type == SV_PARAM_INT || s->type == SV_PARAM_INT32) &&
        sv_param_has_range(s)) {
        if (isfinite(s->min))
            ok &= json_object_set_new(p, s->min_exclusive ? "exclusiveMinimum" : "minimum",
                                      num_json(s->min)) == 0;
        if (isfinite(s->max))
            ok &= json_object_set_new(p, "maximum", num_json(s->max)) == 0;
    }
    if (help)
        ok &= json_object_set_new(p, "description", json_string(help)) == 0;
    if (!ok) {
        json_decref(p);
        return NULL;
    }
    return p;
}

static json_t *table_schema(const sv_param_spec *specs, const void *defaults)
{
    json_t *props = json_object();
    json_t *schema = json_pack("{s:s, s:b, s:o}", "type", "object", "additionalProperties", 0,
                               "properties", props);
    if (!schema)
        return NULL;
    json_t *required = json_array();
    for (const sv_param_spec *s = specs; s && s->name; s++) {
        if (json_object_set_new(props, s->name, spec_schema(s, defaults)) != 0) {
            json_decref(required);
            json_decref(schema);
            return NULL;
        }
        if (s->flags & SV_PARAM_REQUIRED)
            json_array_append_new(required, json_string(s->name));
    }
    if (json_array_size(required) > 0)
        json_object_set_new(schema, "required", required);
    else
        json_decref(required);
    return schema;
}

json_t *sv_params_schema(const sv_param_spec *specs, const void *defaults)
{
    return table_schema(specs, defaults);
}

/* ============================================================================================
 * Decoder
 * ========================================================================================== */

/* An integer (or integral real). */
static int integral(const json_t *v, double *out)
{
    double x;
    if (json_is_integer(v))
        x = (double)json_integer_value(v);
    else if (json_is_real(v))
        x = json_real_value(v);
    else
        return 0;
    if (!isfinite(x) || x != floor(x))
        return 0;
    *out = x;
    return 1;
}

/* Checks v against the scalar entry s and puts the value in *out; settings (read only)
 * supplies the current value, which decides whether null is allowed for a NUMBER. */
static int decode_scalar(const sv_param_spec *s, const json_t *v, const char *path,
                         const void *settings, param_value *out, sv_err *e)
{
    char range[96], num[40];
    switch (s->type) {
    case SV_PARAM_NUMBER: {
        if (json_is_null(v) && isnan(*CFIELD(double, settings, s)) &&
            !(s->flags & SV_PARAM_REQUIRED)) {
            out->d = NAN; /* null: keep "automatic" */
            return SV_OK;
        }
        if (!json_is_number(v))
            return sv_fail(e, path, "expected a number, got %s", sv_json_kind(v));
        double x = json_number_value(v);
        if (!isfinite(x))
            return sv_fail(e, path, "non-finite number");
        if (!sv_param_in_range(s, x))
            return sv_fail(e, path, "out of range: %s, must be %s",
                           sv_fmt_number(num, sizeof num, x),
                           sv_param_range_text(range, sizeof range, s));
        out->d = x;
        return SV_OK;
    }
    case SV_PARAM_INT:
    case SV_PARAM_INT32: {
        double x;
        if (!json_is_number(v))
            return sv_fail(e, path, "expected an integer, got %s", sv_json_kind(v));
        if (!integral(v, &x))
            return sv_fail(e, path, "expected an integer, got %s",
                           sv_fmt_number(num, sizeof num, json_number_value(v)));
        /* A JSON integer always fits a long (json_int_t is 64-bit, like long here); a real
         * must be checked before the cast. An INT32 without a range still has int's. */
        int fits = json_is_integer(v) || (x >= -TWO_POW_63 && x < TWO_POW_63);
        if (s->type == SV_PARAM_INT32 && !sv_param_has_range(s))
            fits = fits && x >= INT_MIN && x <= INT_MAX;
        if (!fits || !sv_param_in_range(s, x))
            return sv_fail(e, path, "out of range: %s, must be %s",
                           sv_fmt_number(num, sizeof num, x),
                           sv_param_has_range(s) ? sv_param_range_text(range, sizeof range, s)
                           : s->type == SV_PARAM_INT32 ? "a 32-bit integer"
                                                       : "a 64-bit integer");
        long l = json_is_integer(v) ? (long)json_integer_value(v) : (long)x;
        if (s->type == SV_PARAM_INT32)
            out->i = (int)l;
        else
            out->l = l;
        return SV_OK;
    }
    case SV_PARAM_BOOL:
        if (!json_is_boolean(v))
            return sv_fail(e, path, "expected true or false, got %s", sv_json_kind(v));
        out->i = json_is_true(v);
        return SV_OK;
    case SV_PARAM_ENUM: {
        char list[400];
        size_t n = 0;
        list[0] = '\0';
        for (const char *const *c = s->choices; c && *c && n < sizeof list; c++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%s\"",
                                  c == s->choices ? "" : ", ", *c);
        if (!json_is_string(v))
            return sv_fail(e, path, "expected a string, one of %s; got %s", list,
                           sv_json_kind(v));
        const char *str = json_string_value(v);
        for (int i = 0; s->choices && s->choices[i]; i++)
            if (strcmp(s->choices[i], str) == 0) {
                out->i = i;
                return SV_OK;
            }
        const char *near = sv_nearest_name(str, s->choices);
        if (near)
            return sv_fail(e, path, "unknown choice \"%.40s\", expected one of %s; did you mean "
                           "\"%s\"?", str, list, near);
        return sv_fail(e, path, "unknown choice \"%.40s\", expected one of %s", str, list);
    }
    case SV_PARAM_SEED: {
        double x;
        if (!json_is_number(v))
            return sv_fail(e, path, "expected a non-negative integer, got %s", sv_json_kind(v));
        if (!integral(v, &x) || x < 0)
            return sv_fail(e, path, "expected a non-negative integer, got %s",
                           sv_fmt_number(num, sizeof num, json_number_value(v)));
        if (!json_is_integer(v) && x >= TWO_POW_63)
            return sv_fail(e, path, "seed too large, the limit is 2^63 - 1");
        out->u = json_is_integer(v) ? (uint64_t)json_integer_value(v) : (uint64_t)x;
        return SV_OK;
    }
    default:
        break;
    }
    return sv_fail(e, path, "bad parameter table (type %d)", (int)s->type);
}

static void store_scalar(const sv_param_spec *s, const param_value *val, void *settings)
{
    switch (s->type) {
    case SV_PARAM_NUMBER: *FIELD(double, settings, s) = val->d; break;
    case SV_PARAM_INT: *FIELD(long, settings, s) = val->l; break;
    case SV_PARAM_INT32:
    case SV_PARAM_BOOL:
    case SV_PARAM_ENUM: *FIELD(int, settings, s) = val->i; break;
    case SV_PARAM_SEED: *FIELD(uint64_t, settings, s) = val->u; break;
    default: break;
    }
}

/* The names of a table as a NULL-terminated list (for unknown-name messages). */
static const char **table_names(const sv_param_spec *specs)
{
    int n = sv_params_count(specs);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    for (int i = 0; names && i < n; i++)
        names[i] = specs[i].name;
    return names;
}

/* Decodes the object obj at path by the table. With apply 0 it only checks (settings is read
 * for the current values); with apply 1 it stores (every value was checked before). Unknown
 * members are reported first, then the members in table order. */
static int decode_table(const sv_param_spec *specs, const json_t *obj, const char *path,
                        const unknown_words *words, void *settings, int apply, sv_err *e)
{
    char sub[sizeof e->field];
    const char *key;
    json_t *v;
    if (!apply) {
        json_object_foreach((json_t *)obj, key, v) {
            if (sv_params_find(specs, key))
                continue;
            const char **names = table_names(specs);
            char msg[sizeof e->msg];
            sv_unknown_text(msg, sizeof msg, words->what, words->label, key, names);
            free(names);
            sv_json_path_key(sub, sizeof sub, path, key);
            return sv_fail(e, sub, "%s", msg);
        }
    }
    param_value val;
    for (const sv_param_spec *s = specs; s && s->name; s++) {
        v = json_object_get(obj, s->name);
        sv_json_path_key(sub, sizeof sub, path, s->name);
        if (!v) {
            if (!apply && (s->flags & SV_PARAM_REQUIRED))
                return sv_fail(e, sub, "required");
            continue;
        }
        switch (s->type) {
        case SV_PARAM_SCHEDULE: {
            sv_schedule sch = *CFIELD(sv_schedule, settings, s);
            if (sv_schedule_from_json(v, sub, &sch, apply ? NULL : e) != SV_OK)
                return SV_EINVAL;
            if (apply)
                *FIELD(sv_schedule, settings, s) = sch;
            break;
        }
        case SV_PARAM_OBJECT:
            if (json_is_null(v))
                break; /* null keeps the defaults, as for params itself */
            if (!json_is_object(v))
                return sv_fail(e, sub, "expected an object, got %s", sv_json_kind(v));
            if (decode_table(s->fields, v, sub, words, FIELD(char, settings, s), apply, e) !=
                SV_OK)
                return SV_EINVAL;
            break;
        default:
            if (decode_scalar(s, v, sub, settings, &val, apply ? NULL : e) != SV_OK)
                return SV_EINVAL;
            if (apply)
                store_scalar(s, &val, settings);
        }
    }
    return SV_OK;
}

int sv_params_decode(const sv_param_spec *specs, const json_t *params, void *settings, sv_err *e)
{
    if (!params || json_is_null(params))
        return SV_OK;
    if (!json_is_object(params))
        return sv_fail(e, "/params", "expected an object, got %s", sv_json_kind(params));
    /* Check all (so a rejected request leaves *settings as it was), then store all. */
    if (decode_table(specs, params, "/params", &params_words, settings, 0, e) != SV_OK)
        return SV_EINVAL;
    decode_table(specs, params, "/params", &params_words, settings, 1, NULL);
    return SV_OK;
}

int sv_params_decode_at(const sv_param_spec *specs, const json_t *v, const char *path,
                        void *out, sv_err *e)
{
    if (!json_is_object(v))
        return sv_fail(e, path, "expected an object, got %s", sv_json_kind(v));
    if (decode_table(specs, v, path, &field_words, out, 0, e) != SV_OK)
        return SV_EINVAL;
    decode_table(specs, v, path, &field_words, out, 1, NULL);
    return SV_OK;
}

/* ============================================================================================
 * Encoder and table check
 * ========================================================================================== */

static json_t *encode_one(const sv_param_spec *s, const void *settings)
{
    switch (s->type) {
    case SV_PARAM_NUMBER: {
        double x = *CFIELD(double, settings, s);
        return isfinite(x) ? json_real(x) : json_null();
    }
    case SV_PARAM_INT:
        return json_integer((json_int_t)*CFIELD(long, settings, s));
    case SV_PARAM_INT32:
        return json_integer((json_int_t)*CFIELD(int, settings, s));
    case SV_PARAM_BOOL:
        return json_boolean(*CFIELD(int, settings, s));
    case SV_PARAM_ENUM: {
        int idx = *CFIELD(int, settings, s), n = 0;
        while (s->choices && s->choices[n])
            n++;
        return idx >= 0 && idx < n ? json_string(s->choices[idx]) : json_null();
    }
    case SV_PARAM_SEED: {
        uint64_t x = *CFIELD(uint64_t, settings, s);
        return x <= INT64_MAX ? json_integer((json_int_t)x) : json_real((double)x);
    }
    case SV_PARAM_SCHEDULE:
        return sv_schedule_to_json(CFIELD(sv_schedule, settings, s));
    case SV_PARAM_OBJECT:
        return encode_table(s->fields, CFIELD(char, settings, s));
    }
    return json_null();
}

static json_t *encode_table(const sv_param_spec *specs, const void *settings)
{
    json_t *o = json_object();
    for (const sv_param_spec *s = specs; o && s && s->name; s++)
        if (json_object_set_new(o, s->name, encode_one(s, settings)) != 0) {
            json_decref(o);
            o = NULL;
        }
    return o;
}

json_t *sv_params_encode(const sv_param_spec *specs, const void *settings)
{
    return encode_table(specs, settings);
}

int sv_params_check(const sv_param_spec *specs, const void *settings, sv_err *e)
{
    return sv_params_validate(specs, settings, "/params", e);
}
