/* test_lion.c - Lion-K (core/solvers/constrained/lion.c) and the constrained.lion codec (api/codecs/constrained/lion.c).
 * Reference answers: projected (or proximal) gradient to high accuracy for the constrained least
 * squares problems Lion-K solves, the normal equations for the quadratic K, hand values of grad K,
 * the box invariance and exponential entry of the paper checked at every iteration through the
 * monitor, and closed-form optima of expr problems. */
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
#include "core/models/gen_glm.h"
#include "core/rng.h"
#include "core/solvers/constrained/lion.h"
#include "support/json.h"
#include "support/numeric.h"

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

/* One least-squares (or logistic) model with `rows` rows over `dim` columns. */
static void gen(sv_glm_clients *c, int rows, int dim, sv_loss loss, double ridge, uint64_t seed)
{
    sv_gen_glm_spec spec = {1, rows, dim, loss, 0.0, ridge, seed};
    sv_err e;
    assert_int_equal(sv_gen_glm_clients(&spec, c, &e), SV_OK);
}

typedef void (*prox_fn)(int n, double step, double lambda, double *v);

/* Proximal gradient x <- prox(x - g/L) until the step moves x by less than 1e-15, from zero:
 * a linearly convergent method for these strongly convex problems, independent of Lion. */
static void prox_gradient(const sv_glm *g, int d, prox_fn prox, double lambda, double *x)
{
    double L = sv_glm_smoothness(g);
    double *grad = malloc((size_t)d * sizeof *grad), *work = malloc((size_t)g->A->rows * 2 *
                                                                      sizeof *work);
    double *prev = malloc((size_t)d * sizeof *prev);
    assert_non_null(grad);
    assert_non_null(work);
    assert_non_null(prev);
    sv_zero(d, x);
    for (int it = 0; it < 2000000; it++) {
        sv_copy(d, x, prev);
        sv_glm_value(g, x, grad, work);
        sv_axpy(d, -1.0 / L, grad, x);
        prox(d, 1.0 / L, lambda, x);
        double moved = 0.0;
        for (int j = 0; j < d; j++)
            moved = fmax(moved, fabs(x[j] - prev[j]));
        if (moved < 1e-15)
            break;
    }
    free(grad);
    free(work);
    free(prev);
}

static void prox_box(int n, double step, double lambda, double *v)
{
    (void)step;
    for (int i = 0; i < n; i++)
        v[i] = fmax(-1.0 / lambda, fmin(1.0 / lambda, v[i]));
}

static void prox_l2ball(int n, double step, double lambda, double *v)
{
    (void)step;
    double nrm = sv_nrm2(n, v);
    if (nrm > 1.0 / lambda)
        sv_scal(n, 1.0 / (lambda * nrm), v);
}

/* Projection onto the l1 ball (sort-free: bisection on the soft threshold). */
static void prox_l1ball(int n, double step, double lambda, double *v)
{
    (void)step;
    double r = 1.0 / lambda, s = 0.0;
    for (int i = 0; i < n; i++)
        s += fabs(v[i]);
    if (s <= r)
        return;
    double lo = 0.0, hi = sv_nrminf(n, v);
    for (int it = 0; it < 200; it++) {
        double th = 0.5 * (lo + hi), t = 0.0;
        for (int i = 0; i < n; i++)
            t += fmax(0.0, fabs(v[i]) - th);
        if (t > r)
            lo = th;
        else
            hi = th;
    }
    for (int i = 0; i < n; i++)
        v[i] = copysign(fmax(0.0, fabs(v[i]) - hi), v[i]);
}

/* Huber K: R = (delta lambda/2)|x|^2 on the box; prox = shrink then clip (separable). */
static double huber_delta = 1.0;
static void prox_huber(int n, double step, double lambda, double *v)
{
    for (int i = 0; i < n; i++)
        v[i] /= 1.0 + step * huber_delta * lambda;
    prox_box(n, step, lambda, v);
}

static void prox_ridge(int n, double step, double lambda, double *v)
{
    sv_scal(n, 1.0 / (1.0 + step * lambda), v);
}

/* Records every report. */
typedef struct {
    long n, cap;
    long *iter;
    double *x_inf, *violation, *gap, *lr;
    long cancel_at;  /* ask to stop at this iteration; -1: never */
} recorder;

static void rec_init(recorder *r, long cap)
{
    memset(r, 0, sizeof *r);
    r->cap = cap;
    r->iter = calloc((size_t)cap, sizeof *r->iter);
    r->x_inf = calloc((size_t)cap, sizeof *r->x_inf);
    r->violation = calloc((size_t)cap, sizeof *r->violation);
    r->gap = calloc((size_t)cap, sizeof *r->gap);
    r->lr = calloc((size_t)cap, sizeof *r->lr);
    r->cancel_at = -1;
    assert_true(r->iter && r->x_inf && r->violation && r->gap && r->lr);
}

