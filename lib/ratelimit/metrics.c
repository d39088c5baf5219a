/* Limiters, the PostgreSQL store and the login guard as Prometheus text. */
#include "internal/common.h"
#include "internal/prometheus.h"
#include "internal/ratelimit.h"

size_t prd_limiter_prometheus(const prd_limiter *lim, const char *prefix, char *out,
                              size_t out_size)
{
    struct prd__prom w;
    if (!lim || !prd__prom_begin(&w, out, out_size, prefix, "prodready_ratelimit_"))
        return 0;
    uint32_t n = lim->hdr->n_rules;
    prd__prom_header(&w, "keys", "gauge", "Keys with live state, per rule.");
    for (uint32_t r = 0; r < n; r++)
        prd__prom_sample(&w, "keys", prd_limiter_key_count(lim, (int)r), "rule",
                         lim->hdr->rules[r].name, (const char *)NULL);
    prd__prom_header(&w, "keys_max", "gauge", "Keys a rule may track at once.");
    for (uint32_t r = 0; r < n; r++)
        prd__prom_sample(&w, "keys_max", lim->hdr->rules[r].max_keys, "rule",
                         lim->hdr->rules[r].name, (const char *)NULL);
    prd__prom_header(&w, "keys_refused_total", "counter",
                     "New keys refused (PRD_EBUSY) because the rule was full.");
    for (uint32_t r = 0; r < n; r++)
        prd__prom_sample(&w, "keys_refused_total", prd_limiter_refused(lim, (int)r), "rule",
                         lim->hdr->rules[r].name, (const char *)NULL);
    return w.len;
}

size_t prd_rl_pg_prometheus(const prd_rl_pg *store, const char *prefix, char *out,
                            size_t out_size)
{
    struct prd__prom w;
    if (!store || !prd__prom_begin(&w, out, out_size, prefix, "prodready_ratelimit_pg_"))
        return 0;
    prd__prom_metric(&w, "local_total", "counter",
                     "Checks answered from a local lease, without a round trip.",
                     prd_rl_pg_local(store));
    prd__prom_metric(&w, "failures_total", "counter",
                     "Checks the database did not answer, decided by the failure policy.",
                     prd_rl_pg_failures(store));
    return w.len;
}

size_t prd_login_guard_prometheus(const prd_login_guard *g, const char *prefix, char *out,
                                  size_t out_size)
{
    struct prd__prom w;
    if (!g || !prd__prom_begin(&w, out, out_size, prefix, "prodready_login_"))
        return 0;
    prd__prom_header(&w, "lockouts_total", "counter",
                     "Lockouts begun: a source over its attempts, an account over its failures, "
                     "a backoff after repeated failures.");
    static const struct {
        const char *kind;
        prd_login_counter c;
    } lk[3] = {{"source", PRD_LOGIN_COUNT_LOCKOUT_SOURCE},
               {"account", PRD_LOGIN_COUNT_LOCKOUT_ACCOUNT},
               {"backoff", PRD_LOGIN_COUNT_LOCKOUT_BACKOFF}};
    for (int i = 0; i < 3; i++)
        prd__prom_sample(&w, "lockouts_total", prd_login_guard_count(g, lk[i].c), "kind",
                         lk[i].kind, (const char *)NULL);
    prd__prom_header(&w, "attempts_total", "counter", "Login attempts checked, by decision.");
    prd__prom_sample(&w, "attempts_total", prd_login_guard_count(g, PRD_LOGIN_COUNT_ALLOWED),
                     "result", "allowed", (const char *)NULL);
    prd__prom_sample(&w, "attempts_total", prd_login_guard_count(g, PRD_LOGIN_COUNT_DENIED),
                     "result", "denied", (const char *)NULL);
    prd__prom_metric(&w, "busy_total", "counter",
                     "Attempts refused with PRD_EBUSY: the guard's tables were full.",
                     prd_login_guard_count(g, PRD_LOGIN_COUNT_BUSY));
    prd__prom_metric(&w, "db_failures_total", "counter",
                     "Checks the database failed (denied: the guard fails closed).",
                     prd_login_guard_count(g, PRD_LOGIN_COUNT_DB_FAILED));
    return w.len;
}
