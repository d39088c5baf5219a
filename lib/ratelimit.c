/* prd_limiter: creation (private or shared memory), checks, headers. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define RECLAIM_PER_CHECK 2

static prd_status map_private(prd_limiter *l, size_t bytes)
{
    /* MAP_NORESERVE: the table is sized for max_keys up front, but pages
     * are only committed as keys land on them. */
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return PRD_ENOMEM;
    l->base = p;
    l->map_bytes = bytes;
    return PRD_OK;
}

static prd_status start(const prd_limiter_config *cfg, prd_limiter **out, prd_limiter **l,
                        struct prd__rl_header *hdr, size_t *bytes)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    if (!cfg || cfg->n_rules == 0)
        return PRD_EINVAL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    *bytes = prd__rl_layout(cfg, hdr);
    *l = prd__calloc(1, sizeof **l);
    if (!*l)
        return PRD_ENOMEM;
    (*l)->clock = cfg->clock;
    return PRD_OK;
}

prd_status prd_limiter_new(const prd_limiter_config *cfg, prd_limiter **out)
{
    struct prd__rl_header hdr;
    size_t bytes;
    prd_limiter *l = NULL;
    prd_status st = start(cfg, out, &l, &hdr, &bytes);
    if (st != PRD_OK)
        return st;
    st = map_private(l, bytes);
    if (st == PRD_OK) {
        l->hdr = (struct prd__rl_header *)l->base;
        *l->hdr = hdr;
        randombytes_buf(l->hdr->sipkey, sizeof l->hdr->sipkey);
        st = prd__rl_init_region(l);
    }
    if (st != PRD_OK) {
        prd_limiter_free(l);
        return st;
    }
    *out = l;
    return PRD_OK;
}

static prd_status errno_status(int e)
{
    return e == ENOENT ? PRD_ENOTFOUND : e == EACCES || e == EPERM ? PRD_EPERM
                       : e == ENOMEM || e == ENOSPC ? PRD_ENOMEM
                                                    : PRD_EIO;
}

static int shm_name_ok(const char *name)
{
    size_t n = name ? strnlen(name, 256) : 0;
    return n >= 2 && n < 250 && name[0] == '/' && !strchr(name + 1, '/');
}

/* The rules of an existing segment must be the ones this process expects. */
static int same_layout(const struct prd__rl_header *have, const struct prd__rl_header *want)
{
    if (have->magic != PRD__RL_MAGIC || have->version != PRD__RL_LAYOUT_VERSION ||
        have->n_rules != want->n_rules || have->region_bytes != want->region_bytes)
        return 0;
    for (uint32_t i = 0; i < want->n_rules; i++) {
        const struct prd__rl_rule *a = &have->rules[i], *b = &want->rules[i];
        if (strcmp(a->name, b->name) != 0 || a->limit != b->limit || a->window_ms != b->window_ms ||
            a->algorithm != b->algorithm || a->offset != b->offset || a->capacity != b->capacity ||
            a->max_keys != b->max_keys)
            return 0;
    }
    return 1;
}

prd_status prd_limiter_new_shm(const prd_limiter_config *cfg, const char *name, int create,
                               prd_limiter **out)
{
    struct prd__rl_header hdr;
    size_t bytes;
    prd_limiter *l = NULL;
    if (!shm_name_ok(name))
        return out ? (*out = NULL, PRD_EINVAL) : PRD_EINVAL;
    prd_status st = start(cfg, out, &l, &hdr, &bytes);
    if (st != PRD_OK)
        return st;
    hdr.shared = 1;
    if (create)
        shm_unlink(name); /* replace: processes attached to the old one keep it */
    int fd = shm_open(name, create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR, 0600);
    if (fd < 0) {
        st = errno_status(errno);
    } else if (create && ftruncate(fd, (off_t)bytes) != 0) {
        st = errno_status(errno);
    } else {
        struct stat sb;
        if (fstat(fd, &sb) != 0)
            st = PRD_EIO;
        else if ((size_t)sb.st_size != bytes)
            st = PRD_EINVAL; /* made with other rules or sizes */
    }
    if (st == PRD_OK) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            st = errno_status(errno);
        } else {
            l->base = p;
            l->map_bytes = bytes;
            l->hdr = (struct prd__rl_header *)p;
        }
    }
    if (fd >= 0)
        close(fd);
    if (st == PRD_OK && create) {
        uint64_t magic = hdr.magic;
        hdr.magic = 0; /* published last, once the locks exist */
        *l->hdr = hdr;
        randombytes_buf(l->hdr->sipkey, sizeof l->hdr->sipkey);
        st = prd__rl_init_region(l);
        __atomic_store_n(&l->hdr->magic, magic, __ATOMIC_RELEASE);
    } else if (st == PRD_OK) {
        hdr.magic = __atomic_load_n(&l->hdr->magic, __ATOMIC_ACQUIRE);
        if (!same_layout(l->hdr, &hdr))
            st = PRD_EINVAL;
    }
    if (st != PRD_OK) {
        if (create && st != PRD_EPERM)
            shm_unlink(name);
        prd_limiter_free(l);
        return st;
    }
    *out = l;
    return PRD_OK;
}

