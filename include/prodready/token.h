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
 * Thread safety: a prd_token_key is immutable once made and may be shared
 * between threads.
 */
#ifndef PRODREADY_TOKEN_H
#define PRODREADY_TOKEN_H

#include <stddef.h>

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

/* Longest PASERK this library writes ("k4.secret." + 86 characters), and
 * longest key id ("k4.sid." + 44), without the terminating NUL. */
#define PRD_PASERK_MAX 96
#define PRD_PASERK_ID_MAX 51

/*
 * Generate a new random key: kind PRD_KEY_LOCAL or PRD_KEY_SECRET (derive
 * the public half with prd_token_key_public). *out is the caller's, freed
 * with prd_token_key_free.
 * Errors: PRD_EINVAL (out NULL, kind PRD_KEY_PUBLIC or unknown), PRD_ENOMEM.
 */
PRD_API prd_status prd_token_key_generate(prd_key_kind kind, prd_token_key **out);

/*
 * Parse a PASERK "k4.local.…", "k4.public.…" or "k4.secret.…" (NUL-
 * terminated). Strict: another version or type, a wrong length, non-
 * canonical base64url, or a secret key whose public half does not match
 * its seed are PRD_EINVAL.
 */
PRD_API prd_status prd_token_key_from_paserk(const char *paserk, prd_token_key **out);

/*
 * Make a key of the given kind from hex: 64 hex digits for a local or
 * public key, 128 (seed || public key) for a secret key.
 * Errors: PRD_EINVAL (wrong length, not hex, mismatched secret key), PRD_ENOMEM.
 */
PRD_API prd_status prd_token_key_from_hex(prd_key_kind kind, const char *hex, prd_token_key **out);

/*
 * Make a key from raw bytes: 32 for local or public, 32 (a seed) or 64
 * (seed || public key) for secret. The caller keeps and should wipe bytes.
 */
PRD_API prd_status prd_token_key_from_bytes(prd_key_kind kind, const void *bytes, size_t len,
                                            prd_token_key **out);

/*
 * The public key of a secret key (a new handle), or a copy of a public key.
 * Errors: PRD_EINVAL (NULL, or a local key), PRD_ENOMEM.
 */
PRD_API prd_status prd_token_key_public(const prd_token_key *key, prd_token_key **out);

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

#ifdef __cplusplus
}
#endif

#endif /* PRODREADY_TOKEN_H */
