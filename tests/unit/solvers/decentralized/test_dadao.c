/* test_dadao.c - DADAO (core/solvers/decentralized/dadao.c) and the decentralized.dadao codec
 * (api/codecs/decentralized/dadao.c). Reference answers: the centralized ridge solution from the
 * normal equations (support/glm_reference.h), the centralized logistic solution by Newton's
 * method written out here, the flow against a Taylor series of exp(tau M) built from the ODE's
 * coefficients, chi_1 and chi_2 against the closed-form spectra and resistances of rings,
 * complete graphs and stars, and the clocks' counts against their Poisson laws. */
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
#include "core/models/graph.h"
#include "core/solvers/decentralized/dadao.h"
#include "support/codec.h"
#include "support/glm_reference.h"
#include "support/numeric.h"
#include "support/monitor.h"
#include "support/agents.h"

extern const sv_codec sv_codec_dadao;

/* ---- the flow between events ---- */

/* exp(tau M) by scaling and squaring a 40-term Taylor series, M written from the paper's ODE
 * and constants (nu = mu/2, s = sqrt(nu/L): eta = eta~ = s/8, alpha = s/4, alpha~ = s/8,
 * theta = 1/(2s)). */
static void taylor_expm(double mu, double L, double tau, double E[36])
{
    double nu = mu / 2, s = sqrt(nu / L), eta = s / 8, al = s / 4, alt = s / 8, th = 1 / (2 * s);
    double M[36] = {0};
    M[0] = -eta, M[1] = eta;               /* dx  = eta (x~ - x) */
    M[6] = eta, M[7] = -eta;               /* dx~ = eta~ (x - x~) */
    M[14] = -al, M[15] = al;               /* dy  = alpha (y~ - y) */
    M[19] = -th * nu, M[20] = -th, M[22] = -th;  /* dy~ = -theta (nu x~ + y + z) */
    M[28] = -al, M[29] = al;               /* dz  = alpha (z~ - z) */
    M[34] = alt, M[35] = -alt;             /* dz~ = alpha~ (z - z~) */
    double norm = 0;
    for (int i = 0; i < 36; i++)
        norm = fmax(norm, fabs(M[i]) * tau * 6);
    int sq = 0;
    while (norm > 0.5) {
        norm /= 2;
        sq++;
    }
    double scale = tau / pow(2, sq), T[36], U[36];
    for (int i = 0; i < 36; i++) {
        E[i] = (i % 7 == 0);
        T[i] = E[i];
    }
    for (int k = 1; k <= 40; k++) {
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) {
                double v = 0;
                for (int l = 0; l < 6; l++)
                    v += T[i * 6 + l] * M[l * 6 + j] * scale;
                U[i * 6 + j] = v / k;
            }
        for (int i = 0; i < 36; i++) {
            T[i] = U[i];
            E[i] += T[i];
        }
    }
    for (int r = 0; r < sq; r++) {
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) {
                double v = 0;
                for (int l = 0; l < 6; l++)
                    v += E[i * 6 + l] * E[l * 6 + j];
                U[i * 6 + j] = v;
            }
        memcpy(E, U, sizeof U);
    }
}

static void test_flow_closed_form(void **state)
{
    (void)state;
    double cases[][3] = {{0.3, 7.0, 0.01}, {0.3, 7.0, 1.0}, {0.3, 7.0, 37.0},
                         {1.0, 1.0, 5.0}, {0.01, 50.0, 300.0}};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        double E[36], T[36];
        dadao_flow_matrix(cases[t][0], cases[t][1], cases[t][2], E);
        taylor_expm(cases[t][0], cases[t][1], cases[t][2], T);
        double big = 1;  /* the entries reach theta = 1/(2s): the error relative to them */
        for (int i = 0; i < 36; i++)
            big = fmax(big, fabs(T[i]));
        double err = sv_test_max_abs_diff(36, E, T) / big;
        if (!(err < 1e-10))
            fprintf(stderr, "case %zu: |closed form - Taylor| / max |E| = %g\n", t, err);
        assert_true(err < 1e-10);
    }
    /* the semigroup: exp(a M) exp(b M) = exp((a + b) M), and exp(0) = I */
    double A[36], B[36], C[36], P[36];
    dadao_flow_matrix(0.2, 3.0, 2.5, A);
    dadao_flow_matrix(0.2, 3.0, 4.0, B);
    dadao_flow_matrix(0.2, 3.0, 6.5, C);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            double v = 0;
            for (int l = 0; l < 6; l++)
                v += A[i * 6 + l] * B[l * 6 + j];
            P[i * 6 + j] = v;
        }
    assert_true(sv_test_max_abs_diff(36, P, C) < 1e-12);
    dadao_flow_matrix(0.2, 3.0, 0.0, A);
    for (int i = 0; i < 36; i++)
        assert_true(fabs(A[i] - (i % 7 == 0)) < 1e-15);
}

