// Structured JSON logs that never leak a secret (prodready/log.h). Logging
// is quick and synchronous; fields go to the library as one JSON object's
// text (prd_log_json) and are redacted there like any other.
import { C, SinkFn, koffi } from './ffi.mjs';
import { check } from './errors.mjs';
import { Handle, cstr, prometheusText } from './util.mjs';

const LEVELS = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4, off: 5 };

/** A field value always written as "[REDACTED]". */
export class Secret {
  constructor(value) { Object.defineProperty(this, 'value', { value, enumerable: false }); }
  toJSON() { return '[REDACTED]'; }
  toString() { return '[REDACTED]'; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return 'Secret([REDACTED])'; }
}

function fieldsJson(fields) {
  return JSON.stringify(fields ?? {}, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export class Logger extends Handle {
  /**
   * A logger: to stderr by default, or { fd }, { file }, or { sink: (line) => ... };
   * level 'info'; redactKeys: extra keys or dotted paths.
   */
  constructor({ level, fd, file, sink, redactKeys = [], _child } = {}) {
    if (_child) {
      super(_child.ptr, C.prd_logger_free);
      this._sinks = _child.sinks;
      return;
    }
    const out = [null];
    check(C.prd_logger_new(out));
    super(out[0], C.prd_logger_free);
    this._sinks = [];
    try {
      if (level) check(C.prd_logger_set_level(this.ptr, LEVELS[level] ?? -1), "level: debug, info, warn, error, fatal, off");
      if (fd !== undefined) check(C.prd_logger_set_fd(this.ptr, fd));
      if (file) check(C.prd_logger_set_file(this.ptr, cstr(file, 'path')));
      if (sink) {
        // Lines reach the function on the loop thread (koffi queues calls
        // made from the library's other threads).
        // A line never holds a NUL (the library escapes it); len bytes of it are the line.
        const cb = koffi.register((_ud, line, len) => {
          try {
            sink(Buffer.from(line, 'utf8').subarray(0, Number(len)).toString('utf8'));
          } catch { /* an exception must not unwind into C */ }
        },
          koffi.pointer(SinkFn));
        this._sinks.push(cb);
        check(C.prd_logger_set_callback(this.ptr, cb, null));
      }
      for (const k of redactKeys) check(C.prd_logger_redact_key(this.ptr, cstr(k, 'key')), `key or path '${k}'`);
    } catch (e) {
      this.close();
      throw e;
    }
  }
  /** The logger's counters in Prometheus text (prefix default 'prodready_log_'). */
  prometheus(prefix) { return prometheusText(C.prd_logger_prometheus, this.ptr, prefix); }
  setLevel(level) { check(C.prd_logger_set_level(this.ptr, LEVELS[level] ?? -1)); }
  enabled(level) { return C.prd_logger_enabled(this.ptr, LEVELS[level] ?? 5) !== 0; }
  /** Write one line; fields is an object (a Secret value is always redacted). */
  log(level, msg, fields) {
    const lv = LEVELS[level];
    if (lv === undefined || !this.enabled(level)) return;
    const json = fieldsJson(fields);
    C.prd_log_json(this.ptr, lv, cstr(String(msg).replace(/\0/g, '\uFFFD'), 'message'), json, Buffer.byteLength(json));
  }
  debug(msg, fields) { this.log('debug', msg, fields); }
  info(msg, fields) { this.log('info', msg, fields); }
  warn(msg, fields) { this.log('warn', msg, fields); }
  error(msg, fields) { this.log('error', msg, fields); }
  /** A child logger whose lines carry these fields (each as its JSON value). */
  child(fields) {
    const list = Object.entries(JSON.parse(fieldsJson(fields))).map(([key, value]) => {
      const text = JSON.stringify(value);
      const b = Buffer.from(text, 'utf8');
      return { key, type: 10, len: b.length, v: { s: b } }; // PRD_LF_JSON_TEXT
    });
    const out = [null];
    check(C.prd_log_with(this.ptr, list, list.length, out));
    return new Logger({ _child: { ptr: out[0], sinks: this._sinks } });
  }
  /** Redact an existing log line by this logger's rules. */
  scrub(line) {
    const out = [null], len = [0];
    const b = Buffer.from(String(line), 'utf8');
    check(C.prd_log_scrub_line(this.ptr, b, b.length, out, len));
    const s = Buffer.from(koffi.decode(out[0], 'uint8_t', Number(len[0]))).toString('utf8');
    C.prd_free(out[0]);
    return s;
  }
}
