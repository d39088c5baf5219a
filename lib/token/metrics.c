/* The jti revocation list's state as Prometheus text. */
#include "internal/common.h"
#include "prodready/token.h"
#include "internal/prometheus.h"

size_t prd_token_revocations_prometheus(const prd_token_revocations *list, const char *prefix,
                                        char *out, size_t out_size)
{
    struct prd__prom w;
    if (!list || !prd__prom_begin(&w, out, out_size, prefix, "prodready_token_revocations_"))
        return 0;
    /* count only takes the list's read lock: casting const away is safe */
    prd__prom_metric(&w, "entries", "gauge", "Revoked jtis held until their tokens expire.",
                     prd_token_revocations_count((prd_token_revocations *)list));
    prd__prom_metric(&w, "stale_refusals_total", "counter",
                     "Checks refused because the list could not be refreshed for max_stale_ms.",
                     prd_token_revocations_stale_refusals(list));
    return w.len;
}
