/*
 * prodready/ratelimit.h: sliding-window rate limits per key.
 *
 *   prd_limiter_config *cfg;  prd_limiter_config_new(&cfg);
 *   prd_limiter_config_add_rule(cfg, "account", 5, 60000, PRD_RL_EXACT);     // 5/min
 *   prd_limiter_config_add_rule(cfg, "ip", 100, 3600000, PRD_RL_EXACT);      // 100/hour
 *   prd_limiter_config_add_rule(cfg, "global", 10000, 60000, PRD_RL_COUNTER);
 *   prd_limiter *lim;  prd_limiter_new(cfg, &lim);
 *   prd_rl_key keys[3] = {{acct, acct_len}, {ip, ip_len}, {"", 0}};
 *   prd_rl_decision d;
 *   if (prd_limiter_check(lim, keys, 3, 1, &d) == PRD_ELIMITED) ... 429, Retry-After
 *
 * A rule is "at most N units per window W", evaluated by one of three
 * algorithms (docs/ratelimit.md has their error bounds):
 *   PRD_RL_EXACT    keeps the time of each admitted unit: never admits more
 *                   than N in any window (t-W, t]; retry_after is exact.
 *                   N up to PRD_RL_EXACT_MAX_LIMIT. A check costs the same
 *                   for any N (amortised O(1)).
 *   PRD_RL_COUNTER  two fixed windows, the previous weighted by how much of
 *                   it still overlaps the sliding window: any N; exact for
 *                   evenly spread traffic, never more than 2N in a window.
 *   PRD_RL_GCRA     the generic cell rate algorithm (Rust's governor,
 *                   nginx's burst): one unit replenished every W/N, at most
 *                   `burst` admitted at once (default N); at most
 *                   burst + N·w/W in any interval w. For API quotas where
 *                   bursts are intended.
 * A check against several rules is atomic: either every rule admits the
 * cost and all of them record it, or none does. A denial records nothing
 * and inserts nothing.
 *
 * Concurrency: every check, reservation and refund is linearizable: the
 * rules' locks are held across evaluating and recording, so any number of
 * concurrent callers together never get more than a rule admits. A
 * reservation (prd_limiter_reserve) is a check whose units can be given
 * back later (prd_limiter_refund) or kept (prd_limiter_commit): reserve
 * before the work, settle after it, and no interleaving of callers can
 * exceed the limit while work is in flight.
 *
 * Keys are byte strings (IP, account id, route), hashed with SipHash-2-4
 * under a random per-limiter key, so nobody can aim collisions; two keys
 * are told apart by their 64-bit hash alone (an accidental collision among
 * a million keys has probability about 3e-8).
 *
 * Memory is bounded and stated: each rule tracks at most max_keys keys
 * (exactly: a count over all shards) in a region sized when the limiter is
 * made; prd_limiter_bytes_per_key gives the real cost per key, which is
 * what the resident memory grows by per key (measured with RSS in the
 * tests over 10^6 keys): the slot size times the table's slack (about
 * 1.18 for large tables), slots of 16 bytes (GCRA: 19 a key), 40
 * (counter: 47 a key), 16 plus a log of 16 + 8·N (exact: 35 + 8·N a key).
 * Keys whose state has decayed (it no longer changes any decision) are
 * reclaimed a few at a time on the request path. A key whose state still
 * constrains it is never evicted to make room: when max_keys keys with
 * live state are tracked, a new key is refused with PRD_EBUSY (counted:
 * prd_limiter_refused), so a flood of fresh keys cannot erase the history
 * of the keys that are being limited.
 *
 * Time: each key has its own clock that never goes back (a request with
 * an earlier time than the key has seen counts at the latest it has
 * seen); retry_after and reset are always relative to the caller's time,
 * so retrying at now + retry_after is admitted whatever the clock did.
 * Other keys' decay is judged by a per-shard clock that one request with a
 * stray future time cannot advance. GCRA keeps no per-key clock: a step
 * back only makes a key wait longer.
 *
 * Thread safety: a limiter is safe to share between threads; each rule's
 * table is split into shards with a lock each, so threads rarely meet. The
 * shared-memory limiter is also safe to share between processes.
 */
#ifndef PRODREADY_RATELIMIT_H
#define PRODREADY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "prodready/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum prd_rl_algorithm {
    PRD_RL_EXACT = 0,
    PRD_RL_COUNTER = 1,
    PRD_RL_GCRA = 2
} prd_rl_algorithm;

