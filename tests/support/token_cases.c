#include "support/token_cases.h"
#include "support/testutil.h"

#include <string.h>

#define T0 INT64_C(1700000000000000000)
#define S_NS INT64_C(1000000000)

struct rt_env {
    prd_token_sessions *s;
    prd_clock *clock;
};

static void rt_env_init(struct rt_env *e, prd_token_store *store)
{
    assert_ok(prd_token_sessions_new(store, "sess", &e->s));
    assert_ok(prd_clock_manual_new(T0, 1, &e->clock));
    assert_ok(prd_token_sessions_set_clock(e->s, e->clock));
}

static void rt_env_free(struct rt_env *e)
{
    prd_token_sessions_free(e->s);
    prd_clock_free(e->clock);
}

static void advance_s(struct rt_env *e, int64_t s)
{
    assert_ok(prd_clock_manual_advance(e->clock, s * S_NS));
}

/* Rotate old into next; the status, with *reused and the subject seen. */
static prd_status rot(struct rt_env *e, const char *old, char *next, int *reused, char *subject)
{
    char subj[64];
    int r = -1;
    prd_status st = prd_token_refresh_rotate(e->s, old, strlen(old), next, 80, subj, sizeof subj, &r);
    if (reused)
        *reused = r;
    if (subject)
        strcpy(subject, subj);
    if (st != PRD_OK)
        assert_string_equal(next, ""); /* never a token that was not stored */
    return st;
}

