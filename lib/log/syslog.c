/* RFC 5424 framing of a log line, for the syslog sink. */
#include "internal/common.h"
#include "internal/log_sink.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int prd__syslog_severity(prd_log_level level)
{
    static const int sev[] = {7, 6, 4, 3, 2}; /* debug info warning err crit */
    return level >= PRD_LOG_DEBUG && level <= PRD_LOG_FATAL ? sev[level] : 6;
}

void prd__syslog_token(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (; in && in[n] && n + 1 < cap; n++) {
        unsigned char c = (unsigned char)in[n];
        out[n] = c > 32 && c < 127 ? (char)c : '_'; /* PRINTUSASCII */
    }
    if (n == 0 && cap >= 2)
        out[n++] = '-';
    out[n] = '\0';
}

/* The line's own time (the first member's value, as the logger writes
 * it) when it has the shape of an RFC 3339 timestamp, else NILVALUE. */
static void put_timestamp(struct prd__buf *b, const char *line, size_t len)
{
    const char *colon = len > 2 ? memchr(line, ':', len < 32 ? len : 32) : NULL;
    if (colon && (size_t)(colon - line) + 2 < len && colon[1] == '"') {
        const char *v = colon + 2, *end = line + len;
        size_t n = 0;
        while (v + n < end && n < 40 && v[n] != '"')
            n++;
        int shape = n >= 20 && v + n < end && v[4] == '-' && v[10] == 'T';
        for (size_t i = 0; shape && i < n; i++)
            shape = strchr("0123456789-T:.Z+", v[i]) != NULL;
        if (shape) {
            prd__buf_put(b, v, n);
            return;
        }
    }
    prd__buf_putc(b, '-');
}

void prd__syslog_format(struct prd__buf *b, int facility, const char *hostname,
                        const char *app_name, prd_log_level level, const char *line, size_t len)
{
    char head[64];
    int n = snprintf(head, sizeof head, "<%d>1 ", facility * 8 + prd__syslog_severity(level));
    prd__buf_put(b, head, (size_t)n);
    put_timestamp(b, line, len);
    prd__buf_putc(b, ' ');
    prd__buf_puts(b, hostname);
    prd__buf_putc(b, ' ');
    prd__buf_puts(b, app_name);
    /* PROCID read at each line: a forked worker logs its own pid. MSGID
     * and STRUCTURED-DATA are NILVALUE: the structure is the JSON. */
    n = snprintf(head, sizeof head, " %ld - - ", (long)getpid());
    prd__buf_put(b, head, (size_t)n);
    prd__buf_put(b, line, len);
}