prd_status prd_limiter_shm_unlink(const char *name)
{
    if (!shm_name_ok(name))
        return PRD_EINVAL;
    return shm_unlink(name) == 0 ? PRD_OK : errno_status(errno);
}

void prd_limiter_free(prd_limiter *lim)
{
    if (!lim)
        return;
    if (lim->base) {
        if (!lim->hdr->shared)
            for (uint32_t i = 0; i < lim->hdr->n_rules; i++)
                for (uint64_t s = 0; s < lim->hdr->rules[i].shards; s++)
                    pthread_mutex_destroy(&prd__rl_shard(lim, (int)i, s)->mu);
        munmap(lim->base, lim->map_bytes);
    }
    prd__free(lim);
}

uint64_t prd__rl_key_hash(const prd_limiter *l, const prd_rl_key *k)
{
    uint64_t h;
    crypto_shorthash((unsigned char *)&h, k->data ? k->data : (const void *)"", k->len,
                     l->hdr->sipkey);
    return h ? h : 1; /* 0 marks an empty slot */
}

/* Pick the result to report: the denying rule with the longest wait, or
 * when all admit, the rule with the fewest units left. */
static void merge(prd_rl_decision *out, int rule, const struct prd__rl_rule *r,
                  const struct prd__rl_eval *e, int first)
{
    int better;
    if (first)
        better = 1;
    else if (!e->allowed && out->allowed)
        better = 1;
    else if (e->allowed != out->allowed)
        better = 0;
    else if (!e->allowed)
        better = e->retry_after_ms < 0 || (out->retry_after_ms >= 0 && e->retry_after_ms > out->retry_after_ms);
    else
        better = e->remaining < out->remaining;
    if (!better)
        return;
    out->allowed = e->allowed;
    out->rule = rule;
    out->limit = r->limit;
    out->remaining = e->remaining;
    out->reset_ms = e->reset_ms;
    out->retry_after_ms = e->retry_after_ms;
}

static prd_status check(prd_limiter *l, const prd_rl_key *keys, size_t n_keys, uint64_t cost,
                        int64_t now, int record, prd_rl_decision *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!l || !keys || !out || cost == 0 || n_keys != l->hdr->n_rules)
        return PRD_EINVAL;
    for (size_t i = 0; i < n_keys; i++)
        if (keys[i].len > PRD_RL_KEY_MAX || (keys[i].len && !keys[i].data))
            return PRD_EINVAL;
    struct prd__rl_shard *shards[PRD_RL_MAX_RULES];
    struct prd__rl_slot *slots[PRD_RL_MAX_RULES];
    struct prd__rl_eval evals[PRD_RL_MAX_RULES];
    uint64_t hashes[PRD_RL_MAX_RULES];
    uint32_t n = l->hdr->n_rules;
    for (uint32_t i = 0; i < n; i++) {
        const struct prd__rl_rule *r = &l->hdr->rules[i];
        hashes[i] = prd__rl_key_hash(l, &keys[i]);
        shards[i] = prd__rl_shard(l, (int)i, (hashes[i] >> 40) & (r->shards - 1));
    }
    /* Locks in rule order: every check takes them in the same order, so two
     * checks can never wait on each other in a cycle. */
    for (uint32_t i = 0; i < n; i++)
        prd__rl_lock(shards[i]);
    prd_status st = PRD_OK;
    int allowed = 1;
    for (uint32_t i = 0; i < n && st == PRD_OK; i++) {
        const struct prd__rl_rule *r = &l->hdr->rules[i];
        slots[i] = prd__rl_find_or_insert(l, (int)i, shards[i], hashes[i], now);
        if (!slots[i]) {
            st = PRD_EBUSY;
            break;
        }
        int64_t t = now > slots[i]->last_ms ? now : slots[i]->last_ms; /* per-key monotonic */
        prd__rl_evaluate(r, slots[i], cost, t, &evals[i]);
        allowed &= evals[i].allowed;
        merge(out, (int)i, r, &evals[i], i == 0);
    }
    if (st == PRD_OK && allowed && record)
        for (uint32_t i = 0; i < n; i++) {
            int64_t t = now > slots[i]->last_ms ? now : slots[i]->last_ms;
            prd__rl_commit(&l->hdr->rules[i], slots[i], cost, t, &evals[i]);
        }
    /* Incremental reclamation, after the last use of slots[]: deleting
     * shifts slots around. */
    for (uint32_t i = 0; i < n; i++)
        prd__rl_reclaim(l, (int)i, shards[i], RECLAIM_PER_CHECK, now);
    for (uint32_t i = n; i-- > 0;)
        prd__rl_unlock(shards[i]);
    if (st != PRD_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    return out->allowed ? PRD_OK : PRD_ELIMITED;
}

