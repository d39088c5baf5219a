/* PASETO v4 keys and their PASERK forms (k4.local, k4.public, k4.secret,
 * k4.lid, k4.pid, k4.sid). */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/secret.h"
#include "internal/token.h"

#include <string.h>

#include <sodium.h>

struct kind_info {
    prd_key_kind kind;
    const char *prefix;    /* PASERK header */
    const char *id_prefix; /* identifier header */
    size_t bytes;          /* serialized key length */
};

static const struct kind_info kinds[] = {
    {PRD_KEY_LOCAL, "k4.local.", "k4.lid.", PRD__LOCAL_KEY_BYTES},
    {PRD_KEY_PUBLIC, "k4.public.", "k4.pid.", PRD__PUBLIC_KEY_BYTES},
    {PRD_KEY_SECRET, "k4.secret.", "k4.sid.", PRD__SECRET_KEY_BYTES},
};

static const struct kind_info *info_of(prd_key_kind kind)
{
    for (size_t i = 0; i < PRD_ARRAY_LEN(kinds); i++)
        if (kinds[i].kind == kind)
            return &kinds[i];
    return NULL;
}

const unsigned char *prd__token_key_bytes(const prd_token_key *key)
{
    return key ? prd__secret_data(key->material) : NULL;
}

void prd_token_key_free(prd_token_key *key)
{
    if (!key)
        return;
    prd_secret_free(key->material);
    prd__free(key);
}

prd_key_kind prd_token_key_kind(const prd_token_key *key)
{
    return key ? key->kind : (prd_key_kind)0;
}

/* Build a key from validated raw bytes; for a secret key, len may be the
 * 32-byte seed or seed || public, and the public half must match. */
static prd_status make_key(prd_key_kind kind, const unsigned char *bytes, size_t len,
                           prd_token_key **out)
{
    prd_token_key *k = prd__calloc(1, sizeof *k);
    if (!k)
        return PRD_ENOMEM;
    k->kind = kind;
    prd_status st = PRD_OK;
    if (kind == PRD_KEY_PUBLIC) {
        memcpy(k->pk, bytes, PRD__PUBLIC_KEY_BYTES);
    } else if (kind == PRD_KEY_LOCAL) {
        st = prd_secret_from_bytes(bytes, PRD__LOCAL_KEY_BYTES, &k->material);
    } else {
        unsigned char *sk = prd__secure_malloc(crypto_sign_SECRETKEYBYTES);
        if (!sk) {
            prd__free(k);
            return PRD_ENOMEM;
        }
        crypto_sign_seed_keypair(k->pk, sk, bytes);
        if (len == PRD__SECRET_KEY_BYTES &&
            sodium_memcmp(k->pk, bytes + crypto_sign_SEEDBYTES, PRD__PUBLIC_KEY_BYTES) != 0) {
            prd__secure_free(sk);
            prd__free(k);
            return PRD_EINVAL;
        }
        st = prd__secret_adopt(sk, crypto_sign_SECRETKEYBYTES, &k->material);
    }
    if (st != PRD_OK) {
        prd__free(k);
        return st;
    }
    *out = k;
    return PRD_OK;
}

prd_status prd_token_key_from_bytes(prd_key_kind kind, const void *bytes, size_t len,
                                    prd_token_key **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    const struct kind_info *info = info_of(kind);
    if (!info || !bytes)
        return PRD_EINVAL;
    int ok = len == info->bytes || (kind == PRD_KEY_SECRET && len == crypto_sign_SEEDBYTES);
    if (!ok)
        return PRD_EINVAL;
    return make_key(kind, bytes, len, out);
}

prd_status prd_token_key_generate(prd_key_kind kind, prd_token_key **out)
{
    unsigned char seed[32];
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    if (kind != PRD_KEY_LOCAL && kind != PRD_KEY_SECRET)
        return PRD_EINVAL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    randombytes_buf(seed, sizeof seed);
    st = make_key(kind, seed, sizeof seed, out);
    sodium_memzero(seed, sizeof seed);
    return st;
}

