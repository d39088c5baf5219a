/* Pool metrics: lock-free counters and histograms, read one by one or as
 * Prometheus text. */
#include "internal/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal/pg.h"
#include "internal/prometheus.h"

static const char *const metric_names[PRD_PG_METRIC_MAX + 1] = {
    "acquired_total",       "in_use",
    "idle",                 "open",
    "waiting",              "connects_total",
    "connect_failures_total", "acquire_timeouts_total",
    "acquire_busy_total",   "queries_total",
    "query_errors_total",   "commits_total",
    "rollbacks_total",      "retries_total",
    "leaks_total",          "slow_queries_total",
    "broken_total",         "failovers_total",
    "recycled_total",       "prepares_total",
    "unknown_commits_total", "query_timeouts_total",
};

/* # HELP texts, in the order of metric_names. */
static const char *const metric_help[PRD_PG_METRIC_MAX + 1] = {
    "Connections handed out by acquire.",
    "Connections out to callers now.",
    "Connections idle in the pool now.",
    "Connections open or being opened now.",
    "Callers waiting for a connection now.",
    "Connections made to the server.",
    "Connection attempts that failed (one backoff step per round).",
    "Acquires that ended at their deadline.",
    "Acquires refused because the wait queue was full.",
    "Statements run.",
    "Statements that failed.",
    "Transactions committed by tx_run.",
    "Transactions rolled back.",
    "Transaction attempts run again after a retryable failure.",
    "Connections held past the leak threshold.",
    "Statements slower than the slow-query threshold.",
    "Connections found broken and closed.",
    "Connection generations dropped (failover, shutdown, demotion).",
    "Connections closed for idle time or lifetime.",
    "Statements prepared on the server.",
    "COMMITs sent whose outcome is unknown (connection lost or no answer in time).",
    "Statements that reached the client-side deadline.",
};

/* Upper bounds in ns; the last bucket is +Inf. */
static const int64_t bounds_ns[PRD__PG_HBUCKETS] = {
    100000,    250000,    500000,     1000000,    2500000,   5000000,
    10000000,  25000000,  50000000,   100000000,  250000000, 500000000,
    1000000000, 2500000000, 5000000000, 10000000000, INT64_MAX,
};

static int is_gauge(prd_pg_metric m)
{
    return m == PRD_PG_M_IN_USE || m == PRD_PG_M_IDLE || m == PRD_PG_M_OPEN ||
           m == PRD_PG_M_WAITING;
}

const char *prd_pg_metric_name(prd_pg_metric which)
{
    if ((unsigned)which > PRD_PG_METRIC_MAX)
        return NULL;
    return metric_names[which];
}

void prd__pg_metric_add(struct prd__pg_metrics *m, prd_pg_metric which, uint64_t n)
{
    atomic_fetch_add_explicit(&m->counters[which], n, memory_order_relaxed);
}

void prd__pg_local_add(struct prd__pg_stats *s, prd_pg_metric which, uint64_t n)
{
    uint64_t v = atomic_load_explicit(&s->counters[which], memory_order_relaxed);
    atomic_store_explicit(&s->counters[which], v + n, memory_order_relaxed);
}

static size_t bucket_of(int64_t ns)
{
    size_t i = 0;
    while (ns > bounds_ns[i])
        i++;
    return i;
}

void prd__pg_local_observe(struct prd__pg_stats *s, prd_pg_histogram h, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    _Atomic uint64_t *b = &s->hist[h].buckets[bucket_of(ns)];
    atomic_store_explicit(b, atomic_load_explicit(b, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (ns > 0)
        atomic_store_explicit(&s->hist[h].sum_ns,
                              atomic_load_explicit(&s->hist[h].sum_ns, memory_order_relaxed) +
                                  (uint64_t)ns,
                              memory_order_relaxed);
}

static uint64_t pack_code(const char *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 5 && s[i]; i++)
        v = v << 8 | (unsigned char)s[i];
    return v;
}

void prd__pg_retry_count(struct prd__pg_metrics *m, const char *sqlstate)
{
    uint64_t code = pack_code(sqlstate && *sqlstate ? sqlstate : "XX000");
    for (size_t i = 0; i < PRD__PG_RETRY_CODES; i++) {
        uint64_t cur = atomic_load_explicit(&m->retry_code[i], memory_order_acquire);
        if (cur == 0) {
            uint64_t expect = 0;
            if (atomic_compare_exchange_strong(&m->retry_code[i], &expect, code) ||
                expect == code) {
                atomic_fetch_add_explicit(&m->retry_count[i], 1, memory_order_relaxed);
                return;
            }
            continue;
        }
        if (cur == code) {
            atomic_fetch_add_explicit(&m->retry_count[i], 1, memory_order_relaxed);
            return;
        }
    }
    /* Table full: the total in PRD_PG_M_RETRIES still counts it. */
}

/* Readers take the pool lock: gauges are the pool's own fields, and the
 * per-connection counters are summed over the slots. */
uint64_t prd_pg_pool_metric(const prd_pg_pool *pool, prd_pg_metric which)
{
    if (!pool || (unsigned)which > PRD_PG_METRIC_MAX)
        return 0;
    prd_pg_pool *p = (prd_pg_pool *)pool;
    uint64_t v;
    pthread_mutex_lock(&p->lock);
    switch (which) {
    case PRD_PG_M_IN_USE:
        v = p->n_out;
        break;
    case PRD_PG_M_IDLE:
        v = p->n_idle;
        break;
    case PRD_PG_M_OPEN:
        v = p->n_open;
        break;
    case PRD_PG_M_WAITING:
        v = p->n_waiting;
        break;
    default:
        v = atomic_load_explicit(&p->metrics.counters[which], memory_order_relaxed);
        for (uint32_t i = 0; i < p->cfg->max_size; i++)
            if (p->slots[i])
                v += atomic_load_explicit(&p->slots[i]->stats.counters[which],
                                          memory_order_relaxed);
    }
    pthread_mutex_unlock(&p->lock);
    return v;
}

uint64_t prd_pg_pool_retries_by_sqlstate(const prd_pg_pool *pool, const char *sqlstate)
{
    if (!pool || !sqlstate || strlen(sqlstate) != 5)
        return 0;
    struct prd__pg_metrics *m = &((prd_pg_pool *)pool)->metrics;
    uint64_t code = pack_code(sqlstate);
    for (size_t i = 0; i < PRD__PG_RETRY_CODES; i++)
        if (atomic_load(&m->retry_code[i]) == code)
            return atomic_load(&m->retry_count[i]);
    return 0;
}

prd_status prd_pg_pool_histogram_bucket(const prd_pg_pool *pool, prd_pg_histogram h, size_t i,
                                        int64_t *upper_ns, uint64_t *count)
{
    if (!pool || (h != PRD_PG_H_ACQUIRE_WAIT && h != PRD_PG_H_QUERY) || !upper_ns || !count)
        return PRD_EINVAL;
    if (i >= PRD__PG_HBUCKETS)
        return PRD_ENOTFOUND;
    prd_pg_pool *p = (prd_pg_pool *)pool;
    uint64_t c = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t k = 0; k <= i; k++) {
        for (uint32_t s = 0; s < p->cfg->max_size; s++)
            if (p->slots[s])
                c += atomic_load_explicit(&p->slots[s]->stats.hist[h].buckets[k],
                                          memory_order_relaxed);
    }
    pthread_mutex_unlock(&p->lock);
    *upper_ns = bounds_ns[i];
    *count = c;
    return PRD_OK;
}

