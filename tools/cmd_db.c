/* prodready db migrate: the stores' schema, and the pool the PostgreSQL
 * commands share (cli_pg_pool). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

prd_status cli_pg_pool(const char *conninfo, const char *what, prd_pg_pool **out)
{
    prd_pg_config *cfg = NULL;
    prd_pg_error *err = NULL;
    *out = NULL;
    prd_status st = prd_pg_config_new(conninfo, &cfg);
    if (st != PRD_OK) {
        cli_usage("%s: --db: %s", what, cfg ? prd_pg_config_error(cfg) : prd_status_str(st));
        prd_pg_config_free(cfg);
        return st;
    }
    /* one command, one connection, no housekeeping thread */
    st = prd_pg_config_set_max_size(cfg, 1);
    if (st == PRD_OK)
        st = prd_pg_config_set_maintenance_interval_ms(cfg, 0);
    if (st == PRD_OK)
        st = prd_pg_config_set_application_name(cfg, "prodready-cli");
    if (st == PRD_OK)
        st = prd_pg_error_new(&err);
    if (st == PRD_OK)
        st = prd_pg_pool_new(cfg, out, err);
    if (st != PRD_OK)
        cli_usage("%s: cannot connect: %s", what, err ? prd_pg_error_message(err) : prd_status_str(st));
    prd_pg_error_free(err);
    prd_pg_config_free(cfg);
    return st;
}

prd_status cli_stores_migrate(prd_pg_pool *pool, const char *what, uint32_t *applied)
{
    prd_pg_error *err = NULL;
    prd_status st = prd_pg_error_new(&err);
    if (st == PRD_OK)
        st = prd_pg_stores_migrate(pool, applied, err);
    if (st != PRD_OK)
        cli_usage("%s: migrating the stores' schema: %s", what,
                  err ? prd_pg_error_message(err) : prd_status_str(st));
    prd_pg_error_free(err);
    return st;
}

static int db_has_value(const char *name)
{
    return strcmp(name, "db") == 0;
}

int cmd_db(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "migrate") != 0)
        return cli_usage("usage: prodready db migrate --db CONNINFO");
    struct cli_args a = {argc - 1, argv + 1, 0};
    const char *flag, *value, *db = NULL;
    int r;
    while ((r = cli_next(&a, db_has_value, &flag, &value)) == 1) {
        if (!flag)
            return cli_usage("db migrate: unexpected argument '%.40s'", value);
        if (strcmp(flag, "db") == 0)
            db = value;
        else
            return cli_usage("db migrate: unknown option --%s", flag);
    }
    if (r < 0)
        return EXIT_USAGE;
    if (!db)
        return cli_usage("db migrate: --db CONNINFO is required (\"\" for libpq's PG* variables)");
    prd_pg_pool *pool = NULL;
    if (cli_pg_pool(db, "db migrate", &pool) != PRD_OK)
        return EXIT_USAGE;
    uint32_t applied = 0;
    prd_status st = cli_stores_migrate(pool, "db migrate", &applied);
    prd_pg_pool_free(pool);
    if (st != PRD_OK)
        return EXIT_USAGE;
    printf("applied %u migration%s\n", applied, applied == 1 ? "" : "s");
    return fflush(stdout) == 0 ? EXIT_YES : cli_fail(EXIT_USAGE, "db migrate: cannot write output");
}
