/* Strict JSON request bodies: one object, no NUL anywhere, valid UTF-8,
 * no duplicate keys, string values only where a string is wanted. */
#include <string.h>

#include "app.h"

json_t *body_object(struct req *r)
{
    if (!r->body_len || memchr(r->body, '\0', r->body_len)) {
        reply_problem(r, 400, "Malformed request", "The body must be one JSON object.");
        return NULL;
    }
    json_error_t e;
    /* jansson refuses invalid UTF-8 and "\u0000" (without JSON_ALLOW_NUL) */
    json_t *v = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        reply_problem(r, 400, "Malformed request", "The body must be one JSON object.");
        return NULL;
    }
    return v;
}

const char *body_string(struct req *r, json_t *obj, const char *key, size_t *len)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) {
        char d[96];
        snprintf(d, sizeof d, "The field \"%s\" must be a string.", key);
        reply_problem(r, 400, "Malformed request", d);
        return NULL;
    }
    *len = json_string_length(v);
    return json_string_value(v);
}

size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) /* not a continuation byte */
            n++;
    return n;
}

/* An address a mail system would take: local@domain, printable ASCII
 * without spaces, a dot in the domain, RFC 5321's lengths. Deliberately
 * not the RFC 5322 grammar: quoted local parts are refused. */
int valid_email(const char *s, size_t len)
{
    if (len < 3 || len > EMAIL_MAX)
        return 0;
    const char *at = memchr(s, '@', len);
    if (!at || at == s || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
        return 0;
    size_t local = (size_t)(at - s), domain = len - local - 1;
    if (local > 64 || domain < 3)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' ||
            c == ';' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\')
            return 0;
    }
    const char *d = at + 1;
    if (!memchr(d, '.', domain) || d[0] == '.' || d[domain - 1] == '.' || d[0] == '-')
        return 0;
    for (size_t i = 0; i + 1 < domain; i++)
        if (d[i] == '.' && d[i + 1] == '.')
            return 0;
    return 1;
}

json_t *body_fields(struct req *r, const char *k1, const char **v1, size_t *l1, const char *k2,
                    const char **v2, size_t *l2)
{
    json_t *b = body_object(r);
    if (!b)
        return NULL;
    if (!(*v1 = body_string(r, b, k1, l1)) || (k2 && !(*v2 = body_string(r, b, k2, l2)))) {
        json_decref(b);
        return NULL;
    }
    return b;
}
