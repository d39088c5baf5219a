/*
 * Argon2 backends and the routing among them. Ours (argon2_own.c) computes
 * every type and version with vector fills over reused arenas and runs
 * the lanes of p > 1 on threads; libsodium (argon2id/argon2i v19, one
 * lane, 16-byte salt, tag of 16+, no associated data) and libargon2
 * (everything, lanes on threads) are the references the tests compare
 * with, and a build may select one of them (meson -Dargon2). With auto,
 * a short measurement once per process picks the fastest
 * (docs/password.md, "Routing by measurement").
 */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/argon2_core.h"
#include "internal/password.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <argon2.h>
#include <sodium.h>

int prd__argon2_sodium_can(const struct prd__phc *phc)
{
    if (phc->version != 0x13 || phc->p != 1 || phc->ad_len != 0)
        return 0;
    if (phc->salt_len != crypto_pwhash_SALTBYTES || phc->tag_len < crypto_pwhash_BYTES_MIN)
        return 0;
    if (phc->type == PRD__ARGON2ID)
        return phc->t >= crypto_pwhash_argon2id_OPSLIMIT_MIN;
    if (phc->type == PRD__ARGON2I)
        return phc->t >= crypto_pwhash_argon2i_OPSLIMIT_MIN;
    return 0;
}

static prd_status via_sodium(const struct prd__phc *phc, const unsigned char *pw, size_t pw_len,
                             unsigned char *tag)
{
    int alg = phc->type == PRD__ARGON2ID ? crypto_pwhash_ALG_ARGON2ID13
                                         : crypto_pwhash_ALG_ARGON2I13;
    /* libsodium takes memory in bytes; m_kib <= UINT32_MAX fits size_t. */
    if (crypto_pwhash(tag, phc->tag_len, (const char *)pw, pw_len, phc->salt, phc->t,
                      (size_t)phc->m_kib * 1024u, alg) != 0)
        return PRD_ENOMEM; /* its only runtime failure is the allocation */
    return PRD_OK;
}

/* Read once: glibc answers _SC_NPROCESSORS_ONLN by reading a /sys file,
 * three system calls a hash otherwise. */
static uint32_t cpu_count(void)
{
    static _Atomic uint32_t cached;
    uint32_t n = cached;
    if (n == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online < 1 ? 1u : (uint32_t)online;
        cached = n;
    }
    return n;
}

static prd_status via_libargon2(const struct prd__phc *phc, const unsigned char *pw,
                                size_t pw_len, const unsigned char *secret, size_t secret_len,
                                unsigned char *tag)
{
    uint32_t threads = phc->p < cpu_count() ? phc->p : cpu_count();
    argon2_context ctx = {
        .out = tag,
        .outlen = (uint32_t)phc->tag_len,
        .pwd = (uint8_t *)(uintptr_t)pw, /* read only: ARGON2_FLAG_CLEAR_PASSWORD is off */
        .pwdlen = (uint32_t)pw_len,
        .salt = (uint8_t *)(uintptr_t)phc->salt,
        .saltlen = (uint32_t)phc->salt_len,
        .secret = secret_len ? (uint8_t *)(uintptr_t)secret : NULL,
        .secretlen = (uint32_t)secret_len,
        .ad = phc->ad_len ? (uint8_t *)(uintptr_t)phc->ad : NULL,
        .adlen = (uint32_t)phc->ad_len,
        .t_cost = phc->t,
        .m_cost = phc->m_kib,
        .lanes = phc->p,
        .threads = threads,
        .version = phc->version,
        .flags = ARGON2_DEFAULT_FLAGS,
    };
    int rc = argon2_ctx(&ctx, (argon2_type)phc->type);
    if (rc == ARGON2_OK)
        return PRD_OK;
    return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? PRD_ENOMEM : PRD_EINTERNAL;
}

/* ---- the environment a policy lends: arenas and helper threads ---- */

struct prd__argon2_env {
    struct prd__arena_pool pool;
    _Atomic uint32_t helpers_free; /* threads beyond the callers' own */
};

/* Idle arenas are given back after this long without a hash. */
#define ARENA_IDLE_MS 30000u

struct prd__argon2_env *prd__argon2_env_new(uint64_t limit_bytes)
{
    struct prd__argon2_env *env = prd__calloc(1, sizeof *env);
    if (!env)
        return NULL;
    prd__arena_pool_init(&env->pool, limit_bytes, ARENA_IDLE_MS);
    env->helpers_free = cpu_count() - 1;
    return env;
}

