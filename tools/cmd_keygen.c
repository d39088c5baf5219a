/* prodready keygen local|public: print a new key as PASERK. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int print_paserk(const prd_token_key *key)
{
    char buf[PRD_PASERK_SIZE];
    prd_token_key_paserk(key, buf, sizeof buf);
    puts(buf);
    prd_memzero(buf, sizeof buf);
    return 0;
}

int cmd_keygen(int argc, char **argv)
{
    if (argc != 1)
        return cli_usage("usage: prodready keygen local|public");
    prd_key_kind kind;
    if (strcmp(argv[0], "local") == 0)
        kind = PRD_KEY_LOCAL;
    else if (strcmp(argv[0], "public") == 0)
        kind = PRD_KEY_SECRET;
    else
        return cli_usage("keygen: unknown key purpose '%.40s' (expected local or public)", argv[0]);

    prd_token_key *key = NULL, *pub = NULL;
    prd_status st = prd_token_key_generate(kind, &key);
    if (st == PRD_OK && kind == PRD_KEY_SECRET)
        st = prd_token_key_public(key, &pub);
    if (st != PRD_OK) {
        prd_token_key_free(key);
        return cli_fail(EXIT_USAGE, "keygen: %s", prd_status_str(st));
    }
    print_paserk(key);
    if (pub)
        print_paserk(pub);
    prd_token_key_free(pub);
    prd_token_key_free(key);
    return fflush(stdout) == 0 ? EXIT_YES : cli_fail(EXIT_USAGE, "keygen: cannot write output");
}
