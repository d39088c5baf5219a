/*
 * Our own Argon2 against the two libraries it replaces, and its memory:
 * BLAKE2b against libsodium's (digests under 16 bytes, which libsodium
 * does not make, through the tags of 4-15 bytes below); random parameters of every type and version
 * against libargon2 (and libsodium where it applies) on every fill this CPU
 * runs; arenas wiped, reused, bounded by the budget, given back when idle,
 * and a failed mapping reported; lanes on threads under concurrency.
 * Random cases print their seed; PRD_TEST_SEED replays one.
 */
#include "support/testutil.h"

#include <argon2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "internal/alloc.h"
#include "internal/argon2_core.h"
#include "internal/password.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t below(uint32_t n) { return (uint32_t)(rnd() % n); }

static void fill_random(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)rnd();
}

static void seed_rng(void)
{
    const char *env = getenv("PRD_TEST_SEED");
    rng_state = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    printf("# PRD_TEST_SEED=%llu\n", (unsigned long long)rng_state);
}

/* ---- BLAKE2b ---- */

static void test_blake2b_matches_libsodium(void **state)
{
    (void)state;
    unsigned char in[400], a[64], b[64];
    fill_random(in, sizeof in);
    /* Every length around the 128-byte block edges, every digest size
     * libsodium produces. */
    for (size_t len = 0; len <= sizeof in; len += (len < 260 ? 1 : 13))
        for (size_t out = 16; out <= 64; out += 16) {
            prd__blake2b(a, out, in, len);
            crypto_generichash(b, out, in, len, NULL, 0);
            assert_memory_equal(a, b, out);
        }
    /* Incremental input in odd pieces gives the one-shot digest. */
    struct prd__blake2b s;
    prd__blake2b_init(&s, 64);
    for (size_t at = 0; at < sizeof in;) {
        size_t piece = 1 + below(150);
        if (piece > sizeof in - at)
            piece = sizeof in - at;
        prd__blake2b_update(&s, in + at, piece);
        at += piece;
    }
    prd__blake2b_final(&s, a);
    crypto_generichash(b, 64, in, sizeof in, NULL, 0);
    assert_memory_equal(a, b, 64);
}

/* ---- differential: random parameters against libargon2 and libsodium ---- */

struct input {
    struct prd__phc phc;
    unsigned char pw[160], secret[64];
    size_t pw_len, secret_len;
};

static void random_input(struct input *in, uint32_t max_m)
{
    memset(in, 0, sizeof *in);
    struct prd__phc *phc = &in->phc;
    phc->type = (enum prd__argon2_type)below(3);
    phc->version = below(3) == 0 ? 0x10 : 0x13;
    phc->p = 1 + below(6);
    phc->t = 1 + below(4);
    phc->m_kib = 8 * phc->p + below(max_m);
    phc->tag_len = PRD__TAG_MIN + below(PRD__TAG_MAX - PRD__TAG_MIN + 1);
    phc->salt_len = PRD__SALT_MIN + below(PRD__SALT_MAX - PRD__SALT_MIN + 1);
    fill_random(phc->salt, phc->salt_len);
    phc->ad_len = below(3) == 0 ? below(65) : 0;
    fill_random(phc->ad, phc->ad_len);
    in->pw_len = below(sizeof in->pw + 1);
    fill_random(in->pw, in->pw_len);
    in->secret_len = below(3) == 0 ? below(sizeof in->secret + 1) : 0;
    fill_random(in->secret, in->secret_len);
}

static void libargon2_tag(const struct input *in, unsigned char *tag)
{
    const struct prd__phc *phc = &in->phc;
    argon2_context ctx = {
        .out = tag,
        .outlen = (uint32_t)phc->tag_len,
        .pwd = (uint8_t *)(uintptr_t)in->pw,
        .pwdlen = (uint32_t)in->pw_len,
        .salt = (uint8_t *)(uintptr_t)phc->salt,
        .saltlen = (uint32_t)phc->salt_len,
        .secret = in->secret_len ? (uint8_t *)(uintptr_t)in->secret : NULL,
        .secretlen = (uint32_t)in->secret_len,
        .ad = phc->ad_len ? (uint8_t *)(uintptr_t)phc->ad : NULL,
        .adlen = (uint32_t)phc->ad_len,
        .t_cost = phc->t,
        .m_cost = phc->m_kib,
        .lanes = phc->p,
        .threads = 1,
        .version = phc->version,
        .flags = ARGON2_DEFAULT_FLAGS,
    };
    assert_int_equal(argon2_ctx(&ctx, (argon2_type)phc->type), ARGON2_OK);
}

