/* prd_logger: levels, line encoding, sinks, async queue, sampling, counters. */
#include "internal/common.h"
#include "internal/clock.h"
#include "internal/alloc.h"
#include "internal/log.h"
#include "internal/log_sink.h"
#include "internal/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define N_COUNTERS 9
#define SAMPLE_SLOTS 1024
#define LINE_STACK 2048

struct sample_slot {
    _Atomic int64_t second;
    _Atomic uint64_t count;
};

/* The async queue: one preallocated ring of bytes holding whole lines
 * ([length][bytes], never split: a line that does not fit before the end
 * starts again at the beginning, and the writer skips the unused end),
 * bounded in lines and in bytes. Queuing a line is a copy under the lock;
 * the writer writes straight from the ring and frees the space after.
 * Nothing is allocated per line. */
struct async_queue {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    char *ring;
    size_t size;        /* bytes in the ring */
    size_t head, tail;  /* byte offsets: oldest line, next free byte */
    int wrapped;        /* lines at [head, wrap_at) and [0, tail) */
    size_t wrap_at;
    size_t count, max_lines;
    int block, stop, running;
    int writer_deep; /* the writer sleeps until signalled (else it naps, timed) */
    uint64_t dropped_unreported;
};

/* A writer that found lines in its last round naps this long instead of
 * sleeping until signalled, so producers need not wake it line by line
 * (a futex wake per line made async slower than writing in place). A
 * line waits at most this long; errors and a filling queue wake it at
 * once; an idle writer sleeps deep and costs nothing. */
#define WRITER_NAP_NS 1000000

/* Shared by a root logger and its children. */
struct core {
    atomic_int refs;
    _Atomic int level; /* the root's threshold, changeable at any time */
    prd_log_profile profile;
    struct prd__redact redact;
    struct prd__sinks sinks;
    const prd_clock *clock;
    uint32_t sample_first, sample_thereafter;
    struct sample_slot *samples;
    _Atomic uint64_t counters[N_COUNTERS];
    struct async_queue *async;
};

struct prd_logger {
    struct core *core;
    int own_level;      /* a child logger (its level may differ from the root's) */
    _Atomic int level;  /* a child's threshold; -1: the root's */
    char *bound; /* pre-encoded ",\"k\":v" pairs */
    size_t bound_len;
    char **bound_keys;
    size_t n_bound_keys;
};

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

static const char *const profile_keys[][3] = {
    {"time", "level", "msg"},
    {"@timestamp", "log.level", "message"},
    {"timestamp", "severity_text", "body"},
};

/* ------------------------------------------------------------------ */
/* Creation and settings                                               */
/* ------------------------------------------------------------------ */

prd_status prd_logger_new(prd_logger **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    prd_logger *lg = prd__calloc(1, sizeof *lg);
    struct core *c = prd__calloc(1, sizeof *c);
    if (!lg || !c) {
        prd__free(lg);
        prd__free(c);
        return PRD_ENOMEM;
    }
    atomic_init(&c->refs, 1);
    c->level = PRD_LOG_INFO;
    prd__redact_defaults(&c->redact);
    prd__sinks_init(&c->sinks, &c->counters[PRD_LOG_COUNT_WRITE_ERRORS]);
    c->sinks.profile_keys = profile_keys[0];
    struct prd__sink *err = NULL;
    if (prd__sink_fd(2, PRD_LOG_DEBUG, &err) != PRD_OK ||
        prd__sinks_install(&c->sinks, err, 0) != PRD_OK) {
        prd__sinks_destroy(&c->sinks);
        prd__free(lg);
        prd__free(c);
        return PRD_ENOMEM;
    }
    lg->core = c;
    *out = lg;
    return PRD_OK;
}

static void async_stop(struct core *c);

static void core_release(struct core *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    async_stop(c);
    prd__sinks_destroy(&c->sinks);
    prd__free(c->samples);
    prd__redact_release(&c->redact);
    prd__free(c);
}

void prd_logger_free(prd_logger *lg)
{
    if (!lg)
        return;
    for (size_t i = 0; i < lg->n_bound_keys; i++)
        prd__free(lg->bound_keys[i]);
    prd__free(lg->bound_keys);
    prd__free(lg->bound);
    core_release(lg->core);
    prd__free(lg);
}

prd_status prd_logger_set_level(prd_logger *lg, prd_log_level level)
{
    if (!lg || level < PRD_LOG_DEBUG || level > PRD_LOG_OFF)
        return PRD_EINVAL;
    if (lg->own_level) { /* a child: its own threshold from now on */
        atomic_store_explicit(&lg->level, (int)level, memory_order_relaxed);
        return PRD_OK;
    }
    atomic_store_explicit(&lg->core->level, (int)level, memory_order_relaxed);
    return PRD_OK;
}

prd_log_profile prd__logger_profile(const prd_logger *lg)
{
    return lg->core->profile;
}

