/* cbo_gen.h - the built-in benchmark objectives of global.cbo's "benchmark" problems: Rastrigin,
 * Ackley, Rosenbrock and Griewank in any dimension, each with its standard search box and a
 * scalar shift that moves the global minimizer (so that it need not sit at the centre of the box
 * the particles start in), and the parameter table that decodes and documents the "benchmark"
 * object. Kept out of the solver (core/solvers/global/cbo.c), which takes any objective. */
#ifndef SV_SOLVERS_CBO_GEN_H
#define SV_SOLVERS_CBO_GEN_H

#include "core/params.h"
#include "core/solver.h"

typedef enum {
    /* 10 d + sum (y_j^2 - 10 cos(2 pi y_j)); box [-5.12, 5.12]^d; y* = 0 */
    CBO_FN_RASTRIGIN = 0,
    /* -20 exp(-0.2 sqrt(|y|^2 / d)) - exp(sum cos(2 pi y_j) / d) + 20 + e; box [-32.768, 32.768]^d;
     * y* = 0 */
    CBO_FN_ACKLEY = 1,
    /* sum_{j < d-1} 100 (y_{j+1} - y_j^2)^2 + (1 - y_j)^2; box [-5, 10]^d; y* = 1 (d >= 2) */
    CBO_FN_ROSENBROCK = 2,
    /* 1 + |y|^2 / 4000 - prod cos(y_j / sqrt(j + 1)); box [-600, 600]^d; y* = 0 */
    CBO_FN_GRIEWANK = 3
} cbo_function;

/* f(x) = g(x - shift 1) for the function g named by `function`: the minimizer is y* + shift,
 * the minimum 0 in every case. The search box does not move with the shift. */
typedef struct {
    int function;   /* cbo_function */
    int dim;        /* >= 1 (Rosenbrock: >= 2) */
    double shift;   /* added to every coordinate of the minimizer */
} cbo_benchmark;

/* Largest dimension of a benchmark (the codec also bounds it by its own limit). */
#define CBO_BENCHMARK_MAX_DIM 1000000

/* The table of the "benchmark" object: function (rastrigin), dim (required), shift (0). */
extern const sv_param_spec cbo_benchmark_params[];

/* The table's checks plus Rosenbrock's dim >= 2; errors name "/problem/benchmark/<field>".
 * SV_OK or SV_EINVAL. */
int cbo_benchmark_check(const cbo_benchmark *b, sv_err *e);

/* f(x), x of b->dim entries; the signature of cbo_objective_fn (ctx is the cbo_benchmark). */
double cbo_benchmark_value(void *ctx, const double *x);

/* The standard search box of the function: its centre (every coordinate) and half-width. */
void cbo_benchmark_box(const cbo_benchmark *b, double *center, double *half_width);

/* The global minimizer into xstar (b->dim entries). */
void cbo_benchmark_minimizer(const cbo_benchmark *b, double *xstar);

/* max_j |x_j - x*_j|: how far x is from the minimizer, coordinate-wise. */
double cbo_benchmark_distance(const cbo_benchmark *b, const double *x);

#endif