/* What a rule does when max_keys keys are tracked and a new key comes.
 * Neither ever evicts a key whose state still constrains it. */
typedef enum prd_rl_full_policy {
    PRD_RL_EVICT_DECAYED = 0, /* default: look (a bounded scan) for decayed state to reclaim,
                                 else refuse the new key with PRD_EBUSY */
    PRD_RL_DENY_NEW = 1       /* refuse new keys (PRD_EBUSY) until incremental reclamation
                                 frees room: O(1) per new key under a flood */
} prd_rl_full_policy;
/* The name of earlier releases; it never evicted live state either way now. */
#define PRD_RL_EVICT_LRU PRD_RL_EVICT_DECAYED

#define PRD_RL_MAX_RULES 8
#define PRD_RL_EXACT_MAX_LIMIT 1048576u
#define PRD_RL_KEY_MAX 1024
/* Bytes of a partition key in a RateLimit header (a fingerprint, not the key itself). */
#define PRD_RL_PK_MAX 64
/* A buffer that holds any header value or problem body below, NUL included. */
#define PRD_RL_HEADER_SIZE 640
PRD_API size_t prd_rl_header_size(void);

typedef struct prd_limiter_config prd_limiter_config;
typedef struct prd_limiter prd_limiter;

/* A key for one rule: len bytes at data (data may be NULL when len is 0,
 * e.g. for a global rule). Final: a (pointer, length) pair, like struct
 * iovec, has nothing to add; it is not versioned. */
typedef struct prd_rl_key {
    const void *data;
    size_t len;
} prd_rl_key;

/*
 * The outcome of a check, in the caller's storage.
 *   size            set by the caller: sizeof(prd_rl_decision), as
 *                   PRD_RL_DECISION_INIT does; a check refuses a smaller
 *                   one with PRD_EINVAL (nothing counted). Later versions
 *                   may append fields and write only those size covers, so
 *                   a program built against this header keeps working.
 *   allowed         1 when admitted
 *   rule            index of the deciding rule: when denied, the rule that
 *                   denied with the longest wait; when allowed, the rule
 *                   with the fewest units left
 *   limit           that rule's N
 *   remaining       units that rule would still admit now (after this one)
 *   reset_ms        until that rule's window holds nothing of this key
 *   retry_after_ms  when denied: until the same request would be admitted
 *                   (exact for PRD_RL_EXACT, an upper estimate for
 *                   PRD_RL_COUNTER; -1 when cost exceeds the limit); 0 when allowed
 */
typedef struct prd_rl_decision {
    size_t size;
    int allowed;
    int rule;
    uint64_t limit;
    uint64_t remaining;
    int64_t reset_ms;
    int64_t retry_after_ms;
} prd_rl_decision;
#define PRD_RL_DECISION_INIT {sizeof(prd_rl_decision), 0, 0, 0, 0, 0, 0}

/* Errors: PRD_EINVAL (out NULL), PRD_ENOMEM. */
PRD_API PRD_NODISCARD prd_status prd_limiter_config_new(prd_limiter_config **out);
PRD_API void prd_limiter_config_free(prd_limiter_config *cfg);

/*
 * Add a rule: at most limit units (1 .. 2^48) per window_ms (1 ms ..
 * 30 days). name (1-32 characters of [A-Za-z0-9_-]) is used in RateLimit
 * headers. PRD_RL_GCRA gets a burst of limit.
 * Errors: PRD_EINVAL (a bad value; PRD_RL_EXACT with limit over
 * PRD_RL_EXACT_MAX_LIMIT), PRD_ETOOBIG (over PRD_RL_MAX_RULES rules).
 */
PRD_API PRD_NODISCARD prd_status prd_limiter_config_add_rule(prd_limiter_config *cfg, const char *name,
                                               uint64_t limit, int64_t window_ms,
                                               prd_rl_algorithm algorithm);

/* A GCRA rule with its own burst (1 .. what keeps burst·W/N under 146
 * years). Errors: as add_rule. */
PRD_API PRD_NODISCARD prd_status prd_limiter_config_add_gcra(prd_limiter_config *cfg, const char *name,
                                               uint64_t limit, int64_t window_ms, uint64_t burst);

