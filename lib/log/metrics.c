/* The logger's counters as Prometheus text. */
#include "internal/common.h"
#include "prodready/log.h"
#include "internal/prometheus.h"

size_t prd_logger_prometheus(const prd_logger *lg, const char *prefix, char *out,
                             size_t out_size)
{
    struct prd__prom w;
    if (!lg || !prd__prom_begin(&w, out, out_size, prefix, "prodready_log_"))
        return 0;
    static const char *const levels[5] = {"debug", "info", "warn", "error", "fatal"};
    prd__prom_header(&w, "lines_total", "counter", "Lines written, by level.");
    for (int i = 0; i < 5; i++)
        prd__prom_sample(&w, "lines_total", prd_logger_count(lg, (prd_log_counter)i), "level",
                         levels[i], (const char *)NULL);
    prd__prom_metric(&w, "dropped_total", "counter",
                     "Lines dropped because the async queue was full.",
                     prd_logger_count(lg, PRD_LOG_COUNT_DROPPED));
    prd__prom_metric(&w, "sampled_out_total", "counter", "Lines left out by sampling.",
                     prd_logger_count(lg, PRD_LOG_COUNT_SAMPLED_OUT));
    prd__prom_metric(&w, "write_errors_total", "counter", "Lines a sink failed to write.",
                     prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS));
    prd__prom_metric(&w, "scrub_text_lines_total", "counter",
                     "Scrubbed lines that did not read as JSON from end to end.",
                     prd_logger_count(lg, PRD_LOG_COUNT_SCRUB_TEXT));
    prd__prom_header(&w, "redactions_total", "counter", "Values redacted, by rule.");
    const char *name = NULL;
    uint64_t n = 0;
    for (size_t i = 0; prd_logger_redaction_count(lg, i, &name, &n) == PRD_OK; i++)
        prd__prom_sample(&w, "redactions_total", n, "rule", name, (const char *)NULL);
    return w.len;
}
