/* test_blockwise.c - BSVRB v1/v2 (core/solvers/bilevel/blockwise.c), the multi-block bilevel model
 * (core/models/bl_multiblock.c) and the bilevel.blockwise codec (api/codecs/bilevel/blockwise.c).
 * Reference answers: finite differences of the model's values, dense solves of the lower levels,
 * and the closed-form minimiser of the squared-loss instance (derived in closed_form below). */
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
#include "core/models/bl_multiblock.h"
#include "core/solvers/bilevel/blockwise.h"
#include "support/codec.h"
#include "support/json.h"
#include "support/numeric.h"

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

static void gen(sv_mb_data *D, int m, int rows, int val_rows, int d, sv_loss loss, double mu,
                double lambda, double ridge, uint64_t seed)
{
    sv_mb_gen_spec g = {m, rows, val_rows, d, loss, 0.5, 0.1, mu, lambda, ridge, seed};
    sv_err e;
    assert_int_equal(sv_mb_generate(&g, D, &e), SV_OK);
}

static double *work_for(const sv_mb_problem *p)
{
    double *w = calloc(sv_mb_work_size(p), sizeof *w);
    assert_non_null(w);
    return w;
}

/* Block j's training Gram H_j = A'A/n + (ridge + mu) I and c_j = A'b/n, assembled entry by
 * entry (squared loss). */
static void block_normal(const sv_mb_data *D, int j, double *H, double *c)
{
    const sv_mb_problem *p = &D->prob;
    const int d = p->dim, n = D->A[j].rows;
    const double *A = D->A[j].dense.data;
    memset(H, 0, sizeof(double) * d * d);
    memset(c, 0, sizeof(double) * d);
    for (int r = 0; r < n; r++)
        for (int a = 0; a < d; a++) {
            c[a] += A[r * d + a] * D->b[j][r] / n;
            for (int b = 0; b < d; b++)
                H[a * d + b] += A[r * d + a] * A[r * d + b] / n;
        }
    for (int a = 0; a < d; a++)
        H[a * d + a] += p->train[j].lambda + p->mu;
}

/* The minimiser of F for the squared loss. With H_j, c_j as above, y_j*(x) = H_j^{-1}(c_j +
 * mu x), so V_j(y_j*(x)) = |M_j x - r_j|^2 / (2 n_j') with M_j = mu A'_j H_j^{-1} and
 * r_j = b'_j - A'_j H_j^{-1} c_j (A'_j, b'_j the validation rows). F is then the quadratic
 * (1/m) sum_j |M_j x - r_j|^2 / (2 n_j') + (lambda/2)|x|^2, minimised where
 * [(1/m) sum_j M_j'M_j / n_j' + lambda I] x = (1/m) sum_j M_j' r_j / n_j'. */
static void closed_form(const sv_mb_data *D, double *xs)
{
    const sv_mb_problem *p = &D->prob;
    const int m = p->n_blocks, d = p->dim;
    double *K = calloc((size_t)d * d, sizeof *K), *rhs = calloc((size_t)d, sizeof *rhs);
    double *H = malloc(sizeof(double) * d * d), *c = malloc(sizeof(double) * d);
    double *X = malloc(sizeof(double) * d * (d + 1));
    assert_true(K && rhs && H && c && X);
    for (int j = 0; j < m; j++) {
        const int nv = D->A_val[j].rows;
        const double *Av = D->A_val[j].dense.data;
        block_normal(D, j, H, c);
        /* X = H^{-1} [I | c] */
        memset(X, 0, sizeof(double) * d * (d + 1));
        for (int a = 0; a < d; a++) {
            X[a * (d + 1) + a] = 1.0;
            X[a * (d + 1) + d] = c[a];
        }
        assert_int_equal(sv_solve_spd(d, H, X, d + 1), SV_OK);
        double *M = calloc((size_t)nv * d, sizeof *M), *r = calloc((size_t)nv, sizeof *r);
        assert_true(M && r);
        for (int s = 0; s < nv; s++) {
            r[s] = D->b_val[j][s];
            for (int a = 0; a < d; a++) {
                double av = Av[s * d + a];
                r[s] -= av * X[a * (d + 1) + d];
                for (int b = 0; b < d; b++)
                    M[s * d + b] += p->mu * av * X[a * (d + 1) + b];
            }
        }
        for (int s = 0; s < nv; s++)
            for (int a = 0; a < d; a++) {
                rhs[a] += M[s * d + a] * r[s] / ((double)nv * m);
                for (int b = 0; b < d; b++)
                    K[a * d + b] += M[s * d + a] * M[s * d + b] / ((double)nv * m);
            }
        free(M);
        free(r);
    }
    for (int a = 0; a < d; a++)
        K[a * d + a] += p->lambda;
    assert_int_equal(sv_solve_spd(d, K, rhs, 1), SV_OK);
    memcpy(xs, rhs, sizeof(double) * d);
    free(K);
    free(rhs);
    free(H);
    free(c);
    free(X);
}

