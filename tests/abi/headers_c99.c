/* The public headers (prodready.h and prodready/jansson.h) must compile
 * as strict C99 and link against the library. */
#include "prodready.h"
#include "prodready/jansson.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    if (prd_init() != PRD_OK)
        return 1;
    if (strcmp(prd_version(), PRD_VERSION_STRING) != 0)
        return 1;
    puts("1..1\nok 1 - prodready.h compiles and links as C99");
    return 0;
}
