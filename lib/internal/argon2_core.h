/*
 * Our own Argon2 (RFC 9106): BLAKE2b and H', the BlaMka block fills, the
 * reused memory arenas and the lane scheduler. Shared by the files of lib/password
 * and reached by the tests (differential checks, the wipe check).
 */
#ifndef PRD_INTERNAL_ARGON2_CORE_H
#define PRD_INTERNAL_ARGON2_CORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/password.h"

/* ---- BLAKE2b (any digest length 1-64) and H' (any length) ---- */
struct prd__blake2b {
    uint64_t h[8];
    uint64_t t[2];
    unsigned char buf[128];
    size_t buflen;
    size_t outlen;
};
void prd__blake2b_init(struct prd__blake2b *s, size_t outlen);
void prd__blake2b_update(struct prd__blake2b *s, const void *in, size_t len);
/* Writes outlen bytes and wipes the state. */
void prd__blake2b_final(struct prd__blake2b *s, void *out);
void prd__blake2b(void *out, size_t outlen, const void *in, size_t inlen);
void prd__blake2b_long(void *out, size_t outlen, const void *in, size_t inlen);

/* ---- block fills ---- */
#define PRD__A2_WORDS 128 /* 1 KiB blocks of 64-bit words */
typedef struct prd__a2block {
    _Alignas(64) uint64_t v[PRD__A2_WORDS];
} prd__a2block;

/* Told a block's first word as soon as it is final, before the rest of
 * the block is: in the data-dependent passes that word picks the next
 * block's reference, which can then be fetched from memory while the fill
 * finishes. */
struct prd__a2_early {
    void (*fn)(const struct prd__a2_early *early, uint64_t word0);
};

/* next = G(prev, ref), or next ^= G(prev, ref) when xor is set (version
 * 0x13 after the first pass). next may not alias prev or ref; scratch is
 * two blocks for the temporaries, kept in the arena so that its wipe
 * covers them (no password-derived state is left on a thread's stack).
 * early (may be NULL) is called once with next's first word. */
#define PRD__A2_FILL_ARGS                                                                          \
    prd__a2block *restrict next, const prd__a2block *restrict prev,                                \
        const prd__a2block *restrict ref, int xor, prd__a2block *restrict scratch,                 \
        const struct prd__a2_early *early
typedef void (*prd__a2_fill_fn)(PRD__A2_FILL_ARGS);

enum prd__a2_impl {
    PRD__A2_AUTO = 0,
    PRD__A2_PORTABLE = 1,
    PRD__A2_SSE2 = 2,
    PRD__A2_SSSE3 = 3,
    PRD__A2_AVX2 = 4,
    PRD__A2_AVX512 = 5,
    PRD__A2_N_IMPL = 6,
};

void prd__a2_fill_portable(PRD__A2_FILL_ARGS);
#if defined(__x86_64__) || defined(__i386__)
void prd__a2_fill_sse2(PRD__A2_FILL_ARGS);
void prd__a2_fill_ssse3(PRD__A2_FILL_ARGS);
void prd__a2_fill_avx2(PRD__A2_FILL_ARGS);
void prd__a2_fill_avx512(PRD__A2_FILL_ARGS);
#endif

/* The fill for impl, or NULL when this CPU (or build) cannot run it;
 * PRD__A2_AUTO picks the fastest this CPU runs. */
prd__a2_fill_fn prd__a2_fill_for(enum prd__a2_impl impl);
/* Our backend's name with that fill: "own-avx512", "own-avx2", "own-ssse3", "own-sse2",
 * "own-portable". */
const char *prd__a2_fill_name(enum prd__a2_impl impl);
/* Test hook: make PRD__A2_AUTO mean impl (PRD__A2_AUTO restores). */
void prd__a2_force_impl(enum prd__a2_impl impl);

