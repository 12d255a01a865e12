/* codec.h - how a solver plugs into the API: one codec per solver in api/codecs/<name>.c turns
 * the job's JSON problem and params into core structs, calls the core solver, and turns its
 * output back into JSON. Codecs never do numerics themselves (generators live in core/).
 * The registry (api/registry.c) lists every codec named in api/solvers.def. */
#ifndef SV_CODEC_H
#define SV_CODEC_H

#include <jansson.h>
#include "core/params.h"
#include "core/solver.h"

/* Limits and environment a codec must respect; filled from the server configuration. */
typedef struct {
    long max_dim;          /* largest vector length / matrix dimension accepted */
    long max_entries;      /* largest number of stored matrix entries (dense rows*cols or nnz) */
    const char *data_dir;  /* directory of named data sets ("dataset" problems), may be NULL */
} sv_codec_env;

typedef struct sv_codec {
    const char *name;      /* "distributed.ef21" */
    const char *family;    /* "distributed" */
    const char *summary;   /* one sentence */
    const char *paper;     /* title, authors, venue, year */
    const char *doc;       /* the doc page, relative to the repository: "docs/solvers/distributed/ef21.md" */

    /* The solver's parameter table (core/params.h, beside its settings struct), the size of that
     * struct and a function that fills one with the defaults: the conformance test
     * (tests/unit/test_conformance.c) walks every codec with them. */
    const sv_param_spec *params;
    size_t settings_size;
    void (*settings_default)(void *settings);
    /* (The JSON Schema of "params" follows from these: sv_codec_params_schema.) */

    /* JSON Schema of "problem" (may be loose: the validator is authoritative). New reference. */
    json_t *(*problem_schema)(void);
    /* A complete job body without "solver": {"problem": {...}, "params": {...}} that finishes
     * in about a second. New reference. */
    json_t *(*example)(void);
    /* Checks problem and params completely (shapes, finiteness, unknown fields, limits) without
     * generating or solving anything. params may be NULL (all defaults). Returns SV_OK, or
     * SV_EINVAL with e->field a path from the job root ("/problem/A/3", "/params/gamma"). */
    int (*validate)(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    sv_err *e);
    /* Runs the job on the calling (worker) thread: decode, generate if asked, solve with the
     * monitor, encode. On SV_OK *result is a new JSON object that holds at least
     * "status" (sv_status_name), "iterations", "objective" and "solve_time_s"; a solve that
     * ended early (cancelled, max_iter, ...) is still SV_OK. Returns SV_E* when the call failed
     * (e says why). */
    int (*run)(const json_t *problem, const json_t *params, const sv_codec_env *env,
               const sv_monitor *mon, json_t **result, sv_err *e);
} sv_codec;

/* One line of api/solvers.def: the family and stem a solver is registered under, and its API
 * name "family.stem". The catalog tests check each codec against its entry. */
typedef struct {
    const char *family;
    const char *stem;
    const char *name;
} sv_solver_entry;

/* The entries of api/solvers.def in its order (the codecs' order), ended by a NULL name. */
const sv_solver_entry *sv_solver_entries(void);

/* All registered codecs, NULL-terminated, in the order of api/solvers.def (sorted by name). */
const sv_codec *const *sv_codecs(void);

/* JSON Schema of c's "params": its table with the defaults settings_default fills in, so that
 * the schema cannot drift from the decoder. New reference; NULL when out of memory. */
json_t *sv_codec_params_schema(const sv_codec *c);

/* The codec named name, or NULL. */
const sv_codec *sv_codec_find(const char *name);

#endif
