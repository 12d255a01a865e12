/* test_penalty.c - the penalty method (core/solvers/bilevel/penalty.c) and its codec
 * (api/codecs/bilevel/penalty.c). Reference answers: the quadratic class's closed-form x*, the O(sigma)
 * bias of the penalty reformulation, a 1-D grid of direct ridge solves for the global ridge
 * parameter, and the known flipped rows of a generated hyper-cleaning instance. */
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
#include "api/params.h"
#include "core/models/bilevel.h"
#include "core/solvers/bilevel/penalty.h"
#include "support/bilevel_fixtures.h"
#include "support/codec.h"
#include "support/numeric.h"

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

/* |x_sigma - x*| of the double loop run to tol 1e-9. */
static double quadratic_error(const sv_bl_quadratic *q, double sigma, const double *xs)
{
    sv_bl_problem p;
    sv_bl_quadratic_bind(q, &p);
    penalty_settings s;
    penalty_settings_default(&s);
    s.sigma = sigma;
    s.ctl.tol = 1e-9;
    s.ctl.max_iter = 2000;
    s.exact_metrics = 0;
    double x[5] = {0}, y[8] = {0};
    penalty_info info;
    sv_err e;
    assert_int_equal(penalty_solve(&p, &s, NULL, x, y, NULL, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    return sv_test_dist(5, x, xs);
}

/* ============================================================================================
 * Quadratic: closed form and the sigma bias
 * ========================================================================================== */

/* The penalty solution's distance to x* is O(sigma): it shrinks tenfold with sigma, and at
 * sigma = 1e-5 the double loop is within 2e-5 of the closed form. */
static void test_quadratic_sigma_bias(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_test_bl_quadratic_5x8(&q, 0.0, 0.0);
    double xs[5];
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, NULL), SV_OK);
    const double sig[4] = {1e-1, 1e-2, 1e-3, 1e-5};
    double err[4];
    for (int t = 0; t < 4; t++) {
        err[t] = quadratic_error(&q, sig[t], xs);
        printf("penalty quadratic: sigma %g  |x - x*| = %.3e\n", sig[t], err[t]);
    }
    for (int t = 0; t < 2; t++) {
        double ratio = err[t] / err[t + 1];
        assert_true(ratio > 7.0 && ratio < 13.0);  /* linear in sigma */
    }
    for (int t = 0; t < 4; t++)
        assert_true(err[t] <= 2.0 * sig[t]);
    assert_true(err[3] <= 2e-5);
    sv_bl_quadratic_free(&q);
}

/* With a box on x some bound is active at x*, and the projected method still lands on it. */
static void test_quadratic_box(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_test_bl_quadratic_5x8(&q, 0.5, 0.0);
    double xs[5];
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, NULL), SV_OK);
    int active = 0;
    for (int j = 0; j < 5; j++)
        active += fabs(fabs(xs[j]) - 0.5) < 1e-12;
    assert_true(active >= 1);
    double err = quadratic_error(&q, 1e-4, xs);
    printf("penalty quadratic with box: |x - x*| = %.3e\n", err);
    assert_true(err <= 2e-4);
    sv_bl_quadratic_free(&q);
}

/* The sgd baseline: exact oracles (no noise), then noisy mini-batch oracles. sigma decreases
 * from sigma0 = 1 to its target 0.01; the error ends at the O(sigma) bias, and with noise within
 * a few times that. */