static int impl_count(void)
{
    int n = 0;
    for (int impl = PRD__A2_PORTABLE; impl < PRD__A2_N_IMPL; impl++)
        n += prd__a2_fill_for((enum prd__a2_impl)impl) != NULL;
    return n;
}

static void check_case(const struct input *in, struct prd__arena_pool *pool, uint32_t threads)
{
    unsigned char want[PRD__TAG_MAX], got[PRD__TAG_MAX];
    libargon2_tag(in, want);
    struct prd__a2_input a = {&in->phc, in->pw, in->pw_len, in->secret, in->secret_len};
    for (int impl = PRD__A2_PORTABLE; impl < PRD__A2_N_IMPL; impl++) {
        if (!prd__a2_fill_for((enum prd__a2_impl)impl))
            continue;
        memset(got, 0, sizeof got);
        assert_ok(prd__argon2_own(&a, pool, threads, (enum prd__a2_impl)impl, got));
        if (memcmp(got, want, in->phc.tag_len) != 0)
            fail_msg("own fill %s differs from libargon2: type %d v%#x m=%u t=%u p=%u tag %zu",
                     prd__a2_fill_name((enum prd__a2_impl)impl), (int)in->phc.type,
                     in->phc.version, in->phc.m_kib, in->phc.t, in->phc.p, in->phc.tag_len);
    }
    if (in->secret_len == 0 && prd__argon2_sodium_can(&in->phc)) {
        prd__argon2_force_backend(PRD__BACKEND_LIBSODIUM);
        assert_ok(prd__argon2_compute(&in->phc, in->pw, in->pw_len, got));
        prd__argon2_force_backend(PRD__BACKEND_ROUTE);
        assert_memory_equal(got, want, in->phc.tag_len);
    }
}

static void test_random_parameters_agree(void **state)
{
    (void)state;
    assert_true(impl_count() >= 2); /* portable, and SSE2 on any x86-64 */
    struct prd__arena_pool pool;
    prd__arena_pool_init(&pool, (uint64_t)64 << 20, 1000);
    for (int i = 0; i < 120; i++) {
        struct input in;
        random_input(&in, 600);
        /* Lanes on threads or in turn, through a reused arena or not. */
        check_case(&in, i % 2 ? &pool : NULL, 1 + below(4));
    }
    prd__arena_pool_destroy(&pool);
}

/* libsodium's own shape (argon2id/argon2i v19, p = 1, 16-byte salt) at
 * sizes where the address blocks and segments span many blocks. */
static void test_libsodium_shapes_agree(void **state)
{
    (void)state;
    for (int i = 0; i < 12; i++) {
        struct input in;
        random_input(&in, 1);
        in.phc.type = i % 2 ? PRD__ARGON2ID : PRD__ARGON2I;
        in.phc.version = 0x13;
        in.phc.p = 1;
        in.phc.t = 3 + below(2);
        in.phc.m_kib = 256 + below(4096);
        in.phc.salt_len = 16;
        in.phc.tag_len = 16 + below(49);
        in.phc.ad_len = 0;
        in.secret_len = 0;
        assert_true(prd__argon2_sodium_can(&in.phc));
        check_case(&in, NULL, 1);
    }
}

/* ---- the data-independent passes reference the same blocks whatever
 * the password ---- */

#define TRACE_MAX 4096
static struct trace_rec {
    uint32_t pass, slice, lane, index;
    size_t ref;
} trace_buf[TRACE_MAX];
static _Atomic size_t trace_len;

