/* token: official PASETO v4 vectors, strict decoding, tampering, key rings,
 * claims, expiry and not-before at the boundaries. */
#include "support/testutil.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal/alloc.h"
#include "internal/token.h"

static json_t *vectors(void)
{
    char *text = tu_read_vector("paseto-v4.json", NULL);
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    free(text);
    if (!root)
        fail_msg("paseto-v4.json: %s", err.text);
    json_t *tests = json_object_get(root, "tests");
    assert_int_equal(json_array_size(tests), 17);
    json_incref(tests);
    json_decref(root);
    return tests;
}

static const char *jstr(json_t *t, const char *k)
{
    const char *s = json_string_value(json_object_get(t, k));
    return s ? s : "";
}

static prd_token_key *key_from_hex(prd_key_kind kind, const char *hex)
{
    prd_token_key *k = NULL;
    assert_ok(prd_token_key_from_hex(kind, hex, &k));
    return k;
}

/* ---- official vectors ---- */

static void test_official_vectors(void **state)
{
    (void)state;
    json_t *tests = vectors();
    size_t i;
    json_t *t;
    int local_ok = 0, public_ok = 0, failures = 0;
    json_array_foreach(tests, i, t) {
        const char *name = jstr(t, "name");
        const char *token = jstr(t, "token");
        const char *footer = jstr(t, "footer");
        const char *implicit = jstr(t, "implicit-assertion");
        int expect_fail = json_is_true(json_object_get(t, "expect-fail"));
        int is_local = json_object_get(t, "key") != NULL;
        unsigned char *payload = NULL, *got_footer = NULL;
        size_t plen = 0, flen = 0;
        const char *why = NULL;
        prd_status st;
        if (is_local) {
            prd_token_key *k = key_from_hex(PRD_KEY_LOCAL, jstr(t, "key"));
            st = prd_token_v4_decrypt(k, token, strlen(token), NULL, 0, implicit, strlen(implicit),
                                      0, &payload, &plen, &got_footer, &flen, &why);
            if (!expect_fail) {
                /* Encrypt with the vector's nonce: byte-exact token. */
                size_t nlen;
                unsigned char *nonce = tu_unhex(jstr(t, "nonce"), &nlen);
                char *made = NULL;
                assert_ok(prd__v4_encrypt_with_nonce(k, nonce, jstr(t, "payload"),
                                                     strlen(jstr(t, "payload")), footer,
                                                     strlen(footer), implicit, strlen(implicit),
                                                     &made));
                if (strcmp(made, token) != 0)
                    fail_msg("%s: encrypt made\n%s\nwant\n%s", name, made, token);
                prd_free(made);
                free(nonce);
                local_ok++;
            }
            prd_token_key_free(k);
        } else {
            prd_token_key *sk = key_from_hex(PRD_KEY_SECRET, jstr(t, "secret-key"));
            prd_token_key *pk = key_from_hex(PRD_KEY_PUBLIC, jstr(t, "public-key"));
            st = prd_token_v4_verify_signed(pk, token, strlen(token), NULL, 0, implicit,
                                            strlen(implicit), 0, &payload, &plen, &got_footer,
                                            &flen, &why);
            if (!expect_fail) {
                char *made = NULL;
                assert_ok(prd_token_v4_sign(sk, jstr(t, "payload"), strlen(jstr(t, "payload")),
                                            footer, strlen(footer), implicit, strlen(implicit),
                                            &made));
                if (strcmp(made, token) != 0)
                    fail_msg("%s: sign made\n%s\nwant\n%s", name, made, token);
                prd_free(made);
                public_ok++;
            }
            prd_token_key_free(sk);
            prd_token_key_free(pk);
        }
        if (expect_fail) {
            if (st == PRD_OK)
                fail_msg("%s: expected failure, token accepted", name);
            assert_int_equal(st, PRD_EBADTOKEN);
            assert_non_null(why);
            assert_null(payload);
            failures++;
        } else {
            if (st != PRD_OK)
                fail_msg("%s: rejected (%s)", name, why ? why : "?");
            assert_int_equal(plen, strlen(jstr(t, "payload")));
            assert_memory_equal(payload, jstr(t, "payload"), plen);
            assert_int_equal(flen, strlen(footer));
            assert_memory_equal(got_footer, footer, flen);
        }
        prd_free(payload);
        prd_free(got_footer);
    }
    assert_int_equal(local_ok, 9);
    assert_int_equal(public_ok, 3);
    assert_int_equal(failures, 5);
    json_decref(tests);
}

