/* bilevel_fixtures.c - see bilevel_fixtures.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "bilevel_fixtures.h"
#include "codec.h"
#include "json.h"

void sv_test_bl_quadratic_5x8(sv_bl_quadratic *q, double box, double noise)
{
    sv_bl_quadratic_spec s = {5, 8, 10.0, 0.1, box, noise, 3};
    assert_int_equal(sv_bl_quadratic_generate(&s, q, NULL), SV_OK);
}

double sv_test_bl_true_F(const sv_bl_problem *p, const double *x, double *y)
{
    double *w = calloc(sv_bl_work_size(p), sizeof *w);
    assert_non_null(w);
    double F = NAN;
    assert_int_equal(sv_bl_evaluate(p, x, y, 1e-12, &F, NULL, w, NULL), SV_OK);
    free(w);
    return F;
}

void sv_test_ridge_ref_init(sv_test_ridge_ref *R, const sv_bl_hyperparam *h)
{
    const int d = h->d, n = h->train.rows;
    const double *A = h->train.A.dense.data;
    R->d = d;
    R->G0 = calloc((size_t)d * d, sizeof *R->G0);
    R->G = calloc((size_t)d * d, sizeof *R->G);
    R->r0 = calloc((size_t)d, sizeof *R->r0);
    R->r = calloc((size_t)d, sizeof *R->r);
    assert_true(R->G0 && R->G && R->r0 && R->r);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            R->r0[j] += A[i * d + j] * h->train.b[i] / n;
            for (int k = 0; k < d; k++)
                R->G0[j * d + k] += A[i * d + j] * A[i * d + k] / n;
        }
}

void sv_test_ridge_ref_free(sv_test_ridge_ref *R)
{
    free(R->G0), free(R->G), free(R->r0), free(R->r);
}

double sv_test_ridge_val_loss(sv_test_ridge_ref *R, const sv_bl_hyperparam *h, double theta)
{
    const int d = R->d, nv = h->val.rows;
    const double *Av = h->val.A.dense.data;
    memcpy(R->G, R->G0, (size_t)d * d * sizeof *R->G);
    memcpy(R->r, R->r0, (size_t)d * sizeof *R->r);
    for (int j = 0; j < d; j++)
        R->G[j * d + j] += exp(theta);
    assert_int_equal(sv_solve_spd(d, R->G, R->r, 1), SV_OK);
    double f = 0.0;
    for (int i = 0; i < nv; i++) {
        double z = -h->val.b[i];
        for (int j = 0; j < d; j++)
            z += Av[i * d + j] * R->r[j];
        f += 0.5 * z * z / nv;
    }
    return f;
}

void sv_test_bl_hyperparam_global(sv_bl_hyperparam *h)
{
    sv_bl_hyperparam_spec hs = {30, 200, 0, 20, SV_BL_LOSS_SQUARED, 0, 0, 1.0, 0.0, 0, 5};
    assert_int_equal(sv_bl_hyperparam_generate(&hs, h, NULL), SV_OK);
}

double sv_test_ridge_grid(sv_test_ridge_ref *R, const sv_bl_hyperparam *h, double *theta_ref)
{
    double best = INFINITY;
    *theta_ref = NAN;
    for (int t = 0; t <= 8000; t++) {
        double th = -5.0 + 1e-3 * t;
        double f = sv_test_ridge_val_loss(R, h, th);
        if (f < best)
            best = f, *theta_ref = th;
    }
    return best;
}

void sv_test_bl_codec_glue_pins(const char *codec_name, const char *msg, const char *params,
                                const char *keys)
{
    const sv_codec *c = sv_codec_find(codec_name);
    assert_non_null(c);
    const sv_codec_env *env = &sv_test_codec_env;
    sv_err e;
    json_t *r = NULL;
    json_t *prob = sv_test_json("{\"class\": \"constrained\", \"H\": [[1]], \"B\": [[1]], "
                                "\"c\": [1], \"constraints\": {\"A\": [[1]], \"B\": [[1]], "
                                "\"b\": [1]}}");
    assert_int_equal(c->validate(prob, NULL, env, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/class");
    assert_string_equal(e.msg, msg);
    assert_int_equal(c->run(prob, NULL, env, NULL, &r, &e), SV_EINVAL);
    assert_null(r);
    assert_string_equal(e.field, "/problem/class");
    assert_string_equal(e.msg, msg);
    json_decref(prob);
    prob = sv_test_json("{\"generate\": {\"class\": \"constrained\", \"dx\": 2, \"dy\": 3, "
                        "\"m\": 1}}");
    assert_int_equal(c->run(prob, NULL, env, NULL, &r, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/generate/class");
    assert_string_equal(e.msg, msg);
    json_decref(prob);

    prob = sv_test_json("{\"generate\": {\"class\": \"quadratic\", \"dx\": 2, \"dy\": 3}}");
    json_t *pa = sv_test_json(params);
    assert_int_equal(c->run(prob, pa, env, NULL, &r, &e), SV_OK);
    char got[1024];
    sv_test_keys(r, got, sizeof got);
    assert_string_equal(got, keys);
    assert_true(
        json_equal(json_object_get(r, "objective"), json_object_get(r, "upper_objective")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "params"), "max_iter")),
                     5);
    json_decref(r);
    json_decref(pa);
    json_decref(prob);
}

void sv_test_bl_start_and_exact_pins(sv_test_bl_solve_fn solve)
{
    sv_bl_quadratic q;
    sv_test_bl_quadratic_5x8(&q, 0.0, 0.0);
    sv_bl_problem p;
    sv_bl_quadratic_bind(&q, &p);
    double x[5] = {0}, y[8] = {0}, info_F = NAN, info_hg = NAN;
    sv_err e;
    assert_int_equal(solve(&p, x, y, &info_F, &info_hg, &e), SV_OK);
    double ys[8], g[5], F = NAN;
    memcpy(ys, y, sizeof ys);
    double *work = malloc(sv_bl_work_size(&p) * sizeof *work);
    assert_non_null(work);
    assert_int_equal(sv_bl_evaluate(&p, x, ys, 1e-10, &F, g, work, NULL), SV_OK);
    double hg = 0;
    for (int i = 0; i < 5; i++)
        hg += g[i] * g[i];
    hg = sqrt(hg);
    assert_true(isfinite(info_F) && isfinite(info_hg));
    assert_true(fabs(info_F - F) <= 1e-7 * (1 + fabs(F)));
    assert_true(fabs(info_hg - hg) <= 1e-6 * (1 + hg));
    free(work);

    const char *msg = "starting point missing or not finite";
    double dF, dhg;
    x[0] = NAN;
    assert_int_equal(solve(&p, x, y, &dF, &dhg, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    assert_string_equal(e.msg, msg);
    assert_int_equal(solve(&p, NULL, y, &dF, &dhg, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/x0");
    assert_string_equal(e.msg, msg);
    x[0] = 0;
    y[7] = INFINITY;
    assert_int_equal(solve(&p, x, y, &dF, &dhg, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/y0");
    assert_string_equal(e.msg, msg);
    assert_int_equal(solve(&p, x, NULL, &dF, &dhg, &e), SV_EINVAL);
    assert_string_equal(e.field, "/problem/y0");
    assert_string_equal(e.msg, msg);
    sv_bl_quadratic_free(&q);
}
