// Opaque tokens on the server: sessions, single-use and refresh tokens
// (prodready/token.h), in memory (synchronous) or in PostgreSQL (each
// call one round trip: Promises).
import { C, offLoop } from './ffi.mjs';
import { check } from './errors.mjs';
import { Handle, bufText, bytes, cstr } from './util.mjs';

const TOKEN = Number(C.prd_opaque_token_size());
const SUBJECT = Number(C.prd_session_subject_size());

export class TokenStore extends Handle {
  /** In memory, at most maxEntries records. */
  static memory(maxEntries = 100000) {
    const out = [null];
    check(C.prd_token_store_new_memory(maxEntries, out));
    return new TokenStore(out[0], null);
  }
  /** In PostgreSQL (pool.migrateStores() first), shared by every instance. */
  static postgres(pool) {
    const out = [null];
    check(C.prd_token_store_new_pg(pool.ptr, out));
    return new TokenStore(out[0], pool);
  }
  constructor(ptr, pool) {
    super(ptr, C.prd_token_store_free);
    this._pool = pool;
  }
}

export class Sessions extends Handle {
  /** Managers of "<prefix>_..." tokens on a store. idle/absolute in seconds. */
  constructor(store, prefix = 'sess', { idle, absolute } = {}) {
    const out = [null];
    check(C.prd_token_sessions_new(store.ptr, cstr(prefix, 'prefix'), out), 'prefix: 1-16 of [a-z0-9]');
    super(out[0], C.prd_token_sessions_free);
    this._store = store;
    this._async = store._pool !== null;
    if (idle || absolute) {
      check(C.prd_token_sessions_set_timeouts(this.ptr, Math.round((idle ?? 1800) * 1000),
        Math.round((absolute ?? 28800) * 1000)), 'timeouts: idle no longer than absolute');
    }
  }
  // In PostgreSQL a call waits for the server: off the loop.
  async _call(fn, ...args) { return this._async ? offLoop(fn, ...args) : fn(...args); }

  async create(subject) {
    const out = Buffer.alloc(TOKEN);
    check(await this._call(C.prd_token_session_create, this.ptr, cstr(subject, 'subject'), out, TOKEN));
    return bufText(out);
  }
  /** The subject; rejects with Expired or InvalidToken. */
  async validate(token) {
    const t = bytes(token), sub = Buffer.alloc(SUBJECT);
    check(await this._call(C.prd_token_session_validate, this.ptr, t, t.length, sub, SUBJECT));
    return bufText(sub);
  }
  async rotate(token) {
    const t = bytes(token), out = Buffer.alloc(TOKEN);
    check(await this._call(C.prd_token_session_rotate, this.ptr, t, t.length, out, TOKEN));
    return bufText(out);
  }
  async revoke(token) {
    const t = bytes(token);
    check(await this._call(C.prd_token_session_revoke, this.ptr, t, t.length));
  }
  async revokeSubject(subject) {
    const n = [0];
    check(await this._call(C.prd_token_session_revoke_subject, this.ptr, cstr(subject, 'subject'), n));
    return Number(n[0]);
  }
  /** A single-use token for purpose, living ttl seconds, tied to binding. */
  async issueSingleUse(purpose, subject, ttl, binding) {
    const b = bytes(binding), out = Buffer.alloc(TOKEN);
    check(await this._call(C.prd_token_single_use_issue, this.ptr, cstr(purpose, 'purpose'), cstr(subject, 'subject'),
      Math.round(ttl * 1000), b.length ? b : null, b.length, out, TOKEN));
    return bufText(out);
  }
  async consumeSingleUse(purpose, token, binding) {
    const t = bytes(token), b = bytes(binding), sub = Buffer.alloc(SUBJECT);
    check(await this._call(C.prd_token_single_use_consume, this.ptr, cstr(purpose, 'purpose'), t, t.length,
      b.length ? b : null, b.length, sub, SUBJECT));
    return bufText(sub);
  }
  async issueRefresh(subject) {
    const out = Buffer.alloc(TOKEN);
    check(await this._call(C.prd_token_refresh_issue, this.ptr, cstr(subject, 'subject'), out, TOKEN));
    return bufText(out);
  }
  /** {token, subject}; a reused token rejects with InvalidToken whose .reused is true (the family is revoked). */
  async rotateRefresh(token) {
    const t = bytes(token), out = Buffer.alloc(TOKEN), sub = Buffer.alloc(SUBJECT), reused = [0];
    const st = await this._call(C.prd_token_refresh_rotate, this.ptr, t, t.length, out, TOKEN, sub, SUBJECT, reused);
    try {
      check(st);
    } catch (e) {
      if (reused[0]) {
        e.reused = true;
        e.subject = bufText(sub);
      }
      throw e;
    }
    return { token: bufText(out), subject: bufText(sub) };
  }
}
