/* ccg_gen.c - seeded knapsack and capital budgeting instances (see ccg_gen.h). */
#include "core/solvers/robust/ccg_gen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"

static const char *const class_choices[] = {"knapsack", "capital_budgeting", NULL};
static const char *const corr_choices[] = {"UN", "WC", "ASC", "SC", NULL};

const sv_param_spec ccg_gen_params[] = {
    SV_PN_ENUM(ccg_gen_spec, cls, "class", class_choices, CCG_GEN_KNAPSACK,
               "benchmark class: knapsack (Arslan & Detienne) or capital_budgeting "
               "(Subramanyam et al.)"),
    SV_P_INT32_REQ(ccg_gen_spec, items, 1, CCG_GEN_MAX_ITEMS, "items / projects n"),
    SV_P_SEED(ccg_gen_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_P_ENUM(ccg_gen_spec, correlation, corr_choices, CCG_CORR_UN,
              "knapsack: profit-weight correlation (uncorrelated, weakly, almost strongly, "
              "strongly)"),
    SV_P_NUMBER(ccg_gen_spec, h, 0, INFINITY, 40, "knapsack: capacity C = h/(H+1) sum c"),
    SV_P_NUMBER_GT(ccg_gen_spec, H, 0, INFINITY, 100, "knapsack: see h"),
    SV_P_NUMBER_GT(ccg_gen_spec, R, 1, INFINITY, 1000, "knapsack: weights c ~ U[1, R]"),
    SV_P_NUMBER(ccg_gen_spec, delta, 0, 1, 0.5,
                "knapsack: degradation p_hat = p_bar U[(1-delta)/2, (1+delta)/2]"),
    SV_P_NUMBER(ccg_gen_spec, budget_factor, 0, 1, 0.1,
                "knapsack: uncertainty budget Gamma = max(1, round(budget_factor n))"),
    SV_P_INT32(ccg_gen_spec, xi_dim, 1, CCG_GEN_MAX_XI_DIM, 4,
               "capital budgeting: risk factors d (xi in {-1,1}^d)"),
    SV_P_NUMBER(ccg_gen_spec, k, 0, 1, 0.8,
                "capital budgeting: a late investment earns k times the profit"),
    SV_P_BOOL(ccg_gen_spec, loans, 0, "capital budgeting: allow loans x0 (now) and y0 (later)"),
    SV_P_NUMBER(ccg_gen_spec, l, 0, INFINITY, 0.12, "capital budgeting: loan rate"),
    SV_P_NUMBER(ccg_gen_spec, m, 0, INFINITY, 1.2,
                "capital budgeting: a late loan costs m times the rate"),
    SV_PARAMS_END,
};

int ccg_gen_check(const ccg_gen_spec *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/problem/generate", "spec missing");
    return sv_params_validate(ccg_gen_params, s, "/problem/generate", e);
}

void ccg_data_free(ccg_data *d)
{
    if (!d)
        return;
    free(d->buf);
    memset(d, 0, sizeof *d);
}

int ccg_data_alloc(ccg_data *out, int cls, int n, int d)
{
    memset(out, 0, sizeof *out);
    size_t len = cls == CCG_KNAPSACK ? 5 * (size_t)n : 2 * (size_t)n + 2 * (size_t)n * d;
    out->buf = calloc(len > 0 ? len : 1, sizeof *out->buf);
    if (!out->buf)
        return SV_ENOMEM;
    ccg_problem *p = &out->prob;
    p->cls = cls;
    p->n = n;
    double *b = out->buf;
    if (cls == CCG_KNAPSACK) {
        p->p_bar = b, p->p_hat = b + n, p->c = b + 2 * n, p->t = b + 3 * n, p->f = b + 4 * n;
    } else {
        p->d = d;
        p->c_bar = b, p->r_bar = b + n, p->phi = b + 2 * n, p->psi = b + 2 * n + (size_t)n * d;
    }
    return SV_OK;
}

static double unif(sv_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sv_rng_uniform(r);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* phi_i: the gaps of d - 1 sorted uniforms between 0 and 1 (a point of the unit simplex). */
static void simplex_point(sv_rng *r, int d, double *out, double *tmp)
{
    tmp[0] = 0;
    for (int j = 1; j < d; j++)
        tmp[j] = sv_rng_uniform(r);
    tmp[d] = 1;
    qsort(tmp + 1, (size_t)(d - 1), sizeof *tmp, cmp_double);
    for (int j = 0; j < d; j++)
        out[j] = tmp[j + 1] - tmp[j];
}

int ccg_generate(const ccg_gen_spec *s, ccg_data *out, sv_err *e)
{
    memset(out, 0, sizeof *out);
    int rc = ccg_gen_check(s, e);
    if (rc != SV_OK)
        return rc;
    int n = s->items, d = s->xi_dim;
    if ((rc = ccg_data_alloc(out, s->cls, n, d)) != SV_OK)
        return rc;
    sv_rng r;
    sv_rng_seed(&r, s->seed);
    ccg_problem *p = &out->prob;
    double *b = out->buf;
    if (s->cls == CCG_KNAPSACK) {
        double *pb = b, *ph = b + n, *c = b + 2 * n, *t = b + 3 * n, *f = b + 4 * n, R = s->R;
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += c[i] = unif(&r, 1, R);
        p->C = s->h / (s->H + 1) * sum;
        for (int i = 0; i < n; i++)
            switch (s->correlation) {
            case CCG_CORR_UN: pb[i] = unif(&r, 1, R); break;
            case CCG_CORR_WC: pb[i] = unif(&r, c[i] - R / 20, c[i] + R / 20); break;
            case CCG_CORR_ASC:
                pb[i] = unif(&r, c[i] + R / 10 - R / 1000, c[i] + R / 10 + R / 1000);
                break;
            default: pb[i] = c[i] + R / 10; break;
            }
        for (int i = 0; i < n; i++)
            ph[i] = pb[i] * unif(&r, (1 - s->delta) / 2, (1 + s->delta) / 2);
        for (int i = 0; i < n; i++)
            f[i] = pb[i] * unif(&r, 1.1, 1.5);
        for (int i = 0; i < n; i++)
            switch (s->correlation) {
            case CCG_CORR_UN: t[i] = unif(&r, 1, c[i]); break;
            case CCG_CORR_WC: t[i] = unif(&r, ph[i] / 2 - R / 40, ph[i] / 2 + R / 40); break;
            case CCG_CORR_ASC:
                t[i] = unif(&r, ph[i] / 2 + c[i] / 10 - R / 1000, ph[i] / 2 + c[i] / 10 + R / 1000);
                break;
            default: t[i] = ph[i] / 2 + c[i] / 10; break;
            }
        for (int i = 0; i < n; i++)  /* WC can draw a negative weight when p_hat is small */
            t[i] = fmax(t[i], 0.0);
        long g = lround(s->budget_factor * n);
        p->gamma = (int)(g < 1 ? 1 : g);
        return SV_OK;
    }
    double *cb = b, *rb = b + n, *phi = b + 2 * n, *psi = b + 2 * n + (size_t)n * d;
    double sum = 0, tmp[CCG_GEN_MAX_XI_DIM + 1];
    for (int i = 0; i < n; i++) {
        sum += cb[i] = unif(&r, 1, 10);
        rb[i] = cb[i] / 5;
    }
    for (int i = 0; i < n; i++) {
        simplex_point(&r, d, phi + (size_t)i * d, tmp);
        simplex_point(&r, d, psi + (size_t)i * d, tmp);
    }
    p->budget = sum / 2;
    p->max_loan = 1.5 * sum - p->budget;
    p->k = s->k;
    p->loans = s->loans;
    p->l = s->l;
    p->m = s->m;
    return SV_OK;
}
