/* libmicrohttpd glue: bodies and their limits, answers, client addresses
 * behind trusted proxies, request ids, one log line per request. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <microhttpd.h>

#include "app.h"

atomic_int in_flight;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void add_header(struct req *r, const char *name, const char *value)
{
    if (r->n_headers >= (int)(sizeof r->headers / sizeof r->headers[0]))
        return;
    snprintf(r->headers[r->n_headers][0], sizeof r->headers[0][0], "%s", name);
    snprintf(r->headers[r->n_headers][1], sizeof r->headers[0][1], "%s", value);
    r->n_headers++;
}

void reply_json(struct req *r, int status, json_t *body)
{
    free(r->resp);
    r->resp = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!r->resp) { /* out of memory formatting: still an answer */
        r->status = 500;
        r->content_type = NULL;
        r->resp_len = 0;
        return;
    }
    r->resp_len = strlen(r->resp);
    r->status = status;
    r->content_type = "application/json";
}

void reply_problem(struct req *r, int status, const char *title, const char *detail)
{
    /* RFC 9457: a fixed title per kind of problem; detail is for people */
    json_t *p = json_pack("{s:s,s:s,s:i}", "type", "about:blank", "title", title, "status", status);
    if (p && detail)
        json_object_set_new(p, "detail", json_string(detail));
    reply_json(r, status, p);
    r->content_type = "application/problem+json";
}

void reply_empty(struct req *r, int status)
{
    free(r->resp);
    r->resp = NULL;
    r->resp_len = 0;
    r->status = status;
    r->content_type = NULL;
}

void reply_internal(struct req *r, const char *what, prd_status st)
{
    /* The client learns nothing of the cause; the log has it under the id. */
    snprintf(r->error_detail, sizeof r->error_detail, "%s: %s", what, prd_status_name(st));
    int unavailable = st == PRD_EDB || st == PRD_ETIMEOUT || st == PRD_ECLOSED || st == PRD_EBUSY;
    if (unavailable)
        add_header(r, "Retry-After", "1");
    reply_problem(r, unavailable ? 503 : 500, "Something went wrong", NULL);
}

static struct MHD_Connection *conn_of(struct req *r);

const char *request_cookie(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(conn_of(r), MHD_COOKIE_KIND, name);
}

/* ---- routing ---- */

