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
    int64_t refresh_ttl_ns, family_ns, grace_ns;
    const prd_clock *clock;
};

#define REFRESH_PREFIX "rt"
#define DAY_MS (INT64_C(86400) * 1000)

prd_status prd_token_sessions_new(prd_token_store *store, const char *prefix,
                                  prd_token_sessions **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    char probe[PRD_OPAQUE_TOKEN_SIZE];
    if (!store || prd_token_opaque_new(prefix, probe, sizeof probe, NULL) != PRD_OK)
        return PRD_EINVAL;
    prd_token_sessions *s = prd__calloc(1, sizeof *s);
    if (!s)
        return PRD_ENOMEM;
    s->store = store;
    memcpy(s->prefix, prefix, strlen(prefix) + 1); /* prd_token_opaque_new checked it */
    s->idle_ns = 30 * 60 * 1000 * MS;
    s->absolute_ns = 8 * 3600 * 1000 * MS;
    s->refresh_ttl_ns = 14 * DAY_MS * MS;
    s->family_ns = 90 * DAY_MS * MS;
    s->grace_ns = 0;
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

/* ---- refresh tokens ---- */

prd_status prd_token_refresh_set_policy(prd_token_sessions *s, int64_t token_ttl_ms,
                                        int64_t family_ms, int64_t grace_ms)
{
    if (!s || token_ttl_ms < 1000 || family_ms < token_ttl_ms || family_ms > 366 * DAY_MS ||
        grace_ms < 0 || grace_ms > 60 * 1000)
        return PRD_EINVAL;
    s->refresh_ttl_ns = token_ttl_ms * MS;
    s->family_ns = family_ms * MS;
    s->grace_ns = grace_ms * MS;
    return PRD_OK;
}

prd_status prd_token_refresh_issue(prd_token_sessions *s, const char *subject, char *token_out,
                                   size_t out_size)
{
    if (token_out && out_size)
        token_out[0] = '\0';
    struct prd__token_record fam, rec;
    memset(&fam, 0, sizeof fam);
    if (!s || !subject || !token_out ||
        !copy_str(fam.subject, sizeof fam.subject, subject, PRD_SESSION_SUBJECT_MAX))
        return PRD_EINVAL;
    if (out_size <= strlen(REFRESH_PREFIX) + 1 + 48)
        return PRD_ENOSPACE;
    int64_t now = prd_clock_wall_ns(s->clock);
    /* The family: a record under a random id that no token digests to. */
    randombytes_buf(fam.digest, sizeof fam.digest);
    fam.kind = PRD__RECORD_FAMILY;
    fam.created_ns = fam.last_used_ns = now;
    fam.expires_ns = now + s->family_ns;
    rec = fam;
    rec.kind = PRD__RECORD_REFRESH;
    memcpy(rec.family, fam.digest, sizeof rec.family);
    rec.state = PRD__REFRESH_CURRENT;
    rec.expires_ns = now + s->refresh_ttl_ns;
    prd_status st = s->store->ops->put(s->store->impl, &fam, now);
    if (st != PRD_OK)
        return st;
    st = prd_token_opaque_new(REFRESH_PREFIX, token_out, out_size, rec.digest);
    if (st == PRD_OK)
        st = s->store->ops->put(s->store->impl, &rec, now);
    if (st != PRD_OK) {
        struct prd__token_record gone;
        s->store->ops->take(s->store->impl, fam.digest, &gone);
        prd_memzero(token_out, out_size);
    }
    return st;
}

prd_status prd_token_refresh_rotate(prd_token_sessions *s, const char *token, size_t len,
                                    char *new_out, size_t out_size, char *subject_out,
                                    size_t subject_size, int *reused)
{
    if (new_out && out_size)
        new_out[0] = '\0';
    if (subject_out && subject_size)
        subject_out[0] = '\0';
    if (reused)
        *reused = 0;
    if (!s || !token || !new_out)
        return PRD_EINVAL;
    if (out_size <= strlen(REFRESH_PREFIX) + 1 + 48)
        return PRD_ENOSPACE;
    unsigned char digest[PRD_OPAQUE_DIGEST_BYTES], next[PRD_OPAQUE_DIGEST_BYTES];
    if (prd_token_opaque_digest(REFRESH_PREFIX, token, len, digest) != PRD_OK)
        return PRD_EBADTOKEN;
    prd_status st = prd_token_opaque_new(REFRESH_PREFIX, new_out, out_size, next);
    if (st != PRD_OK)
        return st;
    char subject[PRD_SESSION_SUBJECT_SIZE] = "";
    enum prd__refresh_outcome outcome = PRD__REFRESH_UNKNOWN;
    st = s->store->ops->refresh(s->store->impl, digest, next, prd_clock_wall_ns(s->clock),
                                s->refresh_ttl_ns, s->grace_ns, &outcome, subject);
    if (st == PRD_OK && outcome == PRD__REFRESH_REUSED && reused)
        *reused = 1;
    if (st == PRD_OK && outcome != PRD__REFRESH_OK && outcome != PRD__REFRESH_RETRY)
        st = outcome == PRD__REFRESH_EXPIRED ? PRD_EEXPIRED : PRD_EBADTOKEN;
    if (st != PRD_OK)
        prd_memzero(new_out, out_size); /* a token that was never stored must not be used */
    /* the subject goes out on reuse too: the application tells its owner */
    if ((st == PRD_OK || (reused && *reused)) && subject[0] && subject_out) {
        struct prd__token_record r;
        memcpy(r.subject, subject, sizeof r.subject);
        prd_status gs = give_subject(&r, subject_out, subject_size);
        if (gs != PRD_OK && st == PRD_OK)
            st = gs; /* rotated all the same: the new token stands */
    }
    return st;
}

prd_status prd_token_refresh_revoke(prd_token_sessions *s, const char *token, size_t len)
{
    if (!s || !token)
        return PRD_EINVAL;
    unsigned char digest[PRD_OPAQUE_DIGEST_BYTES];
    if (prd_token_opaque_digest(REFRESH_PREFIX, token, len, digest) != PRD_OK)
        return PRD_EBADTOKEN;
    prd_status st = s->store->ops->refresh_revoke(s->store->impl, digest);
    return st == PRD_ENOTFOUND ? PRD_EBADTOKEN : st;
}

/* ---- a subject's sessions ---- */

prd_status prd_token_session_list(prd_token_sessions *s, const char *subject,
                                  prd_session_info *out, size_t cap, size_t *count)
{
    if (count)
        *count = 0;
    if (!s || !subject || !*subject || !count || (cap && !out) ||
        strnlen(subject, PRD_SESSION_SUBJECT_MAX + 1) > PRD_SESSION_SUBJECT_MAX ||
        cap > PRD_SESSION_LIST_MAX)
        return PRD_EINVAL;
    /* out[0].size declares the element size (PRD_SESSION_INFO_INIT): the
     * stride, at least this version's struct. */
    size_t stride = cap ? out[0].size : sizeof *out;
    /* Above 16 times this struct it is uninitialised memory, not a later
     * version: striding by it would write far outside the caller's array. */
    if (stride < sizeof *out || stride > 16 * sizeof *out)
        return PRD_EINVAL;
    struct prd__token_record *recs = NULL;
    if (cap) {
        recs = prd__calloc(cap, sizeof *recs);
        if (!recs)
            return PRD_ENOMEM;
    }
    size_t total = 0;
    prd_status st = s->store->ops->list_subject(s->store->impl, subject,
                                                prd_clock_wall_ns(s->clock), recs, cap, &total);
    if (st == PRD_OK) {
        for (size_t i = 0; i < cap && i < total; i++) {
            prd_session_info *o = (prd_session_info *)(void *)((char *)out + i * stride);
            memset(o, 0, sizeof *o);
            o->size = stride;
            prd_hex_encode(o->id, sizeof o->id, recs[i].digest, PRD__SESSION_ID_BYTES);
            o->kind = recs[i].kind == PRD__RECORD_FAMILY ? PRD_SESSION_KIND_REFRESH
                                                          : PRD_SESSION_KIND_SESSION;
            o->created_ns = recs[i].created_ns;
            o->last_used_ns = recs[i].last_used_ns;
            o->expires_ns = recs[i].expires_ns;
            if (recs[i].kind == PRD__RECORD_SESSION &&
                recs[i].last_used_ns + recs[i].idle_ns < o->expires_ns)
                o->expires_ns = recs[i].last_used_ns + recs[i].idle_ns;
        }
        *count = total;
    }
    if (recs) {
        sodium_memzero(recs, cap * sizeof *recs);
        prd__free(recs);
    }
    return st;
}

prd_status prd_token_session_revoke_id(prd_token_sessions *s, const char *subject,
                                       const char *id)
{
    unsigned char bin[PRD__SESSION_ID_BYTES];
    size_t n = 0;
    if (!s || !subject || !*subject || !id ||
        strnlen(subject, PRD_SESSION_SUBJECT_MAX + 1) > PRD_SESSION_SUBJECT_MAX)
        return PRD_EINVAL;
    if (strlen(id) != 2 * PRD__SESSION_ID_BYTES ||
        sodium_hex2bin(bin, sizeof bin, id, strlen(id), NULL, &n, NULL) != 0 || n != sizeof bin)
        return PRD_ENOTFOUND;
    prd_status st = s->store->ops->remove_id(s->store->impl, subject, bin);
    return st;
}

size_t prd_session_subject_size(void) { return PRD_SESSION_SUBJECT_SIZE; }
size_t prd_session_id_size(void) { return PRD_SESSION_ID_SIZE; }
