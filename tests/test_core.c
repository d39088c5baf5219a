/* core: status codes, init, secrets, clocks, encodings. */
#include "support/testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/encoding.h"
#include "internal/secret.h"

/* ---- status ---- */

static void test_status_every_code_has_phrase_and_name(void **state)
{
    (void)state;
    static const struct {
        prd_status st;
        const char *phrase;
        int client;
    } expect[] = {
        {PRD_OK, "success", 0},
        {PRD_EINVAL, "invalid input", 1},
        {PRD_EMISMATCH, "does not match", 1},
        {PRD_EEXPIRED, "expired", 1},
        {PRD_ENOTYET, "not valid yet", 1},
        {PRD_ELIMITED, "rate limit exceeded", 1},
        {PRD_EBUSY, "busy, try again later", 0},
        {PRD_ETIMEOUT, "timed out", 0},
        {PRD_ENOMEM, "out of memory", 0},
        {PRD_EIO, "input/output error", 0},
        {PRD_EDB, "database error", 0},
        {PRD_ERETRY, "retries exhausted", 0},
        {PRD_ECLOSED, "closed", 0},
        {PRD_ETOOBIG, "input too large", 1},
        {PRD_ENOSPACE, "output buffer too small", 1},
        {PRD_EBADTOKEN, "invalid token", 1},
        {PRD_ENOTFOUND, "not found", 1},
        {PRD_EPERM, "permission denied", 0},
        {PRD_ECONFLICT, "conflicts with existing data", 1},
        {PRD_EUNKNOWN, "outcome unknown", 0},
        {PRD_EINTERNAL, "internal error", 0},
        {PRD_EUNSUPPORTED, "unsupported", 1},
    };
    /* The table must cover every code, in order: numbering is ABI. */
    assert_int_equal(sizeof expect / sizeof expect[0], PRD_STATUS_MAX + 1);
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        assert_int_equal((int)expect[i].st, (int)i);
        assert_string_equal(prd_status_str(expect[i].st), expect[i].phrase);
        assert_int_equal(prd_status_is_client_error(expect[i].st), expect[i].client);
        const char *name = prd_status_name(expect[i].st);
        assert_true(strlen(name) >= 2);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(name, prd_status_name(expect[j].st));
    }
}

static void test_status_unknown_numbers(void **state)
{
    (void)state;
    int bad[] = {-1, PRD_STATUS_MAX + 1, 1000, -2147483647};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_string_equal(prd_status_str((prd_status)bad[i]), "unknown status");
        assert_int_equal(prd_status_is_client_error((prd_status)bad[i]), 0);
        assert_non_null(prd_status_name((prd_status)bad[i]));
    }
}

/* ---- init and version ---- */

static void *init_thread(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)prd_init();
}

static void test_init_idempotent_and_threadsafe(void **state)
{
    (void)state;
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, init_thread, NULL), 0);
    for (int i = 0; i < 8; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_int_equal((intptr_t)ret, PRD_OK);
    }
    assert_ok(prd_init());
}

static void test_version(void **state)
{
    (void)state;
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", PRD_VERSION_MAJOR, PRD_VERSION_MINOR,
             PRD_VERSION_PATCH);
    assert_string_equal(prd_version(), want);
    assert_string_equal(prd_version(), PRD_VERSION_STRING);
    assert_int_equal(prd_version_number(), PRD_VERSION_NUMBER);
}

/* ---- secrets ---- */

static const unsigned char key_bytes[8] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x7f, 0xff};

static void assert_secret_is_key(const prd_secret *s)
{
    assert_non_null(s);
    assert_int_equal(prd_secret_len(s), sizeof key_bytes);
    assert_memory_equal(prd__secret_data(s), key_bytes, sizeof key_bytes);
}

static void test_secret_from_bytes_hex_base64url(void **state)
{
    (void)state;
    prd_secret *a = NULL, *b = NULL, *c = NULL;
    assert_ok(prd_secret_from_bytes(key_bytes, sizeof key_bytes, &a));
    assert_ok(prd_secret_from_hex("DEADbeef00017fff", &b));
    assert_ok(prd_secret_from_base64url("3q2-7wABf_8", &c));
    assert_secret_is_key(a);
    assert_secret_is_key(b);
    assert_secret_is_key(c);
    assert_true(prd_secret_equal(a, b));
    assert_true(prd_secret_equal(b, c));
    prd_secret_free(a);
    prd_secret_free(b);
    prd_secret_free(c);
}

