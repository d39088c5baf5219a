/* libFuzzer: the log scrubber (JSON or text lines) and log fields with
 * arbitrary bytes. Oracles: every line the logger writes parses as one
 * JSON object, scrubbed JSON input stays JSON, and the value scanner's
 * work is linear: the input twice over costs at most twice the steps. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prodready.h"
#include "internal/log.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char last[1 << 16];
static size_t last_len;

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
        prd_logger_new(&lg);
        prd_logger_set_callback(lg, keep, NULL);
        prd_logger_redact_key(lg, "a.b");
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
    }
    free(msg);
    return 0;
}