void token_cases_refresh(prd_token_store *store)
{
    struct rt_env e;
    rt_env_init(&e, store);
    char t0[80], t1[80], t2[80], t3[80], subject[64];
    int reused = -1;

    /* rotation: each use gives the next token, the subject each time */
    assert_ok(prd_token_refresh_issue(e.s, "alice", t0, sizeof t0));
    assert_true(strncmp(t0, "rt_", 3) == 0);
    assert_ok(rot(&e, t0, t1, &reused, subject));
    assert_int_equal(reused, 0);
    assert_string_equal(subject, "alice");
    assert_string_not_equal(t0, t1);
    assert_ok(rot(&e, t1, t2, &reused, subject));
    /* reuse of an old token revokes the family: the current one dies too */
    assert_status(rot(&e, t0, t3, &reused, subject), PRD_EBADTOKEN);
    assert_int_equal(reused, 1);
    assert_string_equal(subject, "alice"); /* to tell its owner */
    assert_status(rot(&e, t2, t3, &reused, subject), PRD_EBADTOKEN);
    assert_int_equal(reused, 0); /* just gone now */
    assert_status(rot(&e, t1, t3, &reused, NULL), PRD_EBADTOKEN);

    /* no grace by default: a retry of the token just rotated is reuse */
    assert_ok(prd_token_refresh_issue(e.s, "alice", t0, sizeof t0));
    assert_ok(rot(&e, t0, t1, NULL, NULL));
    assert_status(rot(&e, t0, t2, &reused, NULL), PRD_EBADTOKEN);
    assert_int_equal(reused, 1);
    assert_status(rot(&e, t1, t2, NULL, NULL), PRD_EBADTOKEN);

    /* a grace window: the previous token again within it is a retry; the
     * answer it replaces is superseded, and presenting that is reuse */
    assert_ok(prd_token_refresh_set_policy(e.s, 3600 * 1000, 86400 * 1000, 5000));
    assert_ok(prd_token_refresh_issue(e.s, "bob", t0, sizeof t0));
    assert_ok(rot(&e, t0, t1, NULL, NULL));
    advance_s(&e, 2);
    assert_ok(rot(&e, t0, t2, &reused, subject)); /* the client lost t1's answer */
    assert_int_equal(reused, 0);
    assert_string_equal(subject, "bob");
    assert_ok(rot(&e, t0, t3, NULL, NULL)); /* and again: t2 is superseded now */
    assert_status(rot(&e, t1, t2, &reused, NULL), PRD_EBADTOKEN); /* whoever held t1 */
    assert_int_equal(reused, 1);
    assert_status(rot(&e, t3, t2, NULL, NULL), PRD_EBADTOKEN);
    /* the grace covers only the immediately previous token, and only
     * while its successor is unused */
    assert_ok(prd_token_refresh_issue(e.s, "bob", t0, sizeof t0));
    assert_ok(rot(&e, t0, t1, NULL, NULL));
    assert_ok(rot(&e, t1, t2, NULL, NULL));
    assert_status(rot(&e, t0, t3, &reused, NULL), PRD_EBADTOKEN);
    assert_int_equal(reused, 1);
    /* and only within the window */
    assert_ok(prd_token_refresh_issue(e.s, "bob", t0, sizeof t0));
    assert_ok(rot(&e, t0, t1, NULL, NULL));
    advance_s(&e, 6);
    assert_status(rot(&e, t0, t2, &reused, NULL), PRD_EBADTOKEN);
    assert_int_equal(reused, 1);

    /* lifetimes: a token 10 s from its issue, a family 30 s from login */
    assert_ok(prd_token_refresh_set_policy(e.s, 10 * 1000, 30 * 1000, 0));
    assert_ok(prd_token_refresh_issue(e.s, "carol", t0, sizeof t0));
    advance_s(&e, 9);
    assert_ok(rot(&e, t0, t1, NULL, NULL));
    advance_s(&e, 9);
    assert_ok(rot(&e, t1, t2, NULL, NULL));
    advance_s(&e, 9);
    assert_ok(rot(&e, t2, t3, NULL, NULL)); /* 27 s: the last 3 s of the family */
    advance_s(&e, 4);
    assert_status(rot(&e, t3, t0, NULL, NULL), PRD_EEXPIRED);
    assert_ok(prd_token_refresh_issue(e.s, "carol", t0, sizeof t0));
    advance_s(&e, 10);
    assert_status(rot(&e, t0, t1, NULL, NULL), PRD_EEXPIRED);

    /* logout on a device: any token of the family ends all of it */
    assert_ok(prd_token_refresh_set_policy(e.s, 3600 * 1000, 86400 * 1000, 0));
    assert_ok(prd_token_refresh_issue(e.s, "dave", t0, sizeof t0));
    assert_ok(rot(&e, t0, t1, NULL, NULL));
    assert_ok(prd_token_refresh_revoke(e.s, t1, strlen(t1)));
    assert_status(rot(&e, t1, t2, &reused, NULL), PRD_EBADTOKEN);
    assert_int_equal(reused, 0);
    assert_status(prd_token_refresh_revoke(e.s, t1, strlen(t1)), PRD_EBADTOKEN);
    /* "log out everywhere" ends families too */
    assert_ok(prd_token_refresh_issue(e.s, "erin", t0, sizeof t0));
    size_t n = 0;
    assert_ok(prd_token_session_revoke_subject(e.s, "erin", &n));
    assert_true(n >= 1);
    assert_status(rot(&e, t0, t1, NULL, NULL), PRD_EBADTOKEN);

    /* tokens of other kinds are not refresh tokens, and the reverse */
    char sess[80];
    assert_ok(prd_token_session_create(e.s, "frank", sess, sizeof sess));
    assert_status(rot(&e, sess, t1, NULL, NULL), PRD_EBADTOKEN);
    assert_ok(prd_token_refresh_issue(e.s, "frank", t0, sizeof t0));
    assert_status(prd_token_session_validate(e.s, t0, strlen(t0), NULL, 0), PRD_EBADTOKEN);
    assert_ok(rot(&e, t0, t1, NULL, NULL));
    assert_status(rot(&e, "rt_garbage", t3, NULL, NULL), PRD_EBADTOKEN);
    /* arguments */
    assert_status(prd_token_refresh_set_policy(e.s, 999, 86400 * 1000, 0), PRD_EINVAL);
    assert_status(prd_token_refresh_set_policy(e.s, 2000, 1000, 0), PRD_EINVAL);
    assert_status(prd_token_refresh_set_policy(e.s, 2000, 3000, 60001), PRD_EINVAL);
    assert_status(prd_token_refresh_issue(e.s, "", t0, sizeof t0), PRD_EINVAL);
    assert_status(prd_token_refresh_issue(e.s, "frank", t0, 51), PRD_ENOSPACE);
    assert_status(prd_token_refresh_rotate(e.s, t1, strlen(t1), t2, 51, NULL, 0, NULL),
                  PRD_ENOSPACE);
    assert_ok(prd_token_refresh_rotate(e.s, t1, strlen(t1), t2, sizeof t2, NULL, 0, NULL));
    rt_env_free(&e);
}

