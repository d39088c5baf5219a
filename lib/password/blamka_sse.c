/*
 * Argon2's compression with 128-bit vectors: each register holds two
 * 64-bit words, one of the block's 8x8 grid of 16-byte registers, so both
 * the row and the column pass load whole registers. Built twice from one
 * body: SSSE3 rotates by byte shuffles and shifts with palignr, plain SSE2
 * (every x86-64) uses shifts and unpacks.
 */
#include "internal/common.h"
#include "internal/argon2_core.h"
#include "internal/blamka_simd.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define ADD(a, b) _mm_add_epi64(a, b)
#define XOR(a, b) _mm_xor_si128(a, b)
/* x + y + 2 * lo32(x) * lo32(y) */
#define BLAMKA(x, y) ADD(ADD(x, y), ADD(_mm_mul_epu32(x, y), _mm_mul_epu32(x, y)))
#define ROTR32(x) _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1))
#define ROTR63(x) XOR(_mm_srli_epi64(x, 63), ADD(x, x))

/* P over eight registers: the 16 words v0..v15 in order. */
#define ROUND(a0, a1, b0, b1, c0, c1, d0, d1)                                                      \
    do {                                                                                           \
        PRD__G(a0, b0, c0, d0);                                                                    \
        PRD__G(a1, b1, c1, d1);                                                                    \
        PRD__LANE_DIAG(__m128i, b0, b1, c0, c1, d0, d1);                                           \
        PRD__G(a0, b0, c0, d0);                                                                    \
        PRD__G(a1, b1, c1, d1);                                                                    \
        PRD__LANE_UNDIAG(__m128i, b0, b1, c0, c1, d0, d1);                                         \
    } while (0)

#define FILL_BODY                                                                                  \
    do {                                                                                           \
        __m128i *s = (__m128i *)scratch[0].v, *keep = (__m128i *)scratch[1].v;                     \
        const __m128i *x = (const __m128i *)prev->v, *y = (const __m128i *)ref->v;                 \
        __m128i *z = (__m128i *)next->v;                                                           \
        for (int i = 0; i < 64; i++) {                                                             \
            s[i] = XOR(_mm_load_si128(&x[i]), _mm_load_si128(&y[i]));                              \
            keep[i] = xor ? XOR(s[i], _mm_load_si128(&z[i])) : s[i];                               \
        }                                                                                          \
        for (int i = 0; i < 8; i++) {                                                              \
            __m128i *r = s + 8 * i;                                                                \
            __m128i a0 = r[0], a1 = r[1], b0 = r[2], b1 = r[3], c0 = r[4], c1 = r[5], d0 = r[6],   \
                    d1 = r[7];                                                                     \
            ROUND(a0, a1, b0, b1, c0, c1, d0, d1);                                                 \
            r[0] = a0, r[1] = a1, r[2] = b0, r[3] = b1, r[4] = c0, r[5] = c1, r[6] = d0,           \
            r[7] = d1;                                                                             \
        }                                                                                          \
        for (int j = 0; j < 8; j++) {                                                              \
            __m128i *r = s + j;                                                                    \
            __m128i a0 = r[0], a1 = r[8], b0 = r[16], b1 = r[24], c0 = r[32], c1 = r[40],          \
                    d0 = r[48], d1 = r[56];                                                        \
            ROUND(a0, a1, b0, b1, c0, c1, d0, d1);                                                 \
            r[0] = a0, r[8] = a1, r[16] = b0, r[24] = b1, r[32] = c0, r[40] = c1, r[48] = d0,      \
            r[56] = d1;                                                                            \
            if (j == 0 && early)                                                                   \
                early->fn(early, scratch[1].v[0] ^ scratch[0].v[0]);                               \
        }                                                                                          \
        for (int i = 0; i < 64; i++)                                                               \
            _mm_store_si128(&z[i], XOR(keep[i], s[i]));                                            \
    } while (0)

/* SSE2: rotations by shifts, the half-register moves by unpacks. */
#define ROTR24(x) XOR(_mm_srli_epi64(x, 24), _mm_slli_epi64(x, 40))
#define ROTR16(x) XOR(_mm_srli_epi64(x, 16), _mm_slli_epi64(x, 48))
#define ALIGNR8(hi, lo) _mm_unpacklo_epi64(_mm_unpackhi_epi64(lo, lo), hi)

__attribute__((target("sse2"))) void prd__a2_fill_sse2(PRD__A2_FILL_ARGS)
{
    FILL_BODY;
}

#undef ROTR24
#undef ROTR16
#undef ALIGNR8

/* SSSE3: byte shuffles rotate by 24 and 16; palignr moves half registers. */
#define ROTR24(x) _mm_shuffle_epi8(x, r24)
#define ROTR16(x) _mm_shuffle_epi8(x, r16)
#define ALIGNR8(hi, lo) _mm_alignr_epi8(hi, lo, 8)

__attribute__((target("ssse3"))) void prd__a2_fill_ssse3(PRD__A2_FILL_ARGS)
{
    const __m128i r24 = _mm_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
    const __m128i r16 = _mm_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
    FILL_BODY;
}

#endif