static void rec_free(recorder *r)
{
    free(r->iter);
    free(r->x_inf);
    free(r->violation);
    free(r->gap);
    free(r->lr);
}

static int record(const sv_progress *p, void *data)
{
    recorder *r = data;
    if (r->n < r->cap) {
        r->iter[r->n] = p->iter;
        r->x_inf[r->n] = sv_test_metric(p, "x_inf");
        r->violation[r->n] = sv_test_metric(p, "box_violation");
        r->gap[r->n] = sv_test_metric(p, "gap");
        r->lr[r->n] = sv_test_metric(p, "lr");
        r->n++;
    }
    return r->cancel_at >= 0 && p->iter >= r->cancel_at;
}

/* ============================================================================================
 * The K family
 * ========================================================================================== */

static void test_grad_k_values(void **state)
{
    (void)state;
    lion_settings s;
    lion_settings_default(&s);
    double out[3];

    double c1[3] = {-2.0, 0.0, 3.0};
    s.k = LION_K_SIGN;
    lion_grad_k(&s, 3, c1, out);
    assert_true(out[0] == -1.0 && out[1] == 0.0 && out[2] == 1.0);
    assert_true(lion_k_value(&s, 3, c1) == 5.0);

    double c2[3] = {3.0, 0.0, -4.0};
    s.k = LION_K_L2;
    lion_grad_k(&s, 3, c2, out);
    assert_true(fabs(out[0] - 0.6) < 1e-16 && out[1] == 0.0 && fabs(out[2] + 0.8) < 1e-16);
    assert_true(fabs(lion_k_value(&s, 3, c2) - 5.0) < 1e-15);

    /* p = 3 on (1, -2, 0): sign(c)|c|^2 / |c|_3^2 = (1, -4, 0) / 9^(2/3) */
    double c3[3] = {1.0, -2.0, 0.0};
    s.k = LION_K_LP;
    s.p = 3.0;
    lion_grad_k(&s, 3, c3, out);
    double den = pow(9.0, 2.0 / 3.0);
    assert_true(fabs(out[0] - 1.0 / den) < 1e-15 && fabs(out[1] + 4.0 / den) < 1e-15);
    assert_true(fabs(lion_k_value(&s, 3, c3) - cbrt(9.0)) < 1e-15);
    /* p = 2 is the l2 direction */
    s.p = 2.0;
    double o2[3];
    lion_grad_k(&s, 3, c2, o2);
    s.k = LION_K_L2;
    lion_grad_k(&s, 3, c2, out);
    assert_true(sv_test_max_abs_diff(3, o2, out) < 1e-15);

    double c4[3] = {1.0, -5.0, 3.0};
    s.k = LION_K_LINF;
    lion_grad_k(&s, 3, c4, out);
    assert_true(out[0] == 0.0 && out[1] == -1.0 && out[2] == 0.0);
    assert_true(lion_k_value(&s, 3, c4) == 5.0);

    double c5[3] = {1.0, -5.0, 0.0};
    s.k = LION_K_HUBER;
    s.delta = 2.0;
    lion_grad_k(&s, 3, c5, out);
    assert_true(out[0] == 0.5 && out[1] == -1.0 && out[2] == 0.0);
    assert_true(fabs(lion_k_value(&s, 3, c5) - (0.25 + 4.0)) < 1e-15);  /* 1/(2*2) + (5 - 1) */

    double c6[2] = {1.0, 0.0};
    s.k = LION_K_RELATIVISTIC;
    s.delta = 1.0;
    lion_grad_k(&s, 2, c6, out);
    assert_true(fabs(out[0] - sqrt(0.5)) < 2.3e-16 && out[1] == 0.0);
    assert_true(fabs(lion_k_value(&s, 2, c6) - (sqrt(2.0) - 1.0)) < 1e-15);

    s.k = LION_K_QUADRATIC;
    lion_grad_k(&s, 3, c4, out);
    assert_memory_equal(out, c4, sizeof c4);

    /* Fenchel-Young: <g, x> + R(x) + K(g)/lambda >= 0 for x in the set, every K */
    sv_rng r;
    sv_rng_seed(&r, 1);
    for (int k = LION_K_SIGN; k <= LION_K_QUADRATIC; k++) {
        lion_settings t;
        lion_settings_default(&t);
        t.k = k;
        t.weight_decay = 2.0;
        for (int rep = 0; rep < 200; rep++) {
            double g[4], x[4];
            for (int i = 0; i < 4; i++) {
                g[i] = sv_rng_normal(&r);
                x[i] = sv_rng_normal(&r);
            }
            double nrm = lion_set_norm(&t, 4, x);
            if (k != LION_K_QUADRATIC && nrm > 0.5)
                sv_scal(4, 0.5 * sv_rng_uniform(&r) / nrm, x);
            double R = lion_regularizer(&t, 4, x);
            assert_true(isfinite(R));
            double gx = 0.0;
            for (int i = 0; i < 4; i++)
                gx += g[i] * x[i];
            assert_true(gx + R + lion_k_value(&t, 4, g) / 2.0 >= -1e-14);
        }
    }
}

