/*
 * BLAKE2b (RFC 7693) and Argon2's variable-length hash H' (RFC 9106 §3.3)
 * for our own Argon2. Written here rather than taken from libsodium because
 * libsodium's crypto_generichash only produces 16-64 byte digests, and
 * Argon2 tags of 4-15 bytes are BLAKE2b-T with T in the parameter block,
 * not a truncation. This runs a few dozen compressions per hash against
 * thousands of block fills, so the plain C version costs nothing
 * measurable (bench_password); tests compare it with libsodium's.
 */
#include "internal/common.h"
#include "internal/argon2_core.h"
#include "internal/encoding.h"

#include <string.h>

#include <sodium.h>

static const uint64_t IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const uint8_t SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static uint64_t rotr64(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

#define G(a, b, c, d, x, y)                                                                       \
    do {                                                                                           \
        a = a + b + (x);                                                                           \
        d = rotr64(d ^ a, 32);                                                                     \
        c = c + d;                                                                                 \
        b = rotr64(b ^ c, 24);                                                                     \
        a = a + b + (y);                                                                           \
        d = rotr64(d ^ a, 16);                                                                     \
        c = c + d;                                                                                 \
        b = rotr64(b ^ c, 63);                                                                     \
    } while (0)

static void compress(struct prd__blake2b *s, const unsigned char block[128], int last)
{
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++)
        m[i] = prd__le64_load(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = s->h[i];
        v[i + 8] = IV[i];
    }
    v[12] ^= s->t[0];
    v[13] ^= s->t[1];
    if (last)
        v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *z = SIGMA[r];
        G(v[0], v[4], v[8], v[12], m[z[0]], m[z[1]]);
        G(v[1], v[5], v[9], v[13], m[z[2]], m[z[3]]);
        G(v[2], v[6], v[10], v[14], m[z[4]], m[z[5]]);
        G(v[3], v[7], v[11], v[15], m[z[6]], m[z[7]]);
        G(v[0], v[5], v[10], v[15], m[z[8]], m[z[9]]);
        G(v[1], v[6], v[11], v[12], m[z[10]], m[z[11]]);
        G(v[2], v[7], v[8], v[13], m[z[12]], m[z[13]]);
        G(v[3], v[4], v[9], v[14], m[z[14]], m[z[15]]);
    }
    for (int i = 0; i < 8; i++)
        s->h[i] ^= v[i] ^ v[i + 8];
    sodium_memzero(m, sizeof m);
    sodium_memzero(v, sizeof v);
}

void prd__blake2b_init(struct prd__blake2b *s, size_t outlen)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++)
        s->h[i] = IV[i];
    /* Parameter block: digest length, no key, fanout 1, depth 1. */
    s->h[0] ^= 0x01010000ULL ^ (uint64_t)outlen;
    s->outlen = outlen;
}

void prd__blake2b_update(struct prd__blake2b *s, const void *in, size_t len)
{
    const unsigned char *p = in;
    while (len > 0) {
        /* The last block is compressed only at final, with the flag set:
         * a full buffer waits until more input shows it is not the last. */
        if (s->buflen == sizeof s->buf) {
            s->t[0] += sizeof s->buf;
            if (s->t[0] < sizeof s->buf)
                s->t[1]++;
            compress(s, s->buf, 0);
            s->buflen = 0;
        }
        size_t take = sizeof s->buf - s->buflen;
        if (take > len)
            take = len;
        memcpy(s->buf + s->buflen, p, take);
        s->buflen += take;
        p += take;
        len -= take;
    }
}

void prd__blake2b_final(struct prd__blake2b *s, void *out)
{
    s->t[0] += s->buflen;
    if (s->t[0] < s->buflen)
        s->t[1]++;
    memset(s->buf + s->buflen, 0, sizeof s->buf - s->buflen);
    compress(s, s->buf, 1);
    unsigned char full[64];
    for (int i = 0; i < 8; i++)
        prd__le64_store(full + 8 * i, s->h[i]);
    memcpy(out, full, s->outlen);
    sodium_memzero(full, sizeof full);
    sodium_memzero(s, sizeof *s);
}

void prd__blake2b(void *out, size_t outlen, const void *in, size_t inlen)
{
    struct prd__blake2b s;
    prd__blake2b_init(&s, outlen);
    prd__blake2b_update(&s, in, inlen);
    prd__blake2b_final(&s, out);
}

void prd__blake2b_long(void *out, size_t outlen, const void *in, size_t inlen)
{
    unsigned char le[4];
    prd__le32_store(le, (uint32_t)outlen);
    struct prd__blake2b s;
    unsigned char *o = out;
    if (outlen <= 64) {
        prd__blake2b_init(&s, outlen);
        prd__blake2b_update(&s, le, sizeof le);
        prd__blake2b_update(&s, in, inlen);
        prd__blake2b_final(&s, o);
        return;
    }
    /* V1 = H^64(LE32(T) || A); each V_i gives its first 32 bytes; the last
     * is H^(T - 32r)(V_r). */
    unsigned char v[64];
    prd__blake2b_init(&s, 64);
    prd__blake2b_update(&s, le, sizeof le);
    prd__blake2b_update(&s, in, inlen);
    prd__blake2b_final(&s, v);
    memcpy(o, v, 32);
    o += 32;
    size_t left = outlen - 32;
    while (left > 64) {
        prd__blake2b(v, 64, v, 64);
        memcpy(o, v, 32);
        o += 32;
        left -= 32;
    }
    prd__blake2b(o, left, v, 64);
    sodium_memzero(v, sizeof v);
}
