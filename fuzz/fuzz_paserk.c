/* libFuzzer: PASERK and hex keys; what parses must serialize back. */
#include <stdlib.h>
#include <string.h>

#include "prodready.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    prd_token_key *k = NULL;
    if (prd_token_key_from_paserk(s, &k) == PRD_OK) {
        char out[PRD_PASERK_SIZE], id[PRD_PASERK_ID_SIZE];
        prd_token_key_paserk(k, out, sizeof out);
        if (strcmp(out, s) != 0) /* canonical: one text per key */
            abort();
        prd_token_key_id(k, id, sizeof id);
        prd_token_key_free(k);
    }
    for (int kind = PRD_KEY_LOCAL; kind <= PRD_KEY_SECRET; kind++) {
        k = NULL;
        if (prd_token_key_from_hex((prd_key_kind)kind, s, &k) == PRD_OK)
            prd_token_key_free(k);
    }
    prd_secret *sec = NULL;
    if (prd_secret_from_base64url(s, &sec) == PRD_OK)
        prd_secret_free(sec);
    free(s);
    return 0;
}
