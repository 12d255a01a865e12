/* expr_problem.h - the JSON decoder of `expr` problems (docs/expr.md, "The problem JSON"), shared by
 * every solver that takes a generic smooth problem: it reads the variables (in document order),
 * their bounds and start, x0, the objective and the constraint strings, checks them with errors
 * that name the JSON path ("/problem/equalities/1", "/problem/variables/x/lower/0") and, for a
 * string that does not compile, the character position ("at 4: unknown name 'y'"), and compiles
 * them into a core/expr/expr.h problem. What a solver cannot handle (inequalities, bounds) it declares
 * in the options, and the decoder rejects it naming the field. */
#ifndef SV_CODEC_EXPR_PROBLEM_H
#define SV_CODEC_EXPR_PROBLEM_H

#include <jansson.h>

#include "api/codec.h"
#include "core/expr/expr.h"

typedef struct {
    int allow_inequalities;          /* 0: a non-empty "inequalities" fails at /problem/inequalities */
    int allow_bounds;                /* 0: any finite lower or upper bound fails, naming it */
    int objective_optional;          /* 1: "objective" may be absent or null (f = 0) */
    const char *const *extra_keys;   /* NULL-terminated further top-level keys the caller reads
                                      * itself (they are then not "unknown"); may be NULL */
    const char *solver;              /* solver name for rejections ("constrained.eal_sketch");
                                      * may be NULL */
} sv_expr_problem_opts;

/* Everything allowed, objective required, no extra keys. */
void sv_expr_problem_opts_default(sv_expr_problem_opts *o);

/* Decodes `problem` (the job's "problem" object) and compiles it into *out (owned by the caller,
 * sv_expr_problem_free it). The start of the problem (sv_expr_problem_start) is "x0" when given,
 * else the per-variable "start", else 0 moved into the bounds. opts NULL means the defaults; env
 * may be NULL (then only SV_EXPR_MAX_DIM limits sizes; env->max_dim also bounds the number of
 * variables, the total dimension and the number of constraints).
 * Returns SV_OK; SV_EINVAL with e->field a path from the job root and e->msg the reason (for a
 * string that does not compile: "at <pos>: <reason>", pos a 0-based character offset); or
 * SV_ENOMEM. where (may be NULL) gets the structured expression error (code SV_EXPR_OK when the
 * failure was not inside a string). *out is NULL on failure. */
int sv_expr_problem_decode(const json_t *problem, const sv_codec_env *env,
                           const sv_expr_problem_opts *opts, sv_expr_problem **out, sv_err *e,
                           sv_expr_error *where);

/* The same checks, nothing kept: for a codec's validate. */
int sv_expr_problem_check(const json_t *problem, const sv_codec_env *env,
                          const sv_expr_problem_opts *opts, sv_err *e, sv_expr_error *where);

/* JSON Schema of the problem shape (loose: the decoder is authoritative). New reference. */
json_t *sv_expr_problem_schema(void);

/* The top-level members the decoder reads ("variables", "x0", "objective", "equalities",
 * "inequalities"), NULL-terminated, and the JSON Schema text of their "properties": for a codec's
 * problem forms table (api/forms.h), whose expr form then accepts and documents exactly what
 * the decoder does (a solver that cannot take inequalities still lists them, so that the decoder
 * names why it refuses them). */
extern const char *const sv_expr_problem_members[];
extern const char sv_expr_problem_properties[];

/* The flat x as {"<name>": number (size 1) or array (size > 1), ...} in declaration order;
 * non-finite entries become null. New reference, NULL when out of memory. */
json_t *sv_expr_problem_values_json(const sv_expr_problem *p, const double *x);

#endif
