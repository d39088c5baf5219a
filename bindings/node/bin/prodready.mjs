#!/usr/bin/env node
// The prodready command's password hash, password verify, token issue and
// token verify, with the same arguments, standard input, output and exit
// codes (docs/cli.md), written only against this package's API. Exit 0
// success, 1 a negative answer (mismatch, rejected), 2 bad usage or
// malformed input with one "prodready: " line on stderr.
//   PRODREADY_LIBRARY=<libprodready.so.1> node bindings/node/bin/prodready.mjs ...
import { openSync, readSync, closeSync } from 'node:fs';
import {
  Key, Keyring, PasswordHasher, RawJSON, errors, issue, verifyText, encrypt, sign, payload as claimsPayload, parseRfc3339,
} from '../index.mjs';

const [YES, NO, USAGE] = [0, 1, 2];
const PASSWORD_MAX = 4096, TOKEN_MAX = 1024 * 1024, KEY_MAX = 1024;

class Usage extends Error {}
const usage = (m) => { throw new Usage(m); };
const cut = (s, n) => [...s].slice(0, n).join('');

const HELP = {
  'password hash': 'usage: prodready password hash [--preset NAME | --t N --m KIB --p N] [--allow-empty]\n  reads the password from standard input (one trailing newline stripped; at most\n  4096 bytes) and prints its PHC string (argon2id).\n',
  'password verify': 'usage: prodready password verify [--allow-legacy] PHC\n  reads the password from standard input; exit 0 when it matches PHC, 1 when\n  not, 2 when PHC is malformed, over the cost caps or refused.\n',
  'token issue': 'usage: prodready token issue --purpose local|public KEY --ttl DURATION\n         [--claim name=value]... [--claim-json name=JSON]... [--footer JSON]\n         [--implicit STR]\n  KEY: --key KEY, --key -, --key-file FILE or --key-env NAME\n',
  'token verify': 'usage: prodready token verify --purpose local|public KEY TOKEN|-\n         [--footer JSON] [--implicit STR] [--at RFC3339] [--issuer ISS]\n         [--audience AUD]... [--leeway DURATION]\n  KEY: --key KEY, --key -, --key-file FILE or --key-env NAME\n',
  password: 'usage: prodready password hash|verify ...\n',
  token: 'usage: prodready token issue|verify ...\n',
};
const overview = () => 'usage: prodready password hash|verify ... | token issue|verify ... (the Node binding\'s mirror)\n'
  + HELP['password hash'] + HELP['password verify'] + HELP['token issue'] + HELP['token verify'];

/** The C command's flag scanner: [flag, value] pairs; flag null for a positional. */
function scan(args, withValue) {
  const out = [];
  for (let i = 0; i < args.length;) {
    const tok = args[i++];
    if (tok === '--') {
      if (i < args.length) out.push([null, args[i++]]);
      continue;
    }
    if (!tok.startsWith('--') || tok.length === 2) {
      out.push([null, tok]);
      continue;
    }
    const body = tok.slice(2), eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    if (Buffer.byteLength(name) >= 64) usage(`unknown option '${cut(tok, 40)}...'`);
    if (!withValue.has(name)) {
      if (eq >= 0) usage(`option --${name} takes no value`);
      out.push([name, null]);
      continue;
    }
    let value;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (i < args.length) value = args[i++];
    else usage(`option --${name} needs a value`);
    out.push([name, value]);
  }
  return out;
}

/** Up to limit + 1 bytes of standard input. */
function readStdin(limit) {
  const chunks = [];
  let total = 0;
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n;
    try {
      n = readSync(0, buf, 0, Math.min(buf.length, limit + 1 - total));
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      if (e.code === 'EOF') break;
      usage(`cannot read standard input: ${e.message}`);
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    total += n;
    if (total > limit) break;
  }
  return Buffer.concat(chunks);
}

function stripNewline(b) {
  if (b.length && b[b.length - 1] === 0x0a) {
    b = b.subarray(0, b.length - 1);
    if (b.length && b[b.length - 1] === 0x0d) b = b.subarray(0, b.length - 1);
  }
  return b;
}

function u32(text) {
  if (!/^[0-9]+$/.test(text)) return null;
  const v = Number(text);
  return v <= 0xffffffff ? v : null;
}

function durationMs(text) {
  const m = /^([0-9]{1,15})(ms|s|m|h|d)$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 }[m[2]];
}

