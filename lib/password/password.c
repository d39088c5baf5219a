/* password: hash, verify, needs_rehash, verify_and_upgrade, dummy verify. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/password.h"
#include "internal/secret.h"

#include <string.h>

#include <sodium.h>

#define PEPPERED_LEN 64 /* BLAKE2b-512 of the password under the pepper */

static prd_status check_password(const prd_password_policy *policy, const char *pw, size_t len)
{
    if (!policy || (!pw && len))
        return PRD_EINVAL;
    if (len > policy->max_password_len)
        return PRD_EINVAL;
    return PRD_OK;
}

static int64_t now_ns(void)
{
    return prd_clock_mono_ns(NULL);
}

/*
 * Compute the tag for phc under the policy's budget, mixing in the pepper
 * phc->keyid names, or with verify set, compare it with phc's own tag
 * (PRD_OK or PRD_EMISMATCH) by the fastest backend for verifying. The
 * peppered digest lives in guarded memory, wiped on free.
 */
static prd_status run(const prd_password_policy *policy, const struct prd__phc *phc,
                      const char *pw, size_t pw_len, unsigned char *tag, int verify)
{
    const unsigned char *input = (const unsigned char *)pw;
    size_t input_len = pw_len;
    unsigned char *peppered = NULL;
    if (phc->keyid[0]) {
        const struct prd__pepper *pep = prd__policy_pepper(policy, phc->keyid);
        if (!pep)
            return PRD_ENOTFOUND;
        peppered = prd__secure_malloc(PEPPERED_LEN);
        if (!peppered)
            return PRD_ENOMEM;
        crypto_generichash(peppered, PEPPERED_LEN, input, input_len, prd__secret_data(pep->key),
                           prd_secret_len(pep->key));
        input = peppered;
        input_len = PEPPERED_LEN;
    }
    struct prd__budget *b = (struct prd__budget *)&policy->budget;
    uint64_t taken = 0;
    prd_status st = prd__budget_acquire(b, phc->m_kib, policy->wait_ms, &taken);
    if (st == PRD_OK) {
        int64_t t0 = now_ns();
        st = verify ? prd__argon2_verify_in(policy->env, phc, input, input_len)
                    : prd__argon2_compute_in(policy->env, phc, input, input_len, tag);
        prd__budget_release(b, taken, (uint64_t)(now_ns() - t0));
    }
    prd__secure_free(peppered);
    return st;
}

/* Fill phc with the policy's parameters and a fresh salt. */
static void policy_phc(const prd_password_policy *policy, struct prd__phc *phc)
{
    memset(phc, 0, sizeof *phc);
    phc->type = PRD__ARGON2ID;
    phc->version = 0x13;
    phc->m_kib = policy->m_kib;
    phc->t = policy->t;
    phc->p = policy->p;
    phc->salt_len = policy->salt_len;
    phc->tag_len = policy->hash_len;
    if (policy->has_current)
        memcpy(phc->keyid, policy->peppers[0].id, strlen(policy->peppers[0].id) + 1);
    randombytes_buf(phc->salt, phc->salt_len);
}

prd_status prd_password_hash(const prd_password_policy *policy, const char *password,
                             size_t password_len, char *out, size_t out_size)
{
    if (out && out_size)
        out[0] = '\0';
    prd_status st = check_password(policy, password, password_len);
    if (st != PRD_OK || !out)
        return st != PRD_OK ? st : PRD_EINVAL;
    struct prd__phc phc;
    policy_phc(policy, &phc);
    if (prd__phc_encode(&phc, NULL, 0) >= out_size)
        return PRD_ENOSPACE;
    st = run(policy, &phc, password, password_len, phc.tag, 0);
    if (st == PRD_OK)
        prd__phc_encode(&phc, out, out_size);
    sodium_memzero(&phc, sizeof phc);
    return st;
}

static prd_status check_caps(const prd_password_policy *policy, const struct prd__phc *phc)
{
    if (phc->t > policy->max_t || phc->m_kib > policy->max_m_kib || phc->p > policy->max_p)
        return PRD_ETOOBIG;
    return PRD_OK;
}

/* Verify against a parsed hash: caps first, so nothing is allocated for a
 * hostile one. */
static prd_status verify_phc(const prd_password_policy *policy, const struct prd__phc *phc,
                             const char *password, size_t password_len)
{
    prd_status st = check_caps(policy, phc);
    if (st != PRD_OK)
        return st;
    return run(policy, phc, password, password_len, NULL, 1);
}

/* A legacy hash: its cost from its settings first (nothing computed or
 * allocated for one over the caps), then under the budget like Argon2. */
static prd_status verify_legacy(const prd_password_policy *policy, const char *password,
                                size_t password_len, const char *stored)
{
    uint64_t mem_kib;
    prd_status st = prd__legacy_cost(stored, &policy->legacy_caps, &mem_kib);
    if (st != PRD_OK)
        return st;
    struct prd__budget *b = (struct prd__budget *)&policy->budget;
    uint64_t taken = 0;
    st = prd__budget_acquire(b, mem_kib, policy->wait_ms, &taken);
    if (st != PRD_OK)
        return st;
    int64_t t0 = now_ns();
    st = prd__legacy_verify(password, password_len, stored);
    prd__budget_release(b, taken, (uint64_t)(now_ns() - t0));
    return st;
}

