/* Internal pieces of the password module, shared by lib/password_*.c. */
#ifndef PRD_INTERNAL_PASSWORD_H
#define PRD_INTERNAL_PASSWORD_H

#include <pthread.h>
#include <stdint.h>

#include "prodready/password.h"

/* Argon2 variants, numbered as libargon2's argon2_type. */
enum prd__argon2_type { PRD__ARGON2D = 0, PRD__ARGON2I = 1, PRD__ARGON2ID = 2 };

#define PRD__SALT_MIN 8
#define PRD__SALT_MAX 64
#define PRD__TAG_MIN 4
#define PRD__TAG_MAX 64
#define PRD__AD_MAX 256
#define PRD__KEYID_MAX 32
#define PRD__PEPPER_MIN 16
#define PRD__PEPPER_MAX 64
#define PRD__ARGON2_MAX_LANES 0xFFFFFFu

/* A parsed Argon2 PHC string. */
struct prd__phc {
    enum prd__argon2_type type;
    uint32_t version; /* 0x10 or 0x13 */
    uint32_t m_kib, t, p;
    char keyid[PRD__KEYID_MAX + 1]; /* "" when absent */
    unsigned char ad[PRD__AD_MAX];
    size_t ad_len;
    unsigned char salt[PRD__SALT_MAX];
    size_t salt_len;
    unsigned char tag[PRD__TAG_MAX];
    size_t tag_len;
};

/* The longest PHC string the parser accepts, written back by
 * prd__phc_encode, with its NUL: "$argon2id$v=19$m=4294967295,t=4294967295,
 * p=16777215,keyid=" + 32 + ",data=" + base64 of 256 bytes (342) + "$" +
 * base64 of a 64-byte salt (86) + "$" + of a 64-byte tag (86) = 613.
 * PRD_PASSWORD_HASH_SIZE (320) bounds the hashes we make (no associated
 * data), not the foreign ones we verify. */
#define PRD__PHC_MAX_LEN 640

/* Parse a NUL-terminated PHC string strictly (docs/password.md lists what
 * is accepted). PRD_OK or PRD_EINVAL; never reads past the NUL. */
prd_status prd__phc_parse(const char *s, struct prd__phc *out);

/* Write a PHC string (snprintf rules); returns the length needed. */
size_t prd__phc_encode(const struct prd__phc *phc, char *out, size_t out_size);

/* Compute the Argon2 tag for phc's parameters, salt and ad into tag
 * (phc->tag_len bytes), routing to the fastest backend that supports them.
 * Errors: PRD_ENOMEM, PRD_EINTERNAL. */
prd_status prd__argon2_compute(const struct prd__phc *phc, const unsigned char *pw, size_t pw_len,
                               unsigned char *tag);

/* The same with Argon2's secret input K (libargon2 only); the official
 * known-answer vectors use it. */
prd_status prd__argon2_compute_keyed(const struct prd__phc *phc, const unsigned char *pw,
                                     size_t pw_len, const unsigned char *secret,
                                     size_t secret_len, unsigned char *tag);

/* Does phc's tag match this password? PRD_OK or PRD_EMISMATCH, or
 * PRD_ENOMEM / PRD_EINTERNAL; by the fastest backend for verifying. */
prd_status prd__argon2_verify(const struct prd__phc *phc, const unsigned char *pw,
                              size_t pw_len);

/* What a policy lends its hashes: reusable arenas and the helper threads
 * for lanes (argon2_core.h). NULL everywhere means a fresh arena per call
 * and lanes on up to one thread per CPU. */
struct prd__argon2_env;
struct prd__argon2_env *prd__argon2_env_new(uint64_t limit_bytes);
void prd__argon2_env_free(struct prd__argon2_env *env);
void prd__argon2_env_set_limit(struct prd__argon2_env *env, uint64_t limit_bytes);
void prd__argon2_env_set_idle_ms(struct prd__argon2_env *env, uint32_t idle_ms);
/* Bytes held in arenas now (idle and in use); for metrics and tests. */
uint64_t prd__argon2_env_held(struct prd__argon2_env *env);

/* The same computations, drawing on env (may be NULL). */
prd_status prd__argon2_compute_in(struct prd__argon2_env *env, const struct prd__phc *phc,
                                  const unsigned char *pw, size_t pw_len, unsigned char *tag);
