/* test_expr.c - the problem language: exact values of known expressions (precedence,
 * associativity, vectors, constants), gradients, Jacobians and Hessian-vector products of random
 * seeded expressions against fourth-order central differences and against a value computed
 * alongside the string, every class of malformed input with its position and reason, the
 * Hock-Schittkowski problems (those of tests/data/hs) at their published optima, and the problem
 * object (bounds, start, pack/unpack, validation, Lagrangian products). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/expr/expr.h"
#include "core/rng.h"

/* ---- helpers ---- */
static sv_expr *compile_ok(const char *src, const sv_expr_var *vars, int nv, sv_expr_mode mode)
{
    sv_expr *e = NULL;
    sv_expr_error err;
    int rc = sv_expr_compile(src, vars, nv, mode, &e, &err);
    if (rc != SV_OK)
        fail_msg("'%s' should compile but: at %d: %s", src, err.pos, err.msg);
    assert_non_null(e);
    return e;
}

/* Relative difference with an absolute floor of 1: the tolerance is relative for |ref| >= 1. */
static double rel_err(double got, double ref)
{
    double s = fabs(ref) > 1 ? fabs(ref) : 1;
    return fabs(got - ref) / s;
}

/* Fourth-order central difference of t -> f(x + t d) at 0. */
typedef double (*scalar_fn)(void *ctx, const double *x);

static double fd_dir(scalar_fn f, void *ctx, const double *x, const double *d, int n, double h)
{
    double xp[64], vals[4];
    static const double steps[4] = {-2, -1, 1, 2};
    for (int s = 0; s < 4; s++) {
        for (int i = 0; i < n; i++)
            xp[i] = x[i] + steps[s] * h * d[i];
        vals[s] = f(ctx, xp);
    }
    return (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h);
}

/* Relative error of an exact derivative ad against central differences; when the first step is
 * too coarse for a fast-varying function, a 5x smaller one gets a second chance (truncation error
 * falls as h^4, so a right derivative is approached, a wrong one is not). *fd gets the estimate. */
static double fd_check(double ad, scalar_fn f, void *ctx, const double *x, const double *d, int n,
                       double *fd)
{
    *fd = fd_dir(f, ctx, x, d, n, 1e-4);
    double err = rel_err(ad, *fd);
    if (err > 1e-6) {
        double fd2 = fd_dir(f, ctx, x, d, n, 2e-5), err2 = rel_err(ad, fd2);
        if (err2 < err) {
            err = err2;
            *fd = fd2;
        }
    }
    return err;
}

static double expr_fn(void *ctx, const double *x) { return sv_expr_value(ctx, x); }

/* Context for differencing one component of a gradient. */
typedef struct {
    sv_expr *e;
    int comp;
    double *g;
} grad_ctx;

static double grad_comp_fn(void *ctx, const double *x)
{
    grad_ctx *c = ctx;
    sv_expr_grad(c->e, x, c->g);
    return c->g[c->comp];
}

/* ---- exact values ---- */
/* Variables: x = 3, y = 0.5 (scalars), v = [1, 2, 3], w = [4, 5, 6]. The expected values are
 * computed at run time from volatile copies, so C and the evaluator make the same libm calls in
 * the same order and agree bit for bit. */
static const sv_expr_var VARS4[] = {{"x", 1}, {"y", 1}, {"v", 3}, {"w", 3}};
static const double X4[] = {3, 0.5, 1, 2, 3, 4, 5, 6};

static void check_exact(const char *src, double want)
{
    sv_expr *e = compile_ok(src, VARS4, 4, SV_EXPR_PLAIN);
    double got = sv_expr_value(e, X4);
    if (!(got == want))
        fail_msg("'%s' = %.17g, want %.17g", src, got, want);
    sv_expr_free(e);
}

static void test_exact_values(void **state)
{
    (void)state;
    volatile double x = 3, y = 0.5, v0 = 1, v1 = 2, v2 = 3, w0 = 4, w1 = 5, w2 = 6;
    const double pi = 3.14159265358979323846, ee = 2.71828182845904523536;
    check_exact("1+2*3", 7);
    check_exact("42", 42);
    check_exact("1e-3*1000", 1e-3 * 1000);
    check_exact("2.5E2 + .5 + 3.", 253.5);
    check_exact("1e+2", 100);
    check_exact("pi", pi);
    check_exact("e", ee);
    check_exact("2*pi*x", 2 * pi * x);
    check_exact("x*y + exp(y)", x * y + exp(y));
    check_exact("log(x) - sqrt(x)", log(x) - sqrt(x));
    check_exact("sin(x)*cos(y) + tanh(y)", sin(x) * cos(y) + tanh(y));
    check_exact("abs(y - x)", fabs(y - x));
    check_exact("x^y", pow(x, y));
    check_exact("y^x", pow(y, x));
    check_exact("x/y/2", x / y / 2);
    check_exact("sum(v)", v0 + v1 + v2);
    check_exact("dot(v, w)", v0 * w0 + v1 * w1 + v2 * w2);
    check_exact("v[0] + 10*v[2]", v0 + 10 * v2);
    check_exact("sum(v*w)", v0 * w0 + v1 * w1 + v2 * w2);
    check_exact("sum(v^2)", pow(v0, 2) + pow(v1, 2) + pow(v2, 2));
    check_exact("sum(2*v - w/2)", (2 * v0 - w0 / 2) + (2 * v1 - w1 / 2) + (2 * v2 - w2 / 2));
    check_exact("sum(exp(v))", exp(v0) + exp(v1) + exp(v2));
    check_exact("sum(v + 1)", (v0 + 1) + (v1 + 1) + (v2 + 1));
    check_exact("sum(x^v)", pow(x, v0) + pow(x, v1) + pow(x, v2));
    check_exact("sum(v^x)", pow(v0, x) + pow(v1, x) + pow(v2, x));
    check_exact("(v*w)[2]", v2 * w2);
    check_exact("exp(v)[1]", exp(v1));
    check_exact("dot(v + x, w)", (v0 + x) * w0 + (v1 + x) * w1 + (v2 + x) * w2);
    check_exact("dot(x, y)", x * y);
    check_exact("sum(x)", x);
    check_exact("x[0]", x);
    check_exact("sum(v)*x", (v0 + v1 + v2) * x);
    check_exact("sum(v/w)", v0 / w0 + v1 / w1 + v2 / w2);
    check_exact("  x\t+\n y ", x + y);
}

static void test_precedence(void **state)
{
    (void)state;
    volatile double x = 3, v1 = 2;
    check_exact("2^3^2", 512);               /* right-associative */
    check_exact("(2^3)^2", 64);
    check_exact("-2^2", -4);                 /* ^ binds tighter than unary minus */
    check_exact("(-2)^2", 4);
    check_exact("-x^2", -(x * x));
    check_exact("2^-1", 0.5);                /* the exponent may carry a sign */
    check_exact("2^-x^2", pow(2, -(x * x))); /* = 2^(-(x^2)) */
    check_exact("2^2^-1", pow(2, 0.5));
    check_exact("1-2-3", -4);                /* left-associative */
    check_exact("8/4/2", 1);
    check_exact("8/(4/2)", 4);
    check_exact("2*3^2", 18);
    check_exact("2^3*2", 16);
    check_exact("-2*-3", 6);
    check_exact("--3", 3);
    check_exact("2- -3", 5);
    check_exact("+x", x);
    check_exact("(1+2)*3", 9);
    check_exact("1+2*3-4/2", 5);
    check_exact("-v[1]^2", -(v1 * v1));
    check_exact("v[1]^2", v1 * v1);
    check_exact("-sum(v)^2", -36);
    check_exact("2*-x^2", 2 * -(x * x));
    check_exact("x - -x", 2 * x);
}

