/* pg configuration: conninfo checks, settings with named errors, and the
 * startup parameters every connection is made with. */
#include "internal/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal/alloc.h"
#include "internal/pg.h"

static prd_status refuse(prd_pg_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static prd_status refuse(prd_pg_config *cfg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->error, sizeof cfg->error, fmt, ap);
    va_end(ap);
    return PRD_EINVAL;
}

static char *secure_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = prd__secure_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void wipe_options(PQconninfoOption *opts)
{
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (o->val)
            prd_memzero(o->val, strlen(o->val));
    PQconninfoFree(opts);
}

static int asks_for_primary(const char *tsa)
{
    return tsa && (!strcmp(tsa, "read-write") || !strcmp(tsa, "primary"));
}

/*
 * A peer that vanishes (a host gone, a link cut without a reset) must be
 * noticed without any query running into it: keepalive probes after 10 s
 * idle, every 5 s, 3 unanswered end it (25 s); data unacknowledged for
 * 20 s ends it too (tcp_user_timeout). A conninfo that names any of these
 * keeps all its own. Unix sockets ignore them.
 */
static void tcp_defaults(prd_pg_config *cfg, int on)
{
    snprintf(cfg->keepalives_idle, sizeof cfg->keepalives_idle, "%s", on ? "10" : "");
    snprintf(cfg->keepalives_interval, sizeof cfg->keepalives_interval, "%s", on ? "5" : "");
    snprintf(cfg->keepalives_count, sizeof cfg->keepalives_count, "%s", on ? "3" : "");
    snprintf(cfg->tcp_user_timeout, sizeof cfg->tcp_user_timeout, "%s", on ? "20000" : "");
}


/* Check conninfo with libpq's own parser and take out what the pool needs
 * to know. libpq's parse message is not passed on: it can quote part of
 * the string, password included. */
static prd_status load_conninfo(prd_pg_config *cfg, const char *conninfo)
{
    if (!conninfo)
        return refuse(cfg, "conninfo: must not be NULL");
    size_t len = strlen(conninfo);
    if (len > PRD_PG_CONNINFO_MAX) {
        refuse(cfg, "conninfo: longer than %d bytes", PRD_PG_CONNINFO_MAX);
        return PRD_ETOOBIG;
    }
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    if (!opts) {
        int oom = errmsg == NULL;
        if (errmsg) {
            prd_memzero(errmsg, strlen(errmsg));
            PQfreemem(errmsg);
        }
        if (oom)
            return PRD_ENOMEM;
        return refuse(cfg, "conninfo: not a valid libpq keyword/value string or postgresql:// URI");
    }
    const char *pw = NULL, *options = NULL, *tsa = NULL, *cto = NULL;
    int own_tcp = 0; /* the conninfo sets keepalives or tcp_user_timeout itself */
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (!strcmp(o->keyword, "password"))
            pw = o->val;
        else if (!strcmp(o->keyword, "options"))
            options = o->val;
        else if (!strcmp(o->keyword, "target_session_attrs"))
            tsa = o->val;
        else if (!strcmp(o->keyword, "connect_timeout"))
            cto = o->val;
        else if (!strncmp(o->keyword, "keepalives", 10) || !strcmp(o->keyword, "tcp_user_timeout"))
            own_tcp |= *o->val != '\0';
    }
    char *new_conninfo = secure_dup(conninfo);
    char *new_pw = pw && *pw ? secure_dup(pw) : NULL;
    char *new_opts = options && *options ? prd__strdup(options) : NULL;
    if (!new_conninfo || (pw && *pw && !new_pw) || (options && *options && !new_opts)) {
        prd__secure_free(new_conninfo);
        prd__secure_free(new_pw);
        prd__free(new_opts);
        wipe_options(opts);
        return PRD_ENOMEM;
    }
    prd__secure_free(cfg->conninfo);
    prd__secure_free(cfg->password);
    prd__free(cfg->user_options);
    cfg->conninfo = new_conninfo;
    cfg->password = new_pw;
    cfg->user_options = new_opts;
    cfg->wants_primary = asks_for_primary(tsa);
    if (cto && *cto)
        cfg->connect_timeout_s[0] = '\0';
    else
        snprintf(cfg->connect_timeout_s, sizeof cfg->connect_timeout_s, "%u",
                 cfg->connect_timeout_ms < 2000 ? 2u : (cfg->connect_timeout_ms + 999) / 1000);
    tcp_defaults(cfg, !own_tcp);
    wipe_options(opts);
    cfg->error[0] = '\0';
    return PRD_OK;
}

