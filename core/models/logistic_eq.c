/* logistic_eq.c - the generator and the evaluations of logistic regression under equality
 * constraints. The loss itself is core/models/glm.c's (overflow-free for any finite margin). */
#include "core/models/logistic_eq.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const kind_choices[] = {"logistic_eq", NULL};

const sv_param_spec sv_logistic_eq_params[] = {
    {.name = "kind", .type = SV_PARAM_ENUM, .offset = offsetof(sv_logistic_eq_spec, kind),
     .choices = kind_choices, .flags = SV_PARAM_REQUIRED,
     .help = "the generated problem: logistic_eq, logistic regression under equalities"},
    SV_P_INT32_REQ(sv_logistic_eq_spec, n, 1, INT_MAX, "samples"),
    SV_P_INT32_REQ(sv_logistic_eq_spec, d, 1, INT_MAX, "features (the dimension)"),
    SV_P_INT32_REQ(sv_logistic_eq_spec, m, 0, INT_MAX, "linear equalities A x = b"),
    SV_P_SEED(sv_logistic_eq_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_P_NUMBER(sv_logistic_eq_spec, lambda, 0, INFINITY, 0, "ridge weight"),
    SV_P_BOOL(sv_logistic_eq_spec, unit_norm, 0, "add the nonlinear constraint |x|^2 = 1"),
    SV_PARAMS_END,
};

int sv_logistic_eq_check(const sv_logistic_eq_spec *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/problem/generate", "no generator specification");
    int rc = sv_params_validate(sv_logistic_eq_params, s, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;
    if ((long)s->m + s->unit_norm > s->d)
        return sv_fail(e, "/problem/generate/m", "%d constraints%s on %d features cannot have a "
                       "Jacobian of full row rank: need m%s <= d", s->m + s->unit_norm,
                       s->unit_norm ? " (with the unit norm)" : "", s->d,
                       s->unit_norm ? " + 1" : "");
    if ((double)s->n * s->d > (double)SV_LOGISTIC_EQ_MAX_ENTRIES)
        return sv_fail(e, "/problem/generate/n", "n * d = %.0f exceeds the limit of %ld entries",
                       (double)s->n * s->d, SV_LOGISTIC_EQ_MAX_ENTRIES);
    return SV_OK;
}

static void unit_vector(sv_rng *r, int d, double *u)
{
    double nrm;
    do {
        for (int j = 0; j < d; j++)
            u[j] = sv_rng_normal(r);
        nrm = sv_nrm2(d, u);
    } while (!(nrm > 0));  /* a zero draw has probability 0; redraw rather than divide by it */
    sv_scal(d, 1.0 / nrm, u);
}

int sv_logistic_eq_generate(const sv_logistic_eq_spec *s, sv_logistic_eq *out, sv_err *e)
{
    if (!out)
        return sv_fail(e, "/problem/generate", "no output");
    memset(out, 0, sizeof *out);
    int rc = sv_logistic_eq_check(s, e);
    if (rc != SV_OK)
        return rc;
    const int n = s->n, d = s->d, m = s->m;
    if (sv_mat_dense(&out->Z, n, d) != SV_OK)
        return SV_ENOMEM;
    out->y = malloc((size_t)n * sizeof *out->y);
    out->A = malloc(((size_t)m * d + 1) * sizeof *out->A);
    out->b = malloc(((size_t)m + 1) * sizeof *out->b);
    out->u = malloc((size_t)d * sizeof *out->u);
    out->v = malloc((size_t)d * sizeof *out->v);
    out->work = malloc((size_t)n * ((size_t)d + 1) * sizeof *out->work);
    if (!out->y || !out->A || !out->b || !out->u || !out->v || !out->work) {
        sv_logistic_eq_free(out);
        return SV_ENOMEM;
    }
    out->n = n;
    out->d = d;
    out->m = m;
    out->unit_norm = s->unit_norm;
    out->lambda = s->lambda;

    sv_rng r;
    sv_rng_seed(&r, s->seed);
    unit_vector(&r, d, out->u);
    double *Z = out->Z.dense.data;
    for (int i = 0; i < n; i++) {
        double *z = Z + (size_t)i * d;
        for (int j = 0; j < d; j++)
            z[j] = sv_rng_normal(&r);
        double t = 2.0 * sv_dot(d, z, out->u);
        double p = t >= 0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t));
        out->y[i] = sv_rng_uniform(&r) < p ? 1.0 : -1.0;
    }
    unit_vector(&r, d, out->v);
    for (size_t k = 0; k < (size_t)m * d; k++)
        out->A[k] = sv_rng_normal(&r);
    for (int i = 0; i < m; i++)
        out->b[i] = sv_dot(d, out->A + (size_t)i * d, out->v);

    out->loss.loss = SV_LOSS_LOGISTIC;
    out->loss.A = &out->Z;
    out->loss.b = out->y;
    out->loss.w = NULL;
    out->loss.lambda = s->lambda;
    out->loss.lambda_vec = NULL;
    return SV_OK;
}

