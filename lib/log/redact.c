/*
 * Redaction for log lines: rules by key name and dotted path, and a
 * scanner for secret-shaped values inside any string (docs/log.md).
 * Over-redaction is the safe failure: ambiguous short key names match
 * exactly, distinctive ones match anywhere in the key ("db_password",
 * "X-Api-Key"), and value patterns err towards hiding.
 */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/log.h"
#include "internal/opaque.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define CENSOR "[REDACTED]"

/* Normalized: lowercase; '-', '_' and spaces removed. */
static const char *const exact_keys[] = {"pwd", "pass", "auth", "cc", "cvv", "cvc", "ssn", "pin",
                                         "session", "otp", "mfa", "jwt"};
static const char *const contained_keys[] = {
    "password", "passwd", "passphrase", "secret", "token", "apikey", "authorization",
    "cookie", "privatekey", "privkey", "sessionid", "creditcard", "cardnumber", "credential",
    "signingkey", "encryptionkey", "accesskey", "bearer",
};

static size_t normalize(const char *in, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        char c = in[i];
        if (c == '-' || c == '_' || c == ' ')
            continue;
        out[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[k] = '\0';
    return k;
}

void prd__redact_defaults(struct prd__redact *r)
{
    memset(r, 0, sizeof *r);
    r->enabled = 1;
    r->mode = PRD_REDACT_CENSOR;
}

void prd__redact_release(struct prd__redact *r)
{
    prd__free(r->patterns);
    sodium_memzero(r, sizeof *r);
}

static const char *const rule_names[PRD__RULE_BUILTIN] = {
    [PRD__RULE_NONE] = "none",
    [PRD__RULE_SECRET_KEY] = "secret_key",
    [PRD__RULE_USER_KEY] = "user_key",
    [PRD__RULE_USER_PATH] = "user_path",
    [PRD__RULE_ALLOWLIST] = "allowlist",
    [PRD__RULE_SECRET_FIELD] = "secret_field",
    [PRD__RULE_AUTH_SCHEME] = "auth_scheme",
    [PRD__RULE_JWT] = "jwt",
    [PRD__RULE_PASETO] = "paseto",
    [PRD__RULE_HEADER] = "credential_header",
    [PRD__RULE_NAMED] = "named_secret",
    [PRD__RULE_PROVIDER] = "provider_token",
    [PRD__RULE_URI] = "uri_password",
    [PRD__RULE_PEM] = "pem_private_key",
    [PRD__RULE_CARD] = "card_number",
    [PRD__RULE_OPAQUE] = "opaque_token",
};

const char *prd__rule_name(int rule)
{
    return rule > 0 && rule < PRD__RULE_BUILTIN ? rule_names[rule] : NULL;
}

void prd__redact_hits(const struct prd__redact *r, int rule, uint64_t n)
{
    size_t i = (size_t)rule;
    if (rule <= 0 || i >= PRD_ARRAY_LEN(r->hits) || !n)
        return;
    _Atomic uint64_t *c = (_Atomic uint64_t *)&r->hits[i];
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void prd__redact_hit(const struct prd__redact *r, int rule)
{
    prd__redact_hits(r, rule, 1);
}

prd_status prd__redact_add_pattern(struct prd__redact *r, const char *name, const char *pattern)
{
    struct prd__pattern p;
    prd_status st = prd__pattern_compile(name, pattern, &p);
    if (st != PRD_OK)
        return st;
    for (int i = 1; i < PRD__RULE_BUILTIN; i++)
        if (strcmp(rule_names[i], name) == 0)
            return PRD_ECONFLICT;
    for (size_t i = 0; i < r->n_patterns; i++)
        if (strcmp(r->patterns[i].name, name) == 0)
            return PRD_ECONFLICT;
    if (r->n_patterns == PRD__PATTERN_MAX)
        return PRD_ETOOBIG;
    struct prd__pattern *v = prd__realloc(r->patterns, (r->n_patterns + 1) * sizeof *v);
    if (!v)
        return PRD_ENOMEM;
    v[r->n_patterns++] = p;
    r->patterns = v;
    return PRD_OK;
}

static void forget_verdicts(struct prd__redact *r)
{
    for (size_t i = 0; i < PRD_ARRAY_LEN(r->verdicts); i++)
        atomic_store(&r->verdicts[i], 0); /* the rules change: forget verdicts */
    for (size_t i = 0; i < PRD_ARRAY_LEN(r->name_verdicts); i++)
        atomic_store(&r->name_verdicts[i], 0);
}

prd_status prd__redact_add(struct prd__redact *r, const char *key_or_path)
{
    forget_verdicts(r);
    size_t n = key_or_path ? strnlen(key_or_path, PRD__REDACT_KEY_MAX + 1) : 0;
    if (n == 0 || n > PRD__REDACT_KEY_MAX)
        return PRD_EINVAL;
    int is_path = memchr(key_or_path, '.', n) != NULL;
    size_t *count = is_path ? &r->n_paths : &r->n_keys;
    if (*count == PRD__REDACT_MAX_RULES)
        return PRD_ETOOBIG;
    char *dst = is_path ? r->paths[*count] : r->keys[*count];
    if (normalize(key_or_path, n, dst, PRD__REDACT_KEY_MAX + 1) == 0)
        return PRD_EINVAL;
    (*count)++;
    return PRD_OK;
}

/* The names the output profiles give time, level and message: a scrubbed
 * line keeps them readable in allowlist mode. */
static const char *const standard_keys[] = {"time", "level", "msg", "@timestamp", "log.level",
                                            "message", "timestamp", "severity_text", "body"};

prd_status prd__redact_allow(struct prd__redact *r, const char *key_or_path)
{
    size_t n = key_or_path ? strnlen(key_or_path, PRD__REDACT_KEY_MAX + 1) : 0;
    if (n == 0 || n > PRD__REDACT_KEY_MAX)
        return PRD_EINVAL;
    if (!r->allowlist) {
        for (size_t i = 0; i < PRD_ARRAY_LEN(standard_keys); i++)
            normalize(standard_keys[i], strlen(standard_keys[i]), r->allowed[r->n_allowed++],
                      PRD__REDACT_KEY_MAX + 1);
    }
    if (r->n_allowed == PRD__REDACT_MAX_RULES)
        return PRD_ETOOBIG;
    forget_verdicts(r);
    r->allowlist = 1;
    if (normalize(key_or_path, n, r->allowed[r->n_allowed], PRD__REDACT_KEY_MAX + 1) == 0)
        return PRD_EINVAL;
    r->n_allowed++;
    return PRD_OK;
}

/* An allowed path names its ancestors as the containers it lives in:
 * "req.status" lets "req" through so that its members are judged one by
 * one. */
static int ancestor_of_allowed(const struct prd__redact *r, const char *np, size_t nl)
{
    for (size_t i = 0; i < r->n_allowed; i++) {
        const char *a = r->allowed[i];
        size_t al = strlen(a);
        for (size_t k = 0; k + nl < al; k++)
            if ((k == 0 || a[k - 1] == '.') && a[k + nl] == '.' && memcmp(a + k, np, nl) == 0)
                return 1;
    }
    return 0;
}

/* Does a dotted path match one of n rules: the whole path, or its tail
 * at a dot (the rule "user.address" matches data.user.address), or with
 * ancestors set, a container of a rule? -1 when out of memory. */
static int path_match(const struct prd__redact *r, const char *path, size_t path_len,
                      const char (*rules)[PRD__REDACT_KEY_MAX + 1], size_t n, int ancestors)
{
    char pstack[512];
    char *np = path_len < sizeof pstack ? pstack : prd__malloc(path_len + 1);
    if (!np)
        return -1;
    size_t nl = normalize(path, path_len, np, path_len + 1 > sizeof pstack ? path_len + 1
                                                                           : sizeof pstack);
    int hit = 0;
    for (size_t i = 0; i < n && !hit; i++) {
        size_t rl = strlen(rules[i]);
        hit = nl >= rl && strcmp(np + nl - rl, rules[i]) == 0 &&
              (nl == rl || np[nl - rl - 1] == '.');
    }
    hit = hit || (ancestors && ancestor_of_allowed(r, np, nl));
    if (np != pstack)
        prd__free(np);
    return hit;
}

/* In allowlist mode: is this key, or its path, listed, or the container
 * of something listed? Out of memory: not (fails closed). */
static int allowed(const struct prd__redact *r, const char *norm, const char *path,
                   size_t path_len)
{
    for (size_t i = 0; i < r->n_allowed; i++)
        if (strcmp(norm, r->allowed[i]) == 0)
            return 1;
    if (!path || !path_len)
        return ancestor_of_allowed(r, norm, strlen(norm));
    return path_match(r, path, path_len, r->allowed, r->n_allowed, 1) == 1;
}

static int key_verdict(const struct prd__redact *r, const char *key, size_t key_len,
                       const char *path, size_t path_len);

/*
 * Verdicts cached by a keyed hash: SipHash-2-4 (libsodium's shorthash)
 * under a key drawn once a process. With a public hash (FNV-1a before) an
 * attacker who can get one field name logged could search offline for a
 * name whose entry is "password"'s, cache "keep" under it, and the real
 * password key would then print in clear.
 */
static unsigned char cache_key[crypto_shorthash_KEYBYTES];
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void draw_cache_key(void)
{
    randombytes_buf(cache_key, sizeof cache_key);
}

/* An entry: tag (bits 16-63), the verdict (bits 12-15: 0 keeps the
 * value), the name's length (bits 1-11), 1 (bit 0: used). Single atomic
 * words, so threads share a cache without a lock. -1 on a miss, with the
 * hash for cache_store in *h. */
static int cache_load(_Atomic uint64_t *cache, size_t slots, const char *s, size_t n,
                      uint64_t *h)
{
    pthread_once(&cache_key_once, draw_cache_key);
    unsigned char d[crypto_shorthash_BYTES];
    crypto_shorthash(d, (const unsigned char *)s, n, cache_key);
    uint64_t v;
    memcpy(&v, d, sizeof v);
    *h = v | UINT64_C(1) << 63;
    uint64_t e = atomic_load_explicit(&cache[*h % slots], memory_order_relaxed);
    if ((e & ~UINT64_C(0xFFFF)) == (*h & ~UINT64_C(0xFFFF)) && ((e >> 1) & 0x7FF) == n && (e & 1))
        return (int)((e >> 12) & 0xF);
    return -1;
}

static void cache_store(_Atomic uint64_t *cache, size_t slots, uint64_t h, size_t n, int v)
{
    atomic_store_explicit(&cache[h % slots],
                          (h & ~UINT64_C(0xFFFF)) | (uint64_t)v << 12 | (uint64_t)n << 1 | 1,
                          memory_order_relaxed);
}

int prd__redact_key(const struct prd__redact *r, const char *key, size_t key_len,
                    const char *path, size_t path_len)
{
    if (!r->enabled)
        return 0;
    if (path_len != key_len || key_len > 0x7FF)
        return key_verdict(r, key, key_len, path, path_len);
    /* A top-level key: the cache (measured: the key rules were most of
     * redaction's cost per line in bench_log). Written through a const
     * pointer, as the hit counters are. */
    _Atomic uint64_t *cache = (_Atomic uint64_t *)r->verdicts;
    uint64_t h;
    int v = cache_load(cache, PRD_ARRAY_LEN(r->verdicts), key, key_len, &h);
    if (v >= 0)
        return v;
    v = key_verdict(r, key, key_len, path, path_len);
    cache_store(cache, PRD_ARRAY_LEN(r->verdicts), h, key_len, v);
    return v;
}

static int verdict_normalized(const struct prd__redact *r, const char *norm, const char *path,
                              size_t path_len);

static int key_verdict(const struct prd__redact *r, const char *key, size_t key_len,
                       const char *path, size_t path_len)
{
    /* The whole key, whatever its length: a keyword at its end counts. */
    char stack[PRD__REDACT_KEY_MAX + 1];
    char *norm = key_len < sizeof stack ? stack : prd__malloc(key_len + 1);
    if (!norm)
        return PRD__RULE_SECRET_KEY; /* cannot read it: hide the value */
    normalize(key, key_len, norm, key_len + 1 > sizeof stack ? key_len + 1 : sizeof stack);
    int v = verdict_normalized(r, norm, path, path_len);
    /* Fails closed: a listed key that the secret rules hide stays hidden. */
    if (!v && r->allowlist && !allowed(r, norm, path, path_len))
        v = PRD__RULE_ALLOWLIST;
    if (norm != stack)
        prd__free(norm);
    return v;
}

static int verdict_normalized(const struct prd__redact *r, const char *norm, const char *path,
                              size_t path_len)
{
    for (size_t i = 0; i < PRD_ARRAY_LEN(exact_keys); i++)
        if (strcmp(norm, exact_keys[i]) == 0)
            return PRD__RULE_SECRET_KEY;
    /* Keywords anywhere in the key: test only at positions whose character
     * starts some keyword (18 strstr calls per field showed in bench_log). */
    for (const char *p = norm; *p; p++) {
        if (!strchr("pstacbe", *p))
            continue;
        for (size_t i = 0; i < PRD_ARRAY_LEN(contained_keys); i++)
            if (contained_keys[i][0] == *p &&
                strncmp(p, contained_keys[i], strlen(contained_keys[i])) == 0)
                return PRD__RULE_SECRET_KEY;
    }
    for (size_t i = 0; i < r->n_keys; i++)
        if (strcmp(norm, r->keys[i]) == 0)
            return PRD__RULE_USER_KEY;
    if (r->n_paths && path && path_match(r, path, path_len, r->paths, r->n_paths, 0) != 0)
        return PRD__RULE_USER_PATH; /* a path rule (or out of memory: hide) */
    return 0;
}

void prd__redacted_value(const struct prd__redact *r, struct prd__buf *b, const char *s, size_t n)
{
    if (r->mode != PRD_REDACT_FINGERPRINT || r->fp_key_len == 0 || !s) {
        prd__buf_puts(b, "\"" CENSOR "\"");
        return;
    }
    unsigned char h[8];
    crypto_generichash(h, sizeof h, (const unsigned char *)s, n, r->fp_key, r->fp_key_len);
    char out[3 + 2 * sizeof h + 3] = "\"fp:";
    sodium_bin2hex(out + 4, 2 * sizeof h + 1, h, sizeof h);
    out[4 + 2 * sizeof h] = '"';
    prd__buf_put(b, out, 5 + 2 * sizeof h);
}

/* ---- the value scanner ---- */

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_b64url(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '_';
}

static int lower_eq(const char *s, size_t n, size_t i, const char *word)
{
    size_t w = strlen(word);
    if (i + w > n)
        return 0;
    for (size_t k = 0; k < w; k++) {
        char c = s[i + k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[k])
            return 0;
    }
    return 1;
}

/* Characters the scanner examined on this thread: the fuzz target and the
 * tests check that it grows linearly with the input, whatever the input. */
/* initial-exec: a global-dynamic thread-local costs a __tls_get_addr call
 * per access from a shared library (2.4% of an event in perf); a few bytes
 * fit the static TLS glibc keeps spare even for a dlopen'd library. */
#define PRD_TLS _Thread_local __attribute__((tls_model("initial-exec")))
static PRD_TLS uint64_t steps;
/* Set when a PEM private key's BEGIN ran to the end of the text without
 * its END: a scrub of the next lines carries it on. */
static PRD_TLS int pem_unclosed;

int prd__scrub_take_pem_unclosed(void)
{
    int v = pem_unclosed;
    pem_unclosed = 0;
    return v;
}

uint64_t prd__scrub_steps(void)
{
    return steps;
}

static size_t run_of(const char *s, size_t n, size_t i, int (*pred)(unsigned char))
{
    size_t k = i;
    while (k < n && pred((unsigned char)s[k]))
        k++;
    steps += k - i;
    return k - i;
}

static int is_token_char(unsigned char c)
{
    return is_b64url(c) || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
}

/* A match: [start, end) of the secret part; everything else is kept. */
struct match {
    size_t start, end;
    int rule; /* enum prd__rule, or PRD__RULE_BUILTIN + a pattern's index */
};

/* "Bearer xyz", "Basic xyz" (any case). */
static int m_auth(const char *s, size_t n, size_t i, struct match *m)
{
    size_t w = lower_eq(s, n, i, "bearer") ? 6 : lower_eq(s, n, i, "basic") ? 5 : 0;
    if (!w || (i > 0 && is_alnum((unsigned char)s[i - 1])))
        return 0;
    size_t k = i + w, sp = 0;
    while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++, sp++;
    size_t t = run_of(s, n, k, is_token_char);
    if (sp == 0 || t < 6)
        return 0;
    m->start = k;
    m->end = k + t;
    return 1;
}

/* JWT-shaped: eyJ….….… */
static int m_jwt(const char *s, size_t n, size_t i, struct match *m)
{
    if (i + 3 > n || memcmp(s + i, "eyJ", 3) != 0 || (i > 0 && is_b64url((unsigned char)s[i - 1])))
        return 0;
    size_t k = i, parts = 0;
    for (;;) {
        size_t r = run_of(s, n, k, is_b64url);
        if (r == 0 && parts < 2)
            return 0;
        k += r;
        parts++;
        if (parts == 3 || k >= n || s[k] != '.')
            break;
        k++;
    }
    if (parts < 2)
        return 0;
    m->start = i;
    m->end = k;
    return 1;
}

/* PASETO v1-v4 tokens and PASERK keys (k1-k4) with a body. */
static int m_paseto(const char *s, size_t n, size_t i, struct match *m)
{
    if (i + 4 > n || (s[i] != 'v' && s[i] != 'k') || s[i + 1] < '1' || s[i + 1] > '4' ||
        s[i + 2] != '.' || (i > 0 && is_b64url((unsigned char)s[i - 1])))
        return 0;
    size_t k = i + 3, purpose = run_of(s, n, k, is_b64url);
    if (purpose < 3 || k + purpose >= n || s[k + purpose] != '.')
        return 0;
    if (s[i] == 'k' && lower_eq(s, n, k, "public") && purpose == 6)
        return 0; /* public keys are not secret */
    k += purpose + 1;
    size_t body = run_of(s, n, k, is_b64url);
    if (body < 16)
        return 0;
    k += body;
    if (k + 1 < n && s[k] == '.' && is_b64url((unsigned char)s[k + 1]))
        k += 1 + run_of(s, n, k + 1, is_b64url);
    m->start = i;
    m->end = k;
    return 1;
}

/* name=value / name: value / NAME 'value' for secret-ish names, in
 * conninfo strings, query strings, environment assignments and text
 * ("password=…", "token: …", "PGPASSWORD=…", "X-Amz-Signature=…", SQL's
 * PASSWORD '…"). The name is a whole identifier judged by the same rules
 * as JSON keys (a keyword anywhere in it, or an exact short name), plus a
 * few that only ever name secrets in a query or an assignment. */
#define NAME_MAX_LEN 64

static int ident_char(unsigned char c)
{
    return is_alnum(c) || c == '_' || c == '-' || c == '.';
}

static int stop_char(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '&' || c == ',' || c == ';' ||
           c == ')' || c == '"' || c == '\'' || c == '}' || c == '>';
}

static int not_stop(unsigned char c)
{
    return !stop_char(c);
}

static const char *const value_only_names[] = {"signature", "sig", "xamzsignature",
                                               "xamzcredential", "xgoogsignature",
                                               "xgoogcredential", "awsaccesskeyid", "sslkey"};

static int name_verdict(const struct prd__redact *r, const char *name, size_t len)
{
    char norm[NAME_MAX_LEN + 1];
    normalize(name, len, norm, sizeof norm);
    for (size_t i = 0; i < PRD_ARRAY_LEN(value_only_names); i++)
        if (strcmp(norm, value_only_names[i]) == 0)
            return PRD__RULE_NAMED;
    return key_verdict(r, name, len, NULL, 0);
}

/* Cached as keys are: a line of "password=x " repeated looked the same
 * name up 372 times in 4 KB, and the lookups were two thirds of its time. */
static int secret_name(const struct prd__redact *r, const char *name, size_t len)
{
    _Atomic uint64_t *cache = (_Atomic uint64_t *)r->name_verdicts;
    uint64_t h;
    int v = cache_load(cache, PRD_ARRAY_LEN(r->name_verdicts), name, len, &h);
    if (v < 0) {
        v = name_verdict(r, name, len);
        cache_store(cache, PRD_ARRAY_LEN(r->name_verdicts), h, len, v);
    }
    return v != 0;
}

static int m_named(const struct prd__redact *r, const char *s, size_t n, size_t i,
                   struct match *m, size_t *skip)
{
    if (i > 0 && ident_char((unsigned char)s[i - 1]))
        return 0;
    size_t len = run_of(s, n, i, ident_char);
    *skip = len ? len - 1 : 0; /* no other name starts inside this one */
    if (len == 0 || len > NAME_MAX_LEN)
        return 0;
    size_t k = i + len;
    if (k < n && (s[k] == '"' || s[k] == '\''))
        k++; /* "password": in JSON-ish text */
    size_t sp = k;
    while (k < n && s[k] == ' ')
        k++;
    int sql = 0;
    if (k < n && (s[k] == '=' || s[k] == ':')) {
        k++;
        while (k < n && s[k] == ' ')
            k++;
    } else if (k > sp && k < n && s[k] == '\'') {
        sql = 1; /* PASSWORD 'x' */
    } else {
        return 0;
    }
    if (!secret_name(r, s + i, len))
        return 0;
    if (k < n && (s[k] == '\'' || s[k] == '"')) {
        char q = s[k++];
        size_t e = k;
        while (e < n && s[e] != q) {
            if (s[e] == '\\' && e + 1 < n)
                e++;
            e++;
        }
        steps += e - k;
        if (e == k)
            return 0;
        m->start = k;
        m->end = e > n ? n : e;
        return 1;
    }
    if (sql)
        return 0;
    size_t v = run_of(s, n, k, not_stop);
    if (v == 0)
        return 0;
    m->start = k;
    m->end = k + v;
    return 1;
}

/* Header lines whose whole value is a credential: "Cookie: …",
 * "Set-Cookie: …", "Authorization: <any scheme> …", to the end of the
 * line. */
static const char *const secret_headers[] = {"cookie:", "set-cookie:", "authorization:",
                                             "proxy-authorization:", "x-api-key:",
                                             "x-auth-token:"};

int prd__secret_header_name(const struct prd__redact *r, const char *name, size_t len)
{
    for (size_t h = 0; h < PRD_ARRAY_LEN(secret_headers); h++) {
        size_t hl = strlen(secret_headers[h]) - 1; /* without the colon */
        if (len == hl && lower_eq(name, len, 0, secret_headers[h]))
            return 1;
    }
    return len <= NAME_MAX_LEN && secret_name(r, name, len);
}

static int m_header(const char *s, size_t n, size_t i, struct match *m)
{
    if (i > 0 && ident_char((unsigned char)s[i - 1]))
        return 0;
    for (size_t h = 0; h < PRD_ARRAY_LEN(secret_headers); h++) {
        if (!lower_eq(s, n, i, secret_headers[h]))
            continue;
        size_t k = i + strlen(secret_headers[h]);
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        size_t e = k;
        while (e < n && s[e] != '\n' && s[e] != '\r')
            e++;
        steps += e - i;
        if (e == k)
            return 0;
        m->start = k;
        m->end = e;
        return 1;
    }
    return 0;
}

/* Well-known provider token formats, recognised by structure: a fixed
 * prefix, an alphabet and a length (docs/log.md has the table). */
struct provider {
    const char *prefix;
    int (*alphabet)(unsigned char);
    size_t min, max; /* of the part after the prefix */
};

static int upper_or_digit(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int slack_char(unsigned char c)
{
    return is_alnum(c) || c == '-';
}

static int b64url_or_none(unsigned char c)
{
    return is_b64url(c);
}

static const struct provider providers[] = {
    {"AKIA", upper_or_digit, 16, 16}, /* AWS access key ids */
    {"ASIA", upper_or_digit, 16, 16},
    {"ghp_", is_alnum, 36, 36},       /* GitHub tokens */
    {"gho_", is_alnum, 36, 36},
    {"ghu_", is_alnum, 36, 36},
    {"ghs_", is_alnum, 36, 36},
    {"ghr_", is_alnum, 36, 36},
    {"github_pat_", b64url_or_none, 60, 100},
    {"glpat-", b64url_or_none, 20, 40}, /* GitLab */
    {"xoxb-", slack_char, 10, 200},     /* Slack */
    {"xoxp-", slack_char, 10, 200},
    {"xoxa-", slack_char, 10, 200},
    {"xoxr-", slack_char, 10, 200},
    {"xoxs-", slack_char, 10, 200},
    {"sk_live_", is_alnum, 16, 128},    /* Stripe secret and restricted keys */
    {"rk_live_", is_alnum, 16, 128},
    {"sk_test_", is_alnum, 16, 128},
    {"rk_test_", is_alnum, 16, 128},
    {"whsec_", is_alnum, 24, 64},
    {"AIza", b64url_or_none, 35, 35},   /* Google API keys */
    {"npm_", is_alnum, 36, 36},         /* npm */
    {"pypi-", b64url_or_none, 50, 300}, /* PyPI */
    {"SG.", b64url_or_none, 22, 22},    /* SendGrid: SG.<22>.<43> */
};

static int m_provider(const char *s, size_t n, size_t i, struct match *m)
{
    if (i > 0 && (is_b64url((unsigned char)s[i - 1]) || s[i - 1] == '.'))
        return 0;
    for (size_t p = 0; p < PRD_ARRAY_LEN(providers); p++) {
        const struct provider *pv = &providers[p];
        if (pv->prefix[0] != s[i])
            continue;
        size_t pl = strlen(pv->prefix);
        if (i + pl > n || memcmp(s + i, pv->prefix, pl) != 0)
            continue;
        size_t body = 0, lim = pv->max + 1;
        while (i + pl + body < n && body < lim && pv->alphabet((unsigned char)s[i + pl + body]))
            body++;
        steps += body;
        if (body < pv->min || body > pv->max)
            continue;
        size_t e = i + pl + body;
        if (e < n && is_alnum((unsigned char)s[e]))
            continue; /* part of a longer word */
        if (pv->prefix[0] == 'S' && pv->prefix[1] == 'G') { /* SendGrid's second part */
            if (e >= n || s[e] != '.')
                continue;
            e += 1 + run_of(s, n, e + 1, b64url_or_none);
        }
        m->start = i;
        m->end = e;
        return 1;
    }
    return 0;
}

static int userinfo_char(unsigned char c)
{
    return c > ' ' && c != '/' && c != '@' && c != ':' && c != '?' && c != '#';
}

static int password_char(unsigned char c)
{
    return c > ' ' && c != '/' && c != '@';
}

/* scheme://user:password@host: the password. */
static int m_uri(const char *s, size_t n, size_t i, struct match *m)
{
    if (i + 3 > n || memcmp(s + i, "://", 3) != 0)
        return 0;
    size_t k = i + 3;
    k += run_of(s, n, k, userinfo_char);
    if (k >= n || s[k] != ':')
        return 0;
    size_t p = k + 1, pl = run_of(s, n, p, password_char);
    if (pl == 0 || p + pl >= n || s[p + pl] != '@')
        return 0;
    m->start = p;
    m->end = p + pl;
    return 1;
}

/* A PEM header's label is short ("ENCRYPTED PRIVATE KEY"): looking
 * further for it would rescan the rest of the string at every BEGIN. */
#define PEM_LABEL_MAX 64

/* PEM private keys, to their END line (or the end of the string). The
 * search for the end runs once: a match reaches at least that far, so no
 * character is searched twice. */
static int m_pem(const char *s, size_t n, size_t i, struct match *m)
{
    if (i + 11 > n || memcmp(s + i, "-----BEGIN ", 11) != 0)
        return 0;
    size_t lim = i + 11 + PEM_LABEL_MAX < n ? i + 11 + PEM_LABEL_MAX : n, hdr_end = i + 11;
    int private_key = 0;
    while (hdr_end < lim && s[hdr_end] != '\n' && s[hdr_end] != '-') {
        if (hdr_end + 11 <= n && memcmp(s + hdr_end, "PRIVATE KEY", 11) == 0)
            private_key = 1;
        hdr_end++;
    }
    steps += hdr_end - i;
    if (!private_key)
        return 0;
    size_t e = n;
    const char *end = hdr_end < n ? memmem(s + hdr_end, n - hdr_end, "-----END ", 9) : NULL;
    if (!end)
        pem_unclosed = 1;
    if (end) {
        size_t k = (size_t)(end - s) + 9;
        const char *close = k < n ? memmem(s + k, n - k, "-----", 5) : NULL;
        e = close ? (size_t)(close - s) + 5 : n;
    }
    steps += e - hdr_end;
    m->start = i;
    m->end = e;
    return 1;
}

static int luhn(const int *digits, int nd)
{
    int sum = 0;
    for (int d = nd - 1, dbl = 0; d >= 0; d--, dbl = !dbl) {
        int v = digits[d] * (dbl ? 2 : 1);
        sum += v > 9 ? v - 9 : v;
    }
    return sum % 10 == 0;
}

/* 13-19 digits, optionally grouped by single spaces or dashes, passing
 * Luhn. Beside other digits ("4111 1111 1111 1111 12.50", two cards in a
 * row) the longest prefix that ends at a group boundary and passes wins. */
static int m_card(const char *s, size_t n, size_t i, struct match *m)
{
    if (s[i] < '0' || s[i] > '9' || (i > 0 && (is_alnum((unsigned char)s[i - 1]))))
        return 0;
    int digits[20], nd = 0;
    size_t ends[20]; /* ends[d]: position after the d-th digit when a group ends there */
    size_t k = i;
    while (k < n && nd < 20) {
        if (s[k] >= '0' && s[k] <= '9') {
            digits[nd++] = s[k] - '0';
            k++;
            int boundary = k >= n || !(s[k] >= '0' && s[k] <= '9');
            ends[nd - 1] = boundary ? k : 0;
        } else if ((s[k] == ' ' || s[k] == '-') && k + 1 < n && s[k + 1] >= '0' && s[k + 1] <= '9' &&
                   k > i && s[k - 1] >= '0' && s[k - 1] <= '9') {
            k++;
        } else {
            break;
        }
    }
    steps += k - i;
    for (int d = nd < 19 ? nd : 19; d >= 13; d--) {
        size_t e = ends[d - 1];
        if (!e || (e < n && is_alnum((unsigned char)s[e])))
            continue;
        if (luhn(digits, d)) {
            m->start = i;
            m->end = e;
            return 1;
        }
    }
    return 0;
}

static int lower_or_digit(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Our opaque tokens: prefix_ + 48 base64url with a valid checksum. */
static int m_opaque(const char *s, size_t n, size_t i, struct match *m)
{
    if (!lower_or_digit((unsigned char)s[i]) || (i > 0 && is_b64url((unsigned char)s[i - 1])))
        return 0;
    size_t p = run_of(s, n, i, lower_or_digit);
    if (p > PRD__OPAQUE_PREFIX_MAX || i + p >= n || s[i + p] != '_')
        return 0;
    /* Exactly the body's 48 characters: base64url's alphabet holds the
     * underscore, so a longer run is some other token. */
    size_t b = run_of(s, n, i + p + 1, is_b64url);
    if (b != PRD__OPAQUE_BODY_CHARS)
        return 0;
    if (!prd__opaque_valid(NULL, s + i, p + 1 + PRD__OPAQUE_BODY_CHARS))
        return 0;
    m->start = i;
    m->end = i + p + 1 + PRD__OPAQUE_BODY_CHARS;
    return 1;
}

/*
 * Which patterns could match at all, from one pass over the string: most
 * log strings have none of their required characters, and running every
 * matcher at every position made redaction cost more than the rest of the
 * line (bench_log).
 */
enum {
    CAN_AUTH = 1, CAN_DOTS = 2, CAN_NAMED = 4, CAN_URI = 8,
    CAN_PEM = 16, CAN_CARD = 32, CAN_OPAQUE = 64, CAN_PROVIDER = 128
};

/* The first two characters of a provider prefix (providers[]): a string
 * without one of these pairs holds no provider token. */
static int provider_start(char a, char b)
{
    switch (a) {
    case 'A': return b == 'K' || b == 'S' || b == 'I';
    case 'g': return b == 'h' || b == 'l';
    case 'x': return b == 'o';
    case 's': case 'r': return b == 'k';
    case 'w': return b == 'h';
    case 'n': return b == 'p';
    case 'p': return b == 'y';
    case 'S': return b == 'G';
    default: return 0;
    }
}

/* What candidates() counts, by byte: one table load a byte where a chain
 * of comparisons cost 30% of a 4 KB attacker event. */
enum { K_DIGIT = 1, K_DOT = 2, K_SPACE = 4, K_EQ = 8, K_COLON = 16, K_UNDER = 32, K_DASH = 64,
       K_PROVIDER = 128 };
static unsigned char kind_tab[256];

static unsigned candidates(const char *s, size_t n)
{
    steps += n;
    size_t dots = 0, digits = 0, dashes = 0, max_dashes = 0;
    unsigned seen = 0;
    int provider = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned k = kind_tab[(unsigned char)s[i]];
        seen |= k;
        digits += k & K_DIGIT;
        dots += (k >> 1) & 1;
        if (k & K_DASH) {
            if (++dashes > max_dashes)
                max_dashes = dashes;
        } else {
            dashes = 0;
        }
        /* A provider prefix's first character: look at the pair. */
        if ((k & K_PROVIDER) && !provider && i + 1 < n)
            provider = provider_start(s[i], s[i + 1]);
    }
    unsigned f = 0;
    if (seen & K_SPACE)
        f |= CAN_AUTH;
    if (dots >= 2)
        f |= CAN_DOTS;
    if (seen & (K_EQ | K_COLON))
        f |= CAN_NAMED;
    if (seen & K_COLON)
        f |= CAN_URI;
    if (max_dashes >= 5)
        f |= CAN_PEM;
    if (digits >= 13)
        f |= CAN_CARD;
    if ((seen & K_UNDER) && n >= 50)
        f |= CAN_OPAQUE;
    if (n >= 13 && provider)
        f |= CAN_PROVIDER;
    return f;
}

/* For each byte, the matchers that may start at it (the same tests as
 * the dispatch below makes): a byte no enabled matcher starts at costs
 * one table load, where it cost a dozen comparisons (5 ns a byte on a
 * 4 KB user agent in perf). Filled once at load. */
static unsigned char start_tab[256];

__attribute__((constructor)) static void fill_start_tab(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned b = 0;
        if (c == 'b' || c == 'B')
            b |= CAN_AUTH;
        if (c == 'e' || c == 'v' || c == 'k')
            b |= CAN_DOTS;
        if (is_alnum((unsigned char)c))
            b |= CAN_NAMED; /* named secrets, and the headers below */
        if (c == 'A' || c == 'g' || c == 'x' || c == 's' || c == 'r' || c == 'w' || c == 'n' ||
            c == 'p' || c == 'S')
            b |= CAN_PROVIDER;
        if (c == ':')
            b |= CAN_URI;
        if (c == '-')
            b |= CAN_PEM;
        if (c >= '0' && c <= '9')
            b |= CAN_CARD;
        if (lower_or_digit((unsigned char)c))
            b |= CAN_OPAQUE;
        start_tab[c] = (unsigned char)b;
        unsigned k = 0;
        if (c >= '0' && c <= '9')
            k |= K_DIGIT;
        if (c == '.')
            k |= K_DOT;
        if (c == ' ' || c == '\t')
            k |= K_SPACE;
        if (c == '=' || c == '\'') /* '\'': SQL's PASSWORD 'x' */
            k |= K_EQ;
        if (c == ':')
            k |= K_COLON;
        if (c == '_')
            k |= K_UNDER;
        if (c == '-')
            k |= K_DASH;
        if (c == 'A' || c == 'g' || c == 'x' || c == 's' || c == 'r' || c == 'w' || c == 'n' ||
            c == 'p' || c == 'S')
            k |= K_PROVIDER;
        kind_tab[c] = (unsigned char)k;
    }
}

static int found(struct match *m, int rule)
{
    m->rule = rule;
    return 1;
}

/* First match at or after position i; returns 0 when none. The
 * application's patterns are tried after the built-in ones. */
static int next_match_in(const struct prd__redact *r, const char *s, size_t n, size_t i,
                         unsigned f, struct match *m)
{
    if (!f && !r->n_patterns)
        return 0;
    size_t named_from = 0; /* names are not looked for inside a name already read */
    for (; i < n; i++) {
        steps++;
        unsigned char c = (unsigned char)s[i];
        if (!(start_tab[c] & f) && !r->n_patterns)
            continue;
        /* Cheap dispatch on the first character. */
        if ((f & CAN_AUTH) && (c == 'b' || c == 'B') && m_auth(s, n, i, m))
            return found(m, PRD__RULE_AUTH_SCHEME);
        if ((f & CAN_DOTS) && c == 'e' && m_jwt(s, n, i, m))
            return found(m, PRD__RULE_JWT);
        if ((f & CAN_DOTS) && (c == 'v' || c == 'k') && m_paseto(s, n, i, m))
            return found(m, PRD__RULE_PASETO);
        if ((f & CAN_NAMED) && (c == 'c' || c == 'C' || c == 's' || c == 'S' || c == 'a' ||
                                c == 'A' || c == 'p' || c == 'P' || c == 'x' || c == 'X') &&
            m_header(s, n, i, m))
            return found(m, PRD__RULE_HEADER);
        if ((f & CAN_NAMED) && i >= named_from && is_alnum(c)) {
            size_t skip = 0;
            if (m_named(r, s, n, i, m, &skip))
                return found(m, PRD__RULE_NAMED);
            named_from = i + skip + 1;
        }
        if ((f & CAN_PROVIDER) && (c == 'A' || c == 'g' || c == 'x' || c == 's' || c == 'r' ||
                                   c == 'w' || c == 'n' || c == 'p' || c == 'S') &&
            m_provider(s, n, i, m))
            return found(m, PRD__RULE_PROVIDER);
        if ((f & CAN_URI) && c == ':' && m_uri(s, n, i, m))
            return found(m, PRD__RULE_URI);
        if ((f & CAN_PEM) && c == '-' && m_pem(s, n, i, m))
            return found(m, PRD__RULE_PEM);
        if ((f & CAN_CARD) && c >= '0' && c <= '9' && m_card(s, n, i, m))
            return found(m, PRD__RULE_CARD);
        if ((f & CAN_OPAQUE) && lower_or_digit(c) && m_opaque(s, n, i, m))
            return found(m, PRD__RULE_OPAQUE);
        for (size_t p = 0; p < r->n_patterns; p++) {
            size_t len = prd__pattern_match(&r->patterns[p], s, n, i, &steps);
            if (len) {
                m->start = i;
                m->end = i + len;
                return found(m, PRD__RULE_BUILTIN + (int)p);
            }
        }
    }
    return 0;
}

int prd__scrub_text(const struct prd__redact *r, struct prd__buf *out, const char *s, size_t n)
{
    struct match m;
    if (!r->enabled)
        return 0;
    /* Which matchers can apply is decided once a string, not once a match:
     * redoing it after each match made a line of many matches quadratic. */
    unsigned f = candidates(s, n);
    if (!next_match_in(r, s, n, 0, f, &m))
        return 0;
    size_t pos = 0;
    /* Hits are added once a run of one rule: a locked add per match was a
     * quarter of a 4 KB line of "password=x " repeated. */
    int run_rule = m.rule;
    uint64_t run = 0;
    do {
        if (m.rule != run_rule) {
            prd__redact_hits(r, run_rule, run);
            run_rule = m.rule;
            run = 0;
        }
        run++;
        prd__buf_put(out, s + pos, m.start - pos);
        if (r->mode == PRD_REDACT_FINGERPRINT && r->fp_key_len) {
            struct prd__buf fp;
            char fps[32];
            prd__buf_init(&fp, fps, sizeof fps);
            prd__redacted_value(r, &fp, s + m.start, m.end - m.start);
            prd__buf_put(out, fp.p + 1, fp.len - 2); /* without the quotes */
            prd__buf_free(&fp);
        } else {
            prd__buf_puts(out, CENSOR);
        }
        pos = m.end;
    } while (next_match_in(r, s, n, pos, f, &m));
    prd__redact_hits(r, run_rule, run);
    prd__buf_put(out, s + pos, n - pos);
    return 1;
}

void prd__json_string_scrubbed(const struct prd__redact *r, struct prd__buf *b, const char *s,
                               size_t n)
{
    char stack[512];
    struct prd__buf t;
    prd__buf_init(&t, stack, sizeof stack);
    if (!prd__scrub_text(r, &t, s, n))
        prd__json_string(b, s, n);
    else if (t.failed)
        prd__buf_puts(b, "\"" CENSOR "\""); /* out of memory: hide it all */
    else
        prd__json_string(b, t.p, t.len);
    prd__buf_free(&t);
}

/*
 * The common case of the below without printf and strtod (they were a
 * third of a ten-field event's time in perf): a value that some n / 10^k
 * (n < 10^15, k <= 15) reads back as, in the range %g writes in fixed
 * notation. The smallest such k gives the fewest digits, and it is what
 * "%.15g" prints, since a decimal that reads back lies within half an ulp
 * of d, far inside half a unit of its 15th digit. IEEE division of exact
 * operands rounds correctly, so n / 10^k == d proves the round trip.
 * 0 when it does not apply.
 */
static int fixed_double(char *out, double d)
{
    static const double p10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    for (int k = 0; k <= 15; k++) {
        double s = a * p10[k];
        if (s >= 1e15)
            return 0;
        double n = nearbyint(s);
        if (n / p10[k] != a)
            continue;
        char digits[20];
        int nd = 0;
        uint64_t u = (uint64_t)n;
        do {
            digits[nd++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        while (nd <= k) /* 0.0015: the zeros after the point */
            digits[nd++] = '0';
        int len = 0;
        if (d < 0)
            out[len++] = '-';
        for (int i = nd - 1; i >= k; i--)
            out[len++] = digits[i];
        out[len++] = '.';
        if (k == 0)
            out[len++] = '0'; /* a real: 42.0 */
        for (int i = k - 1; i >= 0; i--)
            out[len++] = digits[i];
        return len;
    }
    return 0;
}

/* Shortest "%.*g" that reads back as the same double. */
void prd__json_double(struct prd__buf *b, double d)
{
    char num[40];
    int k;
    if ((k = fixed_double(num, d)) > 0) {
        prd__buf_put(b, num, (size_t)k);
        return;
    }
    if (!isfinite(d)) {
        k = snprintf(num, sizeof num, "\"%s\"", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
    } else {
        for (int prec = 15;; prec++) {
            k = snprintf(num, sizeof num, "%.*g", prec, d);
            if (prec >= 17 || strtod(num, NULL) == d)
                break;
        }
        /* keep it a JSON number that reads back as a real */
        if (!strpbrk(num, ".eEn") && k + 2 < (int)sizeof num) {
            num[k++] = '.';
            num[k++] = '0';
        }
    }
    prd__buf_put(b, num, (size_t)k);
}

#define MAX_DEPTH 64

void prd__json_value(const struct prd__redact *r, struct prd__buf *b, json_t *v, char *path,
                     size_t path_len, size_t path_cap, int depth)
{
    if (depth > MAX_DEPTH) {
        prd__buf_puts(b, "\"[TOO DEEP]\"");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        int first = 1;
        prd__buf_putc(b, '{');
        json_object_foreach(v, key, val) {
            size_t klen = strlen(key);
            size_t plen = path_len;
            if (path_len + 1 + klen < path_cap) {
                if (path_len)
                    path[plen++] = '.';
                memcpy(path + plen, key, klen);
                plen += klen;
                path[plen] = '\0';
            }
            int hide = prd__redact_key(r, key, klen, path, plen);
            prd__redact_hit(r, hide);
            if (hide && r->mode == PRD_REDACT_REMOVE) {
                path[path_len] = '\0';
                continue;
            }
            if (!first)
                prd__buf_putc(b, ',');
            first = 0;
            prd__json_string(b, key, klen);
            prd__buf_putc(b, ':');
            if (hide) {
                char *text = json_is_string(val) ? NULL : json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
                const char *src = text ? text : json_string_value(val);
                prd__redacted_value(r, b, src, src ? strlen(src) : 0);
                free(text);
            } else {
                prd__json_value(r, b, val, path, plen, path_cap, depth + 1);
            }
            path[path_len] = '\0';
        }
        prd__buf_putc(b, '}');
        return;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *val;
        prd__buf_putc(b, '[');
        json_array_foreach(v, i, val) {
            if (i)
                prd__buf_putc(b, ',');
            prd__json_value(r, b, val, path, path_len, path_cap, depth + 1);
        }
        prd__buf_putc(b, ']');
        return;
    }
    case JSON_STRING:
        prd__json_string_scrubbed(r, b, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER: {
        char num[32];
        int k = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        prd__buf_put(b, num, (size_t)k);
        return;
    }
    case JSON_REAL:
        prd__json_double(b, json_real_value(v));
        return;
    case JSON_TRUE:
        prd__buf_puts(b, "true");
        return;
    case JSON_FALSE:
        prd__buf_puts(b, "false");
        return;
    default:
        prd__buf_puts(b, "null");
        return;
    }
}
