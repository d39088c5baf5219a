/*
 * prodready/token.h: PASETO v4 keys and PASERK serialisation.
 *
 * Keys: a v4 key is one of three kinds. A local key (32 bytes) both
 * encrypts and decrypts v4.local tokens; a secret key (Ed25519, stored as
 * the 32-byte seed followed by the 32-byte public key, libsodium's layout)
 * signs v4.public tokens; a public key (32 bytes) verifies them. Key
 * material lives in guarded memory (prd_secret) and is wiped on free.
 *
 * PASERK (https://github.com/paseto-standard/paserk) is the text form:
 * "k4.local.<b64>", "k4.secret.<b64>", "k4.public.<b64>", and the key
 * identifiers "k4.lid.", "k4.sid.", "k4.pid." that token footers carry.
 *
 * Tokens: PASETO v4 (https://github.com/paseto-standard/paseto-spec).
 * v4.local is encrypted and authenticated with a shared key (XChaCha20 +
 * keyed BLAKE2b); v4.public is signed (Ed25519) and readable by anyone.
 * The claim layer on top makes an expiry mandatory when issuing and checks
 * exp, nbf, iss, aud and required claims when verifying.
 *
 * Thread safety: a prd_token_key is immutable once made and may be shared
 * between threads. A prd_keyring may be changed (keys added, removed, made
 * current) while other threads issue and verify with it. A prd_token_claims
 * belongs to one thread at a time. A prd_token_verifier is configured
 * first and then shared; prd_token_verify may run on it concurrently.
 */
#ifndef PRODREADY_TOKEN_H
#define PRODREADY_TOKEN_H

#include <stddef.h>
#include <stdint.h>


#include "prodready/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum prd_key_kind {
    PRD_KEY_LOCAL = 1,  /* 32-byte symmetric key for v4.local */
    PRD_KEY_PUBLIC = 2, /* 32-byte Ed25519 public key for v4.public verification */
    PRD_KEY_SECRET = 3  /* 64-byte Ed25519 secret key (seed || public) for signing */
} prd_key_kind;

typedef struct prd_token_key prd_token_key;

/* Buffers that hold any PASERK this library writes ("k4.secret." + 86
 * characters) and any key id ("k4.sid." + 44), NUL included
 * (prd_paserk_size() and prd_paserk_id_size() for FFI). */
#define PRD_PASERK_SIZE 97
#define PRD_PASERK_ID_SIZE 52
PRD_API size_t prd_paserk_size(void);
PRD_API size_t prd_paserk_id_size(void);

/*
 * Generate a new random key: kind PRD_KEY_LOCAL or PRD_KEY_SECRET (derive
 * the public half with prd_token_key_public). *out is the caller's, freed
 * with prd_token_key_free.
 * Errors: PRD_EINVAL (out NULL, kind PRD_KEY_PUBLIC or unknown), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_key_generate(prd_key_kind kind, prd_token_key **out);

/*
 * Parse a PASERK "k4.local.…", "k4.public.…" or "k4.secret.…" (NUL-
 * terminated). Strict: another version or type, a wrong length, non-
 * canonical base64url, or a secret key whose public half does not match
 * its seed are PRD_EINVAL.
 */
PRD_API PRD_NODISCARD prd_status prd_token_key_from_paserk(const char *paserk, prd_token_key **out);

/*
 * Make a key of the given kind from hex: 64 hex digits for a local or
 * public key, 128 (seed || public key) for a secret key.
 * Errors: PRD_EINVAL (wrong length, not hex, mismatched secret key), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_key_from_hex(prd_key_kind kind, const char *hex, prd_token_key **out);

/*
 * Make a key from raw bytes: 32 for local or public, 32 (a seed) or 64
 * (seed || public key) for secret. The caller keeps and should wipe bytes.
 */
PRD_API PRD_NODISCARD prd_status prd_token_key_from_bytes(prd_key_kind kind, const void *bytes, size_t len,
                                            prd_token_key **out);

/*
 * The public key of a secret key (a new handle), or a copy of a public key.
 * Errors: PRD_EINVAL (NULL, or a local key), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_key_public(const prd_token_key *key, prd_token_key **out);

/* The key's kind; 0 for NULL. */
PRD_API prd_key_kind prd_token_key_kind(const prd_token_key *key);

/*
 * Write the key's PASERK (snprintf rules, see core.h); returns the length
 * needed, 0 for NULL. The output of a local or secret key is secret: wipe
 * it (prd_memzero) when done.
 */
PRD_API size_t prd_token_key_paserk(const prd_token_key *key, char *out, size_t out_size);