void prd__argon2_env_free(struct prd__argon2_env *env)
{
    if (!env)
        return;
    prd__arena_pool_destroy(&env->pool);
    prd__free(env);
}

void prd__argon2_env_set_limit(struct prd__argon2_env *env, uint64_t limit_bytes)
{
    prd__arena_pool_set_limit(&env->pool, limit_bytes);
}

void prd__argon2_env_set_idle_ms(struct prd__argon2_env *env, uint32_t idle_ms)
{
    prd__arena_pool_set_idle_ms(&env->pool, idle_ms);
}

struct prd__arena_pool *prd__argon2_env_pool(struct prd__argon2_env *env)
{
    return &env->pool;
}

uint32_t prd__argon2_env_helpers_free(struct prd__argon2_env *env)
{
    return env->helpers_free;
}

uint64_t prd__argon2_env_held(struct prd__argon2_env *env)
{
    pthread_mutex_lock(&env->pool.mu);
    uint64_t held = env->pool.held_bytes;
    pthread_mutex_unlock(&env->pool.mu);
    return held;
}

/* Helper threads for a hash's lanes: as many as its lanes can use, up to
 * the CPUs, and only those no other hash of the policy holds, so the
 * threads a policy runs never pass its hashes in flight (each on its
 * caller's thread) plus CPUs - 1. Never waits: a hash that gets none
 * runs its lanes in turn. */
static uint32_t take_helpers(struct prd__argon2_env *env, uint32_t lanes)
{
    uint32_t cpus = cpu_count();
    uint32_t want = lanes < cpus ? lanes - 1 : cpus - 1;
    if (!env)
        return want;
    uint32_t have = env->helpers_free;
    for (;;) {
        uint32_t take = have < want ? have : want;
        if (take == 0 ||
            atomic_compare_exchange_weak(&env->helpers_free, &have, have - take))
            return take;
    }
}

static void give_helpers(struct prd__argon2_env *env, uint32_t n)
{
    if (env && n)
        env->helpers_free += n;
}

static prd_status via_own(struct prd__argon2_env *env, const struct prd__phc *phc,
                          const unsigned char *pw, size_t pw_len, const unsigned char *secret,
                          size_t secret_len, unsigned char *tag)
{
    struct prd__a2_input in = {phc, pw, pw_len, secret, secret_len};
    uint32_t helpers = take_helpers(env, phc->p);
    prd_status st = prd__argon2_own(&in, env ? &env->pool : NULL, helpers + 1, PRD__A2_AUTO, tag);
    give_helpers(env, helpers);
    return st;
}

/* ---- routing ---- */

static _Atomic int forced_backend;

void prd__argon2_force_backend(int which)
{
    forced_backend = which;
}

/* The build's choice (meson -Dargon2=...): 0 routes by measurement among
 * all three, otherwise the one named (libsodium still hands libargon2
 * what it cannot compute, as it always did). */
#ifndef PRD_ARGON2_BUILD
#define PRD_ARGON2_BUILD 0
#endif

/* The measured winner for what libsodium can compute and for the rest. */
static _Atomic int route_sodium_shapes = PRD__BACKEND_OWN;
static _Atomic int route_other_shapes = PRD__BACKEND_OWN;
static pthread_once_t calibrated = PTHREAD_ONCE_INIT;

/* A measurement that failed counts as this: slower than any that ran. */
#define FAILED 1e9

static double seconds_of(int backend, const struct prd__phc *phc, struct prd__argon2_env *env)
{
    unsigned char tag[32];
    double best = FAILED;
    for (int i = 0; i < 3; i++) {
        int64_t t0 = prd_clock_mono_ns(NULL);
        prd_status st = backend == PRD__BACKEND_OWN ? via_own(env, phc, (const unsigned char *)"x", 1, NULL, 0, tag)
                        : backend == PRD__BACKEND_LIBSODIUM
                            ? via_sodium(phc, (const unsigned char *)"x", 1, tag)
                            : via_libargon2(phc, (const unsigned char *)"x", 1, NULL, 0, tag);
        double s = (double)(prd_clock_mono_ns(NULL) - t0) / 1e9;
        if (st != PRD_OK)
            return FAILED;
        if (i > 0 && s < best) /* the first run maps and warms; not counted */
            best = s;
    }
    sodium_memzero(tag, sizeof tag);
    return best;
}

