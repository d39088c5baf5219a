/* log sinks through the public API: a tee with a threshold per sink, RFC
 * 5424 syslog and journald's native protocol on sockets the test owns
 * (parsed strictly here; tests/scripts/test_log_daemons.py sends to the
 * real rsyslogd and systemd-journald), restarts, full queues, threads. */
#include "support/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "prodready/log.h"

/* ---- a datagram "daemon" the test owns ---- */

struct daemon {
    char dir[64];
    char path[108];
    int fd;
};

static void daemon_bind(struct daemon *d)
{
    d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(d->fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", d->path);
    assert_int_equal(bind(d->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int big = 4 << 20;
    (void)setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
}

static void daemon_start(struct daemon *d)
{
    snprintf(d->dir, sizeof d->dir, "/tmp/prd-sink-XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    snprintf(d->path, sizeof d->path, "%s/sock", d->dir);
    daemon_bind(d);
}

static void daemon_stop(struct daemon *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    unlink(d->path);
}

static void daemon_free(struct daemon *d)
{
    daemon_stop(d);
    rmdir(d->dir);
}

/* One datagram (or the memfd it carries), NUL-terminated; NULL after
 * timeout_ms with nothing. */
static char *daemon_recv(struct daemon *d, size_t *len, int timeout_ms)
{
    struct pollfd p = {.fd = d->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return NULL;
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {buf, cap};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.b;
    msg.msg_controllen = sizeof ctl.b;
    ssize_t n = recvmsg(d->fd, &msg, MSG_CMSG_CLOEXEC);
    assert_true(n >= 0);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_type == SCM_RIGHTS) { /* journald's large-message form */
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        free(buf);
        buf = malloc((size_t)st.st_size + 1);
        assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
        n = st.st_size;
        close(fd);
    }
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* ---- RFC 5424, strictly ---- */

struct rfc5424 {
    int pri;
    char ts[64], host[256], app[64], procid[32], msgid[40], sd[8];
    const char *msg;
};

static int token(const char **p, char *out, size_t cap)
{
    size_t n = 0;
    while (**p && **p != ' ') {
        unsigned char c = (unsigned char)**p;
        if (c < 33 || c > 126 || n + 1 >= cap)
            return 0;
        out[n++] = (char)c;
        (*p)++;
    }
    out[n] = '\0';
    if (**p != ' ' || n == 0)
        return 0;
    (*p)++;
    return 1;
}

static int parse_rfc5424(const char *s, struct rfc5424 *m)
{
    if (*s++ != '<')
        return 0;
    m->pri = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 3) {
        m->pri = m->pri * 10 + (*s++ - '0');
        digits++;
    }
    if (!digits || *s++ != '>' || *s++ != '1' || *s++ != ' ' || m->pri > 191)
        return 0;
    return token(&s, m->ts, sizeof m->ts) && token(&s, m->host, sizeof m->host) &&
           token(&s, m->app, 49) && token(&s, m->procid, sizeof m->procid) &&
           token(&s, m->msgid, 33) && token(&s, m->sd, sizeof m->sd) && (m->msg = s);
}

/* ---- journald's native protocol, strictly ---- */

struct jfield {
    char name[80];
    char *value;
    size_t len;
};

static size_t parse_journal(const char *p, size_t n, struct jfield *f, size_t max)
{
    size_t nf = 0, i = 0;
    while (i < n) {
        assert_true(nf < max);
        size_t k = i;
        while (k < n && p[k] != '=' && p[k] != '\n')
            k++;
        assert_true(k < n && k > i && k - i < sizeof f[nf].name);
        memcpy(f[nf].name, p + i, k - i);
        f[nf].name[k - i] = '\0';
        for (size_t c = 0; f[nf].name[c]; c++) {
            char ch = f[nf].name[c];
            assert_true((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_');
        }
        assert_false(f[nf].name[0] == '_' || (f[nf].name[0] >= '0' && f[nf].name[0] <= '9'));
        if (p[k] == '=') {
            size_t e = k + 1;
            while (e < n && p[e] != '\n')
                e++;
            assert_true(e < n);
            f[nf].len = e - k - 1;
            f[nf].value = malloc(f[nf].len + 1);
            memcpy(f[nf].value, p + k + 1, f[nf].len);
            f[nf].value[f[nf].len] = '\0';
            i = e + 1;
        } else {
            assert_true(k + 9 <= n);
            uint64_t len = 0;
            for (int b = 7; b >= 0; b--)
                len = len << 8 | (unsigned char)p[k + 1 + (size_t)b];
            assert_true(k + 9 + len + 1 <= n && p[k + 9 + len] == '\n');
            f[nf].len = (size_t)len;
            f[nf].value = malloc((size_t)len + 1);
            memcpy(f[nf].value, p + k + 9, (size_t)len);
            f[nf].value[len] = '\0';
            i = k + 9 + (size_t)len + 1;
        }
        nf++;
    }
    return nf;
}

static const struct jfield *jget(const struct jfield *f, size_t n, const char *name)
{
    const struct jfield *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].name, name) == 0) {
            assert_null(found); /* every name once */
            found = &f[i];
        }
    }
    return found;
}

static void jfree(struct jfield *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].value);
}

