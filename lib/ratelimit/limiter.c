/* prd_limiter: creation (private or shared memory), checks, reservations. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/ratelimit.h"

#include <errno.h>
#include <fcntl.h>
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
    if (*bytes == 0)
        return PRD_ENOMEM; /* max_keys x log size beyond the address space */
    randombytes_buf(&hdr->id, sizeof hdr->id);
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
            a->max_keys != b->max_keys || a->burst != b->burst)
            return 0;
    }
    return 1;
}

/* Reserve every page of the segment now: a tmpfs too small for it fails
 * here with PRD_ENOMEM, instead of a SIGBUS in some worker later. */
static prd_status create_segment(int fd, size_t bytes, const prd_limiter_config *cfg)
{
    int rc = posix_fallocate(fd, 0, (off_t)bytes);
    if (rc != 0)
        return rc == ENOSPC || rc == ENOMEM || rc == EFBIG ? PRD_ENOMEM : errno_status(rc);
    /* shm_open's mode passes through the umask: set it as asked. */
    if (fchmod(fd, (mode_t)cfg->shm_mode) != 0)
        return errno_status(errno);
    if ((cfg->shm_uid >= 0 || cfg->shm_gid >= 0) &&
        fchown(fd, cfg->shm_uid >= 0 ? (uid_t)cfg->shm_uid : (uid_t)-1,
               cfg->shm_gid >= 0 ? (gid_t)cfg->shm_gid : (gid_t)-1) != 0)
        return errno_status(errno);
    return PRD_OK;
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
    int made = create && fd >= 0;
    if (fd < 0) {
        st = errno_status(errno);
    } else if (create) {
        st = create_segment(fd, bytes, cfg);
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
        if (made)
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
                    pthread_mutex_destroy(&prd__rl_shard(lim, i, s)->mu);
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

/* Times are milliseconds of a monotonic clock: from 0 to 146 years, so
 * GCRA's nanoseconds never overflow. */
#define MAX_TIME_MS (INT64_C(1) << 52)

static prd_status check_args(const prd_limiter *l, const prd_rl_key *keys, size_t n_keys,
                             uint64_t cost, int64_t now)
{
    if (!l || !keys || cost == 0 || n_keys != l->hdr->n_rules || now < 0 || now > MAX_TIME_MS)
        return PRD_EINVAL;
    for (size_t i = 0; i < n_keys; i++)
        if (keys[i].len > PRD_RL_KEY_MAX || (keys[i].len && !keys[i].data))
            return PRD_EINVAL;
    return PRD_OK;
}

static void lock_all(prd_limiter *l, struct prd__rl_shard **shards, uint32_t n, int64_t now)
{
    /* Locks in rule order: every check takes them in the same order, so two
     * checks can never wait on each other in a cycle. */
    for (uint32_t i = 0; i < n; i++) {
        prd__rl_lock(shards[i]);
        prd__rl_tick(shards[i], now);
    }
    (void)l;
}

static void unlock_all(struct prd__rl_shard **shards, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;)
        prd__rl_unlock(shards[i]);
}

prd_status prd__limiter_run(prd_limiter *l, const prd_rl_key *keys, size_t n_keys, uint64_t cost,
                            int64_t now, int record, prd_rl_decision *out,
                            struct prd__rl_resv *resv)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (resv)
        memset(resv, 0, sizeof *resv);
    prd_status st = check_args(l, keys, n_keys, cost, now);
    if (st != PRD_OK || !out)
        return st != PRD_OK ? st : PRD_EINVAL;
    struct prd__rl_shard *shards[PRD_RL_MAX_RULES];
    struct prd__rl_slot *slots[PRD_RL_MAX_RULES];
    int64_t t[PRD_RL_MAX_RULES];
    uint64_t hashes[PRD_RL_MAX_RULES];
    uint32_t n = l->hdr->n_rules;
    for (uint32_t i = 0; i < n; i++) {
        hashes[i] = prd__rl_key_hash(l, &keys[i]);
        shards[i] = prd__rl_shard_of(l, i, hashes[i]);
    }
    lock_all(l, shards, n, now);
    int allowed = 1;
    for (uint32_t i = 0; i < n; i++) {
        const struct prd__rl_rule *r = &l->hdr->rules[i];
        struct prd__rl_eval ev;
        slots[i] = prd__rl_find(l, i, shards[i], hashes[i]);
        struct prd__rl_exact *rec = prd__rl_record(l, i, shards[i], slots[i]);
        t[i] = prd__rl_key_time(r, slots[i], rec, now);
        /* An absent key is judged as empty state: a denial inserts nothing. */
        prd__rl_evaluate(r, slots[i], rec, cost, t[i], now, &ev);
        allowed &= ev.allowed;
        merge(out, (int)i, r, &ev, i == 0);
    }
    if (allowed && record) {
        for (uint32_t i = 0; i < n && st == PRD_OK; i++)
            if (!slots[i] && !(slots[i] = prd__rl_insert(l, i, shards[i], hashes[i])))
                st = PRD_EBUSY; /* keys inserted for earlier rules stay empty: decayed */
        for (uint32_t i = 0; i < n && st == PRD_OK; i++) {
            int64_t mark = prd__rl_commit(&l->hdr->rules[i], slots[i],
                                          prd__rl_record(l, i, shards[i], slots[i]), cost, t[i],
                                          now);
            if (resv) {
                resv->hash[i] = hashes[i];
                resv->t_ms[i] = t[i];
                resv->mark[i] = mark;
            }
        }
    }
    /* Incremental reclamation, after the last use of slots[]: deleting
     * shifts slots around. */
    for (uint32_t i = 0; i < n; i++)
        prd__rl_reclaim(l, i, shards[i], RECLAIM_PER_CHECK);
    unlock_all(shards, n);
    if (st != PRD_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    if (resv && allowed && record) {
        resv->id = l->hdr->id;
        resv->n_rules = n;
        resv->cost = cost;
        resv->state = 1;
    }
    return out->allowed ? PRD_OK : PRD_ELIMITED;
}

/* The public face of prd__limiter_run: the caller's decision keeps the
 * size it declared. */
static prd_status run_public(prd_limiter *l, const prd_rl_key *keys, size_t n_keys,
                             uint64_t cost, int64_t now, int record, prd_rl_decision *out,
                             struct prd__rl_resv *resv)
{
    if (!out || !prd__rl_out_ok(out))
        return PRD_EINVAL;
    size_t size = out->size;
    prd_status st = prd__limiter_run(l, keys, n_keys, cost, now, record, out, resv);
    out->size = size;
    return st;
}

prd_status prd_limiter_check_at(prd_limiter *l, const prd_rl_key *keys, size_t n_keys,
                                uint64_t cost, int64_t now, prd_rl_decision *out)
{
    return run_public(l, keys, n_keys, cost, now, 1, out, NULL);
}

prd_status prd_limiter_peek_at(prd_limiter *l, const prd_rl_key *keys, size_t n_keys,
                               uint64_t cost, int64_t now, prd_rl_decision *out)
{
    return run_public(l, keys, n_keys, cost, now, 0, out, NULL);
}

prd_status prd_limiter_peek(prd_limiter *l, const prd_rl_key *keys, size_t n_keys, uint64_t cost,
                            prd_rl_decision *out)
{
    return prd_limiter_peek_at(l, keys, n_keys, cost, prd__rl_now_ms(l), out);
}

/* The reservation's storage is the caller's; it must hold our state. */
_Static_assert(sizeof(struct prd__rl_resv) <= sizeof(prd_rl_reservation),
               "prd_rl_reservation too small");

static struct prd__rl_resv *resv_of(prd_rl_reservation *r)
{
    return (struct prd__rl_resv *)(void *)r;
}

prd_status prd_limiter_reserve_at(prd_limiter *l, const prd_rl_key *keys, size_t n_keys,
                                  uint64_t cost, int64_t now, prd_rl_decision *out,
                                  prd_rl_reservation *resv)
{
    if (!resv)
        return PRD_EINVAL;
    return run_public(l, keys, n_keys, cost, now, 1, out, resv_of(resv));
}

prd_status prd_limiter_reserve(prd_limiter *l, const prd_rl_key *keys, size_t n_keys,
                               uint64_t cost, prd_rl_decision *out, prd_rl_reservation *resv)
{
    return prd_limiter_reserve_at(l, keys, n_keys, cost, prd__rl_now_ms(l), out, resv);
}

static prd_status settle_check(const prd_limiter *l, const struct prd__rl_resv *r)
{
    if (!l || !r || r->state != 1 || r->id != l->hdr->id || r->n_rules != l->hdr->n_rules)
        return PRD_EINVAL;
    return PRD_OK;
}

prd_status prd_limiter_commit(prd_limiter *l, prd_rl_reservation *resv)
{
    struct prd__rl_resv *r = resv ? resv_of(resv) : NULL;
    prd_status st = settle_check(l, r);
    if (st == PRD_OK)
        r->state = 2;
    return st;
}

prd_status prd_limiter_refund_at(prd_limiter *l, prd_rl_reservation *resv, int64_t now)
{
    struct prd__rl_resv *r = resv ? resv_of(resv) : NULL;
    prd_status st = settle_check(l, r);
    if (st != PRD_OK)
        return st;
    if (now < 0 || now > MAX_TIME_MS)
        return PRD_EINVAL;
    struct prd__rl_shard *shards[PRD_RL_MAX_RULES];
    uint32_t n = r->n_rules;
    for (uint32_t i = 0; i < n; i++)
        shards[i] = prd__rl_shard_of(l, i, r->hash[i]);
    lock_all(l, shards, n, now);
    for (uint32_t i = 0; i < n; i++) {
        /* A key whose state decayed and was reclaimed has nothing left to
         * give back. */
        struct prd__rl_slot *s = prd__rl_find(l, i, shards[i], r->hash[i]);
        if (s)
            prd__rl_refund(&l->hdr->rules[i], s, prd__rl_record(l, i, shards[i], s), r->cost,
                           r->t_ms[i], r->mark[i], now);
    }
    unlock_all(shards, n);
    r->state = 2;
    return PRD_OK;
}

prd_status prd_limiter_refund(prd_limiter *l, prd_rl_reservation *resv)
{
    return prd_limiter_refund_at(l, resv, l ? prd__rl_now_ms(l) : 0);
}

/*
 * Without an injected clock, limits run on CLOCK_MONOTONIC_COARSE: 3 ns a
 * read instead of 26 ns here (kvm-clock), where the precise clock was 30%
 * of a check in perf. Its resolution is the kernel tick (1-4 ms), far
 * below any useful window; docs/ratelimit.md says so.
 */
int64_t prd__rl_now_ms(const prd_limiter *l)
{
    if (l && l->clock)
        return prd_clock_mono_ns(l->clock) / 1000000;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

prd_status prd_limiter_check(prd_limiter *lim, const prd_rl_key *keys, size_t n_keys,
                             uint64_t cost, prd_rl_decision *out)
{
    return prd_limiter_check_at(lim, keys, n_keys, cost, prd__rl_now_ms(lim), out);
}

size_t prd_limiter_key_count(const prd_limiter *lim, int rule)
{
    if (!lim || rule < 0 || (uint32_t)rule >= lim->hdr->n_rules)
        return 0;
    return (size_t)__atomic_load_n(&prd__rl_stats(lim, (uint32_t)rule)->live, __ATOMIC_RELAXED);
}

uint64_t prd_limiter_refused(const prd_limiter *lim, int rule)
{
    if (!lim || rule < 0 || (uint32_t)rule >= lim->hdr->n_rules)
        return 0;
    return __atomic_load_n(&prd__rl_stats(lim, (uint32_t)rule)->refused, __ATOMIC_RELAXED);
}

size_t prd_limiter_bytes_per_key(const prd_limiter *lim, int rule)
{
    if (!lim || rule < 0 || (uint32_t)rule >= lim->hdr->n_rules)
        return 0;
    /* What max_keys keys occupy: the whole index with its slack, and one
     * log record a key for an exact rule. */
    const struct prd__rl_rule *r = &lim->hdr->rules[rule];
    uint64_t index = r->shards * r->capacity * r->slot_bytes;
    return (size_t)((index + r->max_keys / 2) / r->max_keys + r->rec_bytes);
}

