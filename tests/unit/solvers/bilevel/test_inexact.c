/* test_inexact.c - MAID (core/solvers/bilevel/inexact.c) and the bilevel.inexact codec
 * (api/codecs/bilevel/inexact.c). Reference answers: the closed-form x* of the quadratic class (with
 * and without a box), the exact upper objective F(x) = f(x, y*(x)) at every iterate (the paper's
 * certified decrease F(x+) <= F(x) - armijo alpha |z|^2), a fine 1-D search of the global ridge
 * weight of a hyperparam instance, and the validation loss and flipped-label weights of a
 * hyper-cleaning instance. */
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
#include "core/solvers/bilevel/inexact.h"
#include "support/bilevel_fixtures.h"
#include "support/codec.h"
#include "support/json.h"
#include "support/numeric.h"

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

#define LOG_MAX 4096

typedef struct {
    long n;
    long iter[LOG_MAX];
    double obj[LOG_MAX], eps[LOG_MAX], delta[LOG_MAX], alpha[LOG_MAX], z[LOG_MAX];
    double omega[LOG_MAX], bt[LOG_MAX], ref[LOG_MAX];
    long stop_at;  /* ask to stop at this report (-1: never) */
} mon_log;

static int log_monitor(const sv_progress *p, void *data)
{
    mon_log *l = data;
    if (l->n < LOG_MAX) {
        long i = l->n;
        l->iter[i] = p->iter;
        l->obj[i] = p->obj;
        l->eps[i] = sv_test_metric(p, "eps");
        l->delta[i] = sv_test_metric(p, "delta");
        l->alpha[i] = sv_test_metric(p, "alpha");
        l->z[i] = sv_test_metric(p, "z_norm");
        l->omega[i] = sv_test_metric(p, "omega");
        l->bt[i] = sv_test_metric(p, "backtracks");
        l->ref[i] = sv_test_metric(p, "refinements");
        sv_test_metric(p, "lower_grads");
        sv_test_metric(p, "hvps");
    }
    l->n++;
    return l->stop_at >= 0 && l->n > l->stop_at;
}

static void gen_quadratic(sv_bl_quadratic *q, sv_bl_problem *p, int dx, int dy, double cond,
                          double lambda, double box, uint64_t seed)
{
    sv_bl_quadratic_spec spec = {.dx = dx, .dy = dy, .cond = cond, .lambda = lambda, .box = box,
                                 .noise = 0.0, .seed = seed};
    sv_err e;
    assert_int_equal(sv_bl_quadratic_generate(&spec, q, &e), SV_OK);
    sv_bl_quadratic_bind(q, p);
}

/* ============================================================================================
 * Solver
 * ========================================================================================== */

/* Quadratic class (lambda = 1, cond(H) = 10): MAID reaches the closed-form x* to 1e-5. It ends
 * either on |z| <= tol or at the accuracy floor eps_min = 1e-12, where certified decrease needs
 * |grad_y f| eps < armijo alpha |z|^2 and so |z| stalls near 1e-6. */
/* With a tolerance no certified step can reach (0) the solve ends at the accuracy floor: status
 * stalled (not solved), floor_reached set, the iterate still near x*. */
static void test_floor_is_stalled(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_bl_problem p;
    gen_quadratic(&q, &p, 5, 8, 10.0, 1.0, 0.0, 3);
    double xs[5], ys[8];
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, ys), SV_OK);
    inexact_settings s;
    inexact_settings_default(&s);
    s.ctl.tol = 0;
    s.eps_min = 1e-10;
    double x[5] = {0}, y[8] = {0};
    inexact_info info;
    assert_int_equal(inexact_solve(&p, &s, NULL, x, y, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_STALLED);
    assert_int_equal(info.floor_reached, 1);
    assert_true(info.base.res > 0);
    assert_true(sv_test_max_abs_diff(5, x, xs) <= 1e-3);
    sv_bl_quadratic_free(&q);
}

