import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Limiter, LoginGuard, rateLimitMiddleware, errors } from '../index.mjs';

test('decisions, headers and reservations', () => {
  const l = new Limiter([{ name: 'per-ip', limit: 3, window: 60 }]);
  for (let left = 2; left >= 0; left--) {
    const d = l.check('10.0.0.1');
    assert.equal(d.allowed, true);
    assert.equal(d.remaining, left);
  }
  const d = l.check('10.0.0.1');
  assert.equal(d.allowed, false);
  assert.ok(d.retryAfterMs > 59000 && d.retryAfterMs <= 60000, String(d.retryAfterMs));
  assert.deepEqual(Object.keys(l.headers(d)), ['RateLimit-Policy', 'RateLimit', 'Retry-After']);
  assert.equal(l.policyHeader(), '"per-ip";q=3;w=60');
  assert.match(l.problemJson(d), /violated-policies/);
  assert.equal(l.check('10.0.0.2').allowed, true, 'keys are separate');
  assert.throws(() => l.check([]), errors.InvalidInput);
  const { decision, reservation } = l.reserve('r', 2);
  assert.equal(decision.allowed, true);
  reservation.refund();
  assert.throws(() => reservation.refund(), errors.InvalidInput);
  assert.equal(l.check('r', 3).allowed, true, 'the refund gave the units back');
  l.close();
});

test('the middleware sets RateLimit headers and answers 429', async () => {
  const l = new Limiter([{ name: 'per-ip', limit: 2, window: 30 }]);
  const mw = rateLimitMiddleware(l);
  const server = http.createServer((req, res) => mw(req, res, () => res.end('ok')));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/`;
  try {
    for (let i = 0; i < 2; i++) {
      const r = await fetch(url);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('ratelimit-policy'), '"per-ip";q=2;w=30');
      assert.ok(r.headers.get('ratelimit'));
      await r.text();
    }
    const r = await fetch(url);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '30');
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.match(await r.text(), /violated-policies/);
  } finally {
    server.close();
    l.close();
  }
});

test('the login guard backs off per source', async () => {
  const g = new LoginGuard({ maxKeys: 1024, freeFailures: 2, backoffBase: 60, backoffCap: 600 });
  for (let i = 0; i < 2; i++) {
    const { attempt } = await g.check('alice', '203.0.113.7');
    assert.ok(attempt);
    await attempt.failure();
  }
  const denied = await g.check('alice', '203.0.113.7');
  assert.equal(denied.attempt, null);
  assert.equal(denied.decision.rule, 2);
  assert.ok(g.headers(denied.decision)['Retry-After']);
  const other = await g.check('alice', '198.51.100.1');
  assert.ok(other.attempt, 'another source does not wait');
  await other.attempt.success();
  await assert.rejects(other.attempt.success(), errors.InvalidInput);
  await g.unlock('alice');
  assert.ok((await g.check('alice', '203.0.113.7')).attempt);
  g.close();
});