prd_status prd__argon2_verify_in(struct prd__argon2_env *env, const struct prd__phc *phc,
                                 const unsigned char *pw, size_t pw_len);

/* Backends, for the test hook and the routing. */
enum prd__backend {
    PRD__BACKEND_ROUTE = 0,
    PRD__BACKEND_LIBSODIUM = 1,
    PRD__BACKEND_LIBARGON2 = 2,
    PRD__BACKEND_OWN = 3,
};
/* Force a backend (test hook): PRD__BACKEND_ROUTE routes again. A forced
 * libsodium fails with PRD_EINVAL on what it cannot compute. */
void prd__argon2_force_backend(int which);
/* Measure the built backends once per process (argon2.c); idempotent. */
void prd__argon2_calibrate(void);
/* The routing rule over those measurements (seconds per hash): the
 * backend for a shape libsodium can compute (sodium_shape) or not. */
int prd__argon2_route_pick(double own, double sodium, double ref, int sodium_shape);

/* 1 when libsodium can compute these parameters (the fast path). */
int prd__argon2_sodium_can(const struct prd__phc *phc);

/* Legacy crypt(3): 1 when the string looks like one of the accepted
 * families; verify returns PRD_OK/PRD_EMISMATCH/PRD_EINVAL. */
int prd__legacy_is_legacy(const char *stored);
prd_status prd__legacy_verify(const char *password, size_t password_len, const char *stored);

/* Caps on what a legacy hash may cost, checked before computing. */
struct prd__legacy_caps {
    uint64_t max_bcrypt_cost;
    uint64_t max_sha512_rounds;
    uint64_t max_yescrypt_kib;
};
/* The memory a legacy hash needs (KiB) from its settings alone.
 * PRD_ETOOBIG over a cap, PRD_EINVAL unreadable settings; allocates
 * nothing. */
prd_status prd__legacy_cost(const char *stored, const struct prd__legacy_caps *caps,
                            uint64_t *mem_kib);

/* The memory budget: a FIFO of waiters over a pool of KiB. */
struct prd__budget_waiter;
struct prd__budget {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t total_kib;
    uint64_t used_kib;
    uint64_t peak_kib;
    uint64_t in_flight;
    uint64_t waiting;
    uint64_t busy;
    uint64_t completed;
    uint64_t avg_ns; /* moving average duration of one hash */
    struct prd__budget_waiter *head, *tail;
    _Atomic unsigned long fork_epoch; /* of the process these counts belong to */
};

void prd__budget_init(struct prd__budget *b, uint64_t total_kib);
void prd__budget_destroy(struct prd__budget *b);
/* The budget's lock, for readers of its counts. In a child after fork()
 * the first call remakes the budget as empty (the parent's hashes in
 * flight hold nothing here, and the lock may have been copied held). */
void prd__budget_lock(struct prd__budget *b);
void prd__budget_unlock(struct prd__budget *b);
/* Take need_kib (capped at the whole budget) waiting up to wait_ms in FIFO
 * order. PRD_OK or PRD_EBUSY. Returns the amount taken in *taken. */
prd_status prd__budget_acquire(struct prd__budget *b, uint64_t need_kib, uint32_t wait_ms,
                               uint64_t *taken);
void prd__budget_release(struct prd__budget *b, uint64_t taken, uint64_t elapsed_ns);

struct prd__pepper {
    char id[PRD__KEYID_MAX + 1];
    prd_secret *key;
};

#define PRD__PEPPERS_MAX 8

struct prd_password_policy {
    uint32_t t, m_kib, p;
    size_t salt_len, hash_len;
    uint32_t max_t, max_m_kib, max_p;
    size_t max_password_len;
    int allow_legacy;
    struct prd__legacy_caps legacy_caps;
    int budget_explicit;
    uint32_t wait_ms;
    struct prd__pepper peppers[PRD__PEPPERS_MAX]; /* [0] current when has_current */
    size_t n_peppers;
    int has_current;
    struct prd__budget budget;
    struct prd__argon2_env *env;
};

/* The pepper named id, or NULL. */
const struct prd__pepper *prd__policy_pepper(const prd_password_policy *p, const char *id);

#endif
