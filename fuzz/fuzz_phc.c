/* libFuzzer: PHC strings through the parser, needs_rehash and verify. */
#include <stdlib.h>
#include <string.h>

#include "internal/password.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static prd_password_policy *pol;
    if (!pol) {
        FUZZ_SETUP(prd_password_policy_new(NULL, &pol));
        FUZZ_SETUP(prd_password_policy_set_params(pol, 1, 8, 1));
        /* Tiny caps keep each verify cheap; over-cap inputs exercise the refusal. */
        FUZZ_SETUP(prd_password_policy_set_caps(pol, 2, 64, 2));
        FUZZ_SETUP(prd_password_policy_set_allow_legacy(pol, 1));
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct prd__phc phc;
    if (prd__phc_parse(s, &phc) == PRD_OK) {
        char out[PRD__PHC_MAX_LEN];
        size_t n = prd__phc_encode(&phc, out, sizeof out);
        struct prd__phc again;
        /* What we parse, we write back in a form we parse to the same thing. */
        if (n >= sizeof out || prd__phc_parse(out, &again) != PRD_OK || again.m_kib != phc.m_kib ||
            again.tag_len != phc.tag_len || memcmp(again.tag, phc.tag, phc.tag_len) != 0)
            abort();
    }
    prd_rehash_reason r;
    (void)prd_password_needs_rehash(pol, s, &r);
    (void)prd_password_verify(pol, "pw", 2, s);
    free(s);
    return 0;
}
