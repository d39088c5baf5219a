/* The PostgreSQL stores (lib/stores/): their schema's migration set. */
#ifndef PRD_INTERNAL_STORES_H
#define PRD_INTERNAL_STORES_H

#define PRD__STORES_SET "prodready"

#endif
