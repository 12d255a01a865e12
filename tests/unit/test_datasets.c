/* test_datasets.c - the named data sets of "dataset" problems (api/datasets.c) and their use in
 * every codec that has the form: the error path and text of each way a name can be wrong stay
 * exactly what clients saw before the codecs shared one table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/codec.h"
#include "api/datasets.h"
#include "core/dataset.h"

extern const sv_codec sv_codec_ef21;
extern const sv_codec sv_codec_bip;
extern const sv_codec sv_codec_inexact;
extern const sv_codec sv_codec_lvhba;

static const sv_codec_env env_ok = {100000, 10000000, SOLVD_REPO_DATA};
static const sv_codec_env env_no_dir = {100000, 10000000, NULL};
static const sv_codec_env env_empty_dir = {100000, 10000000, ""};
/* An existing directory that holds no data set. */
static const sv_codec_env env_bare_dir = {100000, 10000000, SOLVD_TEST_DATA "/.."};

/* Validates problem (a JSON text) with codec and expects exactly field and msg. */
static void expect(const sv_codec *c, const sv_codec_env *env, const char *problem,
                   const char *field, const char *msg)
{
    json_error_t je;
    json_t *pb = json_loads(problem, 0, &je);
    if (!pb)
        fail_msg("bad test JSON %s: %s", problem, je.text);
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = c->validate(pb, NULL, env, &e);
    json_decref(pb);
    if (!field) {
        if (rc != SV_OK)
            fail_msg("%s %s: rejected at '%s' (%s)", c->name, problem, e.field, e.msg);
        return;
    }
    if (rc != SV_EINVAL || strcmp(e.field, field) != 0 || strcmp(e.msg, msg) != 0)
        fail_msg("%s %s: expected %s: %s; got rc %d at %s: %s", c->name, problem, field, msg, rc,
                 e.field, e.msg);
}

/* The same name errors through one codec; prefix/suffix wrap the dataset object's members. */
static void name_errors(const sv_codec *c, const char *pre, const char *post)
{
    char buf[512];
    const char *N = "/problem/dataset/name";
    snprintf(buf, sizeof buf, "%s\"name\": 3%s", pre, post);
    expect(c, &env_ok, buf, N, "expected a string, got an integer");
    snprintf(buf, sizeof buf, "%s\"name\": \"../breast_cancer\"%s", pre, post);
    expect(c, &env_ok, buf, N, "must be a plain data set name, without '/'");
    snprintf(buf, sizeof buf, "%s\"name\": \"iris\"%s", pre, post);
    expect(c, &env_ok, buf, N, "unknown data set \"iris\" (known: breast_cancer, digits)");
    snprintf(buf, sizeof buf, "%s\"name\": \"breast_cancer\"%s", pre, post);
    expect(c, &env_no_dir, buf, N, "this server has no data directory configured");
    expect(c, &env_empty_dir, buf, N, "this server has no data directory configured");
    expect(c, &env_bare_dir, buf, N, "data set \"breast_cancer\" is not installed on this server");
    expect(c, &env_ok, buf, NULL, NULL);
    snprintf(buf, sizeof buf, "%s\"name\": \"digits\"%s", pre, post);
    expect(c, &env_bare_dir, buf, N, "data set \"digits\" is not installed on this server");
}

/* The table and the module's own functions. */
static void test_module(void **state)
{
    (void)state;
    const sv_named_dataset *bc = sv_named_dataset_find("breast_cancer");
    const sv_named_dataset *dg = sv_named_dataset_find("digits");
    assert_non_null(bc);
    assert_non_null(dg);
    assert_null(sv_named_dataset_find("../breast_cancer"));
    assert_null(sv_named_dataset_find(NULL));
    assert_int_equal(bc->rows, 569);
    assert_int_equal(bc->cols, 30);
    assert_int_equal(bc->classes, 2);
    assert_int_equal(dg->rows, 1797);
    assert_int_equal(dg->cols, 64);
    assert_int_equal(dg->classes, 10);

    char buf[4096];
    assert_int_equal(sv_named_dataset_path(dg, &env_ok, buf, sizeof buf), SV_OK);
    assert_string_equal(buf, SOLVD_REPO_DATA "/digits.csv.gz");
    assert_int_equal(sv_named_dataset_path(dg, &env_no_dir, buf, sizeof buf), SV_EINVAL);
    assert_int_equal(sv_named_dataset_path(dg, &env_empty_dir, buf, sizeof buf), SV_EINVAL);
    assert_int_equal(sv_named_dataset_path(dg, &env_ok, buf, 8), SV_EINVAL);

    sv_err e;
    memset(&e, 0, sizeof e);
    const sv_named_dataset *got = NULL;
    json_t *name = json_string("breast_cancer");
    assert_int_equal(sv_named_dataset_read(name, "/x/name", &env_ok, &got, &e), SV_OK);
    assert_ptr_equal(got, bc);
    assert_int_equal(sv_named_dataset_read(name, "/x/name", &env_no_dir, &got, &e), SV_EINVAL);
    assert_null(got);
    assert_string_equal(e.field, "/x/name");
    json_decref(name);

    /* Loading agrees with the table's shape. */
    sv_dataset d;
    assert_int_equal(sv_named_dataset_load(bc, "/x/name", &env_ok, &d, &e), SV_OK);
    assert_int_equal(d.rows, bc->rows);
    assert_int_equal(d.cols, bc->cols);
    assert_int_equal(d.n_classes, bc->classes);
    sv_dataset_free(&d);
    assert_int_equal(sv_named_dataset_load(bc, "/x/name", &env_no_dir, &d, &e), SV_EINVAL);
    assert_string_equal(e.field, "/x/name");
    assert_string_equal(e.msg, "no data directory configured");
}

