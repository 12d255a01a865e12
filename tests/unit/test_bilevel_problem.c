/* test_bilevel_problem.c - the bilevel problem classes (core/models/bilevel.h and bl_*.c) and the
 * shared JSON decoder (api/codecs/bilevel/bilevel_problem.c). Every oracle of every class is checked
 * against central finite differences of the class's own values, full and on a mini-batch; the
 * quadratic class against its closed form; the constrained class against the LV-HBA toy problem
 * worked by hand; the loaders against the real data sets. */
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

#include "api/codecs/bilevel/bilevel_problem.h"
#include "core/dataset.h"
#include "core/models/bilevel.h"
#include "support/codec.h"
#include "support/json.h"

/* ============================================================================================
 * Finite-difference machinery
 * ========================================================================================== */

#define FD_H 1e-6

static double *vec(int n)
{
    double *v = calloc((size_t)(n > 0 ? n : 1), sizeof *v);
    assert_non_null(v);
    return v;
}

static void randn(sv_rng *r, int n, double s, double *v)
{
    for (int i = 0; i < n; i++)
        v[i] = s * sv_rng_normal(r);
}

/* |a - b| <= tol (1 + |a|_inf), entry by entry, with a message naming what failed. */
static void assert_close(const char *what, int n, const double *a, const double *b, double tol)
{
    double scale = 1.0;
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs(a[i]));
    for (int i = 0; i < n; i++) {
        if (!(fabs(a[i] - b[i]) <= tol * scale)) {
            fprintf(stderr, "%s: entry %d analytic %.12g finite-difference %.12g\n", what, i, a[i],
                    b[i]);
            fail();
        }
    }
}

typedef double (*level_fn)(const sv_bl_problem *, const double *, const double *,
                           const sv_bl_batch *, double *, double *, double *);

/* Gradients of one level (upper or lower) in x and y against central differences. */
static void check_level_grads(const char *name, const sv_bl_problem *p, level_fn fn,
                              const double *x, const double *y, const sv_bl_batch *b,
                              double *work)
{
    const int dx = p->dx, dy = p->dy;
    double *gx = vec(dx), *gy = vec(dy), *fx = vec(dx), *fy = vec(dy);
    double *xp = vec(dx), *yp = vec(dy);
    fn(p, x, y, b, gx, gy, work);
    for (int j = 0; j < dx; j++) {
        memcpy(xp, x, (size_t)dx * sizeof *xp);
        xp[j] = x[j] + FD_H;
        double fp = fn(p, xp, y, b, NULL, NULL, work);
        xp[j] = x[j] - FD_H;
        double fm = fn(p, xp, y, b, NULL, NULL, work);
        fx[j] = (fp - fm) / (2 * FD_H);
    }
    for (int i = 0; i < dy; i++) {
        memcpy(yp, y, (size_t)dy * sizeof *yp);
        yp[i] = y[i] + FD_H;
        double fp = fn(p, x, yp, b, NULL, NULL, work);
        yp[i] = y[i] - FD_H;
        double fm = fn(p, x, yp, b, NULL, NULL, work);
        fy[i] = (fp - fm) / (2 * FD_H);
    }
    char what[96];
    snprintf(what, sizeof what, "%s grad_x", name);
    assert_close(what, dx, gx, fx, 1e-6);
    snprintf(what, sizeof what, "%s grad_y", name);
    assert_close(what, dy, gy, fy, 1e-6);
    free(gx), free(gy), free(fx), free(fy), free(xp), free(yp);
}

/* hvp_yy against differences of grad_y g along v, hvp_xy against differences of grad_y g . v in
 * each x_j. */
static void check_hvps(const char *name, const sv_bl_problem *p, const double *x,
                       const double *y, const double *v, const sv_bl_batch *b, double *work)
{
    const int dx = p->dx, dy = p->dy;
    double *Hv = vec(dy), *Xv = vec(dx), *g1 = vec(dy), *g2 = vec(dy), *fd = vec(dy > dx ? dy : dx);
    double *yp = vec(dy), *xp = vec(dx);
    sv_bl_hvp_yy(p, x, y, v, b, Hv, work);
    for (int i = 0; i < dy; i++)
        yp[i] = y[i] + FD_H * v[i];
    sv_bl_lower(p, x, yp, b, NULL, g1, work);
    for (int i = 0; i < dy; i++)
        yp[i] = y[i] - FD_H * v[i];
    sv_bl_lower(p, x, yp, b, NULL, g2, work);
    for (int i = 0; i < dy; i++)
        fd[i] = (g1[i] - g2[i]) / (2 * FD_H);
    char what[96];
    snprintf(what, sizeof what, "%s hvp_yy", name);
    assert_close(what, dy, Hv, fd, 1e-6);

    sv_bl_hvp_xy(p, x, y, v, b, Xv, work);
    for (int j = 0; j < dx; j++) {
        memcpy(xp, x, (size_t)dx * sizeof *xp);
        xp[j] = x[j] + FD_H;
        sv_bl_lower(p, xp, y, b, NULL, g1, work);
        xp[j] = x[j] - FD_H;
        sv_bl_lower(p, xp, y, b, NULL, g2, work);
        fd[j] = (sv_dot(dy, g1, v) - sv_dot(dy, g2, v)) / (2 * FD_H);
    }
    snprintf(what, sizeof what, "%s hvp_xy", name);
    assert_close(what, dx, Xv, fd, 1e-6);
    free(Hv), free(Xv), free(g1), free(g2), free(fd), free(yp), free(xp);
}

/* F(x) = f(x, y*(x)) with y* solved tightly. */
static double hyper_objective(const sv_bl_problem *p, const double *x, double *y, double *work)
{
    double r = sv_bl_solve_lower(p, x, y, 1e-12, 200, work, NULL);
    if (!(r <= 1e-9)) fprintf(stderr, "lower residual %g at x[0] %g\n", r, x[0]);
    assert_true(r <= 1e-9);
    return sv_bl_upper(p, x, y, NULL, NULL, NULL, work + sv_bl_work_size(p) - p->work);
}

