/* Signup, login, sessions and password reset. */
#include <stdio.h>
#include <string.h>

#include "app.h"

#define RESET_PURPOSE "password-reset"
#define RESET_TTL_MS (30 * 60 * 1000)
#define COOKIE_ATTRS "; HttpOnly; Secure; SameSite=Lax; Path=/"

/* The address as stored: ASCII lower case (the domain is case-blind, and
 * treating the local part so too is what users expect). */
static void lower(char *dst, const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] + 32) : src[i];
    dst[len] = '\0';
}

static int password_ok(struct req *r, const char *pw, size_t len)
{
    size_t n = utf8_chars(pw, len);
    if (n < PASSWORD_MIN || n > PASSWORD_MAX) {
        reply_problem(r, 400, "Invalid password",
                      "A password has 8 to 1024 characters.");
        return 0;
    }
    return 1;
}

/* 503 with Retry-After: the password budget stayed full. */
static void busy(struct req *r)
{
    char v[16];
    snprintf(v, sizeof v, "%u", (prd_password_retry_after_ms(app.pw) + 999) / 1000);
    add_header(r, "Retry-After", v);
    /* like every 5xx it says nothing more; the log has the cause */
    snprintf(r->error_detail, sizeof r->error_detail, "password budget full");
    reply_problem(r, 503, "Something went wrong", NULL);
}

/* The guard's bookkeeping failed (its database): the login's answer
 * stands, and the log says so. */
static void settled(prd_status st)
{
    if (st != PRD_OK)
        PRD_LOG_WARN(app.log, "login guard not updated", PRD_F_STR("status", prd_status_name(st)));
}

static void session_cookie(struct req *r, const char *token)
{
    char v[320];
    snprintf(v, sizeof v, "session=%s" COOKIE_ATTRS, token);
    add_header(r, "Set-Cookie", v);
}

/* A new password checked and hashed into hash: 1, or 0 with the answer
 * given (400 for its length, 503 when the budget is full). */
static int new_hash(struct req *r, const char *pw, size_t pl, char hash[PRD_PASSWORD_HASH_SIZE])
{
    if (!password_ok(r, pw, pl))
        return 0;
    prd_status st = prd_password_hash(app.pw, pw, pl, hash, PRD_PASSWORD_HASH_SIZE);
    if (st == PRD_EBUSY)
        busy(r);
    else if (st != PRD_OK)
        reply_internal(r, "hash", st);
    return st == PRD_OK;
}

void route_signup(struct req *r)
{
    size_t el = 0, pl = 0;
    const char *email = NULL, *pw = NULL;
    json_t *b = body_fields(r, "email", &email, &el, "password", &pw, &pl);
    if (!b)
        return;
    if (!valid_email(email, el)) {
        reply_problem(r, 400, "Invalid email", "That is not an email address.");
        goto out;
    }
    char em[EMAIL_MAX + 1], hash[PRD_PASSWORD_HASH_SIZE];
    lower(em, email, el);
    /* Hashed whether or not the address is taken: the same time either way. */
    if (!new_hash(r, pw, pl, hash))
        goto out;
    prd_status st = user_create(em, hash);
    if (st == PRD_OK || st == PRD_ECONFLICT)
        reply_json(r, 202, json_pack("{s:s}", "status", "pending"));
    else
        reply_internal(r, "user_create", st);
out:
    json_decref(b);
}

/* 429 with the headers of whichever limit said no. */
static void limited(struct req *r, const prd_rl_decision *d, int guard)
{
    char v[256];
    if (guard ? prd_login_guard_policy_header(app.guard, v, sizeof v)
              : prd_limiter_policy_header(app.ip_rules, v, sizeof v))
        add_header(r, "RateLimit-Policy", v);
    if (guard ? prd_login_guard_ratelimit_header(app.guard, d, v, sizeof v)
              : prd_limiter_ratelimit_header(app.ip_rules, d, v, sizeof v))
        add_header(r, "RateLimit", v);
    if (prd_limiter_retry_after_header(d, v, sizeof v))
        add_header(r, "Retry-After", v);
    reply_problem(r, 429, "Too many attempts", "Wait before trying again.");
}

