/* mfac.c - the M-FAC static and dynamic IHVP engines (core/kernels/mfac.h).
 *
 * Static: the vectors v_i = F_{i-1}^{-1} g_i satisfy
 *     v_i = g_i / lambda - sum_{j<i} (v_j' g_i / denom_j) v_j,    denom_j = m + g_j' v_j,
 * and every term uses the original g_i, so the rows can be produced a block at a time: the
 * contribution of all finished rows to a block of SV_MFAC_BLOCK new rows is two dgemm calls
 * (the authors' "paged" precomputation does the same), and only the short recursion inside the
 * block is sequential.
 *
 * Dynamic: with Q^(k)_ij = g_i' F_k^{-1} g_j, Sherman-Morrison gives
 *     Q^(k)_ij = Q^(k-1)_ij - Q^(k-1)_ik Q^(k-1)_kj / (m + Q^(k-1)_kk),   Q^(0) = G G' / lambda,
 * which is Gaussian elimination without pivoting on M = m I + G G' / lambda: the paper's D
 * (D_kj = Q^(k-1)_kj, j >= k) is the U factor of M minus m on its diagonal. M is symmetric
 * positive definite, so that elimination is its Cholesky factorisation up to scaling: with
 * M = R'R, D_kj = R_kk R_kj (j > k) and denom_k = m + D_kk = R_kk^2. The coefficients of
 * v_i = sum_j B_ij g_j follow the paper's recursion B_i = e_i/lambda - sum_{k<i} (D_ki/denom_k) B_k,
 * i.e. (I + N) B = I/lambda with N_ik = R_ki / R_kk, so B = (1/lambda) diag(R_kk) R'^{-1}.
 * LAPACK's dpotrf and dtrtri compute exactly these O(m^3) quantities. An IHVP is then the
 * paper's two passes over G and the O(m^2) triangular recursion in between:
 *     q = G x / lambda;  solve (I + N) q' = q;  c = q' / denom;  y = x / lambda - G' (B' c).
 * Algebraically this is the Woodbury identity F^{-1} = I/lambda - G'(m I + G G'/lambda)^{-1} G /
 * lambda^2; the recursive form is kept because D, denom and B are what the paper's algorithm
 * maintains and what the tests check against the static engine. */
#include "core/kernels/mfac.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check_sizes(int d, int m, double lambda);
static int window_refactor(sv_mfac_window *s);
static void set_slot(sv_mfac_window *s, int slot, const double *g);
static void finish_ihvp(int d, int m, double lambda, const double *G, const double *t,
                        const double *x, double *y);

static int check_sizes(int d, int m, double lambda)
{
    if (d < 1 || m < 1 || !(isfinite(lambda) && lambda > 0))
        return SV_EINVAL;
    return SV_OK;
}

/* y = x / lambda - G' t (G m x d row-major). y may be x: t is already computed from x. */
static void finish_ihvp(int d, int m, double lambda, const double *G, const double *t,
                        const double *x, double *y)
{
    if (y != x)
        memcpy(y, x, (size_t)d * sizeof *y);
    cblas_dscal(d, 1.0 / lambda, y, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, m, d, -1.0, G, d, t, 1, 1.0, y, 1);
}

double sv_mfac_mean_diag(const double *G, int m, int d)
{
    double acc = 0.0;
    for (int i = 0; i < m; i++) {
        const double nrm = cblas_dnrm2(d, G + (size_t)i * d, 1);
        acc += nrm * nrm;
    }
    return acc / ((double)m * d);
}

/* ================================ static ================================ */

double sv_mfac_static_bytes(int d, int m)
{
    return 8.0 * ((double)m * d + (double)m * (1 + SV_MFAC_BLOCK));
}

