/*
 * prodready/core.h: initialisation, version, status codes, secrets in
 * guarded memory, clocks and the encodings the other modules share.
 *
 * Every other module depends on this one. Nothing here prints or exits.
 *
 * Thread safety: every function in this header may be called from any
 * thread. prd_secret and prd_clock handles may be shared between threads
 * once created; prd_clock_manual_set/advance may race with readers safely.
 *
 * Names of constants, in every header: PRD_X_SIZE is the size of a buffer
 * the caller provides (text: NUL included), and prd_x_size() returns the
 * same number for bindings that cannot read macros. PRD_X_MAX is the
 * largest value or length an input may have (a limit, not a buffer size);
 * PRD_X_LEN(n) is a length without the NUL.
 *
 * Ownership, in every header unless a function says otherwise:
 * - An object or buffer returned through an out parameter (**out) is the
 *   caller's on PRD_OK, released with the matching _free (buffers with
 *   prd_free). On any failure *out is NULL, never a stale value, so
 *   freeing it unconditionally is safe.
 * - Pointer arguments are borrowed for the call only; what a function
 *   keeps (a footer to expect, a claim value, a key's bytes) it copies,
 *   except where a header says "borrows" (clocks, pools, stores, loggers
 *   and lists handed to a longer-lived object: they must outlive it).
 * - Strings returned as const char * are static or owned by the handle
 *   they came from, valid until it is freed.
 */
#ifndef PRODREADY_CORE_H
#define PRODREADY_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "prodready/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PRD_BUILDING_LIBRARY) && defined(__GNUC__)
#define PRD_API __attribute__((visibility("default")))
#else
#define PRD_API
#endif

/* On every function that returns prd_status: ignoring a verification's
 * answer (or any failure) is a warning with -Wall, an error with
 * -Werror=unused-result. GCC does not accept a (void) cast as an answer:
 * keep the status in a variable when dropping it is intended. */
#if defined(__GNUC__)
#define PRD_NODISCARD __attribute__((warn_unused_result))
#else
#define PRD_NODISCARD
#endif

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

/*
 * Every fallible function returns a prd_status. The numbers are part of the
 * ABI: a code is never renumbered or reused, new codes are only appended.
 *
 * "client" codes are the caller's (or the caller's user's) mistake and map
 * to HTTP 4xx; the others are system failures and map to 5xx. See
 * prd_status_is_client_error(). The phrase from prd_status_str() never
 * contains internal detail; ask the handle that failed for that.
 */
typedef enum prd_status {
    PRD_OK = 0,              /* success */
    PRD_EINVAL = 1,          /* client: invalid input or argument */
    PRD_EMISMATCH = 2,       /* client: password or value does not match */
    PRD_EEXPIRED = 3,        /* client: token or session expired */
    PRD_ENOTYET = 4,         /* client: token not valid yet */
    PRD_ELIMITED = 5,        /* client: rate limit exceeded */
    PRD_EBUSY = 6,           /* system: resource busy, try again later */
    PRD_ETIMEOUT = 7,        /* system: operation timed out */
    PRD_ENOMEM = 8,          /* system: out of memory */
    PRD_EIO = 9,             /* system: input/output error */
    PRD_EDB = 10,            /* system: database error */
    PRD_ERETRY = 11,         /* system: retries exhausted */
    PRD_ECLOSED = 12,        /* system: handle closed or shutting down */
    PRD_ETOOBIG = 13,        /* client: input exceeds a configured limit */
    PRD_ENOSPACE = 14,       /* client: output buffer too small */
    PRD_EBADTOKEN = 15,      /* client: token invalid (any crypto/format failure) */
    PRD_ENOTFOUND = 16,      /* client: no such key, session or entry */
    PRD_EPERM = 17,          /* system: permission problem (e.g. secret file too open) */
    PRD_ECONFLICT = 18,      /* client: constraint violated (duplicate, check) */
    PRD_EUNKNOWN = 19,       /* system: outcome unknown (connection lost during COMMIT) */
    PRD_EINTERNAL = 20,      /* system: internal error (a library bug or a failed dependency) */
    PRD_EUNSUPPORTED = 21    /* client: valid but unsupported algorithm or format */
} prd_status;

/* The highest status number defined by this version of the library. */
#define PRD_STATUS_MAX 21

/*
 * A fixed English phrase for a status ("invalid input"). Never NULL; an
 * unknown number gives "unknown status". The string is static.
 */
PRD_API const char *prd_status_str(prd_status status);

/*
 * A stable short identifier for a status ("EINVAL"), for logs and metrics
 * labels. Never NULL; static.
 */
PRD_API const char *prd_status_name(prd_status status);

/* 1 when the status is the caller's mistake (HTTP 4xx), 0 otherwise. */
PRD_API int prd_status_is_client_error(prd_status status);

/* ------------------------------------------------------------------ */
/* Initialisation and version                                          */
/* ------------------------------------------------------------------ */

/*
 * Initialise the library (and libsodium). Idempotent and thread-safe:
 * every module calls it on first use, so calling it yourself is only
 * needed to learn early whether the platform is usable.
 * Errors: PRD_EINTERNAL when libsodium cannot initialise (no entropy).
 */