void route_login(struct req *r)
{
    size_t el = 0, pl = 0;
    const char *email = NULL, *pw = NULL;
    json_t *b = body_fields(r, "email", &email, &el, "password", &pw, &pl);
    if (!b)
        return;
    if (pl > 4 * PASSWORD_MAX) { /* no hash of megabytes: not a password we could have */
        reply_problem(r, 401, "Invalid email or password", NULL);
        goto out;
    }
    /* Every address gets a per-address limit, shared by every instance. */
    prd_rl_key k[1] = {{r->client, strlen(r->client)}};
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    prd_status st = prd_rl_pg_check(app.ip_limit, k, 1, 1, &d);
    if (st == PRD_ELIMITED) {
        limited(r, &d, 0);
        goto out;
    }
    if (st != PRD_OK) {
        reply_internal(r, "ratelimit", st);
        goto out;
    }
    char em[EMAIL_MAX + 1], id[USER_ID_SIZE] = "", hash[PRD_PASSWORD_HASH_SIZE] = "";
    size_t eln = el > EMAIL_MAX ? EMAIL_MAX : el;
    lower(em, email, eln);
    prd_login_attempt att;
    prd_rl_decision gd = PRD_RL_DECISION_INIT;
    st = prd_login_guard_check(app.guard, em, eln, r->client, strlen(r->client), &att, &gd);
    if (st == PRD_ELIMITED) {
        limited(r, &gd, 1);
        goto out;
    }
    if (st != PRD_OK) {
        reply_internal(r, "login_guard", st);
        goto out;
    }
    st = valid_email(email, el) ? user_by_email(em, id, hash) : PRD_ENOTFOUND;
    char fresh[PRD_PASSWORD_HASH_SIZE] = "";
    int upgraded = 0;
    if (st == PRD_ENOTFOUND)
        st = prd_password_verify_dummy(app.pw, pw, pl); /* an unknown address costs the same */
    else if (st == PRD_OK)
        st = prd_password_verify_and_upgrade(app.pw, pw, pl, hash, fresh, sizeof fresh, &upgraded);
    if (st == PRD_EMISMATCH) {
        settled(prd_login_guard_failure(app.guard, &att));
        reply_problem(r, 401, "Invalid email or password", NULL);
        goto out;
    }
    if (st != PRD_OK) {
        settled(prd_login_guard_abandon(app.guard, &att)); /* not the client's failure */
        if (st == PRD_EBUSY)
            busy(r);
        else
            reply_internal(r, "verify", st);
        goto out;
    }
    settled(prd_login_guard_success(app.guard, &att));
    if (upgraded && user_set_hash(id, fresh, hash) != PRD_OK)
        PRD_LOG_WARN(app.log, "rehash not stored", PRD_F_STR("user_id", id));
    char token[PRD_OPAQUE_TOKEN_SIZE];
    st = prd_token_session_create(app.sessions, id, token, sizeof token);
    if (st != PRD_OK) {
        reply_internal(r, "session_create", st);
        goto out;
    }
    snprintf(r->user_id, sizeof r->user_id, "%s", id);
    session_cookie(r, token);
    prd_memzero(token, sizeof token);
    reply_json(r, 200, json_pack("{s:s}", "user_id", id));
out:
    json_decref(b);
}

/* The session's user into r->user_id: 1, or 0 with a 401 answered. */
static int session_user(struct req *r, int answer)
{
    const char *tok = request_cookie(r, "session");
    if (tok) {
        char sub[PRD_SESSION_SUBJECT_SIZE];
        prd_status st = prd_token_session_validate(app.sessions, tok, strlen(tok), sub, sizeof sub);
        if (st == PRD_OK && strlen(sub) < sizeof r->user_id) {
            memcpy(r->user_id, sub, strlen(sub) + 1);
            return 1;
        }
        if (st != PRD_OK && st != PRD_EBADTOKEN && st != PRD_EEXPIRED) {
            if (answer)
                reply_internal(r, "session_validate", st);
            return -1;
        }
    }
    if (answer)
        reply_problem(r, 401, "Not signed in", NULL);
    return 0;
}

void route_me(struct req *r)
{
    if (session_user(r, 1) != 1)
        return;
    char email[EMAIL_MAX + 1];
    prd_status st = user_by_id(r->user_id, email, sizeof email);
    if (st == PRD_ENOTFOUND)
        reply_problem(r, 401, "Not signed in", NULL);
    else if (st != PRD_OK)
        reply_internal(r, "user_by_id", st);
    else
        reply_json(r, 200, json_pack("{s:s,s:s}", "user_id", r->user_id, "email", email));
}

