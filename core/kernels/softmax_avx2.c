/* softmax_avx2.c - the vector layer of softmax_simd.inc in AVX2 + FMA: four doubles a vector,
 * lane masks as all-ones lanes, vmaskmovpd for the tail. AVX2 has no vscalefpd: 2^k is built
 * in the exponent field (pow2i), and v_scale_exact splits k in two halves when some lane needs
 * a power of two below the normal range, so that a subnormal result is still rounded once.
 * Compiled with -mavx2 -mfma for this file only (CMakeLists.txt); softmax.c calls it only when
 * the CPU has AVX2 and FMA. */
#include "core/kernels/softmax_simd.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

typedef __m256d V;
typedef __m256d M;
#define SV_W 4

static inline __m256i tail_mask(size_t cnt)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)cnt), _mm256_setr_epi64x(0, 1, 2, 3));
}
static inline V v_set(double a) { return _mm256_set1_pd(a); }
static inline V v_load(const double *p) { return _mm256_loadu_pd(p); }
static inline V v_load_tail(const double *p, size_t cnt)
{
    __m256i m = tail_mask(cnt);
    return _mm256_blendv_pd(_mm256_set1_pd(-INFINITY), _mm256_maskload_pd(p, m),
                            _mm256_castsi256_pd(m));
}
static inline void v_store(double *p, V v) { _mm256_storeu_pd(p, v); }
static inline void v_store_tail(double *p, V v, size_t cnt)
{
    _mm256_maskstore_pd(p, tail_mask(cnt), v);
}
static inline void v_lanes(V v, double *out) { _mm256_storeu_pd(out, v); }
static inline V v_add(V a, V b) { return _mm256_add_pd(a, b); }
static inline V v_sub(V a, V b) { return _mm256_sub_pd(a, b); }
static inline V v_mul(V a, V b) { return _mm256_mul_pd(a, b); }
static inline V v_fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
static inline V v_fnma(V a, V b, V c) { return _mm256_fnmadd_pd(a, b, c); }
static inline V v_max(V a, V b) { return _mm256_max_pd(a, b); }
static inline V v_floor(V a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
static inline void v_stream(double *p, V v) { _mm256_stream_pd(p, v); }
static inline void v_fence(void) { _mm_sfence(); }
/* The tables stay in memory (a few L1 lines) and are read lane by lane: the four indices go to
 * general registers and each lane is one load. vgatherqpd does the same work slower (on Zen 4
 * it cost two thirds of the first pass). */
typedef const double *T16;
static inline T16 t16_load(const double *tab) { return tab; }
static inline void lane_indices(V idx, long long j[4])
{
    __m256i k = _mm256_and_si256(_mm256_castpd_si256(idx), _mm256_set1_epi64x(15));
    __m128i kl = _mm256_castsi256_si128(k), kh = _mm256_extracti128_si256(k, 1);
    j[0] = _mm_cvtsi128_si64(kl);
    j[1] = _mm_extract_epi64(kl, 1);
    j[2] = _mm_cvtsi128_si64(kh);
    j[3] = _mm_extract_epi64(kh, 1);
}
static inline V v_lookup16(T16 tab, V idx)
{
    long long j[4];
    lane_indices(idx, j);
    __m128d a = _mm_loadh_pd(_mm_load_sd(tab + j[0]), tab + j[1]);
    __m128d b = _mm_loadh_pd(_mm_load_sd(tab + j[2]), tab + j[3]);
    return _mm256_insertf128_pd(_mm256_castpd128_pd256(a), b, 1);
}
/* Two tables by one index: interleaved (hi, lo) pairs, one 16-byte load a lane, then two
 * unpacks put the halves in lane order. */
typedef struct {
    double tt[32] __attribute__((aligned(64)));
} T16P;
static inline void t16p_load(T16P *t, const double *hi, const double *lo)
{
    for (int j = 0; j < 16; j++) {
        t->tt[2 * j] = hi[j];
        t->tt[2 * j + 1] = lo[j];
    }
}
static inline void v_lookup16p(const T16P *t, V idx, V *hi, V *lo)
{
    long long j[4];
    lane_indices(idx, j);
    __m256d a02 = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_load_pd(t->tt + 2 * j[0])),
                                       _mm_load_pd(t->tt + 2 * j[2]), 1);
    __m256d a13 = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_load_pd(t->tt + 2 * j[1])),
                                       _mm_load_pd(t->tt + 2 * j[3]), 1);
    *hi = _mm256_unpacklo_pd(a02, a13);
    *lo = _mm256_unpackhi_pd(a02, a13);
}
static inline M m_ge(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
static inline M m_nle(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_NLE_UQ); }
static inline M m_none(void) { return _mm256_setzero_pd(); }
static inline M m_or(M a, M b) { return _mm256_or_pd(a, b); }
static inline int m_any(M m) { return _mm256_movemask_pd(m) != 0; }

/* 2^k for integral k in [-1023, 1024): k + 1023 lands in the low mantissa bits of
 * k + 1.5 2^52 + 1023 and is shifted into the exponent field; k = -1023 gives +0. */
static inline V pow2i(V k)
{
    V t = _mm256_add_pd(k, _mm256_set1_pd(0x1.8p52 + 1023.0));
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(t), 52));
}
/* v 2^k, k = floor(e) <= 0, in the first pass: a scale below 2^-1022 is flushed to 0, which drops
 * terms below 2^-1022 of the largest one, nothing a double sum keeps. */
static inline V v_scale_floor_flush(V v, V e)
{
    V k = v_floor(e);
    return _mm256_mul_pd(v, pow2i(_mm256_max_pd(k, _mm256_set1_pd(-1023.0))));
}
/* v 2^k, k = floor(e), with one rounding for v in [2^-40, 2] and k <= 64 (outputs: subnormals are
 * rounded, not flushed). Below k = -1200 the result is 0 anyway. */
static inline V v_scale_floor_exact(V v, V e)
{
    V k = _mm256_max_pd(v_floor(e), _mm256_set1_pd(-1200.0));
    if (!_mm256_movemask_pd(_mm256_cmp_pd(k, _mm256_set1_pd(-1022.0), _CMP_LT_OQ)))
        return _mm256_mul_pd(v, pow2i(k));
    /* two halves >= -600: the first product is exact (normal), the second rounds once */
    V k1 = _mm256_round_pd(_mm256_mul_pd(k, _mm256_set1_pd(0.5)),
                           _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    V k2 = _mm256_sub_pd(k, k1);
    return _mm256_mul_pd(_mm256_mul_pd(v, pow2i(k1)), pow2i(k2));
}

#include "core/kernels/softmax_simd.inc"

const sv__softmax_ops sv__softmax_ops_avx2 = {"avx2", sum_pass, finish_pass, threepass};
#else
/* Not an x86-64 build, or built without the per-file flags: the path does not exist. */
const sv__softmax_ops sv__softmax_ops_avx2 = {"avx2", NULL, NULL, NULL};
#endif
