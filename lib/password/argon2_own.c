/*
 * Our own Argon2 (RFC 9106 §3): H0, the first blocks, the passes over the
 * lanes in four slices, and the tag. Every type (d, i, id) and both
 * versions (0x10, 0x13). The blocks live in an arena (arena.c) and are
 * filled by the fastest fill this CPU runs (blamka*.c). For p > 1 the
 * lanes of a slice run on threads that meet at a barrier between slices,
 * as the RFC allows: within a slice no lane reads another's segment.
 *
 * The data-independent passes (argon2i, and argon2id's first half pass)
 * take their reference indexes from address blocks that depend only on
 * the parameters and position, so their memory access pattern and timing
 * reveal nothing about the password; no branch here depends on block
 * contents.
 */
#include "internal/common.h"
#include "internal/argon2_core.h"
#include "internal/encoding.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#define SLICES 4
#define ADDRESSES 128 /* reference indexes per address block */
/* Per thread: the fill's two scratch blocks, the zero, input and address
 * blocks of the data-independent passes and one more for the address
 * computation. In the arena so that its wipe covers them. */
#define WORK_BLOCKS 6

struct work {
    prd__a2block *scratch; /* 2 */
    prd__a2block *zero, *input, *address, *tmp;
};

struct run {
    prd__a2block *mem;
    uint32_t lanes, lane_len, seg_len, passes, m_blocks;
    enum prd__argon2_type type;
    uint32_t version;
    prd__a2_fill_fn fill;
    /* the lane scheduler */
    uint32_t threads;
    pthread_barrier_t barrier;
    pthread_mutex_t start_mu;
    pthread_cond_t start_cv;
    int started;
};

struct worker {
    struct run *run;
    struct work work;
    uint32_t index;
};

static void blake_u32(struct prd__blake2b *s, uint32_t v)
{
    unsigned char b[4];
    prd__le32_store(b, v);
    prd__blake2b_update(s, b, sizeof b);
}

static void h0(const struct prd__a2_input *in, unsigned char out[72])
{
    const struct prd__phc *phc = in->phc;
    struct prd__blake2b s;
    prd__blake2b_init(&s, 64);
    blake_u32(&s, phc->p);
    blake_u32(&s, (uint32_t)phc->tag_len);
    blake_u32(&s, phc->m_kib);
    blake_u32(&s, phc->t);
    blake_u32(&s, phc->version);
    blake_u32(&s, (uint32_t)phc->type);
    blake_u32(&s, (uint32_t)in->pw_len);
    prd__blake2b_update(&s, in->pw, in->pw_len);
    blake_u32(&s, (uint32_t)phc->salt_len);
    prd__blake2b_update(&s, phc->salt, phc->salt_len);
    blake_u32(&s, (uint32_t)in->secret_len);
    prd__blake2b_update(&s, in->secret, in->secret_len);
    blake_u32(&s, (uint32_t)phc->ad_len);
    prd__blake2b_update(&s, phc->ad, phc->ad_len);
    prd__blake2b_final(&s, out);
}

static void bytes_to_block(prd__a2block *b, const unsigned char *p)
{
    for (int i = 0; i < PRD__A2_WORDS; i++)
        b->v[i] = prd__le64_load(p + 8 * i);
}

static void block_to_bytes(unsigned char *p, const prd__a2block *b)
{
    for (int i = 0; i < PRD__A2_WORDS; i++)
        prd__le64_store(p + 8 * i, b->v[i]);
}

/* B[l][0] and B[l][1] = H'^1024(H0 || LE32(0 or 1) || LE32(l)). */
static void first_blocks(struct run *r, unsigned char seed[72], unsigned char *buf)
{
    for (uint32_t l = 0; l < r->lanes; l++)
        for (uint32_t k = 0; k < 2; k++) {
            prd__le32_store(seed + 64, k);
            prd__le32_store(seed + 68, l);
            prd__blake2b_long(buf, 1024, seed, 72);
            bytes_to_block(&r->mem[(size_t)l * r->lane_len + k], buf);
        }
}

/* The next block of reference indexes: G(0, G(0, input)), input's counter
 * advanced first. */
static void next_addresses(const struct run *r, struct work *w)
{
    w->input->v[6]++;
    r->fill(w->tmp, w->zero, w->input, 0, w->scratch, NULL);
    r->fill(w->address, w->zero, w->tmp, 0, w->scratch, NULL);
}

/* RFC 9106 §3.4.1.2: map J1 onto the blocks the current one may
 * reference, counted back from the newest. */
static uint32_t ref_index(const struct run *r, uint32_t pass, uint32_t slice, uint32_t i,
                          uint32_t j1, int same_lane)
{
    uint32_t area;
    if (pass == 0) {
        if (slice == 0)
            area = i - 1;
        else if (same_lane)
            area = slice * r->seg_len + i - 1;
        else
            area = slice * r->seg_len - (i == 0);
    } else if (same_lane) {
        area = r->lane_len - r->seg_len + i - 1;
    } else {
        area = r->lane_len - r->seg_len - (i == 0);
    }
    uint64_t x = ((uint64_t)j1 * j1) >> 32;
    uint64_t rel = area - 1 - (((uint64_t)area * x) >> 32);
    uint32_t start = pass != 0 && slice != SLICES - 1 ? (slice + 1) * r->seg_len : 0;
    return (uint32_t)((start + rel) % r->lane_len);
}