/* ---- chi_1, chi_2 ---- */

static void test_graph_constants(void **state)
{
    (void)state;
    const double pi = acos(-1.0);
    /* ring of n: lambda_2 = 2 - 2 cos(2 pi / n), adjacent resistance (n - 1) / n, |E| = n */
    for (int n = 3; n <= 12; n += 9) {
        sv_graph g;
        sv_test_topology(&g, SV_GRAPH_RING, n);
        double c1, c2, l2, mr;
        assert_int_equal(dadao_graph_constants(&g, 1.0, &c1, &c2, &l2, &mr), SV_OK);
        double l2x = 2 - 2 * cos(2 * pi / n);
        assert_true(fabs(l2 - l2x) < 1e-12);
        assert_true(fabs(c1 - n / l2x) < 1e-9 * c1);
        assert_true(fabs(c2 - 0.5 * n * (n - 1.0) / n) < 1e-9 * c2);
        assert_true(fabs(mr - sqrt(2 * c1 * c2)) < 1e-12 * mr);
        /* at rate r both scale as 1 / r */
        double d1, d2;
        assert_int_equal(dadao_graph_constants(&g, 4.0, &d1, &d2, NULL, NULL), SV_OK);
        assert_true(fabs(d1 - c1 / 4) < 1e-12 * c1 && fabs(d2 - c2 / 4) < 1e-12 * c2);
        sv_graph_free(&g);
    }
    /* complete K_n: lambda_2 = n, resistance 2/n, |E| = n(n-1)/2: chi_1 = chi_2 = (n-1)/2 */
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_COMPLETE, 7);
    double c1, c2, l2, mr;
    assert_int_equal(dadao_graph_constants(&g, 1.0, &c1, &c2, &l2, &mr), SV_OK);
    assert_true(fabs(l2 - 7) < 1e-12 && fabs(c1 - 3) < 1e-12 && fabs(c2 - 3) < 1e-12);
    sv_graph_free(&g);
    /* star of n: lambda_2 = 1, resistance 1, |E| = n - 1: chi_1 = n - 1, chi_2 = (n - 1)/2 */
    sv_test_topology(&g, SV_GRAPH_STAR, 9);
    assert_int_equal(dadao_graph_constants(&g, 1.0, &c1, &c2, &l2, &mr), SV_OK);
    assert_true(fabs(l2 - 1) < 1e-12 && fabs(c1 - 8) < 1e-11 && fabs(c2 - 4) < 1e-11);
    assert_true(c2 <= c1);
    sv_graph_free(&g);
    /* one agent: nothing to gossip */
    sv_test_topology(&g, SV_GRAPH_RING, 1);
    assert_int_equal(dadao_graph_constants(&g, 1.0, &c1, &c2, &l2, &mr), SV_OK);
    assert_true(c1 == 0 && c2 == 0 && l2 == 0 && mr == 0);
    sv_graph_free(&g);
}

/* ---- the solver ---- */

static void run(const sv_glm_clients *c, const sv_graph *g, const dadao_settings *s, double *x,
                double *nodes, dadao_info *info)
{
    dadao_problem p = {g, c->glm};
    sv_err e;
    memset(x, 0, sizeof(double) * (size_t)c->dim);
    int rc = dadao_solve(&p, s, NULL, x, nodes, info, &e);
    if (rc != SV_OK)
        fprintf(stderr, "dadao_solve: %s at %s\n", e.msg, e.field);
    assert_int_equal(rc, SV_OK);
}

/* On ring and grid graphs every agent reaches the centralized ridge solution of the normal
 * equations, and the run ends solved with the paper's constants (rate factor 1: 2 chi_1 chi_2
 * = 1). */
