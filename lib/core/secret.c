/* prd_secret: key material in libsodium guarded memory. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

struct prd_secret {
    unsigned char *bytes; /* sodium_malloc'd, read-only after load */
    size_t len;
};

const unsigned char *prd__secret_data(const prd_secret *secret)
{
    return secret ? secret->bytes : NULL;
}

prd_status prd__secret_adopt(unsigned char *guarded, size_t len, prd_secret **out)
{
    prd_secret *s = prd__malloc(sizeof *s);
    if (!s) {
        prd__secure_free(guarded);
        return PRD_ENOMEM;
    }
    s->bytes = guarded;
    s->len = len;
    sodium_mprotect_readonly(guarded);
    *out = s;
    return PRD_OK;
}

void prd__secret_wipe(prd_secret *secret)
{
    if (!secret)
        return;
    sodium_mprotect_readwrite(secret->bytes);
    sodium_memzero(secret->bytes, secret->len);
    sodium_mprotect_readonly(secret->bytes);
}

void prd_secret_free(prd_secret *secret)
{
    if (!secret)
        return;
    prd__secret_wipe(secret);
    prd__secure_free(secret->bytes);
    prd__free(secret);
}

size_t prd_secret_len(const prd_secret *secret)
{
    return secret ? secret->len : 0;
}

int prd_secret_equal(const prd_secret *a, const prd_secret *b)
{
    if (!a || !b || a->len != b->len)
        return 0;
    return sodium_memcmp(a->bytes, b->bytes, a->len) == 0;
}

static prd_status start(prd_secret **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    return prd__ensure_init();
}

prd_status prd_secret_from_bytes(const void *data, size_t len, prd_secret **out)
{
    prd_status st = start(out);
    if (st != PRD_OK)
        return st;
    if (!data || len == 0)
        return PRD_EINVAL;
    if (len > PRD_SECRET_MAX)
        return PRD_ETOOBIG;
    unsigned char *g = prd__secure_malloc(len);
    if (!g)
        return PRD_ENOMEM;
    memcpy(g, data, len);
    return prd__secret_adopt(g, len, out);
}

prd_status prd_secret_random(size_t len, prd_secret **out)
{
    prd_status st = start(out);
    if (st != PRD_OK)
        return st;
    if (len == 0)
        return PRD_EINVAL;
    if (len > PRD_SECRET_MAX)
        return PRD_ETOOBIG;
    unsigned char *g = prd__secure_malloc(len);
    if (!g)
        return PRD_ENOMEM;
    randombytes_buf(g, len);
    return prd__secret_adopt(g, len, out);
}

/* Decode text (not necessarily NUL-terminated) straight into guarded memory,
 * so no plain copy of the decoded key ever exists. */
static prd_status decode_into_secret(const char *text, size_t len, prd_secret_encoding enc,
                                     prd_secret **out)
{
    if (enc == PRD_SECRET_RAW)
        return prd_secret_from_bytes(text, len, out);
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len > 0 && text[len - 1] == '\r')
        len--;
    if (len == 0)
        return PRD_EINVAL;
    size_t cap = enc == PRD_SECRET_HEX ? len / 2 + 1 : len / 4 * 3 + 3;
    if (cap > PRD_SECRET_MAX + 3)
        return PRD_ETOOBIG;
    unsigned char *g = prd__secure_malloc(cap);
    if (!g)
        return PRD_ENOMEM;
    size_t n = 0;
    prd_status st;
    if (enc == PRD_SECRET_HEX)
        st = prd_hex_decode(g, cap, &n, text, len);
    else if (enc == PRD_SECRET_BASE64URL)
        st = prd_base64url_decode(g, cap, &n, text, len);
    else
        st = PRD_EINVAL;
    if (st == PRD_OK && n == 0)
        st = PRD_EINVAL;
    if (st == PRD_OK && n > PRD_SECRET_MAX)
        st = PRD_ETOOBIG;
    if (st != PRD_OK) {
        prd__secure_free(g);
        return st;
    }
    return prd__secret_adopt(g, n, out);
}

prd_status prd_secret_from_hex(const char *hex, prd_secret **out)
{
    prd_status st = start(out);
    if (st != PRD_OK)
        return st;
    if (!hex)
        return PRD_EINVAL;
    return decode_into_secret(hex, strnlen(hex, 4 * PRD_SECRET_MAX), PRD_SECRET_HEX, out);
}

prd_status prd_secret_from_base64url(const char *b64, prd_secret **out)
{
    prd_status st = start(out);
    if (st != PRD_OK)
        return st;
    if (!b64)
        return PRD_EINVAL;
    return decode_into_secret(b64, strnlen(b64, 4 * PRD_SECRET_MAX), PRD_SECRET_BASE64URL, out);
}

prd_status prd_secret_from_env(const char *name, prd_secret_encoding encoding, prd_secret **out)
{
    prd_status st = start(out);
    if (st != PRD_OK)
        return st;
    if (!name || !*name)
        return PRD_EINVAL;
    const char *value = getenv(name);
    if (!value)
        return PRD_ENOTFOUND;
    return decode_into_secret(value, strnlen(value, 4 * PRD_SECRET_MAX), encoding, out);
}

/* Read at most max bytes of fd into guarded memory. */
static prd_status read_guarded(int fd, size_t max, unsigned char **buf, size_t *len)
{
    unsigned char *g = prd__secure_malloc(max + 1);
    if (!g)
        return PRD_ENOMEM;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, g + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            prd__secure_free(g);
            return PRD_EIO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            prd__secure_free(g);
            return PRD_ETOOBIG;
        }
    }
    *buf = g;
    *len = n;
    return PRD_OK;
}

prd_status prd_secret_from_file(const char *path, prd_secret_encoding encoding, prd_secret **out)
{
    prd_status st = start(out);
    if (st != PRD_OK)
        return st;
    if (!path || !*path)
        return PRD_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? PRD_ENOTFOUND
               : errno == EACCES                   ? PRD_EPERM
                                                   : PRD_EIO;
    struct stat sb;
    /* fstat on the opened descriptor: no window between check and read. */
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return PRD_EIO;
    }
    if (!S_ISREG(sb.st_mode) || (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        close(fd);
        return PRD_EPERM;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    /* Text forms of a PRD_SECRET_MAX-byte secret need at most twice the bytes. */
    st = read_guarded(fd, 2 * PRD_SECRET_MAX + 2, &buf, &len);
    close(fd);
    if (st != PRD_OK)
        return st;
    st = decode_into_secret((const char *)buf, len, encoding, out);
    prd__secure_free(buf);
    return st;
}