/*
 * Write the key's PASERK identifier: k4.lid for a local key, k4.sid for a
 * secret key, k4.pid for a public key. Not secret. Returns the length
 * needed (snprintf rules), 0 for NULL.
 */
PRD_API size_t prd_token_key_id(const prd_token_key *key, char *out, size_t out_size);

/* Wipe and release a key. NULL is a no-op. */
PRD_API void prd_token_key_free(prd_token_key *key);

/* ------------------------------------------------------------------ */
/* Raw PASETO v4                                                       */
/* ------------------------------------------------------------------ */

/*
 * The raw protocol, without claims: any payload bytes, an optional footer
 * (bytes, sent in clear but authenticated) and an optional implicit
 * assertion (authenticated, never sent). For claims with mandatory expiry,
 * use prd_token_issue / prd_token_verify below.
 *
 * Token strings are returned in *out (NUL-terminated, freed with
 * prd_free). Decoded payloads and footers likewise (NUL-terminated as a
 * convenience; lengths are given). Empty footer/implicit: NULL, 0.
 */

/* Default and absolute maximum size of a token string we look at. */
#define PRD_TOKEN_DEFAULT_MAX_LEN 8192
#define PRD_TOKEN_ABSOLUTE_MAX_LEN (1024 * 1024)

typedef enum prd_token_purpose {
    PRD_TOKEN_LOCAL = 1, /* v4.local */
    PRD_TOKEN_PUBLIC = 2 /* v4.public */
} prd_token_purpose;

/*
 * Encrypt (v4.local, key kind LOCAL) or sign (v4.public, key kind SECRET).
 * Errors: PRD_EINVAL (NULL, wrong key kind), PRD_ETOOBIG (the token would
 * exceed PRD_TOKEN_ABSOLUTE_MAX_LEN), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_v4_encrypt(const prd_token_key *key, const void *payload,
                                        size_t payload_len, const void *footer, size_t footer_len,
                                        const void *implicit, size_t implicit_len, char **out);
PRD_API PRD_NODISCARD prd_status prd_token_v4_sign(const prd_token_key *key, const void *payload,
                                     size_t payload_len, const void *footer, size_t footer_len,
                                     const void *implicit, size_t implicit_len, char **out);

/*
 * Decrypt a v4.local token (key kind LOCAL) or verify a v4.public token
 * (key kind PUBLIC or SECRET) of token_len bytes. When expect_footer is
 * not NULL the token's footer must equal it (constant-time); otherwise any
 * footer is accepted and returned in *footer_out (may be NULL). Sizes over
 * max_size (0 = PRD_TOKEN_DEFAULT_MAX_LEN) are refused before any
 * decoding or cryptography.
 * Returns PRD_OK, or PRD_EBADTOKEN for every kind of rejection (wrong
 * header or purpose, bad encoding, wrong footer, failed authentication),
 * with a static phrase in *why (may be NULL) for logs — never for users.
 * Errors: PRD_EINVAL (NULL arguments, wrong key kind), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_v4_decrypt(const prd_token_key *key, const char *token,
                                        size_t token_len, const void *expect_footer,
                                        size_t expect_footer_len, const void *implicit,
                                        size_t implicit_len, size_t max_size,
                                        unsigned char **payload_out, size_t *payload_len,
                                        unsigned char **footer_out, size_t *footer_len,
                                        const char **why);
PRD_API PRD_NODISCARD prd_status prd_token_v4_verify_signed(const prd_token_key *key, const char *token,
                                              size_t token_len, const void *expect_footer,
                                              size_t expect_footer_len, const void *implicit,
                                              size_t implicit_len, size_t max_size,
                                              unsigned char **payload_out, size_t *payload_len,
                                              unsigned char **footer_out, size_t *footer_len,
                                              const char **why);

/* ------------------------------------------------------------------ */
/* Key rings: rotation without a flag day                              */
/* ------------------------------------------------------------------ */

/*
 * A key ring holds up to PRD_KEYRING_MAX keys. For each purpose one key is
 * current: new tokens are made with it and carry its PASERK id in the
 * footer ({"kid":"k4.lid…"} for local, {"kid":"k4.pid…"} for public).
 * Verification picks the key by that id; a token without a known id is
 * tried with the only key of its purpose when the ring holds exactly one,
 * and rejected otherwise. Retired keys verify until removed.
 */
typedef struct prd_keyring prd_keyring;

#define PRD_KEYRING_MAX 16

/* Errors: PRD_EINVAL (out NULL), PRD_ENOMEM. */
PRD_API PRD_NODISCARD prd_status prd_keyring_new(prd_keyring **out);

