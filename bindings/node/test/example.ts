// Type-checked by tsc --noEmit (test/types.test.mjs): the API as a
// TypeScript service would use it.
import { PasswordHasher, Keyring, Key, issue, verify, Limiter, rateLimitMiddleware, Logger, Secret, errors,
  Pool, Sessions, TokenStore, LoginGuard } from '..';

async function service(): Promise<void> {
  const hasher = new PasswordHasher({ preset: 'owasp' });
  const phc: string = await hasher.hash('pw');
  try {
    await hasher.verify(phc, 'pw');
  } catch (e) {
    if (e instanceof errors.Mismatch) console.log(e.code, e.phrase, e.clientError);
  }
  const ring = new Keyring([Key.generate('local')]);
  const token: string = issue(ring, 'local', { sub: 'alice', roles: ['admin'] }, { ttl: 900 });
  const claims: Record<string, unknown> = verify(ring, 'local', token, { leeway: 30 });
  const limiter = new Limiter([{ name: 'per-ip', limit: 100, window: 60 }]);
  const d = limiter.check('203.0.113.7');
  const headers: Record<string, string> = limiter.headers(d);
  const mw = rateLimitMiddleware(limiter);
  const log = new Logger({ level: 'info' });
  log.info('login', { user: claims.sub, password: new Secret('pw'), headers, allowed: d.allowed });
  const pool = await Pool.connect('', { maxSize: 4 });
  const n: number = await pool.transaction(async (tx) => tx.execute('UPDATE t SET x = $1', 1), { isolation: 'serializable' });
  const sessions = new Sessions(TokenStore.postgres(pool));
  const s: string = await sessions.create('alice');
  const guard = new LoginGuard({ pool });
  const { attempt } = await guard.check('alice', '203.0.113.7');
  await attempt?.success();
  void mw; void n; void s;
  await pool.end();
}
void service;
