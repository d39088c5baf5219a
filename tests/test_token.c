/* token: official PASETO v4 vectors, strict decoding, tampering, key rings,
 * claims, expiry and not-before at the boundaries. */
#include "support/testutil.h"

#include <pthread.h>
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
        /* Every truncation, with the right implicit assertion (so only
         * the cut can be why it fails): the whole token opens, no prefix
         * of it does. */
        for (size_t cut = 0; cut <= len; cut++) {
            unsigned char *p = NULL;
            size_t n;
            prd_status st =
                which == 0 ? prd_token_v4_decrypt(lk, tok, cut, NULL, 0, "ia", 2, 0, &p, &n, NULL, NULL, NULL)
                           : prd_token_v4_verify_signed(pk, tok, cut, NULL, 0, "ia", 2, 0, &p, &n, NULL, NULL, NULL);
            prd_free(p);
            if ((st == PRD_OK) != (cut == len))
                fail_msg("%s token cut to %zu of %zu: %s", which ? "public" : "local", cut, len,
                         prd_status_name(st));
        }
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


/* ---- key rings, claims and verification ---- */

#define T0 (INT64_C(1800000000) * 1000000000) /* 2027-01-15T08:00:00Z */
#define SEC INT64_C(1000000000)

struct fixture {
    prd_keyring *ring;
    prd_clock *clock;
    prd_token_verifier *v;
};

static void fixture_init(struct fixture *f, prd_token_purpose purpose)
{
    assert_ok(prd_keyring_new(&f->ring));
    prd_token_key *k = NULL;
    assert_ok(prd_token_key_generate(purpose == PRD_TOKEN_LOCAL ? PRD_KEY_LOCAL : PRD_KEY_SECRET, &k));
    assert_ok(prd_keyring_add(f->ring, k, 1));
    prd_token_key_free(k);
    assert_ok(prd_clock_manual_new(T0, 1, &f->clock));
    assert_ok(prd_token_verifier_new(f->ring, purpose, &f->v));
    assert_ok(prd_token_verifier_set_clock(f->v, f->clock));
}

static void fixture_free(struct fixture *f)
{
    prd_token_verifier_free(f->v);
    prd_clock_free(f->clock);
    prd_keyring_free(f->ring);
}

static char *issue(struct fixture *f, prd_token_purpose purpose, int64_t ttl_ms, int64_t nbf)
{
    prd_token_claims *c = NULL;
    assert_ok(prd_token_claims_new(&c));
    assert_ok(prd_token_claims_set_ttl(c, ttl_ms));
    assert_ok(prd_token_claims_set_string(c, "sub", "user-1"));
    if (nbf)
        assert_ok(prd_token_claims_set_not_before(c, nbf));
    char *t = NULL;
    assert_ok(prd_token_issue(f->ring, purpose, c, NULL, 0, NULL, 0, f->clock, &t));
    prd_token_claims_free(c);
    return t;
}

static prd_status check(struct fixture *f, const char *token)
{
    prd_token_verified *r = NULL;
    prd_status st = prd_token_verify(f->v, token, strlen(token), NULL, 0, &r, NULL);
    if (st == PRD_OK) {
        assert_non_null(r);
        assert_true(json_is_object(prd_token_verified_claims(r)));
    } else {
        assert_null(r);
    }
    prd_token_verified_free(r);
    return st;
}

static void test_expiry_boundaries(void **state)
{
    (void)state;
    for (int purpose = PRD_TOKEN_LOCAL; purpose <= PRD_TOKEN_PUBLIC; purpose++) {
        struct fixture f;
        fixture_init(&f, (prd_token_purpose)purpose);
        assert_ok(prd_token_verifier_set_leeway(f.v, 10000, 5000)); /* exp 10 s, nbf 5 s */
        char *t = issue(&f, (prd_token_purpose)purpose, 60000, 0);  /* exp = T0 + 60 s */
        assert_ok(check(&f, t));
        assert_ok(prd_clock_manual_set_wall(f.clock, T0 + 70 * SEC - 1));
        assert_ok(check(&f, t));                          /* 1 ns before exp + leeway */
        assert_ok(prd_clock_manual_set_wall(f.clock, T0 + 70 * SEC));
        assert_status(check(&f, t), PRD_EEXPIRED);       /* exactly at exp + leeway */
        assert_ok(prd_token_verifier_set_leeway(f.v, 0, 5000));
        assert_ok(prd_clock_manual_set_wall(f.clock, T0 + 60 * SEC - 1));
        assert_ok(check(&f, t));
        assert_ok(prd_clock_manual_set_wall(f.clock, T0 + 60 * SEC));
        assert_status(check(&f, t), PRD_EEXPIRED);
        prd_free(t);

        /* nbf = T0 + 100 s, leeway 5 s: valid from T0 + 95 s. */
        assert_ok(prd_clock_manual_set_wall(f.clock, T0));
        t = issue(&f, (prd_token_purpose)purpose, 3600000, T0 + 100 * SEC);
        assert_ok(prd_clock_manual_set_wall(f.clock, T0 + 95 * SEC - 1));
        assert_status(check(&f, t), PRD_ENOTYET);
        assert_ok(prd_clock_manual_set_wall(f.clock, T0 + 95 * SEC));
        assert_ok(check(&f, t));
        /* A clock that jumped back before iat beyond the leeway: not yet valid. */
        assert_ok(prd_clock_manual_set_wall(f.clock, T0 - 6 * SEC));
        assert_status(check(&f, t), PRD_ENOTYET);
        prd_free(t);
        fixture_free(&f);
    }
}