static void test_secret_rejects_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int hex;
        prd_status want;
    } cases[] = {
        {"", 1, PRD_EINVAL},       {"abc", 1, PRD_EINVAL},   {"zz", 1, PRD_EINVAL},
        {"00 11", 1, PRD_EINVAL},  {"", 0, PRD_EINVAL},      {"3q2-7w==", 0, PRD_EINVAL},
        {"3q2+7w", 0, PRD_EINVAL}, {"3q2-7x", 0, PRD_EINVAL}, /* non-zero trailing bits */
        {"A", 0, PRD_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prd_secret *s = (prd_secret *)(uintptr_t)1;
        prd_status st = cases[i].hex ? prd_secret_from_hex(cases[i].text, &s)
                                     : prd_secret_from_base64url(cases[i].text, &s);
        if (st != cases[i].want)
            fail_msg("case %zu '%s': got %s", i, cases[i].text, prd_status_name(st));
        assert_null(s);
    }
    prd_secret *s = NULL;
    assert_status(prd_secret_from_bytes(NULL, 4, &s), PRD_EINVAL);
    assert_status(prd_secret_from_bytes(key_bytes, 0, &s), PRD_EINVAL);
    assert_status(prd_secret_from_bytes(key_bytes, 4, NULL), PRD_EINVAL);
    assert_status(prd_secret_from_hex(NULL, &s), PRD_EINVAL);
    unsigned char big[PRD_SECRET_MAX + 1] = {0};
    assert_status(prd_secret_from_bytes(big, sizeof big, &s), PRD_ETOOBIG);
    assert_ok(prd_secret_from_bytes(big, PRD_SECRET_MAX, &s));
    prd_secret_free(s);
    assert_status(prd_secret_random(0, &s), PRD_EINVAL);
    assert_status(prd_secret_random(PRD_SECRET_MAX + 1, &s), PRD_ETOOBIG);
    assert_null(s);
    char *hex = malloc(2 * (PRD_SECRET_MAX + 1) + 1);
    memset(hex, 'a', 2 * (PRD_SECRET_MAX + 1));
    hex[2 * (PRD_SECRET_MAX + 1)] = '\0';
    assert_status(prd_secret_from_hex(hex, &s), PRD_ETOOBIG);
    free(hex);
}

static void test_secret_from_env(void **state)
{
    (void)state;
    prd_secret *s = NULL;
    setenv("PRD_TEST_SECRET_HEX", "deadbeef00017fff\n", 1);
    assert_ok(prd_secret_from_env("PRD_TEST_SECRET_HEX", PRD_SECRET_HEX, &s));
    assert_secret_is_key(s);
    prd_secret_free(s);
    setenv("PRD_TEST_SECRET_B64", "3q2-7wABf_8", 1);
    assert_ok(prd_secret_from_env("PRD_TEST_SECRET_B64", PRD_SECRET_BASE64URL, &s));
    assert_secret_is_key(s);
    prd_secret_free(s);
    setenv("PRD_TEST_SECRET_RAW", "raw value", 1);
    assert_ok(prd_secret_from_env("PRD_TEST_SECRET_RAW", PRD_SECRET_RAW, &s));
    assert_int_equal(prd_secret_len(s), 9);
    assert_memory_equal(prd__secret_data(s), "raw value", 9);
    prd_secret_free(s);
    unsetenv("PRD_TEST_SECRET_MISSING");
    assert_status(prd_secret_from_env("PRD_TEST_SECRET_MISSING", PRD_SECRET_HEX, &s),
                  PRD_ENOTFOUND);
    setenv("PRD_TEST_SECRET_BAD", "not hex", 1);
    assert_status(prd_secret_from_env("PRD_TEST_SECRET_BAD", PRD_SECRET_HEX, &s), PRD_EINVAL);
    assert_status(prd_secret_from_env("", PRD_SECRET_HEX, &s), PRD_EINVAL);
    assert_status(prd_secret_from_env("PRD_TEST_SECRET_RAW", (prd_secret_encoding)9, &s),
                  PRD_EINVAL);
    assert_null(s);
}

