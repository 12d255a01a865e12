/* sor_bandit_gen.h - seeded sequences of linear systems for linsys.sor_bandit (the "generate"
 * form). A parameter c_t = c_lo + c_width * Beta(beta_a, beta_b) per instance, the instance's
 * context, and right-hand sides b_t drawn from the standard normal truncated to |b| <= sqrt(n);
 * the matrix is one of
 *  - shift (the paper's experiments): A_t = A + c_t I with A the Poisson matrix of the 5-point
 *    (2-D) or 3-point (1-D) finite-difference Laplacian on a square grid of interior points
 *    (MATLAB's delsq(numgrid('S', grid + 2)): diagonal 4 (2-D) or 2 (1-D), neighbours -1, no
 *    h^2 scaling);
 *  - diffusion: the finite-volume matrix of -div(k_t grad u) on the same grid with Dirichlet
 *    boundaries, k_t(x) = exp(c_t (x_1 + ... + x_dim)) on the unit square (line) evaluated at
 *    the cell faces; c_t = 0 gives the Poisson matrix again.
 * Also the container that owns a sequence, generated or decoded. */
#ifndef SV_SOR_BANDIT_GEN_H
#define SV_SOR_BANDIT_GEN_H

#include <stdint.h>
#include "core/params.h"
#include "core/rng.h"
#include "core/solvers/linsys/sor_bandit.h"

typedef enum { SOR_BANDIT_GEN_SHIFT = 0, SOR_BANDIT_GEN_DIFFUSION = 1 } sor_bandit_gen_kind;

typedef struct {
    int kind;            /* sor_bandit_gen_kind */
    int instances;       /* T */
    int dim;             /* 1 or 2 */
    int grid;            /* interior points per side: n = grid^dim */
    double c_lo;     /* c_t = c_lo + c_width * Beta(beta_a, beta_b) */
    double c_width;
    double beta_a, beta_b;
    uint64_t seed;
} sor_bandit_gen_spec;

/* The paper's "high-variance" offset distribution: c = -0.15 + 0.6 Beta(0.5, 1.5) on the
 * 10 x 10 grid. */
#define SOR_BANDIT_GEN_DEFAULT_GRID 10
#define SOR_BANDIT_GEN_DEFAULT_C_LO (-0.15)
#define SOR_BANDIT_GEN_DEFAULT_C_WIDTH 0.6
#define SOR_BANDIT_GEN_DEFAULT_BETA_A 0.5
#define SOR_BANDIT_GEN_DEFAULT_BETA_B 1.5

extern const sv_param_spec sor_bandit_gen_params[];

/* The table's checks plus, for shift: every A + c I positive definite over the shifts' range
 * (the least eigenvalue of A is 2 dim (1 - cos(pi / (grid + 1))), so c_lo must exceed its
 * negative); for diffusion |c| <= 50 (so that k stays within double range: k in e^-100..e^100).
 * Errors name "/problem/generate/<field>". Allocates nothing. */
int sor_bandit_gen_check(const sor_bandit_gen_spec *spec, sv_err *e);

/* A sequence and the storage it points into. */
typedef struct {
    sor_bandit_problem prob;
    sv_csr *mats;
    sor_bandit_instance *inst;
    double *rhs;         /* all right-hand sides, one after the other */
} sor_bandit_data;

/* Allocates n_mats empty matrices (zeroed), n_instances instances and rhs_len doubles.
 * SV_OK or SV_ENOMEM (out then empty). */
int sor_bandit_data_alloc(sor_bandit_data *out, int n_mats, int n_instances, size_t rhs_len);
void sor_bandit_data_free(sor_bandit_data *d);

/* The Poisson matrix of the header into A (allocated here): n = grid^dim. SV_OK/SV_ENOMEM. */
int sor_bandit_poisson(int dim, int grid, sv_csr *A);

/* The diffusion matrix of the header for coefficient parameter c into A (allocated here).
 * SV_OK/SV_ENOMEM. */
int sor_bandit_diffusion(int dim, int grid, double c, sv_csr *A);

/* A CSR copy of any sv_mat into out (allocated here): a dense matrix keeps its non-zero
 * entries and its diagonal. SV_OK or SV_ENOMEM. */
int sor_bandit_csr_from_mat(const sv_mat *m, sv_csr *out);

/* A Beta(a, b) draw (Marsaglia-Tsang gammas). */
double sor_bandit_beta(sv_rng *r, double a, double b);

/* Checks spec and generates. SV_OK, SV_EINVAL or SV_ENOMEM (out then empty). */
int sor_bandit_generate(const sor_bandit_gen_spec *spec, sor_bandit_data *out, sv_err *e);

#endif
