/* rng.c - xoshiro256** (Blackman and Vigna), seeded through splitmix64 so that any 64-bit seed,
 * zero included, yields a well-mixed non-zero state. */
#include "core/rng.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void sv_rng_seed(sv_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    /* All-zero is the one state xoshiro never leaves; splitmix64 makes it practically
     * impossible, but keep the guarantee unconditional. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = UINT64_C(0x9E3779B97F4A7C15);
}

uint64_t sv_rng_next(sv_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sv_rng_uniform(sv_rng *r)
{
    /* Top 53 bits: every value is a multiple of 2^-53 in [0, 1). */
    return (double)(sv_rng_next(r) >> 11) * 0x1.0p-53;
}

double sv_rng_normal(sv_rng *r)
{
    /* 1 - u lies in (0, 1], so the log is finite. The sine branch is discarded on purpose:
     * caching it would make the stream depend on hidden state beyond r->s. */
    double u1 = 1.0 - sv_rng_uniform(r);
    double u2 = sv_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925286766559 * u2);
}

uint64_t sv_rng_below(sv_rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* Reject the top partial block so that every residue is equally likely:
     * threshold = 2^64 mod n, computed without 128-bit arithmetic. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = sv_rng_next(r);
        if (x >= threshold)
            return x % n;
    }
}

void sv_rng_shuffle(sv_rng *r, int *idx, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)sv_rng_below(r, (uint64_t)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

void sv_rng_sample(sv_rng *r, int n, int k, int *out)
{
    if (k <= 0 || n <= 0)
        return;
    if (k > n)
        k = n;
    /* No scratch of size n is available (and the call cannot fail), so pick by cost:
     * Floyd's algorithm does k draws and O(k^2) membership scans, selection sampling (Knuth's
     * Algorithm S) does n draws. Either way the set is uniform; the final shuffle makes the
     * order uniform too (neither method's raw order is). */
    if ((int64_t)k * k <= 4 * (int64_t)n) {
        for (int j = n - k, c = 0; j < n; j++, c++) {
            int t = (int)sv_rng_below(r, (uint64_t)j + 1);
            int seen = 0;
            for (int q = 0; q < c; q++) {
                if (out[q] == t) {
                    seen = 1;
                    break;
                }
            }
            out[c] = seen ? j : t;
        }
    } else {
        int c = 0;
        for (int i = 0; i < n && c < k; i++) {
            /* Take i with probability (still needed) / (still available), exactly. */
            if (sv_rng_below(r, (uint64_t)(n - i)) < (uint64_t)(k - c))
                out[c++] = i;
        }
    }
    sv_rng_shuffle(r, out, k);
}

void sv_rng_simplex(sv_rng *r, double *x, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = -log(1.0 - sv_rng_uniform(r));   /* 1 - u in (0, 1]: finite */
        sum += x[i];
    }
    for (int i = 0; i < n; i++)
        x[i] /= sum;
}