static char *write_file(const char *dir, const char *name, const char *content, mode_t mode)
{
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void test_secret_from_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    prd_secret *s = NULL;
    struct {
        const char *content;
        mode_t mode;
        prd_secret_encoding enc;
        prd_status want;
    } cases[] = {
        {"deadbeef00017fff\n", 0600, PRD_SECRET_HEX, PRD_OK},
        {"deadbeef00017fff\r\n", 0400, PRD_SECRET_HEX, PRD_OK},
        {"3q2-7wABf_8", 0600, PRD_SECRET_BASE64URL, PRD_OK},
        {"deadbeef00017fff", 0644, PRD_SECRET_HEX, PRD_EPERM}, /* world-readable */
        {"deadbeef00017fff", 0640, PRD_SECRET_HEX, PRD_EPERM}, /* group-readable */
        {"deadbeef00017fff", 0602, PRD_SECRET_HEX, PRD_EPERM}, /* world-writable */
        {"deadbeef00017fff", 0620, PRD_SECRET_HEX, PRD_EPERM}, /* group-writable */
        {"deadbeef0001", 0600, PRD_SECRET_BASE64URL, PRD_OK},  /* valid b64 too */
        {"", 0600, PRD_SECRET_HEX, PRD_EINVAL},
        {"xyz", 0600, PRD_SECRET_HEX, PRD_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "key%zu", i);
        char *path = write_file(dir, name, cases[i].content, cases[i].mode);
        prd_status st = prd_secret_from_file(path, cases[i].enc, &s);
        if (st != cases[i].want)
            fail_msg("file case %zu (mode %o): got %s want %s", i, (unsigned)cases[i].mode,
                     prd_status_name(st), prd_status_name(cases[i].want));
        if (st == PRD_OK && i < 3)
            assert_secret_is_key(s);
        if (st != PRD_OK)
            assert_null(s);
        prd_secret_free(s);
        s = NULL;
        free(path);
    }
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    assert_status(prd_secret_from_file(missing, PRD_SECRET_HEX, &s), PRD_ENOTFOUND);
    /* A directory is not a regular file. */
    chmod(dir, 0700);
    assert_status(prd_secret_from_file(dir, PRD_SECRET_RAW, &s), PRD_EPERM);
    /* Oversized file. */
    char *huge = malloc(3 * PRD_SECRET_MAX);
    memset(huge, 'a', 3 * PRD_SECRET_MAX - 1);
    huge[3 * PRD_SECRET_MAX - 1] = '\0';
    char *path = write_file(dir, "huge", huge, 0600);
    assert_status(prd_secret_from_file(path, PRD_SECRET_HEX, &s), PRD_ETOOBIG);
    free(path);
    free(huge);
    assert_status(prd_secret_from_file(NULL, PRD_SECRET_HEX, &s), PRD_EINVAL);
    tu_rmtree(dir);
    free(dir);
}

static void test_secret_wipe(void **state)
{
    (void)state;
    prd_secret *s = NULL;
    assert_ok(prd_secret_random(64, &s));
    const unsigned char *p = prd__secret_data(s);
    unsigned char zero[64] = {0};
    /* 64 random bytes being all zero has probability 2^-512. */
    assert_memory_not_equal(p, zero, 64);
    prd__secret_wipe(s); /* the step prd_secret_free runs before unmapping */
    assert_memory_equal(prd__secret_data(s), zero, 64);
    prd_secret_free(s);
    prd_secret_free(NULL);
}

static void test_secret_equal(void **state)
{
    (void)state;
    prd_secret *a = NULL, *b = NULL, *c = NULL;
    assert_ok(prd_secret_from_hex("00112233", &a));
    assert_ok(prd_secret_from_hex("00112233", &b));
    assert_ok(prd_secret_from_hex("00112234", &c));
    assert_true(prd_secret_equal(a, b));
    assert_false(prd_secret_equal(a, c));
    assert_false(prd_secret_equal(a, NULL));
    prd_secret *d = NULL;
    assert_ok(prd_secret_from_hex("0011", &d));
    assert_false(prd_secret_equal(a, d));
    prd_secret_free(a);
    prd_secret_free(b);
    prd_secret_free(c);
    prd_secret_free(d);
}

