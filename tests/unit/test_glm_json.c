/* test_glm_json.c - the shared readers of linear-model problems (api/glm_json.c): loss name,
 * ridge weight, integer members and seeds, logistic labels, x0, and the stored size of an
 * accepted matrix. Each case goes through every codec that reads the member, and pins the error
 * path and text that clients saw before the codecs shared the readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "api/codec.h"
#include "api/glm_json.h"

extern const sv_codec sv_codec_ef21;
extern const sv_codec sv_codec_bip;
extern const sv_codec sv_codec_lion;
extern const sv_codec sv_codec_blockwise;
extern const sv_codec sv_codec_mfac;

static const sv_codec_env env_ok = {100000, 10000000, SOLVD_REPO_DATA};
static const sv_codec_env env_small = {100000, 3, SOLVD_REPO_DATA};

typedef struct {
    const sv_codec *codec;
    const sv_codec_env *env;
    const char *problem;
    const char *field, *msg;   /* NULL: accepted */
} pin;

#define LOSS_MSG "must be \"squared\" or \"logistic\""
#define EF_C "{\"clients\": [{\"A\": [[1, 2]], \"b\": [1]}], "
#define EF_G "{\"generate\": {\"clients\": 2, \"rows_per_client\": 3, \"dim\": 2, "
#define EF_D "{\"dataset\": {\"name\": \"breast_cancer\", \"clients\": 2, "
#define LI_A "{\"A\": [[1, 2]], \"b\": [1], "
#define LI_G "{\"generate\": {\"rows\": 3, \"dim\": 2, "
#define BW_B "{\"blocks\": [{\"A\": [[1, 2]], \"b\": [1], \"A_val\": [[1, 2]], \"b_val\": [1]}], "
#define BW_G "{\"generate\": {\"blocks\": 2, \"rows\": 3, \"dim\": 2, "
#define BP_A "{\"A\": [[1, 2]], \"b\": [1], \"A_val\": [[1, 2]], \"b_val\": [1], \"k\": 1, "
#define BP_G "{\"generate\": {\"rows\": 3, \"dim\": 2, \"support\": 1, "
#define BP_D "{\"k\": 2, \"dataset\": {\"name\": \"breast_cancer\", "
#define MF_A "{\"A\": [[1, 2]], \"b\": [1], "
#define MF_G "{\"generate\": {\"rows\": 3, \"dim\": 2, "
#define CSR1 "{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 1], \"indices\": [0], \"data\": [1]}"

