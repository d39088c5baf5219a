/*
 * Argon2's compression with AVX2. The row pass holds one row (16 words)
 * in four registers and lines the diagonals up with whole-register word
 * permutes. The column pass works on two neighbouring columns at once:
 * each 32-byte load takes the same 16-byte register of both, and the
 * diagonals line up within each 128-bit half with the same moves as the
 * SSSE3 code, so no data crosses halves.
 */
#include "internal/common.h"
#include "internal/argon2_core.h"
#include "internal/blamka_simd.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define ADD(a, b) _mm256_add_epi64(a, b)
#define XOR(a, b) _mm256_xor_si256(a, b)
#define BLAMKA(x, y) ADD(ADD(x, y), ADD(_mm256_mul_epu32(x, y), _mm256_mul_epu32(x, y)))
#define ROTR32(x) _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1))
#define ROTR24(x) _mm256_shuffle_epi8(x, r24)
#define ROTR16(x) _mm256_shuffle_epi8(x, r16)
#define ROTR63(x) XOR(_mm256_srli_epi64(x, 63), ADD(x, x))

/* Two independent G's interleaved step by step for the two pipelines. */
#define GG(a0, b0, c0, d0, a1, b1, c1, d1)                                                         \
    do {                                                                                           \
        PRD__G1(a0, b0, c0, d0);                                                                   \
        PRD__G1(a1, b1, c1, d1);                                                                   \
        PRD__G2(a0, b0, c0, d0);                                                                   \
        PRD__G2(a1, b1, c1, d1);                                                                   \
    } while (0)

/* Row pass: a = v0..v3, b = v4..v7, c = v8..v11, d = v12..v15; rotate b,
 * c, d left by one, two, three words for the diagonals. Two rows at once. */
#define PERM(x, i) _mm256_permute4x64_epi64(x, i)
/* Column pass, per 128-bit half: (b0, b1) = (v4 v5, v6 v7) becomes
 * (v5 v6, v7 v4), c swaps, (d0, d1) = (v12 v13, v14 v15) becomes
 * (v15 v12, v13 v14). ALIGNR8(hi, lo) is (lo's high word, hi's low word)
 * in each half. */
#define ALIGNR8(hi, lo) _mm256_alignr_epi8(hi, lo, 8)

__attribute__((target("avx2"))) void prd__a2_fill_avx2(PRD__A2_FILL_ARGS)
{
    const __m256i r24 = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3,
                                         4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
    const __m256i r16 = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2,
                                         3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
    __m256i *s = (__m256i *)scratch[0].v, *keep = (__m256i *)scratch[1].v;
    const __m256i *x = (const __m256i *)prev->v, *y = (const __m256i *)ref->v;
    __m256i *z = (__m256i *)next->v;
    /* Rows 2i and 2i + 1 straight from prev ^ ref (and what xor keeps of
     * the old block put aside on the way); the pass's state goes to s. */
    for (int i = 0; i < 8; i += 2) {
        __m256i t[8];
        for (int k = 0; k < 8; k++) {
            int at = 4 * i + k;
            t[k] = XOR(_mm256_load_si256(&x[at]), _mm256_load_si256(&y[at]));
            keep[at] = xor ? XOR(t[k], _mm256_load_si256(&z[at])) : t[k];
        }
        __m256i a0 = t[0], b0 = t[1], c0 = t[2], d0 = t[3];
        __m256i a1 = t[4], b1 = t[5], c1 = t[6], d1 = t[7];
        GG(a0, b0, c0, d0, a1, b1, c1, d1);
        PRD__WORD_DIAG(b0, c0, d0);
        PRD__WORD_DIAG(b1, c1, d1);
        GG(a0, b0, c0, d0, a1, b1, c1, d1);
        PRD__WORD_UNDIAG(b0, c0, d0);
        PRD__WORD_UNDIAG(b1, c1, d1);
        __m256i *r = s + 4 * i;
        r[0] = a0, r[1] = b0, r[2] = c0, r[3] = d0;
        r[4] = a1, r[5] = b1, r[6] = c1, r[7] = d1;
    }
    /* Columns 2j and 2j+1: 32 bytes at 16-byte register 8k + 2j for rows
     * k = 0..7, i.e. s[4k + j]. Words v0v1 of both columns sit in row 0,
     * v2v3 in row 1, v4v5 in row 2, and so on. The result goes straight
     * out: next = keep ^ state. */
    for (int j = 0; j < 4; j++) {
        const __m256i *r = s + j;
        __m256i a0 = r[0], a1 = r[4], b0 = r[8], b1 = r[12];
        __m256i c0 = r[16], c1 = r[20], d0 = r[24], d1 = r[28];
        GG(a0, b0, c0, d0, a1, b1, c1, d1);
        PRD__LANE_DIAG(__m256i, b0, b1, c0, c1, d0, d1);
        GG(a0, b0, c0, d0, a1, b1, c1, d1);
        PRD__LANE_UNDIAG(__m256i, b0, b1, c0, c1, d0, d1);
        const __m256i *k = keep + j;
        __m256i *o = z + j;
        _mm256_store_si256(&o[0], XOR(a0, k[0]));
        _mm256_store_si256(&o[4], XOR(a1, k[4]));
        _mm256_store_si256(&o[8], XOR(b0, k[8]));
        _mm256_store_si256(&o[12], XOR(b1, k[12]));
        _mm256_store_si256(&o[16], XOR(c0, k[16]));
        _mm256_store_si256(&o[20], XOR(c1, k[20]));
        _mm256_store_si256(&o[24], XOR(d0, k[24]));
        _mm256_store_si256(&o[28], XOR(d1, k[28]));
        if (j == 0 && early)
            early->fn(early, next->v[0]);
    }
}

#endif