int prd_logger_enabled(const prd_logger *lg, prd_log_level level)
{
    if (!lg || level > PRD_LOG_FATAL)
        return 0;
    int t = lg->own_level ? atomic_load_explicit(&lg->level, memory_order_relaxed) : -1;
    if (t < 0)
        t = atomic_load_explicit(&lg->core->level, memory_order_relaxed);
    return (int)level >= t;
}

/* ---- sinks (lib/log/sink.c) ---- */

/* k is read after made is computed: the constructor fills it. */
static prd_status install(prd_logger *lg, prd_status made, struct prd__sink *const *k, int replace)
{
    return made != PRD_OK ? made : prd__sinks_install(&lg->core->sinks, *k, replace);
}

prd_status prd_logger_set_fd(prd_logger *lg, int fd)
{
    struct prd__sink *k = NULL;
    return lg ? install(lg, prd__sink_fd(fd, PRD_LOG_DEBUG, &k), &k, 1) : PRD_EINVAL;
}

prd_status prd_logger_set_file(prd_logger *lg, const char *path)
{
    struct prd__sink *k = NULL;
    return lg ? install(lg, prd__sink_file(path, PRD_LOG_DEBUG, &k), &k, 1) : PRD_EINVAL;
}

prd_status prd_logger_set_callback(prd_logger *lg, prd_log_sink_fn fn, void *userdata)
{
    struct prd__sink *k = NULL;
    return lg ? install(lg, prd__sink_callback(fn, userdata, PRD_LOG_DEBUG, &k), &k, 1)
              : PRD_EINVAL;
}

prd_status prd_logger_add_fd(prd_logger *lg, int fd, prd_log_level min_level)
{
    struct prd__sink *k = NULL;
    return lg ? install(lg, prd__sink_fd(fd, min_level, &k), &k, 0) : PRD_EINVAL;
}

prd_status prd_logger_add_file(prd_logger *lg, const char *path, prd_log_level min_level)
{
    struct prd__sink *k = NULL;
    return lg ? install(lg, prd__sink_file(path, min_level, &k), &k, 0) : PRD_EINVAL;
}

prd_status prd_logger_add_callback(prd_logger *lg, prd_log_sink_fn fn, void *userdata,
                                   prd_log_level min_level)
{
    struct prd__sink *k = NULL;
    return lg ? install(lg, prd__sink_callback(fn, userdata, min_level, &k), &k, 0) : PRD_EINVAL;
}

prd_status prd_logger_add_syslog(prd_logger *lg, const char *socket_path, const char *app_name,
                                 int facility, prd_log_level min_level)
{
    struct prd__sink *k = NULL;
    return lg ? install(lg, prd__sink_syslog(socket_path, app_name, facility, min_level, &k), &k, 0)
              : PRD_EINVAL;
}

prd_status prd_logger_add_journald(prd_logger *lg, const char *socket_path,
                                   const char *identifier, prd_log_level min_level)
{
    struct prd__sink *k = NULL;
    return lg ? install(lg, prd__sink_journald(socket_path, identifier, min_level, &k), &k, 0)
              : PRD_EINVAL;
}

prd_status prd_logger_reopen(prd_logger *lg)
{
    return lg ? prd__sinks_reopen(&lg->core->sinks) : PRD_EINVAL;
}

prd_status prd_logger_reopen_on_sighup(prd_logger *lg)
{
    return lg ? prd__sinks_reopen_on_sighup(&lg->core->sinks) : PRD_EINVAL;
}

prd_status prd_logger_set_profile(prd_logger *lg, prd_log_profile profile)
{
    if (!lg || profile < PRD_LOG_PROFILE_DEFAULT || profile > PRD_LOG_PROFILE_OTEL)
        return PRD_EINVAL;
    lg->core->profile = profile;
    lg->core->sinks.profile_keys = profile_keys[profile];
    return PRD_OK;
}

prd_status prd_logger_redact_key(prd_logger *lg, const char *key_or_path)
{
    return lg ? prd__redact_add(&lg->core->redact, key_or_path) : PRD_EINVAL;
}

prd_status prd_logger_redact_pattern(prd_logger *lg, const char *name, const char *pattern)
{
    return lg ? prd__redact_add_pattern(&lg->core->redact, name, pattern) : PRD_EINVAL;
}

prd_status prd_logger_redaction_count(const prd_logger *lg, size_t i, const char **name,
                                      uint64_t *count)
{
    if (name)
        *name = NULL;
    if (count)
        *count = 0;
    if (!lg || !name || !count)
        return PRD_EINVAL;
    const struct prd__redact *r = &lg->core->redact;
    size_t builtin = PRD__RULE_BUILTIN - 1; /* rule 0 is "none" */
    if (i < builtin) {
        *name = prd__rule_name((int)i + 1);
        *count = atomic_load_explicit(&r->hits[i + 1], memory_order_relaxed);
        return PRD_OK;
    }
    if (i - builtin >= r->n_patterns)
        return PRD_ENOTFOUND;
    *name = r->patterns[i - builtin].name;
    *count = atomic_load_explicit(&r->hits[PRD__RULE_BUILTIN + (i - builtin)],
                                  memory_order_relaxed);
    return PRD_OK;
}

