/* Shared by the fuzz targets. */
#ifndef PRD_FUZZ_UTIL_H
#define PRD_FUZZ_UTIL_H

#include <stdlib.h>

/* A harness's setup must succeed: fuzzing a half-built object would
 * report the harness's failure as the library's. */
#define FUZZ_SETUP(call)          \
    do {                          \
        if ((call) != PRD_OK)     \
            abort();              \
    } while (0)

#endif
