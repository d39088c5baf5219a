/* Log sinks: file descriptors, files (reopened for logrotate), callbacks,
 * syslog and journald sockets; a tee of several, each with a threshold. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/clock.h"
#include "internal/log_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

enum sink_kind { SINK_FD, SINK_FILE, SINK_CALLBACK, SINK_SYSLOG, SINK_JOURNALD };

/* How long a datagram sink waits for room in a full socket queue before
 * the line counts as a write error: a wedged daemon must not stall every
 * request that logs. The async writer thread waits longer: its lines
 * are off the request path, and the queue's own policy (drop or block)
 * then decides. */
#define DGRAM_WAIT_MS 100
#define DGRAM_WAIT_ASYNC_MS 2000
/* Datagram buffers start on the stack; larger lines use the heap. */
#define DGRAM_STACK 4096

struct prd__sink {
    enum sink_kind kind;
    int min_level;
    pthread_mutex_t mu; /* one line at a time on this sink */
    int fd, own_fd;
    int regular;          /* a regular file: a write of many lines stays whole */
    char *path;           /* file, or the socket's path */
    prd_log_sink_fn fn;
    void *ud;
    int facility;
    char app[49];         /* RFC 5424 APP-NAME: at most 48 characters */
    char host[256];
};

static struct prd__sink *sink_new(enum sink_kind kind, prd_log_level min)
{
    struct prd__sink *k = prd__calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->kind = kind;
    k->min_level = (int)min;
    k->fd = -1;
    pthread_mutex_init(&k->mu, NULL);
    return k;
}

static void sink_free(struct prd__sink *k)
{
    if (!k)
        return;
    if (k->own_fd && k->fd >= 0)
        close(k->fd);
    prd__free(k->path);
    pthread_mutex_destroy(&k->mu);
    prd__free(k);
}

static int level_ok(prd_log_level min)
{
    return min >= PRD_LOG_DEBUG && min <= PRD_LOG_OFF;
}

