/*
 * Argon2's compression with AVX-512F: rotations are single instructions,
 * each register holds eight words, and the whole 1 KiB block stays in
 * sixteen registers from the first load to the last store (measured 7%
 * faster than passing it through memory between the passes). The row pass
 * takes all eight rows at once as four pairs, the quarter-rows of a pair
 * in the two 256-bit halves (one 128-bit-lane shuffle each way); the
 * column pass takes four neighbouring columns, one in each 128-bit
 * quarter, and lines the diagonals up within each quarter with two-source
 * permutes.
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
    uint64_t *keep = scratch[1].v;
    /* The whole block in registers: q[2k + h] is row k's half h. */
    __m512i q[16];
    for (int i = 0; i < 16; i++) {
        q[i] = XOR(_mm512_load_si512(&prev->v[8 * i]), _mm512_load_si512(&ref->v[8 * i]));
        _mm512_store_si512(&keep[8 * i], xor ? XOR(q[i], _mm512_load_si512(&next->v[8 * i])) : q[i]);
    }
    /* Rows in pairs (2p, 2p + 1): a = both rows' words 0-3, b = 4-7, c =
     * 8-11, d = 12-15, one row in each 256-bit half. */
#define PAIR(n)                                                                                    \
    __m512i a##n = _mm512_shuffle_i64x2(q[4 * n], q[4 * n + 2], 0x44);                            \
    __m512i b##n = _mm512_shuffle_i64x2(q[4 * n], q[4 * n + 2], 0xEE);                            \
    __m512i c##n = _mm512_shuffle_i64x2(q[4 * n + 1], q[4 * n + 3], 0x44);                        \
    __m512i d##n = _mm512_shuffle_i64x2(q[4 * n + 1], q[4 * n + 3], 0xEE)
#define UNPAIR(n)                                                                                  \
    do {                                                                                           \
        q[4 * n] = _mm512_shuffle_i64x2(a##n, b##n, 0x44);                                        \
        q[4 * n + 2] = _mm512_shuffle_i64x2(a##n, b##n, 0xEE);                                    \
        q[4 * n + 1] = _mm512_shuffle_i64x2(c##n, d##n, 0x44);                                    \
        q[4 * n + 3] = _mm512_shuffle_i64x2(c##n, d##n, 0xEE);                                    \
    } while (0)
    {
        PAIR(0);
        PAIR(1);
        PAIR(2);
        PAIR(3);
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
        UNPAIR(0);
        UNPAIR(1);
        UNPAIR(2);
        UNPAIR(3);
    }
#undef PAIR
#undef UNPAIR
    /* Columns 4h .. 4h + 3: row k's half h, rows 0..7 as a0 a1 b0 b1 c0
     * c1 d0 d1; h = 0 in chains 0, 1 and h = 1 in chains 2, 3. */
    __m512i a0 = q[0], a1 = q[2], b0 = q[4], b1 = q[6], c0 = q[8], c1 = q[10], d0 = q[12], d1 = q[14];
    __m512i a2 = q[1], a3 = q[3], b2 = q[5], b3 = q[7], c2 = q[9], c3 = q[11], d2 = q[13], d3 = q[15];
    G4(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3);
    PRD__LANE_DIAG(__m512i, b0, b1, c0, c1, d0, d1);
    PRD__LANE_DIAG(__m512i, b2, b3, c2, c3, d2, d3);
    G4(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3);
    PRD__LANE_UNDIAG(__m512i, b0, b1, c0, c1, d0, d1);
    PRD__LANE_UNDIAG(__m512i, b2, b3, c2, c3, d2, d3);
#define OUT(x, off) _mm512_store_si512(next->v + (off), XOR(x, _mm512_load_si512(keep + (off))))
    OUT(a0, 0), OUT(a1, 16), OUT(b0, 32), OUT(b1, 48);
    OUT(c0, 64), OUT(c1, 80), OUT(d0, 96), OUT(d1, 112);
    OUT(a2, 8), OUT(a3, 24), OUT(b2, 40), OUT(b3, 56);
    OUT(c2, 72), OUT(c3, 88), OUT(d2, 104), OUT(d3, 120);
#undef OUT
}

#endif
