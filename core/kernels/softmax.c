/* softmax.c - two-pass log-sum-exp and softmax in the (mantissa, exponent) representation of
 * Dukhan and Ablavatski (2020); see softmax.h for the representation.
 *
 * Why a few ulps: the reduced argument r = x - n ln 2 is exact to about one ulp of r (reduce()
 * below), so m = e^r carries libm's error of exp only; every rescaling is by an exact power of
 * two; the mantissas are summed with Neumaier's compensation, leaving about one rounding of the
 * sum; and y_i costs one division. log S = x_ref + log1p(rest / m_ref) is one log1p and one
 * addition. The tests measure at most 1 ulp against a long-double reference on 10^6 inputs. */
#include "core/kernels/softmax.h"

#include <math.h>
#include <stddef.h>

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
}

void sv_lse_accumulate(int n, const double *x, sv_lse_acc *acc)
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
                double d = acc->n - e;
                int k = (int)(d < EXP_DIFF_FLOOR ? EXP_DIFF_FLOOR : d);
                acc->rest = ldexp(acc->rest, k);
                acc->comp = ldexp(acc->comp, k);
                add_rest(acc, ldexp(acc->m_ref, k));
            }
            acc->n = e;
            acc->x_ref = xi;
            acc->m_ref = m;
        } else {
            double d = e - acc->n;
            add_rest(acc, d == 0.0 ? m : ldexp(m, (int)(d < EXP_DIFF_FLOOR ? EXP_DIFF_FLOOR : d)));
        }
    }
}

double sv_lse_value(const sv_lse_acc *acc)
{
    if (acc->bad)
        return NAN;
    if (acc->pos_count > 0)
        return acc->pos_max + log((double)acc->pos_count);
    if (acc->n > -INFINITY)
        return acc->x_ref + log1p((acc->rest + acc->comp) / acc->m_ref);
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
        int k = (int)(d < EXP_DIFF_FLOOR ? EXP_DIFF_FLOOR : d) + em - es;
        y[i] = ldexp(fm / fs, k);
    }
}

double sv_softmax(int n, const double *x, double *y)
{
    sv_lse_acc acc;
    sv_lse_init(&acc);
    sv_lse_accumulate(n, x, &acc);
    double lse = sv_lse_value(&acc);
    sv_softmax_finish(n, x, &acc, y);
    return lse;
}

/* ================================ three-pass reference ================================ */

double sv_softmax_threepass(int n, const double *x, double *y)
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
