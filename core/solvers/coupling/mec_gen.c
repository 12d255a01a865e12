/* mec_gen.c - seeded Dirichlet and Zipf marginals for coupling.mec (see mec_gen.h). Gamma
 * variates by Marsaglia and Tsang (2000), with the u^(1/alpha) boost for alpha < 1. */
#include "core/solvers/coupling/mec_gen.h"

#include <math.h>
#include <stddef.h>

static const char *const task_choices[] = {"mec", "ebim", NULL};
static const char *const dist_choices[] = {"dirichlet", "zipf", NULL};

const sv_param_spec mec_gen_params[] = {
    SV_P_ENUM(mec_gen_spec, task, task_choices, MEC_GEN_TASK_MEC,
              "mec: couple the marginals; ebim: an encoder for p_X under the rate"),
    SV_P_INT32(mec_gen_spec, n, 1, 10000000, 1000, "size of the first marginal (ebim: of p_X)"),
    SV_P_INT32(mec_gen_spec, m, 1, 10000000, 1000, "size of the other marginals (mec)"),
    SV_P_INT32(mec_gen_spec, marginals, 2, 8, 2, "number of marginals (mec)"),
    SV_P_ENUM(mec_gen_spec, dist, dist_choices, MEC_GEN_DIRICHLET,
              "dirichlet: Dirichlet(alpha, ..., alpha); zipf: p_i ~ i^-alpha, shuffled"),
    SV_P_NUMBER_GT(mec_gen_spec, alpha, 0, 1e6, 1.0,
                   "Dirichlet concentration or Zipf exponent"),
    SV_P_NUMBER(mec_gen_spec, rate, 0, 1e3, NAN, "ebim: the rate R in bits; null: H(X) / 2"),
    SV_P_SEED(mec_gen_spec, seed, 0, "seed of the draws"),
    SV_PARAMS_END,
};

static double gamma_draw(double a, sv_rng *r)
{
    if (a < 1.0) {
        double u = sv_rng_uniform(r);
        return gamma_draw(a + 1.0, r) * pow(u > 0 ? u : 1e-300, 1.0 / a);
    }
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = sv_rng_normal(r), v = 1.0 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = sv_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

void mec_gen_marginal(int dist, double alpha, int n, sv_rng *r, double *out)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        out[i] = dist == MEC_GEN_ZIPF ? pow((double)(i + 1), -alpha) : gamma_draw(alpha, r);
        sum += out[i];
    }
    if (dist == MEC_GEN_ZIPF)
        for (int i = n - 1; i > 0; i--) {  /* shuffle, so that the order carries no hint */
            int j = (int)sv_rng_below(r, (uint64_t)i + 1);
            double t = out[i];
            out[i] = out[j];
            out[j] = t;
        }
    if (!(sum > 0)) {  /* every gamma draw underflowed (tiny alpha): a point mass */
        for (int i = 0; i < n; i++)
            out[i] = i == 0;
        return;
    }
    for (int i = 0; i < n; i++)
        out[i] /= sum;
}

void mec_gen_fill(const mec_gen_spec *g, double *const *out)
{
    sv_rng r;
    sv_rng_seed(&r, g->seed);
    int k = g->task == MEC_GEN_TASK_EBIM ? 1 : g->marginals;
    for (int i = 0; i < k; i++)
        mec_gen_marginal(g->dist, g->alpha, i == 0 ? g->n : g->m, &r, out[i]);
}
