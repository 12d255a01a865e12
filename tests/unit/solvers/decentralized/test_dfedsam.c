/* test_dfedsam.c - DFedSAM / DFedSAM-MGS (core/solvers/decentralized/dfedsam.c) and the
 * decentralized.dfedsam codec (api/codecs/decentralized/dfedsam.c). Reference answers: the ridge
 * normal equations solved by Cholesky (support/glm_reference.h), the logistic optimum by a
 * Newton iteration written out here, the ring's gossip spectrum in closed form, operation counts
 * by formula, and the paper's claim (more gossip steps, smaller consensus error) on fixed runs. */
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
#include "core/rng.h"
#include "core/solvers/decentralized/dfedsam.h"
#include "support/codec.h"
#include "support/glm_reference.h"
#include "support/numeric.h"
#include "support/monitor.h"
#include "support/agents.h"

extern const sv_codec sv_codec_dfedsam;

/* Runs from zeros; x gets x_bar, models (may be NULL) every agent's model. */
static void run(const sv_glm_clients *c, const sv_graph *g, const dfedsam_settings *s, double *x,
                double *models, dfedsam_info *info)
{
    dfedsam_problem p = {g, c->glm};
    double *x0 = calloc((size_t)c->dim, sizeof *x0);
    sv_err e;
    int rc = dfedsam_solve(&p, s, NULL, x0, x, models, info, &e);
    if (rc != SV_OK)
        fprintf(stderr, "dfedsam_solve: %s: %s\n", e.field, e.msg);
    assert_int_equal(rc, SV_OK);
    free(x0);
}

/* The largest relative distance of the n models to xstar. */
static double worst_model(const double *models, int n, int d, const double *xstar)
{
    double worst = 0;
    for (int i = 0; i < n; i++)
        worst = fmax(worst, sv_test_dist(d, models + (size_t)i * (size_t)d, xstar));
    return worst / sv_nrm2(d, xstar);
}

/* ---- the small-block local gradient ---- */

/* sv__dfedsam_block_grad against the gradient written out in long double: both losses, sample
 * weights, a per-coordinate ridge, and sizes that leave rows and columns past a multiple of 4
 * (the vector path's tails) as well as exact multiples. A block past DFEDSAM_BLOCK_ENTRIES is
 * refused (0) and grad left alone. */
static void test_block_grad(void **state)
{
    (void)state;
    const int sizes[][2] = {{50, 20}, {23, 13}, {4, 4}, {3, 5}, {1, 1}, {9, 31}};
    sv_rng r;
    sv_rng_seed(&r, 5);
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        for (int loss = 0; loss < 2; loss++) {
            int m = sizes[t][0], d = sizes[t][1];
            double *A = malloc((size_t)m * d * sizeof *A), *b = malloc((size_t)m * sizeof *b),
                   *w = malloc((size_t)m * sizeof *w), *lv = malloc((size_t)d * sizeof *lv),
                   *x = malloc((size_t)d * sizeof *x), *g = malloc((size_t)d * sizeof *g);
            for (int k = 0; k < m * d; k++)
                A[k] = sv_rng_normal(&r);
            for (int i = 0; i < m; i++) {
                b[i] = loss ? (sv_rng_uniform(&r) < 0.5 ? -1.0 : 1.0) : sv_rng_normal(&r);
                w[i] = 0.5 + sv_rng_uniform(&r);
            }
            for (int j = 0; j < d; j++) {
                lv[j] = 0.1 * (j + 1);
                x[j] = sv_rng_normal(&r);
            }
            sv_mat M;
            memset(&M, 0, sizeof M);
            M.kind = SV_MAT_DENSE;
            M.rows = M.dense.rows = m;
            M.cols = M.dense.cols = d;
            M.dense.data = A;
            sv_glm c = {loss ? SV_LOSS_LOGISTIC : SV_LOSS_SQUARED, &M, b, t % 2 ? w : NULL, 0.3,
                        t % 3 == 1 ? lv : NULL};
            int ran = sv__dfedsam_block_grad(&c, x, g);
            if (!ran) {
                fprintf(stderr, "block_grad: no AVX2/FMA here, the vector path is not tested\n");
                free(A), free(b), free(w), free(lv), free(x), free(g);
                return;
            }
            double err = 0, nrm = 0;
            for (int j = 0; j < d; j++) {
                long double gj = (long double)(c.lambda_vec ? lv[j] : c.lambda) * x[j];
                for (int i = 0; i < m; i++) {
                    long double z = 0;
                    for (int k = 0; k < d; k++)
                        z += (long double)A[(size_t)i * d + k] * x[k];
                    double d1;
                    (void)sv_loss_eval(c.loss, (double)z, b[i], &d1, NULL);
                    gj += (long double)(c.w ? w[i] : 1.0) * d1 * A[(size_t)i * d + j] / m;
                }
                err = fmax(err, fabs((double)(g[j] - gj)));
                nrm = fmax(nrm, fabs((double)gj));
            }
            assert_true(err <= 1e-13 * fmax(nrm, 1.0));
            free(A), free(b), free(w), free(lv), free(x), free(g);
        }
    }
    /* too large a block: refused, grad untouched */
    int m = 100, d = DFEDSAM_BLOCK_ENTRIES / 100 + 1;
    double *A = calloc((size_t)m * d, sizeof *A), *b = calloc((size_t)m, sizeof *b),
           *x = calloc((size_t)d, sizeof *x), *g = malloc((size_t)d * sizeof *g);
    for (int j = 0; j < d; j++)
        g[j] = 7.0;
    sv_mat M;
    memset(&M, 0, sizeof M);
    M.kind = SV_MAT_DENSE;
    M.rows = M.dense.rows = m;
    M.cols = M.dense.cols = d;
    M.dense.data = A;
    sv_glm c = {SV_LOSS_SQUARED, &M, b, NULL, 0.1, NULL};
    assert_int_equal(sv__dfedsam_block_grad(&c, x, g), 0);
    for (int j = 0; j < d; j++)
        assert_true(g[j] == 7.0);
    free(A), free(b), free(x), free(g);
}

