/*
 * prodready/password.h: Argon2id password hashing in PHC string format.
 *
 *   prd_password_policy *pol;
 *   prd_password_policy_new(NULL, &pol);              // "owasp" preset
 *   char phc[PRD_PASSWORD_HASH_SIZE];
 *   prd_password_hash(pol, pw, pw_len, phc, sizeof phc);
 *   ...
 *   switch (prd_password_verify(pol, pw, pw_len, stored)) { ... }
 *
 * A policy holds the parameters new hashes get, the caps every stored hash
 * is checked against before any memory is allocated, an optional pepper,
 * whether legacy crypt(3) hashes are accepted, and a memory budget that
 * bounds how many hashes run at once.
 *
 * Verification accepts every valid Argon2 PHC string (argon2id, argon2i,
 * argon2d; versions 19 and 16; salts of 8-64 bytes; hashes of 4-64 bytes;
 * any t, m, p within the caps). The Argon2 computation is our own by
 * default (vector instructions chosen at run time, memory kept between
 * hashes, lanes on threads), with libsodium and libargon2 as the
 * references it is tested against; prd_password_backend() says which one
 * runs. docs/password.md lists every leniency of the parser.
 *
 * Thread safety: configure a policy (the setters) before sharing it; after
 * that every function taking a const policy may run concurrently from any
 * number of threads. Passwords are borrowed, never stored, and every
 * intermediate buffer that held password-derived bytes is wiped.
 */
#ifndef PRODREADY_PASSWORD_H
#define PRODREADY_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "prodready/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prd_password_policy prd_password_policy;

/* Bytes of a buffer that holds any PHC string this library writes, NUL
 * included (prd_password_hash_size() for FFI). */
#define PRD_PASSWORD_HASH_SIZE 320
PRD_API size_t prd_password_hash_size(void);

/* Longest stored hash string the parser looks at; longer is PRD_EINVAL. */
#define PRD_PASSWORD_PHC_MAX 1024

/* Default caps, enforced on stored hashes before anything is allocated. */
#define PRD_PASSWORD_DEFAULT_MAX_M_KIB 1048576u /* 1 GiB */
#define PRD_PASSWORD_DEFAULT_MAX_T 16u
#define PRD_PASSWORD_DEFAULT_MAX_P 16u
#define PRD_PASSWORD_DEFAULT_MAX_LEN 4096u
#define PRD_PASSWORD_DEFAULT_MAX_BCRYPT_COST 14u         /* about 1 s here */
#define PRD_PASSWORD_DEFAULT_MAX_SHA512_ROUNDS 1000000u  /* about 0.5 s here */
#define PRD_PASSWORD_DEFAULT_MAX_YESCRYPT_KIB 1048576u   /* 1 GiB, as Argon2's m */

/*
 * Make a policy from a preset; NULL means "owasp". *out is the caller's,
 * freed with prd_password_policy_free.
 *   "owasp"               argon2id m=19456 KiB t=2 p=1 (OWASP's minimum)
 *   "rfc9106-low-memory"  argon2id m=65536 KiB t=3 p=4 (RFC 9106 §4, 2nd choice)
 *   "moderate"            argon2id m=262144 KiB t=3 p=1 (libsodium MODERATE)
 *   "sensitive"           argon2id m=1048576 KiB t=4 p=1 (libsodium SENSITIVE)
 * All presets: salt 16 bytes, hash 32 bytes, caps at their defaults, no
 * pepper, legacy hashes refused, memory budget 2 x CPUs x m, wait 5 s.
 * Errors: PRD_EINVAL (unknown preset name, out NULL), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_password_policy_new(const char *preset, prd_password_policy **out);

/* Release a policy; NULL is a no-op. No call may be using it. */
PRD_API void prd_password_policy_free(prd_password_policy *policy);

/*
 * Set the cost of new hashes: t passes over m_kib KiB with p lanes.
 * Argon2's own limits apply (t >= 1, 1 <= p <= 2^24-1, m_kib >= 8 * p) and
 * so do the policy's caps. The memory budget follows m unless it was set
 * explicitly. Errors: PRD_EINVAL (naming nothing: check the limits above).
 */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_params(prd_password_policy *policy, uint32_t t,
                                                  uint32_t m_kib, uint32_t p);

/* Salt length for new hashes, 16..64 bytes (default 16).
 * Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_salt_len(prd_password_policy *policy, size_t len);

/* Hash (tag) length for new hashes, 16..64 bytes (default 32).
 * Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_hash_len(prd_password_policy *policy, size_t len);

/*
 * Caps on the cost of any hash this policy computes or verifies. A stored
 * hash over a cap is refused with PRD_ETOOBIG before memory is allocated.
 * Errors: PRD_EINVAL (zero, or below the policy's own parameters).
 */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_caps(prd_password_policy *policy, uint32_t max_t,
                                                uint32_t max_m_kib, uint32_t max_p);

