/* Claims builder and prd_token_issue: expiry is mandatory. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/token.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAX_TTL_NS (INT64_C(10) * 366 * 86400 * 1000000000)
#define NAME_MAX_LEN 64

struct prd_token_claims {
    json_t *obj;
    int64_t ttl_ns;  /* 0 when unset */
    int64_t exp_ns;  /* 0 when unset */
    int64_t nbf_ns;
    int has_nbf;
};

prd_status prd_token_claims_new(prd_token_claims **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    prd_token_claims *c = prd__calloc(1, sizeof *c);
    if (!c)
        return PRD_ENOMEM;
    c->obj = json_object();
    if (!c->obj) {
        prd__free(c);
        return PRD_ENOMEM;
    }
    *out = c;
    return PRD_OK;
}

void prd_token_claims_free(prd_token_claims *claims)
{
    if (!claims)
        return;
    json_decref(claims->obj);
    prd__free(claims);
}

prd_status prd_token_claims_set_ttl(prd_token_claims *claims, int64_t ttl_ms)
{
    if (!claims || ttl_ms < 1 || ttl_ms > MAX_TTL_NS / 1000000)
        return PRD_EINVAL;
    claims->ttl_ns = ttl_ms * 1000000;
    claims->exp_ns = 0;
    return PRD_OK;
}

prd_status prd_token_claims_set_expiry(prd_token_claims *claims, int64_t unix_ns)
{
    char probe[PRD_RFC3339_SIZE];
    if (!claims || prd_rfc3339_format(unix_ns, 0, probe, sizeof probe) == 0)
        return PRD_EINVAL;
    claims->exp_ns = unix_ns;
    claims->ttl_ns = 0;
    return PRD_OK;
}

prd_status prd_token_claims_set_not_before(prd_token_claims *claims, int64_t unix_ns)
{
    char probe[PRD_RFC3339_SIZE];
    if (!claims || prd_rfc3339_format(unix_ns, 0, probe, sizeof probe) == 0)
        return PRD_EINVAL;
    claims->nbf_ns = unix_ns;
    claims->has_nbf = 1;
    return PRD_OK;
}

static int name_ok(const char *name)
{
    if (!name)
        return 0;
    size_t n = strnlen(name, NAME_MAX_LEN + 1);
    if (n == 0 || n > NAME_MAX_LEN)
        return 0;
    return strcmp(name, "exp") != 0 && strcmp(name, "nbf") != 0 && strcmp(name, "iat") != 0;
}

prd_status prd__token_claims_set_value(prd_token_claims *claims, const char *name, json_t *value)
{
    if (!claims || !name_ok(name) || !value)
        return PRD_EINVAL;
    return json_object_set(claims->obj, name, value) == 0 ? PRD_OK : PRD_ENOMEM;
}

prd_status prd_token_claims_set_json_text(prd_token_claims *claims, const char *name,
                                          const char *json, size_t len)
{
    if (!claims || !name_ok(name) || !json)
        return PRD_EINVAL;
    json_error_t err;
    /* No \u0000 in strings (jansson's default): a claim a C consumer would
     * cut short is not one we sign. */
    json_t *v = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (!v)
        return json_error_code(&err) == json_error_out_of_memory ? PRD_ENOMEM : PRD_EINVAL;
    return json_object_set_new(claims->obj, name, v) == 0 ? PRD_OK : PRD_ENOMEM;
}

prd_status prd_token_claims_set_string(prd_token_claims *claims, const char *name,
                                       const char *value)
{
    if (!claims || !name_ok(name) || !value)
        return PRD_EINVAL;
    json_t *v = json_string(value); /* NULL for invalid UTF-8 */
    if (!v)
        return PRD_EINVAL;
    prd_status st = json_object_set_new(claims->obj, name, v) == 0 ? PRD_OK : PRD_ENOMEM;
    return st;
}

prd_status prd_token_claims_set_int(prd_token_claims *claims, const char *name, int64_t value)
{
    if (!claims || !name_ok(name))
        return PRD_EINVAL;
    json_t *v = json_integer((json_int_t)value);
    if (!v)
        return PRD_ENOMEM;
    return json_object_set_new(claims->obj, name, v) == 0 ? PRD_OK : PRD_ENOMEM;
}

/*
 * The payload: the caller's claims, then iat, exp, nbf and jti. The
 * caller's object is serialized by jansson once and our fields are
 * appended as text: copying the object and adding three json_t values
 * cost more than the XChaCha20 of the whole token (perf, bench_token).
 * Our fields are RFC 3339 times and base64url, which need no escaping.
 */