/* The block that block i of the segment references, from its pseudo-random
 * word: J2 picks the lane (the own lane throughout the first slice of the
 * first pass), J1 the block. */
static size_t ref_of(const struct run *r, uint32_t pass, uint32_t lane, uint32_t slice,
                     uint32_t i, uint64_t rnd)
{
    uint32_t ref_lane = pass == 0 && slice == 0 ? lane : (uint32_t)((rnd >> 32) % r->lanes);
    uint32_t idx = ref_index(r, pass, slice, i, (uint32_t)rnd, ref_lane == lane);
    return (size_t)ref_lane * r->lane_len + idx;
}

static void prefetch_block(const prd__a2block *b)
{
    for (size_t off = 0; off < sizeof *b; off += 64)
        __builtin_prefetch((const char *)b + off, 0, 3);
}

/* In a data-dependent segment block i + 1 references by block i's first
 * word: fetch that reference as soon as the fill has the word. */
struct lookahead {
    struct prd__a2_early base;
    const struct run *r;
    uint32_t pass, lane, slice, next_i;
};

static void fetch_next_ref(const struct prd__a2_early *early, uint64_t word0)
{
    const struct lookahead *la = (const struct lookahead *)early;
    if (la->next_i < la->r->seg_len)
        prefetch_block(&la->r->mem[ref_of(la->r, la->pass, la->lane, la->slice, la->next_i, word0)]);
}

static _Atomic(prd__a2_trace_fn) trace;

void prd__a2_set_trace(prd__a2_trace_fn fn)
{
    trace = fn;
}

static void fill_segment(const struct run *r, struct work *w, uint32_t pass, uint32_t lane,
                         uint32_t slice)
{
    int indep = r->type == PRD__ARGON2I ||
                (r->type == PRD__ARGON2ID && pass == 0 && slice < SLICES / 2);
    uint32_t first = pass == 0 && slice == 0 ? 2 : 0;
    if (indep) {
        memset(w->input, 0, sizeof *w->input);
        w->input->v[0] = pass;
        w->input->v[1] = lane;
        w->input->v[2] = slice;
        w->input->v[3] = r->m_blocks;
        w->input->v[4] = r->passes;
        w->input->v[5] = (uint64_t)r->type;
        if (first)
            next_addresses(r, w);
    }
    int xor = r->version != 0x10 && pass != 0;
    struct lookahead la = {{fetch_next_ref}, r, pass, lane, slice, 0};
    size_t lane_base = (size_t)lane * r->lane_len;
    for (uint32_t i = first; i < r->seg_len; i++) {
        uint32_t pos = slice * r->seg_len + i; /* within the lane */
        size_t cur = lane_base + pos;
        size_t prev = pos == 0 ? lane_base + r->lane_len - 1 : cur - 1;
        uint64_t rnd;
        if (indep) {
            if (i % ADDRESSES == 0)
                next_addresses(r, w);
            rnd = w->address->v[i % ADDRESSES];
            /* The next reference is known already: start fetching it
             * while this block is computed (it is mostly not in cache). */
            if ((i + 1) % ADDRESSES != 0 && i + 1 < r->seg_len)
                prefetch_block(&r->mem[ref_of(r, pass, lane, slice, i + 1,
                                              w->address->v[(i + 1) % ADDRESSES])]);
        } else {
            rnd = r->mem[prev].v[0];
        }
        la.next_i = i + 1;
        size_t ref = ref_of(r, pass, lane, slice, i, rnd);
        prd__a2_trace_fn t = atomic_load_explicit(&trace, memory_order_relaxed);
        if (t) /* a test's hook; one predictable branch a block otherwise */
            t(pass, slice, lane, i, ref);
        r->fill(&r->mem[cur], &r->mem[prev], &r->mem[ref], xor, w->scratch,
                indep ? NULL : &la.base);
    }
}

/* Worker k fills lanes k, k + threads, ... of every slice, then waits at
 * the barrier for the others. */
static void run_lanes(struct run *r, struct work *w, uint32_t k)
{
    for (uint32_t pass = 0; pass < r->passes; pass++)
        for (uint32_t slice = 0; slice < SLICES; slice++) {
            for (uint32_t lane = k; lane < r->lanes; lane += r->threads)
                fill_segment(r, w, pass, lane, slice);
            if (r->threads > 1)
                pthread_barrier_wait(&r->barrier);
        }
}

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    struct run *r = wk->run;
    pthread_mutex_lock(&r->start_mu);
    while (!r->started)
        pthread_cond_wait(&r->start_cv, &r->start_mu);
    int go = wk->index < r->threads;
    pthread_mutex_unlock(&r->start_mu);
    if (go)
        run_lanes(r, &wk->work, wk->index);
    return NULL;
}

