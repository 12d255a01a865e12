/* eal_iter_time.c - time per iteration of constrained.eal_sketch (core API, one BLAS thread) on
 * generated constrained logistic regressions with d = n variables, 10 linear equalities and the
 * unit-norm constraint. Compiled against a build's libsolvd_core.a and headers, so the same file
 * times any commit whose eal_sketch_settings has these fields (bench/constrained/eal_iter_time.sh
 * compares the commit before the inertia check with the current one).
 *
 *   eal_iter_time N [modify_hessian 0|1] [iterations]
 *
 * prints "N iterations seconds seconds_per_iteration status". Timing only; nothing asserted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/models/logistic_eq.h"
#include "core/solvers/constrained/eal_sketch.h"

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const int d = atoi(argv[1]);
    const int modify = argc > 2 ? atoi(argv[2]) : 1;
    const long iters = argc > 3 ? atol(argv[3]) : 3;
    sv_blas_single_thread();
    /* 200 samples and a ridge of 1e-3: the Hessian costs 200 d^2, small next to the O(d^3) parts
     * this measures (the reduced-Hessian check, the LU fallback) */
    sv_logistic_eq_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.n = 200;
    spec.d = d;
    spec.m = 10;
    spec.unit_norm = 1;
    spec.lambda = 1e-3;
    spec.seed = 1;
    sv_logistic_eq L;
    sv_err e;
    if (sv_logistic_eq_generate(&spec, &L, &e) != SV_OK) {
        fprintf(stderr, "generate: %s\n", e.msg);
        return 1;
    }
    eal_sketch_problem p;
    eal_sketch_problem_from_logistic_eq(&L, &p);
    eal_sketch_settings s;
    eal_sketch_settings_default(&s);
    s.ctl.max_iter = iters;
    s.ctl.tol = 0;                         /* run the iterations asked for */
    s.multipliers = EAL_SKETCH_MULT_ZERO;  /* the same start in every build */
    s.max_sketch_iter = 2000;
    s.modify_hessian = modify;
    s.seed = 1;
    double *x = malloc((size_t)d * sizeof *x), *lam = malloc(((size_t)p.m + 1) * sizeof *lam);
    for (int i = 0; i < d; i++)
        x[i] = 1.0 / sqrt((double)d);
    eal_sketch_info info;
    if (eal_sketch_solve(&p, &s, NULL, x, lam, &info, &e) != SV_OK) {
        fprintf(stderr, "solve: %s\n", e.msg);
        return 1;
    }
    printf("%d %ld %.3f %.4f %s\n", d, info.base.iter, info.base.solve_time_s,
           info.base.iter > 0 ? info.base.solve_time_s / (double)info.base.iter : 0.0,
           sv_status_name(info.base.status));
    free(x);
    free(lam);
    sv_logistic_eq_free(&L);
    return 0;
}