/* Keys tracked per rule (16 .. 2^26; default 100000). Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_limiter_config_set_max_keys(prd_limiter_config *cfg, size_t max_keys);

/* What to do when a rule's table is full (default PRD_RL_EVICT_DECAYED). */
PRD_API PRD_NODISCARD prd_status prd_limiter_config_set_full_policy(prd_limiter_config *cfg,
                                                      prd_rl_full_policy policy);

/* Monotonic clock for prd_limiter_check (NULL: the system's). The config
 * borrows it; it must outlive the limiters made from this config. */
PRD_API PRD_NODISCARD prd_status prd_limiter_config_set_clock(prd_limiter_config *cfg, const prd_clock *clock);

/*
 * A shared-memory segment this config creates gets permission bits mode
 * (of 0777; owner read and write required; default 0600) and, when uid or
 * gid is not -1, that owner (creating for another user needs the
 * privilege to chown): workers that drop privileges after the master made
 * the segment can then attach. Errors: PRD_EINVAL.
 */
PRD_API PRD_NODISCARD prd_status prd_limiter_config_set_shm_access(prd_limiter_config *cfg, uint32_t mode,
                                                     int64_t uid, int64_t gid);

/*
 * An in-process limiter. The config is copied; free it when you like.
 * Pages are committed as keys arrive (prd_limiter_bytes_per_key each).
 * Errors: PRD_EINVAL (no rules), PRD_ENOMEM (also: max_keys x the log
 * size does not fit in the address space).
 */
PRD_API PRD_NODISCARD prd_status prd_limiter_new(const prd_limiter_config *cfg, prd_limiter **out);

/*
 * A limiter in a named POSIX shared-memory segment, for the worker
 * processes of one host. name: "/something" (as shm_open wants). create:
 * 1 makes (or replaces) the segment with this config's rules and sizes;
 * 0 attaches to an existing one, which must have been made by this
 * layout version with the same rules (else PRD_EINVAL). The locks are
 * process-shared and robust: a worker killed while holding one does not
 * wedge the others. Creating reserves every page of the segment at once
 * (posix_fallocate), so a /dev/shm too small for it fails here with
 * PRD_ENOMEM, never with SIGBUS in a worker later. Unlink the segment
 * with prd_limiter_shm_unlink.
 * Errors: PRD_EINVAL, PRD_ENOTFOUND (attach to a missing segment),
 * PRD_EPERM (mode or owner could not be set, or no access), PRD_EIO,
 * PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_limiter_new_shm(const prd_limiter_config *cfg, const char *name,
                                       int create, prd_limiter **out);
PRD_API PRD_NODISCARD prd_status prd_limiter_shm_unlink(const char *name);

/*
 * A reservation: caller-owned storage that a successful reserve fills and
 * a settle (commit or refund) consumes. Opaque; may be copied, but settle
 * it once: a second settle of the same reservation is PRD_EINVAL. Final.
 */
typedef struct prd_rl_reservation {
    uint64_t opaque_[4 + 3 * PRD_RL_MAX_RULES];
} prd_rl_reservation;

/*
 * A limiter whose state is in PostgreSQL (the stores' schema:
 * prd_pg_stores_migrate), so every instance of a service behind a load
 * balancer enforces one limit together. The same rules, algorithms and
 * decisions as in-process (cfg's rules are copied; its key and clock
 * settings do not apply): a check of several rules is atomic, admitted
 * units are never more than a rule allows in any window however many
 * processes check at once, and time is the database's clock, so
 * instances with skewed clocks agree. Each check is one round trip (one
 * function call, prd_rl_check). State rows of keys whose state has
 * decayed are deleted a few at a time by later checks.
 * The pool is borrowed: free the store before it.
 * Errors: PRD_EINVAL, PRD_ENOMEM.
 */
struct prd_pg_pool;
typedef struct prd_rl_pg prd_rl_pg;
PRD_API PRD_NODISCARD prd_status prd_rl_pg_new(const prd_limiter_config *cfg, struct prd_pg_pool *pool,
                                 prd_rl_pg **out);
/*
 * When the database cannot be reached or fails: open 0 (default) fails
 * closed: the check returns PRD_EDB with *out denied (retry_after_ms 1000:
 * answer 503 or 429, never serve); open 1 fails open: PRD_OK with *out
 * allowed, so an outage of the limiter's database does not take the
 * service down. Either way the check is counted (prd_rl_pg_failures).
 */
