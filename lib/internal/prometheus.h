/*
 * Prometheus text exposition, shared by every module's *_prometheus
 * function: one writer with snprintf's contract (the text is cut at the
 * buffer's end, the length needed is counted whole), metric headers, and
 * label values escaped as the format requires.
 */
#ifndef PRD_INTERNAL_PROMETHEUS_H
#define PRD_INTERNAL_PROMETHEUS_H

#include <stddef.h>
#include <stdint.h>

struct prd__prom {
    char *out;
    size_t size;
    size_t len; /* of the whole text, even past size */
    const char *prefix;
};

/* Start a text into out (may be NULL when size is 0). prefix NULL takes
 * dflt. Returns 0 (and writes nothing) when the arguments are bad or the
 * prefix is not a metric name prefix (letters, digits, '_' and ':', at
 * most 64 bytes). */
int prd__prom_begin(struct prd__prom *w, char *out, size_t size, const char *prefix,
                    const char *dflt);

/* printf-style raw text (each call at most 511 bytes after formatting). */
void prd__prom_printf(struct prd__prom *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP <prefix><name> help" and "# TYPE <prefix><name> type". */
void prd__prom_header(struct prd__prom *w, const char *name, const char *type, const char *help);

/* One sample: <prefix><name>{<labels>} value. labels: NULL or pairs
 * "key", "value", ... ending with NULL; values are escaped. */
void prd__prom_sample(struct prd__prom *w, const char *name, uint64_t value, ...);

/* A whole single-sample metric without labels. */
void prd__prom_metric(struct prd__prom *w, const char *name, const char *type, const char *help,
                      uint64_t value);

/* Append a label value escaped (backslash, double quote, newline). */
void prd__prom_escaped(struct prd__prom *w, const char *value);

#endif
