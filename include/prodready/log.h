/*
 * prodready/log.h: structured JSON lines that never leak a secret.
 *
 *   prd_logger *log;  prd_logger_new(&log);          // stderr, level info, redaction on
 *   PRD_LOG_INFO(log, "user logged in",
 *                PRD_F_STR("user", name), PRD_F_INT("attempt", n),
 *                PRD_F_SECRET("password", pw));       // always "[REDACTED]"
 *   => {"time":"2026-11-23T08:00:00.123456Z","level":"info","msg":"user logged in",
 *       "user":"alice","attempt":2,"password":"[REDACTED]"}
 *
 * Every line is one valid JSON object whatever the input: strings are
 * escaped (quotes, backslashes, control characters including NUL as \u0000,
 * DEL, U+2028/U+2029),
 * invalid UTF-8 becomes U+FFFD, NaN and infinities become strings, and a
 * bad field never loses the line. Duplicate keys: the first occurrence wins
 * (bound fields before call-site fields); later duplicates are dropped, and
 * a field named like a reserved key (time, level, msg) is written as
 * "fields.<key>".
 *
 * Redaction is on by default and compiled once when the logger is made:
 * by key name at any depth (case-insensitive, '-', '_' and spaces ignored:
 * "API-Key" matches "apikey"), by dotted path, and by value in every string
 * including msg (bearer/basic credentials, JWT- and PASETO-shaped tokens,
 * PASERK keys, conninfo passwords, passwords in URIs, PEM private keys,
 * card numbers passing the Luhn check, our opaque tokens). docs/log.md
 * lists the rules.
 *
 * Thread safety: configure a logger (the setters) before logging with it;
 * after that prd_log and prd_log_with may be called from any number of
 * threads. Each line reaches the sink whole: the logger writes one line at
 * a time (a line longer than PIPE_BUF, or a partial write, is finished
 * before the next begins; a callback sink is never called concurrently by
 * one logger). Another process writing to the same pipe is beyond it.
 */
#ifndef PRODREADY_LOG_H
#define PRODREADY_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "prodready/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum prd_log_level {
    PRD_LOG_DEBUG = 0,
    PRD_LOG_INFO = 1,
    PRD_LOG_WARN = 2,
    PRD_LOG_ERROR = 3,
    PRD_LOG_FATAL = 4, /* logged; the library never exits */
    PRD_LOG_OFF = 5    /* as a threshold: log nothing */
} prd_log_level;

typedef enum prd_log_field_type {
    PRD_LF_STRING = 1, /* v.s, NUL-terminated (len SIZE_MAX) or len bytes */
    PRD_LF_INT = 2,    /* v.i */
    PRD_LF_UINT = 3,   /* v.u; above 2^63-1 written as a decimal string */
    PRD_LF_DOUBLE = 4, /* v.d; NaN and infinities are written as strings */
    PRD_LF_BOOL = 5,   /* v.b */
    PRD_LF_NULL = 6,
    PRD_LF_JSON = 7,   /* v.j, a jansson value, borrowed (PRD_F_JSON in prodready/jansson.h) */
    PRD_LF_STATUS = 8, /* v.st: written as {"code":N,"name":"…","msg":"…"} */
    PRD_LF_SECRET = 9, /* v.s: never written; always the censor */
    PRD_LF_JSON_TEXT = 10 /* v.s, len bytes of JSON text (len SIZE_MAX: NUL-terminated),
                             written as that JSON value and redacted by key at every
                             depth, as PRD_LF_JSON; text that is not one JSON value is
                             written as a string */
} prd_log_field_type;

/* One field. Build with the macros. Versioned by its type: a new kind of
 * value is a new prd_log_field_type using len and the 8-byte union (as
 * PRD_LF_JSON_TEXT was added), never a new member; the layout is final. */
typedef struct prd_log_field {
    const char *key;
    prd_log_field_type type;
    size_t len;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        double d;
        int b;
        struct json_t *j; /* jansson's json_t; no jansson header needed here */
        prd_status st;
    } v;
} prd_log_field;