/* ---- the gossip matrix ---- */

/* The ring's Metropolis matrix is (I + S + S') / 3 (every degree 2): eigenvalues
 * (1 + 2 cos(2 pi k / n)) / 3, so lambda = (1 + 2 cos(2 pi / n)) / 3 for n >= 6; the complete
 * graph's is 11'/n, lambda = 0; a star's (hub degree n-1) has W = I - L/n, lambda = 1 - 1/n. */
static void test_spectral_gap(void **state)
{
    (void)state;
    int sizes[] = {6, 16, 50};
    for (int t = 0; t < 3; t++) {
        int n = sizes[t];
        sv_graph g;
        sv_test_topology(&g, SV_GRAPH_RING, n);
        double *W = malloc(sizeof(double) * (size_t)n * (size_t)n);
        double lam = dfedsam_mixing_lambda(&g, W);
        assert_true(fabs(lam - (1 + 2 * cos(2 * M_PI / n)) / 3) < 1e-12);
        free(W);
        sv_graph_free(&g);
    }
    sv_graph g;
    double W[64];
    sv_test_topology(&g, SV_GRAPH_COMPLETE, 8);
    assert_true(fabs(dfedsam_mixing_lambda(&g, W)) < 1e-12);
    sv_graph_free(&g);
    sv_test_topology(&g, SV_GRAPH_STAR, 8);
    assert_true(fabs(dfedsam_mixing_lambda(&g, W) - (1 - 1.0 / 8)) < 1e-12);
    sv_graph_free(&g);
    sv_test_topology(&g, SV_GRAPH_RING, 1);
    assert_true(dfedsam_mixing_lambda(&g, W) == 0.0);
    sv_graph_free(&g);
}

/* ---- the solver ---- */

/* With the defaults (full batch, power-decaying steps and perturbation) on ring and grid graphs,
 * the average model and every agent's model reach the centralized ridge solution of the normal
 * equations, and the run ends solved; the info's counts follow their formulas. */