function subcommand(args, command, subs) {
  if (!args.length) usage(`usage: prodready ${command} ${subs.join('|')} ...`);
  if (!subs.includes(args[0])) usage(`${command}: unknown subcommand '${cut(args[0], 40)}' (${subs.join(', ')})`);
  return [args[0], args.slice(1)];
}

const BAD_PARAMS = 'password: invalid parameters (need t>=1, 1<=p<=16, m>=8*p KiB, within t<=16, m<=1048576)';

async function password(args) {
  const [sub, rest] = subcommand(args, 'password', ['hash', 'verify']);
  const allowed = sub === 'hash' ? new Set(['preset', 't', 'm', 'p', 'allow-empty']) : new Set(['allow-legacy']);
  const o = {};
  let phc = null;
  for (const [flag, value] of scan(rest, new Set(['preset', 't', 'm', 'p']))) {
    if (flag === null) {
      if (sub !== 'verify' || phc !== null) usage(`password: unexpected argument '${cut(value, 40)}'`);
      phc = value;
    } else if (!allowed.has(flag)) {
      usage(`password: unknown option --${flag}`);
    } else {
      o[flag] = value;
    }
  }
  if (sub === 'verify' && phc === null) usage('password: missing the PHC hash argument');
  const custom = ['t', 'm', 'p'].some((k) => k in o);
  if (o.preset !== undefined && custom) usage('password: use either --preset or --t/--m/--p');
  let hasher;
  try {
    const opts = { preset: o.preset, allowLegacy: 'allow-legacy' in o };
    if (custom) {
      const [t, m, p] = ['t', 'm', 'p'].map((k, i) => (k in o ? u32(o[k]) : [2, 19456, 1][i]));
      if ([t, m, p].some((v) => !v)) usage(BAD_PARAMS);
      Object.assign(opts, { timeCost: t, memoryCost: m, parallelism: p });
    }
    hasher = new PasswordHasher(opts);
  } catch (e) {
    if (e instanceof Usage) throw e;
    if (o.preset !== undefined) usage(`password: unknown preset '${cut(o.preset, 40)}' (owasp, rfc9106-low-memory, moderate, sensitive)`);
    usage(BAD_PARAMS);
  }
  try {
    const raw = readStdin(PASSWORD_MAX + 2);
    const pw = stripNewline(raw);
    if (raw.length > PASSWORD_MAX + 2 || pw.length > PASSWORD_MAX) usage(`password longer than ${PASSWORD_MAX} bytes (the limit)`);
    if (sub === 'hash') {
      if (!pw.length && !('allow-empty' in o)) usage('password hash: the password on standard input is empty (pass --allow-empty to hash it anyway)');
      try {
        process.stdout.write(`${await hasher.hash(pw)}\n`);
      } catch (e) {
        usage(`password hash: ${e.phrase ?? e.message}`);
      }
      return YES;
    }
    try {
      await hasher.verify(phc, pw);
      return YES;
    } catch (e) {
      if (e instanceof errors.Mismatch) return NO;
      if (e instanceof errors.TooBig) usage('password verify: hash parameters exceed the caps (t<=16, m<=1048576 KiB, p<=16)');
      if (e instanceof errors.Unsupported) usage('password verify: legacy crypt(3) hash: pass --allow-legacy to accept it');
      if (e instanceof errors.NotFound) usage('password verify: hash uses a pepper (keyid) this command does not have');
      if (e instanceof errors.InvalidInput) usage('password verify: malformed or out-of-range hash');
      usage(`password verify: ${e.phrase ?? e.message}`);
    }
  } finally {
    hasher.close();
  }
  return USAGE;
}

const TOKEN_FLAGS = new Set(['purpose', 'key', 'key-file', 'key-env', 'ttl', 'claim', 'claim-json', 'footer', 'implicit', 'at', 'issuer', 'audience', 'leeway']);