PRD_API PRD_NODISCARD prd_status prd_init(void);

/* The library's version as "MAJOR.MINOR.PATCH"; static string. */
PRD_API const char *prd_version(void);

/* PRD_VERSION_NUMBER of the library actually loaded (may differ from the
 * header's when an application runs against a newer libprodready.so.1). */
PRD_API unsigned prd_version_number(void);

/* ------------------------------------------------------------------ */
/* Secrets                                                             */
/* ------------------------------------------------------------------ */

/*
 * A prd_secret holds key material (keys, peppers) in libsodium guarded
 * memory: guard pages around it, locked out of swap where the system
 * allows, read-only once loaded (so threads share it without locks), and
 * wiped when freed. There is no function that prints it; the modules that
 * need the bytes (token keys, peppers, fingerprints) read them directly.
 *
 * All constructors validate first and leave *out NULL on failure.
 * Errors common to all: PRD_EINVAL (NULL argument, empty or undecodable
 * value), PRD_ETOOBIG (over PRD_SECRET_MAX bytes), PRD_ENOMEM.
 */
typedef struct prd_secret prd_secret;

/* Largest secret accepted, in bytes after decoding. */
#define PRD_SECRET_MAX 4096

/* How text from an environment variable or a file is decoded. */
typedef enum prd_secret_encoding {
    PRD_SECRET_RAW = 0,       /* bytes as they are */
    PRD_SECRET_HEX = 1,       /* hexadecimal, either case */
    PRD_SECRET_BASE64URL = 2  /* base64url (RFC 4648 §5) without padding */
} prd_secret_encoding;

/* Copy len bytes from data into a new secret. The caller still owns data
 * (and should wipe it). */
PRD_API PRD_NODISCARD prd_status prd_secret_from_bytes(const void *data, size_t len, prd_secret **out);

/* Decode a NUL-terminated hex string into a new secret. */
PRD_API PRD_NODISCARD prd_status prd_secret_from_hex(const char *hex, prd_secret **out);

/* Decode a NUL-terminated unpadded base64url string into a new secret. */
PRD_API PRD_NODISCARD prd_status prd_secret_from_base64url(const char *b64, prd_secret **out);

/*
 * Read the environment variable name and decode it. A trailing newline is
 * ignored for the text encodings.
 * Errors: also PRD_ENOTFOUND when the variable is unset.
 * Thread safety: getenv() is not safe against concurrent setenv(); load
 * secrets at start-up.
 */
PRD_API PRD_NODISCARD prd_status prd_secret_from_env(const char *name, prd_secret_encoding encoding,
                                       prd_secret **out);

/*
 * Read a file and decode it. The file must be a regular file that gives
 * its group and others no permission at all (mode 0600, 0400 or 0700), as
 * ssh demands of private keys. One trailing newline is ignored for the text
 * encodings.
 * Errors: also PRD_ENOTFOUND (no such file), PRD_EPERM (group- or
 * world-accessible, or not a regular file), PRD_EIO (read error).
 */
PRD_API PRD_NODISCARD prd_status prd_secret_from_file(const char *path, prd_secret_encoding encoding,
                                        prd_secret **out);

/* Fill a new secret with len random bytes (1 .. PRD_SECRET_MAX). */
PRD_API PRD_NODISCARD prd_status prd_secret_random(size_t len, prd_secret **out);

/* Number of bytes held; 0 for NULL. */
PRD_API size_t prd_secret_len(const prd_secret *secret);

/* 1 when both secrets hold the same bytes, compared in constant time for a
 * given length; 0 otherwise or when either is NULL. */
PRD_API int prd_secret_equal(const prd_secret *a, const prd_secret *b);

/* Wipe and release a secret. NULL is a no-op. Not safe while another
 * thread still uses the same secret. */
PRD_API void prd_secret_free(prd_secret *secret);

/* ------------------------------------------------------------------ */
/* Clocks                                                              */
/* ------------------------------------------------------------------ */

/*
 * A prd_clock gives wall time (for token claims, log timestamps) and
 * monotonic time (for rate limits and timeouts), both in nanoseconds.
 * Every API that takes a clock accepts NULL for the system clock. Tests use
 * a manual clock and move it instead of sleeping.
 */
typedef struct prd_clock prd_clock;

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME for the system clock). */
PRD_API int64_t prd_clock_wall_ns(const prd_clock *clock);

/* Nanoseconds on a clock that never goes backwards (CLOCK_MONOTONIC). */
PRD_API int64_t prd_clock_mono_ns(const prd_clock *clock);

/*
 * A manual clock starting at the given wall and monotonic times. It only
 * moves when told to. Errors: PRD_EINVAL (out NULL, mono_ns negative),
 * PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_clock_manual_new(int64_t wall_ns, int64_t mono_ns, prd_clock **out);

/*
 * Move a manual clock forward (or, for wall time only, backward: wall
 * clocks do jump) by delta_ns. Monotonic time never goes back: a negative
 * delta moves the wall clock only.
 * Errors: PRD_EINVAL when clock is NULL or not a manual clock, or the move
 * would overflow.
 */
