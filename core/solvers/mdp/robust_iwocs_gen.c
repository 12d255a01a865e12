/* robust_iwocs_gen.c - seeded perturbations of a nominal transition tensor (the header says how). */
#include "core/solvers/mdp/robust_iwocs_gen.h"

#include <math.h>

#include "core/rng.h"

const sv_param_spec robust_iwocs_models_params[] = {
    SV_P_INT32(robust_iwocs_models_spec, count, 1, ROBUST_IWOCS_MAX_MODELS, 8,
               "perturbed models besides the nominal transitions"),
    SV_P_NUMBER(robust_iwocs_models_spec, radius, 0, 1, 0.3,
                "each row moves this far toward a random distribution: P_i = (1 - radius) P_0 + "
                "radius q, q ~ Dirichlet(1,...,1)"),
    SV_P_SEED(robust_iwocs_models_spec, seed, 0, "seed of the random rows"),
    SV_PARAMS_END,
};

void robust_iwocs_perturb(const sv_mdp *m, const robust_iwocs_models_spec *spec, double *P)
{
    long rows = (long)m->S * m->A, S = m->S;
    sv_rng r;
    sv_rng_seed(&r, spec->seed);
    for (int i = 0; i < spec->count; i++) {
        double *Pi = P + (long)i * rows * S;
        for (long k = 0; k < rows; k++) {
            double *row = Pi + k * S, sum = 0;
            const double *p0 = m->P + k * S;
            for (long t = 0; t < S; t++) {
                row[t] = -log(1.0 - sv_rng_uniform(&r));  /* Exp(1): 1 - u in (0, 1] */
                sum += row[t];
            }
            double c = spec->radius / (sum > 0 ? sum : 1.0);
            double total = 0;
            for (long t = 0; t < S; t++) {
                row[t] = (1.0 - spec->radius) * p0[t] + (sum > 0 ? c * row[t] : spec->radius / S);
                total += row[t];
            }
            for (long t = 0; t < S; t++)  /* exactly stochastic, as sv_mdp_check leaves P_0 */
                row[t] /= total;
        }
    }
}
