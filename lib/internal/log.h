/* Internal pieces of the log module, shared by lib/log_*.c. */
#ifndef PRD_INTERNAL_LOG_H
#define PRD_INTERNAL_LOG_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "prodready/log.h"

/* A growable output buffer. On allocation failure `failed` is set and
 * further appends are ignored; the line is then dropped and counted. */
struct prd__buf {
    char *p;
    size_t len, cap;
    int failed;
    int heap; /* p was allocated here (else it is the caller's buffer) */
};

void prd__buf_init(struct prd__buf *b, char *initial, size_t cap);
void prd__buf_free(struct prd__buf *b);
void prd__buf_put(struct prd__buf *b, const char *s, size_t n);
static inline void prd__buf_putc(struct prd__buf *b, char c)
{
    if (b->len < b->cap)
        b->p[b->len++] = c;
    else
        prd__buf_put(b, &c, 1);
}
void prd__buf_puts(struct prd__buf *b, const char *s);

/* Append s (n bytes) as a JSON string with quotes: escapes ", \, control
 * characters, DEL, U+2028, U+2029; invalid UTF-8 becomes U+FFFD. */
void prd__json_string(struct prd__buf *b, const char *s, size_t n);

/* Append the text of a JSON string's body (p, len: between the quotes)
 * with its escapes decoded: \u0000 becomes a NUL byte, surrogate pairs
 * one code point, raw bytes and unknown escapes pass as written. */
void prd__json_unescape(const char *p, size_t len, struct prd__buf *b);

/* Value patterns of the application's (lib/log/pattern.c). */
#define PRD__PATTERN_MAX 32
#define PRD__PATTERN_NAME_MAX 32
#define PRD__PATTERN_SRC_MAX 256
#define PRD__PATTERN_MAX_ATOMS 64
struct prd__pattern_atom {
    uint8_t set[32]; /* the bytes it takes */
    uint16_t min, max;
    uint8_t boundary; /* \b: takes nothing, needs a word boundary */
};
struct prd__pattern {
    char name[PRD__PATTERN_NAME_MAX + 1];
    struct prd__pattern_atom atoms[PRD__PATTERN_MAX_ATOMS];
    size_t n;
    uint8_t first[32]; /* the first character's set, when it has one */
    int has_first;
};
/* Compile src (the language in lib/log/pattern.c and docs/log.md).
 * Errors: PRD_EINVAL (bad name, malformed, shorter than 4 or longer than
 * 1024 characters a match). */
prd_status prd__pattern_compile(const char *name, const char *src, struct prd__pattern *out);
/* The length of p's match starting at s[i], or 0; work added to *steps. */
size_t prd__pattern_match(const struct prd__pattern *p, const char *s, size_t n, size_t i,
                          uint64_t *steps);

/* What hid a value: one counter each (prd_logger_redaction_count). */
enum prd__rule {
    PRD__RULE_NONE = 0,
    PRD__RULE_SECRET_KEY,   /* a key named like a secret */
    PRD__RULE_USER_KEY,     /* prd_logger_redact_key, a key */
    PRD__RULE_USER_PATH,    /* prd_logger_redact_key, a dotted path */
    PRD__RULE_ALLOWLIST,    /* a key the allowlist does not name */
    PRD__RULE_SECRET_FIELD, /* PRD_LF_SECRET */
    PRD__RULE_AUTH_SCHEME,  /* Bearer / Basic credentials */
    PRD__RULE_JWT,
    PRD__RULE_PASETO,       /* PASETO tokens and PASERK keys */
    PRD__RULE_HEADER,       /* Cookie:, Authorization: ... header lines */
    PRD__RULE_NAMED,        /* password=..., PGPASSWORD=..., SQL PASSWORD '...' */
    PRD__RULE_PROVIDER,     /* provider token formats */
    PRD__RULE_URI,          /* user:password@ in URIs */
    PRD__RULE_PEM,          /* PEM private keys */
    PRD__RULE_CARD,         /* card numbers (Luhn) */
    PRD__RULE_OPAQUE,       /* this library's opaque tokens */
    PRD__RULE_BUILTIN
};
const char *prd__rule_name(int rule);

