#ifndef PRD_INTERNAL_CLOCK_H
#define PRD_INTERNAL_CLOCK_H
#include "prodready/core.h"
/* 1 when clock is a manual (test) clock. */
int prd__clock_is_manual(const prd_clock *clock);
#endif
