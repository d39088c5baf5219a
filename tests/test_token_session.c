/* token: opaque tokens, server-side sessions, single-use tokens. */
#include "support/testutil.h"
#include "support/token_cases.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal/alloc.h"

#define MIN_MS (60 * 1000)
#define T0 (INT64_C(1800000000) * 1000000000)
#define MS INT64_C(1000000)

static void test_opaque_format(void **state)
{
    (void)state;
    char t[PRD_OPAQUE_TOKEN_SIZE], u[PRD_OPAQUE_TOKEN_SIZE];
    unsigned char d1[32], d2[32];
    assert_ok(prd_token_opaque_new("sess", t, sizeof t, d1));
    assert_int_equal(strlen(t), 4 + 1 + 48);
    assert_int_equal(strncmp(t, "sess_", 5), 0);
    assert_ok(prd_token_opaque_digest("sess", t, strlen(t), d2));
    assert_memory_equal(d1, d2, 32);
    assert_ok(prd_token_opaque_digest(NULL, t, strlen(t), NULL));
    assert_status(prd_token_opaque_digest("api", t, strlen(t), d2), PRD_EBADTOKEN);
    assert_ok(prd_token_opaque_new("sess", u, sizeof u, NULL));
    assert_string_not_equal(t, u);
    /* Every single-character typo is caught by the checksum or the shape. */
    size_t len = strlen(t);
    int caught = 0;
    for (size_t pos = 0; pos < len; pos++) {
        char c = t[pos];
        t[pos] = c == 'A' ? 'B' : 'A';
        if (prd_token_opaque_digest("sess", t, len, NULL) == PRD_EBADTOKEN)
            caught++;
        t[pos] = c;
    }
    assert_int_equal(caught, (int)len);
    assert_status(prd_token_opaque_digest("sess", t, len - 1, NULL), PRD_EBADTOKEN);
    static const char *bad_prefix[] = {"", "Sess", "se-ss", "abcdefghijklmnopq", "s p"};
    for (size_t i = 0; i < sizeof bad_prefix / sizeof bad_prefix[0]; i++)
        assert_status(prd_token_opaque_new(bad_prefix[i], u, sizeof u, NULL), PRD_EINVAL);
    assert_status(prd_token_opaque_new("sess", u, 20, NULL), PRD_ENOSPACE);
    assert_status(prd_token_opaque_digest("sess", "garbage", 7, NULL), PRD_EBADTOKEN);
}

struct env {
    prd_token_store *store;
    prd_token_sessions *s;
    prd_clock *clock;
};

static void env_init(struct env *e, size_t max)
{
    assert_ok(prd_token_store_new_memory(max, &e->store));
    assert_ok(prd_token_sessions_new(e->store, "sess", &e->s));
    assert_ok(prd_clock_manual_new(T0, 1, &e->clock));
    assert_ok(prd_token_sessions_set_clock(e->s, e->clock));
    assert_ok(prd_token_sessions_set_timeouts(e->s, 15 * MIN_MS, 60 * MIN_MS));
}

static void env_free(struct env *e)
{
    prd_token_sessions_free(e->s);
    prd_token_store_free(e->store);
    prd_clock_free(e->clock);
}

static prd_status validate(struct env *e, const char *t)
{
    char subject[64];
    return prd_token_session_validate(e->s, t, strlen(t), subject, sizeof subject);
}

static void test_session_idle_and_absolute(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 100);
    char t[PRD_OPAQUE_TOKEN_SIZE], subject[64];
    assert_ok(prd_token_session_create(e.s, "user-7", t, sizeof t));
    assert_ok(prd_token_session_validate(e.s, t, strlen(t), subject, sizeof subject));
    assert_string_equal(subject, "user-7");
    /* Sliding idle timeout: use every 14 minutes keeps it alive... */
    for (int i = 0; i < 4; i++) {
        assert_ok(prd_clock_manual_advance(e.clock, 14 * MIN_MS * MS));
        assert_ok(validate(&e, t));
    }
    /* ...until the absolute lifetime (60 min) ends it regardless. */
    assert_ok(prd_clock_manual_set_wall(e.clock, T0 + 60 * MIN_MS * MS - 1));
    assert_ok(validate(&e, t));
    assert_ok(prd_clock_manual_set_wall(e.clock, T0 + 60 * MIN_MS * MS));
    assert_status(validate(&e, t), PRD_EEXPIRED);
    assert_status(validate(&e, t), PRD_EBADTOKEN); /* deleted on expiry */

    /* Idle: exactly at last use + 15 minutes. */
    assert_ok(prd_clock_manual_set_wall(e.clock, T0));
    assert_ok(prd_token_session_create(e.s, "user-8", t, sizeof t));
    assert_ok(prd_clock_manual_set_wall(e.clock, T0 + 15 * MIN_MS * MS - 1));
    assert_ok(validate(&e, t));
    assert_ok(prd_clock_manual_set_wall(e.clock, T0 + 30 * MIN_MS * MS - 2)); /* last use + 15 min - 1 ns */
    assert_ok(validate(&e, t));
    assert_ok(prd_clock_manual_set_wall(e.clock, T0 + 45 * MIN_MS * MS - 2)); /* exactly last use + 15 min */
    assert_status(validate(&e, t), PRD_EEXPIRED);
    assert_status(prd_token_sessions_set_timeouts(e.s, 10, 5), PRD_EINVAL);
    env_free(&e);
}

