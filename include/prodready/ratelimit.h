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
 * A rule is "at most N units per window W", evaluated as a sliding window
 * by one of two algorithms (docs/ratelimit.md has their error bounds):
 *   PRD_RL_EXACT    keeps the time of each admitted unit (N per key): never
 *                   admits more than N in any window (t-W, t]; retry_after
 *                   is exact. For N up to PRD_RL_EXACT_MAX_LIMIT (8 bytes
 *                   per unit per key, committed only as units arrive).
 *   PRD_RL_COUNTER  two fixed windows, the previous weighted by how much of
 *                   it still overlaps the sliding window: 24 bytes per key,
 *                   any N; exact for evenly spread traffic, and never more
 *                   than 2N in a window in the worst case.
 * A check against several rules is atomic: either every rule admits the
 * cost and all of them record it, or none does.
 *
 * Keys are byte strings (IP, account id, route), hashed with SipHash-2-4
 * under a random per-limiter key, so nobody can aim collisions; two keys
 * are told apart by their 64-bit hash alone (an accidental collision among
 * a million keys has probability about 3e-8).
 *
 * Memory is bounded: each rule tracks at most max_keys keys in a table
 * sized when the limiter is made. Keys whose windows have passed are
 * reclaimed a few at a time on the request path. When a rule's table is
 * full, the full policy decides: evict the least recently used key (an
 * approximation by sampling, as Redis does) or refuse new keys.
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
    PRD_RL_COUNTER = 1
} prd_rl_algorithm;

typedef enum prd_rl_full_policy {
    PRD_RL_EVICT_LRU = 0, /* default: make room by evicting a least recently used key */
    PRD_RL_DENY_NEW = 1   /* refuse checks for new keys (PRD_EBUSY) until room frees */
} prd_rl_full_policy;

#define PRD_RL_MAX_RULES 8
#define PRD_RL_EXACT_MAX_LIMIT 1048576u
#define PRD_RL_KEY_MAX 1024

typedef struct prd_limiter_config prd_limiter_config;
typedef struct prd_limiter prd_limiter;

/* A key for one rule: len bytes at data (data may be NULL when len is 0,
 * e.g. for a global rule). Final: this struct will not change. */
typedef struct prd_rl_key {
    const void *data;
    size_t len;
} prd_rl_key;

/*
 * The outcome of a check. Final: this struct will not change.
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
    int allowed;
    int rule;
    uint64_t limit;
    uint64_t remaining;
    int64_t reset_ms;
    int64_t retry_after_ms;
} prd_rl_decision;

/* Errors: PRD_EINVAL (out NULL), PRD_ENOMEM. */
PRD_API prd_status prd_limiter_config_new(prd_limiter_config **out);
PRD_API void prd_limiter_config_free(prd_limiter_config *cfg);

/*
 * Add a rule: at most limit units per window_ms (1 ms .. 30 days). name
 * (1-32 characters of [A-Za-z0-9_-]) is used in RateLimit headers.
 * Errors: PRD_EINVAL (a bad value; PRD_RL_EXACT with limit over
 * PRD_RL_EXACT_MAX_LIMIT), PRD_ETOOBIG (over PRD_RL_MAX_RULES rules).
 */
PRD_API prd_status prd_limiter_config_add_rule(prd_limiter_config *cfg, const char *name,
                                               uint64_t limit, int64_t window_ms,
                                               prd_rl_algorithm algorithm);

/* Keys tracked per rule (16 .. 2^26; default 100000). Errors: PRD_EINVAL. */
PRD_API prd_status prd_limiter_config_set_max_keys(prd_limiter_config *cfg, size_t max_keys);

/* What to do when a rule's table is full (default PRD_RL_EVICT_LRU). */
PRD_API prd_status prd_limiter_config_set_full_policy(prd_limiter_config *cfg,
                                                      prd_rl_full_policy policy);

/* Monotonic clock for prd_limiter_check (NULL: the system's). The config
 * borrows it; it must outlive the limiters made from this config. */
PRD_API prd_status prd_limiter_config_set_clock(prd_limiter_config *cfg, const prd_clock *clock);

/*
 * An in-process limiter. The config is copied; free it when you like.
 * Errors: PRD_EINVAL (no rules), PRD_ENOMEM.
 */
PRD_API prd_status prd_limiter_new(const prd_limiter_config *cfg, prd_limiter **out);

/*
 * A limiter in a named POSIX shared-memory segment, for the worker
 * processes of one host. name: "/something" (as shm_open wants). create:
 * 1 makes (or replaces) the segment with this config's rules and sizes;
 * 0 attaches to an existing one, which must have been made by this
 * layout version with the same rules (else PRD_EINVAL). The locks are
 * process-shared and robust: a worker killed while holding one does not
 * wedge the others. Unlink the segment with prd_limiter_shm_unlink.
 * Errors: PRD_EINVAL, PRD_ENOTFOUND (attach to a missing segment),
 * PRD_EPERM, PRD_EIO, PRD_ENOMEM.
 */
PRD_API prd_status prd_limiter_new_shm(const prd_limiter_config *cfg, const char *name,
                                       int create, prd_limiter **out);
PRD_API prd_status prd_limiter_shm_unlink(const char *name);