/* The hypergradient against central differences of F. */
static void check_hypergrad(const char *name, const sv_bl_problem *p, const double *x0,
                            double tol)
{
    const int dx = p->dx, dy = p->dy;
    double *work = vec((int)sv_bl_work_size(p));
    double *y = vec(dy), *g = vec(dx), *fd = vec(dx), *xp = vec(dx), *yp = vec(dy);
    hyper_objective(p, x0, y, work);
    assert_int_equal(sv_bl_hypergrad(p, x0, y, g, work, NULL), SV_OK);
    double h = 1e-5;
    for (int j = 0; j < dx; j++) {
        memcpy(xp, x0, (size_t)dx * sizeof *xp);
        memcpy(yp, y, (size_t)dy * sizeof *yp);
        xp[j] = x0[j] + h;
        double fp = hyper_objective(p, xp, yp, work);
        xp[j] = x0[j] - h;
        double fm = hyper_objective(p, xp, yp, work);
        fd[j] = (fp - fm) / (2 * h);
    }
    char what[96];
    snprintf(what, sizeof what, "%s hypergradient", name);
    assert_close(what, dx, g, fd, tol);
    free(work), free(y), free(g), free(fd), free(xp), free(yp);
}

/* Every oracle of p at a random point, full and on a batch of each level. */
static void check_all_oracles(const char *name, const sv_bl_problem *p, uint64_t seed,
                              double xs, double ys)
{
    sv_rng r;
    sv_rng_seed(&r, seed);
    const int dx = p->dx, dy = p->dy;
    double *x = vec(dx), *y = vec(dy), *v = vec(dy);
    double *work = vec((int)sv_bl_work_size(p));
    randn(&r, dx, xs, x);
    randn(&r, dy, ys, y);
    randn(&r, dy, 1.0, v);
    char nm[96];
    snprintf(nm, sizeof nm, "%s full upper", name);
    check_level_grads(nm, p, p->ops->upper, x, y, NULL, work);
    snprintf(nm, sizeof nm, "%s full lower", name);
    check_level_grads(nm, p, p->ops->lower, x, y, NULL, work);
    snprintf(nm, sizeof nm, "%s full", name);
    check_hvps(nm, p, x, y, v, NULL, work);
    if (p->n_lower > 0) {
        int kl = p->n_lower > 3 ? 3 : p->n_lower, ku = p->n_upper > 2 ? 2 : p->n_upper;
        int il[3], iu[2];
        assert_int_equal(sv_bl_draw_batch(p, SV_BL_LOWER, kl, &r, il), kl);
        assert_int_equal(sv_bl_draw_batch(p, SV_BL_UPPER, ku, &r, iu), ku);
        sv_bl_batch bl = {il, kl, NULL}, bu = {iu, ku, NULL};
        snprintf(nm, sizeof nm, "%s batch upper", name);
        check_level_grads(nm, p, p->ops->upper, x, y, &bu, work);
        snprintf(nm, sizeof nm, "%s batch lower", name);
        check_level_grads(nm, p, p->ops->lower, x, y, &bl, work);
        snprintf(nm, sizeof nm, "%s batch", name);
        check_hvps(nm, p, x, y, v, &bl, work);

        /* the batch of all rows is the full oracle */
        int n = p->n_lower;
        int *all = malloc((size_t)n * sizeof *all);
        for (int i = 0; i < n; i++)
            all[i] = i;
        sv_bl_batch ball = {all, n, NULL};
        double *g1 = vec(dy), *g2 = vec(dy), *h1 = vec(dx), *h2 = vec(dx);
        double f1 = sv_bl_lower(p, x, y, NULL, h1, g1, work);
        double f2 = sv_bl_lower(p, x, y, &ball, h2, g2, work);
        assert_true(fabs(f1 - f2) <= 1e-12 * (1 + fabs(f1)));
        assert_close("all-rows batch grad_y", dy, g1, g2, 1e-12);
        assert_close("all-rows batch grad_x", dx, h1, h2, 1e-12);
        free(all), free(g1), free(g2), free(h1), free(h2);
    }
    free(x), free(y), free(v), free(work);
}

/* ============================================================================================
 * Quadratic
 * ========================================================================================== */

static void gen_quadratic(sv_bl_quadratic *q, int dx, int dy, double cond, double lambda,
                          double box, uint64_t seed)
{
    sv_bl_quadratic_spec s = {dx, dy, cond, lambda, box, 0.0, seed};
    sv_err e;
    assert_int_equal(sv_bl_quadratic_generate(&s, q, &e), SV_OK);
    assert_int_equal(sv_bl_quadratic_check(q, &e), SV_OK);
}

static void test_quadratic_oracles(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    gen_quadratic(&q, 4, 6, 30.0, 0.1, 0.0, 3);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    assert_int_equal(p.dx, 4);
    assert_int_equal(p.dy, 6);
    check_all_oracles("quadratic", &p, 11, 1.0, 1.0);
    double x0[4] = {0.3, -0.2, 0.5, 1.0};
    check_hypergrad("quadratic", &p, x0, 1e-6);
    /* H's spectrum is [1, cond] by construction */
    assert_true(fabs(sv_bl_lower_mu(&p, x0) - 1.0) < 1e-9);
    assert_true(fabs(sv_bl_lower_L(&p, x0) - 30.0) < 1e-8);
    assert_true(isnan(sv_bl_accuracy(&p, x0, SV_BL_SET_VAL)));
    sv_bl_quadratic_free(&q);
}

