// An independent PASETO v4 implementation (paseto-ts) driven from the
// command line, for the interop tests. Usage:
//   node peer.mjs encrypt|sign KEY PAYLOAD_JSON [FOOTER] [ASSERTION]
//   node peer.mjs decrypt|verify KEY TOKEN [ASSERTION]
//   node peer.mjs keys local|public
// Prints the token, or the payload JSON; exits 1 with the error on stderr.
import { encrypt, decrypt, sign, verify, generateKeys } from 'paseto-ts/v4';

const [cmd, key, arg, extra1, extra2] = process.argv.slice(2);
const opts = { validatePayload: false, addExp: false, addIat: false };

try {
  if (cmd === 'encrypt' || cmd === 'sign') {
    const o = { ...opts };
    if (extra1) o.footer = extra1;
    if (extra2) o.assertion = extra2;
    const fn = cmd === 'encrypt' ? encrypt : sign;
    console.log(await fn(key, arg, o));
  } else if (cmd === 'decrypt' || cmd === 'verify') {
    // Validate claims as a real consumer would (exp, nbf, iat).
    const o = { validatePayload: true };
    if (extra1) o.assertion = extra1;
    const fn = cmd === 'decrypt' ? decrypt : verify;
    const { payload } = await fn(key, arg, o);
    console.log(JSON.stringify(payload));
  } else if (cmd === 'keys') {
    const k = generateKeys(key);
    console.log(typeof k === 'string' ? k : `${k.secretKey}\n${k.publicKey}`);
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
} catch (e) {
  console.error(String(e && e.message || e));
  process.exit(1);
}
