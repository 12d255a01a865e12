/* test_jsonval.c - the strict JSON readers (api/jsonval.h): every error class gives SV_EINVAL
 * with the exact path and message, valid input decodes to the exact values, and the dense,
 * {"rows","cols","data"}, CSR and COO forms of one matrix read back identically. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonval.h"
#include "support/json.h"

/* Small limits so that the limit checks are cheap to hit. */
static const sv_codec_env env = {.max_dim = 50, .max_entries = 200, .data_dir = NULL};

/* Asserts an SV_EINVAL result with exactly this path and message. */
#define assert_err(rc, e, want_field, want_msg)                                               \
    do {                                                                                      \
        int rc_ = (rc);                                                                       \
        if (rc_ != SV_EINVAL || strcmp((e).field, (want_field)) != 0 ||                       \
            strcmp((e).msg, (want_msg)) != 0)                                                 \
            fail_msg("line %d: rc %d field '%s' msg '%s', expected '%s' '%s'", __LINE__, rc_, \
                     (e).field, (e).msg, (want_field), (want_msg));                           \
    } while (0)

/* ============================================================================================
 * Paths, objects, scalars
 * ========================================================================================== */

static void test_paths(void **state)
{
    (void)state;
    char buf[96];
    assert_string_equal(sv_json_path_key(buf, sizeof buf, "/problem", "A"), "/problem/A");
    assert_string_equal(sv_json_path_key(buf, sizeof buf, "/problem", "a/b~c"),
                        "/problem/a~1b~0c");
    assert_string_equal(sv_json_path_key(buf, sizeof buf, "", "x"), "/x");
    assert_string_equal(sv_json_path_index(buf, sizeof buf, "/problem/A", 3), "/problem/A/3");
    char tiny[8];
    assert_string_equal(sv_json_path_key(tiny, sizeof tiny, "/problem", "A"), "/proble");
    assert_string_equal(sv_json_path_key(tiny, sizeof tiny, "/p", "x~~~"), "/p/x~0");
}

static void test_no_unknown_and_require(void **state)
{
    (void)state;
    static const char *const allowed[] = {"A", "b", "lambda", NULL};
    sv_err e;
    json_t *o = sv_test_json("{\"A\": 1, \"b\": 2}");
    assert_int_equal(sv_json_no_unknown(o, "/problem", allowed, &e), SV_OK);
    json_t *got = NULL;
    assert_int_equal(sv_json_require(o, "/problem", "b", &got, &e), SV_OK);
    assert_int_equal(json_integer_value(got), 2);
    assert_err(sv_json_require(o, "/problem", "lambda", &got, &e), e, "/problem/lambda",
               "required");
    assert_int_equal(sv_json_optional(o, "/problem", "lambda", &got, &e), SV_OK);
    assert_null(got);
    assert_int_equal(sv_json_optional(o, "/problem", "A", &got, &e), SV_OK);
    assert_int_equal(json_integer_value(got), 1);
    json_decref(o);

    o = sv_test_json("{\"A\": 1, \"c/d\": 2}");
    assert_err(sv_json_no_unknown(o, "/problem", allowed, &e), e, "/problem/c~1d",
               "unknown field (allowed: A, b, lambda)");
    json_decref(o);

    o = sv_test_json("[1]");
    assert_err(sv_json_no_unknown(o, "/problem", allowed, &e), e, "/problem",
               "expected an object, got an array");
    assert_err(sv_json_require(o, "/problem", "A", &got, &e), e, "/problem",
               "expected an object, got an array");
    json_decref(o);
    /* null counts as absent for optional members */
    o = sv_test_json("{\"A\": null}");
    got = o;
    assert_int_equal(sv_json_optional(o, "/problem", "A", &got, &e), SV_OK);
    assert_null(got);
    json_decref(o);
}