prd_status prd_pg_config_new(const char *conninfo, prd_pg_config **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    prd_pg_config *cfg = prd__calloc(1, sizeof *cfg);
    if (!cfg)
        return PRD_ENOMEM;
    memcpy(cfg->name, "default", sizeof "default");
    cfg->min_size = 1;
    cfg->max_size = 10;
    cfg->max_waiters = 1000;
    cfg->acquire_timeout_ms = 5000;
    cfg->connect_timeout_ms = 5000;
    cfg->idle_timeout_ms = 10 * 60 * 1000;
    cfg->max_lifetime_ms = 30 * 60 * 1000;
    cfg->lifetime_jitter_pct = 10;
    cfg->health_check_after_ms = 1000;
    cfg->statement_timeout_ms = 30000;
    cfg->idle_in_tx_timeout_ms = 60000;
    cfg->lock_timeout_ms = 0;
    strcpy(cfg->application_name, "prodready");
    cfg->leak_threshold_ms = 60000;
    cfg->stmt_cache_size = 128;
    cfg->backoff_initial_ms = 50;
    cfg->backoff_max_ms = 5000;
    cfg->slow_query_ms = 1000;
    cfg->maintenance_interval_ms = 1000;
    st = load_conninfo(cfg, conninfo);
    if (st != PRD_OK) {
        prd_pg_config_free(cfg);
        return st;
    }
    *out = cfg;
    return PRD_OK;
}

void prd_pg_config_free(prd_pg_config *cfg)
{
    if (!cfg)
        return;
    prd__secure_free(cfg->conninfo);
    prd__secure_free(cfg->password);
    prd__free(cfg->user_options);
    prd__free(cfg);
}

prd_status prd__pg_config_copy(const prd_pg_config *src, prd_pg_config **out)
{
    prd_pg_config *c = prd__malloc(sizeof *c);
    if (!c)
        return PRD_ENOMEM;
    memcpy(c, src, sizeof *c);
    c->conninfo = secure_dup(src->conninfo);
    c->password = src->password ? secure_dup(src->password) : NULL;
    c->user_options = src->user_options ? prd__strdup(src->user_options) : NULL;
    if (!c->conninfo || (src->password && !c->password) ||
        (src->user_options && !c->user_options)) {
        prd_pg_config_free(c);
        return PRD_ENOMEM;
    }
    *out = c;
    return PRD_OK;
}

const char *prd_pg_config_error(const prd_pg_config *cfg)
{
    return cfg ? cfg->error : "";
}

prd_status prd_pg_config_set_conninfo(prd_pg_config *cfg, const char *conninfo)
{
    if (!cfg)
        return PRD_EINVAL;
    return load_conninfo(cfg, conninfo);
}

#define CHECK_CFG(cfg)                                                                        \
    do {                                                                                      \
        if (!(cfg))                                                                           \
            return PRD_EINVAL;                                                                \
    } while (0)

#define DAY_MS (24ull * 3600 * 1000)
#define PG_INT_MAX 2147483647u /* PostgreSQL takes timeouts as int milliseconds */

static int out_of_range(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v < lo || v > hi;
}

/* A setter that stores v when lo <= v <= hi and otherwise refuses it,
 * naming the setting and the range. */
