/* softmax.h - log-sum-exp and softmax in two passes over the data, with no overflow or NaN for
 * any finite input, after Dukhan and Ablavatski, "The Two-Pass Softmax Algorithm" (2020).
 *
 * Every e^{x_i} is held as a pair (mantissa m_i, exponent n_i) with e^{x_i} = m_i 2^{n_i}:
 * n_i = round(x_i log2 e) and m_i = e^{r_i} of the reduced argument r_i = x_i - n_i ln 2. The
 * first pass accumulates sum_i e^{x_i} in the same representation (m_sum, n_sum), rescaling by
 * exact powers of two whenever a larger exponent arrives, so nothing overflows and no maximum has
 * to be found first; the second pass writes y_i = (m_i / m_sum) 2^{n_i - n_sum}. The three-pass
 * method (maximum, sum of shifted exponentials, normalisation) reads the input three times.
 *
 * Code paths: the library is built for the baseline x86-64 (no -march), and the first call picks
 * the widest vector path this CPU runs: AVX-512F (8 doubles a vector), else AVX2 + FMA (4),
 * else the scalar code. The vector paths follow the paper's algorithm: an e^x that returns
 * mantissa and exponent apart (Tang's table of 2^(j/16) and a degree-7 polynomial, so there
 * the exponent is floor(k/16) of k = round(16 x log2 e) and the mantissa lies in [0.97, 2)),
 * rescaling by powers of two (vscalefpd, or the exponent field built by hand on AVX2) done
 * only when an exponent rises, four independent accumulators of per-lane compensated sums, and
 * a second pass that is a multiplication (by a per-call table 2^(j/16)/S), with non-temporal
 * stores for outputs larger than the caches. They cover |x_i| <= 2^26 and -infinity; a
 * block with NaN, +infinity or larger magnitudes goes through the scalar code instead, which
 * also handles everything below. softmax_simd.h has the internal entry points that run one
 * path explicitly (tests, benchmarks).
 *
 * Accuracy: within 2 ulps of a compensated long-double three-pass reference on every path (the
 * tests measure at most 1 on 10^6 inputs). The scalar reduction r_i = x_i - n_i ln 2 uses ln 2
 * in three parts and error-free products, the vector one two parts (|r| <= ln2/32, so its
 * rounding is far below an ulp of e^r) and the table in double-double; the mantissa sums are
 * compensated. Beyond 2^62 in magnitude, distinct
 * doubles differ by 1024 or more and e^{-1024} is 0 in double, so there only ties with the
 * largest input share the probability mass; those inputs are handled exactly as such.
 * Accumulating one array in chunks (sv_lse_accumulate) sums in another order than one call
 * does, so the results can differ in the last bit.
 *
 * Inputs: finite values and -infinity (weight zero, e.g. a mask) are accepted. A NaN or +infinity
 * anywhere makes every output NaN. Nothing here allocates. */
#ifndef SV_SOFTMAX_H
#define SV_SOFTMAX_H

/* Beyond this magnitude an input is handled by its order alone (see above). */
#define SV_SOFTMAX_EXACT_MAX 4611686018427387904.0 /* 2^62 */

/* A running sum of exponentials S = sum_i e^{x_i}, the state of the first pass. Inputs with
 * |x| <= SV_SOFTMAX_EXACT_MAX are held in the paper's representation,
 * S = (m_ref + rest + comp) 2^n: m_ref is the mantissa of the input x_ref that set the exponent
 * n, and rest (with its compensation comp) the other mantissas rescaled to 2^n. Keeping the
 * leading term apart lets
 * log S = x_ref + log1p(rest / m_ref) keep full relative accuracy when the other terms are tiny.
 * Larger inputs need only their order: the largest positive one and how often it occurs, the
 * largest of those below -SV_SOFTMAX_EXACT_MAX and how often. Zero-initialise with
 * sv_lse_init. */
typedef struct {
    double n;           /* exponent of the exact tier; -inf while that tier is empty */
    double x_ref;       /* the input whose exponent is n: e^{x_ref} = m_ref 2^n */
    double m_ref;
    double rest, comp;  /* the other mantissas times 2^{n_i - n}, and the compensation */
    double pos_max;     /* largest input > SV_SOFTMAX_EXACT_MAX and its count */
    long pos_count;
    double neg_max;     /* largest input < -SV_SOFTMAX_EXACT_MAX and its count */
    long neg_count;
    int bad;            /* a NaN or +inf was seen */
    int scalar;         /* some block went through the scalar code: so does the second pass */
} sv_lse_acc;

/* An empty sum. */
void sv_lse_init(sv_lse_acc *acc);

/* The first pass: adds e^{x_i} for x[0..n) to acc (n may be 0). */
void sv_lse_accumulate(int n, const double *x, sv_lse_acc *acc);

/* log of the accumulated sum: -inf for an empty (or all -inf) sum, NaN if bad. */
double sv_lse_value(const sv_lse_acc *acc);

/* log(sum_i e^{x_i}); -inf for n == 0 or all -inf; NaN if any x_i is NaN or +inf. */
double sv_logsumexp(int n, const double *x);

/* y_i = e^{x_i} / sum_j e^{x_j} in two passes; returns log(sum_j e^{x_j}). y may be x. With no
 * finite input (n == 0 aside) or a NaN / +inf input, y is all NaN. */
double sv_softmax(int n, const double *x, double *y);

/* The second pass alone: y_i = e^{x_i} / sum for the sum acc that x was accumulated into. */
void sv_softmax_finish(int n, const double *x, const sv_lse_acc *acc, double *y);

/* The conventional three-pass softmax (maximum, sum of e^{x_i - max}, multiplication by the
 * reciprocal), in double, for benchmarks and comparisons: vectorised like sv_softmax (same
 * paths, same polynomial, four accumulators), plain sums; returns log-sum-exp. Same input
 * rules as sv_softmax. */
double sv_softmax_threepass(int n, const double *x, double *y);

#endif
