/* softmax.c - two-pass log-sum-exp and softmax in the (mantissa, exponent) representation of
 * Dukhan and Ablavatski (2020); see softmax.h for the representation. This file holds the
 * public functions, the run-time choice of a code path, and the scalar path; the vector paths
 * (AVX2, AVX-512) are in softmax_avx2.c and softmax_avx512.c over softmax_simd.inc.
 *
 * The scalar path is the exact one: it takes every input (NaN, infinities, |x| up to DBL_MAX)
 * and is used for a whole block whenever a vector path hands the block back (softmax_simd.h).
 * Why a few ulps there: the reduced argument r = x - n ln 2 is exact to about one ulp of r
 * (reduce() below), so m = e^r carries libm's error of exp only; every rescaling is by an exact
 * power of two; the mantissas are summed with Neumaier's compensation, leaving about one
 * rounding of the sum; and y_i costs one division. log S = x_ref + log1p(rest / m_ref) is one
 * log1p and one addition. The tests measure at most 1 ulp against a long-double reference on
 * 10^6 inputs, on every path. */
#include "core/kernels/softmax.h"

#include <math.h>
#include <stdatomic.h>
#include <stddef.h>

#include "core/kernels/softmax_simd.h"

/* log2(e) and ln 2 = L1 + L2 + L3 to 159 bits (each part the double nearest the remainder). */
static const double LOG2E = 0x1.71547652b82fep+0;
static const double LN2_1 = 0x1.62e42fefa39efp-1;
static const double LN2_2 = 0x1.abc9e3b39803fp-56;
static const double LN2_3 = 0x1.7b57a079a1934p-111;

/* Exponent differences below this give 2^d = 0 in double whatever the mantissa (|m| < 2^513),
 * so they are clamped here before the conversion to int. */
#define EXP_DIFF_FLOOR (-4000.0)

static void decompose(double x, double *m, double *n);
static double reduce(double x, double n);
static void two_sum(double a, double b, double *s, double *err);
static void add_rest(sv_lse_acc *acc, double v);
static int exp_diff(double d);
static const sv__softmax_ops *path_ops(sv__softmax_path path);
static void scalar_accumulate(int n, const double *x, sv_lse_acc *acc);
static void scalar_finish(int n, const double *x, const sv_lse_acc *acc, double *y);
static double scalar_threepass(int n, const double *x, double *y);
static void merge_part(sv_lse_acc *acc, const sv__lse_part *p);

/* ================================ code paths ================================ */

/* The path is chosen once, on first use, from what the CPU (and the OS, which must save the
 * wide registers) supports, and kept in a static atomic pointer that nothing outside this
 * file sees. It is a pure function of the machine, so two threads that race on the first call
 * compute and store the same value: no lock is needed, and the atomic load/store make the
 * race well defined. The pointer is read on every call (one relaxed-cost acquire load). */
static sv__softmax_path choose_path(void)
{
    if (sv__softmax_path_supported(SV__SOFTMAX_AVX512))
        return SV__SOFTMAX_AVX512;
    if (sv__softmax_path_supported(SV__SOFTMAX_AVX2))
        return SV__SOFTMAX_AVX2;
    return SV__SOFTMAX_SCALAR;
}

sv__softmax_path sv__softmax_path_chosen(void)
{
    static _Atomic int chosen = -1;
    int p = atomic_load_explicit(&chosen, memory_order_acquire);
    if (p < 0) {
        p = (int)choose_path();
        atomic_store_explicit(&chosen, p, memory_order_release);
    }
    return (sv__softmax_path)p;
}

const char *sv__softmax_path_missing(sv__softmax_path path)
{
    switch (path) {
    case SV__SOFTMAX_SCALAR:
        return "";
    case SV__SOFTMAX_AVX2:
        if (!sv__softmax_ops_avx2.sum)
            return "the AVX2 path (not an x86-64 build)";
#if defined(__x86_64__)
        if (!__builtin_cpu_supports("avx2") && !__builtin_cpu_supports("fma"))
            return "avx2, fma";
        if (!__builtin_cpu_supports("avx2"))
            return "avx2";
        if (!__builtin_cpu_supports("fma"))
            return "fma";
#endif
        return "";
    case SV__SOFTMAX_AVX512:
        if (!sv__softmax_ops_avx512.sum)
            return "the AVX-512 path (not an x86-64 build)";
#if defined(__x86_64__)
        if (!__builtin_cpu_supports("avx512f"))
            return "avx512f";
#endif
        return "";
    default:
        return "an unknown path";
    }
}

