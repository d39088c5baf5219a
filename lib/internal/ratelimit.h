/* Internal layout of limiters, shared by lib/ratelimit_*.c.
 *
 * A limiter is one contiguous region (private memory, or a POSIX shared
 * memory segment) holding a header, per-rule counters, then for each rule
 * its shards; a shard is a lock, counters, an open-addressing index of
 * fixed-size slots and, for exact rules, a pool of log records. No
 * pointers are stored in the region, so several processes can map it at
 * different addresses.
 *
 * Small states (counter, GCRA, the login guard's records) live inside
 * their index slot. An exact rule's log (8 bytes a unit) lives in a record
 * of its own that the slot points to by index, so deleting a key moves 16
 * bytes, not 8·N: a check costs the same for N = 64 and N = 10^6. */
#ifndef PRD_INTERNAL_RATELIMIT_H
#define PRD_INTERNAL_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

#include "prodready/ratelimit.h"

/* A caller's prd_rl_decision declares its size (PRD_RL_DECISION_INIT).
 * Entry points refuse one smaller than this version's (out_ok: NULL is
 * fine where the API allows it) and keep the field across the internal
 * code, which treats the struct as its own (memset, assignment). */
static inline int prd__rl_out_ok(const prd_rl_decision *d)
{
    return !d || d->size >= sizeof *d;
}
static inline int prd__rl_in_ok(const prd_rl_decision *d)
{
    return d && d->size >= sizeof *d;
}

#define PRD__RL_MAGIC UINT64_C(0x50524452544c494d) /* "PRDRTLIM" */
#define PRD__RL_LAYOUT_VERSION 2u
#define PRD__RL_NAME_MAX 32

/* Internal rule kinds of the login guard (docs/ratelimit.md):
 * FAILS: per-(account, source) failure streak; decays window_ms after the
 *        last failure.
 * TRUST: a source that logged in to an account; decays at its expiry. */
#define PRD__RL_FAILS 16u
#define PRD__RL_TRUST 17u

struct prd__rl_rule {
    char name[PRD__RL_NAME_MAX + 1];
    uint32_t algorithm;
    uint64_t limit;
    int64_t window_ms;
    uint64_t burst;        /* GCRA: units admitted at once */
    int64_t emission_ns;   /* GCRA: one unit is replenished every emission_ns */
    uint64_t shards;       /* power of two */
    uint64_t capacity;     /* index slots per shard (any integer >= 2) */
    uint64_t shard_max;    /* keys one shard may hold (load at most 90%) */
    uint64_t max_keys;     /* keys the rule may hold in all: exact */
    uint64_t slot_bytes;
    uint64_t rec_bytes;    /* exact: bytes of one log record; else 0 */
    uint64_t rec_offset;   /* exact: of the records from the shard start */
    uint64_t shard_bytes;
    uint64_t offset;       /* of the rule's first shard from the region start */
    uint64_t stats_offset; /* of the rule's struct prd__rl_rule_stats */
};

struct prd__rl_header {
    uint64_t magic;
    uint32_t version;
    uint32_t n_rules;
    uint64_t region_bytes;
    uint32_t full_policy;
    uint32_t shared; /* process-shared robust locks */
    unsigned char sipkey[16];
    uint64_t id;     /* random: tells reservations of this limiter from others' */
    struct prd__rl_rule rules[PRD_RL_MAX_RULES];
};

/* Per rule, in its own cache line: updated with atomics. */
struct prd__rl_rule_stats {
    uint64_t live;    /* keys tracked, all shards: never above max_keys */
    uint64_t refused; /* new keys refused (PRD_EBUSY) for want of room */
    uint64_t reclaimed;
};

#define PRD__RL_TICKS 3
struct prd__rl_shard {
    pthread_mutex_t mu;
    uint64_t count;    /* keys in this shard */
    uint64_t cursor;   /* incremental reclamation position */
    int64_t floor_ms;  /* the shard's clock for judging other keys' decay */
    int64_t prev_ms[PRD__RL_TICKS]; /* times of the previous requests, newest first */
    uint64_t rec_next; /* exact: records never used start here */
    uint64_t rec_free; /* exact: index + 1 of the first free record, 0 none */
};

/* Every slot starts with the key's hash; hash 0 marks an empty slot. */
struct prd__rl_slot {
    uint64_t hash;
};

struct prd__rl_counter {
    int64_t last_ms; /* the key's clock: never goes back */
    int64_t win_start;
    uint64_t cur, prev;
};

