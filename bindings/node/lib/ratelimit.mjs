// Rate limits and the login guard (prodready/ratelimit.h). Checks are
// quick and synchronous (an in-memory table; in PostgreSQL one round
// trip, asynchronous).
import { C, offLoop } from './ffi.mjs';
import { check, errorFor } from './errors.mjs';
import { Handle, bytes, cstr, textOut, prometheusText } from './util.mjs';

const ALGORITHMS = { exact: 0, counter: 1, gcra: 2 };
const DECISION_SIZE = 48;
const RESERVATION_SIZE = 8 * (4 + 3 * 8);
const ATTEMPT_SIZE = 256;

function decisionStorage() {
  return { size: DECISION_SIZE, allowed: 0, rule: 0, limit: 0, remaining: 0, reset_ms: 0, retry_after_ms: 0 };
}

/** The outcome of a check. */
export class Decision {
  constructor(raw) {
    this._raw = raw;
    this.allowed = raw.allowed !== 0;
    this.rule = raw.rule;
    this.limit = Number(raw.limit);
    this.remaining = Number(raw.remaining);
    this.resetMs = Number(raw.reset_ms);
    /** When denied: ms until the same request would pass; -1: never. */
    this.retryAfterMs = Number(raw.retry_after_ms);
  }
  /** The Retry-After value (seconds, at least 1). */
  retryAfter() { return textOut((b, n) => C.prd_limiter_retry_after_header(this._raw, b, n)); }
}

function keysOf(keys) {
  const list = [].concat(keys).map(bytes);
  return list.map((b) => ({ data: b.length ? b : null, len: b.length }));
}

function decided(st, raw) {
  if (st === 5) return new Decision(raw); // PRD_ELIMITED: a denial, not an error
  check(st);
  return new Decision(raw);
}

function config(rules, { maxKeys } = {}) {
  const out = [null];
  check(C.prd_limiter_config_new(out));
  const cfg = out[0];
  try {
    for (const r of rules) {
      const name = cstr(r.name, 'rule name');
      const windowMs = Math.round((r.window ?? 0) * 1000);
      const st = r.algorithm === 'gcra' && r.burst
        ? C.prd_limiter_config_add_gcra(cfg, name, r.limit, windowMs, r.burst)
        : C.prd_limiter_config_add_rule(cfg, name, r.limit, windowMs, ALGORITHMS[r.algorithm ?? 'exact'] ?? -1);
      check(st, `rule '${r.name}': a name of 1-32 [A-Za-z0-9_-], limit 1..2^48 (exact: 2^20), window 1 ms..30 days`);
    }
    if (maxKeys) check(C.prd_limiter_config_set_max_keys(cfg, maxKeys), 'maxKeys: 16..2^26');
    return cfg;
  } catch (e) {
    C.prd_limiter_config_free(cfg);
    throw e;
  }
}

function headersOf(policy, ratelimit, d) {
  const h = { 'RateLimit-Policy': policy, RateLimit: ratelimit };
  if (!d.allowed) h['Retry-After'] = d.retryAfter();
  return h;
}

/** An in-process limiter: rules [{name, limit, window (s), algorithm}]. */
export class Limiter extends Handle {
  constructor(rules, options = {}) {
    const cfg = config(rules, options);
    const out = [null];
    try {
      check(C.prd_limiter_new(cfg, out), 'a limiter needs at least one rule');
    } finally {
      C.prd_limiter_config_free(cfg);
    }
    super(out[0], C.prd_limiter_free);
  }
  /** Check cost units for keys (one per rule; a single key for one rule). */
  /** The limiter's counters in Prometheus text (prefix default 'prodready_ratelimit_'). */
  prometheus(prefix) { return prometheusText(C.prd_limiter_prometheus, this.ptr, prefix); }

  check(keys, cost = 1) {
    const k = keysOf(keys), raw = decisionStorage();
    return decided(C.prd_limiter_check(this.ptr, k, k.length, cost, raw), raw);
  }
  /** Would it be admitted now? Records nothing. */
  peek(keys, cost = 1) {
    const k = keysOf(keys), raw = decisionStorage();
    return decided(C.prd_limiter_peek(this.ptr, k, k.length, cost, raw), raw);
  }
  /** Reserve units: {decision, reservation}; settle with commit() or refund(). */
  reserve(keys, cost = 1) {
    const k = keysOf(keys), raw = decisionStorage(), resv = Buffer.alloc(RESERVATION_SIZE);
    const d = decided(C.prd_limiter_reserve(this.ptr, k, k.length, cost, raw, resv), raw);
    if (!d.allowed) return { decision: d, reservation: null };
    const lim = this;
    let settled = false;
    const settle = (fn) => {
      if (settled) throw errorFor(1, 'reservation already settled');
      settled = true;
      check(fn(lim.ptr, resv));
    };
    return {
      decision: d,
      reservation: { commit: () => settle(C.prd_limiter_commit), refund: () => settle(C.prd_limiter_refund) },
    };
  }
  policyHeader() { return textOut((b, n) => C.prd_limiter_policy_header(this.ptr, b, n)); }
  ratelimitHeader(d) { return textOut((b, n) => C.prd_limiter_ratelimit_header(this.ptr, d._raw, b, n)); }
  problemJson(d) { return textOut((b, n) => C.prd_limiter_problem_json(this.ptr, d._raw, b, n)); }
  /** The answer's headers: RateLimit-Policy, RateLimit, and Retry-After when denied. */
  headers(d) { return headersOf(this.policyHeader(), this.ratelimitHeader(d), d); }
}

