/*
 * The tolerant JSON reader behind `prodready log scrub`: key and path
 * rules apply wherever JSON is found in a line, whether or not a strict
 * parser would take the line. jansson rejects a whole line for one
 * Latin-1 byte, an integer above 2^64, a \u0000 or a container runtime's
 * prefix, and a key-blind text scrub let {"secret_key":"hunter2"} through.
 *
 * One pass, no tree: values are copied through verbatim (whitespace,
 * numbers, escapes and all) except where a rule hides them or a string's
 * decoded text holds a secret, so valid JSON comes out valid and
 * otherwise byte-identical. Where the structure stops making sense the
 * reader goes on from that point as text; no character is read twice,
 * so the time is linear in the line.
 */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/log.h"

#include <string.h>

#define MAX_DEPTH 64
#define PATH_MAX_LEN 512

struct reader {
    const struct prd__redact *r;
    struct prd__buf *out;
    const char *s;
    size_t n, i;
    int emit; /* 0 while skipping a hidden value */
    int secret_next; /* the string just read names a credential ("Cookie") */
    int pair_name_secret; /* this object's "name" member named a credential */
    char path[PATH_MAX_LEN + 1];
    size_t path_len;
};

static void put(struct reader *x, const char *p, size_t len)
{
    if (x->emit)
        prd__buf_put(x->out, p, len);
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void copy_ws(struct reader *x)
{
    size_t k = x->i;
    while (k < x->n && is_ws(x->s[k]))
        k++;
    put(x, x->s + x->i, k - x->i);
    x->i = k;
}

/* The raw extent of a string at x->i (which is '"'): [i+1, end). 0 when
 * it is not closed on this line. */
static int string_extent(const struct reader *x, size_t *end)
{
    size_t k = x->i + 1;
    while (k < x->n && x->s[k] != '"')
        k += x->s[k] == '\\' && k + 1 < x->n ? 2 : 1;
    if (k >= x->n)
        return 0;
    *end = k;
    return 1;
}

static int looks_like_json(const char *p, size_t n)
{
    size_t k = 0;
    while (k < n && is_ws(p[k]))
        k++;
    return k < n && (p[k] == '{' || p[k] == '[');
}

static int scrub_line(const struct prd__redact *r, struct prd__buf *out, const char *s, size_t n,
                      int depth);

/* A string value: copied verbatim unless its decoded text holds a secret
 * (or, when it is itself JSON, a secret under a key), then re-encoded. */
static void string_value(struct reader *x, size_t start, size_t end, int depth)
{
    x->secret_next = 0;
    if (!x->emit)
        return;
    char stack[512];
    struct prd__buf dec, fixed;
    prd__buf_init(&dec, stack, sizeof stack);
    prd__json_unescape(x->s + start, end - start, &dec);
    prd__buf_init(&fixed, NULL, 0);
    int changed;
    if (depth < MAX_DEPTH && looks_like_json(dec.p, dec.len)) {
        /* Escaped JSON inside a string, at any depth of escaping. */
        scrub_line(x->r, &fixed, dec.p, dec.len, depth + 1);
        changed = fixed.len != dec.len || memcmp(fixed.p, dec.p, dec.len) != 0;
    } else {
        changed = prd__scrub_text(x->r, &fixed, dec.p, dec.len);
    }
    /* A header-pair array ["Cookie", "…"] or {"name":"Cookie","value":"…"}:
     * the next value is the credential. */
    x->secret_next = !dec.failed && dec.len <= 64 && prd__secret_header_name(x->r, dec.p, dec.len);
    if (dec.failed || fixed.failed)
        prd__buf_puts(x->out, "\"[REDACTED]\""); /* out of memory: hide it all */
    else if (changed)
        prd__json_string(x->out, fixed.p, fixed.len);
    else
        prd__buf_put(x->out, x->s + start - 1, end - start + 2);
    prd__buf_free(&dec);
    prd__buf_free(&fixed);
}

static int value(struct reader *x, int depth);

/* Read a value without writing it, then write its redacted form. */
static int hidden_value(struct reader *x, int depth, int write)
{
    int was = x->emit;
    size_t vstart = x->i;
    x->emit = 0;
    int ok = value(x, depth);
    x->emit = was;
    if (ok && write && was) {
        /* The value's text, for a fingerprint (a string's without quotes). */
        size_t va = vstart, vb = x->i;
        if (vb - va >= 2 && x->s[va] == '"')
            va++, vb--;
        prd__redacted_value(x->r, x->out, x->s + va, vb - va);
    }
    return ok;
}

static void path_push(struct reader *x, const char *key, size_t klen, size_t *saved)
{
    *saved = x->path_len;
    size_t need = x->path_len + (x->path_len ? 1 : 0) + klen;
    if (need > PATH_MAX_LEN)
        return; /* too deep to name: the key alone still matches */
    if (x->path_len)
        x->path[x->path_len++] = '.';
    memcpy(x->path + x->path_len, key, klen);
    x->path_len += klen;
    x->path[x->path_len] = '\0';
}

static int key_is(const struct reader *x, size_t start, size_t end, const char *word)
{
    size_t w = strlen(word);
    return end - start == w && memcmp(x->s + start, word, w) == 0;
}

static int object_body(struct reader *x, int depth);

/* One member of an object: 0 where the structure breaks, 1 written, 2
 * left out (a hidden key under PRD_REDACT_REMOVE). */
static int member(struct reader *x, int depth)
{
    size_t kend;
    if (x->i >= x->n || x->s[x->i] != '"' || !string_extent(x, &kend))
        return 0;
    size_t kstart = x->i + 1;
    char kstack[256];
    struct prd__buf key;
    prd__buf_init(&key, kstack, sizeof kstack);
    prd__json_unescape(x->s + kstart, kend - kstart, &key);
    size_t saved;
    path_push(x, key.p, key.len, &saved);
    /* A key that could not be read (out of memory) hides its value. */
    int hide = key.failed ? PRD__RULE_SECRET_KEY
                          : prd__redact_key(x->r, key.p, key.len, x->path, x->path_len);
    prd__redact_hit(x->r, hide);
    prd__buf_free(&key);
    int remove = hide && x->r->mode == PRD_REDACT_REMOVE;
    put(x, x->s + x->i, kend + 1 - x->i); /* the key as written */
    x->i = kend + 1;
    copy_ws(x);
    int ok = x->i < x->n && x->s[x->i] == ':';
    if (ok) {
        put(x, ":", 1);
        x->i++;
        copy_ws(x);
        /* {"name":"Cookie","value":"…"}: a credential's value by its name. */
        if (!hide && x->pair_name_secret && key_is(x, kstart, kend, "value")) {
            hide = PRD__RULE_HEADER;
            prd__redact_hit(x->r, hide);
        }
        ok = hide ? hidden_value(x, depth + 1, !remove) : value(x, depth + 1);
        if (ok && (key_is(x, kstart, kend, "name") || key_is(x, kstart, kend, "key")))
            x->pair_name_secret = x->secret_next;
    }
    x->path_len = saved;
    x->path[saved] = '\0';
    return !ok ? 0 : remove ? 2 : 1;
}

static int object(struct reader *x, int depth)
{
    int outer_pair = x->pair_name_secret;
    x->pair_name_secret = 0;
    int ok = object_body(x, depth);
    x->pair_name_secret = outer_pair;
    return ok;
}

static int object_body(struct reader *x, int depth)
{
    put(x, "{", 1);
    x->i++;
    copy_ws(x);
    int kept = 0, first = 1;
    for (;;) {
        if (x->i < x->n && x->s[x->i] == '}') {
            put(x, "}", 1);
            x->i++;
            return 1;
        }
        size_t mark = x->out->len; /* before this member and its comma */
        if (!first) {
            if (x->i >= x->n || x->s[x->i] != ',')
                return 0;
            put(x, ",", 1);
            x->i++;
            copy_ws(x);
            if (!kept && x->emit)
                x->out->len = mark; /* no kept member before it: no comma */
        }
        int m = member(x, depth);
        if (m == 0)
            return 0;
        if (m == 2 && x->emit)
            x->out->len = mark; /* the member goes, with the comma before it */
        else
            kept = 1;
        first = 0;
        copy_ws(x);
    }
}

static int array(struct reader *x, int depth)
{
    put(x, "[", 1);
    x->i++;
    copy_ws(x);
    if (x->i < x->n && x->s[x->i] == ']') {
        put(x, "]", 1);
        x->i++;
        return 1;
    }
    int first_string = 0;
    for (size_t k = 0;; k++) {
        /* ["Cookie", "…"]: the second element is the credential. */
        int secret = k == 1 && first_string && x->secret_next;
        if (k == 0)
            first_string = x->i < x->n && x->s[x->i] == '"';
        x->secret_next = 0;
        if (secret)
            prd__redact_hit(x->r, PRD__RULE_HEADER);
        if (!(secret ? hidden_value(x, depth + 1, 1) : value(x, depth + 1)))
            return 0;
        if (k != 0)
            x->secret_next = 0;
        copy_ws(x);
        if (x->i < x->n && x->s[x->i] == ']') {
            put(x, "]", 1);
            x->i++;
            return 1;
        }
        if (x->i >= x->n || x->s[x->i] != ',')
            return 0;
        put(x, ",", 1);
        x->i++;
        copy_ws(x);
    }
}

static int is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static int literal(struct reader *x, const char *word)
{
    size_t w = strlen(word);
    if (x->i + w > x->n || memcmp(x->s + x->i, word, w) != 0)
        return 0;
    put(x, word, w);
    x->i += w;
    return 1;
}

static int value(struct reader *x, int depth)
{
    if (depth > MAX_DEPTH || x->i >= x->n)
        return 0;
    char c = x->s[x->i];
    if (c == '{')
        return object(x, depth);
    if (c == '[')
        return array(x, depth);
    if (c == '"') {
        size_t end;
        if (!string_extent(x, &end))
            return 0;
        string_value(x, x->i + 1, end, depth);
        x->i = end + 1;
        return 1;
    }
    if ((c >= '0' && c <= '9') || c == '-') {
        size_t k = x->i;
        while (k < x->n && is_number_char(x->s[k]))
            k++;
        /* Any size, copied as written; a card number written as a number
         * becomes a string, so the line stays JSON. */
        if (x->emit) {
            struct prd__buf t;
            char ts[64];
            prd__buf_init(&t, ts, sizeof ts);
            if (prd__scrub_text(x->r, &t, x->s + x->i, k - x->i))
                prd__json_string(x->out, t.p, t.len);
            else
                prd__buf_put(x->out, x->s + x->i, k - x->i);
            prd__buf_free(&t);
        }
        x->i = k;
        return 1;
    }
    return literal(x, "true") || literal(x, "false") || literal(x, "null");
}

/* Text up to the next place JSON may start, scrubbed as text. */
static void text(const struct prd__redact *r, struct prd__buf *out, const char *s, size_t n)
{
    if (n && !prd__scrub_text(r, out, s, n))
        prd__buf_put(out, s, n);
}

/* Returns 1 when the whole line read as JSON (a value, with only
 * whitespace around it). */
static int scrub_line(const struct prd__redact *r, struct prd__buf *out, const char *s, size_t n,
                      int depth)
{
    struct reader x = {r, out, s, n, 0, 1, 0, 0, "", 0};
    int whole = 1, any = 0;
    size_t lead = 0;
    /* JSON's four whitespace characters, as copy_ws reads them: a scalar
     * after a newline is still a lone scalar. */
    while (lead < n && is_ws(s[lead]))
        lead++;
    /* A line that is one JSON scalar (a string, a number, a literal). */
    if (lead < n && s[lead] != '{' && s[lead] != '[') {
        x.i = lead;
        size_t mark = out->len;
        prd__buf_put(out, s, lead);
        if (value(&x, depth)) {
            copy_ws(&x);
            if (x.i == n)
                return 1;
        }
        out->len = mark; /* not a lone scalar: read it as text with JSON inside */
        x.i = 0;
    }
    while (x.i < n) {
        size_t j = x.i;
        while (j < n && s[j] != '{' && s[j] != '[')
            j++;
        if (j > x.i)
            whole = 0;
        text(r, out, s + x.i, j - x.i);
        x.i = j;
        if (j == n)
            break;
        size_t start = x.i;
        if (value(&x, depth)) {
            any = 1;
            copy_ws(&x);
            continue;
        }
        whole = 0;
        /* The structure broke at x.i: what was read keeps its redactions,
         * the rest of the line goes on from there. */
        if (x.i == start) {
            text(r, out, s + x.i, 1);
            x.i++;
        }
    }
    return whole && any;
}

int prd__scrub_json_line(const struct prd__redact *r, struct prd__buf *out, const char *s, size_t n)
{
    return scrub_line(r, out, s, n, 0);
}