/* Release a ring; NULL is a no-op. No call may be using it. */
PRD_API void prd_keyring_free(prd_keyring *ring);

/*
 * Add a copy of key (the caller keeps and frees theirs). A local key
 * serves v4.local; a secret key signs and verifies v4.public; a public key
 * only verifies. make_current: issue with it from now on (a local or
 * secret key only). Errors: PRD_EINVAL (NULL, a public key made current,
 * the same key id already present), PRD_ETOOBIG (ring full), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_keyring_add(prd_keyring *ring, const prd_token_key *key, int make_current);

/* Make the key with this id (k4.lid/k4.pid/k4.sid) current.
 * Errors: PRD_EINVAL, PRD_ENOTFOUND. */
PRD_API PRD_NODISCARD prd_status prd_keyring_set_current(prd_keyring *ring, const char *kid);

/* Remove the key with this id; tokens made with it stop verifying.
 * Removing the current key leaves the purpose without one (issuing then
 * fails) until another is made current. Errors: PRD_EINVAL, PRD_ENOTFOUND. */
PRD_API PRD_NODISCARD prd_status prd_keyring_remove(prd_keyring *ring, const char *kid);

/* Number of keys in the ring; 0 for NULL. */
PRD_API size_t prd_keyring_count(const prd_keyring *ring);

/* ------------------------------------------------------------------ */
/* Claims and issuing                                                  */
/* ------------------------------------------------------------------ */

/*
 * A claims builder. iat (now) and jti (128 random bits, base64url) are
 * set when the token is issued; exp comes from set_ttl or set_expiry and
 * is mandatory: issuing without one is PRD_EINVAL. Times are written as
 * RFC 3339 UTC strings, as PASETO's registered claims are.
 */
typedef struct prd_token_claims prd_token_claims;

PRD_API PRD_NODISCARD prd_status prd_token_claims_new(prd_token_claims **out);
PRD_API void prd_token_claims_free(prd_token_claims *claims);

/* Expire ttl_ms milliseconds after issuing (1 ms .. 10 years). */
PRD_API PRD_NODISCARD prd_status prd_token_claims_set_ttl(prd_token_claims *claims, int64_t ttl_ms);
/* Expire at a fixed time (Unix nanoseconds); issuing refuses it
 * (PRD_EINVAL) unless it is after the issue time and at most 10 years
 * after it, set_ttl's ceiling. */
PRD_API PRD_NODISCARD prd_status prd_token_claims_set_expiry(prd_token_claims *claims, int64_t unix_ns);
/* Not valid before (Unix nanoseconds). */
PRD_API PRD_NODISCARD prd_status prd_token_claims_set_not_before(prd_token_claims *claims, int64_t unix_ns);

/*
 * Set a claim. name: 1-64 bytes; "exp", "nbf" and "iat" are refused (use
 * the setters above), everything else (iss, sub, aud, jti, custom) is
 * accepted. A value replaces an earlier one; a string must be valid
 * UTF-8. set_json_text: any JSON value as len bytes of text (an object,
 * an array, a number, ...), parsed and copied; duplicate keys and text
 * after the value are refused (prd_token_claims_set_json in
 * prodready/jansson.h takes a jansson value instead).
 * Errors: PRD_EINVAL (bad name, invalid UTF-8 or JSON), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_claims_set_string(prd_token_claims *claims, const char *name,
                                               const char *value);
PRD_API PRD_NODISCARD prd_status prd_token_claims_set_int(prd_token_claims *claims, const char *name,
                                            int64_t value);
PRD_API PRD_NODISCARD prd_status prd_token_claims_set_json_text(prd_token_claims *claims,
                                                                const char *name, const char *json,
                                                                size_t len);

/*
 * The payload prd_token_issue would encrypt or sign, as compact JSON text:
 * the claims plus iat (now, from clock), exp, nbf and a random jti unless
 * one was set. For use with the raw functions when the footer must be
 * chosen byte for byte. *out is freed with prd_free.
 * Errors: PRD_EINVAL (no expiry, or it is not after now), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_claims_payload(const prd_token_claims *claims, const prd_clock *clock,
                                            char **out);

/*
 * Issue a token of the given purpose with the ring's current key for it:
 * the claims as the JSON payload, and as footer {"kid": current key id}
 * merged with footer_extra (footer_extra_len bytes of JSON text holding an
 * object; NULL, 0 for none; "kid" in it is refused; prd_token_issue_json
 * in prodready/jansson.h takes a jansson object). footer_extra is only
 * read. implicit: an optional implicit assertion (may be NULL, 0).
 * clock: NULL for the system clock. *out freed with prd_free.
 * Errors: PRD_EINVAL (no expiry, no current key, bad footer_extra),
 * PRD_ETOOBIG (the footer would be over 1024 bytes or nested over 4
 * levels: the verifier refuses to parse such a footer), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_issue(const prd_keyring *ring, prd_token_purpose purpose,
                                   const prd_token_claims *claims, const char *footer_extra,
                                   size_t footer_extra_len, const void *implicit, size_t implicit_len,
                                   const prd_clock *clock, char **out);

/* ------------------------------------------------------------------ */
/* Verification                                                        */
/* ------------------------------------------------------------------ */

