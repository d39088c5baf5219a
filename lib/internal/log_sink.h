/* The log module's sinks (lib/log/sink.c, lib/log/syslog.c,
 * lib/log/journald.c): where finished lines go, and how. */
#ifndef PRD_INTERNAL_LOG_SINK_H
#define PRD_INTERNAL_LOG_SINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/log.h"

#define PRD__LOG_MAX_SINKS PRD_LOG_MAX_SINKS

struct prd__sink;

/* A logger's sinks: one line goes to each whose threshold it meets. The
 * array changes under the write lock; lines are written under the read
 * lock and each sink's own mutex, so one sink never interleaves lines. */
struct prd__sinks {
    pthread_rwlock_t lock;
    struct prd__sink *v[PRD__LOG_MAX_SINKS];
    size_t n;
    _Atomic int async_writer; /* lines come from the async writer thread */
    _Atomic int reopen_on_hup;
    _Atomic unsigned long hup_seen;
    _Atomic uint64_t *write_errors; /* the logger's counter */
    _Atomic int64_t last_error_report_s;
    const char *const *profile_keys; /* time, level and message names */
};

void prd__sinks_init(struct prd__sinks *s, _Atomic uint64_t *write_errors);
void prd__sinks_destroy(struct prd__sinks *s);
/* Install a sink: replace 1 drops the ones there first. The sinks own it
 * from then on, also on failure (PRD_ETOOBIG: PRD__LOG_MAX_SINKS already). */
prd_status prd__sinks_install(struct prd__sinks *s, struct prd__sink *sink, int replace);
/* One finished line (with its newline) at a level, to every sink whose
 * threshold it meets. */
void prd__sinks_write(struct prd__sinks *s, prd_log_level level, const char *line, size_t len);
/* Several finished lines at once, in order (the async writer): fd and
 * file sinks take as many whole lines a write(2) as stay whole on them. */
struct prd__line {
    const char *p;
    size_t len; /* with the newline */
    prd_log_level level;
};
void prd__sinks_write_batch(struct prd__sinks *s, const struct prd__line *lines, size_t n);
/* Reopen every file sink (PRD_EINVAL: there is none; PRD_EIO: one failed
 * to open, and keeps its old file). */
prd_status prd__sinks_reopen(struct prd__sinks *s);
prd_status prd__sinks_reopen_on_sighup(struct prd__sinks *s);

/* Sink constructors; *out is freed by the sinks once installed. */
prd_status prd__sink_fd(int fd, prd_log_level min, struct prd__sink **out);
prd_status prd__sink_file(const char *path, prd_log_level min, struct prd__sink **out);
prd_status prd__sink_callback(prd_log_sink_fn fn, void *ud, prd_log_level min,
                              struct prd__sink **out);
prd_status prd__sink_syslog(const char *socket_path, const char *app_name, int facility,
                            prd_log_level min, struct prd__sink **out);
prd_status prd__sink_journald(const char *socket_path, const char *identifier,
                              prd_log_level min, struct prd__sink **out);

/* Formats. line is one JSON line as the logger writes it (len without
 * the newline). */
/* RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - line */
void prd__syslog_format(struct prd__buf *b, int facility, const char *hostname,
                        const char *app_name, prd_log_level level, const char *line, size_t len);
/* journald's native protocol: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and
 * one field per top-level member of the line. */
void prd__journald_format(struct prd__buf *b, const char *identifier,
                          const char *const *profile_keys, prd_log_level level, const char *line,
                          size_t len);
/* Syslog severity of a level (RFC 5424 table 2). */
int prd__syslog_severity(prd_log_level level);
/* An identifier safe in a syslog header or journald field value:
 * printable ASCII without spaces, at most cap-1 bytes, "-" when empty. */
void prd__syslog_token(char *out, size_t cap, const char *in);

#endif
