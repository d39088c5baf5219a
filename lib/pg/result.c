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

/* Binary format (prd_pg_params_set_binary_results): the value as the
 * server's send function wrote it, network byte order. */
static int is_binary(const prd_pg_result *r, size_t col)
{
    return PQfformat(r->res, (int)col) == 1;
}

static uint64_t be(const char *s, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | (unsigned char)s[i];
    return v;
}

enum { OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23,
       OID_OID = 26, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_TIMESTAMP = 1114,
       OID_TIMESTAMPTZ = 1184, OID_UUID = 2950 };

static prd_status bin_int(const prd_pg_result *r, size_t row, size_t col, const char *s,
                          int64_t *v)
{
    int n = PQgetlength(r->res, (int)row, (int)col);
    Oid t = PQftype(r->res, (int)col);
    if (t == OID_INT8 && n == 8)
        *v = (int64_t)be(s, 8);
    else if ((t == OID_INT4 && n == 4))
        *v = (int32_t)(uint32_t)be(s, 4);
    else if (t == OID_OID && n == 4)
        *v = (int64_t)(uint32_t)be(s, 4);
    else if (t == OID_INT2 && n == 2)
        *v = (int16_t)(uint16_t)be(s, 2);
    else
        return PRD_EINVAL;
    return PRD_OK;
}

prd_status prd_pg_result_int64(const prd_pg_result *r, size_t row, size_t col, int64_t *v)
{
    const char *s;
    prd_status st = cell(r, row, col, v, &s);
    if (st != PRD_OK)
        return st;
    if (is_binary(r, col))
        return bin_int(r, row, col, s, v);
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
    if (is_binary(r, col)) {
        int n = PQgetlength(r->res, (int)row, (int)col);
        Oid t = PQftype(r->res, (int)col);
        if (t == OID_FLOAT8 && n == 8) {
            uint64_t u = be(s, 8);
            memcpy(v, &u, sizeof *v);
        } else if (t == OID_FLOAT4 && n == 4) {
            uint32_t u = (uint32_t)be(s, 4);
            float f;
            memcpy(&f, &u, sizeof f);
            *v = f;
        } else {
            int64_t i;
            if (bin_int(r, row, col, s, &i) != PRD_OK)
                return PRD_EINVAL;
            *v = (double)i;
        }
        return PRD_OK;
    }
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
    if (is_binary(r, col)) {
        if (PQftype(r->res, (int)col) != OID_BOOL || PQgetlength(r->res, (int)row, (int)col) != 1)
            return PRD_EINVAL;
        *v = s[0] != 0;
        return PRD_OK;
    }
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
    if (is_binary(r, col)) { /* the bytes themselves */
        *len = n;
        if (n > out_cap)
            return PRD_ENOSPACE;
        if (n)
            memcpy(out, s, n);
        return PRD_OK;
    }
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

static int hexdig(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

prd_status prd_pg_result_uuid(const prd_pg_result *r, size_t row, size_t col,
                              uint8_t out[PRD_PG_UUID_SIZE])
{
    const char *s;
    prd_status st = cell(r, row, col, out, &s);
    if (st != PRD_OK)
        return st;
    int n = PQgetlength(r->res, (int)row, (int)col);
    if (is_binary(r, col)) {
        if (PQftype(r->res, (int)col) != OID_UUID || n != 16)
            return PRD_EINVAL;
        memcpy(out, s, 16);
        return PRD_OK;
    }
    /* 8-4-4-4-12 hex digits */
    if (n != 36)
        return PRD_EINVAL;
    int k = 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return PRD_EINVAL;
            continue;
        }
        int hi = hexdig(s[i]), lo = hexdig(s[i + 1]);
        if (hi < 0 || lo < 0)
            return PRD_EINVAL;
        out[k++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    return PRD_OK;
}

/* Microseconds from 1970 to 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_US INT64_C(946684800000000)

prd_status prd_pg_result_timestamp_us(const prd_pg_result *r, size_t row, size_t col,
                                      int64_t *unix_us)
{
    const char *s;
    prd_status st = cell(r, row, col, unix_us, &s);
    if (st != PRD_OK)
        return st;
    Oid t = PQftype(r->res, (int)col);
    if (t != OID_TIMESTAMPTZ && t != OID_TIMESTAMP)
        return PRD_EINVAL;
    if (is_binary(r, col)) {
        if (PQgetlength(r->res, (int)row, (int)col) != 8)
            return PRD_EINVAL;
        int64_t pg = (int64_t)be(s, 8);
        if (pg == INT64_MAX || pg == INT64_MIN || pg > INT64_MAX - PG_EPOCH_US)
            return PRD_EINVAL; /* infinity */
        *unix_us = pg + PG_EPOCH_US;
        return PRD_OK;
    }
    /* Text: "2026-12-01 10:00:00.123456+00" for timestamptz with the
     * session's TimeZone. Read with our RFC 3339 parser after making it
     * RFC 3339 ('T', a full offset); timestamp without zone is UTC. */
    char buf[64];
    size_t n = (size_t)PQgetlength(r->res, (int)row, (int)col);
    if (n < 19 || n > 40)
        return PRD_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    buf[10] = 'T';
    if (t == OID_TIMESTAMP) {
        buf[n++] = 'Z';
        buf[n] = '\0';
    } else {
        /* "+00" / "+05:30" / "-03:30:00": make it +HH:MM */
        char *z = buf + 19;
        while (*z && *z != '+' && *z != '-')
            z++;
        size_t zl = strlen(z);
        if (zl == 3) {
            memcpy(z + 3, ":00", 4);
        } else if (zl == 9) {
            if (strcmp(z + 6, ":00") != 0)
                return PRD_EINVAL; /* an offset with seconds: historical zones only */
            z[6] = '\0';
        }
    }
    int64_t ns;
    if (prd_rfc3339_parse(buf, strlen(buf), &ns) != PRD_OK)
        return PRD_EINVAL;
    *unix_us = ns / 1000;
    return PRD_OK;
}

size_t prd_pg_uuid_size(void) { return PRD_PG_UUID_SIZE; }
