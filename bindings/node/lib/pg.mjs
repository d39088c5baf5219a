// The PostgreSQL pool (prodready/pg.h). Everything that waits for the
// server or for a connection returns a Promise and runs off the loop.
import { C, offLoop } from './ffi.mjs';
import { check, errorFor } from './errors.mjs';
import { Handle, bytes, cstr, prometheusText } from './util.mjs';

function pgError(st, err) {
  const e = errorFor(st, err ? C.prd_pg_error_message(err) || undefined : undefined);
  if (err) {
    const s = C.prd_pg_error_sqlstate(err);
    if (s) e.sqlstate = s;
  }
  return e;
}

async function withErr(run) {
  const out = [null];
  check(C.prd_pg_error_new(out));
  try {
    const st = await run(out[0]);
    if (st !== 0) throw pgError(st, out[0]);
  } finally {
    C.prd_pg_error_free(out[0]);
  }
}

function params(values) {
  if (!values.length) return null;
  const out = [null];
  check(C.prd_pg_params_new(out));
  const p = out[0];
  try {
    values.forEach((v, i) => {
      let st;
      if (v === null || v === undefined) st = C.prd_pg_params_add_null(p);
      else if (typeof v === 'boolean') st = C.prd_pg_params_add_bool(p, v ? 1 : 0);
      else if (typeof v === 'bigint' || Number.isSafeInteger(v)) st = C.prd_pg_params_add_int64(p, v);
      else if (typeof v === 'number') st = C.prd_pg_params_add_double(p, v);
      else if (Buffer.isBuffer(v) || v instanceof Uint8Array) { const b = bytes(v); st = C.prd_pg_params_add_bytea(p, b, b.length); }
      else { const b = bytes(v instanceof Date ? v.toISOString() : String(v)); st = C.prd_pg_params_add_textn(p, b, b.length); }
      check(st, `parameter $${i + 1}: text with a NUL byte`);
    });
    return p;
  } catch (e) {
    C.prd_pg_params_free(p);
    throw e;
  }
}

function rowsOf(res) {
  const n = Number(C.prd_pg_result_rows(res)), cols = Number(C.prd_pg_result_cols(res));
  const names = [];
  for (let c = 0; c < cols; c++) names.push(C.prd_pg_result_column_name(res, c));
  const rows = [];
  const len = [0];
  for (let r = 0; r < n; r++) {
    const row = {};
    for (let c = 0; c < cols; c++) {
      row[names[c]] = C.prd_pg_result_is_null(res, r, c) ? null : C.prd_pg_result_text(res, r, c, len);
    }
    rows.push(row);
  }
  return rows;
}

/**
 * A connection taken from the pool (pool.connection(fn) or inside
 * pool.transaction): every statement runs off the loop. Values come back
 * as text (null for NULL). One statement at a time per connection.
 */
export class Conn {
  constructor(ptr) { this._ptr = ptr; }
  async _query(sql, values, wantRows) {
    const p = params(values);
    const out = [null];
    let st;
    try {
      st = await offLoop(C.prd_pg_query, this._ptr, cstr(sql, 'SQL'), p, out);
    } finally {
      if (p) C.prd_pg_params_free(p);
    }
    this.lastStatus = st;
    if (st !== 0) throw pgError(st, C.prd_pg_conn_error(this._ptr));
    try {
      return wantRows ? rowsOf(out[0]) : Number(C.prd_pg_result_affected(out[0]));
    } finally {
      C.prd_pg_result_free(out[0]);
    }
  }
  /** Run one statement; the row count of its command tag. */
  execute(sql, ...values) { return this._query(sql, values, false); }
  /** Run one statement; its rows as objects of text values. */
  query(sql, ...values) { return this._query(sql, values, true); }
}