/** A limiter whose state is in PostgreSQL (every instance meets one limit); checks are Promises. */
export class SharedLimiter extends Handle {
  constructor(rules, pool, { failOpen = false } = {}) {
    const cfg = config(rules);
    const out = [null];
    try {
      check(C.prd_rl_pg_new(cfg, pool.ptr, out));
    } finally {
      C.prd_limiter_config_free(cfg);
    }
    super(out[0], C.prd_rl_pg_free);
    this._pool = pool;
    this._headers = new Limiter(rules, { maxKeys: 16 }); // writes the headers; values come from the decision
    if (failOpen) check(C.prd_rl_pg_set_fail_open(this.ptr, 1));
  }
  /** The store's counters in Prometheus text (prefix default 'prodready_ratelimit_pg_'). */
  prometheus(prefix) { return prometheusText(C.prd_rl_pg_prometheus, this.ptr, prefix); }

  async check(keys, cost = 1) {
    const k = keysOf(keys), raw = decisionStorage();
    const st = await offLoop(C.prd_rl_pg_check, this.ptr, k, k.length, cost, raw);
    return decided(st, raw);
  }
  policyHeader() { return this._headers.policyHeader(); }
  ratelimitHeader(d) { return this._headers.ratelimitHeader(d); }
  problemJson(d) { return this._headers.problemJson(d); }
  headers(d) { return this._headers.headers(d); }
  close() {
    super.close();
    this._headers.close();
  }
}

/**
 * Express/Fastify-style middleware: (req, res, next). keyOf(req) gives the
 * request's key(s) (default: the connection's address; no proxy header is
 * believed). Every answer gets RateLimit-Policy and RateLimit; a denial is
 * 429 with Retry-After and an RFC 9457 body; a limiter that fails is 503.
 */
export function rateLimitMiddleware(limiter, keyOf = (req) => req.socket?.remoteAddress ?? req.ip ?? '') {
  return async (req, res, next) => {
    let d;
    try {
      d = await limiter.check(keyOf(req));
    } catch (e) {
      res.statusCode = 503;
      res.setHeader('Retry-After', '1');
      res.end('rate limiter unavailable');
      return;
    }
    for (const [name, value] of Object.entries(limiter.headers(d))) res.setHeader(name, value);
    if (!d.allowed) {
      res.statusCode = 429;
      res.setHeader('Content-Type', 'application/problem+json');
      res.end(limiter.problemJson(d));
      return;
    }
    next();
  };
}

/** The login guard: per-source attempts, per-account failures, backoff. */
export class LoginGuard extends Handle {
  constructor({ maxKeys = 100000, sourceAttempts, sourceWindow, accountFailures, accountWindow, freeFailures,
    backoffBase, backoffCap, pool } = {}) {
    const out = [null];
    check(C.prd_login_guard_new(maxKeys, out), 'maxKeys: 16..2^24');
    super(out[0], C.prd_login_guard_free);
    try {
      if (sourceAttempts || sourceWindow || accountFailures || accountWindow) {
        check(C.prd_login_guard_set_limits(this.ptr, sourceAttempts ?? 100, Math.round((sourceWindow ?? 3600) * 1000),
          accountFailures ?? 10, Math.round((accountWindow ?? 900) * 1000)), 'login limits out of range');
      }
      if (freeFailures || backoffBase || backoffCap) {
        check(C.prd_login_guard_set_backoff(this.ptr, freeFailures ?? 3, Math.round((backoffBase ?? 1) * 1000),
          Math.round((backoffCap ?? 900) * 1000)), 'backoff out of range');
      }
      if (pool) {
        check(C.prd_login_guard_set_pg(this.ptr, pool.ptr));
        this._pool = pool;
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }
  // In PostgreSQL every call is a round trip: off the loop; in memory, at once.
  _call(fn, ...args) { return this._pool ? offLoop(fn, ...args) : Promise.resolve(fn(...args)); }
  /**
   * Resolves to {decision, attempt}: attempt is null when denied; otherwise
   * verify the password, then await attempt.success(), .failure() or
   * .abandon() (the attempt could not be judged).
   */
  /** The guard's counters in Prometheus text (prefix default 'prodready_login_'). */
  prometheus(prefix) { return prometheusText(C.prd_login_guard_prometheus, this.ptr, prefix); }

  async check(account, source) {
    const a = bytes(account), s = bytes(source), att = Buffer.alloc(ATTEMPT_SIZE), raw = decisionStorage();
    const d = decided(await this._call(C.prd_login_guard_check, this.ptr, a, a.length, s, s.length, att, raw), raw);
    if (!d.allowed) return { decision: d, attempt: null };
    let settled = false;
    const settle = async (fn) => {
      if (settled) throw errorFor(1, 'attempt already settled');
      settled = true;
      check(await this._call(fn, this.ptr, att));
    };
    return {
      decision: d,
      attempt: {
        success: () => settle(C.prd_login_guard_success),
        failure: () => settle(C.prd_login_guard_failure),
        abandon: () => settle(C.prd_login_guard_abandon),
      },
    };
  }
  async unlock(account) { const a = bytes(account); check(await this._call(C.prd_login_guard_unlock, this.ptr, a, a.length)); }
  policyHeader() { return textOut((b, n) => C.prd_login_guard_policy_header(this.ptr, b, n)); }
  ratelimitHeader(d) { return textOut((b, n) => C.prd_login_guard_ratelimit_header(this.ptr, d._raw, b, n)); }
  headers(d) { return headersOf(this.policyHeader(), this.ratelimitHeader(d), d); }
}
