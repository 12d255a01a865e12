/* oas.h - responses checked against docs/openapi.json: a validator for the subset of OpenAPI 3.0
 * Schema Objects the description uses (type, properties, required, additionalProperties, items,
 * enum, oneOf/anyOf/allOf, nullable, $ref, and the numeric, length and count bounds), read
 * strictly as OAS 3.0.3 says: `nullable` admits null only beside a `type` in the same schema, so
 * `{"allOf": [{"$ref": ...}], "nullable": true}` does not accept null. A keyword outside the
 * subset is itself an error, so the validator cannot silently check less than the document says.
 *
 * The harness runs it_oas_check_response on every response it receives; the tests that want an
 * answer checked by hand (and the validator's own test) call the functions directly. Thread-safe
 * once the document is loaded (it_oas_doc loads it under pthread_once). */
#ifndef SV_IT_OAS_H
#define SV_IT_OAS_H

#include <jansson.h>
#include <stddef.h>

/* docs/openapi.json of the source tree (borrowed; NULL if it cannot be read, with the reason on
 * stderr). */
const json_t *it_oas_doc(void);

/* Validates inst against schema, resolving "#/..." references in doc. Returns 0, or -1 with the
 * first mismatch in err ("<instance pointer>: <reason>"). */
int it_oas_validate(const json_t *doc, const json_t *schema, const json_t *inst, char *err,
                    size_t n);

/* The response of method path (a query string is ignored) with this status, content type (may be
 * NULL) and body (len bytes, JSON or not) against the operation the document describes: the
 * status must be one of its responses, the content type one of that response's media types, and
 * a JSON body must match the schema. A path or method the document does not describe must have
 * been answered with a 4xx Error. Returns 0, or -1 with the reason in err. */
int it_oas_check_response(const char *method, const char *path, long status,
                          const char *content_type, const char *body, size_t len, char *err,
                          size_t n);

/* Mismatches found by the harness's checks so far (every response it receives), and the
 * messages of the last few on stderr as they happen. */
int it_oas_failures(void);
void it_oas_record_failure(const char *method, const char *path, long status, const char *why,
                           const char *body);

#endif