static void test_scalars(void **state)
{
    (void)state;
    sv_err e;
    double x;
    long n;
    int b;
    json_t *v = sv_test_json("[2.5, 3, \"3\", null, true, 3.0, -7, 1e300]");
    assert_int_equal(sv_json_number(json_array_get(v, 0), "/x", &x, &e), SV_OK);
    assert_true(x == 2.5);
    assert_int_equal(sv_json_number(json_array_get(v, 1), "/x", &x, &e), SV_OK);
    assert_true(x == 3.0);
    assert_int_equal(sv_json_number(json_array_get(v, 7), "/x", &x, &e), SV_OK);
    assert_true(x == 1e300);
    assert_err(sv_json_number(json_array_get(v, 2), "/x", &x, &e), e, "/x",
               "expected a number, got a string");
    assert_err(sv_json_number(json_array_get(v, 3), "/x", &x, &e), e, "/x",
               "expected a number, got null");
    assert_err(sv_json_number(NULL, "/x", &x, &e), e, "/x", "expected a number, got nothing");

    assert_int_equal(sv_json_int(json_array_get(v, 1), "/k", 0, 10, &n, &e), SV_OK);
    assert_int_equal(n, 3);
    assert_int_equal(sv_json_int(json_array_get(v, 5), "/k", 0, 10, &n, &e), SV_OK);
    assert_int_equal(n, 3);
    assert_int_equal(sv_json_int(json_array_get(v, 6), "/k", -10, 10, &n, &e), SV_OK);
    assert_int_equal(n, -7);
    assert_err(sv_json_int(json_array_get(v, 0), "/k", 0, 10, &n, &e), e, "/k",
               "expected an integer, got 2.5");
    assert_err(sv_json_int(json_array_get(v, 6), "/k", 0, 10, &n, &e), e, "/k",
               "value -7 out of range [0, 10]");
    assert_err(sv_json_int(json_array_get(v, 7), "/k", 0, 10, &n, &e), e, "/k",
               "value 1e+300 out of range [0, 10]");
    assert_err(sv_json_int(json_array_get(v, 4), "/k", 0, 10, &n, &e), e, "/k",
               "expected an integer, got a boolean");

    assert_int_equal(sv_json_bool(json_array_get(v, 4), "/f", &b, &e), SV_OK);
    assert_int_equal(b, 1);
    assert_err(sv_json_bool(json_array_get(v, 1), "/f", &b, &e), e, "/f",
               "expected true or false, got an integer");
    json_decref(v);
}

/* Huge literals: jansson refuses to parse them; should one ever get through as a real it is
 * rejected as non-finite, never read as infinity. */
static void test_huge_literal(void **state)
{
    (void)state;
    json_error_t err;
    json_t *v = json_loads("[1e999]", 0, &err);
    if (v) {
        sv_err e;
        assert_int_equal(sv_json_vector(v, "/x", -1, &env, NULL, NULL, &e), SV_EINVAL);
        assert_string_equal(e.field, "/x/0");
        json_decref(v);
    }
}

/* ============================================================================================
 * Vectors
 * ========================================================================================== */

static void test_vector_valid(void **state)
{
    (void)state;
    sv_err e;
    json_t *v = sv_test_json("[1, -2.5, 0, 1e-300, 3]");
    double *x = NULL;
    int n = 0;
    assert_int_equal(sv_json_vector(v, "/problem/b", -1, &env, &x, &n, &e), SV_OK);
    assert_int_equal(n, 5);
    const double want[] = {1, -2.5, 0, 1e-300, 3};
    for (int i = 0; i < 5; i++)
        assert_true(x[i] == want[i]);
    free(x);
    x = NULL;
    assert_int_equal(sv_json_vector(v, "/problem/b", 5, &env, &x, &n, &e), SV_OK);
    free(x);
    /* validate only */
    assert_int_equal(sv_json_vector(v, "/problem/b", 5, &env, NULL, NULL, &e), SV_OK);
    /* no env: no limit beyond int */
    assert_int_equal(sv_json_vector(v, "/problem/b", -1, NULL, NULL, &n, &e), SV_OK);
    assert_int_equal(n, 5);
    json_decref(v);

    /* exactly zero entries expected: an empty array is right */
    v = sv_test_json("[]");
    x = (double *)&n;
    assert_int_equal(sv_json_vector(v, "/problem/b", 0, &env, &x, &n, &e), SV_OK);
    assert_null(x);
    assert_int_equal(n, 0);
    json_decref(v);
}

static void test_vector_errors(void **state)
{
    (void)state;
    sv_err e;
    double *x = NULL;
    int n;
    json_t *v = sv_test_json("[1, 2, \"3\", 4]");
    assert_err(sv_json_vector(v, "/problem/b", -1, &env, &x, &n, &e), e, "/problem/b/2",
               "expected a number, got a string");
    assert_null(x);
    assert_err(sv_json_vector(v, "/problem/b", 3, &env, &x, &n, &e), e, "/problem/b",
               "expected 3 entries, got 4");
    json_decref(v);

    v = sv_test_json("[[1, 2]]");
    assert_err(sv_json_vector(v, "/problem/b", -1, &env, &x, &n, &e), e, "/problem/b/0",
               "expected a number, got an array");
    json_decref(v);

    v = sv_test_json("{\"b\": 1}");
    assert_err(sv_json_vector(v, "/problem/b", -1, &env, &x, &n, &e), e, "/problem/b",
               "expected an array of numbers, got an object");
    json_decref(v);

    v = sv_test_json("[]");
    assert_err(sv_json_vector(v, "/problem/b", -1, &env, &x, &n, &e), e, "/problem/b",
               "empty array, expected at least one number");
    json_decref(v);

    v = json_array();
    for (int i = 0; i < 51; i++)
        json_array_append_new(v, json_real(i));
    assert_err(sv_json_vector(v, "/problem/b", -1, &env, &x, &n, &e), e, "/problem/b",
               "too many entries: 51, the limit is 50");
    json_decref(v);
    assert_null(x);
}

