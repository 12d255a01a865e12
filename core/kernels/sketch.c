/* sketch.c - randomized iterative sketching for consistent linear systems (see sketch.h). */
#include "core/kernels/sketch.h"

#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"

struct sv_sketch_ws {
    int rows, cols, kind, s;
    double *cum;  /* rows: cumulative squared row norms (KACZMARZ) */
    double *r;    /* rows: residual A z - rhs */
    double *M;    /* s x s: S'A A'S */
    double *w;    /* s */
    double *Y;    /* s x cols: A'S, one column of it per row */
    double *S;    /* rows x s: the Gaussian sketch */
    int *idx;     /* s: the rows of a block */
};

int sv_sketch_ws_new(int rows, int cols, int kind, int size, sv_sketch_ws **out)
{
    *out = NULL;
    if (rows < 1 || cols < 1)
        return SV_EINVAL;
    int s = kind == SV_SKETCH_KACZMARZ ? 1 : (size < 1 ? 1 : size);
    if (s > rows)
        s = rows;
    sv_sketch_ws *w = calloc(1, sizeof *w);
    if (!w)
        return SV_ENOMEM;
    w->rows = rows;
    w->cols = cols;
    w->kind = kind;
    w->s = s;
    w->cum = malloc((size_t)rows * sizeof *w->cum);
    w->r = malloc((size_t)rows * sizeof *w->r);
    w->M = malloc((size_t)s * s * sizeof *w->M);
    w->w = malloc((size_t)s * sizeof *w->w);
    w->Y = malloc((size_t)s * cols * sizeof *w->Y);
    w->idx = malloc((size_t)s * sizeof *w->idx);
    if (kind == SV_SKETCH_GAUSSIAN)
        w->S = malloc((size_t)rows * s * sizeof *w->S);
    if (!w->cum || !w->r || !w->M || !w->w || !w->Y || !w->idx ||
        (kind == SV_SKETCH_GAUSSIAN && !w->S)) {
        sv_sketch_ws_free(w);
        return SV_ENOMEM;
    }
    *out = w;
    return SV_OK;
}

void sv_sketch_ws_free(sv_sketch_ws *w)
{
    if (!w)
        return;
    free(w->cum);
    free(w->r);
    free(w->M);
    free(w->w);
    free(w->Y);
    free(w->S);
    free(w->idx);
    free(w);
}

/* r = A z - rhs; returns |r|. */
static double residual(int rows, int cols, const double *A, const double *rhs, const double *z,
                       double *r);

double sv_sketch_residual(int rows, int cols, const double *A, const double *rhs, const double *z,
                          sv_sketch_ws *w)
{
    return residual(rows, cols, A, rhs, z, w->r);
}

static double residual(int rows, int cols, const double *A, const double *rhs, const double *z,
                       double *r)
{
    sv_mat Am;
    memset(&Am, 0, sizeof Am);
    Am.kind = SV_MAT_DENSE;
    Am.rows = Am.dense.rows = rows;
    Am.cols = Am.dense.cols = cols;
    Am.dense.data = (double *)A;
    sv_copy(rows, rhs, r);
    sv_mat_gemv(0, 1.0, &Am, z, -1.0, r);
    return sv_nrm2(rows, r);
}

/* Projection of z onto {a_i'z = rhs_i}. */
static void project_row(int cols, const double *A, const double *rhs, int i, double nrm2,
                        double *z)
{
    const double *a = A + (size_t)i * cols;
    double ri = sv_dot(cols, a, z) - rhs[i];
    sv_axpy(cols, -ri / nrm2, a, z);
}

