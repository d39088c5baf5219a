/* libFuzzer: the log scrubber (JSON or text lines) and log fields with
 * arbitrary bytes. Oracles: every line the logger writes parses as one
 * JSON object, scrubbed JSON input stays JSON, and the value scanner's
 * work is linear: the input twice over costs at most twice the steps;
 * journald's framing of any line is well formed. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prodready.h"
#include "prodready/jansson.h"
#include "fuzz_util.h"
#include "internal/log.h"
#include "internal/log_sink.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char last[1 << 16];
static size_t last_len;

/* journald's native framing of a line is well formed: NAME=value lines
 * or NAME, length, bytes; names [A-Z0-9_] not starting with '_' or a
 * digit; MESSAGE present. */
static void check_journal(const char *line, size_t len)
{
    struct prd__buf b;
    prd__buf_init(&b, NULL, 0);
    prd__journald_format(&b, "fuzz", NULL, PRD_LOG_INFO, line, len);
    if (b.failed) {
        prd__buf_free(&b);
        return;
    }
    size_t i = 0;
    int message = 0;
    while (i < b.len) {
        size_t k = i;
        while (k < b.len && b.p[k] != '=' && b.p[k] != '\n') {
            char c = b.p[k];
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && k > i) || (c == '_' && k > i)))
                abort();
            k++;
        }
        if (k == i || k >= b.len)
            abort();
        message |= k - i == 7 && memcmp(b.p + i, "MESSAGE", 7) == 0;
        if (b.p[k] == '=') {
            const char *e = memchr(b.p + k, '\n', b.len - k);
            if (!e)
                abort();
            i = (size_t)(e - b.p) + 1;
        } else {
            uint64_t n = 0;
            if (k + 9 > b.len)
                abort();
            for (int j = 7; j >= 0; j--)
                n = n << 8 | (unsigned char)b.p[k + 1 + (size_t)j];
            if (n > b.len || k + 9 + n >= b.len || b.p[k + 9 + n] != '\n')
                abort();
            i = k + 9 + (size_t)n + 1;
        }
    }
    if (!message)
        abort();
    prd__buf_free(&b);
}

static void keep(void *ud, const char *line, size_t len)
{
    (void)ud;
    last_len = len < sizeof last ? len : 0;
    if (last_len)
        memcpy(last, line, len);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static prd_logger *lg;
    if (!lg) {
        FUZZ_SETUP(prd_logger_new(&lg));
        FUZZ_SETUP(prd_logger_set_callback(lg, keep, NULL));
        FUZZ_SETUP(prd_logger_redact_key(lg, "a.b"));
        /* an application pattern too: the linearity oracle covers it */
        FUZZ_SETUP(prd_logger_redact_pattern(lg, "fz", "\\b[a-z_]+x\\d{2,8}[^ ]*"));
    }
    char *out = NULL;
    size_t n = 0;
    if (prd_log_scrub_line(lg, (const char *)data, size, &out, &n) == PRD_OK) {
        /* Valid JSON in (any value, \u0000 allowed) is valid JSON out. */
        /* (jansson stops at a raw NUL byte, which RFC 8259 does not allow anywhere) */
        json_t *in = memchr(data, '\0', size)
                         ? NULL
                         : json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (in) {
            json_t *o = json_loadb(out, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            if (!o) /* a card number written as a number may become a string */
                abort();
            json_decref(o);
        }
        json_decref(in);
        prd_free(out);
    }
    /* Linearity, counted in characters examined, never in seconds. */
    char *twice = malloc(2 * size + 1);
    if (!twice)
        return 0;
    memcpy(twice, data, size);
    memcpy(twice + size, data, size);
    uint64_t s0 = prd__scrub_steps();
    if (prd_log_scrub_line(lg, (const char *)data, size, &out, &n) == PRD_OK)
        prd_free(out);
    uint64_t s1 = prd__scrub_steps();
    if (prd_log_scrub_line(lg, twice, 2 * size, &out, &n) == PRD_OK)
        prd_free(out);
    uint64_t s2 = prd__scrub_steps();
    free(twice);
    if (s2 - s1 > 2 * (s1 - s0) + 4 * size + 256)
        abort();
    char *msg = malloc(size + 1);
    if (!msg)
        return 0;
    memcpy(msg, data, size);
    msg[size] = '\0';
    prd_log(lg, PRD_LOG_INFO, msg,
            (prd_log_field[]){PRD_F_STRN("s", (const char *)data, size), PRD_F_STR(msg, "v"),
                              PRD_F_DOUBLE("d", size ? (double)data[0] / 0.0 : 0.0)},
            3);
    if (last_len) {
        json_t *o = json_loadb(last, last_len, JSON_ALLOW_NUL, NULL);
        if (!json_is_object(o))
            abort();
        json_decref(o);
        check_journal(last, last_len);
    }
    check_journal((const char *)data, size); /* not a line of ours: still framed */
    free(msg);
    return 0;
}