/*
 * A verifier: which ring and purpose, the leeways, the expected issuer and
 * audiences, required claims, limits and the clock. Defaults: 30 s leeway
 * for exp and for nbf, no issuer or audience check, max token size 8 KiB,
 * footer at most 1 KiB and JSON depth 4 when parsed before verification.
 * The verifier borrows ring and clock: both must outlive it.
 */
typedef struct prd_token_verifier prd_token_verifier;

PRD_API PRD_NODISCARD prd_status prd_token_verifier_new(const prd_keyring *ring, prd_token_purpose purpose,
                                          prd_token_verifier **out);
PRD_API void prd_token_verifier_free(prd_token_verifier *v);
/* Leeways in milliseconds, 0 .. 1 day. Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_token_verifier_set_leeway(prd_token_verifier *v, int64_t exp_leeway_ms,
                                                 int64_t nbf_leeway_ms);
/* The iss claim must equal this. Errors: PRD_EINVAL, PRD_ENOMEM. */
PRD_API PRD_NODISCARD prd_status prd_token_verifier_set_issuer(prd_token_verifier *v, const char *iss);
/* The aud claim (a string, or an array of strings) must contain one of the
 * audiences added. Errors: PRD_EINVAL, PRD_ETOOBIG (over 16), PRD_ENOMEM. */
PRD_API PRD_NODISCARD prd_status prd_token_verifier_add_audience(prd_token_verifier *v, const char *aud);
/* This claim must be present. Errors: PRD_EINVAL, PRD_ETOOBIG (over 16), PRD_ENOMEM. */
PRD_API PRD_NODISCARD prd_status prd_token_verifier_require_claim(prd_token_verifier *v, const char *name);
/* Largest token accepted (64 .. PRD_TOKEN_ABSOLUTE_MAX_LEN). Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_token_verifier_set_max_size(prd_token_verifier *v, size_t max_size);
/* The token's footer must be exactly these bytes (no kid lookup then).
 * footer is copied: the caller may free it on return.
 * Errors: PRD_EINVAL, PRD_ENOMEM. */
PRD_API PRD_NODISCARD prd_status prd_token_verifier_set_footer(prd_token_verifier *v, const void *footer,
                                                 size_t footer_len);
/* Clock for exp/nbf checks; NULL for the system clock. */
PRD_API PRD_NODISCARD prd_status prd_token_verifier_set_clock(prd_token_verifier *v, const prd_clock *clock);

/* Refuse tokens whose jti is on this revocation list (below): such a
 * token fails with PRD_EBADTOKEN ("revoked"), and with a list set a token
 * without a jti is refused too (nothing to look it up by). The verifier
 * borrows the list. Errors: PRD_EINVAL. */
typedef struct prd_token_revocations prd_token_revocations;
PRD_API PRD_NODISCARD prd_status prd_token_verifier_set_revocations(prd_token_verifier *v,
                                                      prd_token_revocations *list);

/* The outcome of a successful verification. */
typedef struct prd_token_verified prd_token_verified;

/*
 * Verify a token and its claims. The payload must be a JSON object with an
 * "exp" claim (RFC 3339): a token that never expires is invalid.
 * Checks, in order: size, header and purpose, footer (bounded), key,
 * cryptography, JSON, exp (now >= exp + leeway: PRD_EEXPIRED), nbf
 * (now < nbf - leeway: PRD_ENOTYET), iat (in the future beyond the nbf
 * leeway: PRD_ENOTYET), iss, aud, required claims.
 * Returns PRD_OK (*out set, free with prd_token_verified_free),
 * PRD_EEXPIRED, PRD_ENOTYET or PRD_EBADTOKEN (everything else the token is
 * to blame for, a revoked jti included; *why, if not NULL, gets a static
 * phrase for logs).
 * Errors: PRD_EINVAL (NULL arguments), PRD_ENOMEM; with a revocation list
 * on a pool, PRD_EDB when the list is staler than its bound (fail closed).
 */
