/* Internal encoding helpers shared by the parsers. */
#ifndef PRD_INTERNAL_ENCODING_H
#define PRD_INTERNAL_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* Little-endian integers in byte strings, whatever the host's order
 * (PASETO's PAE, BLAKE2b, Argon2's inputs and blocks). */
static inline void prd__le32_store(unsigned char p[4], uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void prd__le64_store(unsigned char p[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t prd__le64_load(const unsigned char p[8])
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/*
 * 1 when every one of the len characters is in the base64 alphabet:
 * url-safe ('-', '_') or standard ('+', '/'). Needed before libsodium's
 * decoder, because libsodium 1.0.18 maps bytes 0x80-0xFF to alphabet
 * values (a signed-char slip in its constant-time lookup) and would accept
 * them; tests/test_core.c keeps that case.
 */
int prd__b64_alphabet_ok(const char *text, size_t len, int urlsafe);

/* Decode standard-alphabet base64 without padding, strictly (see
 * prd_base64url_decode for what strict means). */
int prd__b64std_decode(unsigned char *out, size_t cap, size_t *out_len, const char *text,
                       size_t len);

/*
 * Decode unpadded base64url of PUBLIC data (token bodies and footers) with
 * a lookup table. Same strictness as prd_base64url_decode (alphabet,
 * length, zero unused bits) but not constant-time, so never for secrets:
 * libsodium's constant-time decoder was 10% of a token verify in perf
 * (bench/bench_token.c), and token text is public anyway.
 */
prd_status prd__b64url_decode_public(unsigned char *out, size_t cap, size_t *out_len,
                                     const char *text, size_t len);

#endif