uint64_t prd_pg_pool_histogram_sum_ns(const prd_pg_pool *pool, prd_pg_histogram h)
{
    if (!pool || (h != PRD_PG_H_ACQUIRE_WAIT && h != PRD_PG_H_QUERY))
        return 0;
    prd_pg_pool *p = (prd_pg_pool *)pool;
    pthread_mutex_lock(&p->lock);
    uint64_t v = 0;
    for (uint32_t s = 0; s < p->cfg->max_size; s++)
        if (p->slots[s])
            v += atomic_load_explicit(&p->slots[s]->stats.hist[h].sum_ns, memory_order_relaxed);
    pthread_mutex_unlock(&p->lock);
    return v;
}

size_t prd_pg_pool_prometheus(const prd_pg_pool *pool, const char *prefix, char *out,
                              size_t out_size)
{
    struct prd__prom w;
    if (!pool || !prd__prom_begin(&w, out, out_size, prefix, "prodready_pg_"))
        return 0;
    /* Every sample carries pool="<name>", so several pools in one process
     * (or one scrape of several services) stay apart. */
    const char *pl = pool->cfg->name;
    for (int m = 0; m <= PRD_PG_METRIC_MAX; m++) {
        prd__prom_header(&w, metric_names[m], is_gauge((prd_pg_metric)m) ? "gauge" : "counter",
                         metric_help[m]);
        prd__prom_sample(&w, metric_names[m], prd_pg_pool_metric(pool, (prd_pg_metric)m), "pool",
                         pl, (const char *)NULL);
    }
    const struct prd__pg_metrics *mt = &pool->metrics;
    prd__prom_header(&w, "retries_by_sqlstate_total", "counter",
                     "Transaction retries by the SQLSTATE that caused them.");
    for (size_t i = 0; i < PRD__PG_RETRY_CODES; i++) {
        uint64_t code = atomic_load(&((struct prd__pg_metrics *)mt)->retry_code[i]);
        if (!code)
            continue;
        char s[6];
        for (int k = 4; k >= 0; k--) {
            s[k] = (char)(code & 0xff);
            code >>= 8;
        }
        s[5] = '\0';
        prd__prom_sample(&w, "retries_by_sqlstate_total",
                         atomic_load(&((struct prd__pg_metrics *)mt)->retry_count[i]), "pool", pl,
                         "sqlstate", s, (const char *)NULL);
    }
    static const char *const hnames[2] = {"acquire_wait_seconds", "query_seconds"};
    static const char *const hhelp[2] = {"Time from the acquire call to a connection in hand.",
                                         "Statement round trips."};
    for (int h = 0; h < 2; h++) {
        prd__prom_header(&w, hnames[h], "histogram", hhelp[h]);
        uint64_t total = 0;
        char name[64], le[32];
        snprintf(name, sizeof name, "%s_bucket", hnames[h]);
        for (size_t i = 0; i < PRD__PG_HBUCKETS; i++) {
            int64_t ub = INT64_MAX;
            /* in range by construction: the loop's bounds are the histogram's */
            if (prd_pg_pool_histogram_bucket(pool, (prd_pg_histogram)h, i, &ub, &total) != PRD_OK)
                break;
            if (ub == INT64_MAX)
                snprintf(le, sizeof le, "+Inf");
            else
                snprintf(le, sizeof le, "%g", (double)ub / 1e9);
            prd__prom_sample(&w, name, total, "pool", pl, "le", le, (const char *)NULL);
        }
        prd__prom_printf(&w, "%s%s_sum{pool=\"", w.prefix, hnames[h]);
        prd__prom_escaped(&w, pl);
        prd__prom_printf(&w, "\"} %.9f\n",
                         (double)prd_pg_pool_histogram_sum_ns(pool, (prd_pg_histogram)h) / 1e9);
        snprintf(name, sizeof name, "%s_count", hnames[h]);
        prd__prom_sample(&w, name, total, "pool", pl, (const char *)NULL);
    }
    return w.len;
}