static void test_secret_out_of_memory(void **state)
{
    (void)state;
    /* Fail each allocation in turn until the call succeeds. */
    int succeeded = 0;
    for (long n = 1; n < 10 && !succeeded; n++) {
        prd_secret *s = NULL;
        prd__alloc_fail_after(n);
        prd_status st = prd_secret_from_hex("deadbeef00017fff", &s);
        prd__alloc_fail_after(0);
        if (st == PRD_OK) {
            assert_secret_is_key(s);
            succeeded = 1;
        } else {
            assert_int_equal(st, PRD_ENOMEM);
            assert_null(s);
        }
        prd_secret_free(s);
    }
    assert_true(succeeded);
    assert_true(prd__alloc_failures() >= 2);
}

/* ---- clocks ---- */

static void test_system_clock(void **state)
{
    (void)state;
    int64_t w = prd_clock_wall_ns(NULL);
    assert_true(w > INT64_C(1600000000) * 1000000000); /* after 2020 */
    int64_t m1 = prd_clock_mono_ns(NULL);
    int64_t m2 = prd_clock_mono_ns(NULL);
    assert_true(m2 >= m1);
}

static void test_manual_clock(void **state)
{
    (void)state;
    prd_clock *c = NULL;
    assert_status(prd_clock_manual_new(0, -1, &c), PRD_EINVAL);
    assert_ok(prd_clock_manual_new(INT64_C(1700000000000000000), 5, &c));
    assert_int_equal(prd_clock_wall_ns(c), INT64_C(1700000000000000000));
    assert_int_equal(prd_clock_mono_ns(c), 5);
    assert_ok(prd_clock_manual_advance(c, 1000));
    assert_int_equal(prd_clock_wall_ns(c), INT64_C(1700000000000001000));
    assert_int_equal(prd_clock_mono_ns(c), 1005);
    /* A negative move turns the wall clock back but never the monotonic one. */
    assert_ok(prd_clock_manual_advance(c, -2000));
    assert_int_equal(prd_clock_wall_ns(c), INT64_C(1699999999999999000));
    assert_int_equal(prd_clock_mono_ns(c), 1005);
    assert_ok(prd_clock_manual_set_wall(c, 42));
    assert_int_equal(prd_clock_wall_ns(c), 42);
    assert_int_equal(prd_clock_mono_ns(c), 1005);
    assert_status(prd_clock_manual_advance(c, INT64_MAX), PRD_EINVAL);
    assert_int_equal(prd_clock_wall_ns(c), 42);
    assert_status(prd_clock_manual_advance(NULL, 1), PRD_EINVAL);
    assert_status(prd_clock_manual_set_wall(NULL, 1), PRD_EINVAL);
    prd_clock_free(c);
    prd_clock_free(NULL);
}

/* ---- encodings ---- */

static void test_hex_and_base64url_round_trip(void **state)
{
    (void)state;
    unsigned char data[64], back[64];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof data; len++) {
        char text[200];
        size_t n = prd_hex_encode(text, sizeof text, data, len);
        assert_int_equal(n, 2 * len);
        assert_int_equal(strlen(text), n);
        size_t got = 99;
        assert_ok(prd_hex_decode(back, sizeof back, &got, text, n));
        assert_int_equal(got, len);
        assert_memory_equal(back, data, len);
        n = prd_base64url_encode(text, sizeof text, data, len);
        assert_int_equal(n, PRD_BASE64URL_LEN(len));
        assert_int_equal(strlen(text), n);
        assert_null(strpbrk(text, "+/="));
        assert_ok(prd_base64url_decode(back, sizeof back, &got, text, n));
        assert_int_equal(got, len);
        assert_memory_equal(back, data, len);
        if (len > 0) /* one byte short of room: ENOSPACE */
            assert_status(prd_base64url_decode(back, len - 1, &got, text, n), PRD_ENOSPACE);
    }
}

