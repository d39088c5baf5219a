// PASETO v4 tokens, PASERK keys, key rings (prodready/token.h). Quick
// calls: synchronous.
import { C, offLoop } from './ffi.mjs';
import { check, errorFor } from './errors.mjs';
import { Handle, bytes, cstr, takeBytes, takeText, textOut, prometheusText } from './util.mjs';

const KINDS = { local: 1, public: 2, secret: 3 };
const KIND_NAMES = [null, 'local', 'public', 'secret'];
const PURPOSES = { local: 1, public: 2 };

function purposeOf(p) {
  if (!(p in PURPOSES)) throw errorFor(1, "purpose: 'local' or 'public'");
  return PURPOSES[p];
}

export class Key extends Handle {
  static _of(st, out, what) {
    if (st !== 0) throw errorFor(st, st === 1 ? what : undefined);
    return new Key(out[0], C.prd_token_key_free);
  }
  /** A new random 'local' or 'secret' key. */
  static generate(kind) {
    const out = [null];
    return Key._of(C.prd_token_key_generate(KINDS[kind] ?? 0, out), out, "only 'local' and 'secret' keys are generated");
  }
  /** A PASERK k4.local., k4.public. or k4.secret. (strict). */
  static fromPaserk(paserk) {
    const out = [null];
    return Key._of(C.prd_token_key_from_paserk(cstr(paserk, 'PASERK'), out), out, 'not a k4.local, k4.public or k4.secret PASERK');
  }
  /** Hex: 64 digits for 'local' or 'public', 128 for 'secret'. */
  static fromHex(kind, hex) {
    const out = [null];
    return Key._of(C.prd_token_key_from_hex(KINDS[kind] ?? 0, cstr(hex, 'hex key'), out), out, 'hex key of the wrong length or not hex');
  }
  /** The public half of a secret key. */
  publicKey() {
    const out = [null];
    return Key._of(C.prd_token_key_public(this.ptr, out), out, 'a local key has no public half');
  }
  /** 'local', 'public' or 'secret'. */
  get kind() { return KIND_NAMES[C.prd_token_key_kind(this.ptr)]; }
  /** The PASERK (secret for local and secret keys). */
  paserk() { return textOut((b, n) => C.prd_token_key_paserk(this.ptr, b, n)); }
  /** The PASERK id (k4.lid., k4.pid., k4.sid.). */
  get id() { return textOut((b, n) => C.prd_token_key_id(this.ptr, b, n)); }
  /** Prints its kind and id, never its material. */
  toString() { return `Key(${this.kind}, ${this.id})`; }
  toJSON() { return this.toString(); }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString(); }
}

export class Keyring extends Handle {
  /** A ring of up to 16 keys; the first of `keys` is made current. */
  constructor(keys = []) {
    const out = [null];
    check(C.prd_keyring_new(out));
    super(out[0], C.prd_keyring_free);
    keys.forEach((k, i) => this.add(k, i === 0 && k.kind !== 'public'));
  }
  add(key, current = false) { check(C.prd_keyring_add(this.ptr, key.ptr, current ? 1 : 0)); }
  setCurrent(kid) { check(C.prd_keyring_set_current(this.ptr, cstr(kid, 'key id'))); }
  remove(kid) { check(C.prd_keyring_remove(this.ptr, cstr(kid, 'key id'))); }
  get size() { return Number(C.prd_keyring_count(this.ptr)); }
}

/** A claim value given as JSON text, parsed by the library (duplicate keys
 * and text after the value are refused). */
export class RawJSON {
  constructor(text) { this.text = String(text); }
}

/** Claims from an object: strings, integers, RawJSON text, and any other value as JSON. */
function buildClaims(claims, { ttl, expiresAt, notBefore }) {
  const out = [null];
  check(C.prd_token_claims_new(out));
  const c = out[0];
  try {
    if (ttl !== undefined) check(C.prd_token_claims_set_ttl(c, Math.round(ttl * 1000)), 'ttl: 1 ms to 10 years');
    if (expiresAt !== undefined) check(C.prd_token_claims_set_expiry(c, BigInt(expiresAt.getTime()) * 1000000n), 'expiry');
    if (notBefore !== undefined) check(C.prd_token_claims_set_not_before(c, BigInt(notBefore.getTime()) * 1000000n), 'not before');
    for (const [name, value] of Object.entries(claims ?? {})) {
      const n = cstr(name, 'claim name');
      let st;
      if (typeof value === 'string') {
        st = C.prd_token_claims_set_string(c, n, cstr(value, 'claim value'));
      } else if (value instanceof RawJSON) {
        st = C.prd_token_claims_set_json_text(c, n, value.text, Buffer.byteLength(value.text));
      } else if (Number.isSafeInteger(value) || typeof value === 'bigint') {
        st = C.prd_token_claims_set_int(c, n, value);
      } else {
        const json = JSON.stringify(value);
        st = C.prd_token_claims_set_json_text(c, n, json, Buffer.byteLength(json));
      }
      check(st, `claim '${name}': a name of 1-64 bytes other than exp, nbf, iat, and a JSON value`);
    }
    return c;
  } catch (e) {
    C.prd_token_claims_free(c);
    throw e;
  }
}

/** Issue a token: claims is an object; ttl in seconds (mandatory unless expiresAt). */
export function issue(ring, purpose, claims, { ttl, expiresAt, notBefore, footer, implicit } = {}) {
  if (ttl === undefined && expiresAt === undefined) throw errorFor(1, 'a token must expire: give ttl or expiresAt');
  const c = buildClaims(claims, { ttl, expiresAt, notBefore });
  try {
    const f = footer === undefined ? null : (typeof footer === 'string' ? footer : JSON.stringify(footer));
    const imp = bytes(implicit);
    const out = [null];
    check(C.prd_token_issue(ring.ptr, purposeOf(purpose), c, f, f === null ? 0 : Buffer.byteLength(f),
      imp.length ? imp : null, imp.length, null, out));
    return takeText(out[0]);
  } finally {
    C.prd_token_claims_free(c);
  }
}