#define PRD_F_STR(k, val) ((prd_log_field){(k), PRD_LF_STRING, SIZE_MAX, {.s = (val)}})
#define PRD_F_STRN(k, val, n) ((prd_log_field){(k), PRD_LF_STRING, (n), {.s = (val)}})
#define PRD_F_INT(k, val) ((prd_log_field){(k), PRD_LF_INT, 0, {.i = (int64_t)(val)}})
#define PRD_F_UINT(k, val) ((prd_log_field){(k), PRD_LF_UINT, 0, {.u = (uint64_t)(val)}})
#define PRD_F_DOUBLE(k, val) ((prd_log_field){(k), PRD_LF_DOUBLE, 0, {.d = (double)(val)}})
#define PRD_F_BOOL(k, val) ((prd_log_field){(k), PRD_LF_BOOL, 0, {.b = (val) ? 1 : 0}})
#define PRD_F_NULL(k) ((prd_log_field){(k), PRD_LF_NULL, 0, {.i = 0}})
#define PRD_F_JSON_TEXT(k, text, n) ((prd_log_field){(k), PRD_LF_JSON_TEXT, (n), {.s = (text)}})
#define PRD_F_STATUS(k, val) ((prd_log_field){(k), PRD_LF_STATUS, 0, {.st = (val)}})
#define PRD_F_SECRET(k, val) ((prd_log_field){(k), PRD_LF_SECRET, SIZE_MAX, {.s = (val)}})

typedef struct prd_logger prd_logger;

/* A logger writing to stderr at level info with the default redaction.
 * Errors: PRD_EINVAL, PRD_ENOMEM. */
PRD_API PRD_NODISCARD prd_status prd_logger_new(prd_logger **out);

/* Release a logger (a child releases only itself; the root flushes and
 * closes its sink when the last logger sharing it is freed). NULL is a no-op. */
PRD_API void prd_logger_free(prd_logger *lg);

/* Lines below level are dropped before any formatting. May be called at
 * any time from any thread (an atomic store: a SIGHUP handler's thread or
 * an admin endpoint can turn debug on and off). On the root it sets the
 * threshold of the root and of every child that has not set its own; on
 * a child, that child's own (a child made from it starts with it). */
PRD_API PRD_NODISCARD prd_status prd_logger_set_level(prd_logger *lg, prd_log_level level);
PRD_API int prd_logger_enabled(const prd_logger *lg, prd_log_level level);

/*
 * Sinks. A logger starts with one: stderr. The set_ functions replace
 * every sink with one; the add_ functions add one beside those there (a
 * tee, at most PRD_LOG_MAX_SINKS), each with its own threshold: a line
 * reaches a sink when its level is at least both the logger's and the
 * sink's (min_level). Every sink gets whole lines, one at a time. Sinks
 * may be changed while other threads log (a line goes to the sinks before
 * or after the change, whole).
 *
 * fd: written with one write() per line, EINTR and partial writes
 * handled; not closed by the logger. file: opened O_APPEND|O_CREAT
 * (0640), reopened by prd_logger_reopen. callback: receives each line
 * (without the newline) and its length, never concurrently with itself;
 * must not log through the same logger.
 *
 * Errors: PRD_EINVAL (bad fd, path, level or function), PRD_ETOOBIG (the
 * tee is full), PRD_ENOMEM; for files PRD_EPERM, PRD_ENOTFOUND, PRD_EIO.
 */
#define PRD_LOG_MAX_SINKS 8
PRD_API PRD_NODISCARD prd_status prd_logger_set_fd(prd_logger *lg, int fd);
PRD_API PRD_NODISCARD prd_status prd_logger_set_file(prd_logger *lg, const char *path);
typedef void (*prd_log_sink_fn)(void *user_data, const char *line, size_t len);
PRD_API PRD_NODISCARD prd_status prd_logger_set_callback(prd_logger *lg, prd_log_sink_fn fn, void *user_data);
PRD_API PRD_NODISCARD prd_status prd_logger_add_fd(prd_logger *lg, int fd, prd_log_level min_level);
PRD_API PRD_NODISCARD prd_status prd_logger_add_file(prd_logger *lg, const char *path, prd_log_level min_level);
PRD_API PRD_NODISCARD prd_status prd_logger_add_callback(prd_logger *lg, prd_log_sink_fn fn, void *user_data,
                                           prd_log_level min_level);

