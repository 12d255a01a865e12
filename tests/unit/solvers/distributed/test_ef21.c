/* test_ef21.c - EF21 / EF21-W (core/solvers/distributed/ef21.c), the distributed instance generator and data
 * set split (core/models/gen_glm.c), and the distributed.ef21 codec (api/codecs/distributed/ef21.c).
 * Reference answers come from the normal equations, a hand-written distributed gradient descent,
 * the paper's step-size formula and closed-form bit counts. */
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
#include "core/solvers/distributed/ef21.h"
#include "support/codec.h"
#include "support/glm_reference.h"
#include "support/numeric.h"

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

static void gen(sv_glm_clients *c, int n, int m, int d, sv_loss loss, double h, double lambda,
                uint64_t seed)
{
    sv_gen_glm_spec spec = {n, m, d, loss, h, lambda, seed};
    sv_err e;
    assert_int_equal(sv_gen_glm_clients(&spec, c, &e), SV_OK);
}

static ef21_problem problem_of(const sv_glm_clients *c)
{
    ef21_problem p = {c->n_clients, c->glm};
    return p;
}

/* |grad f(x0)|: zero rounds of the solver. */
static double initial_grad_norm(const ef21_problem *p, int d)
{
    ef21_settings s;
    ef21_settings_default(&s);
    s.ctl.max_iter = 0;
    double *x = calloc((size_t)d, sizeof *x);
    ef21_info info;
    assert_int_equal(ef21_solve(p, &s, NULL, x, &info, NULL), SV_OK);
    free(x);
    return info.grad_norm;
}

/* ============================================================================================
 * Solver
 * ========================================================================================== */

/* EF21 with Top2 on a least-squares instance reaches the normal-equations solution. */
static void test_least_squares_optimum(void **state)
{
    (void)state;
    const int n = 4, d = 8;
    const double lambda = 0.01;
    sv_glm_clients c;
    gen(&c, n, 30, d, SV_LOSS_SQUARED, 1.0, lambda, 7);
    double xstar[8], x[8] = {0};
    sv_test_clients_normal_equations(&c, lambda, xstar);

    ef21_problem p = problem_of(&c);
    ef21_settings s;
    ef21_settings_default(&s);
    s.k = 2;
    s.ctl.tol = 1e-9;
    s.ctl.max_iter = 200000;
    ef21_info info;
    sv_err e;
    assert_int_equal(ef21_solve(&p, &s, NULL, x, &info, &e), SV_OK);
    assert_int_equal(info.base.status, SV_SOLVED);
    assert_true(info.grad_norm <= 1e-9);
    assert_true(info.base.res == info.grad_norm);
    assert_true(info.base.iter > 0 && info.base.iter < s.ctl.max_iter);
    /* |x - x*| <= |grad f| / mu, and mu >= lambda: 1e-9 / 0.01 bounds the error by 1e-7. */
    assert_true(sv_test_max_abs_diff(d, x, xstar) <= 1e-7);
    sv_glm_clients_free(&c);
}

/* Strong heterogeneity (L_i spread over 6 orders of magnitude): the step sizes follow the paper's
 * formulas, EF21-W's (L_AM) step beats the original EF21 step (L_QM), and plain EF21 and EF21-W
 * both converge. */
