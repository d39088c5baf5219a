/*
 * The two sliding-window algorithms on one slot (docs/ratelimit.md).
 *
 * Exact: a ring of the admission times of the last `limit` units. A unit
 * admitted at ts counts in the window (t-W, t] while ts > t - W. A request
 * of cost c is admitted iff units_in_window + c <= limit, so no window of
 * length W ever holds more than `limit` units. When denied, the request
 * fits once the (units + c - limit) oldest units have left: retry_after is
 * exact.
 *
 * Counter: fixed windows aligned to multiples of W; the estimate is
 * prev * (W - elapsed) / W + cur. Integer arithmetic throughout, scaled by
 * W, so decisions do not depend on floating-point rounding.
 */
#include "internal/common.h"
#include "internal/ratelimit.h"

__extension__ typedef unsigned __int128 u128;

static struct prd__rl_counter *counter_of(struct prd__rl_slot *s)
{
    return (struct prd__rl_counter *)(s + 1);
}

static struct prd__rl_exact *exact_of(struct prd__rl_slot *s)
{
    return (struct prd__rl_exact *)(s + 1);
}

/* ---- exact ---- */

static void exact_refresh(const struct prd__rl_rule *r, struct prd__rl_exact *e, int64_t now)
{
    while (e->count > 0 && e->ts[e->head] <= now - r->window_ms) {
        e->head = (uint32_t)((e->head + 1) % r->limit);
        e->count--;
    }
}

static int64_t exact_at(const struct prd__rl_rule *r, const struct prd__rl_exact *e, uint64_t i)
{
    return e->ts[(e->head + i) % r->limit];
}

static void exact_eval(const struct prd__rl_rule *r, struct prd__rl_exact *e, uint64_t cost,
                       int64_t now, struct prd__rl_eval *out)
{
    exact_refresh(r, e, now);
    uint64_t used = e->count;
    out->allowed = cost <= r->limit && used + cost <= r->limit;
    out->remaining = out->allowed ? r->limit - used - cost : r->limit - used;
    int64_t newest = out->allowed && cost ? now : used ? exact_at(r, e, used - 1) : now;
    out->reset_ms = (used || (out->allowed && cost)) ? newest + r->window_ms - now : 0;
    if (out->allowed)
        out->retry_after_ms = 0;
    else if (cost > r->limit)
        out->retry_after_ms = -1;
    else /* the (used + cost - limit)-th oldest unit must leave first */
        out->retry_after_ms = exact_at(r, e, used + cost - r->limit - 1) + r->window_ms - now;
}

static void exact_commit(const struct prd__rl_rule *r, struct prd__rl_exact *e, uint64_t cost,
                         int64_t now)
{
    for (uint64_t k = 0; k < cost; k++) {
        e->ts[(e->head + e->count) % r->limit] = now;
        e->count++;
    }
}

/* ---- counter ---- */

static void counter_refresh(const struct prd__rl_rule *r, struct prd__rl_counter *c, int64_t now)
{
    int64_t w = now - now % r->window_ms;
    if (w == c->win_start)
        return;
    c->prev = w == c->win_start + r->window_ms ? c->cur : 0;
    c->cur = 0;
    c->win_start = w;
}

/* limit*W - (prev*(W-elapsed) + cur*W): the room left, scaled by W. */
static u128 scaled_room(const struct prd__rl_rule *r, const struct prd__rl_counter *c, int64_t now)
{
    u128 W = (u128)r->window_ms;
    u128 used = (u128)c->prev * (u128)(r->window_ms - (now - c->win_start)) + (u128)c->cur * W;
    u128 cap = (u128)r->limit * W;
    return used >= cap ? 0 : cap - used;
}

/* The common case, all in 64 bits: limit*W and prev*W fit (both below
 * 2^63), which avoids the 128-bit division that showed in perf. */
