/*
 * The limiter's region: layout, shards, and the open-addressing index
 * (linear probing, deletion by backward shift so no tombstones pile up).
 * Nothing here allocates: the region is sized once when the limiter is
 * made, which is what bounds a limiter's memory under a key spray.
 *
 * Room for a new key is made only from state that has decayed (it no
 * longer changes any decision), never by evicting a key that is still
 * limited: an attacker who floods fresh keys cannot make the limiter
 * forget the keys that matter. When no decayed state is found the new key
 * is refused and the refusal counted.
 */
#include "internal/common.h"
#include "internal/ratelimit.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define ALIGN 64
#define SCAN_FOR_ROOM 64 /* slots examined for decayed state when full */

static uint64_t round_up(uint64_t n, uint64_t a)
{
    return (n + a - 1) / a * a;
}

/* Overflow-checked a*b+c for layout sizes. */
static int mul_add(uint64_t a, uint64_t b, uint64_t c, uint64_t *out)
{
    if (b && a > (UINT64_MAX - c) / b)
        return 0;
    *out = a * b + c;
    return 1;
}

/*
 * Index slots per shard. max_keys is enforced over all shards by one
 * counter, so a shard must hold what hashing happens to send it: the mean
 * plus eight standard deviations (binomial), at most 90% full. The chance
 * that a shard fills before the rule does is below 1e-15.
 */
static void size_shards(struct prd__rl_rule *r, uint64_t shards)
{
    r->shards = shards;
    if (shards == 1) {
        r->shard_max = r->max_keys;
    } else {
        double mean = (double)r->max_keys / (double)shards;
        r->shard_max = (uint64_t)ceil(mean + 8.0 * sqrt(mean) + 16.0);
        if (r->shard_max > r->max_keys)
            r->shard_max = r->max_keys;
    }
    r->capacity = r->shard_max + r->shard_max / 9 + 2; /* load <= 90% */
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
        r->max_keys = cfg->max_keys;
        size_shards(r, shards);
        r->stats_offset = offset;
        offset += round_up(sizeof(struct prd__rl_rule_stats), ALIGN);
        r->slot_bytes = r->algorithm == PRD_RL_EXACT
                            ? sizeof(struct prd__rl_slot) + sizeof(struct prd__rl_exact_ref)
                            : sizeof(struct prd__rl_slot) + prd__rl_state_bytes(r->algorithm);
        r->rec_bytes = r->algorithm == PRD_RL_EXACT
                           ? sizeof(struct prd__rl_exact) + r->limit * sizeof(int64_t)
                           : 0;
        uint64_t index, recs;
        if (!mul_add(r->capacity, r->slot_bytes, 0, &index) ||
            !mul_add(r->shard_max, r->rec_bytes, 0, &recs))
            return 0;
        r->rec_offset = round_up(sizeof(struct prd__rl_shard), ALIGN) + round_up(index, ALIGN);
        if (r->rec_bytes) {
            /* Records start on a page of their own and shards on pages:
             * a page holds one key's log or several, never index too. */
            r->rec_offset = round_up(r->rec_offset, 4096);
            r->shard_bytes = round_up(r->rec_offset + recs, 4096);
        } else {
            r->shard_bytes = r->rec_offset;
        }
        r->offset = round_up(offset, 4096);
        if (!mul_add(r->shards, r->shard_bytes, r->offset, &offset))
            return 0;
    }
    hdr->region_bytes = offset;
    return offset > SIZE_MAX ? 0 : (size_t)offset;
}

struct prd__rl_shard *prd__rl_shard(const prd_limiter *l, uint32_t rule, uint64_t shard)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    return (struct prd__rl_shard *)(l->base + r->offset + shard * r->shard_bytes);
}

struct prd__rl_shard *prd__rl_shard_of(const prd_limiter *l, uint32_t rule, uint64_t hash)
{
    return prd__rl_shard(l, rule, (hash >> 40) & (l->hdr->rules[rule].shards - 1));
}

static unsigned char *slots_of(struct prd__rl_shard *sh)
{
    return (unsigned char *)sh + round_up(sizeof *sh, ALIGN);
}

struct prd__rl_slot *prd__rl_slot(const prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh,
                                  uint64_t i)
{
    return (struct prd__rl_slot *)(slots_of(sh) + i * l->hdr->rules[rule].slot_bytes);
}

static struct prd__rl_exact *record_at(const prd_limiter *l, uint32_t rule,
                                       struct prd__rl_shard *sh, uint64_t rec)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    return (struct prd__rl_exact *)((unsigned char *)sh + r->rec_offset + rec * r->rec_bytes);
}

