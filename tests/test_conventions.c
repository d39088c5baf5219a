/* The conventions core.h states for every header. Buffer sizes: every
 * PRD_*_SIZE macro has a function with the same answer (bindings cannot
 * read macros), and the longest text each output can have fits its size
 * with the NUL and not one byte less. Out parameters: on failure *out is
 * NULL, never what it held before (a binding that frees it on error must
 * not free a stale pointer). */
#include "support/testutil.h"

#include <stdlib.h>
#include <string.h>

static void test_functions_match_macros(void **state)
{
    (void)state;
    assert_int_equal(prd_rfc3339_size(), PRD_RFC3339_SIZE);
    assert_int_equal(prd_password_hash_size(), PRD_PASSWORD_HASH_SIZE);
    assert_int_equal(prd_paserk_size(), PRD_PASERK_SIZE);
    assert_int_equal(prd_paserk_id_size(), PRD_PASERK_ID_SIZE);
    assert_int_equal(prd_opaque_token_size(), PRD_OPAQUE_TOKEN_SIZE);
    assert_int_equal(prd_session_subject_size(), PRD_SESSION_SUBJECT_SIZE);
    assert_int_equal(prd_session_id_size(), PRD_SESSION_ID_SIZE);
    assert_int_equal(prd_rl_header_size(), PRD_RL_HEADER_SIZE);
    assert_int_equal(prd_trace_id_size(), PRD_TRACE_ID_SIZE);
    assert_int_equal(prd_span_id_size(), PRD_SPAN_ID_SIZE);
    assert_int_equal(prd_pg_uuid_size(), PRD_PG_UUID_SIZE);
}

/* A secret key's PASERK is the longest this library writes; every id has
 * the same length. Exactly SIZE fits; SIZE - 1 does not. */
static void test_paserk_sizes_are_exact(void **state)
{
    (void)state;
    prd_token_key *key = NULL;
    assert_ok(prd_token_key_generate(PRD_KEY_SECRET, &key));
    char buf[PRD_PASERK_SIZE];
    assert_int_equal(prd_token_key_paserk(key, buf, sizeof buf), PRD_PASERK_SIZE - 1);
    assert_int_equal(strlen(buf), PRD_PASERK_SIZE - 1);
    char small[PRD_PASERK_SIZE - 1];
    (void)prd_token_key_paserk(key, small, sizeof small);
    assert_string_equal(small, ""); /* snprintf rules: too small writes nothing */
    char id[PRD_PASERK_ID_SIZE];
    assert_int_equal(prd_token_key_id(key, id, sizeof id), PRD_PASERK_ID_SIZE - 1);
    prd_token_key_free(key);

    prd_key_kind kinds[] = {PRD_KEY_LOCAL, PRD_KEY_PUBLIC};
    for (size_t i = 0; i < 2; i++) {
        prd_token_key *k = NULL, *pub = NULL;
        assert_ok(prd_token_key_generate(kinds[i] == PRD_KEY_PUBLIC ? PRD_KEY_SECRET : kinds[i], &k));
        if (kinds[i] == PRD_KEY_PUBLIC) {
            assert_ok(prd_token_key_public(k, &pub));
            prd_token_key_free(k);
            k = pub;
        }
        assert_true(prd_token_key_paserk(k, buf, sizeof buf) < PRD_PASERK_SIZE);
        assert_int_equal(prd_token_key_id(k, id, sizeof id), PRD_PASERK_ID_SIZE - 1);
        prd_token_key_free(k);
    }
}

/* The longest prefix makes the longest opaque token. */
static void test_opaque_token_size_is_exact(void **state)
{
    (void)state;
    char prefix[PRD_OPAQUE_PREFIX_MAX + 1];
    memset(prefix, 'p', PRD_OPAQUE_PREFIX_MAX);
    prefix[PRD_OPAQUE_PREFIX_MAX] = '\0';
    char t[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_opaque_new(prefix, t, sizeof t, NULL));
    assert_int_equal(strlen(t), PRD_OPAQUE_TOKEN_SIZE - 1);
    assert_status(prd_token_opaque_new(prefix, t, sizeof t - 1, NULL), PRD_ENOSPACE);
}