static void test_heterogeneous_steps_and_convergence(void **state)
{
    (void)state;
    const int n = 6, d = 10;
    sv_glm_clients c;
    gen(&c, n, 40, d, SV_LOSS_SQUARED, 3.0, 1e-3, 11);
    ef21_problem p = problem_of(&c);

    double Li[6], am = 0, qm = 0;
    for (int i = 0; i < n; i++) {
        Li[i] = sv_glm_smoothness(&c.glm[i]);
        am += Li[i] / n;
        qm += Li[i] * Li[i] / n;
    }
    qm = sqrt(qm);
    assert_true(Li[n - 1] / Li[0] > 1e5);  /* the generator's spread, 10^(2h) roughly */
    assert_true(qm > 2 * am);

    double gn0 = initial_grad_norm(&p, d);
    ef21_settings s;
    ef21_settings_default(&s);
    s.k = 2;
    s.ctl.tol = 1e-9 * gn0;
    s.ctl.max_iter = 400000;
    const double xi = ef21_topk_xi(2, d);

    double x[10] = {0}, xw[10] = {0};
    ef21_info plain_qm, plain_am, w;
    s.stepsize = EF21_STEP_THEORY_QM;
    assert_int_equal(ef21_solve(&p, &s, NULL, x, &plain_qm, NULL), SV_OK);
    assert_int_equal(plain_qm.base.status, SV_SOLVED);

    s.variant = EF21_VARIANT_EF21W;
    s.stepsize = EF21_STEP_THEORY;
    assert_int_equal(ef21_solve(&p, &s, NULL, xw, &w, NULL), SV_OK);
    assert_int_equal(w.base.status, SV_SOLVED);

    assert_true(fabs(w.L_am - am) <= 1e-12 * am);
    assert_true(fabs(w.L_qm - qm) <= 1e-12 * qm);
    assert_true(w.L <= am * (1 + 1e-9) && w.L > 0);
    assert_true(fabs(w.gamma - 1.0 / (w.L + am * xi)) <= 1e-12 * w.gamma);
    assert_true(fabs(plain_qm.gamma - 1.0 / (w.L + qm * xi)) <= 1e-12 * plain_qm.gamma);
    assert_true(w.gamma > 1.5 * plain_qm.gamma);
    /* The larger step pays off in rounds. */
    assert_true(w.base.iter < plain_qm.base.iter);

    /* Plain EF21 with the improved analysis' step (the default, the paper's Theorem 3) also
     * converges, and to the same point. */
    double xa[10] = {0};
    s.variant = EF21_VARIANT_EF21;
    assert_int_equal(ef21_solve(&p, &s, NULL, xa, &plain_am, NULL), SV_OK);
    assert_int_equal(plain_am.base.status, SV_SOLVED);
    assert_true(plain_am.gamma == w.gamma);
    double xstar[10];
    sv_test_clients_normal_equations(&c, 1e-3, xstar);
    double scale = 1 + sv_nrminf(d, xstar);
    assert_true(sv_test_max_abs_diff(d, x, xstar) <= 1e-5 * scale);
    assert_true(sv_test_max_abs_diff(d, xw, xstar) <= 1e-5 * scale);
    assert_true(sv_test_max_abs_diff(d, xa, xstar) <= 1e-5 * scale);
    sv_glm_clients_free(&c);
}

/* TopK is positively homogeneous, so EF21-W runs the same iterates as EF21 at the same step (the
 * paper's Section 2.4): a check of the weights and scalings. */
static void test_weighted_equals_plain_for_topk(void **state)
{
    (void)state;
    const int d = 6;
    sv_glm_clients c;
    gen(&c, 5, 20, d, SV_LOSS_LOGISTIC, 1.5, 1e-2, 3);
    ef21_problem p = problem_of(&c);
    ef21_settings s;
    ef21_settings_default(&s);
    s.k = 2;
    s.gamma = 1e-3;
    s.ctl.tol = 0;
    s.ctl.max_iter = 60;
    double x[6] = {0.1, -0.2, 0.3, 0, 0, 0.05}, xw[6];
    memcpy(xw, x, sizeof x);
    ef21_info a, b;
    assert_int_equal(ef21_solve(&p, &s, NULL, x, &a, NULL), SV_OK);
    s.variant = EF21_VARIANT_EF21W;
    assert_int_equal(ef21_solve(&p, &s, NULL, xw, &b, NULL), SV_OK);
    assert_int_equal(a.base.status, SV_MAX_ITER);
    assert_int_equal(b.base.iter, 60);
    assert_true(sv_test_max_abs_diff(d, x, xw) <= 1e-10 * (1 + sv_nrminf(d, x)));
    sv_glm_clients_free(&c);
}

