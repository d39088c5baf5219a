// The public headers must compile as C++ (extern "C") and link against the library.
#include "prodready.h"
#include "prodready/jansson.h"

#include <cstdio>
#include <cstring>

int main()
{
    if (prd_init() != PRD_OK)
        return 1;
    prd_secret *s = nullptr;
    if (prd_secret_random(16, &s) != PRD_OK || prd_secret_len(s) != 16)
        return 1;
    prd_secret_free(s);
    std::puts("1..1\nok 1 - prodready.h compiles and links as C++");
    return 0;
}