static prd_status build_payload(const prd_token_claims *claims, int64_t now,
                                const unsigned char jti_rnd[16], char **out, size_t *len)
{
    int64_t exp = claims->ttl_ns ? now + claims->ttl_ns : claims->exp_ns;
    if (exp == 0 && !claims->ttl_ns)
        return PRD_EINVAL; /* no expiry: tokens that never expire cannot be made */
    if (exp <= now)
        return PRD_EINVAL;
    if (exp - now > MAX_TTL_NS) /* set_expiry's, by the issuing clock: set_ttl's ceiling */
        return PRD_EINVAL;
    char iat_s[PRD_RFC3339_SIZE], exp_s[PRD_RFC3339_SIZE], nbf_s[PRD_RFC3339_SIZE];
    char jti[PRD_BASE64URL_SIZE(16)];
    if (!prd_rfc3339_format(now, 0, iat_s, sizeof iat_s) ||
        !prd_rfc3339_format(exp, 0, exp_s, sizeof exp_s) ||
        (claims->has_nbf && !prd_rfc3339_format(claims->nbf_ns, 0, nbf_s, sizeof nbf_s)))
        return PRD_EINVAL;
    int own_jti = json_object_get(claims->obj, "jti") == NULL;
    if (own_jti)
        prd_base64url_encode(jti, sizeof jti, jti_rnd, 16);
    char *user = json_dumps(claims->obj, JSON_COMPACT);
    if (!user)
        return PRD_ENOMEM;
    size_t ulen = strlen(user); /* "{...}" */
    size_t cap = ulen + 160;
    char *text = malloc(cap);
    if (!text) {
        free(user);
        return PRD_ENOMEM;
    }
    memcpy(text, user, ulen - 1); /* without the closing brace */
    size_t n = ulen - 1;
    const char *sep = ulen > 2 ? "," : "";
    n += (size_t)snprintf(text + n, cap - n, "%s\"iat\":\"%s\",\"exp\":\"%s\"", sep, iat_s, exp_s);
    if (claims->has_nbf)
        n += (size_t)snprintf(text + n, cap - n, ",\"nbf\":\"%s\"", nbf_s);
    if (own_jti)
        n += (size_t)snprintf(text + n, cap - n, ",\"jti\":\"%s\"", jti);
    text[n++] = '}';
    text[n] = '\0';
    sodium_memzero(user, ulen);
    free(user);
    *out = text;
    *len = n;
    return PRD_OK;
}

prd_status prd_token_claims_payload(const prd_token_claims *claims, const prd_clock *clock,
                                    char **out)
{
    if (out)
        *out = NULL;
    if (!claims || !out)
        return PRD_EINVAL;
    char *text = NULL;
    size_t len = 0;
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    prd_status st = build_payload(claims, prd_clock_wall_ns(clock), rnd, &text, &len);
    if (st != PRD_OK)
        return st;
    char *copy = prd__returned_alloc(len + 1);
    if (copy)
        memcpy(copy, text, len + 1);
    sodium_memzero(text, len);
    free(text);
    if (!copy)
        return PRD_ENOMEM;
    *out = copy;
    return PRD_OK;
}

static prd_status build_footer(const char *kid, json_t *extra, char **out, size_t *len)
{
    if (extra && (!json_is_object(extra) || json_object_get(extra, "kid")))
        return PRD_EINVAL;
    json_t *f = extra ? json_copy(extra) : json_object();
    if (!f)
        return PRD_ENOMEM;
    char *text = NULL;
    if (json_object_set_new(f, "kid", json_string(kid)) == 0)
        text = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    if (!text)
        return PRD_ENOMEM;
    if (!prd__token_footer_parsable((const unsigned char *)text, strlen(text))) {
        free(text); /* jansson's allocator */
        return PRD_ETOOBIG;
    }
    *out = text;
    *len = strlen(text);
    return PRD_OK;
}

prd_status prd_token_issue(const prd_keyring *ring, prd_token_purpose purpose,
                           const prd_token_claims *claims, const char *footer_extra,
                           size_t footer_extra_len, const void *implicit, size_t implicit_len,
                           const prd_clock *clock, char **out)
{
    if (out)
        *out = NULL;
    if (!footer_extra) {
        if (footer_extra_len)
            return PRD_EINVAL;
        return prd__token_issue(ring, purpose, claims, NULL, implicit, implicit_len, clock, out);
    }
    /* The footer that comes out must fit PRD__FOOTER_MAX: longer text
     * never will, and is not worth parsing. */
    if (footer_extra_len > PRD__FOOTER_MAX)
        return PRD_ETOOBIG;
    json_error_t err;
    json_t *extra = json_loadb(footer_extra, footer_extra_len, JSON_REJECT_DUPLICATES, &err);
    if (!extra)
        return json_error_code(&err) == json_error_out_of_memory ? PRD_ENOMEM : PRD_EINVAL;
    prd_status st = prd__token_issue(ring, purpose, claims, extra, implicit, implicit_len, clock,
                                     out);
    json_decref(extra);
    return st;
}

prd_status prd__token_issue(const prd_keyring *ring, prd_token_purpose purpose,
                            const prd_token_claims *claims, json_t *footer_extra,
                            const void *implicit, size_t implicit_len, const prd_clock *clock,
                            char **out)
{
    if (out)
        *out = NULL;
    if (!ring || !claims || !out || (implicit_len && !implicit) ||
        (purpose != PRD_TOKEN_LOCAL && purpose != PRD_TOKEN_PUBLIC))
        return PRD_EINVAL;
    char *payload = NULL, *footer = NULL;
    size_t plen = 0, flen = 0;
    /* One draw from the system RNG for the nonce and the jti: getrandom()
     * was 13% of issuing in perf (bench/bench_token.c). */
    unsigned char rnd[32 + 16];
    randombytes_buf(rnd, sizeof rnd);
    prd_status st = build_payload(claims, prd_clock_wall_ns(clock), rnd + 32, &payload, &plen);
    if (st != PRD_OK)
        return st;
    prd__keyring_rdlock(ring);
    const char *kid = NULL;
    const prd_token_key *key = prd__keyring_current(ring, purpose, &kid);
    st = key ? build_footer(kid, footer_extra, &footer, &flen) : PRD_EINVAL;
    if (st == PRD_OK)
        st = purpose == PRD_TOKEN_LOCAL
                 ? prd__v4_encrypt_with_nonce(key, rnd, payload, plen, footer, flen, implicit,
                                              implicit_len, out)
                 : prd_token_v4_sign(key, payload, plen, footer, flen, implicit, implicit_len, out);
    prd__keyring_unlock(ring);
    sodium_memzero(payload, plen);
    free(payload); /* jansson's allocator */
    free(footer);
    return st;
}
