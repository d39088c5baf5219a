/*
 * Allocation wrappers with fault injection.
 *
 * Every heap allocation in lib/ goes through these so that tests can make
 * the Nth allocation fail and check that each out-of-memory path leaves
 * state unchanged and reports PRD_ENOMEM (SQLite's approach to OOM testing).
 * The injection costs one relaxed atomic load per allocation.
 */
#ifndef PRD_INTERNAL_ALLOC_H
#define PRD_INTERNAL_ALLOC_H

#include <stddef.h>

void *prd__malloc(size_t n);
void *prd__calloc(size_t count, size_t n);
void *prd__realloc(void *p, size_t n);
char *prd__strdup(const char *s);
char *prd__strndup(const char *s, size_t n);
void prd__free(void *p);

/* Guarded memory (sodium_malloc): for secrets and their intermediates.
 * prd__secure_free wipes before releasing; NULL is a no-op. */
void *prd__secure_malloc(size_t n);
void prd__secure_free(void *p);

/* Buffers handed to callers, released with prd_free(): a hidden size
 * header lets prd_free wipe them (tokens, decrypted payloads). */
void *prd__returned_alloc(size_t n);
void prd__free_returned(void *p);

/* Private anonymous pages (mmap), counted by the same fault injection:
 * for memory that must not come from, or go back to, the heap (Argon2's
 * arenas). NULL on failure; unmap takes the same length. */
void *prd__map_pages(size_t n);
void prd__unmap_pages(void *p, size_t n);

/* Test hook: fail the allocation `countdown` calls from now (1 = the next
 * one); 0 disables injection. Returns the number of injected failures so
 * far. Not thread-safe with respect to which thread sees the failure. */
void prd__alloc_fail_after(long countdown);
long prd__alloc_failures(void);

#endif
