/* Server-side sessions and single-use tokens over a prd_token_store. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/token_store.h"

#include <string.h>

#include <sodium.h>

#define MS INT64_C(1000000)

struct prd_token_sessions {
    prd_token_store *store;
    char prefix[PRD_OPAQUE_PREFIX_MAX + 1];
    int64_t idle_ns, absolute_ns;
    const prd_clock *clock;
};

prd_status prd_token_sessions_new(prd_token_store *store, const char *prefix,
                                  prd_token_sessions **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    char probe[PRD_OPAQUE_TOKEN_MAX + 1];
    if (!store || prd_token_opaque_new(prefix, probe, sizeof probe, NULL) != PRD_OK)
        return PRD_EINVAL;
    prd_token_sessions *s = prd__calloc(1, sizeof *s);
    if (!s)
        return PRD_ENOMEM;
    s->store = store;
    memcpy(s->prefix, prefix, strlen(prefix) + 1); /* prd_token_opaque_new checked it */
    s->idle_ns = 30 * 60 * 1000 * MS;
    s->absolute_ns = 8 * 3600 * 1000 * MS;
    *out = s;
    return PRD_OK;
}

void prd_token_sessions_free(prd_token_sessions *s)
{
    prd__free(s);
}

prd_status prd_token_sessions_set_timeouts(prd_token_sessions *s, int64_t idle_ms,
                                           int64_t absolute_ms)
{
    if (!s || idle_ms <= 0 || absolute_ms <= 0 || idle_ms > absolute_ms ||
        absolute_ms > INT64_C(366) * 86400 * 1000)
        return PRD_EINVAL;
    s->idle_ns = idle_ms * MS;
    s->absolute_ns = absolute_ms * MS;
    return PRD_OK;
}

prd_status prd_token_sessions_set_clock(prd_token_sessions *s, const prd_clock *clock)
{
    if (!s)
        return PRD_EINVAL;
    s->clock = clock;
    return PRD_OK;
}

static int copy_str(char *dst, size_t cap, const char *src, size_t max)
{
    size_t n = strnlen(src, max + 1);
    if (n == 0 || n > max || n >= cap)
        return 0;
    memcpy(dst, src, n + 1);
    return 1;
}

static prd_status give_subject(const struct prd__token_record *r, char *out, size_t size)
{
    if (!out)
        return PRD_OK;
    size_t n = strlen(r->subject);
    if (size <= n) {
        if (size)
            out[0] = '\0';
        return PRD_ENOSPACE;
    }
    memcpy(out, r->subject, n + 1);
    return PRD_OK;
}

/* Make a token and store its record (filled but for the digest). */
static prd_status store_new(prd_token_sessions *s, struct prd__token_record *rec, int64_t now,
                            char *token_out, size_t out_size)
{
    prd_status st = prd_token_opaque_new(s->prefix, token_out, out_size, rec->digest);
    if (st == PRD_OK)
        st = s->store->ops->put(s->store->impl, rec, now);
    if (st != PRD_OK && token_out && out_size)
        prd_memzero(token_out, out_size); /* a token that was never stored must not be used */
    return st;
}

prd_status prd_token_session_create(prd_token_sessions *s, const char *subject, char *token_out,
                                    size_t out_size)
{
    if (token_out && out_size)
        token_out[0] = '\0';
    struct prd__token_record rec;
    memset(&rec, 0, sizeof rec);
    if (!s || !subject || !token_out ||
        !copy_str(rec.subject, sizeof rec.subject, subject, PRD_SESSION_SUBJECT_MAX))
        return PRD_EINVAL;
    int64_t now = prd_clock_wall_ns(s->clock);
    rec.kind = PRD__RECORD_SESSION;
    rec.created_ns = rec.last_used_ns = now;
    rec.idle_ns = s->idle_ns;
    rec.expires_ns = now + s->absolute_ns;
    return store_new(s, &rec, now, token_out, out_size);
}

/* Digest a presented token; a malformed one is simply not ours. */
static prd_status digest_of(const prd_token_sessions *s, const char *token, size_t len,
                            unsigned char digest[PRD_OPAQUE_DIGEST_BYTES])
{
    return prd_token_opaque_digest(s->prefix, token, len, digest);
}

/* Digest a presented token and fetch its record: get (look) or take
 * (look and delete in one step). A malformed or unknown token is
 * PRD_EBADTOKEN; other statuses are the store's. */
static prd_status lookup(prd_token_sessions *s, const char *token, size_t len, int take,
                         unsigned char digest[PRD_OPAQUE_DIGEST_BYTES],
                         struct prd__token_record *rec)
{
    if (digest_of(s, token, len, digest) != PRD_OK)
        return PRD_EBADTOKEN;
    prd_status st = take ? s->store->ops->take(s->store->impl, digest, rec)
                         : s->store->ops->get(s->store->impl, digest, rec);
    return st == PRD_ENOTFOUND ? PRD_EBADTOKEN : st;
}

prd_status prd_token_session_validate(prd_token_sessions *s, const char *token, size_t len,
                                      char *subject_out, size_t subject_size)
{
    if (subject_out && subject_size)
        subject_out[0] = '\0';
    if (!s || !token)
        return PRD_EINVAL;
    unsigned char digest[PRD_OPAQUE_DIGEST_BYTES];
    struct prd__token_record rec;
    prd_status st = lookup(s, token, len, 0, digest, &rec);
    if (st != PRD_OK)
        return st;
    if (rec.kind != PRD__RECORD_SESSION)
        return PRD_EBADTOKEN;
    int64_t now = prd_clock_wall_ns(s->clock);
    if (prd__record_expired(&rec, now)) {
        s->store->ops->take(s->store->impl, digest, &rec);
        return PRD_EEXPIRED;
    }
    s->store->ops->touch(s->store->impl, digest, now);
    return give_subject(&rec, subject_out, subject_size);
}

