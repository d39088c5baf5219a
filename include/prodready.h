/*
 * libprodready: production-ready primitives for C services.
 *
 * Include this header for every module, or include one module header
 * (prodready/<module>.h) alone: each works on its own.
 */
#ifndef PRODREADY_H
#define PRODREADY_H

#include "prodready/core.h"
#include "prodready/log.h"
#include "prodready/password.h"
#include "prodready/pg.h"
#include "prodready/ratelimit.h"
#include "prodready/token.h"

#endif
