/* params.h - the declarative parameter table: one table per settings struct (and per generated
 * problem form) describes each field: its JSON name, type, place in the struct, range, default,
 * choices, help line and whether it is required. The table is plain data owned by core, next to
 * the struct it describes; core validates settings and fills defaults from it, and api/ derives
 * the JSON Schema, the strict decoder and the encoder from the same table (api/params.h), so the
 * documented, accepted and checked values cannot drift apart. */
#ifndef SV_PARAMS_H
#define SV_PARAMS_H

#include <math.h>
#include <stddef.h>
#include "core/solver.h"

typedef enum {
    SV_PARAM_NUMBER,   /* double; a NaN default means "automatic" (JSON null) */
    SV_PARAM_INT,      /* long */
    SV_PARAM_BOOL,     /* int 0/1 */
    SV_PARAM_ENUM,     /* int: index into choices */
    SV_PARAM_SEED,     /* uint64_t, any integer in [0, 2^63) */
    SV_PARAM_INT32,    /* int (ranges must fit an int) */
    SV_PARAM_OBJECT,   /* a nested struct at offset, described by the table `fields` */
    SV_PARAM_SCHEDULE  /* an sv_schedule at offset (core/schedule.h): a kind name or an object */
} sv_param_type;

/* Flags. */
#define SV_PARAM_REQUIRED 1u  /* the member must be present (problem forms); no default */

typedef struct sv_param_spec {
    const char *name;             /* JSON member name */
    sv_param_type type;
    size_t offset;                /* offsetof(struct, field) */
    double min, max;              /* inclusive range for NUMBER, INT, INT32; -INFINITY / INFINITY
                                   * for an open end; min == max == 0 with min_exclusive 0
                                   * (both left out) means unbounded */
    int min_exclusive;            /* 1: value must be > min */
    const char *const *choices;   /* ENUM: NULL-terminated names */
    const char *help;             /* one line for the schema's "description" */
    double def;                   /* the default (ENUM: index of the choice; BOOL: 0/1;
                                   * SCHEDULE: the default kind, an sv_schedule_kind, the other
                                   * members from sv_schedule_default; 0 = constant); unused
                                   * for OBJECT (its fields have theirs) and REQUIRED members */
    unsigned flags;               /* SV_PARAM_REQUIRED */
    const struct sv_param_spec *fields; /* OBJECT: the nested table */
} sv_param_spec;

#define SV_PARAMS_END {0}

/* Entry constructors, so that tables read as one line a field: T is the struct type, f the
 * member; the JSON name is the member's own (SV_P_*) or given (SV_PN_*, name first). */
#define SV_PN_NUMBER(T, f, name_, lo, hi, dflt, help_) \
    {.name = (name_), .type = SV_PARAM_NUMBER, .offset = offsetof(T, f), .min = (lo), \
     .max = (hi), .def = (dflt), .help = (help_)}
/* A number that must be > lo. */
#define SV_PN_NUMBER_GT(T, f, name_, lo, hi, dflt, help_) \
    {.name = (name_), .type = SV_PARAM_NUMBER, .offset = offsetof(T, f), .min = (lo), \
     .max = (hi), .min_exclusive = 1, .def = (dflt), .help = (help_)}
#define SV_PN_INT(T, f, name_, lo, hi, dflt, help_) \
    {.name = (name_), .type = SV_PARAM_INT, .offset = offsetof(T, f), .min = (lo), .max = (hi), \
     .def = (dflt), .help = (help_)}
#define SV_PN_INT32(T, f, name_, lo, hi, dflt, help_) \
    {.name = (name_), .type = SV_PARAM_INT32, .offset = offsetof(T, f), .min = (lo), \
     .max = (hi), .def = (dflt), .help = (help_)}
/* A required INT32 (no default). */
#define SV_PN_INT32_REQ(T, f, name_, lo, hi, help_) \
    {.name = (name_), .type = SV_PARAM_INT32, .offset = offsetof(T, f), .min = (lo), \
     .max = (hi), .flags = SV_PARAM_REQUIRED, .help = (help_)}
#define SV_PN_BOOL(T, f, name_, dflt, help_) \
    {.name = (name_), .type = SV_PARAM_BOOL, .offset = offsetof(T, f), .def = (dflt), \
     .help = (help_)}
#define SV_PN_ENUM(T, f, name_, choices_, dflt, help_) \
    {.name = (name_), .type = SV_PARAM_ENUM, .offset = offsetof(T, f), .choices = (choices_), \
     .def = (dflt), .help = (help_)}
#define SV_PN_SEED(T, f, name_, dflt, help_) \
    {.name = (name_), .type = SV_PARAM_SEED, .offset = offsetof(T, f), .def = (dflt), \
     .help = (help_)}
