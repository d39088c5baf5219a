/* A program that uses every module through the installed headers only,
 * linked by tests/scripts/test_install.py with pkg-config's flags
 * (shared and static). Prints "ok" and exits 0 when every call works. */
#include <stdio.h>
#include <string.h>

#include <prodready.h>

#include "check.h"

int main(void)
{
    CHECK(prd_init());
    /* password */
    prd_password_policy *pol;
    CHECK(prd_password_policy_new(NULL, &pol));
    char phc[PRD_PASSWORD_HASH_SIZE];
    CHECK(prd_password_hash(pol, "hunter22", 8, phc, sizeof phc));
    CHECK(prd_password_verify(pol, "hunter22", 8, phc));
    prd_password_policy_free(pol);
    /* token */
    prd_token_key *key;
    prd_keyring *ring;
    prd_token_claims *claims;
    char *tok = NULL;
    CHECK(prd_token_key_generate(PRD_KEY_LOCAL, &key));
    CHECK(prd_keyring_new(&ring));
    CHECK(prd_keyring_add(ring, key, 1));
    CHECK(prd_token_claims_new(&claims));
    CHECK(prd_token_claims_set_ttl(claims, 60000));
    CHECK(prd_token_claims_set_string(claims, "sub", "alice"));
    CHECK(prd_token_issue(ring, PRD_TOKEN_LOCAL, claims, NULL, 0, NULL, 0, NULL, &tok));
    prd_token_verifier *v;
    prd_token_verified *r;
    CHECK(prd_token_verifier_new(ring, PRD_TOKEN_LOCAL, &v));
    CHECK(prd_token_verify(v, tok, strlen(tok), NULL, 0, &r, NULL));
    if (!strstr(prd_token_verified_claims_text(r), "\"sub\":\"alice\""))
        return 1;
    prd_token_verified_free(r);
    prd_token_verifier_free(v);
    prd_free(tok);
    prd_token_claims_free(claims);
    prd_keyring_free(ring);
    prd_token_key_free(key);
    /* ratelimit */
    prd_limiter_config *cfg;
    prd_limiter *lim;
    CHECK(prd_limiter_config_new(&cfg));
    CHECK(prd_limiter_config_add_rule(cfg, "ip", 1, 60000, PRD_RL_EXACT));
    CHECK(prd_limiter_new(cfg, &lim));
    prd_rl_key k[1] = {{"10.0.0.1", 8}};
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    CHECK(prd_limiter_check(lim, k, 1, 1, &d));
    if (prd_limiter_check(lim, k, 1, 1, &d) != PRD_ELIMITED)
        return 1;
    prd_limiter_free(lim);
    prd_limiter_config_free(cfg);
    /* pg: configuration only (no server needed to link) */
    prd_pg_config *pc;
    CHECK(prd_pg_config_new("host=/nonexistent dbname=app", &pc));
    prd_pg_config_free(pc);
    /* log */
    prd_logger *lg;
    CHECK(prd_logger_new(&lg));
    prd_log_field f[1] = {PRD_F_STR("user", "alice")};
    prd_log(lg, PRD_LOG_DEBUG, "below the level: not written", f, 1);
    prd_logger_free(lg);
    printf("ok %s\n", prd_version());
    return 0;
}
