/* prd_password_policy: presets, setters, peppers and counters. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/password.h"
#include "internal/secret.h"

#include <string.h>
#include <unistd.h>

static const struct preset {
    const char *name;
    uint32_t t, m_kib, p;
} presets[] = {
    {"owasp", 2, 19456, 1},
    {"rfc9106-low-memory", 3, 65536, 4},
    {"moderate", 3, 262144, 1},
    {"sensitive", 4, 1048576, 1},
};

/* The arenas kept for reuse stay under the budget, with room for their
 * bookkeeping blocks (6 KiB a lane) and page rounding: 1 MiB and 1/64. */
static uint64_t arena_limit(uint64_t budget_kib)
{
    if (budget_kib > (UINT64_MAX >> 11)) /* a budget past any machine: no limit */
        return UINT64_MAX;
    return budget_kib * 1024 + budget_kib * 16 + ((uint64_t)1 << 20);
}

static uint64_t default_budget(uint32_t m_kib)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return 2u * (uint64_t)(cpus < 1 ? 1 : cpus) * m_kib;
}

prd_status prd_password_policy_new(const char *preset, prd_password_policy **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    const struct preset *pr = NULL;
    for (size_t i = 0; i < PRD_ARRAY_LEN(presets); i++)
        if (strcmp(preset ? preset : "owasp", presets[i].name) == 0)
            pr = &presets[i];
    if (!pr)
        return PRD_EINVAL;
    prd_password_policy *p = prd__calloc(1, sizeof *p);
    if (!p)
        return PRD_ENOMEM;
    p->t = pr->t;
    p->m_kib = pr->m_kib;
    p->p = pr->p;
    p->salt_len = 16;
    p->hash_len = 32;
    p->max_t = PRD_PASSWORD_DEFAULT_MAX_T;
    p->max_m_kib = PRD_PASSWORD_DEFAULT_MAX_M_KIB;
    p->max_p = PRD_PASSWORD_DEFAULT_MAX_P;
    p->max_password_len = PRD_PASSWORD_DEFAULT_MAX_LEN;
    p->legacy_caps.max_bcrypt_cost = PRD_PASSWORD_DEFAULT_MAX_BCRYPT_COST;
    p->legacy_caps.max_sha512_rounds = PRD_PASSWORD_DEFAULT_MAX_SHA512_ROUNDS;
    p->legacy_caps.max_yescrypt_kib = PRD_PASSWORD_DEFAULT_MAX_YESCRYPT_KIB;
    p->wait_ms = 5000;
    prd__budget_init(&p->budget, default_budget(p->m_kib));
    p->env = prd__argon2_env_new(arena_limit(p->budget.total_kib));
    if (!p->env) {
        prd__budget_destroy(&p->budget);
        prd__free(p);
        return PRD_ENOMEM;
    }
    prd__argon2_calibrate();
    *out = p;
    return PRD_OK;
}

void prd_password_policy_free(prd_password_policy *policy)
{
    if (!policy)
        return;
    for (size_t i = 0; i < policy->n_peppers; i++)
        prd_secret_free(policy->peppers[i].key);
    prd__budget_destroy(&policy->budget);
    prd__argon2_env_free(policy->env);
    prd__free(policy);
}

prd_status prd_password_policy_set_params(prd_password_policy *policy, uint32_t t,
                                          uint32_t m_kib, uint32_t p)
{
    if (!policy || t < 1 || p < 1 || p > PRD__ARGON2_MAX_LANES || m_kib < 8 ||
        (uint64_t)m_kib < 8 * (uint64_t)p)
        return PRD_EINVAL;
    if (t > policy->max_t || m_kib > policy->max_m_kib || p > policy->max_p)
        return PRD_EINVAL;
    policy->t = t;
    policy->m_kib = m_kib;
    policy->p = p;
    if (!policy->budget_explicit) {
        policy->budget.total_kib = default_budget(m_kib);
        prd__argon2_env_set_limit(policy->env, arena_limit(policy->budget.total_kib));
    }
    return PRD_OK;
}

prd_status prd_password_policy_set_salt_len(prd_password_policy *policy, size_t len)
{
    if (!policy || len < 16 || len > PRD__SALT_MAX)
        return PRD_EINVAL;
    policy->salt_len = len;
    return PRD_OK;
}

prd_status prd_password_policy_set_hash_len(prd_password_policy *policy, size_t len)
{
    if (!policy || len < 16 || len > PRD__TAG_MAX)
        return PRD_EINVAL;
    policy->hash_len = len;
    return PRD_OK;
}

prd_status prd_password_policy_set_caps(prd_password_policy *policy, uint32_t max_t,
                                        uint32_t max_m_kib, uint32_t max_p)
{
    if (!policy || max_t == 0 || max_m_kib < 8 || max_p == 0 || max_p > PRD__ARGON2_MAX_LANES)
        return PRD_EINVAL;
    if (policy->t > max_t || policy->m_kib > max_m_kib || policy->p > max_p)
        return PRD_EINVAL;
    policy->max_t = max_t;
    policy->max_m_kib = max_m_kib;
    policy->max_p = max_p;
    return PRD_OK;
}

prd_status prd_password_policy_set_max_password_len(prd_password_policy *policy, size_t max_len)
{
    if (!policy || max_len == 0 || max_len > 1024 * 1024)
        return PRD_EINVAL;
    policy->max_password_len = max_len;
    return PRD_OK;
}

prd_status prd_password_policy_set_allow_legacy(prd_password_policy *policy, int allow)
{
    if (!policy)
        return PRD_EINVAL;
    policy->allow_legacy = allow != 0;
    return PRD_OK;
}

