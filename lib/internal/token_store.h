/* The record store behind sessions and single-use tokens. The public type
 * is opaque; each backend (memory here, PostgreSQL with the pg module)
 * fills in these operations. */
#ifndef PRD_INTERNAL_TOKEN_STORE_H
#define PRD_INTERNAL_TOKEN_STORE_H

#include "prodready/token.h"

/* A refresh token belongs to a family (one login on one device): the
 * family is a record of its own, keyed by a random id, whose absolute end
 * bounds every token of it; deleting it ends them all. */
enum prd__record_kind {
    PRD__RECORD_SESSION = 1,
    PRD__RECORD_SINGLE_USE = 2,
    PRD__RECORD_REFRESH = 3,
    PRD__RECORD_FAMILY = 4
};

/* A refresh token's state: the family's current one, rotated (its
 * successor issued; presenting it again is reuse, but for a retry within
 * the grace window), or superseded by a retry (presenting it is reuse). */
enum prd__refresh_state { PRD__REFRESH_CURRENT = 0, PRD__REFRESH_ROTATED = 1,
                          PRD__REFRESH_SUPERSEDED = 2 };

enum prd__refresh_outcome {
    PRD__REFRESH_OK = 0,      /* rotated: the next token is the family's current one */
    PRD__REFRESH_RETRY = 1,   /* the previous token again within the grace window */
    PRD__REFRESH_REUSED = 2,  /* an old token: the family is revoked */
    PRD__REFRESH_UNKNOWN = 3, /* no such token, or its family was revoked */
    PRD__REFRESH_EXPIRED = 4
};

struct prd__token_record {
    unsigned char digest[PRD_OPAQUE_DIGEST_BYTES];
    enum prd__record_kind kind;
    char subject[PRD_SESSION_SUBJECT_SIZE];
    char purpose[33];
    unsigned char binding_fp[32];
    int has_binding;
    int64_t created_ns;   /* wall clock */
    int64_t last_used_ns; /* sessions: slides on use */
    int64_t idle_ns;      /* sessions: idle timeout */
    int64_t expires_ns;   /* absolute end of life */
    /* refresh tokens */
    unsigned char family[PRD_OPAQUE_DIGEST_BYTES];
    enum prd__refresh_state state;
    int64_t rotated_ns;
    unsigned char successor[PRD_OPAQUE_DIGEST_BYTES];
};

/* 1 when the record is past its idle or absolute end at now. */
static inline int prd__record_expired(const struct prd__token_record *r, int64_t now)
{
    if (now >= r->expires_ns)
        return 1;
    return r->kind == PRD__RECORD_SESSION && now >= r->last_used_ns + r->idle_ns;
}

struct prd__token_store_ops {
    /* PRD_OK, PRD_EBUSY (full even after reclaiming expired), PRD_ENOMEM. */
    prd_status (*put)(void *impl, const struct prd__token_record *r, int64_t now_ns);
    /* Copy the record out: PRD_OK or PRD_ENOTFOUND. */
    prd_status (*get)(void *impl, const unsigned char *digest, struct prd__token_record *out);
    prd_status (*touch)(void *impl, const unsigned char *digest, int64_t last_used_ns);
    /* Get and delete in one step (single use, rotation). */
    prd_status (*take)(void *impl, const unsigned char *digest, struct prd__token_record *out);
    prd_status (*remove_subject)(void *impl, const char *subject, size_t *count);
    /* Use the refresh token digest, atomically with every other use of its
     * family: on OK or RETRY the record next (subject and family from the
     * token's, expiring at now + ttl_ns or the family's end) is stored as
     * the family's current token. subject gets the token's subject (also
     * on REUSED, for the report). PRD_OK with *outcome, or the store's
     * failure (PRD_EBUSY, PRD_ENOMEM, PRD_EDB). */
    prd_status (*refresh)(void *impl, const unsigned char *digest, const unsigned char *next,
                          int64_t now_ns, int64_t ttl_ns, int64_t grace_ns,
                          enum prd__refresh_outcome *outcome,
                          char subject[PRD_SESSION_SUBJECT_SIZE]);
    /* Delete the family of this refresh token, and the token. PRD_OK or
     * PRD_ENOTFOUND. */
    prd_status (*refresh_revoke)(void *impl, const unsigned char *digest);
    /* The subject's sessions and refresh families live at now, up to cap
     * into out (oldest first); *total gets how many there are. */
    prd_status (*list_subject)(void *impl, const char *subject, int64_t now_ns,
                               struct prd__token_record *out, size_t cap, size_t *total);
    /* Delete the subject's session or family whose digest starts with
     * these PRD__SESSION_ID_BYTES. PRD_OK or PRD_ENOTFOUND. */
    prd_status (*remove_id)(void *impl, const char *subject, const unsigned char *id);
    size_t (*count)(void *impl);
    void (*destroy)(void *impl);
};

#define PRD__SESSION_ID_BYTES 16

struct prd_token_store {
    const struct prd__token_store_ops *ops;
    void *impl;
};

#endif
