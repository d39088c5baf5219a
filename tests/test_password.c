/* password: KATs, PHC parsing, routing, rehash, pepper, legacy, budget. */
#include "support/testutil.h"

#include <sodium.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <crypt.h>

#include "internal/alloc.h"
#include "internal/password.h"
#include "internal/argon2_core.h"

/* A cheap policy for tests that do not measure cost. */
static prd_password_policy *cheap_policy(void)
{
    prd_password_policy *p = NULL;
    assert_ok(prd_password_policy_new(NULL, &p));
    assert_ok(prd_password_policy_set_params(p, 1, 64, 1));
    return p;
}

/* ---- official known-answer vectors ---- */

/* Read "Label[n]: xx xx ..." into out; returns the byte count. */
static size_t kat_bytes(const char *text, const char *label, unsigned char *out, size_t cap)
{
    const char *p = strstr(text, label);
    if (!p)
        fail_msg("KAT line '%s' missing", label);
    p = strchr(p, ':') + 1;
    const char *eol = strchr(p, '\n');
    size_t n = 0;
    unsigned v;
    int used;
    while (n < cap && p < eol && sscanf(p, " %2x%n", &v, &used) == 1 && p + used <= eol) {
        out[n++] = (unsigned char)v;
        p += used;
    }
    return n;
}

static void run_kat(const char *file, enum prd__argon2_type type, uint32_t version)
{
    char rel[64];
    snprintf(rel, sizeof rel, "argon2/%s", file);
    char *text = tu_read_vector(rel, NULL);
    unsigned m, t, p, taglen;
    const char *params = strstr(text, "Memory:");
    assert_non_null(params);
    assert_int_equal(sscanf(params, "Memory: %u KiB, Iterations: %u, Parallelism: %u lanes, Tag length: %u",
                            &m, &t, &p, &taglen), 4);
    char want_header[64];
    snprintf(want_header, sizeof want_header, "version number %u", version);
    assert_non_null(strstr(text, want_header));

    struct prd__phc phc;
    memset(&phc, 0, sizeof phc);
    phc.type = type;
    phc.version = version;
    phc.m_kib = m;
    phc.t = t;
    phc.p = p;
    unsigned char pw[64], secret[64], tag_want[64], tag[64];
    size_t pw_len = kat_bytes(text, "Password[", pw, sizeof pw);
    phc.salt_len = kat_bytes(text, "Salt[", phc.salt, sizeof phc.salt);
    size_t secret_len = kat_bytes(text, "Secret[", secret, sizeof secret);
    phc.ad_len = kat_bytes(text, "Associated data[", phc.ad, sizeof phc.ad);
    phc.tag_len = kat_bytes(strstr(text, "\nTag:"), "Tag:", tag_want, sizeof tag_want);
    assert_int_equal(pw_len, 32);
    assert_int_equal(phc.salt_len, 16);
    assert_int_equal(secret_len, 8);
    assert_int_equal(phc.ad_len, 12);
    assert_int_equal(phc.tag_len, taglen);

    /* The router, libargon2, and our code with every fill this CPU runs. */
    int runs = 0;
    for (int b = PRD__BACKEND_ROUTE; b <= PRD__BACKEND_OWN; b++) {
        if (b == PRD__BACKEND_LIBSODIUM)
            continue; /* cannot take the vectors' secret and associated data */
        for (int impl = PRD__A2_PORTABLE; impl < PRD__A2_N_IMPL; impl++) {
            if (b != PRD__BACKEND_OWN && impl != PRD__A2_PORTABLE)
                break;
            if (b == PRD__BACKEND_OWN && !prd__a2_fill_for((enum prd__a2_impl)impl))
                continue;
            prd__argon2_force_backend(b);
            prd__a2_force_impl(b == PRD__BACKEND_OWN ? (enum prd__a2_impl)impl : PRD__A2_AUTO);
            memset(tag, 0, sizeof tag);
            assert_ok(prd__argon2_compute_keyed(&phc, pw, pw_len, secret, secret_len, tag));
            assert_memory_equal(tag, tag_want, phc.tag_len);
            runs++;
        }
    }
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    prd__a2_force_impl(PRD__A2_AUTO);
    assert_true(runs >= 4); /* router, libargon2, portable and SSE2 at least */
    free(text);
}

static void test_kat_argon2id(void **s) { (void)s; run_kat("argon2id", PRD__ARGON2ID, 0x13); }
static void test_kat_argon2i(void **s) { (void)s; run_kat("argon2i", PRD__ARGON2I, 0x13); }
static void test_kat_argon2d(void **s) { (void)s; run_kat("argon2d", PRD__ARGON2D, 0x13); }
static void test_kat_argon2id_v16(void **s) { (void)s; run_kat("argon2id_v16", PRD__ARGON2ID, 0x10); }
static void test_kat_argon2i_v16(void **s) { (void)s; run_kat("argon2i_v16", PRD__ARGON2I, 0x10); }
static void test_kat_argon2d_v16(void **s) { (void)s; run_kat("argon2d_v16", PRD__ARGON2D, 0x10); }

/* ---- the two backends agree where both apply ---- */

static void test_backends_agree(void **state)
{
    (void)state;
    static const struct {
        enum prd__argon2_type type;
        uint32_t t, m;
        size_t tag_len;
    } cases[] = {
        {PRD__ARGON2ID, 1, 8, 16}, {PRD__ARGON2ID, 2, 64, 32}, {PRD__ARGON2ID, 3, 1024, 64},
        {PRD__ARGON2I, 3, 64, 32}, {PRD__ARGON2I, 4, 256, 20},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct prd__phc phc;
        memset(&phc, 0, sizeof phc);
        phc.type = cases[i].type;
        phc.version = 0x13;
        phc.t = cases[i].t;
        phc.m_kib = cases[i].m;
        phc.p = 1;
        phc.salt_len = 16;
        phc.tag_len = cases[i].tag_len;
        memset(phc.salt, (int)i + 1, 16);
        assert_true(prd__argon2_sodium_can(&phc));
        unsigned char a[64], b[64];
        prd__argon2_force_backend(1);
        assert_ok(prd__argon2_compute(&phc, (const unsigned char *)"pw", 2, a));
        prd__argon2_force_backend(2);
        assert_ok(prd__argon2_compute(&phc, (const unsigned char *)"pw", 2, b));
        prd__argon2_force_backend(0);
        assert_memory_equal(a, b, phc.tag_len);
    }
}