/* ============================================================================================
 * Box-constrained least squares: the projected reference, and the box of the theory
 * ========================================================================================== */

/* Lion (K = sign) with weight decay lambda against projected gradient on
 * min f(x) s.t. |x|_inf <= 1/lambda, with the radius half of the unconstrained optimum's
 * largest entry so that several bounds are active. Tolerance: 1e-6 in every coordinate. */
static void test_box_least_squares(void **state)
{
    (void)state;
    const int d = 10;
    sv_glm_clients c;
    gen(&c, 60, d, SV_LOSS_SQUARED, 0.0, 21);
    double xu[10], xref[10], x[10] = {0};
    prox_gradient(&c.glm[0], d, prox_ridge, 0.0, xu);  /* unconstrained */
    const double lambda = 2.0 / sv_nrminf(d, xu);
    prox_gradient(&c.glm[0], d, prox_box, lambda, xref);
    int active = 0;
    for (int j = 0; j < d; j++)
        active += fabs(fabs(xref[j]) - 1.0 / lambda) < 1e-12;
    assert_true(active >= 2 && active < d);

    lion_problem p = {d, &c.glm[0], NULL, NULL, NULL};
    lion_settings s;
    lion_settings_default(&s);
    s.weight_decay = lambda;
    s.lr = 0.02;
    s.ctl.max_iter = 20000;
    s.ctl.tol = 1e-12;
    lion_info info;
    sv_err e;
    assert_int_equal(lion_solve(&p, &s, NULL, x, &info, &e), SV_OK);
    double err = sv_test_max_abs_diff(d, x, xref);
    printf("  box LS: status %s after %ld iterations, |x - x_ref|_inf = %.3g, gap %.3g\n",
           sv_status_name(info.base.status), info.base.iter, err, info.gap);
    assert_true(err <= 1e-6);
    assert_true(info.gap <= 1e-7);
    assert_true(info.x_inf <= (1.0 / lambda) * (1 + 1e-12));
    assert_true(info.box_violation == 0.0 && info.violation == 0.0);
    assert_true(fabs(info.radius - 1.0 / lambda) < 1e-15);
    assert_int_equal(info.entry_iter, 0);
    sv_glm_clients_free(&c);
}

/* The paper's two phases, checked at every iteration through the monitor: from a start outside
 * the box the distance to it shrinks at least by the factor (1 - eta_t lambda) per step; once the
 * iterate is inside it stays inside. From a start inside, no iterate ever leaves. */
static void test_box_entry_and_invariance(void **state)
{
    (void)state;
    const int d = 8;
    sv_glm_clients c;
    gen(&c, 50, d, SV_LOSS_SQUARED, 0.0, 5);
    const double lambda = 3.0, r = 1.0 / lambda;
    lion_problem p = {d, &c.glm[0], NULL, NULL, NULL};
    lion_settings s;
    lion_settings_default(&s);
    s.weight_decay = lambda;
    s.lr = 0.05;
    s.ctl.max_iter = 3000;
    s.ctl.tol = 0.0;
    s.ctl.report_every = 1;
    sv_monitor mon = {record, NULL, NULL};
    sv_err e;

    for (int start = 0; start < 2; start++) {
        recorder rec;
        rec_init(&rec, s.ctl.max_iter + 2);
        mon.data = &rec;
        double x[8];
        for (int j = 0; j < d; j++)
            x[j] = start ? (j % 2 ? -4.0 : 4.0) : 0.0;  /* outside: 12 radii away */
        lion_info info;
        assert_int_equal(lion_solve(&p, &s, &mon, x, &info, &e), SV_OK);
        assert_int_equal(rec.n, s.ctl.max_iter + 1);
        long entry = -1;
        for (long q = 0; q < rec.n; q++) {
            assert_int_equal(rec.iter[q], q);
            if (entry < 0 && rec.violation[q] <= 1e-12 * r)
                entry = q;
            if (entry >= 0) {
                assert_true(rec.x_inf[q] <= r * (1 + 1e-12));
            } else if (q > 0) {
                double eta = sv_schedule_lr(&s.schedule, s.lr, q - 1, s.ctl.max_iter);
                assert_true(rec.violation[q] <= (1 - eta * lambda) * rec.violation[q - 1] +
                                                    1e-15);
            }
        }
        if (start == 0)
            assert_int_equal(entry, 0);
        else
            assert_true(entry > 0 && entry < 2000);
        printf("  start %s: entered the box at iteration %ld (solver: %ld), final gap %.3g\n",
               start ? "outside" : "at 0", entry, info.entry_iter, info.gap);
        assert_int_equal(info.entry_iter, entry);
        rec_free(&rec);
    }
    sv_glm_clients_free(&c);
}

