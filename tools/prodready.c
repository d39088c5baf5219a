/*
 * prodready: the command-line face of libprodready, for operators and for
 * tests written outside C. Exit status: 0 success or "yes", 1 a negative
 * answer (mismatch, rejected, denied), 2 bad usage or malformed input, with
 * one line on stderr saying why. The contract is in DESIGN.md and
 * docs/cli.md.
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

static void print_help(FILE *f)
{
    fputs("usage: prodready COMMAND [ARGS]\n"
          "commands:\n"
          "  version                      print the library version\n"
          "  keygen local|public          print a new PASETO v4 key as PASERK\n"
          "  password hash [--preset NAME | --t N --m KIB --p N]    password on stdin -> PHC\n"
          "  password verify [--allow-legacy] PHC                   password on stdin -> 0/1/2\n"
          "  password needs-rehash PHC [--preset NAME]              prints yes or no\n"
          "  token issue --purpose local|public --key KEY --ttl DURATION [--claim name=value]...\n"
          "              [--claim-json name=JSON]... [--footer JSON] [--implicit STR]\n"
          "  token verify --purpose local|public --key KEY [--footer JSON] [--implicit STR]\n"
          "              [--at RFC3339] [--issuer ISS] [--audience AUD]... [--leeway DURATION] TOKEN\n"
          "  ratelimit replay --limit N --window DURATION [--algorithm exact|counter]\n"
          "              stdin \"<ms> <key>\" lines -> allow or deny per line\n"
          "  ratelimit check --db CONNINFO --limit N --window DURATION\n"
          "              [--algorithm exact|counter|gcra] KEY\n"
          "              one check against the PostgreSQL store -> allow (0) or deny (1)\n"
          "  log scrub [--rules FILE] [--stats]\n"
          "              stdin JSON lines -> the same lines, secrets redacted\n"
          "  db migrate --db CONNINFO     apply the stores' schema (idempotent)\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("usage: prodready COMMAND [ARGS] (see prodready help)");
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        print_help(stdout);
        return EXIT_YES;
    }
    if (prd_init() != PRD_OK)
        return cli_fail(EXIT_USAGE, "cannot initialise libprodready (no entropy source?)");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    return cli_usage("unknown command '%.40s' (see prodready help)", argv[1]);
}