/* ---- a callback sink that counts ---- */

struct counted {
    pthread_mutex_t mu;
    size_t n;
    char last[512];
};

static void count_line(void *ud, const char *line, size_t len)
{
    struct counted *c = ud;
    pthread_mutex_lock(&c->mu);
    c->n++;
    snprintf(c->last, sizeof c->last, "%.*s", (int)len, line);
    pthread_mutex_unlock(&c->mu);
}

static void test_tee_with_a_threshold_each(void **state)
{
    (void)state;
    struct counted all = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
    struct counted errors = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_callback(lg, count_line, &all));
    assert_ok(prd_logger_add_callback(lg, count_line, &errors, PRD_LOG_ERROR));
    assert_ok(prd_logger_add_fd(lg, pfd[1], PRD_LOG_WARN));
    assert_ok(prd_logger_set_level(lg, PRD_LOG_DEBUG));
    PRD_LOG_DEBUG(lg, "d");
    PRD_LOG_INFO(lg, "i");
    PRD_LOG_WARN(lg, "w", PRD_F_STR("password", "hunter2"));
    PRD_LOG_ERROR(lg, "e");
    assert_int_equal(all.n, 4);
    assert_int_equal(errors.n, 1);
    assert_non_null(strstr(errors.last, "\"msg\":\"e\""));
    char buf[4096];
    ssize_t n = read(pfd[0], buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "\"msg\":\"w\""));
    assert_non_null(strstr(buf, "\"msg\":\"e\""));
    assert_null(strstr(buf, "\"msg\":\"i\""));
    assert_null(strstr(buf, "hunter2")); /* redaction comes before every sink */

    /* set_ replaces every sink by one: the pipe gets nothing more */
    assert_ok(prd_logger_set_callback(lg, count_line, &errors));
    PRD_LOG_ERROR(lg, "only the callback");
    assert_int_equal(errors.n, 2);
    assert_int_equal(all.n, 4);
    assert_int_equal(prd_logger_add_fd(lg, -1, PRD_LOG_INFO), PRD_EINVAL);
    assert_int_equal(prd_logger_add_fd(lg, pfd[1], (prd_log_level)9), PRD_EINVAL);
    assert_int_equal(prd_logger_add_callback(lg, NULL, NULL, PRD_LOG_INFO), PRD_EINVAL);
    assert_int_equal(prd_logger_add_file(lg, "/nonexistent-dir/x.log", PRD_LOG_INFO),
                     PRD_ENOTFOUND);
    /* the tee is bounded */
    for (int i = 1; i < PRD_LOG_MAX_SINKS; i++)
        assert_ok(prd_logger_add_fd(lg, pfd[1], PRD_LOG_OFF));
    assert_int_equal(prd_logger_add_fd(lg, pfd[1], PRD_LOG_ERROR), PRD_ETOOBIG);
    PRD_LOG_ERROR(lg, "sinks at off take nothing");
    assert_int_equal(errors.n, 3);
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0);
    prd_logger_free(lg);
    close(pfd[0]);
    close(pfd[1]);
}