prd_status prd_logger_allow_key(prd_logger *lg, const char *key_or_path)
{
    return lg ? prd__redact_allow(&lg->core->redact, key_or_path) : PRD_EINVAL;
}

prd_status prd_logger_set_redact_mode(prd_logger *lg, prd_redact_mode mode,
                                      const prd_secret *fingerprint_key)
{
    if (!lg || mode < PRD_REDACT_CENSOR || mode > PRD_REDACT_FINGERPRINT)
        return PRD_EINVAL;
    struct prd__redact *r = &lg->core->redact;
    if (mode == PRD_REDACT_FINGERPRINT) {
        size_t n = prd_secret_len(fingerprint_key);
        if (n < 16 || n > sizeof r->fp_key)
            return PRD_EINVAL;
        memcpy(r->fp_key, prd__secret_data(fingerprint_key), n);
        r->fp_key_len = n;
    }
    r->mode = mode;
    return PRD_OK;
}

prd_status prd_logger_disable_redaction(prd_logger *lg)
{
    if (!lg)
        return PRD_EINVAL;
    lg->core->redact.enabled = 0;
    return PRD_OK;
}

prd_status prd_logger_set_sampling(prd_logger *lg, uint32_t first, uint32_t thereafter)
{
    if (!lg)
        return PRD_EINVAL;
    struct core *c = lg->core;
    if (first == 0 && thereafter == 0) {
        c->sample_first = c->sample_thereafter = 0;
        return PRD_OK;
    }
    if (!c->samples) {
        c->samples = prd__calloc(SAMPLE_SLOTS, sizeof *c->samples);
        if (!c->samples)
            return PRD_ENOMEM;
    }
    c->sample_first = first;
    c->sample_thereafter = thereafter;
    return PRD_OK;
}

prd_status prd_logger_set_clock(prd_logger *lg, const prd_clock *clock)
{
    if (!lg)
        return PRD_EINVAL;
    lg->core->clock = clock;
    return PRD_OK;
}