/* Row i with probability cum-weight: the first i with cum[i] > u. */
static int draw_row(const double *cum, int rows, sv_rng *rng)
{
    double u = sv_rng_uniform(rng) * cum[rows - 1];
    int lo = 0, hi = rows - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void block_step(int cols, const double *A, const double *rhs, sv_rng *rng,
                       sv_sketch_ws *w, double *z)
{
    const int s = w->s;
    sv_rng_sample(rng, w->rows, s, w->idx);
    for (int a = 0; a < s; a++) {
        const double *ra = A + (size_t)w->idx[a] * cols;
        w->w[a] = sv_dot(cols, ra, z) - rhs[w->idx[a]];
        for (int c = 0; c <= a; c++) {
            double v = sv_dot(cols, ra, A + (size_t)w->idx[c] * cols);
            w->M[a * s + c] = w->M[c * s + a] = v;
        }
    }
    if (sv_solve_spd(s, w->M, w->w, 1) == SV_OK) {
        for (int a = 0; a < s; a++)
            sv_axpy(cols, -w->w[a], A + (size_t)w->idx[a] * cols, z);
        return;
    }
    /* Dependent rows in the block: project on them one after the other instead. */
    for (int a = 0; a < s; a++) {
        const double *ra = A + (size_t)w->idx[a] * cols;
        double nrm2 = sv_dot(cols, ra, ra);
        if (nrm2 > 0)
            project_row(cols, A, rhs, w->idx[a], nrm2, z);
    }
}

/* One Gaussian step from the fresh residual w->r. */
static void gaussian_step(int rows, int cols, const double *A, sv_rng *rng, sv_sketch_ws *w,
                          double *z)
{
    const int s = w->s;
    for (size_t k = 0; k < (size_t)rows * s; k++)
        w->S[k] = sv_rng_normal(rng);
    sv_zero(s * cols, w->Y);
    sv_zero(s, w->w);
    for (int i = 0; i < rows; i++) {
        const double *a = A + (size_t)i * cols;
        for (int j = 0; j < s; j++) {
            double sij = w->S[(size_t)i * s + j];
            sv_axpy(cols, sij, a, w->Y + (size_t)j * cols);
            w->w[j] += sij * w->r[i];
        }
    }
    for (int a = 0; a < s; a++)
        for (int c = 0; c <= a; c++)
            w->M[a * s + c] = w->M[c * s + a] =
                sv_dot(cols, w->Y + (size_t)a * cols, w->Y + (size_t)c * cols);
    if (sv_solve_spd(s, w->M, w->w, 1) != SV_OK)
        return;  /* a degenerate draw (A'S rank deficient): skip it */
    for (int j = 0; j < s; j++)
        sv_axpy(cols, -w->w[j], w->Y + (size_t)j * cols, z);
}

void sv_sketch_solve(int rows, int cols, const double *A, const double *rhs,
                      const sv_sketch_opts *opts, sv_rng *rng, sv_sketch_ws *w, double *z,
                      sv_sketch_stats *st)
{
    const int kind = w->kind, s = w->s;
    st->iters = 0;
    st->stopped = 0;
    st->res = residual(rows, cols, A, rhs, z, w->r);
    st->converged = st->res <= opts->tol;
    if (st->converged || opts->max_iter <= 0)
        return;
    if (kind == SV_SKETCH_KACZMARZ) {
        double acc = 0.0;
        for (int i = 0; i < rows; i++) {
            const double *a = A + (size_t)i * cols;
            acc += sv_dot(cols, a, a);
            w->cum[i] = acc;
        }
        if (!(acc > 0))
            return;  /* A = 0 and rhs != 0: nothing to project on */
    }
    const long check_every = kind == SV_SKETCH_GAUSSIAN ? 1 : (rows + s - 1) / s;
    /* A Gaussian step costs O(rows s cols), a Kaczmarz or block step O(s cols). */
    const long poll_every = kind == SV_SKETCH_GAUSSIAN ? 1 : SV_SKETCH_POLL_EVERY;
    int fresh = 1;
    while (st->iters < opts->max_iter) {
        if (kind == SV_SKETCH_KACZMARZ) {
            int i = draw_row(w->cum, rows, rng);
            double nrm2 = w->cum[i] - (i > 0 ? w->cum[i - 1] : 0.0);
            project_row(cols, A, rhs, i, nrm2, z);
        } else if (kind == SV_SKETCH_BLOCK) {
            block_step(cols, A, rhs, rng, w, z);
        } else {
            gaussian_step(rows, cols, A, rng, w, z);
        }
        st->iters++;
        fresh = 0;
        if (st->iters % check_every == 0 || st->iters == opts->max_iter) {
            st->res = residual(rows, cols, A, rhs, z, w->r);
            fresh = 1;
            if (st->res <= opts->tol) {
                st->converged = 1;
                return;
            }
        }
        if (opts->stop && st->iters % poll_every == 0 && opts->stop(opts->stop_data)) {
            st->stopped = 1;
            break;
        }
    }
    if (!fresh)
        st->res = residual(rows, cols, A, rhs, z, w->r);
    st->converged = st->res <= opts->tol;
}