PRD_API PRD_NODISCARD prd_status prd_token_verify(const prd_token_verifier *v, const char *token,
                                    size_t token_len, const void *implicit, size_t implicit_len,
                                    prd_token_verified **out, const char **why);

/* The claims as JSON text exactly as in the token (NUL-terminated). */
PRD_API const char *prd_token_verified_claims_text(const prd_token_verified *r);
/* (prd_token_verified_claims in prodready/jansson.h: as a jansson object.) */
/* The footer bytes ("" and 0 when none). */
PRD_API const char *prd_token_verified_footer(const prd_token_verified *r, size_t *len);
/* Expiry in Unix nanoseconds. */
PRD_API int64_t prd_token_verified_expiry(const prd_token_verified *r);
PRD_API void prd_token_verified_free(prd_token_verified *r);

/* ------------------------------------------------------------------ */
/* Opaque tokens: server-side sessions and single-use tokens           */
/* ------------------------------------------------------------------ */

/*
 * An opaque token is 256 random bits in the text form
 *   <prefix>_<base64url(32 random bytes || 4-byte checksum)>
 * e.g. "sess_Xq3…" (prefix: 1-16 of [a-z0-9]). The checksum (BLAKE2b of
 * prefix and random bytes, truncated) lets a typo or a scanner for leaked
 * credentials recognise a token without a database round trip. The server
 * stores only its digest (BLAKE2b-256 of the text), never the token.
 */
#define PRD_OPAQUE_PREFIX_MAX 16
/* A buffer for any opaque token, NUL included (prd_opaque_token_size()). */
#define PRD_OPAQUE_TOKEN_SIZE (PRD_OPAQUE_PREFIX_MAX + 1 + 48 + 1)
PRD_API size_t prd_opaque_token_size(void);
#define PRD_OPAQUE_DIGEST_BYTES 32

/*
 * Make a new opaque token into out (snprintf rules: out_size >=
 * PRD_OPAQUE_TOKEN_SIZE always fits) and, if digest is not NULL, its
 * storage digest. Errors: PRD_EINVAL (bad prefix), PRD_ENOSPACE.
 */
PRD_API PRD_NODISCARD prd_status prd_token_opaque_new(const char *prefix, char *out, size_t out_size,
                                        unsigned char digest[PRD_OPAQUE_DIGEST_BYTES]);

/*
 * Check a token's shape and checksum (and, when prefix is not NULL, that it
 * has this prefix), then compute its digest (digest may be NULL).
 * Returns PRD_OK or PRD_EBADTOKEN.
 */
PRD_API PRD_NODISCARD prd_status prd_token_opaque_digest(const char *prefix, const char *token, size_t len,
                                           unsigned char digest[PRD_OPAQUE_DIGEST_BYTES]);

/*
 * A store for session and single-use token records, keyed by digest.
 * The in-memory store serves tests and single-process services; the
 * PostgreSQL store (below) serves several instances and plugs in the
 * same way.
 * Thread-safe. A store must outlive the session managers using it.
 */
typedef struct prd_token_store prd_token_store;

/* An in-memory store of at most max_entries records (1 .. 10^7). When full,
 * expired records are reclaimed; if none are, creating fails with PRD_EBUSY.
 * Errors: PRD_EINVAL, PRD_ENOMEM. */
PRD_API PRD_NODISCARD prd_status prd_token_store_new_memory(size_t max_entries, prd_token_store **out);
/*
 * A store in PostgreSQL (the stores' schema: prd_pg_stores_migrate), so
 * every instance of a service sees a session made, rotated or revoked on
 * another, and records survive restarts. Each operation is one statement
 * on a connection of pool (borrowed: free the store before it); taking a
 * record (single use, rotation) is one DELETE ... RETURNING, so two
 * instances redeeming one token at once cannot both succeed. No entry
 * limit; records past their absolute end are deleted a few at each
 * creation. Database failures come back as PRD_EDB (PRD_ETIMEOUT past the
 * pool's deadlines). Errors: PRD_EINVAL, PRD_ENOMEM.
 */
struct prd_pg_pool;
PRD_API PRD_NODISCARD prd_status prd_token_store_new_pg(struct prd_pg_pool *pool, prd_token_store **out);
PRD_API void prd_token_store_free(prd_token_store *store);
/* Records held now (expired ones not yet reclaimed included). */
PRD_API size_t prd_token_store_count(const prd_token_store *store);

/*
 * Server-side sessions with an idle timeout (sliding: each successful
 * validation moves it) and an absolute lifetime (fixed at creation),
 * defaults 30 minutes and 8 hours (OWASP's session guidance).
 */
typedef struct prd_token_sessions prd_token_sessions;