static void test_quadratic_sgd(void **state)
{
    (void)state;
    for (int noisy = 0; noisy <= 1; noisy++) {
        sv_bl_quadratic q;
        sv_test_bl_quadratic_5x8(&q, 0.0, noisy ? 0.1 : 0.0);
        double xs[5];
        assert_int_equal(sv_bl_quadratic_solution(&q, xs, NULL), SV_OK);
        sv_bl_problem p;
        sv_bl_quadratic_bind(&q, &p);
        penalty_settings s;
        penalty_settings_default(&s);
        s.variant = BLP_VARIANT_SGD;
        s.sigma = 1e-2;
        s.sigma0 = 1.0;
        s.sigma_decay = 1.0;
        s.step_ratio = 10.0;
        s.ctl.max_iter = 20000;
        s.batch_lower = s.batch_upper = noisy ? 16 : 0;
        s.exact_metrics = 0;
        s.ctl.report_every = 1000;
        double x[5] = {0}, y[8] = {0};
        penalty_info info;
        assert_int_equal(penalty_solve(&p, &s, NULL, x, y, NULL, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_MAX_ITER);
        assert_true(info.sigma == 1e-2);
        double err = sv_test_dist(5, x, xs);
        printf("penalty sgd (%s): |x - x*| = %.3e, lower residual %.2e\n",
               noisy ? "noise 0.1, batch 16" : "exact oracles", err, info.lower_residual);
        assert_true(err <= (noisy ? 3e-2 : 1.2e-2));
        assert_true(info.lower_grads > 0 && info.upper_grads > 0);
        sv_bl_quadratic_free(&q);
    }
}

/* ============================================================================================
 * Hyper-cleaning: 30% flipped labels
 * ========================================================================================== */

static void test_hyperclean_detects_flips(void **state)
{
    (void)state;
    sv_bl_hyperclean_spec hs = {200, 200, 0, 10, 2, 0.3, 1e-2, 0.0, 1, 7};
    sv_bl_hyperclean h;
    assert_int_equal(sv_bl_hyperclean_generate(&hs, &h, NULL), SV_OK);
    sv_bl_problem p;
    sv_bl_hyperclean_bind(&h, &p);
    penalty_settings s;
    penalty_settings_default(&s);
    s.sigma = 1e-2;
    s.ctl.max_iter = 60;
    s.ctl.tol = 1e-7;
    s.inner_tol = 1e-7;
    s.exact_metrics = 0;
    double *x = calloc(200, sizeof *x), *y = calloc((size_t)p.dy, sizeof *y);
    double *yu = calloc((size_t)p.dy, sizeof *yu), *xu = malloc(200 * sizeof *xu);
    double *work = calloc(sv_bl_work_size(&p), sizeof *work);
    penalty_info info;
    assert_int_equal(penalty_solve(&p, &s, NULL, x, y, NULL, &info, NULL), SV_OK);
    assert_true(info.base.status == SV_SOLVED || info.base.status == SV_MAX_ITER);

    /* weights: flipped rows end lower than clean ones */
    double wf = 0, wc = 0;
    int nf = 0, nc = 0;
    for (int i = 0; i < 200; i++) {
        double wi = 1.0 / (1.0 + exp(-x[i]));
        if (h.flipped[i])
            wf += wi, nf++;
        else
            wc += wi, nc++;
    }
    wf /= nf;
    wc /= nc;
    double pr, rc;
    sv_bl_hyperclean_detection(&h, x, 0.5, &pr, &rc);
    /* the baseline: every weight 1 */
    for (int i = 0; i < 200; i++)
        xu[i] = 40.0;
    sv_bl_solve_lower(&p, xu, yu, 1e-10, 100, work, NULL);
    sv_bl_solve_lower(&p, x, y, 1e-10, 100, work, NULL);
    double acc = sv_bl_accuracy(&p, y, SV_BL_SET_VAL);
    double acc_u = sv_bl_accuracy(&p, yu, SV_BL_SET_VAL);
    printf("penalty hyperclean (30%% flipped, n = 200): %ld iterations, mean weight flipped %.3f "
           "clean %.3f, detection precision %.3f recall %.3f, validation accuracy %.3f "
           "(unweighted %.3f)\n",
           info.base.iter, wf, wc, pr, rc, acc, acc_u);
    assert_true(wf < wc - 0.2);
    assert_true(pr > 0.8 && rc > 0.8);
    assert_true(acc > acc_u + 0.02);
    free(x), free(y), free(yu), free(xu), free(work);
    sv_bl_hyperclean_free(&h);
}

/* ============================================================================================
 * Hyperparameter: one global ridge weight against a 1-D reference search
 * ========================================================================================== */

static void test_hyperparam_global_matches_grid(void **state)
{
    (void)state;
    sv_bl_hyperparam h;
    sv_test_bl_hyperparam_global(&h);
    /* the reference: a fine grid, step 1e-3 on [-5, 3] */
    sv_test_ridge_ref R;
    sv_test_ridge_ref_init(&R, &h);
    double theta_ref;
    double best = sv_test_ridge_grid(&R, &h, &theta_ref);
    assert_true(theta_ref > -4.9 && theta_ref < 2.9);  /* interior minimum */
    sv_bl_problem p;
    sv_bl_hyperparam_bind(&h, &p);
    penalty_settings s;
    penalty_settings_default(&s);
    s.sigma = 1e-4;
    s.ctl.tol = 1e-8;
    s.ctl.max_iter = 500;
    s.exact_metrics = 0;
    double x = 0.0, y[20] = {0};
    penalty_info info;
    assert_int_equal(penalty_solve(&p, &s, NULL, &x, y, NULL, &info, NULL), SV_OK);
    double fx = sv_test_ridge_val_loss(&R, &h, x);
    printf("penalty hyperparam (global ridge): theta %.4f, grid reference %.4f; validation loss "
           "%.8f vs %.8f (%ld iterations)\n",
           x, theta_ref, fx, best, info.base.iter);
    assert_true(fabs(x - theta_ref) <= 5e-3);
    assert_true(fx <= best + 1e-7);
    sv_test_ridge_ref_free(&R);
    sv_bl_hyperparam_free(&h);
}

/* ============================================================================================
 * Contract: validation, cancellation, monitor
 * ========================================================================================== */

static int stop_at_second(const sv_progress *pr, void *data)
{
    int *calls = data;
    (*calls)++;
    assert_true(pr->n_metrics >= 6);
    assert_string_equal(pr->metrics[0].name, "upper_objective");
    assert_string_equal(pr->metrics[1].name, "hypergrad_norm");
    assert_true(isfinite(pr->metrics[1].value));
    return *calls >= 2;
}

static void test_cancel_and_validation(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_test_bl_quadratic_5x8(&q, 0.0, 0.0);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    penalty_settings s;
    penalty_settings_default(&s);
    s.ctl.report_every = 1;
    int calls = 0;
    sv_monitor mon = {stop_at_second, &calls, NULL};
    double x[5] = {0}, y[8] = {0};
    penalty_info info;
    assert_int_equal(penalty_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(calls, 2);
    assert_int_equal(info.base.iter, 1);

    sv_err e;
    s.sigma = 0;
    assert_int_equal(penalty_solve(&p, &s, NULL, x, y, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/sigma");
    assert_int_equal(info.base.status, SV_UNSOLVED);
    penalty_settings_default(&s);
    x[0] = NAN;
    assert_int_equal(penalty_solve(&p, &s, NULL, x, y, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    sv_bl_quadratic_free(&q);

    sv_bl_constrained c;
    assert_int_equal(sv_bl_constrained_toy(&c), SV_OK);
    sv_bl_constrained_bind(&c, &p);
    double xc = 0, yc = 0;
    assert_int_equal(penalty_solve(&p, &s, NULL, &xc, &yc, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/class");
    sv_bl_constrained_free(&c);
}

/* Platform pins: the report's objective is the exact F(x) (the metric upper_objective and the
 * final info.F too); f(x, z) at the method's z is upper_at_z; without exact_metrics both F
 * values are NaN (JSON null) rather than another quantity under the same name. */
typedef struct {
    int calls;
    double last_obj, last_upper, last_at_z;
    long last_iter;
} obj_log;

static int log_objective(const sv_progress *pr, void *data)
{
    obj_log *l = data;
    l->calls++;
    assert_string_equal(pr->metrics[0].name, "upper_objective");
    assert_string_equal(pr->metrics[6].name, "upper_at_z");
    if (isnan(pr->obj))
        assert_true(isnan(pr->metrics[0].value));
    else
        assert_true(pr->obj == pr->metrics[0].value);
    l->last_obj = pr->obj;
    l->last_upper = pr->metrics[0].value;
    l->last_at_z = pr->metrics[6].value;
    l->last_iter = pr->iter;
    return 0;
}

static void test_objective_one_meaning(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_test_bl_quadratic_5x8(&q, 0.0, 0.0);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    double *work = calloc(sv_bl_work_size(&p), sizeof *work);
    for (int variant = 0; variant <= 2; variant++) {
        penalty_settings s;
        penalty_settings_default(&s);
        s.variant = variant;
        s.sigma = 0.1; /* z and y_sigma apart, so f(x, z) and F(x) differ */
        s.ctl.max_iter = 23;
        s.ctl.report_every = 5;
        s.ctl.tol = 0;
        obj_log l = {0};
        sv_monitor mon = {log_objective, &l, NULL};
        double x[5] = {0}, y[8] = {0}, ys[8];
        penalty_info info;
        assert_int_equal(penalty_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_MAX_ITER);
        assert_int_equal(l.calls, 6); /* 0, 5, 10, 15, 20 and the final 23 */
        assert_int_equal(l.last_iter, 23);
        assert_true(isfinite(l.last_obj));
        assert_true(l.last_obj == info.F && info.base.obj == info.F);
        double F;
        sv_copy(8, y, ys);
        assert_int_equal(sv_bl_evaluate(&p, x, ys, 1e-10, &F, NULL, work, NULL), SV_OK);
        assert_true(fabs(F - info.F) <= 1e-9 * (1.0 + fabs(F)));
        assert_true(l.last_at_z == sv_bl_upper(&p, x, y, NULL, NULL, NULL, work));

        s.exact_metrics = 0;
        memset(&l, 0, sizeof l);
        sv_zero(5, x);
        sv_zero(8, y);
        assert_int_equal(penalty_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
        assert_int_equal(l.calls, 6);
        assert_true(isnan(l.last_obj) && isnan(l.last_upper) && isnan(info.base.obj));
        assert_true(isfinite(l.last_at_z));
    }
    free(work);
    sv_bl_quadratic_free(&q);
}

/* Inner loops poll the monitor: with inner_tol 0 and 10^7 inner steps allowed, a stop asked at
 * the 50th poll ends the solve inside the first inner solve (double loop) or inside the secant
 * estimate of the single loop's step, cancelled at iteration 0 after 49 inner steps. */
typedef struct {
    long polls, stop_at;
} poll_count;

static int stop_after(void *data)
{
    poll_count *c = data;
    return ++c->polls >= c->stop_at;
}

static void test_inner_loops_poll(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_test_bl_quadratic_5x8(&q, 0.0, 0.0);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    for (int variant = 0; variant <= 2; variant++) {
        penalty_settings s;
        penalty_settings_default(&s);
        s.variant = variant;
        s.inner_tol = 0;
        s.inner_iters = 10000000;
        poll_count c = {0, 50};
        sv_monitor mon = {NULL, &c, stop_after};
        double x[5] = {0}, y[8] = {0};
        penalty_info info;
        assert_int_equal(penalty_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_CANCELLED);
        assert_int_equal(info.base.iter, 0);
        assert_int_equal(info.inner_steps, 49);
        assert_true(isnan(info.F)); /* the final exact metrics stop at their first poll */
    }
    /* a stop during the backtracking of iteration 3 (double loop): x stays x_3 */
    penalty_settings s;
    penalty_settings_default(&s);
    s.ctl.tol = 0;
    s.exact_metrics = 0; /* no polls from report work: the count below is the iterations' */
    poll_count c = {0, 0};
    sv_monitor mon = {NULL, &c, stop_after};
    double x[5] = {0}, y[8] = {0}, x3[5], y3[8];
    penalty_info info;
    s.ctl.max_iter = 3;
    assert_int_equal(penalty_solve(&p, &s, NULL, x, y, NULL, &info, NULL), SV_OK);
    sv_copy(5, x, x3);
    sv_copy(8, y, y3);
    long steps3 = info.inner_steps;
    /* the polls until the third iteration's check: the same run once more, counted */
    sv_zero(5, x);
    sv_zero(8, y);
    c = (poll_count){0, 1L << 40};
    assert_int_equal(penalty_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
    long polls3 = c.polls; /* every poll of a run of 3 iterations (its last check stops at
                            * max_iter before polling) */
    s.ctl.max_iter = 100;
    sv_zero(5, x);
    sv_zero(8, y);
    c = (poll_count){0, polls3 + 2}; /* the check of iteration 3 passes, then the first trial */
    assert_int_equal(penalty_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 3);
    assert_int_equal(info.inner_steps, steps3);
    assert_true(sv_test_dist(5, x, x3) == 0.0);
    sv_bl_quadratic_free(&q);
}

/* The paper's single loop at a fixed sigma = 0.01 on the quadratic (closed-form x*). With exact
 * oracles the momentum estimators' error decays geometrically, so the method is gradient descent
 * on (z, y, x) in the limit and lands on the double loop's x_sigma (to 1e-8), which is within
 * O(sigma) of x* (9.9e-3 at this sigma); with noisy batches of 16 it ends within a few times
 * that. */
static void run_single_loop(const sv_bl_problem *p, double noise_batch, double momentum,
                            uint64_t seed, long max_iter, double *x, double *y,
                            penalty_info *info)
{
    penalty_settings s;
    penalty_settings_default(&s);
    s.variant = BLP_VARIANT_SINGLE_LOOP;
    s.sigma = 1e-2;
    s.momentum = momentum;
    s.ctl.max_iter = max_iter;
    s.batch_lower = s.batch_upper = (long)noise_batch;
    s.exact_metrics = 0;
    s.ctl.report_every = 1000;
    s.seed = seed;
    sv_zero(p->dx, x);
    sv_zero(p->dy, y);
    assert_int_equal(penalty_solve(p, &s, NULL, x, y, NULL, info, NULL), SV_OK);
    assert_int_equal(info->base.status, SV_MAX_ITER);
}

static void test_single_loop_closed_form(void **state)
{
    (void)state;
    sv_bl_quadratic q0;
    sv_test_bl_quadratic_5x8(&q0, 0.0, 0.0);
    double xs[5], xsig[5];
    assert_int_equal(sv_bl_quadratic_solution(&q0, xs, NULL), SV_OK);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q0, &p);
    /* x_sigma: the double loop to tol 1e-10 */
    penalty_settings d;
    penalty_settings_default(&d);
    d.sigma = 1e-2;
    d.ctl.tol = 1e-10;
    d.exact_metrics = 0;
    double yd[8] = {0};
    sv_zero(5, xsig);
    penalty_info info;
    assert_int_equal(penalty_solve(&p, &d, NULL, xsig, yd, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    double bias = sv_test_dist(5, xsig, xs);
    assert_true(bias > 5e-3 && bias < 1.5e-2); /* O(sigma) */

    double x[5], y[8];
    run_single_loop(&p, 0, BLP_DEFAULT_MOMENTUM, 0, 40000, x, y, &info);
    double e_sig = sv_test_dist(5, x, xsig), e_star = sv_test_dist(5, x, xs);
    printf("penalty single loop (exact oracles, sigma 0.01): |x - x_sigma| = %.3e, "
           "|x - x*| = %.3e (bias %.3e)\n", e_sig, e_star, bias);
    assert_true(e_sig <= 1e-8);
    assert_true(e_star <= 1.5e-2);
    assert_true(info.sigma == 1e-2);
    sv_bl_quadratic_free(&q0);

    sv_bl_quadratic q1;
    sv_test_bl_quadratic_5x8(&q1, 0.0, 0.1);
    sv_bl_quadratic_bind(&q1, &p);
    run_single_loop(&p, 16, BLP_DEFAULT_MOMENTUM, 0, 20000, x, y, &info);
    e_star = sv_test_dist(5, x, xs);
    printf("penalty single loop (noise 0.1, batch 16): |x - x*| = %.3e\n", e_star);
    assert_true(e_star <= 3e-2);
    /* every iteration after the first: 4 lower and 2 upper gradients (new and old point) */
    assert_true(info.lower_grads >= 4 * 19999 && info.upper_grads >= 2 * 19999);
    sv_bl_quadratic_free(&q1);
}

/* The momentum estimator's variance is below the plain stochastic direction's: on the noisy
 * quadratic (noise 0.1 per entry, batches of 8), the reported x_direction_error |h_x - v_x| (the
 * step's x direction against the full-oracle direction at the point where it was taken), squared
 * and averaged over reports 200..2000, with the default momentum and with momentum 1 (no
 * momentum: h = the fresh mini-batch direction), the same seed and steps: the ratio is the
 * eta / (2 - eta) of the STORM recursion (0.176 at eta 0.3). */
typedef struct {
    double sum;
    long n, from;
} derr_log;

static int log_derr(const sv_progress *pr, void *data)
{
    derr_log *l = data;
    assert_string_equal(pr->metrics[9].name, "x_direction_error");
    if (pr->iter >= l->from && isfinite(pr->metrics[9].value)) {
        l->sum += pr->metrics[9].value * pr->metrics[9].value;
        l->n++;
    }
    return 0;
}

static void test_momentum_lowers_variance(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_test_bl_quadratic_5x8(&q, 0.0, 0.1);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    double msq[2];
    const double mom[2] = {BLP_DEFAULT_MOMENTUM, 1.0};
    for (int t = 0; t < 2; t++) {
        penalty_settings s;
        penalty_settings_default(&s);
        s.variant = BLP_VARIANT_SINGLE_LOOP;
        s.momentum = mom[t];
        s.batch_lower = s.batch_upper = 8;
        s.ctl.max_iter = 2000;
        s.ctl.report_every = 1;
        s.seed = 3;
        derr_log l = {0.0, 0, 200};
        sv_monitor mon = {log_derr, &l, NULL};
        double x[5] = {0}, y[8] = {0};
        penalty_info info;
        assert_int_equal(penalty_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_MAX_ITER);
        assert_int_equal(l.n, 1801); /* reports 200..2000 (the last one the final report) */
        msq[t] = l.sum / (double)l.n;
    }
    printf("penalty single loop: mean |h_x - v_x|^2 with momentum %g: %.3e, without: %.3e "
           "(ratio %.3f)\n", mom[0], msq[0], msq[1], msq[0] / msq[1]);
    assert_true(msq[1] > 0);
    /* the noise of this class is additive and the same at the new and the old point, so the
     * estimator's error obeys e_k = eta xi_k + (1 - eta) e_{k-1}: variance eta / (2 - eta) of
     * the plain direction's */
    const double eta = BLP_DEFAULT_MOMENTUM, pred = eta / (2.0 - eta);
    assert_true(msq[0] < 0.5 * msq[1]);
    assert_true(fabs(msq[0] / msq[1] - pred) <= 0.3 * pred);
    /* the double loop has no stochastic direction: the metric is null there */
    penalty_settings s;
    penalty_settings_default(&s);
    s.ctl.max_iter = 3;
    s.ctl.tol = 0;
    derr_log l = {0.0, 0, 0};
    sv_monitor mon = {log_derr, &l, NULL};
    double x[5] = {0}, y[8] = {0};
    penalty_info info;
    assert_int_equal(penalty_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(l.n, 0);
    sv_bl_quadratic_free(&q);
}

/* Cancellation and the time limit hold every iteration whatever report_every is: with
 * report_every 10^9 and max_iter 10^9, a stop asked at the 5000th poll ends the run cancelled,
 * and a 0.2 s time limit ends it as time_limit (neither reaches max_iter). */
static void test_single_loop_stops(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_test_bl_quadratic_5x8(&q, 0.0, 0.1);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    penalty_settings s;
    penalty_settings_default(&s);
    s.variant = BLP_VARIANT_SINGLE_LOOP;
    s.ctl.max_iter = 1000000000L;
    s.ctl.report_every = 1000000000L;
    s.batch_lower = s.batch_upper = 4;
    s.exact_metrics = 0;
    poll_count c = {0, 5000};
    sv_monitor mon = {NULL, &c, stop_after};
    double x[5] = {0}, y[8] = {0};
    penalty_info info;
    assert_int_equal(penalty_solve(&p, &s, &mon, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter > 0 && info.base.iter < 5000);
    assert_true(sv_all_finite(5, x));

    s.ctl.time_limit_s = 0.2;
    sv_zero(5, x);
    sv_zero(8, y);
    assert_int_equal(penalty_solve(&p, &s, NULL, x, y, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.base.iter > 0 && info.base.iter < s.ctl.max_iter);
    sv_bl_quadratic_free(&q);
}

/* Seeded reproducibility: the same seed gives the same iterates bit for bit (a noisy quadratic
 * and a hyperclean instance, whose batches are row draws); another seed gives others. */
static void test_single_loop_seeded(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    sv_test_bl_quadratic_5x8(&q, 0.0, 0.1);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    double x1[5], x2[5], x3[5], y[8];
    penalty_info info;
    run_single_loop(&p, 4, BLP_DEFAULT_MOMENTUM, 11, 500, x1, y, &info);
    run_single_loop(&p, 4, BLP_DEFAULT_MOMENTUM, 11, 500, x2, y, &info);
    run_single_loop(&p, 4, BLP_DEFAULT_MOMENTUM, 12, 500, x3, y, &info);
    assert_memory_equal(x1, x2, sizeof x1);
    assert_true(sv_test_dist(5, x1, x3) > 0);
    sv_bl_quadratic_free(&q);

    sv_bl_hyperclean_spec hs = {200, 200, 0, 10, 2, 0.3, 1e-2, 0.0, 1, 7};
    sv_bl_hyperclean h;
    assert_int_equal(sv_bl_hyperclean_generate(&hs, &h, NULL), SV_OK);
    sv_bl_hyperclean_bind(&h, &p);
    double *xa = calloc(200, sizeof *xa), *xb = calloc(200, sizeof *xb);
    double *xc = calloc(200, sizeof *xc), *yh = calloc((size_t)p.dy, sizeof *yh);
    run_single_loop(&p, 16, BLP_DEFAULT_MOMENTUM, 5, 300, xa, yh, &info);
    run_single_loop(&p, 16, BLP_DEFAULT_MOMENTUM, 5, 300, xb, yh, &info);
    run_single_loop(&p, 16, BLP_DEFAULT_MOMENTUM, 6, 300, xc, yh, &info);
    assert_memory_equal(xa, xb, 200 * sizeof *xa);
    assert_true(sv_test_dist(200, xa, xc) > 0);
    free(xa), free(xb), free(xc), free(yh);
    sv_bl_hyperclean_free(&h);
}

/* ============================================================================================
 * Codec
 * ========================================================================================== */

static const sv_codec_env *const env = &sv_test_codec_env;

static void test_codec(void **state)
{
    (void)state;
    const sv_codec *c = sv_codec_find("bilevel.penalty");
    assert_non_null(c);
    assert_string_equal(c->family, "bilevel");
    json_t *ex = c->example();
    sv_err e;
    assert_int_equal(c->validate(json_object_get(ex, "problem"), json_object_get(ex, "params"),
                                 env, &e),
                     SV_OK);
    json_t *r = NULL;
    assert_int_equal(c->run(json_object_get(ex, "problem"), json_object_get(ex, "params"), env,
                            NULL, &r, &e),
                     SV_OK);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    assert_true(json_is_number(json_object_get(r, "x_error")));
    assert_true(json_real_value(json_object_get(r, "x_error")) < 0.05);
    assert_true(json_is_array(json_object_get(r, "x")));
    assert_true(json_is_number(json_object_get(r, "hypergrad_norm")));
    json_decref(r);
    json_decref(ex);

    /* every schema default decodes back */
    json_t *schema = sv_codec_params_schema(c);
    json_t *props = json_object_get(schema, "properties");
    json_t *params = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(props, k, v)
    {
        json_t *d = json_object_get(v, "default");
        if (d && !json_is_null(d))
            json_object_set(params, k, d);
    }
    json_t *prob = json_pack("{s:{s:s, s:i, s:i}}", "generate", "class", "quadratic", "dx", 2,
                             "dy", 3);
    assert_int_equal(c->validate(prob, params, env, &e), SV_OK);
    json_decref(params);
    json_decref(schema);

    /* errors name their field */
    json_t *bad = json_pack("{s:f}", "sigma", -1.0);
    assert_int_equal(c->validate(prob, bad, env, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/sigma");
    json_decref(bad);
    bad = json_pack("{s:s}", "variant", "triple_loop");
    assert_int_equal(c->validate(prob, bad, env, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/variant");
    json_decref(bad);
    json_decref(prob);
    prob = json_pack("{s:{s:s, s:i, s:i, s:i}}", "generate", "class", "constrained", "dx", 2,
                     "dy", 3, "m", 1);
    assert_int_equal(c->validate(prob, NULL, env, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/class");
    json_decref(prob);

    /* explicit data: H that is not positive definite is refused at validation */
    prob = json_pack("{s:s, s:[[i]], s:[[i]], s:[i]}", "class", "quadratic", "H", -1, "B", 1,
                     "c", 1);
    assert_int_equal(c->validate(prob, NULL, env, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/H");
    json_decref(prob);

    /* a hyper-cleaning job on the real breast cancer data */
    prob = json_pack("{s:{s:s, s:s, s:i, s:i, s:f, s:f}}", "dataset", "name", "breast_cancer",
                     "class", "hyperclean", "n_train", 200, "n_val", 150, "flip", 0.3, "mu",
                     0.1);
    json_t *pa = json_pack("{s:i, s:f, s:b}", "max_iter", 25, "inner_tol", 1e-7,
                           "exact_metrics", 0);
    assert_int_equal(c->run(prob, pa, env, NULL, &r, &e), SV_OK);
    json_t *det = json_object_get(r, "detection");
    assert_non_null(det);
    double acc = json_real_value(json_object_get(r, "validation_accuracy"));
    double acc_u = json_real_value(json_object_get(r, "unweighted_validation_accuracy"));
    printf("penalty on breast_cancer (30%% flipped): validation accuracy %.3f (unweighted %.3f), "
           "precision %.3f recall %.3f\n",
           acc, acc_u, json_real_value(json_object_get(det, "precision")),
           json_real_value(json_object_get(det, "recall")));
    assert_true(acc >= acc_u);
    json_decref(r);
    json_decref(pa);
    json_decref(prob);
}

/* Pins of the codec's glue (support/bilevel_fixtures.h): the refusal of the constrained class
 * in both forms, and the members of a result in their order. */
static void test_codec_glue_pins(void **state)
{
    (void)state;
    sv_test_bl_codec_glue_pins("bilevel.penalty",
                               "bilevel.penalty handles lower-level constraints only as a box "
                               "of y; coupled constraints need bilevel.lvhba",
                               "{\"max_iter\": 5}",
                               "status,iterations,solve_time_s,x,y,upper_at_y,lower_residual,"
                               "upper_objective,hypergrad_norm,x_star,x_error,objective,"
                               "y_sigma,sigma,alpha,gamma,psi_grad_norm,penalty_gap,y_sensitivity,"
                               "oracle_calls,params,");
}

/* Pins of the solver's scaffolding (support/bilevel_fixtures.h): the starting point errors, and
 * the exact values at the end equal an independent sv_bl_evaluate at the returned x. The run
 * the fixture makes: 20 iterations with exact metrics. */
static int solve_20_exact(const sv_bl_problem *p, double *x, double *y, double *F,
                          double *hypergrad_norm, sv_err *e)
{
    penalty_settings s;
    penalty_settings_default(&s);
    s.ctl.max_iter = 20;
    s.exact_metrics = 1;
    penalty_info info;
    int rc = penalty_solve(p, &s, NULL, x, y, NULL, &info, e);
    *F = info.F;
    *hypergrad_norm = info.hypergrad_norm;
    return rc;
}

static void test_start_and_exact_pins(void **state)
{
    (void)state;
    sv_test_bl_start_and_exact_pins(solve_20_exact);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quadratic_sigma_bias),
        cmocka_unit_test(test_quadratic_box),
        cmocka_unit_test(test_quadratic_sgd),
        cmocka_unit_test(test_single_loop_closed_form),
        cmocka_unit_test(test_momentum_lowers_variance),
        cmocka_unit_test(test_single_loop_stops),
        cmocka_unit_test(test_single_loop_seeded),
        cmocka_unit_test(test_hyperclean_detects_flips),
        cmocka_unit_test(test_hyperparam_global_matches_grid),
        cmocka_unit_test(test_cancel_and_validation),
        cmocka_unit_test(test_objective_one_meaning),
        cmocka_unit_test(test_inner_loops_poll),
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_codec_glue_pins),
        cmocka_unit_test(test_start_and_exact_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
