/*
 * The limiter's region: layout, shards, and the open-addressing tables
 * (linear probing, deletion by backward shift so no tombstones pile up).
 * Nothing here allocates: the region is sized once when the limiter is
 * made, which is what bounds a limiter's memory under a key spray.
 */
#include "internal/common.h"
#include "internal/ratelimit.h"

#include <errno.h>
#include <string.h>

#define ALIGN 64
#define EVICTION_SAMPLES 16

static uint64_t round_up(uint64_t n, uint64_t a)
{
    return (n + a - 1) / a * a;
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

size_t prd__rl_layout(const prd_limiter_config *cfg, struct prd__rl_header *hdr)
{
    memset(hdr, 0, sizeof *hdr);
    hdr->magic = PRD__RL_MAGIC;
    hdr->version = PRD__RL_LAYOUT_VERSION;
    hdr->n_rules = cfg->n_rules;
    hdr->full_policy = cfg->full_policy;
    uint64_t offset = round_up(sizeof *hdr, ALIGN);
    /* Enough shards that two threads rarely want the same lock: on a VM a
     * contended lock that falls through to a futex wait costs microseconds,
     * and with 16 shards that alone tripled the cost of a check with two
     * threads (perf: __lll_lock_wait); 64 keeps it rare. One lock for tiny
     * tables. */
    uint64_t shards = cfg->max_keys >= 4096 ? 64 : cfg->max_keys >= 1024 ? 16 : 1;
    for (uint32_t i = 0; i < cfg->n_rules; i++) {
        struct prd__rl_rule *r = &hdr->rules[i];
        *r = cfg->rules[i];
        r->shards = shards;
        r->max_keys = cfg->max_keys;
        r->max_per_shard = (cfg->max_keys + shards - 1) / shards;
        /* Load factor at most 3/4 keeps probe sequences short. */
        r->capacity = pow2_at_least(r->max_per_shard * 4 / 3 + 1);
        uint64_t state = r->algorithm == PRD_RL_EXACT
                             ? sizeof(struct prd__rl_exact) + r->limit * sizeof(int64_t)
                         : r->algorithm == PRD__RL_PAIR ? sizeof(struct prd__rl_pair)
                                                         : sizeof(struct prd__rl_counter);
        r->slot_bytes = round_up(sizeof(struct prd__rl_slot) + state, 8);
        r->shard_bytes = round_up(sizeof(struct prd__rl_shard), ALIGN) +
                         round_up(r->capacity * r->slot_bytes, ALIGN);
        r->offset = offset;
        offset += r->shards * r->shard_bytes;
    }
    hdr->region_bytes = offset;
    return (size_t)offset;
}

struct prd__rl_shard *prd__rl_shard(const prd_limiter *l, int rule, uint64_t shard)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    return (struct prd__rl_shard *)(l->base + r->offset + shard * r->shard_bytes);
}

struct prd__rl_slot *prd__rl_slot(const prd_limiter *l, int rule, struct prd__rl_shard *sh,
                                  uint64_t i)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    unsigned char *slots = (unsigned char *)sh + round_up(sizeof *sh, ALIGN);
    return (struct prd__rl_slot *)(slots + i * r->slot_bytes);
}

prd_status prd__rl_init_region(prd_limiter *l)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    /* Critical sections are tens of nanoseconds: spin briefly before
     * sleeping in the kernel. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    if (l->hdr->shared) {
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    }
    prd_status st = PRD_OK;
    for (uint32_t i = 0; i < l->hdr->n_rules && st == PRD_OK; i++)
        for (uint64_t s = 0; s < l->hdr->rules[i].shards; s++) {
            struct prd__rl_shard *sh = prd__rl_shard(l, (int)i, s);
            if (pthread_mutex_init(&sh->mu, &attr) != 0) {
                st = PRD_EINTERNAL;
                break;
            }
            sh->count = sh->cursor = 0;
            const struct prd__rl_rule *r = &l->hdr->rules[i];
            /* Spread max_keys exactly: the first (max_keys % shards) get one more. */
            sh->max = r->max_keys / r->shards + (s < r->max_keys % r->shards ? 1 : 0);
            sh->rng = 0x9E3779B97F4A7C15u ^ (s + 1) * 0xBF58476D1CE4E5B9u ^ i;
            /* Slots are zero (empty) already: fresh anonymous or truncated memory. */
        }
    pthread_mutexattr_destroy(&attr);
    return st;
}

