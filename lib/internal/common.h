/* Shared internal declarations: every lib/ source includes this first. */
#ifndef PRD_INTERNAL_COMMON_H
#define PRD_INTERNAL_COMMON_H

#ifndef PRD_BUILDING_LIBRARY
#define PRD_BUILDING_LIBRARY 1
#endif

#include <stddef.h>
#include <stdint.h>

#include "prodready/core.h"

/* Internal symbols are hidden from the shared object by -fvisibility=hidden
 * and carry the prd__ prefix; the static library keeps them for tests. */

/* Initialise on first use; every public entry point that needs libsodium
 * calls this. Cheap after the first call (one atomic load). */
prd_status prd__ensure_init(void);

#define PRD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