static void test_reaches_ridge_solution(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 16, 20, 5, 0.5, 0.1, 3);
    double xstar[5], x[5], nodes[16 * 5];
    sv_test_clients_normal_equations(&c, 0.1, xstar);
    int tops[] = {SV_GRAPH_RING, SV_GRAPH_GRID};
    for (int t = 0; t < 2; t++) {
        sv_graph g;
        sv_test_topology(&g, tops[t], 16);
        dadao_settings s;
        dadao_settings_default(&s);
        s.ctl.tol = 1e-9;
        dadao_info info;
        run(&c, &g, &s, x, nodes, &info);
        double err = sv_test_dist(5, x, xstar) / sv_nrm2(5, xstar), worst = 0;
        for (int i = 0; i < 16; i++)
            worst = fmax(worst, sv_test_dist(5, nodes + 5 * i, xstar) / sv_nrm2(5, xstar));
        fprintf(stderr, "topology %d: error %.3g (worst agent %.3g) after %ld events, t = %.1f, "
                "%ld gradients, %ld communications, chi_1 %.4g chi_2 %.4g\n", tops[t], err,
                worst, info.base.iter, info.time, info.gradient_evals, info.communications,
                info.chi_1, info.chi_2);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(err < 1e-7);
        assert_true(worst < 1e-7);
        assert_int_equal(info.gradient_evals + info.communications, info.base.iter);
        assert_true(fabs(2 * info.chi_1 * info.chi_2 - 1) < 1e-9);
        assert_true(info.chi_2 <= info.chi_1);
        assert_true(info.consensus < 1e-8);
        sv_graph_free(&g);
    }
    sv_glm_clients_free(&c);
}

/* The centralized logistic solution by Newton's method on f = (1/n) sum_i f_i, gradients and
 * Hessians summed sample by sample. */
static void logistic_newton(const sv_glm_clients *c, double lambda, double *x)
{
    int n = c->n_clients, d = c->dim;
    double H[64], g[8];
    assert_true(d <= 8);
    memset(x, 0, sizeof(double) * (size_t)d);
    for (int it = 0; it < 50; it++) {
        memset(H, 0, sizeof H);
        for (int j = 0; j < d; j++) {
            g[j] = lambda * x[j];
            H[j * d + j] = lambda;
        }
        for (int i = 0; i < n; i++) {
            const sv_dense *A = &c->A[i].dense;
            double wgt = 1.0 / ((double)n * A->rows);
            for (int r = 0; r < A->rows; r++) {
                const double *a = A->data + (size_t)r * d;
                double z = 0, b = c->b[i][r];
                for (int j = 0; j < d; j++)
                    z += a[j] * x[j];
                double sg = 1 / (1 + exp(b * z));  /* sigma(-b z) */
                for (int j = 0; j < d; j++) {
                    g[j] -= wgt * b * sg * a[j];
                    for (int k = 0; k < d; k++)
                        H[j * d + k] += wgt * sg * (1 - sg) * a[j] * a[k];
                }
            }
        }
        /* Gaussian elimination of H dx = g (H positive definite: no pivoting needed) */
        for (int p = 0; p < d; p++)
            for (int r = p + 1; r < d; r++) {
                double f = H[r * d + p] / H[p * d + p];
                for (int k = p; k < d; k++)
                    H[r * d + k] -= f * H[p * d + k];
                g[r] -= f * g[p];
            }
        for (int p = d - 1; p >= 0; p--) {
            for (int k = p + 1; k < d; k++)
                g[p] -= H[p * d + k] * g[k];
            g[p] /= H[p * d + p];
        }
        for (int j = 0; j < d; j++)
            x[j] -= g[j];
    }
}

static void test_reaches_logistic_solution(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_LOGISTIC, 12, 30, 4, 0.3, 0.05, 5);
    double xstar[4], x[4];
    logistic_newton(&c, 0.05, xstar);
    int tops[] = {SV_GRAPH_RING, SV_GRAPH_GRID};
    for (int t = 0; t < 2; t++) {
        sv_graph g;
        sv_test_topology(&g, tops[t], 12);
        dadao_settings s;
        dadao_settings_default(&s);
        s.ctl.tol = 1e-9;
        dadao_info info;
        run(&c, &g, &s, x, NULL, &info);
        double err = sv_test_dist(4, x, xstar) / sv_nrm2(4, xstar);
        fprintf(stderr, "logistic, topology %d: error %.3g after %ld events (mu %g, L %g)\n",
                tops[t], err, info.base.iter, info.mu, info.smooth);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(fabs(info.mu - 0.05) < 1e-15);  /* logistic: mu is the ridge */
        assert_true(err < 1e-7);
        sv_graph_free(&g);
    }
    sv_glm_clients_free(&c);
}

