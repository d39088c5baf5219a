/* Hex and base64url on top of libsodium's constant-time codecs. */
#include "internal/common.h"
#include "internal/encoding.h"

#include <sodium.h>

static size_t finish(char *out, size_t out_size, size_t need)
{
    if (out && out_size > 0 && out_size <= need)
        out[0] = '\0';
    return need;
}

size_t prd_hex_encode(char *out, size_t out_size, const void *data, size_t len)
{
    size_t need = PRD_HEX_LEN(len);
    if (!out || out_size <= need || (len && !data))
        return finish(out, out_size, need);
    sodium_bin2hex(out, out_size, data, len);
    return need;
}

size_t prd_base64url_encode(char *out, size_t out_size, const void *data, size_t len)
{
    size_t need = PRD_BASE64URL_LEN(len);
    if (!out || out_size <= need || (len && !data))
        return finish(out, out_size, need);
    sodium_bin2base64(out, out_size, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return need;
}

prd_status prd_hex_decode(void *out, size_t out_cap, size_t *out_len, const char *text,
                          size_t text_len)
{
    size_t n = 0;
    const char *end = NULL;
    if (out_len)
        *out_len = 0;
    if ((!text && text_len) || (!out && out_cap) || (text_len & 1u))
        return PRD_EINVAL;
    if (text_len / 2 > out_cap)
        return PRD_ENOSPACE;
    if (text_len == 0)
        return PRD_OK;
    if (!out)
        return PRD_ENOSPACE;
    if (sodium_hex2bin(out, out_cap, text, text_len, NULL, &n, &end) != 0 ||
        end != text + text_len || n != text_len / 2)
        return PRD_EINVAL;
    if (out_len)
        *out_len = n;
    return PRD_OK;
}

prd_status prd_base64url_decode(void *out, size_t out_cap, size_t *out_len, const char *text,
                                size_t text_len)
{
    size_t n = 0;
    const char *end = NULL;
    if (out_len)
        *out_len = 0;
    if ((!text && text_len) || (!out && out_cap) || text_len % 4 == 1)
        return PRD_EINVAL;
    if (text_len / 4 * 3 + (text_len % 4 ? text_len % 4 - 1 : 0) > out_cap)
        return PRD_ENOSPACE;
    if (text_len == 0)
        return PRD_OK;
    if (!prd__b64_alphabet_ok(text, text_len, 1))
        return PRD_EINVAL;
    if (!out)
        return PRD_ENOSPACE;
    /* libsodium rejects non-zero leftover bits, which makes this canonical. */
    if (sodium_base642bin(out, out_cap, text, text_len, NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text + text_len)
        return PRD_EINVAL;
    if (out_len)
        *out_len = n;
    return PRD_OK;
}

int prd__b64_alphabet_ok(const char *text, size_t len, int urlsafe)
{
    const char c62 = urlsafe ? '-' : '+', c63 = urlsafe ? '_' : '/';
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == c62 || c == c63))
            return 0;
    }
    return 1;
}

int prd__b64std_decode(unsigned char *out, size_t cap, size_t *out_len, const char *text,
                       size_t len)
{
    const char *end = NULL;
    if (len % 4 == 1 || !prd__b64_alphabet_ok(text, len, 0))
        return 0;
    return sodium_base642bin(out, cap, text, len, NULL, out_len, &end,
                             sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
           end == text + len;
}

/* 0-63 for the url-safe alphabet, 0xFF for everything else. */
static const unsigned char b64url_rev[256] = {
    ['A'] = 0,  ['B'] = 1,  ['C'] = 2,  ['D'] = 3,  ['E'] = 4,  ['F'] = 5,  ['G'] = 6,
    ['H'] = 7,  ['I'] = 8,  ['J'] = 9,  ['K'] = 10, ['L'] = 11, ['M'] = 12, ['N'] = 13,
    ['O'] = 14, ['P'] = 15, ['Q'] = 16, ['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20,
    ['V'] = 21, ['W'] = 22, ['X'] = 23, ['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27,
    ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31, ['g'] = 32, ['h'] = 33, ['i'] = 34,
    ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39, ['o'] = 40, ['p'] = 41,
    ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47, ['w'] = 48,
    ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
    ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61, ['-'] = 62,
    ['_'] = 63,
};

/* 'A' maps to 0 like every unlisted byte: tell them apart by the byte itself. */
static int b64url_value(unsigned char c, unsigned *v)
{
    *v = b64url_rev[c];
    return *v != 0 || c == 'A';
}

prd_status prd__b64url_decode_public(unsigned char *out, size_t cap, size_t *out_len,
                                     const char *text, size_t len)
{
    *out_len = 0;
    if (len % 4 == 1)
        return PRD_EINVAL;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > cap)
        return PRD_ENOSPACE;
    const unsigned char *s = (const unsigned char *)text;
    size_t o = 0, i = 0;
    unsigned a, b, c, d;
    for (; i + 4 <= len; i += 4) {
        if (!b64url_value(s[i], &a) || !b64url_value(s[i + 1], &b) ||
            !b64url_value(s[i + 2], &c) || !b64url_value(s[i + 3], &d))
            return PRD_EINVAL;
        unsigned v = a << 18 | b << 12 | c << 6 | d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    size_t rest = len - i;
    if (rest == 2) {
        if (!b64url_value(s[i], &a) || !b64url_value(s[i + 1], &b) || (b & 0x0F))
            return PRD_EINVAL; /* unused bits must be zero: one encoding per value */
        out[o++] = (unsigned char)(a << 2 | b >> 4);
    } else if (rest == 3) {
        if (!b64url_value(s[i], &a) || !b64url_value(s[i + 1], &b) ||
            !b64url_value(s[i + 2], &c) || (c & 0x03))
            return PRD_EINVAL;
        out[o++] = (unsigned char)(a << 2 | b >> 4);
        out[o++] = (unsigned char)((b & 0x0F) << 4 | c >> 2);
    }
    *out_len = o;
    return PRD_OK;
}