uint64_t prd_logger_count(const prd_logger *lg, prd_log_counter which)
{
    if (!lg || (unsigned)which >= N_COUNTERS)
        return 0;
    return atomic_load(&lg->core->counters[which]);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* ---- async queue ---- */

static void *writer_main(void *arg);

static void emit_dropped_note(struct core *c, uint64_t n);

/* Release a queue whose writer thread is gone (or never started). */
static void queue_destroy(struct async_queue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    prd__free(q->ring);
    prd__free(q);
}

/* A record: the line's length and level (two uint32_t), then its bytes. */
#define REC_HDR (2 * sizeof(uint32_t))

static prd_status start_async(prd_logger *lg, size_t lines, size_t bytes, int block)
{
    if (!lg || lines == 0 || lines > 1000000 || bytes < 4096 || bytes > ((size_t)1 << 30) ||
        lg->core->async)
        return PRD_EINVAL;
    struct async_queue *q = prd__calloc(1, sizeof *q);
    if (!q)
        return PRD_ENOMEM;
    q->ring = prd__malloc(bytes);
    if (!q->ring) {
        prd__free(q);
        return PRD_ENOMEM;
    }
    q->size = bytes;
    q->max_lines = lines;
    q->block = block != 0;
    pthread_mutex_init(&q->mu, NULL);
    prd__cond_init_mono(&q->not_empty);
    pthread_cond_init(&q->not_full, NULL);
    lg->core->async = q;
    if (pthread_create(&q->thread, NULL, writer_main, lg->core) != 0) {
        lg->core->async = NULL;
        queue_destroy(q);
        return PRD_ENOMEM;
    }
    q->running = 1;
    atomic_store(&lg->core->sinks.async_writer, 1);
    return PRD_OK;
}

prd_status prd_logger_set_async(prd_logger *lg, size_t queue_lines, int block)
{
    /* By default a KiB a line, within 64 KiB .. 64 MiB. */
    size_t bytes = queue_lines < 64 ? 64 * 1024 : queue_lines > 65536 ? (size_t)64 << 20
                                                                      : queue_lines * 1024;
    return start_async(lg, queue_lines, bytes, block);
}

prd_status prd_logger_set_async_limits(prd_logger *lg, size_t queue_lines, size_t queue_bytes,
                                       int block)
{
    return start_async(lg, queue_lines, queue_bytes, block);
}

/* Lines the writer takes at once: one write(2) carries several of them
 * (prd__sinks_write_batch), which is most of what a line costs. */
#define WRITER_BATCH 1024

static void *writer_main(void *arg)
{
    struct core *c = arg;
    struct async_queue *q = c->async;
    struct prd__line batch[WRITER_BATCH];
    int napping = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->count == 0 && !q->stop) {
            if (napping) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += WRITER_NAP_NS;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&q->not_empty, &q->mu, &ts);
                napping = q->count > 0; /* a nap with nothing new: sleep deep */
            } else {
                q->writer_deep = 1;
                pthread_cond_wait(&q->not_empty, &q->mu);
                q->writer_deep = 0;
            }
        }
        napping = 1;
        if (q->count == 0 && q->stop)
            break;
        if (q->wrapped && q->head == q->wrap_at) { /* the end's unused part */
            q->head = 0;
            q->wrapped = 0;
        }
        /* The records queued now, from head: producers only add after
         * tail, so these stay as they are while the lock is let go. They
         * are read after it is: reading them under it (each a cache miss,
         * written on the producer's core) kept producers waiting on the
         * lock, and the lock was a third of an async event's time. */
        size_t n = q->count < WRITER_BATCH ? q->count : WRITER_BATCH;
        size_t pos = q->head, wrap_at = q->wrapped ? q->wrap_at : SIZE_MAX;
        uint64_t dropped = q->dropped_unreported;
        q->dropped_unreported = 0;
        pthread_mutex_unlock(&q->mu);
        int crossed = 0;
        for (size_t i = 0; i < n; i++) {
            if (!crossed && pos == wrap_at) {
                pos = 0;
                crossed = 1;
            }
            uint32_t len, level;
            memcpy(&len, q->ring + pos, sizeof len);
            memcpy(&level, q->ring + pos + sizeof len, sizeof level);
            batch[i] = (struct prd__line){q->ring + pos + REC_HDR, len, (prd_log_level)level};
            pos += REC_HDR + len;
        }
        prd__sinks_write_batch(&c->sinks, batch, n);
        if (dropped)
            emit_dropped_note(c, dropped);
        pthread_mutex_lock(&q->mu);
        q->head = pos;
        if (crossed)
            q->wrapped = 0;
        q->count -= n;
        if (q->count == 0) { /* empty: start over at the front */
            q->head = q->tail = 0;
            q->wrapped = 0;
        }
        pthread_cond_broadcast(&q->not_full);
    }
    uint64_t dropped = q->dropped_unreported;
    q->dropped_unreported = 0;
    pthread_mutex_unlock(&q->mu);
    if (dropped)
        emit_dropped_note(c, dropped);
    return NULL;
}

static void async_stop(struct core *c)
{
    struct async_queue *q = c->async;
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    if (q->running)
        pthread_join(q->thread, NULL); /* drains the queue: flush on free */
    c->async = NULL;
    queue_destroy(q);
}

/* Where a record of need bytes can go now, or SIZE_MAX; *wrap says it
 * goes back to the start (the end's remainder left unused). */
static size_t ring_place(const struct async_queue *q, size_t need, int *wrap)
{
    *wrap = 0;
    if (q->count == q->max_lines || need > q->size)
        return SIZE_MAX;
    if (q->count == 0)
        return 0;
    if (!q->wrapped) { /* free: [tail, size) and [0, head) */
        if (q->size - q->tail >= need)
            return q->tail;
        if (q->head >= need) {
            *wrap = 1;
            return 0;
        }
        return SIZE_MAX;
    }
    return q->head - q->tail >= need ? q->tail : SIZE_MAX; /* free: [tail, head) */
}