static void test_int_vector(void **state)
{
    (void)state;
    sv_err e;
    int *y = NULL, n = 0;
    json_t *v = sv_test_json("[0, 4, 2.0, 3]");
    assert_int_equal(sv_json_int_vector(v, "/problem/idx", -1, 0, 4, &env, &y, &n, &e), SV_OK);
    assert_int_equal(n, 4);
    assert_int_equal(y[0], 0);
    assert_int_equal(y[1], 4);
    assert_int_equal(y[2], 2);
    assert_int_equal(y[3], 3);
    free(y);
    y = NULL;
    assert_err(sv_json_int_vector(v, "/problem/idx", -1, 0, 3, &env, &y, &n, &e), e,
               "/problem/idx/1", "value 4 out of range [0, 3]");
    assert_err(sv_json_int_vector(v, "/problem/idx", 5, 0, 4, &env, &y, &n, &e), e,
               "/problem/idx", "expected 5 entries, got 4");
    json_decref(v);
    v = sv_test_json("[1, 1.5]");
    assert_err(sv_json_int_vector(v, "/problem/idx", -1, 0, 4, &env, &y, &n, &e), e,
               "/problem/idx/1", "expected an integer, got 1.5");
    json_decref(v);
    v = sv_test_json("[]");
    assert_err(sv_json_int_vector(v, "/problem/idx", -1, 0, 4, &env, &y, &n, &e), e,
               "/problem/idx", "empty array, expected at least one integer");
    json_decref(v);
    assert_null(y);
}

/* ============================================================================================
 * Matrices: one 4 x 5 matrix in every form
 * ========================================================================================== */

#define MR 4
#define MC 5
static const double M[MR][MC] = {
    {1.5, 0, 0, -2, 0},
    {0, 0, 0, 0, 0},
    {0, 3, 0, 0, 4.25},
    {7, 0, -1e-3, 0, 1e10},
};

static const char *M_NESTED =
    "[[1.5, 0, 0, -2, 0], [0, 0, 0, 0, 0], [0, 3, 0, 0, 4.25], [7, 0, -1e-3, 0, 1e10]]";
static const char *M_FLAT =
    "{\"rows\": 4, \"cols\": 5, \"data\": [1.5, 0, 0, -2, 0, 0, 0, 0, 0, 0,"
    " 0, 3, 0, 0, 4.25, 7, 0, -1e-3, 0, 1e10]}";
static const char *M_CSR =
    "{\"rows\": 4, \"cols\": 5, \"indptr\": [0, 2, 2, 4, 7],"
    " \"indices\": [0, 3, 1, 4, 0, 2, 4], \"data\": [1.5, -2, 3, 4.25, 7, -1e-3, 1e10]}";
/* Unsorted columns within rows and a split duplicate (4.25 = 4 + 0.25; 7 = 5 + 2). */
static const char *M_CSR_MESSY =
    "{\"indices\": [3, 0, 4, 1, 4, 2, 0, 4, 0], \"data\": [-2, 1.5, 4, 3, 0.25, -1e-3, 5, 1e10, 2],"
    " \"indptr\": [0, 2, 2, 5, 9], \"cols\": 5, \"rows\": 4}";
static const char *M_COO =
    "{\"rows\": 4, \"cols\": 5, \"row\": [3, 0, 2, 3, 0, 2, 3, 2, 3],"
    " \"col\": [4, 3, 4, 0, 0, 1, 2, 4, 0], \"data\": [1e10, -2, 4, 5, 1.5, 3, -1e-3, 0.25, 2]}";

static void assert_is_M(const sv_mat *m)
{
    assert_int_equal(m->rows, MR);
    assert_int_equal(m->cols, MC);
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < MC; j++)
            if (sv_mat_get(m, i, j) != M[i][j])
                fail_msg("(%d, %d): %.17g, expected %.17g", i, j, sv_mat_get(m, i, j), M[i][j]);
}

