/* fused_grad.c - one pass over the data per gradient (issue "Performance", target 4): the time of
 * a least-squares gradient g = A^T (A x - b) / m done as two whole matrix-vector products
 * (sv_mat_gemv, then sv_mat_gemv^T: A is read from memory twice) against the fused row-block
 * pass of core/linalg.h (sv_mat_fused_gemv: each block's A x and A^T r while it is in cache, so
 * A is read once), next to this machine's triad bandwidth. Prints Markdown tables; timing is
 * reported, never asserted.
 *
 * Usage: fused_grad [max_megabytes]   (the largest A, default 256) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"

typedef struct {
    const double *b;
    double inv_m;
} ls_ctx;

/* z = (a'x - b) / m: the least-squares residual weights. */
static void ls_rows(void *ctx, int r0, int r1, double *z)
{
    const ls_ctx *c = ctx;
    for (int i = r0; i < r1; i++)
        z[i] = (z[i] - c->b[i]) * c->inv_m;
}

static double best_of(int reps, double (*fn)(void *), void *arg)
{
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t = fn(arg);
        if (t < best)
            best = t;
    }
    return best;
}

typedef struct {
    sv_mat A;
    double *x, *b, *z, *g;
    int iters;
} inst;

static double run_two(void *arg)
{
    inst *I = arg;
    ls_ctx c = {I->b, 1.0 / I->A.rows};
    double t0 = sv_now_s();
    for (int k = 0; k < I->iters; k++) {
        sv_mat_gemv(0, 1.0, &I->A, I->x, 0.0, I->z);
        ls_rows(&c, 0, I->A.rows, I->z);
        sv_mat_gemv(1, 1.0, &I->A, I->z, 0.0, I->g);
    }
    return (sv_now_s() - t0) / I->iters;
}

static double run_fused(void *arg)
{
    inst *I = arg;
    ls_ctx c = {I->b, 1.0 / I->A.rows};
    double t0 = sv_now_s();
    for (int k = 0; k < I->iters; k++) {
        memset(I->g, 0, (size_t)I->A.cols * sizeof *I->g);
        sv_mat_fused_gemv(&I->A, I->x, I->z, ls_rows, &c, I->g);
    }
    return (sv_now_s() - t0) / I->iters;
}

/* STREAM triad a = b + s c on three arrays of n doubles: GB/s counting 24 bytes an element. */
static double triad_gbs(size_t n)
{
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c)
        return NAN;
    for (size_t i = 0; i < n; i++)
        a[i] = 0, b[i] = 1.0 + (double)(i % 7), c[i] = 2.0 - (double)(i % 5);
    double best = INFINITY;
    for (int r = 0; r < 5; r++) {
        double t0 = sv_now_s();
        for (size_t i = 0; i < n; i++)
            a[i] = b[i] + 3.0 * c[i];
        double t = sv_now_s() - t0;
        if (t < best)
            best = t;
    }
    volatile double sink = a[n / 2];
    (void)sink;
    free(a), free(b), free(c);
    return 24.0 * (double)n / best / 1e9;
}

int main(int argc, char **argv)
{
    double max_mb = argc > 1 ? atof(argv[1]) : 256.0;
    sv_blas_single_thread();
    double bw = triad_gbs((size_t)1 << 24); /* 3 x 128 MB */
    printf("Triad bandwidth (one thread, 3 x 128 MB arrays, best of 5): **%.1f GB/s**.\n\n", bw);
    printf("| A (rows x cols) | A MB | block rows | two calls ms | fused ms | speed-up | "
           "two calls GB/s of A | fused GB/s of A | fused / triad | max rel. diff of g |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    static const int shapes[][2] = {{2000, 100},    {20000, 200},  {26000, 1000},
                                    {100000, 320},  {8000, 4000},  {1000, 32000}};
    sv_rng rng;
    sv_rng_seed(&rng, 1);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1];
        double mb = 8.0 * m * n / 1e6;
        if (mb > max_mb * 1.05)
            continue;
        inst I;
        memset(&I, 0, sizeof I);
        if (sv_mat_dense(&I.A, m, n) != SV_OK)
            return 1;
        for (size_t i = 0; i < (size_t)m * n; i++)
            I.A.dense.data[i] = sv_rng_normal(&rng);
        I.x = malloc((size_t)n * sizeof *I.x);
        I.b = malloc((size_t)m * sizeof *I.b);
        I.z = malloc((size_t)m * sizeof *I.z);
        I.g = calloc((size_t)n, sizeof *I.g);
        double *g2 = malloc((size_t)n * sizeof *g2);
        for (int j = 0; j < n; j++)
            I.x[j] = sv_rng_normal(&rng);
        for (int i = 0; i < m; i++)
            I.b[i] = sv_rng_normal(&rng);
        I.iters = mb < 10 ? 200 : 10;
        double t2 = best_of(3, run_two, &I);
        memcpy(g2, I.g, (size_t)n * sizeof *g2);
        double tf = best_of(3, run_fused, &I);
        double diff = 0;
        for (int j = 0; j < n; j++) {
            double d = fabs(I.g[j] - g2[j]) / (fabs(g2[j]) + 1e-300);
            if (d > diff)
                diff = d;
        }
        printf("| %d x %d | %.0f | %d | %.3f | %.3f | %.2fx | %.1f | %.1f | %.2f | %.1e |\n", m,
               n, mb, sv_fused_block_rows(n), 1e3 * t2, 1e3 * tf, t2 / tf, 2 * mb / 1e3 / t2,
               mb / 1e3 / tf, mb / 1e3 / tf / bw, diff);
        fflush(stdout);
        sv_mat_free(&I.A);
        free(I.x), free(I.b), free(I.z), free(I.g), free(g2);
    }
    return 0;
}
