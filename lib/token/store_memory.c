/* The in-memory token store: a chained hash table keyed by digest (already
 * uniformly random, so its first bytes are the hash), under one mutex. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/token_store.h"

#include <pthread.h>
#include <string.h>

#include <sodium.h>

struct node {
    struct node *next;
    struct prd__token_record rec;
};

struct mem {
    pthread_mutex_t mu;
    struct node **buckets;
    size_t n_buckets; /* a power of two */
    size_t count, max;
};

static size_t slot(const struct mem *m, const unsigned char *digest)
{
    uint64_t h;
    memcpy(&h, digest, sizeof h);
    return (size_t)(h & (m->n_buckets - 1));
}

/* The link that points at the record with this digest, or NULL. Digests are
 * compared in constant time: lookups reveal nothing about near misses. */
static struct node **find(struct mem *m, const unsigned char *digest)
{
    for (struct node **pp = &m->buckets[slot(m, digest)]; *pp; pp = &(*pp)->next)
        if (sodium_memcmp((*pp)->rec.digest, digest, PRD_OPAQUE_DIGEST_BYTES) == 0)
            return pp;
    return NULL;
}

static void unlink_free(struct mem *m, struct node **pp)
{
    struct node *n = *pp;
    *pp = n->next;
    sodium_memzero(n, sizeof *n);
    prd__free(n);
    m->count--;
}

/* Reclaim expired records; O(records), only when the store is full. */
static void sweep(struct mem *m, int64_t now)
{
    for (size_t b = 0; b < m->n_buckets; b++)
        for (struct node **pp = &m->buckets[b]; *pp;)
            if (prd__record_expired(&(*pp)->rec, now))
                unlink_free(m, pp);
            else
                pp = &(*pp)->next;
}

static prd_status mem_put(void *impl, const struct prd__token_record *r, int64_t now)
{
    struct mem *m = impl;
    struct node *n = prd__malloc(sizeof *n);
    if (!n)
        return PRD_ENOMEM;
    n->rec = *r;
    pthread_mutex_lock(&m->mu);
    if (m->count >= m->max)
        sweep(m, now);
    prd_status st = PRD_OK;
    if (m->count >= m->max) {
        st = PRD_EBUSY;
    } else {
        size_t s = slot(m, r->digest);
        n->next = m->buckets[s];
        m->buckets[s] = n;
        m->count++;
        n = NULL;
    }
    pthread_mutex_unlock(&m->mu);
    prd__free(n);
    return st;
}

static prd_status mem_get(void *impl, const unsigned char *digest, struct prd__token_record *out)
{
    struct mem *m = impl;
    pthread_mutex_lock(&m->mu);
    struct node **pp = find(m, digest);
    if (pp)
        *out = (*pp)->rec;
    pthread_mutex_unlock(&m->mu);
    return pp ? PRD_OK : PRD_ENOTFOUND;
}

static prd_status mem_touch(void *impl, const unsigned char *digest, int64_t last_used)
{
    struct mem *m = impl;
    pthread_mutex_lock(&m->mu);
    struct node **pp = find(m, digest);
    if (pp && last_used > (*pp)->rec.last_used_ns)
        (*pp)->rec.last_used_ns = last_used;
    pthread_mutex_unlock(&m->mu);
    return pp ? PRD_OK : PRD_ENOTFOUND;
}

static prd_status mem_take(void *impl, const unsigned char *digest, struct prd__token_record *out)
{
    struct mem *m = impl;
    pthread_mutex_lock(&m->mu);
    struct node **pp = find(m, digest);
    if (pp) {
        *out = (*pp)->rec;
        unlink_free(m, pp);
    }
    pthread_mutex_unlock(&m->mu);
    return pp ? PRD_OK : PRD_ENOTFOUND;
}

static prd_status mem_remove_subject(void *impl, const char *subject, size_t *count)
{
    struct mem *m = impl;
    size_t removed = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t b = 0; b < m->n_buckets; b++)
        for (struct node **pp = &m->buckets[b]; *pp;)
            /* sessions and single-use tokens alike: after a password
             * change a reset link sent before it must not work either */
            if (strcmp((*pp)->rec.subject, subject) == 0) {
                unlink_free(m, pp);
                removed++;
            } else {
                pp = &(*pp)->next;
            }
    pthread_mutex_unlock(&m->mu);
    if (count)
        *count = removed;
    return PRD_OK;
}

