/*
 * Value patterns an application adds to redaction (prd_logger_redact_pattern):
 * a small language, compiled to a list of atoms and matched without
 * backtracking, so that no pattern can make the scanner super-linear.
 *
 *   x        the character x (any byte but the ones below)
 *   \x       x itself, for  \ [ ] { } + ? *  and the others
 *   \d \w    a digit; a word character [A-Za-z0-9_]
 *   \a \h    a letter; a hex digit
 *   [...]    one of a set: characters and ranges a-z, ^ first negates
 *   \b       a word boundary (matches no character)
 *   {n} {m,n} + ? *   after an atom: n; m to n; 1-256; 0-1; 0-256 times
 *
 * Repetitions are possessive: an atom takes as many characters as it can
 * (up to its maximum) and never gives any back, so a match attempt costs
 * at most the pattern's maximum length, and a string of n characters at
 * most n times that. A pattern must match at least 4 characters, and at
 * most 1024.
 */
#include "internal/common.h"
#include "internal/log.h"

#include <string.h>

#define UNBOUNDED 256
#define MAX_TOTAL 1024
#define MIN_TOTAL 4

static void set_add(uint8_t *set, unsigned c)
{
    set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static int set_has(const uint8_t *set, unsigned char c)
{
    return set[c >> 3] >> (c & 7) & 1;
}

static void set_range(uint8_t *set, unsigned lo, unsigned hi)
{
    for (unsigned c = lo; c <= hi; c++)
        set_add(set, c);
}

static int is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A shorthand class (\d \w \a \h) into set; 0 when c is not one. */
static int shorthand(char c, uint8_t *set)
{
    switch (c) {
    case 'd': set_range(set, '0', '9'); return 1;
    case 'w': set_range(set, 'a', 'z'); set_range(set, 'A', 'Z'); set_range(set, '0', '9');
              set_add(set, '_'); return 1;
    case 'a': set_range(set, 'a', 'z'); set_range(set, 'A', 'Z'); return 1;
    case 'h': set_range(set, '0', '9'); set_range(set, 'a', 'f'); set_range(set, 'A', 'F');
              return 1;
    default: return 0;
    }
}

/* [...] at *p (past the '['): 0 on a malformed set. */
static int parse_set(const char **p, uint8_t *set)
{
    const char *s = *p;
    int negate = *s == '^';
    uint8_t tmp[32] = {0};
    if (negate)
        s++;
    int any = 0;
    while (*s && (*s != ']' || !any)) {
        unsigned lo = (unsigned char)*s++;
        if (lo == '\\') {
            if (!*s)
                return 0;
            if (shorthand(*s, tmp)) {
                s++;
                any = 1;
                continue;
            }
            lo = (unsigned char)*s++;
        }
        unsigned hi = lo;
        if (s[0] == '-' && s[1] && s[1] != ']') {
            hi = (unsigned char)s[1];
            s += 2;
            if (hi == '\\') {
                if (!*s)
                    return 0;
                hi = (unsigned char)*s++;
            }
            if (hi < lo)
                return 0;
        }
        set_range(tmp, lo, hi);
        any = 1;
    }
    if (*s != ']')
        return 0;
    for (int i = 0; i < 32; i++)
        set[i] = negate ? (uint8_t)~tmp[i] : tmp[i];
    *p = s + 1;
    return 1;
}

static int parse_count(const char **p, unsigned *v)
{
    const char *s = *p;
    unsigned n = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 5) {
        n = n * 10 + (unsigned)(*s++ - '0');
        digits++;
    }
    if (!digits)
        return 0;
    *v = n;
    *p = s;
    return 1;
}

/* A repetition after an atom, if any: 0 on a malformed one. */
static int parse_repeat(const char **p, struct prd__pattern_atom *a)
{
    const char *s = *p;
    unsigned lo = 1, hi = 1;
    if (*s == '+') {
        hi = UNBOUNDED;
        s++;
    } else if (*s == '?') {
        lo = 0;
        s++;
    } else if (*s == '*') {
        lo = 0;
        hi = UNBOUNDED;
        s++;
    } else if (*s == '{') {
        s++;
        if (!parse_count(&s, &lo))
            return 0;
        hi = lo;
        if (*s == ',') {
            s++;
            if (!parse_count(&s, &hi))
                return 0;
        }
        if (*s++ != '}' || hi < lo || hi == 0 || hi > UNBOUNDED)
            return 0;
    }
    a->min = (uint16_t)lo;
    a->max = (uint16_t)hi;
    *p = s;
    return 1;
}

static int name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > PRD__PATTERN_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

prd_status prd__pattern_compile(const char *name, const char *src, struct prd__pattern *out)
{
    memset(out, 0, sizeof *out);
    if (!name_ok(name) || !src || !*src || strlen(src) > PRD__PATTERN_SRC_MAX)
        return PRD_EINVAL;
    memcpy(out->name, name, strlen(name) + 1);
    unsigned total_min = 0, total_max = 0;
    const char *s = src;
    while (*s) {
        if (out->n == PRD__PATTERN_MAX_ATOMS)
            return PRD_EINVAL;
        struct prd__pattern_atom *a = &out->atoms[out->n];
        char c = *s++;
        if (c == '\\') {
            if (!*s)
                return PRD_EINVAL;
            char e = *s++;
            if (e == 'b') {
                a->boundary = 1;
                out->n++;
                continue;
            }
            if (!shorthand(e, a->set))
                set_add(a->set, (unsigned char)e);
        } else if (c == '[') {
            if (!parse_set(&s, a->set))
                return PRD_EINVAL;
        } else if (strchr("]{}+?*", c)) {
            return PRD_EINVAL; /* a repetition with nothing before it */
        } else {
            set_add(a->set, (unsigned char)c);
        }
        if (!parse_repeat(&s, a))
            return PRD_EINVAL;
        total_min += a->min;
        total_max += a->max;
        out->n++;
    }
    if (total_min < MIN_TOTAL || total_max > MAX_TOTAL)
        return PRD_EINVAL;
    /* The first character's set, to skip positions cheaply. */
    for (size_t i = 0; i < out->n; i++) {
        if (out->atoms[i].boundary)
            continue;
        if (out->atoms[i].min > 0) {
            memcpy(out->first, out->atoms[i].set, sizeof out->first);
            out->has_first = 1;
        }
        break;
    }
    return PRD_OK;
}

size_t prd__pattern_match(const struct prd__pattern *p, const char *s, size_t n, size_t i,
                          uint64_t *steps)
{
    if (p->has_first && (i >= n || !set_has(p->first, (unsigned char)s[i])))
        return 0;
    size_t k = i;
    for (size_t a = 0; a < p->n; a++) {
        const struct prd__pattern_atom *at = &p->atoms[a];
        if (at->boundary) {
            int before = k > 0 && is_word((unsigned char)s[k - 1]);
            int after = k < n && is_word((unsigned char)s[k]);
            if (before == after)
                return 0;
            continue;
        }
        unsigned got = 0;
        while (got < at->max && k < n && set_has(at->set, (unsigned char)s[k])) {
            got++;
            k++;
        }
        *steps += got + 1;
        if (got < at->min)
            return 0;
    }
    return k - i;
}
