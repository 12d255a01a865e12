/* expr_problem.c - JSON -> sv_expr_problem (docs/expr.md). The decoder checks the whole shape
 * first, with a JSON path for every error, then hands the flat per-element bounds and starts to
 * sv_expr_problem_new, which compiles the strings and reports what is wrong inside them with the
 * character position. */
#include "api/expr_problem.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonval.h"

#define PB "/problem"

/* One declared variable while reading. */
typedef struct {
    const char *name;     /* the object key or the array element: lives in the JSON */
    const json_t *decl;   /* the declaration object; NULL in the array shorthand */
    int size;
    int offset;
    char path[96];        /* "/problem/variables/<name>" or, in the shorthand, ".../<index>" */
} var_desc;

typedef struct {
    int shorthand;        /* variables given as an array of names */
    int n_vars, n;
    var_desc *vars;
    double *lower, *upper, *start;   /* one block of 3n; start NULL-able per variable below */
    int *has_start;                  /* per variable: a start (or x0) was given */
    const char *objective;
    const char **eq, **in;
    int n_eq, n_in;
} expr_desc;

static int read_desc(const json_t *problem, const sv_codec_env *env,
                     const sv_expr_problem_opts *o, expr_desc *d, sv_err *e);
static int read_vars(const json_t *vars, long limit, expr_desc *d, sv_err *e);
static int check_name(const char *name, const char *path, sv_err *e);
static int read_bound(const json_t *v, const var_desc *var, const char *key, int is_lower,
                      const sv_expr_problem_opts *o, double *out, sv_err *e);
static int read_start(const json_t *v, const var_desc *var, const double *lo, const double *up,
                      double *out, sv_err *e);
static int read_x0(const json_t *x0, const sv_codec_env *env, expr_desc *d, sv_err *e);
static int read_strings(const json_t *problem, const char *key, long limit, const char ***out,
                        int *n, sv_err *e);
static void desc_free(expr_desc *d);
static void remap_shorthand_path(const expr_desc *d, sv_err *e);
static const char *solver_name(const sv_expr_problem_opts *o);

void sv_expr_problem_opts_default(sv_expr_problem_opts *o)
{
    o->allow_inequalities = 1;
    o->allow_bounds = 1;
    o->objective_optional = 0;
    o->extra_keys = NULL;
    o->solver = NULL;
}

static const char *solver_name(const sv_expr_problem_opts *o)
{
    return o->solver ? o->solver : "this solver";
}

static long dim_limit(const sv_codec_env *env)
{
    long lim = SV_EXPR_MAX_DIM;
    if (env && env->max_dim > 0 && env->max_dim < lim)
        lim = env->max_dim;
    return lim;
}

/* ============================================================================================
 * Reading
 * ========================================================================================== */

static int check_name(const char *name, const char *path, sv_err *e)
{
    size_t len = strlen(name);
    if (len == 0)
        return sv_fail(e, path, "a variable name must not be empty");
    if (len > SV_EXPR_MAX_NAME)
        return sv_fail(e, path, "variable name longer than %d characters", SV_EXPR_MAX_NAME);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!(letter || (i > 0 && c >= '0' && c <= '9')))
            return sv_fail(e, path, "variable name '%.64s' is not an identifier (letters, digits "
                           "and '_', not starting with a digit)", name);
    }
    return SV_OK;
}

