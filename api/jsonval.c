/* jsonval.c - strict JSON readers for problem data (see jsonval.h for the conventions).
 * Every reader validates the whole value before it allocates, so a rejected request costs no
 * memory and a half-filled output never escapes. */
#include "api/jsonval.h"
#include "core/params.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- static prototypes ---- */
static long limit_dim(const sv_codec_env *env);
static long limit_entries(const sv_codec_env *env);
static int get_index(const json_t *v, const char *path, long min, long max, const char *what,
                     long *out, sv_err *e);
static int matrix_nested(const json_t *v, const char *path, long rows_expected,
                         long cols_expected, const sv_codec_env *env, sv_mat *out, sv_err *e);
static int matrix_dense_obj(const json_t *v, const char *path, long rows_expected,
                            long cols_expected, const sv_codec_env *env, sv_mat *out, sv_err *e);
static int matrix_csr(const json_t *v, const char *path, long rows_expected, long cols_expected,
                      const sv_codec_env *env, sv_mat *out, sv_err *e);
static int matrix_coo(const json_t *v, const char *path, long rows_expected, long cols_expected,
                      const sv_codec_env *env, sv_mat *out, sv_err *e);
static int shape_fields(const json_t *v, const char *path, long rows_expected,
                        long cols_expected, const sv_codec_env *env, int *rows, int *cols,
                        sv_err *e);
static int shape_number(const json_t *v, const char *path, const char *what,
                        const sv_codec_env *env, long *out, sv_err *e);
static int build_csr(int rows, int cols, int nnz, const int *row_of, const int *col,
                     const double *val, sv_mat *out);

/* ============================================================================================
 * Small helpers
 * ========================================================================================== */

const char *sv_json_kind(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

char *sv_json_path_key(char *buf, size_t size, const char *path, const char *key)
{
    if (!buf || size == 0)
        return buf;
    size_t n = (size_t)snprintf(buf, size, "%s/", path ? path : "");
    if (n >= size)
        return buf;
    for (const char *k = key ? key : ""; *k && n + 1 < size; k++) {
        if (*k == '~' || *k == '/') {
            if (n + 2 >= size)
                break;
            buf[n++] = '~';
            buf[n++] = *k == '~' ? '0' : '1';
        } else {
            buf[n++] = *k;
        }
    }
    buf[n] = '\0';
    return buf;
}

const char *sv_json_fmt_number(char *buf, size_t size, double x)
{
    return sv_fmt_number(buf, size, x); /* core/params.h: the one shortest-round-trip printer */
}

char *sv_json_path_index(char *buf, size_t size, const char *path, long index)
{
    if (!buf || size == 0)
        return buf;
    /* A path longer than sv_err.field is cut, like the others: its start still locates the
     * value. */
    int n = snprintf(buf, size, "%s/%ld", path ? path : "", index);
    if (n < 0)
        buf[0] = '\0';
    return buf;
}

/* Limits: the core structs count in int, so INT_MAX bounds everything even without env. */
static long limit_dim(const sv_codec_env *env)
{
    if (env && env->max_dim > 0 && env->max_dim < INT_MAX)
        return env->max_dim;
    return INT_MAX;
}

static long limit_entries(const sv_codec_env *env)
{
    if (env && env->max_entries > 0 && env->max_entries < INT_MAX)
        return env->max_entries;
    return INT_MAX;
}

/* ============================================================================================
 * Objects and scalars
 * ========================================================================================== */

int sv_json_object(const json_t *v, const char *path, sv_err *e)
{
    if (!json_is_object(v))
        return sv_fail(e, path, "expected an object, got %s", sv_json_kind(v));
    return SV_OK;
}

int sv_json_no_unknown(const json_t *obj, const char *path, const char *const *allowed, sv_err *e)
{
    if (sv_json_object(obj, path, e) != SV_OK)
        return SV_EINVAL;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        int known = 0;
        for (const char *const *a = allowed; a && *a; a++)
            if (strcmp(*a, key) == 0) {
                known = 1;
                break;
            }
        if (known)
            continue;
        char field[sizeof e->field], msg[sizeof e->msg];
        sv_unknown_text(msg, sizeof msg, "unknown field", "allowed", key, allowed);
        sv_json_path_key(field, sizeof field, path, key);
        return sv_fail(e, field, "%s", msg);
    }
    return SV_OK;
}