/* Longest subject (bytes); a buffer that receives one needs
 * PRD_SESSION_SUBJECT_SIZE (NUL included). */
#define PRD_SESSION_SUBJECT_MAX 256
#define PRD_SESSION_SUBJECT_SIZE (PRD_SESSION_SUBJECT_MAX + 1)
PRD_API size_t prd_session_subject_size(void);

/* prefix: as prd_token_opaque_new ("sess" is a good one). Borrows store. */
PRD_API PRD_NODISCARD prd_status prd_token_sessions_new(prd_token_store *store, const char *prefix,
                                          prd_token_sessions **out);
PRD_API void prd_token_sessions_free(prd_token_sessions *s);
/* Errors: PRD_EINVAL (zero, or idle longer than absolute). */
PRD_API PRD_NODISCARD prd_status prd_token_sessions_set_timeouts(prd_token_sessions *s, int64_t idle_ms,
                                                   int64_t absolute_ms);
PRD_API PRD_NODISCARD prd_status prd_token_sessions_set_clock(prd_token_sessions *s, const prd_clock *clock);

/*
 * Create a session for subject (1..PRD_SESSION_SUBJECT_MAX bytes, e.g. a
 * user id) and write its token into token_out (out_size >=
 * PRD_OPAQUE_TOKEN_SIZE). Errors: PRD_EINVAL, PRD_ENOSPACE, PRD_EBUSY
 * (store full), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_session_create(prd_token_sessions *s, const char *subject,
                                            char *token_out, size_t out_size);

/*
 * Look a session up by its token and slide its idle timeout. subject_out
 * (may be NULL) receives the subject (subject_size >=
 * PRD_SESSION_SUBJECT_SIZE always fits). Returns PRD_OK, PRD_EEXPIRED (idle
 * or absolute timeout passed: the record is deleted) or PRD_EBADTOKEN
 * (malformed, unknown or revoked). Errors: PRD_EINVAL, PRD_ENOSPACE.
 */
PRD_API PRD_NODISCARD prd_status prd_token_session_validate(prd_token_sessions *s, const char *token,
                                              size_t len, char *subject_out, size_t subject_size);

/*
 * Replace a session's token (after login, a privilege change or a
 * password change: defeats session fixation). The old token stops working
 * at once; the absolute lifetime carries over. Returns as validate.
 */
PRD_API PRD_NODISCARD prd_status prd_token_session_rotate(prd_token_sessions *s, const char *old_token,
                                            size_t len, char *new_out, size_t out_size);

/* End one session (logout). PRD_OK, or PRD_EBADTOKEN when unknown. */
PRD_API PRD_NODISCARD prd_status prd_token_session_revoke(prd_token_sessions *s, const char *token, size_t len);

/* End every session of a subject ("log out everywhere", a password
 * change) and every single-use token issued to it (a reset link sent
 * before must not work after); *count (may be NULL) gets how many.
 * Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_token_session_revoke_subject(prd_token_sessions *s, const char *subject,
                                                    size_t *count);

/*
 * Single-use tokens (password reset, email verification): short-lived,
 * labelled with a purpose, consumed once. binding (may be NULL, 0): bytes
 * the token is tied to, typically the user's current password hash: the
 * store keeps only a fingerprint of it, and consume fails once the binding
 * changes, so a reset link dies when the password does.
 * purpose: 1-32 bytes; ttl_ms: 1 s .. 7 days.
 */
PRD_API PRD_NODISCARD prd_status prd_token_single_use_issue(prd_token_sessions *s, const char *purpose,
                                              const char *subject, int64_t ttl_ms,
                                              const void *binding, size_t binding_len,
                                              char *token_out, size_t out_size);

/*
 * Consume a single-use token: PRD_OK once (subject_out gets the subject),
 * then PRD_EBADTOKEN forever. PRD_EEXPIRED after its TTL; PRD_EBADTOKEN
 * for another purpose or a changed binding (those also consume it).
 */
PRD_API PRD_NODISCARD prd_status prd_token_single_use_consume(prd_token_sessions *s, const char *purpose,
                                                const char *token, size_t len, const void *binding,
                                                size_t binding_len, char *subject_out,
                                                size_t subject_size);