int sv__softmax_path_supported(sv__softmax_path path)
{
    return sv__softmax_path_missing(path)[0] == '\0';
}

const char *sv__softmax_path_name(sv__softmax_path path)
{
    static const char *const names[SV__SOFTMAX_NPATHS] = {"scalar", "avx2", "avx512"};
    return (unsigned)path < SV__SOFTMAX_NPATHS ? names[path] : "unknown";
}

/* The vector implementation of a path, NULL for the scalar one. */
static const sv__softmax_ops *path_ops(sv__softmax_path path)
{
    switch (path) {
    case SV__SOFTMAX_AVX2:
        return &sv__softmax_ops_avx2;
    case SV__SOFTMAX_AVX512:
        return &sv__softmax_ops_avx512;
    default:
        return NULL;
    }
}

/* ================================ representation ================================ */

/* e^x = m 2^n for |x| <= SV_SOFTMAX_EXACT_MAX: n = round(x log2 e) and m = e^r with
 * r = x - n ln 2. While |n| < 2^52, |r| <= ln2/2 (plus rounding), the paper's m in
 * [1/sqrt 2, sqrt 2]; beyond, n is a multiple of ulp(n) <= 1024 and |r| <= 512 ln 2 < 355, so m
 * stays finite either way. */
static void decompose(double x, double *m, double *n)
{
    double k = nearbyint(x * LOG2E);
    *n = k;
    *m = exp(reduce(x, k));
}

/* x - n ln 2 to about one ulp of the result for |n| < 2^63: n L1 and n L2 are split exactly into
 * a rounded product and its error with fma, x - n L1 is exact (Sterbenz: x and n L1 are within a
 * factor 2 of each other for n != 0), and the terms are summed largest first with error-free
 * additions, so that only the tiny tail of the sum is rounded before the final addition. */
static double reduce(double x, double n)
{
    if (n == 0.0)
        return x;
    double p1 = n * LN2_1;
    double e1 = fma(n, LN2_1, -p1);
    double s = x - p1;
    double p2 = n * LN2_2;
    double e2 = fma(n, LN2_2, -p2);
    double u, eu, v, ev;
    two_sum(s, -e1, &u, &eu);
    two_sum(u, -p2, &v, &ev);
    return v + (((eu + ev) - e2) - n * LN2_3);
}

/* s + err = a + b exactly (Knuth's TwoSum; no ordering of |a|, |b| needed). */
static void two_sum(double a, double b, double *s, double *err)
{
    double t = a + b;
    double bb = t - a;
    *err = (a - (t - bb)) + (b - bb);
    *s = t;
}

/* rest += v with Neumaier's compensation. */
static void add_rest(sv_lse_acc *acc, double v)
{
    double t = acc->rest + v;
    if (fabs(acc->rest) >= fabs(v))
        acc->comp += (acc->rest - t) + v;
    else
        acc->comp += (v - t) + acc->rest;
    acc->rest = t;
}

/* ldexp's exponent for a difference of exponents d <= 0 (clamped where 2^d is 0 anyway). */
static int exp_diff(double d)
{
    return (int)(d < EXP_DIFF_FLOOR ? EXP_DIFF_FLOOR : d);
}

/* ================================ first pass ================================ */

void sv_lse_init(sv_lse_acc *acc)
{
    acc->n = -INFINITY;
    acc->x_ref = NAN;
    acc->m_ref = 0.0;
    acc->rest = acc->comp = 0.0;
    acc->pos_max = -INFINITY;
    acc->pos_count = 0;
    acc->neg_max = -INFINITY;
    acc->neg_count = 0;
    acc->bad = 0;
    acc->scalar = 0;
}

void sv_lse_accumulate(int n, const double *x, sv_lse_acc *acc)
{
    sv__lse_accumulate_via(sv__softmax_path_chosen(), n, x, acc);
}