PRD_API PRD_NODISCARD prd_status prd_clock_manual_advance(prd_clock *clock, int64_t delta_ns);

/* Set a manual clock's wall time; its monotonic time is unchanged.
 * Errors: PRD_EINVAL when clock is NULL or not a manual clock. */
PRD_API PRD_NODISCARD prd_status prd_clock_manual_set_wall(prd_clock *clock, int64_t wall_ns);

/* Release a clock made by prd_clock_manual_new. NULL is a no-op. */
PRD_API void prd_clock_free(prd_clock *clock);

/* ------------------------------------------------------------------ */
/* RFC 3339 times                                                      */
/* ------------------------------------------------------------------ */

/* A buffer for any string prd_rfc3339_format writes, NUL included. */
#define PRD_RFC3339_SIZE 36
PRD_API size_t prd_rfc3339_size(void); /* PRD_RFC3339_SIZE, for FFI */

/*
 * Parse an RFC 3339 date-time ("2026-11-23T08:00:00Z",
 * "2026-11-23T09:00:00.25+01:00") of exactly len characters into
 * nanoseconds since the Unix epoch (UTC), honouring the offset. Strict:
 * four-digit year, two-digit fields in range (day within the month, leap
 * years counted), 'T', then 'Z' or a +HH:MM/-HH:MM offset, an optional
 * fraction of 1-9 digits. Lower-case 't' and 'z', which RFC 3339
 * tolerates, are refused: PASETO's claims rules require upper case, and
 * one spelling of a time leaves nothing for two parsers to disagree on. A leap second (:60) is read as :59.999999999.
 * Errors: PRD_EINVAL (malformed, or outside what int64 nanoseconds hold:
 * 1677-09-21 .. 2262-04-11).
 */
PRD_API PRD_NODISCARD prd_status prd_rfc3339_parse(const char *text, size_t len, int64_t *unix_ns);

/*
 * Format unix_ns as UTC "YYYY-MM-DDTHH:MM:SS[.fraction]Z" with frac_digits
 * (0, 3, 6 or 9) fractional digits, truncated; snprintf rules (returns the
 * length needed; 0 when frac_digits is not one of those, or within a
 * second of the int64 range's ends, which prd_rfc3339_parse could not
 * read back).
 */
PRD_API size_t prd_rfc3339_format(int64_t unix_ns, int frac_digits, char *out, size_t out_size);

/* ------------------------------------------------------------------ */
/* Memory returned by the library                                      */
/* ------------------------------------------------------------------ */

/* Release a buffer the library allocated for the caller (a token string,
 * a decoded payload). NULL is a no-op. The memory is wiped first. */
PRD_API void prd_free(void *p);

/* ------------------------------------------------------------------ */
/* Encodings                                                           */
/* ------------------------------------------------------------------ */

/*
 * Encoders follow snprintf: they return the length the full output needs
 * (without the terminating NUL) and write it, NUL-terminated, only when
 * out_size is larger than that; otherwise they write an empty string (when
 * out_size > 0) and nothing else. A NULL out with out_size 0 asks for the
 * length.
 */
#define PRD_HEX_LEN(n) ((n) * 2)
#define PRD_BASE64URL_LEN(n) (((n) / 3) * 4 + (((n) % 3) ? ((n) % 3) + 1 : 0))
/* Buffers for them, NUL included (for FFI: call the encoder with NULL, 0). */
#define PRD_HEX_SIZE(n) (PRD_HEX_LEN(n) + 1)
#define PRD_BASE64URL_SIZE(n) (PRD_BASE64URL_LEN(n) + 1)

/* Lower-case hex of len bytes. */
PRD_API size_t prd_hex_encode(char *out, size_t out_size, const void *data, size_t len);

/* Unpadded base64url of len bytes. */
PRD_API size_t prd_base64url_encode(char *out, size_t out_size, const void *data, size_t len);

/*
 * Decode text_len characters of hex (either case) into out. *out_len gets
 * the decoded length. Strict: an odd length or any other character is
 * PRD_EINVAL. PRD_ENOSPACE when out_cap is too small (nothing useful is
 * left in out). out_len may be NULL.
 */
PRD_API PRD_NODISCARD prd_status prd_hex_decode(void *out, size_t out_cap, size_t *out_len,
                                  const char *text, size_t text_len);

/*
 * Decode unpadded base64url. Strict and canonical: padding, whitespace,
 * characters of the standard alphabet ('+', '/'), an impossible length and
 * non-zero unused bits in the last character are all PRD_EINVAL, so every
 * byte string has exactly one accepted encoding. PRD_ENOSPACE as above.
 */
PRD_API PRD_NODISCARD prd_status prd_base64url_decode(void *out, size_t out_cap, size_t *out_len,
                                        const char *text, size_t text_len);

/* Constant-time comparison of len bytes: 1 when equal, 0 otherwise. */
PRD_API int prd_memeq(const void *a, const void *b, size_t len);

/* Wipe len bytes so the compiler cannot drop the write. NULL is a no-op. */
PRD_API void prd_memzero(void *p, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PRODREADY_CORE_H */
