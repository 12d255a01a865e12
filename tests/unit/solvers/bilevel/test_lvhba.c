/* test_lvhba.c - LV-HBA (core/solvers/bilevel/lvhba.c) and the bilevel.lvhba codec
 * (api/codecs/bilevel/lvhba.c). Reference answers: the coupled toy problem of the issue (x* = y* = 1/2),
 * the closed-form x* of the quadratic class, a fine 1-D grid search of F(x) = f(x, y*(x)) on a
 * generated constrained instance with one upper variable, the closed-form projection onto
 * {y <= x}, and the validation loss at the start of a hyper-cleaning instance. */
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
#include "core/solvers/bilevel/lvhba.h"
#include "support/bilevel_fixtures.h"
#include "support/codec.h"
#include "support/json.h"
#include "support/numeric.h"

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

typedef struct {
    long reports;
    long last_iter;
    double max_violation;  /* largest "max_violation" metric seen */
    double first_obj, last_obj;
    long stop_at;          /* ask to stop at this report (-1: never) */
} mon_log;

static int log_monitor(const sv_progress *p, void *data)
{
    mon_log *l = data;
    if (l->reports == 0)
        l->first_obj = p->obj;
    l->last_obj = p->obj;
    l->reports++;
    l->last_iter = p->iter;
    l->max_violation = fmax(l->max_violation, sv_test_metric(p, "max_violation"));
    return l->stop_at >= 0 && l->reports > l->stop_at;
}

/* ============================================================================================
 * Solver
 * ========================================================================================== */

/* The toy problem min_x x^2/2 + (y*(x) - 1)^2/2, y*(x) = argmin_{y <= x} (y - 2)^2/2:
 * the solution is x* = y* = 1/2 (F = x^2/2 + (x - 1)^2/2 on x <= 2). From (3, -1) LV-HBA with
 * its automatic steps reaches it to 1e-6 and stops on its residual test; z ends at the lower
 * level's multiplier 3/2. */