static void test_expiry_is_mandatory(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, PRD_TOKEN_LOCAL);
    prd_token_claims *c = NULL;
    char *t = NULL;
    assert_ok(prd_token_claims_new(&c));
    assert_status(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, NULL, 0, NULL, 0, f.clock, &t), PRD_EINVAL);
    assert_null(t);
    assert_status(prd_token_claims_set_ttl(c, 0), PRD_EINVAL);
    assert_status(prd_token_claims_set_ttl(c, -5), PRD_EINVAL);
    assert_status(prd_token_claims_set_int(c, "exp", 5), PRD_EINVAL);
    assert_status(prd_token_claims_set_string(c, "iat", "x"), PRD_EINVAL);
    assert_status(prd_token_claims_set_string(c, "nbf", "x"), PRD_EINVAL);
    assert_status(prd_token_claims_set_string(c, "bad", "\xff\xfe"), PRD_EINVAL);
    /* An expiry in the past is refused too. */
    assert_ok(prd_token_claims_set_expiry(c, T0 - SEC));
    assert_status(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, NULL, 0, NULL, 0, f.clock, &t), PRD_EINVAL);
    /* Beyond ten years is refused, as set_ttl refuses it. */
    assert_ok(prd_token_claims_set_expiry(c, T0 + INT64_C(10) * 367 * 86400 * SEC));
    assert_status(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, NULL, 0, NULL, 0, f.clock, &t), PRD_EINVAL);
    assert_status(prd_token_claims_set_ttl(c, INT64_C(10) * 367 * 86400 * 1000), PRD_EINVAL);
    assert_ok(prd_token_claims_set_expiry(c, T0 + INT64_C(9) * 365 * 86400 * SEC));
    assert_ok(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, NULL, 0, NULL, 0, f.clock, &t));
    prd_free(t);
    assert_ok(prd_token_claims_set_expiry(c, T0 + SEC));
    assert_ok(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, NULL, 0, NULL, 0, f.clock, &t));
    assert_ok(check(&f, t));
    prd_free(t);
    /* A footer its own verifier would refuse to parse is not issued. */
    json_t *deep = json_pack("{s:{s:{s:{s:{s:i}}}}}", "a", "b", "c", "d", "e", 1);
    assert_status(prd_token_issue_json(f.ring, PRD_TOKEN_LOCAL, c, deep, NULL, 0, f.clock, &t),
                  PRD_ETOOBIG);
    json_decref(deep);
    json_t *big = json_object();
    char filler[1100];
    memset(filler, 'x', sizeof filler - 1);
    filler[sizeof filler - 1] = '\0';
    json_object_set_new(big, "note", json_string(filler));
    assert_status(prd_token_issue_json(f.ring, PRD_TOKEN_LOCAL, c, big, NULL, 0, f.clock, &t),
                  PRD_ETOOBIG);
    json_decref(big);
    json_t *fine = json_pack("{s:{s:{s:i}}}", "a", "b", "c", 1); /* 3 deep with kid's object */
    assert_ok(prd_token_issue_json(f.ring, PRD_TOKEN_LOCAL, c, fine, NULL, 0, f.clock, &t));
    assert_ok(check(&f, t));
    json_decref(fine);
    prd_free(t);
    prd_token_claims_free(c);
    /* A token from elsewhere without exp, or with a numeric one, is invalid. */
    prd_token_key *k = local_key();
    prd_keyring *ring = NULL;
    prd_token_verifier *v = NULL;
    assert_ok(prd_keyring_new(&ring));
    assert_ok(prd_keyring_add(ring, k, 1));
    assert_ok(prd_token_verifier_new(ring, PRD_TOKEN_LOCAL, &v));
    static const char *payloads[] = {"{\"sub\":\"x\"}", "{\"exp\":1900000000}",
                                     "{\"exp\":\"2040-13-01T00:00:00Z\"}", "[1,2]", "\"str\"",
                                     "{\"exp\":\"2040-01-01T00:00:00Z\",\"exp\":\"2041-01-01T00:00:00Z\"}",
                                     "not json"};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char *tok = NULL;
        assert_ok(prd_token_v4_encrypt(k, payloads[i], strlen(payloads[i]), NULL, 0, NULL, 0, &tok));
        prd_token_verified *r = NULL;
        const char *why = NULL;
        if (prd_token_verify(v, tok, strlen(tok), NULL, 0, &r, &why) != PRD_EBADTOKEN)
            fail_msg("payload %s accepted", payloads[i]);
        assert_non_null(why);
        prd_free(tok);
    }
    prd_token_verifier_free(v);
    prd_keyring_free(ring);
    prd_token_key_free(k);
    fixture_free(&f);
}