static void test_routing(void **state)
{
    (void)state;
    struct prd__phc phc;
    assert_ok(prd__phc_parse("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &phc));
    assert_true(prd__argon2_sodium_can(&phc)); /* the default policy's shape */
    phc.p = 4;
    assert_false(prd__argon2_sodium_can(&phc)); /* lanes: libargon2 with threads */
    phc.p = 1;
    phc.version = 0x10;
    assert_false(prd__argon2_sodium_can(&phc));
    phc.version = 0x13;
    phc.type = PRD__ARGON2D;
    assert_false(prd__argon2_sodium_can(&phc));
    phc.type = PRD__ARGON2I;
    phc.t = 2;
    assert_false(prd__argon2_sodium_can(&phc)); /* libsodium argon2i needs t >= 3 */
    phc.type = PRD__ARGON2ID;
    phc.salt_len = 8;
    assert_false(prd__argon2_sodium_can(&phc));
}

/* ---- PHC parsing ---- */

#define SALT16 "c29tZXNhbHRzb21lc2FsdA"
#define TAG32 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void test_phc_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int type;
        uint32_t v, m, t, p;
        size_t salt, tag;
    } ok[] = {
        {"$argon2id$v=19$m=19456,t=2,p=1$" SALT16 "$" TAG32, 2, 19, 19456, 2, 1, 16, 32},
        {"$argon2i$v=19$m=65536,t=3,p=4$" SALT16 "$" TAG32, 1, 19, 65536, 3, 4, 16, 32},
        {"$argon2d$v=16$m=8,t=1,p=1$" SALT16 "$" TAG32, 0, 16, 8, 1, 1, 16, 32},
        /* no v=: version 16, as the reference decoder reads it */
        {"$argon2i$m=4096,t=3,p=1$" SALT16 "$" TAG32, 1, 16, 4096, 3, 1, 16, 32},
        /* node-argon2 0.4x parameter order m,p,t; any unambiguous order */
        {"$argon2id$v=19$m=4096,p=2,t=3$" SALT16 "$" TAG32, 2, 19, 4096, 3, 2, 16, 32},
        {"$argon2id$v=19$t=3,p=2,m=4096$" SALT16 "$" TAG32, 2, 19, 4096, 3, 2, 16, 32},
        /* 8-byte salt, 4-byte tag: the PHC minimums */
        {"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAA", 2, 19, 64, 1, 1, 8, 4},
        /* 64-byte salt and tag: the maximums we accept */
        {"$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
         "$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
         2, 19, 64, 1, 1, 64, 64},
        {"$argon2id$v=19$m=64,t=1,p=1,keyid=pep-2024.1$" SALT16 "$" TAG32, 2, 19, 64, 1, 1, 16, 32},
        {"$argon2id$v=19$m=64,t=1,p=1,data=BAQEBAQEBAQEBAQE$" SALT16 "$" TAG32, 2, 19, 64, 1, 1, 16, 32},
        {"$argon2id$v=19$m=4294967295,t=4294967295,p=16777215$" SALT16 "$" TAG32, 2, 19,
         4294967295u, 4294967295u, 16777215, 16, 32},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct prd__phc phc;
        prd_status st = prd__phc_parse(ok[i].s, &phc);
        if (st != PRD_OK)
            fail_msg("should accept [%zu] %s", i, ok[i].s);
        assert_int_equal(phc.type, ok[i].type);
        assert_int_equal(phc.version, ok[i].v);
        assert_int_equal(phc.m_kib, ok[i].m);
        assert_int_equal(phc.t, ok[i].t);
        assert_int_equal(phc.p, ok[i].p);
        assert_int_equal(phc.salt_len, ok[i].salt);
        assert_int_equal(phc.tag_len, ok[i].tag);
    }
}

static void test_phc_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "$",
        "argon2id$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2x$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$Argon2id$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2ids$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=18$m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=019$m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=$m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=19,m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=64,t=1$" SALT16 "$" TAG32,            /* p missing */
        "$argon2id$v=19$m=64,t=1,p=1,p=1$" SALT16 "$" TAG32,    /* duplicate */
        "$argon2id$v=19$m=64,m=64,t=1$" SALT16 "$" TAG32,       /* duplicate */
        "$argon2id$v=19$m=64,t=1,p=1,x=1$" SALT16 "$" TAG32,    /* unknown */
        "$argon2id$v=19$m=064,t=1,p=1$" SALT16 "$" TAG32,       /* leading zero */
        "$argon2id$v=19$m=+64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=-64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=64 ,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=4294967296,t=1,p=1$" SALT16 "$" TAG32, /* > 2^32-1 */
        "$argon2id$v=19$m=64,t=0,p=1$" SALT16 "$" TAG32,        /* t >= 1 */
        "$argon2id$v=19$m=64,t=1,p=0$" SALT16 "$" TAG32,        /* p >= 1 */
        "$argon2id$v=19$m=7,t=1,p=1$" SALT16 "$" TAG32,         /* m >= 8 */
        "$argon2id$v=19$m=31,t=1,p=4$" SALT16 "$" TAG32,        /* m >= 8p */
        "$argon2id$v=19$m=64,t=1,p=16777216$" SALT16 "$" TAG32, /* p < 2^24 */
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbA$" TAG32,        /* 7-byte salt */
        "$argon2id$v=19$m=64,t=1,p=1$" SALT16 "$AAAAA",         /* 3-byte tag */
        "$argon2id$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32 "AA",   /* bad length */
        "$argon2id$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32 "=",    /* padding */
        "$argon2id$v=19$m=64,t=1,p=1$" SALT16 "==$" TAG32,
        "$argon2id$v=19$m=64,t=1,p=1$" SALT16 "$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", /* noncanonical */
        "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA-$" TAG32,    /* url alphabet */
        "$argon2id$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32 "$",
        "$argon2id$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32 "\n",
        "$argon2id$v=19$m=64,t=1,p=1$" SALT16,
        "$argon2id$v=19$m=64,t=1,p=1$$" TAG32,
        "$argon2id$v=19$m=64,t=1,p=1," SALT16 "$" TAG32,
        "$argon2id$v=19$m=64,t=1,p=1,keyid=$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=64,t=1,p=1,keyid=a_b$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=64,t=1,p=1,keyid=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=64,t=1,p=1,data=$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=64,t=1,p=1,data=AAAA,keyid=x$" SALT16 "$" TAG32, /* order */
        "$argon2id$$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=64,t=1,p=1$" SALT16 "$" TAG32 "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct prd__phc phc;
        if (prd__phc_parse(bad[i], &phc) != PRD_EINVAL)
            fail_msg("should reject [%zu] %s", i, bad[i]);
    }
    assert_status(prd__phc_parse(NULL, &(struct prd__phc){0}), PRD_EINVAL);
    /* Over the length limit, even when otherwise well formed. */
    char *huge = malloc(PRD_PASSWORD_PHC_MAX + 100);
    memset(huge, 'A', PRD_PASSWORD_PHC_MAX + 99);
    memcpy(huge, "$argon2id$v=19$m=64,t=1,p=1$", 28);
    huge[PRD_PASSWORD_PHC_MAX + 99] = '\0';
    struct prd__phc phc;
    assert_status(prd__phc_parse(huge, &phc), PRD_EINVAL);
    free(huge);
}