int sv_mfac_static_init(sv_mfac_static *s, int d, int m, double lambda)
{
    memset(s, 0, sizeof *s);
    if (check_sizes(d, m, lambda) != SV_OK)
        return SV_EINVAL;
    s->V = calloc((size_t)m * (size_t)d, sizeof *s->V);
    s->denom = calloc((size_t)m, sizeof *s->denom);
    s->work = calloc((size_t)m * SV_MFAC_BLOCK, sizeof *s->work);
    if (!s->V || !s->denom || !s->work) {
        sv_mfac_static_free(s);
        return SV_ENOMEM;
    }
    s->d = d;
    s->m = m;
    s->lambda = lambda;
    return SV_OK;
}

int sv_mfac_static_build(sv_mfac_static *s, const double *G)
{
    return sv_mfac_static_build_until(s, G, NULL, NULL);
}

int sv_mfac_static_build_until(sv_mfac_static *s, const double *G, int (*stop)(void *data),
                               void *data)
{
    const int d = s->d, m = s->m;
    const double inv_lambda = 1.0 / s->lambda;
    double *V = s->V, *C = s->work;
    s->built = 0;
    for (int b0 = 0; b0 < m; b0 += SV_MFAC_BLOCK) {
        if (stop && stop(data))
            return SV_MFAC_STOPPED;
        const int nb = m - b0 < SV_MFAC_BLOCK ? m - b0 : SV_MFAC_BLOCK;
        const double *Gb = G + (size_t)b0 * d;
        double *Vb = V + (size_t)b0 * d;
        memcpy(Vb, Gb, (size_t)nb * d * sizeof *Vb);
        cblas_dscal(nb * d, inv_lambda, Vb, 1);
        if (b0 > 0) {
            /* C = V_done G_b' (b0 x nb), row j scaled by 1/denom_j; then V_b -= C' V_done. */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b0, nb, d, 1.0, V, d, Gb, d, 0.0,
                        C, nb);
            for (int j = 0; j < b0; j++)
                cblas_dscal(nb, 1.0 / s->denom[j], C + (size_t)j * nb, 1);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nb, d, b0, -1.0, C, nb, V, d, 1.0,
                        Vb, d);
        }
        /* Inside the block: v_i -= sum_{b0 <= j < i} (v_j' g_i / denom_j) v_j. */
        for (int i = 0; i < nb; i++) {
            const int gi = b0 + i;
            const double *g = G + (size_t)gi * d;
            double *v = V + (size_t)gi * d;
            if (i > 0) {
                cblas_dgemv(CblasRowMajor, CblasNoTrans, i, d, 1.0, Vb, d, g, 1, 0.0, C, 1);
                for (int j = 0; j < i; j++)
                    C[j] /= s->denom[b0 + j];
                cblas_dgemv(CblasRowMajor, CblasTrans, i, d, -1.0, Vb, d, C, 1, 1.0, v, 1);
            }
            double den = m + cblas_ddot(d, g, 1, v, 1);
            if (!(isfinite(den) && den > 0))
                return SV_ENUMERIC;
            s->denom[gi] = den;
        }
    }
    s->built = 1;
    return SV_OK;
}

void sv_mfac_static_ihvp(const sv_mfac_static *s, const double *x, double *y)
{
    const int d = s->d, m = s->m;
    double *t = s->work;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, m, d, 1.0, s->V, d, x, 1, 0.0, t, 1);
    for (int i = 0; i < m; i++)
        t[i] /= s->denom[i];
    finish_ihvp(d, m, s->lambda, s->V, t, x, y);
}

double sv_mfac_static_inv_entry(const sv_mfac_static *s, int j, int k)
{
    const int d = s->d;
    double acc = 0.0;
    for (int i = 0; i < s->m; i++) {
        const double *v = s->V + (size_t)i * d;
        acc += v[j] * v[k] / s->denom[i];
    }
    return (j == k ? 1.0 / s->lambda : 0.0) - acc;
}

void sv_mfac_static_inv_diag(const sv_mfac_static *s, double *diag)
{
    const int d = s->d;
    for (int j = 0; j < d; j++)
        diag[j] = 1.0 / s->lambda;
    for (int i = 0; i < s->m; i++) {
        const double *v = s->V + (size_t)i * d;
        const double w = 1.0 / s->denom[i];
        for (int j = 0; j < d; j++)
            diag[j] -= w * v[j] * v[j];
    }
}

