/* token keys: the official k4 PASERK vectors and key handling. */
#include "support/testutil.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static json_t *load_vectors(const char *file)
{
    char rel[256];
    snprintf(rel, sizeof rel, "paserk/%s", file);
    char *text = tu_read_vector(rel, NULL);
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    free(text);
    if (!root)
        fail_msg("%s: %s", file, err.text);
    json_t *tests = json_object_get(root, "tests");
    assert_true(json_is_array(tests));
    assert_true(json_array_size(tests) >= 3);
    json_incref(tests);
    json_decref(root);
    return tests;
}

static const char *str_or_null(json_t *t, const char *k)
{
    return json_string_value(json_object_get(t, k));
}

/* k4.local / k4.public / k4.secret: serialize the key, parse the PASERK. */
static void run_key_vectors(const char *file, prd_key_kind kind)
{
    json_t *tests = load_vectors(file);
    size_t i;
    json_t *t;
    int checked = 0;
    json_array_foreach(tests, i, t) {
        const char *name = str_or_null(t, "name");
        int expect_fail = json_is_true(json_object_get(t, "expect-fail"));
        const char *key_hex = str_or_null(t, "key");
        const char *paserk = str_or_null(t, "paserk");
        prd_token_key *k = NULL;
        if (expect_fail) {
            /* Must fail to serialize (bad key) and to parse (bad PASERK). */
            if (key_hex && prd_token_key_from_hex(kind, key_hex, &k) == PRD_OK)
                fail_msg("%s: key was accepted", name);
            if (paserk && prd_token_key_from_paserk(paserk, &k) == PRD_OK)
                fail_msg("%s: PASERK was accepted", name);
            assert_null(k);
            checked++;
            continue;
        }
        assert_ok(prd_token_key_from_hex(kind, key_hex, &k));
        char buf[PRD_PASERK_SIZE];
        size_t n = prd_token_key_paserk(k, buf, sizeof buf);
        if (strcmp(buf, paserk) != 0)
            fail_msg("%s: wrote %s want %s", name, buf, paserk);
        assert_int_equal(n, strlen(paserk));
        prd_token_key_free(k);
        k = NULL;
        assert_ok(prd_token_key_from_paserk(paserk, &k));
        assert_int_equal(prd_token_key_kind(k), kind);
        prd_token_key_paserk(k, buf, sizeof buf);
        assert_string_equal(buf, paserk);
        prd_token_key_free(k);
        checked++;
    }
    assert_int_equal((size_t)checked, json_array_size(tests));
    json_decref(tests);
}

static void test_k4_local(void **state)
{
    (void)state;
    run_key_vectors("k4.local.json", PRD_KEY_LOCAL);
}

static void test_k4_public(void **state)
{
    (void)state;
    run_key_vectors("k4.public.json", PRD_KEY_PUBLIC);
}

static void test_k4_secret(void **state)
{
    (void)state;
    run_key_vectors("k4.secret.json", PRD_KEY_SECRET);
}

static void run_id_vectors(const char *file, prd_key_kind kind)
{
    json_t *tests = load_vectors(file);
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t) {
        const char *name = str_or_null(t, "name");
        int expect_fail = json_is_true(json_object_get(t, "expect-fail"));
        const char *key_hex = str_or_null(t, "key");
        const char *want = str_or_null(t, "paserk");
        prd_token_key *k = NULL;
        prd_status st = prd_token_key_from_hex(kind, key_hex, &k);
        if (expect_fail) {
            if (st == PRD_OK)
                fail_msg("%s: bad key accepted for an id", name);
            continue;
        }
        assert_ok(st);
        char id[PRD_PASERK_ID_SIZE];
        size_t n = prd_token_key_id(k, id, sizeof id);
        if (strcmp(id, want) != 0)
            fail_msg("%s: id %s want %s", name, id, want);
        assert_int_equal(n, strlen(want));
        prd_token_key_free(k);
    }
    json_decref(tests);
}

static void test_k4_lid(void **state)
{
    (void)state;
    run_id_vectors("k4.lid.json", PRD_KEY_LOCAL);
}

static void test_k4_pid(void **state)
{
    (void)state;
    run_id_vectors("k4.pid.json", PRD_KEY_PUBLIC);
}

static void test_k4_sid(void **state)
{
    (void)state;
    run_id_vectors("k4.sid.json", PRD_KEY_SECRET);
}

static void test_generate_and_public(void **state)
{
    (void)state;
    prd_token_key *sk = NULL, *pk = NULL, *lk = NULL, *bad = NULL;
    assert_ok(prd_token_key_generate(PRD_KEY_SECRET, &sk));
    assert_ok(prd_token_key_public(sk, &pk));
    assert_int_equal(prd_token_key_kind(pk), PRD_KEY_PUBLIC);
    assert_ok(prd_token_key_generate(PRD_KEY_LOCAL, &lk));
    assert_status(prd_token_key_public(lk, &bad), PRD_EINVAL);
    assert_status(prd_token_key_generate(PRD_KEY_PUBLIC, &bad), PRD_EINVAL);
    assert_null(bad);
    char a[PRD_PASERK_SIZE], b[PRD_PASERK_SIZE];
    prd_token_key_paserk(sk, a, sizeof a);
    assert_int_equal(strncmp(a, "k4.secret.", 10), 0);
    assert_ok(prd_token_key_from_paserk(a, &bad));
    prd_token_key_paserk(bad, b, sizeof b);
    assert_string_equal(a, b);
    prd_token_key_free(bad);
    /* A secret key whose public half does not match its seed is refused. */
    unsigned char raw[64];
    memset(raw, 7, sizeof raw);
    assert_status(prd_token_key_from_bytes(PRD_KEY_SECRET, raw, 64, &bad), PRD_EINVAL);
    assert_ok(prd_token_key_from_bytes(PRD_KEY_SECRET, raw, 32, &bad));
    prd_token_key_free(bad);
    static const char *bad_paserk[] = {
        "",
        "k4.local.",
        "k4.local",
        "k4.lid.bqltbNc4JLUAmc9Xtpok-fBuI0dQN5_m3CD9W_nbh559",
        "k4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "k4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
        "K4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "k4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof bad_paserk / sizeof bad_paserk[0]; i++)
        if (prd_token_key_from_paserk(bad_paserk[i], &bad) != PRD_EINVAL)
            fail_msg("PASERK '%s' should be rejected", bad_paserk[i]);
    assert_int_equal(prd_token_key_paserk(NULL, a, sizeof a), 0);
    assert_int_equal(prd_token_key_id(NULL, a, sizeof a), 0);
    prd_token_key_free(sk);
    prd_token_key_free(pk);
    prd_token_key_free(lk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_k4_local),  cmocka_unit_test(test_k4_public),
        cmocka_unit_test(test_k4_secret), cmocka_unit_test(test_k4_lid),
        cmocka_unit_test(test_k4_pid),    cmocka_unit_test(test_k4_sid),
        cmocka_unit_test(test_generate_and_public),
    };
    return cmocka_run_group_tests_name("paserk", tests, NULL, NULL);
}
