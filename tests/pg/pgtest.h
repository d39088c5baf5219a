/* Helpers shared by the PostgreSQL suites: the server comes from
 * scripts/pg-temp (PRD_PG_CONNINFO); no mocks. */
#ifndef PRD_TEST_PGTEST_H
#define PRD_TEST_PGTEST_H

#include <pthread.h>
#include <stddef.h>

#include "prodready/pg.h"

/* PRD_PG_CONNINFO, or fails the test (in CI) / skips it (elsewhere). */
const char *pgt_conninfo(void);
/* A config for the test server with small, test-friendly settings. */
prd_pg_config *pgt_config(void);
prd_pg_pool *pgt_pool(prd_pg_config *cfg);
/* Run one statement on a dedicated libpq connection (setup, checks). */
void pgt_exec(const char *sql);
/* The first column of the first row of a query, as a long. */
long pgt_scalar(const char *sql);
/* Run a shell command (the cluster helpers); fails the test on error. */
void pgt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log lines captured through a callback sink. */
struct pgt_log {
    pthread_mutex_t lock;
    char *text; /* all lines, newline-separated */
    size_t len;
};
prd_logger *pgt_log_new(struct pgt_log *cap);
void pgt_log_free(prd_logger *lg, struct pgt_log *cap);
/* 1 when the captured text contains s. */
int pgt_log_has(struct pgt_log *cap, const char *s);

#endif
