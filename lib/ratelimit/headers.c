/*
 * What a limiter decision tells an HTTP client: the RateLimit-Policy and
 * RateLimit fields of draft-ietf-httpapi-ratelimit-headers-10 (Structured
 * Fields lists), Retry-After, and an RFC 9457 problem details body of the
 * draft's "quota-exceeded" type. All follow snprintf's rules and never
 * leave a truncated value in the buffer.
 */
#include "internal/common.h"
#include "internal/ratelimit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define NEVER_S 86400 /* "never" (cost over the limit) has no honest Retry-After: a day */

/* snprintf rules over a growing buffer. */
struct sbuf {
    char *out;
    size_t size, len;
};

static struct sbuf sbuf_start(char *out, size_t size)
{
    if (out && size)
        out[0] = '\0';
    return (struct sbuf){out, size, 0};
}

__attribute__((format(printf, 2, 3))) static void put(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = b->out && b->len < b->size ? b->out + b->len : NULL;
    int n = vsnprintf(dst, dst ? b->size - b->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n;
}

static size_t finish(struct sbuf *b)
{
    if (b->out && b->size > 0 && b->len >= b->size)
        b->out[0] = '\0'; /* never a truncated header */
    return b->len;
}

static int64_t ceil_s(int64_t ms)
{
    return ms <= 0 ? 0 : (ms + 999) / 1000;
}

static int decision_ok(const prd_limiter *lim, const prd_rl_decision *d)
{
    return lim && prd__rl_in_ok(d) && d->rule >= 0 && (uint32_t)d->rule < lim->hdr->n_rules;
}

/* The wait a client is told: until the request would be admitted (a
 * denial; a day for "never"), else until the window is clear again. */
static int64_t wait_s(const prd_rl_decision *d)
{
    if (d->allowed)
        return ceil_s(d->reset_ms);
    int64_t s = d->retry_after_ms < 0 ? NEVER_S : ceil_s(d->retry_after_ms);
    return s < 1 ? 1 : s;
}

size_t prd_limiter_policy_header(const prd_limiter *lim, char *out, size_t out_size)
{
    struct sbuf b = sbuf_start(out, out_size);
    if (!lim)
        return 0;
    for (uint32_t i = 0; i < lim->hdr->n_rules; i++) {
        const struct prd__rl_rule *r = &lim->hdr->rules[i];
        put(&b, "%s\"%s\";q=%llu;w=%lld", i ? ", " : "", r->name, (unsigned long long)r->limit,
            (long long)ceil_s(r->window_ms));
    }
    return finish(&b);
}

size_t prd_limiter_ratelimit_header_pk(const prd_limiter *lim, const prd_rl_decision *d,
                                       const void *pk, size_t pk_len, char *out, size_t out_size)
{
    struct sbuf b = sbuf_start(out, out_size);
    if (!decision_ok(lim, d) || pk_len > PRD_RL_PK_MAX || (pk_len && !pk))
        return 0;
    put(&b, "\"%s\";r=%llu;t=%lld", lim->hdr->rules[d->rule].name,
        (unsigned long long)(d->allowed ? d->remaining : 0), (long long)wait_s(d));
    if (pk_len) {
        /* A Structured Fields byte sequence: standard base64, padded. */
        char b64[sodium_base64_ENCODED_LEN(PRD_RL_PK_MAX, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, pk, pk_len, sodium_base64_VARIANT_ORIGINAL);
        put(&b, ";pk=:%s:", b64);
    }
    return finish(&b);
}

size_t prd_limiter_ratelimit_header(const prd_limiter *lim, const prd_rl_decision *d, char *out,
                                    size_t out_size)
{
    return prd_limiter_ratelimit_header_pk(lim, d, NULL, 0, out, out_size);
}

size_t prd_limiter_retry_after_header(const prd_rl_decision *d, char *out, size_t out_size)
{
    struct sbuf b = sbuf_start(out, out_size);
    if (!prd__rl_in_ok(d) || d->allowed)
        return 0;
    /* The same rounding as RateLimit's t: never earlier than it. */
    put(&b, "%lld", (long long)wait_s(d));
    return finish(&b);
}

size_t prd_limiter_problem_json(const prd_limiter *lim, const prd_rl_decision *d, char *out,
                                size_t out_size)
{
    struct sbuf b = sbuf_start(out, out_size);
    if (!decision_ok(lim, d) || d->allowed)
        return 0;
    /* Rule names are [A-Za-z0-9_-]: nothing to escape. */
    put(&b,
        "{\"type\":\"https://iana.org/assignments/http-problem-types#quota-exceeded\","
        "\"title\":\"Too Many Requests\",\"status\":429,"
        "\"detail\":\"Quota exceeded; retry in %lld s.\",\"violated-policies\":[\"%s\"]}",
        (long long)wait_s(d), lim->hdr->rules[d->rule].name);
    return finish(&b);
}

size_t prd_rl_header_size(void) { return PRD_RL_HEADER_SIZE; }