static void test_phc_encode_round_trip(void **state)
{
    (void)state;
    const char *s = "$argon2id$v=19$m=4096,t=3,p=2,keyid=k1,data=BAQEBAQEBAQEBAQE$" SALT16 "$" TAG32;
    struct prd__phc phc;
    assert_ok(prd__phc_parse(s, &phc));
    char out[PRD_PASSWORD_HASH_SIZE];
    size_t n = prd__phc_encode(&phc, out, sizeof out);
    assert_string_equal(out, s);
    assert_int_equal(n, strlen(s));
    char small[20] = "junk";
    prd__phc_encode(&phc, small, sizeof small);
    assert_string_equal(small, ""); /* never a truncated hash */
}

/* The longest string the parser takes (every field at its maximum, 256
 * bytes of associated data) is written back within PRD__PHC_MAX_LEN and
 * parses to the same thing; it does not fit PRD_PASSWORD_HASH_SIZE, which
 * only bounds the hashes we make. (fuzz_phc found the round trip failing
 * with the smaller buffer.) */
static void test_phc_longest_round_trip(void **state)
{
    (void)state;
    struct prd__phc phc;
    memset(&phc, 0, sizeof phc);
    phc.type = PRD__ARGON2ID;
    phc.version = 0x13;
    phc.m_kib = UINT32_MAX;
    phc.t = UINT32_MAX;
    phc.p = PRD__ARGON2_MAX_LANES;
    memset(phc.keyid, 'k', PRD__KEYID_MAX);
    phc.ad_len = PRD__AD_MAX;
    phc.salt_len = PRD__SALT_MAX;
    phc.tag_len = PRD__TAG_MAX;
    randombytes_buf(phc.ad, phc.ad_len);
    randombytes_buf(phc.salt, phc.salt_len);
    randombytes_buf(phc.tag, phc.tag_len);
    char out[PRD__PHC_MAX_LEN];
    size_t n = prd__phc_encode(&phc, out, sizeof out);
    assert_true(n < sizeof out);
    assert_true(n >= PRD_PASSWORD_HASH_SIZE);
    struct prd__phc again;
    assert_ok(prd__phc_parse(out, &again));
    assert_int_equal(again.m_kib, phc.m_kib);
    assert_int_equal(again.p, phc.p);
    assert_string_equal(again.keyid, phc.keyid);
    assert_memory_equal(again.ad, phc.ad, PRD__AD_MAX);
    assert_memory_equal(again.salt, phc.salt, PRD__SALT_MAX);
    assert_memory_equal(again.tag, phc.tag, PRD__TAG_MAX);
}

/* ---- hash and verify ---- */

static void test_round_trip_every_preset(void **state)
{
    (void)state;
    static const char *presets[] = {"owasp", "rfc9106-low-memory", "moderate", "sensitive"};
    static const char *want_params[] = {"m=19456,t=2,p=1", "m=65536,t=3,p=4", "m=262144,t=3,p=1",
                                        "m=1048576,t=4,p=1"};
    for (size_t i = 0; i < 4; i++) {
        prd_password_policy *p = NULL;
        assert_ok(prd_password_policy_new(presets[i], &p));
        char h[PRD_PASSWORD_HASH_SIZE];
        assert_ok(prd_password_hash(p, "correct horse", 13, h, sizeof h));
        if (!strstr(h, want_params[i]) || strncmp(h, "$argon2id$v=19$", 15) != 0)
            fail_msg("preset %s wrote %s", presets[i], h);
        assert_ok(prd_password_verify(p, "correct horse", 13, h));
        assert_status(prd_password_verify(p, "correct horsf", 13, h), PRD_EMISMATCH);
        assert_status(prd_password_verify(p, "correct horse", 12, h), PRD_EMISMATCH);
        prd_rehash_reason r;
        assert_ok(prd_password_needs_rehash(p, h, &r));
        assert_int_equal(r, PRD_REHASH_NONE);
        prd_password_policy_free(p);
    }
    prd_password_policy *p = NULL;
    assert_status(prd_password_policy_new("bcrypt", &p), PRD_EINVAL);
    assert_null(p);
}

static void test_salts_differ_and_binary_passwords(void **state)
{
    (void)state;
    prd_password_policy *p = cheap_policy();
    char a[PRD_PASSWORD_HASH_SIZE], b[PRD_PASSWORD_HASH_SIZE];
    const char pw[] = {'a', '\0', 'b', '\xff', '\n'};
    assert_ok(prd_password_hash(p, pw, sizeof pw, a, sizeof a));
    assert_ok(prd_password_hash(p, pw, sizeof pw, b, sizeof b));
    assert_string_not_equal(a, b);
    assert_ok(prd_password_verify(p, pw, sizeof pw, a));
    assert_status(prd_password_verify(p, pw, 1, a), PRD_EMISMATCH); /* NUL is not an end */
    assert_ok(prd_password_hash(p, "", 0, a, sizeof a));             /* empty is allowed */
    assert_ok(prd_password_verify(p, "", 0, a));
    prd_password_policy_free(p);
}