static void test_constant_folding(void **state)
{
    (void)state;
    sv_expr *e = compile_ok("2*pi*x", VARS4, 4, SV_EXPR_PLAIN);
    assert_int_equal(sv_expr_tape_len(e), 3);   /* const(2 pi), x, * */
    sv_expr_free(e);
    e = compile_ok("exp(1) + 2^10 - sqrt(4)", VARS4, 4, SV_EXPR_PLAIN);
    assert_int_equal(sv_expr_tape_len(e), 1);
    assert_true(sv_expr_value(e, X4) == exp(1) + 1024 - 2);
    double g[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    sv_expr_grad(e, X4, g);
    for (int i = 0; i < 8; i++)
        assert_true(g[i] == 0);
    sv_expr_free(e);
    e = compile_ok("x^2", VARS4, 4, SV_EXPR_PLAIN);
    assert_int_equal(sv_expr_tape_len(e), 2);   /* x, ^2 with the exponent folded in */
    sv_expr_free(e);
}

/* ---- closed-form derivatives ---- */
static void test_closed_form_derivatives(void **state)
{
    (void)state;
    /* f = x^2 y + exp(y) sum(v^2) + dot(v, w) */
    sv_expr *e = compile_ok("x^2*y + exp(y)*sum(v^2) + dot(v, w)", VARS4, 4, SV_EXPR_PLAIN);
    double g[8], hv[8] = {0}, g2[8] = {0};
    const double x = 3, y = 0.5, v[3] = {1, 2, 3}, w[3] = {4, 5, 6};
    double vv = 14, ey = exp(y);
    sv_expr_grad(e, X4, g);
    assert_true(rel_err(g[0], 2 * x * y) < 1e-15);
    assert_true(rel_err(g[1], x * x + ey * vv) < 1e-15);
    for (int k = 0; k < 3; k++) {
        assert_true(rel_err(g[2 + k], 2 * ey * v[k] + w[k]) < 1e-15);
        assert_true(rel_err(g[5 + k], v[k]) < 1e-15);
    }
    /* H d for d = e_y: column y of the Hessian = [2x, ey vv, 2 ey v, 0] */
    double d[8] = {0, 1, 0, 0, 0, 0, 0, 0};
    sv_expr_hvp_add(e, X4, d, 1.0, hv, g2);
    assert_true(rel_err(hv[0], 2 * x) < 1e-15);
    assert_true(rel_err(hv[1], ey * vv) < 1e-15);
    for (int k = 0; k < 3; k++) {
        assert_true(rel_err(hv[2 + k], 2 * ey * v[k]) < 1e-15);
        assert_true(hv[5 + k] == 0);
    }
    for (int i = 0; i < 8; i++)
        assert_true(g2[i] == g[i]);   /* the gradient came along */
    /* H d for d = e_{w0}: only the v0 row: d2/dv0 dw0 = 1 */
    memset(hv, 0, sizeof hv);
    double d2[8] = {0, 0, 0, 0, 0, 1, 0, 0};
    sv_expr_hvp_add(e, X4, d2, 2.0, hv, NULL);
    for (int i = 0; i < 8; i++)
        assert_true(hv[i] == (i == 2 ? 2.0 : 0.0));
    sv_expr_free(e);

    /* abs, tanh, division and a variable exponent, one at a time */
    static const sv_expr_var V1[] = {{"t", 1}};
    struct {
        const char *src;
        double t, d1, d2;
    } cases[] = {
        {"abs(t)", -2, -1, 0},
        {"abs(t)", 2, 1, 0},
        {"tanh(t)", 0.3, 1 - tanh(0.3) * tanh(0.3),
         -2 * tanh(0.3) * (1 - tanh(0.3) * tanh(0.3))},
        {"1/t", 2, -0.25, 0.25},
        {"t^t", 2, 4 * (log(2) + 1), 4 * (log(2) + 1) * (log(2) + 1) + 4 * 0.5},
        {"log(t)", 4, 0.25, -1.0 / 16},
        {"sqrt(t)", 4, 0.25, -0.25 / 8},
        {"t^0.5", 4, 0.25, -0.25 / 8},
        {"t^1", 0, 1, 0},
        {"t^0", 0, 0, 0},
        {"t^2", 0, 0, 2},
        {"t^3", -2, 12, -12},
        {"cos(t)", 1, -sin(1), -cos(1)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sv_expr *f = compile_ok(cases[i].src, V1, 1, SV_EXPR_PLAIN);
        double t = cases[i].t, gt, h = 0, one = 1;
        sv_expr_grad(f, &t, &gt);
        sv_expr_hvp_add(f, &t, &one, 1.0, &h, NULL);
        if (rel_err(gt, cases[i].d1) > 1e-14 || rel_err(h, cases[i].d2) > 1e-14)
            fail_msg("%s at %g: d1 %.17g (want %.17g), d2 %.17g (want %.17g)", cases[i].src, t,
                     gt, cases[i].d1, h, cases[i].d2);
        sv_expr_free(f);
    }
}

/* ---- random expressions ---- */
/* Variables a, b, c (scalars), u, w (size 3): x = [a b c u0 u1 u2 w0 w1 w2]. The generator builds
 * a string and, alongside it, its value at the point pt computed directly in C, which checks the
 * parser's reading of every random string. Domains are safe by construction: log and sqrt get
 * 1.2 + s^2 or 0.5 + s^2, divisions 1.5 + s^2 or 2 + cos(s), abs an argument bounded away from 0,
 * non-constant exponents a base >= 0.1. Powers take shallow arguments only: nested cubes make
 * sin(x^27)-like functions whose central differences, not derivatives, lose the digits. */
#define RN 9
static const sv_expr_var RVARS[] = {{"a", 1}, {"b", 1}, {"c", 1}, {"u", 3}, {"w", 3}};

typedef struct {
    sv_rng r;
    char *s;
    size_t len, cap;
    const double *pt;
} gen;

static void put(gen *g, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = g->cap - g->len;
        va_start(ap, fmt);
        int n = vsnprintf(g->s + g->len, room, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < room) {
            g->len += (size_t)n;
            return;
        }
        g->cap = g->cap * 2 + (size_t)n + 64;
        g->s = realloc(g->s, g->cap);
        assert_non_null(g->s);
    }
}

static int pick(gen *g, int n) { return (int)sv_rng_below(&g->r, (uint64_t)n); }

static double gen_s(gen *g, int d);

static void gen_v(gen *g, int d, double out[3])
{
    double p[3], q[3], s;
    if (d <= 0 || pick(g, 5) == 0) {
        int which = pick(g, 2);
        put(g, which ? "w" : "u");
        for (int k = 0; k < 3; k++)
            out[k] = g->pt[3 + 3 * which + k];
        return;
    }
    switch (pick(g, 14)) {
    case 0:
        put(g, "("); gen_v(g, d - 1, p); put(g, " + "); gen_v(g, d - 1, q); put(g, ")");
        for (int k = 0; k < 3; k++) out[k] = p[k] + q[k];
        break;
    case 1:
        put(g, "("); gen_v(g, d - 1, p); put(g, " - "); s = gen_s(g, d - 1); put(g, ")");
        for (int k = 0; k < 3; k++) out[k] = p[k] - s;
        break;
    case 2:
        put(g, "("); s = gen_s(g, d - 1); put(g, "*"); gen_v(g, d - 1, p); put(g, ")");
        for (int k = 0; k < 3; k++) out[k] = s * p[k];
        break;
    case 3:
        put(g, "("); gen_v(g, d - 1, p); put(g, " * "); gen_v(g, d - 1, q); put(g, ")");
        for (int k = 0; k < 3; k++) out[k] = p[k] * q[k];
        break;
    case 4:
        put(g, "sin("); gen_v(g, d - 1, p); put(g, ")");
        for (int k = 0; k < 3; k++) out[k] = sin(p[k]);
        break;
    case 5:
        put(g, "exp(tanh("); gen_v(g, d - 1, p); put(g, "))");
        for (int k = 0; k < 3; k++) out[k] = exp(tanh(p[k]));
        break;
    case 6:
        put(g, "("); gen_v(g, d > 2 ? 1 : d - 1, p); put(g, "^2)");
        for (int k = 0; k < 3; k++) out[k] = pow(p[k], 2);
        break;
    case 7:
        put(g, "("); gen_v(g, d - 1, p); put(g, "/(2 + cos("); gen_v(g, d - 1, q); put(g, ")))");
        for (int k = 0; k < 3; k++) out[k] = p[k] / (2 + cos(q[k]));
        break;
    case 8:
        put(g, "log(1.5 + "); gen_v(g, d - 1, p); put(g, "^2)");
        for (int k = 0; k < 3; k++) out[k] = log(1.5 + pow(p[k], 2));
        break;
    case 9:
        put(g, "(-"); gen_v(g, d - 1, p); put(g, ")");
        for (int k = 0; k < 3; k++) out[k] = -p[k];
        break;
    case 10:
        put(g, "sqrt(1 + "); gen_v(g, d - 1, p); put(g, "^2)");
        for (int k = 0; k < 3; k++) out[k] = sqrt(1 + pow(p[k], 2));
        break;
    case 11:
        put(g, "abs(2*sin("); gen_v(g, d - 1, p); put(g, ") - 3)");
        for (int k = 0; k < 3; k++) out[k] = fabs(2 * sin(p[k]) - 3);
        break;
    case 12:
        put(g, "((1.2 + cos("); gen_v(g, d - 1, p); put(g, "))^sin("); s = gen_s(g, d - 1);
        put(g, "))");
        for (int k = 0; k < 3; k++) out[k] = pow(1.2 + cos(p[k]), sin(s));
        break;
    default:
        put(g, "(2^sin("); gen_v(g, d - 1, p); put(g, "))");
        for (int k = 0; k < 3; k++) out[k] = pow(2, sin(p[k]));
        break;
    }
}

static double gen_s(gen *g, int d)
{
    double A, B, C, p[3], q[3];
    if (d <= 0 || pick(g, 5) == 0) {
        static const char *const nums[] = {"0.5", "1.5", "2", "3", "0.25", "1e-1", "2.5E0"};
        static const double numv[] = {0.5, 1.5, 2, 3, 0.25, 0.1, 2.5};
        int k;
        switch (pick(g, 4)) {
        case 0:
            k = pick(g, 7);
            put(g, "%s", nums[k]);
            return numv[k];
        case 1:
        case 2:
            k = pick(g, 3);
            put(g, "%c", "abc"[k]);
            return g->pt[k];
        default:
            k = pick(g, 6);
            put(g, "%c[%d]", k < 3 ? 'u' : 'w', k % 3);
            return g->pt[3 + k];
        }
    }
    switch (pick(g, 25)) {
    case 0: put(g, "("); A = gen_s(g, d - 1); put(g, " + "); B = gen_s(g, d - 1); put(g, ")");
        return A + B;
    case 1: put(g, "("); A = gen_s(g, d - 1); put(g, " - "); B = gen_s(g, d - 1); put(g, ")");
        return A - B;
    case 2: put(g, "("); A = gen_s(g, d - 1); put(g, "*"); B = gen_s(g, d - 1); put(g, ")");
        return A * B;
    case 3: put(g, "("); A = gen_s(g, d - 1); put(g, "/(1.5 + "); B = gen_s(g, d - 1);
        put(g, "^2))");
        return A / (1.5 + pow(B, 2));
    case 4: put(g, "(-"); A = gen_s(g, d - 1); put(g, ")");
        return -A;
    case 5: put(g, "(-"); A = gen_s(g, d > 2 ? 1 : d - 1); put(g, "^2)");
        return -pow(A, 2);
    case 6: put(g, "exp(tanh("); A = gen_s(g, d - 1); put(g, "))");
        return exp(tanh(A));
    case 7: put(g, "log(1.2 + "); A = gen_s(g, d - 1); put(g, "^2)");
        return log(1.2 + pow(A, 2));
    case 8: put(g, "sqrt(0.5 + "); A = gen_s(g, d - 1); put(g, "^2)");
        return sqrt(0.5 + pow(A, 2));
    case 9: put(g, "sin("); A = gen_s(g, d - 1); put(g, ")");
        return sin(A);
    case 10: put(g, "cos("); A = gen_s(g, d - 1); put(g, ")");
        return cos(A);
    case 11: put(g, "tanh("); A = gen_s(g, d - 1); put(g, ")");
        return tanh(A);
    case 12: put(g, "abs(2*sin("); A = gen_s(g, d - 1); put(g, ") - 3)");
        return fabs(2 * sin(A) - 3);
    case 13: put(g, "abs(cos("); A = gen_s(g, d - 1); put(g, ") + 1.5)");
        return fabs(cos(A) + 1.5);
    case 14: put(g, "("); A = gen_s(g, 0); put(g, "^3)");
        return pow(A, 3);
    case 15: put(g, "((1.1 + sin("); A = gen_s(g, d - 1); put(g, "))^cos("); B = gen_s(g, d - 1);
        put(g, "))");
        return pow(1.1 + sin(A), cos(B));
    case 16: put(g, "((0.5 + "); A = gen_s(g, d - 1); put(g, "^2)^-0.5)");
        return pow(0.5 + pow(A, 2), -0.5);
    case 17: put(g, "(2^sin("); A = gen_s(g, d - 1); put(g, "))");
        return pow(2, sin(A));
    case 18: {
        put(g, "sum("); gen_v(g, d - 1, p); put(g, ")");
        return (p[0] + p[1]) + p[2];
    }
    case 19: {
        put(g, "dot("); gen_v(g, d - 1, p); put(g, ", "); gen_v(g, d - 1, q); put(g, ")");
        return (p[0] * q[0] + p[1] * q[1]) + p[2] * q[2];
    }
    case 20: {
        int k = pick(g, 3);
        put(g, "("); gen_v(g, d - 1, p); put(g, ")[%d]", k);
        return p[k];
    }
    case 21: put(g, "("); A = gen_s(g, d - 1); put(g, "/(2 + cos("); B = gen_s(g, d - 1);
        put(g, ")))");
        return A / (2 + cos(B));
    case 22: put(g, "("); A = gen_s(g, d - 1); put(g, " + "); B = gen_s(g, d - 1); put(g, " * ");
        C = gen_s(g, d - 1); put(g, ")");
        return A + B * C;
    case 23: put(g, "("); A = gen_s(g, d - 1); put(g, " - "); B = gen_s(g, d - 1); put(g, " - ");
        C = gen_s(g, d - 1); put(g, ")");
        return (A - B) - C;
    default: put(g, "("); A = gen_s(g, d - 1); put(g, "*"); B = gen_s(g, d - 1);
        put(g, "/(3 + "); C = gen_s(g, d - 1); put(g, "^2))");
        return (A * B) / (3 + pow(C, 2));
    }
}

static void random_point(sv_rng *r, double *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = 3 * sv_rng_uniform(r) - 1.5;
}

#define N_RANDOM 1500

static void test_random_gradients_and_hvp(void **state)
{
    (void)state;
    gen g = {.cap = 256};
    double x[RN], grad[RN], hv[RN], hu[RN], gtmp[RN], dir[RN], dir2[RN];
    double worst_val = 0, worst_g = 0, worst_h = 0, worst_sym = 0;
    long chars = 0;
    g.s = malloc(g.cap);
    sv_rng_seed(&g.r, 20240611);
    for (int t = 0; t < N_RANDOM; t++) {
        random_point(&g.r, x, RN);
        g.pt = x;
        g.len = 0;
        g.s[0] = '\0';
        double want = gen_s(&g, 1 + t % 6);
        chars += (long)g.len;
        sv_expr *e = compile_ok(g.s, RVARS, 5, SV_EXPR_PLAIN);

        /* value: the parser read the string as the generator meant it */
        double f = sv_expr_value(e, x);
        double ev = rel_err(f, want);
        if (!(ev <= 1e-13))
            fail_msg("value of '%s': %.17g, generator says %.17g", g.s, f, want);
        worst_val = ev > worst_val ? ev : worst_val;

        /* gradient against central differences along each axis */
        assert_true(sv_expr_grad(e, x, grad) == f);
        for (int i = 0; i < RN; i++) {
            double ax[RN] = {0};
            ax[i] = 1;
            double fd, err = fd_check(grad[i], expr_fn, e, x, ax, RN, &fd);
            if (!(err <= 1e-6))
                fail_msg("d/dx%d of '%s': AD %.12g, FD %.12g", i, g.s, grad[i], fd);
            worst_g = err > worst_g ? err : worst_g;
        }

        /* Hessian-vector product against differences of the gradient */
        for (int i = 0; i < RN; i++) {
            dir[i] = sv_rng_normal(&g.r);
            dir2[i] = sv_rng_normal(&g.r);
            hv[i] = hu[i] = 0;
        }
        sv_expr_hvp_add(e, x, dir, 1.0, hv, NULL);
        for (int i = 0; i < RN; i++) {
            grad_ctx gc = {e, i, gtmp};
            double fd, err = fd_check(hv[i], grad_comp_fn, &gc, x, dir, RN, &fd);
            if (!(err <= 1e-6))
                fail_msg("(H v)_%d of '%s': AD %.12g, FD %.12g", i, g.s, hv[i], fd);
            worst_h = err > worst_h ? err : worst_h;
        }
        /* symmetry of the exact Hessian: dir2' H dir = dir' H dir2 */
        sv_expr_hvp_add(e, x, dir2, 1.0, hu, NULL);
        double s1 = 0, s2 = 0, sc = 0;
        for (int i = 0; i < RN; i++) {
            s1 += dir2[i] * hv[i];
            s2 += dir[i] * hu[i];
            sc += fabs(dir2[i] * hv[i]) + fabs(dir[i] * hu[i]);
        }
        double es = fabs(s1 - s2) / (sc > 1 ? sc : 1);
        assert_true(es <= 1e-12);
        worst_sym = es > worst_sym ? es : worst_sym;
        sv_expr_free(e);
    }
    print_message("    %d random expressions (%ld chars): worst value %.1e, gradient %.1e, "
                  "HVP %.1e, symmetry %.1e\n", N_RANDOM, chars, worst_val, worst_g, worst_h,
                  worst_sym);
    free(g.s);
}

/* Jacobians of random constraint sets through the problem object, against differences of c,
 * and the Lagrangian products against their definitions. */
static double eq_comp_fn(void *ctx, const double *x)
{
    void **c = ctx;
    sv_expr_problem *p = c[0];
    int i = *(int *)c[1];
    double cv[8];
    sv_expr_problem_eq(p, x, cv);
    return cv[i];
}

static double lag_grad_comp_fn(void *ctx, const double *x)
{
    void **c = ctx;
    sv_expr_problem *p = c[0];
    int i = *(int *)c[1];
    const double *y = c[2], *z = c[3];
    double g[RN];
    sv_expr_problem_lag_grad(p, x, 0.7, y, z, g);
    return g[i];
}

static void test_random_jacobians(void **state)
{
    (void)state;
    gen g = {.cap = 256};
    double worst_j = 0, worst_h = 0;
    sv_rng_seed(&g.r, 777);
    g.s = malloc(g.cap);
    for (int t = 0; t < 60; t++) {
        enum { M = 3, Q = 2 };
        char *src[1 + M + Q];
        double x[RN], pt[RN];
        random_point(&g.r, pt, RN);
        g.pt = pt;
        for (int i = 0; i < 1 + M + Q; i++) {
            g.len = 0;
            g.s[0] = '\0';
            gen_s(&g, 3);
            src[i] = strdup(g.s);
        }
        sv_expr_decl decl[5] = {{"a", 1, NULL, NULL, NULL}, {"b", 1, NULL, NULL, NULL},
                                {"c", 1, NULL, NULL, NULL}, {"u", 3, NULL, NULL, NULL},
                                {"w", 3, NULL, NULL, NULL}};
        sv_expr_problem_spec spec = {decl, 5, src[0], (const char *const *)src + 1, M,
                                     (const char *const *)src + 1 + M, Q};
        sv_expr_problem *p;
        sv_err err;
        assert_int_equal(sv_expr_problem_new(&spec, &p, &err, NULL), SV_OK);
        assert_int_equal(sv_expr_problem_dim(p), RN);
        random_point(&g.r, x, RN);

        double c[M], c2[M], J[M * RN], h[Q], JH[Q * RN];
        sv_expr_problem_eq_jac(p, x, c, J);
        sv_expr_problem_eq(p, x, c2);
        for (int i = 0; i < M; i++) {
            assert_true(c[i] == c2[i]);
            for (int j = 0; j < RN; j++) {
                double ax[RN] = {0};
                ax[j] = 1;
                void *ctx[2] = {p, &i};
                double fd, err2 = fd_check(J[i * RN + j], eq_comp_fn, ctx, x, ax, RN, &fd);
                if (!(err2 <= 1e-6))
                    fail_msg("J[%d][%d] of '%s': AD %.12g FD %.12g", i, j, src[1 + i],
                             J[i * RN + j], fd);
                worst_j = err2 > worst_j ? err2 : worst_j;
            }
        }
        /* inequality rows are the gradients of the inequality expressions */
        sv_expr_problem_ineq_jac(p, x, NULL, JH);
        sv_expr_problem_ineq(p, x, h);
        for (int q = 0; q < Q; q++) {
            sv_expr *e = compile_ok(src[1 + M + q], RVARS, 5, SV_EXPR_PLAIN);
            double gq[RN];
            assert_true(sv_expr_grad(e, x, gq) == h[q]);
            for (int j = 0; j < RN; j++)
                assert_true(gq[j] == JH[q * RN + j]);
            sv_expr_free(e);
        }

        /* J^T y and the Lagrangian gradient against the dense Jacobians */
        double y[M], z[Q], jty[RN], jtz[RN], gf[RN], lg[RN];
        for (int i = 0; i < M; i++)
            y[i] = sv_rng_normal(&g.r);
        for (int q = 0; q < Q; q++)
            z[q] = sv_rng_normal(&g.r);
        sv_expr_problem_eq_jtv(p, x, y, jty);
        sv_expr_problem_ineq_jtv(p, x, z, jtz);
        sv_expr_problem_grad(p, x, gf);
        sv_expr_problem_lag_grad(p, x, 0.7, y, z, lg);
        for (int j = 0; j < RN; j++) {
            double ref = 0, refz = 0, sc = 0;
            for (int i = 0; i < M; i++) {
                ref += J[i * RN + j] * y[i];
                sc += fabs(J[i * RN + j] * y[i]);
            }
            for (int q = 0; q < Q; q++) {
                refz += JH[q * RN + j] * z[q];
                sc += fabs(JH[q * RN + j] * z[q]);
            }
            sc += 1;
            assert_true(fabs(jty[j] - ref) <= 1e-13 * sc);
            assert_true(fabs(jtz[j] - refz) <= 1e-13 * sc);
            assert_true(fabs(lg[j] - (0.7 * gf[j] + ref + refz)) <= 1e-13 * (sc + fabs(gf[j])));
        }

        /* Lagrangian HVP against differences of the Lagrangian gradient */
        double v[RN], hvp[RN];
        for (int j = 0; j < RN; j++)
            v[j] = sv_rng_normal(&g.r);
        sv_expr_problem_lag_hvp(p, x, 0.7, y, z, v, hvp);
        for (int j = 0; j < RN; j++) {
            void *ctx[4] = {p, &j, y, z};
            double fd, err2 = fd_check(hvp[j], lag_grad_comp_fn, ctx, x, v, RN, &fd);
            if (!(err2 <= 1e-6))
                fail_msg("Lagrangian (H v)_%d: AD %.12g FD %.12g", j, hvp[j], fd);
            worst_h = err2 > worst_h ? err2 : worst_h;
        }
        sv_expr_problem_free(p);
        for (int i = 0; i < 1 + M + Q; i++)
            free(src[i]);
    }
    print_message("    60 random problems (1 + 3 + 2 expressions): worst Jacobian %.1e, "
                  "Lagrangian HVP %.1e\n", worst_j, worst_h);
    free(g.s);
}

/* ---- malformed input ---- */
static const sv_expr_var EVARS[] = {{"x", 1}, {"y", 1}, {"v", 3}, {"w", 2}};

static void check_error(const char *src, sv_expr_mode mode, sv_expr_errcode code, int pos,
                        const char *needle)
{
    sv_expr *e = (sv_expr *)&e;   /* must be reset to NULL */
    sv_expr_error err;
    int rc = sv_expr_compile(src, EVARS, 4, mode, &e, &err);
    if (rc != SV_EINVAL || e != NULL || err.code != code || err.pos != pos ||
        (needle && !strstr(err.msg, needle)))
        fail_msg("'%s': rc %d code %d (%s) pos %d msg \"%s\"; want code %d (%s) pos %d with "
                 "\"%s\"", src, rc, err.code, sv_expr_reason(err.code), err.pos, err.msg, code,
                 sv_expr_reason(code), pos, needle ? needle : "");
}

static void test_errors(void **state)
{
    (void)state;
    const sv_expr_mode P = SV_EXPR_PLAIN;
    /* empty */
    check_error("", P, SV_EXPR_EEMPTY, 0, "empty");
    check_error("  \t\n", P, SV_EXPR_EEMPTY, 0, "empty");
    check_error(NULL, P, SV_EXPR_EEMPTY, 0, NULL);
    /* unexpected character */
    check_error("x + $", P, SV_EXPR_ECHAR, 4, "'$'");
    check_error("x # y", P, SV_EXPR_ECHAR, 2, "'#'");
    check_error(".", P, SV_EXPR_ECHAR, 0, "'.'");
    check_error("x + \xc3\xa9", P, SV_EXPR_ECHAR, 4, "non-ASCII");
    check_error("x < 1", SV_EXPR_INEQUALITY, SV_EXPR_ECHAR, 2, "use '<='");
    check_error("x & y", P, SV_EXPR_ECHAR, 2, "'&'");
    /* unbalanced parentheses and brackets */
    check_error("(x + 1", P, SV_EXPR_EPAREN, 0, "never closed");
    check_error("x + 1)", P, SV_EXPR_EPAREN, 5, "without a matching");
    check_error("((x)", P, SV_EXPR_EPAREN, 0, NULL);
    check_error("exp(x", P, SV_EXPR_EPAREN, 3, "exp(");
    check_error("2*(x + (y)", P, SV_EXPR_EPAREN, 2, NULL);
    check_error("dot(v, v", P, SV_EXPR_EPAREN, 3, NULL);
    check_error("v[1", P, SV_EXPR_EPAREN, 1, "'['");
    check_error("x]", P, SV_EXPR_EPAREN, 1, "']'");
    check_error("sum(v))", P, SV_EXPR_EPAREN, 6, NULL);
    /* unknown name */
    check_error("z + 1", P, SV_EXPR_ENAME, 0, "'z'");
    check_error("x + zz*2", P, SV_EXPR_ENAME, 4, "unknown name 'zz'");
    check_error("X", P, SV_EXPR_ENAME, 0, "'X'");   /* names are case-sensitive */
    check_error("x + PI", P, SV_EXPR_ENAME, 4, "'PI'");
    /* unknown function */
    check_error("foo(x)", P, SV_EXPR_EFUNC, 0, "unknown function 'foo'");
    check_error("2*Exp(x)", P, SV_EXPR_EFUNC, 2, "'Exp'");
    check_error("x(2)", P, SV_EXPR_EFUNC, 0, "variable");
    check_error("pi(2)", P, SV_EXPR_EFUNC, 0, "constant");
    check_error("1 + log10(x)", P, SV_EXPR_EFUNC, 4, "'log10'");
    /* wrong arity */
    check_error("exp(x, y)", P, SV_EXPR_EARITY, 0, "takes 1 argument, got 2");
    check_error("dot(v)", P, SV_EXPR_EARITY, 0, "takes 2 arguments, got 1");
    check_error("exp()", P, SV_EXPR_EARITY, 0, "got 0");
    check_error("x + sum(v, v)", P, SV_EXPR_EARITY, 4, "sum() takes 1 argument, got 2");
    check_error("dot(v, v, v)", P, SV_EXPR_EARITY, 0, "got 3");
    /* size mismatch */
    check_error("sum(v + w)", P, SV_EXPR_ESIZE, 6, "size 3 and one of size 2");
    check_error("sum(v) + sum(v*w)", P, SV_EXPR_ESIZE, 14, NULL);
    check_error("dot(v, w)", P, SV_EXPR_ESIZE, 0, "got 3 and 2");
    check_error("v", P, SV_EXPR_ESIZE, 0, "must be a scalar");
    check_error("v + y", P, SV_EXPR_ESIZE, 0, "size 3");
    check_error("x + exp(v)", P, SV_EXPR_ESIZE, 0, NULL);
    check_error("sum(v) = w", SV_EXPR_EQUALITY, SV_EXPR_ESIZE, 0, NULL);
    /* index */
    check_error("v[3]", P, SV_EXPR_EINDEX, 2, "out of range for size 3");
    check_error("x + w[2]", P, SV_EXPR_EINDEX, 6, "last is 1");
    check_error("v[-1]", P, SV_EXPR_EINDEX, 2, "non-negative integer");
    check_error("v[1.0]", P, SV_EXPR_EINDEX, 2, NULL);
    check_error("v[x]", P, SV_EXPR_EINDEX, 2, NULL);
    check_error("x[1]", P, SV_EXPR_EINDEX, 2, NULL);
    check_error("v[99999999999999999999]", P, SV_EXPR_EINDEX, 2, NULL);
    /* trailing input */
    check_error("x y", P, SV_EXPR_ETRAILING, 2, "name 'y'");
    check_error("2x", P, SV_EXPR_ETRAILING, 1, "missing an operator");
    check_error("x + 1 2", P, SV_EXPR_ETRAILING, 6, "number '2'");
    check_error("(x) (y)", P, SV_EXPR_ETRAILING, 4, "'('");
    check_error("x, y", P, SV_EXPR_ETRAILING, 1, "','");
    check_error("x = y = 1", SV_EXPR_EQUALITY, SV_EXPR_ETRAILING, 6, "'='");
    /* syntax: operand, closing token or relation expected */
    check_error("x +", P, SV_EXPR_ESYNTAX, 3, "reached the end");
    check_error("* x", P, SV_EXPR_ESYNTAX, 0, "found '*'");
    check_error("x**2", P, SV_EXPR_ESYNTAX, 2, "x^2");
    check_error("exp + 1", P, SV_EXPR_ESYNTAX, 0, "parentheses");
    check_error("()", P, SV_EXPR_ESYNTAX, 1, "')'");
    check_error("(x y)", P, SV_EXPR_ESYNTAX, 3, "expected an operator or ')'");
    check_error("dot(v,)", P, SV_EXPR_ESYNTAX, 6, NULL);
    check_error("exp(x y)", P, SV_EXPR_ESYNTAX, 6, "expected ',' or ')'");
    check_error("v[1 2]", P, SV_EXPR_ESYNTAX, 4, "expected ']'");
    check_error("x^", P, SV_EXPR_ESYNTAX, 2, NULL);
    check_error("x = 1", P, SV_EXPR_ESYNTAX, 2, "only allowed in a constraint");
    check_error("x <= 1", SV_EXPR_EQUALITY, SV_EXPR_ESYNTAX, 2, "equality");
    check_error("x = 1", SV_EXPR_INEQUALITY, SV_EXPR_ESYNTAX, 2, "inequality");
    check_error("x =", SV_EXPR_EQUALITY, SV_EXPR_ESYNTAX, 3, NULL);
    /* numbers */
    check_error("1e", P, SV_EXPR_ENUMBER, 0, "'1e'");
    check_error("x + 2.5e+", P, SV_EXPR_ENUMBER, 4, "exponent");
    check_error("1e400*x", P, SV_EXPR_ENUMBER, 0, "too large");
    /* limits: deep nesting is refused, never recursed into */
    {
        enum { DEEP = 5000 };
        char *s = malloc(2 * DEEP + 2);
        memset(s, '(', DEEP);
        s[DEEP] = 'x';
        memset(s + DEEP + 1, ')', DEEP);
        s[2 * DEEP + 1] = '\0';
        sv_expr *e;
        sv_expr_error err;
        assert_int_equal(sv_expr_compile(s, EVARS, 4, P, &e, &err), SV_EINVAL);
        assert_int_equal(err.code, SV_EXPR_ELIMIT);
        assert_int_equal(err.pos, SV_EXPR_MAX_DEPTH);   /* the 201st "(" */
        memset(s, '-', DEEP);
        s[DEEP] = 'x';
        s[DEEP + 1] = '\0';
        assert_int_equal(sv_expr_compile(s, EVARS, 4, P, &e, &err), SV_EINVAL);
        assert_int_equal(err.code, SV_EXPR_ELIMIT);
        /* 150 levels are fine */
        memset(s, '(', 150);
        s[150] = 'x';
        memset(s + 151, ')', 150);
        s[301] = '\0';
        e = compile_ok(s, EVARS, 4, P);
        assert_true(sv_expr_value(e, X4) == 3);
        sv_expr_free(e);
        free(s);
    }
    /* the caller's declarations */
    {
        sv_expr *e;
        sv_expr_error err;
        sv_expr_var bad[] = {{"x", 0}};
        assert_int_equal(sv_expr_compile("1", bad, 1, P, &e, &err), SV_EINVAL);
        assert_int_equal(err.code, SV_EXPR_EDECL);
        assert_int_equal(sv_expr_compile("1", NULL, 2, P, &e, &err), SV_EINVAL);
        assert_int_equal(err.code, SV_EXPR_EDECL);
        /* no variables at all is fine for a constant */
        assert_int_equal(sv_expr_compile("2^0.5", NULL, 0, P, &e, NULL), SV_OK);
        assert_int_equal(sv_expr_dim(e), 0);
        assert_true(sv_expr_value(e, NULL) == sqrt(2.0) || sv_expr_value(e, NULL) == pow(2, .5));
        sv_expr_free(e);
        sv_expr_free(NULL);
    }
    /* reasons have text */
    for (int c = SV_EXPR_OK; c <= SV_EXPR_ENOMEM; c++)
        assert_true(strlen(sv_expr_reason((sv_expr_errcode)c)) > 0);
}

/* Mangled versions of valid strings (characters deleted, inserted, replaced) either compile or
 * fail with a reason and a position inside the string; they never crash (the suite also runs under
 * ASan and UBSan). */
static void test_mangled_input(void **state)
{
    (void)state;
    static const char alphabet[] = "abcuw0123456789.eE+-*/^()[],=<> \t$xpisumdotexplog";
    gen g = {.cap = 256};
    double x[RN];
    int ok = 0, bad = 0;
    sv_rng_seed(&g.r, 99);
    g.s = malloc(g.cap);
    for (int t = 0; t < 3000; t++) {
        random_point(&g.r, x, RN);
        g.pt = x;
        g.len = 0;
        g.s[0] = '\0';
        gen_s(&g, 1 + t % 4);
        int edits = 1 + pick(&g, 3);
        for (int k = 0; k < edits && g.len > 0; k++) {
            size_t at = (size_t)pick(&g, (int)g.len);
            char ch = alphabet[pick(&g, (int)sizeof alphabet - 1)];
            switch (pick(&g, 3)) {
            case 0:   /* delete */
                memmove(g.s + at, g.s + at + 1, g.len - at);
                g.len--;
                break;
            case 1:   /* insert */
                if (g.len + 2 > g.cap) {
                    g.cap *= 2;
                    g.s = realloc(g.s, g.cap);
                }
                memmove(g.s + at + 1, g.s + at, g.len - at + 1);
                g.s[at] = ch;
                g.len++;
                break;
            default:  /* replace */
                g.s[at] = ch;
                break;
            }
        }
        sv_expr *e;
        sv_expr_error err;
        int rc = sv_expr_compile(g.s, RVARS, 5, (sv_expr_mode)(t % 3), &e, &err);
        if (rc == SV_OK) {
            double gr[RN];
            sv_expr_grad(e, x, gr);
            sv_expr_free(e);
            ok++;
        } else {
            assert_int_equal(rc, SV_EINVAL);
            assert_null(e);
            assert_true(err.code != SV_EXPR_OK && err.code != SV_EXPR_ENOMEM);
            assert_true(err.pos >= 0 && (size_t)err.pos <= g.len);
            assert_true(strlen(err.msg) > 0);
            bad++;
        }
    }
    print_message("    3000 mangled strings: %d compiled, %d rejected\n", ok, bad);
    assert_true(ok > 100 && bad > 1000);
    free(g.s);
}

/* ---- domain errors: NaN, never a trap ---- */
static void test_domain(void **state)
{
    (void)state;
    static const sv_expr_var V[] = {{"t", 1}};
    struct {
        const char *src;
        double t;
        int nan;   /* 1: NaN, 0: +-inf */
    } cases[] = {
        {"log(t)", 0, 1},       {"log(t)", -1, 1},       {"sqrt(t)", -1, 1},
        {"0*log(t)", -1, 1},    {"log(t)^0", -1, 1},     {"1^log(t)", -1, 1},
        {"t^0.5", -4, 1},       {"abs(log(t))", -2, 1},  {"sum(log(t))", -2, 1},
        {"exp(t)", 1000, 0},    {"1/t", 0, 0},           {"t^-1", 0, 0},
        {"log(t) + exp(t)", -5, 1}, {"tanh(log(t))", 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sv_expr *e = compile_ok(cases[i].src, V, 1, SV_EXPR_PLAIN);
        double t = cases[i].t, g, hv = 0, one = 1;
        double f = sv_expr_value(e, &t);
        if (cases[i].nan ? !isnan(f) : !isinf(f))
            fail_msg("%s at %g = %g", cases[i].src, t, f);
        /* derivatives run too, and whatever they give, they do not crash */
        sv_expr_grad(e, &t, &g);
        sv_expr_hvp_add(e, &t, &one, 1.0, &hv, NULL);
        if (cases[i].nan)
            assert_true(isnan(g));
        sv_expr_free(e);
    }
    /* a domain error in a constant part is still NaN */
    sv_expr *e = compile_ok("t + log(-1)", V, 1, SV_EXPR_PLAIN);
    double t = 1;
    assert_true(isnan(sv_expr_value(e, &t)));
    sv_expr_free(e);
}

/* ---- Hock-Schittkowski (strings as in tests/data/hs/hsNNN.json) ---- */
typedef struct {
    const char *name;
    int n;
    const char *f;
    const char *c[3];
    int m;
    double x0[5], xs[5], fs;
} hs_problem;

static const hs_problem HS[] = {
    {"hs006", 2, "(1-x1)^2", {"10*(x2-x1^2)"}, 1, {-1.2, 1}, {1, 1}, 0.0},
    {"hs007", 2, "log(1+x1^2)-x2", {"(1+x1^2)^2+x2^2-4"}, 1, {2, 2}, {0, 1.7320508076},
     -1.7320508076},
    {"hs027", 3, "0.01*(x1-1)^2+(x2-x1^2)^2", {"x1+x3^2+1"}, 1, {2, 2, 2}, {-1, 1, 0}, 0.04},
    {"hs028", 3, "(x1+x2)^2+(x2+x3)^2", {"x1+2*x2+3*x3-1"}, 1, {-4, 1, 1}, {0.5, -0.5, 0.5},
     0.0},
    {"hs039", 4, "-x1", {"x2-x1^3-x3^2", "x1^2-x2-x4^2"}, 2, {2, 2, 2, 2}, {1, 1, 0, 0}, -1.0},
    {"hs042", 4, "(x1-1)^2+(x2-2)^2+(x3-3)^2+(x4-4)^2", {"x1-2", "x3^2+x4^2-2"}, 2,
     {1, 1, 1, 1}, {2, 2, 0.8485281374, 1.1313708499}, 13.8578643763},
    {"hs048", 5, "(x1-1)^2+(x2-x3)^2+(x4-x5)^2", {"x1+x2+x3+x4+x5-5", "x3-2*(x4+x5)+3"}, 2,
     {3, 5, -3, 2, -2}, {1, 1, 1, 1, 1}, 0.0},
    {"hs050", 5, "(x1-x2)^2+(x2-x3)^2+(x3-x4)^4+(x4-x5)^2",
     {"x1+2*x2+3*x3-6", "x2+2*x3+3*x4-6", "x3+2*x4+3*x5-6"}, 3, {35, -31, 11, 5, -5},
     {1, 1, 1, 1, 1}, 0.0},
    {"hs051", 5, "(x1-x2)^2+(x2+x3-2)^2+(x4-1)^2+(x5-1)^2", {"x1+3*x2-4", "x3+x4-2*x5", "x2-x5"},
     3, {2.5, 0.5, 2, -1, 0.5}, {1, 1, 1, 1, 1}, 0.0},
};

/* Solves the m x m SPD system A y = b in place (m <= 3), Cholesky without pivoting. */
static void small_spd_solve(double *A, double *b, int m)
{
    for (int j = 0; j < m; j++) {
        double d = A[j * m + j];
        for (int k = 0; k < j; k++)
            d -= A[j * m + k] * A[j * m + k];
        assert_true(d > 0);
        A[j * m + j] = sqrt(d);
        for (int i = j + 1; i < m; i++) {
            double s = A[i * m + j];
            for (int k = 0; k < j; k++)
                s -= A[i * m + k] * A[j * m + k];
            A[i * m + j] = s / A[j * m + j];
        }
    }
    for (int i = 0; i < m; i++) {
        for (int k = 0; k < i; k++)
            b[i] -= A[i * m + k] * b[k];
        b[i] /= A[i * m + i];
    }
    for (int i = m - 1; i >= 0; i--) {
        for (int k = i + 1; k < m; k++)
            b[i] -= A[k * m + i] * b[k];
        b[i] /= A[i * m + i];
    }
}

static void test_hock_schittkowski(void **state)
{
    (void)state;
    static const char *const names[] = {"x1", "x2", "x3", "x4", "x5"};
    double worst_f = 0, worst_c = 0, worst_kkt = 0;
    for (size_t t = 0; t < sizeof HS / sizeof HS[0]; t++) {
        const hs_problem *h = &HS[t];
        sv_expr_decl decl[5];
        for (int i = 0; i < h->n; i++)
            decl[i] = (sv_expr_decl){names[i], 1, NULL, NULL, &h->x0[i]};
        sv_expr_problem_spec spec = {decl, h->n, h->f, h->c, h->m, NULL, 0};
        sv_expr_problem *p;
        sv_err err;
        int rc = sv_expr_problem_new(&spec, &p, &err, NULL);
        if (rc != SV_OK)
            fail_msg("%s: %s: %s", h->name, err.field, err.msg);
        assert_int_equal(sv_expr_problem_dim(p), h->n);
        assert_int_equal(sv_expr_problem_n_eq(p), h->m);
        for (int i = 0; i < h->n; i++)
            assert_true(sv_expr_problem_start(p)[i] == h->x0[i]);

        /* f(x*) = f*, c(x*) = 0 (x* is published to 10 digits) */
        double f = sv_expr_problem_f(p, h->xs), c[3], g[5], J[15];
        assert_true(fabs(f - h->fs) <= 1e-6);
        worst_f = fabs(f - h->fs) > worst_f ? fabs(f - h->fs) : worst_f;
        sv_expr_problem_eq(p, h->xs, c);
        for (int i = 0; i < h->m; i++) {
            assert_true(fabs(c[i]) <= 1e-6);
            worst_c = fabs(c[i]) > worst_c ? fabs(c[i]) : worst_c;
        }

        /* KKT at x*: grad f + J^T y = 0 for the least-squares multipliers y */
        sv_expr_problem_grad(p, h->xs, g);
        sv_expr_problem_eq_jac(p, h->xs, NULL, J);
        double A[9] = {0}, y[3] = {0};
        for (int i = 0; i < h->m; i++) {
            for (int k = 0; k < h->m; k++)
                for (int j = 0; j < h->n; j++)
                    A[i * h->m + k] += J[i * h->n + j] * J[k * h->n + j];
            for (int j = 0; j < h->n; j++)
                y[i] -= J[i * h->n + j] * g[j];
        }
        small_spd_solve(A, y, h->m);
        double lg[5];
        sv_expr_problem_lag_grad(p, h->xs, 1.0, y, NULL, lg);
        for (int j = 0; j < h->n; j++) {
            if (fabs(lg[j]) > 1e-6)
                fail_msg("%s: KKT residual %g in component %d", h->name, lg[j], j);
            worst_kkt = fabs(lg[j]) > worst_kkt ? fabs(lg[j]) : worst_kkt;
        }
        sv_expr_problem_free(p);
    }
    print_message("    9 HS problems: worst |f - f*| %.1e, |c| %.1e, KKT %.1e\n", worst_f,
                  worst_c, worst_kkt);
}

/* ---- the problem object ---- */
static void test_problem_object(void **state)
{
    (void)state;
    const double lo[3] = {-1, -INFINITY, 2}, up[3] = {1, 5, INFINITY};
    const double ylo = 1, yup = 4, zup = -3;
    sv_expr_decl decl[] = {
        {"v", 3, lo, up, NULL},
        {"y", 1, &ylo, &yup, NULL},
        {"z", 1, NULL, &zup, NULL},
        {"q", 1, NULL, NULL, NULL},
    };
    const char *eqs[] = {"sum(v^2) = 2*y", "v[0] - z"};
    const char *ins[] = {"y <= 3", "y >= v[2]", "q^2 - 1"};
    sv_expr_problem_spec spec = {decl, 4, "dot(v, v) + y*z + q", eqs, 2, ins, 3};
    sv_expr_problem *p;
    sv_err err;
    sv_expr_error where;
    assert_int_equal(sv_expr_problem_new(&spec, &p, &err, &where), SV_OK);
    assert_int_equal(where.code, SV_EXPR_OK);
    assert_int_equal(sv_expr_problem_dim(p), 6);
    assert_int_equal(sv_expr_problem_n_vars(p), 4);
    assert_int_equal(sv_expr_problem_n_eq(p), 2);
    assert_int_equal(sv_expr_problem_n_ineq(p), 3);
    assert_true(sv_expr_problem_has_objective(p));
    assert_string_equal(sv_expr_problem_var_name(p, 1), "y");
    assert_int_equal(sv_expr_problem_var_size(p, 0), 3);
    assert_int_equal(sv_expr_problem_var_offset(p, 2), 4);
    assert_int_equal(sv_expr_problem_var_find(p, "z"), 2);
    assert_int_equal(sv_expr_problem_var_find(p, "nope"), -1);
    assert_null(sv_expr_problem_var_name(p, 7));

    const double *L = sv_expr_problem_lower(p), *U = sv_expr_problem_upper(p);
    const double *S = sv_expr_problem_start(p);
    const double wantL[6] = {-1, -INFINITY, 2, 1, -INFINITY, -INFINITY};
    const double wantU[6] = {1, 5, INFINITY, 4, -3, INFINITY};
    const double wantS[6] = {0, 0, 2, 1, -3, 0};   /* 0 moved into the bounds */
    for (int i = 0; i < 6; i++) {
        assert_true(L[i] == wantL[i]);
        assert_true(U[i] == wantU[i]);
        assert_true(S[i] == wantS[i]);
    }

    /* pack / unpack */
    double vv[3] = {0.5, -2, 3}, yv = 2, zv = -4, qv = 0.25, x[6];
    const double *in[4] = {vv, &yv, &zv, &qv};
    sv_expr_problem_pack(p, in, x);
    const double wantx[6] = {0.5, -2, 3, 2, -4, 0.25};
    for (int i = 0; i < 6; i++)
        assert_true(x[i] == wantx[i]);
    double o1[3], o2, o3, o4;
    double *outs[4] = {o1, &o2, &o3, &o4};
    sv_expr_problem_unpack(p, x, outs);
    assert_true(o1[0] == 0.5 && o1[1] == -2 && o1[2] == 3 && o2 == 2 && o3 == -4 && o4 == 0.25);

    /* values, relations included */
    assert_true(sv_expr_problem_f(p, x) == (0.25 + 4 + 9) + 2 * -4 + 0.25);
    double c[2], h[3];
    sv_expr_problem_eq(p, x, c);
    assert_true(c[0] == (0.25 + 4 + 9) - 4);
    assert_true(c[1] == 0.5 - -4);
    sv_expr_problem_ineq(p, x, h);
    assert_true(h[0] == 2 - 3);          /* y <= 3:    y - 3 */
    assert_true(h[1] == 3 - 2);          /* y >= v[2]: v[2] - y */
    assert_true(h[2] == 0.0625 - 1);

    /* Jacobians */
    double J[2 * 6], JH[3 * 6], cj[2];
    sv_expr_problem_eq_jac(p, x, cj, J);
    const double wantJ[12] = {1, -4, 6, -2, 0, 0, 1, 0, 0, 0, -1, 0};
    for (int i = 0; i < 12; i++)
        assert_true(J[i] == wantJ[i]);
    assert_true(cj[0] == c[0] && cj[1] == c[1]);
    sv_expr_problem_ineq_jac(p, x, NULL, JH);
    const double wantJH[18] = {0, 0, 0, 1, 0, 0, 0, 0, 1, -1, 0, 0, 0, 0, 0, 0, 0, 0.5};
    for (int i = 0; i < 18; i++)
        assert_true(JH[i] == wantJH[i]);

    /* Lagrangian HVP: L = s f + y'c + z'h; H_f = 2 I_v + (y,z cross 1), H_c0 = 2 I_v,
     * H_h2 = 2 at q */
    double yy[2] = {0.5, 7}, zz[3] = {9, 9, 3}, d[6] = {1, 2, 3, 4, 5, 6}, hv[6];
    sv_expr_problem_lag_hvp(p, x, 2.0, yy, zz, d, hv);
    const double wanthv[6] = {2 * 2 * 1 + 0.5 * 2 * 1, 2 * 2 * 2 + 0.5 * 2 * 2,
                              2 * 2 * 3 + 0.5 * 2 * 3, 2 * 5, 2 * 4, 3 * 2 * 6};
    for (int i = 0; i < 6; i++)
        assert_true(hv[i] == wanthv[i]);
    sv_expr_problem_lag_hvp(p, x, 0.0, NULL, NULL, d, hv);
    for (int i = 0; i < 6; i++)
        assert_true(hv[i] == 0);
    sv_expr_problem_free(p);
    sv_expr_problem_free(NULL);

    /* no objective: f = 0 */
    sv_expr_problem_spec feas = {decl, 4, NULL, eqs, 2, NULL, 0};
    assert_int_equal(sv_expr_problem_new(&feas, &p, &err, NULL), SV_OK);
    assert_false(sv_expr_problem_has_objective(p));
    double g[6];
    assert_true(sv_expr_problem_grad(p, x, g) == 0);
    for (int i = 0; i < 6; i++)
        assert_true(g[i] == 0);
    sv_expr_problem_free(p);
}

static void check_problem_error(const sv_expr_problem_spec *spec, const char *field,
                                const char *needle, sv_expr_errcode code, int pos)
{
    sv_expr_problem *p = (sv_expr_problem *)&p;
    sv_err err;
    sv_expr_error where;
    memset(&err, 0, sizeof err);
    int rc = sv_expr_problem_new(spec, &p, &err, &where);
    if (rc != SV_EINVAL || p != NULL || strcmp(err.field, field) != 0 ||
        !strstr(err.msg, needle) || where.code != code || (code && where.pos != pos))
        fail_msg("rc %d field '%s' msg '%s' where %d@%d; want '%s' with '%s', %d@%d", rc,
                 err.field, err.msg, where.code, where.pos, field, needle, code, pos);
}

static void test_problem_validation(void **state)
{
    (void)state;
    const double lo2[2] = {0, 1}, up2[2] = {1, 0}, nanv[2] = {NAN, 0}, st[2] = {-0.5, 7};
    const double pinf[2] = {INFINITY, 0}, inf_st[2] = {INFINITY, 0};
    const char *eqs[] = {"a + b[0]", "a + bb", "a + b[1]"};
    const char *ins[] = {"a <= 1", "a = 1"};
    sv_expr_decl d[2] = {{"a", 1, NULL, NULL, NULL}, {"b", 2, NULL, NULL, NULL}};
    sv_expr_problem_spec s = {d, 2, "a^2 + sum(b)", eqs, 1, ins, 1};

    /* expression errors carry the field and the position */
    s.n_eq = 2;
    check_problem_error(&s, "/problem/equalities/1", "at 4: unknown name 'bb'", SV_EXPR_ENAME, 4);
    s.n_eq = 1;
    s.n_ineq = 2;
    check_problem_error(&s, "/problem/inequalities/1", "at 2:", SV_EXPR_ESYNTAX, 2);
    s.n_ineq = 1;
    s.objective = "a^2 + sum(b";
    check_problem_error(&s, "/problem/objective", "at 9: unbalanced", SV_EXPR_EPAREN, 9);
    s.objective = "";
    check_problem_error(&s, "/problem/objective", "empty", SV_EXPR_EEMPTY, 0);
    s.objective = "a = 1";
    check_problem_error(&s, "/problem/objective", "only allowed in a constraint", SV_EXPR_ESYNTAX,
                        2);
    s.objective = "a^2 + sum(b)";

    /* declarations */
    d[1].name = "a";
    check_problem_error(&s, "/problem/variables/a", "declared twice", SV_EXPR_OK, 0);
    d[1].name = "exp";
    check_problem_error(&s, "/problem/variables/exp", "cannot name a variable", SV_EXPR_OK, 0);
    d[1].name = "e";
    check_problem_error(&s, "/problem/variables/e", "constant", SV_EXPR_OK, 0);
    d[1].name = "2b";
    check_problem_error(&s, "/problem/variables", "not an identifier", SV_EXPR_OK, 0);
    d[1].name = "b c";
    check_problem_error(&s, "/problem/variables", "not an identifier", SV_EXPR_OK, 0);
    d[1].name = "";
    check_problem_error(&s, "/problem/variables", "empty name", SV_EXPR_OK, 0);
    d[1].name = "b";
    d[1].size = 0;
    check_problem_error(&s, "/problem/variables/b/size", "between 1 and", SV_EXPR_OK, 0);
    d[1].size = 2;
    d[1].lower = lo2;
    d[1].upper = up2;
    check_problem_error(&s, "/problem/variables/b/lower/1", "exceeds upper", SV_EXPR_OK, 0);
    d[1].upper = NULL;
    d[1].lower = nanv;
    check_problem_error(&s, "/problem/variables/b/lower/0", "a number or -inf", SV_EXPR_OK, 0);
    d[1].lower = pinf;
    check_problem_error(&s, "/problem/variables/b/lower/0", "a number or -inf", SV_EXPR_OK, 0);
    d[1].lower = NULL;
    d[1].upper = nanv;
    check_problem_error(&s, "/problem/variables/b/upper/0", "+inf", SV_EXPR_OK, 0);
    d[1].upper = lo2;     /* b <= [0, 1] */
    d[1].start = st;      /* 7 > 1 */
    check_problem_error(&s, "/problem/variables/b/start/1", "outside the bounds", SV_EXPR_OK, 0);
    d[1].upper = NULL;
    d[1].start = inf_st;
    check_problem_error(&s, "/problem/variables/b/start/0", "finite", SV_EXPR_OK, 0);
    d[1].start = NULL;
    s.n_vars = 0;
    check_problem_error(&s, "/problem/variables", "at least one", SV_EXPR_OK, 0);
    s.n_vars = 2;
    const char *nul[] = {"a", NULL};
    s.equalities = nul;
    s.n_eq = 2;
    check_problem_error(&s, "/problem/equalities/1", "missing", SV_EXPR_OK, 0);
    s.equalities = eqs;
    s.n_eq = 1;

    /* and the fixed spec is accepted */
    sv_expr_problem *p;
    sv_err err;
    assert_int_equal(sv_expr_problem_new(&s, &p, &err, NULL), SV_OK);
    sv_expr_problem_free(p);
    assert_int_equal(sv_expr_problem_new(NULL, &p, &err, NULL), SV_EINVAL);
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_values),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_constant_folding),
        cmocka_unit_test(test_closed_form_derivatives),
        cmocka_unit_test(test_random_gradients_and_hvp),
        cmocka_unit_test(test_random_jacobians),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mangled_input),
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_hock_schittkowski),
        cmocka_unit_test(test_problem_object),
        cmocka_unit_test(test_problem_validation),
    };
    return cmocka_run_group_tests_name("expr", tests, NULL, NULL);
}
