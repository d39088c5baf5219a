/*
 * Legacy crypt(3) hashes, verified through Debian's libcrypt (libxcrypt)
 * so services can migrate users from bcrypt, sha512-crypt and yescrypt on
 * their next login. Only salted, still-respectable families are accepted:
 * DES, MD5-crypt and bare digests are refused outright.
 */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/password.h"

#include <crypt.h>
#include <string.h>

#include <sodium.h>

static const char *const families[] = {"$2a$", "$2b$", "$2y$", "$6$", "$y$"};

int prd__legacy_is_legacy(const char *stored)
{
    for (size_t i = 0; i < PRD_ARRAY_LEN(families); i++)
        if (strncmp(stored, families[i], strlen(families[i])) == 0)
            return 1;
    return 0;
}

/* A decimal number of at most 10 digits; NULL when there is none. */
static const char *number(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0;
    while (s[n] >= '0' && s[n] <= '9' && n < 10)
        v = v * 10 + (uint64_t)(s[n++] - '0');
    *out = v;
    return n ? s + n : NULL;
}

/* crypt's base-64 alphabet. */
static int itoa64_index(char c)
{
    static const char alphabet[] =
        "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* yescrypt's variable-length integer in its settings: the first
 * character's value says how many follow (1 for 0-47, then ranges that
 * halve). Returns the rest of the string, NULL when malformed. */
static const char *yescrypt_uint(const char *s, uint32_t min, uint64_t *out)
{
    int c = itoa64_index(*s++);
    if (c < 0)
        return NULL;
    uint64_t v = min, start = 0, end = 47, chars = 1, bits = 0;
    while ((uint64_t)c > end) {
        v += (end + 1 - start) << bits;
        start = end + 1;
        end = start + (62 - end) / 2;
        chars++;
        bits += 6;
    }
    v += ((uint64_t)c - start) << bits;
    while (--chars) {
        c = itoa64_index(*s++);
        if (c < 0)
            return NULL;
        bits -= 6;
        v += (uint64_t)c << bits;
    }
    *out = v;
    return s;
}

prd_status prd__legacy_cost(const char *stored, const struct prd__legacy_caps *caps,
                            uint64_t *mem_kib)
{
    *mem_kib = 0;
    uint64_t v;
    if (stored[0] == '$' && stored[1] == '2') { /* $2b$NN$: 2^NN rounds of Eksblowfish */
        const char *end = number(stored + 4, &v);
        if (!end || end != stored + 6 || *end != '$' || v < 4 || v > 31)
            return PRD_EINVAL;
        *mem_kib = 5; /* the cipher's S-boxes and key schedule */
        return v > caps->max_bcrypt_cost ? PRD_ETOOBIG : PRD_OK;
    }
    if (stored[1] == '6') { /* $6$[rounds=N$]salt$hash; 5000 rounds when absent */
        v = 5000;
        if (strncmp(stored + 3, "rounds=", 7) == 0) {
            const char *end = number(stored + 10, &v);
            if (!end || *end != '$')
                return PRD_EINVAL;
        }
        *mem_kib = 1;
        return v > caps->max_sha512_rounds ? PRD_ETOOBIG : PRD_OK;
    }
    /* $y$<flavor><N_log2><r>[params]$salt$hash: 128·r·N bytes. */
    uint64_t flavor, n_log2, r;
    const char *s = yescrypt_uint(stored + 3, 0, &flavor);
    s = s ? yescrypt_uint(s, 1, &n_log2) : NULL;
    s = s ? yescrypt_uint(s, 1, &r) : NULL;
    if (!s || n_log2 > 63 || r > UINT32_MAX)
        return PRD_EINVAL;
    if (n_log2 >= 40 || (r << n_log2) / 8 > caps->max_yescrypt_kib)
        return PRD_ETOOBIG; /* 128·r·2^n bytes = r·2^n / 8 KiB */
    *mem_kib = (r << n_log2) / 8 + 1;
    return PRD_OK;
}

prd_status prd__legacy_verify(const char *password, size_t password_len, const char *stored)
{
    size_t stored_len = strnlen(stored, CRYPT_OUTPUT_SIZE);
    if (stored_len >= CRYPT_OUTPUT_SIZE || !prd__legacy_is_legacy(stored))
        return PRD_EINVAL;
    /* crypt() sees a C string: a password with a NUL inside cannot match. */
    if (memchr(password, '\0', password_len))
        return PRD_EMISMATCH;
    char *phrase = prd__secure_malloc(password_len + 1);
    struct crypt_data *data = prd__secure_malloc(sizeof *data);
    if (!phrase || !data) {
        prd__secure_free(phrase);
        prd__secure_free(data);
        return PRD_ENOMEM;
    }
    memcpy(phrase, password, password_len);
    phrase[password_len] = '\0';
    memset(data, 0, sizeof *data);
    const char *out = crypt_rn(phrase, stored, data, (int)sizeof *data);
    prd_status st;
    if (!out || out[0] == '*')
        st = PRD_EINVAL; /* libcrypt could not parse the setting */
    else if (strlen(out) != stored_len)
        st = PRD_EINVAL; /* the stored string was a setting, not a whole hash */
    else
        st = sodium_memcmp(out, stored, stored_len) == 0 ? PRD_OK : PRD_EMISMATCH;
    prd__secure_free(phrase); /* both are wiped on free */
    prd__secure_free(data);
    return st;
}