/* ============================================================================================
 * Every K converges on a small strongly convex least-squares problem
 * ========================================================================================== */

static void test_each_k_converges(void **state)
{
    (void)state;
    const int d = 6;
    const double ridge = 0.05;
    sv_glm_clients c;
    gen(&c, 40, d, SV_LOSS_SQUARED, ridge, 8);
    lion_problem p = {d, &c.glm[0], NULL, NULL, NULL};
    double xu[6];
    prox_gradient(&c.glm[0], d, prox_ridge, 0.0, xu);
    const double lambda = 2.0 / sv_nrminf(d, xu);  /* active constraints for the box K's */
    const double mu = ridge;                        /* F is at least ridge-strongly convex */

    for (int k = LION_K_SIGN; k <= LION_K_QUADRATIC; k++) {
        lion_settings s;
        lion_settings_default(&s);
        s.k = k;
        s.weight_decay = lambda;
        s.lr = k == LION_K_LINF ? 0.02 : 0.01;
        s.ctl.max_iter = k == LION_K_LINF ? 60000 : 30000;
        s.ctl.tol = 1e-12;
        double x[6] = {0}, xref[6];
        lion_info info;
        sv_err e;
        assert_int_equal(lion_solve(&p, &s, NULL, x, &info, &e), SV_OK);
        /* F(x) - F* <= gap and F is mu-strongly convex: |x - x*|_2 <= sqrt(2 gap / mu) */
        double bound = sqrt(2.0 * info.gap / mu);
        double err = NAN;
        prox_fn prox = k == LION_K_SIGN ? prox_box : k == LION_K_L2 ? prox_l2ball
                     : k == LION_K_LINF ? prox_l1ball : k == LION_K_HUBER ? prox_huber
                     : k == LION_K_QUADRATIC ? prox_ridge : NULL;
        if (prox) {
            huber_delta = s.delta;
            prox_gradient(&c.glm[0], d, prox, lambda, xref);
            err = sv_test_max_abs_diff(d, x, xref);
        }
        printf("  K=%d: %s, %ld iterations, gap %.2e, |x - x*| <= %.2e, vs reference %.2e\n", k,
               sv_status_name(info.base.status), info.base.iter, info.gap, bound, err);
        assert_true(info.gap <= 1e-6);
        assert_true(info.violation <= 1e-12 * (1.0 / lambda));
        if (prox)
            assert_true(err <= 1e-5);
        else
            assert_true(bound <= 1e-5);  /* lp, relativistic: the gap certifies x */
    }
    sv_glm_clients_free(&c);
}

/* ============================================================================================
 * Stochastic gradients, logistic loss, schedules
 * ========================================================================================== */

/* Mini-batches of 16 rows: reproducible for a seed, different for another, and close to the
 * projected reference once the cosine schedule has brought the rate down. */
static void test_minibatch(void **state)
{
    (void)state;
    const int d = 5;
    sv_glm_clients c;
    gen(&c, 400, d, SV_LOSS_SQUARED, 0.0, 12);
    double xu[5], xref[5];
    prox_gradient(&c.glm[0], d, prox_ridge, 0.0, xu);
    const double lambda = 1.5 / sv_nrminf(d, xu);
    prox_gradient(&c.glm[0], d, prox_box, lambda, xref);
    lion_problem p = {d, &c.glm[0], NULL, NULL, NULL};
    lion_settings s;
    lion_settings_default(&s);
    s.weight_decay = lambda;
    s.lr = 0.01;
    s.batch_size = 16;
    s.seed = 99;
    s.ctl.max_iter = 20000;
    s.ctl.tol = 0.0;
    s.ctl.report_every = 1000;
    double x1[5] = {0}, x2[5] = {0}, x3[5] = {0};
    lion_info i1, i2, i3;
    sv_err e;
    assert_int_equal(lion_solve(&p, &s, NULL, x1, &i1, &e), SV_OK);
    assert_int_equal(lion_solve(&p, &s, NULL, x2, &i2, &e), SV_OK);
    s.seed = 100;
    assert_int_equal(lion_solve(&p, &s, NULL, x3, &i3, &e), SV_OK);
    assert_memory_equal(x1, x2, sizeof x1);
    assert_true(sv_test_max_abs_diff(d, x1, x3) > 0.0);
    double err = sv_test_max_abs_diff(d, x1, xref);
    printf("  mini-batch 16 of 400: |x - x_ref|_inf = %.3g, gap %.3g\n", err, i1.gap);
    assert_true(err <= 2e-2);
    assert_true(i1.x_inf <= (1.0 / lambda) * (1 + 1e-12));
    assert_int_equal(i1.base.status, SV_MAX_ITER);
    assert_true(isfinite(i1.gap) && i1.gap < 0.1);
    sv_glm_clients_free(&c);
}