void sv__lse_accumulate_via(sv__softmax_path path, int n, const double *x, sv_lse_acc *acc)
{
    if (n <= 0)
        return;
    const sv__softmax_ops *ops = path_ops(path);
    sv__lse_part part;
    if (ops && ops->sum && ops->sum((size_t)n, x, &part) == 0) {
        merge_part(acc, &part);
        return;
    }
    scalar_accumulate(n, x, acc);
    acc->scalar = 1;
}

/* A vector block's sum joins acc like one more term: the part with the larger exponent keeps
 * its leading term as the reference, everything else goes into rest and comp at that
 * exponent. hi + lo includes the block's leading term m_hi + m_lo, split off here exactly. */
static void merge_part(sv_lse_acc *acc, const sv__lse_part *p)
{
    double r1, e1;
    two_sum(p->hi, -p->m_ref, &r1, &e1);
    double pc = e1 + p->lo; /* r1 + pc: the block's sum less its leading term */
    if (p->n > acc->n) {
        if (acc->n > -INFINITY) {
            int k = exp_diff(acc->n - p->n);
            acc->rest = ldexp(acc->rest, k);
            acc->comp = ldexp(acc->comp, k);
            add_rest(acc, ldexp(acc->m_ref, k));
        }
        acc->n = p->n;
        acc->x_ref = p->x_ref;
        acc->m_ref = p->m_ref;
        add_rest(acc, r1);
        acc->comp += pc;
    } else {
        int k = exp_diff(p->n - acc->n);
        add_rest(acc, ldexp(p->m_ref, k));
        add_rest(acc, ldexp(r1, k));
        acc->comp += ldexp(pc, k);
    }
}

static void scalar_accumulate(int n, const double *x, sv_lse_acc *acc)
{
    for (int i = 0; i < n; i++) {
        double xi = x[i];
        if (xi == -INFINITY)
            continue;
        if (!(xi < INFINITY)) {  /* NaN or +inf */
            acc->bad = 1;
            continue;
        }
        if (xi > SV_SOFTMAX_EXACT_MAX) {
            if (xi > acc->pos_max) {
                acc->pos_max = xi;
                acc->pos_count = 1;
            } else if (xi == acc->pos_max) {
                acc->pos_count++;
            }
            continue;
        }
        if (xi < -SV_SOFTMAX_EXACT_MAX) {
            if (xi > acc->neg_max) {
                acc->neg_max = xi;
                acc->neg_count = 1;
            } else if (xi == acc->neg_max) {
                acc->neg_count++;
            }
            continue;
        }
        double m, e;
        decompose(xi, &m, &e);
        if (e > acc->n) {
            /* A larger exponent: the old leading term joins the rest, and the rest is rescaled
             * to the new exponent by an exact power of two (or flushed to zero). */
            if (acc->n > -INFINITY) {
                int k = exp_diff(acc->n - e);
                acc->rest = ldexp(acc->rest, k);
                acc->comp = ldexp(acc->comp, k);
                add_rest(acc, ldexp(acc->m_ref, k));
            }
            acc->n = e;
            acc->x_ref = xi;
            acc->m_ref = m;
        } else {
            double d = e - acc->n;
            add_rest(acc, d == 0.0 ? m : ldexp(m, exp_diff(d)));
        }
    }
}

/* log S = x_ref + log1p(q) with q = (rest + comp) / m_ref, q divided out in
 * double-double (q0 + q1) so that ties such as n equal inputs give q = n - 1 exactly. */
double sv_lse_value(const sv_lse_acc *acc)
{
    if (acc->bad)
        return NAN;
    if (acc->pos_count > 0)
        return acc->pos_max + log((double)acc->pos_count);
    if (acc->n > -INFINITY) {
        double q0 = acc->rest / acc->m_ref;
        double q1 = (fma(-q0, acc->m_ref, acc->rest) + acc->comp) / acc->m_ref;
        return acc->x_ref + (log1p(q0) + q1 / (1.0 + q0));
    }
    if (acc->neg_count > 0)
        return acc->neg_max + log((double)acc->neg_count);
    return -INFINITY;
}

double sv_logsumexp(int n, const double *x)
{
    sv_lse_acc acc;
    sv_lse_init(&acc);
    sv_lse_accumulate(n, x, &acc);
    return sv_lse_value(&acc);
}

/* ================================ second pass ================================ */

void sv_softmax_finish(int n, const double *x, const sv_lse_acc *acc, double *y)
{
    sv__softmax_finish_via(sv__softmax_path_chosen(), n, x, acc, y);
}