static void assert_csr_well_formed(const sv_mat *m)
{
    const sv_csr *c = &m->csr;
    assert_int_equal(m->kind, SV_MAT_CSR);
    assert_int_equal(c->rows, m->rows);
    assert_int_equal(c->cols, m->cols);
    assert_int_equal(c->rowptr[0], 0);
    assert_int_equal(c->rowptr[m->rows], c->nnz);
    for (int i = 0; i < m->rows; i++) {
        assert_true(c->rowptr[i] <= c->rowptr[i + 1]);
        for (int k = c->rowptr[i]; k < c->rowptr[i + 1]; k++) {
            assert_true(c->colind[k] >= 0 && c->colind[k] < m->cols);
            if (k > c->rowptr[i])
                assert_true(c->colind[k - 1] < c->colind[k]); /* sorted, no duplicates */
        }
    }
}

static void test_matrix_forms_agree(void **state)
{
    (void)state;
    const char *forms[] = {M_NESTED, M_FLAT, M_CSR, M_CSR_MESSY, M_COO};
    const sv_mat_kind kinds[] = {SV_MAT_DENSE, SV_MAT_DENSE, SV_MAT_CSR, SV_MAT_CSR, SV_MAT_CSR};
    for (size_t k = 0; k < sizeof forms / sizeof *forms; k++) {
        json_t *v = sv_test_json(forms[k]);
        sv_mat m;
        sv_err e = {{0}, {0}};
        int rc = sv_json_matrix(v, "/problem/A", MR, MC, &env, &m, &e);
        if (rc != SV_OK)
            fail_msg("form %zu: %s: %s", k, e.field, e.msg);
        assert_int_equal(m.kind, kinds[k]);
        assert_is_M(&m);
        if (m.kind == SV_MAT_CSR) {
            assert_csr_well_formed(&m);
            assert_int_equal(m.csr.nnz, 7); /* duplicates merged */
        }
        /* also without expected shape, and validate-only */
        sv_mat_free(&m);
        assert_int_equal(sv_json_matrix(v, "/problem/A", -1, -1, &env, &m, &e), SV_OK);
        assert_is_M(&m);
        sv_mat_free(&m);
        assert_int_equal(sv_json_matrix(v, "/problem/A", -1, -1, NULL, NULL, &e), SV_OK);
        json_decref(v);
    }
}

/* The messy CSR's exact stored values: duplicates summed in input order. */
static void test_csr_duplicates_summed(void **state)
{
    (void)state;
    json_t *v = sv_test_json("{\"rows\": 1, \"cols\": 3, \"indptr\": [0, 4],"
                      " \"indices\": [2, 0, 2, 2], \"data\": [0.1, 5, 0.2, 0.3]}");
    sv_mat m;
    sv_err e;
    assert_int_equal(sv_json_matrix(v, "/A", -1, -1, &env, &m, &e), SV_OK);
    assert_csr_well_formed(&m);
    assert_int_equal(m.csr.nnz, 2);
    assert_int_equal(m.csr.colind[0], 0);
    assert_int_equal(m.csr.colind[1], 2);
    assert_true(m.csr.val[0] == 5);
    assert_true(m.csr.val[1] == (0.1 + 0.2) + 0.3);
    assert_true(sv_mat_get(&m, 0, 1) == 0);
    sv_mat_free(&m);
    json_decref(v);
}

/* Sparse input with no entries is an all-zero matrix. */
static void test_sparse_empty_pattern(void **state)
{
    (void)state;
    const char *forms[] = {
        "{\"rows\": 3, \"cols\": 2, \"indptr\": [0, 0, 0, 0], \"indices\": [], \"data\": []}",
        "{\"rows\": 3, \"cols\": 2, \"row\": [], \"col\": [], \"data\": []}",
    };
    for (size_t k = 0; k < 2; k++) {
        json_t *v = sv_test_json(forms[k]);
        sv_mat m;
        sv_err e;
        assert_int_equal(sv_json_matrix(v, "/A", 3, 2, &env, &m, &e), SV_OK);
        assert_csr_well_formed(&m);
        assert_int_equal(m.csr.nnz, 0);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++)
                assert_true(sv_mat_get(&m, i, j) == 0);
        sv_mat_free(&m);
        json_decref(v);
    }
}

