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
    char probe[PRD_RFC3339_MAX + 1];
    if (!claims || prd_rfc3339_format(unix_ns, 0, probe, sizeof probe) == 0)
        return PRD_EINVAL;
    claims->exp_ns = unix_ns;
    claims->ttl_ns = 0;
    return PRD_OK;
}

prd_status prd_token_claims_set_not_before(prd_token_claims *claims, int64_t unix_ns)
{
    char probe[PRD_RFC3339_MAX + 1];
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

prd_status prd_token_claims_set_json(prd_token_claims *claims, const char *name, json_t *value)
{
    if (!claims || !name_ok(name) || !value)
        return PRD_EINVAL;
    return json_object_set(claims->obj, name, value) == 0 ? PRD_OK : PRD_ENOMEM;
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

static int set_time(json_t *obj, const char *name, int64_t ns)
{
    char buf[PRD_RFC3339_MAX + 1];
    if (prd_rfc3339_format(ns, 0, buf, sizeof buf) == 0)
        return -1;
    return json_object_set_new(obj, name, json_string(buf));
}

/* The payload: the caller's claims plus iat, exp, nbf and jti. */
static prd_status build_payload(const prd_token_claims *claims, int64_t now, char **out,
                                size_t *len)
{
    int64_t exp = claims->ttl_ns ? now + claims->ttl_ns : claims->exp_ns;
    if (exp == 0 && !claims->ttl_ns)
        return PRD_EINVAL; /* no expiry: tokens that never expire cannot be made */
    if (exp <= now)
        return PRD_EINVAL;
    json_t *p = json_copy(claims->obj);
    if (!p)
        return PRD_ENOMEM;
    int rc = set_time(p, "iat", now) | set_time(p, "exp", exp);
    if (claims->has_nbf)
        rc |= set_time(p, "nbf", claims->nbf_ns);
    if (!json_object_get(p, "jti")) {
        unsigned char rnd[16];
        char jti[PRD_BASE64URL_LEN(16) + 1];
        randombytes_buf(rnd, sizeof rnd);
        prd_base64url_encode(jti, sizeof jti, rnd, sizeof rnd);
        rc |= json_object_set_new(p, "jti", json_string(jti));
    }
    char *text = rc == 0 ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!text)
        return PRD_ENOMEM;
    *out = text;
    *len = strlen(text);
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
    prd_status st = build_payload(claims, prd_clock_wall_ns(clock), &text, &len);
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
    *out = text;
    *len = strlen(text);
    return PRD_OK;
}

prd_status prd_token_issue(const prd_keyring *ring, prd_token_purpose purpose,
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
    prd_status st = build_payload(claims, prd_clock_wall_ns(clock), &payload, &plen);
    if (st != PRD_OK)
        return st;
    prd__keyring_rdlock(ring);
    const char *kid = NULL;
    const prd_token_key *key = prd__keyring_current(ring, purpose, &kid);
    st = key ? build_footer(kid, footer_extra, &footer, &flen) : PRD_EINVAL;
    if (st == PRD_OK)
        st = purpose == PRD_TOKEN_LOCAL
                 ? prd_token_v4_encrypt(key, payload, plen, footer, flen, implicit, implicit_len, out)
                 : prd_token_v4_sign(key, payload, plen, footer, flen, implicit, implicit_len, out);
    prd__keyring_unlock(ring);
    sodium_memzero(payload, plen);
    free(payload); /* jansson's allocator */
    free(footer);
    return st;
}
