/*
 * PASETO v4 (local and public) on libsodium alone, following the spec's
 * v4 document: PAE, key splitting with keyed BLAKE2b, XChaCha20, a BLAKE2b
 * MAC, Ed25519 signatures. Strict decoding: one accepted form per token.
 */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/encoding.h"
#include "internal/secret.h"
#include "internal/token.h"

#include <string.h>

#include <sodium.h>

#define HDR_LOCAL "v4.local."
#define HDR_PUBLIC "v4.public."
#define NONCE_BYTES 32
#define MAC_BYTES 32
#define SIG_BYTES 64

static void le64(unsigned char out[8], uint64_t n)
{
    prd__le64_store(out, n & INT64_MAX); /* PAE clears the top bit */
}

struct piece {
    const void *p;
    size_t n;
};

/* PAE(pieces) fed straight into a BLAKE2b state or an Ed25519ph-free
 * buffer: we build it once into memory (sizes are bounded by the token
 * size limit). */
static unsigned char *pae(const struct piece *pieces, size_t count, size_t *len)
{
    size_t total = 8;
    for (size_t i = 0; i < count; i++)
        total += 8 + pieces[i].n;
    unsigned char *buf = prd__malloc(total);
    if (!buf)
        return NULL;
    unsigned char *w = buf;
    le64(w, count);
    w += 8;
    for (size_t i = 0; i < count; i++) {
        le64(w, pieces[i].n);
        w += 8;
        if (pieces[i].n)
            memcpy(w, pieces[i].p, pieces[i].n);
        w += pieces[i].n;
    }
    *len = total;
    return buf;
}

/* header || b64(body) [|| "." || b64(footer)] into a returned buffer. */
static prd_status assemble(const char *hdr, const unsigned char *body, size_t body_len,
                           const void *footer, size_t footer_len, char **out)
{
    size_t hlen = strlen(hdr);
    size_t blen = PRD_BASE64URL_LEN(body_len);
    size_t flen = footer_len ? 1 + PRD_BASE64URL_LEN(footer_len) : 0;
    size_t total = hlen + blen + flen;
    if (total > PRD_TOKEN_ABSOLUTE_MAX_LEN)
        return PRD_ETOOBIG;
    char *t = prd__returned_alloc(total + 1);
    if (!t)
        return PRD_ENOMEM;
    memcpy(t, hdr, hlen);
    prd_base64url_encode(t + hlen, blen + 1, body, body_len);
    if (footer_len) {
        t[hlen + blen] = '.';
        prd_base64url_encode(t + hlen + blen + 1, flen, footer, footer_len);
    }
    t[total] = '\0';
    *out = t;
    return PRD_OK;
}

static int args_ok(const void *payload, size_t payload_len, const void *footer, size_t footer_len,
                   const void *implicit, size_t implicit_len, char **out)
{
    return out && (payload || !payload_len) && (footer || !footer_len) &&
           (implicit || !implicit_len) && payload_len <= PRD_TOKEN_ABSOLUTE_MAX_LEN &&
           footer_len <= PRD_TOKEN_ABSOLUTE_MAX_LEN && implicit_len <= PRD_TOKEN_ABSOLUTE_MAX_LEN;
}

/* Ek || n2 and Ak from the key and nonce (the spec's key splitting). */
static void split_keys(const unsigned char *key, const unsigned char *nonce, unsigned char ek[32],
                       unsigned char n2[24], unsigned char ak[32])
{
    static const char enc_info[] = "paseto-encryption-key";
    static const char auth_info[] = "paseto-auth-key-for-aead";
    unsigned char tmp[56];
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, 32, sizeof tmp);
    crypto_generichash_update(&st, (const unsigned char *)enc_info, sizeof enc_info - 1);
    crypto_generichash_update(&st, nonce, NONCE_BYTES);
    crypto_generichash_final(&st, tmp, sizeof tmp);
    memcpy(ek, tmp, 32);
    memcpy(n2, tmp + 32, 24);
    crypto_generichash_init(&st, key, 32, 32);
    crypto_generichash_update(&st, (const unsigned char *)auth_info, sizeof auth_info - 1);
    crypto_generichash_update(&st, nonce, NONCE_BYTES);
    crypto_generichash_final(&st, ak, 32);
    sodium_memzero(tmp, sizeof tmp);
    sodium_memzero(&st, sizeof st);
}