PRD_API PRD_NODISCARD prd_status prd_rl_pg_set_fail_open(prd_rl_pg *store, int open);
/* As prd_limiter_check and prd_limiter_peek (n_keys keys, one per rule),
 * against the shared state. Thread-safe (the pool is). Errors also
 * PRD_EDB (fail closed, above), PRD_ETIMEOUT. */
PRD_API PRD_NODISCARD prd_status prd_rl_pg_check(prd_rl_pg *store, const prd_rl_key *keys, size_t n_keys,
                                   uint64_t cost, prd_rl_decision *out);
PRD_API PRD_NODISCARD prd_status prd_rl_pg_peek(prd_rl_pg *store, const prd_rl_key *keys, size_t n_keys,
                                  uint64_t cost, prd_rl_decision *out);
/*
 * Reservations against the shared state, as prd_limiter_reserve: reserve
 * records the units (one round trip, as a check) and fills *resv; commit
 * keeps them (no round trip); refund gives back what of them still counts
 * (one round trip: an exact rule's units still in its window, a counter's
 * if its window moved on at most once, a GCRA key's share not yet
 * replenished), so no interleaving of instances exceeds a limit while
 * work is in flight. refund takes the same keys again (the reservation
 * holds only a keyed hash of them, to refuse others: PRD_EINVAL). A
 * reservation admitted by the failure policy (open) recorded nothing and
 * its refund does nothing. A refund that fails (PRD_EDB, PRD_ETIMEOUT)
 * leaves the units counted, the safe side, and the reservation live, so
 * it may be tried again. Settle a reservation once. Thread-safe.
 */
PRD_API PRD_NODISCARD prd_status prd_rl_pg_reserve(prd_rl_pg *store, const prd_rl_key *keys, size_t n_keys,
                                     uint64_t cost, prd_rl_decision *out,
                                     prd_rl_reservation *resv);
PRD_API PRD_NODISCARD prd_status prd_rl_pg_commit(prd_rl_pg *store, prd_rl_reservation *resv);
PRD_API PRD_NODISCARD prd_status prd_rl_pg_refund(prd_rl_pg *store, const prd_rl_key *keys, size_t n_keys,
                                    prd_rl_reservation *resv);
/*
 * The local pre-check (off by default): a key that this process checks
 * and that has plenty of room (after a check, at least 3 x units left on
 * its deciding rule) gets a lease on its next check: that check reserves
 * its own cost plus `units` more in one round trip, and the next checks
 * of the key in this process spend the lease with no round trip until it
 * runs out or lease_ms (1 .. 10,000; 0 turns it off) passes; then what is
 * left goes back (prd_rl_refund). Keys of more than 256 bytes in all, and
 * costs over `units`, always go to the database.
 * Error bounds, stated: the count is never exceeded (leased units are
 * counted in the database before any is spent), but a leased unit counts
 * from when the lease was taken, up to lease_ms before it was spent, so
 * each rule's bound holds over its window shortened by lease_ms (an exact
 * rule of N per W admits at most N in any W - lease_ms). The other way, a
 * lease not yet spent holds up to `units` per key per process from other
 * processes until it goes back (at expiry when the key is checked again,
 * when another key takes its slot of 1,024, or at prd_rl_pg_free).
 * Set it before checks start. Errors: PRD_EINVAL, PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_rl_pg_set_local_lease(prd_rl_pg *store, int64_t lease_ms, uint64_t units);
/* Checks answered from a lease, without a round trip. */
PRD_API uint64_t prd_rl_pg_local(const prd_rl_pg *store);
/* Checks answered by the failure policy since the store was made. */
PRD_API uint64_t prd_rl_pg_failures(const prd_rl_pg *store);
/* The store's counters in Prometheus text (prefix NULL:
 * "prodready_ratelimit_pg_"): local_total (checks answered from a lease)
 * and failures_total (checks answered by the failure policy). Contract as
 * prd_limiter_prometheus. */
PRD_API size_t prd_rl_pg_prometheus(const prd_rl_pg *store, const char *prefix, char *out,
                                    size_t out_size);
/* Gives back what is left of its leases first (a round trip each). NULL
 * is a no-op. */
PRD_API void prd_rl_pg_free(prd_rl_pg *store);

/* Release (or detach from) a limiter. NULL is a no-op. */
PRD_API void prd_limiter_free(prd_limiter *lim);