/* ---- strictness ---- */

static prd_token_key *local_key(void)
{
    return key_from_hex(PRD_KEY_LOCAL,
                        "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f");
}

static prd_status try_decrypt(const prd_token_key *k, const char *token, size_t len)
{
    unsigned char *p = NULL;
    size_t n = 0;
    prd_status st = prd_token_v4_decrypt(k, token, len, NULL, 0, NULL, 0, 0, &p, &n, NULL, NULL, NULL);
    prd_free(p);
    return st;
}

static void test_every_tampered_byte_rejected(void **state)
{
    (void)state;
    prd_token_key *lk = local_key();
    prd_token_key *sk = NULL, *pk = NULL;
    assert_ok(prd_token_key_generate(PRD_KEY_SECRET, &sk));
    assert_ok(prd_token_key_public(sk, &pk));
    const char msg[] = "{\"sub\":\"u1\",\"exp\":\"2030-01-01T00:00:00Z\"}";
    const char foot[] = "{\"kid\":\"x\"}";
    char *tokens[2] = {NULL, NULL};
    assert_ok(prd_token_v4_encrypt(lk, msg, sizeof msg - 1, foot, sizeof foot - 1, "ia", 2, &tokens[0]));
    assert_ok(prd_token_v4_sign(sk, msg, sizeof msg - 1, foot, sizeof foot - 1, "ia", 2, &tokens[1]));
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    int checked = 0;
    for (int which = 0; which < 2; which++) {
        char *tok = tokens[which];
        size_t len = strlen(tok);
        char *copy = malloc(len + 1);
        for (size_t pos = 0; pos < len; pos++) {
            /* Every other character at every position, including the header. */
            for (size_t a = 0; a < sizeof alphabet - 1; a += 7) {
                if (alphabet[a] == tok[pos])
                    continue;
                memcpy(copy, tok, len + 1);
                copy[pos] = alphabet[a];
                unsigned char *p = NULL;
                size_t n;
                prd_status st =
                    which == 0 ? prd_token_v4_decrypt(lk, copy, len, NULL, 0, "ia", 2, 0, &p, &n, NULL, NULL, NULL)
                               : prd_token_v4_verify_signed(pk, copy, len, NULL, 0, "ia", 2, 0, &p, &n, NULL, NULL, NULL);
                if (st != PRD_EBADTOKEN)
                    fail_msg("tampered %s at %zu ('%c') accepted", which ? "public" : "local", pos,
                             alphabet[a]);
                prd_free(p);
                checked++;
            }
        }
        /* Truncations and extensions. */
        for (size_t cut = 0; cut < len; cut++)
            assert_int_not_equal(which == 0 ? try_decrypt(lk, tok, cut) : PRD_EBADTOKEN, PRD_OK);
        memcpy(copy, tok, len + 1);
        free(copy);
        /* Wrong implicit assertion. */
        unsigned char *p = NULL;
        size_t n;
        assert_status(which == 0 ? prd_token_v4_decrypt(lk, tok, len, NULL, 0, "ib", 2, 0, &p, &n, NULL, NULL, NULL)
                                 : prd_token_v4_verify_signed(pk, tok, len, NULL, 0, NULL, 0, 0, &p, &n, NULL, NULL, NULL),
                      PRD_EBADTOKEN);
    }
    assert_true(checked > 1000);
    prd_free(tokens[0]);
    prd_free(tokens[1]);
    prd_token_key_free(lk);
    prd_token_key_free(sk);
    prd_token_key_free(pk);
}

