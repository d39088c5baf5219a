/* Cases for refresh-token families and session listing, run against any
 * token store: the memory store in test_token_session, PostgreSQL in
 * test_stores. Each takes a fresh store and uses a manual clock. */
#ifndef PRD_TOKEN_CASES_H
#define PRD_TOKEN_CASES_H

#include "prodready.h"

void token_cases_refresh(prd_token_store *store);
void token_cases_listing(prd_token_store *store);

#endif