struct route {
    const char *path, *method;
    void (*fn)(struct req *);
};
static const struct route routes[] = {
    {"/signup", "POST", route_signup},
    {"/login", "POST", route_login},
    {"/me", "GET", route_me},
    {"/logout", "POST", route_logout},
    {"/logout-all", "POST", route_logout_all},
    {"/password-reset/request", "POST", route_reset_request},
    {"/password-reset/confirm", "POST", route_reset_confirm},
    {"/healthz", "GET", route_healthz},
    {"/readyz", "GET", route_readyz},
    {"/metrics", "GET", route_metrics},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static const struct route *find_route(const char *url)
{
    for (size_t i = 0; i < N_ROUTES; i++)
        if (strcmp(routes[i].path, url) == 0)
            return &routes[i];
    return NULL;
}

static void dispatch(struct req *r, const char *url)
{
    const struct route *rt = find_route(url);
    if (!rt) {
        reply_problem(r, 404, "Not found", NULL);
        return;
    }
    int head_of_get = strcmp(rt->method, "GET") == 0 && strcmp(r->method, "HEAD") == 0;
    if (strcmp(rt->method, r->method) != 0 && !head_of_get) {
        add_header(r, "Allow", rt->method);
        reply_problem(r, 405, "Method not allowed", NULL);
        return;
    }
    rt->fn(r);
}

/* ---- client addresses ---- */

static int to16(const char *text, unsigned char out[16])
{
    struct in_addr a4;
    if (inet_pton(AF_INET, text, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return 1;
    }
    return inet_pton(AF_INET6, text, out) == 1;
}

static int trusted(const char *text)
{
    unsigned char a[16];
    if (!to16(text, a))
        return 0;
    for (size_t i = 0; i < app.n_proxies; i++)
        if (memcmp(a, app.proxies[i], 16) == 0)
            return 1;
    return 0;
}

/* The peer, or when the peer is a trusted proxy, the rightmost address
 * of X-Forwarded-For that is not one (what a client cannot forge). */
static void client_address(struct MHD_Connection *c, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "unknown");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
    if (!app.n_proxies || !trusted(out))
        return;
    const char *xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
    if (!xff || strlen(xff) > 4096)
        return;
    char list[4097];
    snprintf(list, sizeof list, "%s", xff);
    for (;;) {
        char *comma = strrchr(list, ',');
        char *item = comma ? comma + 1 : list;
        while (*item == ' ' || *item == '\t')
            item++;
        char *end = item + strlen(item);
        while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        unsigned char a[16];
        if (!to16(item, a))
            return; /* garbage from the proxy's side: keep the last good hop */
        snprintf(out, size, "%s", item);
        if (!trusted(item) || !comma)
            return;
        *comma = '\0';
    }
}

/* ---- libmicrohttpd ---- */

struct req_conn {
    struct req r;
    struct MHD_Connection *c;
};

static struct MHD_Connection *conn_of(struct req *r)
{
    return ((struct req_conn *)r)->c;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct req *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    r->resp = NULL; /* the response owns it now */
    if (r->content_type)
        MHD_add_response_header(resp, "Content-Type", r->content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (int i = 0; i < r->n_headers; i++)
        MHD_add_response_header(resp, r->headers[i][0], r->headers[i][1]);
    if (r->too_big)
        MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct req_conn *rc = *con_cls;
    if (!rc) {
        rc = calloc(1, sizeof *rc);
        if (!rc)
            return MHD_NO;
        *con_cls = rc;
        atomic_fetch_add(&in_flight, 1);
        struct req *r = &rc->r;
        rc->c = c;
        r->start_ns = now_ns();
        r->method = method;
        const struct route *rt = find_route(url);
        r->route = rt ? rt->path : "other";
        unsigned char id[16] = {0};
        if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id)
            memset(id, 0, sizeof id);
        prd_hex_encode(r->id, sizeof r->id, id, sizeof id);
        client_address(c, r->client, sizeof r->client);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (*end || n > BODY_MAX) {
                /* refused from the header: the body is never read */
                r->too_big = 1;
                reply_problem(r, 413, "Request too large", "Bodies are at most 16 KiB.");
                return send_reply(c, r);
            }
        }
        return MHD_YES;
    }
    struct req *r = &rc->r;
    if (*upload_size) {
        if (r->too_big) {
            *upload_size = 0;
            return MHD_YES;
        }
        if (r->body_len + *upload_size > BODY_MAX) {
            r->too_big = 1; /* no Content-Length (chunked): close the connection */
            r->status = 413;
            return MHD_NO;
        }
        char *nb = realloc(r->body, r->body_len + *upload_size + 1);
        if (!nb)
            return MHD_NO;
        r->body = nb;
        memcpy(r->body + r->body_len, upload, *upload_size);
        r->body_len += *upload_size;
        r->body[r->body_len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_big)
        return MHD_YES; /* answered already */
    if (atomic_load(&app.stopping))
        add_header(r, "Connection", "close");
    dispatch(r, url);
    return send_reply(c, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    struct req_conn *rc = *con_cls;
    if (!rc)
        return;
    struct req *r = &rc->r;
    int64_t ns = now_ns() - r->start_ns;
    int status = r->status ? r->status : 499; /* the client went away before an answer */
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED && !r->status)
        status = 408;
    metrics_observe(r->route, status, ns);
    prd_log_field f[8];
    size_t n = 0;
    f[n++] = PRD_F_STR("request_id", r->id);
    f[n++] = PRD_F_STR("method", r->method ? r->method : "");
    f[n++] = PRD_F_STR("route", r->route);
    f[n++] = PRD_F_INT("status", status);
    f[n++] = PRD_F_DOUBLE("duration_ms", (double)ns / 1e6);
    f[n++] = PRD_F_STR("client", r->client);
    if (r->user_id[0])
        f[n++] = PRD_F_STR("user_id", r->user_id);
    if (r->error_detail[0])
        f[n++] = PRD_F_STR("error", r->error_detail);
    prd_log(app.log, status >= 500 ? PRD_LOG_ERROR : PRD_LOG_INFO, "request", f, n);
    if (r->body)
        prd_memzero(r->body, r->body_len); /* it held passwords */
    free(r->body);
    free(r->resp);
    free(rc);
    *con_cls = NULL;
    atomic_fetch_sub(&in_flight, 1);
}

struct MHD_Daemon *http_start(const char *host, int port, unsigned idle_s, int *bound_port)
{
    struct sockaddr_in6 s6;
    struct sockaddr_in s4;
    memset(&s6, 0, sizeof s6);
    memset(&s4, 0, sizeof s4);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    const struct sockaddr *sa;
    if (inet_pton(AF_INET, host, &s4.sin_addr) == 1) {
        s4.sin_family = AF_INET;
        s4.sin_port = htons((uint16_t)port);
        sa = (const struct sockaddr *)&s4;
    } else if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1) {
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons((uint16_t)port);
        sa = (const struct sockaddr *)&s6;
        flags |= MHD_USE_IPv6;
    } else {
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4, MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
        MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!d)
        return NULL;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = di ? di->port : port;
    return d;
}