/* The family's next current token, from the token r it follows. */
static void fill_next(struct prd__token_record *n, const struct prd__token_record *r,
                      const unsigned char *digest, int64_t now, int64_t ttl_ns,
                      int64_t family_end)
{
    memset(n, 0, sizeof *n);
    memcpy(n->digest, digest, PRD_OPAQUE_DIGEST_BYTES);
    n->kind = PRD__RECORD_REFRESH;
    memcpy(n->subject, r->subject, sizeof n->subject);
    memcpy(n->family, r->family, sizeof n->family);
    n->state = PRD__REFRESH_CURRENT;
    n->created_ns = n->last_used_ns = now;
    n->expires_ns = now + ttl_ns < family_end ? now + ttl_ns : family_end;
}

/* Delete the token and its family record (unlinking one may move the
 * other's link: each is found afresh). */
static void drop_with_family(struct mem *m, const unsigned char *digest,
                             const unsigned char *family)
{
    unsigned char f[PRD_OPAQUE_DIGEST_BYTES];
    memcpy(f, family, sizeof f); /* family may point into the token's node */
    struct node **pp = find(m, digest);
    if (pp)
        unlink_free(m, pp);
    pp = find(m, f);
    if (pp)
        unlink_free(m, pp);
}

static prd_status mem_refresh(void *impl, const unsigned char *digest, const unsigned char *next,
                              int64_t now, int64_t ttl_ns, int64_t grace_ns,
                              enum prd__refresh_outcome *outcome,
                              char subject[PRD_SESSION_SUBJECT_SIZE])
{
    struct mem *m = impl;
    struct node *fresh = prd__malloc(sizeof *fresh); /* allocated out of the lock */
    if (!fresh)
        return PRD_ENOMEM;
    prd_status st = PRD_OK;
    pthread_mutex_lock(&m->mu);
    struct node **pp = find(m, digest), **fp = NULL, **sp = NULL;
    struct prd__token_record *r = pp ? &(*pp)->rec : NULL;
    if (!r || r->kind != PRD__RECORD_REFRESH) {
        *outcome = PRD__REFRESH_UNKNOWN;
        goto out;
    }
    memcpy(subject, r->subject, PRD_SESSION_SUBJECT_MAX + 1);
    fp = find(m, r->family);
    if (!fp) { /* the family was revoked: its tokens go as they are met */
        unlink_free(m, pp);
        *outcome = PRD__REFRESH_UNKNOWN;
        goto out;
    }
    int64_t family_end = (*fp)->rec.expires_ns;
    if (now >= r->expires_ns || now >= family_end) {
        unlink_free(m, pp);
        *outcome = PRD__REFRESH_EXPIRED;
        goto out;
    }
    /* No grace means none: now was read before the lock, so a caller that
     * waited behind the rotation has now < rotated_ns, which "within 0 of
     * it" took for a retry (two rotations of one token under ASan's
     * timing in test_stores). */
    if (r->state == PRD__REFRESH_CURRENT) {
        *outcome = PRD__REFRESH_OK;
    } else if (r->state == PRD__REFRESH_ROTATED && grace_ns > 0 && now - r->rotated_ns < grace_ns &&
               (sp = find(m, r->successor)) != NULL &&
               (*sp)->rec.state == PRD__REFRESH_CURRENT) {
        *outcome = PRD__REFRESH_RETRY;
    } else { /* reuse: whoever holds the family's tokens, none is trusted now */
        drop_with_family(m, digest, r->family);
        *outcome = PRD__REFRESH_REUSED;
        goto out;
    }
    if (m->count >= m->max) {
        sweep(m, now);
        if (m->count >= m->max) {
            st = PRD_EBUSY;
            goto out;
        }
        pp = find(m, digest); /* the sweep may have moved the links */
        sp = *outcome == PRD__REFRESH_RETRY ? find(m, (*pp)->rec.successor) : NULL;
        r = &(*pp)->rec;
    }
    if (sp)
        (*sp)->rec.state = PRD__REFRESH_SUPERSEDED; /* the lost answer's token */
    if (*outcome == PRD__REFRESH_OK) {
        r->state = PRD__REFRESH_ROTATED;
        r->rotated_ns = now;
    }
    memcpy(r->successor, next, PRD_OPAQUE_DIGEST_BYTES);
    fill_next(&fresh->rec, r, next, now, ttl_ns, family_end);
    size_t b = slot(m, next);
    fresh->next = m->buckets[b];
    m->buckets[b] = fresh;
    m->count++;
    fresh = NULL;
out:
    pthread_mutex_unlock(&m->mu);
    prd__free(fresh);
    return st;
}

