/* decimal.c - decimal text to the nearest double; see decimal.h. The Eisel-Lemire step follows
 * D. Lemire, "Number Parsing at a Gigabyte per Second", Software: Practice and Experience 51
 * (2021), with the table of truncated 128-bit powers of ten of api/decimal_pow10.inc. */
#include "api/decimal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/decimal_pow10.inc"

#define MAX_DIGITS 19 /* significant digits that always fit a uint64 */

/* 10^k, exact in double for k <= 22 */
static const double EXACT_POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* w 10^q for w != 0 into *out, or 0 when the approximation cannot decide the rounding (or the
 * result is subnormal or overflows: those go to strtod, which knows them exactly). */
static int eisel_lemire(uint64_t w, int q, int neg, double *out)
{
    if (q < SV__POW10_MIN || q > SV__POW10_MAX)
        return 0;
    int lz = __builtin_clzll(w);
    w <<= lz;
    /* floor(q log2 10) + 64 + bias - lz: the exponent field if the product's top bit is set */
    int64_t e2 = (((int64_t)217706 * q) >> 16) + 64 + 1023 - lz;
    const uint64_t *t = SV__POW10[q - SV__POW10_MIN];
    unsigned __int128 x = (unsigned __int128)w * t[0];
    uint64_t x_hi = (uint64_t)(x >> 64), x_lo = (uint64_t)x;
    /* The table's high half is short of the true power by less than one unit of its last
     * bit, so x is short of w 10^q (scaled) by less than w in x_lo: when that could carry into
     * the bits that decide the rounding, take the low half of the table into account. */
    if ((x_hi & 0x1FF) == 0x1FF && x_lo + w < x_lo) {
        unsigned __int128 y = (unsigned __int128)w * t[1];
        uint64_t y_hi = (uint64_t)(y >> 64), y_lo = (uint64_t)y;
        uint64_t m_lo = x_lo + y_hi, m_hi = x_hi + (m_lo < x_lo);
        if ((m_hi & 0x1FF) == 0x1FF && m_lo + 1 == 0 && y_lo + w < y_lo)
            return 0;
        x_hi = m_hi;
        x_lo = m_lo;
    }
    int msb = (int)(x_hi >> 63);
    uint64_t mant = x_hi >> (msb + 9); /* 54 bits: the 53 kept and the rounding bit */
    e2 -= 1 ^ msb;
    /* Exactly halfway between two doubles as far as the product shows: strtod decides. */
    if (x_lo == 0 && (x_hi & 0x1FF) == 0 && (mant & 3) == 1)
        return 0;
    mant += mant & 1;
    mant >>= 1;
    if (mant >> 53) {
        mant >>= 1;
        e2++;
    }
    if (e2 <= 0 || e2 >= 0x7FF)
        return 0;
    uint64_t bits = (uint64_t)e2 << 52 | (mant & ((UINT64_C(1) << 52) - 1));
    if (neg)
        bits |= UINT64_C(1) << 63;
    memcpy(out, &bits, sizeof bits);
    return 1;
}

static int from_strtod(const char *s, const char *end, double *out)
{
    char small[512];
    size_t n = (size_t)(end - s);
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) { /* no memory for a 500-byte-plus token: strtod stops at the first non-digit */
        *out = strtod(s, NULL);
    } else {
        memcpy(buf, s, n);
        buf[n] = '\0';
        *out = strtod(buf, NULL);
        if (buf != small)
            free(buf);
    }
    return isinf(*out) ? -1 : 0;
}

int sv_decimal_to_double(const char *s, const char *end, double *out)
{
    const char *p = s;
    int neg = *p == '-';
    p += neg;
    uint64_t w = 0;
    int digits = 0, truncated = 0;
    int64_t q = 0; /* the value is w 10^q (with the dropped digits, a bit more) */
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (digits < MAX_DIGITS) {
            w = w * 10 + (uint64_t)(*p - '0');
            digits += w != 0;
        } else {
            truncated |= *p != '0';
            q++;
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            if (digits < MAX_DIGITS) {
                w = w * 10 + (uint64_t)(*p - '0');
                digits += w != 0;
                q--;
            } else {
                truncated |= *p != '0';
            }
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = *p == '-';
        p += *p == '-' || *p == '+';
        int64_t e = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (e < 100000000)
                e = e * 10 + (*p - '0');
        q += eneg ? -e : e;
    }
    if (w == 0) {
        /* only zeros were kept; a truncated tail cannot exist without a nonzero digit first */
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (q > SV__POW10_MAX + MAX_DIGITS)
        return from_strtod(s, end, out); /* certainly an overflow; strtod says so exactly */
    if (q < SV__POW10_MIN - MAX_DIGITS - 1) {
        *out = neg ? -0.0 : 0.0; /* below 10^-329: zero */
        return 0;
    }
    int qi = (int)q;
    if (!truncated && w <= (UINT64_C(1) << 53) && qi >= -22 && qi <= 22) {
        double d = (double)w;
        d = qi < 0 ? d / EXACT_POW10[-qi] : d * EXACT_POW10[qi];
        *out = neg ? -d : d;
        return 0;
    }
    double a;
    if (eisel_lemire(w, qi, neg, &a)) {
        double b;
        /* With dropped digits the value lies in (w, w + 1) 10^q: decided if both ends agree. */
        if (!truncated || (eisel_lemire(w + 1, qi, neg, &b) && a == b)) { /* w < 10^19 */
            *out = a;
            return 0;
        }
    }
    return from_strtod(s, end, out);
}
