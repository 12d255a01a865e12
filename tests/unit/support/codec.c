/* codec.c - see codec.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "codec.h"
#include "json.h"
#include "paths.h"

const sv_codec_env sv_test_codec_env = {100000, 10000000, SOLVD_REPO_DATA};

void sv_test_codec_error(const sv_codec *c, const char *problem, const char *params,
                         const char *field)
{
    json_t *pb = sv_test_json(problem), *pa = sv_test_json(params);
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = c->validate(pb, pa, &sv_test_codec_env, &e);
    if (rc != SV_EINVAL || strcmp(e.field, field) != 0)
        fail_msg("%s: %s %s: expected the error at %s, got rc %d at '%s' (%s)", c->name, problem,
                 params ? params : "", field, rc, e.field, e.msg);
    json_decref(pb);
    json_decref(pa);
}

void sv_test_codec_ok(const sv_codec *c, const char *problem, const char *params)
{
    json_t *pb = sv_test_json(problem), *pa = sv_test_json(params);
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = c->validate(pb, pa, &sv_test_codec_env, &e);
    if (rc != SV_OK)
        fail_msg("%s: %s %s: rejected with rc %d at '%s' (%s)", c->name, problem,
                 params ? params : "", rc, e.field, e.msg);
    json_decref(pb);
    json_decref(pa);
}

json_t *sv_test_codec_run_json(const sv_codec *c, const json_t *problem, const json_t *params,
                               const sv_monitor *mon)
{
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = c->validate(problem, params, &sv_test_codec_env, &e);
    if (rc != SV_OK)
        fail_msg("%s: validate failed: rc %d at '%s' (%s)", c->name, rc, e.field, e.msg);
    json_t *res = NULL;
    rc = c->run(problem, params, &sv_test_codec_env, mon, &res, &e);
    if (rc != SV_OK)
        fail_msg("%s: run failed: rc %d at '%s' (%s)", c->name, rc, e.field, e.msg);
    assert_non_null(res);
    return res;
}

json_t *sv_test_codec_run(const sv_codec *c, const char *problem, const char *params,
                          const sv_monitor *mon)
{
    json_t *pb = sv_test_json(problem), *pa = sv_test_json(params);
    json_t *res = sv_test_codec_run_json(c, pb, pa, mon);
    json_decref(pb);
    json_decref(pa);
    return res;
}
