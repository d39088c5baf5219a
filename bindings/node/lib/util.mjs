// Helpers the modules share: text in and out of C, finalizers.
import { C, koffi } from './ffi.mjs';
import { errorFor } from './errors.mjs';

/** A NUL-terminated argument: a NUL inside is refused (C would cut there). */
export function cstr(s, what) {
  s = String(s);
  if (s.includes('\0')) throw errorFor(1, `${what} contains a NUL byte`);
  return s;
}

/** Bytes and their length for a (pointer, length) argument. */
export function bytes(v) {
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.from(String(v), 'utf8');
}

/** The text a C function wrote into buf, up to its NUL. */
export function bufText(buf) {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

/** A string from an snprintf-style writer (length first, then the text). */
export function textOut(write) {
  const need = Number(write(null, 0));
  const buf = Buffer.alloc(need + 1);
  write(buf, buf.length);
  return bufText(buf);
}

/**
 * An object's counters in Prometheus text from an snprintf-style
 * prd_*_prometheus(obj, prefix, out, size): sized by a first call and
 * written again bigger when the counters grew in between. InvalidInput for
 * a prefix that is not letters, digits, '_' and ':' (at most 64 bytes).
 */
export function prometheusText(fn, ptr, prefix) {
  const p = prefix === undefined || prefix === null ? null : cstr(prefix, 'prefix');
  let need = Number(fn(ptr, p, null, 0));
  if (need === 0) throw errorFor(1, `not a metric name prefix: ${JSON.stringify(prefix)}`);
  for (;;) {
    const buf = Buffer.alloc(need + 64);
    need = Number(fn(ptr, p, buf, buf.length));
    if (need < buf.length) return bufText(buf);
  }
}

/** A buffer the library allocated (char **out): its text, then freed (wiped). */
export function takeText(ptr, len) {
  if (!ptr) return null;
  const s = len === undefined ? koffi.decode(ptr, 'char', -1) : Buffer.from(koffi.decode(ptr, 'uint8_t', Number(len))).toString('utf8');
  C.prd_free(ptr);
  return s;
}

/** Bytes the library allocated, copied, then freed. */
export function takeBytes(ptr, len) {
  if (!ptr) return Buffer.alloc(0);
  const b = Buffer.from(koffi.decode(ptr, 'uint8_t', Number(len)));
  C.prd_free(ptr);
  return b;
}

/**
 * A handle: close() frees it once; a FinalizationRegistry frees it if it
 * is garbage collected unclosed (a safety net only).
 */
const registry = new FinalizationRegistry(({ free, ptr }) => free(ptr));
export class Handle {
  constructor(ptr, free) {
    this._ptr = ptr;
    this._free = free;
    registry.register(this, { free, ptr }, this);
  }
  get ptr() {
    if (!this._ptr) throw errorFor(12, `${this.constructor.name} is closed`);
    return this._ptr;
  }
  close() {
    if (this._ptr) {
      registry.unregister(this);
      this._free(this._ptr);
      this._ptr = null;
    }
  }
}
