/*
 * The three rule kinds on one key's state (docs/ratelimit.md).
 *
 * Exact: a ring of the admission times of the units in the window. A unit
 * admitted at ts counts in the window (t-W, t] while ts > t - W. A request
 * of cost c is admitted iff units_in_window + c <= limit, so no window of
 * length W ever holds more than `limit` units. When denied, the request
 * fits once the (units + c - limit) oldest units have left: retry_after is
 * exact.
 *
 * Counter: fixed windows aligned to multiples of W; the estimate is
 * prev * (W - elapsed) / W + cur. Integer arithmetic throughout, scaled by
 * W, so decisions do not depend on floating-point rounding.
 *
 * GCRA: the generic cell rate algorithm (a token bucket written as one
 * "theoretical arrival time"): a unit is replenished every W/N, at most
 * `burst` units are admitted at once. 8 bytes of state.
 *
 * Exact and counter states run on the key's own clock, which never goes
 * back (a clock step back cannot erase history); every time handed out is
 * relative to the caller's `now`, so retrying at now + retry_after is
 * admitted whatever the clock did.
 */
#include "internal/common.h"
#include "internal/ratelimit.h"

#include <string.h>

__extension__ typedef unsigned __int128 u128;

#define NS_PER_MS INT64_C(1000000)

static struct prd__rl_counter *counter_of(struct prd__rl_slot *s)
{
    return (struct prd__rl_counter *)(s + 1);
}

static struct prd__rl_gcra *gcra_of(struct prd__rl_slot *s)
{
    return (struct prd__rl_gcra *)(s + 1);
}

size_t prd__rl_state_bytes(uint32_t algorithm)
{
    switch (algorithm) {
    case PRD_RL_COUNTER: return sizeof(struct prd__rl_counter);
    case PRD_RL_GCRA: return sizeof(struct prd__rl_gcra);
    case PRD__RL_FAILS: return sizeof(struct prd__rl_fails);
    case PRD__RL_TRUST: return sizeof(struct prd__rl_trust);
    default: return sizeof(struct prd__rl_exact_ref);
    }
}

/* ---- exact ---- */

static uint64_t ring(const struct prd__rl_rule *r, const struct prd__rl_exact *e, uint64_t i)
{
    uint64_t k = e->head + i;
    return k >= r->limit ? k - r->limit : k;
}

static int64_t exact_at(const struct prd__rl_rule *r, const struct prd__rl_exact *e, uint64_t i)
{
    return e->ts[ring(r, e, i)];
}

static void exact_refresh(const struct prd__rl_rule *r, struct prd__rl_exact *e, int64_t t)
{
    while (e->count > 0 && e->ts[e->head] <= t - r->window_ms) {
        e->head = (uint32_t)ring(r, e, 1);
        e->count--;
    }
}

static void exact_eval(const struct prd__rl_rule *r, struct prd__rl_exact *e, uint64_t cost,
                       int64_t t, struct prd__rl_eval *out)
{
    exact_refresh(r, e, t);
    uint64_t used = e->count;
    out->allowed = cost <= r->limit && used + cost <= r->limit;
    out->remaining = out->allowed ? r->limit - used - cost : r->limit - used;
    int64_t newest = out->allowed ? t : used ? exact_at(r, e, used - 1) : t;
    out->reset_ms = (used || out->allowed) ? newest + r->window_ms - t : 0;
    if (out->allowed)
        out->retry_after_ms = 0;
    else if (cost > r->limit)
        out->retry_after_ms = -1;
    else /* the (used + cost - limit)-th oldest unit must leave first */
        out->retry_after_ms = exact_at(r, e, used + cost - r->limit - 1) + r->window_ms - t;
}

static void exact_commit(const struct prd__rl_rule *r, struct prd__rl_exact *e, uint64_t cost,
                         int64_t t)
{
    for (uint64_t k = 0; k < cost; k++) {
        e->ts[ring(r, e, e->count)] = t;
        e->count++;
    }
    e->last_ms = t;
}

/* Remove up to cost units stamped t. The log is sorted, so they form one
 * run; the shorter side of the ring moves over the gap, which costs the
 * units admitted since the reservation (or before it), never the whole
 * ring. */
static void exact_refund(const struct prd__rl_rule *r, struct prd__rl_exact *e, uint64_t cost,
                         int64_t t)
{
    uint64_t n = e->count, end = n;
    while (end > 0 && exact_at(r, e, end - 1) > t)
        end--;
    uint64_t start = end;
    while (start > 0 && end - start < cost && exact_at(r, e, start - 1) == t)
        start--;
    uint64_t k = end - start;
    if (k == 0)
        return;
    if (n - end <= start) {
        for (uint64_t i = end; i < n; i++)
            e->ts[ring(r, e, i - k)] = exact_at(r, e, i);
    } else {
        for (uint64_t i = start; i-- > 0;)
            e->ts[ring(r, e, i + k)] = exact_at(r, e, i);
        e->head = (uint32_t)ring(r, e, k);
    }
    e->count -= (uint32_t)k;
}

