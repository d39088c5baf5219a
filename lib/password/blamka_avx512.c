/*
 * Argon2's compression with AVX-512F: rotations are single instructions
 * and each register holds eight words. The row pass takes all eight rows
 * at once as four pairs, the quarter-rows of a pair in the two 256-bit
 * halves (loaded and stored by half, which folds into the loads and
 * stores); the column
 * pass takes four neighbouring columns, one in each 128-bit quarter, and
 * lines the diagonals up within each quarter with two-source permutes.
 */
#include "internal/common.h"
#include "internal/argon2_core.h"
#include "internal/blamka_simd.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define ADD(a, b) _mm512_add_epi64(a, b)
#define XOR(a, b) _mm512_xor_si512(a, b)
#define BLAMKA(x, y) ADD(ADD(x, y), _mm512_slli_epi64(_mm512_mul_epu32(x, y), 1))

#define ROTR32(x) _mm512_ror_epi64(x, 32)
#define ROTR24(x) _mm512_ror_epi64(x, 24)
#define ROTR16(x) _mm512_ror_epi64(x, 16)
#define ROTR63(x) _mm512_ror_epi64(x, 63)

/* Rows: b, c, d rotated left by one, two, three words in each half. */
#define PERM(x, i) _mm512_permutex_epi64(x, i)
/* Columns, per 128-bit quarter: ALIGNR8(hi, lo) = (lo's high word, hi's
 * low word), as palignr by 8 does per lane. */
#define ALIGNR8(hi, lo) _mm512_permutex2var_epi64(lo, halves, hi)

#define TARGET __attribute__((target("avx512f")))

/* Two 256-bit pieces (32-byte aligned) into one register, and back. */
#define JOIN(lo, hi)                                                                               \
    _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_load_si256((const __m256i *)(lo))),          \
                       _mm256_load_si256((const __m256i *)(hi)), 1)
#define SPLIT(x, lo, hi)                                                                           \
    do {                                                                                           \
        _mm256_store_si256((__m256i *)(lo), _mm512_castsi512_si256(x));                            \
        _mm256_store_si256((__m256i *)(hi), _mm512_extracti64x4_epi64(x, 1));                      \
    } while (0)

/* Four independent G chains interleaved step by step: one G is a serial
 * chain of multiplies and adds, and its latency, not the ports, bounds a
 * block (balancing rotations onto other ports measured no change). */
#define G4(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3)                          \
    do {                                                                                           \
        STEP4(a, b, d, 32);                                                                        \
        STEP4(c, d, b, 24);                                                                        \
        STEP4(a, b, d, 16);                                                                        \
        STEP4(c, d, b, 63);                                                                        \
    } while (0)
/* x = blamka(x, y); z = ror(z ^ x, n) on all four chains. */
#define STEP4(x, y, z, n)                                                                          \
    do {                                                                                           \
        x##0 = BLAMKA(x##0, y##0);                                                                 \
        x##1 = BLAMKA(x##1, y##1);                                                                 \
        x##2 = BLAMKA(x##2, y##2);                                                                 \
        x##3 = BLAMKA(x##3, y##3);                                                                 \
        z##0 = ROTR##n(XOR(z##0, x##0));                                                           \
        z##1 = ROTR##n(XOR(z##1, x##1));                                                           \
        z##2 = ROTR##n(XOR(z##2, x##2));                                                           \
        z##3 = ROTR##n(XOR(z##3, x##3));                                                           \
    } while (0)