/* The clocks: over the time reached, the gradient count is Poisson(n t) and the communication
 * count Poisson(rate t); both lie within 5 standard deviations. A larger rate factor buys
 * proportionally more communications per unit time. */
static void test_clock_rates(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 9, 10, 3, 0.0, 0.1, 1);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_GRID, 9);
    double x[3];
    for (int f = 1; f <= 4; f *= 4) {
        dadao_settings s;
        dadao_settings_default(&s);
        s.rate_factor = f;
        s.ctl.tol = 0;
        s.ctl.max_iter = 200000;
        s.ctl.report_every = 200000;
        dadao_info info;
        run(&c, &g, &s, x, NULL, &info);
        assert_int_equal(info.base.status, SV_MAX_ITER);
        double eg = 9 * info.time, ec = info.comm_rate * info.time;
        assert_true(fabs(info.gradient_evals - eg) < 5 * sqrt(eg) + 5);
        assert_true(fabs(info.communications - ec) < 5 * sqrt(ec) + 5);
        double c1, c2, mr;
        assert_int_equal(dadao_graph_constants(&g, 1.0, &c1, &c2, NULL, &mr), SV_OK);
        assert_true(fabs(info.comm_rate - f * mr) < 1e-12 * mr);
        assert_true(fabs(info.chi_1 - c1 / (f * mr)) < 1e-12 * c1);
    }
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* One seed, one run; another seed, another path. Checks read the agents without moving them:
 * reporting at every event gives the same iterates as reporting never. */