struct prd__rl_exact *prd__rl_record(const prd_limiter *l, uint32_t rule,
                                     struct prd__rl_shard *sh, const struct prd__rl_slot *s)
{
    if (l->hdr->rules[rule].algorithm != PRD_RL_EXACT || !s)
        return NULL;
    return record_at(l, rule, sh, ((const struct prd__rl_exact_ref *)(s + 1))->rec);
}

struct prd__rl_rule_stats *prd__rl_stats(const prd_limiter *l, uint32_t rule)
{
    return (struct prd__rl_rule_stats *)(l->base + l->hdr->rules[rule].stats_offset);
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
    for (uint32_t i = 0; i < l->hdr->n_rules && st == PRD_OK; i++) {
        memset(prd__rl_stats(l, i), 0, sizeof(struct prd__rl_rule_stats));
        for (uint64_t s = 0; s < l->hdr->rules[i].shards; s++) {
            struct prd__rl_shard *sh = prd__rl_shard(l, i, s);
            if (pthread_mutex_init(&sh->mu, &attr) != 0) {
                st = PRD_EINTERNAL;
                break;
            }
            sh->count = sh->cursor = sh->rec_next = sh->rec_free = 0;
            sh->floor_ms = -1; /* before any valid time (>= 0) */
            for (int k = 0; k < PRD__RL_TICKS; k++)
                sh->prev_ms[k] = -1;
            /* Slots are zero (empty) already: fresh anonymous or truncated memory. */
        }
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

/*
 * The shard's clock judges whether other keys' state has decayed. It is
 * the earliest of this request's time and the previous PRD__RL_TICKS
 * ones', and never goes back: a few requests with a stray future time
 * cannot make other keys look expired (their history would be lost and a
 * limited key admitted again), while a clock that really moved on carries
 * the shard along a few requests later.
 */
void prd__rl_tick(struct prd__rl_shard *sh, int64_t now_ms)
{
    int64_t t = now_ms;
    for (int i = 0; i < PRD__RL_TICKS; i++)
        if (sh->prev_ms[i] < t)
            t = sh->prev_ms[i];
    if (t > sh->floor_ms)
        sh->floor_ms = t;
    memmove(sh->prev_ms + 1, sh->prev_ms, (PRD__RL_TICKS - 1) * sizeof sh->prev_ms[0]);
    sh->prev_ms[0] = now_ms;
}

/* Home slot: Lemire's multiply-shift over the low 32 bits (the shard was
 * chosen from bits 40..). */
static uint64_t home(const struct prd__rl_rule *r, uint64_t hash)
{
    return ((hash & 0xffffffffu) * r->capacity) >> 32;
}

static uint64_t next(const struct prd__rl_rule *r, uint64_t i)
{
    return i + 1 == r->capacity ? 0 : i + 1;
}

struct prd__rl_slot *prd__rl_find(const prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh,
                                  uint64_t hash)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    for (uint64_t i = home(r, hash);; i = next(r, i)) {
        struct prd__rl_slot *s = prd__rl_slot(l, rule, sh, i);
        if (s->hash == hash)
            return s;
        if (s->hash == 0)
            return NULL;
    }
}

static void free_record(const prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh,
                        uint64_t rec)
{
    /* The first 8 bytes of a free record link the free list. */
    record_at(l, rule, sh, rec)->last_ms = (int64_t)sh->rec_free;
    sh->rec_free = rec + 1;
}

static uint64_t take_record(const prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh)
{
    /* Reuse freed records first: their pages are already resident. */
    if (sh->rec_free) {
        uint64_t rec = sh->rec_free - 1;
        sh->rec_free = (uint64_t)record_at(l, rule, sh, rec)->last_ms;
        return rec;
    }
    return sh->rec_next++; /* count < shard_max bounds it */
}

/* Remove slot i and shift the following run back over it. */
static void delete_at(prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh, uint64_t i)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    struct prd__rl_slot *gone = prd__rl_slot(l, rule, sh, i);
    if (r->algorithm == PRD_RL_EXACT)
        free_record(l, rule, sh, ((struct prd__rl_exact_ref *)(gone + 1))->rec);
    for (uint64_t j = next(r, i);; j = next(r, j)) {
        struct prd__rl_slot *sj = prd__rl_slot(l, rule, sh, j);
        if (sj->hash == 0)
            break;
        /* sj may move into the hole at i when its home is no nearer to j
         * than i is (cyclically). */
        uint64_t k = home(r, sj->hash);
        uint64_t dk = j >= k ? j - k : j + r->capacity - k;
        uint64_t di = j >= i ? j - i : j + r->capacity - i;
        if (dk >= di) {
            memcpy(prd__rl_slot(l, rule, sh, i), sj, r->slot_bytes);
            i = j;
        }
    }
    prd__rl_slot(l, rule, sh, i)->hash = 0;
    sh->count--;
    __atomic_fetch_sub(&prd__rl_stats(l, rule)->live, 1, __ATOMIC_RELAXED);
}