static void test_encode_snprintf_contract(void **state)
{
    (void)state;
    char buf[8] = "xxxxxxx";
    const unsigned char d[4] = {1, 2, 3, 4};
    assert_int_equal(prd_hex_encode(NULL, 0, d, 4), 8);
    assert_int_equal(prd_hex_encode(buf, 8, d, 4), 8); /* no room for NUL */
    assert_string_equal(buf, "");
    assert_int_equal(prd_base64url_encode(buf, sizeof buf, d, 4), 6);
    assert_string_equal(buf, "AQIDBA");
}

static void test_decode_rejects(void **state)
{
    (void)state;
    unsigned char out[16];
    static const char *bad_b64[] = {"A", "AQ=", "AQ==", "AQ\n", "A Q", "AR", "AQI+", "AQI/", "AQJ"};
    for (size_t i = 0; i < sizeof bad_b64 / sizeof bad_b64[0]; i++)
        if (prd_base64url_decode(out, sizeof out, NULL, bad_b64[i], strlen(bad_b64[i])) !=
            PRD_EINVAL)
            fail_msg("base64url '%s' should be rejected", bad_b64[i]);
    /* High-bit bytes: libsodium 1.0.18's decoder alone accepts them. */
    for (int c = 0x80; c <= 0xff; c++) {
        char t[4] = {'A', 'A', 'A', (char)c};
        if (prd_base64url_decode(out, sizeof out, NULL, t, 4) != PRD_EINVAL)
            fail_msg("base64url with byte 0x%02x should be rejected", c);
    }
    static const char *bad_hex[] = {"0", "0g", "0x00", " 00", "00 "};
    for (size_t i = 0; i < sizeof bad_hex / sizeof bad_hex[0]; i++)
        if (prd_hex_decode(out, sizeof out, NULL, bad_hex[i], strlen(bad_hex[i])) != PRD_EINVAL)
            fail_msg("hex '%s' should be rejected", bad_hex[i]);
    assert_status(prd_hex_decode(out, 1, NULL, "0011", 4), PRD_ENOSPACE);
    assert_true(prd_memeq("abc", "abc", 3));
    assert_false(prd_memeq("abc", "abd", 3));
    char wipe[4] = "abc";
    prd_memzero(wipe, sizeof wipe);
    assert_memory_equal(wipe, "\0\0\0\0", 4);
}

/* The fast public-data decoder must agree with libsodium's on every input. */
static void test_fast_base64url_matches_libsodium(void **state)
{
    (void)state;
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \xff";
    unsigned char a[64], b[64];
    char text[80];
    unsigned seed = 12345;
    for (int round = 0; round < 200000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 8) % 70;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly valid characters, sometimes junk */
            size_t pick = (seed >> 8) % (seed & 0x100 ? 64 : sizeof alphabet - 1);
            text[i] = alphabet[pick];
        }
        size_t na = 0, nb = 0;
        prd_status sa = prd_base64url_decode(a, sizeof a, &na, text, len);
        prd_status sb = prd__b64url_decode_public(b, sizeof b, &nb, text, len);
        if (sa != sb || na != nb || (sa == PRD_OK && memcmp(a, b, na) != 0))
            fail_msg("decoders disagree on '%.*s': %s/%s", (int)len, text, prd_status_name(sa),
                     prd_status_name(sb));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_every_code_has_phrase_and_name),
        cmocka_unit_test(test_status_unknown_numbers),
        cmocka_unit_test(test_init_idempotent_and_threadsafe),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_secret_from_bytes_hex_base64url),
        cmocka_unit_test(test_secret_rejects_bad_input),
        cmocka_unit_test(test_secret_from_env),
        cmocka_unit_test(test_secret_from_file),
        cmocka_unit_test(test_secret_wipe),
        cmocka_unit_test(test_secret_equal),
        cmocka_unit_test(test_secret_out_of_memory),
        cmocka_unit_test(test_system_clock),
        cmocka_unit_test(test_manual_clock),
        cmocka_unit_test(test_hex_and_base64url_round_trip),
        cmocka_unit_test(test_encode_snprintf_contract),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_fast_base64url_matches_libsodium),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