int sv_json_require(const json_t *obj, const char *path, const char *key, json_t **out, sv_err *e)
{
    if (sv_json_object(obj, path, e) != SV_OK)
        return SV_EINVAL;
    json_t *v = json_object_get(obj, key);
    if (!v) {
        char field[sizeof e->field];
        return sv_fail(e, sv_json_path_key(field, sizeof field, path, key), "required");
    }
    if (out)
        *out = v;
    return SV_OK;
}

int sv_json_optional(const json_t *obj, const char *path, const char *key, json_t **out, sv_err *e)
{
    if (sv_json_object(obj, path, e) != SV_OK)
        return SV_EINVAL;
    json_t *v = json_object_get(obj, key);
    if (out)
        *out = json_is_null(v) ? NULL : v;
    return SV_OK;
}

int sv_json_number(const json_t *v, const char *path, double *out, sv_err *e)
{
    if (!json_is_number(v))
        return sv_fail(e, path, "expected a number, got %s", sv_json_kind(v));
    double x = json_number_value(v);
    if (!isfinite(x))
        return sv_fail(e, path, "non-finite number");
    if (out)
        *out = x;
    return SV_OK;
}

/* Entry i of array a a finite number. Its path (path/i) is printed only when it is not: the
 * large arrays of a job body have a million entries, and a printf each cost more than the
 * parse. */
static int number_at(const json_t *a, size_t i, const char *path, sv_err *e)
{
    const json_t *v = json_array_get(a, i);
    if (json_is_number(v) && isfinite(json_number_value(v)))
        return SV_OK;
    char field[sizeof e->field];
    return sv_json_number(v, sv_json_path_index(field, sizeof field, path, (long)i), NULL, e);
}

int sv_json_bool(const json_t *v, const char *path, int *out, sv_err *e)
{
    if (!json_is_boolean(v))
        return sv_fail(e, path, "expected true or false, got %s", sv_json_kind(v));
    if (out)
        *out = json_is_true(v);
    return SV_OK;
}

/* An integer (or integral real) in [min, max]; `what` names it in messages ("column index"). */
static int get_index(const json_t *v, const char *path, long min, long max, const char *what,
                     long *out, sv_err *e)
{
    long x;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < min || i > max)
            return sv_fail(e, path, "%s %lld out of range [%ld, %ld]", what, (long long)i, min,
                           max);
        x = (long)i;
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d))
            return sv_fail(e, path, "non-finite number");
        char num[40];
        if (d != floor(d))
            return sv_fail(e, path, "expected an integer, got %s",
                           sv_json_fmt_number(num, sizeof num, d));
        /* Compare in double, and stay below 2^63, so that the cast cannot overflow. */
        if (d < (double)min || d > (double)max || fabs(d) >= 9223372036854775808.0)
            return sv_fail(e, path, "%s %s out of range [%ld, %ld]", what,
                           sv_json_fmt_number(num, sizeof num, d), min, max);
        x = (long)d;
        if (x < min || x > max) /* rounding at the extreme ends of long */
            return sv_fail(e, path, "%s %s out of range [%ld, %ld]", what,
                           sv_json_fmt_number(num, sizeof num, d), min, max);
    } else {
        return sv_fail(e, path, "expected an integer, got %s", sv_json_kind(v));
    }
    *out = x;
    return SV_OK;
}