static void test_syslog_rfc5424(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d);
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    assert_int_equal(prd_logger_add_syslog(lg, d.path, "app", LOG_KERN, PRD_LOG_INFO), PRD_EINVAL);
    assert_int_equal(prd_logger_add_syslog(lg, d.path, "app", 9, PRD_LOG_INFO), PRD_EINVAL);
    assert_int_equal(prd_logger_add_syslog(lg, "/nonexistent/sock", "app", LOG_USER,
                                           PRD_LOG_INFO),
                     PRD_ENOTFOUND);
    assert_ok(prd_logger_set_fd(lg, open("/dev/null", O_WRONLY | O_CLOEXEC)));
    assert_ok(prd_logger_add_syslog(lg, d.path, "my app\n", LOG_LOCAL3, PRD_LOG_INFO));
    assert_ok(prd_logger_set_level(lg, PRD_LOG_DEBUG));
    PRD_LOG_DEBUG(lg, "not for syslog");
    PRD_LOG_WARN(lg, "disk low", PRD_F_INT("free_mb", 12), PRD_F_STR("token", "secret-x"));
    PRD_LOG_ERROR(lg, "failed");
    size_t len;
    char *m1 = daemon_recv(&d, &len, 2000);
    char *m2 = daemon_recv(&d, &len, 2000);
    assert_non_null(m1);
    assert_non_null(m2);
    assert_null(daemon_recv(&d, &len, 50)); /* debug stayed below the sink */
    struct rfc5424 a, b;
    assert_true(parse_rfc5424(m1, &a));
    assert_true(parse_rfc5424(m2, &b));
    assert_int_equal(a.pri, 19 * 8 + 4); /* local3.warning */
    assert_int_equal(b.pri, 19 * 8 + 3); /* local3.err */
    assert_string_equal(a.app, "my_app_");
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    assert_string_equal(a.procid, pid);
    assert_string_equal(a.msgid, "-");
    assert_string_equal(a.sd, "-");
    json_error_t err;
    json_t *j = json_loads(a.msg, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "disk low");
    assert_string_equal(json_string_value(json_object_get(j, "time")), a.ts);
    assert_string_equal(json_string_value(json_object_get(j, "token")), "[REDACTED]");
    json_decref(j);
    free(m1);
    free(m2);

    /* The daemon restarts: the next line reconnects. */
    daemon_stop(&d);
    PRD_LOG_ERROR(lg, "while down"); /* nobody listens: a write error */
    assert_true(prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS) >= 1);
    daemon_bind(&d);
    PRD_LOG_ERROR(lg, "after restart");
    char *m3 = daemon_recv(&d, &len, 2000);
    assert_non_null(m3);
    assert_non_null(strstr(m3, "after restart"));
    free(m3);
    prd_logger_free(lg);
    daemon_free(&d);
}

static void test_journald_native(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d);
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_fd(lg, open("/dev/null", O_WRONLY | O_CLOEXEC)));
    assert_ok(prd_logger_add_journald(lg, d.path, "prd-test", PRD_LOG_DEBUG));
    assert_ok(prd_logger_set_level(lg, PRD_LOG_DEBUG));
    json_t *nested = json_pack("{s:i,s:[i,i]}", "a", 1, "b", 2, 3);
    PRD_LOG_INFO(lg, "user \"logged\" in", PRD_F_STR("user", "alice"),
                 PRD_F_STR("message", "second message?"), PRD_F_STR("trace", "line1\nline2"),
                 PRD_F_INT("9lives", 9), PRD_F_STR("_trusted", "x"), PRD_F_STR("a-b.c", "y"),
                 PRD_F_JSON("ctx", nested), PRD_F_STR("password", "hunter2"),
                 PRD_F_STRN("nul", "a\0b", 3));
    json_decref(nested);
    size_t len;
    char *m = daemon_recv(&d, &len, 2000);
    assert_non_null(m);
    struct jfield f[32];
    size_t n = parse_journal(m, len, f, 32);
    assert_string_equal(jget(f, n, "MESSAGE")->value, "user \"logged\" in");
    assert_string_equal(jget(f, n, "PRIORITY")->value, "6");
    assert_string_equal(jget(f, n, "SYSLOG_IDENTIFIER")->value, "prd-test");
    assert_string_equal(jget(f, n, "USER")->value, "alice");
    assert_string_equal(jget(f, n, "FIELDS_MESSAGE")->value, "second message?");
    assert_string_equal(jget(f, n, "TRACE")->value, "line1\nline2");
    assert_string_equal(jget(f, n, "F_9LIVES")->value, "9");
    assert_string_equal(jget(f, n, "TRUSTED")->value, "x");
    assert_string_equal(jget(f, n, "A_B_C")->value, "y");
    assert_string_equal(jget(f, n, "CTX")->value, "{\"a\":1,\"b\":[2,3]}");
    assert_string_equal(jget(f, n, "PASSWORD")->value, "[REDACTED]");
    assert_int_equal(jget(f, n, "NUL")->len, 3);
    assert_memory_equal(jget(f, n, "NUL")->value, "a\0b", 3);
    assert_null(jget(f, n, "TIME")); /* journald stamps its own */
    assert_null(jget(f, n, "LEVEL"));
    jfree(f, n);
    free(m);

    /* 400 KB: more than one datagram may carry, sent as a sealed memfd. */
    size_t big = 400 * 1024;
    char *v = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        v[i] = (char)('a' + i % 26);
    v[big] = '\0';
    PRD_LOG_ERROR(lg, "big", PRD_F_STR("blob", v));
    m = daemon_recv(&d, &len, 2000);
    assert_non_null(m);
    n = parse_journal(m, len, f, 32);
    assert_string_equal(jget(f, n, "PRIORITY")->value, "3");
    assert_int_equal(jget(f, n, "BLOB")->len, big);
    assert_memory_equal(jget(f, n, "BLOB")->value, v, big);
    jfree(f, n);
    free(m);
    free(v);
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS), 0);

    /* ECS names: message is still MESSAGE, log.level and @timestamp gone. */
    assert_ok(prd_logger_set_profile(lg, PRD_LOG_PROFILE_ECS));
    PRD_LOG_WARN(lg, "ecs line");
    m = daemon_recv(&d, &len, 2000);
    n = parse_journal(m, len, f, 32);
    assert_string_equal(jget(f, n, "MESSAGE")->value, "ecs line");
    assert_null(jget(f, n, "LOG_LEVEL"));
    assert_null(jget(f, n, "TIMESTAMP"));
    jfree(f, n);
    free(m);
    prd_logger_free(lg);
    daemon_free(&d);
}