static void test_malformed_tokens(void **state)
{
    (void)state;
    prd_token_key *k = local_key();
    char *good = NULL;
    assert_ok(prd_token_v4_encrypt(k, "{}", 2, "f", 1, NULL, 0, &good));
    assert_ok(try_decrypt(k, good, strlen(good)));
    char buf[512];
    const char *body = good + strlen("v4.local.");
    /* prefix + the good body (or nothing) + suffix */
    static const struct {
        const char *prefix;
        int with_body;
        const char *suffix;
    } bad[] = {
        {"", 0, ""},           {"v4.local.", 0, ""},     {"v4.local", 0, ""},
        {"v4.local..", 0, ""}, {"v3.local.", 1, ""},     {"V4.local.", 1, ""},
        {"v4.LOCAL.", 1, ""},  {"v4.public.", 1, ""},    {"v4.local.", 1, "."},
        {"v4.local.", 1, "..Zg"}, {"v4.local.", 1, "="}, {" v4.local.", 1, ""},
        {"v4.local.", 1, "\n"},  {"v4.local.AAAA", 0, ""}, {"v4.local.", 1, ".Zg="},
        {"v4.local.", 1, ".Zh"},
    };
    size_t body_len = (size_t)(strchr(body, '.') - body);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, "%s%.*s%s", bad[i].prefix, bad[i].with_body ? (int)body_len : 0,
                 body, bad[i].suffix);
        if (try_decrypt(k, buf, strlen(buf)) != PRD_EBADTOKEN)
            fail_msg("malformed token [%zu] '%s' not rejected", i, buf);
    }
    /* A NUL inside the given length. */
    char withnul[512];
    size_t len = strlen(good);
    memcpy(withnul, good, len);
    withnul[10] = '\0';
    assert_status(try_decrypt(k, withnul, len), PRD_EBADTOKEN);
    /* Over the size limit: refused before decoding. */
    unsigned char *p = NULL;
    size_t n;
    const char *why = NULL;
    assert_status(prd_token_v4_decrypt(k, good, strlen(good), NULL, 0, NULL, 0, 20, &p, &n, NULL,
                                       NULL, &why), PRD_EBADTOKEN);
    assert_non_null(strstr(why, "size"));
    /* Expected footer: exact match only. */
    assert_ok(prd_token_v4_decrypt(k, good, strlen(good), "f", 1, NULL, 0, 0, &p, &n, NULL, NULL, NULL));
    prd_free(p);
    assert_status(prd_token_v4_decrypt(k, good, strlen(good), "g", 1, NULL, 0, 0, &p, &n, NULL,
                                       NULL, NULL), PRD_EBADTOKEN);
    /* Wrong key kinds are the caller's error. */
    prd_token_key *sk = NULL;
    assert_ok(prd_token_key_generate(PRD_KEY_SECRET, &sk));
    assert_status(prd_token_v4_decrypt(sk, good, strlen(good), NULL, 0, NULL, 0, 0, &p, &n, NULL,
                                       NULL, NULL), PRD_EINVAL);
    char *t2 = NULL;
    assert_status(prd_token_v4_encrypt(sk, "x", 1, NULL, 0, NULL, 0, &t2), PRD_EINVAL);
    assert_status(prd_token_v4_sign(k, "x", 1, NULL, 0, NULL, 0, &t2), PRD_EINVAL);
    assert_null(t2);
    prd_token_key_free(sk);
    prd_free(good);
    prd_token_key_free(k);
}

static void test_out_of_memory_raw(void **state)
{
    (void)state;
    prd_token_key *k = local_key();
    int done = 0;
    for (long n = 1; n < 20 && !done; n++) {
        char *t = NULL;
        prd__alloc_fail_after(n);
        prd_status st = prd_token_v4_encrypt(k, "{}", 2, "f", 1, NULL, 0, &t);
        prd__alloc_fail_after(0);
        if (st == PRD_OK) {
            unsigned char *p = NULL;
            size_t plen;
            for (long m = 1; m < 20; m++) {
                prd__alloc_fail_after(m);
                prd_status st2 = prd_token_v4_decrypt(k, t, strlen(t), NULL, 0, NULL, 0, 0, &p,
                                                      &plen, NULL, NULL, NULL);
                prd__alloc_fail_after(0);
                if (st2 == PRD_OK) {
                    prd_free(p);
                    break;
                }
                assert_int_equal(st2, PRD_ENOMEM);
                assert_null(p);
            }
            prd_free(t);
            done = 1;
        } else {
            assert_int_equal(st, PRD_ENOMEM);
            assert_null(t);
        }
    }
    assert_true(done);
    prd_token_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_official_vectors),
        cmocka_unit_test(test_every_tampered_byte_rejected),
        cmocka_unit_test(test_malformed_tokens),
        cmocka_unit_test(test_out_of_memory_raw),
    };
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