/*
 * syslog: each line as one RFC 5424 message over a unix datagram socket
 * (socket_path NULL: /dev/log): "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID
 * - - " and the JSON line as MSG. facility: <syslog.h>'s LOG_USER,
 * LOG_DAEMON, LOG_AUTH, LOG_LOCAL0 .. LOG_LOCAL7 (LOG_KERN is refused);
 * severity from the level (debug 7, info 6, warn 4, error 3, fatal 2);
 * TIMESTAMP the line's own time; app_name NULL: the program's name.
 *
 * journald: the native protocol over its socket (socket_path NULL:
 * /run/systemd/journal/socket): MESSAGE (the message), PRIORITY (as
 * above), SYSLOG_IDENTIFIER (identifier, NULL: the program's name) and
 * one field per top-level member of the line, the key upper-cased with
 * other characters than [A-Z0-9_] as '_' (a key journald reserves, such
 * as "message", gets a FIELDS_ prefix), strings unescaped, other values
 * as JSON text. A line too big for one datagram goes as a sealed memfd,
 * as journald's own client does.
 *
 * Both connect now (PRD_ENOTFOUND: no daemon listens there; PRD_EPERM),
 * reconnect once per line after the daemon restarts, and wait at most
 * 100 ms for room when the daemon falls behind (2 s from the async writer
 * thread): then the line counts as a write error rather than stalling the
 * caller (a syslog datagram larger than the socket allows, too).
 * Redaction happens before any sink.
 */
PRD_API PRD_NODISCARD prd_status prd_logger_add_syslog(prd_logger *lg, const char *socket_path,
                                         const char *app_name, int facility,
                                         prd_log_level min_level);
PRD_API PRD_NODISCARD prd_status prd_logger_add_journald(prd_logger *lg, const char *socket_path,
                                           const char *identifier, prd_log_level min_level);

/* Reopen every file sink (call it after logrotate moved the files).
 * Errors: PRD_EINVAL (no file sink), PRD_EIO (a file could not be
 * opened: lines go on to the old one). */
PRD_API PRD_NODISCARD prd_status prd_logger_reopen(prd_logger *lg);
/* Reopen the file sinks after each SIGHUP (logrotate's postrotate
 * "kill -HUP"): installs, once per process, a SIGHUP handler that only
 * counts signals (a handler installed before is still called); the files
 * are reopened by the next line written after a signal, never inside the
 * handler. Errors: PRD_EINVAL (no file sink), PRD_EINTERNAL (sigaction
 * failed). */
PRD_API PRD_NODISCARD prd_status prd_logger_reopen_on_sighup(prd_logger *lg);

/* Output profiles: which names the time, level and message get. */
typedef enum prd_log_profile {
    PRD_LOG_PROFILE_DEFAULT = 0, /* time, level, msg */
    PRD_LOG_PROFILE_ECS = 1,     /* @timestamp, log.level, message (Elastic Common Schema) */
    PRD_LOG_PROFILE_OTEL = 2     /* timestamp, severity_text, body; trace_id/span_id as given */
} prd_log_profile;
PRD_API PRD_NODISCARD prd_status prd_logger_set_profile(prd_logger *lg, prd_log_profile profile);

/* Redaction. mode: how a redacted value is written. */
typedef enum prd_redact_mode {
    PRD_REDACT_CENSOR = 0,     /* "[REDACTED]" */
    PRD_REDACT_REMOVE = 1,     /* the field is left out (values inside strings: censored) */
    PRD_REDACT_FINGERPRINT = 2 /* "fp:" + 16 hex of keyed BLAKE2b: equal values correlate */
} prd_redact_mode;

/* Add a key (any depth) or a dotted path ("user.address.street") to the
 * rules. Errors: PRD_EINVAL (empty or over 128 bytes), PRD_ETOOBIG, PRD_ENOMEM. */
PRD_API PRD_NODISCARD prd_status prd_logger_redact_key(prd_logger *lg, const char *key_or_path);

