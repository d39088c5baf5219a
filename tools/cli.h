/* Shared helpers of the prodready command: exit codes, errors, flags. */
#ifndef PRD_CLI_H
#define PRD_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "prodready.h"

enum { EXIT_YES = 0, EXIT_NO = 1, EXIT_USAGE = 2 };

/* Print "prodready: <message>" on one line of stderr and return EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "prodready: <message>" on stderr and return code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A minimal flag scanner: flags are "--name value" or "--name=value";
 * "--" ends flags. Positional arguments are collected in order.
 */
struct cli_args {
    int argc;
    char **argv;
    int pos;
};

/* The next token: sets *flag (name without "--", NULL for a positional)
 * and *value; returns 0 at the end, 1 for a token, -1 when a flag that
 * needs a value has none (an error line was printed). has_value(name)
 * tells which flags take values. */
int cli_next(struct cli_args *a, int (*has_value)(const char *name), const char **flag,
             const char **value);

/* Parse "15m", "500ms", "2h", "1d", "30s" into milliseconds. 0 on success. */
int cli_parse_duration_ms(const char *s, int64_t *ms);

/* Parse a non-negative decimal integer no larger than max. 0 on success. */
int cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Read all of stdin (at most max bytes) into a malloc'd NUL-terminated
 * buffer; returns NULL (after printing why) on error or when too long. */
char *cli_read_stdin(size_t max, size_t *len);

/* The same, silent when the input is longer than max (*too_long set,
 * NULL returned): the caller words that answer. */
char *cli_read_stdin_bounded(size_t max, size_t *len, int *too_long);

/* Read a password from stdin: one trailing newline (\n or \r\n) stripped. */
char *cli_read_password(size_t max, size_t *len);

/* True when --help or -h comes before any "--" in argv. */
int cli_wants_help(int argc, char **argv);
/* Print the help of "command sub" (the nearest known topic; NULLs for the
 * overview) on stdout; returns EXIT_YES. */
int cli_help(const char *command, const char *sub);

/* The key text from exactly one of --key KEY, --key - (stdin), --key-file
 * FILE or --key-env NAME, in a malloc'd buffer for cli_free_secret; NULL
 * (after printing why) when none, several, or the source cannot be read. */
char *cli_read_key(const char *what, const char *key, const char *key_file, const char *key_env);
/* Wipe and free a buffer from cli_read_key or cli_read_stdin. */
void cli_free_secret(char *s);

int cmd_keygen(int argc, char **argv);
int cmd_password(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_ratelimit(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_db(int argc, char **argv);

/* A one-connection pool for a PostgreSQL command (conninfo "" means
 * libpq's PG* variables); prints the reason and returns it on failure. */
prd_status cli_pg_pool(const char *conninfo, const char *what, prd_pg_pool **out);
/* The stores' migrations (idempotent); prints the reason on failure. */
prd_status cli_stores_migrate(prd_pg_pool *pool, const char *what, uint32_t *applied);

#endif