/*
 * Check and, when every rule admits it, record `cost` units (1 .. the
 * smallest limit is useful; larger is denied with retry_after_ms -1).
 * keys[i] is the key for rule i; n_keys must equal the number of rules.
 * Returns PRD_OK (admitted) or PRD_ELIMITED (denied; nothing recorded
 * anywhere), with *out filled either way.
 * Errors: PRD_EINVAL (n_keys, cost 0, key over PRD_RL_KEY_MAX bytes),
 * PRD_EBUSY (a new key while max_keys keys with live state are tracked;
 * nothing recorded; *out zeroed). No allocation; thread-safe.
 */
PRD_API PRD_NODISCARD prd_status prd_limiter_check(prd_limiter *lim, const prd_rl_key *keys, size_t n_keys,
                                     uint64_t cost, prd_rl_decision *out);

/* The same at an explicit monotonic time in milliseconds, 0 .. 2^52
 * (replaying logs, or a server with its own clock; else PRD_EINVAL). */
PRD_API PRD_NODISCARD prd_status prd_limiter_check_at(prd_limiter *lim, const prd_rl_key *keys, size_t n_keys,
                                        uint64_t cost, int64_t now_ms, prd_rl_decision *out);

/* Would this check be admitted now? Fills *out like a check and returns
 * PRD_OK or PRD_ELIMITED, but records nothing and inserts no key (a
 * read path: headers on a response that is not itself limited).
 * Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_limiter_peek(prd_limiter *lim, const prd_rl_key *keys, size_t n_keys,
                                    uint64_t cost, prd_rl_decision *out);
PRD_API PRD_NODISCARD prd_status prd_limiter_peek_at(prd_limiter *lim, const prd_rl_key *keys, size_t n_keys,
                                       uint64_t cost, int64_t now_ms, prd_rl_decision *out);


/*
 * Reserve cost units on every rule atomically, exactly as prd_limiter_check
 * decides and records them; on PRD_OK *resv holds what it took. Settle it
 * later: prd_limiter_commit keeps the units, prd_limiter_refund gives back
 * what of them still counts (the units of an exact rule still in its
 * window, a counter's if its window has not moved on twice, a GCRA key's
 * share of the bucket not yet replenished), so refunds never admit more
 * than the rule would have without the reservation. Unsettled
 * reservations simply stay counted (they need no freeing). Same errors as
 * check; PRD_EINVAL also when resv is NULL. Thread-safe.
 */
PRD_API PRD_NODISCARD prd_status prd_limiter_reserve(prd_limiter *lim, const prd_rl_key *keys, size_t n_keys,
                                       uint64_t cost, prd_rl_decision *out,
                                       prd_rl_reservation *resv);
PRD_API PRD_NODISCARD prd_status prd_limiter_reserve_at(prd_limiter *lim, const prd_rl_key *keys,
                                          size_t n_keys, uint64_t cost, int64_t now_ms,
                                          prd_rl_decision *out, prd_rl_reservation *resv);
/* Settle a reservation made by this limiter. Errors: PRD_EINVAL (NULL, not
 * from this limiter, not reserved or already settled; bad now_ms). A
 * refund costs the units admitted to that key since the reservation at
 * most (an exact rule moves the shorter side of its log). */
PRD_API PRD_NODISCARD prd_status prd_limiter_commit(prd_limiter *lim, prd_rl_reservation *resv);
PRD_API PRD_NODISCARD prd_status prd_limiter_refund(prd_limiter *lim, prd_rl_reservation *resv);
PRD_API PRD_NODISCARD prd_status prd_limiter_refund_at(prd_limiter *lim, prd_rl_reservation *resv,
                                         int64_t now_ms);

/* Keys currently tracked by rule `rule` (exact, over all shards); 0 for a
 * bad index. */
PRD_API size_t prd_limiter_key_count(const prd_limiter *lim, int rule);

/* New keys refused by rule `rule` because max_keys keys with live state
 * were tracked (each was a PRD_EBUSY); 0 for a bad index. */
PRD_API uint64_t prd_limiter_refused(const prd_limiter *lim, int rule);

/* Real bytes of memory per key for rule `rule` when max_keys are tracked:
 * the index with its slack, plus the log of an exact rule. The resident
 * memory grows by this much per key. 0 for a bad index. */
PRD_API size_t prd_limiter_bytes_per_key(const prd_limiter *lim, int rule);

