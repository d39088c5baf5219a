/* Internal layout of limiters, shared by lib/ratelimit_*.c.
 *
 * A limiter is one contiguous region (private memory, or a POSIX shared
 * memory segment) holding a header, then for each rule its shards; a
 * shard is a lock, counters and an open-addressing table of fixed-size
 * slots. No pointers are stored in the region, so several processes can
 * map it at different addresses. */
#ifndef PRD_INTERNAL_RATELIMIT_H
#define PRD_INTERNAL_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

#include "prodready/ratelimit.h"

#define PRD__RL_MAGIC UINT64_C(0x50524452544c494d) /* "PRDRTLIM" */
#define PRD__RL_LAYOUT_VERSION 1u
#define PRD__RL_NAME_MAX 32

struct prd__rl_rule {
    char name[PRD__RL_NAME_MAX + 1];
    uint32_t algorithm;
    uint64_t limit;
    int64_t window_ms;
    uint64_t shards;          /* power of two */
    uint64_t capacity;        /* slots per shard, power of two */
    uint64_t max_per_shard;   /* keys per shard, rounded up (sizing only; see shard max) */
    uint64_t max_keys;
    uint64_t slot_bytes;
    uint64_t shard_bytes;
    uint64_t offset;          /* of the rule's first shard from the region start */
};

struct prd__rl_header {
    uint64_t magic;
    uint32_t version;
    uint32_t n_rules;
    uint64_t region_bytes;
    uint32_t full_policy;
    uint32_t shared; /* process-shared robust locks */
    unsigned char sipkey[16];
    struct prd__rl_rule rules[PRD_RL_MAX_RULES];
};

struct prd__rl_shard {
    pthread_mutex_t mu;
    uint64_t count;
    uint64_t cursor; /* incremental reclamation position */
    uint64_t rng;    /* xorshift state for eviction sampling */
    uint64_t max;    /* keys this shard may hold: the shards' maxima sum to max_keys */
};

/* Every slot starts with this; hash 0 marks an empty slot. */
struct prd__rl_slot {
    uint64_t hash;
    int64_t last_ms;
};

struct prd__rl_counter {
    int64_t win_start;
    uint64_t cur, prev;
};

struct prd__rl_exact {
    uint32_t head, count;
    int64_t ts[]; /* limit entries: admission time of each unit */
};

/* Internal third kind of rule: per-(account, source) login state for the
 * login guard; window_ms is how long an idle record is kept. */
#define PRD__RL_PAIR 2u
struct prd__rl_pair {
    uint32_t failures;
    int64_t last_failure_ms;
    int64_t trusted_until_ms;
};

struct prd_limiter_config {
    struct prd__rl_rule rules[PRD_RL_MAX_RULES];
    uint32_t n_rules;
    uint64_t max_keys;
    uint32_t full_policy;
    const prd_clock *clock;
};

struct prd_limiter {
    unsigned char *base;
    size_t map_bytes;
    struct prd__rl_header *hdr;
    const prd_clock *clock;
};

/* Fill the layout fields of cfg's rules and the header; returns the
 * region size. */
size_t prd__rl_layout(const prd_limiter_config *cfg, struct prd__rl_header *hdr);

/* A region's shard and slot addresses. */
struct prd__rl_shard *prd__rl_shard(const prd_limiter *l, int rule, uint64_t shard);
struct prd__rl_slot *prd__rl_slot(const prd_limiter *l, int rule, struct prd__rl_shard *sh,
                                  uint64_t i);

/* Initialise every shard of a fresh region (locks, empty tables). */
prd_status prd__rl_init_region(prd_limiter *l);

/* Lock a shard, recovering a robust lock whose owner died. */
void prd__rl_lock(struct prd__rl_shard *sh);
void prd__rl_unlock(struct prd__rl_shard *sh);

/* Find the slot for hash in a locked shard, inserting an empty one when
 * absent (evicting or refusing by the full policy). NULL: PRD_EBUSY. */
struct prd__rl_slot *prd__rl_find_or_insert(prd_limiter *l, int rule, struct prd__rl_shard *sh,
                                            uint64_t hash, int64_t now_ms);

/* Reclaim up to n expired slots at the shard's cursor. */
void prd__rl_reclaim(prd_limiter *l, int rule, struct prd__rl_shard *sh, int n, int64_t now_ms);

/* Algorithms: bring the state to now, then evaluate or commit. */
struct prd__rl_eval {
    int allowed;
    uint64_t remaining; /* after admitting, when allowed; else now */
    int64_t reset_ms;
    int64_t retry_after_ms;
};
void prd__rl_evaluate(const struct prd__rl_rule *r, struct prd__rl_slot *s, uint64_t cost,
                      int64_t now_ms, struct prd__rl_eval *out);
void prd__rl_commit(const struct prd__rl_rule *r, struct prd__rl_slot *s, uint64_t cost,
                    int64_t now_ms, struct prd__rl_eval *out);
int prd__rl_expired(const struct prd__rl_rule *r, const struct prd__rl_slot *s, int64_t now_ms);

/* The keyed hash of a key under a limiter's SipHash key. */
uint64_t prd__rl_key_hash(const prd_limiter *l, const prd_rl_key *k);

/* check_at without recording: would this be admitted? */
prd_status prd__limiter_peek_at(prd_limiter *l, const prd_rl_key *keys, size_t n_keys,
                                uint64_t cost, int64_t now_ms, prd_rl_decision *out);

#endif
