import test from 'node:test';
import assert from 'node:assert/strict';
import { Sessions, TokenStore, Logger, Secret, errors } from '../index.mjs';

test('sessions, single-use and refresh tokens in memory', async () => {
  const s = new Sessions(TokenStore.memory(1000), 'sess');
  const t = await s.create('user-1');
  assert.match(t, /^sess_/);
  assert.equal(await s.validate(t), 'user-1');
  const t2 = await s.rotate(t);
  await assert.rejects(s.validate(t), errors.InvalidToken);
  assert.equal(await s.validate(t2), 'user-1');
  await s.revoke(t2);
  await assert.rejects(s.validate(t2), errors.InvalidToken);
  const one = await s.issueSingleUse('reset', 'u', 900, 'hash-v1');
  await assert.rejects(s.consumeSingleUse('reset', one, 'hash-v2'), errors.InvalidToken);
  const two = await s.issueSingleUse('reset', 'u', 900, 'hash-v1');
  assert.equal(await s.consumeSingleUse('reset', two, 'hash-v1'), 'u');
  await assert.rejects(s.consumeSingleUse('reset', two, 'hash-v1'), errors.InvalidToken);
  const r1 = await s.issueRefresh('u');
  const { token: r2, subject } = await s.rotateRefresh(r1);
  assert.equal(subject, 'u');
  await assert.rejects(s.rotateRefresh(r1), (e) => e instanceof errors.InvalidToken && e.reused === true && e.subject === 'u');
  await assert.rejects(s.rotateRefresh(r2), (e) => e instanceof errors.InvalidToken && !e.reused);
});

test('the logger redacts secrets and keeps types', () => {
  const lines = [];
  const log = new Logger({ sink: (l) => lines.push(l) });
  log.info('signup', {
    user: 'alice', password: 'hunter2', note: 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345',
    pin: new Secret('s3cret'), attempt: 2, ok: true, extra: { api_key: 'zzz', n: [1, 2] },
  });
  assert.equal(lines.length, 1);
  for (const secret of ['hunter2', 'abcdefghijklmnopqrstuvwxyz012345', 's3cret', 'zzz']) {
    assert.ok(!lines[0].includes(secret), `${secret} leaked: ${lines[0]}`);
  }
  const m = JSON.parse(lines[0]);
  assert.equal(m.user, 'alice');
  assert.equal(m.attempt, 2);
  assert.equal(m.ok, true);
  assert.deepEqual(m.extra.n, [1, 2]);
  const child = log.child({ request_id: 'r-1' });
  child.warn('inside');
  assert.match(lines[1], /"request_id":"r-1"/);
  log.debug('below the threshold');
  assert.equal(lines.length, 2);
  assert.ok(!log.scrub('{"secret_key":"hunter2"}').includes('hunter2'));
  child.close();
  log.close();
});