/*
 * The limiter's state in Prometheus text exposition format, names
 * prefixed with prefix (NULL: "prodready_ratelimit_"), one sample per rule
 * labelled rule="<name>": keys (gauge: keys tracked), keys_max (gauge),
 * keys_refused_total (counter: new keys refused because the rule was
 * full). Writes at most out_size bytes including the NUL and returns
 * the length of the whole text without the NUL (snprintf convention: a
 * result >= out_size means it was cut; call with out NULL and out_size 0
 * to learn the size); 0 on bad arguments or a prefix that is not letters,
 * digits, '_' and ':' (at most 64 bytes). Thread-safe: the counters are
 * read without stopping the object, so a text is consistent per sample,
 * not across samples.
 */
PRD_API size_t prd_limiter_prometheus(const prd_limiter *lim, const char *prefix, char *out,
                                      size_t out_size);

/*
 * Header values of draft-ietf-httpapi-ratelimit-headers-10 and
 * Retry-After, with snprintf rules (return the length needed; a buffer of
 * PRD_RL_HEADER_SIZE always suffices; never a truncated value):
 *   RateLimit-Policy: "account";q=5;w=60   (every rule, comma-separated)
 *   RateLimit: "account";r=2;t=37          (the deciding rule: r units
 *              remaining; t seconds until quota is available again: for a
 *              denial until the request would be admitted, else until the
 *              window is clear)
 *   Retry-After: 37                        (seconds, rounded up; at least
 *              1; never earlier than t; a day when the cost can never pass)
 * _pk adds the pk parameter (a Structured Fields byte sequence) from
 * pk_len (at most PRD_RL_PK_MAX) bytes the caller chooses: a fingerprint
 * of the partition key, never the key itself (an address, an account).
 */
PRD_API size_t prd_limiter_policy_header(const prd_limiter *lim, char *out, size_t out_size);
PRD_API size_t prd_limiter_ratelimit_header(const prd_limiter *lim, const prd_rl_decision *d,
                                            char *out, size_t out_size);
PRD_API size_t prd_limiter_ratelimit_header_pk(const prd_limiter *lim, const prd_rl_decision *d,
                                               const void *pk, size_t pk_len, char *out,
                                               size_t out_size);
PRD_API size_t prd_limiter_retry_after_header(const prd_rl_decision *d, char *out, size_t out_size);

/*
 * The RFC 9457 problem details body (application/problem+json) for a
 * denied decision, of the draft's quota-exceeded type with its
 * "violated-policies" member; 0 for an allowed decision.
 */
PRD_API size_t prd_limiter_problem_json(const prd_limiter *lim, const prd_rl_decision *d,
                                        char *out, size_t out_size);

/* ------------------------------------------------------------------ */
/* Login protection (the OWASP pattern)                                */
/* ------------------------------------------------------------------ */

/*
 * A login guard combines:
 *   - a per-source limit on login attempts (default 100 per hour; rule 0,
 *     "login-source"),
 *   - a per-account limit on failed attempts (default 10 per 15 minutes)
 *     from sources that have not logged in to that account before (rule 1,
 *     "login-account"),
 *   - exponential backoff per (account, source) (rule 2, "login-backoff"):
 *     the first `free_failures` (default 3) attempts of a failure streak
 *     are immediate; after that each attempt waits base (1 s) from the
 *     last failure, doubling per further failure up to cap (15 min). A
 *     success ends the streak; a streak is forgotten 2 x cap after its
 *     last failure.
 *
 * Reserve, then settle: prd_login_guard_check counts the attempt as a
 * failure at once (one attempt against the source, one failure against
 * the account and the pair), atomically across all three; success()
 * refunds the failure; failure() keeps it. So no number of concurrent
 * attempts gets past the limits: 50 simultaneous guesses from one source
 * get free_failures through, 50 from 50 sources on one account get 10.
 *
 * Trade-off (docs/ratelimit.md): the backoff is per (account, source), so
 * an attacker elsewhere cannot make the real user wait; a source that has
 * logged in successfully before (for 30 days) is exempt from the
 * per-account failure limit, so guessing from other places cannot lock
 * the user out of their usual place. Familiar sources are kept in a table
 * of their own that only successful logins fill, and no table ever evicts
 * live state: floods of fresh names or sources cannot erase an account's
 * counter or a user's familiar source. When a table is full of live state
 * a new key's attempt is refused with PRD_EBUSY (fail closed; counted).
 *
 * Thread-safe. Accounts and sources are opaque bytes (an account id, an
 * IP, a device cookie), up to PRD_RL_KEY_MAX each.
 */