static void test_session_rotate_revoke(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 100);
    char a[PRD_OPAQUE_TOKEN_SIZE], b[PRD_OPAQUE_TOKEN_SIZE], c[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_session_create(e.s, "alice", a, sizeof a));
    assert_ok(prd_clock_manual_advance(e.clock, 50 * MIN_MS * MS / 5));
    assert_ok(prd_token_session_rotate(e.s, a, strlen(a), b, sizeof b));
    assert_string_not_equal(a, b);
    assert_status(validate(&e, a), PRD_EBADTOKEN); /* old one dead at once */
    assert_ok(validate(&e, b));
    /* The absolute end carries over: still 60 min from the first login. */
    assert_ok(prd_clock_manual_set_wall(e.clock, T0 + 60 * MIN_MS * MS));
    assert_status(validate(&e, b), PRD_EEXPIRED);
    assert_ok(prd_clock_manual_set_wall(e.clock, T0));
    /* Revoke one, and everything of a subject. */
    assert_ok(prd_token_session_create(e.s, "bob", a, sizeof a));
    assert_ok(prd_token_session_create(e.s, "bob", b, sizeof b));
    assert_ok(prd_token_session_create(e.s, "carol", c, sizeof c));
    assert_ok(prd_token_session_revoke(e.s, a, strlen(a)));
    assert_status(prd_token_session_revoke(e.s, a, strlen(a)), PRD_EBADTOKEN);
    assert_status(validate(&e, a), PRD_EBADTOKEN);
    /* "Log out everywhere" ends the subject's single-use tokens too. */
    char reset[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_single_use_issue(e.s, "password-reset", "bob", 15 * MIN_MS, NULL, 0, reset,
                                         sizeof reset));
    size_t n = 0;
    assert_ok(prd_token_session_revoke_subject(e.s, "bob", &n));
    assert_int_equal(n, 2);
    assert_status(validate(&e, b), PRD_EBADTOKEN);
    assert_status(prd_token_single_use_consume(e.s, "password-reset", reset, strlen(reset), NULL,
                                               0, NULL, 0),
                  PRD_EBADTOKEN);
    assert_ok(validate(&e, c));
    /* A single-use token given to rotate by mistake is not burned. */
    char once[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_single_use_issue(e.s, "verify-email", "carol", 15 * MIN_MS, NULL, 0, once,
                                         sizeof once));
    assert_status(prd_token_session_rotate(e.s, once, strlen(once), a, sizeof a), PRD_EBADTOKEN);
    char who[PRD_SESSION_SUBJECT_SIZE];
    assert_ok(prd_token_single_use_consume(e.s, "verify-email", once, strlen(once), NULL, 0, who,
                                           sizeof who));
    assert_string_equal(who, "carol");
    /* Tokens with another prefix or malformed: not ours. */
    char other[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_opaque_new("api", other, sizeof other, NULL));
    assert_status(validate(&e, other), PRD_EBADTOKEN);
    assert_status(validate(&e, "sess_"), PRD_EBADTOKEN);
    char small[4];
    assert_status(prd_token_session_validate(e.s, c, strlen(c), small, sizeof small), PRD_ENOSPACE);
    assert_status(prd_token_session_create(e.s, "", a, sizeof a), PRD_EINVAL);
    env_free(&e);
}

static void test_store_bounded(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 3);
    char t[4][PRD_OPAQUE_TOKEN_SIZE];
    for (int i = 0; i < 3; i++)
        assert_ok(prd_token_session_create(e.s, "u", t[i], sizeof t[i]));
    assert_status(prd_token_session_create(e.s, "u", t[3], sizeof t[3]), PRD_EBUSY);
    assert_string_equal(t[3], ""); /* no usable token handed out */
    assert_int_equal(prd_token_store_count(e.store), 3);
    /* Once they have expired, room is reclaimed. */
    assert_ok(prd_clock_manual_advance(e.clock, 16 * MIN_MS * MS));
    assert_ok(prd_token_session_create(e.s, "u", t[3], sizeof t[3]));
    assert_int_equal(prd_token_store_count(e.store), 1);
    prd_token_store *bad = NULL;
    assert_status(prd_token_store_new_memory(0, &bad), PRD_EINVAL);
    env_free(&e);
}