static void set_work(struct work *w, prd__a2block *at)
{
    w->scratch = at;
    w->zero = at + 2;
    w->input = at + 3;
    w->address = at + 4;
    w->tmp = at + 5;
    memset(w->zero, 0, sizeof *w->zero);
}

#define MAX_THREADS 64

/* Fill every pass on up to want threads. The helpers are started first
 * and told how many made it, so a failed pthread_create only means fewer
 * threads, never a stuck barrier. */
static void fill_all(struct run *r, prd__a2block *work_area, uint32_t want)
{
    struct worker wk[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    uint32_t made = 1;
    r->started = 0;
    pthread_mutex_init(&r->start_mu, NULL);
    pthread_cond_init(&r->start_cv, NULL);
    for (uint32_t k = 0; k < want; k++) {
        wk[k].run = r;
        wk[k].index = k;
        set_work(&wk[k].work, work_area + (size_t)k * WORK_BLOCKS);
    }
    for (uint32_t k = 1; k < want; k++) {
        if (pthread_create(&tid[k], NULL, worker_main, &wk[k]) != 0)
            break;
        made++;
    }
    r->threads = made;
    if (made > 1)
        pthread_barrier_init(&r->barrier, NULL, made);
    pthread_mutex_lock(&r->start_mu);
    r->started = 1;
    pthread_cond_broadcast(&r->start_cv);
    pthread_mutex_unlock(&r->start_mu);
    run_lanes(r, &wk[0].work, 0);
    for (uint32_t k = 1; k < made; k++)
        pthread_join(tid[k], NULL);
    if (made > 1)
        pthread_barrier_destroy(&r->barrier);
    pthread_cond_destroy(&r->start_cv);
    pthread_mutex_destroy(&r->start_mu);
}

static int params_ok(const struct prd__phc *phc)
{
    return phc->p >= 1 && phc->p <= PRD__ARGON2_MAX_LANES && phc->t >= 1 &&
           (uint64_t)phc->m_kib >= 8ull * phc->p && phc->tag_len >= PRD__TAG_MIN &&
           phc->tag_len <= PRD__TAG_MAX && (phc->version == 0x10 || phc->version == 0x13) &&
           (phc->type == PRD__ARGON2D || phc->type == PRD__ARGON2I ||
            phc->type == PRD__ARGON2ID);
}

prd_status prd__argon2_own(const struct prd__a2_input *in, struct prd__arena_pool *pool,
                           uint32_t threads, enum prd__a2_impl impl, unsigned char *tag)
{
    const struct prd__phc *phc = in->phc;
    if (!params_ok(phc) || in->pw_len > UINT32_MAX || in->secret_len > UINT32_MAX)
        return PRD_EINVAL;
    struct run r = {0};
    r.fill = prd__a2_fill_for(impl);
    if (!r.fill)
        return PRD_EINVAL;
    r.lanes = phc->p;
    r.lane_len = phc->m_kib / (SLICES * phc->p) * SLICES;
    r.seg_len = r.lane_len / SLICES;
    r.m_blocks = r.lane_len * r.lanes;
    r.passes = phc->t;
    r.type = phc->type;
    r.version = phc->version;
    uint32_t want = threads < 1 ? 1 : threads;
    if (want > r.lanes)
        want = r.lanes;
    if (want > MAX_THREADS)
        want = MAX_THREADS;
    /* The work blocks are sized by the lanes' thread cap, not by how many
     * threads this call got, so one policy's arenas keep one size. */
    uint32_t work_sets = r.lanes < MAX_THREADS ? r.lanes : MAX_THREADS;
    uint64_t used = ((uint64_t)r.m_blocks + (uint64_t)WORK_BLOCKS * work_sets) * sizeof(prd__a2block);
    struct prd__arena *arena = prd__arena_get(pool, used);
    if (!arena)
        return PRD_ENOMEM;
    r.mem = prd__arena_mem(arena);
    prd__a2block *work_area = r.mem + r.m_blocks;

    unsigned char seed[72], buf[1024];
    h0(in, seed);
    first_blocks(&r, seed, buf);
    fill_all(&r, work_area, want);

    /* C = XOR of every lane's last block; tag = H'^T(C). */
    prd__a2block *c = &work_area[0];
    memcpy(c, &r.mem[r.lane_len - 1], sizeof *c);
    for (uint32_t l = 1; l < r.lanes; l++) {
        const prd__a2block *last = &r.mem[(size_t)l * r.lane_len + r.lane_len - 1];
        for (int i = 0; i < PRD__A2_WORDS; i++)
            c->v[i] ^= last->v[i];
    }
    block_to_bytes(buf, c);
    prd__blake2b_long(tag, phc->tag_len, buf, sizeof buf);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(buf, sizeof buf);
    prd__arena_put(pool, arena, used);
    return PRD_OK;
}