int sv_json_int(const json_t *v, const char *path, long min, long max, long *out, sv_err *e)
{
    long x = 0;
    if (get_index(v, path, min, max, "value", &x, e) != SV_OK)
        return SV_EINVAL;
    if (out)
        *out = x;
    return SV_OK;
}

/* ============================================================================================
 * Vectors
 * ========================================================================================== */

/* Length check shared by the vector readers: an array, non-empty unless exactly 0 entries are
 * expected, of the expected length, within max_dim. */
static int vector_len(const json_t *v, const char *path, long n_expected,
                      const sv_codec_env *env, const char *of, size_t *len, sv_err *e)
{
    if (!json_is_array(v))
        return sv_fail(e, path, "expected an array of %s, got %s", of, sv_json_kind(v));
    size_t n = json_array_size(v);
    if (n_expected >= 0 && (size_t)n_expected != n)
        return sv_fail(e, path, "expected %ld entries, got %zu", n_expected, n);
    if (n == 0 && n_expected != 0)
        return sv_fail(e, path, "empty array, expected at least one %s",
                       strcmp(of, "integers") == 0 ? "integer" : "number");
    if (n > (size_t)limit_dim(env))
        return sv_fail(e, path, "too many entries: %zu, the limit is %ld", n, limit_dim(env));
    *len = n;
    return SV_OK;
}

int sv_json_vector(const json_t *v, const char *path, long n_expected, const sv_codec_env *env,
                   double **out, int *n, sv_err *e)
{
    size_t len;
    if (vector_len(v, path, n_expected, env, "numbers", &len, e) != SV_OK)
        return SV_EINVAL;
    for (size_t i = 0; i < len; i++)
        if (number_at(v, i, path, e) != SV_OK)
            return SV_EINVAL;
    if (n)
        *n = (int)len;
    if (!out)
        return SV_OK;
    *out = NULL;
    if (len == 0)
        return SV_OK;
    double *x = malloc(len * sizeof *x);
    if (!x)
        return SV_ENOMEM;
    for (size_t i = 0; i < len; i++)
        x[i] = json_number_value(json_array_get(v, i));
    *out = x;
    return SV_OK;
}

int sv_json_int_vector(const json_t *v, const char *path, long n_expected, long min, long max,
                       const sv_codec_env *env, int **out, int *n, sv_err *e)
{
    size_t len;
    if (vector_len(v, path, n_expected, env, "integers", &len, e) != SV_OK)
        return SV_EINVAL;
    /* The output is int: clamp the accepted range to it. */
    if (min < INT_MIN)
        min = INT_MIN;
    if (max > INT_MAX)
        max = INT_MAX;
    char field[sizeof e->field];
    long x;
    for (size_t i = 0; i < len; i++)
        if (get_index(json_array_get(v, i),
                      sv_json_path_index(field, sizeof field, path, (long)i), min, max, "value",
                      &x, e) != SV_OK)
            return SV_EINVAL;
    if (n)
        *n = (int)len;
    if (!out)
        return SV_OK;
    *out = NULL;
    if (len == 0)
        return SV_OK;
    int *y = malloc(len * sizeof *y);
    if (!y)
        return SV_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        get_index(json_array_get(v, i), path, min, max, "value", &x, NULL);
        y[i] = (int)x;
    }
    *out = y;
    return SV_OK;
}

/* ============================================================================================
 * Matrices
 * ========================================================================================== */

int sv_json_matrix(const json_t *v, const char *path, long rows_expected, long cols_expected,
                   const sv_codec_env *env, sv_mat *out, sv_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (json_is_array(v))
        return matrix_nested(v, path, rows_expected, cols_expected, env, out, e);
    if (!json_is_object(v))
        return sv_fail(e, path,
                       "expected a matrix (an array of rows, or an object with rows, cols and "
                       "data), got %s",
                       sv_json_kind(v));
    if (json_object_get(v, "indptr"))
        return matrix_csr(v, path, rows_expected, cols_expected, env, out, e);
    if (json_object_get(v, "row") || json_object_get(v, "col"))
        return matrix_coo(v, path, rows_expected, cols_expected, env, out, e);
    return matrix_dense_obj(v, path, rows_expected, cols_expected, env, out, e);
}

