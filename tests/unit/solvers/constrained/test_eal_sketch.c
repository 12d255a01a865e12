/* test_eal_sketch.c - AdaSketch-Newton (core/solvers/constrained/eal_sketch.c), the constrained logistic
 * regression model (core/models/logistic_eq.c) and the constrained.eal_sketch codec
 * (api/codecs/constrained/eal_sketch.c). Reference answers: the Hock-Schittkowski optima in tests/data/hs
 * (closed forms or the published values), the closed form of min x1 + x2 on a circle, direct
 * solves of the KKT system by LU (sv_solve_general) for quadratic programs and as an independent
 * exact Newton method for the logistic model, and the paper's inequalities (adaptive accuracy,
 * descent, Armijo decrease) checked on every reported iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/expr_problem.h"
#include "api/params.h"
#include "core/models/logistic_eq.h"
#include "core/rng.h"
#include "core/solvers/constrained/eal_sketch.h"
#include "support/codec.h"
#include "support/json.h"
#include "support/numeric.h"

extern const sv_codec sv_codec_eal_sketch;
/* support/codec.h on this file's codec */
#define expect_codec_error(pb, pa, field) sv_test_codec_error(&sv_codec_eal_sketch, pb, pa, field)
#define run_codec(pb, pa) sv_test_codec_run(&sv_codec_eal_sketch, pb, pa, NULL)

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

static sv_expr_problem *expr_of(const json_t *problem)
{
    sv_expr_problem_opts o;
    sv_expr_problem_opts_default(&o);
    o.allow_inequalities = 0;
    o.allow_bounds = 0;
    sv_expr_problem *p = NULL;
    sv_err e;
    if (sv_expr_problem_decode(problem, NULL, &o, &p, &e, NULL) != SV_OK)
        fail_msg("problem does not decode: %s: %s", e.field, e.msg);
    return p;
}

/* Records every progress report and checks the paper's inequalities on each step. */
typedef struct {
    long reports, steps;
    long last_iter;
    double beta;
    long max_sketch_iter;
    int check_descent;
    double first_kkt, last_kkt;
    long accuracy_checked, descent_checked;
    int stop_at;  /* cancel at this iteration (0: never) */
} trace;

static int trace_fn(const sv_progress *p, void *data)
{
    trace *t = data;
    assert_true(p->n_metrics <= 16);  /* what a progress event carries over HTTP */
    for (int i = 0; i < p->n_metrics; i++) {
        assert_true(strlen(p->metrics[i].name) < 32);
        assert_true(isfinite(p->metrics[i].value));
    }
    double kkt = sv_test_metric(p, "kkt_residual");
    if (t->reports == 0)
        t->first_kkt = kkt;
    t->last_kkt = kkt;
    t->reports++;
    if (p->iter > 0 && p->iter != t->last_iter) {
        t->steps++;
        /* the adaptive accuracy condition |K z + b| <= theta delta |b| / (|K|_F Psi) held when the
         * sketch stopped (unless it ran out of steps) */
        if (sv_test_metric(p, "sketch_capped") == 0) {
            assert_true(sv_test_metric(p, "sketch_residual") <= sv_test_metric(p, "sketch_target"));
            t->accuracy_checked++;
        }
        /* the direction was a descent direction of the merit by the paper's margin */
        if (t->check_descent) {
            /* (met unless the penalties reached their limits) */
            assert_true(sv_test_metric(p, "descent") <= sv_test_metric(p, "descent_target"));
            assert_true(sv_test_metric(p, "descent_target") < 0);
            t->descent_checked++;
        }
        /* Armijo: L(x + alpha z) <= L(x) + alpha beta grad L'z */
        assert_true(sv_test_metric(p, "merit") <= sv_test_metric(p, "armijo_bound"));
        assert_true(sv_test_metric(p, "alpha") > 0 && sv_test_metric(p, "alpha") <= 1);
        assert_true(sv_test_metric(p, "mu") > 0 && sv_test_metric(p, "nu") > 0);
    }
    t->last_iter = p->iter;
    return t->stop_at > 0 && p->iter >= t->stop_at;
}

static void trace_init(trace *t, const eal_sketch_settings *s)
{
    memset(t, 0, sizeof *t);
    t->beta = s->beta;
    t->max_sketch_iter = s->max_sketch_iter;
    t->check_descent = 1;
    t->last_iter = -1;
}

/* ============================================================================================
 * Hock-Schittkowski problems
 * ========================================================================================== */

static const char *const hs_names[] = {"hs006", "hs007", "hs027", "hs028", "hs039", "hs040",
                                       "hs042", "hs048", "hs050", "hs051", "hs052", "hs077",
                                       "hs078", "hs079"};

static long hs_accuracy_checked;

static void solve_hs(const char *name, int sketch, int superlinear)
{
    char path[512];
    snprintf(path, sizeof path, "%s/hs/%s.json", SOLVD_TEST_DATA, name);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        fail_msg("%s: %s", path, jerr.text);
    sv_expr_problem *ep = expr_of(json_object_get(doc, "problem"));
    eal_sketch_problem p;
    eal_sketch_problem_from_expr(ep, &p);
    double x[16], lam[16], xs[16];
    const json_t *xstar = json_object_get(doc, "x_star");
    assert_int_equal((int)json_array_size(xstar), p.n);
    for (int i = 0; i < p.n; i++)
        xs[i] = json_number_value(json_array_get(xstar, (size_t)i));
    const double fstar = json_number_value(json_object_get(doc, "f_star"));
    const double tol_x = json_number_value(json_object_get(doc, "tol_x"));
    const double tol_f = json_number_value(json_object_get(doc, "tol_f"));
    memcpy(x, sv_expr_problem_start(ep), (size_t)p.n * sizeof *x);

    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    s.sketch = sketch;
    s.sketch_size = sketch == SV_SKETCH_BLOCK ? 2 : 1;  /* iterative on these small systems */
    s.superlinear = superlinear;
    s.seed = 7;
    trace t;
    trace_init(&t, &s);
    sv_monitor mon = {trace_fn, &t, NULL};
    eal_sketch_info info;
    sv_err e;
    assert_int_equal(eal_sketch_solve(&p, &s, &mon, x, lam, &info, &e), SV_OK);
    double ferr = fabs(info.base.obj - fstar) / (1 + fabs(fstar));
    double xerr = sv_test_max_abs_diff(p.n, x, xs);
    if (info.base.status != SV_SOLVED || info.kkt > 1e-8 || ferr > tol_f || xerr > tol_x)
        fail_msg("%s (sketch %d): status %s reason %s after %ld iterations, kkt %.3g, f %.12g "
                 "(f* %.12g), |x - x*| %.3g", name, sketch, sv_status_name(info.base.status),
                 eal_sketch_reason_name(info.reason), info.base.iter, info.kkt, info.base.obj, fstar,
                 xerr);
    /* the KKT residual the solver reports is the one at the returned (x, l) */
    double g[16], c[16], gl[16];
    sv_expr_problem_grad(ep, x, g);
    sv_expr_problem_eq(ep, x, c);
    sv_expr_problem_eq_jtv(ep, x, lam, gl);
    double kkt = 0;
    for (int i = 0; i < p.n; i++)
        kkt += (g[i] + gl[i]) * (g[i] + gl[i]);
    for (int i = 0; i < p.m; i++)
        kkt += c[i] * c[i];
    assert_true(fabs(sqrt(kkt) - info.kkt) <= 1e-12 + 1e-6 * info.kkt);
    assert_true(t.steps == info.base.iter);
    hs_accuracy_checked += t.accuracy_checked;
    print_message("  %s %-8s %3ld iterations, %8ld sketch steps, kkt %.2e, |x - x*| %.1e, "
                  "mu %.3g nu %.3g, %ld shifts, %ld exact\n", name,
                  sketch == SV_SKETCH_KACZMARZ ? "kaczmarz" :
                  sketch == SV_SKETCH_BLOCK ? "block" : "gaussian",
                  info.base.iter, info.sketch_iters, info.kkt, xerr, info.mu, info.nu,
                  info.hessian_shifts, info.exact_solves);
    sv_expr_problem_free(ep);
    json_decref(doc);
}

