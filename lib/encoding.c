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