static void test_reaches_centralized_ridge(void **state)
{
    (void)state;
    const int n = 16, d = 5;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, n, 20, d, 0.5, 0.1, 3);
    double xstar[5], x[5], models[16 * 5];
    sv_test_clients_normal_equations(&c, 0.1, xstar);
    int tops[] = {SV_GRAPH_RING, SV_GRAPH_GRID};
    for (int t = 0; t < 2; t++) {
        for (int Q = 1; Q <= 2; Q++) {
            sv_graph g;
            sv_test_topology(&g, tops[t], n);
            dfedsam_settings s;
            dfedsam_settings_default(&s);
            s.gossip_steps = Q;
            dfedsam_info info;
            run(&c, &g, &s, x, models, &info);
            double err = sv_test_dist(d, x, xstar) / sv_nrm2(d, xstar);
            double worst = worst_model(models, n, d, xstar);
            fprintf(stderr, "topology %d Q %d: %ld rounds, x_bar %.2e, worst agent %.2e, "
                    "consensus %.2e, gap %.4f\n", tops[t], Q, info.base.iter, err, worst,
                    info.consensus_error, info.spectral_gap);
            assert_int_equal(info.base.status, SV_SOLVED);
            assert_true(err < 3e-3);
            assert_true(worst < 5e-3);
            long K = s.local_steps, rounds = info.base.iter;
            assert_int_equal(info.gradient_evals, rounds * n * K * 2);  /* two per SAM step */
            assert_int_equal(info.communications, rounds * Q * g.n_edges);
            assert_true(fabs(info.lr_last - info.lr0 * pow((double)rounds, -s.lr_power)) <
                        1e-12 * info.lr0);
            sv_graph_free(&g);
        }
    }
    sv_glm_clients_free(&c);
}

/* The minimiser of (1/n) sum_i f_i for logistic agents, by Newton's method on the assembled
 * gradient and Hessian (dense, entry by entry), solved by Gaussian elimination. */
static void logistic_reference(const sv_glm_clients *c, double lambda, double *x)
{
    int d = c->dim, n = c->n_clients;
    double H[8][8], gr[8];
    assert_true(d <= 8);
    memset(x, 0, sizeof(double) * (size_t)d);
    for (int it = 0; it < 50; it++) {
        for (int a = 0; a < d; a++) {
            gr[a] = lambda * x[a];
            for (int b2 = 0; b2 < d; b2++)
                H[a][b2] = a == b2 ? lambda : 0;
        }
        for (int i = 0; i < n; i++) {
            const sv_mat *A = &c->A[i];
            int m = A->rows;
            for (int r = 0; r < m; r++) {
                double z = 0;
                for (int a = 0; a < d; a++)
                    z += A->dense.data[(size_t)r * (size_t)d + (size_t)a] * x[a];
                double y = c->b[i][r], sg = 1 / (1 + exp(y * z));  /* sigmoid(-y z) */
                double d1 = -y * sg, d2 = sg * (1 - sg);
                for (int a = 0; a < d; a++) {
                    double va = A->dense.data[(size_t)r * (size_t)d + (size_t)a];
                    gr[a] += d1 * va / m / n;
                    for (int b2 = 0; b2 < d; b2++)
                        H[a][b2] +=
                            d2 * va * A->dense.data[(size_t)r * (size_t)d + (size_t)b2] / m / n;
                }
            }
        }
        for (int a = 0; a < d; a++) {  /* H step = gr, no pivoting (H is positive definite) */
            for (int r = a + 1; r < d; r++) {
                double f = H[r][a] / H[a][a];
                for (int b2 = a; b2 < d; b2++)
                    H[r][b2] -= f * H[a][b2];
                gr[r] -= f * gr[a];
            }
        }
        for (int a = d - 1; a >= 0; a--) {
            double v = gr[a];
            for (int b2 = a + 1; b2 < d; b2++)
                v -= H[a][b2] * gr[b2];
            gr[a] = v / H[a][a];
            x[a] -= gr[a];
        }
    }
}

/* Logistic agents on ring and grid: the average model reaches the Newton solution. */
static void test_reaches_centralized_logistic(void **state)
{
    (void)state;
    const int n = 12, d = 4;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_LOGISTIC, n, 40, d, 0.5, 0.02, 5);
    double xstar[4], x[4], models[12 * 4];
    logistic_reference(&c,  0.02, xstar);
    int tops[] = {SV_GRAPH_RING, SV_GRAPH_GRID};
    for (int t = 0; t < 2; t++) {
        sv_graph g;
        sv_test_topology(&g, tops[t], n);
        dfedsam_settings s;
        dfedsam_settings_default(&s);
        dfedsam_info info;
        run(&c, &g, &s, x, models, &info);
        double err = sv_test_dist(d, x, xstar) / sv_nrm2(d, xstar);
        double worst = worst_model(models, n, d, xstar);
        fprintf(stderr, "logistic topology %d: %ld rounds, x_bar %.2e, worst agent %.2e, "
                "consensus %.2e\n", tops[t], info.base.iter, err, worst, info.consensus_error);
        assert_int_equal(info.base.status, SV_SOLVED);
        assert_true(err < 3e-3);
        assert_true(worst < 5e-3);
        sv_graph_free(&g);
    }
    sv_glm_clients_free(&c);
}