prd_status prd_limiter_check_at(prd_limiter *l, const prd_rl_key *keys, size_t n_keys,
                                uint64_t cost, int64_t now, prd_rl_decision *out)
{
    return check(l, keys, n_keys, cost, now, 1, out);
}

prd_status prd__limiter_peek_at(prd_limiter *l, const prd_rl_key *keys, size_t n_keys,
                                uint64_t cost, int64_t now, prd_rl_decision *out)
{
    return check(l, keys, n_keys, cost, now, 0, out);
}

/*
 * Without an injected clock, limits run on CLOCK_MONOTONIC_COARSE: 3 ns a
 * read instead of 26 ns here (kvm-clock), where the precise clock was 30%
 * of a check in perf. Its resolution is the kernel tick (1-4 ms), far
 * below any useful window; docs/ratelimit.md says so.
 */
static int64_t coarse_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

prd_status prd_limiter_check(prd_limiter *lim, const prd_rl_key *keys, size_t n_keys,
                             uint64_t cost, prd_rl_decision *out)
{
    int64_t now = !lim ? 0 : lim->clock ? prd_clock_mono_ns(lim->clock) / 1000000 : coarse_now_ms();
    return prd_limiter_check_at(lim, keys, n_keys, cost, now, out);
}

size_t prd_limiter_key_count(const prd_limiter *lim, int rule)
{
    if (!lim || rule < 0 || (uint32_t)rule >= lim->hdr->n_rules)
        return 0;
    size_t total = 0;
    for (uint64_t s = 0; s < lim->hdr->rules[rule].shards; s++) {
        struct prd__rl_shard *sh = prd__rl_shard(lim, rule, s);
        prd__rl_lock(sh);
        total += sh->count;
        prd__rl_unlock(sh);
    }
    return total;
}

size_t prd_limiter_bytes_per_key(const prd_limiter *lim, int rule)
{
    if (!lim || rule < 0 || (uint32_t)rule >= lim->hdr->n_rules)
        return 0;
    const struct prd__rl_rule *r = &lim->hdr->rules[rule];
    return (size_t)(r->shards * r->shard_bytes / r->max_keys);
}

/* snprintf rules over a growing buffer. */
struct sbuf {
    char *out;
    size_t size, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = b->out && b->len < b->size ? b->out + b->len : NULL;
    int n = vsnprintf(dst, dst ? b->size - b->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n;
}

static size_t finish(struct sbuf *b)
{
    if (b->out && b->size > 0 && b->len >= b->size)
        b->out[0] = '\0'; /* never a truncated header */
    return b->len;
}

static int64_t ceil_s(int64_t ms)
{
    return ms <= 0 ? 0 : (ms + 999) / 1000;
}

size_t prd_limiter_policy_header(const prd_limiter *lim, char *out, size_t out_size)
{
    struct sbuf b = {out, out_size, 0};
    if (out && out_size)
        out[0] = '\0';
    if (!lim)
        return 0;
    for (uint32_t i = 0; i < lim->hdr->n_rules; i++) {
        const struct prd__rl_rule *r = &lim->hdr->rules[i];
        put(&b, "%s\"%s\";q=%llu;w=%lld", i ? ", " : "", r->name, (unsigned long long)r->limit,
            (long long)ceil_s(r->window_ms));
    }
    return finish(&b);
}

size_t prd_limiter_ratelimit_header(const prd_limiter *lim, const prd_rl_decision *d, char *out,
                                    size_t out_size)
{
    struct sbuf b = {out, out_size, 0};
    if (out && out_size)
        out[0] = '\0';
    if (!lim || !d || d->rule < 0 || (uint32_t)d->rule >= lim->hdr->n_rules)
        return 0;
    put(&b, "\"%s\";r=%llu;t=%lld", lim->hdr->rules[d->rule].name,
        (unsigned long long)d->remaining, (long long)ceil_s(d->reset_ms));
    return finish(&b);
}

size_t prd_limiter_retry_after_header(const prd_rl_decision *d, char *out, size_t out_size)
{
    struct sbuf b = {out, out_size, 0};
    if (out && out_size)
        out[0] = '\0';
    if (!d || d->allowed)
        return 0;
    /* "never" (cost over the limit) has no honest Retry-After: a day. */
    int64_t s = d->retry_after_ms < 0 ? 86400 : ceil_s(d->retry_after_ms);
    put(&b, "%lld", (long long)(s < 1 ? 1 : s));
    return finish(&b);
}
