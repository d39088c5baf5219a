/* Prometheus text exposition writer (lib/internal/prometheus.h). */
#include "internal/prometheus.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void put(struct prd__prom *w, const char *s, size_t k)
{
    if (w->len < w->size) {
        size_t room = w->size - w->len - 1;
        size_t n = k < room ? k : room;
        memcpy(w->out + w->len, s, n);
        w->out[w->len + n] = '\0';
    }
    w->len += k;
}

static int prefix_ok(const char *p)
{
    size_t n = strlen(p);
    if (n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

int prd__prom_begin(struct prd__prom *w, char *out, size_t size, const char *prefix,
                    const char *dflt)
{
    if (!w || (!out && size))
        return 0;
    if (!prefix)
        prefix = dflt;
    if (!prefix_ok(prefix))
        return 0;
    w->out = out;
    w->size = size;
    w->len = 0;
    w->prefix = prefix;
    if (size)
        out[0] = '\0';
    return 1;
}

void prd__prom_printf(struct prd__prom *w, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    put(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void prd__prom_header(struct prd__prom *w, const char *name, const char *type, const char *help)
{
    prd__prom_printf(w, "# HELP %s%s %s\n# TYPE %s%s %s\n", w->prefix, name, help, w->prefix, name,
                     type);
}

void prd__prom_escaped(struct prd__prom *w, const char *value)
{
    /* The exposition format escapes exactly these three in label values. */
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            put(w, "\\\\", 2);
        else if (*p == '"')
            put(w, "\\\"", 2);
        else if (*p == '\n')
            put(w, "\\n", 2);
        else
            put(w, p, 1);
    }
}

void prd__prom_sample(struct prd__prom *w, const char *name, uint64_t value, ...)
{
    prd__prom_printf(w, "%s%s", w->prefix, name);
    va_list ap;
    va_start(ap, value);
    const char *key = va_arg(ap, const char *);
    if (key) {
        put(w, "{", 1);
        int first = 1;
        for (; key; key = va_arg(ap, const char *)) {
            const char *val = va_arg(ap, const char *);
            if (!first)
                put(w, ",", 1);
            first = 0;
            prd__prom_printf(w, "%s=\"", key);
            prd__prom_escaped(w, val ? val : "");
            put(w, "\"", 1);
        }
        put(w, "}", 1);
    }
    va_end(ap);
    prd__prom_printf(w, " %llu\n", (unsigned long long)value);
}

void prd__prom_metric(struct prd__prom *w, const char *name, const char *type, const char *help,
                      uint64_t value)
{
    prd__prom_header(w, name, type, help);
    prd__prom_sample(w, name, value, (const char *)NULL);
}
