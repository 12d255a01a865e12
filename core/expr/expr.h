/* expr.h - the problem language: smooth functions of named scalar and vector variables written as
 * expression strings, compiled once to a tape and evaluated with exact derivatives (reverse mode
 * for gradients and Jacobians, forward-over-reverse for Hessian-vector products), and the
 * `sv_expr_problem` built from them (bounds, objective, equalities c(x) = 0, inequalities
 * h(x) <= 0). The grammar, the size rules and the error messages are in docs/expr.md.
 *
 * Conventions: indices are 0-based (v[0] is the first element); the flat x is the declared
 * variables concatenated in declaration order; every error position is a 0-based character offset
 * into the expression string. Domain errors never trap: log of a non-positive number, sqrt of a
 * negative one, 0/0 or a negative base to a non-integer power give NaN, and a NaN anywhere inside
 * an expression makes its value NaN (so checking the result with isfinite() is enough); overflow
 * gives +-inf. Evaluation uses scratch memory inside the compiled object, so one sv_expr (and one
 * sv_expr_problem) must not be evaluated from two threads at once; distinct objects are
 * independent. */
#ifndef SV_EXPR_H
#define SV_EXPR_H

#include <stddef.h>

#include "core/solver.h"

/* Largest size of one variable and largest total dimension n of a problem. */
#define SV_EXPR_MAX_DIM (1 << 26)
/* Deepest nesting of parentheses, unary minus and powers; deeper input is rejected, not recursed. */
#define SV_EXPR_MAX_DEPTH 200
/* Longest variable name of a problem, in characters. */
#define SV_EXPR_MAX_NAME 64
/* Longest expression string, in characters. */
#define SV_EXPR_MAX_LEN (1 << 20)

/* ---- errors ---- */
typedef enum {
    SV_EXPR_OK = 0,
    SV_EXPR_ECHAR,      /* unexpected character ('$', non-ASCII, a lone '.') */
    SV_EXPR_EPAREN,     /* unbalanced parenthesis or bracket */
    SV_EXPR_ENAME,      /* unknown name */
    SV_EXPR_EFUNC,      /* unknown function (or a variable/constant called like one) */
    SV_EXPR_EARITY,     /* wrong number of arguments */
    SV_EXPR_ESIZE,      /* vector sizes do not match, or the result is not a scalar */
    SV_EXPR_EINDEX,     /* index out of range or not a non-negative integer literal */
    SV_EXPR_ETRAILING,  /* input left after a complete expression */
    SV_EXPR_EEMPTY,     /* nothing but white space */
    SV_EXPR_ESYNTAX,    /* an operand or a ')' / ']' / ',' expected but something else found */
    SV_EXPR_ENUMBER,    /* malformed number ("1e", "1e+") or one that overflows a double */
    SV_EXPR_ELIMIT,     /* nested deeper than SV_EXPR_MAX_DEPTH or longer than SV_EXPR_MAX_LEN */
    SV_EXPR_EDECL,      /* bad variable declaration passed by the caller (not the user's string) */
    SV_EXPR_ENOMEM      /* allocation failed */
} sv_expr_errcode;

typedef struct {
    sv_expr_errcode code;
    int pos;        /* 0-based character offset of the offending token; -1 if none applies */
    char msg[200];  /* what is wrong, without the position: "unknown name 'y'" */
} sv_expr_error;

/* Short fixed text for a code ("unknown name", ...); never NULL. */
const char *sv_expr_reason(sv_expr_errcode code);

/* ---- compiled expressions ---- */
/* A variable the caller declares: its name and its size (1 = scalar). */
typedef struct {
    const char *name;
    int size;
} sv_expr_var;

/* What a string may be: a plain scalar expression, an equality constraint (either "g" meaning
 * g = 0, or "a = b" meaning a - b = 0) or an inequality constraint ("g" meaning g <= 0,
 * "a <= b" meaning a - b <= 0, "a >= b" meaning b - a <= 0). */
typedef enum {
    SV_EXPR_PLAIN = 0,
    SV_EXPR_EQUALITY,
    SV_EXPR_INEQUALITY
} sv_expr_mode;

typedef struct sv_expr sv_expr;

/* Parses and validates `src` (NUL-terminated) over the variables vars[0..n_vars) and compiles it
 * to a tape. On success *out owns the result (free with sv_expr_free) and SV_OK is returned. On
 * failure *out is NULL, err (if non-NULL) says where and why, and the return is SV_EINVAL (bad
 * string or declaration) or SV_ENOMEM. Variables are matched by exact name; the first of two
 * equal names wins (sv_expr_problem_new rejects duplicates). */
int sv_expr_compile(const char *src, const sv_expr_var *vars, int n_vars, sv_expr_mode mode,
                    sv_expr **out, sv_expr_error *err);

/* Frees e; accepts NULL. */
void sv_expr_free(sv_expr *e);

/* Length of the flat x the expression reads (sum of the declared sizes). */
int sv_expr_dim(const sv_expr *e);

/* Number of tape nodes after constant folding (diagnostics and tests). */
int sv_expr_tape_len(const sv_expr *e);

/* Value at x (x has sv_expr_dim(e) entries). */
double sv_expr_value(sv_expr *e, const double *x);

/* Gradient at x into g[0..n) (overwritten) by one reverse sweep; returns the value. */
double sv_expr_grad(sv_expr *e, const double *x, double *g);

/* g += w * gradient at x; returns the value. Lets a caller build J^T y or a Lagrangian gradient
 * without a temporary. */
double sv_expr_grad_add(sv_expr *e, const double *x, double w, double *g);

/* hv += w * (Hessian at x) * v, exact, by a forward tangent sweep along v followed by one reverse
 * sweep on dual numbers (forward-over-reverse). If g is non-NULL, g += w * gradient as well.
 * Returns the value. */
