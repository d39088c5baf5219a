/*
 * prd_token_revocations: the jtis of PASETO tokens revoked before their
 * expiry. A set in this process (jti digests and the token's expiry,
 * open addressing, grown on demand up to a stated bound) that verifiers
 * consult without a round trip; with a pool, revocations go to the table
 * prd_token_revoked (lib/stores/revocations_pg.c) and every instance
 * merges what others added at most refresh_ms after its last merge, so a
 * revocation anywhere is honoured everywhere within that bound.
 */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/token.h"
#include "internal/token_revocations.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#define MS INT64_C(1000000)
/* An entry outlives its token by the longest exp leeway a verifier may
 * have (1 day): a token just past exp may still be accepted within it. */
#define KEEP_AFTER_EXP_NS (INT64_C(86400) * 1000 * MS)
#define MIN_SLOTS 64

struct entry {
    unsigned char d[PRD__JTI_DIGEST];
    int64_t expires_ns; /* 0: empty slot */
};

struct prd_token_revocations {
    pthread_rwlock_t lock;
    struct entry *slots;
    size_t n_slots, used, max_entries;
    struct prd_pg_pool *pool;
    const prd_clock *clock;
    int64_t refresh_ns, max_stale_ns;
    pthread_mutex_t sync_mu;          /* one merge at a time */
    _Atomic int64_t last_sync_mono;   /* last successful merge (monotonic ns) */
    int64_t since_ms;                 /* the database clock of the last merge's start */
    _Atomic int synced;               /* read by checks outside sync_mu */
    _Atomic uint64_t stale_refusals;
};

void prd__jti_digest(unsigned char out[PRD__JTI_DIGEST], const char *jti, size_t len)
{
    static const unsigned char dom[] = "prodready revoked jti";
    crypto_generichash(out, PRD__JTI_DIGEST, (const unsigned char *)jti, len, dom, sizeof dom - 1);
}

static size_t home(const unsigned char *d, size_t n_slots)
{
    uint64_t h;
    memcpy(&h, d, sizeof h);
    return (size_t)(h & (n_slots - 1));
}

/* Insert or extend (write lock held); the table has room. */
static void put_slot(struct entry *slots, size_t n_slots, size_t *used, const unsigned char *d,
                     int64_t expires)
{
    for (size_t i = home(d, n_slots);; i = (i + 1) & (n_slots - 1)) {
        if (slots[i].expires_ns == 0) {
            memcpy(slots[i].d, d, PRD__JTI_DIGEST);
            slots[i].expires_ns = expires;
            (*used)++;
            return;
        }
        if (memcmp(slots[i].d, d, PRD__JTI_DIGEST) == 0) {
            if (expires > slots[i].expires_ns)
                slots[i].expires_ns = expires;
            return;
        }
    }
}

/* Rebuild into n slots, leaving out entries past their keep time. */
static prd_status rebuild(prd_token_revocations *rv, size_t n, int64_t now)
{
    struct entry *fresh = prd__calloc(n, sizeof *fresh);
    if (!fresh)
        return PRD_ENOMEM;
    size_t used = 0;
    for (size_t i = 0; i < rv->n_slots; i++)
        if (rv->slots[i].expires_ns && now < rv->slots[i].expires_ns + KEEP_AFTER_EXP_NS)
            put_slot(fresh, n, &used, rv->slots[i].d, rv->slots[i].expires_ns);
    prd__free(rv->slots);
    rv->slots = fresh;
    rv->n_slots = n;
    rv->used = used;
    return PRD_OK;
}

/* The slot holding d, or NULL. */
static struct entry *slot_of(const prd_token_revocations *rv, const unsigned char *d)
{
    for (size_t i = home(d, rv->n_slots);; i = (i + 1) & (rv->n_slots - 1)) {
        if (rv->slots[i].expires_ns == 0)
            return NULL;
        if (sodium_memcmp(rv->slots[i].d, d, PRD__JTI_DIGEST) == 0)
            return &rv->slots[i];
    }
}

/* Add one (write lock held): at most half full, grown or swept as needed.
 * PRD_EBUSY past max_entries live revocations: never dropped silently. */
