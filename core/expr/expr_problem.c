/* expr_problem.c - a smooth problem stated in the expression language: declared variables with
 * bounds and a start, an objective, equalities c(x) = 0 and inequalities h(x) <= 0, all compiled
 * once; evaluation of values, gradients, dense Jacobians and Lagrangian Hessian-vector products
 * over the flat x (the variables concatenated in declaration order). */
#include "core/expr/expr_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sv_expr_problem {
    int n_vars, n, m_eq, m_in;
    char **names;
    int *sizes, *offs;
    double *lower, *upper, *start;   /* one block of 3n */
    sv_expr *f;                      /* NULL: f = 0 */
    sv_expr **eq, **in;
};

/* ---- validation ---- */
static int is_identifier(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

static int check_vars(const sv_expr_problem_spec *spec, sv_err *err)
{
    size_t total = 0;
    char field[96];
    if (spec->n_vars < 1 || !spec->vars)
        return sv_fail(err, "/problem/variables", "at least one variable is required");
    for (int i = 0; i < spec->n_vars; i++) {
        const sv_expr_decl *v = &spec->vars[i];
        if (!v->name || !v->name[0])
            return sv_fail(err, "/problem/variables", "variable %d has an empty name", i);
        if (strlen(v->name) > SV_EXPR_MAX_NAME)
            return sv_fail(err, "/problem/variables", "variable %d: name longer than %d characters",
                           i, SV_EXPR_MAX_NAME);
        if (!is_identifier(v->name))
            return sv_fail(err, "/problem/variables",
                           "variable name '%s' is not an identifier (letters, digits, '_', not "
                           "starting with a digit)", v->name);
        snprintf(field, sizeof field, "/problem/variables/%s", v->name);
        if (sv__expr_reserved(v->name))
            return sv_fail(err, field, "'%s' is a function or constant of the language and cannot "
                           "name a variable", v->name);
        for (int j = 0; j < i; j++)
            if (strcmp(spec->vars[j].name, v->name) == 0)
                return sv_fail(err, field, "variable '%s' is declared twice", v->name);
        snprintf(field, sizeof field, "/problem/variables/%s/size", v->name);
        if (v->size < 1 || v->size > SV_EXPR_MAX_DIM)
            return sv_fail(err, field, "size must be between 1 and %d, got %d", SV_EXPR_MAX_DIM,
                           v->size);
        total += (size_t)v->size;
        if (total > SV_EXPR_MAX_DIM)
            return sv_fail(err, field, "the variables together exceed %d entries",
                           SV_EXPR_MAX_DIM);
        for (int k = 0; k < v->size; k++) {
            double lo = v->lower ? v->lower[k] : -INFINITY;
            double up = v->upper ? v->upper[k] : INFINITY;
            if (isnan(lo) || lo == INFINITY) {
                snprintf(field, sizeof field, "/problem/variables/%s/lower/%d", v->name, k);
                return sv_fail(err, field, "a lower bound must be a number or -inf");
            }
            if (isnan(up) || up == -INFINITY) {
                snprintf(field, sizeof field, "/problem/variables/%s/upper/%d", v->name, k);
                return sv_fail(err, field, "an upper bound must be a number or +inf");
            }
            if (lo > up) {
                snprintf(field, sizeof field, "/problem/variables/%s/lower/%d", v->name, k);
                return sv_fail(err, field, "lower bound %g exceeds upper bound %g", lo, up);
            }
            if (v->start) {
                double s = v->start[k];
                snprintf(field, sizeof field, "/problem/variables/%s/start/%d", v->name, k);
                if (!isfinite(s))
                    return sv_fail(err, field, "the start must be finite");
                if (s < lo || s > up)
                    return sv_fail(err, field, "start %g is outside the bounds [%g, %g]", s, lo,
                                   up);
            }
        }
    }
    return SV_OK;
}

static int check_list(const char *const *list, int m, const char *field, sv_err *err)
{
    char f[96];
    if (m < 0 || (m > 0 && !list))
        return sv_fail(err, field, "bad list of %d constraints", m);
    for (int i = 0; i < m; i++)
        if (!list[i]) {
            snprintf(f, sizeof f, "%s/%d", field, i);
            return sv_fail(err, f, "constraint %d is missing", i);
        }
    return SV_OK;
}

/* Compiles one string; on failure turns the expression error into err/where. */
static int compile_one(const char *src, const sv_expr_var *vars, int n_vars, sv_expr_mode mode,
                       const char *field, sv_expr **out, sv_err *err, sv_expr_error *where)
{
    sv_expr_error xe;
    int rc = sv_expr_compile(src, vars, n_vars, mode, out, &xe);
    if (rc == SV_OK)
        return SV_OK;
    if (where)
        *where = xe;
    if (rc == SV_ENOMEM) {
        sv_fail(err, field, "out of memory while compiling the expression");
        return SV_ENOMEM;
    }
    return sv_fail(err, field, "at %d: %s", xe.pos, xe.msg);
}

/* ---- life cycle ---- */
int sv_expr_problem_new(const sv_expr_problem_spec *spec, sv_expr_problem **out, sv_err *err,
                        sv_expr_error *where)
{
    sv_expr_problem *p = NULL;
    sv_expr_var *vars = NULL;
    char field[96];
    int rc;

    if (where) {
        where->code = SV_EXPR_OK;
        where->pos = -1;
        where->msg[0] = '\0';
    }
    if (!out)
        return sv_fail(err, "/problem", "no output pointer");
    *out = NULL;
    if (!spec)
        return sv_fail(err, "/problem", "no problem");
    /* everything that needs no memory first */
    if ((rc = check_vars(spec, err)) != SV_OK)
        return rc;
    if ((rc = check_list(spec->equalities, spec->n_eq, "/problem/equalities", err)) != SV_OK)
        return rc;
    if ((rc = check_list(spec->inequalities, spec->n_ineq, "/problem/inequalities", err)) != SV_OK)
        return rc;

    p = calloc(1, sizeof *p);
    vars = calloc((size_t)spec->n_vars, sizeof *vars);
    if (!p || !vars)
        goto nomem;
    p->n_vars = spec->n_vars;
    p->m_eq = spec->n_eq;
    p->m_in = spec->n_ineq;
    p->names = calloc((size_t)p->n_vars, sizeof *p->names);
    p->sizes = calloc((size_t)p->n_vars, sizeof *p->sizes);
    p->offs = calloc((size_t)p->n_vars, sizeof *p->offs);
    p->eq = calloc((size_t)p->m_eq + 1, sizeof *p->eq);
    p->in = calloc((size_t)p->m_in + 1, sizeof *p->in);
    if (!p->names || !p->sizes || !p->offs || !p->eq || !p->in)
        goto nomem;
    for (int i = 0; i < p->n_vars; i++) {
        const sv_expr_decl *v = &spec->vars[i];
        size_t len = strlen(v->name);
        if (!(p->names[i] = malloc(len + 1)))
            goto nomem;
        memcpy(p->names[i], v->name, len + 1);
        p->sizes[i] = v->size;
        p->offs[i] = p->n;
        p->n += v->size;
        vars[i].name = p->names[i];
        vars[i].size = v->size;
    }
    if (!(p->lower = malloc(3 * (size_t)p->n * sizeof *p->lower)))
        goto nomem;
    p->upper = p->lower + p->n;
    p->start = p->upper + p->n;
    for (int i = 0; i < p->n_vars; i++) {
        const sv_expr_decl *v = &spec->vars[i];
        for (int k = 0; k < v->size; k++) {
            int j = p->offs[i] + k;
            double lo = v->lower ? v->lower[k] : -INFINITY;
            double up = v->upper ? v->upper[k] : INFINITY;
            p->lower[j] = lo;
            p->upper[j] = up;
            /* default start: 0 moved into the bounds */
            p->start[j] = v->start ? v->start[k] : (0 < lo ? lo : 0 > up ? up : 0.0);
        }
    }

    if (spec->objective &&
        (rc = compile_one(spec->objective, vars, p->n_vars, SV_EXPR_PLAIN, "/problem/objective",
                          &p->f, err, where)) != SV_OK)
        goto fail;
    for (int i = 0; i < p->m_eq; i++) {
        snprintf(field, sizeof field, "/problem/equalities/%d", i);
        if ((rc = compile_one(spec->equalities[i], vars, p->n_vars, SV_EXPR_EQUALITY, field,
                              &p->eq[i], err, where)) != SV_OK)
            goto fail;
    }
    for (int i = 0; i < p->m_in; i++) {
        snprintf(field, sizeof field, "/problem/inequalities/%d", i);
        if ((rc = compile_one(spec->inequalities[i], vars, p->n_vars, SV_EXPR_INEQUALITY, field,
                              &p->in[i], err, where)) != SV_OK)
            goto fail;
    }
    free(vars);
    *out = p;
    return SV_OK;

nomem:
    sv_fail(err, "/problem", "out of memory");
    rc = SV_ENOMEM;
fail:
    free(vars);
    sv_expr_problem_free(p);
    return rc;
}

void sv_expr_problem_free(sv_expr_problem *p)
{
    if (!p)
        return;
    if (p->names)
        for (int i = 0; i < p->n_vars; i++)
            free(p->names[i]);
    free(p->names);
    free(p->sizes);
    free(p->offs);
    free(p->lower);
    sv_expr_free(p->f);
    if (p->eq)
        for (int i = 0; i < p->m_eq; i++)
            sv_expr_free(p->eq[i]);
    if (p->in)
        for (int i = 0; i < p->m_in; i++)
            sv_expr_free(p->in[i]);
    free(p->eq);
    free(p->in);
    free(p);
}

/* ---- shape ---- */
int sv_expr_problem_dim(const sv_expr_problem *p) { return p->n; }
int sv_expr_problem_n_eq(const sv_expr_problem *p) { return p->m_eq; }
int sv_expr_problem_n_ineq(const sv_expr_problem *p) { return p->m_in; }
int sv_expr_problem_has_objective(const sv_expr_problem *p) { return p->f != NULL; }
const double *sv_expr_problem_lower(const sv_expr_problem *p) { return p->lower; }
const double *sv_expr_problem_upper(const sv_expr_problem *p) { return p->upper; }
const double *sv_expr_problem_start(const sv_expr_problem *p) { return p->start; }
int sv_expr_problem_n_vars(const sv_expr_problem *p) { return p->n_vars; }

const char *sv_expr_problem_var_name(const sv_expr_problem *p, int i)
{
    return i >= 0 && i < p->n_vars ? p->names[i] : NULL;
}

int sv_expr_problem_var_size(const sv_expr_problem *p, int i)
{
    return i >= 0 && i < p->n_vars ? p->sizes[i] : 0;
}

int sv_expr_problem_var_offset(const sv_expr_problem *p, int i)
{
    return i >= 0 && i < p->n_vars ? p->offs[i] : -1;
}

int sv_expr_problem_var_find(const sv_expr_problem *p, const char *name)
{
    if (name)
        for (int i = 0; i < p->n_vars; i++)
            if (strcmp(p->names[i], name) == 0)
                return i;
    return -1;
}

void sv_expr_problem_pack(const sv_expr_problem *p, const double *const *values, double *x)
{
    for (int i = 0; i < p->n_vars; i++)
        memcpy(x + p->offs[i], values[i], (size_t)p->sizes[i] * sizeof *x);
}

void sv_expr_problem_unpack(const sv_expr_problem *p, const double *x, double *const *values)
{
    for (int i = 0; i < p->n_vars; i++)
        memcpy(values[i], x + p->offs[i], (size_t)p->sizes[i] * sizeof *x);
}

/* ---- evaluation ---- */
double sv_expr_problem_f(sv_expr_problem *p, const double *x)
{
    return p->f ? sv_expr_value(p->f, x) : 0.0;
}

double sv_expr_problem_grad(sv_expr_problem *p, const double *x, double *g)
{
    if (!p->f) {
        memset(g, 0, (size_t)p->n * sizeof *g);
        return 0.0;
    }
    return sv_expr_grad(p->f, x, g);
}

static void values(sv_expr **list, int m, const double *x, double *out)
{
    for (int i = 0; i < m; i++)
        out[i] = sv_expr_value(list[i], x);
}

/* One reverse sweep per row. */
static void jacobian(sv_expr **list, int m, int n, const double *x, double *c, double *J)
{
    for (int i = 0; i < m; i++) {
        double ci = sv_expr_grad(list[i], x, J + (size_t)i * (size_t)n);
        if (c)
            c[i] = ci;
    }
}

static void jtv(sv_expr **list, int m, int n, const double *x, const double *y, double *out)
{
    memset(out, 0, (size_t)n * sizeof *out);
    for (int i = 0; i < m; i++)
        if (y[i] != 0)
            sv_expr_grad_add(list[i], x, y[i], out);
}

void sv_expr_problem_eq(sv_expr_problem *p, const double *x, double *c)
{
    values(p->eq, p->m_eq, x, c);
}

void sv_expr_problem_eq_jac(sv_expr_problem *p, const double *x, double *c, double *J)
{
    jacobian(p->eq, p->m_eq, p->n, x, c, J);
}

void sv_expr_problem_eq_jtv(sv_expr_problem *p, const double *x, const double *y, double *out)
{
    jtv(p->eq, p->m_eq, p->n, x, y, out);
}

void sv_expr_problem_ineq(sv_expr_problem *p, const double *x, double *h)
{
    values(p->in, p->m_in, x, h);
}

void sv_expr_problem_ineq_jac(sv_expr_problem *p, const double *x, double *h, double *J)
{
    jacobian(p->in, p->m_in, p->n, x, h, J);
}

void sv_expr_problem_ineq_jtv(sv_expr_problem *p, const double *x, const double *z, double *out)
{
    jtv(p->in, p->m_in, p->n, x, z, out);
}

void sv_expr_problem_lag_grad(sv_expr_problem *p, const double *x, double sigma, const double *y,
                              const double *z, double *g)
{
    memset(g, 0, (size_t)p->n * sizeof *g);
    if (p->f && sigma != 0)
        sv_expr_grad_add(p->f, x, sigma, g);
    for (int i = 0; y && i < p->m_eq; i++)
        if (y[i] != 0)
            sv_expr_grad_add(p->eq[i], x, y[i], g);
    for (int j = 0; z && j < p->m_in; j++)
        if (z[j] != 0)
            sv_expr_grad_add(p->in[j], x, z[j], g);
}

void sv_expr_problem_lag_hvp(sv_expr_problem *p, const double *x, double sigma, const double *y,
                             const double *z, const double *v, double *hv)
{
    memset(hv, 0, (size_t)p->n * sizeof *hv);
    if (p->f && sigma != 0)
        sv_expr_hvp_add(p->f, x, v, sigma, hv, NULL);
    for (int i = 0; y && i < p->m_eq; i++)
        if (y[i] != 0)
            sv_expr_hvp_add(p->eq[i], x, v, y[i], hv, NULL);
    for (int j = 0; z && j < p->m_in; j++)
        if (z[j] != 0)
            sv_expr_hvp_add(p->in[j], x, v, z[j], hv, NULL);
}