/*
 * Refresh tokens (OAuth 2.0 Security BCP: rotation with reuse detection).
 * A login starts a family (one device's sign-in); each use of the
 * family's current token rotates it: the token presented stops being
 * current and a new one is returned. Presenting a token that was already
 * rotated means two parties hold the family's tokens (the client and a
 * thief): the whole family is revoked at once, whoever presents next.
 * The one exception is the grace window: the immediately previous token
 * presented again within grace_ms of its rotation (a client retrying
 * after losing the answer) gets a new token, and the one that answer
 * carried is superseded (presenting it later counts as reuse). Tokens
 * are "rt_" opaque tokens; only their digests are stored. Every use of a
 * family is atomic in the store (memory or PostgreSQL): of two
 * presentations of one current token, one rotates and the other is reuse
 * (or, within the grace window, a retry).
 *
 * Defaults: a token lives 14 days from its issue (each rotation gives a
 * fresh 14), a family 90 days from the login (no rotation extends it), no
 * grace. token_ttl_ms 1 s .. family_ms; family_ms up to 366 days;
 * grace_ms 0 .. 60 s (a window is also a window for a thief: keep it to
 * seconds). Errors: PRD_EINVAL.
 */
PRD_API PRD_NODISCARD prd_status prd_token_refresh_set_policy(prd_token_sessions *s, int64_t token_ttl_ms,
                                                int64_t family_ms, int64_t grace_ms);

/* Start a family for subject and write its first token into token_out
 * (out_size > 3 + 48). Errors: PRD_EINVAL, PRD_ENOSPACE, PRD_EBUSY (the
 * memory store is full), PRD_ENOMEM, PRD_EDB. */
PRD_API PRD_NODISCARD prd_status prd_token_refresh_issue(prd_token_sessions *s, const char *subject,
                                           char *token_out, size_t out_size);

/*
 * Use a refresh token: PRD_OK with the family's new token in new_out and
 * the subject in subject_out (may be NULL). PRD_EBADTOKEN when the token
 * is malformed, unknown, of a revoked family, or reused: then *reused
 * (may be NULL) is 1, the family is revoked and subject_out still gets
 * the subject, so the application can tell its owner ("your session was
 * used from elsewhere: signed out"). PRD_EEXPIRED past the token's or the
 * family's end. new_out is emptied whenever the result is not PRD_OK.
 * Errors: PRD_EINVAL, PRD_ENOSPACE (new_out, or subject_out after a
 * rotation that stands), PRD_EBUSY, PRD_ENOMEM, PRD_EDB.
 * Thread-safe, and safe across processes with the PostgreSQL store.
 */
PRD_API PRD_NODISCARD prd_status prd_token_refresh_rotate(prd_token_sessions *s, const char *token, size_t len,
                                            char *new_out, size_t out_size, char *subject_out,
                                            size_t subject_size, int *reused);

/* End the family of this token (logout on that device): every token of
 * it stops working. PRD_OK, or PRD_EBADTOKEN when unknown. Errors:
 * PRD_EINVAL, PRD_EDB. prd_token_session_revoke_subject ends families too. */
PRD_API PRD_NODISCARD prd_status prd_token_refresh_revoke(prd_token_sessions *s, const char *token, size_t len);

/*
 * A subject's sessions and refresh families ("your devices"), live now,
 * oldest first. id: 32 hex digits naming it (a prefix of its digest, never
 * the token); expires_ns: when it ends if unused (a session's idle end,
 * or its absolute end if sooner; a family's absolute end); times are Unix
 * nanoseconds. size: the caller sets out[0].size to
 * sizeof(prd_session_info) (PRD_SESSION_INFO_INIT), which the list takes
 * as the array's stride (refused when smaller than this struct or over 16
 * times it) and sets in every entry it writes; a later version may append
 * fields without breaking an older program.
 */
#define PRD_SESSION_ID_SIZE 33 /* 32 hex digits and the NUL */
PRD_API size_t prd_session_id_size(void);
#define PRD_SESSION_LIST_MAX 1024
typedef enum prd_session_kind {
    PRD_SESSION_KIND_SESSION = 1,
    PRD_SESSION_KIND_REFRESH = 2
} prd_session_kind;
typedef struct prd_session_info {
    size_t size;
    char id[PRD_SESSION_ID_SIZE];
    prd_session_kind kind;
    int64_t created_ns;
    int64_t last_used_ns;
    int64_t expires_ns;
} prd_session_info;
#define PRD_SESSION_INFO_INIT {sizeof(prd_session_info), "", (prd_session_kind)0, 0, 0, 0}

/* Up to cap (0 .. PRD_SESSION_LIST_MAX) of them into out; *count gets how
 * many there are (possibly more than cap). The memory store scans all its
 * records (O(records)); PostgreSQL uses its subject index.
 * Errors: PRD_EINVAL (also when cap > 0 and out[0].size is unset),
 * PRD_ENOMEM, PRD_EDB. */