/* Longest password accepted, 1..1 MiB bytes (default 4096); longer ones
 * get PRD_EINVAL. Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_max_password_len(prd_password_policy *policy,
                                                            size_t max_len);

/*
 * Pepper: a server-side secret mixed into every new hash. The password is
 * first hashed with keyed BLAKE2b-512 under the pepper, and that digest is
 * what Argon2 sees; the PHC string records the pepper's id as the
 * parameter keyid=ID, so peppers can rotate. id: 1-32 characters of
 * [A-Za-z0-9.-]; the pepper: 16-64 bytes. The policy keeps its own copy of
 * the secret (the caller may free theirs).
 *
 * set_pepper makes this the current pepper (new hashes use it; an earlier
 * current pepper becomes retired). add_retired_pepper adds one that still
 * verifies old hashes, for which needs_rehash then answers yes.
 * Errors: PRD_EINVAL (bad id or length, id already present), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_pepper(prd_password_policy *policy, const char *id,
                                                  const prd_secret *pepper);
PRD_API PRD_NODISCARD prd_status prd_password_policy_add_retired_pepper(prd_password_policy *policy,
                                                          const char *id,
                                                          const prd_secret *pepper);

/*
 * Accept legacy crypt(3) hashes that need migrating: bcrypt ($2a$, $2b$,
 * $2y$), sha512-crypt ($6$) and yescrypt ($y$). Off by default. Such
 * hashes always need rehash. Unsalted digests are never accepted.
 */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_allow_legacy(prd_password_policy *policy, int allow);

/*
 * Caps on what verifying a legacy hash may cost, read from its settings
 * and checked before any computing or allocation (a stored $2b$31$ runs
 * for days, $6$rounds=999999999$ for minutes): bcrypt cost 4..31 (default
 * 14), sha512-crypt rounds 1000..999999999 (default 1,000,000), yescrypt
 * memory 64 KiB..4 TiB (default 1 GiB). Over a cap: PRD_ETOOBIG. Legacy
 * verification also runs under the memory budget, charged its real
 * memory. Errors: PRD_EINVAL.
 */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_legacy_caps(prd_password_policy *policy,
                                                       uint32_t max_bcrypt_cost,
                                                       uint64_t max_sha512_rounds,
                                                       uint64_t max_yescrypt_kib);

/*
 * Memory budget for concurrent hashes, in KiB (default 2 x CPUs x m), and
 * how long a call waits for room (default 5000 ms; 0 = fail at once).
 * A call that needs more than the whole budget runs alone, and is counted
 * at its real memory (the peak statistic can then exceed the budget).
 * The budget also bounds the memory kept between hashes for reuse (see
 * prd_password_policy_set_arena_idle). The lanes of a p > 1 hash run on
 * threads: as many as its lanes can use, up to the CPUs, shared among the
 * policy's hashes in flight, so a policy never runs more than its hashes
 * in flight plus CPUs - 1 threads.
 * Errors: PRD_EINVAL.
 */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_budget(prd_password_policy *policy, uint64_t budget_kib,
                                                  uint32_t wait_ms);

/*
 * How long the policy keeps an idle hash arena (the memory one Argon2
 * computation fills, reused by the next so it is neither mapped nor
 * faulted in again) before giving it back to the system. Default 30000 ms;
 * 0 unmaps every arena after its hash. Arenas are wiped after every hash
 * whatever this is, and the arenas a policy holds stay under its memory
 * budget (docs/password.md). Unlike the other setters, thread-safe while
 * the policy hashes. Errors: PRD_EINVAL (NULL policy).
 */
PRD_API PRD_NODISCARD prd_status prd_password_policy_set_arena_idle(prd_password_policy *policy,
                                                                    uint32_t idle_ms);

/*
 * The Argon2 backend computing new hashes in this process, a static string:
 * "own-avx512", "own-avx2", "own-ssse3", "own-sse2", "own-portable" (our
 * code, named by the block fill this CPU runs), "libsodium" or "libargon2".
 * Chosen by the build (meson -Dargon2=auto|own|libsodium|libargon2) and,
 * for auto, by a short measurement once per process (about 15 ms, at the
 * first policy; a failed run of ours there keeps ours).
 * Thread-safe.
 */
PRD_API const char *prd_password_backend(void);

/*
 * A hint for callers that got PRD_EBUSY: how many milliseconds until a
 * retry is likely to get room (for a Retry-After header). Never 0.
 */
PRD_API uint32_t prd_password_retry_after_ms(const prd_password_policy *policy);

/* Counters of a policy, for metrics. */
typedef enum prd_password_stat {
    PRD_PASSWORD_STAT_IN_FLIGHT = 0,     /* hashes running now */
    PRD_PASSWORD_STAT_IN_FLIGHT_KIB = 1, /* their memory */
    PRD_PASSWORD_STAT_PEAK_KIB = 2,      /* highest in-flight memory seen */
    PRD_PASSWORD_STAT_WAITING = 3,       /* calls waiting for budget */
    PRD_PASSWORD_STAT_BUSY = 4,          /* calls that gave up with PRD_EBUSY */
    PRD_PASSWORD_STAT_COMPLETED = 5,     /* hashes computed */
    PRD_PASSWORD_STAT_ARENA_KIB = 6      /* memory kept in arenas now, idle and in use */
} prd_password_stat;

