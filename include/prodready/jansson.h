/*
 * prodready/jansson.h: the jansson conveniences, for C programs that
 * already hold their JSON as jansson values. Everything here has a JSON
 * text form in the module headers, which need no jansson (bindings use
 * those); this is the one public header that includes <jansson.h>.
 *
 * Link with both libraries: pkg-config --cflags --libs prodready-jansson
 * (or prodready jansson).
 *
 * Thread safety: as the functions' text forms. jansson's reference counts
 * are not atomic in every build: a json_t handed to these functions must
 * not be changed or released by another thread during the call.
 */
#ifndef PRODREADY_JANSSON_H
#define PRODREADY_JANSSON_H

#include <jansson.h>

#include "prodready/log.h"
#include "prodready/token.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A log field holding a jansson value, borrowed for the call (prd_log
 * serialises it before returning; prd_log_with copies it). */
#define PRD_F_JSON(k, val) ((prd_log_field){(k), PRD_LF_JSON, 0, {.j = (val)}})

/*
 * Set a claim to a jansson value (prd_token_claims_set_json_text's rules
 * for name). The claims take a reference (json_incref) and keep value
 * until replaced or freed: the caller keeps its own reference and must
 * not change value afterwards. Errors: PRD_EINVAL (bad name, NULL value,
 * a string that is not UTF-8), PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_token_claims_set_json(prd_token_claims *claims, const char *name,
                                                           json_t *value);

/*
 * prd_token_issue with footer_extra as a jansson object (may be NULL),
 * borrowed for the call and never changed. Errors: prd_token_issue's.
 */
PRD_API PRD_NODISCARD prd_status prd_token_issue_json(const prd_keyring *ring, prd_token_purpose purpose,
                                                      const prd_token_claims *claims,
                                                      json_t *footer_extra, const void *implicit,
                                                      size_t implicit_len, const prd_clock *clock,
                                                      char **out);

/* The verified claims as a jansson object, borrowed from r: valid until
 * prd_token_verified_free(r) (json_incref to keep it longer). Never NULL
 * for a verified token. prd_token_verified_claims_text is the same as
 * text. */
PRD_API json_t *prd_token_verified_claims(const prd_token_verified *r);

#ifdef __cplusplus
}
#endif

#endif /* PRODREADY_JANSSON_H */