PRD_API PRD_NODISCARD prd_status prd_token_session_list(prd_token_sessions *s, const char *subject,
                                          prd_session_info *out, size_t cap, size_t *count);
/* End the subject's session or refresh family with this id (from the
 * list): PRD_OK, or PRD_ENOTFOUND (no such id for this subject: one
 * subject cannot end another's). Errors: PRD_EINVAL, PRD_EDB. */
PRD_API PRD_NODISCARD prd_status prd_token_session_revoke_id(prd_token_sessions *s, const char *subject,
                                               const char *id);

/* ------------------------------------------------------------------ */
/* Revocation list for PASETO tokens                                   */
/* ------------------------------------------------------------------ */

/*
 * A PASETO token is valid until it expires; to end one earlier (logout of
 * a stateless access token, a leaked token, a deleted account) put its
 * jti on a revocation list until its expiry, and give the list to the
 * verifiers. Checks are in memory (a hash set of jti digests, no round
 * trip). pool NULL: this process only. With a pool (the stores' schema,
 * migration 5), a revocation is written to PostgreSQL before it returns,
 * and every list on that database merges what others revoked when its
 * copy is older than refresh_ms (default 1 s), on the first check after
 * that. The staleness bound: a jti revoked anywhere is refused
 * everywhere within refresh_ms plus one merge's round trip, while the
 * database answers. When it does not, checks go on from the copy for up
 * to max_stale_ms (default 30 s) since the last merge, then fail with
 * PRD_EDB (fail closed: a list that cannot be known to be current does
 * not vouch for tokens), counted by prd_token_revocations_stale_refusals.
 * A list made with a pool must merge once before its first check passes.
 * Entries are kept until a day after the token's expiry (a verifier's exp
 * leeway is at most a day). Thread-safe; the pool is borrowed.
 * Errors: PRD_EINVAL, PRD_ENOMEM.
 */
#define PRD_TOKEN_JTI_MAX 128
struct prd_pg_pool;
PRD_API PRD_NODISCARD prd_status prd_token_revocations_new(struct prd_pg_pool *pool,
                                             prd_token_revocations **out);
PRD_API void prd_token_revocations_free(prd_token_revocations *list);
/* refresh_ms 10 ms .. 1 h; max_stale_ms refresh_ms .. 1 day. Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_token_revocations_set_refresh(prd_token_revocations *list,
                                                     int64_t refresh_ms, int64_t max_stale_ms);
/* Live revocations held at most (16 .. 2^26; default 10^6): one more is
 * refused with PRD_EBUSY, never dropped. Errors: PRD_EINVAL. */
PRD_API PRD_NODISCARD prd_status prd_token_revocations_set_max_entries(prd_token_revocations *list,
                                                         size_t max_entries);
/* Wall clock for expiries and monotonic clock for staleness (NULL: the
 * system's); borrowed. */
PRD_API PRD_NODISCARD prd_status prd_token_revocations_set_clock(prd_token_revocations *list,
                                                   const prd_clock *clock);

/* Revoke a jti (1 .. PRD_TOKEN_JTI_MAX bytes) until expires_ns (Unix ns:
 * the token's exp). With a pool it is in the database when this returns
 * PRD_OK. Errors: PRD_EINVAL, PRD_EBUSY (max_entries), PRD_ENOMEM,
 * PRD_EDB, PRD_ETIMEOUT (not revoked: retry). */
PRD_API PRD_NODISCARD prd_status prd_token_revoke_jti(prd_token_revocations *list, const char *jti,
                                        int64_t expires_ns);
/* The same for a verified token, by its jti and exp. PRD_EINVAL when it
 * has no jti. */
PRD_API PRD_NODISCARD prd_status prd_token_revoke_verified(prd_token_revocations *list,
                                             const prd_token_verified *token);
/* PRD_OK (not revoked), PRD_EBADTOKEN (revoked); errors PRD_EINVAL,
 * PRD_EDB (staler than the bound). */
PRD_API PRD_NODISCARD prd_status prd_token_jti_check(prd_token_revocations *list, const char *jti);
/* Revocations held now. */
PRD_API size_t prd_token_revocations_count(prd_token_revocations *list);
/* Checks refused because the copy was staler than max_stale_ms. */
PRD_API uint64_t prd_token_revocations_stale_refusals(const prd_token_revocations *list);
/* The list's state in Prometheus text (prefix NULL:
 * "prodready_token_revocations_"): entries (gauge) and
 * stale_refusals_total (counter). Contract as prd_limiter_prometheus. */
PRD_API size_t prd_token_revocations_prometheus(const prd_token_revocations *list,
                                                const char *prefix, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif /* PRODREADY_TOKEN_H */