/* Claims that expire a minute after issue. */
static prd_token_claims *minute_claims(void)
{
    prd_token_claims *c = NULL;
    assert_ok(prd_token_claims_new(&c));
    assert_ok(prd_token_claims_set_ttl(c, 60000));
    return c;
}

static void test_issuer_audience_required(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, PRD_TOKEN_PUBLIC);
    prd_token_claims *c = minute_claims();
    assert_ok(prd_token_claims_set_string(c, "iss", "https://auth.example"));
    json_t *aud = json_pack("[ss]", "api", "billing");
    assert_ok(prd_token_claims_set_json(c, "aud", aud));
    json_decref(aud);
    char *t = NULL;
    assert_ok(prd_token_issue(f.ring, PRD_TOKEN_PUBLIC, c, NULL, 0, NULL, 0, f.clock, &t));
    assert_ok(check(&f, t));
    assert_ok(prd_token_verifier_set_issuer(f.v, "https://auth.example"));
    assert_ok(prd_token_verifier_add_audience(f.v, "web"));
    assert_status(check(&f, t), PRD_EBADTOKEN); /* aud has no "web" */
    assert_ok(prd_token_verifier_add_audience(f.v, "billing"));
    assert_ok(check(&f, t));                   /* one of several */
    assert_ok(prd_token_verifier_require_claim(f.v, "sub"));
    assert_status(check(&f, t), PRD_EBADTOKEN); /* no sub */
    prd_free(t);
    assert_ok(prd_token_claims_set_string(c, "sub", "u"));
    assert_ok(prd_token_claims_set_string(c, "aud", "billing")); /* a single string */
    assert_ok(prd_token_issue(f.ring, PRD_TOKEN_PUBLIC, c, NULL, 0, NULL, 0, f.clock, &t));
    assert_ok(check(&f, t));
    prd_free(t);
    assert_ok(prd_token_claims_set_string(c, "iss", "https://evil.example"));
    assert_ok(prd_token_issue(f.ring, PRD_TOKEN_PUBLIC, c, NULL, 0, NULL, 0, f.clock, &t));
    assert_status(check(&f, t), PRD_EBADTOKEN);
    prd_free(t);
    prd_token_claims_free(c);
    fixture_free(&f);
}

static void test_rotation(void **state)
{
    (void)state;
    for (int purpose = PRD_TOKEN_LOCAL; purpose <= PRD_TOKEN_PUBLIC; purpose++) {
        struct fixture f;
        fixture_init(&f, (prd_token_purpose)purpose);
        char *old = issue(&f, (prd_token_purpose)purpose, 60000, 0);
        /* The footer carries the PASERK id of the key. */
        struct prd__token_parts parts;
        assert_ok(prd__token_split(old, strlen(old), &parts, NULL));
        unsigned char *foot = NULL;
        size_t flen;
        assert_ok(prd__token_footer(&parts, &foot, &flen, NULL));
        assert_non_null(strstr((char *)foot, purpose == PRD_TOKEN_LOCAL ? "\"kid\":\"k4.lid." : "\"kid\":\"k4.pid."));
        char old_kid[64];
        const char *q = strstr((char *)foot, "k4.");
        snprintf(old_kid, sizeof old_kid, "%.*s", (int)strcspn(q, "\""), q);
        prd_free(foot);

        prd_token_key *k2 = NULL;
        assert_ok(prd_token_key_generate(purpose == PRD_TOKEN_LOCAL ? PRD_KEY_LOCAL : PRD_KEY_SECRET, &k2));
        assert_ok(prd_keyring_add(f.ring, k2, 1));
        assert_status(prd_keyring_add(f.ring, k2, 0), PRD_EINVAL); /* same id twice */
        char *fresh = issue(&f, (prd_token_purpose)purpose, 60000, 0);
        assert_ok(check(&f, old));   /* retired key still verifies */
        assert_ok(check(&f, fresh));
        assert_int_equal(prd_keyring_count(f.ring), 2);
        assert_ok(prd_keyring_remove(f.ring, old_kid));
        assert_status(prd_keyring_remove(f.ring, old_kid), PRD_ENOTFOUND);
        assert_status(check(&f, old), PRD_EBADTOKEN); /* removed: no longer verifies */
        assert_ok(check(&f, fresh));
        /* Removing the current key: issuing fails until another is current. */
        char kid2[PRD_PASERK_ID_SIZE];
        prd_token_key_id(k2, kid2, sizeof kid2);
        assert_ok(prd_keyring_remove(f.ring, kid2));
        prd_token_claims *c = NULL;
        char *t = NULL;
        assert_ok(prd_token_claims_new(&c));
        assert_ok(prd_token_claims_set_ttl(c, 1000));
        assert_status(prd_token_issue(f.ring, (prd_token_purpose)purpose, c, NULL, 0, NULL, 0, f.clock, &t), PRD_EINVAL);
        prd_token_claims_free(c);
        prd_token_key_free(k2);
        prd_free(old);
        prd_free(fresh);
        fixture_free(&f);
    }
}