/* Encoders: dense and CSR out, read back in, same matrix. */
static void test_matrix_encode_round_trip(void **state)
{
    (void)state;
    const char *forms[] = {M_NESTED, M_CSR_MESSY};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = sv_test_json(forms[k]);
        sv_mat m, back;
        sv_err e;
        assert_int_equal(sv_json_matrix(v, "/A", -1, -1, &env, &m, &e), SV_OK);
        json_t *out = sv_json_from_mat(&m);
        assert_non_null(out);
        char *text = json_dumps(out, 0);
        json_t *again = sv_test_json(text);
        assert_int_equal(sv_json_matrix(again, "/A", MR, MC, &env, &back, &e), SV_OK);
        assert_int_equal(back.kind, m.kind);
        assert_is_M(&back);
        free(text);
        json_decref(again);
        json_decref(out);
        sv_mat_free(&back);
        sv_mat_free(&m);
        json_decref(v);
    }
}

static void test_vector_encoders(void **state)
{
    (void)state;
    const double x[] = {0.1, -3, NAN, INFINITY, 2e-308};
    json_t *a = sv_json_from_vector(x, 5);
    assert_int_equal(json_array_size(a), 5);
    assert_true(json_real_value(json_array_get(a, 0)) == 0.1);
    assert_true(json_real_value(json_array_get(a, 1)) == -3);
    assert_true(json_is_null(json_array_get(a, 2)));
    assert_true(json_is_null(json_array_get(a, 3)));
    assert_true(json_real_value(json_array_get(a, 4)) == 2e-308);
    json_decref(a);

    const double d[] = {1, 2, 3, 4, 5, 6};
    a = sv_json_from_dense(d, 2, 3);
    assert_int_equal(json_array_size(a), 2);
    assert_int_equal(json_array_size(json_array_get(a, 1)), 3);
    assert_true(json_real_value(json_array_get(json_array_get(a, 1), 0)) == 4);
    json_decref(a);

    const int ix[] = {3, -1, 0};
    a = sv_json_from_int_vector(ix, 3);
    assert_int_equal(json_integer_value(json_array_get(a, 1)), -1);
    json_decref(a);

    a = sv_json_from_vector(x, 0);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
}

/* ============================================================================================
 * Matrices: every error class
 * ========================================================================================== */

typedef struct {
    const char *json;
    long rows_expected, cols_expected;
    const char *field;
    const char *msg;
} bad_matrix;