#define SV_PN_SCHEDULE(T, f, name_, help_) \
    {.name = (name_), .type = SV_PARAM_SCHEDULE, .offset = offsetof(T, f), .help = (help_)}
/* A schedule whose default kind is not constant (core/schedule.h: SV_SCHEDULE_COSINE, ...). */
#define SV_PN_SCHEDULE_KIND(T, f, name_, kind_, help_) \
    {.name = (name_), .type = SV_PARAM_SCHEDULE, .offset = offsetof(T, f), .def = (kind_), \
     .help = (help_)}
#define SV_PN_OBJECT(T, f, name_, table, help_) \
    {.name = (name_), .type = SV_PARAM_OBJECT, .offset = offsetof(T, f), .fields = (table), \
     .help = (help_)}

#define SV_P_NUMBER(T, f, lo, hi, dflt, help_) SV_PN_NUMBER(T, f, #f, lo, hi, dflt, help_)
#define SV_P_NUMBER_GT(T, f, lo, hi, dflt, help_) SV_PN_NUMBER_GT(T, f, #f, lo, hi, dflt, help_)
#define SV_P_INT(T, f, lo, hi, dflt, help_) SV_PN_INT(T, f, #f, lo, hi, dflt, help_)
#define SV_P_INT32(T, f, lo, hi, dflt, help_) SV_PN_INT32(T, f, #f, lo, hi, dflt, help_)
#define SV_P_INT32_REQ(T, f, lo, hi, help_) SV_PN_INT32_REQ(T, f, #f, lo, hi, help_)
#define SV_P_BOOL(T, f, dflt, help_) SV_PN_BOOL(T, f, #f, dflt, help_)
#define SV_P_ENUM(T, f, choices_, dflt, help_) SV_PN_ENUM(T, f, #f, choices_, dflt, help_)
#define SV_P_SEED(T, f, dflt, help_) SV_PN_SEED(T, f, #f, dflt, help_)
#define SV_P_SCHEDULE(T, f, help_) SV_PN_SCHEDULE(T, f, #f, help_)
#define SV_P_SCHEDULE_KIND(T, f, kind_, help_) SV_PN_SCHEDULE_KIND(T, f, #f, kind_, help_)
#define SV_P_OBJECT(T, f, table, help_) SV_PN_OBJECT(T, f, #f, table, help_)

/* Fills every field the table describes with its default (OBJECT recursively, SCHEDULE with
 * sv_schedule_default and the entry's default kind); other members of the struct are left
 * alone. */
void sv_params_defaults(const sv_param_spec *specs, void *settings);

/* Checks that the values in *settings satisfy the table: ranges, enum indices, BOOL 0/1, seeds
 * below 2^63, finite numbers (NaN only where the default is NaN: automatic), nested objects
 * and schedules.
 * Errors name prefix + "/<name>" (prefix such as "/params"). Returns SV_OK or SV_EINVAL. */
int sv_params_validate(const sv_param_spec *specs, const void *settings, const char *prefix,
                       sv_err *e);

/* The entry named name, or NULL. */
const sv_param_spec *sv_params_find(const sv_param_spec *specs, const char *name);

/* Number of entries before SV_PARAMS_END. */
int sv_params_count(const sv_param_spec *specs);

/* ---- range text, shared with the decoder ---- */

/* 1 when s has a range (see min/max above). */
int sv_param_has_range(const sv_param_spec *s);
/* 1 when x lies in s's range (always, without one). */
int sv_param_in_range(const sv_param_spec *s, double x);
/* "in [0, 1]", "> 0", ">= 1", "<= 10", "in (0, 1]" into buf; returns buf. */
const char *sv_param_range_text(char *buf, size_t size, const sv_param_spec *s);
/* The shortest decimal text of x that reads back as x (1e-06 style, "inf", "nan"); returns buf. */
const char *sv_fmt_number(char *buf, size_t size, double x);

/* ---- unknown names ---- */

/* The name among the candidates closest to key (edit distance at most 2, or equal ignoring
 * case; names of up to 2 characters: a change of case only; of 3: one substitution), for "did
 * you mean" hints; NULL when none is close. candidates is NULL-terminated. */
const char *sv_nearest_name(const char *key, const char *const *candidates);

/* Writes "<what> (<label>: a, b, c)" and, when a candidate is close to key, "; did you mean
 * \"k\"?" into buf (the whole list: buf must be large, sv_err.msg is). Returns buf. */
const char *sv_unknown_text(char *buf, size_t size, const char *what, const char *label,
                            const char *key, const char *const *candidates);

#endif