/* Release (or detach from) a limiter. NULL is a no-op. */
PRD_API void prd_limiter_free(prd_limiter *lim);

/*
 * Check and, when every rule admits it, record `cost` units (1 .. the
 * smallest limit is useful; larger is denied with retry_after_ms -1).
 * keys[i] is the key for rule i; n_keys must equal the number of rules.
 * Returns PRD_OK (admitted) or PRD_ELIMITED (denied; nothing recorded
 * anywhere), with *out filled either way.
 * Errors: PRD_EINVAL (n_keys, cost 0, key over PRD_RL_KEY_MAX bytes),
 * PRD_EBUSY (a table full of live keys under PRD_RL_DENY_NEW).
 * No allocation.
 */
PRD_API prd_status prd_limiter_check(prd_limiter *lim, const prd_rl_key *keys, size_t n_keys,
                                     uint64_t cost, prd_rl_decision *out);

/* The same at an explicit monotonic time in milliseconds (replaying logs,
 * or a server with its own clock). Time never goes back per key: an
 * earlier time than a key has seen counts as the latest it has seen. */
PRD_API prd_status prd_limiter_check_at(prd_limiter *lim, const prd_rl_key *keys, size_t n_keys,
                                        uint64_t cost, int64_t now_ms, prd_rl_decision *out);

/* Keys currently tracked by rule `rule`; 0 for a bad index. */
PRD_API size_t prd_limiter_key_count(const prd_limiter *lim, int rule);

/* Bytes of table memory per tracked key for rule `rule` (measured from
 * the layout, table slack included); 0 for a bad index. */
PRD_API size_t prd_limiter_bytes_per_key(const prd_limiter *lim, int rule);

/*
 * Header values of the IETF RateLimit fields draft
 * (draft-ietf-httpapi-ratelimit-headers-08 and later) and Retry-After,
 * with snprintf rules (return the length needed):
 *   RateLimit-Policy: "account";q=5;w=60   (every rule, comma-separated)
 *   RateLimit: "account";r=2;t=37          (the deciding rule)
 *   Retry-After: 37                        (seconds, rounded up; at least 1)
 */
PRD_API size_t prd_limiter_policy_header(const prd_limiter *lim, char *out, size_t out_size);
PRD_API size_t prd_limiter_ratelimit_header(const prd_limiter *lim, const prd_rl_decision *d,
                                            char *out, size_t out_size);
PRD_API size_t prd_limiter_retry_after_header(const prd_rl_decision *d, char *out, size_t out_size);

/* ------------------------------------------------------------------ */
/* Login protection (the OWASP pattern)                                */
/* ------------------------------------------------------------------ */

/*
 * A login guard combines:
 *   - a per-IP limit on login attempts (default 100 per hour),
 *   - a per-account limit on failed attempts (default 10 per 15 minutes)
 *     from sources that have not logged in to that account before,
 *   - exponential backoff per (account, source) after consecutive failures:
 *     after `free_failures` (default 3), each further failure doubles the
 *     wait from base (1 s) up to cap (15 min); a success resets it.
 * Trade-off (docs/ratelimit.md): the backoff is per (account, source), so an
 * attacker elsewhere cannot make the real user wait; a source that has
 * logged in successfully before is exempt from the per-account failure
 * limit, so guessing from other IPs cannot lock the user out of their
 * usual place. The per-account limit still slows distributed guessing from
 * new sources, and expires after its window: nothing locks an account
 * indefinitely.
 *
 * Thread-safe. Sources are opaque bytes (an IP, a device cookie).
 */
typedef struct prd_login_guard prd_login_guard;

/* Errors: PRD_EINVAL, PRD_ENOMEM. max_keys bounds each table (accounts,
 * sources, pairs); 16 .. 2^24. */
PRD_API prd_status prd_login_guard_new(size_t max_keys, prd_login_guard **out);
PRD_API void prd_login_guard_free(prd_login_guard *g);
PRD_API prd_status prd_login_guard_set_limits(prd_login_guard *g, uint64_t ip_attempts,
                                              int64_t ip_window_ms, uint64_t account_failures,
                                              int64_t account_window_ms);
PRD_API prd_status prd_login_guard_set_backoff(prd_login_guard *g, uint32_t free_failures,
                                               int64_t base_ms, int64_t cap_ms);
PRD_API prd_status prd_login_guard_set_clock(prd_login_guard *g, const prd_clock *clock);

/*
 * May this source try to log in to this account now? Counts one attempt
 * against the source. Returns PRD_OK, or PRD_ELIMITED with
 * *retry_after_ms (may be NULL) set. Errors: PRD_EINVAL.
 */
PRD_API prd_status prd_login_guard_check(prd_login_guard *g, const void *account,
                                         size_t account_len, const void *source,
                                         size_t source_len, int64_t *retry_after_ms);
/* Record the outcome of the attempt that check allowed. */
PRD_API prd_status prd_login_guard_failure(prd_login_guard *g, const void *account,
                                           size_t account_len, const void *source,
                                           size_t source_len);
PRD_API prd_status prd_login_guard_success(prd_login_guard *g, const void *account,
                                           size_t account_len, const void *source,
                                           size_t source_len);

#ifdef __cplusplus
}
#endif

#endif /* PRODREADY_RATELIMIT_H */