static prd_status local_mac(const unsigned char ak[32], const unsigned char *nonce,
                            const unsigned char *c, size_t c_len, const void *footer,
                            size_t footer_len, const void *implicit, size_t implicit_len,
                            unsigned char mac[MAC_BYTES])
{
    const struct piece pieces[] = {{HDR_LOCAL, sizeof HDR_LOCAL - 1},
                                   {nonce, NONCE_BYTES},
                                   {c, c_len},
                                   {footer, footer_len},
                                   {implicit, implicit_len}};
    size_t len;
    unsigned char *pre = pae(pieces, 5, &len);
    if (!pre)
        return PRD_ENOMEM;
    crypto_generichash(mac, MAC_BYTES, pre, len, ak, 32);
    prd__free(pre);
    return PRD_OK;
}

prd_status prd__v4_encrypt_with_nonce(const prd_token_key *key, const unsigned char nonce[32],
                                      const void *payload, size_t payload_len, const void *footer,
                                      size_t footer_len, const void *implicit, size_t implicit_len,
                                      char **out)
{
    if (out)
        *out = NULL;
    if (!key || key->kind != PRD_KEY_LOCAL ||
        !args_ok(payload, payload_len, footer, footer_len, implicit, implicit_len, out))
        return PRD_EINVAL;
    size_t body_len = NONCE_BYTES + payload_len + MAC_BYTES;
    unsigned char *body = prd__malloc(body_len);
    if (!body)
        return PRD_ENOMEM;
    unsigned char ek[32], n2[24], ak[32];
    split_keys(prd__token_key_bytes(key), nonce, ek, n2, ak);
    memcpy(body, nonce, NONCE_BYTES);
    unsigned char *c = body + NONCE_BYTES;
    crypto_stream_xchacha20_xor(c, payload, payload_len, n2, ek);
    prd_status st = local_mac(ak, nonce, c, payload_len, footer, footer_len, implicit,
                              implicit_len, c + payload_len);
    if (st == PRD_OK)
        st = assemble(HDR_LOCAL, body, body_len, footer, footer_len, out);
    sodium_memzero(ek, sizeof ek);
    sodium_memzero(ak, sizeof ak);
    prd__free(body);
    return st;
}

prd_status prd_token_v4_encrypt(const prd_token_key *key, const void *payload, size_t payload_len,
                                const void *footer, size_t footer_len, const void *implicit,
                                size_t implicit_len, char **out)
{
    unsigned char nonce[NONCE_BYTES];
    randombytes_buf(nonce, sizeof nonce);
    return prd__v4_encrypt_with_nonce(key, nonce, payload, payload_len, footer, footer_len,
                                      implicit, implicit_len, out);
}

prd_status prd_token_v4_sign(const prd_token_key *key, const void *payload, size_t payload_len,
                             const void *footer, size_t footer_len, const void *implicit,
                             size_t implicit_len, char **out)
{
    if (out)
        *out = NULL;
    if (!key || key->kind != PRD_KEY_SECRET ||
        !args_ok(payload, payload_len, footer, footer_len, implicit, implicit_len, out))
        return PRD_EINVAL;
    const struct piece pieces[] = {{HDR_PUBLIC, sizeof HDR_PUBLIC - 1},
                                   {payload, payload_len},
                                   {footer, footer_len},
                                   {implicit, implicit_len}};
    size_t m2_len;
    unsigned char *m2 = pae(pieces, 4, &m2_len);
    unsigned char *body = prd__malloc(payload_len + SIG_BYTES);
    if (!m2 || !body) {
        prd__free(m2);
        prd__free(body);
        return PRD_ENOMEM;
    }
    if (payload_len)
        memcpy(body, payload, payload_len);
    crypto_sign_detached(body + payload_len, NULL, m2, m2_len, prd__token_key_bytes(key));
    prd_status st = assemble(HDR_PUBLIC, body, payload_len + SIG_BYTES, footer, footer_len, out);
    prd__free(m2);
    prd__free(body);
    return st;
}

#define REJECT(reason)                                                                           \
    do {                                                                                         \
        if (why)                                                                                 \
            *why = (reason);                                                                     \
        return PRD_EBADTOKEN;                                                                    \
    } while (0)

prd_status prd__token_split(const char *token, size_t len, struct prd__token_parts *parts,
                            const char **why)
{
    memset(parts, 0, sizeof *parts);
    size_t hlen = 0;
    if (len >= sizeof HDR_LOCAL - 1 && memcmp(token, HDR_LOCAL, sizeof HDR_LOCAL - 1) == 0) {
        parts->purpose = PRD_TOKEN_LOCAL;
        hlen = sizeof HDR_LOCAL - 1;
    } else if (len >= sizeof HDR_PUBLIC - 1 &&
               memcmp(token, HDR_PUBLIC, sizeof HDR_PUBLIC - 1) == 0) {
        parts->purpose = PRD_TOKEN_PUBLIC;
        hlen = sizeof HDR_PUBLIC - 1;
    } else {
        REJECT("unknown header (not v4.local. or v4.public.)");
    }
    const char *body = token + hlen;
    const char *end = token + len;
    const char *dot = memchr(body, '.', (size_t)(end - body));
    parts->body = body;
    parts->body_len = dot ? (size_t)(dot - body) : (size_t)(end - body);
    if (dot) {
        parts->footer = dot + 1;
        parts->footer_len = (size_t)(end - dot - 1);
        if (parts->footer_len == 0)
            REJECT("empty footer after '.'");
        if (memchr(parts->footer, '.', parts->footer_len))
            REJECT("too many parts");
    }
    if (parts->body_len == 0)
        REJECT("empty payload");
    if (memchr(token, '\0', len))
        REJECT("NUL byte in token");
    return PRD_OK;
}

