/*
 * libFuzzer: our Argon2 against libargon2 (and libsodium where it applies)
 * over parameters and inputs taken from the fuzzer's bytes: type, version,
 * m, t, p, salt, tag length, password, secret and associated data. Every
 * fill this CPU runs must give libargon2's tag. Sizes are kept small so
 * each input costs well under a millisecond.
 */
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <sodium.h>

#include "internal/argon2_core.h"
#include "internal/password.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static unsigned take(const unsigned char **d, size_t *n)
{
    if (*n == 0)
        return 0;
    (*n)--;
    return *(*d)++;
}

/* Up to max bytes of the input, length from the next byte. */
static const unsigned char *slice(const unsigned char **d, size_t *n, size_t max, size_t min,
                                  size_t *len)
{
    size_t want = min + take(d, n) % (max - min + 1);
    if (want > *n)
        want = *n;
    *len = want;
    const unsigned char *p = *d;
    *d += want;
    *n -= want;
    return p;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const unsigned char *d = data;
    size_t n = size;
    struct prd__phc phc;
    memset(&phc, 0, sizeof phc);
    phc.type = (enum prd__argon2_type)(take(&d, &n) % 3);
    phc.version = take(&d, &n) & 1 ? 0x10 : 0x13;
    phc.p = 1 + take(&d, &n) % 4;
    phc.t = 1 + take(&d, &n) % 3;
    phc.m_kib = 8 * phc.p + take(&d, &n) % 64;
    phc.tag_len = PRD__TAG_MIN + take(&d, &n) % (PRD__TAG_MAX - PRD__TAG_MIN + 1);
    size_t len;
    const unsigned char *salt = slice(&d, &n, PRD__SALT_MAX, PRD__SALT_MIN, &len);
    if (len < PRD__SALT_MIN)
        return 0;
    memcpy(phc.salt, salt, len);
    phc.salt_len = len;
    const unsigned char *ad = slice(&d, &n, 32, 0, &phc.ad_len);
    memcpy(phc.ad, ad, phc.ad_len);
    size_t secret_len, pw_len;
    const unsigned char *secret = slice(&d, &n, 32, 0, &secret_len);
    const unsigned char *pw = slice(&d, &n, 128, 0, &pw_len);

    unsigned char want[PRD__TAG_MAX], got[PRD__TAG_MAX];
    argon2_context ctx = {
        .out = want, .outlen = (uint32_t)phc.tag_len,
        .pwd = (uint8_t *)(uintptr_t)pw, .pwdlen = (uint32_t)pw_len,
        .salt = phc.salt, .saltlen = (uint32_t)phc.salt_len,
        .secret = secret_len ? (uint8_t *)(uintptr_t)secret : NULL, .secretlen = (uint32_t)secret_len,
        .ad = phc.ad_len ? phc.ad : NULL, .adlen = (uint32_t)phc.ad_len,
        .t_cost = phc.t, .m_cost = phc.m_kib, .lanes = phc.p, .threads = 1,
        .version = phc.version, .flags = ARGON2_DEFAULT_FLAGS,
    };
    if (argon2_ctx(&ctx, (argon2_type)phc.type) != ARGON2_OK)
        abort();
    struct prd__a2_input in = {&phc, pw, pw_len, secret, secret_len};
    for (int impl = PRD__A2_PORTABLE; impl < PRD__A2_N_IMPL; impl++) {
        if (!prd__a2_fill_for((enum prd__a2_impl)impl))
            continue;
        memset(got, 0, sizeof got);
        if (prd__argon2_own(&in, NULL, phc.p, (enum prd__a2_impl)impl, got) != PRD_OK ||
            memcmp(got, want, phc.tag_len) != 0)
            abort();
    }
    if (secret_len == 0 && prd__argon2_sodium_can(&phc)) {
        prd__argon2_force_backend(PRD__BACKEND_LIBSODIUM);
        if (prd__argon2_compute(&phc, pw, pw_len, got) != PRD_OK || memcmp(got, want, phc.tag_len))
            abort();
        prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    }
    return 0;
}