static void test_single_use(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 100);
    const char *hash_v1 = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaDE";
    const char *hash_v2 = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaDI";
    char t[PRD_OPAQUE_TOKEN_SIZE], subject[64];
    assert_ok(prd_token_single_use_issue(e.s, "password-reset", "user-9", 15 * MIN_MS, hash_v1,
                                         strlen(hash_v1), t, sizeof t));
    /* Not a session. */
    assert_status(validate(&e, t), PRD_EBADTOKEN);
    assert_ok(prd_token_single_use_consume(e.s, "password-reset", t, strlen(t), hash_v1,
                                           strlen(hash_v1), subject, sizeof subject));
    assert_string_equal(subject, "user-9");
    assert_status(prd_token_single_use_consume(e.s, "password-reset", t, strlen(t), hash_v1,
                                               strlen(hash_v1), subject, sizeof subject),
                  PRD_EBADTOKEN); /* used once */
    /* The password changed: the link is dead. */
    assert_ok(prd_token_single_use_issue(e.s, "password-reset", "user-9", 15 * MIN_MS, hash_v1,
                                         strlen(hash_v1), t, sizeof t));
    assert_status(prd_token_single_use_consume(e.s, "password-reset", t, strlen(t), hash_v2,
                                               strlen(hash_v2), subject, sizeof subject),
                  PRD_EBADTOKEN);
    /* Another purpose. */
    assert_ok(prd_token_single_use_issue(e.s, "verify-email", "user-9", 15 * MIN_MS, NULL, 0, t,
                                         sizeof t));
    assert_status(prd_token_single_use_consume(e.s, "password-reset", t, strlen(t), NULL, 0,
                                               subject, sizeof subject), PRD_EBADTOKEN);
    /* Expiry. */
    assert_ok(prd_token_single_use_issue(e.s, "verify-email", "user-9", 15 * MIN_MS, NULL, 0, t,
                                         sizeof t));
    assert_ok(prd_clock_manual_advance(e.clock, 15 * MIN_MS * MS));
    assert_status(prd_token_single_use_consume(e.s, "verify-email", t, strlen(t), NULL, 0,
                                               subject, sizeof subject), PRD_EEXPIRED);
    /* A session token is not consumed by mistake. */
    char sess[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_session_create(e.s, "user-9", sess, sizeof sess));
    assert_status(prd_token_single_use_consume(e.s, "x", sess, strlen(sess), NULL, 0, NULL, 0),
                  PRD_EBADTOKEN);
    assert_ok(validate(&e, sess));
    assert_status(prd_token_single_use_issue(e.s, "p", "u", 10, NULL, 0, t, sizeof t), PRD_EINVAL);
    env_free(&e);
}

struct race {
    struct env *e;
    const char *token;
    int wins;
    pthread_mutex_t mu;
};

static void *consume_thread(void *p)
{
    struct race *r = p;
    char subject[64];
    if (prd_token_single_use_consume(r->e->s, "reset", r->token, strlen(r->token), NULL, 0, subject,
                                     sizeof subject) == PRD_OK) {
        pthread_mutex_lock(&r->mu);
        r->wins++;
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

static void test_single_use_race(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 100);
    for (int round = 0; round < 20; round++) {
        char t[PRD_OPAQUE_TOKEN_SIZE];
        assert_ok(prd_token_single_use_issue(e.s, "reset", "u", MIN_MS, NULL, 0, t, sizeof t));
        struct race r = {&e, t, 0, PTHREAD_MUTEX_INITIALIZER};
        pthread_t th[8];
        for (int i = 0; i < 8; i++)
            assert_int_equal(pthread_create(&th[i], NULL, consume_thread, &r), 0);
        for (int i = 0; i < 8; i++)
            pthread_join(th[i], NULL);
        assert_int_equal(r.wins, 1);
    }
    env_free(&e);
}

static void test_refresh_families(void **state)
{
    (void)state;
    prd_token_store *store = NULL;
    assert_ok(prd_token_store_new_memory(1000, &store));
    token_cases_refresh(store);
    prd_token_store_free(store);
}

static void test_session_listing(void **state)
{
    (void)state;
    prd_token_store *store = NULL;
    assert_ok(prd_token_store_new_memory(1000, &store));
    token_cases_listing(store);
    prd_token_store_free(store);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, 10);
    char t[PRD_OPAQUE_TOKEN_SIZE];
    prd__alloc_fail_after(1);
    assert_status(prd_token_session_create(e.s, "u", t, sizeof t), PRD_ENOMEM);
    prd__alloc_fail_after(0);
    assert_string_equal(t, "");
    assert_int_equal(prd_token_store_count(e.store), 0);
    assert_ok(prd_token_session_create(e.s, "u", t, sizeof t));
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opaque_format),
        cmocka_unit_test(test_session_idle_and_absolute),
        cmocka_unit_test(test_session_rotate_revoke),
        cmocka_unit_test(test_store_bounded),
        cmocka_unit_test(test_single_use),
        cmocka_unit_test(test_single_use_race),
        cmocka_unit_test(test_refresh_families),
        cmocka_unit_test(test_session_listing),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("token_session", tests, NULL, NULL);
}
