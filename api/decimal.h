/* decimal.h - decimal text to the nearest double, fast: the number tokens of large JSON bodies.
 *
 * Correctly rounded (round to nearest, ties to even, as strtod in the C locale): Clinger's exact
 * cases first (at most 2^53 as an integer times a power of ten that is exact in double), then
 * the Eisel-Lemire algorithm (a 64-bit significand times a 128-bit approximation of the power
 * of ten, accepted only when the truncation cannot have changed the rounding), and strtod for
 * what neither decides (subnormal results, more than 19 significant digits with an ambiguous
 * tail, exact halfway cases). No allocation unless a token past 500 bytes reaches strtod. */
#ifndef SV_DECIMAL_H
#define SV_DECIMAL_H

#include <stddef.h>

/* [s, end) must be a JSON number token: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
 * Sets *out and returns 0, or returns -1 when the value overflows a double (|x| would round to
 * infinity; *out is then that infinity). Underflow gives 0 or a subnormal, as strtod does. */
int sv_decimal_to_double(const char *s, const char *end, double *out);

#endif
