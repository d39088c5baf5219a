/*
 * Argon2's compression G (RFC 9106 §3.5-3.6) in portable C, and the choice
 * among the fills by what this CPU runs (blamka_sse.c, blamka_avx2.c,
 * (blamka_avx512.c). The portable one is the reference the vector fills are tested against.
 */
#include "internal/common.h"
#include "internal/argon2_core.h"


static uint64_t rotr64(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

/* BlaMka: BLAKE2b's addition with the product of the low halves mixed in. */
static uint64_t blamka(uint64_t x, uint64_t y)
{
    const uint64_t lo = 0xFFFFFFFFu;
    return x + y + 2 * ((x & lo) * (y & lo));
}

#define GB(a, b, c, d)                                                                             \
    do {                                                                                           \
        a = blamka(a, b);                                                                          \
        d = rotr64(d ^ a, 32);                                                                     \
        c = blamka(c, d);                                                                          \
        b = rotr64(b ^ c, 24);                                                                     \
        a = blamka(a, b);                                                                          \
        d = rotr64(d ^ a, 16);                                                                     \
        c = blamka(c, d);                                                                          \
        b = rotr64(b ^ c, 63);                                                                     \
    } while (0)

/* The permutation P over 16 words of w given by their indexes, in place
 * (no copy of the password-derived words on the stack). */
static void permute(uint64_t *w, const unsigned ix[16])
{
#define W(k) w[ix[k]]
    GB(W(0), W(4), W(8), W(12));
    GB(W(1), W(5), W(9), W(13));
    GB(W(2), W(6), W(10), W(14));
    GB(W(3), W(7), W(11), W(15));
    GB(W(0), W(5), W(10), W(15));
    GB(W(1), W(6), W(11), W(12));
    GB(W(2), W(7), W(8), W(13));
    GB(W(3), W(4), W(9), W(14));
#undef W
}

void prd__a2_fill_portable(PRD__A2_FILL_ARGS)
{
    prd__a2block *r = &scratch[0], *keep = &scratch[1];
    for (int i = 0; i < PRD__A2_WORDS; i++) {
        r->v[i] = prev->v[i] ^ ref->v[i];
        keep->v[i] = xor ? r->v[i] ^ next->v[i] : r->v[i];
    }
    /* Rows: eight runs of 16 consecutive words. Columns: the block as an
     * 8x8 matrix of 16-byte registers, column j being words 2j, 2j+1,
     * 2j+16, 2j+17, ... 2j+113. */
    unsigned ix[16];
    for (unsigned row = 0; row < 8; row++) {
        for (unsigned k = 0; k < 16; k++)
            ix[k] = 16 * row + k;
        permute(r->v, ix);
    }
    for (unsigned col = 0; col < 8; col++) {
        for (unsigned k = 0; k < 8; k++) {
            ix[2 * k] = 2 * col + 16 * k;
            ix[2 * k + 1] = 2 * col + 16 * k + 1;
        }
        permute(r->v, ix);
        if (col == 0 && early)
            early->fn(early, keep->v[0] ^ r->v[0]);
    }
    for (int i = 0; i < PRD__A2_WORDS; i++)
        next->v[i] = keep->v[i] ^ r->v[i];
}

static _Atomic int forced_impl;

void prd__a2_force_impl(enum prd__a2_impl impl)
{
    forced_impl = (int)impl;
}

static enum prd__a2_impl best_impl(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return PRD__A2_AVX512;
    if (__builtin_cpu_supports("avx2"))
        return PRD__A2_AVX2;
    if (__builtin_cpu_supports("ssse3"))
        return PRD__A2_SSSE3;
    if (__builtin_cpu_supports("sse2"))
        return PRD__A2_SSE2;
#endif
    return PRD__A2_PORTABLE;
}

static enum prd__a2_impl resolve(enum prd__a2_impl impl)
{
    if (impl != PRD__A2_AUTO)
        return impl;
    int forced = forced_impl;
    return forced != PRD__A2_AUTO ? (enum prd__a2_impl)forced : best_impl();
}

prd__a2_fill_fn prd__a2_fill_for(enum prd__a2_impl impl)
{
    impl = resolve(impl);
    if (impl == PRD__A2_PORTABLE)
        return prd__a2_fill_portable;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (impl == PRD__A2_SSE2 && __builtin_cpu_supports("sse2"))
        return prd__a2_fill_sse2;
    if (impl == PRD__A2_SSSE3 && __builtin_cpu_supports("ssse3"))
        return prd__a2_fill_ssse3;
    if (impl == PRD__A2_AVX2 && __builtin_cpu_supports("avx2"))
        return prd__a2_fill_avx2;
    if (impl == PRD__A2_AVX512 && __builtin_cpu_supports("avx512f"))
        return prd__a2_fill_avx512;
#endif
    return NULL;
}

const char *prd__a2_fill_name(enum prd__a2_impl impl)
{
    switch (resolve(impl)) {
    case PRD__A2_SSE2: return "own-sse2";
    case PRD__A2_SSSE3: return "own-ssse3";
    case PRD__A2_AVX2: return "own-avx2";
    case PRD__A2_AVX512: return "own-avx512";
    default: return "own-portable";
    }
}