/* A daemon that stops reading: the caller waits a bounded time per line,
 * and lines that found no room are counted, not lost silently. */
static void test_stalled_daemon_is_bounded(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d);
    int small = 4096;
    (void)setsockopt(d.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_fd(lg, open("/dev/null", O_WRONLY | O_CLOEXEC)));
    assert_ok(prd_logger_add_syslog(lg, d.path, "stall", LOG_USER, PRD_LOG_INFO));
    int sent = 0;
    for (; sent < 2000 && prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS) < 3; sent++)
        PRD_LOG_INFO(lg, "filling", PRD_F_INT("i", sent));
    assert_true(prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS) >= 3);
    /* the daemon catches up: lines flow again */
    size_t len;
    char *m;
    while ((m = daemon_recv(&d, &len, 10)) != NULL)
        free(m);
    uint64_t errs = prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS);
    PRD_LOG_INFO(lg, "flowing");
    m = daemon_recv(&d, &len, 2000);
    assert_non_null(m);
    assert_non_null(strstr(m, "flowing"));
    free(m);
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS), errs);
    prd_logger_free(lg);
    daemon_free(&d);
}

struct thread_arg {
    prd_logger *lg;
    int id;
};

#define THREADS 8
#define PER_THREAD 300

static void *emit(void *p)
{
    struct thread_arg *a = p;
    char value[5000];
    memset(value, 'a' + a->id, sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (int i = 0; i < PER_THREAD; i++)
        PRD_LOG_INFO(a->lg, "t", PRD_F_INT("thread", a->id), PRD_F_INT("i", i),
                     PRD_F_STR("v", value));
    return NULL;
}

/* Threads through a tee of a pipe, journald and a callback, async: every
 * sink gets every line whole, in each thread's order. */
static void *drain_pipe(void *p)
{
    int fd = *(int *)p;
    size_t cap = (size_t)THREADS * PER_THREAD * 5200, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while ((n = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)n;
    size_t lines = 0;
    for (char *s = buf, *e; s < buf + len; s = e + 1) {
        e = memchr(s, '\n', (size_t)(buf + len - s));
        assert_non_null(e);
        json_error_t err;
        json_t *j = json_loadb(s, (size_t)(e - s), 0, &err);
        assert_non_null(j);
        json_decref(j);
        lines++;
    }
    free(buf);
    return (void *)lines;
}

static void test_threads_whole_lines_on_every_sink(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, drain_pipe, &pfd[0]), 0);
    struct counted cb = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_fd(lg, pfd[1]));
    assert_ok(prd_logger_add_journald(lg, d.path, "threads", PRD_LOG_DEBUG));
    assert_ok(prd_logger_add_callback(lg, count_line, &cb, PRD_LOG_DEBUG));
    assert_ok(prd_logger_set_async_limits(lg, 100000, 64 << 20, 1));
    pthread_t t[THREADS];
    struct thread_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct thread_arg){lg, i};
        assert_int_equal(pthread_create(&t[i], NULL, emit, &args[i]), 0);
    }
    int next[THREADS] = {0};
    size_t got = 0, len;
    char *m;
    while (got < (size_t)THREADS * PER_THREAD && (m = daemon_recv(&d, &len, 5000)) != NULL) {
        struct jfield f[16];
        size_t n = parse_journal(m, len, f, 16);
        int th = atoi(jget(f, n, "THREAD")->value);
        assert_int_equal(atoi(jget(f, n, "I")->value), next[th]);
        next[th]++;
        assert_int_equal(jget(f, n, "V")->len, 4999);
        jfree(f, n);
        free(m);
        got++;
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    prd_logger_free(lg); /* flushes */
    close(pfd[1]);
    void *lines;
    pthread_join(reader, &lines);
    close(pfd[0]);
    assert_int_equal(got, (size_t)THREADS * PER_THREAD);
    assert_int_equal((size_t)lines, (size_t)THREADS * PER_THREAD);
    assert_int_equal(cb.n, (size_t)THREADS * PER_THREAD);
    daemon_free(&d);
}