static prd_status mem_refresh_revoke(void *impl, const unsigned char *digest)
{
    struct mem *m = impl;
    pthread_mutex_lock(&m->mu);
    struct node **pp = find(m, digest);
    int found = pp && (*pp)->rec.kind == PRD__RECORD_REFRESH;
    if (found)
        drop_with_family(m, digest, (*pp)->rec.family);
    pthread_mutex_unlock(&m->mu);
    return found ? PRD_OK : PRD_ENOTFOUND;
}

static int listed(const struct prd__token_record *r, const char *subject, int64_t now)
{
    return (r->kind == PRD__RECORD_SESSION || r->kind == PRD__RECORD_FAMILY) &&
           !prd__record_expired(r, now) && strcmp(r->subject, subject) == 0;
}

/* O(records): the memory store keeps no index by subject (a "your
 * devices" page is a rare request; the PostgreSQL store has the index). */
static prd_status mem_list_subject(void *impl, const char *subject, int64_t now,
                                   struct prd__token_record *out, size_t cap, size_t *total)
{
    struct mem *m = impl;
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t b = 0; b < m->n_buckets; b++)
        for (struct node *x = m->buckets[b]; x; x = x->next) {
            if (!listed(&x->rec, subject, now))
                continue;
            /* keep the cap oldest, in order: insertion into a sorted prefix */
            size_t at = n < cap ? n : cap;
            while (at > 0 && out[at - 1].created_ns > x->rec.created_ns)
                at--;
            if (at < cap) {
                size_t move = (n < cap ? n : cap - 1) - at;
                memmove(out + at + 1, out + at, move * sizeof *out);
                out[at] = x->rec;
            }
            n++;
        }
    pthread_mutex_unlock(&m->mu);
    *total = n;
    return PRD_OK;
}

static prd_status mem_remove_id(void *impl, const char *subject, const unsigned char *id)
{
    struct mem *m = impl;
    int found = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t b = 0; b < m->n_buckets && !found; b++)
        for (struct node **pp = &m->buckets[b]; *pp; pp = &(*pp)->next) {
            const struct prd__token_record *r = &(*pp)->rec;
            if ((r->kind == PRD__RECORD_SESSION || r->kind == PRD__RECORD_FAMILY) &&
                sodium_memcmp(r->digest, id, PRD__SESSION_ID_BYTES) == 0 &&
                strcmp(r->subject, subject) == 0) {
                unlink_free(m, pp);
                found = 1;
                break;
            }
        }
    pthread_mutex_unlock(&m->mu);
    return found ? PRD_OK : PRD_ENOTFOUND;
}

static size_t mem_count(void *impl)
{
    struct mem *m = impl;
    pthread_mutex_lock(&m->mu);
    size_t n = m->count;
    pthread_mutex_unlock(&m->mu);
    return n;
}

static void mem_destroy(void *impl)
{
    struct mem *m = impl;
    for (size_t b = 0; b < m->n_buckets; b++)
        while (m->buckets[b])
            unlink_free(m, &m->buckets[b]);
    pthread_mutex_destroy(&m->mu);
    prd__free(m->buckets);
    prd__free(m);
}

static const struct prd__token_store_ops mem_ops = {
    .put = mem_put,
    .get = mem_get,
    .touch = mem_touch,
    .take = mem_take,
    .remove_subject = mem_remove_subject,
    .refresh = mem_refresh,
    .refresh_revoke = mem_refresh_revoke,
    .list_subject = mem_list_subject,
    .remove_id = mem_remove_id,
    .count = mem_count,
    .destroy = mem_destroy,
};

prd_status prd_token_store_new_memory(size_t max_entries, prd_token_store **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    if (max_entries == 0 || max_entries > 10000000)
        return PRD_EINVAL;
    prd_token_store *s = prd__calloc(1, sizeof *s);
    struct mem *m = prd__calloc(1, sizeof *m);
    size_t nb = 16;
    while (nb < max_entries && nb < (1u << 22))
        nb <<= 1;
    struct node **buckets = m && s ? prd__calloc(nb, sizeof(struct node *)) : NULL; // NOLINT(bugprone-sizeof-expression): an array of pointers
    if (!s || !m || !buckets) {
        prd__free(s);
        prd__free(m);
        prd__free(buckets);
        return PRD_ENOMEM;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->buckets = buckets;
    m->n_buckets = nb;
    m->max = max_entries;
    s->ops = &mem_ops;
    s->impl = m;
    *out = s;
    return PRD_OK;
}

void prd_token_store_free(prd_token_store *store)
{
    if (!store)
        return;
    store->ops->destroy(store->impl);
    prd__free(store);
}

size_t prd_token_store_count(const prd_token_store *store)
{
    return store ? store->ops->count(store->impl) : 0;
}