/* Logistic regression in a box, with UBA and with cosine schedules. */
static void test_logistic_box_schedules(void **state)
{
    (void)state;
    const int d = 6;
    sv_glm_clients c;
    gen(&c, 300, d, SV_LOSS_LOGISTIC, 0.01, 4);
    const double lambda = 4.0;
    double xref[6];
    prox_gradient(&c.glm[0], d, prox_box, lambda, xref);
    lion_problem p = {d, &c.glm[0], NULL, NULL, NULL};
    static const int kinds[] = {SV_SCHEDULE_COSINE, SV_SCHEDULE_UBA};
    for (int q = 0; q < 2; q++) {
        lion_settings s;
        lion_settings_default(&s);
        s.weight_decay = lambda;
        s.lr = 0.01;
        s.ctl.max_iter = 20000;
        s.ctl.tol = 1e-10;
        s.schedule.kind = kinds[q];
        s.schedule.phi = 1.5;
        double x[6] = {0};
        lion_info info;
        sv_err e;
        assert_int_equal(lion_solve(&p, &s, NULL, x, &info, &e), SV_OK);
        double err = sv_test_max_abs_diff(d, x, xref);
        printf("  logistic, %s: %s, %ld iterations, |x - x_ref| = %.3g\n",
               sv_schedule_kind_name(kinds[q]), sv_status_name(info.base.status),
               info.base.iter, err);
        assert_true(err <= 1e-5);
    }
    sv_glm_clients_free(&c);
}

/* A caller's objective: f = sum_i (x_i - t_i)^2 / 2 in the box of radius 1 has the clipped
 * target as its solution; with weight_decay = 0 Lion minimises f itself. */
static double quad_fn(const double *x, double *g, void *data)
{
    const double *t = data;
    double f = 0.0;
    for (int i = 0; i < 4; i++) {
        g[i] = x[i] - t[i];
        f += 0.5 * g[i] * g[i];
    }
    return f;
}

static void test_objective_fn_and_no_decay(void **state)
{
    (void)state;
    double target[4] = {2.0, -0.5, 0.25, -3.0};
    lion_problem p = {4, NULL, NULL, quad_fn, target};
    lion_settings s;
    lion_settings_default(&s);
    s.weight_decay = 1.0;
    s.lr = 0.01;
    s.ctl.max_iter = 5000;
    s.ctl.tol = 1e-12;
    double x[4] = {0};
    lion_info info;
    sv_err e;
    assert_int_equal(lion_solve(&p, &s, NULL, x, &info, &e), SV_OK);
    double expect[4] = {1.0, -0.5, 0.25, -1.0};
    assert_true(sv_test_max_abs_diff(4, x, expect) <= 1e-6);

    s.weight_decay = 0.0;
    s.ctl.tol = 1e-7;
    sv_zero(4, x);
    assert_int_equal(lion_solve(&p, &s, NULL, x, &info, &e), SV_OK);
    assert_true(sv_test_max_abs_diff(4, x, target) <= 1e-6);
    assert_true(isnan(info.gap) && isinf(info.radius));
    assert_true(info.base.res == info.grad_norm);
}

/* ============================================================================================
 * Cancellation, validation
 * ========================================================================================== */