/* With K = d nothing is compressed: both variants are distributed gradient descent. */
static void test_full_topk_is_gradient_descent(void **state)
{
    (void)state;
    const int n = 3, d = 5, T = 40;
    sv_glm_clients c;
    gen(&c, n, 12, d, SV_LOSS_LOGISTIC, 1.0, 0.05, 5);
    ef21_problem p = problem_of(&c);
    const double gamma = 0.3;

    /* Hand-written GD: x <- x - gamma (1/n) sum_i grad f_i(x). */
    double xg[5] = {0.5, -0.5, 0.25, 0, 1}, x0[5], g[5], gi[5], work[12];
    memcpy(x0, xg, sizeof xg);
    for (int t = 0; t < T; t++) {
        sv_zero(d, g);
        for (int i = 0; i < n; i++) {
            sv_glm_value(&c.glm[i], xg, gi, work);
            for (int j = 0; j < d; j++)
                g[j] += gi[j] / n;
        }
        for (int j = 0; j < d; j++)
            xg[j] -= gamma * g[j];
    }

    for (int variant = 0; variant < 2; variant++) {
        ef21_settings s;
        ef21_settings_default(&s);
        s.variant = variant;
        s.k = d;
        s.gamma = gamma;
        s.ctl.tol = 0;
        s.ctl.max_iter = T;
        double x[5];
        memcpy(x, x0, sizeof x);
        ef21_info info;
        assert_int_equal(ef21_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
        assert_int_equal(info.base.iter, T);
        assert_true(sv_test_max_abs_diff(d, x, xg) <= 1e-13 * (1 + sv_nrminf(d, xg)));
    }
    /* And the theory step with K = d is 1/L: xi vanishes. */
    assert_true(ef21_topk_xi(d, d) == 0.0);
    sv_glm_clients_free(&c);
}

/* Bits: K (64 + ceil(log2 d)) per client per round; the full initialisation sends d doubles. */
static void test_bits_accounting(void **state)
{
    (void)state;
    assert_true(ef21_topk_bits(1, 1) == 64);
    assert_true(ef21_topk_bits(1, 2) == 65);
    assert_true(ef21_topk_bits(3, 10) == 3 * 68);
    assert_true(ef21_topk_bits(2, 1024) == 2 * 74);
    assert_true(ef21_topk_bits(2, 1025) == 2 * 75);

    const int n = 3, d = 10, T = 7;
    sv_glm_clients c;
    gen(&c, n, 15, d, SV_LOSS_SQUARED, 0.5, 0.1, 2);
    ef21_problem p = problem_of(&c);
    ef21_settings s;
    ef21_settings_default(&s);
    s.k = 3;
    s.ctl.tol = 0;
    s.ctl.max_iter = T;
    double x[10] = {0};
    ef21_info info;
    assert_int_equal(ef21_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.iter, T);
    assert_true(info.bits_sent == (uint64_t)(n * d * 64 + T * n * 3 * 68));
    assert_true(info.floats_sent == (uint64_t)(n * d + T * n * 3));

    s.init = EF21_INIT_COMPRESSED;
    sv_zero(d, x);
    assert_int_equal(ef21_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_true(info.bits_sent == (uint64_t)((T + 1) * n * 3 * 68));
    assert_true(info.floats_sent == (uint64_t)((T + 1) * n * 3));
    sv_glm_clients_free(&c);
}

typedef struct {
    long stop_at;
    int reports;
    long iters[16];
    double bits[16];
    double first_grad_norm;
    int saw_all_metrics;
} monitor_log;

static int log_monitor(const sv_progress *pr, void *data)
{
    monitor_log *log = data;
    if (log->reports < 16) {
        log->iters[log->reports] = pr->iter;
        for (int i = 0; i < pr->n_metrics; i++)
            if (strcmp(pr->metrics[i].name, "bits_sent") == 0)
                log->bits[log->reports] = pr->metrics[i].value;
    }
    if (log->reports == 0) {
        int found = 0;
        for (int i = 0; i < pr->n_metrics; i++) {
            const char *nm = pr->metrics[i].name;
            if (strcmp(nm, "grad_norm") == 0)
                log->first_grad_norm = pr->metrics[i].value;
            found += strcmp(nm, "grad_norm") == 0 || strcmp(nm, "bits_sent") == 0 ||
                     strcmp(nm, "floats_sent") == 0 || strcmp(nm, "gamma") == 0;
        }
        log->saw_all_metrics = found == 4;
    }
    log->reports++;
    return log->stop_at >= 0 && pr->iter >= log->stop_at;
}

/* A stop request from the monitor ends the solve with SV_CANCELLED at the reported round, with x
 * exactly the iterate of that round. */
static void test_cancel_through_monitor(void **state)
{
    (void)state;
    const int d = 8;
    sv_glm_clients c;
    gen(&c, 4, 20, d, SV_LOSS_SQUARED, 1.0, 0.01, 9);
    ef21_problem p = problem_of(&c);
    ef21_settings s;
    ef21_settings_default(&s);
    s.k = 1;
    s.ctl.tol = 0;
    s.ctl.report_every = 10;
    s.ctl.max_iter = 100000;
    monitor_log log = {.stop_at = 30};
    sv_monitor mon = {log_monitor, &log, NULL};
    double x[8] = {0}, xref[8] = {0};
    ef21_info info;
    assert_int_equal(ef21_solve(&p, &s, &mon, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 30);
    assert_int_equal(log.reports, 4);  /* rounds 0, 10, 20, 30; no extra report at the end */
    for (int i = 0; i < 4; i++)
        assert_int_equal(log.iters[i], 10 * i);
    assert_true(log.saw_all_metrics);
    /* Full initialisation (4 clients x 8 doubles) then 30 Top1 rounds of 4 x (64 + 3) bits. */
    assert_true(log.bits[3] == 4 * 8 * 64 + 30 * 4 * 67);
    assert_true(info.bits_sent == 4 * 8 * 64 + 30 * 4 * 67);

    s.ctl.max_iter = 30;
    ef21_info ref;
    assert_int_equal(ef21_solve(&p, &s, NULL, xref, &ref, NULL), SV_OK);
    assert_int_equal(ref.base.status, SV_MAX_ITER);
    assert_memory_equal(x, xref, sizeof x);

    /* The progress reports end with one at the final round when it is not a multiple. */
    monitor_log log2 = {.stop_at = -1};
    sv_monitor mon2 = {log_monitor, &log2, NULL};
    s.ctl.max_iter = 25;
    sv_zero(d, x);
    assert_int_equal(ef21_solve(&p, &s, &mon2, x, &info, NULL), SV_OK);
    assert_int_equal(log2.reports, 4);
    assert_int_equal(log2.iters[3], 25);
    sv_glm_clients_free(&c);
}

/* A step far beyond the theory ends as SV_DIVERGED, not in a loop of NaNs. */
static void test_divergence(void **state)
{
    (void)state;
    sv_glm_clients c;
    gen(&c, 2, 10, 4, SV_LOSS_SQUARED, 0.0, 0.0, 4);
    ef21_problem p = problem_of(&c);
    ef21_settings s;
    ef21_settings_default(&s);
    s.k = 4;
    s.gamma = 1e3;
    s.ctl.max_iter = 100000;
    double x[4] = {1, 1, 1, 1};
    ef21_info info;
    assert_int_equal(ef21_solve(&p, &s, NULL, x, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_DIVERGED);
    assert_true(info.base.iter < 1000);
    sv_glm_clients_free(&c);
}

static void expect_bad_setting(const ef21_problem *p, ef21_settings s, const char *field)
{
    double x[1] = {0};
    ef21_info info;
    sv_err e;
    memset(&e, 0, sizeof e);
    info.base.status = SV_SOLVED;
    assert_int_equal(ef21_solve(p, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, field);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(info.base.status, SV_UNSOLVED);
    assert_int_equal(info.base.iter, 0);
}

/* Invalid settings are refused with the field named, before any allocation: the problem below
 * has a billion columns over a thousand clients, so the solver's workspace (n * d doubles) could
 * not be allocated at all; reaching the allocator first would end in SV_ENOMEM or an ASan abort,
 * not SV_EINVAL. */
static void test_invalid_settings(void **state)
{
    (void)state;
    enum { NCL = 1000 };
    static int rowptr[2] = {0, 0};
    static double b[1] = {1.0};
    sv_mat A;
    memset(&A, 0, sizeof A);
    A.kind = SV_MAT_CSR;
    A.rows = A.csr.rows = 1;
    A.cols = A.csr.cols = 1 << 30;
    A.csr.rowptr = rowptr;
    sv_glm *cl = calloc(NCL, sizeof *cl);
    assert_non_null(cl);
    for (int i = 0; i < NCL; i++) {
        cl[i].loss = SV_LOSS_SQUARED;
        cl[i].A = &A;
        cl[i].b = b;
        cl[i].lambda = 1.0;
    }
    ef21_problem p = {NCL, cl};
    ef21_settings d, s;
    ef21_settings_default(&d);

    s = d; s.variant = 2;           expect_bad_setting(&p, s, "/params/variant");
    s = d; s.k = 0;                 expect_bad_setting(&p, s, "/params/k");
    s = d; s.stepsize = -1;         expect_bad_setting(&p, s, "/params/stepsize");
    s = d; s.gamma = -1;            expect_bad_setting(&p, s, "/params/gamma");
    s = d; s.gamma = INFINITY;      expect_bad_setting(&p, s, "/params/gamma");
    s = d; s.gamma_factor = 0;      expect_bad_setting(&p, s, "/params/gamma_factor");
    s = d; s.init = 5;              expect_bad_setting(&p, s, "/params/init");
    s = d; s.ctl.tol = -1e-3;           expect_bad_setting(&p, s, "/params/tol");
    s = d; s.ctl.tol = NAN;             expect_bad_setting(&p, s, "/params/tol");
    s = d; s.ctl.max_iter = -1;         expect_bad_setting(&p, s, "/params/max_iter");
    s = d; s.ctl.time_limit_s = -2;     expect_bad_setting(&p, s, "/params/time_limit_s");
    s = d; s.ctl.report_every = 0;      expect_bad_setting(&p, s, "/params/report_every");

    /* Problem errors, on the same huge instance: a client of another width, a negative ridge. */
    sv_mat A2 = A;
    A2.cols = A2.csr.cols = 7;
    cl[500].A = &A2;
    expect_bad_setting(&p, d, "/problem/clients/500/A");
    cl[500].A = &A;
    cl[3].lambda = -1;
    expect_bad_setting(&p, d, "/problem/lambda");
    cl[3].lambda = 1;
    p.n_clients = 0;
    expect_bad_setting(&p, d, "/problem/clients");
    free(cl);

    /* On a small problem: k above the dimension, logistic labels, non-finite data and x0, and
     * EF21-W on a client without curvature. */
    sv_glm_clients c;
    gen(&c, 2, 5, 3, SV_LOSS_LOGISTIC, 0.0, 0.0, 1);
    ef21_problem q = problem_of(&c);
    double x[3] = {0, NAN, 0};
    ef21_info info;
    sv_err e;
    s = d;
    s.k = 4;
    assert_int_equal(ef21_solve(&q, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/k");  /* the settings come before x0 */
    s.k = 1;
    assert_int_equal(ef21_solve(&q, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    x[1] = 0;
    c.b[1][3] = 0.0;
    assert_int_equal(ef21_solve(&q, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/clients/1/b/3");
    c.b[1][3] = 1.0;
    c.A[0].dense.data[4] = INFINITY;
    assert_int_equal(ef21_solve(&q, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/clients/0/A");
    c.A[0].dense.data[4] = 0.0;
    sv_zero(5 * 3, c.A[1].dense.data);
    s.variant = EF21_VARIANT_EF21W;
    assert_int_equal(ef21_solve(&q, &s, NULL, x, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/clients/1/A");
    s.variant = EF21_VARIANT_EF21;  /* plain EF21 is fine with a flat client */
    s.ctl.max_iter = 5;
    assert_int_equal(ef21_solve(&q, &s, NULL, x, &info, &e), SV_OK);
    sv_glm_clients_free(&c);
}

/* ============================================================================================
 * Generator and split
 * ========================================================================================== */

static void test_generator(void **state)
{
    (void)state;
    sv_glm_clients a, b, c;
    gen(&a, 4, 6, 3, SV_LOSS_LOGISTIC, 2.0, 0.1, 42);
    gen(&b, 4, 6, 3, SV_LOSS_LOGISTIC, 2.0, 0.1, 42);
    gen(&c, 4, 6, 3, SV_LOSS_LOGISTIC, 2.0, 0.1, 43);
    int differ = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(a.A[i].rows, 6);
        assert_int_equal(a.A[i].cols, 3);
        assert_memory_equal(a.A[i].dense.data, b.A[i].dense.data, 18 * sizeof(double));
        assert_memory_equal(a.b[i], b.b[i], 6 * sizeof(double));
        differ += memcmp(a.A[i].dense.data, c.A[i].dense.data, 18 * sizeof(double)) != 0;
        for (int r = 0; r < 6; r++)
            assert_true(a.b[i][r] == 1.0 || a.b[i][r] == -1.0);
        assert_true(a.glm[i].A == &a.A[i] && a.glm[i].b == a.b[i]);
        assert_true(a.glm[i].lambda == 0.1 && a.glm[i].loss == SV_LOSS_LOGISTIC);
    }
    assert_int_equal(differ, 4);
    sv_glm_clients_free(&a);
    sv_glm_clients_free(&b);
    sv_glm_clients_free(&c);
    sv_glm_clients_free(&c);  /* freeing twice is safe: the container is zeroed */

    /* Heterogeneity h scales client i's rows by 10^(h i / (n-1)): L_i / L_0 follows 10^(2 h i /
     * (n-1)) up to the sampling of the rows (many rows: within a factor 2). */
    sv_glm_clients h;
    gen(&h, 3, 400, 5, SV_LOSS_SQUARED, 1.5, 0.0, 8);
    double L0 = sv_glm_smoothness(&h.glm[0]);
    for (int i = 1; i < 3; i++) {
        double ratio = sv_glm_smoothness(&h.glm[i]) / L0 / pow(10.0, 3.0 * i / 2);
        assert_true(ratio > 0.5 && ratio < 2.0);
    }
    sv_glm_clients_free(&h);

    sv_gen_glm_spec bad = {2, 3, 4, SV_LOSS_SQUARED, 7.0, 0.0, 1};
    sv_err e;
    assert_int_equal(sv_gen_glm_clients(&bad, &a, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/heterogeneity");
    bad.heterogeneity = 1;
    bad.dim = 0;
    assert_int_equal(sv_gen_glm_clients(&bad, &a, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/dim");
}

static void test_split(void **state)
{
    (void)state;
    enum { M = 11, D = 2 };
    double X[M * D], y[M];
    for (int r = 0; r < M; r++) {
        X[2 * r] = r;
        X[2 * r + 1] = -r;
        y[r] = r % 3;
    }
    sv_dataset ds = {M, D, X, y, 3};
    sv_glm_clients c;
    sv_err e;
    /* Contiguous: 11 rows over 3 clients -> 3, 4, 4 rows in file order; class 2 is positive. */
    assert_int_equal(sv_glm_clients_split(&ds, 3, 0, 0, 2, SV_LOSS_LOGISTIC, 0.5, &c, &e), SV_OK);
    int sizes[3] = {3, 4, 4}, next = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c.A[i].rows, sizes[i]);
        for (int r = 0; r < sizes[i]; r++, next++) {
            assert_true(c.A[i].dense.data[2 * r] == next);
            assert_true(c.b[i][r] == (next % 3 == 2 ? 1.0 : -1.0));
        }
        assert_true(c.glm[i].lambda == 0.5);
    }
    sv_glm_clients_free(&c);

    /* Shuffled: a permutation of the rows, reproducible from the seed, labels kept. */
    sv_glm_clients c2;
    assert_int_equal(sv_glm_clients_split(&ds, 3, 1, 99, -1, SV_LOSS_SQUARED, 0, &c, &e), SV_OK);
    assert_int_equal(sv_glm_clients_split(&ds, 3, 1, 99, -1, SV_LOSS_SQUARED, 0, &c2, &e), SV_OK);
    int seen[M] = {0}, moved = 0;
    next = 0;
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(c.A[i].dense.data, c2.A[i].dense.data, sizes[i] * D * sizeof(double));
        for (int r = 0; r < sizes[i]; r++, next++) {
            int src = (int)c.A[i].dense.data[2 * r];
            assert_true(c.A[i].dense.data[2 * r + 1] == -src);
            assert_true(c.b[i][r] == src % 3);
            seen[src]++;
            moved += src != next;
        }
    }
    for (int r = 0; r < M; r++)
        assert_int_equal(seen[r], 1);
    assert_true(moved > 0);
    sv_glm_clients_free(&c);
    sv_glm_clients_free(&c2);

    assert_int_equal(sv_glm_clients_split(&ds, 12, 0, 0, 1, SV_LOSS_LOGISTIC, 0, &c, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/dataset/clients");
    assert_int_equal(sv_glm_clients_split(&ds, 2, 0, 0, -1, SV_LOSS_LOGISTIC, 0, &c, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/dataset/binary_class");
}

/* ============================================================================================
 * Codec
 * ========================================================================================== */

extern const sv_codec sv_codec_ef21;

/* support/codec.h on this file's codec */
#define expect_codec_error(pb, pa, field) sv_test_codec_error(&sv_codec_ef21, pb, pa, field)
#define expect_codec_ok(pb, pa) sv_test_codec_ok(&sv_codec_ef21, pb, pa)
#define run_codec(pb, pa, mon) sv_test_codec_run(&sv_codec_ef21, pb, pa, mon)

static void test_codec_validate(void **state)
{
    (void)state;
    const char *two = "{\"clients\": [{\"A\": [[1, 2], [3, 4], [5, 7]], \"b\": [1, 2, 3]},"
                      " {\"A\": {\"rows\": 1, \"cols\": 2, \"data\": [1, 0]}, \"b\": [4]}],"
                      " \"loss\": \"squared\", \"lambda\": 0.1, \"x0\": [0, 1]}";
    expect_codec_ok(two, NULL);
    expect_codec_ok(two, "{\"k\": 2, \"variant\": \"ef21w\", \"gamma\": 0.5}");
    expect_codec_ok("{\"generate\": {\"clients\": 3, \"rows_per_client\": 5, \"dim\": 4, "
                    "\"loss\": \"logistic\", \"heterogeneity\": 2, \"seed\": 1}}", "{\"k\": 4}");
    expect_codec_ok("{\"dataset\": {\"name\": \"breast_cancer\", \"clients\": 4, \"seed\": 1}}",
                    "{\"k\": 30}");
    expect_codec_ok("{\"dataset\": {\"name\": \"digits\", \"clients\": 10, \"binary_class\": 3}}",
                    NULL);

    /* The form is chosen by exactly one key (api/forms.c words the choice). */
    json_t *pb = json_loads("{\"x0\": [1]}", 0, NULL);
    sv_err e;
    memset(&e, 0, sizeof e);
    assert_int_equal(sv_codec_ef21.validate(pb, NULL, &sv_test_codec_env, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem");
    assert_string_equal(e.msg, "needs one of clients, generate or dataset");
    json_decref(pb);
    pb = json_loads("{\"generate\": {}, \"dataset\": {}}", 0, NULL);
    assert_int_equal(sv_codec_ef21.validate(pb, NULL, &sv_test_codec_env, &e), SV_EINVAL);
    assert_string_equal(e.msg, "give only one of clients, generate and dataset");
    json_decref(pb);

    /* Bad shapes and lengths. */
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2], [3]], \"b\": [1, 2]}]}", NULL,
                       "/problem/clients/0/A/1");
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2], [3, 4]], \"b\": [1, 2, 3]}]}", NULL,
                       "/problem/clients/0/b");
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2]], \"b\": [1]}, {\"A\": [[1, 2, 3]], "
                       "\"b\": [1]}]}", NULL, "/problem/clients/1/A");
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2]], \"b\": [1]}], \"x0\": [1, 2, 3]}", NULL,
                       "/problem/x0");
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2]], \"b\": [1], \"w\": [1]}]}", NULL,
                       "/problem/clients/0/w");
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2]], \"b\": [1]}], \"mu\": 1}", NULL,
                       "/problem/mu");
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2]]}]}", NULL, "/problem/clients/0/b");
    expect_codec_error("{\"clients\": []}", NULL, "/problem/clients");
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2], [0, 1]], \"b\": [1, 0]}], "
                       "\"loss\": \"logistic\"}", NULL, "/problem/clients/0/b/1");
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2]], \"b\": [1]}], \"loss\": \"hinge\"}",
                       NULL, "/problem/loss");
    expect_codec_error("{\"clients\": [{\"A\": [[1, 2]], \"b\": [1]}], \"lambda\": -1}", NULL,
                       "/problem/lambda");
    expect_codec_error("{}", NULL, "/problem");
    expect_codec_error("{\"clients\": [{\"A\": [[1]], \"b\": [1]}], \"generate\": {}}", NULL,
                       "/problem");

    /* Params. */
    expect_codec_error(two, "{\"k\": 3}", "/params/k");
    expect_codec_error(two, "{\"speed\": 3}", "/params/speed");
    expect_codec_error(two, "{\"variant\": \"ef22\"}", "/params/variant");
    expect_codec_error(two, "{\"gamma\": -1}", "/params/gamma");

    /* Generated and data set problems. */
    expect_codec_error("{\"generate\": {\"clients\": 3, \"rows_per_client\": 5, \"dim\": 4, "
                       "\"heterogeneity\": 9}}", NULL, "/problem/generate/heterogeneity");
    expect_codec_error("{\"generate\": {\"clients\": 3, \"dim\": 4}}", NULL,
                       "/problem/generate/rows_per_client");
    expect_codec_error("{\"generate\": {\"clients\": 1000, \"rows_per_client\": 1000, "
                       "\"dim\": 1000}}", NULL, "/problem/generate");
    expect_codec_error("{\"dataset\": {\"name\": \"../etc/passwd\", \"clients\": 2}}", NULL,
                       "/problem/dataset/name");
    expect_codec_error("{\"dataset\": {\"name\": \"iris\", \"clients\": 2}}", NULL,
                       "/problem/dataset/name");
    expect_codec_error("{\"dataset\": {\"name\": \"breast_cancer\", \"clients\": 570}}", NULL,
                       "/problem/dataset/clients");
    expect_codec_error("{\"dataset\": {\"name\": \"digits\", \"clients\": 2}}", NULL,
                       "/problem/dataset/binary_class");
    expect_codec_error("{\"dataset\": {\"name\": \"breast_cancer\", \"clients\": 2}, "
                       "\"x0\": [1]}", NULL, "/problem/x0");
}