static void test_hash_arguments(void **state)
{
    (void)state;
    prd_password_policy *p = cheap_policy();
    char h[PRD_PASSWORD_HASH_SIZE];
    assert_status(prd_password_hash(NULL, "x", 1, h, sizeof h), PRD_EINVAL);
    assert_status(prd_password_hash(p, NULL, 1, h, sizeof h), PRD_EINVAL);
    assert_status(prd_password_hash(p, "x", 1, NULL, 0), PRD_EINVAL);
    assert_status(prd_password_hash(p, "x", 1, h, 20), PRD_ENOSPACE);
    assert_string_equal(h, "");
    char *big = calloc(1, PRD_PASSWORD_DEFAULT_MAX_LEN + 1);
    assert_status(prd_password_hash(p, big, PRD_PASSWORD_DEFAULT_MAX_LEN + 1, h, sizeof h),
                  PRD_EINVAL);
    assert_ok(prd_password_hash(p, big, PRD_PASSWORD_DEFAULT_MAX_LEN, h, sizeof h));
    assert_status(prd_password_verify(p, big, PRD_PASSWORD_DEFAULT_MAX_LEN + 1, h), PRD_EINVAL);
    assert_ok(prd_password_policy_set_max_password_len(p, 8));
    assert_status(prd_password_hash(p, "123456789", 9, h, sizeof h), PRD_EINVAL);
    free(big);
    /* setters validate */
    assert_status(prd_password_policy_set_params(p, 0, 64, 1), PRD_EINVAL);
    assert_status(prd_password_policy_set_params(p, 1, 31, 4), PRD_EINVAL);
    assert_status(prd_password_policy_set_params(p, 17, 64, 1), PRD_EINVAL); /* over cap */
    assert_status(prd_password_policy_set_salt_len(p, 8), PRD_EINVAL);
    assert_status(prd_password_policy_set_salt_len(p, 65), PRD_EINVAL);
    assert_status(prd_password_policy_set_hash_len(p, 15), PRD_EINVAL);
    assert_status(prd_password_policy_set_caps(p, 0, 64, 1), PRD_EINVAL);
    assert_status(prd_password_policy_set_budget(p, 0, 0), PRD_EINVAL);
    assert_ok(prd_password_policy_set_salt_len(p, 32));
    assert_ok(prd_password_policy_set_hash_len(p, 64));
    assert_ok(prd_password_hash(p, "x", 1, h, sizeof h));
    struct prd__phc phc;
    assert_ok(prd__phc_parse(h, &phc));
    assert_int_equal(phc.salt_len, 32);
    assert_int_equal(phc.tag_len, 64);
    assert_ok(prd_password_verify(p, "x", 1, h));
    prd_password_policy_free(p);
    prd_password_policy_free(NULL);
}

static void test_verify_every_variant_and_version(void **state)
{
    (void)state;
    /* Build hashes of each shape through the internal compute, then verify
     * them through the public API (which parses and routes). */
    static const struct {
        enum prd__argon2_type type;
        uint32_t version, p;
        size_t salt_len, tag_len;
    } shapes[] = {
        {PRD__ARGON2ID, 0x13, 1, 16, 32}, {PRD__ARGON2ID, 0x10, 1, 16, 32},
        {PRD__ARGON2I, 0x13, 1, 16, 32},  {PRD__ARGON2I, 0x10, 2, 8, 4},
        {PRD__ARGON2D, 0x13, 4, 64, 64},  {PRD__ARGON2D, 0x10, 1, 12, 16},
        {PRD__ARGON2ID, 0x13, 8, 24, 20},
    };
    prd_password_policy *pol = cheap_policy();
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct prd__phc phc;
        memset(&phc, 0, sizeof phc);
        phc.type = shapes[i].type;
        phc.version = shapes[i].version;
        phc.t = 2;
        phc.m_kib = 64;
        phc.p = shapes[i].p;
        phc.salt_len = shapes[i].salt_len;
        phc.tag_len = shapes[i].tag_len;
        memset(phc.salt, 0x5a, phc.salt_len);
        assert_ok(prd__argon2_compute(&phc, (const unsigned char *)"pw", 2, phc.tag));
        char s[PRD_PASSWORD_HASH_SIZE];
        prd__phc_encode(&phc, s, sizeof s);
        if (prd_password_verify(pol, "pw", 2, s) != PRD_OK)
            fail_msg("shape %zu did not verify: %s", i, s);
        assert_status(prd_password_verify(pol, "pW", 2, s), PRD_EMISMATCH);
        prd_rehash_reason r;
        assert_ok(prd_password_needs_rehash(pol, s, &r));
        assert_int_not_equal(r, PRD_REHASH_NONE);
    }
    prd_password_policy_free(pol);
}

static void test_caps_refuse_before_allocating(void **state)
{
    (void)state;
    prd_password_policy *p = cheap_policy();
    static const char *hostile[] = {
        "$argon2id$v=19$m=4294967295,t=1,p=1$" SALT16 "$" TAG32, /* 4 TiB */
        "$argon2id$v=19$m=1048577,t=1,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=64,t=4294967295,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=64,t=17,p=1$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=256,t=1,p=17$" SALT16 "$" TAG32,
        "$argon2id$v=19$m=134217728,t=1,p=16777215$" SALT16 "$" TAG32,
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        /* Any allocation would fail with ENOMEM; the cap answers first. */
        prd__alloc_fail_after(1);
        long before = prd__alloc_failures();
        prd_status st = prd_password_verify(p, "pw", 2, hostile[i]);
        prd__alloc_fail_after(0);
        if (st != PRD_ETOOBIG)
            fail_msg("hostile [%zu] got %s", i, prd_status_name(st));
        assert_int_equal(prd__alloc_failures(), before);
    }
    assert_int_equal(prd_password_stat_get(p, PRD_PASSWORD_STAT_COMPLETED), 0);
    /* Tighter caps are honoured too. */
    assert_ok(prd_password_policy_set_caps(p, 2, 128, 1));
    assert_status(prd_password_verify(p, "pw", 2, "$argon2id$v=19$m=256,t=1,p=1$" SALT16 "$" TAG32),
                  PRD_ETOOBIG);
    assert_status(prd_password_policy_set_caps(p, 2, 32, 1), PRD_EINVAL); /* below own m */
    prd_password_policy_free(p);
}