static int read_vars(const json_t *vars, long limit, expr_desc *d, sv_err *e)
{
    static const char *const allowed[] = {"size", "lower", "upper", "start", NULL};
    const char *vpath = PB "/variables";
    size_t count;
    if (json_is_object(vars)) {
        count = json_object_size(vars);
    } else if (json_is_array(vars)) {
        count = json_array_size(vars);
        d->shorthand = 1;
    } else {
        return sv_fail(e, vpath, "expected an object from names to declarations (or an array of "
                       "names), got %s", sv_json_kind(vars));
    }
    if (count == 0)
        return sv_fail(e, vpath, "at least one variable is required");
    if (count > (size_t)limit)
        return sv_fail(e, vpath, "too many variables: %zu, the limit is %ld", count, limit);
    d->vars = calloc(count, sizeof *d->vars);
    if (!d->vars)
        return SV_ENOMEM;
    d->n_vars = (int)count;

    long total = 0;
    int rc;
    if (d->shorthand) {
        for (size_t i = 0; i < count; i++) {
            var_desc *v = &d->vars[i];
            const json_t *s = json_array_get(vars, i);
            sv_json_path_index(v->path, sizeof v->path, vpath, (long)i);
            if (!json_is_string(s))
                return sv_fail(e, v->path, "expected a variable name (a string), got %s",
                               sv_json_kind(s));
            v->name = json_string_value(s);
            if ((rc = check_name(v->name, v->path, e)) != SV_OK)
                return rc;
            for (size_t j = 0; j < i; j++)
                if (strcmp(d->vars[j].name, v->name) == 0)
                    return sv_fail(e, v->path, "variable '%s' is declared twice (also at index "
                                   "%zu)", v->name, j);
            v->size = 1;
            v->offset = (int)total++;
        }
    } else {
        const char *key;
        json_t *decl;
        size_t i = 0;
        json_object_foreach((json_t *)vars, key, decl) {
            var_desc *v = &d->vars[i++];
            sv_json_path_key(v->path, sizeof v->path, vpath, key);
            v->name = key;
            v->decl = decl;
            if ((rc = check_name(key, v->path, e)) != SV_OK)
                return rc;
            if (json_is_null(decl))
                v->decl = decl = NULL;  /* null: like {}, an unbounded scalar */
            else if ((rc = sv_json_no_unknown(decl, v->path, allowed, e)) != SV_OK)
                return rc;
            long size = 1;
            json_t *sz = decl ? json_object_get(decl, "size") : NULL;
            if (sz && !json_is_null(sz)) {
                char p[96];
                sv_json_path_key(p, sizeof p, v->path, "size");
                if ((rc = sv_json_int(sz, p, 1, limit, &size, e)) != SV_OK)
                    return rc;
            }
            v->size = (int)size;
            v->offset = (int)total;
            total += size;
            if (total > limit) {
                char p[96];
                return sv_fail(e, sv_json_path_key(p, sizeof p, v->path, "size"),
                               "the variables together have %ld entries, the limit is %ld",
                               total, limit);
            }
        }
    }
    d->n = (int)total;
    return SV_OK;
}

/* A bound: absent or null (unbounded), a number for every element, or an array of `size`
 * numbers or nulls. Fills out[0..size) with -inf/+inf for unbounded entries. */
static int read_bound(const json_t *v, const var_desc *var, const char *key, int is_lower,
                      const sv_expr_problem_opts *o, double *out, sv_err *e)
{
    const double none = is_lower ? -INFINITY : INFINITY;
    char path[96], at[96];
    sv_json_path_key(path, sizeof path, var->path, key);
    for (int k = 0; k < var->size; k++)
        out[k] = none;
    if (!v || json_is_null(v))
        return SV_OK;
    if (json_is_number(v)) {
        if (!o->allow_bounds)
            return sv_fail(e, path, "%s handles no bounds on the variables; remove \"%s\"",
                           solver_name(o), key);
        double b;
        if (sv_json_number(v, path, &b, e) != SV_OK)
            return SV_EINVAL;
        for (int k = 0; k < var->size; k++)
            out[k] = b;
        return SV_OK;
    }
    if (!json_is_array(v))
        return sv_fail(e, path, "expected a number, an array of %d numbers or nulls, or null; "
                       "got %s", var->size, sv_json_kind(v));
    if (json_array_size(v) != (size_t)var->size)
        return sv_fail(e, path, "expected %d entries (the size of '%s'), got %zu", var->size,
                       var->name, json_array_size(v));
    for (int k = 0; k < var->size; k++) {
        const json_t *b = json_array_get(v, (size_t)k);
        sv_json_path_index(at, sizeof at, path, k);
        if (json_is_null(b))
            continue;
        if (!o->allow_bounds && json_is_number(b))
            return sv_fail(e, at, "%s handles no bounds on the variables; remove \"%s\"",
                           solver_name(o), key);
        if (!json_is_number(b))
            return sv_fail(e, at, "expected a number or null, got %s", sv_json_kind(b));
        if (sv_json_number(b, at, &out[k], e) != SV_OK)
            return SV_EINVAL;
    }
    return SV_OK;
}

static int outside(double x, double lo, double up) { return x < lo || x > up; }