function readKey(o) {
  const sources = ['key', 'key-file', 'key-env'].filter((k) => k in o);
  if (sources.length !== 1) usage('token: give the key once: --key KEY, --key -, --key-file FILE or --key-env NAME');
  let from, data;
  if ('key' in o && o.key !== '-') {
    from = '--key';
    data = Buffer.from(o.key, 'utf8');
  } else if ('key' in o) {
    from = 'standard input';
    data = readStdin(KEY_MAX);
  } else if ('key-file' in o) {
    from = o['key-file'];
    try {
      const fd = openSync(from, 'r');
      const buf = Buffer.alloc(KEY_MAX + 1);
      const n = readSync(fd, buf, 0, buf.length);
      closeSync(fd);
      data = buf.subarray(0, n);
    } catch (e) {
      const reason = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory' }[e.code] ?? e.message;
      usage(`token: cannot read the key from ${cut(from, 200)}: ${reason}`);
    }
  } else {
    from = o['key-env'];
    if (!(from in process.env)) usage(`token: --key-env: ${cut(from, 60)} is not set`);
    data = Buffer.from(process.env[from], 'utf8');
  }
  if (data.length > KEY_MAX) usage(`token: key from ${cut(from, 200)} longer than ${KEY_MAX} bytes`);
  data = stripNewline(data);
  if (data.includes(0)) usage(`token: the key from ${cut(from, 200)} holds a NUL byte`);
  return data.toString('utf8');
}

function loadKey(o, local, issuing) {
  const text = readKey(o);
  let key;
  try {
    if (text.startsWith('k4.')) key = Key.fromPaserk(text);
    else if (text.length === 64) key = Key.fromHex(local ? 'local' : 'public', text);
    else if (text.length === 128 && !local) key = Key.fromHex('secret', text);
    else throw new Error('not a key');
  } catch {
    usage('token: the key is not a valid v4 key (PASERK k4.*, or 64/128 hex digits)');
  }
  const kind = key.kind;
  const fits = local ? kind === 'local' : (issuing ? kind === 'secret' : kind !== 'local');
  if (!fits) usage(`token: the key does not fit --purpose ${local ? 'local' : 'public'}${!local && issuing ? ' (signing needs a k4.secret key)' : ''}`);
  return key;
}

/** One JSON object and nothing after it, duplicate keys refused: checked
 * by the library's own parser, as the C command does. */
