/* cbo_gen.c - the benchmark objectives of global.cbo (cbo_gen.h). */
#include "core/solvers/global/cbo_gen.h"

#include <math.h>
#include <stddef.h>

static const char *const function_choices[] = {"rastrigin", "ackley", "rosenbrock", "griewank",
                                               NULL};

const sv_param_spec cbo_benchmark_params[] = {
    SV_P_ENUM(cbo_benchmark, function, function_choices, CBO_FN_RASTRIGIN,
              "the objective: rastrigin, ackley, rosenbrock or griewank (global minimum 0)"),
    SV_P_INT32_REQ(cbo_benchmark, dim, 1, CBO_BENCHMARK_MAX_DIM, "dimension d"),
    SV_P_NUMBER(cbo_benchmark, shift, -1e6, 1e6, 0,
                "added to every coordinate of the minimizer: f(x) = g(x - shift)"),
    SV_PARAMS_END,
};

int cbo_benchmark_check(const cbo_benchmark *b, sv_err *e)
{
    if (!b)
        return sv_fail(e, "/problem/benchmark", "benchmark missing");
    int rc = sv_params_validate(cbo_benchmark_params, b, "/problem/benchmark", e);
    if (rc != SV_OK)
        return rc;
    if (b->function == CBO_FN_ROSENBROCK && b->dim < 2)
        return sv_fail(e, "/problem/benchmark/dim", "rosenbrock needs dim >= 2");
    return SV_OK;
}

#define TWO_PI 6.283185307179586476925

/* cos(2 pi y), the periodic part of Rastrigin and Ackley, which dominates their cost. y minus the
 * nearest integer is exact, so the reduction adds no error (libm's cos(2 pi y) loses the
 * rounding of 2 pi y, ~|y| ulp); the fold cos(2 pi r) = -cos(2 pi (1/2 - r)) leaves r in
 * [0, 1/4], where the Taylor series of cos to the z^11 term (z = (2 pi r)^2) is exact to below
 * 1e-16; no branch on the data, so the particle loop runs at the polynomial's speed. */
static double cos2pi(double y)
{
    double n = fabs(y) < 0x1p51 ? (y + 0x1.8p52) - 0x1.8p52 : y;  /* the nearest integer */
    double r = fabs(y - n);
    int fold = r > 0.25;
    double sign = fold ? -1.0 : 1.0;
    r = fold ? 0.5 - r : r;
    double t = TWO_PI * r, z = t * t;
    double c = -8.896791392450574e-22;
    c = 4.110317623312165e-19 + z * c;
    c = -1.5619206968586225e-16 + z * c;
    c = 4.779477332387385e-14 + z * c;
    c = -1.1470745597729725e-11 + z * c;
    c = 2.08767569878681e-09 + z * c;
    c = -2.755731922398589e-07 + z * c;
    c = 2.48015873015873e-05 + z * c;
    c = -0.001388888888888889 + z * c;
    c = 0.041666666666666664 + z * c;
    c = -0.5 + z * c;
    c = 1.0 + z * c;
    return sign * c;
}

/* cos(2 pi (x_k - s)) for k < m into c: a loop without a reduction, which the compiler
 * vectorises; the sums over the chunk then run in index order as before. */
#define CHUNK 32

static void cos2pi_chunk(const double *x, double s, int m, double *c)
{
    for (int k = 0; k < m; k++)
        c[k] = cos2pi(x[k] - s);
}

double cbo_benchmark_value(void *ctx, const double *x)
{
    const cbo_benchmark *b = ctx;
    const int d = b->dim;
    const double s = b->shift;
    double f = 0;
    switch (b->function) {
    case CBO_FN_RASTRIGIN:
        for (int j0 = 0; j0 < d; j0 += CHUNK) {
            int m = d - j0 < CHUNK ? d - j0 : CHUNK;
            double c[CHUNK];
            cos2pi_chunk(x + j0, s, m, c);
            for (int k = 0; k < m; k++) {
                double y = x[j0 + k] - s;
                f += y * y - 10.0 * c[k];
            }
        }
        return f + 10.0 * d;
    case CBO_FN_ACKLEY: {
        double sq = 0, cs = 0;
        for (int j0 = 0; j0 < d; j0 += CHUNK) {
            int m = d - j0 < CHUNK ? d - j0 : CHUNK;
            double c[CHUNK];
            cos2pi_chunk(x + j0, s, m, c);
            for (int k = 0; k < m; k++) {
                double y = x[j0 + k] - s;
                sq += y * y;
                cs += c[k];
            }
        }
        return -20.0 * exp(-0.2 * sqrt(sq / d)) - exp(cs / d) + 20.0 + 2.718281828459045235360;
    }
    case CBO_FN_ROSENBROCK:
        for (int j = 0; j + 1 < d; j++) {
            double y = x[j] - s, y1 = x[j + 1] - s, a = y1 - y * y, c = 1.0 - y;
            f += 100.0 * a * a + c * c;
        }
        return f;
    case CBO_FN_GRIEWANK: {
        double p = 1;
        for (int j = 0; j < d; j++) {
            double y = x[j] - s;
            f += y * y;
            p *= cos(y / sqrt(j + 1.0));
        }
        return 1.0 + f / 4000.0 - p;
    }
    default:
        return NAN;
    }
}

void cbo_benchmark_box(const cbo_benchmark *b, double *center, double *half_width)
{
    static const double half[] = {5.12, 32.768, 7.5, 600.0};
    *center = b->function == CBO_FN_ROSENBROCK ? 2.5 : 0.0;
    *half_width = b->function >= 0 && b->function <= CBO_FN_GRIEWANK ? half[b->function] : 1.0;
}

void cbo_benchmark_minimizer(const cbo_benchmark *b, double *xstar)
{
    double y = b->function == CBO_FN_ROSENBROCK ? 1.0 : 0.0;
    for (int j = 0; j < b->dim; j++)
        xstar[j] = y + b->shift;
}

double cbo_benchmark_distance(const cbo_benchmark *b, const double *x)
{
    double y = (b->function == CBO_FN_ROSENBROCK ? 1.0 : 0.0) + b->shift, m = 0;
    for (int j = 0; j < b->dim; j++)
        m = fmax(m, fabs(x[j] - y));
    return m;
}
