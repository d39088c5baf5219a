/* The password policy's counters as Prometheus text. */
#include "internal/common.h"
#include "internal/password.h"
#include "internal/prometheus.h"

size_t prd_password_policy_prometheus(const prd_password_policy *policy, const char *prefix,
                                      char *out, size_t out_size)
{
    struct prd__prom w;
    if (!policy || !prd__prom_begin(&w, out, out_size, prefix, "prodready_password_"))
        return 0;
    prd__prom_metric(&w, "hashes_in_flight", "gauge", "Hashes and verifies computing now.",
                     prd_password_stat_get(policy, PRD_PASSWORD_STAT_IN_FLIGHT));
    prd__prom_metric(&w, "memory_in_flight_bytes", "gauge",
                     "Argon2 memory held by the hashes computing now.",
                     prd_password_stat_get(policy, PRD_PASSWORD_STAT_IN_FLIGHT_KIB) * 1024u);
    prd__prom_metric(&w, "memory_peak_bytes", "gauge",
                     "Highest Argon2 memory in flight since the policy was made.",
                     prd_password_stat_get(policy, PRD_PASSWORD_STAT_PEAK_KIB) * 1024u);
    prd__prom_metric(&w, "budget_waiting", "gauge", "Calls waiting for room in the memory budget.",
                     prd_password_stat_get(policy, PRD_PASSWORD_STAT_WAITING));
    prd__prom_metric(&w, "arena_bytes", "gauge",
                     "Memory kept in arenas for reuse by later hashes, idle and in use.",
                     prd_password_stat_get(policy, PRD_PASSWORD_STAT_ARENA_KIB) * 1024u);
    prd__prom_metric(&w, "budget_busy_total", "counter",
                     "Calls that gave up with PRD_EBUSY: the budget stayed full for the wait.",
                     prd_password_stat_get(policy, PRD_PASSWORD_STAT_BUSY));
    prd__prom_metric(&w, "hashes_total", "counter", "Hashes and verifies computed.",
                     prd_password_stat_get(policy, PRD_PASSWORD_STAT_COMPLETED));
    return w.len;
}