typedef struct prd_login_guard prd_login_guard;
struct prd_logger; /* prodready/log.h */

/* One attempt between check and its outcome: caller-owned storage that
 * check fills and success()/failure() consume. Opaque. Final. It keeps
 * the first PRD_LOGIN_REPORT_ACCOUNT_MAX bytes of the account for lockout
 * reports (a longer account is reported by that prefix). */
#define PRD_LOGIN_REPORT_ACCOUNT_MAX 128
typedef struct prd_login_attempt {
    uint64_t opaque_[32];
} prd_login_attempt;

/* Errors: PRD_EINVAL, PRD_ENOMEM. max_keys bounds each table (sources,
 * accounts, pairs, familiar pairs); 16 .. 2^24. */
PRD_API PRD_NODISCARD prd_status prd_login_guard_new(size_t max_keys, prd_login_guard **out);
PRD_API void prd_login_guard_free(prd_login_guard *g);
/* Limits (attempts 1 .. 2^48; failures 1 .. PRD_RL_EXACT_MAX_LIMIT;
 * windows 1 ms .. 30 days) and backoff (base and cap 1 ms .. 1 day). Call
 * before use: the guard's state starts afresh. Errors: PRD_EINVAL,
 * PRD_ENOMEM. Not thread-safe with concurrent checks. */
PRD_API PRD_NODISCARD prd_status prd_login_guard_set_limits(prd_login_guard *g, uint64_t source_attempts,
                                              int64_t source_window_ms, uint64_t account_failures,
                                              int64_t account_window_ms);
PRD_API PRD_NODISCARD prd_status prd_login_guard_set_backoff(prd_login_guard *g, uint32_t free_failures,
                                               int64_t base_ms, int64_t cap_ms);
/* Monotonic clock (NULL: the system's); borrowed, must outlive the guard. */
PRD_API PRD_NODISCARD prd_status prd_login_guard_set_clock(prd_login_guard *g, const prd_clock *clock);

/*
 * Lockouts an operator can see. kind: PRD_LOGIN_LOCKOUT_*; account as
 * given; source_fp: 16 hex digits of a keyed BLAKE2b of the source (never
 * the source itself); for_ms: how long the lockout lasts from now. Called
 * once per lockout, outside the guard's locks, on the thread whose
 * attempt caused it; it must not call back into the same guard.
 * A logger attached with set_logger gets the same as one warn line
 * ("login lockout": kind, account, source_fp, until as RFC 3339 UTC).
 * Both borrowed; NULL turns them off.
 */
typedef enum prd_login_lockout_kind {
    PRD_LOGIN_LOCKOUT_SOURCE = 0,  /* the source used up its attempts */
    PRD_LOGIN_LOCKOUT_ACCOUNT = 1, /* the account's failures from unfamiliar sources */
    PRD_LOGIN_LOCKOUT_BACKOFF = 2  /* a (account, source) pair entered backoff */
} prd_login_lockout_kind;
typedef void (*prd_login_lockout_fn)(void *user_data, prd_login_lockout_kind kind,
                                     const void *account, size_t account_len,
                                     const char *source_fp, int64_t for_ms);
PRD_API PRD_NODISCARD prd_status prd_login_guard_set_lockout_callback(prd_login_guard *g,
                                                        prd_login_lockout_fn fn, void *user_data);
PRD_API PRD_NODISCARD prd_status prd_login_guard_set_logger(prd_login_guard *g, struct prd_logger *lg);

/*
 * Keep the guard's state in PostgreSQL (the stores' schema:
 * prd_pg_stores_migrate), so its limits hold across every instance of a
 * service behind a load balancer: 20 guesses at one account spread over
 * four instances meet one account limit, not four. The decisions are the
 * in-memory guard's (same limits, backoff, familiar sources, lockout
 * reports), made by the database in one round trip per check and per
 * success or abandon (a failure writes nothing more), by the database's
 * clock (set_clock does not apply). Accounts and sources are stored as
 * BLAKE2b-128 digests. Failure streaks are in an unlogged table (a server
 * crash forgives them); familiar sources are logged. When the database
 * fails the guard fails closed: check returns PRD_EDB (or PRD_ETIMEOUT)
 * with *out denied (retry_after_ms 1000), counted as
 * PRD_LOGIN_COUNT_DB_FAILED; success, abandon and unlock return it too
 * (the login itself stands). Set it before use, with the limits every
 * instance shares; NULL goes back to memory. The pool is borrowed: free
 * the guard first. Errors: PRD_EINVAL.
 */