static prd_status decode_part(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
    size_t cap = len / 4 * 3 + 3;
    unsigned char *buf = prd__returned_alloc(cap + 1);
    if (!buf)
        return PRD_ENOMEM;
    prd_status st = prd__b64url_decode_public(buf, cap, out_len, text, len);
    if (st != PRD_OK) {
        prd__free_returned(buf);
        return PRD_EBADTOKEN;
    }
    buf[*out_len] = '\0';
    *out = buf;
    return PRD_OK;
}

prd_status prd__token_footer(const struct prd__token_parts *parts, unsigned char **footer,
                             size_t *footer_len, const char **why)
{
    *footer = NULL;
    *footer_len = 0;
    if (!parts->footer_len) {
        unsigned char *empty = prd__returned_alloc(1);
        if (!empty)
            return PRD_ENOMEM;
        empty[0] = '\0';
        *footer = empty;
        return PRD_OK;
    }
    prd_status st = decode_part(parts->footer, parts->footer_len, footer, footer_len);
    if (st == PRD_EBADTOKEN && why)
        *why = "footer is not canonical base64url";
    return st;
}

/* Common opening of both purposes: size, split, purpose, footer. */
static prd_status open_common(const char *token, size_t token_len, prd_token_purpose purpose,
                              const void *expect_footer, size_t expect_footer_len, size_t max_size,
                              struct prd__token_parts *parts, unsigned char **footer,
                              size_t *footer_len, const char **why)
{
    if (max_size == 0)
        max_size = PRD_TOKEN_DEFAULT_MAX_LEN;
    if (token_len > max_size || token_len > PRD_TOKEN_ABSOLUTE_MAX_LEN)
        REJECT("token larger than the size limit");
    prd_status st = prd__token_split(token, token_len, parts, why);
    if (st != PRD_OK)
        return st;
    if (parts->purpose != purpose)
        REJECT(purpose == PRD_TOKEN_LOCAL ? "a v4.public token where v4.local was expected"
                                          : "a v4.local token where v4.public was expected");
    st = prd__token_footer(parts, footer, footer_len, why);
    if (st != PRD_OK)
        return st;
    if (expect_footer && (*footer_len != expect_footer_len ||
                          !prd_memeq(*footer, expect_footer, expect_footer_len))) {
        prd__free_returned(*footer);
        *footer = NULL;
        REJECT("footer does not match the expected footer");
    }
    return PRD_OK;
}

static void hand_over(unsigned char *footer, size_t footer_len, unsigned char **footer_out,
                      size_t *footer_len_out)
{
    if (footer_out) {
        *footer_out = footer;
        if (footer_len_out)
            *footer_len_out = footer_len;
    } else {
        prd__free_returned(footer);
    }
}

static void clear_outs(unsigned char **payload_out, size_t *payload_len, unsigned char **footer_out,
                       size_t *footer_len, const char **why)
{
    if (payload_out)
        *payload_out = NULL;
    if (payload_len)
        *payload_len = 0;
    if (footer_out)
        *footer_out = NULL;
    if (footer_len)
        *footer_len = 0;
    if (why)
        *why = NULL;
}

/* Everything both purposes do before their cryptography: size, shape,
 * purpose, footer, and the decoded body of at least min_body bytes. */
static prd_status open_body(const char *token, size_t token_len, prd_token_purpose purpose,
                            const void *expect_footer, size_t expect_footer_len, size_t max_size,
                            size_t min_body, unsigned char **footer, size_t *flen,
                            unsigned char **body, size_t *blen, const char **why)
{
    struct prd__token_parts parts;
    prd_status st = open_common(token, token_len, purpose, expect_footer, expect_footer_len,
                                max_size, &parts, footer, flen, why);
    if (st != PRD_OK)
        return st;
    st = decode_part(parts.body, parts.body_len, body, blen);
    if (st == PRD_EBADTOKEN && why)
        *why = "payload is not canonical base64url";
    if (st == PRD_OK && *blen < min_body) {
        st = PRD_EBADTOKEN;
        if (why)
            *why = "payload too short";
    }
    if (st != PRD_OK) {
        prd__free_returned(*footer);
        prd__free_returned(*body);
        *footer = *body = NULL;
    }
    return st;
}