static int counter_eval_fast(const struct prd__rl_rule *r, struct prd__rl_counter *c,
                             uint64_t cost, int64_t now, struct prd__rl_eval *out)
{
    uint64_t W = (uint64_t)r->window_ms;
    if (r->limit > (UINT64_C(1) << 62) / W || cost > r->limit || c->cur > r->limit ||
        c->prev > r->limit)
        return 0;
    uint64_t cap = r->limit * W;
    uint64_t used = c->prev * (W - (uint64_t)(now - c->win_start)) + c->cur * W;
    uint64_t room = used >= cap ? 0 : cap - used;
    out->allowed = cost * W <= room;
    if (!out->allowed)
        return 0; /* denials take the general path for retry_after */
    out->remaining = (room - cost * W) / W;
    out->reset_ms = c->win_start + 2 * r->window_ms - now;
    out->retry_after_ms = 0;
    return 1;
}

static void counter_eval(const struct prd__rl_rule *r, struct prd__rl_counter *c, uint64_t cost,
                         int64_t now, struct prd__rl_eval *out)
{
    counter_refresh(r, c, now);
    if (counter_eval_fast(r, c, cost, now, out))
        return;
    u128 W = (u128)r->window_ms;
    u128 room = scaled_room(r, c, now);
    out->allowed = (u128)cost * W <= room;
    u128 left = out->allowed ? room - (u128)cost * W : room;
    out->remaining = (uint64_t)(left / W);
    uint64_t cur_after = c->cur + (out->allowed ? cost : 0);
    out->reset_ms = cur_after ? c->win_start + 2 * r->window_ms - now
                    : c->prev ? c->win_start + r->window_ms - now
                              : 0;
    if (out->allowed) {
        out->retry_after_ms = 0;
        return;
    }
    if (cost > r->limit) {
        out->retry_after_ms = -1;
        return;
    }
    /* Earliest time the estimate plus cost fits, assuming no other traffic:
     * in this window the previous window's weight decays linearly; if cur
     * alone leaves no room, in the next window cur becomes prev and decays. */
    uint64_t prev = c->prev, cur = c->cur;
    int64_t start = c->win_start;
    if (cur + cost > r->limit) {
        prev = cur;
        cur = 0;
        start += r->window_ms;
    }
    int64_t wait_el = 0; /* elapsed time in that window when the request fits */
    if (prev > 0) {
        /* need prev*(W-el) <= (limit-cur-cost)*W  =>  el >= W - (limit-cur-cost)*W/prev */
        u128 slack = (u128)(r->limit - cur - cost) * W;
        u128 need = W - (slack / prev > W ? W : slack / prev);
        wait_el = (int64_t)need;
        if ((u128)prev * (W - need) > slack)
            wait_el++;
    }
    int64_t t = start + wait_el;
    out->retry_after_ms = t > now ? t - now : 1;
}

static void counter_commit(struct prd__rl_counter *c, uint64_t cost)
{
    c->cur += cost;
}

/* ---- dispatch ---- */

void prd__rl_evaluate(const struct prd__rl_rule *r, struct prd__rl_slot *s, uint64_t cost,
                      int64_t now, struct prd__rl_eval *out)
{
    if (r->algorithm == PRD_RL_EXACT)
        exact_eval(r, exact_of(s), cost, now, out);
    else
        counter_eval(r, counter_of(s), cost, now, out);
}

void prd__rl_commit(const struct prd__rl_rule *r, struct prd__rl_slot *s, uint64_t cost,
                    int64_t now, struct prd__rl_eval *out)
{
    (void)out;
    if (r->algorithm == PRD_RL_EXACT)
        exact_commit(r, exact_of(s), cost, now);
    else
        counter_commit(counter_of(s), cost);
    s->last_ms = now;
}

int prd__rl_expired(const struct prd__rl_rule *r, const struct prd__rl_slot *s, int64_t now)
{
    if (r->algorithm == PRD__RL_PAIR)
        return now >= s->last_ms + r->window_ms;
    if (r->algorithm == PRD_RL_EXACT) {
        const struct prd__rl_exact *e = (const struct prd__rl_exact *)(s + 1);
        return e->count == 0 ||
               e->ts[(e->head + e->count - 1) % r->limit] <= now - r->window_ms;
    }
    const struct prd__rl_counter *c = (const struct prd__rl_counter *)(s + 1);
    return now >= c->win_start + 2 * r->window_ms || (c->cur == 0 && c->prev == 0);
}