static void test_rehash_reasons(void **state)
{
    (void)state;
    prd_password_policy *p = NULL;
    assert_ok(prd_password_policy_new(NULL, &p)); /* m=19456 t=2 p=1 */
    static const struct {
        const char *s;
        prd_rehash_reason want;
    } cases[] = {
        {"$argon2id$v=19$m=19456,t=2,p=1$" SALT16 "$" TAG32, PRD_REHASH_NONE},
        {"$argon2id$v=19$m=19455,t=2,p=1$" SALT16 "$" TAG32, PRD_REHASH_WEAKER_PARAMS},
        {"$argon2id$v=19$m=19456,t=1,p=1$" SALT16 "$" TAG32, PRD_REHASH_WEAKER_PARAMS},
        {"$argon2id$v=16$m=19456,t=2,p=1$" SALT16 "$" TAG32, PRD_REHASH_WEAKER_PARAMS},
        {"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$" TAG32, PRD_REHASH_WEAKER_PARAMS},
        {"$argon2id$v=19$m=19456,t=2,p=1$" SALT16 "$AAAAAAAAAAAAAAAAAAAAAA", PRD_REHASH_WEAKER_PARAMS},
        {"$argon2id$v=19$m=65536,t=2,p=1$" SALT16 "$" TAG32, PRD_REHASH_OTHER_PARAMS},
        {"$argon2id$v=19$m=19456,t=2,p=2$" SALT16 "$" TAG32, PRD_REHASH_OTHER_PARAMS},
        {"$argon2i$v=19$m=19456,t=2,p=1$" SALT16 "$" TAG32, PRD_REHASH_OTHER_ALGORITHM},
        {"$argon2d$v=19$m=65536,t=9,p=1$" SALT16 "$" TAG32, PRD_REHASH_OTHER_ALGORITHM},
        {"$argon2id$v=19$m=19456,t=2,p=1,keyid=old$" SALT16 "$" TAG32, PRD_REHASH_OTHER_PEPPER},
        {"$2b$12$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m", PRD_REHASH_LEGACY_FORMAT},
        {"$6$salt$IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMuTS4XMS130MTSuDDl3aCI6WouIL9AjRbLCelDCy.g.", PRD_REHASH_LEGACY_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prd_rehash_reason r = (prd_rehash_reason)99;
        assert_ok(prd_password_needs_rehash(p, cases[i].s, &r));
        if (r != cases[i].want)
            fail_msg("[%zu] %s: got '%s' want '%s'", i, cases[i].s, prd_rehash_reason_str(r),
                     prd_rehash_reason_str(cases[i].want));
    }
    prd_rehash_reason r;
    assert_status(prd_password_needs_rehash(p, "$argon2id$nonsense", &r), PRD_EINVAL);
    assert_status(prd_password_needs_rehash(p, NULL, &r), PRD_EINVAL);
    assert_string_equal(prd_rehash_reason_str(PRD_REHASH_WEAKER_PARAMS), "weaker params");
    assert_string_equal(prd_rehash_reason_str(PRD_REHASH_OTHER_ALGORITHM), "other algorithm");
    assert_string_equal(prd_rehash_reason_str(PRD_REHASH_OTHER_PEPPER), "other pepper");
    assert_string_equal(prd_rehash_reason_str(PRD_REHASH_LEGACY_FORMAT), "legacy format");
    prd_password_policy_free(p);
}

static void test_verify_and_upgrade(void **state)
{
    (void)state;
    prd_password_policy *old = cheap_policy();
    char stored[PRD_PASSWORD_HASH_SIZE], fresh[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(old, "s3cret", 6, stored, sizeof stored));
    char copy[PRD_PASSWORD_HASH_SIZE];
    strcpy(copy, stored);

    prd_password_policy *cur = cheap_policy();
    assert_ok(prd_password_policy_set_params(cur, 2, 128, 1));
    int upgraded = -1;
    assert_ok(prd_password_verify_and_upgrade(cur, "s3cret", 6, stored, fresh, sizeof fresh,
                                              &upgraded));
    assert_int_equal(upgraded, 1);
    assert_string_equal(stored, copy); /* old string untouched, for compare-and-swap */
    assert_non_null(strstr(fresh, "m=128,t=2,p=1"));
    assert_ok(prd_password_verify(cur, "s3cret", 6, fresh));
    /* Current hash: verified, nothing to upgrade. */
    assert_ok(prd_password_verify_and_upgrade(cur, "s3cret", 6, fresh, stored, sizeof stored,
                                              &upgraded));
    assert_int_equal(upgraded, 0);
    assert_string_equal(stored, "");
    /* Wrong password: no upgrade. */
    assert_status(prd_password_verify_and_upgrade(cur, "wrong", 5, copy, fresh, sizeof fresh,
                                                  &upgraded), PRD_EMISMATCH);
    assert_int_equal(upgraded, 0);
    assert_string_equal(fresh, "");
    assert_status(prd_password_verify_and_upgrade(cur, "s3cret", 6, copy, fresh, 10, &upgraded),
                  PRD_ENOSPACE);
    prd_password_policy_free(old);
    prd_password_policy_free(cur);
}

/* ---- pepper ---- */

static void test_pepper_rotation(void **state)
{
    (void)state;
    prd_secret *k1 = NULL, *k2 = NULL, *short_key = NULL;
    assert_ok(prd_secret_random(32, &k1));
    assert_ok(prd_secret_random(32, &k2));
    assert_ok(prd_secret_random(8, &short_key));
    prd_password_policy *p = cheap_policy();
    assert_status(prd_password_policy_set_pepper(p, "k1", short_key), PRD_EINVAL);
    assert_status(prd_password_policy_set_pepper(p, "bad id", k1), PRD_EINVAL);
    assert_status(prd_password_policy_set_pepper(p, "", k1), PRD_EINVAL);
    assert_ok(prd_password_policy_set_pepper(p, "k1", k1));
    assert_status(prd_password_policy_set_pepper(p, "k1", k2), PRD_EINVAL); /* duplicate id */
    char h1[PRD_PASSWORD_HASH_SIZE], h2[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(p, "pw", 2, h1, sizeof h1));
    assert_non_null(strstr(h1, ",keyid=k1$"));
    assert_ok(prd_password_verify(p, "pw", 2, h1));

    /* A policy without the pepper cannot verify it (and says why). */
    prd_password_policy *plain = cheap_policy();
    assert_status(prd_password_verify(plain, "pw", 2, h1), PRD_ENOTFOUND);
    /* The pepper really is mixed in: the same salt without it mismatches. */
    struct prd__phc phc;
    assert_ok(prd__phc_parse(h1, &phc));
    phc.keyid[0] = '\0';
    char unpeppered[PRD_PASSWORD_HASH_SIZE];
    prd__phc_encode(&phc, unpeppered, sizeof unpeppered);
    assert_status(prd_password_verify(plain, "pw", 2, unpeppered), PRD_EMISMATCH);

    /* Rotate: k2 current, k1 retired. Old hashes verify and need rehash. */
    assert_ok(prd_password_policy_set_pepper(p, "k2", k2));
    assert_ok(prd_password_hash(p, "pw", 2, h2, sizeof h2));
    assert_non_null(strstr(h2, ",keyid=k2$"));
    assert_ok(prd_password_verify(p, "pw", 2, h1));
    assert_ok(prd_password_verify(p, "pw", 2, h2));
    prd_rehash_reason r;
    assert_ok(prd_password_needs_rehash(p, h1, &r));
    assert_int_equal(r, PRD_REHASH_OTHER_PEPPER);
    assert_ok(prd_password_needs_rehash(p, h2, &r));
    assert_int_equal(r, PRD_REHASH_NONE);
    /* An unpeppered hash under a peppered policy needs rehash too. */
    char h0[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(plain, "pw", 2, h0, sizeof h0));
    assert_ok(prd_password_verify(p, "pw", 2, h0));
    assert_ok(prd_password_needs_rehash(p, h0, &r));
    assert_int_equal(r, PRD_REHASH_OTHER_PEPPER);
    /* A fresh policy with k1 only as retired still verifies h1. */
    prd_password_policy *later = cheap_policy();
    assert_ok(prd_password_policy_add_retired_pepper(later, "k1", k1));
    assert_ok(prd_password_verify(later, "pw", 2, h1));
    assert_ok(prd_password_hash(later, "pw", 2, h2, sizeof h2));
    assert_null(strstr(h2, "keyid")); /* no current pepper: plain PHC */
    /* The policy copied the secret: freeing ours changes nothing. */
    prd_secret_free(k1);
    assert_ok(prd_password_verify(later, "pw", 2, h1));
    prd_secret_free(k2);
    prd_secret_free(short_key);
    prd_password_policy_free(p);
    prd_password_policy_free(plain);
    prd_password_policy_free(later);
}

/* ---- legacy ---- */

static void test_legacy_upgrade(void **state)
{
    (void)state;
    static const char *settings[] = {"$2b$04$abcdefghijklmnopqrstuu", "$2a$04$abcdefghijklmnopqrstuu",
                                     "$2y$04$abcdefghijklmnopqrstuu", "$6$rounds=1000$saltsalt$",
                                     "$y$j9T$abcdefghijklmnop$"};
    prd_password_policy *p = cheap_policy();
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        struct crypt_data cd;
        memset(&cd, 0, sizeof cd);
        const char *h = crypt_r("legacy pw", settings[i], &cd);
        if (!h || h[0] == '*')
            fail_msg("libcrypt cannot make %s", settings[i]);
        char stored[CRYPT_OUTPUT_SIZE];
        strcpy(stored, h);
        assert_status(prd_password_verify(p, "legacy pw", 9, stored), PRD_EUNSUPPORTED);
        assert_ok(prd_password_policy_set_allow_legacy(p, 1));
        assert_ok(prd_password_verify(p, "legacy pw", 9, stored));
        assert_status(prd_password_verify(p, "legacy pX", 9, stored), PRD_EMISMATCH);
        assert_status(prd_password_verify(p, "legacy pw\0x", 11, stored), PRD_EMISMATCH);
        char fresh[PRD_PASSWORD_HASH_SIZE];
        int up = 0;
        assert_ok(prd_password_verify_and_upgrade(p, "legacy pw", 9, stored, fresh, sizeof fresh, &up));
        assert_int_equal(up, 1);
        assert_int_equal(strncmp(fresh, "$argon2id$", 10), 0);
        assert_ok(prd_password_verify(p, "legacy pw", 9, fresh));
        assert_ok(prd_password_policy_set_allow_legacy(p, 0));
    }
    assert_ok(prd_password_policy_set_allow_legacy(p, 1));
    static const char *refused[] = {
        "5f4dcc3b5aa765d61d8327deb882cf99",                 /* bare md5 hex */
        "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",         /* bare sha1 hex */
        "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0",               /* md5-crypt */
        "abJnggxhB/yWI",                                    /* DES crypt */
        "$5$saltsalt$Gcm6FsVtF/Qa77ZKD.iwsJlCVPY0XSMgLJL0Hnww/c1", /* sha256-crypt */
        "$2b$04$short",
        "$6$",
        "$y$",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        prd_status st = prd_password_verify(p, "password", 8, refused[i]);
        if (st == PRD_OK || st == PRD_EMISMATCH)
            fail_msg("[%zu] %s should be refused, got %s", i, refused[i], prd_status_name(st));
    }
    prd_password_policy_free(p);
}