struct prd__rl_gcra {
    int64_t tat_ns; /* theoretical arrival time: full when <= now */
};

struct prd__rl_exact_ref {
    uint64_t rec; /* record index in the shard's pool */
};

/* An exact rule's log: the admission time of each unit in the window,
 * oldest first, in a ring of `limit` entries. */
struct prd__rl_exact {
    int64_t last_ms;
    uint32_t head, count;
    int64_t ts[];
};

struct prd__rl_fails {
    uint64_t failures;
    int64_t last_ms;  /* of the last counted failure */
    uint64_t account; /* the account's hash, for unlocking it */
};

/* A familiar pair keeps its own failure streak here, so a flood that
 * fills the pair table cannot stop a familiar source from trying. */
struct prd__rl_trust {
    int64_t until_ms;
    uint64_t failures;
    int64_t last_ms;
    uint64_t account;
};

struct prd_limiter_config {
    struct prd__rl_rule rules[PRD_RL_MAX_RULES];
    uint32_t n_rules;
    uint64_t max_keys;
    uint32_t full_policy;
    const prd_clock *clock;
    uint32_t shm_mode;      /* of a segment this config creates (default 0600) */
    int64_t shm_uid, shm_gid; /* its owner; -1 leaves it */
};

struct prd_limiter {
    unsigned char *base;
    size_t map_bytes;
    struct prd__rl_header *hdr;
    const prd_clock *clock;
};

/* The state a reservation keeps (inside prd_rl_reservation's storage). */
struct prd__rl_resv {
    uint64_t id;     /* the limiter's */
    uint32_t n_rules;
    uint32_t state;  /* 1 reserved, 2 settled */
    uint64_t cost;
    uint64_t hash[PRD_RL_MAX_RULES];
    int64_t t_ms[PRD_RL_MAX_RULES];   /* the key's clamped time of the reservation */
    int64_t mark[PRD_RL_MAX_RULES];   /* GCRA: the TAT it left (ns) */
};

/* Fill the layout fields of cfg's rules and the header; returns the
 * region size (0 when it would not fit in a size_t). */
size_t prd__rl_layout(const prd_limiter_config *cfg, struct prd__rl_header *hdr);

/* A region's shards, slots, records and statistics. */
struct prd__rl_shard *prd__rl_shard(const prd_limiter *l, uint32_t rule, uint64_t shard);
struct prd__rl_shard *prd__rl_shard_of(const prd_limiter *l, uint32_t rule, uint64_t hash);
struct prd__rl_slot *prd__rl_slot(const prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh,
                                  uint64_t i);
struct prd__rl_exact *prd__rl_record(const prd_limiter *l, uint32_t rule,
                                     struct prd__rl_shard *sh, const struct prd__rl_slot *s);
struct prd__rl_rule_stats *prd__rl_stats(const prd_limiter *l, uint32_t rule);

/* Initialise every shard of a fresh region (locks, empty tables). */
prd_status prd__rl_init_region(prd_limiter *l);

/* Lock a shard, recovering a robust lock whose owner died. Taking it also
 * advances the shard's clock with this request's time. */
void prd__rl_lock(struct prd__rl_shard *sh);
void prd__rl_unlock(struct prd__rl_shard *sh);
void prd__rl_tick(struct prd__rl_shard *sh, int64_t now_ms);

/* Look a key up in a locked shard: its slot, or NULL. Inserts nothing. */
struct prd__rl_slot *prd__rl_find(const prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh,
                                  uint64_t hash);

/* Insert a key known to be absent, with an empty state. When the rule is
 * at max_keys (or the shard full), room is made only from state that has
 * decayed; otherwise NULL (the refusal is counted): the caller answers
 * PRD_EBUSY. */
struct prd__rl_slot *prd__rl_insert(prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh,
                                    uint64_t hash);

/* Reclaim up to n decayed slots at the shard's cursor, judged by the
 * shard's clock. */
void prd__rl_reclaim(prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh, int n);

/* Delete one key's slot (the login guard's unlock). */
void prd__rl_delete(prd_limiter *l, uint32_t rule, struct prd__rl_shard *sh,
                    struct prd__rl_slot *s);

/* Visit every key of a rule (one pass, shard by shard under each shard's
 * lock); visit may change the state and returns 1 to delete the key. */
void prd__rl_visit(prd_limiter *l, uint32_t rule, int (*visit)(struct prd__rl_slot *, void *),
                   void *arg);