/*
 * Allowlist mode, which fails closed (the OpenTelemetry collector's
 * redaction processor offers the same): the first call turns it on, and
 * from then only the keys and dotted paths allowed here (and the standard
 * time/level/message names of every profile) are written in clear; every
 * other key's value is redacted, at any depth, in fields and in scrubbed
 * lines. Allowed values are still scanned for secret shapes, and a key
 * the secret rules hide stays hidden even when allowed. Errors: as
 * prd_logger_redact_key.
 */
PRD_API PRD_NODISCARD prd_status prd_logger_allow_key(prd_logger *lg, const char *key_or_path);
/*
 * A value pattern of the application's, applied like the built-in ones to
 * every string and scrubbed line (an employee id, an internal key
 * format). name: 1-32 characters of [a-z0-9_-], not a built-in rule's;
 * pattern: at most 256 bytes of this language, which never backtracks:
 *
 *   x  a character     \x  x itself (for \ [ ] { } + ? * and others)
 *   \d digit  \w [A-Za-z0-9_]  \a letter  \h hex digit  \b word boundary
 *   [a-z0-9_] a set, [^...] its complement
 *   after an atom: {n}  {m,n} (n at most 256)  + (1-256)  ? (0-1)  * (0-256)
 *
 * Repetitions are possessive (an atom takes all it can and never gives
 * back): "\w+_key" never matches; write "[a-z]+_key". A match must be
 * 4 to 1024 characters, so the scan stays linear. Example:
 * prd_logger_redact_pattern(lg, "employee_id", "\\bEMP-\\d{6}\\b").
 * Errors: PRD_EINVAL (name or pattern malformed), PRD_ECONFLICT (name
 * taken), PRD_ETOOBIG (32 patterns already), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_logger_redact_pattern(prd_logger *lg, const char *name,
                                             const char *pattern);

/*
 * How many values each rule hid since the logger was made: rule i's name
 * (borrowed, valid while the logger lives) and count, for i = 0, 1, ...
 * until PRD_ENOTFOUND. The built-in rules come first (secret_key,
 * user_key, user_path, allowlist, secret_field, auth_scheme, jwt, paseto,
 * credential_header, named_secret, provider_token, uri_password,
 * pem_private_key, card_number, opaque_token; docs/log.md), then the
 * application's patterns in the order added. A bound field of a child
 * logger counts once, when the child is made. Thread-safe. Errors:
 * PRD_EINVAL, PRD_ENOTFOUND (past the last rule).
 */
PRD_API PRD_NODISCARD prd_status prd_logger_redaction_count(const prd_logger *lg, size_t i, const char **name,
                                              uint64_t *count);

/* Fingerprints need a key (16-64 bytes); the logger copies it. */
PRD_API PRD_NODISCARD prd_status prd_logger_set_redact_mode(prd_logger *lg, prd_redact_mode mode,
                                              const prd_secret *fingerprint_key);
/* Turn redaction off (key, path and value rules; PRD_LF_SECRET fields stay
 * censored). An explicit call, so it shows up in review. */
PRD_API PRD_NODISCARD prd_status prd_logger_disable_redaction(prd_logger *lg);

/*
 * Asynchronous writing: lines go to a bounded queue (queue_lines, and
 * bytes: one preallocated ring) and a writer thread. block 0 (default
 * when async): when full, the newest line is dropped and counted, and a
 * later line reports how many; block 1: the caller waits. prd_logger_free
 * flushes. The writer puts several lines in one write(2) (on a pipe or
 * socket at most PIPE_BUF bytes, so lines of several processes sharing it
 * never tear; more on a regular file), and a busy writer wakes every
 * millisecond rather than for each line: a line waits at most about 1 ms,
 * an error-level line or a half-full queue wakes it at once. What the
 * caller pays a line: docs/performance.md (1.2 us for ten fields here,
 * against 2.1 us writing in place). Errors: PRD_EINVAL, PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_logger_set_async(prd_logger *lg, size_t queue_lines, int block);
/* The same with the queue's bytes bounded too (4 KiB .. 1 GiB; the line
 * count 1 .. 10^6): one ring of queue_bytes allocated here, nothing per
 * line after. set_async sizes it at 1 KiB a line (64 KiB .. 64 MiB). A
 * line larger than the whole ring is dropped and counted. */