static void test_hostile_footers(void **state)
{
    (void)state;
    prd_token_key *k = local_key();
    prd_keyring *ring = NULL;
    prd_token_verifier *v = NULL;
    assert_ok(prd_keyring_new(&ring));
    assert_ok(prd_keyring_add(ring, k, 1));
    assert_ok(prd_token_verifier_new(ring, PRD_TOKEN_LOCAL, &v));
    const char *payload = "{\"exp\":\"2200-01-01T00:00:00Z\"}";
    char deep[64] = "";
    for (int i = 0; i < 10; i++)
        strcat(deep, "[");
    char *big = malloc(3000);
    memset(big, 'a', 2999);
    big[0] = '{';
    big[2999] = '\0';
    struct {
        const char *footer;
        const char *why_part;
    } cases[] = {
        {deep, NULL},                              /* not an object: has no kid, fine */
        {"{\"a\":[[[[[1]]]]]}", "nested"},         /* depth 6 > 4 */
        {big, "larger"},
        {"{\"kid\":\"a\",\"kid\":\"b\"}", "JSON"}, /* duplicate kid: ambiguous */
        {"{\"kid\":7}", "kid"},
        {"{broken", "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *tok = NULL;
        assert_ok(prd_token_v4_encrypt(k, payload, strlen(payload), cases[i].footer,
                                       strlen(cases[i].footer), NULL, 0, &tok));
        prd_token_verified *r = NULL;
        const char *why = NULL;
        prd_status st = prd_token_verify(v, tok, strlen(tok), NULL, 0, &r, &why);
        if (cases[i].why_part) {
            if (st != PRD_EBADTOKEN || !strstr(why, cases[i].why_part))
                fail_msg("footer case %zu: got %s (%s)", i, prd_status_name(st), why ? why : "");
        } else {
            assert_ok(st);
        }
        prd_token_verified_free(r);
        prd_free(tok);
    }
    free(big);
    /* Size limit is checked before anything else. */
    assert_ok(prd_token_verifier_set_max_size(v, 100));
    char *tok = NULL;
    assert_ok(prd_token_v4_encrypt(k, payload, strlen(payload), NULL, 0, NULL, 0, &tok));
    prd_token_verified *r = NULL;
    const char *why = NULL;
    assert_status(prd_token_verify(v, tok, strlen(tok), NULL, 0, &r, &why), PRD_EBADTOKEN);
    assert_non_null(strstr(why, "size"));
    prd_free(tok);
    prd_token_verifier_free(v);
    prd_keyring_free(ring);
    prd_token_key_free(k);
}

struct rot_arg {
    struct fixture *f;
    char *token;
    int errors;
};

static void *verify_loop(void *p)
{
    struct rot_arg *a = p;
    for (int i = 0; i < 300; i++) {
        prd_token_verified *r = NULL;
        if (prd_token_verify(a->f->v, a->token, strlen(a->token), NULL, 0, &r, NULL) != PRD_OK)
            a->errors++;
        prd_token_verified_free(r);
    }
    return NULL;
}

static void test_rotation_under_concurrent_verification(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, PRD_TOKEN_LOCAL);
    char *t = issue(&f, PRD_TOKEN_LOCAL, 600000, 0);
    struct rot_arg args[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (struct rot_arg){&f, t, 0};
        assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &args[i]), 0);
    }
    /* Meanwhile: keys come and go; the token's key stays. */
    for (int i = 0; i < 50; i++) {
        prd_token_key *k = NULL;
        char kid[PRD_PASERK_ID_SIZE];
        assert_ok(prd_token_key_generate(PRD_KEY_LOCAL, &k));
        prd_token_key_id(k, kid, sizeof kid);
        assert_ok(prd_keyring_add(f.ring, k, 0));
        assert_ok(prd_keyring_remove(f.ring, kid));
        prd_token_key_free(k);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].errors, 0);
    }
    prd_free(t);
    fixture_free(&f);
}

/* The JSON-text forms (what bindings call) do what the jansson forms do,
 * and refuse what is not one JSON value (or not an object, for footers). */