struct prd_pg_pool;
PRD_API PRD_NODISCARD prd_status prd_login_guard_set_pg(prd_login_guard *g, struct prd_pg_pool *pool);

/*
 * May this source try to log in to this account now? On PRD_OK the
 * attempt is counted (as a failure until success() says otherwise) and
 * *att holds it; verify the password, then call success() or failure()
 * with it. On PRD_ELIMITED nothing is counted; *out says which rule
 * denied (0 source, 1 account, 2 backoff) and retry_after_ms. *out (may
 * be NULL) is filled like a limiter decision either way.
 * Errors: PRD_EINVAL (NULL g or att, oversized keys), PRD_EBUSY (a table
 * is full of live state: fail closed; nothing counted); in PostgreSQL
 * PRD_EDB, PRD_ETIMEOUT (fail closed, above).
 */
PRD_API PRD_NODISCARD prd_status prd_login_guard_check(prd_login_guard *g, const void *account,
                                         size_t account_len, const void *source,
                                         size_t source_len, prd_login_attempt *att,
                                         prd_rl_decision *out);
/* The outcome of a checked attempt. success: the failure is refunded, the
 * pair's backoff ends, and the source becomes familiar to the account for
 * 30 days. failure: the counts stay; a lockout it completes is reported.
 * Errors: PRD_EINVAL (not an attempt of this guard, or already settled),
 * PRD_EBUSY (success only: the familiar-source table is full; the login
 * itself stands). */
PRD_API PRD_NODISCARD prd_status prd_login_guard_success(prd_login_guard *g, prd_login_attempt *att);
PRD_API PRD_NODISCARD prd_status prd_login_guard_failure(prd_login_guard *g, prd_login_attempt *att);
/* Neither: the attempt could not be judged (the password store or the
 * hashing budget failed: a system error). The failure is refunded and the
 * source gains nothing; the source's attempt stays counted.
 * Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_login_guard_abandon(prd_login_guard *g, prd_login_attempt *att);

/*
 * Lift an account's lockout, for the application's recovery path (after
 * a password reset or a second factor): its failure count and every
 * (account, source) backoff end. Familiar sources stay. Costs one pass
 * over the pair table (O(max_keys)); meant for rare calls.
 * Errors: PRD_EINVAL.
 */
PRD_API PRD_NODISCARD prd_status prd_login_guard_unlock(prd_login_guard *g, const void *account,
                                          size_t account_len);

/* Counters: lockouts of each kind, attempts refused with PRD_EBUSY,
 * attempts allowed and denied, and calls the database failed (in
 * PostgreSQL: prd_login_guard_set_pg). */
typedef enum prd_login_counter {
    PRD_LOGIN_COUNT_LOCKOUT_SOURCE = 0,
    PRD_LOGIN_COUNT_LOCKOUT_ACCOUNT = 1,
    PRD_LOGIN_COUNT_LOCKOUT_BACKOFF = 2,
    PRD_LOGIN_COUNT_BUSY = 3,
    PRD_LOGIN_COUNT_ALLOWED = 4,
    PRD_LOGIN_COUNT_DENIED = 5,
    PRD_LOGIN_COUNT_DB_FAILED = 6
} prd_login_counter;
PRD_API uint64_t prd_login_guard_count(const prd_login_guard *g, prd_login_counter which);
/* The guard's counters in Prometheus text (prefix NULL:
 * "prodready_login_"): lockouts_total{kind="source|account|backoff"},
 * attempts_total{result="allowed|denied"}, busy_total and
 * db_failures_total. Contract as prd_limiter_prometheus. */
PRD_API size_t prd_login_guard_prometheus(const prd_login_guard *g, const char *prefix,
                                          char *out, size_t out_size);

/* RateLimit-Policy (source and account rules) and RateLimit values for a
 * guard's decision, as the limiter's header functions write them. */
PRD_API size_t prd_login_guard_policy_header(const prd_login_guard *g, char *out,
                                             size_t out_size);
PRD_API size_t prd_login_guard_ratelimit_header(const prd_login_guard *g,
                                                const prd_rl_decision *d, char *out,
                                                size_t out_size);

#ifdef __cplusplus
}
#endif

#endif /* PRODREADY_RATELIMIT_H */