void prd__rl_lock(struct prd__rl_shard *sh)
{
    if (pthread_mutex_lock(&sh->mu) == EOWNERDEAD) {
        /* A process died holding this lock. Its last update may be half
         * done, which can cost one key a few units of accuracy but never
         * corrupts the table's shape (slots are fixed-size); carry on. */
        pthread_mutex_consistent(&sh->mu);
    }
}

void prd__rl_unlock(struct prd__rl_shard *sh)
{
    pthread_mutex_unlock(&sh->mu);
}

static uint64_t home(const struct prd__rl_rule *r, uint64_t hash)
{
    return hash & (r->capacity - 1);
}

/* Remove slot i and shift the following run back over it. */
static void delete_at(prd_limiter *l, int rule, struct prd__rl_shard *sh, uint64_t i)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    uint64_t mask = r->capacity - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        struct prd__rl_slot *sj = prd__rl_slot(l, rule, sh, j);
        if (sj->hash == 0)
            break;
        uint64_t k = home(r, sj->hash);
        /* sj may move into the hole at i unless its home lies in (i, j]. */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            memcpy(prd__rl_slot(l, rule, sh, i), sj, r->slot_bytes);
            i = j;
        }
    }
    prd__rl_slot(l, rule, sh, i)->hash = 0; /* empty; the state is reset on reuse */
    sh->count--;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Make room in a full shard: an expired key if the sample finds one, else
 * the least recently used of the sample. */
static void evict_one(prd_limiter *l, int rule, struct prd__rl_shard *sh, int64_t now)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    uint64_t victim = UINT64_MAX;
    int64_t oldest = INT64_MAX;
    for (int n = 0, tries = 0; n < EVICTION_SAMPLES && tries < 4 * EVICTION_SAMPLES; tries++) {
        uint64_t i = xorshift(&sh->rng) & (r->capacity - 1);
        struct prd__rl_slot *s = prd__rl_slot(l, rule, sh, i);
        if (s->hash == 0)
            continue;
        n++;
        if (prd__rl_expired(r, s, now)) {
            victim = i;
            break;
        }
        if (s->last_ms < oldest) {
            oldest = s->last_ms;
            victim = i;
        }
    }
    if (victim == UINT64_MAX) /* a sparse sample: take the first occupied slot */
        for (uint64_t i = 0; i < r->capacity && victim == UINT64_MAX; i++)
            if (prd__rl_slot(l, rule, sh, i)->hash)
                victim = i;
    if (victim != UINT64_MAX)
        delete_at(l, rule, sh, victim);
}

void prd__rl_reclaim(prd_limiter *l, int rule, struct prd__rl_shard *sh, int n, int64_t now)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    for (int k = 0; k < n; k++) {
        uint64_t i = sh->cursor & (r->capacity - 1);
        struct prd__rl_slot *s = prd__rl_slot(l, rule, sh, i);
        if (s->hash && prd__rl_expired(r, s, now))
            delete_at(l, rule, sh, i); /* re-examine i next time: a slot shifted in */
        else
            sh->cursor++;
    }
}

struct prd__rl_slot *prd__rl_find_or_insert(prd_limiter *l, int rule, struct prd__rl_shard *sh,
                                            uint64_t hash, int64_t now)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    uint64_t mask = r->capacity - 1;
    for (uint64_t i = home(r, hash);; i = (i + 1) & mask) {
        struct prd__rl_slot *s = prd__rl_slot(l, rule, sh, i);
        if (s->hash == hash)
            return s;
        if (s->hash == 0)
            break;
    }
    if (sh->count >= sh->max) {
        prd__rl_reclaim(l, rule, sh, 8, now);
        if (sh->count >= sh->max) {
            if (l->hdr->full_policy == PRD_RL_DENY_NEW)
                return NULL;
            evict_one(l, rule, sh, now);
        }
    }
    /* Deletions above may have moved things: probe again for a free slot. */
    for (uint64_t i = home(r, hash);; i = (i + 1) & mask) {
        struct prd__rl_slot *s = prd__rl_slot(l, rule, sh, i);
        if (s->hash == 0) {
            /* Only the headers need zeroing: an exact ring's timestamps are
             * read only below its count, and a 64 Ki-unit ring is 512 KiB. */
            size_t head = sizeof *s + (r->algorithm == PRD_RL_EXACT  ? sizeof(struct prd__rl_exact)
                                       : r->algorithm == PRD__RL_PAIR ? sizeof(struct prd__rl_pair)
                                                                      : sizeof(struct prd__rl_counter));
            memset(s, 0, head);
            s->hash = hash;
            s->last_ms = now;
            sh->count++;
            return s;
        }
    }
}