void sv__softmax_finish_via(sv__softmax_path path, int n, const double *x,
                            const sv_lse_acc *acc, double *y)
{
    const sv__softmax_ops *ops = path_ops(path);
    if (n <= 0)
        return;
    if (!ops || !ops->finish || acc->scalar || acc->bad || acc->pos_count > 0 ||
        acc->neg_count > 0 || acc->n == -INFINITY) {
        scalar_finish(n, x, acc, y);
        return;
    }
    /* 1 / S in double-double for S = m_ref + rest + comp, so that y_i = m_i / S costs one
     * multiplication and one rounding. */
    double s, e;
    two_sum(acc->m_ref, acc->rest, &s, &e);
    e += acc->comp;
    double t = s + e;
    e -= t - s;
    s = t;
    double inv_hi = 1.0 / s;
    double inv_lo = inv_hi * (fma(-inv_hi, s, 1.0) - inv_hi * e);
    ops->finish((size_t)n, x, acc->n, inv_hi, inv_lo, y);
}

static void scalar_finish(int n, const double *x, const sv_lse_acc *acc, double *y)
{
    if (acc->bad || (acc->pos_count == 0 && acc->n == -INFINITY && acc->neg_count == 0)) {
        for (int i = 0; i < n; i++)
            y[i] = NAN;
        return;
    }
    if (acc->pos_count > 0 || acc->n == -INFINITY) {
        /* Only ties with the largest input carry weight (see softmax.h). */
        double top = acc->pos_count > 0 ? acc->pos_max : acc->neg_max;
        double share = 1.0 / (double)(acc->pos_count > 0 ? acc->pos_count : acc->neg_count);
        for (int i = 0; i < n; i++)
            y[i] = x[i] == top ? share : 0.0;
        return;
    }
    /* y_i = (m_i / m_sum) 2^{n_i - n}: the quotient of the two fractions of frexp lies in
     * (1/2, 2), so the one scaling at the end is exact unless the result is subnormal. */
    int es;
    double fs = frexp(acc->m_ref + (acc->rest + acc->comp), &es);
    for (int i = 0; i < n; i++) {
        double xi = x[i];
        if (!(fabs(xi) <= SV_SOFTMAX_EXACT_MAX)) {
            y[i] = 0.0;  /* -inf, or below -2^62 while the exact tier is not empty */
            continue;
        }
        double m, e;
        int em;
        decompose(xi, &m, &e);
        double d = e - acc->n;
        double fm = frexp(m, &em);
        int k = exp_diff(d) + em - es;
        y[i] = ldexp(fm / fs, k);
    }
}

double sv_softmax(int n, const double *x, double *y)
{
    return sv__softmax_via(sv__softmax_path_chosen(), n, x, y);
}

double sv__softmax_via(sv__softmax_path path, int n, const double *x, double *y)
{
    sv_lse_acc acc;
    sv_lse_init(&acc);
    sv__lse_accumulate_via(path, n, x, &acc);
    double lse = sv_lse_value(&acc);
    sv__softmax_finish_via(path, n, x, &acc, y);
    return lse;
}

/* ================================ three-pass ================================ */

double sv_softmax_threepass(int n, const double *x, double *y)
{
    return sv__softmax_threepass_via(sv__softmax_path_chosen(), n, x, y);
}

double sv__softmax_threepass_via(sv__softmax_path path, int n, const double *x, double *y)
{
    const sv__softmax_ops *ops = path_ops(path);
    double lse;
    if (n > 0 && ops && ops->threepass && ops->threepass((size_t)n, x, y, &lse) == 0)
        return lse;
    return scalar_threepass(n, x, y);
}

static double scalar_threepass(int n, const double *x, double *y)
{
    double mx = -INFINITY;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (x[i] != x[i] || x[i] == INFINITY)
            bad = 1;
        else if (x[i] > mx)
            mx = x[i];
    }
    if (bad || mx == -INFINITY) {
        for (int i = 0; i < n; i++)
            y[i] = NAN;
        return bad ? NAN : -INFINITY;
    }
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += exp(x[i] - mx);
    double inv = 1.0 / s;
    for (int i = 0; i < n; i++)
        y[i] = exp(x[i] - mx) * inv;
    return mx + log(s);
}
