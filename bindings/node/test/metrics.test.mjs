import test from 'node:test';
import assert from 'node:assert/strict';
import { PasswordHasher, Limiter, LoginGuard, Logger, Revocations, Pool, SharedLimiter, errors } from '../index.mjs';
import { pg } from './helpers.mjs';

// A sample line "name{labels} value" or "name value" of the text, or undefined.
const sample = (text, name) => text.split('\n').find((l) => l === name || l.startsWith(`${name} `) || l.startsWith(`${name}{`));

test('every in-memory object writes its counters as Prometheus text', async () => {
  const h = new PasswordHasher({ timeCost: 1, memoryCost: 1024 });
  await h.hash('pw');
  const text = h.prometheus();
  assert.match(sample(text, 'prodready_password_hashes_total'), / 1$/);
  assert.match(h.prometheus('svc_pw_'), /^# HELP svc_pw_/m);
  assert.throws(() => h.prometheus('bad prefix'), errors.InvalidInput);
  h.close();
  assert.throws(() => h.prometheus(), errors.Closed);

  const lim = new Limiter([{ name: 'per-ip', limit: 1, window: 60 }]);
  lim.check('k');
  lim.check('k');
  assert.match(sample(lim.prometheus(), 'prodready_ratelimit_keys'), /\{rule="per-ip"\} 1$/);
  lim.close();

  const guard = new LoginGuard();
  assert.match(sample(guard.prometheus(), 'prodready_login_lockouts_total'), /\{kind="source"\} 0$/);
  guard.close();

  const lg = new Logger({ sink: () => {} });
  lg.info('hello');
  assert.match(sample(lg.prometheus(), 'prodready_log_lines_total{level="info"}'), / 1$/);
  lg.close();

  const rev = new Revocations();
  await rev.revoke('jti-1', new Date(Date.now() + 60000));
  assert.match(sample(rev.prometheus(), 'prodready_token_revocations_entries'), / 1$/);
  rev.close();
});

test('the pool and the shared limiter write theirs', async (t) => {
  const ci = pg(t);
  if (!ci) return;
  const pool = await Pool.connect(ci, { maxSize: 2 });
  try {
    await pool.migrateStores();
    await pool.execute('SELECT 1');
    const text = pool.prometheus('app_db_');
    assert.match(text, /^# TYPE app_db_\w+ /m);
    assert.ok(!text.includes('prodready_pg_'));
    const shared = new SharedLimiter([{ name: 'per-ip', limit: 5, window: 60 }], pool);
    await shared.check('k');
    assert.match(sample(shared.prometheus(), 'prodready_ratelimit_pg_failures_total'), / 0$/);
    shared.close();
  } finally {
    await pool.end();
  }
});
