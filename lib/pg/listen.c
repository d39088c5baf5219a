/*
 * LISTEN/NOTIFY: a listener keeps one connection of its own (a private
 * pool of one, so connecting, backoff and deadlines are the pool's) and a
 * thread that waits on its socket and hands each notification to the
 * callback. When the connection is lost the thread reconnects, LISTENs to
 * every channel again and tells the callback (channel NULL) that
 * notifications may have been missed in between.
 */
#include "internal/common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/pg.h"

#define MAX_CHANNELS 256
#define CHANNEL_MAX 63 /* NAMEDATALEN - 1 */

struct prd_pg_listener {
    prd_pg_pool *pool;
    prd_pg_conn *conn; /* the thread's, while connected */
    prd_pg_notify_fn fn;
    void *ud;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t done;
    int wake[2];
    char channels[MAX_CHANNELS][CHANNEL_MAX + 1];
    size_t n_channels;
    /* a request from another thread: LISTEN (1) or UNLISTEN (2) req_channel */
    int req, req_done;
    prd_status req_status;
    char req_channel[CHANNEL_MAX + 1];
    int stop;
};

static prd_status run_listen(prd_pg_listener *l, const char *channel, int listen)
{
    char *id = PQescapeIdentifier(l->conn->pg, channel, strlen(channel));
    if (!id)
        return PRD_ENOMEM;
    char sql[CHANNEL_MAX * 2 + 32];
    snprintf(sql, sizeof sql, "%s %s", listen ? "LISTEN" : "UNLISTEN", id);
    PQfreemem(id);
    return prd_pg_query(l->conn, sql, NULL, NULL);
}

/* Connect (the pool's backoff applies) and LISTEN to every channel. */
static prd_status connect_all(prd_pg_listener *l)
{
    prd_status st = prd_pg_pool_acquire_at(l->pool, &l->conn, NULL, "prd_pg_listener", 0);
    if (st != PRD_OK) {
        l->conn = NULL;
        return st;
    }
    pthread_mutex_lock(&l->mu);
    size_t n = l->n_channels;
    char (*copy)[CHANNEL_MAX + 1] = n ? prd__malloc(n * sizeof *copy) : NULL;
    if (n && copy)
        memcpy(copy, l->channels, n * sizeof *copy);
    pthread_mutex_unlock(&l->mu);
    if (n && !copy)
        st = PRD_ENOMEM;
    for (size_t i = 0; st == PRD_OK && i < n; i++)
        st = run_listen(l, copy[i], 1);
    prd__free(copy);
    if (st != PRD_OK) {
        prd_pg_pool_release(l->conn);
        l->conn = NULL;
    }
    return st;
}

static void serve_request(prd_pg_listener *l)
{
    pthread_mutex_lock(&l->mu);
    int req = l->req;
    char ch[CHANNEL_MAX + 1];
    memcpy(ch, l->req_channel, sizeof ch);
    pthread_mutex_unlock(&l->mu);
    if (!req)
        return;
    prd_status st = l->conn ? run_listen(l, ch, req == 1) : PRD_OK; /* else: at reconnect */
    pthread_mutex_lock(&l->mu);
    l->req = 0;
    l->req_done = 1;
    l->req_status = st;
    pthread_cond_broadcast(&l->done);
    pthread_mutex_unlock(&l->mu);
}

static void deliver(prd_pg_listener *l)
{
    PGnotify *n;
    while ((n = PQnotifies(l->conn->pg)) != NULL) {
        l->fn(l->ud, n->relname, n->extra ? n->extra : "", n->be_pid);
        PQfreemem(n);
    }
}

static void *listener_main(void *arg)
{
    prd_pg_listener *l = arg;
    int was_connected = 0;
    for (;;) {
        pthread_mutex_lock(&l->mu);
        int stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop)
            break;
        if (!l->conn) {
            if (connect_all(l) != PRD_OK) {
                serve_request(l); /* channel lists are kept; answered */
                struct pollfd w = {.fd = l->wake[0], .events = POLLIN};
                (void)poll(&w, 1, 50);
                continue;
            }
            if (was_connected)
                l->fn(l->ud, NULL, NULL, 0); /* reconnected: some may be missed */
            was_connected = 1;
        }
        serve_request(l);
        deliver(l); /* what arrived while a LISTEN was answered */
        struct pollfd p[2] = {{.fd = PQsocket(l->conn->pg), .events = POLLIN},
                              {.fd = l->wake[0], .events = POLLIN}};
        int r = poll(p, 2, 1000);
        if (r < 0 && errno != EINTR)
            continue;
        if (p[1].revents & POLLIN) {
            char drain[64];
            while (read(l->wake[0], drain, sizeof drain) > 0) {
            }
        }
        if (p[0].revents & (POLLIN | POLLERR | POLLHUP)) {
            if (!PQconsumeInput(l->conn->pg) || PQstatus(l->conn->pg) != CONNECTION_OK) {
                l->conn->broken = 1;
                prd_pg_pool_release(l->conn);
                l->conn = NULL;
                continue;
            }
            deliver(l);
        }
    }
    if (l->conn)
        prd_pg_pool_release(l->conn);
    l->conn = NULL;
    return NULL;
}