/* The paper's claim for DFedSAM-MGS: after the same rounds, more gossip steps leave a smaller
 * consensus error (and the average no further from the solution), on a ring and a grid. */
static void test_gossip_steps_reduce_consensus_error(void **state)
{
    (void)state;
    const int n = 16, d = 5;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, n, 20, d, 1.0, 0.1, 9);
    double xstar[5], x[5];
    sv_test_clients_normal_equations(&c, 0.1, xstar);
    int tops[] = {SV_GRAPH_RING, SV_GRAPH_GRID};
    for (int t = 0; t < 2; t++) {
        sv_graph g;
        sv_test_topology(&g, tops[t], n);
        int Qs[] = {1, 2, 4, 8};
        double prev_cons = INFINITY, first_err = 0;
        for (int q = 0; q < 4; q++) {
            dfedsam_settings s;
            dfedsam_settings_default(&s);
            s.gossip_steps = Qs[q];
            s.ctl.tol = 0;
            s.ctl.max_iter = 200;
            dfedsam_info info;
            run(&c, &g, &s, x, NULL, &info);
            assert_int_equal(info.base.status, SV_MAX_ITER);
            double err = sv_test_dist(d, x, xstar) / sv_nrm2(d, xstar);
            fprintf(stderr, "topology %d Q %d: consensus %.3e, x_bar error %.3e\n", tops[t],
                    Qs[q], info.consensus_error, err);
            assert_true(info.consensus_error < 0.7 * prev_cons);
            if (q == 0)
                first_err = err;
            else
                assert_true(err < first_err);
            prev_cons = info.consensus_error;
        }
        sv_graph_free(&g);
    }
    sv_glm_clients_free(&c);
}

/* rho = 0 is local gradient descent (one gradient a step); a constant rho (not following the
 * step) leaves the SAM bias: the run stalls further from the solution than the default. */
static void test_rho(void **state)
{
    (void)state;
    const int n = 9, d = 4;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, n, 20, d, 0.5, 0.1, 4);
    double xstar[4], x[4];
    sv_test_clients_normal_equations(&c, 0.1, xstar);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_GRID, n);
    dfedsam_settings s;
    dfedsam_settings_default(&s);
    s.ctl.tol = 0;
    s.ctl.max_iter = 1000;
    s.rho = 0;
    dfedsam_info info;
    run(&c, &g, &s, x, NULL, &info);
    assert_int_equal(info.gradient_evals, 1000L * n * s.local_steps);
    double err_plain = sv_test_dist(d, x, xstar);
    s.rho = 0.2;
    run(&c, &g, &s, x, NULL, &info);
    double err_follow = sv_test_dist(d, x, xstar);
    s.rho_follows_lr = 0;
    run(&c, &g, &s, x, NULL, &info);
    double err_const = sv_test_dist(d, x, xstar);
    fprintf(stderr, "rho 0: %.2e; rho 0.2 following the step: %.2e; constant: %.2e\n",
            err_plain, err_follow, err_const);
    assert_true(err_follow < 1e-2 * sv_nrm2(d, xstar));
    assert_true(err_const > 3 * err_follow);
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* Mini-batches: one seed, one run; another seed, another run; and the stochastic run still
 * approaches the solution. */
