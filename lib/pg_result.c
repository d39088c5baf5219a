/* Result access by row and column, with NULLs told apart from values. */
#include "internal/common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal/alloc.h"
#include "internal/pg.h"

prd_status prd__pg_result_wrap(PGresult *res, prd_pg_result **out)
{
    prd_pg_result *r = prd__malloc(sizeof *r);
    if (!r) {
        PQclear(res);
        return PRD_ENOMEM;
    }
    r->res = res;
    *out = r;
    return PRD_OK;
}

void prd_pg_result_free(prd_pg_result *r)
{
    if (!r)
        return;
    PQclear(r->res);
    prd__free(r);
}

size_t prd_pg_result_rows(const prd_pg_result *r)
{
    return r ? (size_t)PQntuples(r->res) : 0;
}

size_t prd_pg_result_cols(const prd_pg_result *r)
{
    return r ? (size_t)PQnfields(r->res) : 0;
}

uint64_t prd_pg_result_affected(const prd_pg_result *r)
{
    if (!r)
        return 0;
    const char *s = PQcmdTuples(r->res);
    return s && *s ? strtoull(s, NULL, 10) : 0;
}

const char *prd_pg_result_column_name(const prd_pg_result *r, size_t col)
{
    if (!r || col >= (size_t)PQnfields(r->res))
        return "";
    const char *n = PQfname(r->res, (int)col);
    return n ? n : "";
}

long prd_pg_result_column_index(const prd_pg_result *r, const char *name)
{
    if (!r || !name)
        return -1;
    /* Exact match: PQfnumber would fold case and parse quotes. */
    int n = PQnfields(r->res);
    for (int i = 0; i < n; i++)
        if (!strcmp(PQfname(r->res, i), name))
            return i;
    return -1;
}

static int in_range(const prd_pg_result *r, size_t row, size_t col)
{
    return r && row < (size_t)PQntuples(r->res) && col < (size_t)PQnfields(r->res);
}

int prd_pg_result_is_null(const prd_pg_result *r, size_t row, size_t col)
{
    if (!in_range(r, row, col))
        return 1;
    return PQgetisnull(r->res, (int)row, (int)col);
}

const char *prd_pg_result_text(const prd_pg_result *r, size_t row, size_t col, size_t *len)
{
    if (len)
        *len = 0;
    if (!in_range(r, row, col) || PQgetisnull(r->res, (int)row, (int)col))
        return NULL;
    if (len)
        *len = (size_t)PQgetlength(r->res, (int)row, (int)col);
    return PQgetvalue(r->res, (int)row, (int)col);
}

/* The text of a cell for a typed getter writing to out. */
static prd_status cell(const prd_pg_result *r, size_t row, size_t col, const void *out,
                       const char **s)
{
    if (!out || !in_range(r, row, col))
        return PRD_EINVAL;
    if (PQgetisnull(r->res, (int)row, (int)col))
        return PRD_ENOTFOUND;
    *s = PQgetvalue(r->res, (int)row, (int)col);
    return PRD_OK;
}

prd_status prd_pg_result_int64(const prd_pg_result *r, size_t row, size_t col, int64_t *v)
{
    const char *s;
    prd_status st = cell(r, row, col, v, &s);
    if (st != PRD_OK)
        return st;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE)
        return PRD_EINVAL;
    *v = (int64_t)x;
    return PRD_OK;
}

prd_status prd_pg_result_double(const prd_pg_result *r, size_t row, size_t col, double *v)
{
    const char *s;
    prd_status st = cell(r, row, col, v, &s);
    if (st != PRD_OK)
        return st;
    char *end;
    double x = strtod(s, &end); /* also takes NaN, Infinity, -Infinity */
    if (end == s || *end)
        return PRD_EINVAL;
    *v = x;
    return PRD_OK;
}

prd_status prd_pg_result_bool(const prd_pg_result *r, size_t row, size_t col, int *v)
{
    const char *s;
    prd_status st = cell(r, row, col, v, &s);
    if (st != PRD_OK)
        return st;
    if (!strcmp(s, "t"))
        *v = 1;
    else if (!strcmp(s, "f"))
        *v = 0;
    else
        return PRD_EINVAL;
    return PRD_OK;
}

prd_status prd_pg_result_bytea(const prd_pg_result *r, size_t row, size_t col, void *out,
                               size_t out_cap, size_t *len)
{
    const char *s;
    if (!len || (!out && out_cap))
        return PRD_EINVAL;
    *len = 0;
    prd_status st = cell(r, row, col, len, &s);
    if (st != PRD_OK)
        return st;
    size_t n = (size_t)PQgetlength(r->res, (int)row, (int)col);
    /* Servers since 9.0 send bytea as "\x" + hex by default; the escape
     * format of older settings (bytea_output=escape) is refused rather
     * than guessed at. */
    if (n < 2 || s[0] != '\\' || s[1] != 'x' || (n - 2) % 2)
        return PRD_EINVAL;
    size_t dec = (n - 2) / 2;
    *len = dec;
    if (dec > out_cap)
        return PRD_ENOSPACE;
    if (dec == 0)
        return PRD_OK;
    size_t got = 0;
    st = prd_hex_decode(out, out_cap, &got, s + 2, n - 2);
    if (st != PRD_OK) {
        *len = 0;
        return PRD_EINVAL;
    }
    return PRD_OK;
}