/** The payload issuing would use now (for the raw functions). */
export function payload(claims, options = {}) {
  const c = buildClaims(claims, options);
  try {
    const out = [null];
    check(C.prd_token_claims_payload(c, null, out));
    return takeText(out[0]);
  } finally {
    C.prd_token_claims_free(c);
  }
}

/** The raw protocol: encrypt (v4.local) or sign (v4.public) any payload. */
export function encrypt(key, payloadBytes, { footer, implicit } = {}) { return rawMake(C.prd_token_v4_encrypt, key, payloadBytes, footer, implicit); }
export function sign(key, payloadBytes, { footer, implicit } = {}) { return rawMake(C.prd_token_v4_sign, key, payloadBytes, footer, implicit); }
function rawMake(fn, key, p, footer, implicit) {
  const pb = bytes(p), fb = bytes(footer), ib = bytes(implicit);
  const out = [null];
  check(fn(key.ptr, pb, pb.length, fb.length ? fb : null, fb.length, ib.length ? ib : null, ib.length, out));
  return takeText(out[0]);
}

/** Verify a token: its claims (an object). Throws errors.Expired,
 * errors.NotYetValid or errors.InvalidToken with the library's reason. */
export function verify(ring, purpose, token, o = {}) {
  const text = verifyText(ring, purpose, token, o);
  return JSON.parse(text);
}

/** As verify, the claims as JSON text exactly as in the token. */
export function verifyText(ring, purpose, token, { leeway, issuer, audience, footer, implicit, at, revocations } = {}) {
  const out = [null];
  check(C.prd_token_verifier_new(ring.ptr, purposeOf(purpose), out));
  const v = out[0];
  let clock = null;
  try {
    if (leeway !== undefined) check(C.prd_token_verifier_set_leeway(v, Math.round(leeway * 1000), Math.round(leeway * 1000)), 'leeway: 0 to 1 day');
    if (issuer !== undefined) check(C.prd_token_verifier_set_issuer(v, cstr(issuer, 'issuer')));
    for (const a of [].concat(audience ?? [])) check(C.prd_token_verifier_add_audience(v, cstr(a, 'audience')));
    if (footer !== undefined) { const fb = bytes(footer); check(C.prd_token_verifier_set_footer(v, fb, fb.length)); }
    if (revocations !== undefined) check(C.prd_token_verifier_set_revocations(v, revocations.ptr));
    if (at !== undefined) {
      const ns = typeof at === 'string' ? parseRfc3339(at) : BigInt(at.getTime()) * 1000000n;
      const c = [null];
      check(C.prd_clock_manual_new(ns, 0, c));
      clock = c[0];
      check(C.prd_token_verifier_set_clock(v, clock));
    }
    const t = bytes(token), ib = bytes(implicit);
    const res = [null], why = [null];
    const st = C.prd_token_verify(v, t, t.length, ib.length ? ib : null, ib.length, res, why);
    check(st, why[0] ?? undefined);
    try {
      return C.prd_token_verified_claims_text(res[0]);
    } finally {
      C.prd_token_verified_free(res[0]);
    }
  } finally {
    C.prd_token_verifier_free(v);
    if (clock) C.prd_clock_free(clock);
  }
}

/** A strict RFC 3339 time as Unix nanoseconds (BigInt). */
export function parseRfc3339(text) {
  const b = bytes(text);
  const out = [0n];
  check(C.prd_rfc3339_parse(b, b.length, out), 'not an RFC 3339 time');
  return BigInt(out[0]);
}

/**
 * A jti revocation list, to end tokens before they expire: in this process
 * (no pool) or shared through PostgreSQL (every list on the database
 * refuses a jti revoked anywhere within its refresh interval, and fails
 * closed when its copy is staler than its bound). Give it to verify(...,
 * { revocations }). With a pool, revoke() and check() are round trips:
 * Promises off the loop; without one they resolve at once.
 */
export class Revocations extends Handle {
  constructor(pool = null, { refresh, maxStale = 30 } = {}) {
    const out = [null];
    check(C.prd_token_revocations_new(pool ? pool.ptr : null, out));
    super(out[0], C.prd_token_revocations_free);
    this._pool = pool;
    if (refresh !== undefined) {
      check(C.prd_token_revocations_set_refresh(this.ptr, Math.round(refresh * 1000), Math.round(maxStale * 1000)),
        'refresh 10 ms .. 1 h; maxStale refresh .. 1 day');
    }
  }
  _call(fn, ...args) { return this._pool ? offLoop(fn, ...args) : Promise.resolve(fn(...args)); }
  /** Refuse tokens with this jti until expires (a Date, or the token's exp text). */
  /** The list's counters in Prometheus text (prefix default 'prodready_token_revocations_'). */
  prometheus(prefix) { return prometheusText(C.prd_token_revocations_prometheus, this.ptr, prefix); }

  async revoke(jti, expires) {
    const ns = typeof expires === 'string' ? parseRfc3339(expires) : BigInt(expires.getTime()) * 1000000n;
    check(await this._call(C.prd_token_revoke_jti, this.ptr, cstr(jti, 'jti'), ns));
  }
  /** true when jti is not revoked, false when it is. */
  async check(jti) {
    const st = await this._call(C.prd_token_jti_check, this.ptr, cstr(jti, 'jti'));
    if (st === 15) return false; // PRD_EBADTOKEN: revoked
    check(st);
    return true;
  }
  get size() { return Number(C.prd_token_revocations_count(this.ptr)); }
}
