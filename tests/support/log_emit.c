/* log_emit: a few log lines to a real syslog or journald socket, for
 * tests/scripts/test_log_daemons.py (which starts the daemons).
 *   log_emit syslog|journald SOCKET TAG */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "prodready/log.h"

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    prd_logger *lg = NULL;
    if (prd_logger_new(&lg) != PRD_OK)
        return 1;
    prd_status st = strcmp(argv[1], "syslog") == 0
                        ? prd_logger_add_syslog(lg, argv[2], argv[3], LOG_LOCAL4, PRD_LOG_INFO)
                        : prd_logger_add_journald(lg, argv[2], argv[3], PRD_LOG_INFO);
    if (st != PRD_OK) {
        fprintf(stderr, "log_emit: %s\n", prd_status_name(st));
        return 1;
    }
    if (prd_logger_set_level(lg, PRD_LOG_DEBUG) != PRD_OK)
        return 1;
    PRD_LOG_DEBUG(lg, "below the sinks");
    PRD_LOG_INFO(lg, "user logged in", PRD_F_STR("user", "alice"),
                 PRD_F_STR("password", "hunter2"), PRD_F_INT("attempt", 2),
                 PRD_F_STR("trace", "line one\nline two"), PRD_F_STR("tag", argv[3]));
    PRD_LOG_ERROR(lg, "disk full", PRD_F_STR("tag", argv[3]),
                  PRD_F_STR("auth", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"));
    size_t big = 300 * 1024;
    char *v = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        v[i] = (char)('a' + i % 26);
    v[big] = '\0';
    if (strcmp(argv[1], "journald") == 0)
        PRD_LOG_WARN(lg, "big line", PRD_F_STR("tag", argv[3]), PRD_F_STR("blob", v));
    free(v);
    uint64_t errors = prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS);
    prd_logger_free(lg);
    return errors ? 1 : 0;
}