/* Checks a shape against the expected one and the limits; `where` is the path to blame for
 * rows (and cols when cols_where is NULL). */
static int check_shape(long rows, long cols, const char *rows_where, const char *cols_where,
                       long rows_expected, long cols_expected, const sv_codec_env *env,
                       sv_err *e)
{
    if (!cols_where)
        cols_where = rows_where;
    if (rows_expected >= 0 && rows != rows_expected)
        return sv_fail(e, rows_where, "expected %ld rows, got %ld", rows_expected, rows);
    if (cols_expected >= 0 && cols != cols_expected)
        return sv_fail(e, cols_where, "expected %ld columns, got %ld", cols_expected, cols);
    long dim = limit_dim(env);
    if (rows > dim)
        return sv_fail(e, rows_where, "too many rows: %ld, the limit is %ld", rows, dim);
    if (cols > dim)
        return sv_fail(e, cols_where, "too many columns: %ld, the limit is %ld", cols, dim);
    return SV_OK;
}

static int check_dense_entries(long rows, long cols, const char *path, const sv_codec_env *env,
                               sv_err *e)
{
    long lim = limit_entries(env);
    /* rows, cols <= INT_MAX, so the product fits in 64 bits. */
    long long total = (long long)rows * (long long)cols;
    if (total > lim)
        return sv_fail(e, path, "too many entries: %ld x %ld = %lld, the limit is %ld", rows,
                       cols, total, lim);
    return SV_OK;
}

/* [[a, b], [c, d]] */
static int matrix_nested(const json_t *v, const char *path, long rows_expected,
                         long cols_expected, const sv_codec_env *env, sv_mat *out, sv_err *e)
{
    char field[sizeof e->field];
    size_t rows = json_array_size(v);
    if (rows == 0)
        return sv_fail(e, path, "empty matrix, expected at least one row");
    json_t *first = json_array_get(v, 0);
    if (!json_is_array(first))
        return sv_fail(e, sv_json_path_index(field, sizeof field, path, 0),
                       "expected an array of numbers (a matrix row), got %s",
                       sv_json_kind(first));
    size_t cols = json_array_size(first);
    if (cols == 0)
        return sv_fail(e, sv_json_path_index(field, sizeof field, path, 0),
                       "empty row, expected at least one column");
    /* Cap before converting to long: a huge array must not wrap around. */
    long r = rows > (size_t)INT_MAX ? (long)INT_MAX + 1 : (long)rows;
    long c = cols > (size_t)INT_MAX ? (long)INT_MAX + 1 : (long)cols;
    if (check_shape(r, c, path, sv_json_path_index(field, sizeof field, path, 0), rows_expected,
                    cols_expected, env, e) != SV_OK)
        return SV_EINVAL;
    if (check_dense_entries(r, c, path, env, e) != SV_OK)
        return SV_EINVAL;
    for (size_t i = 0; i < rows; i++) {
        json_t *row = json_array_get(v, i);
        sv_json_path_index(field, sizeof field, path, (long)i);
        if (!json_is_array(row))
            return sv_fail(e, field, "expected an array of numbers (a matrix row), got %s",
                           sv_json_kind(row));
        if (json_array_size(row) != cols)
            return sv_fail(e, field, "row %zu has %zu entries, expected %zu", i,
                           json_array_size(row), cols);
        for (size_t j = 0; j < cols; j++)
            if (number_at(row, j, field, e) != SV_OK)
                return SV_EINVAL;
    }
    if (!out)
        return SV_OK;
    if (sv_mat_dense(out, (int)rows, (int)cols) != SV_OK) {
        memset(out, 0, sizeof *out);
        return SV_ENOMEM;
    }
    for (size_t i = 0; i < rows; i++) {
        json_t *row = json_array_get(v, i);
        for (size_t j = 0; j < cols; j++)
            out->dense.data[i * cols + j] = json_number_value(json_array_get(row, j));
    }
    return SV_OK;
}

