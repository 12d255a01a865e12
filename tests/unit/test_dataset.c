/* test_dataset.c - the CSV loader on the two shared data sets (shapes, labels, known entries and
 * column sums computed independently), gzip and plain temp files, malformed files rejected with
 * a message, and column standardisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/dataset.h"
#include "support/paths.h"

/* ---- helpers ---- */

/* Writes text to a fresh temp file (gzip'd when gz != 0) and returns its malloc'd path. */
static char *write_temp(const char *text, int gz)
{
    char tmpl[] = "/tmp/solvd_test_dataset_XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    close(fd);
    char *path = malloc(strlen(tmpl) + 4);
    assert_non_null(path);
    strcpy(path, tmpl);
    if (gz) {
        unlink(tmpl);
        strcat(path, ".gz");
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, text, (unsigned)strlen(text)), (int)strlen(text));
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
        assert_int_equal(fclose(f), 0);
    }
    return path;
}

static void remove_temp(char *path)
{
    unlink(path);
    free(path);
}

/* Loading text must fail with SV_EINVAL, a message containing `needle`, and a zeroed dataset. */
static void expect_reject(const char *text, const char *needle)
{
    char *path = write_temp(text, 0);
    sv_dataset d;
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = sv_dataset_load(path, &d, &e);
    if (rc != SV_EINVAL)
        fail_msg("accepted malformed input:\n%s", text);
    assert_string_equal(e.field, "/problem/dataset");
    if (!strstr(e.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, needle);
    assert_null(d.X);
    assert_null(d.y);
    assert_int_equal(d.rows, 0);
    sv_dataset_free(&d); /* harmless on the zeroed struct */
    remove_temp(path);
}

/* ---- the shared data sets ---- */

static void test_breast_cancer(void **state)
{
    (void)state;
    sv_dataset d;
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = sv_dataset_load(SOLVD_REPO_DATA "/breast_cancer.csv", &d, &e);
    if (rc != SV_OK)
        fail_msg("load failed: %s %s", e.field, e.msg);
    assert_int_equal(d.rows, 569);
    assert_int_equal(d.cols, 30);
    assert_int_equal(d.n_classes, 2);
    int count[2] = {0, 0};
    double col0 = 0;
    for (int i = 0; i < d.rows; i++) {
        assert_true(d.y[i] == 0.0 || d.y[i] == 1.0);
        count[(int)d.y[i]]++;
        col0 += d.X[i * 30];
        for (int j = 0; j < 30; j++)
            assert_true(isfinite(d.X[i * 30 + j]));
    }
    /* 212 malignant (0), 357 benign (1); first and last rows as in the file; the sum of the
     * first column computed independently (Python). */
    assert_int_equal(count[0], 212);
    assert_int_equal(count[1], 357);
    assert_true(d.X[0] == 17.99 && d.X[1] == 10.38 && d.X[29] == 0.1189);
    assert_true(d.X[568 * 30] == 7.76 && d.X[568 * 30 + 1] == 24.54);
    assert_true(fabs(col0 - 8038.429) < 1e-9);

    /* Standardised: every column mean 0 and variance 1 (population). */
    sv_dataset_standardize(&d);
    for (int j = 0; j < 30; j++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < d.rows; i++) {
            s += d.X[i * 30 + j];
            s2 += d.X[i * 30 + j] * d.X[i * 30 + j];
        }
        assert_true(fabs(s / d.rows) < 1e-12);
        assert_true(fabs(s2 / d.rows - 1.0) < 1e-12);
    }
    sv_dataset_free(&d);
    assert_null(d.X);
    sv_dataset_free(&d);
    sv_dataset_free(NULL);
}

static void test_digits(void **state)
{
    (void)state;
    sv_dataset d;
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = sv_dataset_load(SOLVD_REPO_DATA "/digits.csv.gz", &d, &e);
    if (rc != SV_OK)
        fail_msg("load failed: %s %s", e.field, e.msg);
    assert_int_equal(d.rows, 1797);
    assert_int_equal(d.cols, 64);
    assert_int_equal(d.n_classes, 10);
    static const int want[10] = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};
    int count[10] = {0};
    double total = 0;
    for (int i = 0; i < d.rows; i++) {
        assert_true(d.y[i] >= 0 && d.y[i] <= 9 && d.y[i] == floor(d.y[i]));
        count[(int)d.y[i]]++;
        for (int j = 0; j < 64; j++) {
            double v = d.X[i * 64 + j];
            assert_true(v >= 0 && v <= 16 && v == floor(v));
            total += v;
        }
    }
    assert_memory_equal(count, want, sizeof want);
    assert_true(total == 561718.0);
    assert_true(d.X[2] == 5 && d.X[3] == 13 && d.y[0] == 0 && d.y[1] == 1);

    /* Digits has pixels that are 0 in every image: standardisation leaves them at 0. */
    sv_dataset_standardize(&d);
    int constant_cols = 0;
    for (int j = 0; j < 64; j++) {
        double s2 = 0;
        for (int i = 0; i < d.rows; i++)
            s2 += d.X[i * 64 + j] * d.X[i * 64 + j];
        if (s2 == 0.0)
            constant_cols++;
        else
            assert_true(fabs(s2 / d.rows - 1.0) < 1e-12);
    }
    assert_true(constant_cols >= 1);
    sv_dataset_free(&d);
}

/* ---- temp files: good ones ---- */