/* ---- arenas: reused, pre-faulted, wiped memory for the blocks ---- */
struct prd__arena;
struct prd__arena_pool {
    pthread_mutex_t mu;
    struct prd__arena *idle; /* most recently used first */
    uint64_t held_bytes;     /* idle and in use */
    uint64_t limit_bytes;    /* idle arenas are dropped to stay under it */
    uint32_t idle_ms;        /* an idle arena older than this is unmapped */
    int stopping;
    struct prd__arena_pool *reg_next, *reg_prev; /* the reaper's registry */
    _Atomic unsigned long fork_epoch; /* of the process whose lock this is */
    uint64_t reused, mapped, unmapped;
};
void prd__arena_pool_init(struct prd__arena_pool *p, uint64_t limit_bytes, uint32_t idle_ms);
/* Unmaps every idle arena and leaves the reaper's registry; none may be
 * in use. */
void prd__arena_pool_destroy(struct prd__arena_pool *p);
void prd__arena_pool_set_limit(struct prd__arena_pool *p, uint64_t limit_bytes);
void prd__arena_pool_set_idle_ms(struct prd__arena_pool *p, uint32_t idle_ms);
/* An arena of at least bytes (an idle one of that size when there is
 * one), or NULL when the memory cannot be mapped. */
struct prd__arena *prd__arena_get(struct prd__arena_pool *p, uint64_t bytes);
void *prd__arena_mem(const struct prd__arena *a);
/* Wipes the arena's first used bytes and keeps it for reuse (or unmaps it
 * when keeping it would pass the pool's limit). */
void prd__arena_put(struct prd__arena_pool *p, struct prd__arena *a, uint64_t used);
/* Unmap the idle arenas whose idle time has passed at now_ns (monotonic
 * clock); returns when the next one is due, 0 for none. The reaper
 * thread calls it with the real clock; tests call it with a moved one. */
int64_t prd__arena_pool_reap(struct prd__arena_pool *p, int64_t now_ns);
/* The process's one reaper thread (arena_reaper.c): pools join its
 * registry at init and leave at destroy; kick starts the thread if none
 * runs and has it look again if due_ns (an arena's due time, > 0) is
 * before it would.
 * running is a test hook: 1 while the thread exists. */
void prd__arena_reaper_add(struct prd__arena_pool *p);
void prd__arena_reaper_remove(struct prd__arena_pool *p);
void prd__arena_reaper_kick(int64_t due_ns);
int prd__arena_reaper_running(void);
/* Test hook: the memory of the most recently idle arena and its size, so
 * a test can read back what a hash left (NULL when none is idle). */
const void *prd__arena_peek_idle(struct prd__arena_pool *p, uint64_t *bytes);

/* Test hooks into a policy's environment: its arena pool, and the helper
 * threads no hash holds now. */
struct prd__arena_pool *prd__argon2_env_pool(struct prd__argon2_env *env);
uint32_t prd__argon2_env_helpers_free(struct prd__argon2_env *env);

/* Test hook: called with every block's position and the block it
 * references (index into the whole memory), from the thread filling it;
 * NULL (the default) turns it off. For checking that the data-independent
 * passes reference the same blocks whatever the password. */
typedef void (*prd__a2_trace_fn)(uint32_t pass, uint32_t slice, uint32_t lane, uint32_t index,
                                 size_t ref);
void prd__a2_set_trace(prd__a2_trace_fn fn);

/* ---- the whole computation ---- */
struct prd__a2_input {
    const struct prd__phc *phc; /* type, version, m, t, p, salt, ad, tag_len */
    const unsigned char *pw;
    size_t pw_len;
    const unsigned char *secret;
    size_t secret_len;
};

/* Compute the tag into tag (phc->tag_len bytes) with our code: blocks in
 * an arena from pool (NULL: mapped for this call and unmapped after),
 * lanes on up to threads threads (the caller's included). PRD_OK,
 * PRD_EINVAL (parameters outside RFC 9106), PRD_ENOMEM. */
prd_status prd__argon2_own(const struct prd__a2_input *in, struct prd__arena_pool *pool,
                           uint32_t threads, enum prd__a2_impl impl, unsigned char *tag);

#endif