double sv_expr_hvp_add(sv_expr *e, const double *x, const double *v, double w, double *hv,
                       double *g);

/* ---- problems ---- */
/* One declared variable of a problem. lower/upper/start are NULL or point to `size` values:
 * NULL lower is -inf, NULL upper is +inf, NULL start is 0 moved into the bounds (the bound
 * nearest to 0 when 0 is outside them). Infinite bounds are allowed (-inf lower, +inf upper). */
typedef struct {
    const char *name;     /* [A-Za-z_][A-Za-z0-9_]*, at most SV_EXPR_MAX_NAME characters, not a
                           * function or constant name, unique */
    int size;             /* 1 .. SV_EXPR_MAX_DIM */
    const double *lower;
    const double *upper;
    const double *start;
} sv_expr_decl;

typedef struct {
    const sv_expr_decl *vars;
    int n_vars;                        /* >= 1 */
    const char *objective;             /* NULL: f = 0 (a feasibility problem) */
    const char *const *equalities;     /* n_eq strings, each c_i(x) = 0 */
    int n_eq;
    const char *const *inequalities;   /* n_ineq strings, each h_j(x) <= 0 */
    int n_ineq;
} sv_expr_problem_spec;

typedef struct sv_expr_problem sv_expr_problem;

/* Validates spec completely, then compiles it into *out (owned by the caller, free with
 * sv_expr_problem_free). The spec's memory is not referenced afterwards. On failure *out is NULL,
 * SV_EINVAL or SV_ENOMEM is returned, and err (if non-NULL) names the field relative to the job,
 * as the codec's JSON shape in docs/expr.md spells it ("/problem/equalities/1",
 * "/problem/variables/x/lower/0") with a message that starts with the position for expression
 * errors ("at 4: unknown name 'y'"). where (if non-NULL) receives the structured expression error
 * (code SV_EXPR_OK when the failure was not inside an expression string). */
int sv_expr_problem_new(const sv_expr_problem_spec *spec, sv_expr_problem **out, sv_err *err,
                        sv_expr_error *where);

/* Frees p; accepts NULL. */
void sv_expr_problem_free(sv_expr_problem *p);

int sv_expr_problem_dim(const sv_expr_problem *p);      /* n: total length of x */
int sv_expr_problem_n_eq(const sv_expr_problem *p);     /* m_eq */
int sv_expr_problem_n_ineq(const sv_expr_problem *p);   /* m_ineq */
int sv_expr_problem_has_objective(const sv_expr_problem *p);

/* Flat bounds and start, n values each, owned by p. */
const double *sv_expr_problem_lower(const sv_expr_problem *p);
const double *sv_expr_problem_upper(const sv_expr_problem *p);
const double *sv_expr_problem_start(const sv_expr_problem *p);

/* Declared variables, in declaration (= x) order. */
int sv_expr_problem_n_vars(const sv_expr_problem *p);
const char *sv_expr_problem_var_name(const sv_expr_problem *p, int i);
int sv_expr_problem_var_size(const sv_expr_problem *p, int i);
int sv_expr_problem_var_offset(const sv_expr_problem *p, int i);
/* Index of the variable called name, or -1. */
int sv_expr_problem_var_find(const sv_expr_problem *p, const char *name);

/* Pack: x[offset_i .. offset_i + size_i) = values[i][0 .. size_i) for every variable i.
 * Unpack: the reverse. values has n_vars pointers, each to size_i doubles. */
void sv_expr_problem_pack(const sv_expr_problem *p, const double *const *values, double *x);
void sv_expr_problem_unpack(const sv_expr_problem *p, const double *x, double *const *values);

/* Objective f(x); 0 without an objective. */
double sv_expr_problem_f(sv_expr_problem *p, const double *x);
/* Gradient into g[0..n); returns f(x). */
double sv_expr_problem_grad(sv_expr_problem *p, const double *x, double *g);

/* c(x) into c[0..m_eq); Jacobian dense row-major m_eq x n into J, one reverse sweep per row;
 * c may be NULL in the Jacobian call (it is filled when not NULL). */
void sv_expr_problem_eq(sv_expr_problem *p, const double *x, double *c);
void sv_expr_problem_eq_jac(sv_expr_problem *p, const double *x, double *c, double *J);
/* out[0..n) = J_c(x)^T y, without forming J. */
void sv_expr_problem_eq_jtv(sv_expr_problem *p, const double *x, const double *y, double *out);

/* The same for h(x) <= 0 (m_ineq rows). */
void sv_expr_problem_ineq(sv_expr_problem *p, const double *x, double *h);
void sv_expr_problem_ineq_jac(sv_expr_problem *p, const double *x, double *h, double *J);
void sv_expr_problem_ineq_jtv(sv_expr_problem *p, const double *x, const double *z, double *out);

/* Lagrangian gradient g[0..n) = sigma grad f + J_c^T y + J_h^T z (y, z may be NULL: zero). */
void sv_expr_problem_lag_grad(sv_expr_problem *p, const double *x, double sigma, const double *y,
                              const double *z, double *g);

/* Lagrangian Hessian-vector product, exact:
 *   hv = (sigma * H_f(x) + sum_i y_i H_{c_i}(x) + sum_j z_j H_{h_j}(x)) v
 * for the Lagrangian L = sigma f + y^T c + z^T h (pass -y for the f - y^T c sign convention).
 * y (m_eq values) and z (m_ineq values) may be NULL when read as zero; terms with a zero weight
 * are skipped. hv[0..n) is overwritten. */
void sv_expr_problem_lag_hvp(sv_expr_problem *p, const double *x, double sigma, const double *y,
                             const double *z, const double *v, double *hv);

#endif
