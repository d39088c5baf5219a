/* prd_keyring: several keys, one current per purpose, found by PASERK id. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/token.h"

#include <pthread.h>
#include <string.h>

struct entry {
    prd_token_key *key;
    char kid[PRD_PASERK_ID_SIZE]; /* lid (local) or pid (public, secret): what footers carry */
    char sid[PRD_PASERK_ID_SIZE]; /* secret keys only */
};

struct prd_keyring {
    pthread_rwlock_t lock;
    struct entry e[PRD_KEYRING_MAX];
    size_t n;
    int current_local;  /* index or -1 */
    int current_secret; /* index or -1 */
};

prd_status prd_keyring_new(prd_keyring **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    prd_keyring *r = prd__calloc(1, sizeof *r);
    if (!r)
        return PRD_ENOMEM;
    if (pthread_rwlock_init(&r->lock, NULL) != 0) {
        prd__free(r);
        return PRD_ENOMEM;
    }
    r->current_local = r->current_secret = -1;
    *out = r;
    return PRD_OK;
}

void prd_keyring_free(prd_keyring *ring)
{
    if (!ring)
        return;
    for (size_t i = 0; i < ring->n; i++)
        prd_token_key_free(ring->e[i].key);
    pthread_rwlock_destroy(&ring->lock);
    prd__free(ring);
}

static int find_locked(const prd_keyring *ring, const char *kid)
{
    for (size_t i = 0; i < ring->n; i++)
        if (strcmp(ring->e[i].kid, kid) == 0 || (ring->e[i].sid[0] && strcmp(ring->e[i].sid, kid) == 0))
            return (int)i;
    return -1;
}

static void make_current_locked(prd_keyring *ring, int i)
{
    if (ring->e[i].key->kind == PRD_KEY_LOCAL)
        ring->current_local = i;
    else
        ring->current_secret = i;
}

prd_status prd_keyring_add(prd_keyring *ring, const prd_token_key *key, int make_current)
{
    if (!ring || !key)
        return PRD_EINVAL;
    prd_key_kind kind = prd_token_key_kind(key);
    if (make_current && kind == PRD_KEY_PUBLIC)
        return PRD_EINVAL;
    struct entry e;
    memset(&e, 0, sizeof e);
    if (kind == PRD_KEY_SECRET) {
        prd_token_key *pub = NULL;
        prd_status st = prd_token_key_public(key, &pub);
        if (st != PRD_OK)
            return st;
        prd_token_key_id(pub, e.kid, sizeof e.kid);
        prd_token_key_free(pub);
        prd_token_key_id(key, e.sid, sizeof e.sid);
    } else {
        prd_token_key_id(key, e.kid, sizeof e.kid);
    }
    prd_status st = prd__token_key_dup(key, &e.key);
    if (st != PRD_OK)
        return st;
    pthread_rwlock_wrlock(&ring->lock);
    if (find_locked(ring, e.kid) >= 0 || (e.sid[0] && find_locked(ring, e.sid) >= 0)) {
        st = PRD_EINVAL;
    } else if (ring->n == PRD_KEYRING_MAX) {
        st = PRD_ETOOBIG;
    } else {
        ring->e[ring->n] = e;
        if (make_current)
            make_current_locked(ring, (int)ring->n);
        ring->n++;
        e.key = NULL;
    }
    pthread_rwlock_unlock(&ring->lock);
    prd_token_key_free(e.key);
    return st;
}

prd_status prd_keyring_set_current(prd_keyring *ring, const char *kid)
{
    if (!ring || !kid)
        return PRD_EINVAL;
    pthread_rwlock_wrlock(&ring->lock);
    int i = find_locked(ring, kid);
    prd_status st = PRD_OK;
    if (i < 0)
        st = PRD_ENOTFOUND;
    else if (ring->e[i].key->kind == PRD_KEY_PUBLIC)
        st = PRD_EINVAL; /* a public key cannot issue */
    else
        make_current_locked(ring, i);
    pthread_rwlock_unlock(&ring->lock);
    return st;
}

static void fix_index(int *cur, int removed)
{
    if (*cur == removed)
        *cur = -1;
    else if (*cur > removed)
        (*cur)--;
}

prd_status prd_keyring_remove(prd_keyring *ring, const char *kid)
{
    if (!ring || !kid)
        return PRD_EINVAL;
    pthread_rwlock_wrlock(&ring->lock);
    int i = find_locked(ring, kid);
    prd_token_key *gone = NULL;
    if (i >= 0) {
        gone = ring->e[i].key;
        memmove(&ring->e[i], &ring->e[i + 1], (ring->n - (size_t)i - 1) * sizeof ring->e[0]);
        ring->n--;
        fix_index(&ring->current_local, i);
        fix_index(&ring->current_secret, i);
    }
    pthread_rwlock_unlock(&ring->lock);
    prd_token_key_free(gone);
    return i >= 0 ? PRD_OK : PRD_ENOTFOUND;
}

size_t prd_keyring_count(const prd_keyring *ring)
{
    if (!ring)
        return 0;
    pthread_rwlock_rdlock((pthread_rwlock_t *)&ring->lock);
    size_t n = ring->n;
    pthread_rwlock_unlock((pthread_rwlock_t *)&ring->lock);
    return n;
}

void prd__keyring_rdlock(const prd_keyring *ring)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&ring->lock);
}

void prd__keyring_unlock(const prd_keyring *ring)
{
    pthread_rwlock_unlock((pthread_rwlock_t *)&ring->lock);
}

const prd_token_key *prd__keyring_current(const prd_keyring *ring, prd_token_purpose purpose,
                                          const char **kid)
{
    int i = purpose == PRD_TOKEN_LOCAL ? ring->current_local : ring->current_secret;
    if (i < 0)
        return NULL;
    *kid = ring->e[i].kid;
    return ring->e[i].key;
}

static int serves(const prd_token_key *key, prd_token_purpose purpose)
{
    return purpose == PRD_TOKEN_LOCAL ? key->kind == PRD_KEY_LOCAL : key->kind != PRD_KEY_LOCAL;
}

const prd_token_key *prd__keyring_find(const prd_keyring *ring, prd_token_purpose purpose,
                                       const char *kid)
{
    if (kid) {
        for (size_t i = 0; i < ring->n; i++)
            if (strcmp(ring->e[i].kid, kid) == 0)
                return serves(ring->e[i].key, purpose) ? ring->e[i].key : NULL;
    }
    const prd_token_key *only = NULL;
    for (size_t i = 0; i < ring->n; i++) {
        if (!serves(ring->e[i].key, purpose))
            continue;
        if (only)
            return NULL; /* several candidates and no id: refuse to guess */
        only = ring->e[i].key;
    }
    return only;
}