/* ---- bounded concurrency ---- */

struct hammer {
    prd_password_policy *pol;
    const char *hash;
    int ok, busy, other;
    pthread_mutex_t mu;
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 4; i++) {
        prd_status st = prd_password_verify(h->pol, "pw", 2, h->hash);
        pthread_mutex_lock(&h->mu);
        if (st == PRD_OK)
            h->ok++;
        else if (st == PRD_EBUSY)
            h->busy++;
        else
            h->other++;
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

static void run_hammer(prd_password_policy *pol, const char *hash, struct hammer *h)
{
    pthread_t t[16];
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    h->pol = pol;
    h->hash = hash;
    for (int i = 0; i < 16; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer_thread, h), 0);
    for (int i = 0; i < 16; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&h->mu);
}

static void test_budget_under_16_threads(void **state)
{
    (void)state;
    prd_password_policy *pol = NULL;
    assert_ok(prd_password_policy_new(NULL, &pol));
    assert_ok(prd_password_policy_set_params(pol, 1, 4096, 1));
    /* Room for exactly 3 hashes at once; a long wait so nobody gives up. */
    assert_ok(prd_password_policy_set_budget(pol, 3 * 4096, 60000));
    char hash[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(pol, "pw", 2, hash, sizeof hash));
    struct hammer h;
    run_hammer(pol, hash, &h);
    assert_int_equal(h.ok, 64);
    assert_int_equal(h.busy + h.other, 0);
    assert_true(prd_password_stat_get(pol, PRD_PASSWORD_STAT_PEAK_KIB) <= 3 * 4096);
    assert_true(prd_password_stat_get(pol, PRD_PASSWORD_STAT_PEAK_KIB) >= 4096);
    assert_int_equal(prd_password_stat_get(pol, PRD_PASSWORD_STAT_IN_FLIGHT), 0);
    assert_int_equal(prd_password_stat_get(pol, PRD_PASSWORD_STAT_WAITING), 0);
    assert_int_equal(prd_password_stat_get(pol, PRD_PASSWORD_STAT_COMPLETED), 65);
    prd_password_policy_free(pol);
}

