/* sor_bandit_gen.c - seeded shifted-Poisson sequences and their container (sor_bandit_gen.h). */
#include "core/solvers/linsys/sor_bandit_gen.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_choices[] = {"shift", "diffusion", NULL};

const sv_param_spec sor_bandit_gen_params[] = {
    SV_P_ENUM(sor_bandit_gen_spec, kind, kind_choices, SOR_BANDIT_GEN_SHIFT,
              "shift: A_t = Laplacian + c_t I (the paper's); diffusion: -div(exp(c_t (x + y)) "
              "grad u) on the same grid"),
    SV_P_INT32_REQ(sor_bandit_gen_spec, instances, 1, 10000000, "instances T in the sequence"),
    SV_P_INT32(sor_bandit_gen_spec, dim, 1, 2, 2, "1: 3-point Laplacian; 2: 5-point Laplacian"),
    SV_P_INT32(sor_bandit_gen_spec, grid, 1, 100000, SOR_BANDIT_GEN_DEFAULT_GRID,
               "interior grid points per side (n = grid^dim unknowns)"),
    SV_P_NUMBER(sor_bandit_gen_spec, c_lo, -1e6, 1e6, SOR_BANDIT_GEN_DEFAULT_C_LO,
                "least c_t (shift: the diagonal shift, A + c I must stay positive definite; "
                "diffusion: the coefficient's exponent)"),
    SV_P_NUMBER(sor_bandit_gen_spec, c_width, 0, 1e6, SOR_BANDIT_GEN_DEFAULT_C_WIDTH,
                "c_t = c_lo + c_width * Beta(beta_a, beta_b)"),
    SV_P_NUMBER_GT(sor_bandit_gen_spec, beta_a, 0, 1e6, SOR_BANDIT_GEN_DEFAULT_BETA_A,
                   "first shape of the shifts' Beta law"),
    SV_P_NUMBER_GT(sor_bandit_gen_spec, beta_b, 0, 1e6, SOR_BANDIT_GEN_DEFAULT_BETA_B,
                   "second shape of the shifts' Beta law"),
    SV_P_SEED(sor_bandit_gen_spec, seed, 0, "seed of the shifts and right-hand sides"),
    SV_PARAMS_END,
};