void token_cases_listing(prd_token_store *store)
{
    struct rt_env e;
    rt_env_init(&e, store);
    assert_ok(prd_token_sessions_set_timeouts(e.s, 15 * 60 * 1000, 60 * 60 * 1000));
    char a[80], b[80], r[80], u[80], other[80];
    assert_ok(prd_token_session_create(e.s, "gina", a, sizeof a));
    advance_s(&e, 1);
    assert_ok(prd_token_refresh_issue(e.s, "gina", r, sizeof r));
    advance_s(&e, 1);
    assert_ok(prd_token_session_create(e.s, "gina", b, sizeof b));
    assert_ok(prd_token_single_use_issue(e.s, "reset", "gina", 60000, NULL, 0, u, sizeof u));
    assert_ok(prd_token_session_create(e.s, "hugo", other, sizeof other));
    prd_session_info info[8] = {PRD_SESSION_INFO_INIT};
    size_t n = 99;
    assert_ok(prd_token_session_list(e.s, "gina", info, 8, &n));
    assert_int_equal(n, 3); /* two sessions and a family; not the reset token */
    assert_int_equal(info[0].kind, PRD_SESSION_KIND_SESSION);
    assert_int_equal(info[1].kind, PRD_SESSION_KIND_REFRESH);
    assert_int_equal(info[2].kind, PRD_SESSION_KIND_SESSION);
    assert_true(info[0].created_ns < info[1].created_ns && info[1].created_ns < info[2].created_ns);
    assert_int_equal(strlen(info[0].id), 32);
    assert_true(info[0].expires_ns == T0 + INT64_C(15) * 60 * S_NS); /* the idle end */
    assert_null(strstr(a, info[0].id)); /* an id is not the token */
    /* fewer than there are: the oldest, and the count of all */
    assert_ok(prd_token_session_list(e.s, "gina", info, 1, &n));
    assert_int_equal(n, 3);
    assert_int_equal(info[0].kind, PRD_SESSION_KIND_SESSION);
    assert_ok(prd_token_session_list(e.s, "gina", NULL, 0, &n));
    assert_int_equal(n, 3);
    /* end one by its id: that session only; another subject cannot */
    assert_ok(prd_token_session_list(e.s, "gina", info, 8, &n));
    assert_status(prd_token_session_revoke_id(e.s, "hugo", info[2].id), PRD_ENOTFOUND);
    assert_ok(prd_token_session_revoke_id(e.s, "gina", info[2].id));
    assert_status(prd_token_session_validate(e.s, b, strlen(b), NULL, 0), PRD_EBADTOKEN);
    assert_ok(prd_token_session_validate(e.s, a, strlen(a), NULL, 0));
    assert_status(prd_token_session_revoke_id(e.s, "gina", info[2].id), PRD_ENOTFOUND);
    /* a family by its id: its token stops working */
    assert_ok(prd_token_session_revoke_id(e.s, "gina", info[1].id));
    char next[80];
    assert_status(prd_token_refresh_rotate(e.s, r, strlen(r), next, sizeof next, NULL, 0, NULL),
                  PRD_EBADTOKEN);
    assert_ok(prd_token_session_list(e.s, "gina", info, 8, &n));
    assert_int_equal(n, 1);
    /* a session past its idle end is not listed */
    advance_s(&e, 16 * 60);
    assert_ok(prd_token_session_list(e.s, "gina", info, 8, &n));
    assert_int_equal(n, 0);
    assert_status(prd_token_session_revoke_id(e.s, "gina", "not hex"), PRD_ENOTFOUND);
    assert_status(prd_token_session_list(e.s, "", info, 8, &n), PRD_EINVAL);
    assert_status(prd_token_session_list(e.s, "gina", NULL, 1, &n), PRD_EINVAL);
    assert_status(prd_token_session_list(e.s, "gina", info, PRD_SESSION_LIST_MAX + 1, &n),
                  PRD_EINVAL);
    rt_env_free(&e);
}
