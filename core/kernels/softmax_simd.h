/* softmax_simd.h - internal to core/kernels/softmax*.c: the vector paths of the two-pass
 * softmax (AVX2 + FMA in softmax_avx2.c, AVX-512F in softmax_avx512.c, the shared algorithm in
 * softmax_simd.inc) and the entry points that let tests and benchmarks run one path explicitly.
 * Nothing outside the module and its tests/benchmarks includes this header.
 *
 * The vector paths handle inputs in [-SV__SOFTMAX_VEC_MAX, SV__SOFTMAX_VEC_MAX] and -infinity
 * (see softmax_simd.inc for why that range); anything else (NaN, +inf, larger magnitudes, or a
 * block whose largest input is within 1000 of -SV__SOFTMAX_VEC_MAX) is handed back to the scalar
 * code of softmax.c, which is exact there. */
#ifndef SV_SOFTMAX_SIMD_H
#define SV_SOFTMAX_SIMD_H

#include <stddef.h>

#include "core/kernels/softmax.h"

#define SV__SOFTMAX_VEC_MAX 67108864.0 /* 2^26 */

/* From this many outputs on, the vector paths write y with non-temporal stores (an output
 * larger than the caches; reading it for ownership first would add a third of the traffic). */
#define SV__SOFTMAX_STREAM_MIN ((size_t)1 << 22)

/* The result of one vector first pass over a block: sum_i e^{x_i} = (hi + lo) 2^n, where n is
 * the exponent of the largest input x_ref and e^{x_ref} = m_ref 2^n with the same polynomial
 * that produced every term of the sum (so the leading term can be split off exactly). */
typedef struct {
    double n;
    double hi, lo;
    double x_ref, m_ref;
} sv__lse_part;

/* One vector implementation. sum returns 0 with *part filled, or 1 when the block must go
 * through the scalar code (nothing was changed then). finish writes y_i = (m_i / S) 2^{n_i - n}
 * for the sum S = 1 / (inv_hi + inv_lo) at exponent n, 0 for -inf and for inputs below
 * -SV__SOFTMAX_VEC_MAX; x must be a block that sum accepted (y may be x). threepass is the
 * vectorised three-pass softmax; it returns 1 (y untouched) on NaN, +inf or an all -inf
 * input, which the scalar three-pass handles. */
typedef struct {
    const char *name;
    int (*sum)(size_t n, const double *x, sv__lse_part *part);
    void (*finish)(size_t n, const double *x, double nexp, double inv_hi, double inv_lo,
                   double *y);
    int (*threepass)(size_t n, const double *x, double *y, double *lse);
} sv__softmax_ops;

extern const sv__softmax_ops sv__softmax_ops_avx2;   /* needs AVX2 and FMA */
extern const sv__softmax_ops sv__softmax_ops_avx512; /* needs AVX-512F */

/* The code paths, for tests and benchmarks. */
typedef enum {
    SV__SOFTMAX_SCALAR = 0,
    SV__SOFTMAX_AVX2 = 1,
    SV__SOFTMAX_AVX512 = 2,
    SV__SOFTMAX_NPATHS = 3
} sv__softmax_path;

/* 1 when this build has the path and this CPU (and OS) can run it; the scalar path always. */
int sv__softmax_path_supported(sv__softmax_path path);

/* What the CPU lacks for the path ("avx2, fma", "avx512f", "not an x86-64 build"), or "" if
 * supported. */
const char *sv__softmax_path_missing(sv__softmax_path path);

/* The path the public functions use on this machine (the best supported one). */
sv__softmax_path sv__softmax_path_chosen(void);

const char *sv__softmax_path_name(sv__softmax_path path);

/* The public functions through one path, which must be supported. */
void sv__lse_accumulate_via(sv__softmax_path path, int n, const double *x, sv_lse_acc *acc);
void sv__softmax_finish_via(sv__softmax_path path, int n, const double *x,
                            const sv_lse_acc *acc, double *y);
double sv__softmax_via(sv__softmax_path path, int n, const double *x, double *y);
double sv__softmax_threepass_via(sv__softmax_path path, int n, const double *x, double *y);

#endif