void route_logout(struct req *r)
{
    const char *tok = request_cookie(r, "session");
    if (tok) {
        prd_status st = prd_token_session_revoke(app.sessions, tok, strlen(tok));
        if (st != PRD_OK && st != PRD_EBADTOKEN) {
            reply_internal(r, "session_revoke", st);
            return;
        }
    }
    add_header(r, "Set-Cookie", "session=; Max-Age=0" COOKIE_ATTRS);
    reply_empty(r, 204);
}

void route_logout_all(struct req *r)
{
    if (session_user(r, 1) != 1)
        return;
    prd_status st = prd_token_session_revoke_subject(app.sessions, r->user_id, NULL);
    if (st != PRD_OK) {
        reply_internal(r, "revoke_subject", st);
        return;
    }
    add_header(r, "Set-Cookie", "session=; Max-Age=0" COOKIE_ATTRS);
    reply_empty(r, 204);
}

void route_reset_request(struct req *r)
{
    size_t el = 0;
    const char *email = NULL;
    json_t *b = body_fields(r, "email", &email, &el, NULL, NULL, NULL);
    if (!b)
        return;
    if (!valid_email(email, el)) {
        reply_problem(r, 400, "Invalid email", "That is not an email address.");
        goto out;
    }
    char em[EMAIL_MAX + 1], id[USER_ID_SIZE], hash[PRD_PASSWORD_HASH_SIZE];
    lower(em, email, el);
    prd_status st = user_by_email(em, id, hash);
    if (st == PRD_OK) {
        char token[PRD_OPAQUE_TOKEN_SIZE];
        st = prd_token_single_use_issue(app.sessions, RESET_PURPOSE, id, RESET_TTL_MS, NULL, 0,
                                        token, sizeof token);
        if (st == PRD_OK)
            st = outbox_put(em, RESET_PURPOSE, token); /* mailed, never logged */
        prd_memzero(token, sizeof token);
    } else if (st == PRD_ENOTFOUND) {
        st = PRD_OK; /* the same answer: no account enumeration */
    }
    prd_memzero(hash, sizeof hash);
    if (st == PRD_OK)
        reply_json(r, 202, json_pack("{s:s}", "status", "pending"));
    else
        reply_internal(r, "reset_request", st);
out:
    json_decref(b);
}

void route_reset_confirm(struct req *r)
{
    size_t tl = 0, pl = 0;
    const char *tok = NULL, *pw = NULL;
    json_t *b = body_fields(r, "token", &tok, &tl, "password", &pw, &pl);
    if (!b)
        return;
    /* the new password is checked first: a bad one must not burn the token */
    char hash[PRD_PASSWORD_HASH_SIZE];
    if (!new_hash(r, pw, pl, hash))
        goto out;
    char sub[PRD_SESSION_SUBJECT_SIZE];
    prd_status st = prd_token_single_use_consume(app.sessions, RESET_PURPOSE, tok, tl, NULL, 0, sub,
                                      sizeof sub);
    if (st == PRD_EBADTOKEN || st == PRD_EEXPIRED || st == PRD_EINVAL) {
        reply_problem(r, 400, "Invalid or expired token", NULL);
        goto out;
    }
    if (st != PRD_OK) {
        reply_internal(r, "reset_consume", st);
        goto out;
    }
    if (strlen(sub) < sizeof r->user_id) /* our subjects are UUIDs */
        memcpy(r->user_id, sub, strlen(sub) + 1);
    char email[EMAIL_MAX + 1] = "";
    st = user_set_hash(sub, hash, NULL);
    if (st == PRD_OK)
        st = prd_token_session_revoke_subject(app.sessions, sub, NULL);
    if (st == PRD_OK)
        st = user_by_id(sub, email, sizeof email);
    if (st == PRD_OK)
        st = prd_login_guard_unlock(app.guard, email, strlen(email));
    if (st == PRD_OK)
        reply_empty(r, 204);
    else
        reply_internal(r, "reset_confirm", st);
out:
    json_decref(b);
}