static void test_cancel(void **state)
{
    (void)state;
    const int d = 4;
    sv_glm_clients c;
    gen(&c, 30, d, SV_LOSS_SQUARED, 0.0, 2);
    lion_problem p = {d, &c.glm[0], NULL, NULL, NULL};
    lion_settings s;
    lion_settings_default(&s);
    s.ctl.report_every = 10;
    s.ctl.tol = 0.0;
    recorder rec;
    rec_init(&rec, 100);
    rec.cancel_at = 30;
    sv_monitor mon = {record, &rec, NULL};
    double x[4] = {0};
    lion_info info;
    assert_int_equal(lion_solve(&p, &s, &mon, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 30);
    assert_int_equal(rec.n, 4);  /* 0, 10, 20, 30 */
    rec_free(&rec);
    sv_glm_clients_free(&c);
}

/* The monitor's poll is read at every iteration: with report_every far beyond max_iter, a stop
 * request at the 50th poll ends the solve at iteration 49 (one poll per iteration from 0), and
 * the job's time limit holds the same way. */
typedef struct {
    int polls, stop_at, reports;
} poller;

static int poll_count(void *data)
{
    poller *q = data;
    return ++q->polls >= q->stop_at;
}

static int count_report(const sv_progress *p, void *data)
{
    (void)p;
    ((poller *)data)->reports++;
    return 0;
}

static void test_poll_every_iteration(void **state)
{
    (void)state;
    const int d = 4;
    sv_glm_clients c;
    gen(&c, 30, d, SV_LOSS_SQUARED, 0.0, 2);
    for (int batch = 0; batch <= 8; batch += 8) {
        lion_problem p = {d, &c.glm[0], NULL, NULL, NULL};
        lion_settings s;
        lion_settings_default(&s);
        s.ctl.report_every = 1000000000L;
        s.ctl.tol = 0.0;
        s.batch_size = batch;
        poller q = {0, 50, 0};
        sv_monitor mon = {count_report, &q, poll_count};
        double x[4] = {0};
        lion_info info;
        assert_int_equal(lion_solve(&p, &s, &mon, x, &info, NULL), SV_OK);
        assert_int_equal(info.base.status, SV_CANCELLED);
        assert_int_equal(info.base.iter, 49);
        assert_int_equal(q.reports, 2);  /* iteration 0 and the final one */
        /* The final metrics are at the returned x, batch or not. */
        assert_true(isfinite(info.grad_norm) && info.base.res == info.grad_norm && isfinite(info.base.obj));
    }
    sv_glm_clients_free(&c);
}

static void test_validation(void **state)
{
    (void)state;
    const int d = 3;
    sv_glm_clients c;
    gen(&c, 10, d, SV_LOSS_SQUARED, 0.0, 2);
    lion_problem p = {d, &c.glm[0], NULL, NULL, NULL};
    double x[3] = {0};
    lion_info info;
    sv_err e;
    lion_settings s;

    lion_settings_default(&s);
    s.lr = 0.5;
    s.weight_decay = 3.0;
    assert_int_equal(lion_solve(&p, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/lr");
    assert_int_equal(info.base.status, SV_UNSOLVED);

    lion_settings_default(&s);
    s.beta1 = 1.0;
    assert_int_equal(lion_solve(&p, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/beta1");

    lion_settings_default(&s);
    s.p = 1.0;
    assert_int_equal(lion_check_settings(&s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/p");

    lion_settings_default(&s);
    s.schedule.kind = SV_SCHEDULE_UBA;
    s.schedule.phi = 0.0;
    assert_int_equal(lion_check_settings(&s, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/schedule/phi");

    lion_settings_default(&s);
    double bad[3] = {0, NAN, 0};
    assert_int_equal(lion_solve(&p, &s, NULL, bad, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");

    lion_problem none = {d, NULL, NULL, NULL, NULL};
    assert_int_equal(lion_solve(&none, &s, NULL, x, &info, &e), SV_EINVAL);
    lion_problem wrong = {d + 1, &c.glm[0], NULL, NULL, NULL};
    assert_int_equal(lion_solve(&wrong, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/A");

    double target[4] = {0};
    lion_problem fn = {4, NULL, NULL, quad_fn, target};
    s.batch_size = 4;
    double x4[4] = {0};
    assert_int_equal(lion_solve(&fn, &s, NULL, x4, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/batch_size");
    sv_glm_clients_free(&c);
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

static void test_codec_example_and_schema(void **state)
{
    (void)state;
    const sv_codec *codec = sv_codec_find("constrained.lion");
    assert_non_null(codec);
    assert_string_equal(codec->family, "constrained");
    json_t *ex = codec->example();
    sv_err e;
    assert_int_equal(codec->validate(json_object_get(ex, "problem"), json_object_get(ex, "params"),
                                     NULL, &e), SV_OK);
    json_t *result = NULL;
    double t0 = sv_now_s();
    assert_int_equal(codec->run(json_object_get(ex, "problem"), json_object_get(ex, "params"),
                                NULL, NULL, &result, &e), SV_OK);
    printf("  example: %s in %.3f s, %lld iterations, gap %g\n",
           json_string_value(json_object_get(result, "status")), sv_now_s() - t0,
           (long long)json_integer_value(json_object_get(result, "iterations")),
           json_real_value(json_object_get(result, "gap")));
    const char *st = json_string_value(json_object_get(result, "status"));
    assert_true(strcmp(st, "solved") == 0 || strcmp(st, "max_iter") == 0);
    assert_true(json_real_value(json_object_get(result, "x_inf")) <= 0.25 * (1 + 1e-12));
    assert_int_equal(json_array_size(json_object_get(result, "x")), 20);
    assert_string_equal(json_string_value(json_object_get(json_object_get(result, "schedule"),
                                                          "kind")), "cosine");
    json_decref(result);
    json_decref(ex);

    json_t *ps = sv_codec_params_schema(codec), *pr = codec->problem_schema();
    assert_non_null(json_object_get(json_object_get(ps, "properties"), "schedule"));
    /* the table's default kind shows in the schema and in the decoded defaults */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(ps, "properties"), "schedule"),
                            "default")), "cosine");
    {
        json_t *pb = sv_test_json("{\"A\": [[1]], \"b\": [1]}");
        json_t *pa = sv_test_json("{\"beta2\": 1}");
        assert_int_equal(codec->validate(pb, pa, NULL, &e), SV_EINVAL);
        assert_string_equal(e.field, "/params/beta2");
        assert_string_equal(e.msg, "out of range: 1, must be in [0, 0.9999999999999999]");
        json_decref(pb);
        json_decref(pa);
    }
    assert_non_null(json_object_get(json_object_get(ps, "properties"), "weight_decay"));
    assert_non_null(pr);
    json_decref(ps);
    json_decref(pr);
}

/* explicit data, every error path naming its field */
static void test_codec_data_and_errors(void **state)
{
    (void)state;
    const sv_codec *codec = sv_codec_find("constrained.lion");
    sv_err e;
    json_t *prob = sv_test_json("{\"A\": [[1, 0], [0, 1], [1, 1]], \"b\": [3, -3, 0], "
                                "\"w\": [1, 1, 0]}");
    json_t *params = sv_test_json("{\"weight_decay\": 1, \"lr\": 0.05, \"max_iter\": 4000, "
                                  "\"tol\": 1e-12, \"schedule\": {\"kind\": \"uba\", "
                                  "\"phi\": 1.0}}");
    json_t *result = NULL;
    assert_int_equal(codec->run(prob, params, NULL, NULL, &result, &e), SV_OK);
    /* f = ((x1 - 3)^2 + (x2 + 3)^2) / 6 in the unit box: x = (1, -1) */
    json_t *x = json_object_get(result, "x");
    assert_true(fabs(json_real_value(json_array_get(x, 0)) - 1.0) < 1e-6);
    assert_true(fabs(json_real_value(json_array_get(x, 1)) + 1.0) < 1e-6);
    assert_true(json_real_value(json_object_get(result, "radius")) == 1.0);
    json_decref(result);
    json_decref(params);

    static const struct {
        const char *problem, *params, *field;
    } bad[] = {
        {"{\"A\": [[1]], \"b\": [1, 2]}", "{}", "/problem/b"},
        {"{\"A\": [[1]], \"b\": [0.5], \"loss\": \"logistic\"}", "{}", "/problem/b/0"},
        {"{\"A\": [[1]], \"b\": [1], \"w\": [-1]}", "{}", "/problem/w/0"},
        {"{\"A\": [[1]], \"b\": [1], \"extra\": 1}", "{}", "/problem/extra"},
        {"{\"A\": [[1]], \"b\": [1]}", "{\"k\": \"l3\"}", "/params/k"},
        {"{\"A\": [[1]], \"b\": [1]}", "{\"beta1\": 1}", "/params/beta1"},
        {"{\"A\": [[1]], \"b\": [1]}", "{\"p\": 1}", "/params/p"},
        {"{\"A\": [[1]], \"b\": [1]}", "{\"schedule\": {\"kind\": \"cosine\", \"z\": 1}}",
         "/params/schedule/z"},
        {"{\"generate\": {\"rows\": 5, \"dim\": 2, \"clients\": 2}}", "{}",
         "/problem/generate/clients"},
        {"{\"A\": [[1]], \"b\": [1]}", "{\"lr\": 0.5, \"weight_decay\": 4}", "/params/lr"},
        {"{\"A\": [[1]], \"b\": [1]}", "{\"schedule\": {\"kind\": \"step\", \"phi\": 1}}",
         "/params/schedule/phi"},
        {"{\"generate\": {\"rows\": 0, \"dim\": 2}}", "{}", "/problem/generate/rows"},
        {"{\"generate\": {\"rows\": 5, \"dim\": 2}, \"A\": [[1]]}", "{}", "/problem"},
        {"{}", "{}", "/problem"},
        {"{\"variables\": [\"x\"], \"objective\": \"x^2\", \"equalities\": [\"x - 1\"]}", "{}",
         "/problem/equalities"},
        {"{\"variables\": [\"x\"], \"objective\": \"x^2\", \"inequalities\": [\"x - 1\"]}", "{}",
         "/problem/inequalities"},
        {"{\"variables\": {\"x\": {\"lower\": 0}}, \"objective\": \"x^2\"}", "{}",
         "/problem/variables/x/lower"},
        {"{\"variables\": [\"x\"], \"objective\": \"x^2 + y\"}", "{}", "/problem/objective"},
        {"{\"variables\": [\"x\"], \"objective\": \"x^2\"}", "{\"batch_size\": 4}",
         "/params/batch_size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *pb = sv_test_json(bad[i].problem), *pa = sv_test_json(bad[i].params);
        memset(&e, 0, sizeof e);
        assert_int_equal(codec->validate(pb, pa, NULL, &e), SV_EINVAL);
        if (strncmp(e.field, bad[i].field, strlen(bad[i].field)) != 0)
            fail_msg("case %zu: field %s, expected %s (%s)", i, e.field, bad[i].field, e.msg);
        json_decref(pb);
        json_decref(pa);
    }
    json_decref(prob);
}

/* expr problems: min (x - 2)^2 + (y + 3)^2 + v.v in the box of radius 1 is (1, -1, 0, 0). */
static void test_codec_expr(void **state)
{
    (void)state;
    const sv_codec *codec = sv_codec_find("constrained.lion");
    json_t *prob = sv_test_json("{\"variables\": {\"x\": {}, \"y\": {\"start\": 0.5}, "
                                "\"v\": {\"size\": 2, \"start\": [0.3, -0.2]}}, "
                                "\"objective\": \"(x - 2)^2 + (y + 3)^2 + dot(v, v)\"}");
    json_t *params = sv_test_json("{\"weight_decay\": 1, \"lr\": 0.02, \"max_iter\": 4000, "
                                  "\"tol\": 1e-12}");
    sv_err e;
    assert_int_equal(codec->validate(prob, params, NULL, &e), SV_OK);
    json_t *result = NULL;
    assert_int_equal(codec->run(prob, params, NULL, NULL, &result, &e), SV_OK);
    json_t *values = json_object_get(result, "values");
    assert_non_null(values);
    assert_true(fabs(json_real_value(json_object_get(values, "x")) - 1.0) < 1e-6);
    assert_true(fabs(json_real_value(json_object_get(values, "y")) + 1.0) < 1e-6);
    json_t *v = json_object_get(values, "v");
    printf("  expr: %s after %lld iterations, v = (%g, %g), gap %g\n",
           json_string_value(json_object_get(result, "status")),
           (long long)json_integer_value(json_object_get(result, "iterations")),
           json_real_value(json_array_get(v, 0)), json_real_value(json_array_get(v, 1)),
           json_real_value(json_object_get(result, "gap")));
    assert_true(fabs(json_real_value(json_array_get(v, 0))) < 1e-5);
    assert_true(fabs(json_real_value(json_array_get(v, 1))) < 1e-5);
    json_decref(result);

    /* the l2 ball instead: the projection of (2, -3, 0, 0) onto the unit l2 ball */
    json_object_set_new(params, "k", json_string("l2"));
    assert_int_equal(codec->run(prob, params, NULL, NULL, &result, &e), SV_OK);
    values = json_object_get(result, "values");
    double n13 = sqrt(13.0);
    assert_true(fabs(json_real_value(json_object_get(values, "x")) - 2.0 / n13) < 1e-6);
    assert_true(fabs(json_real_value(json_object_get(values, "y")) + 3.0 / n13) < 1e-6);
    json_decref(result);
    json_decref(prob);
    json_decref(params);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_k_values),
        cmocka_unit_test(test_box_least_squares),
        cmocka_unit_test(test_box_entry_and_invariance),
        cmocka_unit_test(test_each_k_converges),
        cmocka_unit_test(test_minibatch),
        cmocka_unit_test(test_logistic_box_schedules),
        cmocka_unit_test(test_objective_fn_and_no_decay),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_poll_every_iteration),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_codec_example_and_schema),
        cmocka_unit_test(test_codec_data_and_errors),
        cmocka_unit_test(test_codec_expr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
