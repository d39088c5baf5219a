/* prd_token_verifier and prd_token_verify: cryptography first, then the
 * claims, with expiry mandatory. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/token.h"

#include <stdlib.h>
#include <string.h>

#define LIST_MAX 16
#define FOOTER_MAX PRD__FOOTER_MAX /* decoded bytes parsed before verification */
#define FOOTER_MAX_DEPTH 4  /* JSON nesting allowed in such a footer */
#define DAY_NS (INT64_C(86400) * 1000000000)

struct prd_token_verifier {
    const prd_keyring *ring;
    prd_token_purpose purpose;
    int64_t exp_leeway_ns, nbf_leeway_ns;
    char *iss;
    char *aud[LIST_MAX];
    size_t n_aud;
    char *required[LIST_MAX];
    size_t n_required;
    size_t max_size;
    unsigned char *footer;
    size_t footer_len;
    int has_footer;
    const prd_clock *clock;
    prd_token_revocations *revocations;
};

struct prd_token_verified {
    unsigned char *payload;
    size_t payload_len;
    unsigned char *footer;
    size_t footer_len;
    json_t *claims;
    int64_t exp_ns;
};

prd_status prd_token_verifier_new(const prd_keyring *ring, prd_token_purpose purpose,
                                  prd_token_verifier **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    if (!ring || (purpose != PRD_TOKEN_LOCAL && purpose != PRD_TOKEN_PUBLIC))
        return PRD_EINVAL;
    prd_token_verifier *v = prd__calloc(1, sizeof *v);
    if (!v)
        return PRD_ENOMEM;
    v->ring = ring;
    v->purpose = purpose;
    v->exp_leeway_ns = v->nbf_leeway_ns = INT64_C(30) * 1000000000;
    v->max_size = PRD_TOKEN_DEFAULT_MAX_LEN;
    *out = v;
    return PRD_OK;
}

void prd_token_verifier_free(prd_token_verifier *v)
{
    if (!v)
        return;
    prd__free(v->iss);
    for (size_t i = 0; i < v->n_aud; i++)
        prd__free(v->aud[i]);
    for (size_t i = 0; i < v->n_required; i++)
        prd__free(v->required[i]);
    prd__free(v->footer);
    prd__free(v);
}

prd_status prd_token_verifier_set_leeway(prd_token_verifier *v, int64_t exp_ms, int64_t nbf_ms)
{
    if (!v || exp_ms < 0 || nbf_ms < 0 || exp_ms > DAY_NS / 1000000 || nbf_ms > DAY_NS / 1000000)
        return PRD_EINVAL;
    v->exp_leeway_ns = exp_ms * 1000000;
    v->nbf_leeway_ns = nbf_ms * 1000000;
    return PRD_OK;
}

static prd_status add_string(char **list, size_t *n, const char *s)
{
    if (!s || !*s || strlen(s) > 1024)
        return PRD_EINVAL;
    if (*n == LIST_MAX)
        return PRD_ETOOBIG;
    char *d = prd__strdup(s);
    if (!d)
        return PRD_ENOMEM;
    list[(*n)++] = d;
    return PRD_OK;
}

prd_status prd_token_verifier_set_issuer(prd_token_verifier *v, const char *iss)
{
    if (!v || !iss || !*iss)
        return PRD_EINVAL;
    char *d = prd__strdup(iss);
    if (!d)
        return PRD_ENOMEM;
    prd__free(v->iss);
    v->iss = d;
    return PRD_OK;
}

prd_status prd_token_verifier_add_audience(prd_token_verifier *v, const char *aud)
{
    return v ? add_string(v->aud, &v->n_aud, aud) : PRD_EINVAL;
}

prd_status prd_token_verifier_require_claim(prd_token_verifier *v, const char *name)
{
    return v ? add_string(v->required, &v->n_required, name) : PRD_EINVAL;
}

prd_status prd_token_verifier_set_max_size(prd_token_verifier *v, size_t max_size)
{
    if (!v || max_size < 64 || max_size > PRD_TOKEN_ABSOLUTE_MAX_LEN)
        return PRD_EINVAL;
    v->max_size = max_size;
    return PRD_OK;
}

prd_status prd_token_verifier_set_footer(prd_token_verifier *v, const void *footer, size_t len)
{
    if (!v || (len && !footer) || len > PRD_TOKEN_ABSOLUTE_MAX_LEN)
        return PRD_EINVAL;
    unsigned char *d = prd__malloc(len + 1);
    if (!d)
        return PRD_ENOMEM;
    if (len)
        memcpy(d, footer, len);
    prd__free(v->footer);
    v->footer = d;
    v->footer_len = len;
    v->has_footer = 1;
    return PRD_OK;
}

