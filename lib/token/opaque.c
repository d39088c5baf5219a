/* Opaque tokens: <prefix>_<base64url(32 random bytes || 4-byte checksum)>. */
#include "internal/common.h"
#include "internal/token.h"

#include <string.h>

#include <sodium.h>

#define RANDOM_BYTES 32
#define CHECK_BYTES 4
#define BODY_CHARS PRD_BASE64URL_LEN(RANDOM_BYTES + CHECK_BYTES) /* 48 */

static size_t prefix_len(const char *prefix)
{
    if (!prefix)
        return 0;
    size_t n = strnlen(prefix, PRD_OPAQUE_PREFIX_MAX + 1);
    if (n == 0 || n > PRD_OPAQUE_PREFIX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((prefix[i] >= 'a' && prefix[i] <= 'z') || (prefix[i] >= '0' && prefix[i] <= '9')))
            return 0;
    return n;
}

static void checksum(const char *prefix, size_t plen, const unsigned char *rnd,
                     unsigned char out[CHECK_BYTES])
{
    crypto_generichash_state st;
    unsigned char full[16];
    crypto_generichash_init(&st, NULL, 0, sizeof full);
    crypto_generichash_update(&st, (const unsigned char *)prefix, plen);
    crypto_generichash_update(&st, rnd, RANDOM_BYTES);
    crypto_generichash_final(&st, full, sizeof full);
    memcpy(out, full, CHECK_BYTES);
}

static void digest_of(const char *token, size_t len, unsigned char digest[PRD_OPAQUE_DIGEST_BYTES])
{
    crypto_generichash(digest, PRD_OPAQUE_DIGEST_BYTES, (const unsigned char *)token, len, NULL, 0);
}

prd_status prd_token_opaque_new(const char *prefix, char *out, size_t out_size,
                                unsigned char digest[PRD_OPAQUE_DIGEST_BYTES])
{
    size_t plen = prefix_len(prefix);
    if (out && out_size)
        out[0] = '\0';
    if (!plen || !out)
        return PRD_EINVAL;
    size_t need = plen + 1 + BODY_CHARS;
    if (out_size <= need)
        return PRD_ENOSPACE;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    unsigned char raw[RANDOM_BYTES + CHECK_BYTES];
    randombytes_buf(raw, RANDOM_BYTES);
    checksum(prefix, plen, raw, raw + RANDOM_BYTES);
    memcpy(out, prefix, plen);
    out[plen] = '_';
    prd_base64url_encode(out + plen + 1, out_size - plen - 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    if (digest)
        digest_of(out, need, digest);
    return PRD_OK;
}

prd_status prd_token_opaque_digest(const char *prefix, const char *token, size_t len,
                                   unsigned char digest[PRD_OPAQUE_DIGEST_BYTES])
{
    if (!token || len > PRD_OPAQUE_TOKEN_MAX)
        return PRD_EBADTOKEN;
    const char *us = memchr(token, '_', len);
    if (!us)
        return PRD_EBADTOKEN;
    size_t plen = (size_t)(us - token);
    char pfx[PRD_OPAQUE_PREFIX_MAX + 1];
    if (plen == 0 || plen > PRD_OPAQUE_PREFIX_MAX || len - plen - 1 != BODY_CHARS)
        return PRD_EBADTOKEN;
    memcpy(pfx, token, plen);
    pfx[plen] = '\0';
    if (prefix_len(pfx) != plen || (prefix && strcmp(prefix, pfx) != 0))
        return PRD_EBADTOKEN;
    unsigned char raw[RANDOM_BYTES + CHECK_BYTES], want[CHECK_BYTES];
    size_t n = 0;
    if (prd_base64url_decode(raw, sizeof raw, &n, us + 1, BODY_CHARS) != PRD_OK || n != sizeof raw)
        return PRD_EBADTOKEN;
    checksum(pfx, plen, raw, want);
    int ok = sodium_memcmp(want, raw + RANDOM_BYTES, CHECK_BYTES) == 0;
    sodium_memzero(raw, sizeof raw);
    if (!ok)
        return PRD_EBADTOKEN;
    if (digest)
        digest_of(token, len, digest);
    return PRD_OK;
}
