/* prd_limiter_config: rules, sizes, policy, clock. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/ratelimit.h"

#include <string.h>

#define MAX_WINDOW_MS (INT64_C(30) * 86400 * 1000)

prd_status prd_limiter_config_new(prd_limiter_config **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = prd__calloc(1, sizeof **out);
    if (!*out)
        return PRD_ENOMEM;
    (*out)->max_keys = 100000;
    (*out)->full_policy = PRD_RL_EVICT_DECAYED;
    (*out)->shm_mode = 0600;
    (*out)->shm_uid = (*out)->shm_gid = -1;
    return PRD_OK;
}

void prd_limiter_config_free(prd_limiter_config *cfg)
{
    prd__free(cfg);
}

static int name_ok(const char *name)
{
    size_t n = name ? strnlen(name, PRD__RL_NAME_MAX + 1) : 0;
    if (n == 0 || n > PRD__RL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static prd_status add(prd_limiter_config *cfg, const char *name, uint64_t limit, int64_t window_ms,
                      prd_rl_algorithm algorithm, uint64_t burst)
{
    if (!cfg || !name_ok(name) || limit == 0 || limit > UINT64_C(1) << 48 || window_ms < 1 ||
        window_ms > MAX_WINDOW_MS ||
        (algorithm != PRD_RL_EXACT && algorithm != PRD_RL_COUNTER && algorithm != PRD_RL_GCRA) ||
        (algorithm == PRD_RL_EXACT && limit > PRD_RL_EXACT_MAX_LIMIT))
        return PRD_EINVAL;
    /* GCRA replenishes one unit every W/N, rounded up to the nanosecond so
     * the sustained rate never exceeds N per W. */
    int64_t emission = 0;
    if (algorithm == PRD_RL_GCRA) {
        uint64_t ns = (uint64_t)window_ms * UINT64_C(1000000);
        emission = (int64_t)((ns + limit - 1) / limit);
        if (burst == 0 || burst > (UINT64_C(1) << 62) / (uint64_t)emission)
            return PRD_EINVAL;
    }
    if (cfg->n_rules == PRD_RL_MAX_RULES)
        return PRD_ETOOBIG;
    struct prd__rl_rule *r = &cfg->rules[cfg->n_rules];
    memset(r, 0, sizeof *r);
    memcpy(r->name, name, strlen(name) + 1); /* name_ok bounded it */
    r->limit = limit;
    r->window_ms = window_ms;
    r->algorithm = (uint32_t)algorithm;
    r->burst = algorithm == PRD_RL_GCRA ? burst : 0;
    r->emission_ns = emission;
    cfg->n_rules++;
    return PRD_OK;
}

prd_status prd_limiter_config_add_rule(prd_limiter_config *cfg, const char *name, uint64_t limit,
                                       int64_t window_ms, prd_rl_algorithm algorithm)
{
    return add(cfg, name, limit, window_ms, algorithm, limit);
}

prd_status prd_limiter_config_add_gcra(prd_limiter_config *cfg, const char *name, uint64_t limit,
                                       int64_t window_ms, uint64_t burst)
{
    return add(cfg, name, limit, window_ms, PRD_RL_GCRA, burst);
}

prd_status prd_limiter_config_set_max_keys(prd_limiter_config *cfg, size_t max_keys)
{
    if (!cfg || max_keys < 16 || max_keys > (size_t)1 << 26)
        return PRD_EINVAL;
    cfg->max_keys = max_keys;
    return PRD_OK;
}

prd_status prd_limiter_config_set_full_policy(prd_limiter_config *cfg, prd_rl_full_policy policy)
{
    if (!cfg || (policy != PRD_RL_EVICT_DECAYED && policy != PRD_RL_DENY_NEW))
        return PRD_EINVAL;
    cfg->full_policy = (uint32_t)policy;
    return PRD_OK;
}

prd_status prd_limiter_config_set_clock(prd_limiter_config *cfg, const prd_clock *clock)
{
    if (!cfg)
        return PRD_EINVAL;
    cfg->clock = clock;
    return PRD_OK;
}

prd_status prd_limiter_config_set_shm_access(prd_limiter_config *cfg, uint32_t mode, int64_t uid,
                                             int64_t gid)
{
    if (!cfg || (mode & ~UINT32_C(0777)) || (mode & 0600) != 0600 || uid < -1 || gid < -1 ||
        uid > INT32_MAX || gid > INT32_MAX)
        return PRD_EINVAL;
    cfg->shm_mode = mode;
    cfg->shm_uid = uid;
    cfg->shm_gid = gid;
    return PRD_OK;
}