static int read_start(const json_t *v, const var_desc *var, const double *lo, const double *up,
                      double *out, sv_err *e)
{
    char path[96], at[96], a[40], b[40], c[40];
    sv_json_path_key(path, sizeof path, var->path, "start");
    if (json_is_number(v)) {
        double s;
        if (sv_json_number(v, path, &s, e) != SV_OK)
            return SV_EINVAL;
        for (int k = 0; k < var->size; k++) {
            if (outside(s, lo[k], up[k]))
                return sv_fail(e, path, "start %s is outside the bounds [%s, %s]%s",
                               sv_json_fmt_number(a, sizeof a, s),
                               sv_json_fmt_number(b, sizeof b, lo[k]),
                               sv_json_fmt_number(c, sizeof c, up[k]),
                               var->size > 1 ? " of some element" : "");
            out[k] = s;
        }
        return SV_OK;
    }
    if (!json_is_array(v))
        return sv_fail(e, path, "expected a number or an array of %d numbers, got %s", var->size,
                       sv_json_kind(v));
    if (json_array_size(v) != (size_t)var->size)
        return sv_fail(e, path, "expected %d entries (the size of '%s'), got %zu", var->size,
                       var->name, json_array_size(v));
    for (int k = 0; k < var->size; k++) {
        sv_json_path_index(at, sizeof at, path, k);
        if (sv_json_number(json_array_get(v, (size_t)k), at, &out[k], e) != SV_OK)
            return SV_EINVAL;
        if (outside(out[k], lo[k], up[k]))
            return sv_fail(e, at, "start %s is outside the bounds [%s, %s]",
                           sv_json_fmt_number(a, sizeof a, out[k]),
                           sv_json_fmt_number(b, sizeof b, lo[k]),
                           sv_json_fmt_number(c, sizeof c, up[k]));
    }
    return SV_OK;
}

static int read_x0(const json_t *x0, const sv_codec_env *env, expr_desc *d, sv_err *e)
{
    char at[96], a[40], b[40], c[40];
    int rc = sv_json_vector(x0, PB "/x0", d->n, env, NULL, NULL, e);
    if (rc != SV_OK)
        return rc;
    for (int i = 0; i < d->n_vars; i++) {
        const var_desc *v = &d->vars[i];
        d->has_start[i] = 1;
        for (int k = 0; k < v->size; k++) {
            int j = v->offset + k;
            double s = json_number_value(json_array_get(x0, (size_t)j));
            d->start[j] = s;
            if (outside(s, d->lower[j], d->upper[j])) {
                sv_json_path_index(at, sizeof at, PB "/x0", j);
                if (v->size > 1)
                    return sv_fail(e, at, "%s is outside the bounds [%s, %s] of %s[%d]",
                                   sv_json_fmt_number(a, sizeof a, s),
                                   sv_json_fmt_number(b, sizeof b, d->lower[j]),
                                   sv_json_fmt_number(c, sizeof c, d->upper[j]), v->name, k);
                return sv_fail(e, at, "%s is outside the bounds [%s, %s] of %s",
                               sv_json_fmt_number(a, sizeof a, s),
                               sv_json_fmt_number(b, sizeof b, d->lower[j]),
                               sv_json_fmt_number(c, sizeof c, d->upper[j]), v->name);
            }
        }
    }
    return SV_OK;
}

/* An optional array of expression strings; *out points into the JSON (caller frees the array). */
static int read_strings(const json_t *problem, const char *key, long limit, const char ***out,
                        int *n, sv_err *e)
{
    char path[96], at[96];
    json_t *v;
    *out = NULL;
    *n = 0;
    sv_json_optional(problem, PB, key, &v, e);
    if (!v)
        return SV_OK;
    sv_json_path_key(path, sizeof path, PB, key);
    if (!json_is_array(v))
        return sv_fail(e, path, "expected an array of expression strings, got %s",
                       sv_json_kind(v));
    size_t m = json_array_size(v);
    if (m > (size_t)limit)
        return sv_fail(e, path, "too many constraints: %zu, the limit is %ld", m, limit);
    for (size_t i = 0; i < m; i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s))
            return sv_fail(e, sv_json_path_index(at, sizeof at, path, (long)i),
                           "expected an expression string, got %s", sv_json_kind(s));
    }
    if (m == 0)
        return SV_OK;
    const char **list = malloc(m * sizeof *list);
    if (!list)
        return SV_ENOMEM;
    for (size_t i = 0; i < m; i++)
        list[i] = json_string_value(json_array_get(v, i));
    *out = list;
    *n = (int)m;
    return SV_OK;
}