/* A positive integer dimension; anything beyond int is "too many" right here, so that the
 * message names the limit rather than the range of long. */
static int shape_number(const json_t *v, const char *path, const char *what,
                        const sv_codec_env *env, long *out, sv_err *e)
{
    char num[40];
    if (!json_is_number(v))
        return sv_fail(e, path, "expected an integer, got %s", sv_json_kind(v));
    double d = json_number_value(v);
    if (!isfinite(d))
        return sv_fail(e, path, "non-finite number");
    if (d != floor(d))
        return sv_fail(e, path, "expected an integer, got %s",
                       sv_json_fmt_number(num, sizeof num, d));
    if (d < 1)
        return sv_fail(e, path, "expected a positive integer, got %s",
                       sv_json_fmt_number(num, sizeof num, d));
    if (d > (double)limit_dim(env))
        return sv_fail(e, path, "too many %s: %s, the limit is %ld", what,
                       sv_json_fmt_number(num, sizeof num, d), limit_dim(env));
    *out = (long)d;
    return SV_OK;
}

/* "rows" and "cols" of an object form: required positive integers, checked against the
 * expected shape and the limits. */
static int shape_fields(const json_t *v, const char *path, long rows_expected,
                        long cols_expected, const sv_codec_env *env, int *rows, int *cols,
                        sv_err *e)
{
    char rpath[sizeof e->field], cpath[sizeof e->field];
    json_t *jr = NULL, *jc = NULL;
    long r, c;
    sv_json_path_key(rpath, sizeof rpath, path, "rows");
    sv_json_path_key(cpath, sizeof cpath, path, "cols");
    if (sv_json_require(v, path, "rows", &jr, e) != SV_OK ||
        sv_json_require(v, path, "cols", &jc, e) != SV_OK)
        return SV_EINVAL;
    if (shape_number(jr, rpath, "rows", env, &r, e) != SV_OK ||
        shape_number(jc, cpath, "columns", env, &c, e) != SV_OK)
        return SV_EINVAL;
    if (check_shape(r, c, rpath, cpath, rows_expected, cols_expected, env, e) != SV_OK)
        return SV_EINVAL;
    *rows = (int)r;
    *cols = (int)c;
    return SV_OK;
}

/* An array member `key` of v whose length must be `len` (or anything up to `max_len` when
 * len < 0). */
static int array_member(const json_t *v, const char *path, const char *key, long len,
                        long max_len, const char *why, json_t **out, size_t *n, sv_err *e)
{
    char field[sizeof e->field];
    json_t *a = NULL;
    if (sv_json_require(v, path, key, &a, e) != SV_OK)
        return SV_EINVAL;
    sv_json_path_key(field, sizeof field, path, key);
    if (!json_is_array(a))
        return sv_fail(e, field, "expected an array, got %s", sv_json_kind(a));
    size_t m = json_array_size(a);
    if (len >= 0 && m != (size_t)len)
        return sv_fail(e, field, "expected %ld entries (%s), got %zu", len, why, m);
    if (len < 0 && m > (size_t)max_len)
        return sv_fail(e, field, "too many entries: %zu, the limit is %ld", m, max_len);
    *out = a;
    if (n)
        *n = m;
    return SV_OK;
}

/* Every entry of array a (at path/key) a finite number. */
static int all_numbers(const json_t *a, const char *path, const char *key, sv_err *e)
{
    char base[sizeof e->field];
    sv_json_path_key(base, sizeof base, path, key);
    for (size_t k = 0; k < json_array_size(a); k++)
        if (number_at(a, k, base, e) != SV_OK)
            return SV_EINVAL;
    return SV_OK;
}

