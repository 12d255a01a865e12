/* softmax_avx512.c - the vector layer of softmax_simd.inc in AVX-512F: eight doubles a vector,
 * lane masks in k registers, masked loads and stores for the tail, and vscalefpd for the
 * rescaling by 2^floor(e) (exact, subnormal results rounded once), vpermt2pd for the 16-entry
 * table of 2^(j/16), and non-temporal stores for large outputs. Compiled with -mavx512f -mfma for
 * this file only (CMakeLists.txt); softmax.c calls it only when the CPU has AVX-512F. */
#include "core/kernels/softmax_simd.h"

#if defined(__x86_64__) && defined(__AVX512F__)
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

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
static inline V v_floor(V a)
{
    return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}
/* vscalefpd: v 2^floor(e), one rounding (subnormal results rounded, not flushed). */
static inline V v_scale_floor_flush(V v, V e) { return _mm512_scalef_pd(v, e); }
static inline V v_scale_floor_exact(V v, V e) { return _mm512_scalef_pd(v, e); }
static inline void v_stream(double *p, V v) { _mm512_stream_pd(p, v); }
static inline void v_fence(void) { _mm_sfence(); }
/* A 16-entry table in two registers; vpermt2pd picks entry j (bits 0-3 of each index lane). */
typedef struct {
    __m512d a, b;
} T16;
static inline T16 t16_load(const double *tab)
{
    T16 t = {_mm512_loadu_pd(tab), _mm512_loadu_pd(tab + 8)};
    return t;
}
static inline V v_lookup16(T16 tab, V idx)
{
    return _mm512_permutex2var_pd(tab.a, _mm512_castpd_si512(idx), tab.b);
}
/* Two tables looked up with one index: two permutes. */
typedef struct {
    T16 hi, lo;
} T16P;
static inline void t16p_load(T16P *t, const double *hi, const double *lo)
{
    t->hi = t16_load(hi);
    t->lo = t16_load(lo);
}
static inline void v_lookup16p(const T16P *t, V idx, V *hi, V *lo)
{
    *hi = v_lookup16(t->hi, idx);
    *lo = v_lookup16(t->lo, idx);
}
static inline M m_ge(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
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
