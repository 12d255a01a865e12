/* vr_halpern.h - variance-reduced Halpern iteration for a finite-sum monotone inclusion
 *     find z:  0 in F(z) + N_C(z),   F(z) = (1/n) sum_i F_i(z),   F_i(z) = M_i z + q_i,
 * with C = R^d or a box [lo, hi] (its normal cone N_C, handled through the resolvent, which is
 * the projection). The average of the M_i is monotone (M + M' PSD); in the cocoercive setting
 * the components are cocoercive (e.g. M_i symmetric PSD). Bilinear games min_x max_y x'Ay +
 * b'x - c'y are the case M_i = [[0, A_i], [-A_i', 0]], q = (b, c).
 * Paper: Cai, Alacaoglu, Diakonikolas, "Variance Reduced Halpern Iteration for Finite-Sum
 * Monotone Inclusions" (ICLR 2024, arXiv 2310.02987). Iterations are outer Halpern steps. */
#ifndef SV_VR_HALPERN_H
#define SV_VR_HALPERN_H

#include <stdint.h>
#include "core/control.h"
#include "core/params.h"

typedef enum {
    /* components on average L-Lipschitz and monotone: Halpern on the resolvent
     * J_{eta(F + N_C)}, each resolvent approximated by an inner variance-reduced
     * extragradient on the 1-strongly monotone z - u + eta F(z) (the paper's construction) */
    VR_HALPERN_MONOTONE = 0,
    /* components on average 1/L-cocoercive: Halpern on the forward-backward map
     * P_C(u - eta F(u)) with a recursive (PAGE-type) variance-reduced estimate of F */
    VR_HALPERN_COCOERCIVE = 1
} vr_halpern_setting;

typedef enum {
    VR_HALPERN_VR = 0,     /* the paper's variance-reduced estimators */
    VR_HALPERN_PLAIN = 1,  /* deterministic Halpern: full F at every evaluation */
    VR_HALPERN_EXTRAGRADIENT = 2  /* Korpelevich's extragradient, no anchoring: the baseline
                                     the paper compares with (2n oracle calls per step) */
} vr_halpern_variant;

#define VR_HALPERN_DEFAULT_TOL 1e-4
#define VR_HALPERN_DEFAULT_MAX_ITER 1000000L
#define VR_HALPERN_DEFAULT_REPORT_EVERY 100L
/* The run counts as diverged once the residual exceeds this multiple of its initial value. */
#define VR_HALPERN_DIVERGENCE_FACTOR 1e12

typedef struct {
    int setting;          /* vr_halpern_setting */
    int variant;          /* vr_halpern_variant */
    double eta;           /* the step (cocoercive) or resolvent parameter (monotone); NaN: 1/L */
    double L;             /* "lipschitz": Lipschitz/cocoercivity parameter; NaN: computed */
    double p;             /* snapshot probability; NaN: 1/sqrt(n) cocoercive, 1/n monotone */
    int batch;            /* cocoercive estimator's batch; 0: ceil(sqrt(n)) */
    double inner_scale;   /* monotone: inner steps m_k = ceil(inner_scale (1+eta L)/sqrt(p)
                             ln(k+2)) (vr) or ceil(inner_scale 2 (1+eta L_F) ln(k+2)) (plain) */
    long check_every;     /* exact residual every this many outer steps; 0: automatic */
    uint64_t seed;        /* sampling */
    sv_control ctl;       /* tol: stop when the operator residual <= tol (absolute) */
} vr_halpern_settings;

extern const sv_param_spec vr_halpern_params[];

typedef struct {
    int n, d;
    const double *M;     /* n*d*d: component i is the row-major d x d block M + i*d*d */
    const double *q;     /* n*d: q_i at q + i*d */
    const double *lo;    /* d or NULL: lower bounds of the box C */
    const double *hi;    /* d or NULL: upper bounds */
} vr_halpern_problem;

typedef struct {
    sv_info base;         /* base.obj = base.res = the operator residual, base.iter = outer steps */
    double residual;      /* ||z - P_C(z - eta F(z))|| / eta at the returned z (= ||F(z)||
                             unconstrained) */
    double L;             /* the parameter used */
    double eta;           /* the step used */
    double p;             /* the snapshot probability used */
    int batch;            /* the batch used (cocoercive) */
    long oracle_calls;    /* component evaluations F_i by the method (a full F counts n) */
    long check_calls;     /* component evaluations spent on the exact residual checks */
    long inner_steps;     /* inner extragradient steps (monotone setting) */
} vr_halpern_info;

void vr_halpern_settings_default(vr_halpern_settings *s);
int vr_halpern_check_settings(const vr_halpern_settings *s, sv_err *e);

/* Runs the method from z (in: z_0, the anchor; out: the last iterate; length d). Validates the
 * problem and settings before allocating. Returns SV_OK (info->base.status says how the run
 * ended), SV_EINVAL (e names the field), SV_ENOMEM or SV_ENUMERIC. */
int vr_halpern_solve(const vr_halpern_problem *p, const vr_halpern_settings *s,
                     const sv_monitor *mon, double *z, vr_halpern_info *info, sv_err *e);

/* The operator residual r(z) = ||z - P_C(z - eta F(z))|| / eta with a full pass (no oracle
 * accounting); work has n*d + 2d doubles. Exposed for tests and the codec's result. */
double vr_halpern_residual(const vr_halpern_problem *p, double eta, const double *z, double *work);

#endif
