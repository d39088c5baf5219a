/* Opaque tokens: <prefix>_<base64url(32 random bytes || 4-byte checksum)>.
 * The format itself lives in core (internal/opaque.h), where the log
 * module's redactor reads it too. */
#include "internal/common.h"
#include "internal/opaque.h"
#include "internal/token.h"

#include <string.h>

#include <sodium.h>

_Static_assert(PRD__OPAQUE_PREFIX_MAX == PRD_OPAQUE_PREFIX_MAX, "opaque prefix bound");
_Static_assert(PRD__OPAQUE_TOKEN_MAX + 1 == PRD_OPAQUE_TOKEN_SIZE, "opaque token bound");
_Static_assert(PRD__OPAQUE_BODY_CHARS ==
                   PRD_BASE64URL_LEN(PRD__OPAQUE_RANDOM_BYTES + PRD__OPAQUE_CHECK_BYTES),
               "opaque body");

static void digest_of(const char *token, size_t len, unsigned char digest[PRD_OPAQUE_DIGEST_BYTES])
{
    crypto_generichash(digest, PRD_OPAQUE_DIGEST_BYTES, (const unsigned char *)token, len, NULL, 0);
}

prd_status prd_token_opaque_new(const char *prefix, char *out, size_t out_size,
                                unsigned char digest[PRD_OPAQUE_DIGEST_BYTES])
{
    size_t plen = prd__opaque_prefix_len(prefix);
    if (out && out_size)
        out[0] = '\0';
    if (!plen || !out)
        return PRD_EINVAL;
    size_t need = plen + 1 + PRD__OPAQUE_BODY_CHARS;
    if (out_size <= need)
        return PRD_ENOSPACE;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    unsigned char raw[PRD__OPAQUE_RANDOM_BYTES + PRD__OPAQUE_CHECK_BYTES];
    randombytes_buf(raw, PRD__OPAQUE_RANDOM_BYTES);
    prd__opaque_checksum(prefix, plen, raw, raw + PRD__OPAQUE_RANDOM_BYTES);
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
    if (!prd__opaque_valid(prefix, token, len))
        return PRD_EBADTOKEN;
    if (digest)
        digest_of(token, len, digest);
    return PRD_OK;
}

size_t prd_opaque_token_size(void) { return PRD_OPAQUE_TOKEN_SIZE; }
