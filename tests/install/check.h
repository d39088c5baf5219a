/* The install programs' one helper: a failing call prints what failed
 * and main returns 1. Included after <prodready.h> and <stdio.h>. */
#ifndef PRD_INSTALL_CHECK_H
#define PRD_INSTALL_CHECK_H

#define CHECK(x)                                                       \
    do {                                                               \
        prd_status st_ = (x);                                          \
        if (st_ != PRD_OK) {                                           \
            fprintf(stderr, "%s: %s\n", #x, prd_status_str(st_));      \
            return 1;                                                  \
        }                                                              \
    } while (0)

#endif