/* Hand a finished line to the sink, or to the queue in async mode. */
static void deliver(struct core *c, prd_log_level level, const char *line, size_t len)
{
    struct async_queue *q = c->async;
    if (!q) {
        prd__sinks_write(&c->sinks, level, line, len);
        return;
    }
    size_t need = REC_HDR + len, at;
    int wrap;
    pthread_mutex_lock(&q->mu);
    while ((at = ring_place(q, need, &wrap)) == SIZE_MAX && q->block && !q->stop &&
           need <= q->size) {
        pthread_cond_signal(&q->not_empty); /* full: the writer must not be napping */
        pthread_cond_wait(&q->not_full, &q->mu);
    }
    if (at == SIZE_MAX || q->stop || len > UINT32_MAX - 1) {
        q->dropped_unreported++;
        pthread_mutex_unlock(&q->mu);
        atomic_fetch_add(&c->counters[PRD_LOG_COUNT_DROPPED], 1);
        return;
    }
    if (q->count == 0) {
        q->head = 0;
        q->wrapped = 0;
    } else if (wrap) {
        q->wrapped = 1;
        q->wrap_at = q->tail;
    }
    uint32_t hdr[2] = {(uint32_t)len, (uint32_t)level};
    memcpy(q->ring + at, hdr, REC_HDR);
    memcpy(q->ring + at + REC_HDR, line, len);
    q->tail = at + need;
    q->count++;
    size_t used = q->wrapped ? q->wrap_at - q->head + q->tail : q->tail - q->head;
    if ((q->writer_deep && q->count == 1) || level >= PRD_LOG_ERROR ||
        q->count * 2 > q->max_lines || used * 2 > q->size)
        pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

/* Decimal digits of v at the end of num[24]; returns the index of the
 * first (snprintf's format parsing was a tenth of an event in perf). */
#define DIGITS_CAP 24
static size_t digits_u64(char num[DIGITS_CAP], uint64_t v)
{
    size_t i = DIGITS_CAP;
    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return i;
}

static void put_int(struct prd__buf *b, int64_t v)
{
    char num[DIGITS_CAP];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */
    size_t i = digits_u64(num, u);
    if (v < 0)
        num[--i] = '-';
    prd__buf_put(b, num + i, DIGITS_CAP - i);
}

/* Above 2^63-1 as a string: many JSON readers (jansson, JavaScript)
 * cannot hold such an integer exactly, and a wrong number is worse. */
static void put_uint(struct prd__buf *b, uint64_t v)
{
    char num[DIGITS_CAP];
    size_t i = digits_u64(num, v);
    int quote = v > (uint64_t)INT64_MAX;
    if (quote)
        prd__buf_putc(b, '"');
    prd__buf_put(b, num + i, DIGITS_CAP - i);
    if (quote)
        prd__buf_putc(b, '"');
}

static size_t field_len(const prd_log_field *f)
{
    if (!f->v.s)
        return 0;
    return f->len == SIZE_MAX ? strlen(f->v.s) : f->len;
}

/* strcmp after a first-byte test: most pairs of keys differ there, and
 * this runs for every pair of fields on a line. */
static inline int same_key(const char *a, const char *b)
{
    return a[0] == b[0] && strcmp(a, b) == 0;
}

static int reserved(const struct core *c, const char *key)
{
    const char *const *names = profile_keys[c->profile];
    return same_key(key, names[0]) || same_key(key, names[1]) || same_key(key, names[2]);
}

/* A JSON value under key, redacted by key at every depth (paths start at key). */
static void put_json(const struct prd__redact *r, struct prd__buf *b, const char *key, size_t klen,
                     json_t *j)
{
    char path[512];
    size_t pl = klen < sizeof path ? klen : 0;
    memcpy(path, key, pl);
    path[pl] = '\0';
    prd__json_value(r, b, j, path, pl, sizeof path, 0);
}

/* Write ,"key":value for one field; returns 0 when the field was left out. */
static int encode_field(const struct core *c, struct prd__buf *b, const prd_log_field *f)
{
    const struct prd__redact *r = &c->redact;
    size_t klen = strlen(f->key);
    int hide = f->type == PRD_LF_SECRET ? PRD__RULE_SECRET_FIELD
                                        : prd__redact_key(r, f->key, klen, f->key, klen);
    prd__redact_hit(r, hide);
    if (hide && f->type != PRD_LF_SECRET && r->mode == PRD_REDACT_REMOVE)
        return 0;
    prd__buf_putc(b, ',');
    if (reserved(c, f->key)) {
        prd__buf_putc(b, '"');
        prd__buf_puts(b, "fields.");
        struct prd__buf k;
        char ks[256];
        prd__buf_init(&k, ks, sizeof ks);
        prd__json_string(&k, f->key, klen);
        prd__buf_put(b, k.p + 1, k.len - 1); /* the escaped key without its opening quote */
        prd__buf_free(&k);
    } else {
        prd__json_string(b, f->key, klen);
    }
    prd__buf_putc(b, ':');
    if (f->type == PRD_LF_SECRET) {
        prd__buf_puts(b, "\"[REDACTED]\"");
        return 1;
    }
    if (hide) {
        char num[48];
        const char *text = num;
        size_t tl;
        char *dumped = NULL;
        switch (f->type) {
        case PRD_LF_STRING: text = f->v.s; tl = field_len(f); break;
        case PRD_LF_INT: tl = (size_t)snprintf(num, sizeof num, "%lld", (long long)f->v.i); break;
        case PRD_LF_UINT: tl = (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)f->v.u); break;
        case PRD_LF_JSON:
            dumped = f->v.j ? json_dumps(f->v.j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            text = dumped;
            tl = dumped ? strlen(dumped) : 0;
            break;
        case PRD_LF_JSON_TEXT: text = f->v.s; tl = f->v.s ? field_len(f) : 0; break;
        /* By value, so equal values correlate and different ones do not. */
        case PRD_LF_DOUBLE: tl = (size_t)snprintf(num, sizeof num, "%.17g", f->v.d); break;
        case PRD_LF_BOOL: tl = (size_t)snprintf(num, sizeof num, "%s", f->v.b ? "true" : "false"); break;
        case PRD_LF_STATUS: tl = (size_t)snprintf(num, sizeof num, "%d", (int)f->v.st); break;
        default: tl = (size_t)snprintf(num, sizeof num, "null"); break;
        }
        prd__redacted_value(r, b, text, tl);
        free(dumped);
        return 1;
    }
    switch (f->type) {
    case PRD_LF_STRING:
        if (!f->v.s)
            prd__buf_puts(b, "null");
        else
            prd__json_string_scrubbed(r, b, f->v.s, field_len(f));
        break;
    case PRD_LF_INT: put_int(b, f->v.i); break;
    case PRD_LF_UINT: put_uint(b, f->v.u); break;
    case PRD_LF_DOUBLE: prd__json_double(b, f->v.d); break;
    case PRD_LF_BOOL: prd__buf_puts(b, f->v.b ? "true" : "false"); break;
    case PRD_LF_JSON:
        if (!f->v.j)
            prd__buf_puts(b, "null");
        else
            put_json(r, b, f->key, klen, f->v.j);
        break;
    case PRD_LF_JSON_TEXT:
        if (!f->v.s) {
            prd__buf_puts(b, "null");
        } else {
            size_t tl = field_len(f);
            json_error_t err;
            json_t *j = json_loadb(f->v.s, tl, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
            if (j)
                put_json(r, b, f->key, klen, j);
            else /* not one JSON value: kept, as a string redacted by value */
                prd__json_string_scrubbed(r, b, f->v.s, tl);
            json_decref(j);
        }
        break;
    case PRD_LF_STATUS:
        prd__buf_puts(b, "{\"code\":");
        put_int(b, f->v.st);
        prd__buf_puts(b, ",\"name\":\"");
        prd__buf_puts(b, prd_status_name(f->v.st));
        prd__buf_puts(b, "\",\"msg\":\"");
        prd__buf_puts(b, prd_status_str(f->v.st)); /* fixed phrases: nothing to escape */
        prd__buf_puts(b, "\"}");
        break;
    default:
        prd__buf_puts(b, "null");
        break;
    }
    return 1;
}

/* Do keys a and b come out under the same name? A reserved key is
 * written as "fields.<key>", which another field may be called already. */
static int same_output(const struct core *c, const char *a, const char *b)
{
    if (same_key(a, b))
        return 1;
    /* Different keys meet only as "fields.X" and a reserved X: checked
     * last, since it is rare (this runs for every pair of fields). */
    if (a[0] == 'f' && strncmp(a, "fields.", 7) == 0 && strcmp(a + 7, b) == 0)
        return reserved(c, b);
    if (b[0] == 'f' && strncmp(b, "fields.", 7) == 0 && strcmp(b + 7, a) == 0)
        return reserved(c, a);
    return 0;
}

/* First occurrence wins: is this key already written on this line? */
static int duplicate(const prd_logger *lg, const prd_log_field *fields, size_t i)
{
    /* Keys can only come out the same when their first bytes match or one
     * of them starts "fields.": most pairs end at this test. */
    const char *key = fields[i].key;
    char c0 = key[0];
    int f0 = c0 == 'f';
    for (size_t k = 0; k < lg->n_bound_keys; k++) {
        const char *o = lg->bound_keys[k];
        if ((o[0] == c0 || f0 || o[0] == 'f') && same_output(lg->core, o, key))
            return 1;
    }
    for (size_t k = 0; k < i; k++) {
        const char *o = fields[k].key;
        if (o && (o[0] == c0 || f0 || o[0] == 'f') && same_output(lg->core, o, key))
            return 1;
    }
    return 0;
}

static void encode_fields(const prd_logger *lg, struct prd__buf *b, const prd_log_field *fields,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!fields[i].key || duplicate(lg, fields, i))
            continue;
        encode_field(lg->core, b, &fields[i]);
    }
}

