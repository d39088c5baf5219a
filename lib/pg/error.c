/* pg error objects: the server's fields, SQLSTATE to status, scrubbing. */
#include "internal/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal/alloc.h"
#include "internal/pg.h"

prd_status prd_pg_error_new(prd_pg_error **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = prd__calloc(1, sizeof(prd_pg_error));
    return *out ? PRD_OK : PRD_ENOMEM;
}

void prd_pg_error_free(prd_pg_error *err)
{
    prd__free(err);
}

void prd__pg_error_clear(prd_pg_error *e)
{
    if (!e)
        return;
    e->status = PRD_OK;
    e->sqlstate[0] = e->message[0] = e->detail[0] = e->hint[0] = '\0';
    e->constraint[0] = e->table[0] = e->column[0] = '\0';
}

void prd__pg_error_copy(prd_pg_error *dst, const prd_pg_error *src)
{
    if (dst && src && dst != src)
        memcpy(dst, src, sizeof *dst);
}

static const char empty[] = "";

prd_status prd_pg_error_status(const prd_pg_error *e) { return e ? e->status : PRD_EINVAL; }
const char *prd_pg_error_sqlstate(const prd_pg_error *e) { return e ? e->sqlstate : empty; }
const char *prd_pg_error_message(const prd_pg_error *e) { return e ? e->message : empty; }
const char *prd_pg_error_detail(const prd_pg_error *e) { return e ? e->detail : empty; }
const char *prd_pg_error_hint(const prd_pg_error *e) { return e ? e->hint : empty; }
const char *prd_pg_error_constraint(const prd_pg_error *e) { return e ? e->constraint : empty; }
const char *prd_pg_error_table(const prd_pg_error *e) { return e ? e->table : empty; }
const char *prd_pg_error_column(const prd_pg_error *e) { return e ? e->column : empty; }

static int valid_sqlstate(const char *s)
{
    if (!s)
        return 0;
    for (int i = 0; i < 5; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return s[5] == '\0';
}

prd_status prd_pg_sqlstate_status(const char *s)
{
    if (!valid_sqlstate(s))
        return PRD_EDB;
    if (!strcmp(s, "23505") || !strcmp(s, "23514") || !strcmp(s, "23P01"))
        return PRD_ECONFLICT;
    if (!strcmp(s, "57014") || !strcmp(s, "55P03"))
        return PRD_ETIMEOUT;
    if (!strcmp(s, "40001") || !strcmp(s, "40P01"))
        return PRD_ERETRY;
    return PRD_EDB;
}

/* Copy a field, trimming the trailing newline libpq leaves on messages. */
static void put(char *dst, size_t cap, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    while (n > 0 && (src[n - 1] == '\n' || src[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Empty e and set its status and (when well-formed) SQLSTATE. */
static void start(prd_pg_error *e, prd_status st, const char *sqlstate)
{
    prd__pg_error_clear(e);
    e->status = st;
    if (valid_sqlstate(sqlstate))
        memcpy(e->sqlstate, sqlstate, 6);
}

void prd__pg_error_from_result(prd_pg_error *e, const PGresult *res, prd_status st)
{
    if (!e)
        return;
    start(e, st, PQresultErrorField(res, PG_DIAG_SQLSTATE));
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    put(e->message, sizeof e->message, msg ? msg : PQresultErrorMessage(res));
    put(e->detail, sizeof e->detail, PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
    put(e->hint, sizeof e->hint, PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
    put(e->constraint, sizeof e->constraint, PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME));
    put(e->table, sizeof e->table, PQresultErrorField(res, PG_DIAG_TABLE_NAME));
    put(e->column, sizeof e->column, PQresultErrorField(res, PG_DIAG_COLUMN_NAME));
}

void prd__pg_error_set(prd_pg_error *e, prd_status st, const char *sqlstate, const char *fmt, ...)
{
    if (!e)
        return;
    start(e, st, sqlstate);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

void prd__pg_error_from_conn(prd_pg_error *e, const PGconn *c, prd_status st, const char *sqlstate)
{
    if (!e)
        return;
    start(e, st, sqlstate);
    const char *m = c ? PQerrorMessage(c) : NULL;
    put(e->message, sizeof e->message, m && *m ? m : "connection lost");
}

static void scrub_field(char *s, size_t cap, const char *pw, size_t pwlen)
{
    static const char mark[] = "[REDACTED]";
    const size_t mlen = sizeof mark - 1;
    char *hit;
    char *from = s;
    while ((hit = strstr(from, pw)) != NULL) {
        size_t tail = strlen(hit + pwlen);
        size_t at = (size_t)(hit - s);
        if (at + mlen + tail + 1 > cap)
            tail = cap > at + mlen + 1 ? cap - at - mlen - 1 : 0;
        if (at + mlen + 1 > cap) { /* no room even for the mark: cut here */
            *hit = '\0';
            return;
        }
        memmove(hit + mlen, hit + pwlen, tail);
        hit[mlen + tail] = '\0';
        memcpy(hit, mark, mlen);
        from = hit + mlen;
    }
}

void prd__pg_error_scrub(prd_pg_error *e, const char *pw)
{
    /* Short "passwords" would shred ordinary words; libpq's own messages
     * do not quote passwords, so this is a second line of defence. */
    if (!e || !pw || strlen(pw) < 4)
        return;
    size_t n = strlen(pw);
    scrub_field(e->message, sizeof e->message, pw, n);
    scrub_field(e->detail, sizeof e->detail, pw, n);
    scrub_field(e->hint, sizeof e->hint, pw, n);
}