static void test_toy_problem(void **state)
{
    (void)state;
    sv_bl_constrained c;
    assert_int_equal(sv_bl_constrained_toy(&c), SV_OK);
    sv_bl_problem p;
    sv_bl_constrained_bind(&c, &p);
    lvhba_settings s;
    lvhba_settings_default(&s);
    double x[1] = {3.0}, y[1] = {-1.0}, z[1] = {0.0};
    lvhba_info info;
    sv_err e;
    mon_log log = {.stop_at = -1};
    sv_monitor mon = {log_monitor, &log, NULL};
    assert_int_equal(lvhba_solve(&p, &s, &mon, x, y, z, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(info.residual <= s.ctl.tol);
    if (!(fabs(x[0] - 0.5) <= 1e-6 && fabs(y[0] - 0.5) <= 1e-6))
        fail_msg("x %.9f y %.9f", x[0], y[0]);
    assert_true(fabs(info.F_exact - 0.25) <= 1e-10);
    /* z estimates the lower KKT multiplier: y - 2 + z = 0 at y = 1/2 */
    if (!(fabs(z[0] - 1.5) <= 1e-5))
        fail_msg("z %.9f", z[0]);
    assert_true(info.lower_error <= 1e-6);
    /* every iterate feasible: y <= x up to the projection's tolerance */
    assert_true(log.max_violation <= 1e-10);
    assert_true(info.max_violation <= 1e-10);
    assert_true(log.first_obj > log.last_obj);
    sv_bl_constrained_free(&c);
}

/* The start is projected onto C = {y <= x} before the first step: (-1, 2) goes to (1/2, 1/2),
 * the closed-form projection onto the half-plane. */
static void test_start_projected(void **state)
{
    (void)state;
    sv_bl_constrained c;
    assert_int_equal(sv_bl_constrained_toy(&c), SV_OK);
    sv_bl_problem p;
    sv_bl_constrained_bind(&c, &p);
    lvhba_settings s;
    lvhba_settings_default(&s);
    s.ctl.max_iter = 0;
    double x[1] = {-1.0}, y[1] = {2.0};
    lvhba_info info;
    assert_int_equal(lvhba_solve(&p, &s, NULL, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    assert_int_equal(info.base.iter, 0);
    assert_true(fabs(x[0] - 0.5) <= 1e-12 && fabs(y[0] - 0.5) <= 1e-12);
    sv_bl_constrained_free(&c);
}

/* A y-box that makes C empty (y >= 1 and x <= 0 with y <= x) is reported as infeasible. */
static void test_infeasible(void **state)
{
    (void)state;
    sv_bl_constrained c;
    assert_int_equal(sv_bl_constrained_toy(&c), SV_OK);
    c.y_lo = malloc(sizeof *c.y_lo);
    c.q.x_hi = malloc(sizeof *c.q.x_hi);
    assert_non_null(c.y_lo);
    assert_non_null(c.q.x_hi);
    c.y_lo[0] = 1.0;
    c.q.x_hi[0] = 0.0;
    sv_bl_problem p;
    sv_bl_constrained_bind(&c, &p);
    lvhba_settings s;
    lvhba_settings_default(&s);
    s.proj_max_sweeps = 2000;
    double x[1] = {0.0}, y[1] = {0.0};
    lvhba_info info;
    assert_int_equal(lvhba_solve(&p, &s, NULL, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_INFEASIBLE);
    assert_true(info.max_violation > 1e-3);
    sv_bl_constrained_free(&c);
}

/* Quadratic class, unconstrained lower level (the multipliers are empty): with c_k = 10 (k+1)^0.3
 * LV-HBA reaches the closed-form x* to 0.01 in the max norm (|x*| about 0.7) in 20000 iterations;
 * the bias of the penalty falls like 1/c_k, which is what limits the accuracy. */
static void test_quadratic_closed_form(void **state)
{
    (void)state;
    sv_bl_quadratic_spec spec = {.dx = 5, .dy = 8, .cond = 2.0, .lambda = 1.0, .seed = 3};
    sv_bl_quadratic q;
    sv_err e;
    assert_int_equal(sv_bl_quadratic_generate(&spec, &q, &e), SV_OK);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    double xs[5], ys[8];
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, ys), SV_OK);
    lvhba_settings s;
    lvhba_settings_default(&s);
    s.c0 = 10.0;
    s.ctl.max_iter = 20000;
    double x[5] = {0}, y[8] = {0};
    lvhba_info info;
    assert_int_equal(lvhba_solve(&p, &s, NULL, x, y, NULL, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    double err = 0.0, xn = 0.0;
    for (int j = 0; j < 5; j++) {
        err = fmax(err, fabs(x[j] - xs[j]));
        xn = fmax(xn, fabs(xs[j]));
    }
    printf("lvhba quadratic: |x - x*|_inf = %.2e (|x*|_inf %.3f), alpha %.4g, alpha_x %.4g\n",
           err, xn, info.alpha, info.alpha_x);
    if (!(err <= 0.01))
        fail_msg("|x - x*|_inf = %g (|x*|_inf %g)", err, xn);
    assert_true(xn > 0.3);
    /* the automatic steps: alpha from the finite-difference smoothness estimates */
    assert_true(fabs(info.L_f - 1.0) <= 1e-4);  /* f = |y - c|^2/2 + |x|^2/2: Hessian I */
    assert_true(info.alpha > 0 && info.eta > 0);
    sv_bl_quadratic_free(&q);
}

/* A generated instance with coupled constraints and one upper variable: the reference is a grid
 * search of F(x) = f(x, y*(x)) over [-3, 3] (step 1e-3, then 1e-6 around the best point), with
 * y*(x) from the class's exact constrained solve; F has a single local minimum there, with two
 * of the three constraints active. LV-HBA ends within 2e-3 of the reference x and 1e-5 of its
 * F, and every reported iterate satisfies A x + B y <= b to 1e-9. */
static void test_constrained_grid_reference(void **state)
{
    (void)state;
    sv_bl_constrained_spec spec = {
        .q = {.dx = 1, .dy = 4, .cond = 3.0, .lambda = 1.0, .seed = 8}, .m = 3, .seed = 9};
    sv_bl_constrained c;
    sv_err e;
    assert_int_equal(sv_bl_constrained_generate(&spec, &c, &e), SV_OK);
    sv_bl_problem p;
    sv_bl_constrained_bind(&c, &p);

    double yr[4] = {0}, best_x = 0, best_F = INFINITY, prev = NAN, prev2 = NAN;
    int local_minima = 0;
    for (int i = 0; i <= 6000; i++) {
        double xv = -3.0 + 1e-3 * i;
        double F = sv_test_bl_true_F(&p, &xv, yr);
        if (F < best_F) {
            best_F = F;
            best_x = xv;
        }
        local_minima += i >= 2 && prev < prev2 && prev < F;
        prev2 = prev;
        prev = F;
    }
    /* one local minimum on the grid: the stationary point LV-HBA finds is the global one */
    assert_int_equal(local_minima, 1);
    double lo = best_x - 1e-3;
    for (int i = 0; i <= 2000; i++) {
        double xv = lo + 1e-6 * i;
        double F = sv_test_bl_true_F(&p, &xv, yr);
        if (F < best_F) {
            best_F = F;
            best_x = xv;
        }
    }

    lvhba_settings s;
    lvhba_settings_default(&s);
    s.c0 = 10.0;
    s.ctl.max_iter = 20000;
    s.ctl.report_every = 50;
    double x[1] = {0}, y[4] = {0};
    lvhba_info info;
    mon_log log = {.stop_at = -1};
    sv_monitor mon = {log_monitor, &log, NULL};
    assert_int_equal(lvhba_solve(&p, &s, &mon, x, y, NULL, &info, &e), SV_OK);
    if (!(fabs(x[0] - best_x) <= 2e-3 && info.F_exact - best_F <= 1e-5))
        fail_msg("x %.6f F %.8f, grid x %.6f F %.8f", x[0], info.F_exact, best_x, best_F);
    /* the coupled constraints matter here: at least one is active at the returned point */
    double G[3];
    sv_bl_constraints(&p, x, y, G, NULL, NULL);
    assert_true(fmax(G[0], fmax(G[1], G[2])) >= -1e-6);
    assert_true(info.F_exact >= best_F - 1e-9);  /* the grid is a global reference */
    if (!(log.max_violation <= 1e-9))
        fail_msg("constraint violation %g", log.max_violation);
    assert_true(log.reports >= 400);
    assert_true(info.proj_sweeps > 0);
    sv_bl_constrained_free(&c);
}

/* Data hyper-cleaning on a generated instance (30% of 200 training labels flipped): after 4000
 * iterations the true validation loss F(x) = f(x, y*(x)) is below 0.2 (observed 0.163), from
 * 0.459 at the start x = 0 (every weight 1/2, i.e. unweighted training). The x block's own step
 * (about 45 against 0.98 for y) is what gets it there: with one step for (x, y), as before, F
 * was 0.38 after 4000 iterations. */
static void test_hyperclean_improves(void **state)
{
    (void)state;
    sv_bl_hyperclean_spec spec = {.n_train = 200, .n_val = 100, .n_test = 0, .d = 10,
                                  .classes = 2, .flip = 0.3, .mu = 1e-2, .upper_reg = 0.0,
                                  .intercept = 1, .seed = 5};
    sv_bl_hyperclean h;
    sv_err e;
    assert_int_equal(sv_bl_hyperclean_generate(&spec, &h, &e), SV_OK);
    sv_bl_problem p;
    sv_bl_hyperclean_bind(&h, &p);
    double *x = calloc((size_t)p.dx, sizeof *x), *y = calloc((size_t)p.dy, sizeof *y);
    double *y0 = calloc((size_t)p.dy, sizeof *y0);
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(y0);
    double F0 = sv_test_bl_true_F(&p, x, y0);
    lvhba_settings s;
    lvhba_settings_default(&s);
    s.ctl.max_iter = 4000;
    lvhba_info info;
    assert_int_equal(lvhba_solve(&p, &s, NULL, x, y, NULL, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    printf("lvhba hyperclean: F %.4f from %.4f in 4000 iterations, alpha %.4g, alpha_x %.4g\n",
           info.F_exact, F0, info.alpha, info.alpha_x);
    assert_true(info.alpha_x > 10 * info.alpha);
    if (!(info.F_exact < 0.2 && F0 > 0.45))
        fail_msg("validation loss %g, at the start %g", info.F_exact, F0);
    /* the model at the returned y is better on validation too */
    assert_true(sv_bl_accuracy(&p, y, SV_BL_SET_VAL) >= sv_bl_accuracy(&p, y0, SV_BL_SET_VAL));
    free(x);
    free(y);
    free(y0);
    sv_bl_hyperclean_free(&h);
}

/* The monitor's non-zero return stops the solve at that report with status cancelled. */
static void test_cancel(void **state)
{
    (void)state;
    sv_bl_constrained c;
    assert_int_equal(sv_bl_constrained_toy(&c), SV_OK);
    sv_bl_problem p;
    sv_bl_constrained_bind(&c, &p);
    lvhba_settings s;
    lvhba_settings_default(&s);
    s.ctl.report_every = 10;
    double x[1] = {3.0}, y[1] = {-1.0};
    lvhba_info info;
    mon_log log = {.stop_at = 2};
    sv_monitor mon = {log_monitor, &log, NULL};
    assert_int_equal(lvhba_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 20);
    assert_int_equal(log.reports, 3);
    sv_bl_constrained_free(&c);
}

/* A poll that says stop at its stop_at-th call, counting its calls (core/solver.h). */
typedef struct {
    mon_log log;
    long calls, stop_at;
} mon_poll;

static int log_monitor_poll(const sv_progress *p, void *data)
{
    return log_monitor(p, &((mon_poll *)data)->log);
}

static int poll_at(void *data)
{
    mon_poll *m = data;
    m->calls++;
    return m->stop_at > 0 && m->calls >= m->stop_at;
}

/* The monitor's poll is read at every sweep of the projection onto C and every iteration, not
 * only at reports: with report_every = 1000 a stop at the middle poll of the toy problem's full
 * run ends it cancelled at an iteration t whose (x, y) is the iterate the rerun with
 * max_iter = t returns, bit for bit (a step under way is abandoned), feasible, with the closing
 * exact evaluation done and the result's objective the last progress event's. */
static void test_poll_stops_projection(void **state)
{
    (void)state;
    sv_bl_constrained c;
    assert_int_equal(sv_bl_constrained_toy(&c), SV_OK);
    sv_bl_problem p;
    sv_bl_constrained_bind(&c, &p);
    lvhba_settings s;
    lvhba_settings_default(&s);
    s.ctl.report_every = 1000;
    mon_poll mp = {.log = {.stop_at = -1}};
    sv_monitor mon = {log_monitor_poll, &mp, poll_at};
    double x[1] = {3.0}, y[1] = {-1.0};
    lvhba_info info;
    assert_int_equal(lvhba_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    const long full_iter = info.base.iter, full_polls = mp.calls;
    assert_int_equal(mp.log.reports, 2);
    assert_true(full_polls > full_iter);  /* the projection polls too */

    mp = (mon_poll){.log = {.stop_at = -1}, .stop_at = full_polls / 2};
    double xc[1] = {3.0}, yc[1] = {-1.0};
    assert_int_equal(lvhba_solve(&p, &s, &mon, xc, yc, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(mp.calls, full_polls / 2);
    const long t = info.base.iter;
    assert_true(t > 0 && t < full_iter);
    assert_int_equal(mp.log.last_iter, t);
    assert_true(mp.log.last_obj == info.base.obj);
    assert_true(isfinite(info.F_exact) && info.max_violation <= 1e-10);
    lvhba_settings sk = s;
    sk.ctl.max_iter = t;
    double xk[1] = {3.0}, yk[1] = {-1.0};
    assert_int_equal(lvhba_solve(&p, &sk, NULL, xk, yk, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.iter, t);
    assert_true(xc[0] == xk[0] && yc[0] == yk[0]);

    /* a stop at the first poll (the first iteration's projection): the projected start */
    mp = (mon_poll){.log = {.stop_at = -1}, .stop_at = 1};
    double x0[1] = {3.0}, y0[1] = {-1.0};
    assert_int_equal(lvhba_solve(&p, &s, &mon, x0, y0, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 0);
    assert_int_equal(mp.log.reports, 1);
    assert_true(y0[0] <= x0[0] + 1e-12);
    assert_true(isfinite(info.base.obj) && mp.log.last_obj == info.base.obj);
    sv_bl_constrained_free(&c);
}

/* Steps far beyond the smoothness constants blow the iterates up: status diverged. */
static void test_divergence(void **state)
{
    (void)state;
    sv_bl_quadratic_spec spec = {.dx = 3, .dy = 4, .cond = 5.0, .lambda = 0.1, .seed = 1};
    sv_bl_quadratic q;
    assert_int_equal(sv_bl_quadratic_generate(&spec, &q, NULL), SV_OK);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    lvhba_settings s;
    lvhba_settings_default(&s);
    s.alpha = 50.0;
    s.eta = 50.0;
    double x[3] = {0}, y[4] = {0};
    lvhba_info info;
    assert_int_equal(lvhba_solve(&p, &s, NULL, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_DIVERGED);
    assert_true(info.base.iter < 2000);
    sv_bl_quadratic_free(&q);
}

static void expect_bad_setting(const sv_bl_problem *p, lvhba_settings s, const char *field)
{
    double x[1] = {0}, y[1] = {0};
    lvhba_info info;
    sv_err e;
    memset(&e, 0, sizeof e);
    assert_int_equal(lvhba_solve(p, &s, NULL, x, y, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, field);
    assert_int_equal(info.base.status, SV_UNSOLVED);
}

static void test_invalid_settings(void **state)
{
    (void)state;
    sv_bl_constrained c;
    assert_int_equal(sv_bl_constrained_toy(&c), SV_OK);
    sv_bl_problem p;
    sv_bl_constrained_bind(&c, &p);
    lvhba_settings d, s;
    lvhba_settings_default(&d);
    s = d; s.alpha = -1;           expect_bad_setting(&p, s, "/params/alpha");
    s = d; s.beta = INFINITY;      expect_bad_setting(&p, s, "/params/beta");
    s = d; s.eta = 0;              expect_bad_setting(&p, s, "/params/eta");
    s = d; s.step_factor = 1.5;    expect_bad_setting(&p, s, "/params/step_factor");
    s = d; s.gamma1 = 0;           expect_bad_setting(&p, s, "/params/gamma1");
    s = d; s.gamma2 = NAN;         expect_bad_setting(&p, s, "/params/gamma2");
    s = d; s.c0 = -2;              expect_bad_setting(&p, s, "/params/c0");
    s = d; s.p = 0.5;              expect_bad_setting(&p, s, "/params/p");
    s = d; s.z_max = 0;            expect_bad_setting(&p, s, "/params/z_max");
    s = d; s.ctl.tol = -1;             expect_bad_setting(&p, s, "/params/tol");
    s = d; s.ctl.max_iter = -1;        expect_bad_setting(&p, s, "/params/max_iter");
    s = d; s.ctl.time_limit_s = -1;    expect_bad_setting(&p, s, "/params/time_limit_s");
    s = d; s.ctl.report_every = 0;     expect_bad_setting(&p, s, "/params/report_every");
    s = d; s.proj_tol = 0;         expect_bad_setting(&p, s, "/params/proj_tol");
    s = d; s.proj_max_sweeps = 0;  expect_bad_setting(&p, s, "/params/proj_max_sweeps");
    s = d; s.final_tol = 0;        expect_bad_setting(&p, s, "/params/final_tol");

    /* a non-finite start */
    double x[1] = {NAN}, y[1] = {0};
    lvhba_info info;
    sv_err e;
    assert_int_equal(lvhba_solve(&p, &d, NULL, x, y, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    /* no problem */
    assert_int_equal(lvhba_solve(NULL, &d, NULL, x, y, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem");
    sv_bl_constrained_free(&c);
}

/* ============================================================================================
 * Codec
 * ========================================================================================== */

extern const sv_codec sv_codec_lvhba;

/* support/codec.h on this file's codec */
#define expect_codec_error(pb, pa, field) sv_test_codec_error(&sv_codec_lvhba, pb, pa, field)
#define run_codec(pb, pa, mon) sv_test_codec_run_json(&sv_codec_lvhba, pb, pa, mon)


static void test_codec_validate(void **state)
{
    (void)state;
    const char *toy = "{\"generate\": {\"class\": \"constrained\", \"dx\": 2, \"dy\": 3, "
                      "\"m\": 2, \"seed\": 1}}";
    json_t *pr = sv_test_json(toy);
    sv_err e;
    assert_int_equal(sv_codec_lvhba.validate(pr, NULL, &sv_test_codec_env, &e), SV_OK);
    json_t *pa = sv_test_json("{\"c0\": 5, \"gamma1\": 2, \"max_iter\": 100, \"alpha\": null}");
    assert_int_equal(sv_codec_lvhba.validate(pr, pa, &sv_test_codec_env, &e), SV_OK);
    json_decref(pa);
    json_decref(pr);
    expect_codec_error(toy, "{\"p\": 0.7}", "/params/p");
    expect_codec_error(toy, "{\"gamma2\": -1}", "/params/gamma2");
    expect_codec_error(toy, "{\"step\": 1}", "/params/step");
    expect_codec_error(toy, "{\"step_factor\": 2}", "/params/step_factor");
    expect_codec_error("{\"generate\": {\"class\": \"constrained\", \"dx\": 0, \"dy\": 3, "
                       "\"m\": 2}}", NULL, "/problem/generate/dx");

    /* the table and the defaults agree */
    lvhba_settings s;
    lvhba_settings_default(&s);
    assert_int_equal(lvhba_check_settings(&s, &e), SV_OK);
}

/* The toy problem in explicit form through the codec: x = y = 1/2 and the multiplier 3/2. */
static void test_codec_toy(void **state)
{
    (void)state;
    json_t *pr = sv_test_json("{\"class\": \"constrained\", \"H\": [[1]], \"B\": [[0]], "
                              "\"h\": [2], \"c\": [1], \"lambda\": 1, \"constraints\": "
                              "{\"A\": [[-1]], \"B\": [[1]], \"b\": [0]}, \"x0\": [3], "
                              "\"y0\": [-1]}");
    sv_err e;
    if (sv_codec_lvhba.validate(pr, NULL, &sv_test_codec_env, &e) != SV_OK)
        fail_msg("%s: %s", e.field, e.msg);
    mon_log log = {.stop_at = -1};
    sv_monitor mon = {log_monitor, &log, NULL};
    json_t *res = run_codec(pr, NULL, &mon);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    double x = json_number_value(json_array_get(json_object_get(res, "x"), 0));
    double y = json_number_value(json_array_get(json_object_get(res, "y"), 0));
    double z = json_number_value(json_array_get(json_object_get(res, "z"), 0));
    if (!(fabs(x - 0.5) <= 1e-6 && fabs(y - 0.5) <= 1e-6 && fabs(z - 1.5) <= 1e-5))
        fail_msg("x %g y %g z %g", x, y, z);
    assert_true(fabs(json_number_value(json_object_get(res, "objective")) - 0.25) <= 1e-10);
    assert_true(log.reports >= 2);
    json_decref(res);
    json_decref(pr);
}

/* "objective" means one thing (the issue): f(x, y) at the iterate, in every progress event and
 * in the result, which equals the last event's at the same iteration and the shared
 * upper_at_y; the exact F(x) = f(x, y*(x)) is upper_objective. The catalog example ends solved
 * with at least 20 reports. */
static void test_codec_objective_one_meaning(void **state)
{
    (void)state;
    json_t *ex = sv_codec_lvhba.example();
    mon_log log = {.stop_at = -1};
    sv_monitor mon = {log_monitor, &log, NULL};
    json_t *res = sv_test_codec_run_json(&sv_codec_lvhba, json_object_get(ex, "problem"),
                                         json_object_get(ex, "params"), &mon);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    assert_true(log.reports >= 20);
    assert_int_equal(log.last_iter, json_integer_value(json_object_get(res, "iterations")));
    double obj = json_number_value(json_object_get(res, "objective"));
    assert_true(obj == log.last_obj);
    assert_true(obj == json_number_value(json_object_get(res, "upper_at_y")));
    /* the penalty's bias: f at the iterate and the exact F differ, but not by much */
    double F = json_number_value(json_object_get(res, "upper_objective"));
    assert_true(isfinite(F) && fabs(F - obj) <= 1e-2 * fabs(F));
    json_decref(res);
    json_decref(ex);
}

/* The catalog example finishes, feasibly, and its result carries the fields the docs list. */
static void test_codec_example(void **state)
{
    (void)state;
    json_t *ex = sv_codec_lvhba.example();
    assert_non_null(ex);
    json_t *pr = json_object_get(ex, "problem"), *pa = json_object_get(ex, "params");
    sv_err e;
    assert_int_equal(sv_codec_lvhba.validate(pr, pa, &sv_test_codec_env, &e), SV_OK);
    json_t *res = run_codec(pr, pa, NULL);
    const char *st = json_string_value(json_object_get(res, "status"));
    assert_non_null(st);
    assert_true(strcmp(st, "max_iter") == 0 || strcmp(st, "solved") == 0);
    assert_true(json_is_number(json_object_get(res, "objective")));
    assert_true(json_is_number(json_object_get(res, "solve_time_s")));
    assert_true(json_number_value(json_object_get(res, "max_violation")) <= 1e-9);
    assert_true(json_is_array(json_object_get(res, "x")));
    assert_true(json_is_array(json_object_get(res, "y")));
    assert_true(json_is_array(json_object_get(res, "z")));
    json_decref(res);
    json_decref(ex);

    json_t *schema = sv_codec_params_schema(&sv_codec_lvhba);
    assert_non_null(schema);
    json_decref(schema);
    schema = sv_codec_lvhba.problem_schema();
    assert_non_null(schema);
    json_decref(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toy_problem),
        cmocka_unit_test(test_start_projected),
        cmocka_unit_test(test_infeasible),
        cmocka_unit_test(test_quadratic_closed_form),
        cmocka_unit_test(test_constrained_grid_reference),
        cmocka_unit_test(test_hyperclean_improves),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_poll_stops_projection),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_invalid_settings),
        cmocka_unit_test(test_codec_validate),
        cmocka_unit_test(test_codec_toy),
        cmocka_unit_test(test_codec_objective_one_meaning),
        cmocka_unit_test(test_codec_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