PRD_API PRD_NODISCARD prd_status prd_logger_set_async_limits(prd_logger *lg, size_t queue_lines,
                                               size_t queue_bytes, int block);

/* Sampling (zap's): per message text and second, the first `first` lines
 * are written, then every `thereafter`-th. 0, 0 turns it off (default). */
PRD_API PRD_NODISCARD prd_status prd_logger_set_sampling(prd_logger *lg, uint32_t first, uint32_t thereafter);

/* Clock for timestamps (NULL: the system clock). */
PRD_API PRD_NODISCARD prd_status prd_logger_set_clock(prd_logger *lg, const prd_clock *clock);

/* Counters: lines written per level, dropped (async queue full), sampled
 * out, write errors. */
typedef enum prd_log_counter {
    PRD_LOG_COUNT_DEBUG = 0,
    PRD_LOG_COUNT_INFO = 1,
    PRD_LOG_COUNT_WARN = 2,
    PRD_LOG_COUNT_ERROR = 3,
    PRD_LOG_COUNT_FATAL = 4,
    PRD_LOG_COUNT_DROPPED = 5,
    PRD_LOG_COUNT_SAMPLED_OUT = 6,
    PRD_LOG_COUNT_WRITE_ERRORS = 7,
    PRD_LOG_COUNT_SCRUB_TEXT = 8 /* scrubbed lines that did not read as JSON from end to end */
} prd_log_counter;
PRD_API uint64_t prd_logger_count(const prd_logger *lg, prd_log_counter which);

/*
 * The logger's counters in Prometheus text exposition format, names
 * prefixed with prefix (NULL: "prodready_log_"): lines_total{level=...},
 * dropped_total, sampled_out_total, write_errors_total,
 * scrub_text_lines_total and redactions_total{rule=...} (every rule of
 * prd_logger_redaction_count, zeros included, so a rule's rate can be
 * graphed from the start). A child logger reports its root's counters.
 * Writes at most out_size bytes including the NUL and returns
 * the length of the whole text without the NUL (snprintf convention: a
 * result >= out_size means it was cut; call with out NULL and out_size 0
 * to learn the size); 0 on bad arguments or a prefix that is not letters,
 * digits, '_' and ':' (at most 64 bytes). Thread-safe: the counters are
 * read without stopping the object, so a text is consistent per sample,
 * not across samples.
 */
PRD_API size_t prd_logger_prometheus(const prd_logger *lg, const char *prefix, char *out,
                                     size_t out_size);

/*
 * Write one line: msg (static text is best: it is also the sampling key)
 * and n fields. Never fails the caller: errors are counted (write errors
 * are reported on stderr at most once a second).
 */
PRD_API void prd_log(prd_logger *lg, prd_log_level level, const char *msg,
                     const prd_log_field *fields, size_t n);

/*
 * The same with the fields as JSON text, for bindings: fields_json is len
 * bytes (len SIZE_MAX: NUL-terminated) holding one JSON object whose
 * members are the fields, in order, each written as its JSON value and
 * redacted as prd_log's fields are (by key at every depth, strings by
 * value); a repeated key keeps its last value, as most JSON readers
 * do. fields_json may be NULL
 * (no fields). Text that is not a JSON object still makes its line, with
 * the text as the string field "fields" (redacted by value), so nothing
 * is lost. Only reads fields_json.
 */
PRD_API void prd_log_json(prd_logger *lg, prd_log_level level, const char *msg,
                          const char *fields_json, size_t len);

/*
 * A child logger with bound fields, encoded (and redacted) once now and
 * written on every line after the standard ones. It shares the parent's
 * sink and settings. Errors: PRD_EINVAL, PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_log_with(prd_logger *parent, const prd_log_field *fields, size_t n,
                                prd_logger **child);

/*
 * W3C Trace Context. prd_traceparent_parse reads a traceparent header
 * value ("00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"; later
 * versions may append fields; version ff, upper-case hex and all-zero ids
 * are invalid) into trace_id (PRD_TRACE_ID_SIZE bytes, NUL-terminated),
 * span_id (PRD_SPAN_ID_SIZE) and flags; on failure they are "" and 0.
 * prd_log_with_traceparent makes a child logger carrying them: trace_id,
 * span_id, trace_flags (default and OpenTelemetry profiles) or trace.id,
 * span.id, trace.flags (ECS). Errors: PRD_EINVAL (malformed or NULL),
 * PRD_ENOMEM.
 */