static const bad_matrix bad_matrices[] = {
    /* not a matrix at all */
    {"3", -1, -1, "/problem/A",
     "expected a matrix (an array of rows, or an object with rows, cols and data), got an "
     "integer"},
    {"\"eye\"", -1, -1, "/problem/A",
     "expected a matrix (an array of rows, or an object with rows, cols and data), got a "
     "string"},
    /* nested arrays */
    {"[]", -1, -1, "/problem/A", "empty matrix, expected at least one row"},
    {"[[]]", -1, -1, "/problem/A/0", "empty row, expected at least one column"},
    {"[1, 2, 3]", -1, -1, "/problem/A/0",
     "expected an array of numbers (a matrix row), got an integer"},
    {"[[1, 2], 3]", -1, -1, "/problem/A/1",
     "expected an array of numbers (a matrix row), got an integer"},
    {"[[1, 2, 3], [4, 5, 6], [7, 8]]", -1, -1, "/problem/A/2", "row 2 has 2 entries, expected 3"},
    {"[[1, 2, 3], [4, 5, 6, 7], [7, 8]]", -1, -1, "/problem/A/1",
     "row 1 has 4 entries, expected 3"},
    {"[[1, 2], [3, \"4\"]]", -1, -1, "/problem/A/1/1", "expected a number, got a string"},
    {"[[1, 2], [3, null]]", -1, -1, "/problem/A/1/1", "expected a number, got null"},
    {"[[1, 2], [3, true]]", -1, -1, "/problem/A/1/1", "expected a number, got a boolean"},
    {"[[1, 2], [3, 4]]", 3, -1, "/problem/A", "expected 3 rows, got 2"},
    {"[[1, 2], [3, 4]]", 2, 5, "/problem/A/0", "expected 5 columns, got 2"},
    /* {"rows","cols","data"} */
    {"{\"rows\": 2, \"cols\": 3, \"data\": [1, 2, 3, 4, 5]}", -1, -1, "/problem/A/data",
     "expected 6 entries (rows x cols), got 5"},
    {"{\"rows\": 2, \"cols\": 3, \"data\": [1, 2, 3, 4, 5, [6]]}", -1, -1, "/problem/A/data/5",
     "expected a number, got an array"},
    {"{\"rows\": 2, \"cols\": 3, \"data\": 7}", -1, -1, "/problem/A/data",
     "expected an array, got an integer"},
    {"{\"rows\": 0, \"cols\": 3, \"data\": []}", -1, -1, "/problem/A/rows",
     "expected a positive integer, got 0"},
    {"{\"rows\": 2, \"cols\": 1.5, \"data\": [1, 2]}", -1, -1, "/problem/A/cols",
     "expected an integer, got 1.5"},
    {"{\"rows\": \"2\", \"cols\": 1, \"data\": [1, 2]}", -1, -1, "/problem/A/rows",
     "expected an integer, got a string"},
    {"{\"rows\": 2, \"data\": [1, 2]}", -1, -1, "/problem/A/cols", "required"},
    {"{\"cols\": 2, \"data\": [1, 2]}", -1, -1, "/problem/A/rows", "required"},
    {"{\"rows\": 1, \"cols\": 2}", -1, -1, "/problem/A/data", "required"},
    {"{\"rows\": 1, \"cols\": 2, \"data\": [1, 2], \"order\": \"C\"}", -1, -1,
     "/problem/A/order", "unknown field (allowed: rows, cols, data)"},
    {"{\"rows\": 1, \"cols\": 2, \"data\": [1, 2]}", 2, -1, "/problem/A/rows",
     "expected 2 rows, got 1"},
    {"{\"rows\": 1, \"cols\": 2, \"data\": [1, 2]}", 1, 3, "/problem/A/cols",
     "expected 3 columns, got 2"},
    /* CSR */
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 2], \"indices\": [0, 1], \"data\": [1, 2],"
     " \"format\": \"csr\"}",
     -1, -1, "/problem/A/format", "unknown field (allowed: rows, cols, indptr, indices, data)"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1], \"indices\": [0, 1], \"data\": [1, 2]}", -1,
     -1, "/problem/A/indptr", "expected 3 entries (rows + 1), got 2"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [1, 1, 2], \"indices\": [0, 1], \"data\": [1, 2]}",
     -1, -1, "/problem/A/indptr/0", "indptr starts at 1, expected 0"},
    {"{\"rows\": 3, \"cols\": 2, \"indptr\": [0, 2, 1, 2], \"indices\": [0, 1], \"data\": [1, 2]}",
     -1, -1, "/problem/A/indptr/2", "indptr decreases: 1 after 2"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 1], \"indices\": [0, 1], \"data\": [1, 2]}",
     -1, -1, "/problem/A/indptr/2", "indptr ends at 1, expected 2 (the length of data)"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 3], \"indices\": [0, 1], \"data\": [1, 2]}",
     -1, -1, "/problem/A/indptr/2", "indptr value 3 out of range [0, 2]"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1.5, 2], \"indices\": [0, 1], \"data\": [1, 2]}",
     -1, -1, "/problem/A/indptr/1", "expected an integer, got 1.5"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 2], \"indices\": [0, 2], \"data\": [1, 2]}",
     -1, -1, "/problem/A/indices/1", "column index 2 out of range [0, 1]"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 2], \"indices\": [-1, 0], \"data\": [1, 2]}",
     -1, -1, "/problem/A/indices/0", "column index -1 out of range [0, 1]"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 2], \"indices\": [0], \"data\": [1, 2]}", -1,
     -1, "/problem/A/indices", "expected 2 entries (as many as data), got 1"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 2], \"indices\": [0, 1], \"data\": [1, \"x\"]}",
     -1, -1, "/problem/A/data/1", "expected a number, got a string"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 2], \"data\": [1, 2]}", -1, -1,
     "/problem/A/indices", "required"},
    {"{\"rows\": 2, \"cols\": 2, \"indptr\": [0, 1, 2], \"indices\": [0, 1], \"data\": [1, 2]}",
     2, 3, "/problem/A/cols", "expected 3 columns, got 2"},
    /* COO */
    {"{\"rows\": 2, \"cols\": 2, \"row\": [0, 2], \"col\": [0, 1], \"data\": [1, 2]}", -1, -1,
     "/problem/A/row/1", "row index 2 out of range [0, 1]"},
    {"{\"rows\": 2, \"cols\": 2, \"row\": [0, 1], \"col\": [0, 5], \"data\": [1, 2]}", -1, -1,
     "/problem/A/col/1", "column index 5 out of range [0, 1]"},
    {"{\"rows\": 2, \"cols\": 2, \"row\": [0, 1], \"col\": [0], \"data\": [1, 2]}", -1, -1,
     "/problem/A/col", "expected 2 entries (as many as data), got 1"},
    {"{\"rows\": 2, \"cols\": 2, \"row\": [0, 1, 1], \"col\": [0, 1], \"data\": [1, 2]}", -1, -1,
     "/problem/A/row", "expected 2 entries (as many as data), got 3"},
    {"{\"rows\": 2, \"cols\": 2, \"col\": [0, 1], \"data\": [1, 2]}", -1, -1, "/problem/A/row",
     "required"},
    {"{\"rows\": 2, \"cols\": 2, \"row\": [0, 1], \"col\": [0, 1], \"data\": [1, {}]}", -1, -1,
     "/problem/A/data/1", "expected a number, got an object"},
    {"{\"rows\": 2, \"cols\": 2, \"row\": [0, 1], \"col\": [0, 1], \"data\": [1, 2],"
     " \"indices\": [0]}",
     -1, -1, "/problem/A/indices", "unknown field (allowed: rows, cols, row, col, data)"},
    {"{\"rows\": 2, \"cols\": 2, \"row\": [0, 1], \"col\": [0, 1], \"data\": [1, 2]}", 4, -1,
     "/problem/A/rows", "expected 4 rows, got 2"},
    /* limits (max_dim 50, max_entries 200) */
    {"{\"rows\": 51, \"cols\": 1, \"data\": []}", -1, -1, "/problem/A/rows",
     "too many rows: 51, the limit is 50"},
    {"{\"rows\": 1, \"cols\": 5000000000, \"data\": []}", -1, -1, "/problem/A/cols",
     "too many columns: 5000000000, the limit is 50"},
    {"{\"rows\": -2, \"cols\": 1, \"data\": []}", -1, -1, "/problem/A/rows",
     "expected a positive integer, got -2"},
    {"{\"rows\": 1e300, \"cols\": 1, \"data\": []}", -1, -1, "/problem/A/rows",
     "too many rows: 1e+300, the limit is 50"},
    {"{\"rows\": 2, \"cols\": 51, \"indptr\": [0, 0, 0], \"indices\": [], \"data\": []}", -1, -1,
     "/problem/A/cols", "too many columns: 51, the limit is 50"},
    {"{\"rows\": 20, \"cols\": 11, \"data\": []}", -1, -1, "/problem/A",
     "too many entries: 20 x 11 = 220, the limit is 200"},
};