static void test_small_files(void **state)
{
    (void)state;
    const char *text = "1.5, -2,0\r\n"
                       "\n"
                       "# a comment line\n"
                       "3e2,4,2\n"
                       "-0.25,0x10,1"; /* no final newline; hex is a valid strtod number */
    for (int gz = 0; gz < 2; gz++) {
        char *path = write_temp(text, gz);
        sv_dataset d;
        sv_err e;
        assert_int_equal(sv_dataset_load(path, &d, &e), SV_OK);
        assert_int_equal(d.rows, 3);
        assert_int_equal(d.cols, 2);
        assert_int_equal(d.n_classes, 3);
        const double X[6] = {1.5, -2, 300, 4, -0.25, 16}, y[3] = {0, 2, 1};
        assert_memory_equal(d.X, X, sizeof X);
        assert_memory_equal(d.y, y, sizeof y);
        sv_dataset_free(&d);
        remove_temp(path);
    }

    /* A header with counts and class names, and a header of column names. */
    char *path = write_temp("2,1,no,yes\n5,1\n6,0\n", 0);
    sv_dataset d;
    sv_err e;
    assert_int_equal(sv_dataset_load(path, &d, &e), SV_OK);
    assert_int_equal(d.rows, 2);
    assert_int_equal(d.cols, 1);
    assert_true(d.X[0] == 5 && d.y[0] == 1 && d.X[1] == 6 && d.y[1] == 0);
    sv_dataset_free(&d);
    remove_temp(path);
    path = write_temp("a,b,label\n1,2,0\n3,4,0\n", 0);
    assert_int_equal(sv_dataset_load(path, &d, &e), SV_OK);
    assert_int_equal(d.rows, 2);
    assert_int_equal(d.cols, 2);
    assert_int_equal(d.n_classes, 1);
    sv_dataset_free(&d);
    remove_temp(path);

    /* A line longer than any internal buffer (2000 features). */
    size_t cap = 2000 * 24 + 16;
    char *big = malloc(cap);
    assert_non_null(big);
    size_t len = 0;
    for (int j = 0; j < 2000; j++)
        len += (size_t)snprintf(big + len, cap - len, "%d.125,", j);
    snprintf(big + len, cap - len, "1\n");
    path = write_temp(big, 1);
    free(big);
    assert_int_equal(sv_dataset_load(path, &d, &e), SV_OK);
    assert_int_equal(d.rows, 1);
    assert_int_equal(d.cols, 2000);
    assert_true(d.X[1999] == 1999.125 && d.y[0] == 1);
    sv_dataset_free(&d);
    remove_temp(path);
}

/* ---- temp files: malformed ones ---- */

static void test_malformed(void **state)
{
    (void)state;
    expect_reject("1,2,0\n3,x,1\n", ":2: field 2 is not a finite number");
    expect_reject("1,2,0\n3,4,5,1\n", ":2: 4 fields, expected 3");
    expect_reject("1,2,0\n3,1\n", "ragged");
    expect_reject("1,2,0\n3,,1\n", "not a finite number");
    expect_reject("1,2,0\n3,inf,1\n", "not a finite number");
    expect_reject("1,2,0\n3,nan,1\n", "not a finite number");
    expect_reject("1,2,0.5\n", "label 0.5 is not a class index");
    expect_reject("1,2,-1\n", "label -1 is not a class index");
    expect_reject("", "no data rows");
    expect_reject("\n\n# nothing\n", "no data rows");
    expect_reject("569,30,malignant,benign\n", "no data rows");
    expect_reject("3,2,a,b\n1,2,0\n3,4,1\n", "header says 3 rows, the file has 2");
    expect_reject("2,3,a,b\n1,2,0\n3,4,1\n", "header says 3 features, the rows have 2");
    expect_reject("2,2,a,b\n1,2,0\n3,4,2\n", "label 2 but the header names only 2 classes");
    expect_reject("7\n8\n", "at least one feature and a label");

    /* A missing file and a corrupt gzip stream. */
    sv_dataset d;
    sv_err e;
    memset(&e, 0, sizeof e);
    assert_int_equal(sv_dataset_load("/nonexistent/solvd/none.csv", &d, &e), SV_EINVAL);
    assert_non_null(strstr(e.msg, "cannot open none.csv"));
    assert_int_equal(sv_dataset_load("", &d, &e), SV_EINVAL);
    assert_int_equal(sv_dataset_load(NULL, &d, &e), SV_EINVAL);
    assert_int_equal(sv_dataset_load("/nonexistent.csv", &d, NULL), SV_EINVAL); /* e optional */

    char *path = write_temp("1,2,0\n3,4,1\n5,6,0\n7,8,1\n", 1);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 12, SEEK_SET), 0); /* clobber the deflate data after the header */
    assert_int_equal(fwrite("\xff\xff\xff\xff\xff\xff", 1, 6, f), 6);
    assert_int_equal(fclose(f), 0);
    int rc = sv_dataset_load(path, &d, &e);
    assert_int_equal(rc, SV_EINVAL);
    assert_null(d.X);
    remove_temp(path);
}

static void test_standardize_small(void **state)
{
    (void)state;
    /* Column 0: 1, 2, 3 -> mean 2, sd sqrt(2/3); column 1 constant 5 -> 0. */
    double X[6] = {1, 5, 2, 5, 3, 5}, y[3] = {0, 1, 0};
    sv_dataset d = {.rows = 3, .cols = 2, .X = X, .y = y, .n_classes = 2};
    sv_dataset_standardize(&d);
    double s = sqrt(2.0 / 3.0);
    assert_true(fabs(X[0] + 1 / s) < 1e-15 && fabs(X[2]) < 1e-15 && fabs(X[4] - 1 / s) < 1e-15);
    assert_true(X[1] == 0 && X[3] == 0 && X[5] == 0);
    assert_true(y[0] == 0 && y[1] == 1); /* labels untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breast_cancer), cmocka_unit_test(test_digits),
        cmocka_unit_test(test_small_files),   cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_standardize_small),
    };
    return cmocka_run_group_tests_name("dataset", tests, NULL, NULL);
}