/* The async writer puts many lines in one write(2). Several processes
 * sharing one pipe (workers on a supervisor's stdout) or one file must
 * still never see their lines torn: a pipe keeps a write whole only up
 * to PIPE_BUF, so batches stay within it there; a file opened for append
 * keeps any write whole. Four children log 3,000 lines of 200..1,300
 * bytes each through async loggers at once; every line read back must
 * parse, and each child's lines come in its order. */
#define PROCS 4
#define PER_PROC 3000

static void child_logs(int fd, const char *path, int id)
{
    prd_logger *lg = NULL;
    if (prd_logger_new(&lg) != PRD_OK)
        _exit(1);
    if ((path ? prd_logger_set_file(lg, path) : prd_logger_set_fd(lg, fd)) != PRD_OK ||
        prd_logger_set_async_limits(lg, 100000, 64 << 20, 1) != PRD_OK)
        _exit(1);
    char value[1400];
    for (int i = 0; i < PER_PROC; i++) {
        size_t n = 200 + (size_t)(i * 37 % 1100);
        memset(value, 'a' + id, n);
        value[n] = '\0';
        PRD_LOG_INFO(lg, "w", PRD_F_INT("proc", id), PRD_F_INT("i", i), PRD_F_STR("v", value));
    }
    prd_logger_free(lg); /* drains the queue */
    _exit(0);
}

static void check_lines(const char *buf, size_t len)
{
    int next[PROCS] = {0};
    size_t lines = 0;
    for (const char *s = buf, *e; s < buf + len; s = e + 1) {
        e = memchr(s, '\n', (size_t)(buf + len - s));
        assert_non_null(e);
        json_error_t err;
        json_t *j = json_loadb(s, (size_t)(e - s), 0, &err);
        if (!j)
            fail_msg("line %zu torn: %.60s", lines, s);
        int p = (int)json_integer_value(json_object_get(j, "proc"));
        assert_true(p >= 0 && p < PROCS);
        assert_int_equal(json_integer_value(json_object_get(j, "i")), next[p]);
        next[p]++;
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, (size_t)PROCS * PER_PROC);
}

static void test_processes_share_a_pipe_and_a_file(void **state)
{
    (void)state;
    /* a pipe */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t kids[PROCS];
    for (int i = 0; i < PROCS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            close(pfd[0]);
            child_logs(pfd[1], NULL, i);
        }
    }
    close(pfd[1]);
    size_t cap = (size_t)PROCS * PER_PROC * 1500, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t n;
    while ((n = read(pfd[0], buf + len, cap - len)) > 0)
        len += (size_t)n;
    close(pfd[0]);
    for (int i = 0; i < PROCS; i++) {
        int st = 0;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    check_lines(buf, len);
    /* a file */
    char path[] = "/tmp/prd_sinks_XXXXXX";
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    for (int i = 0; i < PROCS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0)
            child_logs(-1, path, i);
    }
    for (int i = 0; i < PROCS; i++) {
        int st = 0;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    len = fread(buf, 1, cap, f);
    fclose(f);
    unlink(path);
    check_lines(buf, len);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tee_with_a_threshold_each),
        cmocka_unit_test(test_syslog_rfc5424),
        cmocka_unit_test(test_journald_native),
        cmocka_unit_test(test_stalled_daemon_is_bounded),
        cmocka_unit_test(test_threads_whole_lines_on_every_sink),
        cmocka_unit_test(test_processes_share_a_pipe_and_a_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
