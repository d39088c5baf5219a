/* Shared helpers of the prodready command. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((format(printf, 1, 0))) static void vreport(const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    /* One line on stderr, whatever the message held. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "prodready: %s\n", line);
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    return code;
}

int cli_next(struct cli_args *a, int (*has_value)(const char *name), const char **flag,
             const char **value)
{
    static char name[64];
    *flag = NULL;
    *value = NULL;
    if (a->pos >= a->argc)
        return 0;
    char *tok = a->argv[a->pos++];
    if (strcmp(tok, "--") == 0) {
        if (a->pos >= a->argc)
            return 0;
        *value = a->argv[a->pos++];
        return 1;
    }
    if (strncmp(tok, "--", 2) != 0 || tok[2] == '\0') {
        *value = tok;
        return 1;
    }
    const char *eq = strchr(tok + 2, '=');
    size_t n = eq ? (size_t)(eq - (tok + 2)) : strlen(tok + 2);
    if (n >= sizeof name) {
        cli_usage("unknown option '%.40s...'", tok);
        return -1;
    }
    memcpy(name, tok + 2, n);
    name[n] = '\0';
    *flag = name;
    if (!has_value || !has_value(name)) {
        if (eq) {
            cli_usage("option --%s takes no value", name);
            return -1;
        }
        return 1;
    }
    if (eq) {
        *value = eq + 1;
    } else if (a->pos < a->argc) {
        *value = a->argv[a->pos++];
    } else {
        cli_usage("option --%s needs a value", name);
        return -1;
    }
    return 1;
}

int cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int cli_parse_duration_ms(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    if (!s)
        return -1;
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 15)
        return -1;
    char num[16];
    memcpy(num, s, digits);
    num[digits] = '\0';
    uint64_t v;
    if (cli_parse_u64(num, UINT64_C(999999999999999), &v) != 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s + digits, units[i].unit) == 0) {
            if (v > (uint64_t)INT64_MAX / units[i].ms)
                return -1;
            *ms = (int64_t)(v * units[i].ms);
            return 0;
        }
    }
    return -1;
}

char *cli_read_stdin(size_t max, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        cli_fail(EXIT_USAGE, "out of memory");
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(buf);
                cli_usage("input longer than %zu bytes", max);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                cli_fail(EXIT_USAGE, "out of memory");
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(0, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            cli_usage("cannot read standard input: %s", strerror(errno));
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        prd_memzero(buf, n);
        free(buf);
        cli_usage("input longer than %zu bytes", max);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

char *cli_read_password(size_t max, size_t *len)
{
    char *buf = cli_read_stdin(max + 2, len);
    if (!buf)
        return NULL;
    if (*len > 0 && buf[*len - 1] == '\n') {
        buf[--*len] = '\0';
        if (*len > 0 && buf[*len - 1] == '\r')
            buf[--*len] = '\0';
    }
    return buf;
}
