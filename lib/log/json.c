/*
 * The JSON writer for log lines. Hand-written rather than jansson's
 * json_dumps: a line is written field by field straight into one buffer
 * (no json_t tree per line), and invalid UTF-8 must become U+FFFD instead
 * of failing the whole record as jansson does. bench/bench_log.c measures
 * the difference.
 */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/log.h"

#include <string.h>

void prd__buf_init(struct prd__buf *b, char *initial, size_t cap)
{
    b->p = initial;
    b->len = 0;
    b->cap = cap;
    b->failed = 0;
    b->heap = 0;
}

void prd__buf_free(struct prd__buf *b)
{
    if (b->heap)
        prd__free(b->p);
    b->p = NULL;
    b->heap = 0;
}

void prd__buf_put(struct prd__buf *b, const char *s, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap - b->len < n)
            cap *= 2;
        char *p = prd__malloc(cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        if (b->len)
            memcpy(p, b->p, b->len);
        if (b->heap)
            prd__free(b->p);
        b->p = p;
        b->cap = cap;
        b->heap = 1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void prd__buf_puts(struct prd__buf *b, const char *s)
{
    prd__buf_put(b, s, strlen(s));
}

static const char hex[] = "0123456789abcdef";

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
            return 0; /* overlong, or a UTF-16 surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

/* Does any of eight bytes need more than a copy: below 0x20, '"', '\\',
 * or 0x7F and above (DEL, and UTF-8, which is checked)? Word-at-a-time
 * tests (a zero byte in v is (v - 0x01..) & ~v & 0x80..); a carry can
 * only make one say yes wrongly, and then the bytes go one by one. */
static inline int needs_escape8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t x;
    memcpy(&x, p, 8);
    uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
    uint64_t ctl = (x - ones * 0x20) & ~x;
    uint64_t hi = x | (x + ones);
    return (((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) | ctl | hi) & highs ? 1 : 0;
}

void prd__json_string(struct prd__buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    prd__buf_putc(b, '"');
    size_t run = 0; /* bytes that need no escaping, copied in one go */
    for (size_t i = 0; i < n;) {
        if (i + 8 <= n && !needs_escape8(s + i)) { /* eight plain bytes at a time */
            run += 8;
            i += 8;
            continue;
        }
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7F) {
            run++;
            i++;
            continue;
        }
        if (run) {
            prd__buf_put(b, (const char *)s + i - run, run);
            run = 0;
        }
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            prd__buf_put(b, e, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            if (c == '\n')
                prd__buf_put(b, "\\n", 2);
            else if (c == '\t')
                prd__buf_put(b, "\\t", 2);
            else if (c == '\r')
                prd__buf_put(b, "\\r", 2);
            else
                prd__buf_put(b, e, 6);
            i++;
        } else {
            size_t k = utf8_len(s + i, n - i);
            if (k == 0) {
                prd__buf_put(b, "\xEF\xBF\xBD", 3); /* U+FFFD for each bad byte */
                i++;
            } else if (k == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
                /* U+2028/U+2029 end lines in JavaScript: escape them */
                prd__buf_put(b, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                i += 3;
            } else {
                prd__buf_put(b, (const char *)s + i, k);
                i += k;
            }
        }
    }
    if (run)
        prd__buf_put(b, (const char *)s + n - run, run);
    prd__buf_putc(b, '"');
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int hex4(const char *p, size_t left, unsigned *v)
{
    if (left < 4)
        return 0;
    *v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p[k]);
        if (h < 0)
            return 0;
        *v = *v << 4 | (unsigned)h;
    }
    return 1;
}

static void put_utf8(struct prd__buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    prd__buf_put(b, u, n);
}

/* Decode a string's escapes (raw bytes pass as they are; \u0000 is a NUL
 * byte; an unknown escape is kept as written). */
void prd__json_unescape(const char *p, size_t len, struct prd__buf *b)
{
    for (size_t k = 0; k < len; k++) {
        if (p[k] != '\\' || k + 1 >= len) {
            prd__buf_putc(b, p[k]);
            continue;
        }
        char e = p[++k];
        unsigned cp, lo;
        switch (e) {
        case 'n': prd__buf_putc(b, '\n'); break;
        case 't': prd__buf_putc(b, '\t'); break;
        case 'r': prd__buf_putc(b, '\r'); break;
        case 'b': prd__buf_putc(b, '\b'); break;
        case 'f': prd__buf_putc(b, '\f'); break;
        case 'u':
            if (!hex4(p + k + 1, len - k - 1, &cp)) {
                prd__buf_put(b, "\\u", 2);
                break;
            }
            k += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && k + 6 < len && p[k + 1] == '\\' &&
                p[k + 2] == 'u' && hex4(p + k + 3, len - k - 3, &lo) && lo >= 0xDC00 &&
                lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                k += 6;
            }
            put_utf8(b, cp);
            break;
        default: prd__buf_putc(b, e); break; /* \" \\ \/ and the unknown */
        }
    }
}