/* F(x) with every lower level solved exactly (Y gets the solutions). */
static double F_exact(const sv_mb_problem *p, const double *x, double *Y, double *work)
{
    for (int j = 0; j < p->n_blocks; j++) {
        memset(Y + (size_t)j * p->dim, 0, sizeof(double) * p->dim);
        double gn = sv_mb_solve_lower(p, j, x, Y + (size_t)j * p->dim, 1e-12, 100, work);
        if (!(gn <= 1e-10))
            fprintf(stderr, "block %d: lower gradient norm %g\n", j, gn);
        assert_true(gn <= 1e-10);
    }
    return sv_mb_objective(p, x, Y, work);
}

/* ============================================================================================
 * The model
 * ========================================================================================== */

/* Batches over every row agree with the full oracles; the dense Hessian agrees with the HVP;
 * gradients agree with central differences of the values; the cross derivative is -mu I. */
static void test_oracles(void **state)
{
    (void)state;
    sv_mb_data D;
    gen(&D, 3, 12, 9, 5, SV_LOSS_LOGISTIC, 0.7, 0.2, 0.1, 5);
    const sv_mb_problem *p = &D.prob;
    const int d = 5;
    double *work = work_for(p);
    double x[5], y[5], v[5], g1[5], g2[5], H[25], hv[5], xp[5], yp[5];
    int all[12];
    for (int i = 0; i < 12; i++)
        all[i] = i;
    for (int i = 0; i < d; i++) {
        x[i] = 0.3 * i - 0.5;
        y[i] = 0.2 - 0.15 * i;
        v[i] = 1.0 + 0.5 * i;
    }
    for (int j = 0; j < 3; j++) {
        sv_mb_lower_grad(p, j, NULL, 0, x, y, g1, work);
        sv_mb_lower_grad(p, j, all, 12, x, y, g2, work);
        assert_true(sv_test_max_abs_diff(d, g1, g2) <= 1e-13);
        sv_mb_upper_grad_y(p, j, NULL, 0, y, g1, work);
        sv_mb_upper_grad_y(p, j, all, 9, y, g2, work);
        assert_true(sv_test_max_abs_diff(d, g1, g2) <= 1e-13);
        sv_mb_lower_hvp(p, j, NULL, 0, y, v, g1, work);
        sv_mb_lower_hvp(p, j, all, 12, y, v, g2, work);
        assert_true(sv_test_max_abs_diff(d, g1, g2) <= 1e-13);
        sv_mb_lower_hessian(p, j, NULL, 0, y, H, work);
        for (int a = 0; a < d; a++) {
            hv[a] = 0;
            for (int b = 0; b < d; b++)
                hv[a] += H[a * d + b] * v[b];
        }
        assert_true(sv_test_max_abs_diff(d, g1, hv) <= 1e-12);
        /* a batch Hessian over the rows {1, 4, 7} against its HVP */
        int some[3] = {1, 4, 7};
        sv_mb_lower_hessian(p, j, some, 3, y, H, work);
        sv_mb_lower_hvp(p, j, some, 3, y, v, g1, work);
        for (int a = 0; a < d; a++) {
            hv[a] = 0;
            for (int b = 0; b < d; b++)
                hv[a] += H[a * d + b] * v[b];
        }
        assert_true(sv_test_max_abs_diff(d, g1, hv) <= 1e-12);

        /* central differences */
        const double h = 1e-6;
        sv_mb_lower_grad(p, j, NULL, 0, x, y, g1, work);
        sv_mb_upper_grad_y(p, j, NULL, 0, y, g2, work);
        for (int i = 0; i < d; i++) {
            memcpy(yp, y, sizeof y);
            yp[i] += h;
            double lp = sv_mb_lower_value(p, j, x, yp, work);
            double up = sv_mb_upper_value(p, j, yp, work);
            yp[i] -= 2 * h;
            double lm = sv_mb_lower_value(p, j, x, yp, work);
            double um = sv_mb_upper_value(p, j, yp, work);
            assert_true(fabs((lp - lm) / (2 * h) - g1[i]) <= 1e-7);
            assert_true(fabs((up - um) / (2 * h) - g2[i]) <= 1e-7);
            /* d/dx_i of grad_y g is -mu e_i */
            memcpy(xp, x, sizeof x);
            xp[i] += h;
            sv_mb_lower_grad(p, j, NULL, 0, xp, y, hv, work);
            xp[i] -= 2 * h;
            sv_mb_lower_grad(p, j, NULL, 0, xp, y, yp, work);
            for (int a = 0; a < d; a++) {
                double fd = (hv[a] - yp[a]) / (2 * h);
                assert_true(fabs(fd - (a == i ? -p->mu : 0.0)) <= 1e-7);
            }
        }
    }
    sv_mb_cross_apply(p, v, g1);
    for (int i = 0; i < d; i++)
        assert_true(g1[i] == -0.7 * v[i]);
    sv_mb_upper_grad_x(p, x, g1);
    for (int i = 0; i < d; i++)
        assert_true(g1[i] == 0.2 * x[i]);
    free(work);
    sv_mb_data_free(&D);
}

