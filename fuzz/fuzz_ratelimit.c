/* libFuzzer: arbitrary keys, costs and times through a two-rule limiter;
 * the exact rule must never admit more than its limit within a window. */
#include <stdlib.h>
#include <string.h>

#include "prodready.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    prd_limiter_config_new(&cfg);
    prd_limiter_config_add_rule(cfg, "exact", 3, 100, PRD_RL_EXACT);
    prd_limiter_config_add_rule(cfg, "counter", 5, 50, PRD_RL_COUNTER);
    prd_limiter_config_set_max_keys(cfg, 16);
    prd_limiter_new(cfg, &l);
    prd_limiter_config_free(cfg);
    int64_t t = 0, admitted[64];
    size_t n_adm = 0;
    /* Records: 1 byte time step, 1 byte cost, 1 byte key length, key. */
    while (size >= 3) {
        t += data[0];
        uint64_t cost = data[1] % 5;
        size_t klen = data[2] % 8;
        data += 3;
        size -= 3;
        if (klen > size)
            klen = size;
        prd_rl_key keys[2] = {{"k", 1}, {data, klen}};
        prd_rl_decision d;
        prd_status st = prd_limiter_check_at(l, keys, 2, cost, t, &d);
        if (cost == 0 && st != PRD_EINVAL)
            abort();
        if (st == PRD_OK)
            for (uint64_t c = 0; c < cost && n_adm < 64; c++)
                admitted[n_adm++] = t;
        data += klen;
        size -= klen;
    }
    /* The exact rule's key "k" is shared by every record: at most 3 units
     * in any 100 ms window. */
    for (size_t i = 0, j = 0; i < n_adm; i++) {
        while (admitted[j] <= admitted[i] - 100)
            j++;
        if (i - j + 1 > 3)
            abort();
    }
    char buf[256];
    prd_limiter_policy_header(l, buf, sizeof buf);
    prd_limiter_free(l);
    return 0;
}
