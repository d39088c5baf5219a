/* Allocation wrappers with fault injection (see internal/alloc.h). */
#include "internal/common.h"
#include "internal/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <sodium.h>

static atomic_long fail_countdown;
static atomic_long failures;

static int should_fail(void)
{
    if (atomic_load_explicit(&fail_countdown, memory_order_relaxed) == 0)
        return 0;
    if (atomic_fetch_sub(&fail_countdown, 1) == 1) {
        atomic_fetch_add(&failures, 1);
        return 1;
    }
    return 0;
}

void prd__alloc_fail_after(long countdown)
{
    atomic_store(&fail_countdown, countdown < 0 ? 0 : countdown);
}

long prd__alloc_failures(void)
{
    return atomic_load(&failures);
}

void *prd__malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *prd__calloc(size_t count, size_t n)
{
    return should_fail() ? NULL : calloc(count ? count : 1, n ? n : 1);
}

void *prd__realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

char *prd__strndup(const char *s, size_t n)
{
    char *d = prd__malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *prd__strdup(const char *s)
{
    return prd__strndup(s, strlen(s));
}

void prd__free(void *p)
{
    free(p);
}

void *prd__secure_malloc(size_t n)
{
    return should_fail() ? NULL : sodium_malloc(n ? n : 1);
}

void prd__secure_free(void *p)
{
    sodium_free(p); /* wipes, unlocks and unmaps; NULL is a no-op */
}

/* 16 bytes keep the caller's pointer aligned for any type. */
#define RETURNED_HEADER 16

void *prd__returned_alloc(size_t n)
{
    if (n > SIZE_MAX - RETURNED_HEADER)
        return NULL;
    unsigned char *p = prd__malloc(n + RETURNED_HEADER);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    return p + RETURNED_HEADER;
}

void prd__free_returned(void *p)
{
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - RETURNED_HEADER;
    size_t n;
    memcpy(&n, base, sizeof n);
    sodium_memzero(base, n + RETURNED_HEADER);
    free(base);
}

void *prd__map_pages(size_t n)
{
    if (should_fail() || n == 0)
        return NULL;
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void prd__unmap_pages(void *p, size_t n)
{
    if (p)
        munmap(p, n);
}