void sv_mfac_static_free(sv_mfac_static *s)
{
    if (!s)
        return;
    free(s->V);
    free(s->denom);
    free(s->work);
    memset(s, 0, sizeof *s);
}

/* ================================ dynamic ================================ */

double sv_mfac_window_bytes(int d, int m)
{
    return 8.0 * ((double)m * d + 4.0 * (double)m * m + 2.0 * m);
}

int sv_mfac_window_init(sv_mfac_window *s, int d, int m, double lambda)
{
    memset(s, 0, sizeof *s);
    if (check_sizes(d, m, lambda) != SV_OK)
        return SV_EINVAL;
    const size_t mm = (size_t)m * (size_t)m;
    s->G = calloc((size_t)m * (size_t)d, sizeof *s->G);
    s->GG = calloc(mm, sizeof *s->GG);
    s->R = calloc(mm, sizeof *s->R);
    s->U = calloc(mm, sizeof *s->U);
    s->B = calloc(mm, sizeof *s->B);
    s->denom = calloc((size_t)m, sizeof *s->denom);
    s->q = calloc((size_t)m, sizeof *s->q);
    if (!s->G || !s->GG || !s->R || !s->U || !s->B || !s->denom || !s->q) {
        sv_mfac_window_free(s);
        return SV_ENOMEM;
    }
    s->d = d;
    s->m = m;
    s->lambda = lambda;
    sv_mfac_window_clear(s);
    return SV_OK;
}

void sv_mfac_window_clear(sv_mfac_window *s)
{
    const int m = s->m;
    const size_t mm = (size_t)m * (size_t)m;
    memset(s->G, 0, (size_t)m * (size_t)s->d * sizeof *s->G);
    memset(s->GG, 0, mm * sizeof *s->GG);
    memset(s->U, 0, mm * sizeof *s->U);
    memset(s->B, 0, mm * sizeof *s->B);
    if (s->rel_damp > 0)
        s->lambda = s->rel_damp;
    /* F = lambda I: every v_i = g_i / lambda with g_i = 0, denominators m. */
    for (int i = 0; i < m; i++) {
        s->B[(size_t)i * m + i] = 1.0 / s->lambda;
        s->denom[i] = m;
    }
    s->count = 0;
    s->next = 0;
}

/* G[slot] = g (NULL: zero) and the matching row and column of G G'. O(d m). */
static void set_slot(sv_mfac_window *s, int slot, const double *g)
{
    const int d = s->d, m = s->m;
    double *row = s->G + (size_t)slot * d;
    if (g)
        memcpy(row, g, (size_t)d * sizeof *row);
    else
        memset(row, 0, (size_t)d * sizeof *row);
    double *dots = s->q;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, m, d, 1.0, s->G, d, row, 1, 0.0, dots, 1);
    for (int j = 0; j < m; j++) {
        s->GG[(size_t)slot * m + j] = dots[j];
        s->GG[(size_t)j * m + slot] = dots[j];
    }
}