/* The current value of a counter; 0 for NULL or an unknown counter. */
PRD_API uint64_t prd_password_stat_get(const prd_password_policy *policy,
                                       prd_password_stat stat);

/*
 * The policy's counters in Prometheus text exposition format, names
 * prefixed with prefix (NULL: "prodready_password_"): hashes_in_flight,
 * memory_in_flight_bytes, memory_peak_bytes, budget_waiting,
 * arena_bytes (memory kept between hashes for reuse) (gauges),
 * budget_busy_total, hashes_total (counters). Writes at most out_size bytes including the NUL and returns
 * the length of the whole text without the NUL (snprintf convention: a
 * result >= out_size means it was cut; call with out NULL and out_size 0
 * to learn the size); 0 on bad arguments or a prefix that is not letters,
 * digits, '_' and ':' (at most 64 bytes). Thread-safe: the counters are
 * read without stopping the object, so a text is consistent per sample,
 * not across samples.
 */
PRD_API size_t prd_password_policy_prometheus(const prd_password_policy *policy,
                                              const char *prefix, char *out, size_t out_size);

/*
 * Hash a password under the policy and write the PHC string into out
 * (out_size >= PRD_PASSWORD_HASH_SIZE always suffices).
 * Errors: PRD_EINVAL (NULL arguments, password over the maximum length),
 * PRD_ENOSPACE (out too small; out is then ""), PRD_EBUSY (no budget within
 * the wait), PRD_ENOMEM, PRD_EINTERNAL (the Argon2 backend failed).
 */
PRD_API PRD_NODISCARD prd_status prd_password_hash(const prd_password_policy *policy, const char *password,
                                     size_t password_len, char *out, size_t out_size);

/*
 * Check a password against a stored hash (NUL-terminated PHC string, or a
 * legacy crypt(3) string when the policy allows them). The comparison is
 * constant-time.
 * Returns PRD_OK (match) or PRD_EMISMATCH.
 * Errors: PRD_EINVAL (malformed or out-of-range hash, password too long),
 * PRD_ETOOBIG (hash parameters over the policy's caps), PRD_ENOTFOUND
 * (peppered with an id the policy does not know), PRD_EUNSUPPORTED (legacy
 * hash while legacy is off, or another algorithm), PRD_EBUSY, PRD_ENOMEM,
 * PRD_EINTERNAL.
 */
PRD_API PRD_NODISCARD prd_status prd_password_verify(const prd_password_policy *policy, const char *password,
                                       size_t password_len, const char *stored);

/*
 * For an unknown user: spend the same time and memory as prd_password_verify
 * would on a hash made under the current policy, then return PRD_EMISMATCH,
 * so a login form does not reveal which accounts exist by its timing.
 * Errors as prd_password_hash.
 */
PRD_API PRD_NODISCARD prd_status prd_password_verify_dummy(const prd_password_policy *policy,
                                             const char *password, size_t password_len);

/* Why a stored hash should be replaced. */
typedef enum prd_rehash_reason {
    PRD_REHASH_NONE = 0,            /* current: keep it */
    PRD_REHASH_WEAKER_PARAMS = 1,   /* lower cost, version 16, shorter salt or hash */
    PRD_REHASH_OTHER_PARAMS = 2,    /* different (e.g. higher) cost than the policy's */
    PRD_REHASH_OTHER_ALGORITHM = 3, /* argon2i or argon2d */
    PRD_REHASH_OTHER_PEPPER = 4,    /* a retired pepper, none, or one when none is set */
    PRD_REHASH_LEGACY_FORMAT = 5    /* a crypt(3) hash */
} prd_rehash_reason;

/* A fixed phrase for a reason ("weaker params"); never NULL, static. */
PRD_API const char *prd_rehash_reason_str(prd_rehash_reason reason);

/*
 * Should this stored hash be replaced under the policy? *reason gets why
 * (PRD_REHASH_NONE when not). The first reason found wins in this order:
 * legacy format, other algorithm, other pepper, weaker params, other params.
 * Errors: PRD_EINVAL (malformed hash or NULL arguments); a legacy hash is
 * answered even when the policy refuses to verify legacy hashes.
 */
PRD_API PRD_NODISCARD prd_status prd_password_needs_rehash(const prd_password_policy *policy,
                                             const char *stored, prd_rehash_reason *reason);

/*
 * Verify, and when the stored hash is outdated, hash the password again
 * under the policy in the same call. On PRD_OK, *upgraded is 1 and new_hash
 * holds the replacement when one is due, else *upgraded is 0 and new_hash
 * is "". stored is never modified, so the caller can swap atomically:
 *   UPDATE users SET hash = $new WHERE id = $id AND hash = $stored
 * Returns and errors as prd_password_verify, plus PRD_ENOSPACE when
 * new_hash is too small (then nothing was verified).
 */
PRD_API PRD_NODISCARD prd_status prd_password_verify_and_upgrade(const prd_password_policy *policy,
                                                   const char *password, size_t password_len,
                                                   const char *stored, char *new_hash,
                                                   size_t new_hash_size, int *upgraded);

#ifdef __cplusplus
}
#endif

#endif /* PRODREADY_PASSWORD_H */
