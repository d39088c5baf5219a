/* prodready log scrub [--rules FILE]: JSON lines (or any text) on stdin,
 * the same lines redacted by the default rules (plus FILE's) on stdout. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_has_value(const char *name)
{
    return strcmp(name, "rules") == 0;
}

/* FILE: one key name or dotted path per line; '#' starts a comment. */
static int load_rules(prd_logger *lg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_usage("log scrub: cannot open rules file '%.200s'", path);
    char line[256];
    int rc = 0, lineno = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = line, *e = line + strlen(line);
        while (*s == ' ' || *s == '\t')
            s++;
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (!*s)
            continue;
        /* "allow KEY" lines turn on the allowlist mode; any other line is a
         * key or dotted path to redact. */
        int allow = strncmp(s, "allow ", 6) == 0;
        const char *k = allow ? s + 6 : s;
        while (*k == ' ' || *k == '\t')
            k++;
        if ((allow ? prd_logger_allow_key(lg, k) : prd_logger_redact_key(lg, k)) != PRD_OK)
            rc = cli_usage("log scrub: rules line %d: not a usable key or path", lineno);
    }
    fclose(f);
    return rc;
}

int cmd_log(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "scrub") != 0)
        return cli_usage("usage: prodready log scrub [--rules FILE]");
    struct cli_args a = {argc - 1, argv + 1, 0};
    const char *flag, *value, *rules = NULL;
    int r;
    while ((r = cli_next(&a, log_has_value, &flag, &value)) == 1) {
        if (!flag)
            return cli_usage("log scrub: unexpected argument '%.40s'", value);
        if (strcmp(flag, "rules") == 0)
            rules = value;
        else
            return cli_usage("log scrub: unknown option --%s", flag);
    }
    if (r < 0)
        return EXIT_USAGE;
    prd_logger *lg = NULL;
    if (prd_logger_new(&lg) != PRD_OK)
        return cli_fail(EXIT_USAGE, "log scrub: out of memory");
    int rc = rules ? load_rules(lg, rules) : 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    prd_log_scrub_state state = PRD_LOG_SCRUB_STATE_INIT; /* a PEM key spans lines */
    while (!rc && (n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        int nl = len > 0 && line[len - 1] == '\n';
        if (nl)
            len--;
        char *out = NULL;
        size_t out_len = 0;
        if (prd_log_scrub_next(lg, &state, line, len, &out, &out_len) != PRD_OK) {
            rc = cli_fail(EXIT_USAGE, "log scrub: out of memory");
            break;
        }
        fwrite(out, 1, out_len, stdout);
        if (nl)
            fputc('\n', stdout);
        prd_free(out);
    }
    free(line);
    prd_logger_free(lg);
    if (!rc && fflush(stdout) != 0)
        rc = cli_fail(EXIT_USAGE, "log scrub: cannot write output");
    return rc;
}
