/*
 * Argon2 PHC strings:
 *   $argon2{id,i,d}[$v=19|16]$m=M,t=T,p=P[,keyid=ID][,data=B64]$SALT$HASH
 * The parser is strict (docs/password.md): every deviation is PRD_EINVAL,
 * it never reads past the terminating NUL, and it allocates nothing.
 * Lenient only where the input is unambiguous: m, t and p in any order
 * (node-argon2 0.4x wrote m,p,t), and a missing v= meaning version 16, as
 * the reference decoder and Argon2's own v1.0 strings have it.
 */
#include "internal/common.h"
#include "internal/encoding.h"
#include "internal/password.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

struct cursor {
    const char *p;
    const char *end;
};

static int eat(struct cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* A decimal uint32 without sign or leading zeros. */
static int read_u32(struct cursor *c, uint32_t *out)
{
    const char *s = c->p;
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (uint64_t)(*c->p - '0');
        if (v > UINT32_MAX)
            return 0;
        c->p++;
    }
    size_t n = (size_t)(c->p - s);
    if (n == 0 || (n > 1 && s[0] == '0'))
        return 0;
    *out = (uint32_t)v;
    return 1;
}

/* The span up to the next ',' or '$' (or the end). */
static size_t span(const struct cursor *c)
{
    const char *q = c->p;
    while (q < c->end && *q != ',' && *q != '$')
        q++;
    return (size_t)(q - c->p);
}

/* Standard-alphabet base64 without padding, canonical (libsodium checks
 * the unused bits), decoded length within [min, max]. */
static int read_b64(struct cursor *c, size_t n, unsigned char *out, size_t min, size_t max,
                    size_t *len)
{
    size_t got = 0;
    if (n == 0 || n > (max * 4 + 2) / 3)
        return 0;
    if (!prd__b64std_decode(out, max, &got, c->p, n) || got < min || got > max)
        return 0;
    c->p += n;
    *len = got;
    return 1;
}

static int keyid_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '-' || ch == '+' || ch == '/';
}

static int read_params(struct cursor *c, struct prd__phc *out)
{
    int seen_m = 0, seen_t = 0, seen_p = 0;
    for (int i = 0; i < 3; i++) {
        if (i > 0 && !eat(c, ","))
            return 0;
        uint32_t *dst;
        int *seen;
        if (eat(c, "m="))
            dst = &out->m_kib, seen = &seen_m;
        else if (eat(c, "t="))
            dst = &out->t, seen = &seen_t;
        else if (eat(c, "p="))
            dst = &out->p, seen = &seen_p;
        else
            return 0;
        if (*seen || !read_u32(c, dst))
            return 0; /* duplicated or not a number */
        *seen = 1;
    }
    if (eat(c, ",keyid=")) {
        size_t n = span(c);
        if (n == 0 || n > PRD__KEYID_MAX)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!keyid_char(c->p[i]))
                return 0;
        memcpy(out->keyid, c->p, n);
        out->keyid[n] = '\0';
        c->p += n;
    }
    if (eat(c, ",data=")) {
        if (!read_b64(c, span(c), out->ad, 1, PRD__AD_MAX, &out->ad_len))
            return 0;
    }
    return 1;
}

static int argon2_limits_ok(const struct prd__phc *x)
{
    return x->t >= 1 && x->p >= 1 && x->p <= PRD__ARGON2_MAX_LANES && x->m_kib >= 8 &&
           (uint64_t)x->m_kib >= 8 * (uint64_t)x->p;
}

prd_status prd__phc_parse(const char *s, struct prd__phc *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return PRD_EINVAL;
    size_t len = strnlen(s, PRD_PASSWORD_PHC_MAX + 1);
    if (len > PRD_PASSWORD_PHC_MAX)
        return PRD_EINVAL;
    struct cursor c = {s, s + len};
    /* "argon2id" before "argon2i": the longer name must win. */
    if (eat(&c, "$argon2id$"))
        out->type = PRD__ARGON2ID;
    else if (eat(&c, "$argon2i$"))
        out->type = PRD__ARGON2I;
    else if (eat(&c, "$argon2d$"))
        out->type = PRD__ARGON2D;
    else
        return PRD_EINVAL;
    out->version = 0x10;
    if (eat(&c, "v=")) {
        uint32_t v;
        if (!read_u32(&c, &v) || (v != 0x10 && v != 0x13) || !eat(&c, "$"))
            return PRD_EINVAL;
        out->version = v;
    }
    if (!read_params(&c, out) || !eat(&c, "$"))
        return PRD_EINVAL;
    if (!read_b64(&c, span(&c), out->salt, PRD__SALT_MIN, PRD__SALT_MAX, &out->salt_len) ||
        !eat(&c, "$"))
        return PRD_EINVAL;
    if (!read_b64(&c, (size_t)(c.end - c.p), out->tag, PRD__TAG_MIN, PRD__TAG_MAX,
                  &out->tag_len) ||
        c.p != c.end)
        return PRD_EINVAL;
    if (!argon2_limits_ok(out))
        return PRD_EINVAL;
    return PRD_OK;
}

static const char *type_name(enum prd__argon2_type t)
{
    return t == PRD__ARGON2ID ? "argon2id" : t == PRD__ARGON2I ? "argon2i" : "argon2d";
}

size_t prd__phc_encode(const struct prd__phc *phc, char *out, size_t out_size)
{
    char salt[PRD_BASE64URL_SIZE(PRD__SALT_MAX)];
    char tag[PRD_BASE64URL_SIZE(PRD__TAG_MAX)];
    char ad[PRD_BASE64URL_SIZE(PRD__AD_MAX)];
    sodium_bin2base64(salt, sizeof salt, phc->salt, phc->salt_len,
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    sodium_bin2base64(tag, sizeof tag, phc->tag, phc->tag_len,
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    ad[0] = '\0';
    if (phc->ad_len)
        sodium_bin2base64(ad, sizeof ad, phc->ad, phc->ad_len,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    /* snprintf(NULL, 0, ...) measures: C99 7.19.6.5. */
    // cppcheck-suppress ctunullpointer
    int n = snprintf(out, out ? out_size : 0,
                     "$%s$v=%u$m=%u,t=%u,p=%u%s%s%s%s$%s$%s", type_name(phc->type),
                     (unsigned)phc->version, (unsigned)phc->m_kib, (unsigned)phc->t,
                     (unsigned)phc->p, phc->keyid[0] ? ",keyid=" : "", phc->keyid,
                     phc->ad_len ? ",data=" : "", ad, salt, tag);
    size_t need = n < 0 ? 0 : (size_t)n;
    if (out && out_size > 0 && out_size <= need)
        out[0] = '\0'; /* never leave a truncated hash that looks valid */
    return need;
}
