/* codec.h - driving a solver's codec (api/codec.h) from a unit test the way the server does:
 * validate the request, then run it, under one environment with generous limits and the shared
 * data sets. Failures name the codec, the request and the error's path and text. */
#ifndef SOLVD_TEST_SUPPORT_CODEC_H
#define SOLVD_TEST_SUPPORT_CODEC_H

#include <jansson.h>

#include "api/codec.h"

/* max_dim 100000, max_entries 10^7, data_dir SOLVD_REPO_DATA (support/paths.h). */
extern const sv_codec_env sv_test_codec_env;

/* Asserts that c->validate refuses problem/params (JSON texts; params may be NULL) with
 * SV_EINVAL at exactly the path field. */
void sv_test_codec_error(const sv_codec *c, const char *problem, const char *params,
                         const char *field);

/* Asserts that c->validate accepts problem/params (params may be NULL). */
void sv_test_codec_ok(const sv_codec *c, const char *problem, const char *params);

/* Validates, then runs problem/params (params may be NULL) with monitor mon (may be NULL);
 * either failing fails the test. Returns the result, owned by the caller. */
json_t *sv_test_codec_run(const sv_codec *c, const char *problem, const char *params,
                          const sv_monitor *mon);

/* The same for values the test already holds (borrowed; params may be NULL). */
json_t *sv_test_codec_run_json(const sv_codec *c, const json_t *problem, const json_t *params,
                               const sv_monitor *mon);

#endif
