/* libFuzzer: opaque session tokens through the checksum and a session lookup. */
#include <stdlib.h>
#include <string.h>

#include "prodready.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static prd_token_store *store;
    static prd_token_sessions *s;
    if (!store) {
        FUZZ_SETUP(prd_token_store_new_memory(64, &store));
        FUZZ_SETUP(prd_token_sessions_new(store, "sess", &s));
        char t[PRD_OPAQUE_TOKEN_SIZE];
        FUZZ_SETUP(prd_token_session_create(s, "someone", t, sizeof t));
    }
    unsigned char d[PRD_OPAQUE_DIGEST_BYTES];
    (void)prd_token_opaque_digest(NULL, (const char *)data, size, d);
    char subject[PRD_SESSION_SUBJECT_SIZE];
    if (prd_token_session_validate(s, (const char *)data, size, subject, sizeof subject) == PRD_OK)
        abort(); /* a guess cannot hit a 256-bit token */
    (void)prd_token_single_use_consume(s, "reset", (const char *)data, size, NULL, 0, NULL, 0);
    return 0;
}