static void test_matrix_errors(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof bad_matrices / sizeof *bad_matrices; k++) {
        const bad_matrix *c = &bad_matrices[k];
        json_t *v = sv_test_json(c->json);
        sv_mat m;
        memset(&m, 0xff, sizeof m);
        sv_err e;
        memset(&e, 0, sizeof e);
        int rc = sv_json_matrix(v, "/problem/A", c->rows_expected, c->cols_expected, &env, &m, &e);
        if (rc != SV_EINVAL || strcmp(e.field, c->field) != 0 || strcmp(e.msg, c->msg) != 0)
            fail_msg("case %zu %s: rc %d field '%s' msg '%s'", k, c->json, rc, e.field, e.msg);
        /* a rejected matrix leaves out zeroed, safe to free */
        assert_null(m.dense.data);
        assert_null(m.csr.rowptr);
        sv_mat_free(&m);
        /* validate-only gives the same verdict */
        memset(&e, 0, sizeof e);
        assert_int_equal(sv_json_matrix(v, "/problem/A", c->rows_expected, c->cols_expected,
                                        &env, NULL, &e),
                         SV_EINVAL);
        assert_string_equal(e.field, c->field);
        json_decref(v);
    }
}

/* Limits that need big inputs, built programmatically. */
static void test_matrix_limits_nested_and_sparse(void **state)
{
    (void)state;
    sv_err e;
    sv_mat m;
    /* 51 rows of one entry: too many rows */
    json_t *v = json_array();
    for (int i = 0; i < 51; i++)
        json_array_append_new(v, json_pack("[f]", 1.0));
    assert_err(sv_json_matrix(v, "/problem/A", -1, -1, &env, &m, &e), e, "/problem/A",
               "too many rows: 51, the limit is 50");
    json_decref(v);

    /* one row of 51: too many columns, blamed on the row */
    v = json_pack("[o]", json_array());
    for (int j = 0; j < 51; j++)
        json_array_append_new(json_array_get(v, 0), json_real(j));
    assert_err(sv_json_matrix(v, "/problem/A", -1, -1, &env, &m, &e), e, "/problem/A/0",
               "too many columns: 51, the limit is 50");
    json_decref(v);

    /* 15 x 15 = 225 entries > 200 */
    v = json_array();
    for (int i = 0; i < 15; i++) {
        json_t *row = json_array();
        for (int j = 0; j < 15; j++)
            json_array_append_new(row, json_integer(i + j));
        json_array_append_new(v, row);
    }
    assert_err(sv_json_matrix(v, "/problem/A", -1, -1, &env, &m, &e), e, "/problem/A",
               "too many entries: 15 x 15 = 225, the limit is 200");
    /* without env the same matrix is fine, and exact */
    assert_int_equal(sv_json_matrix(v, "/problem/A", 15, 15, NULL, &m, &e), SV_OK);
    assert_true(sv_mat_get(&m, 14, 3) == 17);
    sv_mat_free(&m);
    json_decref(v);

    /* COO with 201 stored entries (all duplicates of one cell) exceeds max_entries */
    json_t *r = json_array(), *c = json_array(), *d = json_array();
    for (int k = 0; k < 201; k++) {
        json_array_append_new(r, json_integer(0));
        json_array_append_new(c, json_integer(0));
        json_array_append_new(d, json_real(1));
    }
    v = json_pack("{s:i, s:i, s:o, s:o, s:o}", "rows", 1, "cols", 1, "row", r, "col", c, "data",
                  d);
    assert_err(sv_json_matrix(v, "/problem/A", -1, -1, &env, &m, &e), e, "/problem/A/data",
               "too many entries: 201, the limit is 200");
    /* 200 is fine, and sums to 200 in one stored entry */
    json_array_remove(json_object_get(v, "row"), 0);
    json_array_remove(json_object_get(v, "col"), 0);
    json_array_remove(json_object_get(v, "data"), 0);
    assert_int_equal(sv_json_matrix(v, "/problem/A", 1, 1, &env, &m, &e), SV_OK);
    assert_int_equal(m.csr.nnz, 1);
    assert_true(sv_mat_get(&m, 0, 0) == 200);
    sv_mat_free(&m);
    json_decref(v);
}