static prd_status add_locked(prd_token_revocations *rv, const unsigned char *d, int64_t expires,
                             int64_t now)
{
    struct entry *e = slot_of(rv, d);
    if (e) {
        if (expires > e->expires_ns)
            e->expires_ns = expires;
        return PRD_OK;
    }
    prd_status st = PRD_OK;
    if (rv->used >= rv->max_entries || (rv->used + 1) * 2 > rv->n_slots)
        st = rebuild(rv, rv->n_slots, now); /* the expired go first */
    if (st == PRD_OK && rv->used >= rv->max_entries)
        return PRD_EBUSY;
    if (st == PRD_OK && (rv->used + 1) * 2 > rv->n_slots)
        st = rebuild(rv, rv->n_slots * 2, now);
    if (st != PRD_OK)
        return st;
    put_slot(rv->slots, rv->n_slots, &rv->used, d, expires);
    return PRD_OK;
}

static int contains(const prd_token_revocations *rv, const unsigned char *d, int64_t now)
{
    const struct entry *e = slot_of(rv, d);
    return e && now < e->expires_ns + KEEP_AFTER_EXP_NS;
}

prd_status prd_token_revocations_new(struct prd_pg_pool *pool, prd_token_revocations **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    prd_token_revocations *rv = prd__calloc(1, sizeof *rv);
    if (!rv)
        return PRD_ENOMEM;
    rv->slots = prd__calloc(MIN_SLOTS, sizeof *rv->slots);
    if (!rv->slots) {
        prd__free(rv);
        return PRD_ENOMEM;
    }
    rv->n_slots = MIN_SLOTS;
    rv->max_entries = 1000000;
    rv->pool = pool;
    rv->refresh_ns = 1000 * MS;
    rv->max_stale_ns = 30 * 1000 * MS;
    pthread_rwlock_init(&rv->lock, NULL);
    pthread_mutex_init(&rv->sync_mu, NULL);
    *out = rv;
    return PRD_OK;
}

void prd_token_revocations_free(prd_token_revocations *rv)
{
    if (!rv)
        return;
    pthread_rwlock_destroy(&rv->lock);
    pthread_mutex_destroy(&rv->sync_mu);
    prd__free(rv->slots);
    prd__free(rv);
}

prd_status prd_token_revocations_set_refresh(prd_token_revocations *rv, int64_t refresh_ms,
                                             int64_t max_stale_ms)
{
    if (!rv || refresh_ms < 10 || refresh_ms > 3600 * 1000 || max_stale_ms < refresh_ms ||
        max_stale_ms > 86400 * 1000)
        return PRD_EINVAL;
    rv->refresh_ns = refresh_ms * MS;
    rv->max_stale_ns = max_stale_ms * MS;
    return PRD_OK;
}

prd_status prd_token_revocations_set_max_entries(prd_token_revocations *rv, size_t max_entries)
{
    if (!rv || max_entries < 16 || max_entries > ((size_t)1 << 26))
        return PRD_EINVAL;
    rv->max_entries = max_entries;
    return PRD_OK;
}

prd_status prd_token_revocations_set_clock(prd_token_revocations *rv, const prd_clock *clock)
{
    if (!rv)
        return PRD_EINVAL;
    rv->clock = clock;
    return PRD_OK;
}

uint64_t prd_token_revocations_stale_refusals(const prd_token_revocations *rv)
{
    return rv ? atomic_load(&rv->stale_refusals) : 0;
}

/* What a merge read, gathered before the set's lock is taken: checks
 * never wait for the database. */
struct batch {
    struct entry *v;
    size_t n, cap;
    int failed;
};