static void test_minibatch_seeded(void **state)
{
    (void)state;
    const int n = 9, d = 3;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, n, 40, d, 0.0, 0.1, 1);
    double xstar[3], x1[3], x2[3], m1[27], m2[27];
    sv_test_clients_normal_equations(&c, 0.1, xstar);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_GRID, n);
    dfedsam_settings s;
    dfedsam_settings_default(&s);
    s.batch_size = 8;
    s.ctl.tol = 0;
    s.ctl.max_iter = 2000;
    dfedsam_info info;
    run(&c, &g, &s, x1, m1, &info);
    run(&c, &g, &s, x2, m2, &info);
    assert_memory_equal(m1, m2, sizeof m1);
    double err = sv_test_dist(d, x1, xstar) / sv_nrm2(d, xstar);
    fprintf(stderr, "batch 8 of 40: x_bar error %.2e after 2000 rounds\n", err);
    assert_true(err < 3e-2);
    s.seed = 2;
    run(&c, &g, &s, x2, m2, &info);
    assert_true(sv_test_max_abs_diff(27, m1, m2) > 0);
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* The exponential decay of the paper's experiments: lr_last = lr gamma^(rounds-1). */
static void test_exponential_decay(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 4, 10, 2, 0.0, 0.1, 1);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_RING, 4);
    dfedsam_settings s;
    dfedsam_settings_default(&s);
    s.lr_decay = DFEDSAM_LR_EXPONENTIAL;
    s.lr_gamma = 0.99;
    s.lr = 0.05;
    s.ctl.tol = 0;
    s.ctl.max_iter = 50;
    double x[2];
    dfedsam_info info;
    run(&c, &g, &s, x, NULL, &info);
    assert_true(info.lr0 == 0.05);
    assert_true(fabs(info.lr_last - 0.05 * pow(0.99, 49)) < 1e-15);
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* A stop request is read inside the rounds, and a time limit holds with a huge report_every,
 * even when one round is long (many local steps). */
