/* prodready --help: one text a command and subcommand, printed on stdout
 * with exit 0. The same words as docs/cli.md and prodready(1). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define KEY_SOURCES                                                                       \
    "  key, exactly one of:\n"                                                            \
    "    --key KEY         PASERK (k4.local., k4.public., k4.secret.) or hex (64 digits;\n" \
    "                      128 for an Ed25519 secret key); visible to other users in ps\n" \
    "    --key -           read the key from standard input\n"                            \
    "    --key-file FILE   read it from FILE (one trailing newline ignored)\n"            \
    "    --key-env NAME    read it from the environment variable NAME\n"

static const struct {
    const char *topic;
    const char *text;
} topics[] = {
    {"", "usage: prodready COMMAND [ARGS]\n"
         "       prodready COMMAND --help     (every command and subcommand takes --help, -h)\n"
         "       prodready --version\n"
         "commands:\n"
         "  version                      print the library version\n"
         "  keygen local|public          print a new PASETO v4 key as PASERK\n"
         "  password hash                password on stdin -> PHC string\n"
         "  password verify PHC          password on stdin -> exit 0 match, 1 mismatch\n"
         "  password needs-rehash PHC    yes (and the reason) or no\n"
         "  token issue                  a PASETO v4 token that expires\n"
         "  token verify TOKEN           its claims, or why it is rejected\n"
         "  ratelimit replay             stdin \"<ms> <key>\" lines -> allow or deny a line\n"
         "  ratelimit check KEY          one check against the PostgreSQL store\n"
         "  log scrub                    stdin lines -> the same lines, secrets redacted\n"
         "  db migrate                   apply the stores' schema to PostgreSQL\n"
         "exit status: 0 success or yes; 1 a negative answer (mismatch, rejected, denied);\n"
         "2 bad usage or malformed input, with one line on stderr saying why.\n"},
    {"version", "usage: prodready version\n"
                "  prints \"prodready MAJOR.MINOR.PATCH\" (also: prodready --version)\n"},
    {"keygen", "usage: prodready keygen local|public\n"
               "  local:  prints a new k4.local. key\n"
               "  public: prints a new k4.secret. key, then its k4.public. key\n"},
    {"password", "usage: prodready password hash|verify|needs-rehash ...\n"
                 "  prodready password SUBCOMMAND --help for each\n"},
    {"password hash",
     "usage: prodready password hash [--preset NAME | --t N --m KIB --p N] [--allow-empty]\n"
     "  reads the password from standard input (one trailing newline stripped; at most\n"
     "  4096 bytes) and prints its PHC string (argon2id).\n"
     "  --preset NAME   owasp (default), rfc9106-low-memory, moderate, sensitive\n"
     "  --t N --m KIB --p N   explicit cost: t>=1, 1<=p<=16, 8*p<=m<=1048576 KiB, t<=16\n"
     "  --allow-empty   hash an empty password (refused otherwise: usually a mistake)\n"},
    {"password verify",
     "usage: prodready password verify [--allow-legacy] PHC\n"
     "  reads the password from standard input (one trailing newline stripped; at most\n"
     "  4096 bytes); exit 0 when it matches PHC, 1 when not, 2 when PHC is malformed,\n"
     "  over the cost caps (t<=16, m<=1048576 KiB, p<=16) or refused.\n"
     "  --allow-legacy  also accept crypt(3) hashes ($2b$, $6$, $y$, ...)\n"},
    {"password needs-rehash",
     "usage: prodready password needs-rehash PHC [--preset NAME | --t N --m KIB --p N]\n"
     "  prints \"yes\" and on a second line \"reason: R\" (exit 0) when PHC should be\n"
     "  replaced at the next login (R: weaker params, other params, other algorithm,\n"
     "  other pepper, legacy format), or \"no\" (exit 1) when it is current.\n"},
    {"token", "usage: prodready token issue|verify ...\n"
              "  prodready token SUBCOMMAND --help for each\n"},
    {"token issue",
     "usage: prodready token issue --purpose local|public KEY --ttl DURATION\n"
     "         [--claim name=value]... [--claim-json name=JSON]... [--footer JSON]\n"
     "         [--implicit STR]\n"
     "  prints a new PASETO v4 token; exp and iat are set from --ttl (15m, 2h, 7d, 500ms).\n"
     "  public tokens are signed with a k4.secret. key.\n" KEY_SOURCES},
    {"token verify",
     "usage: prodready token verify --purpose local|public KEY TOKEN|-\n"
     "         [--footer JSON] [--implicit STR] [--at RFC3339] [--issuer ISS]\n"
     "         [--audience AUD]... [--leeway DURATION]\n"
     "  valid: prints the claims JSON, exit 0. rejected: exit 1, stderr line 1\n"
     "  \"rejected: expired|not_yet_valid|invalid\", line 2 the library's reason.\n"
     "  TOKEN - reads the token from standard input (at most 1048576 bytes; one\n"
     "  trailing newline ignored).\n" KEY_SOURCES},
    {"ratelimit", "usage: prodready ratelimit replay|check ...\n"
                  "  prodready ratelimit SUBCOMMAND --help for each\n"},
    {"ratelimit replay",
     "usage: prodready ratelimit replay --limit N --window DURATION\n"
     "         [--algorithm exact|counter|gcra] [--max-keys N]\n"
     "  reads \"<ms> <key>\" lines on standard input and prints allow or deny for each;\n"
     "  exact (default): allowed iff fewer than N were allowed in (t-W, t].\n"},
    {"ratelimit check",
     "usage: prodready ratelimit check --db CONNINFO --limit N --window DURATION\n"
     "         [--algorithm exact|counter|gcra] KEY\n"
     "  one check of KEY against the PostgreSQL store shared by every process:\n"
     "  prints allow (exit 0) or deny (exit 1); a database error exits 2 (fails\n"
     "  closed). --db \"\" uses libpq's PG* variables.\n"},
    {"log", "usage: prodready log scrub [--rules FILE] [--stats]\n"},
    {"log scrub",
     "usage: prodready log scrub [--rules FILE] [--stats]\n"
     "  copies standard input to standard output with secrets redacted: JSON objects\n"
     "  by key and value, other lines as text; no line is dropped.\n"
     "  --rules FILE  extra rules (see docs/log.md)\n"
     "  --stats       counts of what was redacted, as JSON on stderr\n"},
    {"db", "usage: prodready db migrate --db CONNINFO\n"},
    {"db migrate",
     "usage: prodready db migrate --db CONNINFO\n"
     "  applies the stores' migrations (idempotent) and prints \"applied N migrations\".\n"
     "  --db \"\" uses libpq's PG* variables.\n"},
};

int cli_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int cli_help(const char *command, const char *sub)
{
    char topic[64] = "";
    if (command && strlen(command) < 24) {
        if (sub && strlen(sub) < 24)
            snprintf(topic, sizeof topic, "%s %s", command, sub);
        else
            snprintf(topic, sizeof topic, "%s", command);
    }
    /* The most specific topic known: "token verify", else "token", else all. */
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
            if (strcmp(topics[i].topic, topic) == 0) {
                fputs(topics[i].text, stdout);
                return fflush(stdout) == 0 ? EXIT_YES : EXIT_USAGE;
            }
        }
        char *sp = strrchr(topic, ' ');
        if (sp)
            *sp = '\0';
        else
            topic[0] = '\0';
    }
    return EXIT_USAGE; /* unreachable: "" is a topic */
}
