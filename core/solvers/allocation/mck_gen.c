/* mck_gen.c - seeded multiple-choice knapsack instances and their container (see mck_gen.h). */
#include "core/solvers/allocation/mck_gen.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"

const sv_param_spec mck_gen_params[] = {
    SV_P_INT32_REQ(mck_gen_spec, groups, 1, INT_MAX, "number of groups n"),
    SV_P_INT32_REQ(mck_gen_spec, options, 1, MCK_MAX_OPTIONS,
                   "options per group, option 0 being \"nothing\" (cost 0, value 0)"),
    SV_P_INT32(mck_gen_spec, max_cost, 1, INT_MAX, MCK_GEN_DEFAULT_MAX_COST,
               "option costs are uniform integers in 1..max_cost"),
    SV_P_NUMBER(mck_gen_spec, budget_fraction, 0, 1, MCK_GEN_DEFAULT_BUDGET_FRACTION,
                "budget = floor(budget_fraction * sum of each group's dearest option)"),
    SV_P_SEED(mck_gen_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_PARAMS_END,
};

int mck_gen_check(const mck_gen_spec *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/problem/generate", "spec missing");
    return sv_params_validate(mck_gen_params, s, "/problem/generate", e);
}

void mck_data_free(mck_data *d)
{
    if (!d)
        return;
    free(d->ptr);
    free(d->cost);
    free(d->value);
    memset(d, 0, sizeof *d);
}

int mck_data_alloc(mck_data *d, int n, long n_options)
{
    memset(d, 0, sizeof *d);
    size_t m = (size_t)(n_options > 0 ? n_options : 1);
    d->ptr = calloc((size_t)n + 1, sizeof *d->ptr);
    d->cost = calloc(m, sizeof *d->cost);
    d->value = calloc(m, sizeof *d->value);
    if (!d->ptr || !d->cost || !d->value) {
        mck_data_free(d);
        return SV_ENOMEM;
    }
    d->prob.n = n;
    d->prob.ptr = d->ptr;
    d->prob.cost = d->cost;
    d->prob.value = d->value;
    return SV_OK;
}

int mck_generate(const mck_gen_spec *s, mck_data *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int rc = mck_gen_check(s, e);
    if (rc != SV_OK)
        return rc;
    if ((double)s->groups * s->options > (double)INT_MAX)
        return sv_fail(e, "/problem/generate", "groups * options = %.0f exceeds %d",
                       (double)s->groups * s->options, INT_MAX);
    if ((rc = mck_data_alloc(d, s->groups, (long)s->groups * s->options)) != SV_OK)
        return rc;
    sv_rng r;
    sv_rng_seed(&r, s->seed);
    double top = 0;
    for (int i = 0; i < s->groups; i++) {
        double w = 0.5 + sv_rng_uniform(&r);
        int base = i * s->options;
        long cmax = 0;
        d->ptr[i + 1] = base + s->options;
        for (int j = 1; j < s->options; j++) {
            long c = 1 + (long)sv_rng_below(&r, (uint64_t)s->max_cost);
            double u = sv_rng_uniform(&r);
            d->cost[base + j] = c;
            d->value[base + j] = w * sqrt((double)c) * (1.0 + 0.2 * (u - 0.5));
            if (c > cmax)
                cmax = c;
        }
        top += (double)cmax;
    }
    d->prob.budget = (long)floor(s->budget_fraction * top);
    return SV_OK;
}
