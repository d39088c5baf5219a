#ifndef PRD_INTERNAL_CLOCK_H
#define PRD_INTERNAL_CLOCK_H
#include <pthread.h>

#include "prodready/core.h"
/* 1 when clock is a manual (test) clock. */
int prd__clock_is_manual(const prd_clock *clock);
/* A condition variable whose timed waits take CLOCK_MONOTONIC deadlines,
 * so a wall-clock jump neither cuts a wait short nor stretches it. */
void prd__cond_init_mono(pthread_cond_t *cond);
#endif
