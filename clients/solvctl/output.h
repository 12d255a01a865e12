/* output.h - how solvctl prints what the API sent: numbers in the shortest text that reads back
 * to the same double (never %.17g noise such as 9.9999999999999995e-7), JSON documents written
 * with those numbers, members picked by --field, and the three output modes of -o. */
#ifndef SOLVCTL_OUTPUT_H
#define SOLVCTL_OUTPUT_H

#include <stdio.h>
#include <jansson.h>

typedef enum {
    SC_OUT_DEFAULT = 0,  /* each command's own view (a table, or a document for `result`) */
    SC_OUT_TABLE,        /* aligned columns, or `name  value` lines for one object */
    SC_OUT_FIELDS,       /* tab-separated, no header: `name<TAB>value` for one object */
    SC_OUT_JSON          /* compact JSON, one document per line */
} sc_output;

/* Parses "json", "table" or "fields"; returns 0, or -1 for anything else. */
int sc_output_parse(const char *s, sc_output *out);

/* Writes d as the shortest of %.15g, %.16g, %.17g that strtod reads back equal, with the
 * exponent's leading zeros dropped (1e-6, as the API writes it). json_real: a number without
 * '.' or exponent gets ".0", so that a JSON reader still sees a real. Returns buf. */
char *sc_fmt_double(double d, int json_real, char *buf, size_t n);

/* d in %.*g with prec significant digits, exponent without leading zeros (for short displays
 * such as the progress line). Returns buf. */
char *sc_fmt_short(double d, int prec, char *buf, size_t n);

/* Writes v as JSON to f: indent 0 = compact on one line, else that many spaces a level. */
void sc_json_write(FILE *f, const json_t *v, int indent);

/* A scalar as text for tables: strings without quotes, numbers by sc_fmt_double, null as "-";
 * arrays and objects as compact JSON. Returns a malloc'd string. */
char *sc_value_text(const json_t *v);

/* Looks up a dotted path ("smoothness.L") in doc; NULL when absent. Borrowed reference. */
json_t *sc_json_path(json_t *doc, const char *path);

/* A new object holding the members of doc named by paths[0..n) (keys: the paths as given).
 * Sets *missing to the first path doc lacks (then returns NULL). */
json_t *sc_pick(json_t *doc, char *const *paths, int n, const char **missing);

/* Prints one object in mode m: JSON (compact), `name  value` aligned (table), or
 * `name<TAB>value` lines (fields). Nested objects are flattened into dotted names. */
void sc_print_object(FILE *f, json_t *obj, sc_output m);

#endif