prd_status prd_token_verifier_set_clock(prd_token_verifier *v, const prd_clock *clock)
{
    if (!v)
        return PRD_EINVAL;
    v->clock = clock;
    return PRD_OK;
}

prd_status prd_token_verifier_set_revocations(prd_token_verifier *v, prd_token_revocations *list)
{
    if (!v)
        return PRD_EINVAL;
    v->revocations = list;
    return PRD_OK;
}

#define REJECT(reason)                                                                           \
    do {                                                                                         \
        if (why)                                                                                 \
            *why = (reason);                                                                     \
        return PRD_EBADTOKEN;                                                                    \
    } while (0)

/* Nesting depth of JSON text, counted outside strings, stopping early. */
static int json_depth_ok(const unsigned char *s, size_t n, int max);

int prd__token_footer_parsable(const unsigned char *footer, size_t len)
{
    return len <= FOOTER_MAX && json_depth_ok(footer, len, FOOTER_MAX_DEPTH);
}

static int json_depth_ok(const unsigned char *s, size_t n, int max)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

/*
 * The kid from an untrusted footer: only a small JSON object of bounded
 * depth is parsed; anything else that claims to be JSON is refused, and a
 * footer that is not JSON at all (the spec allows any bytes) has no kid.
 * *kid points into the returned json_t (or is NULL).
 */
static prd_status footer_kid(const unsigned char *footer, size_t len, json_t **holder,
                             const char **kid, const char **why)
{
    *holder = NULL;
    *kid = NULL;
    if (len == 0 || footer[0] != '{')
        return PRD_OK;
    if (len > FOOTER_MAX)
        REJECT("footer larger than the limit for parsing");
    if (!json_depth_ok(footer, len, FOOTER_MAX_DEPTH))
        REJECT("footer JSON nested too deeply");
    json_t *f = json_loadb((const char *)footer, len, JSON_REJECT_DUPLICATES, NULL);
    if (!f || !json_is_object(f)) {
        json_decref(f);
        REJECT("footer is not a valid JSON object");
    }
    json_t *k = json_object_get(f, "kid");
    if (k && !json_is_string(k)) {
        json_decref(f);
        REJECT("footer kid is not a string");
    }
    *holder = f;
    *kid = k ? json_string_value(k) : NULL;
    return PRD_OK;
}

/* A time claim: absent (0), or an RFC 3339 string (1); -1 malformed. */
static int time_claim(json_t *claims, const char *name, int64_t *ns)
{
    json_t *v = json_object_get(claims, name);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return -1;
    return prd_rfc3339_parse(json_string_value(v), json_string_length(v), ns) == PRD_OK ? 1 : -1;
}

static int audience_ok(const prd_token_verifier *v, json_t *aud)
{
    if (v->n_aud == 0)
        return 1;
    for (size_t i = 0; i < v->n_aud; i++) {
        if (json_is_string(aud) && strcmp(json_string_value(aud), v->aud[i]) == 0)
            return 1;
        if (json_is_array(aud)) {
            size_t j;
            json_t *x;
            json_array_foreach(aud, j, x) {
                if (json_is_string(x) && strcmp(json_string_value(x), v->aud[i]) == 0)
                    return 1;
            }
        }
    }
    return 0;
}

static prd_status check_claims(const prd_token_verifier *v, json_t *c, int64_t *exp_out,
                               const char **why)
{
    int64_t now = prd_clock_wall_ns(v->clock), exp = 0, nbf = 0, iat = 0;
    int has_exp = time_claim(c, "exp", &exp);
    int has_nbf = time_claim(c, "nbf", &nbf);
    int has_iat = time_claim(c, "iat", &iat);
    if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
        REJECT("exp, nbf or iat is not an RFC 3339 string");
    if (!has_exp)
        REJECT("no exp claim: tokens must expire");
    /* Written as subtractions from now: exp near the end of time must not overflow. */
    if (now - v->exp_leeway_ns >= exp) {
        if (why)
            *why = "expired";
        return PRD_EEXPIRED;
    }
    if ((has_nbf && now + v->nbf_leeway_ns < nbf) || (has_iat && now + v->nbf_leeway_ns < iat)) {
        if (why)
            *why = "not valid yet";
        return PRD_ENOTYET;
    }
    if (v->iss) {
        json_t *iss = json_object_get(c, "iss");
        if (!json_is_string(iss) || strcmp(json_string_value(iss), v->iss) != 0)
            REJECT("issuer does not match");
    }
    if (!audience_ok(v, json_object_get(c, "aud")))
        REJECT("audience does not match");
    for (size_t i = 0; i < v->n_required; i++)
        if (!json_object_get(c, v->required[i]))
            REJECT("a required claim is missing");
    if (v->revocations) {
        json_t *jti = json_object_get(c, "jti");
        if (!json_is_string(jti) || json_string_length(jti) == 0 ||
            json_string_length(jti) > PRD_TOKEN_JTI_MAX)
            REJECT("no jti to look up in the revocation list");
        prd_status st = prd_token_jti_check(v->revocations, json_string_value(jti));
        if (st == PRD_EBADTOKEN)
            REJECT("revoked");
        if (st != PRD_OK) {
            if (why)
                *why = "the revocation list is not current";
            return st;
        }
    }
    *exp_out = exp;
    return PRD_OK;
}