#define RANGE_SETTER(fn, type, field, lo, hi, name, unit)                                    \
    prd_status fn(prd_pg_config *cfg, type v)                                                \
    {                                                                                         \
        if (!cfg)                                                                             \
            return PRD_EINVAL;                                                                \
        if (out_of_range((uint64_t)v, (uint64_t)(lo), (uint64_t)(hi)))                        \
            return refuse(cfg, "%s: must be %llu..%llu%s", name, (unsigned long long)(lo),   \
                          (unsigned long long)(hi), unit);                                    \
        cfg->field = v;                                                                       \
        return PRD_OK;                                                                        \
    }

RANGE_SETTER(prd_pg_config_set_min_size, uint32_t, min_size, 0, PRD_PG_MAX_SIZE_LIMIT, "min_size", "")

RANGE_SETTER(prd_pg_config_set_max_size, uint32_t, max_size, 1, PRD_PG_MAX_SIZE_LIMIT, "max_size", "")

RANGE_SETTER(prd_pg_config_set_max_waiters, uint32_t, max_waiters, 0, 1000000, "max_waiters", "")

RANGE_SETTER(prd_pg_config_set_acquire_timeout_ms, uint32_t, acquire_timeout_ms, 1, 3600000, "acquire_timeout", " ms (an endless wait is not offered)")

prd_status prd_pg_config_set_connect_timeout_ms(prd_pg_config *cfg, uint32_t ms)
{
    CHECK_CFG(cfg);
    if (ms < 1 || ms > 600000)
        return refuse(cfg, "connect_timeout: must be 1 ms..10 min");
    cfg->connect_timeout_ms = ms;
    if (cfg->connect_timeout_s[0])
        snprintf(cfg->connect_timeout_s, sizeof cfg->connect_timeout_s, "%u",
                 ms < 2000 ? 2u : (ms + 999) / 1000);
    return PRD_OK;
}

RANGE_SETTER(prd_pg_config_set_idle_timeout_ms, uint64_t, idle_timeout_ms, 0, 30 * DAY_MS, "idle_timeout", " ms (0 = never)")

prd_status prd_pg_config_set_max_lifetime_ms(prd_pg_config *cfg, uint64_t ms, uint32_t jitter_pct)
{
    CHECK_CFG(cfg);
    if (ms > 30 * DAY_MS)
        return refuse(cfg, "max_lifetime: must be at most 30 days (0 = never)");
    if (jitter_pct > 50)
        return refuse(cfg, "max_lifetime: jitter must be 0..50 percent");
    cfg->max_lifetime_ms = ms;
    cfg->lifetime_jitter_pct = jitter_pct;
    return PRD_OK;
}

RANGE_SETTER(prd_pg_config_set_health_check_after_ms, uint64_t, health_check_after_ms, 0, 30 * DAY_MS, "health_check_after", " ms")

RANGE_SETTER(prd_pg_config_set_statement_timeout_ms, uint32_t, statement_timeout_ms, 0, PG_INT_MAX, "statement_timeout", " ms (0 = the server's)")

RANGE_SETTER(prd_pg_config_set_idle_in_transaction_timeout_ms, uint32_t, idle_in_tx_timeout_ms, 0, PG_INT_MAX, "idle_in_transaction_session_timeout", " ms (0 = the server's)")

RANGE_SETTER(prd_pg_config_set_query_timeout_ms, uint32_t, query_timeout_ms, 0, PG_INT_MAX, "query_timeout", " ms (0 = statement_timeout + 2 s)")

RANGE_SETTER(prd_pg_config_set_lock_timeout_ms, uint32_t, lock_timeout_ms, 0, PG_INT_MAX, "lock_timeout", " ms (0 = the server's)")

prd_status prd_pg_config_set_application_name(prd_pg_config *cfg, const char *name)
{
    CHECK_CFG(cfg);
    if (!name)
        return refuse(cfg, "application_name: must not be NULL");
    size_t n = strlen(name);
    if (n < 1 || n > 63)
        return refuse(cfg, "application_name: must be 1..63 characters");
    for (size_t i = 0; i < n; i++)
        if (name[i] < 0x20 || name[i] > 0x7e)
            return refuse(cfg, "application_name: printable ASCII only");
    memcpy(cfg->application_name, name, n + 1);
    cfg->app_name_set = 1;
    return PRD_OK;
}

