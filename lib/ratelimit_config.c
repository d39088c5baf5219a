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
    (*out)->full_policy = PRD_RL_EVICT_LRU;
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

prd_status prd_limiter_config_add_rule(prd_limiter_config *cfg, const char *name, uint64_t limit,
                                       int64_t window_ms, prd_rl_algorithm algorithm)
{
    if (!cfg || !name_ok(name) || limit == 0 || limit > UINT64_C(1) << 48 || window_ms < 1 ||
        window_ms > MAX_WINDOW_MS || (algorithm != PRD_RL_EXACT && algorithm != PRD_RL_COUNTER) ||
        (algorithm == PRD_RL_EXACT && limit > PRD_RL_EXACT_MAX_LIMIT))
        return PRD_EINVAL;
    if (cfg->n_rules == PRD_RL_MAX_RULES)
        return PRD_ETOOBIG;
    struct prd__rl_rule *r = &cfg->rules[cfg->n_rules];
    memset(r, 0, sizeof *r);
    memcpy(r->name, name, strlen(name) + 1); /* name_ok bounded it */
    r->limit = limit;
    r->window_ms = window_ms;
    r->algorithm = (uint32_t)algorithm;
    cfg->n_rules++;
    return PRD_OK;
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
    if (!cfg || (policy != PRD_RL_EVICT_LRU && policy != PRD_RL_DENY_NEW))
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