static void test_json_text_forms(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, PRD_TOKEN_LOCAL);
    prd_token_claims *c = minute_claims();
    const char *roles = "[\"admin\", {\"scope\": \"ops\"}]";
    assert_ok(prd_token_claims_set_json_text(c, "roles", roles, strlen(roles)));
    assert_ok(prd_token_claims_set_json_text(c, "n", "12", 2));
    assert_ok(prd_token_claims_set_json_text(c, "s", "\"h\\u00e9\"", 9));
    assert_ok(prd_token_claims_set_json_text(c, "z", "null", 4));
    /* Not one JSON value, or not one we sign. */
    const char *bad[] = {"", "[1,", "{\"a\":1,\"a\":2}", "1 2", "\"\\u0000\"", "\"\xff\"", "nul"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_status(prd_token_claims_set_json_text(c, "bad", bad[i], strlen(bad[i])), PRD_EINVAL);
    /* len counts: the text is not read past it. */
    assert_ok(prd_token_claims_set_json_text(c, "cut", "[1]garbage", 3));
    assert_status(prd_token_claims_set_json_text(c, NULL, "1", 1), PRD_EINVAL);
    assert_status(prd_token_claims_set_json_text(c, "x", NULL, 0), PRD_EINVAL);
    assert_status(prd_token_claims_set_json_text(c, "exp", "\"2030-01-01T00:00:00Z\"", 22), PRD_EINVAL);

    const char *extra = "{\"tenant\":\"t1\",\"tags\":[1,2]}";
    char *t = NULL;
    assert_ok(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, extra, strlen(extra), NULL, 0, f.clock, &t));
    prd_token_verified *r = NULL;
    assert_ok(prd_token_verify(f.v, t, strlen(t), NULL, 0, &r, NULL));
    const char *claims = prd_token_verified_claims_text(r);
    assert_non_null(strstr(claims, "\"roles\":[\"admin\",{\"scope\":\"ops\"}]"));
    assert_non_null(strstr(claims, "\"n\":12"));
    assert_non_null(strstr(claims, "\"cut\":[1]"));
    json_t *j = prd_token_verified_claims(r); /* the jansson view agrees */
    assert_string_equal(json_string_value(json_object_get(j, "s")), "h\xc3\xa9");
    assert_true(json_is_null(json_object_get(j, "z")));
    size_t flen = 0;
    const char *foot = prd_token_verified_footer(r, &flen);
    assert_non_null(strstr(foot, "\"tenant\":\"t1\""));
    assert_non_null(strstr(foot, "\"kid\":\"k4.lid."));
    prd_token_verified_free(r);
    prd_free(t);
    /* Footers: an object, without kid, that fits; nothing else. */
    const char *not_footers[] = {"[1]", "3", "{\"kid\":\"mine\"}", "{\"a\":1,\"a\":2}", "{", "{} x"};
    for (size_t i = 0; i < sizeof not_footers / sizeof not_footers[0]; i++) {
        assert_status(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, not_footers[i],
                                      strlen(not_footers[i]), NULL, 0, f.clock, &t),
                      PRD_EINVAL);
        assert_null(t);
    }
    assert_status(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, NULL, 5, NULL, 0, f.clock, &t),
                  PRD_EINVAL);
    /* Longer than any footer the verifier parses: refused unparsed. */
    size_t big_len = 1 << 20;
    char *big = malloc(big_len);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    assert_status(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, big, big_len, NULL, 0, f.clock, &t),
                  PRD_ETOOBIG);
    free(big);
    prd_token_claims_free(c);
    fixture_free(&f);
}

