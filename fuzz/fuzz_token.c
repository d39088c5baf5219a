/* libFuzzer: PASETO tokens through the raw decoders and the verifier. */
#include <stdlib.h>
#include <string.h>

#include "prodready.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static prd_token_key *local, *pub;
    static prd_keyring *ring;
    static prd_token_verifier *vl, *vp;
    if (!local) {
        FUZZ_SETUP(prd_token_key_from_hex(PRD_KEY_LOCAL,
                               "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f",
                               &local));
        FUZZ_SETUP(prd_token_key_from_hex(PRD_KEY_PUBLIC,
                               "1eb9dbbbbc047c03fd70604e0071f0987e16b28b757225c11f00415d0e20b1a2",
                               &pub));
        FUZZ_SETUP(prd_keyring_new(&ring));
        FUZZ_SETUP(prd_keyring_add(ring, local, 1));
        FUZZ_SETUP(prd_keyring_add(ring, pub, 0));
        FUZZ_SETUP(prd_token_verifier_new(ring, PRD_TOKEN_LOCAL, &vl));
        FUZZ_SETUP(prd_token_verifier_new(ring, PRD_TOKEN_PUBLIC, &vp));
    }
    const char *t = (const char *)data;
    unsigned char *p = NULL, *f = NULL;
    size_t pl, fl;
    if (prd_token_v4_decrypt(local, t, size, NULL, 0, NULL, 0, 0, &p, &pl, &f, &fl, NULL) == PRD_OK) {
        prd_free(p);
        prd_free(f);
    }
    p = f = NULL;
    if (prd_token_v4_verify_signed(pub, t, size, NULL, 0, NULL, 0, 0, &p, &pl, &f, &fl, NULL) == PRD_OK) {
        prd_free(p);
        prd_free(f);
    }
    prd_token_verified *r = NULL;
    (void)prd_token_verify(vl, t, size, NULL, 0, &r, NULL);
    prd_token_verified_free(r);
    r = NULL;
    (void)prd_token_verify(vp, t, size, NULL, 0, &r, NULL);
    prd_token_verified_free(r);
    /* The payload of a local token we make from the input must come back. */
    char *tok = NULL;
    if (prd_token_v4_encrypt(local, data, size, data, size > 8 ? 8 : size, NULL, 0, &tok) == PRD_OK) {
        p = NULL;
        if (prd_token_v4_decrypt(local, tok, strlen(tok), NULL, 0, NULL, 0, 4 * size + 256, &p, &pl,
                                 NULL, NULL, NULL) != PRD_OK ||
            pl != size || (size && memcmp(p, data, size) != 0))
            abort();
        prd_free(p);
        prd_free(tok);
    }
    return 0;
}