void sv_logistic_eq_free(sv_logistic_eq *p)
{
    if (!p)
        return;
    sv_mat_free(&p->Z);
    free(p->y);
    free(p->A);
    free(p->b);
    free(p->u);
    free(p->v);
    free(p->work);
    memset(p, 0, sizeof *p);
}

int sv_logistic_eq_n_cons(const sv_logistic_eq *p) { return p->m + p->unit_norm; }

double sv_logistic_eq_fgrad(sv_logistic_eq *p, const double *x, double *g)
{
    return sv_glm_value(&p->loss, x, g, p->work);
}

void sv_logistic_eq_cons(const sv_logistic_eq *p, const double *x, double *c, double *J)
{
    const int d = p->d, m = p->m;
    for (int i = 0; i < m; i++) {
        const double *a = p->A + (size_t)i * d;
        if (c)
            c[i] = sv_dot(d, a, x) - p->b[i];
        if (J)
            memcpy(J + (size_t)i * d, a, (size_t)d * sizeof *J);
    }
    if (p->unit_norm) {
        if (c)
            c[m] = sv_dot(d, x, x) - 1.0;
        if (J)
            for (int j = 0; j < d; j++)
                J[(size_t)m * d + j] = 2.0 * x[j];
    }
}

void sv_logistic_eq_jtv(const sv_logistic_eq *p, const double *x, const double *y, double *out)
{
    const int d = p->d, m = p->m;
    sv_zero(d, out);
    for (int i = 0; i < m; i++)
        sv_axpy(d, y[i], p->A + (size_t)i * d, out);
    if (p->unit_norm)
        sv_axpy(d, 2.0 * y[m], x, out);
}

void sv_logistic_eq_lag_hess(sv_logistic_eq *p, const double *x, const double *y, double *H)
{
    const int n = p->n, d = p->d;
    double *s = p->work;          /* n curvatures */
    double *W = p->work + n;      /* n x d: rows scaled by sqrt(curvature) */
    sv_glm_sample_derivs(&p->loss, x, NULL, NULL, NULL, s);
    const double *Z = p->Z.dense.data;
    for (int i = 0; i < n; i++) {
        double w = sqrt(s[i] > 0 ? s[i] : 0.0);
        const double *z = Z + (size_t)i * d;
        double *row = W + (size_t)i * d;
        for (int j = 0; j < d; j++)
            row[j] = w * z[j];
    }
    sv_dense Wd = {n, d, W}, Hd = {d, d, H};
    sv_dense_gemm(1, 0, 1.0 / n, &Wd, &Wd, 0.0, &Hd);
    double diag = p->lambda + (p->unit_norm && y ? 2.0 * y[p->m] : 0.0);
    for (int j = 0; j < d; j++)
        H[(size_t)j * d + j] += diag;
}