/* {"rows": 2, "cols": 2, "data": [a, b, c, d]} */
static int matrix_dense_obj(const json_t *v, const char *path, long rows_expected,
                            long cols_expected, const sv_codec_env *env, sv_mat *out, sv_err *e)
{
    static const char *const keys[] = {"rows", "cols", "data", NULL};
    int rows, cols;
    json_t *data;
    if (sv_json_no_unknown(v, path, keys, e) != SV_OK ||
        shape_fields(v, path, rows_expected, cols_expected, env, &rows, &cols, e) != SV_OK ||
        check_dense_entries(rows, cols, path, env, e) != SV_OK ||
        array_member(v, path, "data", (long)rows * cols, 0, "rows x cols", &data, NULL, e) !=
            SV_OK ||
        all_numbers(data, path, "data", e) != SV_OK)
        return SV_EINVAL;
    if (!out)
        return SV_OK;
    if (sv_mat_dense(out, rows, cols) != SV_OK) {
        memset(out, 0, sizeof *out);
        return SV_ENOMEM;
    }
    size_t total = (size_t)rows * (size_t)cols;
    for (size_t k = 0; k < total; k++)
        out->dense.data[k] = json_number_value(json_array_get(data, k));
    return SV_OK;
}

/* {"rows", "cols", "indptr", "indices", "data"} */
static int matrix_csr(const json_t *v, const char *path, long rows_expected, long cols_expected,
                      const sv_codec_env *env, sv_mat *out, sv_err *e)
{
    static const char *const keys[] = {"rows", "cols", "indptr", "indices", "data", NULL};
    char base[sizeof e->field], field[sizeof e->field];
    int rows, cols;
    json_t *data, *indices, *indptr;
    size_t nnz;
    if (sv_json_no_unknown(v, path, keys, e) != SV_OK ||
        shape_fields(v, path, rows_expected, cols_expected, env, &rows, &cols, e) != SV_OK ||
        array_member(v, path, "data", -1, limit_entries(env), NULL, &data, &nnz, e) != SV_OK ||
        array_member(v, path, "indices", (long)nnz, 0, "as many as data", &indices, NULL, e) !=
            SV_OK ||
        array_member(v, path, "indptr", (long)rows + 1, 0, "rows + 1", &indptr, NULL, e) !=
            SV_OK)
        return SV_EINVAL;

    sv_json_path_key(base, sizeof base, path, "indptr");
    long prev = 0, p = 0;
    for (long i = 0; i <= rows; i++) {
        sv_json_path_index(field, sizeof field, base, i);
        if (get_index(json_array_get(indptr, (size_t)i), field, 0, (long)nnz, "indptr value",
                      &p, e) != SV_OK)
            return SV_EINVAL;
        if (i == 0 && p != 0)
            return sv_fail(e, field, "indptr starts at %ld, expected 0", p);
        if (p < prev)
            return sv_fail(e, field, "indptr decreases: %ld after %ld", p, prev);
        prev = p;
    }
    if (prev != (long)nnz)
        return sv_fail(e, field, "indptr ends at %ld, expected %zu (the length of data)", prev,
                       nnz);
    sv_json_path_key(base, sizeof base, path, "indices");
    long c;
    for (size_t k = 0; k < nnz; k++)
        if (get_index(json_array_get(indices, k),
                      sv_json_path_index(field, sizeof field, base, (long)k), 0, cols - 1L,
                      "column index", &c, e) != SV_OK)
            return SV_EINVAL;
    if (all_numbers(data, path, "data", e) != SV_OK)
        return SV_EINVAL;
    if (!out)
        return SV_OK;

    /* Valid: expand to (row, col, val) in input order and let build_csr sort and merge. */
    int n = (int)nnz;
    int *row_of = malloc((nnz ? nnz : 1) * sizeof *row_of);
    int *col = malloc((nnz ? nnz : 1) * sizeof *col);
    double *val = malloc((nnz ? nnz : 1) * sizeof *val);
    int rc = SV_ENOMEM;
    if (row_of && col && val) {
        long r0 = 0, r1;
        for (int i = 0; i < rows; i++) {
            get_index(json_array_get(indptr, (size_t)i + 1), path, 0, (long)nnz, "", &r1, NULL);
            for (long k = r0; k < r1; k++)
                row_of[k] = i;
            r0 = r1;
        }
        for (int k = 0; k < n; k++) {
            get_index(json_array_get(indices, (size_t)k), path, 0, cols - 1L, "", &c, NULL);
            col[k] = (int)c;
            val[k] = json_number_value(json_array_get(data, (size_t)k));
        }
        rc = build_csr(rows, cols, n, row_of, col, val, out);
    }
    free(row_of);
    free(col);
    free(val);
    return rc;
}