static void test_budget_timeout_gives_busy(void **state)
{
    (void)state;
    prd_password_policy *pol = NULL;
    assert_ok(prd_password_policy_new(NULL, &pol));
    assert_ok(prd_password_policy_set_params(pol, 2, 32768, 1));
    /* One hash at a time and no waiting: concurrent callers get EBUSY. */
    assert_ok(prd_password_policy_set_budget(pol, 32768, 0));
    char hash[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(pol, "pw", 2, hash, sizeof hash));
    struct hammer h;
    run_hammer(pol, hash, &h);
    assert_int_equal(h.ok + h.busy, 64);
    assert_int_equal(h.other, 0);
    assert_true(h.ok >= 1);
    assert_true(h.busy >= 1);
    assert_int_equal(prd_password_stat_get(pol, PRD_PASSWORD_STAT_BUSY), (uint64_t)h.busy);
    assert_true(prd_password_stat_get(pol, PRD_PASSWORD_STAT_PEAK_KIB) <= 32768);
    assert_true(prd_password_retry_after_ms(pol) >= 1);
    prd_password_policy_free(pol);
}

static void test_budget_oversized_runs_alone(void **state)
{
    (void)state;
    prd_password_policy *pol = cheap_policy();
    assert_ok(prd_password_policy_set_budget(pol, 64, 1000));
    /* A stored hash needing more than the whole budget still verifies. */
    struct prd__phc phc;
    memset(&phc, 0, sizeof phc);
    phc.type = PRD__ARGON2ID;
    phc.version = 0x13;
    phc.t = 1;
    phc.m_kib = 1024;
    phc.p = 1;
    phc.salt_len = 16;
    phc.tag_len = 32;
    assert_ok(prd__argon2_compute(&phc, (const unsigned char *)"pw", 2, phc.tag));
    char s[PRD_PASSWORD_HASH_SIZE];
    prd__phc_encode(&phc, s, sizeof s);
    assert_ok(prd_password_verify(pol, "pw", 2, s));
    /* It ran alone and is counted at its real memory, not the budget's. */
    assert_int_equal(prd_password_stat_get(pol, PRD_PASSWORD_STAT_PEAK_KIB), 1024);
    prd_password_policy_free(pol);
}

/* ---- hostile legacy hashes: bounded before computing ---- */

static void test_legacy_caps(void **state)
{
    (void)state;
    prd_password_policy *p = cheap_policy();
    assert_ok(prd_password_policy_set_allow_legacy(p, 1));
    static const char *hostile[] = {
        "$2b$31$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* days */
        "$2y$15$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$6$rounds=999999999$saltsalt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$6$rounds=1000001$saltsalt$AAAA",
        "$y$jFT$abcdefghijklmnop$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* N=2^17, r=32: 512 MiB */
        "$y$jgT$abcdefghijklmnop$AAAA", /* N = 2^45 */
    };
    /* yescrypt's caps follow their own setter; tighten it so the 512 MiB
     * one is over. */
    assert_ok(prd_password_policy_set_legacy_caps(p, 14, 1000000, 256 * 1024));
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        int64_t t0 = prd_clock_mono_ns(NULL);
        prd__alloc_fail_after(1); /* any allocation would fail: the cap answers first */
        long before = prd__alloc_failures();
        prd_status st = prd_password_verify(p, "pw", 2, hostile[i]);
        prd__alloc_fail_after(0);
        int64_t took = prd_clock_mono_ns(NULL) - t0;
        if (st != PRD_ETOOBIG)
            fail_msg("hostile [%zu] got %s", i, prd_status_name(st));
        assert_int_equal(prd__alloc_failures(), before);
        assert_true(took < 100 * INT64_C(1000000));
    }
    assert_int_equal(prd_password_stat_get(p, PRD_PASSWORD_STAT_COMPLETED), 0);
    /* Malformed settings are EINVAL, not a computation. */
    assert_status(prd_password_verify(p, "pw", 2, "$2b$3x$abcdefghijklmnopqrstuu"), PRD_EINVAL);
    assert_status(prd_password_verify(p, "pw", 2, "$6$rounds=$salt$x"), PRD_EINVAL);
    assert_status(prd_password_verify(p, "pw", 2, "$y$"), PRD_EINVAL);
    assert_status(prd_password_verify(p, "pw", 2, "$y$j9"), PRD_EINVAL);
    assert_status(prd_password_policy_set_legacy_caps(p, 3, 1000000, 1024), PRD_EINVAL);
    assert_status(prd_password_policy_set_legacy_caps(p, 14, 10, 1024), PRD_EINVAL);
    assert_status(prd_password_policy_set_legacy_caps(p, 14, 1000000, 1), PRD_EINVAL);
    /* Within the caps they verify, under the budget at their real memory
     * (yescrypt's default: N=4096, r=32 = 16 MiB). */
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    const char *h = crypt_r("legacy pw", "$y$j9T$abcdefghijklmnop$", &cd);
    assert_non_null(h);
    char stored[CRYPT_OUTPUT_SIZE];
    snprintf(stored, sizeof stored, "%s", h);
    assert_ok(prd_password_policy_set_budget(p, 1024, 1000));
    assert_ok(prd_password_verify(p, "legacy pw", 9, stored));
    assert_int_equal(prd_password_stat_get(p, PRD_PASSWORD_STAT_PEAK_KIB), 16 * 1024 + 1);
    prd_password_policy_free(p);
}

