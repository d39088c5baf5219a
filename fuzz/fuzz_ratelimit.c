/* libFuzzer: arbitrary keys, costs, times (forward and back) and
 * reservations settled either way through a three-rule limiter (exact,
 * counter, GCRA). Oracle, for inputs whose time never goes back: the
 * exact rule never holds more than its limit of kept units within a
 * window. (With time going back, a key whose state decayed and was
 * reclaimed by its shard's clock starts afresh, as documented; those
 * inputs are checked for crashes and statuses only.) */
#include <stdlib.h>
#include <string.h>

#include "prodready.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define MAX_UNITS 256
#define MAX_OPEN 8

struct unit {
    int64_t t;
    int open; /* index + 1 of its still-open reservation, 0 kept */
};

static void check_window(const struct unit *u, size_t n, int64_t w, size_t limit)
{
    for (size_t i = 0; i < n; i++) {
        size_t in = 0;
        for (size_t j = 0; j < n; j++)
            if (u[j].t <= u[i].t && u[j].t > u[i].t - w)
                in++;
        if (in > limit)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    FUZZ_SETUP(prd_limiter_config_new(&cfg));
    FUZZ_SETUP(prd_limiter_config_add_rule(cfg, "exact", 3, 100, PRD_RL_EXACT));
    FUZZ_SETUP(prd_limiter_config_add_rule(cfg, "counter", 5, 50, PRD_RL_COUNTER));
    FUZZ_SETUP(prd_limiter_config_add_gcra(cfg, "gcra", 4, 100, 2));
    FUZZ_SETUP(prd_limiter_config_set_max_keys(cfg, 16));
    FUZZ_SETUP(prd_limiter_new(cfg, &l));
    prd_limiter_config_free(cfg);
    int64_t t = 1000, key_t = 0;
    struct unit units[MAX_UNITS];
    size_t n = 0;
    prd_rl_reservation open[MAX_OPEN];
    size_t open_first[MAX_OPEN]; /* where its units start in units[] */
    uint64_t open_cost[MAX_OPEN];
    int n_open = 0;
    int monotone = size > 0 && (data[0] & 1);
    if (size > 0) {
        data++;
        size--;
    }
    /* Records: 1 byte time step (signed unless monotone), 1 byte op/cost,
     * 1 byte key length, key. */
    while (size >= 3 && n < MAX_UNITS - 8) {
        t += monotone ? (int64_t)data[0] : (int64_t)(int8_t)data[0];
        if (t < 0)
            t = 0;
        uint64_t cost = data[1] % 4;
        int op = data[1] >> 6; /* 0 check, 1 reserve, 2 settle the oldest open, 3 peek */
        size_t klen = data[2] % 8;
        data += 3;
        size -= 3;
        if (klen > size)
            klen = size;
        prd_rl_key keys[3] = {{"k", 1}, {data, klen}, {"g", 1}};
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        prd_status st;
        if (op == 2 && n_open > 0) {
            int keep = cost & 1;
            st = keep ? prd_limiter_commit(l, &open[0]) : prd_limiter_refund_at(l, &open[0], t);
            if (st != PRD_OK)
                abort();
            for (size_t i = 0; i < open_cost[0]; i++)
                units[open_first[0] + i].open = keep ? 0 : -1; /* -1: given back */
            memmove(open, open + 1, (size_t)(n_open - 1) * sizeof open[0]);
            memmove(open_first, open_first + 1, (size_t)(n_open - 1) * sizeof open_first[0]);
            memmove(open_cost, open_cost + 1, (size_t)(n_open - 1) * sizeof open_cost[0]);
            n_open--;
        } else if (op == 3) {
            st = prd_limiter_peek_at(l, keys, 3, cost, t, &d);
            if (cost == 0 ? st != PRD_EINVAL : st != PRD_OK && st != PRD_ELIMITED)
                abort();
            if (cost)
                key_t = t > key_t ? t : key_t; /* evaluating moves the key's clock */
        } else {
            int reserve = op == 1 && n_open < MAX_OPEN;
            st = reserve ? prd_limiter_reserve_at(l, keys, 3, cost, t, &d, &open[n_open])
                         : prd_limiter_check_at(l, keys, 3, cost, t, &d);
            if (cost == 0 && st != PRD_EINVAL)
                abort();
            if (cost && st != PRD_EBUSY)
                key_t = t > key_t ? t : key_t; /* the shared key's own clock */
            if (st == PRD_OK) {
                if (reserve) {
                    open_first[n_open] = n;
                    open_cost[n_open++] = cost;
                }
                for (uint64_t c = 0; c < cost; c++)
                    units[n++] = (struct unit){key_t, 0};
            }
        }
        data += klen;
        size -= klen;
    }
    /* Units given back no longer count. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (units[i].open != -1)
            units[kept++] = units[i];
    if (monotone)
        check_window(units, kept, 100, 3);
    char buf[PRD_RL_HEADER_SIZE];
    prd_limiter_policy_header(l, buf, sizeof buf);
    prd_limiter_free(l);
    return 0;
}
