/* Shared helpers of the prodready command. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
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

/* All of fd, at most max bytes, NUL-terminated. Growth copies and wipes
 * rather than realloc, which would leave a password's bytes behind in
 * freed memory. NULL on error (errno-style reason in *err) or when longer
 * than max (*too_long set). */
static char *read_all(int fd, size_t max, size_t *len, int *too_long, int *err)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    *too_long = 0;
    *err = 0;
    if (!buf) {
        *err = ENOMEM;
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                *too_long = 1;
                break;
            }
            char *nb = malloc(cap * 2 + 1);
            if (!nb) {
                *err = ENOMEM;
                break;
            }
            memcpy(nb, buf, n);
            prd_memzero(buf, n);
            free(buf);
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err = errno;
            break;
        }
        if (r == 0) {
            if (n > max)
                *too_long = 1;
            break;
        }
        n += (size_t)r;
    }
    if (*too_long || *err) {
        prd_memzero(buf, n);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

void cli_free_secret(char *s)
{
    if (s) {
        prd_memzero(s, strlen(s));
        free(s);
    }
}

char *cli_read_stdin(size_t max, size_t *len)
{
    int too_long, err;
    char *buf = read_all(0, max, len, &too_long, &err);
    if (too_long)
        cli_usage("input longer than %zu bytes", max);
    else if (err)
        cli_usage("cannot read standard input: %s", strerror(err));
    return buf;
}

char *cli_read_stdin_bounded(size_t max, size_t *len, int *too_long)
{
    int err;
    char *buf = read_all(0, max, len, too_long, &err);
    if (err)
        cli_usage("cannot read standard input: %s", strerror(err));
    return buf;
}

/* One trailing newline (\n or \r\n) off. */
static void strip_newline(char *buf, size_t *len)
{
    if (*len > 0 && buf[*len - 1] == '\n') {
        buf[--*len] = '\0';
        if (*len > 0 && buf[*len - 1] == '\r')
            buf[--*len] = '\0';
    }
}

char *cli_read_password(size_t max, size_t *len)
{
    int too_long, err;
    char *buf = read_all(0, max + 2, len, &too_long, &err); /* room for the newline */
    if (buf) {
        strip_newline(buf, len);
        too_long = *len > max;
        if (too_long) {
            prd_memzero(buf, *len);
            free(buf);
            buf = NULL;
        }
    }
    if (too_long)
        cli_usage("password longer than %zu bytes (the limit)", max);
    else if (err)
        cli_usage("cannot read standard input: %s", strerror(err));
    return buf;
}

char *cli_read_key(const char *what, const char *key, const char *key_file, const char *key_env)
{
    int sources = (key != NULL) + (key_file != NULL) + (key_env != NULL);
    if (sources != 1) {
        cli_usage("%s: give the key once: --key KEY, --key -, --key-file FILE or --key-env NAME",
                  what);
        return NULL;
    }
    const size_t max = 1024; /* a PASERK is under 100 bytes, hex 128 */
    size_t len = 0;
    int too_long = 0, err = 0;
    char *text = NULL;
    const char *from = "--key";
    if (key && strcmp(key, "-") != 0) {
        text = strdup(key);
        len = text ? strlen(text) : 0;
        err = text ? 0 : ENOMEM;
    } else if (key) {
        from = "standard input";
        text = read_all(0, max, &len, &too_long, &err);
    } else if (key_file) {
        from = key_file;
        int fd = open(key_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            err = errno;
        } else {
            text = read_all(fd, max, &len, &too_long, &err);
            close(fd);
        }
    } else {
        from = key_env;
        const char *v = getenv(key_env);
        if (!v) {
            cli_usage("%s: --key-env: %.60s is not set", what, key_env);
            return NULL;
        }
        text = strdup(v);
        len = text ? strlen(text) : 0;
        err = text ? 0 : ENOMEM;
    }
    if (too_long) {
        cli_free_secret(text); /* NULL from read_all: kept safe if that changes */
        cli_usage("%s: key from %.200s longer than %zu bytes", what, from, max);
        return NULL;
    }
    if (!text) {
        cli_usage("%s: cannot read the key from %.200s: %s", what, from, strerror(err));
        return NULL;
    }
    strip_newline(text, &len);
    if (strlen(text) != len) {
        cli_free_secret(text);
        cli_usage("%s: the key from %.200s holds a NUL byte", what, from);
        return NULL;
    }
    return text;
}
