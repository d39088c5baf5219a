/* Internal view of token keys, shared by the token_*.c files. */
#ifndef PRD_INTERNAL_TOKEN_H
#define PRD_INTERNAL_TOKEN_H

#include <jansson.h>

#include "prodready/token.h"

#define PRD__LOCAL_KEY_BYTES 32
#define PRD__PUBLIC_KEY_BYTES 32
#define PRD__SECRET_KEY_BYTES 64

struct prd_token_key {
    prd_key_kind kind;
    prd_secret *material; /* local: 32 bytes; secret: seed || public (64) */
    unsigned char pk[PRD__PUBLIC_KEY_BYTES]; /* public, or the public half of secret */
};

/* The key's secret bytes (local or secret kinds), NULL otherwise. */
const unsigned char *prd__token_key_bytes(const prd_token_key *key);

/* The jansson forms the text API is built on (lib/jansson/ exports them
 * as prodready/jansson.h). set_value takes a reference to value; issue
 * only reads footer_extra (an object or NULL); verified_claims is
 * borrowed from r. */
prd_status prd__token_claims_set_value(prd_token_claims *claims, const char *name, json_t *value);
prd_status prd__token_issue(const prd_keyring *ring, prd_token_purpose purpose,
                            const prd_token_claims *claims, json_t *footer_extra,
                            const void *implicit, size_t implicit_len, const prd_clock *clock,
                            char **out);
json_t *prd__token_verified_claims(const prd_token_verified *r);

/* Bytes of a footer the verifier parses before verification. */
#define PRD__FOOTER_MAX 1024

/* A JSON footer the verifier will parse for its kid: at most 1024 bytes
 * and 4 levels deep (token/verify.c). The issuer refuses others, so it
 * never makes a token its own verifier rejects. */
int prd__token_footer_parsable(const unsigned char *footer, size_t len);

#endif

/* v4.local encryption with a caller-chosen 32-byte nonce: for the official
 * vectors, which fix the nonce, and for prd_token_issue, which draws the
 * nonce together with the jti. The nonce must be fresh random bytes. */
prd_status prd__v4_encrypt_with_nonce(const prd_token_key *key, const unsigned char nonce[32],
                                      const void *payload, size_t payload_len, const void *footer,
                                      size_t footer_len, const void *implicit, size_t implicit_len,
                                      char **out);

/* Split a token into its parts without decoding: header length, payload
 * (base64url) and footer (base64url, may be empty). PRD_EBADTOKEN on a
 * malformed shape. */
struct prd__token_parts {
    prd_token_purpose purpose;
    const char *body;
    size_t body_len;
    const char *footer;
    size_t footer_len; /* encoded length; 0 when absent */
};
prd_status prd__token_split(const char *token, size_t len, struct prd__token_parts *parts,
                            const char **why);

/* Decode a token's footer into a prd__returned_alloc buffer. */
prd_status prd__token_footer(const struct prd__token_parts *parts, unsigned char **footer,
                             size_t *footer_len, const char **why);

/* A new key with the same material. */
prd_status prd__token_key_dup(const prd_token_key *key, prd_token_key **out);

/* Key ring access for issuing and verifying. Both take the ring's read
 * lock, held until prd__keyring_unlock, so a key cannot be removed while a
 * token is being made or checked with it. */
const prd_token_key *prd__keyring_current(const prd_keyring *ring, prd_token_purpose purpose,
                                          const char **kid);
/* The key for a footer kid (NULL or unknown: the only key of the purpose,
 * if exactly one); NULL when none. */
const prd_token_key *prd__keyring_find(const prd_keyring *ring, prd_token_purpose purpose,
                                       const char *kid);
void prd__keyring_rdlock(const prd_keyring *ring);
void prd__keyring_unlock(const prd_keyring *ring);