int sor_bandit_gen_check(const sor_bandit_gen_spec *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/problem/generate", "spec missing");
    int rc = sv_params_validate(sor_bandit_gen_params, s, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;
    double n = pow((double)s->grid, s->dim);
    if (n > 1e8)
        return sv_fail(e, "/problem/generate/grid", "grid^dim = %.0f unknowns exceed 1e8", n);
    if (s->kind == SOR_BANDIT_GEN_DIFFUSION) {
        if (!(fabs(s->c_lo) <= 50 && fabs(s->c_lo + s->c_width) <= 50))
            return sv_fail(e, "/problem/generate/c_width", "diffusion: c_t must stay in [-50, 50] "
                           "(k = exp(c (x + y))), got [%g, %g]", s->c_lo, s->c_lo + s->c_width);
        return SV_OK;
    }
    double lmin = 2.0 * s->dim * (1.0 - cos(M_PI / (s->grid + 1.0)));
    if (!(s->c_lo > -lmin))
        return sv_fail(e, "/problem/generate/c_lo",
                       "must be > %.6g (minus the least eigenvalue of A) so that every A + c I "
                       "is positive definite, got %g", -lmin, s->c_lo);
    return SV_OK;
}

void sor_bandit_data_free(sor_bandit_data *d)
{
    if (!d)
        return;
    for (int m = 0; d->mats && m < d->prob.n_mats; m++)
        sv_csr_free(&d->mats[m]);
    free(d->mats);
    free(d->inst);
    free(d->rhs);
    memset(d, 0, sizeof *d);
}

int sor_bandit_data_alloc(sor_bandit_data *d, int n_mats, int n_instances, size_t rhs_len)
{
    memset(d, 0, sizeof *d);
    d->mats = calloc((size_t)n_mats, sizeof *d->mats);
    d->inst = calloc((size_t)n_instances, sizeof *d->inst);
    d->rhs = malloc((rhs_len > 0 ? rhs_len : 1) * sizeof *d->rhs);
    if (!d->mats || !d->inst || !d->rhs) {
        free(d->mats);
        free(d->inst);
        free(d->rhs);
        memset(d, 0, sizeof *d);
        return SV_ENOMEM;
    }
    d->prob.n_mats = n_mats;
    d->prob.mats = d->mats;
    d->prob.n_instances = n_instances;
    d->prob.inst = d->inst;
    return SV_OK;
}

int sor_bandit_poisson(int dim, int grid, sv_csr *A)
{
    const int n = dim == 1 ? grid : grid * grid;
    const int nnz = dim == 1 ? 3 * n - 2 : 5 * n - 4 * grid;
    int rc = sv_csr_alloc(A, n, n, nnz);
    if (rc != SV_OK)
        return rc;
    int q = 0;
    for (int i = 0; i < n; i++) {
        A->rowptr[i] = q;
        int r = dim == 1 ? 0 : i / grid, c = dim == 1 ? i : i % grid;
        if (dim == 2 && r > 0) {
            A->colind[q] = i - grid;
            A->val[q++] = -1.0;
        }
        if (c > 0) {
            A->colind[q] = i - 1;
            A->val[q++] = -1.0;
        }
        A->colind[q] = i;
        A->val[q++] = 2.0 * dim;
        if (c < grid - 1) {
            A->colind[q] = i + 1;
            A->val[q++] = -1.0;
        }
        if (dim == 2 && r < grid - 1) {
            A->colind[q] = i + grid;
            A->val[q++] = -1.0;
        }
    }
    A->rowptr[n] = q;
    A->nnz = q;
    return SV_OK;
}

int sor_bandit_csr_from_mat(const sv_mat *m, sv_csr *out)
{
    if (m->kind == SV_MAT_CSR) {
        const sv_csr *c = &m->csr;
        int rc = sv_csr_alloc(out, c->rows, c->cols, c->nnz);
        if (rc != SV_OK)
            return rc;
        memcpy(out->rowptr, c->rowptr, ((size_t)c->rows + 1) * sizeof *out->rowptr);
        if (c->nnz > 0) {
            memcpy(out->colind, c->colind, (size_t)c->nnz * sizeof *out->colind);
            memcpy(out->val, c->val, (size_t)c->nnz * sizeof *out->val);
        }
        return SV_OK;
    }
    const sv_dense *D = &m->dense;
    long nnz = 0;
    for (int i = 0; i < D->rows; i++)
        for (int j = 0; j < D->cols; j++)
            nnz += D->data[(size_t)i * D->cols + j] != 0 || i == j;
    if (nnz > INT_MAX)
        return SV_ENOMEM;
    int rc = sv_csr_alloc(out, D->rows, D->cols, (int)nnz);
    if (rc != SV_OK)
        return rc;
    int q = 0;
    for (int i = 0; i < D->rows; i++) {
        out->rowptr[i] = q;
        for (int j = 0; j < D->cols; j++) {
            double v = D->data[(size_t)i * D->cols + j];
            if (v != 0 || i == j) {
                out->colind[q] = j;
                out->val[q++] = v;
            }
        }
    }
    out->rowptr[D->rows] = q;
    return SV_OK;
}

int sor_bandit_diffusion(int dim, int grid, double c, sv_csr *A)
{
    int rc = sor_bandit_poisson(dim, grid, A);  /* the same pattern, sorted */
    if (rc != SV_OK)
        return rc;
    const double h = 1.0 / (grid + 1.0);
    for (int i = 0; i < A->rows; i++) {
        int r = dim == 1 ? 0 : i / grid, col = dim == 1 ? i : i % grid;
        /* cell centre (x, y) = ((col + 1) h, (r + 1) h); a face between two unknowns or an
         * unknown and the boundary sits half a step away */
        double x = (col + 1) * h, y = dim == 1 ? 0 : (r + 1) * h, diag = 0;
        double faces[4][2] = {{x - 0.5 * h, y}, {x + 0.5 * h, y}, {x, y - 0.5 * h},
                              {x, y + 0.5 * h}};
        for (int f = 0; f < 2 * dim; f++)
            diag += exp(c * (faces[f][0] + faces[f][1]));
        for (int q = A->rowptr[i]; q < A->rowptr[i + 1]; q++) {
            int j = A->colind[q];
            if (j == i) {
                A->val[q] = diag;
                continue;
            }
            int f = j == i - 1 ? 0 : j == i + 1 ? 1 : j < i ? 2 : 3;
            A->val[q] = -exp(c * (faces[f][0] + faces[f][1]));
        }
    }
    return SV_OK;
}

/* Gamma(a, 1) by Marsaglia and Tsang; a < 1 through Gamma(a + 1) U^(1/a). */
static double gamma_draw(sv_rng *r, double a)
{
    if (a < 1.0) {
        double u = sv_rng_uniform(r);
        return gamma_draw(r, a + 1.0) * pow(u > 0 ? u : 1e-300, 1.0 / a);
    }
    const double dd = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
    for (;;) {
        double z = sv_rng_normal(r), v = 1.0 + c * z;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = sv_rng_uniform(r);
        if (u < 1.0 - 0.0331 * z * z * z * z)
            return dd * v;
        if (u > 0 && log(u) < 0.5 * z * z + dd * (1.0 - v + log(v)))
            return dd * v;
    }
}

double sor_bandit_beta(sv_rng *r, double a, double b)
{
    double x = gamma_draw(r, a), y = gamma_draw(r, b);
    return x + y > 0 ? x / (x + y) : 0.5;
}

int sor_bandit_generate(const sor_bandit_gen_spec *s, sor_bandit_data *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int rc = sor_bandit_gen_check(s, e);
    if (rc != SV_OK)
        return rc;
    const int n = s->dim == 1 ? s->grid : s->grid * s->grid;
    const int diffusion = s->kind == SOR_BANDIT_GEN_DIFFUSION, n_mats = diffusion ? s->instances : 1;
    if ((rc = sor_bandit_data_alloc(d, n_mats, s->instances, (size_t)n * (size_t)s->instances)) !=
        SV_OK)
        return rc;
    if (!diffusion && (rc = sor_bandit_poisson(s->dim, s->grid, &d->mats[0])) != SV_OK) {
        sor_bandit_data_free(d);
        return rc;
    }
    sv_rng r;
    sv_rng_seed(&r, s->seed);
    const double radius2 = (double)n;
    for (int t = 0; t < s->instances; t++) {
        double c = s->c_lo + s->c_width * sor_bandit_beta(&r, s->beta_a, s->beta_b);
        double *b = d->rhs + (size_t)t * (size_t)n;
        for (;;) {  /* rejection: a standard normal vector inside the ball of radius sqrt(n) */
            double q = 0;
            for (int i = 0; i < n; i++) {
                b[i] = sv_rng_normal(&r);
                q += b[i] * b[i];
            }
            if (q <= radius2)
                break;
        }
        if (diffusion) {
            if ((rc = sor_bandit_diffusion(s->dim, s->grid, c, &d->mats[t])) != SV_OK) {
                sor_bandit_data_free(d);
                return rc;
            }
            d->inst[t] = (sor_bandit_instance){t, 0.0, b, c};
        } else {
            d->inst[t] = (sor_bandit_instance){0, c, b, c};
        }
    }
    return SV_OK;
}
