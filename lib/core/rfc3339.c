/* RFC 3339 date-times: a strict parser and a UTC formatter, used for token
 * claims and log timestamps. Civil-date arithmetic follows the
 * days-from-civil algorithm (proleptic Gregorian), so no libc time zone
 * state is touched and the functions are thread-safe. */
#include "internal/common.h"

#include <stdio.h>
#include <string.h>

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* n digits at s into *v; 0 when any is not a digit. */
static int digits(const char *s, int n, unsigned *v)
{
    unsigned x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return 1;
}

/* Times must fit int64 nanoseconds: 1677-09-21T00:12:44Z .. 2262-04-11T23:47:16Z
 * (whole seconds, so the fraction can never overflow). */
#define MIN_UNIX_S (INT64_MIN / 1000000000 + 1)
#define MAX_UNIX_S (INT64_MAX / 1000000000 - 1)

prd_status prd_rfc3339_parse(const char *t, size_t len, int64_t *unix_ns)
{
    unsigned Y, M, D, h, mi, sec, oh = 0, om = 0;
    if (!t || !unix_ns || len < 20 || len > 40)
        return PRD_EINVAL;
    if (!digits(t, 4, &Y) || t[4] != '-' || !digits(t + 5, 2, &M) || t[7] != '-' ||
        !digits(t + 8, 2, &D) || t[10] != 'T' || !digits(t + 11, 2, &h) ||
        t[13] != ':' || !digits(t + 14, 2, &mi) || t[16] != ':' || !digits(t + 17, 2, &sec))
        return PRD_EINVAL;
    if (Y < 1 || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || mi > 59 ||
        sec > 60)
        return PRD_EINVAL;
    size_t i = 19;
    int64_t frac_ns = 0;
    if (i < len && t[i] == '.') {
        size_t start = ++i;
        int64_t scale = 100000000;
        while (i < len && t[i] >= '0' && t[i] <= '9') {
            if (i - start >= 9)
                return PRD_EINVAL; /* more than nanoseconds: refuse, not round */
            frac_ns += (t[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start)
            return PRD_EINVAL;
    }
    int sign = 0;
    if (i + 1 == len && t[i] == 'Z') {
        i++;
    } else if (i + 6 == len && (t[i] == '+' || t[i] == '-')) {
        sign = t[i] == '+' ? 1 : -1;
        if (!digits(t + i + 1, 2, &oh) || t[i + 3] != ':' || !digits(t + i + 4, 2, &om) ||
            oh > 23 || om > 59)
            return PRD_EINVAL;
        i += 6;
    }
    if (i != len)
        return PRD_EINVAL;
    if (sec == 60) { /* a leap second: the last instant of the minute */
        sec = 59;
        frac_ns = 999999999;
    }
    int64_t s = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec;
    s -= sign * (int64_t)(oh * 3600 + om * 60);
    if (s < MIN_UNIX_S || s > MAX_UNIX_S)
        return PRD_EINVAL;
    *unix_ns = s * 1000000000 + frac_ns;
    return PRD_OK;
}

static void put_digits(char *buf, int *n, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        buf[*n + i] = (char)('0' + v % 10);
        v /= 10;
    }
    *n += width;
}

size_t prd_rfc3339_format(int64_t unix_ns, int frac_digits, char *out, size_t out_size)
{
    if (frac_digits != 0 && frac_digits != 3 && frac_digits != 6 && frac_digits != 9)
        return 0;
    int64_t s = unix_ns / 1000000000, ns = unix_ns % 1000000000;
    if (ns < 0) {
        ns += 1000000000;
        s -= 1;
    }
    if (s < MIN_UNIX_S || s > MAX_UNIX_S)
        return 0;
    int64_t days = s / 86400, rem = s % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Digits written by hand: snprintf was a visible share of issuing a token. */
    char buf[48];
    int n = 0;
    put_digits(buf, &n, (unsigned)y, 4);
    buf[n++] = '-';
    put_digits(buf, &n, m, 2);
    buf[n++] = '-';
    put_digits(buf, &n, d, 2);
    buf[n++] = 'T';
    put_digits(buf, &n, (unsigned)(rem / 3600), 2);
    buf[n++] = ':';
    put_digits(buf, &n, (unsigned)(rem / 60 % 60), 2);
    buf[n++] = ':';
    put_digits(buf, &n, (unsigned)(rem % 60), 2);
    if (frac_digits) {
        int64_t f = ns;
        for (int k = 9; k > frac_digits; k--)
            f /= 10;
        buf[n++] = '.';
        put_digits(buf, &n, (unsigned)f, frac_digits);
    }
    buf[n++] = 'Z';
    buf[n] = '\0';
    size_t need = (size_t)n;
    if (out && out_size > need)
        memcpy(out, buf, need + 1);
    else if (out && out_size > 0)
        out[0] = '\0';
    return need;
}

size_t prd_rfc3339_size(void) { return PRD_RFC3339_SIZE; }