const LEVELS = { 'read committed': 'READ COMMITTED', 'repeatable read': 'REPEATABLE READ', serializable: 'SERIALIZABLE' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Pool extends Handle {
  /** A pool for a conninfo ('' means libpq's PG* variables); connects off the loop. */
  static async connect(conninfo = '', { maxSize, acquireTimeout, queryTimeout, applicationName } = {}) {
    const out = [null];
    check(C.prd_pg_config_new(cstr(conninfo, 'conninfo'), out), 'malformed conninfo');
    const cfg = out[0];
    const setting = (st) => { if (st !== 0) throw errorFor(st, C.prd_pg_config_error(cfg) || undefined); };
    try {
      if (maxSize) setting(C.prd_pg_config_set_max_size(cfg, maxSize));
      if (acquireTimeout) setting(C.prd_pg_config_set_acquire_timeout_ms(cfg, Math.round(acquireTimeout * 1000)));
      if (queryTimeout) setting(C.prd_pg_config_set_query_timeout_ms(cfg, Math.round(queryTimeout * 1000)));
      if (applicationName) setting(C.prd_pg_config_set_application_name(cfg, cstr(applicationName, 'application name')));
      const pool = [null];
      await withErr((err) => offLoop(C.prd_pg_pool_new, cfg, pool, err));
      return new Pool(pool[0], C.prd_pg_pool_free);
    } finally {
      C.prd_pg_config_free(cfg);
    }
  }
  /** Stop handing out connections, wait up to drain seconds, free the pool. */
  /** The pool's counters in Prometheus text (prefix default 'prodready_pg_'). */
  prometheus(prefix) { return prometheusText(C.prd_pg_pool_prometheus, this.ptr, prefix); }

  async end(drain = 5) {
    if (!this._ptr) return;
    const st = await offLoop(C.prd_pg_pool_close, this.ptr, Math.round(drain * 1000));
    this.close();
    if (st !== 0 && st !== 7) check(st);
  }
  /** Run fn(conn) on a connection taken off the loop (waiting up to the acquire timeout), then give it back. */
  async connection(fn) {
    const out = [null];
    await withErr((err) => offLoop(C.prd_pg_pool_acquire_at, this.ptr, out, err, 'node', 0));
    try {
      return await fn(new Conn(out[0]));
    } finally {
      C.prd_pg_pool_release(out[0]);
    }
  }
  /** Run one statement on a connection of the pool. */
  execute(sql, ...values) { return this.connection((c) => c.execute(sql, ...values)); }
  /** Run one statement; its rows. */
  query(sql, ...values) { return this.connection((c) => c.query(sql, ...values)); }
  /**
   * Run `await fn(tx)` in a transaction, again from the start on a
   * serialization failure or deadlock (a statement failing with
   * RetryExhausted's status, ERETRY), with backoff; resolves to fn's value
   * once committed. Every statement runs off the loop. fn may run more
   * than once: keep its effects outside the database idempotent. An
   * exception in fn rolls back and rejects as it was.
   */
  async transaction(fn, { isolation = 'read committed', readOnly = false, maxAttempts = 10 } = {}) {
    if (!(isolation in LEVELS)) throw errorFor(1, 'isolation: read committed, repeatable read, serializable');
    const begin = `BEGIN ISOLATION LEVEL ${LEVELS[isolation]}${readOnly ? ' READ ONLY' : ''}`;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.connection(async (tx) => {
        await tx.execute(begin);
        try {
          const value = await fn(tx);
          await tx.execute('COMMIT');
          return { value };
        } catch (e) {
          await tx.execute('ROLLBACK').catch(() => {});
          if (e && e.status === 11 && attempt < maxAttempts) return { retry: true };
          throw e;
        }
      });
      if (!outcome.retry) return outcome.value;
      // The C library's backoff: 2 ms doubling to 200 ms, with jitter.
      await sleep(Math.min(200, 2 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
    }
  }
  /** Apply the library's stores' schema; how many migrations ran. */
  async migrateStores() {
    const n = [0];
    await withErr((err) => offLoop(C.prd_pg_stores_migrate, this.ptr, n, err));
    return Number(n[0]);
  }
}
