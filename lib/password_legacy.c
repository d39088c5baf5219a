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