static void test_ef21_names(void **state)
{
    (void)state;
    name_errors(&sv_codec_ef21, "{\"dataset\": {\"clients\": 3, ", "}}");
    /* The table's shapes bound the members that depend on them. */
    expect(&sv_codec_ef21, &env_ok,
           "{\"dataset\": {\"name\": \"breast_cancer\", \"clients\": 570}}",
           "/problem/dataset/clients", "value 570 out of range [1, 569]");
    expect(&sv_codec_ef21, &env_ok,
           "{\"dataset\": {\"name\": \"digits\", \"clients\": 2, \"binary_class\": 10}}",
           "/problem/dataset/binary_class", "value 10 out of range [0, 9]");
    expect(&sv_codec_ef21, &env_ok, "{\"dataset\": {\"name\": \"digits\", \"clients\": 2}}",
           "/problem/dataset/binary_class", "logistic loss on a data set with 10 classes needs "
           "the class to tell apart from the rest");
    expect(&sv_codec_ef21, &env_ok,
           "{\"dataset\": {\"name\": \"digits\", \"clients\": 2, \"binary_class\": 3}, "
           "\"x0\": [1, 2]}", "/problem/x0", "expected 64 entries, got 2");
}

static void test_bip_names(void **state)
{
    (void)state;
    name_errors(&sv_codec_bip, "{\"k\": 3, \"dataset\": {", "}}");
    expect(&sv_codec_bip, &env_ok, "{\"k\": 31, \"dataset\": {\"name\": \"breast_cancer\"}}",
           "/problem/k", "value 31 out of range [1, 30]");
    expect(&sv_codec_bip, &env_ok,
           "{\"k\": 3, \"dataset\": {\"name\": \"breast_cancer\", \"val_fraction\": 0.9999}}",
           "/problem/dataset/val_fraction",
           "leaves 569 validation and 0 training rows; both need at least one");
    expect(&sv_codec_bip, &env_ok,
           "{\"k\": 3, \"dataset\": {\"name\": \"breast_cancer\", \"val_fraction\": 0.0001}}",
           "/problem/dataset/val_fraction",
           "leaves 0 validation and 569 training rows; both need at least one");
    expect(&sv_codec_bip, &env_ok, "{\"k\": 3, \"dataset\": {\"name\": \"digits\"}}",
           "/problem/dataset/binary_class", "the logistic loss on a data set with 10 classes "
           "needs the class to tell apart from the rest");
}

/* The bilevel codecs (api/codecs/bilevel/bilevel_problem.c) look the name up before the other members and
 * check the data directory last; a name with '/' is simply unknown there. */
static void bilevel_names(const sv_codec *c)
{
    const char *N = "/problem/dataset/name";
    char buf[256];
#define BL(name, rest) \
    (snprintf(buf, sizeof buf, "{\"dataset\": {\"name\": %s%s}}", name, rest), buf)
    const char *hc = ", \"class\": \"hyperclean\"";
    expect(c, &env_ok, BL("3", hc), N, "expected a string, got an integer");
    expect(c, &env_ok, BL("\"../digits\"", hc), N,
           "unknown data set \"../digits\" (known: breast_cancer, digits)");
    expect(c, &env_ok, BL("\"iris\"", hc), N,
           "unknown data set \"iris\" (known: breast_cancer, digits)");
    expect(c, &env_no_dir, BL("\"iris\"", hc), N,
           "unknown data set \"iris\" (known: breast_cancer, digits)");
    expect(c, &env_no_dir, BL("\"breast_cancer\"", ", \"class\": \"hyperclean\", \"n_train\": 600"),
           "/problem/dataset/n_train", "value 600 out of range [1, 569]");
    expect(c, &env_no_dir, BL("\"breast_cancer\"", hc), N,
           "this server has no data directory configured");
    expect(c, &env_empty_dir, BL("\"breast_cancer\"", hc), N,
           "this server has no data directory configured");
    expect(c, &env_bare_dir, BL("\"digits\"", ", \"class\": \"hyperparam\""), N,
           "data set \"digits\" is not installed on this server");
    expect(c, &env_ok, BL("\"breast_cancer\"", hc), NULL, NULL);
    expect(c, &env_ok, BL("\"digits\"", ", \"class\": \"hyperparam\", \"loss\": \"logistic\""),
           "/problem/dataset/loss", "the logistic loss needs 2 classes, digits has 10");
#undef BL
}

static void test_bilevel_names(void **state)
{
    (void)state;
    bilevel_names(&sv_codec_inexact);
    bilevel_names(&sv_codec_lvhba);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module),
        cmocka_unit_test(test_ef21_names),
        cmocka_unit_test(test_bip_names),
        cmocka_unit_test(test_bilevel_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
