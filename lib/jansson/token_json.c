/*
 * The jansson conveniences of prodready/jansson.h: the token module's
 * jansson forms under public names. A module of their own, above token
 * and log, so neither of those includes the other's header for them.
 */
#include "internal/common.h"
#include "internal/token.h"

#include "prodready/jansson.h"

prd_status prd_token_claims_set_json(prd_token_claims *claims, const char *name, json_t *value)
{
    return prd__token_claims_set_value(claims, name, value);
}

prd_status prd_token_issue_json(const prd_keyring *ring, prd_token_purpose purpose,
                                const prd_token_claims *claims, json_t *footer_extra,
                                const void *implicit, size_t implicit_len, const prd_clock *clock,
                                char **out)
{
    return prd__token_issue(ring, purpose, claims, footer_extra, implicit, implicit_len, clock,
                            out);
}

json_t *prd_token_verified_claims(const prd_token_verified *r)
{
    return prd__token_verified_claims(r);
}