/* The Newton solve of a squared-loss lower level matches y* = H^{-1}(c + mu x). */
static void test_lower_solve_closed_form(void **state)
{
    (void)state;
    sv_mb_data D;
    gen(&D, 2, 15, 6, 4, SV_LOSS_SQUARED, 0.5, 0.0, 0.05, 9);
    const sv_mb_problem *p = &D.prob;
    double *work = work_for(p);
    double x[4] = {0.4, -1.0, 0.25, 2.0}, y[4] = {0}, H[16], c[4];
    for (int j = 0; j < 2; j++) {
        block_normal(&D, j, H, c);
        for (int a = 0; a < 4; a++)
            c[a] += p->mu * x[a];
        assert_int_equal(sv_solve_spd(4, H, c, 1), SV_OK);
        memset(y, 0, sizeof y);
        double gn = sv_mb_solve_lower(p, j, x, y, 1e-13, 50, work);
        assert_true(gn <= 1e-13);
        assert_true(sv_test_max_abs_diff(4, y, c) <= 1e-12);
    }
    free(work);
    sv_mb_data_free(&D);
}

/* The hypergradient formula at the exact lower solutions matches central differences of
 * F(x) = (1/m) sum_j V_j(y_j*(x)) + (lambda/2)|x|^2, for both losses. */
static void test_hypergrad_finite_differences(void **state)
{
    (void)state;
    for (int loss = 0; loss < 2; loss++) {
        sv_mb_data D;
        gen(&D, 3, 20, 10, 4, (sv_loss)loss, 0.8, 0.05, 0.02, 21);
        const sv_mb_problem *p = &D.prob;
        double *work = work_for(p);
        double x[4] = {0.3, -0.2, 0.5, 0.1}, xp[4], Y[12], hg[4];
        (void)F_exact(p, x, Y, work);
        sv_mb_hypergrad(p, x, Y, hg, work);
        const double h = 1e-5;
        for (int i = 0; i < 4; i++) {
            memcpy(xp, x, sizeof x);
            xp[i] += h;
            double fp = F_exact(p, xp, Y, work);
            xp[i] -= 2 * h;
            double fm = F_exact(p, xp, Y, work);
            double fd = (fp - fm) / (2 * h);
            assert_true(fabs(fd - hg[i]) <= 1e-7 * (1.0 + fabs(hg[i])));
        }
        free(work);
        sv_mb_data_free(&D);
    }
}

