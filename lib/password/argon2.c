/*
 * Argon2 backends. libsodium's implementation is the fast path (about 1.85x
 * faster than Debian's libargon2 at the default parameters, measured by
 * bench/bench_password.c), but it only computes argon2id/argon2i version
 * 19 with one lane, a 16-byte salt, a tag of at least 16 bytes and no
 * associated data (and argon2i with t >= 3). Everything else goes to the
 * reference libargon2, which also runs the lanes of p > 1 on threads.
 */
#include "internal/common.h"
#include "internal/password.h"

#include <errno.h>
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

static uint32_t cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : (uint32_t)n;
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

static _Atomic int forced_backend;

void prd__argon2_force_backend(int which)
{
    forced_backend = which;
}

prd_status prd__argon2_compute_keyed(const struct prd__phc *phc, const unsigned char *pw,
                                     size_t pw_len, const unsigned char *secret,
                                     size_t secret_len, unsigned char *tag)
{
    if (pw_len > UINT32_MAX || secret_len > UINT32_MAX)
        return PRD_EINVAL;
    int forced = forced_backend;
    if (forced == 1 || (forced == 0 && secret_len == 0 && prd__argon2_sodium_can(phc))) {
        if (secret_len || !prd__argon2_sodium_can(phc))
            return PRD_EINVAL;
        return via_sodium(phc, pw, pw_len, tag);
    }
    return via_libargon2(phc, pw, pw_len, secret, secret_len, tag);
}

prd_status prd__argon2_compute(const struct prd__phc *phc, const unsigned char *pw, size_t pw_len,
                               unsigned char *tag)
{
    return prd__argon2_compute_keyed(phc, pw, pw_len, NULL, 0, tag);
}

/*
 * Verification of p > 1 hashes: libsodium's str_verify computes the lanes
 * one after another and still beats Debian's libargon2 running them on
 * threads (1.8-2.7x at p=4, m=64 MiB, t=3 on 2 cores; bench_password's
 * p4 rows measure it in every run), so it takes those when it can read
 * the hash: argon2id/argon2i v19, no associated data, a salt of 8+ bytes,
 * a tag of 16+.
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

prd_status prd__argon2_verify(const struct prd__phc *phc, const unsigned char *pw, size_t pw_len)
{
    if (forced_backend == 0 && sodium_verifies(phc)) {
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
    prd_status st = prd__argon2_compute(phc, pw, pw_len, tag);
    if (st == PRD_OK)
        st = sodium_memcmp(tag, phc->tag, phc->tag_len) == 0 ? PRD_OK : PRD_EMISMATCH;
    sodium_memzero(tag, sizeof tag);
    return st;
}