void prd_token_verified_free(prd_token_verified *r)
{
    if (!r)
        return;
    prd__free_returned(r->payload);
    prd__free_returned(r->footer);
    json_decref(r->claims);
    prd__free(r);
}

prd_status prd_token_verify(const prd_token_verifier *v, const char *token, size_t token_len,
                            const void *implicit, size_t implicit_len, prd_token_verified **out,
                            const char **why)
{
    if (out)
        *out = NULL;
    if (why)
        *why = NULL;
    if (!v || !token || !out || (implicit_len && !implicit))
        return PRD_EINVAL;
    if (token_len > v->max_size)
        REJECT("token larger than the size limit");
    struct prd__token_parts parts;
    prd_status st = prd__token_split(token, token_len, &parts, why);
    if (st != PRD_OK)
        return st;
    if (parts.purpose != v->purpose)
        REJECT("wrong purpose (v4.local vs v4.public)");
    unsigned char *footer = NULL;
    size_t flen = 0;
    json_t *footer_json = NULL;
    const char *kid = NULL;
    st = prd__token_footer(&parts, &footer, &flen, why);
    if (st == PRD_OK && !v->has_footer)
        st = footer_kid(footer, flen, &footer_json, &kid, why);
    prd__free_returned(footer);
    if (st != PRD_OK)
        return st;

    prd_token_verified *r = prd__calloc(1, sizeof *r);
    if (!r) {
        json_decref(footer_json);
        return PRD_ENOMEM;
    }
    prd__keyring_rdlock(v->ring);
    const prd_token_key *key = prd__keyring_find(v->ring, v->purpose, kid);
    json_decref(footer_json);
    const void *expect = v->has_footer ? v->footer : NULL;
    if (!key) {
        st = PRD_EBADTOKEN;
        if (why)
            *why = "no key for this token's key id";
    } else if (v->purpose == PRD_TOKEN_LOCAL) {
        st = prd_token_v4_decrypt(key, token, token_len, expect, v->footer_len, implicit,
                                  implicit_len, v->max_size, &r->payload, &r->payload_len,
                                  &r->footer, &r->footer_len, why);
    } else {
        st = prd_token_v4_verify_signed(key, token, token_len, expect, v->footer_len, implicit,
                                        implicit_len, v->max_size, &r->payload, &r->payload_len,
                                        &r->footer, &r->footer_len, why);
    }
    prd__keyring_unlock(v->ring);
    if (st == PRD_OK) {
        r->claims = json_loadb((const char *)r->payload, r->payload_len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(r->claims)) {
            st = PRD_EBADTOKEN;
            if (why)
                *why = "payload is not a JSON object without duplicate keys";
        }
    }
    if (st == PRD_OK)
        st = check_claims(v, r->claims, &r->exp_ns, why);
    if (st != PRD_OK) {
        prd_token_verified_free(r);
        return st;
    }
    *out = r;
    return PRD_OK;
}

const char *prd_token_verified_claims_text(const prd_token_verified *r)
{
    return r ? (const char *)r->payload : NULL;
}

json_t *prd__token_verified_claims(const prd_token_verified *r)
{
    return r ? r->claims : NULL;
}

const char *prd_token_verified_footer(const prd_token_verified *r, size_t *len)
{
    if (len)
        *len = r ? r->footer_len : 0;
    return r ? (const char *)r->footer : NULL;
}

int64_t prd_token_verified_expiry(const prd_token_verified *r)
{
    return r ? r->exp_ns : 0;
}
