/* softmax_avx512.c - the vector layer of softmax_simd.inc in AVX-512F: eight doubles a vector,
 * lane masks in k registers, masked loads and stores for the tail, and vscalefpd for the
 * rescaling by 2^k (exact, subnormal results rounded once). Compiled with -mavx512f -mfma for
 * this file only (CMakeLists.txt); softmax.c calls it only when the CPU has AVX-512F. */
#include "core/kernels/softmax_simd.h"

#if defined(__x86_64__) && defined(__AVX512F__)
#include <float.h>
#include <immintrin.h>
#include <math.h>

typedef __m512d V;
typedef __mmask8 M;
#define SV_W 8

static inline V v_set(double a) { return _mm512_set1_pd(a); }
static inline V v_load(const double *p) { return _mm512_loadu_pd(p); }
static inline __mmask8 tail_mask(size_t cnt) { return (__mmask8)((1u << cnt) - 1u); }
static inline V v_load_tail(const double *p, size_t cnt)
{
    return _mm512_mask_loadu_pd(_mm512_set1_pd(-INFINITY), tail_mask(cnt), p);
}
static inline void v_store(double *p, V v) { _mm512_storeu_pd(p, v); }
static inline void v_store_tail(double *p, V v, size_t cnt)
{
    _mm512_mask_storeu_pd(p, tail_mask(cnt), v);
}
static inline void v_lanes(V v, double *out) { _mm512_storeu_pd(out, v); }
static inline V v_add(V a, V b) { return _mm512_add_pd(a, b); }
static inline V v_sub(V a, V b) { return _mm512_sub_pd(a, b); }
static inline V v_mul(V a, V b) { return _mm512_mul_pd(a, b); }
static inline V v_fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
static inline V v_fnma(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }
static inline V v_max(V a, V b) { return _mm512_max_pd(a, b); }
static inline V v_round(V a)
{
    return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
static inline V v_zero_where(M m, V a) { return _mm512_maskz_mov_pd((__mmask8)~m, a); }
static inline V v_scale_flush(V v, V k) { return _mm512_scalef_pd(v, k); }
static inline V v_scale_exact(V v, V k) { return _mm512_scalef_pd(v, k); }
static inline M m_lt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
static inline M m_nle(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_NLE_UQ); }
static inline M m_none(void) { return 0; }
static inline M m_or(M a, M b) { return (M)(a | b); }
static inline int m_any(M m) { return m != 0; }

#include "core/kernels/softmax_simd.inc"

const sv__softmax_ops sv__softmax_ops_avx512 = {"avx512", sum_pass, finish_pass, threepass};
#else
/* Not an x86-64 build, or built without the per-file flags: the path does not exist. */
const sv__softmax_ops sv__softmax_ops_avx512 = {"avx512", NULL, NULL, NULL};
#endif