/* The closed form: the hypergradient vanishes at x*, y* = y*(x*), and F is larger nearby. */
static void test_quadratic_closed_form(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    gen_quadratic(&q, 5, 8, 10.0, 0.05, 0.0, 5);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    double xs[5], ys[8], g[5], y[8] = {0};
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, ys), SV_OK);
    double *work = vec((int)sv_bl_work_size(&p));
    double F;
    assert_int_equal(sv_bl_evaluate(&p, xs, y, 1e-13, &F, g, work, NULL), SV_OK);
    assert_true(sv_nrm2(5, g) < 1e-10);
    assert_close("y*(x*)", 8, ys, y, 1e-11);
    sv_rng r;
    sv_rng_seed(&r, 9);
    for (int t = 0; t < 10; t++) {
        double xp[5], yp[8] = {0}, Fp;
        for (int j = 0; j < 5; j++)
            xp[j] = xs[j] + 1e-3 * sv_rng_normal(&r);
        assert_int_equal(sv_bl_evaluate(&p, xp, yp, 1e-13, &Fp, NULL, work, NULL), SV_OK);
        assert_true(Fp > F);
    }
    /* the independent formula: y*(x) = H^{-1}(Bx + h) solved by Cholesky */
    double Hc[64], rhs[8];
    memcpy(Hc, q.H, sizeof Hc);
    for (int i = 0; i < 8; i++) {
        rhs[i] = q.h[i];
        for (int j = 0; j < 5; j++)
            rhs[i] += q.B[i * 5 + j] * xs[j];
    }
    assert_int_equal(sv_solve_spd(8, Hc, rhs, 1), SV_OK);
    assert_close("y* by Cholesky", 8, rhs, ys, 1e-12);
    free(work);
    sv_bl_quadratic_free(&q);
}

/* The shared helpers poll an optional loop: a poll that says stop makes sv_bl_evaluate return
 * SV_BL_STOPPED with the loop cancelled and no objective written, and the same call without a
 * loop still reaches the answer (the poll changes nothing but the stopping). */
static int stop_after(void *data)
{
    int *left = data;
    return --*left < 0;
}

static void test_helpers_poll_the_loop(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    gen_quadratic(&q, 5, 40, 10.0, 0.05, 0.0, 5);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    double xs[5], g[5], y[40] = {0}, F = -7.0;
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, NULL), SV_OK);
    double *work = vec((int)sv_bl_work_size(&p));
    sv_control ctl = {.tol = 1e-6, .max_iter = 10, .time_limit_s = 0, .report_every = 1};
    int left = 0;
    sv_monitor mon = {.fn = NULL, .data = &left, .poll = stop_after};
    sv_loop L;
    sv_loop_begin(&L, &ctl, &mon, NULL, NULL);
    assert_int_equal(sv_bl_evaluate(&p, xs, y, 1e-13, &F, g, work, &L), SV_BL_STOPPED);
    assert_int_equal(L.status, SV_CANCELLED);
    assert_true(F == -7.0);
    double Fe, He;
    sv_bl_exact_metrics(&p, xs, y, y, g, work, &Fe, &He, &L);
    assert_true(isnan(Fe) && isnan(He));
    memset(y, 0, sizeof y);
    assert_int_equal(sv_bl_evaluate(&p, xs, y, 1e-13, &F, g, work, NULL), SV_OK);
    assert_true(sv_nrm2(5, g) < 1e-9);
    free(work);
    sv_bl_quadratic_free(&q);
}

/* With a box the solution is a fixed point of the projected hypergradient step, and some bound
 * is active on this instance. */
static void test_quadratic_box_solution(void **state)
{
    (void)state;
    sv_bl_quadratic q;
    gen_quadratic(&q, 4, 5, 5.0, 0.01, 0.05, 21);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    double xs[4], g[4], y[5] = {0}, F, xt[4];
    assert_int_equal(sv_bl_quadratic_solution(&q, xs, NULL), SV_OK);
    double *work = vec((int)sv_bl_work_size(&p));
    assert_int_equal(sv_bl_evaluate(&p, xs, y, 1e-13, &F, g, work, NULL), SV_OK);
    int active = 0;
    for (int j = 0; j < 4; j++) {
        assert_true(xs[j] >= -0.05 && xs[j] <= 0.05);
        active += fabs(fabs(xs[j]) - 0.05) < 1e-14;
        xt[j] = xs[j] - 0.1 * g[j];
    }
    assert_true(active >= 1);
    sv_bl_project_x(&p, xt);
    assert_close("projected step", 4, xs, xt, 1e-10);
    free(work);
    sv_bl_quadratic_free(&q);
}

/* Noise: none without an rng; with one, zero-mean with variance noise^2 / k per entry. */
static void test_quadratic_noise(void **state)
{
    (void)state;
    sv_bl_quadratic_spec s = {2, 3, 2.0, 0.1, 0.0, 0.5, 4};
    sv_bl_quadratic q;
    assert_int_equal(sv_bl_quadratic_generate(&s, &q, NULL), SV_OK);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    double x[2] = {0.1, 0.2}, y[3] = {1, 2, 3}, g0[3], g1[3], work[64];
    sv_bl_lower(&p, x, y, NULL, NULL, g0, work);
    sv_bl_batch b = {NULL, 4, NULL};
    sv_bl_lower(&p, x, y, &b, NULL, g1, work);
    assert_memory_equal(g0, g1, sizeof g0);
    sv_rng r;
    sv_rng_seed(&r, 1);
    b.rng = &r;
    double mean = 0, var = 0;
    const int N = 20000;
    for (int t = 0; t < N; t++) {
        sv_bl_lower(&p, x, y, &b, NULL, g1, work);
        double d = g1[0] - g0[0];
        mean += d / N;
        var += d * d / N;
    }
    assert_true(fabs(mean) < 4 * 0.25 / sqrt(N));
    assert_true(fabs(var - 0.0625) < 0.005);  /* (0.5)^2 / 4 */
    sv_bl_quadratic_free(&q);
}