static void test_hock_schittkowski(void **state)
{
    (void)state;
    hs_accuracy_checked = 0;
    for (size_t i = 0; i < sizeof hs_names / sizeof hs_names[0]; i++)
        solve_hs(hs_names[i], SV_SKETCH_KACZMARZ, 0);
    assert_true(hs_accuracy_checked > 50);
}

static void test_hock_schittkowski_other_sketches(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hs_names / sizeof hs_names[0]; i++) {
        solve_hs(hs_names[i], SV_SKETCH_BLOCK, 0);
        solve_hs(hs_names[i], SV_SKETCH_GAUSSIAN, 1);
    }
}

/* min x1 + x2 s.t. x1^2 + x2^2 = 2: the minimiser (-1, -1) with l = 1/2, not the maximiser. */
/* The issue-9 set: the Hock-Schittkowski equality problems from their standard starts (and
 * hs039, hs042 from starts where the Jacobian has rank 1; hs061's standard start is one too),
 * solved to their published optima with the default settings (block sketch of 32: exact on
 * these small systems). Degenerate problems (a singular reduced Hessian at x*: hs026, hs046,
 * hs047, hs049) converge slowly and have no tol_x; only f is checked there. hs008's objective
 * is constant. */
static const char *const hs_set[] = {
    "hs006", "hs007", "hs008", "hs009", "hs026", "hs027", "hs028", "hs039", "hs040",
    "hs042", "hs046", "hs047", "hs048", "hs049", "hs050", "hs051", "hs052", "hs061",
    "hs077", "hs078", "hs079", "hs080", "hs081", "hs039_rd", "hs042_rd"};

typedef struct {
    int status, reason;
    long iter;
    double f, fstar, ferr, xerr, kkt;
} hs_outcome;

static int run_hs_default(const char *name, hs_outcome *o)
{
    char path[512];
    snprintf(path, sizeof path, "%s/hs/%s.json", SOLVD_TEST_DATA, name);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        fail_msg("%s: %s", path, jerr.text);
    sv_expr_problem *ep = expr_of(json_object_get(doc, "problem"));
    eal_sketch_problem p;
    eal_sketch_problem_from_expr(ep, &p);
    double x[16], lam[16], xs[16];
    const json_t *xstar = json_object_get(doc, "x_star");
    assert_int_equal((int)json_array_size(xstar), p.n);
    for (int i = 0; i < p.n; i++)
        xs[i] = json_number_value(json_array_get(xstar, (size_t)i));
    memcpy(x, sv_expr_problem_start(ep), (size_t)p.n * sizeof *x);
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    s.seed = 1;
    trace t;
    trace_init(&t, &s);
    t.check_descent = 0;
    sv_monitor mon = {trace_fn, &t, NULL};
    eal_sketch_info info;
    sv_err e;
    assert_int_equal(eal_sketch_solve(&p, &s, &mon, x, lam, &info, &e), SV_OK);
    o->status = info.base.status;
    o->reason = info.reason;
    o->iter = info.base.iter;
    o->f = info.base.obj;
    o->kkt = info.kkt;
    o->fstar = json_number_value(json_object_get(doc, "f_star"));
    o->ferr = fabs(o->f - o->fstar) / (1 + fabs(o->fstar));
    o->xerr = sv_test_max_abs_diff(p.n, x, xs);
    const json_t *tx = json_object_get(doc, "tol_x");
    const double tol_f = json_number_value(json_object_get(doc, "tol_f"));
    print_message("  %-9s %-8s %-12s %4ld it, f %.12g (f* %.12g), |f - f*|/(1+|f*|) %.1e, "
                  "|x - x*| %.1e, kkt %.1e\n", name, sv_status_name(info.base.status),
                  eal_sketch_reason_name(info.reason), info.base.iter, o->f, o->fstar, o->ferr,
                  o->xerr, o->kkt);
    int ok = info.base.status == SV_SOLVED && info.reason == EAL_SKETCH_REASON_CONVERGED &&
             o->ferr <= tol_f && (!tx || o->xerr <= json_number_value(tx));
    sv_expr_problem_free(ep);
    json_decref(doc);
    if (!ok)
        print_message("  %s: NOT solved to its optimum\n", name);
    return ok;
}

static void test_hock_schittkowski_set(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof hs_set / sizeof hs_set[0]; i++) {
        hs_outcome o;
        failed += !run_hs_default(hs_set[i], &o);
    }
    assert_int_equal(failed, 0);
}

/* The paper's local claims, on hs079 (x* refined to 17 digits) and hs042 (x* in closed form):
 * with theta_k = min(1, |b_k|) (superlinear) and no delta floor (delta_min = 0, the paper's
 * delta), the unit step is accepted in the last iterations and |x_{k+1} - x*| <= C |x_k - x*|^2
 * (the inexact Newton step's forcing term is O(|b_k|): a quadratic rate, which the paper's
 * superlinear claim implies). x_k is the iterate of a run stopped after k iterations: runs are
 * reproducible to the bit, so these are the iterates of one run. Only errors above 1e-11 are
 * compared (below, rounding decides), and the bounds have margins of orders of magnitude. */
typedef struct {
    double alpha[64];
    long n;
} alpha_log;

static int alpha_fn(const sv_progress *p, void *data)
{
    alpha_log *a = data;
    if (p->iter > 0 && a->n < 64 && (a->n == 0 || p->iter > a->n))
        a->alpha[a->n++] = sv_test_metric(p, "alpha");
    return 0;
}