static void test_claims_payload_footer_extra_and_ring_admin(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, PRD_TOKEN_LOCAL);
    prd_token_claims *c = NULL;
    assert_ok(prd_token_claims_new(&c));
    assert_ok(prd_token_claims_set_ttl(c, 60000));
    assert_ok(prd_token_claims_set_int(c, "n", -42));
    assert_ok(prd_token_claims_set_string(c, "jti", "fixed-id"));
    assert_ok(prd_token_claims_set_not_before(c, T0));
    /* The payload text: caller's claims, then iat/exp/nbf; our jti not added over theirs. */
    char *p = NULL;
    assert_ok(prd_token_claims_payload(c, f.clock, &p));
    assert_string_equal(p, "{\"n\":-42,\"jti\":\"fixed-id\",\"iat\":\"2027-01-15T08:00:00Z\","
                           "\"exp\":\"2027-01-15T08:01:00Z\",\"nbf\":\"2027-01-15T08:00:00Z\"}");
    prd_free(p);
    /* An empty claims object still makes valid JSON. */
    prd_token_claims *e = NULL;
    assert_ok(prd_token_claims_new(&e));
    assert_ok(prd_token_claims_set_ttl(e, 1000));
    assert_ok(prd_token_claims_payload(e, f.clock, &p));
    json_t *j = json_loads(p, JSON_REJECT_DUPLICATES, NULL);
    assert_true(json_is_object(j));
    assert_int_equal(json_object_size(j), 3); /* iat, exp, jti */
    json_decref(j);
    prd_free(p);
    prd_token_claims_free(e);
    /* Footer extras are merged with kid; a kid of their own is refused. */
    json_t *extra = json_pack("{s:s}", "tenant", "t1");
    char *t = NULL;
    assert_ok(prd_token_issue_json(f.ring, PRD_TOKEN_LOCAL, c, extra, "ia", 2, f.clock, &t));
    prd_token_verified *r = NULL;
    assert_ok(prd_token_verify(f.v, t, strlen(t), "ia", 2, &r, NULL));
    size_t flen = 0;
    const char *foot = prd_token_verified_footer(r, &flen);
    assert_non_null(strstr(foot, "\"tenant\":\"t1\""));
    assert_non_null(strstr(foot, "\"kid\":\"k4.lid."));
    assert_int_equal(prd_token_verified_expiry(r), T0 + 60 * SEC);
    assert_non_null(strstr(prd_token_verified_claims_text(r), "\"n\":-42"));
    prd_token_verified_free(r);
    prd_free(t);
    json_t *bad_extra = json_pack("{s:s}", "kid", "mine");
    assert_status(prd_token_issue_json(f.ring, PRD_TOKEN_LOCAL, c, bad_extra, NULL, 0, f.clock, &t), PRD_EINVAL);
    json_decref(bad_extra);
    json_t *not_obj = json_integer(3);
    assert_status(prd_token_issue_json(f.ring, PRD_TOKEN_LOCAL, c, not_obj, NULL, 0, f.clock, &t), PRD_EINVAL);
    json_decref(not_obj);
    json_decref(extra);
    /* A public-purpose issue with only a local key in the ring fails. */
    assert_status(prd_token_issue(f.ring, PRD_TOKEN_PUBLIC, c, NULL, 0, NULL, 0, f.clock, &t), PRD_EINVAL);
    /* Ring administration. */
    prd_token_key *pk = NULL, *sk = NULL;
    assert_ok(prd_token_key_generate(PRD_KEY_SECRET, &sk));
    assert_ok(prd_token_key_public(sk, &pk));
    assert_status(prd_keyring_add(f.ring, pk, 1), PRD_EINVAL); /* public keys cannot issue */
    assert_ok(prd_keyring_add(f.ring, pk, 0));
    char pid[PRD_PASERK_ID_SIZE], sid[PRD_PASERK_ID_SIZE];
    prd_token_key_id(pk, pid, sizeof pid);
    prd_token_key_id(sk, sid, sizeof sid);
    assert_status(prd_keyring_set_current(f.ring, pid), PRD_EINVAL);
    assert_status(prd_keyring_set_current(f.ring, "k4.lid.nothing"), PRD_ENOTFOUND);
    assert_status(prd_keyring_add(f.ring, sk, 1), PRD_EINVAL); /* same pid as the public key */
    assert_ok(prd_keyring_remove(f.ring, pid));
    assert_ok(prd_keyring_add(f.ring, sk, 0));
    assert_ok(prd_keyring_set_current(f.ring, sid)); /* by sid */
    assert_ok(prd_token_issue(f.ring, PRD_TOKEN_PUBLIC, c, NULL, 0, NULL, 0, f.clock, &t));
    prd_free(t);
    assert_int_equal(prd_keyring_count(f.ring), 2);
    assert_int_equal(prd_keyring_count(NULL), 0);
    for (int i = 0; i < PRD_KEYRING_MAX - 2; i++) {
        prd_token_key *k = NULL;
        assert_ok(prd_token_key_generate(PRD_KEY_LOCAL, &k));
        assert_ok(prd_keyring_add(f.ring, k, 0));
        prd_token_key_free(k);
    }
    prd_token_key *k = NULL;
    assert_ok(prd_token_key_generate(PRD_KEY_LOCAL, &k));
    assert_status(prd_keyring_add(f.ring, k, 0), PRD_ETOOBIG);
    prd_token_key_free(k);
    /* With several local keys and no kid, verification refuses to guess. */
    char *raw = NULL;
    prd_token_key *any = NULL;
    assert_ok(prd_token_key_generate(PRD_KEY_LOCAL, &any));
    assert_ok(prd_token_v4_encrypt(any, "{}", 2, NULL, 0, NULL, 0, &raw));
    const char *why = NULL;
    assert_status(prd_token_verify(f.v, raw, strlen(raw), NULL, 0, &r, &why), PRD_EBADTOKEN);
    assert_non_null(strstr(why, "key id"));
    prd_free(raw);
    prd_token_key_free(any);
    prd_token_key_free(sk);
    prd_token_key_free(pk);
    /* Verifier setters validate. */
    assert_status(prd_token_verifier_set_leeway(f.v, -1, 0), PRD_EINVAL);
    assert_status(prd_token_verifier_set_max_size(f.v, 10), PRD_EINVAL);
    assert_status(prd_token_verifier_set_issuer(f.v, ""), PRD_EINVAL);
    assert_status(prd_token_verifier_add_audience(f.v, NULL), PRD_EINVAL);
    for (int i = 0; i < 16; i++)
        assert_ok(prd_token_verifier_require_claim(f.v, "x"));
    assert_status(prd_token_verifier_require_claim(f.v, "x"), PRD_ETOOBIG);
    prd_token_claims_free(c);
    fixture_free(&f);
}

