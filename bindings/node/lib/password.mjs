// Password hashing (prodready/password.h). Hashing and verifying run off
// the event loop (libuv's thread pool) and return Promises.
import { C, offLoop } from './ffi.mjs';
import { check, errorFor } from './errors.mjs';
import { Handle, bufText, bytes, cstr, prometheusText } from './util.mjs';

const HASH_SIZE = Number(C.prd_password_hash_size());
const REASONS = [null, 'weaker params', 'other params', 'other algorithm', 'other pepper', 'legacy format'];

export class PasswordHasher extends Handle {
  /**
   * @param {object} [o] preset ('owasp' default, 'rfc9106-low-memory', 'moderate', 'sensitive'),
   *   or timeCost/memoryCost (KiB)/parallelism; pepper {id, secret}; allowLegacy;
   *   arenaIdleMs (how long an idle hash arena stays mapped; 0 keeps none; default 30000).
   */
  constructor(o = {}) {
    const out = [null];
    const st = C.prd_password_policy_new(o.preset ? cstr(o.preset, 'preset') : null, out);
    if (st !== 0) throw errorFor(st, o.preset ? `unknown preset '${o.preset}'` : undefined);
    super(out[0], C.prd_password_policy_free);
    try {
      if (o.timeCost || o.memoryCost || o.parallelism) {
        check(C.prd_password_policy_set_params(this.ptr, o.timeCost ?? 2, o.memoryCost ?? 19456, o.parallelism ?? 1),
          'argon2 parameters out of range (t >= 1, 1 <= p, m >= 8*p KiB, within the caps)');
      }
      if (o.allowLegacy) check(C.prd_password_policy_set_allow_legacy(this.ptr, 1));
      if (o.arenaIdleMs !== undefined) {
        if (!Number.isInteger(o.arenaIdleMs) || o.arenaIdleMs < 0 || o.arenaIdleMs > 0xffffffff) {
          throw errorFor(1, 'arenaIdleMs: an integer number of milliseconds, 0 to 2^32 - 1');
        }
        check(C.prd_password_policy_set_arena_idle(this.ptr, o.arenaIdleMs));
      }
      if (o.pepper) {
        check(C.prd_password_policy_set_pepper(this.ptr, cstr(o.pepper.id, 'pepper id'), o.pepper.secret.ptr),
          'pepper: an id of 1-32 [A-Za-z0-9.-], 16-64 bytes');
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The Argon2 backend computing new hashes: 'own-avx2', 'libsodium', ... */
  static backend() { return C.prd_password_backend(); }

  /** The policy's counters in Prometheus text (prefix default 'prodready_password_'). */
  prometheus(prefix) { return prometheusText(C.prd_password_policy_prometheus, this.ptr, prefix); }

  /** The PHC string of password (a string or bytes); off the loop. */
  async hash(password) {
    const pw = bytes(password);
    const out = Buffer.alloc(HASH_SIZE);
    check(await offLoop(C.prd_password_hash, this.ptr, pw, pw.length, out, out.length));
    return bufText(out);
  }

  /**
   * Resolves true on a match; rejects with errors.Mismatch for a wrong
   * password and with InvalidInput, TooBig, NotFound or Unsupported for a
   * hash that is malformed, over the caps, of an unknown pepper or refused.
   */
  async verify(stored, password) {
    const pw = bytes(password);
    check(await offLoop(C.prd_password_verify, this.ptr, pw, pw.length, cstr(stored, 'stored hash')));
    return true;
  }

  /** An unknown account's verification: the same cost, then Mismatch. */
  async verifyDummy(password) {
    const pw = bytes(password);
    check(await offLoop(C.prd_password_verify_dummy, this.ptr, pw, pw.length));
  }

  /** Why the stored hash should be replaced ('weaker params', ...), or null. */
  needsRehash(stored) {
    const reason = [0];
    check(C.prd_password_needs_rehash(this.ptr, cstr(stored, 'stored hash'), reason));
    return REASONS[reason[0]] ?? null;
  }

  /** Verify, and when the hash is outdated the replacement (else null). */
  async verifyAndUpgrade(stored, password) {
    const pw = bytes(password);
    const out = Buffer.alloc(HASH_SIZE);
    const upgraded = [0];
    check(await offLoop(C.prd_password_verify_and_upgrade, this.ptr, pw, pw.length, cstr(stored, 'stored hash'),
      out, out.length, upgraded));
    return upgraded[0] ? bufText(out) : null;
  }
}