/*
 * A short calibration, once per process: one argon2id hash of 4 MiB, t=1,
 * p=1 by each backend three times (13-15 ms in all here), the first run
 * not counted. Each library's hash includes its way of getting memory
 * (libsodium maps fresh pages every call, libargon2 takes the heap's), as
 * real calls do; ours reuses an arena, as a policy's calls do. Another
 * backend takes over only when it is faster by more than a tenth, so
 * noise does not flip the choice between near equals.
 */
static void calibrate_once(void)
{
    if (PRD_ARGON2_BUILD != 0)
        return;
    const struct prd__phc phc = {.type = PRD__ARGON2ID, .version = 0x13, .m_kib = 4096, .t = 1,
                                 .p = 1, .salt_len = 16, .tag_len = 32};
    struct prd__argon2_env *env = prd__argon2_env_new((uint64_t)8 << 20);
    double own = seconds_of(PRD__BACKEND_OWN, &phc, env);
    double sodium = seconds_of(PRD__BACKEND_LIBSODIUM, &phc, NULL);
    double ref = seconds_of(PRD__BACKEND_LIBARGON2, &phc, NULL);
    prd__argon2_env_free(env);
    route_sodium_shapes = prd__argon2_route_pick(own, sodium, ref, 1);
    route_other_shapes = prd__argon2_route_pick(own, sodium, ref, 0);
}

int prd__argon2_route_pick(double own, double sodium, double ref, int sodium_shape)
{
    /* Ours failing to run (no memory for its arena at that moment) says
     * nothing about its speed, and the choice lasts for the process: keep
     * ours rather than let a passing shortage route every later hash. */
    if (own >= FAILED)
        return PRD__BACKEND_OWN;
    /* A library takes over only when faster than ours by more than a
     * tenth, and than the other library. */
    if (sodium_shape && sodium * 1.1 < own && sodium <= ref)
        return PRD__BACKEND_LIBSODIUM;
    if (ref * 1.1 < own && (!sodium_shape || ref < sodium))
        return PRD__BACKEND_LIBARGON2;
    return PRD__BACKEND_OWN;
}

void prd__argon2_calibrate(void)
{
    pthread_once(&calibrated, calibrate_once);
}

/* Which backend computes phc with a secret of secret_len bytes. */
static int pick(const struct prd__phc *phc, size_t secret_len)
{
    int forced = forced_backend;
    if (forced != PRD__BACKEND_ROUTE)
        return forced;
    int sodium_ok = secret_len == 0 && prd__argon2_sodium_can(phc);
    switch (PRD_ARGON2_BUILD) {
    case PRD__BACKEND_LIBSODIUM: return sodium_ok ? PRD__BACKEND_LIBSODIUM : PRD__BACKEND_LIBARGON2;
    case PRD__BACKEND_LIBARGON2: return PRD__BACKEND_LIBARGON2;
    case PRD__BACKEND_OWN: return PRD__BACKEND_OWN;
    default: break;
    }
    prd__argon2_calibrate();
    return sodium_ok ? route_sodium_shapes : route_other_shapes;
}

static prd_status compute(struct prd__argon2_env *env, const struct prd__phc *phc,
                          const unsigned char *pw, size_t pw_len, const unsigned char *secret,
                          size_t secret_len, unsigned char *tag)
{
    if (pw_len > UINT32_MAX || secret_len > UINT32_MAX)
        return PRD_EINVAL;
    switch (pick(phc, secret_len)) {
    case PRD__BACKEND_LIBSODIUM:
        if (secret_len || !prd__argon2_sodium_can(phc))
            return PRD_EINVAL;
        return via_sodium(phc, pw, pw_len, tag);
    case PRD__BACKEND_LIBARGON2: return via_libargon2(phc, pw, pw_len, secret, secret_len, tag);
    default: return via_own(env, phc, pw, pw_len, secret, secret_len, tag);
    }
}

prd_status prd__argon2_compute_keyed(const struct prd__phc *phc, const unsigned char *pw,
                                     size_t pw_len, const unsigned char *secret,
                                     size_t secret_len, unsigned char *tag)
{
    return compute(NULL, phc, pw, pw_len, secret, secret_len, tag);
}