/* {"rows", "cols", "row", "col", "data"} */
static int matrix_coo(const json_t *v, const char *path, long rows_expected, long cols_expected,
                      const sv_codec_env *env, sv_mat *out, sv_err *e)
{
    static const char *const keys[] = {"rows", "cols", "row", "col", "data", NULL};
    char base[sizeof e->field], field[sizeof e->field];
    int rows, cols;
    json_t *data, *jrow, *jcol;
    size_t nnz;
    if (sv_json_no_unknown(v, path, keys, e) != SV_OK ||
        shape_fields(v, path, rows_expected, cols_expected, env, &rows, &cols, e) != SV_OK ||
        array_member(v, path, "data", -1, limit_entries(env), NULL, &data, &nnz, e) != SV_OK ||
        array_member(v, path, "row", (long)nnz, 0, "as many as data", &jrow, NULL, e) !=
            SV_OK ||
        array_member(v, path, "col", (long)nnz, 0, "as many as data", &jcol, NULL, e) != SV_OK)
        return SV_EINVAL;
    long x;
    sv_json_path_key(base, sizeof base, path, "row");
    for (size_t k = 0; k < nnz; k++)
        if (get_index(json_array_get(jrow, k),
                      sv_json_path_index(field, sizeof field, base, (long)k), 0, rows - 1L,
                      "row index", &x, e) != SV_OK)
            return SV_EINVAL;
    sv_json_path_key(base, sizeof base, path, "col");
    for (size_t k = 0; k < nnz; k++)
        if (get_index(json_array_get(jcol, k),
                      sv_json_path_index(field, sizeof field, base, (long)k), 0, cols - 1L,
                      "column index", &x, e) != SV_OK)
            return SV_EINVAL;
    if (all_numbers(data, path, "data", e) != SV_OK)
        return SV_EINVAL;
    if (!out)
        return SV_OK;

    int n = (int)nnz;
    int *row_of = malloc((nnz ? nnz : 1) * sizeof *row_of);
    int *col = malloc((nnz ? nnz : 1) * sizeof *col);
    double *val = malloc((nnz ? nnz : 1) * sizeof *val);
    int rc = SV_ENOMEM;
    if (row_of && col && val) {
        for (int k = 0; k < n; k++) {
            get_index(json_array_get(jrow, (size_t)k), path, 0, rows - 1L, "", &x, NULL);
            row_of[k] = (int)x;
            get_index(json_array_get(jcol, (size_t)k), path, 0, cols - 1L, "", &x, NULL);
            col[k] = (int)x;
            val[k] = json_number_value(json_array_get(data, (size_t)k));
        }
        rc = build_csr(rows, cols, n, row_of, col, val, out);
    }
    free(row_of);
    free(col);
    free(val);
    return rc;
}

/* Entry k of a row being sorted: column, then input position, so that the sort is stable and
 * duplicates are summed in input order (the result does not depend on qsort's whims). */
typedef struct {
    int col;
    int pos;
} col_pos;