static void test_cancel_and_time_limit(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 8, 10, 3, 0.0, 0.1, 1);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_RING, 8);
    dfedsam_settings s;
    dfedsam_settings_default(&s);
    s.ctl.tol = 0;
    s.ctl.max_iter = 1000000000L;
    s.ctl.report_every = 1000000000L;
    s.local_steps = 1000000;
    double x0[3] = {0}, x[3];
    dfedsam_problem p = {&g, c.glm};
    dfedsam_info info;
    int polls = 0;
    sv_monitor mon = {NULL, &polls, sv_test_stop_after_100_polls};
    assert_int_equal(dfedsam_solve(&p, &s, &mon, x0, x, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_CANCELLED);
    assert_int_equal(info.base.iter, 0);  /* inside the first round */
    assert_true(info.gradient_evals < 1000000);
    s.local_steps = 5;
    s.ctl.time_limit_s = 0.2;
    assert_int_equal(dfedsam_solve(&p, &s, NULL, x0, x, NULL, &info, NULL), SV_OK);
    assert_int_equal(info.base.status, SV_TIME_LIMIT);
    assert_true(isfinite(info.base.obj) && isfinite(info.grad_norm) && info.base.iter > 0);
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* A step far beyond 1 / L makes the local steps blow up: the run ends diverged, not with NaNs
 * reported as a solution. */
static void test_diverges(void **state)
{
    (void)state;
    sv_glm_clients c;
    sv_test_agents(&c, SV_LOSS_SQUARED, 4, 10, 3, 0.0, 0.1, 1);
    sv_graph g;
    sv_test_topology(&g, SV_GRAPH_RING, 4);
    dfedsam_settings s;
    dfedsam_settings_default(&s);
    s.lr = 50;
    s.lr_power = 0;
    double x[3];
    dfedsam_info info;
    run(&c, &g, &s, x, NULL, &info);
    assert_int_equal(info.base.status, SV_DIVERGED);
    assert_true(info.base.iter < 100);
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
    dfedsam_settings s;
    dfedsam_settings_default(&s);
    dfedsam_problem p = {&g, c.glm};
    double x0[2] = {0}, x[2];
    dfedsam_info info;
    assert_int_equal(dfedsam_solve(&p, &s, NULL, x0, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/graph");
    sv_graph_free(&g);
    sv_test_topology(&g, SV_GRAPH_RING, 4);
    s.gossip_steps = 0;
    assert_int_equal(dfedsam_solve(&p, &s, NULL, x0, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/gossip_steps");
    dfedsam_settings_default(&s);
    s.lr_gamma = 0;  /* exclusive lower bound */
    assert_int_equal(dfedsam_solve(&p, &s, NULL, x0, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/params/lr_gamma");
    dfedsam_settings_default(&s);
    x0[1] = NAN;
    assert_int_equal(dfedsam_solve(&p, &s, NULL, x0, x, NULL, &info, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    sv_graph_free(&g);
    sv_glm_clients_free(&c);
}

/* ---- the codec ---- */

#define GEN "\"generate\": {\"clients\": 4, \"rows_per_client\": 5, \"dim\": 2, \"lambda\": 0.1}"

static void test_codec_errors(void **state)
{
    (void)state;
    const sv_codec *C = &sv_codec_dfedsam;
    sv_test_codec_ok(C, "{" GEN "}", NULL);
    sv_test_codec_ok(C, "{" GEN ", \"edges\": [[0,1],[1,2],[2,3]]}", "{\"gossip_steps\": 4}");
    sv_test_codec_error(C, "{" GEN ", \"edges\": [[0,1],[2,3]]}", NULL, "/problem/edges");
    sv_test_codec_error(C, "{" GEN ", \"edges\": [[0,1],[1,4]]}", NULL, "/problem/edges/1/1");
    sv_test_codec_error(C, "{" GEN ", \"graph\": {\"topology\": \"torus\"}}", NULL,
                        "/problem/graph/topology");
    sv_test_codec_error(C, "{" GEN ", \"x0\": [1, 2, 3]}", NULL, "/problem/x0");
    sv_test_codec_error(C, "{" GEN "}", "{\"gossip_steps\": 0}", "/params/gossip_steps");
    sv_test_codec_error(C, "{" GEN "}", "{\"local_steps\": 1.5}", "/params/local_steps");
    sv_test_codec_error(C, "{" GEN "}", "{\"rho\": -1}", "/params/rho");
    sv_test_codec_error(C, "{" GEN "}", "{\"lr_decay\": \"cosine\"}", "/params/lr_decay");
    sv_test_codec_error(C, "{" GEN "}", "{\"lr_power\": 2}", "/params/lr_power");
    sv_test_codec_error(C, "{" GEN "}", "{\"gosip_steps\": 2}", "/params/gosip_steps");
    sv_test_codec_error(C, "{\"clients\": [{\"A\": [[1, 2]], \"b\": [1, 2]}]}", NULL,
                        "/problem/clients/0/b");
}

/* Explicit agents on an explicit path graph: the average and every model against the normal
 * equations solved by hand; the spectral gap of the path's Metropolis matrix
 * [[2/3,1/3,0],[1/3,1/3,1/3],[0,1/3,2/3]] (eigenvalues 1, 2/3, 0): 1/3. */
static void test_codec_run(void **state)
{
    (void)state;
    const char *problem =
        "{\"clients\": [{\"A\": [[1, 0], [0, 1]], \"b\": [1, 2]},"
        " {\"A\": [[1, 1], [1, -1]], \"b\": [3, 1]}, {\"A\": [[2, 0], [0, 2]], \"b\": [2, 2]}],"
        " \"lambda\": 0.1, \"edges\": [[0, 1], [1, 2]]}";
    json_t *r = sv_test_codec_run(&sv_codec_dfedsam, problem,
                                  "{\"tol\": 1e-4, \"gossip_steps\": 3}", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "solved");
    /* normal equations: (1/3) sum_i (A_i'A_i / 2 + 0.1 I) x = (1/3) sum_i A_i'b_i / 2 */
    double h = (1 + 2 + 4) / 2.0 + 0.3;
    double xs[2] = {(1 + 4 + 4) / 2.0 / h, (2 + 2 + 4) / 2.0 / h};
    json_t *x = json_object_get(r, "x"), *models = json_object_get(r, "models");
    assert_int_equal(json_array_size(models), 3);
    for (int j = 0; j < 2; j++) {
        assert_true(fabs(json_number_value(json_array_get(x, (size_t)j)) - xs[j]) < 1e-3);
        for (size_t i = 0; i < 3; i++)
            assert_true(fabs(json_number_value(json_array_get(json_array_get(models, i),
                                                              (size_t)j)) - xs[j]) < 2e-3);
    }
    assert_true(fabs(json_number_value(json_object_get(r, "spectral_gap")) - 1.0 / 3) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(r, "agents")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "edges")), 2);
    long rounds = (long)json_integer_value(json_object_get(r, "iterations"));
    assert_int_equal(json_integer_value(json_object_get(r, "communications")), rounds * 3 * 2);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_grad),
        cmocka_unit_test(test_spectral_gap),
        cmocka_unit_test(test_reaches_centralized_ridge),
        cmocka_unit_test(test_reaches_centralized_logistic),
        cmocka_unit_test(test_gossip_steps_reduce_consensus_error),
        cmocka_unit_test(test_rho),
        cmocka_unit_test(test_minibatch_seeded),
        cmocka_unit_test(test_exponential_decay),
        cmocka_unit_test(test_cancel_and_time_limit),
        cmocka_unit_test(test_diverges),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_codec_errors),
        cmocka_unit_test(test_codec_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