static void gather(void *arg, const unsigned char *d, int64_t expires_ns)
{
    struct batch *b = arg;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        struct entry *v = prd__realloc(b->v, cap * sizeof *v);
        if (!v) {
            b->failed = 1;
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    memcpy(b->v[b->n].d, d, PRD__JTI_DIGEST);
    b->v[b->n++].expires_ns = expires_ns;
}

/* Merge what the database has (sync_mu held). */
static prd_status sync_now(prd_token_revocations *rv)
{
    int64_t db_now = 0;
    struct batch b = {0};
    prd_status st = prd__revoked_pg_since(rv->pool, rv->synced ? rv->since_ms : -1, gather, &b,
                                          &db_now);
    if (st == PRD_OK && b.failed)
        st = PRD_ENOMEM;
    if (st == PRD_OK) {
        int64_t now = prd_clock_wall_ns(rv->clock);
        pthread_rwlock_wrlock(&rv->lock);
        for (size_t i = 0; i < b.n && st == PRD_OK; i++)
            st = add_locked(rv, b.v[i].d, b.v[i].expires_ns, now);
        pthread_rwlock_unlock(&rv->lock);
    }
    prd__free(b.v);
    if (st == PRD_OK) {
        /* the next merge reads from a little before this one began: a
         * revocation committed late (its clock read before ours, its
         * commit after our snapshot) is still found */
        rv->since_ms = db_now - PRD__REVOKED_OVERLAP_MS;
        rv->synced = 1;
        atomic_store(&rv->last_sync_mono, prd_clock_mono_ns(rv->clock));
    }
    return st;
}

/* With a pool: merge when the set is older than refresh; PRD_EDB when it
 * is older than max_stale and the database cannot be reached. */
static prd_status fresh_enough(prd_token_revocations *rv)
{
    if (!rv->pool)
        return PRD_OK;
    int64_t age = prd_clock_mono_ns(rv->clock) - atomic_load(&rv->last_sync_mono);
    if (rv->synced && age < rv->refresh_ns)
        return PRD_OK;
    if (pthread_mutex_trylock(&rv->sync_mu) == 0) {
        sync_now(rv);
        pthread_mutex_unlock(&rv->sync_mu);
    } else if (!rv->synced || age >= rv->max_stale_ns) {
        pthread_mutex_lock(&rv->sync_mu); /* wait for the merge under way */
        pthread_mutex_unlock(&rv->sync_mu);
    }
    age = prd_clock_mono_ns(rv->clock) - atomic_load(&rv->last_sync_mono);
    if (!rv->synced || age >= rv->max_stale_ns) {
        atomic_fetch_add(&rv->stale_refusals, 1);
        return PRD_EDB;
    }
    return PRD_OK;
}

static prd_status check_digest(prd_token_revocations *rv, const unsigned char *d)
{
    prd_status st = fresh_enough(rv);
    if (st != PRD_OK)
        return st;
    pthread_rwlock_rdlock(&rv->lock);
    int hit = contains(rv, d, prd_clock_wall_ns(rv->clock));
    pthread_rwlock_unlock(&rv->lock);
    return hit ? PRD_EBADTOKEN : PRD_OK;
}

static int jti_ok(const char *jti, size_t *len)
{
    if (!jti)
        return 0;
    *len = strnlen(jti, PRD_TOKEN_JTI_MAX + 1);
    return *len > 0 && *len <= PRD_TOKEN_JTI_MAX;
}

prd_status prd_token_revoke_jti(prd_token_revocations *rv, const char *jti, int64_t expires_ns)
{
    size_t len = 0;
    if (!rv || !jti_ok(jti, &len) || expires_ns <= 0)
        return PRD_EINVAL;
    unsigned char d[PRD__JTI_DIGEST];
    prd__jti_digest(d, jti, len);
    int64_t now = prd_clock_wall_ns(rv->clock);
    if (now >= expires_ns + KEEP_AFTER_EXP_NS)
        return PRD_OK; /* long expired: nothing to refuse */
    if (rv->pool) {
        prd_status st = prd__revoked_pg_add(rv->pool, d, expires_ns);
        if (st != PRD_OK)
            return st; /* not revoked anywhere, said so: the caller may retry */
    }
    pthread_rwlock_wrlock(&rv->lock);
    prd_status st = add_locked(rv, d, expires_ns, now);
    pthread_rwlock_unlock(&rv->lock);
    return st;
}

prd_status prd_token_revoke_verified(prd_token_revocations *rv, const prd_token_verified *t)
{
    if (!rv || !t)
        return PRD_EINVAL;
    json_t *jti = json_object_get(prd__token_verified_claims(t), "jti");
    if (!json_is_string(jti))
        return PRD_EINVAL; /* nothing to name it by */
    return prd_token_revoke_jti(rv, json_string_value(jti), prd_token_verified_expiry(t));
}

prd_status prd_token_jti_check(prd_token_revocations *rv, const char *jti)
{
    size_t len = 0;
    if (!rv || !jti_ok(jti, &len))
        return PRD_EINVAL;
    unsigned char d[PRD__JTI_DIGEST];
    prd__jti_digest(d, jti, len);
    return check_digest(rv, d);
}

size_t prd_token_revocations_count(prd_token_revocations *rv)
{
    if (!rv)
        return 0;
    pthread_rwlock_rdlock(&rv->lock);
    size_t n = rv->used;
    pthread_rwlock_unlock(&rv->lock);
    return n;
}