prd_status prd__sink_fd(int fd, prd_log_level min, struct prd__sink **out)
{
    *out = NULL;
    if (fd < 0 || !level_ok(min))
        return PRD_EINVAL;
    struct prd__sink *k = sink_new(SINK_FD, min);
    if (!k)
        return PRD_ENOMEM;
    k->fd = fd;
    struct stat st;
    k->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    *out = k;
    return PRD_OK;
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

static prd_status open_error(int err)
{
    return err == EACCES ? PRD_EPERM : err == ENOENT ? PRD_ENOTFOUND : PRD_EIO;
}

prd_status prd__sink_file(const char *path, prd_log_level min, struct prd__sink **out)
{
    *out = NULL;
    if (!path || !*path || !level_ok(min))
        return PRD_EINVAL;
    struct prd__sink *k = sink_new(SINK_FILE, min);
    if (!k || !(k->path = prd__strdup(path))) {
        sink_free(k);
        return PRD_ENOMEM;
    }
    k->fd = open_log(path);
    if (k->fd < 0) {
        prd_status st = open_error(errno);
        sink_free(k);
        return st;
    }
    k->own_fd = 1;
    k->regular = 1;
    *out = k;
    return PRD_OK;
}

prd_status prd__sink_callback(prd_log_sink_fn fn, void *ud, prd_log_level min,
                              struct prd__sink **out)
{
    *out = NULL;
    if (!fn || !level_ok(min))
        return PRD_EINVAL;
    struct prd__sink *k = sink_new(SINK_CALLBACK, min);
    if (!k)
        return PRD_ENOMEM;
    k->fn = fn;
    k->ud = ud;
    *out = k;
    return PRD_OK;
}

/* ---- datagram sockets (syslog, journald) ---- */

static int dgram_connect(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static prd_status sink_socket(enum sink_kind kind, const char *path, const char *ident,
                              prd_log_level min, struct prd__sink **out)
{
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path || !level_ok(min))
        return PRD_EINVAL;
    struct prd__sink *k = sink_new(kind, min);
    if (!k || !(k->path = prd__strdup(path))) {
        sink_free(k);
        return PRD_ENOMEM;
    }
    extern char *program_invocation_short_name;
    prd__syslog_token(k->app, sizeof k->app,
                      ident && *ident ? ident : program_invocation_short_name);
    char host[sizeof k->host];
    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    prd__syslog_token(k->host, sizeof k->host, host);
    k->fd = dgram_connect(path);
    if (k->fd < 0) {
        prd_status st = errno == ENOENT || errno == ECONNREFUSED ? PRD_ENOTFOUND
                        : errno == EACCES                         ? PRD_EPERM
                                                                  : PRD_EIO;
        sink_free(k);
        return st;
    }
    k->own_fd = 1;
    *out = k;
    return PRD_OK;
}

prd_status prd__sink_syslog(const char *socket_path, const char *app_name, int facility,
                            prd_log_level min, struct prd__sink **out)
{
    *out = NULL;
    /* <syslog.h>'s LOG_USER .. LOG_LOCAL7: facility number times 8. */
    if (facility < (1 << 3) || facility > (23 << 3) || (facility & 7))
        return PRD_EINVAL;
    prd_status st = sink_socket(SINK_SYSLOG, socket_path ? socket_path : "/dev/log", app_name,
                                min, out);
    if (st == PRD_OK)
        (*out)->facility = facility >> 3;
    return st;
}

prd_status prd__sink_journald(const char *socket_path, const char *identifier,
                              prd_log_level min, struct prd__sink **out)
{
    *out = NULL;
    return sink_socket(SINK_JOURNALD, socket_path ? socket_path : "/run/systemd/journal/socket",
                       identifier, min, out);
}

/* A message too large for one datagram goes as a sealed memfd, the way
 * journald's own client sends it. */
static int send_memfd(int sock, const char *p, size_t n)
{
    int fd = memfd_create("prodready-log", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t r = sendmsg(sock, &msg, MSG_NOSIGNAL);
    int e = errno;
    close(fd);
    errno = e;
    return r < 0 ? -1 : 0;
}

/* Send one datagram: a bounded wait when the queue is full, one
 * reconnect when the daemon went away (restarted). 0 or an errno. */
static int dgram_send(struct prd__sink *k, const char *p, size_t n, int wait_ms)
{
    int reconnected = 0, waited = 0;
    for (;;) {
        if (k->fd < 0) {
            k->fd = dgram_connect(k->path);
            if (k->fd < 0)
                return errno;
        }
        ssize_t w = send(k->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w >= 0)
            return 0;
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EMSGSIZE && k->kind == SINK_JOURNALD)
            return send_memfd(k->fd, p, n) == 0 ? 0 : errno;
        if ((e == EAGAIN || e == EWOULDBLOCK) && !waited) {
            struct pollfd pfd = {.fd = k->fd, .events = POLLOUT};
            waited = 1;
            if (poll(&pfd, 1, wait_ms) > 0)
                continue;
            return EAGAIN;
        }
        if ((e == ECONNREFUSED || e == ENOTCONN || e == EPIPE || e == ENOENT ||
             e == EDESTADDRREQ) && !reconnected) {
            close(k->fd);
            k->fd = -1;
            reconnected = 1;
            continue;
        }
        return e;
    }
}

/* ---- the tee ---- */

void prd__sinks_init(struct prd__sinks *s, _Atomic uint64_t *write_errors)
{
    memset(s, 0, sizeof *s);
    pthread_rwlock_init(&s->lock, NULL);
    s->write_errors = write_errors;
}

void prd__sinks_destroy(struct prd__sinks *s)
{
    for (size_t i = 0; i < s->n; i++)
        sink_free(s->v[i]);
    s->n = 0;
    pthread_rwlock_destroy(&s->lock);
}

prd_status prd__sinks_install(struct prd__sinks *s, struct prd__sink *sink, int replace)
{
    struct prd__sink *old[PRD__LOG_MAX_SINKS];
    size_t n_old = 0;
    pthread_rwlock_wrlock(&s->lock);
    if (!replace && s->n == PRD__LOG_MAX_SINKS) {
        pthread_rwlock_unlock(&s->lock);
        sink_free(sink);
        return PRD_ETOOBIG;
    }
    if (replace) {
        memcpy(old, s->v, s->n * sizeof *old);
        n_old = s->n;
        s->n = 0;
    }
    s->v[s->n++] = sink;
    pthread_rwlock_unlock(&s->lock);
    for (size_t i = 0; i < n_old; i++)
        sink_free(old[i]);
    return PRD_OK;
}

/* Write errors are counted; a note goes to stderr at most once a second
 * (never when stderr is itself the failing sink). */
static void write_failed(struct prd__sinks *s, const struct prd__sink *k, int err)
{
    atomic_fetch_add(s->write_errors, 1);
    int64_t now_s = prd_clock_mono_ns(NULL) / 1000000000;
    int64_t last = atomic_load(&s->last_error_report_s);
    if ((k->kind == SINK_FD && k->fd == 2) || now_s == last ||
        !atomic_compare_exchange_strong(&s->last_error_report_s, &last, now_s))
        return;
    char msg[200];
    int n = snprintf(msg, sizeof msg, "prodready log: write failed (%s); %llu write errors so far\n",
                     strerror(err), (unsigned long long)atomic_load(s->write_errors));
    if (n > 0 && write(2, msg, (size_t)n) < 0) {
        /* nowhere left to report to */
    }
}

static void write_all(struct prd__sinks *s, struct prd__sink *k, const char *line, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(k->fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            write_failed(s, k, w < 0 ? errno : EIO);
            return;
        }
        off += (size_t)w;
    }
}