/* The outermost instants it formats, with nine fractional digits, are the
 * longest text; they fit and read back. */
static void test_rfc3339_size_fits_the_longest(void **state)
{
    (void)state;
    char out[PRD_RFC3339_SIZE];
    const int64_t ends[] = {INT64_MAX - 2000000000, INT64_MIN + 2000000000};
    for (size_t i = 0; i < 2; i++) {
        size_t n = prd_rfc3339_format(ends[i], 9, out, sizeof out);
        assert_true(n > 0 && n < PRD_RFC3339_SIZE);
        assert_int_equal(strlen(out), n);
        int64_t back = 0;
        assert_ok(prd_rfc3339_parse(out, n, &back));
        assert_true(back == ends[i]);
    }
}

static void test_trace_ids_fill_their_sizes(void **state)
{
    (void)state;
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    char trace[PRD_TRACE_ID_SIZE], span[PRD_SPAN_ID_SIZE];
    uint8_t flags = 0;
    assert_ok(prd_traceparent_parse(tp, strlen(tp), trace, span, &flags));
    assert_int_equal(strlen(trace), PRD_TRACE_ID_SIZE - 1);
    assert_int_equal(strlen(span), PRD_SPAN_ID_SIZE - 1);
}

/* The encoders' size macros are the encoders' own answer plus the NUL. */
static void test_encoding_sizes(void **state)
{
    (void)state;
    unsigned char data[40] = {0};
    for (size_t n = 0; n <= sizeof data; n++) {
        assert_int_equal(prd_hex_encode(NULL, 0, data, n) + 1, PRD_HEX_SIZE(n));
        assert_int_equal(prd_base64url_encode(NULL, 0, data, n) + 1, PRD_BASE64URL_SIZE(n));
    }
}

/* A pointer no call returns: set before each failing call, it must come
 * back NULL. */
static char sentinel_storage;
#define SENTINEL ((void *)&sentinel_storage)
#define OUT_IS_NULL_ON_FAILURE(var, call, want)                                           \
    do {                                                                                  \
        var = SENTINEL;                                                                   \
        assert_status(call, want);                                                        \
        assert_null(var);                                                                 \
    } while (0)

static void test_out_is_null_on_failure(void **state)
{
    (void)state;
    prd_secret *sec;
    OUT_IS_NULL_ON_FAILURE(sec, prd_secret_from_hex("zz", &sec), PRD_EINVAL);
    OUT_IS_NULL_ON_FAILURE(sec, prd_secret_from_bytes(NULL, 4, &sec), PRD_EINVAL);
    OUT_IS_NULL_ON_FAILURE(sec, prd_secret_random(PRD_SECRET_MAX + 1, &sec), PRD_ETOOBIG);
    prd_password_policy *pol;
    OUT_IS_NULL_ON_FAILURE(pol, prd_password_policy_new("no-such-preset", &pol), PRD_EINVAL);
    prd_token_key *key, *local = NULL;
    OUT_IS_NULL_ON_FAILURE(key, prd_token_key_from_paserk("k4.local.AAAA", &key), PRD_EINVAL);
    OUT_IS_NULL_ON_FAILURE(key, prd_token_key_from_hex(PRD_KEY_LOCAL, "00", &key), PRD_EINVAL);
    assert_ok(prd_token_key_generate(PRD_KEY_LOCAL, &local));
    OUT_IS_NULL_ON_FAILURE(key, prd_token_key_public(local, &key), PRD_EINVAL);
    prd_keyring *ring = NULL;
    assert_ok(prd_keyring_new(&ring));
    assert_ok(prd_keyring_add(ring, local, 1));
    prd_token_claims *claims = NULL;
    assert_ok(prd_token_claims_new(&claims));
    char *tok;
    /* no expiry set: refused, and nothing comes back */
    OUT_IS_NULL_ON_FAILURE(tok, prd_token_issue(ring, PRD_TOKEN_LOCAL, claims, NULL, 0, NULL, 0,
                                                NULL, &tok),
                           PRD_EINVAL);
    assert_ok(prd_token_claims_set_ttl(claims, 60000));
    OUT_IS_NULL_ON_FAILURE(tok, prd_token_issue(ring, PRD_TOKEN_LOCAL, claims, "[1]", 3, NULL, 0,
                                                NULL, &tok),
                           PRD_EINVAL);
    prd_token_verifier *v = NULL;
    assert_ok(prd_token_verifier_new(ring, PRD_TOKEN_LOCAL, &v));
    prd_token_verified *r;
    OUT_IS_NULL_ON_FAILURE(r, prd_token_verify(v, "v4.local.AAAA", 13, NULL, 0, &r, NULL),
                           PRD_EBADTOKEN);
    prd_token_verifier_free(v);
    prd_token_claims_free(claims);
    prd_keyring_free(ring);
    prd_token_key_free(local);
    prd_limiter_config *cfg = NULL;
    prd_limiter *lim;
    assert_ok(prd_limiter_config_new(&cfg));
    OUT_IS_NULL_ON_FAILURE(lim, prd_limiter_new(cfg, &lim), PRD_EINVAL); /* no rules */
    prd_limiter_config_free(cfg);
    prd_login_guard *g;
    OUT_IS_NULL_ON_FAILURE(g, prd_login_guard_new(1, &g), PRD_EINVAL);
    prd_token_store *store;
    OUT_IS_NULL_ON_FAILURE(store, prd_token_store_new_pg(NULL, &store), PRD_EINVAL);
    prd_logger *lg = NULL, *child;
    assert_ok(prd_logger_new(&lg));
    OUT_IS_NULL_ON_FAILURE(child, prd_log_with(lg, NULL, 3, &child), PRD_EINVAL);
    prd_logger_free(lg);
    prd_pg_config *pcfg;
    char *huge = malloc(PRD_PG_CONNINFO_MAX + 2);
    memset(huge, 'a', PRD_PG_CONNINFO_MAX + 1);
    huge[PRD_PG_CONNINFO_MAX + 1] = '\0';
    OUT_IS_NULL_ON_FAILURE(pcfg, prd_pg_config_new(huge, &pcfg), PRD_ETOOBIG);
    free(huge);
}