/* ---- counter ---- */

static void counter_refresh(const struct prd__rl_rule *r, struct prd__rl_counter *c, int64_t t)
{
    int64_t w = t - t % r->window_ms;
    if (w == c->win_start)
        return;
    c->prev = c->win_start != INT64_MIN && w == c->win_start + r->window_ms ? c->cur : 0;
    c->cur = 0;
    c->win_start = w;
}

/* limit*W - (prev*(W-elapsed) + cur*W): the room left, scaled by W. */
static u128 scaled_room(const struct prd__rl_rule *r, const struct prd__rl_counter *c, int64_t t)
{
    u128 W = (u128)r->window_ms;
    u128 used = (u128)c->prev * (u128)(r->window_ms - (t - c->win_start)) + (u128)c->cur * W;
    u128 cap = (u128)r->limit * W;
    return used >= cap ? 0 : cap - used;
}

/* The common case, all in 64 bits: limit*W and prev*W fit (both below
 * 2^63), which avoids the 128-bit division that showed in perf. */
static int counter_eval_fast(const struct prd__rl_rule *r, struct prd__rl_counter *c,
                             uint64_t cost, int64_t t, struct prd__rl_eval *out)
{
    uint64_t W = (uint64_t)r->window_ms;
    if (r->limit > (UINT64_C(1) << 62) / W || cost > r->limit || c->cur > r->limit ||
        c->prev > r->limit)
        return 0;
    uint64_t cap = r->limit * W;
    uint64_t used = c->prev * (W - (uint64_t)(t - c->win_start)) + c->cur * W;
    uint64_t room = used >= cap ? 0 : cap - used;
    out->allowed = cost * W <= room;
    if (!out->allowed)
        return 0; /* denials take the general path for retry_after */
    out->remaining = (room - cost * W) / W;
    out->reset_ms = c->win_start + 2 * r->window_ms - t;
    out->retry_after_ms = 0;
    return 1;
}

static void counter_eval(const struct prd__rl_rule *r, struct prd__rl_counter *c, uint64_t cost,
                         int64_t t, struct prd__rl_eval *out)
{
    counter_refresh(r, c, t);
    if (counter_eval_fast(r, c, cost, t, out))
        return;
    u128 W = (u128)r->window_ms;
    u128 room = scaled_room(r, c, t);
    out->allowed = (u128)cost * W <= room;
    u128 left = out->allowed ? room - (u128)cost * W : room;
    out->remaining = (uint64_t)(left / W);
    uint64_t cur_after = c->cur + (out->allowed ? cost : 0);
    out->reset_ms = cur_after ? c->win_start + 2 * r->window_ms - t
                    : c->prev ? c->win_start + r->window_ms - t
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
    int64_t at = start + wait_el;
    out->retry_after_ms = at > t ? at - t : 1;
}

static void counter_refund(const struct prd__rl_rule *r, struct prd__rl_counter *c, uint64_t cost,
                           int64_t t)
{
    int64_t w = t - t % r->window_ms;
    uint64_t *from = c->win_start == w ? &c->cur
                     : c->win_start == w + r->window_ms ? &c->prev
                                                        : NULL;
    if (from)
        *from -= cost < *from ? cost : *from;
}

/* ---- GCRA ---- */

static void gcra_eval(const struct prd__rl_rule *r, const struct prd__rl_gcra *g, uint64_t cost,
                      int64_t now_ms, struct prd__rl_eval *out)
{
    int64_t now = now_ms * NS_PER_MS, T = r->emission_ns;
    int64_t cap = (int64_t)r->burst * T; /* the config bounds it below 2^62 */
    int64_t tat = g->tat_ns > now ? g->tat_ns : now;
    if (cost > r->burst) {
        out->allowed = 0;
        out->remaining = tat - now < cap ? (uint64_t)((cap - (tat - now)) / T) : 0;
        out->reset_ms = (tat - now + NS_PER_MS - 1) / NS_PER_MS;
        out->retry_after_ms = -1;
        return;
    }
    int64_t next_tat = tat + (int64_t)cost * T;
    out->allowed = next_tat - now <= cap;
    int64_t held = (out->allowed ? next_tat : tat) - now;
    out->remaining = held < cap ? (uint64_t)((cap - held) / T) : 0; /* a clock step back */
    out->reset_ms = (held + NS_PER_MS - 1) / NS_PER_MS;
    out->retry_after_ms = out->allowed ? 0 : (next_tat - cap - now + NS_PER_MS - 1) / NS_PER_MS;
}

/* ---- dispatch ---- */

int64_t prd__rl_key_time(const struct prd__rl_rule *r, const struct prd__rl_slot *s,
                         const struct prd__rl_exact *rec, int64_t now)
{
    int64_t last = INT64_MIN;
    if (r->algorithm == PRD_RL_EXACT && rec)
        last = rec->last_ms;
    else if (r->algorithm == PRD_RL_COUNTER && s)
        last = ((const struct prd__rl_counter *)(s + 1))->last_ms;
    return now > last ? now : last;
}