static int read_desc(const json_t *problem, const sv_codec_env *env,
                     const sv_expr_problem_opts *o, expr_desc *d, sv_err *e)
{
    const char *allowed[5 + 16 + 1];
    size_t na = 0;
    for (size_t i = 0; i < 5; i++)
        allowed[na++] = sv_expr_problem_members[i];
    for (const char *const *k = o->extra_keys; k && *k && na < 5 + 16; k++)
        allowed[na++] = *k;
    allowed[na] = NULL;

    int rc;
    json_t *vars, *x0, *obj;
    long limit = dim_limit(env);
    if ((rc = sv_json_no_unknown(problem, PB, allowed, e)) != SV_OK ||
        (rc = sv_json_require(problem, PB, "variables", &vars, e)) != SV_OK ||
        (rc = read_vars(vars, limit, d, e)) != SV_OK)
        return rc;

    /* bounds and starts, element by element */
    d->lower = malloc(3 * (size_t)d->n * sizeof *d->lower);
    d->has_start = calloc((size_t)d->n_vars, sizeof *d->has_start);
    if (!d->lower || !d->has_start)
        return SV_ENOMEM;
    d->upper = d->lower + d->n;
    d->start = d->upper + d->n;
    char a[40], b[40], at[96];
    for (int i = 0; i < d->n_vars; i++) {
        const var_desc *v = &d->vars[i];
        double *lo = d->lower + v->offset, *up = d->upper + v->offset;
        const json_t *decl = v->decl;
        if ((rc = read_bound(decl ? json_object_get(decl, "lower") : NULL, v, "lower", 1, o, lo,
                             e)) != SV_OK ||
            (rc = read_bound(decl ? json_object_get(decl, "upper") : NULL, v, "upper", 0, o, up,
                             e)) != SV_OK)
            return rc;
        for (int k = 0; k < v->size; k++) {
            if (lo[k] > up[k]) {
                char p[96];
                const json_t *l = json_object_get(decl, "lower");
                sv_json_path_key(p, sizeof p, v->path, "lower");
                if (json_is_array(l))
                    sv_json_path_index(at, sizeof at, p, k);
                else
                    snprintf(at, sizeof at, "%s", p);
                return sv_fail(e, at, "lower bound %s exceeds upper bound %s",
                               sv_json_fmt_number(a, sizeof a, lo[k]),
                               sv_json_fmt_number(b, sizeof b, up[k]));
            }
        }
        const json_t *s = decl ? json_object_get(decl, "start") : NULL;
        if (s && !json_is_null(s)) {
            if ((rc = read_start(s, v, lo, up, d->start + v->offset, e)) != SV_OK)
                return rc;
            d->has_start[i] = 1;
        }
    }
    sv_json_optional(problem, PB, "x0", &x0, e);
    if (x0 && (rc = read_x0(x0, env, d, e)) != SV_OK)
        return rc;

    sv_json_optional(problem, PB, "objective", &obj, e);
    if (!obj) {
        if (!o->objective_optional)
            return sv_fail(e, PB "/objective", "required: the expression to minimise");
    } else if (!json_is_string(obj)) {
        return sv_fail(e, PB "/objective", "expected an expression string, got %s",
                       sv_json_kind(obj));
    } else {
        d->objective = json_string_value(obj);
    }
    if ((rc = read_strings(problem, "equalities", limit, &d->eq, &d->n_eq, e)) != SV_OK ||
        (rc = read_strings(problem, "inequalities", limit, &d->in, &d->n_in, e)) != SV_OK)
        return rc;
    if (d->n_in > 0 && !o->allow_inequalities)
        return sv_fail(e, PB "/inequalities", "%s handles equality constraints only; state the "
                       "problem without inequalities", solver_name(o));
    return SV_OK;
}

static void desc_free(expr_desc *d)
{
    free(d->vars);
    free(d->lower);
    free(d->has_start);
    free(d->eq);
    free(d->in);
    memset(d, 0, sizeof *d);
}

/* The core names a variable by "/problem/variables/<name>"; in the array shorthand the JSON
 * pointer to it is the index. */
static void remap_shorthand_path(const expr_desc *d, sv_err *e)
{
    static const char prefix[] = PB "/variables/";
    if (!e || !d->shorthand || strncmp(e->field, prefix, sizeof prefix - 1) != 0)
        return;
    const char *rest = e->field + sizeof prefix - 1;
    for (int i = 0; i < d->n_vars; i++) {
        size_t len = strlen(d->vars[i].name);
        if (strncmp(rest, d->vars[i].name, len) == 0 && (rest[len] == '\0' || rest[len] == '/')) {
            char field[sizeof e->field];
            size_t pl = strlen(d->vars[i].path), tl = strlen(rest + len);
            if (pl + tl >= sizeof field)  /* cut like every other long path */
                tl = pl < sizeof field ? sizeof field - 1 - pl : 0;
            if (pl >= sizeof field)
                pl = sizeof field - 1;
            memcpy(field, d->vars[i].path, pl);
            memcpy(field + pl, rest + len, tl);
            field[pl + tl] = '\0';
            memcpy(e->field, field, sizeof field);
            return;
        }
    }
}

/* ============================================================================================
 * Public
 * ========================================================================================== */

