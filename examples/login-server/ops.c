/* /healthz, /readyz and /metrics, with the service's request metrics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static const char *const route_names[] = {
    "/signup", "/login", "/me", "/logout", "/logout-all", "/password-reset/request",
    "/password-reset/confirm", "/healthz", "/readyz", "/metrics", "other"};
#define N_ROUTE (sizeof route_names / sizeof route_names[0])
static const double bounds_s[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BOUND (sizeof bounds_s / sizeof bounds_s[0])

static struct {
    atomic_ullong by_class[N_ROUTE][5]; /* 1xx..5xx */
    atomic_ullong bucket[N_ROUTE][N_BOUND + 1];
    atomic_ullong sum_us[N_ROUTE];
} m;

static size_t route_index(const char *route)
{
    for (size_t i = 0; i + 1 < N_ROUTE; i++)
        if (strcmp(route_names[i], route) == 0)
            return i;
    return N_ROUTE - 1;
}

void metrics_observe(const char *route, int status, int64_t ns)
{
    size_t i = route_index(route);
    int cls = status / 100 - 1;
    if (cls < 0 || cls > 4)
        cls = 4;
    atomic_fetch_add(&m.by_class[i][cls], 1);
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < N_BOUND && s > bounds_s[b])
        b++;
    atomic_fetch_add(&m.bucket[i][b], 1);
    atomic_fetch_add(&m.sum_us[i], (unsigned long long)(ns / 1000));
}

void route_healthz(struct req *r)
{
    reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void route_readyz(struct req *r)
{
    /* ready when a pooled connection answers a round trip now */
    prd_pg_conn *c;
    prd_status st = prd_pg_acquire(app.pool, &c, NULL);
    if (st == PRD_OK) {
        st = prd_pg_query(c, "SELECT 1", NULL, NULL);
        prd_pg_pool_release(c);
    }
    if (st == PRD_OK && !atomic_load(&app.stopping)) {
        reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
    } else {
        add_header(r, "Retry-After", "1");
        reply_json(r, 503, json_pack("{s:s,s:s}", "status", "unavailable", "reason",
                                     atomic_load(&app.stopping) ? "stopping" : prd_status_name(st)));
    }
}

/* Append a library text (snprintf contract) to a growing buffer. */
struct buf {
    char *p;
    size_t len, cap;
};

static void need(struct buf *b, size_t more)
{
    if (!b->p)
        return;
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = (b->len + more + 1) * 2;
    char *np = realloc(b->p, cap);
    if (!np) {
        free(b->p);
        b->p = NULL;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    need(b, (size_t)n);
    if (!b->p)
        return;
    memcpy(b->p + b->len, tmp, (size_t)n + 1);
    b->len += (size_t)n;
}

typedef size_t (*text_fn)(const void *obj, const char *prefix, char *out, size_t size);
static void add_text(struct buf *b, text_fn fn, const void *obj)
{
    size_t n = fn(obj, NULL, NULL, 0);
    need(b, n);
    if (!b->p)
        return;
    fn(obj, NULL, b->p + b->len, n + 1);
    b->len += n;
}

static size_t pool_text(const void *o, const char *p, char *out, size_t n)
{
    return prd_pg_pool_prometheus(o, p, out, n);
}
static size_t password_text(const void *o, const char *p, char *out, size_t n)
{
    return prd_password_policy_prometheus(o, p, out, n);
}
static size_t rl_text(const void *o, const char *p, char *out, size_t n)
{
    return prd_rl_pg_prometheus(o, p, out, n);
}
static size_t guard_text(const void *o, const char *p, char *out, size_t n)
{
    return prd_login_guard_prometheus(o, p, out, n);
}
static size_t log_text(const void *o, const char *p, char *out, size_t n)
{
    return prd_logger_prometheus(o, p, out, n);
}

void route_metrics(struct req *r)
{
    struct buf b = {malloc(16384), 0, 16384};
    if (b.p)
        b.p[0] = '\0';
    static const char *const cls[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    addf(&b, "# HELP login_server_requests_total Requests answered, by route and status class.\n"
             "# TYPE login_server_requests_total counter\n");
    for (size_t i = 0; i < N_ROUTE; i++)
        for (int c = 0; c < 5; c++) {
            unsigned long long v = atomic_load(&m.by_class[i][c]);
            if (v || c == 1 || c == 3 || c == 4)
                addf(&b, "login_server_requests_total{route=\"%s\",class=\"%s\"} %llu\n",
                     route_names[i], cls[c], v);
        }
    addf(&b, "# HELP login_server_request_duration_seconds Time from the request's first byte "
             "to its answer.\n# TYPE login_server_request_duration_seconds histogram\n");
    for (size_t i = 0; i < N_ROUTE; i++) {
        unsigned long long total = 0;
        for (size_t k = 0; k <= N_BOUND; k++) {
            total += atomic_load(&m.bucket[i][k]);
            if (k < N_BOUND)
                addf(&b, "login_server_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                     route_names[i], bounds_s[k], total);
            else
                addf(&b, "login_server_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                     route_names[i], total);
        }
        addf(&b, "login_server_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[i],
             (double)atomic_load(&m.sum_us[i]) / 1e6);
        addf(&b, "login_server_request_duration_seconds_count{route=\"%s\"} %llu\n",
             route_names[i], total);
    }
    /* the library's own counters, module by module */
    add_text(&b, pool_text, app.pool);
    add_text(&b, password_text, app.pw);
    add_text(&b, rl_text, app.ip_limit);
    add_text(&b, guard_text, app.guard);
    add_text(&b, log_text, app.log);
    if (!b.p) {
        reply_internal(r, "metrics", PRD_ENOMEM);
        return;
    }
    free(r->resp);
    r->resp = b.p;
    r->resp_len = b.len;
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
