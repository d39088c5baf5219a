/* prodready log scrub [--rules FILE] [--stats]: JSON lines (or any text)
 * on stdin, the same lines redacted by the default rules (plus FILE's) on
 * stdout; --stats: the redactions per rule on stderr at the end. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_has_value(const char *name)
{
    return strcmp(name, "rules") == 0;
}

/* FILE, a rule a line: a key name or dotted path to redact, "allow KEY"
 * (the allowlist mode), or "pattern NAME PATTERN" (a value pattern, the
 * language of prd_logger_redact_pattern; the rest of the line is the
 * pattern, '#' included). Elsewhere '#' starts a comment. */
static int load_rules(prd_logger *lg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_usage("log scrub: cannot open rules file '%.200s'", path);
    char line[1024];
    int rc = 0, lineno = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        char *hash = strncmp(s, "pattern ", 8) == 0 ? NULL : strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *e = line + strlen(line);
        while (*s == ' ' || *s == '\t')
            s++;
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (!*s)
            continue;
        if (strncmp(s, "pattern ", 8) == 0) {
            char *name = s + 8;
            while (*name == ' ' || *name == '\t')
                name++;
            char *sp = name + strcspn(name, " \t");
            char *pat = sp;
            while (*pat == ' ' || *pat == '\t')
                *pat++ = '\0';
            prd_status st = prd_logger_redact_pattern(lg, name, pat);
            if (st != PRD_OK)
                rc = cli_usage("log scrub: rules line %d: %s", lineno,
                               st == PRD_ECONFLICT ? "pattern name already taken"
                               : st == PRD_ETOOBIG ? "too many patterns"
                                                   : "not a usable pattern NAME PATTERN");
            continue;
        }
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

/* {"redactions":{"rule":N,...},"text_lines":N} on stderr, rules that hid
 * something only. */
static void print_stats(const prd_logger *lg)
{
    const char *name;
    uint64_t count;
    int first = 1;
    fputs("{\"redactions\":{", stderr);
    for (size_t i = 0; prd_logger_redaction_count(lg, i, &name, &count) == PRD_OK; i++) {
        if (!count)
            continue;
        fprintf(stderr, "%s\"%s\":%llu", first ? "" : ",", name, (unsigned long long)count);
        first = 0;
    }
    fprintf(stderr, "},\"text_lines\":%llu}\n",
            (unsigned long long)prd_logger_count(lg, PRD_LOG_COUNT_SCRUB_TEXT));
}

int cmd_log(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "scrub") != 0)
        return cli_usage("usage: prodready log scrub [--rules FILE] [--stats]");
    struct cli_args a = {argc - 1, argv + 1, 0};
    const char *flag, *value, *rules = NULL;
    int r, stats = 0;
    while ((r = cli_next(&a, log_has_value, &flag, &value)) == 1) {
        if (!flag)
            return cli_usage("log scrub: unexpected argument '%.40s'", value);
        if (strcmp(flag, "rules") == 0)
            rules = value;
        else if (strcmp(flag, "stats") == 0)
            stats = 1;
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
    if (!rc && stats) {
        fflush(stdout);
        print_stats(lg);
    }
    prd_logger_free(lg);
    if (!rc && fflush(stdout) != 0)
        rc = cli_fail(EXIT_USAGE, "log scrub: cannot write output");
    return rc;
}