static void test_quadratic_closed_form(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_bl_problem p;
    gen_quadratic(&q, &p, 5, 8, 10.0, 1.0, 0.0, 3);
    double xs[5], ys[8];
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, ys), SV_OK);
    inexact_settings s;
    inexact_settings_default(&s);
    double x[5] = {0}, y[8] = {0};
    inexact_info info;
    sv_err e;
    assert_int_equal(inexact_solve(&p, &s, NULL, x, y, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    double err = sv_test_max_abs_diff(5, x, xs);
    if (!(err <= 1e-5))
        fail_msg("|x - x*|_inf = %g", err);
    assert_true(info.hypergrad_norm <= 1e-5);
    assert_true(info.lower_error <= 1e-8);
    assert_true(info.base.iter > 3 && info.base.iter < 100);
    /* the quadratic class's Hessians do not depend on y: the probes find no variation */
    assert_true(info.lip_hyy <= 1e-8 && info.lip_hxy <= 1e-8 && info.lip_fx <= 1e-8);
    assert_true(fabs(info.upper_L - 2.0) <= 1e-4);  /* f = |y - c|^2/2: 1, times the safety 2 */
    sv_bl_quadratic_free(&q);
}

/* The paper's Lemma (certified decrease): every accepted step satisfies
 *   F(x_{k+1}) <= F(x_k) - armijo alpha_k |z_k|^2
 * for the exact F, although only inexact values were seen. The iterates x_k are recovered by
 * rerunning with max_iter = k (the solve is deterministic), F exactly from y*(x) = H^{-1}(Bx + h).
 * The step's alpha_k and |z_k| come from the full run's reports. armijo is raised to 0.1 so the
 * inequality has teeth. */
static void test_certified_monotone_decrease(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_bl_problem p;
    gen_quadratic(&q, &p, 5, 8, 10.0, 0.1, 0.0, 3);
    inexact_settings s;
    inexact_settings_default(&s);
    s.armijo = 0.1;
    const int K = 15;
    s.ctl.max_iter = K;
    mon_log *log = calloc(1, sizeof *log);
    assert_non_null(log);
    log->stop_at = -1;
    sv_monitor mon = {log_monitor, log, NULL};
    double x[5] = {0}, y[8] = {0};
    inexact_info info;
    assert_int_equal(inexact_solve(&p, &s, &mon, x, y, &info, NULL), SV_OK);
    assert_int_equal(info.base.iter, K);
    assert_int_equal(log->n, K + 1);  /* the start, then one report per accepted step */

    double Fprev = NAN;
    for (int k = 0; k <= K; k++) {
        double xk[5] = {0}, yk[8] = {0};
        inexact_settings sk = s;
        sk.ctl.max_iter = k;
        assert_int_equal(inexact_solve(&p, &sk, NULL, xk, yk, &info, NULL), SV_OK);
        double ys[8] = {0};
        double F = sv_test_bl_true_F(&p, xk, ys);
        assert_true(fabs(F - info.F_exact) <= 1e-9);  /* final_tol 1e-10 vs 1e-12 */
        if (k > 0) {
            /* report k describes the step from x_{k-1} to x_k */
            double decrease = s.armijo * log->alpha[k] * log->z[k] * log->z[k];
            assert_true(decrease > 0);
            if (!(F <= Fprev - decrease + 1e-13))
                fail_msg("step %d: F %.15g -> %.15g, certified decrease %.3g", k, Fprev, F,
                         decrease);
            /* the inexact value reported is within the certified band of the exact one */
            assert_true(fabs(log->obj[k] - F) <= 1e-2);
        }
        Fprev = F;
    }
    free(log);
    sv_bl_quadratic_free(&q);
}

/* The accuracies follow the paper's rules: they shrink by nu when the descent test or the line
 * search fails and grow by nu_bar after a clean success; over the solve epsilon falls from 0.1
 * by orders of magnitude, and every step's hypergradient passed Algorithm 3.2's test
 * omega <= (1 - eta)|z|. */
static void test_accuracies_adapt(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_bl_problem p;
    gen_quadratic(&q, &p, 5, 8, 10.0, 0.1, 0.0, 3);
    inexact_settings s;
    inexact_settings_default(&s);
    mon_log *log = calloc(1, sizeof *log);
    assert_non_null(log);
    log->stop_at = -1;
    sv_monitor mon = {log_monitor, log, NULL};
    double x[5] = {0}, y[8] = {0};
    inexact_info info;
    assert_int_equal(inexact_solve(&p, &s, &mon, x, y, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    long n = log->n < LOG_MAX ? log->n : LOG_MAX;
    assert_true(n > 10);
    int up = 0, down = 0, clean = 0;
    for (long k = 1; k < n - 1; k++) {
        double ratio = log->eps[k + 1] / log->eps[k];
        if (log->ref[k + 1] == 0) {
            /* no refinement in step k+1: its eps is eps_k * nu_bar exactly */
            assert_true(fabs(ratio - s.nu_bar) <= 1e-12);
            clean++;
        }
        up += ratio > 1;
        down += ratio < 1;
        assert_true(log->eps[k] >= s.eps_min && log->delta[k] >= s.eps_min);
        assert_true(log->alpha[k] > 0);
        assert_true(log->bt[k] <= s.max_bt + s.max_refine);
        /* Algorithm 3.2's test held for the z that was used (or the floor was reached) */
        if (log->eps[k] > s.eps_min)
            assert_true(log->omega[k] <= (1 - s.eta) * log->z[k] * (1 + 1e-12));
    }
    assert_true(up >= 3 && down >= 3 && clean >= 3);
    assert_true(log->eps[n - 1] <= 1e-6 * s.eps0);
    assert_true(info.refinements + info.check_refinements > 5);
    assert_true(info.eps_min_seen <= log->eps[n - 1]);
    /* the line search accepted a step in every iteration: one report per accepted step */
    assert_int_equal(log->iter[n - 1], info.base.iter);
    free(log);
    sv_bl_quadratic_free(&q);
}

/* Without the descent test, and with the Newton lower solver instead of AGD, the same x* is
 * reached (the line search alone triggers the tightening). */
static void test_variants_agree(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_bl_problem p;
    gen_quadratic(&q, &p, 4, 6, 5.0, 1.0, 0.0, 7);
    double xs[4], ys[6];
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, ys), SV_OK);
    for (int variant = 0; variant < 3; variant++) {
        inexact_settings s;
        inexact_settings_default(&s);
        if (variant == 1)
            s.descent_check = 0;
        if (variant == 2) {
            s.lower_solver = INEXACT_LOWER_NEWTON;
            s.upper_convex = 1;
        }
        double x[4] = {0}, y[6] = {0};
        inexact_info info;
        assert_int_equal(inexact_solve(&p, &s, NULL, x, y, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_SOLVED);
        double err = sv_test_max_abs_diff(4, x, xs);
        if (!(err <= 1e-5))
            fail_msg("variant %d: |x - x*|_inf = %g", variant, err);
        if (variant == 1)
            assert_true(isnan(info.omega) && info.check_refinements == 0);
    }
    sv_bl_quadratic_free(&q);
}

/* A box on x: projected steps, the stopping test on the projected step; the box solution of the
 * class (projected accelerated gradient to 1e-13) is reached to 1e-5 with some bounds active. */
static void test_box(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_bl_problem p;
    gen_quadratic(&q, &p, 5, 8, 10.0, 0.1, 0.3, 3);
    double xs[5], ys[8];
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, ys), SV_OK);
    int active = 0;
    for (int j = 0; j < 5; j++)
        active += fabs(fabs(xs[j]) - 0.3) <= 1e-9;
    assert_true(active >= 1);
    inexact_settings s;
    inexact_settings_default(&s);
    double x[5] = {1, -1, 1, -1, 1}, y[8] = {0};  /* projected onto the box first */
    inexact_info info;
    assert_int_equal(inexact_solve(&p, &s, NULL, x, y, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    double err = sv_test_max_abs_diff(5, x, xs);
    if (!(err <= 1e-5))
        fail_msg("|x - x*|_inf = %g", err);
    for (int j = 0; j < 5; j++)
        assert_true(fabs(x[j]) <= 0.3);
    sv_bl_quadratic_free(&q);
}

/* Hyperparam with one global ridge weight exp(x) (logistic loss): x matches a 1-D search of
 * F(x) = f(x, y*(x)) (grid of step 1e-3 over [-8, 4], then 1e-6 around the best point) to 1e-3,
 * and F to 1e-9. */
static void test_hyperparam_global_ridge(void **state)
{
    (void)state;
    sv_bl_hyperparam_spec spec = {.n_train = 40, .n_val = 100, .d = 20,
                                  .loss = SV_BL_LOSS_LOGISTIC, .classes = 2, .per_feature = 0,
                                  .noise = 0.5, .intercept = 1, .seed = 0};
    sv_bl_hyperparam h;
    sv_err e;
    assert_int_equal(sv_bl_hyperparam_generate(&spec, &h, &e), SV_OK);
    sv_bl_problem p;
    sv_bl_hyperparam_bind(&h, &p);
    assert_int_equal(p.dx, 1);
    double *yr = calloc((size_t)p.dy, sizeof *yr), *y = calloc((size_t)p.dy, sizeof *y);
    assert_non_null(yr);
    assert_non_null(y);
    double best_x = 0, best_F = INFINITY;
    for (int i = 0; i <= 12000; i += 10) {
        double xv = -8.0 + 1e-3 * i;
        double F = sv_test_bl_true_F(&p, &xv, yr);
        if (F < best_F) {
            best_F = F;
            best_x = xv;
        }
    }
    double lo = best_x - 1e-2;
    for (int i = 0; i <= 20000; i += 10) {
        double xv = lo + 1e-6 * i;
        double F = sv_test_bl_true_F(&p, &xv, yr);
        if (F < best_F) {
            best_F = F;
            best_x = xv;
        }
    }
    inexact_settings s;
    inexact_settings_default(&s);
    double x[1] = {0};
    inexact_info info;
    assert_int_equal(inexact_solve(&p, &s, NULL, x, y, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    if (!(fabs(x[0] - best_x) <= 1e-3 && info.F_exact <= best_F + 1e-9))
        fail_msg("x %.6f F %.12f, search x %.6f F %.12f", x[0], info.F_exact, best_x, best_F);
    free(yr);
    free(y);
    sv_bl_hyperparam_free(&h);
}

/* Data hyper-cleaning, 30% of 200 training labels flipped: in 60 steps the validation loss
 * F(x) falls from 0.459 (x = 0: every weight 1/2, unweighted training) by more than half, the
 * flipped rows end with a lower mean weight sigmoid(x_i) than the clean ones, and validation
 * accuracy beats the unweighted model's. */
static void test_hyperclean(void **state)
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
    assert_non_null(h.flipped);
    double *x = calloc((size_t)p.dx, sizeof *x), *y = calloc((size_t)p.dy, sizeof *y);
    double *y0 = calloc((size_t)p.dy, sizeof *y0);
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(y0);
    double F0 = sv_test_bl_true_F(&p, x, y0);
    inexact_settings s;
    inexact_settings_default(&s);
    s.ctl.max_iter = 60;
    inexact_info info;
    assert_int_equal(inexact_solve(&p, &s, NULL, x, y, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_MAX_ITER);
    if (!(info.F_exact < 0.5 * F0))
        fail_msg("validation loss %g, unweighted %g", info.F_exact, F0);
    double wf = 0, wc = 0;
    int nf = 0, nc = 0;
    for (int i = 0; i < p.dx; i++) {
        double wi = 1.0 / (1.0 + exp(-x[i]));
        if (h.flipped[i]) {
            wf += wi;
            nf++;
        } else {
            wc += wi;
            nc++;
        }
    }
    assert_int_equal(nf, 60);
    if (!(wf / nf < wc / nc - 0.2))
        fail_msg("mean weight flipped %g, clean %g", wf / nf, wc / nc);
    assert_true(sv_bl_accuracy(&p, y, SV_BL_SET_VAL) > sv_bl_accuracy(&p, y0, SV_BL_SET_VAL));
    free(x);
    free(y);
    free(y0);
    sv_bl_hyperclean_free(&h);
}

/* The monitor's non-zero return stops the solve at that report. */
static void test_cancel(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_bl_problem p;
    gen_quadratic(&q, &p, 5, 8, 10.0, 0.1, 0.0, 3);
    inexact_settings s;
    inexact_settings_default(&s);
    mon_log *log = calloc(1, sizeof *log);
    assert_non_null(log);
    log->stop_at = 3;
    sv_monitor mon = {log_monitor, log, NULL};
    double x[5] = {0}, y[8] = {0};
    inexact_info info;
    assert_int_equal(inexact_solve(&p, &s, &mon, x, y, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 3);
    assert_int_equal(log->n, 4);
    free(log);
    sv_bl_quadratic_free(&q);
}

/* A poll that says stop at its n-th call (core/solver.h), counting its calls. */
typedef struct {
    long calls, stop_at;
} poll_count;

static int poll_at(void *data)
{
    poll_count *c = data;
    c->calls++;
    return c->stop_at > 0 && c->calls >= c->stop_at;
}

typedef struct {
    mon_log *log;
    poll_count pc;
} mon_poll;

static int log_monitor_poll(const sv_progress *p, void *data)
{
    return log_monitor(p, ((mon_poll *)data)->log);
}

static int poll_cb(void *data)
{
    return poll_at(&((mon_poll *)data)->pc);
}

/* The monitor's poll is read inside the inner loops (lower solves, conjugate gradients, the
 * line search), not only at reports: with report_every = 1000 a stop at the poll's middle call
 * of a full run ends the solve cancelled mid-run, at an iteration t with x the accepted iterate
 * x_t (the rerun with max_iter = t gives it bit for bit), the closing exact evaluation done, and
 * the result's objective that of the last progress event. A stop at the very first poll (inside
 * the first lower solve) still returns a finite objective and F_exact at iteration 0. */
static void test_poll_stops_inner_loops(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_bl_problem p;
    gen_quadratic(&q, &p, 5, 8, 10.0, 0.1, 0.0, 3);
    inexact_settings s;
    inexact_settings_default(&s);
    s.ctl.report_every = 1000;
    mon_log *log = calloc(1, sizeof *log);
    assert_non_null(log);
    log->stop_at = -1;
    mon_poll mp = {log, {0, 0}};
    sv_monitor mon = {log_monitor_poll, &mp, poll_cb};
    double x[5] = {0}, y[8] = {0};
    inexact_info info;
    assert_int_equal(inexact_solve(&p, &s, &mon, x, y, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    const long full_iter = info.base.iter, full_polls = mp.pc.calls;
    assert_int_equal(log->n, 2);  /* iteration 0 and the end */
    assert_true(full_polls > 100 * log->n);

    memset(log, 0, sizeof *log);
    log->stop_at = -1;
    mp.pc = (poll_count){0, full_polls / 2};
    double xc[5] = {0}, yc[8] = {0};
    assert_int_equal(inexact_solve(&p, &s, &mon, xc, yc, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(mp.pc.calls, full_polls / 2);  /* nothing polled after the stop */
    const long t = info.base.iter;
    assert_true(t > 0 && t < full_iter);
    assert_true(isfinite(info.F_exact) && isfinite(info.lower_error));
    assert_int_equal(log->iter[log->n - 1], t);
    assert_true(log->obj[log->n - 1] == info.base.obj);
    inexact_settings sk = s;
    sk.ctl.max_iter = t;
    double xk[5] = {0}, yk[8] = {0};
    assert_int_equal(inexact_solve(&p, &sk, NULL, xk, yk, &info, NULL), SV_OK);
    assert_int_equal(info.base.iter, t);
    assert_true(sv_test_max_abs_diff(5, xc, xk) == 0.0);

    memset(log, 0, sizeof *log);
    log->stop_at = -1;
    mp.pc = (poll_count){0, 1};
    double x0[5] = {0}, y0[8] = {0};
    assert_int_equal(inexact_solve(&p, &s, &mon, x0, y0, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 0);
    assert_int_equal(log->n, 1);
    assert_true(isfinite(info.base.obj) && log->obj[0] == info.base.obj);
    assert_true(isfinite(info.F_exact));
    free(log);
    sv_bl_quadratic_free(&q);
}

static void expect_bad_setting(const sv_bl_problem *p, inexact_settings s, const char *field)
{
    double x[8] = {0}, y[8] = {0};
    inexact_info info;
    sv_err e;
    memset(&e, 0, sizeof e);
    assert_int_equal(inexact_solve(p, &s, NULL, x, y, &info, &e), SV_EINVAL);
    if (strcmp(e.field, field) != 0)
        fail_msg("expected %s, got %s (%s)", field, e.field, e.msg);
    assert_int_equal(info.base.status, SV_UNSOLVED);
}

static void test_invalid(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_bl_problem p;
    gen_quadratic(&q, &p, 3, 4, 5.0, 0.1, 0.0, 1);
    inexact_settings d, s;
    inexact_settings_default(&d);
    s = d; s.eps0 = 0;              expect_bad_setting(&p, s, "/params/eps0");
    s = d; s.delta0 = -1;           expect_bad_setting(&p, s, "/params/delta0");
    s = d; s.alpha0 = 0;            expect_bad_setting(&p, s, "/params/alpha0");
    s = d; s.rho = 1;               expect_bad_setting(&p, s, "/params/rho");
    s = d; s.rho_bar = 0.9;         expect_bad_setting(&p, s, "/params/rho_bar");
    s = d; s.nu = 0;                expect_bad_setting(&p, s, "/params/nu");
    s = d; s.nu_bar = 0.5;          expect_bad_setting(&p, s, "/params/nu_bar");
    s = d; s.eta = 1;               expect_bad_setting(&p, s, "/params/eta");
    s = d; s.armijo = 0.6;          expect_bad_setting(&p, s, "/params/armijo");
    s = d; s.max_bt = 0;            expect_bad_setting(&p, s, "/params/max_bt");
    s = d; s.max_refine = 0;        expect_bad_setting(&p, s, "/params/max_refine");
    s = d; s.eps_min = 1;           expect_bad_setting(&p, s, "/params/eps_min");
    s = d; s.lower_solver = 2;      expect_bad_setting(&p, s, "/params/lower_solver");
    s = d; s.lower_max_iter = 0;    expect_bad_setting(&p, s, "/params/lower_max_iter");
    s = d; s.cg_max_iter = 0;       expect_bad_setting(&p, s, "/params/cg_max_iter");
    s = d; s.upper_L = -1;          expect_bad_setting(&p, s, "/params/upper_L");
    s = d; s.lip_hyy = INFINITY;    expect_bad_setting(&p, s, "/params/lip_hyy");
    s = d; s.lip_hxy = -2;          expect_bad_setting(&p, s, "/params/lip_hxy");
    s = d; s.ctl.tol = -1;              expect_bad_setting(&p, s, "/params/tol");
    s = d; s.ctl.max_iter = -1;         expect_bad_setting(&p, s, "/params/max_iter");
    s = d; s.ctl.time_limit_s = NAN;    expect_bad_setting(&p, s, "/params/time_limit_s");
    s = d; s.ctl.report_every = 0;      expect_bad_setting(&p, s, "/params/report_every");
    s = d; s.final_tol = 0;         expect_bad_setting(&p, s, "/params/final_tol");
    sv_bl_quadratic_free(&q);

    /* the constrained class belongs to bilevel.lvhba */
    sv_bl_constrained c;
    assert_int_equal(sv_bl_constrained_toy(&c), SV_OK);
    sv_bl_constrained_bind(&c, &p);
    expect_bad_setting(&p, d, "/problem");
    sv_bl_constrained_free(&c);
}

/* ============================================================================================
 * Codec
 * ========================================================================================== */

extern const sv_codec sv_codec_inexact;

/* support/codec.h on this file's codec */
#define expect_codec_error(pb, pa, field) sv_test_codec_error(&sv_codec_inexact, pb, pa, field)
#define run_codec(pb, pa, mon) sv_test_codec_run(&sv_codec_inexact, pb, pa, mon)

static void test_codec_validate(void **state)
{
    (void)state;
    const char *q = "{\"generate\": {\"class\": \"quadratic\", \"dx\": 3, \"dy\": 4, \"seed\": 2}}";
    json_t *pr = sv_test_json(q);
    sv_err e;
    assert_int_equal(sv_codec_inexact.validate(pr, NULL, &sv_test_codec_env, &e), SV_OK);
    json_t *pa = sv_test_json("{\"eps0\": 0.01, \"lower_solver\": \"newton\", \"alpha0\": null, "
                       "\"descent_check\": false, \"upper_L\": 1}");
    assert_int_equal(sv_codec_inexact.validate(pr, pa, &sv_test_codec_env, &e), SV_OK);
    json_decref(pa);
    json_decref(pr);
    expect_codec_error(q, "{\"armijo\": 0.7}", "/params/armijo");
    expect_codec_error(q, "{\"rho\": 1.5}", "/params/rho");
    expect_codec_error(q, "{\"lower_solver\": \"lbfgs\"}", "/params/lower_solver");
    expect_codec_error(q, "{\"epsilon\": 1}", "/params/epsilon");
    expect_codec_error("{\"generate\": {\"class\": \"constrained\", \"dx\": 2, \"dy\": 3, "
                       "\"m\": 2}}", NULL, "/problem/generate/class");
    inexact_settings s;
    inexact_settings_default(&s);
    assert_int_equal(inexact_check_settings(&s, &e), SV_OK);
}

/* The quadratic class through the codec: x_error (against the class's closed form) <= 1e-5. */
static void test_codec_quadratic(void **state)
{
    (void)state;
    json_t *res = run_codec("{\"generate\": {\"class\": \"quadratic\", \"dx\": 4, \"dy\": 6, "
                            "\"cond\": 5, \"lambda\": 1, \"seed\": 7}}", NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    double err = json_number_value(json_object_get(res, "x_error"));
    if (!(err <= 1e-5))
        fail_msg("x_error %g", err);
    assert_true(json_is_object(json_object_get(res, "work")));
    assert_true(json_is_object(json_object_get(res, "constants")));
    json_decref(res);
}

/* Real data: breast_cancer split into 200 training rows (30% of the labels flipped) and 100
 * validation rows, 40 MAID steps: the learned weights beat unweighted training on validation
 * and on the held-out test rows, and most rows flagged (weight < 1/2) are flipped ones. */
static void test_codec_breast_cancer(void **state)
{
    (void)state;
    json_t *res = run_codec("{\"dataset\": {\"name\": \"breast_cancer\", \"class\": \"hyperclean\", "
                            "\"n_train\": 200, \"n_val\": 100, \"flip\": 0.3, \"seed\": 1}}",
                            "{\"max_iter\": 40}", NULL);
    double va = json_number_value(json_object_get(res, "validation_accuracy"));
    double va0 = json_number_value(json_object_get(res, "unweighted_validation_accuracy"));
    double ta = json_number_value(json_object_get(res, "test_accuracy"));
    double ta0 = json_number_value(json_object_get(res, "unweighted_test_accuracy"));
    if (!(va > va0 + 0.05 && ta > ta0 + 0.05))
        fail_msg("validation %g (unweighted %g), test %g (unweighted %g)", va, va0, ta, ta0);
    json_t *det = json_object_get(res, "detection");
    assert_non_null(det);
    assert_true(json_number_value(json_object_get(det, "precision")) > 0.7);
    assert_true(json_number_value(json_object_get(det, "recall")) > 0.7);
    json_decref(res);
}

/* "objective" means one thing (the issue): f(x, y~) at the iterate with the solver's own lower
 * solution, in every progress event and in the result, which equals the last event's at the
 * same iteration and the shared upper_at_y; the exact F(x) is upper_objective, within the
 * certified band of it here. inexact_objective (the old second name) is gone. */
static void test_codec_objective_one_meaning(void **state)
{
    (void)state;
    json_t *ex = sv_codec_inexact.example();
    mon_log *log = calloc(1, sizeof *log);
    assert_non_null(log);
    log->stop_at = -1;
    sv_monitor mon = {log_monitor, log, NULL};
    json_t *res = sv_test_codec_run_json(&sv_codec_inexact, json_object_get(ex, "problem"),
                                         json_object_get(ex, "params"), &mon);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    assert_true(log->n >= 20);
    double obj = json_number_value(json_object_get(res, "objective"));
    assert_int_equal(log->iter[log->n - 1], json_integer_value(json_object_get(res, "iterations")));
    assert_true(obj == log->obj[log->n - 1]);
    assert_true(obj == json_number_value(json_object_get(res, "upper_at_y")));
    double F = json_number_value(json_object_get(res, "upper_objective"));
    assert_true(fabs(F - obj) <= 1e-6);
    assert_null(json_object_get(res, "inexact_objective"));
    assert_true(json_number_value(json_object_get(res, "lower_error")) <= 1e-6);
    json_decref(res);
    json_decref(ex);
    free(log);
}

/* The catalog example validates, runs and reports the documented fields. */
static void test_codec_example(void **state)
{
    (void)state;
    json_t *ex = sv_codec_inexact.example();
    assert_non_null(ex);
    json_t *pr = json_object_get(ex, "problem"), *pa = json_object_get(ex, "params"), *res = NULL;
    sv_err e;
    assert_int_equal(sv_codec_inexact.validate(pr, pa, &sv_test_codec_env, &e), SV_OK);
    mon_log *log = calloc(1, sizeof *log);
    assert_non_null(log);
    log->stop_at = -1;
    sv_monitor mon = {log_monitor, log, NULL};
    assert_int_equal(sv_codec_inexact.run(pr, pa, &sv_test_codec_env, &mon, &res, &e), SV_OK);
    assert_true(log->n >= 2);
    const char *keys[] = {"status", "iterations", "objective", "solve_time_s", "z_norm", "eps",
                          "delta", "alpha", "x", "y", "upper_objective", "validation_accuracy"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(res, keys[i]))
            fail_msg("result lacks %s", keys[i]);
    assert_true(json_number_value(json_object_get(res, "objective")) < log->obj[0]);
    json_decref(res);
    json_decref(ex);
    free(log);
    json_t *schema = sv_codec_params_schema(&sv_codec_inexact);
    assert_non_null(schema);
    json_decref(schema);
    schema = sv_codec_inexact.problem_schema();
    assert_non_null(schema);
    json_decref(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quadratic_closed_form),
        cmocka_unit_test(test_floor_is_stalled),
        cmocka_unit_test(test_certified_monotone_decrease),
        cmocka_unit_test(test_accuracies_adapt),
        cmocka_unit_test(test_variants_agree),
        cmocka_unit_test(test_box),
        cmocka_unit_test(test_hyperparam_global_ridge),
        cmocka_unit_test(test_hyperclean),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_poll_stops_inner_loops),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_codec_validate),
        cmocka_unit_test(test_codec_quadratic),
        cmocka_unit_test(test_codec_breast_cancer),
        cmocka_unit_test(test_codec_objective_one_meaning),
        cmocka_unit_test(test_codec_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