/* zap-style sampling: per message text and second. 1 = write it. */
static int sample(struct core *c, const char *msg)
{
    if (!c->samples)
        return 1;
    uint64_t h = 1469598103934665603u;
    for (const char *p = msg; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    struct sample_slot *s = &c->samples[h % SAMPLE_SLOTS];
    int64_t now_s = prd_clock_mono_ns(c->clock) / 1000000000;
    int64_t sec = atomic_load(&s->second);
    if (sec != now_s && atomic_compare_exchange_strong(&s->second, &sec, now_s))
        atomic_store(&s->count, 0);
    uint64_t n = atomic_fetch_add(&s->count, 1) + 1;
    if (n <= c->sample_first)
        return 1;
    return c->sample_thereafter && (n - c->sample_first) % c->sample_thereafter == 0;
}

static void begin_line(const struct core *c, struct prd__buf *b, prd_log_level level,
                       const char *msg)
{
    const char *const *names = profile_keys[c->profile];
    char ts[PRD_RFC3339_SIZE];
    size_t tl = prd_rfc3339_format(prd_clock_wall_ns(c->clock), 6, ts, sizeof ts);
    prd__buf_puts(b, "{\"");
    prd__buf_puts(b, names[0]);
    prd__buf_puts(b, "\":\"");
    prd__buf_put(b, ts, tl);
    prd__buf_puts(b, "\",\"");
    prd__buf_puts(b, names[1]);
    prd__buf_puts(b, "\":\"");
    prd__buf_puts(b, level_names[level]);
    prd__buf_puts(b, "\",\"");
    prd__buf_puts(b, names[2]);
    prd__buf_puts(b, "\":");
    if (msg)
        prd__json_string_scrubbed(&c->redact, b, msg, strlen(msg));
    else
        prd__buf_puts(b, "\"\"");
}

void prd_log(prd_logger *lg, prd_log_level level, const char *msg, const prd_log_field *fields,
             size_t n)
{
    if (!prd_logger_enabled(lg, level))
        return;
    struct core *c = lg->core;
    if (c->sample_first || c->sample_thereafter) {
        if (!sample(c, msg ? msg : "")) {
            atomic_fetch_add(&c->counters[PRD_LOG_COUNT_SAMPLED_OUT], 1);
            return;
        }
    }
    char stack[LINE_STACK];
    struct prd__buf b;
    prd__buf_init(&b, stack, sizeof stack);
    begin_line(c, &b, level, msg);
    prd__buf_put(&b, lg->bound, lg->bound_len);
    if (fields)
        encode_fields(lg, &b, fields, n);
    prd__buf_puts(&b, "}\n");
    if (b.failed) {
        /* Out of memory for a huge line: say so in a line that fits. */
        prd__buf_init(&b, stack, sizeof stack);
        begin_line(c, &b, level, "log line dropped: out of memory");
        prd__buf_puts(&b, "}\n");
    }
    atomic_fetch_add(&c->counters[level], 1);
    deliver(c, level, b.p, b.len);
    prd__buf_free(&b);
}

void prd_logv(prd_logger *lg, prd_log_level level, const char *msg, ...)
{
    if (!prd_logger_enabled(lg, level))
        return;
    prd_log_field fields[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        prd_log_field f = va_arg(ap, prd_log_field);
        if (f.key == NULL && f.type == 0)
            break;
        if (n < PRD_ARRAY_LEN(fields))
            fields[n++] = f;
    }
    va_end(ap);
    prd_log(lg, level, msg, fields, n);
}

void prd_log_json(prd_logger *lg, prd_log_level level, const char *msg, const char *fields_json,
                  size_t len)
{
    if (!prd_logger_enabled(lg, level))
        return;
    if (!fields_json) {
        prd_log(lg, level, msg, NULL, 0);
        return;
    }
    if (len == SIZE_MAX)
        len = strlen(fields_json);
    json_error_t err;
    json_t *obj = json_loadb(fields_json, len, JSON_ALLOW_NUL, &err);
    size_t n = json_is_object(obj) ? json_object_size(obj) : 0;
    prd_log_field stack[16], *fields = n <= PRD_ARRAY_LEN(stack) ? stack : NULL;
    if (!fields)
        fields = prd__malloc(n * sizeof *fields); /* n is bounded by len */
    if (!json_is_object(obj) || !fields) {
        /* Not an object (or no memory for its fields): the line still goes
         * out, with the text kept as a string and redacted by value. */
        prd_log_field f = PRD_F_STRN("fields", fields_json, len);
        prd_log(lg, level, msg, &f, 1);
    } else {
        size_t i = 0;
        const char *key;
        json_t *value;
        json_object_foreach(obj, key, value) {
            fields[i++] = (prd_log_field){key, PRD_LF_JSON, 0, {.j = value}};
        }
        prd_log(lg, level, msg, fields, i);
    }
    if (fields != stack)
        prd__free(fields);
    json_decref(obj);
}

static void emit_dropped_note(struct core *c, uint64_t n)
{
    char stack[256];
    struct prd__buf b;
    prd__buf_init(&b, stack, sizeof stack);
    begin_line(c, &b, PRD_LOG_WARN, "log lines dropped: queue full");
    prd__buf_puts(&b, ",\"dropped\":");
    put_uint(&b, n);
    prd__buf_puts(&b, "}\n");
    prd__sinks_write(&c->sinks, PRD_LOG_WARN, b.p, b.len);
    prd__buf_free(&b);
}

prd_status prd_log_with(prd_logger *parent, const prd_log_field *fields, size_t n,
                        prd_logger **child)
{
    if (!child)
        return PRD_EINVAL;
    *child = NULL;
    if (!parent || (n && !fields))
        return PRD_EINVAL;
    prd_logger *ch = prd__calloc(1, sizeof *ch);
    if (!ch)
        return PRD_ENOMEM;
    ch->core = parent->core;
    ch->own_level = 1;
    atomic_store(&ch->level, parent->own_level ? atomic_load(&parent->level) : -1);
    atomic_fetch_add(&parent->core->refs, 1);
    struct prd__buf b;
    prd__buf_init(&b, NULL, 0);
    prd__buf_put(&b, parent->bound, parent->bound_len);
    /* The parent's keys, then this call's: all checked for duplicates. */
    ch->bound_keys = prd__calloc(parent->n_bound_keys + n + 1, sizeof *ch->bound_keys);
    int ok = ch->bound_keys != NULL;
    for (size_t i = 0; ok && i < parent->n_bound_keys; i++)
        ok = (ch->bound_keys[ch->n_bound_keys++] = prd__strdup(parent->bound_keys[i])) != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        if (!fields[i].key || duplicate(ch, fields, i))
            continue;
        encode_field(ch->core, &b, &fields[i]);
        ok = (ch->bound_keys[ch->n_bound_keys++] = prd__strdup(fields[i].key)) != NULL;
    }
    if (!ok || b.failed) {
        prd__buf_free(&b);
        prd_logger_free(ch);
        return PRD_ENOMEM;
    }
    ch->bound = b.p; /* heap (or NULL when nothing was bound) */
    ch->bound_len = b.len;
    *child = ch;
    return PRD_OK;
}

