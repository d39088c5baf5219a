/*
 * pg-epoll: the pool from a plain epoll loop that never blocks.
 *
 * Reads account ids from standard input, one per line, and for each one
 * looks up a balance without waiting for the answer: the loop keeps
 * reading input, a timer keeps ticking, and answers are printed as they
 * come ("id balance", or "id error: ..."). At the end of input it waits
 * for the answers still out, then exits.
 *
 *   scripts/pg-temp -- sh -c 'seq 1 1000 | build/examples/pg-epoll'
 *
 * The database is libpq's PG* variables or PRD_DB (a conninfo). The
 * table is made if missing: CREATE TABLE accounts (id int8, balance int8).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "prodready.h"

struct lookup {
    long long id;
};

static size_t answered, failed;

/* Runs inside prd_pg_async_process, on the loop's thread. */
static void on_balance(void *ud, prd_status st, prd_pg_result *res, const prd_pg_error *err)
{
    struct lookup *l = ud;
    int64_t balance = 0;
    if (st == PRD_OK && prd_pg_result_rows(res) == 1 &&
        prd_pg_result_int64(res, 0, 0, &balance) == PRD_OK) {
        printf("%lld %lld\n", l->id, (long long)balance);
        answered++;
    } else if (st == PRD_OK) {
        printf("%lld error: no such account\n", l->id);
        failed++;
    } else {
        printf("%lld error: %s\n", l->id, prd_pg_error_message(err));
        failed++;
    }
    prd_pg_result_free(res); /* the callback owns it */
    free(l);
}

static void on_setup(void *ud, prd_status st, prd_pg_result *res, const prd_pg_error *err)
{
    int *ok = ud;
    *ok = st == PRD_OK ? 1 : -1;
    if (st != PRD_OK)
        fprintf(stderr, "pg-epoll: setup: %s\n", prd_pg_error_message(err));
    prd_pg_result_free(res);
}

/* One line of input: submit its lookup (the answer comes later). */
static void submit(prd_pg_async *a, prd_pg_params *p, const char *line)
{
    char *end;
    char text[64];
    size_t n = strcspn(line, "\n");
    snprintf(text, sizeof text, "%.*s", (int)(n < sizeof text ? n : sizeof text - 1), line);
    line = text;
    errno = 0;
    long long id = strtoll(line, &end, 10);
    if (errno || end == line || *end) {
        printf("%s error: not an id\n", line);
        failed++;
        return;
    }
    struct lookup *l = malloc(sizeof *l);
    if (!l)
        abort();
    l->id = id;
    prd_pg_params_reset(p);
    prd_status st = prd_pg_params_add_int64(p, id); /* copied by the submit below */
    if (st == PRD_OK)
        st = prd_pg_async_query(a, "SELECT balance FROM accounts WHERE id = $1", p, 2000,
                                       on_balance, l);
    if (st != PRD_OK) { /* refused at once (queue full, closed): no callback */
        printf("%lld error: %s\n", id, prd_status_str(st));
        failed++;
        free(l);
    }
}

int main(void)
{
    const char *ci = getenv("PRD_DB") ? getenv("PRD_DB") : "";
    prd_pg_config *cfg;
    prd_pg_pool *pool;
    prd_pg_error *err;
    if (prd_pg_config_new(ci, &cfg) != PRD_OK || prd_pg_error_new(&err) != PRD_OK)
        return 1;
    if (prd_pg_config_set_max_size(cfg, 8) != PRD_OK || prd_pg_pool_new(cfg, &pool, err) != PRD_OK) {
        fprintf(stderr, "pg-epoll: %s\n", prd_pg_error_message(err));
        return 1;
    }
    prd_pg_config_free(cfg);

    prd_pg_async *a;
    if (prd_pg_async_new(pool, 8, &a) != PRD_OK)
        return 1;
    if (prd_pg_async_set_pipeline_depth(a, 4) != PRD_OK)
        return 1;

    int ep = epoll_create1(EPOLL_CLOEXEC);
    /* The driver: one descriptor, whatever the number of connections. */
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
    epoll_ctl(ep, EPOLL_CTL_ADD, prd_pg_async_fd(a), &ev);
    /* The loop's other work: standard input and a timer. */
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = 1};
    int have_stdin = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == 0;
    int tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct itimerspec every = {.it_interval = {1, 0}, .it_value = {1, 0}};
    timerfd_settime(tick, 0, &every, NULL);
    ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = 2};
    epoll_ctl(ep, EPOLL_CTL_ADD, tick, &ev);

    /* The table first: lookups sent beside it could run before it exists. */
    int setup = 0;
    if (prd_pg_async_query(a, "CREATE TABLE IF NOT EXISTS accounts (id int8 PRIMARY KEY, balance int8)",
                           NULL, 5000, on_setup, &setup) != PRD_OK)
        return 1;
    while (setup == 0) {
        struct epoll_event e;
        epoll_wait(ep, &e, 1, prd_pg_async_timeout_ms(a));
        if (prd_pg_async_process(a) != PRD_OK)
            return 1;
    }
    if (setup < 0)
        return 1;
    prd_pg_params *p;
    if (prd_pg_params_new(&p) != PRD_OK)
        return 1;
    char buf[4096], line[64];
    size_t line_len = 0;
    int input_open = have_stdin;
    if (!have_stdin) { /* a regular file on stdin: epoll cannot watch it, so read it whole */
        while (fgets(line, sizeof line, stdin))
            submit(a, p, line);
    }
    while (input_open || prd_pg_async_pending(a) > 0) {
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, prd_pg_async_timeout_ms(a));
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u32 == 1) {
                ssize_t got = read(0, buf, sizeof buf);
                if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
                    input_open = 0;
                    line[line_len] = '\0';
                    if (line_len) /* a last line without its newline */
                        submit(a, p, line);
                    line_len = 0;
                }
                for (ssize_t k = 0; k < got; k++) {
                    if (buf[k] == '\n' || line_len == sizeof line - 1) {
                        line[line_len] = '\0';
                        if (line_len)
                            submit(a, p, line);
                        line_len = 0;
                    } else {
                        line[line_len++] = buf[k];
                    }
                }
            } else if (evs[i].data.u32 == 2) {
                uint64_t ticks;
                if (read(tick, &ticks, sizeof ticks) > 0)
                    fprintf(stderr, "pg-epoll: %zu answered, %zu waiting\n", answered,
                            prd_pg_async_pending(a));
            }
        }
        /* Whatever woke the loop, the driver gets its turn: it reads what
         * arrived, sends what waits, expires deadlines, runs callbacks. */
        prd_status st = prd_pg_async_process(a);
        if (st != PRD_OK) {
            fprintf(stderr, "pg-epoll: %s\n", prd_status_str(st));
            break;
        }
    }
    fflush(stdout);
    prd_pg_params_free(p);
    prd_pg_async_free(a);
    if (prd_pg_pool_close(pool, 1000) != PRD_OK)
        fprintf(stderr, "pg-epoll: connections still out after 1 s\n");
    prd_pg_pool_free(pool);
    prd_pg_error_free(err);
    close(tick);
    close(ep);
    return setup == 1 ? (failed ? 2 : 0) : 1;
}
