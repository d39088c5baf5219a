import test from 'node:test';
import assert from 'node:assert/strict';
import { Pool, Sessions, TokenStore, SharedLimiter, LoginGuard, Revocations, errors } from '../index.mjs';
import { pg } from './helpers.mjs';

test('queries, errors and transactions', async (t) => {
  const ci = pg(t);
  if (!ci) return;
  const pool = await Pool.connect(ci, { maxSize: 4 });
  try {
    await pool.execute('DROP TABLE IF EXISTS node_t');
    await pool.execute('CREATE TABLE node_t (id int PRIMARY KEY, v text)');
    assert.equal(await pool.execute('INSERT INTO node_t VALUES ($1, $2), ($3, $4)', 1, "O'Brien; DROP TABLE node_t", 2, null), 2);
    const rows = await pool.query('SELECT * FROM node_t ORDER BY id');
    assert.deepEqual(rows, [{ id: '1', v: "O'Brien; DROP TABLE node_t" }, { id: '2', v: null }]);
    await assert.rejects(pool.execute('INSERT INTO node_t VALUES (1, $1)', 'dup'), (e) => e instanceof errors.Conflict && e.sqlstate === '23505');
    await assert.rejects(pool.query('SELECT * FROM no_such_table'), errors.DatabaseError);
    await assert.rejects(pool.execute('INSERT INTO node_t VALUES (3, $1)', 'a\0b'), errors.InvalidInput);
    const appError = new Error('not allowed');
    await assert.rejects(pool.transaction(async (tx) => {
      await tx.execute("INSERT INTO node_t VALUES (3, 'c')");
      throw appError;
    }), (e) => e === appError);
    assert.equal((await pool.query('SELECT count(*) AS n FROM node_t'))[0].n, '2', 'rolled back');
    // Serializable transfers from concurrent transactions lose nothing.
    await pool.execute('DROP TABLE IF EXISTS node_acct');
    await pool.execute('CREATE TABLE node_acct (id int PRIMARY KEY, balance bigint)');
    await pool.execute('INSERT INTO node_acct SELECT g, 1000 FROM generate_series(1, 4) g');
    let runs = 0;
    await Promise.all(Array.from({ length: 4 }, (_, w) => (async () => {
      for (let i = 0; i < 8; i++) {
        const [src, dst] = [(w + i) % 4 + 1, (w + i + 1) % 4 + 1];
        await pool.transaction(async (tx) => {
          runs++;
          const [{ balance }] = await tx.query('SELECT balance FROM node_acct WHERE id = $1', src);
          await tx.execute('UPDATE node_acct SET balance = $1 WHERE id = $2', Number(balance) - 10, src);
          await tx.execute('UPDATE node_acct SET balance = balance + 10 WHERE id = $1', dst);
        }, { isolation: 'serializable', maxAttempts: 100 });
      }
    })()));
    assert.equal((await pool.query('SELECT sum(balance)::text AS s FROM node_acct'))[0].s, '4000');
    assert.ok(runs >= 32);
  } finally {
    await pool.end();
  }
});

test('stores shared by two pools', async (t) => {
  const ci = pg(t);
  if (!ci) return;
  const [a, b] = [await Pool.connect(ci), await Pool.connect(ci)];
  try {
    await a.migrateStores();
    const [sa, sb] = [new Sessions(TokenStore.postgres(a)), new Sessions(TokenStore.postgres(b))];
    const tok = await sa.create('pg-user');
    assert.equal(await sb.validate(tok), 'pg-user');
    await sb.revoke(tok);
    await assert.rejects(sa.validate(tok), errors.InvalidToken);
    const rules = [{ name: 'node-shared', limit: 10, window: 3600 }];
    const [la, lb] = [new SharedLimiter(rules, a), new SharedLimiter(rules, b)];
    const key = `k-${process.pid}`;
    const ds = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? la : lb).check(key)));
    assert.equal(ds.filter((d) => d.allowed).length, 10);
    const account = `acct-${process.pid}`;
    const guards = [a, b].map((pool) => new LoginGuard({ maxKeys: 1024, sourceAttempts: 1000, accountFailures: 4,
      freeFailures: 100, backoffBase: 0.001, backoffCap: 0.001, pool }));
    let allowed = 0;
    for (let i = 0; i < 12; i++) {
      const { attempt } = await guards[i % 2].check(account, `10.0.0.${i}`);
      if (attempt) { allowed++; await attempt.failure(); }
    }
    assert.equal(allowed, 4);
    const [ra, rb] = [new Revocations(a), new Revocations(b, { refresh: 0.01 })];
    const jti = `node-jti-${process.pid}`;
    assert.equal(await rb.check(jti), true);
    await ra.revoke(jti, '2100-01-01T00:00:00Z');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await rb.check(jti), false, 'a revocation on one instance reaches the other');
    for (const x of [la, lb, ...guards, sa, sb, ra, rb]) x.close();
  } finally {
    await a.end();
    await b.end();
  }
});