/* p > 1 hashes verify through libsodium when it can read them, and agree
 * with libargon2 (which made them) on match and mismatch. */
static void test_p4_verify_routes_agree(void **state)
{
    (void)state;
    prd_password_policy *pol = NULL;
    assert_ok(prd_password_policy_new(NULL, &pol));
    assert_ok(prd_password_policy_set_params(pol, 3, 1024, 4));
    static const struct {
        enum prd__argon2_type type;
        size_t salt, tag;
    } shapes[] = {{PRD__ARGON2ID, 16, 32}, {PRD__ARGON2I, 8, 16}, {PRD__ARGON2ID, 32, 64}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct prd__phc phc;
        memset(&phc, 0, sizeof phc);
        phc.type = shapes[i].type;
        phc.version = 0x13;
        phc.t = 3;
        phc.m_kib = 1024;
        phc.p = 4;
        phc.salt_len = shapes[i].salt;
        phc.tag_len = shapes[i].tag;
        randombytes_buf(phc.salt, phc.salt_len);
        prd__argon2_force_backend(2);
        assert_ok(prd__argon2_compute(&phc, (const unsigned char *)"pw", 2, phc.tag));
        char s[PRD_PASSWORD_HASH_SIZE];
        prd__phc_encode(&phc, s, sizeof s);
        for (int b = 0; b <= 2; b += 2) { /* routed (libsodium), then libargon2 */
            prd__argon2_force_backend(b);
            assert_ok(prd_password_verify(pol, "pw", 2, s));
            assert_status(prd_password_verify(pol, "pX", 2, s), PRD_EMISMATCH);
        }
        prd__argon2_force_backend(0);
    }
    prd_password_policy_free(pol);
}

/* ---- unknown-user timing ---- */

static int64_t median(int64_t *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

static void test_dummy_verify_timing(void **state)
{
    (void)state;
    prd_password_policy *pol = NULL;
    assert_ok(prd_password_policy_new(NULL, &pol)); /* the real default cost */
    char hash[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(pol, "pw", 2, hash, sizeof hash));
    /* Up to three measurements: the suites run in parallel, and a burst of
     * another test's threads can land on one side of one measurement. The
     * 10% bound itself is never relaxed. */
    double ratio = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        enum { N = 15 };
        int64_t real[N], dummy[N];
        for (int i = 0; i < N; i++) {
            /* interleaved, so drift in machine load hits both alike */
            int64_t t0 = prd_clock_mono_ns(NULL);
            assert_status(prd_password_verify(pol, "wrong", 5, hash), PRD_EMISMATCH);
            int64_t t1 = prd_clock_mono_ns(NULL);
            assert_status(prd_password_verify_dummy(pol, "wrong", 5), PRD_EMISMATCH);
            int64_t t2 = prd_clock_mono_ns(NULL);
            real[i] = t1 - t0;
            dummy[i] = t2 - t1;
        }
        int64_t mr = median(real, N), md = median(dummy, N);
        ratio = (double)md / (double)mr;
        print_message("# verify median %.2f ms, dummy median %.2f ms, ratio %.3f\n",
                      (double)mr / 1e6, (double)md / 1e6, ratio);
        if (ratio >= 0.9 && ratio <= 1.1)
            break;
    }
    if (ratio < 0.9 || ratio > 1.1)
        fail_msg("dummy verify takes %.3f x a real verify (want within 10%%)", ratio);
    /* The dummy never matches, whatever the password. */
    assert_status(prd_password_verify_dummy(pol, "", 0), PRD_EMISMATCH);
    prd_password_policy_free(pol);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    prd_password_policy *pol = NULL;
    int ok = 0;
    for (long n = 1; n < 20 && !ok; n++) {
        prd__alloc_fail_after(n);
        prd_status st = prd_password_policy_new(NULL, &pol);
        prd__alloc_fail_after(0);
        if (st == PRD_OK)
            ok = 1;
        else
            assert_int_equal(st, PRD_ENOMEM), assert_null(pol);
    }
    assert_true(ok);
    prd_secret *k = NULL;
    assert_ok(prd_secret_random(32, &k));
    prd__alloc_fail_after(1);
    assert_status(prd_password_policy_set_pepper(pol, "k", k), PRD_ENOMEM);
    prd__alloc_fail_after(0);
    assert_ok(prd_password_policy_set_params(pol, 1, 64, 1));
    assert_ok(prd_password_policy_set_pepper(pol, "k", k));
    char h[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(pol, "pw", 2, h, sizeof h));
    /* The peppered digest needs guarded memory: its failure is ENOMEM. */
    prd__alloc_fail_after(1);
    assert_status(prd_password_verify(pol, "pw", 2, h), PRD_ENOMEM);
    prd__alloc_fail_after(0);
    assert_ok(prd_password_verify(pol, "pw", 2, h));
    prd_secret_free(k);
    prd_password_policy_free(pol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_argon2id),
        cmocka_unit_test(test_kat_argon2i),
        cmocka_unit_test(test_kat_argon2d),
        cmocka_unit_test(test_kat_argon2id_v16),
        cmocka_unit_test(test_kat_argon2i_v16),
        cmocka_unit_test(test_kat_argon2d_v16),
        cmocka_unit_test(test_backends_agree),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_phc_accepts),
        cmocka_unit_test(test_phc_rejects),
        cmocka_unit_test(test_phc_encode_round_trip),
        cmocka_unit_test(test_phc_longest_round_trip),
        cmocka_unit_test(test_round_trip_every_preset),
        cmocka_unit_test(test_salts_differ_and_binary_passwords),
        cmocka_unit_test(test_hash_arguments),
        cmocka_unit_test(test_verify_every_variant_and_version),
        cmocka_unit_test(test_caps_refuse_before_allocating),
        cmocka_unit_test(test_rehash_reasons),
        cmocka_unit_test(test_verify_and_upgrade),
        cmocka_unit_test(test_pepper_rotation),
        cmocka_unit_test(test_legacy_upgrade),
        cmocka_unit_test(test_budget_under_16_threads),
        cmocka_unit_test(test_budget_timeout_gives_busy),
        cmocka_unit_test(test_budget_oversized_runs_alone),
        cmocka_unit_test(test_legacy_caps),
        cmocka_unit_test(test_p4_verify_routes_agree),
        cmocka_unit_test(test_dummy_verify_timing),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