static void write_dgram(struct prd__sinks *s, struct prd__sink *k, prd_log_level level,
                        const char *line, size_t len)
{
    char stack[DGRAM_STACK];
    struct prd__buf b;
    prd__buf_init(&b, stack, sizeof stack);
    if (k->kind == SINK_SYSLOG)
        prd__syslog_format(&b, k->facility, k->host, k->app, level, line, len - 1);
    else
        prd__journald_format(&b, k->app, s->profile_keys, level, line, len - 1);
    int wait = atomic_load_explicit(&s->async_writer, memory_order_relaxed) ? DGRAM_WAIT_ASYNC_MS
                                                                            : DGRAM_WAIT_MS;
    int err = b.failed ? ENOMEM : dgram_send(k, b.p, b.len, wait);
    if (err)
        write_failed(s, k, err);
    prd__buf_free(&b);
}

static void maybe_reopen(struct prd__sinks *s);

void prd__sinks_write(struct prd__sinks *s, prd_log_level level, const char *line, size_t len)
{
    maybe_reopen(s);
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        struct prd__sink *k = s->v[i];
        if ((int)level < k->min_level)
            continue;
        pthread_mutex_lock(&k->mu);
        switch (k->kind) {
        case SINK_CALLBACK:
            k->fn(k->ud, line, len - 1);
            break;
        case SINK_SYSLOG:
        case SINK_JOURNALD:
            write_dgram(s, k, level, line, len);
            break;
        default:
            write_all(s, k, line, len);
            break;
        }
        pthread_mutex_unlock(&k->mu);
    }
    pthread_rwlock_unlock(&s->lock);
}

/*
 * Several lines in one write(2) (the async writer's batches): the system
 * call is most of a line's cost on this kind of machine. A write stays
 * whole only up to a limit: PIPE_BUF on pipes and sockets, where a larger
 * write may interleave with another process's lines (workers sharing a
 * supervisor's stdout: test_log_sinks tears lines with 64 KB batches on
 * a pipe); regular files opened for append take a write whole, so their
 * batches may be larger. A line longer than the limit goes alone, as it
 * would have.
 */
#define BATCH_FILE_MAX (64 * 1024)
#define BATCH_IOV 64

static void writev_all(struct prd__sinks *s, struct prd__sink *k, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(k->fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            write_failed(s, k, w < 0 ? errno : EIO);
            return;
        }
        size_t done = (size_t)w;
        while (n > 0 && done >= iov->iov_len) { /* a short write: go on from there */
            done -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
}

static void write_batch(struct prd__sinks *s, struct prd__sink *k, const struct prd__line *lines,
                        size_t n)
{
    size_t cap = k->regular ? BATCH_FILE_MAX : PIPE_BUF;
    struct iovec iov[BATCH_IOV];
    int m = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if ((int)lines[i].level < k->min_level)
            continue;
        size_t len = lines[i].len;
        if (m > 0 && (m == BATCH_IOV || bytes + len > cap)) {
            writev_all(s, k, iov, m);
            m = 0;
            bytes = 0;
        }
        iov[m].iov_base = (void *)lines[i].p;
        iov[m].iov_len = len;
        m++;
        bytes += len;
    }
    if (m > 0)
        writev_all(s, k, iov, m);
}

