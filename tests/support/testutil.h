/* Helpers shared by the cmocka suites. */
#ifndef PRD_TESTUTIL_H
#define PRD_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The tests use the jansson conveniences too (prodready/jansson.h). */
#include "prodready/jansson.h"

#include "prodready.h"

/* Assert a status with both values named on failure. */
#define assert_status(expr, want)                                                         \
    do {                                                                                  \
        prd_status got_ = (expr);                                                         \
        if (got_ != (want))                                                               \
            fail_msg("%s: got %s (%d), want %s (%d)", #expr, prd_status_name(got_),     \
                     (int)got_, prd_status_name(want), (int)(want));                      \
    } while (0)

#define assert_ok(expr) assert_status(expr, PRD_OK)

/* The official vectors folder: $PRD_VECTORS_DIR, or the build's default
 * (../shared/vectors beside the source tree). Fails the test loudly when
 * it is missing: a suite must never pass by skipping its vectors. */
const char *tu_vectors_dir(void);

/* Read a whole file under the vectors folder into a malloc'd NUL-
 * terminated buffer; fails the test when unreadable. */
char *tu_read_vector(const char *relpath, size_t *len);

/* Decode hex into a malloc'd buffer; fails the test on bad hex. */
unsigned char *tu_unhex(const char *hex, size_t *len);

/* A fresh private temporary directory (removed by tu_rmtree). */
char *tu_tmpdir(void);
void tu_rmtree(const char *dir);

#endif
