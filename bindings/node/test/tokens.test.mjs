import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Key, Keyring, RawJSON, Revocations, issue, verify, verifyText, encrypt, errors } from '../index.mjs';
import { VECTORS, c } from './helpers.mjs';
import { encrypt as ptsEncrypt, decrypt as ptsDecrypt, sign as ptsSign, verify as ptsVerify } from 'paseto-ts/v4';

const vectors = (f) => JSON.parse(readFileSync(join(VECTORS, f), 'utf8')).tests;

test('PASERK vectors round-trip', () => {
  for (const [file, kind] of [['k4.local.json', 'local'], ['k4.public.json', 'public'], ['k4.secret.json', 'secret']]) {
    for (const v of vectors(`paserk/${file}`)) {
      if (v['expect-fail']) continue;
      const k = Key.fromPaserk(v.paserk);
      assert.equal(k.kind, kind, v.name);
      assert.equal(k.paserk(), v.paserk, v.name);
      assert.equal(Key.fromHex(kind, v.key).paserk(), v.paserk, v.name);
    }
  }
  for (const [file, kind] of [['k4.lid.json', 'local'], ['k4.pid.json', 'public'], ['k4.sid.json', 'secret']]) {
    for (const v of vectors(`paserk/${file}`)) if (!v['expect-fail']) assert.equal(Key.fromHex(kind, v.key).id, v.paserk, v.name);
  }
  const k = Key.generate('local');
  assert.ok(!String(k).includes(k.paserk().slice(9)), 'a key prints its id, never its material');
});

test('issue and verify with typed rejections', () => {
  const k = Key.generate('local');
  const ring = new Keyring([k]);
  const tok = issue(ring, 'local', { sub: 'alice', n: -5, roles: ['admin', { scope: 1 }], raw: new RawJSON('{"a":1}') },
    { ttl: 60, implicit: 'ctx' });
  const claims = verify(ring, 'local', tok, { implicit: 'ctx' });
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.n, -5);
  assert.deepEqual(claims.roles, ['admin', { scope: 1 }]);
  assert.throws(() => verify(ring, 'local', tok, { implicit: 'other' }), (e) => e instanceof errors.InvalidToken && Boolean(e.detail));
  assert.throws(() => verify(ring, 'local', tok, { implicit: 'ctx', at: '2200-01-01T00:00:00Z' }), errors.Expired);
  assert.throws(() => verify(ring, 'local', tok, { implicit: 'ctx', at: '2000-01-01T00:00:00Z' }), errors.NotYetValid);
  assert.throws(() => verify(ring, 'local', `${tok}x`, { implicit: 'ctx' }), errors.InvalidToken);
  assert.throws(() => issue(ring, 'local', {}, {}), errors.InvalidInput);
  assert.throws(() => issue(ring, 'local', { a: new RawJSON('{') }, { ttl: 60 }), errors.InvalidInput);
  const pub = Key.generate('secret');
  const pring = new Keyring([pub]);
  const signed = issue(pring, 'public', { sub: 'bob' }, { ttl: 60 });
  const vring = new Keyring();
  vring.add(pub.publicKey());
  assert.equal(verify(vring, 'public', signed).sub, 'bob');
});

test('tokens cross with paseto-ts both ways', async () => {
  const k = Key.generate('local');
  const ring = new Keyring([k]);
  const ours = issue(ring, 'local', { sub: 'carol' }, { ttl: 300 });
  const { payload } = await ptsDecrypt(k.paserk(), ours, { validatePayload: true });
  assert.equal(payload.sub, 'carol');
  const exp = new Date(Date.now() + 60000).toISOString().replace(/\.\d+Z$/, 'Z');
  const theirs = await ptsEncrypt(k.paserk(), JSON.stringify({ sub: 'dave', exp }), { addExp: false, addIat: false, validatePayload: false });
  assert.equal(verify(ring, 'local', theirs).sub, 'dave');
  const s = Key.generate('secret');
  const signedTheirs = await ptsSign(s.paserk(), JSON.stringify({ sub: 'erin', exp }), { addExp: false, addIat: false, validatePayload: false });
  const vring = new Keyring();
  vring.add(s.publicKey());
  assert.equal(verify(vring, 'public', signedTheirs).sub, 'erin');
  const signedOurs = issue(new Keyring([s]), 'public', { sub: 'frank' }, { ttl: 60 });
  const v = await ptsVerify(s.publicKey().paserk(), signedOurs, { validatePayload: true });
  assert.equal(v.payload.sub, 'frank');
});

test('tokens cross with the C command', () => {
  const paserk = c(['keygen', 'local']).stdout;
  const r = c(['token', 'issue', '--purpose', 'local', '--key', paserk, '--ttl', '5m', '--claim', 'sub=gina']);
  assert.equal(r.code, 0, r.stderr);
  const ring = new Keyring([Key.fromPaserk(paserk)]);
  assert.equal(verify(ring, 'local', r.stdout).sub, 'gina');
  const ours = issue(ring, 'local', { sub: 'hal' }, { ttl: 300 });
  const back = c(['token', 'verify', '--purpose', 'local', '--key', paserk, ours]);
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /"sub":"hal"/);
  assert.match(verifyText(ring, 'local', ours), /"sub":"hal"/);
  const raw = encrypt(Key.fromPaserk(paserk), '{"x":1}', { footer: 'f' });
  assert.ok(raw.startsWith('v4.local.'));
});

test('revocation lists end tokens early', async () => {
  const ring = new Keyring([Key.generate('local')]);
  const list = new Revocations();
  const tok = issue(ring, 'local', { sub: 'ivy' }, { ttl: 60 });
  const claims = verify(ring, 'local', tok, { revocations: list });
  assert.equal(await list.check(claims.jti), true);
  await list.revoke(claims.jti, claims.exp);
  assert.equal(await list.check(claims.jti), false);
  assert.equal(list.size, 1);
  assert.throws(() => verify(ring, 'local', tok, { revocations: list }), (e) => e instanceof errors.InvalidToken && e.detail === 'revoked');
  assert.equal(verify(ring, 'local', tok).sub, 'ivy', 'without the list the token is still valid');
  list.close();
});