static prd_status scrub_one(const prd_logger *lg, const char *line, size_t len, char **out,
                            size_t *out_len, int *whole);

/* What a stream scrub carries from line to line. */
struct scrub_state {
    uint32_t in_pem; /* a private key's BEGIN was seen, its END not yet */
};
_Static_assert(sizeof(struct scrub_state) <= sizeof(prd_log_scrub_state), "scrub state");

prd_status prd_log_scrub_next(const prd_logger *lg, prd_log_scrub_state *state, const char *line,
                              size_t len, char **out, size_t *out_len)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!lg || !state || (!line && len) || !out)
        return PRD_EINVAL;
    struct scrub_state *st = (struct scrub_state *)(void *)state;
    if (!st->in_pem || !lg->core->redact.enabled) {
        prd__scrub_take_pem_unclosed();
        int whole = 0;
        prd_status rc = scrub_one(lg, line, len, out, out_len, &whole);
        st->in_pem = rc == PRD_OK && prd__scrub_take_pem_unclosed() && !whole;
        return rc;
    }
    /* Inside a key: everything up to its END line's closing dashes goes. */
    const char *end = len ? memmem(line, len, "-----END ", 9) : NULL;
    size_t from = len;
    if (end) {
        size_t k = (size_t)(end - line) + 9;
        const char *close = k < len ? memmem(line + k, len - k, "-----", 5) : NULL;
        from = close ? (size_t)(close - line) + 5 : len;
        st->in_pem = 0;
    }
    char *rest = NULL;
    size_t rest_len = 0;
    int whole = 0;
    prd_status rc = scrub_one(lg, line + from, len - from, &rest, &rest_len, &whole);
    if (rc != PRD_OK)
        return rc;
    size_t need = sizeof "[REDACTED]" - 1 + rest_len;
    char *o = prd__returned_alloc(need + 1);
    if (!o) {
        prd_free(rest);
        return PRD_ENOMEM;
    }
    memcpy(o, "[REDACTED]", sizeof "[REDACTED]" - 1);
    memcpy(o + sizeof "[REDACTED]" - 1, rest, rest_len);
    o[need] = '\0';
    prd_free(rest);
    *out = o;
    if (out_len)
        *out_len = need;
    return PRD_OK;
}

