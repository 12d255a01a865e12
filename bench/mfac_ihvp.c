/* mfac_ihvp.c - M-FAC inverse-Hessian-vector product cost against the paper's claims (Frantar,
 * Kurtic, Alistarh, NeurIPS 2021): the static algorithm's O(d m^2) precomputation and O(d m)
 * IHVP, the sliding window's O(d m + m^2) IHVP and O(d m + m^3) gradient replacement
 * (core/kernels/mfac.c), over a grid of dimensions d and window sizes m. For small d it also times the
 * dense route (form F = lambda I + G'G/m, Cholesky, triangular solves) for contrast.
 *
 * Usage: mfac_ihvp [max_entries]   (largest d * m on the grid, default 2^25)
 * Output: Markdown tables on stdout. Timing only; nothing is asserted. Each figure is the median
 * of 5 samples, a sample repeating the operation until it has run at least 50 ms. BLAS runs on
 * one thread (as in the daemon's workers). Built by bench/mfac_ihvp.sh against libsolvd_core.a
 * of a Release build. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "core/linalg.h"
#include "core/kernels/mfac.h"
#include "core/rng.h"

#define SAMPLES 5
#define MIN_SAMPLE_S 0.05
#define LAMBDA 1e-2

typedef struct {
    sv_mfac_static *st;
    sv_mfac_window *win;
    const double *G;    /* m x d */
    const double *x;    /* d */
    double *y;          /* d */
    const double *g;    /* d: a gradient to push */
} ctx;

typedef void (*op_fn)(ctx *c);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds per call of op. */
static double time_op(op_fn op, ctx *c)
{
    double samples[SAMPLES];
    long reps = 1;
    /* calibrate: double the repetitions until one sample lasts MIN_SAMPLE_S */
    for (;;) {
        double t0 = now_s();
        for (long r = 0; r < reps; r++)
            op(c);
        double t = now_s() - t0;
        if (t >= MIN_SAMPLE_S || reps >= (1L << 30)) {
            samples[0] = t / reps;
            break;
        }
        reps = t > 0 ? (long)(reps * fmin(2.0 * MIN_SAMPLE_S / t, 100.0)) + 1 : reps * 100;
    }
    for (int s = 1; s < SAMPLES; s++) {
        double t0 = now_s();
        for (long r = 0; r < reps; r++)
            op(c);
        samples[s] = (now_s() - t0) / reps;
    }
    qsort(samples, SAMPLES, sizeof samples[0], cmp_double);
    return samples[SAMPLES / 2];
}

static void op_static_build(ctx *c) { sv_mfac_static_build(c->st, c->G); }
static void op_static_ihvp(ctx *c) { sv_mfac_static_ihvp(c->st, c->x, c->y); }
static void op_window_ihvp(ctx *c) { sv_mfac_window_ihvp(c->win, c->x, c->y); }
static void op_window_push(ctx *c) { sv_mfac_window_push(c->win, c->g); }
static void op_inv_entry(ctx *c)
{
    static int j = 0;
    c->y[0] += sv_mfac_static_inv_entry(c->st, j, j);
    j = (j + 7919) % c->st->d;
}

/* The dense route at dimension d: F = lambda I + G'G/m (dsyrk via sv_mat_gram), Cholesky and
 * solve (dposv). Returns seconds for the whole, and *solve_s for one solve with the factor. */
static double time_dense(const double *G, int d, int m, const double *x, double *solve_s)
{
    sv_mat Gm;
    if (sv_mat_dense(&Gm, m, d) != SV_OK)
        return NAN;
    memcpy(Gm.dense.data, G, (size_t)m * d * sizeof *G);
    double *rhs = malloc((size_t)d * sizeof *rhs);
    double best = INFINITY, best_solve = INFINITY;
    for (int s = 0; s < 3; s++) {
        sv_dense F;
        memcpy(rhs, x, (size_t)d * sizeof *rhs);
        double t0 = now_s();
        if (sv_mat_gram(&Gm, NULL, &F) != SV_OK)
            break;
        for (int i = 0; i < d * d; i++)
            F.data[i] /= m;
        for (int j = 0; j < d; j++)
            F.data[(size_t)j * d + j] += LAMBDA;
        sv_solve_spd(d, F.data, rhs, 1);  /* factor + solve */
        double t = now_s() - t0;
        /* one more solve with the factor left in F (F = U'U, U upper): two triangular solves */
        double t1 = now_s();
        for (int rep = 0; rep < 10; rep++) {
            cblas_dtrsv(CblasRowMajor, CblasUpper, CblasTrans, CblasNonUnit, d, F.data, d, rhs, 1);
            cblas_dtrsv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, d, F.data, d, rhs,
                        1);
        }
        double ts = (now_s() - t1) / 10;
        best = fmin(best, t);
        best_solve = fmin(best_solve, ts);
        sv_dense_free(&F);
    }
    *solve_s = best_solve;
    free(rhs);
    sv_mat_free(&Gm);
    return best;
}