/* A larger random sparse matrix: COO with duplicates, CSR with shuffled rows, and the dense
 * matrix accumulated independently all agree. */
static void test_matrix_random_agree(void **state)
{
    (void)state;
    enum { R = 40, C = 37, NNZ = 300 };
    static double dense[R][C];
    memset(dense, 0, sizeof dense);
    unsigned s = 12345;
    json_t *row = json_array(), *col = json_array(), *data = json_array();
    for (int k = 0; k < NNZ; k++) {
        s = s * 1103515245u + 12345u;
        int i = (int)((s >> 8) % R);
        s = s * 1103515245u + 12345u;
        int j = (int)((s >> 8) % C);
        s = s * 1103515245u + 12345u;
        double x = (double)((int)((s >> 8) % 2001) - 1000) / 8.0; /* exact in binary */
        dense[i][j] += x;
        json_array_append_new(row, json_integer(i));
        json_array_append_new(col, json_integer(j));
        json_array_append_new(data, json_real(x));
    }
    sv_codec_env big = {.max_dim = 100, .max_entries = 2000, .data_dir = NULL};
    json_t *coo = json_pack("{s:i, s:i, s:o, s:o, s:o}", "rows", R, "cols", C, "row", row, "col",
                            col, "data", data);
    json_t *nested = json_array();
    for (int i = 0; i < R; i++)
        json_array_append_new(nested, sv_json_from_vector(dense[i], C));
    sv_mat a, b, c2;
    sv_err e;
    assert_int_equal(sv_json_matrix(coo, "/A", R, C, &big, &a, &e), SV_OK);
    assert_csr_well_formed(&a);
    assert_int_equal(sv_json_matrix(nested, "/A", R, C, &big, &b, &e), SV_OK);
    json_t *csr = sv_json_from_mat(&a);
    assert_int_equal(sv_json_matrix(csr, "/A", R, C, &big, &c2, &e), SV_OK);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            assert_true(sv_mat_get(&a, i, j) == dense[i][j]);
            assert_true(sv_mat_get(&b, i, j) == dense[i][j]);
            assert_true(sv_mat_get(&c2, i, j) == dense[i][j]);
        }
    sv_mat_free(&a);
    sv_mat_free(&b);
    sv_mat_free(&c2);
    json_decref(csr);
    json_decref(nested);
    json_decref(coo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_no_unknown_and_require),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_huge_literal),
        cmocka_unit_test(test_vector_valid),
        cmocka_unit_test(test_vector_errors),
        cmocka_unit_test(test_int_vector),
        cmocka_unit_test(test_matrix_forms_agree),
        cmocka_unit_test(test_csr_duplicates_summed),
        cmocka_unit_test(test_sparse_empty_pattern),
        cmocka_unit_test(test_matrix_encode_round_trip),
        cmocka_unit_test(test_vector_encoders),
        cmocka_unit_test(test_matrix_errors),
        cmocka_unit_test(test_matrix_limits_nested_and_sparse),
        cmocka_unit_test(test_matrix_random_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