prd_status prd_password_policy_set_legacy_caps(prd_password_policy *policy,
                                               uint32_t max_bcrypt_cost,
                                               uint64_t max_sha512_rounds,
                                               uint64_t max_yescrypt_kib)
{
    if (!policy || max_bcrypt_cost < 4 || max_bcrypt_cost > 31 || max_sha512_rounds < 1000 ||
        max_sha512_rounds > 999999999 || max_yescrypt_kib < 64 ||
        max_yescrypt_kib > (UINT64_C(1) << 32))
        return PRD_EINVAL;
    policy->legacy_caps.max_bcrypt_cost = max_bcrypt_cost;
    policy->legacy_caps.max_sha512_rounds = max_sha512_rounds;
    policy->legacy_caps.max_yescrypt_kib = max_yescrypt_kib;
    return PRD_OK;
}

prd_status prd_password_policy_set_budget(prd_password_policy *policy, uint64_t budget_kib,
                                          uint32_t wait_ms)
{
    if (!policy || budget_kib == 0)
        return PRD_EINVAL;
    prd__budget_lock(&policy->budget);
    policy->budget.total_kib = budget_kib;
    prd__budget_unlock(&policy->budget);
    policy->budget_explicit = 1;
    policy->wait_ms = wait_ms;
    prd__argon2_env_set_limit(policy->env, arena_limit(budget_kib));
    return PRD_OK;
}

prd_status prd_password_policy_set_arena_idle(prd_password_policy *policy, uint32_t idle_ms)
{
    if (!policy)
        return PRD_EINVAL;
    prd__argon2_env_set_idle_ms(policy->env, idle_ms);
    return PRD_OK;
}

static int valid_pepper_id(const char *id)
{
    size_t n = id ? strnlen(id, PRD__KEYID_MAX + 1) : 0;
    if (n == 0 || n > PRD__KEYID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

const struct prd__pepper *prd__policy_pepper(const prd_password_policy *p, const char *id)
{
    for (size_t i = 0; i < p->n_peppers; i++)
        if (strcmp(p->peppers[i].id, id) == 0)
            return &p->peppers[i];
    return NULL;
}

static prd_status add_pepper(prd_password_policy *policy, const char *id, const prd_secret *pepper,
                             int current)
{
    if (!policy || !valid_pepper_id(id) || !pepper)
        return PRD_EINVAL;
    size_t len = prd_secret_len(pepper);
    if (len < PRD__PEPPER_MIN || len > PRD__PEPPER_MAX || prd__policy_pepper(policy, id))
        return PRD_EINVAL;
    if (policy->n_peppers == PRD__PEPPERS_MAX)
        return PRD_ETOOBIG;
    struct prd__pepper entry;
    memset(&entry, 0, sizeof entry);
    memcpy(entry.id, id, strlen(id) + 1); /* valid_pepper_id bounded it */
    prd_status st = prd_secret_from_bytes(prd__secret_data(pepper), len, &entry.key);
    if (st != PRD_OK)
        return st;
    if (current) {
        /* The new current pepper goes first; the old one stays, retired. */
        memmove(&policy->peppers[1], &policy->peppers[0],
                policy->n_peppers * sizeof policy->peppers[0]);
        policy->peppers[0] = entry;
        policy->has_current = 1;
    } else {
        policy->peppers[policy->n_peppers] = entry;
    }
    policy->n_peppers++;
    return PRD_OK;
}

prd_status prd_password_policy_set_pepper(prd_password_policy *policy, const char *id,
                                          const prd_secret *pepper)
{
    return add_pepper(policy, id, pepper, 1);
}

prd_status prd_password_policy_add_retired_pepper(prd_password_policy *policy, const char *id,
                                                  const prd_secret *pepper)
{
    return add_pepper(policy, id, pepper, 0);
}

uint64_t prd_password_stat_get(const prd_password_policy *policy, prd_password_stat stat)
{
    if (!policy)
        return 0;
    if (stat == PRD_PASSWORD_STAT_ARENA_KIB)
        return prd__argon2_env_held(policy->env) / 1024;
    struct prd__budget *b = (struct prd__budget *)&policy->budget;
    uint64_t v = 0;
    prd__budget_lock(b);
    switch (stat) {
    case PRD_PASSWORD_STAT_IN_FLIGHT: v = b->in_flight; break;
    case PRD_PASSWORD_STAT_IN_FLIGHT_KIB: v = b->used_kib; break;
    case PRD_PASSWORD_STAT_PEAK_KIB: v = b->peak_kib; break;
    case PRD_PASSWORD_STAT_WAITING: v = b->waiting; break;
    case PRD_PASSWORD_STAT_BUSY: v = b->busy; break;
    case PRD_PASSWORD_STAT_COMPLETED: v = b->completed; break;
    case PRD_PASSWORD_STAT_ARENA_KIB: break; /* above */
    }
    prd__budget_unlock(b);
    return v;
}

uint32_t prd_password_retry_after_ms(const prd_password_policy *policy)
{
    if (!policy)
        return 1000;
    struct prd__budget *b = (struct prd__budget *)&policy->budget;
    prd__budget_lock(b);
    uint64_t slots = policy->m_kib ? b->total_kib / policy->m_kib : 1;
    if (slots == 0)
        slots = 1;
    uint64_t ms = (b->waiting / slots + 1) * (b->avg_ns / 1000000u + 1);
    prd__budget_unlock(b);
    return ms > 60000 ? 60000u : (uint32_t)ms;
}
