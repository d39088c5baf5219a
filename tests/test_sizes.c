/* Buffer sizes: every PRD_*_SIZE macro has a function with the same
 * answer (bindings cannot read macros), and the longest text each output
 * can have fits its size with the NUL and not one byte less. */
#include "support/testutil.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_functions_match_macros),
        cmocka_unit_test(test_paserk_sizes_are_exact),
        cmocka_unit_test(test_opaque_token_size_is_exact),
        cmocka_unit_test(test_rfc3339_size_fits_the_longest),
        cmocka_unit_test(test_trace_ids_fill_their_sizes),
        cmocka_unit_test(test_encoding_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