prd_status prd_password_verify(const prd_password_policy *policy, const char *password,
                               size_t password_len, const char *stored)
{
    prd_status st = check_password(policy, password, password_len);
    if (st != PRD_OK)
        return st;
    if (!stored)
        return PRD_EINVAL;
    if (prd__legacy_is_legacy(stored)) {
        if (!policy->allow_legacy)
            return PRD_EUNSUPPORTED;
        return verify_legacy(policy, password, password_len, stored);
    }
    struct prd__phc phc;
    st = prd__phc_parse(stored, &phc);
    if (st == PRD_OK)
        st = verify_phc(policy, &phc, password, password_len);
    sodium_memzero(&phc, sizeof phc);
    return st;
}

prd_status prd_password_verify_dummy(const prd_password_policy *policy, const char *password,
                                     size_t password_len)
{
    prd_status st = check_password(policy, password, password_len);
    if (st != PRD_OK)
        return st;
    /* A hash under the current policy with a random salt and tag: the
     * same work as a real verify, and it cannot match (2^-256). */
    struct prd__phc phc;
    policy_phc(policy, &phc);
    randombytes_buf(phc.tag, phc.tag_len);
    st = verify_phc(policy, &phc, password, password_len);
    sodium_memzero(&phc, sizeof phc);
    return st == PRD_OK ? PRD_EMISMATCH : st;
}

const char *prd_rehash_reason_str(prd_rehash_reason reason)
{
    switch (reason) {
    case PRD_REHASH_NONE: return "current";
    case PRD_REHASH_WEAKER_PARAMS: return "weaker params";
    case PRD_REHASH_OTHER_PARAMS: return "other params";
    case PRD_REHASH_OTHER_ALGORITHM: return "other algorithm";
    case PRD_REHASH_OTHER_PEPPER: return "other pepper";
    case PRD_REHASH_LEGACY_FORMAT: return "legacy format";
    }
    return "unknown reason";
}

static prd_rehash_reason phc_reason(const prd_password_policy *policy, const struct prd__phc *phc)
{
    if (phc->type != PRD__ARGON2ID)
        return PRD_REHASH_OTHER_ALGORITHM;
    const char *want = policy->has_current ? policy->peppers[0].id : "";
    if (strcmp(phc->keyid, want) != 0)
        return PRD_REHASH_OTHER_PEPPER;
    if (phc->version < 0x13 || phc->m_kib < policy->m_kib || phc->t < policy->t ||
        phc->salt_len < policy->salt_len || phc->tag_len < policy->hash_len)
        return PRD_REHASH_WEAKER_PARAMS;
    if (phc->m_kib != policy->m_kib || phc->t != policy->t || phc->p != policy->p ||
        phc->salt_len != policy->salt_len || phc->tag_len != policy->hash_len || phc->ad_len)
        return PRD_REHASH_OTHER_PARAMS;
    return PRD_REHASH_NONE;
}

prd_status prd_password_needs_rehash(const prd_password_policy *policy, const char *stored,
                                     prd_rehash_reason *reason)
{
    if (reason)
        *reason = PRD_REHASH_NONE;
    if (!policy || !stored || !reason)
        return PRD_EINVAL;
    if (prd__legacy_is_legacy(stored)) {
        *reason = PRD_REHASH_LEGACY_FORMAT;
        return PRD_OK;
    }
    struct prd__phc phc;
    prd_status st = prd__phc_parse(stored, &phc);
    if (st == PRD_OK)
        *reason = phc_reason(policy, &phc);
    sodium_memzero(&phc, sizeof phc);
    return st;
}

prd_status prd_password_verify_and_upgrade(const prd_password_policy *policy,
                                           const char *password, size_t password_len,
                                           const char *stored, char *new_hash,
                                           size_t new_hash_size, int *upgraded)
{
    if (upgraded)
        *upgraded = 0;
    if (new_hash && new_hash_size)
        new_hash[0] = '\0';
    if (!policy || !upgraded || !new_hash)
        return PRD_EINVAL;
    struct prd__phc probe;
    policy_phc(policy, &probe);
    if (prd__phc_encode(&probe, NULL, 0) >= new_hash_size)
        return PRD_ENOSPACE;
    prd_status st = prd_password_verify(policy, password, password_len, stored);
    if (st != PRD_OK)
        return st;
    prd_rehash_reason reason;
    if (prd_password_needs_rehash(policy, stored, &reason) != PRD_OK || reason == PRD_REHASH_NONE)
        return PRD_OK;
    st = prd_password_hash(policy, password, password_len, new_hash, new_hash_size);
    /* The password was right: a failed re-hash (budget, memory) must not
     * turn a successful login into a failure. The old hash stays valid and
     * the upgrade happens on a later login. */
    *upgraded = st == PRD_OK;
    return PRD_OK;
}

size_t prd_password_hash_size(void) { return PRD_PASSWORD_HASH_SIZE; }