/* Records that can grow declare their size. A decision whose size is
 * unset or too small is refused before anything is counted; one declared
 * larger (a program built against a later header) is filled in its known
 * part with the rest untouched; the header writers read only a sized one. */
static void test_versioned_structs(void **state)
{
    (void)state;
    prd_limiter_config *cfg = NULL;
    prd_limiter *lim = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "ip", 2, 60000, PRD_RL_EXACT));
    assert_ok(prd_limiter_new(cfg, &lim));
    prd_limiter_config_free(cfg);
    prd_rl_key k[1] = {{"10.0.0.1", 8}};
    prd_rl_decision unset;
    memset(&unset, 0, sizeof unset);
    assert_status(prd_limiter_check_at(lim, k, 1, 1, 1000, &unset), PRD_EINVAL);
    unset.size = sizeof unset - 1;
    assert_status(prd_limiter_check_at(lim, k, 1, 1, 1000, &unset), PRD_EINVAL);
    prd_rl_reservation resv;
    assert_status(prd_limiter_reserve_at(lim, k, 1, 1, 1000, &unset, &resv), PRD_EINVAL);
    /* nothing was counted by the refused calls: two units remain */
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    assert_ok(prd_limiter_peek_at(lim, k, 1, 1, 1000, &d));
    assert_int_equal(d.remaining, 1);
    assert_int_equal(d.size, sizeof d);
    /* a later, larger decision: known fields written, the tail left alone */
    struct {
        prd_rl_decision d;
        uint64_t later_field;
    } bigger;
    memset(&bigger, 0xAB, sizeof bigger);
    bigger.d.size = sizeof bigger;
    assert_ok(prd_limiter_check_at(lim, k, 1, 1, 1000, &bigger.d));
    assert_int_equal(bigger.d.size, sizeof bigger);
    assert_int_equal(bigger.d.allowed, 1);
    assert_int_equal(bigger.d.remaining, 1);
    assert_true(bigger.later_field == UINT64_C(0xABABABABABABABAB));
    char buf[PRD_RL_HEADER_SIZE];
    assert_true(prd_limiter_ratelimit_header(lim, &d, buf, sizeof buf) > 0);
    d.size = 0;
    assert_int_equal(prd_limiter_ratelimit_header(lim, &d, buf, sizeof buf), 0);
    assert_int_equal(prd_limiter_problem_json(lim, &d, buf, sizeof buf), 0);
    d.allowed = 0;
    assert_int_equal(prd_limiter_retry_after_header(&d, buf, sizeof buf), 0);
    prd_limiter_free(lim);

    /* the login guard: the same rule for its decision */
    prd_login_guard *g = NULL;
    assert_ok(prd_login_guard_new(64, &g));
    prd_login_attempt att;
    memset(&unset, 0, sizeof unset);
    assert_status(prd_login_guard_check(g, "alice", 5, "10.0.0.1", 8, &att, &unset), PRD_EINVAL);
    assert_int_equal(prd_login_guard_count(g, PRD_LOGIN_COUNT_ALLOWED), 0);
    prd_rl_decision gd = PRD_RL_DECISION_INIT;
    assert_ok(prd_login_guard_check(g, "alice", 5, "10.0.0.1", 8, &att, &gd));
    assert_int_equal(gd.size, sizeof gd);
    assert_ok(prd_login_guard_success(g, &att));
    assert_ok(prd_login_guard_check(g, "alice", 5, "10.0.0.1", 8, &att, NULL)); /* NULL: fine */
    assert_ok(prd_login_guard_abandon(g, &att));
    prd_login_guard_free(g);
}