prd_status prd_token_v4_decrypt(const prd_token_key *key, const char *token, size_t token_len,
                                const void *expect_footer, size_t expect_footer_len,
                                const void *implicit, size_t implicit_len, size_t max_size,
                                unsigned char **payload_out, size_t *payload_len,
                                unsigned char **footer_out, size_t *footer_len, const char **why)
{
    clear_outs(payload_out, payload_len, footer_out, footer_len, why);
    if (!key || key->kind != PRD_KEY_LOCAL || !token || !payload_out || !payload_len ||
        (implicit_len && !implicit) || (expect_footer_len && !expect_footer))
        return PRD_EINVAL;
    unsigned char *footer = NULL, *body = NULL;
    size_t flen = 0, blen = 0;
    prd_status st = open_body(token, token_len, PRD_TOKEN_LOCAL, expect_footer, expect_footer_len,
                              max_size, NONCE_BYTES + MAC_BYTES, &footer, &flen, &body, &blen, why);
    if (st != PRD_OK)
        return st;
    const unsigned char *nonce = body, *c = body + NONCE_BYTES;
    size_t c_len = blen - NONCE_BYTES - MAC_BYTES;
    unsigned char ek[32], n2[24], ak[32], mac[MAC_BYTES];
    split_keys(prd__token_key_bytes(key), nonce, ek, n2, ak);
    st = local_mac(ak, nonce, c, c_len, footer, flen, implicit, implicit_len, mac);
    if (st == PRD_OK && sodium_memcmp(mac, c + c_len, MAC_BYTES) != 0) {
        st = PRD_EBADTOKEN;
        if (why)
            *why = "authentication failed (wrong key, implicit assertion or tampered token)";
    }
    unsigned char *plain = NULL;
    if (st == PRD_OK) {
        plain = prd__returned_alloc(c_len + 1);
        if (!plain)
            st = PRD_ENOMEM;
    }
    if (st == PRD_OK) {
        crypto_stream_xchacha20_xor(plain, c, c_len, n2, ek);
        plain[c_len] = '\0';
        *payload_out = plain;
        *payload_len = c_len;
        hand_over(footer, flen, footer_out, footer_len);
        footer = NULL;
    }
    sodium_memzero(ek, sizeof ek);
    sodium_memzero(ak, sizeof ak);
    prd__free_returned(footer);
    prd__free_returned(body);
    return st;
}

prd_status prd_token_v4_verify_signed(const prd_token_key *key, const char *token,
                                      size_t token_len, const void *expect_footer,
                                      size_t expect_footer_len, const void *implicit,
                                      size_t implicit_len, size_t max_size,
                                      unsigned char **payload_out, size_t *payload_len,
                                      unsigned char **footer_out, size_t *footer_len,
                                      const char **why)
{
    clear_outs(payload_out, payload_len, footer_out, footer_len, why);
    if (!key || key->kind == PRD_KEY_LOCAL || !token || !payload_out || !payload_len ||
        (implicit_len && !implicit) || (expect_footer_len && !expect_footer))
        return PRD_EINVAL;
    unsigned char *footer = NULL, *body = NULL;
    size_t flen = 0, blen = 0;
    prd_status st = open_body(token, token_len, PRD_TOKEN_PUBLIC, expect_footer, expect_footer_len,
                              max_size, SIG_BYTES, &footer, &flen, &body, &blen, why);
    if (st != PRD_OK)
        return st;
    size_t m_len = blen - SIG_BYTES;
    const struct piece pieces[] = {{HDR_PUBLIC, sizeof HDR_PUBLIC - 1},
                                   {body, m_len},
                                   {footer, flen},
                                   {implicit, implicit_len}};
    size_t m2_len;
    unsigned char *m2 = pae(pieces, 4, &m2_len);
    if (!m2) {
        st = PRD_ENOMEM;
    } else if (crypto_sign_verify_detached(body + m_len, m2, m2_len, key->pk) != 0) {
        st = PRD_EBADTOKEN;
        if (why)
            *why = "signature verification failed (wrong key, implicit assertion or tampered token)";
    }
    prd__free(m2);
    if (st == PRD_OK) {
        body[m_len] = '\0'; /* the signature is no longer needed */
        *payload_out = body;
        *payload_len = m_len;
        body = NULL;
        hand_over(footer, flen, footer_out, footer_len);
        footer = NULL;
    }
    prd__free_returned(footer);
    prd__free_returned(body);
    return st;
}
