/* prodready ratelimit replay: run a request log through one limit;
 * ratelimit check --db: one check against the PostgreSQL store. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rl_has_value(const char *name)
{
    return strcmp(name, "limit") == 0 || strcmp(name, "window") == 0 ||
           strcmp(name, "algorithm") == 0 || strcmp(name, "max-keys") == 0 ||
           strcmp(name, "db") == 0;
}

static int replay(prd_limiter *lim)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = EXIT_YES;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        char *sp = strchr(line, ' ');
        uint64_t ms;
        if (!sp || sp == line) {
            rc = cli_usage("ratelimit replay: line %ld: want \"<ms> <key>\"", lineno);
            break;
        }
        *sp = '\0';
        if (cli_parse_u64(line, UINT64_C(1) << 52, &ms) != 0) {
            rc = cli_usage("ratelimit replay: line %ld: bad time '%.20s'", lineno, line);
            break;
        }
        const char *key = sp + 1;
        size_t klen = (size_t)(line + n - key);
        prd_rl_key k = {key, klen};
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        prd_status st = prd_limiter_check_at(lim, &k, 1, 1, (int64_t)ms, &d);
        if (st != PRD_OK && st != PRD_ELIMITED) {
            rc = cli_usage("ratelimit replay: line %ld: %s", lineno,
                           st == PRD_EINVAL ? "key longer than 1024 bytes" : prd_status_str(st));
            break;
        }
        fputs(st == PRD_OK ? "allow\n" : "deny\n", stdout);
    }
    free(line);
    if (fflush(stdout) != 0)
        rc = cli_fail(EXIT_USAGE, "ratelimit replay: cannot write output");
    return rc;
}

/* One check of key against the store: allow (0), deny (1), 2 with one
 * line on stderr for a database error (the store fails closed). */
static int check_db(const char *db, const char *key, uint64_t limit, int64_t window,
                    prd_rl_algorithm alg)
{
    if (strlen(key) > PRD_RL_KEY_MAX)
        return cli_usage("ratelimit check: KEY longer than %d bytes", PRD_RL_KEY_MAX);
    prd_limiter_config *cfg = NULL;
    prd_status st = prd_limiter_config_new(&cfg);
    if (st == PRD_OK)
        st = prd_limiter_config_add_rule(cfg, "cli", limit, window, alg);
    if (st != PRD_OK) {
        prd_limiter_config_free(cfg);
        return cli_usage("ratelimit check: %s", st == PRD_EINVAL
                                                    ? "the exact algorithm keeps at most 1048576 "
                                                      "units per key (use --algorithm counter)"
                                                    : prd_status_str(st));
    }
    prd_pg_pool *pool = NULL;
    prd_rl_pg *store = NULL;
    int rc = EXIT_USAGE;
    /* The schema first: a fresh database works without a separate step. */
    if (cli_pg_pool(db, "ratelimit check", &pool) == PRD_OK &&
        cli_stores_migrate(pool, "ratelimit check", NULL) == PRD_OK) {
        st = prd_rl_pg_new(cfg, pool, &store);
        prd_rl_key k = {key, strlen(key)};
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        if (st == PRD_OK)
            st = prd_rl_pg_check(store, &k, 1, 1, &d);
        if (st == PRD_OK || st == PRD_ELIMITED) {
            fputs(st == PRD_OK ? "allow\n" : "deny\n", stdout);
            rc = fflush(stdout) != 0 ? cli_fail(EXIT_USAGE, "ratelimit check: cannot write output")
                 : st == PRD_OK      ? EXIT_YES
                                     : EXIT_NO;
        } else {
            cli_usage("ratelimit check: the database failed (%s)", prd_status_str(st));
        }
    }
    prd_rl_pg_free(store);
    prd_pg_pool_free(pool);
    prd_limiter_config_free(cfg);
    return rc;
}