/* A list's first entry gives the stride: unset is refused, and a larger
 * stride (a later header's struct) is honoured entry by entry. */
static void test_session_list_stride(void **state)
{
    (void)state;
    prd_token_store *store = NULL;
    prd_token_sessions *s = NULL;
    assert_ok(prd_token_store_new_memory(64, &store));
    assert_ok(prd_token_sessions_new(store, "sess", &s));
    char t[PRD_OPAQUE_TOKEN_SIZE];
    for (int i = 0; i < 3; i++)
        assert_ok(prd_token_session_create(s, "carol", t, sizeof t));
    prd_session_info plain[4];
    memset(plain, 0, sizeof plain);
    size_t n = 0;
    assert_status(prd_token_session_list(s, "carol", plain, 4, &n), PRD_EINVAL);
    plain[0].size = SIZE_MAX / 2; /* uninitialised memory, not a later version */
    assert_status(prd_token_session_list(s, "carol", plain, 4, &n), PRD_EINVAL);
    assert_int_equal(plain[1].size, 0); /* nothing written */
    assert_ok(prd_token_session_list(s, "carol", NULL, 0, &n)); /* cap 0: count only */
    assert_int_equal(n, 3);
    struct wide {
        prd_session_info info;
        char later[24];
    } wide[4];
    memset(wide, 0x5A, sizeof wide);
    wide[0].info.size = sizeof wide[0];
    assert_ok(prd_token_session_list(s, "carol", &wide[0].info, 4, &n));
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wide[i].info.size, sizeof wide[0]);
        assert_int_equal(strlen(wide[i].info.id), 32);
        assert_int_equal(wide[i].info.kind, PRD_SESSION_KIND_SESSION);
        assert_int_equal(wide[i].later[0], 0x5A);
        assert_int_equal(wide[i].later[23], 0x5A);
    }
    assert_int_equal(wide[3].info.id[0], 0x5A); /* past the count: untouched */
    prd_session_info info[4] = {PRD_SESSION_INFO_INIT};
    assert_ok(prd_token_session_list(s, "carol", info, 4, &n));
    assert_true(strcmp(info[0].id, wide[0].info.id) == 0);
    assert_int_equal(info[2].size, sizeof info[2]);
    prd_token_sessions_free(s);
    prd_token_store_free(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_functions_match_macros),
        cmocka_unit_test(test_paserk_sizes_are_exact),
        cmocka_unit_test(test_opaque_token_size_is_exact),
        cmocka_unit_test(test_rfc3339_size_fits_the_longest),
        cmocka_unit_test(test_trace_ids_fill_their_sizes),
        cmocka_unit_test(test_encoding_sizes),
        cmocka_unit_test(test_out_is_null_on_failure),
        cmocka_unit_test(test_versioned_structs),
        cmocka_unit_test(test_session_list_stride),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
