/* The application's own schema (migrated at start) and its queries. */
#include <stdio.h>
#include <string.h>

#include "app.h"

static const prd_pg_migration schema[] = {
    PRD_PG_MIGRATION(1, "users",
                     "CREATE TABLE users ("
                     " id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
                     " email text NOT NULL UNIQUE CHECK (email = lower(email)),"
                     " password_hash text NOT NULL,"
                     " created_at timestamptz NOT NULL DEFAULT now(),"
                     " updated_at timestamptz NOT NULL DEFAULT now())"),
    /* The stand-in for a mail sender: what would be mailed, in order. */
    PRD_PG_MIGRATION(2, "outbox",
                     "CREATE TABLE outbox ("
                     " id bigserial PRIMARY KEY,"
                     " email text NOT NULL,"
                     " kind text NOT NULL,"
                     " token text,"
                     " created_at timestamptz NOT NULL DEFAULT now());"
                     "CREATE INDEX outbox_email ON outbox (email)"),
};

prd_status users_migrate(prd_pg_error *err)
{
    prd_status st = prd_pg_stores_migrate(app.pool, NULL, err);
    if (st != PRD_OK)
        return st;
    return prd_pg_migrate(app.pool, "login-server", schema, sizeof schema / sizeof schema[0], NULL,
                          err);
}

/* One statement on a pooled connection. */
static prd_status run(const char *sql, size_t n, const char *const *vals, prd_pg_result **out)
{
    prd_pg_conn *c;
    prd_status st = prd_pg_acquire(app.pool, &c, NULL);
    if (st != PRD_OK)
        return st;
    st = prd_pg_query_text(c, sql, n, vals, out);
    prd_pg_pool_release(c);
    return st;
}

static void copy_col(const prd_pg_result *res, size_t col, char *out, size_t size)
{
    size_t len = 0;
    const char *v = prd_pg_result_text(res, 0, col, &len);
    if (!v || len >= size)
        len = 0;
    memcpy(out, v ? v : "", len);
    out[len] = '\0';
}

prd_status user_by_email(const char *email, char id[USER_ID_SIZE],
                         char hash[PRD_PASSWORD_HASH_SIZE])
{
    prd_pg_result *res = NULL;
    const char *v[1] = {email};
    prd_status st = run("SELECT id, password_hash FROM users WHERE email = $1", 1, v, &res);
    if (st == PRD_OK && prd_pg_result_rows(res) == 0)
        st = PRD_ENOTFOUND;
    if (st == PRD_OK) {
        copy_col(res, 0, id, USER_ID_SIZE);
        copy_col(res, 1, hash, PRD_PASSWORD_HASH_SIZE);
    }
    prd_pg_result_free(res);
    return st;
}

prd_status user_by_id(const char *id, char *email, size_t email_size)
{
    prd_pg_result *res = NULL;
    const char *v[1] = {id};
    prd_status st = run("SELECT email FROM users WHERE id = $1::uuid", 1, v, &res);
    if (st == PRD_OK && prd_pg_result_rows(res) == 0)
        st = PRD_ENOTFOUND;
    if (st == PRD_OK)
        copy_col(res, 0, email, email_size);
    prd_pg_result_free(res);
    return st;
}

prd_status user_create(const char *email, const char *hash)
{
    /* One statement: the account, or (the address taken) a notice to its
     * owner, so the answer to the client is the same either way. */
    prd_pg_result *res = NULL;
    const char *v[2] = {email, hash};
    prd_status st = run("WITH ins AS (INSERT INTO users (email, password_hash) VALUES ($1, $2)"
                        " ON CONFLICT (email) DO NOTHING RETURNING id),"
                        " note AS (INSERT INTO outbox (email, kind) SELECT $1, CASE WHEN"
                        " EXISTS (SELECT 1 FROM ins) THEN 'welcome' ELSE 'signup-existing' END)"
                        " SELECT count(*) FROM ins",
                        2, v, &res);
    if (st == PRD_OK) {
        int64_t n = 0;
        st = prd_pg_result_int64(res, 0, 0, &n);
        if (st == PRD_OK && n == 0)
            st = PRD_ECONFLICT;
    }
    prd_pg_result_free(res);
    return st;
}

prd_status user_set_hash(const char *id, const char *hash, const char *old_hash)
{
    /* With old_hash: only if nobody changed it meanwhile (a rehash on
     * login must not undo a password reset). */
    prd_pg_result *res = NULL;
    const char *v[3] = {id, hash, old_hash};
    prd_status st =
        old_hash ? run("UPDATE users SET password_hash = $2, updated_at = now()"
                       " WHERE id = $1::uuid AND password_hash = $3",
                       3, v, &res)
                 : run("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1::uuid",
                       2, v, &res);
    prd_pg_result_free(res);
    return st;
}

prd_status outbox_put(const char *email, const char *kind, const char *token)
{
    const char *v[3] = {email, kind, token};
    return run("INSERT INTO outbox (email, kind, token) VALUES ($1, $2, $3)", 3, v, NULL);
}