prd_status prd_pg_listener_new(const prd_pg_config *cfg, prd_pg_notify_fn fn, void *userdata,
                               prd_pg_listener **out, prd_pg_error *err)
{
    if (out)
        *out = NULL;
    if (!cfg || !fn || !out)
        return PRD_EINVAL;
    prd_pg_config *own = NULL;
    prd_status st = prd__pg_config_copy(cfg, &own);
    if (st != PRD_OK)
        return st;
    /* one connection, held for good: no leak reports, no housekeeping */
    own->min_size = 1;
    own->max_size = 1;
    own->leak_threshold_ms = 0;
    own->maintenance_interval_ms = 0;
    prd_pg_listener *l = prd__calloc(1, sizeof *l);
    if (!l) {
        prd_pg_config_free(own);
        return PRD_ENOMEM;
    }
    st = prd_pg_pool_new(own, &l->pool, err); /* fails fast on a wrong server */
    prd_pg_config_free(own);
    if (st != PRD_OK) {
        prd__free(l);
        return st;
    }
    l->fn = fn;
    l->ud = userdata;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->done, NULL);
    if (pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
        pthread_create(&l->thread, NULL, listener_main, l) != 0) {
        prd_pg_pool_free(l->pool);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->done);
        prd__free(l);
        return PRD_EINTERNAL;
    }
    *out = l;
    return PRD_OK;
}

static int channel_ok(const char *ch)
{
    size_t n = ch ? strnlen(ch, CHANNEL_MAX + 1) : 0;
    return n > 0 && n <= CHANNEL_MAX;
}

static prd_status request(prd_pg_listener *l, const char *channel, int kind)
{
    if (!l || !channel_ok(channel))
        return PRD_EINVAL;
    pthread_mutex_lock(&l->mu);
    size_t at = l->n_channels;
    for (size_t i = 0; i < l->n_channels; i++)
        if (!strcmp(l->channels[i], channel))
            at = i;
    if (kind == 1 && at == l->n_channels) {
        if (l->n_channels == MAX_CHANNELS) {
            pthread_mutex_unlock(&l->mu);
            return PRD_ETOOBIG;
        }
        memcpy(l->channels[l->n_channels++], channel, strlen(channel) + 1);
    } else if (kind == 2 && at < l->n_channels) {
        memmove(l->channels[at], l->channels[l->n_channels - 1], sizeof l->channels[at]);
        l->n_channels--;
    }
    while (l->req) /* one request at a time */
        pthread_cond_wait(&l->done, &l->mu);
    l->req = kind;
    l->req_done = 0;
    memcpy(l->req_channel, channel, strlen(channel) + 1);
    pthread_mutex_unlock(&l->mu);
    if (write(l->wake[1], "x", 1) < 0) {
        /* the pipe is full: the thread is awake already */
    }
    pthread_mutex_lock(&l->mu);
    while (!l->req_done)
        pthread_cond_wait(&l->done, &l->mu);
    prd_status st = l->req_status;
    pthread_mutex_unlock(&l->mu);
    return st;
}

prd_status prd_pg_listener_listen(prd_pg_listener *l, const char *channel)
{
    return request(l, channel, 1);
}

prd_status prd_pg_listener_unlisten(prd_pg_listener *l, const char *channel)
{
    return request(l, channel, 2);
}

void prd_pg_listener_free(prd_pg_listener *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_mutex_unlock(&l->mu);
    if (write(l->wake[1], "x", 1) < 0) {
        /* awake already */
    }
    pthread_join(l->thread, NULL);
    prd_pg_pool_free(l->pool);
    close(l->wake[0]);
    close(l->wake[1]);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->done);
    prd__free(l);
}

prd_status prd_pg_notify(prd_pg_conn *c, const char *channel, const char *payload)
{
    if (!c || !channel_ok(channel) || !payload || strlen(payload) >= 8000)
        return PRD_EINVAL;
    const char *v[2] = {channel, payload};
    return prd_pg_query_text(c, "SELECT pg_notify($1, $2)", 2, v, NULL);
}
