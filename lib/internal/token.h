/* Internal view of token keys, shared by the token_*.c files. */
#ifndef PRD_INTERNAL_TOKEN_H
#define PRD_INTERNAL_TOKEN_H

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

#endif