static void local_rate(const char *name, int sketch, long sketch_size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/hs/%s.json", SOLVD_TEST_DATA, name);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        fail_msg("%s: %s", path, jerr.text);
    sv_expr_problem *ep = expr_of(json_object_get(doc, "problem"));
    eal_sketch_problem p;
    eal_sketch_problem_from_expr(ep, &p);
    double xs[16], x[16], lam[16], err[64];
    for (int i = 0; i < p.n; i++)
        xs[i] = json_number_value(json_array_get(json_object_get(doc, "x_star"), (size_t)i));
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    s.superlinear = 1;
    s.sketch = sketch;
    s.sketch_size = sketch_size;
    s.seed = 5;
    s.ctl.tol = 1e-13;
    eal_sketch_info info;
    sv_err e;
    /* the whole run: its iterations and its step sizes */
    alpha_log al = {{0}, 0};
    sv_monitor mon = {alpha_fn, &al, NULL};
    memcpy(x, sv_expr_problem_start(ep), (size_t)p.n * sizeof *x);
    assert_int_equal(eal_sketch_solve(&p, &s, &mon, x, lam, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    const long K = info.base.iter;
    assert_true(K >= 3 && K < 64);
    assert_int_equal(al.n, K);
    err[0] = sv_test_max_abs_diff(p.n, sv_expr_problem_start(ep), xs);
    for (long k = 1; k <= K; k++) {
        memcpy(x, sv_expr_problem_start(ep), (size_t)p.n * sizeof *x);
        s.ctl.max_iter = k;
        assert_int_equal(eal_sketch_solve(&p, &s, NULL, x, lam, &info, &e), SV_OK);
        assert_int_equal(info.base.iter, k);
        err[k] = sv_test_max_abs_diff(p.n, x, xs);
    }
    long compared = 0;
    for (long k = 0; k < K; k++) {
        print_message("  %s k=%ld |x_k - x*| %.3e alpha %.3g%s\n", name, k, err[k],
                      k > 0 ? al.alpha[k - 1] : 0.0,
                      err[k] < 1e-2 && err[k] > 1e-11 ? " (compared)" : "");
        if (err[k] < 1e-2 && err[k] > 1e-11) {
            assert_true(err[k + 1] <= 50.0 * err[k] * err[k] + 1e-13);  /* quadratic */
            assert_true(err[k + 1] <= 0.05 * err[k]);
            compared++;
        }
    }
    print_message("  %s k=%ld |x_k - x*| %.3e alpha %.3g\n", name, K, err[K], al.alpha[K - 1]);
    assert_true(compared >= 2);
    assert_true(err[K] < 1e-11);
    /* the unit step in the last iterations (at least the last 3) */
    for (long k = K - 3; k < K; k++)
        assert_true(al.alpha[k] == 1.0);
    sv_expr_problem_free(ep);
    json_decref(doc);
}

static void test_unit_step_and_local_rate(void **state)
{
    (void)state;
    local_rate("hs079", SV_SKETCH_BLOCK, 2);
    local_rate("hs079", SV_SKETCH_KACZMARZ, 1);
    local_rate("hs042", SV_SKETCH_BLOCK, 2);
    local_rate("hs042", SV_SKETCH_GAUSSIAN, 1);
}

static void test_circle(void **state)
{
    (void)state;
    json_t *pb = sv_test_json("{\"variables\": [\"x1\", \"x2\"], \"objective\": \"x1 + x2\","
                       " \"equalities\": [\"x1^2 + x2^2 = 2\"]}");
    sv_expr_problem *ep = expr_of(pb);
    eal_sketch_problem p;
    eal_sketch_problem_from_expr(ep, &p);
    const double starts[][2] = {{0.5, 1.5}, {1, 0.2}, {2, -3}, {-0.3, 0.1}, {3, 2}, {0.9, 1.1}};
    for (size_t k = 0; k < 2 * sizeof starts / sizeof starts[0]; k++) {
        size_t j = k / 2;
        double x[2] = {starts[j][0], starts[j][1]}, lam[1];
        eal_sketch_settings s;
        eal_sketch_settings_default(&s);
        s.seed = k;
        s.sketch = k % 2 ? SV_SKETCH_KACZMARZ : SV_SKETCH_BLOCK;
        trace t;
        trace_init(&t, &s);
        sv_monitor mon = {trace_fn, &t, NULL};
        eal_sketch_info info;
        assert_int_equal(eal_sketch_solve(&p, &s, &mon, x, lam, &info, NULL), SV_OK);
        if (info.base.status != SV_SOLVED || fabs(x[0] + 1) > 1e-8 || fabs(x[1] + 1) > 1e-8)
            fail_msg("from (%g, %g): %s, x = (%.10g, %.10g)", starts[j][0], starts[j][1],
                     eal_sketch_reason_name(info.reason), x[0], x[1]);
        assert_true(fabs(lam[0] - 0.5) < 1e-8);
        assert_true(fabs(info.base.obj + 2) < 1e-8);
        assert_true(info.kkt <= 1e-8);
    }
    /* On the symmetry axis through the maximiser the exact (one block) steps never leave the
     * axis, and the method ends at the other KKT point, (1, 1) with l = -1/2: a local method
     * guarantees a KKT point, not the minimiser. */
    {
        double x[2] = {3, 3}, lam[1];
        eal_sketch_settings s;
        eal_sketch_settings_default(&s);
        eal_sketch_info info;
        assert_int_equal(eal_sketch_solve(&p, &s, NULL, x, lam, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(fabs(x[0] - 1) < 1e-8 && fabs(x[1] - 1) < 1e-8 && fabs(lam[0] + 0.5) < 1e-8);
        assert_true(info.hessian_shifts > 0);  /* Z'HZ = 2 l < 0 there: B was modified */
    }
    sv_expr_problem_free(ep);
    json_decref(pb);
}

/* ============================================================================================
 * Quadratic programs against a direct KKT solve
 * ========================================================================================== */

typedef struct {
    int n, m;
    double *Q, *q, *A, *b;
} qp;

static double qp_fgrad(void *d, const double *x, double *g)
{
    qp *P = d;
    double f = 0;
    for (int i = 0; i < P->n; i++) {
        g[i] = sv_dot(P->n, P->Q + (size_t)i * P->n, x) + P->q[i];
        f += x[i] * (0.5 * (g[i] - P->q[i]) + P->q[i]);
    }
    return f;
}

static void qp_cons(void *d, const double *x, double *c, double *J)
{
    qp *P = d;
    for (int i = 0; i < P->m; i++) {
        if (c)
            c[i] = sv_dot(P->n, P->A + (size_t)i * P->n, x) - P->b[i];
        if (J)
            memcpy(J + (size_t)i * P->n, P->A + (size_t)i * P->n, (size_t)P->n * sizeof *J);
    }
}

static void qp_jtv(void *d, const double *x, const double *y, double *out)
{
    qp *P = d;
    (void)x;
    sv_zero(P->n, out);
    for (int i = 0; i < P->m; i++)
        sv_axpy(P->n, y[i], P->A + (size_t)i * P->n, out);
}

static void qp_hess(void *d, const double *x, const double *y, double *H, double *scratch)
{
    qp *P = d;
    (void)x;
    (void)y;
    (void)scratch;
    memcpy(H, P->Q, (size_t)P->n * P->n * sizeof *H);
}

/* Random QP: Q = M'M + shift I (shift < 0 makes Q indefinite, the reduced Hessian stays positive
 * definite when m is large enough: checked against the direct solve either way). */
static void qp_random(qp *P, int n, int m, double shift, uint64_t seed)
{
    sv_rng r;
    sv_rng_seed(&r, seed);
    P->n = n;
    P->m = m;
    P->Q = calloc((size_t)n * n, sizeof *P->Q);
    P->q = malloc((size_t)n * sizeof *P->q);
    P->A = malloc((size_t)m * n * sizeof *P->A);
    P->b = malloc((size_t)m * sizeof *P->b);
    double *M = malloc((size_t)n * n * sizeof *M);
    for (int i = 0; i < n * n; i++)
        M[i] = sv_rng_normal(&r) / sqrt(n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = 0;
            for (int k = 0; k < n; k++)
                v += M[k * n + i] * M[k * n + j];
            P->Q[i * n + j] = v + (i == j ? shift : 0);
        }
    for (int i = 0; i < n; i++)
        P->q[i] = sv_rng_normal(&r);
    for (int i = 0; i < m * n; i++)
        P->A[i] = sv_rng_normal(&r);
    for (int i = 0; i < m; i++)
        P->b[i] = sv_rng_normal(&r);
    free(M);
}

static void qp_free(qp *P)
{
    free(P->Q);
    free(P->q);
    free(P->A);
    free(P->b);
}

/* [Q A'; A 0] (x, l) = (-q, b) by LU. */
static void qp_direct(const qp *P, double *x, double *lam)
{
    const int n = P->n, m = P->m, N = n + m;
    double *K = calloc((size_t)N * N, sizeof *K), *rhs = malloc((size_t)N * sizeof *rhs);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++)
            K[i * N + j] = P->Q[i * n + j];
        for (int j = 0; j < m; j++)
            K[i * N + n + j] = K[(n + j) * N + i] = P->A[j * n + i];
        rhs[i] = -P->q[i];
    }
    for (int j = 0; j < m; j++)
        rhs[n + j] = P->b[j];
    assert_int_equal(sv_solve_general(N, K, rhs, 1), SV_OK);
    memcpy(x, rhs, (size_t)n * sizeof *x);
    memcpy(lam, rhs + n, (size_t)m * sizeof *lam);
    free(K);
    free(rhs);
}

static void check_qp(int n, int m, double shift, int sketch, uint64_t seed)
{
    qp P;
    qp_random(&P, n, m, shift, seed);
    eal_sketch_problem p = {n, m, &P, qp_fgrad, qp_cons, qp_jtv, qp_hess};
    double *x = calloc((size_t)n, sizeof *x), *lam = malloc((size_t)m * sizeof *lam);
    double *xd = malloc((size_t)n * sizeof *xd), *ld = malloc((size_t)m * sizeof *ld);
    qp_direct(&P, xd, ld);
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    s.sketch = sketch;
    s.seed = seed;
    trace t;
    trace_init(&t, &s);
    sv_monitor mon = {trace_fn, &t, NULL};
    eal_sketch_info info;
    assert_int_equal(eal_sketch_solve(&p, &s, &mon, x, lam, &info, NULL), SV_OK);
    double dx = sv_test_max_abs_diff(n, x, xd), dl = sv_test_max_abs_diff(m, lam, ld);
    if (info.base.status != SV_SOLVED || dx > 1e-7 * (1 + sv_nrminf(n, xd)) ||
        dl > 1e-7 * (1 + sv_nrminf(m, ld)))
        fail_msg("QP n=%d m=%d shift=%g: %s, %ld iterations, kkt %.3g, |x - x_kkt| %.3g, "
                 "|l - l_kkt| %.3g", n, m, shift, eal_sketch_reason_name(info.reason), info.base.iter,
                 info.kkt, dx, dl);
    print_message("  QP n=%d m=%d shift=%g: %ld iterations, %ld sketch steps, |x - x_kkt| %.1e, "
                  "%ld shifts, %ld penalty increases\n", n, m, shift, info.base.iter,
                  info.sketch_iters, dx, info.hessian_shifts, info.penalty_increases);
    free(x);
    free(lam);
    free(xd);
    free(ld);
    qp_free(&P);
}

static void test_qp_direct(void **state)
{
    (void)state;
    check_qp(6, 2, 0.1, SV_SKETCH_KACZMARZ, 1);
    check_qp(20, 5, 0.5, SV_SKETCH_KACZMARZ, 2);
    check_qp(30, 12, 0.2, SV_SKETCH_BLOCK, 3);
    check_qp(25, 10, 0.3, SV_SKETCH_GAUSSIAN, 4);
    check_qp(12, 12, 0.0, SV_SKETCH_KACZMARZ, 5);    /* m = n: the constraints fix x */
    check_qp(10, 0, 1.0, SV_SKETCH_KACZMARZ, 6);     /* no constraints: Newton on Q */
    check_qp(16, 10, -0.15, SV_SKETCH_KACZMARZ, 7);  /* Q indefinite, reduced Hessian PD */
}

/* An equality-constrained QP written as an expr problem: the whole pipeline (JSON, expressions,
 * AD Hessian) against the direct solve. */
static void test_qp_expr(void **state)
{
    (void)state;
    qp P;
    const int n = 5, m = 2;
    qp_random(&P, n, m, 0.3, 42);
    char obj[4096] = "0.5*(", eqs[2][1024], text[8192];
    size_t k = strlen(obj);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            k += (size_t)snprintf(obj + k, sizeof obj - k, "%s%.17g*x[%d]*x[%d]",
                                  i + j ? " + " : "", P.Q[i * n + j], i, j);
    k += (size_t)snprintf(obj + k, sizeof obj - k, ")");
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(obj + k, sizeof obj - k, " + %.17g*x[%d]", P.q[i], i);
    for (int r = 0; r < m; r++) {
        size_t q = 0;
        for (int i = 0; i < n; i++)
            q += (size_t)snprintf(eqs[r] + q, sizeof eqs[r] - q, "%s%.17g*x[%d]", i ? " + " : "",
                                  P.A[r * n + i], i);
        snprintf(eqs[r] + q, sizeof eqs[r] - q, " = %.17g", P.b[r]);
    }
    snprintf(text, sizeof text, "{\"variables\": {\"x\": {\"size\": %d}}, \"objective\": \"%s\","
             " \"equalities\": [\"%s\", \"%s\"]}", n, obj, eqs[0], eqs[1]);
    json_t *pb = sv_test_json(text);
    sv_expr_problem *ep = expr_of(pb);
    eal_sketch_problem p;
    eal_sketch_problem_from_expr(ep, &p);
    double x[5] = {0}, lam[2], xd[5], ld[2];
    qp_direct(&P, xd, ld);
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    eal_sketch_info info;
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x, lam, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(sv_test_max_abs_diff(n, x, xd) < 1e-8);
    assert_true(sv_test_max_abs_diff(m, lam, ld) < 1e-8);
    sv_expr_problem_free(ep);
    json_decref(pb);
    qp_free(&P);
}

/* ============================================================================================
 * Constrained logistic regression
 * ========================================================================================== */

/* Exact Newton on the KKT system with LU, full steps from the solver's answer: an independent
 * check that the answer is the KKT point (a few steps must not move it). Also compares the
 * model's derivatives with finite differences. */
static void test_logistic_eq(void **state)
{
    (void)state;
    sv_logistic_eq_spec spec = {300, 12, 4, 0, 0.0, 3, 0};
    sv_logistic_eq L;
    sv_err e;
    assert_int_equal(sv_logistic_eq_generate(&spec, &L, &e), SV_OK);
    const int d = L.d, m = sv_logistic_eq_n_cons(&L), N = d + m;
    /* the planted point is feasible */
    double c[16], J[16 * 16];
    sv_logistic_eq_cons(&L, L.v, c, NULL);
    assert_true(sv_nrminf(m, c) < 1e-12);

    /* derivatives against central differences at a random point */
    sv_rng r;
    sv_rng_seed(&r, 9);
    double x[16], g[16], xp[16], gp[16], gm[16], H[16 * 16], y[8];
    for (int j = 0; j < d; j++)
        x[j] = 0.3 * sv_rng_normal(&r);
    for (int i = 0; i < m; i++)
        y[i] = sv_rng_normal(&r);
    sv_logistic_eq_fgrad(&L, x, g);
    sv_logistic_eq_lag_hess(&L, x, y, H);
    for (int j = 0; j < d; j++) {
        const double h = 1e-5;
        memcpy(xp, x, sizeof xp);
        xp[j] = x[j] + h;
        double fp = sv_logistic_eq_fgrad(&L, xp, gp);
        xp[j] = x[j] - h;
        double fm = sv_logistic_eq_fgrad(&L, xp, gm);
        assert_true(fabs((fp - fm) / (2 * h) - g[j]) < 1e-8);
        for (int i = 0; i < d; i++)
            assert_true(fabs((gp[i] - gm[i]) / (2 * h) - H[i * d + j]) < 1e-7);
    }

    /* solve */
    eal_sketch_problem p;
    eal_sketch_problem_from_logistic_eq(&L, &p);
    double lam[8];
    sv_fill(d, 1.0 / sqrt(d), x);
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    s.seed = 5;
    s.ctl.tol = 1e-10;
    trace t;
    trace_init(&t, &s);
    sv_monitor mon = {trace_fn, &t, NULL};
    eal_sketch_info info;
    assert_int_equal(eal_sketch_solve(&p, &s, &mon, x, lam, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(info.kkt <= 1e-10);
    assert_true(t.last_kkt < t.first_kkt);

    /* independent exact Newton iterations from the answer */
    double xn[16], ln[8], K[(16 + 8) * (16 + 8)], rhs[24];
    memcpy(xn, x, sizeof xn);
    memcpy(ln, lam, sizeof ln);
    for (int it = 0; it < 3; it++) {
        sv_logistic_eq_fgrad(&L, xn, g);
        sv_logistic_eq_cons(&L, xn, c, J);
        double jt[16];
        sv_logistic_eq_jtv(&L, xn, ln, jt);
        sv_logistic_eq_lag_hess(&L, xn, ln, H);
        memset(K, 0, sizeof K);
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++)
                K[i * N + j] = H[i * d + j];
            for (int k = 0; k < m; k++)
                K[i * N + d + k] = K[(d + k) * N + i] = J[k * d + i];
            rhs[i] = -(g[i] + jt[i]);
        }
        for (int k = 0; k < m; k++)
            rhs[d + k] = -c[k];
        assert_int_equal(sv_solve_general(N, K, rhs, 1), SV_OK);
        for (int i = 0; i < d; i++)
            xn[i] += rhs[i];
        for (int k = 0; k < m; k++)
            ln[k] += rhs[d + k];
    }
    assert_true(sv_test_max_abs_diff(d, x, xn) < 1e-8);
    assert_true(sv_test_max_abs_diff(m, lam, ln) < 1e-8);
    print_message("  logistic_eq n=300 d=12 m=4: %ld iterations, %ld sketch steps, kkt %.1e\n",
                  info.base.iter, info.sketch_iters, info.kkt);
    sv_logistic_eq_free(&L);

    /* with the paper's unit-norm constraint (nonconvex) */
    sv_logistic_eq_spec spec2 = {400, 10, 3, 1, 0.0, 4, 0};
    assert_int_equal(sv_logistic_eq_generate(&spec2, &L, &e), SV_OK);
    eal_sketch_problem_from_logistic_eq(&L, &p);
    sv_fill(10, 1.0 / sqrt(10.0), x);
    trace_init(&t, &s);
    assert_int_equal(eal_sketch_solve(&p, &s, &mon, x, lam, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(fabs(sv_dot(10, x, x) - 1) < 1e-9);
    print_message("  logistic_eq unit norm n=400 d=10 m=3: %ld iterations, kkt %.1e\n",
                  info.base.iter, info.kkt);
    sv_logistic_eq_free(&L);

    /* generator validation */
    sv_logistic_eq_spec bad = {10, 3, 3, 1, 0.0, 0, 0};
    assert_int_equal(sv_logistic_eq_check(&bad, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/m");
    bad = (sv_logistic_eq_spec){0, 3, 1, 0, 0.0, 0, 0};
    assert_int_equal(sv_logistic_eq_check(&bad, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/n");
    bad = (sv_logistic_eq_spec){5, 3, 1, 0, -1.0, 0, 0};
    assert_int_equal(sv_logistic_eq_check(&bad, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/lambda");
}

/* ============================================================================================
 * Behaviour: reproducibility, cancel, limits, failures, validation
 * ========================================================================================== */

static int cancel_at_2(const sv_progress *p, void *data)
{
    (void)data;
    return p->iter >= 2;
}

/* The monitor's poll is read at every iteration and inside the sketch runs (every
 * SV_SKETCH_POLL_EVERY steps), whatever report_every is: on Rosenbrock's valley, where the
 * sketch runs are long (the default 1e5 steps), a stop at the 4th poll (the check of
 * iteration 0, then steps 256, 512, 768 of the first sketch run) ends the solve inside that run,
 * cancelled at iteration 0, with the one report of iteration 0. */
typedef struct {
    int polls, stop_at, reports;
} poller;

static int poll_count(void *data)
{
    poller *q = data;
    return ++q->polls >= q->stop_at;
}

static int count_report(const sv_progress *pr, void *data)
{
    (void)pr;
    ((poller *)data)->reports++;
    return 0;
}

static void test_poll_inside(void **state)
{
    (void)state;
    json_t *pj = sv_test_json("{\"variables\": {\"x\": {\"size\": 2, \"start\": [-1.2, 1]},"
                              " \"t\": {}}, \"objective\": \"100*(x[1]-x[0]^2)^2 + (1-x[0])^2\","
                              " \"equalities\": [\"t = x[0] + x[1]\"]}");
    sv_expr_problem *ep = expr_of(pj);
    eal_sketch_problem p;
    eal_sketch_problem_from_expr(ep, &p);
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    s.ctl.report_every = 1000000000L;
    poller q = {0, 4, 0};
    sv_monitor mon = {count_report, &q, poll_count};
    double x[3] = {-1.2, 1, 0}, lam[1];
    eal_sketch_info info;
    assert_int_equal(eal_sketch_solve(&p, &s, &mon, x, lam, &info, NULL), SV_OK);
    assert_int_equal(q.polls, 4);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.reason, EAL_SKETCH_REASON_CANCELLED);
    assert_int_equal(q.reports, 1);
    assert_int_equal(info.base.iter, 0);
    assert_int_equal(info.sketch_iters, 3 * SV_SKETCH_POLL_EVERY);
    assert_true(x[0] == -1.2 && x[1] == 1 && x[2] == 0);  /* no step was taken */
    sv_expr_problem_free(ep);
    json_decref(pj);
}

static void test_seed_cancel_limits(void **state)
{
    (void)state;
    sv_logistic_eq_spec spec = {200, 8, 3, 1, 0.01, 1, 0};
    sv_logistic_eq L;
    assert_int_equal(sv_logistic_eq_generate(&spec, &L, NULL), SV_OK);
    eal_sketch_problem p;
    eal_sketch_problem_from_logistic_eq(&L, &p);
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    s.seed = 123;
    s.sketch = SV_SKETCH_KACZMARZ;
    double x1[8], x2[8], lam[4];
    eal_sketch_info i1, i2;
    sv_fill(8, 1 / sqrt(8.0), x1);
    sv_fill(8, 1 / sqrt(8.0), x2);
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x1, lam, &i1, NULL), SV_OK);
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x2, lam, &i2, NULL), SV_OK);
    /* same seed: the same run to the bit */
    assert_memory_equal(x1, x2, sizeof x1);
    assert_int_equal(i1.sketch_iters, i2.sketch_iters);
    /* another seed: other sketches, the same answer */
    s.seed = 124;
    sv_fill(8, 1 / sqrt(8.0), x2);
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x2, lam, &i2, NULL), SV_OK);
    assert_true(i1.sketch_iters != i2.sketch_iters);
    assert_true(sv_test_max_abs_diff(8, x1, x2) < 1e-8);

    /* cancel: stops at the report of iteration 2 */
    sv_monitor mon = {cancel_at_2, NULL, NULL};
    sv_fill(8, 1 / sqrt(8.0), x2);
    assert_int_equal(eal_sketch_solve(&p, &s, &mon, x2, lam, &i2, NULL), SV_OK);
    assert_int_equal(i2.base.status, SV_CANCELLED);
    assert_int_equal(i2.reason, EAL_SKETCH_REASON_CANCELLED);
    assert_int_equal(i2.base.iter, 2);

    /* a time limit that has passed before the first iteration is checked */
    s.ctl.time_limit_s = 1e-9;
    sv_fill(8, 1 / sqrt(8.0), x2);
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x2, lam, &i2, NULL), SV_OK);
    assert_int_equal(i2.base.status, SV_TIME_LIMIT);
    assert_int_equal(i2.reason, EAL_SKETCH_REASON_TIME_LIMIT);
    assert_int_equal(i2.base.iter, 0);
    s.ctl.time_limit_s = 0;

    /* iteration limit, and max_iter 0 */
    s.ctl.max_iter = 1;
    sv_fill(8, 1 / sqrt(8.0), x2);
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x2, lam, &i2, NULL), SV_OK);
    assert_int_equal(i2.base.status, SV_MAX_ITER);
    assert_int_equal(i2.base.iter, 1);
    s.ctl.max_iter = 0;
    sv_fill(8, 1 / sqrt(8.0), x2);
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x2, lam, &i2, NULL), SV_OK);
    assert_int_equal(i2.base.status, SV_MAX_ITER);
    assert_true(x2[0] == 1 / sqrt(8.0));
    /* A sketch budget too small for the accuracy: the LU fallback takes over when the direction
     * is no descent direction, and the run converges like exact Newton ... */
    eal_sketch_settings_default(&s);
    s.sketch = SV_SKETCH_KACZMARZ;
    s.max_sketch_iter = 2;
    s.ctl.max_iter = 50;
    sv_fill(8, 1 / sqrt(8.0), x2);
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x2, lam, &i2, NULL), SV_OK);
    assert_true(i2.sketch_capped > 0);
    assert_true(i2.exact_solves > 0);
    assert_int_equal(i2.base.status, SV_SOLVED);
    assert_true(sv_test_max_abs_diff(8, x1, x2) < 1e-8);
    /* ... and without it the run still ends, with a reason */
    s.exact_fallback = 0;
    s.ctl.max_iter = 5;
    sv_fill(8, 1 / sqrt(8.0), x2);
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x2, lam, &i2, NULL), SV_OK);
    assert_int_equal(i2.exact_solves, 0);
    assert_true(i2.sketch_capped > 0);
    assert_true(i2.base.status != SV_SOLVED);
    assert_true(i2.reason != EAL_SKETCH_REASON_NONE && i2.reason != EAL_SKETCH_REASON_CONVERGED);
    sv_logistic_eq_free(&L);
}