static void test_rfc3339(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t want_s;
        int64_t want_frac;
    } ok[] = {
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2022-01-01T00:00:00+00:00", 1640995200, 0},
        {"2022-01-01T01:00:00+01:00", 1640995200, 0},
        {"2021-12-31T19:00:00-05:00", 1640995200, 0},
        {"2024-02-29T12:00:00.5Z", 1709208000, 500000000},
        {"2024-02-29T12:00:00.123456789Z", 1709208000, 123456789},
        {"2016-12-31T23:59:60Z", 1483228799, 999999999},
        {"1969-12-31T23:59:59Z", -1, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ns;
        if (prd_rfc3339_parse(ok[i].s, strlen(ok[i].s), &ns) != PRD_OK)
            fail_msg("should parse %s", ok[i].s);
        assert_int_equal(ns, ok[i].want_s * 1000000000 + ok[i].want_frac);
    }
    static const char *bad[] = {
        "", "2022-01-01", "2022-01-01T00:00:00", "2022-01-01 00:00:00Z", "2022-1-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2022-04-31T00:00:00Z", "2022-13-01T00:00:00Z",
        "2022-00-01T00:00:00Z", "2022-01-00T00:00:00Z", "2022-01-01T24:00:00Z",
        "2022-01-01T00:60:00Z", "2022-01-01T00:00:61Z", "2022-01-01T00:00:00.Z",
        "2022-01-01T00:00:00.1234567890Z", "2022-01-01T00:00:00+0100", "2022-01-01T00:00:00+24:00",
        "2022-01-01T00:00:00+01:60", "2022-01-01T00:00:00ZZ", "+2022-01-01T00:00:00Z",
        "2022-01-01T00:00:00Z ", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        "2022-01-01T00:00:00UTC",
        /* lower-case t and z: RFC 3339 tolerates them, PASETO's claims do not */
        "2024-02-29t12:00:00.123456789z", "2022-01-01t00:00:00Z", "2022-01-01T00:00:00z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns;
        if (prd_rfc3339_parse(bad[i], strlen(bad[i]), &ns) != PRD_EINVAL)
            fail_msg("should reject '%s'", bad[i]);
    }
    char buf[PRD_RFC3339_SIZE];
    assert_int_equal(prd_rfc3339_format(INT64_C(1640995200) * 1000000000 + 123456789, 6, buf, sizeof buf), 27);
    assert_string_equal(buf, "2022-01-01T00:00:00.123456Z");
    prd_rfc3339_format(-1, 3, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(prd_rfc3339_format(0, 2, buf, sizeof buf), 0);
    /* Round trip over a spread of instants. */
    for (int64_t t = -INT64_C(2000000000) * 1000000000; t < INT64_C(9000000000) * 1000000000;
         t += INT64_C(123456789123456789)) {
        int64_t back;
        size_t n = prd_rfc3339_format(t, 9, buf, sizeof buf);
        assert_ok(prd_rfc3339_parse(buf, n, &back));
        assert_int_equal(back, t);
    }
}

/* The revocation list in this process: a revoked jti is refused by the
 * verifier, others pass; a token without a jti is refused when a list is
 * in use; entries go a day after their token's expiry; the bound on
 * entries refuses, never drops. */
static void test_revocation_list(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, PRD_TOKEN_LOCAL);
    prd_token_revocations *rv = NULL;
    assert_ok(prd_token_revocations_new(NULL, &rv));
    assert_ok(prd_token_revocations_set_clock(rv, f.clock));
    assert_ok(prd_token_verifier_set_revocations(f.v, rv));
    char *a = issue(&f, PRD_TOKEN_LOCAL, 60000, 0), *b = issue(&f, PRD_TOKEN_LOCAL, 60000, 0);
    assert_ok(check(&f, a));
    prd_token_verified *r = NULL;
    assert_ok(prd_token_verify(f.v, a, strlen(a), NULL, 0, &r, NULL));
    assert_ok(prd_token_revoke_verified(rv, r));
    prd_token_verified_free(r);
    const char *why = NULL;
    r = NULL;
    assert_status(prd_token_verify(f.v, a, strlen(a), NULL, 0, &r, &why), PRD_EBADTOKEN);
    assert_string_equal(why, "revoked");
    assert_ok(check(&f, b));
    /* a jti the application chose, and an empty one */
    prd_token_claims *c = NULL;
    assert_ok(prd_token_claims_new(&c));
    assert_ok(prd_token_claims_set_ttl(c, 60000));
    assert_ok(prd_token_claims_set_string(c, "jti", "order-42"));
    char *t = NULL;
    assert_ok(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, NULL, 0, NULL, 0, f.clock, &t));
    assert_ok(check(&f, t));
    assert_ok(prd_token_revoke_jti(rv, "order-42", T0 + 60 * SEC));
    assert_status(check(&f, t), PRD_EBADTOKEN);
    assert_status(prd_token_jti_check(rv, "order-42"), PRD_EBADTOKEN);
    assert_ok(prd_token_jti_check(rv, "order-43"));
    prd_free(t);
    assert_ok(prd_token_claims_set_string(c, "jti", ""));
    assert_ok(prd_token_issue(f.ring, PRD_TOKEN_LOCAL, c, NULL, 0, NULL, 0, f.clock, &t));
    assert_ok(prd_token_verifier_set_revocations(f.v, NULL));
    assert_ok(check(&f, t));
    assert_ok(prd_token_verifier_set_revocations(f.v, rv));
    why = NULL;
    assert_status(prd_token_verify(f.v, t, strlen(t), NULL, 0, &r, &why), PRD_EBADTOKEN);
    assert_string_equal(why, "no jti to look up in the revocation list");
    prd_free(t);
    prd_token_claims_free(c);
    /* kept a day past expiry (the longest leeway), then gone */
    assert_int_equal(prd_token_revocations_count(rv), 2);
    assert_ok(prd_clock_manual_advance(f.clock, 60 * SEC + 86399 * SEC));
    assert_status(prd_token_jti_check(rv, "order-42"), PRD_EBADTOKEN);
    assert_ok(prd_clock_manual_advance(f.clock, 2 * SEC));
    assert_ok(prd_token_jti_check(rv, "order-42"));
    /* many: the set grows; past the bound a revocation is refused */
    char jti[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(jti, sizeof jti, "j%d", i);
        assert_ok(prd_token_revoke_jti(rv, jti, T0 + 1000000 * SEC));
    }
    for (int i = 0; i < 20000; i += 997) {
        snprintf(jti, sizeof jti, "j%d", i);
        assert_status(prd_token_jti_check(rv, jti), PRD_EBADTOKEN);
    }
    assert_ok(prd_token_jti_check(rv, "j20000"));
    prd_token_revocations *small = NULL;
    assert_ok(prd_token_revocations_new(NULL, &small));
    assert_ok(prd_token_revocations_set_max_entries(small, 16));
    int refused = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(jti, sizeof jti, "s%d", i);
        prd_status st = prd_token_revoke_jti(small, jti, prd_clock_wall_ns(NULL) + 3600 * SEC);
        if (st == PRD_EBUSY)
            refused++;
        else
            assert_ok(st);
    }
    assert_int_equal(refused, 40 - 16);
    for (int i = 0; i < 16; i++) {
        snprintf(jti, sizeof jti, "s%d", i);
        assert_status(prd_token_jti_check(small, jti), PRD_EBADTOKEN); /* none dropped */
    }
    /* arguments */
    assert_status(prd_token_revoke_jti(rv, "", T0), PRD_EINVAL);
    assert_status(prd_token_revoke_jti(rv, NULL, T0), PRD_EINVAL);
    char longj[PRD_TOKEN_JTI_MAX + 2];
    memset(longj, 'x', sizeof longj - 1);
    longj[sizeof longj - 1] = '\0';
    assert_status(prd_token_revoke_jti(rv, longj, T0), PRD_EINVAL);
    assert_status(prd_token_jti_check(rv, longj), PRD_EINVAL);
    assert_status(prd_token_revocations_set_refresh(rv, 5, 100), PRD_EINVAL);
    assert_status(prd_token_revocations_set_refresh(rv, 100, 50), PRD_EINVAL);
    assert_status(prd_token_revocations_set_max_entries(rv, 15), PRD_EINVAL);
    prd_token_revocations_free(small);
    prd_free(a);
    prd_free(b);
    prd_token_revocations_free(rv);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_official_vectors),
        cmocka_unit_test(test_every_tampered_byte_rejected),
        cmocka_unit_test(test_malformed_tokens),
        cmocka_unit_test(test_out_of_memory_raw),
        cmocka_unit_test(test_expiry_boundaries),
        cmocka_unit_test(test_expiry_is_mandatory),
        cmocka_unit_test(test_issuer_audience_required),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_hostile_footers),
        cmocka_unit_test(test_rotation_under_concurrent_verification),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_claims_payload_footer_extra_and_ring_admin),
        cmocka_unit_test(test_json_text_forms),
        cmocka_unit_test(test_revocation_list),
    };
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
