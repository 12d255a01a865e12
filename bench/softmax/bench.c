/* bench.c - throughput of the two-pass softmax (sv_softmax, Dukhan and Ablavatski 2020) against
 * the three-pass softmax of core/ (sv_softmax_threepass: maximum, sum of e^{x-max}, then e^{x-max}
 * recomputed and scaled) and a naive three-pass loop that stores e^{x-max} in y on its second
 * pass and rescales y on the third, for n from in-cache to out-of-cache sizes.
 *
 * Usage: bench [n ...]   (default: 1e3 1e4 1e5 1e6 1e7 3e7 1e8)
 * Output: one tab-separated line per (n, method): n, method, median seconds per call,
 * elements/s, GB/s, reps, calls per rep, max |y - y_ref| / max y_ref against a three-pass
 * reference with a compensated sum, |sum y - 1| (summed with compensation), and elements/s of
 * the fastest sample (on a shared machine the least disturbed one).
 * GB/s counts the bytes a softmax must move at least, 16 per element (read x once, write y
 * once), so the figures of the three methods are directly comparable; the passes each one
 * really makes are listed with the results (bench/RESULTS.md, issue 4 section).
 *
 * Built by bench/issue4.sh against libsolvd_core.a of a Release build. Timing only; nothing is
 * asserted. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/kernels/softmax.h"
#include "core/kernels/softmax_simd.h"

/* Enough work per timed sample that the clock's resolution and loop overhead do not matter. */
#define MIN_SAMPLE_ELEMS 20000000.0
#define REPS_SMALL 7     /* samples per method when n is small */
#define REPS_LARGE 5     /* ... and when one call already takes long (n >= 1e7) */

typedef double (*softmax_fn)(int n, const double *x, double *y);

/* The textbook loop: max, then y_i = e^{x_i - max} with the sum, then y_i /= sum. One exp per
 * element, but y is written twice and read once more. */
static double naive_threepass(int n, const double *x, double *y)
{
    double mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        double t = exp(x[i] - mx);
        y[i] = t;
        s += t;
    }
    double inv = 1.0 / s;
    for (int i = 0; i < n; i++)
        y[i] *= inv;
    return mx + log(s);
}

/* The two methods on the AVX2 path, for the CPUs without AVX-512 (run only where the chosen path
 * is another one and AVX2 is there). */
static double twopass_avx2(int n, const double *x, double *y)
{
    return sv__softmax_via(SV__SOFTMAX_AVX2, n, x, y);
}
static double threepass_avx2(int n, const double *x, double *y)
{
    return sv__softmax_threepass_via(SV__SOFTMAX_AVX2, n, x, y);
}

/* The machine's bandwidth at the same n, for the GB/s next to it: a read of x (four
 * accumulators, so that the adds do not limit it) and memcpy of x to y (glibc's, which uses
 * non-temporal stores for large copies). Their "softmax" is meaningless; the sanity columns of
 * these rows are not reported. */
static double read_x(int n, const double *x, double *y)
{
    (void)y;
    double a = 0, b = 0, c = 0, d = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        a += x[i];
        b += x[i + 1];
        c += x[i + 2];
        d += x[i + 3];
    }
    for (; i < n; i++)
        a += x[i];
    return (a + b) + (c + d);
}
static double copy_x(int n, const double *x, double *y)
{
    memcpy(y, x, (size_t)n * sizeof *x);
    return y[n - 1];
}