static const pin pins[] = {
    /* loss */
    {&sv_codec_ef21, &env_ok, EF_C "\"loss\": \"hinge\"}", "/problem/loss", LOSS_MSG},
    /* the generate object is decoded by its table (core/models/gen_glm.c): the table's words */
    {&sv_codec_ef21, &env_ok, EF_G "\"loss\": 1}}", "/problem/generate/loss",
     "expected a string, one of \"squared\", \"logistic\"; got an integer"},
    {&sv_codec_ef21, &env_ok, EF_D "\"loss\": \"l1\"}}", "/problem/dataset/loss", LOSS_MSG},
    {&sv_codec_lion, &env_ok, LI_A "\"loss\": \"hinge\"}", "/problem/loss", LOSS_MSG},
    {&sv_codec_lion, &env_ok, LI_G "\"loss\": \"hinge\"}}", "/problem/generate/loss",
     "unknown choice \"hinge\", expected one of \"squared\", \"logistic\""},
    {&sv_codec_blockwise, &env_ok, BW_B "\"loss\": \"hinge\"}", "/problem/loss", LOSS_MSG},
    /* blockwise's generate object is decoded by its table (core/models/bl_multiblock.c) */
    {&sv_codec_blockwise, &env_ok, BW_G "\"loss\": []}}", "/problem/generate/loss",
     "expected a string, one of \"squared\", \"logistic\"; got an array"},
    {&sv_codec_bip, &env_ok, BP_A "\"loss\": \"hinge\"}", "/problem/loss", LOSS_MSG},
    /* bip's generate object is decoded by its table (core/solvers/bilevel/bip_gen.c) */
    {&sv_codec_bip, &env_ok, BP_G "\"loss\": \"hinge\"}}", "/problem/generate/loss",
     "unknown choice \"hinge\", expected one of \"squared\", \"logistic\""},
    {&sv_codec_bip, &env_ok, BP_D "\"loss\": \"hinge\"}}", "/problem/dataset/loss", LOSS_MSG},
    {&sv_codec_mfac, &env_ok, MF_A "\"loss\": \"hinge\"}", "/problem/loss", LOSS_MSG},
    {&sv_codec_mfac, &env_ok, MF_G "\"loss\": \"hinge\"}}", "/problem/generate/loss",
     "unknown choice \"hinge\", expected one of \"squared\", \"logistic\""},
    /* lambda */
    {&sv_codec_mfac, &env_ok, MF_A "\"lambda\": -1}", "/problem/lambda", "must be >= 0, got -1"},
    {&sv_codec_mfac, &env_ok, MF_G "\"lambda\": -3}}", "/problem/generate/lambda",
     "out of range: -3, must be >= 0"},
    {&sv_codec_mfac, &env_ok, MF_G "\"lambda\": \"a\"}}", "/problem/generate/lambda",
     "expected a number, got a string"},
    {&sv_codec_mfac, &env_ok, MF_G "\"condition\": 0.5}}", "/problem/generate/condition",
     "out of range: 0.5, must be in [1, 1000000000000]"},
    {&sv_codec_mfac, &env_ok, MF_G "\"correlation\": 1}}", "/problem/generate/correlation",
     "out of range: 1, must be in [0, 0.9999999999999999]"},
    {&sv_codec_ef21, &env_ok, EF_C "\"lambda\": -1}", "/problem/lambda", "must be >= 0, got -1"},
    {&sv_codec_ef21, &env_ok, EF_G "\"lambda\": -0.5}}", "/problem/generate/lambda",
     "out of range: -0.5, must be >= 0"},
    {&sv_codec_ef21, &env_ok, EF_D "\"lambda\": \"x\"}}", "/problem/dataset/lambda",
     "expected a number, got a string"},
    {&sv_codec_lion, &env_ok, LI_A "\"lambda\": -1}", "/problem/lambda", "must be >= 0, got -1"},
    {&sv_codec_lion, &env_ok, LI_G "\"lambda\": -2}}", "/problem/generate/lambda",
     "out of range: -2, must be >= 0"},
    {&sv_codec_blockwise, &env_ok, BW_B "\"lambda\": -1}", "/problem/lambda",
     "must be >= 0, got -1"},
    {&sv_codec_blockwise, &env_ok, BW_G "\"lambda\": true}}", "/problem/generate/lambda",
     "expected a number, got a boolean"},
    {&sv_codec_ef21, &env_ok, EF_C "\"lambda\": 0.25}", NULL, NULL},
    /* seeds and other integer members */
    {&sv_codec_ef21, &env_ok, EF_G "\"seed\": -1}}", "/problem/generate/seed",
     "expected a non-negative integer, got -1"},
    {&sv_codec_ef21, &env_ok, EF_D "\"seed\": 1.5}}", "/problem/dataset/seed",
     "expected an integer, got 1.5"},
    {&sv_codec_lion, &env_ok, LI_G "\"seed\": -1}}", "/problem/generate/seed",
     "expected a non-negative integer, got -1"},
    {&sv_codec_blockwise, &env_ok, BW_G "\"seed\": -3}}", "/problem/generate/seed",
     "expected a non-negative integer, got -3"},
    {&sv_codec_bip, &env_ok, BP_G "\"seed\": -1}}", "/problem/generate/seed",
     "expected a non-negative integer, got -1"},
    {&sv_codec_bip, &env_ok, BP_D "\"seed\": \"1\"}}", "/problem/dataset/seed",
     "expected an integer, got a string"},
    {&sv_codec_ef21, &env_ok, EF_G "\"seed\": 7}}", NULL, NULL},
    {&sv_codec_bip, &env_ok, "{\"generate\": {\"rows\": 3, \"dim\": 2}}",
     "/problem/generate/support", "required"},
    {&sv_codec_blockwise, &env_ok, "{\"generate\": {\"blocks\": 0, \"rows\": 3, \"dim\": 2}}",
     "/problem/generate/blocks", "out of range: 0, must be in [1, 2147483647]"},
    {&sv_codec_mfac, &env_ok, MF_G "\"seed\": -1}}", "/problem/generate/seed",
     "expected a non-negative integer, got -1"},
    /* logistic labels */
    {&sv_codec_mfac, &env_ok, "{\"A\": [[1], [2]], \"b\": [1, -2], \"loss\": \"logistic\"}",
     "/problem/b/1", "logistic labels must be -1 or 1, got -2"},
    /* sample weights */
    {&sv_codec_lion, &env_ok, "{\"A\": [[1], [2]], \"b\": [1, 2], \"w\": [1, -1]}", "/problem/w/1",
     "sample weights must be >= 0"},
    {&sv_codec_lion, &env_ok, "{\"A\": [[1], [2]], \"b\": [1, 2], \"w\": [1]}", "/problem/w",
     "expected 2 entries, got 1"},
    {&sv_codec_lion, &env_ok, "{\"A\": [[1], [2]], \"b\": [1, 2], \"w\": [0, 2]}", NULL, NULL},
    {&sv_codec_mfac, &env_ok, "{\"A\": [[1], [2]], \"b\": [1, 2], \"w\": [-1, 1]}", "/problem/w/0",
     "sample weights must be >= 0"},
    {&sv_codec_mfac, &env_ok, "{\"A\": [[1], [2]], \"b\": [1, 2], \"w\": [1, 2, 3]}",
     "/problem/w", "expected 2 entries, got 3"},
    {&sv_codec_ef21, &env_ok,
     "{\"clients\": [{\"A\": [[1], [2]], \"b\": [1, 0]}], \"loss\": \"logistic\"}",
     "/problem/clients/0/b/1", "logistic labels must be -1 or 1, got 0"},
    {&sv_codec_lion, &env_ok, "{\"A\": [[1], [2]], \"b\": [-1, 2], \"loss\": \"logistic\"}",
     "/problem/b/1", "logistic labels must be -1 or 1, got 2"},
    {&sv_codec_blockwise, &env_ok,
     "{\"blocks\": [{\"A\": [[1]], \"b\": [1], \"A_val\": [[1], [2]], \"b_val\": [1, 0.5]}], "
     "\"loss\": \"logistic\"}", "/problem/blocks/0/b_val/1",
     "logistic labels must be -1 or 1, got 0.5"},
    {&sv_codec_bip, &env_ok,
     "{\"A\": [[1]], \"b\": [3], \"A_val\": [[1]], \"b_val\": [1], \"k\": 1, "
     "\"loss\": \"logistic\"}", "/problem/b/0", "logistic labels must be -1 or 1, got 3"},
    /* x0 */
    {&sv_codec_ef21, &env_ok, EF_C "\"x0\": [1]}", "/problem/x0", "expected 2 entries, got 1"},
    {&sv_codec_ef21, &env_ok, EF_G "\"seed\": 1}, \"x0\": [1, 2, 3]}", "/problem/x0",
     "expected 2 entries, got 3"},
    {&sv_codec_lion, &env_ok, LI_A "\"x0\": [1]}", "/problem/x0", "expected 2 entries, got 1"},
    {&sv_codec_lion, &env_ok, LI_G "\"seed\": 1}, \"x0\": [1, null]}", "/problem/x0/1",
     "expected a number, got null"},
    {&sv_codec_ef21, &env_ok, EF_C "\"x0\": [1, 2]}", NULL, NULL},
    {&sv_codec_mfac, &env_ok, MF_A "\"x0\": [1, 2, 3]}", "/problem/x0",
     "expected 2 entries, got 3"},
    {&sv_codec_mfac, &env_ok, MF_G "\"seed\": 2}, \"x0\": [1, 2]}", NULL, NULL},
    /* the explicit linear model (A, b and the optional w, loss, lambda, x0), read alike by both */
    {&sv_codec_lion, &env_ok, LI_A "\"z\": 1}", "/problem/z",
     "unknown field (allowed: A, b, w, loss, lambda, x0)"},
    {&sv_codec_mfac, &env_ok, MF_A "\"z\": 1}", "/problem/z",
     "unknown field (allowed: A, b, w, loss, lambda, x0)"},
    {&sv_codec_lion, &env_ok, "{\"A\": [[1, 2]]}", "/problem/b", "required"},
    {&sv_codec_mfac, &env_ok, "{\"A\": [[1, 2]]}", "/problem/b", "required"},
    {&sv_codec_lion, &env_ok, "{\"A\": [[1, 2]], \"b\": [1, 2]}", "/problem/b",
     "expected 1 entries, got 2"},
    {&sv_codec_mfac, &env_ok, "{\"A\": [[1, 2]], \"b\": [1, 2]}", "/problem/b",
     "expected 1 entries, got 2"},
    {&sv_codec_lion, &env_ok, "{\"A\": 3, \"b\": [1]}", "/problem/A",
     "expected a matrix (an array of rows, or an object with rows, cols and data), got an integer"},
    {&sv_codec_mfac, &env_ok, "{\"A\": 3, \"b\": [1]}", "/problem/A",
     "expected a matrix (an array of rows, or an object with rows, cols and data), got an integer"},
    {&sv_codec_lion, &env_ok, LI_A "\"loss\": \"logistic\", \"lambda\": 0.5, \"w\": [2]}", NULL,
     NULL},
    {&sv_codec_mfac, &env_ok, MF_A "\"loss\": \"logistic\", \"lambda\": 0.5, \"w\": [2]}", NULL,
     NULL},
    /* stored entries: sparse input counts its data, dense rows * cols */
    {&sv_codec_ef21, &env_small,
     "{\"clients\": [{\"A\": " CSR1 ", \"b\": [1, 1]}, {\"A\": " CSR1 ", \"b\": [1, 1]}, "
     "{\"A\": " CSR1 ", \"b\": [1, 1]}]}", NULL, NULL},
    {&sv_codec_ef21, &env_small,
     "{\"clients\": [{\"A\": [[1, 2]], \"b\": [1]}, {\"A\": [[1, 2]], \"b\": [1]}]}",
     "/problem/clients/1/A", "the clients hold more than the limit of 3 matrix entries"},
    {&sv_codec_bip, &env_small,
     "{\"A\": " CSR1 ", \"b\": [1, 1], \"A_val\": " CSR1 ", \"b_val\": [1, 1], \"k\": 1}",
     NULL, NULL},
    {&sv_codec_bip, &env_small, BP_A "\"loss\": \"squared\"}", "/problem/A_val",
     "the matrices hold more than the limit of 3 entries"},
    {&sv_codec_blockwise, &env_small,
     "{\"blocks\": [{\"A\": " CSR1 ", \"b\": [1, 1], \"A_val\": " CSR1 ", \"b_val\": [1, 1]}]}",
     NULL, NULL},
    {&sv_codec_blockwise, &env_small, BW_B "\"mu\": 0.5}", "/problem/blocks/0/A_val",
     "the blocks hold more than the limit of 3 matrix entries"},
};

static void test_codec_pins(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++) {
        const pin *p = &pins[i];
        json_error_t je;
        json_t *pb = json_loads(p->problem, 0, &je);
        if (!pb)
            fail_msg("bad test JSON %s: %s", p->problem, je.text);
        sv_err e;
        memset(&e, 0, sizeof e);
        int rc = p->codec->validate(pb, NULL, p->env, &e);
        json_decref(pb);
        int ok = p->field ? rc == SV_EINVAL && strcmp(e.field, p->field) == 0 &&
                                strcmp(e.msg, p->msg) == 0
                          : rc == SV_OK;
        if (!ok) {
            print_error("%s %s: expected %s: %s; got rc %d at %s: %s\n", p->codec->name,
                        p->problem, p->field ? p->field : "ok", p->msg ? p->msg : "", rc,
                        e.field, e.msg);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
