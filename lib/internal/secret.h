/* Internal access to prd_secret bytes for the modules that use them. */
#ifndef PRD_INTERNAL_SECRET_H
#define PRD_INTERNAL_SECRET_H

#include "prodready/core.h"

/* The secret's bytes (read-only guarded memory), valid until it is freed. */
const unsigned char *prd__secret_data(const prd_secret *secret);

/* Take ownership of len bytes already in prd__secure_malloc memory. */
prd_status prd__secret_adopt(unsigned char *guarded, size_t len, prd_secret **out);

/* Zero the bytes in place (test hook for the wipe-on-free path). */
void prd__secret_wipe(prd_secret *secret);

#endif