/* The generator is reproducible and validates its spec. */
static void test_generator(void **state)
{
    (void)state;
    sv_mb_data A, B, C;
    gen(&A, 4, 7, 5, 3, SV_LOSS_LOGISTIC, 1.0, 0.0, 0.0, 77);
    gen(&B, 4, 7, 5, 3, SV_LOSS_LOGISTIC, 1.0, 0.0, 0.0, 77);
    gen(&C, 4, 7, 5, 3, SV_LOSS_LOGISTIC, 1.0, 0.0, 0.0, 78);
    int differs = 0;
    for (int j = 0; j < 4; j++) {
        assert_int_equal(A.A[j].rows, 7);
        assert_int_equal(A.A_val[j].rows, 5);
        assert_memory_equal(A.A[j].dense.data, B.A[j].dense.data, sizeof(double) * 21);
        assert_memory_equal(A.b_val[j], B.b_val[j], sizeof(double) * 5);
        differs |= memcmp(A.A[j].dense.data, C.A[j].dense.data, sizeof(double) * 21) != 0;
        for (int r = 0; r < 7; r++)
            assert_true(A.b[j][r] == 1.0 || A.b[j][r] == -1.0);
    }
    assert_true(differs);
    sv_err e;
    assert_int_equal(sv_mb_check(&A.prob, &e), SV_OK);
    sv_mb_data_free(&A);
    sv_mb_data_free(&B);
    sv_mb_data_free(&C);

    sv_mb_gen_spec bad = {2, 3, 3, 2, SV_LOSS_SQUARED, 0.5, 0.1, 0.0, 0.0, 0.0, 1};
    assert_int_equal(sv_mb_generate(&bad, &A, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/mu");
    bad.mu = 1.0;
    bad.val_rows = -1;
    assert_int_equal(sv_mb_generate(&bad, &A, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/val_rows");
    bad.val_rows = 0;  /* as many as rows (the table's default) */
    assert_int_equal(sv_mb_generate(&bad, &A, &e), SV_OK);
    assert_int_equal(A.A_val[1].rows, 3);
    sv_mb_data_free(&A);
}

/* ============================================================================================
 * The solver
 * ========================================================================================== */

static blockwise_info run(const sv_mb_problem *p, const blockwise_settings *s, double *x,
                          double *Y)
{
    blockwise_info info;
    sv_err e;
    memset(x, 0, sizeof(double) * p->dim);
    memset(Y, 0, sizeof(double) * p->dim * p->n_blocks);
    int rc = blockwise_solve(p, s, NULL, x, Y, &info, &e);
    if (rc != SV_OK)
        fprintf(stderr, "blockwise_solve: %s: %s\n", e.field, e.msg);
    assert_int_equal(rc, SV_OK);
    return info;
}

/* Every block and every row at every iteration (I = m, B >= rows): BSVRB is deterministic and
 * both variants reach the closed-form x* to 1e-8, stopping on tol. */
static void test_deterministic_reaches_closed_form(void **state)
{
    (void)state;
    const int m = 6, d = 5;
    sv_mb_data D;
    gen(&D, m, 30, 20, d, SV_LOSS_SQUARED, 1.0, 0.01, 0.0, 3);
    double xs[5], x[5], Y[30];
    closed_form(&D, xs);
    for (int variant = BLOCKWISE_V1; variant <= BLOCKWISE_V2; variant++) {
        blockwise_settings s;
        blockwise_settings_default(&s);
        s.variant = variant;
        s.batch = 1000;
        s.ctl.tol = 1e-10;
        s.ctl.max_iter = 100000;
        s.ctl.report_every = 10;
        blockwise_info info = run(&D.prob, &s, x, Y);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_int_equal(info.variant, variant);
        assert_true(info.hypergrad_norm <= 1e-10 && info.lower_residual <= 1e-10);
        /* F is a quadratic with Hessian >= lambda = 0.01: |x - x*| <= |grad F| / 0.01 */
        assert_true(sv_test_max_abs_diff(d, x, xs) <= 1e-8);
        /* with I = m the MSVR weight is STORM's 1 - alpha */
        assert_true(info.msvr_gamma == 1.0 - s.alpha);
        assert_true(info.block_visits == m + (long)m * info.base.iter);
    }
    sv_mb_data_free(&D);
}

/* Logistic blocks, deterministic: the full hypergradient goes to zero (the formula is checked
 * against finite differences above, so this is stationarity of F). */
static void test_deterministic_logistic_stationary(void **state)
{
    (void)state;
    sv_mb_data D;
    gen(&D, 5, 30, 30, 4, SV_LOSS_LOGISTIC, 1.0, 0.01, 0.0, 8);
    double x[4], Y[20];
    blockwise_settings s;
    blockwise_settings_default(&s);
    s.variant = BLOCKWISE_V2;
    s.batch = 1000;
    s.ctl.tol = 1e-9;
    s.ctl.max_iter = 200000;
    blockwise_info info = run(&D.prob, &s, x, Y);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(info.hypergrad_norm <= 1e-9);
    sv_mb_data_free(&D);
}

/* Sampling I = 5 of m = 20 blocks and B = 16 of 40 rows per block: both variants still
 * converge, to within 0.05 of x* in the max norm (|x*|_inf = 0.875, |x0 - x*|_inf the same)
 * after 6000 iterations; with all rows, I < m and a small STORM weight beta = 0.01 the remaining
 * error (block-sampling noise only) is below 0.02 after 8000. The automatic steps follow their
 * formulas. */
static void test_sampled_blocks_converge(void **state)
{
    (void)state;
    const int m = 20, d = 10, I = 5;
    sv_mb_data D;
    gen(&D, m, 40, 40, d, SV_LOSS_SQUARED, 1.0, 0.0, 0.0, 3);
    double xs[10], *x = calloc(d, sizeof *x), *Y = calloc((size_t)m * d, sizeof *Y);
    closed_form(&D, xs);
    const double err0 = sv_nrminf(d, xs);
    assert_true(err0 > 0.5);

    double Lg = 0, mug = INFINITY, Lv = 0;
    for (int j = 0; j < m; j++) {
        Lg = fmax(Lg, sv_mb_lower_smoothness(&D.prob, j));
        mug = fmin(mug, sv_mb_lower_strong_convexity(&D.prob, j));
        Lv = fmax(Lv, sv_mb_upper_smoothness(&D.prob, j));
    }
    for (int variant = BLOCKWISE_V1; variant <= BLOCKWISE_V2; variant++) {
        blockwise_settings s;
        blockwise_settings_default(&s);
        s.variant = variant;
        s.blocks = I;
        s.batch = 16;
        s.ctl.tol = 0;
        s.ctl.max_iter = 6000;
        s.ctl.report_every = 1000;
        s.seed = 11;
        blockwise_info info = run(&D.prob, &s, x, Y);
        double err = sv_test_max_abs_diff(d, x, xs);
        printf("  v%d, I = %d of %d, B = 16: |x - x*|_inf = %.4f (|x*|_inf = %.3f)\n",
               variant + 1, I, m, err, err0);
        assert_int_equal(info.base.status, SV_MAX_ITER);
        assert_true(err <= 0.05);
        assert_true(info.block_visits == m + (long)I * 6000);
        double gamma = (double)(m - I) / (I * (1 - s.alpha)) + 1 - s.alpha;
        assert_true(fabs(info.msvr_gamma - gamma) <= 1e-15 * gamma);
        assert_true(fabs(info.tau - 1.0 / ((1 + gamma) * Lg)) <= 1e-12 * info.tau);
        assert_true(fabs(info.eta - info.tau * mug / Lv) <= 1e-12 * info.eta);

        s.batch = 1000;
        s.beta = 0.01;
        s.ctl.max_iter = 8000;
        info = run(&D.prob, &s, x, Y);
        err = sv_test_max_abs_diff(d, x, xs);
        printf("  v%d, I = %d of %d, all rows, beta = 0.01: |x - x*|_inf = %.4f\n", variant + 1,
               I, m, err);
        assert_true(err <= 0.02);
    }
    free(x);
    free(Y);
    sv_mb_data_free(&D);
}

/* The same seed gives the same iterates; another seed others. */
static void test_reproducible(void **state)
{
    (void)state;
    sv_mb_data D;
    gen(&D, 8, 20, 20, 3, SV_LOSS_LOGISTIC, 1.0, 0.0, 0.0, 4);
    double x1[3], x2[3], x3[3], Y[24];
    blockwise_settings s;
    blockwise_settings_default(&s);
    s.blocks = 3;
    s.batch = 5;
    s.ctl.max_iter = 300;
    s.seed = 5;
    run(&D.prob, &s, x1, Y);
    run(&D.prob, &s, x2, Y);
    s.seed = 6;
    run(&D.prob, &s, x3, Y);
    assert_memory_equal(x1, x2, sizeof x1);
    assert_true(memcmp(x1, x3, sizeof x1) != 0);
    sv_mb_data_free(&D);
}

typedef struct {
    int calls;
    int stop_at;
    int saw_metrics;
} mon_state;

static int monitor(const sv_progress *pr, void *data)
{
    mon_state *ms = data;
    ms->calls++;
    const char *want[] = {"hypergrad_norm", "lower_residual", "estimator_norm", "block_visits",
                          "sample_evals"};
    if (pr->n_metrics == 5) {
        int ok = 1;
        for (int i = 0; i < 5; i++)
            ok &= strcmp(pr->metrics[i].name, want[i]) == 0;
        ms->saw_metrics = ok;
    }
    return ms->calls >= ms->stop_at;
}

/* A stop request is honoured at the next report; progress carries the documented metrics. */
static void test_cancel(void **state)
{
    (void)state;
    sv_mb_data D;
    gen(&D, 4, 10, 10, 3, SV_LOSS_SQUARED, 1.0, 0.0, 0.0, 2);
    double x[3] = {0}, Y[12] = {0};
    blockwise_settings s;
    blockwise_settings_default(&s);
    s.ctl.report_every = 7;
    s.ctl.tol = 0;
    mon_state ms = {0, 3, 0};
    sv_monitor mon = {monitor, &ms, NULL};
    blockwise_info info;
    assert_int_equal(blockwise_solve(&D.prob, &s, &mon, x, Y, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 14);
    assert_int_equal(ms.calls, 3);
    assert_true(ms.saw_metrics);
    sv_mb_data_free(&D);
}

/* A stop request is honoured inside the work between reports, whatever report_every: the
 * full-data metrics poll before each block (with 4 blocks the step constants poll 4 times, the
 * set-up 4 times, then the metrics of iteration 0 start: a stop at the 11th poll falls in their
 * objective pass, before any report), and the iterations poll between sampled blocks. A stop
 * from outside leaves the result's full-data metrics unknown (NaN). */
typedef struct {
    int polls, stop_at, reports;
} poll_state;

static int poll_count(void *data)
{
    poll_state *ps = data;
    return ++ps->polls >= ps->stop_at;
}

static int count_report(const sv_progress *pr, void *data)
{
    (void)pr;
    ((poll_state *)data)->reports++;
    return 0;
}

static void test_stop_between_reports(void **state)
{
    (void)state;
    sv_mb_data D;
    gen(&D, 4, 10, 10, 3, SV_LOSS_SQUARED, 1.0, 0.0, 0.0, 2);
    double x[3] = {0}, Y[12] = {0};
    blockwise_settings s;
    blockwise_settings_default(&s);
    s.ctl.report_every = 1000000000;
    s.ctl.max_iter = 1000000000;
    s.ctl.tol = 0;
    blockwise_info info;
    poll_state ps = {0, 11, 0};
    sv_monitor mon = {count_report, &ps, poll_count};
    assert_int_equal(blockwise_solve(&D.prob, &s, &mon, x, Y, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 0);
    assert_int_equal(ps.polls, 11);
    assert_int_equal(ps.reports, 1);  /* the final one */
    assert_true(isnan(info.base.obj) && isnan(info.hypergrad_norm));

    /* inside the iterations: 8 polls before, 12 of the metrics at 0, then one per check and one
     * between sampled blocks (blocks 2: one each) */
    s.blocks = 2;
    ps = (poll_state){0, 1000, 0};
    memset(x, 0, sizeof x);
    memset(Y, 0, sizeof Y);
    assert_int_equal(blockwise_solve(&D.prob, &s, &mon, x, Y, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(ps.polls, 1000);
    assert_true(info.base.iter > 100 && info.base.iter < 1000);
    assert_int_equal(ps.reports, 2);  /* iteration 0 and the final one */
    assert_true(sv_all_finite(3, x));

    /* a stop in the step constants: nothing computed, iteration 0 */
    ps = (poll_state){0, 2, 0};
    assert_int_equal(blockwise_solve(&D.prob, &s, &mon, x, Y, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 0);
    assert_int_equal(ps.polls, 2);
    assert_true(isnan(info.base.obj) && isnan(info.eta));
    sv_mb_data_free(&D);
}

/* Invalid settings and inputs are rejected with the field's name before anything runs. */
static void test_invalid(void **state)
{
    (void)state;
    sv_mb_data D;
    gen(&D, 3, 5, 5, 2, SV_LOSS_SQUARED, 1.0, 0.0, 0.0, 2);
    double x[2] = {0}, Y[6] = {0};
    blockwise_info info;
    sv_err e;
    blockwise_settings s;
#define EXPECT(stmt, f)                                                                          \
    do {                                                                                         \
        blockwise_settings_default(&s);                                                          \
        stmt;                                                                                    \
        assert_int_equal(blockwise_solve(&D.prob, &s, NULL, x, Y, &info, &e), SV_EINVAL);        \
        assert_string_equal(e.field, f);                                                         \
        assert_int_equal(info.base.status, SV_UNSOLVED);                                         \
    } while (0)
    EXPECT(s.variant = 7, "/params/variant");
    EXPECT(s.blocks = 4, "/params/blocks");
    EXPECT(s.blocks = -1, "/params/blocks");
    EXPECT(s.batch = 0, "/params/batch");
    EXPECT(s.eta = -1, "/params/eta");
    EXPECT(s.tau = 0, "/params/tau");
    EXPECT(s.tau_v = INFINITY, "/params/tau_v");
    EXPECT(s.alpha = 0, "/params/alpha");
    EXPECT(s.alpha = 1.5, "/params/alpha");
    EXPECT((s.alpha = 1, s.blocks = 2), "/params/alpha");
    EXPECT(s.msvr_gamma = -1, "/params/msvr_gamma");
    EXPECT(s.beta = 0, "/params/beta");
    EXPECT(s.h_min = -2, "/params/h_min");
    EXPECT(s.v_radius = -1, "/params/v_radius");
    EXPECT(s.ctl.tol = NAN, "/params/tol");
    EXPECT(s.ctl.max_iter = -1, "/params/max_iter");
    EXPECT(s.ctl.time_limit_s = -1, "/params/time_limit_s");
    EXPECT(s.ctl.report_every = 0, "/params/report_every");
    x[1] = NAN;
    EXPECT((void)0, "/problem/x0");
    x[1] = 0;
    Y[5] = INFINITY;
    EXPECT((void)0, "/problem/y0");
    Y[5] = 0;
    D.prob.mu = 0;
    EXPECT((void)0, "/problem/mu");
    D.prob.mu = 1;
    D.b_val[1][2] = NAN;
    EXPECT((void)0, "/problem/blocks/1/b_val/2");
#undef EXPECT
    sv_mb_data_free(&D);

    /* v1's memory bound: 7000 blocks of dimension 64 would track 2 * 7000 * 64^2 doubles */
    gen(&D, 7000, 1, 1, 64, SV_LOSS_SQUARED, 1.0, 0.0, 0.0, 2);
    double *xx = calloc(64, sizeof *xx), *YY = calloc(7000 * 64, sizeof *YY);
    blockwise_settings_default(&s);
    s.variant = BLOCKWISE_V1;
    assert_int_equal(blockwise_solve(&D.prob, &s, NULL, xx, YY, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/variant");
    free(xx);
    free(YY);
    sv_mb_data_free(&D);
}

/* ============================================================================================
 * The codec
 * ========================================================================================== */

extern const sv_codec sv_codec_blockwise;

/* support/codec.h on this file's codec */
#define expect_codec_error(pb, pa, field) sv_test_codec_error(&sv_codec_blockwise, pb, pa, field)
#define run_codec(pb, pa) sv_test_codec_run(&sv_codec_blockwise, pb, pa, NULL)

static const char *two_blocks =
    "{\"blocks\": [{\"A\": [[1, 0], [0, 1], [1, 1]], \"b\": [1, 2, 3], "
    "\"A_val\": [[1, 2]], \"b_val\": [2]}, "
    "{\"A\": {\"rows\": 2, \"cols\": 2, \"data\": [2, 0, 0, 1]}, \"b\": [1, -1], "
    "\"A_val\": [[0, 1], [1, 0]], \"b_val\": [1, 1]}], \"mu\": 0.5, \"lambda\": 0.1}";

static void test_codec_validate(void **state)
{
    (void)state;
    sv_err e;
    json_t *pb = sv_test_json(two_blocks);
    assert_int_equal(sv_codec_blockwise.validate(pb, NULL, &sv_test_codec_env, &e), SV_OK);
    json_decref(pb);
    expect_codec_error("{}", NULL, "/problem");
    expect_codec_error("{\"blocks\": []}", NULL, "/problem/blocks");
    expect_codec_error("{\"blocks\": [{\"A\": [[1]], \"b\": [1], \"A_val\": [[1]]}]}", NULL,
                       "/problem/blocks/0/b_val");
    expect_codec_error("{\"blocks\": [{\"A\": [[1, 2]], \"b\": [1], \"A_val\": [[1]], "
                       "\"b_val\": [1]}]}", NULL, "/problem/blocks/0/A_val/0");
    expect_codec_error("{\"blocks\": [{\"A\": [[1]], \"b\": [1, 2], \"A_val\": [[1]], "
                       "\"b_val\": [1]}]}", NULL, "/problem/blocks/0/b");
    expect_codec_error("{\"blocks\": [{\"A\": [[1]], \"b\": [0.5], \"A_val\": [[1]], "
                       "\"b_val\": [1]}], \"loss\": \"logistic\"}", NULL, "/problem/blocks/0/b/0");
    expect_codec_error("{\"blocks\": [{\"A\": [[1]], \"b\": [1], \"A_val\": [[1]], "
                       "\"b_val\": [1], \"w\": [1]}]}", NULL, "/problem/blocks/0/w");
    expect_codec_error("{\"blocks\": [{\"A\": [[1]], \"b\": [1], \"A_val\": [[1]], "
                       "\"b_val\": [1]}], \"mu\": 0}", NULL, "/problem/mu");
    expect_codec_error("{\"blocks\": [{\"A\": [[1]], \"b\": [1], \"A_val\": [[1]], "
                       "\"b_val\": [1]}], \"y0\": [[1], [2]]}", NULL, "/problem/y0");
    expect_codec_error("{\"blocks\": [{\"A\": [[1]], \"b\": [1], \"A_val\": [[1]], "
                       "\"b_val\": [1]}], \"x0\": [1, 2]}", NULL, "/problem/x0");
    expect_codec_error("{\"generate\": {\"blocks\": 3, \"dim\": 2}}", NULL,
                       "/problem/generate/rows");
    expect_codec_error("{\"generate\": {\"blocks\": 3, \"rows\": 2, \"dim\": 2, \"spread\": -1}}",
                       NULL, "/problem/generate/spread");
    expect_codec_error("{\"generate\": {\"blocks\": 3, \"rows\": 2, \"dim\": 2, \"size\": 1}}",
                       NULL, "/problem/generate/size");
    expect_codec_error("{\"generate\": {\"blocks\": 1000, \"rows\": 1000, \"dim\": 100}}", NULL,
                       "/problem/generate");
    expect_codec_error(two_blocks, "{\"blocks\": 3}", "/params/blocks");
    expect_codec_error(two_blocks, "{\"variant\": \"v3\"}", "/params/variant");
    expect_codec_error(two_blocks, "{\"beta\": 0}", "/params/beta");
    expect_codec_error(two_blocks, "{\"speed\": 1}", "/params/speed");
}

/* Explicit blocks, deterministic: the result holds x and one y row per block, and y_j solves
 * block j's lower level at x. */
static void test_codec_run_blocks(void **state)
{
    (void)state;
    json_t *res = run_codec(two_blocks, "{\"batch\": 10, \"tol\": 1e-10, \"max_iter\": 100000}");
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    assert_string_equal(json_string_value(json_object_get(res, "variant")), "v1");
    json_t *x = json_object_get(res, "x"), *y = json_object_get(res, "y");
    assert_int_equal(json_array_size(x), 2);
    assert_int_equal(json_array_size(y), 2);
    assert_int_equal(json_array_size(json_array_get(y, 1)), 2);
    assert_true(json_real_value(json_object_get(res, "hypergrad_norm")) <= 1e-10);
    assert_int_equal(json_integer_value(json_object_get(res, "blocks")), 2);
    assert_non_null(json_object_get(json_object_get(res, "parameters"), "msvr_gamma"));
    /* block 0: T = |Ay - b|^2/6, grad = A'(Ay - b)/3 + 0.5 (y - x) = 0 */
    double x0 = json_real_value(json_array_get(x, 0)), x1 = json_real_value(json_array_get(x, 1));
    double y0 = json_real_value(json_array_get(json_array_get(y, 0), 0));
    double y1 = json_real_value(json_array_get(json_array_get(y, 0), 1));
    double r0 = y0 - 1, r1 = y1 - 2, r2 = y0 + y1 - 3;
    assert_true(fabs((r0 + r2) / 3 + 0.5 * (y0 - x0)) <= 1e-9);
    assert_true(fabs((r1 + r2) / 3 + 0.5 * (y1 - x1)) <= 1e-9);
    json_decref(res);
}

/* The catalog example validates and runs in its budget, and lands near the closed form. */
static void test_codec_example(void **state)
{
    (void)state;
    json_t *ex = sv_codec_blockwise.example();
    assert_non_null(ex);
    sv_err e;
    const json_t *pb = json_object_get(ex, "problem"), *pa = json_object_get(ex, "params");
    assert_int_equal(sv_codec_blockwise.validate(pb, pa, &sv_test_codec_env, &e), SV_OK);
    json_t *res = NULL;
    assert_int_equal(sv_codec_blockwise.run(pb, pa, &sv_test_codec_env, NULL, &res, &e), SV_OK);
    /* solved: the full-data hypergradient and lower residual at most its tol */
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    assert_true(json_real_value(json_object_get(res, "hypergrad_norm")) <= 1e-2);
    assert_true(json_real_value(json_object_get(res, "lower_residual")) <= 1e-2);
    /* the same instance through the generator */
    const json_t *g = json_object_get(pb, "generate");
    sv_mb_data D;
    gen(&D, (int)json_integer_value(json_object_get(g, "blocks")),
        (int)json_integer_value(json_object_get(g, "rows")),
        (int)json_integer_value(json_object_get(g, "rows")),
        (int)json_integer_value(json_object_get(g, "dim")), SV_LOSS_SQUARED, 1.0, 0.0, 0.0,
        (uint64_t)json_integer_value(json_object_get(g, "seed")));
    double xs[64], err = 0;
    closed_form(&D, xs);
    for (int i = 0; i < D.prob.dim; i++)
        err = fmax(err, fabs(json_real_value(json_array_get(json_object_get(res, "x"), i)) -
                             xs[i]));
    printf("  example: |x - x*|_inf = %.4f after %lld iterations, %.3f s\n", err,
           json_integer_value(json_object_get(res, "iterations")),
           json_real_value(json_object_get(res, "solve_time_s")));
    assert_true(err <= 0.05);
    sv_mb_data_free(&D);
    json_decref(res);
    json_decref(ex);
    json_t *schema = sv_codec_params_schema(&sv_codec_blockwise);
    int rc;
    assert_non_null(json_object_get(json_object_get(schema, "properties"), "msvr_gamma"));
    /* every default the schema shows is accepted back as a value */
    json_t *defaults = json_object();
    const char *key;
    json_t *prop;
    json_object_foreach(json_object_get(schema, "properties"), key, prop)
    {
        json_t *dflt = json_object_get(prop, "default");
        if (dflt && !json_is_null(dflt))
            json_object_set(defaults, key, dflt);
    }
    assert_true(json_object_size(defaults) >= 10);
    ex = sv_codec_blockwise.example();
    rc = sv_codec_blockwise.validate(json_object_get(ex, "problem"), defaults, &sv_test_codec_env,
                                     &e);
    assert_int_equal(rc, SV_OK);
    json_decref(ex);
    json_decref(defaults);
    json_decref(schema);
    schema = sv_codec_blockwise.problem_schema();
    assert_non_null(schema);
    json_decref(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracles),
        cmocka_unit_test(test_lower_solve_closed_form),
        cmocka_unit_test(test_hypergrad_finite_differences),
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_deterministic_reaches_closed_form),
        cmocka_unit_test(test_deterministic_logistic_stationary),
        cmocka_unit_test(test_sampled_blocks_converge),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_stop_between_reports),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_codec_validate),
        cmocka_unit_test(test_codec_run_blocks),
        cmocka_unit_test(test_codec_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
