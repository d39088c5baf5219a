/*
 * journald's native protocol for a log line: MESSAGE, PRIORITY and
 * SYSLOG_IDENTIFIER, then one journal field per top-level member of the
 * JSON line, so `journalctl USER=alice` and `-o json` see the structure.
 * A field is NAME=value and a newline, or, when the value holds a
 * newline, NAME, a newline, the value's length as 64-bit little endian,
 * the value and a newline (the protocol's binary-safe form).
 */
#include "internal/common.h"
#include "internal/log_sink.h"

#include <string.h>

#define FIELD_NAME_MAX 64

/* Names journald or its readers give a meaning of their own: a member
 * called "message" must not become a second MESSAGE. */
static const char *const reserved[] = {
    "MESSAGE", "MESSAGE_ID", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
    "ERRNO", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP",
    "SYSLOG_RAW", "DOCUMENTATION", "TID", "INVOCATION_ID", "USER_INVOCATION_ID",
};

static void put_field(struct prd__buf *b, const char *name, size_t nlen, const char *v, size_t vlen)
{
    prd__buf_put(b, name, nlen);
    if (!memchr(v, '\n', vlen)) {
        prd__buf_putc(b, '=');
        prd__buf_put(b, v, vlen);
    } else {
        unsigned char le[8];
        uint64_t n = vlen;
        for (int i = 0; i < 8; i++)
            le[i] = (unsigned char)(n >> (8 * i));
        prd__buf_putc(b, '\n');
        prd__buf_put(b, (const char *)le, sizeof le);
        prd__buf_put(b, v, vlen);
    }
    prd__buf_putc(b, '\n');
}

/* A journal field name from a JSON key: upper case, [A-Z0-9_] only, not
 * starting with '_' (trusted fields) or a digit, at most 64 bytes; one
 * that journald reserves gets the logger's "fields." prefix. */
static size_t field_name(const char *key, size_t klen, char *out)
{
    /* Built two bytes in, where an "F_" prefix may go. */
    char *name = out + 2;
    size_t n = 0;
    for (size_t i = 0; i < klen && n < FIELD_NAME_MAX; i++) {
        unsigned char c = (unsigned char)key[i];
        char u = c >= 'a' && c <= 'z' ? (char)(c - 32)
                 : (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? (char)c
                                                                     : '_';
        if (n == 0 && u == '_')
            continue;
        name[n++] = u;
    }
    if (n == 0 || (name[0] >= '0' && name[0] <= '9')) {
        out[0] = 'F'; /* made valid by a prefix, cut to the limit */
        out[1] = '_';
        return (n < FIELD_NAME_MAX - 2 ? n : FIELD_NAME_MAX - 2) + 2;
    }
    for (size_t r = 0; r < PRD_ARRAY_LEN(reserved); r++) {
        if (strlen(reserved[r]) == n && memcmp(name, reserved[r], n) == 0) {
            memmove(out + 7, name, n);
            memcpy(out, "FIELDS_", 7);
            return n + 7;
        }
    }
    memmove(out, name, n);
    return n;
}

struct walk {
    const char *s;
    size_t n, i;
};

static void ws(struct walk *w)
{
    while (w->i < w->n && (w->s[w->i] == ' ' || w->s[w->i] == '\t'))
        w->i++;
}

/* A string at w->i: its body's extent, w->i past the closing quote. */
static int string_at(struct walk *w, size_t *start, size_t *end)
{
    if (w->i >= w->n || w->s[w->i] != '"')
        return 0;
    size_t k = w->i + 1;
    while (k < w->n && w->s[k] != '"')
        k += w->s[k] == '\\' && k + 1 < w->n ? 2 : 1;
    if (k >= w->n)
        return 0;
    *start = w->i + 1;
    *end = k;
    w->i = k + 1;
    return 1;
}

/* A non-string value's raw extent: up to the ',' or '}' that ends it at
 * depth 0. */
static int raw_at(struct walk *w, size_t *start, size_t *end)
{
    size_t k = w->i;
    int depth = 0;
    *start = k;
    while (k < w->n) {
        char c = w->s[k];
        if (c == '"') {
            k++;
            while (k < w->n && w->s[k] != '"')
                k += w->s[k] == '\\' && k + 1 < w->n ? 2 : 1;
            k++;
            continue;
        }
        if (depth == 0 && (c == ',' || c == '}'))
            break;
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        k++;
    }
    if (k > w->n || k == *start)
        return 0;
    *end = k;
    w->i = k;
    return 1;
}

static int key_is(const char *s, size_t n, const char *name)
{
    return name && strlen(name) == n && memcmp(s, name, n) == 0;
}

void prd__journald_format(struct prd__buf *b, const char *identifier,
                          const char *const *profile_keys, prd_log_level level, const char *line,
                          size_t len)
{
    static const char *const defaults[3] = {"time", "level", "msg"};
    const char *const *names = profile_keys ? profile_keys : defaults;
    char pri[2] = {(char)('0' + prd__syslog_severity(level)), 0};
    put_field(b, "PRIORITY", 8, pri, 1);
    put_field(b, "SYSLOG_IDENTIFIER", 17, identifier, strlen(identifier));

    struct walk w = {line, len, 0};
    size_t fields_at = b->len;
    int message = 0;
    ws(&w);
    if (w.i < w.n && w.s[w.i] == '{') {
        w.i++;
        char scratch[512];
        struct prd__buf tmp;
        prd__buf_init(&tmp, scratch, sizeof scratch);
        for (;;) {
            size_t ks, ke, vs, ve;
            ws(&w);
            if (!string_at(&w, &ks, &ke))
                break;
            ws(&w);
            if (w.i >= w.n || w.s[w.i] != ':')
                break;
            w.i++;
            ws(&w);
            int is_string = w.i < w.n && w.s[w.i] == '"';
            if (!(is_string ? string_at(&w, &vs, &ve) : raw_at(&w, &vs, &ve)))
                break;
            tmp.len = 0;
            if (is_string)
                prd__json_unescape(line + vs, ve - vs, &tmp);
            else
                prd__buf_put(&tmp, line + vs, ve - vs);
            const char *key = line + ks;
            size_t klen = ke - ks;
            if (key_is(key, klen, names[2])) {
                put_field(b, "MESSAGE", 7, tmp.p, tmp.len);
                message = 1;
            } else if (!key_is(key, klen, names[0]) && !key_is(key, klen, names[1])) {
                /* time: journald stamps its own; level: PRIORITY */
                char name[FIELD_NAME_MAX + 8]; /* room for a prefix */
                size_t nl = field_name(key, klen, name);
                put_field(b, name, nl, tmp.p, tmp.len);
            }
            ws(&w);
            if (w.i < w.n && w.s[w.i] == ',') {
                w.i++;
                continue;
            }
            break;
        }
        prd__buf_free(&tmp);
    }
    if (!message) { /* not a line of ours: the whole line is the message */
        b->len = fields_at;
        put_field(b, "MESSAGE", 7, line, len);
    }
}
