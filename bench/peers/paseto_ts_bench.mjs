// Peer benchmark: paseto-ts (npm) issuing and verifying the same 5-claim
// payload as bench/bench_token.c. Prints one JSON object of ops/s.
// Run with the current directory tests/interop, where scripts/test installs
// paseto-ts (ES module resolution would otherwise start from this file).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
const { encrypt, decrypt, sign, verify, generateKeys } =
  await import(pathToFileURL(resolve('node_modules/paseto-ts/dist/v4/index.js')).href);

const payload = { sub: 'user-42', iss: 'https://auth.example', aud: 'api',
                  role: 'admin', exp: '2099-01-01T00:00:00Z' };
const local = generateKeys('local');
const { secretKey, publicKey } = generateKeys('public');

async function rate(fn, seconds = 1.0) {
  for (let i = 0; i < 200; i++) await fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < end) { for (let i = 0; i < 50; i++) await fn(); n += 50; }
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const tl = await encrypt(local, payload, { addIat: true });
const tp = await sign(secretKey, payload, { addIat: true });
const out = {
  local_issue: await rate(() => encrypt(local, payload, { addIat: true })),
  local_verify: await rate(() => decrypt(local, tl)),
  public_issue: await rate(() => sign(secretKey, payload, { addIat: true })),
  public_verify: await rate(() => verify(publicKey, tp)),
};
console.log(JSON.stringify(out));