function isJsonObject(text) {
  if (!/^[ \t\r\n]*\{/.test(text)) return false;
  try {
    claimsPayload({ footer: new RawJSON(text) }, { ttl: 60 });
    return true;
  } catch {
    return false;
  }
}

async function token(args) {
  const [sub, rest] = subcommand(args, 'token', ['issue', 'verify']);
  const verify = sub === 'verify';
  const o = {}, claims = [], audiences = [];
  let tok = null;
  for (const [flag, value] of scan(rest, TOKEN_FLAGS)) {
    if (flag === null) {
      if (!verify || tok !== null) usage(`token: unexpected argument '${cut(value, 40)}'`);
      tok = value;
    } else if (['purpose', 'key', 'key-file', 'key-env', 'footer', 'implicit'].includes(flag)) o[flag] = value;
    else if (!verify && flag === 'ttl') o.ttl = value;
    else if (!verify && (flag === 'claim' || flag === 'claim-json')) {
      if (claims.length === 64) usage('token: more than 64 claims');
      claims.push([flag === 'claim-json', value]);
    } else if (verify && ['at', 'issuer', 'leeway'].includes(flag)) o[flag] = value;
    else if (verify && flag === 'audience') {
      if (audiences.length === 16) usage('token: more than 16 audiences');
      audiences.push(value);
    } else usage(`token: unknown option --${flag}`);
  }
  if (o.purpose !== 'local' && o.purpose !== 'public') usage('token: --purpose local|public is required');
  if (!('key' in o) && !('key-file' in o) && !('key-env' in o)) usage('token: a key is required: --key KEY (PASERK or hex), --key -, --key-file FILE or --key-env NAME');
  if (verify && tok === null) usage('token verify: missing the TOKEN argument (- reads standard input)');
  if (verify && o.key === '-' && tok === '-') usage('token verify: --key - and TOKEN - cannot both read standard input');
  if (!verify && !('ttl' in o)) usage('token issue: --ttl is required: tokens must expire');
  const local = o.purpose === 'local';
  return verify ? verifyToken(o, local, audiences, tok) : issueToken(o, local, claims);
}

function issueToken(o, local, claims) {
  const ttl = durationMs(o.ttl);
  if (!ttl) usage('token issue: --ttl wants a duration like 15m, 500ms, 2h, 7d');
  if ('footer' in o && !isJsonObject(o.footer)) usage('token issue: --footer must be a JSON object');
  const key = loadKey(o, local, true);
  const values = {};
  let notBefore;
  for (const [isJson, spec] of claims) {
    const eq = spec.indexOf('=');
    if (eq <= 0) usage('token issue: --claim wants name=value');
    const name = spec.slice(0, eq), value = spec.slice(eq + 1);
    if (Buffer.byteLength(name) >= 80) usage('token issue: claim name too long');
    if (name === 'exp' || name === 'iat') usage(`token issue: ${name} is set by the tool (use --ttl)`);
    if (name === 'nbf') {
      let ns;
      try { ns = parseRfc3339(value); } catch { usage('token issue: nbf must be an RFC 3339 time'); }
      notBefore = new Date(Number(ns / 1000000n));
      continue;
    }
    if (isJson) {
      values[name] = new RawJSON(value);
      try {
        claimsPayload({ [name]: values[name] }, { ttl: 60 });
      } catch (e) {
        if (e instanceof errors.InvalidInput) usage(`token issue: --claim-json ${name}: value is not JSON`);
        throw e;
      }
    } else values[name] = value;
  }
  const options = { ttl: ttl / 1000, notBefore, implicit: o.implicit };
  let text;
  try {
    if ('footer' in o) {
      // The footer exactly as given, so a verifier can expect it byte for byte.
      const p = claimsPayload(values, options);
      text = (local ? encrypt : sign)(key, p, { footer: o.footer, implicit: o.implicit });
    } else {
      text = issue(new Keyring([key]), local ? 'local' : 'public', values, options);
    }
  } catch (e) {
    usage(`token issue: ${e.detail ?? e.phrase ?? e.message}`);
  }
  process.stdout.write(`${text}\n`);
  return YES;
}

function verifyToken(o, local, audiences, tok) {
  const options = { audience: audiences, leeway: 30 };
  if ('at' in o) {
    try { parseRfc3339(o.at); } catch { usage('token verify: --at wants an RFC 3339 time'); }
    options.at = o.at;
  }
  if ('leeway' in o) {
    const ms = durationMs(o.leeway);
    if (ms === null) usage('token verify: --leeway wants a duration');
    options.leeway = ms / 1000;
  }
  const key = loadKey(o, local, false);
  for (const k of ['footer', 'implicit', 'issuer']) if (k in o) options[k] = o[k];
  if (tok === '-') {
    let data = readStdin(TOKEN_MAX + 2);
    while (data.length && (data[data.length - 1] === 0x0a || data[data.length - 1] === 0x0d)) data = data.subarray(0, data.length - 1);
    if (data.length > TOKEN_MAX) {
      process.stderr.write(`rejected: invalid\ntoken longer than ${TOKEN_MAX} bytes\n`);
      return NO;
    }
    tok = data.toString('utf8');
  }
  try {
    const ring = new Keyring();
    ring.add(key, false);
    process.stdout.write(`${verifyText(ring, local ? 'local' : 'public', tok, options)}\n`);
    return YES;
  } catch (e) {
    const kind = e instanceof errors.Expired ? 'expired' : e instanceof errors.NotYetValid ? 'not_yet_valid'
      : e instanceof errors.InvalidToken ? 'invalid' : null;
    if (!kind) usage(`token verify: ${e.phrase ?? e.message}`);
    process.stderr.write(`rejected: ${kind}\n${e.detail ?? e.phrase}\n`);
    return NO;
  }
}

async function main(argv) {
  if (!argv.length) usage('usage: prodready COMMAND [ARGS] (see prodready --help)');
  const first = argv[0];
  if (['help', '--help', '-h'].includes(first)) {
    const topic = argv.slice(1).filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
    process.stdout.write(HELP[topic] ?? overview());
    return YES;
  }
  if (first !== 'password' && first !== 'token') usage(`unknown command '${cut(first, 40)}' (this mirror has password and token)`);
  const dash = argv.indexOf('--');
  const head = dash < 0 ? argv : argv.slice(0, dash);
  if (head.includes('--help') || head.includes('-h')) {
    const sub = argv[1] && !argv[1].startsWith('-') ? argv[1] : '';
    process.stdout.write(HELP[`${first} ${sub}`] ?? HELP[first]);
    return YES;
  }
  return first === 'password' ? password(argv.slice(1)) : token(argv.slice(1));
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  if (!(e instanceof Usage)) throw e;
  process.stderr.write(`prodready: ${String(e.message).replace(/[\r\n]/g, ' ')}\n`);
  process.exitCode = USAGE;
});
