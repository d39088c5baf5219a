/*
 * prodready: the command-line face of libprodready, for operators and for
 * tests written outside C. Exit status: 0 success or "yes", 1 a negative
 * answer (mismatch, rejected, denied), 2 bad usage or malformed input, with
 * one line on stderr saying why. The contract is in docs/cli.md.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return cli_usage("usage: prodready version");
    printf("prodready %s\n", prd_version());
    return EXIT_YES;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"version", cmd_version},
    {"keygen", cmd_keygen},
    {"password", cmd_password},
    {"token", cmd_token},
    {"ratelimit", cmd_ratelimit},
    {"log", cmd_log},
    {"db", cmd_db},
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("usage: prodready COMMAND [ARGS] (see prodready --help)");
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return cli_help(argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL);
    if (strcmp(cmd, "--version") == 0)
        cmd = "version";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) != 0)
            continue;
        /* Help before anything reads standard input or touches a database. */
        if (cli_wants_help(argc - 2, argv + 2))
            return cli_help(cmd, argc > 2 && argv[2][0] != '-' ? argv[2] : NULL);
        if (prd_init() != PRD_OK)
            return cli_fail(EXIT_USAGE, "cannot initialise libprodready (no entropy source?)");
        return commands[i].run(argc - 2, argv + 2);
    }
    return cli_usage("unknown command '%.40s' (see prodready --help)", cmd);
}