/* ---- algorithms (lib/ratelimit/algo.c) ---- */

/* An evaluation, in the key's own clock t: times are relative to t. */
struct prd__rl_eval {
    int allowed;
    uint64_t remaining; /* after admitting, when allowed; else now */
    int64_t reset_ms;
    int64_t retry_after_ms; /* -1: never (cost over what the rule can admit) */
};

/* The key's clock for a request at now: never earlier than it has seen.
 * s may be NULL (an absent key). */
int64_t prd__rl_key_time(const struct prd__rl_rule *r, const struct prd__rl_slot *s,
                         const struct prd__rl_exact *rec, int64_t now_ms);
void prd__rl_evaluate(const struct prd__rl_rule *r, struct prd__rl_slot *s,
                      struct prd__rl_exact *rec, uint64_t cost, int64_t t_ms, int64_t now_ms,
                      struct prd__rl_eval *out);
/* Record cost units at t; returns the GCRA mark (new TAT) or 0. */
int64_t prd__rl_commit(const struct prd__rl_rule *r, struct prd__rl_slot *s,
                       struct prd__rl_exact *rec, uint64_t cost, int64_t t_ms, int64_t now_ms);
/* Give back cost units recorded at t (at most what still counts). */
void prd__rl_refund(const struct prd__rl_rule *r, struct prd__rl_slot *s,
                    struct prd__rl_exact *rec, uint64_t cost, int64_t t_ms, int64_t mark,
                    int64_t now_ms);
/* 1 when the state no longer constrains its key at time now. */
int prd__rl_decayed(const struct prd__rl_rule *r, const struct prd__rl_slot *s,
                    const struct prd__rl_exact *rec, int64_t now_ms);
/* Reset a fresh slot's state (and its record). */
void prd__rl_clear(const struct prd__rl_rule *r, struct prd__rl_slot *s,
                   struct prd__rl_exact *rec);
size_t prd__rl_state_bytes(uint32_t algorithm);

/* The keyed hash of a key under a limiter's SipHash key. */
uint64_t prd__rl_key_hash(const prd_limiter *l, const prd_rl_key *k);

/* The limiter's default monotonic clock, in ms. */
int64_t prd__rl_now_ms(const prd_limiter *l);

/* Reserve (record != 0) or only evaluate (record == 0, inserts nothing)
 * cost units on every rule at now_ms; resv may be NULL. */
prd_status prd__limiter_run(prd_limiter *l, const prd_rl_key *keys, size_t n_keys, uint64_t cost,
                            int64_t now_ms, int record, prd_rl_decision *out,
                            struct prd__rl_resv *resv);

/* ---- the login guard's PostgreSQL state (lib/stores/login_pg.c) ---- */

#define PRD__LOGIN_DIGEST 16 /* accounts and sources are kept as BLAKE2b-128 digests */

struct prd__login_pg_params {
    uint64_t src_limit, acct_limit;
    int64_t src_window, acct_window;
    uint32_t free_failures;
    int64_t base_ms, cap_ms, trust_ms;
};

struct prd__login_pg_verdict {
    prd_rl_decision d;
    int trusted;
    int has_acct_t;
    int64_t acct_t;        /* the account's failure recorded at check, for a refund */
    int64_t acct_lock_ms;  /* > 0: this failure, if it stands, locks the account that long */
    int starts_backoff;
    int64_t src_lock_ms;   /* > 0: the source is out of attempts for that long */
};

struct prd_pg_pool;
void prd__login_pg_digest(unsigned char out[PRD__LOGIN_DIGEST], int source, const void *data,
                          size_t len);
/* PRD_OK or PRD_ELIMITED with v->d; PRD_EDB, PRD_ETIMEOUT, PRD_ENOMEM. */
prd_status prd__login_pg_check(struct prd_pg_pool *pool, const struct prd__login_pg_params *p,
                               const unsigned char *account, const unsigned char *source,
                               struct prd__login_pg_verdict *v);
/* outcome 1 success, 2 abandoned. */
prd_status prd__login_pg_settle(struct prd_pg_pool *pool, const struct prd__login_pg_params *p,
                                const unsigned char *account, const unsigned char *source,
                                int outcome, int trusted, int has_acct_t, int64_t acct_t);
prd_status prd__login_pg_unlock(struct prd_pg_pool *pool, const struct prd__login_pg_params *p,
                                const unsigned char *account);

#endif