static void test_seeded_and_checks_inert(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 9, 8, 3, 0.0, 0.1, 1);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_GRID, 9);
    dadao_settings s;
    dadao_settings_default(&s);
    s.ctl.max_iter = 5000;
    s.ctl.tol = 0;
    s.ctl.report_every = 1000000;
    double x1[3], x2[3], n1[27], n2[27];
    dadao_info info;
    run(&c, &g, &s, x1, n1, &info);
    run(&c, &g, &s, x2, n2, &info);
    assert_memory_equal(n1, n2, sizeof n1);
    s.ctl.report_every = 1;
    run(&c, &g, &s, x2, n2, &info);
    assert_memory_equal(n1, n2, sizeof n1);
    s.seed = 2;
    run(&c, &g, &s, x2, n2, &info);
    assert_true(sv_test_max_abs_diff(27, n1, n2) > 0);
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* A stop request is read between reports, and a time limit holds with a huge report_every. */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 8, 10, 3, 0.0, 0.1, 1);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_RING, 8);
    dadao_settings s;
    dadao_settings_default(&s);
    s.ctl.tol = 0;
    s.ctl.max_iter = 1000000000L;
    s.ctl.report_every = 1000000000L;
    double x[3] = {0};
    dadao_problem p = {&g, c.glm};
    dadao_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    assert_int_equal(dadao_solve(&p, &s, &mon, x, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_true(info.base.iter < 1000);
    s.ctl.time_limit_s = 0.2;
    memset(x, 0, sizeof x);
    assert_int_equal(dadao_solve(&p, &s, NULL, x, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(info.base.iter > 1000);
    assert_true(isfinite(info.base.obj) && isfinite(info.grad_norm) && info.time > 0);
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

static void test_bad_input(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 4, 5, 2, 0.0, 0.1, 1);
    int split[] = {0, 1, 2, 3};
    sv_graph g;
    sv_err e;
    assert_int_equal(sv_graph_from_edges(4, 2, split, "/problem/edges", &g, &e), SV_OK);
    dadao_settings s;
    dadao_settings_default(&s);
    dadao_problem p = {&g, c.glm};
    double x[2] = {0};
    dadao_info info;
    assert_int_equal(dadao_solve(&p, &s, NULL, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/graph");
    sv_graph_free(&g);
    sv_test_topology(&g, SV_GRAPH_RING, 4);
    s.rate_factor = 0;  /* exclusive lower bound */
    assert_int_equal(dadao_solve(&p, &s, NULL, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/rate_factor");
    dadao_settings_default(&s);
    s.mu = 2;
    s.smooth = 1;
    assert_int_equal(dadao_solve(&p, &s, NULL, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/mu");
    sv_glm_clients_free(&c);
    /* logistic without ridge is not strongly convex */
    sv_test_agents(&c, SV_LOSS_LOGISTIC, 4, 5, 2, 0.0, 0.0, 1);
    p.agents = c.glm;
    dadao_settings_default(&s);
    assert_int_equal(dadao_solve(&p, &s, NULL, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/lambda");
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* ---- the codec ---- */

#define GEN "\"generate\": {\"clients\": 4, \"rows_per_client\": 5, \"dim\": 2, \"lambda\": 0.1}"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_dadao;
    sv_test_codec_ok(C, "{" GEN "}", NULL);
    sv_test_codec_ok(C, "{" GEN ", \"edges\": [[0,1],[1,2],[2,3]]}", NULL);
    sv_test_codec_error(C, "{" GEN ", \"edges\": [[0,1],[2,3]]}", NULL, "/problem/edges");
    sv_test_codec_error(C, "{" GEN ", \"edges\": [[0,1],[1,4]]}", NULL, "/problem/edges/1/1");
    sv_test_codec_error(C, "{" GEN ", \"graph\": {\"topology\": \"torus\"}}", NULL,
                        "/problem/graph/topology");
    sv_test_codec_error(C, "{\"generate\": {\"clients\": 1001, \"rows_per_client\": 1, "
                        "\"dim\": 1}}", NULL, "/problem/generate/clients");
    sv_test_codec_error(C, "{" GEN "}", "{\"rate_factor\": 0}", "/params/rate_factor");
    sv_test_codec_error(C, "{" GEN "}", "{\"mu\": 2, \"smoothness\": 1}", "/params/mu");
    sv_test_codec_error(C, "{" GEN "}", "{\"l\": 1}", "/params/l");
    sv_test_codec_error(C, "{\"clients\": [{\"A\": [[1, 2]], \"b\": [1, 2]}]}", NULL,
                        "/problem/clients/0/b");
}

/* Explicit agents on an explicit path graph: the result against the normal equations, and the
 * path's spectrum (P_3: lambda_2 = 1, edge resistances 1). */
static void test_codec_run(void **state)
{
    (void)state;
    const char *problem =
        "{\"clients\": [{\"A\": [[1, 0], [0, 1]], \"b\": [1, 2]},"
        " {\"A\": [[1, 1], [1, -1]], \"b\": [3, 1]}, {\"A\": [[2, 0], [0, 2]], \"b\": [2, 2]}],"
        " \"lambda\": 0.1, \"edges\": [[0, 1], [1, 2]]}";
    json_t *r = sv_test_codec_run(&sv_codec_dadao, problem, "{\"tol\": 1e-8}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    /* normal equations: (1/3) sum_i (A_i'A_i / 2 + 0.1 I) x = (1/3) sum_i A_i'b_i / 2 */
    double h = (1 + 2 + 4) / 2.0 + 0.3;
    double xs[2] = {(1 + 4 + 4) / 2.0 / h, (2 + 2 + 4) / 2.0 / h};
    json_t *x = json_object_get(r, "x");
    for (int j = 0; j < 2; j++)
        assert_true(fabs(json_number_value(json_array_get(x, (size_t)j)) - xs[j]) < 1e-6);
    /* unit rate on P_3: chi_1 = |E| / lambda_2 = 2, chi_2 = |E| R / 2 = 1, rate sqrt(2 * 2 * 1) */
    double rate = json_number_value(json_object_get(r, "comm_rate"));
    assert_true(fabs(rate - 2) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "chi_1")) - 1) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "chi_2")) - 0.5) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(r, "lambda_2")) - 1) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(r, "agents")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "edges")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "gradient_evals")) +
                         json_integer_value(json_object_get(r, "communications")),
                     json_integer_value(json_object_get(r, "iterations")));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_closed_form),
        cmocka_unit_test(test_graph_constants),
        cmocka_unit_test(test_reaches_ridge_solution),
        cmocka_unit_test(test_reaches_logistic_solution),
        cmocka_unit_test(test_clock_rates),
        cmocka_unit_test(test_seeded_and_checks_inert),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