#define PRD_TRACE_ID_SIZE 33 /* 32 hex digits and the NUL */
#define PRD_SPAN_ID_SIZE 17  /* 16 hex digits and the NUL */
PRD_API size_t prd_trace_id_size(void);
PRD_API size_t prd_span_id_size(void);
PRD_API PRD_NODISCARD prd_status prd_traceparent_parse(const char *traceparent, size_t len, char *trace_id,
                                         char *span_id, uint8_t *flags);
PRD_API PRD_NODISCARD prd_status prd_log_with_traceparent(prd_logger *parent, const char *traceparent,
                                            size_t len, prd_logger **child);

/*
 * Redact one line by the logger's rules: the engine of `prodready log
 * scrub`. A tolerant reader applies key and path rules wherever JSON is
 * found (objects, arrays and scalars at the top level, after a text
 * prefix such as a container runtime's or syslog's, with invalid UTF-8,
 * huge numbers or \u0000 inside, JSON escaped inside strings at any
 * depth); value patterns apply to every string and to the text around.
 * Valid JSON comes out valid JSON, byte-identical except for what was
 * redacted. Time linear in len. Lines that did not read as JSON end to
 * end are counted (PRD_LOG_COUNT_SCRUB_TEXT). *out is freed with
 * prd_free. Errors: PRD_EINVAL, PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_log_scrub_line(const prd_logger *lg, const char *line, size_t len,
                                      char **out, size_t *out_len);

/*
 * The same over a stream of lines, for what spans lines: a PEM private key
 * whose BEGIN line is followed by its body on the next lines is redacted
 * through its END line. state: caller storage, zeroed before the first
 * line (PRD_LOG_SCRUB_STATE_INIT); one per stream, not shared between
 * threads. Final. Errors: as prd_log_scrub_line.
 */
typedef struct prd_log_scrub_state {
    uint64_t opaque_[2];
} prd_log_scrub_state;
#define PRD_LOG_SCRUB_STATE_INIT {{0, 0}}
PRD_API PRD_NODISCARD prd_status prd_log_scrub_next(const prd_logger *lg, prd_log_scrub_state *state,
                                      const char *line, size_t len, char **out, size_t *out_len);

/* The end of a prd_logv field list (the macros add it). */
#define PRD_F_END ((prd_log_field){NULL, (prd_log_field_type)0, 0, {.i = 0}})

/*
 * The same as prd_log with the fields passed as arguments, ended by
 * PRD_F_END; at most 64 fields are written (the rest are ignored). The
 * macros below use it: standard C99, at least one argument always.
 */
PRD_API void prd_logv(prd_logger *lg, prd_log_level level, const char *msg, ...);

/* PRD_LOG_INFO(lg, "message", PRD_F_STR("k", v), ...): cheap when the level is off. */
#define PRD_LOG_AT_(level, lg, ...)                                                             \
    do {                                                                                      \
        if (prd_logger_enabled((lg), (level)))                                                \
            prd_logv((lg), (level), __VA_ARGS__);                                             \
    } while (0)
#define PRD_LOG_DEBUG(...) PRD_LOG_AT_(PRD_LOG_DEBUG, __VA_ARGS__, PRD_F_END)
#define PRD_LOG_INFO(...) PRD_LOG_AT_(PRD_LOG_INFO, __VA_ARGS__, PRD_F_END)
#define PRD_LOG_WARN(...) PRD_LOG_AT_(PRD_LOG_WARN, __VA_ARGS__, PRD_F_END)
#define PRD_LOG_ERROR(...) PRD_LOG_AT_(PRD_LOG_ERROR, __VA_ARGS__, PRD_F_END)

#ifdef __cplusplus
}
#endif

#endif /* PRODREADY_LOG_H */
