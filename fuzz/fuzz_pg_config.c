/* libFuzzer: pg configuration strings (conninfo keyword strings and URIs,
 * application names) and the error scrubber. Oracles: a refused conninfo
 * is reported with one fixed message, quoting none of it; a password never survives a
 * scrub when it cannot overlap the marker; SQLSTATE mapping is total. */
#include <stdlib.h>
#include <string.h>

#include "prodready.h"

#include "internal/pg.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size > PRD_PG_CONNINFO_MAX + 16)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    prd_pg_config *cfg = NULL;
    prd_status st = prd_pg_config_new(s, &cfg);
    if (st == PRD_OK) {
        /* a second conninfo on the same config, and the string as a name */
        prd_status st2 = prd_pg_config_set_conninfo(cfg, s + size / 2);
        /* refused: one fixed message, nothing of the string quoted */
        const char *e = prd_pg_config_error(cfg);
        if (st2 == PRD_EINVAL &&
            strcmp(e, "conninfo: not a valid libpq keyword/value string or postgresql:// URI"))
            abort();
        st2 = prd_pg_config_set_application_name(cfg, s);
        if (st2 == PRD_OK && (strlen(s) < 1 || strlen(s) > 63))
            abort();
        prd_pg_config_free(cfg);
    } else if (st != PRD_EINVAL && st != PRD_ETOOBIG && st != PRD_ENOMEM) {
        abort();
    }

    /* the scrubber, with the first bytes as the password */
    size_t pwlen = size < 12 ? size / 2 : 12;
    char pw[13];
    memcpy(pw, s, pwlen);
    pw[pwlen] = '\0';
    prd_pg_error err;
    prd__pg_error_set(&err, PRD_EDB, NULL, "%s", s + pwlen);
    prd__pg_error_scrub(&err, pw);
    if (strlen(pw) >= 4 && strlen(pw) == pwlen && !strchr(pw, '[') && !strchr(pw, ']') &&
        !strstr("[REDACTED]", pw) && strstr(err.message, pw))
        abort();
    if (strlen(err.message) >= sizeof err.message)
        abort();

    if (size >= 5) {
        char code[6];
        memcpy(code, s, 5);
        code[5] = '\0';
        prd_status m = prd_pg_sqlstate_status(code);
        if (m != PRD_EDB && m != PRD_ECONFLICT && m != PRD_ETIMEOUT && m != PRD_ERETRY)
            abort();
    }
    free(s);
    return 0;
}