int sv_expr_problem_decode(const json_t *problem, const sv_codec_env *env,
                           const sv_expr_problem_opts *opts, sv_expr_problem **out, sv_err *e,
                           sv_expr_error *where)
{
    sv_expr_problem_opts dflt;
    expr_desc d;
    sv_expr_decl *decls = NULL;
    int rc;

    if (where) {
        where->code = SV_EXPR_OK;
        where->pos = -1;
        where->msg[0] = '\0';
    }
    if (!out)
        return sv_fail(e, PB, "no output pointer");
    *out = NULL;
    if (!opts) {
        sv_expr_problem_opts_default(&dflt);
        opts = &dflt;
    }
    memset(&d, 0, sizeof d);
    if ((rc = sv_json_object(problem, PB, e)) != SV_OK)
        return rc;
    rc = read_desc(problem, env, opts, &d, e);
    if (rc == SV_OK) {
        decls = calloc((size_t)d.n_vars, sizeof *decls);
        if (!decls)
            rc = SV_ENOMEM;
    }
    if (rc == SV_OK) {
        for (int i = 0; i < d.n_vars; i++) {
            const var_desc *v = &d.vars[i];
            decls[i].name = v->name;
            decls[i].size = v->size;
            decls[i].lower = d.lower + v->offset;
            decls[i].upper = d.upper + v->offset;
            decls[i].start = d.has_start[i] ? d.start + v->offset : NULL;
        }
        sv_expr_problem_spec spec = {decls, d.n_vars, d.objective,
                                     (const char *const *)d.eq, d.n_eq,
                                     (const char *const *)d.in, d.n_in};
        rc = sv_expr_problem_new(&spec, out, e, where);
        if (rc == SV_EINVAL)
            remap_shorthand_path(&d, e);
    }
    if (rc == SV_ENOMEM && e && !e->field[0])
        sv_fail(e, PB, "out of memory");
    free(decls);
    desc_free(&d);
    return rc;
}

int sv_expr_problem_check(const json_t *problem, const sv_codec_env *env,
                          const sv_expr_problem_opts *opts, sv_err *e, sv_expr_error *where)
{
    sv_expr_problem *p = NULL;
    int rc = sv_expr_problem_decode(problem, env, opts, &p, e, where);
    sv_expr_problem_free(p);
    return rc;
}

const char *const sv_expr_problem_members[] = {"variables", "x0", "objective", "equalities",
                                               "inequalities", NULL};

const char sv_expr_problem_properties[] =
    "{\"variables\": {\"type\": [\"object\", \"array\"], \"description\": "
    "\"{\\\"<name>\\\": {\\\"size\\\": 1, \\\"lower\\\": number | [numbers or nulls] | null, "
    "\\\"upper\\\": ..., \\\"start\\\": number | [numbers]}} in the order of the flat x; or "
    "[\\\"x1\\\", \\\"x2\\\", ...] for unbounded scalars\"},"
    " \"x0\": {\"type\": \"array\", \"description\": "
    "\"the whole start as one flat array of n numbers (overrides the per-variable start)\"},"
    " \"objective\": {\"type\": [\"string\", \"null\"], \"description\": "
    "\"the expression to minimise, e.g. \\\"sum((x - 1)^2) + log(1 + t^2)\\\"\"},"
    " \"equalities\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"description\": "
    "\"c_i(x) = 0, each \\\"g\\\" or \\\"a = b\\\"\"},"
    " \"inequalities\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"description\": "
    "\"h_j(x) <= 0, each \\\"g\\\", \\\"a <= b\\\" or \\\"a >= b\\\"\"}}";

json_t *sv_expr_problem_schema(void)
{
    json_error_t jerr;
    json_t *props = json_loads(sv_expr_problem_properties, 0, &jerr);
    if (!props)
        return NULL;
    return json_pack("{s:s, s:s, s:[s], s:o}", "type", "object", "description",
                     "an `expr` problem (docs/expr.md): named scalar and vector variables, an "
                     "objective and constraints written as expression strings",
                     "required", "variables", "properties", props);
}

json_t *sv_expr_problem_values_json(const sv_expr_problem *p, const double *x)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (int i = 0; i < sv_expr_problem_n_vars(p); i++) {
        int size = sv_expr_problem_var_size(p, i);
        const double *v = x + sv_expr_problem_var_offset(p, i);
        json_t *val = size == 1 ? (isfinite(v[0]) ? json_real(v[0]) : json_null())
                                : sv_json_from_vector(v, size);
        if (!val || json_object_set_new(o, sv_expr_problem_var_name(p, i), val) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