prd_status prd_token_session_rotate(prd_token_sessions *s, const char *old_token, size_t len,
                                    char *new_out, size_t out_size)
{
    if (new_out && out_size)
        new_out[0] = '\0';
    if (!s || !old_token || !new_out)
        return PRD_EINVAL;
    if (out_size <= strlen(s->prefix) + 1 + 48)
        return PRD_ENOSPACE;
    unsigned char digest[PRD_OPAQUE_DIGEST_BYTES];
    struct prd__token_record rec;
    /* Looked at before it is taken: a single-use token presented here by
     * mistake must not be burned (it was, before). */
    prd_status st = lookup(s, old_token, len, 0, digest, &rec);
    if (st != PRD_OK)
        return st;
    if (rec.kind != PRD__RECORD_SESSION)
        return PRD_EBADTOKEN;
    st = s->store->ops->take(s->store->impl, digest, &rec); /* atomic: one rotation wins */
    if (st == PRD_ENOTFOUND)
        return PRD_EBADTOKEN;
    if (st != PRD_OK)
        return st;
    int64_t now = prd_clock_wall_ns(s->clock);
    if (prd__record_expired(&rec, now))
        return PRD_EEXPIRED;
    rec.last_used_ns = now; /* same subject and absolute end; a fresh idle window */
    return store_new(s, &rec, now, new_out, out_size);
}

prd_status prd_token_session_revoke(prd_token_sessions *s, const char *token, size_t len)
{
    if (!s || !token)
        return PRD_EINVAL;
    unsigned char digest[PRD_OPAQUE_DIGEST_BYTES];
    struct prd__token_record rec;
    return lookup(s, token, len, 1, digest, &rec);
}

prd_status prd_token_session_revoke_subject(prd_token_sessions *s, const char *subject,
                                            size_t *count)
{
    if (count)
        *count = 0;
    if (!s || !subject || !*subject || strnlen(subject, PRD_SESSION_SUBJECT_MAX + 1) > PRD_SESSION_SUBJECT_MAX)
        return PRD_EINVAL;
    return s->store->ops->remove_subject(s->store->impl, subject, count);
}

static void fingerprint(const void *binding, size_t len, unsigned char out[32])
{
    static const unsigned char domain[] = "prodready single-use binding";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, domain, sizeof domain - 1);
    crypto_generichash_update(&st, binding, len);
    crypto_generichash_final(&st, out, 32);
}

prd_status prd_token_single_use_issue(prd_token_sessions *s, const char *purpose,
                                      const char *subject, int64_t ttl_ms, const void *binding,
                                      size_t binding_len, char *token_out, size_t out_size)
{
    if (token_out && out_size)
        token_out[0] = '\0';
    struct prd__token_record rec;
    memset(&rec, 0, sizeof rec);
    if (!s || !purpose || !subject || !token_out || (binding_len && !binding) ||
        ttl_ms < 1000 || ttl_ms > INT64_C(7) * 86400 * 1000 ||
        !copy_str(rec.subject, sizeof rec.subject, subject, PRD_SESSION_SUBJECT_MAX) ||
        !copy_str(rec.purpose, sizeof rec.purpose, purpose, sizeof rec.purpose - 1))
        return PRD_EINVAL;
    int64_t now = prd_clock_wall_ns(s->clock);
    rec.kind = PRD__RECORD_SINGLE_USE;
    rec.created_ns = rec.last_used_ns = now;
    rec.expires_ns = now + ttl_ms * MS;
    if (binding) {
        fingerprint(binding, binding_len, rec.binding_fp);
        rec.has_binding = 1;
    }
    return store_new(s, &rec, now, token_out, out_size);
}

prd_status prd_token_single_use_consume(prd_token_sessions *s, const char *purpose,
                                        const char *token, size_t len, const void *binding,
                                        size_t binding_len, char *subject_out, size_t subject_size)
{
    if (subject_out && subject_size)
        subject_out[0] = '\0';
    if (!s || !purpose || !token || (binding_len && !binding))
        return PRD_EINVAL;
    unsigned char digest[PRD_OPAQUE_DIGEST_BYTES];
    struct prd__token_record rec;
    /* A session token presented here is left alone; a single-use one is
     * taken (atomically: two concurrent consumers cannot both win) before
     * any check, so a wrong guess at purpose or binding burns it. */
    prd_status st = lookup(s, token, len, 0, digest, &rec);
    if (st == PRD_OK && rec.kind != PRD__RECORD_SINGLE_USE)
        return PRD_EBADTOKEN;
    if (st == PRD_OK) {
        st = s->store->ops->take(s->store->impl, digest, &rec); /* digest already known */
        if (st == PRD_ENOTFOUND)
            st = PRD_EBADTOKEN; /* another consumer won the race */
    }
    if (st != PRD_OK)
        return st;
    if (prd__record_expired(&rec, prd_clock_wall_ns(s->clock)))
        return PRD_EEXPIRED;
    int purpose_ok = strcmp(rec.purpose, purpose) == 0;
    int binding_ok = 1;
    if (rec.has_binding) {
        unsigned char fp[32];
        fingerprint(binding ? binding : "", binding_len, fp);
        binding_ok = binding != NULL && sodium_memcmp(fp, rec.binding_fp, 32) == 0;
    }
    if (!purpose_ok || !binding_ok)
        return PRD_EBADTOKEN;
    return give_subject(&rec, subject_out, subject_size);
}
