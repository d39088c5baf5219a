/*
 * The parts of Argon2's compression that the vector fills (blamka_sse.c,
 * blamka_avx2.c, blamka_avx512.c) share, as macros over the includer's
 * register operations: BLAMKA(x, y), XOR(a, b), ROTR32/24/16/63(x), and
 * for the moves ALIGNR8(hi, lo) (per 128-bit lane: lo's high word, hi's
 * low word) or PERM(x, imm) (words within 256 bits). Macros rather than
 * inline functions: each fill is compiled for its own instruction set
 * (a target attribute), and macros inline into any of them.
 */
#ifndef PRD_INTERNAL_BLAMKA_SIMD_H
#define PRD_INTERNAL_BLAMKA_SIMD_H

/* G in two halves (rotations 32, 24, then 16, 63), lane-wise on
 * registers holding a column's a, b, c, d words. */
#define PRD__G1(a, b, c, d)                                                                        \
    do {                                                                                           \
        a = BLAMKA(a, b);                                                                          \
        d = ROTR32(XOR(d, a));                                                                     \
        c = BLAMKA(c, d);                                                                          \
        b = ROTR24(XOR(b, c));                                                                     \
    } while (0)
#define PRD__G2(a, b, c, d)                                                                        \
    do {                                                                                           \
        a = BLAMKA(a, b);                                                                          \
        d = ROTR16(XOR(d, a));                                                                     \
        c = BLAMKA(c, d);                                                                          \
        b = ROTR63(XOR(b, c));                                                                     \
    } while (0)
#define PRD__G(a, b, c, d)                                                                         \
    do {                                                                                           \
        PRD__G1(a, b, c, d);                                                                       \
        PRD__G2(a, b, c, d);                                                                       \
    } while (0)

/* Diagonals lined up as columns when each 128-bit lane holds two words of
 * a row: (b0, b1) = (v4 v5, v6 v7) becomes (v5 v6, v7 v4), c swaps halves,
 * (d0, d1) = (v12 v13, v14 v15) becomes (v15 v12, v13 v14); and back. */
#define PRD__LANE_DIAG(T, b0, b1, c0, c1, d0, d1)                                                  \
    do {                                                                                           \
        T t_ = ALIGNR8(b1, b0);                                                                    \
        b1 = ALIGNR8(b0, b1);                                                                      \
        b0 = t_;                                                                                   \
        t_ = c0;                                                                                   \
        c0 = c1;                                                                                   \
        c1 = t_;                                                                                   \
        t_ = ALIGNR8(d0, d1);                                                                      \
        d1 = ALIGNR8(d1, d0);                                                                      \
        d0 = t_;                                                                                   \
    } while (0)
#define PRD__LANE_UNDIAG(T, b0, b1, c0, c1, d0, d1)                                                \
    do {                                                                                           \
        T t_ = ALIGNR8(b0, b1);                                                                    \
        b1 = ALIGNR8(b1, b0);                                                                      \
        b0 = t_;                                                                                   \
        t_ = c0;                                                                                   \
        c0 = c1;                                                                                   \
        c1 = t_;                                                                                   \
        t_ = ALIGNR8(d1, d0);                                                                      \
        d1 = ALIGNR8(d0, d1);                                                                      \
        d0 = t_;                                                                                   \
    } while (0)

/* The same when each 256 bits hold a whole row quarter (a = v0..v3, b =
 * v4..v7, ...): rotate b, c, d left by one, two, three words; and back. */
#define PRD__WORD_DIAG(b, c, d)                                                                    \
    do {                                                                                           \
        b = PERM(b, _MM_SHUFFLE(0, 3, 2, 1));                                                      \
        c = PERM(c, _MM_SHUFFLE(1, 0, 3, 2));                                                      \
        d = PERM(d, _MM_SHUFFLE(2, 1, 0, 3));                                                      \
    } while (0)
#define PRD__WORD_UNDIAG(b, c, d)                                                                  \
    do {                                                                                           \
        b = PERM(b, _MM_SHUFFLE(2, 1, 0, 3));                                                      \
        c = PERM(c, _MM_SHUFFLE(1, 0, 3, 2));                                                      \
        d = PERM(d, _MM_SHUFFLE(0, 3, 2, 1));                                                      \
    } while (0)

#endif
