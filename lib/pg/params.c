/* Statement parameters: copied into one growable buffer, so a params
 * object can be reset and reused without allocating per query. Binary
 * forms are used for numbers and bytea (no text formatting or escaping). */
#include "internal/common.h"

#include <string.h>

#include "internal/alloc.h"
#include "internal/pg.h"

/* Type OIDs from PostgreSQL's pg_type.dat (stable across versions). */
enum { OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT4 = 23, OID_FLOAT8 = 701 };
#define NULL_OFF SIZE_MAX

prd_status prd_pg_params_new(prd_pg_params **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = prd__calloc(1, sizeof(prd_pg_params));
    return *out ? PRD_OK : PRD_ENOMEM;
}

void prd_pg_params_free(prd_pg_params *p)
{
    if (!p)
        return;
    prd__free(p->off);
    prd__free(p->len);
    prd__free(p->oid);
    prd__free(p->fmt);
    if (p->data)
        prd_memzero(p->data, p->data_cap); /* parameters can be secrets */
    prd__free(p->data);
    prd__free(p);
}

void prd_pg_params_reset(prd_pg_params *p)
{
    if (!p)
        return;
    if (p->data)
        prd_memzero(p->data, p->data_len);
    p->n = 0;
    p->data_len = 0;
}

size_t prd_pg_params_count(const prd_pg_params *p)
{
    return p ? p->n : 0;
}

static prd_status grow_slots(prd_pg_params *p)
{
    if (p->n < p->cap)
        return PRD_OK;
    if (p->n >= PRD_PG_PARAMS_MAX)
        return PRD_ETOOBIG;
    size_t cap = p->cap ? p->cap * 2 : 8;
    if (cap > PRD_PG_PARAMS_MAX)
        cap = PRD_PG_PARAMS_MAX;
    /* Grow each array; on failure the old ones stay valid (same count). */
    size_t *off = prd__realloc(p->off, cap * sizeof *off);
    if (!off)
        return PRD_ENOMEM;
    p->off = off;
    int *len = prd__realloc(p->len, cap * sizeof *len);
    if (!len)
        return PRD_ENOMEM;
    p->len = len;
    Oid *oid = prd__realloc(p->oid, cap * sizeof *oid);
    if (!oid)
        return PRD_ENOMEM;
    p->oid = oid;
    int *fmt = prd__realloc(p->fmt, cap * sizeof *fmt);
    if (!fmt)
        return PRD_ENOMEM;
    p->fmt = fmt;
    p->cap = cap;
    return PRD_OK;
}

static prd_status grow_data(prd_pg_params *p, size_t need)
{
    if (need > (size_t)INT32_MAX || p->data_len > SIZE_MAX - need - 1)
        return PRD_ETOOBIG;
    size_t want = p->data_len + need + 1;
    if (want <= p->data_cap)
        return PRD_OK;
    size_t cap = p->data_cap ? p->data_cap : 256;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    char *d = prd__malloc(cap);
    if (!d)
        return PRD_ENOMEM;
    if (p->data) {
        memcpy(d, p->data, p->data_len);
        prd_memzero(p->data, p->data_cap);
        prd__free(p->data);
    }
    p->data = d;
    p->data_cap = cap;
    return PRD_OK;
}

/* Append one value (data NULL = SQL NULL); text gets a NUL terminator. */
static prd_status add(prd_pg_params *p, Oid oid, int fmt, const void *data, size_t len)
{
    if (!p)
        return PRD_EINVAL;
    prd_status st = grow_slots(p);
    if (st != PRD_OK)
        return st;
    if (!data) {
        p->off[p->n] = NULL_OFF;
        p->len[p->n] = 0;
    } else {
        st = grow_data(p, len);
        if (st != PRD_OK)
            return st;
        p->off[p->n] = p->data_len;
        p->len[p->n] = (int)len;
        memcpy(p->data + p->data_len, data, len);
        p->data[p->data_len + len] = '\0';
        p->data_len += len + 1;
    }
    p->oid[p->n] = oid;
    p->fmt[p->n] = fmt;
    p->n++;
    return PRD_OK;
}

prd_status prd_pg_params_add_text(prd_pg_params *p, const char *s)
{
    return add(p, 0, 0, s, s ? strlen(s) : 0);
}

prd_status prd_pg_params_add_textn(prd_pg_params *p, const char *s, size_t len)
{
    if (!s || memchr(s, '\0', len))
        return PRD_EINVAL; /* text cannot carry NUL; use bytea */
    return add(p, 0, 0, s, len);
}

prd_status prd_pg_params_add_null(prd_pg_params *p)
{
    return add(p, 0, 0, NULL, 0);
}

static void put_be(unsigned char *out, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

prd_status prd_pg_params_add_int32(prd_pg_params *p, int32_t v)
{
    unsigned char b[4];
    put_be(b, (uint32_t)v, 4);
    return add(p, OID_INT4, 1, b, 4);
}

prd_status prd_pg_params_add_int64(prd_pg_params *p, int64_t v)
{
    unsigned char b[8];
    put_be(b, (uint64_t)v, 8);
    return add(p, OID_INT8, 1, b, 8);
}

prd_status prd_pg_params_add_double(prd_pg_params *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    unsigned char b[8];
    put_be(b, bits, 8);
    return add(p, OID_FLOAT8, 1, b, 8);
}

prd_status prd_pg_params_add_bool(prd_pg_params *p, int v)
{
    unsigned char b = v ? 1 : 0;
    return add(p, OID_BOOL, 1, &b, 1);
}

prd_status prd_pg_params_add_bytea(prd_pg_params *p, const void *data, size_t len)
{
    static const unsigned char none;
    if (!data && len)
        return PRD_EINVAL;
    return add(p, OID_BYTEA, 1, data ? data : &none, len);
}

prd_status prd_pg_params_add_typed(prd_pg_params *p, uint32_t type_oid, int format,
                                   const void *data, size_t len)
{
    if (format != 0 && format != 1)
        return PRD_EINVAL;
    if (data && format == 0 && memchr(data, '\0', len))
        return PRD_EINVAL;
    return add(p, (Oid)type_oid, format, data, len);
}

prd_status prd_pg_params_set_binary_results(prd_pg_params *p, int binary)
{
    if (!p)
        return PRD_EINVAL;
    p->result_format = binary ? 1 : 0;
    return PRD_OK;
}

const char **prd__pg_params_values(const prd_pg_params *p, const char **stack, size_t stack_n)
{
    const char **vals = p->n <= stack_n ? stack : prd__malloc(p->n * sizeof *vals);
    if (!vals)
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        vals[i] = p->off[i] == SIZE_MAX ? NULL : p->data + p->off[i];
    return vals;
}