void prd__sinks_write_batch(struct prd__sinks *s, const struct prd__line *lines, size_t n)
{
    maybe_reopen(s);
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        struct prd__sink *k = s->v[i];
        pthread_mutex_lock(&k->mu);
        if (k->kind == SINK_FD || k->kind == SINK_FILE) {
            write_batch(s, k, lines, n);
        } else {
            for (size_t j = 0; j < n; j++) {
                if ((int)lines[j].level < k->min_level)
                    continue;
                if (k->kind == SINK_CALLBACK)
                    k->fn(k->ud, lines[j].p, lines[j].len - 1);
                else
                    write_dgram(s, k, lines[j].level, lines[j].p, lines[j].len);
            }
        }
        pthread_mutex_unlock(&k->mu);
    }
    pthread_rwlock_unlock(&s->lock);
}

prd_status prd__sinks_reopen(struct prd__sinks *s)
{
    prd_status st = PRD_EINVAL;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        struct prd__sink *k = s->v[i];
        if (k->kind != SINK_FILE)
            continue;
        if (st == PRD_EINVAL)
            st = PRD_OK;
        int fd = open_log(k->path);
        if (fd < 0) {
            st = PRD_EIO; /* keep writing to the old file rather than losing lines */
            continue;
        }
        pthread_mutex_lock(&k->mu); /* no line is half-way through the old file */
        int old = k->fd;
        k->fd = fd;
        pthread_mutex_unlock(&k->mu);
        close(old);
    }
    pthread_rwlock_unlock(&s->lock);
    return st;
}

/*
 * Reopen on SIGHUP, for logrotate: the handler only bumps a counter
 * (async-signal-safe); each logger that asked compares it with the one it
 * saw at its next line and reopens its files then, outside the handler. A
 * handler the process had before is still called.
 */
static _Atomic unsigned long sighup_count;
static struct sigaction previous_hup;
static pthread_once_t hup_once = PTHREAD_ONCE_INIT;
static int hup_installed;

static void on_sighup(int sig, siginfo_t *info, void *uctx)
{
    atomic_fetch_add_explicit(&sighup_count, 1, memory_order_relaxed);
    if (previous_hup.sa_flags & SA_SIGINFO) {
        if (previous_hup.sa_sigaction)
            previous_hup.sa_sigaction(sig, info, uctx);
    } else if (previous_hup.sa_handler != SIG_DFL && previous_hup.sa_handler != SIG_IGN) {
        previous_hup.sa_handler(sig);
    }
}

static void install_hup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sighup;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    hup_installed = sigaction(SIGHUP, &sa, &previous_hup) == 0;
}

static int has_file(struct prd__sinks *s)
{
    int found = 0;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n; i++)
        found |= s->v[i]->kind == SINK_FILE;
    pthread_rwlock_unlock(&s->lock);
    return found;
}

prd_status prd__sinks_reopen_on_sighup(struct prd__sinks *s)
{
    if (!has_file(s))
        return PRD_EINVAL;
    pthread_once(&hup_once, install_hup);
    if (!hup_installed)
        return PRD_EINTERNAL;
    atomic_store(&s->hup_seen, atomic_load(&sighup_count));
    atomic_store(&s->reopen_on_hup, 1);
    return PRD_OK;
}

/* Called before each line: a SIGHUP since the last one reopens the files. */
static void maybe_reopen(struct prd__sinks *s)
{
    if (!atomic_load_explicit(&s->reopen_on_hup, memory_order_relaxed))
        return;
    unsigned long now = atomic_load_explicit(&sighup_count, memory_order_relaxed);
    unsigned long seen = atomic_load_explicit(&s->hup_seen, memory_order_relaxed);
    if (now != seen && atomic_compare_exchange_strong(&s->hup_seen, &seen, now))
        (void)prd__sinks_reopen(s); /* on failure lines go on to the old files */
}