RANGE_SETTER(prd_pg_config_set_leak_threshold_ms, uint64_t, leak_threshold_ms, 0, 30 * DAY_MS, "leak_threshold", " ms (0 = off)")

RANGE_SETTER(prd_pg_config_set_statement_cache_size, uint32_t, stmt_cache_size, 0, 4096, "statement_cache_size", "")

prd_status prd_pg_config_set_reconnect_backoff_ms(prd_pg_config *cfg, uint32_t initial_ms,
                                                  uint32_t max_ms)
{
    CHECK_CFG(cfg);
    if (initial_ms < 1 || max_ms < initial_ms || max_ms > 600000)
        return refuse(cfg, "reconnect_backoff: need 1 <= initial <= max <= 600000 ms");
    cfg->backoff_initial_ms = initial_ms;
    cfg->backoff_max_ms = max_ms;
    return PRD_OK;
}

RANGE_SETTER(prd_pg_config_set_slow_query_ms, uint64_t, slow_query_ms, 0, DAY_MS, "slow_query", " ms (0 = off)")

RANGE_SETTER(prd_pg_config_set_maintenance_interval_ms, uint32_t, maintenance_interval_ms, 0, 3600000, "maintenance_interval", " ms (0 = no thread)")

prd_status prd_pg_config_set_name(prd_pg_config *cfg, const char *name)
{
    CHECK_CFG(cfg);
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= sizeof cfg->name)
        return refuse(cfg, "name: must be 1..63 characters");
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return refuse(cfg, "name: letters, digits, '_', '-' and '.' only");
    }
    memcpy(cfg->name, name, n + 1);
    return PRD_OK;
}

prd_status prd_pg_config_set_logger(prd_pg_config *cfg, prd_logger *lg)
{
    CHECK_CFG(cfg);
    cfg->logger = lg;
    return PRD_OK;
}

prd_status prd_pg_config_set_clock(prd_pg_config *cfg, const prd_clock *clock)
{
    CHECK_CFG(cfg);
    cfg->clock = clock;
    return PRD_OK;
}

static void add_setting(char *buf, size_t cap, const char *name, uint32_t ms)
{
    size_t len = strlen(buf);
    if (ms && len < cap)
        snprintf(buf + len, cap - len, "%s-c %s=%u", len ? " " : "", name, ms);
}

void prd__pg_config_start_params(const prd_pg_config *cfg, const char **keys, const char **vals,
                                 char *options_buf, size_t options_cap)
{
    size_t i = 0;
    /* dbname first with expand_dbname: the later keys override what the
     * conninfo says, except options, which are merged. */
    keys[i] = "dbname";
    vals[i++] = cfg->conninfo;
    keys[i] = cfg->app_name_set ? "application_name" : "fallback_application_name";
    vals[i++] = cfg->application_name;
    options_buf[0] = '\0';
    if (cfg->user_options)
        snprintf(options_buf, options_cap, "%s", cfg->user_options);
    add_setting(options_buf, options_cap, "statement_timeout", cfg->statement_timeout_ms);
    add_setting(options_buf, options_cap, "idle_in_transaction_session_timeout",
                cfg->idle_in_tx_timeout_ms);
    add_setting(options_buf, options_cap, "lock_timeout", cfg->lock_timeout_ms);
    if (options_buf[0]) {
        keys[i] = "options";
        vals[i++] = options_buf;
    }
    if (cfg->connect_timeout_s[0]) {
        keys[i] = "connect_timeout";
        vals[i++] = cfg->connect_timeout_s;
    }
    if (cfg->keepalives_idle[0]) {
        keys[i] = "keepalives_idle";
        vals[i++] = cfg->keepalives_idle;
        keys[i] = "keepalives_interval";
        vals[i++] = cfg->keepalives_interval;
        keys[i] = "keepalives_count";
        vals[i++] = cfg->keepalives_count;
        keys[i] = "tcp_user_timeout";
        vals[i++] = cfg->tcp_user_timeout;
    }
    keys[i] = NULL;
    vals[i] = NULL;
}
