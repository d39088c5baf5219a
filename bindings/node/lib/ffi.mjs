// Finding libprodready.so.1 and declaring its functions with koffi (no
// compiler at install time). The library is looked for, in order: the
// file PRODREADY_LIBRARY names; an uninstalled build tree beside this
// package (bindings/node/../../build/lib); the system loader. The loaded
// library must have this package's major version and at least its minor.
import koffi from 'koffi';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DECLS } from './decls.mjs';

export const REQUIRED = [1, 0];

export class LibraryNotFound extends Error {}

function load() {
  const tried = [];
  const candidates = [];
  if (process.env.PRODREADY_LIBRARY) {
    candidates.push(process.env.PRODREADY_LIBRARY); // an explicit choice is never replaced
  } else {
    const tree = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build', 'lib', 'libprodready.so.1');
    if (existsSync(tree)) candidates.push(tree);
    candidates.push('libprodready.so.1');
  }
  for (const path of candidates) {
    try {
      return { lib: koffi.load(path), path };
    } catch (e) {
      tried.push(`${path}: ${e.message}`);
    }
  }
  throw new LibraryNotFound(`cannot load libprodready.so.1 (set PRODREADY_LIBRARY to its path): ${tried.join('; ')}`);
}

// Memory for concurrent async calls kept resident: beyond koffi's default
// of 2, every further call in flight allocated its pools on the loop
// thread (tens of milliseconds each under a hashing load, measured: 8
// concurrent hashes stalled the loop 50-120 ms while being submitted).
koffi.config({ ...koffi.config(), resident_async_pools: 8 });

export const { lib, path } = load();

// Types the declarations name.
for (const t of ['prd_status', 'prd_secret_encoding', 'prd_password_stat', 'prd_rehash_reason', 'prd_key_kind',
  'prd_token_purpose', 'prd_session_kind', 'prd_rl_algorithm', 'prd_rl_full_policy', 'prd_login_lockout_kind',
  'prd_login_counter', 'prd_log_level', 'prd_log_field_type', 'prd_log_profile', 'prd_redact_mode',
  'prd_log_counter', 'prd_pg_isolation', 'prd_pg_metric', 'prd_pg_histogram']) {
  koffi.alias(t, 'int');
}
for (const t of ['prd_secret', 'prd_clock', 'prd_password_policy', 'prd_token_key', 'prd_keyring', 'prd_token_claims',
  'prd_token_verifier', 'prd_token_revocations', 'prd_token_verified', 'prd_token_store', 'prd_token_sessions',
  'prd_limiter_config', 'prd_limiter', 'prd_rl_pg', 'prd_login_guard', 'prd_logger', 'prd_pg_config', 'prd_pg_pool',
  'prd_pg_conn', 'prd_pg_params', 'prd_pg_result', 'prd_pg_error', 'prd_pg_tx_options', 'prd_pg_listener',
  'prd_pg_async']) {
  koffi.opaque(t);
}
export const RlKey = koffi.struct('prd_rl_key', { data: 'const void *', len: 'size_t' });
export const RlDecision = koffi.struct('prd_rl_decision', {
  size: 'size_t', allowed: 'int', rule: 'int', limit: 'uint64_t', remaining: 'uint64_t', reset_ms: 'int64_t',
  retry_after_ms: 'int64_t',
});
export const SessionInfo = koffi.struct('prd_session_info', {
  size: 'size_t', id: koffi.array('char', 33, 'String'), kind: 'int', created_ns: 'int64_t', last_used_ns: 'int64_t',
  expires_ns: 'int64_t',
});
export const Migration = koffi.struct('prd_pg_migration', {
  size: 'size_t', version: 'uint32_t', name: 'const char *', sql: 'const char *',
});
export const LogValue = koffi.union('prd_log_value', {
  s: 'const char *', i: 'int64_t', u: 'uint64_t', d: 'double', b: 'int', j: 'void *', st: 'int',
});
export const LogField = koffi.struct('prd_log_field', { key: 'const char *', type: 'int', len: 'size_t', v: LogValue });
export const LockoutFn = koffi.proto('void prd_login_lockout_fn(void *user_data, int kind, const void *account, size_t account_len, const char *source_fp, int64_t for_ms)');
export const SinkFn = koffi.proto('void prd_log_sink_fn(void *user_data, const char *line, size_t len)');
export const RowFn = koffi.proto('int prd_pg_row_fn(void *user_data, const prd_pg_result *row)');
export const CopyFn = koffi.proto('int prd_pg_copy_fn(void *user_data, const char *data, size_t len)');
export const NotifyFn = koffi.proto('void prd_pg_notify_fn(void *user_data, const char *channel, const char *payload, int sender_pid)');
export const AsyncFn = koffi.proto('void prd_pg_async_fn(void *user_data, int st, prd_pg_result *res, const prd_pg_error *err)');
export const AcquireFn = koffi.proto('void prd_pg_async_acquire_fn(void *user_data, int st, prd_pg_conn *conn, const prd_pg_error *err)');
export const TxFn = koffi.proto('int prd_pg_tx_fn(prd_pg_conn *conn, void *user_data)');

function declare() {
  const out = {};
  for (const d of DECLS) {
    const name = d.match(/\b(prd_\w+)\(/)[1];
    if (name === 'prd_logv') continue; // variadic: C only (prd_log and prd_log_json are the bindings' calls)
    // Callback parameters are pointers to their prototypes.
    const decl = d.replace(/\b(prd_\w+_fn) (\w+)/g, '$1 *$2');
    out[name] = lib.func(decl);
  }
  return out;
}

/** Every function of the C API by name (prd_logv excepted). */
export const C = declare();

const n = C.prd_version_number();
const [major, minor] = [Math.floor(n / 10000), Math.floor(n / 100) % 100];
if (major !== REQUIRED[0] || minor < REQUIRED[1]) {
  throw new LibraryNotFound(`${path} is libprodready ${major}.${minor}; this package needs ${REQUIRED[0]}.x with x >= ${REQUIRED[1]}`);
}

/** Call fn.async with args, as a Promise (off the event loop, on libuv's pool). */
export function offLoop(fn, ...args) {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export { koffi };