static int col_pos_cmp(const void *a, const void *b)
{
    const col_pos *x = a, *y = b;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* CSR from valid triplets (any order, duplicates allowed): counting sort by row, sort by column
 * within each row, sum duplicates. */
static int build_csr(int rows, int cols, int nnz, const int *row_of, const int *col,
                     const double *val, sv_mat *out)
{
    int rc = SV_ENOMEM;
    int *start = calloc((size_t)rows + 1, sizeof *start);
    col_pos *order = malloc((size_t)(nnz ? nnz : 1) * sizeof *order);
    int *fill = malloc((size_t)rows * sizeof *fill);
    if (!start || !order || !fill)
        goto done;
    for (int k = 0; k < nnz; k++)
        start[row_of[k] + 1]++;
    for (int i = 0; i < rows; i++)
        start[i + 1] += start[i];
    memcpy(fill, start, (size_t)rows * sizeof *fill);
    for (int k = 0; k < nnz; k++)
        order[fill[row_of[k]]++] = (col_pos){col[k], k};
    /* Count the distinct entries while sorting each row. */
    int merged = 0;
    for (int i = 0; i < rows; i++) {
        col_pos *r = order + start[i];
        int len = start[i + 1] - start[i];
        int sorted = 1;
        for (int k = 1; k < len && sorted; k++)
            sorted = r[k - 1].col < r[k].col;
        if (!sorted)
            qsort(r, (size_t)len, sizeof *r, col_pos_cmp);
        for (int k = 0; k < len; k++)
            merged += k == 0 || r[k].col != r[k - 1].col;
    }
    memset(out, 0, sizeof *out);
    out->kind = SV_MAT_CSR;
    out->rows = rows;
    out->cols = cols;
    if (sv_csr_alloc(&out->csr, rows, cols, merged) != SV_OK) {
        memset(out, 0, sizeof *out);
        goto done;
    }
    int w = 0;
    out->csr.rowptr[0] = 0;
    for (int i = 0; i < rows; i++) {
        for (int k = start[i]; k < start[i + 1]; k++) {
            if (k > start[i] && order[k].col == order[k - 1].col) {
                out->csr.val[w - 1] += val[order[k].pos];
            } else {
                out->csr.colind[w] = order[k].col;
                out->csr.val[w] = val[order[k].pos];
                w++;
            }
        }
        out->csr.rowptr[i + 1] = w;
    }
    rc = SV_OK;
done:
    free(start);
    free(order);
    free(fill);
    return rc;
}

/* ============================================================================================
 * Encoders
 * ========================================================================================== */

/* A finite double as a JSON real, anything else as null (JSON has no NaN or infinity). */
static json_t *real_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *sv_json_from_vector(const double *x, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, real_or_null(x[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

json_t *sv_json_from_dense(const double *a, int rows, int cols)
{
    json_t *m = json_array();
    for (int i = 0; m && i < rows; i++)
        if (json_array_append_new(m, sv_json_from_vector(a + (size_t)i * cols, cols)) != 0) {
            json_decref(m);
            m = NULL;
        }
    return m;
}

json_t *sv_json_from_int_vector(const int *x, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(x[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

json_t *sv_json_from_mat(const sv_mat *m)
{
    if (!m)
        return NULL;
    if (m->kind == SV_MAT_DENSE)
        return sv_json_from_dense(m->dense.data, m->rows, m->cols);
    const sv_csr *c = &m->csr;
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (json_object_set_new(o, "rows", json_integer(m->rows)) != 0 ||
        json_object_set_new(o, "cols", json_integer(m->cols)) != 0 ||
        json_object_set_new(o, "indptr", sv_json_from_int_vector(c->rowptr, m->rows + 1)) != 0 ||
        json_object_set_new(o, "indices", sv_json_from_int_vector(c->colind, c->nnz)) != 0 ||
        json_object_set_new(o, "data", sv_json_from_vector(c->val, c->nnz)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
