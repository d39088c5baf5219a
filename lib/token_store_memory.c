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
    mem_put, mem_get, mem_touch, mem_take, mem_remove_subject, mem_count, mem_destroy,
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