/* Redaction rules, compiled once per logger. */
#define PRD__REDACT_MAX_RULES 128
#define PRD__REDACT_KEY_MAX 128
struct prd__redact {
    int enabled;
    prd_redact_mode mode;
    unsigned char fp_key[64];
    size_t fp_key_len;
    /* normalized keys (lowercase, without '-', '_', ' ') and dotted paths */
    char keys[PRD__REDACT_MAX_RULES][PRD__REDACT_KEY_MAX + 1];
    size_t n_keys;
    char paths[PRD__REDACT_MAX_RULES][PRD__REDACT_KEY_MAX + 1];
    size_t n_paths;
    /* Allowlist mode: only these keys (or dotted paths) pass in clear. */
    int allowlist;
    char allowed[PRD__REDACT_MAX_RULES][PRD__REDACT_KEY_MAX + 1];
    size_t n_allowed;
    /* Verdicts for top-level keys seen before, by a keyed hash of the
     * key: the same few field names recur on every line. Entries are
     * single atomic words, so threads share the cache without a lock. */
    _Atomic uint64_t verdicts[256];
    /* The same for names read in text ("password=..."). */
    _Atomic uint64_t name_verdicts[64];
    struct prd__pattern *patterns; /* the application's, in the order added */
    size_t n_patterns;
    /* Values hidden, by rule: built-in rules, then patterns. Counted
     * through const pointers (relaxed atomics), like the verdicts. */
    _Atomic uint64_t hits[PRD__RULE_BUILTIN + PRD__PATTERN_MAX];
};

void prd__redact_defaults(struct prd__redact *r);
prd_status prd__redact_add(struct prd__redact *r, const char *key_or_path);
/* Add a value pattern (PRD_ETOOBIG past PRD__PATTERN_MAX, PRD_ECONFLICT
 * a name taken). */
prd_status prd__redact_add_pattern(struct prd__redact *r, const char *name, const char *pattern);
/* Free what the rules allocated, and wipe them. */
void prd__redact_release(struct prd__redact *r);
/* Count one value hidden by rule (an enum prd__rule, or PRD__RULE_BUILTIN
 * + the pattern's index). */
void prd__redact_hit(const struct prd__redact *r, int rule);
/* The same, n values at once. */
void prd__redact_hits(const struct prd__redact *r, int rule, uint64_t n);
/* Allowlist mode on, and a key or dotted path it lets through. */
prd_status prd__redact_allow(struct prd__redact *r, const char *key_or_path);
/* Nonzero (the enum prd__rule that hides it) when a field with this key,
 * at this dotted path, must be redacted. */
int prd__redact_key(const struct prd__redact *r, const char *key, size_t key_len,
                    const char *path, size_t path_len);
/* Append s with value patterns replaced, as raw text; 0 (nothing
 * appended) when nothing matched. */
int prd__scrub_text(const struct prd__redact *r, struct prd__buf *out, const char *s, size_t n);
/* Scrub one line with the tolerant JSON reader (lib/log/scrub.c): key
 * and path rules wherever JSON is found, value patterns everywhere.
 * Returns 1 when the whole line read as one JSON value. */
int prd__scrub_json_line(const struct prd__redact *r, struct prd__buf *out, const char *s, size_t n);
/* 1 when the last scan on this thread left a PEM private key open (BEGIN
 * without END); reading it clears it. */
int prd__scrub_take_pem_unclosed(void);
/* 1 when name (a header or parameter name) names a credential:
 * Cookie, Authorization, ... or what the key rules hide. */
int prd__secret_header_name(const struct prd__redact *r, const char *name, size_t len);
/* The output profile a logger writes. */
prd_log_profile prd__logger_profile(const prd_logger *lg);
/* Characters the value scanner has examined on the calling thread so far. */
uint64_t prd__scrub_steps(void);
/* Append a double as JSON (NaN and infinities as strings). */
void prd__json_double(struct prd__buf *b, double d);
/* Append s as a JSON string with value patterns redacted (when enabled). */
void prd__json_string_scrubbed(const struct prd__redact *r, struct prd__buf *b, const char *s,
                               size_t n);
/* Append the redacted form of a value (censor or fingerprint of s). */
void prd__redacted_value(const struct prd__redact *r, struct prd__buf *b, const char *s, size_t n);
/* Append a json_t, redacting keys at every depth and values in strings.
 * path is the dotted path of v (for path rules). */
void prd__json_value(const struct prd__redact *r, struct prd__buf *b, json_t *v, char *path,
                     size_t path_len, size_t path_cap, int depth);

#endif
