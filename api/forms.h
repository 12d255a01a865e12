/* forms.h - problem forms: a solver's "problem" takes one of a few shapes (explicit data, a
 * generated instance, a named data set), told apart by one key member ("clients", "generate",
 * "dataset"). One table of forms per codec drives the choice (exactly one key present), the
 * unknown-member check of the chosen form, the decoding of a table-driven key member (the
 * "generate" object, by its core parameter table) and the problem's JSON Schema, a "oneOf" of
 * the forms, so that the documented and the accepted problems cannot drift apart. */
#ifndef SV_FORMS_H
#define SV_FORMS_H

#include <stddef.h>
#include <jansson.h>
#include "core/params.h"
#include "core/solver.h"

typedef struct {
    const char *key;               /* the member that selects the form */
    const char *const *members;    /* every member the form accepts, key included; NULL-ended */
    const char *summary;           /* the form's "description" in the schema */
    const sv_param_spec *fields;   /* the key member is an object decoded by this table, or NULL */
    size_t fields_size;            /* sizeof the struct that table fills (for schema defaults) */
    const char *properties;        /* JSON text: {"member": schema, ...} for the members the table
                                    * does not describe (matrices, vectors), or NULL */
} sv_problem_form;

/* The end of a forms table. */
#define SV_FORMS_END {0}

/* Finds which form problem has: exactly one key must be present ("give only one of a, b and c"
 * / "needs one of a, b or c" at /problem), then its members are checked ("unknown field
 * (allowed: ...)"). problem must be an object. Sets *which to the form's index. SV_OK or
 * SV_EINVAL. */
int sv_forms_pick(const sv_problem_form *forms, const json_t *problem, int *which, sv_err *e);

/* Decodes the key member of form f (one with a fields table) into out, which the caller has
 * filled with sv_params_defaults(f->fields, out); errors at "/problem/<key>/<name>". */
int sv_forms_decode_key(const sv_problem_form *f, const json_t *problem, void *out, sv_err *e);

/* The problem's JSON Schema: {"oneOf": [one object schema a form]}, each form's key required and
 * its table's defaults shown. New reference, NULL when out of memory or a properties text does
 * not parse (a test checks every codec's). */
json_t *sv_forms_schema(const sv_problem_form *forms);

#endif