int cmd_ratelimit(int argc, char **argv)
{
    int check = argc >= 1 && strcmp(argv[0], "check") == 0;
    if (argc < 1 || (!check && strcmp(argv[0], "replay") != 0))
        return cli_usage("usage: prodready ratelimit replay|check --limit N --window DURATION "
                         "[--algorithm exact|counter|gcra] (check: --db CONNINFO KEY)");
    const char *what = check ? "ratelimit check" : "ratelimit replay";
    struct cli_args a = {argc - 1, argv + 1, 0};
    const char *flag, *value, *limit_s = NULL, *window_s = NULL, *alg_s = "exact", *keys_s = NULL;
    const char *db = NULL, *key = NULL;
    int r;
    while ((r = cli_next(&a, rl_has_value, &flag, &value)) == 1) {
        if (!flag && check && !key) {
            key = value;
            continue;
        }
        if (!flag)
            return cli_usage("%s: unexpected argument '%.40s'", what, value);
        if (check && strcmp(flag, "db") == 0) {
            db = value;
            continue;
        }
        if (strcmp(flag, "limit") == 0)
            limit_s = value;
        else if (strcmp(flag, "window") == 0)
            window_s = value;
        else if (strcmp(flag, "algorithm") == 0)
            alg_s = value;
        else if (strcmp(flag, "max-keys") == 0)
            keys_s = value;
        else
            return cli_usage("%s: unknown option --%s", what, flag);
    }
    if (r < 0)
        return EXIT_USAGE;
    uint64_t limit, max_keys = 0;
    int64_t window;
    if (!limit_s || cli_parse_u64(limit_s, UINT64_C(1) << 48, &limit) != 0 || limit == 0)
        return cli_usage("%s: --limit wants a positive integer", what);
    if (!window_s || cli_parse_duration_ms(window_s, &window) != 0 || window <= 0)
        return cli_usage("%s: --window wants a duration like 1s, 15m, 500ms", what);
    prd_rl_algorithm alg;
    if (strcmp(alg_s, "exact") == 0)
        alg = PRD_RL_EXACT;
    else if (strcmp(alg_s, "counter") == 0)
        alg = PRD_RL_COUNTER;
    else if (strcmp(alg_s, "gcra") == 0)
        alg = PRD_RL_GCRA; /* burst = limit */
    else
        return cli_usage("%s: --algorithm is exact, counter or gcra", what);
    if (check) {
        if (!db)
            return cli_usage("ratelimit check: --db CONNINFO is required (\"\" for libpq's PG* "
                             "variables)");
        if (!key)
            return cli_usage("ratelimit check: the KEY argument is missing");
        if (keys_s)
            return cli_usage("ratelimit check: --max-keys is for replay (the store has no cap)");
        return check_db(db, key, limit, window, alg);
    }
    if (keys_s && cli_parse_u64(keys_s, (uint64_t)1 << 26, &max_keys) != 0)
        return cli_usage("ratelimit replay: --max-keys wants an integer");
    if (!max_keys) {
        /* Room for a million keys, within 64 GiB of (lazily committed)
         * address space when each key keeps a long exact log. */
        uint64_t per_key = alg == PRD_RL_EXACT ? 40 + 8 * limit : 48;
        max_keys = (UINT64_C(64) << 30) / per_key;
        if (max_keys > (1u << 20))
            max_keys = 1u << 20;
        if (max_keys < 16)
            max_keys = 16;
    }
    prd_limiter_config *cfg = NULL;
    prd_limiter *lim = NULL;
    prd_status st = prd_limiter_config_new(&cfg);
    if (st == PRD_OK)
        st = prd_limiter_config_add_rule(cfg, "replay", limit, window, alg);
    if (st == PRD_EINVAL) {
        prd_limiter_config_free(cfg);
        return cli_usage("ratelimit replay: the exact algorithm keeps at most %u units per key "
                         "(use --algorithm counter)", PRD_RL_EXACT_MAX_LIMIT);
    }
    if (st == PRD_OK)
        st = prd_limiter_config_set_max_keys(cfg, (size_t)max_keys);
    if (st == PRD_OK)
        st = prd_limiter_new(cfg, &lim);
    prd_limiter_config_free(cfg);
    if (st != PRD_OK)
        return cli_usage("ratelimit replay: %s", prd_status_str(st));
    int rc = replay(lim);
    prd_limiter_free(lim);
    return rc;
}
