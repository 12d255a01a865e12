/* sha256.h - SHA-256 (FIPS 180-4), for the tokens file: a token may be listed by the hash of its
 * secret ("sha256:HEX"), so the file need not hold the secret itself. */
#ifndef SV_SHA256_H
#define SV_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SV_SHA256_LEN 32

void sv_sha256(const void *data, size_t len, uint8_t out[SV_SHA256_LEN]);

#endif
