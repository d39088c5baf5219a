/* A program that holds its JSON as jansson values and uses the
 * conveniences in prodready/jansson.h, linked by tests/scripts/test_install.py
 * with pkg-config's flags for prodready-jansson. Prints "ok" on success. */
#include <stdio.h>
#include <string.h>

#include <prodready.h>
#include <prodready/jansson.h>

#include "check.h"

int main(void)
{
    CHECK(prd_init());
    prd_token_key *key;
    prd_keyring *ring;
    prd_token_claims *claims;
    CHECK(prd_token_key_generate(PRD_KEY_LOCAL, &key));
    CHECK(prd_keyring_new(&ring));
    CHECK(prd_keyring_add(ring, key, 1));
    CHECK(prd_token_claims_new(&claims));
    CHECK(prd_token_claims_set_ttl(claims, 60000));
    json_t *roles = json_pack("[ss]", "admin", "ops");
    CHECK(prd_token_claims_set_json(claims, "roles", roles));
    json_decref(roles);
    json_t *extra = json_pack("{s:s}", "tenant", "t1");
    char *tok = NULL;
    CHECK(prd_token_issue_json(ring, PRD_TOKEN_LOCAL, claims, extra, NULL, 0, NULL, &tok));
    json_decref(extra);
    prd_token_verifier *v;
    prd_token_verified *r;
    CHECK(prd_token_verifier_new(ring, PRD_TOKEN_LOCAL, &v));
    CHECK(prd_token_verify(v, tok, strlen(tok), NULL, 0, &r, NULL));
    json_t *got = json_object_get(prd_token_verified_claims(r), "roles");
    if (json_array_size(got) != 2 || strcmp(json_string_value(json_array_get(got, 1)), "ops") != 0)
        return 1;
    prd_token_verified_free(r);
    prd_token_verifier_free(v);
    prd_free(tok);
    prd_token_claims_free(claims);
    prd_keyring_free(ring);
    prd_token_key_free(key);

    prd_logger *lg;
    CHECK(prd_logger_new(&lg));
    json_t *ctx = json_pack("{s:i}", "attempt", 3);
    prd_log_field f[1] = {PRD_F_JSON("ctx", ctx)};
    prd_log(lg, PRD_LOG_DEBUG, "below the level: not written", f, 1);
    json_decref(ctx);
    prd_logger_free(lg);
    puts("ok prodready/jansson.h");
    return 0;
}