/* The explicit clients form reaches the normal-equations solution of its own data. */
static void test_codec_run_clients(void **state)
{
    (void)state;
    json_t *res = run_codec(
        "{\"clients\": [{\"A\": [[1, 2], [3, 4], [5, 7]], \"b\": [1, 2, 3]},"
        " {\"A\": {\"rows\": 2, \"cols\": 2, \"data\": [10, 0, 0, 1]}, \"b\": [4, -1]}],"
        " \"lambda\": 0.1}",
        "{\"k\": 1, \"variant\": \"ef21w\", \"tol\": 1e-10, \"max_iter\": 100000}", NULL);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    /* (1/2)[A1'A1/3 + A2'A2/2] + 0.1 I, rhs (1/2)[A1'b1/3 + A2'b2/2]. */
    double H[4] = {0.5 * (35.0 / 3 + 50) + 0.1, 0.5 * (49.0 / 3), 0.5 * (49.0 / 3),
                   0.5 * (69.0 / 3 + 0.5) + 0.1};
    double r[2] = {0.5 * (22.0 / 3 + 20), 0.5 * (31.0 / 3 - 0.5)};
    assert_int_equal(sv_solve_spd(2, H, r, 1), SV_OK);
    json_t *x = json_object_get(res, "x");
    assert_int_equal(json_array_size(x), 2);
    for (int j = 0; j < 2; j++)
        assert_true(fabs(json_number_value(json_array_get(x, (size_t)j)) - r[j]) < 1e-9);
    const char *keys[] = {"iterations", "objective", "grad_norm", "bits_sent", "floats_sent",
                          "gamma", "solve_time_s"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_true(json_is_number(json_object_get(res, keys[i])));
    long long iters = json_integer_value(json_object_get(res, "iterations"));
    /* 2 clients, d = 2: dense start 2 x 2 x 64 bits, then 2 x (64 + 1) per round. */
    assert_true(json_integer_value(json_object_get(res, "bits_sent")) == 256 + iters * 130);
    json_decref(res);
}

/* The catalog example is complete and solves. */
static void test_codec_example(void **state)
{
    (void)state;
    json_t *ex = sv_codec_ef21.example();
    assert_non_null(ex);
    sv_err e;
    const sv_codec_env *env = &sv_test_codec_env;
    assert_int_equal(sv_codec_ef21.validate(json_object_get(ex, "problem"),
                                            json_object_get(ex, "params"), env, &e), SV_OK);
    json_t *res = NULL;
    assert_int_equal(sv_codec_ef21.run(json_object_get(ex, "problem"), json_object_get(ex, "params"),
                                       env, NULL, &res, &e), SV_OK);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    json_decref(res);
    json_decref(ex);

    json_t *schema = sv_codec_params_schema(&sv_codec_ef21);
    assert_non_null(schema);
    json_decref(schema);
    schema = sv_codec_ef21.problem_schema();
    assert_non_null(schema);
    json_decref(schema);
}

/* Real data: breast_cancer split over 4 clients, logistic loss: Top5 of the 30 coordinates per
 * round brings the gradient norm from 1.41 at the origin to 1e-4, a drop of 1e4. */
static void test_breast_cancer_logistic(void **state)
{
    (void)state;
    monitor_log log = {.stop_at = -1};
    sv_monitor mon = {log_monitor, &log, NULL};
    json_t *res = run_codec(
        "{\"dataset\": {\"name\": \"breast_cancer\", \"clients\": 4, \"seed\": 1, "
        "\"loss\": \"logistic\", \"lambda\": 1e-2}}",
        "{\"k\": 5, \"tol\": 1e-4, \"max_iter\": 30000, \"report_every\": 1000}", &mon);
    assert_string_equal(json_string_value(json_object_get(res, "status")), "solved");
    assert_int_equal(json_integer_value(json_object_get(res, "clients")), 4);
    double g = json_number_value(json_object_get(res, "grad_norm"));
    assert_true(log.first_grad_norm > 1.0);
    if (!(g <= 1e-3 * log.first_grad_norm))
        fail_msg("gradient norm %g from %g", g, log.first_grad_norm);
    json_decref(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_least_squares_optimum),
        cmocka_unit_test(test_heterogeneous_steps_and_convergence),
        cmocka_unit_test(test_weighted_equals_plain_for_topk),
        cmocka_unit_test(test_full_topk_is_gradient_descent),
        cmocka_unit_test(test_bits_accounting),
        cmocka_unit_test(test_cancel_through_monitor),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_invalid_settings),
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_codec_validate),
        cmocka_unit_test(test_codec_run_clients),
        cmocka_unit_test(test_codec_example),
        cmocka_unit_test(test_breast_cancer_logistic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
