/* The opaque-token format, <prefix>_<base64url(32 random bytes || 4-byte
 * checksum)>, below both the token module (which issues and checks
 * tokens) and the log module (which recognises them in text to redact
 * them): neither reaches into the other. */
#ifndef PRD_INTERNAL_OPAQUE_H
#define PRD_INTERNAL_OPAQUE_H

#include <stddef.h>

#define PRD__OPAQUE_PREFIX_MAX 16
#define PRD__OPAQUE_RANDOM_BYTES 32
#define PRD__OPAQUE_CHECK_BYTES 4
#define PRD__OPAQUE_BODY_CHARS 48 /* base64url of 36 bytes, unpadded */
#define PRD__OPAQUE_TOKEN_MAX (PRD__OPAQUE_PREFIX_MAX + 1 + PRD__OPAQUE_BODY_CHARS)

/* The prefix's length when it is 1-16 of [a-z0-9], else 0. */
size_t prd__opaque_prefix_len(const char *prefix);

/* The 4-byte checksum of a prefix and the random part. */
void prd__opaque_checksum(const char *prefix, size_t plen, const unsigned char *rnd,
                          unsigned char out[PRD__OPAQUE_CHECK_BYTES]);

/* 1 when token[0..len) has the shape and a valid checksum (and, when
 * prefix is not NULL, that prefix); 0 otherwise. Constant time in the
 * checksum comparison. */
int prd__opaque_valid(const char *prefix, const char *token, size_t len);

#endif