int main(int argc, char **argv)
{
    const double max_entries = argc > 1 ? atof(argv[1]) : 33554432.0;
    const int ds[] = {1000, 10000, 100000, 1000000};
    const int ms[] = {16, 64, 256, 1024};
    sv_blas_single_thread();

    printf("| d | m | static setup (ms) | static IHVP (us) | IHVP ns/(d m) | [F^-1]_jj (ns) | "
           "window IHVP (us) | window ns/(d m + m^2) | window replace (ms) | static vs window |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t a = 0; a < sizeof ds / sizeof ds[0]; a++) {
        for (size_t b = 0; b < sizeof ms / sizeof ms[0]; b++) {
            const int d = ds[a], m = ms[b];
            if ((double)d * m > max_entries)
                continue;
            double *G = malloc((size_t)m * d * sizeof *G);
            double *x = malloc((size_t)d * sizeof *x), *y = malloc((size_t)d * sizeof *y);
            double *y2 = malloc((size_t)d * sizeof *y2), *g = malloc((size_t)d * sizeof *g);
            if (!G || !x || !y || !y2 || !g) {
                fprintf(stderr, "out of memory at d=%d m=%d\n", d, m);
                return 1;
            }
            sv_rng r;
            sv_rng_seed(&r, (uint64_t)(d + 7 * m));
            for (size_t i = 0; i < (size_t)m * d; i++)
                G[i] = sv_rng_normal(&r);
            for (int j = 0; j < d; j++) {
                x[j] = sv_rng_normal(&r);
                g[j] = sv_rng_normal(&r);
            }
            sv_mfac_static st;
            sv_mfac_window win;
            if (sv_mfac_static_init(&st, d, m, LAMBDA) != SV_OK ||
                sv_mfac_window_init(&win, d, m, LAMBDA) != SV_OK) {
                fprintf(stderr, "engine allocation failed at d=%d m=%d\n", d, m);
                return 1;
            }
            ctx c = {&st, &win, G, x, y, g};
            double t_build = time_op(op_static_build, &c);
            double t_ihvp = time_op(op_static_ihvp, &c);
            double t_entry = time_op(op_inv_entry, &c);
            sv_mfac_window_push_many(&win, G, m);
            sv_mfac_static_ihvp(&st, x, y);
            sv_mfac_window_ihvp(&win, x, y2);
            double num = 0, den = 0;
            for (int j = 0; j < d; j++) {
                num += (y[j] - y2[j]) * (y[j] - y2[j]);
                den += y[j] * y[j];
            }
            double agree = sqrt(num / den);
            double t_wihvp = time_op(op_window_ihvp, &c);
            double t_push = time_op(op_window_push, &c);  /* full window: replaces the oldest */
            printf("| %d | %d | %.3g | %.3g | %.3g | %.3g | %.3g | %.3g | %.3g | %.1e |\n", d, m,
                   1e3 * t_build, 1e6 * t_ihvp, 1e9 * t_ihvp / ((double)d * m), 1e9 * t_entry,
                   1e6 * t_wihvp, 1e9 * t_wihvp / ((double)d * m + (double)m * m), 1e3 * t_push,
                   agree);
            fflush(stdout);
            sv_mfac_static_free(&st);
            sv_mfac_window_free(&win);
            free(G);
            free(x);
            free(y);
            free(y2);
            free(g);
        }
    }

    printf("\nThe dense route for contrast (form F = lambda I + G'G/m, Cholesky, solve), d = 1000 "
           "and 2000:\n\n");
    printf("| d | m | dense setup (ms) | dense solve (us) | M-FAC static setup (ms) | "
           "M-FAC IHVP (us) |\n|---:|---:|---:|---:|---:|---:|\n");
    const int dd[] = {1000, 2000};
    for (size_t a = 0; a < 2; a++) {
        const int d = dd[a], m = 64;
        double *G = malloc((size_t)m * d * sizeof *G), *x = malloc((size_t)d * sizeof *x);
        double *y = malloc((size_t)d * sizeof *y);
        sv_rng r;
        sv_rng_seed(&r, 5);
        for (size_t i = 0; i < (size_t)m * d; i++)
            G[i] = sv_rng_normal(&r);
        for (int j = 0; j < d; j++)
            x[j] = sv_rng_normal(&r);
        double t_solve = NAN;
        double t_dense = time_dense(G, d, m, x, &t_solve);
        sv_mfac_static st;
        sv_mfac_static_init(&st, d, m, LAMBDA);
        ctx c = {&st, NULL, G, x, y, NULL};
        double t_build = time_op(op_static_build, &c);
        double t_ihvp = time_op(op_static_ihvp, &c);
        printf("| %d | %d | %.3g | %.3g | %.3g | %.3g |\n", d, m, 1e3 * t_dense, 1e6 * t_solve,
               1e3 * t_build, 1e6 * t_ihvp);
        sv_mfac_static_free(&st);
        free(G);
        free(x);
        free(y);
    }
    return 0;
}