/* *s += v with Neumaier's compensation in *c: the sanity sums must not drift with n. */
static void neumaier(double *s, double *c, double v)
{
    double t = *s + v;
    *c += fabs(*s) >= fabs(v) ? (*s - t) + v : (v - t) + *s;
    *s = t;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

/* splitmix64: the input only has to be reproducible, not of statistical quality. */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
    static const double default_sizes[] = {1e3, 1e4, 1e5, 1e6, 1e7, 3e7, 1e8};
    double sizes[32];
    int nsizes = 0;
    if (argc > 1) {
        for (int i = 1; i < argc && nsizes < 32; i++) {
            char *end;
            double v = strtod(argv[i], &end);
            if (*end || !(v >= 1 && v <= 2e9)) {
                fprintf(stderr, "bench: bad size '%s'\n", argv[i]);
                return 2;
            }
            sizes[nsizes++] = v;
        }
    } else {
        nsizes = (int)(sizeof default_sizes / sizeof default_sizes[0]);
        memcpy(sizes, default_sizes, sizeof default_sizes);
    }
    static const char *const names[] = {"two-pass (sv_softmax)",
                                        "three-pass (sv_softmax_threepass)",
                                        "naive three-pass (store, rescale)",
                                        "two-pass (avx2 path)",
                                        "three-pass (avx2 path)",
                                        "read x",
                                        "copy x to y"};
    /* bytes each row's GB/s counts: 16 for the softmaxes (x read once, y written once: the
     * least any softmax moves), what the kernel really moves for the bandwidth rows */
    static const double bytes[] = {16, 16, 16, 16, 16, 8, 16};
    softmax_fn fns[] = {sv_softmax, sv_softmax_threepass, naive_threepass, twopass_avx2,
                        threepass_avx2, read_x, copy_x};
    int use[] = {1, 1, 1, 0, 0, 1, 1};
    enum { NM = 7 };
    if (sv__softmax_path_chosen() != SV__SOFTMAX_AVX2 &&
        sv__softmax_path_supported(SV__SOFTMAX_AVX2))
        use[3] = use[4] = 1;
    fprintf(stderr, "bench: softmax path %s\n", sv__softmax_path_name(sv__softmax_path_chosen()));
    printf("n\tmethod\tsec_per_call\telems_per_s\tGB_per_s\treps\tcalls_per_rep\tmax_rel_diff"
           "\tsum_err\tbest_elems_per_s\n");
    for (int si = 0; si < nsizes; si++) {
        int n = (int)sizes[si];
        double *x = malloc((size_t)n * sizeof *x);
        double *y = malloc((size_t)n * sizeof *y);
        double *yref = malloc((size_t)n * sizeof *yref);
        if (!x || !y || !yref) {
            fprintf(stderr, "bench: out of memory at n = %d\n", n);
            free(x), free(y), free(yref);
            return 1;
        }
        /* Uniform on [-20, 20]: a spread of exponents that exercises the two-pass rescaling. */
        uint64_t seed = 42;
        for (int i = 0; i < n; i++)
            x[i] = -20.0 + 40.0 * (double)(splitmix(&seed) >> 11) * 0x1.0p-53;
        memset(y, 0, (size_t)n * sizeof *y);
        /* Reference for the sanity columns (and first touch of its pages): the three-pass
         * formula with a compensated sum, so that its error does not grow with n. */
        double mx = -INFINITY;
        for (int i = 0; i < n; i++)
            mx = x[i] > mx ? x[i] : mx;
        double ssum = 0.0, scomp = 0.0;
        for (int i = 0; i < n; i++) {
            yref[i] = exp(x[i] - mx);
            neumaier(&ssum, &scomp, yref[i]);
        }
        double ymax = 0.0;
        for (int i = 0; i < n; i++) {
            yref[i] /= ssum + scomp;
            ymax = yref[i] > ymax ? yref[i] : ymax;
        }

        int reps = n >= 10000000 ? REPS_LARGE : REPS_SMALL;
        long calls = (long)ceil(MIN_SAMPLE_ELEMS / n);
        double samples[NM][REPS_SMALL];
        double checks[NM] = {0}, sumerr[NM] = {0};
        for (int m = 0; m < NM; m++) {
            if (!use[m])
                continue;
            /* Warm-up call, also used for the sanity columns. */
            fns[m](n, x, y);
            double d = 0.0, s = 0.0, c = 0.0;
            for (int i = 0; i < n; i++) {
                double e = fabs(y[i] - yref[i]);
                d = e > d ? e : d;
                neumaier(&s, &c, y[i]);
            }
            checks[m] = d / ymax;
            sumerr[m] = fabs((s - 1.0) + c);
        }
        /* Methods interleaved within each repetition so that drift (frequency, neighbours on
         * the machine) hits them alike. */
        volatile double sink = 0.0;
        for (int r = 0; r < reps; r++) {
            for (int m = 0; m < NM; m++) {
                if (!use[m])
                    continue;
                double t0 = now_s();
                for (long c = 0; c < calls; c++)
                    sink += fns[m](n, x, y);
                samples[m][r] = (now_s() - t0) / (double)calls;
            }
        }
        (void)sink;
        for (int m = 0; m < NM; m++) {
            if (!use[m])
                continue;
            qsort(samples[m], (size_t)reps, sizeof(double), cmp_double);
            double med = reps % 2 ? samples[m][reps / 2]
                                  : 0.5 * (samples[m][reps / 2 - 1] + samples[m][reps / 2]);
            printf("%d\t%s\t%.6g\t%.6g\t%.4g\t%d\t%ld\t%.3g\t%.3g\t%.6g\n", n, names[m], med,
                   (double)n / med, bytes[m] * n / med / 1e9, reps, calls, checks[m], sumerr[m],
                   (double)n / samples[m][0]);
        }
        fflush(stdout);
        free(x);
        free(y);
        free(yref);
    }
    return 0;
}
