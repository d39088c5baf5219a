/* core: initialisation, version and status codes. */
#include "internal/common.h"
#include "internal/alloc.h"

#include <stdatomic.h>
#include <pthread.h>

#include <sodium.h>

static atomic_int init_state; /* 0 not yet, 1 ok, -1 failed */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_body(void)
{
    atomic_store(&init_state, sodium_init() < 0 ? -1 : 1);
}

prd_status prd_init(void)
{
    int state = atomic_load_explicit(&init_state, memory_order_acquire);
    if (state == 0) {
        pthread_once(&init_once, init_body);
        state = atomic_load(&init_state);
    }
    return state == 1 ? PRD_OK : PRD_EINTERNAL;
}

prd_status prd__ensure_init(void)
{
    return prd_init();
}

const char *prd_version(void)
{
    return PRD_VERSION_STRING;
}

unsigned prd_version_number(void)
{
    return (unsigned)PRD_VERSION_NUMBER;
}

struct status_info {
    const char *name;
    const char *phrase;
    int client;
};

/* Indexed by prd_status; the phrases are part of the documented API. */
static const struct status_info statuses[] = {
    [PRD_OK] = {"OK", "success", 0},
    [PRD_EINVAL] = {"EINVAL", "invalid input", 1},
    [PRD_EMISMATCH] = {"EMISMATCH", "does not match", 1},
    [PRD_EEXPIRED] = {"EEXPIRED", "expired", 1},
    [PRD_ENOTYET] = {"ENOTYET", "not valid yet", 1},
    [PRD_ELIMITED] = {"ELIMITED", "rate limit exceeded", 1},
    [PRD_EBUSY] = {"EBUSY", "busy, try again later", 0},
    [PRD_ETIMEOUT] = {"ETIMEOUT", "timed out", 0},
    [PRD_ENOMEM] = {"ENOMEM", "out of memory", 0},
    [PRD_EIO] = {"EIO", "input/output error", 0},
    [PRD_EDB] = {"EDB", "database error", 0},
    [PRD_ERETRY] = {"ERETRY", "retries exhausted", 0},
    [PRD_ECLOSED] = {"ECLOSED", "closed", 0},
    [PRD_ETOOBIG] = {"ETOOBIG", "input too large", 1},
    [PRD_ENOSPACE] = {"ENOSPACE", "output buffer too small", 1},
    [PRD_EBADTOKEN] = {"EBADTOKEN", "invalid token", 1},
    [PRD_ENOTFOUND] = {"ENOTFOUND", "not found", 1},
    [PRD_EPERM] = {"EPERM", "permission denied", 0},
    [PRD_ECONFLICT] = {"ECONFLICT", "conflicts with existing data", 1},
    [PRD_EUNKNOWN] = {"EUNKNOWN", "outcome unknown", 0},
    [PRD_EINTERNAL] = {"EINTERNAL", "internal error", 0},
    [PRD_EUNSUPPORTED] = {"EUNSUPPORTED", "unsupported", 1},
};

_Static_assert(PRD_ARRAY_LEN(statuses) == PRD_STATUS_MAX + 1,
               "every prd_status needs a name and a phrase");

static const struct status_info *lookup(prd_status status)
{
    unsigned i = (unsigned)status;
    return i < PRD_ARRAY_LEN(statuses) ? &statuses[i] : NULL;
}

const char *prd_status_str(prd_status status)
{
    const struct status_info *s = lookup(status);
    return s ? s->phrase : "unknown status";
}

const char *prd_status_name(prd_status status)
{
    const struct status_info *s = lookup(status);
    return s ? s->name : "EUNKNOWNSTATUS";
}

int prd_status_is_client_error(prd_status status)
{
    const struct status_info *s = lookup(status);
    return s ? s->client : 0;
}

int prd_memeq(const void *a, const void *b, size_t len)
{
    if (len == 0)
        return 1;
    if (!a || !b)
        return 0;
    return sodium_memcmp(a, b, len) == 0;
}

void prd_memzero(void *p, size_t len)
{
    if (p)
        sodium_memzero(p, len);
}

void prd_free(void *p)
{
    /* Buffers returned to callers carry a size header so they can be
     * wiped: tokens and decrypted payloads may be sensitive. */
    prd__free_returned(p);
}