prd_status prd__argon2_compute_in(struct prd__argon2_env *env, const struct prd__phc *phc,
                                  const unsigned char *pw, size_t pw_len, unsigned char *tag)
{
    return compute(env, phc, pw, pw_len, NULL, 0, tag);
}

prd_status prd__argon2_compute(const struct prd__phc *phc, const unsigned char *pw, size_t pw_len,
                               unsigned char *tag)
{
    return compute(NULL, phc, pw, pw_len, NULL, 0, tag);
}

const char *prd_password_backend(void)
{
    int b = PRD_ARGON2_BUILD;
    if (b == PRD__BACKEND_ROUTE) {
        prd__argon2_calibrate();
        b = route_sodium_shapes;
    }
    if (b == PRD__BACKEND_LIBSODIUM)
        return "libsodium";
    if (b == PRD__BACKEND_LIBARGON2)
        return "libargon2";
    return prd__a2_fill_name(PRD__A2_AUTO);
}

/*
 * Verification of p > 1 hashes where libsodium is the backend (its build,
 * or a measurement that found it fastest): its str_verify computes the
 * lanes one after another and still beat Debian's libargon2 running them
 * on threads (1.4-2.7x at p=4, m=64 MiB, t=3 on 2 cores), so it takes the
 * hashes it can read: argon2id/argon2i v19, no associated data, a salt of
 * 8+ bytes, a tag of 16+. Ours runs the lanes on threads and beats both
 * (bench_password's "vs_libsodium_sequential" line).
 */
static int sodium_verifies(const struct prd__phc *phc)
{
    if (phc->p == 1 || phc->version != 0x13 || phc->ad_len != 0 ||
        phc->salt_len < PRD__SALT_MIN || phc->tag_len < 16)
        return 0;
    if (phc->type == PRD__ARGON2ID)
        return phc->t >= crypto_pwhash_argon2id_OPSLIMIT_MIN;
    return phc->type == PRD__ARGON2I && phc->t >= crypto_pwhash_argon2i_OPSLIMIT_MIN;
}

/* The libsodium build, or a calibration that found libsodium fastest. */
static int verify_by_sodium(const struct prd__phc *phc)
{
    if (forced_backend != PRD__BACKEND_ROUTE || !sodium_verifies(phc))
        return 0;
    if (PRD_ARGON2_BUILD == PRD__BACKEND_ROUTE) {
        prd__argon2_calibrate();
        return route_sodium_shapes == PRD__BACKEND_LIBSODIUM;
    }
    return PRD_ARGON2_BUILD == PRD__BACKEND_LIBSODIUM;
}

prd_status prd__argon2_verify_in(struct prd__argon2_env *env, const struct prd__phc *phc,
                                 const unsigned char *pw, size_t pw_len)
{
    if (verify_by_sodium(phc)) {
        /* libsodium reads the canonical string: without our keyid. */
        struct prd__phc bare = *phc;
        bare.keyid[0] = '\0';
        char enc[PRD_PASSWORD_HASH_SIZE];
        prd_status st = PRD_EINTERNAL;
        if (prd__phc_encode(&bare, enc, sizeof enc) < sizeof enc) {
            errno = 0;
            int rc = phc->type == PRD__ARGON2ID
                         ? crypto_pwhash_argon2id_str_verify(enc, (const char *)pw, pw_len)
                         : crypto_pwhash_argon2i_str_verify(enc, (const char *)pw, pw_len);
            /* -1 with EINVAL is a mismatch; anything else its allocation. */
            st = rc == 0 ? PRD_OK : errno == EINVAL ? PRD_EMISMATCH : PRD_ENOMEM;
        }
        sodium_memzero(&bare, sizeof bare);
        return st;
    }
    unsigned char tag[PRD__TAG_MAX];
    prd_status st = prd__argon2_compute_in(env, phc, pw, pw_len, tag);
    if (st == PRD_OK)
        st = sodium_memcmp(tag, phc->tag, phc->tag_len) == 0 ? PRD_OK : PRD_EMISMATCH;
    sodium_memzero(tag, sizeof tag);
    return st;
}

prd_status prd__argon2_verify(const struct prd__phc *phc, const unsigned char *pw, size_t pw_len)
{
    return prd__argon2_verify_in(NULL, phc, pw, pw_len);
}