void prd__rl_evaluate(const struct prd__rl_rule *r, struct prd__rl_slot *s,
                      struct prd__rl_exact *rec, uint64_t cost, int64_t t, int64_t now,
                      struct prd__rl_eval *out)
{
    if (r->algorithm == PRD_RL_GCRA) {
        struct prd__rl_gcra empty = {INT64_MIN};
        gcra_eval(r, s ? gcra_of(s) : &empty, cost, now, out);
        return;
    }
    /* Evaluating brings the state to t (old units leave the log, the
     * counter's windows move on), so t becomes the key's clock even when
     * nothing is recorded: an earlier time later must not see the state
     * as if those units were still there to leave again. */
    if (r->algorithm == PRD_RL_EXACT) {
        struct prd__rl_exact empty = {INT64_MIN, 0, 0};
        exact_eval(r, rec ? rec : &empty, cost, t, out);
        if (rec)
            rec->last_ms = t;
    } else {
        struct prd__rl_counter empty = {INT64_MIN, INT64_MIN, 0, 0};
        counter_eval(r, s ? counter_of(s) : &empty, cost, t, out);
        if (s)
            counter_of(s)->last_ms = t;
    }
    /* From the key's clock to the caller's. */
    if (out->retry_after_ms > 0)
        out->retry_after_ms += t - now;
    if (out->reset_ms > 0)
        out->reset_ms += t - now;
}

int64_t prd__rl_commit(const struct prd__rl_rule *r, struct prd__rl_slot *s,
                       struct prd__rl_exact *rec, uint64_t cost, int64_t t, int64_t now)
{
    switch (r->algorithm) {
    case PRD_RL_EXACT:
        exact_commit(r, rec, cost, t);
        return 0;
    case PRD_RL_COUNTER:
        counter_refresh(r, counter_of(s), t);
        counter_of(s)->cur += cost;
        counter_of(s)->last_ms = t;
        return 0;
    default: {
        struct prd__rl_gcra *g = gcra_of(s);
        int64_t now_ns = now * NS_PER_MS;
        g->tat_ns = (g->tat_ns > now_ns ? g->tat_ns : now_ns) + (int64_t)cost * r->emission_ns;
        return g->tat_ns;
    }
    }
}

void prd__rl_refund(const struct prd__rl_rule *r, struct prd__rl_slot *s,
                    struct prd__rl_exact *rec, uint64_t cost, int64_t t, int64_t mark,
                    int64_t now)
{
    switch (r->algorithm) {
    case PRD_RL_EXACT:
        exact_refund(r, rec, cost, t);
        return;
    case PRD_RL_COUNTER:
        counter_refund(r, counter_of(s), cost, t);
        return;
    default: {
        /* What the reservation still holds of the bucket: at most its
         * cost, and nothing once the time it pushed the TAT to is past. */
        struct prd__rl_gcra *g = gcra_of(s);
        int64_t now_ns = now * NS_PER_MS, give = (int64_t)cost * r->emission_ns;
        if (mark - now_ns < give)
            give = mark - now_ns;
        if (give > 0)
            g->tat_ns = g->tat_ns - give > now_ns ? g->tat_ns - give : now_ns;
    }
    }
}

int prd__rl_decayed(const struct prd__rl_rule *r, const struct prd__rl_slot *s,
                    const struct prd__rl_exact *e, int64_t now)
{
    const void *state = s + 1;
    switch (r->algorithm) {
    case PRD_RL_EXACT:
        return e->count == 0 || exact_at(r, e, e->count - 1) <= now - r->window_ms;
    case PRD_RL_COUNTER: {
        const struct prd__rl_counter *c = state;
        return (c->cur == 0 && c->prev == 0) || now >= c->win_start + 2 * r->window_ms;
    }
    case PRD_RL_GCRA:
        return ((const struct prd__rl_gcra *)state)->tat_ns <= now * NS_PER_MS;
    case PRD__RL_FAILS: {
        const struct prd__rl_fails *f = state;
        return f->failures == 0 || now >= f->last_ms + r->window_ms;
    }
    default:
        return now >= ((const struct prd__rl_trust *)state)->until_ms;
    }
}

void prd__rl_clear(const struct prd__rl_rule *r, struct prd__rl_slot *s, struct prd__rl_exact *rec)
{
    if (r->algorithm != PRD_RL_EXACT) /* an exact slot holds only its record's index */
        memset(s + 1, 0, prd__rl_state_bytes(r->algorithm));
    if (r->algorithm == PRD_RL_EXACT) {
        rec->last_ms = INT64_MIN;
        rec->head = rec->count = 0;
    } else if (r->algorithm == PRD_RL_COUNTER) {
        counter_of(s)->last_ms = INT64_MIN;
        counter_of(s)->win_start = INT64_MIN;
    } else if (r->algorithm == PRD_RL_GCRA) {
        gcra_of(s)->tat_ns = INT64_MIN;
    } else if (r->algorithm == PRD__RL_TRUST) {
        ((struct prd__rl_trust *)(s + 1))->until_ms = INT64_MIN;
    }
}