/* D (as U and denom) and B from G G', O(m^3); see the top of the file. */
static int window_refactor(sv_mfac_window *s)
{
    const int m = s->m;
    /* F divides by the capacity m, or by the gradients held (at least 1) with norm_held. */
    const int norm = s->norm_held && s->count > 0 ? s->count : m;
    if (s->rel_damp > 0) {
        double trace = 0.0;
        for (int i = 0; i < m; i++)
            trace += s->GG[(size_t)i * m + i];
        s->lambda = trace > 0 ? s->rel_damp * trace / ((double)norm * s->d) : s->rel_damp;
        if (!(isfinite(s->lambda) && s->lambda > 0))
            return SV_ENUMERIC;
    }
    const double inv_lambda = 1.0 / s->lambda;
    double *R = s->R;
    for (int i = 0; i < m; i++) {
        for (int j = i; j < m; j++)
            R[(size_t)i * m + j] = s->GG[(size_t)i * m + j] * inv_lambda;
        R[(size_t)i * m + i] += norm;
    }
    /* Column-major 'L' on the same memory is the row-major upper triangle, without the
     * transposed copies LAPACKE allocates for row-major calls. */
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', m, R, m) != 0)
        return SV_ENUMERIC;
    for (int i = 0; i < m; i++) {
        const double rii = R[(size_t)i * m + i];
        s->denom[i] = rii * rii;
        for (int j = i + 1; j < m; j++)
            s->U[(size_t)i * m + j] = R[(size_t)i * m + j] / rii;
    }
    if (LAPACKE_dtrtri(LAPACK_COL_MAJOR, 'L', 'N', m, R, m) != 0)
        return SV_ENUMERIC;
    /* R now holds R^{-1} (upper); B_ij = R_ii (R^{-1})_ji / lambda for j <= i. */
    for (int i = 0; i < m; i++) {
        const double scale = sqrt(s->denom[i]) * inv_lambda;
        for (int j = 0; j <= i; j++)
            s->B[(size_t)i * m + j] = scale * R[(size_t)j * m + i];
    }
    return SV_OK;
}

void sv_mfac_window_set_relative(sv_mfac_window *s, double rel)
{
    s->rel_damp = rel > 0 && isfinite(rel) ? rel : 0.0;
    if (s->count == 0)
        sv_mfac_window_clear(s);
}

int sv_mfac_window_normalize_by_count(sv_mfac_window *s, int on)
{
    s->norm_held = on != 0;
    return s->count > 0 ? window_refactor(s) : SV_OK;
}

int sv_mfac_window_push(sv_mfac_window *s, const double *g)
{
    const int slot = s->next;
    set_slot(s, slot, g);
    s->next = (slot + 1) % s->m;
    if (s->count < s->m)
        s->count++;
    return window_refactor(s);
}

int sv_mfac_window_push_many(sv_mfac_window *s, const double *G, int n)
{
    if (n <= 0)
        return SV_OK;
    /* Only the last m rows survive n pushes. */
    const int skip = n > s->m ? n - s->m : 0;
    s->next = (int)((s->next + (long)skip) % s->m);  /* row i goes where push i would put it */
    for (int i = skip; i < n; i++) {
        set_slot(s, s->next, G + (size_t)i * s->d);
        s->next = (s->next + 1) % s->m;
        if (s->count < s->m)
            s->count++;
    }
    return window_refactor(s);
}

int sv_mfac_window_pop(sv_mfac_window *s)
{
    if (s->count == 0)
        return SV_OK;
    const int oldest = ((s->next - s->count) % s->m + s->m) % s->m;
    set_slot(s, oldest, NULL);
    s->count--;
    return window_refactor(s);
}

void sv_mfac_window_ihvp(const sv_mfac_window *s, const double *x, double *y)
{
    const int d = s->d, m = s->m;
    double *q = s->q;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, m, d, 1.0 / s->lambda, s->G, d, x, 1, 0.0, q, 1);
    /* q_i -= sum_{k<i} (D_ki / denom_k) q_k: a unit lower-triangular solve with U'. */
    cblas_dtrsv(CblasRowMajor, CblasUpper, CblasTrans, CblasUnit, m, s->U, m, q, 1);
    for (int i = 0; i < m; i++)
        q[i] /= s->denom[i];
    cblas_dtrmv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, m, s->B, m, q, 1);
    finish_ihvp(d, m, s->lambda, s->G, q, x, y);
}

void sv_mfac_window_free(sv_mfac_window *s)
{
    if (!s)
        return;
    free(s->G);
    free(s->GG);
    free(s->R);
    free(s->U);
    free(s->B);
    free(s->denom);
    free(s->q);
    memset(s, 0, sizeof *s);
}