prd_status prd_log_scrub_line(const prd_logger *lg, const char *line, size_t len, char **out,
                              size_t *out_len)
{
    int whole;
    return scrub_one(lg, line, len, out, out_len, &whole); /* it checks the arguments */
}

static prd_status scrub_one(const prd_logger *lg, const char *line, size_t len, char **out,
                            size_t *out_len, int *whole)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!lg || (!line && len) || !out)
        return PRD_EINVAL;
    const struct prd__redact *r = &lg->core->redact;
    struct prd__buf b;
    prd__buf_init(&b, NULL, 0);
    /* Key rules wherever JSON is found; a line that did not read as JSON
     * from end to end is counted. */
    *whole = prd__scrub_json_line(r, &b, line, len);
    if (!*whole)
        atomic_fetch_add(&lg->core->counters[PRD_LOG_COUNT_SCRUB_TEXT], 1);
    prd__buf_putc(&b, '\0');
    if (b.failed) {
        prd__buf_free(&b);
        return PRD_ENOMEM;
    }
    char *res = prd__returned_alloc(b.len);
    if (!res) {
        prd__buf_free(&b);
        return PRD_ENOMEM;
    }
    memcpy(res, b.p, b.len);
    if (out_len)
        *out_len = b.len - 1;
    *out = res;
    prd__buf_free(&b);
    return PRD_OK;
}