static void test_failures_and_validation(void **state)
{
    (void)state;
    /* The Jacobian of x^2 = 0 vanishes at its only feasible point, where grad f = (1, 0) has no
     * multiplier: no KKT point exists. The start (0, 1) is rank deficient too; the regularized
     * system moves on (no singular_jacobian at iteration 0 any more), the multiplier grows
     * without bound as x -> 0, and the solve ends diverged once the restarts are spent, near
     * the feasible set, not looping to max_iter. */
    json_t *pb = sv_test_json("{\"variables\": [\"x\", \"y\"], \"objective\": \"x + y^2\","
                       " \"equalities\": [\"x^2\"], \"x0\": [0, 1]}");
    sv_expr_problem *ep = expr_of(pb);
    eal_sketch_problem p;
    eal_sketch_problem_from_expr(ep, &p);
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    double x[2] = {0, 1}, lam[1];
    eal_sketch_info info;
    sv_err e;
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x, lam, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_DIVERGED);
    assert_int_equal(info.reason, EAL_SKETCH_REASON_NO_DESCENT);
    assert_int_equal(info.restarts, s.max_restarts);
    assert_true(info.regularized >= 1);
    assert_true(info.base.iter > 0 && info.base.iter < s.ctl.max_iter);
    assert_true(fabs(x[0]) < 1e-2 && fabs(x[1]) < 1e-6);
    /* without restarts the first failure ends it */
    s.max_restarts = 0;
    x[0] = 0;
    x[1] = 1;
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x, lam, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_DIVERGED);
    assert_int_equal(info.restarts, 0);
    eal_sketch_settings_default(&s);
    sv_expr_problem_free(ep);
    json_decref(pb);

    /* not finite at the start: a bad x0 */
    pb = sv_test_json("{\"variables\": [\"x\"], \"objective\": \"log(x)\", "
                      "\"equalities\": [\"x - 2\"]}");
    ep = expr_of(pb);
    eal_sketch_problem_from_expr(ep, &p);
    x[0] = 0;
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x, lam, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    assert_int_equal(info.base.status, SV_UNSOLVED);
    /* ... but from inside the domain it solves, with log's domain guarding the line search */
    x[0] = 0.1;
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x, lam, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(fabs(x[0] - 2) < 1e-8);
    double nan_x = NAN;
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, &nan_x, lam, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, NULL, lam, &info, &e), SV_EINVAL);
    sv_expr_problem_free(ep);
    json_decref(pb);

    /* more constraints than variables */
    pb = sv_test_json("{\"variables\": [\"x\"], \"objective\": \"x\", "
                      "\"equalities\": [\"x\", \"x-1\"]}");
    ep = expr_of(pb);
    eal_sketch_problem_from_expr(ep, &p);
    assert_int_equal(eal_sketch_check_problem(&p, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/equalities");
    sv_expr_problem_free(ep);
    json_decref(pb);

    /* settings */
    eal_sketch_settings_default(&s);
    assert_int_equal(eal_sketch_check_settings(&s, &e), SV_OK);
#define BAD(stmt, name)                                                   \
    do {                                                                  \
        eal_sketch_settings_default(&s);                                         \
        stmt;                                                             \
        assert_int_equal(eal_sketch_check_settings(&s, &e), SV_EINVAL);          \
        assert_string_equal(e.field, "/params/" name);                    \
    } while (0)
    BAD(s.ctl.tol = -1, "tol");
    BAD(s.ctl.tol = NAN, "tol");
    BAD(s.ctl.max_iter = -1, "max_iter");
    BAD(s.ctl.time_limit_s = -1, "time_limit_s");
    BAD(s.ctl.report_every = 0, "report_every");
    BAD(s.sketch = 7, "sketch");
    BAD(s.sketch_size = 0, "sketch_size");
    BAD(s.max_sketch_iter = 0, "max_sketch_iter");
    BAD(s.mu = 0, "mu");
    BAD(s.nu = INFINITY, "nu");
    BAD(s.delta = 1, "delta");
    BAD(s.delta_min = -1e-9, "delta_min");  /* 0 is allowed: no floor */
    BAD(s.delta_min = 1, "delta_min");
    BAD(s.max_restarts = -1, "max_restarts");
    BAD(s.xi_b = -1, "xi_b");
    BAD(s.beta = 0.5, "beta");
    BAD(s.rho = 1, "rho");
    BAD(s.backtrack = 1, "backtrack");
    BAD(s.superlinear = 2, "superlinear");
    BAD(s.modify_hessian = -1, "modify_hessian");
    BAD(s.multipliers = 3, "multipliers");
    BAD(s.exact_fallback = 2, "exact_fallback");
#undef BAD
}

/* Least-squares multipliers and the unmodified Hessian give the same answer on a convex
 * problem; hs039 needs no shift at the solution either way. */
static void test_options(void **state)
{
    (void)state;
    json_t *doc = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/hs/hs039.json", SOLVD_TEST_DATA);
    doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    sv_expr_problem *ep = expr_of(json_object_get(doc, "problem"));
    eal_sketch_problem p;
    eal_sketch_problem_from_expr(ep, &p);
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    s.multipliers = EAL_SKETCH_MULT_LEAST_SQUARES;
    s.superlinear = 1;
    double x[4], lam[2];
    memcpy(x, sv_expr_problem_start(ep), sizeof x);
    eal_sketch_info info;
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, x, lam, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(fabs(x[0] - 1) < 1e-8 && fabs(x[1] - 1) < 1e-8);
    assert_true(fabs(lam[0] + 1) < 1e-8 && fabs(lam[1] + 1) < 1e-8);
    sv_expr_problem_free(ep);
    json_decref(doc);

    /* modify_hessian false on a strictly convex problem */
    sv_logistic_eq_spec spec = {200, 6, 2, 0, 0.1, 8, 0};
    sv_logistic_eq L;
    assert_int_equal(sv_logistic_eq_generate(&spec, &L, NULL), SV_OK);
    eal_sketch_problem_from_logistic_eq(&L, &p);
    double xa[6], xb[6];
    sv_fill(6, 0.4, xa);
    sv_fill(6, 0.4, xb);
    eal_sketch_settings_default(&s);
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, xa, lam, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_int_equal(info.hessian_shifts, 0);
    s.modify_hessian = 0;
    assert_int_equal(eal_sketch_solve(&p, &s, NULL, xb, lam, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(sv_test_max_abs_diff(6, xa, xb) < 1e-8);
    sv_logistic_eq_free(&L);
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static void test_codec_validate(void **state)
{
    (void)state;
    const char *hs7 = "{\"variables\": [\"x1\", \"x2\"], \"objective\": \"log(1+x1^2)-x2\","
                      " \"equalities\": [\"(1+x1^2)^2+x2^2-4\"], \"x0\": [2, 2]}";
    json_t *pb = sv_test_json(hs7);
    sv_err e;
    assert_int_equal(sv_codec_eal_sketch.validate(pb, NULL, &sv_test_codec_env, &e), SV_OK);
    json_decref(pb);
    expect_codec_error(hs7, "{\"sketch\": \"lu\"}", "/params/sketch");
    expect_codec_error(hs7, "{\"beta\": 0.7}", "/params/beta");
    expect_codec_error(hs7, "{\"delta\": 1}", "/params/delta");
    expect_codec_error(hs7, "{\"speed\": 1}", "/params/speed");
    expect_codec_error("{\"variables\": [\"x\"], \"objective\": \"x\", \"inequalities\": "
                       "[\"x <= 1\"]}", NULL, "/problem/inequalities");
    expect_codec_error("{\"variables\": {\"x\": {\"upper\": 1}}, \"objective\": \"x\"}", NULL,
                       "/problem/variables/x/upper");
    expect_codec_error("{\"variables\": [\"x\"], \"objective\": \"x\", \"equalities\": "
                       "[\"x\", \"x - 1\"]}", NULL, "/problem/equalities");
    expect_codec_error("{\"variables\": [\"x\"], \"objective\": \"x\", \"equalities\": "
                       "[\"x + q\"]}", NULL, "/problem/equalities/0");
    expect_codec_error("{\"generate\": {\"kind\": \"logistic_eq\", \"n\": 10, \"d\": 3, \"m\": 3,"
                       " \"unit_norm\": true}}", NULL, "/problem/generate/m");
    expect_codec_error("{\"generate\": {\"kind\": \"lasso\", \"n\": 10, \"d\": 3, \"m\": 1}}", NULL,
                       "/problem/generate/kind");
    expect_codec_error("{\"generate\": {\"kind\": \"logistic_eq\", \"d\": 3, \"m\": 1}}", NULL,
                       "/problem/generate/n");
    expect_codec_error("{\"generate\": {\"kind\": \"logistic_eq\", \"n\": 10, \"d\": 3, \"m\": 1,"
                       " \"p\": 2}}", NULL, "/problem/generate/p");
    expect_codec_error("{\"generate\": {\"kind\": \"logistic_eq\", \"n\": 10, \"d\": 3, \"m\": 1},"
                       " \"x0\": [1, 2]}", NULL, "/problem/x0");
    expect_codec_error("{\"generate\": {\"kind\": \"logistic_eq\", \"n\": 10, \"d\": 3, \"m\": 1},"
                       " \"objective\": \"x\"}", NULL, "/problem/objective");
    expect_codec_error("{\"generate\": {\"kind\": \"logistic_eq\", \"n\": 10, \"d\": 5000, "
                       "\"m\": 1}}", NULL, "/problem/generate/d");
    expect_codec_error("[]", NULL, "/problem");
}

static void test_codec_run(void **state)
{
    (void)state;
    json_t *r = run_codec("{\"variables\": {\"x\": {\"size\": 2, \"start\": [0.5, 1.5]}},"
                          " \"objective\": \"sum(x)\", \"equalities\": [\"dot(x, x) = 2\"]}",
                          "{\"sketch\": \"block\", \"sketch_size\": 2, \"seed\": 3}");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_string_equal(json_string_value(json_object_get(r, "reason")), "converged");
    json_t *xv = json_object_get(json_object_get(r, "variables"), "x");
    assert_true(fabs(json_number_value(json_array_get(xv, 0)) + 1) < 1e-8);
    assert_true(fabs(json_number_value(json_array_get(xv, 1)) + 1) < 1e-8);
    assert_true(fabs(json_number_value(json_array_get(json_object_get(r, "multipliers"), 0)) -
                     0.5) < 1e-8);
    assert_true(json_number_value(json_object_get(r, "kkt_residual")) <= 1e-8);
    assert_true(json_is_integer(json_object_get(r, "iterations")));
    assert_true(json_is_real(json_object_get(r, "solve_time_s")));
    assert_true(json_is_object(json_object_get(r, "penalties")));
    json_decref(r);

    r = run_codec("{\"generate\": {\"kind\": \"logistic_eq\", \"n\": 100, \"d\": 5, \"m\": 2,"
                  " \"seed\": 2, \"unit_norm\": true}}",
                  NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_int_equal(json_array_size(json_object_get(r, "x")), 5);
    assert_int_equal(json_array_size(json_object_get(r, "multipliers")), 3);
    assert_null(json_object_get(r, "variables"));
    json_decref(r);
}

/* The result's accuracy report and the rank-deficient start over the codec. */
static void test_codec_accuracy_and_rank(void **state)
{
    (void)state;
    /* A well-scaled QP (|B|_F < 1, G G' = 3, xi_B = 1: Psi = 20, delta_trial ~ 1.6e-5): the
     * paper's condition with its own delta is attainable, and with delta_min = 0 it held. */
    const char *wqp = "{\"variables\": [\"x1\", \"x2\", \"x3\"], \"objective\": "
                     "\"0.1*(x1-1)^2 + 0.1*(x2+1)^2 + 0.1*x3^2\", \"equalities\": "
                     "[\"x1 + x2 + x3 = 1\"], \"x0\": [0, 0, 0]}";
    json_t *r = run_codec(wqp, "{\"delta_min\": 0, \"xi_b\": 1, \"sketch\": \"kaczmarz\"}");
    assert_string_equal(json_string_value(json_object_get(r, "reason")), "converged");
    assert_true(json_is_true(json_object_get(r, "accuracy_condition_held")));
    assert_int_equal(json_integer_value(json_object_get(r, "accuracy_condition_steps")),
                     json_integer_value(json_object_get(r, "iterations")));
    assert_true(json_number_value(json_object_get(json_object_get(r, "penalties"), "delta")) <
                1e-4);
    json_decref(r);
    /* hs079 with the paper's constants: delta_trial is so small that the paper's condition asks
     * for a residual below rounding; the capped sketch (and the LU fallback) cannot meet it.
     * The run still converges (its steps are accurate to rounding) and says so. */
    const char *hs79 = "{\"variables\": [\"x1\", \"x2\", \"x3\", \"x4\", \"x5\"], \"objective\": "
                       "\"(x1-1)^2+(x1-x2)^2+(x2-x3)^2+(x3-x4)^4+(x4-x5)^4\", \"equalities\": "
                       "[\"x1+x2^2+x3^3 = 2+3*sqrt(2)\", \"x2-x3^2+x4 = -2+2*sqrt(2)\", "
                       "\"x1*x5 = 2\"], \"x0\": [2, 2, 2, 2, 2]}";
    r = run_codec(hs79, "{\"delta_min\": 0, \"max_sketch_iter\": 2000}");
    assert_string_equal(json_string_value(json_object_get(r, "reason")), "converged");
    assert_true(json_is_false(json_object_get(r, "accuracy_condition_held")));
    /* (at most a step or two where a solve happens to land below the target: which ones
     * depends on the BLAS kernels' rounding) */
    assert_true(json_integer_value(json_object_get(r, "accuracy_condition_steps")) <
                json_integer_value(json_object_get(r, "iterations")) - 1);
    assert_true(json_integer_value(json_object_get(r, "sketch_capped")) > 0);
    json_decref(r);
    /* hs061 from its standard start (0, 0, 0), where the Jacobian has rank 1: regularized, no
     * longer diverged/singular_jacobian at iteration 0 */
    const char *hs61 = "{\"variables\": [\"x1\", \"x2\", \"x3\"], \"objective\": "
                       "\"4*x1^2 + 2*x2^2 + 2*x3^2 - 33*x1 + 16*x2 - 24*x3\", \"equalities\": "
                       "[\"3*x1 - 2*x2^2 = 7\", \"4*x1 - x3^2 = 11\"], \"x0\": [0, 0, 0]}";
    r = run_codec(hs61, "{\"seed\": 1}");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(json_integer_value(json_object_get(r, "regularized_steps")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(r, "restarts")), 0);
    assert_true(json_is_null(json_object_get(r, "last_restart_reason")));
    assert_true(fabs(json_number_value(json_object_get(r, "objective")) + 143.6461422) < 1e-6);
    json_decref(r);
    /* no KKT point: restarts spent, each after no_descent, and the run says so */
    r = run_codec("{\"variables\": [\"x\", \"y\"], \"objective\": \"x + y^2\","
                  " \"equalities\": [\"x^2\"], \"x0\": [0, 1]}", "{\"max_restarts\": 2}");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "diverged");
    assert_string_equal(json_string_value(json_object_get(r, "reason")), "no_descent");
    assert_int_equal(json_integer_value(json_object_get(r, "restarts")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "last_restart_reason")),
                        "no_descent");
    json_decref(r);
}

static void test_codec_example(void **state)
{
    (void)state;
    json_t *ex = sv_codec_eal_sketch.example();
    assert_non_null(ex);
    sv_err e;
    json_t *res = NULL;
    const sv_codec_env *env = &sv_test_codec_env;
    assert_int_equal(sv_codec_eal_sketch.validate(json_object_get(ex, "problem"),
                                                  json_object_get(ex, "params"), env, &e),
                     SV_OK);
    assert_int_equal(sv_codec_eal_sketch.run(json_object_get(ex, "problem"),
                                             json_object_get(ex, "params"), env, NULL, &res,
                                             &e),
                     SV_OK);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    /* Rosenbrock's minimum (1, 1) with t = 2, after enough iterations to draw a curve (timing
     * is bench/'s business: under ASan on a loaded machine the run takes seconds) */
    json_t *vars = json_object_get(res, "variables");
    json_t *xv = json_object_get(vars, "x");
    assert_true(fabs(json_number_value(json_array_get(xv, 0)) - 1.0) < 1e-6);
    assert_true(fabs(json_number_value(json_array_get(xv, 1)) - 1.0) < 1e-6);
    assert_true(fabs(json_number_value(json_object_get(vars, "t")) - 2.0) < 1e-6);
    assert_true(json_number_value(json_object_get(res, "objective")) < 1e-12);
    assert_true(json_integer_value(json_object_get(res, "iterations")) >= 20);
    json_decref(res);
    json_decref(ex);
    /* the schema's defaults agree with the settings */
    json_t *schema = sv_codec_params_schema(&sv_codec_eal_sketch);
    assert_non_null(schema);
    json_decref(schema);
    schema = sv_codec_eal_sketch.problem_schema();
    assert_non_null(schema);
    json_decref(schema);
    assert_string_equal(sv_codec_eal_sketch.name, "constrained.eal_sketch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hock_schittkowski),
        cmocka_unit_test(test_hock_schittkowski_other_sketches),
        cmocka_unit_test(test_hock_schittkowski_set),
        cmocka_unit_test(test_unit_step_and_local_rate),
        cmocka_unit_test(test_circle),
        cmocka_unit_test(test_qp_direct),
        cmocka_unit_test(test_qp_expr),
        cmocka_unit_test(test_logistic_eq),
        cmocka_unit_test(test_seed_cancel_limits),
        cmocka_unit_test(test_failures_and_validation),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_codec_validate),
        cmocka_unit_test(test_codec_run),
        cmocka_unit_test(test_codec_accuracy_and_rank),
        cmocka_unit_test(test_poll_inside),
        cmocka_unit_test(test_codec_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