void prd__rl_delete(prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh,
                    struct prd__rl_slot *s)
{
    uint64_t i = (uint64_t)((unsigned char *)s - slots_of(sh)) / l->hdr->rules[rule].slot_bytes;
    delete_at(l, rule, sh, i);
}

static int decayed_at(prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh, uint64_t i)
{
    struct prd__rl_slot *s = prd__rl_slot(l, rule, sh, i);
    return s->hash &&
           prd__rl_decayed(&l->hdr->rules[rule], s, prd__rl_record(l, rule, sh, s), sh->floor_ms);
}

void prd__rl_reclaim(prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh, int n)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    uint64_t freed = 0;
    for (int k = 0; k < n; k++) {
        uint64_t i = sh->cursor;
        if (decayed_at(l, rule, sh, i)) {
            delete_at(l, rule, sh, i); /* re-examine i next time: a slot shifted in */
            freed++;
        } else {
            sh->cursor = next(r, i);
        }
    }
    if (freed)
        __atomic_fetch_add(&prd__rl_stats(l, rule)->reclaimed, freed, __ATOMIC_RELAXED);
}

/* Take one unit of the rule's key budget; 0 when max_keys are tracked. */
static int take_key(prd_limiter *l, uint32_t rule)
{
    struct prd__rl_rule_stats *st = prd__rl_stats(l, rule);
    uint64_t max = l->hdr->rules[rule].max_keys;
    uint64_t live = __atomic_load_n(&st->live, __ATOMIC_RELAXED);
    do {
        if (live >= max)
            return 0;
    } while (!__atomic_compare_exchange_n(&st->live, &live, live + 1, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return 1;
}

static int make_room(prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    if (sh->count < r->shard_max && take_key(l, rule))
        return 1;
    if (l->hdr->full_policy == PRD_RL_DENY_NEW)
        return 0;
    /* Look for decayed state in this shard: a bounded scan, so a flood of
     * new keys against a full table costs each of them O(1). */
    uint64_t freed = 0;
    for (int k = 0; k < SCAN_FOR_ROOM; k++) {
        uint64_t i = sh->cursor;
        if (decayed_at(l, rule, sh, i)) {
            delete_at(l, rule, sh, i);
            freed++;
            break;
        }
        sh->cursor = next(r, i);
    }
    if (freed)
        __atomic_fetch_add(&prd__rl_stats(l, rule)->reclaimed, freed, __ATOMIC_RELAXED);
    return freed && sh->count < r->shard_max && take_key(l, rule);
}

struct prd__rl_slot *prd__rl_insert(prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh,
                                    uint64_t hash)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    if (!make_room(l, rule, sh)) {
        __atomic_fetch_add(&prd__rl_stats(l, rule)->refused, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    /* Deletions above may have moved things: probe for the free slot now. */
    uint64_t i = home(r, hash);
    while (prd__rl_slot(l, rule, sh, i)->hash != 0)
        i = next(r, i);
    struct prd__rl_slot *s = prd__rl_slot(l, rule, sh, i);
    memset(s, 0, r->slot_bytes);
    s->hash = hash;
    struct prd__rl_exact *rec = NULL;
    if (r->algorithm == PRD_RL_EXACT) {
        uint64_t idx = take_record(l, rule, sh);
        ((struct prd__rl_exact_ref *)(s + 1))->rec = idx;
        rec = record_at(l, rule, sh, idx);
    }
    prd__rl_clear(r, s, rec);
    sh->count++;
    return s;
}

void prd__rl_visit(prd_limiter *l, uint32_t rule, int (*visit)(struct prd__rl_slot *, void *),
                   void *arg)
{
    const struct prd__rl_rule *r = &l->hdr->rules[rule];
    for (uint64_t s = 0; s < r->shards; s++) {
        struct prd__rl_shard *sh = prd__rl_shard(l, rule, s);
        prd__rl_lock(sh);
        for (uint64_t i = 0; i < r->capacity;) {
            struct prd__rl_slot *slot = prd__rl_slot(l, rule, sh, i);
            if (slot->hash && visit(slot, arg))
                delete_at(l, rule, sh, i); /* a later slot may have shifted into i */
            else
                i++;
        }
        prd__rl_unlock(sh);
    }
}
