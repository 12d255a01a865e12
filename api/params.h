/* params.h - the JSON side of the declarative parameter tables of core/params.h: from one table
 * come the JSON Schema (defaults read from a struct filled from the table), the strict decoder
 * (unknown names, wrong types, out-of-range values and missing required members are rejected
 * with the member's path; the message lists every known name and a near miss) and the encoder
 * (settings echoed in results). The same decoder reads "params" and the table-driven problem
 * members such as "/problem/generate". */
#ifndef SV_API_PARAMS_H
#define SV_API_PARAMS_H

#include <stddef.h>
#include <jansson.h>
#include "core/params.h"
#include "core/solver.h"

/* JSON Schema object for the table, defaults taken from *defaults (NUMBER NaN: null, "automatic";
 * REQUIRED members listed in "required" and given no default). New reference. */
json_t *sv_params_schema(const sv_param_spec *specs, const void *defaults);

/* Decodes params (object or NULL) into *settings, which the caller has filled with defaults.
 * Returns SV_OK or SV_EINVAL with e->field = "/params/<name>". NULL, JSON null and {} keep
 * every default. Unknown names are reported first (the message lists the known ones and a near
 * miss), then the values are checked in table order: NUMBER finite and in range (null only
 * where the current value is NaN, and it stays NaN); INT an integer (3.0 counts) in range;
 * BOOL true/false; ENUM one of the choices' names; SEED an integer in [0, 2^63); SCHEDULE a kind
 * name or object (api/schedule_json.h); OBJECT recursively. On failure *settings is left exactly
 * as it was. */
int sv_params_decode(const sv_param_spec *specs, const json_t *params, void *settings, sv_err *e);

/* The same for a table-driven object at path (a problem member such as "/problem/generate"):
 * v must be an object; unknown members are reported as "unknown field (allowed: ...)", a missing
 * REQUIRED member as "required". */
int sv_params_decode_at(const sv_param_spec *specs, const json_t *v, const char *path,
                        void *out, sv_err *e);

/* The settings as a JSON object (echoed in results). New reference. */
json_t *sv_params_encode(const sv_param_spec *specs, const void *settings);

/* Checks that the values in *settings satisfy the table (core's sv_params_validate at
 * "/params"): a codec's unit test calls it on its *_settings_default(). */
int sv_params_check(const sv_param_spec *specs, const void *settings, sv_err *e);

#endif