/* Decode a fixed-length key from text into stack memory that is wiped. */
static prd_status from_text(prd_key_kind kind, const char *text, size_t text_len, int hex,
                            prd_token_key **out)
{
    unsigned char raw[PRD__SECRET_KEY_BYTES];
    size_t n = 0;
    const struct kind_info *info = info_of(kind);
    if (!info)
        return PRD_EINVAL;
    prd_status st = hex ? prd_hex_decode(raw, sizeof raw, &n, text, text_len)
                        : prd_base64url_decode(raw, sizeof raw, &n, text, text_len);
    if (st == PRD_OK && n != info->bytes)
        st = PRD_EINVAL;
    if (st == PRD_OK)
        st = make_key(kind, raw, n, out);
    sodium_memzero(raw, sizeof raw);
    return st == PRD_ENOSPACE ? PRD_EINVAL : st;
}

prd_status prd_token_key_from_hex(prd_key_kind kind, const char *hex, prd_token_key **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    if (!hex)
        return PRD_EINVAL;
    return from_text(kind, hex, strnlen(hex, 2 * PRD__SECRET_KEY_BYTES + 1), 1, out);
}

prd_status prd_token_key_from_paserk(const char *paserk, prd_token_key **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    if (!paserk)
        return PRD_EINVAL;
    size_t len = strnlen(paserk, PRD_PASERK_SIZE);
    if (len >= PRD_PASERK_SIZE)
        return PRD_EINVAL;
    for (size_t i = 0; i < PRD_ARRAY_LEN(kinds); i++) {
        size_t plen = strlen(kinds[i].prefix);
        if (len > plen && memcmp(paserk, kinds[i].prefix, plen) == 0)
            return from_text(kinds[i].kind, paserk + plen, len - plen, 0, out);
    }
    return PRD_EINVAL;
}

prd_status prd_token_key_public(const prd_token_key *key, prd_token_key **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    if (!key || key->kind == PRD_KEY_LOCAL)
        return PRD_EINVAL;
    return make_key(PRD_KEY_PUBLIC, key->pk, sizeof key->pk, out);
}

/* Write prefix || base64url(bytes) with snprintf rules. */
static size_t write_prefixed(char *out, size_t out_size, const char *prefix,
                             const unsigned char *bytes, size_t len)
{
    size_t plen = strlen(prefix);
    size_t need = plen + PRD_BASE64URL_LEN(len);
    if (!out || out_size <= need) {
        if (out && out_size > 0)
            out[0] = '\0';
        return need;
    }
    memcpy(out, prefix, plen);
    prd_base64url_encode(out + plen, out_size - plen, bytes, len);
    return need;
}

static const unsigned char *serialized(const prd_token_key *key)
{
    return key->kind == PRD_KEY_PUBLIC ? key->pk : prd__secret_data(key->material);
}

size_t prd_token_key_paserk(const prd_token_key *key, char *out, size_t out_size)
{
    const struct kind_info *info = key ? info_of(key->kind) : NULL;
    if (!info)
        return 0;
    return write_prefixed(out, out_size, info->prefix, serialized(key), info->bytes);
}

size_t prd_token_key_id(const prd_token_key *key, char *out, size_t out_size)
{
    /* PASERK ids: h || base64url(BLAKE2b-264(h || PASERK(key))). */
    char paserk[PRD_PASERK_SIZE];
    unsigned char digest[33];
    const struct kind_info *info = key ? info_of(key->kind) : NULL;
    if (!info)
        return 0;
    size_t plen = prd_token_key_paserk(key, paserk, sizeof paserk);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof digest);
    crypto_generichash_update(&st, (const unsigned char *)info->id_prefix,
                              strlen(info->id_prefix));
    crypto_generichash_update(&st, (const unsigned char *)paserk, plen);
    crypto_generichash_final(&st, digest, sizeof digest);
    sodium_memzero(paserk, sizeof paserk);
    sodium_memzero(&st, sizeof st);
    return write_prefixed(out, out_size, info->id_prefix, digest, sizeof digest);
}

prd_status prd__token_key_dup(const prd_token_key *key, prd_token_key **out)
{
    const struct kind_info *info = key ? info_of(key->kind) : NULL;
    if (!info || !out)
        return PRD_EINVAL;
    return make_key(key->kind, serialized(key), info->bytes, out);
}

size_t prd_paserk_size(void) { return PRD_PASERK_SIZE; }
size_t prd_paserk_id_size(void) { return PRD_PASERK_ID_SIZE; }