TARGET void prd__a2_fill_avx512(PRD__A2_FILL_ARGS)
{
    /* The four column chains run interleaved and finish together, so
     * there is no early first word to hand on. Columns 0-3 first with the
     * next reference fetched early measured the same at m = 19 MiB (the
     * fetch hidden, 0.45 ms, was lost to less overlap) and 10% slower in
     * cache. */
    (void)early;
    const __m512i halves = _mm512_setr_epi64(1, 8, 3, 10, 5, 12, 7, 14);
    uint64_t *s = scratch[0].v, *keep = scratch[1].v;
    for (int i = 0; i < PRD__A2_WORDS; i += 8) {
        __m512i r = XOR(_mm512_load_si512(&prev->v[i]), _mm512_load_si512(&ref->v[i]));
        _mm512_store_si512(&s[i], r);
        _mm512_store_si512(&keep[i], xor ? XOR(r, _mm512_load_si512(&next->v[i])) : r);
    }
    /* All eight rows at once, as four pairs: quarter q of a row is words
     * 16 row + 4q; a pair's rows go in the two halves. */
    {
#define LOADPAIR(n)                                                                                \
    uint64_t *l##n = s + 32 * (n), *h##n = l##n + 16;                                              \
    __m512i a##n = JOIN(l##n, h##n), b##n = JOIN(l##n + 4, h##n + 4);                              \
    __m512i c##n = JOIN(l##n + 8, h##n + 8), d##n = JOIN(l##n + 12, h##n + 12)
#define STOREPAIR(n)                                                                               \
    SPLIT(a##n, l##n, h##n);                                                                       \
    SPLIT(b##n, l##n + 4, h##n + 4);                                                               \
    SPLIT(c##n, l##n + 8, h##n + 8);                                                               \
    SPLIT(d##n, l##n + 12, h##n + 12)
        LOADPAIR(0);
        LOADPAIR(1);
        LOADPAIR(2);
        LOADPAIR(3);
        G4(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3);
        PRD__WORD_DIAG(b0, c0, d0);
        PRD__WORD_DIAG(b1, c1, d1);
        PRD__WORD_DIAG(b2, c2, d2);
        PRD__WORD_DIAG(b3, c3, d3);
        G4(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3);
        PRD__WORD_UNDIAG(b0, c0, d0);
        PRD__WORD_UNDIAG(b1, c1, d1);
        PRD__WORD_UNDIAG(b2, c2, d2);
        PRD__WORD_UNDIAG(b3, c3, d3);
        STOREPAIR(0);
        STOREPAIR(1);
        STOREPAIR(2);
        STOREPAIR(3);
    }
    /* Columns 4j .. 4j + 3 for j = 0 (chains 0, 1) and j = 1 (chains 2,
     * 3): at row k, words 16k + 8j .. 16k + 8j + 7. */
    __m512i a0 = _mm512_load_si512(s), a1 = _mm512_load_si512(s + 16);
    __m512i b0 = _mm512_load_si512(s + 32), b1 = _mm512_load_si512(s + 48);
    __m512i c0 = _mm512_load_si512(s + 64), c1 = _mm512_load_si512(s + 80);
    __m512i d0 = _mm512_load_si512(s + 96), d1 = _mm512_load_si512(s + 112);
    __m512i a2 = _mm512_load_si512(s + 8), a3 = _mm512_load_si512(s + 24);
    __m512i b2 = _mm512_load_si512(s + 40), b3 = _mm512_load_si512(s + 56);
    __m512i c2 = _mm512_load_si512(s + 72), c3 = _mm512_load_si512(s + 88);
    __m512i d2 = _mm512_load_si512(s + 104), d3 = _mm512_load_si512(s + 120);
    G4(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3);
    PRD__LANE_DIAG(__m512i, b0, b1, c0, c1, d0, d1);
    PRD__LANE_DIAG(__m512i, b2, b3, c2, c3, d2, d3);
    G4(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3);
    PRD__LANE_UNDIAG(__m512i, b0, b1, c0, c1, d0, d1);
    PRD__LANE_UNDIAG(__m512i, b2, b3, c2, c3, d2, d3);
    /* The result goes straight out: next = keep ^ state. */
#define OUT(x, off) _mm512_store_si512(next->v + (off), XOR(x, _mm512_load_si512(keep + (off))))
    OUT(a0, 0), OUT(a1, 16), OUT(b0, 32), OUT(b1, 48);
    OUT(c0, 64), OUT(c1, 80), OUT(d0, 96), OUT(d1, 112);
    OUT(a2, 8), OUT(a3, 24), OUT(b2, 40), OUT(b3, 56);
    OUT(c2, 72), OUT(c3, 88), OUT(d2, 104), OUT(d3, 120);
#undef OUT
}

#endif
