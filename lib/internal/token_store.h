/* The record store behind sessions and single-use tokens. The public type
 * is opaque; each backend (memory here, PostgreSQL with the pg module)
 * fills in these operations. */
#ifndef PRD_INTERNAL_TOKEN_STORE_H
#define PRD_INTERNAL_TOKEN_STORE_H

#include "prodready/token.h"

enum prd__record_kind { PRD__RECORD_SESSION = 1, PRD__RECORD_SINGLE_USE = 2 };

struct prd__token_record {
    unsigned char digest[PRD_OPAQUE_DIGEST_BYTES];
    enum prd__record_kind kind;
    char subject[PRD_SESSION_SUBJECT_MAX + 1];
    char purpose[33];
    unsigned char binding_fp[32];
    int has_binding;
    int64_t created_ns;   /* wall clock */
    int64_t last_used_ns; /* sessions: slides on use */
    int64_t idle_ns;      /* sessions: idle timeout */
    int64_t expires_ns;   /* absolute end of life */
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
    size_t (*count)(void *impl);
    void (*destroy)(void *impl);
};

struct prd_token_store {
    const struct prd__token_store_ops *ops;
    void *impl;
};

#endif