static void record(uint32_t pass, uint32_t slice, uint32_t lane, uint32_t index, size_t ref)
{
    size_t at = trace_len++;
    if (at < TRACE_MAX)
        trace_buf[at] = (struct trace_rec){pass, slice, lane, index, ref};
}

static int cmp_rec(const void *a, const void *b)
{
    const struct trace_rec *x = a, *y = b;
    if (x->pass != y->pass)
        return x->pass < y->pass ? -1 : 1;
    if (x->slice != y->slice)
        return x->slice < y->slice ? -1 : 1;
    if (x->lane != y->lane)
        return x->lane < y->lane ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The references of one hash of pw, in block order (lanes run on
 * threads, so the trace is sorted). */
static size_t trace_of(enum prd__argon2_type type, const char *pw, struct trace_rec *out)
{
    struct prd__phc phc;
    memset(&phc, 0, sizeof phc);
    phc.type = type;
    phc.version = 0x13;
    phc.m_kib = 256;
    phc.t = 3;
    phc.p = 2;
    phc.salt_len = 16;
    phc.tag_len = 32;
    memset(phc.salt, 7, 16);
    struct prd__a2_input in = {&phc, (const unsigned char *)pw, strlen(pw), NULL, 0};
    unsigned char tag[32];
    trace_len = 0;
    prd__a2_set_trace(record);
    assert_ok(prd__argon2_own(&in, NULL, 2, PRD__A2_AUTO, tag));
    prd__a2_set_trace(NULL);
    size_t n = trace_len;
    assert_true(n <= TRACE_MAX);
    assert_int_equal(n, 3u * 256 - 2 * 2); /* every block of every pass but each lane's first two */
    memcpy(out, trace_buf, n * sizeof *out);
    qsort(out, n, sizeof *out, cmp_rec);
    return n;
}

static void test_independent_passes_ignore_the_password(void **state)
{
    (void)state;
    static struct trace_rec a[TRACE_MAX], b[TRACE_MAX];
    /* argon2i: every reference the same for two passwords. */
    size_t n = trace_of(PRD__ARGON2I, "correct horse", a);
    assert_int_equal(trace_of(PRD__ARGON2I, "battery staple", b), n);
    assert_memory_equal(a, b, n * sizeof *a);
    /* argon2id: the same through the first two slices of the first pass,
     * then password-dependent (so the check above can tell). */
    n = trace_of(PRD__ARGON2ID, "correct horse", a);
    assert_int_equal(trace_of(PRD__ARGON2ID, "battery staple", b), n);
    size_t same = 0, later_diff = 0;
    for (size_t i = 0; i < n; i++) {
        int independent = a[i].pass == 0 && a[i].slice < 2;
        if (independent)
            same += a[i].ref == b[i].ref;
        else
            later_diff += a[i].ref != b[i].ref;
        if (independent)
            assert_true(a[i].ref == b[i].ref);
    }
    assert_true(same > 0);
    assert_true(later_diff > n / 4);
    /* argon2d: password-dependent from the start. */
    n = trace_of(PRD__ARGON2D, "correct horse", a);
    trace_of(PRD__ARGON2D, "battery staple", b);
    size_t first_slice_diff = 0;
    for (size_t i = 0; i < n; i++)
        first_slice_diff += a[i].pass == 0 && a[i].slice == 0 && a[i].ref != b[i].ref;
    assert_true(first_slice_diff > 0);
}

/* ---- no change in any PHC string ---- */

static void test_strings_verify_elsewhere(void **state)
{
    (void)state;
    prd_password_policy *pol;
    assert_ok(prd_password_policy_new(NULL, &pol));
    assert_ok(prd_password_policy_set_params(pol, 2, 1024, 1));
    prd__argon2_force_backend(PRD__BACKEND_OWN);
    char s[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(pol, "hunter2", 7, s, sizeof s));
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    assert_int_equal(argon2id_verify(s, "hunter2", 7), ARGON2_OK);
    assert_int_equal(crypto_pwhash_str_verify(s, "hunter2", 7), 0);
    assert_int_not_equal(crypto_pwhash_str_verify(s, "hunter3", 7), 0);
    /* And libargon2's strings, p = 3, verify through ours. */
    char ref[256];
    unsigned char salt[16];
    randombytes_buf(salt, sizeof salt);
    assert_int_equal(argon2id_hash_encoded(2, 96, 3, "pw", 2, salt, 16, 32, ref, sizeof ref),
                     ARGON2_OK);
    prd__argon2_force_backend(PRD__BACKEND_OWN);
    assert_ok(prd_password_verify(pol, "pw", 2, ref));
    assert_status(prd_password_verify(pol, "pX", 2, ref), PRD_EMISMATCH);
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    prd_password_policy_free(pol);
}

static void test_backend_name(void **state)
{
    (void)state;
    const char *b = prd_password_backend();
    static const char *const known[] = {"own-avx512", "own-avx2", "own-ssse3", "own-sse2",
                                        "own-portable", "libsodium", "libargon2"};
    int found = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        found |= strcmp(b, known[i]) == 0;
    assert_true(found);
    assert_string_equal(b, prd_password_backend()); /* measured once */
    /* The build's choice (meson -Dargon2) is what runs. */
    if (strcmp(PRD_TEST_ARGON2, "own") == 0)
        assert_memory_equal(b, "own-", 4);
    else if (strcmp(PRD_TEST_ARGON2, "auto") != 0)
        assert_string_equal(b, PRD_TEST_ARGON2);
}

/* The routing rule: ours unless a library is faster by more than 10%. */
static void test_route_pick(void **state)
{
    (void)state;
    assert_int_equal(prd__argon2_route_pick(5, 10, 17, 1), PRD__BACKEND_OWN);
    assert_int_equal(prd__argon2_route_pick(10, 9.5, 17, 1), PRD__BACKEND_OWN); /* within 10% */
    assert_int_equal(prd__argon2_route_pick(10, 8, 17, 1), PRD__BACKEND_LIBSODIUM);
    assert_int_equal(prd__argon2_route_pick(10, 8, 17, 0), PRD__BACKEND_OWN); /* libsodium cannot */
    assert_int_equal(prd__argon2_route_pick(10, 8, 7, 1), PRD__BACKEND_LIBARGON2);
    assert_int_equal(prd__argon2_route_pick(10, 12, 7, 0), PRD__BACKEND_LIBARGON2);
    assert_int_equal(prd__argon2_route_pick(10, 1e9, 1e9, 1), PRD__BACKEND_OWN); /* both failed */
    /* Ours failing to run (no memory then) keeps ours: a passing shortage
     * must not route the whole process. */
    assert_int_equal(prd__argon2_route_pick(1e9, 8, 7, 1), PRD__BACKEND_OWN);
    assert_int_equal(prd__argon2_route_pick(1e9, 8, 7, 0), PRD__BACKEND_OWN);
}

/* ---- arenas ---- */

static int all_zero(const void *p, uint64_t n)
{
    const unsigned char *b = p;
    unsigned char acc = 0;
    for (uint64_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

static prd_password_policy *small_policy(uint32_t m_kib, uint32_t p)
{
    prd_password_policy *pol;
    assert_ok(prd_password_policy_new(NULL, &pol));
    assert_ok(prd_password_policy_set_params(pol, 1, m_kib, p));
    return pol;
}

static void test_arena_wiped_and_reused(void **state)
{
    (void)state;
    prd_password_policy *pol = small_policy(4096, 1);
    struct prd__arena_pool *pool = prd__argon2_env_pool(pol->env);
    prd__argon2_force_backend(PRD__BACKEND_OWN);
    char s[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(pol, "secret", 6, s, sizeof s));
    uint64_t bytes = 0;
    const void *mem = prd__arena_peek_idle(pool, &bytes);
    assert_non_null(mem);
    assert_true(bytes >= 4096u * 1024u);
    assert_true(all_zero(mem, bytes)); /* nothing password-derived left */
    /* What the policy reports as kept (its metrics' arena_bytes). */
    assert_int_equal(prd_password_stat_get(pol, PRD_PASSWORD_STAT_ARENA_KIB) * 1024,
                     prd__argon2_env_held(pol->env));
    assert_true(prd_password_stat_get(pol, PRD_PASSWORD_STAT_ARENA_KIB) >= 4096);
    uint64_t mapped = pool->mapped;
    assert_ok(prd_password_verify(pol, "secret", 6, s));
    assert_ok(prd_password_hash(pol, "secret", 6, s, sizeof s));
    assert_int_equal(pool->mapped, mapped); /* the same arena again */
    assert_true(pool->reused >= 2);
    mem = prd__arena_peek_idle(pool, &bytes);
    assert_true(all_zero(mem, bytes));
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    prd_password_policy_free(pol);
}

static void test_arena_idle_release(void **state)
{
    (void)state;
    prd_password_policy *pol = small_policy(2048, 1);
    struct prd__arena_pool *pool = prd__argon2_env_pool(pol->env);
    prd__argon2_force_backend(PRD__BACKEND_OWN);
    assert_ok(prd_password_policy_set_arena_idle(pol, 60000));
    char s[PRD_PASSWORD_HASH_SIZE];
    int64_t before = prd_clock_mono_ns(NULL);
    assert_ok(prd_password_hash(pol, "pw", 2, s, sizeof s));
    int64_t after = prd_clock_mono_ns(NULL);
    assert_true(prd__argon2_env_held(pol->env) >= 2048u * 1024u);
    /* Not yet due a moment before its idle time is up: kept, and the
     * reap says when it will be due. */
    int64_t due = prd__arena_pool_reap(pool, before + 59999 * 1000000LL);
    assert_true(due >= before + 60000 * 1000000LL && due <= after + 60000 * 1000000LL);
    assert_true(prd__argon2_env_held(pol->env) >= 2048u * 1024u);
    /* Due once the clock has moved past it: given back. */
    assert_int_equal(prd__arena_pool_reap(pool, after + 60000 * 1000000LL), 0);
    assert_int_equal(prd__argon2_env_held(pol->env), 0);
    assert_int_equal(pool->unmapped, 1);
    /* 0: nothing kept after a hash. */
    assert_ok(prd_password_policy_set_arena_idle(pol, 0));
    assert_ok(prd_password_hash(pol, "pw", 2, s, sizeof s));
    assert_int_equal(prd__argon2_env_held(pol->env), 0);
    assert_status(prd_password_policy_set_arena_idle(NULL, 5), PRD_EINVAL);
    /* A budget past any machine does not wrap the arenas' limit to a tiny
     * one (which would unmap every arena): the next hash's is kept. */
    assert_ok(prd_password_policy_set_arena_idle(pol, 60000));
    assert_ok(prd_password_policy_set_budget(pol, UINT64_MAX, 100));
    assert_ok(prd_password_hash(pol, "pw", 2, s, sizeof s));
    assert_true(prd__argon2_env_held(pol->env) >= 2048u * 1024u);
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    prd_password_policy_free(pol);
}

/* ThreadSanitizer stops a child that starts a thread after a threaded
 * parent forked; there the child keeps no arena, so starts no reaper. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

/* A child of fork() inherits the idle arenas but not the reaper: it hashes
 * with them, and freeing the policy there neither hangs on the parent's
 * reaper nor leaks. */
static void test_arena_after_fork(void **state)
{
    (void)state;
    prd_password_policy *pol = small_policy(1024, 1);
    prd__argon2_force_backend(PRD__BACKEND_OWN);
    char s[PRD_PASSWORD_HASH_SIZE];
    assert_ok(prd_password_hash(pol, "pw", 2, s, sizeof s)); /* reaper running */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(20); /* a hang fails the test instead of stalling it */
        char t[PRD_PASSWORD_HASH_SIZE];
        int ok = 1;
        if (UNDER_TSAN)
            ok = prd_password_policy_set_arena_idle(pol, 0) == PRD_OK;
        ok = ok && prd_password_verify(pol, "pw", 2, s) == PRD_OK &&
             prd_password_hash(pol, "pw", 2, t, sizeof t) == PRD_OK &&
             (UNDER_TSAN || prd__argon2_env_held(pol->env) > 0);
        prd_password_policy_free(pol);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_ok(prd_password_verify(pol, "pw", 2, s)); /* the parent's pool untouched */
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    prd_password_policy_free(pol);
}

/* The VmFlags of the mapping that holds addr, from /proc/self/smaps. */
static int vm_flags_of(const void *addr, char *flags, size_t size)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return 0;
    char line[512];
    int in = 0, found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(flags, size, "%.*s", (int)(size - 1), line + 8);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* A child's end with its verdict, by exec so that valgrind does not count
 * as lost the memory of a parent's thread that the child does not have. */
static void child_verdict(int ok)
{
    execl(ok ? "/bin/true" : "/bin/false", ok ? "true" : "false", (char *)NULL);
    _exit(ok ? 0 : 1);
}

struct long_hash {
    prd_password_policy *pol;
    _Atomic int done;
};

static void *hash_slowly(void *arg)
{
    struct long_hash *h = arg;
    char s[PRD_PASSWORD_HASH_SIZE];
    prd_status st = prd_password_hash(h->pol, "pw", 2, s, sizeof s);
    atomic_store(&h->done, 1);
    return (void *)(intptr_t)st;
}

/* A child forked while another thread's hash holds the whole budget
 * hashes at once: the parent's hash in flight holds nothing in the child
 * (its thread is not there to give the memory back). */
static void test_budget_after_fork(void **state)
{
    (void)state;
    prd_password_policy *pol = small_policy(8192, 1);
    assert_ok(prd_password_policy_set_caps(pol, 64, 65536, 4));
    assert_ok(prd_password_policy_set_params(pol, 60, 8192, 1)); /* hundreds of ms */
    assert_ok(prd_password_policy_set_budget(pol, 8192, 300)); /* one hash at a time */
    /* The fork must come while the hash is in flight. A hash can end
     * before this thread sees it start (this thread not scheduled for
     * its whole length: valgrind's default scheduler lets a busy thread
     * keep its lock), so the wait also ends when the hash does, and the
     * hash is tried again, a few times, rather than waited for forever. */
    struct long_hash h;
    pthread_t t;
    int in_flight = 0;
    for (int attempt = 0; attempt < 5 && !in_flight; attempt++) {
        h = (struct long_hash){pol, 0};
        assert_int_equal(pthread_create(&t, NULL, hash_slowly, &h), 0);
        while (!(in_flight = prd_password_stat_get(pol, PRD_PASSWORD_STAT_IN_FLIGHT) != 0) &&
               !atomic_load(&h.done))
            usleep(1000);
        if (!in_flight) {
            void *ret = NULL;
            assert_int_equal(pthread_join(t, &ret), 0);
            assert_int_equal((int)(intptr_t)ret, PRD_OK);
        }
    }
    if (!in_flight)
        fail_msg("five hashes of hundreds of ms each ended before this thread saw one in flight");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(20);
        char s[PRD_PASSWORD_HASH_SIZE];
        int ok = 1;
        if (UNDER_TSAN) /* no reaper thread after a threaded fork */
            ok = prd_password_policy_set_arena_idle(pol, 0) == PRD_OK;
        ok = ok && prd_password_stat_get(pol, PRD_PASSWORD_STAT_IN_FLIGHT) == 0 &&
                 prd_password_policy_set_params(pol, 1, 8192, 1) == PRD_OK &&
                 prd_password_hash(pol, "pw", 2, s, sizeof s) == PRD_OK &&
                 prd_password_verify(pol, "pw", 2, s) == PRD_OK;
        child_verdict(ok);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    void *ret = NULL;
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_int_equal((int)(intptr_t)ret, PRD_OK);
    prd_password_policy_free(pol);
}

static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    int n = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* Many policies, one reaper thread for the process: it runs while any
 * arena is kept and is gone when the last pool is. */
static void test_one_reaper_for_many_policies(void **state)
{
    (void)state;
    prd__argon2_force_backend(PRD__BACKEND_OWN);
    enum { N = 12 };
    prd_password_policy *pols[N];
    int before = thread_count();
    assert_true(before > 0);
    char s[PRD_PASSWORD_HASH_SIZE];
    for (int i = 0; i < N; i++) {
        pols[i] = small_policy(64, 1);
        assert_ok(prd_password_hash(pols[i], "pw", 2, s, sizeof s));
        assert_true(prd__argon2_env_held(pols[i]->env) > 0); /* an arena kept */
    }
    assert_int_equal(prd__arena_reaper_running(), 1);
    assert_true(thread_count() <= before + 1);
    /* it still reaps: an idle time of 1 ms empties a pool soon */
    assert_ok(prd_password_policy_set_arena_idle(pols[3], 1));
    for (int tries = 0; tries < 2000 && prd__argon2_env_held(pols[3]->env) > 0; tries++)
        usleep(1000);
    assert_int_equal(prd__argon2_env_held(pols[3]->env), 0);
    assert_true(prd__argon2_env_held(pols[4]->env) > 0);
    for (int i = 0; i < N; i++)
        prd_password_policy_free(pols[i]);
    assert_int_equal(prd__arena_reaper_running(), 0);
    assert_true(thread_count() <= before);
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
}

/* An arena is left out of core dumps, and a child forked while a hash
 * holds it reads zeros there, not the parent's blocks. */
static void test_arena_hidden_from_dumps_and_children(void **state)
{
    (void)state;
    struct prd__arena_pool pool;
    prd__arena_pool_init(&pool, (uint64_t)8 << 20, 1000);
    struct prd__arena *a = prd__arena_get(&pool, (uint64_t)4 << 20);
    assert_non_null(a);
    unsigned char *mem = prd__arena_mem(a);
    memset(mem, 0xA5, (size_t)4 << 20);
    char flags[512];
    assert_true(vm_flags_of(mem, flags, sizeof flags));
    assert_non_null(strstr(flags, " dd"));
    assert_non_null(strstr(flags, " wf"));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t nonzero = 0;
        for (size_t i = 0; i < ((size_t)4 << 20); i++)
            nonzero += mem[i] != 0;
        _exit(nonzero == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(mem[12345], 0xA5); /* the parent keeps its blocks */
    prd__arena_put(&pool, a, (uint64_t)4 << 20);
    prd__arena_pool_destroy(&pool);
}

/* A failed allocation (the arena's record, then its mapping) is
 * PRD_ENOMEM, holds nothing, and the next hash works. */
static void test_arena_out_of_memory(void **state)
{
    (void)state;
    prd_password_policy *pol = small_policy(1024, 1);
    prd__argon2_force_backend(PRD__BACKEND_OWN);
    char s[PRD_PASSWORD_HASH_SIZE];
    for (long n = 1; n <= 2; n++) {
        long before = prd__alloc_failures();
        prd__alloc_fail_after(n);
        assert_status(prd_password_hash(pol, "pw", 2, s, sizeof s), PRD_ENOMEM);
        prd__alloc_fail_after(0);
        assert_int_equal(prd__alloc_failures(), before + 1);
        assert_string_equal(s, "");
        assert_int_equal(prd__argon2_env_held(pol->env), 0);
        assert_int_equal(prd_password_stat_get(pol, PRD_PASSWORD_STAT_IN_FLIGHT_KIB), 0);
    }
    assert_ok(prd_password_hash(pol, "pw", 2, s, sizeof s));
    assert_ok(prd_password_verify(pol, "pw", 2, s));
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    prd_password_policy_free(pol);
}

/* ---- concurrency: the budget bounds what the arenas hold ---- */

struct hammer {
    prd_password_policy *pol;
    uint64_t limit, max_held;
    int rounds, failures;
    pthread_mutex_t mu;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    char s[PRD_PASSWORD_HASH_SIZE];
    for (int i = 0; i < h->rounds; i++) {
        int ok = prd_password_hash(h->pol, "pw", 2, s, sizeof s) == PRD_OK &&
                 prd_password_verify(h->pol, "pw", 2, s) == PRD_OK &&
                 prd_password_verify(h->pol, "px", 2, s) == PRD_EMISMATCH;
        uint64_t held = prd__argon2_env_held(h->pol->env);
        pthread_mutex_lock(&h->mu);
        h->failures += !ok;
        if (held > h->max_held)
            h->max_held = held;
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

static void run_hammer(uint32_t m_kib, uint32_t p, uint64_t budget_kib, int threads)
{
    struct hammer h = {0};
    h.pol = small_policy(m_kib, p);
    assert_ok(prd_password_policy_set_budget(h.pol, budget_kib, 10000));
    h.rounds = 6;
    pthread_mutex_init(&h.mu, NULL);
    prd__argon2_force_backend(PRD__BACKEND_OWN);
    pthread_t t[8];
    for (int i = 0; i < threads; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h), 0);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    assert_int_equal(h.failures, 0);
    /* The budget plus bookkeeping (1 MiB and 1/64, policy.c). */
    uint64_t ceiling = budget_kib * 1024 + budget_kib * 16 + (1u << 20);
    assert_true(h.max_held > 0);
    assert_true(h.max_held <= ceiling);
    assert_true(prd__argon2_env_held(h.pol->env) <= ceiling);
    assert_true(prd_password_stat_get(h.pol, PRD_PASSWORD_STAT_PEAK_KIB) <= budget_kib);
    /* Every helper thread was given back. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(prd__argon2_env_helpers_free(h.pol->env), (uint32_t)(cpus < 1 ? 1 : cpus) - 1);
    pthread_mutex_destroy(&h.mu);
    prd_password_policy_free(h.pol);
}

static void test_budget_bounds_arenas(void **state)
{
    (void)state;
    run_hammer(2048, 1, 2048, 4);     /* one hash at a time */
    run_hammer(2048, 1, 3 * 2048, 6); /* three at once */
    run_hammer(1024, 3, 2048, 4);     /* lanes on threads */
}

/* Old hashes of other sizes come and go without the arenas passing the
 * budget: each size needs its own arena, and the older ones are dropped. */
static void test_mixed_sizes_stay_bounded(void **state)
{
    (void)state;
    prd_password_policy *pol = small_policy(1024, 1);
    assert_ok(prd_password_policy_set_budget(pol, 3072, 1000));
    prd__argon2_force_backend(PRD__BACKEND_OWN);
    uint64_t ceiling = 3072u * 1024u + 3072u * 16u + (1u << 20);
    for (uint32_t m = 512; m <= 3072; m += 256) {
        char s[PRD_PASSWORD_HASH_SIZE];
        assert_ok(prd_password_policy_set_params(pol, 1, m, 1));
        assert_ok(prd_password_hash(pol, "pw", 2, s, sizeof s));
        assert_true(prd__argon2_env_held(pol->env) <= ceiling);
    }
    prd__argon2_force_backend(PRD__BACKEND_ROUTE);
    prd_password_policy_free(pol);
}

int main(void)
{
    if (prd_init() != PRD_OK)
        return 1;
    seed_rng();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blake2b_matches_libsodium),
        cmocka_unit_test(test_random_parameters_agree),
        cmocka_unit_test(test_libsodium_shapes_agree),
        cmocka_unit_test(test_independent_passes_ignore_the_password),
        cmocka_unit_test(test_strings_verify_elsewhere),
        cmocka_unit_test(test_backend_name),
        cmocka_unit_test(test_route_pick),
        cmocka_unit_test(test_arena_wiped_and_reused),
        cmocka_unit_test(test_arena_idle_release),
        cmocka_unit_test(test_arena_out_of_memory),
        cmocka_unit_test(test_arena_after_fork),
        cmocka_unit_test(test_arena_hidden_from_dumps_and_children),
        cmocka_unit_test(test_budget_after_fork),
        cmocka_unit_test(test_one_reaper_for_many_policies),
        cmocka_unit_test(test_budget_bounds_arenas),
        cmocka_unit_test(test_mixed_sizes_stay_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