static void test_quadratic_check_errors(void **state)
{
    (void)state;
    double H[4] = {2, 1, 0.5, 2}, B[2] = {1, 1}, c[2] = {0, 0};
    sv_bl_quadratic q = {1, 2, H, B, NULL, c, 0.0, NULL, NULL, 0.0};
    sv_err e;
    assert_int_equal(sv_bl_quadratic_check(&q, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/H/1/0");
    H[2] = 1;
    assert_int_equal(sv_bl_quadratic_check(&q, &e), SV_OK);
    H[0] = -2;
    assert_int_equal(sv_bl_quadratic_check(&q, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/H");
    H[0] = 2;
    q.lambda = -1;
    assert_int_equal(sv_bl_quadratic_check(&q, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/lambda");
    q.lambda = 0;
    double lo[1] = {1}, hi[1] = {0};
    q.x_lo = lo;
    q.x_hi = hi;
    assert_int_equal(sv_bl_quadratic_check(&q, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x_box/0");
}

/* ============================================================================================
 * Hyperclean
 * ========================================================================================== */

static void gen_hyperclean(sv_bl_hyperclean *h, int n, int nv, int d, int K, double flip,
                           uint64_t seed)
{
    sv_bl_hyperclean_spec s = {n, nv, 5, d, K, flip, 0.1, 0.0, 1, seed};
    sv_err e;
    assert_int_equal(sv_bl_hyperclean_generate(&s, h, &e), SV_OK);
    assert_int_equal(sv_bl_hyperclean_check(h, &e), SV_OK);
}

static void test_hyperclean_binary_oracles(void **state)
{
    (void)state;
    sv_bl_hyperclean h;
    gen_hyperclean(&h, 12, 7, 3, 2, 0.25, 2);
    h.upper_reg = 0.3;
    sv_bl_problem p;
    sv_bl_hyperclean_bind(&h, &p);
    assert_int_equal(p.dx, 12);
    assert_int_equal(p.dy, 4);  /* 3 features + intercept */
    assert_int_equal(p.n_lower, 12);
    assert_int_equal(p.n_upper, 7);
    check_all_oracles("hyperclean binary", &p, 5, 1.0, 1.0);
    double x0[12];
    sv_rng r;
    sv_rng_seed(&r, 2);
    randn(&r, 12, 1.0, x0);
    check_hypergrad("hyperclean binary", &p, x0, 1e-5);
    /* exactly round(0.25 * 12) = 3 flipped rows */
    int nf = 0;
    for (int i = 0; i < 12; i++)
        nf += h.flipped[i];
    assert_int_equal(nf, 3);
    sv_bl_hyperclean_free(&h);
}

static void test_hyperclean_multinomial_oracles(void **state)
{
    (void)state;
    sv_bl_hyperclean h;
    gen_hyperclean(&h, 10, 6, 3, 4, 0.3, 8);
    sv_bl_problem p;
    sv_bl_hyperclean_bind(&h, &p);
    assert_int_equal(p.dy, 16);
    assert_int_equal(h.loss, SV_BL_LOSS_MULTINOMIAL);
    check_all_oracles("hyperclean multinomial", &p, 6, 1.0, 1.0);
    double x0[10];
    sv_rng r;
    sv_rng_seed(&r, 3);
    randn(&r, 10, 0.5, x0);
    check_hypergrad("hyperclean multinomial", &p, x0, 1e-5);
    /* every flipped label differs from the clean planted one: re-generate without flips */
    sv_bl_hyperclean clean;
    gen_hyperclean(&clean, 10, 6, 3, 4, 0.0, 8);
    int nf = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(h.flipped[i], h.train.cls[i] != clean.train.cls[i]);
        nf += h.flipped[i];
    }
    assert_int_equal(nf, 3);
    sv_bl_hyperclean_free(&clean);
    sv_bl_hyperclean_free(&h);
}

/* Huge scores: the multinomial value and gradients stay finite. */
static void test_hyperclean_huge_scores(void **state)
{
    (void)state;
    sv_bl_hyperclean h;
    gen_hyperclean(&h, 6, 4, 2, 3, 0.0, 1);
    sv_bl_problem p;
    sv_bl_hyperclean_bind(&h, &p);
    double x[6] = {0}, y[9], gx[6], gy[9];
    double *work = vec((int)sv_bl_work_size(&p));
    for (int i = 0; i < 9; i++)
        y[i] = (i % 2 ? 1e6 : -1e6);
    double g = sv_bl_lower(&p, x, y, NULL, gx, gy, work);
    double f = sv_bl_upper(&p, x, y, NULL, NULL, gy, work);
    assert_true(isfinite(g) && isfinite(f));
    assert_true(sv_all_finite(9, gy) && sv_all_finite(6, gx));
    free(work);
    sv_bl_hyperclean_free(&h);
}

static void test_hyperclean_detection(void **state)
{
    (void)state;
    sv_bl_hyperclean h;
    gen_hyperclean(&h, 10, 4, 2, 2, 0.3, 4);
    double x[10];
    for (int i = 0; i < 10; i++)
        x[i] = h.flipped[i] ? -3.0 : 3.0;
    x[0] = h.flipped[0] ? 3.0 : -3.0;  /* one mistake */
    double pr, rc;
    sv_bl_hyperclean_detection(&h, x, 0.5, &pr, &rc);
    if (h.flipped[0]) {
        assert_true(fabs(pr - 1.0) < 1e-15);
        assert_true(fabs(rc - 2.0 / 3.0) < 1e-15);
    } else {
        assert_true(fabs(pr - 3.0 / 4.0) < 1e-15);
        assert_true(fabs(rc - 1.0) < 1e-15);
    }
    sv_bl_hyperclean_free(&h);
}

/* ============================================================================================
 * Hyperparam
 * ========================================================================================== */

static void gen_hyperparam(sv_bl_hyperparam *h, sv_bl_loss loss, int K, int per_feature,
                           uint64_t seed)
{
    sv_bl_hyperparam_spec s = {15, 8, 4, 5, loss, K, per_feature, 0.3, 0.0, 1, seed};
    sv_err e;
    assert_int_equal(sv_bl_hyperparam_generate(&s, h, &e), SV_OK);
    assert_int_equal(sv_bl_hyperparam_check(h, &e), SV_OK);
}

static void test_hyperparam_oracles(void **state)
{
    (void)state;
    const sv_bl_loss losses[3] = {SV_BL_LOSS_SQUARED, SV_BL_LOSS_LOGISTIC, SV_BL_LOSS_MULTINOMIAL};
    const char *names[3] = {"squared", "logistic", "multinomial"};
    for (int l = 0; l < 3; l++) {
        for (int pf = 0; pf <= 1; pf++) {
            sv_bl_hyperparam h;
            gen_hyperparam(&h, losses[l], 3, pf, 10 + l);
            sv_bl_problem p;
            sv_bl_hyperparam_bind(&h, &p);
            assert_int_equal(p.dx, pf ? 6 : 1);
            assert_int_equal(p.dy, l == 2 ? 18 : 6);
            char nm[64];
            snprintf(nm, sizeof nm, "hyperparam %s %s", names[l], pf ? "per-feature" : "global");
            check_all_oracles(nm, &p, 20 + l, 0.7, 1.0);
            double x0[6] = {-0.5, 0.2, -1.0, 0.3, 0.0, -0.2};
            check_hypergrad(nm, &p, x0, 1e-5);
            /* lower_mu = exp(min x) is the ridge part of the strong convexity */
            assert_true(fabs(sv_bl_lower_mu(&p, x0) - exp(pf ? -1.0 : -0.5)) < 1e-15);
            sv_bl_hyperparam_free(&h);
        }
    }
}

/* ============================================================================================
 * Constrained
 * ========================================================================================== */

/* The LV-HBA toy: y*(x) = min(x, 2), F(x) = x^2/2 + (min(x,2) - 1)^2/2, so x* = y* = 1/2 and
 * F'(x) = 2x - 1 below 2. */
static void test_constrained_toy(void **state)
{
    (void)state;
    sv_bl_constrained c;
    assert_int_equal(sv_bl_constrained_toy(&c), SV_OK);
    sv_err e;
    assert_int_equal(sv_bl_constrained_check(&c, &e), SV_OK);
    sv_bl_problem p;
    sv_bl_constrained_bind(&c, &p);
    assert_int_equal(p.n_con, 1);
    double *work = vec((int)sv_bl_work_size(&p));
    const double xs[4] = {0.5, 0.3, -1.0, 1.5};
    for (int t = 0; t < 4; t++) {
        double x = xs[t], y = 0.0, g, F;
        assert_int_equal(sv_bl_evaluate(&p, &x, &y, 1e-12, &F, &g, work, NULL), SV_OK);
        assert_true(fabs(y - x) < 1e-9);
        assert_true(fabs(g - (2 * x - 1)) < 1e-8);
        assert_true(fabs(F - (0.5 * x * x + 0.5 * (x - 1) * (x - 1))) < 1e-9);
    }
    /* above 2 the constraint is inactive: y* = 2, F'(x) = x */
    double x = 3.0, y = 0.0, g, F;
    assert_int_equal(sv_bl_evaluate(&p, &x, &y, 1e-12, &F, &g, work, NULL), SV_OK);
    assert_true(fabs(y - 2.0) < 1e-9);
    assert_true(fabs(g - 3.0) < 1e-8);
    double cv, Jx, Jy;
    sv_bl_constraints(&p, &x, &y, &cv, &Jx, &Jy);
    assert_true(fabs(cv - (-1.0)) < 1e-9 && Jx == -1.0 && Jy == 1.0);
    free(work);
    sv_bl_constrained_free(&c);
}

static void test_constrained_generated(void **state)
{
    (void)state;
    sv_bl_constrained_spec s = {{3, 5, 4.0, 0.1, 0.0, 0.0, 7}, 3, 8};
    sv_bl_constrained c;
    sv_err e;
    assert_int_equal(sv_bl_constrained_generate(&s, &c, &e), SV_OK);
    assert_int_equal(sv_bl_constrained_check(&c, &e), SV_OK);
    sv_bl_problem p;
    sv_bl_constrained_bind(&c, &p);
    check_all_oracles("constrained", &p, 3, 0.2, 1.0);
    /* at x = 0 some constraint is active by construction; the KKT hypergradient matches
     * differences of F */
    double x0[3] = {0.0, 0.0, 0.0}, y[5] = {0}, cv[3];
    double *work = vec((int)sv_bl_work_size(&p));
    assert_true(sv_bl_solve_lower(&p, x0, y, 1e-12, 100, work, NULL) <= 1e-12);
    sv_bl_constraints(&p, x0, y, cv, NULL, NULL);
    int active = 0;
    for (int k = 0; k < 3; k++) {
        assert_true(cv[k] <= 1e-9);
        active += cv[k] > -1e-8;
    }
    assert_true(active >= 1);
    check_hypergrad("constrained", &p, x0, 1e-5);
    free(work);
    sv_bl_constrained_free(&c);
}

/* ============================================================================================
 * Real data
 * ========================================================================================== */

static void test_dataset_loaders(void **state)
{
    (void)state;
    sv_dataset ds;
    sv_err e;
    assert_int_equal(sv_dataset_load(SOLVD_REPO_DATA "/breast_cancer.csv", &ds, &e), SV_OK);
    sv_bl_hyperclean_spec s = {300, 150, 100, 0, 0, 0.3, 1e-2, 0.0, 1, 4};
    sv_bl_hyperclean h;
    assert_int_equal(sv_bl_hyperclean_from_dataset(&ds, &s, &h, &e), SV_OK);
    assert_int_equal(sv_bl_hyperclean_check(&h, &e), SV_OK);
    assert_int_equal(h.loss, SV_BL_LOSS_LOGISTIC);
    assert_int_equal(h.d, 31);
    assert_int_equal(h.train.rows, 300);
    assert_int_equal(h.test.rows, 100);
    int nf = 0;
    for (int i = 0; i < 300; i++)
        nf += h.flipped[i];
    assert_int_equal(nf, 90);
    /* training columns standardised: mean 0, variance 1 (the intercept column is 1) */
    for (int j = 0; j < 30; j++) {
        double m = 0, v = 0;
        for (int i = 0; i < 300; i++)
            m += h.train.A.dense.data[i * 31 + j] / 300;
        for (int i = 0; i < 300; i++) {
            double t = h.train.A.dense.data[i * 31 + j] - m;
            v += t * t / 300;
        }
        assert_true(fabs(m) < 1e-12 && fabs(v - 1) < 1e-12);
    }
    sv_bl_problem p;
    sv_bl_hyperclean_bind(&h, &p);
    check_all_oracles("hyperclean breast_cancer", &p, 1, 0.5, 0.1);
    sv_bl_hyperclean_free(&h);
    /* too many rows asked */
    s.n_train = 500;
    assert_int_equal(sv_bl_hyperclean_from_dataset(&ds, &s, &h, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/dataset/n_train");
    sv_dataset_free(&ds);

    assert_int_equal(sv_dataset_load(SOLVD_REPO_DATA "/digits.csv.gz", &ds, &e), SV_OK);
    sv_bl_hyperparam_spec hs = {200, 100, 0, 0, SV_BL_LOSS_MULTINOMIAL, 0, 0, 0.0, 3.0, 1, 2};
    sv_bl_hyperparam hp;
    assert_int_equal(sv_bl_hyperparam_from_dataset(&ds, &hs, &hp, &e), SV_OK);
    assert_int_equal(sv_bl_hyperparam_check(&hp, &e), SV_OK);
    assert_int_equal(hp.K, 10);
    assert_int_equal(hp.d, 65);
    sv_bl_hyperparam_bind(&hp, &p);
    assert_int_equal(p.dy, 650);
    assert_int_equal(p.dx, 1);
    assert_true(hp.x_lo[0] == -3.0 && hp.x_hi[0] == 3.0);
    double x0 = -2.0;
    check_hypergrad("hyperparam digits", &p, &x0, 1e-5);
    sv_bl_hyperparam_free(&hp);
    /* logistic on 10 classes is refused */
    hs.loss = SV_BL_LOSS_LOGISTIC;
    assert_int_equal(sv_bl_hyperparam_from_dataset(&ds, &hs, &hp, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/dataset/loss");
    sv_dataset_free(&ds);
}

/* ============================================================================================
 * The JSON decoder
 * ========================================================================================== */

static const sv_codec_env *const env = &sv_test_codec_env;

static int decode_text(const char *text, sv_blp *d, sv_err *e)
{
    json_t *j = sv_test_json(text);
    int rc = sv_blp_read(j, env, d, e);
    if (rc == SV_OK) {
        int rc2 = sv_blp_build(d, env, e);
        if (rc2 != SV_OK) {
            sv_blp_free(d);
            json_decref(j);
            return rc2;
        }
    }
    json_decref(j);
    return rc;
}

static void expect_error(const char *text, const char *field)
{
    sv_blp d;
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = decode_text(text, &d, &e);
    if (rc != SV_EINVAL || strcmp(e.field, field) != 0) {
        fprintf(stderr, "input %s: rc %d field \"%s\" (%s), expected \"%s\"\n", text, rc, e.field,
                e.msg, field);
        fail();
    }
}

static void test_decoder_explicit(void **state)
{
    (void)state;
    sv_blp d;
    sv_err e;
    assert_int_equal(decode_text("{\"class\": \"quadratic\", \"H\": [[2, 0], [0, 1]], "
                                 "\"B\": [[1], [0]], \"c\": [1, 1], \"lambda\": 0.5, "
                                 "\"x_box\": {\"lo\": -1, \"hi\": [2]}}",
                                 &d, &e),
                     SV_OK);
    assert_int_equal(d.prob.cls, SV_BL_QUADRATIC);
    assert_int_equal(d.prob.dx, 1);
    assert_int_equal(d.prob.dy, 2);
    assert_true(d.prob.x_lo[0] == -1 && d.prob.x_hi[0] == 2);
    sv_blp_free(&d);

    assert_int_equal(decode_text("{\"class\": \"constrained\", \"H\": [[1]], \"B\": [[0]], "
                                 "\"h\": [2], \"c\": [1], \"lambda\": 1, \"constraints\": "
                                 "{\"A\": [[-1]], \"B\": [[1]], \"b\": [0]}}",
                                 &d, &e),
                     SV_OK);
    assert_int_equal(d.prob.n_con, 1);
    sv_blp_free(&d);

    assert_int_equal(decode_text("{\"class\": \"hyperclean\", \"loss\": \"multinomial\", "
                                 "\"classes\": 3, \"train\": {\"A\": [[1, 0], [0, 1], [1, 1]], "
                                 "\"labels\": [0, 1, 2]}, \"val\": {\"A\": [[1, 2]], "
                                 "\"labels\": [2]}, \"mu\": 0.1}",
                                 &d, &e),
                     SV_OK);
    assert_int_equal(d.prob.dx, 3);
    assert_int_equal(d.prob.dy, 6);
    sv_blp_free(&d);

    assert_int_equal(decode_text("{\"class\": \"hyperparam\", \"loss\": \"squared\", "
                                 "\"per_feature\": true, \"train\": {\"A\": [[1, 0], [0, 1]], "
                                 "\"labels\": [0.5, -1]}, \"val\": {\"A\": [[1, 2]], "
                                 "\"labels\": [3]}}",
                                 &d, &e),
                     SV_OK);
    assert_int_equal(d.prob.dx, 2);
    sv_blp_free(&d);
}

static void test_decoder_generate_and_dataset(void **state)
{
    (void)state;
    sv_blp d;
    sv_err e;
    assert_int_equal(decode_text("{\"generate\": {\"class\": \"hyperclean\", \"n_train\": 50, "
                                 "\"n_val\": 20, \"d\": 4, \"classes\": 3, \"flip\": 0.3, "
                                 "\"seed\": 5}}",
                                 &d, &e),
                     SV_OK);
    assert_int_equal(d.prob.dx, 50);
    assert_int_equal(d.prob.dy, 15);
    sv_blp_free(&d);
    assert_int_equal(decode_text("{\"generate\": {\"class\": \"quadratic\", \"dx\": 3, "
                                 "\"dy\": 4}}", &d, &e), SV_OK);
    double xs[3];
    assert_int_equal(sv_bl_quadratic_solution(&d.quad, xs, NULL), SV_OK);
    sv_blp_free(&d);
    assert_int_equal(decode_text("{\"dataset\": {\"name\": \"breast_cancer\", \"class\": "
                                 "\"hyperclean\", \"n_train\": 200, \"n_val\": 100, "
                                 "\"flip\": 0.2}}",
                                 &d, &e),
                     SV_OK);
    assert_int_equal(d.prob.dx, 200);
    assert_int_equal(d.prob.dy, 31);
    sv_blp_free(&d);
    assert_int_equal(decode_text("{\"dataset\": {\"name\": \"digits\", \"class\": "
                                 "\"hyperparam\", \"n_train\": 100, \"n_val\": 50, "
                                 "\"per_feature\": true}}",
                                 &d, &e),
                     SV_OK);
    assert_int_equal(d.prob.dx, 65);
    assert_int_equal(d.prob.dy, 650);
    sv_blp_free(&d);
}

static void test_decoder_errors(void **state)
{
    (void)state;
    expect_error("[]", "/problem");
    expect_error("{}", "/problem");
    expect_error("{\"class\": \"cubic\"}", "/problem/class");
    expect_error("{\"class\": \"quadratic\", \"H\": [[1]], \"B\": [[1]], \"c\": [1], "
                 "\"zzz\": 1}", "/problem/zzz");
    expect_error("{\"class\": \"quadratic\", \"H\": [[1, 2]], \"B\": [[1]], \"c\": [1]}",
                 "/problem/H");
    expect_error("{\"class\": \"quadratic\", \"H\": [[1]], \"B\": [[1]], \"c\": [1, 2]}",
                 "/problem/c");
    expect_error("{\"class\": \"quadratic\", \"H\": [[-1]], \"B\": [[1]], \"c\": [1]}",
                 "/problem/H");
    expect_error("{\"class\": \"quadratic\", \"H\": [[1]], \"B\": [[1]], \"c\": [1], "
                 "\"x_box\": {\"lo\": 2, \"hi\": 1}}", "/problem/x_box/0");
    expect_error("{\"class\": \"hyperclean\", \"train\": {\"A\": [[1]], \"labels\": [0]}, "
                 "\"val\": {\"A\": [[1]], \"labels\": [1]}}", "/problem/train/labels/0");
    expect_error("{\"class\": \"hyperclean\", \"train\": {\"A\": [[1]], \"labels\": [1]}, "
                 "\"val\": {\"A\": [[1, 2]], \"labels\": [1]}}", "/problem/val/A/0");
    expect_error("{\"class\": \"hyperclean\", \"loss\": \"multinomial\", \"classes\": 2, "
                 "\"train\": {\"A\": [[1]], \"labels\": [2]}, \"val\": {\"A\": [[1]], "
                 "\"labels\": [1]}}", "/problem/train/labels/0");
    expect_error("{\"class\": \"constrained\", \"H\": [[1]], \"B\": [[0]], \"c\": [1]}",
                 "/problem/constraints");
    expect_error("{\"generate\": {\"class\": \"quadratic\", \"dx\": 0, \"dy\": 2}}",
                 "/problem/generate/dx");
    expect_error("{\"generate\": {\"class\": \"hyperclean\", \"n_train\": 10, \"n_val\": 5, "
                 "\"d\": 2, \"flip\": 1.5}}", "/problem/generate/flip");
    expect_error("{\"dataset\": {\"name\": \"iris\", \"class\": \"hyperclean\"}}",
                 "/problem/dataset/name");
    expect_error("{\"dataset\": {\"name\": \"digits\", \"class\": \"hyperclean\", "
                 "\"n_train\": 2000, \"n_val\": 10}}", "/problem/dataset/n_train");
    expect_error("{\"generate\": {\"class\": \"quadratic\", \"dx\": 2, \"dy\": 2}, "
                 "\"class\": \"quadratic\"}", "/problem");
}

/* ---- the generate forms' tables (core/models/bl_<class>.c) and the oneOf schema ---- */

/* sv_blp_read alone, under the given dimension limit; the JSON is freed before returning (the
 * specs read here do not borrow from it). */
static int read_only(const char *text, long max_dim, sv_blp *d, sv_err *e)
{
    sv_codec_env lim = *env;
    lim.max_dim = max_dim;
    json_t *j = sv_test_json(text);
    memset(e, 0, sizeof *e);
    int rc = sv_blp_read(j, &lim, d, e);
    json_decref(j);
    return rc;
}

/* The defaults the tables give are the ones the hand-written reader gave (pinned before the
 * move), null keeps a default, m = 0 is the sentinel for dy / 2, and the paths of the errors
 * the move touched stayed. */
static void test_generate_tables(void **state)
{
    (void)state;
    sv_blp d;
    sv_err e;
    assert_int_equal(read_only("{\"generate\": {\"class\": \"quadratic\", \"dx\": 5, \"dy\": 8, "
                               "\"cond\": null}}", 100000, &d, &e),
                     SV_OK);
    assert_int_equal(d.form, SV_BLP_GENERATE);
    assert_int_equal(d.dx, 5);
    assert_int_equal(d.dy, 8);
    assert_true(d.gen_q.cond == 10 && d.gen_q.lambda == 0.1 && d.gen_q.box == 0 &&
                d.gen_q.noise == 0 && d.gen_q.seed == 0);
    assert_int_equal(read_only("{\"generate\": {\"class\": \"constrained\", \"dx\": 3, \"dy\": 5, "
                               "\"seed\": 4}}", 100000, &d, &e),
                     SV_OK);
    assert_int_equal(d.gen_c.m, 2);
    assert_true(d.gen_c.q.seed == 4 && d.gen_c.seed == 5);
    assert_int_equal(read_only("{\"generate\": {\"class\": \"constrained\", \"dx\": 3, \"dy\": 1, "
                               "\"m\": 0}}", 100000, &d, &e),
                     SV_OK);
    assert_int_equal(d.gen_c.m, 1);
    assert_int_equal(read_only("{\"generate\": {\"class\": \"constrained\", \"dx\": 3, \"dy\": 5, "
                               "\"m\": 6}}", 100000, &d, &e),
                     SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/m");
    assert_int_equal(read_only("{\"generate\": {\"class\": \"hyperclean\", \"n_train\": 20, "
                               "\"n_val\": 10, \"d\": 4}}", 100000, &d, &e),
                     SV_OK);
    const sv_bl_hyperclean_spec *h = &d.gen_hc;
    assert_true(h->n_train == 20 && h->n_val == 10 && h->n_test == 0 && h->d == 4 &&
                h->classes == 2 && h->flip == 0.3 && h->mu == 1e-2 && h->upper_reg == 0 &&
                h->intercept == 1 && h->seed == 0);
    assert_int_equal(d.dx, 20);
    assert_int_equal(d.dy, 5);
    assert_int_equal(read_only("{\"generate\": {\"class\": \"hyperparam\", \"n_train\": 20, "
                               "\"n_val\": 10, \"d\": 4}}", 100000, &d, &e),
                     SV_OK);
    const sv_bl_hyperparam_spec *q = &d.gen_hp;
    assert_true(q->loss == SV_BL_LOSS_SQUARED && q->classes == 3 && q->per_feature == 0 &&
                q->noise == 0.5 && q->box == 0 && q->intercept == 0 && q->n_test == 0);
    assert_int_equal(d.dx, 1);
    assert_int_equal(d.dy, 4);
    /* flip in [0, 1): just below 1 passes, 1 does not */
    assert_int_equal(read_only("{\"generate\": {\"class\": \"hyperclean\", \"n_train\": 20, "
                               "\"n_val\": 10, \"d\": 4, \"flip\": 0.9999999}}", 100000, &d, &e),
                     SV_OK);
    assert_int_equal(read_only("{\"generate\": {\"class\": \"hyperclean\", \"n_train\": 20, "
                               "\"n_val\": 10, \"d\": 4, \"flip\": 1}}", 100000, &d, &e),
                     SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/flip");
    /* the server's dimension limit, at the member that exceeds it */
    assert_int_equal(read_only("{\"generate\": {\"class\": \"quadratic\", \"dx\": 200, \"dy\": 8}}",
                               100, &d, &e),
                     SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/dx");
    assert_int_equal(read_only("{\"generate\": {\"class\": \"hyperclean\", \"n_train\": 20, "
                               "\"n_val\": 10, \"d\": 100}}", 100, &d, &e),
                     SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/d");
    /* unknown members: the class's own names, at every level */
    assert_int_equal(read_only("{\"generate\": {\"class\": \"quadratic\", \"dx\": 5, \"dy\": 8, "
                               "\"Cond\": 3}}", 100000, &d, &e),
                     SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/Cond");
    assert_non_null(strstr(e.msg, "class, dx, dy, cond, lambda, box, noise, seed"));
    assert_non_null(strstr(e.msg, "did you mean \"cond\""));
    assert_int_equal(read_only("{\"class\": \"hyperparam\", \"mu\": 1}", 100000, &d, &e),
                     SV_EINVAL);
    assert_string_equal(e.field, "/problem/mu");
    assert_int_equal(read_only("{\"generate\": {\"class\": \"quadratic\", \"dx\": 5, \"dy\": 8}, "
                               "\"zz\": 1}", 100000, &d, &e),
                     SV_EINVAL);
    assert_string_equal(e.field, "/problem/zz");
}

/* The schema is one alternative per (class, form), each told apart by its key and class, and
 * every codec example's problem fits its generate alternative. */
static void test_problem_schema(void **state)
{
    (void)state;
    json_t *schema = sv_blp_schema();
    assert_non_null(schema);
    json_t *alts = json_object_get(schema, "oneOf");
    assert_int_equal(json_array_size(alts), 10);
    int keys[3] = {0, 0, 0};
    static const char *const key_names[3] = {"class", "generate", "dataset"};
    size_t i;
    json_t *a;
    json_array_foreach(alts, i, a) {
        json_t *req = json_object_get(a, "required");
        assert_int_equal(json_array_size(req), 1);
        const char *key = json_string_value(json_array_get(req, 0));
        int k = 0;
        while (k < 3 && strcmp(key, key_names[k]) != 0)
            k++;
        assert_true(k < 3);
        keys[k]++;
        assert_true(json_is_false(json_object_get(a, "additionalProperties")));
        json_t *props = json_object_get(a, "properties");
        assert_non_null(json_object_get(props, "x0"));
        assert_non_null(json_object_get(props, "y0"));
        json_t *cls = k == 0 ? json_object_get(props, "class")
                             : json_object_get(json_object_get(json_object_get(props, key),
                                                               "properties"),
                                               "class");
        assert_int_equal(json_array_size(json_object_get(cls, "enum")), 1);
    }
    assert_int_equal(keys[0], 4);
    assert_int_equal(keys[1], 4);
    assert_int_equal(keys[2], 2);
    /* the examples: class named by exactly one generate alternative, members all described */
    for (int c = 0; c < 4; c++) {
        json_t *ex = sv_blp_example((sv_bl_class)c);
        json_t *gen = json_object_get(ex, "generate");
        const char *name = json_string_value(json_object_get(gen, "class"));
        int matches = 0;
        json_array_foreach(alts, i, a) {
            json_t *g = json_object_get(json_object_get(a, "properties"), "generate");
            json_t *gp = json_object_get(g, "properties");
            if (!g || strcmp(json_string_value(json_array_get(
                                 json_object_get(json_object_get(gp, "class"), "enum"), 0)),
                             name) != 0)
                continue;
            matches++;
            const char *m;
            json_t *v;
            json_object_foreach(gen, m, v) assert_non_null(json_object_get(gp, m));
            size_t r;
            json_t *rq;
            json_array_foreach(json_object_get(g, "required"), r, rq)
                assert_non_null(json_object_get(gen, json_string_value(rq)));
        }
        assert_int_equal(matches, 1);
        json_decref(ex);
    }
    /* defaults come from the tables */
    json_t *q = json_object_get(
        json_object_get(json_object_get(json_array_get(alts, 1), "properties"), "generate"),
        "properties");
    assert_true(json_number_value(json_object_get(json_object_get(q, "cond"), "default")) == 10);
    json_decref(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quadratic_oracles),
        cmocka_unit_test(test_quadratic_closed_form),
        cmocka_unit_test(test_helpers_poll_the_loop),
        cmocka_unit_test(test_quadratic_box_solution),
        cmocka_unit_test(test_quadratic_noise),
        cmocka_unit_test(test_quadratic_check_errors),
        cmocka_unit_test(test_hyperclean_binary_oracles),
        cmocka_unit_test(test_hyperclean_multinomial_oracles),
        cmocka_unit_test(test_hyperclean_huge_scores),
        cmocka_unit_test(test_hyperclean_detection),
        cmocka_unit_test(test_hyperparam_oracles),
        cmocka_unit_test(test_constrained_toy),
        cmocka_unit_test(test_constrained_generated),
        cmocka_unit_test(test_dataset_loaders),
        cmocka_unit_test(test_decoder_explicit),
        cmocka_unit_test(test_decoder_generate_and_dataset),
        cmocka_unit_test(test_decoder_errors),
        cmocka_unit_test(test_generate_tables),
        cmocka_unit_test(test_problem_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
