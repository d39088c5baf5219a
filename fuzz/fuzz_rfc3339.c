/* libFuzzer: RFC 3339 times; what parses formats back to the same instant. */
#include <stdlib.h>
#include <string.h>

#include "prodready.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int64_t ns, back;
    if (prd_rfc3339_parse((const char *)data, size, &ns) == PRD_OK) {
        char out[PRD_RFC3339_SIZE];
        size_t n = prd_rfc3339_format(ns, 9, out, sizeof out);
        if (n == 0 || prd_rfc3339_parse(out, n, &back) != PRD_OK || back != ns)
            abort();
    }
    return 0;
}
