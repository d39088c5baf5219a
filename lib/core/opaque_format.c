/* The opaque-token format shared by the token and log modules
 * (internal/opaque.h). */
#include "internal/common.h"
#include "internal/opaque.h"

#include <string.h>

#include <sodium.h>

size_t prd__opaque_prefix_len(const char *prefix)
{
    if (!prefix)
        return 0;
    size_t n = strnlen(prefix, PRD__OPAQUE_PREFIX_MAX + 1);
    if (n == 0 || n > PRD__OPAQUE_PREFIX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((prefix[i] >= 'a' && prefix[i] <= 'z') || (prefix[i] >= '0' && prefix[i] <= '9')))
            return 0;
    return n;
}

void prd__opaque_checksum(const char *prefix, size_t plen, const unsigned char *rnd,
                          unsigned char out[PRD__OPAQUE_CHECK_BYTES])
{
    crypto_generichash_state st;
    unsigned char full[16];
    crypto_generichash_init(&st, NULL, 0, sizeof full);
    crypto_generichash_update(&st, (const unsigned char *)prefix, plen);
    crypto_generichash_update(&st, rnd, PRD__OPAQUE_RANDOM_BYTES);
    crypto_generichash_final(&st, full, sizeof full);
    memcpy(out, full, PRD__OPAQUE_CHECK_BYTES);
}

int prd__opaque_valid(const char *prefix, const char *token, size_t len)
{
    if (!token || len > PRD__OPAQUE_TOKEN_MAX)
        return 0;
    const char *us = memchr(token, '_', len);
    if (!us)
        return 0;
    size_t plen = (size_t)(us - token);
    char pfx[PRD__OPAQUE_PREFIX_MAX + 1];
    if (plen == 0 || plen > PRD__OPAQUE_PREFIX_MAX || len - plen - 1 != PRD__OPAQUE_BODY_CHARS)
        return 0;
    memcpy(pfx, token, plen);
    pfx[plen] = '\0';
    if (prd__opaque_prefix_len(pfx) != plen || (prefix && strcmp(prefix, pfx) != 0))
        return 0;
    unsigned char raw[PRD__OPAQUE_RANDOM_BYTES + PRD__OPAQUE_CHECK_BYTES];
    unsigned char want[PRD__OPAQUE_CHECK_BYTES];
    size_t n = 0;
    if (prd_base64url_decode(raw, sizeof raw, &n, us + 1, PRD__OPAQUE_BODY_CHARS) != PRD_OK ||
        n != sizeof raw)
        return 0;
    prd__opaque_checksum(pfx, plen, raw, want);
    int ok = sodium_memcmp(want, raw + PRD__OPAQUE_RANDOM_BYTES, PRD__OPAQUE_CHECK_BYTES) == 0;
    sodium_memzero(raw, sizeof raw);
    return ok;
}
