/* W3C Trace Context: parsing a traceparent header and a child logger that
 * carries its ids in the output profile's own field names. */
#include "internal/common.h"
#include "internal/log.h"

#include <string.h>

static int lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return 0;
    return 1;
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

/*
 * version "-" trace-id "-" parent-id "-" trace-flags: 2, 32, 16 and 2
 * lower-case hex digits. Version ff is invalid; version 00 is exactly 55
 * characters; a later version may carry more after a "-" (ignored, as the
 * spec asks of parsers that know only 00). All-zero ids are invalid.
 */
prd_status prd_traceparent_parse(const char *s, size_t len, char *trace_id, char *span_id,
                                 uint8_t *flags)
{
    if (trace_id)
        trace_id[0] = '\0';
    if (span_id)
        span_id[0] = '\0';
    if (flags)
        *flags = 0;
    if (!s || !trace_id || !span_id || !flags || len < 55 || len > 512)
        return PRD_EINVAL;
    if (!lower_hex(s, 2) || s[2] != '-' || !lower_hex(s + 3, 32) || s[35] != '-' ||
        !lower_hex(s + 36, 16) || s[52] != '-' || !lower_hex(s + 53, 2))
        return PRD_EINVAL;
    if (memcmp(s, "ff", 2) == 0 || (memcmp(s, "00", 2) == 0 && len != 55) ||
        (len > 55 && s[55] != '-'))
        return PRD_EINVAL;
    if (all_zero(s + 3, 32) || all_zero(s + 36, 16))
        return PRD_EINVAL;
    memcpy(trace_id, s + 3, 32);
    trace_id[32] = '\0';
    memcpy(span_id, s + 36, 16);
    span_id[16] = '\0';
    *flags = (uint8_t)(hexval(s[53]) << 4 | hexval(s[54]));
    return PRD_OK;
}

prd_status prd_log_with_traceparent(prd_logger *parent, const char *traceparent, size_t len,
                                    prd_logger **child)
{
    if (child)
        *child = NULL;
    if (!parent || !child)
        return PRD_EINVAL;
    char trace[PRD_TRACE_ID_SIZE], span[PRD_SPAN_ID_SIZE];
    uint8_t flags;
    prd_status st = prd_traceparent_parse(traceparent, len, trace, span, &flags);
    if (st != PRD_OK)
        return st;
    /* Each profile's own names: ECS nests them under trace./span. */
    int ecs = prd__logger_profile(parent) == PRD_LOG_PROFILE_ECS;
    prd_log_field f[] = {
        PRD_F_STR(ecs ? "trace.id" : "trace_id", trace),
        PRD_F_STR(ecs ? "span.id" : "span_id", span),
        PRD_F_UINT(ecs ? "trace.flags" : "trace_flags", flags),
    };
    return prd_log_with(parent, f, 3, child);
}

size_t prd_trace_id_size(void) { return PRD_TRACE_ID_SIZE; }
size_t prd_span_id_size(void) { return PRD_SPAN_ID_SIZE; }
